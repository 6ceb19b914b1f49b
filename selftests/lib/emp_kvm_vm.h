/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KVM virtual machine for the VM-mode selftest (emp_kvm_test.c)
 * and benchmark (emp_bench vm): memory slots on any mapping (an EMP
 * instance), vCPUs running a small 32-bit guest program, KVM's per-vCPU
 * binary statistics.
 *
 * The guest program (flat 32-bit protected mode, no paging) is copied to
 * guest-physical 0 by the caller. Arguments come in registers; it reports
 * through port I/O: out EKV_PORT_DONE with eax = 0 when all is well, or
 * out EKV_PORT_BAD with eax = the first wrong guest-physical address.
 *   esi bit 0 (EKV_WRITE): write dword [a] = a ^ edx for a in [edi, ebx)
 *   esi bit 1 (EKV_CHECK): check the same
 *
 * Everything is static inline and reports errors by return value.
 */
#ifndef EMP_KVM_VM_H
#define EMP_KVM_VM_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define EKV_PORT_DONE	0x10
#define EKV_PORT_BAD	0x11
#define EKV_WRITE	1
#define EKV_CHECK	2
/* ekv_run() results below zero that are not -errno: an unexpected exit. */
#define EKV_EXIT_BASE	(-1000)

extern const uint8_t ekv_guest[], ekv_guest_end[];
asm(".pushsection .rodata\n"
    ".globl ekv_guest\n.globl ekv_guest_end\n"
    "ekv_guest:\n"
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
    "ekv_guest_end:\n"
    ".popsection\n");

struct ekv_vcpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

/*
 * Open /dev/kvm and create a VM. On success *kvm and *vmfd are open.
 * Return: 0 or -errno, with *why naming the step that failed.
 */
static inline int ekv_vm_open(int *kvm, int *vmfd, const char **why)
{
	int err;

	*vmfd = -1;
	*why = "open /dev/kvm (kvm_amd/kvm_intel not loaded?)";
	*kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (*kvm < 0)
		return -errno;
	*why = "KVM_GET_API_VERSION";
	if (ioctl(*kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		err = -EPROTO;
		goto fail;
	}
	*why = "KVM_CREATE_VM";
	*vmfd = ioctl(*kvm, KVM_CREATE_VM, 0);
	if (*vmfd < 0) {
		err = -errno;
		goto fail;
	}
	/* Needed by VMX for real mode only; harmless elsewhere. */
	(void)ioctl(*vmfd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	return 0;
fail:
	close(*kvm);
	*kvm = -1;
	return err;
}

/* Slot @slot of @vmfd maps @len bytes at @hva to guest-physical @gpa (0
 * bytes deletes it). Return: 0 or -errno. */
static inline int ekv_slot(int vmfd, uint32_t slot, uint64_t gpa, uint64_t len, void *hva)
{
	struct kvm_userspace_memory_region mr = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = len,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &mr) ? -errno : 0;
}

/* vCPU @id of the VM with its kvm_run area. Return: 0 or -errno. */
static inline int ekv_vcpu_new(int kvm, int vmfd, int id, struct ekv_vcpu *v)
{
	int n, err;

	v->run = MAP_FAILED;
	v->fd = ioctl(vmfd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	n = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0) {
		err = n < 0 ? -errno : -EPROTO;
		goto fail;
	}
	v->run_size = n;
	v->run = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	close(v->fd);
	v->fd = -1;
	return err;
}

static inline void ekv_vcpu_free(struct ekv_vcpu *v)
{
	if (v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	v->run = MAP_FAILED;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

/* Flat 32-bit protected mode, no paging, entry at guest-physical 0. */
static inline int ekv_setup(int vcpu, uint32_t mode, uint32_t seed, uint32_t start,
			    uint32_t end)
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
 * One pass of the guest program over [start, end) on @v.
 * Return: 0 when the guest said done, the wrong address (> 0) when it found
 * a wrong word, -errno on an ioctl error, EKV_EXIT_BASE - exit_reason on an
 * unexpected exit, -ETIME when it did not report within 16 exits.
 */
static inline int64_t ekv_run(struct ekv_vcpu *v, uint32_t mode, uint32_t seed,
			      uint32_t start, uint32_t end)
{
	struct kvm_run *r = v->run;
	int64_t err;

	err = ekv_setup(v->fd, mode, seed, start, end);
	if (err)
		return err;
	for (int i = 0; i < 16; i++) {
		uint32_t val;

		if (ioctl(v->fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r->exit_reason != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_OUT ||
		    r->io.size != 4 ||
		    (r->io.port != EKV_PORT_DONE && r->io.port != EKV_PORT_BAD))
			return EKV_EXIT_BASE - (int64_t)r->exit_reason;
		memcpy(&val, (uint8_t *)r + r->io.data_offset, 4);
		if (r->io.port == EKV_PORT_DONE)
			return 0;
		return val ? val : 1;
	}
	return -ETIME;
}

/* The guest's pattern (the word at guest-physical a holds a ^ seed) over
 * @len bytes at @m, which the guest sees at @gpa, written from the host. */
static inline void ekv_host_fill(uint8_t *m, uint64_t gpa, uint64_t len, uint32_t seed)
{
	for (uint64_t off = 0; off < len; off += 4)
		*(volatile uint32_t *)(m + off) = (uint32_t)(gpa + off) ^ seed;
}

/* The same checked from the host. Return: 0, or the guest-physical
 * address of the first wrong word. */
static inline uint64_t ekv_host_check(const uint8_t *m, uint64_t gpa, uint64_t len,
				      uint32_t seed)
{
	for (uint64_t off = 0; off < len; off += 4)
		if (*(const volatile uint32_t *)(m + off) != ((uint32_t)(gpa + off) ^ seed))
			return gpa + off;
	return 0;
}

/*
 * A vCPU's counter from KVM's binary statistics (KVM_GET_STATS_FD): the
 * header, then descriptors of sizeof(desc) + name_size bytes, then data.
 * Return: the value, or -1 when the statistic is not there.
 */
static inline int64_t ekv_vcpu_stat(int vcpu, const char *name)
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

#endif
