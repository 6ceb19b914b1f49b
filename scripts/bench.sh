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
	printf ',"qemu":"%s"' "$("$(emp_qemu_bin 2>/dev/null)" --version 2>/dev/null | head -n 1)"
	for p in fio perftest ibverbs-providers; do
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
	EMP_EXTRA_FILES="$(command -v fio) $(command -v ib_read_lat) $(command -v perf || true) ${EMP_EXTRA_FILES:-}" \
	EMP_APPEND="${EMP_APPEND:-}${EMP_BENCH_ARGS:+ emp.bench=$EMP_BENCH_ARGS}" \
	EMP_NVME_SIZE=1G \
		"$EMP_TOP/scripts/guest.sh" --kernel "$line" --tests bench_emp.sh --out "$run/guest" \
		--mem "${EMP_BENCH_MEM:-2048}" --smp 2 --timeout "${EMP_BENCH_TIMEOUT:-1800}" || rc=$?
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
		# EMP runs (cold, then full with 1 and 2 threads) wait for the
		# contender run of their tier that follows them; each is shown
		# against it.
		if (c == "emp") {
			np[t]++
			rd = g("fetches") - g("prefetched")
			pr[t, np[t]] = sprintf("%-5s %-6s %3s %5s %8s %8s %8s %8s %8s %7s %8.0f %5s %6.2f %7.2f", t,
				g("mode") == "" ? "cold" : g("mode"), (g("threads") == "" ? 1 : g("threads")) "t",
				g("n"), g("p50_us"), g("p99_us"), g("mean_us"), g("kern_p50_us"), g("kern_p99_us"),
				(rd > 0 && g("read_wait_ns") != "") ? sprintf("%.1f", g("read_wait_ns") / rd / 1000) : "-",
				g("faults_per_s"), g("cpu_busy") == "" ? "-" : sprintf("%.0f%%", 100 * g("cpu_busy")),
				g("faults") ? g("writebacks") / g("faults") : 0,
				g("faults") ? g("direct_reclaims") / g("faults") : 0)
			p50[t, np[t]] = g("p50_us"); p99[t, np[t]] = g("p99_us")
			# By mode and threads too: a tier with no contender of its
			# own (the node tier) is shown against EMP on NVMe.
			k = (g("mode") == "" ? "cold" : g("mode")) " " (g("threads") == "" ? 1 : g("threads"))
			mk[t, np[t]] = k
			if (!((t, k) in e50)) { e50[t, k] = g("p50_us"); e99[t, k] = g("p99_us"); en[t, k] = g("n") }
			if (g("wrong_data") + 0) pr[t, np[t]] = pr[t, np[t]] sprintf("\n      WRONG DATA on %s faults", g("wrong_data"))
		} else {
			for (i = 1; i <= np[t]; i++) {
				nf++
				fl[nf] = pr[t, i] sprintf("   %-14s %5s %8s %8s %7s %7s", c, g("n"), g("p50_us"),
					g("p99_us"), ratio(p50[t, i], g("p50_us")), ratio(p99[t, i], g("p99_us")))
			}
			np[t] = 0
		}
		next
	}
	if (b == "write") {
		nw++; wt[nw] = g("tier"); wsz[nw] = g("size"); wbud[nw] = g("budget"); wmb[nw] = g("mib_s")
		if (g("tier") == "tcp") wtcp = g("mib_s")
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
	if (b == "pool") {
		# One instance in one phase; shown under the run it belongs to.
		secs = g("secs") > 0 ? g("secs") : 1; acc = g("accesses") > 0 ? g("accesses") : 1
		npp++
		pp[npp] = sprintf("%-11s %5s %-7s %4d %8.1f %8.1f %8.1f %9s %8.3f %8.1f %8.1f %8.0f %8.0f",
			g("contender") " " g("pool") / 1048576, g("phase"), g("name"), g("ws") / 1048576,
			g("budget_avg") / 1048576, g("budget_end") / 1048576, g("resident_avg") / 1048576,
			g("acc_per_s"), g("faults") / acc, g("stall_ns") / 1e6 / secs, g("refaults") / secs,
			g("fetches") / secs, g("writebacks") / secs)
		pgeo = g("block") / 1024 "K/" g("subblock") / 1024 "K"
		next
	}
	if (b == "pool_total") {
		c = g("contender"); npt++
		if (c == "static") { pbase = g("acc_per_s"); pdram = g("dram_avg") }
		pt[npt] = sprintf("%-11s %6.0f %9.1f %9.1f %12s %9s %9s%s", c, g("pool") / 1048576,
			g("dram_avg") / 1048576, g("resident_avg") / 1048576, g("acc_per_s"),
			ratio(g("acc_per_s"), pbase),
			pdram > 0 ? sprintf("%+.0f%%", 100 * (g("dram_avg") - pdram) / pdram) : "-",
			g("wrong_data") + 0 ? sprintf("  WRONG DATA on %s accesses", g("wrong_data")) : "")
		psecs = g("phase_secs"); pn = g("instances")
		pp[++npp] = ""
		next
	}
	if (b == "swap") {
		c = g("contender"); d = g("dist"); th = g("threads") == "" ? 1 : g("threads")
		if (!((d, th) in dtseen)) { dtseen[d, th] = 1; ndt++; dts[ndt] = d SUBSEP th }
		if (c == "local") { pk = "all"; sl_ops[d, th] = g("ops_per_s") }
		else {
			pk = g("local_pct")
			if (!((d, th, pk) in pseen)) { pseen[d, th, pk] = 1; npk[d, th]++; pks[d, th, npk[d, th]] = pk }
		}
		k = d SUBSEP th SUBSEP pk
		r = ++nsr[k]
		ops = g("ops") > 0 ? g("ops") : 1
		if (c == "swap") {
			sname[k, r] = "swap pc=" g("page_cluster")
			if (g("page_cluster") == 0) spc0[k] = g("ops_per_s")
			else { sdef[k] = g("ops_per_s"); sdefname[k] = sname[k, r] }
		} else if (c == "emp")
			sname[k, r] = "EMP " g("block") / 1024 "K/" g("subblock") / 1024 "K" (g("variant") == "" ? "" : " " g("variant"))
		else
			sname[k, r] = "all-local"
		semp[k, r] = c == "emp"
		sops[k, r] = g("ops_per_s"); sp50[k, r] = g("p50_us"); sp99[k, r] = g("p99_us")
		# Every round of a contender, for the medians (SWAP_ROUNDS > 1).
		mkey = k SUBSEP sname[k, r]
		if (!(mkey in mn)) { mnames[k, ++nmn[k]] = sname[k, r] }
		mv[mkey, ++mn[mkey]] = g("ops_per_s") + 0
		# Device commands per access, reads and writes as the disk completed them (merged).
		if (g("disk_reads") == "") sdrq[k, r] = sprintf("%7s %7s", "-", "-")
		else sdrq[k, r] = sprintf("%7.3f %7.3f", g("disk_reads") / ops, g("disk_writes") / ops)
		# Device pages in and out per access: swap from /proc/vmstat, EMP from its tier.
		if (c == "emp") {
			spgin[k, r] = g("tier_read_bytes") / 4096 / ops; spgout[k, r] = g("tier_write_bytes") / 4096 / ops
			nfl = g("faults") > 0 ? g("faults") : 1
			sctr[k, r] = sprintf("%7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %8s %8s",
				g("faults") / ops, g("hits") / nfl, g("direct_reclaims") / nfl, g("reclaimed") / nfl,
				g("deactivated") / nfl, g("reactivated") / nfl, g("prefetched") / nfl,
				g("prefetch_hits") / nfl, g("kern_p50_us"), g("kern_p99_us"))
			sswp[k, r] = sprintf("%7s %7s %7s", "-", "-", "-")
		} else {
			spgin[k, r] = g("vm_pswpin") / ops; spgout[k, r] = g("vm_pswpout") / ops
			sswp[k, r] = sprintf("%7.3f %7s %7s", g("vm_swap_ra") / ops,
				g("vm_swap_ra") > 0 ? sprintf("%.0f%%", 100 * g("vm_swap_ra_hit") / g("vm_swap_ra")) : "-",
				g("vm_workingset_refault_anon") == "" ? "-" : sprintf("%.3f", g("vm_workingset_refault_anon") / ops))
			sctr[k, r] = ""
		}
	}
}
function swap_row(k, r, mode,   d, o, base) {	# mode 1: speeds, 2: counters
	split(k, kk, SUBSEP)
	if (mode == 1) {
		o = sops[k, r]
		printf "%-8s %5s %3s %-12s %10s %9s %8s %8s %9s %9s\n", kk[1], kk[3] == "all" ? "all" : kk[3] "%",
			kk[2], sname[k, r], o, ratio(sl_ops[kk[1], kk[2]], o),
			kk[3] == "all" ? "" : ratio(o, sdef[k]), kk[3] == "all" ? "" : ratio(o, spc0[k]),
			sp50[k, r], sp99[k, r]
	} else
		printf "%-8s %5s %3s %-12s %7.3f %7.3f %s %s %s\n", kk[1], kk[3] == "all" ? "all" : kk[3] "%",
			kk[2], sname[k, r], spgin[k, r], spgout[k, r], sdrq[k, r], sswp[k, r], sctr[k, r]
}
# Median of the rounds of contender @name in configuration @k.
function swap_median(k, name,   key, n, i, j, t, a) {
	key = k SUBSEP name; n = mn[key]
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = mv[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	mlo = a[1]; mhi = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# The medians table: per configuration, the median accesses/s of each contender
# over the rounds, and the median of EMP over that of swap with the default page-cluster.
function swap_medians(   i, j, m, dt, k, base, med, rounds) {
	rounds = 0
	for (i = 1; i <= ndt; i++) for (j = 1; j <= npk[dts[i]]; j++) {
		k = dts[i] SUBSEP pks[dts[i], j]
		for (m = 1; m <= nmn[k]; m++) if (mn[k SUBSEP mnames[k, m]] > rounds) rounds = mn[k SUBSEP mnames[k, m]]
	}
	if (rounds < 2) return
	print ""
	printf "== Against Linux swap, medians over %d rounds (EMP and swap alternating), accesses/s\n", rounds
	printf "%-8s %5s %3s %-12s %10s %8s %21s\n", "dist", "local", "thr", "contender", "median", "vs swap", "min-max"
	for (i = 1; i <= ndt; i++) for (j = 1; j <= npk[dts[i]]; j++) {
		k = dts[i] SUBSEP pks[dts[i], j]
		split(k, kk, SUBSEP)
		base = swap_median(k, sdefname[k])
		for (m = 1; m <= nmn[k]; m++) {
			med = swap_median(k, mnames[k, m])
			printf "%-8s %5s %3s %-12s %10.0f %8s %10.0f-%-10.0f\n", kk[1], kk[3] "%", kk[2],
				mnames[k, m], med, ratio(med, base), mlo, mhi
		}
	}
	print "      goals (uniform, EMP vs swap): >= 1.5x at 50 % local, >= 1.2x at 25 % local"
}
function swap_table(mode,   i, j, r, dt, k, e) {
	for (i = 1; i <= ndt; i++) {
		dt = dts[i]
		k = dt SUBSEP "all"
		for (r = 1; r <= nsr[k]; r++) swap_row(k, r, mode)
		for (j = 1; j <= npk[dt]; j++) {
			k = dt SUBSEP pks[dt, j]
			for (e = 0; e <= 1; e++)	# swap first, then EMP
				for (r = 1; r <= nsr[k]; r++) if (semp[k, r] == e) swap_row(k, r, mode)
		}
	}
}
END {
	printf "EMP benchmarks: kernel %s, emp %s, %s vCPUs, %d MiB guest, %s, %s\n",
		meta["kernel"], meta["emp_version"], meta["cpus"], meta["mem_kib"] / 1024,
		meta["device"], meta["fio"]
	print "Absolute numbers are from a TCG guest: compare within this run only."
	print ""
	print "== 4 KiB fault latency (block/subblock 4K/4K), microseconds: user side exact, kernel side (k-) from the fine histogram of emp.ko"
	print "   cold: pages evicted clean, nothing evicted while timed; full: the budget full of dirty pages, each fault needs"
	print "   room (wb/flt: pages written back per fault, by the fault or the reclaimer; drcl/flt: faults that evicted"
	print "   themselves, per fault; k-rd: mean wait of a fault for the tier read it issued, stat.read_wait_ns, to"
	print "   compare with the mean; busy: share of the guest vCPU time in use while timed, /proc/stat);"
	print "   1 and 2 threads splitting the same faults"
	printf "%-5s %-6s %3s %5s %8s %8s %8s %8s %8s %7s %8s %5s %6s %7s   %-14s %5s %8s %8s %7s %7s\n", "tier", "EMP",
		"thr", "n", "p50", "p99", "mean", "k-p50", "k-p99", "k-rd", "faults/s", "busy", "wb/flt", "drcl/flt", "against", "n",
		"p50", "p99", "p50 rat", "p99 rat"
	for (i = 1; i <= nf; i++) print fl[i]
	# Rows with no contender of their own: replicated TCP (tcp2) against
	# TCP with one copy, the rest (the node tier) against EMP on NVMe.
	for (t in np) {
		base = t == "tcp2" ? "tcp" : "nvme"
		for (i = 1; i <= np[t]; i++)
			printf "%s   %-14s %5s %8s %8s %7s %7s\n", pr[t, i], "EMP on " base, en[base, mk[t, i]],
				e50[base, mk[t, i]], e99[base, mk[t, i]], ratio(p50[t, i], e50[base, mk[t, i]]),
				ratio(p99[t, i], e99[base, mk[t, i]])
	}
	print "      ratio = EMP / contender (one request at a time, for every EMP row); goals (cold): NVMe p50 <= 1.25x fio,"
	print "      RDMA p50 <= 1.3x ib_read_lat; the node tier (NUMA node 1, no CPUs) is shown against EMP on NVMe,"
	print "      tcp2 (every byte on two donors, replicas=2) against tcp (one copy)"
	print ""
	print "== Writing a whole instance (the instances of the fault rows, first store to last writeback), MiB/s"
	printf "%-6s %8s %8s %8s %10s\n", "tier", "MiB", "budget", "MiB/s", "vs tcp"
	for (i = 1; i <= nw; i++) {
		t = wt[i]
		printf "%-6s %8.0f %8.0f %8.1f %10s\n", t, wsz[i] / 1048576, wbud[i] / 1048576, wmb[i],
			t == "tcp2" ? ratio(wmb[i], wtcp) : "-"
	}
	print "      tcp2 vs tcp: write throughput with replicas=2 over one copy (both on vmds on 127.0.0.1)"
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
	if (npt) {
		print "== One DRAM pool shared by " pn " instances (EMP on NVMe, " pgeo "): empd against the pool split statically in equal budgets"
		printf "   phases of %g s, working sets in MiB per instance (a/b/c, 0: idle): %s; one thread per instance\n",
			psecs, meta["pool_phases"]
		print "   reads and rewrites one word of a random page of its working set; DRAM avg: the sum of the budgets,"
		print "   time-averaged; vs static: aggregate accesses/s (the instances summed, over the whole run) over the"
		print "   static split in the same round; DRAM: the DRAM avg against that of the static split"
		printf "%-11s %6s %9s %9s %12s %9s %9s\n", "run", "pool", "DRAM avg", "resident", "acc/s (sum)",
			"vs static", "DRAM"
		for (i = 1; i <= npt; i++) print pt[i]
		print "      goals: >= 1.3x the accesses/s of the static split, or >= 25 % less DRAM at accesses/s within 5 %"
		print "   per run (contender and pool MiB), phase and instance: working set, budget (time average and at the"
		print "   end of the phase), resident bytes (average) in MiB; faults per access, stall ms per s, refaults,"
		print "   tier reads (fetches) and writebacks per s"
		printf "%-11s %5s %-7s %4s %8s %8s %8s %9s %8s %8s %8s %8s %8s\n", "run", "phase", "inst", "ws",
			"budget", "bud end", "resident", "acc/s", "flt/acc", "stall/s", "rflt/s", "fetch/s", "wb/s"
		for (i = 1; i < npp; i++) print pp[i]
		print ""
	}
	print "== Against Linux swap on the same device and DRAM (read+write of one word per access), accesses/s"
	print "   slowdown: all-local accesses/s (no memory limit) / those of the row; vs swap, vs pc=0: accesses/s of"
	print "   the row / those of swap with vm.page-cluster default, 0 (higher is better); 2 threads split the accesses"
	printf "%-8s %5s %3s %-12s %10s %9s %8s %8s %9s %9s\n", "dist", "local", "thr", "contender", "acc/s",
		"slowdown", "vs swap", "vs pc=0", "p50 us", "p99 us"
	swap_table(1)
	print "      goals (uniform, EMP vs swap): >= 1.5x at 50 % local, >= 1.2x at 25 % local"
	printf "      EMP on %s; swap: %s, vm.page-cluster %s by default, zswap %s\n", meta["emp_device"],
		meta["swap"], meta["page_cluster"], meta["zswap"]
	print ""
	print "== Swap comparison, what each run did: device 4 KiB pages in and out per access (swap: pswpin, pswpout;"
	print "   EMP: tier bytes / 4 KiB); rdrq, wrrq: read and write commands the disk completed per access, merged;"
	print "   swap: readahead pages per access, readahead hits %, anon refaults per access;"
	print "   EMP per fault: hits, direct reclaims, reclaimed (background), deactivated, reactivated, prefetched,"
	print "   prefetch hits; k-p50/k-p99: emp.ko fault latency in us (fine histogram)"
	printf "%-8s %5s %3s %-12s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %8s %8s\n", "dist", "local",
		"thr", "contender", "in/acc", "out/acc", "rdrq/ac", "wrrq/ac", "ra/acc", "ra hit", "rflt/ac", "flt/acc", "hit/flt",
		"drcl/f", "rcl/f", "deact/f", "react/f", "pf/f", "pfhit/f", "k-p50", "k-p99"
	swap_table(2)
	swap_medians()
}' "$run/results.jsonl" | tee "$run/table.txt"

# --- plot (gnuplot-nox, optional) ------------------------------------------------
if command -v gnuplot >/dev/null; then
	awk '/"bench":"fault"/ {
		match($0, /"tier":"[^"]*"/); t = substr($0, RSTART + 8, RLENGTH - 9)
		match($0, /"contender":"[^"]*"/); c = substr($0, RSTART + 13, RLENGTH - 14)
		match($0, /"p50_us":[0-9.]*/); p = substr($0, RSTART + 9, RLENGTH - 9)
		if (match($0, /"mode":"[^"]*"/)) c = c " " substr($0, RSTART + 8, RLENGTH - 9)
		if (match($0, /"threads":[0-9]*/)) c = c " " substr($0, RSTART + 10, RLENGTH - 10) "t"
		gsub(/ /, "_", c); print "\"" t "\\n" c "\"", p }' "$run/results.jsonl" > "$run/fault.dat"
	awk '/"bench":"swap"/ {
		match($0, /"contender":"[^"]*"/); c = substr($0, RSTART + 13, RLENGTH - 14)
		match($0, /"dist":"[^"]*"/); d = substr($0, RSTART + 8, RLENGTH - 9)
		match($0, /"local_pct":[0-9]*/); l = substr($0, RSTART + 12, RLENGTH - 12)
		match($0, /"block":[0-9]*/); b = substr($0, RSTART + 8, RLENGTH - 8)
		match($0, /"ops_per_s":[0-9]*/); o = substr($0, RSTART + 12, RLENGTH - 12)
		match($0, /"threads":[0-9]*/); t = substr($0, RSTART + 10, RLENGTH - 10)
		match($0, /"page_cluster":-?[0-9]*/); pc = substr($0, RSTART + 15, RLENGTH - 15)
		if (c == "emp") c = "emp" b / 1024 "K"
		if (c == "swap") c = "swap pc" pc
		print "\"" d " " l "% " t "t\\n" c "\"", o }' "$run/results.jsonl" | sort > "$run/swap.dat"
	gnuplot <<-EOF 2>"$run/gnuplot.log" || emp_log "bench: gnuplot failed (see $run/gnuplot.log)"
		set terminal pngcairo size 1400,1100 noenhanced
		set output "$run/bench.png"
		set multiplot layout 2,1 title "EMP bench, $line (TCG guest: compare within the run)"
		set style fill solid 0.6
		set boxwidth 0.7
		set logscale y
		set ylabel "p50 latency per 4 KiB (us)"
		set xtics font ",8"
		set yrange [10:*]
		$([ -s "$run/fault.dat" ] && echo "plot \"$run/fault.dat\" using 0:2:xtic(1) with boxes notitle")
		set ylabel "accesses/s"
		set yrange [100:*]
		set xtics rotate by 90 right font ",7"
		$([ -s "$run/swap.dat" ] && echo "plot \"$run/swap.dat\" using 0:2:xtic(1) with boxes notitle")
		unset multiplot
	EOF
	[ -s "$run/bench.png" ] && emp_log "bench: plot $run/bench.png"
fi
emp_log "bench: $run/results.json, $run/table.txt"
[ "$rc" -eq 0 ] || emp_log "bench: the guest run reported problems (see above); results may be partial"
exit "$rc"
