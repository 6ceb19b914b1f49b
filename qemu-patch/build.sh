#!/usr/bin/env bash
# Apply qemu-patch/emp-mem-path.patch (EMP tier specs in -mem-path) to
# Debian's own QEMU source and, on request, build it.
#
#   qemu-patch/build.sh --check     fetch and unpack Debian's qemu source
#                                   package, check that the patch applies
#   qemu-patch/build.sh --objects   also configure (x86_64-softmmu) and
#                                   compile the objects the patch touches
#   qemu-patch/build.sh --build     also build qemu-system-x86_64 with it
#
# The source is the version of the machine's qemu-system-x86 package when
# one is installed (else the newest of bookworm), fetched with apt-get
# source through a private apt configuration (deb-src lines of bookworm,
# -updates and -security; the machine's own sources are not touched) into
# $EMP_CACHE/qemu/. Objects and builds need libemp (make tools) and the
# build dependencies, which --objects/--build install with apt-get.
# The last line printed is the result; the exit status is 0 on success.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

mode=${1:---check}
case "$mode" in
--check|--objects|--build) ;;
-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) emp_die "qemu-patch/build.sh: unknown option $mode (see --help)" ;;
esac
PATCH=$EMP_TOP/qemu-patch/emp-mem-path.patch
top=$EMP_CACHE/qemu
apt=$top/apt
mkdir -p "$apt/sources.d" "$apt/preferences.d" "$apt/lists/partial" "$apt/cache/archives/partial"
case "$apt" in *[[:space:]]*) emp_die "EMP_CACHE must not contain blanks: $EMP_CACHE" ;; esac
opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/sources.d"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
	-o Dir::Etc::Preferences=/dev/null -o "Dir::Etc::PreferencesParts=$apt/preferences.d"
	-o APT::Sandbox::User=root)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=$(emp_debian_mirror)
cat > "$apt/sources.d/qemu-src.sources" <<SRC
Types: deb-src
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: $keyring

Types: deb-src
URIs: http://security.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: $keyring
SRC

# The installed binary's source version: without a binNMU suffix (+bN).
want=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null | sed 's/+b[0-9]*$//' || true)
src=$top/src/qemu-${want#*:}
if [ -z "$want" ] || [ ! -f "$src/.unpacked" ]; then
	if [ ! -f "$apt/lists/.updated" ] || [ -n "$(find "$apt/lists/.updated" -mmin +360)" ]; then
		emp_log "qemu: updating the private deb-src lists from $mirror"
		apt-get "${opts[@]}" update -qq >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; emp_die "apt-get update failed"; }
		touch "$apt/lists/.updated"
	fi
	if [ -z "$want" ]; then
		want=$(apt-cache "${opts[@]}" showsrc qemu | sed -n 's/^Version: //p' | sort -V | tail -n 1)
	fi
	[ -n "$want" ] || emp_die "no qemu source package in the bookworm lists"
	src=$top/src/qemu-${want#*:}
	if [ ! -f "$src/.unpacked" ]; then
		rm -rf "$src" "$top/dl"; mkdir -p "$top/dl" "$top/src"
		emp_log "qemu: fetching the source of qemu $want"
		(cd "$top/dl" && apt-get "${opts[@]}" source --download-only -qq "qemu=$want") >&2 ||
			emp_die "apt-get source qemu=$want failed"
		dpkg-source --no-check -x "$top"/dl/qemu_*.dsc "$src" >"$top/unpack.log" 2>&1 ||
			{ cat "$top/unpack.log" >&2; emp_die "dpkg-source -x failed"; }
		rm -rf "$top/dl" "$top"/src/qemu_*	# dpkg-source's copies of the tarballs
		touch "$src/.unpacked"
	fi
fi

# The patch must apply to Debian's tree as it is, without fuzz.
(cd "$src" && patch -p1 --dry-run --quiet --fuzz=0 < "$PATCH") ||
	emp_die "the patch does not apply to Debian's qemu $want"
if [ "$mode" = --check ]; then
	echo "qemu-patch: applies to Debian's qemu $want"
	exit 0
fi
# Build in a patched copy; the unpacked source stays pristine. A build of
# the same source, patch and libemp is reused.
work=$top/work
lib=$EMP_TOP/build/tools/libemp.a
[ -f "$lib" ] || make -C "$EMP_TOP" tools >/dev/null
stamp="$want $(cat "$PATCH" "$lib" | sha256sum | cut -d' ' -f1)"
if [ "$mode" = --build ] && [ -x "$work/build/qemu-system-x86_64" ] &&
   [ "$(cat "$work/.emp-stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "qemu-patch: built $work/build/qemu-system-x86_64 (reused; same source, patch and libemp)"
	exit 0
fi
rm -rf "$work"
cp -a "$src" "$work"
(cd "$work" && patch -p1 --quiet < "$PATCH")
grep -q emp_mem_path_resolve "$work/hw/core/machine.c" || emp_die "patched tree lacks the hook"

# --- configure and compile ------------------------------------------------------
deps="meson ninja-build pkg-config libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev python3"
# shellcheck disable=SC2086
if ! dpkg-query -W $deps >/dev/null 2>&1; then
	emp_log "qemu: installing build dependencies: $deps"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $deps >&2
fi
emp_log "qemu: configuring (x86_64-softmmu, with libemp)"
(cd "$work" && ./configure --prefix=/usr --target-list=x86_64-softmmu --without-default-features \
	--disable-docs --disable-werror \
	--extra-cflags="-DCONFIG_EMP -I$EMP_TOP/uapi -I$EMP_TOP/tools/lib" \
	--extra-ldflags="$lib") >"$top/configure.log" 2>&1 ||
	{ tail -n 30 "$top/configure.log" >&2; emp_die "QEMU configure failed ($top/configure.log)"; }
objs=$(cd "$work/build" && ninja -t targets all | grep -oE '^[^:]*(softmmu_emp|hw_core_machine)\.c\.o' | sort -u)
[ -n "$objs" ] || emp_die "no ninja targets for the patched files"
if [ "$mode" = --objects ]; then
	# shellcheck disable=SC2086
	(cd "$work/build" && nice ninja $objs) >"$top/build.log" 2>&1 ||
		{ tail -n 40 "$top/build.log" >&2; emp_die "compiling the patched files failed"; }
	echo "qemu-patch: applies to and compiles in Debian's qemu $want ($(echo $objs | wc -w) objects)"
	exit 0
fi
(cd "$work/build" && nice ninja qemu-system-x86_64) >"$top/build.log" 2>&1 ||
	{ tail -n 40 "$top/build.log" >&2; emp_die "building qemu-system-x86_64 failed"; }
nm "$work/build/qemu-system-x86_64" | grep ' T emp_spec_parse$' >/dev/null ||
	emp_die "the binary does not contain libemp's parser"
echo "$stamp" >"$work/.emp-stamp"
echo "qemu-patch: built $work/build/qemu-system-x86_64 (Debian's qemu $want with EMP specs in -mem-path)"
