/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel API differences between the supported lines
 * live. Each wrapper is chosen by a HAVE_* define from the build-time probes
 * in kmod/compat/ (see scripts/build-kmod.sh), never by version numbers.
 */
#ifndef _EMP_COMPAT_H
#define _EMP_COMPAT_H

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/socket.h>

#include "emp_config.h"

/* vm_flags became write-protected behind vm_flags_set() in 6.3. */
static inline void emp_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#if defined(HAVE_VM_FLAGS_SET)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * Drop the lock a fault holds (mmap_lock, or since 6.4 the per-VMA lock),
 * for a fault that will answer VM_FAULT_RETRY: release_fault_lock() since
 * 6.5; before it a fault always held mmap_lock.
 */
static inline void emp_release_fault_lock(struct vm_fault *vmf)
{
#if defined(HAVE_RELEASE_FAULT_LOCK)
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

/**
 * struct emp_bdev_handle - an exclusively opened block device
 * @bdev: the device, valid between emp_bdev_open() and emp_bdev_close()
 * @file: since 6.9 the open device is a file; it holds the claim
 */
struct emp_bdev_handle {
	struct block_device *bdev;
#if defined(HAVE_BDEV_FILE_OPEN_BY_PATH)
	struct file *file;
#endif
};

/*
 * Open @path read-write and exclusively for @holder.
 * Return: 0 or the negative errno of the open (ENOENT, ENOTBLK, EBUSY, ...).
 */
static inline int emp_bdev_open(const char *path, void *holder,
				struct emp_bdev_handle *h)
{
#if defined(HAVE_BDEV_FILE_OPEN_BY_PATH)
	h->file = bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
					 holder, NULL);
	if (IS_ERR(h->file))
		return PTR_ERR(h->file);
	h->bdev = file_bdev(h->file);
	return 0;
#elif defined(HAVE_BLKDEV_GET_BY_PATH_FMODE)
	h->bdev = blkdev_get_by_path(path, FMODE_READ | FMODE_WRITE | FMODE_EXCL,
				     holder);
	return PTR_ERR_OR_ZERO(h->bdev);
#else
#error "Unsupported kernel: no known way to open a block device exclusively"
#endif
}

/*
 * Give the device up, its exclusive claim at once: with fput() alone the
 * claim outlived DESTROY until the destroying task returned to user space
 * (task work), and a program that saw the instance's node gone and
 * created a new instance on the same device got EBUSY.
 */
static inline void emp_bdev_close(struct emp_bdev_handle *h)
{
#if defined(HAVE_BDEV_FILE_OPEN_BY_PATH) && defined(HAVE_BDEV_FPUT)
	bdev_fput(h->file);
#elif defined(HAVE_BDEV_FILE_OPEN_BY_PATH)
	fput(h->file);
#elif defined(HAVE_BLKDEV_GET_BY_PATH_FMODE)
	blkdev_put(h->bdev, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
#endif
	h->bdev = NULL;
}

/* kernel_connect() takes sockaddr_unsized since 7.x. */
static inline int emp_kernel_connect(struct socket *sock, struct sockaddr_storage *addr,
				     int len)
{
#if defined(HAVE_KERNEL_CONNECT_UNSIZED)
	return kernel_connect(sock, (struct sockaddr_unsized *)addr, len, 0);
#else
	return kernel_connect(sock, (struct sockaddr *)addr, len, 0);
#endif
}

#endif /* _EMP_COMPAT_H */
