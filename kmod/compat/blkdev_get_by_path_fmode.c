/* SPDX-License-Identifier: GPL-2.0 */
/* HAVE_BLKDEV_GET_BY_PATH_FMODE: the 3-argument blkdev_get_by_path() with
 * fmode_t and FMODE_EXCL, and blkdev_put(bdev, mode), up to 6.4. */
#include <linux/blkdev.h>
#include <linux/fs.h>
struct block_device *emp_probe(const char *path, void *holder);
struct block_device *emp_probe(const char *path, void *holder)
{
	struct block_device *b;

	b = blkdev_get_by_path(path, FMODE_READ | FMODE_WRITE | FMODE_EXCL, holder);
	if (!IS_ERR(b))
		blkdev_put(b, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
	return b;
}
