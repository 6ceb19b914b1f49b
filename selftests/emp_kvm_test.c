// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of VM mode without any KVM patch: a KVM virtual machine
 * whose only memory slot is an EMP instance mapping (a block-device tier,
 * /dev/nvme0n1 or EMP_TEST_DEV), several times larger than the instance's
 * DRAM budget, so blocks are evicted (and KVM's mappings invalidated through
 * the MMU notifiers) while the vCPU runs.
 *
 * The guest code (selftests/lib/emp_kvm_vm.h) sits in the first page of
 * the slot and writes or checks a pattern over the rest.
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
#include "lib/emp_kvm_vm.h"

/* Guest data starts after the code page. */
#define DATA_START	0x1000u

/* Slot of 8 MiB over a DRAM budget of 1 MiB (64 KiB blocks). */
#define SLOT_SIZE	(8 * ET_MIB)
#define BUDGET		(1 * ET_MIB)

FIXTURE(vm) {
	int ctl, kvm, vmfd;
	struct ekv_vcpu v;
	struct et_inst in;
};

/*
 * A VM whose slot 0 (guest-physical 0, the whole instance) maps instance
 * @name of geometry @g, with vCPU 0 and the guest code in its first page.
 */
static void vm_up(struct __test_metadata *_metadata, int *ctl, int *kvm, int *vmfd,
		  struct ekv_vcpu *v, struct et_inst *in, const char *name,
		  const struct et_geom *g)
{
	const char *why = "";
	int err;

	*kvm = *vmfd = v->fd = -1;
	v->run = MAP_FAILED;
	*ctl = emp_ctl_open();
	ASSERT_LE(0, *ctl) TH_LOG("open /dev/emp: %s (is emp.ko loaded?)", strerror(-*ctl));
	/* KVM first: a failed set-up skips the teardown, and must leave no
	 * instance behind. */
	err = ekv_vm_open(kvm, vmfd, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	err = et_inst_up(in, *ctl, name, g, &why);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	err = ekv_slot(*vmfd, 0, 0, g->size, in->map);
	ASSERT_EQ(0, err) TH_LOG("KVM_SET_USER_MEMORY_REGION on the instance mapping: %s",
				 strerror(-err));
	err = ekv_vcpu_new(*kvm, *vmfd, 0, v);
	ASSERT_EQ(0, err) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-err));

	/* The guest code goes into the instance like any other data. */
	memcpy(in->map, ekv_guest, ekv_guest_end - ekv_guest);
}

/* Undo vm_up(). Return: et_inst_down()'s result. */
static int vm_down(int ctl, int kvm, int vmfd, struct ekv_vcpu *v, struct et_inst *in)
{
	int err;

	ekv_vcpu_free(v);
	if (vmfd >= 0)
		close(vmfd);
	if (kvm >= 0)
		close(kvm);
	/* KVM drops its references when the VM goes; then the instance can. */
	err = et_inst_down(in);
	if (ctl >= 0)
		close(ctl);
	return err;
}

FIXTURE_SETUP(vm)
{
	struct et_geom g = { .size = SLOT_SIZE, .block = 64 << 10, .sub = 4 << 10,
			     .budget = BUDGET };

	vm_up(_metadata, &self->ctl, &self->kvm, &self->vmfd, &self->v, &self->in, "kvmt", &g);
}

FIXTURE_TEARDOWN(vm)
{
	EXPECT_EQ(0, vm_down(self->ctl, self->kvm, self->vmfd, &self->v, &self->in));
}

/* What an ekv_run() result other than 0 means, for a test log. */
static const char *run_what(int64_t r)
{
	if (r > 0)
		return "wrong word at guest-physical";
	if (r <= EKV_EXIT_BASE)
		return "unexpected KVM exit reason";
	if (r == -ETIME)
		return "no report after 16 exits";
	return "error";
}

static long long run_detail(int64_t r)
{
	return r <= EKV_EXIT_BASE ? EKV_EXIT_BASE - r : r;
}

/*
 * Run the guest over the data part of the slot until it reports. Return: 0
 * when it said done, the bad address (nonzero) when it found a wrong word;
 * fails the test on anything else.
 */
static uint32_t run_guest(struct __test_metadata *_metadata, FIXTURE_DATA(vm) *self,
			  uint32_t mode, uint32_t seed)
{
	int64_t r = ekv_run(&self->v, mode, seed, DATA_START, SLOT_SIZE);

	ASSERT_LE(0, r) TH_LOG("KVM_RUN: %s %lld (%s)", run_what(r), run_detail(r),
			       r > EKV_EXIT_BASE ? strerror((int)-r) : "see linux/kvm.h");
	return (uint32_t)r;
}

/* Host-side check of the guest's pattern through the instance mapping. */
static uint32_t host_check(const uint8_t *map, uint32_t seed)
{
	return (uint32_t)ekv_host_check(map + DATA_START, DATA_START, SLOT_SIZE - DATA_START, seed);
}

TEST_F_TIMEOUT(vm, guest_pattern_over_evictions, 120)
{
	struct emp_stat st0, st1, st2;
	uint32_t bad, seed = 0x5a17c0de;

	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));

	/* The guest writes the whole slot then reads it all back: each pass
	 * goes over eight times the DRAM budget. */
	bad = run_guest(_metadata, self, EKV_WRITE | EKV_CHECK, seed);
	ASSERT_EQ(0, bad) TH_LOG("guest read a wrong word at guest-physical %#x", bad);
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	TH_LOG("guest write+check: %llu faults, %llu evictions, %llu writebacks, %llu fetches, "
	       "%llu no-wait tries answered retry",
	       (unsigned long long)(st1.faults - st0.faults),
	       (unsigned long long)(st1.evictions - st0.evictions),
	       (unsigned long long)(st1.writebacks - st0.writebacks),
	       (unsigned long long)(st1.fetches - st0.fetches),
	       (unsigned long long)(st1.nowait_retries - st0.nowait_retries));
	/*
	 * KVM first asks for a guest page without waiting (FOLL_NOWAIT), so
	 * that it can complete the fault asynchronously; EMP must not block
	 * that try on a block it has to fetch, and the waiting retry must
	 * then serve it (the check pass above proves the data).
	 */
	EXPECT_LT(0, st1.nowait_retries - st0.nowait_retries)
		TH_LOG("no fault was answered 'retry later': KVM's no-wait try waited for I/O");
	EXPECT_LE(st1.nowait_retries - st0.nowait_retries, st1.faults - st0.faults);
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
	ekv_host_fill(self->in.map + DATA_START, DATA_START, SLOT_SIZE - DATA_START, seed);
	bad = run_guest(_metadata, self, EKV_CHECK, seed);
	ASSERT_EQ(0, bad) TH_LOG("guest read a wrong word at guest-physical %#x after the "
				 "host rewrote the slot", bad);

	/* The guest overwrites data that lives on the tier (fetch, then dirty
	 * through KVM); the budget is cut to two blocks, which writes back and
	 * evicts everything, and the host must read the guest's new data. */
	seed ^= 0x01234567;
	bad = run_guest(_metadata, self, EKV_WRITE, seed);
	ASSERT_EQ(0, bad);
	ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, 2 * 64 << 10));
	ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, BUDGET));
	bad = host_check(self->in.map, seed);
	ASSERT_EQ(0, bad) TH_LOG("host read a wrong word at offset %#x after the guest "
				 "rewrote the slot and everything was evicted", bad);

	/* A word the guest checks is then wrong on purpose: it must say so. */
	*(volatile uint32_t *)(self->in.map + SLOT_SIZE - 4) ^= 1;
	bad = run_guest(_metadata, self, EKV_CHECK, seed);
	ASSERT_EQ(SLOT_SIZE - 4, bad) TH_LOG("guest missed a planted wrong word");

	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st2));
	EXPECT_LT(st1.evictions, st2.evictions);
	EXPECT_EQ(0, st2.io_errors);
	EXPECT_EQ(0, st2.sigbus);
}

/* ---- 2 MiB blocks mapped whole: 2 MiB guest mappings --------------------- */

#define HUGE_MAP_PARAM	"/sys/module/emp/parameters/huge_map"
#define HUGE_SLOT	(16 * ET_MIB)

FIXTURE(vmhuge) {
	int ctl, kvm, vmfd;
	struct ekv_vcpu v;
	struct et_inst in;
};

FIXTURE_VARIANT(vmhuge) {
	const char *param;	/* huge_map when the instance is made */
};

FIXTURE_VARIANT_ADD(vmhuge, on) { "Y" };
FIXTURE_VARIANT_ADD(vmhuge, off) { "N" };

FIXTURE_SETUP(vmhuge)
{
	/* 2 MiB blocks of 64 KiB subblocks, a budget of two blocks. */
	struct et_geom g = { .size = HUGE_SLOT, .block = 2 * ET_MIB, .sub = 64 << 10,
			     .budget = 4 * ET_MIB };
	char was[8] = "";

	ASSERT_EQ(0, et_read_file(HUGE_MAP_PARAM, was, sizeof(was)));
	ASSERT_EQ(0, et_write_file(HUGE_MAP_PARAM, variant->param));
	vm_up(_metadata, &self->ctl, &self->kvm, &self->vmfd, &self->v, &self->in, "kvmh", &g);
	EXPECT_EQ(0, et_write_file(HUGE_MAP_PARAM, was[0] ? was : "Y"));
}

FIXTURE_TEARDOWN(vmhuge)
{
	EXPECT_EQ(0, vm_down(self->ctl, self->kvm, self->vmfd, &self->v, &self->in));
}

/*
 * KVM sizes a guest mapping after the host's: a block the instance maps
 * with one PMD entry is one 2 MiB guest mapping, so the guest takes one
 * fault per block where it took one per 4 KiB page. The guest writes and
 * checks 16 MiB over a budget of 4 MiB (KVM's mappings go with every
 * eviction), the host checks the data too; KVM's own fault count tells.
 */
TEST_F_TIMEOUT(vmhuge, guest_faults_once_per_block, 120)
{
	bool on = variant->param[0] == 'Y';
	uint64_t pages = (HUGE_SLOT - DATA_START) / ET_PAGE;
	uint32_t bad, seed = 0x2b10c5;
	struct emp_stat st0, st1;
	int64_t pf0, pf1, r;

	ASSERT_EQ(0, (uintptr_t)self->in.map % (2 * ET_MIB))
		TH_LOG("the instance mapping is not 2 MiB aligned: %p", self->in.map);
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));
	pf0 = ekv_vcpu_stat(self->v.fd, "pf_taken");
	r = ekv_run(&self->v, EKV_WRITE | EKV_CHECK, seed, DATA_START, HUGE_SLOT);
	ASSERT_EQ(0, r) TH_LOG("KVM_RUN: %s %lld", run_what(r), run_detail(r));
	pf1 = ekv_vcpu_stat(self->v.fd, "pf_taken");
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	bad = (uint32_t)ekv_host_check(self->in.map + DATA_START, DATA_START,
				       HUGE_SLOT - DATA_START, seed);
	ASSERT_EQ(0, bad) TH_LOG("host read a wrong word at offset %#x", bad);
	TH_LOG("huge_map %s: guest write+check of %llu pages: KVM page faults %lld "
	       "(%.3f per page); instance: %llu faults, %llu whole-block, %llu evictions",
	       variant->param, (unsigned long long)pages, (long long)(pf1 - pf0),
	       (double)(pf1 - pf0) / (double)pages,
	       (unsigned long long)(st1.faults - st0.faults),
	       (unsigned long long)(st1.huge_faults - st0.huge_faults),
	       (unsigned long long)(st1.evictions - st0.evictions));
	EXPECT_LT(0, st1.evictions - st0.evictions);
	EXPECT_EQ(0, st1.io_errors);
	EXPECT_EQ(0, st1.sigbus);
	ASSERT_LE(0, pf0) TH_LOG("KVM has no pf_taken statistic");
	if (on) {
		EXPECT_LT(0, st1.huge_faults - st0.huge_faults);
		EXPECT_LT(16 * (pf1 - pf0), (int64_t)pages)
			TH_LOG("KVM still faults page by page: no 2 MiB guest mappings");
	} else {
		EXPECT_EQ(0, st1.huge_faults - st0.huge_faults);
		EXPECT_LE((int64_t)pages, pf1 - pf0);
	}
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
	ekv_host_fill(self->in.map + DATA_START, DATA_START, SLOT_SIZE - DATA_START, seed);
	for (int on = 1; on >= 0; on--) {
		struct emp_stat s0, s1;

		ASSERT_EQ(0, et_write_file(FAULT_AROUND_PARAM, on ? "Y" : "N"));
		/* Everything to the tier: the guest's pass fetches it all. */
		ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, 2 * 64 << 10));
		ASSERT_EQ(0, emp_resize(self->ctl, self->in.name, BUDGET));
		ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &s0));
		bad = run_guest(_metadata, self, EKV_CHECK, seed);
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
	struct ekv_vcpu *v;
	uint32_t mode, seed, start, end;
	int64_t result;		/* of ekv_run() */
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *j = arg;

	j->result = ekv_run(j->v, j->mode, j->seed, j->start, j->end);
	return NULL;
}

/* Run the guest code on vCPU 0 and a second vCPU, each on one half. */
static void run_two(struct __test_metadata *_metadata, FIXTURE_DATA(vm) *self,
		    struct ekv_vcpu *v2, uint32_t mode, uint32_t seed)
{
	uint32_t mid = SLOT_SIZE / 2;
	struct vcpu_job j[2] = {
		{ &self->v, mode, seed, DATA_START, mid, -1 },
		{ v2, mode, seed, mid, SLOT_SIZE, -1 },
	};
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, vcpu_thread, &j[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		int64_t r = j[i].result;

		ASSERT_EQ(0, r) TH_LOG("vCPU %d (mode %u): %s %lld", i, mode, run_what(r),
				       run_detail(r));
	}
}

TEST_F_TIMEOUT(vm, two_vcpus_over_evictions, 120)
{
	uint32_t seed = 0x600dcafe;
	struct emp_stat st0, st1;
	struct ekv_vcpu v2;
	int err;

	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));
	err = ekv_vcpu_new(self->kvm, self->vmfd, 1, &v2);
	ASSERT_EQ(0, err) TH_LOG("KVM_CREATE_VCPU 1: %s", strerror(-err));

	run_two(_metadata, self, &v2, EKV_WRITE | EKV_CHECK, seed);
	ASSERT_EQ(0, host_check(self->in.map, seed));
	seed = ~seed;
	run_two(_metadata, self, &v2, EKV_WRITE, seed);
	run_two(_metadata, self, &v2, EKV_CHECK, seed);
	ASSERT_EQ(0, host_check(self->in.map, seed));
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	TH_LOG("two vCPUs: %llu faults, %llu evictions",
	       (unsigned long long)(st1.faults - st0.faults),
	       (unsigned long long)(st1.evictions - st0.evictions));
	EXPECT_LT(0, st1.evictions - st0.evictions);
	EXPECT_EQ(0, st1.io_errors);
	EXPECT_EQ(0, st1.sigbus);
	ekv_vcpu_free(&v2);
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

	pf0 = ekv_vcpu_stat(self->v.fd, "pf_taken");
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st0));
	ASSERT_EQ(0, run_guest(_metadata, self, EKV_WRITE | EKV_CHECK, 0xc0ffee));
	ASSERT_EQ(0, emp_stat(self->ctl, self->in.name, &st1));
	pf1 = ekv_vcpu_stat(self->v.fd, "pf_taken");
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
