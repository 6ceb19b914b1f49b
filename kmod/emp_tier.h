/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiers: the slower stores behind an instance's DRAM cache. Every kind
 * (block device, RDMA, TCP) is a backend behind one ops table; the paging
 * engine only ever calls these.
 */
#ifndef _EMP_TIER_H
#define _EMP_TIER_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/mm_types.h>
#include <linux/socket.h>
#include <linux/emp.h>
#include <linux/emp_wire.h>

struct emp_backend;

enum emp_io_dir {
	EMP_IO_READ,
	EMP_IO_WRITE,
};

/*
 * emp_tier_io.flags. EMP_IO_POLL, from the submitter: it waits for this
 * transfer at once and will reap its completion itself through ops->poll
 * (the critical read of a fault, emp_tier_rw_sync()). A tier with a poll op
 * then sends it where polling finds its completion; a tier without one
 * ignores the flag. Every other transfer is submitted with flags zero.
 * EMP_IO_REAPED, from the tier, set before end_io: the completion was
 * reaped by a poll (of any task), not by interrupt-driven processing.
 */
#define EMP_IO_POLL	(1U << 0)
#define EMP_IO_REAPED	(1U << 1)

/**
 * struct emp_tier_io - one transfer between DRAM pages and a tier
 * @dir:      read from or write to the tier
 * @flags:    EMP_IO_* bits (see above)
 * @queue:    set by ->submit of a tier with a poll op before the transfer
 *            can complete: which of its queues ->poll is to reap
 * @pos:      byte offset inside the tier (page aligned)
 * @pages:    the DRAM pages, in order
 * @nr_pages: how many; the transfer is nr_pages * PAGE_SIZE bytes
 * @end_io:   called once when the transfer is over, with 0 or -errno; may
 *            run in interrupt context, and for a polled transfer in the
 *            context of any task polling the same queue
 * @private:  for the submitter
 */
struct emp_tier_io {
	enum emp_io_dir dir;
	unsigned int flags;
	unsigned int queue;
	u64 pos;
	struct page **pages;
	unsigned int nr_pages;
	void (*end_io)(struct emp_tier_io *io, int err);
	void *private;
};

/**
 * struct emp_tier_ops - what a tier kind implements
 * @kind:    EMP_TIER_* it serves
 * @name:    for messages
 * @owner:   module holding the code; pinned while a backend of it lives
 * @create:  open/connect a backend for a validated description, @holder
 *           being the instance. Context: process context, sleeps.
 * @submit:  start @io; completion is reported through io->end_io, also for
 *           errors found at submission. Context: process context, may sleep.
 * @poll:    optional: reap completions of the queue a submitted @io with
 *           EMP_IO_POLL went to, calling their end_io (of this or any other
 *           transfer on that queue) before it returns; returns how many it
 *           reaped. It does not wait, and a transfer's end is known from
 *           its end_io alone, never from what a poll returned. Tiers whose
 *           polled transfers would complete without it leave it NULL.
 *           Context: process context, does not sleep; several tasks may
 *           poll one queue at once.
 * @overlaps: optional: whether two backends of this kind share storage
 *           (two ranges of one block device that intersect), so that one
 *           instance must not have both. Context: process context.
 * @destroy: release everything the backend holds; no I/O is in flight.
 */
struct emp_tier_ops {
	u32 kind;
	const char *name;
	struct module *owner;
	int (*create)(const struct emp_tier *desc, void *holder, struct emp_backend **out);
	void (*submit)(struct emp_backend *be, struct emp_tier_io *io);
	int (*poll)(struct emp_backend *be, struct emp_tier_io *io);
	bool (*overlaps)(struct emp_backend *a, struct emp_backend *b);
	void (*destroy)(struct emp_backend *be);
};

/**
 * struct emp_backend - one tier of one instance
 * @ops:   its kind's operations
 * @start: first instance byte this tier holds
 * @size:  bytes of the instance it holds
 * @reads, @read_bytes, @writes, @write_bytes, @errors: completed requests
 * @holder: the instance, set by emp.ko once the kind's create returned
 *          (for emp_tier_lost(); READ_ONCE)
 * @peer:   "ADDR:PORT" of a remote tier's donor, for events; else empty
 *
 * Embedded in the kind's own struct (see tier_bdev.c).
 */
struct emp_backend {
	const struct emp_tier_ops *ops;
	u64 start;
	u64 size;
	atomic64_t reads;
	atomic64_t read_bytes;
	atomic64_t writes;
	atomic64_t write_bytes;
	atomic64_t errors;
	void *holder;
	char peer[EMP_PATH_MAX + 8];
};

int emp_tier_register(const struct emp_tier_ops *ops);
void emp_tier_unregister(const struct emp_tier_ops *ops);

/* The kinds built into emp.ko; emp_tier.c puts them in its table. */
extern const struct emp_tier_ops emp_bdev_ops;
extern const struct emp_tier_ops emp_tcp_ops;
extern const struct emp_tier_ops emp_node_ops;

unsigned int emp_request_timeout(void);
void emp_tier_lost(struct emp_backend *be);

/*
 * What the remote tiers share (tier_remote.c): the donor's address and
 * name, and the HELLO exchange.
 */
#define EMP_PEER_MAX	(EMP_PATH_MAX + 8)	/* "ADDR:PORT" and its NUL */

int emp_tier_addr(const struct emp_tier *desc, struct sockaddr_storage *ss);
void emp_tier_peer(const struct emp_tier *desc, char *buf, size_t len);

struct emp_wire_hello_msg {
	struct emp_wire_hdr h;
	struct emp_wire_hello hello;
} __packed;

struct emp_wire_reply_msg {
	struct emp_wire_hdr h;
	struct emp_wire_hello_reply r;
} __packed;

void emp_wire_hello_init(struct emp_wire_hello_msg *m, const struct emp_tier *desc,
			 u64 session);
int emp_wire_reply_check(const char *what, struct emp_wire_reply_msg *m,
			 const struct emp_tier *desc);

#endif /* _EMP_TIER_H */
