// SPDX-License-Identifier: GPL-2.0
/*
 * emp_bench swap (see emp_bench.c): EMP against Linux swap, the same random
 * or Zipf read-modify-write page workload on an instance, on anonymous
 * memory in a memory cgroup, or on anonymous memory without a limit, with
 * the swap counters of /proc/vmstat over the run.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>

#include "bench.h"

/* The kernel's swap counters (/proc/vmstat) a swap run is judged by; a
 * counter this kernel lacks stays -1 and is left out of the results. */
static const char *const vm_keys[] = {
	"pswpin", "pswpout", "swap_ra", "swap_ra_hit", "workingset_refault_anon",
};
#define NR_VM_KEYS	(sizeof(vm_keys) / sizeof(vm_keys[0]))

static void vmstat_read(long long *v)
{
	FILE *f = fopen("/proc/vmstat", "r");
	unsigned long long x;
	char k[64];

	for (size_t i = 0; i < NR_VM_KEYS; i++)
		v[i] = -1;
	if (!f)
		return;
	while (fscanf(f, "%63s %llu", k, &x) == 2)
		for (size_t i = 0; i < NR_VM_KEYS; i++)
			if (!strcmp(k, vm_keys[i]))
				v[i] = (long long)x;
	fclose(f);
}

/*
 * Requests the disk completed (/sys/block/DISK/stat: reads, read sectors,
 * writes, write sectors), DISK from EMP_BENCH_DISK (default nvme0n1, which
 * holds both EMP's and swap's partitions): how many device commands the
 * pages in and out took, once merged. Zeros when unreadable.
 */
static void disk_read(long long *v)
{
	const char *disk = getenv("EMP_BENCH_DISK");
	long long f[7] = { 0 };
	char p[128];
	FILE *fp;

	snprintf(p, sizeof(p), "/sys/block/%s/stat", disk && *disk ? disk : "nvme0n1");
	v[0] = v[1] = v[2] = v[3] = 0;
	fp = fopen(p, "r");
	if (!fp)
		return;
	if (fscanf(fp, "%lld %lld %lld %lld %lld %lld %lld", &f[0], &f[1], &f[2], &f[3], &f[4],
		   &f[5], &f[6]) == 7) {
		v[0] = f[0];	/* reads completed */
		v[1] = f[2];	/* sectors read */
		v[2] = f[4];	/* writes completed */
		v[3] = f[6];	/* sectors written */
	}
	fclose(fp);
}

static void print_disk_delta(const long long *a, const long long *b)
{
	printf(",\"disk_reads\":%lld,\"disk_read_sectors\":%lld,\"disk_writes\":%lld,"
	       "\"disk_write_sectors\":%lld", b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3]);
}

static void print_vmstat_delta(const long long *a, const long long *b)
{
	for (size_t i = 0; i < NR_VM_KEYS; i++)
		if (a[i] >= 0 && b[i] >= 0)
			printf(",\"vm_%s\":%lld", vm_keys[i], b[i] - a[i]);
}

/* ---- EMP against Linux swap ---------------------------------------------- */

/* Zipf(theta) over ranks 0..n-1 by inverse CDF; ranks scattered over pages. */
struct zipf {
	double *cdf;
	uint64_t n;
};

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double s = 0;

	z->n = n;
	z->cdf = malloc(n * sizeof(double));
	for (uint64_t k = 0; k < n; k++) {
		s += 1.0 / pow((double)(k + 1), theta);
		z->cdf[k] = s;
	}
	for (uint64_t k = 0; k < n; k++)
		z->cdf[k] /= s;
}

static uint64_t zipf_next(const struct zipf *z, uint64_t *seed)
{
	double u = (et_rand(seed) >> 11) * (1.0 / 9007199254740992.0);
	uint64_t lo = 0, hi = z->n - 1;

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;

		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* n is a power of two: an odd multiplier is a bijection. */
	return (lo * 0x9E3779B1ULL + 12345) & (z->n - 1);
}

static uint64_t cg_read(const char *dir, const char *file)
{
	char p[256], b[64];

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (et_read_file(p, b, sizeof(b)))
		return 0;
	return strtoull(b, NULL, 10);
}

#define PAGE_CLUSTER	"/proc/sys/vm/page-cluster"

/* One thread of the workload: its share of the accesses, each timed. */
struct swap_arg {
	uint8_t *m;
	const struct zipf *z;		/* NULL: uniform */
	uint64_t npg, ops, seed, limit_ns, done, sum, *lat;
	pthread_barrier_t *go;
};

static void *swap_thread(void *p)
{
	struct swap_arg *a = p;
	uint64_t t0, i;

	pthread_barrier_wait(a->go);
	t0 = now_ns();
	for (i = 0; i < a->ops; i++) {
		uint64_t pg = a->z ? zipf_next(a->z, &a->seed) : et_rand(&a->seed) % a->npg;
		volatile uint64_t *q = (volatile uint64_t *)(a->m + pg * ET_PAGE + (i & 511) * 8);
		uint64_t b = now_ns(), e;

		a->sum += *q;
		*q = i;
		e = now_ns();
		a->lat[i] = e - b;
		if (e - t0 > a->limit_ns) {	/* the clock is read at every access anyway */
			i++;
			break;
		}
	}
	a->done = i;
	return NULL;
}

/* Join the memory cgroup @dir with memory.max = @local plus what it holds
 * already. Return: that extra. */
static uint64_t cg_join(const char *dir, uint64_t local)
{
	char p[256], v[64];
	uint64_t extra;
	int err;

	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	snprintf(v, sizeof(v), "%d", getpid());
	if ((err = et_write_file(p, v)))
		die("join the cgroup", err);
	/* What the process already holds (binary, libraries, arrays). */
	extra = cg_read(dir, "memory.current");
	snprintf(p, sizeof(p), "%s/memory.max", dir);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(local + extra));
	if ((err = et_write_file(p, v)))
		die("memory.max", err);
	return extra;
}

/*
 * --mode emp: an instance with dram_budget = --local; anon: anonymous
 * memory in a memory cgroup with memory.max = --local, i.e. Linux swap
 * (--page-cluster N sets vm.page-cluster for the run); local: anonymous
 * memory without a limit (everything in DRAM). --threads 1 or 2 split the
 * same number of accesses over the same working set.
 */
int do_swap(const struct opts *o)
{
	const char *name = "bench-swap", *c;
	uint64_t ws = o->ws, npg = ws / ET_PAGE, *lat, t0, t1, done = 0, sum = 0;
	uint64_t extra = 0, sw0 = 0, sw1 = 0;
	unsigned int nt = o->threads;
	int emp = !strcmp(o->mode, "emp"), swap = !strcmp(o->mode, "anon");
	long long vm0[NR_VM_KEYS], vm1[NR_VM_KEYS], dk0[4], dk1[4];
	char pc_was[16] = "", pc[16] = "";
	struct swap_arg a[2];
	pthread_barrier_t go;
	pthread_t th[2];
	struct emp_stat s0, s1;
	struct zipf z = { 0 };
	int ctl = -1, fd = -1, err;
	uint8_t *m;
	double secs;

	c = emp ? "emp" : swap ? "swap" : "local";
	if (!emp && !swap && strcmp(o->mode, "local"))
		die("--mode: emp, anon or local", EINVAL);
	if (nt < 1 || nt > 2)
		die("--threads: 1 or 2", EINVAL);
	lat = calloc(o->n ? o->n : 1, sizeof(*lat));
	if (!lat)
		die("calloc", ENOMEM);
	if (!strcmp(o->dist, "zipf"))
		zipf_init(&z, npg, 0.99);
	if (emp) {
		ctl = inst_up(name, o, o->block, o->sub, ws, o->local, &m, &fd);
	} else {
		if (swap)
			extra = cg_join(o->cgroup, o->local);
		if (swap && o->page_cluster >= 0) {
			snprintf(pc, sizeof(pc), "%d", o->page_cluster);
			if ((err = et_read_file(PAGE_CLUSTER, pc_was, sizeof(pc_was))) ||
			    (err = et_write_file(PAGE_CLUSTER, pc)))
				die("set " PAGE_CLUSTER, err);
		}
		m = mmap(NULL, ws, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			die("mmap anon", errno);
	}
	if (et_read_file(PAGE_CLUSTER, pc, sizeof(pc)))
		snprintf(pc, sizeof(pc), "-1");
	populate(m, ws);
	pthread_barrier_init(&go, NULL, nt + 1);
	for (unsigned int t = 0, first = 0; t < nt; t++) {
		unsigned int share = o->n / nt + (t < o->n % nt);

		a[t] = (struct swap_arg){ .m = m, .z = z.cdf ? &z : NULL, .npg = npg,
					  .ops = share, .lat = lat + first,
					  .seed = 0xabcdef12ULL ^ (t * 0x9e3779b97f4a7c15ULL),
					  .limit_ns = (uint64_t)(o->secs * 1e9), .go = &go };
		first += share;
		if ((err = pthread_create(&th[t], NULL, swap_thread, &a[t])))
			die("pthread_create", err);
	}
	if (emp && (err = emp_stat(ctl, name, &s0)))
		die("stat", err);
	if (swap)
		sw0 = cg_read(o->cgroup, "memory.swap.current");
	vmstat_read(vm0);
	disk_read(dk0);
	pthread_barrier_wait(&go);
	t0 = now_ns();
	for (unsigned int t = 0; t < nt; t++) {
		pthread_join(th[t], NULL);
		/* Samples side by side, for a thread that stopped at the time cap. */
		memmove(lat + done, a[t].lat, a[t].done * sizeof(*lat));
		done += a[t].done;
		sum += a[t].sum;
	}
	t1 = now_ns();
	vmstat_read(vm1);
	disk_read(dk1);
	pthread_barrier_destroy(&go);
	secs = (t1 - t0) / 1e9;
	if (emp && (err = emp_stat(ctl, name, &s1)))
		die("stat", err);
	if (swap)
		sw1 = cg_read(o->cgroup, "memory.swap.current");
	qsort(lat, done, sizeof(*lat), cmp_u64);
	printf("# BENCH {\"bench\":\"swap\",\"contender\":\"%s\",\"dist\":\"%s\","
	       "\"threads\":%u,\"ws\":%llu,\"local\":%llu,\"local_pct\":%.0f,\"block\":%u,"
	       "\"subblock\":%u,\"page_cluster\":%d,\"ops\":%llu,\"secs\":%.3f,"
	       "\"ops_per_s\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.1f,\"mean_us\":%.2f",
	       c, o->dist, nt, (unsigned long long)ws,
	       (unsigned long long)(emp || swap ? o->local : ws),
	       emp || swap ? 100.0 * o->local / ws : 100.0, emp ? o->block : 4096,
	       emp ? o->sub : 4096, atoi(pc), (unsigned long long)done, secs, done / secs,
	       pct_us(lat, done, 50), pct_us(lat, done, 99), mean_us(lat, done));
	print_vmstat_delta(vm0, vm1);
	print_disk_delta(dk0, dk1);
	if (emp) {
		printf(",");
		print_stat_delta(&s0, &s1);
		inst_unmap(ctl, name, m, ws, fd);
		close(ctl);
	} else {
		if (swap)
			printf(",\"cgroup_extra\":%llu,\"swap_before\":%llu,\"swap_after\":%llu",
			       (unsigned long long)extra, (unsigned long long)sw0,
			       (unsigned long long)sw1);
		munmap(m, ws);
	}
	printf(",\"sum\":%llu}\n", (unsigned long long)(sum & 1));
	fflush(stdout);
	if (pc_was[0] && (err = et_write_file(PAGE_CLUSTER, pc_was)))
		die("restore " PAGE_CLUSTER, err);
	free(lat);
	free(z.cdf);
	return 0;
}
