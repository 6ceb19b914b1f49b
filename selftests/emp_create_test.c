// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of CREATE's argument checking: every field of struct
 * emp_create and of its tiers given invalid values, each with the errno
 * uapi/linux/emp.h documents (table-driven), bad paths, names, struct
 * sizes and pointers, and the errors of names and devices in use.
 * emp_ioctl_test does the same for the other commands.
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
#include "lib/emp_ioctl_cases.h"

#define REGULAR_FILE	"/tmp/st_ioc_regular"

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
	{ "nr_tiers 0 without a size", { { C(nr_tiers), 0 } }, EINVAL },
	{ "nr_tiers 0, size above the budget",
	  { { C(nr_tiers), 0 }, { C(inst_size), 64 * MB } }, EINVAL },
	{ "nr_tiers 0, size not a block multiple",
	  { { C(nr_tiers), 0 }, { C(inst_size), 4 * KB } }, EINVAL },
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
	{ "tier kind 5", { { T0(kind), 5 } }, EINVAL },
	{ "node tier with a path", { { T0(kind), EMP_TIER_NODE } }, EINVAL },
	{ "tier kind 0x100", { { T0(kind), 0x100 } }, EINVAL },
	{ "tier kind UINT32_MAX", { { T0(kind), UINT32_MAX } }, EINVAL },
	{ "tier flags 1", { { T0(flags), 1 } }, EINVAL },
	{ "tier flags bit 31", { { T0(flags), 1U << 31 } }, EINVAL },
	{ "tier reserved0[0]", { { T0(reserved0[0]), 1 } }, EINVAL },
	{ "tier reserved0[1]", { { T0(reserved0[1]), 0x8000 } }, EINVAL },
	{ "node number on a block device tier", { { T0(node), 1 } }, EINVAL },
	{ "node number 0xffff on a block device tier", { { T0(node), 0xffff } }, EINVAL },
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

/*
 * No tier: a DRAM-only instance of its budget's size. Pages read back, it
 * never evicts, its budget cannot go below its size, and a cold age
 * demotes nothing (there is nowhere to demote to).
 */
TEST_F_TIMEOUT(ioc, create_dram_only, 60)
{
	struct emp_info info = { .size = sizeof(info) };
	const struct et_geom g = { .size = 2 * MB, .block = 64 * KB, .sub = 4 * KB,
				   .budget = 2 * MB };
	struct emp_resize rs = { .size = sizeof(rs) };
	struct create_req r;
	struct emp_stat st;
	size_t pages = g.size / ET_PAGE, bad = 0;
	uint8_t *map;
	int fd;

	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	ASSERT_TRUE(info.features & EMP_FEAT_DRAM_ONLY);
	create_base(&r);
	r.c.nr_tiers = 0;
	r.c.inst_size = g.size;
	r.c.block_size = g.block;
	r.c.subblock_size = g.sub;
	r.c.dram_budget = g.budget;
	ASSERT_EQ(0, ioctl(self->ctl, EMP_IOC_CREATE, &r.c)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, et_bdev_excl(et_dev())) TH_LOG("a DRAM-only instance claimed the disk");
	fd = et_open_node(NAME, O_RDWR);
	ASSERT_LE(0, fd);
	map = et_map(fd, g.size, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (size_t pg = 0; pg < pages; pg++)
		et_fill_page(map + pg * ET_PAGE, pg, 1);
	snprintf(rs.name, sizeof(rs.name), "%s", NAME);
	rs.dram_budget = MB;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_RESIZE, &rs));
	EXPECT_EQ(EINVAL, errno);
	rs.dram_budget = 4 * MB;
	EXPECT_EQ(0, ioctl(self->ctl, EMP_IOC_RESIZE, &rs)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, et_write_file("/sys/class/emp/" EMP_INST_PREFIX NAME "/cold_age_s", "1"));
	et_msleep(3500);
	for (size_t pg = 0; pg < pages; pg++)
		if (et_check_page(map + pg * ET_PAGE, pg, 1) >= 0)
			bad++;
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	TH_LOG("DRAM-only, %llu KiB: %llu faults, %llu evictions, %llu demoted, %zu bad pages",
	       (unsigned long long)(g.size >> 10), (unsigned long long)st.faults,
	       (unsigned long long)st.evictions, (unsigned long long)st.demoted, bad);
	EXPECT_EQ(0, st.nr_tiers);
	EXPECT_EQ(g.size, st.inst_size);
	EXPECT_EQ(0, st.evictions);
	EXPECT_EQ(0, st.demoted);
	EXPECT_EQ(0, st.fetches);
	EXPECT_EQ(0, bad);
	munmap(map, g.size);
	close(fd);
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

TEST_HARNESS_MAIN
