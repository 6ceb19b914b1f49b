#!/bin/sh
# emp-qemu end to end: stock qemu-system-x86_64 (the distribution's, copied
# into the initramfs by `make vmtest`) boots a 64 KiB -bios payload whose
# 64 MiB of RAM are an EMP instance on the NVMe disk with 8 MiB of DRAM; the
# payload writes and checks a pattern over its RAM and exits through
# isa-debug-exit (33: all words right); then again with its RAM on a donor
# (vmd over TCP in this guest). Under nested KVM (kvm_amd in this
# TCG guest) when /dev/kvm works, else TCG. Then: the instance is gone after
# QEMU exits, after QEMU fails to start, and after SIGTERM/SIGINT to
# emp-qemu; a taken name and a bad spec are refused. Needs emp.ko loaded.
#
# make vmtest runs all of it (emp.qemu_tests=all on the kernel command
# line). make test runs it on the 6.12 line only, and there only the boot
# on the NVMe disk, the checks that need no QEMU run (dry run, taken name,
# bad spec) and the clean-up after QEMU fails and after SIGTERM: CI's time
# is short (the whole make test took 1270-1500 s of its 1500).
. /emp/tests/tap.sh
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
PAYLOAD=/emp/tests/emp-qemu-payload.bin
SPEC="$DEV:64:0|dram:8"
# guest.sh copies QEMU to its host path.
PATH=$PATH:/usr/bin; export PATH
full=0
grep -qw 'emp.qemu_tests=all' /proc/cmdline && full=1

# One vCPU from before KVM is used until the end, as in kvm_emp.sh: under
# multi-threaded TCG the kernel's text patching for KVM (the preempt
# notifiers' static key when a vCPU is made) has left stale int3s that the
# other vCPU ran into, and KVM's VM teardown has soft-locked waiting on it.
off=
for c in /sys/devices/system/cpu/cpu[1-9]*; do
	[ -w "$c/online" ] && [ "$(cat "$c/online")" = 1 ] || continue
	echo 0 > "$c/online" 2>/dev/null && off="$off $c"
done
cpus_back() { for c in $off; do echo 1 > "$c/online"; done; }

# check DESC CMD...: tap_check, then how long it took.
check() {
	t=$(date +%s)
	tap_check "$@"
	echo "#   ($(( $(date +%s) - t ))s)"
}

if [ $full = 1 ]; then tap_plan 11; else tap_plan 8; fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	tap_not_ok "qemu-system-x86_64 is in the guest (guest.sh copies it for this test)"
	cpus_back
	tap_exit
fi
tap_ok "qemu-system-x86_64 is in the guest"

t=$(date +%s)
qemu_accel qemu-system-x86_64 $PAYLOAD
echo "#   (probe: $(( $(date +%s) - t ))s)"

gone() {	# gone NAME: no instance NAME and no device node
	[ ! -e "/dev/emp-$1" ] && ! empctl list | grep -q "^$1 "
}

dry_run() {
	out=$(emp-qemu --emp-dry-run --emp-name vm0 -M pc -nodefaults --mem-path "$SPEC") || return 1
	echo "$out"
	echo "$out" | grep -qx "instance vm0: 64 MiB on 1 tier, DRAM budget 8 MiB, block 64 KiB" &&
	echo "$out" | grep -qx "qemu-system-x86_64 -M pc -nodefaults -object memory-backend-file,id=emp0,mem-path=/dev/emp-vm0,size=67108864,share=on -machine memory-backend=emp0 -m 64M"
}
check "emp-qemu --emp-dry-run rewrites --mem-path for stock QEMU" dry_run

boot() {	# boot NAME SPEC
	rm -f /tmp/ser.txt
	# shellcheck disable=SC2086
	timeout -s KILL 240 emp-qemu --emp-name "$1" --emp-stats -M pc $ACCEL -nodefaults -display none \
		-bios $PAYLOAD -serial file:/tmp/ser.txt \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 --mem-path "$2" 2>/tmp/boot.err
	rc=$?
	cat /tmp/ser.txt /tmp/boot.err
	[ $rc = 33 ] || { echo "exit status $rc, want 33 (isa-debug-exit of the payload's OK)"; return 1; }
	grep -q "^EMP-PAYLOAD OK" /tmp/ser.txt &&
	ev=$(sed -n "s/^emp-qemu: instance $1: .* evictions \([0-9]*\),.*/\1/p" /tmp/boot.err) &&
	[ "${ev:-0}" -gt 0 ] || { echo "no evictions reported"; return 1; }
}
start=$(date +%s)
check "payload checks its 64 MiB of RAM on an instance with 8 MiB of DRAM (evictions > 0)" boot vmq "$SPEC"
echo "# boot took $(( $(date +%s) - start ))s; $(grep '^emp-qemu: instance' /tmp/boot.err)"
tap_check "the instance is destroyed when QEMU exits" gone vmq

# 2 MiB blocks: QEMU's RAM mapping is 2 MiB aligned, so each resident
# block is mapped whole (emp.ko huge_map) and KVM maps it with 2 MiB.
boot_2m() {
	rm -f /tmp/ser.txt
	# shellcheck disable=SC2086
	timeout -s KILL 240 emp-qemu --emp-name vm2m --emp-stats --emp-block 2M --emp-subblock 64K \
		-M pc $ACCEL -nodefaults -display none -bios $PAYLOAD -serial file:/tmp/ser.txt \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 --mem-path "$SPEC" 2>/tmp/boot.err
	rc=$?
	cat /tmp/ser.txt /tmp/boot.err
	[ $rc = 33 ] && grep -q "^EMP-PAYLOAD OK" /tmp/ser.txt || { echo "exit status $rc, want 33"; return 1; }
	hf=$(sed -n "s/^emp-qemu: instance vm2m: .* whole-block faults \([0-9]*\)$/\1/p" /tmp/boot.err)
	[ "${hf:-0}" -gt 0 ] || { echo "no whole-block faults reported"; return 1; }
	# 64 MiB written and checked: 32768 page accesses; mapped whole, a
	# fault per block and pass.
	f=$(sed -n "s/^emp-qemu: instance vm2m: .* faults \([0-9]*\), hits.*/\1/p" /tmp/boot.err)
	[ "${f:-99999}" -lt 2000 ] || { echo "$f faults: the blocks were mapped page by page"; return 1; }
	gone vm2m
}
if [ $full = 1 ]; then
	check "the same with 2 MiB blocks: blocks mapped whole (under 2000 faults for 32768 page accesses)" boot_2m
	echo "# 2 MiB blocks: $(grep '^emp-qemu: instance vm2m' /tmp/boot.err)"
fi

# Remote DRAM: the same boot with its RAM on a donor (vmd, TCP, in this
# guest) behind an 8 MiB DRAM budget.
remote_boot() {
	port=$((30000 + $$ % 10000))
	vmd --tcp -a 127.0.0.1 -p $port -m 128 > /tmp/vmd.out 2>&1 &
	vpid=$!
	i=0
	until grep -q "listening" /tmp/vmd.out || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	start=$(date +%s)
	boot vmr "tcp:127.0.0.1:64:$port|dram:8"
	rc=$?
	echo "# remote boot took $(( $(date +%s) - start ))s"
	kill -TERM $vpid; wait $vpid
	cat /tmp/vmd.out
	[ $rc = 0 ] && gone vmr && grep -q "connect tcp" /tmp/vmd.out
}
[ $full = 0 ] || check "the same payload with its RAM on a TCP donor (remote DRAM) and 8 MiB of DRAM" remote_boot

qemu_fails() {
	emp-qemu --emp-name vmf -M pc -accel tcg -nodefaults -display none \
		-device no-such-device --mem-path "$SPEC" > /tmp/f.out 2>&1
	rc=$?
	cat /tmp/f.out
	[ $rc -ne 0 ] && gone vmf
}
check "QEMU failing to start: nonzero status, instance destroyed" qemu_fails

killed() {	# killed SIG
	emp-qemu --emp-name vmk -M pc -accel tcg -nodefaults -display none -S -bios $PAYLOAD \
		--mem-path "$SPEC" > /tmp/k.out 2>&1 &
	pid=$!
	i=0
	while [ ! -e /dev/emp-vmk ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e /dev/emp-vmk ] || { echo "instance never appeared"; cat /tmp/k.out; kill -9 $pid; return 1; }
	sleep 1
	kill -0 $pid 2>/dev/null || { echo "emp-qemu ended before the signal"; cat /tmp/k.out; return 1; }
	kill -"$1" $pid
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 $pid 2>/dev/null; then echo "emp-qemu still running 10 s after SIG$1"; kill -9 $pid; return 1; fi
	wait $pid
	cat /tmp/k.out
	gone vmk
}
check "SIGTERM to emp-qemu: QEMU ends, instance destroyed" killed TERM
[ $full = 0 ] || check "SIGINT to emp-qemu: QEMU ends, instance destroyed" killed INT

name_taken() {
	empctl create vmx --spec "$DEV:16:0|dram:4" >/dev/null || return 1
	emp-qemu --emp-name vmx -M pc -accel tcg -nodefaults --mem-path "/dev/nvme0n1:16:64" 2>/tmp/n.err
	rc=$?
	cat /tmp/n.err
	empctl destroy vmx >/dev/null
	[ $rc = 1 ] && grep -q "File exists" /tmp/n.err
}
check "a taken instance name is refused (exit 1)" name_taken

bad_spec() {
	emp-qemu --emp-name vmb --mem-path "$DEV:64:0|drm:8" 2>/tmp/b.err
	rc=$?
	cat /tmp/b.err
	[ $rc = 2 ] && grep -q 'column .*unknown tier' /tmp/b.err && gone vmb
}
check "a bad spec is a usage error (exit 2) with the parser's message" bad_spec
cpus_back
tap_exit
