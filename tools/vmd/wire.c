// SPDX-License-Identifier: GPL-2.0
/* wire: pack, unpack and check EMP wire messages (see wire.h). */
#include <assert.h>
#include <endian.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

/* The uapi structs must have exactly the documented layout. */
static_assert(sizeof(struct emp_wire_hdr) == EMP_WIRE_HDR_SIZE, "hdr size");
static_assert(sizeof(struct emp_wire_hello) == EMP_WIRE_HELLO_SIZE, "hello size");
static_assert(sizeof(struct emp_wire_hello_reply) == EMP_WIRE_HELLO_REPLY_SIZE, "reply size");
static_assert(offsetof(struct emp_wire_hdr, tag) == 16, "hdr.tag");
static_assert(offsetof(struct emp_wire_hdr, io_len) == 32, "hdr.io_len");
static_assert(offsetof(struct emp_wire_hello, secret) == 32, "hello.secret");
static_assert(offsetof(struct emp_wire_hello, client) == 96, "hello.client");
static_assert(offsetof(struct emp_wire_hello, reserved) == 128, "hello.reserved");
static_assert(offsetof(struct emp_wire_hello_reply, rdma_rkey) == 32, "reply.rkey");
static_assert(offsetof(struct emp_wire_hello_reply, reason) == 40, "reply.reason");
static_assert(offsetof(struct emp_wire_hello_reply, reserved) == 104, "reply.reserved");
static_assert(EMP_WIRE_MAX_IO % EMP_WIRE_IO_ALIGN == 0, "max io aligned");

void wire_hdr_pack(const struct wire_hdr *h, void *buf)
{
	struct emp_wire_hdr w = {
		.magic = htole32(h->magic),
		.op = htole16(h->op),
		.flags = htole16(h->flags),
		.length = htole32(h->length),
		.status = htole32(h->status),
		.tag = htole64(h->tag),
		.offset = htole64(h->offset),
		.io_len = htole32(h->io_len),
		.reserved = htole32(h->reserved),
	};

	memcpy(buf, &w, sizeof(w));
}

void wire_hdr_unpack(const void *buf, struct wire_hdr *h)
{
	struct emp_wire_hdr w;

	memcpy(&w, buf, sizeof(w));
	h->magic = le32toh(w.magic);
	h->op = le16toh(w.op);
	h->flags = le16toh(w.flags);
	h->length = le32toh(w.length);
	h->status = le32toh(w.status);
	h->tag = le64toh(w.tag);
	h->offset = le64toh(w.offset);
	h->io_len = le32toh(w.io_len);
	h->reserved = le32toh(w.reserved);
}

void wire_hello_pack(const struct wire_hello *h, void *buf)
{
	struct emp_wire_hello w = {
		.major = htole16(h->major),
		.minor = htole16(h->minor),
		.flags = htole32(h->flags),
		.region_size = htole64(h->region_size),
		.session = htole64(h->session),
		.secret_len = htole32(h->secret_len),
		.reserved0 = htole32(h->reserved0),
		.reserved = { htole64(h->reserved[0]), htole64(h->reserved[1]) },
	};

	memcpy(w.secret, h->secret, sizeof(w.secret));
	memcpy(w.client, h->client, sizeof(w.client));
	memcpy(buf, &w, sizeof(w));
}

void wire_hello_unpack(const void *buf, struct wire_hello *h)
{
	struct emp_wire_hello w;

	memcpy(&w, buf, sizeof(w));
	h->major = le16toh(w.major);
	h->minor = le16toh(w.minor);
	h->flags = le32toh(w.flags);
	h->region_size = le64toh(w.region_size);
	h->session = le64toh(w.session);
	h->secret_len = le32toh(w.secret_len);
	h->reserved0 = le32toh(w.reserved0);
	memcpy(h->secret, w.secret, sizeof(h->secret));
	memcpy(h->client, w.client, sizeof(h->client));
	h->reserved[0] = le64toh(w.reserved[0]);
	h->reserved[1] = le64toh(w.reserved[1]);
}

void wire_reply_pack(const struct wire_hello_reply *r, void *buf)
{
	struct emp_wire_hello_reply w = {
		.major = htole16(r->major),
		.minor = htole16(r->minor),
		.status = htole32(r->status),
		.region_size = htole64(r->region_size),
		.session = htole64(r->session),
		.rdma_addr = htole64(r->rdma_addr),
		.rdma_rkey = htole32(r->rdma_rkey),
		.reserved0 = htole32(r->reserved0),
		.reserved = { htole64(r->reserved[0]), htole64(r->reserved[1]) },
	};

	memcpy(w.reason, r->reason, sizeof(w.reason));
	memcpy(buf, &w, sizeof(w));
}

void wire_reply_unpack(const void *buf, struct wire_hello_reply *r)
{
	struct emp_wire_hello_reply w;

	memcpy(&w, buf, sizeof(w));
	r->major = le16toh(w.major);
	r->minor = le16toh(w.minor);
	r->status = le32toh(w.status);
	r->region_size = le64toh(w.region_size);
	r->session = le64toh(w.session);
	r->rdma_addr = le64toh(w.rdma_addr);
	r->rdma_rkey = le32toh(w.rdma_rkey);
	r->reserved0 = le32toh(w.reserved0);
	memcpy(r->reason, w.reason, sizeof(r->reason));
	r->reserved[0] = le64toh(w.reserved[0]);
	r->reserved[1] = le64toh(w.reserved[1]);
}

struct wire_hdr wire_hdr_init(uint16_t op, uint64_t tag)
{
	return (struct wire_hdr){ .magic = EMP_WIRE_MAGIC, .op = op, .tag = tag };
}

size_t wire_hello_msg(const struct wire_hello *h, uint64_t tag, void *buf)
{
	struct wire_hdr hdr = wire_hdr_init(EMP_WIRE_HELLO, tag);

	hdr.length = EMP_WIRE_HELLO_SIZE;
	wire_hdr_pack(&hdr, buf);
	wire_hello_pack(h, (char *)buf + EMP_WIRE_HDR_SIZE);
	return WIRE_HELLO_MSG_SIZE;
}

size_t wire_reply_msg(const struct wire_hello_reply *r, void *buf)
{
	struct wire_hdr hdr = wire_hdr_init(EMP_WIRE_HELLO_REPLY, 0);

	hdr.length = EMP_WIRE_HELLO_REPLY_SIZE;
	hdr.status = r->status;
	wire_hdr_pack(&hdr, buf);
	wire_reply_pack(r, (char *)buf + EMP_WIRE_HDR_SIZE);
	return WIRE_REPLY_MSG_SIZE;
}

void wire_reply_refuse(struct wire_hello_reply *r, uint32_t status, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->major = EMP_WIRE_MAJOR;
	r->minor = EMP_WIRE_MINOR;
	r->status = status;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

int wire_check_io_shape(uint64_t offset, uint32_t io_len, const char **why)
{
	if (io_len == 0) {
		*why = "io_len is zero";
		return EMP_WIRE_EINVAL;
	}
	if (io_len > EMP_WIRE_MAX_IO) {
		*why = "io_len above EMP_WIRE_MAX_IO";
		return EMP_WIRE_EINVAL;
	}
	if (io_len % EMP_WIRE_IO_ALIGN || offset % EMP_WIRE_IO_ALIGN) {
		*why = "offset or io_len not 4096-aligned";
		return EMP_WIRE_EINVAL;
	}
	return EMP_WIRE_OK;
}

int wire_check_range(uint64_t offset, uint32_t io_len, uint64_t size)
{
	/* Written so that offset + io_len cannot overflow. */
	if (offset > size || io_len > size - offset)
		return EMP_WIRE_ERANGE;
	return EMP_WIRE_OK;
}

int wire_check_request(const struct wire_hdr *h, bool hello_done, const char **why)
{
	if (h->magic != EMP_WIRE_MAGIC) {
		*why = "bad magic";
		return EMP_WIRE_EINVAL;
	}
	if (h->flags || h->status || h->reserved) {
		*why = "nonzero flags, status or reserved field";
		return EMP_WIRE_EINVAL;
	}
	switch (h->op) {
	case EMP_WIRE_HELLO:
		if (hello_done) {
			*why = "second HELLO";
			return EMP_WIRE_EINVAL;
		}
		if (h->length == 0 || h->length > WIRE_HELLO_MAX_LEN) {
			*why = "HELLO length out of bounds";
			return EMP_WIRE_EINVAL;
		}
		if (h->offset || h->io_len) {
			*why = "HELLO with offset or io_len";
			return EMP_WIRE_EINVAL;
		}
		return EMP_WIRE_OK;
	case EMP_WIRE_READ:
	case EMP_WIRE_WRITE:
		if (!hello_done) {
			*why = "request before HELLO";
			return EMP_WIRE_EINVAL;
		}
		if (h->op == EMP_WIRE_READ && h->length) {
			*why = "READ with a payload";
			return EMP_WIRE_EINVAL;
		}
		if (h->op == EMP_WIRE_WRITE && h->length != h->io_len) {
			*why = "WRITE length differs from io_len";
			return EMP_WIRE_EINVAL;
		}
		return wire_check_io_shape(h->offset, h->io_len, why);
	default:
		*why = "unknown or unexpected op";
		return EMP_WIRE_EINVAL;
	}
}

int wire_hello_parse(const void *payload, uint32_t len, struct wire_hello *h, char *reason)
{
	const unsigned char *p = payload;
	uint16_t major, minor = 0;

	if (len < 2) {
		snprintf(reason, EMP_WIRE_REASON_MAX, "HELLO of %u bytes", len);
		return EMP_WIRE_EINVAL;
	}
	major = (uint16_t)(p[0] | p[1] << 8);
	if (len >= 4)
		minor = (uint16_t)(p[2] | p[3] << 8);
	if (major != EMP_WIRE_MAJOR) {
		snprintf(reason, EMP_WIRE_REASON_MAX,
			 "client speaks protocol %u.%u, vmd speaks %u.%u",
			 major, minor, EMP_WIRE_MAJOR, EMP_WIRE_MINOR);
		return EMP_WIRE_EVERSION;
	}
	if (len != EMP_WIRE_HELLO_SIZE) {
		snprintf(reason, EMP_WIRE_REASON_MAX, "HELLO of %u bytes, want %u",
			 len, EMP_WIRE_HELLO_SIZE);
		return EMP_WIRE_EINVAL;
	}
	wire_hello_unpack(payload, h);
	if (h->flags || h->reserved0 || h->reserved[0] || h->reserved[1]) {
		snprintf(reason, EMP_WIRE_REASON_MAX, "nonzero flags or reserved field in HELLO");
		return EMP_WIRE_EINVAL;
	}
	if (h->secret_len > EMP_WIRE_SECRET_MAX) {
		snprintf(reason, EMP_WIRE_REASON_MAX, "secret_len %u above %u",
			 h->secret_len, EMP_WIRE_SECRET_MAX);
		return EMP_WIRE_EINVAL;
	}
	if (h->region_size == 0 || h->region_size % EMP_WIRE_IO_ALIGN) {
		snprintf(reason, EMP_WIRE_REASON_MAX,
			 "region_size must be a nonzero multiple of %u", EMP_WIRE_IO_ALIGN);
		return EMP_WIRE_EINVAL;
	}
	return EMP_WIRE_OK;
}

bool wire_secret_equal(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	uint32_t diff = alen ^ blen;
	uint32_t i;

	if (alen > EMP_WIRE_SECRET_MAX || blen > EMP_WIRE_SECRET_MAX)
		return false;
	/*
	 * Every position is visited whatever the contents; a byte past a
	 * secret's end counts as zero through a mask, not a branch.
	 */
	for (i = 0; i < EMP_WIRE_SECRET_MAX; i++) {
		uint8_t ma = (uint8_t)-(uint8_t)(i < alen);
		uint8_t mb = (uint8_t)-(uint8_t)(i < blen);

		diff |= (uint8_t)((a[i] & ma) ^ (b[i] & mb));
	}
	return diff == 0;
}

char *wire_client_name(const char *raw, char *out)
{
	size_t i;

	for (i = 0; i < EMP_WIRE_NAME_MAX && raw[i]; i++)
		out[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? raw[i] : '?';
	out[i] = 0;
	if (i == 0)
		strcpy(out, "-");
	return out;
}

const char *wire_status_name(uint32_t status)
{
	static const char *const names[] = {
		[EMP_WIRE_OK] = "OK",
		[EMP_WIRE_EVERSION] = "EVERSION",
		[EMP_WIRE_EAUTH] = "EAUTH",
		[EMP_WIRE_ENOMEM] = "ENOMEM",
		[EMP_WIRE_EINVAL] = "EINVAL",
		[EMP_WIRE_ERANGE] = "ERANGE",
		[EMP_WIRE_ENOENT] = "ENOENT",
		[EMP_WIRE_EIO] = "EIO",
	};

	if (status < sizeof(names) / sizeof(names[0]) && names[status])
		return names[status];
	return "unknown status";
}
