// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA tier (emp_rdma.ko): remote DRAM on a donor running vmd, reached
 * through rdma_cm with one-sided RDMA READ/WRITE. Queues are spread over
 * the CPUs so parallel faults do not share a lock, and come in two kinds,
 * one RC queue pair (one rdma_cm connection) each, one of each per CPU:
 *  - interrupt-driven queues carry read-ahead and writebacks; their
 *    completions are reaped in softirq context by the CQ API;
 *  - polled queues carry the critical read of a fault (EMP_IO_POLL): their
 *    CQ raises no interrupt (IB_POLL_DIRECT), the faulting task reaps it
 *    through ->poll (ib_process_cq_direct()) while it waits, spinning for a
 *    while, then between short sleeps (emp_tier_rw_sync() in emp_io.c).
 *    An RDMA READ completes on the send CQ of its queue pair, which is why
 *    such reads need queue pairs of their own. Any waiter may reap another
 *    one's completion; each learns of its own from its end_io.
 * When a queue fails (donor gone, link down) every waiting and later
 * request on it fails with -EIO, so faults get SIGBUS, and teardown still
 * works; the other queues carry on until they fail too.
 *
 * Requests that never complete: a once-a-second watchdog cuts a queue
 * (rdma_disconnect(), which moves its queue pair to the error state so that
 * every outstanding work request flushes with an error) when the queue was
 * lost with requests outstanding, or when its requests have made no progress
 * for request_timeout seconds (emp.ko's parameter, which the TCP tier uses
 * too; 0: never). Not every provider fails a request to a vanished peer
 * on its own (rdma_rxe of 7.2 left READs outstanding after the donor's
 * disconnect); a request is never completed before its flush, so no page
 * is freed while the device may still write it. On a polled queue the
 * flushed requests are reaped by their waiters, who poll until their own
 * request is over, however long that takes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <rdma/rw.h>

#include "emp_tier.h"

#define EMP_RDMA_MAX_QUEUES	64
#define EMP_RDMA_DEPTH		64	/* requests in flight per queue */
#define EMP_RDMA_TIMEOUT_MS	5000
#define EMP_RDMA_ACK_TIMEOUT	16	/* 4.096 us << 16 = 268 ms */
#define EMP_RDMA_CONNECT_TIMEOUT (15 * HZ)
#define EMP_RDMA_POLL_BUDGET	16	/* completions reaped per poll */

static unsigned int rdma_queues;
module_param(rdma_queues, uint, 0644);
MODULE_PARM_DESC(rdma_queues,
		 "queues of each kind (interrupt-driven for background I/O, polled for the reads "
		 "of faults) per RDMA tier, for tiers created afterwards, one queue pair each "
		 "(default 0: one per online CPU; at most 64)");

/* The watchdog's workqueue: it must run under memory pressure, when a
 * writeback from reclaim may be what waits for the flush. */
static struct workqueue_struct *emp_rdma_wq;

struct emp_rdma_tier;

/**
 * struct emp_rdma_queue - one connection to the donor
 * @t:        the tier
 * @cm_id:    its rdma_cm id
 * @cq:       completion queue of both directions: reaped in softirq
 *            context, or on a polled queue by the tasks waiting on it
 *            (IB_POLL_DIRECT: no interrupt)
 * @polled:   a polled queue (see the top of this file)
 * @cm_done:  signalled by the CM handler at each connection step
 * @cm_err:   result of the last step
 * @slots:    free request slots; a submitter waits for one
 * @rkey:     key of the donor's region for this connection (the donor
 *            registers it once per connection)
 * @dead:     the queue failed; requests fail at once
 * @closing:  teardown has begun; the disconnect is ours, not news
 * @cut:      the watchdog disconnected it (the QP is in the error state)
 * @inflight: requests posted and not yet completed
 * @last_done: jiffies of the last completion, or of the post that found
 *            the queue idle
 */
struct emp_rdma_queue {
	struct emp_rdma_tier *t;
	struct rdma_cm_id *cm_id;
	struct ib_cq *cq;
	bool polled;
	struct completion cm_done;
	int cm_err;
	struct semaphore slots;
	u32 rkey;
	bool dead;
	bool closing;
	bool cut;
	atomic_t inflight;
	unsigned long last_done;
};

/**
 * struct emp_rdma_tier - RDMA backend
 * @be:         generic part
 * @pd:         protection domain of the device the first queue resolved to
 * @remote_addr: address of the donor's region
 * @session:    donor session the queues share
 * @nr_queues:  queues of each kind
 * @peer:       "addr:port" for messages
 * @watch:      the watchdog (see the top of this file)
 * @q:          2 * @nr_queues queues: the interrupt-driven ones, then the
 *              polled ones
 */
struct emp_rdma_tier {
	struct emp_backend be;
	struct delayed_work watch;
	struct ib_pd *pd;
	u64 remote_addr;
	u64 session;
	unsigned int nr_queues;
	char peer[EMP_PEER_MAX];
	struct emp_rdma_queue q[];
};

static struct emp_rdma_tier *to_rdma_tier(struct emp_backend *be)
{
	return container_of(be, struct emp_rdma_tier, be);
}

/**
 * struct emp_rdma_req - one READ or WRITE in flight
 * @cqe:    completion of its last work request
 * @q:      queue it went out on
 * @io:     the transfer
 * @rw:     the R/W API context (splits it into work requests)
 * @sg:     its pages
 */
struct emp_rdma_req {
	struct ib_cqe cqe;
	struct emp_rdma_queue *q;
	struct emp_tier_io *io;
	struct rdma_rw_ctx rw;
	struct scatterlist sg[];
};

static enum dma_data_direction emp_rdma_dir(struct emp_tier_io *io)
{
	/* A READ from the donor writes our pages. */
	return io->dir == EMP_IO_READ ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
}

/* For messages: "queue 3" or "polled queue 3". */
static const char *emp_rdma_qkind(struct emp_rdma_queue *q)
{
	return q->polled ? "polled queue" : "queue";
}

static unsigned int emp_rdma_qno(struct emp_rdma_queue *q)
{
	return (q - q->t->q) % q->t->nr_queues;
}

static void emp_rdma_queue_failed(struct emp_rdma_queue *q, const char *why)
{
	if (!READ_ONCE(q->dead) && !READ_ONCE(q->closing)) {
		pr_warn("rdma tier %s: %s %u lost (%s); its data is unreachable\n",
			q->t->peer, emp_rdma_qkind(q), emp_rdma_qno(q), why);
		emp_tier_lost(&q->t->be);
	}
	WRITE_ONCE(q->dead, true);
}

static void emp_rdma_rw_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct emp_rdma_req *req = container_of(wc->wr_cqe, struct emp_rdma_req, cqe);
	struct emp_rdma_queue *q = req->q;
	struct emp_tier_io *io = req->io;
	int err = 0;

	/*
	 * A flush is the echo of an earlier failure, unless the device put the
	 * QP into the error state itself (its port went down): then it is the
	 * first news, and the queue is lost all the same.
	 */
	if (wc->status != IB_WC_SUCCESS) {
		emp_rdma_queue_failed(q, ib_wc_status_msg(wc->status));
		err = -EIO;
	}
	rdma_rw_ctx_destroy(&req->rw, q->cm_id->qp, q->cm_id->port_num, req->sg,
			    io->nr_pages, emp_rdma_dir(io));
	kfree(req);
	WRITE_ONCE(q->last_done, jiffies);
	atomic_dec(&q->inflight);
	up(&q->slots);
	/* Only ib_process_cq_direct() reaps a polled queue's completions. */
	if (q->polled)
		io->flags |= EMP_IO_REAPED;
	io->end_io(io, err);	/* which counts it in the tier's counters */
}

static void emp_rdma_submit(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_rdma_tier *t = to_rdma_tier(be);
	unsigned int i = raw_smp_processor_id() % t->nr_queues;
	struct emp_rdma_queue *q;
	struct emp_rdma_req *req;
	int err = -EIO;

	/* A read its submitter polls for goes where polling finds it. */
	if (io->flags & EMP_IO_POLL)
		i += t->nr_queues;
	io->queue = i;
	q = &t->q[i];
	if (READ_ONCE(q->dead))
		goto out_fail;
	/* GFP_NOIO: on the fault and eviction paths (see tier_bdev.c). */
	req = kzalloc(struct_size(req, sg, io->nr_pages), GFP_NOIO);
	if (!req) {
		err = -ENOMEM;
		goto out_fail;
	}
	req->q = q;
	req->io = io;
	req->cqe.done = emp_rdma_rw_done;
	sg_init_table(req->sg, io->nr_pages);
	for (i = 0; i < io->nr_pages; i++)
		sg_set_page(&req->sg[i], io->pages[i], PAGE_SIZE, 0);
	down(&q->slots);
	err = rdma_rw_ctx_init(&req->rw, q->cm_id->qp, q->cm_id->port_num, req->sg,
			       io->nr_pages, 0, t->remote_addr + io->pos, q->rkey,
			       emp_rdma_dir(io));
	if (err < 0) {
		pr_warn_ratelimited("rdma tier %s: %s %u: cannot map a request: %d\n",
				    t->peer, emp_rdma_qkind(q), emp_rdma_qno(q), err);
		goto out_up;
	}
	/* An idle queue's stall clock starts now. */
	if (atomic_inc_return(&q->inflight) == 1)
		WRITE_ONCE(q->last_done, jiffies);
	err = rdma_rw_ctx_post(&req->rw, q->cm_id->qp, q->cm_id->port_num, &req->cqe, NULL);
	if (err) {
		atomic_dec(&q->inflight);
		rdma_rw_ctx_destroy(&req->rw, q->cm_id->qp, q->cm_id->port_num, req->sg,
				    io->nr_pages, emp_rdma_dir(io));
		emp_rdma_queue_failed(q, "post failed");
		goto out_up;
	}
	return;

out_up:
	up(&q->slots);
	kfree(req);
	err = -EIO;
out_fail:
	io->end_io(io, err);
}

/*
 * Reap completions of the polled queue @io went to (see the top of this
 * file). The done handler was written for softirq context, where the
 * interrupt-driven queues run it: keep it there, which also means no
 * preemption between taking a completion off the CQ and handling it, so
 * a waiter whose completion another task took does not wait for that
 * task to be scheduled again.
 */
static int emp_rdma_poll(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_rdma_queue *q = &to_rdma_tier(be)->q[io->queue];
	int n;

	if (WARN_ON_ONCE(!q->polled))
		return 0;
	local_bh_disable();
	n = ib_process_cq_direct(q->cq, EMP_RDMA_POLL_BUDGET);
	local_bh_enable();
	return n;
}

/* ---- connection set-up ------------------------------------------------- */

static int emp_rdma_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct emp_rdma_queue *q = id->context;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
	case RDMA_CM_EVENT_ESTABLISHED:
		q->cm_err = 0;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		q->cm_err = -EHOSTUNREACH;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_REJECTED:
		q->cm_err = -ECONNREFUSED;
		complete(&q->cm_done);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		/* Outstanding work requests now flush with errors. */
		emp_rdma_queue_failed(q, rdma_event_msg(ev->event));
		break;
	default:
		break;
	}
	return 0;
}

static int emp_rdma_wait_cm(struct emp_rdma_queue *q)
{
	if (!wait_for_completion_timeout(&q->cm_done, EMP_RDMA_CONNECT_TIMEOUT))
		return -ETIMEDOUT;
	reinit_completion(&q->cm_done);
	return q->cm_err;
}

/* The HELLO exchange: one SEND out, one RECV back, waited for. */
struct emp_rdma_hello {
	struct ib_cqe send_cqe;
	struct ib_cqe recv_cqe;
	struct completion send_done;
	struct completion recv_done;
	int send_err;
	int recv_err;
	struct emp_wire_hello_msg out;
	struct emp_wire_reply_msg in;
};

/*
 * Wait for a step of the HELLO exchange, as long as a connection step may
 * take. A polled queue's CQ raises no interrupt: poll it meanwhile.
 */
static bool emp_rdma_wait_wc(struct emp_rdma_queue *q, struct completion *c)
{
	unsigned long end = jiffies + EMP_RDMA_CONNECT_TIMEOUT;

	if (!q->polled)
		return wait_for_completion_timeout(c, EMP_RDMA_CONNECT_TIMEOUT);
	for (;;) {
		ib_process_cq_direct(q->cq, EMP_RDMA_POLL_BUDGET);
		if (try_wait_for_completion(c))
			return true;
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 200);
	}
}

static void emp_rdma_hello_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct emp_rdma_hello *x = container_of(wc->wr_cqe, struct emp_rdma_hello, send_cqe);

	x->send_err = wc->status == IB_WC_SUCCESS ? 0 : -EIO;
	complete(&x->send_done);
}

static void emp_rdma_hello_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct emp_rdma_hello *x = container_of(wc->wr_cqe, struct emp_rdma_hello, recv_cqe);

	x->recv_err = wc->status == IB_WC_SUCCESS && wc->byte_len == sizeof(x->in) ? 0 : -EIO;
	complete(&x->recv_done);
}

static int emp_rdma_hello(struct emp_rdma_queue *q, const struct emp_tier *desc)
{
	struct emp_rdma_tier *t = q->t;
	struct ib_device *dev = q->cm_id->device;
	struct ib_sge send_sge, recv_sge;
	struct ib_send_wr swr = {};
	struct ib_recv_wr rwr = {};
	char what[sizeof(t->peer) + 16];
	struct emp_rdma_hello *x;
	u64 send_dma, recv_dma;
	int err;

	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	init_completion(&x->send_done);
	init_completion(&x->recv_done);
	x->send_cqe.done = emp_rdma_hello_send_done;
	x->recv_cqe.done = emp_rdma_hello_recv_done;
	emp_wire_hello_init(&x->out, desc, t->session);

	send_dma = ib_dma_map_single(dev, &x->out, sizeof(x->out), DMA_TO_DEVICE);
	recv_dma = ib_dma_map_single(dev, &x->in, sizeof(x->in), DMA_FROM_DEVICE);
	err = -ENOMEM;
	if (ib_dma_mapping_error(dev, send_dma) || ib_dma_mapping_error(dev, recv_dma))
		goto out_unmap;

	recv_sge = (struct ib_sge){ .addr = recv_dma, .length = sizeof(x->in),
				    .lkey = t->pd->local_dma_lkey };
	rwr.wr_cqe = &x->recv_cqe;
	rwr.sg_list = &recv_sge;
	rwr.num_sge = 1;
	err = ib_post_recv(q->cm_id->qp, &rwr, NULL);
	if (err)
		goto out_unmap;
	send_sge = (struct ib_sge){ .addr = send_dma, .length = sizeof(x->out),
				    .lkey = t->pd->local_dma_lkey };
	swr.wr_cqe = &x->send_cqe;
	swr.sg_list = &send_sge;
	swr.num_sge = 1;
	swr.opcode = IB_WR_SEND;
	swr.send_flags = IB_SEND_SIGNALED;
	err = ib_post_send(q->cm_id->qp, &swr, NULL);
	if (err) {
		/* The posted receive flushes when the QP is destroyed. */
		goto out_wait_recv;
	}
	if (!emp_rdma_wait_wc(q, &x->send_done))
		err = -ETIMEDOUT;
	else
		err = x->send_err;
out_wait_recv:
	if (!err && !emp_rdma_wait_wc(q, &x->recv_done))
		err = -ETIMEDOUT;
	if (!err)
		err = x->recv_err;
	if (err) {
		/*
		 * Our buffers may still be posted: move the QP to the error
		 * state and wait until every work request has flushed (on a
		 * polled queue ib_drain_qp() polls the CQ itself).
		 */
		ib_drain_qp(q->cm_id->qp);
		pr_notice("rdma tier %s: %s %u: handshake failed: %d\n", t->peer,
			  emp_rdma_qkind(q), emp_rdma_qno(q), err);
		goto out_unmap;
	}
	ib_dma_unmap_single(dev, send_dma, sizeof(x->out), DMA_TO_DEVICE);
	ib_dma_unmap_single(dev, recv_dma, sizeof(x->in), DMA_FROM_DEVICE);
	snprintf(what, sizeof(what), "rdma tier %s", t->peer);
	err = emp_wire_reply_check(what, &x->in, desc);
	if (err)
		goto out_free;
	if (t->session && (le64_to_cpu(x->in.r.session) != t->session ||
			   le64_to_cpu(x->in.r.rdma_addr) != t->remote_addr)) {
		pr_notice("%s: donor answered a join with another region\n", what);
		err = -EPROTO;
		goto out_free;
	}
	t->session = le64_to_cpu(x->in.r.session);
	t->remote_addr = le64_to_cpu(x->in.r.rdma_addr);
	q->rkey = le32_to_cpu(x->in.r.rdma_rkey);
out_free:
	kfree(x);
	return err;

out_unmap:
	if (!ib_dma_mapping_error(dev, send_dma))
		ib_dma_unmap_single(dev, send_dma, sizeof(x->out), DMA_TO_DEVICE);
	if (!ib_dma_mapping_error(dev, recv_dma))
		ib_dma_unmap_single(dev, recv_dma, sizeof(x->in), DMA_FROM_DEVICE);
	kfree(x);
	return err;
}

/* The watchdog: cut queues whose requests will not complete by themselves. */
static void emp_rdma_watch(struct work_struct *work)
{
	struct emp_rdma_tier *t = container_of(to_delayed_work(work),
					       struct emp_rdma_tier, watch);
	unsigned int i;

	unsigned int tmo = emp_request_timeout();

	for (i = 0; i < 2 * t->nr_queues; i++) {
		struct emp_rdma_queue *q = &t->q[i];
		int n = atomic_read(&q->inflight);

		if (q->cut || !q->cm_id || !n)
			continue;
		if (!READ_ONCE(q->dead)) {
			if (!tmo || !time_after(jiffies, READ_ONCE(q->last_done) +
						  (unsigned long)tmo * HZ))
				continue;
			pr_warn("rdma tier %s: %s %u: %d request(s) unanswered for %u s\n",
				t->peer, emp_rdma_qkind(q), emp_rdma_qno(q), n, tmo);
			emp_rdma_queue_failed(q, "requests timed out");
		}
		pr_notice("rdma tier %s: %s %u: cutting it, %d request(s) outstanding\n",
			  t->peer, emp_rdma_qkind(q), emp_rdma_qno(q), n);
		/*
		 * Flushes every outstanding work request with an error; on a
		 * polled queue their waiters reap the flushes.
		 */
		q->cut = true;
		rdma_disconnect(q->cm_id);
	}
	queue_delayed_work(emp_rdma_wq, &t->watch, HZ);
}

static void emp_rdma_queue_free(struct emp_rdma_queue *q)
{
	if (!q->cm_id)
		return;
	WRITE_ONCE(q->closing, true);
	if (q->cm_id->qp) {
		if (!q->cut)
			rdma_disconnect(q->cm_id);
		ib_drain_qp(q->cm_id->qp);
		rdma_destroy_qp(q->cm_id);
	}
	if (q->cq)
		ib_free_cq(q->cq);
	rdma_destroy_id(q->cm_id);
	q->cm_id = NULL;
	q->cq = NULL;
}

static int emp_rdma_queue_connect(struct emp_rdma_tier *t, unsigned int i,
				  const struct emp_tier *desc, struct sockaddr_storage *ss)
{
	struct emp_rdma_queue *q = &t->q[i];
	struct rdma_conn_param param = {
		.retry_count = 7,
		.rnr_retry_count = 7,
	};
	struct ib_qp_init_attr attr = {};
	int err;

	q->t = t;
	q->polled = i >= t->nr_queues;
	init_completion(&q->cm_done);
	sema_init(&q->slots, EMP_RDMA_DEPTH);
	q->cm_id = rdma_create_id(&init_net, emp_rdma_cm_handler, q, RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(q->cm_id)) {
		err = PTR_ERR(q->cm_id);
		q->cm_id = NULL;
		return err;
	}
	err = rdma_resolve_addr(q->cm_id, NULL, (struct sockaddr *)ss, EMP_RDMA_TIMEOUT_MS);
	if (!err)
		err = emp_rdma_wait_cm(q);
	if (!err)
		err = rdma_resolve_route(q->cm_id, EMP_RDMA_TIMEOUT_MS);
	if (!err)
		err = emp_rdma_wait_cm(q);
	if (err) {
		pr_notice("rdma tier %s: %s %u: cannot resolve a route: %d\n", t->peer,
			  emp_rdma_qkind(q), emp_rdma_qno(q), err);
		goto out_free;
	}
	if (!t->pd) {
		t->pd = ib_alloc_pd(q->cm_id->device, 0);
		if (IS_ERR(t->pd)) {
			err = PTR_ERR(t->pd);
			t->pd = NULL;
			goto out_free;
		}
	} else if (t->pd->device != q->cm_id->device) {
		pr_notice("rdma tier %s: queues resolved to different devices\n", t->peer);
		err = -EXDEV;
		goto out_free;
	}
	/* Room for every request's work requests plus the HELLO exchange. */
	q->cq = ib_alloc_cq(q->cm_id->device, q, 2 * EMP_RDMA_DEPTH + 4,
			    i % q->cm_id->device->num_comp_vectors,
			    q->polled ? IB_POLL_DIRECT : IB_POLL_SOFTIRQ);
	if (IS_ERR(q->cq)) {
		err = PTR_ERR(q->cq);
		q->cq = NULL;
		goto out_free;
	}
	attr.event_handler = NULL;
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	attr.qp_type = IB_QPT_RC;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	attr.cap.max_send_wr = EMP_RDMA_DEPTH + 1;
	attr.cap.max_recv_wr = 1;
	attr.cap.max_send_sge = min_t(u32, 16, q->cm_id->device->attrs.max_send_sge);
	attr.cap.max_recv_sge = 1;
	attr.cap.max_rdma_ctxs = EMP_RDMA_DEPTH;
	attr.port_num = q->cm_id->port_num;
	err = rdma_create_qp(q->cm_id, t->pd, &attr);
	if (err)
		goto out_free;
	/*
	 * Without an ACK timeout a request to a donor that vanished without a
	 * disconnect would wait forever (rxe then never retransmits): 2^16 *
	 * 4.096 us = 268 ms, times 7 retries, then the QP fails and every
	 * request flushes with an error.
	 */
	err = rdma_set_ack_timeout(q->cm_id, EMP_RDMA_ACK_TIMEOUT);
	if (err)
		goto out_free;
	/* RDMA READ needs read slots on both ends; zero would stall every READ. */
	param.initiator_depth = min_t(u32, 16, q->cm_id->device->attrs.max_qp_init_rd_atom);
	param.responder_resources = min_t(u32, 16, q->cm_id->device->attrs.max_qp_rd_atom);
	err = rdma_connect(q->cm_id, &param);
	if (!err)
		err = emp_rdma_wait_cm(q);
	if (err) {
		pr_notice("rdma tier %s: %s %u: connect failed: %d\n", t->peer,
			  emp_rdma_qkind(q), emp_rdma_qno(q), err);
		goto out_free;
	}
	err = emp_rdma_hello(q, desc);
	if (err)
		goto out_free;
	return 0;

out_free:
	emp_rdma_queue_free(q);
	return err;
}

static void emp_rdma_free(struct emp_rdma_tier *t)
{
	unsigned int i;

	/* First the watchdog: it uses the queues' ids. */
	cancel_delayed_work_sync(&t->watch);
	for (i = 0; i < 2 * t->nr_queues; i++)
		emp_rdma_queue_free(&t->q[i]);
	if (t->pd)
		ib_dealloc_pd(t->pd);
	kfree(t);
}

static void emp_rdma_destroy(struct emp_backend *be)
{
	emp_rdma_free(to_rdma_tier(be));
}

/**
 * emp_rdma_create() - connect an RDMA tier to its donor
 * @desc:   validated tier description (address, port, size, secret)
 * @holder: the instance (unused)
 * @out:    the new backend
 *
 * Context: Process context, sleeps (bounded by timeouts).
 * Return: 0, -EINVAL for a bad address, -EHOSTUNREACH, -ECONNREFUSED,
 * -ETIMEDOUT, -EACCES for a refused secret, -ENOSPC when the donor lacks
 * the memory, -EPROTO for a peer that does not speak our protocol.
 */
static int emp_rdma_create(const struct emp_tier *desc, void *holder,
			   struct emp_backend **out)
{
	struct sockaddr_storage ss;
	struct emp_rdma_tier *t;
	unsigned int i, n;
	int err;

	err = emp_tier_addr(desc, &ss);
	if (err < 0)
		return err;
	n = READ_ONCE(rdma_queues) ?: num_online_cpus();
	n = clamp_t(unsigned int, n, 1, EMP_RDMA_MAX_QUEUES);
	t = kzalloc(struct_size(t, q, 2 * n), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	INIT_DELAYED_WORK(&t->watch, emp_rdma_watch);
	emp_tier_peer(desc, t->peer, sizeof(t->peer));
	t->nr_queues = n;
	/* The first connection makes the donor session, the others join it. */
	for (i = 0; i < 2 * n; i++) {
		err = emp_rdma_queue_connect(t, i, desc, &ss);
		if (err)
			goto out_free;
	}
	t->be.size = desc->size;
	*out = &t->be;
	queue_delayed_work(emp_rdma_wq, &t->watch, HZ);
	pr_info("rdma tier %s: connected, %u queue(s) of each kind, %llu bytes\n", t->peer,
		t->nr_queues, desc->size);
	return 0;

out_free:
	emp_rdma_free(t);
	return err;
}

static const struct emp_tier_ops emp_rdma_ops = {
	.kind		= EMP_TIER_RDMA,
	.name		= "rdma",
	.owner		= THIS_MODULE,
	.create		= emp_rdma_create,
	.submit		= emp_rdma_submit,
	.poll		= emp_rdma_poll,
	.destroy	= emp_rdma_destroy,
};

static int __init emp_rdma_init(void)
{
	int err;

	emp_rdma_wq = alloc_workqueue("emp_rdma", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!emp_rdma_wq)
		return -ENOMEM;
	err = emp_tier_register(&emp_rdma_ops);
	if (err)
		destroy_workqueue(emp_rdma_wq);
	return err;
}

static void __exit emp_rdma_exit(void)
{
	/* No tier is left: each holds a reference on this module. */
	emp_tier_unregister(&emp_rdma_ops);
	destroy_workqueue(emp_rdma_wq);
}

module_init(emp_rdma_init);
module_exit(emp_rdma_exit);

MODULE_AUTHOR("EMP developers");
MODULE_DESCRIPTION("Elastic Memory Platform: remote DRAM tier over RDMA");
MODULE_LICENSE("GPL");
MODULE_ALIAS("emp-tier-2");
