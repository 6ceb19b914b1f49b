#!/bin/sh
# Paging torture in a loop (issue 20 item 6): emp_stress (4 threads, 64 MiB
# instance of 64K/4K blocks on the NVMe disk, 8 MiB of DRAM, random reads and
# writes checked page by page) EMP_STRESS_RUNS times (default 5) of
# EMP_STRESS_SECS seconds (default 20), one TAP result per run, each also
# failed by a new kernel problem line. Not in run.sh's default list: ask for
# it with guest.sh --tests "module_load.sh paging_stress.sh". The variables
# come from the kernel command line (EMP_APPEND="EMP_STRESS_RUNS=10"), which
# passes unknown NAME=VALUE words to /init's environment.
. /emp/tests/tap.sh
runs=${EMP_STRESS_RUNS:-5}
secs=${EMP_STRESS_SECS:-20}
args=${EMP_STRESS_ARGS:-}
pat='BUG:|WARNING:|Oops|general protection fault|Kernel panic|kernel BUG|KASAN|UBSAN|Call Trace:'
lsmod | grep -q '^emp ' || insmod /emp/modules/emp.ko || exit 1
# EMP_STRESS_QUARANTINE=N: emp.ko keeps the last N pages eviction gave up
# poisoned and checks them before freeing them (free_quarantine), so a
# transfer into freed block pages is reported as such.
if [ -n "${EMP_STRESS_QUARANTINE:-}" ]; then
	echo "$EMP_STRESS_QUARANTINE" > /sys/module/emp/parameters/free_quarantine || exit 1
fi
echo "# emp_stress: $runs runs of ${secs}s, args '$args', kernel $(uname -r)," \
	"free_quarantine $(cat /sys/module/emp/parameters/free_quarantine)," \
	"cmdline: $(cat /proc/cmdline)"
tap_plan "$runs"
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	before=$(dmesg | grep -acE "$pat")
	start=$(date +%s)
	# shellcheck disable=SC2086
	out=$(timeout -s KILL $((secs + 240)) /emp/tests/emp_stress -s "$secs" $args 2>&1)
	rc=$?
	after=$(dmesg | grep -acE "$pat")
	echo "$out" | sed 's/^/# /'
	echo "# $(grep MemFree /proc/meminfo)"
	if [ $rc = 0 ] && [ "$after" = "$before" ]; then
		tap_ok "run $i: $(( $(date +%s) - start ))s, no wrong word, no kernel problem"
	else
		tap_not_ok "run $i: exit $rc, kernel problem lines $before -> $after"
		dmesg | grep -aE "$pat" | tail -n 5 | sed 's/^/#   /'
	fi
done
tap_exit
