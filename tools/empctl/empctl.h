/* SPDX-License-Identifier: GPL-2.0 */
/*
 * empctl internals shared by its files: command table entries, exit codes,
 * output helpers (aligned tables, JSON strings).
 */
#ifndef EMPCTL_H
#define EMPCTL_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "libemp.h"

#define EMPCTL_VERSION	"0.2.0"

/* Exit codes: documented in empctl(8). */
#define EX_OK		0
#define EX_FAIL		1	/* kernel or runtime error */
#define EX_USAGE	2	/* bad command line, spec or geometry */

/* One command: its name, a one-line summary, its usage text, its body. */
struct empctl_cmd {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(int argc, char **argv);
};

extern const struct empctl_cmd empctl_cmds[];

/* Print "empctl CMD: bad usage..." hint and return EX_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "empctl: ..." and return EX_FAIL. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Open /dev/emp or explain why not. Return: fd, or -1 after printing. */
int open_ctl(void);
/* The text after "empctl: OP NAME: strerror" for an errno of OP, or "". */
const char *errno_hint(const char *op, int err);
/* Show a spec error with a caret under its column. */
void show_spec_error(const char *cmd, const char *spec, const struct emp_spec *s, const char *err);

/* getopt_long for a command, with our own messages for bad options. */
int cmd_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* Print @n instances in Prometheus' text format (stat --prometheus). */
void print_stats_prometheus(const struct emp_stat *st, unsigned int n);

/* Print an instance as JSON (the stat --json object; "time" when @with_time). */
void print_stat_json(const struct emp_stat *st, int with_time);

/* Parse a size option: bare numbers in @unit. Return: 0 or EX_USAGE after printing. */
int opt_size(const char *cmd, const char *opt, const char *arg, uint64_t unit, uint64_t *out);

/* Commands (one file each group). */
int cmd_create(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_spec(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_pool(int argc, char **argv);
int cmd_cluster(int argc, char **argv);

/* Names of all instances, in the kernel's order, allocated. Return: count or -errno. */
int all_names(int fd, char (**names)[EMP_NAME_MAX]);

/* The cluster registry options of create, destroy and cluster (cluster.c). */
void cluster_defaults(struct emp_cluster *cl);	/* etcd from EMP_ETCD */
int cluster_opts(const char *cmd, int ch, const char *arg, struct emp_cluster *cl);

/* ---- Aligned tables ---------------------------------------------------- */
#define TBL_COLS	12
#define TBL_CELL	64

struct table {
	unsigned int cols;
	unsigned int rows;		/* header included */
	unsigned int cap;
	unsigned int right;		/* bit n: column n is right-aligned */
	char (*cell)[TBL_COLS][TBL_CELL];
};

/* Start a table whose header is the NULL-terminated list of names. */
int tbl_init(struct table *t, unsigned int right, ...);
/* Start a new row. Return: 0 or -ENOMEM. */
int tbl_row(struct table *t);
/* Set cell @col of the last row. */
void tbl_set(struct table *t, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print with two blanks between columns, @indent blanks before each line. */
void tbl_print(const struct table *t, FILE *f, unsigned int indent);
void tbl_free(struct table *t);

/* Write @s as a JSON string literal. */
void json_str(FILE *f, const char *s);

/* "12 ns", "3.4 us", "1.2 ms", "2.0 s". */
char *format_ns(uint64_t ns, char *buf, size_t len);

#endif /* EMPCTL_H */
