// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path: a fault on an instance mapping finds (or makes) the
 * block, makes it resident within the DRAM budget, fetches the faulting
 * subblock from the block's tier (or zero-fills a never-written one), maps
 * the page, and lets the rest of the block arrive in the background.
 * Writes are seen through page_mkwrite, which marks the subblock dirty.
 *
 * No lock is shared by faults on different blocks except the per-CPU
 * counters and, briefly, the replacement lists' spinlock (lru_lock) when a
 * block is made resident or evicted.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
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
#include "emp_trace.h"

static bool fault_around = true;
module_param(fault_around, bool, 0644);
MODULE_PARM_DESC(fault_around,
		 "on a fault, also map the block's other resident pages (default Y)");

/**
 * emp_fetch_sub() - make one subblock present now, reading it if stored
 * @inst: the instance
 * @blk:  a resident block, locked by the caller
 * @sub:  the subblock (a fault needs it; or discard zeroes part of it)
 *
 * Context: Process context, sleeps.
 * Return: 0, emp_sub_pages()'s error (-EAGAIN: unlock and retry) or the
 * read's.
 */
int emp_fetch_sub(struct emp_instance *inst, struct emp_block *blk, unsigned int sub)
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
	err = emp_tier_rw_sync(inst, be, EMP_IO_READ, pos + ((u64)sub << inst->sub_shift),
			       pages, inst->sub_pages);
	trace_emp_fetch(inst->name, blk->index, sub, 1, false, err);
	if (err) {
		emp_note_io_error(inst);
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
	trace_emp_fetch(inst->name, blk->index, b->first, b->nr, true, err);
	if (err) {
		emp_note_io_error(inst);
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
 * the AHEAD bit (emp_readahead.c). It stops at the first subblock that
 * gets no free budget, or whose request cannot be allocated (left for its
 * own fault). The caller holds blk->lock.
 * Return: where it stopped: @end, or that subblock.
 */
static unsigned int emp_read_ahead(struct emp_instance *inst, struct emp_block *blk,
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

	/* NULL for a DRAM-only instance, which never has a subblock stored. */
	be = emp_tier_of(inst, blk->index, &pos);
	while ((sub = find_next_zero_bit(present, end, sub)) < end) {
		if (test_bit(sub, busy)) {
			sub++;
			continue;
		}
		/* Read-ahead takes free budget only: not worth an eviction. */
		if (emp_sub_pages(inst, blk, sub, false))
			return sub;
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
			return sub;
		b->inst = inst;
		b->be = be;
		b->blk = blk;
		b->first = sub;
		b->nr = stop - sub;
		b->io.dir = EMP_IO_READ;
		b->io.flags = 0;	/* interrupt-driven: nobody polls for it */
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
	return min(sub, end);
}

/*
 * Read-ahead past the end of block @index: the first subblocks of the
 * blocks after it, @left subblocks in all. It takes free budget only (a
 * block not resident yet becomes resident only if the budget has room for
 * it) and stops at a block whose lock is taken (a fault or an eviction is
 * at it: trylock, as eviction takes its victims' locks, so holding the
 * faulting block's lock here cannot deadlock) or that gets nothing.
 * Context: the caller holds the lock of block @index.
 * Return: subblocks covered (all @left, or where it stopped).
 */
static unsigned long emp_read_ahead_next(struct emp_instance *inst, unsigned long index,
					 unsigned long left)
{
	unsigned long nr_blocks = inst->size >> inst->block_shift, done = 0;
	struct emp_block *nb;
	unsigned int n, got;

	while (left && ++index < nr_blocks) {
		n = min_t(unsigned long, left, inst->sub_per_block);
		nb = emp_block_get(inst, index, true);
		if (!nb)
			return done;
		if (!mutex_trylock(&nb->lock)) {
			emp_block_put(inst, nb);
			return done;
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
			return done;
		}
		got = emp_read_ahead(inst, nb, 0, n, true);
		/* Its first touch is the hit that maps the rest: emp_readahead.c. */
		if (got > 1)
			bitmap_clear(emp_blk_map(inst, nb, EMP_MAP_AHEAD), 1, got - 1);
		mutex_unlock(&nb->lock);
		emp_block_put(inst, nb);
		done += got;
		if (got < n)
			return done;
		left -= n;
	}
	return done;
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
	emp_stall_begin(inst);
	wait_var_event(&blk->inflight, !atomic_read(&blk->inflight));
	emp_stall_end(inst);
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

static void emp_account_fault(struct emp_instance *inst, pgoff_t pgoff, u64 t0, bool hit)
{
	u64 ns = ktime_get_ns() - t0;

	emp_count(inst, faults);
	if (hit)
		emp_count(inst, hits);
	this_cpu_inc(inst->stats->lat_fine[emp_lat_fine_bucket(ns)]);
	trace_emp_fault(inst->name, pgoff, hit, ns);
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
			emp_stall_begin(inst);
			wait_var_event(&blk->inflight, !test_bit(sub, busy));
			emp_stall_end(inst);
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
		unsigned long done;

		done = emp_read_ahead(inst, blk, sub + 1, sub + 1 + in_blk, true) - (sub + 1);
		if (done == in_blk && win > in_blk)
			done += emp_read_ahead_next(inst, blk->index, win - in_blk);
		/* Cut short (no free budget, a busy block): the stream goes on from there. */
		if (done < win)
			emp_ra_cut(inst, blk, sub + 1 + done);
	}
	emp_block_touch(inst, blk);
	if (fpin) {
		/* The lock is gone, and the VMA may be: the retry maps it. */
		mutex_unlock(&blk->lock);
		emp_block_put(inst, blk);
		fput(fpin);
		emp_account_fault(inst, pgoff, t0, hit);
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
		emp_account_fault(inst, pgoff, t0, hit);
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
	emp_account_fault(inst, pgoff, t0, false);
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
