#!/bin/sh
# emp.ko's tracepoints through perf, as an operator would use them: perf
# stat counts emp:emp_fault and emp:emp_evict on all CPUs while a workload
# (emp_demo_load) runs on an instance. Every fault is the workload's, so
# perf's emp_fault count equals the instance's stat.faults over the run;
# the background reclaimer may still evict after the workload ends, so
# perf's emp_evict count is at most stat.evictions, and not zero. perf is
# the host's (linux-perf), put in the initramfs of the line that runs this
# test (guest.sh).
. /emp/tests/tap.sh
PATH=$PATH:/usr/bin:/usr/sbin
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
NAME=perfev
tap_plan 3

counter() {	# counter NAME: that counter of instance $NAME, from empctl's JSON
	empctl stat $NAME --json | sed -n "s/.*\"counters\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"
}
perf_count() {	# perf_count EVENT: its count in perf stat's CSV output
	awk -F, -v e="$1" '$3 == e { print $1 }' /tmp/perf.csv
}

[ -e /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
if ! command -v perf > /dev/null; then
	tap_not_ok "perf is in the initramfs"
	tap_not_ok "perf counts emp:emp_fault as stat.faults"
	tap_not_ok "perf counts emp:emp_evict, at most stat.evictions"
	tap_exit
fi
tap_check "perf lists the emp tracepoints" sh -c 'perf list tracepoint 2>/dev/null | grep -q "emp:emp_fault"'
if ! empctl create $NAME --spec "$DEV:16:0|dram:2" > /tmp/perf.create 2>&1; then
	sed 's/^/#   /' /tmp/perf.create
	tap_not_ok "perf counts emp:emp_fault as stat.faults (no instance)"
	tap_not_ok "perf counts emp:emp_evict, at most stat.evictions (no instance)"
	tap_exit
fi
f0=$(counter faults) e0=$(counter evictions)
perf stat -a -x, -o /tmp/perf.csv -e emp:emp_fault -e emp:emp_evict -- \
	/emp/tests/emp_demo_load $NAME 2 1 > /tmp/perf.load 2>&1
rc=$?
f1=$(counter faults) e1=$(counter evictions)
pf=$(perf_count emp:emp_fault) pe=$(perf_count emp:emp_evict)
echo "# workload exit $rc; perf: $pf emp_fault, $pe emp_evict; stat: $((f1 - f0)) faults, $((e1 - e0)) evictions"
[ $rc = 0 ] || sed 's/^/#   /' /tmp/perf.load /tmp/perf.csv
if [ $rc = 0 ] && [ -n "$pf" ] && [ "$pf" -gt 0 ] && [ "$pf" = $((f1 - f0)) ]; then
	tap_ok "perf counts emp:emp_fault as stat.faults ($pf)"
else
	tap_not_ok "perf counts emp:emp_fault as stat.faults (perf '$pf', stat $((f1 - f0)))"
fi
if [ $rc = 0 ] && [ -n "$pe" ] && [ "$pe" -gt 0 ] && [ "$pe" -le $((e1 - e0)) ]; then
	tap_ok "perf counts emp:emp_evict, at most stat.evictions ($pe of $((e1 - e0)))"
else
	tap_not_ok "perf counts emp:emp_evict, at most stat.evictions (perf '$pe', stat $((e1 - e0)))"
fi
empctl destroy $NAME > /dev/null 2>&1 || echo "# empctl destroy $NAME failed"
tap_exit
