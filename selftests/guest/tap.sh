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
