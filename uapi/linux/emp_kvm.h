/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ioctl ABI of /dev/emp_kvm, the device of emp_kvm.ko (the KVM companion).
 *
 * A process that holds a KVM VM file descriptor (QEMU, or any KVM program)
 * asks the companion to watch that VM. From then on every KVM page fault of
 * the VM (an NPT/EPT violation, or a #PF under shadow paging: KVM's
 * kvm_page_fault tracepoint) is counted against the memory slot it hit.
 * EMP_KVM_IOC_SLOTS returns the VM's memory slots with their counters and,
 * for each slot whose memory is an EMP instance mapping, the instance and
 * its offset: the tie between guest-physical ranges and instances.
 *
 * A watch holds a reference on the VM and lasts until the /dev/emp_kvm file
 * it was made through is closed; one file watches at most one VM.
 * The rules of emp.h apply: structs start with "__u32 size", only grow at
 * the end, flags and reserved fields must be zero.
 */
#ifndef _UAPI_LINUX_EMP_KVM_H
#define _UAPI_LINUX_EMP_KVM_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/emp.h>

#define EMP_KVM_DEV_NAME	"emp_kvm"

/**
 * struct emp_kvm_watch - start watching a VM (EMP_KVM_IOC_WATCH)
 * @size:     sizeof(struct emp_kvm_watch)
 * @vm_fd:    a KVM VM file descriptor of the caller (from KVM_CREATE_VM)
 * @flags:    must be 0
 * @reserved: must be 0
 *
 * Errors: EBADF (not an open fd), EINVAL (not a KVM VM, or nonzero flags),
 * EBUSY (this file already watches a VM).
 */
struct emp_kvm_watch {
	__u32 size;
	__s32 vm_fd;
	__u32 flags;
	__u32 reserved;
};

/* emp_kvm_slot.flags */
#define EMP_KVM_SLOT_EMP	(1U << 0)	/* backed by an EMP instance mapping */

/**
 * struct emp_kvm_slot - one memory slot of a watched VM
 * @id:          KVM slot number (address space 0)
 * @flags:       EMP_KVM_SLOT_*
 * @gpa:         guest-physical base address
 * @len:         bytes
 * @hva:         the userspace address it maps (in the VM's process)
 * @faults:      KVM page faults in this slot since the watch began (slot
 *               numbers are reused: a deleted and re-added slot keeps
 *               counting)
 * @inst_offset: instance offset of @gpa (EMP_KVM_SLOT_EMP)
 * @instance:    instance name, NUL-terminated (EMP_KVM_SLOT_EMP)
 */
struct emp_kvm_slot {
	__u32 id;
	__u32 flags;
	__u64 gpa;
	__u64 len;
	__u64 hva;
	__u64 faults;
	__u64 inst_offset;
	char instance[EMP_NAME_MAX];
};

/**
 * struct emp_kvm_slots - the watched VM's slots and counters (EMP_KVM_IOC_SLOTS)
 * @size:         sizeof(struct emp_kvm_slots)
 * @room:         in: entries at @slots
 * @nr_slots:     out: slots of the VM (entries written: min(room, nr_slots))
 * @flags:        must be 0
 * @faults:       out: all KVM page faults of the VM since the watch began
 * @faults_other: out: those outside the slots counted per slot (MMIO
 *                holes, KVM's private slots, slot numbers >= 512)
 * @pid:          out: the process that created the VM
 * @reserved:     must be 0
 * @slots:        user pointer to @room struct emp_kvm_slot, in slot order
 *
 * Errors: ENOENT (this file watches no VM), ESRCH (the VM's process has
 * exited: its slots are gone), EFAULT, EINVAL.
 */
struct emp_kvm_slots {
	__u32 size;
	__u32 room;
	__u32 nr_slots;
	__u32 flags;
	__u64 faults;
	__u64 faults_other;
	__s32 pid;
	__u32 reserved;
	__u64 slots;
};

#define EMP_KVM_IOC_WATCH	_IOW(EMP_IOC_MAGIC, 0x40, struct emp_kvm_watch)
#define EMP_KVM_IOC_SLOTS	_IOWR(EMP_IOC_MAGIC, 0x41, struct emp_kvm_slots)

#endif /* _UAPI_LINUX_EMP_KVM_H */
