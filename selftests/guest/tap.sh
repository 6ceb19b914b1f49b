# TAP helpers for guest shell tests (sourced).
_tap_n=0
_tap_fail=0
tap_plan() { echo "TAP version 13"; echo "1..$1"; }
tap_ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $*"; }
tap_not_ok() { _tap_n=$((_tap_n + 1)); _tap_fail=1; echo "not ok $_tap_n $*"; }
# tap_check "description" command...: ok if the command succeeds.
tap_check() {
	local d=$1; shift
	if "$@" > /tmp/tap.out 2>&1; then tap_ok "$d"; else
		tap_not_ok "$d"; sed 's/^/#   /' /tmp/tap.out
	fi
}
tap_exit() { exit $_tap_fail; }

# run EXPECTED_STATUS CMD...: run, keep stdout/stderr in /tmp/o and /tmp/e,
# show both; fails (saying so) unless CMD exits EXPECTED_STATUS.
run() {
	want=$1; shift
	"$@" > /tmp/o 2> /tmp/e
	rc=$?
	cat /tmp/o /tmp/e
	[ $rc -eq "$want" ] || { echo "exit status $rc, expected $want"; return 1; }
}

# qemu_accel QEMU PAYLOAD: ACCEL gets "-accel kvm -cpu host" when nested KVM
# in this guest boots PAYLOAD (a -bios image ending in isa-debug-exit 33),
# else "-accel tcg".
qemu_accel() {
	[ -c /dev/kvm ] || { modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null; sleep 0.5; }
	ACCEL="-accel tcg"
	rm -f /tmp/probe.out
	if [ -c /dev/kvm ]; then
		timeout 60 "$1" -M pc -accel kvm -cpu host -nodefaults -display none -bios "$2" \
			-m 20 -serial none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			>/tmp/probe.out 2>&1
		[ $? = 33 ] && ACCEL="-accel kvm -cpu host"
	fi
	echo "# QEMU accelerator in the guest: $ACCEL"
	[ ! -s /tmp/probe.out ] || sed 's/^/#   probe: /' /tmp/probe.out
}
