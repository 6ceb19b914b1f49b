// SPDX-License-Identifier: LGPL-2.1
/*
 * libemp-preload.so: the heap of an unmodified program on an EMP instance.
 *
 *   EMP_PMEM_PATH=SPEC LD_PRELOAD=libemp-preload.so ./app
 *
 * At load time the library creates an instance named preload-PID from SPEC
 * (the tier spec of emp-spec(7)), maps its device node MAP_SHARED at a
 * 32 MiB-aligned address and hands that range to mimalloc (Debian's
 * libmimalloc2.0) as an exclusive arena. Every thread allocates from its own
 * mimalloc heap in that arena: malloc and friends are defined here and
 * forward to mimalloc, whose default heap of each thread is switched to an
 * arena heap on the thread's first allocation. When the arena is full,
 * malloc returns NULL: the heap never silently spills into ordinary memory.
 *
 * The instance must be destroyed when the program is gone, but it cannot be
 * while mapped, and the heap must stay mapped until the very last free. So a
 * small watcher process (forked twice, so no wait() of the program can reap
 * it) waits for the program to close its end of a pipe, which happens when
 * the program and every child it forked have exited or exec'd, and then
 * destroys the instance. The mapping is never torn down by the library.
 *
 * Environment:
 *   EMP_PMEM_PATH     the tier spec; unset or empty: ordinary (mimalloc) heap
 *   EMP_PMEM_STRICT   1: a spec or set-up error ends the program (status 125)
 *                     before main; otherwise it runs on the ordinary heap
 *   EMP_PMEM_VERBOSE  1: say what was set up, and print the instance's
 *                     counters when the program exits
 *   EMP_PMEM_SECRET_FILE  the secret the donors of remote tiers require
 *   EMP_ETCD          the cluster registry that places a cluster:SIZE tier
 *                     (released by the watcher once the instance is gone)
 *   EMP_CLUSTER_HOST  this host's name in the registry (default: host name)
 *   EMP_CTL_PATH      control device (default /dev/emp)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mimalloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libemp.h"

#define EXPORT		__attribute__((visibility("default")))
/* mimalloc 2.0 segments are 32 MiB and must be aligned to their size. */
#define ARENA_ALIGN	(32UL << 20)
/* Exit status of the program when EMP_PMEM_STRICT=1 and set-up fails. */
#define STRICT_STATUS	125

/* Set once by the constructor, before any other thread exists. */
static struct {
	int active;		/* the arena exists: threads switch to it */
	int verbose;
	mi_arena_id_t arena;
	void *base;		/* the instance's mapping, never unmapped */
	size_t len;
	pid_t owner;		/* the process that created the instance */
	char name[EMP_NAME_MAX];
} pl;

/*
 * Per thread: 0 until the thread's first allocation after set-up, then 1
 * (its default mimalloc heap is in the arena) or 2 (that failed). Initial-
 * exec TLS, so reading it never allocates.
 */
static __thread int tls_heap __attribute__((tls_model("initial-exec")));

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	/* One write(2): no stdio state is touched this early or this late. */
	n = snprintf(buf, sizeof(buf), "emp-preload: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

static int env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

static inline void thread_heap(void)
{
	mi_heap_t *h;

	if (__builtin_expect(tls_heap != 0, 1) || !pl.active)
		return;
	tls_heap = 2;	/* first: mimalloc may call back into malloc below */
	h = mi_heap_new_in_arena(pl.arena);
	if (h) {
		mi_heap_set_default(h);
		tls_heap = 1;
	}
}

/* ---- the allocator interface glibc lets a library replace -------------- */

EXPORT void *malloc(size_t size)
{
	thread_heap();
	return mi_malloc(size);
}

EXPORT void *calloc(size_t n, size_t size)
{
	thread_heap();
	return mi_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
	thread_heap();
	return mi_realloc(p, size);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	thread_heap();
	return mi_reallocarray(p, n, size);
}

EXPORT void free(void *p)
{
	mi_free(p);
}

EXPORT void cfree(void *p)
{
	mi_free(p);
}

EXPORT void *memalign(size_t align, size_t size)
{
	thread_heap();
	return mi_memalign(align, size);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	thread_heap();
	return mi_aligned_alloc(align, size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	thread_heap();
	return mi_posix_memalign(out, align, size);
}

EXPORT void *valloc(size_t size)
{
	thread_heap();
	return mi_valloc(size);
}

EXPORT void *pvalloc(size_t size)
{
	thread_heap();
	return mi_pvalloc(size);
}

EXPORT size_t malloc_usable_size(void *p)
{
	return mi_malloc_usable_size(p);
}

/* ---- set-up and exit ------------------------------------------------------ */

/* Map @len bytes of the instance at a 32 MiB-aligned address. */
static void *map_aligned(int fd, size_t len)
{
	uintptr_t start, aligned;
	void *res, *p;

	res = mmap(NULL, len + ARENA_ALIGN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	start = (uintptr_t)res;
	aligned = (start + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	p = mmap((void *)aligned, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		munmap(res, len + ARENA_ALIGN);
		return MAP_FAILED;
	}
	if (aligned > start)
		munmap(res, aligned - start);
	if (start + ARENA_ALIGN > aligned)
		munmap((void *)(aligned + len), start + ARENA_ALIGN - aligned);
	return p;
}

/* Create a uniquely named instance. Return: 0 or -errno (message said). */
static int create_instance(int ctl, const struct emp_spec *s, struct emp_create *c, int tries)
{
	char err[EMP_SPEC_ERR_MAX], name[EMP_NAME_MAX];
	int i, ret = -EEXIST;

	/* A program that exec'd itself may meet its own earlier instance. */
	for (i = 1; i <= tries && ret == -EEXIST; i++) {
		if (i == 1)
			snprintf(name, sizeof(name), "preload-%d", (int)getpid());
		else
			snprintf(name, sizeof(name), "preload-%d-%d", (int)getpid(), i);
		if (emp_spec_to_create(s, name, 0, 0, 0, c, err, sizeof(err))) {
			say("EMP_PMEM_PATH: %s", err);
			return -EINVAL;
		}
		ret = emp_create(ctl, c, s->tier, s->nr_tiers);
	}
	if (ret)
		say("creating the instance failed: %s%s", strerror(-ret), ret == -EINVAL && !s->nr_tiers ?
		    " (a DRAM-only spec needs an emp.ko with features bit 13)" : "");
	else
		snprintf(pl.name, sizeof(pl.name), "%s", name);
	return ret;
}

/* The secret of EMP_PMEM_SECRET_FILE into the spec's remote tiers. */
static int add_secret(struct emp_spec *s)
{
	const char *file = getenv("EMP_PMEM_SECRET_FILE");
	uint8_t secret[EMP_SECRET_MAX];
	int n;

	if (!file || !*file)
		return 0;
	n = emp_read_secret_file(file, secret);
	if (n < 0) {
		say("EMP_PMEM_SECRET_FILE=%s: %s", file, n == -ENODATA || n == -E2BIG ?
		    "the secret must have 1..64 bytes" : strerror(-n));
		return n;
	}
	emp_spec_set_secret(s, secret, (uint32_t)n);
	memset(secret, 0, sizeof(secret));
	return 0;
}

static int setup(const char *spec)
{
	char err[EMP_SPEC_ERR_MAX + 256], path[64], b[3][32], name[EMP_NAME_MAX];
	struct emp_cluster cluster = { 0 };
	int ctl, fd = -1, watch, ret, placed = 0;
	unsigned int i;
	struct emp_create c;
	struct emp_spec s;
	size_t len;
	void *base;

	if (emp_spec_parse(spec, &s, err, sizeof(err))) {
		say("EMP_PMEM_PATH=\"%s\": %s", spec, err);
		return -EINVAL;
	}
	/* A cluster: tier: donors from the registry, under the first name. */
	for (i = 0; i < s.nr_tiers && s.tier[i].kind != EMP_TIER_CLUSTER; i++)
		;
	if (i < s.nr_tiers) {
		snprintf(name, sizeof(name), "preload-%d", (int)getpid());
		cluster.etcd = getenv("EMP_ETCD");
		ret = emp_spec_place(&s, name, &cluster, err, sizeof(err));
		if (ret) {
			say("EMP_PMEM_PATH: %s", err);
			return ret;
		}
		placed = 1;
		/* Released by the watcher once the instance is destroyed. */
		emp_watch_cluster(&cluster);
	}
	ret = emp_spec_resolve(&s, err, sizeof(err));
	if (ret) {
		say("EMP_PMEM_PATH: %s", err);
		goto out_release;
	}
	ret = add_secret(&s);
	if (ret)
		goto out_release;
	ctl = emp_ctl_open();
	if (ctl < 0) {
		say("cannot open the EMP control device: %s%s", strerror(-ctl),
		    ctl == -ENOENT ? " (is emp.ko loaded?)" : "");
		ret = ctl;
		goto out_release;
	}
	/* A placement is under one name: no other name to fall back on. */
	ret = create_instance(ctl, &s, &c, placed ? 1 : 8);
	emp_spec_set_secret(&s, (const uint8_t *)"", 0);	/* no copy left in memory */
	if (ret) {
		close(ctl);
		goto out_release;
	}
	len = (size_t)(c.inst_size & ~(uint64_t)(ARENA_ALIGN - 1));
	if (!len) {
		say("instance %s holds %s; the heap needs at least 32 MiB", pl.name,
		    emp_format_human(c.inst_size, b[0], sizeof(b[0])));
		ret = -EINVAL;
		goto out_destroy;
	}
	/* The watcher first: it must not inherit the mapping. */
	watch = emp_destroy_when_gone(pl.name, "emp-preload", pl.verbose);
	if (watch < 0) {
		say("cannot start the watcher process: %s", strerror(-watch));
		ret = watch;
		goto out_destroy;
	}
	fd = open(emp_inst_path(pl.name, path, sizeof(path)), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		say("cannot open %s: %s", path, strerror(errno));
		goto out_watcher;
	}
	base = map_aligned(fd, len);
	close(fd);
	if (base == MAP_FAILED) {
		ret = -errno;
		say("cannot map %s: %s", path, strerror(errno));
		goto out_watcher;
	}
	/*
	 * Decommitting would replace parts of the mapping with anonymous
	 * memory; the instance's own DRAM budget does that job here.
	 */
	mi_option_disable(mi_option_allow_decommit);
	/* A new instance reads as zeros: mimalloc may skip clearing it. */
	if (!mi_manage_os_memory_ex(base, len, true, false, true, -1, true, &pl.arena)) {
		say("mimalloc did not accept the arena at %p", base);
		ret = -ENOMEM;
		goto out_watcher;	/* the watcher destroys it once we exit */
	}
	pl.base = base;
	pl.len = len;
	pl.owner = getpid();
	pl.active = 1;
	thread_heap();
	close(ctl);
	if (pl.verbose)
		say("heap of pid %d on instance %s: %s of %s, DRAM budget %s, spec %s", (int)getpid(),
		    pl.name, emp_format_human(len, b[0], sizeof(b[0])),
		    emp_format_human(c.inst_size, b[1], sizeof(b[1])),
		    emp_format_human(c.dram_budget, b[2], sizeof(b[2])), spec);
	return 0;

out_watcher:
	/* Closing the pipe lets the watcher destroy the unmapped instance. */
	close(watch);
	close(ctl);
	return ret;
out_destroy:
	emp_destroy(ctl, pl.name);
	close(ctl);
out_release:
	if (placed)
		emp_cluster_release(name, &cluster, err, sizeof(err));
	return ret;
}

__attribute__((constructor(101))) static void emp_preload_init(void)
{
	const char *spec = getenv("EMP_PMEM_PATH");
	int strict = env_flag("EMP_PMEM_STRICT");

	pl.verbose = env_flag("EMP_PMEM_VERBOSE");
	if (!spec || !*spec) {
		if (strict) {
			say("EMP_PMEM_PATH is not set and EMP_PMEM_STRICT=1: exiting");
			_exit(STRICT_STATUS);
		}
		if (pl.verbose)
			say("EMP_PMEM_PATH is not set: ordinary heap");
		return;
	}
	if (!setup(spec))
		return;
	if (strict) {
		say("exiting (EMP_PMEM_STRICT=1)");
		_exit(STRICT_STATUS);
	}
	say("the program runs on the ordinary heap (EMP_PMEM_STRICT=1 makes this fatal)");
}

__attribute__((destructor)) static void emp_preload_fini(void)
{
	struct emp_stat st;
	char b[2][32];
	int ctl;

	if (!pl.active || !pl.verbose || getpid() != pl.owner)
		return;
	ctl = emp_ctl_open();
	if (ctl < 0)
		return;
	if (!emp_stat(ctl, pl.name, &st))
		say("%s at exit: faults %llu, hits %llu, zero fills %llu, fetches %llu, "
		    "evictions %llu, writebacks %llu, io errors %llu, resident %s of %s",
		    pl.name, (unsigned long long)st.faults, (unsigned long long)st.hits,
		    (unsigned long long)st.zero_fills, (unsigned long long)st.fetches,
		    (unsigned long long)st.evictions, (unsigned long long)st.writebacks,
		    (unsigned long long)st.io_errors,
		    emp_format_human(st.resident, b[0], sizeof(b[0])),
		    emp_format_human(st.dram_budget, b[1], sizeof(b[1])));
	close(ctl);
}
