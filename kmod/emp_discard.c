// SPDX-License-Identifier: GPL-2.0
/*
 * Discard: a range of an instance becomes zeros and costs nothing.
 *
 * A block the range covers whole is dropped: unmapped, its dirty and
 * "stored" bits cleared, then evicted with nothing to write back, so its
 * DRAM is freed at once and its next fault zero-fills without I/O. A
 * block the range covers in part keeps its DRAM: the subblocks covered
 * whole are unmapped, zeroed in place (when present) and marked neither
 * dirty nor stored; a subblock covered in part is fetched if its data is
 * on a tier, the covered bytes are zeroed, and it is marked dirty. A
 * block that is not resident only loses its "stored" bits. Every block
 * is handled under its lock, as a fault would, so a fault on the same
 * block sees it either before or after, never half-way; a write through
 * an existing mapping racing with the discard may land before it (and be
 * zeroed) or after it (and be kept), as with any two racing stores.
 *
 * The tiers keep their stale data (no discard requests yet): nothing
 * reads it again, as the "stored" bits say it is not there.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "emp.h"

/* Does @inst hold data on its tiers for any subblock of [@first, @end) of @index? */
static bool emp_stored_any(struct emp_instance *inst, unsigned long index,
			   unsigned int first, unsigned int end)
{
	unsigned long bit = index * inst->sub_per_block;

	return find_next_bit(inst->stored, bit + end, bit + first) < bit + end;
}

/* Zero bytes [@from, @to) of subblock @sub's pages (offsets in the subblock). */
static void emp_zero_sub_bytes(struct emp_instance *inst, struct emp_block *blk,
			       unsigned int sub, unsigned int from, unsigned int to)
{
	struct page **pages = emp_block_pages(inst, blk) + sub * inst->sub_pages;
	unsigned int p;

	for (p = from >> PAGE_SHIFT; p < DIV_ROUND_UP(to, PAGE_SIZE); p++) {
		unsigned int s = max(from, p << PAGE_SHIFT) - (p << PAGE_SHIFT);
		unsigned int e = min(to, (p + 1) << PAGE_SHIFT) - (p << PAGE_SHIFT);

		zero_user_segment(pages[p], s, e);
	}
}

/*
 * Drop bytes [@from, @to) (offsets in the block) of resident or non-resident
 * @blk, locked by the caller, background reads done. Return: 0, -EAGAIN
 * (let go of the lock and retry: DRAM for a fetch is held by locked
 * blocks) or a fetch's error.
 */
static int emp_discard_part(struct emp_instance *inst, struct emp_block *blk,
			    unsigned int from, unsigned int to)
{
	unsigned long *present = emp_blk_map(inst, blk, EMP_MAP_PRESENT);
	unsigned long *dirty = emp_blk_map(inst, blk, EMP_MAP_DIRTY);
	u64 base = (u64)blk->index << inst->block_shift;
	unsigned int sub_size = 1U << inst->sub_shift, sub;
	int err;

	for (sub = from >> inst->sub_shift; sub < DIV_ROUND_UP(to, sub_size); sub++) {
		unsigned int s = max(from, sub * sub_size) - sub * sub_size;
		unsigned int e = min(to, (sub + 1) * sub_size) - sub * sub_size;
		bool resident = test_bit(EMP_BLK_RESIDENT, &blk->flags);

		if (s == 0 && e == sub_size) {
			/* Whole: no mapping may write to it behind the bits. */
			if (resident && test_bit(sub, present)) {
				emp_unmap_bytes(inst, base + (u64)sub * sub_size, sub_size);
				emp_zero_sub_bytes(inst, blk, sub, 0, sub_size);
			}
			clear_bit(sub, dirty);
			clear_bit(emp_stored_bit(inst, blk, sub), inst->stored);
			continue;
		}
		if (!resident || !test_bit(sub, present)) {
			if (!emp_sub_stored(inst, blk, sub))
				continue;	/* zeros already */
			if (!resident) {
				err = emp_block_populate(inst, blk, true);
				if (err)
					return err;
			}
			err = emp_fetch_sub(inst, blk, sub);
			if (err)
				return err;
		}
		emp_zero_sub_bytes(inst, blk, sub, s, e);
		set_bit(sub, dirty);
	}
	return 0;
}

/*
 * Drop block @index's bytes [@from, @to). Return: 0, -EINTR, -ENOMEM or a
 * fetch's error.
 */
static int emp_discard_block(struct emp_instance *inst, unsigned long index,
			     unsigned int from, unsigned int to)
{
	unsigned int first = from >> inst->sub_shift;
	unsigned int end = DIV_ROUND_UP(to, 1U << inst->sub_shift);
	bool whole = !from && to == 1U << inst->block_shift;
	struct emp_block *blk;
	int err;

again:
	blk = emp_block_get(inst, index, false);
	if (!blk) {
		/* Not resident: only its data on the tiers, if any, matters. */
		if (!emp_stored_any(inst, index, first, end))
			return 0;
		blk = emp_block_get(inst, index, true);
		if (!blk)
			return -ENOMEM;
	}
	if (mutex_lock_killable(&blk->lock)) {
		emp_block_put(inst, blk);
		return -EINTR;
	}
	if (test_bit(EMP_BLK_DEAD, &blk->flags)) {
		mutex_unlock(&blk->lock);
		emp_block_put(inst, blk);
		goto again;
	}
	wait_var_event(&blk->inflight, !atomic_read(&blk->inflight));
	if (whole && test_bit(EMP_BLK_RESIDENT, &blk->flags) && emp_lru_take(inst, blk)) {
		emp_unmap_bytes(inst, (u64)index << inst->block_shift, 1ULL << inst->block_shift);
		bitmap_zero(emp_blk_map(inst, blk, EMP_MAP_DIRTY), inst->sub_per_block);
		bitmap_clear(inst->stored, index * inst->sub_per_block, inst->sub_per_block);
		/* Nothing dirty: freed without a write; unlocks and puts it. */
		err = emp_evict_blocks(inst, &blk, 1, false);
		emp_forget_evicted(inst, index);
		return err;
	}
	err = emp_discard_part(inst, blk, from, to);
	if (!test_bit(EMP_BLK_RESIDENT, &blk->flags))
		emp_block_retire(inst, blk);
	mutex_unlock(&blk->lock);
	emp_block_put(inst, blk);
	if (err == -EAGAIN) {
		schedule_timeout_uninterruptible(1);
		goto again;
	}
	return err;
}

/**
 * emp_discard() - make a range of an instance zeros, freeing what it held
 * @inst:  the instance, held open by the caller
 * @start: first byte
 * @len:   bytes; the range lies within the instance
 *
 * Context: Process context, sleeps.
 * Return: 0, -EINTR on a fatal signal, -ENOMEM, or -EIO when a partly
 * covered subblock could not be fetched (what came before it is done).
 */
int emp_discard(struct emp_instance *inst, u64 start, u64 len)
{
	u64 end = start + len, bsize = 1ULL << inst->block_shift, pos;
	int err = 0;

	for (pos = start; pos < end && !err; pos = round_down(pos, bsize) + bsize) {
		unsigned int from = pos & (bsize - 1);
		unsigned int to = min(end - round_down(pos, bsize), bsize);

		err = emp_discard_block(inst, pos >> inst->block_shift, from, to);
		if (!err)
			this_cpu_add(inst->stats->discarded, to - from);
		if (fatal_signal_pending(current))
			err = -EINTR;
		cond_resched();
	}
	return err;
}
