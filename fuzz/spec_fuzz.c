// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the tier-spec parser (tools/lib/emp_spec.c).
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks what the
 * parser promises: a rejected spec leaves only the error column, which lies
 * inside the text, and a message that starts with it; an accepted spec obeys
 * the limits (a DRAM-only spec is as large as its dram:, a host name is kept
 * as written and is no address, a replica follows a remote primary of its
 * size and adds nothing to the capacity), and writing it back and parsing
 * that gives the same result; the default DRAM budget keeps its bounds.
 * Host names are never looked up here: emp_spec_resolve() is not called, so
 * the target does no DNS. Built and run by `make fuzz` (fuzz/run.sh).
 */
#include <arpa/inet.h>
#include <netdb.h>
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

/*
 * The parser must stay pure: a name lookup from here would make the target
 * slow, flaky and dependent on the network. This definition takes the place
 * of libc's, so any path that reaches it fails loudly.
 */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	fprintf(stderr, "spec_fuzz: check failed: getaddrinfo(\"%s\") called\n", node ? node : "");
	abort();
}

static int same_tier(const struct emp_tier *a, const struct emp_tier *b)
{
	return a->kind == b->kind && a->flags == b->flags && a->size == b->size &&
	       a->offset == b->offset && a->port == b->port && a->node == b->node &&
	       !memcmp(a->path, b->path, sizeof(a->path)) &&
	       a->secret_len == b->secret_len && !memcmp(a->secret, b->secret, sizeof(a->secret));
}

static int is_address(const char *a)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
}

/* emp_default_budget() for @size: in blocks (or the size), within its bounds. */
static void check_default_budget(uint64_t size, uint32_t block)
{
	uint64_t b = emp_default_budget(size, block);

	CHECK(b >= 2ULL * block);
	CHECK(b <= EMP_DEFAULT_DRAM_MAX);
	CHECK(b <= size || b == 2ULL * block);
	CHECK(b % block == 0 || b == size);
	if (size >= 2ULL * EMP_DEFAULT_DRAM_MIN && (size >> EMP_DEFAULT_DRAM_SHIFT) <= EMP_DEFAULT_DRAM_MIN)
		CHECK(b == EMP_DEFAULT_DRAM_MIN);
	if ((size >> EMP_DEFAULT_DRAM_SHIFT) >= EMP_DEFAULT_DRAM_MAX)
		CHECK(b == EMP_DEFAULT_DRAM_MAX);
}

static void check_accepted(const struct emp_spec *s)
{
	static char text[EMP_MAX_TIERS * (EMP_PATH_MAX + 64) + 64];
	char err[EMP_SPEC_ERR_MAX];
	struct emp_spec again;
	struct emp_create c;
	uint64_t sum = 0;
	unsigned int i, named = 0, clusters = 0, replicas = 0;
	const char *p;
	int n;

	CHECK(s->nr_tiers <= EMP_MAX_TIERS);
	CHECK(s->err_col == 0);
	for (i = 0; i < s->nr_tiers; i++) {
		const struct emp_tier *t = &s->tier[i];
		const char *host = s->host[i];

		/*
		 * A replica (PRIMARY+REPLICA): a remote entry right after a
		 * remote entry that is no replica, of the same size, on
		 * another donor; counted once in the capacity.
		 */
		CHECK(!(t->flags & ~EMP_TIER_F_REPLICA));
		if (t->flags & EMP_TIER_F_REPLICA) {
			const struct emp_tier *prim = i ? &s->tier[i - 1] : NULL;

			CHECK(prim && !prim->flags);
			CHECK(prim->kind == EMP_TIER_RDMA || prim->kind == EMP_TIER_TCP);
			CHECK(t->kind == EMP_TIER_RDMA || t->kind == EMP_TIER_TCP);
			CHECK(prim->size == t->size);
			CHECK(prim->port != t->port || strcmp(prim->path, t->path));
			replicas++;
		}

		CHECK(memchr(host, '\0', EMP_PATH_MAX) != NULL);
		if (t->kind == EMP_TIER_BDEV || t->kind == EMP_TIER_NODE ||
		    t->kind == EMP_TIER_CLUSTER) {
			CHECK(host[0] == '\0');
		} else if (host[0]) {
			/* A name: kept as written, not an address, no ':' to confuse. */
			CHECK(!strcmp(host, t->path));
			CHECK(!is_address(host) && !strchr(host, ':'));
			named++;
		} else {
			CHECK(is_address(t->path));
		}

		CHECK(t->size != 0);
		CHECK(memchr(t->path, '\0', sizeof(t->path)) != NULL);
		CHECK((t->path[0] != '\0') ==
		      (t->kind != EMP_TIER_NODE && t->kind != EMP_TIER_CLUSTER));
		CHECK(t->node == 0 || t->kind == EMP_TIER_NODE);
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
		case EMP_TIER_NODE:
			CHECK(t->port == 0 && t->offset == 0 && t->secret_len == 0);
			break;
		case EMP_TIER_CLUSTER:
			/* One at most; its options in range; never handed to emp.ko. */
			CHECK(t->port == 0 && t->offset == 0 && t->secret_len == 0);
			CHECK(!clusters++);
			CHECK(s->cluster.transport == EMP_TIER_TCP ||
			      s->cluster.transport == EMP_TIER_RDMA);
			CHECK(s->cluster.spread >= 1 &&
			      s->cluster.spread <= EMP_CLUSTER_SPREAD_MAX);
			CHECK(s->cluster.replicas == 1 || s->cluster.replicas == 2);
			break;
		default:
			CHECK(!"unknown kind");
		}
		if (t->flags & EMP_TIER_F_REPLICA)
			continue;
		CHECK(sum + t->size >= sum);
		sum += t->size;
	}
	for (; i < EMP_MAX_TIERS; i++)
		CHECK(s->tier[i].kind == 0 && s->tier[i].flags == 0 && s->host[i][0] == '\0');
	if (!clusters)
		CHECK(s->cluster.transport == 0 && s->cluster.spread == 0 &&
		      s->cluster.replicas == 0);
	if (s->nr_tiers)
		CHECK(sum == s->capacity);
	else	/* DRAM-only */
		CHECK(s->dram != 0 && s->capacity == s->dram);
	check_default_budget(s->capacity, EMP_DEFAULT_BLOCK);
	check_default_budget(s->capacity, 2U << 20);

	n = emp_spec_format(s, text, sizeof(text));
	CHECK(n > 0 && (size_t)n < sizeof(text));
	/* Every replica is written after a '+' (block device paths may hold more). */
	for (p = text, n = 0; (p = strchr(p, '+')); p++)
		n++;
	CHECK((unsigned int)n >= replicas);
	CHECK(emp_spec_parse(text, &again, err, sizeof(err)) == 0);
	CHECK(again.nr_tiers == s->nr_tiers && again.dram == s->dram &&
	      again.capacity == s->capacity);
	for (i = 0; i < EMP_MAX_TIERS; i++) {
		CHECK(same_tier(&s->tier[i], &again.tier[i]));
		CHECK(!strcmp(s->host[i], again.host[i]));
	}
	CHECK(!memcmp(&s->cluster, &again.cluster, sizeof(s->cluster)));

	/* The geometry helper either fills the request or explains why not;
	 * a name not yet resolved is always a reason. */
	err[0] = '\0';
	if (emp_spec_to_create(s, "fuzz", 0, 0, 0, &c, err, sizeof(err))) {
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(!named && !clusters);
	CHECK(c.inst_size == s->capacity && c.dram_budget >= 2ULL * c.block_size);
	if (!s->nr_tiers)
		CHECK(c.dram_budget == c.inst_size);
	else if (!s->dram)
		CHECK(c.dram_budget == emp_default_budget(c.inst_size, c.block_size));
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
