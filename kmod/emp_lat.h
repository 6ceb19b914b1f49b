/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fine fault latency bucket of a duration (layout in uapi/linux/emp.h,
 * EMP_LAT_FINE_BUCKETS). Pure C, so the host unit tests check it against
 * libemp's bucket bounds (selftests/unit/lat_test.c).
 */
#ifndef _EMP_LAT_H
#define _EMP_LAT_H

static inline unsigned int emp_lat_fine_bucket(unsigned long long ns)
{
	unsigned int e;

	if (ns < (1U << EMP_LAT_FINE_SHIFT))
		return ns;
	if (ns >> 32)
		return EMP_LAT_FINE_BUCKETS - 1;
	e = 63 - __builtin_clzll(ns);	/* floor(log2(ns)), ns > 0 */
	return ((e - EMP_LAT_FINE_SHIFT + 1) << EMP_LAT_FINE_SHIFT) |
	       ((ns >> (e - EMP_LAT_FINE_SHIFT)) & ((1U << EMP_LAT_FINE_SHIFT) - 1));
}

#endif /* _EMP_LAT_H */
