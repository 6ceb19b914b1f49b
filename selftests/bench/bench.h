/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of emp_bench share: its options, and the instance,
 * timing and output helpers of emp_bench.c, which the swap mode
 * (bench_swap.c), the VM modes (bench_vm.c) and the pool mode
 * (bench_pool.c) use too.
 */
#ifndef EMP_BENCH_H
#define EMP_BENCH_H

#include "libemp.h"
#include "lib/emp_test.h"

#define MIB (1ULL << 20)
#define FAULT_AROUND_PARAM	"/sys/module/emp/parameters/fault_around"

struct opts {
	const char *tier, *addr, *secret, *label, *mode, *dist, *cgroup;
	unsigned int port, block, sub, n, threads, node;
	unsigned int replica_port;	/* a second copy of a TCP/RDMA tier, on --addr */
	uint64_t size, budget, ws, local, full;
	int page_cluster;
	double secs;
};

/* emp_bench.c */
uint64_t now_ns(void);
int cmp_u64(const void *a, const void *b);
double pct_us(const uint64_t *v, size_t n, double p);
double mean_us(const uint64_t *v, size_t n);
void populate(uint8_t *m, uint64_t size);
void die(const char *what, int err) __attribute__((noreturn));
int inst_up(const char *name, const struct opts *o, uint32_t block, uint32_t sub,
	    uint64_t size, uint64_t budget, uint8_t **mp, int *fdp);
void inst_unmap(int ctl, const char *name, uint8_t *m, uint64_t size, int fd);
void inst_cold(int ctl, const char *name, uint32_t block, uint64_t budget);
void print_stat_delta(const struct emp_stat *a, const struct emp_stat *b);

/* bench_swap.c */
int do_swap(const struct opts *o);

/* bench_vm.c */
int do_vm(const struct opts *o);
int do_vmhuge(const struct opts *o);

/* bench_pool.c: its own options, after the word "pool" */
int do_pool(int argc, char **argv);

#endif /* EMP_BENCH_H */
