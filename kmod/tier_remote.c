// SPDX-License-Identifier: GPL-2.0
/*
 * What the remote tiers, TCP (in emp.ko) and RDMA (emp_rdma.ko), share:
 * the donor's address from a tier description, and the HELLO exchange of
 * the donor wire protocol (uapi/linux/emp_wire.h), building the request
 * and judging the donor's answer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/utsname.h>

#include "emp_tier.h"

/**
 * emp_tier_addr() - socket address of a remote tier
 * @desc: tier description: path holds an IPv4 or IPv6 address, port the port
 * @ss:   out
 *
 * Context: Any context.
 * Return: the address length, or -EINVAL if @desc->path is not an address.
 */
int emp_tier_addr(const struct emp_tier *desc, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t len = strnlen(desc->path, EMP_PATH_MAX);

	memset(ss, 0, sizeof(*ss));
	if (in4_pton(desc->path, len, (u8 *)&sin->sin_addr, -1, NULL) &&
	    len == strlen(desc->path)) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(desc->port);
		return sizeof(*sin);
	}
	if (in6_pton(desc->path, len, (u8 *)&sin6->sin6_addr, -1, NULL)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(desc->port);
		return sizeof(*sin6);
	}
	return -EINVAL;
}
EXPORT_SYMBOL_GPL(emp_tier_addr);

/**
 * emp_tier_peer() - name a remote tier's donor for messages
 * @desc: tier description
 * @buf:  out: "ADDR:PORT"
 * @len:  room at @buf; EMP_PEER_MAX always suffices
 *
 * Context: Any context.
 */
void emp_tier_peer(const struct emp_tier *desc, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", desc->path, desc->port);
}
EXPORT_SYMBOL_GPL(emp_tier_peer);

/**
 * emp_wire_hello_init() - build the HELLO message of a remote tier
 * @m:       out, zeroed here
 * @desc:    the tier (size and secret)
 * @session: 0 to open a region, else the session to join
 *
 * Context: Any context.
 */
void emp_wire_hello_init(struct emp_wire_hello_msg *m, const struct emp_tier *desc,
			 u64 session)
{
	BUILD_BUG_ON(sizeof(struct emp_wire_hdr) != EMP_WIRE_HDR_SIZE);
	BUILD_BUG_ON(sizeof(struct emp_wire_hello) != EMP_WIRE_HELLO_SIZE);
	BUILD_BUG_ON(sizeof(struct emp_wire_hello_reply) != EMP_WIRE_HELLO_REPLY_SIZE);
	BUILD_BUG_ON(EMP_SECRET_MAX != EMP_WIRE_SECRET_MAX);

	memset(m, 0, sizeof(*m));
	m->h.magic = cpu_to_le32(EMP_WIRE_MAGIC);
	m->h.op = cpu_to_le16(EMP_WIRE_HELLO);
	m->h.length = cpu_to_le32(sizeof(m->hello));
	m->hello.major = cpu_to_le16(EMP_WIRE_MAJOR);
	m->hello.minor = cpu_to_le16(EMP_WIRE_MINOR);
	m->hello.region_size = cpu_to_le64(desc->size);
	m->hello.session = cpu_to_le64(session);
	m->hello.secret_len = cpu_to_le32(desc->secret_len);
	memcpy(m->hello.secret, desc->secret, desc->secret_len);
	strscpy(m->hello.client, utsname()->nodename, sizeof(m->hello.client));
}
EXPORT_SYMBOL_GPL(emp_wire_hello_init);

/**
 * emp_wire_reply_check() - judge the donor's HELLO_REPLY
 * @what: "tcp tier ADDR:PORT" or the like, for messages
 * @m:    the reply as received (its reason is NUL-terminated here)
 * @desc: the tier asked for
 *
 * Context: Any context.
 * Return: 0 if the donor granted the region; -EPROTO for a peer that does
 * not speak our protocol or another major version, -EACCES for a refused
 * secret, -ENOSPC when the donor lacks the memory, -ECONNREFUSED otherwise.
 * Each refusal is logged with the donor's reason.
 */
int emp_wire_reply_check(const char *what, struct emp_wire_reply_msg *m,
			 const struct emp_tier *desc)
{
	u32 st = le32_to_cpu(m->r.status);

	m->r.reason[sizeof(m->r.reason) - 1] = 0;
	if (le32_to_cpu(m->h.magic) != EMP_WIRE_MAGIC ||
	    le16_to_cpu(m->h.op) != EMP_WIRE_HELLO_REPLY ||
	    le32_to_cpu(m->h.length) != sizeof(m->r)) {
		pr_notice("%s: not an EMP donor (bad reply header)\n", what);
		return -EPROTO;
	}
	if (le16_to_cpu(m->r.major) != EMP_WIRE_MAJOR) {
		pr_notice("%s: donor speaks protocol %u.%u, we speak %u.%u\n", what,
			  le16_to_cpu(m->r.major), le16_to_cpu(m->r.minor),
			  EMP_WIRE_MAJOR, EMP_WIRE_MINOR);
		return -EPROTO;
	}
	switch (st) {
	case EMP_WIRE_OK:
		break;
	case EMP_WIRE_EAUTH:
		pr_notice("%s: donor refused the secret: %s\n", what, m->r.reason);
		return -EACCES;
	case EMP_WIRE_ENOMEM:
		pr_notice("%s: donor out of memory: %s\n", what, m->r.reason);
		return -ENOSPC;
	default:
		pr_notice("%s: donor refused (status %u): %s\n", what, st, m->r.reason);
		return -ECONNREFUSED;
	}
	if (le64_to_cpu(m->r.region_size) < desc->size) {
		pr_notice("%s: donor granted %llu bytes, asked %llu\n", what,
			  le64_to_cpu(m->r.region_size), desc->size);
		return -ENOSPC;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(emp_wire_reply_check);
