// SPDX-License-Identifier: GPL-2.0
/*
 * empd's state as JSON (schema in empd(8)), served two ways: on a unix
 * socket (connect, read to the end, done) and, when configured, over
 * HTTP/1.0 on 127.0.0.1 (GET / answers the same JSON). A client gets one
 * second to take its answer: the daemon serves it inline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "empd.h"

static const unsigned int cold_ages[EMP_COLD_BUCKETS] = EMP_COLD_AGES;

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void inst_json(FILE *f, const struct empd_inst *in)
{
	const struct empd_pin *p = &in->pin;
	unsigned int i;

	fprintf(f, "{\"name\":");
	jstr(f, in->name);
	fprintf(f, ",\"rule\":");
	jstr(f, in->rule->pattern);
	fprintf(f, ",\"size\":%llu,\"block_size\":%u,\"budget\":%llu,\"min\":%llu,\"max\":%llu,"
		"\"weight\":%u,\"resident\":%llu,\"working_set\":%llu,\"monitor\":%s,",
		(unsigned long long)in->st.inst_size, in->st.block_size,
		(unsigned long long)p->budget, (unsigned long long)in->pout.lo,
		(unsigned long long)in->pout.hi, p->weight, (unsigned long long)p->resident,
		(unsigned long long)in->pout.ws, in->monitor ? "true" : "false");
	if (p->have_rates)
		fprintf(f, "\"stall_permille\":%.1f,\"refaults_per_s\":%.2f,", p->stall, p->refaults);
	else
		fprintf(f, "\"stall_permille\":null,\"refaults_per_s\":null,");
	fprintf(f, "\"pressure\":%u,\"pressure_threshold\":%u,\"cold_age_s\":%llu,"
		"\"idle_age_s\":%u,\"cold\":", in->st.pressure, in->st.pressure_threshold,
		(unsigned long long)in->st.cold_age_s, in->rule->idle_age);
	if (p->have_cold)
		fprintf(f, "%llu", (unsigned long long)p->cold);
	else
		fprintf(f, "null");
	fprintf(f, ",\"cold_bytes\":{");
	for (i = 0; i < EMP_COLD_BUCKETS; i++)
		fprintf(f, "%s\"%u\":%llu", i ? "," : "", cold_ages[i],
			(unsigned long long)in->st.cold_bytes[i]);
	fprintf(f, "},\"want\":%llu,\"reason\":\"%s\",\"last_change\":",
		(unsigned long long)in->pout.want, empd_reason_name(in->pout.reason));
	if (in->last_change)
		fprintf(f, "{\"time\":%.3f,\"reason\":\"%s\"}}", in->last_change,
			empd_reason_name(in->last_reason));
	else
		fprintf(f, "null}");
}

char *empd_report_json(const struct empd *d, size_t *len)
{
	char *buf = NULL;
	uint64_t sum = 0;
	unsigned int i, k;
	FILE *f;

	f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	for (i = 0; i < d->nr_inst; i++)
		sum += d->inst[i].pin.budget;
	fprintf(f, "{\"version\":\"%s\",\"time\":%.3f,\"started\":%.3f,\"config\":", EMPD_VERSION,
		empd_wall(), d->started);
	jstr(f, d->cfg_path);
	fprintf(f, ",\"pool\":{\"size\":%llu,\"budgets\":%llu,\"free\":%llu},"
		"\"interval_ms\":%u,\"evaluations\":%llu,\"events\":%s,\"dry_run\":%s,"
		"\"instances\":[", (unsigned long long)d->cfg.pool, (unsigned long long)sum,
		(unsigned long long)(sum < d->cfg.pool ? d->cfg.pool - sum : 0), d->cfg.interval_ms,
		(unsigned long long)d->evaluations, d->events ? "true" : "false",
		d->dry_run ? "true" : "false");
	for (i = 0; i < d->nr_inst; i++) {
		if (i)
			fputc(',', f);
		inst_json(f, &d->inst[i]);
	}
	fprintf(f, "],\"decisions\":[");
	/* Oldest first. */
	for (k = 0; k < d->hist_len; k++) {
		const struct empd_decision *h =
			&d->hist[(d->hist_next + d->cfg.history - d->hist_len + k) % d->cfg.history];

		fprintf(f, "%s{\"time\":%.3f,\"name\":", k ? "," : "", h->when);
		jstr(f, h->name);
		fprintf(f, ",\"from\":%llu,\"to\":%llu,\"reason\":\"%s\",\"stall_permille\":%.1f,"
			"\"refaults_per_s\":%.2f,\"working_set\":%llu,\"error\":",
			(unsigned long long)h->from, (unsigned long long)h->to,
			empd_reason_name(h->reason), h->stall, h->refaults,
			(unsigned long long)h->ws);
		if (h->err)
			jstr(f, strerror(-h->err));
		else
			fprintf(f, "null");
		fputc('}', f);
	}
	fprintf(f, "]}\n");
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int empd_listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a killed empd: nobody answers on it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		goto out_close;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0644) || listen(fd, 16)) {
		err = -errno;
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
}

int empd_listen_http(unsigned int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, one = 1, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Accept one client, blocking, with one second for each send and receive. */
static int accept_client(int lfd)
{
	struct timeval tv = { .tv_sec = 1 };
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			empd_log(LOG_WARNING, "accept: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		empd_log(LOG_WARNING, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void empd_serve_unix(const struct empd *d, int lfd)
{
	int fd = accept_client(lfd);
	size_t len;
	char *json;

	if (fd < 0)
		return;
	json = empd_report_json(d, &len);
	if (!json || send_all(fd, json, len))
		empd_log(LOG_DEBUG, "report client: %s", json ? "send failed" : "out of memory");
	free(json);
	close(fd);
}

/* Read the request head (up to a blank line, 4 KiB at most). */
static int read_head(int fd, char *buf, size_t room)
{
	size_t n = 0;

	while (n + 1 < room) {
		ssize_t r = recv(fd, buf + n, room - 1 - n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
	}
	return -1;
}

void empd_serve_http(const struct empd *d, int lfd)
{
	char head[4096], hdr[256];
	int fd = accept_client(lfd), n;
	const char *status = "200 OK";
	char *json = NULL;
	size_t len = 0;

	if (fd < 0)
		return;
	if (read_head(fd, head, sizeof(head))) {
		close(fd);
		return;
	}
	if (strncmp(head, "GET / ", 6) && strncmp(head, "GET /?", 6) && strncmp(head, "HEAD / ", 7))
		status = strncmp(head, "GET ", 4) && strncmp(head, "HEAD ", 5) ?
			"405 Method Not Allowed" : "404 Not Found";
	else
		json = empd_report_json(d, &len);
	if (!json && !strncmp(status, "200", 3))
		status = "500 Internal Server Error";
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
		     json ? "application/json" : "text/plain", json ? len : strlen(status) + 1);
	if (send_all(fd, hdr, (size_t)n) == 0 && strncmp(head, "HEAD", 4)) {
		if (json)
			send_all(fd, json, len);
		else if (!send_all(fd, status, strlen(status)))
			send_all(fd, "\n", 1);
	}
	free(json);
	close(fd);
}
