// SPDX-License-Identifier: LGPL-2.1
/* libemp: wrappers for the ioctls of /dev/emp. */
#include <errno.h>
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
