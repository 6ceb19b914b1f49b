// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of libemp-genl (tools/lib/genl/): events built with
 * libnl as emp.ko sends them decode to the right fields and print as
 * empctl events shows them, in text and JSON.
 */
#include <errno.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "genl/emp_genl.h"

static struct nl_msg *event(int cmd)
{
	struct nl_msg *m = nlmsg_alloc();

	if (m && !genlmsg_put(m, 0, 0, 42, 0, 0, (uint8_t)cmd, EMP_GENL_VERSION)) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

TEST(created)
{
	struct nl_msg *m = event(EMP_EV_CREATED);
	struct emp_event_msg ev;
	char line[256];

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, nla_put_string(m, EMP_A_NAME, "db"));
	ASSERT_EQ(0, nla_put_u32(m, EMP_A_ID, 3));
	ASSERT_EQ(0, nla_put_u64(m, EMP_A_SIZE, 268435456));
	ASSERT_EQ(0, nla_put_u64(m, EMP_A_BUDGET, 33554432));
	ASSERT_EQ(0, emp_event_decode(m, &ev));
	EXPECT_EQ(EMP_EV_CREATED, ev.event);
	EXPECT_STREQ("db", ev.name);
	EXPECT_EQ(3, ev.id);
	EXPECT_EQ(268435456, ev.size);
	EXPECT_EQ(EMP_EVA(EMP_A_NAME) | EMP_EVA(EMP_A_ID) | EMP_EVA(EMP_A_SIZE) |
		  EMP_EVA(EMP_A_BUDGET), ev.have);
	emp_event_format(&ev, 0, line, sizeof(line));
	EXPECT_STREQ("EVENT name=db id=3 event=created size=268435456 budget=33554432", line);
	emp_event_format(&ev, 1, line, sizeof(line));
	EXPECT_STREQ("{\"event\":\"created\",\"name\":\"db\",\"id\":3,\"size\":268435456,"
		     "\"budget\":33554432}", line);
	nlmsg_free(m);
}

TEST(pressure_and_donor)
{
	struct nl_msg *m = event(EMP_EV_PRESSURE);
	struct emp_event_msg ev;
	char line[256];

	ASSERT_NE(NULL, m);
	nla_put_string(m, EMP_A_NAME, "web-1");
	nla_put_u32(m, EMP_A_ID, 0);
	nla_put_u32(m, EMP_A_PRESSURE, 250);
	nla_put_u32(m, EMP_A_THRESHOLD, 100);
	nla_put_u32(m, EMP_A_ABOVE, 1);
	ASSERT_EQ(0, emp_event_decode(m, &ev));
	emp_event_format(&ev, 1, line, sizeof(line));
	EXPECT_STREQ("{\"event\":\"pressure\",\"name\":\"web-1\",\"id\":0,\"pressure\":250,"
		     "\"threshold\":100,\"above\":1}", line);
	nlmsg_free(m);

	m = event(EMP_EV_DONOR_LOST);
	ASSERT_NE(NULL, m);
	nla_put_string(m, EMP_A_NAME, "r");
	nla_put_u32(m, EMP_A_ID, 7);
	nla_put_u32(m, EMP_A_TIER, 1);
	nla_put_string(m, EMP_A_PEER, "10.0.2.2:7000");
	ASSERT_EQ(0, emp_event_decode(m, &ev));
	emp_event_format(&ev, 0, line, sizeof(line));
	EXPECT_STREQ("EVENT name=r id=7 event=donor_lost tier=1 peer=10.0.2.2:7000", line);
	nlmsg_free(m);
}

TEST(bad_attribute_and_names)
{
	struct nl_msg *m = event(EMP_EV_RESIZED);
	struct emp_event_msg ev;
	char line[16];
	int n;

	ASSERT_NE(NULL, m);
	/* A u64 where a u32 belongs: refused, not misread. */
	nla_put_u64(m, EMP_A_ID, 1);
	EXPECT_EQ(-EINVAL, emp_event_decode(m, &ev));
	nlmsg_free(m);
	EXPECT_STREQ("tier_error", emp_event_name(EMP_EV_TIER_ERROR));
	EXPECT_STREQ("unknown", emp_event_name(0));
	EXPECT_STREQ("unknown", emp_event_name(EMP_EV_MAX + 1));
	/* Truncation: snprintf's contract. */
	memset(&ev, 0, sizeof(ev));
	ev.event = EMP_EV_DESTROYED;
	ev.have = EMP_EVA(EMP_A_NAME);
	strcpy(ev.name, "averyveryverylongname");
	n = emp_event_format(&ev, 0, line, sizeof(line));
	EXPECT_EQ(strlen("EVENT name=averyveryverylongname event=destroyed"), (size_t)n);
	EXPECT_EQ(sizeof(line) - 1, strlen(line));
}

TEST_HARNESS_MAIN
