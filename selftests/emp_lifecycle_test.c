// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of instance lifecycle under load: munmap, close and process
 * exit while faults are in flight, DESTROY while the node is open or mapped
 * (EBUSY), rmmod while an instance exists (refused), and RESIZE of the DRAM
 * budget while a workload runs. Needs emp.ko loaded and /dev/nvme0n1 free.
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

#define NAME		"st_lifecycle"
#define NTHREADS	4

/* 4 MiB of 64K blocks with 4K subblocks, budget 512K (8 blocks). */
static const struct et_geom geom = {
	.size = 4 * ET_MIB, .block = 64 << 10, .sub = 4 << 10, .budget = 512 << 10,
};

/*
 * A thread that rewrites random pages of its own (pg % NTHREADS == id) and
 * checks each one's previous version, until *stop or until an access
 * raises a signal (the mapping went away under it).
 */
struct hammer {
	pthread_t th;
	unsigned int id;
	uint8_t *map;
	size_t npages;
	uint32_t *ver;
	uint64_t seed;
	volatile int *stop;
	volatile unsigned long iters;
	int sig;		/* signal that ended it, 0 if *stop did */
	int errors;
	char msg[160];
};

/* ver[] bit: a fill of this page was cut short, its version is mixed. */
#define VER_TORN	0x80000000u

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	size_t own = (h->npages + NTHREADS - 1 - h->id) / NTHREADS;

	while (!*h->stop) {
		size_t pg = (size_t)(et_rand(&h->seed) % own) * NTHREADS + h->id;
		uint8_t *p = h->map + pg * ET_PAGE;
		uint32_t v = h->ver[pg];
		int bad = -1, sig;

		if (v & VER_TORN)
			sig = et_try_check_any(p, pg, &bad);
		else
			sig = et_try_check(p, pg, v, &bad);
		if (sig) {
			h->sig = sig;
			break;
		}
		if (bad >= 0) {
			snprintf(h->msg, sizeof(h->msg), "page %zu v%u word %d wrong",
				 pg, v, bad);
			h->errors++;
			break;
		}
		v = ((v & ~VER_TORN) + 1) & 0x7fff;
		v += !v;	/* 0 means never written */
		sig = et_try_fill(p, pg, v);
		if (sig) {
			h->ver[pg] = v | VER_TORN;
			h->sig = sig;
			break;
		}
		h->ver[pg] = v;
		h->iters++;
	}
	return NULL;
}

static void hammers_start(struct __test_metadata *_metadata, struct hammer *h,
			  uint8_t *map, size_t n, uint32_t *ver, volatile int *stop,
			  uint64_t *seed)
{
	for (unsigned int i = 0; i < NTHREADS; i++) {
		h[i] = (struct hammer){ .id = i, .map = map, .npages = n, .ver = ver,
					.seed = et_rand(seed), .stop = stop };
		ASSERT_EQ(0, pthread_create(&h[i].th, NULL, hammer_fn, &h[i]));
	}
}

/* Wait until every hammer has done @iters rounds (or ended), at most ~10 s. */
static void hammers_warm(struct hammer *h, unsigned long iters)
{
	for (int t = 0; t < 5000; t++) {
		int ready = 0;

		for (unsigned int i = 0; i < NTHREADS; i++)
			ready += h[i].iters >= iters || h[i].sig || h[i].errors;
		if (ready == NTHREADS)
			return;
		et_msleep(2);
	}
}

FIXTURE(lc) {
	int ctl;
	struct et_inst in;
	uint64_t seed;
};

FIXTURE_SETUP(lc)
{
	const char *why = "";
	int err;

	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	err = et_inst_up(&self->in, self->ctl, NAME, &geom, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	self->seed = et_seed();
	TH_LOG("seed %#llx", (unsigned long long)self->seed);
	et_catch_signals();
}

FIXTURE_TEARDOWN(lc)
{
	if (self->ctl < 0)
		self->ctl = emp_ctl_open();
	self->in.ctl = self->ctl;
	if (self->in.name[0]) {
		EXPECT_EQ(0, et_inst_down(&self->in));
	}
	close(self->ctl);
}

/* Every page of the instance holds only its own words (any version) or zeros. */
static void check_consistent(struct __test_metadata *_metadata, const uint8_t *map, size_t n)
{
	for (size_t pg = 0; pg < n; pg++) {
		int bad = et_check_page_any(map + pg * ET_PAGE, pg);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d is %#llx", pg, bad,
					  (unsigned long long)((const uint64_t *)(map + pg * ET_PAGE))[bad]);
	}
}

/* The instance still works: a full write and read pass. */
static void check_healthy(struct __test_metadata *_metadata, uint8_t *map, size_t n)
{
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(map + pg * ET_PAGE, pg, 0x77);
	for (size_t pg = 0; pg < n; pg++) {
		ASSERT_EQ(-1, et_check_page(map + pg * ET_PAGE, pg, 0x77)) TH_LOG("page %zu", pg);
	}
}

TEST_F_TIMEOUT(lc, munmap_while_faults_in_flight, 90)
{
	size_t n = et_pages(&self->in);
	uint32_t *ver = calloc(n, sizeof(*ver));
	struct hammer h[NTHREADS];
	volatile int stop = 0;
	struct emp_stat st;
	uint8_t *map;

	ASSERT_NE(NULL, ver);
	for (int round = 0; round < 2; round++) {
		map = et_map(self->in.fd, self->in.len, 0);
		ASSERT_NE(MAP_FAILED, map);
		hammers_start(_metadata, h, map, n, ver, &stop, &self->seed);
		hammers_warm(h, 20);
		ASSERT_EQ(0, munmap(map, self->in.len));
		/* Keep the range from being reused: later accesses fault. */
		mmap(map, self->in.len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		for (unsigned int i = 0; i < NTHREADS; i++) {
			pthread_join(h[i].th, NULL);
			EXPECT_EQ(0, h[i].errors) TH_LOG("thread %u: %s", i, h[i].msg);
			EXPECT_EQ(SIGSEGV, h[i].sig) TH_LOG("round %d thread %u", round, i);
		}
		munmap(map, self->in.len);
	}
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(1, st.nr_open);
	EXPECT_EQ(0, st.sigbus);
	EXPECT_LE(st.resident, st.dram_budget);
	check_consistent(_metadata, self->in.map, n);
	check_healthy(_metadata, self->in.map, n);
	free(ver);
}

TEST_F_TIMEOUT(lc, close_while_faults_in_flight, 90)
{
	size_t n = et_pages(&self->in);
	uint32_t *ver = calloc(n, sizeof(*ver));
	struct hammer h[NTHREADS];
	volatile int stop = 0;
	struct emp_stat st;
	uint8_t *map;
	int fd;

	ASSERT_NE(NULL, ver);
	fd = et_open_node(NAME, O_RDWR);
	ASSERT_LE(0, fd);
	map = et_map(fd, self->in.len, 0);
	ASSERT_NE(MAP_FAILED, map);
	hammers_start(_metadata, h, map, n, ver, &stop, &self->seed);
	hammers_warm(h, 20);
	ASSERT_EQ(0, close(fd));
	et_msleep(200);
	/* The mapping holds the file: both the node and the map still count. */
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(2, st.nr_open);
	stop = 1;
	for (unsigned int i = 0; i < NTHREADS; i++) {
		pthread_join(h[i].th, NULL);
		EXPECT_EQ(0, h[i].errors) TH_LOG("thread %u: %s", i, h[i].msg);
		EXPECT_EQ(0, h[i].sig) TH_LOG("thread %u got signal %d", i, h[i].sig);
		EXPECT_LT(0, h[i].iters);
	}
	/* Exact content, read through the other mapping. */
	for (size_t pg = 0; pg < n; pg++) {
		int bad = et_check_ver(self->in.map + pg * ET_PAGE, pg, ver[pg]);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu v%u word %d", pg, ver[pg], bad);
	}
	EXPECT_EQ(-EBUSY, emp_destroy(self->ctl, NAME));
	munmap(map, self->in.len);
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(1, st.nr_open);
	EXPECT_LT(0, st.evictions);
	free(ver);
}

/* A child maps the instance, faults from threads, and leaves abruptly. */
static int child_faults_then_dies(const struct et_inst *in, int how, uint64_t seed)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		size_t n = in->len / ET_PAGE;
		uint32_t *ver = calloc(n, sizeof(*ver));
		struct hammer h[NTHREADS];
		volatile int stop = 0;
		uint8_t *map;
		int fd;

		munmap(in->map, in->len);
		close(in->fd);
		fd = et_open_node(in->name, O_RDWR);
		map = fd < 0 ? MAP_FAILED : et_map(fd, in->len, 0);
		if (map == MAP_FAILED || !ver)
			_exit(10);
		for (unsigned int i = 0; i < NTHREADS; i++) {
			h[i] = (struct hammer){ .id = i, .map = map, .npages = n, .ver = ver,
						.seed = et_rand(&seed), .stop = &stop };
			if (pthread_create(&h[i].th, NULL, hammer_fn, &h[i]))
				_exit(11);
		}
		hammers_warm(h, 20);
		if (how == SIGKILL)
			raise(SIGKILL);
		_exit(0);	/* threads still faulting, file and map still held */
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (how == SIGKILL)
		return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -2;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -3;
}

TEST_F_TIMEOUT(lc, process_exit_while_faults_in_flight, 90)
{
	struct emp_stat st;

	for (int round = 0; round < 4; round++) {
		int how = round & 1 ? SIGKILL : 0;

		ASSERT_EQ(0, child_faults_then_dies(&self->in, how, et_rand(&self->seed)))
			TH_LOG("round %d (%s)", round, how ? "SIGKILL" : "_exit");
		/* The child's file is released on its way out; allow a moment. */
		for (int t = 0; t < 200; t++) {
			ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
			if (st.nr_open == 1)
				break;
			et_msleep(10);
		}
		EXPECT_EQ(1, st.nr_open) TH_LOG("2 s after round %d", round);
		EXPECT_LE(st.resident, st.dram_budget);
	}
	EXPECT_EQ(0, st.sigbus);
	EXPECT_LT(0, st.faults);
	check_consistent(_metadata, self->in.map, et_pages(&self->in));
	check_healthy(_metadata, self->in.map, et_pages(&self->in));
}

TEST_F(lc, destroy_is_busy_while_open_or_mapped)
{
	char path[64];
	struct emp_stat st;
	pid_t pid;
	int pfd[2], status;

	emp_inst_path(NAME, path, sizeof(path));
	et_fill_page(self->in.map, 0, 1);
	/* Open and mapped. */
	EXPECT_EQ(-EBUSY, emp_destroy(self->ctl, NAME));
	/* Open only. */
	ASSERT_EQ(0, munmap(self->in.map, self->in.len));
	self->in.map = MAP_FAILED;
	EXPECT_EQ(-EBUSY, emp_destroy(self->ctl, NAME));
	/* Mapped only. */
	self->in.map = et_map(self->in.fd, self->in.len, 0);
	ASSERT_NE(MAP_FAILED, self->in.map);
	ASSERT_EQ(0, close(self->in.fd));
	self->in.fd = -1;
	EXPECT_EQ(-EBUSY, emp_destroy(self->ctl, NAME));
	/* Mapped only in a child that inherited the mapping. */
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) == 0 &&
		      et_check_page(self->in.map, 0, 1) == -1 ? 0 : 1);
	}
	close(pfd[0]);
	ASSERT_EQ(0, munmap(self->in.map, self->in.len));
	self->in.map = MAP_FAILED;
	EXPECT_EQ(-EBUSY, emp_destroy(self->ctl, NAME));
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(1, st.nr_open);
	close(pfd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nothing holds it now. */
	ASSERT_EQ(0, emp_destroy(self->ctl, NAME));
	self->in.name[0] = 0;
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(-ENOENT, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(-ENOENT, emp_destroy(self->ctl, NAME));
	EXPECT_EQ(0, et_bdev_excl(et_dev()));
}

/* rmmod emp through busybox; put the module back if it went. */
static int try_rmmod(void)
{
	int rc = et_sh("rmmod emp");

	if (rc == 0 && access("/dev/emp", F_OK))
		et_sh("insmod /emp/modules/emp.ko");
	return rc;
}

TEST_F(lc, rmmod_is_refused_while_an_instance_exists)
{
	struct emp_stat st;

	et_fill_page(self->in.map, 0, 3);
	/* Instance open and mapped, control device closed. */
	close(self->ctl);
	self->ctl = -1;
	EXPECT_NE(0, try_rmmod());
	/* Instance neither open nor mapped: it alone must pin the module. */
	munmap(self->in.map, self->in.len);
	self->in.map = MAP_FAILED;
	close(self->in.fd);
	self->in.fd = -1;
	EXPECT_NE(0, try_rmmod());
	ASSERT_EQ(0, access("/dev/emp", F_OK));
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl);
	self->in.ctl = self->ctl;
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	/* And the data is still there. */
	self->in.fd = et_open_node(NAME, O_RDWR);
	ASSERT_LE(0, self->in.fd);
	self->in.map = et_map(self->in.fd, self->in.len, 0);
	ASSERT_NE(MAP_FAILED, self->in.map);
	EXPECT_EQ(-1, et_check_page(self->in.map, 0, 3));
}

TEST_F_TIMEOUT(lc, resize_during_a_workload_keeps_data, 120)
{
	static const uint64_t budgets[] = {
		128 << 10, 2 << 20, 256 << 10, 128 << 10, 1 << 20, 192 << 10,
	};
	size_t n = et_pages(&self->in);
	uint32_t *ver = calloc(n, sizeof(*ver));
	struct hammer h[NTHREADS];
	volatile int stop = 0;
	struct emp_stat st;

	ASSERT_NE(NULL, ver);
	hammers_start(_metadata, h, self->in.map, n, ver, &stop, &self->seed);
	hammers_warm(h, 20);
	for (unsigned int i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
		ASSERT_EQ(0, emp_resize(self->ctl, NAME, budgets[i])) TH_LOG("budget %llu",
						(unsigned long long)budgets[i]);
		ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
		EXPECT_EQ(budgets[i], st.dram_budget);
		EXPECT_LE(st.resident, budgets[i]) TH_LOG("right after resize to %llu",
							  (unsigned long long)budgets[i]);
		for (int t = 0; t < 30; t++) {
			et_msleep(5);
			ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
			ASSERT_LE(st.resident, budgets[i]) TH_LOG("budget %llu, sample %d",
								  (unsigned long long)budgets[i], t);
		}
	}
	stop = 1;
	for (unsigned int i = 0; i < NTHREADS; i++) {
		pthread_join(h[i].th, NULL);
		EXPECT_EQ(0, h[i].errors) TH_LOG("thread %u: %s", i, h[i].msg);
		EXPECT_EQ(0, h[i].sig) TH_LOG("thread %u got signal %d", i, h[i].sig);
	}
	for (size_t pg = 0; pg < n; pg++) {
		int bad = et_check_ver(self->in.map + pg * ET_PAGE, pg, ver[pg]);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu v%u word %d", pg, ver[pg], bad);
	}
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_LT(0, st.evictions);
	EXPECT_EQ(0, st.io_errors);
	EXPECT_LE(st.resident, st.dram_budget);
	free(ver);
}

/*
 * Once an instance's node is gone, its device is free: a create on the
 * same device right after it succeeds, while the destroy (in another
 * process) may still be freeing the instance's blocks. Without the wait
 * for destroys in progress the new create got EBUSY (the block device
 * was still claimed); CI saw it once in preload_heap.sh.
 */
FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, a_create_after_the_node_is_gone_gets_the_device, 120)
{
	const struct et_geom g = {
		.size = 64 * ET_MIB, .block = 64 << 10, .sub = 4 << 10, .budget = 32 * ET_MIB,
	};
	char path[64];
	struct et_inst in;
	const char *why = "";
	int ctl, err, status, round, gone_ok = 0;
	pid_t pid;

	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	emp_inst_path("st_race", path, sizeof(path));
	for (round = 0; round < 3; round++) {
		err = et_inst_up(&in, ctl, "st_race", &g, &why);
		ASSERT_EQ(0, err) TH_LOG("round %d: %s: %s", round, why, strerror(-err));
		/* Many resident blocks: their freeing keeps the destroy busy. */
		for (size_t pg = 0; pg < et_pages(&in); pg++)
			et_fill_page(in.map + pg * ET_PAGE, pg, 1);
		munmap(in.map, in.len);
		in.map = MAP_FAILED;
		close(in.fd);
		in.fd = -1;
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(emp_destroy(ctl, "st_race") ? 1 : 0);
		for (int i = 0; i < 200000 && !access(path, F_OK); i++)
			usleep(50);
		err = et_create(ctl, "st_race2", &g);
		EXPECT_EQ(0, err) TH_LOG("round %d: create after the node was gone: %s", round,
					 strerror(-err));
		gone_ok += !err;
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (!err)
			EXPECT_EQ(0, emp_destroy(ctl, "st_race2"));
	}
	TH_LOG("%d of 3 creates right after the node was gone got the device", gone_ok);
	close(ctl);
}

TEST_HARNESS_MAIN
