#!/usr/bin/env bash
# Install the Debian packages the build, the tests and the guests need
# (only those missing). Never touches the host kernel. debootstrap makes the
# build chroot of the sid line (scripts/chroot.sh); flex, bison and libssl-dev
# build the debug kernel (scripts/debug-kernel.sh); libcurl4-openssl-dev
# builds vmd (--etcd), whose host test runs etcd, etcdctl and python3
# (selftests/vmd/etcd-test.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="gcc make libc6-dev libelf-dev bc kmod file cpio xz-utils zstd dwarves
	busybox-static qemu-system-x86 qemu-utils debootstrap debian-archive-keyring
	clang-14 libclang-rt-14-dev libmimalloc-dev dkms groff-base
	librdmacm-dev libibverbs-dev ibverbs-providers iproute2 libnl-3-dev libnl-genl-3-dev
	fio perftest gnuplot-nox linux-perf
	flex bison libssl-dev
	libcurl4-openssl-dev etcd-server etcd-client python3
	${EMP_EXTRA_PKGS:-}"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && { emp_log "deps: all installed"; exit 0; }
emp_log "deps: installing$missing"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
