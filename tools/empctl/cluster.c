// SPDX-License-Identifier: GPL-2.0
/*
 * empctl cluster: the cluster registry in etcd (libemp's emp_cluster.c):
 * the donors and what is reserved on them, the placements of the hosts,
 * placing and releasing by hand, and the cleanup after a host that died.
 * create and destroy place and release on their own (inst.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "empctl.h"

#define PLACEMENTS_MAX	1024

int cluster_opts(const char *cmd, int ch, const char *arg, struct emp_cluster *cl)
{
	switch (ch) {
	case 'E':
		cl->etcd = arg;
		return 0;
	case 'H':
		cl->host = arg;
		return 0;
	}
	return usage_error(cmd, "unknown option");
}

static void warn_registry(const char *msg)
{
	fprintf(stderr, "empctl: warning: %s\n", msg);
}

void cluster_defaults(struct emp_cluster *cl)
{
	const char *e = getenv("EMP_ETCD");

	memset(cl, 0, sizeof(*cl));
	cl->etcd = e && *e ? e : NULL;
	cl->warn = warn_registry;
}

static int need_etcd(const char *cmd, const struct emp_cluster *cl)
{
	if (cl->etcd)
		return 0;
	return usage_error(cmd, "no etcd: give --etcd URL or set EMP_ETCD");
}

/* EX_FAIL for a runtime failure, EX_USAGE for what the user gave. */
static int cluster_fail(const char *what, int ret, const char *err)
{
	fprintf(stderr, "empctl cluster %s: %s\n", what, err);
	return ret == -EINVAL ? EX_USAGE : EX_FAIL;
}

static int donors(const struct emp_cluster *cl, int json)
{
	struct emp_cluster_donor *d = calloc(EMP_CLUSTER_DONORS_MAX, sizeof(*d));
	char err[512], b[3][32];
	struct table t;
	int n, i;

	if (!d)
		return fail("out of memory");
	n = emp_cluster_donors(cl, d, EMP_CLUSTER_DONORS_MAX, err, sizeof(err));
	if (n < 0) {
		free(d);
		return cluster_fail("donors", n, err);
	}
	if (json) {
		printf("{\"donors\":[");
		for (i = 0; i < n; i++) {
			printf("%s{\"addr\":", i ? "," : "");
			json_str(stdout, d[i].addr);
			printf(",\"port\":%u,\"domain\":", d[i].port);
			json_str(stdout, d[i].domain);
			printf(",\"tcp\":%s,\"rdma\":%s,\"capacity\":%llu,\"free\":%llu,"
			       "\"reserved\":%llu}", d[i].tcp ? "true" : "false",
			       d[i].rdma ? "true" : "false", (unsigned long long)d[i].capacity,
			       (unsigned long long)d[i].free, (unsigned long long)d[i].reserved);
		}
		printf("]}\n");
		free(d);
		return EX_OK;
	}
	if (tbl_init(&t, 0x70, "DONOR", "PORT", "DOMAIN", "TRANSPORTS", "CAPACITY", "FREE",
		     "RESERVED", NULL)) {
		free(d);
		return fail("out of memory");
	}
	for (i = 0; i < n; i++) {
		if (tbl_row(&t))
			break;
		tbl_set(&t, 0, "%s", d[i].addr);
		tbl_set(&t, 1, "%u", d[i].port);
		tbl_set(&t, 2, "%s", d[i].domain);
		tbl_set(&t, 3, "%s%s%s", d[i].rdma ? "rdma" : "", d[i].rdma && d[i].tcp ? "," : "",
			d[i].tcp ? "tcp" : "");
		tbl_set(&t, 4, "%s", emp_format_human(d[i].capacity, b[0], sizeof(b[0])));
		tbl_set(&t, 5, "%s", emp_format_human(d[i].free, b[1], sizeof(b[1])));
		tbl_set(&t, 6, "%s", emp_format_human(d[i].reserved, b[2], sizeof(b[2])));
	}
	tbl_print(&t, stdout, 0);
	tbl_free(&t);
	printf("%d donor%s\n", n, n == 1 ? "" : "s");
	free(d);
	return EX_OK;
}

static int placements(const struct emp_cluster *cl, const char *host, int json)
{
	struct emp_cluster_placement *p = calloc(PLACEMENTS_MAX, sizeof(*p));
	char err[512], b[32];
	int n, i;
	unsigned int k;

	if (!p)
		return fail("out of memory");
	n = emp_cluster_placements(cl, host, p, PLACEMENTS_MAX, err, sizeof(err));
	if (n < 0) {
		free(p);
		return cluster_fail("placements", n, err);
	}
	if (json)
		printf("{\"placements\":[");
	for (i = 0; i < n; i++) {
		if (json) {
			printf("%s{\"host\":", i ? "," : "");
			json_str(stdout, p[i].host);
			printf(",\"instance\":");
			json_str(stdout, p[i].name);
			printf(",\"size\":%llu,\"pieces\":[", (unsigned long long)p[i].size);
		} else {
			printf("%s/%s %s:", p[i].host, p[i].name,
			       emp_format_human(p[i].size, b, sizeof(b)));
		}
		for (k = 0; k < p[i].nr_pieces; k++) {
			if (json) {
				printf("%s{\"addr\":", k ? "," : "");
				json_str(stdout, p[i].piece[k].addr);
				printf(",\"port\":%u,\"bytes\":%llu}", p[i].piece[k].port,
				       (unsigned long long)p[i].piece[k].bytes);
			} else {
				printf(" %s%s%s:%u=%s", strchr(p[i].piece[k].addr, ':') ? "[" : "",
				       p[i].piece[k].addr, strchr(p[i].piece[k].addr, ':') ? "]" : "",
				       p[i].piece[k].port,
				       emp_format_human(p[i].piece[k].bytes, b, sizeof(b)));
			}
		}
		printf(json ? "]}" : "\n");
	}
	if (json)
		printf("]}\n");
	free(p);
	return EX_OK;
}

static int place(const struct emp_cluster *cl, const char *name, const char *spec)
{
	char err[EMP_SPEC_ERR_MAX + 256], text[EMP_MAX_TIERS * (EMP_PATH_MAX + 64)];
	struct emp_spec s;
	int ret;

	if (emp_spec_parse(spec, &s, err, sizeof(err))) {
		show_spec_error("cluster", spec, &s, err);
		return EX_USAGE;
	}
	ret = emp_spec_place(&s, name, cl, err, sizeof(err));
	if (ret)
		return cluster_fail("place", ret, err);
	emp_spec_format(&s, text, sizeof(text));
	printf("%s\n", text);
	return EX_OK;
}

static int release(const struct emp_cluster *cl, const char *name)
{
	char err[512];
	int ret = emp_cluster_release(name, cl, err, sizeof(err));

	if (ret)
		return cluster_fail("release", ret, err);
	printf("released %s\n", name);
	return EX_OK;
}

/*
 * Release every placement of @host (a host that died and will not come
 * back), or with @only_gone those of this host whose instance is gone
 * (after a crash or reboot of this host).
 */
static int release_all(struct emp_cluster *cl, const char *host, int only_gone)
{
	struct emp_cluster_placement *p = calloc(PLACEMENTS_MAX, sizeof(*p));
	char err[512], self[64] = "", (*names)[EMP_NAME_MAX] = NULL;
	int n, i, j, fd, live = 0, bad = 0;

	if (!p)
		return fail("out of memory");
	if (only_gone) {
		fd = open_ctl();
		if (fd < 0) {
			free(p);
			return EX_FAIL;
		}
		live = all_names(fd, &names);
		close(fd);
		if (live < 0) {
			free(p);
			free(names);
			return fail("cannot list the instances: %s", strerror(-live));
		}
	}
	if (!host) {
		host = cl->host ? cl->host : getenv("EMP_CLUSTER_HOST");
		if (!host || !*host) {
			gethostname(self, sizeof(self) - 1);
			host = self;
		}
	}
	n = emp_cluster_placements(cl, host, p, PLACEMENTS_MAX, err, sizeof(err));
	if (n < 0) {
		free(p);
		free(names);
		return cluster_fail("release", n, err);
	}
	cl->host = host;
	for (i = 0; i < n; i++) {
		for (j = 0; j < live; j++)
			if (!strcmp(names[j], p[i].name))
				break;
		if (j < live)
			continue;	/* still here: keep it */
		if (emp_cluster_release(p[i].name, cl, err, sizeof(err))) {
			fprintf(stderr, "empctl cluster release: %s\n", err);
			bad++;
			continue;
		}
		printf("released %s/%s\n", host, p[i].name);
	}
	free(p);
	free(names);
	return bad ? EX_FAIL : EX_OK;
}

/* "ADDR:PORT" or "[ADDR]:PORT" of a sysfs replicas line. Return: 0 or -1. */
static int split_peer(const char *peer, char *addr, size_t len, uint16_t *port)
{
	const char *colon = strrchr(peer, ':');
	const char *a = peer, *e = colon;
	char *end;
	unsigned long p;

	if (!colon)
		return -1;
	if (*a == '[') {
		a++;
		if (e[-1] != ']')
			return -1;
		e--;
	}
	if (e <= a || (size_t)(e - a) >= len)
		return -1;
	p = strtoul(colon + 1, &end, 10);
	if (*end || !p || p > 65535)
		return -1;
	memcpy(addr, a, (size_t)(e - a));
	addr[e - a] = 0;
	*port = (uint16_t)p;
	return 0;
}

/* New donors tried for one lost copy when the chosen ones cannot be reached. */
#define REPAIR_TRIES	3

/* Whether @err (of EMP_IOC_REPAIR) says the new copy's donor cannot be reached. */
static int unreachable(int err)
{
	return err == -ECONNREFUSED || err == -EHOSTUNREACH || err == -ENETUNREACH ||
	       err == -ETIMEDOUT || err == -ECONNRESET;
}

/*
 * Give every replicated tier of @name that lost a copy a new one: a donor
 * from the registry takes the lost one's place there (emp_cluster_replace())
 * and emp.ko fills it from the surviving copy (EMP_IOC_REPAIR). Return: how
 * many repairs started, or -1 after printing what failed.
 */
static int repair_one(const struct emp_cluster *cl, const char *name, const char *secret_file,
		      int quiet)
{
	char path[128], line[512], peer[2][EMP_PATH_MAX + 16], state[2][16], addr[EMP_PATH_MAX];
	char err[512];
	uint8_t secret[EMP_SECRET_MAX];
	int slen = 0, fd, ret, started = 0, bad = 0, tries;
	struct emp_tier t;
	unsigned int idx;
	uint16_t port;
	FILE *f;

	if (secret_file) {
		slen = emp_read_secret_file(secret_file, secret);
		if (slen < 0)
			return fail("cannot read the secret file %s: %s", secret_file,
				    strerror(slen == -ENODATA || slen == -E2BIG ? EINVAL : -slen)), -1;
	}
	snprintf(path, sizeof(path), "/sys/class/emp/" EMP_INST_PREFIX "%s/stats/replicas", name);
	f = fopen(path, "re");
	if (!f)
		return fail("%s: cannot read %s: %s", name, path, strerror(errno)), -1;
	fd = open_ctl();
	if (fd < 0) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		int lost;

		if (sscanf(line, "%u %123s %15s %123s %15s", &idx, peer[0], state[0], peer[1],
			   state[1]) != 5)
			continue;
		if (!strcmp(state[0], "filling") || !strcmp(state[1], "filling"))
			continue;	/* being repaired */
		lost = !strcmp(state[0], "lost") ? 0 : !strcmp(state[1], "lost") ? 1 : -1;
		if (lost < 0 || !strcmp(state[!lost], "lost"))
			continue;	/* both copies up, or none left to fill from */
		if (split_peer(peer[lost], addr, sizeof(addr), &port)) {
			fprintf(stderr, "empctl: %s: cannot read the donor '%s' of %s\n", name,
				peer[lost], path);
			bad++;
			continue;
		}
		ret = emp_cluster_replace(name, cl, addr, port, &t, err, sizeof(err));
		if (ret) {
			if (!quiet || ret != -ENOENT)
				fprintf(stderr, "empctl cluster repair: %s tier %u: %s\n", name, idx, err);
			bad++;
			continue;
		}
		for (tries = 0;; tries++) {
			if (slen > 0) {
				t.secret_len = (uint32_t)slen;
				memcpy(t.secret, secret, (size_t)slen);
			}
			ret = emp_repair(fd, name, idx, &t);
			memset(t.secret, 0, sizeof(t.secret));
			if (!ret || tries == REPAIR_TRIES || !unreachable(ret))
				break;
			/*
			 * A donor that died less than its lease ago is still in
			 * the registry: it can be chosen, and refuses. The next.
			 */
			fprintf(stderr, "empctl cluster repair: %s tier %u: %s:%u: %s; choosing "
				"another donor\n", name, idx, t.path, t.port, strerror(-ret));
			snprintf(addr, sizeof(addr), "%s", t.path);
			if (emp_cluster_replace(name, cl, addr, t.port, &t, err, sizeof(err))) {
				fprintf(stderr, "empctl cluster repair: %s tier %u: %s\n", name, idx,
					err);
				break;
			}
		}
		if (ret) {
			fprintf(stderr, "empctl cluster repair: %s tier %u: EMP_IOC_REPAIR: %s; the "
				"registry now names %s:%u for this copy\n", name, idx, strerror(-ret),
				t.path, t.port);
			bad++;
			continue;
		}
		printf("%s tier %u: copy on %s lost; filling a new one on %s%s%s:%u\n", name, idx,
		       peer[lost], strchr(t.path, ':') ? "[" : "", t.path,
		       strchr(t.path, ':') ? "]" : "", t.port);
		fflush(stdout);
		started++;
	}
	memset(secret, 0, sizeof(secret));
	fclose(f);
	close(fd);
	return bad ? -1 : started;
}

static volatile sig_atomic_t stop_watch;

static void on_stop(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/* Repair every instance of this host now and then, until a signal. */
static int watch(const struct emp_cluster *cl, const char *secret_file, double interval)
{
	struct timespec ts = { (time_t)interval, (long)((interval - (time_t)interval) * 1e9) };
	char (*names)[EMP_NAME_MAX] = NULL;
	struct sigaction sa = { .sa_handler = on_stop };
	int fd, n, i;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_watch) {
		fd = open_ctl();
		if (fd < 0)
			return EX_FAIL;
		n = all_names(fd, &names);
		close(fd);
		for (i = 0; i < n && !stop_watch; i++)
			repair_one(cl, names[i], secret_file, 1);
		free(names);
		names = NULL;
		nanosleep(&ts, NULL);
	}
	return EX_OK;
}

int cmd_cluster(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "etcd",         required_argument, NULL, 'E' },
		{ "cluster-host", required_argument, NULL, 'H' },
		{ "spec",         required_argument, NULL, 's' },
		{ "all",          no_argument,       NULL, 'a' },
		{ "secret-file",  required_argument, NULL, 'k' },
		{ "interval",     required_argument, NULL, 'i' },
		{ "json",         no_argument,       NULL, 'j' },
		{ "help",         no_argument,       NULL, 'h' },
		{ 0 }
	};
	const char *sub, *spec = NULL, *name = NULL, *secret_file = NULL;
	struct emp_cluster cl;
	double interval = 1;
	char *end;
	int ch, json = 0, all = 0, ret;

	cluster_defaults(&cl);
	if (argc < 2)
		return usage_error("cluster", "missing what: donors, placements, place, release, "
				   "repair, watch or gc");
	sub = argv[1];
	optind = 2;
	while ((ch = cmd_getopt("cluster", argc, argv, "E:H:s:ajk:i:h", opts)) != -1) {
		switch (ch) {
		case 'k':
			secret_file = optarg;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.1 && interval <= 3600))
				return usage_error("cluster", "--interval takes 0.1..3600 seconds");
			break;
		case 'E':
		case 'H':
			ret = cluster_opts("cluster", ch, optarg, &cl);
			if (ret)
				return ret;
			break;
		case 's':
			spec = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return usage_error("cluster", "unexpected argument '%s'", argv[optind]);
	ret = need_etcd("cluster", &cl);
	if (ret)
		return ret;
	if (!strcmp(sub, "donors") || !strcmp(sub, "placements")) {
		if (name)
			return usage_error("cluster", "unexpected argument '%s'", name);
		if (sub[0] == 'd')
			return donors(&cl, json);
		return placements(&cl, all ? NULL : cl.host ? cl.host : NULL, json);
	}
	if (!strcmp(sub, "place")) {
		if (!name || !spec)
			return usage_error("cluster", "place needs NAME and --spec SPEC");
		return place(&cl, name, spec);
	}
	if (!strcmp(sub, "release")) {
		if (all == !!name)
			return usage_error("cluster", "release needs NAME, or --all with "
					   "--cluster-host HOST");
		if (all && !cl.host)
			return usage_error("cluster", "release --all needs --cluster-host HOST "
					   "(gc cleans up this host)");
		return all ? release_all(&cl, cl.host, 0) : release(&cl, name);
	}
	if (!strcmp(sub, "repair")) {
		if (!name)
			return usage_error("cluster", "repair needs NAME");
		ret = repair_one(&cl, name, secret_file, 0);
		if (!ret)
			printf("%s: no replicated tier lost a copy\n", name);
		return ret < 0 ? EX_FAIL : EX_OK;
	}
	if (!strcmp(sub, "watch")) {
		if (name)
			return usage_error("cluster", "unexpected argument '%s'", name);
		return watch(&cl, secret_file, interval);
	}
	if (!strcmp(sub, "gc")) {
		if (name)
			return usage_error("cluster", "unexpected argument '%s'", name);
		return release_all(&cl, NULL, 1);
	}
	return usage_error("cluster", "unknown '%s': donors, placements, place, release, repair, "
			   "watch or gc", sub);
}
