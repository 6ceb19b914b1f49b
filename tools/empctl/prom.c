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
	{ "emp_faults_total", PROM_COUNTER, STAT(faults), "Faults on the instance's mappings." },
	{ "emp_hits_total", PROM_COUNTER, STAT(hits), "Faults that found their page resident." },
	{ "emp_zero_fills_total", PROM_COUNTER, STAT(zero_fills),
	  "Never-written subblocks zero-filled without I/O." },
	{ "emp_fetches_total", PROM_COUNTER, STAT(fetches), "Subblocks read from a tier." },
	{ "emp_evictions_total", PROM_COUNTER, STAT(evictions), "Blocks evicted from DRAM." },
	{ "emp_writebacks_total", PROM_COUNTER, STAT(writebacks),
	  "Dirty subblocks written back to a tier." },
	{ "emp_io_errors_total", PROM_COUNTER, STAT(io_errors), "Failed tier transfers." },
	{ "emp_sigbus_total", PROM_COUNTER, STAT(sigbus), "Faults answered with SIGBUS." },
	{ "emp_mapped_around_total", PROM_COUNTER, STAT(mapped_around),
	  "Pages mapped by fault-around." },
	{ "emp_nowait_retries_total", PROM_COUNTER, STAT(nowait_retries),
	  "No-wait faults (KVM) answered with retry." },
	{ "emp_cleaned_total", PROM_COUNTER, STAT(cleaned),
	  "Subblocks written back ahead of eviction by the cleaner." },
	{ "emp_huge_faults_total", PROM_COUNTER, STAT(huge_faults),
	  "Faults that mapped a whole block." },
	{ "emp_direct_reclaims_total", PROM_COUNTER, STAT(direct_reclaims),
	  "Faults that found no free DRAM in the budget." },
	{ "emp_reclaimed_total", PROM_COUNTER, STAT(reclaimed),
	  "Blocks evicted by the background reclaimer." },
	{ "emp_deactivated_total", PROM_COUNTER, STAT(deactivated),
	  "Blocks unmapped to learn whether they are still used." },
	{ "emp_reactivated_total", PROM_COUNTER, STAT(reactivated),
	  "Deactivated blocks found in use again." },
	{ "emp_prefetched_total", PROM_COUNTER, STAT(prefetched), "Subblocks read ahead." },
	{ "emp_prefetch_hits_total", PROM_COUNTER, STAT(prefetch_hits),
	  "Faults that found their subblock read ahead." },
	{ "emp_polled_reads_total", PROM_COUNTER, STAT(polled_reads),
	  "Reads of faults whose completion the faulting task polled for." },
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
