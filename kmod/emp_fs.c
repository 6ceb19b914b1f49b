// SPDX-License-Identifier: GPL-2.0
/*
 * empfs: every instance as a regular file, NAME, of a small filesystem
 * (mount -t empfs empfs /run/emp).
 *
 * The kernel offers fallocate(FALLOC_FL_PUNCH_HOLE) and madvise(MADV_REMOVE)
 * to regular files and block devices only (vfs_fallocate() answers ENODEV
 * for anything else before a file's f_op is asked), so /dev/emp-NAME, a
 * character device, can never be told that a range is free. The file of
 * empfs is the same instance (one address space for both: an eviction
 * unmaps every mapping of either), and takes those calls: a punched range
 * is discarded (emp_discard.c). QEMU's free-page reporting and balloon
 * punch holes in a shared file-backed RAM block exactly so.
 *
 * One superblock, shared by every mount of it and pinned by the module
 * while any instance exists (as debugfs and securityfs pin theirs; a
 * superblock holds a reference on its module, so a pin from load on would
 * keep the module from ever unloading): an instance's file exists from its
 * create to its destroy, whether or not empfs is mounted anywhere. Files
 * cannot be created, removed, renamed, truncated or have their attributes
 * changed from userspace. A mounted empfs holds the module too: unmount it
 * before unloading.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mount.h>
#include <linux/namei.h>

#include "emp.h"
#include "emp_compat.h"


static struct vfsmount *emp_fs_mnt;
static int emp_fs_count;

#ifdef HAVE_SETATTR_IDMAP
static int emp_fs_setattr(struct mnt_idmap *idmap, struct dentry *d, struct iattr *a)
#else
static int emp_fs_setattr(struct user_namespace *ns, struct dentry *d, struct iattr *a)
#endif
{
	/* The size is the instance's; ownership and mode stay root's 0600. */
	return -EPERM;
}

static const struct inode_operations emp_fs_file_iops = {
	.setattr	= emp_fs_setattr,
};

static int emp_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	static const struct tree_descr none[] = { { "" } };

	return simple_fill_super(sb, EMP_FS_MAGIC, none);
}

static int emp_fs_get_tree(struct fs_context *fc)
{
	return get_tree_single(fc, emp_fs_fill_super);
}

static const struct fs_context_operations emp_fs_context_ops = {
	.get_tree	= emp_fs_get_tree,
};

static int emp_fs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &emp_fs_context_ops;
	return 0;
}

static struct file_system_type emp_fs_type = {
	.owner		= THIS_MODULE,
	.name		= EMP_FS_TYPE,
	.init_fs_context = emp_fs_init_fs_context,
#ifdef HAVE_D_MAKE_PERSISTENT
	.kill_sb	= kill_anon_super,
#else
	.kill_sb	= kill_litter_super,
#endif
};
MODULE_ALIAS_FS("empfs");

/**
 * emp_fs_add() - give a new instance its file
 * @inst: the instance, published in the registry
 * @fops: the file operations of its file
 *
 * Context: Process context; caller holds emp_registry_lock (taken before
 * the root directory's lock, and never inside it), which also serializes
 * the pins.
 * Return: 0, -ENOMEM or the pin's error.
 */
int emp_fs_add(struct emp_instance *inst, const struct file_operations *fops)
{
	struct dentry *root, *dentry;
	struct inode *inode;
	int err;

	err = simple_pin_fs(&emp_fs_type, &emp_fs_mnt, &emp_fs_count);
	if (err)
		return err;
	root = emp_fs_mnt->mnt_root;
	err = -ENOMEM;
	inode_lock(d_inode(root));
	dentry = d_alloc_name(root, inst->name);
	if (!dentry)
		goto out_unlock;
	inode = new_inode(root->d_sb);
	if (!inode) {
		dput(dentry);
		goto out_unlock;
	}
	inode->i_ino = get_next_ino();
	inode->i_mode = S_IFREG | 0600;
	inode->i_op = &emp_fs_file_iops;
	inode->i_fop = fops;
	/* An id, not a pointer: open looks it up in the registry. */
	inode->i_private = (void *)(unsigned long)inst->id;
	i_size_write(inode, inst->size);
#ifdef HAVE_D_MAKE_PERSISTENT
	d_make_persistent(dentry, inode);
	dput(dentry);
#else
	d_add(dentry, inode);	/* its reference pins it until removal */
#endif
	inst->fs_dentry = dentry;
	err = 0;
out_unlock:
	inode_unlock(d_inode(root));
	if (err)
		simple_release_fs(&emp_fs_mnt, &emp_fs_count);
	return err;
}

/**
 * emp_fs_remove() - take an instance's file away
 * @inst: the instance, being destroyed; nobody has its file open
 *
 * Its inode may live on (the instance holds the inode its address space
 * came from): the pin goes with emp_fs_unpin() once that is put.
 * Context: Process context; caller holds emp_registry_lock.
 * Return: true if there was a file (the caller owes an emp_fs_unpin()).
 */
bool emp_fs_remove(struct emp_instance *inst)
{
	if (!inst->fs_dentry)
		return false;
	simple_recursive_removal(inst->fs_dentry, NULL);
	inst->fs_dentry = NULL;
	return true;
}

/**
 * emp_fs_unpin() - drop the pin emp_fs_add() took for a removed file
 *
 * After the instance let go of every inode of empfs: the last pin (with
 * no mount left) ends the superblock, which must have no inode in use.
 * Context: Process context.
 */
void emp_fs_unpin(void)
{
	simple_release_fs(&emp_fs_mnt, &emp_fs_count);
}

/**
 * emp_fs_id() - the instance id of an empfs file
 * @inode: its inode
 *
 * Return: the id.
 */
u32 emp_fs_id(struct inode *inode)
{
	return (u32)(unsigned long)inode->i_private;
}

/**
 * emp_fs_init() - register empfs
 *
 * Context: Module init.
 * Return: 0 or a negative errno.
 */
int emp_fs_init(void)
{
	return register_filesystem(&emp_fs_type);
}

/**
 * emp_fs_exit() - undo emp_fs_init()
 *
 * Context: Module exit; no instance is left, so no pin either.
 */
void emp_fs_exit(void)
{
	unregister_filesystem(&emp_fs_type);
}
