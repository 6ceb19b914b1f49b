// SPDX-License-Identifier: GPL-2.0
/* empctl events: emp.ko's netlink events, one line each, until killed. */
#include <errno.h>
#include <string.h>

#include "empctl.h"
#include "genl/emp_genl.h"

struct printer {
	int json;
	int err;	/* a write to stdout failed */
};

static void print_event(const struct emp_event_msg *ev, void *arg)
{
	struct printer *p = arg;
	char line[512];

	emp_event_format(ev, p->json, line, sizeof(line));
	/* One line at a time, so that a pipe sees each event when it happens. */
	if (printf("%s\n", line) < 0 || fflush(stdout))
		p->err = errno ? errno : EIO;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct printer p = { 0 };
	struct emp_events *e;
	int ch, err;

	optind = 1;
	while ((ch = cmd_getopt("events", argc, argv, "jh", opts)) != -1) {
		if (ch != 'j')
			return EX_USAGE;
		p.json = 1;
	}
	if (optind != argc)
		return usage_error("events", "unexpected argument '%s'", argv[optind]);
	err = emp_events_open(&e, print_event, &p);
	if (err == -ENOENT)
		return fail("events: no \"%s\" netlink family: emp.ko is not loaded, or is built "
			    "without events (see the features of empctl info)", EMP_GENL_NAME);
	if (err)
		return fail("events: cannot join the \"%s\" netlink group: %s", EMP_GENL_MCGRP,
			    strerror(-err));
	/*
	 * Until killed: SIGINT and SIGTERM keep their default action (every
	 * line is flushed already), and so does SIGPIPE when the reader goes.
	 */
	while (!p.err) {
		err = emp_events_recv(e);
		if (err == -ENOBUFS) {
			/* Say so, in the output's own form, and go on. */
			if (p.json)
				printf("{\"event\":\"lost\"}\n");
			else
				printf("EVENT event=lost (socket buffer full: events were dropped)\n");
			fflush(stdout);
		} else if (err && err != -EINTR && err != -EAGAIN) {
			emp_events_close(e);
			return fail("events: receive: %s", strerror(-err));
		}
	}
	emp_events_close(e);
	if (p.err && p.err != EPIPE)
		return fail("stdout: %s", strerror(p.err));
	return EX_OK;
}
