// SPDX-License-Identifier: GPL-2.0
/*
 * emp_bench: the guest side of `make bench` (scripts/bench.sh, docs/bench.md).
 * Every mode prints one JSON object per result on stdout, on a line of its
 * own starting with "# BENCH " (a TAP comment); the guest driver (selftests/guest/bench_emp.sh)
 * forwards them to the host. Nothing here passes or fails on speed.
 *
 *   emp_bench fault  --tier bdev|tcp|rdma [--addr IP --port P --secret S]
 *                    [--size MiB --budget MiB --n N --label L --full MiB --threads T]
 *       4 KiB faults on never-resident (written, then evicted) pages of a
 *       4K/4K instance, each timed with clock_gettime, with nothing to
 *       evict; with --full, then the same at a budget of that size full of
 *       dirty pages (each fault evicts one first), by 1 up to T threads.
 *       The kernel's side of the same faults from its fine histogram.
 *   emp_bench tput   --block B --sub S [--size MiB --budget MiB --secs X]
 *       sequential and random page reads over a populated instance, 1 and 2
 *       threads, each run started cold (budget shrunk to 2 blocks and back).
 *   emp_bench swap   --mode emp|anon|local --ws MiB --local MiB --dist uniform|zipf
 *                    [--block B --sub S --ops N --secs X --threads 1|2 --cgroup DIR
 *                     --page-cluster N]
 *       the same random (or Zipf 0.99) read-modify-write page workload, N
 *       accesses split between the threads, on an EMP instance with
 *       dram_budget = local, on anonymous memory in a memory cgroup v2 with
 *       memory.max = local (plus what the process used before mapping) and
 *       vm.page-cluster N for the run, or on anonymous memory without a
 *       limit (local). Swap counters of /proc/vmstat over the run.
 *   emp_bench around --block B --sub S [--size MiB --budget MiB --n ROUNDS]
 *       fault-around (emp.ko's fault_around parameter) on against off, the
 *       two alternating ROUNDS times in the one instance: a sequential read
 *       of every page, cold (all on the tier), and a warm one (everything
 *       resident in EMP's DRAM, freshly mapped, as after a restart or in a
 *       second process). Every page's words are checked.
 *   emp_bench vm     --block B --sub S [--size MiB --budget MiB --n ROUNDS --secs X]
 *       VM mode: a KVM VM (selftests/lib/emp_kvm_vm.h) whose memory slot is
 *       the instance. (1) fault-around on against off, alternating ROUNDS
 *       times: the guest checks every word of the instance, cold from the
 *       tier; pages/s, KVM page faults and instance faults per page.
 *       (2) does one vCPU's fetch stall another? vCPU 1 checks a resident
 *       1 MiB of anonymous memory for X seconds, alone, beside vCPU 0
 *       checking the same memory (CPU load only), and beside vCPU 0
 *       checking the cold instance (fetches); its passes/s in each case.
 *   emp_bench vmhuge --block 2097152 --sub S [--size MiB --budget MiB --n ROUNDS]
 *       VM mode with 2 MiB blocks mapped whole (emp.ko's huge_map) on
 *       against off, alternating ROUNDS times, a fresh instance each: the
 *       guest checks every word of the instance, cold from the tier; then
 *       "warm": a budget's worth of resident blocks, the memory slot made
 *       anew before each pass so KVM maps every page again (only KVM's
 *       faults are timed). Pages/s and KVM page faults per page.
 *   emp_bench pingserve PORT | emp_bench ping IP PORT N
 *       plain TCP round trip: 16-byte request, 4096-byte answer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include "libemp.h"
#include "lib/emp_test.h"
#include "lib/emp_kvm_vm.h"

#define MIB (1ULL << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile @p (0..100) of @n sorted values, in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static double mean_us(const uint64_t *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / n / 1000.0 : 0;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "emp_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- instances with any one tier --------------------------------------- */

struct opts {
	const char *tier, *addr, *secret, *label, *mode, *dist, *cgroup;
	unsigned int port, block, sub, n, threads;
	uint64_t size, budget, ws, local, full;
	int page_cluster;
	double secs;
};

static int inst_create(int ctl, const char *name, const struct opts *o,
		       uint32_t block, uint32_t sub, uint64_t size, uint64_t budget)
{
	struct emp_create c;
	struct emp_tier t;

	memset(&c, 0, sizeof(c));
	memset(&t, 0, sizeof(t));
	emp_set_name(c.name, name);
	c.inst_size = size;
	c.block_size = block;
	c.subblock_size = sub;
	c.dram_budget = budget;
	t.size = size;
	if (!strcmp(o->tier, "bdev")) {
		t.kind = EMP_TIER_BDEV;
		snprintf(t.path, sizeof(t.path), "%s", et_dev());
	} else {
		t.kind = !strcmp(o->tier, "rdma") ? EMP_TIER_RDMA : EMP_TIER_TCP;
		t.port = (uint16_t)o->port;
		snprintf(t.path, sizeof(t.path), "%s", o->addr);
		if (o->secret) {
			t.secret_len = (uint32_t)strlen(o->secret);
			memcpy(t.secret, o->secret, t.secret_len);
		}
	}
	(void)emp_destroy(ctl, name);
	return emp_create(ctl, &c, &t, 1);
}

static uint8_t *inst_map(const char *name, uint64_t size, int *fdp)
{
	int fd = et_open_node(name, O_RDWR);
	void *m;

	if (fd < 0)
		die("open instance node", fd);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap instance", errno);
	*fdp = fd;
	return m;
}

/* Open /dev/emp, create @name (dies on failure) and map it. Return: the
 * control fd; *mp and *fdp get the mapping and its file. */
static int inst_up(const char *name, const struct opts *o, uint32_t block, uint32_t sub,
		   uint64_t size, uint64_t budget, uint8_t **mp, int *fdp)
{
	int ctl = emp_ctl_open(), err;

	if (ctl < 0)
		die("open /dev/emp", ctl);
	err = inst_create(ctl, name, o, block, sub, size, budget);
	if (err)
		die("create", err);
	*mp = inst_map(name, size, fdp);
	return ctl;
}

static void inst_unmap(int ctl, const char *name, uint8_t *m, uint64_t size, int fd)
{
	munmap(m, size);
	close(fd);
	if (emp_destroy(ctl, name))
		fprintf(stderr, "emp_bench: destroy %s failed\n", name);
}

/* Evict everything (writing dirty data back), then restore the budget. */
static void inst_cold(int ctl, const char *name, uint32_t block, uint64_t budget)
{
	int err = emp_resize(ctl, name, 2ULL * block);

	if (err)
		die("resize down", err);
	err = emp_resize(ctl, name, budget);
	if (err)
		die("resize up", err);
}

static void populate(uint8_t *m, uint64_t size)
{
	for (uint64_t pg = 0; pg < size / ET_PAGE; pg++)
		*(volatile uint64_t *)(m + pg * ET_PAGE) = et_word(pg, 1, 0);
}

/* The kernel's fault latency quantile @permille over the faults between @a
 * and @b, from the fine histogram; JSON null when it is in the open last
 * bucket (4.3 s and more), 0 when there were no faults. */
static void print_kern_quantile(const char *key, const struct emp_stat *a,
				const struct emp_stat *b, unsigned int permille)
{
	static struct emp_stat d;	/* large: not on the stack */
	uint64_t q;

	for (int i = 0; i < EMP_LAT_FINE_BUCKETS; i++)
		d.lat_fine[i] = b->lat_fine[i] - a->lat_fine[i];
	q = emp_lat_quantile(&d, permille);
	if (q == UINT64_MAX)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.1f", key, q / 1000.0);
}

/* JSON members for the counters of @b less those of @a (all tiers summed),
 * the metadata the instance holds after the run and the kernel's p50/p99. */
static void print_stat_delta(const struct emp_stat *a, const struct emp_stat *b)
{
	uint64_t t[4] = { 0 };

	for (uint32_t i = 0; i < b->nr_tiers && i < EMP_MAX_TIERS; i++) {
		t[0] += b->tier[i].reads - a->tier[i].reads;
		t[1] += b->tier[i].read_bytes - a->tier[i].read_bytes;
		t[2] += b->tier[i].writes - a->tier[i].writes;
		t[3] += b->tier[i].write_bytes - a->tier[i].write_bytes;
	}
	/* Every instance counter (EMP_STAT_COUNTERS), as a delta over the run. */
#define X(f, help) printf("\"" #f "\":%llu,", (unsigned long long)(b->f - a->f));
	EMP_STAT_COUNTERS(X)
#undef X
	printf("\"tier_reads\":%llu,\"tier_read_bytes\":%llu,\"tier_writes\":%llu,"
	       "\"tier_write_bytes\":%llu,\"meta_bytes\":%llu",
	       (unsigned long long)t[0], (unsigned long long)t[1], (unsigned long long)t[2],
	       (unsigned long long)t[3], (unsigned long long)b->meta_bytes);
	print_kern_quantile("kern_p50_us", a, b, 500);
	print_kern_quantile("kern_p99_us", a, b, 990);
}

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

static void print_vmstat_delta(const long long *a, const long long *b)
{
	for (size_t i = 0; i < NR_VM_KEYS; i++)
		if (a[i] >= 0 && b[i] >= 0)
			printf(",\"vm_%s\":%lld", vm_keys[i], b[i] - a[i]);
}

/* ---- fault latency ----------------------------------------------------- */

/* One thread's share of the timed faults: a read of each of its pages. */
struct fault_arg {
	uint8_t *m;
	const uint32_t *pages;
	uint64_t *lat;
	unsigned int n, bad;
	pthread_barrier_t *go;
};

static void *fault_thread(void *p)
{
	struct fault_arg *a = p;

	pthread_barrier_wait(a->go);
	for (unsigned int i = 0; i < a->n; i++) {
		volatile uint64_t *q = (volatile uint64_t *)(a->m + (uint64_t)a->pages[i] * ET_PAGE);
		uint64_t t0 = now_ns(), v = *q, t1 = now_ns();

		a->lat[i] = t1 - t0;
		if (v != et_word(a->pages[i], 1, 0))
			a->bad++;
	}
	return NULL;
}

/* Time reads of the distinct pages @pages[0..n), split between @nthreads
 * threads, and print the result. Return: the number of wrong words read. */
static unsigned int fault_timed(int ctl, const char *name, const struct opts *o,
				uint8_t *m, const uint32_t *pages, unsigned int n,
				unsigned int nthreads, const char *mode, uint64_t budget)
{
	struct fault_arg a[2];
	pthread_barrier_t go;
	pthread_t th[2];
	struct emp_stat s0, s1;
	uint64_t *lat = calloc(n ? n : 1, sizeof(*lat)), t0, t1;
	unsigned int bad = 0, off = 0;
	int err;

	if (!lat || nthreads < 1 || nthreads > 2)
		die("fault_timed", EINVAL);
	pthread_barrier_init(&go, NULL, nthreads + 1);
	for (unsigned int t = 0; t < nthreads; t++) {
		unsigned int cnt = n / nthreads + (t < n % nthreads);

		a[t] = (struct fault_arg){ .m = m, .pages = pages + off, .lat = lat + off,
					   .n = cnt, .go = &go };
		off += cnt;
		if ((err = pthread_create(&th[t], NULL, fault_thread, &a[t])))
			die("pthread_create", err);
	}
	if ((err = emp_stat(ctl, name, &s0)))
		die("stat", err);
	pthread_barrier_wait(&go);
	t0 = now_ns();
	for (unsigned int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		bad += a[t].bad;
	}
	t1 = now_ns();
	if ((err = emp_stat(ctl, name, &s1)))
		die("stat", err);
	pthread_barrier_destroy(&go);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("# BENCH {\"bench\":\"fault\",\"contender\":\"emp\",\"tier\":\"%s\","
	       "\"mode\":\"%s\",\"threads\":%u,\"block\":4096,\"subblock\":4096,"
	       "\"size\":%llu,\"budget\":%llu,\"resident_before\":%llu,\"n\":%u,"
	       "\"secs\":%.4f,\"faults_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
	       "\"mean_us\":%.1f,\"wrong_data\":%u,",
	       o->label ? o->label : o->tier, mode, nthreads, (unsigned long long)o->size,
	       (unsigned long long)budget, (unsigned long long)s0.resident, n,
	       (t1 - t0) / 1e9, n / ((t1 - t0) / 1e9), pct_us(lat, n, 50), pct_us(lat, n, 99),
	       mean_us(lat, n), bad);
	print_stat_delta(&s0, &s1);
	printf("}\n");
	fflush(stdout);
	free(lat);
	return bad;
}

/*
 * "cold": every page written, then all evicted (nothing dirty, the budget
 * empty), then @n random pages read, fewer than the budget holds, so no
 * fault evicts. "full" (--full MiB): the budget set to that, every page
 * written again before each run so the budget is full of dirty pages, then
 * random pages among those written first (surely evicted) read by 1, then
 * 2 threads: each fault makes room first, writing a dirty page back.
 */
static int do_fault(const struct opts *o)
{
	const char *name = "bench-fault";
	uint64_t size = o->size, budget = o->budget, npg = size / ET_PAGE;
	uint64_t seed = 0x5eed0001;
	unsigned int n = o->n, bad = 0;
	uint32_t *perm;
	uint8_t *m;
	int ctl, fd, err;

	if (n > budget / ET_PAGE - 4)
		n = (unsigned int)(budget / ET_PAGE - 4);
	if (n > npg)
		n = (unsigned int)npg;
	ctl = inst_up(name, o, 4096, 4096, size, budget, &m, &fd);
	populate(m, size);
	inst_cold(ctl, name, 4096, budget);
	perm = calloc(npg, sizeof(*perm));
	et_shuffle(perm, npg, &seed);
	bad += fault_timed(ctl, name, o, m, perm, n, 1, "cold", budget);
	if (o->full) {
		uint64_t fpg = o->full / ET_PAGE, first;

		/* The pages written first: at least a budget away from the end. */
		if (o->full < 4 * ET_PAGE || 2 * o->full >= size)
			die("--full: at least 16 KiB and under half the size", EINVAL);
		first = npg - 2 * fpg;
		n = o->n;
		if (n > fpg - 4)
			n = (unsigned int)(fpg - 4);
		if (n > first)
			n = (unsigned int)first;
		if ((err = emp_resize(ctl, name, o->full)))
			die("resize to --full", err);
		for (unsigned int t = 1; t <= o->threads; t++) {
			populate(m, size);
			et_shuffle(perm, first, &seed);
			bad += fault_timed(ctl, name, o, m, perm, n, t, "full", o->full);
		}
	}
	inst_unmap(ctl, name, m, size, fd);
	free(perm);
	close(ctl);
	return bad ? 1 : 0;
}

/* ---- throughput --------------------------------------------------------- */

struct tput_arg {
	uint8_t *m;
	uint64_t npg, first, count;	/* seq: slice [first, first+count) */
	int rand;
	uint64_t seed, done, sum;
	uint64_t deadline;
};

static void *tput_thread(void *p)
{
	struct tput_arg *a = p;
	uint64_t sum = 0, i;

	for (i = 0; i < a->count; i++) {
		uint64_t pg = a->rand ? et_rand(&a->seed) % a->npg : a->first + i;

		sum += *(volatile uint64_t *)(a->m + pg * ET_PAGE);
		if ((i & 63) == 63 && now_ns() > a->deadline) {
			i++;
			break;
		}
	}
	a->done = i;
	a->sum = sum;
	return NULL;
}

static int do_tput(const struct opts *o)
{
	const char *name = "bench-tput";
	uint64_t size = o->size, budget = o->budget, npg = size / ET_PAGE;
	struct emp_stat s0, s1;
	uint8_t *m;
	int ctl, fd, err;

	ctl = inst_up(name, o, o->block, o->sub, size, budget, &m, &fd);
	populate(m, size);
	for (int rnd = 0; rnd < 2; rnd++) {
		for (unsigned int nt = 1; nt <= 2; nt++) {
			struct tput_arg a[2];
			pthread_t th[2];
			uint64_t t0, t1, done = 0;
			double secs;

			inst_cold(ctl, name, o->block, budget);
			if ((err = emp_stat(ctl, name, &s0)))
				die("stat", err);
			t0 = now_ns();
			for (unsigned int t = 0; t < nt; t++) {
				memset(&a[t], 0, sizeof(a[t]));
				a[t].m = m;
				a[t].npg = npg;
				a[t].rand = rnd;
				a[t].first = npg / nt * t;
				a[t].count = npg / nt;
				a[t].seed = 0x1234567ULL * (t + 1) + rnd;
				a[t].deadline = t0 + (uint64_t)(o->secs * 1e9);
				pthread_create(&th[t], NULL, tput_thread, &a[t]);
			}
			for (unsigned int t = 0; t < nt; t++) {
				pthread_join(th[t], NULL);
				done += a[t].done;
			}
			t1 = now_ns();
			if ((err = emp_stat(ctl, name, &s1)))
				die("stat", err);
			secs = (t1 - t0) / 1e9;
			printf("# BENCH {\"bench\":\"tput\",\"contender\":\"emp\",\"tier\":\"%s\","
			       "\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
			       "\"pattern\":\"%s\",\"threads\":%u,\"pages\":%llu,\"secs\":%.3f,"
			       "\"gbps\":%.4f,\"faults_per_s\":%.0f,",
			       o->tier, o->block, o->sub, (unsigned long long)size,
			       (unsigned long long)budget, rnd ? "rand" : "seq", nt,
			       (unsigned long long)done, secs, done * 4096.0 / secs / 1e9,
			       (s1.faults - s0.faults) / secs);
			print_stat_delta(&s0, &s1);
			printf("}\n");
			fflush(stdout);
		}
	}
	inst_unmap(ctl, name, m, size, fd);
	close(ctl);
	return 0;
}

/* ---- fault-around on and off ----------------------------------------------- */

#define FAULT_AROUND_PARAM	"/sys/module/emp/parameters/fault_around"

/* One timed sequential read of every page of a fresh mapping; checks data. */
static void around_pass(int ctl, const char *name, const struct opts *o, uint64_t size,
			uint64_t budget, int cold, int on, const char *who, unsigned int round)
{
	uint64_t npg = size / ET_PAGE, bad = 0, t0, t1;
	struct emp_stat s0, s1;
	uint8_t *m;
	double secs;
	int fd, err;

	if ((err = et_write_file(FAULT_AROUND_PARAM, on ? "Y" : "N")))
		die("write " FAULT_AROUND_PARAM, err);
	if (cold)
		inst_cold(ctl, name, o->block, budget);
	m = inst_map(name, size, &fd);
	if ((err = emp_stat(ctl, name, &s0)))
		die("stat", err);
	t0 = now_ns();
	for (uint64_t pg = 0; pg < npg; pg++)
		bad += *(volatile uint64_t *)(m + pg * ET_PAGE) != et_word(pg, 1, 0);
	t1 = now_ns();
	if ((err = emp_stat(ctl, name, &s1)))
		die("stat", err);
	munmap(m, size);
	close(fd);
	secs = (t1 - t0) / 1e9;
	printf("# BENCH {\"bench\":\"around\",\"contender\":\"%s\",\"tier\":\"%s\","
	       "\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,\"start\":\"%s\","
	       "\"round\":%u,\"pages\":%llu,\"secs\":%.4f,\"pages_per_s\":%.0f,"
	       "\"wrong_data\":%llu,",
	       who, o->tier, o->block, o->sub, (unsigned long long)size,
	       (unsigned long long)budget, cold ? "cold" : "warm", round,
	       (unsigned long long)npg, secs, npg / secs,
	       (unsigned long long)bad);
	print_stat_delta(&s0, &s1);
	printf("}\n");
	fflush(stdout);
	if (bad)
		die("wrong data in the fault-around pass", EIO);
}

static int do_around(const struct opts *o)
{
	const char *name = "bench-around";
	uint64_t size = o->size, budget = o->budget;
	char was[8] = "Y";
	uint8_t *m;
	int ctl, fd, err;

	if (et_read_file(FAULT_AROUND_PARAM, was, sizeof(was)))
		die("read " FAULT_AROUND_PARAM " (emp.ko without fault-around?)", ENOENT);
	ctl = inst_up(name, o, o->block, o->sub, size, budget, &m, &fd);
	populate(m, size);
	munmap(m, size);
	close(fd);
	for (unsigned int r = 0; r < o->n; r++) {
		/* Cold: the whole instance comes from the tier. */
		around_pass(ctl, name, o, size, budget, 1, 1, "on", r);
		around_pass(ctl, name, o, size, budget, 1, 0, "off", r);
	}
	/* Warm: the first budget's worth, resident, mapped afresh. */
	if ((err = emp_resize(ctl, name, size)))
		die("resize to the whole instance", err);
	around_pass(ctl, name, o, size, size, 0, 0, "prime", 0);	/* all resident */
	for (unsigned int r = 0; r < o->n; r++) {
		around_pass(ctl, name, o, size, size, 0, 1, "on", r);
		around_pass(ctl, name, o, size, size, 0, 0, "off", r);
	}
	if ((err = et_write_file(FAULT_AROUND_PARAM, was)))
		die("restore " FAULT_AROUND_PARAM, err);
	if (emp_destroy(ctl, name))
		fprintf(stderr, "emp_bench: destroy %s failed\n", name);
	close(ctl);
	return 0;
}

/* ---- VM mode: a KVM guest on the instance ------------------------------- */

/* Guest-physical layout: the guest code in anonymous memory at 0, the
 * instance at VM_INST_GPA, 1 MiB of anonymous memory after it. */
#define VM_CODE_SIZE	(64 << 10)
#define VM_INST_GPA	(2 * MIB)
#define VM_HOT_SIZE	(1 * MIB)

struct vm_bench {
	int ctl, kvm, vmfd, fd;
	const char *name;
	const struct opts *o;
	uint8_t *inst, *code, *hot;
	uint64_t hot_gpa;
	uint32_t seed;
	struct ekv_vcpu v[2];
};

static void vm_check(int64_t r, const char *what)
{
	if (r > 0)
		die(what, EIO);		/* the guest read a wrong word */
	if (r <= EKV_EXIT_BASE)
		die(what, EPROTO);	/* an unexpected exit */
	if (r < 0)
		die(what, (int)-r);
}

/* One timed guest pass over the cold instance, fault-around @on or off. */
static void vm_around_pass(struct vm_bench *b, int on, unsigned int round)
{
	const struct opts *o = b->o;
	uint64_t npg = o->size / ET_PAGE, t0, t1;
	int64_t pf0, pf1, r;
	struct emp_stat s0, s1;
	int err;

	if ((err = et_write_file(FAULT_AROUND_PARAM, on ? "Y" : "N")))
		die("write " FAULT_AROUND_PARAM, err);
	inst_cold(b->ctl, b->name, o->block, o->budget);
	if ((err = emp_stat(b->ctl, b->name, &s0)))
		die("stat", err);
	pf0 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	t0 = now_ns();
	r = ekv_run(&b->v[0], EKV_CHECK, b->seed, VM_INST_GPA, VM_INST_GPA + o->size);
	t1 = now_ns();
	pf1 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	if ((err = emp_stat(b->ctl, b->name, &s1)))
		die("stat", err);
	vm_check(r, "guest pass over the instance");
	printf("# BENCH {\"bench\":\"vm\",\"test\":\"around\",\"contender\":\"%s\","
	       "\"tier\":\"%s\",\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
	       "\"round\":%u,\"pages\":%llu,\"secs\":%.4f,\"pages_per_s\":%.0f,"
	       "\"kvm_faults\":%lld,",
	       on ? "on" : "off", o->tier, o->block, o->sub, (unsigned long long)o->size,
	       (unsigned long long)o->budget, round, (unsigned long long)npg,
	       (t1 - t0) / 1e9, npg / ((t1 - t0) / 1e9),
	       (long long)(pf0 >= 0 && pf1 >= 0 ? pf1 - pf0 : -1));
	print_stat_delta(&s0, &s1);
	printf("}\n");
}

/* vCPU 0's load while vCPU 1 is measured: passes until told to stop. */
struct vm_load {
	struct vm_bench *b;
	uint64_t lo, hi;
	volatile int stop;
	unsigned int passes;
	int64_t result;
};

static void *vm_load_thread(void *p)
{
	struct vm_load *l = p;

	while (!l->stop) {
		l->result = ekv_run(&l->b->v[0], EKV_CHECK, l->b->seed, l->lo, l->hi);
		if (l->result)
			break;
		l->passes++;
	}
	return NULL;
}

/* vCPU 1's passes over the anonymous memory per second, beside @load
 * ("alone": none; "cpu": vCPU 0 on the same memory; "fetch": vCPU 0 on the
 * cold instance). */
static void vm_side_by_side(struct vm_bench *b, const char *load, unsigned int round)
{
	const struct opts *o = b->o;
	struct vm_load l = { .b = b };
	struct emp_stat s0, s1;
	unsigned int passes = 0;
	uint64_t t0, t1, end;
	pthread_t t;
	int err;

	inst_cold(b->ctl, b->name, o->block, o->budget);
	if ((err = emp_stat(b->ctl, b->name, &s0)))
		die("stat", err);
	if (strcmp(load, "alone")) {
		int fetch = !strcmp(load, "fetch");

		l.lo = fetch ? VM_INST_GPA : b->hot_gpa;
		l.hi = l.lo + (fetch ? o->size : VM_HOT_SIZE);
		if ((err = pthread_create(&t, NULL, vm_load_thread, &l)))
			die("pthread_create", err);
		et_msleep(100);		/* let it get going */
	}
	t0 = now_ns();
	end = t0 + (uint64_t)(o->secs * 1e9);
	do {
		vm_check(ekv_run(&b->v[1], EKV_CHECK, b->seed, b->hot_gpa,
				 b->hot_gpa + VM_HOT_SIZE), "vCPU 1's pass");
		passes++;
	} while ((t1 = now_ns()) < end);
	if (strcmp(load, "alone")) {
		l.stop = 1;
		pthread_join(t, NULL);
		vm_check(l.result, "vCPU 0's load");
	}
	if ((err = emp_stat(b->ctl, b->name, &s1)))
		die("stat", err);
	printf("# BENCH {\"bench\":\"vm\",\"test\":\"vcpus\",\"contender\":\"%s\","
	       "\"tier\":\"%s\",\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
	       "\"round\":%u,\"secs\":%.4f,\"passes\":%u,\"passes_per_s\":%.2f,"
	       "\"load_passes\":%u,",
	       load, o->tier, o->block, o->sub, (unsigned long long)o->size,
	       (unsigned long long)o->budget, round, (t1 - t0) / 1e9, passes,
	       passes / ((t1 - t0) / 1e9), l.passes);
	print_stat_delta(&s0, &s1);
	printf("}\n");
}

static int do_vm(const struct opts *o)
{
	struct vm_bench b = { .name = "bench-vm", .o = o, .seed = 0x5eedbe7c };
	const char *why;
	char was[8] = "Y";
	int err;

	if (o->size > 1024 * MIB)
		die("--size: at most 1024 MiB (32-bit guest)", EINVAL);
	if (et_read_file(FAULT_AROUND_PARAM, was, sizeof(was)))
		die("read " FAULT_AROUND_PARAM " (emp.ko without fault-around?)", ENOENT);
	b.ctl = inst_up(b.name, o, o->block, o->sub, o->size, o->budget, &b.inst, &b.fd);
	b.hot_gpa = VM_INST_GPA + o->size;
	b.code = mmap(NULL, VM_CODE_SIZE + VM_HOT_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b.code == MAP_FAILED)
		die("mmap", errno);
	b.hot = b.code + VM_CODE_SIZE;
	memcpy(b.code, ekv_guest, ekv_guest_end - ekv_guest);
	ekv_host_fill(b.inst, VM_INST_GPA, o->size, b.seed);
	ekv_host_fill(b.hot, b.hot_gpa, VM_HOT_SIZE, b.seed);

	if ((err = ekv_vm_open(&b.kvm, &b.vmfd, &why)))
		die(why, err);
	if ((err = ekv_slot(b.vmfd, 0, 0, VM_CODE_SIZE, b.code)) ||
	    (err = ekv_slot(b.vmfd, 1, VM_INST_GPA, o->size, b.inst)) ||
	    (err = ekv_slot(b.vmfd, 2, b.hot_gpa, VM_HOT_SIZE, b.hot)))
		die("KVM_SET_USER_MEMORY_REGION", err);
	for (int i = 0; i < 2; i++)
		if ((err = ekv_vcpu_new(b.kvm, b.vmfd, i, &b.v[i])))
			die("KVM_CREATE_VCPU", err);

	for (unsigned int r = 0; r < o->n; r++) {
		vm_around_pass(&b, 1, r);
		vm_around_pass(&b, 0, r);
	}
	if ((err = et_write_file(FAULT_AROUND_PARAM, was)))
		die("restore " FAULT_AROUND_PARAM, err);
	/* Warm up vCPU 1's memory in KVM's tables first. */
	vm_check(ekv_run(&b.v[1], EKV_CHECK, b.seed, b.hot_gpa, b.hot_gpa + VM_HOT_SIZE),
		 "vCPU 1's first pass");
	for (unsigned int r = 0; r < o->n; r++) {
		vm_side_by_side(&b, "alone", r);
		vm_side_by_side(&b, "cpu", r);
		vm_side_by_side(&b, "fetch", r);
	}

	for (int i = 0; i < 2; i++)
		ekv_vcpu_free(&b.v[i]);
	close(b.vmfd);
	close(b.kvm);
	munmap(b.code, VM_CODE_SIZE + VM_HOT_SIZE);
	inst_unmap(b.ctl, b.name, b.inst, o->size, b.fd);
	close(b.ctl);
	return 0;
}

/* ---- VM mode: 2 MiB blocks mapped whole, on and off ------------------------ */

#define HUGE_MAP_PARAM	"/sys/module/emp/parameters/huge_map"

/* One timed guest check pass over the first @len bytes of the instance. */
static void vmhuge_pass(struct vm_bench *b, const char *test, const char *c,
			unsigned int round, uint64_t len)
{
	const struct opts *o = b->o;
	uint64_t npg = len / ET_PAGE, t0, t1;
	struct emp_stat s0, s1;
	int64_t pf0, pf1, r;
	int err;

	if ((err = emp_stat(b->ctl, b->name, &s0)))
		die("stat", err);
	pf0 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	t0 = now_ns();
	r = ekv_run(&b->v[0], EKV_CHECK, b->seed, VM_INST_GPA, VM_INST_GPA + len);
	t1 = now_ns();
	pf1 = ekv_vcpu_stat(b->v[0].fd, "pf_taken");
	if ((err = emp_stat(b->ctl, b->name, &s1)))
		die("stat", err);
	vm_check(r, "guest pass over the instance");
	if (!test)
		return;
	printf("# BENCH {\"bench\":\"vmhuge\",\"test\":\"%s\",\"contender\":\"%s\","
	       "\"tier\":\"%s\",\"block\":%u,\"subblock\":%u,\"size\":%llu,\"budget\":%llu,"
	       "\"round\":%u,\"pages\":%llu,\"secs\":%.4f,\"pages_per_s\":%.0f,"
	       "\"kvm_faults\":%lld,",
	       test, c, o->tier, o->block, o->sub, (unsigned long long)o->size,
	       (unsigned long long)o->budget, round, (unsigned long long)npg,
	       (t1 - t0) / 1e9, npg / ((t1 - t0) / 1e9),
	       (long long)(pf0 >= 0 && pf1 >= 0 ? pf1 - pf0 : -1));
	print_stat_delta(&s0, &s1);
	printf("}\n");
}

/* Slot 1 (the instance) removed and added again: KVM forgets its mappings. */
static void vmhuge_reslot(struct vm_bench *b, uint64_t len)
{
	int err;

	if ((err = ekv_slot(b->vmfd, 1, VM_INST_GPA, 0, b->inst)) ||
	    (err = ekv_slot(b->vmfd, 1, VM_INST_GPA, len, b->inst)))
		die("KVM_SET_USER_MEMORY_REGION (slot 1 again)", err);
}

/* One contender: a fresh instance made with huge_map @on, its passes. */
static void vmhuge_round(struct vm_bench *b, int on, unsigned int round, const char *was)
{
	const struct opts *o = b->o;
	const char *c = on ? "on" : "off";
	int err;

	if ((err = et_write_file(HUGE_MAP_PARAM, on ? "Y" : "N")))
		die("write " HUGE_MAP_PARAM, err);
	b->ctl = inst_up(b->name, o, o->block, o->sub, o->size, o->budget, &b->inst, &b->fd);
	if ((err = et_write_file(HUGE_MAP_PARAM, was)))
		die("restore " HUGE_MAP_PARAM, err);
	if ((uintptr_t)b->inst % (2 * MIB))
		die("the instance mapping is not 2 MiB aligned", EINVAL);
	ekv_host_fill(b->inst, VM_INST_GPA, o->size, b->seed);
	if ((err = ekv_slot(b->vmfd, 1, VM_INST_GPA, o->size, b->inst)))
		die("KVM_SET_USER_MEMORY_REGION", err);
	inst_cold(b->ctl, b->name, o->block, o->budget);
	vmhuge_pass(b, "cold", c, round, o->size);
	vmhuge_pass(b, NULL, c, round, o->budget);	/* the first budget's worth in */
	for (int i = 0; i < 2; i++) {
		vmhuge_reslot(b, o->size);
		vmhuge_pass(b, "warm", c, round, o->budget);
	}
	if ((err = ekv_slot(b->vmfd, 1, VM_INST_GPA, 0, b->inst)))
		die("KVM_SET_USER_MEMORY_REGION (delete)", err);
	inst_unmap(b->ctl, b->name, b->inst, o->size, b->fd);
	close(b->ctl);
}

static int do_vmhuge(const struct opts *o)
{
	struct vm_bench b = { .name = "bench-vmh", .o = o, .seed = 0x2b10c5ed };
	const char *why;
	char was[8] = "Y";
	int err;

	if (o->block != 2 * MIB)
		die("--block: 2097152 (huge_map applies to 2 MiB blocks)", EINVAL);
	if (o->size > 1024 * MIB || o->budget > o->size)
		die("--size: at most 1024 MiB, and at least the budget", EINVAL);
	if (et_read_file(HUGE_MAP_PARAM, was, sizeof(was)))
		die("read " HUGE_MAP_PARAM " (emp.ko without huge_map?)", ENOENT);
	b.code = mmap(NULL, VM_CODE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b.code == MAP_FAILED)
		die("mmap", errno);
	memcpy(b.code, ekv_guest, ekv_guest_end - ekv_guest);
	if ((err = ekv_vm_open(&b.kvm, &b.vmfd, &why)))
		die(why, err);
	if ((err = ekv_slot(b.vmfd, 0, 0, VM_CODE_SIZE, b.code)))
		die("KVM_SET_USER_MEMORY_REGION", err);
	if ((err = ekv_vcpu_new(b.kvm, b.vmfd, 0, &b.v[0])))
		die("KVM_CREATE_VCPU", err);
	for (unsigned int r = 0; r < o->n; r++) {
		vmhuge_round(&b, 1, r, was);
		vmhuge_round(&b, 0, r, was);
	}
	ekv_vcpu_free(&b.v[0]);
	close(b.vmfd);
	close(b.kvm);
	munmap(b.code, VM_CODE_SIZE);
	return 0;
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
static int do_swap(const struct opts *o)
{
	const char *name = "bench-swap", *c;
	uint64_t ws = o->ws, npg = ws / ET_PAGE, *lat, t0, t1, done = 0, sum = 0;
	uint64_t extra = 0, sw0 = 0, sw1 = 0;
	unsigned int nt = o->threads;
	int emp = !strcmp(o->mode, "emp"), swap = !strcmp(o->mode, "anon");
	long long vm0[NR_VM_KEYS], vm1[NR_VM_KEYS];
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

/* ---- plain TCP 4 KiB round trip ------------------------------------------ */

static int full_io(int s, void *buf, size_t len, int wr)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r = wr ? send(s, (char *)buf + off, len - off, MSG_NOSIGNAL)
			       : recv(s, (char *)buf + off, len - off, 0);
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static int do_pingserve(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	static char page[4096];
	char req[16];

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4))
		die("bind/listen", errno);
	printf("serving\n");
	fflush(stdout);
	for (;;) {
		int s = accept(l, NULL, NULL);

		if (s < 0)
			continue;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (!full_io(s, req, sizeof(req), 0))
			if (full_io(s, page, sizeof(page), 1))
				break;
		close(s);
	}
	return 0;
}

static int do_ping(const char *ip, unsigned int port, unsigned int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = -1, one = 1;
	static char page[4096];
	char req[16] = "GET";
	uint64_t *lat = calloc(n, sizeof(*lat));

	inet_pton(AF_INET, ip, &a.sin_addr);
	for (int i = 0; i < 100; i++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			break;
		close(s);
		s = -1;
		et_msleep(50);
	}
	if (s < 0)
		die("connect", errno);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (unsigned int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		if (full_io(s, req, sizeof(req), 1) || full_io(s, page, sizeof(page), 0))
			die("ping", errno);
		lat[i] = now_ns() - t0;
	}
	close(s);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("# BENCH {\"bench\":\"fault\",\"contender\":\"tcp-pingpong\",\"tier\":\"tcp\","
	       "\"addr\":\"%s\",\"n\":%u,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}\n",
	       ip, n, pct_us(lat, n, 50), pct_us(lat, n, 99), mean_us(lat, n));
	free(lat);
	return 0;
}

/* ---- options -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct opts o = {
		.tier = "bdev", .addr = "127.0.0.1", .mode = "emp", .dist = "uniform",
		.cgroup = "/sys/fs/cgroup/bench", .port = 0, .block = 4096, .sub = 4096,
		.n = 2000, .size = 64 * MIB, .budget = 16 * MIB, .ws = 128 * MIB,
		.local = 64 * MIB, .secs = 10, .threads = 1, .page_cluster = -1,
	};
	const char *cmd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: see the comment at the top of emp_bench.c\n");
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "pingserve") && argc == 3)
		return do_pingserve((unsigned int)atoi(argv[2]));
	if (!strcmp(cmd, "ping") && argc == 5)
		return do_ping(argv[2], (unsigned int)atoi(argv[3]), (unsigned int)atoi(argv[4]));
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--tier")) o.tier = v;
		else if (!strcmp(k, "--addr")) o.addr = v;
		else if (!strcmp(k, "--port")) o.port = (unsigned int)atoi(v);
		else if (!strcmp(k, "--secret")) o.secret = v;
		else if (!strcmp(k, "--label")) o.label = v;
		else if (!strcmp(k, "--size")) o.size = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--budget")) o.budget = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--n") || !strcmp(k, "--ops")) o.n = (unsigned int)atoi(v);
		else if (!strcmp(k, "--block")) o.block = (unsigned int)strtoul(v, NULL, 0);
		else if (!strcmp(k, "--sub")) o.sub = (unsigned int)strtoul(v, NULL, 0);
		else if (!strcmp(k, "--secs")) o.secs = atof(v);
		else if (!strcmp(k, "--mode")) o.mode = v;
		else if (!strcmp(k, "--dist")) o.dist = v;
		else if (!strcmp(k, "--ws")) o.ws = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--local")) o.local = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--cgroup")) o.cgroup = v;
		else if (!strcmp(k, "--full")) o.full = strtoull(v, NULL, 0) * MIB;
		else if (!strcmp(k, "--threads")) o.threads = (unsigned int)atoi(v);
		else if (!strcmp(k, "--page-cluster")) o.page_cluster = atoi(v);
		else {
			fprintf(stderr, "emp_bench: unknown option %s\n", k);
			return 2;
		}
	}
	if (!strcmp(cmd, "fault"))
		return do_fault(&o);
	if (!strcmp(cmd, "tput"))
		return do_tput(&o);
	if (!strcmp(cmd, "swap"))
		return do_swap(&o);
	if (!strcmp(cmd, "around"))
		return do_around(&o);
	if (!strcmp(cmd, "vm"))
		return do_vm(&o);
	if (!strcmp(cmd, "vmhuge"))
		return do_vmhuge(&o);
	fprintf(stderr, "emp_bench: unknown mode %s\n", cmd);
	return 2;
}
