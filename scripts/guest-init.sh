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

mode=test nvme_tmo=
for a in $(cat /proc/cmdline); do
	case "$a" in
	emp.mode=*)  mode=${a#emp.mode=} ;;
	emp.nvme_io_timeout=*) nvme_tmo=${a#emp.nvme_io_timeout=} ;;
	emp.tests=*) EMP_TESTS=$(echo "${a#emp.tests=}" | tr , ' '); export EMP_TESTS ;;
	esac
done

# Devices: NVMe disk and virtio NIC (drivers may be built in or modules).
# nvme_core first, with the harness's I/O timeout if it set one (guest.sh).
modprobe -q nvme_core ${nvme_tmo:+io_timeout=$nvme_tmo} 2>/dev/null
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
# Debug kernel (fault injection's debugfs present): the fault-injection pass
# after the suite, unless emp.tests= picked the tests.
if [ -z "${EMP_TESTS:-}" ] && [ -d /sys/kernel/debug/failslab ]; then
	EMP_TESTS=fault_inject.sh /emp/tests/run.sh > /dev/ttyS1 2>&1
fi
# Kernels with kmemleak: scan after the suite (twice: objects younger than
# 5 s are not reported yet) and count it as a test; the report goes into the
# kernel log dump, where the host fails the run on any "unreferenced object".
kml=/sys/kernel/debug/kmemleak
if [ -w $kml ]; then
	echo scan > $kml; sleep 6; echo scan > $kml
	cat $kml > /tmp/kmemleak.txt
	n=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	{ echo "# ==== kmemleak scan"; echo "TAP version 13"; echo "1..1"
	  if [ "$n" = 0 ]; then echo "ok 1 kmemleak: no unreferenced object after the suite"
	  else echo "not ok 1 kmemleak: $n unreferenced object(s) after the suite (report in the kernel log dump)"; fi
	} > /dev/ttyS1
fi
echo "# EMP-END" > /dev/ttyS1
dmesg > /dev/ttyS2
if [ -s /tmp/kmemleak.txt ]; then
	echo "# EMP-KMEMLEAK-REPORT (/sys/kernel/debug/kmemleak after the suite)" > /dev/ttyS2
	cat /tmp/kmemleak.txt > /dev/ttyS2
fi
echo "# EMP-DMESG-END" > /dev/ttyS2
sync
poweroff -f
echo o > /proc/sysrq-trigger
