// SPDX-License-Identifier: GPL-2.0
/*
 * Blocks: their lifetime (made at a fault, in the instance's index while
 * referenced, freed after an RCU grace period), their DRAM (a block at a
 * time, one compound page for whole-block mappings, or a subblock at a
 * time), and their teardown with the instance. The fault path
 * (emp_fault.c) and eviction (emp_cache.c) use them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "emp.h"

/*
 * Whole-block mappings. An instance with 2 MiB blocks made while huge_map
 * is on keeps each resident block in one compound page when the page
 * allocator has one at hand, and a fault on such a block reads every
 * subblock in before it returns a page of it: the core then maps the
 * whole block with one PMD entry (finish_fault()'s do_set_pmd(), when the
 * mapping is 2 MiB aligned and no page table is there yet), and a KVM
 * guest, whose nested page size follows the host mapping, gets a 2 MiB
 * mapping: one guest fault per block instead of one per 4 KiB page.
 * The costs: the first touch of a block waits for all of it; the first
 * write through a PMD marks the whole block dirty (the PMD is writable for
 * all of it), so eviction writes 2 MiB; a subblock that cannot be read
 * fails every access to its block. Such instances get no fault-around
 * (vm_insert_pages() needs VM_MIXEDMAP, under which the core would not
 * account a PMD-mapped compound page the way it unmaps it); the whole
 * block arrives on one fault anyway.
 */
static bool huge_map = true;
module_param(huge_map, bool, 0644);
MODULE_PARM_DESC(huge_map,
		 "instances made with 2 MiB blocks map each resident block whole, "
		 "with one PMD entry (a KVM guest gets 2 MiB mappings) (default Y)");

/**
 * emp_huge_possible() - whether a new instance gets whole-block mappings
 * @block_size: its block size
 *
 * Return: true when huge_map is on, the kernel has transparent huge pages
 * and a block is exactly what one PMD entry maps.
 */
bool emp_huge_possible(u32 block_size)
{
	return IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) && READ_ONCE(huge_map) &&
	       block_size == PMD_SIZE;
}

/* One compound page for a huge instance's block, if it comes easily. */
static bool emp_block_alloc_huge(struct emp_instance *inst, struct emp_block *blk,
				 struct page **pages)
{
	struct page *head;
	unsigned int i;

	head = alloc_pages(GFP_HIGHUSER | __GFP_COMP | __GFP_NORETRY | __GFP_NOWARN,
			   inst->block_shift - PAGE_SHIFT);
	if (!head)
		return false;
	/*
	 * Its page offset in the instance: finish_fault() maps no PMD past
	 * i_size, reckoned from the folio's index, which the allocator leaves
	 * as the page's last user set it (a CI run got 4 KiB PTEs only).
	 */
	page_folio(head)->index = blk->index << (inst->block_shift - PAGE_SHIFT);
	/* A compound page's struct pages are contiguous (nth_page() is gone). */
	for (i = 0; i < inst->block_pages; i++)
		pages[i] = head + i;
	return true;
}

/**
 * emp_block_tryget() - take a reference on a block found without one
 * @blk: a block seen in the index under RCU, or on a list under lru_lock
 *
 * Return: false if it is on its way to being freed.
 */
bool emp_block_tryget(struct emp_block *blk)
{
	return refcount_inc_not_zero(&blk->ref);
}

/**
 * emp_block_get() - find, or make, the block of a block number, referenced
 * @inst:  the instance
 * @index: block number, below the instance's block count
 * @make:  make it (not resident yet) when the index has none
 *
 * Context: Process context; may sleep to allocate when @make.
 * Return: the block with a reference (emp_block_put() it), or NULL when
 * there is none and @make is false, or out of memory.
 */
struct emp_block *emp_block_get(struct emp_instance *inst, unsigned long index, bool make)
{
	struct emp_block *blk, *old;
	size_t size;

	for (;;) {
		rcu_read_lock();
		blk = xa_load(&inst->blocks, index);
		if (blk && !emp_block_tryget(blk))
			blk = NULL;	/* retired, about to leave the index */
		rcu_read_unlock();
		if (blk || !make)
			return blk;
		size = sizeof(*blk) + EMP_NR_MAPS * inst->bitmap_longs * sizeof(long) +
		       inst->block_pages * sizeof(struct page *);
		blk = kzalloc(size, GFP_KERNEL);
		if (!blk)
			return NULL;
		mutex_init(&blk->lock);
		INIT_LIST_HEAD(&blk->lru);
		refcount_set(&blk->ref, 2);	/* the index's and the caller's */
		blk->index = index;
		old = xa_cmpxchg(&inst->blocks, index, NULL, blk, GFP_KERNEL);
		if (!old) {
			atomic_long_add(ksize(blk), &inst->meta_bytes);
			emp_note_new_block(inst, blk);
			return blk;
		}
		mutex_destroy(&blk->lock);
		kfree(blk);
		if (xa_is_err(old))
			return NULL;
		/* Somebody made it first (or a retired one is still leaving). */
		cond_resched();
	}
}

static void emp_block_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct emp_block, rcu));
}

/**
 * emp_block_put() - drop a reference; the last one frees the block
 * @inst: the instance
 * @blk:  the block
 *
 * Context: Any context but hard IRQ (the free waits for an RCU grace period).
 */
void emp_block_put(struct emp_instance *inst, struct emp_block *blk)
{
	if (!refcount_dec_and_test(&blk->ref))
		return;
	atomic_long_sub(ksize(blk), &inst->meta_bytes);
	mutex_destroy(&blk->lock);
	/*
	 * After a grace period (lookups under RCU, emp_bg_end_io()'s wake-up);
	 * call_rcu() rather than kfree_rcu(), whose batches wait seconds:
	 * destroy's rcu_barrier() then gives all of it back at once.
	 */
	call_rcu(&blk->rcu, emp_block_free_rcu);
}

/**
 * emp_block_retire() - take a block that is not resident out of the index
 * @inst: the instance
 * @blk:  the block; the caller holds blk->lock and a reference
 *
 * Faults waiting for its lock find it dead and look the number up again.
 */
void emp_block_retire(struct emp_instance *inst, struct emp_block *blk)
{
	if (test_and_set_bit(EMP_BLK_DEAD, &blk->flags))
		return;
	xa_cmpxchg(&inst->blocks, blk->index, blk, NULL, 0);
	emp_block_put(inst, blk);	/* the index's reference */
}

/*
 * Spare pages. Eviction used to free its victims' pages and the next
 * faults to allocate fresh ones: the page allocator on every fault and,
 * on Debian's kernels (init_on_alloc=1), the clearing of every page it
 * hands out, which under TCG cost a fault 7-23 us (docs/bench.md) for
 * bytes the tier's read then overwrites. Now an evicted page goes to the
 * instance's spare list, up to the reclaimer's high watermark, and faults
 * take their pages from there first; below a full budget the faults
 * allocate spare pages ahead while they wait for their reads
 * (emp_spare_fill()), so that the next ones find them too. A page that
 * arrives zero-filled is cleared by emp_zero_sub() as before; every other
 * page is overwritten whole by its read.
 *
 * The budget: spare pages are not charged (resident_pages counts the
 * pages of blocks), but they hold DRAM, so resident + spare must stay
 * within the budget. These rules keep it so:
 * - a page goes to the spare list before its charge is given back
 *   (eviction), or while the charge taken for its allocation is still
 *   held (emp_spare_fill(), which allocates only while resident + spare
 *   stays below the budget);
 * - a fault that has charged its pages takes from the spare list before
 *   it allocates anything (one that found the list empty while an
 *   eviction added a page is made up for by that eviction's uncharge);
 * - a budget lowered empties the list (emp_instance_resize()).
 *
 * Only a page nobody else holds is kept: one that a get_user_pages() user
 * (O_DIRECT, vhost) still holds stays theirs until they let go, and must
 * not take another block's data meanwhile.
 */
static bool spare_pages = true;
module_param(spare_pages, bool, 0644);
MODULE_PARM_DESC(spare_pages,
		 "evicted pages are kept (up to the reclaimer's high watermark, within the "
		 "budget) for the next faults, and allocated ahead while faults wait for their "
		 "reads, instead of each fault allocating (and clearing) fresh pages (default Y)");

static unsigned int free_quarantine;

/* Most spare pages @inst keeps: 0 without a reclaimer (nothing to recycle). */
static unsigned long emp_spare_cap(struct emp_instance *inst)
{
	if (!READ_ONCE(spare_pages) || READ_ONCE(free_quarantine) || inst->huge)
		return 0;
	return emp_reclaim_high_pages(inst);
}

/**
 * emp_spare_keep() - keep a page given up by a block for the next faults
 * @inst: the instance
 * @page: an order-0 page of an evicted block, unlocked; the caller's
 *        reference goes to the spare list if it is kept
 *
 * Context: Any context but hard IRQ; takes spare_lock.
 * Return: true if kept; else the caller frees it.
 */
bool emp_spare_keep(struct emp_instance *inst, struct page *page)
{
	unsigned long cap = emp_spare_cap(inst);
	bool kept = false;

	if (!cap || PageCompound(page) || page_count(page) != 1)
		return false;
	spin_lock(&inst->spare_lock);
	if (inst->nr_spare < cap) {
		list_add(&page->lru, &inst->spare);
		inst->nr_spare++;
		kept = true;
	}
	spin_unlock(&inst->spare_lock);
	return kept;
}

/* Spare pages into the empty slots of @pages[0..@n). Return: how many. */
static unsigned int emp_spare_take(struct emp_instance *inst, struct page **pages,
				   unsigned int n)
{
	unsigned int i, got = 0;

	if (!READ_ONCE(inst->nr_spare))
		return 0;
	spin_lock(&inst->spare_lock);
	for (i = 0; i < n && inst->nr_spare; i++) {
		if (pages[i])
			continue;
		pages[i] = list_first_entry(&inst->spare, struct page, lru);
		list_del(&pages[i]->lru);
		inst->nr_spare--;
		got++;
	}
	inst->spare_taken += got;
	spin_unlock(&inst->spare_lock);
	return got;
}

/**
 * emp_spare_fill() - allocate spare pages while a fault waits for its read
 * @inst: the instance
 * @max:  at most this many (the pages the read is for: what the fault took)
 * @pending: the read's count of parts in flight plus the caller's one: no
 *           page is begun once only the caller's is left (on a polled
 *           tier the read is reaped after, by the caller's poll)
 *
 * Below a full budget nothing is evicted, so nothing refills the spare
 * list: the faults refill it themselves, in the time they would spend
 * sleeping or spinning until their reads are over, so that the next fault
 * finds its pages ready. Only while the budget has room beyond the
 * reclaimer's high watermark for them, the resident pages and the spare
 * ones (twice that to begin): nearer a full budget eviction fills the
 * list at no cost, and pages allocated there would only push evicted ones
 * back to the allocator. (A worker that allocated ahead on another CPU
 * was tried first: it took that CPU from a tier's own work, rxe's or
 * QEMU's NVMe emulation, and the faults' p99 rose 1.4-2x under TCG.)
 * Each page is charged while it is allocated, and its charge given back
 * once it is on the list.
 *
 * Context: Process context; may sleep to allocate.
 */
void emp_spare_fill(struct emp_instance *inst, unsigned int max, atomic_t *pending)
{
	unsigned long cap = emp_spare_cap(inst);
	long room = (long)READ_ONCE(inst->budget_pages) - atomic_long_read(&inst->resident_pages) -
		    (long)READ_ONCE(inst->nr_spare);
	struct page *page;

	/* Well away from a full budget only (see above). */
	if (room <= (long)(2 * cap))
		return;
	while (max-- && READ_ONCE(inst->nr_spare) < cap && atomic_read(pending) > 1) {
		if (!emp_cache_trycharge(inst, 1, READ_ONCE(inst->nr_spare) + cap))
			return;
		page = alloc_page(GFP_HIGHUSER | __GFP_NORETRY | __GFP_NOWARN);
		if (page && !emp_spare_keep(inst, page)) {
			put_page(page);
			page = NULL;
		}
		emp_cache_uncharge(inst, 1);
		if (!page)
			return;
	}
}

/**
 * emp_spare_init() - set up the spare pages of a new instance
 * @inst: the instance
 */
void emp_spare_init(struct emp_instance *inst)
{
	spin_lock_init(&inst->spare_lock);
	INIT_LIST_HEAD(&inst->spare);
	inst->nr_spare = 0;
}

/**
 * emp_spare_drain() - free every spare page of @inst
 * @inst: the instance (its budget lowered, or going away)
 *
 * Context: Process context.
 */
void emp_spare_drain(struct emp_instance *inst)
{
	struct page *page, *tmp;
	LIST_HEAD(pages);

	spin_lock(&inst->spare_lock);
	list_splice_init(&inst->spare, &pages);
	inst->nr_spare = 0;
	spin_unlock(&inst->spare_lock);
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		list_del(&page->lru);
		put_page(page);
	}
}

#define EMP_ALLOC_TRIES	3

/*
 * Fill @pages[0..@n), charged to the budget by the caller: spare pages
 * first, then the page allocator (a page gets EMP_ALLOC_TRIES attempts).
 * Return: 0, or -ENOMEM with none left.
 */
static int emp_alloc_pages(struct emp_instance *inst, struct page **pages, unsigned int n)
{
	unsigned int i, try;

	emp_spare_take(inst, pages, n);
	for (i = 0; i < n; i++) {
		/*
		 * A block is up to 512 pages: one transient failure must not
		 * fail the whole fault, or a fault answered VM_FAULT_OOM is
		 * retried by the kernel and fails again, forever, while
		 * allocations keep failing now and then (the debug lane's
		 * fault injection showed it). Persistent failure still gives
		 * -ENOMEM.
		 */
		for (try = 0; try < EMP_ALLOC_TRIES && !pages[i]; try++)
			pages[i] = alloc_page(GFP_HIGHUSER | __GFP_NOWARN);
		if (!pages[i])
			goto out_free;
	}
	return 0;

out_free:
	for (i = 0; i < n; i++) {
		if (pages[i])
			put_page(pages[i]);
		pages[i] = NULL;
	}
	return -ENOMEM;
}

/*
 * DRAM a subblock at a time (on by default). It was off for a while: with
 * it, CI saw a hot set of 64K blocks lose 15-25 % of its pages to a scan
 * in emp_policy_test three times; the likely cause, the victim choice
 * taking blocks it had just demoted when it went round a short inactive
 * list, is fixed in emp_pick_victims(). make bench measured 64K/4K
 * random access at 0.5-1.3x of swap with it, 0.24-0.47x without.
 */
static bool sub_dram = true;
module_param(sub_dram, bool, 0644);
MODULE_PARM_DESC(sub_dram,
		 "new instances take DRAM a subblock at a time, as subblocks arrive, "
		 "instead of a block at a time (default Y)");

/**
 * emp_sub_dram_possible() - whether a new instance takes DRAM per subblock
 * @huge: whether it gets whole-block mappings (those take whole blocks)
 */
bool emp_sub_dram_possible(bool huge)
{
	return !huge && READ_ONCE(sub_dram);
}

/*
 * Make a block resident. A block of an instance with whole-block mappings
 * (inst->huge) gets all its DRAM now, one compound page if it can, charged
 * to the budget as a whole; so does any block unless the instance takes
 * DRAM a subblock at a time (inst->sub_dram: emp_sub_pages() gives a
 * subblock its pages as it arrives, so a block random access touched once
 * costs one subblock of the budget, not the whole block). @may_wait: evict
 * or wait for room, as a fault does; else take free budget only, as
 * read-ahead does (-ENOSPC without it).
 */
int emp_block_populate(struct emp_instance *inst, struct emp_block *blk, bool may_wait)
{
	struct page **pages = emp_block_pages(inst, blk);
	int err;

	if (!inst->sub_dram) {
		if (may_wait) {
			err = emp_cache_charge(inst, blk, inst->block_pages);
			if (err)
				return err;
		} else if (!emp_cache_trycharge(inst, inst->block_pages,
						emp_reclaim_fault_reserve(inst))) {
			return -ENOSPC;
		}
		if (inst->huge && emp_block_alloc_huge(inst, blk, pages)) {
			set_bit(EMP_BLK_HUGE, &blk->flags);
		} else if (emp_alloc_pages(inst, pages, inst->block_pages)) {
			/* A huge one failing that: single pages, mapped one by one. */
			emp_cache_uncharge(inst, inst->block_pages);
			return -ENOMEM;
		}
	}
	set_bit(EMP_BLK_RESIDENT, &blk->flags);
	emp_lru_add(inst, blk);
	return 0;
}

/*
 * Give subblock @sub of resident @blk its DRAM pages, charged to the
 * budget, unless it has them (they stay until the block is evicted, also
 * when a read into them failed). @may_wait: evict or wait for room, as a
 * fault does; else take free budget only, as read-ahead does, and leave
 * part of the reclaimer's reserve to the faults.
 * Context: caller holds blk->lock.
 * Return: 0, -ENOSPC (no free budget, !@may_wait), -ENOMEM, or
 * emp_cache_charge()'s error (-EAGAIN: let go of blk->lock and retry).
 */
int emp_sub_pages(struct emp_instance *inst, struct emp_block *blk, unsigned int sub,
		  bool may_wait)
{
	struct page **pages = emp_block_pages(inst, blk) + sub * inst->sub_pages;
	int err;

	if (pages[0])
		return 0;
	if (may_wait) {
		err = emp_cache_charge(inst, blk, inst->sub_pages);
		if (err)
			return err;
	} else if (!emp_cache_trycharge(inst, inst->sub_pages, emp_reclaim_fault_reserve(inst))) {
		return -ENOSPC;
	}
	err = emp_alloc_pages(inst, pages, inst->sub_pages);
	if (err)
		emp_cache_uncharge(inst, inst->sub_pages);
	return err;
}

/* A never-written subblock arrives: zeros, no I/O. */
void emp_zero_sub(struct emp_instance *inst, struct emp_block *blk, unsigned int sub)
{
	struct page **pages = emp_block_pages(inst, blk) + sub * inst->sub_pages;
	unsigned int i;

	for (i = 0; i < inst->sub_pages; i++)
		clear_highpage(pages[i]);
	set_bit(sub, emp_blk_map(inst, blk, EMP_MAP_PRESENT));
	emp_count(inst, zero_fills);
}

/*
 * Debugging aid: a quarantine of freed block pages. With free_quarantine=N
 * the pages eviction and teardown give up are filled with a poison byte
 * and kept (their reference held, so the page allocator cannot hand them
 * out, e.g. as kernel stacks) until N more have followed; the poison is
 * checked before a page really goes. A transfer still writing into a
 * block's pages after they were given up (a read that eviction did not
 * wait for) then shows as a report naming the page and the bytes found
 * instead of as corruption of whatever the page became. Off by default.
 */
module_param(free_quarantine, uint, 0644);
MODULE_PARM_DESC(free_quarantine,
		 "debugging: keep the last N pages given up by eviction poisoned and check "
		 "the poison before freeing them (finds transfers into freed pages) (default 0)");

#define EMP_FREE_POISON	0x6b

static DEFINE_SPINLOCK(emp_quarantine_lock);
static LIST_HEAD(emp_quarantine);
static unsigned long emp_quarantined;

/* Check the poison of a quarantined page (@nr pages from @page), then free it. */
static void emp_quarantine_release(struct page *page, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		u8 *addr = kmap_local_page(page + i);
		u8 *bad = memchr_inv(addr, EMP_FREE_POISON, PAGE_SIZE);

		if (bad) {
			unsigned int off = bad - addr;

			pr_err("freed page pfn %#lx written after it was freed: offset %u: %*ph\n",
			       page_to_pfn(page + i), off,
			       (int)min_t(unsigned int, 32, PAGE_SIZE - off), bad);
			WARN_ONCE(1, "emp: a freed block page was written to\n");
		}
		kunmap_local(addr);
	}
	put_page(page);
}

/* Pages left in quarantine past @keep, freed. */
static void emp_quarantine_trim(unsigned long keep)
{
	struct page *page;

	for (;;) {
		spin_lock(&emp_quarantine_lock);
		if (emp_quarantined <= keep || list_empty(&emp_quarantine)) {
			spin_unlock(&emp_quarantine_lock);
			return;
		}
		page = list_first_entry(&emp_quarantine, struct page, lru);
		list_del(&page->lru);
		emp_quarantined -= 1U << compound_order(page);
		spin_unlock(&emp_quarantine_lock);
		emp_quarantine_release(page, 1U << compound_order(page));
	}
}

/**
 * emp_block_page_put() - give up a page (or compound page) of a block
 * @page: the page; the caller's reference goes
 *
 * Context: Process context (no transfer may still use the page).
 */
void emp_block_page_put(struct page *page)
{
	unsigned int keep = READ_ONCE(free_quarantine), nr, i;

	if (!keep) {
		put_page(page);
		if (READ_ONCE(emp_quarantined))
			emp_quarantine_trim(0);
		return;
	}
	nr = 1U << compound_order(page);
	for (i = 0; i < nr; i++)
		memset_page(page + i, 0, EMP_FREE_POISON, PAGE_SIZE);
	spin_lock(&emp_quarantine_lock);
	list_add_tail(&page->lru, &emp_quarantine);
	emp_quarantined += nr;
	spin_unlock(&emp_quarantine_lock);
	emp_quarantine_trim(keep);
}

/**
 * emp_block_pages_exit() - free what the quarantine holds
 *
 * Context: Module exit.
 */
void emp_block_pages_exit(void)
{
	emp_quarantine_trim(0);
}

/**
 * emp_blocks_free() - free every block of an instance being destroyed
 * @inst: the instance; nothing maps it and no fault can start
 *
 * Context: Process context, sleeps until background reads are over.
 */
void emp_blocks_free(struct emp_instance *inst)
{
	struct emp_block *blk;
	unsigned long index;
	unsigned int i;

	xa_for_each(&inst->blocks, index, blk)
		wait_var_event(&blk->inflight, !atomic_read(&blk->inflight));
	synchronize_rcu();	/* see emp_bg_end_io() */
	xa_for_each(&inst->blocks, index, blk) {
		struct page **pages = emp_block_pages(inst, blk);

		if (test_bit(EMP_BLK_RESIDENT, &blk->flags)) {
			unsigned int step = emp_block_step(inst, blk);
			long freed = 0;

			for (i = 0; i < inst->block_pages; i += step) {
				if (!pages[i])	/* a subblock that never arrived */
					continue;
				emp_block_page_put(pages[i]);
				freed += step;
			}
			emp_cache_uncharge(inst, freed);
		}
		/* Nobody else holds a reference now: this frees it. */
		WARN_ON_ONCE(refcount_read(&blk->ref) != 1);
		emp_block_put(inst, blk);
	}
	xa_destroy(&inst->blocks);
}
