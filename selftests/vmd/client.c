// SPDX-License-Identifier: GPL-2.0
/* client: a TCP client of the EMP wire protocol and TAP output (see client.h). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "client.h"

int cl_connect(const char *addr, uint16_t port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct timeval tv = { .tv_sec = CL_TIMEOUT };
	struct addrinfo *ai, *p;
	char ps[8];
	int fd = -1, one = 1, err;

	snprintf(ps, sizeof(ps), "%u", port);
	err = getaddrinfo(addr, ps, &hints, &ai);
	if (err) {
		fprintf(stderr, "# %s: %s\n", addr, gai_strerror(err));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!connect(fd, p->ai_addr, p->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		fprintf(stderr, "# connect to %s port %u: %s\n", addr, port, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int cl_send(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int cl_recv(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(fd, (char *)buf + done, len - done, 0);

		if (n > 0)
			done += (size_t)n;
		else if (n == 0)
			return done ? -1 : 1;
		else if (errno != EINTR)
			return -1;
	}
	return 0;
}

bool cl_closed(int fd)
{
	char buf[4096];
	ssize_t n;

	/* Anything vmd still sends before closing is read and dropped. */
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return true;
		if (n < 0)
			return errno == ECONNRESET;
	}
}

void cl_hello_init(struct wire_hello *h, uint64_t size, uint64_t session,
		   const char *secret, const char *name)
{
	memset(h, 0, sizeof(*h));
	h->major = EMP_WIRE_MAJOR;
	h->minor = EMP_WIRE_MINOR;
	h->region_size = size;
	h->session = session;
	if (secret) {
		h->secret_len = (uint32_t)strnlen(secret, EMP_WIRE_SECRET_MAX);
		memcpy(h->secret, secret, h->secret_len);
	}
	/* NUL-padded, not necessarily NUL-terminated. */
	if (name)
		memcpy(h->client, name, strnlen(name, sizeof(h->client)));
}

int cl_hello_raw(int fd, const void *msg, size_t len, struct wire_hello_reply *rep)
{
	unsigned char buf[WIRE_REPLY_MSG_SIZE];
	struct wire_hdr h;

	if (cl_send(fd, msg, len) || cl_recv(fd, buf, sizeof(buf)))
		return -1;
	wire_hdr_unpack(buf, &h);
	wire_reply_unpack(buf + EMP_WIRE_HDR_SIZE, rep);
	if (h.magic != EMP_WIRE_MAGIC || h.op != EMP_WIRE_HELLO_REPLY ||
	    h.length != EMP_WIRE_HELLO_REPLY_SIZE || h.status != rep->status ||
	    rep->major != EMP_WIRE_MAJOR || memchr(rep->reason, 0, sizeof(rep->reason)) == NULL) {
		fprintf(stderr, "# malformed HELLO_REPLY (op %u, length %u)\n", h.op, h.length);
		return -1;
	}
	return 0;
}

int cl_hello(int fd, const struct wire_hello *h, struct wire_hello_reply *rep)
{
	unsigned char buf[WIRE_HELLO_MSG_SIZE];

	return cl_hello_raw(fd, buf, wire_hello_msg(h, 1, buf), rep);
}

int cl_io_send(int fd, uint16_t op, uint64_t tag, uint64_t off, uint32_t len, const void *data)
{
	struct wire_hdr h = wire_hdr_init(op, tag);
	unsigned char hb[EMP_WIRE_HDR_SIZE];

	h.offset = off;
	h.io_len = len;
	h.length = op == EMP_WIRE_WRITE ? len : 0;
	wire_hdr_pack(&h, hb);
	if (cl_send(fd, hb, sizeof(hb)))
		return -1;
	if (op == EMP_WIRE_WRITE && cl_send(fd, data, len))
		return -1;
	return 0;
}

int cl_io_recv(int fd, uint16_t op, uint64_t tag, uint32_t len, void *data)
{
	unsigned char hb[EMP_WIRE_HDR_SIZE];
	struct wire_hdr h;
	uint32_t want;

	if (cl_recv(fd, hb, sizeof(hb)))
		return -1;
	wire_hdr_unpack(hb, &h);
	want = op == EMP_WIRE_READ && h.status == EMP_WIRE_OK ? len : 0;
	if (h.magic != EMP_WIRE_MAGIC || h.op != EMP_WIRE_REPLY || h.tag != tag ||
	    h.length != want || h.flags || h.reserved) {
		fprintf(stderr, "# malformed REPLY (op %u, tag %llu want %llu, length %u want %u)\n",
			h.op, (unsigned long long)h.tag, (unsigned long long)tag, h.length, want);
		return -1;
	}
	if (want && cl_recv(fd, data, want))
		return -1;
	return (int)h.status;
}

int cl_io(int fd, uint16_t op, uint64_t tag, uint64_t off, uint32_t len, void *data)
{
	if (cl_io_send(fd, op, tag, off, len, data))
		return -1;
	return cl_io_recv(fd, op, tag, len, data);
}

uint64_t cl_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void cl_fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t st = seed, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = cl_rand(&st);
		p[i] = (unsigned char)(v >> (i % 8 * 8));
	}
}

static unsigned int tap_planned, tap_n, tap_failed;

void tap_plan(unsigned int n)
{
	tap_planned = n;
	printf("TAP version 13\n1..%u\n", n);
	fflush(stdout);
}

void tap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %u ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int tap_done(void)
{
	if (tap_n != tap_planned)
		tap_diag("planned %u tests, ran %u", tap_planned, tap_n);
	return tap_failed || tap_n != tap_planned;
}
