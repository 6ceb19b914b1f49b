// SPDX-License-Identifier: LGPL-2.1
/*
 * libemp: the tier spec, "TIER|TIER|...", the one grammar every EMP tool
 * reads (empctl, the preload library, the QEMU wrapper). See emp-spec(7).
 *
 *   IP:SIZE:PORT               remote DRAM over RDMA (IPv6 as [ADDR], or a
 *                              host name)
 *   tcp:IP:SIZE:PORT           remote DRAM over TCP
 *   /dev/BLOCKDEV:SIZE:OFFSET  a block device from OFFSET
 *   node:N:SIZE                memory of NUMA node N of this host (CXL, a
 *                              far socket)
 *   cluster:SIZE[:OPTS]        remote DRAM on donors chosen from the cluster
 *                              registry (emp_cluster.c), at most once; OPTS
 *                              tcp (default), rdma, spread=N (1..8, default 3),
 *                              replicas=N (1, default, or 2)
 *   REMOTE+REMOTE              a remote tier (either of the first two forms)
 *                              and its replica, a second copy of the same
 *                              size on another donor: two entries of
 *                              emp_spec.tier, the second with flags
 *                              EMP_TIER_F_REPLICA, counted once in capacity
 *   dram:SIZE                  local DRAM budget, at most once; alone, a
 *                              DRAM-only instance of SIZE
 *
 * SIZE and OFFSET are MiB unless they carry a K/M/G/T suffix. The parser
 * never allocates, never looks a host name up (emp_resolve.c does, for the
 * tools) and never reads past the terminating NUL, so it can be fed
 * anything (it is fuzzed: fuzz/spec_fuzz.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libemp.h"

#define MIB		(1ULL << 20)
/* Longest size or port field we copy out for parsing. */
#define FIELD_MAX	64
/* How much of a token an error message quotes. */
#define QUOTE_MAX	48
#define UNKNOWN_TIER	"unknown tier (expected IP:SIZE:PORT, tcp:IP:SIZE:PORT, " \
			"/dev/BLOCKDEV:SIZE:OFFSET, node:N:SIZE, cluster:SIZE or dram:SIZE)"

/* Where the parser is: the whole spec and the current token. */
struct cursor {
	const char *spec;
	const char *tok;	/* start of the current token */
	size_t len;		/* its length */
	struct emp_spec *out;
	char *err;
	size_t errlen;
};

/* Append a quoted, possibly shortened copy of @p[0..@n) to @buf. */
static void quote(char *buf, size_t len, const char *p, size_t n)
{
	size_t used = strlen(buf);

	if (used >= len)
		return;
	if (n > QUOTE_MAX)
		snprintf(buf + used, len - used, "\"%.*s...\"", QUOTE_MAX - 3, p);
	else
		snprintf(buf + used, len - used, "\"%.*s\"", (int)n, p);
}

/*
 * Report an error about the field @p[0..@n) of the current token (or the
 * token itself when @p is the token): sets the column and writes
 * 'column C: "FIELD" in "TOKEN": WHAT'.
 */
static int fail(struct cursor *c, int err, const char *p, size_t n, const char *fmt, ...)
{
	va_list ap;
	size_t used;

	c->out->err_col = (unsigned int)(p - c->spec) + 1;
	if (!c->err || !c->errlen)
		return err;
	snprintf(c->err, c->errlen, "column %u: ", c->out->err_col);
	if (c->tok) {
		quote(c->err, c->errlen, p, n);
		if (p != c->tok || n != c->len) {
			used = strlen(c->err);
			snprintf(c->err + used, c->errlen - used, " in ");
			quote(c->err, c->errlen, c->tok, c->len);
		}
		used = strlen(c->err);
		snprintf(c->err + used, c->errlen - used, ": ");
	}
	used = strlen(c->err);
	if (used < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + used, c->errlen - used, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Copy the field @p[0..@n) into @buf (FIELD_MAX), or fail when too long. */
static int field_copy(char *buf, const char *p, size_t n)
{
	if (n >= FIELD_MAX)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* A SIZE field: MiB or suffixed, nonzero unless @zero_ok. */
static int parse_size_field(struct cursor *c, const char *p, size_t n, const char *what,
			    int zero_ok, uint64_t *out)
{
	char buf[FIELD_MAX];
	int err;

	if (!n)
		return fail(c, -EINVAL, p, n, "empty %s", what);
	if (field_copy(buf, p, n))
		return fail(c, -EINVAL, p, n, "%s is too long", what);
	err = emp_parse_size(buf, MIB, out);
	if (err == -ERANGE)
		return fail(c, -ERANGE, p, n, "%s is too large", what);
	if (err)
		return fail(c, -EINVAL, p, n,
			    "bad %s (a number of MiB, or with a K, M, G or T suffix)", what);
	if (!zero_ok && !*out)
		return fail(c, -EINVAL, p, n, "%s must not be zero", what);
	return 0;
}

/* A decimal field of @what in @min..65535 (a port, a node number). */
static int parse_u16(struct cursor *c, const char *p, size_t n, const char *what,
		     unsigned long min, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (!n)
		return fail(c, -EINVAL, p, n, "empty %s", what);
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(c, -EINVAL, p, n, "%s must be a decimal number %lu..65535",
				    what, min);
		v = v * 10 + (unsigned long)(p[i] - '0');
		if (v > 65535)
			break;
	}
	if (v < min || v > 65535)
		return fail(c, -ERANGE, p, n, "%s must be %lu..65535", what, min);
	*out = (uint16_t)v;
	return 0;
}

static int parse_port(struct cursor *c, const char *p, size_t n, uint16_t *port)
{
	return parse_u16(c, p, n, "port", 1, port);
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alnum(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/*
 * Whether @p[0..@n) reads as an attempt at a numeric address rather than a
 * host name: its last dot-separated label is all digits, or "0x" and hex
 * digits ("10.0.0.300", "1.2.3", "0x7f.1"; no top-level domain looks so,
 * and getaddrinfo would take such text as an old-style IPv4 form without
 * asking DNS), or it is hex digits followed by more colons than
 * IP:SIZE:PORT has (an IPv6 address without brackets).
 */
static int looks_numeric(const char *p, size_t n, const char *end)
{
	const char *last = p + n;
	size_t i, colons = 0;
	int hex = 1;

	while (last > p && last[-1] != '.')
		last--;
	for (i = 0; last + i < p + n && is_digit(last[i]); i++)
		;
	if (last + i == p + n && i)
		return 1;
	if (p + n - last >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
		for (i = 2; last + i < p + n && is_hex(last[i]); i++)
			;
		if (last + i == p + n)
			return 1;
	}
	for (i = 0; i < n; i++)
		hex &= is_hex(p[i]);
	for (i = n; p + i < end; i++)
		colons += p[i] == ':';
	return hex && colons > 2;
}

/*
 * Whether @p[0..@n) is a host name: labels of letters, digits and '-',
 * 1..63 characters, not starting or ending with '-', joined by single dots.
 */
static int is_host_name(const char *p, size_t n)
{
	size_t i, label = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (!label || p[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!is_alnum(p[i]) && (p[i] != '-' || !label))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label && p[n - 1] != '-';
}

/* Words that name tier kinds, in any case: never host names. */
static int is_kind_word(const char *p, size_t n)
{
	static const char *const words[] = { "tcp", "dram", "rdma", "node", "cluster" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (n == strlen(words[i]) && !strncasecmp(p, words[i], n))
			return 1;
	return 0;
}

/*
 * A donor: IPv4 dotted quad, an IPv6 address in brackets, or a host name
 * (kept as written; resolved by emp_spec_resolve()). @p points at it; on
 * success *@n is the length consumed (brackets included), the bare address
 * or name is in @t->path, and a name also in @host.
 */
static int parse_addr(struct cursor *c, const char *p, const char *end, size_t *n,
		      struct emp_tier *t, char *host)
{
	unsigned char bin[16];
	char buf[EMP_PATH_MAX];
	const char *q;
	size_t len;

	if (p < end && *p == '[') {
		q = memchr(p, ']', (size_t)(end - p));
		if (!q)
			return fail(c, -EINVAL, p, (size_t)(end - p), "missing ']' after IPv6 address");
		if (q + 1 < end && q[1] != ':')
			return fail(c, -EINVAL, p, (size_t)(q + 1 - p), "expected ':' after ']'");
		if (field_copy(buf, p + 1, (size_t)(q - p - 1)) || q == p + 1 ||
		    inet_pton(AF_INET6, buf, bin) != 1)
			return fail(c, -EINVAL, p, (size_t)(q + 1 - p), "not an IPv6 address");
		*n = (size_t)(q + 1 - p);
		snprintf(t->path, sizeof(t->path), "%s", buf);
		return 0;
	}
	q = memchr(p, ':', (size_t)(end - p));
	if (!q)
		q = end;
	len = (size_t)(q - p);
	if (!len)
		return fail(c, -EINVAL, p, 0, "empty address");
	if (is_kind_word(p, len))
		return fail(c, -EINVAL, c->tok, c->len, UNKNOWN_TIER);
	if (len >= sizeof(buf))
		return fail(c, -ENAMETOOLONG, p, len, "host name longer than %zu characters",
			    sizeof(buf) - 1);
	memcpy(buf, p, len);
	buf[len] = '\0';
	*n = len;
	if (inet_pton(AF_INET, buf, bin) == 1) {
		memcpy(t->path, buf, len + 1);
		return 0;
	}
	if (looks_numeric(p, len, end))
		return fail(c, -EINVAL, p, len, "not an IPv4 address (IPv6 goes in brackets: [ADDR])");
	if (!is_host_name(p, len))
		return fail(c, -EINVAL, p, len, "not an IPv4 address or a host name (letters, digits "
			    "and '-' in labels of 1..63 joined by '.')");
	/* Both fit: the length is below EMP_PATH_MAX. */
	memcpy(t->path, buf, len + 1);
	memcpy(host, buf, len + 1);
	return 0;
}

/*
 * ADDR:SIZE:PORT after an optional "tcp:" prefix; a host name goes to @host
 * too. *@size_at (if given) is set to the SIZE field.
 */
static int parse_remote(struct cursor *c, const char *p, const char *end, struct emp_tier *t,
			char *host, const char **size_at)
{
	const char *size, *colon;
	size_t n = 0;
	uint64_t v;
	int err;

	err = parse_addr(c, p, end, &n, t, host);
	if (err)
		return err;
	/*
	 * A bare word with fewer than three fields ("drm:8", "donor1:16G") is
	 * as likely a mistyped tier kind as a donor without its port: list the
	 * forms rather than guess.
	 */
	if (host[0] && t->kind == EMP_TIER_RDMA &&
	    (p + n >= end || !memchr(p + n + 1, ':', (size_t)(end - p - n - 1))))
		return fail(c, -EINVAL, c->tok, c->len, UNKNOWN_TIER);
	if (p + n >= end)
		return fail(c, -EINVAL, c->tok, c->len, "missing SIZE and PORT (expected %sIP:SIZE:PORT)",
			    t->kind == EMP_TIER_TCP ? "tcp:" : "");
	size = p + n + 1;
	colon = memchr(size, ':', (size_t)(end - size));
	if (!colon)
		return fail(c, -EINVAL, c->tok, c->len, "missing PORT (expected %sIP:SIZE:PORT)",
			    t->kind == EMP_TIER_TCP ? "tcp:" : "");
	err = parse_size_field(c, size, (size_t)(colon - size), "size", 0, &v);
	if (err)
		return err;
	t->size = v;
	if (size_at)
		*size_at = size;
	if (memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return fail(c, -EINVAL, colon + 1, (size_t)(end - colon - 1),
			    "too many fields (expected %sIP:SIZE:PORT)",
			    t->kind == EMP_TIER_TCP ? "tcp:" : "");
	return parse_port(c, colon + 1, (size_t)(end - colon - 1), &t->port);
}

/*
 * The last two ':'-separated fields of [@p, @end): *@size and *@off point
 * just after the last two colons; *@size is NULL when there are fewer.
 */
static void last_two_fields(const char *p, const char *end, const char **size,
			    const char **off)
{
	const char *q;

	*size = *off = NULL;
	for (q = end; q > p; q--) {
		if (q[-1] != ':')
			continue;
		if (!*off) {
			*off = q;
		} else {
			*size = q;
			break;
		}
	}
}

/*
 * /dev/BLOCKDEV:SIZE:OFFSET. The two numbers are taken from the right, so
 * device paths with colons (/dev/disk/by-path/pci-0000:00:04.0-nvme-1) work.
 */
static int parse_bdev(struct cursor *c, const char *p, const char *end, struct emp_tier *t)
{
	const char *off, *size;
	size_t plen;
	uint64_t v;
	int err;

	last_two_fields(p, end, &size, &off);
	if (!size)
		return fail(c, -EINVAL, c->tok, c->len,
			    "missing SIZE or OFFSET (expected /dev/BLOCKDEV:SIZE:OFFSET)");
	plen = (size_t)(size - 1 - p);
	if (plen < 6 || strncmp(p, "/dev/", 5))
		return fail(c, -EINVAL, p, plen, "a block device path starts with /dev/ and names a device");
	if (plen >= sizeof(t->path))
		return fail(c, -ENAMETOOLONG, p, plen, "path longer than %zu characters",
			    sizeof(t->path) - 1);
	err = parse_size_field(c, size, (size_t)(off - 1 - size), "size", 0, &v);
	if (err)
		return err;
	t->size = v;
	err = parse_size_field(c, off, (size_t)(end - off), "offset", 1, &v);
	if (err)
		return err;
	t->offset = v;
	if (t->offset & 4095)
		return fail(c, -EINVAL, off, (size_t)(end - off), "offset must be a multiple of 4 KiB");
	if (t->offset + t->size < t->offset)
		return fail(c, -ERANGE, c->tok, c->len, "offset plus size is too large");
	memcpy(t->path, p, plen);
	t->path[plen] = '\0';
	return 0;
}

/* node:N:SIZE, @p after "node:". */
static int parse_node(struct cursor *c, const char *p, const char *end, struct emp_tier *t)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	uint64_t v;
	int err;

	if (!colon)
		return fail(c, -EINVAL, c->tok, c->len, "missing SIZE (expected node:N:SIZE)");
	err = parse_u16(c, p, (size_t)(colon - p), "node number", 0, &t->node);
	if (err)
		return err;
	if (memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return fail(c, -EINVAL, colon + 1, (size_t)(end - colon - 1),
			    "too many fields (expected node:N:SIZE)");
	err = parse_size_field(c, colon + 1, (size_t)(end - colon - 1), "size", 0, &v);
	if (err)
		return err;
	t->size = v;
	return 0;
}

/* cluster:SIZE[:OPTS], @p after "cluster:". */
static int parse_cluster(struct cursor *c, const char *p, const char *end, struct emp_tier *t)
{
	struct emp_spec *s = c->out;
	const char *colon = memchr(p, ':', (size_t)(end - p)), *o, *comma;
	uint16_t spread;
	uint64_t v;
	int err;

	err = parse_size_field(c, p, (size_t)((colon ? colon : end) - p), "size", 0, &v);
	if (err)
		return err;
	t->size = v;
	s->cluster.transport = EMP_TIER_TCP;
	s->cluster.spread = EMP_CLUSTER_SPREAD_DEFAULT;
	s->cluster.replicas = 1;
	if (!colon)
		return 0;
	for (o = colon + 1; ; o = comma + 1) {
		size_t n;

		comma = memchr(o, ',', (size_t)(end - o));
		if (!comma)
			comma = end;
		n = (size_t)(comma - o);
		if (n == 3 && !strncmp(o, "tcp", 3)) {
			s->cluster.transport = EMP_TIER_TCP;
		} else if (n == 4 && !strncmp(o, "rdma", 4)) {
			s->cluster.transport = EMP_TIER_RDMA;
		} else if (n > 7 && !strncmp(o, "spread=", 7)) {
			err = parse_u16(c, o + 7, n - 7, "spread", 1, &spread);
			if (err)
				return err;
			if (spread > EMP_CLUSTER_SPREAD_MAX)
				return fail(c, -ERANGE, o + 7, n - 7, "spread must be 1..%d",
					    EMP_CLUSTER_SPREAD_MAX);
			s->cluster.spread = spread;
		} else if (n > 9 && !strncmp(o, "replicas=", 9)) {
			unsigned int r = 0;
			size_t i;

			for (i = 9; i < n && is_digit(o[i]); i++)
				r = r > 2 ? r : r * 10 + (unsigned int)(o[i] - '0');
			if (i < n)
				return fail(c, -EINVAL, o + 9, n - 9, "replicas must be a decimal "
					    "number, 1 or 2");
			if (r < 1 || r > 2)
				return fail(c, -ERANGE, o + 9, n - 9, "replicas must be 1 or 2");
			s->cluster.replicas = r;
		} else {
			return fail(c, -EINVAL, o, n, "unknown cluster option (expected tcp, rdma, "
				    "spread=N or replicas=N)");
		}
		if (comma == end)
			return 0;
	}
}

/*
 * Whether @a and @b name the same donor: the same port and address text (a
 * name in any case), or the same IPv6 address written two ways.
 */
static int same_donor(const struct emp_tier *a, const struct emp_tier *b)
{
	unsigned char x[16], y[16];

	if (a->port != b->port)
		return 0;
	if (!strcasecmp(a->path, b->path))
		return 1;
	return inet_pton(AF_INET6, a->path, x) == 1 && inet_pton(AF_INET6, b->path, y) == 1 &&
	       !memcmp(x, y, sizeof(x));
}

static int starts(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && !strncmp(p, word, n);
}

/*
 * PRIMARY+REPLICA: the token [tok, tok+len) with its first '+' at @plus.
 * Both halves are remote tiers (RDMA or TCP, either) of the same size on
 * two donors; they take two entries of the spec, the second flagged
 * EMP_TIER_F_REPLICA, and the pair counts once in the capacity.
 */
static int parse_pair(struct cursor *c, const char *plus)
{
	struct emp_spec *s = c->out;
	const char *tok = c->tok, *end = c->tok + c->len, *size_at = NULL, *more;
	size_t len = c->len;
	unsigned int i, at = s->nr_tiers;
	char b[32];
	int err;

	if (at + 2 > EMP_MAX_TIERS)
		return fail(c, -E2BIG, tok, len, "more than %d tiers (a tier with a replica "
			    "takes two)", EMP_MAX_TIERS);
	more = memchr(plus + 1, '+', (size_t)(end - plus - 1));
	if (more)
		return fail(c, -EINVAL, more, 1, "a second '+' (a tier has one replica at most)");
	if (plus == tok)
		return fail(c, -EINVAL, plus, 1, "no tier before '+' (expected PRIMARY+REPLICA)");
	if (plus + 1 == end)
		return fail(c, -EINVAL, plus, 1, "no replica after '+' (expected PRIMARY+REPLICA)");
	for (i = 0; i < 2; i++) {
		const char *p = i ? plus + 1 : tok, *e = i ? end : plus;
		struct emp_tier *t = &s->tier[at + i];
		char *host = s->host[at + i];

		/* Messages about a half quote that half: it is one tier. */
		c->tok = p;
		c->len = (size_t)(e - p);
		memset(t, 0, sizeof(*t));
		host[0] = '\0';
		if (starts(p, e, "tcp:")) {
			t->kind = EMP_TIER_TCP;
			err = parse_remote(c, p + 4, e, t, host, i ? &size_at : NULL);
		} else if (starts(p, e, "cluster:")) {
			err = fail(c, -EINVAL, p, c->len, "a cluster: tier is replicated with its "
				   "option replicas=2, not with '+'");
		} else if (*p == '/' || starts(p, e, "dram:") || starts(p, e, "node:")) {
			err = fail(c, -EINVAL, p, c->len, "only a remote tier (IP:SIZE:PORT or "
				   "tcp:IP:SIZE:PORT) can have a replica ('+')");
		} else if (*p == '[' || is_alnum(*p)) {
			t->kind = EMP_TIER_RDMA;
			err = parse_remote(c, p, e, t, host, i ? &size_at : NULL);
		} else {
			err = fail(c, -EINVAL, p, c->len, UNKNOWN_TIER);
		}
		if (err)
			return err;
	}
	c->tok = tok;
	c->len = len;
	if (s->tier[at].size != s->tier[at + 1].size) {
		/* parse_remote() found a ':' after the SIZE it parsed. */
		const char *size_end = memchr(size_at, ':', (size_t)(end - size_at));

		return fail(c, -EINVAL, size_at, (size_t)(size_end - size_at),
			    "a replica is as large as its primary (%s)",
			    emp_format_size(s->tier[at].size, b, sizeof(b)));
	}
	if (same_donor(&s->tier[at], &s->tier[at + 1]))
		return fail(c, -EINVAL, plus + 1, (size_t)(end - plus - 1),
			    "the replica is on its primary's donor (a second copy goes to another)");
	if (s->capacity + s->tier[at].size < s->capacity)
		return fail(c, -ERANGE, tok, len, "the tiers add up to more than 16 EiB");
	s->tier[at + 1].flags = EMP_TIER_F_REPLICA;
	s->capacity += s->tier[at].size;
	s->nr_tiers += 2;
	return 0;
}

/*
 * A '+' in a block device token that reads as "/dev/X:SIZE:OFFSET+...": a
 * replica asked of a block device. Other '+' are part of the path (udev's
 * /dev/disk/by-id names may hold one). Return: the '+' or NULL.
 */
static const char *bdev_plus(const char *p, const char *end)
{
	const char *plus = memchr(p, '+', (size_t)(end - p)), *off, *size;
	char buf[FIELD_MAX];
	uint64_t v;

	if (!plus)
		return NULL;
	last_two_fields(p, plus, &size, &off);
	if (!size || field_copy(buf, off, (size_t)(plus - off)) || emp_parse_size(buf, MIB, &v) ||
	    field_copy(buf, size, (size_t)(off - 1 - size)) || emp_parse_size(buf, MIB, &v))
		return NULL;
	return plus;
}

/* One token [tok, tok+len), neither empty nor containing '|'. */
static int parse_token(struct cursor *c, int *dram_seen)
{
	struct emp_spec *s = c->out;
	const char *p = c->tok, *end = c->tok + c->len, *plus;
	struct emp_tier *t;
	char *host;
	int err;

	if (*p == '/') {
		plus = bdev_plus(p, end);
		if (plus)
			return fail(c, -EINVAL, plus, 1, "a block device has no replica ('+' is for "
				    "remote tiers)");
	} else {
		plus = memchr(p, '+', c->len);
		if (plus)
			return parse_pair(c, plus);
	}
	if (c->len >= 5 && !strncmp(p, "dram:", 5)) {
		if (*dram_seen)
			return fail(c, -EINVAL, p, c->len, "a second dram: tier (at most one)");
		*dram_seen = 1;
		return parse_size_field(c, p + 5, c->len - 5, "DRAM size", 0, &s->dram);
	}
	if (s->nr_tiers >= EMP_MAX_TIERS)
		return fail(c, -E2BIG, p, c->len, "more than %d tiers", EMP_MAX_TIERS);
	t = &s->tier[s->nr_tiers];
	host = s->host[s->nr_tiers];
	memset(t, 0, sizeof(*t));
	host[0] = '\0';
	if (c->len >= 4 && !strncmp(p, "tcp:", 4)) {
		t->kind = EMP_TIER_TCP;
		err = parse_remote(c, p + 4, end, t, host, NULL);
	} else if (c->len >= 5 && !strncmp(p, "node:", 5)) {
		t->kind = EMP_TIER_NODE;
		err = parse_node(c, p + 5, end, t);
	} else if (c->len >= 8 && !strncmp(p, "cluster:", 8)) {
		unsigned int i;

		for (i = 0; i < s->nr_tiers; i++)
			if (s->tier[i].kind == EMP_TIER_CLUSTER)
				return fail(c, -EINVAL, p, c->len,
					    "a second cluster: tier (at most one)");
		t->kind = EMP_TIER_CLUSTER;
		err = parse_cluster(c, p + 8, end, t);
	} else if (*p == '/') {
		t->kind = EMP_TIER_BDEV;
		err = parse_bdev(c, p, end, t);
	} else if (*p == '[' || is_alnum(*p)) {
		t->kind = EMP_TIER_RDMA;
		err = parse_remote(c, p, end, t, host, NULL);
	} else {
		err = fail(c, -EINVAL, p, c->len, UNKNOWN_TIER);
	}
	if (err) {
		memset(t, 0, sizeof(*t));
		host[0] = '\0';
		return err;
	}
	if (s->capacity + t->size < s->capacity)
		return fail(c, -ERANGE, p, c->len, "the tiers add up to more than 16 EiB");
	s->capacity += t->size;
	s->nr_tiers++;
	return 0;
}

int emp_spec_parse(const char *spec, struct emp_spec *out, char *err, size_t errlen)
{
	struct cursor c = { .spec = spec, .out = out, .err = err, .errlen = errlen };
	const char *p = spec, *bar;
	int ret, dram_seen = 0;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!spec)
		return -EINVAL;
	if (!*spec) {
		c.spec = spec;
		return fail(&c, -EINVAL, spec, 0, "empty spec");
	}
	for (;;) {
		bar = strchr(p, '|');
		c.tok = p;
		c.len = bar ? (size_t)(bar - p) : strlen(p);
		if (!c.len) {
			c.tok = NULL;
			if (!bar)	/* the spec ends in '|' */
				ret = fail(&c, -EINVAL, p - 1, 1, "trailing '|' (nothing after it)");
			else if (p == spec)
				ret = fail(&c, -EINVAL, p, 1, "empty tier before '|'");
			else
				ret = fail(&c, -EINVAL, p, 1, "empty tier between two '|'");
			goto out_clear;
		}
		ret = parse_token(&c, &dram_seen);
		if (ret)
			goto out_clear;
		if (!bar)
			break;
		p = bar + 1;
	}
	/* dram: alone: a DRAM-only instance, as large as its DRAM. */
	if (!out->nr_tiers)
		out->capacity = out->dram;
	return 0;

out_clear:
	{
		unsigned int col = out->err_col;

		memset(out, 0, sizeof(*out));
		out->err_col = col;
	}
	return ret;
}

/* Shortest text of @bytes in the spec's units: bare MiB, else a suffix. */
static char *spec_size(uint64_t bytes, char *buf, size_t len)
{
	if (!(bytes % MIB))
		snprintf(buf, len, "%llu", (unsigned long long)(bytes / MIB));
	else
		emp_format_size(bytes, buf, len);	/* K multiples: "1536K" */
	return buf;
}

/* Tier @t as spec text, with @where (its path, or its host name) as the place. */
static int format_tier(const struct emp_tier *t, const char *where, char *buf, size_t len)
{
	char sz[32], off[32];

	spec_size(t->size, sz, sizeof(sz));
	switch (t->kind) {
	case EMP_TIER_BDEV:
		return snprintf(buf, len, "%s:%s:%s", where, sz, spec_size(t->offset, off, sizeof(off)));
	case EMP_TIER_NODE:
		return snprintf(buf, len, "node:%u:%s", t->node, sz);
	case EMP_TIER_CLUSTER:
		return snprintf(buf, len, "cluster:%s", sz);
	case EMP_TIER_RDMA:
	case EMP_TIER_TCP:
		return snprintf(buf, len, "%s%s%s%s:%s:%u", t->kind == EMP_TIER_TCP ? "tcp:" : "",
				strchr(where, ':') ? "[" : "", where,
				strchr(where, ':') ? "]" : "", sz, t->port);
	default:
		return snprintf(buf, len, "?");
	}
}

int emp_spec_format_tier(const struct emp_tier *t, char *buf, size_t len)
{
	return format_tier(t, t->path, buf, len);
}

int emp_spec_format(const struct emp_spec *s, char *buf, size_t len)
{
	char one[EMP_PATH_MAX + 64];
	size_t used = 0;
	unsigned int i;
	int n;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < s->nr_tiers; i++) {
		format_tier(&s->tier[i], s->host[i][0] ? s->host[i] : s->tier[i].path,
			    one, sizeof(one));
		if (s->tier[i].kind == EMP_TIER_CLUSTER) {
			/* The options that are not the defaults, in this order. */
			const char *sep = ":";
			size_t l;

			if (s->cluster.transport == EMP_TIER_RDMA) {
				l = strlen(one);
				snprintf(one + l, sizeof(one) - l, "%srdma", sep);
				sep = ",";
			}
			if (s->cluster.spread != EMP_CLUSTER_SPREAD_DEFAULT) {
				l = strlen(one);
				snprintf(one + l, sizeof(one) - l, "%sspread=%u", sep, s->cluster.spread);
				sep = ",";
			}
			if (s->cluster.replicas > 1) {
				l = strlen(one);
				snprintf(one + l, sizeof(one) - l, "%sreplicas=%u", sep,
					 s->cluster.replicas);
			}
		}
		/* A replica follows its primary after a '+'. */
		n = snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0, "%s%s",
			     !i ? "" : s->tier[i].flags & EMP_TIER_F_REPLICA ? "+" : "|", one);
		used += (size_t)n;
	}
	if (s->dram) {
		n = snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0, "%sdram:%s",
			     used ? "|" : "", spec_size(s->dram, one, sizeof(one)));
		used += (size_t)n;
	}
	return (int)used;
}

const char *emp_tier_kind_name(uint32_t kind)
{
	switch (kind) {
	case EMP_TIER_BDEV: return "bdev";
	case EMP_TIER_RDMA: return "rdma";
	case EMP_TIER_TCP:  return "tcp";
	case EMP_TIER_NODE: return "node";
	case EMP_TIER_CLUSTER: return "cluster";
	default:            return "unknown";
	}
}

static int geom_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint64_t emp_budget_min(uint32_t block_size)
{
	return 2ULL * block_size;
}

int emp_budget_check(uint64_t budget, uint32_t block_size)
{
	long page = sysconf(_SC_PAGESIZE);

	if (page <= 0)
		page = 4096;
	if (budget % (uint64_t)page)
		return EMP_BUDGET_UNALIGNED;
	if (budget < emp_budget_min(block_size))
		return EMP_BUDGET_SMALL;
	return EMP_BUDGET_OK;
}

uint64_t emp_default_budget(uint64_t inst_size, uint32_t block_size)
{
	uint64_t b = inst_size >> EMP_DEFAULT_DRAM_SHIFT;

	if (!block_size)
		block_size = EMP_DEFAULT_BLOCK;
	if (b < EMP_DEFAULT_DRAM_MIN)
		b = EMP_DEFAULT_DRAM_MIN;
	if (b > EMP_DEFAULT_DRAM_MAX)
		b = EMP_DEFAULT_DRAM_MAX;
	b -= b % block_size;
	if (b > inst_size)
		b = inst_size;
	if (b < emp_budget_min(block_size))
		b = emp_budget_min(block_size);
	return b;
}

static int is_remote(const struct emp_tier *t)
{
	return t->kind == EMP_TIER_RDMA || t->kind == EMP_TIER_TCP;
}

/* Whether the remote tier @t holds a numeric address (not a name yet to resolve). */
static int tier_has_address(const struct emp_tier *t)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, t->path, bin) == 1 || inet_pton(AF_INET6, t->path, bin) == 1;
}

int emp_spec_to_create(const struct emp_spec *s, const char *name, uint64_t inst_size,
		       uint32_t block, uint32_t subblock, struct emp_create *c,
		       char *err, size_t errlen)
{
	char b[2][32];
	uint64_t dram;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	if (emp_check_name(name))
		return geom_fail(err, errlen, "bad instance name '%s': 1..%d characters of "
				 "A-Z a-z 0-9 _ . -, not starting with '.' or '-'",
				 name, EMP_NAME_MAX - 1);
	emp_set_name(c->name, name);
	block = block ? block : EMP_DEFAULT_BLOCK;
	subblock = subblock ? subblock : EMP_DEFAULT_SUBBLOCK;
	if (!pow2(block) || block < EMP_BLOCK_MIN || block > EMP_BLOCK_MAX)
		return geom_fail(err, errlen, "block size %s is not a power of two in 4K..2M",
				 emp_format_size(block, b[0], sizeof(b[0])));
	if (!pow2(subblock) || subblock < EMP_SUBBLOCK_MIN || subblock > EMP_SUBBLOCK_MAX)
		return geom_fail(err, errlen, "subblock size %s is not a power of two in 4K..128K",
				 emp_format_size(subblock, b[0], sizeof(b[0])));
	if (subblock > block)
		return geom_fail(err, errlen, "subblock size %s is larger than the block size %s",
				 emp_format_size(subblock, b[0], sizeof(b[0])),
				 emp_format_size(block, b[1], sizeof(b[1])));
	if (!s->nr_tiers && !s->dram)
		return geom_fail(err, errlen, "the spec has no storage tier");
	for (i = 0; i < s->nr_tiers; i++) {
		const struct emp_tier *t = &s->tier[i];

		if (t->kind == EMP_TIER_CLUSTER)
			return geom_fail(err, errlen, "tier %u: cluster: is not placed on donors "
					 "yet: give the cluster registry (--etcd URL, or EMP_ETCD)",
					 i + 1);
		if (t->flags & ~EMP_TIER_F_REPLICA)
			return geom_fail(err, errlen, "tier %u: unknown flags 0x%x", i + 1,
					 t->flags & ~EMP_TIER_F_REPLICA);
		if (t->flags & EMP_TIER_F_REPLICA) {
			/* What emp_spec_parse() gives for PRIMARY+REPLICA, and emp.ko wants. */
			const struct emp_tier *p = i ? &s->tier[i - 1] : NULL;

			if (!is_remote(t) || !p || !is_remote(p) || (p->flags & EMP_TIER_F_REPLICA))
				return geom_fail(err, errlen, "tier %u: a replica is a remote tier "
						 "right after the remote tier it copies", i + 1);
			if (t->size != p->size)
				return geom_fail(err, errlen, "tier %u: the replica's size %s is not "
						 "its primary's %s", i + 1,
						 emp_format_size(t->size, b[0], sizeof(b[0])),
						 emp_format_size(p->size, b[1], sizeof(b[1])));
		}
		if (t->size % block)
			return geom_fail(err, errlen, "tier %u: size %s is not a multiple of the "
					 "block size %s", i + 1,
					 emp_format_size(t->size, b[0], sizeof(b[0])),
					 emp_format_size(block, b[1], sizeof(b[1])));
		if (is_remote(t) && !tier_has_address(t))
			return geom_fail(err, errlen, "tier %u: host '%s' is not resolved to an "
					 "address (emp_spec_resolve())", i + 1, t->path);
	}
	if (!inst_size)
		inst_size = s->capacity;
	if (inst_size > s->capacity)
		return geom_fail(err, errlen, "size %s is more than the %s (%s)",
				 emp_format_size(inst_size, b[0], sizeof(b[0])),
				 s->nr_tiers ? "tiers hold" : "dram: size of a DRAM-only spec",
				 emp_format_size(s->capacity, b[1], sizeof(b[1])));
	if (inst_size % block)
		return geom_fail(err, errlen, "size %s is not a multiple of the block size %s",
				 emp_format_size(inst_size, b[0], sizeof(b[0])),
				 emp_format_size(block, b[1], sizeof(b[1])));
	/* DRAM-only: all of it is resident, nothing is ever evicted. */
	if (!s->nr_tiers)
		dram = inst_size;
	else if (s->dram)
		dram = s->dram;
	else
		dram = emp_default_budget(inst_size, block);
	switch (emp_budget_check(dram, block)) {
	case EMP_BUDGET_UNALIGNED:
		return geom_fail(err, errlen, "DRAM budget %s is not a multiple of the page size",
				 emp_format_size(dram, b[0], sizeof(b[0])));
	case EMP_BUDGET_SMALL:
		return geom_fail(err, errlen, "DRAM budget %s is less than two blocks of %s",
				 emp_format_size(dram, b[0], sizeof(b[0])),
				 emp_format_size(block, b[1], sizeof(b[1])));
	}
	c->inst_size = inst_size;
	c->block_size = block;
	c->subblock_size = subblock;
	c->dram_budget = dram;
	return 0;
}

int emp_check_name(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!n || n >= EMP_NAME_MAX || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return -EINVAL;
	}
	return 0;
}

int emp_read_secret_file(const char *path, uint8_t secret[EMP_SECRET_MAX])
{
	uint8_t buf[EMP_SECRET_MAX + 3];
	size_t n = 0;
	ssize_t got;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Read one byte more than a secret with CR LF can have, to see "too long". */
	while (n < sizeof(buf)) {
		got = read(fd, buf + n, sizeof(buf) - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			err = -errno;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (!err) {
		if (n && buf[n - 1] == '\n')
			n--;
		if (n && buf[n - 1] == '\r')
			n--;
		if (!n)
			err = -ENODATA;
		else if (n > EMP_SECRET_MAX)
			err = -E2BIG;
		else
			memcpy(secret, buf, n);
	}
	memset(buf, 0, sizeof(buf));
	return err ? err : (int)n;
}

unsigned int emp_spec_set_secret(struct emp_spec *s, const uint8_t *secret, uint32_t len)
{
	unsigned int i, n = 0;

	if (len > EMP_SECRET_MAX)
		len = EMP_SECRET_MAX;
	/* Replicas too: a replica is a remote tier of its own donor. */
	for (i = 0; i < s->nr_tiers; i++) {
		struct emp_tier *t = &s->tier[i];

		if (!is_remote(t))
			continue;
		memset(t->secret, 0, sizeof(t->secret));
		memcpy(t->secret, secret, len);
		t->secret_len = len;
		n++;
	}
	return n;
}
