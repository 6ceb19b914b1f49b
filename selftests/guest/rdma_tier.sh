#!/bin/sh
# The RDMA tier end to end: Soft-RoCE (rdma_rxe) on eth0, emp_rdma.ko, then
# emp_remote_rdma_test (vmd on rxe0, the kernel's RDMA queues against it),
# then emp_replica_rdma_test (replicated tiers with RDMA copies), then
# everything unloaded again. The debug line runs it without its
# integrity matrix (emp_remote_rdma_core_test; 59 of 157 s under KASAN),
# for CI's time: its fault-injection pass runs the whole test.
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
PATH=$PATH:/usr/bin:/usr/sbin
tap_plan 8
tap_check "rdma_rxe, rdma_cm and rdma_ucm load" rxe_load
tap_check "rxe0 on eth0 is ACTIVE" rxe_up
tap_check "emp_rdma.ko loads and registers the RDMA tier kind" sh -c '
	insmod /emp/modules/emp_rdma.ko && dmesg | grep -q "tier kind rdma available"'
# EMP_IOC_INFO's feature bit 4 (EMP_FEAT_TIER_RDMA) follows emp_rdma.ko.
rdma_feature() {
	f=$(empctl info | awk '/^features:/ { print $2 }')
	echo "features: $f"
	[ -n "$f" ] && [ $(( f & 16 )) -ne 0 ]
}
tap_check "empctl info announces the RDMA tier while emp_rdma.ko is loaded" rdma_feature
# Its own TAP counts its tests; a missing or crashed binary prints none, so
# its exit status is a check of its own.
t=emp_remote_rdma_test
[ "$(cut -d' ' -f1 /emp/kernel 2>/dev/null)" = debug ] && t=emp_remote_rdma_core_test
/emp/tests/$t
rc=$?
echo "# $t exit $rc"
tap_check "$t ran and exited 0" test "$rc" = 0
# Replication with RDMA copies: a donor killed, a copy repaired and filled.
/emp/tests/emp_replica_rdma_test
rc=$?
echo "# emp_replica_rdma_test exit $rc"
tap_check "emp_replica_rdma_test ran and exited 0" test "$rc" = 0
rdma_down() { rmmod emp_rdma && rxe_down; }
tap_check "emp_rdma.ko, rxe0 and rdma_rxe go away" rdma_down
no_rdma_feature() { ! rdma_feature; }
tap_check "empctl info no longer announces it once emp_rdma.ko is gone" no_rdma_feature
tap_exit
