#!/usr/bin/env bash
# Run a libFuzzer target for a bounded time and number of executions, from
# the seed corpus in fuzz/corpus (copied: the repository is never written).
# Usage: fuzz/run.sh FUZZER [RUNS] [SECONDS]
# Fails on any crash, leak or sanitizer report, and when fewer than
# FUZZ_MIN_RUNS (default 100000) inputs were executed.
set -uo pipefail
fuzzer=${1:?usage: fuzz/run.sh FUZZER [RUNS] [SECONDS]}
runs=${2:-300000} secs=${3:-60} min=${FUZZ_MIN_RUNS:-100000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/emp-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$here"/corpus/* "$work/"
log=${FUZZ_LOG:-$work/fuzz.log}
start=$(date +%s)
# Crash reproducers go to the work dir, which is removed; the log keeps them.
"$fuzzer" -runs="$runs" -max_total_time="$secs" -dict="$here/spec.dict" -max_len=512 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work" > "$log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|check failed' "$log"; then
	tail -n 60 "$log" >&2
	echo "fuzz: $(basename "$fuzzer") FAILED (exit $rc) after ${took}s" >&2
	exit 1
fi
if [ -z "$done_runs" ] || [ "$done_runs" -lt "$min" ]; then
	tail -n 20 "$log" >&2
	echo "fuzz: $(basename "$fuzzer") ran ${done_runs:-0} inputs, fewer than $min" >&2
	exit 1
fi
echo "fuzz: $(basename "$fuzzer"): $done_runs runs in ${took}s, no crash, leak or sanitizer report"
