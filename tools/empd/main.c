// SPDX-License-Identifier: GPL-2.0
/*
 * empd: options, logging, and the control loop. The loop waits in poll()
 * for the next evaluation, a netlink event of emp.ko, a report client or a
 * signal (SIGTERM/SIGINT stop, SIGHUP reloads the configuration). empd
 * keeps nothing that matters across restarts: budgets live in the kernel,
 * and a new empd adopts them.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "empd.h"
#include "genl/emp_genl.h"

static int use_syslog;
static int log_debug;
static volatile sig_atomic_t got_stop, got_hup;

void empd_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "empd: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: empd [-c FILE] [-n [--dry-run]] [-s] [-v] [-t]\n"
		"The EMP balancer: shares one pool of DRAM among all EMP instances by\n"
		"resizing their budgets (EMP_IOC_RESIZE) from their stall and refault rates\n"
		"and their cold memory. It never creates or destroys instances; stopped or\n"
		"killed, it leaves every budget as it is, and started again it adopts them.\n"
		"  -c, --config FILE  configuration (default " EMPD_CONF_DEFAULT ", see empd.conf(5))\n"
		"  -t, --check        check the configuration and exit (status 2 if bad)\n"
		"  -n, --once         take two samples one interval apart, print the\n"
		"                     decisions on stdout, apply them and exit\n"
		"      --dry-run      decide and print, but change nothing (no resize, no\n"
		"                     sysfs write)\n"
		"  -s, --syslog       log to syslog instead of stderr\n"
		"  -v, --verbose      also log debug messages\n"
		"  -h, --help         this help;  -V, --version  the version\n"
		"Signals: SIGTERM or SIGINT stop it, SIGHUP re-reads the configuration (a bad\n"
		"one is logged and the old one kept).\n"
		"Environment: EMP_CTL_PATH, the control device (default " EMP_CTL_PATH_DEFAULT ").\n"
		"Exit status: 0 stopped by a signal or done, 1 runtime error, 2 bad usage or\n"
		"configuration.\n");
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

static int setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		return -errno;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL) ? -errno : 0;
}

/* The new rules apply at once; the instances are matched again. */
static void reload(struct empd *d)
{
	struct empd_config c;
	char err[EMPD_ERR_MAX];
	unsigned int i;

	if (empd_config_load(d->cfg_path, &c, err, sizeof(err))) {
		empd_log(LOG_ERR, "reload refused, old configuration kept: %s", err);
		empd_config_free(&c);
		return;
	}
	if (c.history != d->cfg.history || c.interval_ms != d->cfg.interval_ms ||
	    strcmp(c.socket, d->cfg.socket) || c.http_port != d->cfg.http_port)
		empd_log(LOG_WARNING, "reload: interval_ms, history, socket and http_port "
			 "take effect at restart");
	c.history = d->cfg.history;
	c.interval_ms = d->cfg.interval_ms;
	memcpy(c.socket, d->cfg.socket, sizeof(c.socket));
	c.http_port = d->cfg.http_port;
	empd_config_free(&d->cfg);
	d->cfg = c;
	for (i = 0; i < d->nr_inst; i++) {
		d->inst[i].rule = empd_rule_for(&d->cfg, d->inst[i].name);
		d->inst[i].sysfs_done = 0;
		empd_apply_sysfs(d, &d->inst[i]);
	}
	empd_log(LOG_INFO, "configuration %s reloaded", d->cfg_path);
}

struct ev_ctx {
	struct empd *d;
	int now;		/* evaluate at once */
};

static void on_event(const struct emp_event_msg *ev, void *arg)
{
	struct ev_ctx *x = arg;

	x->d->last_event = emp_event_name(ev->event);
	switch (ev->event) {
	case EMP_EV_CREATED:
	case EMP_EV_DESTROYED:
	case EMP_EV_PRESSURE:
		empd_log(LOG_INFO, "event %s of %s", emp_event_name(ev->event), ev->name);
		x->now = 1;
		break;
	case EMP_EV_TIER_ERROR:
	case EMP_EV_DONOR_LOST:
		empd_log(LOG_WARNING, "event %s of %s", emp_event_name(ev->event), ev->name);
		break;
	default:
		break;
	}
	if (ev->event == EMP_EV_DESTROYED)
		empd_forget(x->d, ev->name);
}

static int round_once(struct empd *d, int print)
{
	int err = empd_sample(d);

	if (err) {
		empd_log(LOG_ERR, "reading the instances: %s", strerror(-err));
		return err;
	}
	return empd_evaluate(d, print);
}

static int run_once(struct empd *d)
{
	struct timespec ts = {
		.tv_sec = d->cfg.interval_ms / 1000,
		.tv_nsec = (long)(d->cfg.interval_ms % 1000) * 1000000L,
	};
	int err = empd_sample(d);

	/* Rates need two samples. */
	while (!err && nanosleep(&ts, &ts) && errno == EINTR && !got_stop)
		;
	if (!err)
		err = round_once(d, 1);
	fflush(stdout);
	return err && err != -EIO ? EMPD_EX_FAIL : err ? EMPD_EX_FAIL : EMPD_EX_OK;
}

static int run_loop(struct empd *d)
{
	struct emp_events *ev = NULL;
	struct ev_ctx x = { .d = d };
	int ufd = -1, hfd = -1, efd = -1, err;
	double next;

	if (d->cfg.socket[0]) {
		ufd = empd_listen_unix(d->cfg.socket);
		if (ufd < 0) {
			empd_log(LOG_ERR, "socket %s: %s%s", d->cfg.socket, strerror(-ufd),
				 ufd == -EADDRINUSE ? " (another empd is running)" : "");
			return EMPD_EX_FAIL;
		}
	}
	if (d->cfg.http_port) {
		hfd = empd_listen_http(d->cfg.http_port);
		if (hfd < 0) {
			empd_log(LOG_ERR, "http port 127.0.0.1:%u: %s", d->cfg.http_port,
				 strerror(-hfd));
			err = EMPD_EX_FAIL;
			goto out;
		}
	}
	err = emp_events_open(&ev, on_event, &x);
	if (err)
		empd_log(LOG_WARNING, "no events (%s%s): evaluating every %u ms only",
			 strerror(-err), err == -ENOENT ? ": emp.ko without EMP_FEAT_EVENTS" : "",
			 d->cfg.interval_ms);
	else
		efd = emp_events_fd(ev, 1);
	d->events = ev != NULL;
	empd_log(LOG_INFO, "balancing a pool of %llu bytes every %u ms%s%s",
		 (unsigned long long)d->cfg.pool, d->cfg.interval_ms,
		 d->cfg.socket[0] ? ", report on " : "", d->cfg.socket);
	round_once(d, 0);
	next = empd_mono() + d->cfg.interval_ms / 1000.0;
	while (!got_stop) {
		struct pollfd pf[3] = {
			{ .fd = ufd, .events = POLLIN }, { .fd = hfd, .events = POLLIN },
			{ .fd = efd, .events = POLLIN },
		};
		double wait = next - empd_mono();
		int n;

		if (got_hup) {
			got_hup = 0;
			reload(d);
			x.now = 1;
		}
		if (x.now || wait <= 0) {
			x.now = 0;
			round_once(d, 0);
			next = empd_mono() + d->cfg.interval_ms / 1000.0;
			continue;
		}
		n = poll(pf, 3, (int)(wait * 1000) + 1);
		if (n < 0 && errno != EINTR) {
			empd_log(LOG_ERR, "poll: %s", strerror(errno));
			err = EMPD_EX_FAIL;
			goto out;
		}
		if (n <= 0)
			continue;
		if (pf[0].revents & POLLIN)
			empd_serve_unix(d, ufd);
		if (pf[1].revents & POLLIN)
			empd_serve_http(d, hfd);
		if (pf[2].revents) {
			int r;

			while ((r = emp_events_recv(ev)) == 0)
				;
			if (r == -ENOBUFS) {
				empd_log(LOG_WARNING, "events lost (socket buffer full): re-reading");
				x.now = 1;
			} else if (r != -EAGAIN && r != -EINTR) {
				empd_log(LOG_ERR, "events: %s; evaluating every %u ms only",
					 strerror(-r), d->cfg.interval_ms);
				emp_events_close(ev);
				ev = NULL;
				efd = -1;
				d->events = 0;
			}
		}
	}
	empd_log(LOG_INFO, "stopping; budgets stay as they are");
	err = EMPD_EX_OK;
out:
	emp_events_close(ev);
	if (hfd >= 0)
		close(hfd);
	if (ufd >= 0) {
		close(ufd);
		unlink(d->cfg.socket);
	}
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "once", no_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct empd d = { .cfg_path = EMPD_CONF_DEFAULT, .ctl_fd = -1 };
	char err[EMPD_ERR_MAX];
	int c, once = 0, check = 0, ret;

	while ((c = getopt_long(argc, argv, "c:tnsvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.cfg_path = optarg; break;
		case 't': check = 1; break;
		case 'n': once = 1; break;
		case 'D': d.dry_run = 1; break;
		case 's': use_syslog = 1; break;
		case 'v': log_debug = d.verbose = 1; break;
		case 'h': usage(stdout); return EMPD_EX_OK;
		case 'V': printf("empd %s (ABI %d)\n", EMPD_VERSION, EMP_ABI_VERSION); return 0;
		default:
			fprintf(stderr, "empd: see empd --help\n");
			return EMPD_EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "empd: unexpected argument '%s' (see empd --help)\n", argv[optind]);
		return EMPD_EX_USAGE;
	}
	if (d.dry_run && !once) {
		fprintf(stderr, "empd: --dry-run goes with --once\n");
		return EMPD_EX_USAGE;
	}
	if (use_syslog)
		openlog("empd", LOG_PID, LOG_DAEMON);
	ret = empd_config_load(d.cfg_path, &d.cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "empd: %s\n", err);
		if (use_syslog)
			syslog(LOG_ERR, "%s", err);
		empd_config_free(&d.cfg);
		return EMPD_EX_USAGE;
	}
	if (check) {
		printf("%s: ok (pool %llu bytes, %u instance rule%s)\n", d.cfg_path,
		       (unsigned long long)d.cfg.pool, d.cfg.nr_rules, d.cfg.nr_rules == 1 ? "" : "s");
		empd_config_free(&d.cfg);
		return EMPD_EX_OK;
	}
	ret = EMPD_EX_FAIL;
	d.hist = calloc(d.cfg.history, sizeof(*d.hist));
	if (!d.hist) {
		empd_log(LOG_ERR, "out of memory");
		goto out_cfg;
	}
	if (setup_signals()) {
		empd_log(LOG_ERR, "sigaction: %s", strerror(errno));
		goto out_hist;
	}
	d.ctl_fd = emp_ctl_open();
	if (d.ctl_fd < 0) {
		empd_log(LOG_ERR, "cannot open the control device: %s%s", strerror(-d.ctl_fd),
			 d.ctl_fd == -ENOENT ? " (is emp.ko loaded?)" : "");
		goto out_hist;
	}
	d.started = empd_wall();
	ret = once ? run_once(&d) : run_loop(&d);
	close(d.ctl_fd);
out_hist:
	free(d.hist);
	free(d.inst);
out_cfg:
	empd_config_free(&d.cfg);
	if (use_syslog)
		closelog();
	return ret;
}
