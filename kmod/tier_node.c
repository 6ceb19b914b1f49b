// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA node tier: a range of an instance kept in the memory of one NUMA
 * node of this host, typically a CXL memory expander or a far socket that
 * shows up as a node without CPUs. It is slower than local DRAM and much
 * faster than any device, so fetch and writeback are plain page copies done
 * by the submitting task, and a transfer is over before ->submit returns:
 * a 4 KiB fetch costs a page copy across the interconnect, a 128 KiB one
 * 32 of them, far less than the shortest NVMe read.
 *
 * All the tier's pages are taken from the node when the instance is
 * created (__GFP_THISNODE: never from another node), so a writeback never
 * waits for or fails at an allocation. They are held in chunks of 2 MiB
 * where the node has them contiguous, else page by page, and are zeroed
 * when taken, so a never-written range reads as zeros and no stale memory
 * reaches a user.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "emp_tier.h"

#define EMP_NODE_CHUNK_ORDER	get_order(SZ_2M)
#define EMP_NODE_CHUNK_PAGES	(1UL << EMP_NODE_CHUNK_ORDER)
/* A chunk entry with this bit set points at an array of single pages. */
#define EMP_NODE_SCATTERED	1UL

/**
 * struct emp_node_tier - node-memory backend
 * @be:        generic part
 * @nid:       the node
 * @nr_pages:  pages the tier holds (be.size / PAGE_SIZE)
 * @nr_chunks: entries in @chunks
 * @chunks:    per 2 MiB of the tier: the first page of a contiguous
 *             block of EMP_NODE_CHUNK_PAGES pages, or (with
 *             EMP_NODE_SCATTERED) an array of the chunk's single pages
 */
struct emp_node_tier {
	struct emp_backend be;
	int nid;
	unsigned long nr_pages;
	unsigned long nr_chunks;
	unsigned long *chunks;
};

static struct emp_node_tier *to_node_tier(struct emp_backend *be)
{
	return container_of(be, struct emp_node_tier, be);
}

/* Pages of chunk @i: EMP_NODE_CHUNK_PAGES but for a shorter last one. */
static unsigned long emp_node_chunk_len(struct emp_node_tier *t, unsigned long i)
{
	return min(EMP_NODE_CHUNK_PAGES, t->nr_pages - i * EMP_NODE_CHUNK_PAGES);
}

/* The tier's page number @n. */
static struct page *emp_node_page(struct emp_node_tier *t, unsigned long n)
{
	unsigned long c = t->chunks[n / EMP_NODE_CHUNK_PAGES];
	unsigned long off = n % EMP_NODE_CHUNK_PAGES;

	if (c & EMP_NODE_SCATTERED)
		return ((struct page **)(c & ~EMP_NODE_SCATTERED))[off];
	/* One buddy block: never across a memory section, so its struct pages are contiguous. */
	return (struct page *)c + off;
}

static void emp_node_submit(struct emp_backend *be, struct emp_tier_io *io)
{
	struct emp_node_tier *t = to_node_tier(be);
	unsigned long first = io->pos >> PAGE_SHIFT;
	unsigned int i;

	if (!PAGE_ALIGNED(io->pos) || first > t->nr_pages ||
	    io->nr_pages > t->nr_pages - first) {
		io->end_io(io, -EIO);
		return;
	}
	for (i = 0; i < io->nr_pages; i++) {
		struct page *p = emp_node_page(t, first + i);

		if (io->dir == EMP_IO_READ)
			copy_highpage(io->pages[i], p);
		else
			copy_highpage(p, io->pages[i]);
	}
	io->end_io(io, 0);
}

/* Free chunk @i, whichever way it was taken. */
static void emp_node_free_chunk(struct emp_node_tier *t, unsigned long i)
{
	unsigned long c = t->chunks[i], n, j;
	struct page **pages;

	if (!c)
		return;
	if (!(c & EMP_NODE_SCATTERED)) {
		__free_pages((struct page *)c, EMP_NODE_CHUNK_ORDER);
		return;
	}
	pages = (struct page **)(c & ~EMP_NODE_SCATTERED);
	n = emp_node_chunk_len(t, i);
	for (j = 0; j < n && pages[j]; j++)
		__free_page(pages[j]);
	kfree(pages);
}

static void emp_node_free(struct emp_node_tier *t)
{
	unsigned long i;

	for (i = 0; i < t->nr_chunks; i++) {
		emp_node_free_chunk(t, i);
		cond_resched();
	}
	kvfree(t->chunks);
	kfree(t);
}

/*
 * Take chunk @i from the node: contiguous if the node has such a block or
 * can make one with a light attempt at compaction (__GFP_NORETRY), else
 * page by page, each allowed to reclaim on that node; never the OOM
 * killer (__GFP_THISNODE allocations do not invoke it).
 */
static int emp_node_take_chunk(struct emp_node_tier *t, unsigned long i)
{
	const gfp_t gfp = GFP_HIGHUSER | __GFP_THISNODE | __GFP_ZERO | __GFP_NOWARN |
			  __GFP_RETRY_MAYFAIL;
	unsigned long n = emp_node_chunk_len(t, i), j;
	struct page **pages, *p;

	if (n == EMP_NODE_CHUNK_PAGES) {
		p = alloc_pages_node(t->nid, (gfp & ~__GFP_RETRY_MAYFAIL) | __GFP_NORETRY,
				     EMP_NODE_CHUNK_ORDER);
		if (p) {
			t->chunks[i] = (unsigned long)p;
			return 0;
		}
	}
	pages = kcalloc(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	t->chunks[i] = (unsigned long)pages | EMP_NODE_SCATTERED;
	for (j = 0; j < n; j++) {
		pages[j] = alloc_pages_node(t->nid, gfp, 0);
		if (!pages[j])
			return -ENOMEM;
	}
	return 0;
}

static void emp_node_destroy(struct emp_backend *be)
{
	emp_node_free(to_node_tier(be));
}

/**
 * emp_node_create() - take a node tier's memory from its node
 * @desc:   validated description (node, size)
 * @holder: the instance (unused)
 * @out:    the new backend
 *
 * Context: Process context, sleeps; a large tier takes a while (every page
 * is zeroed) and a fatal signal stops it.
 * Return: 0, -ENOMEM when the node has not that much memory free for the
 * kernel (the node's memory must be online in a kernel zone, not
 * ZONE_MOVABLE only), -EINTR on a fatal signal.
 */
static int emp_node_create(const struct emp_tier *desc, void *holder, struct emp_backend **out)
{
	struct emp_node_tier *t;
	unsigned long i;
	int err = 0;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->nid = desc->node;
	t->be.size = desc->size;
	t->nr_pages = desc->size >> PAGE_SHIFT;
	t->nr_chunks = DIV_ROUND_UP(t->nr_pages, EMP_NODE_CHUNK_PAGES);
	t->chunks = kvcalloc(t->nr_chunks, sizeof(*t->chunks), GFP_KERNEL);
	if (!t->chunks) {
		kfree(t);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr_chunks; i++) {
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		err = emp_node_take_chunk(t, i);
		if (err) {
			pr_notice_ratelimited("node tier: node %d has not %llu MiB free for the kernel (got %lu MiB)\n",
					      t->nid, desc->size >> 20,
					      (i * EMP_NODE_CHUNK_PAGES) >> (20 - PAGE_SHIFT));
			break;
		}
		cond_resched();
	}
	if (err) {
		emp_node_free(t);
		return err;
	}
	*out = &t->be;
	return 0;
}

const struct emp_tier_ops emp_node_ops = {
	.kind		= EMP_TIER_NODE,
	.name		= "node",
	.owner		= THIS_MODULE,
	.create		= emp_node_create,
	.submit		= emp_node_submit,
	.destroy	= emp_node_destroy,
};
