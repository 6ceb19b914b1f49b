#!/usr/bin/env bash
# Build chroots for kernel lines whose kernel was built with a compiler the
# machine does not have (sid: gcc-16, while Debian 12 has gcc-12, which
# rejects the kernel's flags). A chroot is a minimal Debian of the line's
# suite made once by debootstrap and kept under $EMP_CACHE/chroot/SUITE-gcc-N
# (the compiler read from the kernel's .config), reused by later runs.
#
#   chroot.sh dir LINE          print the chroot of LINE, creating it if needed
#   chroot.sh run LINE CMD...   run CMD inside it, in the current directory,
#                               as the calling user
#
# CMD sees $EMP_CACHE and the repository ($EMP_TOP) at the same paths as on
# the host (bind mounts in a private mount namespace, gone when CMD ends),
# so absolute paths in the kernel headers and the build tree work unchanged.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { emp_die "usage: chroot.sh dir LINE | chroot.sh run LINE CMD..."; }
cmd=${1:-}; line=${2:-}
[ -n "$cmd" ] && [ -n "$line" ] || usage
shift 2

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

suite=$(emp_line_suite "$line") || emp_die "unknown kernel line '$line' (known: $EMP_LINES_DEFAULT)"
[ -n "$suite" ] || emp_die "line $line builds natively, it has no chroot"
emp_kernel_env "$line" || "$EMP_TOP/scripts/fetch-kernel.sh" "$line" >&2
emp_kernel_env "$line" || emp_die "no kernel for line $line"

# The compiler the kernel was built with, from its configuration.
cfg=$KDIR/.config
[ -r "$cfg" ] || emp_die "$cfg missing: cannot tell which compiler built $KREL"
gccver=$(sed -n 's/^CONFIG_GCC_VERSION=//p' "$cfg")
cctext=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
if [ -z "$gccver" ] || [ "$gccver" -eq 0 ]; then
	emp_die "$KREL was built with '$cctext', not gcc: no chroot recipe for it"
fi
gcc=gcc-$((gccver / 10000))
key=$suite-$gcc
dir=$EMP_CACHE/chroot/$key

make_chroot() {
	mkdir -p "$EMP_CACHE/chroot"
	exec 8>"$EMP_CACHE/chroot/.lock-$key"
	flock 8	# another build may be making the same chroot
	if [ -f "$dir/.complete" ]; then exec 8>&-; return 0; fi
	command -v debootstrap >/dev/null ||
		EMP_EXTRA_PKGS=debootstrap "$EMP_TOP/scripts/deps.sh" >&2 ||
		emp_die "cannot install debootstrap"
	local mirror tmp=$dir.tmp start
	mirror=$(emp_debian_mirror)
	emp_log "chroot: making $key for $(emp_line_label "$line"), built by $cctext; debootstrap from $mirror"
	start=$(date +%s)
	$sudo rm -rf "$tmp"
	if ! $sudo debootstrap --variant=minbase \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		--include="$gcc,make,libc6-dev,libelf-dev,bc,xz-utils,zstd,dwarves" \
		"$suite" "$tmp" "$mirror" > "$EMP_CACHE/chroot/$key.log" 2>&1; then
		tail -n 20 "$EMP_CACHE/chroot/$key.log" >&2
		[ -f "$tmp/debootstrap/debootstrap.log" ] && tail -n 20 "$tmp/debootstrap/debootstrap.log" >&2
		$sudo rm -rf "$tmp"
		emp_die "chroot: debootstrap of $suite failed (log: $EMP_CACHE/chroot/$key.log)"
	fi
	$sudo chroot "$tmp" sh -c "command -v x86_64-linux-gnu-$gcc >/dev/null" ||
		emp_die "chroot: x86_64-linux-gnu-$gcc missing in the $suite chroot"
	$sudo rm -f "$tmp"/var/cache/apt/archives/*.deb
	$sudo rm -rf "$dir"
	$sudo mv "$tmp" "$dir"
	$sudo touch "$dir/.complete"
	emp_log "chroot: $key ready in $(( $(date +%s) - start ))s ($(du -sh "$dir" | cut -f1))"
	exec 8>&-
}

case "$cmd" in
dir)
	make_chroot
	echo "$dir" ;;
run)
	[ $# -gt 0 ] || usage
	make_chroot
	# Bind the shorter path first so that one inside the other still works.
	binds=$(printf '%s\n' "$EMP_CACHE" "$EMP_TOP" | awk '{ print length, $0 }' | sort -n | cut -d' ' -f2- | uniq)
	# shellcheck disable=SC2016
	exec $sudo unshare --mount --propagation private -- bash -c '
		set -e
		root=$1 user=$2 cwd=$3 binds=$4; shift 4
		mount --bind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		while read -r p; do
			mkdir -p "$root$p"
			mount --bind "$p" "$root$p"
		done <<< "$binds"
		exec chroot --userspec="$user" "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/tmp LC_ALL=C TERM=dumb sh -c '\''cd "$1" && shift && exec "$@"'\'' sh "$cwd" "$@"
	' chroot-run "$dir" "$(id -u):$(id -g)" "$PWD" "$binds" "$@" ;;
*) usage ;;
esac
