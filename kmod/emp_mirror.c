// SPDX-License-Identifier: GPL-2.0
/*
 * Replicated remote tiers: a mirror backend holds two copies of a tier's
 * bytes on two donors (EMP_TIER_F_REPLICA in uapi/linux/emp.h). The core
 * sees one backend; every write goes to both copies, a read to one of them
 * (alternating per 64 KiB so both donors serve), and a transfer that fails
 * on a copy is done on the other, which then serves alone: the failed copy
 * is dropped (stat.replicas_lost, .failovers) and the fault never sees the
 * error. Remote tiers never reconnect, so a dropped copy stays dropped
 * until EMP_IOC_REPAIR gives the tier a new one.
 *
 * Filling a new copy (emp_mirror_repair()): a kthread copies the tier from
 * the surviving copy in chunks, skipping chunks no subblock of which was
 * ever written (emp_instance.stored; a new donor region reads as zeros).
 * While it runs, a write below the chunk being copied goes to both copies,
 * one above it to the survivor only (the copy reaches it later), and one
 * that overlaps it waits until the chunk is done. Before it reads a chunk
 * the filler waits for every write submitted before it claimed the chunk
 * (two counters of writes in flight, switched at each claim, as SRCU does
 * with its readers), so no write can land between its read and its write.
 * The new copy serves reads once it is full.
 *
 * No polling: the mirror has no ->poll, so its reads are completed by the
 * legs' interrupt-driven paths, and a polled read of an RDMA leg is given
 * up for replication (docs/design.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "emp.h"

#define EMP_MIRROR_CHUNK_PAGES	64	/* 256 KiB copied at a time */
#define EMP_MIRROR_READ_SPLIT	16	/* reads alternate copies per 2^16 bytes */
#define EMP_MIRROR_POOL		32	/* transfers in flight guaranteed under pressure */

struct emp_mirror {
	struct emp_backend be;
	struct emp_instance *inst;
	struct emp_backend *leg[2];
	spinlock_t lock;		/* up, filling, fill_lo/hi, epoch */
	unsigned long up;		/* bit i: leg i serves reads and writes */
	int filling;			/* the leg being filled, or -1 */
	u64 fill_lo, fill_hi;		/* the chunk being copied (tier bytes) */
	unsigned int epoch;		/* which counter new writes use */
	atomic_t writes[2];		/* writes in flight, by epoch */
	atomic_t leg_busy[2];		/* transfers in flight on each leg */
	wait_queue_head_t wq;		/* writes, fills and repairs wait here */
	struct task_struct *filler;
	struct mutex repair_lock;	/* one repair (or destroy) at a time */
	mempool_t *pool;
};

struct emp_mirror_io {
	struct emp_mirror *m;
	struct emp_tier_io *parent;
	struct emp_tier_io child[2];
	atomic_t pending;		/* write: legs not done, +1 while submitting */
	int err[2];
	unsigned int epoch;		/* write: its counter */
	int leg;			/* read: the leg it went to */
	struct work_struct retry;	/* read: redo on the other leg */
};

static const struct emp_tier_ops emp_mirror_ops;

static struct emp_mirror *to_mirror(struct emp_backend *be)
{
	return container_of(be, struct emp_mirror, be);
}

bool emp_is_mirror(struct emp_backend *be)
{
	return be->ops == &emp_mirror_ops;
}

/* Drop leg @i after it failed a transfer with @err. */
static void emp_mirror_drop(struct emp_mirror *m, int i, int err)
{
	unsigned long flags;
	bool was;

	spin_lock_irqsave(&m->lock, flags);
	was = test_and_clear_bit(i, &m->up);
	if (m->filling == i)
		m->filling = -1;	/* the filler sees it and stops */
	spin_unlock_irqrestore(&m->lock, flags);
	if (was) {
		emp_count(m->inst, replicas_lost);
		pr_warn("%s: copy %d of a replicated tier (%s) failed (%d); the other serves alone\n",
			m->inst->name, i, m->leg[i]->peer, err);
	}
	wake_up_all(&m->wq);
}

/*
 * The last thing a completion does with @m: dropping its transfer's hold
 * on leg @i, under the lock, so that emp_mirror_idle() (destroy, repair)
 * cannot see the count at zero before this is done with @m.
 */
static void emp_mirror_leg_put(struct emp_mirror *m, int i)
{
	unsigned long flags;

	spin_lock_irqsave(&m->lock, flags);
	if (atomic_dec_and_test(&m->leg_busy[i]))
		wake_up_all(&m->wq);
	spin_unlock_irqrestore(&m->lock, flags);
}

/* Whether no transfer is in flight on the legs of @mask. */
static bool emp_mirror_idle(struct emp_mirror *m, unsigned long mask)
{
	bool idle;

	spin_lock_irq(&m->lock);
	idle = (!(mask & BIT(0)) || !atomic_read(&m->leg_busy[0])) &&
	       (!(mask & BIT(1)) || !atomic_read(&m->leg_busy[1]));
	spin_unlock_irq(&m->lock);
	return idle;
}

/*
 * Send @mio's transfer to leg @i, whose hold the caller took with the
 * leg's pointer in @leg, both under m->lock: so a leg that is dropped and
 * replaced meanwhile (repair waits for the old one's holds) never gets a
 * transfer meant for the copy it replaced.
 */
static void emp_mirror_leg_submit(struct emp_backend *leg, struct emp_mirror_io *mio, int i,
				  void (*end_io)(struct emp_tier_io *, int))
{
	struct emp_tier_io *c = &mio->child[i];

	*c = *mio->parent;
	c->flags = 0;		/* no polled reads through a mirror */
	c->queue = 0;
	c->end_io = end_io;
	c->private = mio;
	leg->ops->submit(leg, c);
}

/* --- writes ------------------------------------------------------------------ */

static void emp_mirror_write_done(struct emp_mirror_io *mio)
{
	struct emp_mirror *m = mio->m;
	struct emp_tier_io *parent = mio->parent;
	int err = 0;

	/* Done if any copy took it; a copy that did not was dropped. */
	if (mio->err[0] && mio->err[1])
		err = mio->err[0];
	if (atomic_dec_and_test(&m->writes[mio->epoch]))
		wake_up_all(&m->wq);
	mempool_free(mio, m->pool);
	parent->end_io(parent, err);
}

static void emp_mirror_write_end(struct emp_tier_io *c, int err)
{
	struct emp_mirror_io *mio = c->private;
	struct emp_mirror *m = mio->m;
	int i = c == &mio->child[1];

	if (err)
		emp_mirror_drop(m, i, err);
	mio->err[i] = err;
	if (atomic_dec_and_test(&mio->pending))
		emp_mirror_write_done(mio);
	emp_mirror_leg_put(m, i);
}

/* Whether [@pos, @pos + @len) overlaps the chunk being copied. Under m->lock. */
static bool emp_mirror_in_fill(struct emp_mirror *m, u64 pos, u64 len)
{
	return m->filling >= 0 && pos < m->fill_hi && pos + len > m->fill_lo;
}

static bool emp_mirror_blocked(struct emp_mirror *m, u64 pos, u64 len)
{
	bool b;

	spin_lock_irq(&m->lock);
	b = emp_mirror_in_fill(m, pos, len);
	spin_unlock_irq(&m->lock);
	return b;
}

static void emp_mirror_write(struct emp_mirror *m, struct emp_tier_io *io,
			     struct emp_mirror_io *mio)
{
	u64 len = (u64)io->nr_pages << PAGE_SHIFT;
	struct emp_backend *legs[2];
	unsigned long targets;
	int i;

	spin_lock_irq(&m->lock);
	/* The chunk being copied takes no writes: wait until it is done. */
	while (emp_mirror_in_fill(m, io->pos, len)) {
		spin_unlock_irq(&m->lock);
		wait_event(m->wq, !emp_mirror_blocked(m, io->pos, len));
		spin_lock_irq(&m->lock);
	}
	targets = m->up;
	/* A copy being filled takes what is below the chunk being copied. */
	if (m->filling >= 0 && io->pos + len <= m->fill_lo)
		targets |= BIT(m->filling);
	mio->epoch = m->epoch;
	atomic_inc(&m->writes[mio->epoch]);
	for (i = 0; i < 2; i++) {
		legs[i] = m->leg[i];
		if (targets & BIT(i))
			atomic_inc(&m->leg_busy[i]);
	}
	spin_unlock_irq(&m->lock);

	mio->err[0] = mio->err[1] = -EIO;
	atomic_set(&mio->pending, 1);
	for (i = 0; i < 2; i++) {
		if (!(targets & BIT(i)))
			continue;
		atomic_inc(&mio->pending);
		emp_mirror_leg_submit(legs[i], mio, i, emp_mirror_write_end);
	}
	if (atomic_dec_and_test(&mio->pending))
		emp_mirror_write_done(mio);
}

/* --- reads ------------------------------------------------------------------- */

static void emp_mirror_read_end(struct emp_tier_io *c, int err);

/*
 * Which leg serves a read at @pos, other than @not: alternating while both
 * serve. With a leg found, its hold is taken and its pointer put in *@leg.
 * Return: the leg, or -1 when none serves.
 */
static int emp_mirror_pick(struct emp_mirror *m, u64 pos, int not, struct emp_backend **leg)
{
	int want = (pos >> EMP_MIRROR_READ_SPLIT) & 1, i = -1;
	unsigned long up, flags;

	spin_lock_irqsave(&m->lock, flags);
	up = m->up;
	if (not >= 0)
		up &= ~BIT(not);
	if (up & BIT(want))
		i = want;
	else if (up & BIT(!want))
		i = !want;
	if (i >= 0) {
		atomic_inc(&m->leg_busy[i]);
		*leg = m->leg[i];
	}
	spin_unlock_irqrestore(&m->lock, flags);
	return i;
}

/* Whether a leg other than @not serves. */
static bool emp_mirror_other_up(struct emp_mirror *m, int not)
{
	return READ_ONCE(m->up) & ~BIT(not);
}

/*
 * A read that failed on one copy, redone on the other. The failed leg's
 * hold is kept until the retry is submitted, so destroy and repair wait
 * for it.
 */
static void emp_mirror_read_retry(struct work_struct *w)
{
	struct emp_mirror_io *mio = container_of(w, struct emp_mirror_io, retry);
	struct emp_mirror *m = mio->m;
	struct emp_tier_io *parent = mio->parent;
	struct emp_backend *leg;
	int failed = mio->leg, i = emp_mirror_pick(m, parent->pos, failed, &leg);

	if (i < 0) {
		mempool_free(mio, m->pool);
		parent->end_io(parent, -EIO);
	} else {
		emp_count(m->inst, failovers);
		mio->leg = i;
		emp_mirror_leg_submit(leg, mio, i, emp_mirror_read_end);
	}
	emp_mirror_leg_put(m, failed);
}

static void emp_mirror_read_end(struct emp_tier_io *c, int err)
{
	struct emp_mirror_io *mio = c->private;
	struct emp_mirror *m = mio->m;
	struct emp_tier_io *parent = mio->parent;
	int i = mio->leg;

	if (err) {
		emp_mirror_drop(m, i, err);
		if (emp_mirror_other_up(m, i)) {
			/* ->submit wants process context: from a worker. */
			INIT_WORK(&mio->retry, emp_mirror_read_retry);
			queue_work(system_unbound_wq, &mio->retry);
			return;
		}
	}
	mempool_free(mio, m->pool);
	parent->end_io(parent, err);
	emp_mirror_leg_put(m, i);
}

static void emp_mirror_submit(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_mirror *m = to_mirror(be);
	struct emp_mirror_io *mio = mempool_alloc(m->pool, GFP_NOIO);
	struct emp_backend *leg;

	mio->m = m;
	mio->parent = io;
	if (io->dir == EMP_IO_WRITE) {
		emp_mirror_write(m, io, mio);
		return;
	}
	mio->leg = emp_mirror_pick(m, io->pos, -1, &leg);
	if (mio->leg < 0) {
		mempool_free(mio, m->pool);
		io->end_io(io, -EIO);
		return;
	}
	emp_mirror_leg_submit(leg, mio, mio->leg, emp_mirror_read_end);
}

/* --- filling a new copy ---------------------------------------------------- */

struct emp_mirror_sync {
	struct emp_tier_io io;
	struct completion done;
	int err;
};

static void emp_mirror_sync_end(struct emp_tier_io *io, int err)
{
	struct emp_mirror_sync *s = container_of(io, struct emp_mirror_sync, io);

	s->err = err;
	complete(&s->done);
}

/* One transfer on leg @i, waited for. */
static int emp_mirror_leg_rw(struct emp_mirror *m, int i, enum emp_io_dir dir, u64 pos,
			     struct page **pages, unsigned int nr)
{
	struct emp_mirror_sync s = {
		.io = { .dir = dir, .pos = pos, .pages = pages, .nr_pages = nr,
			.end_io = emp_mirror_sync_end },
	};

	struct emp_backend *leg;

	init_completion(&s.done);
	spin_lock_irq(&m->lock);
	atomic_inc(&m->leg_busy[i]);
	leg = m->leg[i];
	spin_unlock_irq(&m->lock);
	leg->ops->submit(leg, &s.io);
	wait_for_completion(&s.done);
	emp_mirror_leg_put(m, i);
	return s.err;
}

/* Whether any subblock of tier bytes [@pos, @pos + @len) was ever written. */
static bool emp_mirror_stored(struct emp_mirror *m, u64 pos, u64 len)
{
	struct emp_instance *inst = m->inst;
	unsigned long first = (m->be.start + pos) >> inst->sub_shift;
	unsigned long end = (m->be.start + pos + len - 1) >> inst->sub_shift;

	return find_next_bit(inst->stored, end + 1, first) <= end;
}

static int emp_mirror_fill(void *arg)
{
	struct emp_mirror *m = arg;
	struct page *pages[EMP_MIRROR_CHUNK_PAGES] = { NULL };
	u64 chunk = (u64)EMP_MIRROR_CHUNK_PAGES << PAGE_SHIFT, pos, len;
	int f = m->filling, src = !f, err = 0;
	unsigned int i, old, nr;

	for (i = 0; i < EMP_MIRROR_CHUNK_PAGES; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i]) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (pos = 0; pos < m->be.size && !err; pos += len) {
		len = min(chunk, m->be.size - pos);
		nr = len >> PAGE_SHIFT;
		spin_lock_irq(&m->lock);
		if (kthread_should_stop() || m->filling != f || !test_bit(src, &m->up)) {
			spin_unlock_irq(&m->lock);
			err = -EIO;
			break;
		}
		m->fill_lo = pos;
		m->fill_hi = pos + len;
		old = m->epoch;
		m->epoch = !old;
		spin_unlock_irq(&m->lock);
		/* Writes that waited for the chunk before go on now. */
		wake_up_all(&m->wq);
		/* Every write that began before the claim is over. */
		wait_event(m->wq, !atomic_read(&m->writes[old]));
		if (!emp_mirror_stored(m, pos, len))
			continue;
		err = emp_mirror_leg_rw(m, src, EMP_IO_READ, pos, pages, nr);
		if (err) {
			emp_mirror_drop(m, src, err);
			break;
		}
		err = emp_mirror_leg_rw(m, f, EMP_IO_WRITE, pos, pages, nr);
		if (!err)
			this_cpu_add(m->inst->stats->resynced, len);
	}
out:
	spin_lock_irq(&m->lock);
	if (!err && m->filling == f) {
		set_bit(f, &m->up);
		pr_info("%s: new copy of a replicated tier (%s) is full and serves\n",
			m->inst->name, m->leg[f]->peer);
	} else {
		pr_warn("%s: filling the new copy (%s) failed (%d)\n", m->inst->name,
			m->leg[f]->peer, err);
	}
	m->filling = -1;
	m->fill_lo = m->fill_hi = 0;
	spin_unlock_irq(&m->lock);
	wake_up_all(&m->wq);
	for (i = 0; i < EMP_MIRROR_CHUNK_PAGES; i++)
		if (pages[i])
			__free_page(pages[i]);
	/* Wait to be stopped, so kthread_stop() always finds the thread. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return err;
}

static void emp_mirror_stop_filler(struct emp_mirror *m)
{
	if (!m->filler)
		return;
	kthread_stop(m->filler);
	m->filler = NULL;
}

/**
 * emp_mirror_repair() - give a replicated tier a new copy and fill it
 * @be:   the tier (emp_is_mirror())
 * @desc: the new copy, checked by the caller (remote, the tier's size)
 *
 * Context: Process context, sleeps (connects to the donor).
 * Return: 0, -EBUSY while both copies serve or a fill runs, -EIO when no
 * copy serves (nothing to fill from), or emp_tier_create()'s error.
 */
int emp_mirror_repair(struct emp_backend *be, const struct emp_tier *desc)
{
	struct emp_mirror *m = to_mirror(be);
	struct emp_backend *nb, *old;
	int dead, err;

	mutex_lock(&m->repair_lock);
	spin_lock_irq(&m->lock);
	if (m->filling >= 0 || m->up == (BIT(0) | BIT(1)))
		err = -EBUSY;
	else if (!m->up)
		err = -EIO;
	else
		err = 0;
	dead = test_bit(0, &m->up) ? 1 : 0;
	spin_unlock_irq(&m->lock);
	if (err)
		goto out;
	/* A filler that ended (done or failed) is reaped first. */
	emp_mirror_stop_filler(m);
	err = emp_tier_create(desc, m->inst, &nb);
	if (err)
		goto out;
	nb->start = be->start;
	/* Transfers still in flight on the dropped copy end first. */
	wait_event(m->wq, emp_mirror_idle(m, BIT(dead)));
	old = m->leg[dead];
	spin_lock_irq(&m->lock);
	m->leg[dead] = nb;
	m->fill_lo = m->fill_hi = 0;
	m->filling = dead;
	spin_unlock_irq(&m->lock);
	emp_tier_destroy(old);
	m->filler = kthread_run(emp_mirror_fill, m, "emp-fill/%s", m->inst->name);
	if (IS_ERR(m->filler)) {
		err = PTR_ERR(m->filler);
		m->filler = NULL;
		spin_lock_irq(&m->lock);
		m->filling = -1;
		spin_unlock_irq(&m->lock);
		wake_up_all(&m->wq);
		goto out;
	}
	pr_info("%s: filling a new copy of a replicated tier from %s on %s\n", m->inst->name,
		m->leg[!dead]->peer, nb->peer);
out:
	mutex_unlock(&m->repair_lock);
	return err;
}

/**
 * emp_mirror_copies() - emp_tier_stat.copies of a tier
 * @be: any tier
 *
 * Return: EMP_COPY_* bits; 0 for a tier without a replica.
 */
u32 emp_mirror_copies(struct emp_backend *be)
{
	struct emp_mirror *m;
	u32 c;

	if (!emp_is_mirror(be))
		return 0;
	m = to_mirror(be);
	c = EMP_COPY_REPLICATED;
	if (test_bit(0, &m->up))
		c |= EMP_COPY_FIRST_UP;
	if (test_bit(1, &m->up))
		c |= EMP_COPY_SECOND_UP;
	if (READ_ONCE(m->filling) >= 0)
		c |= EMP_COPY_RESYNC;
	return c;
}

/**
 * emp_mirror_show() - a replicated tier's line of the sysfs file replicas
 * @be:  any tier
 * @idx: its index
 * @buf: the sysfs buffer
 * @at:  bytes of @buf used
 *
 * "TIER PEER STATE PEER STATE\n", STATE one of up, lost, filling.
 * Return: bytes added (0 for a tier without a replica).
 */
int emp_mirror_show(struct emp_backend *be, unsigned int idx, char *buf, int at)
{
	static const char *const state[] = { "lost", "up", "filling" };
	struct emp_mirror *m;
	int i, st[2];

	if (!emp_is_mirror(be))
		return 0;
	m = to_mirror(be);
	mutex_lock(&m->repair_lock);	/* the legs stay */
	spin_lock_irq(&m->lock);
	for (i = 0; i < 2; i++)
		st[i] = test_bit(i, &m->up) ? 1 : m->filling == i ? 2 : 0;
	spin_unlock_irq(&m->lock);
	at = sysfs_emit_at(buf, at, "%u %s %s %s %s\n", idx, m->leg[0]->peer, state[st[0]],
			   m->leg[1]->peer, state[st[1]]);
	mutex_unlock(&m->repair_lock);
	return at;
}

/**
 * emp_mirror_kind() - the tier kind of a backend for emp_tier_stat.kind
 * @be: any tier
 *
 * Return: its kind; for a replicated tier, its first copy's.
 */
u32 emp_mirror_kind(struct emp_backend *be)
{
	return emp_is_mirror(be) ? to_mirror(be)->leg[0]->ops->kind : be->ops->kind;
}

/**
 * emp_mirror_create() - join two copies of a tier into one backend
 * @inst: the instance
 * @a:    the first copy
 * @b:    the second (same size)
 * @out:  the mirror, which owns both from now on (also on failure: then
 *        both are destroyed)
 *
 * Context: Process context.
 * Return: 0 or -ENOMEM.
 */
int emp_mirror_create(struct emp_instance *inst, struct emp_backend *a, struct emp_backend *b,
		      struct emp_backend **out)
{
	struct emp_mirror *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (m)
		m->pool = mempool_create_kmalloc_pool(EMP_MIRROR_POOL,
						      sizeof(struct emp_mirror_io));
	if (!m || !m->pool) {
		kfree(m);
		emp_tier_destroy(a);
		emp_tier_destroy(b);
		return -ENOMEM;
	}
	m->be.ops = &emp_mirror_ops;
	m->be.size = a->size;
	m->be.holder = inst;
	memcpy(m->be.peer, a->peer, sizeof(m->be.peer));
	m->inst = inst;
	m->leg[0] = a;
	m->leg[1] = b;
	m->up = BIT(0) | BIT(1);
	m->filling = -1;
	spin_lock_init(&m->lock);
	init_waitqueue_head(&m->wq);
	mutex_init(&m->repair_lock);
	/* emp_tier_destroy() puts the owner of every backend, this one too. */
	__module_get(THIS_MODULE);
	*out = &m->be;
	return 0;
}

static void emp_mirror_destroy(struct emp_backend *be)
{
	struct emp_mirror *m = to_mirror(be);

	mutex_lock(&m->repair_lock);
	spin_lock_irq(&m->lock);
	m->filling = -1;	/* a running filler stops at its next chunk */
	spin_unlock_irq(&m->lock);
	emp_mirror_stop_filler(m);
	mutex_unlock(&m->repair_lock);
	/* Read retries hold their failed leg: none left once both are idle. */
	wait_event(m->wq, emp_mirror_idle(m, BIT(0) | BIT(1)));
	emp_tier_destroy(m->leg[0]);
	emp_tier_destroy(m->leg[1]);
	mempool_destroy(m->pool);
	kfree(m);
}

static const struct emp_tier_ops emp_mirror_ops = {
	.kind = EMP_TIER_TCP,	/* replaced by the first copy's kind in stat */
	.name = "mirror",
	.owner = THIS_MODULE,
	.submit = emp_mirror_submit,
	.destroy = emp_mirror_destroy,
};
