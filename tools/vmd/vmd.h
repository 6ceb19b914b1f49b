/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmd internals: configuration, the memory pool and its sessions, logging,
 * and the two transports (tcp.c, rdma.c) that vmd.c drives from one poll
 * loop.
 */
#ifndef VMD_H
#define VMD_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct vmd_config {
	uint64_t pool_bytes;		/* -m: memory exported in total */
	uint16_t port;			/* -p */
	const char *device;		/* -d: RDMA device, NULL for no RDMA */
	const char *address;		/* -a: address to listen on, NULL for all */
	bool tcp;			/* --tcp */
	bool have_secret;
	uint32_t secret_len;
	uint8_t secret[EMP_WIRE_SECRET_MAX];	/* zero-padded */
	unsigned int max_conns;		/* --max-clients: connections at once */
	bool verbose;			/* -v */
	const char *etcd_url;		/* --etcd: register there, NULL for not */
	const char *domain;		/* --domain: failure domain, or the host name */
	const char *announce;		/* --announce, or -a: the address clients use */
	long etcd_ttl;			/* --etcd-ttl: lease TTL, seconds */
};
extern struct vmd_config vmd_cfg;

/* Set by a transport (from the main thread) that cannot go on: vmd exits 1. */
extern bool vmd_failed;

/* How long a connection may take to send its HELLO, seconds. */
#define VMD_HELLO_TIMEOUT	10

/* Who is on the other end of a connection, for the log. */
struct vmd_peer {
	const char *transport;		/* "tcp" or "rdma" */
	char addr[64];			/* "10.0.0.1:40000", "[fe80::1]:40000" */
	char name[EMP_WIRE_NAME_MAX + 1];	/* from HELLO, "-" before */
};

/*
 * A session: one client's region. Each accepted connection holds one
 * reference; the last one to go unmaps the region and returns its bytes to
 * the pool. The session list and refs are protected by the pool lock
 * (vmd.c); id, size and mem never change while a reference is held.
 */
struct vmd_session {
	uint64_t id;			/* random, nonzero; joins by this number */
	uint64_t size;			/* bytes */
	void *mem;			/* zero-filled anonymous mapping */
	unsigned int refs;		/* connections using the session */
	struct vmd_session *next;
};

/* log.c-like helpers in vmd.c: one line to stderr, timestamped. */
void vmd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define vmd_dbg(...) do { if (vmd_cfg.verbose) vmd_log(__VA_ARGS__); } while (0)

/* "a.b.c.d:port" or "[v6]:port" of a socket address. Return: @buf. */
char *vmd_format_addr(const void *sockaddr, char *buf, size_t len);

/*
 * vmd_hello() - answer a HELLO payload, for either transport
 * @peer:    who sent it; its name is filled from the HELLO
 * @payload: @len bytes as received
 * @rep:     the reply to send (status OK or a refusal with a reason)
 *
 * Checks version, shape and secret, then opens a new session or joins one.
 * Logs the connect or the refusal.
 * Return: the session (one reference for the caller, drop it with
 * vmd_session_put()) or NULL when @rep refuses.
 */
struct vmd_session *vmd_hello(struct vmd_peer *peer, const void *payload, uint32_t len,
			      struct wire_hello_reply *rep);

/* Log a refused HELLO or a malformed message, with its status name. */
void vmd_log_refused(const struct vmd_peer *p, uint32_t status, const char *reason);

/* Drop a connection's reference; logs the disconnect. */
void vmd_session_put(struct vmd_session *s, const struct vmd_peer *peer);

/* Bytes of the pool not held by a session. Context: takes the pool lock. */
uint64_t vmd_pool_free(void);

/*
 * The cluster registry (registry.c, --etcd), vmd.c's calls into it:
 * vmd_registry_init() first of all; vmd_registry_start() once the
 * transports listen (0, or -1 after logging why: vmd exits 1);
 * vmd_registry_note() whenever the pool's free bytes changed (any thread,
 * no lock held); vmd_registry_stop() before the transports stop: it
 * revokes the lease, so the key goes at once. Without --etcd they do
 * nothing.
 */
void vmd_registry_init(void);
int vmd_registry_start(void);
void vmd_registry_note(void);
void vmd_registry_stop(void);

/* Count a new connection against --max-clients. Return: false if full. */
bool vmd_conn_get(void);
void vmd_conn_put(void);

/*
 * A transport: sets itself up from vmd_cfg, adds its file descriptors to
 * the poll set, handles their events, and stops, closing every connection.
 * vmd.c calls them from its single main thread.
 */
struct vmd_transport {
	const char *name;
	int (*start)(void);		/* 0 or -1 after logging why */
	int (*fds)(struct pollfd *pfd, int room);	/* fills, returns count */
	void (*handle)(const struct pollfd *pfd, int n);	/* after poll() */
	void (*tick)(void);		/* about once a second */
	void (*stop)(void);
};
extern const struct vmd_transport vmd_tcp;
extern const struct vmd_transport vmd_rdma;

#endif /* VMD_H */
