// SPDX-License-Identifier: GPL-2.0
/*
 * emp_phase_load: a workload whose working set changes by phases, for the
 * balancer's guest test (selftests/guest/empd.sh).
 *
 * Usage: emp_phase_load NAME PHASE...
 *   PHASE is SECS:MIB[@OFF]: for SECS seconds, read and rewrite random
 *   pages of the MIB MiB window starting OFF MiB into instance NAME (a
 *   working set of MIB MiB); MIB 0 sleeps (an idle phase).
 * Every page read is checked against the version last written to it
 * (zero before its first write; the page pattern of selftests/lib/
 * emp_test.h), and at the end every page written is read back once more.
 * One line per phase on standard output; a wrong word prints where it was
 * and the program exits 1 (2 for bad usage).
 */
#include "lib/emp_test.h"

struct phase {
	double secs;
	uint64_t first, pages;	/* window, in pages */
};

static int parse_phase(const char *s, uint64_t pages, struct phase *p)
{
	unsigned long long mib, off = 0;
	char *end;

	p->secs = strtod(s, &end);
	if (end == s || *end != ':' || !(p->secs > 0))
		return -1;
	mib = strtoull(end + 1, &end, 10);
	if (*end == '@')
		off = strtoull(end + 1, &end, 10);
	if (*end)
		return -1;
	p->first = off * ET_MIB / ET_PAGE;
	p->pages = mib * ET_MIB / ET_PAGE;
	return p->first + p->pages <= pages ? 0 : -1;
}

static int check(const uint8_t *map, const uint16_t *ver, uint64_t pg)
{
	int bad = ver[pg] ? et_check_page(map + pg * ET_PAGE, pg, ver[pg]) :
		et_check_zero(map + pg * ET_PAGE);

	if (bad >= 0)
		fprintf(stderr, "emp_phase_load: page %llu word %d is %#llx, want %#llx\n",
			(unsigned long long)pg, bad,
			(unsigned long long)((const uint64_t *)(map + pg * ET_PAGE))[bad],
			ver[pg] ? (unsigned long long)et_word(pg, ver[pg], (uint32_t)bad) : 0ULL);
	return bad;
}

int main(int argc, char **argv)
{
	uint64_t pages, pg, n, rnd = et_seed(), written = 0;
	struct phase *ph;
	uint8_t *map;
	uint16_t *ver;
	off_t size;
	double t0;
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: emp_phase_load NAME SECS:MIB[@OFF]...\n");
		return 2;
	}
	fd = et_open_node(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "emp_phase_load: /dev/emp-%s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	size = lseek(fd, 0, SEEK_END);
	pages = size > 0 ? (uint64_t)size / ET_PAGE : 0;
	ph = calloc((size_t)argc, sizeof(*ph));
	ver = calloc(pages ? pages : 1, sizeof(*ver));
	if (!ph || !ver)
		return 1;
	for (i = 2; i < argc; i++)
		if (parse_phase(argv[i], pages, &ph[i])) {
			fprintf(stderr, "emp_phase_load: bad phase '%s' (SECS:MIB[@OFF] inside %llu "
				"MiB)\n", argv[i], (unsigned long long)(pages * ET_PAGE / ET_MIB));
			return 2;
		}
	map = et_map(fd, (size_t)size, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "emp_phase_load: cannot map /dev/emp-%s\n", argv[1]);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		t0 = et_now();
		n = 0;
		if (!ph[i].pages) {
			while (et_now() - t0 < ph[i].secs)
				et_msleep(100);
		}
		while (ph[i].pages && et_now() - t0 < ph[i].secs) {
			uint64_t k;

			for (k = 0; k < 64; k++, n++) {
				pg = ph[i].first + (et_rand(&rnd) >> 8) % ph[i].pages;
				if (check(map, ver, pg) >= 0)
					return 1;
				if (!ver[pg])
					written++;
				ver[pg] = ver[pg] % 0x7ffe + 1;
				et_fill_page(map + pg * ET_PAGE, pg, ver[pg]);
			}
		}
		printf("emp_phase_load: %s phase %d: %llu MiB at %llu MiB for %.0f s, %llu accesses\n",
		       argv[1], i - 1, (unsigned long long)(ph[i].pages * ET_PAGE / ET_MIB),
		       (unsigned long long)(ph[i].first * ET_PAGE / ET_MIB), ph[i].secs,
		       (unsigned long long)n);
		fflush(stdout);
	}
	for (pg = 0; pg < pages; pg++)
		if (ver[pg] && check(map, ver, pg) >= 0)
			return 1;
	printf("emp_phase_load: %s: all %llu pages written read back right: ok\n", argv[1],
	       (unsigned long long)written);
	return 0;
}
