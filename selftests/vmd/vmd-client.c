// SPDX-License-Identifier: GPL-2.0
/*
 * vmd-client: a test client of vmd. Speaks the EMP wire protocol over TCP
 * or RDMA, writes and reads back patterns, and checks that vmd refuses what
 * it must (bounds, versions, secrets, memory). Prints TAP.
 *
 *   vmd-client [--rdma [--also-tcp]] [--secret S] [--size MiB] ADDRESS [PORT]
 *   vmd-client --hello [--hold S] [--rdma] [--secret S] [--size MiB] ADDRESS [PORT]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rclient.h"

#define MiB		(1ULL << 20)
#define PAGE		EMP_WIRE_IO_ALIGN

struct opts {
	const char *addr;
	uint16_t port;
	const char *secret;
	uint64_t size;
	bool rdma, also_tcp, hello_only;
	unsigned int hold;	/* --hello: seconds to keep the connection */
};

/* --- the checks ------------------------------------------------------------- */

struct ctx {
	const struct opts *o;
	int fd;				/* TCP: session A's first connection */
	struct wire_hello_reply a;	/* session A */
	unsigned char *buf, *buf2;	/* EMP_WIRE_MAX_IO each */
	struct rc rc;			/* RDMA: session A's first connection */
};

static struct wire_hello hello_of(const struct ctx *x, uint64_t size, uint64_t session)
{
	struct wire_hello h;

	cl_hello_init(&h, size, session, x->o->secret, "vmd-client");
	return h;
}

/* A new TCP connection that sent @h; the reply in @rep. Return: fd or -1. */
static int tcp_hello(const struct ctx *x, const struct wire_hello *h, struct wire_hello_reply *rep)
{
	int fd = cl_connect(x->o->addr, x->o->port);

	if (fd < 0)
		return -1;
	if (cl_hello(fd, h, rep)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool is_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

static bool expect_status(int got, int want, const char *what)
{
	if (got == want)
		return true;
	tap_diag("%s: got %s (%d), want %s", what, got < 0 ? "no valid reply" :
		 wire_status_name((uint32_t)got), got, wire_status_name((uint32_t)want));
	return false;
}

/* Open session A over TCP. */
static bool t_hello(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);

	x->fd = tcp_hello(x, &h, &x->a);
	if (x->fd < 0)
		return false;
	if (!expect_status((int)x->a.status, EMP_WIRE_OK, "HELLO"))
		return tap_diag("reason: %s", x->a.reason), false;
	return x->a.session && x->a.region_size == x->o->size && !x->a.reason[0];
}

static bool read_all_zero(struct ctx *x, int fd, uint64_t size)
{
	uint64_t off;

	for (off = 0; off < size; off += EMP_WIRE_MAX_IO) {
		uint32_t len = size - off < EMP_WIRE_MAX_IO ? (uint32_t)(size - off) : EMP_WIRE_MAX_IO;

		if (!expect_status(cl_io(fd, EMP_WIRE_READ, off, off, len, x->buf), 0, "READ") ||
		    !is_zero(x->buf, len))
			return false;
	}
	return true;
}

static bool t_zero(struct ctx *x)
{
	return read_all_zero(x, x->fd, x->a.region_size);
}

/* (offset, length) pairs written and read back, the last page included. */
static const struct { uint64_t off; uint32_t len; } spots[] = {
	{ 0, PAGE }, { PAGE, 16 * PAGE }, { 64 * PAGE, EMP_WIRE_MAX_IO }, { 0, 0 /* last */ },
};

static uint64_t spot_off(const struct ctx *x, size_t i)
{
	return spots[i].len ? spots[i].off : x->a.region_size - PAGE;
}

static uint32_t spot_len(size_t i)
{
	return spots[i].len ? spots[i].len : PAGE;
}

static bool t_write_read(struct ctx *x)
{
	size_t i;

	for (i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		uint64_t off = spot_off(x, i);
		uint32_t len = spot_len(i);

		cl_fill(x->buf, len, 1000 + i);
		if (!expect_status(cl_io(x->fd, EMP_WIRE_WRITE, 7, off, len, x->buf), 0, "WRITE") ||
		    !expect_status(cl_io(x->fd, EMP_WIRE_READ, 8, off, len, x->buf2), 0, "READ"))
			return false;
		if (memcmp(x->buf, x->buf2, len)) {
			tap_diag("data at %llu (%u bytes) differs", (unsigned long long)off, len);
			return false;
		}
	}
	return true;
}

/* 32 requests in flight; the replies come in order with their tags. */
static bool t_pipeline(struct ctx *x)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		cl_fill(x->buf, PAGE, 2000 + i);
		if (cl_io_send(x->fd, EMP_WIRE_WRITE, 100 + 2 * i, (128 + i) * PAGE, PAGE, x->buf) ||
		    cl_io_send(x->fd, EMP_WIRE_READ, 101 + 2 * i, (128 + i) * PAGE, PAGE, NULL))
			return false;
	}
	for (i = 0; i < 16; i++) {
		cl_fill(x->buf, PAGE, 2000 + i);
		if (cl_io_recv(x->fd, EMP_WIRE_WRITE, 100 + 2 * i, PAGE, NULL) != 0 ||
		    cl_io_recv(x->fd, EMP_WIRE_READ, 101 + 2 * i, PAGE, x->buf2) != 0 ||
		    memcmp(x->buf, x->buf2, PAGE))
			return tap_diag("reply %u wrong", i), false;
	}
	return true;
}

static bool t_join(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size, x->a.session);
	struct wire_hello_reply r;
	bool ok;
	int fd;

	fd = tcp_hello(x, &h, &r);
	if (fd < 0)
		return false;
	ok = expect_status((int)r.status, EMP_WIRE_OK, "join") && r.session == x->a.session;
	cl_fill(x->buf, PAGE, 1000);	/* what t_write_read put at offset 0 */
	ok = ok && cl_io(fd, EMP_WIRE_READ, 1, 0, PAGE, x->buf2) == 0 &&
	     !memcmp(x->buf, x->buf2, PAGE);
	close(fd);
	return ok;
}

static bool refused_hello(struct ctx *x, const struct wire_hello *h, int want,
			  struct wire_hello_reply *r)
{
	bool ok;
	int fd;

	fd = tcp_hello(x, h, r);
	if (fd < 0)
		return false;
	ok = expect_status((int)r->status, want, "HELLO");
	if (r->status)
		tap_diag("reason: %s", r->reason);
	ok = ok && r->reason[0] && cl_closed(fd);
	close(fd);
	return ok;
}

static bool t_join_size(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size + PAGE, x->a.session);
	struct wire_hello_reply r;

	return refused_hello(x, &h, EMP_WIRE_EINVAL, &r);
}

static bool t_join_unknown(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size, x->a.session ^ 0x5a5a5a5a);
	struct wire_hello_reply r;

	return refused_hello(x, &h, EMP_WIRE_ENOENT, &r);
}

static bool t_version(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);
	struct wire_hello_reply r;

	h.major = EMP_WIRE_MAJOR + 1;
	h.minor = 7;
	if (!refused_hello(x, &h, EMP_WIRE_EVERSION, &r))
		return false;
	/* The reason names both versions. */
	return strstr(r.reason, "2.7") && strstr(r.reason, "1.0");
}

static bool t_minor(struct ctx *x)
{
	struct wire_hello h = hello_of(x, PAGE, 0);
	struct wire_hello_reply r;
	int fd;

	h.minor = EMP_WIRE_MINOR + 3;
	fd = tcp_hello(x, &h, &r);
	if (fd < 0)
		return false;
	close(fd);
	return expect_status((int)r.status, EMP_WIRE_OK, "HELLO of a newer minor");
}

static bool t_reserved(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);
	struct wire_hello_reply r;

	h.reserved[1] = 1;
	return refused_hello(x, &h, EMP_WIRE_EINVAL, &r);
}

static bool t_enomem(struct ctx *x)
{
	struct wire_hello h = hello_of(x, 1ULL << 50, 0);
	struct wire_hello_reply r;

	return refused_hello(x, &h, EMP_WIRE_ENOMEM, &r);
}

static bool t_no_secret(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);
	struct wire_hello_reply r;

	h.secret_len = 0;
	memset(h.secret, 0, sizeof(h.secret));
	return refused_hello(x, &h, EMP_WIRE_EAUTH, &r);
}

static bool t_wrong_secret(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);
	struct wire_hello_reply r;

	h.secret[h.secret_len - 1] ^= 1;
	if (!refused_hello(x, &h, EMP_WIRE_EAUTH, &r))
		return false;
	/* A longer secret that starts with the right one is wrong too. */
	h = hello_of(x, x->o->size, 0);
	if (h.secret_len < EMP_WIRE_SECRET_MAX)
		h.secret_len++;
	else
		h.secret_len--;
	return refused_hello(x, &h, EMP_WIRE_EAUTH, &r);
}

/* Out-of-range READs and WRITEs are refused and the connection stays. */
static bool t_bounds(struct ctx *x)
{
	uint64_t size = x->a.region_size, last = size - PAGE;
	static const uint64_t huge = ~0ULL - PAGE + 1;

	cl_fill(x->buf2, PAGE, 1003);	/* what t_write_read put in the last page */
	cl_fill(x->buf, 2 * PAGE, 77);
	if (!expect_status(cl_io(x->fd, EMP_WIRE_READ, 1, size, PAGE, x->buf), EMP_WIRE_ERANGE,
			   "READ at the end") ||
	    !expect_status(cl_io(x->fd, EMP_WIRE_READ, 2, last, 2 * PAGE, x->buf), EMP_WIRE_ERANGE,
			   "READ across the end") ||
	    !expect_status(cl_io(x->fd, EMP_WIRE_READ, 3, huge, PAGE, x->buf), EMP_WIRE_ERANGE,
			   "READ at 2^64 - 4096") ||
	    !expect_status(cl_io(x->fd, EMP_WIRE_WRITE, 4, last, 2 * PAGE, x->buf), EMP_WIRE_ERANGE,
			   "WRITE across the end") ||
	    !expect_status(cl_io(x->fd, EMP_WIRE_WRITE, 5, huge, PAGE, x->buf), EMP_WIRE_ERANGE,
			   "WRITE at 2^64 - 4096"))
		return false;
	/* Still served, and the refused WRITE left the last page alone. */
	if (!expect_status(cl_io(x->fd, EMP_WIRE_READ, 6, last, PAGE, x->buf), 0, "READ after"))
		return false;
	return !memcmp(x->buf, x->buf2, PAGE);
}

/* A malformed request: EINVAL with its tag, then vmd closes. */
static bool malformed(struct ctx *x, uint64_t off, uint32_t len, uint32_t length)
{
	struct wire_hello h = hello_of(x, x->a.region_size, x->a.session);
	struct wire_hdr q = wire_hdr_init(EMP_WIRE_READ, 42);
	unsigned char hb[EMP_WIRE_HDR_SIZE];
	struct wire_hello_reply r;
	bool ok;
	int fd;

	fd = tcp_hello(x, &h, &r);
	if (fd < 0 || r.status)
		return false;
	q.offset = off;
	q.io_len = len;
	q.length = length;
	wire_hdr_pack(&q, hb);
	ok = !cl_send(fd, hb, sizeof(hb)) &&
	     expect_status(cl_io_recv(fd, EMP_WIRE_READ, 42, len, x->buf), EMP_WIRE_EINVAL,
			   "malformed READ") &&
	     cl_closed(fd);
	close(fd);
	return ok;
}

static bool t_misaligned(struct ctx *x)
{
	return malformed(x, 512, PAGE, 0) && malformed(x, 0, PAGE + 512, 0);
}

static bool t_oversized(struct ctx *x)
{
	return malformed(x, 0, EMP_WIRE_MAX_IO + PAGE, 0) && malformed(x, 0, 0, 0) &&
	       malformed(x, 0, PAGE, PAGE);
}

static bool t_bad_magic(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);
	unsigned char msg[WIRE_HELLO_MSG_SIZE];
	struct wire_hello_reply r;
	bool ok;
	int fd;

	fd = cl_connect(x->o->addr, x->o->port);
	if (fd < 0)
		return false;
	wire_hello_msg(&h, 1, msg);
	msg[0] ^= 0xff;
	ok = !cl_hello_raw(fd, msg, sizeof(msg), &r) &&
	     expect_status((int)r.status, EMP_WIRE_EINVAL, "bad magic") && cl_closed(fd);
	close(fd);
	return ok;
}

/* A second session is a different, zeroed region. */
static bool t_isolated(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size, 0);
	struct wire_hello_reply r;
	bool ok;
	int fd;

	fd = tcp_hello(x, &h, &r);
	if (fd < 0)
		return false;
	ok = expect_status((int)r.status, 0, "HELLO") && r.session != x->a.session &&
	     read_all_zero(x, fd, r.region_size);
	close(fd);
	return ok;
}

/* When its last connection closes, the session is gone. */
static bool t_freed(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size, x->a.session);
	struct wire_hello_reply r;
	int fd, i;

	close(x->fd);
	x->fd = -1;
	/* vmd notices the close a moment later. */
	for (i = 0; i < 40; i++) {
		fd = tcp_hello(x, &h, &r);
		if (fd < 0)
			return false;
		close(fd);
		if (r.status == EMP_WIRE_ENOENT)
			return true;
		usleep(50000);
	}
	return expect_status((int)r.status, EMP_WIRE_ENOENT, "join after the last close");
}

/* RDMA: open session A, check the region is zero, write and read back. */
static bool r_hello(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);

	if (rc_connect(&x->rc, x->o->addr, x->o->port) || rc_hello(&x->rc, &h))
		return false;
	x->a = x->rc.rep;
	if (!expect_status((int)x->a.status, 0, "HELLO"))
		return tap_diag("reason: %s", x->a.reason), false;
	return x->a.session && x->a.region_size == x->o->size && x->a.rdma_addr && x->a.rdma_rkey;
}

static bool r_zero(struct ctx *x)
{
	uint64_t off;

	for (off = 0; off < x->a.region_size; off += EMP_WIRE_MAX_IO) {
		uint32_t len = x->a.region_size - off < EMP_WIRE_MAX_IO ?
			       (uint32_t)(x->a.region_size - off) : EMP_WIRE_MAX_IO;

		if (rc_rdma(&x->rc, false, x->a.rdma_addr + off, x->a.rdma_rkey, len) ||
		    !is_zero(x->rc.buf + RC_DATA, len))
			return false;
	}
	return true;
}

static bool r_write_read(struct ctx *x)
{
	unsigned char *data = x->rc.buf + RC_DATA;
	size_t i;

	for (i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		uint64_t raddr = x->a.rdma_addr + spot_off(x, i);
		uint32_t len = spot_len(i);

		cl_fill(x->buf, len, 1000 + i);
		memcpy(data, x->buf, len);
		if (rc_rdma(&x->rc, true, raddr, x->a.rdma_rkey, len))
			return tap_diag("RDMA WRITE failed"), false;
		memset(data, 0, len);
		if (rc_rdma(&x->rc, false, raddr, x->a.rdma_rkey, len))
			return tap_diag("RDMA READ failed"), false;
		if (memcmp(data, x->buf, len))
			return tap_diag("data at spot %zu differs", i), false;
	}
	return true;
}

/* A second QP joins; its own rkey reaches the same data. */
static bool r_join(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size, x->a.session);
	struct rc c;
	bool ok;

	if (rc_connect(&c, x->o->addr, x->o->port))
		return false;
	ok = !rc_hello(&c, &h) && expect_status((int)c.rep.status, 0, "join") &&
	     c.rep.session == x->a.session;
	cl_fill(x->buf, PAGE, 1000);
	ok = ok && !rc_rdma(&c, false, c.rep.rdma_addr, c.rep.rdma_rkey, PAGE) &&
	     !memcmp(c.buf + RC_DATA, x->buf, PAGE);
	rc_close(&c);
	return ok;
}

/* An RDMA access outside what the connection may reach fails remotely. */
static bool rdma_refused(struct ctx *x, uint64_t session, uint64_t size, bool own_rkey,
			 uint64_t raddr_off, uint32_t len)
{
	struct wire_hello h = hello_of(x, size, session);
	uint64_t base;
	uint32_t rkey;
	struct rc c;
	int st;

	if (rc_connect(&c, x->o->addr, x->o->port))
		return false;
	if (rc_hello(&c, &h) || !expect_status((int)c.rep.status, 0, "HELLO")) {
		rc_close(&c);
		return false;
	}
	/* Session A's address, with this connection's rkey or with A's. */
	base = x->a.rdma_addr;
	rkey = own_rkey ? c.rep.rdma_rkey : x->a.rdma_rkey;
	st = rc_rdma(&c, false, base + raddr_off, rkey, len);
	rc_close(&c);
	if (st != IBV_WC_REM_ACCESS_ERR) {
		tap_diag("RDMA READ gave %s, want %s", st < 0 ? "nothing" :
			 ibv_wc_status_str((enum ibv_wc_status)st),
			 ibv_wc_status_str(IBV_WC_REM_ACCESS_ERR));
		return false;
	}
	return true;
}

static bool r_bounds(struct ctx *x)
{
	uint64_t size = x->a.region_size;

	/* Same session, own rkey: across the end, and just past it. */
	return rdma_refused(x, x->a.session, size, true, size - PAGE, 2 * PAGE) &&
	       rdma_refused(x, x->a.session, size, true, size, PAGE);
}

static bool r_isolated(struct ctx *x)
{
	/* Another session's connection, with A's rkey, then with its own. */
	return rdma_refused(x, 0, PAGE, false, 0, PAGE) &&
	       rdma_refused(x, 0, x->a.region_size, true, 0, PAGE);
}

/* A refused HELLO over RDMA: the reply says why, then vmd disconnects. */
static bool rdma_refused_hello(struct ctx *x, const void *msg, size_t len, int want)
{
	struct rc c;
	bool ok;

	if (rc_connect(&c, x->o->addr, x->o->port))
		return false;
	memcpy(c.buf + RC_MSG_SEND, msg, len);
	ok = !rc_hello_raw(&c, len) && expect_status((int)c.rep.status, want, "HELLO") &&
	     c.rep.reason[0] && !rc_wait_event(&c, RDMA_CM_EVENT_DISCONNECTED);
	if (c.rep.reason[0])
		tap_diag("reason: %s", c.rep.reason);
	rc_close(&c);
	return ok;
}

static bool r_refusals(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->o->size, 0);
	unsigned char msg[WIRE_HELLO_MSG_SIZE];
	bool ok;

	wire_hello_msg(&h, 1, msg);
	msg[1] ^= 0xff;		/* magic */
	ok = rdma_refused_hello(x, msg, sizeof(msg), EMP_WIRE_EINVAL);
	ok = ok && rdma_refused_hello(x, msg, 20, EMP_WIRE_EINVAL);
	h.major = EMP_WIRE_MAJOR + 1;
	wire_hello_msg(&h, 1, msg);
	ok = ok && rdma_refused_hello(x, msg, sizeof(msg), EMP_WIRE_EVERSION);
	h = hello_of(x, 1ULL << 50, 0);
	wire_hello_msg(&h, 1, msg);
	ok = ok && rdma_refused_hello(x, msg, sizeof(msg), EMP_WIRE_ENOMEM);
	if (x->o->secret) {
		h = hello_of(x, x->o->size, 0);
		h.secret[0] ^= 1;
		wire_hello_msg(&h, 1, msg);
		ok = ok && rdma_refused_hello(x, msg, sizeof(msg), EMP_WIRE_EAUTH);
	}
	return ok;
}

/*
 * Random bytes and mutated HELLOs over SEND, some longer than vmd receives:
 * never accepted, and vmd serves a good client afterwards.
 */
static bool r_fuzz(struct ctx *x)
{
	struct wire_hello h = hello_of(x, PAGE, 0);
	unsigned char msg[2048];
	uint64_t rng = 0x5eed;
	unsigned int i, refused = 0;
	struct rc c;
	size_t len;

	for (i = 0; i < 32; i++) {
		if (i % 2) {
			len = 1 + cl_rand(&rng) % (i % 8 == 7 ? sizeof(msg) : 1100);
			cl_fill(msg, len, cl_rand(&rng));
			msg[0] = 0;	/* never the magic */
		} else {
			len = wire_hello_msg(&h, 1, msg);
			msg[cl_rand(&rng) % 4] ^= (unsigned char)(1 + cl_rand(&rng) % 255);
		}
		if (rc_connect(&c, x->o->addr, x->o->port))
			return false;
		memcpy(c.buf + RC_MSG_SEND, msg, len);
		/* A refusal, or no answer at all for what does not fit. */
		if (rc_hello_raw(&c, len) || c.rep.status != EMP_WIRE_OK)
			refused++;
		rc_close(&c);
	}
	if (refused != i)
		return tap_diag("%u of %u bad HELLOs accepted", i - refused, i), false;
	if (rc_connect(&c, x->o->addr, x->o->port))
		return false;
	refused = rc_hello(&c, &h) || c.rep.status != EMP_WIRE_OK;
	rc_close(&c);
	return !refused;
}

/* One session, both transports: TCP joins and sees what RDMA wrote. */
static bool r_tcp_join(struct ctx *x)
{
	struct wire_hello h = hello_of(x, x->a.region_size, x->a.session);
	struct wire_hello_reply r;
	uint64_t last = x->a.region_size - PAGE;
	bool ok;
	int fd;

	fd = tcp_hello(x, &h, &r);
	if (fd < 0)
		return false;
	cl_fill(x->buf, PAGE, 1003);
	ok = expect_status((int)r.status, 0, "TCP join") &&
	     cl_io(fd, EMP_WIRE_READ, 1, last, PAGE, x->buf2) == 0 &&
	     !memcmp(x->buf, x->buf2, PAGE);
	close(fd);
	return ok;
}

static bool r_close(struct ctx *x)
{
	rc_close(&x->rc);
	return true;
}

enum { TCP = 1, RDMA = 2, SECRET = 4, BOTH = 8 };
static const struct check {
	bool (*fn)(struct ctx *x);
	unsigned int when;
	const char *name;
} checks[] = {
	{ t_hello, TCP, "tcp: HELLO opens a session of the size asked" },
	{ t_zero, TCP, "tcp: a new region reads as zeros" },
	{ t_write_read, TCP, "tcp: patterns written read back (4K..1M, last page)" },
	{ t_pipeline, TCP, "tcp: 32 pipelined requests answered in order" },
	{ t_join, TCP, "tcp: a second connection joins the session and sees its data" },
	{ t_bounds, TCP, "tcp: READ/WRITE outside the region get ERANGE, nothing written" },
	{ t_misaligned, TCP, "tcp: misaligned offset or length: EINVAL, closed" },
	{ t_oversized, TCP, "tcp: io_len 0 or above EMP_WIRE_MAX_IO, READ payload: EINVAL" },
	{ t_bad_magic, TCP, "tcp: bad magic: EINVAL, closed" },
	{ t_reserved, TCP, "tcp: nonzero reserved field in HELLO: EINVAL" },
	{ t_version, TCP, "tcp: another major: EVERSION naming both versions" },
	{ t_minor, TCP, "tcp: a newer minor is accepted" },
	{ t_join_size, TCP, "tcp: join with the wrong size: EINVAL" },
	{ t_join_unknown, TCP, "tcp: join of an unknown session: ENOENT" },
	{ t_enomem, TCP, "tcp: more than the pool: ENOMEM with a reason" },
	{ t_no_secret, TCP | SECRET, "tcp: no secret: EAUTH" },
	{ t_wrong_secret, TCP | SECRET, "tcp: wrong or longer secret: EAUTH" },
	{ t_isolated, TCP, "tcp: another session is a separate zeroed region" },
	{ t_freed, TCP, "tcp: the session goes with its last connection" },
	{ r_hello, RDMA, "rdma: HELLO over SEND gives a region, address and rkey" },
	{ r_zero, RDMA, "rdma: the new region reads as zeros (RDMA READ)" },
	{ r_write_read, RDMA, "rdma: RDMA WRITE then READ round trips (4K..1M, last page)" },
	{ r_join, RDMA, "rdma: a second QP joins with its own rkey and sees the data" },
	{ r_bounds, RDMA, "rdma: access beyond the region fails (remote access error)" },
	{ r_isolated, RDMA, "rdma: another session's QP cannot reach this region" },
	{ r_refusals, RDMA, "rdma: bad magic, short, EVERSION, ENOMEM, EAUTH replies then disconnect" },
	{ r_fuzz, RDMA, "rdma: 32 random or mutated HELLOs refused, vmd still serves" },
	{ r_tcp_join, RDMA | BOTH, "rdma+tcp: a TCP connection joins the RDMA session" },
	{ r_close, RDMA, "rdma: disconnect" },
};

static bool applies(const struct check *c, const struct opts *o)
{
	if ((c->when & SECRET) && !o->secret)
		return false;
	if ((c->when & BOTH) && !o->also_tcp)
		return false;
	return (c->when & (o->rdma ? RDMA : TCP)) != 0;
}

/* --hello: one HELLO, its answer on stdout; exit 0 only when accepted. */
static void print_reply(const struct wire_hello_reply *r)
{
	printf("%s session %016llx size %llu%s%s\n", wire_status_name(r->status),
	       (unsigned long long)r->session, (unsigned long long)r->region_size,
	       r->reason[0] ? ": " : "", r->reason);
	fflush(stdout);
}

static int hello_only(const struct opts *o)
{
	struct wire_hello h;
	struct wire_hello_reply r;
	struct rc c;
	int fd;

	cl_hello_init(&h, o->size, 0, o->secret, "vmd-client");
	if (o->rdma) {
		if (rc_connect(&c, o->addr, o->port))
			return 1;
		if (rc_hello(&c, &h)) {
			rc_close(&c);
			return 1;
		}
		r = c.rep;
		print_reply(&r);
		if (!r.status)
			sleep(o->hold);
		rc_close(&c);
	} else {
		fd = cl_connect(o->addr, o->port);
		if (fd < 0)
			return 1;
		if (cl_hello(fd, &h, &r)) {
			fprintf(stderr, "vmd-client: no HELLO_REPLY\n");
			close(fd);
			return 1;
		}
		print_reply(&r);
		if (!r.status)
			sleep(o->hold);
		close(fd);
	}
	return r.status != EMP_WIRE_OK;
}

static const char usage[] =
"usage: vmd-client [--rdma [--also-tcp]] [--secret S] [--size MiB] ADDRESS [PORT]\n"
"       vmd-client --hello [--hold S] [--rdma] [--secret S] [--size MiB] ADDRESS [PORT]\n"
"Test a running vmd: HELLO, write and read back patterns, check refusals.\n"
"Prints TAP; exit status 0 when every check passed. --hello sends one HELLO\n"
"and prints the answer; --hold keeps the session S seconds more. --secret\n"
"must be the one vmd has, if any. --also-tcp: vmd serves TCP on the same\n"
"port too. Default size 8 MiB, port 19675.\n";

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rdma", no_argument, NULL, 'r' },
		{ "also-tcp", no_argument, NULL, 't' },
		{ "secret", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'm' },
		{ "hello", no_argument, NULL, 'H' },
		{ "hold", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct opts o = { .port = EMP_WIRE_PORT, .size = 8 * MiB };
	struct ctx x = { .o = &o, .fd = -1 };
	unsigned int n = 0;
	size_t i;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o.rdma = true; break;
		case 't': o.also_tcp = true; break;
		case 's': o.secret = optarg; break;
		case 'm': o.size = strtoull(optarg, NULL, 10) * MiB; break;
		case 'H': o.hello_only = true; break;
		case 'w': o.hold = (unsigned int)atoi(optarg); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind >= argc || argc - optind > 2 || !o.size || o.size > 1ULL << 40) {
		fputs(usage, stderr);
		return 2;
	}
	o.addr = argv[optind];
	if (argc - optind == 2)
		o.port = (uint16_t)atoi(argv[optind + 1]);
	if (o.secret && (!*o.secret || strlen(o.secret) > EMP_WIRE_SECRET_MAX)) {
		fprintf(stderr, "vmd-client: the secret must have 1..%d bytes\n", EMP_WIRE_SECRET_MAX);
		return 2;
	}
	if (o.hello_only)
		return hello_only(&o);

	x.buf = malloc(EMP_WIRE_MAX_IO);
	x.buf2 = malloc(EMP_WIRE_MAX_IO);
	if (!x.buf || !x.buf2)
		return 1;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		n += applies(&checks[i], &o);
	tap_plan(n);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		struct timespec t0, t1;
		bool ok;

		if (!applies(&checks[i], &o))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ok = checks[i].fn(&x);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		tap_result(ok, "%s (%ld ms)", checks[i].name,
			   (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
	rc = tap_done();
	if (x.fd >= 0)
		close(x.fd);
	rc_close(&x.rc);
	free(x.buf);
	free(x.buf2);
	return rc;
}
