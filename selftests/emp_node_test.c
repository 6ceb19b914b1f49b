// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftests of the NUMA node tier (EMP_TIER_NODE, "node:N:SIZE"): its
 * memory comes from its node and goes back at destroy; the integrity matrix
 * of the core suite on it (working set 4x the budget, every block size and
 * subblock size pair of the remote matrix); parallel faults of four threads
 * on shared blocks with versions checked; a node + NVMe instance made from a
 * spec; refusals. The guests have a CPU-less node 1 (scripts/guest.sh,
 * EMP_GUEST_NODE1_MB); EMP_TEST_NODE overrides the node. Needs emp.ko
 * loaded and /dev/nvme0n1 (EMP_TEST_DEV) free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

static unsigned int test_node(void)
{
	const char *n = getenv("EMP_TEST_NODE");

	return n && *n ? (unsigned int)strtoul(n, NULL, 10) : 1;
}

/* Free memory of node @nid in bytes (its meminfo's MemFree), or -1. */
static int64_t node_free(unsigned int nid)
{
	char path[96], line[160];
	long long kib;
	int64_t ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", nid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %*u MemFree: %lld kB", &kib) == 1) {
			ret = (int64_t)kib << 10;
			break;
		}
	}
	fclose(f);
	return ret;
}

static void node_tier(struct emp_tier *t, unsigned int nid, uint64_t size)
{
	memset(t, 0, sizeof(*t));
	t->kind = EMP_TIER_NODE;
	t->node = (uint16_t)nid;
	t->size = size;
}

static int create_node(int ctl, const char *name, unsigned int nid, uint64_t size,
		       uint32_t block, uint32_t sub, uint64_t budget)
{
	struct emp_tier t;

	node_tier(&t, nid, size);
	return et_create_tiers(ctl, name, block, sub, budget, &t, 1);
}

/* The counters of a quiet instance whose data all went through its tiers. */
static void check_counters(struct __test_metadata *_metadata, int ctl, const char *name)
{
	struct emp_stat st;
	uint64_t rd = 0, wr = 0;

	ASSERT_EQ(0, et_stat_settled(ctl, name, &st));
	EXPECT_LT(0, st.evictions);
	EXPECT_LT(0, st.writebacks);
	EXPECT_LE(st.resident, st.dram_budget);
	EXPECT_EQ(0, st.io_errors);
	for (unsigned int i = 0; i < st.nr_tiers; i++) {
		EXPECT_LT(0, st.tier[i].reads) TH_LOG("tier %u never read", i);
		EXPECT_LT(0, st.tier[i].writes) TH_LOG("tier %u never written", i);
		EXPECT_EQ(0, st.tier[i].errors);
		rd += st.tier[i].read_bytes;
		wr += st.tier[i].write_bytes;
	}
	/* Every subblock fetched and written back went through a tier. */
	EXPECT_EQ(st.fetches * st.subblock_size, rd);
	EXPECT_EQ(st.writebacks * st.subblock_size, wr);
}

TEST(memory_comes_from_its_node_and_goes_back)
{
	const uint64_t size = 64 * ET_MIB;
	unsigned int nid = test_node();
	int64_t before, taken, after, before0, taken0;
	struct emp_stat st;
	char cpus[64] = "";
	char path[96];
	int ctl;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", nid);
	ASSERT_EQ(0, et_read_file(path, cpus, sizeof(cpus)))
		TH_LOG("no NUMA node %u in this guest (scripts/guest.sh makes one)", nid);
	TH_LOG("node %u: cpus '%s', %lld MiB free", nid, strtok(cpus, "\n") ? cpus : "",
	       (long long)(node_free(nid) >> 20));
	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	et_destroy_all(ctl);
	before = node_free(nid);
	before0 = node_free(0);
	ASSERT_EQ(0, create_node(ctl, "nd", nid, size, 64 << 10, 4 << 10, 1 * ET_MIB));
	taken = before - node_free(nid);
	taken0 = before0 - node_free(0);
	TH_LOG("a 64 MiB node tier took %lld KiB of node %u, %lld KiB of node 0",
	       (long long)(taken >> 10), nid, (long long)(taken0 >> 10));
	/*
	 * All of it, from that node: its free memory fell by the tier's size,
	 * give or take what the per-CPU free lists hold (pages freed there
	 * before are not counted free, and are reused first; 4 MiB seen).
	 */
	EXPECT_LE((int64_t)(size - 8 * ET_MIB), taken);
	EXPECT_GE((int64_t)(size + 8 * ET_MIB), taken);
	EXPECT_GE((int64_t)(8 * ET_MIB), taken0);
	ASSERT_EQ(0, emp_stat(ctl, "nd", &st));
	EXPECT_EQ(1, st.nr_tiers);
	EXPECT_EQ(EMP_TIER_NODE, st.tier[0].kind);
	EXPECT_EQ(size, st.tier[0].size);
	EXPECT_EQ(0, emp_destroy(ctl, "nd"));
	after = node_free(nid);
	TH_LOG("after destroy: %lld KiB of node %u back", (long long)((after - before + taken) >> 10),
	       nid);
	/* Less what the per-CPU free lists keep (6 MiB seen on 6.12). */
	EXPECT_LE(before - (int64_t)(16 * ET_MIB), after);
	close(ctl);
}

/* The fixtures' set-up and tear-down: /dev/emp open, no instance left. */
static int fix_up(struct __test_metadata *_metadata)
{
	int ctl = emp_ctl_open();

	EXPECT_LE(0, ctl);
	if (ctl >= 0)
		et_destroy_all(ctl);
	return ctl;
}

static void fix_down(int ctl)
{
	if (ctl >= 0) {
		et_destroy_all(ctl);
		close(ctl);
	}
}

FIXTURE(matrix) {
	int ctl;
};

ET_MATRIX_VARIANTS(matrix);

FIXTURE_SETUP(matrix)
{
	self->ctl = fix_up(_metadata);
	ASSERT_LE(0, self->ctl);
}

FIXTURE_TEARDOWN(matrix)
{
	fix_down(self->ctl);
}

/*
 * Working set 4x the budget: fill every page, check every page in reverse
 * order, rewrite every other page with a new version, check all again.
 */
TEST_F_TIMEOUT(matrix, integrity, 120)
{
	uint64_t size = 4 * variant->budget;
	size_t n = size / ET_PAGE;
	uint8_t *m;
	long bad;
	int fd, word;

	ASSERT_EQ(0, create_node(self->ctl, "mx", test_node(), size, variant->block,
				 variant->sub, variant->budget));
	fd = et_open_node("mx", O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	bad = et_fill_check(m, n, 8, &word);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld word %d", bad, word);
	for (size_t pg = 0; pg < n; pg += 2)
		et_fill_page(m + pg * ET_PAGE, pg, 9);
	for (size_t pg = 0; pg < n; pg++) {
		word = et_check_ver(m + pg * ET_PAGE, pg, pg % 2 ? 8 : 9);
		ASSERT_EQ(-1, word) TH_LOG("page %zu word %d (second pass)", pg, word);
	}
	munmap(m, size);
	close(fd);
	check_counters(_metadata, self->ctl, "mx");
	EXPECT_EQ(0, emp_destroy(self->ctl, "mx"));
}

/*
 * Four threads on one instance, pages dealt out round-robin so every block
 * is shared: each thread checks the version its page has and writes the
 * next, at random, 1000 times, over a working set 4x the budget. Nearly
 * every access misses and moves a subblock each way. On 4K and 64K blocks
 * of 4 KiB subblocks: those share blocks between threads page by page
 * (larger subblocks and blocks only move more bytes per miss, which the
 * matrix above covers; 2 MiB blocks took 2-10 s for 100 rounds each).
 */
#define PAR_THREADS	4
#define PAR_ROUNDS	1000

FIXTURE(par) {
	int ctl;
};

FIXTURE_VARIANT(par) {
	uint32_t block;
	uint32_t sub;
	uint64_t budget;
};

FIXTURE_VARIANT_ADD(par, b4k_s4k) { 4 << 10, 4 << 10, 256 << 10 };
FIXTURE_VARIANT_ADD(par, b64k_s4k) { 64 << 10, 4 << 10, 512 << 10 };

FIXTURE_SETUP(par)
{
	self->ctl = fix_up(_metadata);
	ASSERT_LE(0, self->ctl);
}

FIXTURE_TEARDOWN(par)
{
	fix_down(self->ctl);
}

struct par_arg {
	uint8_t *map;
	size_t pages;
	unsigned int id;
	uint32_t *ver;		/* per page, owned by the page's thread */
	uint64_t seed;
	long bad_page;
	int bad_word;
};

static void *par_worker(void *p)
{
	struct par_arg *a = p;
	size_t mine = a->pages / PAR_THREADS;

	for (unsigned int r = 0; r < PAR_ROUNDS; r++) {
		size_t pg = (et_rand(&a->seed) % mine) * PAR_THREADS + a->id;
		uint8_t *page = a->map + pg * ET_PAGE;
		int bad = a->ver[pg] ? et_check_ver(page, pg, a->ver[pg]) : et_check_zero(page);

		if (bad != -1) {
			a->bad_page = (long)pg;
			a->bad_word = bad;
			return NULL;
		}
		et_fill_page(page, pg, ++a->ver[pg]);
	}
	return NULL;
}

TEST_F_TIMEOUT(par, four_threads_share_blocks, 120)
{
	uint64_t size = 4 * variant->budget;
	size_t n = size / ET_PAGE;
	struct par_arg a[PAR_THREADS];
	pthread_t th[PAR_THREADS];
	uint32_t *ver;
	uint8_t *m;
	int fd;

	double t0 = et_now();
	struct emp_stat st;

	ASSERT_EQ(0, create_node(self->ctl, "par", test_node(), size, variant->block,
				 variant->sub, variant->budget));
	fd = et_open_node("par", O_RDWR);
	ASSERT_LE(0, fd);
	m = et_map(fd, size, 0);
	ASSERT_NE(MAP_FAILED, m);
	ver = calloc(n, sizeof(*ver));
	ASSERT_NE(NULL, ver);
	for (unsigned int i = 0; i < PAR_THREADS; i++) {
		a[i] = (struct par_arg){ .map = m, .pages = n, .id = i, .ver = ver,
					 .seed = et_seed() + i, .bad_page = -1 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, par_worker, &a[i]));
	}
	for (unsigned int i = 0; i < PAR_THREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned int i = 0; i < PAR_THREADS; i++) {
		EXPECT_EQ(-1, a[i].bad_page) TH_LOG("thread %u: page %ld word %d", i,
						     a[i].bad_page, a[i].bad_word);
	}
	/* And every page once more, after all the evictions. */
	for (size_t pg = 0; pg < n; pg++) {
		int bad = ver[pg] ? et_check_ver(m + pg * ET_PAGE, pg, ver[pg]) :
				    et_check_zero(m + pg * ET_PAGE);

		ASSERT_EQ(-1, bad) TH_LOG("page %zu word %d (final check)", pg, bad);
	}
	free(ver);
	munmap(m, size);
	close(fd);
	ASSERT_EQ(0, emp_stat(self->ctl, "par", &st));
	TH_LOG("%.2f s: faults %llu hits %llu fetches %llu evictions %llu writebacks %llu direct %llu stall %.3f s nowait %llu",
	       et_now() - t0, (unsigned long long)st.faults, (unsigned long long)st.hits,
	       (unsigned long long)st.fetches, (unsigned long long)st.evictions,
	       (unsigned long long)st.writebacks, (unsigned long long)st.direct_reclaims,
	       st.stall_ns / 1e9, (unsigned long long)st.nowait_retries);
	check_counters(_metadata, self->ctl, "par");
	EXPECT_EQ(0, emp_destroy(self->ctl, "par"));
}

/* node:N:SIZE|/dev/nvme0n1:SIZE:0|dram:SIZE through libemp, as every tool makes it. */
TEST(node_and_nvme_from_a_spec)
{
	char spec[128], err[EMP_SPEC_ERR_MAX], back[256];
	struct emp_create c;
	struct emp_spec s;
	size_t n;
	uint8_t *m;
	long bad;
	int ctl, fd, word;

	snprintf(spec, sizeof(spec), "node:%u:4|%s:4:0|dram:1", test_node(), et_dev());
	ASSERT_EQ(0, emp_spec_parse(spec, &s, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(2, s.nr_tiers);
	EXPECT_EQ(EMP_TIER_NODE, s.tier[0].kind);
	EXPECT_EQ(test_node(), s.tier[0].node);
	emp_spec_format(&s, back, sizeof(back));
	EXPECT_STREQ(spec, back);
	ASSERT_EQ(0, emp_spec_to_create(&s, "mix", 0, 64 << 10, 4 << 10, &c, err, sizeof(err)))
		TH_LOG("%s", err);
	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	et_destroy_all(ctl);
	ASSERT_EQ(0, emp_create(ctl, &c, s.tier, s.nr_tiers));
	fd = et_open_node("mix", O_RDWR);
	ASSERT_LE(0, fd);
	n = c.inst_size / ET_PAGE;
	m = et_map(fd, c.inst_size, 0);
	ASSERT_NE(MAP_FAILED, m);
	bad = et_fill_check(m, n, 3, &word);
	ASSERT_EQ(-1, bad) TH_LOG("page %ld word %d", bad, word);
	munmap(m, c.inst_size);
	close(fd);
	check_counters(_metadata, ctl, "mix");
	EXPECT_EQ(0, emp_destroy(ctl, "mix"));
	close(ctl);
}

TEST(refusals)
{
	unsigned int nid = test_node();
	struct emp_create c;
	struct emp_tier t;
	int64_t before, free_now;
	int ctl;

	ctl = emp_ctl_open();
	ASSERT_LE(0, ctl);
	et_destroy_all(ctl);
	memset(&c, 0, sizeof(c));
	emp_set_name(c.name, "bad");
	c.block_size = 64 << 10;
	c.subblock_size = 4 << 10;
	c.dram_budget = ET_MIB;

	/* No such node, and node numbers past any kernel's MAX_NUMNODES. */
	node_tier(&t, 9, 4 * ET_MIB);
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	node_tier(&t, 0xffff, 4 * ET_MIB);
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	/* Fields of the other kinds. */
	node_tier(&t, nid, 4 * ET_MIB);
	snprintf(t.path, sizeof(t.path), "%s", et_dev());
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	node_tier(&t, nid, 4 * ET_MIB);
	t.port = 19675;
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	node_tier(&t, nid, 4 * ET_MIB);
	t.offset = 4096;
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	node_tier(&t, nid, 4 * ET_MIB);
	t.secret_len = 1;
	t.secret[0] = 'x';
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	node_tier(&t, nid, 4 * ET_MIB + 4096);
	EXPECT_EQ(-EINVAL, emp_create(ctl, &c, &t, 1));
	/* More than the node has: ENOMEM, and what was taken goes back. */
	before = node_free(nid);
	ASSERT_LT(0, before);
	node_tier(&t, nid, ((uint64_t)before + 64 * ET_MIB) & ~(64 * ET_KIB - 1));
	EXPECT_EQ(-ENOMEM, emp_create(ctl, &c, &t, 1));
	free_now = node_free(nid);
	TH_LOG("a tier larger than node %u's %lld MiB free: refused; %lld MiB free after", nid,
	       (long long)(before >> 20), (long long)(free_now >> 20));
	EXPECT_LE(before - (int64_t)(8 * ET_MIB), free_now);
	EXPECT_EQ(0, emp_list(ctl, NULL, 0));
	close(ctl);
}

TEST_HARNESS_MAIN
