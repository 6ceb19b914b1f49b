// SPDX-License-Identifier: GPL-2.0
/*
 * emp_demo_load: the workload of `make demo` (selftests/guest/demo.sh).
 *
 * It maps instance NAME whole and writes every page once (the page pattern
 * of selftests/lib/emp_test.h, version 1), then for SECS seconds reads and
 * rewrites random pages: three accesses in four go to a hot window of HOT
 * MiB that moves on through the instance every 3 seconds, the others to
 * any page. Every page read is checked against the version last written to
 * it, and every other one is then written with the next version. At the
 * end every page of the instance is read back and checked (a full-pattern
 * check). One line per phase on standard output; a wrong word prints where
 * it was and the program exits 1.
 *
 * Usage: emp_demo_load NAME SECS [HOT_MIB]   (HOT_MIB default 4)
 */
#include "lib/emp_test.h"

#define HOT_MOVE_SECS	3

/* Whether page @pg differs from version @ver; says where. */
static int wrong(uint8_t *map, uint64_t pg, uint16_t ver)
{
	int bad = et_check_page(map + pg * ET_PAGE, pg, ver);

	if (bad < 0)
		return 0;
	fprintf(stderr, "emp_demo_load: page %llu word %d is %#llx, want %#llx\n",
		(unsigned long long)pg, bad,
		(unsigned long long)((uint64_t *)(map + pg * ET_PAGE))[bad],
		(unsigned long long)et_word(pg, ver, (uint32_t)bad));
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t pages, hot, pg, n = 0, rnd = et_seed();
	double secs, t0, t1, now;
	struct et_inst in = { 0 };
	uint16_t *ver;
	off_t size;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: emp_demo_load NAME SECS [HOT_MIB]\n");
		return 2;
	}
	secs = atof(argv[2]);
	hot = (argc > 3 ? strtoull(argv[3], NULL, 0) : 4) * ET_MIB / ET_PAGE;
	in.fd = et_open_node(argv[1], O_RDWR);
	if (in.fd < 0) {
		fprintf(stderr, "emp_demo_load: /dev/emp-%s: %s\n", argv[1], strerror(-in.fd));
		return 1;
	}
	size = lseek(in.fd, 0, SEEK_END);
	pages = size > 0 ? (uint64_t)size / ET_PAGE : 0;
	in.map = pages ? et_map(in.fd, (size_t)size, 0) : MAP_FAILED;
	ver = calloc(pages ? pages : 1, sizeof(*ver));
	if (in.map == MAP_FAILED || !ver) {
		fprintf(stderr, "emp_demo_load: cannot map /dev/emp-%s (%lld bytes)\n", argv[1],
			(long long)size);
		return 1;
	}
	if (!hot || hot > pages)
		hot = pages;

	t0 = et_now();
	for (pg = 0; pg < pages; pg++) {
		et_fill_page(in.map + pg * ET_PAGE, pg, 1);
		ver[pg] = 1;
	}
	t1 = et_now();
	printf("emp_demo_load: wrote all %llu MiB of %s in %.1f s\n",
	       (unsigned long long)(pages * ET_PAGE / ET_MIB), argv[1], t1 - t0);
	fflush(stdout);

	for (now = t1; now - t1 < secs; n++) {
		uint64_t r = et_rand(&rnd);

		if (r % 4) {
			uint64_t start = (uint64_t)((now - t1) / HOT_MOVE_SECS) * hot;

			pg = (start + (r >> 8) % hot) % pages;
		} else {
			pg = (r >> 8) % pages;
		}
		if (wrong(in.map, pg, ver[pg]))
			return 1;
		if (n & 1) {
			ver[pg] = ver[pg] % 0x7ffe + 1;
			et_fill_page(in.map + pg * ET_PAGE, pg, ver[pg]);
		}
		if (!(n & 63))
			now = et_now();
	}
	now = et_now();
	printf("emp_demo_load: %llu random accesses in %.1f s (%.0f/s), %llu MiB hot window, "
	       "every page read was right\n", (unsigned long long)n, now - t1, n / (now - t1),
	       (unsigned long long)(hot * ET_PAGE / ET_MIB));
	fflush(stdout);
	t0 = et_now();
	for (pg = 0; pg < pages; pg++)
		if (wrong(in.map, pg, ver[pg]))
			return 1;
	printf("emp_demo_load: all %llu pages read back right in %.1f s: ok\n",
	       (unsigned long long)pages, et_now() - t0);
	return 0;
}
