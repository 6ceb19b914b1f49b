// SPDX-License-Identifier: GPL-2.0
/*
 * empctl pool: the state of empd, the balancer, read from its unix socket
 * (connect, read its JSON report to the end) and shown as a table, or
 * passed through as it came with --json.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "empctl.h"
#include "emp_json.h"

#define EMPD_SOCK_DEFAULT	"/run/emp/empd.sock"
#define REPORT_MAX		(16U << 20)
#define DECISIONS_SHOWN		8

/* Read the report at @path into a NUL-terminated buffer. Return: it or NULL. */
static char *fetch(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	size_t len = 0, cap = 65536;
	char *buf = NULL, *p;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail("pool: socket path '%s' is too long", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("pool: socket: %s", strerror(errno));
		return NULL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fail("pool: cannot reach empd at %s: %s%s", path, strerror(errno),
		     errno == ENOENT || errno == ECONNREFUSED ? " (is empd running?)" : "");
		goto out_close;
	}
	for (;;) {
		ssize_t n;

		if (!buf || len + 1 >= cap) {
			if (buf)
				cap *= 2;
			p = cap <= REPORT_MAX ? realloc(buf, cap) : NULL;
			if (!p) {
				fail("pool: the report is larger than %u bytes or memory ran out",
				     REPORT_MAX);
				goto out_free;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("pool: reading from %s: %s", path, strerror(errno));
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
	return buf;
out_free:
	free(buf);
out_close:
	close(fd);
	return NULL;
}

static const char *human(double bytes, char *b, size_t len)
{
	return emp_format_human(bytes > 0 ? (uint64_t)bytes : 0, b, len);
}

/* "3s ago", "2m ago", "1h ago". */
static const char *ago(double then, double now, char *b, size_t len)
{
	double d = now - then;

	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(b, len, "%.0fs ago", d);
	else if (d < 7200)
		snprintf(b, len, "%.0fm ago", d / 60);
	else
		snprintf(b, len, "%.0fh ago", d / 3600);
	return b;
}

static int show(const struct emp_json *r)
{
	const struct emp_json *pool = emp_json_get(r, "pool"), *list, *in, *dec, *h;
	double now = emp_json_num(r, "time", 0);
	char b[4][32];
	struct table t;
	unsigned int n = 0, skip;

	list = emp_json_get(r, "instances");
	dec = emp_json_get(r, "decisions");
	if (!pool || !list || list->type != EMP_JSON_ARR)
		return fail("pool: the report has no pool or instances: is that empd's socket?");
	printf("pool %s: budgets %s, free %s; every %.0f ms, %.0f evaluations, events %s%s\n",
	       human(emp_json_num(pool, "size", 0), b[0], sizeof(b[0])),
	       human(emp_json_num(pool, "budgets", 0), b[1], sizeof(b[1])),
	       human(emp_json_num(pool, "free", 0), b[2], sizeof(b[2])),
	       emp_json_num(r, "interval_ms", 0), emp_json_num(r, "evaluations", 0),
	       emp_json_num(r, "events", 0) ? "on" : "off",
	       emp_json_num(r, "dry_run", 0) ? " (dry run)" : "");
	if (tbl_init(&t, 0x3feU & ~(1U << 11), "NAME", "BUDGET", "MIN", "MAX", "WEIGHT",
		     "RESIDENT", "WSET", "STALL", "PRESSURE", "REFAULT/S", "COLD", "LAST", NULL))
		return fail("out of memory");
	for (in = list->child; in; in = in->next) {
		const struct emp_json *last = emp_json_get(in, "last_change");
		const char *name = emp_json_str(in, "name");
		double stall = emp_json_num(in, "stall_permille", -1);
		double rf = emp_json_num(in, "refaults_per_s", -1);
		double cold = emp_json_num(in, "cold", -1);

		if (tbl_row(&t)) {
			tbl_free(&t);
			return fail("out of memory");
		}
		n++;
		tbl_set(&t, 0, "%s", name ? name : "?");
		tbl_set(&t, 1, "%s", human(emp_json_num(in, "budget", 0), b[0], sizeof(b[0])));
		tbl_set(&t, 2, "%s", human(emp_json_num(in, "min", 0), b[0], sizeof(b[0])));
		tbl_set(&t, 3, "%s", human(emp_json_num(in, "max", 0), b[0], sizeof(b[0])));
		tbl_set(&t, 4, "%.0f", emp_json_num(in, "weight", 0));
		tbl_set(&t, 5, "%s", human(emp_json_num(in, "resident", 0), b[0], sizeof(b[0])));
		tbl_set(&t, 6, "%s", human(emp_json_num(in, "working_set", 0), b[0], sizeof(b[0])));
		tbl_set(&t, 7, stall < 0 ? "-" : "%.1f%%", stall / 10);
		tbl_set(&t, 8, "%.0f/%.0f", emp_json_num(in, "pressure", 0),
			emp_json_num(in, "pressure_threshold", 0));
		tbl_set(&t, 9, rf < 0 ? "-" : "%.1f", rf);
		if (cold < 0)
			tbl_set(&t, 10, "-");
		else
			tbl_set(&t, 10, "%s>=%.0fs", human(cold, b[0], sizeof(b[0])),
				emp_json_num(in, "idle_age_s", 0));
		if (last && last->type == EMP_JSON_OBJ)
			tbl_set(&t, 11, "%s %s", emp_json_str(last, "reason") ?: "?",
				ago(emp_json_num(last, "time", now), now, b[1], sizeof(b[1])));
		else
			tbl_set(&t, 11, "none");
	}
	if (n) {
		putchar('\n');
		tbl_print(&t, stdout, 0);
	} else {
		printf("no instances\n");
	}
	tbl_free(&t);
	if (!dec || !dec->child)
		return EX_OK;
	printf("\nlast decisions (oldest first):\n");
	for (h = dec->child, n = 0; h; h = h->next)
		n++;
	skip = n > DECISIONS_SHOWN ? n - DECISIONS_SHOWN : 0;
	for (h = dec->child; h; h = h->next) {
		const char *e = emp_json_str(h, "error");
		double when = emp_json_num(h, "time", now);
		time_t tt = (time_t)when;
		char hms[16];
		struct tm tm;

		if (skip) {
			skip--;
			continue;
		}
		strftime(hms, sizeof(hms), "%T", localtime_r(&tt, &tm));
		printf("  %s  %-12s %9s -> %-9s %-8s stall %.1f%%, %.1f refaults/s, wset %s%s%s\n",
		       hms, emp_json_str(h, "name") ?: "?",
		       human(emp_json_num(h, "from", 0), b[0], sizeof(b[0])),
		       human(emp_json_num(h, "to", 0), b[1], sizeof(b[1])),
		       emp_json_str(h, "reason") ?: "?", emp_json_num(h, "stall_permille", 0) / 10,
		       emp_json_num(h, "refaults_per_s", 0),
		       human(emp_json_num(h, "working_set", 0), b[2], sizeof(b[2])),
		       e ? "; failed: " : "", e ? e : "");
	}
	return EX_OK;
}

int cmd_pool(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *path = getenv("EMPD_SOCKET");
	struct emp_json *r;
	int json = 0, ch, ret;
	size_t at = 0;
	char *text;

	if (!path || !*path)
		path = EMPD_SOCK_DEFAULT;
	optind = 1;
	while ((ch = cmd_getopt("pool", argc, argv, "jS:h", opts)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'S': path = optarg; break;
		default: return EX_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("pool", "unexpected argument '%s'", argv[optind]);
	text = fetch(path);
	if (!text)
		return EX_FAIL;
	if (json) {
		fputs(text, stdout);
		free(text);
		return fflush(stdout) ? fail("stdout: %s", strerror(errno)) : EX_OK;
	}
	r = emp_json_parse(text, &at);
	if (!r) {
		ret = fail("pool: empd's report is not JSON (at byte %zu)", at);
	} else {
		ret = show(r);
		emp_json_free(r);
	}
	free(text);
	return ret;
}
