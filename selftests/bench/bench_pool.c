// SPDX-License-Identifier: GPL-2.0
/*
 * emp_bench pool (see emp_bench.c and docs/bench.md): several instances that
 * share one DRAM pool, each worked by a thread of its own through the same
 * timed phases, for comparing the balancer (empd) with a static split. The
 * guest driver (bench_emp.sh) creates the instances, starts empd or not,
 * and runs:
 *
 *   emp_bench pool --prep --names A+B+C --phases PH [--budget MiB]
 *       write word 0 of every page of each instance's window (the largest
 *       working set it has in PH), then evict all of it and set the budget
 *       to --budget: every run starts from the same cold state.
 *   emp_bench pool --names A+B+C --phases PH --secs S [--pool MiB --contender C]
 *       the timed run: PH is one phase per '+', each a working set in MiB
 *       per instance joined by '/' (24/24/0+0/24/24: two phases of three
 *       instances); in each phase of S seconds every thread reads and
 *       rewrites word 0 of random pages of the first WS MiB of its instance
 *       (0: it sleeps). Each word is checked against the count of writes to
 *       it. Budgets and resident bytes are sampled every 100 ms.
 *
 * Output: one "# BENCH" line per instance and phase ("bench":"pool": its
 * accesses, time-averaged budget and resident bytes, the instance counters
 * over the phase) and one for the run ("bench":"pool_total": accesses/s
 * summed over the instances, the time-averaged sum of budgets).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

#define POOL_MAX_INST	8
#define POOL_MAX_PHASES	16
#define POOL_SAMPLE_MS	100

struct pool_inst {
	char name[EMP_NAME_MAX];
	uint64_t ws[POOL_MAX_PHASES];	/* bytes per phase, 0: idle */
	uint64_t window;		/* the largest of ws[] */
	uint8_t *map;
	int fd;
	uint32_t *writes;		/* per page of the window */
	uint64_t seed;
	_Atomic uint64_t done;		/* accesses so far */
	uint64_t wrong;
	/* per phase, filled by the main thread */
	uint64_t acc[POOL_MAX_PHASES];
	double budget_sum[POOL_MAX_PHASES], resident_sum[POOL_MAX_PHASES];
	unsigned int samples[POOL_MAX_PHASES];
	struct emp_stat *st;		/* POOL_MAX_PHASES + 1 snapshots */
};

struct pool_run {
	struct pool_inst in[POOL_MAX_INST];
	unsigned int n, phases;
	double secs, t0;
	uint64_t pool, budget;
	const char *contender;
	int prep;
	pthread_barrier_t go;
};

static void usage(const char *why)
{
	fprintf(stderr, "emp_bench pool: %s\n"
		"usage: emp_bench pool [--prep] --names A+B+C --phases WS/WS/WS+... "
		"[--secs S --pool MiB --budget MiB --contender NAME]\n", why);
	exit(2);
}

/* "24/24/0+0/24/24": one phase per '+', one working set (MiB) per '/'. */
static void parse_phases(struct pool_run *r, const char *s)
{
	const char *p = s;
	char *end;

	r->phases = 0;
	while (*p) {
		if (r->phases == POOL_MAX_PHASES)
			usage("too many phases");
		for (unsigned int i = 0; i < r->n; i++) {
			unsigned long long mib = strtoull(p, &end, 10);

			if (end == p || (i + 1 < r->n ? *end != '/' : (*end && *end != '+')))
				usage("bad --phases (one MiB figure per instance, '/' between, '+' between phases)");
			r->in[i].ws[r->phases] = mib * MIB;
			if (mib * MIB > r->in[i].window)
				r->in[i].window = mib * MIB;
			p = *end ? end + 1 : end;
		}
		r->phases++;
	}
	if (!r->phases)
		usage("no phases");
}

static void parse_names(struct pool_run *r, const char *s)
{
	char buf[POOL_MAX_INST * EMP_NAME_MAX], *tok, *save;

	if (strlen(s) >= sizeof(buf))
		usage("--names too long");
	strcpy(buf, s);
	r->n = 0;
	for (tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
		if (r->n == POOL_MAX_INST)
			usage("too many instances");
		if (emp_set_name(r->in[r->n].name, tok))
			usage("bad instance name");
		r->n++;
	}
	if (!r->n)
		usage("no --names");
}

static void parse(struct pool_run *r, int argc, char **argv)
{
	const char *names = NULL, *phases = NULL;

	r->secs = 10;
	r->contender = "empd";
	for (int i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--prep")) {
			r->prep = 1;
			continue;
		}
		if (!v)
			usage("an option without its value");
		i++;
		if (!strcmp(k, "--names")) names = v;
		else if (!strcmp(k, "--phases")) phases = v;
		else if (!strcmp(k, "--secs")) r->secs = atof(v);
		else if (!strcmp(k, "--pool")) r->pool = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--budget")) r->budget = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--contender")) r->contender = v;
		else usage("unknown option");
	}
	if (!names || !phases)
		usage("--names and --phases are needed");
	if (!(r->secs > 0))
		usage("--secs must be positive");
	parse_names(r, names);
	parse_phases(r, phases);
}

static void inst_open(struct pool_inst *in)
{
	in->fd = et_open_node(in->name, O_RDWR);
	if (in->fd < 0)
		die(in->name, in->fd);
	in->map = in->window ? mmap(NULL, in->window, PROT_READ | PROT_WRITE, MAP_SHARED,
				    in->fd, 0) : NULL;
	if (in->map == MAP_FAILED)
		die("mmap instance", errno);
}

/* Untimed: the window written once, then all of it evicted. */
static int pool_prep(int ctl, struct pool_run *r)
{
	for (unsigned int i = 0; i < r->n; i++) {
		struct pool_inst *in = &r->in[i];
		struct emp_stat st;
		uint64_t budget;
		int err;

		inst_open(in);
		for (uint64_t pg = 0; pg < in->window / ET_PAGE; pg++)
			*(volatile uint64_t *)(in->map + pg * ET_PAGE) = et_word(pg, 1, 0);
		if ((err = emp_stat(ctl, in->name, &st)))
			die("stat", err);
		budget = r->budget ? r->budget : st.dram_budget;
		inst_cold(ctl, in->name, st.block_size, budget);
		if (in->window)
			munmap(in->map, in->window);
		close(in->fd);
	}
	return 0;
}

struct thread_arg {
	struct pool_run *r;
	struct pool_inst *in;
};

/* One instance's thread: the phases, back to back, from the common start. */
static void *worker(void *p)
{
	struct thread_arg *a = p;
	struct pool_run *r = a->r;
	struct pool_inst *in = a->in;
	uint64_t n = 0;

	pthread_barrier_wait(&r->go);
	for (unsigned int ph = 0; ph < r->phases; ph++) {
		double end = r->t0 + (ph + 1) * r->secs;
		uint64_t npg = in->ws[ph] / ET_PAGE;

		if (!npg) {
			while (et_now() < end)
				et_msleep(20);
			continue;
		}
		while (et_now() < end) {
			for (int k = 0; k < 64; k++, n++) {
				uint64_t pg = (et_rand(&in->seed) >> 8) % npg;
				volatile uint64_t *w = (volatile uint64_t *)(in->map + pg * ET_PAGE);
				uint64_t v = *w;

				if (v != et_word(pg, 1, 0) + in->writes[pg])
					in->wrong++;
				*w = v + 1;
				in->writes[pg]++;
			}
			atomic_store_explicit(&in->done, n, memory_order_relaxed);
		}
	}
	return NULL;
}

static void sample(int ctl, struct pool_run *r, unsigned int ph)
{
	struct emp_stat st;

	for (unsigned int i = 0; i < r->n; i++) {
		struct pool_inst *in = &r->in[i];

		if (emp_stat(ctl, in->name, &st))
			continue;
		in->budget_sum[ph] += (double)st.dram_budget;
		in->resident_sum[ph] += (double)st.resident;
		in->samples[ph]++;
	}
}

static void snapshot(int ctl, struct pool_run *r, unsigned int k)
{
	for (unsigned int i = 0; i < r->n; i++) {
		int err = emp_stat(ctl, r->in[i].name, &r->in[i].st[k]);

		if (err)
			die("stat", err);
		if (k)
			r->in[i].acc[k - 1] = atomic_load(&r->in[i].done);
	}
}

static void print_phase(struct pool_run *r, struct pool_inst *in, unsigned int ph)
{
	uint64_t acc = in->acc[ph] - (ph ? in->acc[ph - 1] : 0);
	unsigned int ns = in->samples[ph] ? in->samples[ph] : 1;

	printf("# BENCH {\"bench\":\"pool\",\"contender\":\"%s\",\"pool\":%llu,\"phase\":%u,"
	       "\"name\":\"%s\",\"block\":%u,\"subblock\":%u,\"ws\":%llu,\"secs\":%.3f,"
	       "\"accesses\":%llu,\"acc_per_s\":%.0f,\"budget_avg\":%.0f,\"budget_end\":%llu,"
	       "\"resident_avg\":%.0f,\"samples\":%u,",
	       r->contender, (unsigned long long)r->pool, ph + 1, in->name,
	       in->st[0].block_size, in->st[0].subblock_size, (unsigned long long)in->ws[ph],
	       r->secs, (unsigned long long)acc, acc / r->secs, in->budget_sum[ph] / ns,
	       (unsigned long long)in->st[ph + 1].dram_budget, in->resident_sum[ph] / ns,
	       in->samples[ph]);
	print_stat_delta(&in->st[ph], &in->st[ph + 1]);
	printf("}\n");
}

static void print_total(struct pool_run *r, double secs)
{
	double budget = 0, resident = 0, acc = 0;
	uint64_t wrong = 0;

	for (unsigned int i = 0; i < r->n; i++) {
		struct pool_inst *in = &r->in[i];

		for (unsigned int ph = 0; ph < r->phases; ph++) {
			unsigned int ns = in->samples[ph] ? in->samples[ph] : 1;

			/* Phases are equally long: the mean of their means. */
			budget += in->budget_sum[ph] / ns / r->phases;
			resident += in->resident_sum[ph] / ns / r->phases;
		}
		acc += (double)in->acc[r->phases - 1];
		wrong += in->wrong;
	}
	printf("# BENCH {\"bench\":\"pool_total\",\"contender\":\"%s\",\"pool\":%llu,"
	       "\"instances\":%u,\"phases\":%u,\"phase_secs\":%.3f,\"secs\":%.3f,"
	       "\"accesses\":%.0f,\"acc_per_s\":%.0f,\"dram_avg\":%.0f,\"resident_avg\":%.0f,"
	       "\"wrong_data\":%llu}\n",
	       r->contender, (unsigned long long)r->pool, r->n, r->phases, r->secs, secs, acc,
	       acc / secs, budget, resident, (unsigned long long)wrong);
}

static int pool_timed(int ctl, struct pool_run *r)
{
	struct thread_arg a[POOL_MAX_INST];
	pthread_t th[POOL_MAX_INST];
	uint64_t wrong = 0;
	double next, t1;
	unsigned int ph = 0;
	int err;

	for (unsigned int i = 0; i < r->n; i++) {
		struct pool_inst *in = &r->in[i];

		inst_open(in);
		in->writes = calloc(in->window / ET_PAGE + 1, sizeof(*in->writes));
		in->st = calloc(r->phases + 1, sizeof(*in->st));
		if (!in->writes || !in->st)
			die("calloc", ENOMEM);
		in->seed = 0x9001ULL * (i + 1);
	}
	pthread_barrier_init(&r->go, NULL, r->n + 1);
	for (unsigned int i = 0; i < r->n; i++) {
		a[i] = (struct thread_arg){ .r = r, .in = &r->in[i] };
		if ((err = pthread_create(&th[i], NULL, worker, &a[i])))
			die("pthread_create", err);
	}
	snapshot(ctl, r, 0);
	r->t0 = et_now();
	pthread_barrier_wait(&r->go);
	next = r->t0;
	while (ph < r->phases) {
		double now = et_now(), edge = r->t0 + (ph + 1) * r->secs;

		if (now >= edge) {
			snapshot(ctl, r, ++ph);
			continue;
		}
		if (now >= next) {
			sample(ctl, r, ph);
			next += POOL_SAMPLE_MS / 1000.0;
		}
		now = et_now();
		if (next > now || edge > now)
			et_msleep((unsigned int)(1000 * ((next < edge ? next : edge) - now)) + 1);
	}
	for (unsigned int i = 0; i < r->n; i++) {
		pthread_join(th[i], NULL);
		wrong += r->in[i].wrong;
	}
	t1 = et_now();
	pthread_barrier_destroy(&r->go);
	for (unsigned int i = 0; i < r->n; i++)
		for (ph = 0; ph < r->phases; ph++)
			print_phase(r, &r->in[i], ph);
	print_total(r, r->phases * r->secs);
	fflush(stdout);
	if (t1 - r->t0 > r->phases * r->secs + 5)
		fprintf(stderr, "emp_bench pool: threads ended %.1f s after the last phase\n",
			t1 - r->t0 - r->phases * r->secs);
	for (unsigned int i = 0; i < r->n; i++) {
		struct pool_inst *in = &r->in[i];

		if (in->window)
			munmap(in->map, in->window);
		close(in->fd);
		free(in->writes);
		free(in->st);
	}
	if (wrong)
		fprintf(stderr, "emp_bench pool: %llu words read wrong\n", (unsigned long long)wrong);
	return wrong ? 1 : 0;
}

/**
 * do_pool() - the pool mode: parse its own options, then prepare or run.
 * @argc: options after "pool"
 * @argv: the options
 *
 * Context: the main thread of emp_bench; dies on set-up failures.
 * Return: 0, or 1 when a word read back wrong.
 */
int do_pool(int argc, char **argv)
{
	static struct pool_run r;	/* large: not on the stack */
	int ctl = emp_ctl_open(), rc;

	if (ctl < 0)
		die("open /dev/emp", ctl);
	parse(&r, argc, argv);
	rc = r.prep ? pool_prep(ctl, &r) : pool_timed(ctl, &r);
	close(ctl);
	return rc;
}
