// SPDX-License-Identifier: GPL-2.0
/*
 * json_check: is standard input valid JSON (RFC 8259)? For guest tests of
 * empctl's --json output, where there is no python or jq.
 *
 * Usage: json_check [-l] [KEY...]
 *   -l    JSON Lines: every non-empty line is one JSON value
 *   KEY   each must occur as an object key somewhere in every value
 * Exit status 0 when valid, 1 with the offset of the first error otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *s;
	size_t pos;
	int depth;
	char keys[64][64];	/* object keys seen, for the KEY checks */
	int nkeys;
};

static int value(struct parser *p);

static void ws(struct parser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	       p->s[p->pos] == '\r')
		p->pos++;
}

static int string(struct parser *p, char *out, size_t outlen)
{
	size_t n = 0;

	if (p->s[p->pos] != '"')
		return -1;
	p->pos++;
	for (;;) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			c = (unsigned char)p->s[++p->pos];
			if (c == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p->s[p->pos + i]) ||
					    !p->s[p->pos + i])
						return -1;
				p->pos += 4;
			} else if (!strchr("\"\\/bfnrt", c) || !c) {
				return -1;
			}
		}
		if (out && n + 1 < outlen)
			out[n++] = (char)c;
		p->pos++;
	}
	if (out)
		out[n] = '\0';
	p->pos++;
	return 0;
}

static int number(struct parser *p)
{
	const char *s = p->s;
	size_t i = p->pos;

	if (s[i] == '-')
		i++;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return -1;
	if (s[i] == '.') {
		if (!(s[++i] >= '0' && s[i] <= '9'))
			return -1;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (!(s[i] >= '0' && s[i] <= '9'))
			return -1;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	p->pos = i;
	return 0;
}

static int composite(struct parser *p, char open, char close)
{
	if (++p->depth > 64)
		return -1;
	p->pos++;
	ws(p);
	if (p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return 0;
	}
	for (;;) {
		ws(p);
		if (open == '{') {
			char key[64];

			if (string(p, key, sizeof(key)))
				return -1;
			if (p->nkeys < 64)
				snprintf(p->keys[p->nkeys++], sizeof(p->keys[0]), "%s", key);
			ws(p);
			if (p->s[p->pos++] != ':')
				return -1;
		}
		if (value(p))
			return -1;
		ws(p);
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] != close)
			return -1;
		p->pos++;
		p->depth--;
		return 0;
	}
}

static int value(struct parser *p)
{
	ws(p);
	switch (p->s[p->pos]) {
	case '{': return composite(p, '{', '}');
	case '[': return composite(p, '[', ']');
	case '"': return string(p, NULL, 0);
	case 't': return strncmp(p->s + p->pos, "true", 4) ? -1 : (p->pos += 4, 0);
	case 'f': return strncmp(p->s + p->pos, "false", 5) ? -1 : (p->pos += 5, 0);
	case 'n': return strncmp(p->s + p->pos, "null", 4) ? -1 : (p->pos += 4, 0);
	default:  return number(p);
	}
}

/* Check one document; Return: 0 or 1 after a message. */
static int check(const char *doc, int argc, char **argv, int first_key, long line)
{
	struct parser p = { .s = doc };

	if (value(&p) || (ws(&p), p.s[p.pos])) {
		fprintf(stderr, "json_check: line %ld: invalid JSON at offset %zu: %.40s\n",
			line, p.pos, doc + p.pos);
		return 1;
	}
	for (int i = first_key; i < argc; i++) {
		int found = 0;

		for (int k = 0; k < p.nkeys && !found; k++)
			found = !strcmp(p.keys[k], argv[i]);
		if (!found && p.nkeys == 64)
			continue;	/* too many keys recorded to tell */
		if (!found) {
			fprintf(stderr, "json_check: line %ld: no key \"%s\"\n", line, argv[i]);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t len = 0, cap = 1 << 16;
	int lines = argc > 1 && !strcmp(argv[1], "-l");
	char *buf = malloc(cap), *line, *save;
	long n = 0, bad = 0, docs = 0;
	size_t got;

	if (!buf)
		return 1;
	while ((got = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += got;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				return 1;
			buf = nb;
		}
	}
	buf[len] = '\0';
	if (!lines) {
		bad = check(buf, argc, argv, 1, 1);
		free(buf);
		return (int)bad;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		n++;
		if (!*line)
			continue;
		docs++;
		bad |= check(line, argc, argv, 2, n);
	}
	free(buf);
	if (!docs) {
		fprintf(stderr, "json_check: no JSON lines\n");
		return 1;
	}
	return (int)bad;
}
