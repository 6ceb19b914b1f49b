// SPDX-License-Identifier: GPL-2.0
/* empctl: aligned tables, JSON strings, durations. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "empctl.h"

int tbl_init(struct table *t, unsigned int right, ...)
{
	const char *name;
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->right = right;
	if (tbl_row(t))
		return -ENOMEM;
	va_start(ap, right);
	while ((name = va_arg(ap, const char *)) && t->cols < TBL_COLS)
		snprintf(t->cell[0][t->cols++], TBL_CELL, "%s", name);
	va_end(ap);
	return 0;
}

int tbl_row(struct table *t)
{
	if (t->rows == t->cap) {
		unsigned int cap = t->cap ? t->cap * 2 : 16;
		void *p = realloc(t->cell, cap * sizeof(*t->cell));

		if (!p)
			return -ENOMEM;
		t->cell = p;
		t->cap = cap;
	}
	memset(t->cell[t->rows], 0, sizeof(*t->cell));
	t->rows++;
	return 0;
}

void tbl_set(struct table *t, unsigned int col, const char *fmt, ...)
{
	va_list ap;

	if (!t->rows || col >= TBL_COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(t->cell[t->rows - 1][col], TBL_CELL, fmt, ap);
	va_end(ap);
}

void tbl_print(const struct table *t, FILE *f, unsigned int indent)
{
	size_t w[TBL_COLS] = { 0 }, line_max = indent + 1;
	unsigned int r, c;
	char *line;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++)
			if (strlen(t->cell[r][c]) > w[c])
				w[c] = strlen(t->cell[r][c]);
	for (c = 0; c < t->cols; c++)
		line_max += w[c] + 2;
	line = malloc(line_max);
	if (!line)
		return;
	for (r = 0; r < t->rows; r++) {
		size_t n = (size_t)snprintf(line, line_max, "%*s", (int)indent, "");

		for (c = 0; c < t->cols; c++) {
			const char *s = t->cell[r][c];

			n += (size_t)snprintf(line + n, line_max - n,
					      t->right & (1U << c) ? "%*s%s" : "%-*s%s", (int)w[c], s,
					      c + 1 < t->cols ? "  " : "");
		}
		/* Empty or short last columns leave blanks: no trailing ones. */
		while (n > 0 && line[n - 1] == ' ')
			n--;
		line[n] = '\0';
		fprintf(f, "%s\n", line);
	}
	free(line);
}

void tbl_free(struct table *t)
{
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

char *format_ns(uint64_t ns, char *buf, size_t len)
{
	static const char *const unit[] = { "ns", "us", "ms", "s" };
	uint64_t div = 1;
	unsigned int i = 0;

	while (i < 3 && ns >= div * 1000) {
		div *= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else
		snprintf(buf, len, "%llu.%llu %s", (unsigned long long)(ns / div),
			 (unsigned long long)(ns % div / (div / 10)), unit[i]);
	return buf;
}
