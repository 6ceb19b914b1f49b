// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the fine latency histogram: the kernel's bucket of a
 * duration (kmod/emp_lat.h) against libemp's bucket bounds, and quantiles.
 */
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "../../kmod/emp_lat.h"

/* Every bucket's lower bound falls in it, and the value before it in the one before. */
TEST(bucket_bounds_match_kernel)
{
	unsigned int b;

	for (b = 0; b < EMP_LAT_FINE_BUCKETS; b++) {
		uint64_t low = emp_lat_fine_low(b);

		ASSERT_EQ(b, emp_lat_fine_bucket(low));
		if (b)
			ASSERT_EQ(b - 1, emp_lat_fine_bucket(low - 1));
	}
	EXPECT_EQ(EMP_LAT_FINE_BUCKETS - 1, emp_lat_fine_bucket(1ULL << 32));
	EXPECT_EQ(EMP_LAT_FINE_BUCKETS - 1, emp_lat_fine_bucket(UINT64_MAX));
	EXPECT_EQ(EMP_LAT_FINE_BUCKETS - 1, emp_lat_fine_bucket((1ULL << 32) - 1));
}

/* A bucket from 8 ns on is at most 1/8 of its lower bound wide. */
TEST(buckets_are_fine)
{
	unsigned int b;

	for (b = 8; b + 1 < EMP_LAT_FINE_BUCKETS; b++) {
		uint64_t low = emp_lat_fine_low(b), next = emp_lat_fine_low(b + 1);

		ASSERT_LT(low, next);
		ASSERT_LE((next - low) * 8, low);
	}
}

static void fill(struct emp_stat *st, uint64_t ns, uint64_t n)
{
	st->lat_fine[emp_lat_fine_bucket(ns)] += n;
}

/* Quantiles of known samples come out within 7 %. */
TEST(quantiles)
{
	static const uint64_t values[] = { 900, 37000, 150000, 370700, 2500000, 90000000 };
	struct emp_stat st;
	unsigned int i;

	memset(&st, 0, sizeof(st));
	EXPECT_EQ(0, emp_lat_quantile(&st, 500));
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t q;

		memset(&st, 0, sizeof(st));
		fill(&st, values[i], 1000);
		q = emp_lat_quantile(&st, 500);
		EXPECT_LE(q * 100, values[i] * 107);
		EXPECT_GE(q * 100, values[i] * 93);
	}
	/* 99 fast, 1 slow: p50 fast, p99 fast, p999 slow. */
	memset(&st, 0, sizeof(st));
	fill(&st, 100000, 99);
	fill(&st, 5000000, 1);
	EXPECT_LT(emp_lat_quantile(&st, 500), 110000);
	EXPECT_LT(emp_lat_quantile(&st, 990), 110000);
	EXPECT_GT(emp_lat_quantile(&st, 999), 4500000);
	fill(&st, 1ULL << 40, 1000);
	EXPECT_EQ(UINT64_MAX, emp_lat_quantile(&st, 990));
}

TEST_HARNESS_MAIN
