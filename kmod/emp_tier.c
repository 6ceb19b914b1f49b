// SPDX-License-Identifier: GPL-2.0
/*
 * The table of tier kinds. Block-device, TCP and NUMA node tiers are built
 * into emp.ko; others (RDMA, in emp_rdma.ko) register themselves, and every
 * backend pins the module that serves it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/mutex.h>

#include "emp.h"
#include "emp_tier.h"

#define EMP_TIER_KINDS	(EMP_TIER_NODE + 1)	/* kinds are 1..EMP_TIER_NODE */

/*
 * A donor that stops answering while its transport still looks alive (a
 * process stopped or wedged behind a TCP connection its kernel still
 * acknowledges; an RDMA provider that leaves requests to a vanished peer
 * outstanding) is caught by this: a request unanswered for this long
 * fails, and the connections with it. One setting for every remote tier.
 */
static unsigned int request_timeout = 30;
module_param(request_timeout, uint, 0644);
MODULE_PARM_DESC(request_timeout,
		 "seconds a remote tier (TCP, RDMA) waits for a request to complete before it "
		 "drops the connections (default 30, 0: never)");

/**
 * emp_request_timeout() - the request_timeout parameter, in seconds
 *
 * Return: seconds; 0 for never.
 */
unsigned int emp_request_timeout(void)
{
	return READ_ONCE(request_timeout);
}
EXPORT_SYMBOL_GPL(emp_request_timeout);

static DEFINE_MUTEX(emp_kinds_lock);	/* protects emp_kinds */
static const struct emp_tier_ops *emp_kinds[EMP_TIER_KINDS];

/**
 * emp_tier_register() - make a tier kind available to new instances
 * @ops: the kind's operations; ops->owner is pinned by every backend
 *
 * Context: Process context.
 * Return: 0, -EINVAL for an unknown kind, -EBUSY if already registered.
 */
int emp_tier_register(const struct emp_tier_ops *ops)
{
	int err = 0;

	if (!ops->kind || ops->kind >= EMP_TIER_KINDS)
		return -EINVAL;
	mutex_lock(&emp_kinds_lock);
	if (emp_kinds[ops->kind])
		err = -EBUSY;
	else
		emp_kinds[ops->kind] = ops;
	mutex_unlock(&emp_kinds_lock);
	if (!err)
		pr_info("tier kind %s available\n", ops->name);
	return err;
}
EXPORT_SYMBOL_GPL(emp_tier_register);

/**
 * emp_tier_unregister() - withdraw a tier kind
 * @ops: as registered
 *
 * Context: Process context. Existing backends pin ops->owner, so none exist
 * when its module goes.
 */
void emp_tier_unregister(const struct emp_tier_ops *ops)
{
	mutex_lock(&emp_kinds_lock);
	if (emp_kinds[ops->kind] == ops)
		emp_kinds[ops->kind] = NULL;
	mutex_unlock(&emp_kinds_lock);
}
EXPORT_SYMBOL_GPL(emp_tier_unregister);

/**
 * emp_tier_kind_served() - whether new instances can use tier kind @kind now
 * @kind: EMP_TIER_*
 *
 * For EMP_IOC_INFO's feature bits: a kind in a module of its own (RDMA)
 * is served while that module is loaded.
 */
bool emp_tier_kind_served(u32 kind)
{
	bool served;

	if (!kind || kind >= EMP_TIER_KINDS)
		return false;
	mutex_lock(&emp_kinds_lock);
	served = emp_kinds[kind];
	mutex_unlock(&emp_kinds_lock);
	return served;
}

static const struct emp_tier_ops *emp_tier_get_ops(u32 kind)
{
	const struct emp_tier_ops *ops;

	mutex_lock(&emp_kinds_lock);
	ops = emp_kinds[kind];
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	mutex_unlock(&emp_kinds_lock);
	return ops;
}

/**
 * emp_tier_create() - open or connect one tier of an instance
 * @desc:   validated description
 * @holder: the instance
 * @out:    the new backend
 *
 * Context: Process context, sleeps.
 * Return: 0, -EOPNOTSUPP when no module serves the kind, or the kind's error.
 */
int emp_tier_create(const struct emp_tier *desc, void *holder, struct emp_backend **out)
{
	const struct emp_tier_ops *ops;
	int err;

	if (!desc->kind || desc->kind >= EMP_TIER_KINDS)
		return -EINVAL;
	ops = emp_tier_get_ops(desc->kind);
	if (!ops) {
		/* emp_rdma.ko declares MODULE_ALIAS("emp-tier-2"). */
		request_module("emp-tier-%u", desc->kind);
		ops = emp_tier_get_ops(desc->kind);
	}
	if (!ops) {
		pr_notice_ratelimited("no module serves tier kind %u (load emp_rdma.ko for RDMA)\n",
				      desc->kind);
		return -EOPNOTSUPP;
	}
	err = ops->create(desc, holder, out);
	if (err) {
		module_put(ops->owner);
		return err;
	}
	(*out)->ops = ops;
	if (desc->kind == EMP_TIER_TCP || desc->kind == EMP_TIER_RDMA)
		emp_tier_peer(desc, (*out)->peer, sizeof((*out)->peer));
	WRITE_ONCE((*out)->holder, holder);
	return 0;
}

/**
 * emp_tier_destroy() - release a backend and the module serving it
 * @be: a backend made by emp_tier_create(), with no I/O in flight
 *
 * Context: Process context.
 */
void emp_tier_destroy(struct emp_backend *be)
{
	struct module *owner = be->ops->owner;

	be->ops->destroy(be);
	module_put(owner);
}

/**
 * emp_tiers_init() - register the kinds built into emp.ko
 *
 * Context: Module init.
 */
void emp_tiers_init(void)
{
	emp_kinds[EMP_TIER_BDEV] = &emp_bdev_ops;
	emp_kinds[EMP_TIER_TCP] = &emp_tcp_ops;
	emp_kinds[EMP_TIER_NODE] = &emp_node_ops;
}

/**
 * emp_tiers_exit() - forget the built-in kinds
 *
 * Context: Module exit.
 */
void emp_tiers_exit(void)
{
	emp_kinds[EMP_TIER_BDEV] = NULL;
	emp_kinds[EMP_TIER_TCP] = NULL;
	emp_kinds[EMP_TIER_NODE] = NULL;
}
