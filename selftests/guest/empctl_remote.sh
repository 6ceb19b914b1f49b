#!/bin/sh
# The tools with a remote tier: vmd serves TCP on the loopback with a secret;
# empctl creates an instance on it with --secret-file (a wrong secret is
# refused), and the preload library puts a program's heap on it with
# EMP_PMEM_SECRET_FILE. The heap fits the DRAM budget: paging over TCP,
# slow in an emulated guest, is emp_remote_test's subject.
. /emp/tests/tap.sh
. /emp/tests/lib_remote.sh
PRELOAD=/emp/bin/libemp-preload.so
PORT=19741
SECRET=/tmp/remote.secret
WRONG=/tmp/remote.wrong
LOG=/tmp/remote-vmd.log
echo "tools-remote-$$" > $SECRET
echo "not-the-secret" > $WRONG


create_remote() {
	run 0 empctl create r --spec "tcp:127.0.0.1:64:$PORT|dram:8" --secret-file $SECRET &&
	grep -q '^created r: 64 MiB on 1 tier, DRAM budget 8 MiB' /tmp/o &&
	run 0 empctl stat r --json && grep -q '"tiers":\[{"index":0,"kind":"tcp","size":67108864,' /tmp/o &&
	run 0 empctl destroy r
}

wrong_secret() {
	run 1 empctl create w --spec "tcp:127.0.0.1:64:$PORT" --secret-file $WRONG &&
	grep -q '^empctl: create w: ' /tmp/e && ! [ -e /dev/emp-w ]
}

preload_remote() {
	EMP_PMEM_PATH="tcp:127.0.0.1:64:$PORT|dram:8" EMP_PMEM_SECRET_FILE=$SECRET \
		EMP_PMEM_VERBOSE=1 LD_PRELOAD=$PRELOAD ./heap_churn 4 > /tmp/o 2> /tmp/e
	rc=$?
	cat /tmp/o /tmp/e
	i=0
	while ls /dev/emp-preload-* >/dev/null 2>&1 && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	[ $rc -eq 0 ] && grep -q ': ok$' /tmp/o && grep -q 'heap of pid .* on instance preload-' /tmp/e &&
	grep -q ' at exit: faults [1-9][0-9]*, ' /tmp/e &&
	! ls /dev/emp-preload-* >/dev/null 2>&1
}

tap_plan 4
tap_check "vmd serves TCP on 127.0.0.1:$PORT with a secret" \
	vmd_start $LOG -m 128 -p $PORT -a 127.0.0.1 --tcp --secret-file $SECRET
tap_check "empctl create --secret-file on a TCP tier; stat shows it; destroy" create_remote
tap_check "a wrong secret: create fails with exit 1 and leaves nothing" wrong_secret
tap_check "preload: a program heap on the TCP tier (paging over TCP is emp_remote_test)" preload_remote
vmd_stop
tap_exit
