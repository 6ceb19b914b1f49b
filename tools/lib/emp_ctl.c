// SPDX-License-Identifier: LGPL-2.1
/* libemp: wrappers for the ioctls of /dev/emp. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "libemp.h"

int emp_ctl_open(void)
{
	const char *path = getenv("EMP_CTL_PATH");
	int fd;

	fd = open(path && *path ? path : EMP_CTL_PATH_DEFAULT, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int emp_get_info(int ctl_fd, struct emp_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(ctl_fd, EMP_IOC_INFO, info) ? -errno : 0;
}

int emp_set_name(char dst[EMP_NAME_MAX], const char *name)
{
	size_t n = strlen(name);

	memset(dst, 0, EMP_NAME_MAX);
	if (n >= EMP_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, name, n);
	return 0;
}

int emp_create(int ctl_fd, struct emp_create *c, const struct emp_tier *tiers,
	       unsigned int nr_tiers)
{
	c->size = sizeof(*c);
	c->tier_size = sizeof(*tiers);
	c->nr_tiers = nr_tiers;
	c->tiers = (uintptr_t)tiers;
	return ioctl(ctl_fd, EMP_IOC_CREATE, c) ? -errno : 0;
}

int emp_destroy(int ctl_fd, const char *name)
{
	struct emp_target t = { .size = sizeof(t) };
	int err = emp_set_name(t.name, name);

	if (err)
		return err;
	return ioctl(ctl_fd, EMP_IOC_DESTROY, &t) ? -errno : 0;
}

int emp_list(int ctl_fd, char (*names)[EMP_NAME_MAX], unsigned int room)
{
	struct emp_list l = {
		.size = sizeof(l), .nr = room, .names = (uintptr_t)names,
	};

	if (!names)
		l.nr = 0;
	if (ioctl(ctl_fd, EMP_IOC_LIST, &l))
		return -errno;
	return (int)l.nr;
}

int emp_stat(int ctl_fd, const char *name, struct emp_stat *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	err = emp_set_name(st->name, name);
	if (err)
		return err;
	return ioctl(ctl_fd, EMP_IOC_STAT, st) ? -errno : 0;
}

int emp_resize(int ctl_fd, const char *name, uint64_t dram_budget)
{
	struct emp_resize r = { .size = sizeof(r), .dram_budget = dram_budget };
	int err = emp_set_name(r.name, name);

	if (err)
		return err;
	return ioctl(ctl_fd, EMP_IOC_RESIZE, &r) ? -errno : 0;
}

int emp_repair(int ctl_fd, const char *name, unsigned int tier, const struct emp_tier *copy)
{
	struct emp_repair r = { .size = sizeof(r), .tier = tier, .copy = *copy };
	int err = emp_set_name(r.name, name);

	if (err)
		return err;
	err = ioctl(ctl_fd, EMP_IOC_REPAIR, &r) ? -errno : 0;
	memset(&r.copy, 0, sizeof(r.copy));	/* no copy of the secret left */
	return err;
}

char *emp_inst_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/" EMP_INST_PREFIX "%s", name);
	return buf;
}
