#!/bin/sh
# Build EMP's kernel modules in a DKMS build tree (see dkms.conf): run the
# kernel feature probes of kmod/compat with the generator build-kmod.sh
# uses too (kmod/compat/probe.sh, which writes kmod/emp_config.h), then
# build kmod/ against the given headers. The same steps as
# scripts/build-kmod.sh, without its cache and warning policy, for machines
# that only have the installed sources.
# Usage: dkms-build.sh KERNEL_SOURCE_DIR
set -eu
kdir=${1:?usage: dkms-build.sh KERNEL_SOURCE_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
probe=$top/kmod/compat
jobs=$(nproc 2>/dev/null || echo 1)

sh "$probe/probe.sh" "$probe" "$top/kmod/emp_config.h" "$top/kmod/probe.log" make -C "$kdir"
make -j"$jobs" -C "$kdir" M="$top/kmod" EMP_TOP="$top" modules
