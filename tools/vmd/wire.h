/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wire: the EMP wire protocol (uapi/linux/emp_wire.h) for userspace.
 *
 * The on-wire structs are little-endian; here they have host-order twins
 * (struct wire_*) with pack/unpack functions, and the checks a donor makes
 * on what it receives. Pure code, no I/O: vmd and its test client and
 * fuzzer (selftests/vmd/vmd-client, vmd-fuzz) use it, and
 * selftests/unit/wire_test.c tests it on the host.
 */
#ifndef VMD_WIRE_H
#define VMD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/emp_wire.h>

/* A whole HELLO and HELLO_REPLY message, header included. */
#define WIRE_HELLO_MSG_SIZE	(EMP_WIRE_HDR_SIZE + EMP_WIRE_HELLO_SIZE)
#define WIRE_REPLY_MSG_SIZE	(EMP_WIRE_HDR_SIZE + EMP_WIRE_HELLO_REPLY_SIZE)

/*
 * Largest HELLO payload a donor reads. Larger than a major-1 HELLO so that a
 * client of another major, whose HELLO may have grown, still gets a clean
 * EMP_WIRE_EVERSION (the major is the first field of every HELLO).
 */
#define WIRE_HELLO_MAX_LEN	1024

struct wire_hdr {
	uint32_t magic;
	uint16_t op;
	uint16_t flags;
	uint32_t length;
	uint32_t status;
	uint64_t tag;
	uint64_t offset;
	uint32_t io_len;
	uint32_t reserved;
};

struct wire_hello {
	uint16_t major;
	uint16_t minor;
	uint32_t flags;
	uint64_t region_size;
	uint64_t session;
	uint32_t secret_len;
	uint32_t reserved0;
	uint8_t secret[EMP_WIRE_SECRET_MAX];
	char client[EMP_WIRE_NAME_MAX];
	uint64_t reserved[2];
};

struct wire_hello_reply {
	uint16_t major;
	uint16_t minor;
	uint32_t status;
	uint64_t region_size;
	uint64_t session;
	uint64_t rdma_addr;
	uint32_t rdma_rkey;
	uint32_t reserved0;
	char reason[EMP_WIRE_REASON_MAX];
	uint64_t reserved[2];
};

/* Host order <-> wire bytes. @buf holds the struct's EMP_WIRE_*_SIZE bytes. */
void wire_hdr_pack(const struct wire_hdr *h, void *buf);
void wire_hdr_unpack(const void *buf, struct wire_hdr *h);
void wire_hello_pack(const struct wire_hello *h, void *buf);
void wire_hello_unpack(const void *buf, struct wire_hello *h);
void wire_reply_pack(const struct wire_hello_reply *r, void *buf);
void wire_reply_unpack(const void *buf, struct wire_hello_reply *r);

/* A header with the magic, @op, @tag and nothing else set. */
struct wire_hdr wire_hdr_init(uint16_t op, uint64_t tag);

/*
 * Whole messages into @buf: a HELLO (WIRE_HELLO_MSG_SIZE bytes) and a
 * HELLO_REPLY (WIRE_REPLY_MSG_SIZE bytes, the header's status copied from
 * @r). Return: the message size.
 */
size_t wire_hello_msg(const struct wire_hello *h, uint64_t tag, void *buf);
size_t wire_reply_msg(const struct wire_hello_reply *r, void *buf);

/* A HELLO_REPLY refusing with @status and @reason (truncated to fit). */
void wire_reply_refuse(struct wire_hello_reply *r, uint32_t status, const char *reason);

/*
 * wire_check_request() - check a header a donor received
 * @h:          the header, unpacked
 * @hello_done: whether this connection's HELLO was accepted already
 * @why:        set to a short description of the fault
 *
 * Before the HELLO only a HELLO is valid; after it only READ and WRITE.
 * Magic, flags, status and reserved must be as specified; a HELLO's length
 * is only bounded here (1..WIRE_HELLO_MAX_LEN; wire_hello_parse() wants the
 * exact size once it knows the major), READ carries no payload, WRITE
 * carries io_len bytes, and io_len/offset follow wire_check_io_shape().
 *
 * Return: EMP_WIRE_OK or EMP_WIRE_EINVAL.
 */
int wire_check_request(const struct wire_hdr *h, bool hello_done, const char **why);

/* io_len in 1..EMP_WIRE_MAX_IO, io_len and offset multiples of EMP_WIRE_IO_ALIGN. */
int wire_check_io_shape(uint64_t offset, uint32_t io_len, const char **why);

/* [offset, offset + io_len) inside a region of @size bytes. Return: OK or ERANGE. */
int wire_check_range(uint64_t offset, uint32_t io_len, uint64_t size);

/*
 * wire_hello_parse() - decode and check a HELLO payload
 * @payload, @len: the payload as received
 * @h:             the decoded HELLO (valid when OK is returned)
 * @reason:        EMP_WIRE_REASON_MAX bytes, set on refusal
 *
 * Checks in this order: the major (EMP_WIRE_EVERSION, reason naming both
 * versions), the size, reserved fields and flags, secret_len and
 * region_size (nonzero multiple of EMP_WIRE_IO_ALIGN): EMP_WIRE_EINVAL.
 * The secret itself and the session are the donor's business.
 *
 * Return: EMP_WIRE_OK, EMP_WIRE_EVERSION or EMP_WIRE_EINVAL.
 */
int wire_hello_parse(const void *payload, uint32_t len, struct wire_hello *h, char *reason);

/*
 * Compare two secrets in time that does not depend on their contents (nor
 * on where they differ). @a and @b point to EMP_WIRE_SECRET_MAX bytes each,
 * of which the first @alen and @blen count. Lengths above
 * EMP_WIRE_SECRET_MAX never match.
 */
bool wire_secret_equal(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen);

/*
 * The client's name, safe to log: up to the first NUL, printable ASCII
 * kept, anything else as '?', "-" when empty. @out has
 * EMP_WIRE_NAME_MAX + 1 bytes. Return: @out.
 */
char *wire_client_name(const char *raw, char *out);

/* "OK", "EVERSION", ... or "unknown status". Return: a static string. */
const char *wire_status_name(uint32_t status);

#endif /* VMD_WIRE_H */
