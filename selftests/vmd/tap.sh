# TAP helpers of the host shell tests (host-test.sh, etcd-test.sh), sourced
# after $work (a scratch directory) is set: ok, not_ok and check number the
# tests in $n and set $failed; show_log quotes the end of a log.
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $*"; }
check() {	# check "description" command...
	local d=$1; shift
	if "$@" > "$work/out" 2>&1; then ok "$d"; else
		not_ok "$d"; sed 's/^/#   /' "$work/out"
	fi
}
show_log() { echo "#   log ($1):"; tail -n 15 "$1" | sed 's/^/#   /'; }
