#!/usr/bin/env bash
# Fetch one Debian kernel line (image, headers, common headers, kbuild) into
# $EMP_CACHE/kernels without installing anything on the host:
#   apt-get download -> dpkg -x -> repoint the headers Makefile -> depmod -b
#   -> extract the ELF vmlinux for a PVH boot.
# Usage: fetch-kernel.sh LINE...   (LINE: 6.1, 6.12 or sid)
# 6.1 and 6.12 come from the machine's own apt sources. sid comes from Debian
# unstable through a private apt set-up under $EMP_CACHE/apt/sid (lib.sh);
# there the image package is only a meta package, and the kernel, modules and
# base files come from linux-binary-*, linux-modules-*, linux-base-*.
# A second run with the same newest ABI reuses the cache.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Find the newest ABI of a line in the apt lists, e.g. 6.1.0-56.
newest_abi() {
	local re pkg
	re=$(emp_line_regex "$1") || emp_die "unknown kernel line '$1' (known: $EMP_LINES_DEFAULT)"
	# shellcheck disable=SC2086
	pkg=$(apt-cache $APT_OPTS search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)
	pkg=${pkg#linux-image-}
	echo "${pkg%-amd64}"
}

# Extract the uncompressed ELF vmlinux from a bzImage: look for an xz or
# zstd stream, decompress it, keep the first candidate that is an ELF file.
extract_vmlinux() {
	local img=$1 out=$2 off tmp=$2.tmp
	for magic in 'fd377a585a00:xz -dcq' '28b52ffd:zstd -dcq'; do
		local hex=${magic%%:*} cmd=${magic#*:}
		for off in $(LC_ALL=C grep -obUaP "$(echo "$hex" | sed 's/../\\x&/g')" "$img" | cut -d: -f1); do
			tail -c +$((off + 1)) "$img" | $cmd > "$tmp" 2>/dev/null || true
			if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				mv "$tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$tmp"
	return 1
}

# Use the kernel of LINE that is already in the cache (when the newest
# cannot be downloaded, e.g. offline or superseded in sid).
use_cached() {
	local line=$1 env=$EMP_CACHE/kernels/$1.env
	[ -r "$env" ] || return 1
	# shellcheck disable=SC1090
	( . "$env" && [ -f "$(dirname "$KVMLINUX")/.complete" ] ) || return 1
	emp_log "$line: using the cached $(. "$env"; echo "$KABI") instead"
}

# The ABI being fetched cannot be had: try the pin, and after the pin the
# copy of this line already in the cache; die with WHY if neither works.
# (Uses fetch_line's locals.)
fall_back() {
	rm -rf "$dir"
	if [ "$abi" != "$pin" ]; then
		emp_log "${1}; falling back to pin $pin"
		EMP_FORCE_ABI=$pin fetch_line "$line"
		return
	fi
	use_cached "$line" || emp_die "$1"
}

fetch_line() {
	local line=$1 abi pin dir root deb pkgs kbuild suite
	suite=$(emp_line_suite "$line") || emp_die "unknown kernel line '$line' (known: $EMP_LINES_DEFAULT)"
	APT_OPTS=
	if [ -n "$suite" ]; then
		emp_apt_update "$suite"
		APT_OPTS=$(emp_apt_opts "$suite")
	fi
	abi=${EMP_FORCE_ABI:-$(newest_abi "$line")}
	pin=$(emp_line_pin "$line")
	[ -n "$abi" ] || { emp_log "$line: no image in apt lists, using pin $pin"; abi=$pin; }
	dir=$EMP_CACHE/kernels/$abi
	root=$dir/root
	if [ -f "$dir/.complete" ]; then
		emp_log "$line: $abi cached in $dir"
		ln -sfn "$abi" "$EMP_CACHE/kernels/$line"
		cp "$dir/env" "$EMP_CACHE/kernels/$line.env"
		return 0
	fi
	emp_log "$line: fetching $abi${suite:+ from Debian $suite}"
	rm -rf "$dir"
	mkdir -p "$dir/debs" "$root"
	# shellcheck disable=SC2086
	kbuild=$(apt-cache $APT_OPTS depends "linux-headers-$abi-amd64" 2>/dev/null |
		awk '/Depends: linux-kbuild-/ {print $2; exit}' || true)
	[ -n "$kbuild" ] || { fall_back "$line: cannot find the kbuild package of linux-headers-$abi-amd64"; return; }
	pkgs="linux-image-$abi-amd64 linux-headers-$abi-amd64 linux-headers-$abi-common $kbuild"
	# Newer packaging: the image package only depends on the packages that
	# hold the kernel (linux-binary), its modules and base files.
	# shellcheck disable=SC2086
	pkgs="$pkgs $(apt-cache $APT_OPTS depends "linux-image-$abi-amd64" "linux-headers-$abi-amd64" 2>/dev/null |
		awk -v abi="$abi" '$1 ~ /Depends:$/ && ($2 == "linux-binary-" abi "-amd64" ||
			$2 == "linux-modules-" abi "-amd64" || $2 == "linux-base-" abi "-amd64") { print $2 }' |
		sort -u | tr '\n' ' ' || true)"
	# shellcheck disable=SC2086
	if ! (cd "$dir/debs" && apt-get download -q $APT_OPTS -o APT::Sandbox::User=root $pkgs >/dev/null); then
		fall_back "$line: apt-get download failed for $pkgs"
		return
	fi
	for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$root"; done

	# Locate the pieces (Debian 12 is not usr-merged, newer suites are).
	local krel kdir moddir img
	for moddir in "$root"/lib/modules/* "$root"/usr/lib/modules/*; do
		[ -d "$moddir/kernel" ] && break
	done
	[ -d "$moddir/kernel" ] || emp_die "$line: no modules found in $root"
	krel=$(basename "$moddir")
	kdir=$root/usr/src/linux-headers-$krel
	[ -f "$kdir/Makefile" ] || emp_die "$line: no headers tree at $kdir"
	# The headers Makefile points at /usr/src/...-common by absolute path
	# (the include line; from 7.2 on also a KBUILD_OUTPUT= line): point
	# every such path at our extracted copy instead.
	sed -i -e "s|/usr/src/|$root/usr/src/|g" "$kdir/Makefile"
	if grep -Fv "$root/usr/src/" "$kdir/Makefile" | grep -q '/usr/src/'; then
		emp_die "$line: $kdir/Makefile still refers to /usr/src after repointing"
	fi
	# depmod only writes the index files (modules.dep...) under the base.
	depmod -b "${moddir%/lib/modules/*}" "$krel"
	img=$root/boot/vmlinuz-$krel
	[ -f "$img" ] || img=$moddir/vmlinuz
	extract_vmlinux "$img" "$dir/vmlinux" || emp_die "$line: could not extract vmlinux from $img"
	rm -rf "$dir/debs"
	cat > "$dir/env" <<ENV
KLINE=$line
KABI=$abi
KREL=$krel
KROOT=$root
KDIR=$kdir
KMODDIR=$moddir
KVMLINUX=$dir/vmlinux
ENV
	touch "$dir/.complete"
	# sid moves on often: drop the kernel this one replaces.
	local prev
	prev=$(readlink "$EMP_CACHE/kernels/$line" 2>/dev/null || true)
	if [ -n "$suite" ] && [ -n "$prev" ] && [ "$prev" != "$abi" ] && [ -d "$EMP_CACHE/kernels/$prev" ]; then
		emp_log "$line: removing the superseded $prev"
		rm -rf "${EMP_CACHE:?}/kernels/$prev"
	fi
	ln -sfn "$abi" "$EMP_CACHE/kernels/$line"
	cp "$dir/env" "$EMP_CACHE/kernels/$line.env"
	emp_log "$line: ready ($krel, $(du -sh "$dir" | cut -f1))"
}

[ $# -gt 0 ] || set -- $EMP_LINES_DEFAULT
mkdir -p "$EMP_CACHE/kernels"
for l in "$@"; do
	# One fetch of a line at a time (two builds may start together).
	exec 9>"$EMP_CACHE/kernels/.lock-$l"
	flock 9
	fetch_line "$l"
	exec 9>&-
done
