/* SPDX-License-Identifier: GPL-2.0 */
/* HAVE_BDEV_FILE_OPEN_BY_PATH: 6.9 opens block devices as a struct file
 * (released with fput). 6.7-6.8 had bdev_open_by_path() returning a handle,
 * 6.5-6.6 blkdev_get_by_path() with a holder ops argument, and up to 6.4
 * blkdev_get_by_path(path, fmode_t with FMODE_EXCL, holder). */
#include <linux/blkdev.h>
#include <linux/fs.h>
struct file *emp_probe(const char *path, void *holder);
struct file *emp_probe(const char *path, void *holder)
{
	return bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE, holder, NULL);
}
