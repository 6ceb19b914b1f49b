// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch of /dev/emp and the size-first argument convention
 * described in uapi/linux/emp.h.
 */
#include <linux/mm.h>
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
	info.features = EMP_FEAT_INFO;
	info.page_size = PAGE_SIZE;
	info.nr_instances = atomic_read(&emp_state.nr_instances);
	info.min_block_size = EMP_MIN_BLOCK;
	info.max_block_size = EMP_MAX_BLOCK;
	info.min_subblock_size = EMP_MIN_SUBBLOCK;
	info.max_subblock_size = EMP_MAX_SUBBLOCK;
	return emp_arg_out(uarg, &info, sizeof(info), usize);
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
	return -ENOTTY;
}
