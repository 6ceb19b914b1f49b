// SPDX-License-Identifier: GPL-2.0
/* Host unit tests of libemp's pure helpers (sizes, versions). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "libemp.h"

struct size_case {
	const char *in;
	uint64_t unit;
	int err;
	uint64_t want;
};

static const struct size_case size_cases[] = {
	{ "0", 1, 0, 0 },
	{ "4096", 1, 0, 4096 },
	{ "64K", 1, 0, 64 << 10 },
	{ "64k", 1, 0, 64 << 10 },
	{ "2M", 1, 0, 2 << 20 },
	{ "2MiB", 1, 0, 2 << 20 },
	{ "2mb", 1, 0, 2 << 20 },
	{ "3G", 1, 0, 3ULL << 30 },
	{ "1T", 1, 0, 1ULL << 40 },
	{ "16384", 1 << 20, 0, 16384ULL << 20 },	/* MiB default unit */
	{ "4K", 1 << 20, 0, 4096 },			/* suffix beats unit */
	{ "18446744073709551615", 1, 0, UINT64_MAX },
	{ "18446744073709551616", 1, -ERANGE, 0 },
	{ "17179869184G", 1, -ERANGE, 0 },
	{ "17592186044416", 1 << 20, -ERANGE, 0 },
	{ "", 1, -EINVAL, 0 },
	{ "K", 1, -EINVAL, 0 },
	{ "-1", 1, -EINVAL, 0 },
	{ "+1", 1, -EINVAL, 0 },
	{ " 1", 1, -EINVAL, 0 },
	{ "1 ", 1, -EINVAL, 0 },
	{ "1X", 1, -EINVAL, 0 },
	{ "1KK", 1, -EINVAL, 0 },
	{ "1Ki", 1, -EINVAL, 0 },
	{ "1KiBx", 1, -EINVAL, 0 },
	{ "0x10", 1, -EINVAL, 0 },
	{ "1.5G", 1, -EINVAL, 0 },
};

TEST(parse_size_table)
{
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *c = &size_cases[i];
		uint64_t v = 0xdeadbeef;
		int err = emp_parse_size(c->in, c->unit, &v);

		EXPECT_EQ(c->err, err) TH_LOG("'%s'", c->in);
		if (!c->err) {
			EXPECT_EQ(c->want, v) TH_LOG("'%s'", c->in);
		} else {
			EXPECT_EQ(0xdeadbeef, v) TH_LOG("'%s' changed the output", c->in);
		}
	}
}

TEST(parse_size_null)
{
	uint64_t v;

	EXPECT_EQ(-EINVAL, emp_parse_size(NULL, 1, &v));
}

TEST(format_size_exact_units)
{
	char b[32];

	EXPECT_STREQ("0", emp_format_size(0, b, sizeof(b)));
	EXPECT_STREQ("4097", emp_format_size(4097, b, sizeof(b)));
	EXPECT_STREQ("4K", emp_format_size(4096, b, sizeof(b)));
	EXPECT_STREQ("1536K", emp_format_size(1536 << 10, b, sizeof(b)));
	EXPECT_STREQ("2M", emp_format_size(2 << 20, b, sizeof(b)));
	EXPECT_STREQ("128G", emp_format_size(128ULL << 30, b, sizeof(b)));
	EXPECT_STREQ("1024T", emp_format_size(1ULL << 50, b, sizeof(b)));
}

TEST(format_then_parse_round_trips)
{
	const uint64_t v[] = { 1, 512, 4096, 65536, 3 << 20, 5ULL << 30, 7ULL << 40, 123456789 };
	char b[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t back = 0;

		ASSERT_EQ(0, emp_parse_size(emp_format_size(v[i], b, sizeof(b)), 1, &back));
		EXPECT_EQ(v[i], back) TH_LOG("via '%s'", b);
	}
}

TEST(format_version)
{
	char b[32];

	EXPECT_STREQ("0.1.0", emp_format_version((0 << 16) | (1 << 8), b, sizeof(b)));
	EXPECT_STREQ("2.10.255", emp_format_version((2 << 16) | (10 << 8) | 255, b, sizeof(b)));
}

TEST_HARNESS_MAIN
