#!/bin/sh
# vmd over Soft-RoCE: rdma_rxe on the virtio NIC, one vmd serving rxe0 and
# TCP, vmd-client's checks over RDMA (with a TCP connection joining an RDMA
# session) and over TCP, then SIGTERM with an RDMA session open.
# vmd-client prints its own TAP streams between this script's lines.
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
PATH=$PATH:/usr/bin:/usr/sbin
ip=10.0.2.15 port=19675 secret=guest-rdma-secret
log=/tmp/vmd-rdma.log

tap_plan 8
tap_check "rdma_rxe and rdma_ucm load" rxe_load
tap_check "rxe0 on eth0 is ACTIVE" rxe_up
tap_check "vmd serves rxe0 and TCP on port $port" \
	vmd_start $log -v -m 256 -p $port -d rxe0 --tcp --secret $secret
vmd=$VMD

# On a failure: vmd's log, and where vmd's main thread waits if it does
# (a blocked rdma_destroy_id shows as cm_destroy_id here and in dmesg).
vmd_diag() {
	tail -n 20 $log | sed 's/^/#   /'
	echo "#   vmd $(grep '^State' /proc/$vmd/status 2>/dev/null), waiting in $(cat /proc/$vmd/wchan 2>/dev/null)"
	sed 's/^/#   kernel stack: /' /proc/$vmd/stack 2>/dev/null
	dmesg | grep cm_destroy_id | tail -n 3 | sed 's/^/#   /'
}
/emp/tests/vmd-client --rdma --also-tcp --size 4 --secret $secret $ip $port
if [ $? -eq 0 ]; then tap_ok "vmd-client over RDMA passed"; else
	tap_not_ok "vmd-client over RDMA passed"; vmd_diag
fi
/emp/tests/vmd-client --size 4 --secret $secret $ip $port
if [ $? -eq 0 ]; then tap_ok "vmd-client over TCP (guest) passed"; else
	tap_not_ok "vmd-client over TCP (guest) passed"; vmd_diag
fi

# SIGTERM with an RDMA session open: closed, freed, exit status 0.
/emp/tests/vmd-client --hello --hold 20 --rdma --size 4 --secret $secret $ip $port > /tmp/held &
held=$!
for i in $(seq 50); do grep -q ^OK /tmp/held && break; sleep 0.1; done
kill -TERM $vmd
for i in $(seq 50); do kill -0 $vmd 2>/dev/null || break; sleep 0.1; done
wait $vmd
rc=$?
if [ $rc -eq 0 ] && grep -q ^OK /tmp/held && grep -q 'rdma: closed 1 connection' $log &&
   grep -q 'freed, 4M back' $log; then
	tap_ok "SIGTERM with an RDMA client connected: exit 0, session freed"
else
	tap_not_ok "SIGTERM with an RDMA client connected: exit 0, session freed"
	echo "#   exit status $rc, held: $(cat /tmp/held)"; tail -n 8 $log | sed 's/^/#   /'
fi
kill $held 2>/dev/null
wait $held 2>/dev/null

# No rdma_destroy_id stalled in the kernel meanwhile (6.10+ report a wait of
# over 10 s; vmd's thread is stuck while it lasts).
tap_check "no cm_id teardown stalled (cm_destroy_id_wait_timeout)" sh -c '
	! dmesg | grep cm_destroy_id_wait_timeout'
tap_check "rxe0 and rdma_rxe go away" rxe_down
tap_exit
