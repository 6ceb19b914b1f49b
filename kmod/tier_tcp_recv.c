// SPDX-License-Identifier: GPL-2.0
/*
 * TCP tier, receiving: replies are parsed straight from the socket's
 * ->sk_data_ready callback with tcp_read_sock() (softirq, or the socket
 * owner's context when it releases the socket lock), the data copied into
 * the request's pages and the request completed there. The socket's
 * write-space and state-change callbacks hand over to the queue's
 * io_work and err_work (tier_tcp.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "tier_tcp.h"

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
	    le16_to_cpu(h->op) != EMP_WIRE_REPLY ||
	    le64_to_cpu(h->tag) != le64_to_cpu(req->hdr.tag)) {
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
			if (!READ_ONCE(q->dead))
				queue_work(q->t->wq, &q->err_work);
			break;
		default:
			break;
		}
		q->state_change(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/**
 * emp_tcp_set_callbacks() - hook the receive path into @q's socket
 * @q: a connected queue, past its HELLO exchange
 *
 * From here on replies are parsed in ->sk_data_ready, and the socket's
 * write space and state changes queue io_work and err_work.
 *
 * Context: Process context. Takes the socket's callback lock.
 */
void emp_tcp_set_callbacks(struct emp_tcp_queue *q)
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

/**
 * emp_tcp_restore_callbacks() - give @q's socket its own callbacks back
 * @q: a queue hooked by emp_tcp_set_callbacks()
 *
 * Context: Process context. Takes the socket's callback lock; no callback
 * of ours runs on the socket after it returns.
 */
void emp_tcp_restore_callbacks(struct emp_tcp_queue *q)
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
