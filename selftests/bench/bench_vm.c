// SPDX-License-Identifier: GPL-2.0
/*
 * emp_bench's VM modes (emp_bench vm, emp_bench vmhuge; see emp_bench.c):
 * a KVM VM (selftests/lib/emp_kvm_vm.h) whose memory slot is an instance.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "bench.h"
#include "lib/emp_kvm_vm.h"

/* ---- VM mode: a KVM guest on the instance ------------------------------- */

/* Guest-physical layout: the guest code in anonymous memory at 0, the
 * instance at VM_INST_GPA, 1 MiB of anonymous memory after it. */
#define VM_CODE_SIZE	(64 << 10)
#define VM_INST_GPA	(2 * MIB)
#define VM_HOT_SIZE	(1 * MIB)

struct vm_bench {
	int ctl, kvm, vmfd, fd;
	const char *name;
	const struct opts *o;
	uint8_t *inst, *code, *hot;
	uint64_t hot_gpa;
	uint32_t seed;
	struct ekv_vcpu v[2];
};

static void vm_check(int64_t r, const char *what)
{
	if (r > 0)
		die(what, EIO);		/* the guest read a wrong word */
	if (r <= EKV_EXIT_BASE)
		die(what, EPROTO);	/* an unexpected exit */
	if (r < 0)
		die(what, (int)-r);
}

/* One timed guest pass over the cold instance, fault-around @on or off. */
static void vm_around_pass(struct vm_bench *b, int on, unsigned int round)
{
	const struct opts *o = b->o;
	uint64_t npg = o->size / ET_PAGE, t0, t1;
	int64_t pf0, pf1, r;
	struct emp_stat s0, s1;
	int err;

	if ((err = et_write_file(FAULT_AROUND_PARAM, on ? "Y" : "N")))
		die("write " FAULT_AROUND_PARAM, err);
	inst_cold(b->ctl, b->name, o->block, o->budget);
	if ((err = emp_stat(b->ctl, b->name, &s0)))
		die("stat", err);
	pf0 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	t0 = now_ns();
	r = ekv_run(&b->v[0], EKV_CHECK, b->seed, VM_INST_GPA, VM_INST_GPA + o->size);
	t1 = now_ns();
	pf1 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	if ((err = emp_stat(b->ctl, b->name, &s1)))
		die("stat", err);
	vm_check(r, "guest pass over the instance");
	printf("# BENCH {\"bench\":\"vm\",\"test\":\"around\",\"contender\":\"%s\","
	       "\"tier\":\"%s\",\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
	       "\"round\":%u,\"pages\":%llu,\"secs\":%.4f,\"pages_per_s\":%.0f,"
	       "\"kvm_faults\":%lld,",
	       on ? "on" : "off", o->tier, o->block, o->sub, (unsigned long long)o->size,
	       (unsigned long long)o->budget, round, (unsigned long long)npg,
	       (t1 - t0) / 1e9, npg / ((t1 - t0) / 1e9),
	       (long long)(pf0 >= 0 && pf1 >= 0 ? pf1 - pf0 : -1));
	print_stat_delta(&s0, &s1);
	printf("}\n");
}

/* vCPU 0's load while vCPU 1 is measured: passes until told to stop. */
struct vm_load {
	struct vm_bench *b;
	uint64_t lo, hi;
	volatile int stop;
	unsigned int passes;
	int64_t result;
};

static void *vm_load_thread(void *p)
{
	struct vm_load *l = p;

	while (!l->stop) {
		l->result = ekv_run(&l->b->v[0], EKV_CHECK, l->b->seed, l->lo, l->hi);
		if (l->result)
			break;
		l->passes++;
	}
	return NULL;
}

/* vCPU 1's passes over the anonymous memory per second, beside @load
 * ("alone": none; "cpu": vCPU 0 on the same memory; "fetch": vCPU 0 on the
 * cold instance). */
static void vm_side_by_side(struct vm_bench *b, const char *load, unsigned int round)
{
	const struct opts *o = b->o;
	struct vm_load l = { .b = b };
	struct emp_stat s0, s1;
	unsigned int passes = 0;
	uint64_t t0, t1, end;
	pthread_t t;
	int err;

	inst_cold(b->ctl, b->name, o->block, o->budget);
	if ((err = emp_stat(b->ctl, b->name, &s0)))
		die("stat", err);
	if (strcmp(load, "alone")) {
		int fetch = !strcmp(load, "fetch");

		l.lo = fetch ? VM_INST_GPA : b->hot_gpa;
		l.hi = l.lo + (fetch ? o->size : VM_HOT_SIZE);
		if ((err = pthread_create(&t, NULL, vm_load_thread, &l)))
			die("pthread_create", err);
		et_msleep(100);		/* let it get going */
	}
	t0 = now_ns();
	end = t0 + (uint64_t)(o->secs * 1e9);
	do {
		vm_check(ekv_run(&b->v[1], EKV_CHECK, b->seed, b->hot_gpa,
				 b->hot_gpa + VM_HOT_SIZE), "vCPU 1's pass");
		passes++;
	} while ((t1 = now_ns()) < end);
	if (strcmp(load, "alone")) {
		l.stop = 1;
		pthread_join(t, NULL);
		vm_check(l.result, "vCPU 0's load");
	}
	if ((err = emp_stat(b->ctl, b->name, &s1)))
		die("stat", err);
	printf("# BENCH {\"bench\":\"vm\",\"test\":\"vcpus\",\"contender\":\"%s\","
	       "\"tier\":\"%s\",\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
	       "\"round\":%u,\"secs\":%.4f,\"passes\":%u,\"passes_per_s\":%.2f,"
	       "\"load_passes\":%u,",
	       load, o->tier, o->block, o->sub, (unsigned long long)o->size,
	       (unsigned long long)o->budget, round, (t1 - t0) / 1e9, passes,
	       passes / ((t1 - t0) / 1e9), l.passes);
	print_stat_delta(&s0, &s1);
	printf("}\n");
}

int do_vm(const struct opts *o)
{
	struct vm_bench b = { .name = "bench-vm", .o = o, .seed = 0x5eedbe7c };
	const char *why;
	char was[8] = "Y";
	int err;

	if (o->size > 1024 * MIB)
		die("--size: at most 1024 MiB (32-bit guest)", EINVAL);
	if (et_read_file(FAULT_AROUND_PARAM, was, sizeof(was)))
		die("read " FAULT_AROUND_PARAM " (emp.ko without fault-around?)", ENOENT);
	b.ctl = inst_up(b.name, o, o->block, o->sub, o->size, o->budget, &b.inst, &b.fd);
	b.hot_gpa = VM_INST_GPA + o->size;
	b.code = mmap(NULL, VM_CODE_SIZE + VM_HOT_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b.code == MAP_FAILED)
		die("mmap", errno);
	b.hot = b.code + VM_CODE_SIZE;
	memcpy(b.code, ekv_guest, ekv_guest_end - ekv_guest);
	ekv_host_fill(b.inst, VM_INST_GPA, o->size, b.seed);
	ekv_host_fill(b.hot, b.hot_gpa, VM_HOT_SIZE, b.seed);

	if ((err = ekv_vm_open(&b.kvm, &b.vmfd, &why)))
		die(why, err);
	if ((err = ekv_slot(b.vmfd, 0, 0, VM_CODE_SIZE, b.code)) ||
	    (err = ekv_slot(b.vmfd, 1, VM_INST_GPA, o->size, b.inst)) ||
	    (err = ekv_slot(b.vmfd, 2, b.hot_gpa, VM_HOT_SIZE, b.hot)))
		die("KVM_SET_USER_MEMORY_REGION", err);
	for (int i = 0; i < 2; i++)
		if ((err = ekv_vcpu_new(b.kvm, b.vmfd, i, &b.v[i])))
			die("KVM_CREATE_VCPU", err);

	for (unsigned int r = 0; r < o->n; r++) {
		vm_around_pass(&b, 1, r);
		vm_around_pass(&b, 0, r);
	}
	if ((err = et_write_file(FAULT_AROUND_PARAM, was)))
		die("restore " FAULT_AROUND_PARAM, err);
	/* Warm up vCPU 1's memory in KVM's tables first. */
	vm_check(ekv_run(&b.v[1], EKV_CHECK, b.seed, b.hot_gpa, b.hot_gpa + VM_HOT_SIZE),
		 "vCPU 1's first pass");
	for (unsigned int r = 0; r < o->n; r++) {
		vm_side_by_side(&b, "alone", r);
		vm_side_by_side(&b, "cpu", r);
		vm_side_by_side(&b, "fetch", r);
	}

	for (int i = 0; i < 2; i++)
		ekv_vcpu_free(&b.v[i]);
	close(b.vmfd);
	close(b.kvm);
	munmap(b.code, VM_CODE_SIZE + VM_HOT_SIZE);
	inst_unmap(b.ctl, b.name, b.inst, o->size, b.fd);
	close(b.ctl);
	return 0;
}

/* ---- VM mode: 2 MiB blocks mapped whole, on and off ------------------------ */

#define HUGE_MAP_PARAM	"/sys/module/emp/parameters/huge_map"

/* One timed guest check pass over the first @len bytes of the instance. */
static void vmhuge_pass(struct vm_bench *b, const char *test, const char *c,
			unsigned int round, uint64_t len)
{
	const struct opts *o = b->o;
	uint64_t npg = len / ET_PAGE, t0, t1;
	struct emp_stat s0, s1;
	int64_t pf0, pf1, r;
	int err;

	if ((err = emp_stat(b->ctl, b->name, &s0)))
		die("stat", err);
	pf0 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	t0 = now_ns();
	r = ekv_run(&b->v[0], EKV_CHECK, b->seed, VM_INST_GPA, VM_INST_GPA + len);
	t1 = now_ns();
	pf1 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	if ((err = emp_stat(b->ctl, b->name, &s1)))
		die("stat", err);
	vm_check(r, "guest pass over the instance");
	if (!test)
		return;
	printf("# BENCH {\"bench\":\"vmhuge\",\"test\":\"%s\",\"contender\":\"%s\","
	       "\"tier\":\"%s\",\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
	       "\"round\":%u,\"pages\":%llu,\"secs\":%.4f,\"pages_per_s\":%.0f,"
	       "\"kvm_faults\":%lld,",
	       test, c, o->tier, o->block, o->sub, (unsigned long long)o->size,
	       (unsigned long long)o->budget, round, (unsigned long long)npg,
	       (t1 - t0) / 1e9, npg / ((t1 - t0) / 1e9),
	       (long long)(pf0 >= 0 && pf1 >= 0 ? pf1 - pf0 : -1));
	print_stat_delta(&s0, &s1);
	printf("}\n");
}

/* Slot 1 (the instance) removed and added again: KVM forgets its mappings. */
static void vmhuge_reslot(struct vm_bench *b, uint64_t len)
{
	int err;

	if ((err = ekv_slot(b->vmfd, 1, VM_INST_GPA, 0, b->inst)) ||
	    (err = ekv_slot(b->vmfd, 1, VM_INST_GPA, len, b->inst)))
		die("KVM_SET_USER_MEMORY_REGION (slot 1 again)", err);
}

/* One contender: a fresh instance made with huge_map @on, its passes. */
static void vmhuge_round(struct vm_bench *b, int on, unsigned int round, const char *was)
{
	const struct opts *o = b->o;
	const char *c = on ? "on" : "off";
	int err;

	if ((err = et_write_file(HUGE_MAP_PARAM, on ? "Y" : "N")))
		die("write " HUGE_MAP_PARAM, err);
	b->ctl = inst_up(b->name, o, o->block, o->sub, o->size, o->budget, &b->inst, &b->fd);
	if ((err = et_write_file(HUGE_MAP_PARAM, was)))
		die("restore " HUGE_MAP_PARAM, err);
	if ((uintptr_t)b->inst % (2 * MIB))
		die("the instance mapping is not 2 MiB aligned", EINVAL);
	ekv_host_fill(b->inst, VM_INST_GPA, o->size, b->seed);
	if ((err = ekv_slot(b->vmfd, 1, VM_INST_GPA, o->size, b->inst)))
		die("KVM_SET_USER_MEMORY_REGION", err);
	inst_cold(b->ctl, b->name, o->block, o->budget);
	vmhuge_pass(b, "cold", c, round, o->size);
	vmhuge_pass(b, NULL, c, round, o->budget);	/* the first budget's worth in */
	for (int i = 0; i < 2; i++) {
		vmhuge_reslot(b, o->size);
		vmhuge_pass(b, "warm", c, round, o->budget);
	}
	if ((err = ekv_slot(b->vmfd, 1, VM_INST_GPA, 0, b->inst)))
		die("KVM_SET_USER_MEMORY_REGION (delete)", err);
	inst_unmap(b->ctl, b->name, b->inst, o->size, b->fd);
	close(b->ctl);
}

int do_vmhuge(const struct opts *o)
{
	struct vm_bench b = { .name = "bench-vmh", .o = o, .seed = 0x2b10c5ed };
	const char *why;
	char was[8] = "Y";
	int err;

	if (o->block != 2 * MIB)
		die("--block: 2097152 (huge_map applies to 2 MiB blocks)", EINVAL);
	if (o->size > 1024 * MIB || o->budget > o->size)
		die("--size: at most 1024 MiB, and at least the budget", EINVAL);
	if (et_read_file(HUGE_MAP_PARAM, was, sizeof(was)))
		die("read " HUGE_MAP_PARAM " (emp.ko without huge_map?)", ENOENT);
	b.code = mmap(NULL, VM_CODE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b.code == MAP_FAILED)
		die("mmap", errno);
	memcpy(b.code, ekv_guest, ekv_guest_end - ekv_guest);
	if ((err = ekv_vm_open(&b.kvm, &b.vmfd, &why)))
		die(why, err);
	if ((err = ekv_slot(b.vmfd, 0, 0, VM_CODE_SIZE, b.code)))
		die("KVM_SET_USER_MEMORY_REGION", err);
	if ((err = ekv_vcpu_new(b.kvm, b.vmfd, 0, &b.v[0])))
		die("KVM_CREATE_VCPU", err);
	for (unsigned int r = 0; r < o->n; r++) {
		vmhuge_round(&b, 1, r, was);
		vmhuge_round(&b, 0, r, was);
	}
	ekv_vcpu_free(&b.v[0]);
	close(b.vmfd);
	close(b.kvm);
	munmap(b.code, VM_CODE_SIZE);
	return 0;
}
