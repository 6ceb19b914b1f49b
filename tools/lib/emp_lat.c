// SPDX-License-Identifier: LGPL-2.1
/* libemp: quantiles of the fine fault latency histogram (emp_stat.lat_fine). */
#include "libemp.h"

uint64_t emp_lat_fine_low(unsigned int b)
{
	unsigned int sub = 1U << EMP_LAT_FINE_SHIFT, e;

	if (b < sub)
		return b;
	e = b / sub + EMP_LAT_FINE_SHIFT - 1;
	return (uint64_t)(sub + b % sub) << (e - EMP_LAT_FINE_SHIFT);
}

uint64_t emp_lat_quantile(const struct emp_stat *st, unsigned int permille)
{
	uint64_t total = 0, seen = 0, need, low, width, in;
	unsigned int b;

	for (b = 0; b < EMP_LAT_FINE_BUCKETS; b++)
		total += st->lat_fine[b];
	if (!total || permille > 1000)
		return 0;
	/* The rank of the quantile, 1-based, rounded up. */
	need = total / 1000 * permille + ((total % 1000) * permille + 999) / 1000;
	if (!need)
		need = 1;
	for (b = 0; b < EMP_LAT_FINE_BUCKETS; b++) {
		if (seen + st->lat_fine[b] >= need)
			break;
		seen += st->lat_fine[b];
	}
	if (b >= EMP_LAT_FINE_BUCKETS - 1)
		return UINT64_MAX;	/* the open-ended last bucket */
	low = emp_lat_fine_low(b);
	width = emp_lat_fine_low(b + 1) - low;
	/* Spread the bucket's faults evenly over it: the rank's place in it. */
	in = need - seen;
	return low + (width * (2 * in - 1)) / (2 * st->lat_fine[b]);
}
