#!/usr/bin/env bash
# make demo: all the set-up on a fresh Debian 12 machine (packages, a
# kernel, the build), then one guest on the newest Debian 12 kernel line
# that shows EMP at work (selftests/guest/demo.sh): donors over RDMA and
# TCP, an instance on them and the NVMe disk under a workload, a VM with
# its RAM on EMP, a table per tier. Its output is shown as it comes. Exits
# nonzero, with a FAILED line, when any part fails, when the guest does not
# finish, or when the guest's kernel log has a BUG, WARNING or Oops.
#   EMP_DEMO_LINE   kernel line (default 6.12)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
line=${EMP_DEMO_LINE:-6.12}
out=$EMP_OUT/demo
t0=$(date +%s)
"$EMP_TOP/scripts/deps.sh"
"$EMP_TOP/scripts/fetch-kernel.sh" "$line"
make -s -C "$EMP_TOP" tools selftests
"$EMP_TOP/scripts/build-kmod.sh" --kernel "$line" >/dev/null
# guest.sh copies QEMU into the initramfs for demo.sh.
emp_qemu_files >/dev/null || emp_die "qemu-system-x86_64 not found (make deps)"
emp_log "set-up took $(( $(date +%s) - t0 ))s; the guest's output follows"

# The guest writes its TAP stream to $out/tap.log (a serial port: CRLF) as
# it goes: follow it, leaving out the harness's own lines.
rc=0
rm -rf "$out"
mkdir -p "$EMP_OUT"
"$EMP_TOP/scripts/guest.sh" --kernel "$line" --tests demo.sh --timeout "${EMP_DEMO_TIMEOUT:-420}" \
	--out "$out" > "$EMP_OUT/demo-guest.log" &
guest=$!
tail -n +1 -F --pid=$guest "$out/tap.log" 2>/dev/null | sed -u 's/\r$//' |
	grep --line-buffered -av '^TAP version\|^1\.\.\|^# EMP-END\|^# kernel \|^# ==== demo.sh$' |
	sed -u 's/^ok [0-9]* /  [ok] /; s/^not ok [0-9]* /  [FAILED] /; s/^# ==== demo.sh exit \(.*\)/(demo.sh: exit \1)/' &
follow=$!
wait $guest || rc=$?
wait $follow || true

echo
why=
grep -q '^demo: every part passed' "$out/tap.log" 2>/dev/null || why="a part of the demo failed or did not run"
if [ -s "$out/kernel-problems.log" ]; then
	why="${why:+$why; }kernel problems in the guest's log ($out/kernel-problems.log)"
fi
if [ $rc != 0 ] && [ -z "$why" ]; then why="the guest run failed (status $rc, see above)"; fi
echo "Logs: $out (tap.log: the output above; console.log, dmesg.log: the guest's kernel)"
if [ -n "$why" ]; then
	echo "==== demo FAILED after $(( $(date +%s) - t0 ))s: $why ===="
	exit 1
fi
echo "==== demo succeeded in $(( $(date +%s) - t0 ))s ===="
