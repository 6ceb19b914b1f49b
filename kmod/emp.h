/* SPDX-License-Identifier: GPL-2.0 */
/*
 * emp.ko private declarations shared between its files. Not an API: the
 * userspace contract is uapi/linux/emp.h alone.
 *
 * Lock order (outermost first):
 *   emp_registry_lock -> (nothing; never held on the fault path)
 *   mmap_lock -> emp_block.lock -> page lock -> i_mmap_rwsem -> emp_instance.lru_lock
 * (the reclaimer and the background cleaner take emp_block.lock with
 * mutex_trylock() and no mmap_lock, and follow the same order from there)
 * A fault holding one block's lock may evict another block only after a
 * successful mutex_trylock() on it, so two faults never wait on each other.
 */
#ifndef _EMP_PRIV_H
#define _EMP_PRIV_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/emp.h>

#include "emp_export.h"
#include "emp_lat.h"
#include "emp_tier.h"

/* Most blocks one emp_evict_blocks() call takes. */
#define EMP_MAX_EVICT_BATCH	32

/* emp_block.flags bits */
enum {
	EMP_BLK_RESIDENT,	/* pages[] holds the block's DRAM pages */
	EMP_BLK_REFERENCED,	/* faulted since the replacement scan last passed */
	EMP_BLK_EVICTING,	/* being unmapped and written back */
	EMP_BLK_HUGE,		/* pages[] are the subpages of one compound
				 * page: one lock, one reference */
	EMP_BLK_ACTIVE,		/* on emp_instance.active, not .inactive */
	EMP_BLK_SEEN,		/* passed the inactive list's end once: the
				 * next pass keeps it only if REFERENCED */
	EMP_BLK_DEACTIVATED,	/* unmapped by the replacement policy, not
				 * faulted since: a fault reactivates it */
	EMP_BLK_CLEARING,	/* its accessed bits are to be cleared by the
				 * scan that last passed it: they tell nothing */
	EMP_BLK_DEAD,		/* no longer resident and out of the index:
				 * whoever finds it locked looks up again */
	EMP_BLK_IDLE_SEEN,	/* the age scanner found it DEACTIVATED: it has
				 * not been used for a whole scan period */
};

/**
 * struct emp_block - a resident block (or one being made resident or
 *                    evicted): the unit of placement and residence
 * @lock:     serializes residency changes: making resident, fetching a
 *            subblock synchronously, eviction. Sleeps.
 * @flags:    EMP_BLK_* bits (atomic bitops)
 * @inflight: background subblock reads in flight; eviction waits for zero
 * @ref:      one for emp_instance.blocks while the block is in it, one per
 *            fault, page_mkwrite or list walker using it (emp_block_get())
 * @lru:      on emp_instance.active or .inactive while resident, under
 *            emp_instance.lru_lock
 * @index:    block number inside the instance
 * @rcu:      frees it after lockless lookups (emp_block_get()) are done
 * @used:     jiffies when it was last known to be in use: made resident,
 *            faulted on, or accessed bits seen (emp_monitor.c; racy reads
 *            and writes, a stale value only misplaces it in the cold-age
 *            histogram by one scan)
 * @bits:     four bitmaps of sub_per_block bits each, atomic bitops:
 *            present (DRAM copy valid), busy (background read in flight),
 *            dirty (written since fetched), ahead (read ahead of need and
 *            not faulted on since: emp_readahead.c); followed by
 *            block_pages page pointers, set and cleared under @lock with
 *            every page locked (see emp_block_pages()).
 *
 * A block that is not resident has no struct: what stays of it is one
 * bit per subblock in emp_instance.stored, and where it lives on the
 * tiers follows from its index. Resident blocks are bounded by the budget,
 * so this metadata is too.
 */
struct emp_block {
	struct mutex lock;
	unsigned long flags;
	atomic_t inflight;
	refcount_t ref;
	struct list_head lru;
	unsigned long index;
	struct rcu_head rcu;
	unsigned long used;
	unsigned long bits[];
};

/**
 * struct emp_stats - per-CPU fault path counters (see struct emp_stat)
 * One per counter of EMP_STAT_COUNTERS (uapi/linux/emp.h), each a u64 of
 * the same name as in struct emp_stat, which the STAT copy and the sysfs
 * files (stats/NAME) are made from too. Only u64 members:
 * emp_stats_sum() adds them up as an array.
 */
struct emp_stats {
#define EMP_X_FIELD(name, help) u64 name;
	EMP_STAT_COUNTERS(EMP_X_FIELD)
#undef EMP_X_FIELD
	u64 lat_fine[EMP_LAT_FINE_BUCKETS];
};

/**
 * struct emp_monitor - the measures of one instance a balancer needs
 * @stall_lock:    protects @nr_stalled, @stall_since and @stall_total
 *                 (taken from process context only)
 * @nr_stalled:    tasks stalled on the instance now
 * @stall_since:   ktime ns when @nr_stalled last rose from zero
 * @stall_total:   ns with @nr_stalled above zero, before @stall_since
 * @evicted:       recent evictions, (block index << 32 | eviction number)
 *                 by a hash of the index, for counting refaults; ~0: none
 * @evicted_bits:  log2 of the entries of @evicted
 * @evict_seq:     blocks evicted so far (their eviction numbers)
 * @tick:          the monitor's tick: pressure, events, ages, demotion
 * @kick_lock:     protects @stopped against kicks from any context
 * @stopped:       the instance is going: @tick is not queued again
 * @last_ns, @last_stall: time and stall total at the previous tick
 * @last_errors:   io_errors at the previous tick
 * @next_scan:     jiffies when the age scanner passes next
 * @lost:          bits of tiers reported lost, for the tick to announce
 * @pressure:      per mille of the last tick's interval with a task stalled
 * @threshold:     pressure event threshold, per mille (0: none); sysfs
 * @above:         @pressure was above @threshold at the last tick
 * @scan_ms:       period of the age scanner (0: none, unless @cold_age_s
 *                 is set: then every second); sysfs age_scan_ms
 * @cold_age_s:    demote blocks idle this long (0: off); sysfs
 * @cold_bytes:    the cold-age histogram of the last scan (emp_stat)
 */
struct emp_monitor {
	spinlock_t stall_lock;
	unsigned int nr_stalled;
	u64 stall_since;
	u64 stall_total;
	u64 *evicted;
	unsigned int evicted_bits;
	atomic_long_t evict_seq;
	struct delayed_work tick;
	spinlock_t kick_lock;
	bool stopped;
	u64 last_ns;
	u64 last_stall;
	u64 last_errors;
	unsigned long next_scan;
	unsigned long lost;
	u32 pressure;
	u32 threshold;
	bool above;
	unsigned int scan_ms;
	unsigned long cold_age_s;
	u64 cold_bytes[EMP_COLD_BUCKETS];
};

/**
 * struct emp_instance - a memory instance
 * @name, @id:      identity; @id is also the minor of its device node
 * @size:           bytes
 * @block_shift, @sub_shift: log2 of block and subblock size
 * @block_pages:    pages per block
 * @sub_pages:      pages per subblock
 * @sub_per_block:  subblocks per block
 * @bitmap_longs:   longs per bitmap in emp_block.bits
 * @huge:           2 MiB blocks, each kept in one compound page when one
 *                  can be had and mapped whole (emp_block.c); fixed at
 *                  create from the huge_map parameter
 * @sub_dram:       DRAM taken a subblock at a time (emp_block.c); fixed at
 *                  create from the sub_dram parameter
 * @budget_pages:   DRAM budget, in pages (READ_ONCE/WRITE_ONCE)
 * @resident_pages: DRAM pages in use; charged before pages are allocated
 * @spare_lock:     protects @spare and @nr_spare
 * @spare:          free pages kept for the next faults (page->lru): pages
 *                  of evicted blocks, and pages allocated ahead while the
 *                  budget has room; not in @resident_pages, but never more
 *                  than the free part of the budget (emp_block.c)
 * @nr_spare:       pages on @spare
 * @spare_taken:    pages taken from @spare since create (sysfs spare_taken)
 * @meta_bytes:     kernel memory held by block metadata (emp_stat.meta_bytes)
 * @lru_lock:       protects @active, @inactive and their counts
 * @active:         resident blocks seen in use on two passes of the
 *                  replacement scan, oldest first (emp_reclaim.c)
 * @inactive:       the other resident blocks, oldest first: victims come
 *                  from its old end; faults never take @lru_lock
 * @nr_active, @nr_inactive: blocks on each list
 * @vma_lock:       protects @vmas and @vmas_untracked; taken inside
 *                  @lru_lock and by the mappings' open and close
 * @vmas:           struct emp_vma_ref, one per mapping of the instance, for
 *                  reading the accessed bits of its page tables
 * @vmas_untracked: a mapping could not be recorded (no memory): accessed
 *                  bits cannot be trusted for this instance any more
 * @reclaim_work:   the background reclaimer, kicked when the free part of
 *                  the budget falls below the low watermark
 * @reclaiming:     blocks the reclaimer is evicting now (charged until freed)
 * @reclaim_resume: jiffies before which the reclaimer is not kicked again
 *                  and a fault tries one eviction only (set when a
 *                  writeback failed)
 * @space_wait:     faults waiting for the reclaimer to free DRAM
 * @clean_work:     the background cleaner (emp_cache.c), kicked by evictions
 * @ra_next:        read-ahead: the subblock (instance-wide number) a
 *                  sequential stream faults on next (emp_readahead.c)
 * @ra_win:         read-ahead window, in subblocks
 * @ra_hits:        faults on read-ahead subblocks since the last miss
 * @blocks:         block index -> struct emp_block, for resident blocks
 *                  (and those being made resident or evicted) only
 * @stored:         one bit per subblock of the instance: the tier holds its
 *                  data (a subblock never written back is zero-filled
 *                  without I/O); atomic bitops
 * @tiers:          backends in instance offset order
 * @nr_tiers:       entries in @tiers
 * @stats:          per-CPU counters
 * @mon:            what a balancer reads: stall time, refaults, idle ages,
 *                  pressure; the tick that scans ages and demotes cold
 *                  blocks (emp_monitor.c)
 * @state:          EMP_STATE_* bits, atomic
 * @mapping:        the address space every open file of the instance uses,
 *                  so one unmap_mapping_range() reaches every mapping;
 *                  from @inode, the first inode the node was opened through
 * @inode:          held (ihold) from first open until the instance goes
 * @dev:            the device behind /dev/emp-NAME
 * @fs_dentry:      its file in empfs (emp_fs.c); under emp_registry_lock
 * @nr_open:        open files (mappings hold theirs); under emp_registry_lock
 * @dying:          destroy has begun; under emp_registry_lock
 */
struct emp_instance {
	char name[EMP_NAME_MAX];
	u32 id;
	u64 size;
	u32 block_shift;
	u32 sub_shift;
	u32 block_pages;
	u32 sub_pages;
	u32 sub_per_block;
	u32 bitmap_longs;
	bool huge;
	bool sub_dram;

	unsigned long budget_pages;
	atomic_long_t resident_pages;
	spinlock_t spare_lock;
	struct list_head spare;
	unsigned long nr_spare;
	unsigned long spare_taken;
	atomic_long_t meta_bytes;
	spinlock_t lru_lock;
	struct list_head active;
	struct list_head inactive;
	unsigned long nr_active;
	unsigned long nr_inactive;
	spinlock_t vma_lock;
	struct list_head vmas;
	bool vmas_untracked;
	struct work_struct reclaim_work;
	atomic_t reclaiming;
	unsigned long reclaim_resume;
	wait_queue_head_t space_wait;
	struct work_struct clean_work;
	unsigned long ra_next;
	unsigned int ra_win;
	atomic_t ra_hits;

	struct xarray blocks;
	unsigned long *stored;
	struct emp_backend *tiers[EMP_MAX_TIERS];
	unsigned int nr_tiers;
	struct emp_stats __percpu *stats;
	struct emp_monitor mon;
	unsigned long state;

	struct address_space *mapping;
	struct inode *inode;
	struct device *dev;
	struct dentry *fs_dentry;
	unsigned int nr_open;
	bool dying;
};

/* A mapping of an instance (emp_instance.vmas). */
struct emp_vma_ref {
	struct list_head node;
	struct vm_area_struct *vma;
};

/* Bitmaps inside emp_block.bits */
enum emp_blk_map {
	EMP_MAP_PRESENT, EMP_MAP_BUSY, EMP_MAP_DIRTY,
	EMP_MAP_AHEAD,		/* read ahead, not faulted on since */
	EMP_NR_MAPS
};

static inline unsigned long *emp_blk_map(struct emp_instance *inst,
					 struct emp_block *blk, enum emp_blk_map m)
{
	return blk->bits + m * inst->bitmap_longs;
}

/* Bit of subblock @sub of @blk in emp_instance.stored. */
static inline unsigned long emp_stored_bit(struct emp_instance *inst,
					   struct emp_block *blk, unsigned int sub)
{
	return blk->index * inst->sub_per_block + sub;
}

static inline bool emp_sub_stored(struct emp_instance *inst, struct emp_block *blk,
				  unsigned int sub)
{
	return test_bit(emp_stored_bit(inst, blk, sub), inst->stored);
}

static inline struct page **emp_block_pages(struct emp_instance *inst,
					    struct emp_block *blk)
{
	return (struct page **)(blk->bits + EMP_NR_MAPS * inst->bitmap_longs);
}

/*
 * Page locks and references of a resident block go per page, or once for
 * the whole block when its pages are one compound page (EMP_BLK_HUGE).
 */
static inline unsigned int emp_block_step(struct emp_instance *inst,
					  struct emp_block *blk)
{
	return test_bit(EMP_BLK_HUGE, &blk->flags) ? inst->block_pages : 1;
}

#define emp_count(inst, field)	this_cpu_inc((inst)->stats->field)

/*
 * Unmap bytes [@start, @start + @len) of @inst from every mapping (one
 * address space for them all; none before the first open), for eviction
 * and discard.
 */
static inline void emp_unmap_bytes(struct emp_instance *inst, u64 start, u64 len)
{
	if (inst->mapping)
		unmap_mapping_range(inst->mapping, start, len, 1);
}

/**
 * struct emp_module_state - state of the whole module
 * @nr_instances: instances alive
 */
struct emp_module_state {
	atomic_t nr_instances;
};

extern struct emp_module_state emp_state;

/* emp_ioctl.c */
long emp_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* emp_instance.c */
int emp_instances_init(void);
void emp_instances_exit(void);
int emp_instance_create(struct emp_create *c, const struct emp_tier *tiers);
int emp_instance_destroy(const char *name);
int emp_instance_list(char (*names)[EMP_NAME_MAX], u32 room, u32 *total);
int emp_instance_stat(const char *name, struct emp_stat *st);
int emp_instance_resize(const char *name, u64 dram_budget);
int emp_instance_discard(const char *name, u64 offset, u64 length);
int emp_check_name(const char *name);
int emp_check_budget(u64 budget, u32 block_size);

/* emp_block.c */
bool emp_sub_dram_possible(bool huge);
bool emp_huge_possible(u32 block_size);
struct emp_block *emp_block_get(struct emp_instance *inst, unsigned long index, bool make);
bool emp_block_tryget(struct emp_block *blk);
void emp_block_put(struct emp_instance *inst, struct emp_block *blk);
void emp_block_retire(struct emp_instance *inst, struct emp_block *blk);
int emp_block_populate(struct emp_instance *inst, struct emp_block *blk, bool may_wait);
int emp_sub_pages(struct emp_instance *inst, struct emp_block *blk, unsigned int sub,
		  bool may_wait);
void emp_zero_sub(struct emp_instance *inst, struct emp_block *blk, unsigned int sub);
void emp_blocks_free(struct emp_instance *inst);
void emp_block_page_put(struct page *page);
void emp_spare_init(struct emp_instance *inst);
bool emp_spare_keep(struct emp_instance *inst, struct page *page);
void emp_spare_drain(struct emp_instance *inst);
void emp_spare_fill(struct emp_instance *inst, unsigned int max, atomic_t *pending);
void emp_block_pages_exit(void);

/* emp_fault.c */
extern const struct vm_operations_struct emp_vm_ops;
int emp_fetch_sub(struct emp_instance *inst, struct emp_block *blk, unsigned int sub);

/* emp_discard.c */
int emp_discard(struct emp_instance *inst, u64 start, u64 len);

/* emp_fs.c */
int emp_fs_init(void);
void emp_fs_exit(void);
int emp_fs_add(struct emp_instance *inst, const struct file_operations *fops);
bool emp_fs_remove(struct emp_instance *inst);
void emp_fs_unpin(void);
u32 emp_fs_id(struct inode *inode);

/* emp_cache.c */
int emp_cache_module_init(void);
void emp_cache_module_exit(void);
void emp_cache_init(struct emp_instance *inst);
void emp_cache_stop(struct emp_instance *inst);
int emp_cache_charge(struct emp_instance *inst, struct emp_block *self, long n);
bool emp_cache_trycharge(struct emp_instance *inst, long n, long keep);
int emp_block_cmp_index(const void *a, const void *b);
long emp_reclaim_fault_reserve(struct emp_instance *inst);
unsigned long emp_reclaim_high_pages(struct emp_instance *inst);
void emp_cache_uncharge(struct emp_instance *inst, long n);
int emp_cache_shrink(struct emp_instance *inst);
int emp_evict_blocks(struct emp_instance *inst, struct emp_block **victims,
		     unsigned int n, bool background);

/* emp_monitor.c */
int emp_monitor_init(struct emp_instance *inst);
void emp_monitor_start(struct emp_instance *inst);
void emp_monitor_stop(struct emp_instance *inst);
void emp_monitor_free(struct emp_instance *inst);
void emp_stall_begin(struct emp_instance *inst);
void emp_stall_end(struct emp_instance *inst);
u64 emp_stall_ns(struct emp_instance *inst);
void emp_note_new_block(struct emp_instance *inst, struct emp_block *blk);
void emp_note_evicted(struct emp_instance *inst, struct emp_block *blk);
void emp_forget_evicted(struct emp_instance *inst, unsigned long index);
void emp_note_io_error(struct emp_instance *inst);
void emp_monitor_stat(struct emp_instance *inst, struct emp_stat *st);
extern const struct attribute_group emp_monitor_group;

/* A block is in use now (a fault, or its accessed bits). */
static inline void emp_note_used(struct emp_block *blk)
{
	if (READ_ONCE(blk->used) != jiffies)
		WRITE_ONCE(blk->used, jiffies);
}

/* emp_netlink.c */
int emp_nl_init(void);
void emp_nl_exit(void);
void emp_ev_instance(u8 event, struct emp_instance *inst, int err);
void emp_ev_tier(u8 event, struct emp_instance *inst, unsigned int tier, int err);
void emp_ev_pressure(struct emp_instance *inst, u32 pressure, u32 threshold, bool above);

/* emp_readahead.c */
unsigned int emp_ra_window(struct emp_instance *inst, struct emp_block *blk,
			   unsigned int sub);
bool emp_ra_hit(struct emp_instance *inst, struct emp_block *blk, unsigned int sub);
void emp_ra_cut(struct emp_instance *inst, struct emp_block *blk, unsigned long sub);

/* emp_tier.c: the table of tier kinds (the contract is emp_tier.h) */
bool emp_tier_kind_served(u32 kind);
int emp_tier_create(const struct emp_tier *desc, void *holder, struct emp_backend **out);
void emp_tier_destroy(struct emp_backend *be);

/* Replicated tiers (emp_mirror.c). */
int emp_mirror_create(struct emp_instance *inst, struct emp_backend *a, struct emp_backend *b,
		      struct emp_backend **out);
int emp_mirror_repair(struct emp_backend *be, const struct emp_tier *desc);
bool emp_is_mirror(struct emp_backend *be);
u32 emp_mirror_copies(struct emp_backend *be);
u32 emp_mirror_kind(struct emp_backend *be);
int emp_mirror_show(struct emp_backend *be, unsigned int idx, char *buf, int at);
int emp_instance_repair(const char *name, u32 tier, const struct emp_tier *desc);
void emp_tiers_init(void);
void emp_tiers_exit(void);
void emp_tier_account(struct emp_backend *be, struct emp_tier_io *io, int err);

/* emp_reclaim.c */
void emp_lru_add(struct emp_instance *inst, struct emp_block *blk);
unsigned int emp_pick_victims(struct emp_instance *inst, struct emp_block *self,
			      struct emp_block **victims, unsigned int max);
void emp_reclaim_kick(struct emp_instance *inst);
bool emp_reclaim_running(struct emp_instance *inst);
void emp_reclaim_work(struct work_struct *work);
void emp_block_touch(struct emp_instance *inst, struct emp_block *blk);
void emp_vma_track(struct emp_instance *inst, struct vm_area_struct *vma);
void emp_vma_untrack(struct emp_instance *inst, struct vm_area_struct *vma);
extern struct workqueue_struct *emp_reclaim_wq;
bool emp_young_usable(struct emp_instance *inst);
bool emp_block_young(struct emp_instance *inst, struct emp_block *blk);
void emp_young_flush(struct emp_instance *inst);
void emp_unmap_idle(struct emp_instance *inst, struct emp_block **blks, unsigned int n);
bool emp_lru_take(struct emp_instance *inst, struct emp_block *blk);
unsigned int emp_take_cold(struct emp_instance *inst, struct emp_block **victims,
			   unsigned int max, unsigned long before, bool unmapped);

/* emp_io.c: transfers. */

/* A group of transfers the caller waits for together. */
struct emp_wait {
	atomic_t pending;
	struct completion done;
};

/* One transfer of a run of subblocks, counted in @wait when it is over. */
struct emp_run_io {
	struct emp_tier_io io;
	struct emp_backend *be;
	struct emp_wait *wait;
	unsigned int first;	/* first subblock of the run */
	unsigned int nr;	/* subblocks in the run */
	int err;
};

void emp_run_submit(struct emp_run_io *r, struct emp_wait *w, struct emp_backend *be,
		    enum emp_io_dir dir, u64 pos, struct page **pages, unsigned int nr_pages,
		    unsigned int flags);
struct emp_backend *emp_tier_of(struct emp_instance *inst, unsigned long index, u64 *pos);
int emp_tier_rw_sync(struct emp_instance *inst, struct emp_backend *be, enum emp_io_dir dir,
		     u64 pos, struct page **pages, unsigned int nr_pages);

#endif /* _EMP_PRIV_H */
