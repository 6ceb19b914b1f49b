#!/usr/bin/env bash
# Run host unit test binaries (kselftest harness, TAP on stdout) and write
# their TAP to $EMP_OUT/unit.tap. Exit status: nonzero if any test failed or
# a binary did not report all the tests it planned.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$EMP_OUT"
tap=$EMP_OUT/unit.tap
: > "$tap"
for t in "$@"; do
	echo "# $(basename "$t")" >> "$tap"
	"$t" >> "$tap" 2>&1
	echo "# exit $?" >> "$tap"
done
cat "$tap"
"$EMP_TOP/scripts/tap-count.sh" "$tap" unit
