// SPDX-License-Identifier: GPL-2.0
/*
 * Replacement and reclaim ahead.
 *
 * Replacement: two lists of resident blocks, as the kernel keeps for its
 * own pages. A block made resident goes to the young end of the inactive
 * list. The module sees only faults, not the accesses that go through a
 * mapping, so it learns about those the way NUMA balancing does: when a
 * block first reaches the old end of the inactive list, it is unmapped
 * ("deactivated") and sent round once more; an access to it then faults
 * (cheaply: the block is resident) and marks it referenced. At the old end
 * again, a referenced block moves to the active list, any other is
 * evicted. The inactive list is kept at an eighth of the resident blocks
 * or more by moving the oldest active blocks back, deactivated, to it. A
 * stream of blocks touched once passes through the inactive list and
 * leaves; a hot set touched through its mappings stays active.
 *
 * Reclaim ahead: when the free part of the budget (budget minus the pages
 * charged to resident blocks) falls below the low watermark, a fault
 * kicks the instance's reclaimer, which evicts blocks in batches, their
 * writebacks submitted together (under a block plug) and waited for
 * together, until the free part is back above the high watermark. A fault
 * that finds no free DRAM waits for the reclaimer if it is at work, or
 * evicts a block itself; either counts as a direct reclaim. Blocks being
 * written back stay charged until their pages are freed, so the budget is
 * never exceeded, not even by writebacks in flight.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>

#include "emp.h"

/* Most blocks one reclaim round evicts together. */
#define EMP_RECLAIM_BATCH	EMP_MAX_EVICT_BATCH
/* Most blocks one scan deactivates (unmaps) on its way. */
#define EMP_DEACT_BATCH		64

static bool reclaim_ahead = true;
module_param(reclaim_ahead, bool, 0644);
MODULE_PARM_DESC(reclaim_ahead,
		 "keep a reserve of free DRAM in each instance's budget with a background "
		 "reclaimer that evicts in batches (default Y)");

/*
 * Learning about accesses through mappings costs an unmap (with its TLB
 * flush) per block and pass, and a fault per block touched again: under
 * TCG make bench measured that as more than it saved on uniform and Zipf
 * access (docs/bench.md). Off, replacement is a clock over the inactive
 * list that sees faults only (a block referenced since the last pass is
 * passed once more), as before.
 */
static bool access_aware = true;
module_param(access_aware, bool, 0644);
MODULE_PARM_DESC(access_aware,
		 "replacement learns of accesses through existing mappings by unmapping "
		 "blocks once per pass (scan resistant; costs an unmap and a fault) (default Y)");

struct workqueue_struct *emp_reclaim_wq;

/* Blocks of free budget the reclaimer restores (high watermark); 0: none. */
static unsigned long emp_wmark_high(struct emp_instance *inst)
{
	unsigned long blocks = READ_ONCE(inst->budget_pages) / inst->block_pages;

	if (!READ_ONCE(reclaim_ahead) || blocks < 8)
		return 0;
	return clamp(blocks / 8, 2UL, 8UL * EMP_RECLAIM_BATCH);
}

/* Free budget, in blocks. */
static long emp_free_blocks(struct emp_instance *inst)
{
	long free = (long)READ_ONCE(inst->budget_pages) -
		    atomic_long_read(&inst->resident_pages);

	return free > 0 ? free / inst->block_pages : 0;
}

/**
 * emp_lru_add() - put a resident block at the young end of the inactive list
 * @inst: the instance
 * @blk:  a block just made resident (or kept after a failed eviction)
 *
 * Context: Any context but hard IRQ; takes lru_lock.
 */
void emp_lru_add(struct emp_instance *inst, struct emp_block *blk)
{
	spin_lock(&inst->lru_lock);
	clear_bit(EMP_BLK_ACTIVE, &blk->flags);
	list_add_tail(&blk->lru, &inst->inactive);
	inst->nr_inactive++;
	spin_unlock(&inst->lru_lock);
}

/**
 * emp_block_touch() - a fault found @blk resident: note the access
 * @inst: the instance
 * @blk:  the block; the caller holds blk->lock
 *
 * A block the policy had unmapped is reactivated: the fault is the sign
 * of use the policy was waiting for.
 */
void emp_block_touch(struct emp_instance *inst, struct emp_block *blk)
{
	if (!test_bit(EMP_BLK_REFERENCED, &blk->flags))
		set_bit(EMP_BLK_REFERENCED, &blk->flags);
	if (test_bit(EMP_BLK_DEACTIVATED, &blk->flags) &&
	    test_and_clear_bit(EMP_BLK_DEACTIVATED, &blk->flags))
		emp_count(inst, reactivated);
}

/*
 * Unmap the blocks in @deact so that their next access faults and shows
 * they are in use. A block whose lock is taken is left alone: a fault or
 * an eviction is at it. The caller took a reference on each; dropped here.
 */
static void emp_deactivate(struct emp_instance *inst, struct emp_block **deact,
			   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct emp_block *blk = deact[i];

		if (!mutex_trylock(&blk->lock)) {
			emp_block_put(inst, blk);
			continue;
		}
		if (test_bit(EMP_BLK_RESIDENT, &blk->flags) &&
		    !test_bit(EMP_BLK_DEACTIVATED, &blk->flags)) {
			set_bit(EMP_BLK_DEACTIVATED, &blk->flags);
			if (inst->mapping)
				unmap_mapping_range(inst->mapping,
						    (loff_t)blk->index << inst->block_shift,
						    1ULL << inst->block_shift, 0);
			emp_count(inst, deactivated);
		}
		mutex_unlock(&blk->lock);
		emp_block_put(inst, blk);
	}
}

/*
 * The inactive list is short: under an eighth of the resident blocks. A
 * longer one would give its blocks longer to be touched again after
 * being unmapped, so under uniform access most would come back to the
 * active list and push others out, each move an unmap and a fault (make
 * bench measured 5 unmaps per fault with half and half); a stream still
 * passes through an eighth without reaching the active list.
 */
static bool emp_inactive_low(struct emp_instance *inst)
{
	lockdep_assert_held(&inst->lru_lock);
	return inst->nr_inactive * 8 < inst->nr_active + inst->nr_inactive ||
	       list_empty(&inst->inactive);
}

/* Move the oldest active block to the young end of the inactive list. */
static struct emp_block *emp_demote_one(struct emp_instance *inst)
{
	struct emp_block *blk;

	lockdep_assert_held(&inst->lru_lock);
	if (list_empty(&inst->active))
		return NULL;
	blk = list_first_entry(&inst->active, struct emp_block, lru);
	list_move_tail(&blk->lru, &inst->inactive);
	inst->nr_active--;
	inst->nr_inactive++;
	clear_bit(EMP_BLK_ACTIVE, &blk->flags);
	clear_bit(EMP_BLK_REFERENCED, &blk->flags);
	set_bit(EMP_BLK_SEEN, &blk->flags);
	return blk;
}

/**
 * emp_pick_victims() - take blocks to evict off the inactive list
 * @inst:    the instance
 * @self:    a block never to choose (the faulting one), or NULL
 * @victims: gets up to @max blocks, each locked (blk->lock), referenced and
 *           off the lists
 * @max:     how many
 *
 * Scans from the old end of the inactive list: a block seen for the first
 * time is deactivated and goes round again; a referenced one moves to the
 * active list; an unreferenced one whose lock is free is a victim. Keeps
 * the inactive list at an eighth of the resident blocks or more.
 *
 * Context: Process context; sleeps (deactivation unmaps).
 * Return: the number of victims.
 */
unsigned int emp_pick_victims(struct emp_instance *inst, struct emp_block *self,
			      struct emp_block **victims, unsigned int max)
{
	struct emp_block *deact[EMP_DEACT_BATCH], *blk;
	bool aware = READ_ONCE(access_aware);
	unsigned int n = 0, nd = 0;
	long scan;

	spin_lock(&inst->lru_lock);
	scan = 2 * (inst->nr_active + inst->nr_inactive) + 2;
	while (n < max && scan-- > 0) {
		if (!aware && inst->nr_active) {
			/* Switched off: the active list drains, nothing unmapped. */
			emp_demote_one(inst);
			continue;
		}
		if (emp_inactive_low(inst)) {
			/* A demoted block is unmapped too: same batch, same rule. */
			if (nd == EMP_DEACT_BATCH)
				break;
			blk = emp_demote_one(inst);
			if (blk && emp_block_tryget(blk))
				deact[nd++] = blk;
			if (list_empty(&inst->inactive))
				break;
		}
		blk = list_first_entry(&inst->inactive, struct emp_block, lru);
		if (blk == self) {
			list_move_tail(&blk->lru, &inst->inactive);
			continue;
		}
		if (!aware) {
			/* The plain clock: referenced blocks go round once more. */
			if (test_and_clear_bit(EMP_BLK_REFERENCED, &blk->flags) ||
			    !mutex_trylock(&blk->lock)) {
				list_move_tail(&blk->lru, &inst->inactive);
				continue;
			}
			goto take;
		}
		if (!test_bit(EMP_BLK_SEEN, &blk->flags) && nd < EMP_DEACT_BATCH) {
			/*
			 * First time at the end: learn whether it is still
			 * used. With the batch full (a list of nothing but
			 * newcomers, as after a cold start) the oldest go
			 * unobserved, in order, so that eviction goes on
			 * while those unmapped get time to show their use.
			 */
			if (!emp_block_tryget(blk))
				break;
			set_bit(EMP_BLK_SEEN, &blk->flags);
			clear_bit(EMP_BLK_REFERENCED, &blk->flags);
			list_move_tail(&blk->lru, &inst->inactive);
			deact[nd++] = blk;
			continue;
		}
		if (!test_bit(EMP_BLK_SEEN, &blk->flags)) {
			if (!mutex_trylock(&blk->lock)) {
				list_move_tail(&blk->lru, &inst->inactive);
				continue;
			}
			goto take;
		}
		if (test_and_clear_bit(EMP_BLK_REFERENCED, &blk->flags)) {
			list_move_tail(&blk->lru, &inst->active);
			inst->nr_inactive--;
			inst->nr_active++;
			set_bit(EMP_BLK_ACTIVE, &blk->flags);
			continue;
		}
		if (!mutex_trylock(&blk->lock)) {
			list_move_tail(&blk->lru, &inst->inactive);
			continue;
		}
take:
		/* On a list, so in the index: the reference cannot fail. */
		WARN_ON_ONCE(!emp_block_tryget(blk));
		list_del_init(&blk->lru);
		inst->nr_inactive--;
		clear_bit(EMP_BLK_SEEN, &blk->flags);
		victims[n++] = blk;
	}
	spin_unlock(&inst->lru_lock);
	emp_deactivate(inst, deact, nd);
	return n;
}

/**
 * emp_reclaim_kick() - start the reclaimer if the free budget is low
 * @inst: the instance
 *
 * Context: Any context but hard IRQ.
 */
void emp_reclaim_kick(struct emp_instance *inst)
{
	unsigned long high = emp_wmark_high(inst);

	if (high && emp_free_blocks(inst) < (long)(high + 1) / 2 &&
	    time_after_eq(jiffies, READ_ONCE(inst->reclaim_resume)))
		queue_work(emp_reclaim_wq, &inst->reclaim_work);
}

/**
 * emp_reclaim_running() - whether the reclaimer is evicting for @inst now
 * @inst: the instance
 *
 * Return: true while blocks it took are being written back or freed.
 */
bool emp_reclaim_running(struct emp_instance *inst)
{
	return atomic_read(&inst->reclaiming) > 0 || work_pending(&inst->reclaim_work);
}

/**
 * emp_reclaim_work() - the reclaimer of one instance
 * @work: emp_instance.reclaim_work
 *
 * Evicts batches of victims until the free budget reaches the high
 * watermark, or nothing can be evicted.
 *
 * Context: Workqueue (emp_reclaim_wq, WQ_MEM_RECLAIM); sleeps.
 */
void emp_reclaim_work(struct work_struct *work)
{
	struct emp_instance *inst = container_of(work, struct emp_instance, reclaim_work);
	struct emp_block *victims[EMP_RECLAIM_BATCH];
	unsigned int n, idle = 0;
	long want;
	int err;

	for (;;) {
		want = (long)emp_wmark_high(inst) - emp_free_blocks(inst);
		if (want <= 0)
			break;
		n = emp_pick_victims(inst, NULL, victims,
				     min_t(long, want, EMP_RECLAIM_BATCH));
		if (!n) {
			/* Every candidate busy: give the faults a moment. */
			if (++idle > 3)
				break;
			cond_resched();
			continue;
		}
		idle = 0;
		atomic_add(n, &inst->reclaiming);
		err = emp_evict_blocks(inst, victims, n, true);
		atomic_sub(n, &inst->reclaiming);
		wake_up_all(&inst->space_wait);
		if (err) {
			/*
			 * A tier is failing: leave eviction to the faults for a
			 * while (they give up after a few failed writebacks
			 * instead of waiting for us again and again).
			 */
			WRITE_ONCE(inst->reclaim_resume, jiffies + HZ);
			break;
		}
	}
	wake_up_all(&inst->space_wait);
}
