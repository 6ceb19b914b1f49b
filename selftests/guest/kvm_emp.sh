#!/bin/sh
# VM mode, base path (no KVM patch): load KVM, then emp_kvm_test runs a KVM
# guest whose memory slot is an EMP instance mapping on the NVMe disk, eight
# times its DRAM budget, and the KVM companion (emp_kvm.ko) counts its
# faults per memory slot. Needs emp.ko loaded (module_load.sh first).
# A missing /dev/kvm is a failure, not a skip: the guests run with -cpu max,
# which has svm+npt, so kvm_amd must load.
#
# With more than one vCPU, KVM's teardown of a VM has been seen to soft-lock
# in TCG (IPI to the other vCPU never answered, about 1 run in 30): the other
# CPUs are taken offline for the test and brought back after it.
. /emp/tests/tap.sh

off=
for c in /sys/devices/system/cpu/cpu[1-9]*; do
	[ -w "$c/online" ] && [ "$(cat "$c/online")" = 1 ] || continue
	echo 0 > "$c/online" 2>/dev/null && off="$off $c"
done

tap_plan 5
tap_check "modprobe kvm_amd or kvm_intel" sh -c \
	'modprobe kvm_amd 2>/tmp/kvm.err || modprobe kvm_intel 2>>/tmp/kvm.err ||
	 { cat /tmp/kvm.err; grep -m1 -o "svm\|vmx" /proc/cpuinfo || echo "no svm/vmx in /proc/cpuinfo"; false; }'
tap_check "/dev/kvm appears" sh -c \
	'for i in 1 2 3 4 5 6 7 8 9 10; do [ -c /dev/kvm ] && exit 0; sleep 0.2; done
	 echo "/dev/kvm missing after modprobe; kernel log:"; dmesg | grep -i -m 10 "kvm\|svm"; false'
tap_check "emp_kvm.ko (the KVM companion) loads on the stock kvm.ko" sh -c \
	'insmod /emp/modules/emp_kvm.ko && test -c /dev/emp_kvm'
if [ -c /dev/kvm ]; then
	/emp/tests/emp_kvm_test > /tmp/kvm_test.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/kvm_test.out
	if [ $rc = 0 ]; then tap_ok "emp_kvm_test: KVM guest on an EMP instance (slot 8x the DRAM budget)"
	else tap_not_ok "emp_kvm_test: KVM guest on an EMP instance (exit $rc)"; fi
else
	tap_not_ok "emp_kvm_test: not run, no /dev/kvm"
fi

tap_check "emp_kvm.ko unloads" rmmod emp_kvm

for c in $off; do echo 1 > "$c/online"; done
tap_exit
