/* SPDX-License-Identifier: GPL-2.0 */
/*
 * empd, the EMP balancer daemon: one host DRAM pool shared by every EMP
 * instance. Files:
 *   config.c  the configuration file (pure: built into the unit tests)
 *   policy.c  budgets from samples (pure: built into the unit tests)
 *   state.c   instances as empd sees them: samples, rates, resizes, sysfs
 *   report.c  the JSON report and its unix socket and HTTP servers
 *   main.c    options, logging, the control loop, netlink events
 */
#ifndef EMPD_H
#define EMPD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libemp.h"

#define EMPD_VERSION		"0.1.0"
#define EMPD_CONF_DEFAULT	"/etc/emp/empd.conf"
#define EMPD_SOCK_DEFAULT	"/run/emp/empd.sock"

/* Exit codes: documented in empd(8). */
#define EMPD_EX_OK	0
#define EMPD_EX_FAIL	1	/* runtime error (no /dev/emp, socket in use...) */
#define EMPD_EX_USAGE	2	/* bad command line or configuration */

/* ---- Configuration (config.c) ------------------------------------------ */

#define EMPD_PATTERN_MAX	64
#define EMPD_SOCK_MAX		108	/* sun_path */
#define EMPD_WEIGHT_MAX		1000
#define EMPD_UNSET		(-1)

/**
 * struct empd_rule - limits of the instances whose name matches @pattern
 * @pattern:   fnmatch(3) glob, or an exact name
 * @min:       smallest budget, bytes (0: the kernel's, two blocks)
 * @max:       largest budget, bytes (0: the instance size)
 * @weight:    share of contested DRAM, 1..EMPD_WEIGHT_MAX
 * @idle_age:  seconds without access that make memory cold for the
 *             working set estimate (rounded down to an EMP_COLD_AGES age)
 * @cold_age:  seconds written to sysfs cold_age_s, or EMPD_UNSET
 * @pressure_threshold: per mille written to sysfs, or EMPD_UNSET
 * @line:      where the rule starts in its file
 */
struct empd_rule {
	char pattern[EMPD_PATTERN_MAX];
	uint64_t min;
	uint64_t max;
	unsigned int weight;
	unsigned int idle_age;
	long cold_age;
	long pressure_threshold;
	unsigned int line;
};

/**
 * struct empd_config - a parsed empd.conf
 * @pool:         bytes of DRAM all budgets together may take (required)
 * @interval_ms:  evaluation period
 * @socket:       unix socket path of the JSON report ("" for none)
 * @http_port:    loopback TCP port of the same report (0: none)
 * @stall_high:   stall rate (per mille of wall time) from which an
 *                instance grows
 * @refault_high: refaults per second from which an instance grows
 * @cold_share:   percent of resident memory that, cold, makes an instance
 *                shrink to its working set at once
 * @headroom:     percent above the working set a shrink leaves
 * @history:      decisions kept for the report
 * @rules:        instance rules in file order (the first match wins)
 * @nr_rules:     entries of @rules
 */
struct empd_config {
	uint64_t pool;
	unsigned int interval_ms;
	char socket[EMPD_SOCK_MAX];
	unsigned int http_port;
	unsigned int stall_high;
	unsigned int refault_high;
	unsigned int cold_share;
	unsigned int headroom;
	unsigned int history;
	struct empd_rule *rules;
	unsigned int nr_rules;
};

/* Room for "FILE:LINE: reason". */
#define EMPD_ERR_MAX	512

/*
 * Parse the configuration in @f, named @fname in messages, into @c (which
 * the caller frees with empd_config_free(), also after a failure).
 * Return: 0, or -EINVAL with "FNAME:LINE: reason" in @err.
 */
int empd_config_parse(FILE *f, const char *fname, struct empd_config *c,
		      char *err, size_t errlen);
/* The same from the file at @path (-errno with a message if unreadable). */
int empd_config_load(const char *path, struct empd_config *c, char *err, size_t errlen);
void empd_config_free(struct empd_config *c);
/* The first rule matching instance @name, or the built-in default rule. */
const struct empd_rule *empd_rule_for(const struct empd_config *c, const char *name);

/* ---- Policy (policy.c) -------------------------------------------------- */

/* Why an instance got its budget. */
enum empd_reason {
	EMPD_KEEP,		/* nothing calls for a change */
	EMPD_ADOPT,		/* first sample: the budget as found */
	EMPD_GROW_STALL,	/* stalled above stall_high */
	EMPD_GROW_REFAULT,	/* refaulting above refault_high */
	EMPD_SHRINK_COLD,	/* much cold memory: down to the working set */
	EMPD_SHRINK_IDLE,	/* no pressure: toward the working set */
	EMPD_TO_MIN,		/* raised to the rule's min */
	EMPD_TO_MAX,		/* cut to the rule's max or the instance size */
	EMPD_POOL,		/* cut to its share of a full pool */
	EMPD_NR_REASONS,
};

const char *empd_reason_name(enum empd_reason r);

/* Policy knobs, from the configuration. */
struct empd_params {
	uint64_t pool;
	unsigned int stall_high;	/* per mille */
	unsigned int refault_high;	/* per second */
	unsigned int cold_share;	/* percent */
	unsigned int headroom;		/* percent */
};

/**
 * struct empd_pin - what the policy knows of one instance
 * @inst_size, @block_size, @budget, @resident: from EMP_IOC_STAT
 * @min, @max, @weight: the instance's rule (0 for min/max: unset)
 * @have_rates: @stall and @refaults are measured (two samples seen)
 * @stall:      per mille of wall time some task stalled on the instance
 * @refaults:   refaults per second
 * @have_cold:  @cold is known (the age scanner has run)
 * @cold:       resident bytes idle for the rule's idle age
 */
struct empd_pin {
	uint64_t inst_size;
	uint32_t block_size;
	uint64_t budget;
	uint64_t resident;
	uint64_t min;
	uint64_t max;
	unsigned int weight;
	int have_rates;
	double stall;
	double refaults;
	int have_cold;
	uint64_t cold;
};

/**
 * struct empd_pout - the policy's answer for one instance
 * @budget: the new budget (may equal the old one)
 * @lo, @hi: the bounds it applied (block-rounded min and max)
 * @ws:     working set estimate, bytes
 * @want:   what the instance asked for before the pool was shared
 * @reason: why
 */
struct empd_pout {
	uint64_t budget;
	uint64_t lo;
	uint64_t hi;
	uint64_t ws;
	uint64_t want;
	enum empd_reason reason;
};

/*
 * Decide the budgets of @n instances. Pure: no I/O, no clock, no state.
 * Every answer is a multiple of its block size, at least two blocks, at
 * most the instance size; within [min, max] of its rule; and the answers
 * sum to at most @p->pool whenever the rules' minimums fit in the pool
 * (when they do not, minimums are cut by the same ratio down to the
 * kernel's two blocks, and only then may the sum exceed the pool).
 * Return: how many budgets differ from the current ones.
 */
unsigned int empd_policy(const struct empd_params *p, const struct empd_pin *in,
			 struct empd_pout *out, unsigned int n);

/* ---- Runtime (state.c, report.c, main.c) -------------------------------- */

/* One instance as the daemon tracks it. */
struct empd_inst {
	char name[EMP_NAME_MAX];
	const struct empd_rule *rule;
	struct emp_stat st;		/* latest sample */
	double t;			/* its time, CLOCK_MONOTONIC seconds */
	uint64_t prev_stall_ns;
	uint64_t prev_refaults;
	double prev_t;
	int samples;			/* how many taken */
	int monitor;			/* the module fills the monitor fields */
	int sysfs_done;			/* cold_age_s/pressure_threshold written */
	struct empd_pin pin;
	struct empd_pout pout;
	enum empd_reason last_reason;	/* last change made */
	double last_change;		/* wall-clock time of it, 0: none */
	int seen;			/* found by the latest list */
};

/* One decision, for the log and the report. */
struct empd_decision {
	double when;			/* wall clock, seconds */
	char name[EMP_NAME_MAX];
	uint64_t from;
	uint64_t to;
	enum empd_reason reason;
	int err;			/* 0 or the resize's -errno */
	double stall;
	double refaults;
	uint64_t ws;
};

struct empd {
	struct empd_config cfg;
	const char *cfg_path;
	int ctl_fd;
	struct empd_inst *inst;
	unsigned int nr_inst;
	unsigned int cap_inst;
	struct empd_decision *hist;	/* ring of cfg.history entries */
	unsigned int hist_next;
	unsigned int hist_len;
	uint64_t evaluations;
	int dry_run;
	int verbose;
	double started;			/* wall clock */
	const char *last_event;		/* name of the latest netlink event */
	int events;			/* 1: listening, 0: not available */
};

/* state.c */
int empd_sample(struct empd *d);
void empd_forget(struct empd *d, const char *name);
int empd_evaluate(struct empd *d, int print);
void empd_apply_sysfs(struct empd *d, struct empd_inst *in);
double empd_wall(void);
double empd_mono(void);

/* report.c */
char *empd_report_json(const struct empd *d, size_t *len);
int empd_listen_unix(const char *path);
int empd_listen_http(unsigned int port);
void empd_serve_unix(const struct empd *d, int lfd);
void empd_serve_http(const struct empd *d, int lfd);

/* main.c */
void empd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* EMPD_H */
