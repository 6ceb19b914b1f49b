#!/usr/bin/env bash
# Fetch one Debian kernel line (image, headers, common headers, kbuild) into
# $EMP_CACHE/kernels without installing anything on the host:
#   apt-get download -> dpkg -x -> repoint the headers Makefile -> depmod -b
#   -> extract the ELF vmlinux for a PVH boot.
# Usage: fetch-kernel.sh LINE...   (LINE: 6.1 or 6.12)
# A second run with the same newest ABI reuses the cache.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Find the newest ABI of a line in the local apt lists, e.g. 6.1.0-56.
newest_abi() {
	local re pkg
	re=$(emp_line_regex "$1") || emp_die "unknown kernel line '$1' (known: $EMP_LINES_DEFAULT)"
	pkg=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)
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

fetch_line() {
	local line=$1 abi pin dir root deb pkgs kbuild
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
	emp_log "$line: fetching $abi"
	rm -rf "$dir"
	mkdir -p "$dir/debs" "$root"
	kbuild=$(apt-cache depends "linux-headers-$abi-amd64" 2>/dev/null |
		awk '/Depends: linux-kbuild-/ {print $2; exit}')
	[ -n "$kbuild" ] || emp_die "$line: cannot find the kbuild package of linux-headers-$abi-amd64"
	pkgs="linux-image-$abi-amd64 linux-headers-$abi-amd64 linux-headers-$abi-common $kbuild"
	if ! (cd "$dir/debs" && apt-get download -q -o APT::Sandbox::User=root $pkgs >/dev/null); then
		[ "$abi" = "$pin" ] && emp_die "$line: apt-get download failed for $pkgs"
		emp_log "$line: download of $abi failed, falling back to pin $pin"
		rm -rf "$dir"
		EMP_FORCE_ABI=$pin fetch_line "$line"
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
	# The headers Makefile points at /usr/src/...-common by absolute path:
	# point it at our extracted copy instead.
	sed -i -e "s|/usr/src/|$root/usr/src/|g" "$kdir/Makefile"
	depmod -b "$root" "$krel" || { [ -d "$root/usr/lib/modules" ] && depmod -b "$root/usr" "$krel"; }
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
	ln -sfn "$abi" "$EMP_CACHE/kernels/$line"
	cp "$dir/env" "$EMP_CACHE/kernels/$line.env"
	emp_log "$line: ready ($krel, $(du -sh "$dir" | cut -f1))"
}

[ $# -gt 0 ] || set -- $EMP_LINES_DEFAULT
mkdir -p "$EMP_CACHE/kernels"
for l in "$@"; do fetch_line "$l"; done
