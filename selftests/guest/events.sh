#!/bin/sh
# emp.ko's netlink events (issue 17 item 2), received through libnl by
# `empctl events --json`: every kind arrives, with its attributes. One
# instance on a TCP tier (vmd on the loopback) goes through all of them:
# created, resized (empctl), pressure up and down (a threshold of 1 per
# mille, a loop over 4x the budget, then nothing), donor lost (vmd killed),
# tier error (the next fetch fails), destroyed.
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
tap_plan 10
EV=/tmp/events.json
N=st_events
PORT=19681
SYS=/sys/class/emp/emp-$N

empctl events --json > $EV 2>/tmp/events.err &
evpid=$!
sleep 1
# Wait up to 15 s for a line of $EV with all the strings given.
has_event() {
	for _ in $(seq 30); do
		grep -F "$1" $EV | grep -F "${2:-}" | grep -qF "${3:-}" && return 0
		sleep 0.5
	done
	echo "# no event with $1 $2 $3 in:"; sed 's/^/#   /' $EV; cat /tmp/events.err
	return 1
}

tap_check "empctl events runs (the family and its group resolve)" kill -0 $evpid
tap_check "vmd serves TCP on 127.0.0.1:$PORT" \
	vmd_start /tmp/events-vmd.log -m 64 -p $PORT -a 127.0.0.1 --tcp
empctl create $N --spec "tcp:127.0.0.1:16M:$PORT|dram:2M" --block 4K > /dev/null
tap_check "created: name, size and budget" \
	has_event '"event":"created"' "\"name\":\"$N\"" '"size":16777216'
empctl resize $N --dram 1M > /dev/null
tap_check "resized: the new budget and the result" \
	has_event '"event":"resized"' '"budget":1048576' '"errno":0'

echo 1 > $SYS/pressure_threshold
./emp_demo_load $N 4 4 > /tmp/events-load.out 2>&1
tap_check "pressure: above the threshold under a loop of 4x the budget" \
	has_event '"event":"pressure"' '"above":1' '"threshold":1'
tap_check "pressure: below again once the load is gone" \
	has_event '"event":"pressure"' '"above":0' "\"name\":\"$N\""

kill -9 $VMD
wait $VMD 2>/dev/null
tap_check "donor lost: the tier's index and its donor's address" \
	has_event '"event":"donor_lost"' "\"peer\":\"127.0.0.1:$PORT\"" '"tier":0'
# Every page is on the donor that is gone: the first fetch fails (SIGBUS).
./emp_demo_load $N 1 4 > /tmp/events-load2.out 2>&1
tap_check "tier error: the failed fetch" has_event '"event":"tier_error"' '"errno":5'
empctl destroy $N
tap_check "destroyed" has_event '"event":"destroyed"' "\"name\":\"$N\""
kill $evpid
wait $evpid 2>/dev/null
tap_check "every line is one JSON object" sh -c "! grep -v '^{.*}\$' $EV"
tap_exit
