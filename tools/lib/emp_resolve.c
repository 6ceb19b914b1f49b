// SPDX-License-Identifier: LGPL-2.1
/*
 * libemp: host names of remote tiers to addresses. Kept apart from the
 * spec parser (emp_spec.c), which stays pure for the fuzzer: this is the
 * one part of the spec handling that talks to the name service.
 *
 * emp.ko takes a remote tier's donor as a numeric IPv4 or IPv6 address in
 * emp_tier.path (kmod/tier_remote.c emp_tier_addr()), with no zone index,
 * so a name becomes one such address here, at create time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "emp_internal.h"
#include "libemp.h"

void emp_say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

int emp_resolve_host(const char *host, char *addr, size_t len, char *err, size_t errlen)
{
	const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai, *v4 = NULL, *v6 = NULL;
	const void *bin;
	int rc, saved;

	if (err && errlen)
		err[0] = '\0';
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc) {
		saved = errno;
		emp_say(err, errlen, "cannot resolve host '%s': %s", host,
		    rc == EAI_SYSTEM ? strerror(saved) : gai_strerror(rc));
		switch (rc) {
		case EAI_AGAIN:
			return -EAGAIN;
		case EAI_MEMORY:
			return -ENOMEM;
		case EAI_SYSTEM:
			return saved ? -saved : -EIO;
		default:
			return -ENOENT;
		}
	}
	/* IPv4 first: what donors are usually configured with, and what the
	 * rest of the tools print; else IPv6 without a zone (emp.ko takes none). */
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && !v4)
			v4 = ai;
		else if (ai->ai_family == AF_INET6 && !v6 &&
			 !((struct sockaddr_in6 *)ai->ai_addr)->sin6_scope_id)
			v6 = ai;
	}
	ai = v4 ? v4 : v6;
	if (!ai) {
		freeaddrinfo(res);
		emp_say(err, errlen, "cannot resolve host '%s': no IPv4 address, nor an IPv6 address "
		    "without a zone", host);
		return -ENOENT;
	}
	bin = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	if (!inet_ntop(ai->ai_family, bin, addr, (socklen_t)len)) {
		saved = errno;
		freeaddrinfo(res);
		emp_say(err, errlen, "cannot resolve host '%s': %s", host, strerror(saved));
		return -saved;
	}
	freeaddrinfo(res);
	return 0;
}

int emp_spec_resolve(struct emp_spec *s, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned int i;
	int ret;

	for (i = 0; i < s->nr_tiers; i++) {
		struct emp_tier *t = &s->tier[i];

		if (t->kind != EMP_TIER_RDMA && t->kind != EMP_TIER_TCP)
			continue;
		/* By address, or already resolved: the path is no longer the name. */
		if (!s->host[i][0] || strcmp(t->path, s->host[i]))
			continue;
		ret = emp_resolve_host(s->host[i], addr, sizeof(addr), err, errlen);
		if (ret)
			return ret;
		snprintf(t->path, sizeof(t->path), "%s", addr);
	}
	return 0;
}
