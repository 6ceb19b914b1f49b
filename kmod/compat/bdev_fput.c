/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HAVE_BDEV_FPUT: bdev_fput() gives up a block device opened as a file,
 * and its exclusive claim, at once; fput() alone defers the release to
 * task work, after the caller returns to user space.
 */
#include <linux/blkdev.h>
void emp_probe(struct file *f);
void emp_probe(struct file *f)
{
	bdev_fput(f);
}
