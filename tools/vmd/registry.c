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
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emp_etcd.h"
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

	struct etcd_http http;		/* the answer is in http.body */
	char key[256];
	struct etcd_donor donor;
	int64_t lease;			/* 0: not registered */
	int64_t ttl;			/* as granted */
	uint64_t put_free;		/* the free bytes etcd has */
	bool lost;			/* a failure was logged; log the recovery */
} reg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Milliseconds between keepalives and between retries: a third of the TTL. */
static long interval_ms(void)
{
	long ttl = reg.ttl > 0 ? (long)reg.ttl : (long)vmd_cfg.etcd_ttl;

	return ttl * 1000 / 3;
}

/* POST @body to @path, waiting a keepalive interval at most. */
static int post(const char *path, const char *body, long *http, char *msg, size_t msglen)
{
	return etcd_http_post(&reg.http, path, body, interval_ms(), http, msg, msglen);
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
	r = etcd_parse_ack(reg.http.body, reg.http.body_len, http, msg, msglen);
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
	if (etcd_parse_grant(reg.http.body, reg.http.body_len, http, &id, &ttl, msg, msglen)) {
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
	r = etcd_parse_keepalive(reg.http.body, reg.http.body_len, http, reg.lease, &ttl, msg, msglen);
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
		r = etcd_parse_ack(reg.http.body, reg.http.body_len, http, msg, sizeof(msg));
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
		reg.http.url, (unsigned long long)reg.lease, (long long)reg.ttl,
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
	char msg[256];
	int err;

	if (!vmd_cfg.etcd_url)
		return 0;
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
	if (etcd_http_open(&reg.http, vmd_cfg.etcd_url, msg, sizeof(msg))) {
		vmd_log("error: etcd: %s", msg);
		return -1;
	}
	if (do_register(msg, sizeof(msg))) {
		vmd_log("error: etcd at %s: cannot register %s: %s", reg.http.url, reg.key, msg);
		goto out_cleanup;
	}
	log_registered("registered");

	err = pthread_create(&reg.thread, NULL, registry_thread, NULL);
	if (err) {
		vmd_log("error: etcd: cannot start the registry thread: %s", strerror(err));
		revoke_lease();
		goto out_cleanup;
	}
	reg.running = true;
	return 0;

out_cleanup:
	etcd_http_close(&reg.http);
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
	etcd_http_close(&reg.http);
}
