// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of tier I/O errors, on a memory-backed null_blk device
 * whose sectors are made bad through configfs: a failed read answers the
 * faulting access with SIGBUS, a failed writeback keeps the block in DRAM
 * (nothing is lost), every error is counted, and the kernel and the
 * instance stay usable. Needs emp.ko loaded, null_blk and configfs.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define NAME	"st_ioerr"
#define NB	"st_ioerr_nb"
#define BLK	(64UL << 10)
#define SECTORS	(4 * ET_MIB / 512)	/* the tier, in 512-byte sectors */

FIXTURE(ioerr) {
	int ctl;
	struct et_nullb nb;
	struct et_inst in;
};

FIXTURE_SETUP(ioerr)
{
	/* 4 MiB on a 16 MiB null_blk, 64K blocks, budget 4 blocks. */
	struct et_geom g = {
		.size = 4 * ET_MIB, .block = BLK, .sub = 4 << 10, .budget = 4 * BLK,
	};
	const char *why = "";
	int err;

	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	et_destroy_quiet(self->ctl, NAME);
	err = et_nullb_up(&self->nb, NB, 16, &why);
	ASSERT_EQ(0, err) TH_LOG("null_blk: %s: %s", why, strerror(-err));
	g.path = self->nb.dev;
	err = et_inst_up(&self->in, self->ctl, NAME, &g, &why);
	ASSERT_EQ(0, err) TH_LOG("%s on %s: %s", why, self->nb.dev, strerror(-err));
	et_catch_signals();
}

FIXTURE_TEARDOWN(ioerr)
{
	et_nullb_badblocks(&self->nb, 0, SECTORS - 1, 0);
	/* Errors or not, the instance goes away and lets go of the device. */
	EXPECT_EQ(0, et_inst_down(&self->in));
	if (self->nb.dev[0]) {
		EXPECT_EQ(0, et_bdev_excl(self->nb.dev));
	}
	et_nullb_down(&self->nb);
	close(self->ctl);
}

static uint8_t *page_at(struct et_inst *in, size_t blk, size_t pg_in_blk)
{
	return in->map + blk * BLK + pg_in_blk * ET_PAGE;
}

static size_t pg_index(size_t blk, size_t pg_in_blk)
{
	return blk * (BLK / ET_PAGE) + pg_in_blk;
}

TEST_F(ioerr, failed_read_gets_sigbus_and_is_counted)
{
	struct et_inst *in = &self->in;
	struct emp_stat st;
	uint64_t v;
	int bad, sig;

	/* Blocks 0..47 written; they go to the (healthy) device. */
	for (size_t pg = 0; pg < pg_index(48, 0); pg++)
		et_fill_page(in->map + pg * ET_PAGE, pg, 1);
	/* Read blocks 0..3 back: the cache now holds only clean blocks. */
	for (size_t b = 0; b < 4; b++) {
		for (size_t p = 0; p < BLK / ET_PAGE; p++) {
			ASSERT_EQ(-1, et_check_page(page_at(in, b, p), pg_index(b, p), 1));
		}
	}
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	ASSERT_EQ(0, st.io_errors);
	ASSERT_EQ(0, st.state);

	ASSERT_EQ(0, et_nullb_badblocks(&self->nb, 0, SECTORS - 1, 1));
	/* A stored, evicted block cannot be read: SIGBUS, counted. */
	sig = et_try_read((uint64_t *)page_at(in, 40, 3), &v);
	EXPECT_EQ(SIGBUS, sig);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LE(1, st.io_errors);
	EXPECT_LE(1, st.sigbus);
	EXPECT_TRUE(st.state & EMP_STATE_IO_ERROR);
	EXPECT_LE(1, st.tier[0].errors);
	EXPECT_LE(st.resident, st.dram_budget);
	/* Again: still an error, not stale or zero data. */
	EXPECT_EQ(SIGBUS, et_try_read((uint64_t *)page_at(in, 41, 0), &v));
	/* Never-written memory needs no I/O and still works. */
	EXPECT_EQ(0, et_try_read((uint64_t *)page_at(in, 60, 5), &v));
	EXPECT_EQ(0, v);
	/* Resident blocks are unaffected. */
	sig = et_try_check(page_at(in, 3, 15), pg_index(3, 15), 1, &bad);
	EXPECT_EQ(0, sig);
	EXPECT_EQ(-1, bad);

	/* Once the device heals, the data is all there. */
	ASSERT_EQ(0, et_nullb_badblocks(&self->nb, 0, SECTORS - 1, 0));
	for (size_t pg = 0; pg < pg_index(48, 0); pg++) {
		sig = et_try_check(in->map + pg * ET_PAGE, pg, 1, &bad);
		ASSERT_EQ(0, sig) TH_LOG("page %zu: signal %d after the device healed", pg, sig);
		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d", pg, bad);
	}
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LE(st.resident, st.dram_budget);
}

TEST_F(ioerr, failed_writeback_keeps_the_data)
{
	struct et_inst *in = &self->in;
	struct emp_stat st;
	uint64_t v, sigbus0;
	int bad, sig, err;

	/* Four dirty blocks, exactly the budget: nothing written back yet. */
	for (size_t pg = 0; pg < pg_index(4, 0); pg++)
		et_fill_page(in->map + pg * ET_PAGE, pg, 2);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	ASSERT_EQ(0, st.evictions);
	ASSERT_EQ(4 * BLK, st.resident);

	ASSERT_EQ(0, et_nullb_badblocks(&self->nb, 0, SECTORS - 1, 1));
	/* Room is needed, but no dirty block can be written: SIGBUS, not data loss. */
	sig = et_try_read((uint64_t *)page_at(in, 10, 0), &v);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	sigbus0 = st.sigbus;
	EXPECT_EQ(SIGBUS, sig);
	EXPECT_LE(1, st.io_errors);
	EXPECT_LE(1, st.tier[0].errors);
	EXPECT_EQ(0, st.tier[0].writes);
	EXPECT_EQ(0, st.writebacks);
	EXPECT_TRUE(st.state & EMP_STATE_IO_ERROR);
	EXPECT_LE(st.resident, st.dram_budget);
	EXPECT_EQ(0, st.evictions);
	EXPECT_LE(1, sigbus0);

	/* Shrinking cannot write back either: EIO, the budget changes anyway. */
	err = emp_resize(self->ctl, NAME, 2 * BLK);
	EXPECT_EQ(-EIO, err);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(2 * BLK, st.dram_budget);
	EXPECT_EQ(4 * BLK, st.resident);

	/* The data stayed in DRAM: all readable, all right. */
	for (size_t pg = 0; pg < pg_index(4, 0); pg++) {
		sig = et_try_check(in->map + pg * ET_PAGE, pg, 2, &bad);
		ASSERT_EQ(0, sig) TH_LOG("page %zu: signal %d", pg, sig);
		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d", pg, bad);
	}

	/* The device heals: eviction works again and the data reaches it. */
	ASSERT_EQ(0, et_nullb_badblocks(&self->nb, 0, SECTORS - 1, 0));
	ASSERT_EQ(0, emp_resize(self->ctl, NAME, 2 * BLK));
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LE(st.resident, 2 * BLK);
	for (size_t b = 10; b < 20; b++) {
		EXPECT_EQ(0, et_try_read((uint64_t *)page_at(in, b, 0), &v)) TH_LOG("block %zu", b);
		EXPECT_EQ(0, v);
	}
	for (size_t pg = 0; pg < pg_index(4, 0); pg++) {
		sig = et_try_check(in->map + pg * ET_PAGE, pg, 2, &bad);
		ASSERT_EQ(0, sig) TH_LOG("page %zu: signal %d after healing", pg, sig);
		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d after healing", pg, bad);
	}
	/*
	 * The shrink to two blocks wrote two of the four back at least, and
	 * they were read back. (Which of them the reads of blocks 10..19
	 * pushed out too is the replacement policy's choice: one that
	 * page_at() checks keep in use may stay.)
	 */
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LE(2 * (BLK / (4 << 10)), st.writebacks);
	EXPECT_LE(2 * (BLK / (4 << 10)), st.fetches);
	EXPECT_LE(st.resident, st.dram_budget);
}

TEST_F(ioerr, errors_under_load_leave_the_kernel_healthy)
{
	struct et_inst *in = &self->in;
	size_t n = et_pages(in);
	unsigned int sigs = 0;
	struct emp_stat st;
	uint64_t seed = et_seed(), v;

	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(in->map + pg * ET_PAGE, pg, 3);
	/* Half the tier bad: random reads and writes, some fail. */
	ASSERT_EQ(0, et_nullb_badblocks(&self->nb, 0, SECTORS / 2 - 1, 1));
	for (int i = 0; i < 2000; i++) {
		size_t pg = et_rand(&seed) % n, word = et_rand(&seed) % ET_WORDS;
		uint64_t *w = (uint64_t *)(in->map + pg * ET_PAGE) + word;

		if (i & 1)
			sigs += !!et_try_read(w, &v);
		else	/* the same content again: only the dirty state changes */
			sigs += !!et_try_write(w, et_word(pg, 3, (uint32_t)word));
	}
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LT(0, sigs);
	EXPECT_LE(sigs, st.sigbus);
	EXPECT_LT(0, st.io_errors);
	EXPECT_LE(st.resident, st.dram_budget);
	TH_LOG("%u SIGBUS of 2000 accesses, %llu I/O errors", sigs,
	       (unsigned long long)st.io_errors);
	/* Healed: every page intact. */
	ASSERT_EQ(0, et_nullb_badblocks(&self->nb, 0, SECTORS / 2 - 1, 0));
	for (size_t pg = 0; pg < n; pg++) {
		int bad, sig = et_try_check(in->map + pg * ET_PAGE, pg, 3, &bad);

		ASSERT_EQ(0, sig) TH_LOG("page %zu: signal %d", pg, sig);
		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d", pg, bad);
	}
}

TEST_HARNESS_MAIN
