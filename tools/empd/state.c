// SPDX-License-Identifier: GPL-2.0
/*
 * The instances as empd sees them: one EMP_IOC_STAT sample each per
 * evaluation, rates from the difference of two samples, the policy's
 * answer applied with EMP_IOC_RESIZE (every shrink before any growth, so
 * the budgets never sum above the pool, not even between two resizes),
 * and the rule's sysfs settings written once per instance.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "empd.h"

static const unsigned int cold_ages[EMP_COLD_BUCKETS] = EMP_COLD_AGES;

/* The struct a module without EMP_FEAT_MONITOR fills ends before stall_ns. */
#define MONITOR_END	(offsetof(struct emp_stat, cold_bytes) + sizeof(((struct emp_stat *)0)->cold_bytes))

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double empd_wall(void)
{
	return clock_s(CLOCK_REALTIME);
}

double empd_mono(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static struct empd_inst *find(struct empd *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->nr_inst; i++)
		if (!strcmp(d->inst[i].name, name))
			return &d->inst[i];
	return NULL;
}

static struct empd_inst *add(struct empd *d, const char *name)
{
	struct empd_inst *in;

	if (d->nr_inst == d->cap_inst) {
		unsigned int cap = d->cap_inst ? d->cap_inst * 2 : 16;

		in = realloc(d->inst, cap * sizeof(*in));
		if (!in)
			return NULL;
		d->inst = in;
		d->cap_inst = cap;
	}
	in = &d->inst[d->nr_inst++];
	memset(in, 0, sizeof(*in));
	snprintf(in->name, sizeof(in->name), "%s", name);
	in->rule = empd_rule_for(&d->cfg, name);
	return in;
}

void empd_forget(struct empd *d, const char *name)
{
	struct empd_inst *in = find(d, name);

	if (!in)
		return;
	empd_log(LOG_INFO, "%s: gone; its budget returns to the pool", name);
	*in = d->inst[--d->nr_inst];
}

static int write_attr(const char *name, const char *attr, long value)
{
	char path[160], buf[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "/sys/class/emp/" EMP_INST_PREFIX "%s/%s", name, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", value);
	if (write(fd, buf, (size_t)n) != n)
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

void empd_apply_sysfs(struct empd *d, struct empd_inst *in)
{
	const struct empd_rule *r = in->rule;
	int err;

	if (in->sysfs_done || d->dry_run)
		return;
	in->sysfs_done = 1;
	/* The kernel's idle ages (the cold bytes) need its age scanner. */
	err = write_attr(in->name, "age_scan_ms", d->cfg.interval_ms < 100 ? 100 : d->cfg.interval_ms);
	if (err)
		empd_log(LOG_WARNING, "%s: cannot set age_scan_ms: %s%s", in->name,
			 strerror(-err), err == -ENOENT ? " (an emp.ko without per-instance "
			 "age scanning: its cold bytes stay unknown)" : "");
	if (r->cold_age != EMPD_UNSET) {
		err = write_attr(in->name, "cold_age_s", r->cold_age);
		if (err)
			empd_log(LOG_WARNING, "%s: cannot set cold_age_s to %ld: %s%s", in->name,
				 r->cold_age, strerror(-err),
				 err == -ENOENT ? " (emp.ko without EMP_FEAT_MONITOR?)" : "");
	}
	if (r->pressure_threshold != EMPD_UNSET) {
		err = write_attr(in->name, "pressure_threshold", r->pressure_threshold);
		if (err)
			empd_log(LOG_WARNING, "%s: cannot set pressure_threshold to %ld: %s%s",
				 in->name, r->pressure_threshold, strerror(-err),
				 err == -ENOENT ? " (emp.ko without EMP_FEAT_MONITOR?)" : "");
	}
}

/* The cold_bytes bucket of the largest age not above @idle_age. */
static unsigned int cold_bucket(unsigned int idle_age)
{
	unsigned int i, b = 0;

	for (i = 0; i < EMP_COLD_BUCKETS; i++)
		if (cold_ages[i] <= idle_age)
			b = i;
	return b;
}

/* Rates and policy input of @in from its latest two samples. */
static void derive(const struct empd *d, struct empd_inst *in)
{
	const struct emp_stat *st = &in->st;
	struct empd_pin *p = &in->pin;
	double dt = in->t - in->prev_t;

	memset(p, 0, sizeof(*p));
	p->inst_size = st->inst_size;
	p->block_size = st->block_size;
	p->budget = st->dram_budget;
	p->resident = st->resident;
	p->min = in->rule->min;
	p->max = in->rule->max;
	p->weight = in->rule->weight;
	if (in->monitor && in->samples >= 2 && dt > 0) {
		uint64_t ds = st->stall_ns >= in->prev_stall_ns ? st->stall_ns - in->prev_stall_ns : 0;
		uint64_t dr = st->refaults >= in->prev_refaults ? st->refaults - in->prev_refaults : 0;

		p->have_rates = 1;
		p->stall = (double)ds / (dt * 1e9) * 1000.0;
		if (p->stall > 1000)
			p->stall = 1000;
		p->refaults = (double)dr / dt;
	}
	if (in->monitor && st->age_scans) {
		p->have_cold = 1;
		p->cold = st->cold_bytes[cold_bucket(in->rule->idle_age)];
	}
	(void)d;
}

int empd_sample(struct empd *d)
{
	char (*names)[EMP_NAME_MAX] = NULL;
	unsigned int room = 0, i;
	int n, err;

	for (;;) {	/* the list may grow between the count and the copy */
		n = emp_list(d->ctl_fd, names, room);
		if (n < 0 || (unsigned int)n <= room)
			break;
		room = (unsigned int)n + 8;
		free(names);
		names = calloc(room, EMP_NAME_MAX);
		if (!names)
			return -ENOMEM;
	}
	if (n < 0) {
		free(names);
		return n;
	}
	for (i = 0; i < d->nr_inst; i++)
		d->inst[i].seen = 0;
	for (i = 0; i < (unsigned int)n; i++) {
		struct empd_inst *in = find(d, names[i]);
		struct emp_stat st;

		err = emp_stat(d->ctl_fd, names[i], &st);
		if (err == -ENOENT)
			continue;	/* destroyed since the list */
		if (err) {
			empd_log(LOG_ERR, "stat %s: %s", names[i], strerror(-err));
			continue;
		}
		if (!in) {
			in = add(d, names[i]);
			if (!in) {
				free(names);
				return -ENOMEM;
			}
			empd_log(LOG_INFO, "%s: joins the pool (budget %llu, rule %s of line %u)",
				 in->name, (unsigned long long)st.dram_budget, in->rule->pattern,
				 in->rule->line);
		}
		if (in->samples) {
			in->prev_stall_ns = in->st.stall_ns;
			in->prev_refaults = in->st.refaults;
			in->prev_t = in->t;
		}
		in->st = st;
		in->t = empd_mono();
		in->monitor = st.size >= MONITOR_END;
		in->samples++;
		in->seen = 1;
		empd_apply_sysfs(d, in);
	}
	free(names);
	for (i = 0; i < d->nr_inst; )
		if (!d->inst[i].seen)
			empd_forget(d, d->inst[i].name);
		else
			i++;
	for (i = 0; i < d->nr_inst; i++)
		derive(d, &d->inst[i]);
	return 0;
}

static void record(struct empd *d, const struct empd_inst *in, uint64_t to, int err)
{
	struct empd_decision *h = &d->hist[d->hist_next];

	memset(h, 0, sizeof(*h));
	h->when = empd_wall();
	snprintf(h->name, sizeof(h->name), "%s", in->name);
	h->from = in->pin.budget;
	h->to = to;
	h->reason = in->pout.reason;
	h->err = err;
	h->stall = in->pin.stall;
	h->refaults = in->pin.refaults;
	h->ws = in->pout.ws;
	d->hist_next = (d->hist_next + 1) % d->cfg.history;
	if (d->hist_len < d->cfg.history)
		d->hist_len++;
}

static void log_decision(const struct empd *d, const struct empd_inst *in, int err, int print)
{
	char b[3][32];
	const char *what = in->pout.budget < in->pin.budget ? "shrink" : "grow";

	if (print)
		printf("%s %s %s -> %s reason=%s stall=%.1f%% refaults=%.1f/s ws=%s%s%s\n",
		       what, in->name, emp_format_size(in->pin.budget, b[0], sizeof(b[0])),
		       emp_format_size(in->pout.budget, b[1], sizeof(b[1])),
		       empd_reason_name(in->pout.reason), in->pin.stall / 10, in->pin.refaults,
		       emp_format_size(in->pout.ws, b[2], sizeof(b[2])),
		       err ? " error=" : "", err ? strerror(-err) : "");
	empd_log(err ? LOG_ERR : LOG_NOTICE, "%s%s %s %s -> %s (%s; stall %.1f%%, %.1f refaults/s, "
		 "working set %s)%s%s", d->dry_run ? "would " : "", what, in->name,
		 emp_format_size(in->pin.budget, b[0], sizeof(b[0])),
		 emp_format_size(in->pout.budget, b[1], sizeof(b[1])),
		 empd_reason_name(in->pout.reason), in->pin.stall / 10, in->pin.refaults,
		 emp_format_size(in->pout.ws, b[2], sizeof(b[2])),
		 err ? ": " : "", err ? strerror(-err) : "");
}

/*
 * Apply one change. After a failed shrink the budget may or may not have
 * changed (EIO changes it); the stat afterwards says, so that the growth
 * that follows is checked against the budgets really in force.
 */
static int apply(struct empd *d, struct empd_inst *in, uint64_t *in_force, int print)
{
	struct emp_stat st;
	int err = 0;

	if (!d->dry_run) {
		err = emp_resize(d->ctl_fd, in->name, in->pout.budget);
		if (err && !emp_stat(d->ctl_fd, in->name, &st))
			*in_force = st.dram_budget;
		else if (!err)
			*in_force = in->pout.budget;
	} else {
		*in_force = in->pout.budget;
	}
	log_decision(d, in, err, print);
	record(d, in, in->pout.budget, err);
	if (!err) {
		in->last_reason = in->pout.reason;
		in->last_change = empd_wall();
		in->st.dram_budget = in->pout.budget;
	}
	return err;
}

int empd_evaluate(struct empd *d, int print)
{
	struct empd_params p = {
		.pool = d->cfg.pool, .stall_high = d->cfg.stall_high,
		.refault_high = d->cfg.refault_high, .cold_share = d->cfg.cold_share,
		.headroom = d->cfg.headroom,
	};
	struct empd_pin *pin;
	struct empd_pout *pout;
	uint64_t total = 0, *force;
	unsigned int i, changes, failed = 0;

	d->evaluations++;
	if (!d->nr_inst)
		return 0;
	pin = calloc(d->nr_inst, sizeof(*pin));
	pout = calloc(d->nr_inst, sizeof(*pout));
	force = calloc(d->nr_inst, sizeof(*force));
	if (!pin || !pout || !force) {
		free(pin);
		free(pout);
		free(force);
		return -ENOMEM;
	}
	for (i = 0; i < d->nr_inst; i++)
		pin[i] = d->inst[i].pin;
	changes = empd_policy(&p, pin, pout, d->nr_inst);
	for (i = 0; i < d->nr_inst; i++) {
		d->inst[i].pout = pout[i];
		force[i] = pin[i].budget;
	}
	/* Shrinks first. */
	for (i = 0; changes && i < d->nr_inst; i++)
		if (pout[i].budget < pin[i].budget && apply(d, &d->inst[i], &force[i], print))
			failed++;
	for (i = 0; i < d->nr_inst; i++)
		total += force[i];
	/* Then growth, each only if the budgets in force leave room for it. */
	for (i = 0; changes && i < d->nr_inst; i++) {
		uint64_t more = pout[i].budget - pin[i].budget;

		if (pout[i].budget <= pin[i].budget)
			continue;
		if (total + more > d->cfg.pool && total + more > total) {
			empd_log(LOG_WARNING, "%s: growth to %llu held back: a shrink failed and the "
				 "pool has no room", d->inst[i].name,
				 (unsigned long long)pout[i].budget);
			continue;
		}
		if (apply(d, &d->inst[i], &force[i], print))
			failed++;
		total = total - pin[i].budget + force[i];
	}
	for (i = 0; i < d->nr_inst; i++)
		d->inst[i].pin.budget = force[i];
	free(pin);
	free(pout);
	free(force);
	return failed ? -EIO : 0;
}
