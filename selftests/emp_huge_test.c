// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of whole-block mappings: an instance of 2 MiB blocks on
 * the block device, mapped with one PMD entry per resident block when
 * emp.ko's huge_map is on, page by page when it is off; data survive
 * eviction either way, and a write through a whole-block mapping dirties
 * the whole block. Needs emp.ko loaded and /dev/nvme0n1 (EMP_TEST_DEV) free.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

/* Assert page @pg of mapping @map holds version @ver. */
static void check_page(struct __test_metadata *_metadata, const uint8_t *map,
		       uint64_t pg, uint32_t ver, const char *when)
{
	int bad = et_check_page(map + pg * ET_PAGE, pg, ver);

	ASSERT_EQ(-1, bad) TH_LOG("%s: page %lu word %d wrong", when, (unsigned long)pg, bad);
}

#define HUGE_MAP_PARAM	"/sys/module/emp/parameters/huge_map"
#define HUGE_NAME	"st_huge"
#define HUGE_BLOCK	(2 * ET_MIB)
#define HUGE_BLOCKS	8		/* four times the budget */
#define HUGE_PAGES	(HUGE_BLOCK / ET_PAGE)

FIXTURE(huge) {
	int ctl;
	struct et_inst in;
	char was[8];
};

FIXTURE_VARIANT(huge) {
	const char *param;	/* huge_map when the instance is made */
};

FIXTURE_VARIANT_ADD(huge, on) { "Y" };
FIXTURE_VARIANT_ADD(huge, off) { "N" };

FIXTURE_SETUP(huge)
{
	/* 16 MiB of 2 MiB blocks in 64 KiB subblocks, budget two blocks. */
	struct et_geom g = {
		.size = HUGE_BLOCKS * HUGE_BLOCK, .block = HUGE_BLOCK, .sub = 64 << 10,
		.budget = 2 * HUGE_BLOCK,
	};
	struct emp_info info = { .size = sizeof(info) };
	const char *why = "";
	int err;

	self->in.map = MAP_FAILED;
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	ASSERT_TRUE(info.features & EMP_FEAT_HUGE_MAP);
	ASSERT_EQ(0, et_read_file(HUGE_MAP_PARAM, self->was, sizeof(self->was)));
	ASSERT_EQ(0, et_write_file(HUGE_MAP_PARAM, variant->param));
	err = et_inst_up(&self->in, self->ctl, HUGE_NAME, &g, &why);
	EXPECT_EQ(0, et_write_file(HUGE_MAP_PARAM, self->was[0] ? self->was : "Y"));
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
}

FIXTURE_TEARDOWN(huge)
{
	EXPECT_EQ(0, et_inst_down(&self->in));
	close(self->ctl);
}

/* Write (or, with @check, check) every page of blocks [@first, @end) at @ver. */
static void huge_pass(struct __test_metadata *_metadata, FIXTURE_DATA(huge) *self,
		      size_t first, size_t end, uint32_t ver, bool check)
{
	for (size_t pg = first * HUGE_PAGES; pg < end * HUGE_PAGES; pg++) {
		if (check)
			check_page(_metadata, self->in.map, pg, ver, "huge block");
		else
			et_fill_page(self->in.map + pg * ET_PAGE, pg, ver);
	}
}

/*
 * With huge_map on, a fault hands the core a whole resident block, which
 * it maps with one PMD entry (smaps: FilePmdMapped): one fault per block
 * and pass. A write through a read-only PMD makes the whole block dirty
 * (the PMD is writable for all of it), so its eviction writes back every
 * subblock; data survive every eviction. With huge_map off the same
 * instance is mapped page by page.
 */
TEST_F_TIMEOUT(huge, whole_blocks_are_pmd_mapped_and_survive_eviction, 120)
{
	bool on = variant->param[0] == 'Y';
	struct emp_stat s0, s1, s2;
	long pmd_kib;

	ASSERT_EQ(0, emp_stat(self->ctl, HUGE_NAME, &s0));
	EXPECT_EQ(0, (uintptr_t)self->in.map % HUGE_BLOCK)
		TH_LOG("mmap(NULL) of the instance is not 2 MiB aligned: %p", self->in.map);
	huge_pass(_metadata, self, 0, HUGE_BLOCKS, 91, false);
	pmd_kib = et_smaps_kib(self->in.map, "FilePmdMapped");
	huge_pass(_metadata, self, 0, HUGE_BLOCKS, 91, true);
	ASSERT_EQ(0, emp_stat(self->ctl, HUGE_NAME, &s1));
	TH_LOG("huge_map %s: write+check of %d blocks: %llu faults, %llu whole-block, "
	       "%llu evictions, %llu writebacks; FilePmdMapped after the writes %ld kB",
	       variant->param, HUGE_BLOCKS, (unsigned long long)(s1.faults - s0.faults),
	       (unsigned long long)(s1.huge_faults - s0.huge_faults),
	       (unsigned long long)(s1.evictions - s0.evictions),
	       (unsigned long long)(s1.writebacks - s0.writebacks), pmd_kib);
	EXPECT_LT(0, s1.evictions - s0.evictions);
	EXPECT_EQ(0, s1.io_errors);
	EXPECT_EQ(0, s1.sigbus);
	if (on) {
		EXPECT_EQ(2 * HUGE_BLOCK / ET_KIB, pmd_kib)
			TH_LOG("the two resident blocks are not PMD-mapped");
		EXPECT_LE(s1.faults - s0.faults, 2 * 2 * HUGE_BLOCKS);
		EXPECT_EQ(s1.faults - s0.faults, s1.huge_faults - s0.huge_faults);
	} else {
		EXPECT_EQ(0, pmd_kib);
		EXPECT_EQ(0, s1.huge_faults - s0.huge_faults);
	}

	/*
	 * Block 0 is read in (read-only PMD), one page of it written, then
	 * pushed out by reading blocks 2..5: its eviction writes back the
	 * whole block with huge_map, one subblock without.
	 */
	huge_pass(_metadata, self, 0, 1, 91, true);
	et_fill_page(self->in.map + 5 * ET_PAGE, 5, 92);
	ASSERT_EQ(0, emp_stat(self->ctl, HUGE_NAME, &s1));
	huge_pass(_metadata, self, 2, 6, 91, true);
	ASSERT_EQ(0, emp_stat(self->ctl, HUGE_NAME, &s2));
	TH_LOG("one page written in a block read before: %llu subblocks written back",
	       (unsigned long long)(s2.writebacks - s1.writebacks));
	EXPECT_EQ(on ? HUGE_BLOCK / (64 << 10) : 1, s2.writebacks - s1.writebacks);
	for (size_t pg = 0; pg < HUGE_PAGES; pg++)
		check_page(_metadata, self->in.map, pg, pg == 5 ? 92 : 91, "after the write");
	ASSERT_EQ(0, emp_stat(self->ctl, HUGE_NAME, &s2));
	EXPECT_LE(s2.resident, s2.dram_budget);
	EXPECT_EQ(0, s2.io_errors);
}

TEST_HARNESS_MAIN
