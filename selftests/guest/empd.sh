#!/bin/sh
# empd, the balancer, on three instances of the NVMe disk sharing a 48 MiB
# pool, each with a workload (emp_phase_load) whose working set moves:
#   phase 1 (PHASE s): a works on 24 MiB, b on 2 MiB;  c touches 8 MiB, then idles
#   phase 2 (PHASE s): a works on 2 MiB,  b on 24 MiB; c idles
# What must hold (time allowed: a phase, PHASE s, documented in empd(8)):
#  - budgets follow the working sets: by the end of each phase the busy
#    instance has at least 20 MiB and the other at most 8 MiB;
#  - the idle instance c (cold_age 5 s) is at its min (4 MiB) by the end;
#  - at every sample (one a second) each budget is within [min, max] and
#    the three together within the pool;
#  - kill -9 of empd in phase 2 leaves the instances working (the loaders
#    check every page they read and all pages at the end), and a new empd
#    adopts the budgets as they are;
#  - a created instance joins the pool at once (the sum is back within the
#    pool in 3 s), events and the reports (socket, HTTP, empctl pool) work.
# Needs an emp.ko with EMP_FEAT_MONITOR and EMP_FEAT_EVENTS; the checks that
# need them are skipped on a module without.
. /emp/tests/tap.sh
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
DEV2=${EMP_TEST_DEV2:-/dev/nvme1n1}
J=/emp/tests/json_check
LOAD=/emp/tests/emp_phase_load
PHASE=${EMPD_TEST_PHASE:-20}
MiB=1048576
POOL=$((48 * MiB)) MIN=$((4 * MiB)) MAX=$((32 * MiB))
CONF=/tmp/empd.conf SOCK=/tmp/empd.sock LOG=/tmp/empd.log SAMPLES=/tmp/empd.samples
export EMPD_SOCKET=$SOCK

features=$(empctl info --json | sed -n 's/.*"features":\([0-9]*\).*/\1/p')
monitor=$(( (${features:-0} >> 11) & 1 ))
events=$(( (${features:-0} >> 12) & 1 ))
echo "# emp.ko features $features: monitor $monitor, events $events"

cat > $CONF <<EOF
# empd.sh's pool: three instances of 64 MiB, 16 MiB each at the start
pool 48M
interval_ms 1000
socket $SOCK
http_port 9091
stall_high 20
refault_high 5
instance a
  min 4M
  max 32M
  pressure_threshold 100
instance b
  min 4M
  max 32M
instance c
  min 4M
  max 32M
  cold_age 5
  idle_age 1
instance d*
  min 4M
  max 16M
EOF

budget() { cat /sys/class/emp/emp-$1/dram_budget; }
budgets() { echo "$(budget a) $(budget b) $(budget c)"; }

# Three partitions of the disk: a block device is held by one instance.
setup() {
	printf 'o\nn\np\n1\n\n+80M\nn\np\n2\n\n+80M\nn\np\n3\n\n+80M\nw\n' | fdisk $DEV > /tmp/fdisk.log 2>&1
	for i in $(seq 50); do [ -b ${DEV}p3 ] && break; sleep 0.1; done
	[ -b ${DEV}p3 ] || { cat /tmp/fdisk.log; return 1; }
	empctl create a --spec "${DEV}p1:64:0|dram:16" > /dev/null &&
	empctl create b --spec "${DEV}p2:64:0|dram:16" > /dev/null &&
	empctl create c --spec "${DEV}p3:64:0|dram:16" > /dev/null &&
	[ "$(budgets)" = "$((16 * MiB)) $((16 * MiB)) $((16 * MiB))" ]
}

config_check() {
	empd -c $CONF -t | grep -q "ok (pool 50331648 bytes, 4 instance rules)" || return 1
	printf 'pool 48M\ninstance a\n  weight 0\n' > /tmp/bad.conf
	empd -c /tmp/bad.conf -t 2> /tmp/e; rc=$?
	cat /tmp/e
	[ $rc -eq 2 ] && grep -q "^empd: /tmp/bad.conf:3: weight '0' is not a number in 1..1000$" /tmp/e
}

dry_run() {
	before=$(budgets)
	empd -c $CONF --once --dry-run > /tmp/o 2> /tmp/e || { cat /tmp/o /tmp/e; return 1; }
	cat /tmp/o
	[ "$(budgets)" = "$before" ]
}

start_empd() {
	empd -c $CONF -v >> $LOG 2>&1 &
	EMPD=$!
	i=0
	while [ ! -S $SOCK ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S $SOCK ]
}

sampler() {
	while :; do echo "$(date +%s) $(budgets)" >> $SAMPLES; sleep 1; done
}

# Every sample: min <= budget <= max, sum <= pool.
limits_held() {
	[ -s $SAMPLES ] || return 1
	awk -v pool=$POOL -v min=$MIN -v max=$MAX '
	NF == 4 { n++
		for (i = 2; i <= 4; i++) if ($i < min || $i > max) { print "bad budget: " $0; bad = 1 }
		if ($2 + $3 + $4 > pool) { print "over the pool: " $0; bad = 1 } }
	END { print n " samples"; exit bad || n < 10 }' $SAMPLES
}

# check_phase BUSY OTHER: BUSY has >= 20 MiB, OTHER <= 8 MiB.
check_phase() {
	echo "budgets a b c: $(budgets)"
	[ "$(budget $1)" -ge $((20 * MiB)) ] && [ "$(budget $2)" -le $((8 * MiB)) ]
}

report_socket() {
	empctl pool --json > /tmp/pool.json && $J pool instances decisions budget working_set < /tmp/pool.json &&
	empctl pool > /tmp/o && cat /tmp/o &&
	grep -q '^NAME  *BUDGET  *MIN  *MAX  *WEIGHT  *RESIDENT  *WSET  *STALL  *PRESSURE  *REFAULT/S  *COLD  *LAST$' /tmp/o &&
	[ "$(grep -c '^[abc]  ' /tmp/o)" -eq 3 ] && grep -q '^pool 48 MiB: ' /tmp/o
}

report_http() {
	wget -q -O /tmp/http.json http://127.0.0.1:9091/ && $J pool instances decisions < /tmp/http.json &&
	grep -q '"pool":{"size":50331648,' /tmp/http.json &&
	! wget -q -O /dev/null http://127.0.0.1:9091/nosuch
}

kill_restart() {
	kill -9 $EMPD; wait $EMPD 2> /dev/null
	before=$(budgets)
	echo "budgets at the kill: $before"
	sleep 2
	[ "$(budgets)" = "$before" ] || { echo "budgets changed without empd: $(budgets)"; return 1; }
	kill -0 $LA && kill -0 $LB && kill -0 $LC || { echo "a loader died"; return 1; }
	# The new empd's first round adopts what it finds (all within the rules).
	start_empd && sleep 0.3 && after=$(budgets) && echo "after the restart: $after" &&
	[ "$after" = "$before" ] && empctl pool --json | grep -q '"decisions":\[\]'
}

events_check() {
	empctl events --json > /tmp/ev.json 2> /tmp/ev.err &
	ev=$!
	sleep 1
	empctl create d1 --spec "$DEV2:32:0|dram:16" > /dev/null || { kill $ev; return 1; }
	# Joins at once: four budgets back within the pool in 3 s.
	i=0 sum=$((POOL + 1))
	while [ $i -lt 30 ]; do
		sum=$(( $(budget a) + $(budget b) + $(budget c) + $(budget d1) ))
		[ $sum -le $POOL ] && break
		sleep 0.1; i=$((i + 1))
	done
	echo "d1 joined; sum $sum after $i tenths of a second"
	empctl resize d1 --dram 4 && sleep 1 &&
	empctl destroy d1 || { kill $ev; return 1; }
	sleep 1
	kill $ev; wait $ev 2> /dev/null
	cat /tmp/ev.json /tmp/ev.err
	[ $sum -le $POOL ] && $J -l event name id < /tmp/ev.json &&
	grep -q '^{"event":"created","name":"d1","id":[0-9]*,"size":33554432,"budget":16777216}$' /tmp/ev.json &&
	grep -q '^{"event":"resized","name":"d1",' /tmp/ev.json &&
	grep -q '^{"event":"destroyed","name":"d1",' /tmp/ev.json
}

stop_empd() {
	before=$(budgets)
	kill -TERM $EMPD; wait $EMPD; rc=$?
	[ $rc -eq 0 ] && [ ! -e $SOCK ] && [ "$(budgets)" = "$before" ]
}

skip_unless() {	# skip_unless FLAG "description": print a skip and fail when FLAG is 0
	[ "$1" = 1 ] && return 0
	tap_ok "$2 # SKIP emp.ko without the monitor or events"
	return 1
}

tap_plan 14
rm -f $LOG $SAMPLES
tap_check "three instances of 64 MiB with 16 MiB budgets" setup
tap_check "empd -t accepts the config; a bad one: exit 2, FILE:LINE: reason" config_check
tap_check "empd --once --dry-run prints its decisions and changes nothing" dry_run
tap_check "empd starts and listens on its socket" start_empd
sampler & SAMPLER=$!
$LOAD a $PHASE:24 $PHASE:2@32 > /tmp/la.out 2>&1 & LA=$!
$LOAD b $PHASE:2 $PHASE:24@32 > /tmp/lb.out 2>&1 & LB=$!
$LOAD c 5:8 $((2 * PHASE - 5)):0 > /tmp/lc.out 2>&1 & LC=$!
sleep $((PHASE - 2))
skip_unless $monitor "phase 1: a (24 MiB) has >= 20 MiB, b (2 MiB) <= 8 MiB" &&
	tap_check "phase 1: a (24 MiB) has >= 20 MiB, b (2 MiB) <= 8 MiB" check_phase a b
tap_check "empctl pool: the table of the three instances" report_socket
tap_check "HTTP GET / on 127.0.0.1:9091: the same JSON; other paths fail" report_http
sleep 5
tap_check "kill -9 of empd: budgets stay, loaders run; a new empd adopts them" kill_restart
sleep $((PHASE - 10))
skip_unless $monitor "phase 2: b (24 MiB) has >= 20 MiB, a (2 MiB) <= 8 MiB" &&
	tap_check "phase 2: b (24 MiB) has >= 20 MiB, a (2 MiB) <= 8 MiB" check_phase b a
skip_unless $monitor "the idle instance c is at its min (4 MiB)" &&
	tap_check "the idle instance c is at its min (4 MiB)" sh -c "[ \$(cat /sys/class/emp/emp-c/dram_budget) -eq $MIN ]"
wait $LA; ra=$?; wait $LB; rb=$?; wait $LC; rc=$?
tap_check "the loaders finish with every page right" sh -c "cat /tmp/la.out /tmp/lb.out /tmp/lc.out; \
	[ "$ra$rb$rc" = 000 ] && [ \$(cat /tmp/la.out /tmp/lb.out /tmp/lc.out | grep -c ': ok\$') -eq 3 ]"
kill $SAMPLER; wait $SAMPLER 2> /dev/null
tap_check "min, max and pool held at every sample" limits_held
skip_unless $events "events: a created instance joins the pool at once; created/resized/destroyed seen" &&
	tap_check "events: a created instance joins the pool at once; created/resized/destroyed seen" events_check
tap_check "SIGTERM: empd exits 0, removes its socket, leaves the budgets" stop_empd
echo "# empd's log:"; sed 's/^/#   /' $LOG | tail -n 60
for n in a b c d1; do empctl destroy $n > /dev/null 2>&1; done
# Leave the disk without partitions for the tests after this one.
dd if=/dev/zero of=$DEV bs=512 count=1 conv=fsync 2> /dev/null
partprobe $DEV 2> /dev/null || blockdev --rereadpt $DEV 2> /dev/null
tap_exit
