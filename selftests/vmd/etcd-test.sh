#!/usr/bin/env bash
# Host test of vmd's cluster registry (--etcd): a private etcd on 127.0.0.1
# (data in a temporary directory, free ports), vmd in TCP mode registering
# in it. Checks the key and its JSON value, the free bytes following a
# client, removal on SIGTERM, expiry after kill -9, re-registration after
# etcd lost its data, a clear failure at start with etcd away, and a fake
# etcd answering garbage (fake-etcd.py): vmd says why and does not crash.
# Prints TAP; exit status 0 when everything passed. Needs etcd and
# etcdctl (Debian: etcd-server, etcd-client) and python3.
#   etcd-test.sh [TOOLS [TESTS]]   vmd from TOOLS (default: build/tools),
#                                  vmd-client from TESTS (build/selftests)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$top/build/tools}
tbin=${2:-$top/build/selftests}
work=$(mktemp -d "${TMPDIR:-/tmp}/vmd-etcd.XXXXXX")
vmd_pid= etcd_pid= fake_pid= pids=
cleanup() {
	local p
	for p in $pids $etcd_pid $fake_pid; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM

PLAN=12
. "$here/tap.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "TAP version 13"
echo "1..$PLAN"
for t in etcd etcdctl python3; do
	if ! command -v "$t" > /dev/null; then
		echo "# $t is not installed (scripts/deps.sh installs it)"
		for i in $(seq $PLAN); do not_ok "$t missing"; done
		exit 1
	fi
done

# --- etcd ------------------------------------------------------------------------
cport=$(free_port) pport=$(free_port)
ep=http://127.0.0.1:$cport
start_etcd() {	# a fresh etcd when $work/etcd is empty; waits until it answers
	local i
	etcd --name emp-test --data-dir "$work/etcd" --listen-client-urls "$ep" \
		--advertise-client-urls "$ep" --listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "emp-test=http://127.0.0.1:$pport" > "$work/etcd.log" 2>&1 &
	etcd_pid=$!
	pids="$pids $etcd_pid"
	for i in $(seq 100); do
		etcdctl --endpoints "$ep" endpoint health > /dev/null 2>&1 && return 0
		kill -0 "$etcd_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_etcd() { kill -KILL "$etcd_pid" 2>/dev/null; wait "$etcd_pid" 2>/dev/null; etcd_pid=; }
# The values under the prefix, one a line.
values() { etcdctl --endpoints "$ep" get --prefix /emp/v1/donors/ --print-value-only; }
keys() { etcdctl --endpoints "$ep" get --prefix /emp/v1/donors/ --keys-only | grep -v '^$'; }

# start_vmd LOG ARGS...: vmd on a free port of 127.0.0.1; sets vmd_pid, port.
start_vmd() {
	local log=$1 i; shift
	port=$(free_port)
	"$bin/vmd" -a 127.0.0.1 -p "$port" --tcp -m 64 "$@" 2> "$log" &
	vmd_pid=$!
	pids="$pids $vmd_pid"
	for i in $(seq 50); do
		grep -q 'serving' "$log" && return 0
		kill -0 "$vmd_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# value_is FIELD=VALUE...: the only donor's value has these fields (JSON).
value_is() {
	values > "$work/value" || return 1
	cat "$work/value"
	python3 - "$work/value" "$@" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l]
if len(lines) != 1:
    sys.exit("want one donor, have %d" % len(lines))
v = json.loads(lines[0])
want = {"version", "addr", "port", "transports", "capacity", "free", "domain", "pid"}
if set(v) != want:
    sys.exit("fields %s, want %s" % (sorted(v), sorted(want)))
for kv in sys.argv[2:]:
    k, x = kv.split("=", 1)
    if json.dumps(v[k]) != x:
        sys.exit("%s is %s, want %s" % (k, json.dumps(v[k]), x))
EOF
}

# wait_free BYTES: the registered free bytes become BYTES within 3 s.
wait_free() {
	local i
	for i in $(seq 30); do
		value_is "free=$1" > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	value_is "free=$1"
}

documented() {	# --help and vmd(8) name the options and the key
	local o
	"$bin/vmd" --help > "$work/help" || return 1
	for o in '--etcd URL' '--domain LABEL' '--announce ADDR' '--etcd-ttl S' '/emp/v1/donors/'; do
		grep -qF -- "$o" "$work/help" || { echo "--help lacks $o"; return 1; }
	done
	for o in '.BI \-\-etcd " URL"' '.BI \-\-domain " LABEL"' '.BI \-\-announce " ADDRESS"' \
		 '.BI \-\-etcd\-ttl " S"' '.BI /emp/v1/donors/ DOMAIN / ADDRESS : PORT'; do
		grep -qxF -- "$o" "$top/tools/man/vmd.8" || { echo "vmd.8 lacks $o"; return 1; }
	done
}
check "vmd --help and vmd(8) document --etcd, --domain, --announce, --etcd-ttl and the key" documented

usage_error() {	# usage_error "message part" ARGS...: exit 2 naming the problem
	local want=$1 rc=0; shift
	timeout 10 "$bin/vmd" "$@" > "$work/usage" 2>&1 || rc=$?
	cat "$work/usage"
	[ "$rc" -eq 2 ] && grep -q -- "$want" "$work/usage"
}
check "registry usage errors exit 2 with the reason" sh -c "
	$(declare -f usage_error); bin='$bin' work='$work'
	usage_error 'https is not supported' -m 64 --tcp -a 127.0.0.1 --etcd https://127.0.0.1:2379 &&
	usage_error 'want http://HOST:PORT' -m 64 --tcp -a 127.0.0.1 --etcd 127.0.0.1:2379 &&
	usage_error 'give --announce' -m 64 --tcp --etcd http://127.0.0.1:2379 &&
	usage_error 'give --announce' -m 64 --tcp -a 0.0.0.0 --etcd http://127.0.0.1:2379 &&
	usage_error 'need --etcd' -m 64 --tcp --domain rack1 &&
	usage_error 'want seconds 2..3600' -m 64 --tcp -a 127.0.0.1 --etcd http://127.0.0.1:2379 --etcd-ttl 1 &&
	usage_error 'want 1 to 63' -m 64 --tcp -a 127.0.0.1 --etcd http://127.0.0.1:2379 --domain a/b &&
	usage_error 'want an IP address' -m 64 --tcp --etcd http://127.0.0.1:2379 --announce '::'"

if ! start_etcd; then
	echo "# etcd did not start:"; tail -n 20 "$work/etcd.log" | sed 's/^/#   /'
	for i in $(seq $((PLAN - n))); do not_ok "etcd did not start"; done
	exit 1
fi

# --- registration, free bytes, clean stop ------------------------------------------
log=$work/vmd.log
if start_vmd "$log" --etcd "$ep" --domain rack1 --etcd-ttl 2 &&
   [ "$(keys)" = "/emp/v1/donors/rack1/127.0.0.1:$port" ] > "$work/out" 2>&1 &&
   value_is version=1 'addr="127.0.0.1"' "port=$port" 'transports=["tcp"]' \
	capacity=67108864 free=67108864 'domain="rack1"' "pid=$vmd_pid" >> "$work/out" 2>&1 &&
   etcdctl --endpoints "$ep" get /emp/v1/donors/rack1/127.0.0.1:"$port" -w json |
	grep -Eq '"lease":[1-9]'; then
	ok "vmd registers /emp/v1/donors/rack1/127.0.0.1:$port with its JSON value, under a lease"
else
	not_ok "vmd registers under /emp/v1/donors/rack1/ with its JSON value, under a lease"
	keys | sed 's/^/#   key: /'; sed 's/^/#   /' "$work/out"; show_log "$log"
fi
# Kept alive: still there after two TTLs.
sleep 4.5
check "the key outlives two TTLs (keepalive)" sh -c "$(declare -f values value_is); ep='$ep' work='$work'
	kill -0 $vmd_pid && value_is free=67108864"

"$tbin/vmd-client" --hello --hold 3 --size 4 127.0.0.1 "$port" > "$work/held" 2>&1 &
held=$!
if wait_free 62914560 > "$work/out" 2>&1; then
	ok "a client's 4 MiB session: free bytes in etcd drop to 60 MiB"
else
	not_ok "a client's 4 MiB session: free bytes in etcd drop to 60 MiB"
	sed 's/^/#   /' "$work/out" "$work/held"; show_log "$log"
fi
wait "$held"
if wait_free 67108864 > "$work/out" 2>&1; then
	ok "the client gone: free bytes back to 64 MiB"
else
	not_ok "the client gone: free bytes back to 64 MiB"; sed 's/^/#   /' "$work/out"; show_log "$log"
fi

# etcd loses everything (a new cluster on the same address) for longer
# than the TTL: vmd keeps serving, says so once, and registers anew.
stop_etcd
rm -rf "$work/etcd"
sleep 3
if check_alive=$("$tbin/vmd-client" --hello --size 1 127.0.0.1 "$port" 2>&1) &&
   grep -q 'etcd: lost: .*still serving clients' "$log" && start_etcd; then
	for i in $(seq 50); do
		grep -q 'etcd: .*registering again' "$log" && keys | grep -q "127.0.0.1:$port" && break
		sleep 0.1
	done
fi
if grep -q 'etcd: /v3/lease/keepalive: lease [0-9]* has expired; registering again' "$log" &&
   grep -q 'registered again: /emp/v1/donors/rack1/127.0.0.1:'"$port" "$log" &&
   [ "$(grep -c 'etcd: lost' "$log")" -eq 1 ] && value_is free=67108864 > "$work/out" 2>&1; then
	ok "etcd lost its data: vmd served on, logged it once, registered again with a new lease"
else
	not_ok "etcd lost its data: vmd served on, logged it once, registered again with a new lease"
	echo "#   client: ${check_alive:-}"; sed 's/^/#   /' "$work/out"; show_log "$log"
fi

if kill -TERM "$vmd_pid" && wait "$vmd_pid"; then rc=0; else rc=$?; fi
vmd_pid=
if [ "$rc" -eq 0 ] && [ -z "$(keys)" ] && grep -q 'etcd: .* removed' "$log"; then
	ok "SIGTERM: exit 0, the key is gone at once"
else
	not_ok "SIGTERM: exit 0, the key is gone at once (exit $rc)"; keys | sed 's/^/#   key: /'
	show_log "$log"
fi

# --- kill -9: the lease expires ----------------------------------------------------
log=$work/vmd-kill.log
if start_vmd "$log" --etcd "$ep" --domain rack2 --etcd-ttl 2 && [ -n "$(keys)" ]; then
	kill -KILL "$vmd_pid"
	wait "$vmd_pid" 2>/dev/null
	vmd_pid=
	t0=$(now_ms)
	still=$(keys)
	while [ -n "$(keys)" ] && [ $(( $(now_ms) - t0 )) -lt 6000 ]; do sleep 0.2; done
	gone_ms=$(( $(now_ms) - t0 ))
	if [ -n "$still" ] && [ -z "$(keys)" ] && [ "$gone_ms" -le 4000 ]; then
		ok "kill -9: the key stays until its lease expires, gone after ${gone_ms} ms (TTL 2 s)"
	else
		not_ok "kill -9: the key gone within TTL + 2 s (present after the kill: '$still', gone after ${gone_ms} ms)"
	fi
else
	not_ok "kill -9: vmd did not start or register"; show_log "$log"
fi

# --- etcd away or answering garbage --------------------------------------------------
dead=$(free_port)
log=$work/vmd-dead.log
t0=$(now_ms)
timeout 10 "$bin/vmd" -a 127.0.0.1 -p "$(free_port)" --tcp -m 64 --etcd "http://127.0.0.1:$dead" 2> "$log"
rc=$?
if [ "$rc" -eq 1 ] && [ $(( $(now_ms) - t0 )) -lt 5000 ] &&
   grep -q "error: etcd at http://127.0.0.1:$dead: cannot register .*: /v3/lease/grant: " "$log" &&
   ! grep -q serving "$log"; then
	ok "etcd not reachable at start: a clear error, exit 1"
else
	not_ok "etcd not reachable at start: a clear error, exit 1 (exit $rc)"; show_log "$log"
fi

python3 "$here/fake-etcd.py" garbage "$work/fake-port" &
fake_pid=$!
pids="$pids $fake_pid"
for i in $(seq 50); do [ -s "$work/fake-port" ] && break; sleep 0.1; done
fake=http://127.0.0.1:$(cat "$work/fake-port")
bad=0
for i in 1 2 3 4 5 6; do
	log=$work/vmd-garbage-$i.log
	timeout 10 "$bin/vmd" -a 127.0.0.1 -p "$(free_port)" --tcp -m 64 --etcd "$fake" 2> "$log"
	rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "error: etcd at $fake: cannot register" "$log"; then
		bad=1; echo "# exit $rc"; show_log "$log"
	fi
	grep -h 'error: etcd' "$log" | sed 's/^/#   /'
done
if [ "$bad" -eq 0 ]; then
	ok "a fake etcd answering garbage at start: a clear message each time, exit 1, no crash"
else
	not_ok "a fake etcd answering garbage at start: a clear message each time, exit 1, no crash"
fi
kill "$fake_pid"; wait "$fake_pid" 2>/dev/null; fake_pid=
rm -f "$work/fake-port"

python3 "$here/fake-etcd.py" flaky "$work/fake-port" &
fake_pid=$!
pids="$pids $fake_pid"
for i in $(seq 50); do [ -s "$work/fake-port" ] && break; sleep 0.1; done
fake=http://127.0.0.1:$(cat "$work/fake-port")
log=$work/vmd-flaky.log
if start_vmd "$log" --etcd "$fake" --etcd-ttl 2 --domain fake -v; then
	sleep 4		# about 6 keepalives, each answered with garbage
	grep -h 'etcd: ' "$log" | sed 's/^/#   /' | head -n 20
	if kill -0 "$vmd_pid" && "$tbin/vmd-client" --hello --size 1 127.0.0.1 "$port" > "$work/out" 2>&1 &&
	   [ "$(grep -c 'etcd: lost: /v3/lease/keepalive: .*still serving clients' "$log")" -eq 1 ] &&
	   [ "$(grep -c 'etcd: still lost' "$log")" -ge 3 ] &&
	   kill -TERM "$vmd_pid" && wait "$vmd_pid"; then
		ok "a fake etcd answering keepalives with garbage: logged once, vmd serves on and stops cleanly"
	else
		not_ok "a fake etcd answering keepalives with garbage: logged once, vmd serves on and stops cleanly"
		sed 's/^/#   /' "$work/out"; show_log "$log"
	fi
	vmd_pid=
else
	not_ok "vmd with a flaky fake etcd did not start"; show_log "$log"
fi

[ "$n" -eq "$PLAN" ] || { echo "# ran $n of $PLAN checks"; failed=1; }
exit $failed
