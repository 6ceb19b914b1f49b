// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path: a fault on an instance mapping finds (or makes) the
 * block, makes it resident within the DRAM budget, fetches the faulting
 * subblock from the block's tier (or zero-fills a never-written one), maps
 * the page, and lets the rest of the block arrive in the background.
 * Writes are seen through page_mkwrite, which marks the subblock dirty.
 *
 * No lock is shared by faults on different blocks except the per-CPU
 * counters and, briefly, the eviction clock's spinlock when a block is made
 * resident or evicted.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "emp.h"
#include "emp_compat.h"

static bool fault_around = true;
module_param(fault_around, bool, 0644);
MODULE_PARM_DESC(fault_around,
		 "on a fault, also map the block's other resident pages (default Y)");

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

#define EMP_ALLOC_TRIES	3

/*
 * Allocate @n pages into @pages (a page gets EMP_ALLOC_TRIES attempts).
 * Return: 0, or -ENOMEM with none left allocated.
 */
static int emp_alloc_pages(struct page **pages, unsigned int n)
{
	unsigned int i, try;

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
	while (i--) {
		put_page(pages[i]);
		pages[i] = NULL;
	}
	return -ENOMEM;
}

/*
 * DRAM a subblock at a time. Off by default: with it, a hot set of 64K
 * blocks lost 15-25 % of its pages to a scan in some CI runs of
 * emp_policy_test (not in the same test's runs under load, and never with
 * whole-block charging), cause not found yet. make bench measured 64K/4K
 * random access at 0.7-1.3x of swap with it, 0.24-0.32x without.
 */
static bool sub_dram;
module_param(sub_dram, bool, 0644);
MODULE_PARM_DESC(sub_dram,
		 "new instances take DRAM a subblock at a time, as subblocks arrive, "
		 "instead of a block at a time (experimental, default N)");

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
static int emp_block_populate(struct emp_instance *inst, struct emp_block *blk,
			      bool may_wait)
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
		} else if (emp_alloc_pages(pages, inst->block_pages)) {
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
static int emp_sub_pages(struct emp_instance *inst, struct emp_block *blk,
			 unsigned int sub, bool may_wait)
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
	err = emp_alloc_pages(pages, inst->sub_pages);
	if (err)
		emp_cache_uncharge(inst, inst->sub_pages);
	return err;
}

static void emp_zero_sub(struct emp_instance *inst, struct emp_block *blk,
			 unsigned int sub)
{
	struct page **pages = emp_block_pages(inst, blk) + sub * inst->sub_pages;
	unsigned int i;

	for (i = 0; i < inst->sub_pages; i++)
		clear_highpage(pages[i]);
	set_bit(sub, emp_blk_map(inst, blk, EMP_MAP_PRESENT));
	emp_count(inst, zero_fills);
}

static void emp_io_failed(struct emp_instance *inst)
{
	this_cpu_inc(inst->stats->io_errors);
	set_bit(ilog2(EMP_STATE_IO_ERROR), &inst->state);
}

/* Fetch one subblock now: the one the faulting access needs. */
static int emp_fetch_sub(struct emp_instance *inst, struct emp_block *blk,
			 unsigned int sub)
{
	struct page **pages = emp_block_pages(inst, blk) + sub * inst->sub_pages;
	struct emp_backend *be;
	u64 pos;
	int err;

	err = emp_sub_pages(inst, blk, sub, true);
	if (err)
		return err;
	if (!emp_sub_stored(inst, blk, sub)) {
		emp_zero_sub(inst, blk, sub);
		return 0;
	}
	be = emp_tier_of(inst, blk->index, &pos);
	err = emp_tier_rw_sync(be, EMP_IO_READ, pos + ((u64)sub << inst->sub_shift),
			       pages, inst->sub_pages);
	if (err) {
		emp_io_failed(inst);
		pr_warn_ratelimited("%s: read of block %lu subblock %u failed: %d\n",
				    inst->name, blk->index, sub, err);
		return err;
	}
	set_bit(sub, emp_blk_map(inst, blk, EMP_MAP_PRESENT));
	emp_count(inst, fetches);
	return 0;
}

/* A background read of a run of subblocks. */
struct emp_bg_io {
	struct emp_tier_io io;
	struct emp_instance *inst;
	struct emp_backend *be;
	struct emp_block *blk;
	unsigned int first;
	unsigned int nr;
};

static void emp_bg_end_io(struct emp_tier_io *io, int err)
{
	struct emp_bg_io *b = container_of(io, struct emp_bg_io, io);
	struct emp_instance *inst = b->inst;
	struct emp_block *blk = b->blk;
	unsigned int i;

	emp_tier_account(b->be, io, err);
	if (err) {
		emp_io_failed(inst);
	} else {
		this_cpu_add(inst->stats->fetches, b->nr);
		this_cpu_add(inst->stats->prefetched, b->nr);
	}
	/* The data before the PRESENT bits: emp_map_around() maps on them. */
	smp_wmb();
	for (i = b->first; i < b->first + b->nr; i++) {
		if (!err)
			set_bit(i, emp_blk_map(inst, blk, EMP_MAP_PRESENT));
		clear_bit(i, emp_blk_map(inst, blk, EMP_MAP_BUSY));
	}
	kfree(b);
	/*
	 * Instance teardown waits for inflight to reach zero and then for an
	 * RCU grace period, so the block (and this module) outlive the wake-up.
	 */
	rcu_read_lock();
	smp_mb__before_atomic();
	atomic_dec(&blk->inflight);
	smp_mb__after_atomic();
	wake_up_var(&blk->inflight);
	rcu_read_unlock();
}

/*
 * Read ahead subblocks [@first, @end) of @blk: zero-fill the never-written
 * ones and start background reads of the stored ones that are neither
 * present nor being read, adjacent subblocks merged. With @mark, they get
 * the AHEAD bit (emp_readahead.c). A run whose request cannot be allocated
 * is left for its own fault. The caller holds blk->lock.
 */
static void emp_read_ahead(struct emp_instance *inst, struct emp_block *blk,
			   unsigned int first, unsigned int end, bool mark)
{
	unsigned long *present = emp_blk_map(inst, blk, EMP_MAP_PRESENT);
	unsigned long *busy = emp_blk_map(inst, blk, EMP_MAP_BUSY);
	unsigned long *ahead = emp_blk_map(inst, blk, EMP_MAP_AHEAD);
	unsigned int max_run = 256 / inst->sub_pages;
	unsigned int sub = first, stop, i;
	struct emp_backend *be;
	struct emp_bg_io *b;
	u64 pos;

	be = emp_tier_of(inst, blk->index, &pos);
	while ((sub = find_next_zero_bit(present, end, sub)) < end) {
		if (test_bit(sub, busy)) {
			sub++;
			continue;
		}
		/* Read-ahead takes free budget only: not worth an eviction. */
		if (emp_sub_pages(inst, blk, sub, false))
			break;
		if (!emp_sub_stored(inst, blk, sub)) {
			if (mark)
				set_bit(sub, ahead);
			emp_zero_sub(inst, blk, sub);
			sub++;
			continue;
		}
		for (stop = sub + 1; stop < end && stop - sub < max_run; stop++)
			if (test_bit(stop, present) || test_bit(stop, busy) ||
			    !emp_sub_stored(inst, blk, stop) ||
			    emp_sub_pages(inst, blk, stop, false))
				break;
		/* GFP_NOIO: see emp_bdev_submit(); failure only costs a later fault. */
		b = kmalloc(sizeof(*b), GFP_NOIO | __GFP_NOWARN);
		if (!b)
			break;
		b->inst = inst;
		b->be = be;
		b->blk = blk;
		b->first = sub;
		b->nr = stop - sub;
		b->io.dir = EMP_IO_READ;
		b->io.pos = pos + ((u64)sub << inst->sub_shift);
		b->io.pages = emp_block_pages(inst, blk) + sub * inst->sub_pages;
		b->io.nr_pages = b->nr * inst->sub_pages;
		b->io.end_io = emp_bg_end_io;
		for (i = sub; i < stop; i++) {
			if (mark)
				set_bit(i, ahead);
			set_bit(i, busy);
		}
		atomic_inc(&blk->inflight);
		be->ops->submit(be, &b->io);
		sub = stop;
	}
}

/*
 * Read-ahead past the end of block @index: the first subblocks of the
 * blocks after it, @left subblocks in all. It takes free budget only (a
 * block not resident yet becomes resident only if the budget has room for
 * it) and stops at a block whose lock is taken (a fault or an eviction is
 * at it: trylock, as eviction takes its victims' locks, so holding the
 * faulting block's lock here cannot deadlock) or that gets nothing.
 * Context: the caller holds the lock of block @index.
 */
static void emp_read_ahead_next(struct emp_instance *inst, unsigned long index,
				unsigned long left)
{
	unsigned long nr_blocks = inst->size >> inst->block_shift;
	struct emp_block *nb;
	unsigned int n;

	while (left && ++index < nr_blocks) {
		n = min_t(unsigned long, left, inst->sub_per_block);
		nb = emp_block_get(inst, index, true);
		if (!nb)
			return;
		if (!mutex_trylock(&nb->lock)) {
			emp_block_put(inst, nb);
			return;
		}
		/*
		 * Taking DRAM per subblock, a block is resident before any
		 * arrives: its first one's DRAM first, so that no empty block
		 * is left resident when the budget has no room.
		 */
		if (test_bit(EMP_BLK_DEAD, &nb->flags) ||
		    (!test_bit(EMP_BLK_RESIDENT, &nb->flags) &&
		     ((inst->sub_dram && emp_sub_pages(inst, nb, 0, false)) ||
		      emp_block_populate(inst, nb, false)))) {
			/* Not resident: it leaves no metadata behind. */
			if (!test_bit(EMP_BLK_RESIDENT, &nb->flags))
				emp_block_retire(inst, nb);
			mutex_unlock(&nb->lock);
			emp_block_put(inst, nb);
			return;
		}
		emp_read_ahead(inst, nb, 0, n, true);
		mutex_unlock(&nb->lock);
		emp_block_put(inst, nb);
		left -= n;
	}
}

/*
 * Before a huge block is handed to the core for a PMD mapping, every
 * subblock must be present: wait for the background reads, then read
 * synchronously what is still missing (a read that failed or that could
 * not be started). The caller holds blk->lock.
 * Return: 0, -EAGAIN for a fault that must not wait, or a read's error.
 */
static int emp_block_complete(struct emp_instance *inst, struct emp_block *blk,
			      bool nowait)
{
	unsigned long *present = emp_blk_map(inst, blk, EMP_MAP_PRESENT);
	unsigned int sub;
	int err;

	if (bitmap_full(present, inst->sub_per_block))
		return 0;
	if (nowait)
		return -EAGAIN;
	wait_var_event(&blk->inflight, !atomic_read(&blk->inflight));
	for_each_clear_bit(sub, present, inst->sub_per_block) {
		err = emp_fetch_sub(inst, blk, sub);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Fault-around: map the block's other pages whose subblocks are present
 * into this VMA now, so that touching them costs no fault (a read costs
 * nothing; the first write goes to page_mkwrite, which keeps the dirty
 * tracking: vm_page_prot of a shared writable instance mapping is
 * read-only until then). Runs of pages go to vm_insert_pages(); a page
 * that is mapped already ends a run and is skipped. The caller holds
 * blk->lock, which keeps eviction (and its unmap) out until we are done.
 */
static void emp_map_around(struct vm_fault *vmf, struct emp_instance *inst,
			   struct emp_block *blk, unsigned long pib, bool ahead_too)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long *present = emp_blk_map(inst, blk, EMP_MAP_PRESENT);
	unsigned long *busy = emp_blk_map(inst, blk, EMP_MAP_BUSY);
	unsigned long *ahead = emp_blk_map(inst, blk, EMP_MAP_AHEAD);
	unsigned long base = (vmf->address & PAGE_MASK) - (pib << PAGE_SHIFT);
	unsigned int sub_pg = inst->sub_shift - PAGE_SHIFT;
	struct page **pages = emp_block_pages(inst, blk);
	unsigned long first = 0, last = inst->block_pages, i, n, left;
	unsigned long mapped = 0;
	int err;

	/* The part of the block this VMA maps (it may start or end inside). */
	if (base < vma->vm_start)
		first = (vma->vm_start - base) >> PAGE_SHIFT;
	if (base + ((unsigned long)inst->block_pages << PAGE_SHIFT) > vma->vm_end)
		last = (vma->vm_end - base) >> PAGE_SHIFT;
	smp_rmb();	/* pairs with emp_bg_end_io() */
	for (i = first; i < last; ) {
		/*
		 * A run: present, not being read, not the faulting page, and
		 * not read ahead unless this fault is the first on read-ahead
		 * data (so that fault is seen: emp_readahead.c).
		 */
		for (n = 0; i + n < last && i + n != pib &&
		     test_bit((i + n) >> sub_pg, present) &&
		     !test_bit((i + n) >> sub_pg, busy) &&
		     (ahead_too || !test_bit((i + n) >> sub_pg, ahead)); n++)
			;
		if (!n) {
			i++;
			continue;
		}
		left = n;
		err = vm_insert_pages(vma, base + (i << PAGE_SHIFT), pages + i, &left);
		if (ahead_too && n > left)
			bitmap_clear(ahead, i >> sub_pg,
				     ((i + n - left + (1U << sub_pg) - 1) >> sub_pg) - (i >> sub_pg));
		mapped += n - left;
		i += n - left;
		if (err == -EBUSY)
			i++;	/* mapped already (a racing fault): skip it */
		else if (err)
			break;	/* no memory for page tables: the faults will do */
	}
	if (mapped)
		this_cpu_add(inst->stats->mapped_around, mapped);
}

static void emp_account_fault(struct emp_instance *inst, u64 t0, bool hit)
{
	emp_count(inst, faults);
	if (hit)
		emp_count(inst, hits);
	this_cpu_inc(inst->stats->lat_fine[emp_lat_fine_bucket(ktime_get_ns() - t0)]);
}

/*
 * A fault that must not wait (FAULT_FLAG_RETRY_NOWAIT: KVM's first try at a
 * guest page, which it follows with an asynchronous page fault when the
 * guest takes them, or with a waiting try) and would wait for I/O or for a
 * lock held across I/O: answer VM_FAULT_RETRY with the mmap lock still
 * held, as the flag asks. The waiting try does the work.
 */
static vm_fault_t emp_fault_later(struct emp_instance *inst)
{
	emp_count(inst, nowait_retries);
	return VM_FAULT_RETRY;
}

/*
 * Before a fault sleeps for I/O or for a lock held across I/O, it lets go
 * of mmap_lock (or the per-VMA lock) when the kernel allows it on this
 * try, as filemap_fault() does: it pins the file (which keeps the instance
 * open, so it cannot be destroyed meanwhile), drops the lock, does the
 * work, and answers VM_FAULT_RETRY; the retry finds the page resident and
 * maps it. Other threads can then mmap, munmap and fault elsewhere in the
 * same process while this one waits. Return: the pinned file, or NULL if
 * the lock stays held.
 */
static struct file *emp_drop_fault_lock(struct vm_fault *vmf, bool may_drop,
					struct file *fpin)
{
	if (fpin || !may_drop)
		return fpin;
	fpin = get_file(vmf->vma->vm_file);
	emp_release_fault_lock(vmf);
	return fpin;
}

static vm_fault_t emp_vm_fault(struct vm_fault *vmf)
{
	struct emp_instance *inst = vmf->vma->vm_file->private_data;
	unsigned long pgoff = vmf->pgoff, index, pib;
	unsigned int sub, pg_shift = inst->block_shift - PAGE_SHIFT;
	bool nowait = vmf->flags & FAULT_FLAG_RETRY_NOWAIT;
	bool may_drop = !nowait && fault_flag_allow_retry_first(vmf->flags);
	bool hit = true, fresh = false, ra_hit = false;
	unsigned long *present, *busy;
	struct file *fpin = NULL;
	struct emp_block *blk;
	unsigned int win = 0;
	u64 t0 = ktime_get_ns();
	struct page *page;
	int err;

	if (pgoff >= inst->size >> PAGE_SHIFT) {
		emp_count(inst, sigbus);
		return VM_FAULT_SIGBUS;
	}
	index = pgoff >> pg_shift;
	pib = pgoff & (inst->block_pages - 1);
	sub = pib >> (inst->sub_shift - PAGE_SHIFT);
lookup:
	blk = emp_block_get(inst, index, !nowait);
	if (!blk) {
		if (nowait)
			return emp_fault_later(inst);	/* not resident: I/O */
		if (fpin) {
			fput(fpin);
			return VM_FAULT_RETRY | VM_FAULT_MAJOR;
		}
		return VM_FAULT_OOM;
	}
	present = emp_blk_map(inst, blk, EMP_MAP_PRESENT);
	busy = emp_blk_map(inst, blk, EMP_MAP_BUSY);
again:
	if (!mutex_trylock(&blk->lock)) {
		if (nowait) {
			emp_block_put(inst, blk);
			return emp_fault_later(inst);
		}
		fpin = emp_drop_fault_lock(vmf, may_drop, fpin);
		mutex_lock(&blk->lock);
	}
	if (test_bit(EMP_BLK_DEAD, &blk->flags)) {
		/* Evicted while we waited: its number has a new block, or none. */
		mutex_unlock(&blk->lock);
		emp_block_put(inst, blk);
		goto lookup;
	}
	if (!test_bit(EMP_BLK_RESIDENT, &blk->flags)) {
		/* Making it resident may evict, fetch or both. */
		if (nowait)
			goto later;
		fpin = emp_drop_fault_lock(vmf, may_drop, fpin);
		err = emp_block_populate(inst, blk, true);
		if (err)
			goto out_err;
		hit = false;
		fresh = true;
	}
	if (!test_bit(sub, present)) {
		hit = false;
		if (test_bit(sub, busy)) {
			/* Its background read is on the way: wait for it. */
			if (nowait)
				goto later;
			fpin = emp_drop_fault_lock(vmf, may_drop, fpin);
			mutex_unlock(&blk->lock);
			wait_var_event(&blk->inflight, !test_bit(sub, busy));
			goto again;
		}
		if (emp_sub_stored(inst, blk, sub)) {
			if (nowait)
				goto later;	/* a tier read */
			fpin = emp_drop_fault_lock(vmf, may_drop, fpin);
		} else if (nowait && emp_sub_pages(inst, blk, sub, false)) {
			goto later;	/* DRAM to find first: maybe an eviction */
		}
		if (!test_bit(EMP_BLK_HUGE, &blk->flags))
			win = emp_ra_window(inst, blk, sub);
		err = emp_fetch_sub(inst, blk, sub);
		if (err == -EAGAIN) {
			/* No victim but locked ones: see emp_cache_charge(). */
			mutex_unlock(&blk->lock);
			schedule_timeout_uninterruptible(1);
			goto again;
		}
		if (err)
			goto out_err;
	} else {
		ra_hit = emp_ra_hit(inst, blk, sub);
	}
	if (test_bit(EMP_BLK_HUGE, &blk->flags)) {
		/* All of it, before the core maps it whole. */
		if (fresh)
			emp_read_ahead(inst, blk, 0, inst->sub_per_block, false);
		if (!bitmap_full(present, inst->sub_per_block) && !nowait)
			fpin = emp_drop_fault_lock(vmf, may_drop, fpin);
		err = emp_block_complete(inst, blk, nowait);
		if (err == -EAGAIN)
			goto later;
		if (err)
			goto out_err;
	} else if (win) {
		unsigned int in_blk = min(win, inst->sub_per_block - 1 - sub);

		emp_read_ahead(inst, blk, sub + 1, sub + 1 + in_blk, true);
		if (win > in_blk)
			emp_read_ahead_next(inst, blk->index, win - in_blk);
	}
	emp_block_touch(inst, blk);
	if (fpin) {
		/* The lock is gone, and the VMA may be: the retry maps it. */
		mutex_unlock(&blk->lock);
		emp_block_put(inst, blk);
		fput(fpin);
		emp_account_fault(inst, t0, hit);
		/*
		 * MAJOR: after a retry answered under the per-VMA lock, only
		 * that makes the kernel mark the retry FAULT_FLAG_TRIED.
		 */
		return VM_FAULT_RETRY | VM_FAULT_MAJOR;
	}
	if (test_bit(EMP_BLK_HUGE, &blk->flags))
		emp_count(inst, huge_faults);
	else if (READ_ONCE(fault_around) && !inst->huge && inst->block_pages > 1)
		emp_map_around(vmf, inst, blk, pib, ra_hit);
	page = emp_block_pages(inst, blk)[pib];
	get_page(page);
	/*
	 * Returned locked: eviction locks every page of a block before it
	 * unmaps it, so it waits until the core has installed this mapping
	 * (a huge block's pages share one lock, the compound page's).
	 */
	lock_page(page);
	mutex_unlock(&blk->lock);
	emp_block_put(inst, blk);
	vmf->page = page;
	/*
	 * The retry of a try that let go of the lock (FAULT_FLAG_TRIED) and
	 * finds the page resident is that fault's end, counted by the try.
	 */
	if (!(hit && (vmf->flags & FAULT_FLAG_TRIED)))
		emp_account_fault(inst, t0, hit);
	return VM_FAULT_LOCKED;

later:
	if (!test_bit(EMP_BLK_RESIDENT, &blk->flags))
		emp_block_retire(inst, blk);
	mutex_unlock(&blk->lock);
	emp_block_put(inst, blk);
	return emp_fault_later(inst);

out_err:
	/* A block that did not become resident leaves no metadata behind. */
	if (!test_bit(EMP_BLK_RESIDENT, &blk->flags))
		emp_block_retire(inst, blk);
	mutex_unlock(&blk->lock);
	emp_block_put(inst, blk);
	if (fpin) {
		/*
		 * Without the lock only "retry" may be answered: the retry,
		 * which keeps the lock, meets the error again and answers it.
		 */
		fput(fpin);
		return VM_FAULT_RETRY | VM_FAULT_MAJOR;
	}
	emp_account_fault(inst, t0, false);
	if (err == -ENOMEM)
		return VM_FAULT_OOM;
	emp_count(inst, sigbus);
	return VM_FAULT_SIGBUS;
}

/*
 * Nothing to map here: a fault maps its block's resident pages itself
 * (emp_map_around(), with vm_insert_pages(), which this context cannot
 * use). Having ->map_pages tells kernels with per-VMA locks (6.4 and
 * later) that ->fault may run under the VMA lock alone, so faults on an
 * instance no longer fail under it first and start again under mmap_lock.
 */
static vm_fault_t emp_vm_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
				   pgoff_t end_pgoff)
{
	return 0;
}

/*
 * First write to a mapped page: mark its subblock dirty, or every
 * subblock of a huge block, which the core may map writable with one PMD
 * entry. The page lock orders this against eviction, which clears the
 * block's page pointers while holding every page lock; a page that is no
 * longer the block's is refaulted.
 */
static vm_fault_t emp_vm_page_mkwrite(struct vm_fault *vmf)
{
	struct emp_instance *inst = vmf->vma->vm_file->private_data;
	unsigned long index = vmf->pgoff >> (inst->block_shift - PAGE_SHIFT);
	unsigned long pib = vmf->pgoff & (inst->block_pages - 1);
	struct page *page = vmf->page;
	struct emp_block *blk;

	blk = emp_block_get(inst, index, false);
	lock_page(page);
	if (!blk || READ_ONCE(emp_block_pages(inst, blk)[pib]) != page) {
		unlock_page(page);
		if (blk)
			emp_block_put(inst, blk);
		return VM_FAULT_NOPAGE;
	}
	if (test_bit(EMP_BLK_HUGE, &blk->flags))
		bitmap_set(emp_blk_map(inst, blk, EMP_MAP_DIRTY), 0, inst->sub_per_block);
	else
		set_bit(pib >> (inst->sub_shift - PAGE_SHIFT),
			emp_blk_map(inst, blk, EMP_MAP_DIRTY));
	/* The page lock keeps eviction, and so the block's end, away. */
	emp_block_put(inst, blk);
	return VM_FAULT_LOCKED;
}

/* A mapping split or copied (fork): the new VMA is one more to read. */
static void emp_vm_open(struct vm_area_struct *vma)
{
	emp_vma_track(vma->vm_file->private_data, vma);
}

static void emp_vm_close(struct vm_area_struct *vma)
{
	emp_vma_untrack(vma->vm_file->private_data, vma);
}

const struct vm_operations_struct emp_vm_ops = {
	.open		= emp_vm_open,
	.close		= emp_vm_close,
	.fault		= emp_vm_fault,
	.map_pages	= emp_vm_map_pages,
	.page_mkwrite	= emp_vm_page_mkwrite,
};

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
				put_page(pages[i]);
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

/**
 * emp_vma_instance - the instance an EMP mapping maps (for emp_kvm.ko)
 * @vma:    a VMA; the caller holds its mm's mmap lock
 * @name:   EMP_NAME_MAX bytes, gets the instance name
 * @offset: gets the instance offset of vma->vm_start
 *
 * The instance cannot go while the mapping exists (the mapping's file
 * keeps it open, and destroy refuses open instances).
 * Return: true if @vma is an instance mapping.
 */
bool emp_vma_instance(struct vm_area_struct *vma, char *name, u64 *offset)
{
	struct emp_instance *inst;

	if (vma->vm_ops != &emp_vm_ops || !vma->vm_file)
		return false;
	inst = vma->vm_file->private_data;
	strscpy(name, inst->name, EMP_NAME_MAX);
	*offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	return true;
}
EXPORT_SYMBOL_GPL(emp_vma_instance);
