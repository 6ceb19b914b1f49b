// SPDX-License-Identifier: LGPL-2.1
/* libemp-genl: decode, format and receive the events of emp.ko. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "emp_genl.h"

struct emp_events {
	struct nl_sock *sk;	/* joined to the event group */
	emp_event_fn fn;
	void *arg;
};

static const char *const event_names[] = {
	[EMP_EV_CREATED] = "created",
	[EMP_EV_DESTROYED] = "destroyed",
	[EMP_EV_RESIZED] = "resized",
	[EMP_EV_TIER_ERROR] = "tier_error",
	[EMP_EV_DONOR_LOST] = "donor_lost",
	[EMP_EV_PRESSURE] = "pressure",
};

const char *emp_event_name(int event)
{
	if (event <= 0 || event > EMP_EV_MAX || !event_names[event])
		return "unknown";
	return event_names[event];
}

static struct nla_policy attr_policy[EMP_A_MAX + 1] = {
	[EMP_A_NAME] = { .type = NLA_NUL_STRING, .maxlen = EMP_NAME_MAX - 1 },
	[EMP_A_ID] = { .type = NLA_U32 },
	[EMP_A_SIZE] = { .type = NLA_U64 },
	[EMP_A_BUDGET] = { .type = NLA_U64 },
	[EMP_A_ERRNO] = { .type = NLA_U32 },
	[EMP_A_TIER] = { .type = NLA_U32 },
	[EMP_A_PEER] = { .type = NLA_NUL_STRING, .maxlen = 63 },
	[EMP_A_PRESSURE] = { .type = NLA_U32 },
	[EMP_A_THRESHOLD] = { .type = NLA_U32 },
	[EMP_A_ABOVE] = { .type = NLA_U32 },
};

int emp_event_decode(struct nl_msg *msg, struct emp_event_msg *ev)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[EMP_A_MAX + 1];
	struct genlmsghdr *gh;
	int a;

	memset(ev, 0, sizeof(*ev));
	if (!genlmsg_valid_hdr(nlh, 0))
		return -EINVAL;
	if (genlmsg_parse(nlh, 0, tb, EMP_A_MAX, attr_policy))
		return -EINVAL;
	gh = nlmsg_data(nlh);
	ev->event = gh->cmd;
	for (a = 1; a <= EMP_A_MAX; a++) {
		if (!tb[a])
			continue;
		/* libnl checks integers for a minimum length only. */
		if ((attr_policy[a].type == NLA_U32 && nla_len(tb[a]) != 4) ||
		    (attr_policy[a].type == NLA_U64 && nla_len(tb[a]) != 8))
			return -EINVAL;
		ev->have |= EMP_EVA(a);
	}
	if (tb[EMP_A_NAME])
		snprintf(ev->name, sizeof(ev->name), "%s", nla_get_string(tb[EMP_A_NAME]));
	if (tb[EMP_A_PEER])
		snprintf(ev->peer, sizeof(ev->peer), "%s", nla_get_string(tb[EMP_A_PEER]));
	if (tb[EMP_A_ID])
		ev->id = nla_get_u32(tb[EMP_A_ID]);
	if (tb[EMP_A_SIZE])
		ev->size = nla_get_u64(tb[EMP_A_SIZE]);
	if (tb[EMP_A_BUDGET])
		ev->budget = nla_get_u64(tb[EMP_A_BUDGET]);
	if (tb[EMP_A_ERRNO])
		ev->err = nla_get_u32(tb[EMP_A_ERRNO]);
	if (tb[EMP_A_TIER])
		ev->tier = nla_get_u32(tb[EMP_A_TIER]);
	if (tb[EMP_A_PRESSURE])
		ev->pressure = nla_get_u32(tb[EMP_A_PRESSURE]);
	if (tb[EMP_A_THRESHOLD])
		ev->threshold = nla_get_u32(tb[EMP_A_THRESHOLD]);
	if (tb[EMP_A_ABOVE])
		ev->above = nla_get_u32(tb[EMP_A_ABOVE]);
	return 0;
}

/* Appends with snprintf semantics: @n counts what the full text needs. */
#define PUT(...) do { int w_ = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, \
					__VA_ARGS__); if (w_ > 0) n += (size_t)w_; } while (0)

/* Names and peers are [A-Za-z0-9_.-:[]]; escape anything else anyway. */
static size_t put_str(char *buf, size_t len, size_t n, const char *s, int json)
{
	if (json)
		PUT("\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			PUT("\\%c", c);
		else if (c < 0x20 || c >= 0x7f || (!json && c == ' '))
			PUT(json ? "\\u%04x" : "\\x%02x", c);
		else
			PUT("%c", c);
	}
	if (json)
		PUT("\"");
	return n;
}

int emp_event_format(const struct emp_event_msg *ev, int json, char *buf, size_t len)
{
	const char *sep = json ? "," : " ", *eq = json ? "\":" : "=", *q = json ? "\"" : "";
	size_t n = 0;

	if (len)
		buf[0] = 0;
	if (json)
		PUT("{\"event\":\"%s\"", emp_event_name(ev->event));
	else
		PUT("EVENT");
	if (ev->have & EMP_EVA(EMP_A_NAME)) {
		PUT("%s%sname%s", sep, q, eq);
		n = put_str(buf, len, n, ev->name, json);
	}
	if (ev->have & EMP_EVA(EMP_A_ID))
		PUT("%s%sid%s%u", sep, q, eq, ev->id);
	if (!json)
		PUT(" event=%s", emp_event_name(ev->event));
	if (ev->have & EMP_EVA(EMP_A_SIZE))
		PUT("%s%ssize%s%llu", sep, q, eq, (unsigned long long)ev->size);
	if (ev->have & EMP_EVA(EMP_A_BUDGET))
		PUT("%s%sbudget%s%llu", sep, q, eq, (unsigned long long)ev->budget);
	if (ev->have & EMP_EVA(EMP_A_ERRNO))
		PUT("%s%serrno%s%u", sep, q, eq, ev->err);
	if (ev->have & EMP_EVA(EMP_A_TIER))
		PUT("%s%stier%s%u", sep, q, eq, ev->tier);
	if (ev->have & EMP_EVA(EMP_A_PEER)) {
		PUT("%s%speer%s", sep, q, eq);
		n = put_str(buf, len, n, ev->peer, json);
	}
	if (ev->have & EMP_EVA(EMP_A_PRESSURE))
		PUT("%s%spressure%s%u", sep, q, eq, ev->pressure);
	if (ev->have & EMP_EVA(EMP_A_THRESHOLD))
		PUT("%s%sthreshold%s%u", sep, q, eq, ev->threshold);
	if (ev->have & EMP_EVA(EMP_A_ABOVE))
		PUT("%s%sabove%s%u", sep, q, eq, ev->above);
	if (json)
		PUT("}");
	return (int)n;
}
#undef PUT

/* libnl's error codes as errnos, for our callers. */
static int nl_to_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return 0;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_INTR: return -EINTR;
	case NLE_NOMEM: return -ENOBUFS;	/* what recvmsg's ENOBUFS becomes */
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_PERM: case NLE_NOACCESS: return -EPERM;
	case NLE_OPNOTSUPP: case NLE_AF_NOSUPPORT: return -EOPNOTSUPP;
	default: return -EIO;
	}
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct emp_events *e = arg;
	struct emp_event_msg ev;

	if (!emp_event_decode(msg, &ev))
		e->fn(&ev, e->arg);
	return NL_OK;
}

int emp_events_open(struct emp_events **out, emp_event_fn fn, void *arg)
{
	struct emp_events *e;
	int grp, err;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fn = fn;
	e->arg = arg;
	e->sk = nl_socket_alloc();
	if (!e->sk) {
		err = -ENOMEM;
		goto out_free;
	}
	err = genl_connect(e->sk);
	if (err) {
		err = nl_to_errno(err);
		goto out_sock;
	}
	/* Resolving the family also tells whether the module has it. */
	err = genl_ctrl_resolve(e->sk, EMP_GENL_NAME);
	if (err < 0) {
		err = nl_to_errno(err);
		goto out_sock;
	}
	grp = genl_ctrl_resolve_grp(e->sk, EMP_GENL_NAME, EMP_GENL_MCGRP);
	if (grp < 0) {
		err = nl_to_errno(grp);
		goto out_sock;
	}
	/* Events are not replies to anything we sent. */
	nl_socket_disable_seq_check(e->sk);
	nl_socket_modify_cb(e->sk, NL_CB_VALID, NL_CB_CUSTOM, on_valid, e);
	err = nl_socket_add_membership(e->sk, grp);
	if (err) {
		err = nl_to_errno(err);
		goto out_sock;
	}
	*out = e;
	return 0;
out_sock:
	nl_socket_free(e->sk);
out_free:
	free(e);
	return err;
}

int emp_events_fd(struct emp_events *e, int nonblock)
{
	if (nonblock)
		nl_socket_set_nonblocking(e->sk);
	return nl_socket_get_fd(e->sk);
}

int emp_events_recv(struct emp_events *e)
{
	int err = nl_recvmsgs_default(e->sk);

	return err < 0 ? nl_to_errno(err) : 0;
}

void emp_events_close(struct emp_events *e)
{
	if (!e)
		return;
	nl_socket_free(e->sk);
	free(e);
}
