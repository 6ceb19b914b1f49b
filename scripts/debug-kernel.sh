#!/usr/bin/env bash
# Build the EMP debug kernel and expose it as the kernel line `debug`.
#
#   debug-kernel.sh            build (or reuse) it; writes $EMP_CACHE/kernels/debug.env
#   debug-kernel.sh --print    print the cache directory the current inputs map to
#
# Source: Debian's linux-source-6.12 package (apt-get download, never
# installed), its tree extracted without what an x86-64 build never reads.
# Config: `make allnoconfig` with scripts/debug-kernel.config merged
# (KCONFIG_ALLCONFIG), then olddefconfig; every option of the fragment must
# keep its value. KASAN, lockdep, kmemleak, fault injection and more; see the
# fragment. Built with the host gcc-12 (`nice`, EMP_DEBUG_JOBS jobs, default 2).
#
# Cached in $EMP_CACHE/kernels/debug-<source version>-<key>/, key = hash of the
# fragment, this script's recipe version and the compiler: a warm run only
# rewrites debug.env. The directory holds
#   linux/    the built tree (modules_prepare state, Module.symvers): KDIR
#   root/     lib/modules/<release>/ from modules_install (depmod done): KMODDIR
#   vmlinux   the ELF kernel, booted with qemu -kernel (PVH): KVMLINUX
# Other debug-* directories (superseded configs or sources) are removed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKG=linux-source-6.12
PIN=6.12.117-1~deb12u1		# known-good source version when apt has none
RECIPE=1			# bump when the build steps below change
FRAG=$EMP_TOP/scripts/debug-kernel.config
JOBS=${EMP_DEBUG_JOBS:-2}

print=0
case "${1:-}" in
--print) print=1 ;;
"") ;;
*) emp_die "usage: debug-kernel.sh [--print]" ;;
esac

# Newest source version in the machine's apt lists (the pin if none).
ver=$(apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || ver=$PIN
key=$( { echo "recipe $RECIPE"; gcc --version | head -n 1; cat "$FRAG"; } | sha256sum | cut -c1-12)
name=debug-$(echo "$ver" | tr '~:+' '---')-$key
dir=$EMP_CACHE/kernels/$name
[ $print = 1 ] && { echo "$dir"; exit 0; }

publish() {
	ln -sfn "$name" "$EMP_CACHE/kernels/debug"
	cp "$dir/env" "$EMP_CACHE/kernels/debug.env"
}

mkdir -p "$EMP_CACHE/kernels"
exec 9>"$EMP_CACHE/kernels/.lock-debug"
flock 9
if [ -f "$dir/.complete" ]; then
	emp_log "debug: $name cached"
	publish
	exit 0
fi

start=$(date +%s)
emp_log "debug: building $name (source $PKG $ver, $JOBS jobs)"
rm -rf "$dir"
mkdir -p "$dir/debs"
(cd "$dir/debs" && apt-get download -q -o APT::Sandbox::User=root "$PKG=$ver" >/dev/null) ||
	emp_die "debug: apt-get download $PKG=$ver failed"

# The package holds the tree as usr/src/linux-source-6.12.tar.xz. Leave out
# what an x86-64 build of this config never reads: other architectures'
# sources (their Kconfig files stay: crypto/Kconfig sources them), the
# documentation below its top Kconfig, the perf and selftest tools, and the C
# files of large driver trees we do not enable (Kconfig and Makefiles stay).
top=${PKG}
ex=(--exclude="$top/Documentation/*/*" --exclude="$top/tools/testing" --exclude="$top/tools/perf")
for d in drivers/gpu drivers/net/ethernet drivers/net/wireless drivers/media drivers/staging \
	 sound drivers/infiniband/hw drivers/accel drivers/iio; do
	ex+=(--exclude="$top/$d/*.[ch]")
done
for a in alpha arc arm arm64 csky hexagon loongarch m68k microblaze mips nios2 openrisc \
	 parisc powerpc riscv s390 sh sparc um xtensa; do
	ex+=(--exclude="$top/arch/$a/*.[chS]" --exclude="$top/arch/$a/boot")
done
dpkg-deb --fsys-tarfile "$dir"/debs/*.deb | tar -xO "./usr/src/$PKG.tar.xz" | xz -dc |
	tar -x -C "$dir" "${ex[@]}"
mv "$dir/$top" "$dir/linux"
rm -rf "$dir/debs"
src=$dir/linux

# Configure: allnoconfig with the fragment, then check every value.
kmk() { nice -n 10 make -C "$src" -s "$@"; }
KCONFIG_ALLCONFIG=$FRAG kmk allnoconfig >"$dir/config.log" 2>&1 ||
	{ cat "$dir/config.log" >&2; emp_die "debug: allnoconfig failed"; }
kmk olddefconfig >>"$dir/config.log" 2>&1 ||
	{ cat "$dir/config.log" >&2; emp_die "debug: olddefconfig failed"; }
bad=0
while read -r l; do
	case "$l" in
	"# CONFIG_"*" is not set")
		s=${l#\# }; s=${s%% *}
		if grep -q "^$s=" "$src/.config"; then emp_log "debug: $s should be unset, is $(grep "^$s=" "$src/.config")"; bad=1; fi ;;
	CONFIG_*=*)
		s=${l%%=*}
		if ! grep -qxF "$l" "$src/.config"; then
			emp_log "debug: wanted $l, got $(grep -E "^$s=|^# $s is not set" "$src/.config" || echo 'nothing (unmet dependency?)')"; bad=1
		fi ;;
	esac
done < "$FRAG"
[ $bad = 0 ] || emp_die "debug: the config does not match scripts/debug-kernel.config"

# Build the kernel and the modules; log to a file, show the tail on failure.
emp_log "debug: compiling (log: $dir/build.log)"
if ! kmk -j"$JOBS" vmlinux modules >"$dir/build.log" 2>&1; then
	tail -n 40 "$dir/build.log" >&2
	emp_die "debug: kernel build failed"
fi
krel=$(kmk kernelrelease)
kmk INSTALL_MOD_PATH="$dir/root" modules_install >>"$dir/build.log" 2>&1 ||
	{ tail -n 20 "$dir/build.log" >&2; emp_die "debug: modules_install failed"; }
rm -f "$dir/root/lib/modules/$krel/build" "$dir/root/lib/modules/$krel/source"
ln "$src/vmlinux" "$dir/vmlinux"
# Out-of-tree builds need the config, generated headers, scripts, objtool and
# Module.symvers, not the kernel's objects: drop those (most of the space).
find "$src" -name '*.o' -not -path "$src/scripts/*" -not -path "$src/tools/*" -delete
rm -f "$src"/.tmp_vmlinux* "$src/vmlinux.a"
[ -f "$src/Module.symvers" ] || emp_die "debug: no Module.symvers"

cat > "$dir/env" <<ENV
KLINE=debug
KABI=$name
KREL=$krel
KROOT=$dir/root
KDIR=$src
KMODDIR=$dir/root/lib/modules/$krel
KVMLINUX=$dir/vmlinux
ENV
touch "$dir/.complete"
# Superseded debug builds.
for old in "$EMP_CACHE"/kernels/debug-*/; do
	old=${old%/}
	[ "$old" = "$dir" ] || { emp_log "debug: removing the superseded $(basename "$old")"; rm -rf "$old"; }
done
publish
emp_log "debug: ready ($krel, $(du -sh "$dir" | cut -f1), built in $(( $(date +%s) - start ))s)"
