#!/usr/bin/env bash
# Count a TAP log made of one or more TAP streams (kselftest style).
# Usage: tap-count.sh FILE LABEL
# Prints "LABEL: P passed, F failed, S skipped, planned N" and appends
# "LABEL P F S" to $EMP_OUT/counts. A skipped test is not a pass.
# Exit status: 0 only if nothing failed, nothing was skipped and every planned
# test reported a result.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

f=$1 label=$2
read -r pass fail skip plan < <(awk '
	/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan += $1 + 0; next }
	/^ok [0-9]+/ && /# *[Ss][Kk][Ii][Pp]/ { skip++; next }
	/^ok [0-9]+/ { pass++; next }
	/^not ok [0-9]+/ && /# *[Ss][Kk][Ii][Pp]/ { skip++; next }
	/^not ok [0-9]+/ { fail++; next }
	END { printf "%d %d %d %d\n", pass, fail, skip, plan }' "$f")
missing=$((plan - pass - fail - skip))
if [ "$missing" -gt 0 ]; then
	echo "$label: $missing planned test(s) reported no result" >&2
	fail=$((fail + missing))
fi
echo "$label: $pass passed, $fail failed, $skip skipped, planned $plan"
mkdir -p "$EMP_OUT"
echo "$label $pass $fail $skip" >> "$EMP_OUT/counts"
[ "$fail" -eq 0 ] && [ "$skip" -eq 0 ] && [ "$pass" -gt 0 ]
