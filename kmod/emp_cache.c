// SPDX-License-Identifier: GPL-2.0
/*
 * The local DRAM cache of an instance: the budget, eviction (victims from
 * emp_reclaim.c's lists), writeback of dirty subblocks, the background
 * cleaner. Transfers themselves are emp_io.c's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/sort.h>
#include <linux/wait_bit.h>

#include "emp.h"
#include "emp_trace.h"

/* Tiers per request: BIO_MAX_VECS pages is what one bio carries. */
#define EMP_MAX_IO_PAGES	256
/* Failed writebacks tolerated while looking for a block to evict. */
#define EMP_EVICT_TRIES		8
/* Blocks the cleaner takes off the inactive list's old end per round. */
#define EMP_CLEAN_BATCH		32

/*
 * Off by default: in the TCG test guests (where the emulated disk costs
 * CPU like everything else) make bench measured no gain, rather a loss
 * (docs/bench.md). On a real device, where a write overlaps the next
 * fault's read, it may pay: measure with EMP_BENCH_ARGS=EMP_PARAMS=clean_ahead=1.
 */
static bool clean_ahead;
module_param(clean_ahead, bool, 0644);
MODULE_PARM_DESC(clean_ahead,
		 "write dirty blocks next in line for eviction back in the background, "
		 "so that evicting them costs no write (default N)");

/*
 * Writeback of a batch of blocks: every dirty subblock of each, adjacent
 * ones merged into one request, all submitted before any is waited for
 * (under a block plug, so a block device sees them together). A subblock
 * written successfully becomes clean and stored. The caller holds each
 * block's lock and every page lock, and has unmapped it, so no new write
 * can dirty it meanwhile.
 */
struct emp_wb {
	struct emp_run_io *runs;
	unsigned int nr_runs;
};

/* What to do with a block once its writeback is over (@err: 0 or -EIO). */
typedef void (*emp_wb_done_fn)(struct emp_instance *inst, struct emp_block *blk,
			       int err, void *arg);

/* Dirty runs of a block, each at most EMP_MAX_IO_PAGES pages. */
static unsigned int emp_dirty_runs(struct emp_instance *inst, struct emp_block *blk)
{
	unsigned long *dirty = emp_blk_map(inst, blk, EMP_MAP_DIRTY);
	unsigned int max_run = EMP_MAX_IO_PAGES / inst->sub_pages;
	unsigned int sub = 0, end, n = 0;

	while ((sub = find_next_bit(dirty, inst->sub_per_block, sub)) < inst->sub_per_block) {
		end = find_next_zero_bit(dirty, inst->sub_per_block, sub);
		n += DIV_ROUND_UP(end - sub, max_run);
		sub = end;
	}
	return n;
}

/* Submit the dirty runs of @blk, appending to @wb->runs; @w counts them. */
static void emp_wb_submit(struct emp_instance *inst, struct emp_block *blk, struct emp_wb *wb,
			  struct emp_wait *w)
{
	unsigned long *dirty = emp_blk_map(inst, blk, EMP_MAP_DIRTY);
	struct page **pages = emp_block_pages(inst, blk);
	unsigned int max_run = EMP_MAX_IO_PAGES / inst->sub_pages;
	unsigned int sub = 0, end;
	struct emp_backend *be;
	u64 pos;

	be = emp_tier_of(inst, blk->index, &pos);
	while ((sub = find_next_bit(dirty, inst->sub_per_block, sub)) < inst->sub_per_block) {
		struct emp_run_io *r = &wb->runs[wb->nr_runs++];

		end = find_next_zero_bit(dirty, inst->sub_per_block, sub);
		end = min(end, sub + max_run);
		r->first = sub;
		r->nr = end - sub;
		emp_run_submit(r, w, be, EMP_IO_WRITE, pos + ((u64)sub << inst->sub_shift),
			       pages + sub * inst->sub_pages, r->nr * inst->sub_pages, 0);
		sub = end;
	}
}

/* Apply the results of @blk's runs (@runs, @nr of them). Return: 0 or -EIO. */
static int emp_wb_finish(struct emp_instance *inst, struct emp_block *blk,
			 struct emp_run_io *runs, unsigned int nr)
{
	unsigned long *dirty = emp_blk_map(inst, blk, EMP_MAP_DIRTY);
	unsigned int i, j;
	int err = 0;

	for (i = 0; i < nr; i++) {
		trace_emp_writeback(inst->name, blk->index, runs[i].first, runs[i].nr,
				    runs[i].err);
		if (runs[i].err) {
			err = -EIO;
			emp_note_io_error(inst);
			continue;
		}
		for (j = runs[i].first; j < runs[i].first + runs[i].nr; j++) {
			set_bit(emp_stored_bit(inst, blk, j), inst->stored);
			clear_bit(j, dirty);
		}
		this_cpu_add(inst->stats->writebacks, runs[i].nr);
	}
	if (err)
		pr_warn_ratelimited("%s: writeback of block %lu failed; it stays in DRAM\n",
				    inst->name, blk->index);
	return err;
}

/*
 * Write back the dirty subblocks of @n quiesced blocks together: all
 * submitted at once under a plug, then each block handed to @done as soon
 * as its own writes are over, in order (a block with nothing dirty at
 * once), so that a fault waiting for one of them waits for its block only.
 * Without memory for the batch, one run at a time, waited for.
 */
static void emp_writeback_blocks(struct emp_instance *inst, struct emp_block **blks,
				 unsigned int n, emp_wb_done_fn done, void *arg)
{
	unsigned int i, total = 0, *first;
	struct emp_wait *waits = NULL;
	struct blk_plug plug;
	struct emp_wb wb;

	first = kmalloc_array(n + 1, sizeof(*first), GFP_NOIO);
	if (!first)
		goto one_by_one;
	for (i = 0; i < n; i++) {
		first[i] = total;
		total += emp_dirty_runs(inst, blks[i]);
	}
	first[n] = total;
	wb.runs = total ? kmalloc_array(total, sizeof(*wb.runs), GFP_NOIO) : NULL;
	waits = kmalloc_array(n, sizeof(*waits), GFP_NOIO);
	if ((total && !wb.runs) || !waits) {
		kfree(waits);
		kfree(wb.runs);
		kfree(first);
		goto one_by_one;
	}
	wb.nr_runs = 0;
	blk_start_plug(&plug);
	for (i = 0; i < n; i++) {
		atomic_set(&waits[i].pending, 1);
		init_completion(&waits[i].done);
		emp_wb_submit(inst, blks[i], &wb, &waits[i]);
	}
	blk_finish_plug(&plug);
	for (i = 0; i < n; i++) {
		if (!atomic_dec_and_test(&waits[i].pending))
			wait_for_completion(&waits[i].done);
		done(inst, blks[i],
		     emp_wb_finish(inst, blks[i], wb.runs + first[i], first[i + 1] - first[i]),
		     arg);
	}
	kfree(waits);
	kfree(wb.runs);
	kfree(first);
	return;

one_by_one:
	for (i = 0; i < n; i++) {
		unsigned long *dirty = emp_blk_map(inst, blks[i], EMP_MAP_DIRTY);
		struct emp_run_io r;
		int err = 0;

		while (!bitmap_empty(dirty, inst->sub_per_block)) {
			unsigned int sub = find_first_bit(dirty, inst->sub_per_block);
			unsigned int end = find_next_zero_bit(dirty, inst->sub_per_block, sub);
			struct emp_backend *be;
			u64 pos;

			end = min(end, sub + EMP_MAX_IO_PAGES / inst->sub_pages);
			be = emp_tier_of(inst, blks[i]->index, &pos);
			r.first = sub;
			r.nr = end - sub;
			r.err = emp_tier_rw_sync(inst, be, EMP_IO_WRITE,
						 pos + ((u64)sub << inst->sub_shift),
						 emp_block_pages(inst, blks[i]) + sub * inst->sub_pages,
						 r.nr * inst->sub_pages);
			err = emp_wb_finish(inst, blks[i], &r, 1);
			if (err)
				break;
		}
		done(inst, blks[i], err, arg);
	}
}

/*
 * Quiesce a resident block for writeback: wait for its background reads,
 * lock its pages (so no fault is half-way through mapping one; page_mkwrite
 * waits too) and unmap it from every mapping (which also reaches KVM
 * through MMU notifiers). With blk->lock held on top, nothing can write to
 * it until the caller unlocks: a new mapping needs a fault, and a fault
 * needs blk->lock.
 */
static void emp_block_quiesce_pages(struct emp_instance *inst, struct emp_block *blk)
{
	struct page **pages = emp_block_pages(inst, blk);
	unsigned int i;

	wait_var_event(&blk->inflight, !atomic_read(&blk->inflight));
	for (i = 0; i < inst->block_pages; i += emp_block_step(inst, blk))
		if (pages[i])
			lock_page(pages[i]);
}

/* Unmap @nr blocks from @index on: one range, so one TLB flush per mapping. */
static void emp_unmap_blocks(struct emp_instance *inst, unsigned long index,
			     unsigned long nr)
{
	emp_unmap_bytes(inst, (u64)index << inst->block_shift, (u64)nr << inst->block_shift);
}

static void emp_block_quiesce(struct emp_instance *inst, struct emp_block *blk)
{
	emp_block_quiesce_pages(inst, blk);
	emp_unmap_blocks(inst, blk->index, 1);
}

static void emp_block_unlock_pages(struct emp_instance *inst, struct emp_block *blk)
{
	struct page **pages = emp_block_pages(inst, blk);
	unsigned int i;

	for (i = 0; i < inst->block_pages; i += emp_block_step(inst, blk))
		if (pages[i])
			unlock_page(pages[i]);
}

/* Free the pages of a quiesced, written-back block: it is no longer resident. */
static void emp_block_release(struct emp_instance *inst, struct emp_block *blk)
{
	struct page **pages = emp_block_pages(inst, blk);
	unsigned int i, j, step;
	long freed = 0;

	step = emp_block_step(inst, blk);
	for (i = 0; i < inst->block_pages; i += step) {
		struct page *p = pages[i];

		if (!p)		/* a subblock that never arrived */
			continue;
		/* A huge block's pointers all go before its one lock and reference. */
		for (j = i; j < i + step; j++)
			WRITE_ONCE(pages[j], NULL);
		unlock_page(p);
		/* Kept before the charge goes (see emp_spare_keep()). */
		if (step > 1 || !emp_spare_keep(inst, p))
			emp_block_page_put(p);
		freed += step;
	}
	clear_bit(EMP_BLK_HUGE, &blk->flags);
	clear_bit(EMP_BLK_DEACTIVATED, &blk->flags);
	clear_bit(EMP_BLK_REFERENCED, &blk->flags);
	bitmap_zero(emp_blk_map(inst, blk, EMP_MAP_PRESENT), inst->sub_per_block);
	clear_bit(EMP_BLK_RESIDENT, &blk->flags);
	clear_bit(EMP_BLK_EVICTING, &blk->flags);
	emp_cache_uncharge(inst, freed);
	emp_count(inst, evictions);
	emp_note_evicted(inst, blk);
	/* What stays of it is its bits in inst->stored. */
	emp_block_retire(inst, blk);
}

struct emp_evict_ctx {
	bool background;
	int err;
};

/*
 * A victim's writeback is over: free it, or on failure keep it resident
 * and back on the inactive list; unlock it and drop the caller's
 * reference.
 */
static void emp_evict_done(struct emp_instance *inst, struct emp_block *blk, int err,
			   void *arg)
{
	struct emp_evict_ctx *ctx = arg;

	trace_emp_evict(inst->name, blk->index, ctx->background, err);
	if (err) {
		emp_block_unlock_pages(inst, blk);
		clear_bit(EMP_BLK_EVICTING, &blk->flags);
		emp_lru_add(inst, blk);
		ctx->err = -EIO;
	} else {
		emp_block_release(inst, blk);
		if (ctx->background)
			emp_count(inst, reclaimed);
	}
	mutex_unlock(&blk->lock);
	emp_block_put(inst, blk);
}

/* sort() order of an array of block pointers: by block number. */
int emp_block_cmp_index(const void *a, const void *b)
{
	const struct emp_block *x = *(struct emp_block * const *)a;
	const struct emp_block *y = *(struct emp_block * const *)b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/**
 * emp_evict_blocks() - evict a batch of resident blocks
 * @inst:       the instance
 * @victims:    blocks off the lists, each locked by the caller (blk->lock)
 *              with a reference, which this drops
 * @n:          how many (at most EMP_MAX_EVICT_BATCH)
 * @background: the reclaimer's batch (counted in stat.reclaimed)
 *
 * Quiesces every block, writes their dirty subblocks back together, frees
 * the pages of those written back and unlocks every block. A block whose
 * writeback failed stays resident and goes back on the inactive list.
 *
 * Context: Process context, sleeps.
 * Return: 0 if every block was evicted, else -EIO.
 */
int emp_evict_blocks(struct emp_instance *inst, struct emp_block **victims,
		     unsigned int n, bool background)
{
	struct emp_evict_ctx ctx = { .background = background };
	unsigned int i, run;

	if (WARN_ON_ONCE(n > EMP_MAX_EVICT_BATCH))
		n = EMP_MAX_EVICT_BATCH;
	/*
	 * In instance order, so writebacks of neighbouring blocks go out one
	 * after the other and the block layer merges them under the plug.
	 */
	sort(victims, n, sizeof(*victims), emp_block_cmp_index, NULL);
	for (i = 0; i < n; i++) {
		set_bit(EMP_BLK_EVICTING, &victims[i]->flags);
		emp_block_quiesce_pages(inst, victims[i]);
	}
	/*
	 * Then unmapped, each run of neighbouring blocks with one call: one
	 * TLB flush per run (a streaming workload's victims are mostly one
	 * run). There is no kernel call a module may use to batch the flushes
	 * of ranges that are not adjacent.
	 */
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n &&
		     victims[i + run]->index == victims[i]->index + run; run++)
			;
		emp_unmap_blocks(inst, victims[i]->index, run);
	}
	emp_writeback_blocks(inst, victims, n, emp_evict_done, &ctx);
	return ctx.err;
}

/*
 * Pick the coldest resident block other than @self whose lock is free,
 * and evict it.
 * Return: 0, -EAGAIN if every candidate was busy, or the eviction's error.
 */
static int emp_evict_one(struct emp_instance *inst, struct emp_block *self)
{
	struct emp_block *victim;
	int err;

	if (!emp_pick_victims(inst, self, &victim, 1))
		return -EAGAIN;
	err = emp_evict_blocks(inst, &victim, 1, false);
	/* Not while a tier fails: its writebacks would fail too. */
	if (READ_ONCE(clean_ahead) && !err &&
	    time_after_eq(jiffies, READ_ONCE(inst->reclaim_resume)))
		queue_work(system_unbound_wq, &inst->clean_work);
	return err;
}

/* ---- the background cleaner ---------------------------------------------- */

/* The cleaner's writeback is over: keep its result. */
static void emp_clean_done(struct emp_instance *inst, struct emp_block *blk, int err,
			   void *arg)
{
	*(int *)arg = err;
}

/*
 * Write a dirty resident block back and leave it resident and clean: the
 * eviction that comes for it later only unmaps and frees. Skips a block
 * whose lock is taken (a fault or an eviction is at it).
 * Return: false if a writeback failed (the cleaner stops for this round).
 */
static bool emp_block_clean(struct emp_instance *inst, struct emp_block *blk)
{
	unsigned long *dirty = emp_blk_map(inst, blk, EMP_MAP_DIRTY);
	unsigned int before;
	int err = 0;

	if (!mutex_trylock(&blk->lock))
		return true;
	if (test_bit(EMP_BLK_RESIDENT, &blk->flags) &&
	    !bitmap_empty(dirty, inst->sub_per_block)) {
		emp_block_quiesce(inst, blk);
		before = bitmap_weight(dirty, inst->sub_per_block);
		emp_writeback_blocks(inst, &blk, 1, emp_clean_done, &err);
		this_cpu_add(inst->stats->cleaned,
			     before - bitmap_weight(dirty, inst->sub_per_block));
		emp_block_unlock_pages(inst, blk);
	}
	mutex_unlock(&blk->lock);
	return !err;
}

/*
 * The cleaner, kicked by every eviction: the first blocks of the inactive
 * list that are not referenced (at most EMP_CLEAN_BATCH, and an eighth of
 * the resident blocks) are the next victims; write back the dirty ones
 * among them. Cleaning further ahead costs more than it saves: a cleaned
 * block is unmapped, and one touched again before its eviction faults and
 * is written back twice. Each block taken under lru_lock is referenced,
 * so it stays valid after the lock is dropped.
 */
static void emp_clean_work(struct work_struct *work)
{
	struct emp_instance *inst = container_of(work, struct emp_instance, clean_work);
	long ahead = atomic_long_read(&inst->resident_pages) / inst->block_pages / 8;
	struct emp_block *batch[EMP_CLEAN_BATCH], *blk;
	unsigned int n = 0, i;
	long seen = 0, scanned = 0;

	ahead = clamp(ahead, 2L, (long)EMP_CLEAN_BATCH);
	spin_lock(&inst->lru_lock);
	list_for_each_entry(blk, &inst->inactive, lru) {
		if (scanned++ >= 4 * EMP_CLEAN_BATCH)
			break;
		if (test_bit(EMP_BLK_REFERENCED, &blk->flags))
			continue;	/* the policy passes it by once more */
		if (seen++ >= ahead)
			break;
		if (!bitmap_empty(emp_blk_map(inst, blk, EMP_MAP_DIRTY), inst->sub_per_block) &&
		    emp_block_tryget(blk))
			batch[n++] = blk;
	}
	spin_unlock(&inst->lru_lock);
	for (i = 0; i < n; i++) {
		bool ok = emp_block_clean(inst, batch[i]);

		emp_block_put(inst, batch[i]);
		if (!ok) {
			WRITE_ONCE(inst->reclaim_resume, jiffies + HZ);
			while (++i < n)
				emp_block_put(inst, batch[i]);
			return;
		}
	}
}

/**
 * emp_cache_module_init() - make the reclaimers' workqueue
 *
 * Context: Module init.
 * Return: 0 or -ENOMEM.
 */
int emp_cache_module_init(void)
{
	/* WQ_MEM_RECLAIM: eviction frees memory, it must run under pressure too. */
	emp_reclaim_wq = alloc_workqueue("emp_reclaim", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return emp_reclaim_wq ? 0 : -ENOMEM;
}

/**
 * emp_cache_module_exit() - destroy the reclaimers' workqueue
 *
 * Context: Module exit; no instance is left.
 */
void emp_cache_module_exit(void)
{
	destroy_workqueue(emp_reclaim_wq);
}

/**
 * emp_cache_init() - set up the cache part of a new instance
 * @inst: the instance
 */
void emp_cache_init(struct emp_instance *inst)
{
	spin_lock_init(&inst->lru_lock);
	INIT_LIST_HEAD(&inst->active);
	INIT_LIST_HEAD(&inst->inactive);
	spin_lock_init(&inst->vma_lock);
	INIT_LIST_HEAD(&inst->vmas);
	INIT_WORK(&inst->reclaim_work, emp_reclaim_work);
	atomic_set(&inst->reclaiming, 0);
	inst->reclaim_resume = jiffies;
	init_waitqueue_head(&inst->space_wait);
	INIT_WORK(&inst->clean_work, emp_clean_work);
	emp_spare_init(inst);
}

/**
 * emp_cache_stop() - stop the cleaner of an instance that is going away
 * @inst: the instance; nothing maps it and no fault or resize can start
 *
 * Context: Process context, sleeps until a running round is over.
 */
void emp_cache_stop(struct emp_instance *inst)
{
	cancel_work_sync(&inst->reclaim_work);
	cancel_work_sync(&inst->clean_work);
}

/*
 * Evict until @n more pages fit in the budget. Busy candidates are waited
 * for a tick at a time; failed writebacks are tolerated a few times, or
 * once while a writeback failed within the last second: a tier that has
 * just failed most likely fails again, and every try unmaps and locks a
 * victim for nothing (with a donor gone, each fault paid for eight).
 */
static bool emp_fits(struct emp_instance *inst, long n)
{
	return atomic_long_read(&inst->resident_pages) + n <= (long)READ_ONCE(inst->budget_pages);
}

static int emp_evict_until(struct emp_instance *inst, struct emp_block *self, long n)
{
	int tries = time_before(jiffies, READ_ONCE(inst->reclaim_resume)) ? 1 : EMP_EVICT_TRIES;
	int fails = 0, busy = 0, err;

	while (!emp_fits(inst, n)) {
		err = emp_evict_one(inst, self);
		if (err == -EAGAIN) {
			if (fatal_signal_pending(current))
				return -EINTR;
			/*
			 * Every candidate locked. When @self is resident, the
			 * lock holders may be faults waiting for room as we do,
			 * each holding its own block (and its pages): we let
			 * go of ours for a moment (the caller retries), or
			 * none would ever find a victim.
			 */
			if (self && test_bit(EMP_BLK_RESIDENT, &self->flags) && ++busy > 2)
				return -EAGAIN;
			schedule_timeout_uninterruptible(1);
		} else if (err) {
			/* The reclaimer backs off too (emp_reclaim_work()). */
			WRITE_ONCE(inst->reclaim_resume, jiffies + HZ);
			if (++fails >= tries)
				return err;
		}
	}
	return 0;
}

/**
 * emp_cache_charge() - reserve DRAM for pages about to be allocated
 * @inst: the instance
 * @self: the block they are for (never chosen as victim)
 * @n:    how many pages: a subblock's, or a whole huge block's
 *
 * Takes from the free part of the budget, which the reclaimer keeps above
 * its low watermark. When not enough is free (a direct reclaim), waits for
 * the reclaimer if it is evicting, else evicts a block itself.
 *
 * Context: Process context, sleeps; caller holds self->lock.
 * Return: 0, -EINTR on a fatal signal, -EIO if writebacks keep failing,
 * -EAGAIN when every victim is locked and @self is resident: the caller
 * unlocks @self, waits a moment and tries again.
 */
int emp_cache_charge(struct emp_instance *inst, struct emp_block *self, long n)
{
	bool direct = false;
	int err = 0;

	for (;;) {
		if (emp_cache_trycharge(inst, n, 0))
			break;
		if (!direct) {
			direct = true;
			emp_count(inst, direct_reclaims);
			emp_stall_begin(inst);
			emp_reclaim_kick(inst);
		}
		if (emp_reclaim_running(inst)) {
			/* Its batch is being written back: those pages come free soon. */
			/* Bounded: the reclaimer gives up when its writebacks fail. */
			wait_event_timeout(inst->space_wait, emp_fits(inst, n) ||
					   !emp_reclaim_running(inst), HZ / 50);
			continue;
		}
		err = emp_evict_until(inst, self, n);
		if (err)
			break;
	}
	if (direct)
		emp_stall_end(inst);
	return err;
}

/**
 * emp_cache_trycharge() - reserve DRAM for @n pages if the budget has room now
 * @inst: the instance
 * @n:    pages
 * @keep: pages of the budget that must stay free after
 *
 * Never waits nor evicts (for read-ahead, which is not worth an eviction).
 * Context: Any context but hard IRQ.
 * Return: true if charged.
 */
bool emp_cache_trycharge(struct emp_instance *inst, long n, long keep)
{
	long cur = atomic_long_read(&inst->resident_pages);

	/* Never let the count pass the budget, not even for a moment. */
	while (cur + n + keep <= (long)READ_ONCE(inst->budget_pages)) {
		if (atomic_long_try_cmpxchg(&inst->resident_pages, &cur, cur + n)) {
			emp_reclaim_kick(inst);
			return true;
		}
	}
	return false;
}

/* Give back the charge of @n pages that were not allocated, or were freed. */
void emp_cache_uncharge(struct emp_instance *inst, long n)
{
	atomic_long_sub(n, &inst->resident_pages);
}

/**
 * emp_cache_shrink() - evict down to the current budget
 * @inst: the instance, its budget already lowered
 *
 * Context: Process context, sleeps.
 * Return: 0, -EINTR, or -EIO if writebacks kept failing.
 */
int emp_cache_shrink(struct emp_instance *inst)
{
	return emp_evict_until(inst, NULL, 0);
}
