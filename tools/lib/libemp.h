/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libemp: the userspace library every EMP tool is built on. Thin ioctl
 * wrappers around /dev/emp and the pure helpers the tools share.
 * Functions return 0 or a negative errno unless documented otherwise.
 */
#ifndef LIBEMP_H
#define LIBEMP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/emp.h>

/* Path of the control device; EMP_CTL_PATH in the environment overrides it. */
#define EMP_CTL_PATH_DEFAULT "/dev/" EMP_CTL_NAME

/* Open the control device read-write, close-on-exec. Return: fd or -errno. */
int emp_ctl_open(void);

/* EMP_IOC_INFO: fill @info (its size member is set by the call). */
int emp_get_info(int ctl_fd, struct emp_info *info);

/*
 * EMP_IOC_CREATE. @c is filled by the caller except size, tier_size and
 * tiers, which the call sets from @tiers/@nr_tiers. On success c->id is set.
 */
int emp_create(int ctl_fd, struct emp_create *c, const struct emp_tier *tiers,
	       unsigned int nr_tiers);

/* EMP_IOC_DESTROY by name. */
int emp_destroy(int ctl_fd, const char *name);

/*
 * EMP_IOC_LIST: up to @room names into @names; returns the number of
 * instances (which may exceed @room) or -errno.
 */
int emp_list(int ctl_fd, char (*names)[EMP_NAME_MAX], unsigned int room);

/* EMP_IOC_STAT of instance @name into @st. */
int emp_stat(int ctl_fd, const char *name, struct emp_stat *st);

/*
 * Whether the module filled @field of a struct emp_stat that EMP_IOC_STAT
 * returned: older modules write back a shorter struct (and its size), and
 * leave the fields after it zero.
 */
#define EMP_STAT_HAS(st, field) \
	((st)->size >= offsetof(struct emp_stat, field) + sizeof((st)->field))

/* Lower bound in ns of bucket @b of emp_stat.lat_fine. */
uint64_t emp_lat_fine_low(unsigned int b);
/*
 * The fault latency in ns that @permille of the faults of @st stayed under,
 * from the fine histogram, interpolated inside its bucket (within about
 * 6 %); 0 when there were no faults, UINT64_MAX in the open last bucket.
 */
uint64_t emp_lat_quantile(const struct emp_stat *st, unsigned int permille);

/*
 * EMP_IOC_REPAIR: give tier @tier (its index in emp_stat.tier) of @name the
 * new copy @copy (flags EMP_TIER_F_REPLICA), filled in the background.
 */
int emp_repair(int ctl_fd, const char *name, unsigned int tier, const struct emp_tier *copy);

/* EMP_IOC_RESIZE: set the DRAM budget of @name to @dram_budget bytes. */
int emp_resize(int ctl_fd, const char *name, uint64_t dram_budget);

/* Device node path of instance @name ("/dev/emp-NAME") into @buf. Return: @buf. */
char *emp_inst_path(const char *name, char *buf, size_t len);

/* Copy @name into a zeroed EMP_NAME_MAX array. Return: 0, -ENAMETOOLONG. */
int emp_set_name(char dst[EMP_NAME_MAX], const char *name);

/*
 * Parse a size: decimal digits, then an optional binary suffix K, M, G or T
 * (case-insensitive, an optional trailing "iB" or "B"). A bare number is
 * multiplied by @unit (1 for bytes, 1 << 20 for MiB). Rejects empty strings,
 * signs, junk after the suffix, and overflow.
 * Return: 0, -EINVAL for bad syntax, -ERANGE on overflow.
 */
int emp_parse_size(const char *s, uint64_t unit, uint64_t *out);

/*
 * Format @bytes with the largest binary suffix that divides it exactly
 * ("64K", "2M", "3G", "4097"). Return: @buf.
 */
char *emp_format_size(uint64_t bytes, char *buf, size_t len);

/* Split an EMP version code into "major.minor.patch" in @buf. Return: @buf. */
char *emp_format_version(uint32_t code, char *buf, size_t len);

/*
 * Human-readable size for tables: the largest binary unit the value reaches,
 * with one decimal unless exact ("0 B", "4 KiB", "1.5 GiB"). Return: @buf.
 */
char *emp_format_human(uint64_t bytes, char *buf, size_t len);

/* ---- Tier specs (emp-spec(7)) ------------------------------------------ */

/*
 * Defaults of every tool: a 64 KiB block (unit of placement and residence)
 * fetched in 4 KiB subblocks (the faulting page first, the rest of the block
 * in the background). The DRAM budget of a spec without dram: is
 * emp_default_budget().
 */
#define EMP_DEFAULT_BLOCK	(64U << 10)
#define EMP_DEFAULT_SUBBLOCK	(4U << 10)

/*
 * The default DRAM budget is 1/2^EMP_DEFAULT_DRAM_SHIFT of the instance,
 * kept within EMP_DEFAULT_DRAM_MIN..EMP_DEFAULT_DRAM_MAX (emp-spec(7)).
 * EMP_DEFAULT_DRAM is the old fixed default, now the floor.
 */
#define EMP_DEFAULT_DRAM_SHIFT	3
#define EMP_DEFAULT_DRAM_MIN	(64ULL << 20)
#define EMP_DEFAULT_DRAM_MAX	(4ULL << 30)
#define EMP_DEFAULT_DRAM	EMP_DEFAULT_DRAM_MIN

/* Modules that create instances with no tier announce it (uapi/linux/emp.h). */
#ifndef EMP_FEAT_DRAM_ONLY
#define EMP_FEAT_DRAM_ONLY	(1ULL << 13)
#endif

/* Room for an error message of the spec parser. */
#define EMP_SPEC_ERR_MAX	256

/*
 * A cluster:SIZE[:OPTS] tier (emp-spec(7)): remote DRAM on donors that
 * emp_spec_place() picks from the cluster registry (etcd) and writes into
 * the spec in its place, as tcp: or RDMA tiers. A kind of libemp only, never
 * handed to emp.ko: emp_spec_to_create() refuses a spec that still holds one.
 */
#define EMP_TIER_CLUSTER	0x100
/* At most this many donors for one cluster: tier (spread=N); 3 by default. */
#define EMP_CLUSTER_SPREAD_MAX		EMP_MAX_TIERS
#define EMP_CLUSTER_SPREAD_DEFAULT	3

/**
 * struct emp_spec - a parsed tier spec
 * @tier:     the storage tiers in spec order (dram: is not one of them)
 * @nr_tiers: valid entries of @tier: 1..EMP_MAX_TIERS, or 0 for a DRAM-only
 *            spec (a dram: tier alone)
 * @dram:     bytes of the dram: tier, 0 when the spec has none
 * @capacity: bytes the instance can hold: the storage tiers together, or the
 *            dram: size of a DRAM-only spec
 * @host:     for a remote tier given by host name, the name as written
 *            (tier[i].path holds it too until emp_spec_resolve() replaces
 *            it with an address); "" for a tier given by address
 * @err_col:  after a failed parse, the 1-based column of the offending text
 * @cluster:  the options of its cluster: tier (tier[].kind EMP_TIER_CLUSTER,
 *            at most one): the transport (EMP_TIER_TCP, the default, or
 *            EMP_TIER_RDMA), how many donors at most to spread it over, and
 *            how many copies of each byte (1, or 2: replicas=2)
 *
 * A replicated remote tier is written PRIMARY+REPLICA in the spec
 * ("tcp:10.0.0.1:64:19675+tcp:10.0.0.2:64:19675"): two entries of @tier,
 * the second with flags EMP_TIER_F_REPLICA and the same size, counted once
 * in @capacity.
 */
struct emp_spec {
	struct emp_tier tier[EMP_MAX_TIERS];
	unsigned int nr_tiers;
	uint64_t dram;
	uint64_t capacity;
	char host[EMP_MAX_TIERS][EMP_PATH_MAX];
	unsigned int err_col;
	struct {
		uint32_t transport;
		unsigned int spread;
		unsigned int replicas;
	} cluster;
};

/*
 * Parse "TIER|TIER|..." into @out. TIER is HOST:SIZE:PORT (HOST an IPv4
 * address, [IPv6], or a host name), tcp:HOST:SIZE:PORT,
 * /dev/BLOCKDEV:SIZE:OFFSET, node:N:SIZE, cluster:SIZE[:OPTS] (OPTS a
 * comma-separated list of tcp, rdma, spread=N) or dram:SIZE; SIZE and
 * OFFSET are MiB, or bytes
 * with a K/M/G/T suffix. A dram: tier alone is a DRAM-only spec. Host names
 * are checked for syntax only: the parser never allocates, never does I/O
 * and never looks a name up (emp_spec_resolve() does).
 * On error, writes 'column C: "FIELD" in "TIER": what is wrong' into @err
 * (if @errlen) and sets out->err_col; everything else of @out is zero.
 * Return: 0, -EINVAL (syntax), -ERANGE (a number too large),
 * -E2BIG (more than EMP_MAX_TIERS tiers), -ENAMETOOLONG (path or name too long).
 */
int emp_spec_parse(const char *spec, struct emp_spec *out, char *err, size_t errlen);

/*
 * Look host name @host up (getaddrinfo, any family) and write the address
 * the kernel is to use into @addr as numeric text: the first IPv4 address
 * if there is one, else the first IPv6 address without a zone (emp.ko takes
 * no zone index). On failure, writes "cannot resolve host 'HOST': REASON"
 * into @err (if @errlen).
 * Context: may block on DNS; not for the fuzzer.
 * Return: 0, -ENOENT (no such name, or no usable address), -EAGAIN (a
 * temporary failure of the name service), or another -errno.
 */
int emp_resolve_host(const char *host, char *addr, size_t len, char *err, size_t errlen);

/*
 * Resolve every remote tier of @s given by host name (emp_resolve_host()),
 * writing the address into its path; s->host keeps the name. Tiers given
 * by address, and names already resolved, are left alone. Call it after
 * emp_spec_parse() and before emp_create().
 * Return: 0, or the first failure's -errno with its message in @err.
 */
int emp_spec_resolve(struct emp_spec *s, char *err, size_t errlen);

/*
 * Write @s back as spec text (canonical: sizes in MiB where exact, the
 * dram: tier last, host names as written even once resolved).
 * Return: the length of the full text, as snprintf.
 */
int emp_spec_format(const struct emp_spec *s, char *buf, size_t len);

/* One tier as spec text. Return: as snprintf. */
int emp_spec_format_tier(const struct emp_tier *t, char *buf, size_t len);

/* "bdev", "rdma", "tcp", "node", "cluster" or "unknown". */
const char *emp_tier_kind_name(uint32_t kind);

/* 0 if @name is a valid instance name (see EMP_NAME_MAX), else -EINVAL. */
int emp_check_name(const char *name);

/*
 * The DRAM budget rule of the ABI (EMP_IOC_CREATE and EMP_IOC_RESIZE): a
 * multiple of the page size, and at least two blocks (emp_budget_min()).
 * emp_budget_check() says which part @budget breaks for @block_size:
 * EMP_BUDGET_OK (0), EMP_BUDGET_UNALIGNED or EMP_BUDGET_SMALL.
 */
enum { EMP_BUDGET_OK, EMP_BUDGET_UNALIGNED, EMP_BUDGET_SMALL };
uint64_t emp_budget_min(uint32_t block_size);
int emp_budget_check(uint64_t budget, uint32_t block_size);

/*
 * The DRAM budget of an instance of @inst_size bytes whose spec has no
 * dram: tier: 1/8 of the instance rounded down to a block, kept within
 * 64 MiB..4 GiB, never more than the instance, and at least two blocks.
 * @block_size 0 means EMP_DEFAULT_BLOCK.
 */
uint64_t emp_default_budget(uint64_t inst_size, uint32_t block_size);

/*
 * Fill @c for EMP_IOC_CREATE from a parsed (and, for host names, resolved)
 * spec: @inst_size 0 means the spec's capacity, @block/@subblock 0 mean the
 * defaults above, the DRAM budget is the spec's dram: or
 * emp_default_budget(). A DRAM-only spec gives nr_tiers 0 (set by
 * emp_create()) and a budget equal to the instance size, which is its dram:
 * size or the smaller @inst_size. Checks what the ABI requires of the
 * geometry so a tool can say what is wrong before asking the kernel, and
 * that no remote tier still names a host instead of an address.
 * Return: 0 or -EINVAL with a message in @err.
 */
int emp_spec_to_create(const struct emp_spec *s, const char *name, uint64_t inst_size,
		       uint32_t block, uint32_t subblock, struct emp_create *c,
		       char *err, size_t errlen);

/*
 * Read the shared secret of remote tiers from @path, as vmd --secret-file
 * does: the file's bytes, less one final "\n" (or "\r\n"), 1..EMP_SECRET_MAX
 * of them. Return: the length, -ENODATA if empty, -E2BIG if longer, or
 * -errno of opening or reading the file.
 */
int emp_read_secret_file(const char *path, uint8_t secret[EMP_SECRET_MAX]);

/*
 * Give every remote (RDMA or TCP) tier of @s the secret @secret[0..@len).
 * Return: how many tiers got it.
 */
unsigned int emp_spec_set_secret(struct emp_spec *s, const uint8_t *secret, uint32_t len);

/*
 * Have @name destroyed once this process, and every child it forks, has
 * exited or exec'd (a process cannot destroy an instance it still maps).
 * Call it before mapping the instance, so the watcher process it starts
 * does not inherit the mapping; keep the returned fd open (close-on-exec)
 * for the process's lifetime, or close it to have the instance destroyed
 * as soon as it is unmapped. Messages go to stderr as "@who: ...", and
 * "destroyed NAME" too when @verbose.
 * Return: the fd (the write end of the watcher's pipe) or -errno.
 */
int emp_destroy_when_gone(const char *name, const char *who, int verbose);

/* ---- Cluster mode (emp_cluster.c): remote memory placed from etcd ------ */

/*
 * The registry (docs/cluster.md): donors announce themselves (vmd --etcd)
 * under EMP_CLUSTER_DONORS; a host reserves capacity on them in one etcd
 * transaction that updates each donor's EMP_CLUSTER_RESERVED key (its
 * mod_revision compared, so two hosts cannot both take the same bytes) and
 * records the placement under EMP_CLUSTER_PLACEMENTS/HOST/NAME.
 */
#define EMP_CLUSTER_DONORS	"/emp/v1/donors/"
#define EMP_CLUSTER_RESERVED	"/emp/v1/reserved/"
#define EMP_CLUSTER_PLACEMENTS	"/emp/v1/placements/"
/* Pieces are whole multiples of this (the largest block); the last may not be. */
#define EMP_CLUSTER_GRAIN	(2ULL << 20)
/* At most this many donors are read from the registry. */
#define EMP_CLUSTER_DONORS_MAX	128

/**
 * struct emp_cluster - where the registry is and who is asking
 * @etcd: etcd's client URL, http://HOST:PORT
 * @host: this host's name in the registry (1..63 of [A-Za-z0-9._-]); NULL
 *        means EMP_CLUSTER_HOST from the environment, else gethostname()
 * @warn: told about each registry record that is skipped (malformed,
 *        unknown version, absurd sizes); NULL prints "emp: MSG" on stderr
 */
struct emp_cluster {
	const char *etcd;
	const char *host;
	void (*warn)(const char *msg);
};

/* A donor as the registry shows it, with what hosts have reserved on it. */
struct emp_cluster_donor {
	char addr[EMP_PATH_MAX];
	char domain[64];
	uint16_t port;
	int tcp, rdma;
	uint64_t capacity, free, reserved;
	int64_t reserved_rev;	/* the reserved key's mod_revision, 0 if none */
};

/* One piece of a placement: @bytes on donor @donor (an index). */
struct emp_cluster_piece {
	unsigned int donor;
	uint64_t bytes;
};

/*
 * emp_cluster_choose() - spread @size bytes over the donors @d[0..@n) that
 * have @transport: up to @spread donors (more only when those cannot hold
 * it, at most @max_pieces), each a different donor, new failure domains
 * first, each taken as the roomier of two picked at random (the power of
 * two choices); the bytes go out evenly in EMP_CLUSTER_GRAIN units, no
 * donor given more than it has free and unreserved. @seed drives the random
 * picks. Pure: no I/O.
 * Return: the number of pieces written to @out (1..@max_pieces), or
 * -ENOSPC when the donors cannot hold @size.
 */
int emp_cluster_choose(const struct emp_cluster_donor *d, unsigned int n, uint64_t size,
		       unsigned int spread, uint32_t transport, unsigned int max_pieces,
		       uint64_t seed, struct emp_cluster_piece *out);

/*
 * emp_cluster_donors() - read the donors of the registry into @d (@room),
 * with their reservations. Skipped records go to @cl->warn.
 * Return: how many, or -errno with a message in @err (-EHOSTUNREACH: etcd
 * cannot be reached).
 */
int emp_cluster_donors(const struct emp_cluster *cl, struct emp_cluster_donor *d,
		       unsigned int room, char *err, size_t errlen);

/*
 * emp_spec_place() - put the cluster: tier of @s on donors for instance
 * @name: choose them (emp_cluster_choose()), reserve their bytes and record
 * the placement in one etcd transaction (retried when another host changed
 * a reservation meanwhile), then write the remote tiers into @s in the
 * cluster: tier's place. A spec without a cluster: tier is left alone.
 * Return: 0, -ENOSPC (the donors cannot hold it), -EEXIST (@name of this
 * host is placed already), -EHOSTUNREACH (etcd cannot be reached), or
 * another -errno; with a message in @err.
 */
int emp_spec_place(struct emp_spec *s, const char *name, const struct emp_cluster *cl,
		   char *err, size_t errlen);

/*
 * emp_cluster_release() - give back the reservations of instance @name of
 * the host @cl names and delete its placement record.
 * Return: 0, -ENOENT (no placement recorded), or -errno with @err.
 */
int emp_cluster_release(const char *name, const struct emp_cluster *cl, char *err,
			size_t errlen);

/*
 * emp_watch_cluster() - have the watchers that emp_destroy_when_gone()
 * starts from now on also release the instance's placement in the
 * registry @cl names, once it is destroyed. Return: 0 or -ENAMETOOLONG.
 */
int emp_watch_cluster(const struct emp_cluster *cl);

/*
 * emp_cluster_replace() - a new donor for the lost copy of a replicated
 * piece of instance @name (placed with replicas=2): one that is neither
 * copy's donor, in another failure domain than the surviving copy's when
 * one has room, with the piece's bytes free and unreserved. In one etcd
 * transaction its bytes are reserved, it takes the lost donor's place in
 * the placement record, and the lost donor's reservation is given back.
 * @lost_addr, @lost_port: the donor whose copy was lost
 * @out: the new copy as a tier: the placement's transport, the donor's
 *       address and port, the piece's size, flags EMP_TIER_F_REPLICA
 * Return: 0, -ENOENT (no such placement, or no piece on that donor),
 * -ENOSPC, -EHOSTUNREACH, or -errno; with a message in @err.
 */
int emp_cluster_replace(const char *name, const struct emp_cluster *cl, const char *lost_addr,
			uint16_t lost_port, struct emp_tier *out, char *err, size_t errlen);

/* A recorded placement, as emp_cluster_placements() reads it. */
struct emp_cluster_placement {
	char host[64];
	char name[EMP_NAME_MAX];
	uint64_t size;
	unsigned int nr_pieces;
	struct {
		char addr[EMP_PATH_MAX];
		uint16_t port;
		uint64_t bytes;
	} piece[EMP_MAX_TIERS];
};

/*
 * emp_cluster_placements() - the placements recorded for host @host (NULL:
 * every host) into @p (@room). Return: how many, or -errno with @err.
 */
int emp_cluster_placements(const struct emp_cluster *cl, const char *host,
			   struct emp_cluster_placement *p, unsigned int room, char *err,
			   size_t errlen);

#endif /* LIBEMP_H */
