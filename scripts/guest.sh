#!/usr/bin/env bash
# Boot an EMP test guest: a Debian kernel (PVH, ELF vmlinux) under QEMU with
# the initramfs of scripts/mkinitramfs.sh, an emulated NVMe disk, a second,
# sparse one (EMP_NVME2_SIZE, default 1100G) and a virtio-net NIC. Its
# memory is two NUMA nodes: node 0 with the CPUs, and node 1 without CPUs,
# EMP_GUEST_NODE1_MB of it (default 256; 0 for one node), as a CXL memory
# expander shows up, for the node tier's tests.
#
#   guest.sh --kernel LINE [--shell] [--timeout S] [--mem MB] [--smp N]
#            [--tests "a b"] [--out DIR]
#
# Test mode runs the guest suite and exits nonzero on any failing test, any
# missing result, a kernel BUG/WARNING/Oops/lockdep/soft lockup/KASAN line, or a
# timeout, printing the console tail. --shell gives an interactive shell.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=6.12 shell=0 tmo= mem=${EMP_GUEST_MEM:-}
smp=${EMP_GUEST_SMP:-2} tests= out=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel)  line=$2; shift ;;
	--shell)   shell=1 ;;
	--timeout) tmo=$2; shift ;;
	--mem)     mem=$2; shift ;;
	--smp)     smp=$2; shift ;;
	--tests)   tests=$2; shift ;;
	--out)     out=$2; shift ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) emp_die "guest.sh: unknown option $1 (see --help)" ;;
	esac
	shift
done
# The debug line (KASAN, lockdep, kmemleak; scripts/debug-kernel.sh) runs
# several times slower, adds the fault-injection pass and needs KASAN's shadow
# and kmemleak's metadata: its own timeout, EMP_DEBUG_GUEST_TIMEOUT.
if [ "$line" = debug ]; then tmo=${tmo:-${EMP_DEBUG_GUEST_TIMEOUT:-1800}} mem=${mem:-2048}; fi
tmo=${tmo:-${EMP_GUEST_TIMEOUT:-600}} mem=${mem:-1024}
[ "$mem" -le 2048 ] || emp_die "guests are kept at 2 GiB or less"
emp_kernel_env "$line" || emp_die "kernel line $line not fetched (scripts/fetch-kernel.sh $line)"
out=${out:-$EMP_OUT/guest-$line}
rm -rf "$out"
mkdir -p "$out"

# Tests that run stock QEMU in the guest (emp_qemu.sh, demo.sh, vm_balloon.sh)
# need it in the initramfs (about 45 MB more): when they are asked for, and in
# the default suite of the line that runs emp_qemu.sh (emp_line_runs_qemu).
# So does perf for perf_events.sh, which runs on the same line.
# vm_balloon.sh also boots this line's kernel nested, with an initramfs of
# its own (EMP_NESTED: mkinitramfs.sh adds both, about 13 MB).
want_qemu=0 want_perf=0
case " $tests " in
*" emp_qemu.sh "*|*" demo.sh "*|*" vm_balloon.sh "*) want_qemu=1 ;;
"  ") if emp_line_runs_qemu "$line"; then want_qemu=1 want_perf=1; fi ;;
esac
case " $tests " in *" vm_balloon.sh "*) export EMP_NESTED=1 ;; esac
case " $tests " in *" perf_events.sh "*) want_perf=1 ;; esac
# The cluster test's etcd (55 MB with etcdctl and libcurl): when it is
# asked for, and in the default suite of its line (emp_line_runs_cluster);
# mkinitramfs.sh adds it.
want_cluster=0
case " $tests " in
*" cluster.sh "*) want_cluster=1 ;;
"  ") if emp_line_runs_cluster "$line"; then want_cluster=1; fi ;;
esac
export EMP_CLUSTER=${EMP_CLUSTER:-$want_cluster}
if [ $want_qemu = 1 ]; then
	EMP_EXTRA_FILES="$(emp_qemu_files || true) ${EMP_EXTRA_FILES:-}"
	export EMP_EXTRA_FILES
fi
if [ $want_perf = 1 ]; then
	EMP_EXTRA_FILES="$(emp_perf_files || true) ${EMP_EXTRA_FILES:-}"
	export EMP_EXTRA_FILES
fi
"$EMP_TOP/scripts/mkinitramfs.sh" "$line" "$out/initramfs.cpio"
truncate -s "${EMP_NVME_SIZE:-1G}" "$out/nvme0.img"
# A second disk, sparse (only what the guest writes takes room on the host),
# for instances larger than the first disk (emp_policy_test's 1 TiB one), on
# a controller of its own with its own serial: /dev/nvme1n1.
truncate -s "${EMP_NVME2_SIZE:-1100G}" "$out/nvme1.img"

accel=$("$EMP_TOP/scripts/accel.sh" "$line")
tcg_thread=${EMP_TCG_THREAD:-$(emp_line_tcg_thread "$line")}
accel=${accel/thread=multi/thread=$tcg_thread}
append="console=ttyS0 panic=-1 oops=panic softlockup_panic=1 rdinit=/init"
append="$append emp.mode=$([ $shell = 1 ] && echo shell || echo test)"
# QEMU 7.2's emulated NVMe, with the 7.2 kernel and one TCG thread, now and
# then leaves a few commands of one queue unprocessed (no completion to
# poll; measured: 2 boots of 4). The driver's timeout aborts and then
# resets the controller, which requeues them: after 2 x 30 s by default,
# long enough to fail tests; 2 x EMP_NVME_IO_TIMEOUT (5 s) here. Each such
# stall is reported after the run.
# (nvme_core.* for a built-in driver, emp.* for the init's modprobe.)
nvme_tmo=${EMP_NVME_IO_TIMEOUT:-5}
append="$append nvme_core.io_timeout=$nvme_tmo emp.nvme_io_timeout=$nvme_tmo"
[ -n "$tests" ] && append="$append emp.tests=${tests// /,}"
# Under KASAN and lockdep, ACPI's interpreter runs QEMU's PCI routing method
# (_PRT) into its 30 s loop timeout, once per device: route PCI interrupts
# without ACPI there (boot to init: 75 s -> 18 s).
if [ "$line" = debug ]; then append="$append pci=noacpi"; fi
qemu_bin=$(emp_qemu_bin) || emp_die "guest.sh: no QEMU to run the guest (EMP_QEMU=system runs the machine's)"
node1=${EMP_GUEST_NODE1_MB:-256}
numa=()
if [ "$node1" -gt 0 ]; then
	[ "$node1" -lt "$mem" ] || emp_die "guest.sh: EMP_GUEST_NODE1_MB=$node1 leaves node 0 no memory"
	numa=(-object "memory-backend-ram,id=mem0,size=$((mem - node1))M"
	      -object "memory-backend-ram,id=mem1,size=${node1}M"
	      -numa "node,nodeid=0,cpus=0-$((smp - 1)),memdev=mem0"
	      -numa "node,nodeid=1,memdev=mem1")
fi
qemu=("$qemu_bin" -M pc $accel -smp "$smp" -m "$mem" "${numa[@]}" -no-reboot
	-kernel "$KVMLINUX" -initrd "$out/initramfs.cpio" -append "$append ${EMP_APPEND:-}"
	-drive "file=$out/nvme0.img,if=none,id=nvme0,format=raw"
	-device nvme,serial=emp0,drive=nvme0
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0
	-drive "file=$out/nvme1.img,if=none,id=nvme1,format=raw"
	-display none -vga none)
# The NVMe driver probes controllers asynchronously: two present at boot get
# their numbers in either order (their probes interleave), and the suite
# needs the first disk as nvme0n1. So, in test mode on a kernel with ACPI PCI
# hot-plug, the second controller is plugged in (through a monitor on a pipe)
# once the console shows that the first one is nvme0. Without hot-plug (the
# debug line: no CONFIG_HOTPLUG_PCI_ACPI, and pci=noacpi) there is no second
# disk, and run.sh leaves out the test that needs it; a shell gets it at boot.
disk2="nvme,id=nvme1c,serial=emp1,drive=nvme1"
hotplug=0
if [ $shell = 0 ] && grep -qx 'CONFIG_HOTPLUG_PCI_ACPI=y' "$KDIR/.config" 2>/dev/null; then
	hotplug=1
	mkfifo "$out/hmp.in" "$out/hmp.out"
	qemu+=(-chardev "pipe,id=hmp,path=$out/hmp" -mon chardev=hmp,mode=readline)
elif [ $shell = 1 ]; then
	qemu+=(-device "$disk2")
fi

if [ $shell = 1 ]; then
	exec "${qemu[@]}" -serial mon:stdio -serial "file:$out/tap.log" -serial "file:$out/dmesg.log"
fi

# Wait for the guest's nvme0, then plug the second controller in; the
# monitor's answer goes to hotplug.log. Both pipes are opened read-write,
# so neither open nor write can block, whatever became of QEMU.
plug_disk2() {
	local n=0
	exec 3<>"$out/hmp.in" 4<>"$out/hmp.out"
	until grep -aq '^\[[ 0-9.]*\] nvme nvme0: ' "$out/console.log" 2>/dev/null; do
		n=$((n + 1))
		if [ $n -gt $((tmo * 5)) ]; then echo "no nvme0 in the console" > "$out/hotplug.log"; return 0; fi
		sleep 0.2
	done
	echo "device_add $disk2" >&3
	timeout 5 cat <&4 > "$out/hotplug.log" || true
}

qver=$("${qemu[0]}" --version 2>/dev/null | sed -n '1s/^QEMU emulator version //p')
emp_log "$(emp_line_label "$line"): booting (QEMU ${qver:-?}, $accel, ${mem}M, smp $smp, timeout ${tmo}s)"
start=$(date +%s)
rc=0 plug_pid=
if [ $hotplug = 1 ]; then
	plug_disk2 &
	plug_pid=$!
fi
timeout -k 5 "$tmo" "${qemu[@]}" -monitor none -serial "file:$out/console.log" \
	-serial "file:$out/tap.log" -serial "file:$out/dmesg.log" </dev/null || rc=$?
if [ -n "$plug_pid" ]; then kill "$plug_pid" 2>/dev/null || true; wait "$plug_pid" 2>/dev/null || true; fi
emp_log "$line: guest ended after $(( $(date +%s) - start ))s (qemu status $rc)"

bad=0
tail_console() { echo "---- console tail ($out/console.log) ----"; tail -n 40 "$out/console.log"; echo "----"; }
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	emp_log "$line: TIMEOUT after ${tmo}s"; bad=1
fi
if ! grep -q '^# EMP-END' "$out/tap.log"; then
	emp_log "$line: the suite did not finish (no end marker)"; bad=1
fi
# Kernel problems, from the console and from the full dmesg the guest dumped.
pat='BUG:|WARNING:|Oops|general protection fault|Kernel panic|kernel BUG|INFO: possible|possible recursive locking|possible circular locking|lockdep|soft lockup|hard LOCKUP|hung_task|blocked for more than|KASAN|UBSAN|kmemleak|unreferenced object|sleeping function called from invalid context|Call Trace:'
# Not problems: kmemleak's and RCU's start-up lines; between the markers of the
# fault-injection pass (selftests/guest/fault_inject.sh), the stack of an
# expected allocation-failure report ("page allocation failure", "vmalloc
# error") and kmemleak falling back when its own allocation was the one failed.
benign='kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread|RCU lockdep checking is enabled'
problems() {
	awk 'FNR == 1 { w = 0; st = 0 }
		/emp-fault-inject: begin/ { w = 1 } /emp-fault-inject: end/ { w = 0 }
		w && /page allocation failure|vmalloc error/ { st = 1 }
		st && /<\/TASK>/ { st = 0; next }
		st && /Call Trace:|\]  / { next }
		w && /kmemleak: Cannot allocate a scan area/ { next }
		{ print FILENAME ":" $0 }' "$@" | grep -aE "$pat" | grep -avE "$benign"
}
if problems "$out/console.log" "$out/dmesg.log" > "$out/kernel-problems.log"; then
	emp_log "$line: kernel problems in the log:"; cat "$out/kernel-problems.log" >&2; bad=1
fi
stalls=$(grep -ac 'nvme nvme[0-9]*: I/O .* timeout, reset controller' "$out/console.log" || true)
[ "${stalls:-0}" = 0 ] || emp_log "$line: note: the emulated NVMe stalled $stalls time(s) and was reset (see the console log)"
if ! "$EMP_TOP/scripts/tap-count.sh" "$out/tap.log" "guest-$line"; then bad=1; fi
if [ $bad = 1 ]; then
	grep -aE '^not ok|^# ' "$out/tap.log" | grep -av '^#  *\(RUN\|OK\) ' | tail -n 40 >&2 || true
	tail_console >&2
	exit 1
fi
exit 0
