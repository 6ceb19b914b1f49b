// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of VM mode without any KVM patch: a KVM virtual machine
 * whose only memory slot is an EMP instance mapping (a block-device tier,
 * /dev/nvme0n1 or EMP_TEST_DEV), several times larger than the instance's
 * DRAM budget, so blocks are evicted (and KVM's mappings invalidated through
 * the MMU notifiers) while the vCPU runs.
 *
 * The guest code (32-bit protected mode, flat segments, no paging) sits in
 * the first page of the slot. Arguments come in registers; it reports
 * through port I/O: out PORT_DONE with eax = 0 when all is well, or
 * out PORT_BAD with eax = the first wrong guest-physical address.
 *   esi bit 0: write dword [a] = a ^ edx for a in [edi, ebx)
 *   esi bit 1: check the same
 * A second test runs the same code on two vCPUs of the VM at once, each on
 * half of the slot. A third has the VM watched by emp_kvm.ko (the KVM
 * companion) and checks its per-slot fault counts against the instance's
 * and KVM's own.
 * Needs emp.ko loaded, /dev/kvm (kvm_amd or kvm_intel) and the device free.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/emp_kvm.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define PORT_DONE	0x10
#define PORT_BAD	0x11
#define MODE_WRITE	1
#define MODE_CHECK	2
/* Guest data starts after the code page. */
#define DATA_START	0x1000u

/* The guest program, assembled with the test as 32-bit code. */
extern const uint8_t emp_kvm_guest[], emp_kvm_guest_end[];
asm(".pushsection .rodata\n"
    ".globl emp_kvm_guest\n.globl emp_kvm_guest_end\n"
    "emp_kvm_guest:\n"
    ".code32\n"
    "	test $1, %esi\n"
    "	jz 2f\n"
    "	mov %edi, %ecx\n"
    "1:	mov %ecx, %eax\n"
    "	xor %edx, %eax\n"
    "	mov %eax, (%ecx)\n"
    "	add $4, %ecx\n"
    "	cmp %ebx, %ecx\n"
    "	jb 1b\n"
    "2:	test $2, %esi\n"
    "	jz 4f\n"
    "	mov %edi, %ecx\n"
    "3:	mov %ecx, %eax\n"
    "	xor %edx, %eax\n"
    "	cmp %eax, (%ecx)\n"
    "	jne 5f\n"
    "	add $4, %ecx\n"
    "	cmp %ebx, %ecx\n"
    "	jb 3b\n"
    "4:	xor %eax, %eax\n"
    "	out %eax, $0x10\n"
    "	hlt\n"
    "	jmp 4b\n"
    "5:	mov %ecx, %eax\n"
    "	out %eax, $0x11\n"
    "	hlt\n"
    "	jmp 5b\n"
    ".code64\n"
    "emp_kvm_guest_end:\n"
    ".popsection\n");

/* Slot of 8 MiB over a DRAM budget of 1 MiB (64 KiB blocks). */
#define SLOT_SIZE	(8 * ET_MIB)
#define BUDGET		(1 * ET_MIB)

FIXTURE(vm) {
	int ctl, kvm, vmfd, vcpu;
	struct kvm_run *run;
	size_t run_size;
	struct et_inst in;
};

FIXTURE_SETUP(vm)
{
	struct et_geom g = { .size = SLOT_SIZE, .block = 64 << 10, .sub = 4 << 10,
			     .budget = BUDGET };
	struct kvm_userspace_memory_region mr;
	const char *why = "";
	int err, n;

	self->kvm = self->vmfd = self->vcpu = -1;
	self->run = MAP_FAILED;
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s (is emp.ko loaded?)", strerror(-self->ctl));
	err = et_inst_up(&self->in, self->ctl, "kvmt", &g, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));

	self->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->kvm) TH_LOG("open /dev/kvm: %s (kvm_amd/kvm_intel not loaded?)",
				       strerror(errno));
	ASSERT_EQ(KVM_API_VERSION, ioctl(self->kvm, KVM_GET_API_VERSION, 0));
	self->vmfd = ioctl(self->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vmfd) TH_LOG("KVM_CREATE_VM: %s", strerror(errno));
	/* Needed by VMX for real mode only; harmless elsewhere. */
	(void)ioctl(self->vmfd, KVM_SET_TSS_ADDR, 0xfffbd000UL);

	memset(&mr, 0, sizeof(mr));
	mr.slot = 0;
	mr.guest_phys_addr = 0;
	mr.memory_size = SLOT_SIZE;
	mr.userspace_addr = (uintptr_t)self->in.map;
	ASSERT_EQ(0, ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION, &mr))
		TH_LOG("KVM_SET_USER_MEMORY_REGION on the instance mapping: %s", strerror(errno));

	self->vcpu = ioctl(self->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpu) TH_LOG("KVM_CREATE_VCPU: %s", strerror(errno));
	n = ioctl(self->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, n);
	self->run_size = n;
	self->run = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, self->vcpu, 0);
	ASSERT_NE(MAP_FAILED, self->run);

	/* The guest code goes into the instance like any other data. */
	memcpy(self->in.map, emp_kvm_guest, emp_kvm_guest_end - emp_kvm_guest);
}

FIXTURE_TEARDOWN(vm)
{
	if (self->run != MAP_FAILED)
		munmap(self->run, self->run_size);
	if (self->vcpu >= 0)
		close(self->vcpu);
	if (self->vmfd >= 0)
		close(self->vmfd);
	if (self->kvm >= 0)
		close(self->kvm);
	/* KVM drops its references when the VM goes; then the instance can. */
	EXPECT_EQ(0, et_inst_down(&self->in));
	if (self->ctl >= 0)
		close(self->ctl);
}

/* Flat 32-bit protected mode, no paging, entry at guest-physical 0. */
static int setup_cpu(int vcpu, uint32_t mode, uint32_t seed, uint32_t start, uint32_t end)
{
	struct kvm_segment seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return -errno;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	seg.type = 11;
	seg.selector = 0x08;
	sregs.cs = seg;
	sregs.cr0 = 0x11;	/* PE, ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 2;
	regs.rsi = mode;
	regs.rdi = start;
	regs.rbx = end;
	regs.rdx = seed;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

/*
 * Run the guest until it reports. Return: 0 when it said done, the bad
 * address (nonzero) when it found a wrong word; fails the test on anything
 * else.
 */
static uint32_t run_guest(struct __test_metadata *_metadata, FIXTURE_DATA(vm) *self,
			  uint32_t mode, uint32_t seed)
{
	struct kvm_run *r = self->run;
	int i;

	ASSERT_EQ(0, setup_cpu(self->vcpu, mode, seed, DATA_START, SLOT_SIZE));
	for (i = 0; i < 16; i++) {
		int rc = ioctl(self->vcpu, KVM_RUN, 0);

		if (rc && errno == EINTR)
			continue;
		ASSERT_EQ(0, rc) TH_LOG("KVM_RUN: %s", strerror(errno));
		if (r->exit_reason == KVM_EXIT_IO && r->io.direction == KVM_EXIT_IO_OUT &&
		    r->io.size == 4 && (r->io.port == PORT_DONE || r->io.port == PORT_BAD)) {
			uint32_t v;

			memcpy(&v, (uint8_t *)r + r->io.data_offset, 4);
			if (r->io.port == PORT_DONE)
				return 0;
			return v ? v : 1;
		}
		ASSERT_TRUE(0) TH_LOG("unexpected exit %u (io port %#x), hw reason %#llx, "
				      "internal suberror %u",
				      r->exit_reason, r->exit_reason == KVM_EXIT_IO ? r->io.port : 0,
				      (unsigned long long)r->fail_entry.hardware_entry_failure_reason,
				      r->internal.suberror);
	}
	ASSERT_TRUE(0) TH_LOG("guest did not report after 16 exits");
	return 1;
}

/* Host-side check of the guest's pattern through the instance mapping. */
static uint32_t host_check(const uint8_t *map, uint32_t seed)
{
	for (uint32_t a = DATA_START; a < SLOT_SIZE; a += 4)
		if (*(const volatile uint32_t *)(map + a) != (a ^ seed))
			return a;
	return 0;
}

TEST_F_TIMEOUT(vm, guest_pattern_over_evictions, 120)
{
	struct emp_stat st0, st1, st2;
	uint32_t bad, seed = 0x5a17c0de;

	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));

	/* The guest writes the whole slot then reads it all back: each pass
	 * goes over eight times the DRAM budget. */
	bad = run_guest(_metadata, self, MODE_WRITE | MODE_CHECK, seed);
	ASSERT_EQ(0, bad) TH_LOG("guest read a wrong word at guest-physical %#x", bad);
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	TH_LOG("guest write+check: %llu faults, %llu evictions, %llu writebacks, %llu fetches",
	       (unsigned long long)(st1.faults - st0.faults),
	       (unsigned long long)(st1.evictions - st0.evictions),
	       (unsigned long long)(st1.writebacks - st0.writebacks),
	       (unsigned long long)(st1.fetches - st0.fetches));
	EXPECT_LT(0, st1.evictions - st0.evictions) TH_LOG("no eviction while the VM ran");
	EXPECT_LT(0, st1.writebacks - st0.writebacks);
	EXPECT_LT(0, st1.fetches - st0.fetches) TH_LOG("nothing read back from the tier");
	EXPECT_LE(st1.resident, st1.dram_budget);
	EXPECT_EQ(0, st1.io_errors);

	/* The host sees what the guest wrote, through the same instance. */
	bad = host_check(self->in.map, seed);
	ASSERT_EQ(0, bad) TH_LOG("host read a wrong word at offset %#x", bad);

	/* The host rewrites it; the guest must see the new data (its stale
	 * mappings were dropped when the blocks were evicted). */
	seed = ~seed;
	for (uint32_t a = DATA_START; a < SLOT_SIZE; a += 4)
		*(volatile uint32_t *)(self->in.map + a) = a ^ seed;
	bad = run_guest(_metadata, self, MODE_CHECK, seed);
	ASSERT_EQ(0, bad) TH_LOG("guest read a wrong word at guest-physical %#x after the "
				 "host rewrote the slot", bad);

	/* The guest overwrites data that lives on the tier (fetch, then dirty
	 * through KVM); the budget is cut to two blocks, which writes back and
	 * evicts everything, and the host must read the guest's new data. */
	seed ^= 0x01234567;
	bad = run_guest(_metadata, self, MODE_WRITE, seed);
	ASSERT_EQ(0, bad);
	ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, 2 * 64 << 10));
	ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, BUDGET));
	bad = host_check(self->in.map, seed);
	ASSERT_EQ(0, bad) TH_LOG("host read a wrong word at offset %#x after the guest "
				 "rewrote the slot and everything was evicted", bad);

	/* A word the guest checks is then wrong on purpose: it must say so. */
	*(volatile uint32_t *)(self->in.map + SLOT_SIZE - 4) ^= 1;
	bad = run_guest(_metadata, self, MODE_CHECK, seed);
	ASSERT_EQ(SLOT_SIZE - 4, bad) TH_LOG("guest missed a planted wrong word");

	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st2));
	EXPECT_LT(st1.evictions, st2.evictions);
	EXPECT_EQ(0, st2.io_errors);
	EXPECT_EQ(0, st2.sigbus);
}

/* ---- fault-around under KVM --------------------------------------------- */

#define FAULT_AROUND_PARAM	"/sys/module/emp/parameters/fault_around"

/*
 * KVM takes one fault per 4 KiB guest page either way; with fault-around
 * the instance serves far fewer of them (the page is mapped already when
 * KVM looks it up), and the guest reads the same data.
 */
TEST_F_TIMEOUT(vm, fault_around_serves_a_vm_with_fewer_instance_faults, 120)
{
	uint64_t faults[2], around[2];
	uint32_t bad, seed = 0x0fa17a11;
	char was[8] = "";

	ASSERT_EQ(0, et_read_file(FAULT_AROUND_PARAM, was, sizeof(was)));
	for (uint32_t a = DATA_START; a < SLOT_SIZE; a += 4)
		*(volatile uint32_t *)(self->in.map + a) = a ^ seed;
	for (int on = 1; on >= 0; on--) {
		struct emp_stat s0, s1;

		ASSERT_EQ(0, et_write_file(FAULT_AROUND_PARAM, on ? "Y" : "N"));
		/* Everything to the tier: the guest's pass fetches it all. */
		ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, 2 * 64 << 10));
		ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, BUDGET));
		ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &s0));
		bad = run_guest(_metadata, self, MODE_CHECK, seed);
		ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &s1));
		EXPECT_EQ(0, et_write_file(FAULT_AROUND_PARAM, was[0] ? was : "Y"));
		ASSERT_EQ(0, bad) TH_LOG("fault-around %s: guest read a wrong word at %#x",
					 on ? "on" : "off", bad);
		faults[on] = s1.faults - s0.faults;
		around[on] = s1.mapped_around - s0.mapped_around;
	}
	TH_LOG("guest check pass over %u KiB: fault-around on: %llu instance faults, %llu "
	       "pages mapped around; off: %llu faults, %llu mapped around",
	       (unsigned int)((SLOT_SIZE - DATA_START) >> 10), (unsigned long long)faults[1],
	       (unsigned long long)around[1], (unsigned long long)faults[0],
	       (unsigned long long)around[0]);
	EXPECT_EQ(0, around[0]);
	EXPECT_LT(0, around[1]);
	EXPECT_LT(2 * faults[1], faults[0]) TH_LOG("fault-around did not halve the faults");
}

/* ---- two vCPUs faulting on the instance at the same time ----------------- */

struct vcpu_job {
	int vcpu;
	struct kvm_run *run;
	uint32_t mode, seed, start, end;
	int64_t result;		/* 0 done, > 0 bad address, < 0 error */
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *j = arg;
	int i, rc;

	j->result = setup_cpu(j->vcpu, j->mode, j->seed, j->start, j->end);
	if (j->result)
		return NULL;
	for (i = 0; i < 16; i++) {
		rc = ioctl(j->vcpu, KVM_RUN, 0);
		if (rc && errno == EINTR)
			continue;
		if (rc) {
			j->result = -errno;
			return NULL;
		}
		if (j->run->exit_reason == KVM_EXIT_IO && j->run->io.size == 4 &&
		    (j->run->io.port == PORT_DONE || j->run->io.port == PORT_BAD)) {
			uint32_t v;

			memcpy(&v, (uint8_t *)j->run + j->run->io.data_offset, 4);
			j->result = j->run->io.port == PORT_DONE ? 0 : (v ? v : 1);
			return NULL;
		}
		j->result = -1000 - (int64_t)j->run->exit_reason;
		return NULL;
	}
	j->result = -ETIME;
	return NULL;
}

/* Run the guest code on vCPU 0 and a second vCPU, each on one half. */
static void run_two(struct __test_metadata *_metadata, FIXTURE_DATA(vm) *self,
		    int vcpu2, struct kvm_run *run2, uint32_t mode, uint32_t seed)
{
	uint32_t mid = SLOT_SIZE / 2;
	struct vcpu_job j[2] = {
		{ self->vcpu, self->run, mode, seed, DATA_START, mid, -1 },
		{ vcpu2, run2, mode, seed, mid, SLOT_SIZE, -1 },
	};
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, vcpu_thread, &j[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		int64_t r = j[i].result;

		ASSERT_EQ(0, r)
			TH_LOG("vCPU %d (mode %u): %s %lld", i, mode,
			       r > 0 ? "wrong word at guest-physical" :
			       r <= -1000 ? "unexpected exit" : "error",
			       (long long)(r <= -1000 ? -1000 - r : r));
	}
}

TEST_F_TIMEOUT(vm, two_vcpus_over_evictions, 120)
{
	uint32_t seed = 0x600dcafe;
	struct kvm_run *run2;
	struct emp_stat st0, st1;
	int vcpu2;

	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));
	vcpu2 = ioctl(self->vmfd, KVM_CREATE_VCPU, 1);
	ASSERT_LE(0, vcpu2) TH_LOG("KVM_CREATE_VCPU 1: %s", strerror(errno));
	run2 = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu2, 0);
	ASSERT_NE(MAP_FAILED, run2);

	run_two(_metadata, self, vcpu2, run2, MODE_WRITE | MODE_CHECK, seed);
	ASSERT_EQ(0, host_check(self->in.map, seed));
	seed = ~seed;
	run_two(_metadata, self, vcpu2, run2, MODE_WRITE, seed);
	run_two(_metadata, self, vcpu2, run2, MODE_CHECK, seed);
	ASSERT_EQ(0, host_check(self->in.map, seed));
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	TH_LOG("two vCPUs: %llu faults, %llu evictions",
	       (unsigned long long)(st1.faults - st0.faults),
	       (unsigned long long)(st1.evictions - st0.evictions));
	EXPECT_LT(0, st1.evictions - st0.evictions);
	EXPECT_EQ(0, st1.io_errors);
	EXPECT_EQ(0, st1.sigbus);
	munmap(run2, self->run_size);
	close(vcpu2);
}

/*
 * A vCPU's counter from KVM's binary statistics (KVM_GET_STATS_FD): the
 * header, then descriptors of sizeof(desc) + name_size bytes, then data.
 * Return: the value, or -1 when the statistic is not there.
 */
static int64_t vcpu_stat(int vcpu, const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	int64_t val = -1;
	size_t dsz;
	char *descs;
	int fd;

	fd = ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -1;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		goto out;
	dsz = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsz);
	if (!descs)
		goto out;
	if (pread(fd, descs, h.num_desc * dsz, h.desc_offset) == (ssize_t)(h.num_desc * dsz)) {
		for (uint32_t i = 0; i < h.num_desc; i++) {
			uint64_t v;

			d = (struct kvm_stats_desc *)(descs + i * dsz);
			if (strcmp(d->name, name))
				continue;
			if (pread(fd, &v, sizeof(v), h.data_offset + d->offset) == sizeof(v))
				val = (int64_t)v;
			break;
		}
	}
	free(descs);
out:
	close(fd);
	return val;
}

/* The watched VM's slots (room for 8). Return: 0 or -errno. */
static int companion_slots(int fd, struct emp_kvm_slots *s, struct emp_kvm_slot *slots)
{
	memset(s, 0, sizeof(*s));
	memset(slots, 0, 8 * sizeof(*slots));
	s->size = sizeof(*s);
	s->room = 8;
	s->slots = (uintptr_t)slots;
	return ioctl(fd, EMP_KVM_IOC_SLOTS, s) ? -errno : 0;
}

/*
 * emp_kvm.ko ties the VM's slots to what backs them and counts KVM's page
 * faults per slot. Slot 0 is the instance; slot 1, anonymous memory the
 * guest never touches, must stay at zero. Every instance fault of the run
 * came through a KVM page fault of slot 0 (the guest is the only user of
 * the mapping meanwhile), and every KVM page fault the companion saw is
 * one KVM counted itself: the companion's total equals the vCPU's pf_taken
 * statistic over the run (when the kernel has it).
 */
TEST_F_TIMEOUT(vm, companion_counts_faults_per_slot, 120)
{
	struct kvm_userspace_memory_region mr = {
		.slot = 1, .guest_phys_addr = SLOT_SIZE, .memory_size = 2 * ET_MIB,
	};
	struct emp_kvm_watch w = { .size = sizeof(w), .vm_fd = self->vmfd };
	struct emp_kvm_slot sl[8];
	struct emp_kvm_slots s;
	struct emp_stat st0, st1;
	int64_t pf0, pf1;
	uint64_t f0;
	void *anon;
	int fd;

	fd = open("/dev/" EMP_KVM_DEV_NAME, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open /dev/emp_kvm: %s (is emp_kvm.ko loaded?)", strerror(errno));
	anon = mmap(NULL, 2 * ET_MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	mr.userspace_addr = (uintptr_t)anon;
	ASSERT_EQ(0, ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION, &mr));

	/* Refusals: no watch yet; not a VM; bad flags; a second watch. */
	EXPECT_EQ(-ENOENT, companion_slots(fd, &s, sl));
	w.vm_fd = self->kvm;
	EXPECT_EQ(-1, ioctl(fd, EMP_KVM_IOC_WATCH, &w));
	EXPECT_EQ(EINVAL, errno) TH_LOG("/dev/kvm itself is not a VM");
	w.vm_fd = 9999;
	EXPECT_EQ(-1, ioctl(fd, EMP_KVM_IOC_WATCH, &w));
	EXPECT_EQ(EBADF, errno);
	w.vm_fd = self->vmfd;
	w.flags = 1;
	EXPECT_EQ(-1, ioctl(fd, EMP_KVM_IOC_WATCH, &w));
	EXPECT_EQ(EINVAL, errno);
	w.flags = 0;
	ASSERT_EQ(0, ioctl(fd, EMP_KVM_IOC_WATCH, &w)) TH_LOG("watch: %s", strerror(errno));
	EXPECT_EQ(-1, ioctl(fd, EMP_KVM_IOC_WATCH, &w));
	EXPECT_EQ(EBUSY, errno);

	ASSERT_EQ(0, companion_slots(fd, &s, sl));
	ASSERT_EQ(2, s.nr_slots);
	EXPECT_EQ(getpid(), s.pid);
	f0 = sl[0].faults;
	EXPECT_EQ(0, sl[0].id);
	EXPECT_EQ(EMP_KVM_SLOT_EMP, sl[0].flags) TH_LOG("slot 0 not tied to its instance");
	EXPECT_STREQ(self->in.name, sl[0].instance);
	EXPECT_EQ(0, sl[0].gpa);
	EXPECT_EQ(SLOT_SIZE, sl[0].len);
	EXPECT_EQ((uintptr_t)self->in.map, sl[0].hva);
	EXPECT_EQ(0, sl[0].inst_offset);
	EXPECT_EQ(1, sl[1].id);
	EXPECT_EQ(0, sl[1].flags) TH_LOG("anonymous slot 1 claimed by %.32s", sl[1].instance);
	EXPECT_EQ(SLOT_SIZE, sl[1].gpa);

	pf0 = vcpu_stat(self->vcpu, "pf_taken");
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));
	ASSERT_EQ(0, run_guest(_metadata, self, MODE_WRITE | MODE_CHECK, 0xc0ffee));
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	pf1 = vcpu_stat(self->vcpu, "pf_taken");
	ASSERT_EQ(0, companion_slots(fd, &s, sl));
	TH_LOG("companion: %llu faults in slot 0, %llu in slot 1, %llu elsewhere, %llu in all; "
	       "instance: %llu faults; KVM pf_taken: %lld",
	       (unsigned long long)(sl[0].faults - f0), (unsigned long long)sl[1].faults,
	       (unsigned long long)s.faults_other, (unsigned long long)s.faults,
	       (unsigned long long)(st1.faults - st0.faults), (long long)(pf1 - pf0));
	EXPECT_LT(0, st1.evictions - st0.evictions);
	EXPECT_LE(st1.faults - st0.faults, sl[0].faults - f0)
		TH_LOG("instance faults the companion did not see");
	EXPECT_EQ(0, sl[1].faults);
	EXPECT_EQ(s.faults, sl[0].faults + sl[1].faults + s.faults_other);
	/* No guest ran between the watch and pf0: the two counts are one. */
	if (pf0 >= 0 && pf1 >= 0)
		EXPECT_EQ((uint64_t)(pf1 - pf0), s.faults) TH_LOG("KVM's pf_taken disagrees");

	close(fd);
	/* The watch's VM reference is gone with the file: teardown proves it
	 * (the instance cannot be destroyed while KVM maps it). */
	ASSERT_EQ(0, ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
			   &(struct kvm_userspace_memory_region){ .slot = 1 }));
	munmap(anon, 2 * ET_MIB);
}

TEST_HARNESS_MAIN
