/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TCP tier's own structures, shared by its two files: tier_tcp.c
 * (sending, failure, set-up and teardown; the design is described at its
 * top) and tier_tcp_recv.c (the socket callbacks: receiving replies).
 */
#ifndef _EMP_TIER_TCP_H
#define _EMP_TIER_TCP_H

#include <linux/atomic.h>
#include <linux/bvec.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/workqueue.h>

#include "emp_tier.h"

struct emp_tcp_queue;

/**
 * struct emp_tcp_req - one request, from submission to completion
 * @list: on its queue's send_q, then on .pending from its first byte sent
 * @io:   the transfer
 * @refs: 2 at submission: the sender's (dropped when every byte is in the
 *        socket) and the receiver's (dropped when the reply is in); the
 *        last one completes @io
 * @err:  result given to @io->end_io
 * @sent: jiffies when its sending began
 * @len:  bytes on the wire: the header, and the pages of a WRITE
 * @nr_bv: entries of @bv used for sending (1, or 1 + pages for a WRITE)
 * @hdr:  the request header, sent from here
 * @bv:   @hdr, then the pages of @io
 */
struct emp_tcp_req {
	struct list_head list;
	struct emp_tier_io *io;
	atomic_t refs;
	int err;
	unsigned long sent;
	size_t len;
	unsigned int nr_bv;
	struct emp_wire_hdr hdr;
	struct bio_vec bv[];
};

/**
 * struct emp_tcp_queue - one connection of a TCP tier
 * @t:          its tier
 * @id:         index in the tier, for messages
 * @sock:       the connection
 * @lock:       protects @send_q, @pending and @dead; taken with BH off,
 *              as the receive callback takes it in softirq context
 * @send_q:     requests not yet sent, oldest first
 * @pending:    requests sent or being sent, in wire order; the head is the
 *              one the next reply answers
 * @dead:       the connection failed; nothing more is queued on it
 * @send_mutex: held by whoever writes to the socket (a submitter, io_work,
 *              the kill); protects @snd and @snd_off.
 *              Lock order: send_mutex -> socket lock -> lock
 * @snd:        request whose bytes are being sent, or NULL
 * @snd_off:    bytes of @snd already in the socket
 * @rx_hdr:     reply header being received (the rx_* fields are only
 *              touched by the receive callback and the kill, both under
 *              the socket lock)
 * @rx_got:     bytes of @rx_hdr received
 * @rx_req:     request whose READ data is being received, or NULL
 * @rx_iter:    where that data goes
 * @rx_left:    bytes of it still to come
 * @rd_enabled: the receive callback may parse; cleared under the socket
 *              lock when the queue is killed
 * @io_work:    sends what submitters left (socket full or mutex taken)
 * @err_work:   kills the queue after a failure seen in atomic context
 * @data_ready:   the socket's own callbacks, put back at teardown
 * @state_change: likewise
 * @write_space:  likewise
 */
struct emp_tcp_queue {
	struct emp_tcp_tier *t;
	unsigned int id;
	struct socket *sock;
	spinlock_t lock;
	struct list_head send_q;
	struct list_head pending;
	bool dead;
	struct mutex send_mutex;
	struct emp_tcp_req *snd;
	size_t snd_off;
	struct emp_wire_hdr rx_hdr;
	unsigned int rx_got;
	struct emp_tcp_req *rx_req;
	struct iov_iter rx_iter;
	size_t rx_left;
	bool rd_enabled;
	struct work_struct io_work;
	struct work_struct err_work;
	void (*data_ready)(struct sock *sk);
	void (*state_change)(struct sock *sk);
	void (*write_space)(struct sock *sk);
};

/**
 * struct emp_tcp_tier - TCP backend
 * @be:        generic part
 * @wq:        io_work and err_work of the queues and the watchdog run here;
 *             WQ_MEM_RECLAIM, as eviction under memory pressure waits on it
 * @watch:     the watchdog: kills queues with an overdue request
 * @closing:   teardown has begun: the end of the connections is expected
 * @session:   donor session the queues share
 * @peer:      "addr:port" for messages
 * @nr_queues: queues in @q
 * @q:         the queues
 */
struct emp_tcp_tier {
	struct emp_backend be;
	struct workqueue_struct *wq;
	struct delayed_work watch;
	bool closing;
	u64 session;
	char peer[EMP_PEER_MAX];
	unsigned int nr_queues;
	struct emp_tcp_queue q[];
};

static inline struct emp_tcp_tier *to_tcp_tier(struct emp_backend *be)
{
	return container_of(be, struct emp_tcp_tier, be);
}

/* Drop one reference of @req; the last completes it. @err 0 keeps req->err. */
static inline void emp_tcp_req_put(struct emp_tcp_req *req, int err)
{
	if (err)
		WRITE_ONCE(req->err, err);
	if (!atomic_dec_and_test(&req->refs))
		return;
	req->io->end_io(req->io, READ_ONCE(req->err));
	kfree(req);
}

/* tier_tcp_recv.c */
void emp_tcp_set_callbacks(struct emp_tcp_queue *q);
void emp_tcp_restore_callbacks(struct emp_tcp_queue *q);

#endif /* _EMP_TIER_TCP_H */
