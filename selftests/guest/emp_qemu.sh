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
. /emp/tests/tap.sh
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
PAYLOAD=/emp/tests/emp-qemu-payload.bin
SPEC="$DEV:64:0|dram:8"
# make vmtest copies QEMU to its host path.
PATH=$PATH:/usr/bin; export PATH

tap_plan 11
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	tap_not_ok "qemu-system-x86_64 is in the guest (run this test through make vmtest)"
	tap_exit
fi
tap_ok "qemu-system-x86_64 is in the guest"

qemu_accel qemu-system-x86_64 $PAYLOAD

gone() {	# gone NAME: no instance NAME and no device node
	[ ! -e "/dev/emp-$1" ] && ! empctl list | grep -q "^$1 "
}

dry_run() {
	out=$(emp-qemu --emp-dry-run --emp-name vm0 -M pc -nodefaults --mem-path "$SPEC") || return 1
	echo "$out"
	echo "$out" | grep -qx "instance vm0: 64 MiB on 1 tier, DRAM budget 8 MiB, block 64 KiB" &&
	echo "$out" | grep -qx "qemu-system-x86_64 -M pc -nodefaults -object memory-backend-file,id=emp0,mem-path=/dev/emp-vm0,size=67108864,share=on -machine memory-backend=emp0 -m 64M"
}
tap_check "emp-qemu --emp-dry-run rewrites --mem-path for stock QEMU" dry_run

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
tap_check "payload checks its 64 MiB of RAM on an instance with 8 MiB of DRAM (evictions > 0)" boot vmq "$SPEC"
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
tap_check "the same with 2 MiB blocks: blocks mapped whole (under 2000 faults for 32768 page accesses)" boot_2m
echo "# 2 MiB blocks: $(grep '^emp-qemu: instance vm2m' /tmp/boot.err)"

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
tap_check "the same payload with its RAM on a TCP donor (remote DRAM) and 8 MiB of DRAM" remote_boot

qemu_fails() {
	emp-qemu --emp-name vmf -M pc -accel tcg -nodefaults -display none \
		-device no-such-device --mem-path "$SPEC" > /tmp/f.out 2>&1
	rc=$?
	cat /tmp/f.out
	[ $rc -ne 0 ] && gone vmf
}
tap_check "QEMU failing to start: nonzero status, instance destroyed" qemu_fails

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
tap_check "SIGTERM to emp-qemu: QEMU ends, instance destroyed" killed TERM
tap_check "SIGINT to emp-qemu: QEMU ends, instance destroyed" killed INT

name_taken() {
	empctl create vmx --spec "$DEV:16:0|dram:4" >/dev/null || return 1
	emp-qemu --emp-name vmx -M pc -accel tcg -nodefaults --mem-path "/dev/nvme0n1:16:64" 2>/tmp/n.err
	rc=$?
	cat /tmp/n.err
	empctl destroy vmx >/dev/null
	[ $rc = 1 ] && grep -q "File exists" /tmp/n.err
}
tap_check "a taken instance name is refused (exit 1)" name_taken

bad_spec() {
	emp-qemu --emp-name vmb --mem-path "$DEV:64:0|drm:8" 2>/tmp/b.err
	rc=$?
	cat /tmp/b.err
	[ $rc = 2 ] && grep -q 'column .*unknown tier' /tmp/b.err && gone vmb
}
tap_check "a bad spec is a usage error (exit 2) with the parser's message" bad_spec
tap_exit
