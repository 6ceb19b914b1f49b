// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of what emp.ko measures for a balancer (issue 17 item 1)
 * and of proactive demotion (item 3), by what the numbers must say:
 *  - refaults count a loop slightly larger than the budget, not a stream;
 *  - stall time is wall time with a task stalled: at least the read waits
 *    of one task, at most the elapsed time with two;
 *  - idle ages tell a hot set used through its mapping from idle memory;
 *  - with a cold age set, idle blocks are written back and dropped, the
 *    hot set stays, and every page reads back what was written;
 *  - bad sysfs values are refused.
 * Needs emp.ko loaded and /dev/nvme0n1 (EMP_TEST_DEV) free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define U(x)		((unsigned long long)(x))
#define DELTA(a, b, f)	((b).f - (a).f)
#define MON_NAME	"st_monitor"

FIXTURE(monitor) {
	int ctl;
	struct et_inst in;
};

FIXTURE_SETUP(monitor)
{
	struct emp_info info = { .size = sizeof(info) };

	self->in.name[0] = 0;
	self->in.fd = -1;
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	et_destroy_quiet(self->ctl, MON_NAME);
	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	ASSERT_TRUE(info.features & EMP_FEAT_MONITOR)
		TH_LOG("the module does not announce EMP_FEAT_MONITOR");
}

FIXTURE_TEARDOWN(monitor)
{
	EXPECT_EQ(0, et_inst_down(&self->in));
	close(self->ctl);
}

static int mon_up(struct __test_metadata *_metadata, FIXTURE_DATA(monitor) *self,
		  uint64_t size, uint64_t budget)
{
	struct et_geom g = { .size = size, .block = ET_PAGE, .sub = ET_PAGE, .budget = budget };
	const char *why = "";
	int err = et_inst_up(&self->in, self->ctl, MON_NAME, &g, &why);

	if (err)
		TH_LOG("%s: %s", why, strerror(-err));
	return err;
}

/* Write "@val" to the instance's sysfs attribute @attr. Return: 0 or -errno. */
static int mon_set(const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/emp/" EMP_INST_PREFIX MON_NAME "/%s", attr);
	return et_write_file(path, val);
}

/* Read every page of [@first, @first + @n) once, in order. */
static uint64_t read_pages(const uint8_t *map, size_t first, size_t n)
{
	uint64_t sum = 0;

	for (size_t pg = first; pg < first + n; pg++)
		sum += *(const volatile uint64_t *)(map + pg * ET_PAGE);
	return sum;
}

/* ---- refaults and stall time ------------------------------------------------ */

#define RF_SIZE		(16 * ET_MIB)
#define RF_BUDGET	(2 * ET_MIB)
#define RF_LOOP		(3 * ET_MIB)	/* 1.5 budgets: each pass refetches */

TEST_F_TIMEOUT(monitor, refaults_count_a_loop_and_not_a_stream, 300)
{
	size_t n = RF_SIZE / ET_PAGE, loop = RF_LOOP / ET_PAGE, bad = 0;
	struct emp_stat s0, s1, s2, s3;
	double t1, t2;

	ASSERT_EQ(0, mon_up(_metadata, self, RF_SIZE, RF_BUDGET));
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s0));
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(self->in.map + pg * ET_PAGE, pg, 1);
	ASSERT_EQ(0, et_stat_settled(self->ctl, MON_NAME, &s1));
	t1 = et_now();
	for (int pass = 0; pass < 3; pass++)
		read_pages(self->in.map, 0, loop);
	t2 = et_now();
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s2));
	/* A stream over what was evicted long ago (by the write pass). */
	for (size_t pg = n / 4; pg < n; pg++)
		if (et_check_page(self->in.map + pg * ET_PAGE, pg, 1) >= 0)
			bad++;
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s3));

	TH_LOG("write pass: %llu evictions, %llu refaults",
	       U(DELTA(s0, s1, evictions)), U(DELTA(s0, s1, refaults)));
	TH_LOG("loop of %llu MiB over a %llu MiB budget, 3 passes: %llu fetches, %llu refaults, "
	       "stall %.3f s, read waits %.3f s, elapsed %.3f s",
	       U(RF_LOOP >> 20), U(RF_BUDGET >> 20), U(DELTA(s1, s2, fetches)),
	       U(DELTA(s1, s2, refaults)), DELTA(s1, s2, stall_ns) / 1e9,
	       DELTA(s1, s2, read_wait_ns) / 1e9, t2 - t1);
	TH_LOG("stream over %llu MiB: %llu fetches, %llu refaults",
	       U((RF_SIZE - RF_SIZE / 4) >> 20), U(DELTA(s2, s3, fetches)),
	       U(DELTA(s2, s3, refaults)));
	EXPECT_EQ(0, bad);
	/* First touches were never evicted. */
	EXPECT_EQ(0, DELTA(s0, s1, refaults));
	/* Passes 2 and 3 refetch what pass 1 and 2 pushed out a little earlier. */
	EXPECT_LE(loop / 2, DELTA(s1, s2, refaults));
	/* Evicted thousands of evictions ago: not recent. A few at the start. */
	EXPECT_GE(DELTA(s2, s3, fetches) / 50, DELTA(s2, s3, refaults));
	/* One task: every read wait is stall time, and it cannot pass the clock. */
	EXPECT_LT(0, DELTA(s1, s2, stall_ns));
	EXPECT_LE(DELTA(s1, s2, read_wait_ns) * 9 / 10, DELTA(s1, s2, stall_ns));
	EXPECT_GE((t2 - t1) * 1e9 * 1.01, (double)DELTA(s1, s2, stall_ns));
}

struct mon_reader {
	const uint8_t *map;
	size_t pages;
	uint64_t seed;
	uint64_t sum;
};

static void *mon_read_random(void *arg)
{
	struct mon_reader *r = arg;

	for (int i = 0; i < 1500; i++)
		r->sum += read_pages(r->map, et_rand(&r->seed) % r->pages, 1);
	return NULL;
}

/* Two tasks stalled at once count once: "some" time, not a sum. */
TEST_F_TIMEOUT(monitor, stall_time_of_two_tasks_is_not_their_sum, 300)
{
	struct mon_reader r[2];
	struct emp_stat s1, s2;
	pthread_t th[2];
	double t1, t2;

	ASSERT_EQ(0, mon_up(_metadata, self, RF_SIZE, RF_BUDGET));
	for (size_t pg = 0; pg < RF_SIZE / ET_PAGE; pg++)
		et_fill_page(self->in.map + pg * ET_PAGE, pg, 1);
	ASSERT_EQ(0, et_stat_settled(self->ctl, MON_NAME, &s1));
	t1 = et_now();
	for (int i = 0; i < 2; i++) {
		r[i] = (struct mon_reader){ self->in.map, RF_SIZE / ET_PAGE, et_seed() + i, 0 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, mon_read_random, &r[i]));
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	t2 = et_now();
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s2));
	TH_LOG("2 tasks, 3000 random reads: stall %.3f s, read waits (summed) %.3f s, "
	       "elapsed %.3f s", DELTA(s1, s2, stall_ns) / 1e9,
	       DELTA(s1, s2, read_wait_ns) / 1e9, t2 - t1);
	EXPECT_LT(0, DELTA(s1, s2, stall_ns));
	EXPECT_GE((t2 - t1) * 1e9 * 1.01, (double)DELTA(s1, s2, stall_ns));
	EXPECT_LE(DELTA(s1, s2, read_wait_ns) / 2, DELTA(s1, s2, stall_ns));
}

/* ---- idle ages ---------------------------------------------------------------- */

#define AGE_SIZE	(8 * ET_MIB)
#define AGE_HOT		(1 * ET_MIB)
#define AGE_SECS	13.0

/* Touch the first @hot bytes through the mapping until @secs have passed. */
static void touch_hot(const uint8_t *map, size_t hot, double secs)
{
	double end = et_now() + secs;

	while (et_now() < end)
		read_pages(map, 0, hot / ET_PAGE);
}

TEST_F_TIMEOUT(monitor, idle_ages_tell_a_hot_set_from_idle_memory, 120)
{
	uint64_t idle = AGE_SIZE - AGE_HOT, cold10;
	struct emp_stat s;

	ASSERT_EQ(0, mon_up(_metadata, self, AGE_SIZE, AGE_SIZE));
	/*
	 * Where accessed bits cannot be read, a cold age makes the scanner
	 * unmap idle-looking blocks (after a quarter of it) to learn; 30 s
	 * demotes nothing here.
	 */
	ASSERT_EQ(0, mon_set("cold_age_s", "30"));
	for (size_t pg = 0; pg < AGE_SIZE / ET_PAGE; pg++)
		et_fill_page(self->in.map + pg * ET_PAGE, pg, 1);
	touch_hot(self->in.map, AGE_HOT, AGE_SECS);
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s));
	cold10 = s.cold_bytes[1];
	TH_LOG("resident %llu KiB; idle >= 1 s: %llu KiB, >= 10 s: %llu KiB, >= 60 s: %llu KiB "
	       "(%llu KiB idle, %llu KiB hot); %llu scans, %llu demoted",
	       U(s.resident >> 10), U(s.cold_bytes[0] >> 10), U(cold10 >> 10),
	       U(s.cold_bytes[2] >> 10), U(idle >> 10), U(AGE_HOT >> 10), U(s.age_scans),
	       U(s.demoted));
	EXPECT_LE(AGE_SECS - 3, s.age_scans);
	EXPECT_EQ(0, s.demoted);
	EXPECT_EQ(30, s.cold_age_s);
	EXPECT_LE(idle * 9 / 10, cold10);
	EXPECT_GE(idle + AGE_HOT / 10, cold10);
	EXPECT_EQ(0, s.cold_bytes[2]);
	/* Each bucket holds what the longer ages hold and more. */
	for (int b = 1; b < EMP_COLD_BUCKETS; b++)
		EXPECT_LE(s.cold_bytes[b], s.cold_bytes[b - 1]);
}

/* ---- demotion ------------------------------------------------------------------ */

#define DEM_SIZE	(4 * ET_MIB)
#define DEM_HOT		(1 * ET_MIB)

TEST_F_TIMEOUT(monitor, idle_blocks_are_demoted_and_read_back, 120)
{
	size_t n = DEM_SIZE / ET_PAGE, idle = (DEM_SIZE - DEM_HOT) / ET_PAGE, bad = 0;
	struct emp_stat s0, s1, s2;

	ASSERT_EQ(0, mon_up(_metadata, self, DEM_SIZE, DEM_SIZE));
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(self->in.map + pg * ET_PAGE, pg, 1);
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s0));
	ASSERT_EQ(0, mon_set("cold_age_s", "3"));
	touch_hot(self->in.map, DEM_HOT, 9);
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s1));
	for (size_t pg = 0; pg < n; pg++)
		if (et_check_page(self->in.map + pg * ET_PAGE, pg, 1) >= 0)
			bad++;
	ASSERT_EQ(0, emp_stat(self->ctl, MON_NAME, &s2));
	TH_LOG("cold age 3 s, 9 s of a %llu KiB hot set: %llu blocks demoted of %zu idle, "
	       "%llu written back, resident %llu KiB; read back: %llu fetches, %zu bad pages",
	       U(DEM_HOT >> 10), U(DELTA(s0, s1, demoted)), idle, U(DELTA(s0, s1, writebacks)),
	       U(s1.resident >> 10), U(DELTA(s1, s2, fetches)), bad);
	EXPECT_LE(idle * 9 / 10, DELTA(s0, s1, demoted));
	EXPECT_GE(idle + DEM_HOT / ET_PAGE / 10, DELTA(s0, s1, demoted));
	EXPECT_LE(DELTA(s0, s1, demoted), DELTA(s0, s1, writebacks));
	EXPECT_GE(DEM_HOT + DEM_HOT / 4 + (DEM_SIZE - DEM_HOT) / 10, s1.resident);
	EXPECT_LE(DEM_HOT * 9 / 10, s1.resident);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, s2.io_errors);
}

/* ---- settings -------------------------------------------------------------------- */

TEST_F(monitor, bad_settings_are_refused)
{
	char buf[32];
	char path[128];

	ASSERT_EQ(0, mon_up(_metadata, self, 2 * ET_MIB, 2 * ET_MIB));
	EXPECT_EQ(-EINVAL, mon_set("cold_age_s", "86401"));
	EXPECT_EQ(-EINVAL, mon_set("cold_age_s", "-1"));
	EXPECT_EQ(-EINVAL, mon_set("cold_age_s", "soon"));
	EXPECT_EQ(-EINVAL, mon_set("pressure_threshold", "1001"));
	EXPECT_EQ(0, mon_set("pressure_threshold", "250"));
	snprintf(path, sizeof(path), "/sys/class/emp/" EMP_INST_PREFIX MON_NAME
		 "/pressure_threshold");
	ASSERT_EQ(0, et_read_file(path, buf, sizeof(buf)));
	EXPECT_STREQ("250", buf);
	snprintf(path, sizeof(path), "/sys/class/emp/" EMP_INST_PREFIX MON_NAME "/cold_hist");
	ASSERT_EQ(0, et_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "1 ", 2)) TH_LOG("cold_hist starts with \"%s\"", buf);
}

TEST_HARNESS_MAIN
