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
 *                                       "domain":..}]}
 * A placement is one transaction: every chosen donor's reserved key must
 * still have the mod_revision it was read at (else another host reserved
 * meanwhile: read again and choose again), the donor's own key must still
 * exist, and the placement key must not; then the reserved keys go up and
 * the placement is recorded. Release is the same in reverse. So however
 * many hosts place at once, the reservations on a donor never exceed what
 * was free and unreserved when each was made.
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
#include "libemp.h"

#define TRIES		10	/* transactions lost to other hosts before giving up */
#define RESERVED_MAX	1024	/* reserved keys read at most */
#define CALL_MS		5000	/* one call to etcd */
#define TXN_MAX		32768	/* a transaction's body */

static void say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

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

int emp_cluster_choose(const struct emp_cluster_donor *d, unsigned int n, uint64_t size,
		       unsigned int spread, uint32_t transport, unsigned int max_pieces,
		       uint64_t seed, struct emp_cluster_piece *out)
{
	unsigned int nr = 0, i, j, want;
	uint64_t total = 0, left, share, need;
	int k;

	if (!size || !max_pieces)
		return -EINVAL;
	seed = seed ? seed : 0x9e3779b97f4a7c15ULL;
	want = spread < max_pieces ? spread : max_pieces;
	if (!want)
		want = 1;
	/* Never more pieces than grains: every piece but the last is whole ones. */
	if ((uint64_t)want > (size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN)
		want = (unsigned int)((size + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN);
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
	/*
	 * Evenly, the smallest rooms first so what they cannot take goes on
	 * to the larger ones (each share at most the average of what is left,
	 * so what is left always fits the rooms after).
	 */
	for (i = 1; i < nr; i++)
		for (j = i; j > 0 && room_of(&d[out[j].donor]) < room_of(&d[out[j - 1].donor]); j--) {
			struct emp_cluster_piece t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	left = size;
	for (i = 0; i < nr; i++) {
		uint64_t room = room_of(&d[out[i].donor]);

		if (i + 1 == nr) {
			share = left;
		} else {
			share = (left / (nr - i) + EMP_CLUSTER_GRAIN - 1) / EMP_CLUSTER_GRAIN *
				EMP_CLUSTER_GRAIN;
			share = share < room ? share : room;
			share = share < left ? share : left;
		}
		out[i].bytes = share;
		left -= share;
	}
	/* Drop empty pieces (a small size over many donors). */
	for (i = j = 0; i < nr; i++)
		if (out[i].bytes)
			out[j++] = out[i];
	return (int)j;
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
		say(err, errlen, "host name '%.64s' cannot name this host in the registry "
		    "(1..63 of A-Z a-z 0-9 . _ -; set EMP_CLUSTER_HOST)", host);
		return -EINVAL;
	}
	snprintf(c->host, sizeof(c->host), "%s", host);
	if (!cl->etcd || !*cl->etcd) {
		say(err, errlen, "no etcd URL for the cluster registry (--etcd, or EMP_ETCD)");
		return -EINVAL;
	}
	if (etcd_http_open(&c->h, cl->etcd, msg, sizeof(msg))) {
		say(err, errlen, "etcd %.200s: %s", cl->etcd, msg);
		return -EINVAL;
	}
	c->kv = calloc(RESERVED_MAX, sizeof(*c->kv));
	c->vbuf = malloc(ETCD_BODY_MAX + 1);
	if (!c->kv || !c->vbuf) {
		ctx_close(c);
		say(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* POST and check the answer is well-formed. Return: 0 or -errno with c->err. */
static int call(struct ctx *c, const char *path, const char *body, long *http)
{
	char msg[256];

	if (etcd_http_post(&c->h, path, body, CALL_MS, http, msg, sizeof(msg))) {
		say(c->err, c->errlen, "cannot reach etcd at %s: %s", c->h.url, msg);
		return -EHOSTUNREACH;
	}
	return 0;
}

/* Keys of a range (one key, or a @prefix) into c->kv. Return: how many or -errno. */
static int range(struct ctx *c, const char *key, int prefix, long limit)
{
	char body[1024], msg[256];
	unsigned int n;
	int more, ret;
	long http;

	if (etcd_range_body(key, prefix, limit, body, sizeof(body)) < 0) {
		say(c->err, c->errlen, "key %.200s is too long", key);
		return -ENAMETOOLONG;
	}
	ret = call(c, "/v3/kv/range", body, &http);
	if (ret)
		return ret;
	if (etcd_parse_range(c->h.body, c->h.body_len, http, c->kv, RESERVED_MAX, c->vbuf,
			     ETCD_BODY_MAX + 1, &n, &more, msg, sizeof(msg)) != ETCD_OK) {
		say(c->err, c->errlen, "etcd at %s: reading %s: %s", c->h.url, key, msg);
		return -EBADMSG;
	}
	if (more)
		warn(c, "more than %ld keys under %s: only the first %ld are used", limit, key,
		     limit);
	return (int)n;
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
		say(c->err, c->errlen, "the transaction is larger than %d bytes", TXN_MAX);
		return -E2BIG;
	}
	ret = call(c, "/v3/kv/txn", b->buf, &http);
	if (ret)
		return ret;
	if (etcd_parse_txn(c->h.body, c->h.body_len, http, &ok, msg, sizeof(msg)) != ETCD_OK) {
		say(c->err, c->errlen, "etcd at %s: transaction: %s", c->h.url, msg);
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
		say(c->err, c->errlen, "bad instance name '%.64s'", name);
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

int emp_spec_place(struct emp_spec *s, const char *name, const struct emp_cluster *cl,
		   char *err, size_t errlen)
{
	struct emp_cluster_donor *d = NULL;
	struct emp_cluster_piece pc[EMP_MAX_TIERS];
	char pkey[400], id[300], key[400], val[128], b[3][32];
	char *pval = NULL, *tbuf = NULL;
	unsigned int ci, i, max_pieces, attempt;
	uint64_t size, seed = seed_now();
	struct ctx c;
	int n = 0, k = 0, ret;

	for (ci = 0; ci < s->nr_tiers; ci++)
		if (s->tier[ci].kind == EMP_TIER_CLUSTER)
			break;
	if (ci == s->nr_tiers)
		return 0;
	size = s->tier[ci].size;
	max_pieces = EMP_MAX_TIERS - (s->nr_tiers - 1);
	ret = ctx_open(&c, cl, err, errlen);
	if (ret)
		return ret;
	ret = placement_key(&c, c.host, name, pkey, sizeof(pkey));
	if (ret)
		goto out;
	d = calloc(EMP_CLUSTER_DONORS_MAX, sizeof(*d));
	pval = malloc(4096);
	tbuf = malloc(TXN_MAX);
	if (!d || !pval || !tbuf) {
		say(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < TRIES; attempt++) {
		struct sb p = { pval, 4096, 0, 0 }, t = { tbuf, TXN_MAX, 0, 0 };
		uint64_t most = 0, all = 0;

		n = emp_cluster_donors(cl, d, EMP_CLUSTER_DONORS_MAX, err, errlen);
		if (n < 0) {
			ret = n;
			goto out;
		}
		k = emp_cluster_choose(d, (unsigned int)n, size, s->cluster.spread,
				       s->cluster.transport, max_pieces, seed, pc);
		if (k < 0) {
			unsigned int m = 0;

			for (i = 0; i < (unsigned int)n; i++) {
				if (!has_transport(&d[i], s->cluster.transport))
					continue;
				m++;
				all += room_of(&d[i]);
				most = room_of(&d[i]) > most ? room_of(&d[i]) : most;
			}
			say(err, errlen, "not enough free capacity in the cluster for %s on %s "
			    "donors: %u of them, %s free and unreserved in all, at most %s on one "
			    "(a placement uses at most %u)", emp_format_size(size, b[0], 32),
			    emp_tier_kind_name(s->cluster.transport), m,
			    emp_format_size(all, b[1], 32), emp_format_size(most, b[2], 32),
			    max_pieces);
			ret = -ENOSPC;
			goto out;
		}
		sb_add(&p, "{\"version\":1,\"host\":\"%s\",\"instance\":\"%s\",\"size\":%llu,"
		       "\"transport\":\"%s\",\"pieces\":[", c.host, name, (unsigned long long)size,
		       emp_tier_kind_name(s->cluster.transport));
		for (i = 0; i < (unsigned int)k; i++)
			sb_add(&p, "%s{\"addr\":\"%s\",\"port\":%u,\"bytes\":%llu,\"domain\":\"%s\"}",
			       i ? "," : "", d[pc[i].donor].addr, d[pc[i].donor].port,
			       (unsigned long long)pc[i].bytes, d[pc[i].donor].domain);
		sb_add(&p, "]}");
		/* Compare: reservations as read, donors alive, no placement yet. */
		sb_add(&t, "{\"compare\":[");
		for (i = 0; i < (unsigned int)k; i++) {
			const struct emp_cluster_donor *x = &d[pc[i].donor];

			donor_id(x->addr, x->port, id, sizeof(id));
			snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
			sb_cmp_mod(&t, key, x->reserved_rev);
			snprintf(key, sizeof(key), "%s%s/%s", EMP_CLUSTER_DONORS, x->domain, id);
			sb_add(&t, ",{\"key\":\"");
			sb_b64(&t, key);
			sb_add(&t, "\",\"target\":\"VERSION\",\"result\":\"GREATER\",\"version\":\"0\"}");
		}
		sb_add(&t, ",{\"key\":\"");
		sb_b64(&t, pkey);
		sb_add(&t, "\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}"
		       "],\"success\":[");
		for (i = 0; i < (unsigned int)k; i++) {
			const struct emp_cluster_donor *x = &d[pc[i].donor];

			donor_id(x->addr, x->port, id, sizeof(id));
			snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
			snprintf(val, sizeof(val), "{\"version\":1,\"bytes\":%llu}",
				 (unsigned long long)(x->reserved + pc[i].bytes));
			sb_put(&t, key, val);
		}
		sb_put(&t, pkey, p.over ? "" : pval);
		sb_add(&t, "]}");
		if (p.over) {
			say(err, errlen, "the placement record is too long");
			ret = -E2BIG;
			goto out;
		}
		ret = txn(&c, &t);
		if (ret < 0)
			goto out;
		if (ret)
			break;
		ret = key_exists(&c, pkey);
		if (ret < 0)
			goto out;
		if (ret) {
			say(err, errlen, "instance %s of host %s is placed already (%s): release it "
			    "first (empctl cluster release)", name, c.host, pkey);
			ret = -EEXIST;
			goto out;
		}
		backoff(attempt, &seed);
	}
	if (attempt == TRIES) {
		say(err, errlen, "other hosts kept changing the reservations: %d tries, none "
		    "committed; try again", TRIES);
		ret = -EAGAIN;
		goto out;
	}
	/* The cluster: tier becomes the pieces, in its place. */
	memmove(&s->tier[ci + k], &s->tier[ci + 1], (s->nr_tiers - ci - 1) * sizeof(s->tier[0]));
	memmove(&s->host[ci + k], &s->host[ci + 1], (s->nr_tiers - ci - 1) * sizeof(s->host[0]));
	for (i = 0; i < (unsigned int)k; i++) {
		struct emp_tier *t = &s->tier[ci + i];
		const struct emp_cluster_donor *x = &d[pc[i].donor];
		unsigned char bin[16];

		memset(t, 0, sizeof(*t));
		t->kind = s->cluster.transport;
		t->size = pc[i].bytes;
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
	free(pval);
	free(tbuf);
	ctx_close(&c);
	return ret;
}

/* A placement record, checked. Return: 0 or -1 with @msg. */
static int parse_placement(const char *json, size_t len, struct emp_cluster_placement *p,
			   char *msg, size_t msglen)
{
	struct ej_doc *d = doc_new();
	char why[64];
	uint64_t v, sum = 0;
	int a, i, j, ret = -1;

	memset(p, 0, sizeof(*p));
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
	if (ej_text(d, ej_member(d, 0, "host"), p->host, sizeof(p->host)) < 0 ||
	    !etcd_label_ok(p->host) ||
	    ej_text(d, ej_member(d, 0, "instance"), p->name, sizeof(p->name)) < 0 ||
	    emp_check_name(p->name) || u64_member(d, 0, "size", ETCD_BYTES_MAX, &p->size)) {
		snprintf(msg, msglen, "bad \"host\", \"instance\" or \"size\"");
		goto out;
	}
	a = ej_member(d, 0, "pieces");
	if (a < 0 || d->tok[a].type != EJ_ARRAY) {
		snprintf(msg, msglen, "\"pieces\" is not one array");
		goto out;
	}
	for (i = a + 1; (uint32_t)i < d->tok[a].next; i = (int)d->tok[i].next) {
		unsigned int k = p->nr_pieces;

		if (k >= EMP_MAX_TIERS || d->tok[i].type != EJ_OBJECT ||
		    ej_text(d, ej_member(d, i, "addr"), p->piece[k].addr,
			    sizeof(p->piece[k].addr)) < 0 || !etcd_host_ok(p->piece[k].addr) ||
		    u64_member(d, i, "port", 65535, &v) || !v ||
		    u64_member(d, i, "bytes", ETCD_BYTES_MAX, &p->piece[k].bytes)) {
			snprintf(msg, msglen, "piece %u is malformed (or more than %d)", k + 1,
				 EMP_MAX_TIERS);
			goto out;
		}
		p->piece[k].port = (uint16_t)v;
		for (j = 0; j < (int)k; j++)
			if (p->piece[j].port == v && !strcmp(p->piece[j].addr, p->piece[k].addr)) {
				snprintf(msg, msglen, "two pieces on one donor");
				goto out;
			}
		sum += p->piece[k].bytes;
		p->nr_pieces++;
	}
	if (!p->nr_pieces || sum != p->size) {
		snprintf(msg, msglen, "the pieces do not add up to the size");
		goto out;
	}
	ret = 0;
out:
	free(d);
	return ret;
}

int emp_cluster_release(const char *name, const struct emp_cluster *cl, char *err,
			size_t errlen)
{
	struct emp_cluster_placement p;
	char pkey[400], id[300], key[400], val[128], msg[256];
	uint64_t seed = seed_now(), have[EMP_MAX_TIERS];
	int64_t prev, rev[EMP_MAX_TIERS];
	unsigned int attempt, i;
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
	if (!tbuf) {
		ret = -ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < TRIES; attempt++) {
		struct sb t = { tbuf, TXN_MAX, 0, 0 };

		n = range(&c, pkey, 0, 1);
		if (n <= 0) {
			ret = n ? n : -ENOENT;
			if (!n)
				say(err, errlen, "no placement of %s of host %s in the registry", name,
				    c.host);
			goto out;
		}
		prev = c.kv[0].mod_revision;
		if (parse_placement(c.kv[0].value, c.kv[0].value_len, &p, msg, sizeof(msg))) {
			say(err, errlen, "placement record %s is malformed (%s): delete it with "
			    "etcdctl del %s and check the donors' reservations", pkey, msg, pkey);
			ret = -EBADMSG;
			goto out;
		}
		for (i = 0; i < p.nr_pieces; i++) {
			donor_id(p.piece[i].addr, p.piece[i].port, id, sizeof(id));
			snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
			n = range(&c, key, 0, 1);
			if (n < 0) {
				ret = n;
				goto out;
			}
			have[i] = 0;
			rev[i] = n ? c.kv[0].mod_revision : 0;
			if (n && parse_reserved(c.kv[0].value, c.kv[0].value_len, &have[i]))
				warn(&c, "reservation record %s is malformed: set to 0", key);
		}
		/* Compare: the placement and every reservation as read. */
		sb_add(&t, "{\"compare\":[");
		sb_cmp_mod(&t, pkey, prev);
		for (i = 0; i < p.nr_pieces; i++) {
			donor_id(p.piece[i].addr, p.piece[i].port, id, sizeof(id));
			snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
			sb_cmp_mod(&t, key, rev[i]);
		}
		sb_add(&t, "],\"success\":[");
		for (i = 0; i < p.nr_pieces; i++) {
			donor_id(p.piece[i].addr, p.piece[i].port, id, sizeof(id));
			snprintf(key, sizeof(key), "%s%s", EMP_CLUSTER_RESERVED, id);
			snprintf(val, sizeof(val), "{\"version\":1,\"bytes\":%llu}",
				 (unsigned long long)(have[i] > p.piece[i].bytes ?
						      have[i] - p.piece[i].bytes : 0));
			sb_put(&t, key, val);
		}
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
	say(err, errlen, "other hosts kept changing the reservations: %d tries, none committed; "
	    "try again", TRIES);
	ret = -EAGAIN;
out:
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
		say(err, errlen, "bad host name '%.64s'", host);
		ctx_close(&c);
		return -EINVAL;
	}
	snprintf(prefix, sizeof(prefix), "%s%s%s", EMP_CLUSTER_PLACEMENTS, host ? host : "",
		 host ? "/" : "");
	n = range(&c, prefix, 1, RESERVED_MAX);
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
