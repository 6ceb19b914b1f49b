#!/bin/sh
# VM mode, issue 18 item 2: memory a VM's guest frees reaches emp.ko as
# discards. emp-qemu boots this line's own kernel nested (under nested KVM)
# with its RAM on an instance on the NVMe disk, on the instance's empfs file,
# and with the virtio-balloon device (free-page-reporting=on) that emp-qemu
# adds by default. The nested guest's /init (selftests/nested/balloon-init.c,
# in /emp/nested with the kernel image; mkinitramfs.sh puts them there when
# guest.sh is asked for this test) takes commands on its second serial port:
#
#  1. the DRAM budget is cut to 16 MiB and restored, which writes back
#     what the boot left dirty; the guest writes NESTED_TOUCH MiB of
#     anonymous memory and frees it; the freed pages are reported, and the
#     instance's discarded bytes must grow by at least 3/4 of that, its
#     resident bytes fall by as much (DRAM given back at once);
#  2. the budget is cut to 16 MiB again, writing back every dirty resident
#     block: had the freed pages not been discarded they would be among
#     them, so what is written back must come to under 1/4 of the freed
#     memory (measured: the cut after the boot wrote 70-83 MiB, the one
#     after the free 10-17 MiB; 196 MiB when QEMU's discards could not
#     reach emp.ko, as on /dev/emp-NAME);
#  3. with the guest idle, the balloon is inflated through QEMU's monitor
#     by BALLOON_MIB, and the discarded bytes must grow by at least that
#     (emp.ko counts the bytes asked for: pages the guest had reported
#     before count again, so this shows the path, not DRAM freed).
#
# Also: emp-qemu's dry run shows the balloon it adds and leaves it out for
# --emp-no-balloon, -nodefaults and a balloon of the user's own. How long
# the nested boot and each phase took is printed. Needs emp.ko loaded; run
# by make vmtest (not by make test: CI's time; 70-90 s here).
. /emp/tests/tap.sh
DEV=${EMP_TEST_DEV:-/dev/nvme0n1}
NESTED=/emp/nested
PAYLOAD=/emp/tests/emp-qemu-payload.bin
FS=/run/emp
NAME=vmb
RAM_MIB=320 BUDGET_MIB=288 NESTED_TOUCH=192 BALLOON_MIB=128
SPEC="$DEV:$RAM_MIB:0|dram:$BUDGET_MIB"
W=/tmp/vmb
# guest.sh copies QEMU to its host path.
PATH=$PATH:/usr/bin; export PATH

# One vCPU while KVM is used, as in kvm_emp.sh and emp_qemu.sh (stale int3s
# from text patching under multi-threaded TCG; KVM's teardown waiting on the
# other vCPU).
off=
for c in /sys/devices/system/cpu/cpu[1-9]*; do
	[ -w "$c/online" ] && [ "$(cat "$c/online")" = 1 ] || continue
	echo 0 > "$c/online" 2>/dev/null && off="$off $c"
done
qpid='' mounted='' cats=''
# finish: power the nested guest off if it still runs, undo, end the TAP
# stream (tap-count.sh counts the checks not reached as failures).
finish() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		echo off >&5
		sleep 5
		kill -TERM "$qpid" 2>/dev/null
		wait "$qpid"
	fi
	[ -z "$cats" ] || kill $cats 2>/dev/null
	[ -z "$mounted" ] || umount $FS
	for c in $off; do echo 1 > "$c/online"; done
	tap_exit
}

tap_plan 8
now() { date +%s; }
# counter KEY: one number of the instance's stat (empctl stat --json).
counter() { empctl stat $NAME --json | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
mib() { echo $(( $1 / 1048576 )); }
# note TEXT: a figure for the TAP stream, shown after the check (by notes)
# whether it passes or fails; tap_check shows the rest only on failure.
note() { echo "$*" >> $W/notes; }
notes() { sed 's/^/# /' $W/notes; : > $W/notes; }
# settle KEY: wait for counter KEY to move (at most 20 s), then until it
# has held still for 6 s (at most 120 s in all). Free page reporting runs
# 2 s after pages are freed and again every 2 s while there is more.
settle() {
	last=$(counter "$1") i=0 same=0 moved=0
	while [ $i -lt 120 ]; do
		[ $moved = 0 ] && [ $i -ge 20 ] && break
		[ $same -ge 6 ] && break
		sleep 1
		cur=$(counter "$1")
		if [ "$cur" = "$last" ]; then same=$((same + 1)); else same=0 moved=1 last=$cur; fi
		i=$((i + 1))
	done
}

mkdir -p $FS
if ! grep -q " $FS empfs " /proc/mounts; then
	mount -t empfs empfs $FS && mounted=1
fi
if [ -f $NESTED/bzImage ] && [ -f $NESTED/initramfs.cpio ] &&
   command -v qemu-system-x86_64 >/dev/null && grep -q " $FS empfs " /proc/mounts; then
	tap_ok "empfs mounted; QEMU, the nested kernel and its initramfs are in the guest"
else
	tap_not_ok "empfs mounted; QEMU, the nested kernel and its initramfs are in the guest"
	ls -l $NESTED; grep empfs /proc/mounts
	finish
fi

qemu_accel qemu-system-x86_64 $PAYLOAD
# A Linux boot under TCG inside this TCG guest would take many minutes.
if [ "$ACCEL" = "-accel tcg" ]; then
	tap_not_ok "nested KVM works (needed to boot a Linux guest in time)"
	finish
fi
tap_ok "nested KVM works"

dry() {	# dry ARGS...: emp-qemu's dry run
	emp-qemu --emp-dry-run --emp-name $NAME -M pc "$@" --mem-path "$SPEC"
}
dry_runs() {
	# (Not "d": tap_check's own variable.)
	dflt=$(dry) && nob=$(dry --emp-no-balloon) && own=$(dry -device virtio-balloon-pci,id=b0) &&
	nodef=$(dry -nodefaults) || return 1
	printf '%s\n' "$dflt" "$nob" "$own" "$nodef"
	echo "$dflt" | grep -q "mem-path=$FS/$NAME,.* -device virtio-balloon-pci,free-page-reporting=on" &&
	! echo "$nob" | grep -q virtio-balloon &&
	[ "$(echo "$own" | grep -o virtio-balloon | wc -l)" = 1 ] &&
	! echo "$nodef" | grep -q virtio-balloon
}
tap_check "emp-qemu adds the balloon on empfs; not with --emp-no-balloon, -nodefaults or the user's own" dry_runs

# The nested guest: kernel console on ttyS0 (a file), commands and answers
# on ttyS1, QEMU's monitor on a third pipe. Pipes are opened read-write
# here, so no open blocks whatever QEMU does.
rm -rf $W; mkdir -p $W; : > $W/notes
for p in ctl hmp; do mkfifo $W/$p.in $W/$p.out; done
exec 5<>$W/ctl.in 6<>$W/ctl.out 7<>$W/hmp.in 8<>$W/hmp.out
cat <&6 > $W/ctl.log &
cats=$!
cat <&8 > $W/hmp.log &
cats="$cats $!"
start=$(now)
# shellcheck disable=SC2086
timeout -s KILL 900 emp-qemu --emp-name $NAME --emp-stats -M pc $ACCEL -smp 1 \
	-display none -vga none -nic none -parallel none -no-reboot \
	-kernel $NESTED/bzImage -initrd $NESTED/initramfs.cpio \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init" \
	-serial file:$W/console.log -chardev pipe,id=ctl,path=$W/ctl -serial chardev:ctl \
	-chardev pipe,id=hmp,path=$W/hmp -mon chardev=hmp,mode=readline \
	--mem-path "$SPEC" 2>$W/emp-qemu.err &
qpid=$!

# answer WORD SECS: wait for the nested guest's next line that starts with
# WORD (or an error) and leave it in $ans. Only whole lines count (the log
# grows a byte at a time): the first wc -l of them.
seen=0
answer() {
	i=0
	while [ $i -lt $(( $2 * 5 )) ]; do
		n=$(wc -l < $W/ctl.log)
		ans=$(awk -v s=$seen -v n="$n" -v w="$1 " 'NR > s && NR <= n &&
			(index($0, w) == 1 || index($0, "error ") == 1) { print NR ":" $0; exit }' $W/ctl.log)
		if [ -n "$ans" ]; then
			seen=${ans%%:*} ans=${ans#*:}
			case "$ans" in error*) echo "nested guest: $ans"; return 1 ;; esac
			return 0
		fi
		kill -0 $qpid 2>/dev/null || { echo "QEMU ended"; cat $W/emp-qemu.err; return 1; }
		sleep 0.2
		i=$((i + 1))
	done
	echo "no '$1' from the nested guest in $2 s; its console:"; tail -n 20 $W/console.log
	return 1
}

up=0
booted() {
	answer ready 300 || return 1
	boot_s=$(( $(now) - start ))
	echo "nested guest: $ans"
	up=1
	# The page allocator reports all its free memory once the driver
	# binds: wait for that to end before measuring.
	settle discarded
}
tap_check "a Linux guest boots nested with its RAM on the instance's empfs file and emp-qemu's balloon" booted
echo "# nested boot: ${boot_s:-?}s to its init's first answer, $(( $(now) - start ))s until the" \
	"free memory it reported at boot was discarded: $(mib "$(counter discarded)") MiB;" \
	"$(mib "$(counter resident)") MiB resident"
[ "$up" = 1 ] || finish

# cut_budget: shrink the DRAM budget to 16 MiB, which writes back every
# dirty resident block, and restore it; $wb is what was written back.
cut_budget() {
	r2=$(counter resident) w2=$(counter write_bytes)
	empctl resize $NAME --dram 16 >/dev/null || return 1
	r3=$(counter resident) w3=$(counter write_bytes)
	empctl resize $NAME --dram $BUDGET_MIB >/dev/null || return 1
	wb=$((w3 - w2))
	note "budget cut to 16 MiB $1: resident $(mib "$r2") -> $(mib "$r3") MiB, $(mib $wb) MiB written back"
}

freed() {
	# First what the guest's boot left dirty, so that only what is
	# dirtied from now on is left for the cut after the free.
	cut_budget "after the boot" || return 1
	t=$(now)
	echo "touch $NESTED_TOUCH" >&5
	answer touched 300 || return 1
	note "nested guest: $ans ($(( $(now) - t ))s)"
	d1=$(counter discarded) r1=$(counter resident) w1=$(counter write_bytes)
	t=$(now)
	echo free >&5
	answer freed 60 || return 1
	settle discarded
	d2=$(counter discarded) r2=$(counter resident) w2=$(counter write_bytes)
	note "freed $NESTED_TOUCH MiB: $(mib $((d2 - d1))) MiB discarded, resident $(mib "$r1") -> $(mib "$r2") MiB," \
		"$(mib $((w2 - w1))) MiB written back meanwhile ($(( $(now) - t ))s)"
	[ $(( (d2 - d1) * 4 )) -ge $(( NESTED_TOUCH * 1048576 * 3 )) ] &&
	[ $(( (r1 - r2) * 4 )) -ge $(( NESTED_TOUCH * 1048576 * 3 )) ]
}
tap_check "free page reporting: at least 3/4 of the $NESTED_TOUCH MiB freed discarded, and as much DRAM given back" freed
notes

shrink() {
	cut_budget "after the free" || return 1
	[ $(( wb * 4 )) -lt $(( NESTED_TOUCH * 1048576 )) ]
}
tap_check "evictions write back none of the freed memory (budget cut to 16 MiB: under 1/4 of it written back)" shrink
notes

inflate() {
	target=$((RAM_MIB - BALLOON_MIB))
	d3=$(counter discarded) t=$(now)
	echo "balloon $target" >&7
	i=0
	while [ $(( $(counter discarded) - d3 )) -lt $(( BALLOON_MIB * 1048576 )) ] && [ $i -lt 90 ]; do
		sleep 1; i=$((i + 1))
	done
	echo "info balloon" >&7
	sleep 1
	d4=$(counter discarded)
	actual=$(grep -o 'actual=[0-9]*' $W/hmp.log | tail -n 1)
	note "balloon to $target MiB: $(mib $((d4 - d3))) MiB discarded ($(( $(now) - t ))s);" \
		"QEMU's info balloon: $actual"
	[ "$actual" = "actual=$target" ] && [ $((d4 - d3)) -ge $(( BALLOON_MIB * 1048576 )) ]
}
tap_check "balloon inflated by $BALLOON_MIB MiB through QEMU's monitor: as much discarded" inflate
notes

off() {
	echo off >&5
	i=0
	while kill -0 $qpid 2>/dev/null && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
	if kill -0 $qpid 2>/dev/null; then
		echo "QEMU still running 60 s after the power-off command"
		kill -TERM $qpid
	fi
	wait $qpid
	rc=$?
	qpid=''
	cat $W/emp-qemu.err
	[ $rc = 0 ] || { echo "emp-qemu exit $rc"; tail -n 20 $W/console.log; return 1; }
	[ ! -e /dev/emp-$NAME ] && [ ! -e $FS/$NAME ]
}
tap_check "the nested guest powers off; QEMU exits 0 and the instance is gone" off
grep '^emp-qemu: instance' $W/emp-qemu.err | sed 's/^/# /'
echo "# whole run with the nested guest: $(( $(now) - start ))s"
finish
