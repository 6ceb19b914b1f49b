#!/bin/sh
# Cluster mode on etcd (issue 19 item 4) in one guest: a real etcd
# (Debian's etcd-server; data on tmpfs) on 127.0.0.1:2379 and three vmds on
# the loopback addresses 127.0.0.2..4 (Linux routes all of 127/8 to lo), in
# failure domains d1..d3, 64 MiB each, registered with a 3 s lease.
#   registry: the three keys and their JSON values; a fourth vmd (used by no
#     instance) killed with -9 leaves its key until the lease expires, and
#     stopped with SIGTERM removes it at once.
#   placement (empctl create/destroy --etcd, spec cluster:SIZE): spread over
#     donors, recorded and reserved in etcd, released by destroy; four
#     concurrent placements never oversubscribe a donor and those that do not
#     fit say so; hostile donor entries are skipped with a message, no crash;
#     data through evictions to the donors; a donor killed: emp.ko goes idle
#     and the instance gets SIGBUS there; etcd gone: instances work on, new
#     placements fail clearly.
#   the other tools: emp-qemu (a stand-in for QEMU) and the preload library
#     place and release; `empctl cluster gc` releases what a crash left.
#   replication (replicas=2): a workload runs on while a donor of each copy
#     is killed in turn, the first copy moved to a spare donor by `empctl
#     cluster watch` and filled by emp.ko in between: no SIGBUS, every page
#     read checked.
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh

EP=http://127.0.0.1:2379
PORT=19675
MIB=1048576
CAP=$((64 * MIB))
W=/tmp/cluster
LOAD=/emp/tests/emp_demo_load
HOST=guest1
export EMP_CLUSTER_HOST=$HOST
ETCD_PID= V1= V2= V3= V4= WATCH=
rm -rf $W
mkdir -p $W

# --- helpers -----------------------------------------------------------------
# etcd is read with etcdctl (its own client, not the HTTP gateway our tools
# use); a snapshot of everything under /emp/v1/ in $W/snap (key and value
# lines) serves each check, as every etcdctl run costs a few tenths of a
# second under TCG.
ectl() { ETCDCTL_API=3 /usr/bin/etcdctl --endpoints $EP --dial-timeout 2s --command-timeout 5s "$@"; }
keys() { ectl get --prefix "$1" --keys-only | grep -v '^$'; }
snap() { ectl get --prefix /emp/v1/ > $W/snap; }
sval() { awk -v k="$1" 'p { print; exit } $0 == k { p = 1 }' $W/snap; }	# KEY's value in it
skeys() { awk -v k="$1" 'NR % 2 && index($0, k) == 1' $W/snap; }	# its keys under PREFIX
# Values of the snapshot's keys under PREFIX, one a line.
svals() { awk -v k="$1" 'p { print; p = 0; next } NR % 2 && index($0, k) == 1 { p = 1 }' $W/snap; }
# put_all FILE: every "KEY VALUE" line of FILE put in one transaction, through
# the v3 gateway (keys and values in base64: any bytes, any size).
put_all() {
	local k v sep=
	{
		printf '{"success":['
		while read -r k v; do
			printf '%s{"request_put":{"key":"%s","value":"%s"}}' "$sep" \
				"$(printf %s "$k" | base64 | tr -d '\n')" "$(printf %s "$v" | base64 | tr -d '\n')"
			sep=,
		done < "$1"
		printf ']}'
	} > $W/txn.json
	wget -q -O $W/txn.out --header 'Content-Type: application/json' --post-file $W/txn.json \
		$EP/v3/kv/txn && grep -q '"succeeded":true' $W/txn.out
}
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# Fields of a flat JSON object on standard input (busybox sed).
jnum() { sed -n 's/.*"'"$1"'":\(-\{0,1\}[0-9][0-9]*\)[,}].*/\1/p'; }
jstr() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p'; }


# A failure that is not a crash: exit status 1..127 and a message naming WHAT.
clear_failure() {	# clear_failure RC WHAT FILE
	[ "$1" -ne 0 ] && [ "$1" -lt 128 ] && grep -qi "$2" "$3" && return 0
	echo "exit status $1, want 1..127 and a message naming '$2' in:"; cat "$3"
	return 1
}

etcd_start() {
	local i
	/usr/bin/etcd --name emp-guest --data-dir $W/etcd --listen-client-urls $EP \
		--advertise-client-urls $EP --listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster emp-guest=http://127.0.0.1:2380 \
		--logger zap --log-level warn > $W/etcd.log 2>&1 &
	ETCD_PID=$!
	for i in $(seq 150); do
		ectl endpoint health > /dev/null 2>&1 && return 0
		kill -0 $ETCD_PID 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 $W/etcd.log
	return 1
}

# Donor I (1..4): 127.0.0.(I+1):PORT in domain dI; its pid in V1..V4.
daddr() { echo 127.0.0.$(($1 + 1)); }
dkey() { echo /emp/v1/donors/d$1/$(daddr $1):$PORT; }
vpid() { eval "echo \$V$1"; }
vmd_up() {	# (a log of an earlier vmd I would say "serving" at once)
	rm -f $W/vmd$1.log
	vmd_start $W/vmd$1.log -m 64 -p $PORT -a "$(daddr $1)" --tcp --domain d$1 \
		--etcd $EP --etcd-ttl 3 || return 1
	eval "V$1=\$VMD"
}
vmd_down() {	# vmd_down I SIGNAL: and wait for it; its exit status
	local p rc
	p=$(vpid $1)
	[ -n "$p" ] || return 0
	kill -"$2" "$p" 2>/dev/null
	wait "$p"
	rc=$?
	eval "V$1="
	return $rc
}
# The donor index of ADDR (127.0.0.2 -> 1).
dindex() { echo $((${1##*.} - 1)); }

# donor_ok I: donor I's value in the snapshot, as vmd registers it.
donor_ok() {
	local v
	v=$(sval "$(dkey $1)")
	echo "$(dkey $1): $v"
	[ "$(echo "$v" | jnum version)" = 1 ] && [ "$(echo "$v" | jstr addr)" = "$(daddr $1)" ] &&
	[ "$(echo "$v" | jnum port)" = $PORT ] && [ "$(echo "$v" | jnum capacity)" = $CAP ] &&
	[ "$(echo "$v" | jnum free)" = $CAP ] && [ "$(echo "$v" | jstr domain)" = d$1 ] &&
	[ "$(echo "$v" | jnum pid)" = "$(vpid $1)" ] && echo "$v" | grep -q '"transports":\["tcp"\]'
}

# Pieces of placement records on standard input, "ADDR PORT BYTES" a line.
pieces_of() {
	sed 's/.*"pieces":\[//' | grep -o '{[^{}]*}' | while read -r p; do
		echo "$(echo "$p" | jstr addr) $(echo "$p" | jnum port) $(echo "$p" | jnum bytes)"
	done
}
# pieces NAME: the pieces of NAME's placement record (a fresh snapshot).
pieces() {
	snap
	sval /emp/v1/placements/$HOST/$1 > $W/rec.$1
	grep -q '"version":1[,}]' $W/rec.$1 || { echo "no version 1 record for $1:"; cat $W/rec.$1; return 1; }
	pieces_of < $W/rec.$1
}
# Bytes reserved on donor ADDR:PORT in the snapshot (0 without a record).
reserved() {
	local v
	v=$(sval /emp/v1/reserved/$1)
	[ -n "$v" ] || { echo 0; return; }
	echo "$v" | grep -q '"version":1[,}]' || { echo "bad:$v"; return; }
	echo "$v" | jnum bytes
}

# Per donor: reserved = the placement records' pieces there <= capacity, and
# vmd's own free bytes (its sessions) = capacity - reserved, within 3 s.
books_agree() {
	local i a r p f bad
	for _ in $(seq 30); do
		snap
		svals /emp/v1/placements/ | pieces_of > $W/placed
		: > $W/books
		bad=0
		for i in 1 2 3; do
			a=$(daddr $i)
			r=$(reserved $a:$PORT)
			p=$(awk -v a=$a -v p=$PORT '$1 == a && $2 == p { s += $3 } END { print s + 0 }' $W/placed)
			f=$(sval "$(dkey $i)" | jnum free)
			echo "donor $i: reserved $r, in placement records $p, free (vmd) $f" >> $W/books
			[ "$r" = "$p" ] && [ "$r" -le $CAP ] && [ "$f" = $((CAP - r)) ] 2>/dev/null || bad=1
		done
		[ $bad = 0 ] && break
		sleep 0.1
	done
	cat $W/books
	return $bad
}

place() { tap_check "$@"; }

cleanup() {
	local n i
	[ -z "$WATCH" ] || { kill $WATCH; wait $WATCH; WATCH=; }
	for n in c1 q1 q2 q3 q4 h h2 p g vmq rp r s; do
		[ -e /dev/emp-$n ] || continue
		empctl destroy $n --etcd $EP > /dev/null 2>&1 || empctl destroy $n > /dev/null 2>&1
	done
	for i in 1 2 3 4; do vmd_down $i TERM; done
	[ -z "$ETCD_PID" ] || { kill $ETCD_PID; wait $ETCD_PID; ETCD_PID=; }
	rm -rf $W	# etcd preallocates 128 MiB of write-ahead log there, in RAM
}

PLAN=22
tap_plan $PLAN

# --- etcd and the donors ---------------------------------------------------------
# /emp/cluster names what mkinitramfs.sh put in for this test.
missing=
for f in $(cat /emp/cluster 2>/dev/null || echo /emp/cluster); do [ -e "$f" ] || missing="$missing $f"; done
if [ -n "$missing" ] || ! tap_check "etcd serves on $EP, data on tmpfs" etcd_start; then
	[ -z "$missing" ] || tap_not_ok "etcd: not in the initramfs:$missing (scripts/lib.sh emp_cluster_files)"
	while [ $_tap_n -lt $PLAN ]; do tap_not_ok "no etcd"; done
	cleanup
	tap_exit
fi

three_up() {
	vmd_up 1 && vmd_up 2 && vmd_up 3 || return 1
	keys /emp/v1/donors/ > $W/keys
	cat $W/keys
	[ "$(cat $W/keys)" = "$(dkey 1; dkey 2; dkey 3)" ]
}
tap_check "three vmds on 127.0.0.2..4 serve and register under /emp/v1/donors/" three_up

registered() {
	local i
	snap
	for i in 1 2 3; do donor_ok $i || return 1; done
	[ "$(ectl get --prefix /emp/v1/donors/ -w json | grep -o '"lease":[1-9]' | wc -l)" = 3 ] ||
		{ echo "not all under a lease"; return 1; }
}
tap_check "each donor's value: version 1, address, port, tcp, 64 MiB capacity and free, domain, pid; under a lease" \
	registered

# --- a donor dies, a donor stops ---------------------------------------------------
# A fourth vmd (127.0.0.5, domain d4), used by no instance.
killed() {
	local t0 still gone=
	vmd_up 4 || return 1
	vmd_down 4 KILL
	t0=$(now_ms)
	still=$(keys "$(dkey 4)")
	while [ $(($(now_ms) - t0)) -lt 12000 ]; do
		[ -z "$(keys "$(dkey 4)")" ] && { gone=$(($(now_ms) - t0)); break; }
		sleep 0.2
	done
	# Present at the first look (a few tenths of a second after the kill)
	# unless the lease was about to expire anyway: not required.
	echo "key at the first look after the kill: '$still'; gone after ${gone:-more than 12000} ms"
	[ -n "$gone" ] && return 0
	ectl get --prefix /emp/v1/donors/ -w json
	return 1
}
tap_check "kill -9 of a vmd: its key goes when its lease (3 s) expires, within 12 s" killed

stopped() {
	local rc
	vmd_up 4 || return 1
	vmd_down 4 TERM
	rc=$?
	[ $rc = 0 ] || { echo "vmd exit status $rc"; return 1; }
	[ -z "$(keys "$(dkey 4)")" ] || { echo "the key is still there"; return 1; }
	grep -q "etcd: $(dkey 4) removed" $W/vmd4.log || { cat $W/vmd4.log; return 1; }
}
tap_check "SIGTERM to a vmd: exit 0, its key is gone at once" stopped

# --- placement -------------------------------------------------------------------
spread() {
	local sizes
	run 0 empctl create c1 --spec "cluster:48M|dram:2M" --etcd $EP || return 1
	pieces c1 > $W/c1 || return 1
	cat $W/rec.c1
	[ "$(awk '{ s += $3 } END { print s }' $W/c1)" = $((48 * MIB)) ] ||
		{ echo "the pieces do not add up to 48 MiB"; return 1; }
	[ "$(cut -d' ' -f1 $W/c1 | sort -u | wc -l)" -ge 2 ] || { echo "on one donor"; return 1; }
	awk -v p=$PORT '$1 !~ /^127\.0\.0\.[234]$/ || $2 != p { exit 1 }' $W/c1 ||
		{ echo "a piece on no registered donor"; return 1; }
	# The instance's tiers are those pieces, over TCP.
	run 0 empctl stat c1 --json > /dev/null || return 1
	sed 's/.*"tiers":\[//' /tmp/o | grep -o '{[^{}]*}' > $W/c1.tiers
	sizes=$(jnum size < $W/c1.tiers | sort -n | tr '\n' ' ')
	! grep -qv '"kind":"tcp"' $W/c1.tiers &&
	[ "$sizes" = "$(cut -d' ' -f3 $W/c1 | sort -n | tr '\n' ' ')" ] ||
		{ echo "tiers are not the pieces:"; cat $W/c1.tiers; return 1; }
	books_agree
}
place "create cluster:48M --etcd: tcp tiers on 2+ donors, recorded, reserved, the donors' own books agree" spread

release() {
	local a
	run 0 empctl destroy c1 --etcd $EP || return 1
	[ ! -e /dev/emp-c1 ] || { echo "/dev/emp-c1 is still there"; return 1; }
	books_agree || return 1
	[ -z "$(skeys /emp/v1/placements/$HOST/c1)" ] || { echo "the record is still there"; return 1; }
	for a in $(cut -d' ' -f1 $W/c1 | sort -u); do
		[ "$(reserved $a:$PORT)" = 0 ] || { echo "$a: $(reserved $a:$PORT) still reserved"; return 1; }
	done
}
place "destroy --etcd: the record goes, the reservations and the donors' memory come back" release

# Four placements of 64 MiB at once on 3 x 64 MiB: one at least cannot fit.
concurrent() {
	local i rc made= bad=0
	for i in 1 2 3 4; do
		empctl create q$i --spec "cluster:64M|dram:2M" --etcd $EP > $W/q$i.out 2>&1 &
		eval "Q$i=\$!"
	done
	for i in 1 2 3 4; do
		eval "wait \$Q$i"
		echo $? > $W/q$i.rc
	done
	snap
	for i in 1 2 3 4; do
		rc=$(cat $W/q$i.rc)
		sed "s/^/q$i: /" $W/q$i.out
		if [ "$rc" = 0 ]; then
			made="$made q$i"
			[ "$(sval /emp/v1/placements/$HOST/q$i | pieces_of | awk '{ s += $3 } END { print s }')" = $CAP ] ||
				{ echo "q$i: no record of 64 MiB"; bad=1; }
		else
			clear_failure "$rc" capacity $W/q$i.out || bad=1
			[ ! -e /dev/emp-q$i ] && [ -z "$(skeys /emp/v1/placements/$HOST/q$i)" ] ||
				{ echo "q$i failed but left its instance or record"; bad=1; }
		fi
	done
	echo "placed:$made"
	echo "$made" > $W/made
	set -- $made
	[ $# -ge 1 ] && [ $# -le 3 ] || { echo "$# of 4 placed"; bad=1; }
	books_agree || bad=1
	return $bad
}
place "four concurrent placements of 64 MiB on 3 x 64 MiB: no donor oversubscribed, the misfits fail naming capacity" \
	concurrent

# The placed ones hold data through evictions (2 MiB of DRAM), then go:
# pages rewritten at random in 8 MiB at the start, middle and end (on every
# donor), each read checked, all read back at the end (emp_phase_load).
concurrent_data() {
	local n bad=0
	for n in $(cat $W/made); do
		/emp/tests/emp_phase_load $n 0.3:8@0 0.3:8@28 0.3:8@56 > $W/$n.load 2>&1 &
		eval "L$n=\$!"
	done
	for n in $(cat $W/made); do
		eval "wait \$L$n" || { echo "$n: data check failed"; bad=1; }
		cat $W/$n.load
	done
	for n in $(cat $W/made); do run 0 empctl destroy $n --etcd $EP || bad=1; done
	books_agree || bad=1
	[ -z "$(skeys /emp/v1/placements/)" ] || { echo "records left"; skeys /emp/v1/placements/; bad=1; }
	return $bad
}
place "the concurrently placed instances pass a data check, then destroy releases them all" concurrent_data

# Hostile donor entries: placement skips each, naming it, and still places on
# the three good donors; no crash, no flood of output. First values that are
# malformed or absurd, then one of 300 KB added to them.
EVIL=/emp/v1/donors/evil/127.0.0.9
evil_put() {
	local f='"transports":["tcp"],"domain":"evil","pid":1' c='"capacity":67108864,"free":67108864'
	sed "s,^,$EVIL:," > $W/evil <<-EOF
	1 not json
	2 {"version":1,"addr":127,"port":"2","transports":"tcp","capacity":"67108864","free":true,"domain":["x"],"pid":"1"}
	3 {"version":1,"addr":"127.0.0.9","port":3,$f,"capacity":"-1","free":"-1"}
	4 {"version":1,"addr":"127.0.0.9","port":4,$f,"capacity":-1,"free":-1}
	5 {"version":1,"addr":"127.0.0.9","port":5,$f,"capacity":1e30,"free":1e30}
	6 {"version":1,"addr":"127.0.0.9","port":6,$f,"capacity":18446744073709551616,"free":18446744073709551616}
	7 {"version":99,"addr":"127.0.0.9","port":7,$f,$c}
	8 {"version":1,"addr":"127.0.0.9","port":70000,$f,$c}
	9 {"version":1,"addr":"127.0.0.9","port":9,$f,"capacity":67108864,"free":1099511627776}
	10 {"version":1,"version":1,"addr":"127.0.0.9","port":10,$f,$c}
	11 {"version":1,"addr":"$(printf '\001\377\033[2J')","port":11,$f,$c}
	12 {"version":1}
	13 {"version":1,"addr":"not-an-address","port":13,$f,$c}
	14
	15 $(head -c 4000 /dev/zero | tr '\0' '[')
	EOF
	put_all $W/evil
}
# hostile_place NAME N: NAME placed on the good donors, entries 1..N each named.
hostile_place() {
	local k rc bad=0
	empctl create $1 --spec "cluster:16M|dram:2M" --etcd $EP > /tmp/o 2> /tmp/e
	rc=$?
	head -c 4000 /tmp/o; head -c 4000 /tmp/e
	[ $rc = 0 ] || { echo "exit status $rc"; bad=1; }
	for k in $(seq $2); do
		grep -Eq "evil/127\.0\.0\.9:$k([^0-9]|\$)" /tmp/e || { echo "nothing says $EVIL:$k was skipped"; bad=1; }
	done
	[ "$(wc -c < /tmp/e)" -lt 16384 ] || { echo "$(wc -c < /tmp/e) bytes of messages"; bad=1; }
	[ $rc = 0 ] || return 1
	pieces $1 > $W/$1 || return 1
	awk -v p=$PORT '$1 !~ /^127\.0\.0\.[234]$/ || $2 != p { exit 1 }' $W/$1 ||
		{ echo "placed on an evil entry:"; cat $W/$1; bad=1; }
	[ "$(awk '{ s += $3 } END { print s }' $W/$1)" = $((16 * MIB)) ] || bad=1
	run 0 empctl destroy $1 --etcd $EP || bad=1
	return $bad
}
hostile() {
	evil_put || { echo "the transaction failed:"; cat $W/txn.out; return 1; }
	hostile_place h 15
}
place "hostile donor entries (not JSON, wrong types, negative, 1e30, 2^64, version 99, bad port, duplicate, control bytes, missing fields, empty, deep nesting): each skipped with a message, no crash, placed on the good donors" \
	hostile
huge() {
	{ printf '%s {"version":1,"addr":"' $EVIL:16; head -c 300000 /dev/zero | tr '\0' A
	  printf '","port":16,"transports":["tcp"],"domain":"evil","pid":1,"capacity":67108864,"free":67108864}\n'
	} > $W/huge
	put_all $W/huge || { echo "the transaction failed:"; cat $W/txn.out; return 1; }
	hostile_place h2 16
}
place "and a donor entry of 300 KB: skipped with a short message, placement still done" huge
ectl del --prefix /emp/v1/donors/evil/ > /dev/null

# An instance over the donors holds a pattern through evictions.
data() {
	local t
	run 0 empctl create p --spec "cluster:24M|dram:2M" --etcd $EP > /dev/null || return 1
	pieces p > $W/p || return 1
	cat $W/p
	run 0 $LOAD p 1 24 || return 1
	run 0 empctl stat p --json > /dev/null || return 1
	grep -q '"writebacks":[1-9]' /tmp/o && grep -q '"fetches":[1-9]' /tmp/o || return 1
	# Two tiers or more were written and read.
	t=$(sed 's/.*"tiers":\[//' /tmp/o | grep -o '{[^{}]*}' |
		grep '"read_bytes":[1-9]' | grep -c '"write_bytes":[1-9]')
	[ "$t" -ge 2 ] || { echo "$t tiers written and read"; return 1; }
}
place "data: a pattern over all of a 24 MiB placed instance with 2 MiB of DRAM, read back from 2+ donors" data

# A donor of p dies: emp.ko does not spin on the lost connections, and
# touching p where that donor held it gets SIGBUS.
victim=1
[ -s $W/p ] && victim=$(dindex "$(head -n 1 $W/p | cut -d' ' -f1)")
cpu_busy() {	# percent of all CPUs' time busy over the next second
	local a b
	a=$(head -n 1 /proc/stat)
	sleep 1
	b=$(head -n 1 /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '{ idle = $5 + $6; t = 0; for (i = 2; i <= NF; i++) t += $i
		if (NR == 1) { i0 = idle; t0 = t } else print int(100 - 100 * (idle - i0) / (t - t0)) }'
}
donor_lost() {
	local busy
	vmd_down $victim KILL
	sleep 1
	busy=$(cpu_busy)
	echo "CPUs ${busy}% busy 1-2 s after the kill"
	[ "$busy" -lt 50 ] && return 0
	top -b -n 1 | head -n 12
	return 1
}
place "kill -9 of a donor of p: emp.ko's workers go idle (CPUs < 50 % busy a second later)" donor_lost

sigbus() {
	local rc
	$LOAD p 1 24 > /tmp/o 2>&1
	rc=$?
	cat /tmp/o
	[ $rc = 135 ] || { echo "emp_demo_load: exit status $rc, want 135 (SIGBUS)"; return 1; }
	run 0 empctl stat p --json > /dev/null && grep -q '"sigbus":[1-9]' /tmp/o &&
	run 0 empctl destroy p --etcd $EP > /dev/null && snap &&
	[ -z "$(skeys /emp/v1/placements/$HOST/p)" ]
}
place "p touched where the killed donor held it: SIGBUS; destroy --etcd still releases" sigbus

# --- the other tools: emp-qemu, the preload library; the cleanup after a host died ---
# placed_now NAME: NAME's placement record exists (a fresh look).
placed_now() { [ -n "$(keys /emp/v1/placements/$HOST/$1)" ]; }
# all_released: no placement record, nothing reserved on the three donors.
all_released() {
	local i
	snap
	[ -z "$(skeys /emp/v1/placements/)" ] || { echo "records left:"; skeys /emp/v1/placements/; return 1; }
	for i in 1 2 3; do
		[ "$(reserved "$(daddr $i)":$PORT)" = 0 ] ||
			{ echo "donor $i: $(reserved "$(daddr $i)":$PORT) reserved"; return 1; }
	done
}
qemu_placed() {
	# The donor killed above is still in the registry until its lease
	# expires, and a placement may choose it (docs/cluster.md): back up.
	{ [ -n "$(vpid $victim)" ] || vmd_up $victim; } || return 1
	# A stand-in for QEMU: it looks at the registry while "the VM runs".
	printf '#!/bin/sh\nETCDCTL_API=3 /usr/bin/etcdctl --endpoints %s get --prefix /emp/v1/placements/%s/ --keys-only > %s/during\n' \
		$EP $HOST $W > $W/fakeqemu
	chmod +x $W/fakeqemu
	run 0 emp-qemu --emp-qemu $W/fakeqemu --emp-etcd $EP --emp-name vmq \
		--mem-path "cluster:16M|dram:4M" -display none || return 1
	grep -q "/emp/v1/placements/$HOST/vmq" $W/during ||
		{ echo "not placed while it ran:"; cat $W/during; return 1; }
	all_released
}
place "emp-qemu --emp-etcd with a cluster: spec: placed while QEMU runs, released when it ends" qemu_placed

preload_placed() {
	run 0 env EMP_ETCD=$EP EMP_PMEM_STRICT=1 EMP_PMEM_PATH="cluster:48M|dram:8M" \
		LD_PRELOAD=/emp/bin/libemp-preload.so /emp/tests/heap_churn 16 || return 1
	# The watcher destroys the instance, then releases its placement.
	for _ in $(seq 50); do all_released > /dev/null && return 0; sleep 0.1; done
	all_released
}
place "the preload library with EMP_ETCD and a cluster: spec: placed, the heap works, released after" \
	preload_placed

gc_after_crash() {
	run 0 empctl create g --spec "cluster:16M|dram:2M" --etcd $EP > /dev/null || return 1
	# As after a crash: the instance goes, its placement stays.
	run 0 env -u EMP_ETCD empctl destroy g > /dev/null && placed_now g ||
		{ echo "no placement left to clean up"; return 1; }
	run 0 empctl cluster gc --etcd $EP || return 1
	grep -q "released $HOST/g" /tmp/o && all_released
}
place "empctl cluster gc: a placement whose instance is gone (as after a crash) is released" gc_after_crash

# --- replication ---------------------------------------------------------------------
# rp: one piece on two donors of two domains (spread=1, replicas=2), 2 MiB of
# DRAM, a workload reading and rewriting every page, each read checked, for
# 8 s, then every page read back once more (a full-pattern check); `empctl
# cluster watch` runs as a host would run it. Meanwhile: the first copy's
# donor is killed with -9, the watcher moves that copy to a donor outside
# the placement and emp.ko fills it; then the second copy's donor is killed
# too. The workload ends without SIGBUS or a wrong word.
copies() { cat /sys/class/emp/emp-rp/stats/replicas 2>/dev/null; }
# copy_donor N: the donor index of copy N (2 or 4: the field of its peer).
copy_donor() { dindex "$(copies | cut -d' ' -f$1 | cut -d: -f1)"; }
wait_copies() {	# wait_copies PATTERN SECS
	local i
	for i in $(seq $(($2 * 5))); do
		copies | grep -q "$1" && return 0
		sleep 0.2
	done
	echo "copies: $(copies), want $1"
	return 1
}
replicated() {
	local i d1 d2 bad=0
	for i in 1 2 3 4; do [ -n "$(vpid $i)" ] || vmd_up $i || return 1; done
	run 0 empctl create rp --spec "cluster:16M:spread=1,replicas=2|dram:2M" --etcd $EP ||
		return 1
	grep -q '+' /tmp/o || { echo "no replica in the spec"; return 1; }
	wait_copies '^0 .* up .* up$' 5 || return 1
	d1=$(copy_donor 2) d2=$(copy_donor 4)
	echo "copies: $(copies) (donors $d1 and $d2)"
	empctl cluster watch --etcd $EP --interval 0.5 > $W/watch.out 2>&1 &
	WATCH=$!
	$LOAD rp 8 4 > $W/rp.load 2>&1 &
	L=$!
	sleep 3
	vmd_down $d1 KILL
	# The watcher moves the lost copy; emp.ko fills it from the survivor.
	wait_copies '^0 .* up .* up$' 20 || bad=1
	cat $W/watch.out
	grep -q 'filling a new one' $W/watch.out || { echo "the watcher did not repair"; bad=1; }
	echo "copies after the repair: $(copies)"
	vmd_down $d2 KILL
	wait $L
	rc=$?
	cat $W/rp.load
	[ $rc = 0 ] || { echo "the workload: exit status $rc (135: SIGBUS)"; bad=1; }
	run 0 empctl stat rp --json > /dev/null || bad=1
	grep -q '"sigbus":0,' /tmp/o && grep -q '"replicas_lost":2,' /tmp/o &&
		grep -q '"resynced":[1-9]' /tmp/o ||
		{ echo "counters:"; grep -o '"sigbus":[0-9]*\|"replicas_lost":[0-9]*\|"resynced":[0-9]*\|"failovers":[0-9]*' /tmp/o; bad=1; }
	kill $WATCH; wait $WATCH; WATCH=
	run 0 empctl destroy rp --etcd $EP > /dev/null || bad=1
	snap
	[ -z "$(skeys /emp/v1/placements/$HOST/rp)" ] || { echo "the record is still there"; bad=1; }
	for i in 1 2 3 4; do [ -n "$(vpid $i)" ] || vmd_up $i || bad=1; done
	return $bad
}
place "replicas=2: a workload on through kill -9 of one copy's donor, the watcher's repair onto a new donor, then kill -9 of the other's: no SIGBUS, and every page right afterwards" \
	replicated

bad_repair() {
	local rc
	empctl cluster repair nosuch --etcd $EP > /tmp/o 2> /tmp/e
	rc=$?
	cat /tmp/o /tmp/e
	clear_failure $rc nosuch /tmp/e
}
place "empctl cluster repair of no instance: a clear failure" bad_repair

# --- etcd gone ------------------------------------------------------------------------
etcd_gone_existing() {
	{ [ -n "$(vpid $victim)" ] || vmd_up $victim; } &&
	run 0 empctl create r --spec "cluster:12M|dram:2M" --etcd $EP > /dev/null &&
	run 0 $LOAD r 0.3 12 > /dev/null || return 1
	kill -KILL $ETCD_PID
	wait $ETCD_PID
	ETCD_PID=
	run 0 $LOAD r 0.5 12
}
place "etcd killed: an instance placed before works on (data check through the donors)" etcd_gone_existing

etcd_gone_new() {
	local rc t0
	t0=$(now_ms)
	empctl create s --spec "cluster:16M|dram:2M" --etcd $EP > /tmp/o 2> /tmp/e
	rc=$?
	cat /tmp/o /tmp/e
	clear_failure $rc etcd /tmp/e || return 1
	[ ! -e /dev/emp-s ] || { echo "/dev/emp-s exists"; return 1; }
	[ $(($(now_ms) - t0)) -lt 20000 ] || { echo "took $(($(now_ms) - t0)) ms"; return 1; }
}
place "etcd killed: a new placement fails at once with a message naming etcd" etcd_gone_new

all_gone() {
	cleanup
	ls /sys/class/emp 2>/dev/null | grep . && return 1
	! cat /proc/[0-9]*/comm 2>/dev/null | grep -x 'vmd\|etcd'
}
tap_check "clean up: instances destroyed, vmds and etcd stopped" all_gone
tap_exit
