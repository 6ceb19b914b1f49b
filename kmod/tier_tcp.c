// SPDX-License-Identifier: GPL-2.0
/*
 * TCP tier: remote DRAM on a donor running vmd in TCP mode, over a kernel
 * socket. Requests are pipelined on one connection: submitters send under
 * a mutex, one receiver thread matches the in-order replies to them.
 * When the connection fails every waiting and later request fails with
 * -EIO (the faulting access gets SIGBUS); teardown still works.
 *
 * Requests are sent by a thread of ours, not by the faulting task: a signal
 * to a faulting process must never cut a message in half.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "emp.h"
#include "emp_compat.h"
#include "emp_tier.h"

#define EMP_TCP_CONNECT_TIMEOUT	(10 * HZ)
#define EMP_TCP_USER_TIMEOUT_MS	30000

/*
 * A donor that stops answering while its kernel still acknowledges our
 * bytes (process stopped or wedged) is caught by neither the user timeout
 * nor keepalives: a request unanswered for this long cuts the connection.
 */
static unsigned int request_timeout = 30;
module_param(request_timeout, uint, 0644);
MODULE_PARM_DESC(request_timeout,
		 "seconds a TCP tier waits for a reply before it drops the connection (default 30, 0: never)");

/**
 * struct emp_tcp_req - a request sent and waiting for its reply
 * @list: on emp_tcp_tier.send_q, then on .pending, in send order
 * @io:   the transfer
 * @tag:  echoed by the donor
 * @sent: jiffies when the sender took it
 */
struct emp_tcp_req {
	struct list_head list;
	struct emp_tier_io *io;
	u64 tag;
	unsigned long sent;
};

/**
 * struct emp_tcp_tier - TCP backend
 * @be:        generic part
 * @sock:      the connection
 * @lock:      protects @send_q, @pending, @dead and @next_tag
 * @send_q:    requests waiting to be sent
 * @pending:   requests sent, oldest first
 * @dead:      the connection failed; no more requests are sent
 * @closing:   teardown has begun: the end of the connection is expected
 * @next_tag:  tag of the next request
 * @tx_wait:   the sender sleeps here
 * @tx:        sender thread
 * @rx:        receiver thread
 * @peer:      "addr:port" for messages
 */
struct emp_tcp_tier {
	struct emp_backend be;
	struct socket *sock;
	spinlock_t lock;
	struct list_head send_q;
	struct list_head pending;
	bool dead;
	bool closing;
	u64 next_tag;
	wait_queue_head_t tx_wait;
	struct task_struct *tx;
	struct task_struct *rx;
	char peer[EMP_PATH_MAX + 8];
};

static struct emp_tcp_tier *to_tcp_tier(struct emp_backend *be)
{
	return container_of(be, struct emp_tcp_tier, be);
}

/**
 * emp_tier_addr() - socket address of a remote tier
 * @desc: tier description: path holds an IPv4 or IPv6 address, port the port
 * @ss:   out
 *
 * Return: the address length, or -EINVAL if @desc->path is not an address.
 */
int emp_tier_addr(const struct emp_tier *desc, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t len = strnlen(desc->path, EMP_PATH_MAX);

	memset(ss, 0, sizeof(*ss));
	if (in4_pton(desc->path, len, (u8 *)&sin->sin_addr, -1, NULL) &&
	    len == strlen(desc->path)) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(desc->port);
		return sizeof(*sin);
	}
	if (in6_pton(desc->path, len, (u8 *)&sin6->sin6_addr, -1, NULL)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(desc->port);
		return sizeof(*sin6);
	}
	return -EINVAL;
}
EXPORT_SYMBOL_GPL(emp_tier_addr);

static int emp_tcp_xfer(struct socket *sock, bool send, struct kvec *kv,
			unsigned int nkv, struct bio_vec *bv, unsigned int nbv,
			size_t len)
{
	struct msghdr msg = { .msg_flags = send ? MSG_NOSIGNAL : MSG_WAITALL };
	int ret;

	while (len) {
		if (bv)
			iov_iter_bvec(&msg.msg_iter, send ? ITER_SOURCE : ITER_DEST, bv, nbv, len);
		else
			iov_iter_kvec(&msg.msg_iter, send ? ITER_SOURCE : ITER_DEST, kv, nkv, len);
		ret = send ? sock_sendmsg(sock, &msg) : sock_recvmsg(sock, &msg, MSG_WAITALL);
		if (ret <= 0)
			return ret ? ret : -ECONNRESET;
		if (ret == len)
			return 0;
		/* Short transfer (signal or timeout): only whole ones are ours. */
		return -EIO;
	}
	return 0;
}

static int emp_tcp_send_buf(struct socket *sock, void *buf, size_t len)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };

	return emp_tcp_xfer(sock, true, &kv, 1, NULL, 0, len);
}

static int emp_tcp_recv_buf(struct socket *sock, void *buf, size_t len)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };

	return emp_tcp_xfer(sock, false, &kv, 1, NULL, 0, len);
}

/* Send or receive the pages of a transfer. */
static int emp_tcp_pages(struct socket *sock, bool send, struct emp_tier_io *io)
{
	struct bio_vec *bv;
	unsigned int i;
	int err;

	/* GFP_NOIO: called on the fault and eviction paths (see tier_bdev.c). */
	bv = kmalloc_array(io->nr_pages, sizeof(*bv), GFP_NOIO);
	if (!bv)
		return -ENOMEM;
	for (i = 0; i < io->nr_pages; i++)
		bvec_set_page(&bv[i], io->pages[i], PAGE_SIZE, 0);
	err = emp_tcp_xfer(sock, send, NULL, 0, bv, io->nr_pages,
			   (size_t)io->nr_pages << PAGE_SHIFT);
	kfree(bv);
	return err;
}

/* Fail every request still waiting; the connection is gone. */
static void emp_tcp_kill(struct emp_tcp_tier *t, int err)
{
	struct emp_tcp_req *req, *tmp;
	LIST_HEAD(dead);

	spin_lock(&t->lock);
	if (!t->dead && err)
		pr_warn("tcp tier %s: connection lost (%d); its data is unreachable\n",
			t->peer, err);
	t->dead = true;
	list_splice_init(&t->pending, &dead);
	list_splice_tail_init(&t->send_q, &dead);
	spin_unlock(&t->lock);
	wake_up(&t->tx_wait);
	list_for_each_entry_safe(req, tmp, &dead, list) {
		emp_tier_account(&t->be, req->io, -EIO);
		req->io->end_io(req->io, -EIO);
		kfree(req);
	}
}

static int emp_tcp_rx_one(struct emp_tcp_tier *t)
{
	struct emp_wire_hdr h;
	struct emp_tcp_req *req;
	u32 status;
	int err;

	err = emp_tcp_recv_buf(t->sock, &h, sizeof(h));
	if (err)
		return err;
	spin_lock(&t->lock);
	req = list_first_entry_or_null(&t->pending, struct emp_tcp_req, list);
	if (req)
		list_del(&req->list);
	spin_unlock(&t->lock);
	if (!req || le32_to_cpu(h.magic) != EMP_WIRE_MAGIC ||
	    le16_to_cpu(h.op) != EMP_WIRE_REPLY || le64_to_cpu(h.tag) != req->tag) {
		pr_warn("tcp tier %s: unexpected reply (op %u, tag %llu)\n", t->peer,
			le16_to_cpu(h.op), le64_to_cpu(h.tag));
		err = -EPROTO;
		goto out_fail;
	}
	status = le32_to_cpu(h.status);
	if (status == EMP_WIRE_OK && req->io->dir == EMP_IO_READ) {
		if (le32_to_cpu(h.length) != (u32)req->io->nr_pages << PAGE_SHIFT) {
			err = -EPROTO;
			goto out_fail;
		}
		err = emp_tcp_pages(t->sock, false, req->io);
		if (err)
			goto out_fail;
	} else if (le32_to_cpu(h.length)) {
		err = -EPROTO;
		goto out_fail;
	}
	if (status != EMP_WIRE_OK)
		pr_warn_ratelimited("tcp tier %s: donor refused a request: status %u\n",
				    t->peer, status);
	err = status == EMP_WIRE_OK ? 0 : -EIO;
	emp_tier_account(&t->be, req->io, err);
	req->io->end_io(req->io, err);
	kfree(req);
	return 0;

out_fail:
	if (req) {
		emp_tier_account(&t->be, req->io, -EIO);
		req->io->end_io(req->io, -EIO);
		kfree(req);
	}
	return err;
}

/* Sleep until kthread_stop(), so it always finds the thread alive. */
static void emp_tcp_park(void)
{
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
}

static int emp_tcp_rx_thread(void *data)
{
	struct emp_tcp_tier *t = data;
	int err = 0;

	while (!kthread_should_stop()) {
		err = emp_tcp_rx_one(t);
		if (err)
			break;
	}
	emp_tcp_kill(t, READ_ONCE(t->closing) ? 0 : err);
	emp_tcp_park();
	return 0;
}

static int emp_tcp_send_req(struct emp_tcp_tier *t, struct emp_tcp_req *req)
{
	struct emp_tier_io *io = req->io;
	struct emp_wire_hdr h = {
		.magic = cpu_to_le32(EMP_WIRE_MAGIC),
		.tag = cpu_to_le64(req->tag),
		.offset = cpu_to_le64(io->pos),
		.io_len = cpu_to_le32(io->nr_pages << PAGE_SHIFT),
	};
	int err;

	if (io->dir == EMP_IO_READ) {
		h.op = cpu_to_le16(EMP_WIRE_READ);
	} else {
		h.op = cpu_to_le16(EMP_WIRE_WRITE);
		h.length = h.io_len;
	}
	err = emp_tcp_send_buf(t->sock, &h, sizeof(h));
	if (!err && io->dir == EMP_IO_WRITE)
		err = emp_tcp_pages(t->sock, true, io);
	return err;
}

/* Has the oldest request waited longer than request_timeout? */
static bool emp_tcp_overdue(struct emp_tcp_tier *t)
{
	unsigned int tmo = READ_ONCE(request_timeout);
	struct emp_tcp_req *req;
	bool late = false;

	if (!tmo)
		return false;
	spin_lock(&t->lock);
	req = list_first_entry_or_null(&t->pending, struct emp_tcp_req, list);
	if (req && time_after(jiffies, req->sent + (unsigned long)tmo * HZ))
		late = true;
	spin_unlock(&t->lock);
	if (late)
		pr_warn("tcp tier %s: no reply for %u s; dropping the connection\n",
			t->peer, tmo);
	return late;
}

static int emp_tcp_tx_thread(void *data)
{
	struct emp_tcp_tier *t = data;
	struct emp_tcp_req *req;
	int err;

	while (!kthread_should_stop()) {
		spin_lock(&t->lock);
		req = t->dead ? NULL : list_first_entry_or_null(&t->send_q,
								struct emp_tcp_req, list);
		/* On the pending list before sending: the reply may be quick. */
		if (req) {
			req->sent = jiffies;
			list_move_tail(&req->list, &t->pending);
		}
		spin_unlock(&t->lock);
		if (!req) {
			/* Idle or waiting for replies: look at the oldest once a second. */
			wait_event_interruptible_timeout(t->tx_wait, kthread_should_stop() ||
							 READ_ONCE(t->dead) ||
							 !list_empty_careful(&t->send_q), HZ);
			if (READ_ONCE(t->dead))
				break;
			if (emp_tcp_overdue(t)) {
				/* The receiver sees the end and fails every request. */
				kernel_sock_shutdown(t->sock, SHUT_RDWR);
				break;
			}
			continue;
		}
		err = emp_tcp_send_req(t, req);
		if (err) {
			/* The stream is broken: the receiver sees it and fails everything. */
			pr_warn_ratelimited("tcp tier %s: send failed: %d\n", t->peer, err);
			kernel_sock_shutdown(t->sock, SHUT_RDWR);
			break;
		}
	}
	emp_tcp_park();
	return 0;
}

static void emp_tcp_submit(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_tcp_tier *t = to_tcp_tier(be);
	struct emp_tcp_req *req;
	int err = -EIO;

	/* GFP_NOIO: see tier_bdev.c. */
	req = kmalloc(sizeof(*req), GFP_NOIO);
	if (!req) {
		err = -ENOMEM;
		goto out_fail;
	}
	req->io = io;
	spin_lock(&t->lock);
	if (t->dead) {
		spin_unlock(&t->lock);
		kfree(req);
		goto out_fail;
	}
	req->tag = t->next_tag++;
	list_add_tail(&req->list, &t->send_q);
	spin_unlock(&t->lock);
	wake_up(&t->tx_wait);
	return;

out_fail:
	emp_tier_account(be, io, err);
	io->end_io(io, err);
}

static struct task_struct *emp_tcp_thread(struct emp_tcp_tier *t, int (*fn)(void *),
					  const char *what)
{
	struct task_struct *task;

	task = kthread_create(fn, t, "emp-tcp-%s", what);
	if (IS_ERR(task))
		return task;
	get_task_struct(task);
	wake_up_process(task);
	return task;
}

static void emp_tcp_stop(struct task_struct *task)
{
	kthread_stop(task);
	put_task_struct(task);
}

static void emp_tcp_destroy(struct emp_backend *be)
{
	struct emp_tcp_tier *t = to_tcp_tier(be);

	WRITE_ONCE(t->closing, true);
	kernel_sock_shutdown(t->sock, SHUT_RDWR);
	emp_tcp_stop(t->tx);
	emp_tcp_stop(t->rx);
	emp_tcp_kill(t, 0);
	sock_release(t->sock);
	kfree(t);
}

/* HELLO / HELLO_REPLY on a fresh connection. */
static int emp_tcp_hello(struct emp_tcp_tier *t, const struct emp_tier *desc)
{
	struct emp_wire_hello_msg *out;
	struct emp_wire_reply_msg *in;
	char what[sizeof(t->peer) + 16];
	int err;

	out = kmalloc(sizeof(*out), GFP_KERNEL);
	in = kzalloc(sizeof(*in), GFP_KERNEL);
	err = -ENOMEM;
	if (!out || !in)
		goto out_free;
	snprintf(what, sizeof(what), "tcp tier %s", t->peer);
	emp_wire_hello_init(out, desc, 0);
	err = emp_tcp_send_buf(t->sock, out, sizeof(*out));
	if (!err)
		err = emp_tcp_recv_buf(t->sock, &in->h, sizeof(in->h));
	/* Read the payload only when the header announces a reply. */
	if (!err && le32_to_cpu(in->h.length) == sizeof(in->r))
		err = emp_tcp_recv_buf(t->sock, &in->r, sizeof(in->r));
	if (err) {
		pr_notice("%s: handshake failed: %d\n", what, err);
		goto out_free;
	}
	err = emp_wire_reply_check(what, in, desc);
out_free:
	kfree(out);
	kfree(in);
	return err;
}

/**
 * emp_tcp_create() - connect a TCP tier to its donor
 * @desc:   validated tier description (address, port, size, secret)
 * @holder: the instance (unused)
 * @out:    the new backend
 *
 * Context: Process context, sleeps (connect and handshake, bounded by a
 * timeout).
 * Return: 0, -EINVAL for a bad address, the connect error (ECONNREFUSED,
 * ETIMEDOUT, ...), -EACCES for a refused secret, -ENOSPC when the donor
 * has not the memory, -EPROTO for a peer that does not speak our protocol.
 */
static int emp_tcp_create(const struct emp_tier *desc, void *holder,
			  struct emp_backend **out)
{
	struct sockaddr_storage ss;
	struct emp_tcp_tier *t;
	int len, err;

	len = emp_tier_addr(desc, &ss);
	if (len < 0)
		return len;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	spin_lock_init(&t->lock);
	INIT_LIST_HEAD(&t->send_q);
	INIT_LIST_HEAD(&t->pending);
	init_waitqueue_head(&t->tx_wait);
	snprintf(t->peer, sizeof(t->peer), "%s:%u", desc->path, desc->port);
	err = sock_create_kern(&init_net, ss.ss_family, SOCK_STREAM, IPPROTO_TCP, &t->sock);
	if (err)
		goto out_free;
	/* The socket carries our page I/O: it must not recurse into it. */
	t->sock->sk->sk_allocation = GFP_NOIO;
	t->sock->sk->sk_sndtimeo = EMP_TCP_CONNECT_TIMEOUT;
	t->sock->sk->sk_rcvtimeo = EMP_TCP_CONNECT_TIMEOUT;
	tcp_sock_set_nodelay(t->sock->sk);
	/*
	 * A donor that vanishes without closing (host down, link cut) must
	 * still fail our requests: unacknowledged data gives up after
	 * EMP_TCP_USER_TIMEOUT_MS, an idle connection is probed by keepalives.
	 */
	tcp_sock_set_user_timeout(t->sock->sk, EMP_TCP_USER_TIMEOUT_MS);
	sock_set_keepalive(t->sock->sk);
	tcp_sock_set_keepidle(t->sock->sk, 10);
	tcp_sock_set_keepintvl(t->sock->sk, 5);
	tcp_sock_set_keepcnt(t->sock->sk, 3);
	err = emp_kernel_connect(t->sock, &ss, len);
	if (err) {
		pr_notice("tcp tier %s: connect failed: %d\n", t->peer, err);
		goto out_release;
	}
	err = emp_tcp_hello(t, desc);
	if (err)
		goto out_release;
	t->sock->sk->sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
	t->sock->sk->sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
	t->rx = emp_tcp_thread(t, emp_tcp_rx_thread, "rx");
	if (IS_ERR(t->rx)) {
		err = PTR_ERR(t->rx);
		goto out_release;
	}
	t->tx = emp_tcp_thread(t, emp_tcp_tx_thread, "tx");
	if (IS_ERR(t->tx)) {
		err = PTR_ERR(t->tx);
		goto out_stop_rx;
	}
	t->be.size = desc->size;
	*out = &t->be;
	pr_info("tcp tier %s: connected, %llu bytes\n", t->peer, desc->size);
	return 0;

out_stop_rx:
	kernel_sock_shutdown(t->sock, SHUT_RDWR);
	emp_tcp_stop(t->rx);
out_release:
	sock_release(t->sock);
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
