/* SPDX-License-Identifier: GPL-2.0 */
/*
 * client: what vmd-client and vmd-fuzz share: a TCP client of the EMP wire
 * protocol, a small random generator, and TAP output.
 */
#ifndef VMD_CLIENT_H
#define VMD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/*
 * Seconds a test waits for any answer before it calls vmd stuck: generous,
 * for a TCG guest on a loaded host (a timeout is no correctness check).
 */
#define CL_TIMEOUT	20

/* Connect to @addr (numeric or name) @port with a CL_TIMEOUT receive timeout. Return: fd or -1. */
int cl_connect(const char *addr, uint16_t port);

/* Return: 0, or -1 (errno set; EPIPE/ECONNRESET when vmd closed). */
int cl_send(int fd, const void *buf, size_t len);

/* Exactly @len bytes. Return: 0, 1 at EOF before any byte, -1 otherwise. */
int cl_recv(int fd, void *buf, size_t len);

/* True when vmd closes the connection (EOF or reset) within CL_TIMEOUT. */
bool cl_closed(int fd);

/* A HELLO for protocol EMP_WIRE_MAJOR.EMP_WIRE_MINOR. @secret may be NULL. */
void cl_hello_init(struct wire_hello *h, uint64_t size, uint64_t session,
		   const char *secret, const char *name);

/*
 * Send the HELLO message @msg of @len bytes and read the HELLO_REPLY into
 * @rep. Return: 0 with any reply status, -1 on a broken or malformed reply.
 */
int cl_hello_raw(int fd, const void *msg, size_t len, struct wire_hello_reply *rep);
int cl_hello(int fd, const struct wire_hello *h, struct wire_hello_reply *rep);

/*
 * One READ or WRITE (@op) of @len bytes at @off, tagged @tag: WRITE sends
 * @data, READ fills it when the reply is OK. Return: the reply status, or
 * -1 on a broken or malformed reply.
 */
int cl_io(int fd, uint16_t op, uint64_t tag, uint64_t off, uint32_t len, void *data);

/* Send only the request of cl_io() (WRITE with its data), for pipelining. */
int cl_io_send(int fd, uint16_t op, uint64_t tag, uint64_t off, uint32_t len, const void *data);
/* Read one reply to a request sent with cl_io_send(). Return: as cl_io(). */
int cl_io_recv(int fd, uint16_t op, uint64_t tag, uint32_t len, void *data);

/* xorshift64*: reproducible test data and fuzz input. */
uint64_t cl_rand(uint64_t *state);
void cl_fill(void *buf, size_t len, uint64_t seed);

/* TAP: a plan, then one line per test; diagnostics start with "# ". */
void tap_plan(unsigned int n);
void tap_result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Return: the exit status, 0 if every planned test passed. */
int tap_done(void);

#endif /* VMD_CLIENT_H */
