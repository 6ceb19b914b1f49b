// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of the instance ioctls' argument checking: every field of
 * CREATE (and its tiers), DESTROY, LIST, STAT and RESIZE given invalid
 * values, each with the errno uapi/linux/emp.h documents (table-driven),
 * then a loop of random ioctls that must leave no instance behind.
 * Needs emp.ko loaded and /dev/nvme0n1 (EMP_TEST_DEV) free.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define NAME		"st_ioc"
#define REGULAR_FILE	"/tmp/st_ioc_regular"
#define KERNEL_PTR	0xffff888000000000ULL

/* ---- CREATE ------------------------------------------------------------- */

/* A create request with room behind each struct for larger claimed sizes. */
struct create_req {
	struct emp_create c;
	uint8_t ctail[64];
	struct emp_tier t[EMP_MAX_TIERS + 2];
};

/* Valid: 1 MiB on the test device, 64K blocks, 4K subblocks, 2 blocks of DRAM. */
static void create_base(struct create_req *r)
{
	memset(r, 0, sizeof(*r));
	r->c.size = sizeof(r->c);
	emp_set_name(r->c.name, NAME);
	r->c.block_size = 64 << 10;
	r->c.subblock_size = 4 << 10;
	r->c.dram_budget = 128 << 10;
	r->c.nr_tiers = 1;
	r->c.tier_size = sizeof(struct emp_tier);
	r->c.tiers = (uintptr_t)r->t;
	for (int i = 0; i < EMP_MAX_TIERS + 2; i++) {
		/* Disjoint 1 MiB ranges, 8 MiB apart: any prefix is valid. */
		r->t[i].kind = EMP_TIER_BDEV;
		r->t[i].size = ET_MIB;
		r->t[i].offset = (uint64_t)i * 8 * ET_MIB;
		snprintf(r->t[i].path, sizeof(r->t[i].path), "%s", et_dev());
	}
}

enum where { W_NONE, W_C, W_T0, W_T1 };

struct poke {
	enum where where;
	uint16_t off;
	uint8_t width;
	uint64_t val;
};

#define FLD(type, f)	offsetof(struct type, f), sizeof(((struct type *)0)->f)
#define C(f)		W_C, FLD(emp_create, f)
#define T0(f)		W_T0, FLD(emp_tier, f)
#define T1(f)		W_T1, FLD(emp_tier, f)

static void poke(void *base, const struct poke *p)
{
	uint8_t *dst = (uint8_t *)base + p->off;

	switch (p->width) {
	case 1: *dst = (uint8_t)p->val; break;
	case 2: { uint16_t v = (uint16_t)p->val; memcpy(dst, &v, 2); break; }
	case 4: { uint32_t v = (uint32_t)p->val; memcpy(dst, &v, 4); break; }
	case 8: memcpy(dst, &p->val, 8); break;
	}
}

static void apply(struct create_req *r, const struct poke *p)
{
	switch (p->where) {
	case W_C:  poke(&r->c, p); break;
	case W_T0: poke(&r->t[0], p); break;
	case W_T1: poke(&r->t[1], p); break;
	case W_NONE: break;
	}
}

struct create_case {
	const char *what;
	struct poke p[3];
	int err;
};

#define KB	(1ULL << 10)
#define MB	(1ULL << 20)

static const struct create_case create_cases[] = {
	/* size-first rules */
	{ "size 0", { { C(size), 0 } }, EINVAL },
	{ "size 4", { { C(size), 4 } }, EINVAL },
	{ "size first published - 1", { { C(size), EMP_CREATE_SIZE_VER0 - 1 } }, EINVAL },
	{ "size > EMP_STRUCT_SIZE_MAX", { { C(size), EMP_STRUCT_SIZE_MAX + 1 } }, EINVAL },
	{ "size UINT32_MAX", { { C(size), UINT32_MAX } }, EINVAL },
	{ "flags 1", { { C(flags), 1 } }, EINVAL },
	{ "flags bit 31", { { C(flags), 1U << 31 } }, EINVAL },
	{ "reserved0", { { C(reserved0), 1 } }, EINVAL },
	{ "reserved[0]", { { C(reserved[0]), 1 } }, EINVAL },
	{ "reserved[1]", { { C(reserved[1]), 1ULL << 63 } }, EINVAL },
	{ "reserved[2]", { { C(reserved[2]), 2 } }, EINVAL },
	{ "reserved[3]", { { C(reserved[3]), UINT64_MAX } }, EINVAL },
	/* geometry */
	{ "block 0", { { C(block_size), 0 } }, EINVAL },
	{ "block 1", { { C(block_size), 1 } }, EINVAL },
	{ "block 2K (below 4K)", { { C(block_size), 2 * KB }, { C(subblock_size), 2 * KB } }, EINVAL },
	{ "block 12K (not a power of two)", { { C(block_size), 12 * KB } }, EINVAL },
	{ "block 96K (not a power of two)", { { C(block_size), 96 * KB } }, EINVAL },
	{ "block 4M (above 2M)", { { C(block_size), 4 * MB }, { C(dram_budget), 8 * MB } }, EINVAL },
	{ "block 2^31", { { C(block_size), 1U << 31 } }, EINVAL },
	{ "block UINT32_MAX", { { C(block_size), UINT32_MAX } }, EINVAL },
	{ "subblock 0", { { C(subblock_size), 0 } }, EINVAL },
	{ "subblock 2K (below 4K)", { { C(subblock_size), 2 * KB } }, EINVAL },
	{ "subblock 12K (not a power of two)", { { C(subblock_size), 12 * KB } }, EINVAL },
	{ "subblock 256K (above 128K)", { { C(block_size), 2 * MB }, { C(subblock_size), 256 * KB },
					  { C(dram_budget), 4 * MB } }, EINVAL },
	{ "subblock > block (128K > 64K)", { { C(subblock_size), 128 * KB } }, EINVAL },
	{ "subblock > block (8K > 4K)", { { C(block_size), 4 * KB }, { C(subblock_size), 8 * KB } }, EINVAL },
	{ "subblock UINT32_MAX", { { C(subblock_size), UINT32_MAX } }, EINVAL },
	{ "budget 0", { { C(dram_budget), 0 } }, EINVAL },
	{ "budget 1 block", { { C(dram_budget), 64 * KB } }, EINVAL },
	{ "budget 2 blocks - 1 page", { { C(dram_budget), 124 * KB } }, EINVAL },
	{ "budget not a page multiple", { { C(dram_budget), 128 * KB + 512 } }, EINVAL },
	{ "budget 2 blocks + 1", { { C(dram_budget), 128 * KB + 1 } }, EINVAL },
	{ "budget UINT64_MAX", { { C(dram_budget), UINT64_MAX } }, EINVAL },
	{ "budget 1 page with 4K blocks", { { C(block_size), 4 * KB }, { C(dram_budget), 4 * KB } }, EINVAL },
	{ "inst_size not a block multiple", { { C(inst_size), 64 * KB + 4 * KB } }, EINVAL },
	{ "inst_size 4K with 64K blocks", { { C(inst_size), 4 * KB } }, EINVAL },
	{ "inst_size larger than the tier", { { C(inst_size), 2 * MB } }, EINVAL },
	{ "inst_size larger than two tiers", { { C(nr_tiers), 2 }, { C(inst_size), 3 * MB } }, EINVAL },
	{ "inst_size UINT64_MAX", { { C(inst_size), UINT64_MAX } }, EINVAL },
	/* the tier array */
	{ "nr_tiers 0", { { C(nr_tiers), 0 } }, EINVAL },
	{ "nr_tiers EMP_MAX_TIERS + 1", { { C(nr_tiers), EMP_MAX_TIERS + 1 } }, EINVAL },
	{ "nr_tiers UINT32_MAX", { { C(nr_tiers), UINT32_MAX } }, EINVAL },
	{ "tier_size 0", { { C(tier_size), 0 } }, EINVAL },
	{ "tier_size first published - 1", { { C(tier_size), EMP_TIER_SIZE_VER0 - 1 } }, EINVAL },
	{ "tier_size > EMP_STRUCT_SIZE_MAX", { { C(tier_size), EMP_STRUCT_SIZE_MAX + 1 } }, EINVAL },
	{ "tiers NULL", { { C(tiers), 0 } }, EFAULT },
	{ "tiers 1", { { C(tiers), 1 } }, EFAULT },
	{ "tiers kernel address", { { C(tiers), KERNEL_PTR } }, EFAULT },
	/* tier fields */
	{ "tier kind 0", { { T0(kind), 0 } }, EINVAL },
	{ "tier kind 4", { { T0(kind), 4 } }, EINVAL },
	{ "tier kind 0x100", { { T0(kind), 0x100 } }, EINVAL },
	{ "tier kind UINT32_MAX", { { T0(kind), UINT32_MAX } }, EINVAL },
	{ "tier flags 1", { { T0(flags), 1 } }, EINVAL },
	{ "tier flags bit 31", { { T0(flags), 1U << 31 } }, EINVAL },
	{ "tier reserved0[0]", { { T0(reserved0[0]), 1 } }, EINVAL },
	{ "tier reserved0[1]", { { T0(reserved0[1]), 0x8000 } }, EINVAL },
	{ "tier reserved0[2]", { { T0(reserved0[2]), 0xffff } }, EINVAL },
	{ "tier reserved[0]", { { T0(reserved[0]), 1 } }, EINVAL },
	{ "tier reserved[1]", { { T0(reserved[1]), 1ULL << 63 } }, EINVAL },
	{ "tier reserved1", { { T0(reserved1), 1 } }, EINVAL },
	{ "block device tier with a secret", { { T0(secret_len), 1 }, { T0(secret[0]), 'x' } }, EINVAL },
	{ "secret_len > EMP_SECRET_MAX", { { T0(secret_len), EMP_SECRET_MAX + 1 } }, EINVAL },
	{ "secret_len UINT32_MAX", { { T0(secret_len), UINT32_MAX } }, EINVAL },
	{ "secret byte beyond secret_len", { { T0(secret[0]), 1 } }, EINVAL },
	{ "last secret byte beyond secret_len", { { T0(secret[EMP_SECRET_MAX - 1]), 0xff } }, EINVAL },
	{ "tier size 0", { { T0(size), 0 } }, EINVAL },
	{ "tier size not a block multiple", { { T0(size), MB + 4 * KB } }, EINVAL },
	{ "tier size 4K with 64K blocks", { { T0(size), 4 * KB } }, EINVAL },
	{ "tier offset 1", { { T0(offset), 1 } }, EINVAL },
	{ "tier offset 512", { { T0(offset), 512 } }, EINVAL },
	{ "tier offset 2K", { { T0(offset), 2 * KB } }, EINVAL },
	{ "tier size beyond the device", { { T0(size), 4096 * MB } }, ENOSPC },
	{ "tier offset + size beyond the device", { { T0(offset), 1024 * MB - 512 * KB } }, ENOSPC },
	{ "tier offset at the device end", { { T0(offset), 1024 * MB } }, ENOSPC },
	{ "tier offset far beyond the device", { { T0(offset), 1ULL << 62 } }, ENOSPC },
	{ "tier size 2^63", { { T0(size), 1ULL << 63 } }, ENOSPC },
	{ "second tier kind 0", { { C(nr_tiers), 2 }, { T1(kind), 0 } }, EINVAL },
	{ "second tier reserved[1]", { { C(nr_tiers), 2 }, { T1(reserved[1]), 1 } }, EINVAL },
	{ "second tier size not a block multiple", { { C(nr_tiers), 2 }, { T1(size), 68 * KB } }, EINVAL },
	{ "second tier beyond the device", { { C(nr_tiers), 2 }, { T1(offset), 1024 * MB } }, ENOSPC },
	{ "two tiers overlapping on one device", { { C(nr_tiers), 2 }, { T1(offset), 512 * KB } }, EINVAL },
	{ "two tiers at the same offset", { { C(nr_tiers), 2 }, { T1(offset), 0 } }, EINVAL },
};

struct path_case {
	const char *what;
	const char *path;
	int err;
};

static const struct path_case path_cases[] = {
	{ "empty path", "", EINVAL },
	{ "missing device", "/dev/emp_no_such_device", ENOENT },
	{ "missing directory", "/no/such/dir/dev", ENOENT },
	{ "character device", "/dev/null", ENOTBLK },
	{ "the control device", "/dev/emp", ENOTBLK },
	{ "directory", "/dev", ENOTBLK },
	{ "regular file", REGULAR_FILE, ENOTBLK },
	{ "proc file", "/proc/version", ENOTBLK },
};

struct name_case {
	const char *what;
	char name[EMP_NAME_MAX];
	int err;
};

static const struct name_case name_cases[] = {
	{ "empty", "", EINVAL },
	{ "space", "a b", EINVAL },
	{ "slash", "a/b", EINVAL },
	{ "colon", "a:b", EINVAL },
	{ "star", "a*", EINVAL },
	{ "newline", "ab\n", EINVAL },
	{ "tab", "\tab", EINVAL },
	{ "high byte", "a\xff", EINVAL },
	{ "UTF-8", "caf\xc3\xa9", EINVAL },
	{ "leading dot", ".hidden", EINVAL },
	{ "dot", ".", EINVAL },
	{ "dot dot", "..", EINVAL },
	{ "leading dash", "-x", EINVAL },
	{ "garbage after the NUL", "ab\0c", EINVAL },
	{ "nonzero last byte after the NUL", "ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0x", EINVAL },
	{ "unterminated (32 chars)", "abcdefghijklmnopqrstuvwxyz012345", EINVAL },
};

FIXTURE(ioc) {
	int ctl;
};

FIXTURE_SETUP(ioc)
{
	int fd;

	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	ASSERT_EQ(0, et_destroy_all(self->ctl)) TH_LOG("instances left by an earlier test");
	fd = open(REGULAR_FILE, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 64 * MB));
	close(fd);
}

FIXTURE_TEARDOWN(ioc)
{
	EXPECT_EQ(0, et_destroy_all(self->ctl));
	unlink(REGULAR_FILE);
	close(self->ctl);
}

/*
 * Run one CREATE expected to fail with @err; nothing may be left behind:
 * no instance, no claim on the device.
 */
static void expect_create_fails(struct __test_metadata *_metadata, int ctl,
				struct create_req *r, int err, const char *what)
{
	int rc, got;

	errno = 0;
	rc = ioctl(ctl, EMP_IOC_CREATE, &r->c);
	got = errno;
	EXPECT_EQ(-1, rc) TH_LOG("%s: created", what);
	if (rc == -1) {
		EXPECT_EQ(err, got) TH_LOG("%s: %s (%d), want %s (%d)", what,
					   strerror(got), got, strerror(err), err);
	}
	EXPECT_EQ(0, emp_list(ctl, NULL, 0)) TH_LOG("%s: instance left", what);
	et_destroy_all(ctl);
	EXPECT_EQ(0, et_bdev_excl(et_dev())) TH_LOG("%s: device still claimed", what);
}

TEST_F(ioc, create_base_request_is_valid)
{
	struct create_req r;
	struct emp_stat st;

	/* The baseline every table entry changes must itself work. */
	create_base(&r);
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(r.c), r.c.size);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(r.c.id, st.id);
	EXPECT_EQ(MB, st.inst_size);	/* inst_size 0: the sum of the tiers */
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));

	/* Two tiers, and an inst_size smaller than their sum. */
	create_base(&r);
	r.c.nr_tiers = 2;
	r.c.inst_size = MB + 64 * KB;
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(MB + 64 * KB, st.inst_size);
	EXPECT_EQ(2, st.nr_tiers);
	EXPECT_EQ(MB, st.tier[1].size);
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));

	/* The extremes of the geometry. */
	create_base(&r);
	r.c.block_size = 2 * MB;
	r.c.subblock_size = 128 * KB;
	r.c.dram_budget = 4 * MB;
	r.t[0].size = 4 * MB;
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
	create_base(&r);
	r.c.block_size = 4 * KB;
	r.c.subblock_size = 4 * KB;
	r.c.dram_budget = 8 * KB;
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));

	/* The last block of the device. */
	create_base(&r);
	r.t[0].offset = 1024 * MB - MB;
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
}

TEST_F(ioc, create_bad_fields)
{
	struct create_req r;

	ASSERT_EQ(1024 * MB, et_bdev_bytes(et_dev())) TH_LOG("the table assumes a 1 GiB device");
	for (unsigned int i = 0; i < ARRAY_SIZE(create_cases); i++) {
		const struct create_case *k = &create_cases[i];

		create_base(&r);
		for (int j = 0; j < 3; j++)
			apply(&r, &k->p[j]);
		expect_create_fails(_metadata, self->ctl, &r, k->err, k->what);
	}
}

TEST_F(ioc, create_bad_paths)
{
	struct create_req r;

	for (unsigned int i = 0; i < ARRAY_SIZE(path_cases); i++) {
		create_base(&r);
		memset(r.t[0].path, 0, sizeof(r.t[0].path));
		snprintf(r.t[0].path, sizeof(r.t[0].path), "%s", path_cases[i].path);
		expect_create_fails(_metadata, self->ctl, &r, path_cases[i].err, path_cases[i].what);
	}
	/* Not zero-padded. */
	create_base(&r);
	r.t[0].path[sizeof(r.t[0].path) - 1] = 'x';
	expect_create_fails(_metadata, self->ctl, &r, EINVAL, "path not zero-padded");
	/* Unterminated: EMP_PATH_MAX bytes, no NUL. */
	create_base(&r);
	memset(r.t[0].path, 'a', sizeof(r.t[0].path));
	expect_create_fails(_metadata, self->ctl, &r, EINVAL, "unterminated path");
	/* A bad path in the second tier. */
	create_base(&r);
	r.c.nr_tiers = 2;
	memset(r.t[1].path, 0, sizeof(r.t[1].path));
	snprintf(r.t[1].path, sizeof(r.t[1].path), "/dev/emp_no_such_device");
	expect_create_fails(_metadata, self->ctl, &r, ENOENT, "second tier missing");
	create_base(&r);
	r.c.nr_tiers = 2;
	memset(r.t[1].path, 0, sizeof(r.t[1].path));
	snprintf(r.t[1].path, sizeof(r.t[1].path), "/dev/zero");
	expect_create_fails(_metadata, self->ctl, &r, ENOTBLK, "second tier a char device");
}

TEST_F(ioc, create_bad_names)
{
	struct create_req r;

	for (unsigned int i = 0; i < ARRAY_SIZE(name_cases); i++) {
		create_base(&r);
		memcpy(r.c.name, name_cases[i].name, EMP_NAME_MAX);
		expect_create_fails(_metadata, self->ctl, &r, name_cases[i].err, name_cases[i].what);
	}
}

TEST_F(ioc, create_good_names)
{
	static const char *const good[] = {
		"a", "Z", "0", "a.b", "a-b", "a_b", "_x", "x.", "x-",
		"abcdefghijklmnopqrstuvwxyz01234",	/* 31 chars */
		"ABC.def-GHI_012",
	};
	struct create_req r;
	char path[64];

	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		create_base(&r);
		emp_set_name(r.c.name, good[i]);
		ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s: %s", good[i], strerror(errno));
		EXPECT_EQ(0, access(emp_inst_path(good[i], path, sizeof(path)), F_OK)) TH_LOG("%s", path);
		EXPECT_EQ(0, emp_destroy(self->ctl, good[i])) TH_LOG("%s", good[i]);
	}
}

TEST_F(ioc, create_struct_sizes)
{
	struct create_req r;
	uint8_t *big;
	int rc;

	/* Larger than known, zero tail: accepted, size written back. */
	create_base(&r);
	r.c.size = sizeof(r.c) + sizeof(r.ctail);
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(r.c), r.c.size);
	for (unsigned int i = 0; i < sizeof(r.ctail); i++) {
		ASSERT_EQ(0, r.ctail[i]);
	}
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
	/* Nonzero tail: E2BIG, at either end of it. */
	create_base(&r);
	r.c.size = sizeof(r.c) + sizeof(r.ctail);
	r.ctail[0] = 1;
	expect_create_fails(_metadata, self->ctl, &r, E2BIG, "create tail[0]");
	create_base(&r);
	r.c.size = sizeof(r.c) + sizeof(r.ctail);
	r.ctail[sizeof(r.ctail) - 1] = 0x80;
	expect_create_fails(_metadata, self->ctl, &r, E2BIG, "create tail[last]");

	/* Tiers larger than known: zero tails accepted, nonzero E2BIG. */
	big = calloc(2, sizeof(struct emp_tier) + 32);
	ASSERT_NE(NULL, big);
	create_base(&r);
	memcpy(big, &r.t[0], sizeof(struct emp_tier));
	memcpy(big + sizeof(struct emp_tier) + 32, &r.t[1], sizeof(struct emp_tier));
	r.c.nr_tiers = 2;
	r.c.tier_size = sizeof(struct emp_tier) + 32;
	r.c.tiers = (uintptr_t)big;
	rc = ioctl(self->ctl, EMP_IOC_CREATE, &r.c);
	EXPECT_EQ(0, rc) TH_LOG("tier_size %u: %s", r.c.tier_size, strerror(errno));
	if (!rc) {
		EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
	}
	big[2 * (sizeof(struct emp_tier) + 32) - 1] = 1;	/* second tier's tail */
	r.c.id = 0;
	expect_create_fails(_metadata, self->ctl, &r, E2BIG, "second tier tail");
	free(big);

	/* The first published sizes work (this ABI has not grown yet). */
	create_base(&r);
	r.c.size = EMP_CREATE_SIZE_VER0;
	r.c.tier_size = EMP_TIER_SIZE_VER0;
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
}

TEST_F(ioc, create_bad_pointers)
{
	struct create_req *r;
	void *ro;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, (void *)KERNEL_PTR));
	EXPECT_EQ(EFAULT, errno);

	/* A tier array that runs into an unmapped page. */
	ro = mmap(NULL, 2 * ET_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, munmap((uint8_t *)ro + ET_PAGE, ET_PAGE));
	r = malloc(sizeof(*r));
	ASSERT_NE(NULL, r);
	create_base(r);
	memcpy((uint8_t *)ro + ET_PAGE - sizeof(struct emp_tier), &r->t[0], sizeof(struct emp_tier));
	r->c.tiers = (uintptr_t)ro + ET_PAGE - sizeof(struct emp_tier);
	r->c.nr_tiers = 2;
	expect_create_fails(_metadata, self->ctl, r, EFAULT, "second tier unmapped");
	munmap(ro, ET_PAGE);

	/* Readable but read-only: the instance is made, the id cannot be written back. */
	ro = mmap(NULL, ET_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	create_base(r);
	memcpy(ro, &r->c, sizeof(r->c));
	ASSERT_EQ(0, mprotect(ro, ET_PAGE, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, ro));
	EXPECT_EQ(EFAULT, errno);
	/* As the ABI says: such an instance exists and can be listed. */
	et_destroy_all(self->ctl);
	munmap(ro, ET_PAGE);
	free(r);
}

/* A remote tier as the uapi header describes one: address, port, no offset. */
static void remote_tier(struct emp_tier *t, uint32_t kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->size = MB;
	t->port = 19675;
	snprintf(t->path, sizeof(t->path), "10.0.2.2");
}

TEST_F(ioc, create_remote_tier_kinds)
{
	static const struct { uint32_t kind; uint64_t feat; const char *what; } kinds[] = {
		{ EMP_TIER_TCP, EMP_FEAT_TIER_TCP, "TCP" },
		{ EMP_TIER_RDMA, EMP_FEAT_TIER_RDMA, "RDMA" },
	};
	struct create_req r;
	struct emp_info info;

	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	for (unsigned int i = 0; i < ARRAY_SIZE(kinds); i++) {
		char what[64];

		if (!(info.features & kinds[i].feat)) {
			/* A kind this module cannot serve: EOPNOTSUPP, first or second tier. */
			create_base(&r);
			remote_tier(&r.t[0], kinds[i].kind);
			snprintf(what, sizeof(what), "%s tier unsupported", kinds[i].what);
			expect_create_fails(_metadata, self->ctl, &r, EOPNOTSUPP, what);
			create_base(&r);
			r.c.nr_tiers = 2;
			remote_tier(&r.t[1], kinds[i].kind);
			snprintf(what, sizeof(what), "second tier %s unsupported", kinds[i].what);
			expect_create_fails(_metadata, self->ctl, &r, EOPNOTSUPP, what);
			continue;
		}
		/* A served kind: its own fields are checked. */
		create_base(&r);
		remote_tier(&r.t[0], kinds[i].kind);
		r.t[0].port = 0;
		snprintf(what, sizeof(what), "%s port 0", kinds[i].what);
		expect_create_fails(_metadata, self->ctl, &r, EINVAL, what);
		create_base(&r);
		remote_tier(&r.t[0], kinds[i].kind);
		memset(r.t[0].path, 0, sizeof(r.t[0].path));
		snprintf(r.t[0].path, sizeof(r.t[0].path), "[10.0.2.2]");
		snprintf(what, sizeof(what), "%s address in brackets", kinds[i].what);
		expect_create_fails(_metadata, self->ctl, &r, EINVAL, what);
		create_base(&r);
		remote_tier(&r.t[0], kinds[i].kind);
		memset(r.t[0].path, 0, sizeof(r.t[0].path));
		snprintf(r.t[0].path, sizeof(r.t[0].path), "%s", et_dev());
		snprintf(what, sizeof(what), "%s address a device path", kinds[i].what);
		expect_create_fails(_metadata, self->ctl, &r, EINVAL, what);
		create_base(&r);
		remote_tier(&r.t[0], kinds[i].kind);
		r.t[0].secret_len = 2;
		r.t[0].secret[2] = 's';
		snprintf(what, sizeof(what), "%s secret not zero-padded", kinds[i].what);
		expect_create_fails(_metadata, self->ctl, &r, EINVAL, what);
	}
}

TEST_F(ioc, create_duplicate_name_gets_eexist)
{
	struct create_req r;

	create_base(&r);
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	/* Same name, a disjoint range of the same device. */
	create_base(&r);
	r.t[0].offset = 64 * MB;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, &r.c));
	EXPECT_EQ(EEXIST, errno) TH_LOG("got %s", strerror(errno));
	EXPECT_EQ(1, emp_list(self->ctl, NULL, 0));
	/* Same request again. */
	create_base(&r);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, &r.c));
	EXPECT_EQ(EEXIST, errno) TH_LOG("got %s", strerror(errno));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
}

TEST_F(ioc, create_duplicate_name_on_another_device_gets_eexist)
{
	struct create_req r;
	struct et_nullb nb;
	const char *why = "";
	int err;

	err = et_nullb_up(&nb, "st_ioc_nb", 16, &why);
	ASSERT_EQ(0, err) TH_LOG("null_blk: %s: %s", why, strerror(-err));
	create_base(&r);
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	create_base(&r);
	memset(r.t[0].path, 0, sizeof(r.t[0].path));
	snprintf(r.t[0].path, sizeof(r.t[0].path), "%s", nb.dev);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, &r.c));
	EXPECT_EQ(EEXIST, errno) TH_LOG("got %s", strerror(errno));
	EXPECT_EQ(1, emp_list(self->ctl, NULL, 0));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
	/* The failed create let go of the null_blk device. */
	EXPECT_EQ(0, et_bdev_excl(nb.dev));
	et_nullb_down(&nb);
}

TEST_F(ioc, create_on_a_device_held_elsewhere_gets_ebusy)
{
	struct create_req r;
	int fd;

	fd = open(et_dev(), O_RDWR | O_EXCL | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", et_dev(), strerror(errno));
	create_base(&r);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_CREATE, &r.c));
	EXPECT_EQ(EBUSY, errno) TH_LOG("got %s", strerror(errno));
	EXPECT_EQ(0, emp_list(self->ctl, NULL, 0));
	close(fd);
	EXPECT_EQ(0, et_bdev_excl(et_dev()));
	/* And the other way round: an instance holds the device exclusively. */
	create_base(&r);
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c));
	errno = 0;
	EXPECT_EQ(-1, open(et_dev(), O_RDWR | O_EXCL | O_CLOEXEC));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
	EXPECT_EQ(0, et_bdev_excl(et_dev()));
}

/* ---- DESTROY, STAT, RESIZE: a name and reserved fields ------------------ */

/* Room behind every struct for larger claimed sizes. */
union any_arg {
	struct emp_target t;
	struct emp_stat s;
	struct emp_resize r;
	struct emp_list l;
	uint8_t raw[EMP_STRUCT_SIZE_MAX + 64];
};

struct named_cmd {
	const char *what;
	unsigned long cmd;
	uint32_t size, ver0;
	size_t name_off, flags_off;
	size_t reserved_off;
	unsigned int nr_reserved;
};

static const struct named_cmd named_cmds[] = {
	{ "DESTROY", EMP_IOC_DESTROY, sizeof(struct emp_target), EMP_TARGET_SIZE_VER0,
	  offsetof(struct emp_target, name), offsetof(struct emp_target, flags),
	  offsetof(struct emp_target, reserved), 2 },
	{ "STAT", EMP_IOC_STAT, sizeof(struct emp_stat), EMP_STAT_SIZE_VER0,
	  offsetof(struct emp_stat, name), offsetof(struct emp_stat, flags),
	  offsetof(struct emp_stat, reserved), ARRAY_SIZE(((struct emp_stat *)0)->reserved) },
	{ "RESIZE", EMP_IOC_RESIZE, sizeof(struct emp_resize), EMP_RESIZE_SIZE_VER0,
	  offsetof(struct emp_resize, name), offsetof(struct emp_resize, flags),
	  offsetof(struct emp_resize, reserved), 2 },
};

/* A valid argument for @k naming @name (RESIZE: budget 256K). */
static void named_base(union any_arg *a, const struct named_cmd *k, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->t.size = k->size;
	emp_set_name((char *)a->raw + k->name_off, name);
	if (k->cmd == EMP_IOC_RESIZE)
		a->r.dram_budget = 256 * KB;
}

static int named_ioctl(int ctl, const struct named_cmd *k, union any_arg *a)
{
	errno = 0;
	return ioctl(ctl, k->cmd, a) ? errno : 0;
}

TEST_F(ioc, destroy_stat_resize_bad_fields)
{
	static const uint64_t bad_budgets[] = {
		0, 4 * KB, 64 * KB, 124 * KB, 128 * KB + 1, 128 * KB + 512, UINT64_MAX,
	};
	struct et_geom g = { .size = MB, .block = 64 << 10, .sub = 4 << 10, .budget = 128 << 10 };
	union any_arg a;
	struct emp_stat st;
	int got;

	/* An instance to aim at: every bad request must leave it alone. */
	ASSERT_EQ(0, et_create(self->ctl, NAME, &g));
	for (unsigned int c = 0; c < ARRAY_SIZE(named_cmds); c++) {
		const struct named_cmd *k = &named_cmds[c];
		const uint32_t sizes[] = { 0, 4, k->ver0 - 1, EMP_STRUCT_SIZE_MAX + 1, UINT32_MAX };

		for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
			named_base(&a, k, NAME);
			a.t.size = sizes[i];
			got = named_ioctl(self->ctl, k, &a);
			EXPECT_EQ(EINVAL, got) TH_LOG("%s size %u: %s", k->what, sizes[i], strerror(got));
		}
		named_base(&a, k, NAME);
		a.t.size = k->size + 16;
		a.raw[k->size + 15] = 1;
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(E2BIG, got) TH_LOG("%s nonzero tail: %s", k->what, strerror(got));

		named_base(&a, k, NAME);
		a.raw[k->flags_off] = 1;
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(EINVAL, got) TH_LOG("%s flags: %s", k->what, strerror(got));
		for (unsigned int i = 0; i < k->nr_reserved; i++) {
			named_base(&a, k, NAME);
			a.raw[k->reserved_off + 8 * i + 7] = 0x80;
			got = named_ioctl(self->ctl, k, &a);
			EXPECT_EQ(EINVAL, got) TH_LOG("%s reserved[%u]: %s", k->what, i, strerror(got));
		}
		for (unsigned int i = 0; i < ARRAY_SIZE(name_cases); i++) {
			named_base(&a, k, NAME);
			memcpy(a.raw + k->name_off, name_cases[i].name, EMP_NAME_MAX);
			got = named_ioctl(self->ctl, k, &a);
			EXPECT_EQ(name_cases[i].err, got) TH_LOG("%s name %s: %s", k->what,
								 name_cases[i].what, strerror(got));
		}
		/* Valid names nobody has. */
		named_base(&a, k, "st_ioc_nobody");
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(ENOENT, got) TH_LOG("%s unknown name: %s", k->what, strerror(got));
		named_base(&a, k, "st_io");	/* a prefix of a real name */
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(ENOENT, got) TH_LOG("%s prefix name: %s", k->what, strerror(got));
		named_base(&a, k, "ST_IOC");	/* names are case-sensitive */
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(ENOENT, got) TH_LOG("%s upper-case name: %s", k->what, strerror(got));

		errno = 0;
		EXPECT_EQ(-1, ioctl(self->ctl, k->cmd, NULL));
		EXPECT_EQ(EFAULT, errno) TH_LOG("%s NULL", k->what);
		/* A wrong direction is an unknown command. */
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->ctl, _IOC(_IOC_DIR(k->cmd) ^ _IOC_READ, EMP_IOC_MAGIC,
						    _IOC_NR(k->cmd), _IOC_SIZE(k->cmd)), &a));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("%s wrong direction", k->what);
	}
	/* RESIZE's budget, on the real instance. */
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_budgets); i++) {
		EXPECT_EQ(-EINVAL, emp_resize(self->ctl, NAME, bad_budgets[i]))
			TH_LOG("budget %llu", (unsigned long long)bad_budgets[i]);
	}
	/* STAT with a larger struct and zero tail: accepted, tail untouched. */
	named_base(&a, &named_cmds[1], NAME);
	a.s.size = sizeof(a.s) + 64;
	EXPECT_EQ(0, named_ioctl(self->ctl, &named_cmds[1], &a));
	EXPECT_EQ(sizeof(a.s), a.s.size);
	for (unsigned int i = sizeof(a.s); i < sizeof(a.s) + 64; i++) {
		ASSERT_EQ(0, a.raw[i]);
	}
	/* Size bits of the command number are not looked at. */
	named_base(&a, &named_cmds[1], NAME);
	EXPECT_EQ(0, ioctl(self->ctl, _IOC(_IOC_READ | _IOC_WRITE, EMP_IOC_MAGIC,
					   _IOC_NR(EMP_IOC_STAT), 16), &a)) TH_LOG("%s", strerror(errno));

	/* Through all of that the instance stayed as it was. */
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(128 << 10, st.dram_budget);
	EXPECT_EQ(1, emp_list(self->ctl, NULL, 0));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
}

TEST_F(ioc, list_bad_fields)
{
	struct et_geom g = { .size = MB, .block = 64 << 10, .sub = 4 << 10, .budget = 128 << 10 };
	static const uint32_t list_sizes[] = {
		0, 4, EMP_LIST_SIZE_VER0 - 1, EMP_STRUCT_SIZE_MAX + 1,
	};
	char names[4][EMP_NAME_MAX];
	union any_arg a;
	void *ro;
	int got;

#define LIST_BASE() do { memset(&a, 0, sizeof(a)); a.l.size = sizeof(a.l); \
		a.l.nr = 4; a.l.names = (uintptr_t)names; } while (0)
#define LIST_CALL() (errno = 0, ioctl(self->ctl, EMP_IOC_LIST, &a) ? errno : 0)

	ASSERT_EQ(0, et_create(self->ctl, NAME, &g));
	LIST_BASE();
	ASSERT_EQ(0, LIST_CALL());
	EXPECT_EQ(1, a.l.nr);
	EXPECT_STREQ(NAME, names[0]);
	/* Count only. */
	LIST_BASE();
	a.l.nr = 0;
	a.l.names = 0;
	ASSERT_EQ(0, LIST_CALL());
	EXPECT_EQ(1, a.l.nr);
	/* Room for none but a pointer: the count, nothing copied. */
	LIST_BASE();
	a.l.nr = 0;
	memset(names, 0x55, sizeof(names));
	ASSERT_EQ(0, LIST_CALL());
	EXPECT_EQ(1, a.l.nr);
	EXPECT_EQ(0x55, (uint8_t)names[0][0]);

	for (unsigned int i = 0; i < ARRAY_SIZE(list_sizes); i++) {
		LIST_BASE();
		a.l.size = list_sizes[i];
		got = LIST_CALL();
		EXPECT_EQ(EINVAL, got) TH_LOG("size %u: %s", list_sizes[i], strerror(got));
	}
	LIST_BASE();
	a.l.size = sizeof(a.l) + 8;
	a.raw[sizeof(a.l) + 3] = 1;
	got = LIST_CALL();
	EXPECT_EQ(E2BIG, got) TH_LOG("%s", strerror(got));
	LIST_BASE();
	a.l.flags = 1;
	got = LIST_CALL();
	EXPECT_EQ(EINVAL, got) TH_LOG("flags: %s", strerror(got));
	LIST_BASE();
	a.l.reserved0 = 1;
	got = LIST_CALL();
	EXPECT_EQ(EINVAL, got) TH_LOG("reserved0: %s", strerror(got));
	for (int i = 0; i < 2; i++) {
		LIST_BASE();
		a.l.reserved[i] = 1ULL << 40;
		got = LIST_CALL();
		EXPECT_EQ(EINVAL, got) TH_LOG("reserved[%d]: %s", i, strerror(got));
	}
	/* Room claimed without a buffer. */
	LIST_BASE();
	a.l.names = 0;
	got = LIST_CALL();
	EXPECT_EQ(EINVAL, got) TH_LOG("nr 4, names 0: %s", strerror(got));
	/* Unwritable buffers. */
	LIST_BASE();
	a.l.names = KERNEL_PTR;
	got = LIST_CALL();
	EXPECT_EQ(EFAULT, got) TH_LOG("kernel names pointer: %s", strerror(got));
	ro = mmap(NULL, ET_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	LIST_BASE();
	a.l.names = (uintptr_t)ro;
	got = LIST_CALL();
	EXPECT_EQ(EFAULT, got) TH_LOG("read-only names: %s", strerror(got));
	munmap(ro, ET_PAGE);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_LIST, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
#undef LIST_BASE
#undef LIST_CALL
}

/* ---- random ioctls ------------------------------------------------------- */

static const unsigned long real_cmds[] = {
	EMP_IOC_INFO, EMP_IOC_CREATE, EMP_IOC_DESTROY, EMP_IOC_LIST, EMP_IOC_STAT,
	EMP_IOC_RESIZE,
};

/* Every errno the ABI documents for some input. */
static int documented_errno(int e)
{
	switch (e) {
	case 0: case EINVAL: case E2BIG: case EFAULT: case ENOTTY: case ENOENT:
	case EEXIST: case EBUSY: case ENOSPC: case EOPNOTSUPP: case ENOTBLK:
	case ENOMEM: case EIO:
		return 1;
	}
	return 0;
}

/* Offsets of user pointers in each struct: never flipped bit by bit. */
static int is_pointer_byte(unsigned long cmd, size_t off)
{
	size_t p;

	if (cmd == EMP_IOC_CREATE)
		p = offsetof(struct emp_create, tiers);
	else if (cmd == EMP_IOC_LIST)
		p = offsetof(struct emp_list, names);
	else
		return 0;
	return off >= p && off < p + 8;
}

static uint64_t rand_ptr(uint64_t *s)
{
	static const uint64_t bad[] = { 0, 1, 4095, KERNEL_PTR, 0xdead0000ULL,
					0x8000000000000000ULL, UINT64_MAX };

	return bad[et_rand(s) % ARRAY_SIZE(bad)];
}

TEST_F_TIMEOUT(ioc, random_ioctls_leave_nothing_behind, 180)
{
	static const char *const fz[] = { "st_fz0", "st_fz1", "st_fz2" };
	uint64_t seed = et_seed(), counts[4] = { 0 };
	union any_arg *a = malloc(sizeof(*a));
	char (*names)[EMP_NAME_MAX] = calloc(EMP_MAX_INSTANCES, EMP_NAME_MAX);
	struct create_req *r = malloc(sizeof(*r));
	struct emp_info info;
	int ok = 0, fails = 0;

	ASSERT_TRUE(a && names && r);
	TH_LOG("seed %#llx", (unsigned long long)seed);
	for (int it = 0; it < 10000 && fails < 10; it++) {
		uint64_t x = et_rand(&seed);
		unsigned long cmd = real_cmds[x % ARRAY_SIZE(real_cmds)];
		unsigned int kind = (x >> 8) % 100;
		void *arg = a;
		int rc, e;

		if (kind < 30) {
			/* Random bytes, a size that is sometimes plausible. */
			for (size_t i = 0; i < sizeof(a->raw); i += 8) {
				uint64_t v = et_rand(&seed);

				memcpy(a->raw + i, &v, 8);
			}
			switch ((x >> 16) % 4) {
			case 0: a->t.size = (uint32_t)et_rand(&seed); break;
			case 1: a->t.size = (uint32_t)(et_rand(&seed) % (EMP_STRUCT_SIZE_MAX + 8)); break;
			default: a->t.size = _IOC_SIZE(cmd); break;
			}
			if ((x >> 20) & 1)	/* a zero tail behind the known struct */
				memset(a->raw + _IOC_SIZE(cmd), 0, sizeof(a->raw) - _IOC_SIZE(cmd));
			if (cmd == EMP_IOC_CREATE)
				a->raw[offsetof(struct emp_create, tiers) + 7] |= 0x80;
			if (cmd == EMP_IOC_LIST)
				a->raw[offsetof(struct emp_list, names) + 7] |= 0x80;
			counts[0]++;
		} else if (kind < 70) {
			/* A valid request with a few bytes changed. */
			const char *nm = fz[(x >> 16) % ARRAY_SIZE(fz)];
			uint8_t *base;
			size_t len;

			memset(a, 0, sizeof(*a));
			if (cmd == EMP_IOC_CREATE) {
				create_base(r);
				emp_set_name(r->c.name, nm);
				r->t[0].offset = ((x >> 24) % 64) * 8 * MB;
				base = (uint8_t *)&r->c;
				len = sizeof(r->c) + sizeof(r->ctail);
				arg = &r->c;
			} else {
				a->t.size = _IOC_SIZE(cmd);
				if (cmd == EMP_IOC_INFO) {
					a->t.size = sizeof(struct emp_info);
				} else if (cmd == EMP_IOC_LIST) {
					a->l.nr = (x >> 24) % 8;
					a->l.names = (uintptr_t)names;
				} else {
					emp_set_name(a->t.name, nm);
					if (cmd == EMP_IOC_RESIZE)
						a->r.dram_budget = (1 + (x >> 24) % 64) * 64 * KB;
				}
				base = a->raw;
				len = a->t.size + 16;
			}
			for (int n = 1 + (int)((x >> 32) % 3); n > 0; n--) {
				size_t off = et_rand(&seed) % len;

				if (is_pointer_byte(cmd, off))
					continue;
				base[off] ^= (uint8_t)(1 + et_rand(&seed) % 255);
			}
			counts[1]++;
		} else if (kind < 74) {
			/* A valid create or destroy. */
			const char *nm = fz[(x >> 16) % ARRAY_SIZE(fz)];

			if ((x >> 20) & 1) {
				create_base(r);
				emp_set_name(r->c.name, nm);
				cmd = EMP_IOC_CREATE;
				arg = &r->c;
			} else {
				memset(a, 0, sizeof(*a));
				a->t.size = sizeof(a->t);
				emp_set_name(a->t.name, nm);
				cmd = EMP_IOC_DESTROY;
			}
			counts[2]++;
		} else {
			/* Garbage: unknown numbers, wrong directions, other magics. */
			static const unsigned int magics[] = { EMP_IOC_MAGIC, EMP_IOC_MAGIC,
							       0xED, 0xEF, 0xAB };

			cmd = _IOC((x >> 16) & 3, magics[(x >> 18) % ARRAY_SIZE(magics)],
				   (x >> 24) & 0xff, (x >> 32) & 0x3fff);
			if ((x >> 48) % 4 == 0)
				arg = (void *)(uintptr_t)rand_ptr(&seed);
			memset(a, 0, sizeof(*a));
			a->t.size = (uint32_t)(x >> 40) & 0xfff;
			counts[3]++;
		}
		if (kind < 70 && (x >> 56) % 16 == 0)
			arg = (void *)(uintptr_t)rand_ptr(&seed);
		errno = 0;
		rc = ioctl(self->ctl, cmd, arg);
		e = rc ? errno : 0;
		if (!documented_errno(e)) {
			fails++;
			TH_LOG("iteration %d: cmd %#lx gave %d (%s)", it, cmd, e, strerror(e));
		}
		ok += !e;
	}
	EXPECT_EQ(0, fails);
	TH_LOG("%d calls succeeded; random %llu, mutated %llu, valid %llu, garbage %llu", ok,
	       (unsigned long long)counts[0], (unsigned long long)counts[1],
	       (unsigned long long)counts[2], (unsigned long long)counts[3]);
	/* Whatever the loop made goes away, and then nothing is left. */
	EXPECT_EQ(0, et_destroy_all(self->ctl));
	EXPECT_EQ(0, emp_list(self->ctl, NULL, 0));
	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	EXPECT_EQ(0, info.nr_instances);
	EXPECT_EQ(0, et_bdev_excl(et_dev()));
	free(r);
	free(names);
	free(a);
}

TEST_HARNESS_MAIN
