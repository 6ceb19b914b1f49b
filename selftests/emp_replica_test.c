// SPDX-License-Identifier: GPL-2.0
/*
 * Replicated remote tiers (EMP_TIER_F_REPLICA, EMP_IOC_REPAIR): every page
 * written reads back identical after the donor of either copy is killed
 * with SIGKILL mid-run, with no SIGBUS; a new copy is filled from the
 * survivor (while pages are rewritten) and then holds everything alone;
 * and the ABI refuses what it must. TCP donors (vmd) on 127.0.0.1; built
 * again as emp_replica_rdma_test, RDMA donors on rxe0 (rdma_tier.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"
#include "lib/emp_remote.h"

#define R_SIZE		(8 * ET_MIB)
#define R_PAGES		(R_SIZE / ET_PAGE)
#define R_BLOCK		(64 << 10)
#define R_BUDGET	(1 * ET_MIB)

static void replica_pair(struct emp_tier t[2], uint16_t p1, uint16_t p2, uint64_t size)
{
	tcp_tier(&t[0], p1, size, NULL);
	tcp_tier(&t[1], p2, size, NULL);
	t[1].flags = EMP_TIER_F_REPLICA;
}

static uint32_t copies(int ctl, const char *name, struct emp_stat *st)
{
	if (emp_stat(ctl, name, st))
		return 0;
	return st->tier[0].copies;
}

/* Fill every page with @ver, then check all. Return: first bad page or -1; *sig a signal. */
static long fill_check(uint8_t *m, uint32_t ver, int *sig)
{
	int bad;

	*sig = 0;
	for (size_t pg = 0; pg < R_PAGES; pg++) {
		*sig = et_try_fill(m + pg * ET_PAGE, pg, ver);
		if (*sig)
			return (long)pg;
	}
	for (size_t pg = 0; pg < R_PAGES; pg++) {
		*sig = et_try_check(m + pg * ET_PAGE, pg, ver, &bad);
		if (*sig || bad != -1)
			return (long)pg;
	}
	return -1;
}

/* The slowest page of the last check_all() and its time. */
static size_t slow_pg;
static double slow_s;

/* Check every page holds @ver. Return: first bad page or -1; *sig a signal. */
static long check_all(uint8_t *m, uint32_t ver, int *sig)
{
	int bad;

	slow_s = 0;
	for (size_t pg = 0; pg < R_PAGES; pg++) {
		double t = et_now();

		*sig = et_try_check(m + pg * ET_PAGE, pg, ver, &bad);
		if (*sig || bad != -1)
			return (long)pg;
		t = et_now() - t;
		if (t > slow_s) {
			slow_s = t;
			slow_pg = pg;
		}
	}
	return -1;
}

static uint8_t *map_inst(const char *name, int *fd)
{
	void *m;

	*fd = et_open_node(name, O_RDWR);
	if (*fd < 0)
		return NULL;
	m = mmap(NULL, R_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Wait up to @secs for tier 0's copies to be @want. */
static int wait_copies(int ctl, const char *name, uint32_t want, int secs, struct emp_stat *st)
{
	for (int i = 0; i < secs * 10; i++) {
		if (copies(ctl, name, st) == want)
			return 0;
		et_msleep(100);
	}
	return -1;
}

TEST_F(tcp, refusals)
{
	struct emp_tier t[3];
	struct emp_repair r;
	struct emp_info in;
	struct emp_stat st;
	pid_t v2 = vmd_start(self->port + 1, NULL, 32);

	ASSERT_LT(0, v2);
	ASSERT_EQ(0, emp_get_info(self->ctl, &in));
	EXPECT_TRUE(in.features & EMP_FEAT_REPLICAS);
	/* A replica first, of another size, after a replica, of a local kind. */
	replica_pair(t, self->port, self->port + 1, 4 * ET_MIB);
	EXPECT_EQ(-EINVAL, create(self->ctl, "r", R_BLOCK, 4096, R_BUDGET, &t[1], 1));
	t[1].size = 8 * ET_MIB;
	EXPECT_EQ(-EINVAL, create(self->ctl, "r", R_BLOCK, 4096, R_BUDGET, t, 2));
	t[1].size = 4 * ET_MIB;
	t[2] = t[1];
	EXPECT_EQ(-EINVAL, create(self->ctl, "r", R_BLOCK, 4096, R_BUDGET, t, 3));
	t[1].flags = 1U << 1;
	EXPECT_EQ(-EINVAL, create(self->ctl, "r", R_BLOCK, 4096, R_BUDGET, t, 2));
	t[1].flags = EMP_TIER_F_REPLICA;
	memset(&t[2], 0, sizeof(t[2]));
	t[2].kind = EMP_TIER_NODE;
	t[2].size = 4 * ET_MIB;
	t[2].flags = EMP_TIER_F_REPLICA;
	EXPECT_EQ(-EINVAL, create(self->ctl, "r", R_BLOCK, 4096, R_BUDGET, t, 3));

	/* A good pair: one tier in stat, both copies up. */
	ASSERT_EQ(0, create(self->ctl, "r", R_BLOCK, 4096, R_BUDGET, t, 2));
	EXPECT_EQ(EMP_COPY_REPLICATED | EMP_COPY_FIRST_UP | EMP_COPY_SECOND_UP,
		  copies(self->ctl, "r", &st));
	EXPECT_EQ(1, st.nr_tiers);
	EXPECT_EQ(4 * ET_MIB, st.inst_size);
	EXPECT_EQ(TIER_KIND, st.tier[0].kind);
	/* Repair: both copies serve (EBUSY), bad fields, no such tier. */
	EXPECT_EQ(-EBUSY, emp_repair(self->ctl, "r", 0, &t[1]));
	EXPECT_EQ(-EINVAL, emp_repair(self->ctl, "r", 1, &t[1]));
	EXPECT_EQ(-EINVAL, emp_repair(self->ctl, "r", 0, &t[0]));	/* not flagged a replica */
	EXPECT_EQ(-ENOENT, emp_repair(self->ctl, "nosuch", 0, &t[1]));
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	emp_set_name(r.name, "r");
	r.copy = t[1];
	r.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_REPAIR, &r));
	EXPECT_EQ(EINVAL, errno);
	r.reserved0 = 0;
	r.flags = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_REPAIR, &r));
	EXPECT_EQ(EINVAL, errno);
	r.flags = 0;
	r.size = 8;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_REPAIR, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, emp_destroy(self->ctl, "r"));

	/* Without a replica: EOPNOTSUPP. */
	ASSERT_EQ(0, create(self->ctl, "p", R_BLOCK, 4096, R_BUDGET, t, 1));
	EXPECT_EQ(-EOPNOTSUPP, emp_repair(self->ctl, "p", 0, &t[1]));
	EXPECT_EQ(0, emp_destroy(self->ctl, "p"));
	vmd_stop(v2, SIGTERM);
}

struct rewriter {
	uint8_t *m;
	uint32_t ver;
	int sig;
	long bad;
};

static void *rewrite(void *arg)
{
	struct rewriter *w = arg;

	w->bad = -1;
	for (size_t pg = 0; pg < R_PAGES && !w->sig; pg++) {
		w->sig = et_try_fill(w->m + pg * ET_PAGE, pg, w->ver);
		if (w->sig)
			w->bad = (long)pg;
	}
	return NULL;
}

/*
 * Kill each copy's donor in turn: the first with the data on both, then,
 * after a new copy was filled while every page was rewritten, the other.
 * Every page reads back as last written; no fault gets SIGBUS.
 */
TEST_F_TIMEOUT(tcp, kill_repair_kill, 240)
{
	uint16_t p2 = self->port + 1, p3 = self->port + 2;
	pid_t v2 = vmd_start(p2, NULL, 32), v3 = -1;
	struct emp_tier t[2], c;
	struct emp_stat st;
	struct rewriter w;
	pthread_t th;
	uint64_t b0, a0, b1, a1;
	double t0;
	uint8_t *m;
	long bad;
	int fd, sig;

	ASSERT_LT(0, v2);
	replica_pair(t, self->port, p2, R_SIZE);
	ASSERT_EQ(0, create(self->ctl, "rk", R_BLOCK, 4096, R_BUDGET, t, 2));
	m = map_inst("rk", &fd);
	ASSERT_NE(NULL, m);
	bad = fill_check(m, 1, &sig);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld bad or signal %d with both copies", bad, sig);
	ASSERT_EQ(0, emp_stat(self->ctl, "rk", &st));
	EXPECT_LT(0, st.writebacks);

	/* For comparison: read everything back from both copies. */
	ASSERT_EQ(0, emp_resize(self->ctl, "rk", 2 * R_BLOCK));
	ASSERT_EQ(0, emp_resize(self->ctl, "rk", R_BUDGET));
	t0 = et_now();
	bad = check_all(m, 1, &sig);
	ASSERT_EQ(-1, bad);
	TH_LOG("read back from both copies in %ld ms", (long)((et_now() - t0) * 1000));
	ASSERT_EQ(0, emp_resize(self->ctl, "rk", 2 * R_BLOCK));
	ASSERT_EQ(0, emp_resize(self->ctl, "rk", R_BUDGET));

	/* The first copy's donor dies: the second serves everything. */
	vmd_stop(self->vmd, SIGKILL);
	self->vmd = -1;
	t0 = et_now();
	et_cpu_jiffies(&b0, &a0);
	bad = check_all(m, 1, &sig);
	et_cpu_jiffies(&b1, &a1);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld bad or signal %d after the first donor died", bad, sig);
	TH_LOG("read back from the second copy in %ld ms; slowest page %zu, %ld ms",
	       (long)((et_now() - t0) * 1000), slow_pg, (long)(slow_s * 1000));
	TH_LOG("guest CPUs busy %llu of %llu ticks while reading",
	       (unsigned long long)(b1 - b0), (unsigned long long)(a1 - a0));
	/* Nothing left spinning once the dead connections are torn down. */
	et_cpu_jiffies(&b0, &a0);
	et_msleep(1000);
	et_cpu_jiffies(&b1, &a1);
	EXPECT_LT(2 * (b1 - b0), a1 - a0)
		TH_LOG("the guest's CPUs stay busy after the donor died: %llu of %llu ticks",
		       (unsigned long long)(b1 - b0), (unsigned long long)(a1 - a0));
	ASSERT_EQ(0, emp_stat(self->ctl, "rk", &st));
	TH_LOG("fetches %llu prefetched %llu failovers %llu io_errors %llu read_wait %llu ms",
	       (unsigned long long)st.fetches, (unsigned long long)st.prefetched,
	       (unsigned long long)st.failovers, (unsigned long long)st.io_errors,
	       (unsigned long long)st.read_wait_ns / 1000000);
	EXPECT_EQ(EMP_COPY_REPLICATED | EMP_COPY_SECOND_UP, copies(self->ctl, "rk", &st));
	EXPECT_EQ(1, st.replicas_lost);
	EXPECT_EQ(0, st.sigbus);

	/* A new copy on a third donor, filled while every page is rewritten. */
	v3 = vmd_start(p3, NULL, 32);
	ASSERT_LT(0, v3);
	tcp_tier(&c, p3, R_SIZE, NULL);
	c.flags = EMP_TIER_F_REPLICA;
	w = (struct rewriter){ .m = m, .ver = 2 };
	t0 = et_now();
	ASSERT_EQ(0, emp_repair(self->ctl, "rk", 0, &c));
	ASSERT_EQ(0, pthread_create(&th, NULL, rewrite, &w));
	pthread_join(th, NULL);
	ASSERT_EQ(0, w.sig) TH_LOG("signal %d at page %ld while filling", w.sig, w.bad);
	ASSERT_EQ(0, wait_copies(self->ctl, "rk", EMP_COPY_REPLICATED | EMP_COPY_FIRST_UP |
				 EMP_COPY_SECOND_UP, 60, &st))
		TH_LOG("copies 0x%x after 60 s", st.tier[0].copies);
	TH_LOG("rewritten and filled in %ld ms, %llu bytes copied", (long)((et_now() - t0) * 1000),
	       (unsigned long long)st.resynced);
	EXPECT_LT(0, st.resynced);
	/* Everything to the tiers, then DRAM emptied of it: reads go to the donors. */
	ASSERT_EQ(0, emp_resize(self->ctl, "rk", 2 * R_BLOCK));
	ASSERT_EQ(0, emp_resize(self->ctl, "rk", R_BUDGET));

	/* The survivor's donor dies too: the new copy holds it all. */
	vmd_stop(v2, SIGKILL);
	v2 = -1;
	bad = check_all(m, 2, &sig);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld bad or signal %d on the new copy alone", bad, sig);
	EXPECT_EQ(EMP_COPY_REPLICATED | EMP_COPY_FIRST_UP, copies(self->ctl, "rk", &st));
	EXPECT_EQ(2, st.replicas_lost);
	EXPECT_EQ(0, st.sigbus);
	/* And writes go on, on one copy. */
	bad = fill_check(m, 3, &sig);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld bad or signal %d writing on one copy", bad, sig);
	munmap(m, R_SIZE);
	close(fd);
	EXPECT_EQ(0, emp_destroy(self->ctl, "rk"));
	vmd_stop(v3, SIGTERM);
}

/* Both donors gone: what a plain remote tier does, SIGBUS. */
TEST_F_TIMEOUT(tcp, both_lost_sigbus, 120)
{
	uint16_t p2 = self->port + 1;
	pid_t v2 = vmd_start(p2, NULL, 32);
	struct emp_tier t[2];
	struct emp_stat st;
	uint8_t *m;
	long bad;
	int fd, sig;

	ASSERT_LT(0, v2);
	replica_pair(t, self->port, p2, R_SIZE);
	ASSERT_EQ(0, create(self->ctl, "rb", R_BLOCK, 4096, R_BUDGET, t, 2));
	m = map_inst("rb", &fd);
	ASSERT_NE(NULL, m);
	bad = fill_check(m, 1, &sig);
	ASSERT_EQ(-1, bad);
	vmd_stop(self->vmd, SIGKILL);
	self->vmd = -1;
	vmd_stop(v2, SIGKILL);
	bad = check_all(m, 1, &sig);
	EXPECT_EQ(SIGBUS, sig) TH_LOG("page %ld", bad);
	ASSERT_EQ(0, emp_stat(self->ctl, "rb", &st));
	EXPECT_EQ(0, st.tier[0].copies & (EMP_COPY_FIRST_UP | EMP_COPY_SECOND_UP));
	munmap(m, R_SIZE);
	close(fd);
	EXPECT_EQ(0, emp_destroy(self->ctl, "rb"));
}

TEST_HARNESS_MAIN
