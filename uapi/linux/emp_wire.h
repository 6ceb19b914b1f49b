/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * EMP wire protocol between a compute node (emp.ko's remote tiers) and a
 * donor (vmd). Shared by the kernel and vmd; nothing else.
 *
 * All integers are little-endian and fixed width. Every message is a
 * struct emp_wire_hdr followed by hdr.length payload bytes.
 *
 * A connection starts with HELLO (client) and HELLO_REPLY (server). A
 * refused HELLO gets a reply with a nonzero status and a reason, and the
 * server closes the connection. A client opens a new region with
 * session 0; further connections (one per queue) join it with the session
 * number of the first reply. The region lives until its last connection
 * closes; vmd zeroes it before handing it out.
 *
 * TCP: after HELLO, the client sends READ (no payload; io_len bytes wanted)
 * and WRITE (io_len bytes of payload) requests with a tag of its choice;
 * the server answers each with REPLY carrying the same tag, a status, and
 * for READ the data. Requests may be pipelined; replies come in order.
 *
 * RDMA: HELLO and HELLO_REPLY travel as SEND messages on the connected QP;
 * the reply carries the region's address and an rkey valid on that
 * connection only (the donor registers the region once per connection), and
 * the client then uses one-sided RDMA READ/WRITE only. Clients must ask for
 * at least one outstanding RDMA READ (initiator depth) when connecting.
 *
 * Errors: an error REPLY has no payload and echoes the request's tag. Over
 * TCP, EMP_WIRE_EINVAL closes the connection; EMP_WIRE_ERANGE does not.
 * EMP_WIRE_MAX_IO bounds TCP requests only. Joining a session with another
 * size is EMP_WIRE_EINVAL; a session whose connections are all gone is
 * freed, and a later join gets EMP_WIRE_ENOENT.
 *
 * Version: a different major is refused (EMP_WIRE_EVERSION) by either
 * side with a message naming both versions; a different minor is accepted
 * (minors only add fields in reserved space, which must be zero).
 */
#ifndef _UAPI_LINUX_EMP_WIRE_H
#define _UAPI_LINUX_EMP_WIRE_H

#include <linux/types.h>

#define EMP_WIRE_MAGIC		0x57504d45	/* "EMPW" as little-endian bytes */
#define EMP_WIRE_MAJOR		1
#define EMP_WIRE_MINOR		0
#define EMP_WIRE_PORT		19675		/* default port */
#define EMP_WIRE_SECRET_MAX	64
#define EMP_WIRE_NAME_MAX	32
#define EMP_WIRE_REASON_MAX	64
#define EMP_WIRE_MAX_IO		(1U << 20)	/* largest READ/WRITE, bytes */
#define EMP_WIRE_IO_ALIGN	4096		/* offsets and lengths are multiples */

enum emp_wire_op {
	EMP_WIRE_HELLO		= 1,	/* payload: struct emp_wire_hello */
	EMP_WIRE_HELLO_REPLY	= 2,	/* payload: struct emp_wire_hello_reply */
	EMP_WIRE_READ		= 3,	/* TCP: no payload */
	EMP_WIRE_WRITE		= 4,	/* TCP: io_len bytes of payload */
	EMP_WIRE_REPLY		= 5,	/* TCP: READ data as payload, if status 0 */
};

enum emp_wire_status {
	EMP_WIRE_OK		= 0,
	EMP_WIRE_EVERSION	= 1,	/* incompatible major version */
	EMP_WIRE_EAUTH		= 2,	/* secret missing or wrong */
	EMP_WIRE_ENOMEM		= 3,	/* donor has not that much memory left */
	EMP_WIRE_EINVAL		= 4,	/* malformed message */
	EMP_WIRE_ERANGE		= 5,	/* outside the client's region */
	EMP_WIRE_ENOENT		= 6,	/* unknown session */
	EMP_WIRE_EIO		= 7,	/* the donor failed the request */
};

/**
 * struct emp_wire_hdr - starts every message
 * @magic:    EMP_WIRE_MAGIC
 * @op:       enum emp_wire_op
 * @flags:    zero
 * @length:   payload bytes after this header
 * @status:   replies: enum emp_wire_status; requests: zero
 * @tag:      chosen by the client, echoed in the reply
 * @offset:   READ/WRITE: byte offset inside the region
 * @io_len:   READ/WRITE/REPLY: bytes to transfer
 * @reserved: zero
 */
struct emp_wire_hdr {
	__le32 magic;
	__le16 op;
	__le16 flags;
	__le32 length;
	__le32 status;
	__le64 tag;
	__le64 offset;
	__le32 io_len;
	__le32 reserved;
};
#define EMP_WIRE_HDR_SIZE	40

/**
 * struct emp_wire_hello - first message of a client
 * @major, @minor: the client's protocol version
 * @flags:       zero
 * @region_size: bytes wanted (new session) or expected (join)
 * @session:     0 to open a region, else the session to join
 * @secret_len:  bytes used in @secret
 * @reserved0:   zero
 * @secret:      shared secret, if the donor requires one
 * @client:      name for the donor's log, NUL-padded
 * @reserved:    zero
 */
struct emp_wire_hello {
	__le16 major;
	__le16 minor;
	__le32 flags;
	__le64 region_size;
	__le64 session;
	__le32 secret_len;
	__le32 reserved0;
	__u8   secret[EMP_WIRE_SECRET_MAX];
	char   client[EMP_WIRE_NAME_MAX];
	__le64 reserved[2];
};
#define EMP_WIRE_HELLO_SIZE	144

/**
 * struct emp_wire_hello_reply - the donor's answer to HELLO
 * @major, @minor: the donor's protocol version
 * @status:      enum emp_wire_status
 * @region_size: bytes of the region
 * @session:     session number to join with further connections
 * @rdma_addr:   RDMA: remote address of the region
 * @rdma_rkey:   RDMA: its rkey
 * @reserved0:   zero
 * @reason:      NUL-terminated text when @status is not OK
 * @reserved:    zero
 */
struct emp_wire_hello_reply {
	__le16 major;
	__le16 minor;
	__le32 status;
	__le64 region_size;
	__le64 session;
	__le64 rdma_addr;
	__le32 rdma_rkey;
	__le32 reserved0;
	char   reason[EMP_WIRE_REASON_MAX];
	__le64 reserved[2];
};
#define EMP_WIRE_HELLO_REPLY_SIZE	120

#endif /* _UAPI_LINUX_EMP_WIRE_H */
