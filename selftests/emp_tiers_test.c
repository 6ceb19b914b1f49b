// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftests: an instance over two block devices concatenated (the
 * NVMe disk and a memory-backed null_blk), and the sysfs counters of an
 * instance agreeing with EMP_IOC_STAT, and emp.ko's tracepoints agreeing
 * with them too. Needs emp.ko loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

TEST(two_block_devices_concatenated)
{
	const uint64_t part = 4ULL << 20;
	struct emp_create c;
	struct emp_tier t[2];
	struct emp_stat st;
	struct et_nullb nb;
	const char *why = "";
	size_t n = 2 * part / ET_PAGE;
	uint8_t *m;
	int ctl, fd, err;

	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	et_destroy_all(ctl);
	err = et_nullb_up(&nb, "st_two_nb", 8, &why);
	ASSERT_EQ(0, err) TH_LOG("null_blk: %s: %s", why, strerror(-err));

	memset(&c, 0, sizeof(c));
	memset(t, 0, sizeof(t));
	emp_set_name(c.name, "two");
	c.block_size = 64 << 10;
	c.subblock_size = 16 << 10;
	c.dram_budget = 1 << 20;
	t[0].kind = EMP_TIER_BDEV;
	t[0].size = part;
	t[0].offset = 8 << 20;
	snprintf(t[0].path, sizeof(t[0].path), "%s", et_dev());
	t[1].kind = EMP_TIER_BDEV;
	t[1].size = part;
	snprintf(t[1].path, sizeof(t[1].path), "%s", nb.dev);
	ASSERT_EQ(0, emp_create(ctl, &c, t, 2));

	fd = et_open_node("two", O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, 2 * part, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(m + pg * ET_PAGE, pg, 4);
	for (size_t pg = n; pg-- > 0;) {
		int bad = et_check_ver(m + pg * ET_PAGE, pg, 4);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d", pg, bad);
	}
	ASSERT_EQ(0, emp_stat(ctl, "two", &st));
	EXPECT_EQ(2, st.nr_tiers);
	EXPECT_EQ(2 * part, st.inst_size);
	EXPECT_LE(st.resident, st.dram_budget);
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(EMP_TIER_BDEV, st.tier[i].kind);
		EXPECT_EQ(part, st.tier[i].size);
		EXPECT_LT(0, st.tier[i].writes) TH_LOG("tier %d never written", i);
		EXPECT_LT(0, st.tier[i].reads) TH_LOG("tier %d never read", i);
		EXPECT_EQ(0, st.tier[i].errors);
	}
	munmap(m, 2 * part);
	close(fd);
	EXPECT_EQ(0, emp_destroy(ctl, "two"));
	/* Both devices are free again. */
	EXPECT_EQ(0, et_bdev_excl(et_dev()));
	EXPECT_EQ(0, et_bdev_excl(nb.dev));
	et_nullb_down(&nb);
	close(ctl);
}

TEST(sysfs_counters_agree_with_stat)
{
	struct et_geom g = { .size = 4ULL << 20, .block = 64 << 10, .sub = 4 << 10,
			     .budget = 512 << 10 };
	static const struct { const char *file; size_t off; } f[] = {
		{ "stats/faults", offsetof(struct emp_stat, faults) },
		{ "stats/hits", offsetof(struct emp_stat, hits) },
		{ "stats/zero_fills", offsetof(struct emp_stat, zero_fills) },
		{ "stats/fetches", offsetof(struct emp_stat, fetches) },
		{ "stats/evictions", offsetof(struct emp_stat, evictions) },
		{ "stats/writebacks", offsetof(struct emp_stat, writebacks) },
		{ "stats/io_errors", offsetof(struct emp_stat, io_errors) },
		{ "stats/sigbus", offsetof(struct emp_stat, sigbus) },
		{ "resident_bytes", offsetof(struct emp_stat, resident) },
		{ "dram_budget", offsetof(struct emp_stat, dram_budget) },
		{ "size", offsetof(struct emp_stat, inst_size) },
	};
	struct et_inst in;
	struct emp_stat st;
	const char *why = "";
	char hist[1024], tiers[256];
	uint64_t sum = 0;
	int ctl, err;

	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	err = et_inst_up(&in, ctl, "sysfs", &g, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	for (size_t pg = 0; pg < et_pages(&in); pg++)
		et_fill_page(in.map + pg * ET_PAGE, pg, 1);
	for (size_t pg = 0; pg < et_pages(&in); pg++)
		ASSERT_EQ(-1, et_check_ver(in.map + pg * ET_PAGE, pg, 1));
	/* Quiet now (no fault runs, the reclaimer is done): two reads agree. */
	ASSERT_EQ(0, et_stat_settled(ctl, "sysfs", &st));
	EXPECT_LT(0, st.evictions);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint64_t want = *(const uint64_t *)((const char *)&st + f[i].off);

		EXPECT_EQ(want, et_sysfs_u64("sysfs", f[i].file)) TH_LOG("%s", f[i].file);
	}
	EXPECT_EQ(st.block_size, et_sysfs_u64("sysfs", "block_size"));
	EXPECT_EQ(st.subblock_size, et_sysfs_u64("sysfs", "subblock_size"));
	/* The histogram has EMP_LAT_BUCKETS numbers adding up to the faults. */
	ASSERT_EQ(0, et_read_file("/sys/class/emp/emp-sysfs/stats/latency_hist", hist,
				  sizeof(hist)));
	{
		char *p = hist, *end;
		int k = 0;

		for (; k < EMP_LAT_BUCKETS; k++, p = end) {
			sum += strtoull(p, &end, 10);
			if (end == p)
				break;
		}
		EXPECT_EQ(EMP_LAT_BUCKETS, k);
	}
	EXPECT_EQ(st.faults, sum);
	ASSERT_EQ(0, et_read_file("/sys/class/emp/emp-sysfs/stats/tiers", tiers, sizeof(tiers)));
	EXPECT_EQ(0, strncmp(tiers, "bdev 0 4194304 ", 15)) TH_LOG("tiers: %s", tiers);
	EXPECT_EQ(0, et_inst_down(&in));
	close(ctl);
}

/* ---- tracepoints --------------------------------------------------------- */

#define TRACEFS		"/sys/kernel/tracing"
#define TRACE_INST	"st_trace"

/* What the trace buffer holds of one event of TRACE_INST. */
struct trace_sum {
	uint64_t events;	/* lines */
	uint64_t nr;		/* sum of the nr= fields of those without error */
	uint64_t failed;	/* lines with err other than 0 */
	uint64_t hits;		/* lines with hit=1 */
};

static struct trace_sum trace_sum(const char *event, const char *inst)
{
	struct trace_sum t = { 0 };
	char line[512], key[48];
	FILE *f = fopen(TRACEFS "/trace", "r");
	const char *v;

	if (!f)
		return t;
	snprintf(key, sizeof(key), " %s: ", event);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strstr(line, key) || (inst && !strstr(line, inst)))
			continue;
		t.events++;
		v = strstr(line, " err=");
		if (v && strtol(v + 5, NULL, 10) != 0) {
			t.failed++;
			continue;
		}
		v = strstr(line, " nr=");
		if (v)
			t.nr += strtoull(v + 4, NULL, 10);
		if (strstr(line, " hit=1"))
			t.hits++;
	}
	fclose(f);
	return t;
}

static int trace_events(const char *on)
{
	int err = et_write_file(TRACEFS "/events/emp/enable", on);

	return err ? err : et_write_file(TRACEFS "/tracing_on", on);
}

/*
 * Every event kind fires, and what the tracepoints say adds up to the
 * counters: one emp_fault per fault (hits too), emp_fetch's subblocks are
 * stat.fetches, emp_writeback's are stat.writebacks, one emp_evict per
 * eviction, and every failed tier request an emp_tier_error and a failed
 * emp_fetch or emp_writeback. Over a memory-backed null_blk, whose bad blocks make
 * the failure.
 */
TEST(tracepoints_add_up_to_the_counters)
{
	struct et_geom g = {
		.size = 4 * ET_MIB, .block = 64 << 10, .sub = 4 << 10, .budget = 512 << 10,
	};
	struct trace_sum fault, fetch, wb, evict, tier_err;
	struct et_nullb nb;
	struct et_inst in;
	struct emp_stat st;
	const char *why = "";
	uint64_t v;
	int ctl, err, sig;

	et_catch_signals();	/* the failed read's SIGBUS */
	if (access(TRACEFS "/trace", F_OK))
		et_sh("mount -t tracefs nodev " TRACEFS);
	ASSERT_EQ(0, access(TRACEFS "/events/emp/emp_fault", F_OK))
		TH_LOG("no emp events in %s: tracefs missing, or emp.ko has no tracepoints", TRACEFS);
	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	err = et_nullb_up(&nb, "st_trace_nb", 8, &why);
	ASSERT_EQ(0, err) TH_LOG("null_blk: %s: %s", why, strerror(-err));
	g.path = nb.dev;
	err = et_inst_up(&in, ctl, TRACE_INST, &g, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	ASSERT_EQ(0, trace_events("0"));
	/* Room for every event of the run (a few thousand), per CPU. */
	ASSERT_EQ(0, et_write_file(TRACEFS "/buffer_size_kb", "2048"));
	ASSERT_EQ(0, et_write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, trace_events("1"));

	/*
	 * Eight budgets written (evictions, writebacks); then, with a budget
	 * of two blocks, the first two read back (fetches), which leaves
	 * nothing else resident. (With the budget of eight blocks, which stay
	 * is the replacement's choice: on the debug line once the block at
	 * 2 MiB did, and the read below found it without I/O.)
	 */
	for (size_t pg = 0; pg < et_pages(&in); pg++)
		et_fill_page(in.map + pg * ET_PAGE, pg, 1);
	ASSERT_EQ(0, emp_resize(ctl, TRACE_INST, 2 * g.block));
	for (size_t pg = 0; pg < 32; pg++)
		EXPECT_EQ(-1, et_check_page(in.map + pg * ET_PAGE, pg, 1));
	/* Then the device fails, and a page that was written back is read. */
	ASSERT_EQ(0, et_nullb_badblocks(&nb, 0, 8 * ET_MIB / 512 - 1, 1));
	sig = et_try_read((uint64_t *)(in.map + 2 * ET_MIB), &v);
	ASSERT_EQ(0, trace_events("0"));
	ASSERT_EQ(0, et_nullb_badblocks(&nb, 0, 8 * ET_MIB / 512 - 1, 0));
	ASSERT_EQ(0, emp_stat(ctl, TRACE_INST, &st));

	fault = trace_sum("emp_fault", "inst=" TRACE_INST " ");
	fetch = trace_sum("emp_fetch", "inst=" TRACE_INST " ");
	wb = trace_sum("emp_writeback", "inst=" TRACE_INST " ");
	evict = trace_sum("emp_evict", "inst=" TRACE_INST " ");
	tier_err = trace_sum("emp_tier_error", NULL);
	TH_LOG("trace: %llu faults (%llu hits), %llu fetch events (%llu subblocks, %llu failed), "
	       "%llu writeback events (%llu subblocks), %llu evictions, %llu tier errors; "
	       "stat: %llu faults, %llu hits, %llu fetches, %llu writebacks, %llu evictions, "
	       "%llu tier errors",
	       (unsigned long long)fault.events, (unsigned long long)fault.hits,
	       (unsigned long long)fetch.events, (unsigned long long)fetch.nr,
	       (unsigned long long)fetch.failed, (unsigned long long)wb.events,
	       (unsigned long long)wb.nr, (unsigned long long)evict.events,
	       (unsigned long long)tier_err.events, (unsigned long long)st.faults,
	       (unsigned long long)st.hits, (unsigned long long)st.fetches,
	       (unsigned long long)st.writebacks, (unsigned long long)st.evictions,
	       (unsigned long long)st.tier[0].errors);
	EXPECT_EQ(SIGBUS, sig);
	EXPECT_LT(0, st.evictions);
	EXPECT_LT(0, st.fetches);
	EXPECT_EQ(st.faults, fault.events);
	EXPECT_EQ(st.hits, fault.hits);
	EXPECT_EQ(st.fetches, fetch.nr);
	EXPECT_LE(1, fetch.failed);
	EXPECT_EQ(st.writebacks, wb.nr);
	/* Making room for the failing read may try an eviction that fails too. */
	EXPECT_EQ(st.evictions, evict.events - evict.failed);
	EXPECT_EQ(st.tier[0].errors, tier_err.events);
	/* Each failed request is one failed fetch or writeback. */
	EXPECT_EQ(tier_err.events, fetch.failed + wb.failed);

	et_write_file(TRACEFS "/trace", "");
	EXPECT_EQ(0, et_inst_down(&in));
	et_nullb_down(&nb);
	close(ctl);
}

TEST_HARNESS_MAIN
