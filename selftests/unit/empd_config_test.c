// SPDX-License-Identifier: GPL-2.0
/* Host unit tests of empd's configuration parser (tools/empd/config.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "empd.h"

/* Parse @text as file "t.conf"; the error text goes to @err. */
static int parse(const char *text, struct empd_config *c, char *err, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f)
		return -errno;
	ret = empd_config_parse(f, "t.conf", c, err, len);
	fclose(f);
	return ret;
}

TEST(good_file)
{
	static const char text[] =
		"# the pool of this host\n"
		"pool 96M\n"
		"interval_ms 2000   # every two seconds\n"
		"socket /tmp/empd.sock\n"
		"http_port 9091\n"
		"stall_high 50\n"
		"\n"
		"instance db\n"
		"  min 8M\n"
		"  max 64M\n"
		"  weight 3\n"
		"  cold_age 30\n"
		"  pressure_threshold 100\n"
		"instance web-*\n"
		"\tmax 1G\n"
		"\tidle_age 60\n";
	char err[EMPD_ERR_MAX];
	struct empd_config c;
	const struct empd_rule *r;

	ASSERT_EQ(0, parse(text, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(96ULL << 20, c.pool);
	EXPECT_EQ(2000, c.interval_ms);
	EXPECT_STREQ("/tmp/empd.sock", c.socket);
	EXPECT_EQ(9091, c.http_port);
	EXPECT_EQ(50, c.stall_high);
	EXPECT_EQ(10, c.refault_high);		/* default */
	ASSERT_EQ(2, c.nr_rules);
	r = empd_rule_for(&c, "db");
	EXPECT_STREQ("db", r->pattern);
	EXPECT_EQ(8ULL << 20, r->min);
	EXPECT_EQ(64ULL << 20, r->max);
	EXPECT_EQ(3, r->weight);
	EXPECT_EQ(30, r->cold_age);
	EXPECT_EQ(100, r->pressure_threshold);
	EXPECT_EQ(8, r->line);
	r = empd_rule_for(&c, "web-3");
	EXPECT_STREQ("web-*", r->pattern);
	EXPECT_EQ(1ULL << 30, r->max);
	EXPECT_EQ(0, r->min);
	EXPECT_EQ(1, r->weight);
	EXPECT_EQ(60, r->idle_age);
	EXPECT_EQ(EMPD_UNSET, r->cold_age);
	EXPECT_EQ(EMPD_UNSET, r->pressure_threshold);
	/* No rule: the built-in default. */
	r = empd_rule_for(&c, "dbx");
	EXPECT_STREQ("*", r->pattern);
	EXPECT_EQ(1, r->weight);
	empd_config_free(&c);
}

TEST(defaults_and_first_match)
{
	char err[EMPD_ERR_MAX];
	struct empd_config c;

	ASSERT_EQ(0, parse("pool 1G\ninstance a*\nweight 2\ninstance ab\nweight 5\n",
			   &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1000, c.interval_ms);
	EXPECT_STREQ(EMPD_SOCK_DEFAULT, c.socket);
	EXPECT_EQ(0, c.http_port);
	EXPECT_EQ(2, empd_rule_for(&c, "ab")->weight);	/* file order wins */
	empd_config_free(&c);
	ASSERT_EQ(0, parse("pool 4096\nsocket none\n", &c, err, sizeof(err)));
	EXPECT_STREQ("", c.socket);
	empd_config_free(&c);
}

struct bad_case {
	const char *text;
	const char *err;	/* the whole message */
};

static const struct bad_case bad_cases[] = {
	{ "", "t.conf:1: no pool size given (pool SIZE)" },
	{ "# nothing\n\ninterval_ms 500\n", "t.conf:3: no pool size given (pool SIZE)" },
	{ "pool\n", "t.conf:1: pool needs a value" },
	{ "pool 1G 2G\n", "t.conf:1: pool takes one value, not '1G 2G...'" },
	{ "pool 12Q\n", "t.conf:1: pool '12Q' is not a size (bytes, or a number with a K, M, "
	  "G or T suffix)" },
	{ "pool 0\n", "t.conf:1: pool must not be 0" },
	{ "pool 99999999999999999999\n", "t.conf:1: pool '99999999999999999999' is too large" },
	{ "pool 1G\nbogus 3\n", "t.conf:2: unknown setting 'bogus'" },
	{ "pool 1G\ninterval_ms 10\n", "t.conf:2: interval_ms '10' is not a number in 100..3600000" },
	{ "pool 1G\nhttp_port 70000\n", "t.conf:2: http_port '70000' is not a number in 0..65535" },
	{ "pool 1G\nsocket run/x\n", "t.conf:2: socket 'run/x' is not an absolute path (or none)" },
	{ "pool 1G\nmin 4M\n", "t.conf:2: min belongs to an instance block (instance PATTERN)" },
	{ "pool 1G\ninstance a\nmin 1M\npool 2G\n",
	  "t.conf:4: pool is a global setting: put it before the first instance block" },
	{ "pool 1G\n\ninstance a\nweight 0\n", "t.conf:4: weight '0' is not a number in 1..1000" },
	{ "pool 1G\ninstance a\nweight 2x\n", "t.conf:3: weight '2x' is not a number in 1..1000" },
	{ "pool 1G\ninstance a b\n", "t.conf:2: instance takes one value, not 'a b...'" },
	{ "pool 1G\ninstance a/b\n",
	  "t.conf:2: instance pattern 'a/b' has '/', which no instance name has" },
	{ "pool 1G\ninstance a\ninstance b\ninstance a\n",
	  "t.conf:4: instance a is already given at line 2" },
	{ "pool 1G\ninstance a\nmin 8M\nmax 4M\ninstance b\n",
	  "t.conf:2: instance a: min 8M is above max 4M" },
	{ "pool 1G\n\ninstance a\nmin 8M\nmax 4M\n", "t.conf:3: instance a: min 8M is above max 4M" },
	{ "pool 1G\ninstance a\npressure_threshold 1001\n",
	  "t.conf:3: pressure_threshold '1001' is not a number in 0..1000" },
	{ "pool 16M\ninstance a\nmin 8M\ninstance b*\nmin 64M\ninstance c\nmin 12M\n",
	  "t.conf:6: the minimums of the instances up to c (20M) exceed the pool (16M)" },
};

TEST(bad_files)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char err[EMPD_ERR_MAX] = "untouched";
		struct empd_config c;

		EXPECT_EQ(-EINVAL, parse(bad_cases[i].text, &c, err, sizeof(err)))
			TH_LOG("case %zu accepted", i);
		EXPECT_STREQ(bad_cases[i].err, err) TH_LOG("case %zu", i);
		empd_config_free(&c);
	}
}

TEST(long_line)
{
	char text[2100], err[EMPD_ERR_MAX];
	struct empd_config c;

	memset(text, ' ', sizeof(text));
	memcpy(text, "pool 1G\n#", 9);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = 0;
	EXPECT_EQ(-EINVAL, parse(text, &c, err, sizeof(err)));
	EXPECT_STREQ("t.conf:2: line longer than 1024 characters", err);
	empd_config_free(&c);
}

TEST(missing_file)
{
	char err[EMPD_ERR_MAX];
	struct empd_config c;

	EXPECT_EQ(-ENOENT, empd_config_load("/nonexistent/empd.conf", &c, err, sizeof(err)));
	EXPECT_STREQ("/nonexistent/empd.conf: No such file or directory", err);
	empd_config_free(&c);
}

TEST_HARNESS_MAIN
