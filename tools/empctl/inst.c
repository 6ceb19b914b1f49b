// SPDX-License-Identifier: GPL-2.0
/* empctl create, destroy, resize: the commands that change instances. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "empctl.h"

#define MIB	(1ULL << 20)

/* A geometry option: bare bytes, nonzero, fits 32 bits. */
static int opt_geom(const char *opt, const char *arg, uint32_t *out)
{
	uint64_t v;
	int ret = opt_size("create", opt, arg, 1, &v);

	if (ret)
		return ret;
	if (!v)
		return usage_error("create", "%s must not be zero", opt);
	if (v > UINT32_MAX)
		return usage_error("create", "%s '%s' is too large", opt, arg);
	*out = (uint32_t)v;
	return 0;
}

/* Whether the module announces DRAM-only instances (older ones refuse nr_tiers 0). */
static int dram_only_supported(int fd)
{
	struct emp_info in;

	return !emp_get_info(fd, &in) && (in.features & EMP_FEAT_DRAM_ONLY);
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spec",     required_argument, NULL, 's' },
		{ "size",     required_argument, NULL, 'S' },
		{ "block",    required_argument, NULL, 'b' },
		{ "subblock", required_argument, NULL, 'u' },
		{ "secret-file", required_argument, NULL, 'k' },
		{ "json",     no_argument,       NULL, 'j' },
		{ "etcd",     required_argument, NULL, 'E' },
		{ "cluster-host", required_argument, NULL, 'H' },
		{ "help",     no_argument,       NULL, 'h' },
		{ 0 }
	};
	char err[EMP_SPEC_ERR_MAX + 256], b[4][32], dev[64];
	char text[EMP_MAX_TIERS * (EMP_PATH_MAX + 64)];
	char where[32];
	const char *spec = NULL, *name, *secret_file = NULL;
	uint8_t secret[EMP_SECRET_MAX];
	uint32_t block = 0, sub = 0;
	uint64_t size = 0;
	struct emp_create c;
	struct emp_stat st;
	struct emp_spec s;
	struct emp_cluster cl;
	int json = 0, ch, fd, ret, placed = 0;

	cluster_defaults(&cl);
	optind = 1;
	while ((ch = cmd_getopt("create", argc, argv, "s:S:b:u:k:jE:H:h", opts)) != -1) {
		switch (ch) {
		case 'E':
		case 'H':
			ret = cluster_opts("create", ch, optarg, &cl);
			if (ret)
				return ret;
			break;
		case 'k':
			secret_file = optarg;
			break;
		case 's':
			spec = optarg;
			break;
		case 'S':
			ret = opt_size("create", "--size", optarg, MIB, &size);
			if (ret)
				return ret;
			if (!size)
				return usage_error("create", "--size must not be zero");
			break;
		case 'b':
			ret = opt_geom("--block", optarg, &block);
			if (ret)
				return ret;
			break;
		case 'u':
			ret = opt_geom("--subblock", optarg, &sub);
			if (ret)
				return ret;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (optind == argc)
		return usage_error("create", "missing NAME");
	if (optind + 1 != argc)
		return usage_error("create", "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (!spec)
		return usage_error("create", "missing --spec");
	if (emp_spec_parse(spec, &s, err, sizeof(err))) {
		show_spec_error("create", spec, &s, err);
		return EX_USAGE;
	}
	/* A cluster: tier: donors from the registry, their bytes reserved. */
	for (ch = 0; ch < (int)s.nr_tiers && s.tier[ch].kind != EMP_TIER_CLUSTER; ch++)
		;
	if (ch < (int)s.nr_tiers) {
		if (!cl.etcd)
			return usage_error("create", "a cluster: tier needs the registry: give "
					   "--etcd URL or set EMP_ETCD");
		ret = emp_spec_place(&s, name, &cl, err, sizeof(err));
		if (ret == -EINVAL)
			return usage_error("create", "%s", err);
		if (ret)
			return fail("create %s: %s", name, err);
		placed = 1;
	}
	/* Host names to addresses: a runtime matter (DNS), hence EX_FAIL. */
	if (emp_spec_resolve(&s, err, sizeof(err))) {
		ret = fail("create %s: %s", name, err);
		goto out_release;
	}
	if (emp_spec_to_create(&s, name, size, block, sub, &c, err, sizeof(err))) {
		fprintf(stderr, "empctl create: %s\n", err);
		ret = EX_USAGE;
		goto out_release;
	}
	if (secret_file) {
		ret = emp_read_secret_file(secret_file, secret);
		if (ret == -ENODATA || ret == -E2BIG)
			return usage_error("create", "the secret in %s must have 1..%d bytes",
					   secret_file, EMP_SECRET_MAX);
		if (ret < 0) {
			ret = fail("cannot read the secret file %s: %s", secret_file, strerror(-ret));
			goto out_release;
		}
		if (!emp_spec_set_secret(&s, secret, (uint32_t)ret)) {
			ret = usage_error("create", "--secret-file given, but the spec has no remote tier");
			goto out_release;
		}
		memset(secret, 0, sizeof(secret));
	}
	fd = open_ctl();
	if (fd < 0) {
		ret = EX_FAIL;
		goto out_release;
	}
	if (!s.nr_tiers && !dram_only_supported(fd)) {
		close(fd);
		return fail("create %s: this emp.ko cannot create DRAM-only instances (a spec of "
			    "dram: alone; features bit 13, see empctl info)", name);
	}
	ret = emp_create(fd, &c, s.tier, s.nr_tiers);
	if (ret) {
		close(fd);
		ret = fail("create %s: %s%s", name, strerror(-ret), errno_hint("create", -ret));
		goto out_release;
	}
	emp_spec_set_secret(&s, (const uint8_t *)"", 0);	/* no copy of the secret left */
	if (json) {
		ret = emp_stat(fd, name, &st);
		close(fd);
		if (ret)
			return fail("stat %s: %s%s", name, strerror(-ret), errno_hint("stat", -ret));
		print_stat_json(&st, 0);
		return EX_OK;
	}
	close(fd);
	emp_spec_format(&s, text, sizeof(text));
	if (s.nr_tiers)
		snprintf(where, sizeof(where), "on %u tier%s", s.nr_tiers, s.nr_tiers == 1 ? "" : "s");
	else
		snprintf(where, sizeof(where), "DRAM-only");
	printf("created %s: %s %s, DRAM budget %s, block %s, subblock %s\n", name,
	       emp_format_human(c.inst_size, b[0], sizeof(b[0])), where,
	       emp_format_human(c.dram_budget, b[1], sizeof(b[1])),
	       emp_format_human(c.block_size, b[2], sizeof(b[2])),
	       emp_format_human(c.subblock_size, b[3], sizeof(b[3])));
	printf("  spec    %s\n  device  %s\n", text, emp_inst_path(name, dev, sizeof(dev)));
	return EX_OK;

out_release:
	/* Not created: the reservation goes back. */
	if (placed && emp_cluster_release(name, &cl, err, sizeof(err)))
		fprintf(stderr, "empctl create: cannot release the placement of %s: %s\n", name,
			err);
	return ret;
}

int cmd_destroy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "etcd",         required_argument, NULL, 'E' },
		{ "cluster-host", required_argument, NULL, 'H' },
		{ "help",         no_argument,       NULL, 'h' },
		{ 0 }
	};
	const char *name = NULL;
	struct emp_cluster cl;
	char err[512];
	int ch, fd, ret;

	cluster_defaults(&cl);
	optind = 1;
	while ((ch = cmd_getopt("destroy", argc, argv, "E:H:h", opts)) != -1) {
		if (ch != 'E' && ch != 'H')
			return EX_USAGE;
		ret = cluster_opts("destroy", ch, optarg, &cl);
		if (ret)
			return ret;
	}
	if (optind == argc)
		return usage_error("destroy", "missing NAME");
	if (optind + 1 != argc)
		return usage_error("destroy", "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (emp_check_name(name))
		return usage_error("destroy", "'%s' is not an instance name", name);
	fd = open_ctl();
	if (fd < 0)
		return EX_FAIL;
	ret = emp_destroy(fd, name);
	close(fd);
	if (ret)
		return fail("destroy %s: %s%s", name, strerror(-ret), errno_hint("destroy", -ret));
	printf("destroyed %s\n", name);
	if (!cl.etcd)
		return EX_OK;
	ret = emp_cluster_release(name, &cl, err, sizeof(err));
	if (ret == -ENOENT)
		return EX_OK;	/* not placed from the registry */
	if (ret)
		return fail("destroy %s: destroyed, but its placement stays in the registry: %s "
			    "(empctl cluster gc releases it later)", name, err);
	printf("released its placement\n");
	return EX_OK;
}

int cmd_resize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dram", required_argument, NULL, 'd' },
		{ "help", no_argument,       NULL, 'h' },
		{ 0 }
	};
	struct emp_stat before, after;
	const char *name, *dram_arg = NULL;
	uint64_t dram = 0;
	char b[3][32];
	int ch, fd, ret;

	optind = 1;
	while ((ch = cmd_getopt("resize", argc, argv, "d:h", opts)) != -1) {
		if (ch != 'd')
			return EX_USAGE;
		dram_arg = optarg;
	}
	if (optind == argc)
		return usage_error("resize", "missing NAME");
	if (optind + 1 != argc)
		return usage_error("resize", "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (emp_check_name(name))
		return usage_error("resize", "'%s' is not an instance name", name);
	if (!dram_arg)
		return usage_error("resize", "missing --dram");
	ret = opt_size("resize", "--dram", dram_arg, MIB, &dram);
	if (ret)
		return ret;
	if (!dram)
		return usage_error("resize", "--dram must not be zero");
	fd = open_ctl();
	if (fd < 0)
		return EX_FAIL;
	ret = emp_stat(fd, name, &before);
	if (ret) {
		close(fd);
		return fail("resize %s: %s%s", name, strerror(-ret), errno_hint("resize", -ret));
	}
	if (!before.nr_tiers && dram < before.inst_size) {
		close(fd);
		fprintf(stderr, "empctl resize: %s is DRAM-only: its budget cannot go below its "
			"size (%s)\n", name, emp_format_human(before.inst_size, b[0], sizeof(b[0])));
		return EX_USAGE;
	}
	if (emp_budget_check(dram, before.block_size)) {
		close(fd);
		fprintf(stderr, "empctl resize: DRAM budget %s must be a multiple of the page size "
			"and at least two blocks (%s)\n", emp_format_human(dram, b[0], sizeof(b[0])),
			emp_format_human(emp_budget_min(before.block_size), b[1], sizeof(b[1])));
		return EX_USAGE;
	}
	ret = emp_resize(fd, name, dram);
	if (ret) {
		close(fd);
		return fail("resize %s: %s%s", name, strerror(-ret), errno_hint("resize", -ret));
	}
	ret = emp_stat(fd, name, &after);
	close(fd);
	if (ret)
		return fail("stat %s: %s%s", name, strerror(-ret), errno_hint("stat", -ret));
	printf("%s: DRAM budget %s -> %s, resident %s\n", name,
	       emp_format_human(before.dram_budget, b[0], sizeof(b[0])),
	       emp_format_human(after.dram_budget, b[1], sizeof(b[1])),
	       emp_format_human(after.resident, b[2], sizeof(b[2])));
	return EX_OK;
}
