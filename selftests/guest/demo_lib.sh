# Helpers of selftests/guest/demo.sh (sourced after tap.sh): each part of
# the demo as a TAP result with its output shown, donors, condensed
# `empctl stat --watch` lines, and the closing per-tier table read from
# emp.ko's tracepoints.

DEMO_TRACE=/sys/kernel/tracing
DEMO_FAILED=

# demo_part TITLE: a heading.
demo_part() { echo; echo "==== $* ===="; }

# demo_check DESC CMD...: run CMD, its output indented as it comes, then
# ok/not ok DESC. A failure is remembered for the closing line.
demo_check() {
	_d=$1; shift
	rm -f /tmp/demo.rc
	{ "$@" 2>&1; echo $? > /tmp/demo.rc; } | sed 's/^/    /'
	if [ "$(cat /tmp/demo.rc 2>/dev/null)" = 0 ]; then
		tap_ok "$_d"
	else
		tap_not_ok "$_d"
		DEMO_FAILED="${DEMO_FAILED:+$DEMO_FAILED; }$_d"
	fi
}

# demo_show CMD...: print "$ CMD" and run it (output indented by demo_check).
demo_show() { echo "\$ $*"; "$@"; }

# demo_rxe_up: Soft-RoCE device rxe0 on eth0, ACTIVE, shown.
demo_rxe_up() { rxe_load && rxe_up && rdma link show rxe0/1; }

# demo_vmd LOG ARGS...: start a donor in the background (its pid added to
# /tmp/demo-vmds: demo_check runs this in a subshell) and wait until it
# serves (vmd_start of lib_remote.sh).
demo_vmd() {
	_log=$1
	shift
	echo "\$ vmd $* &"
	# Not into demo_check's pipe, which would stay open while vmd runs.
	vmd_start "$_log" "$@" > /dev/null || { cat "$_log"; return 1; }
	echo "$VMD" >> /tmp/demo-vmds
	cat "$_log"
}

# demo_condense LABEL: one line per report of `empctl stat --watch` (text).
demo_condense() {
	awk -v label="$1" '
		/^---- / { line = sprintf("%-4s %s", label, $3); next }
		$1 == "faults" || $1 == "hits" || $1 == "fetches" || $1 == "evictions" {
			rate = NF > 2 ? $3 : ""
			line = line sprintf("  %s %s%s", $1, $2, rate != "" ? " " rate : "")
		}
		$1 == "resident" { line = line sprintf("  resident %s %s", $2, $3) }
		$1 == "fault" && $2 == "latency" {
			sub(/^fault latency */, "")
			print line "  latency " $0
			fflush()
		}'
}

# demo_watch_start NAME SECS LABEL: `empctl stat NAME --watch SECS` in the
# background, condensed; demo_watch_stop ends it.
demo_watch_start() {
	echo "\$ empctl stat $1 --watch $2   (condensed: one line per report)"
	( empctl stat "$1" --watch "$2" 2>/dev/null & echo $! > /tmp/demo-watch.pid; wait ) |
		demo_condense "$3" &
	DEMO_WATCH=$!
}
demo_watch_stop() {
	kill "$(cat /tmp/demo-watch.pid)" 2>/dev/null
	wait "$DEMO_WATCH"
}

# demo_trace_on: record emp_fetch, emp_writeback and the emp_fault events
# of faults that were not hits, with the monotonic clock (the one emp.ko
# times faults with), in a buffer large enough for the whole demo.
demo_trace_on() {
	[ -e $DEMO_TRACE/trace ] || mount -t tracefs nodev $DEMO_TRACE || return 1
	[ -d $DEMO_TRACE/events/emp ] || { echo "no emp events in $DEMO_TRACE"; return 1; }
	echo 0 > $DEMO_TRACE/tracing_on &&
	echo mono > $DEMO_TRACE/trace_clock &&
	echo 16384 > $DEMO_TRACE/buffer_size_kb &&
	echo > $DEMO_TRACE/trace &&
	echo 'hit == 0' > $DEMO_TRACE/events/emp/emp_fault/filter &&
	for e in emp_fault emp_fetch emp_writeback; do
		echo 1 > $DEMO_TRACE/events/emp/$e/enable || return 1
	done &&
	echo 1 > $DEMO_TRACE/tracing_on &&
	echo "tracing emp:emp_fault (hit == 0), emp:emp_fetch, emp:emp_writeback"
}

# demo_trace_off: stop recording; fails if the buffer lost events.
demo_trace_off() {
	echo 0 > $DEMO_TRACE/tracing_on
	echo 0 > $DEMO_TRACE/events/emp/enable
	_lost=$(cat $DEMO_TRACE/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ { n += $2 } END { print n + 0 }')
	echo "trace: $(grep -vc '^#' $DEMO_TRACE/trace) events, $_lost lost"
	[ "$_lost" = 0 ]
}

# demo_tier_sums LAYOUT OUT LAT: from the trace, per tier of the instances
# in LAYOUT (lines "INSTANCE BLOCK SUBBLOCK INDEX KIND TARGET FROM_MIB TO_MIB"):
# subblocks fetched and written back (OUT: "INSTANCE INDEX FETCHED WRITTEN
# WAITS"), and the time of each fault that waited for a fetch from the tier
# (LAT: "INSTANCE INDEX NS"). Such a fault is a non-hit emp_fault whose
# subblock's emp_fetch completed while it ran; the others were zero fills.
demo_tier_sums() {
	awk -v out="$2" -v lat="$3" '
		FNR == NR {
			k = $1 SUBSEP $4
			bs[$1] = $2; ss[$1] = $3; nt[$1] = $4 + 1
			lo[k] = $7 * 1048576; hi[k] = $8 * 1048576
			next
		}
		function tier(inst, off,   i) {
			for (i = 0; i < nt[inst]; i++)
				if (off >= lo[inst, i] && off < hi[inst, i])
					return i
			return -1
		}
		/^#/ { next }
		{
			for (f = 2; f <= NF; f++)
				if ($f ~ /^emp_(fault|fetch|writeback):$/)
					break
			if (f > NF)
				next
			ev = $f; ts = $(f - 1); sub(/:$/, "", ts); ts += 0
			for (i = f + 1; i <= NF; i++) {
				split($i, p, "=")
				kv[p[1]] = p[2]
			}
			inst = kv["inst"]
			if (!(inst in bs))
				next
		}
		ev == "emp_fetch:" && kv["err"] == 0 {
			t = tier(inst, kv["block"] * bs[inst] + kv["sub"] * ss[inst])
			fetched[inst, t] += kv["nr"]
			for (s = kv["sub"]; s < kv["sub"] + kv["nr"]; s++)
				done[inst, kv["block"], s] = ts
		}
		ev == "emp_writeback:" && kv["err"] == 0 {
			t = tier(inst, kv["block"] * bs[inst] + kv["sub"] * ss[inst])
			written[inst, t] += kv["nr"]
		}
		ev == "emp_fault:" && kv["hit"] == 0 {
			off = kv["pgoff"] * 4096
			k = inst SUBSEP int(off / bs[inst]) SUBSEP int((off % bs[inst]) / ss[inst])
			if ((k in done) && done[k] >= ts - kv["ns"] / 1e9 - 0.000002) {
				t = tier(inst, off)
				print inst, t, kv["ns"] > lat
				waits[inst, t]++
				delete done[k]
			}
		}
		END {
			for (inst in nt)
				for (i = 0; i < nt[inst]; i++)
					print inst, i, fetched[inst, i] + 0, written[inst, i] + 0,
					      waits[inst, i] + 0 > out
		}' "$1" $DEMO_TRACE/trace
}

# demo_tier_table LAYOUT: the closing table, one line per tier.
demo_tier_table() {
	: > /tmp/demo-lat
	demo_tier_sums "$1" /tmp/demo-sums /tmp/demo-lat || return 1
	sort -k1,1 -k2,2n -k3,3n /tmp/demo-lat > /tmp/demo-lat.sorted
	awk '
		function t(ns) {
			if (ns == "")
				return "-"
			if (ns >= 999500)
				return sprintf("%.1f ms", ns / 1000000)
			return sprintf("%.0f us", ns / 1000)
		}
		FILENAME ~ /layout/ { row[++n] = $1 SUBSEP $4; kind[$1, $4] = $5; tgt[$1, $4] = $6
				      size[$1, $4] = $8 - $7; next }
		FILENAME ~ /sums/ { f[$1, $2] = $3; w[$1, $2] = $4; nw[$1, $2] = $5; next }
		{
			k = $1 SUBSEP $2; i = ++seen[k]
			if (i == int((nw[k] + 1) / 2)) p50[k] = $3
			if (i == int((nw[k] * 99 + 99) / 100)) p99[k] = $3
		}
		END {
			fmt = "%-9s %-4s %-5s %-17s %7s %9s %11s %10s %10s %11s\n"
			printf fmt, "INSTANCE", "TIER", "KIND", "DONOR OR DEVICE", "SIZE", "FETCHES",
			       "FETCH WAITS", "P50 FETCH", "P99 FETCH", "WRITEBACKS"
			for (r = 1; r <= n; r++) {
				k = row[r]; split(k, a, SUBSEP)
				printf fmt, a[1], a[2], kind[k], tgt[k], size[k] " MiB", f[k] + 0, nw[k] + 0,
				       t(p50[k]), t(p99[k]), w[k] + 0
			}
		}' "$1" /tmp/demo-sums /tmp/demo-lat.sorted
}

# demo_tiers_agree NAME JSON: the trace's subblocks per tier of instance
# NAME (demo_tier_sums) are the ones its counters (empctl stat --json,
# saved in JSON) show.
demo_tiers_agree() {
	[ -s "$2" ] || { echo "no counters in $2"; return 1; }
	awk -v name="$1" -v sums=/tmp/demo-sums '
		BEGIN {
			while ((getline l < sums) > 0) {
				split(l, a, " ")
				if (a[1] == name) { f[a[2]] = a[3]; w[a[2]] = a[4] }
			}
		}
		{
			match($0, /"subblock_size":[0-9]+/)
			sub_sz = substr($0, RSTART + 16, RLENGTH - 16)
			n = split($0, part, /[{]"index":/)
			for (i = 2; i <= n; i++) {
				idx = part[i] + 0
				match(part[i], /"read_bytes":[0-9]+/)
				rd = substr(part[i], RSTART + 13, RLENGTH - 13) / sub_sz
				match(part[i], /"write_bytes":[0-9]+/)
				wr = substr(part[i], RSTART + 14, RLENGTH - 14) / sub_sz
				printf "tier %d: counters %d fetched, %d written back; trace %d, %d\n",
				       idx, rd, wr, f[idx], w[idx]
				if (rd != f[idx] || wr != w[idx])
					bad = 1
			}
		}
		END { exit bad || n < 2 }' "$2"
}

# demo_cpus_offline / demo_cpus_online: one vCPU while KVM is loaded and
# used, as kvm_emp.sh does. Under multi-threaded TCG, the kernel patching
# its text for KVM (static keys such as the preempt notifiers' when a vCPU
# is made) has left stale int3s that another vCPU then ran into (an int3
# Oops in finish_task_switch, seen once in this demo), and KVM's VM
# teardown has soft-locked waiting on the other vCPU.
demo_cpus_offline() {
	DEMO_CPUS_OFF=
	for _c in /sys/devices/system/cpu/cpu[1-9]*; do
		[ -w "$_c/online" ] && [ "$(cat "$_c/online")" = 1 ] || continue
		echo 0 > "$_c/online" 2>/dev/null && DEMO_CPUS_OFF="$DEMO_CPUS_OFF $_c"
	done
}
demo_cpus_online() {
	for _c in $DEMO_CPUS_OFF; do echo 1 > "$_c/online"; done
	DEMO_CPUS_OFF=
}
