// SPDX-License-Identifier: GPL-2.0
/*
 * The balancing policy: from one sample of every instance to new budgets.
 *
 * Each instance first says what it wants (its demand):
 *  - stalled (stall rate >= stall_high) or refaulting (>= refault_high):
 *    an eighth more, a quarter from twice the threshold, half from five
 *    times it (at least four blocks more);
 *  - much cold memory (cold >= cold_share % of resident): its working set
 *    (resident less cold) plus headroom, at once;
 *  - no pressure: half the way from its budget down to its working set
 *    plus headroom (all the way when that is two blocks or less);
 *  - first sample (no rates yet): the budget it has.
 * Demands are clamped to [lo, hi]: the rule's min and max rounded to whole
 * blocks, at least two blocks, at most the instance size.
 * Then the pool is shared by weighted water-filling: every instance gets
 * lo, and what is left is handed out at one level per unit of weight, each
 * instance taking at most its demand; so when the pool holds every demand
 * each gets it, and when it does not the instances under pressure share it
 * by weight and nobody gets less than lo. Results are rounded down to
 * whole blocks, which keeps the sum within the pool.
 */
#include <string.h>

#include "empd.h"

static const char *const reason_names[EMPD_NR_REASONS] = {
	[EMPD_KEEP] = "keep",
	[EMPD_ADOPT] = "adopt",
	[EMPD_GROW_STALL] = "stall",
	[EMPD_GROW_REFAULT] = "refault",
	[EMPD_SHRINK_COLD] = "cold",
	[EMPD_SHRINK_IDLE] = "idle",
	[EMPD_TO_MIN] = "min",
	[EMPD_TO_MAX] = "max",
	[EMPD_POOL] = "pool",
};

const char *empd_reason_name(enum empd_reason r)
{
	return (unsigned int)r < EMPD_NR_REASONS ? reason_names[r] : "?";
}

static uint64_t round_down(uint64_t v, uint64_t b)
{
	return v / b * b;
}

static uint64_t round_up(uint64_t v, uint64_t b)
{
	return v > UINT64_MAX - b ? round_down(UINT64_MAX, b) : (v + b - 1) / b * b;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Bounds of one instance: whole blocks, two at least, the size at most. */
static void bounds(const struct empd_pin *in, struct empd_pout *o)
{
	uint64_t b = in->block_size ? in->block_size : EMP_BLOCK_MIN;
	uint64_t kmin = 2 * b, top = round_down(in->inst_size, b);

	if (top < kmin)
		top = kmin;
	o->lo = clamp(round_up(in->min, b), kmin, top);
	o->hi = in->max ? clamp(round_down(in->max, b), o->lo, top) : top;
}

/* What one instance asks for, and why, before the pool is shared. */
static void demand(const struct empd_params *p, const struct empd_pin *in, struct empd_pout *o)
{
	uint64_t b = in->block_size ? in->block_size : EMP_BLOCK_MIN;
	uint64_t cur = in->budget, ws, target, want;

	ws = in->resident;
	if (in->have_cold)
		ws = in->cold < ws ? ws - in->cold : 0;
	o->ws = ws;
	target = round_up(ws + ws / 100 * p->headroom + 2 * b, b);

	if (!in->have_rates) {
		want = cur;
		o->reason = EMPD_ADOPT;
	} else if (in->stall >= p->stall_high || in->refaults >= p->refault_high) {
		/* The harder it stalls, the bigger the step: 1/8, 1/4 or 1/2. */
		double over = in->stall / p->stall_high > in->refaults / p->refault_high ?
			in->stall / p->stall_high : in->refaults / p->refault_high;
		uint64_t step = over >= 5 ? cur / 2 : over >= 2 ? cur / 4 : cur / 8;

		if (step < 4 * b)
			step = 4 * b;

		want = cur + step;
		o->reason = in->stall >= p->stall_high ? EMPD_GROW_STALL : EMPD_GROW_REFAULT;
	} else if (in->have_cold && in->resident &&
		   in->cold >= in->resident / 100 * p->cold_share && target < cur) {
		want = target;
		o->reason = EMPD_SHRINK_COLD;
	} else if (target < cur) {
		want = cur - target <= 2 * b ? target : target + (cur - target) / 2;
		o->reason = EMPD_SHRINK_IDLE;
	} else {
		want = cur;
		o->reason = EMPD_KEEP;
	}
	want = round_down(want, b);
	if (want < o->lo) {
		want = o->lo;
		if (cur < o->lo)
			o->reason = EMPD_TO_MIN;
	}
	if (want > o->hi) {
		want = o->hi;
		if (cur > o->hi)
			o->reason = EMPD_TO_MAX;
	}
	o->want = want;
}

/* Sum of what every instance takes at @level bytes per unit of weight. */
static uint64_t fill(const struct empd_pin *in, const struct empd_pout *o, unsigned int n,
		     uint64_t level, uint64_t *sum)
{
	unsigned int i;

	*sum = 0;
	for (i = 0; i < n; i++) {
		uint64_t w = in[i].weight ? in[i].weight : 1;
		uint64_t share = level > UINT64_MAX / w ? UINT64_MAX : level * w;

		*sum += clamp(share, o[i].lo, o[i].want);
	}
	return *sum;
}

/* The minimums do not fit the pool: cut them all by the same ratio. */
static void shrink_floors(const struct empd_params *p, const struct empd_pin *in,
			  struct empd_pout *o, unsigned int n, uint64_t floors)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t b = in[i].block_size ? in[i].block_size : EMP_BLOCK_MIN;
		uint64_t cut = (uint64_t)((double)o[i].lo * ((double)p->pool / (double)floors));

		cut = round_down(cut, b);
		o[i].lo = cut < 2 * b ? 2 * b : cut;
		if (o[i].want > o[i].lo)
			o[i].want = o[i].lo;
	}
}

unsigned int empd_policy(const struct empd_params *p, const struct empd_pin *in,
			 struct empd_pout *out, unsigned int n)
{
	uint64_t floors = 0, wants = 0, lo = 0, hi = 0, sum;
	unsigned int i, changed = 0;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		bounds(&in[i], &out[i]);
		demand(p, &in[i], &out[i]);
		floors += out[i].lo;
	}
	if (floors > p->pool)
		shrink_floors(p, in, out, n, floors);
	for (i = 0; i < n; i++)
		wants += out[i].want;

	if (wants <= p->pool) {
		for (i = 0; i < n; i++)
			out[i].budget = out[i].want;
	} else {
		/* Largest level whose fill fits the pool (binary search). */
		for (i = 0; i < n; i++)
			if (out[i].want > hi)
				hi = out[i].want;
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo + 1) / 2;

			if (fill(in, out, n, mid, &sum) <= p->pool)
				lo = mid;
			else
				hi = mid - 1;
		}
		for (i = 0; i < n; i++) {
			uint64_t b = in[i].block_size ? in[i].block_size : EMP_BLOCK_MIN;
			uint64_t w = in[i].weight ? in[i].weight : 1;
			uint64_t share = lo > UINT64_MAX / w ? UINT64_MAX : lo * w;

			out[i].budget = round_down(clamp(share, out[i].lo, out[i].want), b);
			if (out[i].budget < out[i].lo)
				out[i].budget = out[i].lo;
			if (out[i].budget < out[i].want && out[i].budget < in[i].budget)
				out[i].reason = EMPD_POOL;
		}
	}
	for (i = 0; i < n; i++) {
		if (out[i].budget != in[i].budget)
			changed++;
		else if (out[i].reason != EMPD_ADOPT)
			out[i].reason = EMPD_KEEP;
	}
	return changed;
}
