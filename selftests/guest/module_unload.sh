#!/bin/sh
# emp.ko cannot be removed while used, and load/unload leave nothing behind.
. /emp/tests/tap.sh
gone() {
	! test -e /dev/emp && ! test -e /sys/module/emp &&
	! test -e /sys/class/misc/emp && ! grep -qw emp /proc/misc &&
	! lsmod | grep -q '^emp '
}
cycles() {
	for i in 1 2 3 4 5; do
		insmod /emp/modules/emp.ko || return 1
		test -c /dev/emp || return 1
		empctl info > /dev/null || return 1
		rmmod emp || return 1
		gone || return 1
	done
}
tap_plan 5
tap_check "rmmod is refused while /dev/emp is open" \
	sh -c 'exec 3<>/dev/emp; ! rmmod emp 2>/dev/null && test -c /dev/emp'
tap_check "rmmod emp" rmmod emp
tap_check "nothing left: device node, sysfs, /proc/misc, module list" gone
tap_check "five load/unload cycles each leave nothing behind" cycles
tap_check "unload message in the kernel log" sh -c 'dmesg | grep -q "emp: unloaded"'
tap_exit
