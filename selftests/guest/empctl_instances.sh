#!/bin/sh
# empctl on instances: create, list, stat (text, JSON, --watch), resize,
# destroy, help, with their exit codes (0 ok, 1 kernel/runtime error,
# 2 usage error) and messages. JSON is checked with json_check.
. /emp/tests/tap.sh
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
PRELOAD=/emp/bin/libemp-preload.so
J=/emp/tests/json_check


create() {
	run 0 empctl create db --spec "$DEV:256:0|dram:32" &&
	grep -q "^created db: 256 MiB on 1 tier, DRAM budget 32 MiB, block 64 KiB, subblock 4 KiB$" /tmp/o &&
	grep -q "^  device  /dev/emp-db$" /tmp/o && test -c /dev/emp-db
}

list_text() {
	run 0 empctl list &&
	head -n 1 /tmp/o | grep -q '^NAME  *SIZE  *DRAM  *RESIDENT  *BLOCK  *SUBBLOCK  *TIERS  *FAULTS  *EVICTIONS  *OPEN  *STATE$' &&
	grep -q '^db  *256 MiB  *32 MiB  *0 B  *64 KiB  *4 KiB  *1  *0  *0  *0  *ok$' /tmp/o
}

list_json() {
	run 0 empctl list --json && $J instances name counters tiers < /tmp/o &&
	grep -q '^{"instances":\[{"name":"db","id":[0-9]*,"state":"ok","size":268435456,"block_size":65536,"subblock_size":4096,"dram_budget":33554432,"resident":0,"open":0,' /tmp/o
}

stat_text() {
	run 0 empctl stat db &&
	grep -q '^name  *db$' /tmp/o && grep -q '^device  *\/dev\/emp-db$' /tmp/o &&
	grep -q '^size  *256 MiB$' /tmp/o && grep -q '^dram budget  *32 MiB$' /tmp/o &&
	grep -q '^fault latency  *no faults yet$' /tmp/o &&
	grep -q '^TIER  *KIND  *SIZE  *READS  *READ  *WRITES  *WRITTEN  *ERRORS  *COPIES$' /tmp/o &&
	grep -q '^ *0  *bdev  *256 MiB  *0  *0 B  *0  *0 B  *0  *-$' /tmp/o
}

stat_json() {
	run 0 empctl stat db --json && $J time name counters faults evictions fault_latency_ns tiers < /tmp/o &&
	grep -q '"counters":{"faults":0,"hits":0,"zero_fills":0,"fetches":0,"evictions":0,"writebacks":0,"io_errors":0,"sigbus":0,"mapped_around":0,"nowait_retries":0,"cleaned":0,"huge_faults":0,"direct_reclaims":0,"reclaimed":0,"deactivated":0,"reactivated":0,"prefetched":0,"prefetch_hits":0,"polled_reads":0,"read_wait_ns":0,"stall_ns":0,"refaults":0,"demoted":0,"age_scans":[0-9]*,"discarded":0,"replicas_lost":0,"failovers":0,"resynced":0,"meta_bytes":[0-9]*}' /tmp/o &&
	grep -q '"tiers":\[{"index":0,"kind":"bdev","size":268435456,"reads":0,' /tmp/o
}

# Prometheus' text format: HELP and TYPE before each family's samples,
# every sample "family{labels} value"; values agree with the instance.
prom_valid() {
	awk '
	/^# HELP [a-z_]+ ./ { help[$3] = 1; next }
	/^# TYPE [a-z_]+ (counter|gauge)$/ { if (!help[$3]) bad = 1; type[$3] = 1; next }
	/^[a-z_]+[{][a-z]+="[^"]*"(,[a-z]+="[^"]*")*[}] [0-9.e+-]+$/ {
		f = $0; sub(/[{].*/, "", f); if (!type[f]) bad = 1; n++; next }
	{ bad = 1; print "not in the format: " $0 }
	END { exit bad || !n }' "$1"
}

stat_prometheus() {
	run 0 empctl stat db --prometheus && prom_valid /tmp/o &&
	grep -q '^emp_dram_budget_bytes{name="db"} 33554432$' /tmp/o &&
	grep -q '^emp_faults_total{name="db"} 0$' /tmp/o &&
	grep -q '^# TYPE emp_faults_total counter$' /tmp/o &&
	grep -q '^emp_tier_size_bytes{name="db",tier="0",kind="bdev"} 268435456$' /tmp/o &&
	grep -q '^emp_fault_latency_seconds{name="db",quantile="0.99"} ' /tmp/o &&
	cp /tmp/o /tmp/prom.one &&
	run 0 empctl stat --prometheus && cmp /tmp/o /tmp/prom.one &&
	run 2 empctl stat db --prometheus --json && grep -q "goes alone" /tmp/e &&
	run 2 empctl stat --prometheus --watch 1 &&
	run 1 empctl stat nosuch --prometheus
}

watch_text() {
	run 0 empctl stat db --watch 0.2 --count 3 &&
	[ "$(grep -c '^---- [0-9-]* [0-9:]* ----$' /tmp/o)" -eq 3 ] &&
	[ "$(grep -c '^faults  *0  *(+0/s)$' /tmp/o)" -eq 2 ]
}

watch_json() {
	run 0 empctl stat db --watch 0.2 --count 2 --json &&
	[ "$(wc -l < /tmp/o)" -eq 2 ] && $J -l time name counters < /tmp/o
}

resize() {
	run 0 empctl resize db --dram 16 &&
	grep -q '^db: DRAM budget 32 MiB -> 16 MiB, resident 0 B$' /tmp/o &&
	[ "$(cat /sys/class/emp/emp-db/dram_budget)" = 16777216 ] &&
	empctl stat db --json | grep -q '"dram_budget":16777216,'
}

resize_errors() {
	run 2 empctl resize db --dram 0 && grep -q 'must not be zero' /tmp/e &&
	run 2 empctl resize db --dram 64K && grep -q 'at least two blocks (128 KiB)' /tmp/e &&
	run 2 empctl resize db && grep -q 'missing --dram' /tmp/e &&
	run 2 empctl resize db --dram 1X && grep -q "is not a size" /tmp/e &&
	run 1 empctl resize nosuch --dram 16 &&
	grep -q '^empctl: resize nosuch: No such file or directory (no such instance)$' /tmp/e
}

# A second device (null_blk, unloaded again) so that the name, not the
# exclusively opened disk, is what clashes.
name_clash() {
	modprobe null_blk nr_devices=1 || return 1
	i=0
	while [ ! -b /dev/nullb0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	run 1 empctl create db --spec /dev/nullb0:64:0
	rc=$?
	rmmod null_blk
	[ $rc -eq 0 ] && grep -q '^empctl: create db: File exists (an instance of that name exists)$' /tmp/e
}

create_errors() {
	name_clash &&
	run 2 empctl create x --spec "$DEV:256:0|" && grep -q "bad spec: column $(( ${#DEV} + 7 )): trailing '|'" /tmp/e &&
	grep -q '^ *\^$' /tmp/e &&
	run 2 empctl create x --spec "$DEV:1:0" --block 2M &&
	grep -q 'tier 1: size 1M is not a multiple of the block size 2M' /tmp/e &&
	run 2 empctl create x --spec "$DEV:64:0" --subblock 256K && grep -q 'subblock size 256K' /tmp/e &&
	run 2 empctl create x --spec "$DEV:64:0" --size 65 && grep -q 'more than the tiers hold' /tmp/e &&
	run 2 empctl create 'bad/name' --spec "$DEV:64:0" && grep -q "bad instance name 'bad/name'" /tmp/e &&
	run 2 empctl create x && grep -q 'missing --spec' /tmp/e &&
	run 2 empctl create --spec "$DEV:64:0" && grep -q 'missing NAME' /tmp/e &&
	run 1 empctl create x --spec /dev/nonexistent:64:0 &&
	grep -q '^empctl: create x: No such file or directory' /tmp/e
}

# A program whose heap is on preload-PID keeps that instance mapped.
busy() {
	EMP_PMEM_PATH="$DEV:512:256" LD_PRELOAD=$PRELOAD \
		sh -c 'exec empctl stat --watch 1 --count 2 preload-$$' > /dev/null 2>&1 &
	pid=$!
	# Created first, mapped a moment later: wait for the mapping.
	i=0
	until empctl stat preload-$pid --json 2>/dev/null | grep -q '"open":[1-9]'; do
		[ $i -lt 100 ] || break
		sleep 0.1; i=$((i + 1))
	done
	run 1 empctl destroy preload-$pid
	ok=$?
	wait $pid
	i=0
	while [ -e /dev/emp-preload-$pid ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	[ $ok -eq 0 ] && ! [ -e /dev/emp-preload-$pid ] &&
	grep -q "^empctl: destroy preload-$pid: Device or resource busy (its device node is open or mapped by a process)$" /tmp/e
}

destroy() {
	run 0 empctl destroy db && grep -q '^destroyed db$' /tmp/o && ! [ -e /dev/emp-db ] &&
	run 0 empctl list && grep -q '^no instances$' /tmp/o &&
	run 0 empctl list --json && grep -q '^{"instances":\[\]}$' /tmp/o &&
	run 1 empctl destroy db && grep -q 'No such file or directory (no such instance)' /tmp/e &&
	run 2 empctl destroy && run 2 empctl destroy a b
}

help() {
	for c in create destroy list stat resize info spec help; do
		empctl --help | grep -q "^  $c " || { echo "--help lacks $c"; return 1; }
		empctl help $c > /tmp/h1 || return 1
		empctl $c --help > /tmp/h2 || return 1
		cmp /tmp/h1 /tmp/h2 || return 1
		head -n 1 /tmp/h1 | grep -q "^Usage: empctl $c" || return 1
	done
	run 2 empctl help nosuch && run 2 empctl stat db --bogus && run 2 empctl list extra
}

tap_plan 15
tap_check "create an instance on the NVMe disk" create
tap_check "list: aligned table with units" list_text
tap_check "list --json: valid, with the instance's geometry" list_json
tap_check "stat: geometry, counters and the tier table" stat_text
tap_check "stat --json: valid, counters and tiers" stat_json
tap_check "stat --prometheus: the text format, one instance or all" stat_prometheus
tap_check "stat --watch: three timed reports with rates" watch_text
tap_check "stat --watch --json: one JSON object per line" watch_json
tap_check "resize --dram changes the budget (sysfs and stat agree)" resize
tap_check "resize errors: exit 2 for usage, 1 for a missing instance" resize_errors
tap_check "create errors: exit 1 from the kernel, 2 for spec/geometry/usage" create_errors
tap_check "destroy, then list is empty and a second destroy fails" destroy
tap_check "destroy a mapped instance fails with EBUSY and exit 1" busy
tap_check "help: every command has --help, the same as help CMD" help
tap_check "spec --json is valid JSON" sh -c \
	"empctl spec --json '10.0.0.1:1024:19675|[fe80::1]:1G:1|tcp:10.0.0.2:64:7|$DEV:1:0|dram:64' | $J spec capacity tiers address port offset"
tap_exit
