#!/bin/sh
# User-level mode: EMP_PMEM_PATH=SPEC LD_PRELOAD=libemp-preload.so puts the
# heap of an unmodified program (heap_churn, 48 MiB of live heap) on an
# instance with a 12 MiB DRAM budget, and the instance is gone after exit.
# Set-up errors: the program runs on the ordinary heap, or with
# EMP_PMEM_STRICT=1 exits 125 before main.
. /emp/tests/tap.sh
PRELOAD=/emp/bin/libemp-preload.so
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
OUT=/tmp/preload.out
ERR=/tmp/preload.err

# Wait up to 20 s until no preload-* instance is left (the watcher
# destroys it once the program has exited).
no_instances() {
	i=0
	while [ $i -lt 200 ]; do
		ls /dev/emp-preload-* >/dev/null 2>&1 || return 0
		sleep 0.1; i=$((i + 1))
	done
	echo "left over:"; ls /dev/emp-preload-*; empctl list
	return 1
}

heavy() {
	EMP_PMEM_PATH="$DEV:128:0|dram:12" EMP_PMEM_VERBOSE=1 LD_PRELOAD=$PRELOAD \
		./heap_churn 48 > "$OUT" 2> "$ERR"
	rc=$?
	cat "$OUT" "$ERR"
	[ $rc -eq 0 ] && grep -q '^heap_churn: 48 MiB .*: ok$' "$OUT"
}

# A program that lives a while with its heap on an instance: empctl itself,
# watching its own instance (exec keeps the PID the instance is named after).
live() {
	rm -f /tmp/live.out
	EMP_PMEM_PATH="$DEV:64:0|dram:8" LD_PRELOAD=$PRELOAD \
		sh -c 'exec empctl stat --watch 1 --count 3 preload-$$' > /tmp/live.out 2>&1 &
	pid=$!
	# Created first, mapped a moment later: wait for the mapping.
	i=0
	until empctl stat preload-$pid --json 2>/dev/null | grep -q '"open":[1-9]'; do
		[ $i -lt 100 ] || break
		sleep 0.1; i=$((i + 1))
	done
	empctl list | grep "^preload-$pid "
	listed=$?
	empctl stat preload-$pid --json | grep -q '"open":[1-9]'
	mapped=$?
	wait $pid
	rc=$?
	cat /tmp/live.out
	[ $listed -eq 0 ] && [ $mapped -eq 0 ] && [ $rc -eq 0 ] &&
	[ "$(grep -c "^name  *preload-$pid$" /tmp/live.out)" -eq 3 ]
}

# Four threads, each with a heap in the arena (at least one 32 MiB segment
# each, so 5 x 32 MiB with main's); main frees what they made.
threads() {
	EMP_PMEM_PATH="$DEV:256:0|dram:8" EMP_PMEM_VERBOSE=1 LD_PRELOAD=$PRELOAD \
		./heap_churn -t 4 16 > $OUT 2> $ERR
	rc=$?
	cat $OUT $ERR
	[ $rc -eq 0 ] && grep -q 'made by 4 threads: ok$' $OUT &&
	grep -q ' at exit: faults [1-9][0-9]*, .*evictions [1-9]' $ERR && no_instances
}

small() {
	EMP_PMEM_PATH="$DEV:16:0" LD_PRELOAD=$PRELOAD ./heap_churn 8 > $OUT 2> $ERR
	rc=$?
	cat $ERR
	[ $rc -eq 0 ] && grep -q 'the heap needs at least 32 MiB' $ERR && no_instances
}

full() {
	EMP_PMEM_PATH="$DEV:32:0|dram:8" LD_PRELOAD=$PRELOAD ./heap_churn 64 > $OUT 2> $ERR
	rc=$?
	cat $ERR
	[ $rc -eq 1 ] && grep -q 'heap_churn: out of memory' $ERR && no_instances
}

badspec() {
	EMP_PMEM_PATH="$DEV:0:0" LD_PRELOAD=$PRELOAD ./heap_churn 8 > $OUT 2> $ERR
	rc=$?
	cat $ERR
	[ $rc -eq 0 ] && grep -q ': ok$' $OUT &&
	grep -q "column $(( ${#DEV} + 2 )): \"0\" in \"$DEV:0:0\": size must not be zero" $ERR &&
	grep -q 'runs on the ordinary heap' $ERR
}

strict() {
	EMP_PMEM_PATH="dram:16|dram:8" EMP_PMEM_STRICT=1 LD_PRELOAD=$PRELOAD ./heap_churn 8 > $OUT 2> $ERR
	rc=$?
	cat $ERR
	[ $rc -eq 125 ] && [ ! -s $OUT ] && grep -q 'a second dram: tier' $ERR &&
	grep -q 'exiting (EMP_PMEM_STRICT=1)' $ERR
}

tap_plan 12
tap_check "heap_churn runs under the preload library without EMP_PMEM_PATH" \
	sh -c "LD_PRELOAD=$PRELOAD ./heap_churn 8 | grep -q ': ok$'"
tap_check "heap_churn with 48 MiB of heap on an instance with a 12 MiB DRAM budget" heavy
tap_check "set-up was logged with the instance name and the spec" \
	grep -q "heap of pid [0-9]* on instance preload-[0-9]*: 128 MiB of 128 MiB, DRAM budget 12 MiB" "$ERR"
tap_check "the instance served faults, evicted and wrote back (counters at exit)" sh -c '
	f=$(sed -n "s/.* at exit: faults \([0-9]*\),.*/\1/p" '"$ERR"')
	e=$(sed -n "s/.*, evictions \([0-9]*\),.*/\1/p" '"$ERR"')
	w=$(sed -n "s/.*, writebacks \([0-9]*\),.*/\1/p" '"$ERR"')
	echo "faults=$f evictions=$e writebacks=$w"
	[ "${f:-0}" -gt 4096 ] && [ "${e:-0}" -gt 0 ] && [ "${w:-0}" -gt 0 ] &&
	grep -q "io errors 0, resident .* of 12 MiB" '"$ERR"
tap_check "the watcher destroyed the instance after exit" no_instances
tap_check "a running program's instance is listed and mapped (empctl list/stat)" live
tap_check "and destroyed after it" no_instances
tap_check "a threaded program: every thread's heap on the instance" threads
tap_check "bad spec: message with the column, the program runs on the ordinary heap" badspec
tap_check "bad spec with EMP_PMEM_STRICT=1: exit 125 before main" strict
tap_check "an instance below 32 MiB is refused, removed, and the program still runs" small
tap_check "a full heap makes malloc fail; it never spills into ordinary memory" full
tap_exit
