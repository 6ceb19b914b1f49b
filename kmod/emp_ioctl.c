// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch of /dev/emp and the size-first argument convention
 * described in uapi/linux/emp.h.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "emp.h"

/**
 * emp_arg_in() - copy a size-first ioctl argument from userspace
 * @dst:     kernel copy, @ksize bytes
 * @ksize:   size of the struct this module knows
 * @minsize: first published size of the struct
 * @uarg:    user pointer; its first __u32 is the caller's struct size
 * @usize:   out: the size the caller claimed
 *
 * Context: Process context, may fault.
 * Return: 0, -EFAULT if unreadable, -EINVAL for a size below @minsize or
 * above EMP_STRUCT_SIZE_MAX, -E2BIG if bytes past @ksize are nonzero.
 */
static int emp_arg_in(void *dst, size_t ksize, size_t minsize,
		      const void __user *uarg, u32 *usize)
{
	if (get_user(*usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (*usize < minsize || *usize > EMP_STRUCT_SIZE_MAX)
		return -EINVAL;
	return copy_struct_from_user(dst, ksize, uarg, *usize);
}

/* Copy a result back, never more than the caller said it has room for. */
static int emp_arg_out(void __user *uarg, const void *src, size_t ksize,
		       u32 usize)
{
	if (copy_to_user(uarg, src, min_t(size_t, ksize, usize)))
		return -EFAULT;
	return 0;
}

static int emp_ioc_info(void __user *uarg)
{
	struct emp_info info;
	u32 usize;
	int err;

	err = emp_arg_in(&info, sizeof(info), EMP_INFO_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	if (info.flags || memchr_inv(info.reserved, 0, sizeof(info.reserved)))
		return -EINVAL;

	info.size = min_t(u32, usize, sizeof(info));
	info.abi_version = EMP_ABI_VERSION;
	info.version = EMP_VERSION_CODE;
	info.features = EMP_FEAT_INFO | EMP_FEAT_INSTANCES | EMP_FEAT_TIER_BDEV |
			 EMP_FEAT_TIER_TCP | EMP_FEAT_FAULT_AROUND |
			 EMP_FEAT_NOWAIT | EMP_FEAT_CLEAN_AHEAD | EMP_FEAT_HUGE_MAP |
			 EMP_FEAT_RECLAIM | EMP_FEAT_POLLED_READS | EMP_FEAT_MONITOR |
			 EMP_FEAT_EVENTS | EMP_FEAT_DRAM_ONLY | EMP_FEAT_DISCARD |
			 EMP_FEAT_REPLICAS |
			 EMP_FEAT_TIER_NODE;
	if (emp_tier_kind_served(EMP_TIER_RDMA))
		info.features |= EMP_FEAT_TIER_RDMA;
	info.page_size = PAGE_SIZE;
	info.nr_instances = atomic_read(&emp_state.nr_instances);
	info.min_block_size = EMP_BLOCK_MIN;
	info.max_block_size = EMP_BLOCK_MAX;
	info.min_subblock_size = EMP_SUBBLOCK_MIN;
	info.max_subblock_size = EMP_SUBBLOCK_MAX;
	return emp_arg_out(uarg, &info, sizeof(info), usize);
}

static int emp_ioc_create(void __user *uarg)
{
	struct emp_tier *tiers;
	struct emp_create c;
	u32 usize, i;
	int err;

	err = emp_arg_in(&c, sizeof(c), EMP_CREATE_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	/* No tier at all: a DRAM-only instance (emp_check_create()). */
	if (c.nr_tiers > EMP_MAX_TIERS ||
	    c.tier_size < EMP_TIER_SIZE_VER0 || c.tier_size > EMP_STRUCT_SIZE_MAX)
		return -EINVAL;
	c.id = 0;	/* output only: a reused struct may carry an old one */
	tiers = kcalloc(c.nr_tiers, sizeof(*tiers), GFP_KERNEL);
	if (!tiers)
		return -ENOMEM;
	for (i = 0; i < c.nr_tiers; i++) {
		const void __user *ut = u64_to_user_ptr(c.tiers + (u64)i * c.tier_size);

		err = copy_struct_from_user(&tiers[i], sizeof(tiers[i]), ut, c.tier_size);
		if (err)
			goto out_free;
	}
	err = emp_instance_create(&c, tiers);
	if (err)
		goto out_free;
	c.size = min_t(u32, usize, sizeof(c));
	/* The instance exists now; a caller that cannot read the id can list it. */
	err = emp_arg_out(uarg, &c, sizeof(c), usize);
out_free:
	kfree(tiers);
	return err;
}

/* Arguments that only carry a name: it must be valid, reserved zero. */
static int emp_check_target(const char *name, u32 flags, const void *reserved, size_t len)
{
	if (flags || memchr_inv(reserved, 0, len))
		return -EINVAL;
	return emp_check_name(name);
}

static int emp_ioc_destroy(void __user *uarg)
{
	struct emp_target t;
	u32 usize;
	int err;

	err = emp_arg_in(&t, sizeof(t), EMP_TARGET_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	err = emp_check_target(t.name, t.flags, t.reserved, sizeof(t.reserved));
	if (err)
		return err;
	return emp_instance_destroy(t.name);
}

static int emp_ioc_list(void __user *uarg)
{
	char (*names)[EMP_NAME_MAX] = NULL;
	struct emp_list l;
	u32 usize, room, total;
	int err;

	err = emp_arg_in(&l, sizeof(l), EMP_LIST_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	if (l.flags || l.reserved0 || memchr_inv(l.reserved, 0, sizeof(l.reserved)) ||
	    (l.nr && !l.names))
		return -EINVAL;
	room = min_t(u32, l.nr, EMP_MAX_INSTANCES);
	if (room) {
		names = kcalloc(room, EMP_NAME_MAX, GFP_KERNEL);
		if (!names)
			return -ENOMEM;
	}
	emp_instance_list(names, room, &total);
	if (room && copy_to_user(u64_to_user_ptr(l.names), names,
				 (size_t)min(room, total) * EMP_NAME_MAX)) {
		err = -EFAULT;
		goto out_free;
	}
	l.size = min_t(u32, usize, sizeof(l));
	l.nr = total;
	err = emp_arg_out(uarg, &l, sizeof(l), usize);
out_free:
	kfree(names);
	return err;
}

static int emp_ioc_stat(void __user *uarg)
{
	struct emp_stat *st;
	u32 usize;
	int err;

	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	err = emp_arg_in(st, sizeof(*st), EMP_STAT_SIZE_VER0, uarg, &usize);
	if (err)
		goto out_free;
	err = emp_check_target(st->name, st->flags, st->reserved, sizeof(st->reserved));
	if (err)
		goto out_free;
	/* Everything past the name is output: start from zero. */
	memset((char *)st + offsetof(struct emp_stat, id), 0,
	       sizeof(*st) - offsetof(struct emp_stat, id));
	err = emp_instance_stat(st->name, st);
	if (err)
		goto out_free;
	st->size = min_t(u32, usize, sizeof(*st));
	err = emp_arg_out(uarg, st, sizeof(*st), usize);
out_free:
	kfree(st);
	return err;
}

static int emp_ioc_resize(void __user *uarg)
{
	struct emp_resize r;
	u32 usize;
	int err;

	err = emp_arg_in(&r, sizeof(r), EMP_RESIZE_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	err = emp_check_target(r.name, r.flags, r.reserved, sizeof(r.reserved));
	if (err)
		return err;
	return emp_instance_resize(r.name, r.dram_budget);
}

static int emp_ioc_discard(void __user *uarg)
{
	struct emp_discard d;
	u32 usize;
	int err;

	BUILD_BUG_ON(sizeof(d) != EMP_DISCARD_SIZE_VER0);
	err = emp_arg_in(&d, sizeof(d), EMP_DISCARD_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	err = emp_check_target(d.name, d.flags, d.reserved, sizeof(d.reserved));
	if (err)
		return err;
	return emp_instance_discard(d.name, d.offset, d.length);
}

static int emp_ioc_repair(void __user *uarg)
{
	struct emp_repair *r;
	u32 usize;
	int err;

	BUILD_BUG_ON(sizeof(*r) != EMP_REPAIR_SIZE_VER0);
	r = kmalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	err = emp_arg_in(r, sizeof(*r), EMP_REPAIR_SIZE_VER0, uarg, &usize);
	if (!err)
		err = emp_check_target(r->name, r->flags, r->reserved, sizeof(r->reserved));
	if (!err && r->reserved0)
		err = -EINVAL;
	if (!err)
		err = emp_instance_repair(r->name, r->tier, &r->copy);
	kfree_sensitive(r);	/* it held the donor's secret */
	return err;
}

/* Accept a command only with our magic, a known number and its direction. */
static bool emp_cmd_is(unsigned int cmd, unsigned int want)
{
	return _IOC_TYPE(cmd) == _IOC_TYPE(want) &&
	       _IOC_NR(cmd) == _IOC_NR(want) &&
	       _IOC_DIR(cmd) == _IOC_DIR(want);
}

/**
 * emp_ctl_ioctl() - ioctl handler of /dev/emp
 * @file: the open control device
 * @cmd:  EMP_IOC_* command
 * @arg:  user pointer to the command's struct
 *
 * Context: Process context.
 * Return: 0 or a negative errno; -ENOTTY for unknown commands.
 */
long emp_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (emp_cmd_is(cmd, EMP_IOC_INFO))
		return emp_ioc_info(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_CREATE))
		return emp_ioc_create(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_DESTROY))
		return emp_ioc_destroy(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_LIST))
		return emp_ioc_list(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_STAT))
		return emp_ioc_stat(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_RESIZE))
		return emp_ioc_resize(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_DISCARD))
		return emp_ioc_discard(uarg);
	if (emp_cmd_is(cmd, EMP_IOC_REPAIR))
		return emp_ioc_repair(uarg);
	return -ENOTTY;
}
