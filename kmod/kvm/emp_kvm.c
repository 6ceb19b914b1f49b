// SPDX-License-Identifier: GPL-2.0
/*
 * emp_kvm.ko, the KVM companion of emp.ko: per-VM and per-memory-slot
 * fault statistics of VMs whose RAM is (partly) EMP instances, and the tie
 * between a VM's memory slots and the instances behind them.
 *
 * It needs nothing of KVM that Debian's kvm.ko does not export: the
 * kvm_page_fault tracepoint (one event per NPT/EPT violation, or per
 * intercepted #PF under shadow paging) and the VM reference counting; the
 * memslot lookups are inline in <linux/kvm_host.h>. Nothing here changes how KVM maps guest memory.
 *
 * Userspace names the VM: EMP_KVM_IOC_WATCH with its VM file descriptor
 * (uapi/linux/emp_kvm.h). A watch is a struct emp_kvm_vm on an RCU list
 * that the tracepoint probe walks; it holds a VM reference until its
 * /dev/emp_kvm file is closed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_host.h>
#include <linux/magic.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/tracepoint.h>

#include <linux/emp.h>
#include <linux/emp_kvm.h>

#include "../emp_export.h"

/*
 * Defined by kvm.ko (arch/x86/kvm/x86.c exports it). Its probe prototype
 * is that of TRACE_EVENT(kvm_page_fault) in arch/x86/kvm/trace.h, which is
 * not among the installed headers; the same on every line we build for
 * (6.1, 6.12, 7.2: "vcpu %u rip 0x%lx address 0x%016llx error_code 0x%llx").
 */
extern struct tracepoint __tracepoint_kvm_page_fault;

/* Slots counted one by one: ids below this (QEMU uses a few dozen). */
#define EMP_KVM_SLOT_MAX	512

/**
 * struct emp_kvm_vm - one watch, the private data of a /dev/emp_kvm file
 * @node:         on emp_kvm_vms (RCU), once watching
 * @kvm:          the VM, referenced; NULL before EMP_KVM_IOC_WATCH
 * @pid:          the process that created the VM
 * @faults:       all KVM page faults of the VM since the watch
 * @faults_other: faults outside the per-slot counters
 * @slot_faults:  faults per slot id (address space 0)
 */
struct emp_kvm_vm {
	struct list_head node;
	struct kvm *kvm;
	pid_t pid;
	atomic64_t faults;
	atomic64_t faults_other;
	atomic64_t slot_faults[EMP_KVM_SLOT_MAX];
};

static LIST_HEAD(emp_kvm_vms);
static DEFINE_MUTEX(emp_kvm_lock);	/* writers of emp_kvm_vms */

/*
 * Tracepoint probe: runs in the vCPU thread while KVM handles the exit,
 * with kvm->srcu held (the memslot lookup's requirement) and preemption off.
 */
static void emp_kvm_fault_probe(void *data, struct kvm_vcpu *vcpu, u64 addr, u64 error_code)
{
	struct kvm_memory_slot *slot;
	struct emp_kvm_vm *vm;

	rcu_read_lock();
	list_for_each_entry_rcu(vm, &emp_kvm_vms, node) {
		if (vm->kvm != vcpu->kvm)
			continue;
		atomic64_inc(&vm->faults);
		/* The header's inline lookup: 7.2 exports gfn_to_memslot()
		 * to kvm-amd and kvm-intel only. */
		slot = __gfn_to_memslot(kvm_memslots(vcpu->kvm), gpa_to_gfn(addr));
		if (slot && !slot->as_id && slot->id >= 0 && slot->id < EMP_KVM_SLOT_MAX)
			atomic64_inc(&vm->slot_faults[slot->id]);
		else
			atomic64_inc(&vm->faults_other);
		break;
	}
	rcu_read_unlock();
}

/*
 * Is @file a KVM VM? kvm_vm_fops is kvm.ko's own and not exported, so: an
 * anonymous inode named "kvm-vm" (KVM_CREATE_VM's), whose file operations
 * have no owner (6.1) or a KVM module as owner (later kernels make the
 * vendor module, kvm_amd or kvm_intel, the owner).
 */
static bool emp_kvm_is_vm_file(struct file *file)
{
	const struct file_operations *fops = file->f_op;

	return fops && (!fops->owner || !strncmp(fops->owner->name, "kvm", 3)) &&
	       file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, "kvm-vm");
}

static int emp_kvm_watch(struct emp_kvm_vm *vm, void __user *uarg)
{
	struct emp_kvm_watch w;
	struct file *file;
	u32 usize;
	int err;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < sizeof(w) || usize > EMP_STRUCT_SIZE_MAX)
		return -EINVAL;
	err = copy_struct_from_user(&w, sizeof(w), uarg, usize);
	if (err)
		return err;
	if (w.flags || w.reserved)
		return -EINVAL;
	file = fget(w.vm_fd);
	if (!file)
		return -EBADF;
	err = -EINVAL;
	if (!emp_kvm_is_vm_file(file)) {
		pr_notice_ratelimited("watch: fd %d is not a KVM VM (%pD of module %s)\n",
				      w.vm_fd, file, file->f_op && file->f_op->owner ?
				      file->f_op->owner->name : "none");
		goto out;
	}
	mutex_lock(&emp_kvm_lock);
	err = -EBUSY;
	if (!vm->kvm) {
		vm->kvm = file->private_data;
		kvm_get_kvm(vm->kvm);
		vm->pid = vm->kvm->userspace_pid;
		list_add_tail_rcu(&vm->node, &emp_kvm_vms);
		err = 0;
	}
	mutex_unlock(&emp_kvm_lock);
	if (!err)
		pr_info("watching the VM of pid %d\n", vm->pid);
out:
	fput(file);
	return err;
}

static int emp_kvm_slot_cmp(const void *a, const void *b)
{
	const struct emp_kvm_slot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * The VM's slots, from its memslots (under kvm->srcu), then each slot's
 * userspace address looked up in the VM's process (mmap lock): an EMP
 * mapping there is the instance behind the slot.
 */
static int emp_kvm_collect(struct emp_kvm_vm *vm, struct emp_kvm_slot *out, u32 *nr)
{
	struct kvm *kvm = vm->kvm;
	struct kvm_memory_slot *ms;
	struct kvm_memslots *slots;
	struct mm_struct *mm = kvm->mm;
	struct vm_area_struct *vma;
	int idx, bkt;
	u32 n = 0, i;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	idx = srcu_read_lock(&kvm->srcu);
	slots = kvm_memslots(kvm);
	kvm_for_each_memslot(ms, bkt, slots) {
		if (ms->id < 0 || ms->id >= EMP_KVM_SLOT_MAX)
			continue;
		out[n] = (struct emp_kvm_slot) {
			.id = ms->id,
			.gpa = gfn_to_gpa(ms->base_gfn),
			.len = (u64)ms->npages << PAGE_SHIFT,
			.hva = ms->userspace_addr,
			.faults = atomic64_read(&vm->slot_faults[ms->id]),
		};
		n++;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	sort(out, n, sizeof(*out), emp_kvm_slot_cmp, NULL);

	mmap_read_lock(mm);
	for (i = 0; i < n; i++) {
		vma = vma_lookup(mm, out[i].hva);
		if (vma && emp_vma_instance(vma, out[i].instance, &out[i].inst_offset)) {
			out[i].inst_offset += out[i].hva - vma->vm_start;
			out[i].flags |= EMP_KVM_SLOT_EMP;
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);
	*nr = n;
	return 0;
}

static int emp_kvm_slots(struct emp_kvm_vm *vm, void __user *uarg)
{
	struct emp_kvm_slot *buf;
	struct emp_kvm_slots s;
	u32 usize, nr = 0;
	int err;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < sizeof(s) || usize > EMP_STRUCT_SIZE_MAX)
		return -EINVAL;
	err = copy_struct_from_user(&s, sizeof(s), uarg, usize);
	if (err)
		return err;
	if (s.flags || s.reserved || s.nr_slots || s.faults || s.faults_other || s.pid)
		return -EINVAL;
	if (!READ_ONCE(vm->kvm))
		return -ENOENT;
	buf = kvcalloc(EMP_KVM_SLOT_MAX, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = emp_kvm_collect(vm, buf, &nr);
	if (err)
		goto out;
	s.nr_slots = nr;
	s.faults = atomic64_read(&vm->faults);
	s.faults_other = atomic64_read(&vm->faults_other);
	s.pid = vm->pid;
	err = -EFAULT;
	if (s.room && copy_to_user(u64_to_user_ptr(s.slots), buf,
				   min(s.room, nr) * sizeof(*buf)))
		goto out;
	if (copy_to_user(uarg, &s, min_t(size_t, usize, sizeof(s))))
		goto out;
	err = 0;
out:
	kvfree(buf);
	return err;
}

static long emp_kvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct emp_kvm_vm *vm = file->private_data;

	switch (cmd) {
	case EMP_KVM_IOC_WATCH:
		return emp_kvm_watch(vm, (void __user *)arg);
	case EMP_KVM_IOC_SLOTS:
		return emp_kvm_slots(vm, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static int emp_kvm_open(struct inode *inode, struct file *file)
{
	struct emp_kvm_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);

	if (!vm)
		return -ENOMEM;
	INIT_LIST_HEAD(&vm->node);
	file->private_data = vm;
	return 0;
}

static int emp_kvm_release(struct inode *inode, struct file *file)
{
	struct emp_kvm_vm *vm = file->private_data;

	if (vm->kvm) {
		mutex_lock(&emp_kvm_lock);
		list_del_rcu(&vm->node);
		mutex_unlock(&emp_kvm_lock);
		/* The probe runs with preemption off: this waits for it too. */
		synchronize_rcu();
		pr_info("stopped watching the VM of pid %d\n", vm->pid);
		kvm_put_kvm(vm->kvm);
	}
	kfree(vm);
	return 0;
}

static const struct file_operations emp_kvm_fops = {
	.owner		= THIS_MODULE,
	.open		= emp_kvm_open,
	.release	= emp_kvm_release,
	.unlocked_ioctl	= emp_kvm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice emp_kvm_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= EMP_KVM_DEV_NAME,
	.fops	= &emp_kvm_fops,
	.mode	= 0600,
};

static int __init emp_kvm_init(void)
{
	int err;

	err = tracepoint_probe_register(&__tracepoint_kvm_page_fault,
					(void *)emp_kvm_fault_probe, NULL);
	if (err) {
		pr_err("cannot attach to kvm_page_fault: %d\n", err);
		return err;
	}
	err = misc_register(&emp_kvm_dev);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n", EMP_KVM_DEV_NAME, err);
		tracepoint_probe_unregister(&__tracepoint_kvm_page_fault,
					    (void *)emp_kvm_fault_probe, NULL);
		tracepoint_synchronize_unregister();
		return err;
	}
	pr_info("loaded: KVM page faults counted per watched VM and memory slot\n");
	return 0;
}

static void __exit emp_kvm_exit(void)
{
	/* No file is open (each holds a module reference): no watch is left. */
	misc_deregister(&emp_kvm_dev);
	tracepoint_probe_unregister(&__tracepoint_kvm_page_fault,
				    (void *)emp_kvm_fault_probe, NULL);
	tracepoint_synchronize_unregister();
	pr_info("unloaded\n");
}

module_init(emp_kvm_init);
module_exit(emp_kvm_exit);

MODULE_AUTHOR("EMP developers");
MODULE_DESCRIPTION("EMP KVM companion: per-VM and per-memory-slot fault statistics");
MODULE_LICENSE("GPL");
MODULE_VERSION(EMP_VERSION_STR);
