// SPDX-License-Identifier: LGPL-2.1
/*
 * libemp: the I/O half of the etcd client, shared by vmd's registry and
 * the cluster placement (emp_cluster.c): POST a JSON body to etcd's v3
 * HTTP/JSON gateway and keep the answer, with libcurl.
 *
 * libcurl is loaded with dlopen when a tool is first asked to talk to
 * etcd, not linked: a donor or a host without a cluster needs neither
 * libcurl nor the thirty libraries it links (which the test guests'
 * initramfs would carry for every tool). Only curl.h's types and
 * constants are used at build time.
 */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emp_etcd.h"

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
static pthread_mutex_t cu_lock = PTHREAD_MUTEX_INITIALIZER;

/* Load libcurl's functions (once). Return: 0, or -1 with @msg. */
static int curl_load(char *msg, size_t msglen)
{
	static const char *const names[] = { "libcurl.so.4", "libcurl-gnutls.so.4" };
	char why[160] = "";
	void *so = NULL;
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&cu_lock);
	if (cu.so)
		goto out;
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && !so; i++) {
		so = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!so && !i)
			snprintf(why, sizeof(why), "%s", dlerror());
	}
	if (!so) {
		snprintf(msg, msglen, "talking to etcd needs libcurl (Debian's libcurl4): %s", why);
		ret = -1;
		goto out;
	}
#define CU_SYM(field, sym) \
	if (!(*(void **)&cu.field = dlsym(so, sym))) goto missing
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
	cu.so = so;
	goto out;
missing:
	snprintf(msg, msglen, "libcurl lacks a function: %s", dlerror());
	dlclose(so);
	ret = -1;
out:
	pthread_mutex_unlock(&cu_lock);
	return ret;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct etcd_http *h = arg;
	size_t len = size * n;

	if (len > ETCD_BODY_MAX - h->body_len) {
		h->body_over = true;
		return 0;		/* makes curl stop with a write error */
	}
	memcpy(h->body + h->body_len, p, len);
	h->body_len += len;
	return len;
}

int etcd_http_open(struct etcd_http *h, const char *url, char *msg, size_t msglen)
{
	size_t n;

	memset(h, 0, sizeof(*h));
	if (etcd_url_check(url, msg, msglen))
		return -1;
	n = strlen(url);
	if (n && url[n - 1] == '/')
		n--;
	snprintf(h->url, sizeof(h->url), "%.*s", (int)n, url);
	if (curl_load(msg, msglen))
		return -1;
	h->body = malloc(ETCD_BODY_MAX + 1);
	if (!h->body)
		goto fail;
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail_free;
	h->curl = cu.easy_init();
	if (!h->curl)
		goto fail_global;
	cu.easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);	/* threads: no SIGALRM */
	cu.easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http");
	cu.easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	cu.easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	cu.easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	cu.easy_setopt(h->curl, CURLOPT_NOPROXY, "*");	/* etcd is on our network */
	h->headers = cu.slist_append(NULL, "Content-Type: application/json");
	cu.easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	return 0;

fail_global:
	cu.global_cleanup();
fail_free:
	free(h->body);
	h->body = NULL;
fail:
	snprintf(msg, msglen, "cannot set up libcurl");
	return -1;
}

int etcd_http_post(struct etcd_http *h, const char *path, const char *body, long timeout_ms,
		   long *http, char *msg, size_t msglen)
{
	char url[ETCD_URL_MAX + 32];
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", h->url, path);
	h->body_len = 0;
	h->body_over = false;
	cu.easy_setopt(h->curl, CURLOPT_URL, url);
	cu.easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	cu.easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms < 1000 ? 1000L : timeout_ms);
	rc = cu.easy_perform(h->curl);
	if (rc != CURLE_OK) {
		if (h->body_over)
			snprintf(msg, msglen, "%s: answer longer than %d bytes", path, ETCD_BODY_MAX);
		else
			snprintf(msg, msglen, "%s: %s", path, cu.easy_strerror(rc));
		return -1;
	}
	cu.easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, http);
	h->body[h->body_len] = 0;
	return 0;
}

void etcd_http_close(struct etcd_http *h)
{
	if (!h->curl)
		return;
	cu.slist_free_all(h->headers);
	cu.easy_cleanup(h->curl);
	cu.global_cleanup();
	free(h->body);
	memset(h, 0, sizeof(*h));
}
