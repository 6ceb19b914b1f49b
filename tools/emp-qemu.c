// SPDX-License-Identifier: GPL-2.0
/*
 * emp-qemu: run the distribution's QEMU with guest RAM on an EMP instance.
 *
 *   emp-qemu [EMP OPTIONS] QEMU ARGUMENTS... --mem-path SPEC ...
 *
 * --mem-path/-mem-path SPEC (the tier spec of emp-spec(7), parsed by libemp
 * as empctl does) creates an instance, and the memory options are rewritten
 * for stock QEMU:
 *   -object memory-backend-file,id=emp0,mem-path=/dev/emp-NAME,size=BYTES,share=on
 *   -machine memory-backend=emp0   (and -m SIZE when none was given)
 * QEMU runs as a child; when it ends (exit, crash, failure to start) or
 * emp-qemu gets SIGINT/SIGTERM/SIGHUP/SIGQUIT (forwarded to QEMU first),
 * the instance is destroyed. A --mem-path naming a directory keeps QEMU's
 * own meaning (hugetlbfs) and is passed through. When the RAM is the
 * instance's empfs file, a virtio-balloon device with free page reporting
 * is added (--emp-no-balloon, -nodefaults or a balloon of the user's own
 * leave it out), so that the memory the guest frees is discarded. See
 * emp-qemu(8).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libemp.h"

#define EX_OK		0
#define EX_FAIL		1
#define EX_USAGE	2
#define MIB		(1ULL << 20)
#define BACKEND_ID	"emp0"
#define BALLOON_DEV	"virtio-balloon-pci,free-page-reporting=on"

static const char *prog = "emp-qemu";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: emp-qemu [EMP OPTIONS] QEMU ARGUMENTS...\n"
"Run qemu-system-x86_64 with its guest RAM on an EMP instance.\n"
"\n"
"  --mem-path SPEC, -mem-path SPEC (also =SPEC)\n"
"                 tier spec of the guest RAM, as empctl create --spec takes it\n"
"                 (emp-spec(7)), e.g. \"10.10.0.112:131072:19675|/dev/nvme1n1:131072:0|dram:32768\";\n"
"                 a directory keeps QEMU's own meaning and is passed through\n"
"  -m SIZE        QEMU's RAM size (MiB, or K/M/G/T); at most the spec's capacity.\n"
"                 Without it the RAM is the spec's capacity.\n"
"\n"
"EMP options (taken out before QEMU runs):\n"
"  --emp-name NAME         instance name (default qemu-PID)\n"
"  --emp-qemu PATH         QEMU binary (default $EMP_QEMU or qemu-system-x86_64)\n"
"  --emp-block SIZE        block size in bytes, K/M suffix (default 64K); 2M gives\n"
"                          the guest 2 MiB mappings (emp.ko huge_map)\n"
"  --emp-subblock SIZE     subblock size in bytes, K/M suffix (default 4K)\n"
"  --emp-secret-file FILE  shared secret of the remote tiers ($EMP_PMEM_SECRET_FILE)\n"
"  --emp-fs DIR            where empfs is mounted (default $EMP_FS_DIR or " EMP_FS_DIR ");\n"
"                          when it is, the RAM is the instance's file there, so\n"
"                          QEMU's discards (free page reporting, balloon) free\n"
"                          it; \"none\" uses /dev/emp-NAME, which cannot discard\n"
"  --emp-no-balloon        do not add the balloon device that emp-qemu adds when\n"
"                          the RAM is an empfs file, with which the guest\n"
"                          reports the memory it frees and QEMU discards it:\n"
"                          -device " BALLOON_DEV "\n"
"                          (never added with -nodefaults, a balloon device of\n"
"                          your own, or a machine other than pc/q35)\n"
"  --emp-etcd URL          the cluster registry (etcd, http://HOST:PORT; default\n"
"                          $EMP_ETCD) that places a cluster:SIZE tier of the spec;\n"
"                          the placement is released when the instance is\n"
"                          destroyed ($EMP_CLUSTER_HOST names this host there)\n"
"  --emp-stats             print the instance's counters when QEMU ends\n"
"  --emp-dry-run           check the spec and print the QEMU command; create nothing\n"
"  -h, --help              this help\n"
"\n"
"The instance is destroyed when QEMU ends, fails to start, or emp-qemu gets\n"
"SIGINT, SIGTERM, SIGHUP or SIGQUIT (forwarded to QEMU). Exit status: QEMU's\n"
"(128+N if it died of signal N); 1 if the instance could not be set up or\n"
"destroyed; 2 for a usage error. -daemonize is refused (emp-qemu must outlive QEMU).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see %s --help)\n", prog);
	return EX_USAGE;
}

/*
 * Is argv[*i] option @name (given without dashes) in one of the forms -name,
 * --name, -name=V, --name=V? On a match, *val is its value (consuming the
 * next argument when needed) and *i points at the last argument used.
 * Return: 1 match, 0 no match, -1 missing value.
 */
static int match_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (a[0] != '-')
		return 0;
	a += a[1] == '-' ? 2 : 1;
	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* QEMU's -m: SIZE or size=SIZE[,slots=..,maxmem=..]; a bare number is MiB. */
static int parse_qemu_m(const char *v, uint64_t *bytes)
{
	char buf[64];
	const char *s = v;
	size_t n;

	if (!strncmp(s, "size=", 5))
		s += 5;
	n = strcspn(s, ",");
	if (s != v + 5 && s[n])		/* "512,slots=2" is not QEMU syntax */
		return -EINVAL;
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	return emp_parse_size(buf, MIB, bytes);
}

static volatile sig_atomic_t got_sig;
static volatile pid_t child = -1;

static void on_signal(int sig)
{
	got_sig = sig;
	if (child > 0)
		kill(child, sig);
}

static void print_stats(int ctl, const char *name)
{
	struct emp_stat st;
	char b[2][32];

	if (emp_stat(ctl, name, &st)) {
		fprintf(stderr, "%s: stat %s: %s\n", prog, name, strerror(errno));
		return;
	}
	fprintf(stderr, "%s: instance %s: size %s, dram budget %s, faults %llu, hits %llu, "
		"zero fills %llu, fetches %llu, evictions %llu, writebacks %llu, "
		"discarded bytes %llu, io errors %llu, whole-block faults %llu\n",
		prog, name, emp_format_human(st.inst_size, b[0], sizeof(b[0])),
		emp_format_human(st.dram_budget, b[1], sizeof(b[1])),
		(unsigned long long)st.faults, (unsigned long long)st.hits,
		(unsigned long long)st.zero_fills, (unsigned long long)st.fetches,
		(unsigned long long)st.evictions, (unsigned long long)st.writebacks,
		(unsigned long long)st.discarded, (unsigned long long)st.io_errors,
		(unsigned long long)st.huge_faults);
}

/* The cluster registry, and whether this instance was placed from it. */
static struct emp_cluster cluster;
static int placed;

/* Give back the placement of @name, if it has one. */
static void release(const char *name)
{
	char err[512];

	if (placed && emp_cluster_release(name, &cluster, err, sizeof(err)))
		fprintf(stderr, "%s: %s: its placement stays in the registry: %s (empctl cluster "
			"gc releases it)\n", prog, name, err);
	placed = 0;
}

/* Destroy @name; QEMU's mapping may take a moment to go. Return: 0 or -errno. */
static int destroy(int ctl, const char *name)
{
	int i, ret = 0;

	for (i = 0; i < 50; i++) {
		ret = emp_destroy(ctl, name);
		if (ret != -EBUSY)
			break;
		usleep(100000);
	}
	if (ret)
		fprintf(stderr, "%s: destroy %s: %s (remove it with: empctl destroy %s)\n",
			prog, name, strerror(-ret), name);
	else
		release(name);
	return ret;
}

static void print_cmd(char **av)
{
	for (; *av; av++) {
		const char *a = *av;

		if (a[strcspn(a, " \t\n'\"\\|&;<>()$`*?[#~")])
			printf("'%s'", a);	/* our arguments hold no single quote */
		else
			printf("%s", a);
		putchar(av[1] ? ' ' : '\n');
	}
}

/*
 * Does the value of -M/-machine name a machine with a PCI bus that takes the
 * balloon (pc, q35 and their versions)? An option list without a type
 * ("accel=kvm", "memory-backend=...") names none: it does not count.
 * Return: 1 yes, 0 no, -1 no type named.
 */
static int pci_machine(const char *v)
{
	size_t n;

	if (!strncmp(v, "type=", 5))
		v += 5;
	n = strcspn(v, ",");
	if (memchr(v, '=', n))
		return -1;
	return (n >= 2 && !strncmp(v, "pc", 2)) || (n >= 3 && !strncmp(v, "q35", 3));
}

/* Is the value of -device (driver,key=value... or JSON) a virtio balloon? */
static int is_balloon(const char *v)
{
	return strstr(v, "virtio-balloon") != NULL;
}

/* Is @dir a mount of empfs? Then the instance's file there is its RAM. */
static int use_empfs(const char *dir)
{
	struct statfs sf;

	return strcmp(dir, "none") && !statfs(dir, &sf) && sf.f_type == EMP_FS_MAGIC;
}

int main(int argc, char **argv)
{
	const char *spec = NULL, *name_arg = NULL, *qemu, *secret_file, *m_arg = NULL, *v;
	const char *fs_dir;
	char name[EMP_NAME_MAX], dev[PATH_MAX], obj[PATH_MAX + 128], msize[32];
	char err[EMP_SPEC_ERR_MAX];
	uint64_t ram = 0, opt64;
	uint32_t block = 0, sub = 0;
	int dry = 0, stats = 0, nav = 0, i, r, ctl, ret, status, first;
	int balloon = 1;	/* cleared by --emp-no-balloon, -nodefaults, ... */
	uint8_t secret[EMP_SECRET_MAX];
	struct emp_create c;
	struct emp_spec s;
	struct sigaction sa;
	sigset_t all, old;
	struct stat sb;
	char **av;

	qemu = getenv("EMP_QEMU");
	if (!qemu || !*qemu)
		qemu = "qemu-system-x86_64";
	secret_file = getenv("EMP_PMEM_SECRET_FILE");
	if (secret_file && !*secret_file)
		secret_file = NULL;
	fs_dir = getenv("EMP_FS_DIR");
	cluster.etcd = getenv("EMP_ETCD");
	if (!fs_dir || !*fs_dir)
		fs_dir = EMP_FS_DIR;

	/* QEMU, its arguments, ours (at most 8) and the final NULL. */
	av = calloc((size_t)argc + 10, sizeof(*av));
	if (!av)
		return EX_FAIL;
	av[nav++] = NULL;	/* the QEMU binary, set below */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-help")) {
			usage(stdout);
			return EX_OK;
		}
		if (!strcmp(a, "--emp-dry-run")) {
			dry = 1;
			continue;
		}
		if (!strcmp(a, "--emp-stats")) {
			stats = 1;
			continue;
		}
		if (!strcmp(a, "--emp-no-balloon")) {
			balloon = 0;
			continue;
		}
		/* The user lists the devices (as libvirt does): add none. */
		if (!strcmp(a, "-nodefaults") || !strcmp(a, "--nodefaults"))
			balloon = 0;
		if (!strcmp(a, "-daemonize") || !strcmp(a, "--daemonize"))
			return usage_error("%s is not supported: QEMU must stay emp-qemu's child", a);
		r = 0;
		first = i;
		if ((r = match_opt(argc, argv, &i, "emp-name", &v)) > 0) {
			name_arg = v;
		} else if (!r && (r = match_opt(argc, argv, &i, "emp-qemu", &v)) > 0) {
			qemu = v;
		} else if (!r && (r = match_opt(argc, argv, &i, "emp-secret-file", &v)) > 0) {
			secret_file = v;
		} else if (!r && (r = match_opt(argc, argv, &i, "emp-etcd", &v)) > 0) {
			cluster.etcd = v;
		} else if (!r && (r = match_opt(argc, argv, &i, "emp-fs", &v)) > 0) {
			fs_dir = v;
		} else if (!r && (r = match_opt(argc, argv, &i, "emp-block", &v)) > 0) {
			if (emp_parse_size(v, 1, &opt64) || !opt64 || opt64 > UINT32_MAX)
				return usage_error("bad --emp-block size '%s'", v);
			block = (uint32_t)opt64;
		} else if (!r && (r = match_opt(argc, argv, &i, "emp-subblock", &v)) > 0) {
			if (emp_parse_size(v, 1, &opt64) || !opt64 || opt64 > UINT32_MAX)
				return usage_error("bad --emp-subblock size '%s'", v);
			sub = (uint32_t)opt64;
		} else if (!r && (r = match_opt(argc, argv, &i, "mem-path", &v)) > 0) {
			if (!stat(v, &sb) && S_ISDIR(sb.st_mode)) {
				/* hugetlbfs or another directory: QEMU's own -mem-path */
				av[nav++] = "-mem-path";
				av[nav++] = (char *)v;
				continue;
			}
			if (spec)
				return usage_error("%s: only one --mem-path", "--mem-path");
			spec = v;
		} else if (!r && (r = match_opt(argc, argv, &i, "m", &v)) > 0) {
			m_arg = v;
			av[nav++] = "-m";
			av[nav++] = (char *)v;
		} else if (!r && (r = match_opt(argc, argv, &i, "device", &v)) > 0) {
			if (is_balloon(v))
				balloon = 0;	/* the user's own */
			for (; first <= i; first++)
				av[nav++] = argv[first];
		} else if (!r && ((r = match_opt(argc, argv, &i, "M", &v)) > 0 ||
				  (!r && (r = match_opt(argc, argv, &i, "machine", &v)) > 0))) {
			if (!pci_machine(v))
				balloon = 0;	/* no PCI bus for it */
			for (; first <= i; first++)
				av[nav++] = argv[first];
		} else if (!r && !strncmp(a, "--emp-", 6)) {
			return usage_error("unknown option %s", a);
		} else if (!r) {
			av[nav++] = (char *)a;
		}
		if (r < 0)
			return usage_error("%s needs a value", a);
	}
	av[0] = (char *)qemu;

	if (!spec) {
		/* Nothing of ours to do: QEMU as it is. */
		if (dry) {
			print_cmd(av);
			return EX_OK;
		}
		execvp(qemu, av);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, qemu, strerror(errno));
		return 127;
	}
	if (name_arg) {
		if (emp_check_name(name_arg))
			return usage_error("'%s' is not an instance name ([A-Za-z0-9_.-], at most 31)",
					   name_arg);
		snprintf(name, sizeof(name), "%s", name_arg);
	} else {
		snprintf(name, sizeof(name), "qemu-%ld", (long)getpid());
	}
	if (emp_spec_parse(spec, &s, err, sizeof(err))) {
		fprintf(stderr, "%s: --mem-path \"%s\": %s\n", prog, spec, err);
		return EX_USAGE;
	}
	for (i = 0; i < (int)s.nr_tiers && s.tier[i].kind != EMP_TIER_CLUSTER; i++)
		;
	if (i < (int)s.nr_tiers) {
		if (!cluster.etcd)
			return usage_error("%s: a cluster: tier needs --emp-etcd URL or EMP_ETCD",
					   spec);
		if (dry) {
			printf("instance %s: the cluster: tier is placed from %s at start (not in "
			       "a dry run)\n", name, cluster.etcd);
			return EX_OK;
		}
		if (emp_spec_place(&s, name, &cluster, err, sizeof(err))) {
			fprintf(stderr, "%s: --mem-path: %s\n", prog, err);
			return EX_FAIL;
		}
		placed = 1;
	}
	if (emp_spec_resolve(&s, err, sizeof(err))) {
		fprintf(stderr, "%s: --mem-path: %s\n", prog, err);
		release(name);
		return EX_FAIL;
	}
	if (m_arg) {
		ret = parse_qemu_m(m_arg, &ram);
		if (ret || !ram)
			return usage_error("-m '%s': want SIZE or size=SIZE (MiB, or a K/M/G/T suffix)",
					   m_arg);
		if (ram > s.capacity) {
			fprintf(stderr, "%s: -m %s is larger than the tiers of --mem-path (%llu MiB)\n",
				prog, m_arg, (unsigned long long)(s.capacity / MIB));
			release(name);
			return EX_USAGE;
		}
	}
	if (emp_spec_to_create(&s, name, ram, block, sub, &c, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", prog, err);
		release(name);
		return EX_USAGE;
	}
	ram = c.inst_size;
	if (use_empfs(fs_dir))
		snprintf(dev, sizeof(dev), "%s/%s", fs_dir, name);
	else
		emp_inst_path(name, dev, sizeof(dev));
	/* QEMU aligns a file mapping to the page size only: 2 MiB blocks are
	 * mapped whole (emp.ko huge_map) only in a 2 MiB aligned mapping. */
	snprintf(obj, sizeof(obj), "memory-backend-file,id=" BACKEND_ID ",mem-path=%s,size=%llu,share=on%s",
		 dev, (unsigned long long)ram, c.block_size >= (2U << 20) ? ",align=2M" : "");
	av[nav++] = "-object";
	av[nav++] = obj;
	av[nav++] = "-machine";
	av[nav++] = "memory-backend=" BACKEND_ID;
	/* Only an empfs file takes QEMU's discards (on the device node they
	 * would fail, each with an error message). */
	if (balloon && use_empfs(fs_dir)) {
		av[nav++] = "-device";
		av[nav++] = BALLOON_DEV;
	}
	if (!m_arg) {
		if (ram % MIB)
			snprintf(msize, sizeof(msize), "%lluK", (unsigned long long)(ram >> 10));
		else
			snprintf(msize, sizeof(msize), "%lluM", (unsigned long long)(ram / MIB));
		av[nav++] = "-m";
		av[nav++] = msize;
	}
	av[nav] = NULL;
	if (dry) {
		char b[3][32], where[32];

		if (s.nr_tiers)
			snprintf(where, sizeof(where), "on %u tier%s", s.nr_tiers,
				 s.nr_tiers == 1 ? "" : "s");
		else
			snprintf(where, sizeof(where), "DRAM-only");
		printf("instance %s: %s %s, DRAM budget %s, block %s\n", name,
		       emp_format_human(ram, b[0], sizeof(b[0])), where,
		       emp_format_human(c.dram_budget, b[1], sizeof(b[1])),
		       emp_format_human(c.block_size, b[2], sizeof(b[2])));
		print_cmd(av);
		return EX_OK;
	}
	if (secret_file) {
		ret = emp_read_secret_file(secret_file, secret);
		if (ret < 0) {
			fprintf(stderr, "%s: secret file %s: %s\n", prog, secret_file,
				ret == -ENODATA || ret == -E2BIG ? "must hold 1..64 bytes" : strerror(-ret));
			release(name);
			return EX_FAIL;
		}
		emp_spec_set_secret(&s, secret, (uint32_t)ret);
		memset(secret, 0, sizeof(secret));
	}

	ctl = emp_ctl_open();
	if (ctl < 0) {
		fprintf(stderr, "%s: cannot open /dev/emp: %s (is emp.ko loaded?)\n", prog,
			strerror(-ctl));
		release(name);
		return EX_FAIL;
	}
	/* From here on a signal must not leave the instance behind. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);

	ret = emp_create(ctl, &c, s.tier, s.nr_tiers);
	emp_spec_set_secret(&s, (const uint8_t *)"", 0);
	if (ret) {
		fprintf(stderr, "%s: create %s: %s%s\n", prog, name, strerror(-ret),
			ret == -EEXIST ? " (name taken: --emp-name)" :
			ret == -EBUSY ? " (a block device of the spec is in use)" :
			ret == -EINVAL && !s.nr_tiers ?
			" (a DRAM-only spec needs an emp.ko with features bit 13)" : "");
		release(name);
		return EX_FAIL;
	}
	/* The device node appears through devtmpfs; give udev a moment. */
	for (i = 0; i < 50 && stat(dev, &sb); i++)
		usleep(100000);
	if (got_sig || stat(dev, &sb)) {
		if (!got_sig)
			fprintf(stderr, "%s: %s did not appear\n", prog, dev);
		destroy(ctl, name);
		return got_sig ? 128 + got_sig : EX_FAIL;
	}

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	r = fork();
	if (r == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(ctl);
		execvp(qemu, av);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, qemu, strerror(errno));
		_exit(127);
	}
	child = r;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		destroy(ctl, name);
		return EX_FAIL;
	}
	if (got_sig)
		kill(r, got_sig);
	while (waitpid(r, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 1 << 8;
			break;
		}
	}
	child = -1;
	if (stats)
		print_stats(ctl, name);
	ret = destroy(ctl, name);
	close(ctl);
	if (ret)
		return EX_FAIL;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
