#!/usr/bin/env bash
# Extract the kselftest harness headers (kselftest.h, kselftest_harness.h)
# from Debian's linux-source package into $EMP_CACHE/kselftest/include.
# They are never copied into the repository. A second run reuses the cache.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dest=$EMP_CACHE/kselftest
inc=$dest/include
if [ -f "$inc/kselftest_harness.h" ] && [ -f "$inc/kselftest.h" ]; then
	echo "$inc"
	exit 0
fi
pkg=${EMP_KSELFTEST_PKG:-linux-source-6.1}
tmp=$dest/tmp
rm -rf "$tmp"
mkdir -p "$tmp" "$inc"
emp_log "kselftest: downloading $pkg"
(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null) ||
	emp_die "apt-get download $pkg failed"
dpkg -x "$tmp"/*.deb "$tmp/x"
tarball=$(ls "$tmp"/x/usr/src/linux-source-*.tar.* | head -n 1)
[ -f "$tarball" ] || emp_die "no source tarball in $pkg"
top=$(basename "$tarball"); top=${top%.tar.*}
emp_log "kselftest: extracting headers from $(basename "$tarball")"
tar -xf "$tarball" -C "$tmp" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/tools/testing/selftests/kselftest_harness.h"
cp "$tmp/$top/tools/testing/selftests/kselftest.h" \
   "$tmp/$top/tools/testing/selftests/kselftest_harness.h" "$inc/"
rm -rf "$tmp"
echo "$inc"
