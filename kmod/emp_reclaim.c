// SPDX-License-Identifier: GPL-2.0
/*
 * Replacement and reclaim ahead.
 *
 * Replacement: two lists of resident blocks, as the kernel keeps for its
 * own pages. A block made resident goes to the young end of the inactive
 * list. Faults show only the first access to a page; the accesses that go
 * through a mapping are learnt in one of two ways.
 *
 * Where the page tables tell (young_bits=1; x86, every mapping recorded
 * by emp_vma_track(), no MMU-notifier user such as KVM on its mm, pages
 * mapped one by one), by the accessed bits of the block's page table
 * entries, as the kernel's own reclaim reads them: cleared when the block
 * first reaches the old end of the inactive list (or leaves the active
 * list), read at its next visit; no fault. Once per scan that cleared
 * bits, the TLBs of the CPUs running the mappings are flushed, so that a
 * TLB entry made before the clearing cannot hide later accesses.
 *
 * Otherwise, the way NUMA balancing does: every block is unmapped
 * ("deactivated") at its first visit, and an access to it faults
 * (cheaply: the block is resident) and marks it referenced.
 *
 * At the old end again, a block found in use moves to the active list
 * ("reactivated"), any other is evicted.
 * The inactive list is kept at an eighth (a quarter with accessed bits)
 * of the resident blocks or more by moving the oldest active blocks back
 * to it, to be watched afresh. A stream of blocks touched once passes
 * through the inactive list and leaves; a hot set touched through its
 * mappings stays active.
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
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <asm/tlbflush.h>

#include "emp.h"
#include "emp_compat.h"

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

/*
 * Accessed bits instead of unmapping where they can be read: no unmap
 * and no fault per block and pass, one TLB flush per scan instead. (It
 * was off by default while it flushed nothing: QEMU's software TLB keeps
 * a translation until the guest flushes it, so a cleared bit was seldom
 * set again and the hot set test lost 13-18 % of a hot set on sid.)
 * Where the kernel keeps its TLB flush from modules (kernels with
 * EXPORT_SYMBOL_FOR_KVM, sid's 7.2 among them) blocks are unmapped.
 */
static bool young_bits = true;
module_param(young_bits, bool, 0644);
MODULE_PARM_DESC(young_bits,
		 "the replacement reads page table accessed bits instead of unmapping "
		 "blocks where it can (x86 kernels that let modules flush TLBs, no KVM on "
		 "the mapping's mm, not whole-block mappings) (default Y)");

/* Accessed bits can be read, and TLBs flushed after their clearing. */
#if defined(CONFIG_X86) && defined(HAVE_FLUSH_TLB_ALL)
#define EMP_YOUNG_BITS	1
#endif

struct workqueue_struct *emp_reclaim_wq;

/* ---- the mappings, for their accessed bits --------------------------------- */

/**
 * emp_vma_track() - record a new mapping of @inst
 * @inst: the instance
 * @vma:  a VMA of it, from ->mmap or ->open (mmap lock held for writing)
 *
 * Without memory the mapping is not recorded and the instance falls back
 * to unmapping for good (an access through it would go unseen).
 */
void emp_vma_track(struct emp_instance *inst, struct vm_area_struct *vma)
{
	struct emp_vma_ref *r = kmalloc(sizeof(*r), GFP_KERNEL);

	spin_lock(&inst->vma_lock);
	if (r) {
		r->vma = vma;
		list_add(&r->node, &inst->vmas);
	} else {
		inst->vmas_untracked = true;
	}
	spin_unlock(&inst->vma_lock);
}

/**
 * emp_vma_untrack() - forget a mapping of @inst that is going away
 * @inst: the instance
 * @vma:  the VMA, from ->close (before it is freed)
 */
void emp_vma_untrack(struct emp_instance *inst, struct vm_area_struct *vma)
{
	struct emp_vma_ref *r, *found = NULL;

	spin_lock(&inst->vma_lock);
	list_for_each_entry(r, &inst->vmas, node) {
		if (r->vma == vma) {
			list_del(&r->node);
			found = r;
			break;
		}
	}
	spin_unlock(&inst->vma_lock);
	kfree(found);
}

/**
 * emp_young_usable() - can @inst's blocks be judged by accessed bits?
 * @inst: the instance
 *
 * Context: Any process context; takes vma_lock.
 * Return: true where accessed bits are read (see young_bits).
 */
bool emp_young_usable(struct emp_instance *inst)
{
	struct emp_vma_ref *r;
	bool ok;

	/* Without a TLB flush the bits cannot be trusted (emp_young_flush()). */
	if (!IS_ENABLED(EMP_YOUNG_BITS) || !READ_ONCE(young_bits) || inst->huge)
		return false;
	spin_lock(&inst->vma_lock);
	ok = !inst->vmas_untracked;
	/*
	 * An MMU-notifier user (KVM, above all) maps the pages in page
	 * tables of its own, whose accessed bits a module cannot clear
	 * (mmu_notifier_clear_young() is not exported); unmapping reaches
	 * those too.
	 */
	list_for_each_entry(r, &inst->vmas, node)
		if (mm_has_notifiers(r->vma->vm_mm))
			ok = false;
	spin_unlock(&inst->vma_lock);
	return ok;
}

#if IS_ENABLED(EMP_YOUNG_BITS)
/*
 * Test and clear the accessed bits of the pages mapped in [@addr, @end)
 * of @mm, which lies within one VMA; the caller holds the mmap lock. The
 * walk is our own (apply_to_existing_page_range() is no longer exported
 * on the newest kernels): like pte_offset_map_lock(), it reads the PMD
 * once, takes that table's lock and checks the PMD is unchanged, so a
 * table freed meanwhile (under RCU, by MADV_DONTNEED on kernels that free
 * empty tables; we run with preemption off) is never written. A PMD
 * mapping a huge page is skipped. As the kernel's own
 * ptep_clear_flush_young() does on x86, no TLB flush: a stale TLB entry
 * only makes a block look idle a little longer.
 */
static bool emp_range_young(struct mm_struct *mm, unsigned long addr, unsigned long end)
{
	unsigned long next;
	bool young = false;
	pmd_t *pmd, pmdval;
	spinlock_t *ptl;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	pte_t *pte;

	for (; addr < end; addr = next) {
		next = pmd_addr_end(addr, end);
		pgd = pgd_offset(mm, addr);
		if (pgd_none(*pgd) || pgd_bad(*pgd))
			continue;
		p4d = p4d_offset(pgd, addr);
		if (p4d_none(*p4d) || p4d_bad(*p4d))
			continue;
		pud = pud_offset(p4d, addr);
		if (pud_none(*pud) || pud_bad(*pud))
			continue;
		pmd = pmd_offset(pud, addr);
		pmdval = READ_ONCE(*pmd);	/* one load on x86-64 */
		if (!pmd_present(pmdval) || pmd_leaf(pmdval) || pmd_bad(pmdval))
			continue;
		ptl = pte_lockptr(mm, &pmdval);
		spin_lock(ptl);
		if (pmd_same(pmdval, READ_ONCE(*pmd))) {
			for (pte = pte_offset_kernel(&pmdval, addr); addr < next;
			     addr += PAGE_SIZE, pte++)
				if (pte_present(ptep_get(pte)) && pte_young(ptep_get(pte)) &&
				    test_and_clear_bit(_PAGE_BIT_ACCESSED, (unsigned long *)&pte->pte))
					young = true;
		}
		spin_unlock(ptl);
	}
	return young;
}

/*
 * Test and clear the accessed bits of @blk's pages in every mapping of
 * @inst. A mapping whose mm is busy (its mmap lock not to be had at once)
 * is skipped: the block may then look idle, which costs a refetch at
 * worst. Only a mapping still in its mm's tree is walked: munmap detaches
 * a VMA before it frees its page tables with the mmap lock downgraded,
 * and calls ->close (which drops it from @inst->vmas) only after.
 * Context: any process context (lru_lock held or not); nothing here sleeps.
 * Return: true if any was set.
 */
bool emp_block_young(struct emp_instance *inst, struct emp_block *blk)
{
	pgoff_t first = (pgoff_t)blk->index << (inst->block_shift - PAGE_SHIFT);
	pgoff_t end = first + inst->block_pages, s, e;
	struct vm_area_struct *vma;
	struct emp_vma_ref *r;
	struct mm_struct *mm;
	unsigned long addr;
	bool young = false;

	spin_lock(&inst->vma_lock);
	list_for_each_entry(r, &inst->vmas, node) {
		vma = r->vma;
		mm = vma->vm_mm;
		if (!mmap_read_trylock(mm))
			continue;
		if (find_vma(mm, vma->vm_start) == vma) {
			s = max(first, vma->vm_pgoff);
			e = min(end, vma->vm_pgoff + vma_pages(vma));
			addr = vma->vm_start + ((s - vma->vm_pgoff) << PAGE_SHIFT);
			if (s < e && emp_range_young(mm, addr, addr + ((e - s) << PAGE_SHIFT)))
				young = true;
		}
		mmap_read_unlock(mm);
	}
	spin_unlock(&inst->vma_lock);
	return young;
}

static void emp_flush_tlb_here(void *unused)
{
	__flush_tlb_all();
}

/*
 * After accessed bits were cleared: flush the TLBs of the CPUs that may
 * cache translations of @inst's mappings, so that the next access to a
 * page walks its page table and sets the bit again. Without it a TLB
 * entry that outlived the clearing hides every access it serves (the
 * kernel's own reclaim accepts that, relying on small TLBs; QEMU's
 * software TLB holds a whole working set, and a hot block then looks
 * idle). One flush for a whole scan, not one per block: a module can
 * flush only whole TLBs (__flush_tlb_all(), with its IPIs), but the scan
 * clears the bits of many blocks at once. A CPU that ran a mapping's mm
 * and has left it is not in its mm_cpumask and is not flushed: with
 * PCIDs it may keep entries of that mm until its next flush, which hides
 * accesses as before, on that CPU only, and not for long.
 * Context: no lock held that is taken with interrupts off; takes vma_lock.
 */
void emp_young_flush(struct emp_instance *inst)
{
	struct emp_vma_ref *r, *prev;

	spin_lock(&inst->vma_lock);
	list_for_each_entry(r, &inst->vmas, node) {
		/* Once per mm: a process often maps an instance more than once. */
		list_for_each_entry(prev, &inst->vmas, node)
			if (prev == r || prev->vma->vm_mm == r->vma->vm_mm)
				break;
		if (prev == r)
			on_each_cpu_mask(mm_cpumask(r->vma->vm_mm), emp_flush_tlb_here, NULL, true);
	}
	spin_unlock(&inst->vma_lock);
}
#else
bool emp_block_young(struct emp_instance *inst, struct emp_block *blk)
{
	return false;
}

void emp_young_flush(struct emp_instance *inst)
{
}
#endif

/* Blocks of free budget the reclaimer restores (high watermark); 0: none. */
static unsigned long emp_wmark_high(struct emp_instance *inst)
{
	unsigned long blocks = READ_ONCE(inst->budget_pages) / inst->block_pages;

	/* An instance that fits its budget whole never needs room. */
	if (!READ_ONCE(reclaim_ahead) || blocks < 8 ||
	    inst->size <= (u64)READ_ONCE(inst->budget_pages) << PAGE_SHIFT)
		return 0;
	return clamp(blocks / 8, 2UL, 8UL * EMP_RECLAIM_BATCH);
}

/**
 * emp_reclaim_high_pages() - the free budget the reclaimer restores
 * @inst: the instance
 *
 * Return: pages (0 without a reclaimer).
 */
unsigned long emp_reclaim_high_pages(struct emp_instance *inst)
{
	return emp_wmark_high(inst) * inst->block_pages;
}

/**
 * emp_reclaim_fault_reserve() - free budget read-ahead leaves to faults
 * @inst: the instance
 *
 * Half the low watermark (below which the reclaimer is kicked): with all
 * of it, sequential reads of 64K/4K blocks got 4.1 pages per fault where
 * they got 6.4-7.5 with none; with none, 1.4 % of the faults of a
 * sequential read pass found no free DRAM (the bound is 1 %).
 * Return: pages (0 without a reclaimer).
 */
long emp_reclaim_fault_reserve(struct emp_instance *inst)
{
	return (long)((emp_wmark_high(inst) + 3) / 4) * inst->block_pages;
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
	emp_note_used(blk);
	if (!test_bit(EMP_BLK_REFERENCED, &blk->flags))
		set_bit(EMP_BLK_REFERENCED, &blk->flags);
	if (test_bit(EMP_BLK_DEACTIVATED, &blk->flags) &&
	    test_and_clear_bit(EMP_BLK_DEACTIVATED, &blk->flags)) {
		clear_bit(EMP_BLK_IDLE_SEEN, &blk->flags);
		emp_count(inst, reactivated);
	}
}

static void emp_unmap_run(struct emp_instance *inst, unsigned long start, unsigned long len)
{
	if (len && inst->mapping)
		unmap_mapping_range(inst->mapping, (loff_t)start << inst->block_shift,
				    (loff_t)len << inst->block_shift, 0);
}

/*
 * Unmap the blocks in @deact so that their next access faults and shows
 * they are in use. A block whose lock is taken is left alone: a fault or
 * an eviction is at it. Neighbouring blocks are unmapped with one call,
 * so one TLB flush per run (a stream's blocks come in runs). A block is
 * unlocked before its run is unmapped: a fault in between maps it again
 * and is seen all the same (its next access after the unmap faults).
 * With accessed bits (@young) their bits are cleared instead, and the
 * TLBs flushed once for all. The caller took a reference on each;
 * dropped here.
 */
static void emp_deactivate(struct emp_instance *inst, struct emp_block **deact,
			   unsigned int n, bool young)
{
	unsigned long start = 0, len = 0;
	unsigned int i;

	if (young) {
		for (i = 0; i < n; i++) {
			emp_block_young(inst, deact[i]);
			clear_bit(EMP_BLK_CLEARING, &deact[i]->flags);
		}
		if (n)
			emp_young_flush(inst);
		for (i = 0; i < n; i++)
			emp_block_put(inst, deact[i]);
		return;
	}
	sort(deact, n, sizeof(*deact), emp_block_cmp_index, NULL);
	for (i = 0; i < n; i++) {
		struct emp_block *blk = deact[i];
		bool unmap = false;

		clear_bit(EMP_BLK_CLEARING, &blk->flags);
		if (mutex_trylock(&blk->lock)) {
			if (test_bit(EMP_BLK_RESIDENT, &blk->flags) &&
			    !test_bit(EMP_BLK_DEACTIVATED, &blk->flags)) {
				set_bit(EMP_BLK_DEACTIVATED, &blk->flags);
				emp_count(inst, deactivated);
				unmap = true;
			}
			mutex_unlock(&blk->lock);
		}
		if (unmap && len && blk->index == start + len) {
			len++;
		} else if (unmap) {
			emp_unmap_run(inst, start, len);
			start = blk->index;
			len = 1;
		}
		emp_block_put(inst, blk);
	}
	emp_unmap_run(inst, start, len);
}

/**
 * emp_unmap_idle() - unmap blocks so that their next access faults
 * @inst: the instance
 * @blks: blocks, each referenced by the caller (dropped here)
 * @n:    how many (any number)
 *
 * For the age scanner where accessed bits cannot be read: a block it
 * unmapped and that has not faulted since is idle since.
 * Context: Process context; sleeps.
 */
void emp_unmap_idle(struct emp_instance *inst, struct emp_block **blks, unsigned int n)
{
	emp_deactivate(inst, blks, n, false);
}

/*
 * The inactive list is short: an eighth of the resident blocks when
 * blocks are unmapped at their first visit. A longer one would give its
 * blocks longer to be touched again after being unmapped, so under
 * uniform access most would come back to the active list and push others
 * out, each move an unmap and a fault (make bench measured 5 unmaps per
 * fault with half and half); a stream still passes through an eighth
 * without reaching the active list. With accessed bits (@young) a block
 * is judged at its second visit and, when the bits hide its use behind a
 * TLB entry, learnt about by unmapping only then, one traversal before
 * its last: a quarter, as the kernel keeps for memory of this size, gives
 * it the time an eighth gives the unmapping scheme (with an eighth, 18 %
 * of a hot set of 4 KiB blocks was refetched once on sid under TCG).
 */
static bool emp_inactive_low(struct emp_instance *inst, bool young)
{
	lockdep_assert_held(&inst->lru_lock);
	/*
	 * Two at least: a list of one may hold nothing but the faulting
	 * block, which is never a victim (with seven active blocks to one
	 * inactive, a fault waited for a victim for ever).
	 */
	return inst->nr_inactive * (young ? 4 : 8) < inst->nr_active + inst->nr_inactive ||
	       inst->nr_inactive < 2;
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

/*
 * Demote the oldest active block to the inactive list, to be observed
 * like any other: queued in @deact to be unmapped, or to have its
 * accessed bits cleared. Return: false if none was (the active list is
 * empty, or @deact is full).
 */
static bool emp_refill_one(struct emp_instance *inst, struct emp_block **deact,
			   unsigned int *nd)
{
	struct emp_block *blk;

	if (*nd == EMP_DEACT_BATCH)
		return false;
	blk = emp_demote_one(inst);
	if (!blk)
		return false;
	if (emp_block_tryget(blk)) {
		set_bit(EMP_BLK_CLEARING, &blk->flags);
		deact[(*nd)++] = blk;
	}
	return true;
}

/* Take @blk, off the lists and referenced, as a victim. */
static void emp_take_victim(struct emp_instance *inst, struct emp_block *blk)
{
	/* On a list, so in the index: the reference cannot fail. */
	WARN_ON_ONCE(!emp_block_tryget(blk));
	list_del_init(&blk->lru);
	inst->nr_inactive--;
	clear_bit(EMP_BLK_SEEN, &blk->flags);
}

/*
 * Judge the blocks in @test (taken off the inactive list, referenced) by
 * their accessed bits, without lru_lock: a fault making a block resident
 * takes that lock, and page table walks under it would keep the fault
 * waiting (the kernel's reclaim, too, isolates pages before it checks
 * their references). One found in use goes to the active list; an idle
 * one becomes a victim while @victims has room and its lock is free, or
 * goes back to the old end of the inactive list. Return: victims added.
 */
static unsigned int emp_judge_young(struct emp_instance *inst, struct emp_block **test,
				    unsigned int nt, struct emp_block **victims, unsigned int room)
{
	bool used[EMP_RECLAIM_BATCH];
	unsigned int i, n = 0;

	for (i = 0; i < nt; i++)
		used[i] = emp_block_young(inst, test[i]);
	spin_lock(&inst->lru_lock);
	for (i = 0; i < nt; i++) {
		struct emp_block *blk = test[i];

		if (used[i])
			emp_note_used(blk);
		if (used[i] || test_and_clear_bit(EMP_BLK_REFERENCED, &blk->flags)) {
			emp_count(inst, reactivated);
			list_add_tail(&blk->lru, &inst->active);
			inst->nr_active++;
			set_bit(EMP_BLK_ACTIVE, &blk->flags);
		} else if (n < room && mutex_trylock(&blk->lock)) {
			clear_bit(EMP_BLK_SEEN, &blk->flags);
			victims[n++] = blk;
			test[i] = NULL;		/* its reference goes with it */
		} else {
			list_add(&blk->lru, &inst->inactive);
			inst->nr_inactive++;
		}
	}
	spin_unlock(&inst->lru_lock);
	for (i = 0; i < nt; i++)
		if (test[i])
			emp_block_put(inst, test[i]);
	return n;
}

/* Take @blk, on one of the lists, off it. */
static void emp_lru_unlink(struct emp_instance *inst, struct emp_block *blk)
{
	lockdep_assert_held(&inst->lru_lock);
	list_del_init(&blk->lru);
	if (test_and_clear_bit(EMP_BLK_ACTIVE, &blk->flags))
		inst->nr_active--;
	else
		inst->nr_inactive--;
	clear_bit(EMP_BLK_SEEN, &blk->flags);
}

/**
 * emp_lru_take() - take a resident block off its list, to evict it
 * @inst: the instance
 * @blk:  the block, locked by the caller
 *
 * Context: takes lru_lock.
 * Return: false if it was on no list (the replacement is judging it
 * without lru_lock, and puts it back itself): it must not be evicted now.
 */
bool emp_lru_take(struct emp_instance *inst, struct emp_block *blk)
{
	bool on = false;

	spin_lock(&inst->lru_lock);
	if (!list_empty(&blk->lru)) {
		emp_lru_unlink(inst, blk);
		on = true;
	}
	spin_unlock(&inst->lru_lock);
	return on;
}

/* Take the blocks on @list idle since before @before as victims. */
static unsigned int emp_take_cold_list(struct emp_instance *inst, struct list_head *list,
				       struct emp_block **victims, unsigned int max,
				       unsigned long before, bool unmapped)
{
	struct emp_block *blk, *tmp;
	unsigned int n = 0;

	lockdep_assert_held(&inst->lru_lock);
	list_for_each_entry_safe(blk, tmp, list, lru) {
		if (n == max)
			break;
		if (!time_before(READ_ONCE(blk->used), before) ||
		    (unmapped && !test_bit(EMP_BLK_IDLE_SEEN, &blk->flags)) ||
		    !mutex_trylock(&blk->lock))
			continue;
		WARN_ON_ONCE(!emp_block_tryget(blk));
		emp_lru_unlink(inst, blk);
		victims[n++] = blk;
	}
	return n;
}

/**
 * emp_take_cold() - take resident blocks idle since before a time
 * @inst:     the instance
 * @victims:  gets up to @max blocks, each locked, referenced, off the lists
 * @max:      at most EMP_MAX_EVICT_BATCH
 * @before:   jiffies: blocks last used before it are idle enough
 * @unmapped: only blocks unmapped to watch them and not faulted on for a
 *            whole scan period since (EMP_BLK_IDLE_SEEN: where accessed
 *            bits cannot be read, nothing else is known idle)
 *
 * For proactive demotion (emp_monitor.c), whatever the free budget.
 * Context: Process context; takes lru_lock.
 * Return: the number of blocks taken.
 */
unsigned int emp_take_cold(struct emp_instance *inst, struct emp_block **victims,
			   unsigned int max, unsigned long before, bool unmapped)
{
	unsigned int n;

	spin_lock(&inst->lru_lock);
	n = emp_take_cold_list(inst, &inst->inactive, victims, max, before, unmapped);
	n += emp_take_cold_list(inst, &inst->active, victims + n, max - n, before, unmapped);
	spin_unlock(&inst->lru_lock);
	return n;
}

/**
 * emp_pick_victims() - take blocks to evict off the inactive list
 * @inst:    the instance
 * @self:    a block never to choose (the faulting one), or NULL
 * @victims: gets up to @max blocks (@max <= EMP_RECLAIM_BATCH), each
 *           locked (blk->lock), referenced and off the lists
 * @max:     how many
 *
 * Scans from the old end of the inactive list: a block seen for the first
 * time is deactivated (unmapped, or its accessed bits cleared) and goes
 * round again; one used since (a fault, or its accessed bits) moves to
 * the active list; an unused one whose lock is free is a victim. Keeps
 * the inactive list at an eighth (a quarter with accessed bits) of the
 * resident blocks or more.
 *
 * Context: Process context; sleeps (deactivation by unmapping).
 * Return: the number of victims.
 */
unsigned int emp_pick_victims(struct emp_instance *inst, struct emp_block *self,
			      struct emp_block **victims, unsigned int max)
{
	struct emp_block *deact[EMP_DEACT_BATCH], *test[EMP_RECLAIM_BATCH], *blk;
	bool aware = READ_ONCE(access_aware), young;
	unsigned int n = 0, nd = 0, nt;
	long scan, pass;

	if (WARN_ON_ONCE(max > EMP_RECLAIM_BATCH))
		max = EMP_RECLAIM_BATCH;
	spin_lock(&inst->lru_lock);
	young = aware && emp_young_usable(inst);
	scan = 2 * (inst->nr_active + inst->nr_inactive) + 2;
again:
	pass = inst->nr_inactive;
	nt = 0;
	while (n + nt < max && scan-- > 0) {
		if (!aware && inst->nr_active) {
			/* Switched off: the active list drains, nothing unmapped. */
			emp_demote_one(inst);
			continue;
		}
		/*
		 * Refilled during the choice only when empty, or after a
		 * whole pass without a victim (the list may hold nothing but
		 * @self and busy blocks); else once the choice is made.
		 */
		if ((list_empty(&inst->inactive) ||
		     (!n && !nt && --pass < 0 && emp_inactive_low(inst, young))) &&
		    !emp_refill_one(inst, deact, &nd) && list_empty(&inst->inactive))
			break;
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
			 * while those deactivated get time to show their use.
			 */
			if (!emp_block_tryget(blk))
				break;
			set_bit(EMP_BLK_SEEN, &blk->flags);
			set_bit(EMP_BLK_CLEARING, &blk->flags);
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
		/*
		 * Its bits decide, read without the lock; unless this call
		 * came round to it again before it cleared them (a short
		 * list), when they tell nothing and it goes, as an unmapped
		 * block would.
		 */
		if (young && !test_bit(EMP_BLK_CLEARING, &blk->flags)) {
			WARN_ON_ONCE(!emp_block_tryget(blk));
			list_del_init(&blk->lru);
			inst->nr_inactive--;
			test[nt++] = blk;
			continue;
		}
		if (!mutex_trylock(&blk->lock)) {
			list_move_tail(&blk->lru, &inst->inactive);
			continue;
		}
take:
		emp_take_victim(inst, blk);
		victims[n++] = blk;
	}
	if (nt) {
		spin_unlock(&inst->lru_lock);
		n += emp_judge_young(inst, test, nt, victims + n, max - n);
		spin_lock(&inst->lru_lock);
		/* Those found in use took no victim's place: look further. */
		if (n < max && scan > 0)
			goto again;
	}
	/*
	 * The inactive list is refilled after the choice, not during it: a
	 * call that went round a short list took the blocks it had just
	 * demoted, hot ones among them, before anything could touch them.
	 */
	while (aware && emp_inactive_low(inst, young) && emp_refill_one(inst, deact, &nd))
		;
	spin_unlock(&inst->lru_lock);
	emp_deactivate(inst, deact, nd, young);
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
