/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libemp-genl: the events of emp.ko's generic netlink family (EMP_GENL_NAME,
 * modules with EMP_FEAT_EVENTS) with libnl-3. Apart from libemp because it
 * needs libnl (pkg-config libnl-genl-3.0): empctl events and empd use it.
 */
#ifndef EMP_GENL_H
#define EMP_GENL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/emp.h>

struct nl_msg;

/* Which attributes an event carried: bit (1 << EMP_A_x). */
#define EMP_EVA(a)	(1U << (a))

/**
 * struct emp_event_msg - one event, decoded
 * @event: enum emp_event (EMP_EV_*)
 * @have:  EMP_EVA() bits of the attributes present; the others are zero
 * The rest: the attributes of enum emp_attr.
 */
struct emp_event_msg {
	int event;
	uint32_t have;
	char name[EMP_NAME_MAX];
	uint32_t id;
	uint64_t size;
	uint64_t budget;
	uint32_t err;
	uint32_t tier;
	char peer[64];
	uint32_t pressure;
	uint32_t threshold;
	uint32_t above;
};

/* "created", "destroyed", "resized", "tier_error", "donor_lost", "pressure"
 * or "unknown". */
const char *emp_event_name(int event);

/*
 * Decode a message of the family into @ev. Return: 0, or -EINVAL when it
 * is not a message of the family's layout (too short, bad attributes).
 */
int emp_event_decode(struct nl_msg *msg, struct emp_event_msg *ev);

/*
 * One line for @ev, no newline: text "EVENT name=db id=3 budget=..." or,
 * with @json, one JSON object named after the attributes.
 * Return: as snprintf.
 */
int emp_event_format(const struct emp_event_msg *ev, int json, char *buf, size_t len);

struct emp_events;

/* Called for each event received; its return value is ignored. */
typedef void (*emp_event_fn)(const struct emp_event_msg *ev, void *arg);

/*
 * Resolve the family and join its event group; @fn gets every event that
 * emp_events_recv() reads. Return: 0, -ENOENT if the family is not
 * registered (emp.ko missing or built without EMP_FEAT_EVENTS), or another
 * -errno.
 */
int emp_events_open(struct emp_events **out, emp_event_fn fn, void *arg);
/* The socket's fd, for poll(); set non-blocking by @nonblock. */
int emp_events_fd(struct emp_events *e, int nonblock);
/*
 * Read what is waiting (or block for one batch in blocking mode) and call
 * back for each event. Return: 0, -EAGAIN when nothing was waiting,
 * -ENOBUFS when events were lost (the caller should re-read the state),
 * or another -errno.
 */
int emp_events_recv(struct emp_events *e);
void emp_events_close(struct emp_events *e);

#endif /* EMP_GENL_H */
