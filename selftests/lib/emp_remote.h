/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the remote-tier selftests share (emp_remote_test.c, built again as
 * emp_remote_rdma_test with EMP_REMOTE_RDMA, and emp_remote_drop_test.c):
 * the donor (vmd, started and stopped here), tiers of the kind under test,
 * instance creation, and the fixture "tcp" (one vmd on a port of its own,
 * module parameters put back at teardown).
 *
 * Include after kselftest_harness.h, libemp.h and lib/emp_test.h, once per
 * program: the fixture is defined here. The helpers are static inline and
 * report errors by return value.
 */
#ifndef EMP_REMOTE_H
#define EMP_REMOTE_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libemp.h"
#include "emp_test.h"

#define VMD		"/emp/bin/vmd"
#ifdef EMP_REMOTE_RDMA
/* vmd serves RDMA on rxe0 and TCP on the same port (readiness, mixed tests). */
#define TIER_KIND	EMP_TIER_RDMA
#define DONOR_IP	"10.0.2.15"
#define DONOR_LINK	"eth0"
#define VMD_TRANSPORT	"-d", "rxe0", "--tcp"
#else
#define TIER_KIND	EMP_TIER_TCP
#define DONOR_IP	"127.0.0.1"
#define DONOR_LINK	"lo"
#define VMD_TRANSPORT	"--tcp"
#endif

#ifdef EMP_REMOTE_RDMA
#define QUEUES_MOD	"emp_rdma"
#define QUEUES_PARAM	"rdma_queues"
#else
#define QUEUES_MOD	"emp"
#define QUEUES_PARAM	"tcp_queues"
#endif

/* Each test runs in its own process: derive a port no other test uses. */
static inline uint16_t test_port(void)
{
	/*
	 * Below 32768, where the kernel's ephemeral ports begin (a port of a
	 * connection made meanwhile once took the relay's, CI on sid).
	 */
	return 20000 + getpid() % 12000;
}

/* Start vmd in TCP mode; wait until it accepts. Return: pid or -1. */
static inline pid_t vmd_start(uint16_t port, const char *secret, unsigned int mib)
{
	char p[16], m[16];
	pid_t pid;

	snprintf(p, sizeof(p), "%u", port);
	snprintf(m, sizeof(m), "%u", mib);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		if (secret)
			execl(VMD, "vmd", VMD_TRANSPORT, "-a", DONOR_IP, "-p", p, "-m", m,
			      "--secret", secret, (char *)NULL);
		else
			execl(VMD, "vmd", VMD_TRANSPORT, "-a", DONOR_IP, "-p", p, "-m", m,
			      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int ok;

		inet_pton(AF_INET, DONOR_IP, &a.sin_addr);
		ok = !connect(s, (struct sockaddr *)&a, sizeof(a));
		close(s);
		if (ok)
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		et_msleep(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static inline int vmd_stop(pid_t pid, int sig)
{
	int st = 0;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	kill(pid, SIGCONT);	/* a stopped vmd acts on it only when it runs */
	waitpid(pid, &st, 0);
	return st;
}

/*
 * Stop vmd and wait until it has stopped: kill() only queues SIGSTOP, and
 * a vmd thread woken by it that finds a request already in its socket
 * reads and answers it before it stops (seen once on a loaded host: a read
 * issued right after kill() was served). Return: 0, or -1 (not stopped).
 */
static inline int vmd_pause(pid_t pid)
{
	int st = 0;

	if (kill(pid, SIGSTOP) || waitpid(pid, &st, WUNTRACED) != pid)
		return -1;
	return WIFSTOPPED(st) ? 0 : -1;
}

static inline void remote_tier_kind(struct emp_tier *t, uint32_t kind, uint16_t port,
				    uint64_t size, const char *secret)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->size = size;
	t->port = port;
	snprintf(t->path, sizeof(t->path), "%s", DONOR_IP);
	if (secret) {
		t->secret_len = strlen(secret);
		memcpy(t->secret, secret, t->secret_len);
	}
}

/* A tier of the kind under test (TCP, or RDMA in emp_remote_rdma_test). */
static inline void tcp_tier(struct emp_tier *t, uint16_t port, uint64_t size, const char *secret)
{
	remote_tier_kind(t, TIER_KIND, port, size, secret);
}

static inline int create(int ctl, const char *name, uint32_t block, uint32_t sub,
			 uint64_t budget, const struct emp_tier *tiers, unsigned int n)
{
	return et_create_tiers(ctl, name, block, sub, budget, tiers, n);
}

/* Set the link the donor is reached over up or down. Return: 0 or -1. */
static inline int donor_link(const char *state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ip link set dev %s %s", DONOR_LINK, state);
	return system(cmd) == 0 ? 0 : -1;
}

FIXTURE(tcp) {
	int ctl;
	pid_t vmd;
	uint16_t port;
	long saved_tmo;	/* request_timeout to put back, or -1 */
	long saved_queues;	/* QUEUES_PARAM to put back, or -1 */
	long saved_poll;	/* poll_reads to put back, or -1 */
	long saved_poll_max;	/* poll_max to put back, or -1 */
};

FIXTURE_SETUP(tcp)
{
	self->saved_tmo = -1;
	self->saved_queues = -1;
	self->saved_poll = -1;
	self->saved_poll_max = -1;
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl);
	et_destroy_all(self->ctl);
	et_catch_signals();
	self->port = test_port();
	self->vmd = vmd_start(self->port, NULL, 128);
	ASSERT_LT(0, self->vmd) TH_LOG("vmd did not start on port %u", self->port);
}

FIXTURE_TEARDOWN(tcp)
{
	et_destroy_all(self->ctl);
	if (self->vmd > 0)
		vmd_stop(self->vmd, SIGTERM);
	if (self->saved_tmo >= 0)
		et_module_param("request_timeout", self->saved_tmo);
	if (self->saved_queues >= 0)
		et_param(QUEUES_MOD, QUEUES_PARAM, self->saved_queues);
	if (self->saved_poll >= 0)
		et_module_param("poll_reads", self->saved_poll);
	if (self->saved_poll_max >= 0)
		et_module_param("poll_max", self->saved_poll_max);
	donor_link("up");	/* a failed link-down test must not leave it down */
	close(self->ctl);
}

#endif /* EMP_REMOTE_H */
