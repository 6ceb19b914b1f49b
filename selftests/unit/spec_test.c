// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the tier-spec parser (tools/lib/emp_spec.c): one table
 * of accepted specs with what they must parse to, one table of rejected
 * specs with the error, the column and the words of the message, plus the
 * geometry helper that turns a spec into an EMP_IOC_CREATE argument, the
 * default DRAM budget, DRAM-only specs and host names (tools/lib/emp_resolve.c:
 * "localhost" and a name under the reserved .invalid domain).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"

#define MIB	(1ULL << 20)
#define GIB	(1ULL << 30)


/* An accepted spec: its canonical text and what its first two tiers are. */
struct good_case {
	const char *in;
	const char *canon;	/* emp_spec_format() of the result */
	unsigned int nr;
	uint64_t dram;
	uint64_t capacity;
	struct { uint32_t kind; const char *path; uint64_t size, offset; uint16_t port; } t[2];
};

static const struct good_case good[] = {
	/* The seed syntax of the design. */
	{ "10.10.0.112:131072:19675|/dev/nvme1n1:131072:0|dram:32768",
	  "10.10.0.112:131072:19675|/dev/nvme1n1:131072:0|dram:32768", 2, 32768 * MIB, 262144 * MIB,
	  { { EMP_TIER_RDMA, "10.10.0.112", 131072 * MIB, 0, 19675 },
	    { EMP_TIER_BDEV, "/dev/nvme1n1", 131072 * MIB, 0, 0 } } },
	/* dram: may come first; it is written last. */
	{ "dram:16384|10.10.0.112:524288:19675", "10.10.0.112:524288:19675|dram:16384",
	  1, 16384 * MIB, 524288 * MIB, { { EMP_TIER_RDMA, "10.10.0.112", 524288 * MIB, 0, 19675 } } },
	/* IPv6 in brackets, RDMA and TCP. */
	{ "[fe80::1]:1024:19675", "[fe80::1]:1024:19675", 1, 0, GIB,
	  { { EMP_TIER_RDMA, "fe80::1", GIB, 0, 19675 } } },
	{ "tcp:[::1]:64:1", "tcp:[::1]:64:1", 1, 0, 64 * MIB, { { EMP_TIER_TCP, "::1", 64 * MIB, 0, 1 } } },
	{ "tcp:127.0.0.1:2G:65535", "tcp:127.0.0.1:2048:65535", 1, 0, 2 * GIB,
	  { { EMP_TIER_TCP, "127.0.0.1", 2 * GIB, 0, 65535 } } },
	/* Suffixes, any case, with or without "iB"; bare numbers are MiB. */
	{ "/dev/sda:1536K:4K|dram:1g", "/dev/sda:1536K:4K|dram:1024", 1, GIB, 1536 << 10,
	  { { EMP_TIER_BDEV, "/dev/sda", 1536 << 10, 4096, 0 } } },
	{ "/dev/sda:2GiB:1MB", "/dev/sda:2048:1", 1, 0, 2 * GIB,
	  { { EMP_TIER_BDEV, "/dev/sda", 2 * GIB, MIB, 0 } } },
	{ "/dev/vdb:1T:0", "/dev/vdb:1048576:0", 1, 0, 1ULL << 40,
	  { { EMP_TIER_BDEV, "/dev/vdb", 1ULL << 40, 0, 0 } } },
	/* Leading zeros are still decimal. */
	{ "/dev/sda:0010:007", "/dev/sda:10:7", 1, 0, 10 * MIB,
	  { { EMP_TIER_BDEV, "/dev/sda", 10 * MIB, 7 * MIB, 0 } } },
	/* Colons inside a device path: SIZE and OFFSET are the last two fields. */
	{ "/dev/disk/by-path/pci-0000:00:04.0-nvme-1:256:512",
	  "/dev/disk/by-path/pci-0000:00:04.0-nvme-1:256:512", 1, 0, 256 * MIB,
	  { { EMP_TIER_BDEV, "/dev/disk/by-path/pci-0000:00:04.0-nvme-1", 256 * MIB, 512 * MIB, 0 } } },
	/* Eight tiers, the most there can be, plus dram. */
	{ "/dev/a:1:0|/dev/b:1:0|/dev/c:1:0|/dev/d:1:0|/dev/e:1:0|/dev/f:1:0|/dev/g:1:0|"
	  "1.2.3.4:1:1|dram:1",
	  "/dev/a:1:0|/dev/b:1:0|/dev/c:1:0|/dev/d:1:0|/dev/e:1:0|/dev/f:1:0|/dev/g:1:0|"
	  "1.2.3.4:1:1|dram:1", 8, MIB, 8 * MIB,
	  { { EMP_TIER_BDEV, "/dev/a", MIB, 0, 0 }, { EMP_TIER_BDEV, "/dev/b", MIB, 0, 0 } } },
	/* A path of EMP_PATH_MAX - 1 characters fits. */
	{ "/dev/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:1:0",
	  "/dev/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:1:0",
	  1, 0, MIB, { { EMP_TIER_BDEV,
	  "/dev/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  MIB, 0, 0 } } },
	/* dram: alone: a DRAM-only spec, no storage tier, as large as its DRAM. */
	{ "dram:64", "dram:64", 0, 64 * MIB, 64 * MIB, { { 0 } } },
	{ "dram:1g", "dram:1024", 0, GIB, GIB, { { 0 } } },
	{ "dram:1536K", "dram:1536K", 0, 1536 << 10, 1536 << 10, { { 0 } } },
	/* Host names, RDMA and TCP, any case, with digits and hyphens. */
	{ "donor1:16G:19675", "donor1:16384:19675", 1, 0, 16 * GIB,
	  { { EMP_TIER_RDMA, "donor1", 16 * GIB, 0, 19675 } } },
	{ "tcp:donor1.example:16G:19675|dram:1G", "tcp:donor1.example:16384:19675|dram:1024", 1, GIB,
	  16 * GIB, { { EMP_TIER_TCP, "donor1.example", 16 * GIB, 0, 19675 } } },
	{ "Donor-2.rack-3.Example.COM:1:1|[::1]:1:2", "Donor-2.rack-3.Example.COM:1:1|[::1]:1:2", 2, 0,
	  2 * MIB, { { EMP_TIER_RDMA, "Donor-2.rack-3.Example.COM", MIB, 0, 1 },
		     { EMP_TIER_RDMA, "::1", MIB, 0, 2 } } },
	{ "1host:1:1|tcp:x:1:1", "1host:1:1|tcp:x:1:1", 2, 0, 2 * MIB,
	  { { EMP_TIER_RDMA, "1host", MIB, 0, 1 }, { EMP_TIER_TCP, "x", MIB, 0, 1 } } },
	{ "0xdonor:1:1|x.0x1g:1:1", "0xdonor:1:1|x.0x1g:1:1", 2, 0, 2 * MIB,
	  { { EMP_TIER_RDMA, "0xdonor", MIB, 0, 1 }, { EMP_TIER_RDMA, "x.0x1g", MIB, 0, 1 } } },
	/* Words close to tier kinds are names. */
	{ "tcpd:1:1|drams:1:1", "tcpd:1:1|drams:1:1", 2, 0, 2 * MIB,
	  { { EMP_TIER_RDMA, "tcpd", MIB, 0, 1 }, { EMP_TIER_RDMA, "drams", MIB, 0, 1 } } },
	/* Offsets and sizes up to the 64-bit limit, as long as they do not wrap. */
	{ "/dev/sda:8796093022207:8796093022208", "/dev/sda:8796093022207:8796093022208", 1, 0,
	  8796093022207ULL * MIB, { { EMP_TIER_BDEV, "/dev/sda", 8796093022207ULL * MIB,
	  8796093022208ULL * MIB, 0 } } },
};

/* A host name of EMP_PATH_MAX - 1 characters fits (in tier.path, before resolution). */
#define LONGEST_HOST "xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx." \
		     "xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxx"
_Static_assert(sizeof(LONGEST_HOST) == EMP_PATH_MAX, "the longest host name must be at the limit");

_Static_assert(sizeof("/dev/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	      == EMP_PATH_MAX, "the longest-path case must be exactly at the limit");

TEST(accepted_specs)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const struct good_case *g = &good[i];
		char err[EMP_SPEC_ERR_MAX] = "", text[1024];
		struct emp_spec s;

		ASSERT_EQ(0, emp_spec_parse(g->in, &s, err, sizeof(err))) TH_LOG("'%s': %s", g->in, err);
		EXPECT_STREQ("", err);
		EXPECT_EQ(g->nr, s.nr_tiers) TH_LOG("'%s'", g->in);
		EXPECT_EQ(g->dram, s.dram) TH_LOG("'%s'", g->in);
		EXPECT_EQ(g->capacity, s.capacity) TH_LOG("'%s'", g->in);
		for (size_t j = 0; j < 2 && j < g->nr; j++) {
			EXPECT_EQ(g->t[j].kind, s.tier[j].kind) TH_LOG("'%s' tier %zu", g->in, j);
			EXPECT_STREQ(g->t[j].path, s.tier[j].path);
			EXPECT_EQ(g->t[j].size, s.tier[j].size) TH_LOG("'%s' tier %zu", g->in, j);
			EXPECT_EQ(g->t[j].offset, s.tier[j].offset) TH_LOG("'%s' tier %zu", g->in, j);
			EXPECT_EQ(g->t[j].port, s.tier[j].port) TH_LOG("'%s' tier %zu", g->in, j);
			EXPECT_EQ(0, s.tier[j].flags);
		}
		EXPECT_EQ((int)strlen(g->canon), emp_spec_format(&s, text, sizeof(text)));
		EXPECT_STREQ(g->canon, text);
	}
}

/* A rejected spec: errno, column, and words the message must contain. */
struct bad_case {
	const char *in;
	int err;
	unsigned int col;
	const char *words;
};

static const struct bad_case bad[] = {
	/* Structure: empty spec, empty tiers, trailing '|', a second dram:. */
	{ "", -EINVAL, 1, "empty spec" },
	{ "|/dev/sda:1:0", -EINVAL, 1, "empty tier before '|'" },
	{ "/dev/sda:1:0||/dev/sdb:1:0", -EINVAL, 14, "empty tier between two '|'" },
	{ "/dev/sda:1:0|", -EINVAL, 13, "trailing '|'" },
	{ "|", -EINVAL, 1, "empty tier" },
	{ "dram:64|dram:32|/dev/sda:1:0", -EINVAL, 9, "\"dram:32\": a second dram: tier" },
	{ "dram:64|dram:32", -EINVAL, 9, "\"dram:32\": a second dram: tier" },
	{ "dram:0", -EINVAL, 6, "DRAM size must not be zero" },
	{ "dram:", -EINVAL, 6, "empty DRAM size" },
	{ "dram:64|", -EINVAL, 8, "trailing '|'" },
	{ "/dev/a:1:0|/dev/b:1:0|/dev/c:1:0|/dev/d:1:0|/dev/e:1:0|/dev/f:1:0|/dev/g:1:0|"
	  "/dev/h:1:0|/dev/i:1:0", -E2BIG, 89, "\"/dev/i:1:0\": more than 8 tiers" },
	/* Unknown tiers: tier kinds in another case are not host names. */
	{ "TCP:1.2.3.4:1:1", -EINVAL, 1, "\"TCP:1.2.3.4:1:1\": unknown tier (expected IP:SIZE:PORT" },
	{ "DRAM:64|/dev/sda:1:0", -EINVAL, 1, "unknown tier" },
	{ "rdma:1.2.3.4:1:1", -EINVAL, 1, "unknown tier" },
	{ "/dev/sda:1:0|Dram:1", -EINVAL, 14, "\"Dram:1\": unknown tier" },
	{ "/dev/sda:1:0| /dev/sdb:1:0", -EINVAL, 14, "unknown tier" },
	{ "_donor:1:1", -EINVAL, 1, "unknown tier" },
	{ "dram", -EINVAL, 1, "unknown tier" },
	/* dram: sizes. */
	{ "/dev/sda:1:0|dram:", -EINVAL, 19, "empty DRAM size" },
	{ "/dev/sda:1:0|dram:0", -EINVAL, 19, "\"0\" in \"dram:0\": DRAM size must not be zero" },
	{ "/dev/sda:1:0|dram:12x", -EINVAL, 19, "\"12x\" in \"dram:12x\": bad DRAM size" },
	{ "/dev/sda:1:0|dram:-1", -EINVAL, 19, "bad DRAM size" },
	{ "/dev/sda:1:0|dram:1.5G", -EINVAL, 19, "bad DRAM size" },
	{ "/dev/sda:1:0|dram:17592186044416", -ERANGE, 19, "DRAM size is too large" },
	{ "/dev/sda:1:0|dram:00000000000000000000000000000000000000000000000000000000000000001",
	  -EINVAL, 19, "DRAM size is too long" },
	/* Block devices. */
	{ "/dev/sda", -EINVAL, 1, "missing SIZE or OFFSET" },
	{ "/dev/sda:1", -EINVAL, 1, "missing SIZE or OFFSET" },
	{ "/tmp/file:1:0", -EINVAL, 1, "\"/tmp/file\" in \"/tmp/file:1:0\": a block device path starts with /dev/" },
	{ "/dev/:1:0", -EINVAL, 1, "starts with /dev/" },
	{ "/devsda:1:0", -EINVAL, 1, "starts with /dev/" },
	{ "/dev/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:1:0",
	  -ENAMETOOLONG, 1, "path longer than 107 characters" },
	{ "/dev/sda::0", -EINVAL, 10, "empty size" },
	{ "/dev/sda:1:", -EINVAL, 12, "\"\" in \"/dev/sda:1:\": empty offset" },
	{ "/dev/sda:0:0", -EINVAL, 10, "\"0\" in \"/dev/sda:0:0\": size must not be zero" },
	{ "/dev/sda:1M:1K", -EINVAL, 13, "offset must be a multiple of 4 KiB" },
	{ "/dev/sda:abc:0", -EINVAL, 10, "bad size" },
	{ "/dev/sda:1:x", -EINVAL, 12, "bad offset" },
	{ "/dev/sda:17592186044416:0", -ERANGE, 10, "size is too large" },
	{ "/dev/sda:1:17592186044416", -ERANGE, 12, "offset is too large" },
	{ "/dev/sda:8796093022208:8796093022208", -ERANGE, 1, "offset plus size is too large" },
	{ "/dev/sda:8796093022208:0|/dev/sdb:8796093022208:0", -ERANGE, 26,
	  "the tiers add up to more than 16 EiB" },
	/* Remote tiers: addresses. */
	{ "10.0.0.300:1:1", -EINVAL, 1, "\"10.0.0.300\" in \"10.0.0.300:1:1\": not an IPv4 address" },
	{ "1.2.3:1:1", -EINVAL, 1, "not an IPv4 address" },
	{ "2001:db8::1:1024:80", -EINVAL, 1, "IPv6 goes in brackets" },
	{ "tcp::1:1", -EINVAL, 5, "empty address" },
	{ "1.2.3.4.5:1:1", -EINVAL, 1, "not an IPv4 address" },
	{ "host.42:1:1", -EINVAL, 1, "not an IPv4 address" },
	{ "0x7f000001:1:1", -EINVAL, 1, "not an IPv4 address" },
	{ "tcp:host.0X1f:1:1", -EINVAL, 5, "not an IPv4 address" },
	{ "fe80::1:1024:80", -EINVAL, 1, "\"fe80\" in \"fe80::1:1024:80\": not an IPv4 address "
	  "(IPv6 goes in brackets" },
	/* Remote tiers: host names. */
	{ "tcp:foo_bar:1:1", -EINVAL, 5, "\"foo_bar\" in \"tcp:foo_bar:1:1\": not an IPv4 address or "
	  "a host name" },
	{ "-donor:1:1", -EINVAL, 1, "unknown tier" },
	{ "donor-:1:1", -EINVAL, 1, "not an IPv4 address or a host name" },
	{ "donor.-x:1:1", -EINVAL, 1, "not an IPv4 address or a host name" },
	{ "donor-.x:1:1", -EINVAL, 1, "not an IPv4 address or a host name" },
	{ "a..b:1:1", -EINVAL, 1, "not an IPv4 address or a host name" },
	{ "a.:1:1", -EINVAL, 1, "not an IPv4 address or a host name" },
	{ "tcp:.a:1:1", -EINVAL, 5, "not an IPv4 address or a host name" },
	{ "d\xc3\xb6nor:1:1", -EINVAL, 1, "not an IPv4 address or a host name" },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.example:1:1", -EINVAL, 1,
	  "not an IPv4 address or a host name" },	/* a label of 64 */
	{ "xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx."
	  "xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxx:1:1", -ENAMETOOLONG, 1,
	  "host name longer than 107 characters" },
	/* A bare word short of fields may be a mistyped kind: the forms are listed. */
	{ "donor1", -EINVAL, 1, "\"donor1\": unknown tier (expected IP:SIZE:PORT" },
	{ "donor1:16G", -EINVAL, 1, "\"donor1:16G\": unknown tier" },
	{ "/dev/sda:64:0|drm:8", -EINVAL, 15, "\"drm:8\": unknown tier" },
	{ "tcp:donor1", -EINVAL, 1, "missing SIZE and PORT (expected tcp:IP:SIZE:PORT)" },
	{ "tcp:donor1:1G", -EINVAL, 1, "missing PORT (expected tcp:IP:SIZE:PORT)" },
	{ "donor1:1:1:1", -EINVAL, 10, "too many fields" },
	{ "[fe80::1:1024:19675", -EINVAL, 1, "missing ']'" },
	{ "[fe80::1]1024:19675", -EINVAL, 1, "expected ':' after ']'" },
	{ "[]:1:1", -EINVAL, 1, "not an IPv6 address" },
	{ "[1.2.3.4]:1:1", -EINVAL, 1, "not an IPv6 address" },
	{ "[fe80::1%eth0]:1:1", -EINVAL, 1, "not an IPv6 address" },
	{ "1.2.3.4", -EINVAL, 1, "missing SIZE and PORT (expected IP:SIZE:PORT)" },
	{ "tcp:1.2.3.4", -EINVAL, 1, "missing SIZE and PORT (expected tcp:IP:SIZE:PORT)" },
	{ "[::1]", -EINVAL, 1, "missing SIZE and PORT" },
	{ "1.2.3.4:1024", -EINVAL, 1, "missing PORT" },
	{ "1.2.3.4:1024:1:2", -EINVAL, 14, "too many fields" },
	/* Remote tiers: sizes and ports. */
	{ "1.2.3.4::80", -EINVAL, 9, "empty size" },
	{ "1.2.3.4:0:80", -EINVAL, 9, "size must not be zero" },
	{ "1.2.3.4:1Q:80", -EINVAL, 9, "bad size" },
	{ "1.2.3.4:1024:", -EINVAL, 14, "empty port" },
	{ "1.2.3.4:1024:0", -ERANGE, 14, "\"0\" in \"1.2.3.4:1024:0\": port must be 1..65535" },
	{ "1.2.3.4:1024:65536", -ERANGE, 14, "port must be 1..65535" },
	{ "1.2.3.4:1024:99999999999999999999999", -ERANGE, 14, "port must be 1..65535" },
	{ "1.2.3.4:1024:-1", -EINVAL, 14, "port must be a decimal number" },
	{ "1.2.3.4:1024:80x", -EINVAL, 14, "port must be a decimal number" },
	{ "tcp:[::1]:64:http", -EINVAL, 14, "port must be a decimal number" },
	/* A long token is quoted shortened. */
	{ "/dev/sda:1:0|tcp:1.2.3.4:1:1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  -EINVAL, 28, "\"tcp:1.2.3.4:1:1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": too many fields" },
};

TEST(rejected_specs)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct bad_case *b = &bad[i];
		char err[EMP_SPEC_ERR_MAX] = "x", want_col[32];
		struct emp_spec s, zero;

		memset(&s, 0x5a, sizeof(s));
		EXPECT_EQ(b->err, emp_spec_parse(b->in, &s, err, sizeof(err))) TH_LOG("'%s': %s", b->in, err);
		EXPECT_EQ(b->col, s.err_col) TH_LOG("'%s': %s", b->in, err);
		snprintf(want_col, sizeof(want_col), "column %u: ", b->col);
		EXPECT_EQ(0, strncmp(err, want_col, strlen(want_col))) TH_LOG("'%s': %s", b->in, err);
		EXPECT_NE(NULL, strstr(err, b->words)) TH_LOG("'%s': '%s' lacks '%s'", b->in, err, b->words);
		/* Nothing half-parsed is left behind. */
		memset(&zero, 0, sizeof(zero));
		zero.err_col = s.err_col;
		EXPECT_EQ(0, memcmp(&zero, &s, sizeof(s))) TH_LOG("'%s' left data in the result", b->in);
	}
}

TEST(error_buffer_is_optional_and_bounded)
{
	struct emp_spec s;
	char err[12];

	EXPECT_EQ(-EINVAL, emp_spec_parse("/dev/sda:0:0", &s, NULL, 0));
	EXPECT_EQ(10, s.err_col);
	memset(err, 'x', sizeof(err));
	EXPECT_EQ(-EINVAL, emp_spec_parse("/dev/sda:0:0", &s, err, sizeof(err)));
	EXPECT_STREQ("column 10: ", err);
	EXPECT_EQ(-EINVAL, emp_spec_parse(NULL, &s, err, sizeof(err)));
}

TEST(format_is_bounded_like_snprintf)
{
	char small[8];
	struct emp_spec s;
	int n;

	ASSERT_EQ(0, emp_spec_parse("/dev/sda:1:0|dram:2", &s, NULL, 0));
	n = emp_spec_format(&s, small, sizeof(small));
	EXPECT_EQ((int)strlen("/dev/sda:1:0|dram:2"), n);
	EXPECT_STREQ("/dev/sd", small);
	EXPECT_EQ(n, emp_spec_format(&s, NULL, 0));
}

TEST(kind_names)
{
	EXPECT_STREQ("bdev", emp_tier_kind_name(EMP_TIER_BDEV));
	EXPECT_STREQ("rdma", emp_tier_kind_name(EMP_TIER_RDMA));
	EXPECT_STREQ("tcp", emp_tier_kind_name(EMP_TIER_TCP));
	EXPECT_STREQ("unknown", emp_tier_kind_name(0));
}

TEST(instance_names)
{
	EXPECT_EQ(0, emp_check_name("db"));
	EXPECT_EQ(0, emp_check_name("preload-1234"));
	EXPECT_EQ(0, emp_check_name("a.b_c-D9"));
	EXPECT_EQ(0, emp_check_name("0123456789012345678901234567890"));	/* 31 */
	EXPECT_EQ(-EINVAL, emp_check_name("01234567890123456789012345678901"));	/* 32 */
	EXPECT_EQ(-EINVAL, emp_check_name(""));
	EXPECT_EQ(-EINVAL, emp_check_name(NULL));
	EXPECT_EQ(-EINVAL, emp_check_name(".hidden"));
	EXPECT_EQ(-EINVAL, emp_check_name("-opt"));
	EXPECT_EQ(-EINVAL, emp_check_name("a/b"));
	EXPECT_EQ(-EINVAL, emp_check_name("a b"));
}

/* emp_spec_to_create(): defaults and every geometry rule. */
TEST(create_defaults)
{
	char err[EMP_SPEC_ERR_MAX] = "";
	struct emp_create c;
	struct emp_spec s;

	ASSERT_EQ(0, emp_spec_parse("/dev/sda:256:0|/dev/sdb:256:0|dram:32", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "db", 0, 0, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ("db", c.name);
	EXPECT_EQ(512 * MIB, c.inst_size);
	EXPECT_EQ(EMP_DEFAULT_BLOCK, c.block_size);
	EXPECT_EQ(EMP_DEFAULT_SUBBLOCK, c.subblock_size);
	EXPECT_EQ(32 * MIB, c.dram_budget);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(0, c.nr_tiers);	/* set by emp_create() */

	/* No dram: emp_default_budget(), at least 64 MiB if the instance has it. */
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:256:0", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_EQ(EMP_DEFAULT_DRAM_MIN, c.dram_budget);
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:128G:0", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_EQ(4 * GIB, c.dram_budget);
	/* The rule follows the instance size, not the tiers'. */
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 8 * GIB, 0, 0, &c, err, sizeof(err)));
	EXPECT_EQ(GIB, c.dram_budget);
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:8:0", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_EQ(8 * MIB, c.dram_budget);
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:64K:0", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_EQ(128 << 10, c.dram_budget);

	/* An explicit size below the capacity, explicit geometry. */
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:256:0|dram:8", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 100 * MIB, 2 << 20, 128 << 10, &c, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(100 * MIB, c.inst_size);
	EXPECT_EQ(2 << 20, c.block_size);
	EXPECT_EQ(128 << 10, c.subblock_size);
}

struct geom_case {
	const char *spec, *name;
	uint64_t size;
	uint32_t block, sub;
	const char *words;
};

static const struct geom_case geom_bad[] = {
	{ "/dev/sda:256:0", "bad name", 0, 0, 0, "bad instance name 'bad name'" },
	{ "/dev/sda:256:0", "", 0, 0, 0, "bad instance name" },
	{ "/dev/sda:256:0", "a", 0, 3 << 10, 0, "block size 3K is not a power of two in 4K..2M" },
	{ "/dev/sda:256:0", "a", 0, 2 << 10, 0, "block size 2K is not" },
	{ "/dev/sda:256:0", "a", 0, 4 << 20, 0, "block size 4M is not" },
	{ "/dev/sda:256:0", "a", 0, 0, 256 << 10, "subblock size 256K is not a power of two in 4K..128K" },
	{ "/dev/sda:256:0", "a", 0, 0, 1024, "subblock size 1K" },
	{ "/dev/sda:256:0", "a", 0, 0, 12 << 10, "subblock size 12K" },
	{ "/dev/sda:256:0", "a", 0, 8 << 10, 16 << 10, "subblock size 16K is larger than the block size 8K" },
	{ "/dev/sda:1:0|/dev/sdb:3:0", "a", 0, 2 << 20, 0,
	  "tier 1: size 1M is not a multiple of the block size 2M" },
	{ "/dev/sda:256:0", "a", 257 * MIB, 0, 0, "size 257M is more than the tiers hold (256M)" },
	{ "/dev/sda:256:0", "a", MIB + 4096, 0, 0, "size 1028K is not a multiple of the block size 64K" },
	{ "/dev/sda:256:0|dram:6K", "a", 0, 0, 0, "DRAM budget 6K is not a multiple of the page size" },
	{ "/dev/sda:256:0|dram:64K", "a", 0, 0, 0, "DRAM budget 64K is less than two blocks of 64K" },
};

TEST(create_rejects_bad_geometry)
{
	for (size_t i = 0; i < ARRAY_SIZE(geom_bad); i++) {
		const struct geom_case *g = &geom_bad[i];
		char err[EMP_SPEC_ERR_MAX] = "";
		struct emp_create c;
		struct emp_spec s;

		ASSERT_EQ(0, emp_spec_parse(g->spec, &s, err, sizeof(err))) TH_LOG("%s", err);
		EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, g->name, g->size, g->block, g->sub, &c,
						      err, sizeof(err))) TH_LOG("case %zu", i);
		EXPECT_NE(NULL, strstr(err, g->words)) TH_LOG("case %zu: '%s' lacks '%s'", i, err, g->words);
	}
}

TEST(create_needs_a_tier)
{
	char err[EMP_SPEC_ERR_MAX] = "";
	struct emp_create c;
	struct emp_spec s;

	memset(&s, 0, sizeof(s));
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "no storage tier"));
}

/* The default budget: 1/8 of the size in 64 MiB..4 GiB, in blocks, <= size, >= 2 blocks. */
static const struct { uint64_t size; uint32_t block; uint64_t budget; } default_budget[] = {
	{ 128 * GIB, 0, 4 * GIB },		/* the VM of the issue: not 64 MiB */
	{ 1ULL << 40, 0, 4 * GIB },		/* capped */
	{ 32 * GIB, 0, 4 * GIB },		/* where the cap starts */
	{ 16 * GIB, 0, 2 * GIB },
	{ 8 * GIB, 0, GIB },
	{ GIB, 0, 128 * MIB },
	{ 512 * MIB, 0, 64 * MIB },		/* where the floor starts */
	{ 256 * MIB, 0, 64 * MIB },		/* the floor */
	{ 8 * MIB, 0, 8 * MIB },		/* never more than the instance */
	{ 64 << 10, 0, 128 << 10 },		/* ...except for the two-block minimum */
	{ 64 << 10, 4 << 10, 64 << 10 },
	{ 1000 * MIB, 2 << 20, 124 * MIB },	/* 125 MiB rounded down to 2 MiB blocks */
	{ 1000 * MIB, 4 << 10, 125 * MIB },
	{ 2 << 20, 2 << 20, 4 << 20 },		/* one 2 MiB block: two blocks anyway */
	{ 24 * GIB + 8 * MIB, 0, 3 * GIB + MIB },
};

TEST(default_budget_rule)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_budget); i++) {
		uint64_t size = default_budget[i].size;
		uint32_t block = default_budget[i].block;

		EXPECT_EQ(default_budget[i].budget, emp_default_budget(size, block))
			TH_LOG("case %zu: size %llu block %u", i, (unsigned long long)size, block);
	}
}

/* dram:SIZE alone: nr_tiers 0, the instance is SIZE (or less), all of it resident. */
TEST(create_dram_only)
{
	char err[EMP_SPEC_ERR_MAX] = "";
	struct emp_create c;
	struct emp_spec s;

	ASSERT_EQ(0, emp_spec_parse("dram:1G", &s, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, s.nr_tiers);
	EXPECT_EQ(GIB, s.capacity);
	ASSERT_EQ(0, emp_spec_to_create(&s, "base", 0, 0, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(GIB, c.inst_size);
	EXPECT_EQ(GIB, c.dram_budget);
	EXPECT_EQ(EMP_DEFAULT_BLOCK, c.block_size);
	EXPECT_EQ(0, c.nr_tiers);
	/* A smaller size: the budget follows it (more would never be used). */
	ASSERT_EQ(0, emp_spec_to_create(&s, "base", 512 * MIB, 2 << 20, 0, &c, err, sizeof(err)));
	EXPECT_EQ(512 * MIB, c.inst_size);
	EXPECT_EQ(512 * MIB, c.dram_budget);
	/* A larger one is refused. */
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "base", 2 * GIB, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "size 2G is more than the dram: size of a DRAM-only spec (1G)"))
		TH_LOG("%s", err);
	/* The size is in blocks, and two of them at least. */
	ASSERT_EQ(0, emp_spec_parse("dram:1000K", &s, NULL, 0));
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "size 1000K is not a multiple of the block size 64K")) TH_LOG("%s", err);
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 0, 8 << 10, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1000 << 10, c.dram_budget);
	ASSERT_EQ(0, emp_spec_parse("dram:64K", &s, NULL, 0));
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "less than two blocks")) TH_LOG("%s", err);
}

/* Host names are kept as written, in the tier's path and in spec.host. */
TEST(host_names_parsed)
{
	char text[512];
	struct emp_spec s;

	ASSERT_EQ(0, emp_spec_parse("donor1:16G:19675|10.0.0.2:1:1|tcp:" LONGEST_HOST ":1:2|"
				    "/dev/sda:1:0|tcp:[::1]:1:3", &s, NULL, 0));
	EXPECT_EQ(5, s.nr_tiers);
	EXPECT_STREQ("donor1", s.host[0]);
	EXPECT_STREQ("donor1", s.tier[0].path);
	EXPECT_STREQ("", s.host[1]);
	EXPECT_STREQ(LONGEST_HOST, s.host[2]);
	EXPECT_STREQ(LONGEST_HOST, s.tier[2].path);
	EXPECT_EQ(EMP_TIER_TCP, s.tier[2].kind);
	EXPECT_STREQ("", s.host[3]);
	EXPECT_STREQ("", s.host[4]);
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("donor1:16384:19675|10.0.0.2:1:1|tcp:" LONGEST_HOST ":1:2|/dev/sda:1:0|"
		     "tcp:[::1]:1:3", text);
}

/* Whether @a is numeric text of an IPv4 or IPv6 address. */
static int is_address(const char *a)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
}

TEST(resolve_localhost)
{
	char addr[64], err[EMP_SPEC_ERR_MAX] = "x";

	ASSERT_EQ(0, emp_resolve_host("localhost", addr, sizeof(addr), err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_STREQ("", err);
	/* IPv4 first; an IPv6-only host's loopback otherwise. */
	EXPECT_TRUE(!strcmp(addr, "127.0.0.1") || !strcmp(addr, "::1")) TH_LOG("got %s", addr);
	/* A numeric address resolves to itself. */
	ASSERT_EQ(0, emp_resolve_host("10.1.2.3", addr, sizeof(addr), NULL, 0));
	EXPECT_STREQ("10.1.2.3", addr);
}

TEST(resolve_a_name_that_does_not_exist)
{
	char addr[64], err[EMP_SPEC_ERR_MAX] = "";
	static const char want[] = "cannot resolve host 'nonexistent.invalid': ";
	int ret;

	/* .invalid is reserved (RFC 6761): never a name. A resolver that
	 * cannot be reached says "try again" instead of "no such name". */
	ret = emp_resolve_host("nonexistent.invalid", addr, sizeof(addr), err, sizeof(err));
	EXPECT_TRUE(ret == -ENOENT || ret == -EAGAIN) TH_LOG("ret %d: %s", ret, err);
	EXPECT_EQ(0, strncmp(err, want, strlen(want))) TH_LOG("'%s'", err);
	EXPECT_GT(strlen(err), strlen(want));
}

TEST(spec_resolve_then_create)
{
	char err[EMP_SPEC_ERR_MAX] = "", text[256];
	struct emp_create c;
	struct emp_spec s;

	ASSERT_EQ(0, emp_spec_parse("localhost:1G:19675|tcp:10.0.0.2:64:1|/dev/sda:64:0", &s, NULL, 0));
	/* Not resolved yet: create says so instead of handing emp.ko a name. */
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 1: host 'localhost' is not resolved")) TH_LOG("%s", err);
	ASSERT_EQ(0, emp_spec_resolve(&s, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(is_address(s.tier[0].path)) TH_LOG("%s", s.tier[0].path);
	EXPECT_STREQ("localhost", s.host[0]);
	EXPECT_STREQ("10.0.0.2", s.tier[1].path);
	EXPECT_STREQ("/dev/sda", s.tier[2].path);
	/* Again: nothing left to do. */
	ASSERT_EQ(0, emp_spec_resolve(&s, err, sizeof(err)));
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("localhost:1024:19675|tcp:10.0.0.2:64:1|/dev/sda:64:0", text);
	ASSERT_EQ(0, emp_spec_to_create(&s, "a", 0, 0, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(GIB + 128 * MIB, c.inst_size);

	ASSERT_EQ(0, emp_spec_parse("/dev/sda:64:0|tcp:nonexistent.invalid:64:1", &s, NULL, 0));
	EXPECT_GT(0, emp_spec_resolve(&s, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "cannot resolve host 'nonexistent.invalid': ")) TH_LOG("%s", err);
	EXPECT_STREQ("nonexistent.invalid", s.tier[1].path);
}

/* The DRAM budget rule that create and empctl resize share. */
TEST(budget_rule)
{
	EXPECT_EQ(128 << 10, emp_budget_min(64 << 10));
	EXPECT_EQ(EMP_BUDGET_OK, emp_budget_check(128 << 10, 64 << 10));
	EXPECT_EQ(EMP_BUDGET_OK, emp_budget_check(8 << 10, 4 << 10));
	EXPECT_EQ(EMP_BUDGET_SMALL, emp_budget_check(64 << 10, 64 << 10));
	EXPECT_EQ(EMP_BUDGET_SMALL, emp_budget_check(0, 4 << 10));
	EXPECT_EQ(EMP_BUDGET_UNALIGNED, emp_budget_check(6 << 10, 4 << 10));
	EXPECT_EQ(EMP_BUDGET_UNALIGNED, emp_budget_check((4ULL << 30) + 1, 2 << 20));
}

TEST(format_human)
{
	char b[32];

	EXPECT_STREQ("0 B", emp_format_human(0, b, sizeof(b)));
	EXPECT_STREQ("1023 B", emp_format_human(1023, b, sizeof(b)));
	EXPECT_STREQ("4 KiB", emp_format_human(4096, b, sizeof(b)));
	EXPECT_STREQ("1.5 KiB", emp_format_human(1536, b, sizeof(b)));
	EXPECT_STREQ("64 MiB", emp_format_human(64 * MIB, b, sizeof(b)));
	EXPECT_STREQ("1.9 GiB", emp_format_human(2 * GIB - 1, b, sizeof(b)));
	EXPECT_STREQ("128 GiB", emp_format_human(128 * GIB, b, sizeof(b)));
	EXPECT_STREQ("2 TiB", emp_format_human(2ULL << 40, b, sizeof(b)));
	EXPECT_STREQ("15.9 EiB", emp_format_human(UINT64_MAX, b, sizeof(b)));
}

/* Write @len bytes of @data to a new temporary file; its path into @path. */
static int temp_file(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/emp-secret-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

TEST(secret_files)
{
	static const struct { const char *data; int ret; const char *secret; } cases[] = {
		{ "s3cret\n", 6, "s3cret" },
		{ "s3cret", 6, "s3cret" },
		{ "s3cret\r\n", 6, "s3cret" },
		{ "two\nlines\n", 9, "two\nlines" },	/* only the final newline goes */
		{ "", -ENODATA, NULL },
		{ "\n", -ENODATA, NULL },
		{ "0123456789012345678901234567890123456789012345678901234567890123\n", 64,
		  "0123456789012345678901234567890123456789012345678901234567890123" },
		{ "01234567890123456789012345678901234567890123456789012345678901234", -E2BIG, NULL },
	};
	uint8_t secret[EMP_SECRET_MAX];
	char path[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, temp_file(path, cases[i].data, strlen(cases[i].data)));
		memset(secret, 0, sizeof(secret));
		EXPECT_EQ(cases[i].ret, emp_read_secret_file(path, secret)) TH_LOG("case %zu", i);
		if (cases[i].secret)
			EXPECT_EQ(0, memcmp(cases[i].secret, secret, strlen(cases[i].secret)));
		unlink(path);
	}
	EXPECT_EQ(-ENOENT, emp_read_secret_file("/nonexistent/secret", secret));
}

TEST(secret_goes_to_remote_tiers_only)
{
	struct emp_spec s;

	ASSERT_EQ(0, emp_spec_parse("/dev/sda:1:0|1.2.3.4:1:1|tcp:[::1]:1:2", &s, NULL, 0));
	EXPECT_EQ(2, emp_spec_set_secret(&s, (const uint8_t *)"abc", 3));
	EXPECT_EQ(0, s.tier[0].secret_len);
	EXPECT_EQ(3, s.tier[1].secret_len);
	EXPECT_EQ(3, s.tier[2].secret_len);
	EXPECT_EQ(0, memcmp("abc", s.tier[2].secret, 4));
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:1:0", &s, NULL, 0));
	EXPECT_EQ(0, emp_spec_set_secret(&s, (const uint8_t *)"abc", 3));
}

/* node:N:SIZE, the NUMA node tier: what it parses to, how it prints, what is refused. */
TEST(node_tiers)
{
	static const struct { const char *in, *canon; unsigned int nr; uint16_t node; uint64_t size; } ok[] = {
		{ "node:1:64", "node:1:64", 1, 1, 64 * MIB },
		{ "node:0:2G|dram:16", "node:0:2048|dram:16", 1, 0, 2 * GIB },
		{ "node:65535:1536K", "node:65535:1536K", 1, 65535, 1536 << 10 },
		{ "node:2:1G|/dev/nvme0n1:4G:0|dram:256", "node:2:1024|/dev/nvme0n1:4096:0|dram:256", 2, 2,
		  GIB },
		{ "node:007:1", "node:7:1", 1, 7, MIB },
	};
	static const struct { const char *in; int err; unsigned int col; const char *words; } bad[] = {
		{ "node:", -EINVAL, 1, "missing SIZE (expected node:N:SIZE)" },
		{ "node:1", -EINVAL, 1, "missing SIZE (expected node:N:SIZE)" },
		{ "node::64", -EINVAL, 6, "empty node number" },
		{ "node:1:", -EINVAL, 8, "empty size" },
		{ "node:1:0", -EINVAL, 8, "size must not be zero" },
		{ "node:x:64", -EINVAL, 6, "node number must be a decimal number 0..65535" },
		{ "node:-1:64", -EINVAL, 6, "node number must be a decimal number" },
		{ "node:65536:64", -ERANGE, 6, "node number must be 0..65535" },
		{ "node:1:64:0", -EINVAL, 8, "too many fields (expected node:N:SIZE)" },
		{ "node:1:64Q", -EINVAL, 8, "bad size" },
		/* "node" is a kind word: never a donor's host name. */
		{ "node:1:64:19675", -EINVAL, 8, "too many fields" },
		{ "NODE:1:64", -EINVAL, 1, "unknown tier" },
		{ "/dev/sda:1:0|nodes:1", -EINVAL, 14, "unknown tier" },
	};
	char err[EMP_SPEC_ERR_MAX], text[256];
	struct emp_spec s;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		ASSERT_EQ(0, emp_spec_parse(ok[i].in, &s, err, sizeof(err))) TH_LOG("'%s': %s", ok[i].in, err);
		EXPECT_EQ(ok[i].nr, s.nr_tiers) TH_LOG("'%s'", ok[i].in);
		EXPECT_EQ(EMP_TIER_NODE, s.tier[0].kind) TH_LOG("'%s'", ok[i].in);
		EXPECT_EQ(ok[i].node, s.tier[0].node) TH_LOG("'%s'", ok[i].in);
		EXPECT_EQ(ok[i].size, s.tier[0].size) TH_LOG("'%s'", ok[i].in);
		EXPECT_STREQ("", s.tier[0].path);
		EXPECT_EQ(0, s.tier[0].offset);
		EXPECT_EQ(0, s.tier[0].port);
		emp_spec_format(&s, text, sizeof(text));
		EXPECT_STREQ(ok[i].canon, text);
		EXPECT_STREQ("node", emp_tier_kind_name(s.tier[0].kind));
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(bad[i].err, emp_spec_parse(bad[i].in, &s, err, sizeof(err)))
			TH_LOG("'%s': %s", bad[i].in, err);
		EXPECT_EQ(bad[i].col, s.err_col) TH_LOG("'%s': %s", bad[i].in, err);
		EXPECT_NE(NULL, strstr(err, bad[i].words)) TH_LOG("'%s': '%s'", bad[i].in, err);
	}
	/* A node tier needs no address: emp_spec_to_create() takes it as it is. */
	{
		struct emp_create c;

		ASSERT_EQ(0, emp_spec_parse("node:1:64|dram:8", &s, err, sizeof(err)));
		ASSERT_EQ(0, emp_spec_to_create(&s, "n", 0, 0, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
		EXPECT_EQ(64 * MIB, c.inst_size);
		EXPECT_EQ(8 * MIB, c.dram_budget);
	}
}

/* PRIMARY+REPLICA: two entries, the second a replica, counted once. */
TEST(replica_pairs)
{
	static const struct {
		const char *in, *canon;
		unsigned int nr, reps;
		uint64_t capacity;
		uint32_t kind[2];
		const char *path[2];
	} ok[] = {
		{ "tcp:10.0.0.1:64:19675+tcp:10.0.0.2:64:19675",
		  "tcp:10.0.0.1:64:19675+tcp:10.0.0.2:64:19675", 2, 1, 64 * MIB,
		  { EMP_TIER_TCP, EMP_TIER_TCP }, { "10.0.0.1", "10.0.0.2" } },
		/* RDMA and TCP mixed, IPv6, suffixes, a dram: after it. */
		{ "10.0.0.1:64:19675+tcp:[fd00::2]:64M:19675|dram:16",
		  "10.0.0.1:64:19675+tcp:[fd00::2]:64:19675|dram:16", 2, 1, 64 * MIB,
		  { EMP_TIER_RDMA, EMP_TIER_TCP }, { "10.0.0.1", "fd00::2" } },
		/* Host names; the same address on two ports is two donors. */
		{ "donor1:1G:1+tcp:donor-2.example:1024:1",
		  "donor1:1024:1+tcp:donor-2.example:1024:1", 2, 1, GIB,
		  { EMP_TIER_RDMA, EMP_TIER_TCP }, { "donor1", "donor-2.example" } },
		{ "tcp:127.0.0.1:64:1+tcp:127.0.0.1:64:2", "tcp:127.0.0.1:64:1+tcp:127.0.0.1:64:2", 2,
		  1, 64 * MIB, { EMP_TIER_TCP, EMP_TIER_TCP }, { "127.0.0.1", "127.0.0.1" } },
		/* Among other tiers: only the pair's second entry is a replica. */
		{ "/dev/sda:32:0|tcp:1.1.1.1:64:1+tcp:2.2.2.2:64:1|node:0:16|3.3.3.3:8:1+4.4.4.4:8:1",
		  "/dev/sda:32:0|tcp:1.1.1.1:64:1+tcp:2.2.2.2:64:1|node:0:16|3.3.3.3:8:1+4.4.4.4:8:1",
		  6, 2, 120 * MIB, { EMP_TIER_BDEV, EMP_TIER_TCP }, { "/dev/sda", "1.1.1.1" } },
		/* Four pairs: eight entries, the most there can be. */
		{ "1.0.0.1:1:1+1.0.0.2:1:1|1.0.0.3:1:1+1.0.0.4:1:1|1.0.0.5:1:1+1.0.0.6:1:1|"
		  "1.0.0.7:1:1+1.0.0.8:1:1|dram:1",
		  "1.0.0.1:1:1+1.0.0.2:1:1|1.0.0.3:1:1+1.0.0.4:1:1|1.0.0.5:1:1+1.0.0.6:1:1|"
		  "1.0.0.7:1:1+1.0.0.8:1:1|dram:1", 8, 4, 4 * MIB,
		  { EMP_TIER_RDMA, EMP_TIER_RDMA }, { "1.0.0.1", "1.0.0.2" } },
		/* A '+' inside a block device path is still part of it. */
		{ "/dev/disk/by-id/usb-A+B_1:64:0", "/dev/disk/by-id/usb-A+B_1:64:0", 1, 0, 64 * MIB,
		  { EMP_TIER_BDEV, 0 }, { "/dev/disk/by-id/usb-A+B_1", "" } },
	};
	static const struct { const char *in; int err; unsigned int col; const char *words; } bad[] = {
		{ "tcp:10.0.0.1:64:1+tcp:10.0.0.2:32:1", -EINVAL, 32,
		  "\"32\" in \"tcp:10.0.0.1:64:1+tcp:10.0.0.2:32:1\": a replica is as large as its "
		  "primary (64M)" },
		{ "1.2.3.4:1G:1+[::1]:1023:1", -EINVAL, 20, "a replica is as large as its primary (1G)" },
		{ "a:1:1+b:1:1+c:1:1", -EINVAL, 12, "\"+\" in \"a:1:1+b:1:1+c:1:1\": a second '+'" },
		{ "+a:1:1", -EINVAL, 1, "no tier before '+'" },
		{ "/dev/sda:1:0|a:1:1+", -EINVAL, 19, "no replica after '+'" },
		{ "1.2.3.4:64:1+1.2.3.4:64:1", -EINVAL, 14,
		  "\"1.2.3.4:64:1\" in \"1.2.3.4:64:1+1.2.3.4:64:1\": the replica is on its primary's donor" },
		{ "[::1]:1:1+tcp:[0::1]:1:1", -EINVAL, 11, "the replica is on its primary's donor" },
		{ "x:1:1+x:1:1", -EINVAL, 7, "the replica is on its primary's donor" },
		/* Only remote tiers have replicas. */
		{ "/dev/sda:1:0+1.2.3.4:1:1", -EINVAL, 13, "a block device has no replica" },
		{ "1.2.3.4:1:1+/dev/sda:1:0", -EINVAL, 13,
		  "\"/dev/sda:1:0\": only a remote tier (IP:SIZE:PORT or tcp:IP:SIZE:PORT) can have a "
		  "replica" },
		{ "dram:64+1.2.3.4:64:1", -EINVAL, 1, "\"dram:64\": only a remote tier" },
		{ "node:1:64+1.2.3.4:64:1", -EINVAL, 1, "only a remote tier" },
		{ "1.2.3.4:64:1+node:1:64", -EINVAL, 14, "only a remote tier" },
		{ "cluster:64+1.2.3.4:64:1", -EINVAL, 1, "replicas=2, not with '+'" },
		{ "1.2.3.4:1:1+_x:1:1", -EINVAL, 13, "\"_x:1:1\": unknown tier" },
		/* Each half's own errors, at their columns, quoting that half. */
		{ "1.2.3.4:1:1+tcp:1.2.3.4:1", -EINVAL, 13,
		  "\"tcp:1.2.3.4:1\": missing PORT (expected tcp:IP:SIZE:PORT)" },
		{ "1.2.3.4:0:1+1.2.3.5:0:1", -EINVAL, 9, "\"0\" in \"1.2.3.4:0:1\": size must not be zero" },
		{ "1.2.3.4:1:1+1.2.3.5:1:0", -ERANGE, 23, "\"0\" in \"1.2.3.5:1:0\": port must be 1..65535" },
		{ "1.2.3.4:1:1+10.0.0.300:1:1", -EINVAL, 13, "not an IPv4 address" },
		{ "fe80::1:1:1+1.2.3.4:1:1", -EINVAL, 1, "IPv6 goes in brackets" },
		/* A pair takes two of the eight entries. */
		{ "1.0.0.1:1:1|1.0.0.2:1:1|1.0.0.3:1:1|1.0.0.4:1:1|1.0.0.5:1:1|1.0.0.6:1:1|"
		  "1.0.0.7:1:1|2.0.0.1:1:1+2.0.0.2:1:1", -E2BIG, 85,
		  "\"2.0.0.1:1:1+2.0.0.2:1:1\": more than 8 tiers (a tier with a replica takes two)" },
		{ "/dev/sda:8796093022208:0|1.2.3.4:8796093022208:1+1.2.3.5:8796093022208:1", -ERANGE,
		  26, "the tiers add up to more than 16 EiB" },
	};
	char err[EMP_SPEC_ERR_MAX], text[1024];
	struct emp_spec s, again, zero;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		unsigned int replicas = 0;

		ASSERT_EQ(0, emp_spec_parse(ok[i].in, &s, err, sizeof(err))) TH_LOG("'%s': %s", ok[i].in, err);
		EXPECT_EQ(ok[i].nr, s.nr_tiers) TH_LOG("'%s'", ok[i].in);
		EXPECT_EQ(ok[i].capacity, s.capacity) TH_LOG("'%s'", ok[i].in);
		for (size_t j = 0; j < 2 && j < s.nr_tiers; j++) {
			EXPECT_EQ(ok[i].kind[j], s.tier[j].kind) TH_LOG("'%s' %zu", ok[i].in, j);
			EXPECT_STREQ(ok[i].path[j], s.tier[j].path);
		}
		/* Replicas: remote, right after a remote non-replica of their size. */
		for (size_t j = 0; j < s.nr_tiers; j++) {
			if (!s.tier[j].flags)
				continue;
			replicas++;
			EXPECT_EQ(EMP_TIER_F_REPLICA, s.tier[j].flags);
			ASSERT_GT(j, 0);
			EXPECT_EQ(0, s.tier[j - 1].flags);
			EXPECT_EQ(s.tier[j - 1].size, s.tier[j].size);
			EXPECT_TRUE(s.tier[j].kind == EMP_TIER_RDMA || s.tier[j].kind == EMP_TIER_TCP);
		}
		EXPECT_EQ(ok[i].reps, replicas) TH_LOG("'%s'", ok[i].in);
		EXPECT_EQ((int)strlen(ok[i].canon), emp_spec_format(&s, text, sizeof(text)));
		EXPECT_STREQ(ok[i].canon, text);
		ASSERT_EQ(0, emp_spec_parse(text, &again, err, sizeof(err))) TH_LOG("%s", err);
		EXPECT_EQ(0, memcmp(&s, &again, sizeof(s))) TH_LOG("'%s' does not round-trip", text);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&s, 0x5a, sizeof(s));
		EXPECT_EQ(bad[i].err, emp_spec_parse(bad[i].in, &s, err, sizeof(err)))
			TH_LOG("'%s': %s", bad[i].in, err);
		EXPECT_EQ(bad[i].col, s.err_col) TH_LOG("'%s': %s", bad[i].in, err);
		EXPECT_NE(NULL, strstr(err, bad[i].words)) TH_LOG("'%s': '%s' lacks '%s'", bad[i].in,
								   err, bad[i].words);
		memset(&zero, 0, sizeof(zero));
		zero.err_col = s.err_col;
		EXPECT_EQ(0, memcmp(&zero, &s, sizeof(s))) TH_LOG("'%s' left data in the result", bad[i].in);
	}
}

/* A replicated spec to EMP_IOC_CREATE: the size counts each pair once; pairing is checked. */
TEST(replica_pairs_create)
{
	char err[EMP_SPEC_ERR_MAX] = "";
	struct emp_create c;
	struct emp_spec s, t;

	ASSERT_EQ(0, emp_spec_parse("tcp:10.0.0.1:64:1+tcp:10.0.0.2:64:1|/dev/sda:32:0|dram:16", &s,
				    err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(3, s.nr_tiers);
	EXPECT_EQ(96 * MIB, s.capacity);
	ASSERT_EQ(0, emp_spec_to_create(&s, "r", 0, 0, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(96 * MIB, c.inst_size);
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "r", 97 * MIB, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "size 97M is more than the tiers hold (96M)")) TH_LOG("%s", err);
	/* Default budget of the instance, not of the entries. */
	ASSERT_EQ(0, emp_spec_parse("tcp:10.0.0.1:8G:1+tcp:10.0.0.2:8G:1", &s, NULL, 0));
	ASSERT_EQ(0, emp_spec_to_create(&s, "r", 0, 0, 0, &c, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(8 * GIB, c.inst_size);
	EXPECT_EQ(GIB, c.dram_budget);
	/* Both halves are sizes in blocks. */
	ASSERT_EQ(0, emp_spec_parse("tcp:10.0.0.1:1:1+tcp:10.0.0.2:1:1", &s, NULL, 0));
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "r", 0, 2 << 20, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 1: size 1M is not a multiple")) TH_LOG("%s", err);
	/* A replica by host name must be resolved like a primary. */
	ASSERT_EQ(0, emp_spec_parse("tcp:10.0.0.1:64:1+tcp:donor2:64:1", &s, NULL, 0));
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "r", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 2: host 'donor2' is not resolved")) TH_LOG("%s", err);

	/* Specs built by hand: what emp.ko would refuse is said first. */
	ASSERT_EQ(0, emp_spec_parse("tcp:10.0.0.1:64:1+tcp:10.0.0.2:64:1", &s, NULL, 0));
	t = s;
	t.tier[1].size = 32 * MIB;
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&t, "r", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 2: the replica's size 32M is not its primary's 64M"))
		TH_LOG("%s", err);
	t = s;
	t.tier[0].flags = EMP_TIER_F_REPLICA;
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&t, "r", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 1: a replica is a remote tier right after")) TH_LOG("%s", err);
	t = s;
	t.tier[0].flags = EMP_TIER_F_REPLICA;
	t.tier[1].flags = EMP_TIER_F_REPLICA;
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&t, "r", 0, 0, 0, &c, err, sizeof(err)));
	t = s;
	t.tier[1].flags = 2;
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&t, "r", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 2: unknown flags 0x2")) TH_LOG("%s", err);
	ASSERT_EQ(0, emp_spec_parse("/dev/sda:64:0|tcp:10.0.0.2:64:1", &s, NULL, 0));
	s.tier[1].flags = EMP_TIER_F_REPLICA;
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "r", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tier 2: a replica is a remote tier right after the remote"))
		TH_LOG("%s", err);
}

TEST(replica_pairs_secret_and_resolve)
{
	char err[EMP_SPEC_ERR_MAX] = "", text[256];
	struct emp_spec s;

	ASSERT_EQ(0, emp_spec_parse("/dev/sda:1:0|tcp:10.0.0.1:1:1+localhost:1:2", &s, NULL, 0));
	/* Replicas get the secret too: every remote entry. */
	EXPECT_EQ(2, emp_spec_set_secret(&s, (const uint8_t *)"abc", 3));
	EXPECT_EQ(3, s.tier[2].secret_len);
	EXPECT_EQ(0, memcmp("abc", s.tier[2].secret, 3));
	EXPECT_EQ(EMP_TIER_F_REPLICA, s.tier[2].flags);
	/* A replica given by name is resolved; the spec still shows the name. */
	EXPECT_STREQ("localhost", s.host[2]);
	ASSERT_EQ(0, emp_spec_resolve(&s, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(is_address(s.tier[2].path)) TH_LOG("%s", s.tier[2].path);
	EXPECT_EQ(EMP_TIER_F_REPLICA, s.tier[2].flags);
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("/dev/sda:1:0|tcp:10.0.0.1:1:1+localhost:1:2", text);
}

TEST_HARNESS_MAIN
