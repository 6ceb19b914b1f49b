// SPDX-License-Identifier: GPL-2.0
/*
 * empctl stat --prometheus: instances in Prometheus' text exposition
 * format, as node_exporter's textfile collector reads it (write it to a
 * temporary file and rename it into the collector's directory). One
 * family per metric, each with its HELP and TYPE lines once, a sample per
 * instance labelled name="NAME" (and tier="I",kind="K" for tier metrics).
 */
#include <stddef.h>
#include <stdio.h>

#include "empctl.h"

enum prom_type { PROM_COUNTER, PROM_GAUGE };

/* A u64 field of struct emp_stat, or of struct emp_tier_stat for tiers. */
struct prom_metric {
	const char *name;
	enum prom_type type;
	size_t off;
	const char *help;
};

#define STAT(f)	offsetof(struct emp_stat, f)
#define TIER(f)	offsetof(struct emp_tier_stat, f)

static const struct prom_metric inst_metrics[] = {
	{ "emp_size_bytes", PROM_GAUGE, STAT(inst_size), "Size of the instance." },
	{ "emp_dram_budget_bytes", PROM_GAUGE, STAT(dram_budget), "DRAM budget of the instance." },
	{ "emp_resident_bytes", PROM_GAUGE, STAT(resident), "DRAM the instance holds now." },
	{ "emp_meta_bytes", PROM_GAUGE, STAT(meta_bytes),
	  "Kernel memory of the instance's metadata." },
#define PROM_COUNTER_ROW(name, help) \
	{ "emp_" #name "_total", PROM_COUNTER, STAT(name), help },
	EMP_STAT_COUNTERS(PROM_COUNTER_ROW)
#undef PROM_COUNTER_ROW
};

static const struct prom_metric tier_metrics[] = {
	{ "emp_tier_size_bytes", PROM_GAUGE, TIER(size), "Bytes of the instance the tier holds." },
	{ "emp_tier_reads_total", PROM_COUNTER, TIER(reads), "Read requests completed." },
	{ "emp_tier_read_bytes_total", PROM_COUNTER, TIER(read_bytes), "Bytes read." },
	{ "emp_tier_writes_total", PROM_COUNTER, TIER(writes), "Write requests completed." },
	{ "emp_tier_write_bytes_total", PROM_COUNTER, TIER(write_bytes), "Bytes written." },
	{ "emp_tier_errors_total", PROM_COUNTER, TIER(errors), "Failed requests." },
};

static void family(const struct prom_metric *m)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
	       m->type == PROM_COUNTER ? "counter" : "gauge");
}

static uint64_t field(const void *base, size_t off)
{
	return *(const uint64_t *)((const char *)base + off);
}

/*
 * The monitor gauges, of the instances whose module fills them (families
 * with no sample are left out: a HELP without samples helps nobody).
 */
static void print_monitor_prometheus(const struct emp_stat *st, unsigned int n)
{
	static const unsigned int ages[EMP_COLD_BUCKETS] = EMP_COLD_AGES;
	unsigned int j, k, any = 0;

	for (j = 0; j < n; j++)
		any |= EMP_STAT_HAS(&st[j], cold_bytes);
	if (!any)
		return;
	printf("# HELP emp_pressure_ratio Share of the last second some task stalled on the "
	       "instance.\n# TYPE emp_pressure_ratio gauge\n");
	for (j = 0; j < n; j++)
		if (EMP_STAT_HAS(&st[j], cold_bytes))
			printf("emp_pressure_ratio{name=\"%s\"} %.3f\n", st[j].name,
			       st[j].pressure / 1000.0);
	printf("# HELP emp_pressure_threshold_ratio Pressure that sends an event (0: none).\n"
	       "# TYPE emp_pressure_threshold_ratio gauge\n");
	for (j = 0; j < n; j++)
		if (EMP_STAT_HAS(&st[j], cold_bytes))
			printf("emp_pressure_threshold_ratio{name=\"%s\"} %.3f\n", st[j].name,
			       st[j].pressure_threshold / 1000.0);
	printf("# HELP emp_cold_age_seconds Idle time after which blocks are demoted (0: off).\n"
	       "# TYPE emp_cold_age_seconds gauge\n");
	for (j = 0; j < n; j++)
		if (EMP_STAT_HAS(&st[j], cold_bytes))
			printf("emp_cold_age_seconds{name=\"%s\"} %llu\n", st[j].name,
			       (unsigned long long)st[j].cold_age_s);
	printf("# HELP emp_cold_bytes Resident bytes idle for at least age seconds.\n"
	       "# TYPE emp_cold_bytes gauge\n");
	for (j = 0; j < n; j++)
		for (k = 0; k < EMP_COLD_BUCKETS && EMP_STAT_HAS(&st[j], cold_bytes); k++)
			printf("emp_cold_bytes{name=\"%s\",age=\"%u\"} %llu\n", st[j].name,
			       ages[k], (unsigned long long)st[j].cold_bytes[k]);
}

/*
 * Instance names are [A-Za-z0-9_.-] (emp_check_name()), so a label value
 * needs no escaping.
 */
void print_stats_prometheus(const struct emp_stat *st, unsigned int n)
{
	static const struct { const char *name; unsigned int per_mille; } q[] = {
		{ "0.5", 500 }, { "0.99", 990 },
	};
	unsigned int i, j, k;

	for (i = 0; i < sizeof(inst_metrics) / sizeof(inst_metrics[0]); i++) {
		family(&inst_metrics[i]);
		for (j = 0; j < n; j++)
			printf("%s{name=\"%s\"} %llu\n", inst_metrics[i].name, st[j].name,
			       (unsigned long long)field(&st[j], inst_metrics[i].off));
	}
	printf("# HELP emp_io_error 1 if a tier request of the instance has failed.\n"
	       "# TYPE emp_io_error gauge\n");
	for (j = 0; j < n; j++)
		printf("emp_io_error{name=\"%s\"} %d\n", st[j].name,
		       !!(st[j].state & EMP_STATE_IO_ERROR));
	printf("# HELP emp_fault_latency_seconds Fault latency quantiles, from the kernel's "
	       "histogram (within about 6 %%).\n# TYPE emp_fault_latency_seconds gauge\n");
	for (j = 0; j < n; j++)
		for (k = 0; k < 2; k++)
			printf("emp_fault_latency_seconds{name=\"%s\",quantile=\"%s\"} %.9f\n",
			       st[j].name, q[k].name,
			       (double)emp_lat_quantile(&st[j], q[k].per_mille) / 1e9);
	print_monitor_prometheus(st, n);
	for (i = 0; i < sizeof(tier_metrics) / sizeof(tier_metrics[0]); i++) {
		family(&tier_metrics[i]);
		for (j = 0; j < n; j++)
			for (k = 0; k < st[j].nr_tiers && k < EMP_MAX_TIERS; k++)
				printf("%s{name=\"%s\",tier=\"%u\",kind=\"%s\"} %llu\n",
				       tier_metrics[i].name, st[j].name, k,
				       emp_tier_kind_name(st[j].tier[k].kind),
				       (unsigned long long)field(&st[j].tier[k],
								 tier_metrics[i].off));
	}
}
