/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libemp's etcd client, used by vmd's registry (tools/vmd/registry.c) and
 * by the cluster placement (emp_cluster.c). emp_etcd.c is the pure half: a
 * strict little JSON reader for etcd's v3 HTTP/JSON gateway answers, the
 * request bodies, the donor's key and value and their readers. No I/O
 * there, so it is unit-tested and fed hostile input on the host
 * (selftests/unit/etcd_test.c). emp_etcd_http.c posts the requests with
 * libcurl.
 *
 * The registry, documented in vmd(8) and docs/design.md "Cluster mode":
 *   key   /emp/v1/donors/<domain>/<addr>:<port>     ([v6]:port for IPv6)
 *   value {"version":1,"addr":"10.0.0.5","port":19675,"transports":["rdma","tcp"],
 *          "capacity":17179869184,"free":17179869184,"domain":"rack1","pid":1234}
 * bound to a lease that vmd keeps alive.
 */
#ifndef EMP_ETCD_H
#define EMP_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_KEY_PREFIX		"/emp/v1/donors/"
#define ETCD_VALUE_VERSION	1
#define ETCD_BODY_MAX		65536	/* longer answers are refused */
#define ETCD_TTL_MAX		86400	/* a granted TTL above this is absurd */
#define ETCD_LABEL_MAX		63	/* --domain */
#define ETCD_HOST_MAX		253	/* --announce */
#define ETCD_URL_MAX		200

/* What a parse of an answer says. */
enum etcd_result {
	ETCD_BAD = -1,		/* an error or a malformed answer; see the message */
	ETCD_OK = 0,
	ETCD_GONE = 1,		/* the lease does not exist (any more) */
};

/* --- JSON reader ---------------------------------------------------------- */

enum ej_type { EJ_OBJECT, EJ_ARRAY, EJ_STRING, EJ_NUMBER, EJ_LITERAL };

struct ej_tok {
	enum ej_type type;
	uint32_t start, end;	/* bytes of the value; a string's without quotes */
	uint32_t next;		/* index of the token after this value's subtree */
};

#define EJ_MAX_TOKENS	2048	/* a document with more values is refused */
#define EJ_MAX_DEPTH	16	/* nesting deeper than this is refused */

struct ej_doc {
	const char *buf;
	size_t len;
	uint32_t n;		/* tokens used; tok[0] is the whole document */
	struct ej_tok tok[EJ_MAX_TOKENS];
};

/*
 * ej_parse() - check that @buf holds exactly one JSON value and index it
 * Return: 0, or -1 with @err (@errlen bytes) saying what and where.
 * Context: pure; never reads beyond @len, never recurses deeper than
 * EJ_MAX_DEPTH.
 */
int ej_parse(struct ej_doc *d, const char *buf, size_t len, char *err, size_t errlen);

/*
 * ej_member() - the value of member @name of object token @obj
 * Return: its token index, -1 when absent or @obj is no object, -2 when
 * the name occurs twice (a hostile or broken answer).
 */
int ej_member(const struct ej_doc *d, int obj, const char *name);

/*
 * ej_int64() - an integer, given as a JSON number or (etcd's way for
 * int64 fields) a string of decimal digits
 * Return: 0, or -1 for any other type, a fraction, an exponent, or overflow.
 */
int ej_int64(const struct ej_doc *d, int tok, int64_t *v);

/* --- requests, key and value ---------------------------------------------- */

/* What a donor announces. */
struct etcd_donor {
	const char *domain;	/* checked by etcd_label_ok() */
	const char *addr;	/* checked by etcd_host_ok() */
	uint16_t port;
	bool rdma, tcp;
	uint64_t capacity, free;	/* bytes */
	long pid;
};

/* A failure-domain label: 1..63 of [A-Za-z0-9._-], not "." or "..". */
bool etcd_label_ok(const char *s);
/* An address to announce: a numeric IPv4/IPv6 address or a host name. */
bool etcd_host_ok(const char *s);
/*
 * etcd_url_check() - the --etcd URL: http://HOST[:PORT] with nothing after
 * but an optional "/"
 * Return: 0, or -1 with @msg saying why (https is refused by name).
 */
int etcd_url_check(const char *url, char *msg, size_t msglen);

/*
 * All of these write a NUL-terminated string into @buf of @len bytes.
 * Return: its length, or -1 when it does not fit.
 */
int etcd_base64(const void *in, size_t inlen, char *buf, size_t len);
int etcd_donor_key(const struct etcd_donor *d, char *buf, size_t len);
int etcd_donor_value(const struct etcd_donor *d, char *buf, size_t len);
int etcd_grant_body(long ttl, char *buf, size_t len);
int etcd_put_body(const char *key, const char *value, int64_t lease, char *buf, size_t len);
int etcd_lease_body(int64_t lease, char *buf, size_t len);	/* keepalive, revoke */

/*
 * Parsers of the gateway's answers. @body is @len bytes as received, @http
 * the HTTP status. Each fills @msg (@msglen bytes) with a one-line reason
 * when it returns ETCD_BAD or ETCD_GONE; quoted answer text in it is made
 * printable.
 */
/* POST /v3/lease/grant: the lease @id (> 0) and its @ttl (1..ETCD_TTL_MAX). */
int etcd_parse_grant(const char *body, size_t len, long http, int64_t *id, int64_t *ttl,
		     char *msg, size_t msglen);
/* POST /v3/lease/keepalive for lease @id: ETCD_GONE when it has expired. */
int etcd_parse_keepalive(const char *body, size_t len, long http, int64_t id, int64_t *ttl,
			 char *msg, size_t msglen);
/* POST /v3/kv/put or /v3/lease/revoke: ETCD_GONE when the lease is unknown. */
int etcd_parse_ack(const char *body, size_t len, long http, char *msg, size_t msglen);

/*
 * etcd_answer() - parse an answer of any call into @d and look for the
 * gateway's error forms
 * Return: ETCD_OK for a JSON object without an error, ETCD_GONE for gRPC's
 * NotFound, ETCD_BAD otherwise, with @msg.
 */
int etcd_answer(struct ej_doc *d, const char *body, size_t len, long http, char *msg,
		size_t msglen);

/*
 * ej_text() - copy string token @tok into @buf (@len bytes with the NUL)
 * Return: its length, or -1 when it is no string, holds an escape or a
 * control character, or does not fit.
 */
int ej_text(const struct ej_doc *d, int tok, char *buf, size_t len);

/* Decode base64 @in (@inlen) into @out. Return: bytes written, or -1. */
int etcd_unbase64(const char *in, size_t inlen, void *out, size_t outlen);

/* --- ranges and transactions -------------------------------------------- */

/*
 * A range request: the one key @key, or with @prefix every key that starts
 * with it, at most @limit (> 0) of them.
 */
int etcd_range_body(const char *key, int prefix, long limit, char *buf, size_t len);

/* One key of a range answer, its value decoded into the caller's buffer. */
struct etcd_kv {
	char key[256];
	const char *value;	/* into the caller's buffer, NUL-terminated */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/*
 * etcd_parse_range() - the keys of a /v3/kv/range answer
 * @kv, @room: where to put them; @vbuf, @vlen: room for their values
 * @n: keys found (0 when the gateway left "kvs" out: none)
 * @more: the answer says more keys matched than it gave
 * Return: ETCD_OK, or ETCD_BAD with @msg (a key or value that is not
 * base64, too long, or more keys than @room).
 */
int etcd_parse_range(const char *body, size_t len, long http, struct etcd_kv *kv,
		     unsigned int room, char *vbuf, size_t vlen, unsigned int *n, int *more,
		     char *msg, size_t msglen);

/*
 * etcd_parse_txn() - a /v3/kv/txn answer: @succeeded is whether the
 * comparisons held (the gateway leaves a false "succeeded" out).
 * Return: ETCD_OK or ETCD_BAD with @msg.
 */
int etcd_parse_txn(const char *body, size_t len, long http, int *succeeded, char *msg,
		   size_t msglen);

/* A donor as read back from the registry (the value of its key). */
struct etcd_donor_rec {
	char addr[ETCD_HOST_MAX + 1];
	char domain[ETCD_LABEL_MAX + 1];
	uint16_t port;
	bool rdma, tcp;
	uint64_t capacity, free;	/* bytes */
};

/* Sizes in the registry above this are absurd: refused (1 PiB). */
#define ETCD_BYTES_MAX		(1ULL << 50)

/*
 * etcd_parse_donor() - check and read a donor's value as vmd writes it
 * (version 1; unknown members are ignored, known ones must have their type
 * and a sane value: free <= capacity <= ETCD_BYTES_MAX, a port, a label,
 * an address, "rdma"/"tcp" transports)
 * Return: 0, or -1 with @msg saying what is wrong.
 */
int etcd_parse_donor(const char *json, size_t len, struct etcd_donor_rec *d, char *msg,
		     size_t msglen);

/* --- talking to etcd (emp_etcd_http.c) ------------------------------------ */

/* One connection to one etcd; not to be shared between threads. */
struct etcd_http {
	void *curl;			/* CURL * */
	void *headers;			/* struct curl_slist * */
	char url[ETCD_URL_MAX + 1];	/* without a final '/' */
	char *body;			/* the last answer, NUL-terminated */
	size_t body_len;
	bool body_over;			/* it was longer than ETCD_BODY_MAX */
};

/*
 * etcd_http_open() - check @url (etcd_url_check()), load libcurl and set
 * up a handle. Return: 0, or -1 with @msg.
 */
int etcd_http_open(struct etcd_http *h, const char *url, char *msg, size_t msglen);

/*
 * etcd_http_post() - POST @body to @path ("/v3/kv/range"), waiting at most
 * @timeout_ms (at least a second). Return: 0 with the answer in h->body and
 * the HTTP status in @http, or -1 with @msg (etcd not reached, no answer).
 */
int etcd_http_post(struct etcd_http *h, const char *path, const char *body, long timeout_ms,
		   long *http, char *msg, size_t msglen);

void etcd_http_close(struct etcd_http *h);

#endif /* EMP_ETCD_H */
