// SPDX-License-Identifier: GPL-2.0
/*
 * Instances: validation, the registry, the per-instance device node
 * (/dev/emp-NAME: open, mmap, lseek) and its sysfs attributes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "emp.h"
#include "emp_compat.h"

/*
 * emp_registry_lock protects emp_instances and, of every instance, its
 * name's uniqueness, nr_open and dying. Never taken on the fault path.
 */
static DEFINE_MUTEX(emp_registry_lock);
static DEFINE_XARRAY_ALLOC(emp_instances);	/* id -> instance */
static dev_t emp_devt;
static struct cdev emp_inst_cdev;

static struct class emp_class = {
	.name = "emp",
};

#define emp_reject(name, fmt, ...) \
	pr_notice_ratelimited("create %.*s: " fmt "\n", EMP_NAME_MAX, name, ##__VA_ARGS__)

/**
 * emp_check_name() - validate an instance name from userspace
 * @name: EMP_NAME_MAX bytes
 *
 * Return: 0 or -EINVAL (see EMP_NAME_MAX in the uapi header for the rules).
 */
int emp_check_name(const char *name)
{
	size_t len = strnlen(name, EMP_NAME_MAX), i;

	if (!len || len == EMP_NAME_MAX || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	if (memchr_inv(name + len, 0, EMP_NAME_MAX - len))
		return -EINVAL;
	/* ASCII only: the kernel's isalnum() also takes Latin-1 letters. */
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-')
			return -EINVAL;
	}
	return 0;
}

/**
 * emp_check_budget() - validate a DRAM budget
 * @budget:     bytes
 * @block_size: the instance's block size
 *
 * Return: 0 or -EINVAL unless a page multiple of at least two blocks.
 */
int emp_check_budget(u64 budget, u32 block_size)
{
	if (!PAGE_ALIGNED(budget) || budget < 2ULL * block_size)
		return -EINVAL;
	if (budget >> PAGE_SHIFT > LONG_MAX / 2)
		return -EINVAL;
	return 0;
}

static int emp_check_tier(const char *name, const struct emp_tier *t, u32 block_size)
{
	size_t len = strnlen(t->path, EMP_PATH_MAX);
	struct sockaddr_storage ss;

	switch (t->kind) {
	case EMP_TIER_BDEV:
	case EMP_TIER_TCP:
	case EMP_TIER_RDMA:
	case EMP_TIER_NODE:
		break;
	default:
		emp_reject(name, "unknown tier kind %u", t->kind);
		return -EINVAL;
	}
	if ((t->flags & ~EMP_TIER_F_REPLICA) || t->reserved0[0] || t->reserved0[1] ||
	    t->reserved[0] || t->reserved[1] || t->reserved1) {
		emp_reject(name, "tier flags unknown or reserved fields not zero");
		return -EINVAL;
	}
	if ((t->flags & EMP_TIER_F_REPLICA) && t->kind != EMP_TIER_TCP &&
	    t->kind != EMP_TIER_RDMA) {
		emp_reject(name, "a replica tier must be remote (RDMA or TCP)");
		return -EINVAL;
	}
	if (!t->size || t->size & (block_size - 1)) {
		emp_reject(name, "tier size %llu is not a nonzero multiple of the block size",
			   t->size);
		return -EINVAL;
	}
	if (t->kind == EMP_TIER_NODE) {
		if (len || memchr_inv(t->path, 0, EMP_PATH_MAX) || t->offset || t->port ||
		    t->secret_len || memchr_inv(t->secret, 0, EMP_SECRET_MAX)) {
			emp_reject(name, "node tier: a path, offset, port or secret is set");
			return -EINVAL;
		}
		if (t->node >= MAX_NUMNODES || !node_state(t->node, N_MEMORY)) {
			emp_reject(name, "node tier: node %u does not exist or has no memory",
				   t->node);
			return -EINVAL;
		}
		return 0;
	}
	if (t->node) {
		emp_reject(name, "tier node %u set on a tier that is not a node tier", t->node);
		return -EINVAL;
	}
	if (!len || len == EMP_PATH_MAX || memchr_inv(t->path + len, 0, EMP_PATH_MAX - len)) {
		emp_reject(name, "tier path empty, unterminated or not zero-padded");
		return -EINVAL;
	}
	if (t->secret_len > EMP_SECRET_MAX ||
	    memchr_inv(t->secret + t->secret_len, 0, EMP_SECRET_MAX - t->secret_len)) {
		emp_reject(name, "tier secret length %u too long or not zero-padded",
			   t->secret_len);
		return -EINVAL;
	}
	if (t->kind == EMP_TIER_BDEV) {
		if (t->offset & (SZ_4K - 1) || t->port || t->secret_len) {
			emp_reject(name, "block device tier: offset %llu not 4 KiB aligned, or a port or secret set",
				   t->offset);
			return -EINVAL;
		}
		return 0;
	}
	if (t->offset || !t->port || emp_tier_addr(t, &ss) < 0) {
		emp_reject(name, "remote tier: needs an IP address and a port, and no offset");
		return -EINVAL;
	}
	return 0;
}

static int emp_check_create(const struct emp_create *c, const struct emp_tier *tiers,
			    u64 *inst_size)
{
	u64 sum = 0;
	unsigned int i;
	int err;

	if (emp_check_name(c->name)) {
		pr_notice_ratelimited("create: bad instance name\n");
		return -EINVAL;
	}
	if (c->flags || c->reserved0 || memchr_inv(c->reserved, 0, sizeof(c->reserved))) {
		emp_reject(c->name, "flags or reserved fields are not zero");
		return -EINVAL;
	}
	if (!is_power_of_2(c->block_size) || c->block_size < EMP_BLOCK_MIN ||
	    c->block_size > EMP_BLOCK_MAX) {
		emp_reject(c->name, "block size %u is not a power of two in 4K..2M", c->block_size);
		return -EINVAL;
	}
	if (!is_power_of_2(c->subblock_size) || c->subblock_size < EMP_SUBBLOCK_MIN ||
	    c->subblock_size > EMP_SUBBLOCK_MAX || c->subblock_size > c->block_size) {
		emp_reject(c->name, "subblock size %u is not a power of two in 4K..128K, at most the block size",
			   c->subblock_size);
		return -EINVAL;
	}
	if (emp_check_budget(c->dram_budget, c->block_size)) {
		emp_reject(c->name, "DRAM budget %llu is not a page multiple of at least two blocks",
			   c->dram_budget);
		return -EINVAL;
	}
	for (i = 0; i < c->nr_tiers; i++) {
		err = emp_check_tier(c->name, &tiers[i], c->block_size);
		if (err)
			return err;
		if (tiers[i].flags & EMP_TIER_F_REPLICA) {
			/* A second copy of the tier before it: no bytes of its own. */
			if (!i || (tiers[i - 1].flags & EMP_TIER_F_REPLICA) ||
			    (tiers[i - 1].kind != EMP_TIER_TCP && tiers[i - 1].kind != EMP_TIER_RDMA) ||
			    tiers[i - 1].size != tiers[i].size) {
				emp_reject(c->name, "tier %u: a replica follows a remote tier of its "
					   "size that is not a replica itself", i);
				return -EINVAL;
			}
			continue;
		}
		if (check_add_overflow(sum, tiers[i].size, &sum)) {
			emp_reject(c->name, "tier sizes overflow");
			return -EINVAL;
		}
	}
	if (!c->nr_tiers) {
		/* DRAM-only: never evicted, so it must fit its budget. */
		if (!c->inst_size || c->inst_size & (c->block_size - 1) ||
		    c->inst_size > c->dram_budget) {
			emp_reject(c->name, "no tiers: size %llu must be a nonzero block multiple within the DRAM budget %llu",
				   c->inst_size, c->dram_budget);
			return -EINVAL;
		}
	} else if (c->inst_size > sum || c->inst_size & (c->block_size - 1)) {
		emp_reject(c->name, "size %llu is larger than the tiers (%llu) or not a block multiple",
			   c->inst_size, sum);
		return -EINVAL;
	}
	*inst_size = c->inst_size ? c->inst_size : sum;
	if (*inst_size >> PAGE_SHIFT > ULONG_MAX >> 1) {
		emp_reject(c->name, "size %llu is too large", *inst_size);
		return -EINVAL;
	}
	return 0;
}

/* Two tiers must not share storage (ranges of one block device). */
static int emp_check_overlap(struct emp_instance *inst)
{
	unsigned int i, j;

	for (i = 0; i < inst->nr_tiers; i++) {
		for (j = i + 1; j < inst->nr_tiers; j++) {
			struct emp_backend *a = inst->tiers[i], *b = inst->tiers[j];

			if (a->ops != b->ops || !a->ops->overlaps || !a->ops->overlaps(a, b))
				continue;
			emp_reject(inst->name, "tiers %u and %u overlap on one device", i, j);
			return -EINVAL;
		}
	}
	return 0;
}

/* One counter summed over the CPUs; @off is its offset in struct emp_stats. */
static u64 emp_stat_sum(struct emp_instance *inst, size_t off)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *(u64 *)((char *)per_cpu_ptr(inst->stats, cpu) + off);
	/* Not per CPU: kept by emp_monitor.c (its per-CPU field stays 0). */
	if (off == offsetof(struct emp_stats, stall_ns))
		sum += emp_stall_ns(inst);
	return sum;
}

/* Every counter and the histogram summed over the CPUs (all u64s). */
static void emp_stats_sum(struct emp_instance *inst, struct emp_stats *sum)
{
	size_t off;

	for (off = 0; off < sizeof(*sum); off += sizeof(u64))
		*(u64 *)((char *)sum + off) = emp_stat_sum(inst, off);
}

/* The power-of-two histogram (emp_stat.lat_hist) from the fine one. */
static void emp_lat_coarse(const u64 *fine, u64 *coarse)
{
	unsigned int b, e;

	memset(coarse, 0, EMP_LAT_BUCKETS * sizeof(*coarse));
	for (b = 0; b < EMP_LAT_FINE_BUCKETS; b++) {
		if (b < (1U << EMP_LAT_FINE_SHIFT))
			e = b ? ilog2(b) : 0;
		else
			e = (b >> EMP_LAT_FINE_SHIFT) + EMP_LAT_FINE_SHIFT - 1;
		coarse[min(e, EMP_LAT_BUCKETS - 1U)] += fine[b];
	}
}

/* ---- sysfs: /sys/class/emp/emp-NAME/ ---------------------------------- */

static struct emp_instance *dev_to_inst(struct device *dev)
{
	return dev_get_drvdata(dev);
}

#define EMP_INST_ATTR(field, expr)						\
static ssize_t field##_show(struct device *dev, struct device_attribute *a,	\
			    char *buf)						\
{										\
	struct emp_instance *inst = dev_to_inst(dev);				\
										\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));		\
}										\
static DEVICE_ATTR_RO(field)

EMP_INST_ATTR(size, inst->size);
EMP_INST_ATTR(block_size, 1ULL << inst->block_shift);
EMP_INST_ATTR(subblock_size, 1ULL << inst->sub_shift);
EMP_INST_ATTR(dram_budget, (u64)READ_ONCE(inst->budget_pages) << PAGE_SHIFT);
EMP_INST_ATTR(resident_bytes, (u64)atomic_long_read(&inst->resident_pages) << PAGE_SHIFT);
EMP_INST_ATTR(spare_bytes, (u64)READ_ONCE(inst->nr_spare) << PAGE_SHIFT);
EMP_INST_ATTR(spare_taken, READ_ONCE(inst->spare_taken));
EMP_INST_ATTR(state, READ_ONCE(inst->state));

static struct attribute *emp_inst_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_block_size.attr,
	&dev_attr_subblock_size.attr,
	&dev_attr_dram_budget.attr,
	&dev_attr_resident_bytes.attr,
	&dev_attr_spare_bytes.attr,
	&dev_attr_spare_taken.attr,
	&dev_attr_state.attr,
	NULL,
};

static const struct attribute_group emp_inst_group = {
	.attrs = emp_inst_attrs,
};

#define EMP_STAT_ATTR(field, help)						\
static ssize_t stat_##field##_show(struct device *dev,				\
				   struct device_attribute *a, char *buf)	\
{										\
	return sysfs_emit(buf, "%llu\n", emp_stat_sum(dev_to_inst(dev),		\
			  offsetof(struct emp_stats, field)));			\
}										\
static struct device_attribute dev_attr_stat_##field =				\
	__ATTR(field, 0444, stat_##field##_show, NULL);

EMP_STAT_COUNTERS(EMP_STAT_ATTR)

/* One line of bucket counts: the power-of-two histogram (lat_hist). */
static ssize_t latency_hist_show(struct device *dev, struct device_attribute *a, char *buf)
{
	u64 coarse[EMP_LAT_BUCKETS];
	struct emp_stats *s;
	int n = 0, i;

	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	emp_stats_sum(dev_to_inst(dev), s);
	emp_lat_coarse(s->lat_fine, coarse);
	kfree(s);
	for (i = 0; i < EMP_LAT_BUCKETS; i++)
		n += sysfs_emit_at(buf, n, "%llu%c", coarse[i],
				   i == EMP_LAT_BUCKETS - 1 ? '\n' : ' ');
	return n;
}
static DEVICE_ATTR_RO(latency_hist);

/* Per tier, one line: kind start size reads read_bytes writes write_bytes errors. */
static ssize_t tiers_show(struct device *dev, struct device_attribute *a, char *buf)
{
	struct emp_instance *inst = dev_to_inst(dev);
	unsigned int i;
	int n = 0;

	for (i = 0; i < inst->nr_tiers; i++) {
		struct emp_backend *be = inst->tiers[i];

		n += sysfs_emit_at(buf, n, "%s %llu %llu %lld %lld %lld %lld %lld\n",
				   be->ops->name, be->start, be->size,
				   atomic64_read(&be->reads), atomic64_read(&be->read_bytes),
				   atomic64_read(&be->writes), atomic64_read(&be->write_bytes),
				   atomic64_read(&be->errors));
	}
	return n;
}
static DEVICE_ATTR_RO(tiers);

/* Per replicated tier, one line: index, then each copy's donor and state. */
static ssize_t replicas_show(struct device *dev, struct device_attribute *a, char *buf)
{
	struct emp_instance *inst = dev_to_inst(dev);
	unsigned int i;
	int n = 0;

	for (i = 0; i < inst->nr_tiers; i++) {
		int r = emp_mirror_show(inst->tiers[i], i, buf, n);

		if (r)
			n = r;
	}
	return n;
}
static DEVICE_ATTR_RO(replicas);

#define EMP_STAT_ATTR_PTR(field, help) &dev_attr_stat_##field.attr,
static struct attribute *emp_stat_attrs[] = {
	EMP_STAT_COUNTERS(EMP_STAT_ATTR_PTR)
	&dev_attr_latency_hist.attr,
	&dev_attr_tiers.attr,
	&dev_attr_replicas.attr,
	NULL,
};

static const struct attribute_group emp_stat_group = {
	.name = "stats",
	.attrs = emp_stat_attrs,
};

static const struct attribute_group *emp_inst_groups[] = {
	&emp_inst_group,
	&emp_monitor_group,
	&emp_stat_group,
	NULL,
};

/* ---- the instance device node ----------------------------------------- */

/*
 * Open instance @id through @inode: its device node, or its empfs file
 * (@fs), which must still be the instance's (an id is reused after a
 * destroy, and a file looked up before it can be opened after).
 */
static int emp_inst_open_id(struct inode *inode, struct file *file, u32 id, bool fs)
{
	struct emp_instance *inst;
	int err = 0;

	mutex_lock(&emp_registry_lock);
	inst = xa_load(&emp_instances, id);
	if (!inst || inst->dying ||
	    (fs && (!inst->fs_dentry || d_inode(inst->fs_dentry) != inode))) {
		err = -ENXIO;
		goto out_unlock;
	}
	/*
	 * Every open file shares one address space, whatever inode it came
	 * through, so eviction unmaps the block from all of them at once.
	 */
	if (!inst->inode) {
		ihold(inode);
		inst->inode = inode;
		inst->mapping = inode->i_mapping;
		/*
		 * The core maps nothing beyond i_size with a PMD (nor more than
		 * one page at a time with PTEs): the address space's host says
		 * how large the instance is. The node's own inode, whose size
		 * means nothing else for a character device.
		 */
		i_size_write(inode, inst->size);
	}
	inst->nr_open++;
	file->private_data = inst;
	file->f_mapping = inst->mapping;
out_unlock:
	mutex_unlock(&emp_registry_lock);
	return err;
}

static int emp_inst_open(struct inode *inode, struct file *file)
{
	return emp_inst_open_id(inode, file, iminor(inode), false);
}

static int emp_fs_open(struct inode *inode, struct file *file)
{
	return emp_inst_open_id(inode, file, emp_fs_id(inode), true);
}

static int emp_inst_release(struct inode *inode, struct file *file)
{
	struct emp_instance *inst = file->private_data;

	mutex_lock(&emp_registry_lock);
	inst->nr_open--;
	mutex_unlock(&emp_registry_lock);
	return 0;
}

static int emp_inst_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct emp_instance *inst = file->private_data;

	/* Private mappings would copy pages away from the instance. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/*
	 * VM_MIXEDMAP lets the fault path insert the other resident pages
	 * of a block (fault-around) while holding only the mmap or VMA read
	 * lock; the pages stay ordinary refcounted, rmapped pages. Not for
	 * an instance with whole-block mappings: the core unmaps a PMD in a
	 * VM_MIXEDMAP mapping without the rmap and counter updates it made
	 * when it mapped it (see emp_fault.c).
	 */
	emp_vm_flags_set(vma, VM_DONTEXPAND | (inst->huge ? 0 : VM_MIXEDMAP));
	vma->vm_ops = &emp_vm_ops;
	/* Should the mmap fail further on, the core calls ->close. */
	emp_vma_track(inst, vma);
	return 0;
}

static loff_t emp_inst_llseek(struct file *file, loff_t offset, int whence)
{
	struct emp_instance *inst = file->private_data;

	return fixed_size_llseek(file, offset, whence, inst->size);
}

/*
 * fallocate(PUNCH_HOLE | KEEP_SIZE), also what madvise(MADV_REMOVE) does,
 * on the empfs file (the VFS never passes it on for the device node):
 * discard the range. A range beyond the end is cut at the end, as for a
 * regular file.
 */
static long emp_inst_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct emp_instance *inst = file->private_data;

	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (offset < 0 || len <= 0)
		return -EINVAL;
	if ((u64)offset >= inst->size)
		return 0;
	return emp_discard(inst, offset, min_t(u64, len, inst->size - offset));
}

static const struct file_operations emp_inst_fops = {
	.owner		= THIS_MODULE,
	.open		= emp_inst_open,
	.release	= emp_inst_release,
	.mmap		= emp_inst_mmap,
	/* 2 MiB aligned where it can be, so whole blocks can be PMD-mapped. */
	.get_unmapped_area = thp_get_unmapped_area,
	.llseek		= emp_inst_llseek,
};

/* The same instance as a regular file of empfs (emp_fs.c). */
static const struct file_operations emp_fs_fops = {
	.owner		= THIS_MODULE,
	.open		= emp_fs_open,
	.release	= emp_inst_release,
	.mmap		= emp_inst_mmap,
	.get_unmapped_area = thp_get_unmapped_area,
	.llseek		= emp_inst_llseek,
	.fallocate	= emp_inst_fallocate,
};

/* ---- create / destroy -------------------------------------------------- */

static void emp_instance_free(struct emp_instance *inst)
{
	unsigned int i;

	emp_monitor_stop(inst);
	emp_cache_stop(inst);
	/* Mappings hold the instance open: all closed by now. */
	WARN_ON_ONCE(!list_empty(&inst->vmas));
	emp_blocks_free(inst);
	emp_spare_drain(inst);
	/* Every block freed after its grace period, before the module can go. */
	rcu_barrier();
	for (i = 0; i < inst->nr_tiers; i++)
		emp_tier_destroy(inst->tiers[i]);
	if (inst->inode)
		iput(inst->inode);
	free_percpu(inst->stats);
	emp_monitor_free(inst);
	kvfree(inst->stored);
	kfree(inst);
}

/*
 * Destroys whose instance is not freed yet. An instance's node goes first
 * and its tiers last (a block device's exclusive claim, a donor's
 * connection): a create waits for those in progress, so a program that
 * saw the node of an instance gone can make a new one on the same device
 * at once instead of getting EBUSY (the preload library's watcher
 * destroys an instance while the program that follows may already start).
 */
static atomic_t emp_destroying = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(emp_destroy_wait);

static struct emp_instance *emp_find_locked(const char *name)
{
	struct emp_instance *inst;
	unsigned long id;

	lockdep_assert_held(&emp_registry_lock);
	xa_for_each(&emp_instances, id, inst)
		if (!strncmp(inst->name, name, EMP_NAME_MAX))
			return inst;
	return NULL;
}

/**
 * emp_instance_create() - make an instance and its device node
 * @c:     the request, copied from userspace; c->id is set on success
 * @tiers: c->nr_tiers tier descriptions, copied from userspace
 *
 * Context: Process context (ioctl on /dev/emp, which pins the module).
 * Return: 0 or a negative errno as documented for EMP_IOC_CREATE.
 */
int emp_instance_create(struct emp_create *c, const struct emp_tier *tiers)
{
	struct emp_instance *inst;
	u64 size, start = 0;
	size_t stored_bytes;
	unsigned int i;
	u32 id;
	int err;

	err = emp_check_create(c, tiers, &size);
	if (err)
		return err;
	if (wait_event_killable(emp_destroy_wait, !atomic_read(&emp_destroying)))
		return -EINTR;
	/*
	 * A taken name is refused before the tiers are opened, so it is not
	 * reported as the device being busy. Checked again on insertion.
	 */
	mutex_lock(&emp_registry_lock);
	err = emp_find_locked(c->name) ? -EEXIST : 0;
	mutex_unlock(&emp_registry_lock);
	if (err)
		return err;
	inst = kzalloc(sizeof(*inst), GFP_KERNEL);
	if (!inst)
		return -ENOMEM;
	memcpy(inst->name, c->name, EMP_NAME_MAX);
	inst->size = size;
	inst->block_shift = ilog2(c->block_size);
	inst->sub_shift = ilog2(c->subblock_size);
	inst->block_pages = c->block_size >> PAGE_SHIFT;
	inst->sub_pages = c->subblock_size >> PAGE_SHIFT;
	inst->sub_per_block = c->block_size / c->subblock_size;
	inst->bitmap_longs = BITS_TO_LONGS(inst->sub_per_block);
	inst->huge = emp_huge_possible(c->block_size);
	inst->sub_dram = emp_sub_dram_possible(inst->huge);
	inst->budget_pages = c->dram_budget >> PAGE_SHIFT;
	atomic_long_set(&inst->resident_pages, 0);
	emp_cache_init(inst);
	xa_init(&inst->blocks);
	/* Before anything that can fail: the undo stops its tick. */
	err = emp_monitor_init(inst);
	if (err)
		goto out_free;
	inst->stats = alloc_percpu(struct emp_stats);
	if (!inst->stats) {
		err = -ENOMEM;
		goto out_free;
	}

	for (i = 0; i < c->nr_tiers; i++) {
		struct emp_backend *be, *copy;

		err = emp_tier_create(&tiers[i], inst, &be);
		if (err)
			goto out_free;
		if (i + 1 < c->nr_tiers && (tiers[i + 1].flags & EMP_TIER_F_REPLICA)) {
			err = emp_tier_create(&tiers[++i], inst, &copy);
			if (err) {
				emp_tier_destroy(be);
				goto out_free;
			}
			/* Owns both copies from here, also when it fails. */
			err = emp_mirror_create(inst, be, copy, &be);
			if (err)
				goto out_free;
		}
		be->start = start;
		start += be->size;
		inst->tiers[inst->nr_tiers++] = be;
	}
	err = emp_check_overlap(inst);
	if (err)
		goto out_free;
	/*
	 * One bit per subblock: 32 MiB for a TiB of 4 KiB subblocks. After
	 * the tiers, which refuse sizes their devices or donors cannot hold.
	 */
	stored_bytes = BITS_TO_LONGS(size >> inst->sub_shift) * sizeof(long);
	inst->stored = kvzalloc(stored_bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!inst->stored) {
		emp_reject(inst->name, "no memory for the written-subblock map (%zu bytes)",
			   stored_bytes);
		err = -ENOMEM;
		goto out_free;
	}
	atomic_long_add(stored_bytes, &inst->meta_bytes);

	mutex_lock(&emp_registry_lock);
	if (emp_find_locked(inst->name)) {
		err = -EEXIST;
		goto out_unlock;
	}
	err = xa_alloc(&emp_instances, &id, inst, XA_LIMIT(0, EMP_MAX_INSTANCES - 1),
		       GFP_KERNEL);
	if (err) {
		err = err == -EBUSY ? -ENOSPC : err;
		goto out_unlock;
	}
	inst->id = id;
	inst->dev = device_create_with_groups(&emp_class, NULL, MKDEV(MAJOR(emp_devt), id),
					      inst, emp_inst_groups, EMP_INST_PREFIX "%s",
					      inst->name);
	if (IS_ERR(inst->dev)) {
		err = PTR_ERR(inst->dev);
		goto out_erase;
	}
	err = emp_fs_add(inst, &emp_fs_fops);
	if (err)
		goto out_device;
	/* The instance pins the module: rmmod is refused while one exists. */
	__module_get(THIS_MODULE);
	atomic_inc(&emp_state.nr_instances);
	mutex_unlock(&emp_registry_lock);
	c->id = id;
	emp_monitor_start(inst);
	emp_ev_instance(EMP_EV_CREATED, inst, 0);
	pr_info("created %s: %llu bytes, block %u, subblock %u, DRAM budget %llu, %u tier(s)\n",
		inst->name, size, c->block_size, c->subblock_size, c->dram_budget,
		inst->nr_tiers);
	return 0;

out_device:
	device_destroy(&emp_class, MKDEV(MAJOR(emp_devt), id));
out_erase:
	xa_erase(&emp_instances, id);
out_unlock:
	mutex_unlock(&emp_registry_lock);
out_free:
	emp_instance_free(inst);
	return err;
}

/**
 * emp_instance_destroy() - remove an instance nobody has open
 * @name: its name
 *
 * Context: Process context.
 * Return: 0, -ENOENT, or -EBUSY while its node is open or mapped.
 */
int emp_instance_destroy(const char *name)
{
	struct emp_instance *inst;
	bool had_file;

	mutex_lock(&emp_registry_lock);
	inst = emp_find_locked(name);
	if (!inst) {
		mutex_unlock(&emp_registry_lock);
		return -ENOENT;
	}
	if (inst->nr_open) {
		mutex_unlock(&emp_registry_lock);
		return -EBUSY;
	}
	inst->dying = true;
	atomic_inc(&emp_destroying);
	had_file = emp_fs_remove(inst);
	xa_erase(&emp_instances, inst->id);
	device_destroy(&emp_class, MKDEV(MAJOR(emp_devt), inst->id));
	atomic_dec(&emp_state.nr_instances);
	mutex_unlock(&emp_registry_lock);

	pr_info("destroyed %s\n", inst->name);
	emp_ev_instance(EMP_EV_DESTROYED, inst, 0);
	emp_instance_free(inst);
	/* After the instance's iput(): its inode may be empfs's. */
	if (had_file)
		emp_fs_unpin();
	if (atomic_dec_and_test(&emp_destroying))
		wake_up_all(&emp_destroy_wait);
	module_put(THIS_MODULE);
	return 0;
}

/**
 * emp_instance_list() - names of the instances
 * @names: room for @room names
 * @room:  entries at @names
 * @total: out: number of instances
 *
 * Context: Process context.
 * Return: 0.
 */
int emp_instance_list(char (*names)[EMP_NAME_MAX], u32 room, u32 *total)
{
	struct emp_instance *inst;
	unsigned long id;
	u32 n = 0;

	mutex_lock(&emp_registry_lock);
	xa_for_each(&emp_instances, id, inst) {
		if (n < room)
			memcpy(names[n], inst->name, EMP_NAME_MAX);
		n++;
	}
	mutex_unlock(&emp_registry_lock);
	*total = n;
	return 0;
}

/**
 * emp_instance_stat() - geometry and counters of an instance
 * @name: its name
 * @st:   filled (name, size and flags are left as given)
 *
 * Context: Process context.
 * Return: 0 or -ENOENT.
 */
int emp_instance_stat(const char *name, struct emp_stat *st)
{
	struct emp_instance *inst;
	unsigned int i;

	mutex_lock(&emp_registry_lock);
	inst = emp_find_locked(name);
	if (!inst) {
		mutex_unlock(&emp_registry_lock);
		return -ENOENT;
	}
	st->id = inst->id;
	st->state = READ_ONCE(inst->state);
	st->inst_size = inst->size;
	st->block_size = 1U << inst->block_shift;
	st->subblock_size = 1U << inst->sub_shift;
	st->dram_budget = (u64)READ_ONCE(inst->budget_pages) << PAGE_SHIFT;
	st->resident = (u64)atomic_long_read(&inst->resident_pages) << PAGE_SHIFT;
	st->nr_open = inst->nr_open;
	st->nr_tiers = inst->nr_tiers;
#define EMP_STAT_COPY(field, help) \
	st->field = emp_stat_sum(inst, offsetof(struct emp_stats, field));
	EMP_STAT_COUNTERS(EMP_STAT_COPY)
#undef EMP_STAT_COPY
	for (i = 0; i < EMP_LAT_FINE_BUCKETS; i++)
		st->lat_fine[i] = emp_stat_sum(inst, offsetof(struct emp_stats, lat_fine[i]));
	emp_lat_coarse(st->lat_fine, st->lat_hist);
	st->meta_bytes = atomic_long_read(&inst->meta_bytes);
	emp_monitor_stat(inst, st);
	for (i = 0; i < inst->nr_tiers; i++) {
		struct emp_backend *be = inst->tiers[i];
		struct emp_tier_stat *ts = &st->tier[i];

		ts->kind = emp_mirror_kind(be);
		ts->copies = emp_mirror_copies(be);
		ts->size = be->size;
		ts->reads = atomic64_read(&be->reads);
		ts->read_bytes = atomic64_read(&be->read_bytes);
		ts->writes = atomic64_read(&be->writes);
		ts->write_bytes = atomic64_read(&be->write_bytes);
		ts->errors = atomic64_read(&be->errors);
	}
	mutex_unlock(&emp_registry_lock);
	return 0;
}

/*
 * Find @name and hold it open (it cannot be destroyed until
 * emp_instance_unhold()) for a resize to @budget (0: no resize; then the
 * budget is validated and set here) or for work on its bytes up to @end
 * (0: none; beyond the instance is -EINVAL).
 */
static struct emp_instance *emp_instance_hold(const char *name, u64 budget, u64 end)
{
	struct emp_instance *inst;
	int err = 0;

	mutex_lock(&emp_registry_lock);
	inst = emp_find_locked(name);
	if (!inst)
		err = -ENOENT;
	/* A DRAM-only instance has nowhere to evict to. */
	else if (budget && (emp_check_budget(budget, 1U << inst->block_shift) ||
			    (!inst->nr_tiers && budget < inst->size)))
		err = -EINVAL;
	else if (end > inst->size)
		err = -EINVAL;
	if (!err) {
		inst->nr_open++;
		if (budget)
			WRITE_ONCE(inst->budget_pages, budget >> PAGE_SHIFT);
	}
	mutex_unlock(&emp_registry_lock);
	return err ? ERR_PTR(err) : inst;
}

static void emp_instance_unhold(struct emp_instance *inst)
{
	mutex_lock(&emp_registry_lock);
	inst->nr_open--;
	mutex_unlock(&emp_registry_lock);
}

/**
 * emp_instance_resize() - set the DRAM budget, evicting down to it
 * @name:        instance name
 * @dram_budget: bytes, validated by emp_check_budget()
 *
 * Context: Process context, sleeps while evicting. The instance counts as
 * open meanwhile, so it cannot be destroyed under us.
 * Return: 0, -ENOENT, -EINVAL, -EINTR, or -EIO if writebacks failed.
 */
int emp_instance_resize(const char *name, u64 dram_budget)
{
	struct emp_instance *inst;
	int err;

	if (!dram_budget)	/* emp_instance_hold() takes 0 for "no resize" */
		return -EINVAL;
	inst = emp_instance_hold(name, dram_budget, 0);
	if (IS_ERR(inst))
		return PTR_ERR(inst);
	/*
	 * Spare pages are free budget, which a lower one may not have: given
	 * back before the shrink, and after it those of the blocks it evicted.
	 */
	emp_spare_drain(inst);
	err = emp_cache_shrink(inst);
	emp_spare_drain(inst);
	emp_ev_instance(EMP_EV_RESIZED, inst, err);
	emp_instance_unhold(inst);
	return err;
}

/**
 * emp_instance_discard() - make a range of an instance zeros (EMP_IOC_DISCARD)
 * @name:   instance name
 * @offset: first byte
 * @length: bytes
 *
 * Context: Process context, sleeps. The instance counts as open meanwhile,
 * so it cannot be destroyed under us.
 * Return: 0, -ENOENT, -EINVAL, or emp_discard()'s error.
 */
int emp_instance_discard(const char *name, u64 offset, u64 length)
{
	struct emp_instance *inst;
	int err;

	if (!length)
		return -EINVAL;
	inst = emp_instance_hold(name, 0, offset + length < offset ? U64_MAX : offset + length);
	if (IS_ERR(inst))
		return PTR_ERR(inst);
	err = emp_discard(inst, offset, length);
	emp_instance_unhold(inst);
	return err;
}

/**
 * emp_instance_repair() - give a replicated tier a new copy (EMP_IOC_REPAIR)
 * @name: instance name
 * @tier: index of the tier as EMP_IOC_STAT lists it
 * @desc: the new copy, from userspace
 *
 * Context: Process context, sleeps. The instance counts as open meanwhile.
 * Return: 0, -ENOENT, -EINVAL, -EOPNOTSUPP for a tier without replica, or
 * emp_mirror_repair()'s error.
 */
int emp_instance_repair(const char *name, u32 tier, const struct emp_tier *desc)
{
	struct emp_instance *inst;
	int err;

	inst = emp_instance_hold(name, 0, 0);
	if (IS_ERR(inst))
		return PTR_ERR(inst);
	if (tier >= inst->nr_tiers) {
		emp_reject(name, "repair: no tier %u", tier);
		err = -EINVAL;
	} else if (!emp_is_mirror(inst->tiers[tier])) {
		err = -EOPNOTSUPP;
	} else if (!(desc->flags & EMP_TIER_F_REPLICA) ||
		   (err = emp_check_tier(name, desc, 1U << inst->block_shift)) ||
		   desc->size != inst->tiers[tier]->size) {
		emp_reject(name, "repair: the new copy must be a remote replica tier of %llu bytes",
			   inst->tiers[tier]->size);
		err = -EINVAL;
	} else {
		err = emp_mirror_repair(inst->tiers[tier], desc);
	}
	emp_instance_unhold(inst);
	return err;
}

/**
 * emp_instances_init() - register the instance device numbers and class
 *
 * Context: Module init.
 * Return: 0 or a negative errno.
 */
int emp_instances_init(void)
{
	int err;

	err = alloc_chrdev_region(&emp_devt, 0, EMP_MAX_INSTANCES, "emp");
	if (err)
		return err;
	cdev_init(&emp_inst_cdev, &emp_inst_fops);
	emp_inst_cdev.owner = THIS_MODULE;
	err = cdev_add(&emp_inst_cdev, emp_devt, EMP_MAX_INSTANCES);
	if (err)
		goto out_unregister;
	err = class_register(&emp_class);
	if (err)
		goto out_cdev_del;
	return 0;

out_cdev_del:
	cdev_del(&emp_inst_cdev);
out_unregister:
	unregister_chrdev_region(emp_devt, EMP_MAX_INSTANCES);
	return err;
}

/**
 * emp_instances_exit() - undo emp_instances_init()
 *
 * Context: Module exit; no instance exists (each one pins the module).
 */
void emp_instances_exit(void)
{
	WARN_ON_ONCE(!xa_empty(&emp_instances));
	class_unregister(&emp_class);
	cdev_del(&emp_inst_cdev);
	unregister_chrdev_region(emp_devt, EMP_MAX_INSTANCES);
}
