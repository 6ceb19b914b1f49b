/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rclient: an RDMA client of vmd for vmd-client: rdma_cm connect, the
 * HELLO exchange as SEND/RECV, then one-sided RDMA READ/WRITE. Blocking,
 * one connection at a time, every wait bounded by CL_TIMEOUT.
 */
#ifndef VMD_RCLIENT_H
#define VMD_RCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "client.h"

/* One RDMA connection: its own PD, CQ, QP and a buffer for messages and data. */
struct rc {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;		/* buf, local write only */
	unsigned char *buf;		/* RC_BUF_SIZE bytes, laid out below */
	struct wire_hello_reply rep;	/* the last HELLO_REPLY */
};
#define RC_MSG_SEND	0			/* the message to SEND */
#define RC_MSG_RECV	2048			/* where the reply lands */
#define RC_DATA		EMP_WIRE_IO_ALIGN	/* data of RDMA READ/WRITE */
#define RC_BUF_SIZE	(RC_DATA + EMP_WIRE_MAX_IO)

/* Connect (a receive for the reply posted first). Return: 0, or -1 with @c cleared. */
int rc_connect(struct rc *c, const char *addr, uint16_t port);

/* Close and free everything; safe on a cleared @c. */
void rc_close(struct rc *c);

/* Wait up to CL_TIMEOUT for the rdma_cm event @want. Return: 0 or -1. */
int rc_wait_event(struct rc *c, enum rdma_cm_event_type want);

/*
 * SEND the @len bytes at buf + RC_MSG_SEND and read the HELLO_REPLY into
 * c->rep. Return: 0 with any reply status, -1 when the exchange failed or
 * the reply is malformed.
 */
int rc_hello_raw(struct rc *c, size_t len);
int rc_hello(struct rc *c, const struct wire_hello *h);

/*
 * One-sided READ or WRITE of @len bytes between buf + RC_DATA and @raddr.
 * Return: the completion status (IBV_WC_SUCCESS, IBV_WC_REM_ACCESS_ERR, ...)
 * or -1 when none came.
 */
int rc_rdma(struct rc *c, bool write, uint64_t raddr, uint32_t rkey, uint32_t len);

#endif /* VMD_RCLIENT_H */
