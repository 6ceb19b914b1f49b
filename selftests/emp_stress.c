// SPDX-License-Identifier: GPL-2.0
/*
 * emp_stress: a paging torture of one block-device instance, for hunting
 * rare kernel failures (selftests/guest/paging_stress.sh runs it in a loop;
 * it is not part of the default suite).
 *
 * It makes instance NAME on the guest's NVMe disk (default 64 MiB of 64 KiB
 * blocks with 4 KiB subblocks behind 8 MiB of DRAM), maps it whole and runs
 * THREADS threads for SECS seconds. Each thread owns the pages whose number
 * modulo THREADS is its own and, at random: reads one of its pages and
 * checks it holds exactly the version it last wrote there, then writes the
 * next one; reads a page of another thread (every word must belong to that
 * page and place, whatever its version); or reads a run of 32 pages in
 * order (which starts read-ahead within the block and into the blocks after
 * it). Three accesses in four go to a hot window of a quarter of the budget
 * that moves on every 2 s, the others anywhere. At the end every page is
 * checked against its last version. One result line on standard output;
 * exit 0 if every check passed, 1 on a wrong word or a failed set-up.
 *
 * Usage: emp_stress [-n NAME] [-s SECS] [-t THREADS] [-m SIZE_MIB]
 *                   [-b BLOCK_KIB] [-u SUB_KIB] [-d BUDGET_MIB]
 */
#include <pthread.h>

#include "lib/emp_test.h"

#define MAX_THREADS	16
#define SEQ_RUN		32
#define HOT_MOVE_SECS	2

struct cfg {
	const char *name;
	double secs;
	unsigned int threads;
	struct et_geom g;
};

struct worker {
	pthread_t th;
	unsigned int id, nthreads;
	uint8_t *map;
	uint64_t npages, hot;
	uint32_t *ver;		/* per page; only its owner writes it */
	uint64_t seed;
	double t0, secs;
	uint64_t ops;
	int bad;
	char msg[240];
};

static volatile int stop;

static uint64_t pick(struct worker *w, uint64_t r, double now)
{
	if (r % 4) {
		uint64_t start = (uint64_t)((now - w->t0) / HOT_MOVE_SECS) * w->hot;

		return (start + (r >> 8) % w->hot) % w->npages;
	}
	return (r >> 8) % w->npages;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	double now = et_now();

	while (!stop && !w->bad) {
		uint64_t r = et_rand(&w->seed), pg = pick(w, r, now);
		unsigned int kind = (r >> 60) & 3;
		int bad;

		if (kind < 2) {
			/* Own page: the exact version, then the next one. */
			pg -= pg % w->nthreads;
			pg += w->id;
			if (pg >= w->npages)
				pg = w->id;
			bad = et_check_ver(w->map + pg * ET_PAGE, pg, w->ver[pg]);
			if (bad >= 0) {
				snprintf(w->msg, sizeof(w->msg),
					 "thread %u: own page %llu v%u word %d is %#llx", w->id,
					 (unsigned long long)pg, w->ver[pg], bad,
					 (unsigned long long)((uint64_t *)(w->map + pg * ET_PAGE))[bad]);
				w->bad = 1;
				break;
			}
			w->ver[pg] = w->ver[pg] % 0x7ffe + 1;
			et_fill_page(w->map + pg * ET_PAGE, pg, w->ver[pg]);
		} else {
			uint64_t n = kind == 2 ? 1 : SEQ_RUN;

			for (uint64_t i = 0; i < n && pg + i < w->npages; i++) {
				bad = et_check_page_any(w->map + (pg + i) * ET_PAGE, pg + i);
				if (bad >= 0) {
					snprintf(w->msg, sizeof(w->msg),
						 "thread %u: page %llu word %d is %#llx", w->id,
						 (unsigned long long)(pg + i), bad,
						 (unsigned long long)((uint64_t *)(w->map +
							(pg + i) * ET_PAGE))[bad]);
					w->bad = 1;
					break;
				}
			}
		}
		if (!(++w->ops & 31)) {
			now = et_now();
			if (now - w->t0 >= w->secs)
				break;
		}
	}
	return NULL;
}

static int parse(struct cfg *c, int argc, char **argv)
{
	int o;

	*c = (struct cfg){ .name = "stress", .secs = 20, .threads = 4,
			   .g = { .size = 64 * ET_MIB, .block = 64 << 10, .sub = 4 << 10,
				  .budget = 8 * ET_MIB } };
	while ((o = getopt(argc, argv, "n:s:t:m:b:u:d:")) != -1) {
		switch (o) {
		case 'n': c->name = optarg; break;
		case 's': c->secs = atof(optarg); break;
		case 't': c->threads = atoi(optarg); break;
		case 'm': c->g.size = strtoull(optarg, NULL, 0) * ET_MIB; break;
		case 'b': c->g.block = strtoul(optarg, NULL, 0) << 10; break;
		case 'u': c->g.sub = strtoul(optarg, NULL, 0) << 10; break;
		case 'd': c->g.budget = strtoull(optarg, NULL, 0) * ET_MIB; break;
		default: return -1;
		}
	}
	if (optind != argc || !c->threads || c->threads > MAX_THREADS || c->secs <= 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS];
	struct emp_stat st;
	struct et_inst in;
	const char *why = "";
	uint64_t npages, ops = 0, seed = et_seed();
	uint32_t *ver;
	double t0, t1;
	int ctl, err, bad = 0;
	struct cfg c;

	if (parse(&c, argc, argv)) {
		fprintf(stderr, "usage: emp_stress [-n NAME] [-s SECS] [-t THREADS] [-m SIZE_MIB] "
			"[-b BLOCK_KIB] [-u SUB_KIB] [-d BUDGET_MIB]\n");
		return 2;
	}
	ctl = emp_ctl_open();
	if (ctl < 0) {
		fprintf(stderr, "emp_stress: /dev/emp: %s\n", strerror(-ctl));
		return 1;
	}
	err = et_inst_up(&in, ctl, c.name, &c.g, &why);
	if (err) {
		fprintf(stderr, "emp_stress: %s: %s\n", why, strerror(-err));
		return 1;
	}
	npages = et_pages(&in);
	ver = calloc(npages, sizeof(*ver));
	if (!ver)
		return 1;
	t0 = et_now();
	for (unsigned int i = 0; i < c.threads; i++) {
		w[i] = (struct worker){ .id = i, .nthreads = c.threads, .map = in.map,
					.npages = npages, .ver = ver, .seed = et_rand(&seed),
					.t0 = t0, .secs = c.secs,
					.hot = c.g.budget / 4 / ET_PAGE ? c.g.budget / 4 / ET_PAGE : 1 };
		if (pthread_create(&w[i].th, NULL, worker_fn, &w[i])) {
			fprintf(stderr, "emp_stress: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned int i = 0; i < c.threads; i++) {
		pthread_join(w[i].th, NULL);
		ops += w[i].ops;
		if (w[i].bad) {
			printf("emp_stress: %s\n", w[i].msg);
			bad = 1;
		}
	}
	t1 = et_now();
	for (uint64_t pg = 0; pg < npages && !bad; pg++) {
		int b = et_check_ver(in.map + pg * ET_PAGE, pg, ver[pg]);

		if (b >= 0) {
			printf("emp_stress: final check: page %llu v%u word %d is %#llx\n",
			       (unsigned long long)pg, ver[pg], b,
			       (unsigned long long)((uint64_t *)(in.map + pg * ET_PAGE))[b]);
			bad = 1;
		}
	}
	if (emp_stat(ctl, c.name, &st) == 0)
		printf("emp_stress: %s %llu ops in %.1f s, %u threads; faults %llu evictions %llu "
		       "fetches %llu prefetched %llu writebacks %llu io_errors %llu sigbus %llu\n",
		       bad ? "FAILED after" : "ok:", (unsigned long long)ops, t1 - t0, c.threads,
		       (unsigned long long)st.faults, (unsigned long long)st.evictions,
		       (unsigned long long)st.fetches, (unsigned long long)st.prefetched,
		       (unsigned long long)st.writebacks, (unsigned long long)st.io_errors,
		       (unsigned long long)st.sigbus);
	free(ver);
	err = et_inst_down(&in);
	if (err) {
		printf("emp_stress: destroy: %s\n", strerror(-err));
		bad = 1;
	}
	close(ctl);
	return bad;
}
