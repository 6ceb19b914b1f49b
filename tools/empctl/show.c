// SPDX-License-Identifier: GPL-2.0
/* empctl list and stat: instances as tables and as JSON. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "empctl.h"

static const char *state_name(const struct emp_stat *st)
{
	return st->state & EMP_STATE_IO_ERROR ? "io-error" : "ok";
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const unsigned int cold_ages[EMP_COLD_BUCKETS] = EMP_COLD_AGES;

/* "monitor":{...}, or null from modules without EMP_FEAT_MONITOR. */
static void print_monitor_json(const struct emp_stat *st)
{
	unsigned int i;

	if (!EMP_STAT_HAS(st, cold_bytes)) {
		printf("\"monitor\":null,");
		return;
	}
	printf("\"monitor\":{\"pressure\":%u,\"pressure_threshold\":%u,\"cold_age_s\":%llu,"
	       "\"cold_bytes\":{", st->pressure, st->pressure_threshold,
	       (unsigned long long)st->cold_age_s);
	for (i = 0; i < EMP_COLD_BUCKETS; i++)
		printf("%s\"%u\":%llu", i ? "," : "", cold_ages[i],
		       (unsigned long long)st->cold_bytes[i]);
	printf("}},");
}

/* Key/value rows of the monitor fields, when the module fills them. */
static void monitor_text(struct table *kv, const struct emp_stat *st)
{
	char b[32], line[TBL_CELL];
	unsigned int i, n = 0;

	if (!EMP_STAT_HAS(st, cold_bytes) || tbl_row(kv))
		return;
	tbl_set(kv, 0, "pressure");
	if (st->pressure_threshold)
		tbl_set(kv, 1, "%u.%u%% (event threshold %u.%u%%)", st->pressure / 10,
			st->pressure % 10, st->pressure_threshold / 10, st->pressure_threshold % 10);
	else
		tbl_set(kv, 1, "%u.%u%% (no event threshold)", st->pressure / 10, st->pressure % 10);
	if (tbl_row(kv))
		return;
	tbl_set(kv, 0, "cold age");
	if (st->cold_age_s)
		tbl_set(kv, 1, "%llu s (idle blocks demoted)", (unsigned long long)st->cold_age_s);
	else
		tbl_set(kv, 1, "off");
	/* "idle >=1s 4 MiB, >=10s 2 MiB, ...": the buckets that have bytes. */
	line[0] = 0;
	for (i = 0; i < EMP_COLD_BUCKETS && n + 24 < sizeof(line); i++) {
		if (!st->cold_bytes[i])
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s>=%us %s", n ? ", " : "",
				      cold_ages[i], emp_format_human(st->cold_bytes[i], b, sizeof(b)));
	}
	if (tbl_row(kv))
		return;
	tbl_set(kv, 0, "cold memory");
	tbl_set(kv, 1, "%s", n ? line : (st->age_scans ? "none" : "not scanned yet"));
}

/*
 * The state of each copy of a replicated tier from emp_tier_stat.copies:
 * "up", "lost", or "filling" (a new copy in the making: the one not up).
 */
static void copy_states(uint32_t copies, char cp[2][8])
{
	int i;

	for (i = 0; i < 2; i++) {
		if (copies & (i ? EMP_COPY_SECOND_UP : EMP_COPY_FIRST_UP))
			strcpy(cp[i], "up");
		else
			strcpy(cp[i], copies & EMP_COPY_RESYNC ? "filling" : "lost");
	}
}

void print_stat_json(const struct emp_stat *st, int with_time)
{
	unsigned int i;

	printf("{");
	if (with_time)
		printf("\"time\":%.3f,", now_seconds());
	printf("\"name\":");
	json_str(stdout, st->name);
	printf(",\"id\":%u,\"state\":\"%s\",\"size\":%llu,\"block_size\":%u,\"subblock_size\":%u,"
	       "\"dram_budget\":%llu,\"resident\":%llu,\"open\":%u,",
	       st->id, state_name(st), (unsigned long long)st->inst_size, st->block_size,
	       st->subblock_size, (unsigned long long)st->dram_budget,
	       (unsigned long long)st->resident, st->nr_open);
	printf("\"counters\":{");
#define JSON_COUNTER(name, help) printf("\"" #name "\":%llu,", (unsigned long long)st->name);
	EMP_STAT_COUNTERS(JSON_COUNTER)
#undef JSON_COUNTER
	printf("\"meta_bytes\":%llu},", (unsigned long long)st->meta_bytes);
	print_monitor_json(st);
	printf("\"fault_latency_ns\":{\"p50\":%llu,\"p99\":%llu,\"histogram\":[",
	       (unsigned long long)emp_lat_quantile(st, 500), (unsigned long long)emp_lat_quantile(st, 990));
	for (i = 0; i < EMP_LAT_BUCKETS; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)st->lat_hist[i]);
	printf("],\"fine\":[");
	for (i = 0; i < EMP_LAT_FINE_BUCKETS; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)st->lat_fine[i]);
	printf("]},\"tiers\":[");
	for (i = 0; i < st->nr_tiers && i < EMP_MAX_TIERS; i++) {
		const struct emp_tier_stat *t = &st->tier[i];

		char cp[2][8];

		copy_states(t->copies, cp);
		printf("%s{\"index\":%u,\"kind\":\"%s\",\"size\":%llu,\"reads\":%llu,\"read_bytes\":%llu,"
		       "\"writes\":%llu,\"write_bytes\":%llu,\"errors\":%llu,\"copies\":[", i ? "," : "",
		       i, emp_tier_kind_name(t->kind), (unsigned long long)t->size,
		       (unsigned long long)t->reads, (unsigned long long)t->read_bytes,
		       (unsigned long long)t->writes, (unsigned long long)t->write_bytes,
		       (unsigned long long)t->errors);
		if (t->copies & EMP_COPY_REPLICATED)
			printf("\"%s\",\"%s\"", cp[0], cp[1]);
		printf("]}");
	}
	printf("]}");
}

/* ---- list ---------------------------------------------------------------- */

int all_names(int fd, char (**names)[EMP_NAME_MAX])
{
	unsigned int room = 0;
	int n;

	*names = NULL;
	for (;;) {
		n = emp_list(fd, *names, room);
		if (n < 0 || (unsigned int)n <= room)
			return n;
		/* More than we had room for (or the first call): grow and retry. */
		room = (unsigned int)n + 8;
		free(*names);
		*names = calloc(room, EMP_NAME_MAX);
		if (!*names)
			return -ENOMEM;
	}
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char (*names)[EMP_NAME_MAX] = NULL, b[4][32];
	int json = 0, ch, fd, n, i, shown = 0, ret = EX_OK;
	struct emp_stat st;
	struct table t;

	optind = 1;
	while ((ch = cmd_getopt("list", argc, argv, "jh", opts)) != -1) {
		if (ch != 'j')
			return EX_USAGE;
		json = 1;
	}
	if (optind != argc)
		return usage_error("list", "unexpected argument '%s'", argv[optind]);
	fd = open_ctl();
	if (fd < 0)
		return EX_FAIL;
	n = all_names(fd, &names);
	if (n < 0) {
		close(fd);
		return fail("list: %s", strerror(-n));
	}
	if (tbl_init(&t, 0x3feU, "NAME", "SIZE", "DRAM", "RESIDENT", "BLOCK", "SUBBLOCK", "TIERS",
		     "FAULTS", "EVICTIONS", "OPEN", "STATE", NULL)) {
		ret = fail("out of memory");
		goto out;
	}
	t.right &= ~(1U << 10);		/* STATE reads better left-aligned */
	if (json)
		printf("{\"instances\":[");
	for (i = 0; i < n; i++) {
		int err = emp_stat(fd, names[i], &st);

		if (err == -ENOENT)	/* destroyed since the list was taken */
			continue;
		if (err) {
			ret = fail("stat %s: %s", names[i], strerror(-err));
			continue;
		}
		if (json) {
			printf("%s", shown ? "," : "");
			print_stat_json(&st, 0);
			shown++;
			continue;
		}
		if (tbl_row(&t)) {
			ret = fail("out of memory");
			break;
		}
		shown++;
		tbl_set(&t, 0, "%s", st.name);
		tbl_set(&t, 1, "%s", emp_format_human(st.inst_size, b[0], sizeof(b[0])));
		tbl_set(&t, 2, "%s", emp_format_human(st.dram_budget, b[1], sizeof(b[1])));
		tbl_set(&t, 3, "%s", emp_format_human(st.resident, b[2], sizeof(b[2])));
		tbl_set(&t, 4, "%s", emp_format_human(st.block_size, b[3], sizeof(b[3])));
		tbl_set(&t, 5, "%s", emp_format_human(st.subblock_size, b[0], sizeof(b[0])));
		tbl_set(&t, 6, "%u", st.nr_tiers);
		tbl_set(&t, 7, "%llu", (unsigned long long)st.faults);
		tbl_set(&t, 8, "%llu", (unsigned long long)st.evictions);
		tbl_set(&t, 9, "%u", st.nr_open);
		tbl_set(&t, 10, "%s", state_name(&st));
	}
	if (json)
		printf("]}\n");
	else if (shown)
		tbl_print(&t, stdout, 0);
	else
		printf("no instances\n");
	tbl_free(&t);
out:
	free(names);
	close(fd);
	return ret;
}

/* ---- stat ---------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * One counter's row, labelled with its field's @name ('_' shown as a
 * blank): "12345" or, in watch mode with an earlier report,
 * "12345  (+678/s)".
 */
static void counter(struct table *t, const char *name, uint64_t v, uint64_t prev,
		    double dt, int rates)
{
	char label[32];
	size_t i;

	if (tbl_row(t))
		return;
	for (i = 0; name[i] && i < sizeof(label) - 1; i++)
		label[i] = name[i] == '_' ? ' ' : name[i];
	label[i] = 0;
	tbl_set(t, 0, "%s", label);
	tbl_set(t, 1, "%llu", (unsigned long long)v);
	if (rates && dt > 0)
		tbl_set(t, 2, "(%+.0f/s)", ((double)v - (double)prev) / dt);
}

static void print_stat_text(const struct emp_stat *st, const struct emp_stat *prev, double dt)
{
	char b[4][32], dev[64];
	struct table kv, tiers;
	uint64_t p50, p99;
	unsigned int i;
	int rates = prev != NULL;

	if (!prev)
		prev = st;
	if (tbl_init(&kv, 0, "", "", "", NULL) ||
	    tbl_init(&tiers, 0xfdU, "TIER", "KIND", "SIZE", "READS", "READ", "WRITES", "WRITTEN",
		     "ERRORS", "COPIES", NULL)) {
		tbl_free(&kv);
		fail("out of memory");
		return;
	}
	/* Key/value lines: drop the empty header row the table starts with. */
	kv.rows = 0;
#define KV(label, ...) do { if (!tbl_row(&kv)) { tbl_set(&kv, 0, "%s", label); \
			tbl_set(&kv, 1, __VA_ARGS__); } } while (0)
	KV("name", "%s", st->name);
	KV("id", "%u", st->id);
	KV("device", "%s", emp_inst_path(st->name, dev, sizeof(dev)));
	KV("state", "%s", state_name(st));
	KV("size", "%s", emp_format_human(st->inst_size, b[0], sizeof(b[0])));
	KV("block", "%s", emp_format_human(st->block_size, b[0], sizeof(b[0])));
	KV("subblock", "%s", emp_format_human(st->subblock_size, b[0], sizeof(b[0])));
	KV("dram budget", "%s", emp_format_human(st->dram_budget, b[0], sizeof(b[0])));
	if (!st->nr_tiers)
		KV("tiers", "%s", "none: DRAM-only, never evicts");
	KV("resident", "%s", emp_format_human(st->resident, b[0], sizeof(b[0])));
	if (st->dram_budget)
		tbl_set(&kv, 2, "(%llu%% of the budget)",
			(unsigned long long)(st->resident * 100 / st->dram_budget));
	KV("open", "%u", st->nr_open);
#define TEXT_COUNTER(name, help) counter(&kv, #name, st->name, prev->name, dt, rates);
	EMP_STAT_COUNTERS(TEXT_COUNTER)
#undef TEXT_COUNTER
	KV("metadata", "%s", emp_format_human(st->meta_bytes, b[0], sizeof(b[0])));
	monitor_text(&kv, st);
	p50 = emp_lat_quantile(st, 500);
	p99 = emp_lat_quantile(st, 990);
	if (!p50)
		KV("fault latency", "%s", "no faults yet");
	else if (p99 == UINT64_MAX)
		KV("fault latency", "p50 %s, p99 above the histogram",
		   format_ns(p50, b[0], sizeof(b[0])));
	else
		KV("fault latency", "p50 %s, p99 %s", format_ns(p50, b[0], sizeof(b[0])),
		   format_ns(p99, b[1], sizeof(b[1])));
#undef KV
	tbl_print(&kv, stdout, 0);
	for (i = 0; i < st->nr_tiers && i < EMP_MAX_TIERS; i++) {
		const struct emp_tier_stat *t = &st->tier[i];

		if (tbl_row(&tiers))
			break;
		tbl_set(&tiers, 0, "%u", i);
		tbl_set(&tiers, 1, "%s", emp_tier_kind_name(t->kind));
		tbl_set(&tiers, 2, "%s", emp_format_human(t->size, b[0], sizeof(b[0])));
		tbl_set(&tiers, 3, "%llu", (unsigned long long)t->reads);
		tbl_set(&tiers, 4, "%s", emp_format_human(t->read_bytes, b[1], sizeof(b[1])));
		tbl_set(&tiers, 5, "%llu", (unsigned long long)t->writes);
		tbl_set(&tiers, 6, "%s", emp_format_human(t->write_bytes, b[2], sizeof(b[2])));
		tbl_set(&tiers, 7, "%llu", (unsigned long long)t->errors);
		if (t->copies & EMP_COPY_REPLICATED) {
			char cp[2][8];

			copy_states(t->copies, cp);
			tbl_set(&tiers, 8, "%s+%s", cp[0], cp[1]);
		} else {
			tbl_set(&tiers, 8, "-");
		}
	}
	if (st->nr_tiers) {
		putchar('\n');
		tbl_print(&tiers, stdout, 0);
	}
	tbl_free(&kv);
	tbl_free(&tiers);
}

/*
 * stat --prometheus [NAME]: NAME, or every instance, as one snapshot. An
 * instance destroyed between the list and its stat is left out.
 */
static int stat_prometheus(int fd, const char *name)
{
	char (*names)[EMP_NAME_MAX] = NULL;
	struct emp_stat *st;
	int n, i, got = 0, ret;

	if (name) {
		n = 1;
	} else {
		n = all_names(fd, &names);
		if (n < 0)
			return fail("list: %s%s", strerror(-n), errno_hint("list", -n));
	}
	st = calloc(n ? n : 1, sizeof(*st));
	if (!st) {
		free(names);
		return fail("out of memory");
	}
	for (i = 0; i < n; i++) {
		ret = emp_stat(fd, name ? name : names[i], &st[got]);
		if (ret == -ENOENT && !name)
			continue;
		if (ret) {
			free(st);
			free(names);
			return fail("stat %s: %s%s", name ? name : names[i], strerror(-ret),
				    errno_hint("stat", -ret));
		}
		got++;
	}
	print_stats_prometheus(st, got);
	free(st);
	free(names);
	return fflush(stdout) ? fail("stdout: %s", strerror(errno)) : EX_OK;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",  no_argument,       NULL, 'j' },
		{ "prometheus", no_argument,  NULL, 'p' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "help",  no_argument,       NULL, 'h' },
		{ 0 }
	};
	struct emp_stat st, prev;
	double every = 0, last = 0, t;
	long count = -1, done = 0;
	const char *name;
	int json = 0, prom = 0, ch, fd, ret;
	struct sigaction sa;
	char *end;

	optind = 1;
	while ((ch = cmd_getopt("stat", argc, argv, "jpw:n:h", opts)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'p':
			prom = 1;
			break;
		case 'w':
			errno = 0;
			every = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(every > 0) || every > 86400)
				return usage_error("stat", "--watch '%s' is not a number of seconds "
						   "in 0..86400", optarg);
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || count < 1)
				return usage_error("stat", "--count '%s' is not a positive number", optarg);
			break;
		default:
			return EX_USAGE;
		}
	}
	if (prom && (json || every))
		return usage_error("stat", "--prometheus goes alone: one snapshot, neither --json "
				   "nor --watch (run it from a timer)");
	if (optind == argc && !prom)
		return usage_error("stat", "missing NAME");
	if (optind + 1 < argc)
		return usage_error("stat", "unexpected argument '%s'", argv[optind + 1]);
	name = optind < argc ? argv[optind] : NULL;
	if (prom && !name) {
		fd = open_ctl();
		if (fd < 0)
			return EX_FAIL;
		ret = stat_prometheus(fd, NULL);
		close(fd);
		return ret;
	}
	if (emp_check_name(name))
		return usage_error("stat", "'%s' is not an instance name", name);
	if (count > 0 && !every)
		return usage_error("stat", "--count goes with --watch");
	fd = open_ctl();
	if (fd < 0)
		return EX_FAIL;
	if (prom) {
		ret = stat_prometheus(fd, name);
		close(fd);
		return ret;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	if (every) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	for (;;) {
		ret = emp_stat(fd, name, &st);
		if (ret) {
			close(fd);
			return fail("stat %s: %s%s", name, strerror(-ret), errno_hint("stat", -ret));
		}
		t = now_seconds();
		if (json) {
			print_stat_json(&st, 1);
			putchar('\n');
		} else {
			if (every) {
				char when[64];
				time_t now = (time_t)t;
				struct tm tm;

				strftime(when, sizeof(when), "%F %T", localtime_r(&now, &tm));
				printf("%s---- %s ----\n", done ? "\n" : "", when);
			}
			print_stat_text(&st, done ? &prev : NULL, t - last);
		}
		fflush(stdout);
		prev = st;
		last = t;
		done++;
		if (!every || (count > 0 && done >= count))
			break;
		{
			struct timespec ts = {
				.tv_sec = (time_t)every,
				.tv_nsec = (long)((every - (double)(time_t)every) * 1e9),
			};

			while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
		if (stop)
			break;
	}
	close(fd);
	return EX_OK;
}
