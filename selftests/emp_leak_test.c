// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest run last, before module_unload.sh: after the whole suite
 * no instance, device node, sysfs entry, module reference, DRAM page or
 * block-device claim is left. Needs emp.ko loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

/* Entries of @dir whose name starts with @prefix; the first into @first. */
static int count_entries(const char *dir, const char *prefix, char *first, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if (!n++ && first)
			et_strlcpy(first, e->d_name, len);
	}
	closedir(d);
	return n;
}

TEST(no_instance_is_left)
{
	char names[4][EMP_NAME_MAX], first[64] = "";
	struct emp_info info;
	int ctl, n;

	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	n = emp_list(ctl, names, 4);
	EXPECT_EQ(0, n) TH_LOG("left: %.32s ...", n > 0 ? names[0] : "");
	ASSERT_EQ(0, emp_get_info(ctl, &info));
	EXPECT_EQ(0, info.nr_instances);
	close(ctl);
	n = count_entries("/dev", EMP_INST_PREFIX, first, sizeof(first));
	EXPECT_EQ(0, n) TH_LOG("/dev/%s is left", first);
	n = count_entries("/sys/class/emp", "", first, sizeof(first));
	EXPECT_EQ(0, n) TH_LOG("/sys/class/emp/%s is left", first);
}

TEST(no_device_is_claimed)
{
	char first[64] = "";

	/* Exclusive opens fail with EBUSY while anybody still claims them. */
	EXPECT_EQ(0, et_bdev_excl(et_dev())) TH_LOG("%s", et_dev());
	/* No null_blk device is left configured by the I/O error tests. */
	EXPECT_EQ(0, count_entries(ET_NULLB_CFS, "st_", first, sizeof(first)))
		TH_LOG(ET_NULLB_CFS "/%s is left", first);
}

TEST(no_module_reference_is_left)
{
	char buf[32];

	/* Nothing of ours is open: the count is zero (rmmod would work). */
	ASSERT_EQ(0, et_read_file("/sys/module/emp/refcnt", buf, sizeof(buf)));
	EXPECT_STREQ("0", buf);
}

FIXTURE(dram) {
	int ctl;
};

FIXTURE_SETUP(dram)
{
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl);
}

FIXTURE_TEARDOWN(dram)
{
	et_destroy_quiet(self->ctl, "st_leak");
	close(self->ctl);
}

/* /proc/kpageflags bits (Documentation/admin-guide/mm/pagemap.rst). */
#define KPF_LRU		5
#define KPF_SLAB	7
#define KPF_BUDDY	10
#define KPF_ANON	12
#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define KPF_PGTABLE	26

static int read_u64_at(int fd, uint64_t index, uint64_t *v)
{
	return pread(fd, v, 8, (off_t)(index * 8)) == 8 ? 0 : -1;
}

/*
 * Exact: the PFN of every page of a fully resident instance, from
 * /proc/self/pagemap; after destroy each must be free (refcount 0), unless
 * something else visibly took it meanwhile (page cache, slab, anon, page
 * tables, compound pages).
 */
TEST_F_TIMEOUT(dram, destroy_frees_every_page, 60)
{
	const struct et_geom g = {
		.size = 16 * ET_MIB, .block = 64 << 10, .sub = 4 << 10, .budget = 16 * ET_MIB,
	};
	int pm, kc, kf, leaked = 0, reused = 0;
	uint64_t *pfn, v, flags, other;
	struct et_inst in;
	const char *why = "";
	size_t n;
	int err;

	err = et_inst_up(&in, self->ctl, "st_leak", &g, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	n = et_pages(&in);
	pfn = calloc(n, sizeof(*pfn));
	ASSERT_NE(NULL, pfn);
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kc = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(pm >= 0 && kc >= 0 && kf >= 0) TH_LOG("needs CONFIG_PROC_PAGE_MONITOR");
	for (size_t pg = 0; pg < n; pg++) {
		et_fill_page(in.map + pg * ET_PAGE, pg, 1);
		ASSERT_EQ(0, read_u64_at(pm, ((uintptr_t)in.map / ET_PAGE) + pg, &v));
		ASSERT_TRUE(v >> 63) TH_LOG("page %zu not present", pg);
		pfn[pg] = v & ((1ULL << 55) - 1);
		ASSERT_NE(0, pfn[pg]) TH_LOG("no PFN: not root?");
		ASSERT_EQ(0, read_u64_at(kc, pfn[pg], &v));
		ASSERT_LE(1, v);	/* the measurement sees a page in use */
	}
	ASSERT_EQ(0, et_inst_down(&in));
	for (size_t pg = 0; pg < n; pg++) {
		ASSERT_EQ(0, read_u64_at(kc, pfn[pg], &v));
		if (!v)
			continue;
		ASSERT_EQ(0, read_u64_at(kf, pfn[pg], &flags));
		other = 1ULL << KPF_LRU | 1ULL << KPF_SLAB | 1ULL << KPF_BUDDY | 1ULL << KPF_ANON |
			1ULL << KPF_COMPOUND_HEAD | 1ULL << KPF_COMPOUND_TAIL | 1ULL << KPF_PGTABLE;
		if (flags & other) {
			reused++;
			continue;
		}
		if (!leaked++)
			TH_LOG("page %zu (pfn %#llx): refcount %llu, flags %#llx after destroy", pg,
			       (unsigned long long)pfn[pg], (unsigned long long)v,
			       (unsigned long long)flags);
	}
	TH_LOG("%zu pages: %d still referenced, %d reused by others", n, leaked, reused);
	EXPECT_EQ(0, leaked);
	close(pm);
	close(kc);
	close(kf);
	free(pfn);
}

/*
 * By volume, through eviction: eight rounds of a 128 MiB instance with a
 * 32 MiB budget, one read per 2M block (zero fill, no I/O), 1 GiB of block
 * allocations in all in a 1 GiB guest. Freed pages linger in per-CPU lists
 * that MemAvailable does not count (tens of MiB on 6.12), so growth is
 * measured from a warm round; a leak would grow by up to 128 MiB a round.
 */
TEST_F_TIMEOUT(dram, create_evict_destroy_gives_the_dram_back, 120)
{
	const struct et_geom g = {
		.size = 128 * ET_MIB, .block = 2 << 20, .sub = 128 << 10, .budget = 32 * ET_MIB,
	};
	int64_t before, warm = 0, during = 0, after;
	struct emp_stat st;
	struct et_inst in;
	const char *why = "";
	int err;

	et_sh("sync; echo 3 > /proc/sys/vm/drop_caches");
	before = (int64_t)et_mem_available();
	ASSERT_LT(0, before);
	for (int round = 0; round < 8; round++) {
		err = et_inst_up(&in, self->ctl, "st_leak", &g, &why);
		ASSERT_EQ(0, err) TH_LOG("round %d: %s: %s", round, why, strerror(-err));
		for (size_t off = 0; off < in.len; off += g.block) {
			ASSERT_EQ(0, *(volatile uint8_t *)(in.map + off + ET_PAGE));
		}
		ASSERT_EQ(0, emp_stat(self->ctl, "st_leak", &st));
		EXPECT_EQ(32 * ET_MIB, st.resident);
		EXPECT_EQ(48, st.evictions);
		if (!round)
			during = (int64_t)et_mem_available();
		ASSERT_EQ(0, et_inst_down(&in)) TH_LOG("round %d", round);
		if (round == 1) {
			et_sh("sync; echo 3 > /proc/sys/vm/drop_caches");
			warm = (int64_t)et_mem_available();
		}
	}
	et_sh("sync; echo 3 > /proc/sys/vm/drop_caches");
	after = (int64_t)et_mem_available();
	TH_LOG("MemAvailable (KiB): %lld before, %lld with 32 MiB resident, %lld after 2 rounds, %lld after 8",
	       (long long)before >> 10, (long long)during >> 10, (long long)warm >> 10,
	       (long long)after >> 10);
	/* The measurement sees a resident instance ... */
	EXPECT_LE((int64_t)(16 * ET_MIB), before - during);
	/* ... and six more rounds (768 MiB of blocks) cost nothing lasting. */
	EXPECT_LE(warm - (int64_t)(48 * ET_MIB), after);
}

TEST_HARNESS_MAIN
