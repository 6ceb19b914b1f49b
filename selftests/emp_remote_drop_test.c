// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftests of the TCP tier: one of its connections dropped under
 * load, by a reset or by a plain close, through a relay between the tier
 * and the donor (vmd, started here). Split from emp_remote_test.c, with
 * which it shares lib/emp_remote.h; TCP only, so it has no RDMA build.
 * Needs emp.ko loaded and /emp/bin/vmd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"
#include "lib/emp_remote.h"

/*
 * A relay between the TCP tier and vmd, in a child process: it forwards
 * every connection it accepts on @port to vmd on @to, and on a command
 * byte from the parent cuts the first one (the tier's queue 0): 'R' with a
 * reset towards the tier, 'F' with a plain close. EOF on the command pipe
 * ends it. Return: its pid, or -1; *@cmd is the command pipe.
 */
#define RELAY_CONNS	8

struct relay_dir {
	char buf[65536];
	size_t len, off;
};

struct relay_conn {
	int fd[2];			/* tier side, vmd side */
	struct relay_dir dir[2];	/* dir[d]: from fd[d] to fd[!d] */
	bool open;
};

static void relay_close(struct relay_conn *c, bool reset)
{
	if (reset) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd[0], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(c->fd[0]);
	close(c->fd[1]);
	c->open = false;
}

static int relay_connect(uint16_t to)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(to) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, DONOR_IP, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void __attribute__((noreturn)) relay_run(int lfd, int cmd, uint16_t to)
{
	static struct relay_conn c[RELAY_CONNS];
	struct pollfd p[2 + 2 * RELAY_CONNS];
	int who[2 + 2 * RELAY_CONNS];
	int nc = 0, n, i;

	for (;;) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = cmd, .events = POLLIN };
		n = 2;
		for (i = 0; i < nc; i++) {
			for (int d = 0; d < 2 && c[i].open; d++) {
				/* A full buffer waits for its destination, an empty one reads. */
				if (c[i].dir[d].len)
					p[n] = (struct pollfd){ .fd = c[i].fd[!d], .events = POLLOUT };
				else
					p[n] = (struct pollfd){ .fd = c[i].fd[d], .events = POLLIN };
				who[n++] = i * 2 + d;
			}
		}
		if (poll(p, n, -1) < 0)
			continue;
		if (p[1].revents) {
			char how;

			if (read(cmd, &how, 1) != 1)
				_exit(0);
			if (nc && c[0].open)
				relay_close(&c[0], how == 'R');
		}
		if ((p[0].revents & POLLIN) && nc < RELAY_CONNS) {
			int a = accept(lfd, NULL, NULL), b = a < 0 ? -1 : relay_connect(to), one = 1;

			if (b < 0) {
				if (a >= 0)
					close(a);
			} else {
				setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				fcntl(a, F_SETFL, O_NONBLOCK);
				fcntl(b, F_SETFL, O_NONBLOCK);
				c[nc] = (struct relay_conn){ .fd = { a, b }, .open = true };
				nc++;
			}
		}
		for (i = 2; i < n; i++) {
			struct relay_conn *rc = &c[who[i] / 2];
			int d = who[i] % 2;
			struct relay_dir *r = &rc->dir[d];
			ssize_t k;

			if (!rc->open || !p[i].revents)
				continue;
			if (!r->len) {
				k = read(rc->fd[d], r->buf, sizeof(r->buf));
				if (k <= 0 && !(k < 0 && errno == EAGAIN)) {
					relay_close(rc, false);
					continue;
				}
				r->len = k > 0 ? (size_t)k : 0;
				r->off = 0;
			} else {
				k = write(rc->fd[!d], r->buf + r->off, r->len - r->off);
				if (k < 0 && errno != EAGAIN) {
					relay_close(rc, false);
					continue;
				}
				r->off += k > 0 ? (size_t)k : 0;
				if (r->off == r->len)
					r->len = 0;
			}
		}
	}
}

static pid_t relay_start(uint16_t port, uint16_t to, int *cmd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, pfd[2];
	pid_t pid;

	inet_pton(AF_INET, DONOR_IP, &a.sin_addr);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    pipe(pfd)) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	pid = fork();
	if (!pid) {
		close(pfd[1]);
		relay_run(lfd, pfd[0], to);
	}
	close(lfd);
	close(pfd[0]);
	*cmd = pfd[1];
	return pid;
}

struct loader {
	uint8_t *map;
	size_t pages;
	volatile bool *stop;
	uint64_t seed;
	unsigned int accesses, sigbus, bad;
};

/*
 * Random pages, checked or rewritten with the same pattern (version 1),
 * until told to stop: the test takes the same time on a slow kernel.
 */
static void *loader_run(void *arg)
{
	struct loader *l = arg;

	for (unsigned int i = 0; !__atomic_load_n(l->stop, __ATOMIC_RELAXED); i++) {
		l->accesses++;
		size_t pg = et_rand(&l->seed) % l->pages;
		int bad = -1, sig;

		if (i & 1)
			sig = et_try_fill(l->map + pg * ET_PAGE, pg, 1);
		else
			sig = et_try_check(l->map + pg * ET_PAGE, pg, 1, &bad);
		if (sig == SIGBUS)
			l->sigbus++;
		else if (sig || bad != -1)
			l->bad++;
	}
	return NULL;
}

/*
 * Two connections (tcp_queues=2), a relay in between; two threads hammer an
 * instance 8x its budget (faults, evictions, writebacks on both queues)
 * while the relay cuts queue 0's connection. Every access must give the
 * right data or SIGBUS, nothing may hang; afterwards the tier goes on with
 * the connection left, and every page holds its data: no write was lost.
 */
static void drop_one_connection(struct __test_metadata *_metadata, FIXTURE_DATA(tcp) *self,
				char how)
{
	const uint64_t size = 4ULL << 20;
	uint16_t rport = self->port - 10000;	/* below the ephemeral ports too */
	size_t n = size / ET_PAGE, sigbus = 0;
	volatile bool stop = false;
	struct loader l[2];
	pthread_t th[2];
	struct emp_tier t;
	struct emp_stat st;
	long saved_queues;
	pid_t relay;
	uint8_t *m;
	int fd, cmd;

	saved_queues = et_module_param("tcp_queues", 2);
	ASSERT_LE(0, saved_queues) TH_LOG("emp.ko has no tcp_queues parameter");
	relay = relay_start(rport, self->port, &cmd);
	ASSERT_LT(0, relay) TH_LOG("relay did not start on port %u", rport);
	tcp_tier(&t, rport, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "drop", 64 << 10, 4 << 10, 512ULL << 10, &t, 1));
	et_module_param("tcp_queues", saved_queues);
	fd = et_open_node("drop", O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(m + pg * ET_PAGE, pg, 1);
	for (int i = 0; i < 2; i++) {
		l[i] = (struct loader){ .map = m, .pages = n, .stop = &stop, .seed = i + 1 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, loader_run, &l[i]));
	}
	et_msleep(1000);
	ASSERT_EQ(1, write(cmd, &how, 1));
	et_msleep(3000);
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, l[i].bad) TH_LOG("thread %d read wrong data", i);
		printf("# thread %d: %u accesses, %u SIGBUS\n", i, l[i].accesses, l[i].sigbus);
	}
	for (size_t pg = 0; pg < n; pg++) {
		int bad;

		if (et_try_check(m + pg * ET_PAGE, pg, 1, &bad) == SIGBUS)
			sigbus++;
		else
			EXPECT_EQ(-1, bad) TH_LOG("page %zu read wrong data after the drop", pg);
	}
	EXPECT_EQ(0, sigbus) TH_LOG("the connection left does not serve every page");
	ASSERT_EQ(0, emp_stat(self->ctl, "drop", &st));
	printf("# after the drop: io_errors %llu, tier errors %llu, sigbus %llu\n",
	       (unsigned long long)st.io_errors, (unsigned long long)st.tier[0].errors,
	       (unsigned long long)st.sigbus);
	EXPECT_LT(0, st.evictions);
	munmap(m, size);
	close(fd);
	EXPECT_EQ(0, emp_destroy(self->ctl, "drop"));
	close(cmd);
	waitpid(relay, NULL, 0);
}

TEST_F_TIMEOUT(tcp, one_connection_reset_under_load, 120)
{
	drop_one_connection(_metadata, self, 'R');
}

TEST_F_TIMEOUT(tcp, one_connection_closed_under_load, 120)
{
	drop_one_connection(_metadata, self, 'F');
}

TEST_HARNESS_MAIN
