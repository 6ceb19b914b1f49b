#!/bin/sh
# Guest test driver: runs the suite in order; every test prints its own TAP
# stream, which the host sums up (scripts/tap-count.sh).
# EMP_TESTS (space-separated names) overrides the list.
cd /emp/tests || exit 1
echo "# kernel $(uname -r)"
# VM mode (kvm_emp.sh) runs before the leak test, which then also checks
# what it left. (It ran on the debug line too, after the leak test: nested
# KVM under KASAN frees its memory late; kvm_late= keeps that place should
# CI's time allow it back.)
# emp_policy_test (reclaim, replacement, read-ahead, metadata: counters and
# memory, no path the stock lines do not take) is not run on the debug line,
# which has no second (1 TiB, hot-plugged) disk and no time to spare in CI;
# the paging, concurrency and lifecycle tests take the same paths there.
# The tools' own tests (empctl over many instances, the preload library,
# the man pages' examples) take the kernel paths the C tests take, and
# 2-4x longer under KASAN: the stock lines run them, the debug line (CI's
# longest) does not.
# emp_policy_test (half a minute, our policy code, no kernel API of its own
# but the accessed-bit walk, which 6.1 and 6.12 share) runs on 6.12 alone,
# for CI's time (on 6.1 too until the monitoring, discard and empfs tests
# came). The tools'
# tests (45-50 s a line) run on 6.12 alone: CI runs the lines one after
# the other and measured 1397 s and 1496 s of its 1500 on the same tree.
# Stock QEMU on an instance through emp-qemu (emp_qemu.sh, its short set:
# see there) runs on 6.12 alone, for the same reason, and so does the
# tracepoints' test through perf (perf_events.sh); guest.sh puts QEMU and
# perf in that line's initramfs (emp_line_runs_qemu in scripts/lib.sh).
# The netlink events (events.sh, 15 s) run on 6.1 and 6.12, the family's
# two kernel APIs CI can spare the time for; the balancer daemon (empd.sh,
# a minute, userspace over the ioctls and events) on 6.12 with the tools.
# The cluster test (cluster.sh: etcd, vmds, placement, replication; 40 s)
# runs on one line, whose initramfs alone carries etcd and says so with
# /emp/cluster (EMP_CLUSTER_LINE in scripts/lib.sh, 6.1 by default).
kvm=kvm_emp.sh kvm_late= policy=emp_policy_test qemu= events=events.sh cluster=
[ -e /emp/cluster ] && cluster=cluster.sh
tools="empctl_instances.sh preload_heap.sh man_examples.sh empd.sh"
# On the debug line (CI's longest), the TCP tier's tests (emp_remote_test,
# 77 s under KASAN) run in the fault-injection pass only, besides the
# dropped-connection ones (emp_remote_drop_test) and the RDMA build of the
# same tests in rdma_tier.sh; and VM mode (kvm_emp.sh, 40-60 s there) runs
# on the stock lines only: both for CI's time since the monitoring, discard,
# empfs and balancer tests came (the lines took 1653 s of the 1500).
remote=emp_remote_test
node=emp_node_test
case "$(cut -d' ' -f1 /emp/kernel 2>/dev/null)" in
6.12) qemu="emp_qemu.sh perf_events.sh" ;;
debug) kvm= policy= tools= events= remote= ;;
sid) policy= tools= events= ;;
*) tools= policy= ;;
esac
for t in ${EMP_TESTS:-devices.sh module_load.sh emp_ctl_test empctl.sh \
	emp_create_test emp_ioctl_test emp_paging_test emp_huge_test emp_concurrency_test emp_lifecycle_test emp_monitor_test emp_discard_test emp_fs_test \
	emp_ioerr_test emp_tiers_test $node $remote emp_remote_drop_test emp_replica_test $tools empctl_remote.sh $cluster $events vmd_rdma.sh rdma_tier.sh $policy $kvm $qemu emp_leak_test $kvm_late module_unload.sh}; do
	echo "# ==== $t"
	if [ ! -x "./$t" ]; then
		echo "TAP version 13"; echo "1..1"; echo "not ok 1 $t: missing from the initramfs"
		continue
	fi
	start=$(date +%s)
	"./$t"
	rc=$?
	echo "# ==== $t exit $rc ($(( $(date +%s) - start ))s)"
	# A test killed by its timeout cannot tear down; name what it left,
	# so the leak test's failures further on point back here.
	left=$(ls /sys/class/emp 2>/dev/null | tr '\n' ' ')
	[ -z "$left" ] || echo "# instances present after $t: $left"
done
