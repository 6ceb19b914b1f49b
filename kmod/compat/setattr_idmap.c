/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HAVE_SETATTR_IDMAP: inode_operations.setattr takes a struct mnt_idmap
 * (6.3 on); before, a struct user_namespace. A type check, not a call: a
 * mismatched function pointer is only a warning with older compilers.
 */
#include <linux/fs.h>
_Static_assert(__builtin_types_compatible_p(
		       typeof(((struct inode_operations *)0)->setattr),
		       int (*)(struct mnt_idmap *, struct dentry *, struct iattr *)),
	       "setattr takes a struct mnt_idmap");
