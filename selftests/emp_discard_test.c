// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of EMP_IOC_DISCARD (issue 18 item 1): a discarded range
 * reads as zeros with no fetch, whole blocks give their DRAM back without
 * a writeback, partly covered blocks, subblocks and pages keep every byte
 * outside the range, and discards racing with faults on the same blocks
 * lose nothing. Needs emp.ko loaded and /dev/nvme0n1 (EMP_TEST_DEV) free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define U(x)		((unsigned long long)(x))
#define DELTA(a, b, f)	((b).f - (a).f)
#define DIS_NAME	"st_discard"

static int discard(int ctl, const char *name, uint64_t off, uint64_t len)
{
	struct emp_discard d = { .size = sizeof(d), .offset = off, .length = len };

	snprintf(d.name, sizeof(d.name), "%s", name);
	return ioctl(ctl, EMP_IOC_DISCARD, &d) ? -errno : 0;
}

FIXTURE(dis) {
	int ctl;
	struct et_inst in;
};

FIXTURE_VARIANT(dis) {
	uint32_t block;
	uint32_t sub;
};

/*
 * 4K/4K: every block a page, so a page discarded is a block dropped whole;
 * 64K/16K: blocks covered in part, with subblocks covered whole (zeroed in
 * place) and in part (fetched, zeroed, dirty).
 */
FIXTURE_VARIANT_ADD(dis, b4k_s4k) { 4 << 10, 4 << 10 };
FIXTURE_VARIANT_ADD(dis, b64k_s16k) { 64 << 10, 16 << 10 };

#define DIS_SIZE	(4 * ET_MIB)
#define DIS_BUDGET	(1 * ET_MIB)

FIXTURE_SETUP(dis)
{
	struct emp_info info = { .size = sizeof(info) };
	struct et_geom g = { .size = DIS_SIZE, .block = variant->block, .sub = variant->sub,
			     .budget = DIS_BUDGET };
	const char *why = "";
	int err;

	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	ASSERT_TRUE(info.features & EMP_FEAT_DISCARD)
		TH_LOG("the module does not announce EMP_FEAT_DISCARD");
	err = et_inst_up(&self->in, self->ctl, DIS_NAME, &g, &why);
	if (err)
		et_inst_down(&self->in);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
}

FIXTURE_TEARDOWN(dis)
{
	EXPECT_EQ(0, et_inst_down(&self->in));
	close(self->ctl);
}

/*
 * Check every byte of the instance: zero inside [@zs, @ze), the pattern
 * of version 1 elsewhere. Return: the number of pages with a wrong byte.
 */
static size_t check_all(const uint8_t *map, size_t size, uint64_t zs, uint64_t ze)
{
	uint8_t want[ET_PAGE];
	size_t bad = 0;

	for (uint64_t pg = 0; pg < size / ET_PAGE; pg++) {
		uint64_t p0 = pg * ET_PAGE;

		et_fill_page(want, pg, 1);
		for (uint64_t b = 0; b < ET_PAGE; b++)
			if (p0 + b >= zs && p0 + b < ze)
				want[b] = 0;
		if (memcmp(map + p0, want, ET_PAGE))
			bad++;
	}
	return bad;
}

static void fill_all(uint8_t *map, size_t size)
{
	for (uint64_t pg = 0; pg < size / ET_PAGE; pg++)
		et_fill_page(map + pg * ET_PAGE, pg, 1);
}

/* Whole blocks, some resident and some on the tier: zeros, no I/O. */
TEST_F_TIMEOUT(dis, whole_blocks_read_zero_without_io, 120)
{
	uint64_t zs = DIS_SIZE - DIS_BUDGET / 2 - 4 * variant->block, ze = DIS_SIZE;
	struct emp_stat s0, s1, s2;
	size_t bad;

	fill_all(self->in.map, DIS_SIZE);
	ASSERT_EQ(0, et_stat_settled(self->ctl, DIS_NAME, &s0));
	ASSERT_EQ(0, discard(self->ctl, DIS_NAME, zs, ze - zs));
	ASSERT_EQ(0, emp_stat(self->ctl, DIS_NAME, &s1));
	/* The range alone first: its pages must come without a fetch. */
	for (uint64_t p = zs; p < ze; p += ET_PAGE)
		if (et_check_zero(self->in.map + p) >= 0)
			TH_LOG("page at %llu not zero", U(p));
	ASSERT_EQ(0, emp_stat(self->ctl, DIS_NAME, &s2));
	bad = check_all(self->in.map, DIS_SIZE, zs, ze);
	TH_LOG("%u/%u: discard of %llu KiB: %llu discarded, resident %llu -> %llu KiB, "
	       "%llu writebacks, %llu evictions; reading it: %llu fetches, %llu zero fills; "
	       "%zu bad pages", variant->block, variant->sub, U((ze - zs) >> 10),
	       U(DELTA(s0, s1, discarded)), U(s0.resident >> 10), U(s1.resident >> 10),
	       U(DELTA(s0, s1, writebacks)), U(DELTA(s0, s1, evictions)),
	       U(DELTA(s1, s2, fetches)), U(DELTA(s1, s2, zero_fills)), bad);
	EXPECT_EQ(ze - zs, DELTA(s0, s1, discarded));
	EXPECT_EQ(0, DELTA(s0, s1, writebacks));
	EXPECT_EQ(0, DELTA(s0, s1, fetches));
	EXPECT_GT(s0.resident, s1.resident) TH_LOG("no DRAM given back");
	EXPECT_EQ(0, DELTA(s1, s2, fetches));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, s2.io_errors);
}

/* Ranges that start and end inside pages, subblocks and blocks. */
TEST_F_TIMEOUT(dis, partial_ranges_keep_every_byte_outside, 120)
{
	static const struct { uint64_t off, len; } r[] = {
		{ 100, 200 },				/* inside one page */
		{ 2 * ET_MIB - 1000, 5000 },		/* across a block edge */
		{ 64 * 1024 + 4096 + 7, 200 * 1024 },	/* several blocks, ragged ends */
	};
	size_t bad;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		struct emp_stat s0, s1;

		fill_all(self->in.map, DIS_SIZE);
		ASSERT_EQ(0, et_stat_settled(self->ctl, DIS_NAME, &s0));
		ASSERT_EQ(0, discard(self->ctl, DIS_NAME, r[i].off, r[i].len));
		ASSERT_EQ(0, emp_stat(self->ctl, DIS_NAME, &s1));
		bad = check_all(self->in.map, DIS_SIZE, r[i].off, r[i].off + r[i].len);
		TH_LOG("%u/%u: [%llu, +%llu): %llu discarded, %zu bad pages", variant->block,
		       variant->sub, U(r[i].off), U(r[i].len), U(DELTA(s0, s1, discarded)), bad);
		EXPECT_EQ(r[i].len, DELTA(s0, s1, discarded));
		EXPECT_EQ(0, bad);
		/* Evict all: what partial discards left must be on the tier right. */
		ASSERT_EQ(0, emp_resize(self->ctl, DIS_NAME, 2ULL * variant->block));
		ASSERT_EQ(0, emp_resize(self->ctl, DIS_NAME, DIS_BUDGET));
		bad = check_all(self->in.map, DIS_SIZE, r[i].off, r[i].off + r[i].len);
		EXPECT_EQ(0, bad) TH_LOG("after evicting everything: %zu bad pages", bad);
	}
}

/*
 * Two tasks on the same blocks: a writer owns the even pages (writes a new
 * version, checks it, round after round, through a budget a quarter of the
 * instance) while a discarder drops odd pages one by one, and parts of
 * them. At the end every even page has its last version, every odd page
 * is zeros.
 */
struct race {
	uint8_t *map;
	size_t pages;
	int ctl;
	atomic_int stop;
	size_t bad;
	int err;
	uint32_t rounds;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;

	for (uint32_t v = 2; !atomic_load(&r->stop); v++) {
		for (size_t pg = 0; pg < r->pages; pg += 2)
			et_fill_page(r->map + pg * ET_PAGE, pg, v);
		for (size_t pg = 0; pg < r->pages; pg += 2)
			if (et_check_page(r->map + pg * ET_PAGE, pg, v) >= 0)
				r->bad++;
		r->rounds = v - 1;
	}
	return NULL;
}

static void *race_discarder(void *arg)
{
	struct race *r = arg;

	for (int pass = 0; pass < 3 && !r->err; pass++) {
		for (size_t pg = 1; pg < r->pages && !r->err; pg += 2) {
			uint64_t off = pg * ET_PAGE;

			/* A whole page, or its two halves. */
			if ((pg + pass) % 3)
				r->err = discard(r->ctl, DIS_NAME, off, ET_PAGE);
			else if (!(r->err = discard(r->ctl, DIS_NAME, off, ET_PAGE / 2)))
				r->err = discard(r->ctl, DIS_NAME, off + ET_PAGE / 2, ET_PAGE / 2);
		}
	}
	atomic_store(&r->stop, 1);
	return NULL;
}

TEST_F_TIMEOUT(dis, racing_faults_on_the_same_blocks_lose_nothing, 300)
{
	struct race r = { .map = self->in.map, .pages = DIS_SIZE / ET_PAGE, .ctl = self->ctl };
	size_t bad_even = 0, bad_odd = 0;
	pthread_t w, d;

	fill_all(self->in.map, DIS_SIZE);
	ASSERT_EQ(0, pthread_create(&w, NULL, race_writer, &r));
	ASSERT_EQ(0, pthread_create(&d, NULL, race_discarder, &r));
	pthread_join(d, NULL);
	pthread_join(w, NULL);
	for (size_t pg = 0; pg < r.pages; pg++) {
		const uint8_t *p = self->in.map + pg * ET_PAGE;

		if (pg % 2 && et_check_zero(p) >= 0)
			bad_odd++;
		if (!(pg % 2) && et_check_page(p, pg, r.rounds + 1) >= 0)
			bad_even++;
	}
	TH_LOG("%u/%u: %u writer rounds; wrong while racing %zu; after: even %zu, odd %zu; "
	       "discard %s", variant->block, variant->sub, r.rounds, r.bad, bad_even, bad_odd,
	       strerror(-r.err));
	EXPECT_EQ(0, r.err);
	EXPECT_LE(1, r.rounds);
	EXPECT_EQ(0, r.bad);
	EXPECT_EQ(0, bad_even);
	EXPECT_EQ(0, bad_odd);
}

TEST_F(dis, bad_requests_are_refused)
{
	struct emp_discard d = { .size = sizeof(d), .offset = 0, .length = ET_PAGE };

	EXPECT_EQ(-EINVAL, discard(self->ctl, DIS_NAME, 0, 0));
	EXPECT_EQ(-EINVAL, discard(self->ctl, DIS_NAME, DIS_SIZE, 1));
	EXPECT_EQ(-EINVAL, discard(self->ctl, DIS_NAME, DIS_SIZE - 1, 2));
	EXPECT_EQ(-EINVAL, discard(self->ctl, DIS_NAME, UINT64_MAX, 2));
	EXPECT_EQ(-ENOENT, discard(self->ctl, "st_discard_none", 0, 1));
	snprintf(d.name, sizeof(d.name), "%s", DIS_NAME);
	d.flags = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_DISCARD, &d));
	EXPECT_EQ(EINVAL, errno);
	d.flags = 0;
	d.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_DISCARD, &d));
	EXPECT_EQ(EINVAL, errno);
	d.reserved[1] = 0;
	d.size = EMP_DISCARD_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_DISCARD, &d));
	EXPECT_EQ(EINVAL, errno);
	d.size = sizeof(d);
	EXPECT_EQ(0, ioctl(self->ctl, EMP_IOC_DISCARD, &d)) TH_LOG("%s", strerror(errno));
}

TEST_HARNESS_MAIN
