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
 * Receiving (tier_tcp_recv.c): replies are parsed straight from the
 * socket's ->sk_data_ready callback with tcp_read_sock() (softirq, or the
 * socket owner's context when it releases the socket lock), the data
 * copied into the request's pages and the request completed there: no
 * thread is woken on the way.
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
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "emp_compat.h"
#include "tier_tcp.h"

#define EMP_TCP_CONNECT_TIMEOUT	(10 * HZ)
#define EMP_TCP_USER_TIMEOUT_MS	30000
#define EMP_TCP_MAX_QUEUES	16
#define EMP_TCP_DEF_QUEUES	4

static unsigned int tcp_queues;
module_param(tcp_queues, uint, 0644);
MODULE_PARM_DESC(tcp_queues,
		 "connections per TCP tier, for tiers created afterwards (default 0: one per online CPU, at most 4; at most 16)");

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

	if (!was_dead && err && !READ_ONCE(q->t->closing)) {
		pr_warn("tcp tier %s: queue %u: connection lost (%d); requests on it fail\n",
			q->t->peer, q->id, err);
		emp_tier_lost(&q->t->be);
	}
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

	/*
	 * Once: the shutdown below changes the socket's state, which queues
	 * this work again (emp_tcp_state_change()); without this test the
	 * two fed each other on a CPU for as long as the tier lived.
	 */
	if (READ_ONCE(q->dead))
		return;
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
