#!/usr/bin/env bash
# Build emp.ko against one kernel headers tree, with W=1, failing on any
# compiler warning in our files.
# Usage: build-kmod.sh --kernel LINE | --kdir DIR
# Prints the path of the built emp.ko on its last line.
# Lines from another Debian suite (sid) build inside that suite's chroot with
# the compiler their kernel was built with (scripts/chroot.sh); the others,
# and --kdir, build with the machine's own compiler.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir= out= line= where=
case "${1:-}" in
--kernel)
	line=${2:?--kernel needs a line (6.1, 6.12, sid)}
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
(cd "$EMP_TOP/kmod" && find . -name "*.[ch]" -o -name Kbuild) | while read -r f; do
	mkdir -p "$out/$(dirname "$f")"
	cp -p "$EMP_TOP/kmod/$f" "$out/$f"
done
# Run the kernel's build system for this kernel (the feature probes too, so
# that they see the same compiler as the module).
if [ -n "$line" ] && [ -n "$(emp_line_suite "$line")" ]; then
	"$EMP_TOP/scripts/chroot.sh" dir "$line" >/dev/null || emp_die "no build chroot for $line"
	where=" in the $(emp_line_suite "$line") chroot"
	kmake_cmd=("$EMP_TOP/scripts/chroot.sh" run "$line" make -C "$kdir")
else
	kmake_cmd=(make -C "$kdir")
fi
kmake() { "${kmake_cmd[@]}" "$@"; }

# Feature probes (kmod/compat/*.c): each that compiles defines HAVE_<NAME>.
sh "$EMP_TOP/kmod/compat/probe.sh" "$out/compat" "$out/emp_config.h" "$out/probe.log" \
	"${kmake_cmd[@]}"

log=$out/build.log
if ! kmake M="$out" EMP_TOP="$EMP_TOP" EMP_WERROR=y W=1 modules >"$log" 2>&1; then
	cat "$log" >&2
	emp_die "emp.ko build failed against $kdir$where"
fi
if grep -E 'warning:' "$log" >&2; then
	emp_die "compiler warnings in emp.ko build against $kdir$where"
fi
emp_log "built $out/emp.ko against $(basename "$kdir")$where"
echo "$out/emp.ko"
