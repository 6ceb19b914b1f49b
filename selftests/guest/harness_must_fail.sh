#!/bin/sh
# Used by the host to prove the guest runner catches kernel warnings: this
# test passes, but leaves a WARNING line in the kernel log, so the run must
# fail (scripts/test.sh expects it to).
. /emp/tests/tap.sh
tap_plan 1
echo "WARNING: emp harness self-check, this run must be reported as failed" > /dev/kmsg
tap_ok "left a WARNING in the kernel log"
tap_exit
