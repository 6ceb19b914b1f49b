/* SPDX-License-Identifier: GPL-2.0 */
/*
 * emp.ko private declarations shared between its files. Not an API: the
 * userspace contract is uapi/linux/emp.h alone.
 */
#ifndef _EMP_PRIV_H
#define _EMP_PRIV_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/sizes.h>
#include <linux/emp.h>

#define EMP_VERSION_CODE	((0 << 16) | (1 << 8) | 0)	/* 0.1.0 */
#define EMP_VERSION_STR		"0.1.0"

/* Geometry limits, also reported through EMP_IOC_INFO. */
#define EMP_MIN_BLOCK		SZ_4K
#define EMP_MAX_BLOCK		SZ_2M
#define EMP_MIN_SUBBLOCK	SZ_4K
#define EMP_MAX_SUBBLOCK	SZ_128K

/**
 * struct emp_module_state - state of the whole module
 * @nr_instances: instances alive; the module refuses to unload while nonzero
 */
struct emp_module_state {
	atomic_t nr_instances;
};

extern struct emp_module_state emp_state;

long emp_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _EMP_PRIV_H */
