// SPDX-License-Identifier: GPL-2.0
/*
 * vmd's cluster registry, the pure half: a strict JSON reader for the few
 * fields vmd needs from etcd's v3 HTTP/JSON gateway, the request bodies,
 * and the donor's key and value (etcd.h). Nothing an etcd server (or
 * anything pretending to be one) answers can make these read out of
 * bounds, recurse without limit, or accept a value of the wrong type.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emp_etcd.h"

/* --- JSON reader ---------------------------------------------------------- */

struct ej_parser {
	struct ej_doc *d;
	size_t pos;
	const char *why;	/* the first error */
};

static bool ej_fail(struct ej_parser *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return false;
}

static void ej_ws(struct ej_parser *p)
{
	while (p->pos < p->d->len) {
		char c = p->d->buf[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int ej_add(struct ej_parser *p, enum ej_type type)
{
	struct ej_doc *d = p->d;

	if (d->n >= EJ_MAX_TOKENS) {
		ej_fail(p, "too many values");
		return -1;
	}
	d->tok[d->n] = (struct ej_tok){ .type = type, .start = (uint32_t)p->pos };
	return (int)d->n++;
}

static bool ej_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool ej_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A string at p->pos (its opening quote). */
static bool ej_string(struct ej_parser *p)
{
	const char *b = p->d->buf;
	size_t len = p->d->len;
	int t = ej_add(p, EJ_STRING);
	int i;

	if (t < 0)
		return false;
	p->pos++;
	p->d->tok[t].start = (uint32_t)p->pos;
	for (;;) {
		unsigned char c;

		if (p->pos >= len)
			return ej_fail(p, "unterminated string");
		c = (unsigned char)b[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return ej_fail(p, "control character in a string");
		if (c == '\\') {
			if (++p->pos >= len)
				return ej_fail(p, "unterminated string");
			switch (b[p->pos]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				break;
			case 'u':
				for (i = 0; i < 4; i++)
					if (++p->pos >= len || !ej_hex(b[p->pos]))
						return ej_fail(p, "bad \\u escape");
				break;
			default:
				return ej_fail(p, "bad escape in a string");
			}
		}
		p->pos++;
	}
	p->d->tok[t].end = (uint32_t)p->pos;
	p->d->tok[t].next = p->d->n;
	p->pos++;
	return true;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool ej_number(struct ej_parser *p)
{
	const char *b = p->d->buf;
	size_t len = p->d->len;
	int t = ej_add(p, EJ_NUMBER);

	if (t < 0)
		return false;
	if (b[p->pos] == '-')
		p->pos++;
	if (p->pos >= len || !ej_digit(b[p->pos]))
		return ej_fail(p, "bad number");
	if (b[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < len && ej_digit(b[p->pos]))
			p->pos++;
	if (p->pos < len && b[p->pos] == '.') {
		if (++p->pos >= len || !ej_digit(b[p->pos]))
			return ej_fail(p, "bad number");
		while (p->pos < len && ej_digit(b[p->pos]))
			p->pos++;
	}
	if (p->pos < len && (b[p->pos] == 'e' || b[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < len && (b[p->pos] == '+' || b[p->pos] == '-'))
			p->pos++;
		if (p->pos >= len || !ej_digit(b[p->pos]))
			return ej_fail(p, "bad number");
		while (p->pos < len && ej_digit(b[p->pos]))
			p->pos++;
	}
	p->d->tok[t].end = (uint32_t)p->pos;
	p->d->tok[t].next = p->d->n;
	return true;
}

static bool ej_value(struct ej_parser *p, int depth);

/* An object or array at p->pos; @close is '}' or ']'. */
static bool ej_container(struct ej_parser *p, int depth, char close)
{
	const char *b = p->d->buf;
	int t = ej_add(p, close == '}' ? EJ_OBJECT : EJ_ARRAY);

	if (t < 0)
		return false;
	if (depth >= EJ_MAX_DEPTH)
		return ej_fail(p, "nested too deep");
	p->pos++;
	ej_ws(p);
	if (p->pos < p->d->len && b[p->pos] == close) {
		p->pos++;
		goto done;
	}
	for (;;) {
		ej_ws(p);
		if (close == '}') {
			if (p->pos >= p->d->len || b[p->pos] != '"')
				return ej_fail(p, "expected a member name");
			if (!ej_string(p))
				return false;
			ej_ws(p);
			if (p->pos >= p->d->len || b[p->pos] != ':')
				return ej_fail(p, "expected ':'");
			p->pos++;
		}
		if (!ej_value(p, depth + 1))
			return false;
		ej_ws(p);
		if (p->pos >= p->d->len)
			return ej_fail(p, "unexpected end");
		if (b[p->pos] == close) {
			p->pos++;
			break;
		}
		if (b[p->pos] != ',')
			return ej_fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
		p->pos++;
	}
done:
	p->d->tok[t].end = (uint32_t)p->pos;
	p->d->tok[t].next = p->d->n;
	return true;
}

static bool ej_literal(struct ej_parser *p)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i, n, left = p->d->len - p->pos;
	int t;

	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if (left >= n && !memcmp(p->d->buf + p->pos, words[i], n))
			break;
	}
	if (i == 3)
		return ej_fail(p, "unexpected character");
	t = ej_add(p, EJ_LITERAL);
	if (t < 0)
		return false;
	p->pos += n;
	p->d->tok[t].end = (uint32_t)p->pos;
	p->d->tok[t].next = p->d->n;
	return true;
}

static bool ej_value(struct ej_parser *p, int depth)
{
	char c;

	ej_ws(p);
	if (p->pos >= p->d->len)
		return ej_fail(p, "unexpected end");
	c = p->d->buf[p->pos];
	if (c == '{')
		return ej_container(p, depth, '}');
	if (c == '[')
		return ej_container(p, depth, ']');
	if (c == '"')
		return ej_string(p);
	if (c == '-' || ej_digit(c))
		return ej_number(p);
	return ej_literal(p);
}

int ej_parse(struct ej_doc *d, const char *buf, size_t len, char *err, size_t errlen)
{
	struct ej_parser p = { .d = d };

	d->buf = buf;
	d->len = len;
	d->n = 0;
	if (len > ETCD_BODY_MAX) {
		snprintf(err, errlen, "longer than %d bytes", ETCD_BODY_MAX);
		return -1;
	}
	if (ej_value(&p, 0)) {
		ej_ws(&p);
		if (p.pos == len)
			return 0;
		p.why = "data after the value";
	}
	snprintf(err, errlen, "%s at byte %zu", p.why, p.pos);
	return -1;
}

int ej_member(const struct ej_doc *d, int obj, const char *name)
{
	size_t nlen = strlen(name);
	uint32_t i;
	int found = -1;

	if (obj < 0 || (uint32_t)obj >= d->n || d->tok[obj].type != EJ_OBJECT)
		return -1;
	/* Members are name, value, name, value... up to the object's end. */
	for (i = (uint32_t)obj + 1; i + 1 < d->tok[obj].next; i = d->tok[i + 1].next) {
		const struct ej_tok *k = &d->tok[i];

		if (k->end - k->start == nlen && !memcmp(d->buf + k->start, name, nlen)) {
			if (found >= 0)
				return -2;
			found = (int)i + 1;
		}
	}
	return found;
}

int ej_int64(const struct ej_doc *d, int tok, int64_t *v)
{
	const struct ej_tok *t;
	const char *s, *e;
	bool neg = false;
	uint64_t u = 0, lim;

	if (tok < 0 || (uint32_t)tok >= d->n)
		return -1;
	t = &d->tok[tok];
	if (t->type != EJ_STRING && t->type != EJ_NUMBER)
		return -1;
	s = d->buf + t->start;
	e = d->buf + t->end;
	if (s < e && *s == '-') {
		neg = true;
		s++;
	}
	if (s == e || (*s == '0' && e - s > 1))
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; s < e; s++) {
		if (!ej_digit(*s))
			return -1;	/* a fraction, an exponent, or not a number */
		if (u > (lim - (uint64_t)(*s - '0')) / 10)
			return -1;
		u = u * 10 + (uint64_t)(*s - '0');
	}
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* --- names, key, value, requests ------------------------------------------ */

bool etcd_label_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > ETCD_LABEL_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      ej_digit(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

bool etcd_host_ok(const char *s)
{
	unsigned char a[16];
	size_t n = strlen(s), i;

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return true;
	if (n < 1 || n > ETCD_HOST_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      ej_digit(s[i]) || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

int etcd_url_check(const char *url, char *msg, size_t msglen)
{
	const char *h, *p;

	if (!strncmp(url, "https://", 8)) {
		snprintf(msg, msglen, "https is not supported; give etcd's http:// client URL");
		return -1;
	}
	if (strncmp(url, "http://", 7) || strlen(url) > ETCD_URL_MAX) {
		snprintf(msg, msglen, "want http://HOST:PORT, at most %d characters", ETCD_URL_MAX);
		return -1;
	}
	h = url + 7;
	for (p = h; *p && *p != '/'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || ej_digit(*p) ||
		      *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
			break;
	if (p == h || (*p && strcmp(p, "/"))) {
		snprintf(msg, msglen, "want http://HOST:PORT with no user, path or query");
		return -1;
	}
	return 0;
}

int etcd_base64(const void *in, size_t inlen, char *buf, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = in;
	size_t i, o = 0;

	if (len < (inlen + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i + 2 < inlen; i += 3) {
		buf[o++] = tab[s[i] >> 2];
		buf[o++] = tab[(s[i] & 3) << 4 | s[i + 1] >> 4];
		buf[o++] = tab[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		buf[o++] = tab[s[i + 2] & 63];
	}
	if (i < inlen) {
		buf[o++] = tab[s[i] >> 2];
		if (i + 1 < inlen) {
			buf[o++] = tab[(s[i] & 3) << 4 | s[i + 1] >> 4];
			buf[o++] = tab[(s[i + 1] & 15) << 2];
		} else {
			buf[o++] = tab[(s[i] & 3) << 4];
			buf[o++] = '=';
		}
		buf[o++] = '=';
	}
	buf[o] = 0;
	return (int)o;
}

static int fits(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int etcd_donor_key(const struct etcd_donor *d, char *buf, size_t len)
{
	bool v6 = strchr(d->addr, ':') != NULL;

	if (!etcd_label_ok(d->domain) || !etcd_host_ok(d->addr))
		return -1;
	return fits(snprintf(buf, len, "%s%s/%s%s%s:%u", ETCD_KEY_PREFIX, d->domain,
			     v6 ? "[" : "", d->addr, v6 ? "]" : "", d->port), len);
}

int etcd_donor_value(const struct etcd_donor *d, char *buf, size_t len)
{
	/* Both strings are checked to need no JSON escaping. */
	if (!etcd_label_ok(d->domain) || !etcd_host_ok(d->addr))
		return -1;
	return fits(snprintf(buf, len,
			     "{\"version\":%d,\"addr\":\"%s\",\"port\":%u,\"transports\":[%s%s%s],"
			     "\"capacity\":%llu,\"free\":%llu,\"domain\":\"%s\",\"pid\":%ld}",
			     ETCD_VALUE_VERSION, d->addr, d->port,
			     d->rdma ? "\"rdma\"" : "", d->rdma && d->tcp ? "," : "",
			     d->tcp ? "\"tcp\"" : "", (unsigned long long)d->capacity,
			     (unsigned long long)d->free, d->domain, d->pid), len);
}

int etcd_grant_body(long ttl, char *buf, size_t len)
{
	return fits(snprintf(buf, len, "{\"TTL\":%ld}", ttl), len);
}

int etcd_put_body(const char *key, const char *value, int64_t lease, char *buf, size_t len)
{
	char k[256], v[1024];

	if (etcd_base64(key, strlen(key), k, sizeof(k)) < 0 ||
	    etcd_base64(value, strlen(value), v, sizeof(v)) < 0)
		return -1;
	return fits(snprintf(buf, len, "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\"}",
			     k, v, (long long)lease), len);
}

int etcd_lease_body(int64_t lease, char *buf, size_t len)
{
	return fits(snprintf(buf, len, "{\"ID\":\"%lld\"}", (long long)lease), len);
}

/* --- answers ---------------------------------------------------------------- */

/* Up to 80 bytes of @s, printable: for quoting what a server sent. */
static const char *printable(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, max = n < 80 ? n : 80;

	if (outlen < 4)
		return "";
	if (max > outlen - 4)
		max = outlen - 4;
	for (i = 0; i < max; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'' ? s[i] : '?';
	strcpy(out + i, i < n ? "..." : "");
	return out;
}

/* A string member's text, printable, or NULL when absent or not a string. */
static const char *str_member(const struct ej_doc *d, int obj, const char *name, char *out,
			      size_t outlen)
{
	int t = ej_member(d, obj, name);

	if (t < 0 || d->tok[t].type != EJ_STRING)
		return NULL;
	return printable(d->buf + d->tok[t].start, d->tok[t].end - d->tok[t].start, out, outlen);
}

/*
 * Parse @body and look for the gateway's error forms:
 *   {"error":"..","message":"..","code":N}                 (unary calls)
 *   {"error":{"grpc_code":N,"http_code":N,"message":".."}}  (streams)
 * and the "error" string some answers carry. Return: ETCD_OK for an
 * answer that is a JSON object and no error, ETCD_GONE for gRPC code 5
 * (NotFound: the lease), ETCD_BAD otherwise, with @msg.
 */
int etcd_answer(struct ej_doc *d, const char *body, size_t len, long http, char *msg,
		size_t msglen)
{
	char why[64], q[96], m[96];
	const char *text = NULL;
	int e, c = -1;
	int64_t code = -1;

	if (ej_parse(d, body, len, why, sizeof(why))) {
		if (!len)
			snprintf(msg, msglen, "HTTP %ld with an empty answer", http);
		else
			snprintf(msg, msglen, "HTTP %ld, answer is not JSON (%s): '%s'", http, why,
				 printable(body, len, q, sizeof(q)));
		return ETCD_BAD;
	}
	if (d->tok[0].type != EJ_OBJECT) {
		snprintf(msg, msglen, "HTTP %ld, answer is not a JSON object: '%s'", http,
			 printable(body, len, q, sizeof(q)));
		return ETCD_BAD;
	}
	e = ej_member(d, 0, "error");
	if (e == -2 || ej_member(d, 0, "message") == -2 || ej_member(d, 0, "code") == -2) {
		snprintf(msg, msglen, "HTTP %ld, answer names a member twice", http);
		return ETCD_BAD;
	}
	if (e >= 0 && d->tok[e].type == EJ_STRING && d->tok[e].start == d->tok[e].end)
		e = -1;		/* an empty "error" string: no error */
	if (e < 0 && http == 200)
		return ETCD_OK;

	text = str_member(d, 0, "message", m, sizeof(m));
	if (e >= 0 && d->tok[e].type == EJ_OBJECT) {
		if (!text)
			text = str_member(d, e, "message", m, sizeof(m));
		c = ej_member(d, e, "grpc_code");
	} else {
		if (!text && e >= 0)
			text = str_member(d, 0, "error", m, sizeof(m));
		c = ej_member(d, 0, "code");
	}
	if (c >= 0 && ej_int64(d, c, &code))
		code = -1;
	if (text)
		snprintf(msg, msglen, "etcd says: %s (HTTP %ld, code %lld)", text, http,
			 (long long)code);
	else
		snprintf(msg, msglen, "HTTP %ld%s with no error message: '%s'", http,
			 e >= 0 ? ", an error" : "", printable(body, len, q, sizeof(q)));
	return code == 5 ? ETCD_GONE : ETCD_BAD;
}

/* An int64 member, required: 0 or -1 with @msg. */
static int int_member(const struct ej_doc *d, int obj, const char *name, int64_t *v,
		      char *msg, size_t msglen)
{
	int t = ej_member(d, obj, name);

	if (t == -1) {
		snprintf(msg, msglen, "answer has no \"%s\"", name);
		return -1;
	}
	if (t == -2 || ej_int64(d, t, v)) {
		snprintf(msg, msglen, "answer's \"%s\" is %s", name,
			 t == -2 ? "given twice" : "not an integer");
		return -1;
	}
	return 0;
}

int etcd_parse_grant(const char *body, size_t len, long http, int64_t *id, int64_t *ttl,
		     char *msg, size_t msglen)
{
	struct ej_doc d;

	if (etcd_answer(&d, body, len, http, msg, msglen) != ETCD_OK)
		return ETCD_BAD;
	if (int_member(&d, 0, "ID", id, msg, msglen) ||
	    int_member(&d, 0, "TTL", ttl, msg, msglen))
		return ETCD_BAD;
	if (*id <= 0 || *ttl < 1 || *ttl > ETCD_TTL_MAX) {
		snprintf(msg, msglen, "absurd lease: ID %lld, TTL %lld (want ID > 0, TTL 1..%d)",
			 (long long)*id, (long long)*ttl, ETCD_TTL_MAX);
		return ETCD_BAD;
	}
	return ETCD_OK;
}

int etcd_parse_keepalive(const char *body, size_t len, long http, int64_t id, int64_t *ttl,
			 char *msg, size_t msglen)
{
	struct ej_doc d;
	int64_t got;
	int r, res;

	r = etcd_answer(&d, body, len, http, msg, msglen);
	if (r != ETCD_OK)
		return r;
	res = ej_member(&d, 0, "result");
	if (res < 0 || d.tok[res].type != EJ_OBJECT) {
		snprintf(msg, msglen, "answer has %s \"result\" object",
			 res == -2 ? "more than one" : "no");
		return ETCD_BAD;
	}
	if (int_member(&d, res, "ID", &got, msg, msglen))
		return ETCD_BAD;
	if (got != id) {
		snprintf(msg, msglen, "answer is about lease %lld, not %lld", (long long)got,
			 (long long)id);
		return ETCD_BAD;
	}
	/* The gateway leaves out a zero TTL: the lease has expired. */
	if (ej_member(&d, res, "TTL") == -1) {
		*ttl = 0;
		snprintf(msg, msglen, "lease %lld has expired", (long long)id);
		return ETCD_GONE;
	}
	if (int_member(&d, res, "TTL", ttl, msg, msglen))
		return ETCD_BAD;
	if (*ttl <= 0) {
		snprintf(msg, msglen, "lease %lld has expired", (long long)id);
		return ETCD_GONE;
	}
	if (*ttl > ETCD_TTL_MAX) {
		snprintf(msg, msglen, "absurd TTL %lld", (long long)*ttl);
		return ETCD_BAD;
	}
	return ETCD_OK;
}

int etcd_parse_ack(const char *body, size_t len, long http, char *msg, size_t msglen)
{
	struct ej_doc d;
	int r, h;

	r = etcd_answer(&d, body, len, http, msg, msglen);
	if (r != ETCD_OK)
		return r;
	h = ej_member(&d, 0, "header");
	if (h < 0 || d.tok[h].type != EJ_OBJECT) {
		snprintf(msg, msglen, "answer has %s \"header\" object",
			 h == -2 ? "more than one" : "no");
		return ETCD_BAD;
	}
	return ETCD_OK;
}

/* --- ranges, transactions, donors read back ---------------------------------- */

int ej_text(const struct ej_doc *d, int tok, char *buf, size_t len)
{
	const struct ej_tok *t;
	uint32_t i;

	if (tok < 0 || (uint32_t)tok >= d->n || d->tok[tok].type != EJ_STRING)
		return -1;
	t = &d->tok[tok];
	if (t->end - t->start >= len)
		return -1;
	for (i = t->start; i < t->end; i++)
		if (d->buf[i] == '\\' || (unsigned char)d->buf[i] < 0x20)
			return -1;
	memcpy(buf, d->buf + t->start, t->end - t->start);
	buf[t->end - t->start] = 0;
	return (int)(t->end - t->start);
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (ej_digit(c))
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int etcd_unbase64(const char *in, size_t inlen, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t i, n = 0, pad = 0;
	uint32_t acc = 0;
	int v;

	if (inlen % 4)
		return -1;
	for (i = 0; i < inlen; i++) {
		if (in[i] == '=') {
			/* Only at the end, at most two. */
			if (i + 2 < inlen || (i + 1 < inlen && in[i + 1] != '='))
				return -1;
			pad++;
			v = 0;
		} else if (pad || (v = b64_val(in[i])) < 0) {
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			size_t k, take = 3 - (i + 1 == inlen ? pad : 0);

			if (n + take > outlen)
				return -1;
			for (k = 0; k < take; k++)
				o[n++] = (unsigned char)(acc >> (16 - 8 * k));
			acc = 0;
		}
	}
	return (int)n;
}

int etcd_range_body(const char *key, int prefix, long limit, char *buf, size_t len)
{
	char k[400], e[400], end[256];
	size_t n = strlen(key);

	if (n >= sizeof(end) || etcd_base64(key, n, k, sizeof(k)) < 0)
		return -1;
	if (!prefix)
		return fits(snprintf(buf, len, "{\"key\":\"%s\",\"limit\":\"%ld\"}", k, limit), len);
	/* Every key with the prefix: up to the prefix with its last byte + 1. */
	memcpy(end, key, n);
	if (!n || (unsigned char)end[n - 1] == 0xff)
		return -1;
	end[n - 1]++;
	if (etcd_base64(end, n, e, sizeof(e)) < 0)
		return -1;
	return fits(snprintf(buf, len, "{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":\"%ld\"}",
			     k, e, limit), len);
}

/* An optional int64 member: absent is 0 (the gateway leaves zeros out). */
static int opt_int(const struct ej_doc *d, int obj, const char *name, int64_t *v)
{
	int t = ej_member(d, obj, name);

	*v = 0;
	if (t == -1)
		return 0;
	return t < 0 || ej_int64(d, t, v) || *v < 0 ? -1 : 0;
}

int etcd_parse_range(const char *body, size_t len, long http, struct etcd_kv *kv,
		     unsigned int room, char *vbuf, size_t vlen, unsigned int *n, int *more,
		     char *msg, size_t msglen)
{
	struct ej_doc *d;
	size_t used = 0;
	int r, a, m, i;

	*n = 0;
	*more = 0;
	d = malloc(sizeof(*d));
	if (!d) {
		snprintf(msg, msglen, "out of memory");
		return ETCD_BAD;
	}
	r = etcd_answer(d, body, len, http, msg, msglen);
	if (r != ETCD_OK) {
		r = ETCD_BAD;
		goto out;
	}
	r = ETCD_BAD;
	m = ej_member(d, 0, "more");
	if (m >= 0)
		*more = d->tok[m].type == EJ_LITERAL && d->buf[d->tok[m].start] == 't';
	a = ej_member(d, 0, "kvs");
	if (a == -1) {
		r = ETCD_OK;	/* no key */
		goto out;
	}
	if (a < 0 || d->tok[a].type != EJ_ARRAY) {
		snprintf(msg, msglen, "answer's \"kvs\" is not one array");
		goto out;
	}
	for (i = a + 1; (uint32_t)i < d->tok[a].next; i = (int)d->tok[i].next) {
		struct etcd_kv *k = &kv[*n];
		int kt, vt, klen, vl;

		if (*n >= room) {
			snprintf(msg, msglen, "more than %u keys", room);
			goto out;
		}
		if (d->tok[i].type != EJ_OBJECT) {
			snprintf(msg, msglen, "a key of the answer is no object");
			goto out;
		}
		memset(k, 0, sizeof(*k));
		kt = ej_member(d, i, "key");
		if (kt < 0 || d->tok[kt].type != EJ_STRING ||
		    (klen = etcd_unbase64(d->buf + d->tok[kt].start,
					  d->tok[kt].end - d->tok[kt].start, k->key,
					  sizeof(k->key) - 1)) < 0) {
			snprintf(msg, msglen, "a key of the answer is missing, not base64 or too long");
			goto out;
		}
		k->key[klen] = 0;
		if (memchr(k->key, 0, (size_t)klen)) {
			snprintf(msg, msglen, "a key of the answer holds a NUL byte");
			goto out;
		}
		vt = ej_member(d, i, "value");
		vl = 0;
		if (vt >= 0 && d->tok[vt].type == EJ_STRING)
			vl = etcd_unbase64(d->buf + d->tok[vt].start,
					   d->tok[vt].end - d->tok[vt].start, vbuf + used,
					   vlen - used > 0 ? vlen - used - 1 : 0);
		if (vt == -2 || (vt >= 0 && d->tok[vt].type != EJ_STRING) || vl < 0) {
			snprintf(msg, msglen, "the value of %.80s is not base64 or too long", k->key);
			goto out;
		}
		vbuf[used + (size_t)vl] = 0;
		k->value = vbuf + used;
		k->value_len = (size_t)vl;
		used += (size_t)vl + 1;
		if (opt_int(d, i, "create_revision", &k->create_revision) ||
		    opt_int(d, i, "mod_revision", &k->mod_revision) ||
		    opt_int(d, i, "version", &k->version) ||
		    opt_int(d, i, "lease", &k->lease)) {
			snprintf(msg, msglen, "a revision of %.80s is not an integer", k->key);
			goto out;
		}
		(*n)++;
	}
	r = ETCD_OK;
out:
	free(d);
	return r;
}

int etcd_parse_txn(const char *body, size_t len, long http, int *succeeded, char *msg,
		   size_t msglen)
{
	struct ej_doc *d = malloc(sizeof(*d));
	int r, s;

	*succeeded = 0;
	if (!d) {
		snprintf(msg, msglen, "out of memory");
		return ETCD_BAD;
	}
	r = etcd_answer(d, body, len, http, msg, msglen);
	if (r != ETCD_OK) {
		free(d);
		return ETCD_BAD;
	}
	s = ej_member(d, 0, "succeeded");
	if (s == -2 || (s >= 0 && d->tok[s].type != EJ_LITERAL) ||
	    ej_member(d, 0, "header") < 0) {
		snprintf(msg, msglen, "not a transaction's answer");
		r = ETCD_BAD;
	} else {
		*succeeded = s >= 0 && d->buf[d->tok[s].start] == 't';
	}
	free(d);
	return r;
}

/* A required unsigned number member (a JSON number, not a string). */
static int num_member(const struct ej_doc *d, int obj, const char *name, uint64_t max,
		      uint64_t *v, char *msg, size_t msglen)
{
	int t = ej_member(d, obj, name);
	int64_t x;

	if (t < 0 || d->tok[t].type != EJ_NUMBER || ej_int64(d, t, &x) || x < 0 ||
	    (uint64_t)x > max) {
		snprintf(msg, msglen, "\"%s\" is %s", name,
			 t == -1 ? "missing" : t == -2 ? "given twice" :
			 "not a whole number in range");
		return -1;
	}
	*v = (uint64_t)x;
	return 0;
}

int etcd_parse_donor(const char *json, size_t len, struct etcd_donor_rec *out, char *msg,
		     size_t msglen)
{
	struct ej_doc *d = malloc(sizeof(*d));
	struct etcd_donor_rec r = { 0 };
	char why[64], word[8];
	uint64_t v;
	int t, i, ret = -1;

	if (!d) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	if (len > 4096 || ej_parse(d, json, len, why, sizeof(why)) ||
	    d->tok[0].type != EJ_OBJECT) {
		snprintf(msg, msglen, "not a JSON object of at most 4096 bytes");
		goto out;
	}
	if (num_member(d, 0, "version", 1000000, &v, msg, msglen))
		goto out;
	if (v != ETCD_VALUE_VERSION) {
		snprintf(msg, msglen, "version %llu (this tool reads version %d)",
			 (unsigned long long)v, ETCD_VALUE_VERSION);
		goto out;
	}
	if (ej_text(d, ej_member(d, 0, "addr"), r.addr, sizeof(r.addr)) < 0 ||
	    !etcd_host_ok(r.addr)) {
		snprintf(msg, msglen, "\"addr\" is not an address or host name");
		goto out;
	}
	if (ej_text(d, ej_member(d, 0, "domain"), r.domain, sizeof(r.domain)) < 0 ||
	    !etcd_label_ok(r.domain)) {
		snprintf(msg, msglen, "\"domain\" is not a label");
		goto out;
	}
	if (num_member(d, 0, "port", 65535, &v, msg, msglen))
		goto out;
	if (!v) {
		snprintf(msg, msglen, "\"port\" is 0");
		goto out;
	}
	r.port = (uint16_t)v;
	if (num_member(d, 0, "capacity", ETCD_BYTES_MAX, &r.capacity, msg, msglen) ||
	    num_member(d, 0, "free", r.capacity, &r.free, msg, msglen))
		goto out;
	t = ej_member(d, 0, "transports");
	if (t < 0 || d->tok[t].type != EJ_ARRAY) {
		snprintf(msg, msglen, "\"transports\" is not one array");
		goto out;
	}
	for (i = t + 1; (uint32_t)i < d->tok[t].next; i = (int)d->tok[i].next) {
		if (ej_text(d, i, word, sizeof(word)) < 0) {
			snprintf(msg, msglen, "a transport is not a short string");
			goto out;
		}
		if (!strcmp(word, "tcp"))
			r.tcp = true;
		else if (!strcmp(word, "rdma"))
			r.rdma = true;
		/* Other words: transports of later versions; not ours to use. */
	}
	*out = r;
	ret = 0;
out:
	free(d);
	return ret;
}
