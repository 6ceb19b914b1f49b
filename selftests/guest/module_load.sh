#!/bin/sh
# emp.ko loads and registers /dev/emp.
. /emp/tests/tap.sh
tap_plan 6
tap_check "insmod emp.ko" insmod /emp/modules/emp.ko
tap_check "/dev/emp is a character device" test -c /dev/emp
tap_check "emp is listed in /proc/misc" grep -qw emp /proc/misc
tap_check "/sys/class/misc/emp exists" test -d /sys/class/misc/emp
tap_check "module version 0.1.0 in sysfs" grep -qx 0.1.0 /sys/module/emp/version
tap_check "load message in the kernel log" sh -c 'dmesg | grep -q "emp: version 0.1.0 loaded, ABI 1"'
tap_exit
