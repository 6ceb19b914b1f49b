#!/bin/sh
# What `make demo` shows, in one guest: two donors (vmd over RDMA on
# Soft-RoCE, vmd over TCP), an instance on both donors and the NVMe disk
# with 8 MiB of DRAM, a workload eight times that while condensed
# `empctl stat --watch` lines show the counters move, a VM (stock QEMU run
# by emp-qemu) with its RAM on the same tiers, then a table per tier:
# subblocks fetched, the median and 99th percentile time of the faults that
# waited for a fetch (emp.ko's tracepoints), subblocks written back.
# Every part is a TAP result; the last line says whether all passed.
# Needs QEMU in the initramfs (scripts/demo.sh copies it, as make vmtest).
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
. /emp/tests/demo_lib.sh
PATH=$PATH:/usr/bin:/usr/sbin; export PATH
IP=10.0.2.15 RPORT=19675 TPORT=19676
DISK=/dev/nvme0n1
LOAD_SECS=20
# 64 MiB each: 16 on the RDMA donor, 16 on the TCP donor, 32 on the disk.
SPEC="$IP:16:$RPORT|tcp:$IP:16:$TPORT|$DISK:32:0|dram:8"
VM_SPEC="$IP:16:$RPORT|tcp:$IP:16:$TPORT|$DISK:32:32|dram:8"
LAYOUT=/tmp/demo-layout
cat > $LAYOUT <<EOF
demo 65536 4096 0 rdma $IP:$RPORT 0 16
demo 65536 4096 1 tcp $IP:$TPORT 16 32
demo 65536 4096 2 bdev ${DISK#/dev/}@0M 32 64
vm 65536 4096 0 rdma $IP:$RPORT 0 16
vm 65536 4096 1 tcp $IP:$TPORT 16 32
vm 65536 4096 2 bdev ${DISK#/dev/}@32M 32 64
EOF
PAYLOAD=/emp/tests/emp-qemu-payload.bin
start=$(date +%s)

tap_plan 12
echo "kernel $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB"

demo_part "emp.ko"
load() {
	demo_show insmod /emp/modules/emp.ko || return 1
	demo_show empctl info
}
demo_check "emp.ko loads" load

demo_part "Donors: vmd over RDMA (Soft-RoCE rxe0 on eth0) and vmd over TCP"
rdma_up() {
	demo_rxe_up && demo_show insmod /emp/modules/emp_rdma.ko &&
	dmesg | grep 'tier kind rdma available'
}
demo_check "Soft-RoCE rxe0 is ACTIVE and emp_rdma.ko serves the RDMA tier" rdma_up
donors() {
	demo_vmd /tmp/vmd-rdma.log -v -m 64 -a $IP -p $RPORT -d rxe0 &&
	demo_vmd /tmp/vmd-tcp.log -v -m 64 -a $IP -p $TPORT --tcp
}
demo_check "two donors serve: RDMA on $IP:$RPORT, TCP on $IP:$TPORT" donors
demo_check "tracing emp.ko's tracepoints for the closing table" demo_trace_on

demo_part "Instance demo: 16 MiB on each donor, 32 MiB on the NVMe disk, 8 MiB of DRAM"
create() {
	echo "\$ empctl create demo --spec \"$SPEC\""
	empctl create demo --spec "$SPEC" || return 1
	demo_show empctl list
}
demo_check "instance demo on the RDMA donor, the TCP donor and $DISK" create

demo_part "Workload: all 64 MiB written, then ${LOAD_SECS} s of random reads and writes (a moving 4 MiB hot window)"
workload() {
	demo_watch_start demo 2 demo
	echo "\$ emp_demo_load demo $LOAD_SECS"
	timeout -s KILL $((LOAD_SECS + 150)) /emp/tests/emp_demo_load demo "$LOAD_SECS" 4
	rc=$?
	sleep 2
	demo_watch_stop
	[ $rc = 0 ] || { echo "emp_demo_load: exit status $rc"; return 1; }
	demo_show empctl stat demo
}
demo_check "the workload ran 8x its DRAM budget and read back every page right" workload
# The counters as the workload left them, for the check of the trace.
moved() {
	empctl stat demo --json > /tmp/demo-stat.json || return 1
	awk '
		function v(k) { match($0, "\"" k "\":[0-9]+"); return substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0 }
		{ printf "faults %d, hits %d, fetches %d, evictions %d, writebacks %d, io errors %d\n",
		         v("faults"), v("hits"), v("fetches"), v("evictions"), v("writebacks"), v("io_errors")
		  exit !(v("faults") > 0 && v("hits") > 0 && v("fetches") > 0 && v("evictions") > 0 &&
			 v("writebacks") > 0 && v("io_errors") == 0) }' /tmp/demo-stat.json
}
demo_check "faults, hits, fetches, evictions and writebacks all counted, no I/O error" moved

demo_part "A VM: stock QEMU, its 64 MiB of RAM on the same tiers with 8 MiB of DRAM"
vm() {
	empctl destroy demo || return 1
	# One vCPU from before KVM is loaded until the VM is gone (see
	# demo_cpus_offline).
	demo_cpus_offline
	qemu_accel qemu-system-x86_64 $PAYLOAD
	( i=0; while [ ! -e /dev/emp-vm ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	  exec empctl stat vm --watch 1 2>/dev/null ) | demo_condense vm &
	w=$!
	rm -f /tmp/vm-serial.txt
	echo "\$ emp-qemu --emp-name vm --emp-stats -M pc $ACCEL -nodefaults -bios emp-qemu-payload.bin \\"
	echo "      -serial file:/tmp/vm-serial.txt -device isa-debug-exit --mem-path \"$VM_SPEC\""
	t0=$(date +%s)
	# shellcheck disable=SC2086
	timeout -s KILL 240 emp-qemu --emp-name vm --emp-stats -M pc $ACCEL -nodefaults -display none \
		-bios $PAYLOAD -serial file:/tmp/vm-serial.txt \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 --mem-path "$VM_SPEC" 2> /tmp/vm.err
	rc=$?
	wait $w
	demo_cpus_online
	echo "VM ran $(( $(date +%s) - t0 )) s, exit status $rc (33 means the payload found all its RAM right)"
	echo "VM console:"
	sed 's/^/  | /' /tmp/vm-serial.txt
	cat /tmp/vm.err
	[ $rc = 33 ] && grep -q '^EMP-PAYLOAD OK' /tmp/vm-serial.txt &&
	grep -q '^emp-qemu: instance vm: .* evictions [1-9]' /tmp/vm.err && [ ! -e /dev/emp-vm ]
}
demo_check "emp-qemu booted a VM whose RAM is instance vm; its payload checked all of it" vm

demo_part "Per tier (fetches and writebacks in 4 KiB subblocks; a fetch's time is that of the fault waiting for it)"
demo_check "the trace holds every event" demo_trace_off
demo_check "per-tier table" demo_tier_table $LAYOUT
demo_check "the trace adds up to instance demo's counters, tier by tier" demo_tiers_agree demo /tmp/demo-stat.json

demo_part "Clean-up"
cleanup() {
	for p in $(cat /tmp/demo-vmds 2>/dev/null); do
		kill -TERM "$p" || return 1
		# An orphan once demo_check's subshell is gone: gone or a zombie.
		for _i in $(seq 100); do
			grep -q '^[0-9]* ([^)]*) [^Z]' /proc/$p/stat 2>/dev/null || break
			sleep 0.1
		done
		! grep -q '^[0-9]* ([^)]*) [^Z]' /proc/$p/stat 2>/dev/null || return 1
		echo "vmd $p stopped"
	done
	demo_show rmmod emp_rdma && rdma link delete rxe0 && demo_show rmmod emp || return 1
	[ ! -e /dev/emp ] && echo "no /dev/emp: emp.ko is gone"
	lsmod | grep -w emp && return 1
	return 0
}
demo_check "donors stopped, emp_rdma.ko and emp.ko unloaded" cleanup
problems() {
	! dmesg | grep -E 'BUG:|WARNING:|Oops|general protection fault|Call Trace:|soft lockup|hung_task'
}
demo_check "no BUG, WARNING or Oops in the kernel log" problems

echo
if [ -z "$DEMO_FAILED" ]; then
	echo "demo: every part passed in $(( $(date +%s) - start )) s"
else
	echo "demo: FAILED: $DEMO_FAILED"
fi
tap_exit
