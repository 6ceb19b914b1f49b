// SPDX-License-Identifier: GPL-2.0
/*
 * The core's side of tier transfers: submitting runs of pages, counting
 * them in their tier's counters once they are over, and waiting for them,
 * by polling where the tier can be polled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>

#include "emp.h"
#include "emp_trace.h"

/**
 * emp_tier_account() - count a finished transfer in its tier's counters
 * @be:  the tier
 * @io:  the transfer
 * @err: its result
 *
 * Context: Any context (called from I/O completion).
 */
void emp_tier_account(struct emp_backend *be, struct emp_tier_io *io, int err)
{
	u64 bytes = (u64)io->nr_pages << PAGE_SHIFT;

	if (err) {
		atomic64_inc(&be->errors);
		trace_emp_tier_error(be->ops->name, io->dir == EMP_IO_WRITE, io->pos,
				     io->nr_pages, err);
	} else if (io->dir == EMP_IO_READ) {
		atomic64_inc(&be->reads);
		atomic64_add(bytes, &be->read_bytes);
	} else {
		atomic64_inc(&be->writes);
		atomic64_add(bytes, &be->write_bytes);
	}
}

/**
 * emp_tier_of() - the tier holding a block
 * @inst:  the instance
 * @index: block number
 * @pos:   out: byte offset of the block inside that tier
 *
 * Return: the backend (tiers cover the whole instance); NULL for a
 * DRAM-only instance, which has none and never reads or writes one.
 */
struct emp_backend *emp_tier_of(struct emp_instance *inst, unsigned long index, u64 *pos)
{
	u64 off = (u64)index << inst->block_shift;
	unsigned int i;

	*pos = 0;
	if (!inst->nr_tiers)
		return NULL;

	for (i = 0; i < inst->nr_tiers - 1; i++)
		if (off < inst->tiers[i]->start + inst->tiers[i]->size)
			break;
	*pos = off - inst->tiers[i]->start;
	return inst->tiers[i];
}

static void emp_run_end_io(struct emp_tier_io *io, int err)
{
	struct emp_run_io *r = container_of(io, struct emp_run_io, io);

	emp_tier_account(r->be, io, err);
	r->err = err;
	if (atomic_dec_and_test(&r->wait->pending))
		complete(&r->wait->done);
}

void emp_run_submit(struct emp_run_io *r, struct emp_wait *w, struct emp_backend *be,
		    enum emp_io_dir dir, u64 pos, struct page **pages, unsigned int nr_pages,
		    unsigned int flags)
{
	r->be = be;
	r->wait = w;
	r->err = 0;
	r->io.dir = dir;
	r->io.flags = flags;
	r->io.queue = 0;
	r->io.pos = pos;
	r->io.pages = pages;
	r->io.nr_pages = nr_pages;
	r->io.end_io = emp_run_end_io;
	atomic_inc(&w->pending);
	be->ops->submit(be, &r->io);
}

/*
 * Polled waits. A tier with a poll op (RDMA) lets the faulting task reap
 * the completion of its critical read itself instead of sleeping until an
 * interrupt wakes it (unless poll_reads is off; then such reads go the
 * interrupt-driven way of every other transfer, for comparison or where
 * polling does not pay): it spins on ->poll for up to poll_us microseconds,
 * then, since such a completion raises no interrupt, sleeps in short slices
 * and polls again after each, until its read is over. A slice is at most
 * an eighth of the time already waited (10 us to 1 ms), so sleeping adds
 * little to a slow read and a stalled one (until the tier's watchdog fails
 * it) costs few wake-ups.
 */
static bool poll_reads = true;
module_param(poll_reads, bool, 0644);
MODULE_PARM_DESC(poll_reads,
		 "faults reap the completion of their reads themselves on tiers that can be "
		 "polled (RDMA) instead of sleeping until an interrupt (default Y)");

static unsigned int poll_us = 200;
module_param(poll_us, uint, 0644);
MODULE_PARM_DESC(poll_us,
		 "microseconds a fault polls the completion queue of its read before it sleeps "
		 "between polls, on tiers that can be polled (RDMA; default 200, 0: no spin)");

/*
 * Each polling fault keeps a CPU busy, and on a software RDMA device (rxe)
 * the device's own work needs a CPU too: with as many pollers as CPUs, the
 * reads they poll for advance only when a poller is preempted. So at most
 * poll_max faults poll at once; the others send their reads the
 * interrupt-driven way and sleep.
 */
static unsigned int poll_max;
module_param(poll_max, uint, 0644);
MODULE_PARM_DESC(poll_max,
		 "faults that poll for their reads at once, on tiers that can be polled; the others "
		 "sleep until an interrupt (default 0: half the online CPUs, at least 1)");

static atomic_t emp_pollers = ATOMIC_INIT(0);

/* Whether the caller may poll for its read; if so, emp_poll_put() after. */
static bool emp_poll_get(void)
{
	int max = READ_ONCE(poll_max);

	if (!max)
		max = max_t(int, num_online_cpus() / 2, 1);
	if (atomic_inc_return(&emp_pollers) <= max)
		return true;
	atomic_dec(&emp_pollers);
	return false;
}

static void emp_poll_put(void)
{
	atomic_dec(&emp_pollers);
}

#define EMP_POLL_SLICE_MIN_US	10
#define EMP_POLL_SLICE_MAX_US	1000

/* Wait for @done by polling the queue @io went to (see above), submitted at @start (ns). */
static void emp_poll_wait(struct emp_backend *be, struct emp_tier_io *io,
			  struct completion *done, u64 start)
{
	u64 spin_end = start + (u64)READ_ONCE(poll_us) * NSEC_PER_USEC;
	u64 now, slice;

	for (;;) {
		be->ops->poll(be, io);
		/* Judged by our own completion: another poller may have reaped it. */
		if (try_wait_for_completion(done))
			return;
		now = ktime_get_ns();
		if (now < spin_end) {
			cond_resched();
			cpu_relax();
			continue;
		}
		slice = clamp_t(u64, (now - start) / 8 / NSEC_PER_USEC,
				EMP_POLL_SLICE_MIN_US, EMP_POLL_SLICE_MAX_US);
		usleep_range(slice, slice + slice / 2);
	}
}

/**
 * emp_tier_rw_sync() - one transfer, waited for
 * @inst:     the instance it is for
 * @be:       the tier
 * @dir:      read or write
 * @pos:      byte offset inside the tier
 * @pages:    DRAM pages
 * @nr_pages: how many
 *
 * A read is the critical read of a fault: on a tier that can be polled
 * the caller polls for its completion, and one whose completion a poll
 * reaped is counted in stat.polled_reads.
 *
 * Context: Process context, sleeps.
 * Return: 0 or the tier's -errno.
 */
int emp_tier_rw_sync(struct emp_instance *inst, struct emp_backend *be, enum emp_io_dir dir,
		     u64 pos, struct page **pages, unsigned int nr_pages)
{
	bool poll = dir == EMP_IO_READ && be->ops->poll && READ_ONCE(poll_reads) &&
		    emp_poll_get();
	/* Reads are timed (stat.read_wait_ns); writebacks are not. */
	u64 start = dir == EMP_IO_READ ? ktime_get_ns() : 0;
	struct emp_wait w;
	struct emp_run_io r;

	atomic_set(&w.pending, 1);
	init_completion(&w.done);
	if (dir == EMP_IO_READ)
		emp_stall_begin(inst);
	emp_run_submit(&r, &w, be, dir, pos, pages, nr_pages, poll ? EMP_IO_POLL : 0);
	/* Pages for the next fault meanwhile (a writeback's time is not a fault's). */
	if (dir == EMP_IO_READ)
		emp_spare_fill(inst, nr_pages, &w.pending);
	/* Unless it is over already (failed at submission, or reaped by another poller): */
	if (!atomic_dec_and_test(&w.pending)) {
		if (poll)
			emp_poll_wait(be, &r.io, &w.done, start);
		else
			wait_for_completion(&w.done);
	}
	if (poll)
		emp_poll_put();
	if (dir == EMP_IO_READ) {
		this_cpu_add(inst->stats->read_wait_ns, ktime_get_ns() - start);
		emp_stall_end(inst);
	}
	if (r.io.flags & EMP_IO_REAPED)
		emp_count(inst, polled_reads);
	return r.err;
}
