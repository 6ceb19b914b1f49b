// SPDX-License-Identifier: GPL-2.0
/*
 * vmd's TCP transport: one thread per connection, blocking sockets.
 *
 * The main thread accepts and reaps; a connection thread reads a message,
 * checks it, answers it, and so on until the peer closes or sends
 * something malformed. Every READ/WRITE is checked against the session's
 * region before the region is touched.
 *
 * The connections of one session (a client opens several, one per queue)
 * run in parallel on its region with no lock on the data: the region's
 * address and size never change while a connection holds the session, a
 * request touches only its checked range, and a client orders requests
 * on one range itself (it waits for a reply before it reuses the range).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vmd.h"

struct tcp_conn {
	int fd;			/* closed by the main thread after the join */
	pthread_t thread;
	bool done;		/* the thread has finished; under conns_lock */
	struct vmd_peer peer;	/* the thread's own */
	struct tcp_conn *next;	/* under conns_lock */
};

static int listen_fd = -1;
static int reap_fd = -1;	/* eventfd: a connection thread finished */
static bool accept_paused;	/* out of descriptors: retry at the next tick */
/* conns_lock protects the conns list and each done; taken after no other lock. */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tcp_conn *conns;

/* Read exactly @len bytes. Return: 0, 1 at a clean EOF before any byte, -1. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(fd, (char *)buf + done, len - done, 0);

		if (n > 0) {
			done += (size_t)n;
		} else if (n == 0) {
			return done ? -1 : 1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

static int send_iov(int fd, struct iovec *iov, int cnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };

	while (msg.msg_iovlen) {
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && msg.msg_iovlen) {
			size_t k = (size_t)n < msg.msg_iov->iov_len ? (size_t)n : msg.msg_iov->iov_len;

			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + k;
			msg.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (!msg.msg_iov->iov_len) {
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
		}
	}
	return 0;
}

static int send_reply(int fd, const struct wire_hdr *req, uint32_t status,
		      const void *data)
{
	struct wire_hdr h = wire_hdr_init(EMP_WIRE_REPLY, req->tag);
	unsigned char hb[EMP_WIRE_HDR_SIZE];
	struct iovec iov[2] = { { hb, sizeof(hb) } };

	h.status = status;
	h.offset = req->offset;
	h.io_len = req->io_len;
	if (data) {
		h.length = req->io_len;
		iov[1] = (struct iovec){ (void *)data, req->io_len };
	}
	wire_hdr_pack(&h, hb);
	return send_iov(fd, iov, data ? 2 : 1);
}

static int send_hello_reply(int fd, const struct wire_hello_reply *rep)
{
	unsigned char buf[WIRE_REPLY_MSG_SIZE];
	struct iovec iov = { buf, wire_reply_msg(rep, buf) };

	return send_iov(fd, &iov, 1);
}

static void set_rcvtimeo(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Read and drop @len bytes. Return: 0 or -1. */
static int drain(int fd, size_t len)
{
	char buf[16384];

	while (len) {
		size_t k = len < sizeof(buf) ? len : sizeof(buf);

		if (read_full(fd, buf, k))
			return -1;
		len -= k;
	}
	return 0;
}

/*
 * After refusing: stop sending, then read what the peer still sends (for a
 * second at most) before closing, so our answer is not lost to a reset.
 */
static void linger_close(int fd)
{
	struct timespec start, now;
	char buf[16384];

	shutdown(fd, SHUT_WR);
	set_rcvtimeo(fd, 1);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (recv(fd, buf, sizeof(buf), 0) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= 1)
			break;
	}
}

/* Answer one connection until it closes or misbehaves. */
static void serve(struct tcp_conn *c)
{
	unsigned char hb[EMP_WIRE_HDR_SIZE], *payload = NULL;
	struct vmd_session *s = NULL;
	struct wire_hello_reply rep;
	struct wire_hdr h;
	const char *why;
	int one = 1, st, r;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A silent client holds a thread only so long: HELLO within a bound, ... */
	set_rcvtimeo(c->fd, VMD_HELLO_TIMEOUT);
	/* ... and a vanished peer is found by keepalive probes afterwards. */
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));

	for (;;) {
		r = read_full(c->fd, hb, sizeof(hb));
		if (r) {
			if (!s && r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				vmd_log("tcp %s: no HELLO within %d s, closed", c->peer.addr,
					VMD_HELLO_TIMEOUT);
			else if (r < 0)
				vmd_dbg("tcp %s: connection lost in a message", c->peer.addr);
			break;
		}
		wire_hdr_unpack(hb, &h);
		st = wire_check_request(&h, s != NULL, &why);
		if (st != EMP_WIRE_OK) {
			vmd_log_refused(&c->peer, (uint32_t)st, why);
			if (!s) {
				wire_reply_refuse(&rep, (uint32_t)st, why);
				send_hello_reply(c->fd, &rep);
			} else {
				send_reply(c->fd, &h, (uint32_t)st, NULL);
			}
			linger_close(c->fd);
			break;
		}

		switch (h.op) {
		case EMP_WIRE_HELLO:
			payload = malloc(h.length);
			if (!payload || read_full(c->fd, payload, h.length)) {
				vmd_dbg("tcp %s: HELLO cut short", c->peer.addr);
				goto out;
			}
			s = vmd_hello(&c->peer, payload, h.length, &rep);
			free(payload);
			payload = NULL;
			if (send_hello_reply(c->fd, &rep) || !s) {
				if (!s)
					linger_close(c->fd);
				goto out;
			}
			set_rcvtimeo(c->fd, 0);
			break;
		case EMP_WIRE_READ:
			st = wire_check_range(h.offset, h.io_len, s->size);
			if (st != EMP_WIRE_OK)
				vmd_dbg("tcp %s: READ outside the region", c->peer.addr);
			if (send_reply(c->fd, &h, (uint32_t)st,
				       st ? NULL : (char *)s->mem + h.offset))
				goto out;
			break;
		case EMP_WIRE_WRITE:
			st = wire_check_range(h.offset, h.io_len, s->size);
			if (st != EMP_WIRE_OK) {
				vmd_dbg("tcp %s: WRITE outside the region", c->peer.addr);
				r = drain(c->fd, h.io_len);
			} else {
				r = read_full(c->fd, (char *)s->mem + h.offset, h.io_len);
			}
			if (r || send_reply(c->fd, &h, (uint32_t)st, NULL))
				goto out;
			break;
		}
	}
out:
	free(payload);
	if (s)
		vmd_session_put(s, &c->peer);
}

static void *conn_thread(void *arg)
{
	struct tcp_conn *c = arg;
	uint64_t one = 1;

	serve(c);
	vmd_conn_put();
	pthread_mutex_lock(&conns_lock);
	c->done = true;
	pthread_mutex_unlock(&conns_lock);
	if (write(reap_fd, &one, sizeof(one)) < 0)
		vmd_log("error: cannot wake the main thread: %s", strerror(errno));
	return NULL;
}

/* Join finished connection threads (all of them if @all, after a shutdown). */
static void reap(bool all)
{
	struct tcp_conn *done = NULL, **pp, *c;

	pthread_mutex_lock(&conns_lock);
	for (pp = &conns; (c = *pp); ) {
		if (c->done || all) {
			*pp = c->next;
			c->next = done;
			done = c;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&conns_lock);
	while ((c = done)) {
		done = c->next;
		pthread_join(c->thread, NULL);
		close(c->fd);
		free(c);
	}
}

static void accept_all(void)
{
	struct sockaddr_storage ss;
	struct tcp_conn *c;
	socklen_t sl;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				vmd_log("tcp: cannot accept: %s; retrying in a second", strerror(errno));
				accept_paused = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				   errno != ECONNABORTED) {
				vmd_log("tcp: accept: %s", strerror(errno));
			}
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer.transport = "tcp";
		strcpy(c->peer.name, "-");
		vmd_format_addr(&ss, c->peer.addr, sizeof(c->peer.addr));
		if (!vmd_conn_get()) {
			char msg[64];

			snprintf(msg, sizeof(msg), "at the limit of %u connections",
				 vmd_cfg.max_conns);
			vmd_log_refused(&c->peer, EMP_WIRE_ENOMEM, msg);
			close(fd);
			free(c);
			continue;
		}
		vmd_dbg("tcp %s: accepted", c->peer.addr);
		pthread_mutex_lock(&conns_lock);
		if (pthread_create(&c->thread, NULL, conn_thread, c)) {
			pthread_mutex_unlock(&conns_lock);
			vmd_log("tcp %s: cannot start a thread; closed", c->peer.addr);
			vmd_conn_put();
			close(fd);
			free(c);
			continue;
		}
		c->next = conns;
		conns = c;
		pthread_mutex_unlock(&conns_lock);
	}
}

static int tcp_start(void)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	const struct sockaddr *sa;
	socklen_t sl;
	char port[8], name[64];
	int one = 1, zero = 0, err;

	snprintf(port, sizeof(port), "%u", vmd_cfg.port);
	if (vmd_cfg.address) {
		err = getaddrinfo(vmd_cfg.address, port, &hints, &ai);
		if (err) {
			vmd_log("error: tcp: address %s: %s", vmd_cfg.address, gai_strerror(err));
			return -1;
		}
		sa = ai->ai_addr;
		sl = ai->ai_addrlen;
	} else {
		/* All addresses, v6 and v4 on one socket where v6 exists. */
		any6.sin6_port = htons(vmd_cfg.port);
		any4.sin_port = htons(vmd_cfg.port);
		sa = (const struct sockaddr *)&any6;
		sl = sizeof(any6);
	}
	listen_fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0 && !vmd_cfg.address && errno == EAFNOSUPPORT) {
		sa = (const struct sockaddr *)&any4;
		sl = sizeof(any4);
		listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (listen_fd < 0) {
		vmd_log("error: tcp: socket: %s", strerror(errno));
		goto out_free;
	}
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6 && !vmd_cfg.address)
		setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(listen_fd, sa, sl) || listen(listen_fd, 128)) {
		vmd_log("error: tcp: cannot listen on %s: %s",
			vmd_format_addr(sa, name, sizeof(name)), strerror(errno));
		goto out_close;
	}
	reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (reap_fd < 0) {
		vmd_log("error: tcp: eventfd: %s", strerror(errno));
		goto out_close;
	}
	vmd_log("tcp: listening on %s", vmd_format_addr(sa, name, sizeof(name)));
	if (ai)
		freeaddrinfo(ai);
	return 0;

out_close:
	close(listen_fd);
	listen_fd = -1;
out_free:
	if (ai)
		freeaddrinfo(ai);
	return -1;
}

static int tcp_fds(struct pollfd *pfd, int room)
{
	if (room < 2)
		return 0;
	pfd[0] = (struct pollfd){ .fd = accept_paused ? -1 : listen_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = reap_fd, .events = POLLIN };
	return 2;
}

static void tcp_handle(const struct pollfd *pfd, int n)
{
	uint64_t cnt;

	if (n < 2)
		return;
	if (pfd[1].revents & POLLIN) {
		if (read(reap_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			vmd_log("tcp: eventfd: %s", strerror(errno));
		reap(false);
	}
	if (pfd[0].revents & POLLIN)
		accept_all();
}

static void tcp_tick(void)
{
	accept_paused = false;
}

static void tcp_stop(void)
{
	struct tcp_conn *c;
	unsigned int n = 0;

	if (listen_fd < 0)
		return;
	close(listen_fd);
	listen_fd = -1;
	/* Wake every thread: its next read or write fails, it cleans up and ends. */
	pthread_mutex_lock(&conns_lock);
	for (c = conns; c; c = c->next)
		n += !c->done;
	if (n)
		vmd_log("tcp: closing %u connection%s", n, n == 1 ? "" : "s");
	for (c = conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&conns_lock);
	reap(true);
	close(reap_fd);
	reap_fd = -1;
}

const struct vmd_transport vmd_tcp = {
	.name = "tcp",
	.start = tcp_start,
	.fds = tcp_fds,
	.handle = tcp_handle,
	.tick = tcp_tick,
	.stop = tcp_stop,
};
