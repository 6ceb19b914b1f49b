// SPDX-License-Identifier: GPL-2.0
/* Host unit tests of the EMP wire code shared by vmd and its clients (tools/vmd/wire.c). */
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "wire.h"

#define PAGE EMP_WIRE_IO_ALIGN

TEST(hdr_bytes_are_little_endian)
{
	struct wire_hdr h = wire_hdr_init(EMP_WIRE_WRITE, 0x0102030405060708ULL), back;
	unsigned char b[EMP_WIRE_HDR_SIZE];

	h.length = PAGE;
	h.offset = 0x1122334455667000ULL;
	h.io_len = PAGE;
	wire_hdr_pack(&h, b);
	EXPECT_EQ(0, memcmp(b, "EMPW", 4));
	EXPECT_EQ(EMP_WIRE_WRITE, b[4]);
	EXPECT_EQ(0, b[5]);
	EXPECT_EQ(0x08, b[16]);
	EXPECT_EQ(0x01, b[23]);
	EXPECT_EQ(0x00, b[24]);
	EXPECT_EQ(0x11, b[31]);
	EXPECT_EQ(0x10, b[33]);		/* io_len 4096 = 00 10 00 00 */
	wire_hdr_unpack(b, &back);
	EXPECT_EQ(0, memcmp(&h, &back, sizeof(h)));
}

TEST(hello_and_reply_round_trip)
{
	unsigned char m[WIRE_HELLO_MSG_SIZE], r[WIRE_REPLY_MSG_SIZE];
	struct wire_hello h = { .major = 1, .minor = 2, .region_size = 1 << 20,
				.session = 0xabcdef, .secret_len = 3, .secret = "abc",
				.client = "node1" }, h2;
	struct wire_hello_reply rep = { .major = 1, .status = EMP_WIRE_ENOMEM,
					.rdma_addr = 0x7f0000001000ULL, .rdma_rkey = 0x1234,
					.reason = "full" }, rep2;
	struct wire_hdr hd;

	ASSERT_EQ(WIRE_HELLO_MSG_SIZE, wire_hello_msg(&h, 9, m));
	wire_hdr_unpack(m, &hd);
	EXPECT_EQ(EMP_WIRE_HELLO, hd.op);
	EXPECT_EQ(EMP_WIRE_HELLO_SIZE, hd.length);
	EXPECT_EQ(9, hd.tag);
	EXPECT_EQ(2, m[EMP_WIRE_HDR_SIZE + 2]);		/* minor */
	wire_hello_unpack(m + EMP_WIRE_HDR_SIZE, &h2);
	EXPECT_EQ(0, memcmp(&h, &h2, sizeof(h)));

	ASSERT_EQ(WIRE_REPLY_MSG_SIZE, wire_reply_msg(&rep, r));
	wire_hdr_unpack(r, &hd);
	EXPECT_EQ(EMP_WIRE_HELLO_REPLY, hd.op);
	EXPECT_EQ(EMP_WIRE_ENOMEM, hd.status);		/* the header carries it too */
	wire_reply_unpack(r + EMP_WIRE_HDR_SIZE, &rep2);
	EXPECT_EQ(0, memcmp(&rep, &rep2, sizeof(rep)));
}

struct req_case {
	const char *what;
	struct wire_hdr h;
	bool hello_done;
	int want;
};

#define HDR(...) { .magic = EMP_WIRE_MAGIC, __VA_ARGS__ }
static const struct req_case req_cases[] = {
	{ "hello", HDR(.op = EMP_WIRE_HELLO, .length = 144), false, EMP_WIRE_OK },
	{ "hello of another size", HDR(.op = EMP_WIRE_HELLO, .length = 300), false, EMP_WIRE_OK },
	{ "hello, largest", HDR(.op = EMP_WIRE_HELLO, .length = WIRE_HELLO_MAX_LEN), false, EMP_WIRE_OK },
	{ "hello too long", HDR(.op = EMP_WIRE_HELLO, .length = WIRE_HELLO_MAX_LEN + 1), false, EMP_WIRE_EINVAL },
	{ "hello empty", HDR(.op = EMP_WIRE_HELLO), false, EMP_WIRE_EINVAL },
	{ "second hello", HDR(.op = EMP_WIRE_HELLO, .length = 144), true, EMP_WIRE_EINVAL },
	{ "hello with io_len", HDR(.op = EMP_WIRE_HELLO, .length = 144, .io_len = PAGE), false, EMP_WIRE_EINVAL },
	{ "hello with offset", HDR(.op = EMP_WIRE_HELLO, .length = 144, .offset = PAGE), false, EMP_WIRE_EINVAL },
	{ "bad magic", { .magic = 0x57504d46, .op = EMP_WIRE_HELLO, .length = 144 }, false, EMP_WIRE_EINVAL },
	{ "flags", HDR(.op = EMP_WIRE_HELLO, .length = 144, .flags = 1), false, EMP_WIRE_EINVAL },
	{ "status in a request", HDR(.op = EMP_WIRE_HELLO, .length = 144, .status = 4), false, EMP_WIRE_EINVAL },
	{ "reserved", HDR(.op = EMP_WIRE_READ, .io_len = PAGE, .reserved = 1), true, EMP_WIRE_EINVAL },
	{ "read before hello", HDR(.op = EMP_WIRE_READ, .io_len = PAGE), false, EMP_WIRE_EINVAL },
	{ "read", HDR(.op = EMP_WIRE_READ, .io_len = PAGE, .offset = 7 * PAGE), true, EMP_WIRE_OK },
	{ "read, largest", HDR(.op = EMP_WIRE_READ, .io_len = EMP_WIRE_MAX_IO), true, EMP_WIRE_OK },
	{ "read too large", HDR(.op = EMP_WIRE_READ, .io_len = EMP_WIRE_MAX_IO + PAGE), true, EMP_WIRE_EINVAL },
	{ "read of nothing", HDR(.op = EMP_WIRE_READ), true, EMP_WIRE_EINVAL },
	{ "read with payload", HDR(.op = EMP_WIRE_READ, .io_len = PAGE, .length = PAGE), true, EMP_WIRE_EINVAL },
	{ "read misaligned offset", HDR(.op = EMP_WIRE_READ, .io_len = PAGE, .offset = 512), true, EMP_WIRE_EINVAL },
	{ "read misaligned length", HDR(.op = EMP_WIRE_READ, .io_len = 512), true, EMP_WIRE_EINVAL },
	{ "write", HDR(.op = EMP_WIRE_WRITE, .io_len = PAGE, .length = PAGE), true, EMP_WIRE_OK },
	{ "write without payload", HDR(.op = EMP_WIRE_WRITE, .io_len = PAGE), true, EMP_WIRE_EINVAL },
	{ "write, length above io_len", HDR(.op = EMP_WIRE_WRITE, .io_len = PAGE, .length = 2 * PAGE), true, EMP_WIRE_EINVAL },
	{ "write oversized", HDR(.op = EMP_WIRE_WRITE, .io_len = 0xfffff000, .length = 0xfffff000), true, EMP_WIRE_EINVAL },
	{ "reply from a client", HDR(.op = EMP_WIRE_REPLY), true, EMP_WIRE_EINVAL },
	{ "hello_reply from a client", HDR(.op = EMP_WIRE_HELLO_REPLY, .length = 120), false, EMP_WIRE_EINVAL },
	{ "op 0", HDR(.op = 0), true, EMP_WIRE_EINVAL },
	{ "op 6", HDR(.op = 6), true, EMP_WIRE_EINVAL },
	{ "op 0xffff", HDR(.op = 0xffff), true, EMP_WIRE_EINVAL },
};

TEST(check_request_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(req_cases); i++) {
		const struct req_case *c = &req_cases[i];
		const char *why = NULL;
		int st = wire_check_request(&c->h, c->hello_done, &why);

		EXPECT_EQ(c->want, st) TH_LOG("%s", c->what);
		if (st)
			EXPECT_NE(NULL, why) TH_LOG("%s: no reason", c->what);
	}
}

TEST(check_range_cannot_overflow)
{
	const uint64_t size = 8 << 20;

	EXPECT_EQ(EMP_WIRE_OK, wire_check_range(0, PAGE, size));
	EXPECT_EQ(EMP_WIRE_OK, wire_check_range(size - PAGE, PAGE, size));
	EXPECT_EQ(EMP_WIRE_OK, wire_check_range(size - EMP_WIRE_MAX_IO, EMP_WIRE_MAX_IO, size));
	EXPECT_EQ(EMP_WIRE_ERANGE, wire_check_range(size, PAGE, size));
	EXPECT_EQ(EMP_WIRE_ERANGE, wire_check_range(size - PAGE, 2 * PAGE, size));
	EXPECT_EQ(EMP_WIRE_ERANGE, wire_check_range(UINT64_MAX - PAGE + 1, PAGE, size));
	EXPECT_EQ(EMP_WIRE_ERANGE, wire_check_range(UINT64_MAX - PAGE + 1, 2 * PAGE, UINT64_MAX));
	EXPECT_EQ(EMP_WIRE_ERANGE, wire_check_range(0, PAGE, 0));
}

static uint32_t parse(const struct wire_hello *h, uint32_t len, char *reason)
{
	unsigned char b[WIRE_HELLO_MAX_LEN] = { 0 };
	struct wire_hello out;

	wire_hello_pack(h, b);
	return (uint32_t)wire_hello_parse(b, len, &out, reason);
}

TEST(hello_parse)
{
	struct wire_hello good = { .major = EMP_WIRE_MAJOR, .region_size = 1 << 20 }, h;
	char reason[EMP_WIRE_REASON_MAX];

	EXPECT_EQ(EMP_WIRE_OK, parse(&good, EMP_WIRE_HELLO_SIZE, reason));
	h = good;
	h.minor = 9;
	EXPECT_EQ(EMP_WIRE_OK, parse(&h, EMP_WIRE_HELLO_SIZE, reason));

	/* Another major: refused by version whatever its size, both versions named. */
	h = good;
	h.major = 3;
	h.minor = 1;
	EXPECT_EQ(EMP_WIRE_EVERSION, parse(&h, 600, reason));
	EXPECT_NE(NULL, strstr(reason, "3.1"));
	EXPECT_NE(NULL, strstr(reason, "1.0"));
	h.major = 0;
	EXPECT_EQ(EMP_WIRE_EVERSION, parse(&h, 2, reason));

	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&good, 1, reason));
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&good, EMP_WIRE_HELLO_SIZE - 1, reason));
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&good, EMP_WIRE_HELLO_SIZE + 8, reason));
	h = good;
	h.flags = 1;
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	h = good;
	h.reserved0 = 1;
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	h = good;
	h.reserved[1] = 1;
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	h = good;
	h.secret_len = EMP_WIRE_SECRET_MAX + 1;
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	h.secret_len = EMP_WIRE_SECRET_MAX;
	EXPECT_EQ(EMP_WIRE_OK, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	h = good;
	h.region_size = 0;
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	h.region_size = PAGE + 1;
	EXPECT_EQ(EMP_WIRE_EINVAL, parse(&h, EMP_WIRE_HELLO_SIZE, reason));
	EXPECT_NE(NULL, memchr(reason, 0, EMP_WIRE_REASON_MAX));
}

TEST(secret_compare)
{
	uint8_t a[EMP_WIRE_SECRET_MAX] = "hunter2", b[EMP_WIRE_SECRET_MAX] = "hunter2";
	uint8_t full1[EMP_WIRE_SECRET_MAX], full2[EMP_WIRE_SECRET_MAX];

	EXPECT_TRUE(wire_secret_equal(a, 7, b, 7));
	EXPECT_FALSE(wire_secret_equal(a, 7, b, 6));	/* a prefix is not the secret */
	EXPECT_FALSE(wire_secret_equal(a, 6, b, 7));
	EXPECT_FALSE(wire_secret_equal(a, 7, b, 0));
	b[6] = '3';
	EXPECT_FALSE(wire_secret_equal(a, 7, b, 7));
	b[6] = '2';
	b[7] = 'x';	/* bytes past the length do not count */
	EXPECT_TRUE(wire_secret_equal(a, 7, b, 7));
	/* Lengths that differ by 256 must not look equal. */
	EXPECT_FALSE(wire_secret_equal(a, 7, b, 7 + 256));
	EXPECT_FALSE(wire_secret_equal(a, 0, b, 256));
	memset(full1, 0xa5, sizeof(full1));
	memset(full2, 0xa5, sizeof(full2));
	EXPECT_TRUE(wire_secret_equal(full1, EMP_WIRE_SECRET_MAX, full2, EMP_WIRE_SECRET_MAX));
	full2[EMP_WIRE_SECRET_MAX - 1] ^= 0x80;
	EXPECT_FALSE(wire_secret_equal(full1, EMP_WIRE_SECRET_MAX, full2, EMP_WIRE_SECRET_MAX));
}

TEST(client_name_is_safe_to_log)
{
	char raw[EMP_WIRE_NAME_MAX], out[EMP_WIRE_NAME_MAX + 1];

	memset(raw, 0, sizeof(raw));
	strcpy(raw, "node-7");
	EXPECT_STREQ("node-7", wire_client_name(raw, out));
	strcpy(raw, "a\033[2Jb\n");
	EXPECT_STREQ("a?[2Jb?", wire_client_name(raw, out));
	memset(raw, 'x', sizeof(raw));		/* no NUL at all */
	EXPECT_EQ(EMP_WIRE_NAME_MAX, strlen(wire_client_name(raw, out)));
	memset(raw, 0, sizeof(raw));
	EXPECT_STREQ("-", wire_client_name(raw, out));
	raw[0] = (char)0xff;
	EXPECT_STREQ("?", wire_client_name(raw, out));
}

TEST(status_names)
{
	EXPECT_STREQ("OK", wire_status_name(EMP_WIRE_OK));
	EXPECT_STREQ("EAUTH", wire_status_name(EMP_WIRE_EAUTH));
	EXPECT_STREQ("EIO", wire_status_name(EMP_WIRE_EIO));
	EXPECT_STREQ("unknown status", wire_status_name(8));
	EXPECT_STREQ("unknown status", wire_status_name(0xffffffff));
}

TEST(refusal_reason_is_terminated)
{
	struct wire_hello_reply r;
	char longer[200];

	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	wire_reply_refuse(&r, EMP_WIRE_EINVAL, longer);
	EXPECT_EQ(EMP_WIRE_REASON_MAX - 1, strlen(r.reason));
	EXPECT_EQ(EMP_WIRE_MAJOR, r.major);
	EXPECT_EQ(EMP_WIRE_EINVAL, r.status);
	EXPECT_EQ(0, r.session);
}

TEST_HARNESS_MAIN
