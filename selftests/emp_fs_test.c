// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of empfs (issue 18 item 1): every instance is also a
 * regular file, NAME, of `mount -t empfs`; the file and /dev/emp-NAME are
 * one memory; fallocate(PUNCH_HOLE | KEEP_SIZE) and madvise(MADV_REMOVE)
 * on the file discard (zeros, no fetch, counted); what a regular file
 * would let change (size, mode, names) is refused; files come and go with
 * their instances, mounted or not. Needs emp.ko loaded and /dev/nvme0n1
 * (EMP_TEST_DEV) free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"

#define U(x)		((unsigned long long)(x))
#define DELTA(a, b, f)	((b).f - (a).f)
#define FS_NAME		"st_empfs"
#define FS_DIR		"/tmp/st_empfs"
#define FS_FILE		FS_DIR "/" FS_NAME
#define FS_SIZE		(4 * ET_MIB)
#define FS_BUDGET	(1 * ET_MIB)

FIXTURE(fs) {
	int ctl;
	struct et_inst in;	/* through /dev/emp-NAME */
	int fd;			/* the empfs file */
	uint8_t *fmap;		/* its mapping */
};

FIXTURE_SETUP(fs)
{
	struct et_geom g = { .size = FS_SIZE, .block = 64 << 10, .sub = 4 << 10,
			     .budget = FS_BUDGET };
	const char *why = "";
	int err;

	self->fd = -1;
	self->fmap = MAP_FAILED;
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	umount(FS_DIR);
	mkdir(FS_DIR, 0700);
	/* Created before the mount: its file is there all the same. */
	err = et_inst_up(&self->in, self->ctl, FS_NAME, &g, &why);
	if (err)
		et_inst_down(&self->in);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", why, strerror(-err));
	ASSERT_EQ(0, mount("empfs", FS_DIR, "empfs", 0, NULL))
		TH_LOG("mount -t empfs: %s", strerror(errno));
	self->fd = open(FS_FILE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", FS_FILE, strerror(errno));
	self->fmap = mmap(NULL, FS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->fmap) TH_LOG("mmap of the file: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fs)
{
	if (self->fmap != MAP_FAILED)
		munmap(self->fmap, FS_SIZE);
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, et_inst_down(&self->in));
	EXPECT_EQ(0, umount(FS_DIR)) TH_LOG("umount: %s", strerror(errno));
	rmdir(FS_DIR);
	close(self->ctl);
}

static void fill(uint8_t *map)
{
	for (uint64_t pg = 0; pg < FS_SIZE / ET_PAGE; pg++)
		et_fill_page(map + pg * ET_PAGE, pg, 1);
}

/* Pages of [@zs, @ze) and [@zs2, @ze2) zero, the others version 1. Return: wrong pages. */
static size_t check2(const uint8_t *map, uint64_t zs, uint64_t ze, uint64_t zs2, uint64_t ze2)
{
	size_t bad = 0;

	for (uint64_t pg = 0; pg < FS_SIZE / ET_PAGE; pg++) {
		const uint8_t *p = map + pg * ET_PAGE;
		uint64_t o = pg * ET_PAGE;
		bool zero = (o >= zs && o < ze) || (o >= zs2 && o < ze2);

		if ((zero ? et_check_zero(p) : et_check_page(p, pg, 1)) >= 0)
			bad++;
	}
	return bad;
}

static size_t check(const uint8_t *map, uint64_t zs, uint64_t ze)
{
	return check2(map, zs, ze, 0, 0);
}

TEST_F(fs, the_file_is_the_instance)
{
	struct stat st;

	ASSERT_EQ(0, stat(FS_FILE, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(FS_SIZE, st.st_size);
	/* Written through the file, read through the device node, and back. */
	fill(self->fmap);
	EXPECT_EQ(0, check(self->in.map, 0, 0));
	memset(self->in.map, 0, ET_PAGE);
	EXPECT_EQ(0, check(self->fmap, 0, ET_PAGE));
}

TEST_F_TIMEOUT(fs, punch_hole_and_madv_remove_discard, 120)
{
	uint64_t a = ET_MIB, alen = ET_MIB + 3 * ET_PAGE;	/* whole blocks and a few pages */
	uint64_t b = 3 * ET_MIB, blen = 8 * ET_PAGE;
	struct emp_stat s0, s1, s2, s3;
	size_t bad;

	fill(self->fmap);
	ASSERT_EQ(0, et_stat_settled(self->ctl, FS_NAME, &s0));
	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, a, alen))
		TH_LOG("fallocate: %s", strerror(errno));
	ASSERT_EQ(0, emp_stat(self->ctl, FS_NAME, &s1));
	ASSERT_EQ(0, madvise(self->fmap + b, blen, MADV_REMOVE))
		TH_LOG("madvise(MADV_REMOVE): %s", strerror(errno));
	ASSERT_EQ(0, emp_stat(self->ctl, FS_NAME, &s2));
	bad = check2(self->fmap, a, a + alen, b, b + blen);
	ASSERT_EQ(0, emp_stat(self->ctl, FS_NAME, &s3));
	TH_LOG("punch %llu KiB: %llu discarded, %llu writebacks; MADV_REMOVE %llu KiB: %llu "
	       "discarded; reading all: %llu fetches of the ranges' blocks or others; "
	       "%zu wrong pages", U(alen >> 10), U(DELTA(s0, s1, discarded)), U(DELTA(s0, s1, writebacks)),
	       U(blen >> 10), U(DELTA(s1, s2, discarded)), U(DELTA(s2, s3, fetches)), bad);
	EXPECT_EQ(alen, DELTA(s0, s1, discarded));
	EXPECT_EQ(0, DELTA(s0, s1, writebacks));
	EXPECT_EQ(blen, DELTA(s1, s2, discarded));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, s3.io_errors);
	/* Beyond the end: cut there, as for a regular file. */
	EXPECT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       FS_SIZE - ET_PAGE, 16 * ET_PAGE));
	EXPECT_EQ(0, et_check_zero(self->fmap + FS_SIZE - ET_PAGE) >= 0);
}

TEST_F(fs, what_a_file_could_change_is_refused)
{
	EXPECT_EQ(-1, fallocate(self->fd, 0, 0, ET_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE, 0, ET_PAGE));
	EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("PUNCH_HOLE without KEEP_SIZE: %s", strerror(errno));
	EXPECT_EQ(-1, ftruncate(self->fd, FS_SIZE / 2));
	EXPECT_EQ(-1, truncate(FS_FILE, 0));
	EXPECT_EQ(-1, chmod(FS_FILE, 0666));
	EXPECT_EQ(-1, unlink(FS_FILE));
	EXPECT_EQ(-1, rename(FS_FILE, FS_DIR "/other"));
	EXPECT_EQ(-1, open(FS_DIR "/new", O_CREAT | O_RDWR | O_CLOEXEC, 0600));
	EXPECT_EQ(-1, mkdir(FS_DIR "/dir", 0700));
	/* The device node is no regular file: the VFS refuses MADV_REMOVE there. */
	EXPECT_EQ(-1, madvise(self->in.map, ET_PAGE, MADV_REMOVE));
}

TEST_F(fs, the_file_goes_with_its_instance)
{
	struct stat st;

	/* Open through the file: the instance is busy. */
	EXPECT_EQ(-EBUSY, emp_destroy(self->ctl, FS_NAME));
	munmap(self->fmap, FS_SIZE);
	self->fmap = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, et_inst_down(&self->in));
	self->in.name[0] = 0;	/* destroyed */
	EXPECT_EQ(-1, stat(FS_FILE, &st));
	EXPECT_EQ(ENOENT, errno);
}

TEST_HARNESS_MAIN
