#!/bin/sh
# What `make demo` shows: emp.ko loaded, talked to, unloaded.
. /emp/tests/tap.sh
run() { echo "\$ $*"; "$@" 2>&1 | sed 's/^/  /'; }
tap_plan 3
echo "# kernel $(uname -r)"
tap_check "insmod emp.ko" insmod /emp/modules/emp.ko
run ls -l /dev/emp
run empctl info
run empctl info --json
run sh -c 'dmesg | grep "emp:"'
tap_check "empctl info" empctl info
tap_check "rmmod emp" rmmod emp
run sh -c 'ls /dev/emp 2>&1'
tap_exit
