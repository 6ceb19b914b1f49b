// SPDX-License-Identifier: GPL-2.0
/*
 * vmd's cluster registry (--etcd URL): vmd announces itself in etcd under
 * /emp/v1/donors/<domain>/<addr>:<port> (etcd.h gives the value), bound to
 * a lease it keeps alive, and keeps the free bytes in the value current.
 * etcd is reached through its v3 HTTP/JSON gateway with libcurl.
 *
 * At start, registering is done from the main thread and a failure stops
 * vmd (exit 1): a donor that was asked to be found and cannot be is a
 * set-up error. Afterwards one registry thread does all the talking: a
 * keepalive every TTL/3, a put when the free bytes change, and, when etcd
 * cannot be reached or the lease is gone, a log line (once) and a retry
 * every TTL/3, registering with a new lease once etcd answers again;
 * clients are served all along. On a clean stop the lease is revoked, so
 * the key goes at once; a vmd that dies leaves it to the lease's expiry.
 */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "vmd.h"

/*
 * The registry's state. lock protects stop and kick; the rest belongs to
 * whoever talks to etcd: the main thread in vmd_registry_start(), then
 * the registry thread alone.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* on CLOCK_MONOTONIC */
	bool stop;			/* under lock: revoke and end */
	bool kick;			/* under lock: the free bytes changed */
	bool running;			/* the thread exists (main thread only) */
	pthread_t thread;

	CURL *curl;
	struct curl_slist *headers;	/* Content-Type */
	char url[ETCD_URL_MAX + 1];	/* without a final '/' */
	char key[256];
	struct etcd_donor donor;
	char *body;			/* an answer, ETCD_BODY_MAX + 1 bytes */
	size_t body_len;
	bool body_over;			/* the answer was longer */
	int64_t lease;			/* 0: not registered */
	int64_t ttl;			/* as granted */
	uint64_t put_free;		/* the free bytes etcd has */
	bool lost;			/* a failure was logged; log the recovery */
} reg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * libcurl, loaded when --etcd is given (dlopen) rather than linked: a donor
 * without a registry needs neither libcurl nor the thirty libraries it
 * links (which the test guests' initramfs would carry for every vmd). Only
 * curl.h's types and constants are used at build time.
 */
static struct {
	void *so;
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *curl);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} cu;

/* Load libcurl's functions (once). Return: 0, or -1 with the reason logged. */
static int curl_load(void)
{
	static const char *const names[] = { "libcurl.so.4", "libcurl-gnutls.so.4" };
	const char *why = "";
	size_t i;

	if (cu.so)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && !cu.so; i++) {
		cu.so = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!cu.so && !i)
			why = dlerror();
	}
	if (!cu.so) {
		vmd_log("error: etcd: --etcd needs libcurl (libcurl4): %s", why);
		return -1;
	}
#define CU_SYM(field, sym) \
	if (!(*(void **)&cu.field = dlsym(cu.so, sym))) goto missing
	CU_SYM(global_init, "curl_global_init");
	CU_SYM(global_cleanup, "curl_global_cleanup");
	CU_SYM(easy_init, "curl_easy_init");
	CU_SYM(easy_setopt, "curl_easy_setopt");
	CU_SYM(easy_perform, "curl_easy_perform");
	CU_SYM(easy_getinfo, "curl_easy_getinfo");
	CU_SYM(easy_strerror, "curl_easy_strerror");
	CU_SYM(easy_cleanup, "curl_easy_cleanup");
	CU_SYM(slist_append, "curl_slist_append");
	CU_SYM(slist_free_all, "curl_slist_free_all");
#undef CU_SYM
	return 0;
missing:
	vmd_log("error: etcd: libcurl lacks a function: %s", dlerror());
	dlclose(cu.so);
	cu.so = NULL;
	return -1;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	size_t len = size * n;

	if (len > ETCD_BODY_MAX - reg.body_len) {
		reg.body_over = true;
		return 0;		/* makes curl stop with a write error */
	}
	memcpy(reg.body + reg.body_len, p, len);
	reg.body_len += len;
	return len;
}

/* Milliseconds between keepalives and between retries: a third of the TTL. */
static long interval_ms(void)
{
	long ttl = reg.ttl > 0 ? (long)reg.ttl : (long)vmd_cfg.etcd_ttl;

	return ttl * 1000 / 3;
}

/*
 * POST @body to @path. Return: 0 with the answer in reg.body and the HTTP
 * status in @http, or -1 with @msg.
 */
static int post(const char *path, const char *body, long *http, char *msg, size_t msglen)
{
	char url[ETCD_URL_MAX + 32];
	long tmo = interval_ms();
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", reg.url, path);
	reg.body_len = 0;
	reg.body_over = false;
	cu.easy_setopt(reg.curl, CURLOPT_URL, url);
	cu.easy_setopt(reg.curl, CURLOPT_POSTFIELDS, body);
	cu.easy_setopt(reg.curl, CURLOPT_TIMEOUT_MS, tmo < 1000 ? 1000L : tmo);
	rc = cu.easy_perform(reg.curl);
	if (rc != CURLE_OK) {
		if (reg.body_over)
			snprintf(msg, msglen, "%s: answer longer than %d bytes", path, ETCD_BODY_MAX);
		else
			snprintf(msg, msglen, "%s: %s", path, cu.easy_strerror(rc));
		return -1;
	}
	cu.easy_getinfo(reg.curl, CURLINFO_RESPONSE_CODE, http);
	reg.body[reg.body_len] = 0;
	return 0;
}

/* Prefix @msg with the call's path, for the log (cutting @msg's end if need be). */
static void name_call(const char *path, char *msg, size_t msglen)
{
	size_t p = strlen(path) + 2, n = strlen(msg);

	if (p >= msglen)
		return;
	if (n + p >= msglen)
		n = msglen - p - 1;
	memmove(msg + p, msg, n);
	msg[p + n] = 0;
	memcpy(msg, path, p - 2);
	memcpy(msg + p - 2, ": ", 2);
}

/* Put the value with the free bytes of now. Return: an etcd_result. */
static int put_value(char *msg, size_t msglen)
{
	char value[512], body[2048];
	long http;
	int r;

	reg.donor.free = vmd_pool_free();
	if (etcd_donor_value(&reg.donor, value, sizeof(value)) < 0 ||
	    etcd_put_body(reg.key, value, reg.lease, body, sizeof(body)) < 0) {
		snprintf(msg, msglen, "the value does not fit");
		return ETCD_BAD;
	}
	if (post("/v3/kv/put", body, &http, msg, msglen))
		return ETCD_BAD;
	r = etcd_parse_ack(reg.body, reg.body_len, http, msg, msglen);
	if (r != ETCD_OK) {
		name_call("/v3/kv/put", msg, msglen);
		return r;
	}
	reg.put_free = reg.donor.free;
	return ETCD_OK;
}

/* Grant a lease and put the key under it. Return: 0 or -1 with @msg. */
static int do_register(char *msg, size_t msglen)
{
	char body[64];
	int64_t id, ttl;
	long http;

	reg.lease = 0;
	etcd_grant_body(vmd_cfg.etcd_ttl, body, sizeof(body));
	if (post("/v3/lease/grant", body, &http, msg, msglen))
		return -1;
	if (etcd_parse_grant(reg.body, reg.body_len, http, &id, &ttl, msg, msglen)) {
		name_call("/v3/lease/grant", msg, msglen);
		return -1;
	}
	reg.lease = id;
	reg.ttl = ttl;
	if (put_value(msg, msglen) != ETCD_OK) {
		reg.lease = 0;	/* it expires by itself */
		return -1;
	}
	return 0;
}

/* Return: an etcd_result. */
static int keepalive(char *msg, size_t msglen)
{
	char body[64];
	int64_t ttl;
	long http;
	int r;

	etcd_lease_body(reg.lease, body, sizeof(body));
	if (post("/v3/lease/keepalive", body, &http, msg, msglen))
		return ETCD_BAD;
	r = etcd_parse_keepalive(reg.body, reg.body_len, http, reg.lease, &ttl, msg, msglen);
	if (r != ETCD_OK)
		name_call("/v3/lease/keepalive", msg, msglen);
	return r;
}

static void revoke_lease(void)
{
	char body[64], msg[256];
	long http;
	int r = ETCD_BAD;

	if (!reg.lease)
		return;
	etcd_lease_body(reg.lease, body, sizeof(body));
	if (!post("/v3/lease/revoke", body, &http, msg, sizeof(msg)))
		r = etcd_parse_ack(reg.body, reg.body_len, http, msg, sizeof(msg));
	if (r == ETCD_BAD)
		vmd_log("etcd: cannot revoke lease %llx (%s); %s goes when it expires",
			(unsigned long long)reg.lease, msg, reg.key);
	else
		vmd_log("etcd: %s removed", reg.key);
	reg.lease = 0;
}

static void log_lost(const char *what, const char *msg)
{
	if (reg.lost) {
		vmd_dbg("etcd: still %s: %s", what, msg);
		return;
	}
	reg.lost = true;
	vmd_log("etcd: %s: %s; still serving clients, retrying every %ld ms",
		what, msg, interval_ms());
}

static void log_registered(const char *how)
{
	vmd_log("etcd: %s %s at %s (lease %llx, TTL %lld s, %llu bytes free)", how, reg.key,
		reg.url, (unsigned long long)reg.lease, (long long)reg.ttl,
		(unsigned long long)reg.put_free);
}

static struct timespec after_ms(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

static bool passed(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void step(struct timespec *next_ka);

/*
 * After a keepalive or a put that did not succeed: a lease etcd no longer
 * has means registering again at once; anything else is a loss, logged
 * once. Return: true when @r was not ETCD_OK (the round is over).
 */
static bool step_failed(int r, const char *msg, struct timespec *next_ka)
{
	if (r == ETCD_GONE) {
		/* etcd was away longer than the TTL: the key went with the lease. */
		vmd_log("etcd: %s; registering again", msg);
		reg.lease = 0;
		reg.lost = true;
		step(next_ka);
		return true;
	}
	if (r != ETCD_OK) {
		log_lost("lost", msg);
		return true;
	}
	return false;
}

/* One round: register again, keep alive, or bring the free bytes up to date. */
static void step(struct timespec *next_ka)
{
	char msg[256];
	int r;

	if (!reg.lease) {
		if (do_register(msg, sizeof(msg))) {
			log_lost("cannot register", msg);
		} else {
			reg.lost = false;
			log_registered("registered again:");
		}
		*next_ka = after_ms(interval_ms());
		return;
	}
	if (passed(next_ka)) {
		r = keepalive(msg, sizeof(msg));
		*next_ka = after_ms(interval_ms());
		if (step_failed(r, msg, next_ka))
			return;
	}
	if (vmd_pool_free() != reg.put_free) {
		r = put_value(msg, sizeof(msg));
		if (step_failed(r, msg, next_ka))
			return;
		vmd_dbg("etcd: %llu bytes free now", (unsigned long long)reg.put_free);
	}
	if (reg.lost) {
		reg.lost = false;
		log_registered("reachable again:");
	}
}

static void *registry_thread(void *arg)
{
	struct timespec next_ka = after_ms(interval_ms()), wake;

	pthread_mutex_lock(&reg.lock);
	for (;;) {
		/* While lost, retry at the keepalive pace; changes wait for it. */
		wake = next_ka;
		while (!reg.stop && !(reg.kick && reg.lease && !reg.lost) && !passed(&wake))
			pthread_cond_timedwait(&reg.cond, &reg.lock, &wake);
		if (reg.stop)
			break;
		reg.kick = false;
		pthread_mutex_unlock(&reg.lock);
		step(&next_ka);
		pthread_mutex_lock(&reg.lock);
	}
	pthread_mutex_unlock(&reg.lock);
	revoke_lease();
	return NULL;
}

void vmd_registry_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&reg.cond, &ca);
	pthread_condattr_destroy(&ca);
}

void vmd_registry_note(void)
{
	if (!vmd_cfg.etcd_url)
		return;
	pthread_mutex_lock(&reg.lock);
	reg.kick = true;
	pthread_cond_signal(&reg.cond);
	pthread_mutex_unlock(&reg.lock);
}

int vmd_registry_start(void)
{
	bool said = false;	/* the failure is logged */
	char msg[256];
	size_t n;
	int err;

	if (!vmd_cfg.etcd_url)
		return 0;
	n = strlen(vmd_cfg.etcd_url);
	snprintf(reg.url, sizeof(reg.url), "%.*s", (int)(n && vmd_cfg.etcd_url[n - 1] == '/' ?
							   n - 1 : n), vmd_cfg.etcd_url);
	reg.donor = (struct etcd_donor){
		.domain = vmd_cfg.domain,
		.addr = vmd_cfg.announce,
		.port = vmd_cfg.port,
		.rdma = vmd_cfg.device != NULL,
		.tcp = vmd_cfg.tcp,
		.capacity = vmd_cfg.pool_bytes,
		.pid = (long)getpid(),
	};
	if (etcd_donor_key(&reg.donor, reg.key, sizeof(reg.key)) < 0) {
		vmd_log("error: etcd: cannot make a key of domain '%s' and address '%s'",
			vmd_cfg.domain, vmd_cfg.announce);
		return -1;
	}
	if (curl_load())
		return -1;
	reg.body = malloc(ETCD_BODY_MAX + 1);
	if (!reg.body)
		goto out_nomem;
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out_free;
	reg.curl = cu.easy_init();
	if (!reg.curl)
		goto out_global;
	cu.easy_setopt(reg.curl, CURLOPT_NOSIGNAL, 1L);	/* threads: no SIGALRM */
	cu.easy_setopt(reg.curl, CURLOPT_PROTOCOLS_STR, "http");
	cu.easy_setopt(reg.curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	cu.easy_setopt(reg.curl, CURLOPT_WRITEFUNCTION, on_data);
	cu.easy_setopt(reg.curl, CURLOPT_NOPROXY, "*");	/* etcd is on our network */
	reg.headers = cu.slist_append(NULL, "Content-Type: application/json");
	cu.easy_setopt(reg.curl, CURLOPT_HTTPHEADER, reg.headers);

	if (do_register(msg, sizeof(msg))) {
		vmd_log("error: etcd at %s: cannot register %s: %s", reg.url, reg.key, msg);
		said = true;
		goto out_cleanup;
	}
	log_registered("registered");

	err = pthread_create(&reg.thread, NULL, registry_thread, NULL);
	if (err) {
		vmd_log("error: etcd: cannot start the registry thread: %s", strerror(err));
		said = true;
		revoke_lease();
		goto out_cleanup;
	}
	reg.running = true;
	return 0;

out_cleanup:
	cu.slist_free_all(reg.headers);
	cu.easy_cleanup(reg.curl);
	reg.curl = NULL;
out_global:
	cu.global_cleanup();
out_free:
	free(reg.body);
	reg.body = NULL;
out_nomem:
	if (!said)
		vmd_log("error: etcd: cannot set up libcurl");
	return -1;
}

void vmd_registry_stop(void)
{
	if (!reg.running)
		return;
	pthread_mutex_lock(&reg.lock);
	reg.stop = true;
	pthread_cond_signal(&reg.cond);
	pthread_mutex_unlock(&reg.lock);
	pthread_join(reg.thread, NULL);
	reg.running = false;
	cu.slist_free_all(reg.headers);
	cu.easy_cleanup(reg.curl);
	reg.curl = NULL;
	cu.global_cleanup();
	free(reg.body);
	reg.body = NULL;
}
