// SPDX-License-Identifier: GPL-2.0
/*
 * vmd: the EMP donor daemon. Exports part of this machine's DRAM to EMP
 * compute nodes over RDMA (one-sided READ/WRITE into a registered region)
 * and/or TCP (READ/WRITE messages), speaking uapi/linux/emp_wire.h.
 *
 * This file: command line, the memory pool and its sessions, the log, and
 * the main loop that drives the transports (tcp.c, rdma.c) and stops on
 * SIGTERM/SIGINT. With --etcd, registry.c announces the donor in etcd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "emp_etcd.h"
#include "libemp.h"
#include "vmd.h"

struct vmd_config vmd_cfg = {
	.port = EMP_WIRE_PORT,
	.max_conns = 1024,
};
bool vmd_failed;

/*
 * The pool: bytes handed out and the sessions holding them.
 * pool_lock protects pool_used, sessions (the list and each refs) and
 * nr_conns. Nothing else is taken under it, and it is never held across
 * mmap/munmap or I/O.
 */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t pool_used;
static struct vmd_session *sessions;
static unsigned int nr_conns;

void vmd_log(const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ld vmd: ", ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines of several threads never interleave. */
	fprintf(stderr, "%s\n", line);
}

char *vmd_format_addr(const void *sockaddr, char *buf, size_t len)
{
	const struct sockaddr *sa = sockaddr;
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = sockaddr;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sockaddr;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(buf, len, "%s:%u", ip, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
		}
	} else {
		snprintf(buf, len, "(family %u)", sa->sa_family);
	}
	return buf;
}

static char *fmt_size(uint64_t bytes, char *buf, size_t len)
{
	return emp_format_size(bytes, buf, len);
}

void vmd_log_refused(const struct vmd_peer *p, uint32_t status, const char *reason)
{
	vmd_log("refused %s %s '%s': %s: %s", p->transport, p->addr, p->name,
		wire_status_name(status), reason);
}

uint64_t vmd_pool_free(void)
{
	uint64_t free_bytes;

	pthread_mutex_lock(&pool_lock);
	free_bytes = vmd_cfg.pool_bytes - pool_used;
	pthread_mutex_unlock(&pool_lock);
	return free_bytes;
}

bool vmd_conn_get(void)
{
	bool ok;

	pthread_mutex_lock(&pool_lock);
	ok = nr_conns < vmd_cfg.max_conns;
	if (ok)
		nr_conns++;
	pthread_mutex_unlock(&pool_lock);
	return ok;
}

void vmd_conn_put(void)
{
	pthread_mutex_lock(&pool_lock);
	nr_conns--;
	pthread_mutex_unlock(&pool_lock);
}

static struct vmd_session *session_find(uint64_t id)
{
	struct vmd_session *s;

	for (s = sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* A new session of @size bytes, or NULL with @rep set to the refusal. */
static struct vmd_session *session_new(uint64_t size, struct wire_hello_reply *rep)
{
	char a[32], b[32], msg[EMP_WIRE_REASON_MAX];
	struct vmd_session *s;
	uint64_t id;

	s = calloc(1, sizeof(*s));
	if (!s) {
		wire_reply_refuse(rep, EMP_WIRE_ENOMEM, "vmd out of memory");
		return NULL;
	}
	pthread_mutex_lock(&pool_lock);
	if (size > vmd_cfg.pool_bytes - pool_used) {
		snprintf(msg, sizeof(msg), "asked %s, vmd has %s free",
			 fmt_size(size, a, sizeof(a)),
			 fmt_size(vmd_cfg.pool_bytes - pool_used, b, sizeof(b)));
		pthread_mutex_unlock(&pool_lock);
		free(s);
		wire_reply_refuse(rep, EMP_WIRE_ENOMEM, msg);
		return NULL;
	}
	pool_used += size;	/* reserved now, so racing HELLOs see it */
	pthread_mutex_unlock(&pool_lock);
	vmd_registry_note();

	/* A fresh anonymous mapping reads as zeros: nothing of an earlier client. */
	s->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED) {
		snprintf(msg, sizeof(msg), "cannot map %s: %s", fmt_size(size, a, sizeof(a)),
			 strerror(errno));
		pthread_mutex_lock(&pool_lock);
		pool_used -= size;
		pthread_mutex_unlock(&pool_lock);
		vmd_registry_note();
		free(s);
		wire_reply_refuse(rep, EMP_WIRE_ENOMEM, msg);
		return NULL;
	}
	s->size = size;
	s->refs = 1;

	pthread_mutex_lock(&pool_lock);
	/* Random numbers, so a client cannot guess another's session. */
	do {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL) << 32;
	} while (!id || session_find(id));
	s->id = id;
	s->next = sessions;
	sessions = s;
	pthread_mutex_unlock(&pool_lock);
	return s;
}

/* Join session @id of @size bytes, or NULL with @rep set to the refusal. */
static struct vmd_session *session_join(uint64_t id, uint64_t size, struct wire_hello_reply *rep)
{
	char a[32], b[32], msg[EMP_WIRE_REASON_MAX];
	struct vmd_session *s;

	pthread_mutex_lock(&pool_lock);
	s = session_find(id);
	if (!s) {
		pthread_mutex_unlock(&pool_lock);
		snprintf(msg, sizeof(msg), "no session %016llx", (unsigned long long)id);
		wire_reply_refuse(rep, EMP_WIRE_ENOENT, msg);
		return NULL;
	}
	if (s->size != size) {
		snprintf(msg, sizeof(msg), "session has %s, client expects %s",
			 fmt_size(s->size, a, sizeof(a)), fmt_size(size, b, sizeof(b)));
		pthread_mutex_unlock(&pool_lock);
		wire_reply_refuse(rep, EMP_WIRE_EINVAL, msg);
		return NULL;
	}
	s->refs++;
	pthread_mutex_unlock(&pool_lock);
	return s;
}

struct vmd_session *vmd_hello(struct vmd_peer *peer, const void *payload, uint32_t len,
			      struct wire_hello_reply *rep)
{
	char reason[EMP_WIRE_REASON_MAX], a[32], b[32];
	struct vmd_session *s;
	struct wire_hello h;
	uint64_t free_bytes;
	bool joined;
	int st;

	st = wire_hello_parse(payload, len, &h, reason);
	if (len == EMP_WIRE_HELLO_SIZE) {
		wire_hello_unpack(payload, &h);
		wire_client_name(h.client, peer->name);
	}
	if (st != EMP_WIRE_OK) {
		wire_reply_refuse(rep, (uint32_t)st, reason);
		goto refused;
	}
	if (vmd_cfg.have_secret &&
	    !wire_secret_equal(vmd_cfg.secret, vmd_cfg.secret_len, h.secret, h.secret_len)) {
		wire_reply_refuse(rep, EMP_WIRE_EAUTH, "secret missing or wrong");
		goto refused;
	}
	joined = h.session != 0;
	s = joined ? session_join(h.session, h.region_size, rep) : session_new(h.region_size, rep);
	if (!s)
		goto refused;

	memset(rep, 0, sizeof(*rep));
	rep->major = EMP_WIRE_MAJOR;
	rep->minor = EMP_WIRE_MINOR;
	rep->status = EMP_WIRE_OK;
	rep->region_size = s->size;
	rep->session = s->id;
	pthread_mutex_lock(&pool_lock);
	free_bytes = vmd_cfg.pool_bytes - pool_used;
	pthread_mutex_unlock(&pool_lock);
	vmd_log("connect %s %s '%s' protocol %u.%u: %s session %016llx of %s (%s free)",
		peer->transport, peer->addr, peer->name, h.major, h.minor,
		joined ? "joined" : "new", (unsigned long long)s->id,
		fmt_size(s->size, a, sizeof(a)), fmt_size(free_bytes, b, sizeof(b)));
	return s;

refused:
	vmd_log_refused(peer, rep->status, rep->reason);
	return NULL;
}

void vmd_session_put(struct vmd_session *s, const struct vmd_peer *peer)
{
	unsigned int refs;
	char a[32];

	pthread_mutex_lock(&pool_lock);
	refs = --s->refs;
	if (!refs) {
		struct vmd_session **pp = &sessions;

		while (*pp != s)
			pp = &(*pp)->next;
		*pp = s->next;
		pool_used -= s->size;
	}
	pthread_mutex_unlock(&pool_lock);

	vmd_log("disconnect %s %s '%s': session %016llx, %u connection%s left",
		peer->transport, peer->addr, peer->name, (unsigned long long)s->id, refs,
		refs == 1 ? "" : "s");
	if (refs)
		return;
	vmd_registry_note();
	munmap(s->mem, s->size);
	vmd_log("session %016llx freed, %s back to the pool", (unsigned long long)s->id,
		fmt_size(s->size, a, sizeof(a)));
	free(s);
}

/* --- command line ----------------------------------------------------------- */

static const char usage[] =
"usage: vmd -m MiB [-p PORT] [-d RDMA_DEVICE] [-a ADDRESS] [--tcp]\n"
"           [--secret-file FILE | --secret STRING] [--max-clients N] [-v]\n"
"           [--etcd URL [--domain LABEL] [--announce ADDR] [--etcd-ttl S]]\n"
"\n"
"Export MiB of this machine's DRAM to EMP compute nodes (the remote DRAM\n"
"tier of emp.ko). One vmd serves RDMA and TCP clients at once from one pool:\n"
"  -d DEVICE          serve RDMA on this device (e.g. mlx5_0, rxe0)\n"
"  --tcp              serve TCP as well (or only, without -d)\n"
"At least one of the two is needed. Both listen on PORT.\n"
"\n"
"  -m, --memory MiB   memory exported in total (suffixes K, M, G, T accepted)\n"
"  -p, --port PORT    port to listen on (default 19675)\n"
"  -a, --address ADDR listen on this address only (default: all)\n"
"      --secret-file FILE  clients must send the secret in FILE (one line)\n"
"      --secret STRING     the same on the command line (visible in ps)\n"
"      --max-clients N     connections at once, both transports (default 1024)\n"
"  -v, --verbose      log every malformed message and connection event\n"
"  -h, --help         this text\n"
"\n"
"Cluster registry (etcd v3, through its HTTP/JSON gateway):\n"
"      --etcd URL          register at this etcd endpoint (http://HOST:PORT) under\n"
"                          /emp/v1/donors/DOMAIN/ADDR:PORT, bound to a lease kept\n"
"                          alive, with the free memory kept current; removed on\n"
"                          SIGTERM/SIGINT, or when the lease expires if vmd dies.\n"
"                          vmd exits 1 if it cannot register at start; later it\n"
"                          keeps serving and retries until etcd is back\n"
"      --domain LABEL      failure domain, e.g. a rack (default: the host name)\n"
"      --announce ADDR     address compute nodes use (default: -a's; required\n"
"                          when vmd listens on every address)\n"
"      --etcd-ttl S        lease TTL in seconds, 2..3600 (default 10)\n"
"\n"
"Each client gets its own zero-filled region (a session), which further\n"
"connections of that client join by session number; the region is freed\n"
"when its last connection closes. Logs go to stderr. SIGTERM or SIGINT stops\n"
"vmd: clients are disconnected, memory is freed, the exit status is 0.\n"
"See vmd(8).\n";

static void __attribute__((noreturn)) die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vmd --help'.\n");
	exit(2);
}

static void set_secret(const char *s, size_t len, const char *from)
{
	if (len == 0)
		die_usage("the secret from %s is empty", from);
	if (len > EMP_WIRE_SECRET_MAX) {
		fprintf(stderr, "vmd: the secret from %s has %zu bytes, at most %d allowed\n",
			from, len, EMP_WIRE_SECRET_MAX);
		exit(2);
	}
	memcpy(vmd_cfg.secret, s, len);
	vmd_cfg.secret_len = (uint32_t)len;
	vmd_cfg.have_secret = true;
}

static void read_secret_file(const char *path)
{
	char buf[EMP_WIRE_SECRET_MAX + 3];
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "vmd: cannot read secret file %s: %s\n", path, strerror(errno));
		exit(2);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* One line: a final newline (or CR LF) is not part of the secret. */
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	set_secret(buf, n, path);
	explicit_bzero(buf, sizeof(buf));
}

/* -a ADDRESS is every address: 0.0.0.0 or ::. */
static bool is_wildcard(const char *a)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, a, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	return inet_pton(AF_INET6, a, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
}

/* --etcd and its companions, after the rest of the command line. */
static void check_registry_args(void)
{
	static char host[256];
	char msg[128];

	if (!vmd_cfg.etcd_url) {
		if (vmd_cfg.domain || vmd_cfg.announce || vmd_cfg.etcd_ttl)
			die_usage("%s", "--domain, --announce and --etcd-ttl need --etcd URL");
		return;
	}
	if (etcd_url_check(vmd_cfg.etcd_url, msg, sizeof(msg)))
		die_usage("--etcd: %s", msg);
	if (!vmd_cfg.etcd_ttl)
		vmd_cfg.etcd_ttl = 10;
	if (!vmd_cfg.domain) {
		if (gethostname(host, sizeof(host) - 1) || !etcd_label_ok(host))
			die_usage("%s", "--etcd: the host name is no failure-domain label; give --domain LABEL");
		vmd_cfg.domain = host;
	}
	if (!etcd_label_ok(vmd_cfg.domain))
		die_usage("--domain %s: want 1 to 63 of A-Z a-z 0-9 . _ -", vmd_cfg.domain);
	if (!vmd_cfg.announce) {
		if (!vmd_cfg.address || is_wildcard(vmd_cfg.address))
			die_usage("%s", "--etcd: vmd listens on every address; give --announce ADDR, "
				  "the address compute nodes reach it at (or -a ADDRESS)");
		vmd_cfg.announce = vmd_cfg.address;
	}
	if (!etcd_host_ok(vmd_cfg.announce) || is_wildcard(vmd_cfg.announce))
		die_usage("--announce %s: want an IP address or a host name", vmd_cfg.announce);
}

static void parse_args(int argc, char **argv)
{
	enum { OPT_TCP = 256, OPT_SECRET_FILE, OPT_SECRET, OPT_MAX_CLIENTS, OPT_ETCD,
	       OPT_DOMAIN, OPT_ANNOUNCE, OPT_ETCD_TTL };
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "port", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "address", required_argument, NULL, 'a' },
		{ "tcp", no_argument, NULL, OPT_TCP },
		{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "etcd", required_argument, NULL, OPT_ETCD },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "announce", required_argument, NULL, OPT_ANNOUNCE },
		{ "etcd-ttl", required_argument, NULL, OPT_ETCD_TTL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool have_mem = false;
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "m:p:d:a:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (emp_parse_size(optarg, 1 << 20, &vmd_cfg.pool_bytes) ||
			    vmd_cfg.pool_bytes < EMP_WIRE_IO_ALIGN)
				die_usage("-m %s: want a size in MiB, e.g. 16384", optarg);
			/* Regions are whole pages; so is the pool. */
			vmd_cfg.pool_bytes -= vmd_cfg.pool_bytes % EMP_WIRE_IO_ALIGN;
			have_mem = true;
			break;
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 65535)
				die_usage("-p %s: want a port number 1..65535", optarg);
			vmd_cfg.port = (uint16_t)v;
			break;
		case 'd':
			vmd_cfg.device = optarg;
			break;
		case 'a':
			vmd_cfg.address = optarg;
			break;
		case OPT_TCP:
			vmd_cfg.tcp = true;
			break;
		case OPT_SECRET_FILE:
			if (vmd_cfg.have_secret)
				die_usage("%s: give one secret only", "--secret-file");
			read_secret_file(optarg);
			break;
		case OPT_SECRET:
			if (vmd_cfg.have_secret)
				die_usage("%s: give one secret only", "--secret");
			set_secret(optarg, strlen(optarg), "--secret");
			break;
		case OPT_MAX_CLIENTS:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 65536)
				die_usage("--max-clients %s: want a number 1..65536", optarg);
			vmd_cfg.max_conns = (unsigned int)v;
			break;
		case OPT_ETCD:
			vmd_cfg.etcd_url = optarg;
			break;
		case OPT_DOMAIN:
			vmd_cfg.domain = optarg;
			break;
		case OPT_ANNOUNCE:
			vmd_cfg.announce = optarg;
			break;
		case OPT_ETCD_TTL:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 2 || v > 3600)
				die_usage("--etcd-ttl %s: want seconds 2..3600", optarg);
			vmd_cfg.etcd_ttl = v;
			break;
		case 'v':
			vmd_cfg.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'vmd --help'.\n");
			exit(2);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!have_mem)
		die_usage("%s", "-m MiB is required: how much memory to export");
	if (!vmd_cfg.device && !vmd_cfg.tcp)
		die_usage("%s", "nothing to serve: give -d RDMA_DEVICE, --tcp, or both");
	check_registry_args();
}

/* --- main loop -------------------------------------------------------------- */

#define MAX_POLL 16

int main(int argc, char **argv)
{
	const struct vmd_transport *tr[2];
	struct pollfd pfd[MAX_POLL];
	int first[2], count[2];
	int nr_tr = 0, sfd, i, err = 0;
	struct rlimit rl;
	time_t last_tick;
	sigset_t sigs;
	char a[32];

	parse_args(argc, argv);
	vmd_registry_init();

	/* Signals arrive through signalfd in this loop, never in a thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		vmd_log("error: signalfd: %s", strerror(errno));
		return 1;
	}
	/* A TCP connection costs a descriptor: allow as many as the hard limit. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (vmd_cfg.device)
		tr[nr_tr++] = &vmd_rdma;
	if (vmd_cfg.tcp)
		tr[nr_tr++] = &vmd_tcp;
	for (i = 0; i < nr_tr; i++) {
		if (tr[i]->start()) {
			while (i--)
				tr[i]->stop();
			close(sfd);
			return 1;
		}
	}
	/* Announced once it listens; at start etcd must answer (registry.c). */
	if (vmd_registry_start()) {
		for (i = nr_tr; i--; )
			tr[i]->stop();
		close(sfd);
		return 1;
	}
	vmd_log("serving %s, protocol %u.%u, %s, at most %u connections",
		fmt_size(vmd_cfg.pool_bytes, a, sizeof(a)), EMP_WIRE_MAJOR, EMP_WIRE_MINOR,
		vmd_cfg.have_secret ? "secret required" : "no secret", vmd_cfg.max_conns);

	last_tick = time(NULL);
	for (;;) {
		int n = 1;

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (i = 0; i < nr_tr; i++) {
			first[i] = n;
			count[i] = tr[i]->fds(pfd + n, MAX_POLL - n);
			n += count[i];
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) {
			vmd_log("error: poll: %s", strerror(errno));
			err = 1;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				vmd_log("%s: stopping", strsignal((int)si.ssi_signo));
				break;
			}
		}
		for (i = 0; i < nr_tr; i++)
			tr[i]->handle(pfd + first[i], count[i]);
		if (vmd_failed) {
			err = 1;
			break;
		}
		if (time(NULL) != last_tick) {
			last_tick = time(NULL);
			for (i = 0; i < nr_tr; i++)
				tr[i]->tick();
		}
	}

	/* Out of the registry first, so no compute node picks a donor that goes. */
	vmd_registry_stop();
	for (i = nr_tr; i--; )
		tr[i]->stop();
	close(sfd);
	if (sessions || pool_used) {
		vmd_log("error: %s still in use after stopping", fmt_size(pool_used, a, sizeof(a)));
		err = 1;
	}
	vmd_log("stopped");
	return err;
}
