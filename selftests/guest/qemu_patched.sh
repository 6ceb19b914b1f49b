#!/bin/sh
# The QEMU patch (qemu-patch/): Debian's QEMU 7.2 built with
# emp-mem-path.patch takes an EMP tier spec in -mem-path itself. The 64 KiB
# -bios payload of emp_qemu.sh checks its 64 MiB of RAM on the instance
# (NVMe tier, 8 MiB of DRAM) and exits through isa-debug-exit (33: all
# right); the instance is gone once QEMU has exited; a bad spec stops QEMU
# with the parser's message; an ordinary -mem-path directory still works.
# `make vmtest-patched` builds that QEMU and passes its path as
# emp.qemu_patched= on the kernel command line. Needs emp.ko loaded.
. /emp/tests/tap.sh
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
PAYLOAD=/emp/tests/emp-qemu-payload.bin
Q=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^emp\.qemu_patched=//p')
EXIT="-device isa-debug-exit,iobase=0xf4,iosize=0x04"

tap_plan 5
if [ -z "$Q" ] || [ ! -x "$Q" ]; then
	tap_not_ok "the patched QEMU is in the guest (make vmtest-patched)"
	tap_exit
fi
tap_ok "the patched QEMU is in the guest"

qemu_accel "$Q" $PAYLOAD

run() {	# run MEMPATH: boot the payload with -m 64 -mem-path MEMPATH
	rm -f /tmp/pser.txt
	# shellcheck disable=SC2086
	timeout -s KILL 240 "$Q" -M pc $ACCEL -nodefaults -display none -bios $PAYLOAD \
		-serial file:/tmp/pser.txt $EXIT -m 64 -mem-path "$1" 2>/tmp/perr.txt
	rc=$?
	cat /tmp/pser.txt /tmp/perr.txt
	[ $rc = 33 ] || { echo "exit status $rc, want 33"; return 1; }
	grep -q "^EMP-PAYLOAD OK" /tmp/pser.txt
}
spec_boot() {
	run "$DEV:64:0|dram:8" && grep -q "EMP instance qemu-[0-9]*, 64 MiB on 1 tier" /tmp/perr.txt
}
tap_check "-mem-path \"$DEV:64:0|dram:8\": the payload's RAM checks out on an instance" spec_boot

none_left() {	# the watcher destroys the instance once QEMU is gone
	i=0
	while ls /dev/emp-qemu-* >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	! ls /dev/emp-qemu-* 2>/dev/null && ! empctl list | grep -q '^qemu-'
}
tap_check "the instance is gone after QEMU exits" none_left

bad_spec() {
	"$Q" -M pc -accel tcg -nodefaults -display none -m 64 -mem-path "$DEV:64:0|drm:8" 2>/tmp/perr.txt
	rc=$?
	cat /tmp/perr.txt
	[ $rc -ne 0 ] && grep -q 'as an EMP spec: column .*unknown tier' /tmp/perr.txt && none_left
}
tap_check "a bad spec stops QEMU with the parser's message" bad_spec

plain() { mkdir -p /tmp/hugedir && run /tmp/hugedir && ! grep -q "EMP instance" /tmp/perr.txt; }
tap_check "an ordinary -mem-path directory is QEMU's own, as before" plain
tap_exit
