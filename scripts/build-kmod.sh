#!/usr/bin/env bash
# Build emp.ko against one kernel headers tree, with W=1, failing on any
# compiler warning in our files.
# Usage: build-kmod.sh --kernel LINE | --kdir DIR
# Prints the path of the built emp.ko on its last line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir= out=
case "${1:-}" in
--kernel)
	line=${2:?--kernel needs a line (6.1, 6.12)}
	emp_kernel_env "$line" || "$EMP_TOP/scripts/fetch-kernel.sh" "$line" >&2
	emp_kernel_env "$line" || emp_die "no kernel for line $line"
	kdir=$KDIR out=$EMP_TOP/build/$line/kmod ;;
--kdir)
	kdir=$(cd "${2:?--kdir needs a directory}" && pwd)
	out=$EMP_TOP/build/kdir-$(echo "$kdir" | md5sum | cut -c1-8)/kmod ;;
*) emp_die "usage: build-kmod.sh --kernel LINE | --kdir DIR" ;;
esac
[ -f "$kdir/Makefile" ] || emp_die "$kdir is not a kernel headers tree"

# Out-of-tree modules build in their source directory: give each kernel its
# own copy so objects of different kernels never mix.
mkdir -p "$out"
(cd "$EMP_TOP/kmod" && find . -name '*.[ch]' -o -name Kbuild) | while read -r f; do
	mkdir -p "$out/$(dirname "$f")"
	cp -p "$EMP_TOP/kmod/$f" "$out/$f"
done
log=$out/build.log
if ! make -C "$kdir" M="$out" EMP_TOP="$EMP_TOP" EMP_WERROR=y W=1 modules >"$log" 2>&1; then
	cat "$log" >&2
	emp_die "emp.ko build failed against $kdir"
fi
if grep -E 'warning:' "$log" >&2; then
	emp_die "compiler warnings in emp.ko build against $kdir"
fi
emp_log "built $out/emp.ko against $(basename "$kdir")"
echo "$out/emp.ko"
