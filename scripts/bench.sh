#!/usr/bin/env bash
# make bench: EMP against what a user would pick instead, in ONE guest run
# (same kernel, vCPUs, memory and NVMe disk for every contender). See
# docs/bench.md for what each number means.
#
#   scripts/bench.sh                 KVER (default 6.12); results under
#                                    $EMP_BENCH_DIR (default $EMP_CACHE/bench)
#   EMP_BENCH_ARGS=SWAP_WS=32,TPUT_SECS=1 scripts/bench.sh   smaller/larger runs
#   scripts/bench.sh --report DIR    only redo the tables of an earlier run
#
# Prints the tables; writes DIR/results.json (+ results.jsonl, table.txt,
# bench.png when gnuplot is installed) in DIR = $EMP_BENCH_DIR/LINE-DATE, and
# points $EMP_BENCH_DIR/latest at it. Exits nonzero only when scenarios did
# not run; speed never fails it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=${KVER:-6.12}
R=${EMP_BENCH_DIR:-$EMP_CACHE/bench}
report_only=
if [ "${1:-}" = --report ]; then report_only=${2:?--report DIR}; fi

host_meta() {	# key/value pairs about the host side of the run, as JSON members
	local v
	printf '"date":"%s","line":"%s","git":"%s"' "$(date -u +%FT%TZ)" "$line" \
		"$(git -C "$EMP_TOP" describe --always --dirty 2>/dev/null || echo unknown)"
	for p in qemu-system-x86 fio perftest ibverbs-providers; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo none)
		printf ',"pkg_%s":"%s"' "${p//-/_}" "$v"
	done
	printf ',"accel":"%s","guest_mem_mib":%s,"guest_smp":2,"bench_args":"%s"' \
		"$("$EMP_TOP/scripts/accel.sh" "$line" 2>/dev/null || echo unknown)" \
		"${EMP_BENCH_MEM:-2048}" "${EMP_BENCH_ARGS:-}"
}

if [ -z "$report_only" ]; then
	for b in fio ib_read_lat; do
		command -v "$b" >/dev/null || emp_die "$b is not installed (make deps)"
	done
	[ -x "$EMP_TOP/build/selftests/emp_bench" ] || emp_die "build/selftests/emp_bench missing (make bench builds it)"
	run=$R/$line-$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$run"
	emp_log "bench: results in $run"
	rc=0
	# fio and ib_read_lat with their libraries go into this guest's initramfs
	# only; the bench driver is picked by emp.tests, never by the default suite.
	EMP_OUT=$run \
	EMP_EXTRA_FILES="$(command -v fio) $(command -v ib_read_lat) ${EMP_EXTRA_FILES:-}" \
	EMP_APPEND="${EMP_APPEND:-}${EMP_BENCH_ARGS:+ emp.bench=$EMP_BENCH_ARGS}" \
	EMP_NVME_SIZE=1G \
		"$EMP_TOP/scripts/guest.sh" --kernel "$line" --tests bench_emp.sh --out "$run/guest" \
		--mem "${EMP_BENCH_MEM:-2048}" --smp 2 --timeout "${EMP_BENCH_TIMEOUT:-900}" || rc=$?
	echo "{$(host_meta)}" > "$run/host.json"
	ln -sfn "$(basename "$run")" "$R/latest"
else
	run=$report_only rc=0
fi

grep -a '^# BENCH ' "$run/guest/tap.log" | sed 's/^# BENCH //' > "$run/results.jsonl" || true
{
	echo "{\"host\":$(cat "$run/host.json" 2>/dev/null || echo '{}'),"
	echo "\"results\":["
	sed '$!s/$/,/' "$run/results.jsonl"
	echo "]}"
} > "$run/results.json"

# --- tables (flat JSON objects, one per line: awk is enough) -----------------
awk '
function g(k,   m) {
	if (match($0, "\"" k "\":(\"[^\"]*\"|[^,}]*)")) {
		m = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
		gsub(/"/, "", m); return m
	}
	return ""
}
function ratio(a, b) { return (b + 0 > 0 && a != "") ? sprintf("%.2fx", a / b) : "-" }
{
	b = g("bench")
	if (b == "meta") { meta[g("key")] = g("value"); next }
	if (b == "fault") {
		t = g("tier"); c = g("contender")
		# Each contender row is paired with the EMP run just before it.
		if (c == "emp") { ep50[t] = g("p50_us"); ep99[t] = g("p99_us"); kp50[t] = g("kern_p50_us")
			en[t] = g("n"); wrong[t] = g("wrong_data") }
		else { nf++; ft[nf] = t; fc[nf] = c; fn[nf] = g("n"); f50[nf] = g("p50_us"); f99[nf] = g("p99_us")
			e50[nf] = ep50[t]; e99[nf] = ep99[t]; k50[nf] = kp50[t]; e_n[nf] = en[t]; ew[nf] = wrong[t] }
		next
	}
	if (b == "tput") {
		nt++
		tl[nt] = sprintf("%-10s %-5s %7s %9.4f %10s %12.1f %9s", g("block") "/" g("subblock"),
			g("pattern"), g("threads"), g("gbps"), g("faults_per_s"),
			g("tier_read_bytes") / 1048576 / (g("secs") > 0 ? g("secs") : 1),
			g("hits") "/" g("faults"))
		next
	}
	if (b == "around") {
		c = g("contender")
		if (c != "on" && c != "off") next
		k = g("block") "/" g("subblock") SUBSEP g("start")
		if (!(k in aseen)) { aseen[k] = 1; na++; akeys[na] = k }
		# Summed over the rounds: pages over seconds, faults per page.
		apg[k, c] += g("pages"); asec[k, c] += g("secs"); aflt[k, c] += g("faults")
		awrong[k] += g("wrong_data")
		next
	}
	if (b == "vm") {
		# Per tier (the instance on NVMe, then on TCP), per contender.
		c = g("contender"); t = g("tier") == "bdev" ? "NVMe" : toupper(g("tier"))
		if (!(t in vtseen)) { vtseen[t] = 1; nvt++; vtiers[nvt] = t }
		vgeo[t] = g("block") "/" g("subblock") ", " g("size") / 1048576 " MiB over " g("budget") / 1048576 " MiB"
		if (g("test") == "around") {
			vpg[t, c] += g("pages"); vsec[t, c] += g("secs"); vflt[t, c] += g("faults")
			vkvm[t, c] += g("kvm_faults"); vnw[t, c] += g("nowait_retries")
		} else {
			vpass[t, c] += g("passes"); vpsec[t, c] += g("secs"); vload[t, c] += g("load_passes")
			vfetch[t, c] += g("fetches")
		}
		next
	}
	if (b == "vmhuge") {
		c = g("contender"); t = g("test")
		hgeo = g("block") "/" g("subblock") ", " g("size") / 1048576 " MiB over " g("budget") / 1048576 " MiB"
		hpg[t, c] += g("pages"); hsec[t, c] += g("secs"); hkvm[t, c] += g("kvm_faults")
		hflt[t, c] += g("faults")
		next
	}
	if (b == "swap") {
		k = g("dist") SUBSEP g("local_pct")
		if (!(k in seen)) { seen[k] = 1; nk++; keys[nk] = k }
		if (g("contender") == "swap") { sops[k] = g("ops_per_s"); s99[k] = g("p99_us") }
		else {
			geo = g("block") "/" g("subblock")
			if (!(geo in gseen)) { gseen[geo] = 1; ng++; geos[ng] = geo }
			eops[k, geo] = g("ops_per_s"); e99[k, geo] = g("p99_us")
		}
	}
}
END {
	printf "EMP benchmarks: kernel %s, emp %s, %s vCPUs, %d MiB guest, %s, %s\n",
		meta["kernel"], meta["emp_version"], meta["cpus"], meta["mem_kib"] / 1024,
		meta["device"], meta["fio"]
	print "Absolute numbers are from a TCG guest: compare within this run only."
	print ""
	print "== 4 KiB fault latency on never-resident pages (block/subblock 4K/4K), microseconds"
	printf "%-5s %-22s %5s %9s %9s   %-22s %5s %9s %9s  %9s %9s\n", "tier", "EMP", "n", "p50", "p99",
		"against", "n", "p50", "p99", "p50 ratio", "p99 ratio"
	for (i = 1; i <= nf; i++) {
		t = ft[i]
		printf "%-5s %-22s %5s %9s %9s   %-22s %5s %9s %9s  %9s %9s\n", t,
			"emp (kernel p50 " k50[i] ")", e_n[i], e50[i], e99[i], fc[i], fn[i], f50[i], f99[i],
			ratio(e50[i], f50[i]), ratio(e99[i], f99[i])
		if (ew[i] + 0) printf "      WRONG DATA on %s faults of the %s tier\n", ew[i], t
	}
	print "      goals: NVMe p50 ratio <= 1.25x (fio), RDMA p50 ratio <= 1.3x (ib_read_lat)"
	print ""
	print "== Throughput over an instance 4x its DRAM budget, EMP on NVMe (page reads, cold start)"
	printf "%-10s %-5s %7s %9s %10s %12s %9s\n", "blk/sub", "order", "threads", "GB/s", "faults/s",
		"tier MiB/s", "hits/flt"
	for (i = 1; i <= nt; i++) print tl[i]
	print ""
	print "== Fault-around: one fault maps the resident pages of its block (sequential page reads, EMP on NVMe)"
	print "   on against off (emp.fault_around), alternating in the same instance; cold: from the tier,"
	print "   warm: resident in the DRAM of EMP, freshly mapped"
	printf "%-10s %-5s %12s %12s %7s %12s %12s\n", "blk/sub", "start", "pages/s on", "pages/s off",
		"ratio", "faults/pg on", "faults/pg off"
	for (i = 1; i <= na; i++) {
		k = akeys[i]; split(k, kk, SUBSEP)
		on = asec[k, "on"] > 0 ? apg[k, "on"] / asec[k, "on"] : 0
		off = asec[k, "off"] > 0 ? apg[k, "off"] / asec[k, "off"] : 0
		printf "%-10s %-5s %12.0f %12.0f %7s %12.3f %12.3f\n", kk[1], kk[2], on, off, ratio(on, off),
			apg[k, "on"] ? aflt[k, "on"] / apg[k, "on"] : 0,
			apg[k, "off"] ? aflt[k, "off"] / apg[k, "off"] : 0
		if (awrong[k] + 0) printf "      WRONG DATA on %s pages\n", awrong[k]
	}
	print ""
	for (vt = 1; vt <= nvt; vt++) {
		t = vtiers[vt]
		print "== VM mode: a KVM guest whose memory slot is the instance (EMP on " t ", " vgeo[t] ")"
		print "   guest check of every word, cold from the tier; fault-around on against off, alternating"
		printf "%-14s %12s %12s %7s %12s %12s %12s\n", "fault-around", "pages/s", "", "ratio",
			"KVM flt/pg", "EMP flt/pg", "no-wait/pg"
		for (i = 1; i <= 2; i++) {
			c = i == 1 ? "on" : "off"
			r = vsec[t, c] > 0 ? vpg[t, c] / vsec[t, c] : 0
			if (i == 1) ron = r
			printf "%-14s %12.0f %12s %7s %12.3f %12.3f %12.3f\n", c, r, "",
				i == 1 ? "" : ratio(ron, r),
				vpg[t, c] ? vkvm[t, c] / vpg[t, c] : 0, vpg[t, c] ? vflt[t, c] / vpg[t, c] : 0,
				vpg[t, c] ? vnw[t, c] / vpg[t, c] : 0
		}
		print "   does one vCPU fetching stall another? vCPU 1 checks 1 MiB of resident memory beside:"
		printf "%-14s %12s %12s %7s %12s\n", "vCPU 0 does", "passes/s", "vs alone", "", "vCPU0 fetches"
		for (i = 1; i <= 3; i++) {
			c = i == 1 ? "alone" : i == 2 ? "cpu" : "fetch"
			r = vpsec[t, c] > 0 ? vpass[t, c] / vpsec[t, c] : 0
			if (i == 1) ralone = r
			if (i == 2) rcpu = r
			printf "%-14s %12.1f %12s %7s %12d\n", i == 1 ? "nothing" : i == 2 ? "CPU only" : "fetches",
				r, ratio(r, ralone), i == 3 ? "(" ratio(r, rcpu) " of CPU only)" : "", vfetch[t, c]
		}
		print ""
	}
	if (hgeo != "") {
		print "== VM mode, 2 MiB blocks mapped whole (emp.huge_map) on against off (EMP on NVMe, " hgeo ")"
		print "   guest check of every word; cold: from the tier; warm: resident blocks, KVM mapping them anew"
		printf "%-6s %12s %12s %7s %13s %13s %12s %12s\n", "pass", "pages/s on", "pages/s off",
			"ratio", "KVM flt/pg on", "KVM flt/pg off", "EMP flt/pg on", "EMP flt/pg off"
		for (i = 1; i <= 2; i++) {
			t = i == 1 ? "cold" : "warm"
			on = hsec[t, "on"] > 0 ? hpg[t, "on"] / hsec[t, "on"] : 0
			off = hsec[t, "off"] > 0 ? hpg[t, "off"] / hsec[t, "off"] : 0
			printf "%-6s %12.0f %12.0f %7s %13.3f %13.3f %12.3f %12.3f\n", t, on, off, ratio(on, off),
				hpg[t, "on"] ? hkvm[t, "on"] / hpg[t, "on"] : 0,
				hpg[t, "off"] ? hkvm[t, "off"] / hpg[t, "off"] : 0,
				hpg[t, "on"] ? hflt[t, "on"] / hpg[t, "on"] : 0,
				hpg[t, "off"] ? hflt[t, "off"] / hpg[t, "off"] : 0
		}
		print ""
	}
	print "== Against Linux swap on the same device and DRAM (read+write of one word per access)"
	printf "%-8s %6s %-12s %10s %10s %7s %10s %10s\n", "dist", "local", "EMP blk/sub", "EMP ops/s",
		"swap ops/s", "ratio", "EMP p99us", "swap p99us"
	for (i = 1; i <= nk; i++) {
		split(keys[i], kk, SUBSEP)
		for (j = 1; j <= ng; j++) {
			geo = geos[j]
			printf "%-8s %5s%% %-12s %10s %10s %7s %10s %10s\n", kk[1], kk[2], geo,
				eops[keys[i], geo], sops[keys[i]], ratio(eops[keys[i], geo], sops[keys[i]]),
				e99[keys[i], geo], s99[keys[i]]
		}
	}
	print "      goals (uniform): ratio >= 1.5x at 50 % local, >= 1.2x at 25 % local"
	printf "      EMP on %s; swap: %s, vm.page-cluster %s, zswap %s\n", meta["emp_device"], meta["swap"],
		meta["page_cluster"], meta["zswap"]
}' "$run/results.jsonl" | tee "$run/table.txt"

# --- plot (gnuplot-nox, optional) ------------------------------------------------
if command -v gnuplot >/dev/null; then
	awk '/"bench":"fault"/ {
		match($0, /"tier":"[^"]*"/); t = substr($0, RSTART + 8, RLENGTH - 9)
		match($0, /"contender":"[^"]*"/); c = substr($0, RSTART + 13, RLENGTH - 14)
		match($0, /"p50_us":[0-9.]*/); p = substr($0, RSTART + 9, RLENGTH - 9)
		gsub(/ /, "_", c); print "\"" t "\\n" c "\"", p }' "$run/results.jsonl" > "$run/fault.dat"
	awk '/"bench":"swap"/ {
		match($0, /"contender":"[^"]*"/); c = substr($0, RSTART + 13, RLENGTH - 14)
		match($0, /"dist":"[^"]*"/); d = substr($0, RSTART + 8, RLENGTH - 9)
		match($0, /"local_pct":[0-9]*/); l = substr($0, RSTART + 12, RLENGTH - 12)
		match($0, /"block":[0-9]*/); b = substr($0, RSTART + 8, RLENGTH - 8)
		match($0, /"ops_per_s":[0-9]*/); o = substr($0, RSTART + 12, RLENGTH - 12)
		if (c == "emp") c = "emp" b / 1024 "K"
		print "\"" d " " l "%\\n" c "\"", o }' "$run/results.jsonl" | sort > "$run/swap.dat"
	gnuplot <<-EOF 2>"$run/gnuplot.log" || emp_log "bench: gnuplot failed (see $run/gnuplot.log)"
		set terminal pngcairo size 1400,900 noenhanced
		set output "$run/bench.png"
		set multiplot layout 2,1 title "EMP bench, $line (TCG guest: compare within the run)"
		set style fill solid 0.6
		set boxwidth 0.7
		set logscale y
		set ylabel "p50 latency per 4 KiB (us)"
		set xtics font ",8"
		plot "$run/fault.dat" using 0:2:xtic(1) with boxes notitle
		set ylabel "accesses/s"
		plot "$run/swap.dat" using 0:2:xtic(1) with boxes notitle
		unset multiplot
	EOF
	[ -s "$run/bench.png" ] && emp_log "bench: plot $run/bench.png"
fi
emp_log "bench: $run/results.json, $run/table.txt"
[ "$rc" -eq 0 ] || emp_log "bench: the guest run reported problems (see above); results may be partial"
exit "$rc"
