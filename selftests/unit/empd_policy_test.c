// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of empd's policy (tools/empd/policy.c): the limits hold
 * for many random inputs, growth goes to the stalled instance, a cold
 * instance shrinks to its min, results are whole blocks, weights share a
 * full pool.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "empd.h"

#define MiB	(1ULL << 20)
#define KiB	(1ULL << 10)

static const struct empd_params params = {
	.pool = 96 * MiB, .stall_high = 20, .refault_high = 10, .cold_share = 25, .headroom = 12,
};

/* A busy-enough instance with rates and no cold memory. */
static struct empd_pin inst(uint64_t size, uint64_t budget, uint64_t resident)
{
	struct empd_pin p = {
		.inst_size = size, .block_size = 64 * KiB, .budget = budget,
		.resident = resident, .weight = 1, .have_rates = 1,
	};
	return p;
}

TEST(stalled_instance_grows_others_do_not)
{
	struct empd_pin in[3] = {
		inst(256 * MiB, 16 * MiB, 16 * MiB),
		inst(256 * MiB, 16 * MiB, 16 * MiB),
		inst(256 * MiB, 16 * MiB, 16 * MiB),
	};
	struct empd_pout out[3];

	in[1].stall = 300;	/* 30 % of the time stalled */
	EXPECT_EQ(1, empd_policy(&params, in, out, 3));
	EXPECT_EQ(24 * MiB, out[1].budget);
	EXPECT_EQ(EMPD_GROW_STALL, out[1].reason);
	EXPECT_EQ(16 * MiB, out[0].budget);
	EXPECT_EQ(EMPD_KEEP, out[0].reason);
	EXPECT_EQ(16 * MiB, out[2].budget);

	/* Refaults alone also make it grow. */
	in[1].stall = 0;
	in[1].refaults = 50;
	empd_policy(&params, in, out, 3);
	EXPECT_EQ(EMPD_GROW_REFAULT, out[1].reason);
	EXPECT_LT(16 * MiB, out[1].budget);
}

TEST(full_pool_goes_to_the_stalled_by_weight)
{
	struct empd_pin in[3] = {
		inst(256 * MiB, 32 * MiB, 32 * MiB),
		inst(256 * MiB, 32 * MiB, 32 * MiB),
		inst(256 * MiB, 32 * MiB, 8 * MiB),	/* uses a quarter */
	};
	struct empd_pout out[3];

	in[0].stall = in[1].stall = 500;
	in[1].weight = 3;
	empd_policy(&params, in, out, 3);
	/* The idle one gives half its unused budget back. */
	EXPECT_GT(32 * MiB, out[2].budget);
	EXPECT_EQ(EMPD_SHRINK_IDLE, out[2].reason);
	EXPECT_GE(params.pool, out[0].budget + out[1].budget + out[2].budget);
	/* Both stalled grow; the heavier one gets more. */
	EXPECT_LT(32 * MiB, out[1].budget);
	EXPECT_LE(out[0].budget, out[1].budget);
	EXPECT_EQ(EMPD_GROW_STALL, out[1].reason);
}

TEST(cold_instance_shrinks_to_min)
{
	struct empd_pin in[2] = {
		inst(256 * MiB, 48 * MiB, 48 * MiB),
		inst(256 * MiB, 16 * MiB, 16 * MiB),
	};
	struct empd_pout out[2];

	in[0].min = 4 * MiB;
	in[0].have_cold = 1;
	in[0].cold = 48 * MiB;
	empd_policy(&params, in, out, 2);
	EXPECT_EQ(4 * MiB, out[0].budget);
	EXPECT_EQ(EMPD_SHRINK_COLD, out[0].reason);
	EXPECT_EQ(0, out[0].ws);
	/* Without a min: the kernel's two blocks. */
	in[0].min = 0;
	empd_policy(&params, in, out, 2);
	EXPECT_EQ(128 * KiB, out[0].budget);
	/* Half cold: down to the hot half plus headroom, not further. */
	in[0].cold = 24 * MiB;
	empd_policy(&params, in, out, 2);
	EXPECT_EQ(24 * MiB, out[0].ws);
	EXPECT_LE(24 * MiB, out[0].budget);
	EXPECT_GT(32 * MiB, out[0].budget);
}

TEST(idle_shrink_converges)
{
	struct empd_pin in = inst(256 * MiB, 64 * MiB, 0);
	struct empd_pout out;
	int rounds = 0;

	in.min = 8 * MiB;
	while (rounds < 40 && empd_policy(&params, &in, &out, 1)) {
		EXPECT_EQ(EMPD_SHRINK_IDLE, out.reason);
		EXPECT_GT(in.budget, out.budget);
		in.budget = out.budget;
		rounds++;
	}
	EXPECT_EQ(8 * MiB, in.budget);
	EXPECT_GT(20, rounds);
}

TEST(first_sample_adopts)
{
	struct empd_pin in[2] = {
		inst(256 * MiB, 40 * MiB, 0), inst(256 * MiB, 40 * MiB, 0),
	};
	struct empd_pout out[2];

	in[0].have_rates = in[1].have_rates = 0;
	EXPECT_EQ(0, empd_policy(&params, in, out, 2));
	EXPECT_EQ(EMPD_ADOPT, out[0].reason);
	/* Over the pool: both cut to fit, nothing else. */
	in[0].budget = in[1].budget = 64 * MiB;
	EXPECT_EQ(2, empd_policy(&params, in, out, 2));
	EXPECT_EQ(48 * MiB, out[0].budget);
	EXPECT_EQ(48 * MiB, out[1].budget);
	EXPECT_EQ(EMPD_POOL, out[1].reason);
}

TEST(limits_and_block_rounding)
{
	struct empd_pin in = inst(10 * MiB, 20 * MiB, 0);
	struct empd_pout out;

	in.have_rates = 0;
	empd_policy(&params, &in, &out, 1);
	EXPECT_EQ(10 * MiB, out.budget);		/* the size at most */
	EXPECT_EQ(EMPD_TO_MAX, out.reason);
	in.budget = 4 * MiB + 4 * KiB;			/* page-aligned, not block */
	in.max = 6 * MiB + 100;
	in.min = 3 * MiB + 1;
	empd_policy(&params, &in, &out, 1);
	EXPECT_EQ(4 * MiB, out.budget);
	EXPECT_EQ(3 * MiB + 64 * KiB, out.lo);		/* min rounded up */
	EXPECT_EQ(6 * MiB, out.hi);			/* max rounded down */
	in.budget = 1 * MiB;
	empd_policy(&params, &in, &out, 1);
	EXPECT_EQ(out.lo, out.budget);
	EXPECT_EQ(EMPD_TO_MIN, out.reason);
	/* A 2 MiB block and a tiny min: two blocks. */
	in = inst(64 * MiB, 16 * MiB, 0);
	in.block_size = 2 * MiB;
	in.min = 1;
	in.have_cold = 1;
	empd_policy(&params, &in, &out, 1);
	EXPECT_EQ(4 * MiB, out.lo);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST(limits_hold_for_random_inputs)
{
	static const uint32_t blocks[] = { 4096, 65536, 2 << 20 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned int round, i, fails = 0;

	for (round = 0; round < 20000 && fails < 5; round++) {
		struct empd_params p = params;
		struct empd_pin in[8];
		struct empd_pout out[8];
		unsigned int n = 1 + rnd(&seed) % 8;
		uint64_t sum = 0, floors = 0;

		p.pool = (1 + rnd(&seed) % 512) * MiB;
		p.headroom = rnd(&seed) % 101;
		p.cold_share = 1 + rnd(&seed) % 100;
		for (i = 0; i < n; i++) {
			uint32_t b = blocks[rnd(&seed) % 3];
			uint64_t size = (2 + rnd(&seed) % 256) * (uint64_t)b;

			memset(&in[i], 0, sizeof(in[i]));
			in[i].inst_size = size;
			in[i].block_size = b;
			in[i].budget = (1 + rnd(&seed) % (size / 4096 * 2)) * 4096;
			in[i].resident = rnd(&seed) % (in[i].budget + 1);
			in[i].min = rnd(&seed) % 3 ? rnd(&seed) % (p.pool / 4 + 1) : 0;
			in[i].max = rnd(&seed) % 3 ? in[i].min + rnd(&seed) % (size + 1) : 0;
			in[i].weight = 1 + rnd(&seed) % 10;
			in[i].have_rates = rnd(&seed) % 4 != 0;
			in[i].stall = (double)(rnd(&seed) % 1001);
			in[i].refaults = (double)(rnd(&seed) % 100);
			in[i].have_cold = rnd(&seed) % 2;
			in[i].cold = rnd(&seed) % (in[i].resident + 1);
		}
		empd_policy(&p, in, out, n);
		for (i = 0; i < n; i++) {
			uint64_t b = in[i].block_size, kmin = 2 * b;
			uint64_t min = (in[i].min + b - 1) / b * b;

			floors += min > kmin ? min : kmin;
			sum += out[i].budget;
			if (out[i].budget % b || out[i].budget < kmin ||
			    out[i].budget > (in[i].inst_size / b * b > kmin ? in[i].inst_size / b * b : kmin) ||
			    (in[i].max && out[i].budget > in[i].max && out[i].budget > out[i].lo)) {
				fails++;
				TH_LOG("round %u inst %u: budget %llu block %llu size %llu max %llu",
				       round, i, (unsigned long long)out[i].budget,
				       (unsigned long long)b, (unsigned long long)in[i].inst_size,
				       (unsigned long long)in[i].max);
			}
		}
		/* min holds and the pool holds whenever the mins fit it. */
		if (floors <= p.pool) {
			for (i = 0; i < n; i++)
				if (out[i].budget < out[i].lo || (in[i].min && out[i].budget < in[i].min &&
				    in[i].min <= in[i].inst_size / in[i].block_size * in[i].block_size)) {
					fails++;
					TH_LOG("round %u inst %u: budget %llu under min %llu", round, i,
					       (unsigned long long)out[i].budget,
					       (unsigned long long)in[i].min);
				}
			if (sum > p.pool) {
				fails++;
				TH_LOG("round %u: budgets %llu exceed the pool %llu", round,
				       (unsigned long long)sum, (unsigned long long)p.pool);
			}
		}
	}
	EXPECT_EQ(0, fails);
}

TEST(reason_names)
{
	EXPECT_STREQ("stall", empd_reason_name(EMPD_GROW_STALL));
	EXPECT_STREQ("cold", empd_reason_name(EMPD_SHRINK_COLD));
	EXPECT_STREQ("?", empd_reason_name(EMPD_NR_REASONS));
}

TEST_HARNESS_MAIN
