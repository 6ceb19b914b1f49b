// SPDX-License-Identifier: LGPL-2.1
/*
 * libemp: destroy an instance once the process that maps it has exited.
 *
 * A process cannot destroy its own instance at exit: it still maps it, and
 * destroy refuses a mapped instance. So a small watcher process (forked
 * twice, so that no wait() of the program can reap it) holds the read end
 * of a pipe whose write end the program keeps; the pipe closes when the
 * program and every child it forked have exited or exec'd, and then the
 * watcher destroys the instance, retrying while a mapping lingers (the last
 * fput is deferred). Used by the preload library and QEMU's -mem-path
 * patch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libemp.h"

/* One write(2) to stderr, "WHO: message\n". */
static void emp_watch_say(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void emp_watch_say(const char *who, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%s: ", who);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

/* The registry whose placement a watcher releases (emp_watch_cluster()). */
static char watch_etcd[256], watch_host[64];

int emp_watch_cluster(const struct emp_cluster *cl)
{
	if (!cl || !cl->etcd) {
		watch_etcd[0] = 0;
		return 0;
	}
	if (strlen(cl->etcd) >= sizeof(watch_etcd) ||
	    (cl->host && strlen(cl->host) >= sizeof(watch_host)))
		return -ENAMETOOLONG;
	snprintf(watch_etcd, sizeof(watch_etcd), "%s", cl->etcd);
	snprintf(watch_host, sizeof(watch_host), "%s", cl->host ? cl->host : "");
	return 0;
}

static void emp_watch_release(const char *name, const char *who)
{
	struct emp_cluster cl = { .etcd = watch_etcd, .host = watch_host[0] ? watch_host : NULL };
	char err[512];

	if (watch_etcd[0] && emp_cluster_release(name, &cl, err, sizeof(err)))
		emp_watch_say(who, "%s: its placement stays in the registry: %s", name, err);
}

/* Destroy @name, waiting while something still maps it. */
static void emp_watch_destroy(const char *name, const char *who, int verbose)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int fd, err, tries;

	fd = emp_ctl_open();
	if (fd < 0) {
		emp_watch_say(who, "cannot open the control device to destroy %s: %s", name,
			      strerror(-fd));
		return;
	}
	for (tries = 0;; tries++) {
		err = emp_destroy(fd, name);
		if (err != -EBUSY)
			break;
		if (tries == 500)
			emp_watch_say(who, "%s is still mapped by a process; waiting for it to exit",
				      name);
		nanosleep(&ts, NULL);
		if (tries >= 100)
			ts.tv_nsec = 500 * 1000 * 1000;
	}
	close(fd);
	if (err) {
		emp_watch_say(who, "destroying %s failed: %s", name, strerror(-err));
		return;
	}
	if (verbose)
		emp_watch_say(who, "destroyed %s", name);
	emp_watch_release(name, who);
}

int emp_destroy_when_gone(const char *name, const char *who, int verbose)
{
	int pfd[2], status, devnull;
	char buf[16], comm[16];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (pid == 0) {
		/* Middle child: fork the watcher and leave, so init adopts it. */
		if (fork() != 0)
			_exit(0);
		close(pfd[1]);
		if (dup2(pfd[0], 3) < 0)
			_exit(1);
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		/* Keep stderr for messages; drop everything else the program had. */
		close_range(4, ~0U, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGTSTP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		snprintf(comm, sizeof(comm), "%s-wd", who);
		prctl(PR_SET_NAME, comm, 0, 0, 0);
		for (;;) {	/* nobody writes: read returns 0 at the last close */
			ssize_t n = read(3, buf, sizeof(buf));

			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		emp_watch_destroy(name, who, verbose);
		_exit(0);
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pfd[1];
}
