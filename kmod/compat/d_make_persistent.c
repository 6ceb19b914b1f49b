/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HAVE_D_MAKE_PERSISTENT: a pseudo filesystem pins the dentries of its
 * files with d_make_persistent() and its superblock goes with
 * kill_anon_super() (7.x); before, d_add() kept the pin and
 * kill_litter_super() dropped it.
 */
#include <linux/dcache.h>
struct dentry *emp_probe(struct dentry *d, struct inode *i);
struct dentry *emp_probe(struct dentry *d, struct inode *i)
{
	return d_make_persistent(d, i);
}
