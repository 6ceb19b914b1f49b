// SPDX-License-Identifier: GPL-2.0
/*
 * Events: the generic netlink family EMP_GENL_NAME and its multicast group
 * (uapi/linux/emp.h lists the events and their attributes). The family
 * takes no commands; it only announces. A message is built only when the
 * group has a listener.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "emp.h"

static const struct genl_multicast_group emp_nl_groups[] = {
	{ .name = EMP_GENL_MCGRP, },
};

static struct genl_family emp_nl_family = {
	.name		= EMP_GENL_NAME,
	.version	= EMP_GENL_VERSION,
	.maxattr	= EMP_A_MAX,
	.module		= THIS_MODULE,
	.mcgrps		= emp_nl_groups,
	.n_mcgrps	= ARRAY_SIZE(emp_nl_groups),
};

static bool emp_nl_ready;

/* Start an event about @inst, or NULL when nobody listens (or no memory). */
static struct sk_buff *emp_ev_start(u8 event, struct emp_instance *inst, void **hdr)
{
	struct sk_buff *skb;

	if (!READ_ONCE(emp_nl_ready) || !genl_has_listeners(&emp_nl_family, &init_net, 0))
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &emp_nl_family, 0, event);
	if (!*hdr || nla_put_string(skb, EMP_A_NAME, inst->name) ||
	    nla_put_u32(skb, EMP_A_ID, inst->id)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static void emp_ev_send(struct sk_buff *skb, void *hdr, bool ok)
{
	if (!ok) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	/* -ESRCH: the last listener left meanwhile. */
	genlmsg_multicast(&emp_nl_family, skb, 0, 0, GFP_KERNEL);
}

/**
 * emp_ev_instance() - announce that @inst was created, destroyed or resized
 * @event: EMP_EV_CREATED, EMP_EV_DESTROYED or EMP_EV_RESIZED
 * @inst:  the instance (still allocated)
 * @err:   for a resize, its result (negative errno or 0)
 *
 * Context: Process context.
 */
void emp_ev_instance(u8 event, struct emp_instance *inst, int err)
{
	u64 budget = (u64)READ_ONCE(inst->budget_pages) << PAGE_SHIFT;
	struct sk_buff *skb;
	void *hdr;
	bool ok = true;

	skb = emp_ev_start(event, inst, &hdr);
	if (!skb)
		return;
	if (event == EMP_EV_CREATED)
		ok = !nla_put_u64_64bit(skb, EMP_A_SIZE, inst->size, EMP_A_PAD);
	if (event != EMP_EV_DESTROYED)
		ok = ok && !nla_put_u64_64bit(skb, EMP_A_BUDGET, budget, EMP_A_PAD);
	if (event == EMP_EV_RESIZED)
		ok = ok && !nla_put_u32(skb, EMP_A_ERRNO, -err);
	emp_ev_send(skb, hdr, ok);
}

/**
 * emp_ev_tier() - announce a tier's failed transfer or lost donor
 * @event: EMP_EV_TIER_ERROR or EMP_EV_DONOR_LOST
 * @inst:  the instance
 * @tier:  index of the tier (EMP_EV_DONOR_LOST)
 * @err:   positive errno
 *
 * Context: Process context (the instance's tick).
 */
void emp_ev_tier(u8 event, struct emp_instance *inst, unsigned int tier, int err)
{
	struct sk_buff *skb;
	void *hdr;
	bool ok;

	skb = emp_ev_start(event, inst, &hdr);
	if (!skb)
		return;
	ok = !nla_put_u32(skb, EMP_A_ERRNO, err);
	if (event == EMP_EV_DONOR_LOST) {
		ok = ok && !nla_put_u32(skb, EMP_A_TIER, tier) &&
		     !nla_put_string(skb, EMP_A_PEER, inst->tiers[tier]->peer);
	}
	emp_ev_send(skb, hdr, ok);
}

/**
 * emp_ev_pressure() - announce that @inst's pressure crossed its threshold
 * @inst:      the instance
 * @pressure:  per mille, the last tick's
 * @threshold: per mille
 * @above:     rose above (true) or fell below
 *
 * Context: Process context (the instance's tick).
 */
void emp_ev_pressure(struct emp_instance *inst, u32 pressure, u32 threshold, bool above)
{
	struct sk_buff *skb;
	void *hdr;

	skb = emp_ev_start(EMP_EV_PRESSURE, inst, &hdr);
	if (!skb)
		return;
	emp_ev_send(skb, hdr, !nla_put_u32(skb, EMP_A_PRESSURE, pressure) &&
				!nla_put_u32(skb, EMP_A_THRESHOLD, threshold) &&
				!nla_put_u32(skb, EMP_A_ABOVE, above));
}

/**
 * emp_nl_init() - register the family
 *
 * Context: Module init.
 * Return: 0 or a negative errno.
 */
int emp_nl_init(void)
{
	int err = genl_register_family(&emp_nl_family);

	if (!err)
		WRITE_ONCE(emp_nl_ready, true);
	return err;
}

/**
 * emp_nl_exit() - unregister the family
 *
 * Context: Module exit.
 */
void emp_nl_exit(void)
{
	WRITE_ONCE(emp_nl_ready, false);
	genl_unregister_family(&emp_nl_family);
}
