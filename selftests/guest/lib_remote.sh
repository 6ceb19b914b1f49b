# Helpers of the guest tests with remote tiers (sourced, after tap.sh):
# Soft-RoCE on the guest's virtio NIC, and a vmd started in the background
# and waited for.

# rxe_load: the Soft-RoCE driver and the RDMA connection manager with its
# user-space interface (vmd and the kernel's RDMA tier need both).
rxe_load() { modprobe -a rdma_rxe rdma_cm rdma_ucm; }

# rxe_wait: up to 5 s for rxe0's port to be ACTIVE; the links are shown
# when it is not.
rxe_wait() {
	local i
	for i in $(seq 50); do
		rdma link show rxe0/1 | grep -q "state ACTIVE" && return 0
		sleep 0.1
	done
	rdma link show
	return 1
}

# rxe_up: rxe0 on eth0 (10.0.2.15), ACTIVE.
rxe_up() { rdma link add rxe0 type rxe netdev eth0 && rxe_wait; }

# rxe_down: rxe0 goes, then rdma_ucm and rdma_rxe are unloaded; the loaded
# modules are shown when rdma_rxe cannot go.
rxe_down() {
	rdma link delete rxe0 || return 1
	rmmod rdma_ucm 2>/dev/null
	rmmod rdma_rxe && return 0
	lsmod
	return 1
}

# vmd_start LOG ARGS...: vmd ARGS in the background, its log (stderr) in
# LOG, its pid in VMD; waits up to 10 s for it to serve. Fails, showing
# the log, when vmd exits or does not serve by then.
vmd_start() {
	local log=$1 i=0
	shift
	# Emptied first: the background job opens it only after the fork, and
	# the wait below must not find an earlier vmd's "serving" in it.
	: > "$log"
	vmd "$@" 2> "$log" &
	VMD=$!
	while ! grep -q serving "$log"; do
		if [ $i -ge 100 ] || ! kill -0 "$VMD" 2>/dev/null; then
			cat "$log"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# vmd_stop: SIGTERM to the vmd of vmd_start, and wait for it.
vmd_stop() {
	kill "$VMD" 2>/dev/null
	wait "$VMD" 2>/dev/null
}
