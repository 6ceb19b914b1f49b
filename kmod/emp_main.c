// SPDX-License-Identifier: GPL-2.0
/*
 * emp.ko entry points: the /dev/emp control device and module load/unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/miscdevice.h>
#include <linux/module.h>

#include "emp.h"

#define CREATE_TRACE_POINTS
#include "emp_trace.h"

struct emp_module_state emp_state;

static int emp_ctl_open(struct inode *inode, struct file *file)
{
	/*
	 * No per-open state: the file only carries ioctls. The misc core took
	 * a module reference for us (fops->owner), so the module cannot go
	 * away while this file is open.
	 */
	return 0;
}

static const struct file_operations emp_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= emp_ctl_open,
	.unlocked_ioctl	= emp_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice emp_ctl_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= EMP_CTL_NAME,
	.fops	= &emp_ctl_fops,
	.mode	= 0600,
};

static int __init emp_init(void)
{
	int err;

	atomic_set(&emp_state.nr_instances, 0);
	err = emp_cache_module_init();
	if (err)
		return err;
	emp_tiers_init();
	err = emp_instances_init();
	if (err) {
		pr_err("cannot register the instance devices: %d\n", err);
		goto out_tiers;
	}
	err = emp_fs_init();
	if (err) {
		pr_err("cannot register the filesystem empfs: %d\n", err);
		goto out_instances;
	}
	err = emp_nl_init();
	if (err) {
		pr_err("cannot register the netlink family %s: %d\n", EMP_GENL_NAME, err);
		goto out_fs;
	}
	err = misc_register(&emp_ctl_dev);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n", EMP_CTL_NAME, err);
		goto out_nl;
	}
	pr_info("version %s loaded, ABI %d\n", EMP_VERSION_STR, EMP_ABI_VERSION);
	return 0;

out_nl:
	emp_nl_exit();
out_fs:
	emp_fs_exit();
out_instances:
	emp_instances_exit();
out_tiers:
	emp_tiers_exit();
	emp_cache_module_exit();
	return err;
}

static void __exit emp_exit(void)
{
	misc_deregister(&emp_ctl_dev);
	emp_nl_exit();
	emp_fs_exit();
	emp_instances_exit();
	emp_block_pages_exit();
	emp_tiers_exit();
	emp_cache_module_exit();
	pr_info("unloaded\n");
}

module_init(emp_init);
module_exit(emp_exit);

MODULE_AUTHOR("EMP developers");
MODULE_DESCRIPTION("Elastic Memory Platform: instances backed by remote DRAM and block devices");
MODULE_LICENSE("GPL");
MODULE_VERSION(EMP_VERSION_STR);
