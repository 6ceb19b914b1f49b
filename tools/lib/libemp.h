/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libemp: the userspace library every EMP tool is built on. Thin ioctl
 * wrappers around /dev/emp and the pure helpers the tools share.
 * Functions return 0 or a negative errno unless documented otherwise.
 */
#ifndef LIBEMP_H
#define LIBEMP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/emp.h>

/* Path of the control device; EMP_CTL_PATH in the environment overrides it. */
#define EMP_CTL_PATH_DEFAULT "/dev/" EMP_CTL_NAME

/* Open the control device read-write, close-on-exec. Return: fd or -errno. */
int emp_ctl_open(void);

/* EMP_IOC_INFO: fill @info (its size member is set by the call). */
int emp_get_info(int ctl_fd, struct emp_info *info);

/*
 * EMP_IOC_CREATE. @c is filled by the caller except size, tier_size and
 * tiers, which the call sets from @tiers/@nr_tiers. On success c->id is set.
 */
int emp_create(int ctl_fd, struct emp_create *c, const struct emp_tier *tiers,
	       unsigned int nr_tiers);

/* EMP_IOC_DESTROY by name. */
int emp_destroy(int ctl_fd, const char *name);

/*
 * EMP_IOC_LIST: up to @room names into @names; returns the number of
 * instances (which may exceed @room) or -errno.
 */
int emp_list(int ctl_fd, char (*names)[EMP_NAME_MAX], unsigned int room);

/* EMP_IOC_STAT of instance @name into @st. */
int emp_stat(int ctl_fd, const char *name, struct emp_stat *st);

/* EMP_IOC_RESIZE: set the DRAM budget of @name to @dram_budget bytes. */
int emp_resize(int ctl_fd, const char *name, uint64_t dram_budget);

/* Device node path of instance @name ("/dev/emp-NAME") into @buf. Return: @buf. */
char *emp_inst_path(const char *name, char *buf, size_t len);

/* Copy @name into a zeroed EMP_NAME_MAX array. Return: 0, -ENAMETOOLONG. */
int emp_set_name(char dst[EMP_NAME_MAX], const char *name);

/*
 * Parse a size: decimal digits, then an optional binary suffix K, M, G or T
 * (case-insensitive, an optional trailing "iB" or "B"). A bare number is
 * multiplied by @unit (1 for bytes, 1 << 20 for MiB). Rejects empty strings,
 * signs, junk after the suffix, and overflow.
 * Return: 0, -EINVAL for bad syntax, -ERANGE on overflow.
 */
int emp_parse_size(const char *s, uint64_t unit, uint64_t *out);

/*
 * Format @bytes with the largest binary suffix that divides it exactly
 * ("64K", "2M", "3G", "4097"). Return: @buf.
 */
char *emp_format_size(uint64_t bytes, char *buf, size_t len);

/* Split an EMP version code into "major.minor.patch" in @buf. Return: @buf. */
char *emp_format_version(uint32_t code, char *buf, size_t len);

#endif /* LIBEMP_H */
