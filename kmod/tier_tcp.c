// SPDX-License-Identifier: GPL-2.0
/*
 * TCP tier: remote DRAM on a donor running vmd in TCP mode, over kernel
 * sockets.
 *
 * A tier has several connections (queues), tcp_queues of them, all joined
 * to one donor session, so one region; a request goes to the queue of the
 * CPU it is submitted on. On each queue requests are pipelined and the
 * donor answers them in order.
 *
 * Sending: the submitting task sends its request itself when the queue's
 * send mutex is free, without blocking (MSG_DONTWAIT): header and payload
 * in one sendmsg. When the mutex is taken, or the socket is full, the
 * request waits on the queue and the queue's io_work sends it, woken by
 * write_space. A request only partly sent is always finished by io_work,
 * never by a submitter again, so a signal to a faulting task cannot cut a
 * message in half (and a non-blocking send does not look at signals).
 *
 * Receiving: replies are parsed straight from the socket's ->sk_data_ready
 * callback with tcp_read_sock() (softirq, or the socket owner's context
 * when it releases the socket lock), the data copied into the request's
 * pages and the request completed there: no thread is woken on the way.
 *
 * Failure: a queue whose connection ends or breaks the protocol is
 * killed: every request on it fails with -EIO (the faulting access gets
 * SIGBUS), and later requests go to the tier's other queues while any is
 * alive. A request unanswered for request_timeout seconds kills every
 * queue: the donor itself stopped answering. Each request
 * completes exactly once: it carries two references, one dropped by the
 * sender when all its bytes are in the socket, one by the receiver when
 * its reply is in; the kill, which excludes both, drops what they still
 * hold.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "emp_compat.h"
#include "emp_tier.h"

#define EMP_TCP_CONNECT_TIMEOUT	(10 * HZ)
#define EMP_TCP_USER_TIMEOUT_MS	30000
#define EMP_TCP_MAX_QUEUES	16
#define EMP_TCP_DEF_QUEUES	4

static unsigned int tcp_queues;
module_param(tcp_queues, uint, 0644);
MODULE_PARM_DESC(tcp_queues,
		 "connections per TCP tier, for tiers created afterwards (default 0: one per online CPU, at most 4; at most 16)");

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

static struct emp_tcp_tier *to_tcp_tier(struct emp_backend *be)
{
	return container_of(be, struct emp_tcp_tier, be);
}

/* Drop one reference of @req; the last completes it. @err 0 keeps req->err. */
static void emp_tcp_req_put(struct emp_tcp_req *req, int err)
{
	if (err)
		WRITE_ONCE(req->err, err);
	if (!atomic_dec_and_test(&req->refs))
		return;
	req->io->end_io(req->io, READ_ONCE(req->err));
	kfree(req);
}

/* ---- sending ------------------------------------------------------------- */

static bool emp_tcp_has_unsent(struct emp_tcp_queue *q)
{
	return READ_ONCE(q->snd) || !list_empty_careful(&q->send_q);
}

/*
 * Send what is queued until the socket is full or nothing is left. The
 * caller holds send_mutex. A submitter (@worker false) leaves a request
 * it could not send whole, and one another left so, to io_work.
 * Return: 0, or a send error (the queue is then left to err_work).
 */
static int emp_tcp_send_all(struct emp_tcp_queue *q, bool worker)
{
	struct emp_tcp_req *req;
	struct msghdr msg;
	bool more = false;
	int ret;

	for (;;) {
		req = q->snd;
		if (req && !worker)
			return 0;
		if (!req) {
			spin_lock_bh(&q->lock);
			req = q->dead ? NULL : list_first_entry_or_null(&q->send_q,
							struct emp_tcp_req, list);
			if (req) {
				/* On .pending from its first byte: the reply may be quick. */
				req->sent = jiffies;
				list_move_tail(&req->list, &q->pending);
				more = !list_empty(&q->send_q);
			}
			spin_unlock_bh(&q->lock);
			if (!req)
				return 0;
			WRITE_ONCE(q->snd, req);
			q->snd_off = 0;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0);
		iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, req->bv, req->nr_bv, req->len);
		iov_iter_advance(&msg.msg_iter, q->snd_off);
		ret = sock_sendmsg(q->sock, &msg);
		if (ret == -EAGAIN)
			return 0;	/* write_space queues io_work */
		if (ret <= 0) {
			ret = ret ? ret : -EIO;
			pr_warn_ratelimited("tcp tier %s: queue %u: send failed: %d\n",
					    q->t->peer, q->id, ret);
			queue_work(q->t->wq, &q->err_work);
			return ret;
		}
		q->snd_off += ret;
		if (q->snd_off < req->len)
			continue;	/* io_work goes on; a submitter stops */
		/* Every byte is in the socket: the reply may have come already. */
		WRITE_ONCE(q->snd, NULL);
		emp_tcp_req_put(req, 0);
		more = false;
	}
}

static void emp_tcp_io_work(struct work_struct *work)
{
	struct emp_tcp_queue *q = container_of(work, struct emp_tcp_queue, io_work);
	unsigned int noreclaim = memalloc_noreclaim_save();

	mutex_lock(&q->send_mutex);
	emp_tcp_send_all(q, true);
	mutex_unlock(&q->send_mutex);
	memalloc_noreclaim_restore(noreclaim);
}

/* ---- receiving ----------------------------------------------------------- */

/* The reply to @req is in: take it off .pending and drop the receiver's ref. */
static void emp_tcp_rx_done(struct emp_tcp_queue *q, struct emp_tcp_req *req, int err)
{
	spin_lock_bh(&q->lock);
	list_del_init(&req->list);
	spin_unlock_bh(&q->lock);
	q->rx_req = NULL;
	q->rx_got = 0;
	emp_tcp_req_put(req, err);
}

/* A whole reply header is in rx_hdr. Return: 0 or -EPROTO. */
static int emp_tcp_rx_hdr(struct emp_tcp_queue *q)
{
	struct emp_wire_hdr *h = &q->rx_hdr;
	struct emp_tcp_req *req;
	u32 status = le32_to_cpu(h->status);
	u32 len = le32_to_cpu(h->length);

	spin_lock_bh(&q->lock);
	req = list_first_entry_or_null(&q->pending, struct emp_tcp_req, list);
	spin_unlock_bh(&q->lock);
	if (!req || le32_to_cpu(h->magic) != EMP_WIRE_MAGIC ||
	    le16_to_cpu(h->op) != EMP_WIRE_REPLY || le64_to_cpu(h->tag) != le64_to_cpu(req->hdr.tag)) {
		pr_warn("tcp tier %s: queue %u: unexpected reply (op %u, tag %llu)\n",
			q->t->peer, q->id, le16_to_cpu(h->op), le64_to_cpu(h->tag));
		return -EPROTO;
	}
	if (status == EMP_WIRE_OK && req->io->dir == EMP_IO_READ) {
		if (len != req->io->nr_pages << PAGE_SHIFT)
			return -EPROTO;
		iov_iter_bvec(&q->rx_iter, ITER_DEST, req->bv + 1, req->io->nr_pages, len);
		q->rx_req = req;
		q->rx_left = len;
		return 0;
	}
	if (len)
		return -EPROTO;
	if (status != EMP_WIRE_OK)
		pr_warn_ratelimited("tcp tier %s: donor refused a request: status %u\n",
				    q->t->peer, status);
	emp_tcp_rx_done(q, req, status == EMP_WIRE_OK ? 0 : -EIO);
	return 0;
}

/*
 * tcp_read_sock() actor: parse replies out of @skb from @off, @len bytes.
 * Runs under the socket lock. Return: bytes used, or -errno to stop.
 */
static int emp_tcp_recv_skb(read_descriptor_t *desc, struct sk_buff *skb,
			    unsigned int off, size_t len)
{
	struct emp_tcp_queue *q = desc->arg.data;
	size_t used = len, n;
	int err;

	if (unlikely(!q->rd_enabled))
		return -ECONNABORTED;
	while (len) {
		if (!q->rx_req) {
			n = min_t(size_t, len, sizeof(q->rx_hdr) - q->rx_got);
			err = skb_copy_bits(skb, off, (u8 *)&q->rx_hdr + q->rx_got, n);
			if (err)
				goto out_fail;
			q->rx_got += n;
			off += n;
			len -= n;
			if (q->rx_got < sizeof(q->rx_hdr))
				break;
			err = emp_tcp_rx_hdr(q);
			if (err)
				goto out_fail;
			continue;
		}
		n = min(len, q->rx_left);
		err = skb_copy_datagram_iter(skb, off, &q->rx_iter, n);
		if (err)
			goto out_fail;
		q->rx_left -= n;
		off += n;
		len -= n;
		if (!q->rx_left)
			emp_tcp_rx_done(q, q->rx_req, 0);
	}
	return used;

out_fail:
	q->rd_enabled = false;
	queue_work(q->t->wq, &q->err_work);
	return err;
}

static void emp_tcp_data_ready(struct sock *sk)
{
	struct emp_tcp_queue *q;

	read_lock_bh(&sk->sk_callback_lock);
	q = sk->sk_user_data;
	if (q && q->rd_enabled) {
		read_descriptor_t desc = { .arg.data = q, .count = 1 };

		tcp_read_sock(sk, &desc, emp_tcp_recv_skb);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void emp_tcp_write_space(struct sock *sk)
{
	struct emp_tcp_queue *q;

	read_lock_bh(&sk->sk_callback_lock);
	q = sk->sk_user_data;
	if (q && sk_stream_is_writeable(sk)) {
		clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		queue_work(q->t->wq, &q->io_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void emp_tcp_state_change(struct sock *sk)
{
	struct emp_tcp_queue *q;

	read_lock_bh(&sk->sk_callback_lock);
	q = sk->sk_user_data;
	if (q) {
		switch (sk->sk_state) {
		case TCP_CLOSE:
		case TCP_CLOSE_WAIT:
		case TCP_LAST_ACK:
		case TCP_FIN_WAIT1:
		case TCP_FIN_WAIT2:
			queue_work(q->t->wq, &q->err_work);
			break;
		default:
			break;
		}
		q->state_change(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void emp_tcp_set_callbacks(struct emp_tcp_queue *q)
{
	struct sock *sk = q->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	q->data_ready = sk->sk_data_ready;
	q->state_change = sk->sk_state_change;
	q->write_space = sk->sk_write_space;
	q->rd_enabled = true;
	sk->sk_user_data = q;
	sk->sk_data_ready = emp_tcp_data_ready;
	sk->sk_state_change = emp_tcp_state_change;
	sk->sk_write_space = emp_tcp_write_space;
	write_unlock_bh(&sk->sk_callback_lock);
}

static void emp_tcp_restore_callbacks(struct emp_tcp_queue *q)
{
	struct sock *sk = q->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == q) {
		sk->sk_user_data = NULL;
		sk->sk_data_ready = q->data_ready;
		sk->sk_state_change = q->state_change;
		sk->sk_write_space = q->write_space;
	}
	write_unlock_bh(&sk->sk_callback_lock);
}

/* ---- failure ------------------------------------------------------------- */

/*
 * Kill @q: no more sending or parsing on it, and every request it holds
 * fails with -EIO. Idempotent. @err (0 for an expected end) is logged.
 * Context: process context; takes send_mutex and the socket lock, which
 * exclude the sender and the receive callback.
 */
static void emp_tcp_kill(struct emp_tcp_queue *q, int err)
{
	struct emp_tcp_req *req, *tmp, *snd;
	struct sock *sk = q->sock->sk;
	LIST_HEAD(sent);
	LIST_HEAD(unsent);
	bool was_dead;

	mutex_lock(&q->send_mutex);
	lock_sock(sk);
	spin_lock_bh(&q->lock);
	was_dead = q->dead;
	q->dead = true;
	list_splice_init(&q->pending, &sent);
	list_splice_init(&q->send_q, &unsent);
	spin_unlock_bh(&q->lock);
	q->rd_enabled = false;
	q->rx_req = NULL;
	q->rx_got = 0;
	snd = q->snd;
	WRITE_ONCE(q->snd, NULL);
	release_sock(sk);
	mutex_unlock(&q->send_mutex);

	if (!was_dead && err && !READ_ONCE(q->t->closing))
		pr_warn("tcp tier %s: queue %u: connection lost (%d); requests on it fail\n",
			q->t->peer, q->id, err);
	/* Half sent: the sender's reference (its reply, if any, was bogus). */
	if (snd)
		emp_tcp_req_put(snd, -EIO);
	/* Sent, no reply yet: the receiver's reference. */
	list_for_each_entry_safe(req, tmp, &sent, list) {
		list_del_init(&req->list);
		emp_tcp_req_put(req, -EIO);
	}
	/* Never sent: both. */
	list_for_each_entry_safe(req, tmp, &unsent, list) {
		list_del_init(&req->list);
		atomic_dec(&req->refs);
		emp_tcp_req_put(req, -EIO);
	}
}

static void emp_tcp_err_work(struct work_struct *work)
{
	struct emp_tcp_queue *q = container_of(work, struct emp_tcp_queue, err_work);

	kernel_sock_shutdown(q->sock, SHUT_RDWR);
	emp_tcp_kill(q, -ECONNRESET);
}

/* Has the oldest request of @q waited longer than request_timeout (emp_tier.c)? */
static bool emp_tcp_overdue(struct emp_tcp_queue *q, unsigned int tmo)
{
	struct emp_tcp_req *req;
	bool late = false;

	spin_lock_bh(&q->lock);
	req = list_first_entry_or_null(&q->pending, struct emp_tcp_req, list);
	if (req && !q->dead && time_after(jiffies, req->sent + (unsigned long)tmo * HZ))
		late = true;
	spin_unlock_bh(&q->lock);
	return late;
}

/*
 * The watchdog. A request overdue on one queue means the donor stopped
 * answering, not one connection: all of them go at once, so an access
 * fails after one request_timeout, not after one per queue.
 */
static void emp_tcp_watch(struct work_struct *work)
{
	struct emp_tcp_tier *t = container_of(to_delayed_work(work), struct emp_tcp_tier,
					      watch);
	unsigned int tmo = emp_request_timeout(), i;

	for (i = 0; tmo && i < t->nr_queues; i++)
		if (emp_tcp_overdue(&t->q[i], tmo))
			break;
	if (tmo && i < t->nr_queues) {
		pr_warn("tcp tier %s: queue %u: no reply for %u s; dropping the connections\n",
			t->peer, i, tmo);
		for (i = 0; i < t->nr_queues; i++) {
			kernel_sock_shutdown(t->q[i].sock, SHUT_RDWR);
			emp_tcp_kill(&t->q[i], -ETIMEDOUT);
		}
	}
	queue_delayed_work(t->wq, &t->watch, HZ);
}

/* ---- submission ---------------------------------------------------------- */

static struct emp_tcp_req *emp_tcp_req_alloc(struct emp_tier_io *io)
{
	bool write = io->dir == EMP_IO_WRITE;
	struct emp_tcp_req *req;
	unsigned int i;

	/* GFP_NOIO: called on the fault and eviction paths (see tier_bdev.c). */
	req = kmalloc(struct_size(req, bv, io->nr_pages + 1), GFP_NOIO);
	if (!req)
		return NULL;
	req->io = io;
	atomic_set(&req->refs, 2);
	req->err = 0;
	req->hdr = (struct emp_wire_hdr){
		.magic = cpu_to_le32(EMP_WIRE_MAGIC),
		.op = cpu_to_le16(write ? EMP_WIRE_WRITE : EMP_WIRE_READ),
		.length = cpu_to_le32(write ? io->nr_pages << PAGE_SHIFT : 0),
		.offset = cpu_to_le64(io->pos),
		.io_len = cpu_to_le32(io->nr_pages << PAGE_SHIFT),
	};
	/* Slab memory is in the linear map: a bvec can point at it. */
	bvec_set_page(&req->bv[0], virt_to_page(&req->hdr), sizeof(req->hdr),
		      offset_in_page(&req->hdr));
	for (i = 0; i < io->nr_pages; i++)
		bvec_set_page(&req->bv[i + 1], io->pages[i], PAGE_SIZE, 0);
	req->nr_bv = write ? io->nr_pages + 1 : 1;
	req->len = sizeof(req->hdr) + (write ? (size_t)io->nr_pages << PAGE_SHIFT : 0);
	return req;
}

/* Queue @req on @q unless it is dead. Return: true if queued. */
static bool emp_tcp_enqueue(struct emp_tcp_queue *q, struct emp_tcp_req *req)
{
	static atomic64_t next_tag;
	bool ok;

	spin_lock_bh(&q->lock);
	ok = !q->dead;
	if (ok) {
		req->hdr.tag = cpu_to_le64(atomic64_inc_return(&next_tag));
		list_add_tail(&req->list, &q->send_q);
	}
	spin_unlock_bh(&q->lock);
	return ok;
}

static void emp_tcp_submit(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_tcp_tier *t = to_tcp_tier(be);
	unsigned int first = raw_smp_processor_id() % t->nr_queues, i;
	struct emp_tcp_queue *q = NULL;
	struct emp_tcp_req *req;

	req = emp_tcp_req_alloc(io);
	if (!req) {
		io->end_io(io, -ENOMEM);
		return;
	}
	/* This CPU's queue, or the next one alive. */
	for (i = 0; i < t->nr_queues; i++) {
		q = &t->q[(first + i) % t->nr_queues];
		if (emp_tcp_enqueue(q, req))
			break;
	}
	if (i == t->nr_queues) {
		kfree(req);
		io->end_io(io, -EIO);
		return;
	}
	if (mutex_trylock(&q->send_mutex)) {
		emp_tcp_send_all(q, false);
		mutex_unlock(&q->send_mutex);
	}
	/*
	 * Left behind (mutex taken, socket full, half sent): io_work sends
	 * it. A holder of the mutex checks this too after letting it go.
	 */
	if (emp_tcp_has_unsent(q))
		queue_work(t->wq, &q->io_work);
}

/* ---- set-up and teardown ------------------------------------------------- */

/* HELLO / HELLO_REPLY on a fresh connection, blocking. */
static int emp_tcp_hello(struct emp_tcp_queue *q, const struct emp_tier *desc)
{
	struct emp_tcp_tier *t = q->t;
	struct emp_wire_hello_msg *out;
	struct emp_wire_reply_msg *in;
	char what[sizeof(t->peer) + 16];
	struct kvec kv;
	struct msghdr msg;
	int err;

	out = kmalloc(sizeof(*out), GFP_KERNEL);
	in = kzalloc(sizeof(*in), GFP_KERNEL);
	err = -ENOMEM;
	if (!out || !in)
		goto out_free;
	snprintf(what, sizeof(what), "tcp tier %s", t->peer);
	emp_wire_hello_init(out, desc, t->session);
	memset(&msg, 0, sizeof(msg));
	msg.msg_flags = MSG_NOSIGNAL;
	kv = (struct kvec){ .iov_base = out, .iov_len = sizeof(*out) };
	err = kernel_sendmsg(q->sock, &msg, &kv, 1, kv.iov_len);
	if (err == sizeof(*out)) {
		memset(&msg, 0, sizeof(msg));
		kv = (struct kvec){ .iov_base = &in->h, .iov_len = sizeof(in->h) };
		err = kernel_recvmsg(q->sock, &msg, &kv, 1, kv.iov_len, MSG_WAITALL);
	}
	/* Read the payload only when the header announces a reply. */
	if (err == sizeof(in->h) && le32_to_cpu(in->h.length) == sizeof(in->r)) {
		memset(&msg, 0, sizeof(msg));
		kv = (struct kvec){ .iov_base = &in->r, .iov_len = sizeof(in->r) };
		err = kernel_recvmsg(q->sock, &msg, &kv, 1, kv.iov_len, MSG_WAITALL);
		if (err == sizeof(in->r))
			err = sizeof(in->h);
	}
	if (err != sizeof(in->h)) {
		err = err < 0 ? err : -ECONNRESET;
		pr_notice("%s: queue %u: handshake failed: %d\n", what, q->id, err);
		goto out_free;
	}
	err = emp_wire_reply_check(what, in, desc);
	if (err)
		goto out_free;
	if (t->session && le64_to_cpu(in->r.session) != t->session) {
		pr_notice("%s: donor answered a join with another session\n", what);
		err = -EPROTO;
		goto out_free;
	}
	t->session = le64_to_cpu(in->r.session);
out_free:
	kfree(out);
	kfree(in);
	return err;
}

/* Connect queue @q, join (or open) the session, hook the callbacks. */
static int emp_tcp_queue_start(struct emp_tcp_queue *q, const struct emp_tier *desc,
			       struct sockaddr_storage *ss, int len)
{
	struct sock *sk;
	int err;

	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->send_q);
	INIT_LIST_HEAD(&q->pending);
	mutex_init(&q->send_mutex);
	INIT_WORK(&q->io_work, emp_tcp_io_work);
	INIT_WORK(&q->err_work, emp_tcp_err_work);
	err = sock_create_kern(&init_net, ss->ss_family, SOCK_STREAM, IPPROTO_TCP, &q->sock);
	if (err)
		return err;
	sk = q->sock->sk;
	/* The socket carries our page I/O: it must not recurse into it. */
	sk->sk_allocation = GFP_NOIO;
	/* Submitters send from fault context: never from their task's page frag. */
	sk->sk_use_task_frag = false;
	sk->sk_sndtimeo = EMP_TCP_CONNECT_TIMEOUT;
	sk->sk_rcvtimeo = EMP_TCP_CONNECT_TIMEOUT;
	tcp_sock_set_nodelay(sk);
	/*
	 * A donor that vanishes without closing (host down, link cut) must
	 * still fail our requests: unacknowledged data gives up after
	 * EMP_TCP_USER_TIMEOUT_MS, an idle connection is probed by keepalives.
	 */
	tcp_sock_set_user_timeout(sk, EMP_TCP_USER_TIMEOUT_MS);
	sock_set_keepalive(sk);
	tcp_sock_set_keepidle(sk, 10);
	tcp_sock_set_keepintvl(sk, 5);
	tcp_sock_set_keepcnt(sk, 3);
	err = emp_kernel_connect(q->sock, ss, len);
	if (err) {
		pr_notice("tcp tier %s: connect failed: %d\n", q->t->peer, err);
		goto out_release;
	}
	err = emp_tcp_hello(q, desc);
	if (err)
		goto out_release;
	emp_tcp_set_callbacks(q);
	return 0;

out_release:
	sock_release(q->sock);
	q->sock = NULL;
	return err;
}

/* Undo emp_tcp_queue_start(); no request may be submitted any more. */
static void emp_tcp_queue_stop(struct emp_tcp_queue *q)
{
	if (!q->sock)
		return;
	emp_tcp_restore_callbacks(q);
	kernel_sock_shutdown(q->sock, SHUT_RDWR);
	cancel_work_sync(&q->io_work);
	cancel_work_sync(&q->err_work);
	emp_tcp_kill(q, 0);
	sock_release(q->sock);
	q->sock = NULL;
	mutex_destroy(&q->send_mutex);
}

static void emp_tcp_destroy(struct emp_backend *be)
{
	struct emp_tcp_tier *t = to_tcp_tier(be);
	unsigned int i;

	WRITE_ONCE(t->closing, true);
	cancel_delayed_work_sync(&t->watch);
	for (i = 0; i < t->nr_queues; i++)
		emp_tcp_queue_stop(&t->q[i]);
	destroy_workqueue(t->wq);
	kfree(t);
}

static unsigned int emp_tcp_nr_queues(void)
{
	unsigned int n = READ_ONCE(tcp_queues);

	if (!n)
		n = min_t(unsigned int, num_online_cpus(), EMP_TCP_DEF_QUEUES);
	return clamp_t(unsigned int, n, 1, EMP_TCP_MAX_QUEUES);
}

/**
 * emp_tcp_create() - connect a TCP tier to its donor
 * @desc:   validated tier description (address, port, size, secret)
 * @holder: the instance (unused)
 * @out:    the new backend
 *
 * Opens tcp_queues connections: the first opens a session on the donor,
 * the others join it.
 *
 * Context: Process context, sleeps (connects and handshakes, each bounded
 * by a timeout).
 * Return: 0, -EINVAL for a bad address, the connect error (ECONNREFUSED,
 * ETIMEDOUT, ...), -EACCES for a refused secret, -ENOSPC when the donor
 * has not the memory, -EPROTO for a peer that does not speak our protocol.
 */
static int emp_tcp_create(const struct emp_tier *desc, void *holder,
			  struct emp_backend **out)
{
	unsigned int nr = emp_tcp_nr_queues(), i;
	struct sockaddr_storage ss;
	struct emp_tcp_tier *t;
	int len, err;

	len = emp_tier_addr(desc, &ss);
	if (len < 0)
		return len;
	t = kzalloc(struct_size(t, q, nr), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->nr_queues = nr;
	emp_tier_peer(desc, t->peer, sizeof(t->peer));
	INIT_DELAYED_WORK(&t->watch, emp_tcp_watch);
	t->wq = alloc_workqueue("emp-tcp", WQ_UNBOUND | WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	err = -ENOMEM;
	if (!t->wq)
		goto out_free;
	for (i = 0; i < nr; i++) {
		t->q[i].t = t;
		t->q[i].id = i;
		err = emp_tcp_queue_start(&t->q[i], desc, &ss, len);
		if (err)
			goto out_stop;
	}
	queue_delayed_work(t->wq, &t->watch, HZ);
	t->be.size = desc->size;
	*out = &t->be;
	pr_info("tcp tier %s: connected, %u queue%s, %llu bytes\n", t->peer, nr,
		nr == 1 ? "" : "s", desc->size);
	return 0;

out_stop:
	WRITE_ONCE(t->closing, true);
	while (i--)
		emp_tcp_queue_stop(&t->q[i]);
	destroy_workqueue(t->wq);
out_free:
	kfree(t);
	return err;
}

const struct emp_tier_ops emp_tcp_ops = {
	.kind		= EMP_TIER_TCP,
	.name		= "tcp",
	.owner		= THIS_MODULE,
	.create		= emp_tcp_create,
	.submit		= emp_tcp_submit,
	.destroy	= emp_tcp_destroy,
};
