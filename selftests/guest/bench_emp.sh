#!/bin/sh
# Guest side of `make bench` (scripts/bench.sh; docs/bench.md). NOT part of
# the default suite (run.sh): it is only run with emp.tests=bench_emp.sh.
#
# Every scenario is one TAP check "... ran" (it ran and produced a result;
# never a judgement on speed) and its results as "# BENCH {json}" lines,
# which the host collects. Sizes come from the kernel command line
# (emp.bench=KEY=VAL,KEY=VAL...; see scripts/bench.sh), with these defaults:
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
PATH=$PATH:/usr/bin:/usr/sbin
B=/emp/tests/emp_bench
DEV=/dev/nvme0n1
FAULT_N=2000 FAULT_SIZE=64 FAULT_BUDGET=16	# faults timed, instance MiB, budget MiB
FAULT_N_NET=1000 FAULT_NET_SIZE=8 FAULT_NET_BUDGET=6	# the same over TCP and RDMA (slow under TCG)
FAULT_FULL_BUDGET=16 FAULT_NET_FULL_BUDGET=2	# faults at a full budget of dirty pages (0: none)
TPUT_SIZE=128 TPUT_BUDGET=32 TPUT_SECS=4	# 4x the DRAM budget
SWAP_WS=64 SWAP_OPS=40000 SWAP_SECS=8		# working set MiB, accesses, time cap
SWAP_GEOMS=4096/4096+65536/4096	# EMP block/subblock
SWAP_DISTS=uniform+zipf SWAP_PCTS=25+50+75 SWAP_THREADS=1+2	# the configurations
SWAP_PC0=1 SWAP_LOCAL=1		# the vm.page-cluster 0 control, the all-local row
SWAP_ROUNDS=3			# EMP and swap alternate this many times per configuration (medians)
AROUND_SIZE=32 AROUND_BUDGET=8 AROUND_ROUNDS=2	# fault-around on/off, alternating
AROUND_GEOMS=65536/4096+65536/65536+2097152/65536
VM_SIZE=32 VM_BUDGET=4 VM_ROUNDS=2 VM_SECS=3 VM_GEOM=65536/4096	# KVM guest on an instance
VMH_SIZE=32 VMH_BUDGET=8 VMH_ROUNDS=2 VMH_SUB=65536	# the same, 2 MiB blocks mapped whole or not
PARTS="fault tput around vm vmhuge swap"
# Opt-in part pool: empd against a static split of one DRAM pool (below).
POOL_MIB=48 POOL_SMALL_PCT=75 POOL_SIZE=64 POOL_MIN=4 POOL_MAX=40	# MiB; 3 instances
POOL_PHASES=24/24/0+0/24/24+24/0/24 POOL_SECS=15 POOL_ROUNDS=1	# working sets a/b/c per phase
# Opt-in part pollsweep: RDMA fault latency per poll setting (see below).
POLL_ROUNDS=3 POLL_SETTINGS=off+0+20+50+200
# The swap part's EMP runs once per value of an emp.ko parameter (none: once, as loaded).
SWAP_AB_PARAM= SWAP_AB_VALUES=
# Opt-in part ab: fault latency with an emp.ko parameter at each value (below).
AB_PARAM=spare_pages AB_VALUES=N+Y AB_ROUNDS=3 AB_TIERS=nvme+rdma
EMP_PARAMS=		# emp.ko parameters, e.g. emp.bench=EMP_PARAMS=clean_ahead=0
for a in $(cat /proc/cmdline); do
	case "$a" in emp.bench=*) eval "$(echo "${a#emp.bench=}" | tr , ' ')" ;; esac
done
# Lists are joined by + on the command line (emp.bench=PARTS=fault+swap).
PARTS=$(echo "$PARTS" | tr + ' ')
for v in SWAP_GEOMS SWAP_DISTS SWAP_PCTS SWAP_THREADS AROUND_GEOMS POLL_SETTINGS AB_VALUES AB_TIERS SWAP_AB_VALUES; do
	eval "$v=\$(echo \"\$$v\" | tr + ' ')"
done
FAULT_ROUNDS=2			# EMP and its contender alternate, this many times

n=0
ran() {	# ran "description" command...: the command's output goes to the log
	d=$1; shift
	t0=$(date +%s)
	"$@" > /tmp/bench.out 2>&1
	rc=$?
	grep -E '^# (BENCH|PROFILE) ' /tmp/bench.out
	n=$((n + 1))
	echo "# took $(( $(date +%s) - t0 ))s"
	if [ $rc -eq 0 ] && grep -q '^# BENCH ' /tmp/bench.out; then echo "ok $n $d ran"; else
		echo "not ok $n $d ran (exit $rc)"; grep -v '^# BENCH ' /tmp/bench.out | tail -n 15 | sed 's/^/#   /'
	fi
}
skip_all() {	# skip_all "description": a scenario whose set-up failed
	n=$((n + 1)); echo "not ok $n $1 ran (set-up failed)"
}
meta() { echo "# BENCH {\"bench\":\"meta\",\"key\":\"$1\",\"value\":\"$2\"}"; }

echo "TAP version 13"
n=$((n + 1))
# shellcheck disable=SC2086
if insmod /emp/modules/emp.ko $EMP_PARAMS; then echo "ok $n insmod emp.ko"; else echo "not ok $n insmod emp.ko"; fi
meta kernel "$(uname -r)"
meta emp_version "$(cat /sys/module/emp/version 2>/dev/null)"
meta emp_params "$EMP_PARAMS"
meta fio "$(fio --version 2>/dev/null)"
meta cpus "$(grep -c ^processor /proc/cpuinfo)"
# Two partitions of the one disk: EMP and fio on p1, swap on p2, so that EMP
# and swap (which both want the device to themselves) can alternate run by
# run; noise from the host then hits both alike. Without partitions: the
# whole disk, EMP's runs first, then swap's.
EMP_DEV=$DEV SWAP_DEV=$DEV
if printf 'o\nn\np\n1\n\n+640M\nn\np\n2\n\n\nw\n' | fdisk $DEV > /tmp/fdisk.log 2>&1 ||
   [ -b ${DEV}p2 ]; then
	for i in $(seq 30); do [ -b ${DEV}p2 ] && break; sleep 0.1; done
	if [ -b ${DEV}p1 ] && [ -b ${DEV}p2 ]; then EMP_DEV=${DEV}p1 SWAP_DEV=${DEV}p2; fi
fi
export EMP_TEST_DEV=$EMP_DEV
meta emp_device "$EMP_DEV $(cat /sys/class/block/${EMP_DEV#/dev/}/size) sectors"
meta swap_device "$SWAP_DEV $(cat /sys/class/block/${SWAP_DEV#/dev/}/size) sectors"
meta mem_kib "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
meta device "$DEV $(cat /sys/block/nvme0n1/size 2>/dev/null) sectors, model $(cat /sys/block/nvme0n1/device/model 2>/dev/null | tr -s ' ')"
meta page_cluster "$(cat /proc/sys/vm/page-cluster)"
[ -z "$SWAP_AB_PARAM" ] || meta swap_ab "EMP runs once per $SWAP_AB_PARAM value: $SWAP_AB_VALUES"
meta zswap "$(cat /sys/module/zswap/parameters/enabled 2>/dev/null || echo absent)"

# fio_lat NAME OFFSET SIZE N: 4 KiB random reads, QD1, O_DIRECT, psync.
fio_lat() {
	fio --name="$1" --filename=$EMP_DEV --rw=randread --bs=4k --iodepth=1 --direct=1 \
		--ioengine=psync --offset="$2" --size="$3" --number_ios="$4" --randrepeat=1 \
		--output-format=json > /tmp/fio.json || return 1
	# The first percentile block of the JSON is read.clat_ns (psync: slat 0).
	awk -v n="$4" '
		/"percentile"/ && !seen { inp = 1; seen = 1 }
		inp && /"50.000000"/ { gsub(/[^0-9]/, "", $3); p50 = $3 }
		inp && /"99.000000"/ { gsub(/[^0-9]/, "", $3); p99 = $3 }
		inp && /}/ { inp = 0 }
		/"mean"/ && !m && seen { v = $3; gsub(/[^0-9.]/, "", v); m = v }
		END { if (p50 == "") exit 1
		      printf "# BENCH {\"bench\":\"fault\",\"contender\":\"fio\",\"tier\":\"nvme\",\"n\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}\n", n, p50 / 1000, p99 / 1000, m / 1000 }' /tmp/fio.json
}

# ib_read_lat -s 4096 over rxe0 (loopback through eth0, like the RDMA tier).
# iblat N [OPTION]: perftest busy-polls the completion queue.
iblat() {
	ib_read_lat -d rxe0 -s 4096 -n "$1" -F $2 > /tmp/iblat-srv.log 2>&1 &
	srv=$!
	sleep 1
	ib_read_lat -d rxe0 -s 4096 -n "$1" -F $2 10.0.2.15 > /tmp/iblat.log 2>&1
	rc=$?
	wait $srv
	[ $rc -eq 0 ] || { cat /tmp/iblat.log; return 1; }
	# bytes iters t_min t_max t_typical t_avg t_stdev 99% 99.9%
	awk -v n="$1" -v c="ib_read_lat${2:+ $2}" '$1 == 4096 && NF >= 8 {
		printf "# BENCH {\"bench\":\"fault\",\"contender\":\"%s\",\"tier\":\"rdma\",\"n\":%d,\"p50_us\":%s,\"p99_us\":%s,\"mean_us\":%s}\n", c, n, $5, $8, $6; ok = 1 }
		END { exit !ok }' /tmp/iblat.log || { cat /tmp/iblat.log; return 1; }
}

case " $PARTS " in *" fault "*)
	# NVMe: EMP faults, then fio on the same bytes of the same device
	# (written by EMP just before, so neither reads holes); alternating.
	for r in $(seq $FAULT_ROUNDS); do
		ran "fault latency, EMP on NVMe, round $r" $B fault --tier bdev --label nvme \
			--size $FAULT_SIZE --budget $FAULT_BUDGET --n $FAULT_N \
			--full $FAULT_FULL_BUDGET --threads 2
		ran "fault latency, fio 4 KiB randread QD1 O_DIRECT on $EMP_DEV, round $r" \
			fio_lat raw 0 ${FAULT_SIZE}m $FAULT_N
	done

	# The NUMA node tier: node 1 of the guest, without CPUs (as a CXL
	# expander shows up; scripts/guest.sh), against the NVMe rows above.
	ran "fault latency, EMP on NUMA node 1 (node tier)" $B fault --tier node --node 1 \
		--label node --size $FAULT_SIZE --budget $FAULT_BUDGET --n $FAULT_N \
		--full $FAULT_FULL_BUDGET --threads 2

	# TCP: vmd on loopback, then a plain 4 KiB ping-pong on loopback.
	vmd_start /tmp/vmd-tcp.log --tcp -a 127.0.0.1 -p 19680 -m $((FAULT_SIZE + 16)) > /dev/null
	ran "fault latency, EMP on TCP (vmd on 127.0.0.1)" $B fault --tier tcp \
		--addr 127.0.0.1 --port 19680 --size $FAULT_NET_SIZE --budget $FAULT_NET_BUDGET --n $FAULT_N_NET \
		--full $FAULT_NET_FULL_BUDGET --threads 2
	vmd_stop
	# The same with every byte on two donors (replicas=2: EMP_TIER_F_REPLICA),
	# shown against the row above: what replication costs a fault and a write.
	vmd_start /tmp/vmd-tcp.log --tcp -a 127.0.0.1 -p 19680 -m $((FAULT_NET_SIZE + 16)) > /dev/null
	v1=$VMD
	vmd_start /tmp/vmd-tcp2.log --tcp -a 127.0.0.1 -p 19685 -m $((FAULT_NET_SIZE + 16)) > /dev/null
	ran "fault latency, EMP on TCP with replicas=2 (two vmds on 127.0.0.1)" $B fault --tier tcp \
		--label tcp2 --addr 127.0.0.1 --port 19680 --replica-port 19685 --size $FAULT_NET_SIZE \
		--budget $FAULT_NET_BUDGET --n $FAULT_N_NET --full $FAULT_NET_FULL_BUDGET --threads 2
	vmd_stop
	VMD=$v1 vmd_stop
	$B pingserve 19681 > /dev/null 2>&1 &
	ps=$!
	ran "4 KiB TCP ping-pong on 127.0.0.1" $B ping 127.0.0.1 19681 $FAULT_N_NET
	kill $ps; wait $ps 2>/dev/null

	# RDMA: Soft-RoCE on eth0, emp_rdma.ko, vmd on rxe0; then ib_read_lat.
	if rxe_load && rdma link add rxe0 type rxe netdev eth0 &&
	   insmod /emp/modules/emp_rdma.ko; then
		rxe_wait > /dev/null
		vmd_start /tmp/vmd-rdma.log -d rxe0 -a 10.0.2.15 -p 19682 -m $((FAULT_SIZE + 16)) > /dev/null
		ran "fault latency, EMP on RDMA (vmd on rxe0)" $B fault --tier rdma \
			--addr 10.0.2.15 --port 19682 --size $FAULT_NET_SIZE --budget $FAULT_NET_BUDGET --n $FAULT_N_NET \
			--full $FAULT_NET_FULL_BUDGET --threads 2
		vmd_stop
		# (perftest's -e, sleeping on completion events, reports "inf" latencies.)
		ran "ib_read_lat -s 4096 over rxe0" iblat $FAULT_N_NET
	else
		skip_all "fault latency, EMP on RDMA"; skip_all "ib_read_lat over rxe0"
	fi
	;;
esac

# Opt-in (PARTS=pollsweep): the RDMA tier's fault latency (cold, 1 thread)
# under each of POLL_SETTINGS (off: emp.ko poll_reads=N, the interrupt-
# driven way; N: poll_reads=Y poll_us=N), the settings taking turns, then
# ib_read_lat, in each of POLL_ROUNDS rounds, so that host noise hits all
# alike. In the table the EMP column names the setting (pN: poll_us=N).
pollrun() {	# pollrun SETTING
	if [ "$1" = off ]; then echo N > /sys/module/emp/parameters/poll_reads
	else echo Y > /sys/module/emp/parameters/poll_reads
		echo "$1" > /sys/module/emp/parameters/poll_us; fi
	$B fault --tier rdma --addr 10.0.2.15 --port 19683 --size $FAULT_NET_SIZE \
		--budget $FAULT_NET_BUDGET --n $FAULT_N_NET --full 0 > /tmp/pollrun.out
	rc=$?
	s=$1; [ "$s" = off ] || s=p$s
	sed "s/\"mode\":\"cold\"/\"mode\":\"$s\"/" /tmp/pollrun.out
	return $rc
}
case " $PARTS " in *" pollsweep "*)
	if { [ -d /sys/class/infiniband/rxe0 ] || { rxe_load &&
	     rdma link add rxe0 type rxe netdev eth0; }; } &&
	   { [ -d /sys/module/emp_rdma ] || insmod /emp/modules/emp_rdma.ko; }; then
		rxe_wait > /dev/null
		vmd_start /tmp/vmd-poll.log -d rxe0 -a 10.0.2.15 -p 19683 -m $((FAULT_NET_SIZE + 16)) \
			> /dev/null
		for r in $(seq $POLL_ROUNDS); do
			for s in $POLL_SETTINGS; do
				ran "fault latency, EMP on RDMA, poll setting $s, round $r" pollrun $s
			done
			ran "ib_read_lat -s 4096 over rxe0, round $r" iblat $FAULT_N_NET
		done
		vmd_stop
		echo Y > /sys/module/emp/parameters/poll_reads
	else
		skip_all "fault latency, EMP on RDMA, poll settings"
	fi
	;;
esac

# Opt-in (PARTS=ab): the fault latency rows (cold and full, 1 and 2
# threads) of each tier in AB_TIERS (nvme, rdma) with the emp.ko parameter
# AB_PARAM at each of AB_VALUES, the values taking turns, then the tier's
# contender (fio, ib_read_lat), in each of AB_ROUNDS rounds, so that host
# noise hits all alike. The tier column says TIER:VALUE; each row is shown
# against the contender run of its round.
abrun() {	# abrun TIER VALUE: one fault row set
	echo "$2" > "/sys/module/emp/parameters/$AB_PARAM" || return 1
	case $1 in
	nvme) $B fault --tier bdev --label "nvme:$2" --size $FAULT_SIZE --budget $FAULT_BUDGET \
		--n $FAULT_N --full $FAULT_FULL_BUDGET --threads 2 ;;
	rdma) $B fault --tier rdma --label "rdma:$2" --addr 10.0.2.15 --port 19684 \
		--size $FAULT_NET_SIZE --budget $FAULT_NET_BUDGET --n $FAULT_N_NET \
		--full $FAULT_NET_FULL_BUDGET --threads 2 ;;
	esac
}
abcontender() {	# abcontender TIER: its contender, once per value's label
	case $1 in
	nvme) fio_lat raw 0 ${FAULT_SIZE}m $FAULT_N > /tmp/ab.out || return 1 ;;
	rdma) iblat $FAULT_N_NET > /tmp/ab.out || return 1 ;;
	esac
	for v in $AB_VALUES; do
		sed "s/\"tier\":\"$1\"/\"tier\":\"$1:$v\"/" /tmp/ab.out
	done
}
case " $PARTS " in *" ab "*)
	orig=$(cat "/sys/module/emp/parameters/$AB_PARAM")
	meta ab "$AB_PARAM: $AB_VALUES (was $orig)"
	for t in $AB_TIERS; do
		if [ $t = rdma ]; then
			{ [ -d /sys/class/infiniband/rxe0 ] || { rxe_load &&
			  rdma link add rxe0 type rxe netdev eth0; }; } &&
			{ [ -d /sys/module/emp_rdma ] || insmod /emp/modules/emp_rdma.ko; } &&
			rxe_wait > /dev/null || { skip_all "fault latency A/B on RDMA"; continue; }
			vmd_start /tmp/vmd-ab.log -d rxe0 -a 10.0.2.15 -p 19684 \
				-m $((FAULT_SIZE + 16)) > /dev/null
		fi
		for r in $(seq $AB_ROUNDS); do
			for v in $AB_VALUES; do
				ran "fault latency on $t, $AB_PARAM=$v, round $r" abrun $t $v
			done
			ran "contender of $t, round $r" abcontender $t
		done
		[ $t = rdma ] && vmd_stop
	done
	echo "$orig" > "/sys/module/emp/parameters/$AB_PARAM"
	;;
esac

# Opt-in (PARTS=profile, with perf in the initramfs: scripts/bench.sh adds
# it when the host has one): where the CPU time of an RDMA fault goes, and
# of ib_read_lat's reads on the same link. perf samples every vCPU on the
# cpu-clock (TCG has no PMU) at PROF_HZ; for EMP only while faults are
# timed (emp_bench switches it through perf's control FIFO), for
# ib_read_lat over its whole run of PROF_N reads (its set-up is short
# against them). The hottest symbols, with their sample counts, are logged
# as "# PROFILE" lines; samples / PROF_HZ / reads is CPU time per read.
PROF_N=10000 PROF_HZ=2000
profrun() {	# profrun NAME COMMAND...: perf over COMMAND, then its top symbols
	name=$1; shift
	rm -f /tmp/perf.ctl; mkfifo /tmp/perf.ctl
	if [ "$name" = emp ]; then
		perf record -a -e cpu-clock -F $PROF_HZ -D -1 --control fifo:/tmp/perf.ctl \
			-o /tmp/perf-$name.data > /tmp/perf-$name.log 2>&1 &
	else
		perf record -a -e cpu-clock -F $PROF_HZ -o /tmp/perf-$name.data \
			> /tmp/perf-$name.log 2>&1 &
	fi
	perf=$!
	sleep 2
	EMP_PERF_CTL=/tmp/perf.ctl "$@"
	rc=$?
	kill -INT $perf; wait $perf
	[ $rc -eq 0 ] || { cat /tmp/perf-$name.log; return 1; }
	echo "# PROFILE $name: samples at $PROF_HZ Hz per vCPU, $PROF_N reads"
	perf report -i /tmp/perf-$name.data --stdio -n --sort sym --no-children 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 60 | sed "s/^/# PROFILE $name: /"
}
case " $PARTS " in *" profile "*)
	if ! command -v perf > /dev/null; then
		skip_all "profile: no perf in the initramfs"
	elif { [ -d /sys/class/infiniband/rxe0 ] || { rxe_load &&
	       rdma link add rxe0 type rxe netdev eth0; }; } &&
	     { [ -d /sys/module/emp_rdma ] || insmod /emp/modules/emp_rdma.ko; }; then
		rxe_wait > /dev/null
		vmd_start /tmp/vmd-prof.log -d rxe0 -a 10.0.2.15 -p 19684 -m 96 > /dev/null
		ran "profile of EMP RDMA faults (cold, 1 thread)" profrun emp $B fault --tier rdma \
			--addr 10.0.2.15 --port 19684 --size 64 --budget 48 --n $PROF_N --full 0
		vmd_stop
		ran "profile of ib_read_lat over rxe0" profrun iblat iblat $PROF_N
	else
		skip_all "profile of RDMA faults"
	fi
	;;
esac

case " $PARTS " in *" tput "*)
	for g in 4096/4096 65536/4096 2097152/65536; do
		ran "throughput, EMP on NVMe, block/subblock $g" $B tput --tier bdev \
			--block ${g%/*} --sub ${g#*/} --size $TPUT_SIZE --budget $TPUT_BUDGET --secs $TPUT_SECS
	done
	;;
esac

case " $PARTS " in *" around "*)
	for g in $AROUND_GEOMS; do
		ran "fault-around on and off, EMP on NVMe, block/subblock $g" $B around --tier bdev \
			--block ${g%/*} --sub ${g#*/} --size $AROUND_SIZE --budget $AROUND_BUDGET \
			--n $AROUND_ROUNDS
	done
	;;
esac

case " $PARTS " in *" vm "*)
	if { modprobe kvm_amd 2>/dev/null || modprobe kvm_intel; } && [ -c /dev/kvm ]; then
		ran "VM mode: KVM guest on an instance, EMP on NVMe, block/subblock $VM_GEOM" $B vm \
			--tier bdev --block ${VM_GEOM%/*} --sub ${VM_GEOM#*/} --size $VM_SIZE \
			--budget $VM_BUDGET --n $VM_ROUNDS --secs $VM_SECS
	else
		skip_all "VM mode: no /dev/kvm"
	fi
	;;
esac

# Opt-in (PARTS=vmtcp): the same with the instance on remote DRAM, vmd over
# TCP on loopback in this guest. Not in the default set: one run of three
# here hung (the tier dropped vmd's connection after 30 s without a reply,
# then the guest went silent) and one died of an int3 Oops in __schedule
# (TCG's cross-modifying code as KVM flips static keys); see docs/bench.md.
case " $PARTS " in *" vmtcp "*)
	if { modprobe kvm_amd 2>/dev/null || modprobe kvm_intel; } && [ -c /dev/kvm ]; then
		vmd_start /tmp/vmd-vm.log --tcp -a 127.0.0.1 -p 19683 -m $((VM_SIZE + 16)) > /dev/null
		ran "VM mode: KVM guest on an instance, EMP on TCP (vmd on 127.0.0.1), block/subblock $VM_GEOM" \
			$B vm --tier tcp --addr 127.0.0.1 --port 19683 --block ${VM_GEOM%/*} \
			--sub ${VM_GEOM#*/} --size $VM_SIZE --budget $VM_BUDGET --n $VM_ROUNDS --secs $VM_SECS
		vmd_stop
	else
		skip_all "VM mode on TCP: no /dev/kvm"
	fi
	;;
esac

case " $PARTS " in *" vmhuge "*)
	if { modprobe kvm_amd 2>/dev/null || modprobe kvm_intel; } && [ -c /dev/kvm ]; then
		ran "VM mode: 2 MiB blocks mapped whole (huge_map) on and off, EMP on NVMe, subblock $VMH_SUB" \
			$B vmhuge --tier bdev --block 2097152 --sub $VMH_SUB --size $VMH_SIZE \
			--budget $VMH_BUDGET --n $VMH_ROUNDS
	else
		skip_all "VM mode with 2 MiB blocks: no /dev/kvm"
	fi
	;;
esac

case " $PARTS " in *" swap "*)
	swap_up() {
		mkdir -p /sys/fs/cgroup
		{ grep -q ' /sys/fs/cgroup cgroup2' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup; } &&
		echo +memory > /sys/fs/cgroup/cgroup.subtree_control &&
		mkswap $SWAP_DEV > /dev/null && swapon $SWAP_DEV &&
		meta swap "$(tail -n 1 /proc/swaps | tr -s ' \t' ' ')"
	}
	emp_runs() {	# emp_runs DIST PCT THREADS
		for g in $SWAP_GEOMS; do
			for v in ${SWAP_AB_VALUES:-_}; do
				ran "swap comparison, EMP $g${SWAP_AB_PARAM:+ $SWAP_AB_PARAM=$v}, $1, $2 % local, $3 thread(s)" \
					swap_emp $v --block ${g%/*} --sub ${g#*/} --ws $SWAP_WS \
					--local $((SWAP_WS * $2 / 100)) --dist $1 --ops $SWAP_OPS \
					--secs $SWAP_SECS --threads $3
			done
		done
	}
	swap_emp() {	# swap_emp VALUE ARGS: one EMP run, SWAP_AB_PARAM at VALUE (_: as is)
		v=$1; shift
		[ "$v" = _ ] || echo "$v" > "/sys/module/emp/parameters/$SWAP_AB_PARAM" || return 1
		$B swap --mode emp "$@" > /tmp/swap-emp.out
		rc=$?
		if [ "$v" = _ ]; then cat /tmp/swap-emp.out
		else sed "s/\"contender\":\"emp\"/\"contender\":\"emp\",\"variant\":\"$v\"/" /tmp/swap-emp.out; fi
		return $rc
	}
	swap_runs() {	# swap_runs DIST PCT THREADS: the default vm.page-cluster, then 0
		for pc in default $([ "$SWAP_PC0" = 1 ] && echo 0); do
			d="swap comparison, Linux swap (vm.page-cluster $pc), $1, $2 % local, $3 thread(s)"
			if [ "$swap_ok" != 1 ]; then skip_all "$d"; continue; fi
			cg=/sys/fs/cgroup/bench-$1-$2-$3-$pc
			ran "$d" $B swap --mode anon --cgroup $cg --ws $SWAP_WS \
				--local $((SWAP_WS * $2 / 100)) --dist $1 --ops $SWAP_OPS --secs $SWAP_SECS \
				--threads $3 $([ $pc = 0 ] && echo --page-cluster 0)
			rmdir $cg 2>/dev/null
		done
	}
	local_runs() {	# local_runs DIST: all in DRAM, no limit, per thread count
		[ "$SWAP_LOCAL" = 1 ] || return 0
		for t in $SWAP_THREADS; do
			ran "swap comparison, all-local anonymous memory, $1, $t thread(s)" $B swap \
				--mode local --ws $SWAP_WS --dist $1 --ops $SWAP_OPS --secs $SWAP_SECS --threads $t
		done
	}
	if [ "$SWAP_DEV" != "$EMP_DEV" ]; then
		swap_ok=0; swap_up && swap_ok=1
		for dist in $SWAP_DISTS; do
			local_runs $dist
			for pct in $SWAP_PCTS; do for t in $SWAP_THREADS; do
				for r in $(seq $SWAP_ROUNDS); do
					emp_runs $dist $pct $t; swap_runs $dist $pct $t
				done
			done; done
		done
	else
		# One device: EMP first (it opens the device exclusively), then swap.
		for dist in $SWAP_DISTS; do
			local_runs $dist
			for pct in $SWAP_PCTS; do for t in $SWAP_THREADS; do for r in $(seq $SWAP_ROUNDS); do
				emp_runs $dist $pct $t
			done; done; done
		done
		swap_ok=0; swap_up && swap_ok=1
		for dist in $SWAP_DISTS; do for pct in $SWAP_PCTS; do for t in $SWAP_THREADS; do
			for r in $(seq $SWAP_ROUNDS); do swap_runs $dist $pct $t; done
		done; done; done
	fi
	[ "$swap_ok" = 1 ] && swapoff $SWAP_DEV
	;;
esac

# Opt-in (PARTS=pool): three instances of POOL_SIZE MiB (one NVMe
# partition each, the disk partitioned anew: this part comes last) share
# POOL_MIB MiB of DRAM. emp_bench pool runs one thread per instance
# through POOL_PHASES (working sets a/b/c in MiB, 0: idle) of POOL_SECS s.
# Three runs, each on fresh instances written once and evicted: the pool
# split statically into equal budgets (no balancer); empd balancing the
# same pool; empd balancing POOL_SMALL_PCT % of it. POOL_ROUNDS repeats the
# three in turn so host noise hits all alike.
POOL_NAMES="pool-a pool-b pool-c"
pool_conf() {	# pool_conf MIB: empd's configuration for a pool of MIB MiB
	cat > /tmp/empd-pool.conf <<-EOF
	pool ${1}M
	interval_ms 1000
	socket /tmp/empd-pool.sock
	instance pool-*
	  min ${POOL_MIN}M
	  max ${POOL_MAX}M
	  idle_age 1
	EOF
}
pool_run() {	# pool_run CONTENDER POOL_MIB BALANCED(0|1)
	share=$(($2 / 3)) i=0 rc=0
	for p in $POOL_NAMES; do
		i=$((i + 1))
		empctl create $p --spec "${DEV}p$i:$POOL_SIZE:0|dram:$share" > /dev/null || return 1
	done
	names=$(echo $POOL_NAMES | tr ' ' +)
	$B pool --prep --names $names --phases $POOL_PHASES --budget $share || rc=1
	if [ $rc = 0 ] && [ "$3" = 1 ]; then
		pool_conf $2
		rm -f /tmp/empd-pool.sock
		empd -c /tmp/empd-pool.conf > /tmp/empd-pool.log 2>&1 &
		empd=$!
		i=0
		while [ ! -S /tmp/empd-pool.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		[ -S /tmp/empd-pool.sock ] || rc=1
	fi
	[ $rc = 0 ] && { $B pool --names $names --phases $POOL_PHASES --secs $POOL_SECS --pool $2 \
		--contender $1 || rc=1; }
	if [ "$3" = 1 ] && [ -n "${empd:-}" ]; then
		kill -TERM $empd; wait $empd || rc=1
		empd=
	fi
	for p in $POOL_NAMES; do empctl destroy $p > /dev/null 2>&1; done
	return $rc
}
pool_disk() {	# three partitions of POOL_SIZE + 8 MiB, none of them in use
	pz=$((POOL_SIZE + 8))
	printf 'o\nn\np\n1\n\n+%dM\nn\np\n2\n\n+%dM\nn\np\n3\n\n+%dM\nw\n' $pz $pz $pz |
		fdisk $DEV > /tmp/fdisk-pool.log 2>&1
	for i in $(seq 30); do [ -b ${DEV}p3 ] && break; sleep 0.1; done
	[ -b ${DEV}p3 ] &&
		[ "$(cat /sys/class/block/${DEV#/dev/}p1/size)" -eq $((pz * 2048)) ] 2> /dev/null
}
pool_decisions() {	# empd's decisions of the last run, for the log
	grep -E ' (grow|shrink) ' /tmp/empd-pool.log | tail -n 60 | sed 's/^/# empd: /'
}
case " $PARTS " in *" pool "*)
	small=$((POOL_MIB * POOL_SMALL_PCT / 100))
	if ! command -v empd > /dev/null; then
		skip_all "pool: no empd in the guest"
	elif ! pool_disk; then
		sed 's/^/#   /' /tmp/fdisk-pool.log; skip_all "pool: three partitions of $DEV"
	else
		meta pool_phases "$POOL_PHASES"
		for r in $(seq $POOL_ROUNDS); do
			ran "pool: static equal split of $POOL_MIB MiB, round $r" pool_run static $POOL_MIB 0
			ran "pool: empd balancing $POOL_MIB MiB, round $r" pool_run empd $POOL_MIB 1
			pool_decisions
			ran "pool: empd balancing $small MiB ($POOL_SMALL_PCT %), round $r" \
				pool_run empd-small $small 1
			pool_decisions
		done
	fi
	;;
esac

echo "1..$n"
