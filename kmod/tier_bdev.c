// SPDX-License-Identifier: GPL-2.0
/*
 * Block-device tier: a range of any block device (NVMe in the tests),
 * opened exclusively, read and written with one bio per transfer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "emp_compat.h"
#include "emp_tier.h"

/**
 * struct emp_bdev_tier - block-device backend
 * @be:     generic part
 * @h:      the device, opened exclusively for the instance
 * @offset: byte offset of the tier inside the device
 */
struct emp_bdev_tier {
	struct emp_backend be;
	struct emp_bdev_handle h;
	u64 offset;
};

static struct emp_bdev_tier *to_bdev_tier(struct emp_backend *be)
{
	return container_of(be, struct emp_bdev_tier, be);
}

static void emp_bdev_end_io(struct bio *bio)
{
	struct emp_tier_io *io = bio->bi_private;
	int err = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	io->end_io(io, err);
}

static void emp_bdev_submit(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_bdev_tier *t = to_bdev_tier(be);
	blk_opf_t op = io->dir == EMP_IO_READ ? REQ_OP_READ : REQ_OP_WRITE;
	struct bio *bio;
	unsigned int i;

	/*
	 * GFP_NOIO: we are in the fault or eviction path holding a block
	 * lock; reclaim must not start I/O that could end up waiting on us.
	 * bio_alloc() with a sleeping mask does not fail (mempool).
	 */
	bio = bio_alloc(t->h.bdev, io->nr_pages, op, GFP_NOIO);
	bio->bi_iter.bi_sector = (t->offset + io->pos) >> SECTOR_SHIFT;
	bio->bi_private = io;
	bio->bi_end_io = emp_bdev_end_io;
	for (i = 0; i < io->nr_pages; i++) {
		if (bio_add_page(bio, io->pages[i], PAGE_SIZE, 0) != PAGE_SIZE) {
			bio->bi_status = BLK_STS_RESOURCE;
			bio_endio(bio);
			return;
		}
	}
	submit_bio(bio);
}

static void emp_bdev_destroy(struct emp_backend *be)
{
	struct emp_bdev_tier *t = to_bdev_tier(be);

	emp_bdev_close(&t->h);
	kfree(t);
}

/**
 * emp_bdev_create() - open a block-device tier
 * @desc:   validated tier description (path, offset, size)
 * @holder: exclusive holder (the instance)
 * @out:    the new backend
 *
 * Context: Process context, sleeps.
 * Return: 0, the errno of opening the device, -ENOSPC if the range does not
 * fit in the device, -EINVAL for a device with sectors larger than a page,
 * -ENOMEM.
 */
static int emp_bdev_create(const struct emp_tier *desc, void *holder,
			   struct emp_backend **out)
{
	struct emp_bdev_tier *t;
	u64 dev_bytes;
	int err;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	err = emp_bdev_open(desc->path, holder, &t->h);
	if (err) {
		pr_notice_ratelimited("tier %s: cannot open exclusively: %d\n", desc->path, err);
		goto out_free;
	}
	dev_bytes = bdev_nr_bytes(t->h.bdev);
	if (desc->offset > dev_bytes || desc->size > dev_bytes - desc->offset) {
		pr_notice_ratelimited("tier %s: offset %llu + size %llu exceeds the device (%llu bytes)\n",
				      desc->path, desc->offset, desc->size, dev_bytes);
		err = -ENOSPC;
		goto out_close;
	}
	if (bdev_logical_block_size(t->h.bdev) > PAGE_SIZE) {
		pr_notice_ratelimited("tier %s: sector size %u is larger than a page\n",
				      desc->path, bdev_logical_block_size(t->h.bdev));
		err = -EINVAL;
		goto out_close;
	}
	t->be.size = desc->size;
	t->offset = desc->offset;
	*out = &t->be;
	return 0;

out_close:
	emp_bdev_close(&t->h);
out_free:
	kfree(t);
	return err;
}

/* Do two block-device tiers take intersecting ranges of one device? */
static bool emp_bdev_overlaps(struct emp_backend *a, struct emp_backend *b)
{
	struct emp_bdev_tier *x = to_bdev_tier(a), *y = to_bdev_tier(b);

	return x->h.bdev->bd_dev == y->h.bdev->bd_dev &&
	       x->offset < y->offset + b->size && y->offset < x->offset + a->size;
}

const struct emp_tier_ops emp_bdev_ops = {
	.kind		= EMP_TIER_BDEV,
	.name		= "bdev",
	.owner		= THIS_MODULE,
	.create		= emp_bdev_create,
	.submit		= emp_bdev_submit,
	.overlaps	= emp_bdev_overlaps,
	.destroy	= emp_bdev_destroy,
};
