/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the ioctl argument tests (emp_create_test.c, emp_ioctl_test.c)
 * share: a valid CREATE request to start from, and the instance names
 * every command that takes one must refuse. Include after emp_test.h.
 */
#ifndef EMP_IOCTL_CASES_H
#define EMP_IOCTL_CASES_H

#define NAME		"st_ioc"
#define KERNEL_PTR	0xffff888000000000ULL
#define KB		(1ULL << 10)
#define MB		(1ULL << 20)

/* A create request with room behind each struct for larger claimed sizes. */
struct create_req {
	struct emp_create c;
	uint8_t ctail[64];
	struct emp_tier t[EMP_MAX_TIERS + 2];
};

/* Valid: 1 MiB on the test device, 64K blocks, 4K subblocks, 2 blocks of DRAM. */
static void create_base(struct create_req *r)
{
	memset(r, 0, sizeof(*r));
	r->c.size = sizeof(r->c);
	emp_set_name(r->c.name, NAME);
	r->c.block_size = 64 << 10;
	r->c.subblock_size = 4 << 10;
	r->c.dram_budget = 128 << 10;
	r->c.nr_tiers = 1;
	r->c.tier_size = sizeof(struct emp_tier);
	r->c.tiers = (uintptr_t)r->t;
	for (int i = 0; i < EMP_MAX_TIERS + 2; i++) {
		/* Disjoint 1 MiB ranges, 8 MiB apart: any prefix is valid. */
		r->t[i].kind = EMP_TIER_BDEV;
		r->t[i].size = ET_MIB;
		r->t[i].offset = (uint64_t)i * 8 * ET_MIB;
		snprintf(r->t[i].path, sizeof(r->t[i].path), "%s", et_dev());
	}
}

struct name_case {
	const char *what;
	char name[EMP_NAME_MAX];
	int err;
};

static const struct name_case name_cases[] = {
	{ "empty", "", EINVAL },
	{ "space", "a b", EINVAL },
	{ "slash", "a/b", EINVAL },
	{ "colon", "a:b", EINVAL },
	{ "star", "a*", EINVAL },
	{ "newline", "ab\n", EINVAL },
	{ "tab", "\tab", EINVAL },
	{ "high byte", "a\xff", EINVAL },
	{ "UTF-8", "caf\xc3\xa9", EINVAL },
	{ "leading dot", ".hidden", EINVAL },
	{ "dot", ".", EINVAL },
	{ "dot dot", "..", EINVAL },
	{ "leading dash", "-x", EINVAL },
	{ "garbage after the NUL", "ab\0c", EINVAL },
	{ "nonzero last byte after the NUL", "ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0x", EINVAL },
	{ "unterminated (32 chars)", "abcdefghijklmnopqrstuvwxyz012345", EINVAL },
};

#endif /* EMP_IOCTL_CASES_H */
