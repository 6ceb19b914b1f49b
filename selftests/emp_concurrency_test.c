// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of concurrent faults on one instance: threads of one
 * process, two processes that each open and map the instance, and a
 * MAP_SHARED mapping inherited over fork(). The working set is four times
 * the DRAM budget, so evictions run all along; the budget is sampled while
 * the workload runs. Needs emp.ko loaded and /dev/nvme0n1 free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define NAME		"st_concur"
#define NTHREADS	4
#define OPS		600

/* 4 MiB of 16K blocks with 4K subblocks, budget 1 MiB (64 blocks). */
static const struct et_geom geom = {
	.size = 4 * ET_MIB, .block = 16 << 10, .sub = 4 << 10, .budget = ET_MIB,
};

struct worker {
	pthread_t th;
	unsigned int id;
	uint8_t *map;
	size_t npages;
	uint32_t *ver;		/* per page; a worker writes only its own pages */
	uint64_t seed;
	unsigned int errors;
	char msg[200];
};

/*
 * Random operations: rewrite one of our pages (checking the version it had
 * first) or read any page (which must hold words of that page only).
 */
static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	size_t own = (w->npages + NTHREADS - 1 - w->id) / NTHREADS;

	for (int op = 0; op < OPS && !w->errors; op++) {
		uint64_t r = et_rand(&w->seed);
		size_t pg;
		int bad;

		if (r & 1) {
			pg = (size_t)((r >> 8) % own) * NTHREADS + w->id;
			bad = et_check_ver(w->map + pg * ET_PAGE, pg, w->ver[pg]);
			if (bad >= 0) {
				snprintf(w->msg, sizeof(w->msg), "own page %zu v%u word %d is %#llx",
					 pg, w->ver[pg], bad,
					 (unsigned long long)((uint64_t *)(w->map + pg * ET_PAGE))[bad]);
				w->errors++;
				break;
			}
			w->ver[pg]++;
			et_fill_page(w->map + pg * ET_PAGE, pg, w->ver[pg]);
		} else {
			pg = (size_t)((r >> 8) % w->npages);
			bad = et_check_page_any(w->map + pg * ET_PAGE, pg);
			if (bad >= 0) {
				snprintf(w->msg, sizeof(w->msg), "foreign page %zu word %d is %#llx",
					 pg, bad,
					 (unsigned long long)((uint64_t *)(w->map + pg * ET_PAGE))[bad]);
				w->errors++;
			}
		}
	}
	return NULL;
}

FIXTURE(concur) {
	int ctl;
	struct et_inst in;
	uint64_t seed;
};

FIXTURE_SETUP(concur)
{
	const char *why = "";
	int err;

	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	err = et_inst_up(&self->in, self->ctl, NAME, &geom, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	self->seed = et_seed();
	TH_LOG("seed %#llx", (unsigned long long)self->seed);
}

FIXTURE_TEARDOWN(concur)
{
	EXPECT_EQ(0, et_inst_down(&self->in));
	close(self->ctl);
}

/* Sample the budget every few ms until *@done; return the worst overshoot. */
static uint64_t watch_budget(int ctl, volatile int *done, uint64_t *samples)
{
	struct emp_stat st;
	uint64_t worst = 0;

	*samples = 0;
	while (!*done) {
		if (!emp_stat(ctl, NAME, &st)) {
			(*samples)++;
			if (st.resident > st.dram_budget && st.resident - st.dram_budget > worst)
				worst = st.resident - st.dram_budget;
		}
		et_msleep(2);
	}
	return worst;
}

struct joiner {
	struct worker *w;
	volatile int done;
};

static void *join_all(void *arg)
{
	struct joiner *j = arg;

	for (int i = 0; i < NTHREADS; i++)
		pthread_join(j->w[i].th, NULL);
	j->done = 1;
	return NULL;
}

TEST_F_TIMEOUT(concur, threads_random_reads_and_writes, 120)
{
	size_t n = et_pages(&self->in);
	uint32_t *ver = calloc(n, sizeof(*ver));
	struct worker w[NTHREADS];
	struct joiner j = { .w = w };
	pthread_t jt;
	uint64_t over, samples;
	struct emp_stat st;

	ASSERT_NE(NULL, ver);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .id = i, .map = self->in.map, .npages = n,
					.ver = ver, .seed = et_rand(&self->seed) };
		ASSERT_EQ(0, pthread_create(&w[i].th, NULL, worker_fn, &w[i]));
	}
	ASSERT_EQ(0, pthread_create(&jt, NULL, join_all, &j));
	over = watch_budget(self->ctl, &j.done, &samples);
	pthread_join(jt, NULL);
	for (unsigned int i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, w[i].errors) TH_LOG("thread %u: %s", i, w[i].msg);
	}
	EXPECT_EQ(0, over) TH_LOG("resident went %llu bytes over budget (%llu samples)",
				  (unsigned long long)over, (unsigned long long)samples);
	/* The exact final state. */
	for (size_t pg = 0; pg < n; pg++) {
		int bad = et_check_ver(self->in.map + pg * ET_PAGE, pg, ver[pg]);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu v%u word %d", pg, ver[pg], bad);
	}
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LT(0, st.evictions);
	EXPECT_LT(0, st.fetches);
	EXPECT_LE(st.resident, st.dram_budget);
	EXPECT_EQ(0, st.io_errors);
	TH_LOG("%llu faults, %llu evictions, %llu fetches, %llu budget samples",
	       (unsigned long long)st.faults, (unsigned long long)st.evictions,
	       (unsigned long long)st.fetches, (unsigned long long)samples);
	free(ver);
}

/* Write pages pg % 2 == @parity at version @ver. */
static void fill_parity(uint8_t *map, size_t n, int parity, uint32_t ver)
{
	for (size_t pg = parity; pg < n; pg += 2)
		et_fill_page(map + pg * ET_PAGE, pg, ver);
}

/* Return: first page with pg % 2 == @parity not at version @ver, or -1. */
static long check_parity(const uint8_t *map, size_t n, int parity, uint32_t ver)
{
	for (size_t pg = parity; pg < n; pg += 2)
		if (et_check_page(map + pg * ET_PAGE, pg, ver) >= 0)
			return (long)pg;
	return -1;
}

static int wait_byte(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

static void post_byte(int fd)
{
	if (write(fd, "x", 1) != 1)
		_exit(3);
}

/* Exit status of child @pid, or -1 if it did not exit normally. */
static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST_F_TIMEOUT(concur, two_processes_see_each_others_writes, 120)
{
	size_t n = et_pages(&self->in);
	int to_child[2], to_parent[2];
	struct emp_stat st;
	long bad;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Drop what fork() gave us; open and map the instance anew. */
		int fd;
		uint8_t *map;

		munmap(self->in.map, self->in.len);
		close(self->in.fd);
		fd = et_open_node(NAME, O_RDWR);
		if (fd < 0)
			_exit(10);
		map = et_map(fd, self->in.len, 0);
		if (map == MAP_FAILED)
			_exit(11);
		post_byte(to_parent[1]);		/* mapped */
		if (wait_byte(to_child[0]))
			_exit(12);
		fill_parity(map, n, 1, 6);		/* concurrently with the parent */
		post_byte(to_parent[1]);		/* wrote odd pages */
		if (wait_byte(to_child[0]))		/* parent wrote even pages */
			_exit(13);
		bad = check_parity(map, n, 0, 5);
		if (bad >= 0) {
			fprintf(stderr, "# child: even page %ld is wrong\n", bad);
			_exit(14);
		}
		/* Second round: the parent rewrites the odd pages, we read them. */
		post_byte(to_parent[1]);
		if (wait_byte(to_child[0]))
			_exit(15);
		bad = check_parity(map, n, 1, 8);
		if (bad >= 0) {
			fprintf(stderr, "# child: odd page %ld is wrong after round 2\n", bad);
			_exit(16);
		}
		munmap(map, self->in.len);
		close(fd);
		_exit(0);
	}
	ASSERT_EQ(0, wait_byte(to_parent[0]));
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(2, st.nr_open);
	post_byte(to_child[1]);
	fill_parity(self->in.map, n, 0, 5);
	ASSERT_EQ(0, wait_byte(to_parent[0]));
	post_byte(to_child[1]);
	bad = check_parity(self->in.map, n, 1, 6);
	EXPECT_EQ(-1, bad) TH_LOG("parent: odd page %ld is wrong", bad);
	ASSERT_EQ(0, wait_byte(to_parent[0]));
	fill_parity(self->in.map, n, 1, 8);
	post_byte(to_child[1]);
	EXPECT_EQ(0, child_status(pid));
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(1, st.nr_open);
	EXPECT_LT(0, st.evictions);
	EXPECT_LE(st.resident, st.dram_budget);
}

TEST_F_TIMEOUT(concur, fork_shares_the_mapping_both_ways, 120)
{
	size_t n = et_pages(&self->in);
	int to_child[2], to_parent[2];
	struct emp_stat st;
	long bad;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The inherited mapping, nothing else. */
		close(self->in.fd);
		fill_parity(self->in.map, n, 1, 12);	/* concurrently with the parent */
		post_byte(to_parent[1]);
		if (wait_byte(to_child[0]))
			_exit(12);
		bad = check_parity(self->in.map, n, 0, 13);
		if (bad >= 0) {
			fprintf(stderr, "# child: even page %ld is wrong\n", bad);
			_exit(14);
		}
		_exit(0);
	}
	fill_parity(self->in.map, n, 0, 13);
	ASSERT_EQ(0, wait_byte(to_parent[0]));
	post_byte(to_child[1]);
	bad = check_parity(self->in.map, n, 1, 12);
	EXPECT_EQ(-1, bad) TH_LOG("parent: odd page %ld is wrong", bad);
	EXPECT_EQ(0, child_status(pid));

	/* After the child is gone, its writes are still there. */
	bad = check_parity(self->in.map, n, 1, 12);
	EXPECT_EQ(-1, bad) TH_LOG("parent: odd page %ld is wrong after child exit", bad);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(1, st.nr_open);
	EXPECT_LT(0, st.evictions);
	EXPECT_LE(st.resident, st.dram_budget);
}

TEST_HARNESS_MAIN
