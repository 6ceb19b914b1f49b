// SPDX-License-Identifier: LGPL-2.1
/*
 * libemp: cluster mode. A spec's cluster:SIZE tier is placed on donors
 * that announce themselves in etcd (vmd --etcd), through etcd's v3
 * HTTP/JSON gateway (emp_etcd_http.c); no protocol of our own.
 *
 * The registry, documented in docs/cluster.md:
 *   /emp/v1/donors/DOMAIN/ADDR:PORT   what a donor announces (vmd, leased)
 *   /emp/v1/reserved/ADDR:PORT        {"version":1,"bytes":N}: what hosts
 *                                     have reserved on that donor
 *   /emp/v1/placements/HOST/NAME      {"version":1,"host":..,"instance":..,
 *                                     "size":N,"transport":"tcp","pieces":
 *                                     [{"addr":..,"port":N,"bytes":N,
 *                                       "domain":..[,"replica":{"addr":..,
 *                                       "port":N,"domain":..}]}]}
 * A placement is one transaction: every chosen donor's reserved key must
 * still have the mod_revision it was read at (else another host reserved
 * meanwhile: read again and choose again), the donor's own key must still
 * exist, and the placement key must not; then the reserved keys go up and
 * the placement is recorded. Release is the same in reverse. So however
 * many hosts place at once, the reservations on a donor never exceed what
 * was free and unreserved when each was made.
 *
 * With replicas=2 every piece has a replica: the same bytes on a second
 * donor, in another failure domain than the piece's, reserved in the same
 * transaction. No donor holds two copies of one placement (not a piece and
 * another piece's replica either): each donor's reservation then moves by
 * exactly one piece, a transaction names each key once (etcd refuses a
 * key twice), and the record reader can refuse a donor seen twice.
 * emp_cluster_replace() moves a lost copy to a new donor the same way.
 *
 * Everything read back from etcd is checked (emp_etcd.c's strict reader):
 * a record that is malformed, of an unknown version or absurd is skipped
 * with a warning, never trusted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emp_etcd.h"
#include "emp_internal.h"
#include "libemp.h"

#define TRIES		10	/* transactions lost to other hosts before giving up */
#define RESERVED_MAX	1024	/* reserved keys read at most */
#define CALL_MS		5000	/* one call to etcd */
#define TXN_MAX		32768	/* a transaction's body */

/* --- choosing ------------------------------------------------------------- */

static uint64_t next_rand(uint64_t *x)
{
	/* xorshift64*: plenty for picking donors. */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ULL;
}

/* What a host may still take on donor @d: free, and not reserved by others. */
static uint64_t room_of(const struct emp_cluster_donor *d)
{
	uint64_t left = d->reserved >= d->capacity ? 0 : d->capacity - d->reserved;

	left = left < d->free ? left : d->free;
	return left / EMP_CLUSTER_GRAIN * EMP_CLUSTER_GRAIN;
}

static int has_transport(const struct emp_cluster_donor *d, uint32_t transport)
{
	return transport == EMP_TIER_RDMA ? d->rdma : d->tcp;
}

/*
 * Pick one more donor for a placement that has @nr of them in @pick: one
 * with room, not picked yet, in a domain not used yet if there is one;
 * the roomier of two such picked at random. Return: its index or -1.
 */
static int pick_one(const struct emp_cluster_donor *d, unsigned int n, uint32_t transport,
		    const struct emp_cluster_piece *pick, unsigned int nr, uint64_t *seed)
{
	unsigned int i, j, cand[EMP_CLUSTER_DONORS_MAX], nc = 0;
	int new_domain, pass;

	for (pass = 0; pass < 2 && !nc; pass++) {
		for (i = 0; i < n && i < EMP_CLUSTER_DONORS_MAX; i++) {
			if (!has_transport(&d[i], transport) || !room_of(&d[i]))
				continue;
			new_domain = 1;
			for (j = 0; j < nr; j++) {
				if (pick[j].donor == i)
					break;
				if (!strcmp(d[pick[j].donor].domain, d[i].domain))
					new_domain = 0;
			}
			if (j < nr || (!pass && !new_domain))
				continue;
			cand[nc++] = i;
		}
	}
	if (!nc)
		return -1;
	i = cand[next_rand(seed) % nc];
	j = cand[next_rand(seed) % nc];
	return (int)(room_of(&d[j]) > room_of(&d[i]) ? j : i);
}

/*
 * Spread @size over the @nr pieces of @out whose rooms are @room (and
 * their replicas' donors in @rep, when given, which move with them):
 * evenly, the smallest rooms first so what they cannot take goes on to the
 * larger ones (each share at most the average of what is left, so what is
 * left always fits the rooms after). Return: the pieces left, the empty
 * ones (a small size over many donors) dropped.
 */
static int share_out(uint64_t size, uint64_t *room, struct emp_cluster_piece *out,
		     unsigned int *rep, unsigned int nr)
{
	uint64_t left = size, share;
	unsigned int i, j;

	for (i = 1; i < nr; i++)
		for (j = i; j > 0 && room[j] < room[j - 1]; j--) {
			struct emp_cluster_piece t = out[j];
			uint64_t r = room[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
			room[j] = room[j - 1];
			room[j - 1] = r;
			if (rep) {
				unsigned int x = rep[j];

				rep[j] = rep[j - 1];
				rep[j - 1] = x;
			}
		}
	for (i = 0; i < nr; i++) {
		if (i + 1 == nr) {
			share = left;
		} else {
			share = (left / (nr - i) + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN *
				EMP_CLUSTER_GRAIN;
			share = share < room[i] ? share : room[i];
			share = share < left ? share : left;
		}
		out[i].bytes = share;
		left -= share;
	}
	for (i = j = 0; i < nr; i++) {
		if (!out[i].bytes)
			continue;
		if (rep)
			rep[j] = rep[i];
		out[j++] = out[i];
	}
	return (int)j;
}

/* Pieces for @size: at most @spread, @max_pieces and its grains, at least one. */
static unsigned int pieces_wanted(uint64_t size, unsigned int spread, unsigned int max_pieces)
{
	unsigned int want = spread < max_pieces ? spread : max_pieces;

	if (!want)
		want = 1;
	/* Never more pieces than grains: every piece but the last is whole ones. */
	if ((uint64_t)want > (size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN)
		want = (unsigned int)((size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN);
	return want;
}

int emp_cluster_choose(const struct emp_cluster_donor *d, unsigned int n, uint64_t size,
		       unsigned int spread, uint32_t transport, unsigned int max_pieces,
		       uint64_t seed, struct emp_cluster_piece *out)
{
	uint64_t total = 0, need, room[EMP_MAX_TIERS];
	unsigned int nr = 0, i, j, want;
	int k;

	if (!size || !max_pieces)
		return -EINVAL;
	/* Never more pieces than a spec has tiers, whatever the caller asks. */
	max_pieces = max_pieces < EMP_MAX_TIERS ? max_pieces : EMP_MAX_TIERS;
	seed = seed ? seed : 0x9e3779b97f4a7c15ULL;
	want = pieces_wanted(size, spread, max_pieces);
	while (nr < max_pieces && (nr < want || total < size)) {
		k = pick_one(d, n, transport, out, nr, &seed);
		if (k < 0)
			break;
		out[nr].donor = (unsigned int)k;
		out[nr].bytes = 0;
		total += room_of(&d[k]);
		nr++;
	}
	need = (size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN * EMP_CLUSTER_GRAIN;
	if (total < need) {
		/* The random picks fell short: the largest rooms, if they hold it. */
		for (nr = 0, total = 0; nr < max_pieces && total < need; nr++) {
			int best = -1;

			for (i = 0; i < n && i < EMP_CLUSTER_DONORS_MAX; i++) {
				if (!has_transport(&d[i], transport) || !room_of(&d[i]))
					continue;
				for (j = 0; j < nr && out[j].donor != i; j++)
					;
				if (j == nr && (best < 0 || room_of(&d[i]) > room_of(&d[best])))
					best = (int)i;
			}
			if (best < 0)
				break;
			out[nr].donor = (unsigned int)best;
			total += room_of(&d[best]);
		}
	}
	if (!nr || total < need)
		return -ENOSPC;
	for (i = 0; i < nr; i++)
		room[i] = room_of(&d[out[i].donor]);
	return share_out(size, room, out, NULL, nr);
}

/*
 * Pick a donor that is not @used, has @transport and at least @need of
 * room (and some), is not in domain @not_in (if given); the first pass
 * also leaves out domain @rather_not_in and, with @fresh, every domain a
 * @used donor is in, the second only what it must. The roomier of two such
 * picked at random. Return: its index or -1.
 */
static int pick_free(const struct emp_cluster_donor *d, unsigned int n, uint32_t transport,
		     const unsigned char *used, uint64_t need, const char *not_in,
		     const char *rather_not_in, int fresh, uint64_t *seed)
{
	unsigned int i, j, cand[EMP_CLUSTER_DONORS_MAX], nc = 0;
	int pass;

	n = n < EMP_CLUSTER_DONORS_MAX ? n : EMP_CLUSTER_DONORS_MAX;
	for (pass = 0; pass < 2 && !nc; pass++) {
		for (i = 0; i < n; i++) {
			if (used[i] || !has_transport(&d[i], transport) || !room_of(&d[i]) ||
			    room_of(&d[i]) < need || (not_in && !strcmp(d[i].domain, not_in)))
				continue;
			if (!pass && rather_not_in && !strcmp(d[i].domain, rather_not_in))
				continue;
			if (!pass && fresh) {
				for (j = 0; j < n && !(used[j] && !strcmp(d[j].domain, d[i].domain));
				     j++)
					;
				if (j < n)
					continue;
			}
			cand[nc++] = i;
		}
	}
	if (!nc)
		return -1;
	i = cand[next_rand(seed) % nc];
	j = cand[next_rand(seed) % nc];
	return (int)(room_of(&d[j]) > room_of(&d[i]) ? j : i);
}

/* The roomiest donor not @used, with @transport and room, not in domain @not_in. */
static int pick_largest(const struct emp_cluster_donor *d, unsigned int n, uint32_t transport,
			const unsigned char *used, const char *not_in)
{
	unsigned int i;
	int best = -1;

	for (i = 0; i < n && i < EMP_CLUSTER_DONORS_MAX; i++)
		if (!used[i] && has_transport(&d[i], transport) && room_of(&d[i]) &&
		    (!not_in || strcmp(d[i].domain, not_in)) &&
		    (best < 0 || room_of(&d[i]) > room_of(&d[best])))
			best = (int)i;
	return best;
}

int emp_cluster_choose_replicated(const struct emp_cluster_donor *d, unsigned int n,
				  uint64_t size, unsigned int spread, uint32_t transport,
				  unsigned int max_pieces, uint64_t seed,
				  struct emp_cluster_piece *out, unsigned int *replica);

/*
 * emp_cluster_choose_replicated() - emp_cluster_choose() for replicas=2:
 * every piece out[i] also gets a replica on donor replica[i], with room for
 * the piece's bytes, in another failure domain than the piece's donor. No
 * donor appears twice in one answer, as a piece's or as a replica's: each
 * donor's reservation then grows by one piece, and a transaction touches
 * each of its keys once. Pairs are taken as emp_cluster_choose() takes
 * donors (new failure domains first, the roomier of two random picks,
 * the largest rooms when those fall short); a pair holds as much as the
 * smaller room of its two. Internal to libemp (emp_spec_place()), not in
 * libemp.h; selftests/unit/cluster_test.c declares it again to test it.
 * Return: the number of pieces (1..@max_pieces), or -ENOSPC.
 */
int emp_cluster_choose_replicated(const struct emp_cluster_donor *d, unsigned int n,
				  uint64_t size, unsigned int spread, uint32_t transport,
				  unsigned int max_pieces, uint64_t seed,
				  struct emp_cluster_piece *out, unsigned int *replica)
{
	unsigned char used[EMP_CLUSTER_DONORS_MAX] = { 0 };
	uint64_t total = 0, need, room[EMP_MAX_TIERS];
	unsigned int nr = 0, want;
	int p, q, pass;

	if (!size || !max_pieces)
		return -EINVAL;
	max_pieces = max_pieces < EMP_MAX_TIERS ? max_pieces : EMP_MAX_TIERS;
	seed = seed ? seed : 0x9e3779b97f4a7c15ULL;
	want = pieces_wanted(size, spread, max_pieces);
	need = (size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN * EMP_CLUSTER_GRAIN;
	/* First at random, then (the picks fell short) the largest rooms. */
	for (pass = 0; pass < 2 && total < need; pass++) {
		memset(used, 0, sizeof(used));
		for (nr = 0, total = 0; nr < max_pieces && (pass || nr < want || total < size) &&
		     (!pass || total < need); nr++) {
			p = pass ? pick_largest(d, n, transport, used, NULL) :
				   pick_free(d, n, transport, used, 0, NULL, NULL, 1, &seed);
			if (p < 0)
				break;
			used[p] = 1;
			q = pass ? pick_largest(d, n, transport, used, d[p].domain) :
				   pick_free(d, n, transport, used, 0, d[p].domain, NULL, 1, &seed);
			/* None: every donor left is in @p's domain, so no pair is left either. */
			if (q < 0)
				break;
			used[q] = 1;
			out[nr].donor = (unsigned int)p;
			out[nr].bytes = 0;
			replica[nr] = (unsigned int)q;
			room[nr] = room_of(&d[p]) < room_of(&d[q]) ? room_of(&d[p]) : room_of(&d[q]);
			total += room[nr];
		}
	}
	if (!nr || total < need)
		return -ENOSPC;
	return share_out(size, room, out, replica, nr);
}

/* --- talking to etcd ------------------------------------------------------ */

struct ctx {
	struct etcd_http h;
	const struct emp_cluster *cl;
	char host[64];
	char *err;
	size_t errlen;
	struct etcd_kv *kv;	/* room for RESERVED_MAX keys */
	char *vbuf;		/* their values */
};

static void warn(const struct ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->cl->warn)
		c->cl->warn(msg);
	else
		fprintf(stderr, "emp: %s\n", msg);
}

static void ctx_close(struct ctx *c)
{
	etcd_http_close(&c->h);
	free(c->kv);
	free(c->vbuf);
}

static int ctx_open(struct ctx *c, const struct emp_cluster *cl, char *err, size_t errlen)
{
	const char *host = cl->host;
	char msg[256];

	memset(c, 0, sizeof(*c));
	c->cl = cl;
	c->err = err;
	c->errlen = errlen;
	if (!host)
		host = getenv("EMP_CLUSTER_HOST");
	if (!host || !*host) {
		if (gethostname(c->host, sizeof(c->host) - 1))
			c->host[0] = 0;
		host = c->host;
	}
	if (!etcd_label_ok(host)) {
		emp_say(err, errlen, "host name '%.64s' cannot name this host in the registry "
		    "(1..63 of A-Z a-z 0-9 . _ -; set EMP_CLUSTER_HOST)", host);
		return -EINVAL;
	}
	snprintf(c->host, sizeof(c->host), "%s", host);
	if (!cl->etcd || !*cl->etcd) {
		emp_say(err, errlen, "no etcd URL for the cluster registry (--etcd, or EMP_ETCD)");
		return -EINVAL;
	}
	if (etcd_http_open(&c->h, cl->etcd, msg, sizeof(msg))) {
		emp_say(err, errlen, "etcd %.200s: %s", cl->etcd, msg);
		return -EINVAL;
	}
	c->kv = calloc(RESERVED_MAX, sizeof(*c->kv));
	c->vbuf = malloc(ETCD_BODY_MAX + 1);
	if (!c->kv || !c->vbuf) {
		ctx_close(c);
		emp_say(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* POST and check the answer is well-formed. Return: 0 or -errno with c->err. */
static int call(struct ctx *c, const char *path, const char *body, long *http)
{
	char msg[256];

	if (etcd_http_post(&c->h, path, body, CALL_MS, http, msg, sizeof(msg))) {
		if (c->h.body_over) {
			emp_say(c->err, c->errlen, "etcd at %s: %s", c->h.url, msg);
			return -EMSGSIZE;
		}
		emp_say(c->err, c->errlen, "cannot reach etcd at %s: %s", c->h.url, msg);
		return -EHOSTUNREACH;
	}
	return 0;
}

static int range_keys_first(struct ctx *c, const char *key, long limit);

/* Keys of a range (one key, or a @prefix) into c->kv. Return: how many or -errno. */
static int range(struct ctx *c, const char *key, int prefix, long limit)
{
	char body[1024], msg[256];
	unsigned int n;
	int more, ret;
	long http;

	if (etcd_range_body(key, prefix, limit, body, sizeof(body)) < 0) {
		emp_say(c->err, c->errlen, "key %.200s is too long", key);
		return -ENAMETOOLONG;
	}
	ret = call(c, "/v3/kv/range", body, &http);
	if (ret == -EMSGSIZE && prefix)
		return range_keys_first(c, key, limit);
	if (ret)
		return ret;
	if (etcd_parse_range(c->h.body, c->h.body_len, http, c->kv, RESERVED_MAX, c->vbuf,
			     ETCD_BODY_MAX + 1, &n, &more, msg, sizeof(msg)) != ETCD_OK) {
		emp_say(c->err, c->errlen, "etcd at %s: reading %s: %s", c->h.url, key, msg);
		return -EBADMSG;
	}
	if (more)
		warn(c, "more than %ld keys under %s: only the first %ld are used", limit, key,
		     limit);
	return (int)n;
}

/*
 * A prefix whose keys and values together make an answer longer than
 * ETCD_BODY_MAX (a value of our registry is a few hundred bytes: one that
 * is not is hostile or broken): its keys alone, then each key's value on
 * its own, skipping with a warning those too long to read.
 * Return: how many went into c->kv, or -errno.
 */
static int range_keys_first(struct ctx *c, const char *key, long limit)
{
	char body[1024], msg[256], (*keys)[sizeof(c->kv[0].key)] = NULL;
	struct etcd_kv one;
	unsigned int n, i, got = 0;
	size_t used = 0, len;
	char *vb = NULL;
	int more, ret;
	long http;

	len = (size_t)etcd_range_body(key, 1, limit, body, sizeof(body) - 20);
	if ((int)len < 0 || body[len - 1] != '}')
		return -ENAMETOOLONG;
	strcpy(body + len - 1, ",\"keys_only\":true}");
	ret = call(c, "/v3/kv/range", body, &http);
	if (ret)
		return ret;
	if (etcd_parse_range(c->h.body, c->h.body_len, http, c->kv, RESERVED_MAX, c->vbuf,
			     ETCD_BODY_MAX + 1, &n, &more, msg, sizeof(msg)) != ETCD_OK) {
		emp_say(c->err, c->errlen, "etcd at %s: reading the keys of %s: %s", c->h.url, key, msg);
		return -EBADMSG;
	}
	keys = calloc(n ? n : 1, sizeof(*keys));
	vb = malloc(ETCD_BODY_MAX + 1);
	if (!keys || !vb) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		memcpy(keys[i], c->kv[i].key, sizeof(keys[i]));
	for (i = 0; i < n; i++) {
		unsigned int one_n;

		if (etcd_range_body(keys[i], 0, 1, body, sizeof(body)) < 0)
			continue;
		ret = call(c, "/v3/kv/range", body, &http);
		if (ret == -EMSGSIZE) {
			warn(c, "%.200s skipped: its value is longer than %d bytes", keys[i],
			     ETCD_BODY_MAX);
			continue;
		}
		if (ret)
			goto out;
		if (etcd_parse_range(c->h.body, c->h.body_len, http, &one, 1, vb, ETCD_BODY_MAX + 1,
				     &one_n, &more, msg, sizeof(msg)) != ETCD_OK || one_n != 1) {
			/* Gone meanwhile, or unreadable: as if it were not there. */
			continue;
		}
		if (used + one.value_len + 1 > ETCD_BODY_MAX + 1)
			break;
		c->kv[got] = one;
		memcpy(c->vbuf + used, one.value, one.value_len + 1);
		c->kv[got].value = c->vbuf + used;
		used += one.value_len + 1;
		got++;
	}
	ret = (int)got;
out:
	free(keys);
	free(vb);
	return ret;
}

/* "ADDR:PORT", or "[ADDR]:PORT" for IPv6. */
static void donor_id(const char *addr, uint16_t port, char *buf, size_t len)
{
	int v6 = strchr(addr, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", addr, v6 ? "]" : "", port);
}

static struct ej_doc *doc_new(void)
{
	return malloc(sizeof(struct ej_doc));
}

/* An unsigned JSON number member up to @max. */
static int u64_member(const struct ej_doc *d, int obj, const char *name, uint64_t max,
		      uint64_t *v)
{
	int t = ej_member(d, obj, name);
	int64_t x;

	if (t < 0 || d->tok[t].type != EJ_NUMBER || ej_int64(d, t, &x) || x < 0 ||
	    (uint64_t)x > max)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

/* A reserved key's value: {"version":1,"bytes":N}. Return: 0 or -1. */
static int parse_reserved(const char *json, size_t len, uint64_t *bytes)
{
	struct ej_doc *d = doc_new();
	char why[64];
	uint64_t v;
	int ret = -1;

	if (!d)
		return -1;
	if (len <= 4096 && !ej_parse(d, json, len, why, sizeof(why)) &&
	    d->tok[0].type == EJ_OBJECT && !u64_member(d, 0, "version", 1000, &v) && v == 1 &&
	    !u64_member(d, 0, "bytes", ETCD_BYTES_MAX, bytes))
		ret = 0;
	free(d);
	return ret;
}

int emp_cluster_donors(const struct emp_cluster *cl, struct emp_cluster_donor *out,
		       unsigned int room, char *err, size_t errlen)
{
	struct etcd_donor_rec r;
	struct ctx c;
	char id[300], key[400], msg[256];
	unsigned int nd = 0, i, j;
	int n, ret;

	ret = ctx_open(&c, cl, err, errlen);
	if (ret)
		return ret;
	n = range(&c, EMP_CLUSTER_DONORS, 1, room < EMP_CLUSTER_DONORS_MAX ? room :
		  EMP_CLUSTER_DONORS_MAX);
	if (n < 0) {
		ctx_close(&c);
		return n;
	}
	for (i = 0; i < (unsigned int)n && nd < room; i++) {
		if (etcd_parse_donor(c.kv[i].value, c.kv[i].value_len, &r, msg, sizeof(msg))) {
			warn(&c, "donor record %.200s skipped: %s", c.kv[i].key, msg);
			continue;
		}
		if (strlen(r.addr) >= sizeof(out[nd].addr)) {
			warn(&c, "donor record %.200s skipped: address longer than %zu characters",
			     c.kv[i].key, sizeof(out[nd].addr) - 1);
			continue;
		}
		donor_id(r.addr, r.port, id, sizeof(id));
		snprintf(key, sizeof(key), "%s%s/%s", EMP_CLUSTER_DONORS, r.domain, id);
		if (strcmp(key, c.kv[i].key)) {
			warn(&c, "donor record %.200s skipped: its value says %s", c.kv[i].key, key);
			continue;
		}
		memset(&out[nd], 0, sizeof(out[nd]));
		snprintf(out[nd].addr, sizeof(out[nd].addr), "%s", r.addr);
		snprintf(out[nd].domain, sizeof(out[nd].domain), "%s", r.domain);
		out[nd].port = r.port;
		out[nd].tcp = r.tcp;
		out[nd].rdma = r.rdma;
		out[nd].capacity = r.capacity;
		out[nd].free = r.free;
		nd++;
	}
	n = range(&c, EMP_CLUSTER_RESERVED, 1, RESERVED_MAX);
	if (n < 0) {
		ctx_close(&c);
		return n;
	}
	for (i = 0; i < (unsigned int)n; i++) {
		const char *kid = c.kv[i].key + strlen(EMP_CLUSTER_RESERVED);
		uint64_t bytes;
		int bad = parse_reserved(c.kv[i].value, c.kv[i].value_len, &bytes);

		for (j = 0; j < nd; j++) {
			donor_id(out[j].addr, out[j].port, id, sizeof(id));
			if (strcmp(id, kid))
				continue;
			if (bad) {
				/* Cannot tell what is taken: take nothing from it. */
				warn(&c, "reservation record %.200s is malformed: donor %s not used",
				     c.kv[i].key, id);
				bytes = out[j].capacity;
			}
			out[j].reserved = bytes;
			out[j].reserved_rev = c.kv[i].mod_revision;
		}
	}
	ctx_close(&c);
	return (int)nd;
}

/* --- placing and releasing ------------------------------------------------ */

/* A growing text buffer; @over once anything did not fit. */
struct sb {
	char *buf;
	size_t len, used;
	int over;
};

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->used)
		b->over = 1;
	else
		b->used += (size_t)n;
}

/* Key or value @s as base64 into the buffer. */
static void sb_b64(struct sb *b, const char *s)
{
	int n;

	if (b->over)
		return;
	n = etcd_base64(s, strlen(s), b->buf + b->used, b->len - b->used);
	if (n < 0)
		b->over = 1;
	else
		b->used += (size_t)n;
}

/* The sb_cmp_* and sb_put() helpers put the ',' between array members themselves. */
static void sb_cmp_mod(struct sb *b, const char *key, int64_t rev)
{
	sb_add(b, "%s{\"key\":\"", b->buf[b->used - 1] == '[' ? "" : ",");
	sb_b64(b, key);
	sb_add(b, "\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"%lld\"}",
	       (long long)rev);
}

static void sb_put(struct sb *b, const char *key, const char *value)
{
	sb_add(b, "%s{\"request_put\":{\"key\":\"", b->buf[b->used - 1] == '[' ? "" : ",");
	sb_b64(b, key);
	sb_add(b, "\",\"value\":\"");
	sb_b64(b, value);
	sb_add(b, "\"}}");
}

/* Run transaction @b. Return: 1 committed, 0 a comparison failed, -errno. */
static int txn(struct ctx *c, struct sb *b)
{
	char msg[256];
	long http;
	int ok, ret;

	if (b->over) {
		emp_say(c->err, c->errlen, "the transaction is larger than %d bytes", TXN_MAX);
		return -E2BIG;
	}
	ret = call(c, "/v3/kv/txn", b->buf, &http);
	if (ret)
		return ret;
	if (etcd_parse_txn(c->h.body, c->h.body_len, http, &ok, msg, sizeof(msg)) != ETCD_OK) {
		emp_say(c->err, c->errlen, "etcd at %s: transaction: %s", c->h.url, msg);
		return -EBADMSG;
	}
	return ok;
}

static void backoff(unsigned int attempt, uint64_t *seed)
{
	struct timespec t = { 0, (long)((5 + next_rand(seed) % 20) * (attempt + 1)) * 1000000L };

	nanosleep(&t, NULL);
}

static uint64_t seed_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((uint64_t)t.tv_nsec << 20) ^ (uint64_t)t.tv_sec ^ ((uint64_t)getpid() << 40);
}

static int placement_key(const struct ctx *c, const char *host, const char *name, char *buf,
			 size_t len)
{
	if (emp_check_name(name)) {
		emp_say(c->err, c->errlen, "bad instance name '%.64s'", name);
		return -EINVAL;
	}
	snprintf(buf, len, "%s%s/%s", EMP_CLUSTER_PLACEMENTS, host, name);
	return 0;
}

/* Whether placement key @key exists. Return: 1, 0 or -errno. */
static int key_exists(struct ctx *c, const char *key)
{
	int n = range(c, key, 0, 1);

	return n < 0 ? n : n > 0;
}

/*
 * A placement record as this file writes and reads it: every piece on a
 * donor, and with replicas=2 its replica on another ("replica" member of
 * the piece: the same bytes).
 */
struct copy {
	char addr[EMP_PATH_MAX];
	char domain[ETCD_LABEL_MAX + 1];
	uint16_t port;
};

struct record {
	char host[64];
	char name[EMP_NAME_MAX];
	uint64_t size;
	uint32_t transport;
	unsigned int nr;
	struct {
		uint64_t bytes;
		struct copy prim, rep;
		int replicated;
	} piece[EMP_MAX_TIERS];
};

/* Whether two donors are one: the same port and address (as text, or as IPv6). */
static int same_donor(const char *a, uint16_t pa, const char *b, uint16_t pb)
{
	unsigned char x[16], y[16];

	if (pa != pb)
		return 0;
	if (!strcmp(a, b))
		return 1;
	return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 &&
	       !memcmp(x, y, sizeof(x));
}

/*
 * Whether copy @cp is on donor @addr:@port, which emp.ko names by address:
 * a copy recorded by host name (a donor announced so) is looked up.
 */
static int copy_is(const struct copy *cp, const char *addr, uint16_t port)
{
	char a[EMP_PATH_MAX];
	unsigned char bin[16];

	if (same_donor(cp->addr, cp->port, addr, port))
		return 1;
	if (cp->port != port || inet_pton(AF_INET, cp->addr, bin) == 1 ||
	    inet_pton(AF_INET6, cp->addr, bin) == 1)
		return 0;
	return !emp_resolve_host(cp->addr, a, sizeof(a), NULL, 0) &&
	       same_donor(a, port, addr, port);
}

static void set_copy(struct copy *cp, const struct emp_cluster_donor *d)
{
	snprintf(cp->addr, sizeof(cp->addr), "%s", d->addr);
	snprintf(cp->domain, sizeof(cp->domain), "%s", d->domain);
	cp->port = d->port;
}

/*
 * Every copy of @r: @cp[i] the donor, @bytes[i] what it holds, primaries and
 * replicas. Return: how many (at most 2 * EMP_MAX_TIERS).
 */
static unsigned int copies_of(const struct record *r, const struct copy **cp, uint64_t *bytes)
{
	unsigned int i, n = 0;

	for (i = 0; i < r->nr; i++) {
		cp[n] = &r->piece[i].prim;
		bytes[n++] = r->piece[i].bytes;
		if (r->piece[i].replicated) {
			cp[n] = &r->piece[i].rep;
			bytes[n++] = r->piece[i].bytes;
		}
	}
	return n;
}

/* Record @r as JSON (its strings were checked to need no escaping). */
static void sb_record(struct sb *b, const struct record *r)
{
	unsigned int i;

	sb_add(b, "{\"version\":1,\"host\":\"%s\",\"instance\":\"%s\",\"size\":%llu,"
	       "\"transport\":\"%s\",\"pieces\":[", r->host, r->name, (unsigned long long)r->size,
	       emp_tier_kind_name(r->transport));
	for (i = 0; i < r->nr; i++) {
		sb_add(b, "%s{\"addr\":\"%s\",\"port\":%u,\"bytes\":%llu", i ? "," : "",
		       r->piece[i].prim.addr, r->piece[i].prim.port,
		       (unsigned long long)r->piece[i].bytes);
		/* Always there, but a record read without it is written back so. */
		if (r->piece[i].prim.domain[0])
			sb_add(b, ",\"domain\":\"%s\"", r->piece[i].prim.domain);
		if (r->piece[i].replicated)
			sb_add(b, ",\"replica\":{\"addr\":\"%s\",\"port\":%u,\"domain\":\"%s\"}",
			       r->piece[i].rep.addr, r->piece[i].rep.port, r->piece[i].rep.domain);
		sb_add(b, "}");
	}
	sb_add(b, "]}");
}

/* Compare: the reserved key of donor @addr:@port at mod_revision @rev (0: none). */
static void sb_cmp_reserved(struct sb *t, const char *addr, uint16_t port, int64_t rev)
{
	char id[300], key[400];

	donor_id(addr, port, id, sizeof(id));
	snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
	sb_cmp_mod(t, key, rev);
}

/* Compare: donor @x's reserved key as read, and its own key still there. */
static void sb_cmp_donor(struct sb *t, const struct emp_cluster_donor *x)
{
	char id[300], key[400];

	sb_cmp_reserved(t, x->addr, x->port, x->reserved_rev);
	donor_id(x->addr, x->port, id, sizeof(id));
	snprintf(key, sizeof(key), "%s%s/%s", EMP_CLUSTER_DONORS, x->domain, id);
	sb_add(t, ",{\"key\":\"");
	sb_b64(t, key);
	sb_add(t, "\",\"target\":\"VERSION\",\"result\":\"GREATER\",\"version\":\"0\"}");
}

/* Put: the reserved key of donor @addr:@port to @bytes. */
static void sb_put_reserved(struct sb *t, const char *addr, uint16_t port, uint64_t bytes)
{
	char id[300], key[400], val[128];

	donor_id(addr, port, id, sizeof(id));
	snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
	snprintf(val, sizeof(val), "{\"version\":1,\"bytes\":%llu}", (unsigned long long)bytes);
	sb_put(t, key, val);
}

/* The -ENOSPC message of a placement: what the cluster has. */
static void say_no_room(char *err, size_t errlen, const struct emp_cluster_donor *d,
			unsigned int n, uint64_t size, uint32_t transport, unsigned int copies,
			unsigned int max_pieces)
{
	unsigned int i, j, m = 0, domains = 0;
	uint64_t most = 0, all = 0;
	char b[3][32];

	for (i = 0; i < n; i++) {
		if (!has_transport(&d[i], transport))
			continue;
		m++;
		all += room_of(&d[i]);
		most = room_of(&d[i]) > most ? room_of(&d[i]) : most;
		if (!room_of(&d[i]))
			continue;
		for (j = 0; j < i; j++)
			if (has_transport(&d[j], transport) && room_of(&d[j]) &&
			    !strcmp(d[j].domain, d[i].domain))
				break;
		domains += j == i;
	}
	if (copies == 1)
		emp_say(err, errlen, "not enough free capacity in the cluster for %s on %s donors: "
		    "%u of them, %s free and unreserved in all, at most %s on one (a placement "
		    "uses at most %u)", emp_format_size(size, b[0], 32),
		    emp_tier_kind_name(transport), m, emp_format_size(all, b[1], 32),
		    emp_format_size(most, b[2], 32), max_pieces);
	else
		emp_say(err, errlen, "not enough free capacity in the cluster for %s with "
		    "replicas=2 on %s donors: each piece needs room on two donors in two "
		    "failure domains, and no donor holds two copies; %u donor%s, %u failure "
		    "domain%s with room, %s free and unreserved in all, at most %s on one (a "
		    "placement uses at most %u pieces of two copies)",
		    emp_format_size(size, b[0], 32), emp_tier_kind_name(transport), m,
		    m == 1 ? "" : "s", domains, domains == 1 ? "" : "s",
		    emp_format_size(all, b[1], 32), emp_format_size(most, b[2], 32), max_pieces);
}

int emp_spec_place(struct emp_spec *s, const char *name, const struct emp_cluster *cl,
		   char *err, size_t errlen)
{
	struct emp_cluster_donor *d = NULL;
	struct emp_cluster_piece pc[EMP_MAX_TIERS];
	unsigned int rep[EMP_MAX_TIERS];
	struct record *r = NULL;
	char pkey[400];
	char *pval = NULL, *tbuf = NULL;
	unsigned int ci, i, slots, copies, max_pieces, attempt;
	uint64_t size, seed = seed_now();
	struct ctx c;
	int n = 0, k = 0, ret;

	for (ci = 0; ci < s->nr_tiers; ci++)
		if (s->tier[ci].kind == EMP_TIER_CLUSTER)
			break;
	if (ci == s->nr_tiers)
		return 0;
	size = s->tier[ci].size;
	copies = s->cluster.replicas ? s->cluster.replicas : 1;
	if (copies > 2) {
		emp_say(err, errlen, "replicas=%u: a cluster: tier has 1 or 2", copies);
		return -EINVAL;
	}
	/* The pieces and their replicas take the cluster: tier's slot and the free ones. */
	slots = EMP_MAX_TIERS - (s->nr_tiers - 1);
	max_pieces = slots / copies;
	if (!max_pieces) {
		emp_say(err, errlen, "the spec's other tiers take %u of its %d tiers: a cluster: tier "
		    "with replicas=2 needs two", s->nr_tiers - 1, EMP_MAX_TIERS);
		return -E2BIG;
	}
	ret = ctx_open(&c, cl, err, errlen);
	if (ret)
		return ret;
	ret = placement_key(&c, c.host, name, pkey, sizeof(pkey));
	if (ret)
		goto out;
	d = calloc(EMP_CLUSTER_DONORS_MAX, sizeof(*d));
	r = calloc(1, sizeof(*r));
	pval = malloc(4096);
	tbuf = malloc(TXN_MAX);
	if (!d || !r || !pval || !tbuf) {
		emp_say(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < TRIES; attempt++) {
		struct sb p = { pval, 4096, 0, 0 }, t = { tbuf, TXN_MAX, 0, 0 };

		n = emp_cluster_donors(cl, d, EMP_CLUSTER_DONORS_MAX, err, errlen);
		if (n < 0) {
			ret = n;
			goto out;
		}
		if (copies == 1)
			k = emp_cluster_choose(d, (unsigned int)n, size, s->cluster.spread,
					       s->cluster.transport, max_pieces, seed, pc);
		else
			k = emp_cluster_choose_replicated(d, (unsigned int)n, size,
							  s->cluster.spread, s->cluster.transport,
							  max_pieces, seed, pc, rep);
		if (k < 0) {
			say_no_room(err, errlen, d, (unsigned int)n, size, s->cluster.transport,
				    copies, max_pieces);
			ret = -ENOSPC;
			goto out;
		}
		memset(r, 0, sizeof(*r));
		snprintf(r->host, sizeof(r->host), "%s", c.host);
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->size = size;
		r->transport = s->cluster.transport;
		r->nr = (unsigned int)k;
		for (i = 0; i < (unsigned int)k; i++) {
			r->piece[i].bytes = pc[i].bytes;
			set_copy(&r->piece[i].prim, &d[pc[i].donor]);
			r->piece[i].replicated = copies == 2;
			if (copies == 2)
				set_copy(&r->piece[i].rep, &d[rep[i]]);
		}
		sb_record(&p, r);
		if (p.over) {
			emp_say(err, errlen, "the placement record is too long");
			ret = -E2BIG;
			goto out;
		}
		/*
		 * Compare: reservations as read, donors alive, no placement yet.
		 * All donors of a placement are distinct (the choosers see to
		 * it), so each reserved key is compared and put once.
		 */
		sb_add(&t, "{\"compare\":[");
		for (i = 0; i < (unsigned int)k; i++) {
			sb_cmp_donor(&t, &d[pc[i].donor]);
			if (copies == 2)
				sb_cmp_donor(&t, &d[rep[i]]);
		}
		sb_add(&t, ",{\"key\":\"");
		sb_b64(&t, pkey);
		sb_add(&t, "\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}"
		       "],\"success\":[");
		for (i = 0; i < (unsigned int)k; i++) {
			const struct emp_cluster_donor *x = &d[pc[i].donor];

			sb_put_reserved(&t, x->addr, x->port, x->reserved + pc[i].bytes);
			if (copies == 2) {
				x = &d[rep[i]];
				sb_put_reserved(&t, x->addr, x->port, x->reserved + pc[i].bytes);
			}
		}
		sb_put(&t, pkey, pval);
		sb_add(&t, "]}");
		ret = txn(&c, &t);
		if (ret < 0)
			goto out;
		if (ret)
			break;
		ret = key_exists(&c, pkey);
		if (ret < 0)
			goto out;
		if (ret) {
			emp_say(err, errlen, "instance %s of host %s is placed already (%s): release it "
			    "first (empctl cluster release)", name, c.host, pkey);
			ret = -EEXIST;
			goto out;
		}
		backoff(attempt, &seed);
	}
	if (attempt == TRIES) {
		emp_say(err, errlen, "other hosts kept changing the reservations: %d tries, none "
		    "committed; try again", TRIES);
		ret = -EAGAIN;
		goto out;
	}
	/*
	 * The cluster: tier becomes the pieces, in its place: each piece, and
	 * with replicas=2 its replica right after it (EMP_TIER_F_REPLICA).
	 */
	k *= (int)copies;
	memmove(&s->tier[ci + k], &s->tier[ci + 1], (s->nr_tiers - ci - 1) * sizeof(s->tier[0]));
	memmove(&s->host[ci + k], &s->host[ci + 1], (s->nr_tiers - ci - 1) * sizeof(s->host[0]));
	for (i = 0; i < (unsigned int)k; i++) {
		struct emp_tier *t = &s->tier[ci + i];
		const struct copy *x = i % copies ? &r->piece[i / copies].rep :
						    &r->piece[i / copies].prim;
		unsigned char bin[16];

		memset(t, 0, sizeof(*t));
		t->kind = s->cluster.transport;
		t->flags = i % copies ? EMP_TIER_F_REPLICA : 0;
		t->size = r->piece[i / copies].bytes;
		t->port = x->port;
		snprintf(t->path, sizeof(t->path), "%s", x->addr);
		/* A donor announced by name is resolved like one written so. */
		if (inet_pton(AF_INET, x->addr, bin) == 1 || inet_pton(AF_INET6, x->addr, bin) == 1)
			s->host[ci + i][0] = 0;
		else
			snprintf(s->host[ci + i], sizeof(s->host[0]), "%s", x->addr);
	}
	s->nr_tiers += (unsigned int)k - 1;
	memset(&s->cluster, 0, sizeof(s->cluster));
	ret = 0;
out:
	free(d);
	free(r);
	free(pval);
	free(tbuf);
	ctx_close(&c);
	return ret;
}

/* A donor of a piece in a placement record: "addr", "port", and "domain" unless optional. */
static int parse_copy(const struct ej_doc *d, int obj, struct copy *cp, int domain_optional)
{
	uint64_t v;
	int t;

	if (obj < 0 || d->tok[obj].type != EJ_OBJECT ||
	    ej_text(d, ej_member(d, obj, "addr"), cp->addr, sizeof(cp->addr)) < 0 ||
	    !etcd_host_ok(cp->addr) || u64_member(d, obj, "port", 65535, &v) || !v)
		return -1;
	cp->port = (uint16_t)v;
	t = ej_member(d, obj, "domain");
	if (t == -1 && domain_optional)
		return 0;
	return ej_text(d, t, cp->domain, sizeof(cp->domain)) < 0 || !etcd_label_ok(cp->domain) ?
	       -1 : 0;
}

/* A placement record, checked. Return: 0 or -1 with @msg. */
static int parse_record(const char *json, size_t len, struct record *r, char *msg, size_t msglen)
{
	struct ej_doc *d = doc_new();
	const struct copy *cp[2 * EMP_MAX_TIERS];
	uint64_t v, sum = 0, bytes[2 * EMP_MAX_TIERS];
	char why[64], tr[8];
	unsigned int nc, x, y;
	int a, i, rt, ret = -1;

	memset(r, 0, sizeof(*r));
	if (!d)
		return -1;
	if (len > 4096 || ej_parse(d, json, len, why, sizeof(why)) ||
	    d->tok[0].type != EJ_OBJECT) {
		snprintf(msg, msglen, "not a JSON object of at most 4096 bytes");
		goto out;
	}
	if (u64_member(d, 0, "version", 1000, &v) || v != 1) {
		snprintf(msg, msglen, "not version 1");
		goto out;
	}
	if (ej_text(d, ej_member(d, 0, "host"), r->host, sizeof(r->host)) < 0 ||
	    !etcd_label_ok(r->host) ||
	    ej_text(d, ej_member(d, 0, "instance"), r->name, sizeof(r->name)) < 0 ||
	    emp_check_name(r->name) || u64_member(d, 0, "size", ETCD_BYTES_MAX, &r->size)) {
		snprintf(msg, msglen, "bad \"host\", \"instance\" or \"size\"");
		goto out;
	}
	if (ej_text(d, ej_member(d, 0, "transport"), tr, sizeof(tr)) < 0 ||
	    (strcmp(tr, "tcp") && strcmp(tr, "rdma"))) {
		snprintf(msg, msglen, "\"transport\" is not \"tcp\" or \"rdma\"");
		goto out;
	}
	r->transport = strcmp(tr, "tcp") ? EMP_TIER_RDMA : EMP_TIER_TCP;
	a = ej_member(d, 0, "pieces");
	if (a < 0 || d->tok[a].type != EJ_ARRAY) {
		snprintf(msg, msglen, "\"pieces\" is not one array");
		goto out;
	}
	for (i = a + 1; (uint32_t)i < d->tok[a].next; i = (int)d->tok[i].next) {
		unsigned int k = r->nr;

		rt = k < EMP_MAX_TIERS && d->tok[i].type == EJ_OBJECT ?
		     ej_member(d, i, "replica") : -2;
		if (k >= EMP_MAX_TIERS || d->tok[i].type != EJ_OBJECT || rt == -2 ||
		    parse_copy(d, i, &r->piece[k].prim, rt < 0) ||
		    u64_member(d, i, "bytes", ETCD_BYTES_MAX, &r->piece[k].bytes)) {
			snprintf(msg, msglen, "piece %u is malformed (or more than %d)", k + 1,
				 EMP_MAX_TIERS);
			goto out;
		}
		if (rt >= 0) {
			if (parse_copy(d, rt, &r->piece[k].rep, 0)) {
				snprintf(msg, msglen, "the replica of piece %u is malformed", k + 1);
				goto out;
			}
			r->piece[k].replicated = 1;
		}
		sum += r->piece[k].bytes;
		r->nr++;
	}
	if (!r->nr || sum != r->size) {
		snprintf(msg, msglen, "the pieces do not add up to the size");
		goto out;
	}
	nc = copies_of(r, cp, bytes);
	for (x = 0; x < nc; x++)
		for (y = 0; y < x; y++)
			if (same_donor(cp[x]->addr, cp[x]->port, cp[y]->addr, cp[y]->port)) {
				snprintf(msg, msglen, "two copies on one donor");
				goto out;
			}
	ret = 0;
out:
	free(d);
	return ret;
}

/* A placement record as the public struct: the primaries only. */
static int parse_placement(const char *json, size_t len, struct emp_cluster_placement *p,
			   char *msg, size_t msglen)
{
	struct record *r = malloc(sizeof(*r));
	unsigned int i;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!r) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	ret = parse_record(json, len, r, msg, msglen);
	if (!ret) {
		snprintf(p->host, sizeof(p->host), "%s", r->host);
		snprintf(p->name, sizeof(p->name), "%s", r->name);
		p->size = r->size;
		p->nr_pieces = r->nr;
		for (i = 0; i < r->nr; i++) {
			snprintf(p->piece[i].addr, sizeof(p->piece[i].addr), "%s",
				 r->piece[i].prim.addr);
			p->piece[i].port = r->piece[i].prim.port;
			p->piece[i].bytes = r->piece[i].bytes;
		}
	}
	free(r);
	return ret;
}

/*
 * Read the reserved key of donor @cp: *@have its bytes (0 without a key, or
 * a malformed one), *@rev its mod_revision (0 without). Return: 1 when the
 * key exists, 0 when not, -errno.
 */
static int read_reserved(struct ctx *c, const struct copy *cp, uint64_t *have, int64_t *rev)
{
	char id[300], key[400];
	int n;

	donor_id(cp->addr, cp->port, id, sizeof(id));
	snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
	n = range(c, key, 0, 1);
	if (n < 0)
		return n;
	*have = 0;
	*rev = n ? c->kv[0].mod_revision : 0;
	if (n && parse_reserved(c->kv[0].value, c->kv[0].value_len, have))
		warn(c, "reservation record %s is malformed: taken as 0", key);
	return n > 0;
}

int emp_cluster_release(const char *name, const struct emp_cluster *cl, char *err,
			size_t errlen)
{
	const struct copy *cp[2 * EMP_MAX_TIERS];
	uint64_t seed = seed_now(), have[2 * EMP_MAX_TIERS], bytes[2 * EMP_MAX_TIERS];
	int64_t prev, rev[2 * EMP_MAX_TIERS];
	char pkey[400], msg[256];
	unsigned int attempt, i, nc;
	struct record *r = NULL;
	char *tbuf = NULL;
	struct ctx c;
	int n, ret;

	ret = ctx_open(&c, cl, err, errlen);
	if (ret)
		return ret;
	ret = placement_key(&c, c.host, name, pkey, sizeof(pkey));
	if (ret)
		goto out;
	tbuf = malloc(TXN_MAX);
	r = malloc(sizeof(*r));
	if (!tbuf || !r) {
		emp_say(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < TRIES; attempt++) {
		struct sb t = { tbuf, TXN_MAX, 0, 0 };

		n = range(&c, pkey, 0, 1);
		if (n <= 0) {
			ret = n ? n : -ENOENT;
			if (!n)
				emp_say(err, errlen, "no placement of %s of host %s in the registry", name,
				    c.host);
			goto out;
		}
		prev = c.kv[0].mod_revision;
		if (parse_record(c.kv[0].value, c.kv[0].value_len, r, msg, sizeof(msg))) {
			emp_say(err, errlen, "placement record %s is malformed (%s): delete it with "
			    "etcdctl del %s and check the donors' reservations", pkey, msg, pkey);
			ret = -EBADMSG;
			goto out;
		}
		/* Every copy: primaries and replicas. */
		nc = copies_of(r, cp, bytes);
		for (i = 0; i < nc; i++) {
			ret = read_reserved(&c, cp[i], &have[i], &rev[i]);
			if (ret < 0)
				goto out;
		}
		/* Compare: the placement and every reservation as read. */
		sb_add(&t, "{\"compare\":[");
		sb_cmp_mod(&t, pkey, prev);
		for (i = 0; i < nc; i++)
			sb_cmp_reserved(&t, cp[i]->addr, cp[i]->port, rev[i]);
		sb_add(&t, "],\"success\":[");
		for (i = 0; i < nc; i++)
			sb_put_reserved(&t, cp[i]->addr, cp[i]->port,
					have[i] > bytes[i] ? have[i] - bytes[i] : 0);
		sb_add(&t, ",{\"request_delete_range\":{\"key\":\"");
		sb_b64(&t, pkey);
		sb_add(&t, "\"}}]}");
		ret = txn(&c, &t);
		if (ret < 0)
			goto out;
		if (ret) {
			ret = 0;
			goto out;
		}
		backoff(attempt, &seed);
	}
	emp_say(err, errlen, "other hosts kept changing the reservations: %d tries, none committed; "
	    "try again", TRIES);
	ret = -EAGAIN;
out:
	free(r);
	free(tbuf);
	ctx_close(&c);
	return ret;
}

int emp_cluster_placements(const struct emp_cluster *cl, const char *host,
			   struct emp_cluster_placement *p, unsigned int room, char *err,
			   size_t errlen)
{
	char prefix[200], msg[256];
	unsigned int i, np = 0;
	struct ctx c;
	int n, ret;

	ret = ctx_open(&c, cl, err, errlen);
	if (ret)
		return ret;
	if (host && !etcd_label_ok(host)) {
		emp_say(err, errlen, "bad host name '%.64s'", host);
		ctx_close(&c);
		return -EINVAL;
	}
	snprintf(prefix, sizeof(prefix), "%s%s%s", EMP_CLUSTER_PLACEMENTS, host ? host : "",
		 host ? "/" : "");
	n = range(&c, prefix, 1, RESERVED_MAX);
	/* Replicas are in the records but not in struct emp_cluster_placement. */
	for (i = 0; n > 0 && i < (unsigned int)n && np < room; i++) {
		if (parse_placement(c.kv[i].value, c.kv[i].value_len, &p[np], msg, sizeof(msg))) {
			warn(&c, "placement record %.200s skipped: %s", c.kv[i].key, msg);
			continue;
		}
		np++;
	}
	ctx_close(&c);
	return n < 0 ? n : (int)np;
}

/*
 * emp_cluster_replace(): one transaction, retried like a placement when
 * another host changed something meanwhile. Compared: the placement record
 * and the two reserved keys it touches (the new donor's, the lost one's) at
 * the mod_revision read, and the new donor's own key (alive). Put: the new
 * donor's reservation up by the piece, the lost donor's down (not below 0;
 * left alone when it has no key), and the record with the new donor in the
 * lost one's place (a lost primary: the surviving replica becomes the
 * primary, the new donor the replica). The surviving copy's reservation is
 * not touched. A new donor announced by host name is resolved before the
 * transaction, so a name that does not resolve commits nothing.
 */
int emp_cluster_replace(const char *name, const struct emp_cluster *cl, const char *lost_addr,
			uint16_t lost_port, struct emp_tier *out, char *err, size_t errlen)
{
	unsigned char used[EMP_CLUSTER_DONORS_MAX], bin[16];
	const struct copy *cp[2 * EMP_MAX_TIERS];
	uint64_t seed = seed_now(), have = 0, bytes[2 * EMP_MAX_TIERS], piece_bytes = 0;
	struct emp_cluster_donor *d = NULL;
	char pkey[400], lid[300], msg[256], addr[EMP_PATH_MAX], b[3][32];
	struct copy *lost = NULL, gone;
	struct record *r = NULL;
	unsigned int attempt, i, j, nc, pi = 0;
	char *pval = NULL, *tbuf = NULL;
	int64_t prev, lrev = 0;
	int n, k = -1, ret, lexists = 0;
	struct ctx c;

	if (!lost_addr || !*lost_addr || !lost_port) {
		emp_say(err, errlen, "no lost donor given (address and port)");
		return -EINVAL;
	}
	ret = ctx_open(&c, cl, err, errlen);
	if (ret)
		return ret;
	ret = placement_key(&c, c.host, name, pkey, sizeof(pkey));
	if (ret)
		goto out;
	donor_id(lost_addr, lost_port, lid, sizeof(lid));
	d = calloc(EMP_CLUSTER_DONORS_MAX, sizeof(*d));
	r = malloc(sizeof(*r));
	pval = malloc(4096);
	tbuf = malloc(TXN_MAX);
	if (!d || !r || !pval || !tbuf) {
		emp_say(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < TRIES; attempt++) {
		struct sb p = { pval, 4096, 0, 0 }, t = { tbuf, TXN_MAX, 0, 0 };
		const struct copy *survivor;
		const char *sdomain;

		n = range(&c, pkey, 0, 1);
		if (n <= 0) {
			ret = n ? n : -ENOENT;
			if (!n)
				emp_say(err, errlen, "no placement of %s of host %s in the registry", name,
				    c.host);
			goto out;
		}
		prev = c.kv[0].mod_revision;
		if (parse_record(c.kv[0].value, c.kv[0].value_len, r, msg, sizeof(msg))) {
			emp_say(err, errlen, "placement record %s is malformed (%s)", pkey, msg);
			ret = -EBADMSG;
			goto out;
		}
		lost = NULL;
		for (pi = 0; pi < r->nr && !lost; pi++) {
			if (copy_is(&r->piece[pi].prim, lost_addr, lost_port))
				lost = &r->piece[pi].prim;
			else if (r->piece[pi].replicated &&
				 copy_is(&r->piece[pi].rep, lost_addr, lost_port))
				lost = &r->piece[pi].rep;
		}
		if (!lost) {
			emp_say(err, errlen, "instance %s of host %s has no piece on donor %s", name,
			    c.host, lid);
			ret = -ENOENT;
			goto out;
		}
		pi--;
		if (!r->piece[pi].replicated) {
			emp_say(err, errlen, "piece %u of instance %s of host %s, on donor %s, has no "
			    "replica (placed with replicas=1): there is no copy to replace", pi + 1,
			    name, c.host, lid);
			ret = -ENOENT;
			goto out;
		}
		piece_bytes = r->piece[pi].bytes;
		survivor = lost == &r->piece[pi].prim ? &r->piece[pi].rep : &r->piece[pi].prim;
		sdomain = survivor->domain[0] ? survivor->domain : NULL;
		/* What the lost donor has reserved: its key, whether its donor is alive or not. */
		ret = read_reserved(&c, lost, &have, &lrev);
		if (ret < 0)
			goto out;
		lexists = ret;
		n = emp_cluster_donors(cl, d, EMP_CLUSTER_DONORS_MAX, err, errlen);
		if (n < 0) {
			ret = n;
			goto out;
		}
		/* Not a donor of the placement (the lost one included). */
		nc = copies_of(r, cp, bytes);
		for (i = 0; i < (unsigned int)n && i < EMP_CLUSTER_DONORS_MAX; i++) {
			used[i] = 0;
			for (j = 0; j < nc; j++)
				used[i] |= same_donor(d[i].addr, d[i].port, cp[j]->addr, cp[j]->port);
		}
		k = pick_free(d, (unsigned int)n, r->transport, used, piece_bytes, NULL, sdomain, 0,
			      &seed);
		if (k < 0) {
			emp_say(err, errlen, "no donor can take the new copy of piece %u of %s (%s): "
			    "every %s donor outside the placement has less free and unreserved",
			    pi + 1, name, emp_format_size(piece_bytes, b[0], sizeof(b[0])),
			    emp_tier_kind_name(r->transport));
			ret = -ENOSPC;
			goto out;
		}
		snprintf(addr, sizeof(addr), "%s", d[k].addr);
		if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1) {
			ret = emp_resolve_host(d[k].addr, addr, sizeof(addr), err, errlen);
			if (ret)
				goto out;
		}
		/* The record with the new donor in the lost one's place. */
		gone = *lost;
		if (lost == &r->piece[pi].prim)
			r->piece[pi].prim = r->piece[pi].rep;
		set_copy(&r->piece[pi].rep, &d[k]);
		sb_record(&p, r);
		if (p.over) {
			emp_say(err, errlen, "the placement record is too long");
			ret = -E2BIG;
			goto out;
		}
		sb_add(&t, "{\"compare\":[");
		sb_cmp_mod(&t, pkey, prev);
		sb_cmp_donor(&t, &d[k]);
		sb_cmp_reserved(&t, gone.addr, gone.port, lrev);
		sb_add(&t, "],\"success\":[");
		sb_put_reserved(&t, d[k].addr, d[k].port, d[k].reserved + piece_bytes);
		if (lexists)
			sb_put_reserved(&t, gone.addr, gone.port,
					have > piece_bytes ? have - piece_bytes : 0);
		sb_put(&t, pkey, pval);
		sb_add(&t, "]}");
		ret = txn(&c, &t);
		if (ret < 0)
			goto out;
		if (ret)
			break;
		backoff(attempt, &seed);
	}
	if (attempt == TRIES) {
		emp_say(err, errlen, "other hosts kept changing the reservations: %d tries, none "
		    "committed; try again", TRIES);
		ret = -EAGAIN;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->kind = r->transport;
	out->flags = EMP_TIER_F_REPLICA;
	out->size = piece_bytes;
	out->port = d[k].port;
	snprintf(out->path, sizeof(out->path), "%s", addr);
	ret = 0;
out:
	free(d);
	free(r);
	free(pval);
	free(tbuf);
	ctx_close(&c);
	return ret;
}
