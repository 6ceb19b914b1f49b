#!/usr/bin/env bash
# Host tests of vmd in TCP mode on 127.0.0.1 (no kernel module, no RDMA):
# command line, vmd-client's checks, vmd-fuzz, --max-clients, ENOMEM,
# the log, and a clean stop on SIGTERM/SIGINT with clients connected.
# Prints TAP (its own stream plus vmd-client's and vmd-fuzz's); exit status 0
# when everything passed.
#   host-test.sh [TOOLS [TESTS]]   vmd from TOOLS (default: build/tools),
#                                  vmd-client and vmd-fuzz from TESTS
#                                  (default: build/selftests)
#   VMD_FUZZ_COUNT                 bad messages to send (default 20000)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/tools}
tbin=${2:-$top/build/selftests}
work=$(mktemp -d "${TMPDIR:-/tmp}/vmd-host.XXXXXX")
vmd_pid=
cleanup() {
	[ -n "$vmd_pid" ] && kill -KILL "$vmd_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "$0")/tap.sh"

# start_vmd LOG ARGS...: vmd on a free port of 127.0.0.1; sets vmd_pid, port.
start_vmd() {
	local log=$1 try i; shift
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 40000))
		"$bin/vmd" -a 127.0.0.1 -p "$port" --tcp "$@" 2> "$log" &
		vmd_pid=$!
		for i in $(seq 50); do
			grep -q 'serving' "$log" && return 0
			kill -0 "$vmd_pid" 2>/dev/null || break
			sleep 0.1
		done
		wait "$vmd_pid" 2>/dev/null
		vmd_pid=
		grep -q 'in use' "$log" || return 1
	done
	return 1
}

# stop_vmd SIGNAL: vmd must exit 0 within 5 s.
stop_vmd() {
	local i rc
	kill "-$1" "$vmd_pid" || return 1
	for i in $(seq 50); do
		kill -0 "$vmd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$vmd_pid" 2>/dev/null; then
		echo "vmd still running 5 s after SIG$1"
		return 1
	fi
	wait "$vmd_pid"
	rc=$?
	vmd_pid=
	echo "exit status $rc"
	[ "$rc" -eq 0 ]
}

usage_error() {	# usage_error "message part" ARGS...: exit 2 naming the problem
	local want=$1 rc=0; shift
	"$bin/vmd" "$@" > "$work/usage" 2>&1 || rc=$?
	cat "$work/usage"
	[ "$rc" -eq 2 ] && grep -q -- "$want" "$work/usage"
}

echo "TAP version 13"
echo "1..10"
secret=$work/secret
printf 'correct horse battery staple\n' > "$secret"
: > "$work/empty"

check "vmd --help documents -d, --tcp and running both" sh -c \
	"'$bin/vmd' --help | grep -q -- '-d DEVICE' && '$bin/vmd' --help | grep -q -- '--tcp' &&
	 '$bin/vmd' --help | grep -qi 'RDMA and TCP clients at once'"
check "usage errors exit 2 with the reason" sh -c "
	$(declare -f usage_error); bin='$bin' work='$work'
	usage_error '-m MiB is required' --tcp &&
	usage_error 'nothing to serve' -m 64 &&
	usage_error 'want a port' -m 64 --tcp -p 70000 &&
	usage_error 'want a size' -m lots --tcp &&
	usage_error 'one secret only' -m 64 --tcp --secret a --secret-file '$secret' &&
	usage_error 'is empty' -m 64 --tcp --secret-file '$work/empty' &&
	usage_error 'cannot read secret file' -m 64 --tcp --secret-file '$work/none' &&
	usage_error 'unexpected argument' -m 64 --tcp extra"

# --- the main instance: 64 MiB, a secret ---------------------------------------
log=$work/vmd.log
if start_vmd "$log" -m 64 --secret-file "$secret"; then
	ok "vmd starts in TCP mode on 127.0.0.1:$port"
else
	not_ok "vmd starts in TCP mode on 127.0.0.1"; show_log "$log"
	echo "# cannot go on without vmd"
	exit 1
fi
pw='correct horse battery staple'

# vmd-client's and vmd-fuzz's own TAP streams.
"$tbin/vmd-client" --secret "$pw" 127.0.0.1 "$port" || { failed=1; show_log "$log"; }
start=$(date +%s%N)
"$tbin/vmd-fuzz" --secret "$pw" --pool 64 --count "${VMD_FUZZ_COUNT:-20000}" 127.0.0.1 "$port" ||
	{ failed=1; show_log "$log"; }
echo "# vmd-fuzz took $(( ($(date +%s%N) - start) / 1000000 )) ms"

check "vmd alive after the fuzz, vmd-client passes again" \
	sh -c "kill -0 $vmd_pid && '$tbin/vmd-client' --secret '$pw' 127.0.0.1 $port"
check "the log has timestamped connects and disconnects with name and address" sh -c "
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ vmd: connect tcp 127\.0\.0\.1:[0-9]+ .vmd-client. ' '$log' &&
	grep -Eq '^[0-9-]+ [0-9:.]+ vmd: disconnect tcp 127\.0\.0\.1:[0-9]+ .vmd-client.: session ' '$log' &&
	grep -Eq 'refused tcp 127\.0\.0\.1:[0-9]+ .vmd-client.: EAUTH' '$log'"

# SIGTERM with a session and a silent connection open.
"$tbin/vmd-client" --hello --hold 30 --secret "$pw" --size 4 127.0.0.1 "$port" > "$work/held" &
held=$!
exec 3<>"/dev/tcp/127.0.0.1/$port"
for i in $(seq 50); do grep -q '^OK' "$work/held" && break; sleep 0.1; done
if stop_vmd TERM > "$work/out" 2>&1 && grep -q 'closing 2 connections' "$log" &&
   grep -q 'freed, 4M back' "$log" && tail -n 1 "$log" | grep -q 'stopped'; then
	ok "SIGTERM with clients connected: they are closed, memory freed, exit 0"
else
	not_ok "SIGTERM with clients connected: they are closed, memory freed, exit 0"
	sed 's/^/#   /' "$work/out"; show_log "$log"
fi
exec 3<&-
kill "$held" 2>/dev/null
wait "$held" 2>/dev/null

# --- a small instance: 1 MiB, one connection at a time, no secret --------------
log=$work/vmd-small.log
if start_vmd "$log" -m 1 --max-clients 1; then
	check "ENOMEM names what was asked and what is free" sh -c "
		! '$tbin/vmd-client' --hello --size 2 127.0.0.1 $port > '$work/o2' ; cat '$work/o2';
		grep -q '^ENOMEM .*: asked 2M, vmd has 1M free' '$work/o2'"
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	sleep 0.2
	check "--max-clients 1: a second connection is closed at once" sh -c "
		! '$tbin/vmd-client' --hello --size 1 127.0.0.1 $port && grep -q 'at the limit of 1' '$log'"
	exec 3<&-
	check "the slot is free again once the first connection closes" sh -c "
		for i in \$(seq 20); do '$tbin/vmd-client' --hello --size 1 127.0.0.1 $port && exit 0;
			sleep 0.1; done; exit 1"
	check "SIGINT stops vmd with exit status 0" stop_vmd INT
else
	for t in "ENOMEM" "--max-clients" "slot free again" "SIGINT"; do
		not_ok "$t: second vmd did not start"
	done
	show_log "$log"
fi
[ "$n" -eq 10 ] || { echo "# ran $n of 10 checks"; failed=1; }
exit $failed
