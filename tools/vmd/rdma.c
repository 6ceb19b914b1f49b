// SPDX-License-Identifier: GPL-2.0
/*
 * vmd's RDMA transport: rdma_cm for connections, RC queue pairs, HELLO and
 * HELLO_REPLY as SEND messages, then the client works alone with one-sided
 * RDMA READ/WRITE on the region it was given.
 *
 * Isolation: every connection has its own protection domain, and the
 * session's region is registered in it (an MR per connection, covering
 * exactly the region, remote read and write only). An rkey is therefore
 * good only on the QP that received it: a client cannot reach another
 * session's memory even if it learns that session's address and rkey, and
 * the MR's bounds keep it inside its own region.
 *
 * Everything here runs in vmd's main thread; connections are found from
 * completions by a number (wr_id), never by a pointer, so a completion that
 * arrives after its connection is gone is simply dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "vmd.h"

#define RECV_SIZE	(EMP_WIRE_HDR_SIZE + WIRE_HELLO_MAX_LEN)
#define WR_RECV		0
#define WR_SEND		1
#define VMD_CLOSE_TIMEOUT	60	/* seconds a disconnect may take */

struct rconn {
	uint64_t id;			/* wr_id >> 1 of its work requests */
	struct rdma_cm_id *cm;		/* cm->context points back here */
	struct ibv_pd *pd;		/* this connection's only */
	struct ibv_mr *msg_mr;		/* msg below: local write only */
	struct ibv_mr *region_mr;	/* the session's region: remote read/write */
	struct vmd_session *sess;	/* one reference once HELLO is accepted */
	struct vmd_peer peer;
	time_t since;			/* when the connect request came, or closing began */
	bool established;		/* rdma_cm says so (ESTABLISHED event) */
	bool hello_seen;		/* the HELLO (good or bad) arrived */
	bool refused;			/* disconnect once the reply is sent */
	bool closing;			/* disconnect asked; waiting for the event */
	struct rconn *next;
	struct {
		unsigned char recv[RECV_SIZE];
		unsigned char send[WIRE_REPLY_MSG_SIZE];
	} msg;
};

static struct rdma_event_channel *ec;
static struct rdma_cm_id *listen_id;
static struct ibv_context *dev;		/* owned by librdmacm */
static struct ibv_comp_channel *cq_ch;
static struct ibv_cq *cq;		/* shared by every connection's QP */
static unsigned int cq_unacked;
static struct rconn *rconns;
static uint64_t next_id = 1;

static struct rconn *rconn_find(uint64_t id)
{
	struct rconn *c;

	for (c = rconns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Free everything of @c, its cm_id included (never with an unacked event of it). */
static void rconn_destroy(struct rconn *c)
{
	struct rconn **pp;

	for (pp = &rconns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->cm->qp)
		rdma_destroy_qp(c->cm);
	if (c->region_mr)
		ibv_dereg_mr(c->region_mr);
	if (c->msg_mr)
		ibv_dereg_mr(c->msg_mr);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->sess)
		vmd_session_put(c->sess, &c->peer);
	else
		vmd_dbg("rdma %s: closed", c->peer.addr);
	rdma_destroy_id(c->cm);
	vmd_conn_put();
	free(c);
}

/*
 * Disconnect; the DISCONNECTED event then destroys the connection. Before
 * rdma_cm has the connection established, a disconnect would not reach the
 * client: it is done when the ESTABLISHED event comes.
 */
static void rconn_close(struct rconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->since = time(NULL);
	if (c->established)
		rdma_disconnect(c->cm);
}

static int post_recv(struct rconn *c)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)c->msg.recv,
		.length = sizeof(c->msg.recv),
		.lkey = c->msg_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = c->id << 1 | WR_RECV, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(c->cm->qp, &wr, &bad);
}

static int post_send(struct rconn *c, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)c->msg.send,
		.length = (uint32_t)len,
		.lkey = c->msg_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = c->id << 1 | WR_SEND,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	};
	struct ibv_send_wr *bad;

	return ibv_post_send(c->cm->qp, &wr, &bad);
}

/* The HELLO arrived in c->msg.recv: answer it. */
static void rconn_hello(struct rconn *c, uint32_t len)
{
	struct wire_hello_reply rep;
	struct vmd_session *s = NULL;
	struct wire_hdr h;
	const char *why;
	int st;

	c->hello_seen = true;
	if (len < EMP_WIRE_HDR_SIZE) {
		why = "message shorter than a header";
		st = EMP_WIRE_EINVAL;
	} else {
		wire_hdr_unpack(c->msg.recv, &h);
		st = wire_check_request(&h, false, &why);
		if (st == EMP_WIRE_OK && h.length != len - EMP_WIRE_HDR_SIZE) {
			why = "header length differs from the message";
			st = EMP_WIRE_EINVAL;
		}
	}
	if (st != EMP_WIRE_OK) {
		vmd_log_refused(&c->peer, (uint32_t)st, why);
		wire_reply_refuse(&rep, (uint32_t)st, why);
	} else {
		s = vmd_hello(&c->peer, c->msg.recv + EMP_WIRE_HDR_SIZE, h.length, &rep);
	}
	if (s) {
		c->region_mr = ibv_reg_mr(c->pd, s->mem, s->size, IBV_ACCESS_LOCAL_WRITE |
					  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
		if (!c->region_mr) {
			char msg[EMP_WIRE_REASON_MAX];

			snprintf(msg, sizeof(msg), "cannot register the region: %s",
				 strerror(errno));
			wire_reply_refuse(&rep, EMP_WIRE_EIO, msg);
			vmd_log_refused(&c->peer, EMP_WIRE_EIO, msg);
			vmd_session_put(s, &c->peer);
			s = NULL;
		} else {
			c->sess = s;
			rep.rdma_addr = (uintptr_t)s->mem;
			rep.rdma_rkey = c->region_mr->rkey;
		}
	}
	/* A refused client is disconnected once its answer has gone out. */
	c->refused = !s;
	if (post_send(c, wire_reply_msg(&rep, c->msg.send))) {
		vmd_log("rdma %s: cannot send the reply: %s", c->peer.addr, strerror(errno));
		rconn_close(c);
	}
}

static void handle_wc(const struct ibv_wc *wc)
{
	struct rconn *c = rconn_find(wc->wr_id >> 1);

	if (!c)
		return;		/* its connection is gone already */
	if (wc->status != IBV_WC_SUCCESS) {
		if (!c->closing)
			vmd_log("rdma %s '%s': %s failed: %s; disconnecting", c->peer.addr,
				c->peer.name, (wc->wr_id & 1) == WR_RECV ? "receive" : "send",
				ibv_wc_status_str(wc->status));
		rconn_close(c);
		return;
	}
	if ((wc->wr_id & 1) == WR_RECV) {
		/*
		 * The HELLO can overtake the client's RTU. Never tell the CM
		 * with rdma_notify(IBV_EVENT_COMM_EST): it marks the cm_id
		 * established at once but cancels our REP MAD only later, from
		 * a work item; when the client's DREQ is handled first, the
		 * REP stays queued for its full retries (about a minute), and
		 * rdma_destroy_id() blocks in the kernel until then, with it
		 * vmd's only thread (cm_destroy_id_wait_timeout in dmesg).
		 * The RTU comes anyway (a lost one is resent for a repeated
		 * REP), a DREQ before it cancels the REP, and rconn_close()
		 * waits for the ESTABLISHED event before disconnecting.
		 */
		rconn_hello(c, wc->byte_len);
	} else if (c->refused) {
		rconn_close(c);
	}
}

static void cq_drain(void)
{
	struct ibv_wc wc[16];
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int n, i;

	while (!ibv_get_cq_event(cq_ch, &ev_cq, &ev_ctx))
		cq_unacked++;
	if (cq_unacked >= 64) {
		ibv_ack_cq_events(cq, cq_unacked);
		cq_unacked = 0;
	}
	/* Ask first, then poll: a completion in between still raises an event. */
	ibv_req_notify_cq(cq, 0);
	while ((n = ibv_poll_cq(cq, 16, wc)) > 0)
		for (i = 0; i < n; i++)
			handle_wc(&wc[i]);
}

/* A client connects. Return: 0, or -1 when its cm_id is to be rejected and destroyed. */
static int conn_request(struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1, .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct rdma_conn_param param = { .rnr_retry_count = 7 };
	struct vmd_peer peer = { .transport = "rdma", .name = "-" };
	const char *devname = ibv_get_device_name(id->verbs->device);
	struct rconn *c;

	id->context = NULL;	/* a new cm_id inherits the listener's context */
	vmd_format_addr(rdma_get_peer_addr(id), peer.addr, sizeof(peer.addr));
	if (strcmp(devname, vmd_cfg.device)) {
		char msg[64];

		snprintf(msg, sizeof(msg), "came in on device %s, vmd serves %s", devname,
			 vmd_cfg.device);
		vmd_log_refused(&peer, EMP_WIRE_EINVAL, msg);
		return -1;
	}
	if (!vmd_conn_get()) {
		char msg[64];

		snprintf(msg, sizeof(msg), "at the limit of %u connections", vmd_cfg.max_conns);
		vmd_log_refused(&peer, EMP_WIRE_ENOMEM, msg);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		vmd_conn_put();
		return -1;
	}
	c->id = next_id++;
	c->cm = id;
	c->peer = peer;
	c->since = time(NULL);
	id->context = c;
	c->next = rconns;
	rconns = c;

	c->pd = ibv_alloc_pd(id->verbs);
	if (!c->pd)
		goto fail;
	c->msg_mr = ibv_reg_mr(c->pd, &c->msg, sizeof(c->msg), IBV_ACCESS_LOCAL_WRITE);
	if (!c->msg_mr)
		goto fail;
	qa.send_cq = cq;
	qa.recv_cq = cq;
	if (rdma_create_qp(id, c->pd, &qa))
		goto fail;
	if (post_recv(c))
		goto fail;
	/*
	 * We answer the client's RDMA READs (as many at once as it asked to
	 * issue, within what the device allows: librdmacm takes the smaller
	 * for RDMA_MAX_RESP_RES) and never issue any ourselves.
	 */
	param.responder_resources = RDMA_MAX_RESP_RES;
	param.initiator_depth = 0;
	if (rdma_accept(id, &param))
		goto fail;
	vmd_dbg("rdma %s: accepted", c->peer.addr);
	return 0;

fail:
	vmd_log("rdma %s: cannot set up the connection: %s", c->peer.addr, strerror(errno));
	/* The caller rejects; the cm_id is destroyed with the rest after the ack. */
	return -1;
}

static void cm_events(void)
{
	struct rdma_cm_event *ev;

	while (!rdma_get_cm_event(ec, &ev)) {
		struct rdma_cm_id *id = ev->id, *drop_id = NULL;
		struct rconn *c = id == listen_id ? NULL : id->context, *drop = NULL;

		switch (ev->event) {
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			if (conn_request(ev)) {
				rdma_reject(id, NULL, 0);
				/* A half-built connection is destroyed with its cm_id. */
				drop = id->context;
				if (!drop)
					drop_id = id;
			}
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (!c)
				break;
			vmd_dbg("rdma %s: established", c->peer.addr);
			c->established = true;
			if (c->closing)
				rdma_disconnect(c->cm);
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_REJECTED:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
			drop = c;
			break;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			if (id == listen_id) {
				vmd_log("error: rdma: device %s removed", vmd_cfg.device);
				vmd_failed = true;
			}
			drop = c;
			break;
		default:
			vmd_dbg("rdma: event %s", rdma_event_str(ev->event));
			break;
		}
		rdma_ack_cm_event(ev);
		if (drop)
			rconn_destroy(drop);
		if (drop_id)
			rdma_destroy_id(drop_id);
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		vmd_log("rdma: cm event channel: %s", strerror(errno));
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Find the device's context among librdmacm's (QPs of its cm_ids use those). */
static struct ibv_context *find_device(const char *name)
{
	struct ibv_context **list, *found = NULL;
	char names[256] = "";
	int n, i;

	list = rdma_get_devices(&n);
	if (!list) {
		vmd_log("error: rdma: cannot list RDMA devices: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *dn = ibv_get_device_name(list[i]->device);

		if (!strcmp(dn, name))
			found = list[i];
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", dn);
	}
	rdma_free_devices(list);
	if (!found)
		vmd_log("error: rdma: no RDMA device %s (devices here: %s)", name,
			n ? names : "none");
	return found;
}

static int bind_listen(void)
{
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
				     .sin6_port = htons(vmd_cfg.port) };
	struct sockaddr_in any4 = { .sin_family = AF_INET, .sin_port = htons(vmd_cfg.port) };
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	char port[8], name[64];
	int zero = 0, err;

	if (vmd_cfg.address) {
		snprintf(port, sizeof(port), "%u", vmd_cfg.port);
		err = getaddrinfo(vmd_cfg.address, port, &hints, &ai);
		if (err) {
			vmd_log("error: rdma: address %s: %s", vmd_cfg.address, gai_strerror(err));
			return -1;
		}
		err = rdma_bind_addr(listen_id, ai->ai_addr);
		freeaddrinfo(ai);
	} else {
		/* v6 wildcard taking v4 too, or v4 only where v6 is missing. */
		rdma_set_option(listen_id, RDMA_OPTION_ID, RDMA_OPTION_ID_AFONLY, &zero,
				sizeof(zero));
		err = rdma_bind_addr(listen_id, (struct sockaddr *)&any6);
		if (err)
			err = rdma_bind_addr(listen_id, (struct sockaddr *)&any4);
	}
	if (err || rdma_listen(listen_id, 128)) {
		vmd_log("error: rdma: cannot listen on %s port %u: %s",
			vmd_cfg.address ? vmd_cfg.address : "all addresses", vmd_cfg.port,
			strerror(errno));
		return -1;
	}
	if (listen_id->verbs &&
	    strcmp(ibv_get_device_name(listen_id->verbs->device), vmd_cfg.device)) {
		vmd_log("error: rdma: %s is on device %s, not %s", vmd_cfg.address,
			ibv_get_device_name(listen_id->verbs->device), vmd_cfg.device);
		return -1;
	}
	vmd_log("rdma: listening on %s, device %s",
		vmd_format_addr(rdma_get_local_addr(listen_id), name, sizeof(name)),
		vmd_cfg.device);
	return 0;
}

static void rdma_stop(void);

static int rdma_start(void)
{
	struct ibv_device_attr attr;
	int cqe;

	dev = find_device(vmd_cfg.device);
	if (!dev)
		return -1;
	if (ibv_query_device(dev, &attr)) {
		vmd_log("error: rdma: cannot query %s: %s", vmd_cfg.device, strerror(errno));
		return -1;
	}
	/* Each connection has at most one receive and one send outstanding. */
	cqe = 4 * (int)vmd_cfg.max_conns + 64;
	if (cqe > attr.max_cqe)
		cqe = attr.max_cqe;
	cq_ch = ibv_create_comp_channel(dev);
	if (!cq_ch || set_nonblock(cq_ch->fd))
		goto fail;
	cq = ibv_create_cq(dev, cqe, NULL, cq_ch, 0);
	if (!cq || ibv_req_notify_cq(cq, 0))
		goto fail;
	ec = rdma_create_event_channel();
	if (!ec || set_nonblock(ec->fd))
		goto fail;
	if (rdma_create_id(ec, &listen_id, NULL, RDMA_PS_TCP))
		goto fail;
	if (bind_listen()) {
		rdma_stop();
		return -1;
	}
	return 0;

fail:
	vmd_log("error: rdma: cannot set up %s: %s", vmd_cfg.device, strerror(errno));
	rdma_stop();
	return -1;
}

static int rdma_fds(struct pollfd *pfd, int room)
{
	if (room < 2 || !ec)
		return 0;
	pfd[0] = (struct pollfd){ .fd = ec->fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = cq_ch->fd, .events = POLLIN };
	return 2;
}

static void rdma_handle(const struct pollfd *pfd, int n)
{
	if (n < 2)
		return;
	/* Completions first: a HELLO may complete before its ESTABLISHED event. */
	if (pfd[1].revents & POLLIN)
		cq_drain();
	if (pfd[0].revents & POLLIN)
		cm_events();
}

static void rdma_tick(void)
{
	time_t now = time(NULL);
	struct rconn *c, *next;

	for (c = rconns; c; c = next) {
		next = c->next;
		if (!c->hello_seen && !c->closing && now - c->since > VMD_HELLO_TIMEOUT) {
			vmd_log("rdma %s: no HELLO within %d s, disconnecting", c->peer.addr,
				VMD_HELLO_TIMEOUT);
			rconn_close(c);
		} else if (c->closing && now - c->since > VMD_CLOSE_TIMEOUT) {
			/* rdma_cm never reported the end: give up waiting. */
			vmd_log("rdma %s: no disconnect event within %d s, dropping",
				c->peer.addr, VMD_CLOSE_TIMEOUT);
			rconn_destroy(c);
		}
	}
}

static void rdma_stop(void)
{
	unsigned int n = 0;

	while (rconns) {
		if (!rconns->closing)
			rdma_disconnect(rconns->cm);
		rconn_destroy(rconns);
		n++;
	}
	if (n)
		vmd_log("rdma: closed %u connection%s", n, n == 1 ? "" : "s");
	if (listen_id)
		rdma_destroy_id(listen_id);
	listen_id = NULL;
	if (ec)
		rdma_destroy_event_channel(ec);
	ec = NULL;
	if (cq) {
		if (cq_unacked)
			ibv_ack_cq_events(cq, cq_unacked);
		cq_unacked = 0;
		ibv_destroy_cq(cq);
	}
	cq = NULL;
	if (cq_ch)
		ibv_destroy_comp_channel(cq_ch);
	cq_ch = NULL;
}

const struct vmd_transport vmd_rdma = {
	.name = "rdma",
	.start = rdma_start,
	.fds = rdma_fds,
	.handle = rdma_handle,
	.tick = rdma_tick,
	.stop = rdma_stop,
};
