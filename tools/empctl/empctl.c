// SPDX-License-Identifier: GPL-2.0
/*
 * empctl: the EMP configurator. Creates, lists, inspects, resizes and
 * destroys instances through /dev/emp. Commands live in inst.c (create,
 * destroy, resize) and show.c (list, stat); this file has the command
 * table, help, info, spec and the helpers they share.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "empctl.h"

static int cmd_info(int argc, char **argv);
static int cmd_help(int argc, char **argv);

const struct empctl_cmd empctl_cmds[] = {
	{ "create", "create an instance on the tiers of a spec",
	  "Usage: empctl create NAME --spec SPEC [--size SIZE] [--block SIZE] [--subblock SIZE]\n"
	  "                     [--secret-file FILE] [--json] [--etcd URL] [--cluster-host H]\n"
	  "Create instance NAME on the tiers of SPEC (see emp-spec(7)). Its memory is the\n"
	  "device node /dev/emp-NAME, to be mapped MAP_SHARED.\n"
	  "  -s, --spec SPEC        tiers and DRAM budget: TIER|TIER|...|dram:SIZE\n"
	  "  -S, --size SIZE        instance size (default: all the tiers hold)\n"
	  "  -b, --block SIZE       unit of placement and residence, 4K..2M (default 64K)\n"
	  "  -u, --subblock SIZE    unit of transfer, 4K..128K, at most the block\n"
	  "                         (default 4K)\n"
	  "  -k, --secret-file FILE the secret the donors of the remote tiers require\n"
	  "                         (as vmd --secret-file: one line, 1..64 bytes)\n"
	  "  -j, --json             print the new instance as stat --json does\n"
	  "SIZE takes a K, M, G or T suffix; a bare number is MiB for --size and bytes\n"
	  "for --block and --subblock. Without dram: in SPEC the DRAM budget is 1/8 of\n"
	  "the size within 64 MiB..4 GiB (at most the size). A SPEC of dram:SIZE alone\n"
	  "makes a DRAM-only instance of SIZE (or the smaller --size). Host names in\n"
	  "SPEC are resolved first; one that does not resolve is an error (exit 1).\n"
	  "A cluster:SIZE tier is placed on donors of the cluster registry first:\n"
	  "  -E, --etcd URL         etcd's client URL, http://HOST:PORT (default\n"
	  "                         $EMP_ETCD); needed for a cluster: tier\n"
	  "  -H, --cluster-host H   this host's name in the registry (default\n"
	  "                         $EMP_CLUSTER_HOST, else the host name)\n"
	  "The donors' bytes are reserved in etcd before the create and given back if\n"
	  "it fails; destroy --etcd gives them back (empctl cluster, docs/cluster.md).\n",
	  cmd_create },
	{ "destroy", "destroy an instance",
	  "Usage: empctl destroy NAME [--etcd URL] [--cluster-host H]\n"
	  "Destroy instance NAME and free its DRAM. Refused while /dev/emp-NAME is open\n"
	  "or mapped by any process. With --etcd (or $EMP_ETCD), the instance's\n"
	  "placement in the cluster registry, if it has one, is released too.\n",
	  cmd_destroy },
	{ "list", "list the instances",
	  "Usage: empctl list [--json]\n"
	  "One line per instance: size, DRAM budget and use, geometry, tiers, faults,\n"
	  "evictions and state.\n"
	  "  -j, --json   print {\"instances\": [...]} (schema in empctl(8))\n",
	  cmd_list },
	{ "stat", "show the geometry and counters of an instance",
	  "Usage: empctl stat NAME [--json] [--watch SECS [--count N]]\n"
	  "       empctl stat [NAME] --prometheus\n"
	  "Geometry, DRAM use, fault counters, fault latency and per-tier traffic of\n"
	  "instance NAME.\n"
	  "  -j, --json         print one JSON object (schema in empctl(8)); with\n"
	  "                     --watch, one object per line\n"
	  "  -p, --prometheus   print NAME, or every instance, in Prometheus' text\n"
	  "                     format (node_exporter's textfile collector), once\n"
	  "  -w, --watch SECS   report again every SECS seconds (decimals allowed)\n"
	  "                     until interrupted; text reports add rates per second\n"
	  "  -n, --count N      with --watch: stop after N reports\n",
	  cmd_stat },
	{ "resize", "change the DRAM budget of an instance",
	  "Usage: empctl resize NAME --dram SIZE\n"
	  "Set the DRAM budget of instance NAME while it runs. Shrinking evicts down to\n"
	  "the new budget, writing dirty data back first; nothing is lost.\n"
	  "  -d, --dram SIZE   the new budget (K, M, G or T suffix; a bare number is MiB)\n",
	  cmd_resize },
	{ "events", "print emp.ko's events as they happen",
	  "Usage: empctl events [--json]\n"
	  "Join emp.ko's netlink event group and print one line per event until killed:\n"
	  "instances created, destroyed or resized, tier errors, lost donors, pressure\n"
	  "crossing an instance's threshold. Each line is flushed at once.\n"
	  "  -j, --json   one JSON object per line: {\"event\":\"resized\",\"name\":...}\n"
	  "Text lines are EVENT name=NAME id=ID event=KIND KEY=VALUE... (empctl(8)).\n"
	  "Needs an emp.ko with events (empctl info: features bit 12).\n",
	  cmd_events },
	{ "pool", "show the DRAM pool of empd, the balancer",
	  "Usage: empctl pool [--json] [--socket PATH]\n"
	  "Ask empd for its state: the pool, and per instance its budget and limits,\n"
	  "residence, working set, stall and refault rates, cold memory and the last\n"
	  "decision, then the latest decisions with their reasons.\n"
	  "  -j, --json          print empd's JSON report as it came (empd(8))\n"
	  "  -S, --socket PATH   empd's socket (default $EMPD_SOCKET, else\n"
	  "                      /run/emp/empd.sock)\n",
	  cmd_pool },
	{ "info", "show the loaded emp.ko: versions, features, limits",
	  "Usage: empctl info [--json]\n"
	  "Show the ABI and module version, features and geometry limits of the\n"
	  "loaded emp.ko, and how many instances exist.\n"
	  "  -j, --json   print one JSON object instead of text\n",
	  cmd_info },
	{ "spec", "check a tier spec and show its tiers (no module needed)",
	  "Usage: empctl spec SPEC [--json]\n"
	  "Parse SPEC as create and the preload library do, without creating anything,\n"
	  "and show the tiers, the capacity and the DRAM budget it describes. Exit\n"
	  "status 2 and the column of the mistake when it is not valid. Host names\n"
	  "are shown with their address, or with a warning when they do not resolve.\n"
	  "  -j, --json   print one JSON object instead of text\n",
	  cmd_spec },
	{ "cluster", "the cluster registry in etcd: donors, placements",
	  "Usage: empctl cluster donors [--json]\n"
	  "       empctl cluster placements [--all | --cluster-host H] [--json]\n"
	  "       empctl cluster place NAME --spec SPEC\n"
	  "       empctl cluster release NAME | --all --cluster-host H\n"
	  "       empctl cluster repair NAME [--secret-file FILE]\n"
	  "       empctl cluster watch [--interval SECS] [--secret-file FILE]\n"
	  "       empctl cluster gc\n"
	  "each with [--etcd URL] [--cluster-host H].\n"
	  "donors      the donors vmd --etcd announced: address, domain, transports,\n"
	  "            capacity, free bytes, and what hosts have reserved on them\n"
	  "placements  the placements of this host (of H, or of every host with --all)\n"
	  "place       place the cluster: tier of SPEC for instance NAME and print the\n"
	  "            spec with its tiers, for a tool that creates the instance itself\n"
	  "release     give back the bytes of NAME's placement (of every placement of\n"
	  "            host H with --all: a host that died and is not coming back)\n"
	  "repair      give each replicated tier of NAME that lost a copy a new one: a\n"
	  "            donor from the registry takes the lost one's place there, and\n"
	  "            emp.ko fills it from the surviving copy in the background\n"
	  "watch       repair every instance whenever a copy is lost, checking every\n"
	  "            SECS seconds (default 1) until SIGINT or SIGTERM\n"
	  "gc          release this host's placements whose instance is gone (after a\n"
	  "            crash or reboot; needs /dev/emp)\n"
	  "  -E, --etcd URL         etcd's client URL, http://HOST:PORT (default $EMP_ETCD)\n"
	  "  -H, --cluster-host H   the host's name in the registry (default\n"
	  "                         $EMP_CLUSTER_HOST, else this host's name)\n"
	  "Records that are malformed are skipped with a warning (docs/cluster.md).\n",
	  cmd_cluster },
	{ "help", "show the help of a command",
	  "Usage: empctl help [COMMAND]\n"
	  "Show the commands, or the help of COMMAND (the same as empctl COMMAND --help).\n",
	  cmd_help },
	{ NULL, NULL, NULL, NULL }
};

static const struct empctl_cmd *find_cmd(const char *name)
{
	const struct empctl_cmd *c;

	for (c = empctl_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void usage(FILE *f)
{
	const struct empctl_cmd *c;

	fprintf(f, "Usage: empctl [-h|--help] [-V|--version] COMMAND [ARGS]\n\nCommands:\n");
	for (c = empctl_cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f,
		"\n"
		"empctl help COMMAND or empctl COMMAND --help shows the options of COMMAND.\n"
		"\n"
		"Environment:\n"
		"  EMP_CTL_PATH    control device to use (default " EMP_CTL_PATH_DEFAULT ")\n"
		"  EMP_ETCD        the cluster registry's etcd URL (create, destroy, cluster)\n"
		"  EMP_CLUSTER_HOST  this host's name in the registry\n"
		"\n"
		"Exit status: 0 on success, 1 on a kernel or runtime error, 2 on bad usage.\n");
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "empctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see empctl %s --help)\n", cmd);
	return EX_USAGE;
}

int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "empctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EX_FAIL;
}

static const char *ctl_path(void)
{
	const char *p = getenv("EMP_CTL_PATH");

	return p && *p ? p : EMP_CTL_PATH_DEFAULT;
}

int open_ctl(void)
{
	int fd = emp_ctl_open();

	if (fd < 0) {
		fail("cannot open %s: %s%s", ctl_path(), strerror(-fd),
		     -fd == ENOENT ? " (is emp.ko loaded?)" :
		     -fd == EACCES || -fd == EPERM ? " (run as root)" : "");
		return -1;
	}
	return fd;
}

const char *errno_hint(const char *op, int err)
{
	int create = !strcmp(op, "create");

	switch (err) {
	case ENOENT:
		return create ? " (a block device of the spec does not exist)" : " (no such instance)";
	case EEXIST:
		return " (an instance of that name exists)";
	case EBUSY:
		return create ? " (a block device of the spec is in use)" :
			" (its device node is open or mapped by a process)";
	case ENOSPC:
		return create ? " (too many instances, or a tier is larger than its device)" : "";
	case ENOTBLK:
		return " (a path of the spec is not a block device)";
	case EOPNOTSUPP:
		return " (this emp.ko cannot serve a tier kind of the spec: see empctl info)";
	case EINVAL:
		return " (the kernel log says which field it rejected)";
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ETIMEDOUT:
		return " (a donor of the spec cannot be reached: is vmd running there?)";
	case EACCES:
	case EPERM:
		return " (run as root; or a donor refused the secret)";
	case EIO:
		return " (a tier failed: see stat and the kernel log)";
	default:
		return "";
	}
}

void show_spec_error(const char *cmd, const char *spec, const struct emp_spec *s, const char *err)
{
	fprintf(stderr, "empctl %s: bad spec: %s\n", cmd, err);
	/* A caret under the column, when the spec is short enough to show. */
	if (s->err_col && strlen(spec) <= 160 && !strpbrk(spec, "\t\n\r"))
		fprintf(stderr, "  %s\n  %*s^\n", spec, (int)s->err_col - 1, "");
}

int opt_size(const char *cmd, const char *opt, const char *arg, uint64_t unit, uint64_t *out)
{
	int err = emp_parse_size(arg, unit, out);

	if (err == -ERANGE)
		return usage_error(cmd, "%s '%s' is too large", opt, arg);
	if (err)
		return usage_error(cmd, "%s '%s' is not a size (a number with a K, M, G or T suffix)",
				   opt, arg);
	return 0;
}

static int json_only(const char *cmd, int argc, char **argv, int *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	*json = 0;
	while ((c = cmd_getopt(cmd, argc, argv, "jh", opts)) != -1) {
		switch (c) {
		case 'j': *json = 1; break;
		case 'h': return -1;
		default:  return EX_USAGE;
		}
	}
	return 0;
}

int cmd_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == '?') {
		if (optopt && strchr(shortopts, optopt))
			usage_error(cmd, "option -%c needs a value", optopt);
		else if (optopt)
			usage_error(cmd, "unknown option -%c", optopt);
		else
			usage_error(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
	}
	return c;
}

static int show_help(const char *name, FILE *f)
{
	const struct empctl_cmd *c = find_cmd(name);

	if (!c)
		return EX_USAGE;
	fputs(c->usage, f);
	return EX_OK;
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return show_help("help", stdout);
	if (argc > 2)
		return usage_error("help", "one command at a time");
	if (argc == 1) {
		usage(stdout);
		return EX_OK;
	}
	if (show_help(argv[1], stdout)) {
		fprintf(stderr, "empctl help: unknown command '%s' (see empctl --help)\n", argv[1]);
		return EX_USAGE;
	}
	return EX_OK;
}

static int cmd_info(int argc, char **argv)
{
	char ver[32], b[4][32];
	struct emp_info in;
	int json, fd, err;

	optind = 1;
	err = json_only("info", argc, argv, &json);
	if (err)
		return err < 0 ? show_help("info", stdout) : err;
	if (optind != argc)
		return usage_error("info", "unexpected argument '%s'", argv[optind]);
	fd = open_ctl();
	if (fd < 0)
		return EX_FAIL;
	err = emp_get_info(fd, &in);
	close(fd);
	if (err)
		return fail("EMP_IOC_INFO failed: %s", strerror(-err));
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
		return EX_OK;
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
	return EX_OK;
}

/*
 * The address of remote tier @i of @s for display: resolved into @addr, or
 * NULL with the reason in @why. Tiers given by address resolve to themselves.
 */
static const char *spec_addr(const struct emp_spec *s, unsigned int i, char *addr, size_t len,
			     char *why, size_t whylen)
{
	if (!s->host[i][0])
		return s->tier[i].path;
	return emp_resolve_host(s->host[i], addr, len, why, whylen) ? NULL : addr;
}

int cmd_spec(int argc, char **argv)
{
	char err[EMP_SPEC_ERR_MAX], b[3][32], text[EMP_MAX_TIERS * (EMP_PATH_MAX + 64)];
	char addr[EMP_MAX_TIERS][64], why[EMP_MAX_TIERS][EMP_SPEC_ERR_MAX];
	const char *where[EMP_MAX_TIERS];
	uint64_t budget;
	struct emp_spec s;
	struct table t;
	unsigned int i;
	int json, ret;

	optind = 1;
	ret = json_only("spec", argc, argv, &json);
	if (ret)
		return ret < 0 ? show_help("spec", stdout) : ret;
	if (optind + 1 != argc)
		return usage_error("spec", optind == argc ? "missing SPEC" : "one SPEC only");
	if (emp_spec_parse(argv[optind], &s, err, sizeof(err))) {
		show_spec_error("spec", argv[optind], &s, err);
		return EX_USAGE;
	}
	emp_spec_format(&s, text, sizeof(text));
	for (i = 0; i < s.nr_tiers; i++) {
		why[i][0] = '\0';
		if (s.tier[i].kind == EMP_TIER_NODE)
			snprintf(addr[i], sizeof(addr[i]), "node %u", s.tier[i].node);
		if (s.tier[i].kind == EMP_TIER_CLUSTER)
			snprintf(addr[i], sizeof(addr[i]), "donors from etcd, at create");
		where[i] = s.tier[i].kind == EMP_TIER_BDEV ? s.tier[i].path :
			s.tier[i].kind == EMP_TIER_NODE || s.tier[i].kind == EMP_TIER_CLUSTER ?
			addr[i] : spec_addr(&s, i, addr[i], sizeof(addr[i]), why[i], sizeof(why[i]));
	}
	/* What create would give with the default geometry. */
	budget = !s.nr_tiers ? s.capacity : s.dram ? s.dram : emp_default_budget(s.capacity, 0);
	if (json) {
		printf("{\"spec\":");
		json_str(stdout, text);
		printf(",\"capacity\":%llu,\"dram\":%llu,\"dram_budget\":%llu,\"dram_only\":%s,"
		       "\"tiers\":[", (unsigned long long)s.capacity, (unsigned long long)s.dram,
		       (unsigned long long)budget, s.nr_tiers ? "false" : "true");
		for (i = 0; i < s.nr_tiers; i++) {
			const struct emp_tier *tr = &s.tier[i];

			printf("%s{\"index\":%u,\"kind\":\"%s\",", i ? "," : "", i,
			       emp_tier_kind_name(tr->kind));
			if (tr->flags & EMP_TIER_F_REPLICA)
				printf("\"replica_of\":%u,", i - 1);
			if (s.host[i][0]) {
				printf("\"host\":");
				json_str(stdout, s.host[i]);
				putchar(',');
			}
			if (tr->kind == EMP_TIER_NODE) {
				printf("\"node\":%u,\"size\":%llu}", tr->node,
				       (unsigned long long)tr->size);
				continue;
			}
			printf("\"%s\":", tr->kind == EMP_TIER_BDEV ? "path" : "address");
			if (where[i])
				json_str(stdout, where[i]);
			else
				printf("null");
			printf(",\"size\":%llu", (unsigned long long)tr->size);
			if (tr->kind == EMP_TIER_BDEV)
				printf(",\"offset\":%llu}", (unsigned long long)tr->offset);
			else
				printf(",\"port\":%u}", tr->port);
		}
		printf("]}\n");
		for (i = 0; i < s.nr_tiers; i++)
			if (!where[i])
				fprintf(stderr, "empctl spec: warning: %s\n", why[i]);
		return EX_OK;
	}
	if (tbl_init(&t, 1U << 0 | 1U << 3, "TIER", "KIND", "WHERE", "SIZE", "FROM", NULL))
		return fail("out of memory");
	for (i = 0; i < s.nr_tiers; i++) {
		const struct emp_tier *tr = &s.tier[i];
		const char *w = where[i] ? where[i] : "";
		int v6 = (tr->kind == EMP_TIER_RDMA || tr->kind == EMP_TIER_TCP) && strchr(w, ':');

		if (tbl_row(&t)) {
			tbl_free(&t);
			return fail("out of memory");
		}
		if (tr->flags & EMP_TIER_F_REPLICA)
			tbl_set(&t, 0, "%u+", i - 1);	/* the second copy of tier i - 1 */
		else
			tbl_set(&t, 0, "%u", i);
		tbl_set(&t, 1, "%s", emp_tier_kind_name(tr->kind));
		if (tr->kind == EMP_TIER_CLUSTER)
			tbl_set(&t, 2, "%s", w);
		else if (!s.host[i][0])
			tbl_set(&t, 2, "%s%s%s", v6 ? "[" : "", w, v6 ? "]" : "");
		else if (where[i])
			tbl_set(&t, 2, "%s (%s%s%s)", s.host[i], v6 ? "[" : "", w, v6 ? "]" : "");
		else
			tbl_set(&t, 2, "%s (does not resolve)", s.host[i]);
		tbl_set(&t, 3, "%s", emp_format_human(tr->size, b[0], sizeof(b[0])));
		if (tr->kind == EMP_TIER_BDEV)
			tbl_set(&t, 4, "offset %s", emp_format_human(tr->offset, b[1], sizeof(b[1])));
		else if (tr->kind == EMP_TIER_NODE || tr->kind == EMP_TIER_CLUSTER)
			tbl_set(&t, 4, "-");
		else
			tbl_set(&t, 4, "port %u", tr->port);
	}
	printf("spec:      %s\n", text);
	if (!s.nr_tiers) {
		printf("capacity:  %s, DRAM-only (no storage tier, never evicts)\n",
		       emp_format_human(s.capacity, b[0], sizeof(b[0])));
		printf("dram:      %s, the whole instance\n",
		       emp_format_human(s.dram, b[2], sizeof(b[2])));
		tbl_free(&t);
		return EX_OK;
	}
	printf("capacity:  %s in %u tier%s\n", emp_format_human(s.capacity, b[0], sizeof(b[0])),
	       s.nr_tiers, s.nr_tiers == 1 ? "" : "s");
	if (s.dram)
		printf("dram:      %s\n", emp_format_human(s.dram, b[2], sizeof(b[2])));
	else
		printf("dram:      not given (default %s: 1/8 of the size within 64 MiB..4 GiB)\n",
		       emp_format_human(budget, b[2], sizeof(b[2])));
	putchar('\n');
	tbl_print(&t, stdout, 0);
	tbl_free(&t);
	for (i = 0; i < s.nr_tiers; i++)
		if (!where[i])
			fprintf(stderr, "empctl spec: warning: %s\n", why[i]);
	return EX_OK;
}

int main(int argc, char **argv)
{
	const struct empctl_cmd *c;
	int i;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("empctl %s (ABI %d)\n", EMPCTL_VERSION, EMP_ABI_VERSION);
		return EX_OK;
	}
	c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "empctl: unknown command '%s' (see empctl --help)\n", argv[1]);
		return EX_USAGE;
	}
	/* COMMAND --help anywhere before a "--" shows the command's help. */
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return show_help(c->name, stdout);
	return c->run(argc - 1, argv + 1);
}
