#!/bin/sh
# The guest has what later suites stand on: NVMe disk, virtio NIC, rdma_rxe.
. /emp/tests/tap.sh
tap_plan 5
tap_check "NVMe namespace /dev/nvme0n1 is a block device" test -b /dev/nvme0n1
tap_check "NVMe disk reads back what was written" sh -c '
	echo emp-nvme-check > /tmp/w; dd if=/tmp/w of=/dev/nvme0n1 bs=512 count=1 conv=sync 2>/dev/null &&
	echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/nvme0n1 bs=512 count=1 2>/dev/null | grep -q emp-nvme-check'
# guest.sh shortens the NVMe I/O timeout (emulated stalls end in a reset).
tap_check "NVMe I/O timeout is the one the harness asked for" sh -c '
	want=$(tr " " "\n" < /proc/cmdline | sed -n "s/^emp.nvme_io_timeout=//p")
	[ -z "$want" ] || [ "$(cat /sys/module/nvme_core/parameters/io_timeout)" = "$want" ]'
tap_check "virtio NIC eth0 has 10.0.2.15" sh -c 'ip addr show eth0 | grep -q "inet 10.0.2.15/24"'
tap_check "rdma_rxe loads and unloads" sh -c 'modprobe rdma_rxe && grep -q "^rdma_rxe " /proc/modules && modprobe -r rdma_rxe'
tap_exit
