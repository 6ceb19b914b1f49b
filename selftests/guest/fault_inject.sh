#!/bin/sh
# Fault injection into emp.ko (debug kernel only: scripts/guest-init.sh runs
# this after the suite where /sys/kernel/debug/failslab exists).
#
# 1. Module load: insmod emp.ko with the 1st, 2nd, ... allocation of emp's
#    init failing (/proc/self/fail-nth with the stack filter on module code).
# 2. The core and remote selftests (emp_*_test) run while every Nth slab and
#    page allocation with our module on the stack fails (failslab and
#    fail_page_alloc, interval N, require-start/require-end set to emp.ko's
#    text, emp_rdma.ko's for the RDMA test; any task, kthreads and workqueues
#    included).
# The tests' own verdicts do not count here (allocations fail under them);
# what counts is that every failure ends cleanly, in an errno or SIGBUS: each
# run ends in time, no test process dies of another signal (but a failed
# ASSERT's abort), the kernel log gains no BUG/WARNING/KASAN/lockdep/hung-task
# line, and afterwards no instance or module reference is left, emp.ko unloads and
# kmemleak finds nothing. Markers "emp-fault-inject: begin/end" in the kernel
# log let the host ignore the stacks of the expected page-allocation-failure
# reports in between (scripts/guest.sh).
#   EMP_FI_TESTS  selftests to run, blank- or comma-separated (default: all
#                 emp_*_test but the leak test, whose free-page accounting
#                 does not hold under KASAN's quarantine after this pass,
#                 and emp_policy_test, which waits a minute for the second
#                 disk the debug line does not have, and whose allocations
#                 are the paging tests', and emp_monitor_test, whose half
#                 minute is mostly waiting for ages, its allocations the
#                 create path's and the paging tests', and
#                 emp_remote_rdma_core_test, a part of emp_remote_rdma_test)
#   EMP_FI_EVERY  step 2 fails every Nth allocation, N taken from this list
#                 in turn, one per test (default "97 7": failures deep in
#                 the fault, eviction and teardown paths, and early set-up
#                 failures); EMP_FI_ALL=1 runs each test once per N
#   EMP_FI_TMO    seconds one selftest run may take before it counts as hung
#                 (default 300; 30 s without injection)
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
PATH=$PATH:/usr/bin:/usr/sbin	# the rdma tool
D=/sys/kernel/debug
# Kernel problems. A fault answered VM_FAULT_OOM ("Huh VM_FAULT_OOM leaked
# out ... Retrying PF") is not one: the kernel retries the access, the
# documented answer to a transient allocation failure. Such retries are
# counted and noted; a retry that never succeeds is a hang, which the
# watchdog below catches.
KPAT='BUG:|WARNING:|Oops|general protection|Kernel panic|INFO: |possible recursive|possible circular|KASAN|UBSAN|soft lockup|blocked for more than|unreferenced object|sleeping function called from invalid context|ODEBUG|list_add corruption|list_del corruption'
EVERY=${EMP_FI_EVERY:-97 7}
TMO=${EMP_FI_TMO:-300}
TESTS=${EMP_FI_TESTS:-$(cd /emp/tests && ls emp_*_test | grep -vxE 'emp_leak_test|emp_policy_test|emp_monitor_test|emp_remote_rdma_core_test' | tr '\n' ' ')}
TESTS=$(echo "$TESTS" | tr , " ") EVERY=$(echo "$EVERY" | tr , " ")

kmsg() { echo "emp-fault-inject: $*" > /dev/kmsg; }
# fi_set FAULT KEY VALUE...: write debugfs attributes of failslab/fail_page_alloc.
fi_set() {
	local f=$1; shift
	while [ $# -ge 2 ]; do echo "$2" > "$D/$f/$1" || return 1; shift 2; done
}
fi_off() {
	local a
	for a in failslab fail_page_alloc; do
		fi_set $a probability 0 times 0 task-filter N space 0 \
			require-start 0 require-end 0xffffffffffffffff
	done
}
fi_common() {	# fi_common FAULT: fail any gfp, order 0, quietly
	fi_set "$1" interval 1 verbose 0 ignore-gfp-wait N stacktrace-depth 32 || return 1
	[ "$1" = fail_page_alloc ] && fi_set "$1" min-order 0 ignore-gfp-highmem N
	[ "$1" = failslab ] && fi_set "$1" cache-filter N
	return 0
}
# Kernel log lines since line $1 that name a kernel problem.
kproblems() { dmesg | tail -n +"$(( $1 + 1 ))" | grep -aE "$KPAT"; }
loaded() { grep -q '^emp ' /proc/modules; }
gone() { ! loaded && ! test -e /dev/emp && ! test -e /sys/module/emp; }
# Text of module $1 as "START END" (16 hex digits each; string order is
# address order): from its lowest text symbol to the first symbol after its
# highest.
emp_text() {
	sort /proc/kallsyms | awk -v m="[$1]" '
		$2 ~ /^[tT]$/ && $4 == m { if (s == "") s = $1; e = $1; next }
		e != "" && $1 > e { print s, $1; done = 1; exit }
		END { if (!done && e != "") print s, "ffffffffffffffff" }'
}

if [ ! -d $D/failslab ] || [ ! -d $D/fail_page_alloc ]; then
	tap_plan 1
	tap_not_ok "fault injection: $D/failslab and $D/fail_page_alloc are missing (run on the debug kernel)"
	tap_exit
fi
set -- $TESTS
tap_plan $(( 1 + $# + 2 ))
rmmod emp_rdma 2>/dev/null
loaded && rmmod emp
fi_common failslab && fi_common fail_page_alloc || { echo "# cannot set up fault injection"; }

# --- 1. module load with the Nth allocation of emp's init failing ----------
# /proc/self/fail-nth fails the Nth allocation of the insmod process that
# passes the stack filter, set to the module area: only allocations with
# module code on the stack, i.e. emp.ko's init, count. N = 1, 2, ... until an
# attempt sees no failure (the `times` counters tell). Busybox insmod retries
# a failed finit_module with init_module, so after a failed first attempt
# the module loads: that also proves the error path undid everything.
# Every other N (EMP_FI_LOAD_STEP, default 2) for CI's time: the init's
# steps each make several allocations, so every unwinding label is still
# reached (the netlink family and empfs made the sweep 88 s of the debug
# line's time).
# x86-64 module area (4-level paging; not moved by KASLR):
MODS="require-start 0xffffffffa0000000 require-end 0xffffffffff000000"
load_sweep() {
	local n n0 rc out ls lp inj=0 bad=0
	n0=$(dmesg | wc -l)
	kmsg "begin (emp.ko load, Nth allocation of its init fails)"
	n=1
	while [ $n -le 500 ]; do
		for a in failslab fail_page_alloc; do fi_set $a probability 0 times 1000 $MODS || return 1; done
		out=$(sh -c "echo $n > /proc/self/fail-nth && exec insmod /emp/modules/emp.ko" 2>&1)
		rc=$?
		ls=$(cat $D/failslab/times) lp=$(cat $D/fail_page_alloc/times)
		fi_off
		[ "$ls" = 1000 ] && [ "$lp" = 1000 ] && break	# past emp's last allocation
		inj=$((inj + 1))
		if [ $rc = 0 ] && loaded; then
			test -c /dev/emp && empctl info >/dev/null && rmmod emp && gone || {
				echo "# allocation $n failed: emp loaded (on retry) but is not usable or removable"; bad=1; }
		else
			gone || { echo "# allocation $n failed: the failed load left emp behind"; bad=1; }
			echo "# allocation $n failed: insmod: $out"
		fi
		n=$((n + ${EMP_FI_LOAD_STEP:-2}))
	done
	kmsg "end (emp.ko load)"
	echo "# emp.ko's init makes $inj allocations; each failed once, each load ended cleanly"
	if kproblems "$n0" > /tmp/fi.k; then sed 's/^/#   /' /tmp/fi.k | head -n 40; bad=1; fi
	[ $bad = 0 ] && [ $inj -gt 0 ]
}
tap_check "insmod emp.ko with each allocation of its init failing in turn: clean error, clean retry" load_sweep

# --- 2. selftests with every Nth allocation under our module failing -------
# The RDMA test needs Soft-RoCE and emp_rdma.ko (as rdma_tier.sh sets up), the
# KVM test /dev/kvm; its allocations are failed under emp_rdma.ko's text, the
# others' under emp.ko's.
loaded || insmod /emp/modules/emp.ko || echo "# insmod emp.ko failed"
modprobe -q kvm_amd 2>/dev/null || modprobe -q kvm_intel 2>/dev/null
rdma_up() {
	rxe_load && rdma link add rxe0 type rxe netdev eth0 &&
		insmod /emp/modules/emp_rdma.ko
}
case " $TESTS " in *rdma*) rdma_up > /tmp/fi.rdma 2>&1 || sed 's/^/# rdma set-up: /' /tmp/fi.rdma ;; esac
run_one() {	# run_one TEST EVERY
	local t=$1 every=$2 mod=emp range n0 pid i rc left_s left_p pass fail bad=0 nb
	case "$t" in *rdma*) mod=emp_rdma ;; esac
	range=$(emp_text $mod)
	[ -n "$range" ] || { echo "# $mod.ko's text not found in /proc/kallsyms"; return 1; }
	for a in failslab fail_page_alloc; do
		fi_set $a require-start 0x${range% *} require-end 0x${range#* } task-filter N \
			space 0 times 1000000 interval "$every" probability 100 || return 1
	done
	n0=$(dmesg | wc -l)
	kmsg "begin ($t, every ${every}th allocation under $mod.ko fails)"
	./"$t" > /tmp/fi.out 2>&1 &
	pid=$!
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt "$TMO" ]; do sleep 1; i=$((i + 1)); done
	if kill -0 $pid 2>/dev/null; then
		echo "# $t: still running after ${TMO}s: hung; blocked tasks go to the kernel log"
		echo w > /proc/sysrq-trigger
		kill -9 $pid 2>/dev/null
		bad=1 rc=hung
	else
		wait $pid
		rc=$?
	fi
	left_s=$(cat $D/failslab/times) left_p=$(cat $D/fail_page_alloc/times)
	fi_off
	kmsg "end ($t)"
	pass=$(grep -c '^ok ' /tmp/fi.out) fail=$(grep -c '^not ok ' /tmp/fi.out)
	echo "# $t, 1/$every: exit $rc in ${i}s; $((1000000 - left_s)) slab and $((1000000 - left_p)) page allocations failed; its tests: $pass passed, $fail failed"
	# A signal other than SIGBUS (7) or SIGABRT (6, a failed ASSERT) is a
	# crash of the test process, unless a check of that test failed first:
	# the harness then runs the teardown while the test's threads still use
	# the mapping (noted, not counted). A harness timeout is noted only: TCP
	# connects retry lost SYNs for seconds; a real hang trips the watchdog
	# above, the hung-task detector or the VM_FAULT_OOM check.
	awk '/^#  RUN / { failed = 0 } /:Expected / { failed = 1 }
		/terminated by timeout/ { print "note: " $0 > "/tmp/fi.note"; next }
		/terminated unexpectedly by signal/ && $NF != 6 && $NF != 7 {
			if (failed) print "note: " $0 " after a failed check" > "/tmp/fi.note"
			else print }' /tmp/fi.out > /tmp/fi.sig
	[ -s /tmp/fi.note ] && sed 's/^/# /' /tmp/fi.note && rm -f /tmp/fi.note
	[ -s /tmp/fi.sig ] && { sed 's/^/#   /' /tmp/fi.sig; bad=1; }
	case "$rc" in hung) ;; *) [ "$rc" -lt 128 ] || [ "$rc" = 135 ] || {
		echo "# $t itself died of signal $((rc - 128))"; bad=1; } ;; esac
	if kproblems "$n0" > /tmp/fi.k; then
		echo "# kernel log:"; sed 's/^/#   /' /tmp/fi.k | head -n 40; bad=1
	fi
	nb=$(dmesg | tail -n +"$(( n0 + 1 ))" | grep -c 'VM_FAULT_OOM leaked out')
	[ "$nb" = 0 ] || echo "# note: $nb fault(s) answered VM_FAULT_OOM and were retried (the kernel log rate-limits this line)"
	# A fixture whose set-up fails after making its null_blk device leaves it
	# (the harness skips the teardown): the test's affair, not emp's; removed.
	for nb in /sys/kernel/config/nullb/st_*; do
		[ -d "$nb" ] || continue
		echo "# note: $t left null_blk ${nb##*/} (fixture set-up failed under injection); removed"
		echo 0 > "$nb/power"; rmdir "$nb"
	done
	[ $bad = 0 ] || grep -E '^not ok|^# .*(terminated|Expected|signal)' /tmp/fi.out | head -n 20 | sed 's/^/#   /'
	[ $bad = 0 ]
}
# One N per test, in turn (the whole pass fits the CI budget), or all of them.
nth() { shift "$(( $1 % ($# - 1) + 1 ))"; echo "$1"; }
k=0
for t in $TESTS; do
	if [ ! -x "/emp/tests/$t" ]; then tap_not_ok "$t: missing from the initramfs"; continue; fi
	bad=0 ns=$EVERY
	[ "${EMP_FI_ALL:-0}" = 1 ] || ns=$(nth $k $EVERY)
	k=$((k + 1))
	for every in $ns; do
		(cd /emp/tests && run_one "$t" "$every") > /tmp/fi.res 2>&1 || bad=1
		cat /tmp/fi.res
	done
	if [ $bad = 0 ]; then tap_ok "$t with every Nth allocation failing (N = $ns): ends cleanly"
	else tap_not_ok "$t with every Nth allocation failing (N = $ns)"; fi
done
fi_off
case " $TESTS " in *rdma*) rmmod emp_rdma; rdma link delete rxe0; rmmod rdma_ucm rdma_rxe ;; esac 2>/dev/null

# --- afterwards: nothing left, unload works, no leak -------------------------
nothing_left() {
	local x
	x=$(empctl info 2>&1 | grep '^instances:')
	[ "$x" = "instances:  0" ] || { echo "empctl info: ${x:-no answer}"; return 1; }
	x=$(ls /dev | grep '^emp-'; ls /sys/class/emp 2>/dev/null; ls /sys/kernel/config/nullb 2>/dev/null | grep '^st_')
	[ -z "$x" ] || { echo "left: $x"; return 1; }
	x=$(cat /sys/module/emp/refcnt)
	[ "$x" = 0 ] || { echo "emp module references: $x"; return 1; }
	rmmod emp_rdma 2>/dev/null
	rmmod emp && gone
}
tap_check "after injection: no instance, claim or module reference left, emp.ko unloads" nothing_left
leaks() {
	local k=$D/kmemleak
	[ -w $k ] || { echo "no $k"; return 1; }
	echo scan > $k; sleep 6; echo scan > $k
	cat $k > /tmp/fi.leaks
	if grep -q '^unreferenced object' /tmp/fi.leaks; then
		echo "$(grep -c '^unreferenced object' /tmp/fi.leaks) unreferenced objects:"
		head -n 60 /tmp/fi.leaks
		return 1
	fi
}
tap_check "after injection: kmemleak finds no unreferenced object" leaks
tap_exit
