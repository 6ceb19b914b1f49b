// SPDX-License-Identifier: GPL-2.0
/*
 * empctl: the EMP configurator. Talks to emp.ko through /dev/emp.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libemp.h"

#define EMPCTL_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: empctl [-h|--help] [-V|--version] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  info [--json]   show the loaded emp.ko: versions, features, limits\n"
		"\n"
		"Environment:\n"
		"  EMP_CTL_PATH    control device to use (default " EMP_CTL_PATH_DEFAULT ")\n"
		"\n"
		"Exit status: 0 on success, 1 on failure, 2 on bad usage.\n");
}

static void info_usage(FILE *f)
{
	fprintf(f,
		"Usage: empctl info [--json]\n"
		"Show the ABI and module version, features and geometry limits of the\n"
		"loaded emp.ko, and how many instances exist.\n"
		"  -j, --json   print one JSON object instead of text\n");
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char ver[32], b[4][32];
	struct emp_info in;
	int json = 0, c, fd, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': info_usage(stdout); return 0;
		default:  info_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "empctl info: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	fd = emp_ctl_open();
	if (fd < 0) {
		fprintf(stderr, "empctl: cannot open %s: %s (is emp.ko loaded?)\n",
			getenv("EMP_CTL_PATH") ? getenv("EMP_CTL_PATH") : EMP_CTL_PATH_DEFAULT,
			strerror(-fd));
		return 1;
	}
	err = emp_get_info(fd, &in);
	close(fd);
	if (err) {
		fprintf(stderr, "empctl: EMP_IOC_INFO failed: %s\n", strerror(-err));
		return 1;
	}
	emp_format_version(in.version, ver, sizeof(ver));
	if (in.abi_version != EMP_ABI_VERSION)
		fprintf(stderr, "empctl: warning: module ABI %u, empctl built for ABI %u\n",
			in.abi_version, EMP_ABI_VERSION);
	if (json) {
		printf("{\"abi_version\":%u,\"version\":\"%s\",\"features\":%llu,"
		       "\"page_size\":%u,\"instances\":%u,\"block_size\":{\"min\":%u,\"max\":%u},"
		       "\"subblock_size\":{\"min\":%u,\"max\":%u}}\n",
		       in.abi_version, ver, (unsigned long long)in.features, in.page_size,
		       in.nr_instances, in.min_block_size, in.max_block_size,
		       in.min_subblock_size, in.max_subblock_size);
		return 0;
	}
	printf("emp.ko version %s, ABI %u (empctl %s, ABI %u)\n", ver, in.abi_version,
	       EMPCTL_VERSION, EMP_ABI_VERSION);
	printf("features:   0x%llx\n", (unsigned long long)in.features);
	printf("page size:  %s\n", emp_format_size(in.page_size, b[0], sizeof(b[0])));
	printf("block:      %s..%s\n", emp_format_size(in.min_block_size, b[0], sizeof(b[0])),
	       emp_format_size(in.max_block_size, b[1], sizeof(b[1])));
	printf("subblock:   %s..%s\n", emp_format_size(in.min_subblock_size, b[2], sizeof(b[2])),
	       emp_format_size(in.max_subblock_size, b[3], sizeof(b[3])));
	printf("instances:  %u\n", in.nr_instances);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("empctl %s (ABI %d)\n", EMPCTL_VERSION, EMP_ABI_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	fprintf(stderr, "empctl: unknown command '%s' (see empctl --help)\n", argv[1]);
	return 2;
}
