// SPDX-License-Identifier: GPL-2.0
/*
 * emp_bench: the guest side of `make bench` (scripts/bench.sh, docs/bench.md).
 * Every mode prints one JSON object per result on stdout, on a line of its
 * own starting with "# BENCH " (a TAP comment); the guest driver (selftests/guest/bench_emp.sh)
 * forwards them to the host. Nothing here passes or fails on speed.
 *
 *   emp_bench fault  --tier bdev|tcp|rdma|node [--addr IP --port P --secret S --node N]
 *                    [--replica-port P2]
 *                    [--size MiB --budget MiB --n N --label L --full MiB --threads T]
 *       First the instance is written whole (time to the last writeback: a
 *       "write" result, MiB/s); with --replica-port every byte is on a
 *       second donor too (EMP_TIER_F_REPLICA: the cost of replication).
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
 *   emp_bench pool   [--prep] --names A+B+C --phases WS/WS/WS+... [--secs X ...]
 *       several instances under one DRAM pool, a thread each, through
 *       phased working sets (bench_pool.c has its options).
 *   emp_bench pingserve PORT | emp_bench ping IP PORT N
 *       plain TCP round trip: 16-byte request, 4096-byte answer.
 * The swap mode is in bench_swap.c, the VM modes in bench_vm.c, the pool
 * mode in bench_pool.c; bench.h has what they share with this file.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include "bench.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile @p (0..100) of @n sorted values, in microseconds. */
double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

double mean_us(const uint64_t *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / n / 1000.0 : 0;
}

void die(const char *what, int err)
{
	fprintf(stderr, "emp_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* ---- instances with any one tier --------------------------------------- */

static int inst_create(int ctl, const char *name, const struct opts *o,
		       uint32_t block, uint32_t sub, uint64_t size, uint64_t budget)
{
	struct emp_create c;
	struct emp_tier t[2];

	memset(&c, 0, sizeof(c));
	memset(t, 0, sizeof(t));
	emp_set_name(c.name, name);
	c.inst_size = size;
	c.block_size = block;
	c.subblock_size = sub;
	c.dram_budget = budget;
	t[0].size = size;
	if (!strcmp(o->tier, "bdev")) {
		t[0].kind = EMP_TIER_BDEV;
		snprintf(t[0].path, sizeof(t[0].path), "%s", et_dev());
	} else if (!strcmp(o->tier, "node")) {
		t[0].kind = EMP_TIER_NODE;
		t[0].node = (uint16_t)o->node;
	} else {
		t[0].kind = !strcmp(o->tier, "rdma") ? EMP_TIER_RDMA : EMP_TIER_TCP;
		t[0].port = (uint16_t)o->port;
		snprintf(t[0].path, sizeof(t[0].path), "%s", o->addr);
		if (o->secret) {
			t[0].secret_len = (uint32_t)strlen(o->secret);
			memcpy(t[0].secret, o->secret, t[0].secret_len);
		}
		/* --replica-port: every byte on a second donor too. */
		t[1] = t[0];
		t[1].port = (uint16_t)o->replica_port;
		t[1].flags = EMP_TIER_F_REPLICA;
	}
	(void)emp_destroy(ctl, name);
	return emp_create(ctl, &c, t, o->replica_port ? 2 : 1);
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
int inst_up(const char *name, const struct opts *o, uint32_t block, uint32_t sub,
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

void inst_unmap(int ctl, const char *name, uint8_t *m, uint64_t size, int fd)
{
	munmap(m, size);
	close(fd);
	if (emp_destroy(ctl, name))
		fprintf(stderr, "emp_bench: destroy %s failed\n", name);
}

/* Evict everything (writing dirty data back), then restore the budget. */
void inst_cold(int ctl, const char *name, uint32_t block, uint64_t budget)
{
	int err = emp_resize(ctl, name, 2ULL * block);

	if (err)
		die("resize down", err);
	err = emp_resize(ctl, name, budget);
	if (err)
		die("resize up", err);
}

void populate(uint8_t *m, uint64_t size)
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
void print_stat_delta(const struct emp_stat *a, const struct emp_stat *b)
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


/*
 * With EMP_PERF_CTL naming the control FIFO of a "perf record -D -1
 * --control fifo:PATH" (bench_emp.sh's profile part), switch perf's
 * sampling on and off around the timed faults, so the profile covers them
 * and not the set-up.
 */
static void perf_ctl(const char *cmd)
{
	const char *path = getenv("EMP_PERF_CTL");
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, cmd, strlen(cmd)) < 0 || write(fd, "\n", 1) < 0)
		fprintf(stderr, "emp_bench: perf control %s: %s\n", path, strerror(errno));
	close(fd);
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
	uint64_t *lat = calloc(n ? n : 1, sizeof(*lat)), t0, t1, b0, a0, b1, a1;
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
	et_cpu_jiffies(&b0, &a0);
	perf_ctl("enable");
	pthread_barrier_wait(&go);
	t0 = now_ns();
	for (unsigned int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		bad += a[t].bad;
	}
	t1 = now_ns();
	perf_ctl("disable");
	et_cpu_jiffies(&b1, &a1);
	if ((err = emp_stat(ctl, name, &s1)))
		die("stat", err);
	pthread_barrier_destroy(&go);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("# BENCH {\"bench\":\"fault\",\"contender\":\"emp\",\"tier\":\"%s\","
	       "\"mode\":\"%s\",\"threads\":%u,\"block\":4096,\"subblock\":4096,"
	       "\"size\":%llu,\"budget\":%llu,\"resident_before\":%llu,\"n\":%u,"
	       "\"secs\":%.4f,\"faults_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
	       "\"mean_us\":%.1f,\"cpu_busy\":%.2f,\"wrong_data\":%u,",
	       o->label ? o->label : o->tier, mode, nthreads, (unsigned long long)o->size,
	       (unsigned long long)budget, (unsigned long long)s0.resident, n,
	       (t1 - t0) / 1e9, n / ((t1 - t0) / 1e9), pct_us(lat, n, 50), pct_us(lat, n, 99),
	       mean_us(lat, n), a1 > a0 ? (double)(b1 - b0) / (a1 - a0) : 0.0, bad);
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
	uint64_t t0;
	uint8_t *m;
	int ctl, fd, err;

	if (n > budget / ET_PAGE - 4)
		n = (unsigned int)(budget / ET_PAGE - 4);
	if (n > npg)
		n = (unsigned int)npg;
	ctl = inst_up(name, o, 4096, 4096, size, budget, &m, &fd);
	/* Writing it all, from the first store to the last writeback. */
	t0 = now_ns();
	populate(m, size);
	inst_cold(ctl, name, 4096, budget);
	t0 = now_ns() - t0;
	printf("# BENCH {\"bench\":\"write\",\"tier\":\"%s\",\"size\":%llu,\"budget\":%llu,"
	       "\"secs\":%.4f,\"mib_s\":%.1f}\n", o->label ? o->label : o->tier,
	       (unsigned long long)size, (unsigned long long)budget, t0 / 1e9,
	       size / 1048576.0 / (t0 / 1e9));
	fflush(stdout);
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
		.local = 64 * MIB, .secs = 10, .threads = 1, .page_cluster = -1, .node = 1,
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
	if (!strcmp(cmd, "pool"))
		return do_pool(argc - 2, argv + 2);
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--tier")) o.tier = v;
		else if (!strcmp(k, "--addr")) o.addr = v;
		else if (!strcmp(k, "--port")) o.port = (unsigned int)atoi(v);
		else if (!strcmp(k, "--replica-port")) o.replica_port = (unsigned int)atoi(v);
		else if (!strcmp(k, "--secret")) o.secret = v;
		else if (!strcmp(k, "--node")) o.node = (unsigned int)atoi(v);
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
