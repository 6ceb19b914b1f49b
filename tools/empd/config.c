// SPDX-License-Identifier: GPL-2.0
/*
 * empd.conf: "KEY VALUE" lines; '#' starts a comment. Global keys come
 * first; "instance PATTERN" opens a rule that the keys after it fill, up to
 * the next "instance" line. Every mistake is reported as FILE:LINE: reason.
 * The syntax is in empd.conf(5).
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "empd.h"

#define LINE_MAX_LEN	1024

struct parse {
	const char *fname;
	unsigned int line;
	char *err;
	size_t errlen;
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->errlen)
		return -EINVAL;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->fname, p->line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const struct empd_rule default_rule = {
	.pattern = "*", .weight = 1, .idle_age = 10,
	.cold_age = EMPD_UNSET, .pressure_threshold = EMPD_UNSET,
};

static void config_defaults(struct empd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval_ms = 1000;
	snprintf(c->socket, sizeof(c->socket), "%s", EMPD_SOCK_DEFAULT);
	c->stall_high = 20;
	c->refault_high = 10;
	c->cold_share = 25;
	c->headroom = 12;
	c->history = 32;
}

/* A decimal number in [lo, hi]. */
static int number(struct parse *p, const char *key, const char *v, long lo, long hi, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n < lo || n > hi)
		return bad(p, "%s '%s' is not a number in %ld..%ld", key, v, lo, hi);
	*out = n;
	return 0;
}

static int size(struct parse *p, const char *key, const char *v, uint64_t *out)
{
	int err = emp_parse_size(v, 1, out);

	if (err == -ERANGE)
		return bad(p, "%s '%s' is too large", key, v);
	if (err)
		return bad(p, "%s '%s' is not a size (bytes, or a number with a K, M, G or T suffix)",
			   key, v);
	return 0;
}

/* Instance names are [A-Za-z0-9_.-]; a pattern adds the glob characters. */
static int check_pattern(struct parse *p, const char *v)
{
	const char *s;

	if (strlen(v) >= EMPD_PATTERN_MAX)
		return bad(p, "instance pattern '%s' is longer than %d characters", v,
			   EMPD_PATTERN_MAX - 1);
	for (s = v; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-*?[]!", *s))
			return bad(p, "instance pattern '%s' has '%c', which no instance name has",
				   v, *s);
	return 0;
}

static int global_key(struct parse *p, struct empd_config *c, const char *k, const char *v)
{
	long n;
	int err = 0;

	if (!strcmp(k, "pool")) {
		err = size(p, k, v, &c->pool);
		if (!err && !c->pool)
			err = bad(p, "pool must not be 0");
	} else if (!strcmp(k, "interval_ms")) {
		err = number(p, k, v, 100, 3600000, &n);
		c->interval_ms = (unsigned int)n;
	} else if (!strcmp(k, "socket")) {
		if (strlen(v) >= sizeof(c->socket))
			return bad(p, "socket path is longer than %zu bytes", sizeof(c->socket) - 1);
		if (strcmp(v, "none") && v[0] != '/')
			return bad(p, "socket '%s' is not an absolute path (or none)", v);
		snprintf(c->socket, sizeof(c->socket), "%s", strcmp(v, "none") ? v : "");
	} else if (!strcmp(k, "http_port")) {
		err = number(p, k, v, 0, 65535, &n);
		c->http_port = (unsigned int)n;
	} else if (!strcmp(k, "stall_high")) {
		err = number(p, k, v, 1, 1000, &n);
		c->stall_high = (unsigned int)n;
	} else if (!strcmp(k, "refault_high")) {
		err = number(p, k, v, 1, 1000000, &n);
		c->refault_high = (unsigned int)n;
	} else if (!strcmp(k, "cold_share")) {
		err = number(p, k, v, 1, 100, &n);
		c->cold_share = (unsigned int)n;
	} else if (!strcmp(k, "headroom")) {
		err = number(p, k, v, 0, 100, &n);
		c->headroom = (unsigned int)n;
	} else if (!strcmp(k, "history")) {
		err = number(p, k, v, 1, 10000, &n);
		c->history = (unsigned int)n;
	} else {
		return 1;	/* not a global key */
	}
	return err;
}

static int rule_key(struct parse *p, struct empd_rule *r, const char *k, const char *v)
{
	long n;
	int err = 0;

	if (!strcmp(k, "min")) {
		err = size(p, k, v, &r->min);
	} else if (!strcmp(k, "max")) {
		err = size(p, k, v, &r->max);
	} else if (!strcmp(k, "weight")) {
		err = number(p, k, v, 1, EMPD_WEIGHT_MAX, &n);
		r->weight = (unsigned int)n;
	} else if (!strcmp(k, "idle_age")) {
		err = number(p, k, v, 1, 86400, &n);
		r->idle_age = (unsigned int)n;
	} else if (!strcmp(k, "cold_age")) {
		err = number(p, k, v, 0, 86400 * 365L, &n);
		r->cold_age = n;
	} else if (!strcmp(k, "pressure_threshold")) {
		err = number(p, k, v, 0, 1000, &n);
		r->pressure_threshold = n;
	} else {
		return 1;
	}
	return err;
}

static int check_rule(struct parse p0, const struct empd_rule *r)
{
	struct parse *p = &p0;
	char b[2][32];

	p->line = r->line;	/* the block's own line, wherever it ends */
	if (r->max && r->min > r->max)
		return bad(p, "instance %s: min %s is above max %s", r->pattern,
			   emp_format_size(r->min, b[0], sizeof(b[0])),
			   emp_format_size(r->max, b[1], sizeof(b[1])));
	return 0;
}

/* Split @s into at most three blank-separated words; ignore a comment. */
static int split(char *s, char *w[3])
{
	int n = 0;
	char *hash = strchr(s, '#');

	if (hash)
		*hash = 0;
	w[0] = w[1] = w[2] = NULL;
	for (;;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			return n;
		if (n == 3)
			return 4;
		w[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = 0;
	}
}

static int add_rule(struct parse *p, struct empd_config *c, const char *pattern)
{
	struct empd_rule *r;
	unsigned int i;

	for (i = 0; i < c->nr_rules; i++)
		if (!strcmp(c->rules[i].pattern, pattern))
			return bad(p, "instance %s is already given at line %u", pattern,
				   c->rules[i].line);
	r = realloc(c->rules, (c->nr_rules + 1) * sizeof(*r));
	if (!r)
		return bad(p, "out of memory");
	c->rules = r;
	r = &c->rules[c->nr_rules++];
	*r = default_rule;
	snprintf(r->pattern, sizeof(r->pattern), "%s", pattern);
	r->line = p->line;
	return 0;
}

static int is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int empd_config_parse(FILE *f, const char *fname, struct empd_config *c,
		      char *err, size_t errlen)
{
	struct parse p = { .fname = fname, .err = err, .errlen = errlen };
	char buf[LINE_MAX_LEN + 2], *w[3];
	unsigned int pool_line = 0, i;
	uint64_t mins = 0;
	int n, ret;

	config_defaults(c);
	if (errlen)
		err[0] = 0;
	while (fgets(buf, sizeof(buf), f)) {
		p.line++;
		if (!strchr(buf, '\n') && !feof(f))
			return bad(&p, "line longer than %d characters", LINE_MAX_LEN);
		n = split(buf, w);
		if (!n)
			continue;
		if (n == 1)
			return bad(&p, "%s needs a value", w[0]);
		if (n > 2)
			return bad(&p, "%s takes one value, not '%s %s...'", w[0], w[1], w[2]);
		if (!strcmp(w[0], "instance")) {
			if (c->nr_rules && (ret = check_rule(p, &c->rules[c->nr_rules - 1])))
				return ret;
			if ((ret = check_pattern(&p, w[1])) || (ret = add_rule(&p, c, w[1])))
				return ret;
			continue;
		}
		if (c->nr_rules) {
			ret = rule_key(&p, &c->rules[c->nr_rules - 1], w[0], w[1]);
			if (ret == 1 && global_key(&p, &(struct empd_config){ 0 }, w[0], w[1]) != 1)
				return bad(&p, "%s is a global setting: put it before the first "
					   "instance block", w[0]);
		} else {
			ret = global_key(&p, c, w[0], w[1]);
			if (!ret && !strcmp(w[0], "pool"))
				pool_line = p.line;
			if (ret == 1 && rule_key(&p, &(struct empd_rule){ 0 }, w[0], w[1]) != 1)
				return bad(&p, "%s belongs to an instance block (instance PATTERN)", w[0]);
		}
		if (ret == 1)
			return bad(&p, "unknown setting '%s'", w[0]);
		if (ret)
			return ret;
	}
	if (ferror(f))
		return bad(&p, "read error");
	if (c->nr_rules && (ret = check_rule(p, &c->rules[c->nr_rules - 1])))
		return ret;
	if (!pool_line) {
		p.line = p.line ? p.line : 1;
		return bad(&p, "no pool size given (pool SIZE)");
	}
	/* Rules for one name each must fit the pool with their minimums. */
	for (i = 0; i < c->nr_rules; i++) {
		if (is_glob(c->rules[i].pattern))
			continue;
		mins += c->rules[i].min;
		if (mins > c->pool) {
			char b[2][32];

			p.line = c->rules[i].line;
			return bad(&p, "the minimums of the instances up to %s (%s) exceed the "
				   "pool (%s)", c->rules[i].pattern,
				   emp_format_size(mins, b[0], sizeof(b[0])),
				   emp_format_size(c->pool, b[1], sizeof(b[1])));
		}
	}
	return 0;
}

int empd_config_load(const char *path, struct empd_config *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		ret = -errno;
		config_defaults(c);
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = empd_config_parse(f, path, c, err, errlen);
	fclose(f);
	return ret;
}

void empd_config_free(struct empd_config *c)
{
	free(c->rules);
	c->rules = NULL;
	c->nr_rules = 0;
}

const struct empd_rule *empd_rule_for(const struct empd_config *c, const char *name)
{
	unsigned int i;

	for (i = 0; i < c->nr_rules; i++)
		if (!fnmatch(c->rules[i].pattern, name, 0))
			return &c->rules[i];
	return &default_rule;
}
