/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of emp.ko (system "emp"): what perf, bpftrace and tracefs
 * see of faults, fetches, writebacks, evictions and failed tier requests.
 * Fields are plain values (the instance by name), so the format is the
 * same on every kernel. Defined once, in emp_main.c.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM emp

#if !defined(_EMP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _EMP_TRACE_H

#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/emp.h>

/* A fault on an instance mapping is answered (hit: no tier read). */
TRACE_EVENT(emp_fault,
	TP_PROTO(const char *name, unsigned long pgoff, bool hit, u64 ns),
	TP_ARGS(name, pgoff, hit, ns),
	TP_STRUCT__entry(
		__array(char, name, EMP_NAME_MAX)
		__field(unsigned long, pgoff)
		__field(bool, hit)
		__field(u64, ns)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, EMP_NAME_MAX);
		__entry->pgoff = pgoff;
		__entry->hit = hit;
		__entry->ns = ns;
	),
	TP_printk("inst=%s pgoff=%lu hit=%d ns=%llu", __entry->name, __entry->pgoff,
		  __entry->hit, (unsigned long long)__entry->ns)
);

/* Subblocks [first, first + nr) of a block came from its tier (or failed). */
TRACE_EVENT(emp_fetch,
	TP_PROTO(const char *name, unsigned long block, unsigned int first,
		 unsigned int nr, bool background, int err),
	TP_ARGS(name, block, first, nr, background, err),
	TP_STRUCT__entry(
		__array(char, name, EMP_NAME_MAX)
		__field(unsigned long, block)
		__field(unsigned int, first)
		__field(unsigned int, nr)
		__field(bool, background)
		__field(int, err)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, EMP_NAME_MAX);
		__entry->block = block;
		__entry->first = first;
		__entry->nr = nr;
		__entry->background = background;
		__entry->err = err;
	),
	TP_printk("inst=%s block=%lu sub=%u nr=%u background=%d err=%d", __entry->name,
		  __entry->block, __entry->first, __entry->nr, __entry->background,
		  __entry->err)
);

/* Dirty subblocks [first, first + nr) of a block were written to its tier. */
TRACE_EVENT(emp_writeback,
	TP_PROTO(const char *name, unsigned long block, unsigned int first,
		 unsigned int nr, int err),
	TP_ARGS(name, block, first, nr, err),
	TP_STRUCT__entry(
		__array(char, name, EMP_NAME_MAX)
		__field(unsigned long, block)
		__field(unsigned int, first)
		__field(unsigned int, nr)
		__field(int, err)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, EMP_NAME_MAX);
		__entry->block = block;
		__entry->first = first;
		__entry->nr = nr;
		__entry->err = err;
	),
	TP_printk("inst=%s block=%lu sub=%u nr=%u err=%d", __entry->name, __entry->block,
		  __entry->first, __entry->nr, __entry->err)
);

/* A block left DRAM (err: its writeback failed and it stayed). */
TRACE_EVENT(emp_evict,
	TP_PROTO(const char *name, unsigned long block, bool background, int err),
	TP_ARGS(name, block, background, err),
	TP_STRUCT__entry(
		__array(char, name, EMP_NAME_MAX)
		__field(unsigned long, block)
		__field(bool, background)
		__field(int, err)
	),
	TP_fast_assign(
		strscpy(__entry->name, name, EMP_NAME_MAX);
		__entry->block = block;
		__entry->background = background;
		__entry->err = err;
	),
	TP_printk("inst=%s block=%lu background=%d err=%d", __entry->name, __entry->block,
		  __entry->background, __entry->err)
);

/* A tier request failed. */
TRACE_EVENT(emp_tier_error,
	TP_PROTO(const char *tier, bool write, u64 pos, unsigned int nr_pages, int err),
	TP_ARGS(tier, write, pos, nr_pages, err),
	TP_STRUCT__entry(
		__array(char, tier, 16)
		__field(bool, write)
		__field(u64, pos)
		__field(unsigned int, nr_pages)
		__field(int, err)
	),
	TP_fast_assign(
		strscpy(__entry->tier, tier, sizeof(__entry->tier));
		__entry->write = write;
		__entry->pos = pos;
		__entry->nr_pages = nr_pages;
		__entry->err = err;
	),
	TP_printk("tier=%s %s pos=%llu pages=%u err=%d", __entry->tier,
		  __entry->write ? "write" : "read", (unsigned long long)__entry->pos,
		  __entry->nr_pages, __entry->err)
);

#endif /* _EMP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE emp_trace
#include <trace/define_trace.h>
