#!/usr/bin/env bash
# Print the QEMU accelerator options for test guests. KVM is used only where
# a real boot of the Debian kernel under it succeeded (checked once per
# machine, cached); otherwise TCG. EMP_ACCEL=tcg|kvm forces.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=${1:-6.12}
TCG="-accel tcg,thread=multi -cpu max"
KVM="-accel kvm -cpu host"
case "${EMP_ACCEL:-auto}" in
tcg) echo "$TCG"; exit 0 ;;
kvm) echo "$KVM"; exit 0 ;;
esac
if [ ! -w /dev/kvm ]; then echo "$TCG"; exit 0; fi
cache=$EMP_CACHE/accel-$(hostname)
if [ ! -f "$cache" ]; then
	emp_kernel_env "$line" || emp_die "kernel line $line not fetched"
	tmp=$(mktemp -d)
	# A boot that reaches the kernel's "Run /init" line counts as working.
	timeout -k 2 20 qemu-system-x86_64 -M pc $KVM -m 256 -no-reboot -display none \
		-kernel "$KVMLINUX" -append "console=ttyS0 panic=-1" -serial "file:$tmp/c" \
		-monitor none </dev/null >/dev/null 2>&1 || true
	if grep -qE 'Run /init|Kernel panic - not syncing: VFS' "$tmp/c" 2>/dev/null; then
		echo kvm > "$cache"
	else
		echo tcg > "$cache"
	fi
	rm -rf "$tmp"
	emp_log "accel: $(cat "$cache") for $line (probed once, cached in $cache)"
fi
[ "$(cat "$cache")" = kvm ] && echo "$KVM" || echo "$TCG"
