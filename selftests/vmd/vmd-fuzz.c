// SPDX-License-Identifier: GPL-2.0
/*
 * vmd-fuzz: feed a running vmd (TCP) bad messages over many connections:
 * random bytes, truncated messages, every header and HELLO field broken in
 * turn, oversized lengths, requests outside the region, and randomly
 * mutated good messages. Each bad message must be refused (an error reply
 * or the connection closed); none may be accepted. Afterwards vmd must still
 * serve a connection opened before the fuzzing and a new client, and, with
 * --pool, have its whole pool free again. Prints TAP.
 *
 *   vmd-fuzz [--count N] [--threads N] [--seed N] [--secret S] [--pool MiB] ADDRESS PORT
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define PAGE		EMP_WIRE_IO_ALIGN
#define HOLD_SIZE	(64 * PAGE)	/* the session fuzz connections join */

static const char *addr, *secret;
static uint16_t port;
static struct wire_hello_reply hold;	/* the holder's session */

struct worker {
	pthread_t thread;
	uint64_t rng;
	unsigned long todo;	/* bad messages to send */
	unsigned long bad;	/* bad messages sent */
	unsigned long range;	/* of which well-formed but outside the region */
	unsigned long mutated;	/* mutated good messages (any answer allowed) */
	unsigned long conns;
	unsigned long failures;
	unsigned char *data;	/* 4 pages of request data */
	char first_failure[160];
};

static void fail(struct worker *w, const char *what, int st)
{
	if (!w->failures++)
		snprintf(w->first_failure, sizeof(w->first_failure), "%s: got %s (%d)", what,
			 st < 0 ? "no answer, vmd neither replied nor closed" :
			 wire_status_name((uint32_t)st), st);
}

static uint32_t rnd(struct worker *w, uint32_t n)
{
	return (uint32_t)(cl_rand(&w->rng) % n);
}

static void good_hello(struct wire_hello *h, uint64_t session)
{
	cl_hello_init(h, HOLD_SIZE, session, secret, "vmd-fuzz");
}

/*
 * After a refused HELLO: a HELLO_REPLY that is not OK, then the close.
 * Return: the status, or -1 when nothing sensible came.
 */
static int refused_hello_reply(int fd)
{
	unsigned char buf[WIRE_REPLY_MSG_SIZE];
	struct wire_hello_reply r;
	struct wire_hdr h;

	if (cl_recv(fd, buf, sizeof(buf)))
		return -1;
	wire_hdr_unpack(buf, &h);
	wire_reply_unpack(buf + EMP_WIRE_HDR_SIZE, &r);
	if (h.magic != EMP_WIRE_MAGIC || h.op != EMP_WIRE_HELLO_REPLY || h.status != r.status)
		return -1;
	if (r.status != EMP_WIRE_OK && !cl_closed(fd))
		return -1;
	return (int)r.status;
}

/* Random bytes, or a good HELLO cut short, then end of data: vmd closes. */
static void f_garbage(struct worker *w, int fd)
{
	unsigned char msg[600];
	struct wire_hello h;
	bool random = rnd(w, 2);
	size_t len;
	int st;

	if (random) {
		len = 1 + rnd(w, sizeof(msg));
		cl_fill(msg, len, cl_rand(&w->rng));
		if (len >= 4 && msg[0] == 0x45 && msg[1] == 0x4d && msg[2] == 0x50)
			msg[0] = 0;	/* never the magic by chance */
	} else {
		good_hello(&h, 0);
		wire_hello_msg(&h, 1, msg);
		len = rnd(w, WIRE_HELLO_MSG_SIZE);	/* 0..183 bytes */
	}
	w->bad++;
	if (cl_send(fd, msg, len) && errno != EPIPE && errno != ECONNRESET)
		return fail(w, "send garbage", -1);
	shutdown(fd, SHUT_WR);
	/* Random bytes enough for a header get a refusal; the rest just a close. */
	if (random && len >= EMP_WIRE_HDR_SIZE) {
		st = refused_hello_reply(fd);
		if (st <= 0)
			fail(w, "random bytes", st);
	} else if (!cl_closed(fd)) {
		fail(w, "truncated HELLO", -1);
	}
}

/* A HELLO with one field broken: refused with the matching status. */
static void f_bad_hello(struct worker *w, int fd)
{
	unsigned char msg[EMP_WIRE_HDR_SIZE + WIRE_HELLO_MAX_LEN + 64];
	struct wire_hello h;
	struct wire_hdr hd = wire_hdr_init(EMP_WIRE_HELLO, cl_rand(&w->rng));
	uint32_t plen = EMP_WIRE_HELLO_SIZE, nfields = secret ? 17 : 16;
	int want = EMP_WIRE_EINVAL, st;
	bool full = true;

	good_hello(&h, 0);
	switch (rnd(w, nfields)) {
	case 0: hd.magic = (uint32_t)cl_rand(&w->rng) | 1; if (hd.magic == EMP_WIRE_MAGIC) hd.magic++; break;
	case 1: do hd.op = (uint16_t)cl_rand(&w->rng); while (hd.op == EMP_WIRE_HELLO); break;
	case 2: hd.flags = (uint16_t)(1 + rnd(w, 0xffff)); break;
	case 3: hd.status = 1 + rnd(w, 100); break;
	case 4: hd.reserved = 1 + (uint32_t)cl_rand(&w->rng) % 0xfffffffe; break;
	case 5: hd.offset = PAGE * (1 + rnd(w, 100)); break;
	case 6: hd.io_len = PAGE * (1 + rnd(w, 100)); break;
	case 7: /* oversized, never followed by that many bytes */
		hd.length = WIRE_HELLO_MAX_LEN + 1 + (uint32_t)(cl_rand(&w->rng) % 0xfffffbfe);
		full = false;
		break;
	case 8: hd.length = 0; full = false; break;
	case 9: /* other sizes of a major-1 HELLO */
		plen = 2 + rnd(w, WIRE_HELLO_MAX_LEN - 1);
		if (plen == EMP_WIRE_HELLO_SIZE)
			plen++;
		break;
	case 10: do h.major = (uint16_t)cl_rand(&w->rng); while (h.major == EMP_WIRE_MAJOR);
		want = EMP_WIRE_EVERSION; break;
	case 11: h.flags = 1 + rnd(w, 1000); break;
	case 12: h.reserved0 = 1 + rnd(w, 1000); break;
	case 13: h.reserved[rnd(w, 2)] = 1 + cl_rand(&w->rng) % 1000; break;
	case 14: h.secret_len = EMP_WIRE_SECRET_MAX + 1 + rnd(w, 1000); break;
	case 15: h.region_size = rnd(w, 2) ? 0 : HOLD_SIZE + 1 + rnd(w, PAGE - 1); break;
	case 16: h.secret[rnd(w, h.secret_len)] ^= (unsigned char)(1 + rnd(w, 255));
		want = EMP_WIRE_EAUTH; break;
	}
	if (full)
		hd.length = plen;
	cl_fill(msg + EMP_WIRE_HDR_SIZE, sizeof(msg) - EMP_WIRE_HDR_SIZE, cl_rand(&w->rng));
	wire_hello_pack(&h, msg + EMP_WIRE_HDR_SIZE);
	wire_hdr_pack(&hd, msg);
	w->bad++;
	if (cl_send(fd, msg, EMP_WIRE_HDR_SIZE + (full ? plen : 0)))
		return fail(w, "send HELLO", -1);
	st = refused_hello_reply(fd);
	if (st != want)
		fail(w, "broken HELLO", st);
}

/* A good HELLO with a few random bytes flipped: any answer but a crash. */
static void f_mutated(struct worker *w, int fd)
{
	unsigned char msg[WIRE_HELLO_MSG_SIZE];
	struct wire_hello h;
	unsigned int i, n = 1 + rnd(w, 4);

	good_hello(&h, rnd(w, 2) ? hold.session : 0);
	wire_hello_msg(&h, 1, msg);
	for (i = 0; i < n; i++)
		msg[rnd(w, sizeof(msg))] ^= (unsigned char)(1 + rnd(w, 255));
	w->mutated++;
	if (!cl_send(fd, msg, sizeof(msg)))
		shutdown(fd, SHUT_WR);
	cl_closed(fd);
}

/* Join the holder's session, then requests: good ones, out-of-range ones, one broken. */
static void f_session(struct worker *w, int fd)
{
	unsigned char hb[EMP_WIRE_HDR_SIZE], *data = w->data;
	struct wire_hello_reply r;
	struct wire_hello h;
	struct wire_hdr q;
	unsigned int i, n = rnd(w, 8);
	uint64_t tag = 1;
	bool send_payload = false, truncate = false;
	int st;

	good_hello(&h, hold.session);
	if (cl_hello(fd, &h, &r) || r.status)
		return fail(w, "join the holder's session", (int)r.status);
	for (i = 0; i < n; i++) {
		uint16_t op = rnd(w, 2) ? EMP_WIRE_READ : EMP_WIRE_WRITE;
		uint32_t len = PAGE * (1 + rnd(w, 4));
		uint64_t off;

		if (rnd(w, 2)) {	/* in range: must work */
			off = PAGE * rnd(w, HOLD_SIZE / PAGE - 4);
			st = cl_io(fd, op, tag++, off, len, data);
			if (st != EMP_WIRE_OK)
				return fail(w, "good request", st);
			continue;
		}
		switch (rnd(w, 3)) {
		case 0: off = HOLD_SIZE; break;
		case 1: off = HOLD_SIZE - PAGE; len = 2 * PAGE; break;
		default: off = (cl_rand(&w->rng) | HOLD_SIZE) & ~(uint64_t)(PAGE - 1); break;
		}
		w->bad++;
		w->range++;
		st = cl_io(fd, op, tag++, off, len, data);
		if (st != EMP_WIRE_ERANGE)
			return fail(w, "request outside the region", st);
	}

	/* The one that ends the connection. */
	q = wire_hdr_init(rnd(w, 2) ? EMP_WIRE_READ : EMP_WIRE_WRITE, cl_rand(&w->rng));
	q.io_len = PAGE;
	switch (rnd(w, 14)) {
	case 0: q.magic ^= 1u << rnd(w, 32); break;
	case 1: do q.op = (uint16_t)cl_rand(&w->rng);
		while (q.op == EMP_WIRE_READ || q.op == EMP_WIRE_WRITE); break;
	case 2: q.flags = (uint16_t)(1 + rnd(w, 0xffff)); break;
	case 3: q.status = 1 + rnd(w, 10); break;
	case 4: q.reserved = 1 + rnd(w, 0xffff); break;
	case 5: q.offset = 1 + rnd(w, PAGE - 1); break;
	case 6: q.io_len = 1 + rnd(w, PAGE - 1); break;
	case 7: q.io_len = 0; break;
	case 8: q.io_len = EMP_WIRE_MAX_IO + PAGE * (1 + rnd(w, 1 << 10)); break;
	case 9: q.op = EMP_WIRE_READ; q.length = PAGE * (1 + rnd(w, 4)); break;
	case 10: q.op = EMP_WIRE_WRITE; q.length = q.io_len + PAGE; break;
	case 11: q.op = EMP_WIRE_HELLO; q.length = EMP_WIRE_HELLO_SIZE; break;
	case 12: /* truncated header */
		truncate = true;
		break;
	default: /* WRITE whose payload never comes whole */
		q.op = EMP_WIRE_WRITE;
		q.length = q.io_len;
		truncate = send_payload = true;
		break;
	}
	if (q.op == EMP_WIRE_WRITE && q.length == 0 && !rnd(w, 2))
		q.length = q.io_len;
	wire_hdr_pack(&q, hb);
	w->bad++;
	if (truncate) {
		if (send_payload)
			st = cl_send(fd, hb, sizeof(hb)) || cl_send(fd, data, rnd(w, q.io_len));
		else
			st = cl_send(fd, hb, rnd(w, sizeof(hb)));
		shutdown(fd, SHUT_WR);
		if (st || !cl_closed(fd))
			fail(w, "truncated request", -1);
		return;
	}
	if (cl_send(fd, hb, sizeof(hb)))
		return fail(w, "send request", -1);
	/* vmd answers with the tag before it reads any payload, then closes. */
	{
		struct wire_hdr rh;

		if (cl_recv(fd, hb, sizeof(hb)))
			return fail(w, "broken request", -1);
		wire_hdr_unpack(hb, &rh);
		if (rh.magic != EMP_WIRE_MAGIC || rh.op != EMP_WIRE_REPLY || rh.tag != q.tag ||
		    rh.length || rh.status != EMP_WIRE_EINVAL)
			return fail(w, "broken request", rh.op == EMP_WIRE_REPLY ? (int)rh.status : -1);
		if (!cl_closed(fd))
			fail(w, "close after a broken request", -1);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->data = calloc(1, 4 * PAGE);
	if (!w->data) {
		fail(w, "out of memory", -1);
		return NULL;
	}
	while (w->bad < w->todo && w->failures < 10) {
		int fd = cl_connect(addr, port);

		if (fd < 0) {
			fail(w, "connect", -1);
			break;
		}
		w->conns++;
		switch (rnd(w, 10)) {
		case 0: case 1: f_garbage(w, fd); break;
		case 2: case 3: case 4: f_bad_hello(w, fd); break;
		case 5: f_mutated(w, fd); break;
		default: f_session(w, fd); break;
		}
		close(fd);
	}
	free(w->data);
	return NULL;
}

/* A new client: HELLO, write, read back, close. */
static bool good_client(uint64_t size, int *status)
{
	unsigned char a[PAGE], b[PAGE];
	struct wire_hello_reply r;
	struct wire_hello h;
	bool ok;
	int fd;

	*status = -1;
	fd = cl_connect(addr, port);
	if (fd < 0)
		return false;
	cl_hello_init(&h, size, 0, secret, "vmd-fuzz-after");
	if (cl_hello(fd, &h, &r)) {
		close(fd);
		return false;
	}
	*status = (int)r.status;
	cl_fill(a, PAGE, 99);
	ok = r.status == EMP_WIRE_OK && cl_io(fd, EMP_WIRE_WRITE, 1, size - PAGE, PAGE, a) == 0 &&
	     cl_io(fd, EMP_WIRE_READ, 2, size - PAGE, PAGE, b) == 0 && !memcmp(a, b, PAGE);
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "secret", required_argument, NULL, 'S' },
		{ "pool", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long count = 10000, bad = 0, range = 0, mutated = 0, conns = 0, failures = 0;
	unsigned long long seed = (unsigned long long)time(NULL);
	unsigned int threads = 4, i;
	uint64_t pool = 0;
	struct worker *w;
	struct wire_hello h;
	struct timespec t0, t1;
	unsigned char page[PAGE];
	bool ok;
	int hold_fd, c, st;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 't': threads = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'S': secret = optarg; break;
		case 'p': pool = strtoull(optarg, NULL, 10) << 20; break;
		default:
			fprintf(c == 'h' ? stdout : stderr, "usage: vmd-fuzz [--count N] "
				"[--threads N] [--seed N] [--secret S] [--pool MiB] ADDRESS PORT\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2 || !threads || threads > 64 || !count) {
		fprintf(stderr, "usage: vmd-fuzz [--count N] [--threads N] [--seed N] "
			"[--secret S] [--pool MiB] ADDRESS PORT\n");
		return 2;
	}
	addr = argv[optind];
	port = (uint16_t)atoi(argv[optind + 1]);
	tap_plan(pool ? 4 : 3);
	tap_diag("seed %llu (--seed to repeat), %u threads", seed, threads);

	/* The holder: a session opened before the fuzzing, kept through it. */
	hold_fd = cl_connect(addr, port);
	cl_hello_init(&h, HOLD_SIZE, 0, secret, "vmd-fuzz-holder");
	if (hold_fd < 0 || cl_hello(hold_fd, &h, &hold) || hold.status) {
		tap_diag("cannot open the holder's session (%s)", wire_status_name(hold.status));
		return 1;
	}
	cl_fill(page, PAGE, 5);
	if (cl_io(hold_fd, EMP_WIRE_WRITE, 1, HOLD_SIZE - PAGE, PAGE, page))
		return 1;

	w = calloc(threads, sizeof(*w));
	if (!w)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < threads; i++) {
		w[i].rng = seed * 0x9e3779b97f4a7c15ULL + i + 1;
		w[i].todo = count / threads + (i < count % threads);
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		bad += w[i].bad;
		range += w[i].range;
		mutated += w[i].mutated;
		conns += w[i].conns;
		failures += w[i].failures;
		if (w[i].failures)
			tap_diag("thread %u: %lu failure(s), first: %s", i, w[i].failures,
				 w[i].first_failure);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(w);
	tap_result(!failures && bad >= count,
		   "fuzz: %lu bad messages (%lu outside the region) and %lu mutated over %lu "
		   "connections in %.1f s, each refused", bad, range, mutated, conns,
		   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

	{
		unsigned char back[PAGE];

		ok = cl_io(hold_fd, EMP_WIRE_READ, 2, HOLD_SIZE - PAGE, PAGE, back) == 0 &&
		     !memcmp(page, back, PAGE);
		tap_result(ok, "fuzz: a connection opened before still works, its data intact");
	}
	close(hold_fd);
	ok = good_client(HOLD_SIZE, &st);
	tap_result(ok, "fuzz: a new client is served afterwards");
	if (pool) {
		/* Every region given back: the whole pool fits in one session. */
		for (i = 0; i < 60 && !(ok = good_client(pool, &st)); i++)
			usleep(50000);
		if (!ok)
			tap_diag("HELLO for the whole pool: %s", wire_status_name((uint32_t)st));
		tap_result(ok, "fuzz: the whole pool (%llu MiB) is free again",
			   (unsigned long long)pool >> 20);
	}
	return tap_done();
}
