#!/bin/sh
# emp.ko loads and registers /dev/emp.
. /emp/tests/tap.sh
tap_plan 6
tap_check "insmod emp.ko" insmod /emp/modules/emp.ko
tap_check "/dev/emp is a character device" test -c /dev/emp
tap_check "emp is listed in /proc/misc" grep -qw emp /proc/misc
tap_check "/sys/class/misc/emp exists" test -d /sys/class/misc/emp
tap_check "sysfs module version is the one EMP_IOC_INFO reports" sh -c \
	'v=$(cat /sys/module/emp/version) && test -n "$v" && empctl info | grep -q "^emp.ko version $v, ABI 1 "'
tap_check "load message in the kernel log" sh -c \
	'dmesg | grep -q "emp: version $(cat /sys/module/emp/version) loaded, ABI 1"'
tap_exit
