// SPDX-License-Identifier: LGPL-2.1
/* libemp: sizes and versions as people write them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libemp.h"

static int suffix_shift(char c)
{
	switch (toupper((unsigned char)c)) {
	case 'K': return 10;
	case 'M': return 20;
	case 'G': return 30;
	case 'T': return 40;
	default:  return -1;
	}
}

int emp_parse_size(const char *s, uint64_t unit, uint64_t *out)
{
	uint64_t v = 0, mult = unit;
	const char *p = s;
	int shift;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p) {
		shift = suffix_shift(*p);
		if (shift < 0)
			return -EINVAL;
		mult = 1ULL << shift;
		p++;
		if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		else if (p[0] == 'B' || p[0] == 'b')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (mult && v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

char *emp_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i = -1;

	while (i < 3 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[i]);
	return buf;
}

char *emp_format_version(uint32_t code, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", EMP_VERSION_MAJOR(code),
		 EMP_VERSION_MINOR(code), EMP_VERSION_PATCH(code));
	return buf;
}

char *emp_format_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int i = 0;
	uint64_t div = 1;

	while (i < 6 && bytes / div >= 1024) {
		div <<= 10;
		i++;
	}
	if (bytes % div == 0) {
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / div), units[i]);
	} else {
		/* One decimal, rounded down so a value never shows as the next unit. */
		unsigned long long whole = bytes / div;
		unsigned long long tenth = (unsigned long long)((bytes % div) / (div / 10 ? div / 10 : 1));

		if (tenth > 9)
			tenth = 9;
		snprintf(buf, len, "%llu.%llu %s", whole, tenth, units[i]);
	}
	return buf;
}
