// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the tier-spec parser (tools/lib/emp_spec.c).
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks what the
 * parser promises: a rejected spec leaves only the error column, which lies
 * inside the text, and a message that starts with it; an accepted spec obeys
 * the limits, and writing it back and parsing that gives the same result.
 * Built and run by `make fuzz` (fuzz/run.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libemp.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "spec_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static int same_tier(const struct emp_tier *a, const struct emp_tier *b)
{
	return a->kind == b->kind && a->flags == b->flags && a->size == b->size &&
	       a->offset == b->offset && a->port == b->port &&
	       !memcmp(a->path, b->path, sizeof(a->path)) &&
	       a->secret_len == b->secret_len && !memcmp(a->secret, b->secret, sizeof(a->secret));
}

static void check_accepted(const struct emp_spec *s)
{
	static char text[EMP_MAX_TIERS * (EMP_PATH_MAX + 64) + 64];
	char err[EMP_SPEC_ERR_MAX];
	struct emp_spec again;
	struct emp_create c;
	uint64_t sum = 0;
	unsigned int i;
	int n;

	CHECK(s->nr_tiers >= 1 && s->nr_tiers <= EMP_MAX_TIERS);
	CHECK(s->err_col == 0);
	for (i = 0; i < s->nr_tiers; i++) {
		const struct emp_tier *t = &s->tier[i];

		CHECK(t->size != 0);
		CHECK(memchr(t->path, '\0', sizeof(t->path)) != NULL);
		CHECK(t->path[0] != '\0');
		switch (t->kind) {
		case EMP_TIER_BDEV:
			CHECK(!strncmp(t->path, "/dev/", 5));
			CHECK(t->port == 0 && !(t->offset & 4095));
			CHECK(t->offset + t->size >= t->offset);
			break;
		case EMP_TIER_RDMA:
		case EMP_TIER_TCP:
			CHECK(t->port != 0 && t->offset == 0);
			break;
		default:
			CHECK(!"unknown kind");
		}
		CHECK(sum + t->size >= sum);
		sum += t->size;
	}
	for (; i < EMP_MAX_TIERS; i++)
		CHECK(s->tier[i].kind == 0);
	CHECK(sum == s->capacity);

	n = emp_spec_format(s, text, sizeof(text));
	CHECK(n > 0 && (size_t)n < sizeof(text));
	CHECK(emp_spec_parse(text, &again, err, sizeof(err)) == 0);
	CHECK(again.nr_tiers == s->nr_tiers && again.dram == s->dram &&
	      again.capacity == s->capacity);
	for (i = 0; i < EMP_MAX_TIERS; i++)
		CHECK(same_tier(&s->tier[i], &again.tier[i]));

	/* The geometry helper either fills the request or explains why not. */
	err[0] = '\0';
	if (emp_spec_to_create(s, "fuzz", 0, 0, 0, &c, err, sizeof(err)))
		CHECK(err[0] != '\0');
	else
		CHECK(c.inst_size == s->capacity && c.dram_budget >= 2ULL * c.block_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[EMP_SPEC_ERR_MAX], *spec;
	struct emp_spec s;
	uint64_t v;
	size_t len;
	int ret;

	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	len = strlen(spec);

	ret = emp_spec_parse(spec, &s, err, sizeof(err));
	if (ret) {
		struct emp_spec zero;

		CHECK(ret < 0);
		CHECK(s.err_col >= 1 && s.err_col <= len + 1);
		CHECK(!strncmp(err, "column ", 7));
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		memset(&zero, 0, sizeof(zero));
		zero.err_col = s.err_col;
		CHECK(!memcmp(&zero, &s, sizeof(s)));
	} else {
		check_accepted(&s);
	}
	/* The size parser sees the raw text too. */
	(void)emp_parse_size(spec, 1ULL << 20, &v);
	free(spec);
	return 0;
}
