// SPDX-License-Identifier: LGPL-2.1
/* A small recursive-descent JSON reader (see emp_json.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "emp_json.h"

#define DEPTH_MAX	64

struct reader {
	const char *s;
	const char *p;
	int failed;
};

static void skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static struct emp_json *fail(struct reader *r, struct emp_json *j)
{
	r->failed = 1;
	emp_json_free(j);
	return NULL;
}

static char *string(struct reader *r)
{
	const char *p = r->p + 1;
	size_t n = 0;
	char *out;

	/* First pass: the length (escapes only shrink). */
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		p += *p == '\\' && p[1] ? 2 : 1;
	}
	if (*p != '"')
		return NULL;
	out = malloc((size_t)(p - r->p));
	if (!out)
		return NULL;
	for (p = r->p + 1; *p != '"'; p++) {
		if (*p != '\\') {
			out[n++] = *p;
			continue;
		}
		switch (*++p) {
		case '"': case '\\': case '/': out[n++] = *p; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			unsigned int v = 0, i;

			for (i = 1; i <= 4; i++) {
				if (!isxdigit((unsigned char)p[i])) {
					free(out);
					return NULL;
				}
				v = v * 16 + (unsigned int)(isdigit((unsigned char)p[i]) ? p[i] - '0' :
							    (tolower((unsigned char)p[i]) - 'a' + 10));
			}
			out[n++] = v && v < 0x80 ? (char)v : '?';
			p += 4;
			break;
		}
		default:
			free(out);
			return NULL;
		}
	}
	out[n] = 0;
	r->p = p + 1;
	return out;
}

static struct emp_json *value(struct reader *r, int depth);

/* Elements of an array or members of an object, up to @close. */
static struct emp_json *items(struct reader *r, struct emp_json *j, char close, int depth)
{
	struct emp_json **tail = &j->child;

	r->p++;
	skip_ws(r);
	if (*r->p == close) {
		r->p++;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct emp_json *v;

		skip_ws(r);
		if (close == '}') {
			if (*r->p != '"' || !(key = string(r)))
				return fail(r, j);
			skip_ws(r);
			if (*r->p != ':') {
				free(key);
				return fail(r, j);
			}
			r->p++;
		}
		v = value(r, depth + 1);
		if (!v) {
			free(key);
			return fail(r, j);
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(r);
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p != close)
			return fail(r, j);
		r->p++;
		return j;
	}
}

static struct emp_json *value(struct reader *r, int depth)
{
	struct emp_json *j;
	char *end;

	skip_ws(r);
	if (depth > DEPTH_MAX)
		return fail(r, NULL);
	j = calloc(1, sizeof(*j));
	if (!j)
		return fail(r, NULL);
	switch (*r->p) {
	case '{':
		j->type = EMP_JSON_OBJ;
		return items(r, j, '}', depth);
	case '[':
		j->type = EMP_JSON_ARR;
		return items(r, j, ']', depth);
	case '"':
		j->type = EMP_JSON_STR;
		j->str = string(r);
		return j->str ? j : fail(r, j);
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		unsigned int i;

		for (i = 0; i < 3; i++)
			if (!strncmp(r->p, words[i], strlen(words[i])))
				break;
		if (i == 3)
			return fail(r, j);
		j->type = i == 2 ? EMP_JSON_NULL : EMP_JSON_BOOL;
		j->num = i == 0;
		r->p += strlen(words[i]);
		return j;
	}
	default:
		if (*r->p != '-' && !isdigit((unsigned char)*r->p))
			return fail(r, j);
		j->type = EMP_JSON_NUM;
		j->num = strtod(r->p, &end);
		if (end == r->p)
			return fail(r, j);
		r->p = end;
		return j;
	}
}

struct emp_json *emp_json_parse(const char *text, size_t *err_at)
{
	struct reader r = { .s = text, .p = text };
	struct emp_json *j = value(&r, 0);

	if (j) {
		skip_ws(&r);
		if (*r.p)
			j = fail(&r, j);
	}
	if (!j && err_at)
		*err_at = (size_t)(r.p - r.s);
	return j;
}

void emp_json_free(struct emp_json *j)
{
	while (j) {
		struct emp_json *next = j->next;

		emp_json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

const struct emp_json *emp_json_get(const struct emp_json *obj, const char *key)
{
	const struct emp_json *c;

	if (!obj || obj->type != EMP_JSON_OBJ)
		return NULL;
	for (c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

double emp_json_num(const struct emp_json *obj, const char *key, double dflt)
{
	const struct emp_json *v = emp_json_get(obj, key);

	return v && (v->type == EMP_JSON_NUM || v->type == EMP_JSON_BOOL) ? v->num : dflt;
}

const char *emp_json_str(const struct emp_json *obj, const char *key)
{
	const struct emp_json *v = emp_json_get(obj, key);

	return v && v->type == EMP_JSON_STR ? v->str : NULL;
}
