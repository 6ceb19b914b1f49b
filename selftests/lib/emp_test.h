/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the instance selftests (emp_*_test.c): instance set-up on
 * a block device, page patterns, a small PRNG, SIGBUS/SIGSEGV-safe accesses,
 * null_blk devices with bad blocks, cleanup of leftovers.
 *
 * Include after kselftest_harness.h and libemp.h. Everything here is static
 * inline (unused helpers cost nothing) and reports errors by return value:
 * only test bodies assert.
 */
#ifndef EMP_SELFTEST_H
#define EMP_SELFTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libemp.h"

#define ET_KIB		(1ULL << 10)
#define ET_MIB		(1ULL << 20)
#define ET_PAGE		4096UL

/* The guest's emulated NVMe disk (1 GiB); EMP_TEST_DEV overrides it. */
static inline const char *et_dev(void)
{
	const char *d = getenv("EMP_TEST_DEV");

	return d && *d ? d : "/dev/nvme0n1";
}

/*
 * The guest's second NVMe disk, sparse and larger than a TiB (scripts/guest.sh,
 * EMP_NVME2_SIZE), for very large instances; EMP_TEST_DEV2 overrides it.
 */
static inline const char *et_dev2(void)
{
	const char *d = getenv("EMP_TEST_DEV2");

	return d && *d ? d : "/dev/nvme1n1";
}

/* Geometry of a one-tier block-device instance. */
struct et_geom {
	uint64_t size;		/* instance and tier size */
	uint32_t block;
	uint32_t sub;
	uint64_t budget;
	uint64_t offset;	/* into the device */
	const char *path;	/* NULL: et_dev() */
};

static inline void et_fill_create(struct emp_create *c, struct emp_tier *t,
				  const char *name, const struct et_geom *g)
{
	memset(c, 0, sizeof(*c));
	memset(t, 0, sizeof(*t));
	emp_set_name(c->name, name);
	c->inst_size = g->size;
	c->block_size = g->block;
	c->subblock_size = g->sub;
	c->dram_budget = g->budget;
	t->kind = EMP_TIER_BDEV;
	t->size = g->size;
	t->offset = g->offset;
	snprintf(t->path, sizeof(t->path), "%s", g->path ? g->path : et_dev());
}

/* Create instance @name with geometry @g. Return: 0 or -errno. */
static inline int et_create(int ctl, const char *name, const struct et_geom *g)
{
	struct emp_create c;
	struct emp_tier t;

	et_fill_create(&c, &t, name, g);
	return emp_create(ctl, &c, &t, 1);
}

/* Create @name of @n tiers with this geometry, its size their sum. Return: 0 or -errno. */
static inline int et_create_tiers(int ctl, const char *name, uint32_t block, uint32_t sub,
				  uint64_t budget, const struct emp_tier *tiers, unsigned int n)
{
	struct emp_create c;

	memset(&c, 0, sizeof(c));
	emp_set_name(c.name, name);
	c.block_size = block;
	c.subblock_size = sub;
	c.dram_budget = budget;
	return emp_create(ctl, &c, tiers, n);
}

/* Destroy @name if it exists (a leftover of an earlier, killed test). */
static inline void et_destroy_quiet(int ctl, const char *name)
{
	(void)emp_destroy(ctl, name);
}

/* Destroy every instance. Return: number of instances left, or -errno. */
static inline int et_destroy_all(int ctl)
{
	char names[EMP_MAX_INSTANCES][EMP_NAME_MAX];
	int n, i;

	n = emp_list(ctl, names, EMP_MAX_INSTANCES);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < EMP_MAX_INSTANCES; i++) {
		names[i][EMP_NAME_MAX - 1] = 0;
		(void)emp_destroy(ctl, names[i]);
	}
	return emp_list(ctl, NULL, 0);
}

/* Open the device node of @name. Return: fd or -errno. */
static inline int et_open_node(const char *name, int flags)
{
	char path[64];
	int fd;

	fd = open(emp_inst_path(name, path, sizeof(path)), flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* mmap @len bytes of @fd at @off, MAP_SHARED, read-write. */
static inline void *et_map(int fd, size_t len, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
}

/* An instance opened and mapped whole. */
struct et_inst {
	int ctl;
	int fd;
	char name[EMP_NAME_MAX];
	uint8_t *map;
	size_t len;
	struct et_geom g;
};

/*
 * Create @name (destroying a leftover of that name first), open its node
 * and map it whole. Return: 0, or -errno with a static reason in *@why.
 */
static inline int et_inst_up(struct et_inst *in, int ctl, const char *name,
			     const struct et_geom *g, const char **why)
{
	int err;

	memset(in, 0, sizeof(*in));
	in->ctl = ctl;
	in->fd = -1;
	in->map = MAP_FAILED;
	in->g = *g;
	in->len = g->size;
	snprintf(in->name, sizeof(in->name), "%s", name);
	et_destroy_quiet(ctl, name);
	err = et_create(ctl, name, g);
	if (err) {
		*why = "EMP_IOC_CREATE";
		return err;
	}
	in->fd = et_open_node(name, O_RDWR);
	if (in->fd < 0) {
		*why = "open of the instance node";
		return in->fd;
	}
	in->map = et_map(in->fd, in->len, 0);
	if (in->map == MAP_FAILED) {
		*why = "mmap of the instance node";
		return -errno;
	}
	return 0;
}

/* Unmap, close, destroy; safe on a partly set-up instance. Return: destroy's. */
static inline int et_inst_down(struct et_inst *in)
{
	if (in->map && in->map != MAP_FAILED)
		munmap(in->map, in->len);
	in->map = MAP_FAILED;
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	if (!in->name[0])
		return 0;
	return emp_destroy(in->ctl, in->name);
}

static inline size_t et_pages(const struct et_inst *in)
{
	return in->len / ET_PAGE;
}

/* ---- patterns ------------------------------------------------------------ */

/*
 * Word @i of page @pg at version @ver: page index in the high half, version
 * (with bit 15 set, so a written word is never zero) and word index in the
 * low half. A word read from the wrong page or the wrong place in a page, or
 * a stale version, is always told apart.
 */
static inline uint64_t et_word(uint64_t pg, uint32_t ver, uint32_t i)
{
	return (pg << 32) | ((uint64_t)((ver & 0x7fff) | 0x8000) << 16) | (i & 0xffff);
}

#define ET_WORDS	(ET_PAGE / sizeof(uint64_t))

static inline void et_fill_page(void *p, uint64_t pg, uint32_t ver)
{
	volatile uint64_t *w = p;

	for (uint32_t i = 0; i < ET_WORDS; i++)
		w[i] = et_word(pg, ver, i);
}

/* Return: index of the first wrong word, or -1 if the page is right. */
static inline int et_check_page(const void *p, uint64_t pg, uint32_t ver)
{
	const volatile uint64_t *w = p;

	for (uint32_t i = 0; i < ET_WORDS; i++)
		if (w[i] != et_word(pg, ver, i))
			return (int)i;
	return -1;
}

/* Return: index of the first nonzero word, or -1. */
static inline int et_check_zero(const void *p)
{
	const volatile uint64_t *w = p;

	for (uint32_t i = 0; i < ET_WORDS; i++)
		if (w[i])
			return (int)i;
	return -1;
}

/* Page @pg at version @ver, where version 0 means never written (zeros). */
static inline int et_check_ver(const void *p, uint64_t pg, uint32_t ver)
{
	return ver ? et_check_page(p, pg, ver) : et_check_zero(p);
}

/*
 * A page that may be written concurrently: every word must be zero (never
 * written) or belong to this page and place, whatever its version.
 * Return: index of the first foreign word, or -1.
 */
static inline int et_check_page_any(const void *p, uint64_t pg)
{
	const volatile uint64_t *w = p;

	for (uint32_t i = 0; i < ET_WORDS; i++) {
		uint64_t v = w[i];

		if (v && ((v >> 32) != pg || (v & 0xffff) != i || !(v & 0x80000000ULL)))
			return (int)i;
	}
	return -1;
}

/* ---- randomness ------------------------------------------------------------ */

/* xorshift64*: small, fast, and reproducible from a logged seed. */
static inline uint64_t et_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t et_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 2654435761ULL ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 40;
}

/* Fisher-Yates permutation of 0..n-1 into @perm. */
static inline void et_shuffle(uint32_t *perm, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = et_rand(s) % i;
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

static inline double et_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Jiffies of all CPUs from /proc/stat's "cpu" line: @busy gets those not
 * idle (nor waiting for I/O), @all every one. Zero when unreadable.
 */
static inline void et_cpu_jiffies(uint64_t *busy, uint64_t *all)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *all = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*all += v[i];
		*busy = *all - v[3] - v[4];
	}
	fclose(f);
}

static inline void et_msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * EMP_IOC_STAT of @name once the instance has settled: emp.ko's background
 * reclaimer may still be evicting the batch the last faults asked for, so
 * read until two reads 50 ms apart agree on evictions and resident bytes
 * (at most 5 s). Return: 0 or -errno of the ioctl.
 */
static inline int et_stat_settled(int ctl, const char *name, struct emp_stat *st)
{
	struct emp_stat again;
	int err;

	for (int t = 0; t < 100; t++) {
		err = emp_stat(ctl, name, st);
		if (err)
			return err;
		et_msleep(50);
		err = emp_stat(ctl, name, &again);
		if (err)
			return err;
		if (again.evictions == st->evictions && again.resident == st->resident)
			break;
	}
	return 0;
}

/* ---- accesses that survive SIGBUS / SIGSEGV ------------------------------- */

static __thread sigjmp_buf et_jb;
static __thread volatile sig_atomic_t et_armed;
static __thread void *volatile et_fault_addr;

static inline void et_sig_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (et_armed) {
		et_armed = 0;
		et_fault_addr = si->si_addr;
		siglongjmp(et_jb, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Route SIGBUS and SIGSEGV to et_sig_handler (per process, once). */
static inline void et_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = et_sig_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * The accesses proper are out of line, so nothing of theirs lives in
 * registers across sigsetjmp; the arguments go through volatile copies.
 */
struct et_access {
	int op;			/* ET_READ, ET_WRITE, ET_FILL, ET_CHECK, ET_CHECK_ANY */
	void *p;
	uint64_t pg;
	uint64_t v;		/* value to write / version */
	uint64_t out;		/* word read / result of a check */
};

enum { ET_READ, ET_WRITE, ET_FILL, ET_CHECK, ET_CHECK_ANY };

static __attribute__((noinline, unused)) void et_access_do(struct et_access *a)
{
	switch (a->op) {
	case ET_READ:
		a->out = *(volatile uint64_t *)a->p;
		break;
	case ET_WRITE:
		*(volatile uint64_t *)a->p = a->v;
		break;
	case ET_FILL:
		et_fill_page(a->p, a->pg, (uint32_t)a->v);
		break;
	case ET_CHECK:
		a->out = (uint64_t)(int64_t)et_check_ver(a->p, a->pg, (uint32_t)a->v);
		break;
	case ET_CHECK_ANY:
		a->out = (uint64_t)(int64_t)et_check_page_any(a->p, a->pg);
		break;
	}
}

/* Run @a. Return: 0, or the signal (SIGBUS, SIGSEGV) the access raised. */
static __attribute__((noinline, unused)) int et_access_try(struct et_access *a)
{
	struct et_access *volatile va = a;
	int sig;

	sig = sigsetjmp(et_jb, 1);
	if (sig)
		return sig;
	et_armed = 1;
	et_access_do(va);
	et_armed = 0;
	return 0;
}

/* Read the word at @p. Return: 0, or the signal the access raised. */
static inline int et_try_read(const volatile uint64_t *p, uint64_t *out)
{
	struct et_access a = { .op = ET_READ, .p = (void *)p };
	int sig = et_access_try(&a);

	*out = a.out;
	return sig;
}

/* Write @v at @p. Return: 0, or the signal the access raised. */
static inline int et_try_write(volatile uint64_t *p, uint64_t v)
{
	struct et_access a = { .op = ET_WRITE, .p = (void *)p, .v = v };

	return et_access_try(&a);
}

/* Fill page @pg at @p. Return: 0, or the signal the access raised. */
static inline int et_try_fill(void *p, uint64_t pg, uint32_t ver)
{
	struct et_access a = { .op = ET_FILL, .p = p, .pg = pg, .v = ver };

	return et_access_try(&a);
}

/* Check page @pg at @p into *@bad (as et_check_ver). Return: 0 or the signal. */
static inline int et_try_check(const void *p, uint64_t pg, uint32_t ver, int *bad)
{
	struct et_access a = { .op = ET_CHECK, .p = (void *)p, .pg = pg, .v = ver };
	int sig = et_access_try(&a);

	*bad = sig ? -1 : (int)(int64_t)a.out;
	return sig;
}

/* Check page @pg at @p into *@bad (as et_check_page_any). Return: 0 or the signal. */
static inline int et_try_check_any(const void *p, uint64_t pg, int *bad)
{
	struct et_access a = { .op = ET_CHECK_ANY, .p = (void *)p, .pg = pg };
	int sig = et_access_try(&a);

	*bad = sig ? -1 : (int)(int64_t)a.out;
	return sig;
}

/* ---- files, sysfs, devices --------------------------------------------------- */

/* Write string @s to file @path. Return: 0 or -errno. */
static inline int et_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n, len = (ssize_t)strlen(s);
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n != len)
		err = n < 0 ? -errno : -EIO;
	close(fd);
	return err;
}

/* Read the first line of @path into @buf (newline stripped). Return: 0 or -errno. */
static inline int et_read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* A number from file @file of instance @name's sysfs directory (UINT64_MAX: none). */
static inline uint64_t et_sysfs_u64(const char *name, const char *file)
{
	char p[160], v[64];

	snprintf(p, sizeof(p), "/sys/class/emp/" EMP_INST_PREFIX "%s/%s", name, file);
	if (et_read_file(p, v, sizeof(v)))
		return UINT64_MAX;
	return strtoull(v, NULL, 10);
}

/* Write parameter @name of module @mod; return its old value (-1: none). */
static inline long et_param(const char *mod, const char *name, long val)
{
	char path[160], old[32], v[24];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", mod, name);
	snprintf(v, sizeof(v), "%ld", val);
	if (et_read_file(path, old, sizeof(old)) || et_write_file(path, v))
		return -1;
	/* bool parameters read back as Y or N */
	if (old[0] == 'Y' || old[0] == 'N')
		return old[0] == 'Y';
	return strtol(old, NULL, 10);
}

/* Write module parameter @name of emp.ko; return its old value (-1: none). */
static inline long et_module_param(const char *name, long val)
{
	return et_param("emp", name, val);
}

/*
 * Does a kernel log line contain @needle? Reads /dev/kmsg from its start
 * (the records still in the buffer). Return: 1, 0, or -errno.
 */
static inline int et_kmsg_has(const char *needle)
{
	char rec[2048];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC), found = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while we read: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		if (strstr(rec, needle)) {
			found = 1;
			break;
		}
	}
	close(fd);
	return found;
}

/*
 * A "Name: N kB" field of the mapping that starts at @addr, from
 * /proc/self/smaps (FilePmdMapped: memory mapped with PMD entries).
 * Return: the value in KiB, or -1 if the mapping or field is not there.
 */
static inline long et_smaps_kib(const void *addr, const char *field)
{
	unsigned long start, end;
	char line[512], want[64];
	int in = 0;
	long kib = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%s: %%ld kB", field);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start == (unsigned long)addr;
			continue;
		}
		if (in && sscanf(line, want, &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* Size in bytes of block device @path. Return: bytes or 0. */
static inline uint64_t et_bdev_bytes(const char *path)
{
	char sys[128], buf[64];
	const char *base = strrchr(path, '/');

	snprintf(sys, sizeof(sys), "/sys/class/block/%s/size", base ? base + 1 : path);
	if (et_read_file(sys, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 10) * 512;
}

/* Can @path be opened exclusively (nobody holds it)? Return: 0 or -errno. */
static inline int et_bdev_excl(const char *path)
{
	int fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Run a shell command quietly. Return: its exit status, or -1. */
static inline int et_sh(const char *cmd)
{
	char buf[512];
	int st;

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	st = system(buf);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Bytes of MemAvailable in /proc/meminfo, or 0. */
static inline uint64_t et_mem_available(void)
{
	char line[128];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/*
 * Field @name of /proc/meminfo ("Slab", "VmallocUsed", ...).
 * Return: its value in bytes, or -1 if it is not there.
 */
static inline int64_t et_meminfo(const char *name)
{
	char line[128], want[64];
	long long kb;
	int64_t v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%s: %%lld kB", name);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, want, &kb) == 1) {
			v = (int64_t)kb * 1024;
			break;
		}
	fclose(f);
	return v;
}

/*
 * null_blk through configfs: a memory-backed device whose sectors can be
 * marked bad. The configfs attribute names are the same on 6.1 and 6.12.
 * On 6.1 the disk is nullb<index>, on 6.12 it takes the configfs item's
 * name; the new entry of /sys/block is found either way.
 */
#define ET_NULLB_CFS	"/sys/kernel/config/nullb"

struct et_nullb {
	char item[64];		/* configfs directory */
	char dev[64];		/* /dev/... */
	uint64_t bytes;
};

/* Copy @src into @dst of @n bytes, truncating. */
static inline void et_strlcpy(char *dst, const char *src, size_t n)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	dst[l] = 0;
}

static inline int et_block_names(char names[][32], int room)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < room)
		if (e->d_name[0] != '.')
			et_strlcpy(names[n++], e->d_name, 32);
	closedir(d);
	return n;
}

/* Remove a null_blk device made by et_nullb_up (or a leftover @name). */
static inline void et_nullb_down_name(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), ET_NULLB_CFS "/%s/power", name);
	(void)et_write_file(p, "0");
	snprintf(p, sizeof(p), ET_NULLB_CFS "/%s", name);
	(void)rmdir(p);
}

/*
 * Create a @mib MiB memory-backed null_blk device with 4 KiB sectors.
 * Return: 0, or -errno with the step in *@why.
 */
static inline int et_nullb_up(struct et_nullb *nb, const char *name,
			      unsigned int mib, const char **why)
{
	static const char *const steps[][2] = {
		{ "memory_backed", "1" }, { "blocksize", "4096" }, { "irqmode", "0" },
	};
	char before[64][32], after[64][32], p[160], v[32];
	int nb4, na, i, j, err;

	memset(nb, 0, sizeof(*nb));
	*why = "modprobe null_blk nr_devices=0";
	if (access(ET_NULLB_CFS, F_OK)) {
		if (et_sh("modprobe null_blk nr_devices=0"))
			return -ENODEV;
		if (access("/sys/kernel/config/nullb", F_OK) &&
		    et_sh("mount -t configfs none /sys/kernel/config"))
			return -ENODEV;
	}
	*why = "configfs " ET_NULLB_CFS;
	if (access(ET_NULLB_CFS, F_OK))
		return -ENODEV;
	et_nullb_down_name(name);
	nb4 = et_block_names(before, 64);
	snprintf(nb->item, sizeof(nb->item), ET_NULLB_CFS "/%s", name);
	*why = "mkdir of the configfs item";
	if (mkdir(nb->item, 0755))
		return -errno;
	snprintf(p, sizeof(p), "%s/size", nb->item);
	snprintf(v, sizeof(v), "%u", mib);
	*why = "size";
	err = et_write_file(p, v);
	if (err)
		return err;
	for (i = 0; i < (int)(sizeof(steps) / sizeof(steps[0])); i++) {
		snprintf(p, sizeof(p), "%s/%s", nb->item, steps[i][0]);
		*why = steps[i][0];
		err = et_write_file(p, steps[i][1]);
		if (err)
			return err;
	}
	snprintf(p, sizeof(p), "%s/power", nb->item);
	*why = "power";
	err = et_write_file(p, "1");
	if (err)
		return err;
	*why = "finding the new disk in /sys/block";
	na = et_block_names(after, 64);
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb4; j++)
			if (!strcmp(after[i], before[j]))
				break;
		if (j == nb4) {
			memcpy(nb->dev, "/dev/", 5);
			et_strlcpy(nb->dev + 5, after[i], sizeof(nb->dev) - 5);
			break;
		}
	}
	if (!nb->dev[0])
		return -ENODEV;
	nb->bytes = (uint64_t)mib << 20;
	return 0;
}

static inline void et_nullb_down(struct et_nullb *nb)
{
	const char *name;

	if (!nb->item[0])
		return;
	name = strrchr(nb->item, '/') + 1;
	et_nullb_down_name(name);
	nb->item[0] = 0;
}

/*
 * Mark 512-byte sectors [@first, @last] bad (@bad) or good again (!@bad).
 * In extents of at most 512 sectors, ascending: the badblocks code of 6.1
 * stores one larger range as extents in descending order, which its own
 * binary search then misses.
 */
static inline int et_nullb_badblocks(struct et_nullb *nb, uint64_t first,
				     uint64_t last, int bad)
{
	char p[160], v[64];
	int err;

	snprintf(p, sizeof(p), "%s/badblocks", nb->item);
	for (uint64_t s = first; s <= last; s += 512) {
		uint64_t e = last - s < 511 ? last : s + 511;

		snprintf(v, sizeof(v), "%c%llu-%llu", bad ? '+' : '-',
			 (unsigned long long)s, (unsigned long long)e);
		err = et_write_file(p, v);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Fill pages 0..@n-1 of @m with version @ver, then check them in reverse
 * order (the first written went to the tier first). Return: -1 when all
 * are right, else the first wrong page, with its wrong word in *@word.
 */
static inline long et_fill_check(uint8_t *m, size_t n, uint32_t ver, int *word)
{
	for (size_t pg = 0; pg < n; pg++)
		et_fill_page(m + pg * ET_PAGE, pg, ver);
	for (size_t pg = n; pg-- > 0;) {
		*word = et_check_ver(m + pg * ET_PAGE, pg, ver);
		if (*word != -1)
			return (long)pg;
	}
	return -1;
}

/*
 * The integrity matrix's geometries (the remote and node tier tests): for
 * fixture @f, its variant struct (block, sub, budget: a DRAM budget of a
 * few blocks) and the five block/subblock pairs. After FIXTURE(@f).
 */
#define ET_MATRIX_VARIANTS(f)							\
	FIXTURE_VARIANT(f) {							\
		uint32_t block;							\
		uint32_t sub;							\
		uint64_t budget;						\
	};									\
	FIXTURE_VARIANT_ADD(f, b4k_s4k) { 4 << 10, 4 << 10, 256 << 10 };	\
	FIXTURE_VARIANT_ADD(f, b64k_s4k) { 64 << 10, 4 << 10, 512 << 10 };	\
	FIXTURE_VARIANT_ADD(f, b64k_s64k) { 64 << 10, 64 << 10, 512 << 10 };	\
	FIXTURE_VARIANT_ADD(f, b2m_s64k) { 2 << 20, 64 << 10, 4 << 20 };	\
	FIXTURE_VARIANT_ADD(f, b2m_s128k) { 2 << 20, 128 << 10, 4 << 20 }

#endif /* EMP_SELFTEST_H */
