// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of cluster mode's pure parts: the cluster: tier of the
 * spec, the donor choice (emp_cluster_choose(): never more than a donor
 * has, every byte placed, distinct donors, new failure domains first),
 * and the readers of what etcd holds (donor values, range and transaction
 * answers) fed real answers and hostile ones. Built with ASan and UBSan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "emp_etcd.h"
#include "libemp.h"

#define MIB	(1ULL << 20)

TEST(spec_cluster_tier)
{
	char err[EMP_SPEC_ERR_MAX], text[512];
	struct emp_spec s;
	struct emp_create c;

	ASSERT_EQ(0, emp_spec_parse("cluster:64G|dram:1G", &s, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1, s.nr_tiers);
	EXPECT_EQ(EMP_TIER_CLUSTER, s.tier[0].kind);
	EXPECT_EQ(64ULL << 30, s.capacity);
	EXPECT_EQ(EMP_TIER_TCP, s.cluster.transport);
	EXPECT_EQ(EMP_CLUSTER_SPREAD_DEFAULT, s.cluster.spread);
	/* Never handed to emp.ko unplaced. */
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "x", 0, 0, 0, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "--etcd"));

	ASSERT_EQ(0, emp_spec_parse("/dev/vdb:64:0|cluster:128:rdma,spread=2", &s, err,
				    sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(EMP_TIER_RDMA, s.cluster.transport);
	EXPECT_EQ(2, s.cluster.spread);
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("/dev/vdb:64:0|cluster:128:rdma,spread=2", text);
	EXPECT_EQ(1, s.cluster.replicas);
	ASSERT_EQ(0, emp_spec_parse("cluster:8:replicas=1", &s, err, sizeof(err)));
	EXPECT_EQ(1, s.cluster.replicas);
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("cluster:8", text);

	/* replicas=2: kept, and written back after the other options. */
	ASSERT_EQ(0, emp_spec_parse("cluster:8:replicas=2", &s, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(2, s.cluster.replicas);
	EXPECT_EQ(8 * MIB, s.capacity);
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("cluster:8:replicas=2", text);
	ASSERT_EQ(0, emp_spec_parse("cluster:64:replicas=2,spread=2,tcp,rdma", &s, err, sizeof(err)))
		TH_LOG("%s", err);
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("cluster:64:rdma,spread=2,replicas=2", text);
	ASSERT_EQ(0, emp_spec_parse("cluster:64:spread=3,replicas=2,replicas=1", &s, err, sizeof(err)));
	emp_spec_format(&s, text, sizeof(text));
	EXPECT_STREQ("cluster:64", text);
	EXPECT_EQ(-EINVAL, emp_spec_to_create(&s, "x", 0, 0, 0, &c, err, sizeof(err)));

	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:8|cluster:8", &s, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "second cluster"));
	EXPECT_EQ(-ERANGE, emp_spec_parse("cluster:8:replicas=3", &s, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "column 20: \"3\" in \"cluster:8:replicas=3\": replicas must "
			       "be 1 or 2")) TH_LOG("%s", err);
	EXPECT_EQ(-ERANGE, emp_spec_parse("cluster:8:replicas=0", &s, err, sizeof(err)));
	EXPECT_EQ(-ERANGE, emp_spec_parse("cluster:8:replicas=99999999999", &s, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:8:replicas=two", &s, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "decimal")) TH_LOG("%s", err);
	/* A cluster: tier is replicated by its option, not with '+'. */
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:8+tcp:10.0.0.1:8:1", &s, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "replicas=2, not with '+'")) TH_LOG("%s", err);
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:8:udp", &s, err, sizeof(err)));
	EXPECT_EQ(-ERANGE, emp_spec_parse("cluster:8:spread=9", &s, err, sizeof(err)));
	EXPECT_EQ(-ERANGE, emp_spec_parse("cluster:8:spread=0", &s, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:", &s, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:0", &s, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:8:", &s, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:8:tcp,", &s, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, emp_spec_parse("cluster:1:2:3", &s, err, sizeof(err)));
}

static void donor(struct emp_cluster_donor *d, const char *addr, const char *domain,
		  uint64_t cap, uint64_t free, uint64_t reserved, int tcp, int rdma)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	d->port = 19675;
	d->capacity = cap;
	d->free = free;
	d->reserved = reserved;
	d->tcp = tcp;
	d->rdma = rdma;
}

static uint64_t room(const struct emp_cluster_donor *d)
{
	uint64_t r = d->reserved >= d->capacity ? 0 : d->capacity - d->reserved;

	r = r < d->free ? r : d->free;
	return r / EMP_CLUSTER_GRAIN * EMP_CLUSTER_GRAIN;
}

TEST(choose_spreads_and_fits)
{
	struct emp_cluster_donor d[4];
	struct emp_cluster_piece p[EMP_MAX_TIERS];
	uint64_t sum = 0;
	int n, i;

	donor(&d[0], "10.0.0.1", "r1", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[1], "10.0.0.2", "r1", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[2], "10.0.0.3", "r2", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[3], "10.0.0.4", "r3", 64 * MIB, 64 * MIB, 0, 0, 1);
	/* Two tcp domains among the tcp donors: both used, no rdma-only donor. */
	n = emp_cluster_choose(d, 4, 64 * MIB, 2, EMP_TIER_TCP, EMP_MAX_TIERS, 1, p);
	ASSERT_EQ(2, n);
	EXPECT_NE(0, strcmp(d[p[0].donor].domain, d[p[1].donor].domain));
	for (i = 0; i < n; i++) {
		EXPECT_NE(3, p[i].donor);
		sum += p[i].bytes;
	}
	EXPECT_EQ(64 * MIB, sum);
	/* Too much for the tcp donors (192 MiB): refused. */
	EXPECT_EQ(-ENOSPC, emp_cluster_choose(d, 4, 200 * MIB, 3, EMP_TIER_TCP, 8, 1, p));
	/* Exactly all of them: fits, each full. */
	n = emp_cluster_choose(d, 4, 192 * MIB, 3, EMP_TIER_TCP, 8, 1, p);
	ASSERT_EQ(3, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(64 * MIB, p[i].bytes);
	/* More than @spread donors when the first ones cannot hold it. */
	n = emp_cluster_choose(d, 4, 150 * MIB, 1, EMP_TIER_TCP, 8, 7, p);
	EXPECT_EQ(3, n);
	/* ... but never more than @max_pieces. */
	EXPECT_EQ(-ENOSPC, emp_cluster_choose(d, 4, 150 * MIB, 1, EMP_TIER_TCP, 2, 7, p));
	/* Reserved and not free: counted out. */
	d[0].reserved = 64 * MIB;
	d[1].free = 10 * MIB;
	n = emp_cluster_choose(d, 4, 70 * MIB, 3, EMP_TIER_TCP, 8, 3, p);
	ASSERT_GT(n, 0);
	for (i = 0; i < n; i++)
		EXPECT_LE(p[i].bytes, room(&d[p[i].donor]));
	EXPECT_EQ(-ENOSPC, emp_cluster_choose(d, 4, 80 * MIB, 3, EMP_TIER_TCP, 8, 3, p));
	/* No donors at all. */
	EXPECT_EQ(-ENOSPC, emp_cluster_choose(d, 0, 2 * MIB, 3, EMP_TIER_TCP, 8, 3, p));
	/* A small size goes on fewer donors than the spread. */
	d[0].reserved = 0;
	n = emp_cluster_choose(d, 4, 2 * MIB, 3, EMP_TIER_TCP, 8, 3, p);
	EXPECT_EQ(1, n);
	EXPECT_EQ(2 * MIB, p[0].bytes);
}

/* Random donors and sizes: the invariants of every answer. */
TEST(choose_random)
{
	struct emp_cluster_donor d[40];
	struct emp_cluster_piece p[EMP_MAX_TIERS];
	uint64_t x = 12345;
	int round;

	for (round = 0; round < 20000; round++) {
		unsigned int n, i, j, spread, maxp;
		uint64_t size, sum = 0, total = 0;
		int k;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (unsigned int)(x >> 59) + 1;
		for (i = 0; i < n; i++) {
			char a[32], dom[8];

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			snprintf(a, sizeof(a), "10.0.%u.%u", round % 250, i);
			snprintf(dom, sizeof(dom), "r%u", (unsigned int)(x >> 61));
			donor(&d[i], a, dom, ((x >> 20) % 512) * MIB, ((x >> 30) % 512) * MIB,
			      ((x >> 40) % 256) * MIB, (x >> 50) & 1, 1);
			if (d[i].free > d[i].capacity)
				d[i].free = d[i].capacity;
			if (d[i].tcp)
				total += room(&d[i]);
		}
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		size = ((x >> 30) % 1024 + 1) * MIB + ((x >> 10) & 1 ? 0 : 64 << 10);
		spread = (unsigned int)(x >> 61) + 1;
		maxp = (unsigned int)((x >> 50) % EMP_MAX_TIERS) + 1;
		k = emp_cluster_choose(d, n, size, spread, EMP_TIER_TCP, maxp, x, p);
		if (k == -ENOSPC) {
			/* Only when the tcp rooms cannot hold it, or not in maxp pieces. */
			uint64_t best = 0, r[40];

			for (i = 0; i < n; i++)
				r[i] = d[i].tcp ? room(&d[i]) : 0;
			for (j = 0; j < maxp; j++) {	/* the maxp largest rooms */
				unsigned int m = 0;

				for (i = 1; i < n; i++)
					if (r[i] > r[m])
						m = i;
				best += r[m];
				r[m] = 0;
			}
			ASSERT_LT(best, (size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN *
				  EMP_CLUSTER_GRAIN) TH_LOG("round %d", round);
			continue;
		}
		ASSERT_GT(k, 0) TH_LOG("round %d: %d", round, k);
		ASSERT_LE((unsigned int)k, maxp);
		for (i = 0; i < (unsigned int)k; i++) {
			ASSERT_LT(p[i].donor, n);
			ASSERT_TRUE(d[p[i].donor].tcp);
			ASSERT_GT(p[i].bytes, 0);
			/* Within its room; a part grain at the end within a grain of it. */
			ASSERT_LE(p[i].bytes, room(&d[p[i].donor]) + (p[i].bytes % EMP_CLUSTER_GRAIN))
				TH_LOG("round %d piece %u", round, i);
			for (j = 0; j < i; j++)
				ASSERT_NE(p[j].donor, p[i].donor);
			sum += p[i].bytes;
		}
		ASSERT_EQ(size, sum) TH_LOG("round %d", round);
	}
}

/* The replicated chooser: internal to libemp (emp_cluster.c), not in libemp.h. */
int emp_cluster_choose_replicated(const struct emp_cluster_donor *d, unsigned int n,
				  uint64_t size, unsigned int spread, uint32_t transport,
				  unsigned int max_pieces, uint64_t seed,
				  struct emp_cluster_piece *out, unsigned int *replica);

/*
 * What every replicated answer must be: @k pieces, each within the room of
 * its donor and of its replica's, the two in different failure domains, no
 * donor twice in the answer, every byte placed once.
 */
static int replicated_ok(const struct emp_cluster_donor *d, unsigned int n, uint64_t size,
			 uint32_t transport, unsigned int maxp, int k,
			 const struct emp_cluster_piece *p, const unsigned int *rep, char *why,
			 size_t len)
{
	unsigned int seen[2 * EMP_MAX_TIERS], ns = 0, i, j;
	uint64_t sum = 0;

	if (k <= 0 || (unsigned int)k > maxp)
		return snprintf(why, len, "%d pieces (at most %u)", k, maxp), 0;
	for (i = 0; i < (unsigned int)k; i++) {
		if (p[i].donor >= n || rep[i] >= n)
			return snprintf(why, len, "piece %u: donor out of range", i), 0;
		if (!p[i].bytes || p[i].bytes > room(&d[p[i].donor]) ||
		    p[i].bytes > room(&d[rep[i]]))
			return snprintf(why, len, "piece %u: %llu bytes beyond a room", i,
					(unsigned long long)p[i].bytes), 0;
		if (!strcmp(d[p[i].donor].domain, d[rep[i]].domain))
			return snprintf(why, len, "piece %u: replica in the same domain", i), 0;
		if (transport == EMP_TIER_TCP ? !d[p[i].donor].tcp || !d[rep[i]].tcp :
		    !d[p[i].donor].rdma || !d[rep[i]].rdma)
			return snprintf(why, len, "piece %u: a donor without the transport", i), 0;
		seen[ns++] = p[i].donor;
		seen[ns++] = rep[i];
		sum += p[i].bytes;
	}
	for (i = 0; i < ns; i++)
		for (j = 0; j < i; j++)
			if (seen[i] == seen[j])
				return snprintf(why, len, "donor %u twice", seen[i]), 0;
	if (sum != size)
		return snprintf(why, len, "%llu bytes placed of %llu", (unsigned long long)sum,
				(unsigned long long)size), 0;
	return 1;
}

TEST(choose_replicated)
{
	struct emp_cluster_donor d[6];
	struct emp_cluster_piece p[EMP_MAX_TIERS];
	unsigned int rep[EMP_MAX_TIERS];
	char why[128];
	int n;

	/* Three donors in three domains, as the host check: one pair holds 64 MiB. */
	donor(&d[0], "10.0.0.1", "d1", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[1], "10.0.0.2", "d2", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[2], "10.0.0.3", "d3", 64 * MIB, 64 * MIB, 0, 1, 0);
	n = emp_cluster_choose_replicated(d, 3, 64 * MIB, 3, EMP_TIER_TCP, 4, 1, p, rep);
	ASSERT_EQ(1, n);
	EXPECT_TRUE(replicated_ok(d, 3, 64 * MIB, EMP_TIER_TCP, 4, n, p, rep, why, sizeof(why)))
		TH_LOG("%s", why);
	/* A pair holds what the smaller room of the two has: 70 MiB needs two pairs. */
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 3, 70 * MIB, 3, EMP_TIER_TCP, 4, 1, p,
							 rep));
	donor(&d[3], "10.0.0.4", "d1", 64 * MIB, 64 * MIB, 0, 1, 0);
	n = emp_cluster_choose_replicated(d, 4, 70 * MIB, 3, EMP_TIER_TCP, 4, 1, p, rep);
	ASSERT_EQ(2, n);
	EXPECT_TRUE(replicated_ok(d, 4, 70 * MIB, EMP_TIER_TCP, 4, n, p, rep, why, sizeof(why)))
		TH_LOG("%s", why);
	/* ... but not in one piece. */
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 4, 70 * MIB, 3, EMP_TIER_TCP, 1, 1, p,
							 rep));
	/* Room in one failure domain only: never a replica. */
	donor(&d[0], "10.0.0.1", "r1", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[1], "10.0.0.2", "r1", 64 * MIB, 64 * MIB, 0, 1, 0);
	donor(&d[2], "10.0.0.3", "r1", 64 * MIB, 64 * MIB, 0, 1, 0);
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 3, 2 * MIB, 3, EMP_TIER_TCP, 4, 1, p,
							 rep));
	/* ... and a second domain whose only donor is full (reserved) or lacks tcp. */
	donor(&d[3], "10.0.0.4", "r2", 64 * MIB, 64 * MIB, 64 * MIB, 1, 0);
	donor(&d[4], "10.0.0.5", "r3", 64 * MIB, 64 * MIB, 0, 0, 1);
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 5, 2 * MIB, 3, EMP_TIER_TCP, 4, 1, p,
							 rep));
	/* Over rdma, r3 pairs with... nothing: r1's donors have no rdma. */
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 5, 2 * MIB, 3, EMP_TIER_RDMA, 4, 1, p,
							 rep));
	/* A donor of r2 with room: every replica pairs a r1 donor with it, one piece. */
	d[3].reserved = 0;
	n = emp_cluster_choose_replicated(d, 5, 32 * MIB, 3, EMP_TIER_TCP, 4, 9, p, rep);
	ASSERT_EQ(1, n);
	EXPECT_TRUE(replicated_ok(d, 5, 32 * MIB, EMP_TIER_TCP, 4, n, p, rep, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_TRUE(p[0].donor == 3 || rep[0] == 3);
	/* A large donor counts once: r2's 300 MiB pairs with one 64 MiB donor of r1. */
	d[3].capacity = d[3].free = 300 * MIB;
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 5, 100 * MIB, 3, EMP_TIER_TCP, 4, 1, p,
							 rep));
	/* Bad arguments. */
	EXPECT_EQ(-EINVAL, emp_cluster_choose_replicated(d, 5, 0, 3, EMP_TIER_TCP, 4, 1, p, rep));
	EXPECT_EQ(-EINVAL, emp_cluster_choose_replicated(d, 5, MIB, 3, EMP_TIER_TCP, 0, 1, p, rep));
	EXPECT_EQ(-ENOSPC, emp_cluster_choose_replicated(d, 0, MIB, 3, EMP_TIER_TCP, 4, 1, p, rep));
}

/* Random donors and sizes: the invariants of every replicated answer. */
TEST(choose_replicated_random)
{
	struct emp_cluster_donor d[40];
	struct emp_cluster_piece p[EMP_MAX_TIERS];
	unsigned int rep[EMP_MAX_TIERS];
	uint64_t x = 777;
	char why[128];
	int round, placed = 0, refused = 0;

	for (round = 0; round < 20000; round++) {
		unsigned int n, i, spread, maxp, domains = 0;
		uint64_t size, total = 0;
		int k;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (unsigned int)(x >> 59) + 1;
		for (i = 0; i < n; i++) {
			char a[32], dom[8];

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			snprintf(a, sizeof(a), "10.1.%u.%u", round % 250, i);
			snprintf(dom, sizeof(dom), "r%u", (unsigned int)(x >> 62));
			donor(&d[i], a, dom, ((x >> 20) % 512) * MIB, ((x >> 30) % 512) * MIB,
			      ((x >> 40) % 256) * MIB, (x >> 50) & 1, 1);
			if (d[i].free > d[i].capacity)
				d[i].free = d[i].capacity;
			if (d[i].tcp && room(&d[i])) {
				total += room(&d[i]);
				domains |= 1U << (x >> 62);
			}
		}
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		size = ((x >> 30) % 512 + 1) * MIB + ((x >> 10) & 1 ? 0 : 64 << 10);
		spread = (unsigned int)(x >> 61) + 1;
		maxp = (unsigned int)((x >> 50) % (EMP_MAX_TIERS / 2)) + 1;
		k = emp_cluster_choose_replicated(d, n, size, spread, EMP_TIER_TCP, maxp, x, p, rep);
		if (k == -ENOSPC) {
			/*
			 * Refused: at least refused when the rooms cannot hold two
			 * copies, or lie in one failure domain. Not only then (a
			 * greedy choice), but never when one pair of the two
			 * largest rooms in two domains holds it all.
			 */
			uint64_t best = 0;
			unsigned int a, b;

			refused++;
			for (a = 0; a < n; a++)
				for (b = 0; b < a; b++)
					if (d[a].tcp && d[b].tcp &&
					    strcmp(d[a].domain, d[b].domain)) {
						uint64_t m = room(&d[a]) < room(&d[b]) ?
							     room(&d[a]) : room(&d[b]);

						best = m > best ? m : best;
					}
			ASSERT_LT(best, (size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN *
				  EMP_CLUSTER_GRAIN) TH_LOG("round %d", round);
			continue;
		}
		ASSERT_TRUE(replicated_ok(d, n, size, EMP_TIER_TCP, maxp, k, p, rep, why,
					  sizeof(why))) TH_LOG("round %d: %s", round, why);
		ASSERT_GE(total, 2 * size) TH_LOG("round %d", round);
		ASSERT_NE(0, domains & (domains - 1)) TH_LOG("round %d: one domain", round);
		placed++;
	}
	/* Both outcomes were seen plenty. */
	EXPECT_GT(placed, 2000);
	EXPECT_GT(refused, 2000);
}

TEST(donor_values)
{
	static const char *const bad[] = {
		"", "null", "[]", "{}", "not json",
		"{\"version\":2,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":\"1\",\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":5,\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"a b\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":0,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":65536,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":\"tcp\","
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":-1,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1e30,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":2251799813685249,\"free\":1,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":2,\"domain\":\"d\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"a/b\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"tcp\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\",\"domain\":\"e\"}",
		"{\"version\":1,\"addr\":\"1.2.3.4\",\"port\":1,\"transports\":[\"t\\u0063p\"],"
		"\"capacity\":1,\"free\":1,\"domain\":\"d\"}",
	};
	struct etcd_donor_rec r;
	char msg[256];
	unsigned int i;
	const char *good = "{\"version\":1,\"addr\":\"10.0.0.5\",\"port\":19675,"
		"\"transports\":[\"rdma\",\"tcp\",\"cxl\"],\"capacity\":17179869184,"
		"\"free\":8589934592,\"domain\":\"rack1\",\"pid\":1234,\"later\":{\"x\":[1]}}";

	ASSERT_EQ(0, etcd_parse_donor(good, strlen(good), &r, msg, sizeof(msg))) TH_LOG("%s", msg);
	EXPECT_STREQ("10.0.0.5", r.addr);
	EXPECT_STREQ("rack1", r.domain);
	EXPECT_EQ(19675, r.port);
	EXPECT_TRUE(r.rdma && r.tcp);
	EXPECT_EQ(17179869184ULL, r.capacity);
	EXPECT_EQ(8589934592ULL, r.free);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *b = malloc(strlen(bad[i]) + 1);

		memcpy(b, bad[i], strlen(bad[i]));	/* no terminator read */
		msg[0] = 0;
		EXPECT_EQ(-1, etcd_parse_donor(b, strlen(bad[i]), &r, msg, sizeof(msg)))
			TH_LOG("accepted: %s", bad[i]);
		EXPECT_NE(0, msg[0]);
		free(b);
	}
}

#define HDR "\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"9\",\"raft_term\":\"2\"}"

/* Range and txn answers of a literal, its length taken by the macro. */
#define RANGE(lit, room, vlen) \
	etcd_parse_range(lit, strlen(lit), 200, kv, room, vbuf, vlen, &n, &more, msg, sizeof(msg))
#define TXN(lit, http) etcd_parse_txn(lit, strlen(lit), http, &ok, msg, sizeof(msg))

TEST(range_and_txn_answers)
{
	struct etcd_kv kv[4];
	char vbuf[256], msg[256], body[256];
	unsigned int n;
	int more, ok;
	/* etcd 3.4's answer: key /emp/v1/reserved/a:1, value {"bytes":1} */
	const char *one = "{" HDR ",\"kvs\":[{\"key\":\"L2VtcC92MS9yZXNlcnZlZC9hOjE=\","
		"\"create_revision\":\"5\",\"mod_revision\":\"7\",\"version\":\"2\","
		"\"value\":\"eyJieXRlcyI6MX0=\"}],\"count\":\"1\"}";
	const char *none = "{" HDR "}";

	ASSERT_EQ(ETCD_OK, etcd_parse_range(one, strlen(one), 200, kv, 4, vbuf, sizeof(vbuf), &n,
					    &more, msg, sizeof(msg))) TH_LOG("%s", msg);
	ASSERT_EQ(1, n);
	EXPECT_STREQ("/emp/v1/reserved/a:1", kv[0].key);
	EXPECT_STREQ("{\"bytes\":1}", kv[0].value);
	EXPECT_EQ(7, kv[0].mod_revision);
	EXPECT_EQ(5, kv[0].create_revision);
	EXPECT_EQ(0, more);
	ASSERT_EQ(ETCD_OK, etcd_parse_range(none, strlen(none), 200, kv, 4, vbuf, sizeof(vbuf),
					    &n, &more, msg, sizeof(msg)));
	EXPECT_EQ(0, n);
	/* Hostile: not base64, too many keys, wrong types, a NUL in a key. */
	EXPECT_EQ(ETCD_BAD, RANGE("{" HDR ",\"kvs\":[{\"key\":\"!!!!\"}]}", 4, sizeof(vbuf)));
	EXPECT_EQ(ETCD_BAD, RANGE("{\"kvs\":{}}", 4, sizeof(vbuf)));
	EXPECT_EQ(ETCD_BAD, RANGE("{\"kvs\":[1]}", 4, sizeof(vbuf)));
	EXPECT_EQ(ETCD_BAD, RANGE("{\"kvs\":[{\"key\":\"YQBi\"}]}", 4, sizeof(vbuf)));
	EXPECT_EQ(ETCD_BAD, RANGE("{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"x\"}]}", 4,
				  sizeof(vbuf)));
	EXPECT_EQ(ETCD_BAD, RANGE("{\"kvs\":[{\"key\":\"YQ==\"},{\"key\":\"YQ==\"}]}", 1, sizeof(vbuf)));
	EXPECT_NE(NULL, strstr(msg, "more than"));
	/* Values larger than the room. */
	EXPECT_EQ(ETCD_BAD, etcd_parse_range(one, strlen(one), 200, kv, 4, vbuf, 5, &n, &more,
					     msg, sizeof(msg)));

	ASSERT_EQ(ETCD_OK, TXN("{" HDR ",\"succeeded\":true,\"responses\":[]}", 200))
		TH_LOG("%s", msg);
	EXPECT_EQ(1, ok);
	/* A failed comparison: the gateway leaves "succeeded" out. */
	ASSERT_EQ(ETCD_OK, TXN(none, 200));
	EXPECT_EQ(0, ok);
	EXPECT_EQ(ETCD_BAD, TXN("{\"succeeded\":true}", 200));
	EXPECT_EQ(ETCD_BAD, TXN("{" HDR ",\"succeeded\":\"yes\"}", 200));
	EXPECT_EQ(ETCD_BAD, TXN("{\"error\":\"etcdserver: duplicate key given in txn request\","
				"\"code\":3}", 400));
	EXPECT_NE(NULL, strstr(msg, "duplicate key"));

	/* The range request of a prefix ends at the prefix with its last byte + 1. */
	ASSERT_LT(0, etcd_range_body("/a/", 1, 5, body, sizeof(body)));
	EXPECT_STREQ("{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\",\"limit\":\"5\"}", body);
}

TEST(base64_round_trip)
{
	unsigned char in[64], out[64];
	char enc[128];
	int len, n, e;

	for (len = 0; len < 64; len++) {
		for (n = 0; n < len; n++)
			in[n] = (unsigned char)(n * 37 + len);
		e = etcd_base64(in, (size_t)len, enc, sizeof(enc));
		ASSERT_LE(0, e);
		ASSERT_EQ(len, etcd_unbase64(enc, (size_t)e, out, sizeof(out)));
		ASSERT_EQ(0, memcmp(in, out, (size_t)len));
	}
	EXPECT_EQ(-1, etcd_unbase64("abc", 3, out, sizeof(out)));
	EXPECT_EQ(-1, etcd_unbase64("a=bc", 4, out, sizeof(out)));
	EXPECT_EQ(-1, etcd_unbase64("ab=c", 4, out, sizeof(out)));
	EXPECT_EQ(-1, etcd_unbase64("ab!d", 4, out, sizeof(out)));
	EXPECT_EQ(-1, etcd_unbase64("YWJj", 4, out, 2));
}

TEST_HARNESS_MAIN
