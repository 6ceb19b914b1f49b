// SPDX-License-Identifier: GPL-2.0
/* rclient: an RDMA client of vmd (see rclient.h). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rclient.h"

int rc_wait_event(struct rc *c, enum rdma_cm_event_type want)
{
	struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;
	enum rdma_cm_event_type got;
	int status;

	if (poll(&pfd, 1, CL_TIMEOUT * 1000) != 1) {
		fprintf(stderr, "# no rdma_cm event (waiting for %s)\n", rdma_event_str(want));
		return -1;
	}
	if (rdma_get_cm_event(c->ec, &ev))
		return -1;
	got = ev->event;
	status = ev->status;
	rdma_ack_cm_event(ev);
	if (got != want) {
		fprintf(stderr, "# rdma_cm: %s (status %d), wanted %s\n", rdma_event_str(got),
			status, rdma_event_str(want));
		return -1;
	}
	return 0;
}

/* Wait for one completion. Return: its status, or -1 when none comes. */
static int rc_wait_wc(struct rc *c, struct ibv_wc *wc)
{
	struct timespec t0, t;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = ibv_poll_cq(c->cq, 1, wc);
		if (n == 1)
			return wc->status;
		if (n < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > CL_TIMEOUT) {
			fprintf(stderr, "# no completion within %d s\n", CL_TIMEOUT);
			return -1;
		}
		usleep(50);
	}
}

void rc_close(struct rc *c)
{
	if (c->id && c->id->qp)
		rdma_disconnect(c->id);
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

int rc_connect(struct rc *c, const char *addr, uint16_t port)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 8, .max_recv_wr = 1, .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct rdma_conn_param param = {
		.initiator_depth = 1, .retry_count = 7, .rnr_retry_count = 7,
	};
	struct addrinfo *ai;
	struct ibv_sge sge;
	struct ibv_recv_wr wr = { .sg_list = &sge, .num_sge = 1 }, *bad;
	char ps[8];

	memset(c, 0, sizeof(*c));
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(addr, ps, NULL, &ai)) {
		fprintf(stderr, "# cannot resolve %s\n", addr);
		return -1;
	}
	c->ec = rdma_create_event_channel();
	if (!c->ec || rdma_create_id(c->ec, &c->id, NULL, RDMA_PS_TCP) ||
	    rdma_resolve_addr(c->id, NULL, ai->ai_addr, 2000)) {
		freeaddrinfo(ai);
		goto fail;
	}
	freeaddrinfo(ai);
	if (rc_wait_event(c, RDMA_CM_EVENT_ADDR_RESOLVED) || rdma_resolve_route(c->id, 2000) ||
	    rc_wait_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED))
		goto fail;
	c->buf = calloc(1, RC_BUF_SIZE);
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cq = ibv_create_cq(c->id->verbs, 16, NULL, NULL, 0);
	if (!c->buf || !c->pd || !c->cq)
		goto fail;
	c->mr = ibv_reg_mr(c->pd, c->buf, RC_BUF_SIZE, IBV_ACCESS_LOCAL_WRITE);
	if (!c->mr)
		goto fail;
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	if (rdma_create_qp(c->id, c->pd, &qa))
		goto fail;
	sge = (struct ibv_sge){ (uintptr_t)(c->buf + RC_MSG_RECV), 2048, c->mr->lkey };
	wr.wr_id = 1;
	if (ibv_post_recv(c->id->qp, &wr, &bad) || rdma_connect(c->id, &param) ||
	    rc_wait_event(c, RDMA_CM_EVENT_ESTABLISHED))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "# rdma connect to %s port %u failed: %s\n", addr, port,
		strerror(errno));
	rc_close(c);
	return -1;
}

/* SEND @len bytes already in the message area; read the HELLO_REPLY into c->rep. */
int rc_hello_raw(struct rc *c, size_t len)
{
	struct ibv_sge sge = { (uintptr_t)(c->buf + RC_MSG_SEND), (uint32_t)len, c->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 2, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;
	struct wire_hdr h;
	bool sent = false, got = false;
	uint32_t got_len = 0;

	if (ibv_post_send(c->id->qp, &wr, &bad))
		return -1;
	while (!sent || !got) {
		int st = rc_wait_wc(c, &wc);

		if (st != IBV_WC_SUCCESS) {
			fprintf(stderr, "# HELLO exchange: %s\n", st < 0 ? "no completion" :
				ibv_wc_status_str(wc.status));
			return -1;
		}
		if (wc.wr_id == 2) {
			sent = true;
		} else {
			got = true;
			got_len = wc.byte_len;
		}
	}
	if (got_len != WIRE_REPLY_MSG_SIZE) {
		fprintf(stderr, "# HELLO_REPLY of %u bytes\n", got_len);
		return -1;
	}
	wire_hdr_unpack(c->buf + RC_MSG_RECV, &h);
	wire_reply_unpack(c->buf + RC_MSG_RECV + EMP_WIRE_HDR_SIZE, &c->rep);
	if (h.magic != EMP_WIRE_MAGIC || h.op != EMP_WIRE_HELLO_REPLY ||
	    h.status != c->rep.status || !memchr(c->rep.reason, 0, sizeof(c->rep.reason)))
		return -1;
	return 0;
}

int rc_hello(struct rc *c, const struct wire_hello *h)
{
	return rc_hello_raw(c, wire_hello_msg(h, 1, c->buf + RC_MSG_SEND));
}

/* One-sided READ or WRITE of @len bytes between c->buf + RC_DATA and @raddr. */
int rc_rdma(struct rc *c, bool write, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)(c->buf + RC_DATA), len, c->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 3, .sg_list = &sge, .num_sge = 1,
		.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;

	if (ibv_post_send(c->id->qp, &wr, &bad))
		return -1;
	return rc_wait_wc(c, &wc);
}

