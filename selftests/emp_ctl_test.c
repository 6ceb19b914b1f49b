// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of the /dev/emp control device: EMP_IOC_INFO and the
 * size-first argument rules of uapi/linux/emp.h. Needs emp.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"

/* The info struct with room behind it, to test larger claimed sizes. */
struct info_big {
	struct emp_info in;
	uint8_t tail[64];
};

FIXTURE(ctl) {
	int fd;
};

FIXTURE_SETUP(ctl)
{
	self->fd = emp_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/emp: %s", strerror(-self->fd));
}

FIXTURE_TEARDOWN(ctl)
{
	close(self->fd);
}

TEST(device_node_is_misc_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(EMP_CTL_PATH_DEFAULT, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10, major(st.st_rdev));	/* MISC_MAJOR */
	EXPECT_EQ(0600, st.st_mode & 0777);
}

TEST_F(ctl, info_reports_abi_and_limits)
{
	struct emp_info in;

	ASSERT_EQ(0, emp_get_info(self->fd, &in));
	EXPECT_EQ(sizeof(in), in.size);
	EXPECT_EQ(EMP_ABI_VERSION, in.abi_version);
	EXPECT_NE(0, in.version);
	EXPECT_TRUE(in.features & EMP_FEAT_INFO);
	EXPECT_EQ((uint32_t)getpagesize(), in.page_size);
	EXPECT_EQ(0, in.nr_instances);
	EXPECT_EQ(4096, in.min_block_size);
	EXPECT_EQ(2u << 20, in.max_block_size);
	EXPECT_EQ(4096, in.min_subblock_size);
	EXPECT_EQ(128u << 10, in.max_subblock_size);
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_EQ(0, in.reserved[i]);
}

TEST_F(ctl, unknown_commands_get_enotty)
{
	struct emp_info in = { .size = sizeof(in) };
	const unsigned long bad[] = {
		_IOWR(EMP_IOC_MAGIC, 0x7f, struct emp_info),	/* unknown number */
		_IOWR(EMP_IOC_MAGIC ^ 1, 0x00, struct emp_info),	/* wrong magic */
		_IOR(EMP_IOC_MAGIC, 0x00, struct emp_info),	/* wrong direction */
		_IO(EMP_IOC_MAGIC, 0x00),			/* no direction */
		0,
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, bad[i], &in));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", bad[i]);
	}
}

TEST_F(ctl, bad_sizes_get_einval)
{
	const uint32_t sizes[] = { 0, 4, 8, EMP_INFO_SIZE_VER0 - 1,
				   EMP_STRUCT_SIZE_MAX + 1, UINT32_MAX };
	static uint8_t buf[EMP_STRUCT_SIZE_MAX + 64];

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &sizes[i], sizeof(sizes[i]));
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, EMP_IOC_INFO, buf));
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %u", sizes[i]);
		/* Nothing is written back on failure. */
		for (unsigned int j = 4; j < 256; j++)
			ASSERT_EQ(0, buf[j]);
	}
}

TEST_F(ctl, larger_struct_with_zero_tail_is_accepted)
{
	struct info_big big;

	memset(&big, 0, sizeof(big));
	big.in.size = sizeof(big);
	ASSERT_EQ(0, ioctl(self->fd, EMP_IOC_INFO, &big));
	EXPECT_EQ(EMP_ABI_VERSION, big.in.abi_version);
	/* The module reports how much it filled, and leaves the tail alone. */
	EXPECT_EQ(sizeof(big.in), big.in.size);
	for (unsigned int j = 0; j < sizeof(big.tail); j++)
		ASSERT_EQ(0, big.tail[j]);
}

TEST_F(ctl, larger_struct_with_nonzero_tail_gets_e2big)
{
	struct info_big big;

	memset(&big, 0, sizeof(big));
	big.in.size = sizeof(big);
	big.tail[sizeof(big.tail) - 1] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, EMP_IOC_INFO, &big));
	EXPECT_EQ(E2BIG, errno);
}

TEST_F(ctl, nonzero_flags_or_reserved_get_einval)
{
	struct emp_info in;

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	in.flags = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, EMP_IOC_INFO, &in));
	EXPECT_EQ(EINVAL, errno);
	for (unsigned int i = 0; i < 4; i++) {
		memset(&in, 0, sizeof(in));
		in.size = sizeof(in);
		in.reserved[i] = 1ULL << 63;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, EMP_IOC_INFO, &in));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%u]", i);
	}
}

TEST_F(ctl, bad_pointers_get_efault)
{
	void *ro;
	struct emp_info *in;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, EMP_IOC_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* Readable but not writable: the result cannot be copied back. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	in = ro;
	in->size = sizeof(*in);
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, EMP_IOC_INFO, in));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

TEST_F(ctl, read_write_on_control_device_are_refused)
{
	char c;

	EXPECT_EQ(-1, read(self->fd, &c, 1));
	EXPECT_EQ(-1, write(self->fd, &c, 1));
}

TEST_HARNESS_MAIN
