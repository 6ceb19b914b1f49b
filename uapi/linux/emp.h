/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * EMP (Elastic Memory Platform) ioctl ABI of /dev/emp.
 *
 * This is the only header shared by emp.ko and userspace.
 *
 * Rules every command follows:
 *  - Arguments are structs of fixed-width types whose first member is
 *    "__u32 size": the caller sets it to sizeof() of the struct as the caller
 *    knows it. Structs only ever grow at the end, so old binaries keep working
 *    against new modules and the other way round (the openat2/clone3 scheme):
 *      size < the first published size, or size > 4096   -> EINVAL
 *      size > what the module knows, extra bytes all zero -> accepted
 *      size > what the module knows, extra bytes nonzero  -> E2BIG
 *    The module writes back at most "size" bytes.
 *  - Every "flags" and "reserved" field must be zero on input (EINVAL).
 *  - The ioctl number carries the magic, the number and the direction; its
 *    size bits only describe the first published layout and are not used to
 *    tell versions apart (the size member does that).
 *  - Unknown commands, or a known number with the wrong magic or direction,
 *    fail with ENOTTY.
 *  - An unreadable or unwritable argument fails with EFAULT.
 */
#ifndef _UAPI_LINUX_EMP_H
#define _UAPI_LINUX_EMP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change; compatible growth keeps it. */
#define EMP_ABI_VERSION		1

/* Name of the control device under /dev. */
#define EMP_CTL_NAME		"emp"

/* ioctl magic ('E' is crowded; 0xEE is not listed in ioctl-number.rst). */
#define EMP_IOC_MAGIC		0xEE

/* Largest size a caller may claim for any argument struct. */
#define EMP_STRUCT_SIZE_MAX	4096

/* Bits of emp_info.features: what this module build supports. */
#define EMP_FEAT_INFO		(1ULL << 0)	/* EMP_IOC_INFO */

/**
 * struct emp_info - identity and limits of the loaded module (EMP_IOC_INFO)
 * @size:        in: sizeof(struct emp_info) as known to the caller
 * @flags:       in: must be zero
 * @abi_version: out: EMP_ABI_VERSION the module implements
 * @version:     out: module version as (major << 16) | (minor << 8) | patch
 * @features:    out: EMP_FEAT_* bits
 * @page_size:   out: PAGE_SIZE of the running kernel, in bytes
 * @nr_instances: out: number of instances that exist right now
 * @min_block_size:    out: smallest block size accepted, in bytes
 * @max_block_size:    out: largest block size accepted, in bytes
 * @min_subblock_size: out: smallest subblock size accepted, in bytes
 * @max_subblock_size: out: largest subblock size accepted, in bytes
 * @reserved:    out: zero; room to grow
 */
struct emp_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 version;
	__u64 features;
	__u32 page_size;
	__u32 nr_instances;
	__u32 min_block_size;
	__u32 max_block_size;
	__u32 min_subblock_size;
	__u32 max_subblock_size;
	__u64 reserved[4];
};
#define EMP_INFO_SIZE_VER0	80	/* sizeof first published struct emp_info */

#define EMP_VERSION_MAJOR(v)	(((v) >> 16) & 0xff)
#define EMP_VERSION_MINOR(v)	(((v) >> 8) & 0xff)
#define EMP_VERSION_PATCH(v)	((v) & 0xff)

/* Commands of /dev/emp. */
#define EMP_IOC_INFO		_IOWR(EMP_IOC_MAGIC, 0x00, struct emp_info)

#endif /* _UAPI_LINUX_EMP_H */
