/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * A small JSON reader for the tools (empctl pool reads empd's report):
 * parses a document into a tree of nodes; strings are unescaped (\uXXXX
 * below 0x80 only, others become '?'). Not a validator for every corner
 * of RFC 8259, but it refuses what is not JSON.
 */
#ifndef EMP_JSON_H
#define EMP_JSON_H

#include <stddef.h>

enum emp_json_type { EMP_JSON_NULL, EMP_JSON_BOOL, EMP_JSON_NUM, EMP_JSON_STR,
		     EMP_JSON_ARR, EMP_JSON_OBJ };

struct emp_json {
	enum emp_json_type type;
	char *key;			/* member name inside an object, else NULL */
	char *str;			/* EMP_JSON_STR */
	double num;			/* EMP_JSON_NUM, and BOOL as 0/1 */
	struct emp_json *child;		/* first element or member */
	struct emp_json *next;		/* next sibling */
};

/* Parse @text. Return: the root (free with emp_json_free()) or NULL, with
 * the byte offset of the problem in *@err_at if given. */
struct emp_json *emp_json_parse(const char *text, size_t *err_at);
void emp_json_free(struct emp_json *j);
/* Member @key of object @obj, or NULL. */
const struct emp_json *emp_json_get(const struct emp_json *obj, const char *key);
/* Its number (@dflt when missing or not a number) or string (NULL). */
double emp_json_num(const struct emp_json *obj, const char *key, double dflt);
const char *emp_json_str(const struct emp_json *obj, const char *key);

#endif /* EMP_JSON_H */
