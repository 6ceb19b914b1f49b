// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftests of the remote tiers: an instance whose data lives on a
 * donor (vmd, started here) over TCP, or over RDMA when built as
 * emp_remote_rdma_test (EMP_REMOTE_RDMA: rdma_rxe on eth0 as rxe0 and
 * emp_rdma.ko loaded, see guest/rdma_tier.sh); alone and mixed with other
 * tiers; concurrent faults; a donor killed mid-workload; secrets. One of a
 * TCP tier's connections dropped under load is emp_remote_drop_test.c's.
 * Needs emp.ko loaded and /emp/bin/vmd.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"
#include "lib/emp_remote.h"

#define SECRET		"guest-secret-42"

static void bdev_tier(struct emp_tier *t, uint64_t size, uint64_t offset)
{
	memset(t, 0, sizeof(*t));
	t->kind = EMP_TIER_BDEV;
	t->size = size;
	t->offset = offset;
	snprintf(t->path, sizeof(t->path), "%s", et_dev());
}

/* Map @name whole; fill every page, then check every page, twice. */
static int pattern_pass(struct __test_metadata *_metadata, const char *name,
			uint64_t size, uint32_t ver)
{
	int fd = et_open_node(name, O_RDWR);
	uint8_t *m;
	size_t n = size / ET_PAGE;

	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(m + pg * ET_PAGE, pg, ver);
	for (int round = 0; round < 2; round++)
		for (size_t pg = 0; pg < n; pg++) {
			int bad = et_check_ver(m + pg * ET_PAGE, pg, ver);

			ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d", pg, bad);
		}
	munmap(m, size);
	close(fd);
	return 0;
}

/* Print the fault latency median and 99th percentile (bucket upper bounds). */
static void print_latency(const char *what, const struct emp_stat *st)
{
	uint64_t total = 0, seen = 0, p50 = 0, p99 = 0;

	for (int i = 0; i < EMP_LAT_BUCKETS; i++)
		total += st->lat_hist[i];
	for (int i = 0; i < EMP_LAT_BUCKETS && total; i++) {
		seen += st->lat_hist[i];
		if (!p50 && seen * 2 >= total)
			p50 = 2ULL << i;
		if (!p99 && seen * 100 >= total * 99)
			p99 = 2ULL << i;
	}
	printf("# %s: %llu faults, latency p50 < %llu ns, p99 < %llu ns\n", what,
	       (unsigned long long)total, (unsigned long long)p50,
	       (unsigned long long)p99);
	fflush(stdout);
}

/*
 * Issue 16: the read a fault waits for is polled for by the faulting task
 * on an RDMA tier, and on no other kind (stat.polled_reads counts the
 * reads whose completion a poll reaped). On an instance of RDMA tiers
 * alone with no errors, every such read (fetches less prefetched) of one
 * faulting thread must have been polled; of @threads faulting at once
 * with emp.ko's poll_max at 1, some must have slept instead; with other
 * tiers, at most the RDMA tiers' reads.
 */
static void check_polled_by(struct __test_metadata *_metadata, int ctl, const struct emp_stat *st,
			    int threads)
{
	uint64_t critical = st->fetches - st->prefetched, rdma_reads = 0;
	unsigned long long polled = st->polled_reads;
	bool all_rdma = true;
	struct emp_info info;

	ASSERT_EQ(0, emp_get_info(ctl, &info));
	ASSERT_TRUE(info.features & EMP_FEAT_POLLED_READS)
		TH_LOG("the module does not announce EMP_FEAT_POLLED_READS");
	for (unsigned int i = 0; i < st->nr_tiers; i++) {
		if (st->tier[i].kind == EMP_TIER_RDMA)
			rdma_reads += st->tier[i].reads;
		else
			all_rdma = false;
	}
	printf("# %llu reads of faults, %llu polled for, %llu RDMA reads in all\n",
	       (unsigned long long)critical, polled, (unsigned long long)rdma_reads);
	ASSERT_LT(0, critical) TH_LOG("no fault read from a tier: nothing to check");
	EXPECT_LT(0, st->read_wait_ns) TH_LOG("faults read from a tier, no read wait counted");
	if (!rdma_reads) {
		EXPECT_EQ(0, polled) TH_LOG("reads polled for on a tier that is not RDMA");
		return;
	}
	EXPECT_LT(0, polled) TH_LOG("no RDMA read of a fault was polled for");
	EXPECT_GE(rdma_reads, polled);
	EXPECT_GE(critical, polled);
	if (!all_rdma || st->io_errors)
		return;
	if (threads == 1) {
		EXPECT_EQ(critical, polled) TH_LOG("a read of a fault on RDMA was not polled for");
	} else {
		EXPECT_LT(polled, critical)
			TH_LOG("%d threads faulting at once all polled, with poll_max 1", threads);
	}
}

static void check_polled(struct __test_metadata *_metadata, int ctl, const struct emp_stat *st)
{
	check_polled_by(_metadata, ctl, st, 1);
}

TEST_F_TIMEOUT(tcp, integrity_with_evictions, 120)
{
	const uint64_t size = 8ULL << 20;
	struct emp_tier t;
	struct emp_stat st;

	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "rt", 64 << 10, 4 << 10, 1ULL << 20, &t, 1));
	pattern_pass(_metadata, "rt", size, 3);
	ASSERT_EQ(0, emp_stat(self->ctl, "rt", &st));
	print_latency("integrity", &st);
	EXPECT_LE(st.resident, st.dram_budget);
	EXPECT_LT(0, st.evictions);
	EXPECT_EQ(TIER_KIND, st.tier[0].kind);
	EXPECT_LT(0, st.tier[0].writes);
	EXPECT_LT(0, st.tier[0].reads);
	EXPECT_EQ(0, st.tier[0].errors);
	EXPECT_EQ(0, st.io_errors);
	check_polled(_metadata, self->ctl, &st);
	EXPECT_EQ(0, emp_destroy(self->ctl, "rt"));
}

#ifdef EMP_REMOTE_RDMA
/*
 * With emp.ko's poll_reads off the reads of faults go the interrupt-driven
 * way: none is polled for, and the data is the same (this also shows that
 * check_polled() can tell).
 */
TEST_F_TIMEOUT(tcp, reads_sleep_when_poll_reads_is_off, 120)
{
	const uint64_t size = 4ULL << 20;
	struct emp_tier t;
	struct emp_stat st;

	self->saved_poll = et_module_param("poll_reads", 0);
	ASSERT_LE(0, self->saved_poll) TH_LOG("emp.ko has no poll_reads parameter");
	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "nopoll", 16 << 10, 4 << 10, 512ULL << 10, &t, 1));
	pattern_pass(_metadata, "nopoll", size, 4);
	ASSERT_EQ(0, emp_stat(self->ctl, "nopoll", &st));
	EXPECT_EQ(0, st.io_errors);
	EXPECT_LT(0, st.fetches - st.prefetched);
	EXPECT_EQ(0, st.polled_reads) TH_LOG("reads polled for with poll_reads off");
	EXPECT_EQ(0, emp_destroy(self->ctl, "nopoll"));
}
#endif

TEST_F_TIMEOUT(tcp, mixed_tcp_and_nvme_spread_blocks, 120)
{
	const uint64_t part = 4ULL << 20;
	struct emp_tier t[2];
	struct emp_stat st;

	tcp_tier(&t[0], self->port, part, NULL);
	bdev_tier(&t[1], part, 0);
	ASSERT_EQ(0, create(self->ctl, "mix", 256 << 10, 64 << 10, 2ULL << 20, t, 2));
	pattern_pass(_metadata, "mix", 2 * part, 5);
	ASSERT_EQ(0, emp_stat(self->ctl, "mix", &st));
	EXPECT_EQ(2, st.nr_tiers);
	EXPECT_LT(0, st.tier[0].writes);
	EXPECT_LT(0, st.tier[1].writes);
	EXPECT_LT(0, st.tier[0].reads);
	EXPECT_LT(0, st.tier[1].reads);
	check_polled(_metadata, self->ctl, &st);
	EXPECT_EQ(0, emp_destroy(self->ctl, "mix"));
}

#ifdef EMP_REMOTE_RDMA
/* One instance over RDMA, TCP and NVMe tiers at once. */
TEST_F_TIMEOUT(tcp, mixed_rdma_tcp_and_nvme, 120)
{
	const uint64_t part = 4ULL << 20;
	struct emp_tier t[3];
	struct emp_stat st;

	remote_tier_kind(&t[0], EMP_TIER_RDMA, self->port, part, NULL);
	remote_tier_kind(&t[1], EMP_TIER_TCP, self->port, part, NULL);
	bdev_tier(&t[2], part, 0);
	ASSERT_EQ(0, create(self->ctl, "three", 256 << 10, 64 << 10, 2ULL << 20, t, 3));
	pattern_pass(_metadata, "three", 3 * part, 6);
	ASSERT_EQ(0, emp_stat(self->ctl, "three", &st));
	EXPECT_EQ(3, st.nr_tiers);
	for (int i = 0; i < 3; i++) {
		EXPECT_LT(0, st.tier[i].writes) TH_LOG("tier %d", i);
		EXPECT_LT(0, st.tier[i].reads) TH_LOG("tier %d", i);
		EXPECT_EQ(0, st.tier[i].errors) TH_LOG("tier %d", i);
	}
	check_polled(_metadata, self->ctl, &st);
	EXPECT_EQ(0, emp_destroy(self->ctl, "three"));
}
#endif

#ifndef EMP_REMOTE_NO_MATRIX
/*
 * The data-integrity matrix of the core suite on a remote tier (and, in the
 * RDMA build, on an RDMA + TCP + NVMe instance): working set 4x the budget.
 * Left out of emp_remote_rdma_core_test (EMP_REMOTE_NO_MATRIX), the debug
 * line's build.
 */
FIXTURE(matrix) {
	int ctl;
	pid_t vmd;
	uint16_t port;
};

ET_MATRIX_VARIANTS(matrix);

FIXTURE_SETUP(matrix)
{
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl);
	et_destroy_all(self->ctl);
	self->port = test_port();
	self->vmd = vmd_start(self->port, NULL, 128);
	ASSERT_LT(0, self->vmd) TH_LOG("vmd did not start on port %u", self->port);
}

FIXTURE_TEARDOWN(matrix)
{
	et_destroy_all(self->ctl);
	vmd_stop(self->vmd, SIGTERM);
	close(self->ctl);
}

/* Fill every page, then check every page in reverse order once. */
static void matrix_pass(struct __test_metadata *_metadata, int ctl, const char *name,
			uint64_t size)
{
	struct emp_stat st;
	size_t n = size / ET_PAGE;
	uint8_t *m;
	long bad;
	int fd, word;

	fd = et_open_node(name, O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	bad = et_fill_check(m, n, 8, &word);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld word %d", bad, word);
	munmap(m, size);
	close(fd);
	ASSERT_EQ(0, emp_stat(ctl, name, &st));
	EXPECT_LT(0, st.evictions);
	EXPECT_LE(st.resident, st.dram_budget);
	EXPECT_EQ(0, st.io_errors);
	for (unsigned int i = 0; i < st.nr_tiers; i++) {
		EXPECT_LT(0, st.tier[i].reads) TH_LOG("tier %u never read", i);
	}
	check_polled(_metadata, ctl, &st);
}

TEST_F_TIMEOUT(matrix, integrity, 120)
{
	uint64_t size = 4 * variant->budget;
	struct emp_tier t;

	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "mx", variant->block, variant->sub, variant->budget, &t, 1));
	matrix_pass(_metadata, self->ctl, "mx", size);
	EXPECT_EQ(0, emp_destroy(self->ctl, "mx"));
}

#ifdef EMP_REMOTE_RDMA
TEST_F_TIMEOUT(matrix, integrity_rdma_tcp_nvme, 120)
{
	uint64_t part = 4 * variant->budget / 3;
	struct emp_tier t[3];

	part = (part + variant->block - 1) / variant->block * variant->block;
	remote_tier_kind(&t[0], EMP_TIER_RDMA, self->port, part, NULL);
	remote_tier_kind(&t[1], EMP_TIER_TCP, self->port, part, NULL);
	bdev_tier(&t[2], part, 0);
	ASSERT_EQ(0, create(self->ctl, "mx3", variant->block, variant->sub, variant->budget, t, 3));
	matrix_pass(_metadata, self->ctl, "mx3", 3 * part);
	EXPECT_EQ(0, emp_destroy(self->ctl, "mx3"));
}
#endif
#endif /* EMP_REMOTE_NO_MATRIX */

struct worker {
	uint8_t *map;
	size_t first, n;
	int bad;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->first * 7919 + 1;

	for (size_t pg = w->first; pg < w->first + w->n; pg++)
		et_fill_page(w->map + pg * ET_PAGE, pg, 11);
	for (size_t i = 0; i < w->n / 2; i++) {
		size_t pg = w->first + et_rand(&s) % w->n;

		if (et_check_ver(w->map + pg * ET_PAGE, pg, 11) != -1)
			w->bad++;
	}
	return NULL;
}

/*
 * Four threads fault on an instance of the tier at self->port, each its
 * part. At most one of them polls for its read at a time (emp.ko
 * poll_max=1); the others sleep until the interrupt.
 */
static void parallel_faults(struct __test_metadata *_metadata, FIXTURE_DATA(tcp) *self)
{
	const uint64_t size = 4ULL << 20;
	struct worker w[4];
	pthread_t th[4];
	struct emp_stat st;
	struct emp_tier t;
	uint8_t *m;
	int fd;

	self->saved_poll_max = et_module_param("poll_max", 1);
	ASSERT_LE(0, self->saved_poll_max) TH_LOG("emp.ko has no poll_max parameter");
	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "par", 16 << 10, 4 << 10, 512ULL << 10, &t, 1));
	fd = et_open_node("par", O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .map = m, .first = i * (size / ET_PAGE / 4),
					.n = size / ET_PAGE / 4 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_run, &w[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, w[i].bad) TH_LOG("thread %d", i);
	}
	for (size_t pg = 0; pg < size / ET_PAGE; pg++) {
		ASSERT_EQ(-1, et_check_ver(m + pg * ET_PAGE, pg, 11)) TH_LOG("page %zu", pg);
	}
	munmap(m, size);
	close(fd);
	/* Over RDMA: one task at a time polled the queues, reaping others' reads too. */
	ASSERT_EQ(0, emp_stat(self->ctl, "par", &st));
	EXPECT_EQ(0, st.io_errors);
	check_polled_by(_metadata, self->ctl, &st, 4);
	EXPECT_EQ(0, emp_destroy(self->ctl, "par"));
}

TEST_F_TIMEOUT(tcp, four_threads_fault_in_parallel, 120)
{
	parallel_faults(_metadata, self);
}

/*
 * Queues are not capped at the CPU count or at 4: six of them (on a
 * 2-vCPU guest) connect, and four threads' faults spread over them keep
 * every page right.
 */
TEST_F_TIMEOUT(tcp, six_queues_on_two_cpus_serve_parallel_faults, 120)
{
	char line[96];

	self->saved_queues = et_param(QUEUES_MOD, QUEUES_PARAM, 6);
	ASSERT_LE(0, self->saved_queues) TH_LOG("no parameter %s of %s", QUEUES_PARAM, QUEUES_MOD);
	parallel_faults(_metadata, self);
	snprintf(line, sizeof(line), "%s:%u: connected, 6 queue", DONOR_IP, self->port);
	EXPECT_EQ(1, et_kmsg_has(line)) TH_LOG("no kernel log line \"%s\"", line);
}

/*
 * Over RDMA this also proves the tier's watchdog: on sid (7.2) rxe leaves
 * READs to a killed donor outstanding until the queue is cut.
 */
/* How the donor is lost: its process killed or stopped, or its link down. */
enum loss { LOSE_KILL, LOSE_STOP, LOSE_LINK };

/*
 * An instance of 4 MiB with a 512 KiB budget, filled so that most of it
 * lives only on the donor; then lose the donor: LOSE_KILL (vmd is gone),
 * LOSE_STOP (vmd stays connected but answers nothing) or LOSE_LINK (the
 * link to it goes down under the open connection). Reading it back must
 * give SIGBUS, never wrong data, and count the errors; the instance is
 * destroyed afterwards and the donor (or the link) comes back.
 */
static void lose_donor(struct __test_metadata *_metadata, FIXTURE_DATA(tcp) *self,
		       const char *name, enum loss how)
{
	const uint64_t size = 4ULL << 20;
	size_t n = size / ET_PAGE, sigbus = 0;
	uint64_t polled_before;
	struct emp_tier t;
	struct emp_stat st;
	uint8_t *m;
	int fd;

	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, name, 64 << 10, 64 << 10, 512ULL << 10, &t, 1));
	fd = et_open_node(name, O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(m + pg * ET_PAGE, pg, 1);
	/*
	 * Read the first budget's worth back while the donor is there: this
	 * writes the dirty tail out and leaves DRAM holding clean blocks, so
	 * the first fault after the loss finds a victim that needs no I/O and
	 * posts its read. (Left dirty, every victim's writeback fails after
	 * the loss, nothing can be evicted, and faults get SIGBUS without a
	 * read ever being posted.)
	 */
	for (size_t pg = 0; pg < (512 << 10) / ET_PAGE; pg += 16) {
		ASSERT_EQ(-1, et_check_page(m + pg * ET_PAGE, pg, 1)) TH_LOG("page %zu", pg);
	}
	ASSERT_EQ(0, emp_stat(self->ctl, name, &st));
	polled_before = st.polled_reads;
	switch (how) {
	case LOSE_KILL:
		vmd_stop(self->vmd, SIGKILL);
		self->vmd = -1;
		break;
	case LOSE_STOP:
		ASSERT_EQ(0, vmd_pause(self->vmd));
		break;
	case LOSE_LINK:
		ASSERT_EQ(0, donor_link("down")) TH_LOG("cannot take %s down", DONOR_LINK);
		break;
	}
	for (size_t pg = 0; pg < n; pg += 16) {
		int bad;

		if (et_try_check(m + pg * ET_PAGE, pg, 1, &bad) == SIGBUS)
			sigbus++;
		else
			EXPECT_EQ(-1, bad) TH_LOG("page %zu read wrong data, not SIGBUS", pg);
	}
	if (how == LOSE_STOP)
		kill(self->vmd, SIGCONT);
	if (how == LOSE_LINK)
		EXPECT_EQ(0, donor_link("up"));
	EXPECT_LT(0, sigbus);
	ASSERT_EQ(0, emp_stat(self->ctl, name, &st));
	printf("# %zu SIGBUS, %llu reads polled for after the loss\n", sigbus,
	       (unsigned long long)(st.polled_reads - polled_before));
#ifdef EMP_REMOTE_RDMA
	/*
	 * No connection event tells of a link down: the first read after it
	 * is posted on a polled queue and fails by completion (the QP's error
	 * or the watchdog's cut), which its waiter must reap.
	 */
	if (how == LOSE_LINK)
		EXPECT_LT(polled_before, st.polled_reads) TH_LOG("no failed read reaped by its polling waiter");
#endif
	EXPECT_LT(0, st.io_errors);
	EXPECT_LT(0, st.sigbus);
	EXPECT_TRUE(st.state & EMP_STATE_IO_ERROR);
	munmap(m, size);
	close(fd);
	EXPECT_EQ(0, emp_destroy(self->ctl, name));
}

/* A new 4 MiB instance on the donor at self->port holds a pattern. */
static void donor_serves_again(struct __test_metadata *_metadata, FIXTURE_DATA(tcp) *self)
{
	const uint64_t size = 4ULL << 20;
	struct emp_tier t;

	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "again", 64 << 10, 64 << 10, 512ULL << 10, &t, 1));
	pattern_pass(_metadata, "again", size, 2);
	EXPECT_EQ(0, emp_destroy(self->ctl, "again"));
}

TEST_F_TIMEOUT(tcp, donor_killed_gives_sigbus_and_teardown_works, 120)
{
	lose_donor(_metadata, self, "kill", LOSE_KILL);

	/* A restarted donor serves a new instance. */
	self->vmd = vmd_start(self->port, NULL, 128);
	ASSERT_LT(0, self->vmd);
	donor_serves_again(_metadata, self);
}

/*
 * The link to the donor drops under a connected instance (RDMA: eth0, which
 * carries rxe0; TCP: lo). Over TCP the request timeout (3 s here) ends the
 * wait; over RDMA the QP's retries or the tier's watchdog. Once the link is
 * back, the same vmd serves a new instance.
 */
TEST_F_TIMEOUT(tcp, link_down_gives_sigbus_and_donor_serves_again, 120)
{
	self->saved_tmo = et_module_param("request_timeout", 3);
	ASSERT_LE(0, self->saved_tmo);
	lose_donor(_metadata, self, "link", LOSE_LINK);
	donor_serves_again(_metadata, self);
}


#ifndef EMP_REMOTE_RDMA
/*
 * A donor that stops answering while its kernel still acknowledges our
 * bytes (here: vmd stopped by SIGSTOP; one-sided RDMA does not notice) is
 * the TCP tier's request timeout's case: accesses to its data get SIGBUS
 * after request_timeout seconds instead of hanging.
 */
TEST_F_TIMEOUT(tcp, stopped_donor_times_out_with_sigbus, 120)
{
	self->saved_tmo = et_module_param("request_timeout", 3);
	ASSERT_LE(0, self->saved_tmo);
	lose_donor(_metadata, self, "stall", LOSE_STOP);
}
#endif

#ifndef EMP_REMOTE_RDMA
struct slow_reader {
	const uint8_t *page;
	uint64_t pg;
	int bad;
	int done;	/* atomic: the read returned */
};

static void *slow_reader_fn(void *arg)
{
	struct slow_reader *r = arg;

	et_try_check(r->page, r->pg, 1, &r->bad);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *map_unmap_fn(void *arg)
{
	int *done = arg;
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, 1 << 20);
	__atomic_store_n(done, p != MAP_FAILED ? 1 : -1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A fault that waits for its tier lets go of mmap_lock (as filemap_fault
 * does): while one thread's fault waits for a stopped donor, another
 * thread of the process maps and unmaps memory, which takes mmap_lock for
 * writing. Held across the wait, the lock would keep it until the donor
 * is continued, which happens only after the check.
 */
TEST_F_TIMEOUT(tcp, fault_waiting_for_its_tier_lets_go_of_mmap_lock, 60)
{
	const uint64_t size = 1ULL << 20;
	struct slow_reader r = { .pg = 77 };
	pthread_t reader, mapper;
	int mapped = 0, fd;
	struct emp_tier t;
	uint8_t *m;

	tcp_tier(&t, self->port, size, NULL);
	ASSERT_EQ(0, create(self->ctl, "lets_go", 4 << 10, 4 << 10, 512ULL << 10, &t, 1));
	fd = et_open_node("lets_go", O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (size_t pg = 0; pg < size / ET_PAGE; pg++)
		et_fill_page(m + pg * ET_PAGE, pg, 1);
	/* Everything to the donor: the budget down to two blocks and back. */
	ASSERT_EQ(0, emp_resize(self->ctl, "lets_go", 8 << 10));
	ASSERT_EQ(0, emp_resize(self->ctl, "lets_go", 512 << 10));
	ASSERT_EQ(0, vmd_pause(self->vmd));
	r.page = m + r.pg * ET_PAGE;
	ASSERT_EQ(0, pthread_create(&reader, NULL, slow_reader_fn, &r));
	et_msleep(300);
	EXPECT_EQ(0, __atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
		TH_LOG("the read did not wait for the stopped donor");
	ASSERT_EQ(0, pthread_create(&mapper, NULL, map_unmap_fn, &mapped));
	for (int i = 0; i < 100 && !__atomic_load_n(&mapped, __ATOMIC_ACQUIRE); i++)
		et_msleep(20);
	EXPECT_EQ(1, __atomic_load_n(&mapped, __ATOMIC_ACQUIRE))
		TH_LOG("mmap+munmap waited 2 s behind a fault waiting for its tier");
	kill(self->vmd, SIGCONT);
	pthread_join(mapper, NULL);
	pthread_join(reader, NULL);
	EXPECT_EQ(-1, r.bad) TH_LOG("the page read after the wait is wrong");
	munmap(m, size);
	close(fd);
	EXPECT_EQ(0, emp_destroy(self->ctl, "lets_go"));
}
#endif

TEST_F(tcp, refusals_have_clear_errnos)
{
	struct emp_tier t;

	/* Nobody listens there. */
	tcp_tier(&t, 1, 4 << 20, NULL);
	EXPECT_EQ(-ECONNREFUSED, create(self->ctl, "nobody", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	/* More than the donor exports (128 MiB). */
	tcp_tier(&t, self->port, 512ULL << 20, NULL);
	EXPECT_EQ(-ENOSPC, create(self->ctl, "big", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	/* Not an address, a port of 0, an offset on a remote tier. */
	tcp_tier(&t, self->port, 4 << 20, NULL);
	snprintf(t.path, sizeof(t.path), "donor.example");
	EXPECT_EQ(-EINVAL, create(self->ctl, "bad", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	tcp_tier(&t, 0, 4 << 20, NULL);
	EXPECT_EQ(-EINVAL, create(self->ctl, "bad", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	tcp_tier(&t, self->port, 4 << 20, NULL);
	t.offset = 4096;
	EXPECT_EQ(-EINVAL, create(self->ctl, "bad", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	tcp_tier(&t, self->port, 4 << 20, NULL);
	t.secret_len = EMP_SECRET_MAX + 1;
	EXPECT_EQ(-EINVAL, create(self->ctl, "bad", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	tcp_tier(&t, self->port, 4 << 20, "x");
	t.secret[5] = 1;	/* past secret_len */
	EXPECT_EQ(-EINVAL, create(self->ctl, "bad", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	EXPECT_EQ(0, emp_list(self->ctl, NULL, 0));
}

TEST(secret_is_required_when_configured)
{
	uint16_t port = test_port() + 1;
	pid_t vmd = vmd_start(port, SECRET, 64);
	int ctl = emp_ctl_open();
	struct emp_tier t;

	ASSERT_LE(0, ctl);
	ASSERT_LT(0, vmd);
	tcp_tier(&t, port, 4 << 20, NULL);
	EXPECT_EQ(-EACCES, create(ctl, "nosecret", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	tcp_tier(&t, port, 4 << 20, "wrong-secret");
	EXPECT_EQ(-EACCES, create(ctl, "wrong", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	tcp_tier(&t, port, 4 << 20, SECRET);
	EXPECT_EQ(0, create(ctl, "right", 64 << 10, 4 << 10, 1 << 20, &t, 1));
	pattern_pass(_metadata, "right", 4 << 20, 9);
	EXPECT_EQ(0, emp_destroy(ctl, "right"));
	EXPECT_EQ(0, vmd_stop(vmd, SIGTERM)) TH_LOG("vmd did not exit 0 on SIGTERM");
	close(ctl);
}

TEST_HARNESS_MAIN
