#!/usr/bin/env bash
# Debian sid's QEMU for the test guests, in place of Debian 12's 7.2: prints
# the path of a wrapper that runs it, for guest.sh's EMP_QEMU:
#
#   EMP_QEMU=$(scripts/qemu-sid.sh) scripts/guest.sh --kernel 6.12 ...
#
# QEMU 7.2's multi-threaded TCG corrupts guest CPU state now and then: an
# int3 Oops after the kernel patches a static branch, and register values
# no CPU produces (EFLAGS with reserved bits) in paging tortures, more
# often with a small translation cache (issue 20 item 6; the figures are in
# the shared notes). sid's QEMU (11.1 at the time of writing) has upstream's
# fixes of the translation races since 8.1.
#
# It lives in a copy of the sid build chroot (scripts/chroot.sh) with
# qemu-system-x86 added, made once under $EMP_CACHE/chroot/sid-qemu (the
# build chroot itself is left as it is), and runs with that tree's own
# loader and libraries, outside the chroot, so that it sees the host's
# paths. QEMU inside the guests (emp_qemu.sh) stays the machine's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
base=$("$EMP_TOP/scripts/chroot.sh" dir sid)
dir=$EMP_CACHE/chroot/sid-qemu
wrap=$EMP_CACHE/chroot/sid-qemu.sh
log=$EMP_CACHE/chroot/sid-qemu.log

if [ ! -x "$dir/usr/bin/qemu-system-x86_64" ]; then
	exec 8>"$EMP_CACHE/chroot/.lock-sid-qemu"
	flock 8
	if [ ! -x "$dir/usr/bin/qemu-system-x86_64" ]; then
		emp_log "qemu-sid: adding qemu-system-x86 to a copy of $base"
		$sudo rm -rf "$dir.tmp"
		$sudo cp -a "$base/." "$dir.tmp/"
		$sudo cp /etc/resolv.conf "$dir.tmp/etc/resolv.conf"
		# The registry's sid may be a snapshot older than its Valid-Until.
		# shellcheck disable=SC2016  # expanded by the shell in the chroot
		if ! $sudo chroot "$dir.tmp" sh -c 'o="-o Acquire::Check-Valid-Until=false"
			apt-get $o update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get $o install -y -qq \
				--no-install-recommends qemu-system-x86' > "$log" 2>&1; then
			tail -n 20 "$log" >&2
			emp_die "qemu-sid: cannot install qemu-system-x86 in the sid chroot (log: $log)"
		fi
		$sudo mv "$dir.tmp" "$dir"
	fi
	exec 8>&-
fi

cat > "$wrap.new" <<EOF
#!/bin/sh
# Debian sid's QEMU from $dir (scripts/qemu-sid.sh), with its own loader and libraries.
exec "$dir/lib64/ld-linux-x86-64.so.2" \\
	--library-path "$dir/usr/lib/x86_64-linux-gnu:$dir/lib/x86_64-linux-gnu" \\
	"$dir/usr/bin/qemu-system-x86_64" -L "$dir/usr/share/qemu" -L "$dir/usr/share/seabios" "\$@"
EOF
chmod +x "$wrap.new"
mv "$wrap.new" "$wrap"
"$wrap" --version | head -n 1 | sed 's/^/[emp] qemu-sid: /' >&2
echo "$wrap"
