// SPDX-License-Identifier: GPL-2.0
/*
 * heap_churn: an ordinary memory-heavy program, knowing nothing of EMP, for
 * the preload tests (selftests/guest/preload_heap.sh): it runs unmodified
 * under LD_PRELOAD=libemp-preload.so.
 *
 * It builds MIB mebibytes of live heap in small records (malloc, strdup)
 * and large buffers (malloc, calloc, realloc), checks every byte it wrote,
 * sorts an index of the records with qsort, checks a sample in key order
 * (scattered reads) and replaces it (scattered frees), sorts the index by
 * address and checks everything again, frees everything and prints one line
 * ending in "ok". Any wrong byte prints what and where, and exits 1. The
 * scattered part is a sample so that the program stays quick when its heap
 * is paged from a slow tier in an emulated guest.
 *
 * With -t N, N threads each build and check their share of records, and
 * the main thread checks and frees them all (frees across threads).
 *
 * Usage: heap_churn [-t THREADS] [MIB]   (default 64)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE	(256U << 10)

struct rec {
	uint64_t key;
	char *text;		/* strdup'ed: a second allocation per record */
	uint32_t len;
	unsigned char body[];	/* len bytes derived from key */
};

struct idx {
	uint64_t key;
	struct rec *r;
};

static __thread uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The byte at @i of the content derived from @seed. */
static unsigned char byte_of(uint64_t seed, size_t i)
{
	uint64_t x = seed + i * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (unsigned char)(x >> 56);
}

static struct rec *rec_new(uint64_t key)
{
	uint32_t len = 32 + (uint32_t)(key % 160);
	struct rec *r = malloc(sizeof(*r) + len);
	char text[32];

	if (!r)
		return NULL;
	r->key = key;
	r->len = len;
	for (uint32_t i = 0; i < len; i++)
		r->body[i] = byte_of(key, i);
	snprintf(text, sizeof(text), "k%016llx", (unsigned long long)key);
	r->text = strdup(text);
	if (!r->text) {
		free(r);
		return NULL;
	}
	return r;
}

static int rec_check(const struct rec *r)
{
	char text[32];

	snprintf(text, sizeof(text), "k%016llx", (unsigned long long)r->key);
	if (strcmp(text, r->text)) {
		fprintf(stderr, "heap_churn: record %p: text '%s', want '%s'\n", (void *)r, r->text, text);
		return -1;
	}
	for (uint32_t i = 0; i < r->len; i++) {
		if (r->body[i] != byte_of(r->key, i)) {
			fprintf(stderr, "heap_churn: record %p key %llx: byte %u is %02x, want %02x\n",
				(void *)r, (unsigned long long)r->key, i, r->body[i], byte_of(r->key, i));
			return -1;
		}
	}
	return 0;
}

static void rec_free(struct rec *r)
{
	free(r->text);
	free(r);
}

static int by_key(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static int by_addr(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	return (uintptr_t)x->r < (uintptr_t)y->r ? -1 : (uintptr_t)x->r > (uintptr_t)y->r;
}

/* Every SAMPLE-th record in key order is checked and replaced. */
#define SAMPLE	32

static int buf_check(const unsigned char *b, size_t len, uint64_t seed, size_t n)
{
	for (size_t i = 0; i < len; i += 61) {
		if (b[i] != byte_of(seed, i)) {
			fprintf(stderr, "heap_churn: buffer %zu byte %zu is %02x, want %02x\n",
				n, i, b[i], byte_of(seed, i));
			return -1;
		}
	}
	return 0;
}

struct worker {
	pthread_t tid;
	uint64_t seed;
	size_t nrec;
	struct idx *idx;	/* allocated by the worker, freed by main */
	int ret;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	size_t i;

	rng_state = w->seed;
	w->ret = 1;
	w->idx = malloc(w->nrec * sizeof(*w->idx));
	if (!w->idx) {
		w->nrec = 0;
		return NULL;
	}
	for (i = 0; i < w->nrec; i++) {
		w->idx[i].key = rng();
		w->idx[i].r = rec_new(w->idx[i].key);
		if (!w->idx[i].r) {
			w->nrec = i;
			return NULL;
		}
	}
	/* In allocation order: each thread's heap is its own part of memory. */
	for (i = 0; i < w->nrec; i++)
		if (rec_check(w->idx[i].r))
			return NULL;
	w->ret = 0;
	return NULL;
}

static int threaded(size_t mib, unsigned int n)
{
	struct worker *w = calloc(n, sizeof(*w));
	size_t total = 0, i;
	unsigned int t;
	int ret = 0;

	if (!w)
		return 1;
	for (t = 0; t < n; t++) {
		w[t].seed = 0x9e3779b97f4a7c15ULL * (t + 1);
		w[t].nrec = mib * (1U << 20) / 160 / n;
		if (pthread_create(&w[t].tid, NULL, worker_run, &w[t])) {
			fprintf(stderr, "heap_churn: cannot start thread %u\n", t);
			return 1;
		}
	}
	for (t = 0; t < n; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].ret) {
			fprintf(stderr, "heap_churn: thread %u failed\n", t);
			ret = 1;
		}
	}
	/* The records once more from here, then freed by a thread that did not make them. */
	for (t = 0; t < n; t++) {
		for (i = 0; i < w[t].nrec; i++) {
			if (!ret && rec_check(w[t].idx[i].r))
				ret = 1;
			rec_free(w[t].idx[i].r);
		}
		total += w[t].nrec;
		free(w[t].idx);
	}
	free(w);
	if (!ret)
		printf("heap_churn: %zu MiB in %zu records made by %u threads: ok\n", mib, total, n);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int threads = 0;
	size_t mib;

	if (argc > 2 && !strcmp(argv[1], "-t")) {
		threads = (unsigned int)strtoul(argv[2], NULL, 10);
		if (threads < 1 || threads > 64) {
			fprintf(stderr, "heap_churn: -t wants 1..64 threads\n");
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t nbuf, nrec, i;
	unsigned char **bufs;
	struct idx *idx;
	uint64_t sum = 0;

	if (!mib || mib > 65536) {
		fprintf(stderr, "usage: heap_churn [-t THREADS] [MIB]   (1..65536, default 64)\n");
		return 2;
	}
	if (threads)
		return threaded(mib, threads);
	/* Half of the heap in 256 KiB buffers, half in records of ~150 bytes. */
	nbuf = mib * (1U << 20) / 2 / BUF_SIZE;
	nrec = mib * (1U << 20) / 2 / 160;
	bufs = calloc(nbuf ? nbuf : 1, sizeof(*bufs));
	idx = malloc(nrec * sizeof(*idx));
	if (!bufs || !idx)
		goto out_nomem;

	for (i = 0; i < nbuf; i++) {
		/* Half grow from 128 KiB with realloc, half start zeroed. */
		if (i & 1) {
			bufs[i] = malloc(BUF_SIZE / 2);
			if (!bufs[i])
				goto out_nomem;
			memset(bufs[i], 0xa5, BUF_SIZE / 2);
			unsigned char *p = realloc(bufs[i], BUF_SIZE);

			if (!p)
				goto out_nomem;
			bufs[i] = p;
			for (size_t j = 0; j < BUF_SIZE / 2; j += 4096)
				if (p[j] != 0xa5) {
					fprintf(stderr, "heap_churn: realloc lost byte %zu of buffer %zu\n", j, i);
					return 1;
				}
		} else {
			bufs[i] = calloc(1, BUF_SIZE);
			if (!bufs[i])
				goto out_nomem;
			for (size_t j = 0; j < BUF_SIZE; j += 4096)
				if (bufs[i][j]) {
					fprintf(stderr, "heap_churn: calloc gave a nonzero byte %zu\n", j);
					return 1;
				}
		}
		for (size_t j = 0; j < BUF_SIZE; j++)
			bufs[i][j] = byte_of(i, j);
	}
	for (i = 0; i < nrec; i++) {
		idx[i].key = rng();
		idx[i].r = rec_new(idx[i].key);
		if (!idx[i].r)
			goto out_nomem;
	}

	/* Every record in allocation order, every buffer. */
	for (i = 0; i < nrec; i++) {
		if (idx[i].r->key != idx[i].key || rec_check(idx[i].r))
			return 1;
		sum += idx[i].key;
	}
	for (i = 0; i < nbuf; i++)
		if (buf_check(bufs[i], BUF_SIZE, i, i))
			return 1;

	/* Sort the index (the records stay where they are), check the order. */
	qsort(idx, nrec, sizeof(*idx), by_key);
	for (i = 1; i < nrec; i++)
		if (idx[i - 1].key > idx[i].key) {
			fprintf(stderr, "heap_churn: qsort left %zu out of order\n", i);
			return 1;
		}
	/* A sample in key order: scattered reads, frees and new records. */
	for (i = 0; i < nrec; i += SAMPLE) {
		if (rec_check(idx[i].r))
			return 1;
		sum -= idx[i].key;
		rec_free(idx[i].r);
		idx[i].key = rng();
		idx[i].r = rec_new(idx[i].key);
		if (!idx[i].r)
			goto out_nomem;
		sum += idx[i].key;
	}
	/* Everything once more, in address order. */
	qsort(idx, nrec, sizeof(*idx), by_addr);
	for (i = 0; i < nrec; i++) {
		if (idx[i].r->key != idx[i].key || rec_check(idx[i].r))
			return 1;
		sum -= idx[i].key;
	}
	if (sum) {
		fprintf(stderr, "heap_churn: key sum off by %llu\n", (unsigned long long)sum);
		return 1;
	}
	for (i = 0; i < nbuf; i++)
		if (buf_check(bufs[i], BUF_SIZE, i, i))
			return 1;

	for (i = 0; i < nrec; i++)
		rec_free(idx[i].r);
	for (i = 0; i < nbuf; i++)
		free(bufs[i]);
	free(idx);
	free(bufs);
	printf("heap_churn: %zu MiB in %zu records and %zu buffers: ok\n", mib, nrec, nbuf);
	return 0;

out_nomem:
	fprintf(stderr, "heap_churn: out of memory\n");
	return 1;
}
