/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * EMP (Elastic Memory Platform) ioctl ABI of /dev/emp, emp.ko's control
 * device, and the names of the instance device nodes (/dev/emp-NAME, which
 * take mmap MAP_SHARED and lseek, and carry no ioctls).
 *
 * The other headers shared with userspace are linux/emp_kvm.h (the ioctls
 * of /dev/emp_kvm, emp_kvm.ko's device) and linux/emp_wire.h (the wire
 * protocol between the remote tiers and the donor daemon vmd).
 *
 * Rules every command follows:
 *  - Arguments are structs of fixed-width types whose first member is
 *    "__u32 size": the caller sets it to sizeof() of the struct as the caller
 *    knows it. Structs only ever grow at the end, so old binaries keep working
 *    against new modules and the other way round (the openat2/clone3 scheme):
 *      size < the first published size, or size > 4096   -> EINVAL
 *      size > what the module knows, extra bytes all zero -> accepted
 *      size > what the module knows, extra bytes nonzero  -> E2BIG
 *    The module writes back at most "size" bytes.
 *  - Every "flags" and "reserved" field must be zero on input (EINVAL).
 *  - The ioctl number carries the magic, the number and the direction; its
 *    size bits only describe the first published layout and are not used to
 *    tell versions apart (the size member does that).
 *  - Unknown commands, or a known number with the wrong magic or direction,
 *    fail with ENOTTY.
 *  - An unreadable or unwritable argument fails with EFAULT.
 */
#ifndef _UAPI_LINUX_EMP_H
#define _UAPI_LINUX_EMP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change; compatible growth keeps it. */
#define EMP_ABI_VERSION		1

/* Name of the control device under /dev. */
#define EMP_CTL_NAME		"emp"

/* ioctl magic ('E' is crowded; 0xEE is not listed in ioctl-number.rst). */
#define EMP_IOC_MAGIC		0xEE

/* Largest size a caller may claim for any argument struct. */
#define EMP_STRUCT_SIZE_MAX	4096

/* Bits of emp_info.features: what this module build supports. */
#define EMP_FEAT_INFO		(1ULL << 0)	/* EMP_IOC_INFO */
#define EMP_FEAT_INSTANCES	(1ULL << 1)	/* CREATE/DESTROY/LIST/STAT/RESIZE */
#define EMP_FEAT_TIER_BDEV	(1ULL << 2)	/* EMP_TIER_BDEV */
#define EMP_FEAT_TIER_TCP	(1ULL << 3)	/* EMP_TIER_TCP */
#define EMP_FEAT_TIER_RDMA	(1ULL << 4)	/* EMP_TIER_RDMA */
#define EMP_FEAT_FAULT_AROUND	(1ULL << 5)	/* emp_stat.mapped_around is counted */
#define EMP_FEAT_NOWAIT		(1ULL << 6)	/* emp_stat.nowait_retries is counted */
#define EMP_FEAT_CLEAN_AHEAD	(1ULL << 7)	/* emp_stat.cleaned is counted */
#define EMP_FEAT_HUGE_MAP	(1ULL << 8)	/* emp_stat.huge_faults is counted */
#define EMP_FEAT_RECLAIM	(1ULL << 9)	/* emp_stat from direct_reclaims on */
#define EMP_FEAT_POLLED_READS	(1ULL << 10)	/* emp_stat.polled_reads is counted */
#define EMP_FEAT_MONITOR	(1ULL << 11)	/* emp_stat from stall_ns on; sysfs
						 * cold_age_s, pressure_threshold */
#define EMP_FEAT_EVENTS		(1ULL << 12)	/* the EMP_GENL_NAME netlink family */
#define EMP_FEAT_DRAM_ONLY	(1ULL << 13)	/* CREATE with nr_tiers 0 */
#define EMP_FEAT_DISCARD	(1ULL << 14)	/* EMP_IOC_DISCARD, emp_stat.discarded */
#define EMP_FEAT_TIER_NODE	(1ULL << 15)	/* EMP_TIER_NODE */
#define EMP_FEAT_REPLICAS	(1ULL << 16)	/* EMP_TIER_F_REPLICA, EMP_IOC_REPAIR */

/* Instance names: 1..EMP_NAME_MAX-1 chars of [A-Za-z0-9_.-], not starting
 * with '.' or '-', NUL-terminated, the rest of the array zero. */
#define EMP_NAME_MAX		32
/* Instance device nodes are /dev/EMP_INST_PREFIX<name>. */
#define EMP_INST_PREFIX		"emp-"
/*
 * empfs (mount -t EMP_FS_TYPE; statfs f_type EMP_FS_MAGIC) shows every
 * instance as a regular file <name>: the same memory as its device node,
 * and fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) or
 * madvise(MADV_REMOVE) on it discards (see EMP_IOC_DISCARD).
 * EMP_FS_DIR is where the tools look for it.
 */
#define EMP_FS_TYPE		"empfs"
#define EMP_FS_MAGIC		0x454d5046
#define EMP_FS_DIR		"/run/emp"
/* Most tiers one instance can have, and most instances at once. */
#define EMP_MAX_TIERS		8
#define EMP_MAX_INSTANCES	256
/* Length of emp_tier.path, NUL included. */
#define EMP_PATH_MAX		108
/* Longest shared secret of a remote tier (same as the wire protocol's). */
#define EMP_SECRET_MAX		64
/*
 * Geometry of an instance (struct emp_create): block and subblock sizes
 * are powers of two in these ranges, in bytes, the subblock at most the
 * block. EMP_IOC_INFO reports the same values.
 */
#define EMP_BLOCK_MIN		(4U << 10)
#define EMP_BLOCK_MAX		(2U << 20)
#define EMP_SUBBLOCK_MIN	(4U << 10)
#define EMP_SUBBLOCK_MAX	(128U << 10)

/**
 * struct emp_info - identity and limits of the loaded module (EMP_IOC_INFO)
 * @size:        in: sizeof(struct emp_info) as known to the caller
 * @flags:       in: must be zero
 * @abi_version: out: EMP_ABI_VERSION the module implements
 * @version:     out: module version as (major << 16) | (minor << 8) | patch
 * @features:    out: EMP_FEAT_* bits
 * @page_size:   out: PAGE_SIZE of the running kernel, in bytes
 * @nr_instances: out: number of instances that exist right now
 * @min_block_size:    out: smallest block size accepted, in bytes
 * @max_block_size:    out: largest block size accepted, in bytes
 * @min_subblock_size: out: smallest subblock size accepted, in bytes
 * @max_subblock_size: out: largest subblock size accepted, in bytes
 * @reserved:    out: zero; room to grow
 */
struct emp_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 version;
	__u64 features;
	__u32 page_size;
	__u32 nr_instances;
	__u32 min_block_size;
	__u32 max_block_size;
	__u32 min_subblock_size;
	__u32 max_subblock_size;
	__u64 reserved[4];
};
#define EMP_INFO_SIZE_VER0	80	/* sizeof first published struct emp_info */

#define EMP_VERSION_MAJOR(v)	(((v) >> 16) & 0xff)
#define EMP_VERSION_MINOR(v)	(((v) >> 8) & 0xff)
#define EMP_VERSION_PATCH(v)	((v) & 0xff)

/**
 * enum emp_tier_kind - what backs a range of an instance
 * @EMP_TIER_BDEV: a block device: @path names it (/dev/...), the tier uses
 *                 @size bytes of it from byte @offset. Opened exclusively.
 * @EMP_TIER_RDMA: remote DRAM on a donor (vmd) over RDMA: @path is its
 *                 address, @port its port, @secret what it requires
 * @EMP_TIER_TCP:  the same over TCP
 * @EMP_TIER_NODE: memory of NUMA node @node of this host (a CXL memory
 *                 expander or a far socket, usually a node without CPUs):
 *                 all @size bytes are taken from that node when the
 *                 instance is created, and fetch and writeback are copies
 */
enum emp_tier_kind {
	EMP_TIER_BDEV = 1,
	EMP_TIER_RDMA = 2,
	EMP_TIER_TCP  = 3,
	EMP_TIER_NODE = 4,
};

/**
 * struct emp_tier - one tier of an instance, as given to EMP_IOC_CREATE
 * @kind:     enum emp_tier_kind
 * @flags:    0, or EMP_TIER_F_REPLICA (modules with EMP_FEAT_REPLICAS)
 * @size:     bytes of instance this tier holds; a multiple of the block size
 * @offset:   BDEV: byte offset into the device, a multiple of 4096
 * @port:     RDMA/TCP: donor port
 * @node:     NODE: the NUMA node number; zero for the other kinds
 * @reserved0: must be zero
 * @path:     BDEV: device path; RDMA/TCP: donor address (IPv4 or IPv6
 *            text, no brackets). NUL-terminated, zero-padded; NODE: empty
 *            (all zero).
 * @reserved: must be zero
 * @secret_len: RDMA/TCP: bytes of @secret the donor wants (0: none);
 *            BDEV, NODE: zero
 * @reserved1: must be zero
 * @secret:   RDMA/TCP: shared secret sent to the donor; unused bytes zero
 *
 * Tiers are laid out one after the other in instance offset order: tier 0
 * holds the first @size bytes, tier 1 the next, and so on.
 *
 * EMP_TIER_F_REPLICA: this tier is a second copy of the tier before it,
 * which is not a replica itself: both remote (RDMA or TCP, either), of the
 * same size. It adds nothing to the instance's size, and EMP_IOC_STAT shows
 * the pair as one tier. Every write goes to both copies, a read to either;
 * when a copy fails (its donor is gone) the other serves alone
 * (emp_stat.replicas_lost), with no error to the faults, until
 * EMP_IOC_REPAIR gives the tier a new copy.
 */
#define EMP_TIER_F_REPLICA	(1U << 0)
struct emp_tier {
	__u32 kind;
	__u32 flags;
	__u64 size;
	__u64 offset;
	__u16 port;
	__u16 node;
	__u16 reserved0[2];
	char  path[EMP_PATH_MAX];
	__u64 reserved[2];
	__u32 secret_len;
	__u32 reserved1;
	__u8  secret[EMP_SECRET_MAX];
};
#define EMP_TIER_SIZE_VER0	232

/**
 * struct emp_create - create an instance (EMP_IOC_CREATE)
 * @size:          in: sizeof(struct emp_create) as known to the caller
 * @flags:         in: must be zero
 * @name:          in: instance name (see EMP_NAME_MAX)
 * @inst_size:     in: bytes; 0 means the sum of the tier sizes. At most that
 *                 sum, a multiple of the block size. Without tiers (a
 *                 DRAM-only instance, EMP_FEAT_DRAM_ONLY): nonzero and at
 *                 most @dram_budget; it is never evicted, its budget can
 *                 never go below its size, and a cold age demotes nothing.
 * @block_size:    in: unit of placement and residence, power of two,
 *                 4 KiB..2 MiB
 * @subblock_size: in: unit of transfer, power of two, 4 KiB..128 KiB,
 *                 at most @block_size
 * @dram_budget:   in: bytes of local DRAM the instance may use; a multiple of
 *                 the page size, at least 2 blocks
 * @nr_tiers:      in: entries at @tiers, 0..EMP_MAX_TIERS (0: DRAM-only;
 *                 modules without EMP_FEAT_DRAM_ONLY take 1 at least)
 * @tier_size:     in: sizeof(struct emp_tier) as known to the caller
 * @tiers:         in: user pointer to @nr_tiers struct emp_tier
 * @id:            out: instance id (also the minor of its device node)
 * @reserved0:     must be zero
 * @reserved:      must be zero
 *
 * Errors: EINVAL for a bad field (the kernel log says which), EEXIST for a
 * name in use, ENOSPC when EMP_MAX_INSTANCES exist, EOPNOTSUPP for a tier
 * kind this module cannot serve yet, ENOENT/ENOTBLK/EBUSY from opening a
 * block device (missing, not a block device, held exclusively elsewhere),
 * ENOSPC for a tier larger than its device, ENOMEM, EINTR when killed
 * while waiting. A create waits until every destroy in progress has
 * released its instance's devices and donors, so a device whose instance
 * was just destroyed (its node gone) is free for it.
 */
struct emp_create {
	__u32 size;
	__u32 flags;
	char  name[EMP_NAME_MAX];
	__u64 inst_size;
	__u32 block_size;
	__u32 subblock_size;
	__u64 dram_budget;
	__u32 nr_tiers;
	__u32 tier_size;
	__u64 tiers;
	__u32 id;
	__u32 reserved0;
	__u64 reserved[4];
};
#define EMP_CREATE_SIZE_VER0	120

/**
 * struct emp_target - name an instance (EMP_IOC_DESTROY)
 * @size:     in: sizeof(struct emp_target)
 * @flags:    in: must be zero
 * @name:     in: instance name
 * @reserved: must be zero
 *
 * DESTROY fails with EBUSY while the instance's device node is open or
 * mapped anywhere, ENOENT for an unknown name.
 */
struct emp_target {
	__u32 size;
	__u32 flags;
	char  name[EMP_NAME_MAX];
	__u64 reserved[2];
};
#define EMP_TARGET_SIZE_VER0	56

/**
 * struct emp_list - names of all instances (EMP_IOC_LIST)
 * @size:     in: sizeof(struct emp_list)
 * @flags:    in: must be zero
 * @nr:       in: room at @names, in entries; out: number of instances
 *            (may exceed the room: then only the first entries are filled)
 * @reserved0: must be zero
 * @names:    in: user pointer to @nr arrays of char[EMP_NAME_MAX], or 0
 *            with @nr 0 to ask for the count
 * @reserved: must be zero
 */
struct emp_list {
	__u32 size;
	__u32 flags;
	__u32 nr;
	__u32 reserved0;
	__u64 names;
	__u64 reserved[2];
};
#define EMP_LIST_SIZE_VER0	40

/* Buckets of emp_stat.lat_hist: bucket i counts faults served in
 * [2^i, 2^(i+1)) ns; the last bucket takes everything slower. */
#define EMP_LAT_BUCKETS		32

/*
 * Buckets of emp_stat.lat_fine, log-linear: each power of two of
 * nanoseconds is cut into 2^EMP_LAT_FINE_SHIFT equal buckets, so a bucket
 * is at most 1/8 of its lower bound wide (a quantile read from it is
 * within about 6 % at its middle). Bucket b < 8 counts b ns exactly;
 * above, with e = b / 8 + 2 and m = b % 8, bucket b counts
 * [(8 + m) << (e - 3), (9 + m) << (e - 3)) ns. The last bucket also takes
 * everything from 2^32 ns (4.3 s) on. lat_hist is the same data summed
 * per power of two.
 */
#define EMP_LAT_FINE_SHIFT	3
#define EMP_LAT_FINE_BUCKETS	240

/*
 * Idle ages of the cold-memory histogram (emp_stat.cold_bytes), seconds.
 */
#define EMP_COLD_BUCKETS	8
#define EMP_COLD_AGES		{ 1, 10, 60, 120, 300, 600, 1800, 3600 }

/**
 * struct emp_tier_stat - counters of one tier of an instance
 * @kind:        enum emp_tier_kind
 * @copies:      0 for a tier without a replica; else (EMP_FEAT_REPLICAS)
 *               EMP_COPY_* bits: which of its two copies serve, and
 *               whether a new one is being filled (EMP_IOC_REPAIR)
 * @size:        bytes of instance held by this tier
 * @reads:       read requests completed (subblocks fetched)
 * @read_bytes:  bytes read
 * @writes:      write requests completed (subblocks written back)
 * @write_bytes: bytes written
 * @errors:      failed requests
 */
struct emp_tier_stat {
	__u32 kind;
	__u32 copies;
	__u64 size;
	__u64 reads;
	__u64 read_bytes;
	__u64 writes;
	__u64 write_bytes;
	__u64 errors;
};

/* emp_tier_stat.copies bits */
#define EMP_COPY_REPLICATED	(1U << 0)	/* the tier has two copies */
#define EMP_COPY_FIRST_UP	(1U << 1)	/* the first copy serves */
#define EMP_COPY_SECOND_UP	(1U << 2)	/* the second copy serves */
#define EMP_COPY_RESYNC		(1U << 3)	/* a new copy is being filled */

/* emp_stat.state bits */
#define EMP_STATE_IO_ERROR	(1U << 0)	/* a tier request has failed */

/**
 * struct emp_stat - geometry and counters of one instance (EMP_IOC_STAT)
 * @size:          in: sizeof(struct emp_stat)
 * @flags:         in: must be zero
 * @name:          in: instance name
 * @id:            out: instance id
 * @state:         out: EMP_STATE_* bits
 * @inst_size:     out: bytes
 * @block_size:    out: bytes
 * @subblock_size: out: bytes
 * @dram_budget:   out: bytes of local DRAM allowed
 * @resident:      out: bytes of local DRAM in use
 * @nr_open:       out: open files of the device node (mappings hold one)
 * @nr_tiers:      out: valid entries in @tier
 * @faults:        out: page faults served (read and write)
 * @hits:          out: faults that found their subblock resident
 * @zero_fills:    out: subblocks filled with zeros, never written before
 * @fetches:       out: subblocks read from a tier (critical + background)
 * @evictions:     out: blocks evicted
 * @writebacks:    out: dirty subblocks written back
 * @io_errors:     out: tier requests that failed
 * @sigbus:        out: faults answered with SIGBUS
 * @lat_hist:      out: fault latency histogram (see EMP_LAT_BUCKETS)
 * @tier:          out: per-tier counters
 * @mapped_around: out: pages mapped by fault-around, without a fault of
 *                 their own (resident pages of the faulting block; see the
 *                 emp.ko parameter fault_around). Zero from modules
 *                 without EMP_FEAT_FAULT_AROUND (a reserved field there).
 * @nowait_retries: out: faults asked not to wait (FAULT_FLAG_RETRY_NOWAIT:
 *                 KVM's first try at a guest page, after which it can
 *                 complete the fault asynchronously) that would have
 *                 waited for I/O, answered "retry"; the waiting retry is
 *                 counted in @faults. Zero from modules without
 *                 EMP_FEAT_NOWAIT (a reserved field there).
 * @cleaned:       out: dirty subblocks the background cleaner wrote back
 *                 ahead of eviction (also counted in @writebacks; see the
 *                 emp.ko parameter clean_ahead). Zero from modules without
 *                 EMP_FEAT_CLEAN_AHEAD (a reserved field there).
 * @huge_faults:   out: faults on a block of 2 MiB kept in one compound
 *                 page, answered with the whole block resident, so that the
 *                 kernel maps it with one PMD entry where the mapping is
 *                 2 MiB aligned (see the emp.ko parameter huge_map). Zero
 *                 from modules without EMP_FEAT_HUGE_MAP (a reserved field
 *                 there).
 * Modules without EMP_FEAT_RECLAIM have a reserved field (zero) where
 * @direct_reclaims is, and their struct ends before @reclaimed:
 * @direct_reclaims: out: faults that found no free DRAM within the budget
 *                 and evicted a block themselves (the background
 *                 reclaimer had not kept up)
 * @reclaimed:     out: blocks the background reclaimer evicted (also
 *                 counted in @evictions)
 * @deactivated:   out: resident blocks the replacement policy unmapped to
 *                 learn whether they are still in use (their next access
 *                 faults and keeps them); where page table accessed bits
 *                 are read, only blocks those bits showed idle
 * @reactivated:   out: blocks found in use again and kept: a fault on an
 *                 unmapped block, or accessed bits set since the last look
 * @prefetched:    out: subblocks read ahead of need, in the background
 *                 (also counted in @fetches)
 * @prefetch_hits: out: faults that found their subblock read ahead
 * @meta_bytes:    out: kernel memory the instance's metadata holds now
 *                 (block state, bitmaps, indexes), in bytes
 * @lat_fine:      out: fault latency histogram, fine (EMP_LAT_FINE_BUCKETS)
 * The struct ends before the following in modules without
 * EMP_FEAT_POLLED_READS:
 * @polled_reads:  out: faults whose tier read the faulting task waited for
 *                 by polling the tier's completion queue itself rather than
 *                 sleeping until an interrupt (tiers that can be polled:
 *                 RDMA; see the emp.ko parameter poll_us); also counted in
 *                 @fetches. Zero for instances on other tiers.
 * @reserved:      in: zero
 * The struct ends before the following in older modules (the size they
 * return tells):
 * @read_wait_ns:  out: nanoseconds faults spent waiting for the tier reads
 *                 they issued themselves (from submission to completion,
 *                 polling included); over @fetches less @prefetched it is
 *                 the mean wait of such a read, the rest of a fault's
 *                 latency is the fault path's own
 * The struct ends before the following in modules without EMP_FEAT_MONITOR
 * (what a balancer needs; docs/design.md, "Monitoring"):
 * @stall_ns:      out: wall-clock nanoseconds during which at least one task
 *                 was stalled on the instance: waiting for a tier read of a
 *                 fault, or for DRAM in the budget (PSI's "some")
 * @refaults:      out: blocks made resident again whose last eviction was
 *                 recent: fewer blocks were evicted since than the budget
 *                 holds, so a budget twice as large would have kept them
 *                 (counted where the eviction is still remembered: a
 *                 table of up to 131072 evictions per instance)
 * @demoted:       out: blocks written back and dropped because they were
 *                 idle longer than @cold_age_s (proactive demotion)
 * @age_scans:     out: passes of the age scanner (cold_bytes are as fresh
 *                 as its last pass)
 * @pressure:      out: share of the last full second (per mille) during
 *                 which a task was stalled, as @stall_ns counts it
 * @pressure_threshold: out: per mille; a pressure event is sent when
 *                 @pressure crosses it (0: none). Set in sysfs.
 * @cold_age_s:    out: blocks idle this many seconds are demoted (0: off,
 *                 the default). Set in sysfs.
 * @cold_bytes:    out: resident bytes idle for at least EMP_COLD_AGES[i]
 *                 seconds, as of the age scanner's last pass; idle means
 *                 no fault and no page table access bit seen, so the
 *                 precision is the scan period (sysfs age_scan_ms of the
 *                 instance, off by default: set it, or a cold age, to
 *                 have the histogram) where accessed bits are read, and the
 *                 faults alone where they are not (then the scanner
 *                 unmaps idle-looking blocks to learn, see design.md)
 * The struct ends before the following in modules without EMP_FEAT_DISCARD:
 * @discarded:     out: bytes discarded with EMP_IOC_DISCARD
 * The struct ends before the following in modules without EMP_FEAT_REPLICAS:
 * @replicas_lost: out: copies of replicated tiers that failed and were
 *                 dropped (their donor gone); the other copy serves on
 * @failovers:     out: transfers that failed on one copy and were done on
 *                 the other
 * @resynced:      out: bytes copied into new copies (EMP_IOC_REPAIR)
 */
struct emp_stat {
	__u32 size;
	__u32 flags;
	char  name[EMP_NAME_MAX];
	__u32 id;
	__u32 state;
	__u64 inst_size;
	__u32 block_size;
	__u32 subblock_size;
	__u64 dram_budget;
	__u64 resident;
	__u32 nr_open;
	__u32 nr_tiers;
	__u64 faults;
	__u64 hits;
	__u64 zero_fills;
	__u64 fetches;
	__u64 evictions;
	__u64 writebacks;
	__u64 io_errors;
	__u64 sigbus;
	__u64 lat_hist[EMP_LAT_BUCKETS];
	struct emp_tier_stat tier[EMP_MAX_TIERS];
	__u64 mapped_around;
	__u64 nowait_retries;
	__u64 cleaned;
	__u64 huge_faults;
	__u64 direct_reclaims;
	__u64 reclaimed;
	__u64 deactivated;
	__u64 reactivated;
	__u64 prefetched;
	__u64 prefetch_hits;
	__u64 meta_bytes;
	__u64 lat_fine[EMP_LAT_FINE_BUCKETS];
	__u64 polled_reads;
	__u64 reserved[1];
	__u64 read_wait_ns;
	__u64 stall_ns;
	__u64 refaults;
	__u64 demoted;
	__u64 age_scans;
	__u32 pressure;
	__u32 pressure_threshold;
	__u64 cold_age_s;
	__u64 cold_bytes[EMP_COLD_BUCKETS];
	__u64 discarded;
	__u64 replicas_lost;
	__u64 failovers;
	__u64 resynced;
};
#define EMP_STAT_SIZE_VER0	888

/*
 * The counters of struct emp_stat, one list for every place that shows
 * them: X(name, help) per counter, @name being a __u64 member of struct
 * emp_stat and @help a line for people. emp.ko makes its per-CPU counters,
 * their STAT copy and its sysfs files (stats/NAME) from it, empctl its
 * JSON, text and Prometheus output. A new counter is added here and in
 * the struct above, and nowhere else.
 */
#define EMP_STAT_COUNTERS(X)						\
	X(faults, "Faults on the instance's mappings.")			\
	X(hits, "Faults that found their page resident.")		\
	X(zero_fills, "Never-written subblocks zero-filled without I/O.") \
	X(fetches, "Subblocks read from a tier.")			\
	X(evictions, "Blocks evicted from DRAM.")			\
	X(writebacks, "Dirty subblocks written back to a tier.")	\
	X(io_errors, "Failed tier transfers.")				\
	X(sigbus, "Faults answered with SIGBUS.")			\
	X(mapped_around, "Pages mapped by fault-around.")		\
	X(nowait_retries, "No-wait faults (KVM) answered with retry.")	\
	X(cleaned, "Subblocks written back ahead of eviction by the cleaner.") \
	X(huge_faults, "Faults that mapped a whole block.")		\
	X(direct_reclaims, "Faults that found no free DRAM in the budget.") \
	X(reclaimed, "Blocks evicted by the background reclaimer.")	\
	X(deactivated, "Blocks unmapped to learn whether they are still used.") \
	X(reactivated, "Deactivated blocks found in use again.")	\
	X(prefetched, "Subblocks read ahead.")				\
	X(prefetch_hits, "Faults that found their subblock read ahead.") \
	X(polled_reads, "Reads of faults whose completion the faulting task polled for.") \
	X(read_wait_ns, "Nanoseconds faults waited for the tier reads they issued.") \
	X(stall_ns, "Nanoseconds during which a task was stalled on the instance.") \
	X(refaults, "Blocks made resident again soon after their eviction.") \
	X(demoted, "Idle blocks written back and dropped by proactive demotion.") \
	X(age_scans, "Passes of the age scanner.")			\
	X(discarded, "Bytes discarded (EMP_IOC_DISCARD): zeros without I/O.") \
	X(replicas_lost, "Copies of replicated tiers dropped after they failed.") \
	X(failovers, "Transfers of replicated tiers redone on the other copy.") \
	X(resynced, "Bytes copied into new copies of replicated tiers (repair).")

/**
 * struct emp_resize - change the DRAM budget at run time (EMP_IOC_RESIZE)
 * @size:        in: sizeof(struct emp_resize)
 * @flags:       in: must be zero
 * @name:        in: instance name
 * @dram_budget: in: new budget (same rules as at create). Shrinking evicts
 *               down to it, writing dirty data back first; nothing is lost.
 * @reserved:    must be zero
 *
 * Errors: as CREATE's for the budget, and EINVAL below the size of a
 * DRAM-only instance; EIO if a writeback failed (the budget
 * is then changed but the instance may stay above it until it succeeds).
 */
struct emp_resize {
	__u32 size;
	__u32 flags;
	char  name[EMP_NAME_MAX];
	__u64 dram_budget;
	__u64 reserved[2];
};
#define EMP_RESIZE_SIZE_VER0	64

/**
 * struct emp_discard - drop a range of an instance (EMP_IOC_DISCARD)
 * @size:     in: sizeof(struct emp_discard)
 * @flags:    in: must be zero
 * @name:     in: instance name
 * @offset:   in: first byte of the range (any byte)
 * @length:   in: bytes, nonzero; the range lies within the instance
 * @reserved: must be zero
 *
 * The range reads as zeros afterwards, with no I/O: blocks it covers whole
 * are unmapped and their DRAM freed without a writeback; in a block it
 * covers in part, whole subblocks are zeroed in place and a subblock
 * covered in part has the covered bytes zeroed (fetched first if its data
 * is on a tier). What a fault or a write through a mapping does at the
 * same time lands before or after the discard, never half-way. The tiers
 * keep their stale copies (nothing reads them). Counted in
 * emp_stat.discarded. This is what fallocate(PUNCH_HOLE) and
 * madvise(MADV_REMOVE) would do, but the kernel offers those to regular
 * files and block devices only, not to /dev/emp-NAME.
 *
 * Errors: EINVAL for a bad field or a range outside the instance, ENOENT,
 * EINTR when killed (part of the range may be done), EIO when a partly
 * covered subblock could not be fetched, ENOMEM.
 */
struct emp_discard {
	__u32 size;
	__u32 flags;
	char  name[EMP_NAME_MAX];
	__u64 offset;
	__u64 length;
	__u64 reserved[2];
};
#define EMP_DISCARD_SIZE_VER0	72

/**
 * struct emp_repair - give a replicated tier a new copy (EMP_IOC_REPAIR)
 * @size:     in: sizeof(struct emp_repair)
 * @flags:    in: must be zero
 * @name:     in: instance name
 * @tier:     in: the tier, by its index in emp_stat.tier
 * @reserved0: must be zero
 * @reserved: must be zero
 * @copy:     in: the new copy: RDMA or TCP, the tier's size,
 *            flags EMP_TIER_F_REPLICA
 *
 * The tier must have lost one of its two copies (emp_tier_stat.copies).
 * The new copy is connected before the call returns; it is then filled
 * from the surviving copy in the background (EMP_COPY_RESYNC, counted in
 * emp_stat.resynced), taking every write meanwhile, and serves reads once
 * it is full. Errors: EINVAL for a bad field, ENOENT, EOPNOTSUPP for a
 * tier without replica, EBUSY while both copies serve or a fill runs, and
 * the errors of connecting the copy (as CREATE's).
 */
struct emp_repair {
	__u32 size;
	__u32 flags;
	char  name[EMP_NAME_MAX];
	__u32 tier;
	__u32 reserved0;
	__u64 reserved[2];
	struct emp_tier copy;
};
#define EMP_REPAIR_SIZE_VER0	(64 + EMP_TIER_SIZE_VER0)

/* Commands of /dev/emp. */
#define EMP_IOC_INFO		_IOWR(EMP_IOC_MAGIC, 0x00, struct emp_info)
#define EMP_IOC_CREATE		_IOWR(EMP_IOC_MAGIC, 0x01, struct emp_create)
#define EMP_IOC_DESTROY		_IOW(EMP_IOC_MAGIC, 0x02, struct emp_target)
#define EMP_IOC_LIST		_IOWR(EMP_IOC_MAGIC, 0x03, struct emp_list)
#define EMP_IOC_STAT		_IOWR(EMP_IOC_MAGIC, 0x04, struct emp_stat)
#define EMP_IOC_RESIZE		_IOW(EMP_IOC_MAGIC, 0x05, struct emp_resize)
#define EMP_IOC_DISCARD		_IOW(EMP_IOC_MAGIC, 0x06, struct emp_discard)
#define EMP_IOC_REPAIR		_IOW(EMP_IOC_MAGIC, 0x07, struct emp_repair)

/*
 * Events: the generic netlink family EMP_GENL_NAME (modules with
 * EMP_FEAT_EVENTS) announces what happens to instances on its multicast
 * group EMP_GENL_MCGRP; nobody needs to poll. Resolve the family and the
 * group by name (CTRL_CMD_GETFAMILY; libnl-genl: genl_ctrl_resolve() and
 * genl_ctrl_resolve_grp()), join the group, and read messages whose genl
 * command is one of enum emp_event, with the attributes of enum emp_attr.
 * Every event carries EMP_A_NAME and EMP_A_ID; the others as listed.
 * Nothing is sent to the family (it has no commands); joining needs no
 * privilege. Events are lost when a listener's socket buffer is full (the
 * socket then reports ENOBUFS): a listener that cares re-reads the state
 * with EMP_IOC_LIST and EMP_IOC_STAT.
 */
#define EMP_GENL_NAME		"emp"
#define EMP_GENL_VERSION	1
#define EMP_GENL_MCGRP		"events"

enum emp_event {
	EMP_EV_UNSPEC,
	EMP_EV_CREATED,		/* EMP_A_SIZE, EMP_A_BUDGET */
	EMP_EV_DESTROYED,
	EMP_EV_RESIZED,		/* EMP_A_BUDGET (the new one), EMP_A_ERRNO */
	EMP_EV_TIER_ERROR,	/* EMP_A_ERRNO; the first failed transfer of an
				 * instance, then at most one a second */
	EMP_EV_DONOR_LOST,	/* EMP_A_TIER (index), EMP_A_PEER: a remote
				 * tier's connection to its donor is gone */
	EMP_EV_PRESSURE,	/* EMP_A_PRESSURE, EMP_A_THRESHOLD, EMP_A_ABOVE:
				 * emp_stat.pressure crossed the threshold */
	__EMP_EV_MAX,
};
#define EMP_EV_MAX	(__EMP_EV_MAX - 1)

enum emp_attr {
	EMP_A_UNSPEC,
	EMP_A_NAME,		/* string, the instance name */
	EMP_A_ID,		/* u32, the instance id */
	EMP_A_SIZE,		/* u64, bytes */
	EMP_A_BUDGET,		/* u64, bytes of DRAM budget */
	EMP_A_ERRNO,		/* u32, a positive errno (0: success) */
	EMP_A_TIER,		/* u32, tier index */
	EMP_A_PEER,		/* string, "ADDR:PORT" of the donor */
	EMP_A_PRESSURE,		/* u32, per mille */
	EMP_A_THRESHOLD,	/* u32, per mille */
	EMP_A_ABOVE,		/* u32, 1: rose above the threshold, 0: fell below */
	EMP_A_PAD,		/* alignment padding of the u64s; ignore */
	__EMP_A_MAX,
};
#define EMP_A_MAX	(__EMP_A_MAX - 1)

#endif /* _UAPI_LINUX_EMP_H */
