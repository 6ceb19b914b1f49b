#!/usr/bin/env bash
# make demo: all the set-up on a fresh Debian 12 machine, then boot a guest on
# the newest kernel line, load emp.ko and show it working.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
line=${EMP_DEMO_LINE:-6.12}
"$EMP_TOP/scripts/deps.sh"
"$EMP_TOP/scripts/fetch-kernel.sh" "$line"
make -s -C "$EMP_TOP" tools selftests
"$EMP_TOP/scripts/build-kmod.sh" --kernel "$line" >/dev/null
rc=0
"$EMP_TOP/scripts/guest.sh" --kernel "$line" --tests demo.sh --out "$EMP_OUT/demo" >/dev/null || rc=$?
echo "==== inside the guest ===="
grep -v '^TAP version\|^1\.\.\|^# EMP-END\|^# ====' "$EMP_OUT/demo/tap.log"
echo "==== demo $([ $rc = 0 ] && echo succeeded || echo FAILED) (logs in $EMP_OUT/demo) ===="
exit $rc
