// SPDX-License-Identifier: GPL-2.0
/*
 * Guest selftest of the instance ioctls' argument checking, CREATE's
 * aside (emp_create_test): every field of DESTROY, LIST, STAT, RESIZE and REPAIR
 * given invalid values, each with the errno uapi/linux/emp.h documents
 * (table-driven), then a loop of random ioctls that must leave no
 * instance behind. Needs emp.ko loaded and /dev/nvme0n1 (EMP_TEST_DEV)
 * free.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libemp.h"
#include "lib/emp_test.h"
#include "lib/emp_ioctl_cases.h"

FIXTURE(ioc) {
	int ctl;
};

FIXTURE_SETUP(ioc)
{
	self->ctl = emp_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open /dev/emp: %s", strerror(-self->ctl));
	ASSERT_EQ(0, et_destroy_all(self->ctl)) TH_LOG("instances left by an earlier test");
}

FIXTURE_TEARDOWN(ioc)
{
	EXPECT_EQ(0, et_destroy_all(self->ctl));
	close(self->ctl);
}

/* ---- DESTROY, STAT, RESIZE: a name and reserved fields ------------------ */

/* Room behind every struct for larger claimed sizes. */
union any_arg {
	struct emp_target t;
	struct emp_stat s;
	struct emp_resize r;
	struct emp_repair rp;
	struct emp_list l;
	uint8_t raw[EMP_STRUCT_SIZE_MAX + 64];
};

struct named_cmd {
	const char *what;
	unsigned long cmd;
	uint32_t size, ver0;
	size_t name_off, flags_off;
	size_t reserved_off;
	unsigned int nr_reserved;
};

static const struct named_cmd named_cmds[] = {
	{ "DESTROY", EMP_IOC_DESTROY, sizeof(struct emp_target), EMP_TARGET_SIZE_VER0,
	  offsetof(struct emp_target, name), offsetof(struct emp_target, flags),
	  offsetof(struct emp_target, reserved), 2 },
	{ "STAT", EMP_IOC_STAT, sizeof(struct emp_stat), EMP_STAT_SIZE_VER0,
	  offsetof(struct emp_stat, name), offsetof(struct emp_stat, flags),
	  offsetof(struct emp_stat, reserved), ARRAY_SIZE(((struct emp_stat *)0)->reserved) },
	{ "RESIZE", EMP_IOC_RESIZE, sizeof(struct emp_resize), EMP_RESIZE_SIZE_VER0,
	  offsetof(struct emp_resize, name), offsetof(struct emp_resize, flags),
	  offsetof(struct emp_resize, reserved), 2 },
	{ "REPAIR", EMP_IOC_REPAIR, sizeof(struct emp_repair), EMP_REPAIR_SIZE_VER0,
	  offsetof(struct emp_repair, name), offsetof(struct emp_repair, flags),
	  offsetof(struct emp_repair, reserved), 2 },
};

/* A valid argument for @k naming @name (RESIZE: budget 256K). */
static void named_base(union any_arg *a, const struct named_cmd *k, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->t.size = k->size;
	emp_set_name((char *)a->raw + k->name_off, name);
	if (k->cmd == EMP_IOC_RESIZE)
		a->r.dram_budget = 256 * KB;
}

static int named_ioctl(int ctl, const struct named_cmd *k, union any_arg *a)
{
	errno = 0;
	return ioctl(ctl, k->cmd, a) ? errno : 0;
}

TEST_F(ioc, destroy_stat_resize_bad_fields)
{
	static const uint64_t bad_budgets[] = {
		0, 4 * KB, 64 * KB, 124 * KB, 128 * KB + 1, 128 * KB + 512, UINT64_MAX,
	};
	struct et_geom g = { .size = MB, .block = 64 << 10, .sub = 4 << 10, .budget = 128 << 10 };
	union any_arg a;
	struct emp_stat st;
	int got;

	/* An instance to aim at: every bad request must leave it alone. */
	ASSERT_EQ(0, et_create(self->ctl, NAME, &g));
	for (unsigned int c = 0; c < ARRAY_SIZE(named_cmds); c++) {
		const struct named_cmd *k = &named_cmds[c];
		const uint32_t sizes[] = { 0, 4, k->ver0 - 1, EMP_STRUCT_SIZE_MAX + 1, UINT32_MAX };

		for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
			named_base(&a, k, NAME);
			a.t.size = sizes[i];
			got = named_ioctl(self->ctl, k, &a);
			EXPECT_EQ(EINVAL, got) TH_LOG("%s size %u: %s", k->what, sizes[i], strerror(got));
		}
		named_base(&a, k, NAME);
		a.t.size = k->size + 16;
		a.raw[k->size + 15] = 1;
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(E2BIG, got) TH_LOG("%s nonzero tail: %s", k->what, strerror(got));

		named_base(&a, k, NAME);
		a.raw[k->flags_off] = 1;
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(EINVAL, got) TH_LOG("%s flags: %s", k->what, strerror(got));
		for (unsigned int i = 0; i < k->nr_reserved; i++) {
			named_base(&a, k, NAME);
			a.raw[k->reserved_off + 8 * i + 7] = 0x80;
			got = named_ioctl(self->ctl, k, &a);
			EXPECT_EQ(EINVAL, got) TH_LOG("%s reserved[%u]: %s", k->what, i, strerror(got));
		}
		for (unsigned int i = 0; i < ARRAY_SIZE(name_cases); i++) {
			named_base(&a, k, NAME);
			memcpy(a.raw + k->name_off, name_cases[i].name, EMP_NAME_MAX);
			got = named_ioctl(self->ctl, k, &a);
			EXPECT_EQ(name_cases[i].err, got) TH_LOG("%s name %s: %s", k->what,
								 name_cases[i].what, strerror(got));
		}
		/* Valid names nobody has. */
		named_base(&a, k, "st_ioc_nobody");
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(ENOENT, got) TH_LOG("%s unknown name: %s", k->what, strerror(got));
		named_base(&a, k, "st_io");	/* a prefix of a real name */
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(ENOENT, got) TH_LOG("%s prefix name: %s", k->what, strerror(got));
		named_base(&a, k, "ST_IOC");	/* names are case-sensitive */
		got = named_ioctl(self->ctl, k, &a);
		EXPECT_EQ(ENOENT, got) TH_LOG("%s upper-case name: %s", k->what, strerror(got));

		errno = 0;
		EXPECT_EQ(-1, ioctl(self->ctl, k->cmd, NULL));
		EXPECT_EQ(EFAULT, errno) TH_LOG("%s NULL", k->what);
		/* A wrong direction is an unknown command. */
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->ctl, _IOC(_IOC_DIR(k->cmd) ^ _IOC_READ, EMP_IOC_MAGIC,
						    _IOC_NR(k->cmd), _IOC_SIZE(k->cmd)), &a));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("%s wrong direction", k->what);
	}
	/* RESIZE's budget, on the real instance. */
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_budgets); i++) {
		EXPECT_EQ(-EINVAL, emp_resize(self->ctl, NAME, bad_budgets[i]))
			TH_LOG("budget %llu", (unsigned long long)bad_budgets[i]);
	}
	/* STAT with a larger struct and zero tail: accepted, tail untouched. */
	named_base(&a, &named_cmds[1], NAME);
	a.s.size = sizeof(a.s) + 64;
	EXPECT_EQ(0, named_ioctl(self->ctl, &named_cmds[1], &a));
	EXPECT_EQ(sizeof(a.s), a.s.size);
	for (unsigned int i = sizeof(a.s); i < sizeof(a.s) + 64; i++) {
		ASSERT_EQ(0, a.raw[i]);
	}
	/* Size bits of the command number are not looked at. */
	named_base(&a, &named_cmds[1], NAME);
	EXPECT_EQ(0, ioctl(self->ctl, _IOC(_IOC_READ | _IOC_WRITE, EMP_IOC_MAGIC,
					   _IOC_NR(EMP_IOC_STAT), 16), &a)) TH_LOG("%s", strerror(errno));

	/* Through all of that the instance stayed as it was. */
	ASSERT_EQ(0, emp_stat(self->ctl, NAME, &st));
	EXPECT_EQ(128 << 10, st.dram_budget);
	EXPECT_EQ(1, emp_list(self->ctl, NULL, 0));
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
}

TEST_F(ioc, list_bad_fields)
{
	struct et_geom g = { .size = MB, .block = 64 << 10, .sub = 4 << 10, .budget = 128 << 10 };
	static const uint32_t list_sizes[] = {
		0, 4, EMP_LIST_SIZE_VER0 - 1, EMP_STRUCT_SIZE_MAX + 1,
	};
	char names[4][EMP_NAME_MAX];
	union any_arg a;
	void *ro;
	int got;

#define LIST_BASE() do { memset(&a, 0, sizeof(a)); a.l.size = sizeof(a.l); \
		a.l.nr = 4; a.l.names = (uintptr_t)names; } while (0)
#define LIST_CALL() (errno = 0, ioctl(self->ctl, EMP_IOC_LIST, &a) ? errno : 0)

	ASSERT_EQ(0, et_create(self->ctl, NAME, &g));
	LIST_BASE();
	ASSERT_EQ(0, LIST_CALL());
	EXPECT_EQ(1, a.l.nr);
	EXPECT_STREQ(NAME, names[0]);
	/* Count only. */
	LIST_BASE();
	a.l.nr = 0;
	a.l.names = 0;
	ASSERT_EQ(0, LIST_CALL());
	EXPECT_EQ(1, a.l.nr);
	/* Room for none but a pointer: the count, nothing copied. */
	LIST_BASE();
	a.l.nr = 0;
	memset(names, 0x55, sizeof(names));
	ASSERT_EQ(0, LIST_CALL());
	EXPECT_EQ(1, a.l.nr);
	EXPECT_EQ(0x55, (uint8_t)names[0][0]);

	for (unsigned int i = 0; i < ARRAY_SIZE(list_sizes); i++) {
		LIST_BASE();
		a.l.size = list_sizes[i];
		got = LIST_CALL();
		EXPECT_EQ(EINVAL, got) TH_LOG("size %u: %s", list_sizes[i], strerror(got));
	}
	LIST_BASE();
	a.l.size = sizeof(a.l) + 8;
	a.raw[sizeof(a.l) + 3] = 1;
	got = LIST_CALL();
	EXPECT_EQ(E2BIG, got) TH_LOG("%s", strerror(got));
	LIST_BASE();
	a.l.flags = 1;
	got = LIST_CALL();
	EXPECT_EQ(EINVAL, got) TH_LOG("flags: %s", strerror(got));
	LIST_BASE();
	a.l.reserved0 = 1;
	got = LIST_CALL();
	EXPECT_EQ(EINVAL, got) TH_LOG("reserved0: %s", strerror(got));
	for (int i = 0; i < 2; i++) {
		LIST_BASE();
		a.l.reserved[i] = 1ULL << 40;
		got = LIST_CALL();
		EXPECT_EQ(EINVAL, got) TH_LOG("reserved[%d]: %s", i, strerror(got));
	}
	/* Room claimed without a buffer. */
	LIST_BASE();
	a.l.names = 0;
	got = LIST_CALL();
	EXPECT_EQ(EINVAL, got) TH_LOG("nr 4, names 0: %s", strerror(got));
	/* Unwritable buffers. */
	LIST_BASE();
	a.l.names = KERNEL_PTR;
	got = LIST_CALL();
	EXPECT_EQ(EFAULT, got) TH_LOG("kernel names pointer: %s", strerror(got));
	ro = mmap(NULL, ET_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	LIST_BASE();
	a.l.names = (uintptr_t)ro;
	got = LIST_CALL();
	EXPECT_EQ(EFAULT, got) TH_LOG("read-only names: %s", strerror(got));
	munmap(ro, ET_PAGE);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->ctl, EMP_IOC_LIST, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, emp_destroy(self->ctl, NAME));
#undef LIST_BASE
#undef LIST_CALL
}

/* ---- random ioctls ------------------------------------------------------- */

static const unsigned long real_cmds[] = {
	EMP_IOC_INFO, EMP_IOC_CREATE, EMP_IOC_DESTROY, EMP_IOC_LIST, EMP_IOC_STAT,
	EMP_IOC_RESIZE, EMP_IOC_REPAIR,
};

/* Every errno the ABI documents for some input. */
static int documented_errno(int e)
{
	switch (e) {
	case 0: case EINVAL: case E2BIG: case EFAULT: case ENOTTY: case ENOENT:
	case EEXIST: case EBUSY: case ENOSPC: case EOPNOTSUPP: case ENOTBLK:
	case ENOMEM: case EIO:
		return 1;
	}
	return 0;
}

/* Offsets of user pointers in each struct: never flipped bit by bit. */
static int is_pointer_byte(unsigned long cmd, size_t off)
{
	size_t p;

	if (cmd == EMP_IOC_CREATE)
		p = offsetof(struct emp_create, tiers);
	else if (cmd == EMP_IOC_LIST)
		p = offsetof(struct emp_list, names);
	else
		return 0;
	return off >= p && off < p + 8;
}

static uint64_t rand_ptr(uint64_t *s)
{
	static const uint64_t bad[] = { 0, 1, 4095, KERNEL_PTR, 0xdead0000ULL,
					0x8000000000000000ULL, UINT64_MAX };

	return bad[et_rand(s) % ARRAY_SIZE(bad)];
}

TEST_F_TIMEOUT(ioc, random_ioctls_leave_nothing_behind, 180)
{
	static const char *const fz[] = { "st_fz0", "st_fz1", "st_fz2" };
	uint64_t seed = et_seed(), counts[4] = { 0 };
	union any_arg *a = malloc(sizeof(*a));
	char (*names)[EMP_NAME_MAX] = calloc(EMP_MAX_INSTANCES, EMP_NAME_MAX);
	struct create_req *r = malloc(sizeof(*r));
	struct emp_info info;
	int ok = 0, fails = 0;

	ASSERT_TRUE(a && names && r);
	TH_LOG("seed %#llx", (unsigned long long)seed);
	for (int it = 0; it < 10000 && fails < 10; it++) {
		uint64_t x = et_rand(&seed);
		unsigned long cmd = real_cmds[x % ARRAY_SIZE(real_cmds)];
		unsigned int kind = (x >> 8) % 100;
		void *arg = a;
		int rc, e;

		if (kind < 30) {
			/* Random bytes, a size that is sometimes plausible. */
			for (size_t i = 0; i < sizeof(a->raw); i += 8) {
				uint64_t v = et_rand(&seed);

				memcpy(a->raw + i, &v, 8);
			}
			switch ((x >> 16) % 4) {
			case 0: a->t.size = (uint32_t)et_rand(&seed); break;
			case 1: a->t.size = (uint32_t)(et_rand(&seed) % (EMP_STRUCT_SIZE_MAX + 8)); break;
			default: a->t.size = _IOC_SIZE(cmd); break;
			}
			if ((x >> 20) & 1)	/* a zero tail behind the known struct */
				memset(a->raw + _IOC_SIZE(cmd), 0, sizeof(a->raw) - _IOC_SIZE(cmd));
			if (cmd == EMP_IOC_CREATE)
				a->raw[offsetof(struct emp_create, tiers) + 7] |= 0x80;
			if (cmd == EMP_IOC_LIST)
				a->raw[offsetof(struct emp_list, names) + 7] |= 0x80;
			counts[0]++;
		} else if (kind < 70) {
			/* A valid request with a few bytes changed. */
			const char *nm = fz[(x >> 16) % ARRAY_SIZE(fz)];
			uint8_t *base;
			size_t len;

			memset(a, 0, sizeof(*a));
			if (cmd == EMP_IOC_CREATE) {
				create_base(r);
				emp_set_name(r->c.name, nm);
				r->t[0].offset = ((x >> 24) % 64) * 8 * MB;
				base = (uint8_t *)&r->c;
				len = sizeof(r->c) + sizeof(r->ctail);
				arg = &r->c;
			} else {
				a->t.size = _IOC_SIZE(cmd);
				if (cmd == EMP_IOC_INFO) {
					a->t.size = sizeof(struct emp_info);
				} else if (cmd == EMP_IOC_LIST) {
					a->l.nr = (x >> 24) % 8;
					a->l.names = (uintptr_t)names;
				} else {
					emp_set_name(a->t.name, nm);
					if (cmd == EMP_IOC_RESIZE)
						a->r.dram_budget = (1 + (x >> 24) % 64) * 64 * KB;
				}
				base = a->raw;
				len = a->t.size + 16;
			}
			for (int n = 1 + (int)((x >> 32) % 3); n > 0; n--) {
				size_t off = et_rand(&seed) % len;

				if (is_pointer_byte(cmd, off))
					continue;
				base[off] ^= (uint8_t)(1 + et_rand(&seed) % 255);
			}
			counts[1]++;
		} else if (kind < 74) {
			/* A valid create or destroy. */
			const char *nm = fz[(x >> 16) % ARRAY_SIZE(fz)];

			if ((x >> 20) & 1) {
				create_base(r);
				emp_set_name(r->c.name, nm);
				cmd = EMP_IOC_CREATE;
				arg = &r->c;
			} else {
				memset(a, 0, sizeof(*a));
				a->t.size = sizeof(a->t);
				emp_set_name(a->t.name, nm);
				cmd = EMP_IOC_DESTROY;
			}
			counts[2]++;
		} else {
			/* Garbage: unknown numbers, wrong directions, other magics. */
			static const unsigned int magics[] = { EMP_IOC_MAGIC, EMP_IOC_MAGIC,
							       0xED, 0xEF, 0xAB };

			cmd = _IOC((x >> 16) & 3, magics[(x >> 18) % ARRAY_SIZE(magics)],
				   (x >> 24) & 0xff, (x >> 32) & 0x3fff);
			if ((x >> 48) % 4 == 0)
				arg = (void *)(uintptr_t)rand_ptr(&seed);
			memset(a, 0, sizeof(*a));
			a->t.size = (uint32_t)(x >> 40) & 0xfff;
			counts[3]++;
		}
		if (kind < 70 && (x >> 56) % 16 == 0)
			arg = (void *)(uintptr_t)rand_ptr(&seed);
		errno = 0;
		rc = ioctl(self->ctl, cmd, arg);
		e = rc ? errno : 0;
		if (!documented_errno(e)) {
			fails++;
			TH_LOG("iteration %d: cmd %#lx gave %d (%s)", it, cmd, e, strerror(e));
		}
		ok += !e;
	}
	EXPECT_EQ(0, fails);
	TH_LOG("%d calls succeeded; random %llu, mutated %llu, valid %llu, garbage %llu", ok,
	       (unsigned long long)counts[0], (unsigned long long)counts[1],
	       (unsigned long long)counts[2], (unsigned long long)counts[3]);
	/* Whatever the loop made goes away, and then nothing is left. */
	EXPECT_EQ(0, et_destroy_all(self->ctl));
	EXPECT_EQ(0, emp_list(self->ctl, NULL, 0));
	ASSERT_EQ(0, emp_get_info(self->ctl, &info));
	EXPECT_EQ(0, info.nr_instances);
	EXPECT_EQ(0, et_bdev_excl(et_dev()));
	free(r);
	free(names);
	free(a);
}

TEST_HARNESS_MAIN
