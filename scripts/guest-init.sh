#!/bin/sh
# /init of the EMP test guest (busybox). Modes, from the kernel command line:
#   emp.mode=test   run /emp/tests/run.sh, TAP to ttyS1, dmesg to ttyS2, power off
#   emp.mode=shell  interactive shell on the console
export PATH=/emp/bin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

mode=test
for a in $(cat /proc/cmdline); do
	case "$a" in
	emp.mode=*)  mode=${a#emp.mode=} ;;
	emp.tests=*) EMP_TESTS=$(echo "${a#emp.tests=}" | tr , ' '); export EMP_TESTS ;;
	esac
done

# Devices: NVMe disk and virtio NIC (drivers may be built in or modules).
for m in nvme virtio_pci virtio_net; do modprobe -q "$m" 2>/dev/null; done
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
	ip link set eth0 up
	ip addr add 10.0.2.15/24 dev eth0
fi
hostname emp-guest

if [ "$mode" = shell ]; then
	echo "EMP guest ($(cat /emp/kernel)). emp.ko: /emp/modules, tests: /emp/tests/run.sh"
	echo "Leave with: poweroff -f"
	setsid cttyhack sh -l
	poweroff -f
fi

/emp/tests/run.sh > /dev/ttyS1 2>&1
echo "# EMP-END" > /dev/ttyS1
dmesg > /dev/ttyS2
echo "# EMP-DMESG-END" > /dev/ttyS2
sync
poweroff -f
echo o > /proc/sysrq-trigger
