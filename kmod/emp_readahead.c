// SPDX-License-Identifier: GPL-2.0
/*
 * Adaptive read-ahead. A fault that must read its subblock from a tier may
 * also start background reads of the subblocks after it, as many as recent
 * history justifies (as the kernel's swap readahead sizes its window from
 * swap-cache hits, and mm/readahead.c ramps on sequential hits):
 *
 * - a miss right where the last window ended continues a sequential
 *   stream: the window doubles (from 2), up to a block or 128 KiB,
 *   whichever is larger. A window that passes the end of the block goes
 *   on into the blocks after it (emp_read_ahead_next() in emp_fault.c),
 *   rounded up to whole blocks: a block read ahead is read whole, and
 *   only its first subblock is marked read-ahead, so that the first touch
 *   of the block faults once, is seen as a hit, and maps the rest of it
 *   (fault-around skips marked subblocks until then); a window that could
 *   not be read whole (no free budget, a block busy) ends where it
 *   stopped (emp_ra_cut()), so the miss there still continues the stream;
 * - otherwise the window is the number of read-ahead subblocks that were
 *   faulted on since the last miss, rounded up to a power of two; none
 *   (random access) gives no read-ahead at all: the fault reads only what
 *   it touches.
 *
 * Read-ahead subblocks carry the AHEAD bit until a fault finds them
 * (stat.prefetch_hits). Fault-around does not map them, so the first
 * touch of a window faults and is seen; that fault then maps the rest of
 * the block, so a sequential stream costs about one fault per window.
 *
 * The state is per instance: one stream per instance is tracked; several
 * interleaved streams fall back to the hit count.
 */
#include <linux/log2.h>

#include "emp.h"

/* Largest window, in bytes, when a block is smaller (mm's default too). */
#define EMP_RA_MAX_BYTES	(128U << 10)

/* Instance-wide number of subblock @sub of @blk. */
static unsigned long emp_sub_number(struct emp_instance *inst, struct emp_block *blk,
				    unsigned int sub)
{
	return blk->index * inst->sub_per_block + sub;
}

/**
 * emp_ra_window() - how many subblocks after a missing one to read ahead
 * @inst: the instance
 * @blk:  the block of the fault
 * @sub:  the subblock the fault must read
 *
 * Called once per fault that reads from a tier; updates the window.
 *
 * Context: Any; the state is updated without a lock (a race costs at
 * worst one window of the wrong size).
 * Return: subblocks to read ahead after @sub: in @blk, then whole blocks
 * after it.
 */
unsigned int emp_ra_window(struct emp_instance *inst, struct emp_block *blk,
			   unsigned int sub)
{
	unsigned long g = emp_sub_number(inst, blk, sub);
	unsigned long room = (inst->size >> inst->sub_shift) - 1 - g;
	unsigned int limit = max(inst->sub_per_block, EMP_RA_MAX_BYTES >> inst->sub_shift);
	unsigned int hits = atomic_xchg(&inst->ra_hits, 0);
	unsigned int win = READ_ONCE(inst->ra_win);

	if (g == READ_ONCE(inst->ra_next))
		win = win ? 2 * win : 2;
	else if (hits)
		win = roundup_pow_of_two(hits);
	else
		win = 0;
	win = min(win, limit);
	WRITE_ONCE(inst->ra_win, win);
	/* Past this block: whole blocks (see the top of this file). */
	if (sub + 1 + win > inst->sub_per_block)
		win = round_up(sub + 1 + win, inst->sub_per_block) - (sub + 1);
	win = min_t(unsigned long, win, room);
	WRITE_ONCE(inst->ra_next, g + 1 + win);
	return win;
}

/**
 * emp_ra_cut() - the window was read only up to a point
 * @inst: the instance
 * @blk:  the block of the fault
 * @sub:  the first subblock not read ahead, counted from the start of @blk
 *        (it may lie in a block after it)
 *
 * The miss there continues the stream (the window keeps growing), where
 * the end of the window it meant to read would have looked random.
 */
void emp_ra_cut(struct emp_instance *inst, struct emp_block *blk, unsigned long sub)
{
	WRITE_ONCE(inst->ra_next, blk->index * inst->sub_per_block + sub);
}

/**
 * emp_ra_hit() - a fault found its subblock resident: was it read ahead?
 * @inst: the instance
 * @blk:  the block; the caller holds blk->lock
 * @sub:  the subblock
 *
 * Return: true if @sub was read ahead and this is the first fault on it.
 */
bool emp_ra_hit(struct emp_instance *inst, struct emp_block *blk, unsigned int sub)
{
	if (!test_bit(sub, emp_blk_map(inst, blk, EMP_MAP_AHEAD)) ||
	    !test_and_clear_bit(sub, emp_blk_map(inst, blk, EMP_MAP_AHEAD)))
		return false;
	emp_count(inst, prefetch_hits);
	atomic_inc(&inst->ra_hits);
	return true;
}
