#!/usr/bin/env bash
# Host test of scripts/tap-count.sh: the counter that decides pass or fail
# must see failures, skips and missing results. Prints TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export EMP_OUT=$tmp
n=0 bad=0
check() {	# check NAME WANT_STATUS WANT_LINE  (TAP input on stdin)
	local name=$1 want=$2 line=$3 got out
	cat > "$tmp/in"
	out=$("$top/scripts/tap-count.sh" "$tmp/in" t 2>/dev/null); got=$?
	n=$((n + 1))
	if { [ "$want" = 0 ] && [ $got = 0 ]; } || { [ "$want" != 0 ] && [ $got != 0 ]; }; then
		if [ "$out" = "$line" ]; then echo "ok $n $name"; return; fi
	fi
	echo "not ok $n $name (status $got, '$out')"; bad=1
}
echo "TAP version 13"
echo "1..6"
check "all pass" 0 "t: 2 passed, 0 failed, 0 skipped, planned 2" < <(printf '1..2\nok 1 a\nok 2 b\n')
check "a failure fails" 1 "t: 1 passed, 1 failed, 0 skipped, planned 2" < <(printf '1..2\nok 1 a\nnot ok 2 b\n')
check "a missing result fails" 1 "t: 2 passed, 1 failed, 0 skipped, planned 3" < <(printf '1..3\nok 1 a\nok 2 b\n')
check "a skip is not a pass" 1 "t: 1 passed, 0 failed, 1 skipped, planned 2" < <(printf '1..2\nok 1 a\nok 2 b # SKIP no device\n')
check "two streams, comments ignored" 1 "t: 2 passed, 1 failed, 0 skipped, planned 3" < <(printf '1..1\nok 1 a\n1..2\nok 1 c\n#  ok 2 indented\n')
check "no tests at all fails" 1 "t: 0 passed, 0 failed, 0 skipped, planned 0" < <(printf '')
exit $bad
