// SPDX-License-Identifier: GPL-2.0
/*
 * What a balancer needs to know about an instance, and proactive demotion.
 *
 * Stall time: the wall-clock time during which at least one task was
 * stalled on the instance, waiting for a tier read of its fault or for
 * DRAM within the budget (what PSI calls "some" time, per instance).
 *
 * Refaults: a block made resident again whose eviction was recent, i.e.
 * fewer blocks were evicted after it than the budget holds. A budget
 * twice as large would have kept it; a stream's blocks never count. The
 * evictions are remembered in a table indexed by a hash of the block
 * number (the kernel keeps the same in its page cache's shadow entries;
 * we keep no per-block state for blocks that are not resident): a later
 * eviction that lands in the same slot makes the earlier one forgotten,
 * so refaults are undercounted, never invented.
 *
 * Idle ages: every resident block carries the time it was last known to
 * be in use (emp_block.used): made resident, faulted on, or its page
 * table accessed bits found set. The tick scans the resident blocks every
 * age_scan_ms (sysfs, per instance; off by default, every second when a
 * cold age is set), reading and clearing their accessed bits where the
 * replacement can (emp_reclaim.c), and sums the resident bytes by idle
 * age into the cold-age histogram. Where accessed bits cannot be read
 * (a KVM guest's memory, whole-block mappings), an access through an
 * existing mapping is invisible. There, with demotion on, the tick
 * unmaps blocks that look idle for a quarter of the cold age (a second
 * at least) so that their next access faults (at most one fault per block
 * in use per quarter cold age), and a block is known idle once it stayed
 * unmapped for a whole scan period (EMP_BLK_IDLE_SEEN); the histogram
 * may then count a block in use as idle for up to that quarter. With
 * demotion off, ages there come from faults and from the replacement's
 * own unmapping only.
 *
 * Demotion: with a cold age set (sysfs cold_age_s), the tick writes back
 * and drops every block idle that long, whatever the free budget.
 *
 * Pressure: the share of the tick's interval with a task stalled, per
 * mille; crossing the instance's threshold (sysfs pressure_threshold) up
 * or down sends an event (emp_netlink.c), as do failed transfers (one a
 * tick at most) and tiers whose donor was lost.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/hash.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "emp.h"

/*
 * Off by default: a pass reads the accessed bits of every resident block,
 * which under TCG and KASAN made the debug line's paging tests half again
 * as long; a balancer (empd) or an operator turns it on per instance.
 */
static unsigned int age_scan_ms;
module_param(age_scan_ms, uint, 0644);
MODULE_PARM_DESC(age_scan_ms,
		 "default period of a new instance's age scanner (sysfs age_scan_ms), which "
		 "reads the accessed bits of resident blocks for the cold-age histogram; 0: "
		 "no scan but for demotion (a cold age scans every second), ages then come "
		 "from faults and replacement (default 0)");

/* The demotion's scan period when the instance has none of its own. */
#define EMP_DEMOTE_SCAN_MS	1000

/* The tick's period when the scanner is off: pressure and events only. */
#define EMP_TICK_MS		1000
/* Most entries of the eviction table (8 bytes each). */
#define EMP_EVICTED_MAX_BITS	17
#define EMP_EVICTED_NONE	(~0ULL)

static const unsigned int emp_cold_ages[EMP_COLD_BUCKETS] = EMP_COLD_AGES;

static struct emp_monitor *emp_mon(struct emp_instance *inst)
{
	return &inst->mon;
}

/* ---- stall time -------------------------------------------------------- */

/**
 * emp_stall_begin() - the calling task starts waiting on @inst
 * @inst: the instance
 *
 * Pair with emp_stall_end().
 * Context: Process context; takes stall_lock.
 */
void emp_stall_begin(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);

	spin_lock(&m->stall_lock);
	if (!m->nr_stalled++)
		m->stall_since = ktime_get_ns();
	spin_unlock(&m->stall_lock);
}

/**
 * emp_stall_end() - the calling task stopped waiting on @inst
 * @inst: the instance
 *
 * Context: Process context; takes stall_lock.
 */
void emp_stall_end(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);

	spin_lock(&m->stall_lock);
	if (!--m->nr_stalled)
		m->stall_total += ktime_get_ns() - m->stall_since;
	spin_unlock(&m->stall_lock);
}

/**
 * emp_stall_ns() - time with a task stalled on @inst so far
 * @inst: the instance
 *
 * Context: Process context; takes stall_lock.
 * Return: nanoseconds, the stall in progress included.
 */
u64 emp_stall_ns(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);
	u64 ns;

	spin_lock(&m->stall_lock);
	ns = m->stall_total;
	if (m->nr_stalled)
		ns += ktime_get_ns() - m->stall_since;
	spin_unlock(&m->stall_lock);
	return ns;
}

/* ---- refaults ---------------------------------------------------------- */

static u64 *emp_evicted_slot(struct emp_monitor *m, unsigned long index)
{
	return &m->evicted[hash_long(index, m->evicted_bits)];
}

/**
 * emp_note_evicted() - remember that @blk was evicted
 * @inst: the instance
 * @blk:  the block, just evicted
 *
 * Context: Any context but hard IRQ.
 */
void emp_note_evicted(struct emp_instance *inst, struct emp_block *blk)
{
	struct emp_monitor *m = emp_mon(inst);
	u32 seq = (u32)atomic_long_inc_return(&m->evict_seq);

	WRITE_ONCE(*emp_evicted_slot(m, blk->index), (u64)(u32)blk->index << 32 | seq);
}

/**
 * emp_forget_evicted() - an evicted block's data is gone (discarded)
 * @inst:  the instance
 * @index: the block
 *
 * Its next fault zero-fills: not a refault.
 */
void emp_forget_evicted(struct emp_instance *inst, unsigned long index)
{
	struct emp_monitor *m = emp_mon(inst);
	u64 *slot = emp_evicted_slot(m, index);

	if ((u32)(READ_ONCE(*slot) >> 32) == (u32)index)
		WRITE_ONCE(*slot, EMP_EVICTED_NONE);
}

/**
 * emp_note_new_block() - a block is being made resident
 * @inst: the instance
 * @blk:  the block, new in the index
 *
 * Counts a refault if its eviction is remembered and recent, and starts
 * its idle age.
 * Context: Any context but hard IRQ.
 */
void emp_note_new_block(struct emp_instance *inst, struct emp_block *blk)
{
	struct emp_monitor *m = emp_mon(inst);
	u64 *slot = emp_evicted_slot(m, blk->index);
	u64 e = READ_ONCE(*slot);
	u32 since;

	WRITE_ONCE(blk->used, jiffies);
	if (e == EMP_EVICTED_NONE || (u32)(e >> 32) != (u32)blk->index)
		return;
	WRITE_ONCE(*slot, EMP_EVICTED_NONE);
	since = (u32)atomic_long_read(&m->evict_seq) - (u32)e;
	if (since < READ_ONCE(inst->budget_pages) / inst->block_pages)
		emp_count(inst, refaults);
}

/* ---- the tick ---------------------------------------------------------- */

static void emp_monitor_kick(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);
	unsigned long flags;

	spin_lock_irqsave(&m->kick_lock, flags);
	if (!m->stopped)
		mod_delayed_work(emp_reclaim_wq, &m->tick, 0);
	spin_unlock_irqrestore(&m->kick_lock, flags);
}

/**
 * emp_note_io_error() - a transfer of @inst failed
 * @inst: the instance
 *
 * Sets EMP_STATE_IO_ERROR; the first failure is announced at once, later
 * ones at the next tick.
 * Context: Any context (completion handlers included).
 */
void emp_note_io_error(struct emp_instance *inst)
{
	this_cpu_inc(inst->stats->io_errors);
	if (!test_and_set_bit(ilog2(EMP_STATE_IO_ERROR), &inst->state))
		emp_monitor_kick(inst);
}

/**
 * emp_tier_lost() - a remote tier's connection to its donor is gone
 * @be: the tier
 *
 * Announced as EMP_EV_DONOR_LOST by the instance's tick. Tiers not made
 * for an instance yet (being created) are ignored: their create fails.
 * Context: Any context.
 */
void emp_tier_lost(struct emp_backend *be)
{
	struct emp_instance *inst = READ_ONCE(be->holder);
	unsigned int i;

	if (!inst)
		return;
	for (i = 0; i < inst->nr_tiers; i++)
		if (inst->tiers[i] == be)
			set_bit(i, &inst->mon.lost);
	emp_monitor_kick(inst);
}
EXPORT_SYMBOL_GPL(emp_tier_lost);

/* Resident bytes of @blk (a subblock's pages may be missing). */
static u64 emp_block_bytes(struct emp_instance *inst, struct emp_block *blk)
{
	struct page **pages = emp_block_pages(inst, blk);
	unsigned int i;
	u64 n = 0;

	if (!test_bit(EMP_BLK_RESIDENT, &blk->flags))
		return 0;
	if (!inst->sub_dram)
		return (u64)inst->block_pages << PAGE_SHIFT;
	for (i = 0; i < inst->block_pages; i += inst->sub_pages)
		if (READ_ONCE(pages[i]))
			n += (u64)inst->sub_pages << PAGE_SHIFT;
	return n;
}

/* Most blocks the scanner unmaps with one call. */
#define EMP_SCAN_BATCH	64

/*
 * One pass over the resident blocks: learn which were used since the last
 * pass and sum the resident bytes by idle age. Where accessed bits cannot
 * be read and a cold age is set, blocks idle-looking for a quarter of it
 * are unmapped, so that their next access faults and shows them in use;
 * one found still unmapped a pass later is known idle (EMP_BLK_IDLE_SEEN).
 */
static void emp_age_scan(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);
	unsigned long cold = inst->nr_tiers ? READ_ONCE(m->cold_age_s) : 0;
	unsigned long now = jiffies, index = 0;
	bool young = emp_young_usable(inst), any = false;
	struct emp_block *unmap[EMP_SCAN_BATCH], *blk;
	u64 hist[EMP_COLD_BUCKETS] = {}, bytes;
	unsigned int nu = 0, b;
	unsigned long idle;

	for (;;) {
		rcu_read_lock();
		blk = xa_find(&inst->blocks, &index, ULONG_MAX, XA_PRESENT);
		if (blk && !emp_block_tryget(blk))
			blk = ERR_PTR(-ENOENT);
		rcu_read_unlock();
		if (!blk)
			break;
		index++;
		if (IS_ERR(blk))
			continue;
		if (!test_bit(EMP_BLK_RESIDENT, &blk->flags)) {
			emp_block_put(inst, blk);
			continue;
		}
		if (young) {
			if (emp_block_young(inst, blk)) {
				emp_note_used(blk);
				set_bit(EMP_BLK_REFERENCED, &blk->flags);
			}
			any = true;
		} else if (cold && test_bit(EMP_BLK_DEACTIVATED, &blk->flags)) {
			set_bit(EMP_BLK_IDLE_SEEN, &blk->flags);
		} else if (cold && time_after_eq(now, READ_ONCE(blk->used) +
						      max(cold * HZ / 4, (unsigned long)HZ))) {
			clear_bit(EMP_BLK_IDLE_SEEN, &blk->flags);
			unmap[nu++] = blk;
			refcount_inc(&blk->ref);	/* for emp_unmap_idle() */
		}
		idle = time_after(READ_ONCE(blk->used), now) ? 0 :
		       (now - READ_ONCE(blk->used)) / HZ;
		bytes = emp_block_bytes(inst, blk);
		for (b = 0; b < EMP_COLD_BUCKETS && idle >= emp_cold_ages[b]; b++)
			hist[b] += bytes;
		emp_block_put(inst, blk);
		if (nu == EMP_SCAN_BATCH) {
			emp_unmap_idle(inst, unmap, nu);
			nu = 0;
		}
		cond_resched();
	}
	emp_unmap_idle(inst, unmap, nu);
	/* Accesses after the clearing must set the bits again (emp_reclaim.c). */
	if (any)
		emp_young_flush(inst);
	for (b = 0; b < EMP_COLD_BUCKETS; b++)
		WRITE_ONCE(m->cold_bytes[b], hist[b]);
	emp_count(inst, age_scans);
}

/* Write back and drop the blocks idle for the cold age or longer. */
static void emp_demote(struct emp_instance *inst, unsigned long cold)
{
	struct emp_block *victims[EMP_MAX_EVICT_BATCH];
	unsigned long before = jiffies - cold * HZ;
	bool unmapped = !emp_young_usable(inst);
	unsigned int n;

	while ((n = emp_take_cold(inst, victims, EMP_MAX_EVICT_BATCH, before, unmapped))) {
		/* Written back first: a block whose writeback fails stays. */
		if (emp_evict_blocks(inst, victims, n, false))
			break;
		this_cpu_add(inst->stats->demoted, n);
		cond_resched();
	}
}

static void emp_pressure_tick(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);
	u64 now = ktime_get_ns(), stall = emp_stall_ns(inst), pressure = 0;
	u32 thr = READ_ONCE(m->threshold);
	bool above;

	if (m->last_ns && now > m->last_ns)
		pressure = div64_u64((stall - m->last_stall) * 1000, now - m->last_ns);
	m->last_ns = now;
	m->last_stall = stall;
	WRITE_ONCE(m->pressure, min_t(u64, pressure, 1000));
	above = thr && m->pressure >= thr;
	if (above != m->above) {
		m->above = above;
		emp_ev_pressure(inst, m->pressure, thr, above);
	}
}

static void emp_monitor_tick(struct work_struct *work)
{
	struct emp_monitor *m = container_of(to_delayed_work(work), struct emp_monitor, tick);
	struct emp_instance *inst = container_of(m, struct emp_instance, mon);
	/* A DRAM-only instance has nowhere to demote to. */
	unsigned long cold = inst->nr_tiers ? READ_ONCE(m->cold_age_s) : 0;
	unsigned int scan_ms = READ_ONCE(m->scan_ms), i;
	u64 errors = 0;
	int cpu;

	emp_pressure_tick(inst);
	for_each_possible_cpu(cpu)
		errors += per_cpu_ptr(inst->stats, cpu)->io_errors;
	if (errors != m->last_errors) {
		m->last_errors = errors;
		emp_ev_tier(EMP_EV_TIER_ERROR, inst, 0, EIO);
	}
	for (i = 0; i < inst->nr_tiers; i++)
		if (test_and_clear_bit(i, &m->lost))
			emp_ev_tier(EMP_EV_DONOR_LOST, inst, i, ENOTCONN);
	if (!scan_ms && cold)
		scan_ms = EMP_DEMOTE_SCAN_MS;
	/* A kick comes between scans: scan on time only. */
	if (scan_ms && time_after_eq(jiffies, m->next_scan)) {
		m->next_scan = jiffies + msecs_to_jiffies(scan_ms) - 1;
		emp_age_scan(inst);
		if (cold)
			emp_demote(inst, cold);
	}
	spin_lock_irq(&m->kick_lock);
	if (!m->stopped)
		queue_delayed_work(emp_reclaim_wq, &m->tick,
				   msecs_to_jiffies(scan_ms ? min(scan_ms, EMP_TICK_MS) : EMP_TICK_MS));
	spin_unlock_irq(&m->kick_lock);
}

/* ---- life ---------------------------------------------------------------- */

/**
 * emp_monitor_init() - set up the measures of a new instance
 * @inst: the instance; its size and geometry are set, its tiers not yet
 *
 * The eviction table has room for twice the instance's blocks, at most
 * 2^EMP_EVICTED_MAX_BITS entries (1 MiB), counted in meta_bytes.
 * Context: Process context.
 * Return: 0 or -ENOMEM.
 */
int emp_monitor_init(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);
	unsigned long blocks = inst->size >> inst->block_shift;
	size_t i, n;

	spin_lock_init(&m->stall_lock);
	spin_lock_init(&m->kick_lock);
	m->scan_ms = READ_ONCE(age_scan_ms);
	INIT_DELAYED_WORK(&m->tick, emp_monitor_tick);
	m->evicted_bits = clamp_t(unsigned int, order_base_2(2 * blocks), 6,
				  EMP_EVICTED_MAX_BITS);
	n = 1UL << m->evicted_bits;
	m->evicted = kvmalloc_array(n, sizeof(*m->evicted), GFP_KERNEL);
	if (!m->evicted)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		m->evicted[i] = EMP_EVICTED_NONE;
	atomic_long_add(n * sizeof(*m->evicted), &inst->meta_bytes);
	return 0;
}

/**
 * emp_monitor_start() - start the tick of an instance now published
 * @inst: the instance
 */
void emp_monitor_start(struct emp_instance *inst)
{
	inst->mon.next_scan = jiffies;
	emp_monitor_kick(inst);
}

/**
 * emp_monitor_stop() - stop the tick for good
 * @inst: the instance, going away
 *
 * Context: Process context; waits for a tick in progress.
 */
void emp_monitor_stop(struct emp_instance *inst)
{
	struct emp_monitor *m = emp_mon(inst);

	spin_lock_irq(&m->kick_lock);
	m->stopped = true;
	spin_unlock_irq(&m->kick_lock);
	cancel_delayed_work_sync(&m->tick);
}

/**
 * emp_monitor_free() - free what emp_monitor_init() allocated
 * @inst: the instance; its tick stopped (or never started)
 */
void emp_monitor_free(struct emp_instance *inst)
{
	kvfree(inst->mon.evicted);
	inst->mon.evicted = NULL;
}

/**
 * emp_monitor_stat() - the monitor's part of EMP_IOC_STAT
 * @inst: the instance
 * @st:   gets pressure, pressure_threshold, cold_age_s and cold_bytes
 *        (the counters, stall_ns included, come with the others)
 */
void emp_monitor_stat(struct emp_instance *inst, struct emp_stat *st)
{
	struct emp_monitor *m = emp_mon(inst);
	unsigned int b;

	st->pressure = READ_ONCE(m->pressure);
	st->pressure_threshold = READ_ONCE(m->threshold);
	st->cold_age_s = READ_ONCE(m->cold_age_s);
	for (b = 0; b < EMP_COLD_BUCKETS; b++)
		st->cold_bytes[b] = READ_ONCE(m->cold_bytes[b]);
}

/* ---- sysfs: /sys/class/emp/emp-NAME/ ------------------------------------- */

static struct emp_instance *emp_dev_inst(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t cold_age_s_show(struct device *dev, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(emp_dev_inst(dev)->mon.cold_age_s));
}

/* At most a day: jiffies arithmetic stays far from wrapping. */
static ssize_t cold_age_s_store(struct device *dev, struct device_attribute *a,
				const char *buf, size_t len)
{
	unsigned long v;
	int err = kstrtoul(buf, 0, &v);

	if (err)
		return err;
	if (v > 86400)
		return -EINVAL;
	WRITE_ONCE(emp_dev_inst(dev)->mon.cold_age_s, v);
	return len;
}
static DEVICE_ATTR_RW(cold_age_s);

static ssize_t age_scan_ms_show(struct device *dev, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(emp_dev_inst(dev)->mon.scan_ms));
}

/* 0 (off) or 100 ms .. 1 h: a pass costs a walk of every resident block. */
static ssize_t age_scan_ms_store(struct device *dev, struct device_attribute *a,
				 const char *buf, size_t len)
{
	unsigned int v;
	int err = kstrtouint(buf, 0, &v);

	if (err)
		return err;
	if (v && (v < 100 || v > 3600000))
		return -EINVAL;
	WRITE_ONCE(emp_dev_inst(dev)->mon.scan_ms, v);
	return len;
}
static DEVICE_ATTR_RW(age_scan_ms);

static ssize_t pressure_threshold_show(struct device *dev, struct device_attribute *a,
				       char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(emp_dev_inst(dev)->mon.threshold));
}

static ssize_t pressure_threshold_store(struct device *dev, struct device_attribute *a,
					const char *buf, size_t len)
{
	unsigned int v;
	int err = kstrtouint(buf, 0, &v);

	if (err)
		return err;
	if (v > 1000)
		return -EINVAL;
	WRITE_ONCE(emp_dev_inst(dev)->mon.threshold, v);
	return len;
}
static DEVICE_ATTR_RW(pressure_threshold);

static ssize_t pressure_show(struct device *dev, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(emp_dev_inst(dev)->mon.pressure));
}
static DEVICE_ATTR_RO(pressure);

/* One line per age: "SECONDS BYTES", resident bytes idle at least that long. */
static ssize_t cold_hist_show(struct device *dev, struct device_attribute *a, char *buf)
{
	struct emp_monitor *m = &emp_dev_inst(dev)->mon;
	unsigned int b;
	int n = 0;

	for (b = 0; b < EMP_COLD_BUCKETS; b++)
		n += sysfs_emit_at(buf, n, "%u %llu\n", emp_cold_ages[b],
				   READ_ONCE(m->cold_bytes[b]));
	return n;
}
static DEVICE_ATTR_RO(cold_hist);

static struct attribute *emp_monitor_attrs[] = {
	&dev_attr_cold_age_s.attr,
	&dev_attr_age_scan_ms.attr,
	&dev_attr_pressure_threshold.attr,
	&dev_attr_pressure.attr,
	&dev_attr_cold_hist.attr,
	NULL,
};

const struct attribute_group emp_monitor_group = {
	.attrs = emp_monitor_attrs,
};
