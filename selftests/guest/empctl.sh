#!/bin/sh
# empctl talks to the loaded emp.ko through EMP_IOC_INFO.
. /emp/tests/tap.sh
tap_plan 6
tap_check "empctl info reports ABI 1 and a version" \
	sh -c 'empctl info | grep -Eq "^emp.ko version [0-9]+\.[0-9]+\.[0-9]+, ABI 1 "'
tap_check "empctl info reports the block and subblock limits" \
	sh -c 'empctl info | grep -q "^block: *4K..2M" && empctl info | grep -q "^subblock: *4K..128K"'
tap_check "empctl info --json gives the ABI and instance count" \
	sh -c 'empctl info --json | grep -q "\"abi_version\":1,.*\"instances\":0"'
tap_check "empctl --help exits 0 and lists info" sh -c 'empctl --help | grep -q "^  info"'
tap_check "empctl with an unknown command exits 2" sh -c 'empctl frobnicate; test $? -eq 2'
tap_check "empctl without the device exits 1 with a message" \
	sh -c 'EMP_CTL_PATH=/nonexistent empctl info 2>&1 | grep -q "cannot open /nonexistent"; \
	       EMP_CTL_PATH=/nonexistent empctl info 2>/dev/null; test $? -eq 1'
tap_exit
