#!/usr/bin/env bash
# Build the test guest's initramfs for one kernel line: busybox-static,
# Debian modules (nvme, virtio, rdma_rxe and their dependencies, from
# lib/modules or, on usr-merged suites such as sid, usr/lib/modules; .ko.xz and
# .ko.zst decompressed; with a depmod index so the guest's modprobe works),
# emp.ko built for that kernel, our tools and selftests with the shared
# libraries they load; with EMP_NESTED=1 (guest.sh sets it for vm_balloon.sh)
# also the line's kernel image and an initramfs for it, in /emp/nested; on
# the cluster test's line (EMP_CLUSTER_LINE, or EMP_CLUSTER=1) also etcd,
# etcdctl and libcurl.
# Usage: mkinitramfs.sh LINE OUT.cpio
set -euo pipefail
. "$(dirname "$0")/lib.sh"

line=${1:?usage: mkinitramfs.sh LINE OUT.cpio}
out=${2:?usage: mkinitramfs.sh LINE OUT.cpio}
emp_kernel_env "$line" || emp_die "kernel line $line not fetched (scripts/fetch-kernel.sh $line)"
build=$EMP_TOP/build
[ -f "$build/$line/kmod/emp.ko" ] || emp_die "no emp.ko for $line: run make KVER=$line"
BUSYBOX=${BUSYBOX:-$(command -v busybox || true)}
[ -x "$BUSYBOX" ] && "$BUSYBOX" --list >/dev/null 2>&1 || emp_die "busybox not found (make deps)"
file -L "$BUSYBOX" | grep -q 'statically linked' || emp_die "$BUSYBOX is not static (busybox-static)"

# Debian modules the guests use; dependencies are added from modules.dep.
# Some are built in or gone on newer kernels (on 7.2: virtio_pci is built in,
# the crc32 modules are gone); that is reported and harmless.
GUEST_MODULES="nvme virtio_pci virtio_net virtio_blk null_blk rdma_rxe rdma_ucm ib_uverbs
	crc32_generic crc32_pclmul crc32c_generic kvm kvm_amd kvm_intel ${EMP_EXTRA_MODULES:-}"

root=$(mktemp -d "${TMPDIR:-/tmp}/emp-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,root,lib64}
mkdir -p "$root"/emp/{bin,tests,modules}

cp "$BUSYBOX" "$root/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] && continue
	ln -sf busybox "$root/bin/$a"
done
for a in modprobe insmod rmmod lsmod depmod poweroff reboot halt; do
	ln -sf ../bin/busybox "$root/sbin/$a"
done

# --- kernel modules ---------------------------------------------------------
dep=$KMODDIR/modules.dep
declare -A want=()
add_mod() {	# add_mod RELPATH (as in modules.dep) and its dependencies
	local rel=$1 d
	[ -n "${want[$rel]:-}" ] && return
	want[$rel]=1
	for d in $(awk -F: -v m="$rel" '$1 == m { print $2 }' "$dep"); do
		add_mod "$d"
	done
}
for m in $GUEST_MODULES; do
	rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", n);
		gsub(/-/, "_", n); mm = m; gsub(/-/, "_", mm); if (n == mm) { print $1; exit } }' "$dep")
	if [ -z "$rel" ]; then
		emp_log "$line: module $m not found (built in, or gone from this kernel)"
		continue
	fi
	add_mod "$rel"
done
mdst=$root/lib/modules/$KREL
mkdir -p "$mdst"
for rel in "${!want[@]}"; do
	src=$KMODDIR/$rel
	dst=$mdst/${rel%.xz}; dst=${dst%.zst}
	mkdir -p "$(dirname "$dst")"
	case "$rel" in
	*.xz)  xz -dc "$src" > "$dst" ;;
	*.zst) zstd -qdc "$src" > "$dst" ;;
	*)     cp "$src" "$dst" ;;
	esac
done
cp "$KMODDIR"/modules.builtin* "$KMODDIR"/modules.order "$mdst/" 2>/dev/null || true
depmod -b "$root" "$KREL"

# --- our modules, tools, tests ----------------------------------------------
cp "$build/$line"/kmod/*.ko "$root/emp/modules/"
for f in "$build"/tools/*; do [ -f "$f" ] && [ -x "$f" ] && cp "$f" "$root/emp/bin/"; done
for f in "$build"/selftests/*; do [ -f "$f" ] && cp "$f" "$root/emp/tests/"; done
cp "$EMP_TOP"/selftests/guest/*.sh "$root/emp/tests/"
cp "$EMP_TOP/scripts/guest-init.sh" "$root/init"
chmod +x "$root/init" "$root"/emp/tests/*
echo "$line $KREL" > "$root/emp/kernel"

# The cluster test (selftests/guest/cluster.sh) needs etcd, etcdctl and
# libcurl (emp_cluster_files in lib.sh): on EMP_CLUSTER_LINE only, or as
# EMP_CLUSTER says (guest.sh sets it from the tests it is asked to run).
# /emp/cluster tells run.sh to run the test; it runs, and fails naming what
# is missing, if the host lacks one of them.
cluster_files=
if [ "${EMP_CLUSTER:-$(emp_line_runs_cluster "$line" && echo 1 || echo 0)}" = 1 ]; then
	cluster_files=$(emp_cluster_files)
	echo "$cluster_files" > "$root/emp/cluster"
fi

# Host files the guest uses at their own paths: the rdma tool (iproute2) and
# the Soft-RoCE verbs provider, which libibverbs finds through its driver file
# and loads with dlopen (ldd does not list it), and the cluster test's files.
# EMP_EXTRA_FILES adds more.
GUEST_HOST_FILES="$(command -v rdma || true) /etc/libibverbs.d/rxe.driver
	$(ls /usr/lib/*/libibverbs/librxe-rdmav*.so 2>/dev/null || true) $cluster_files
	${EMP_EXTRA_FILES:-}"
for f in $GUEST_HOST_FILES; do
	[ -e "$f" ] || { emp_log "$line: $f is not on this host (make deps)"; continue; }
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
done

# Shared libraries of every dynamic ELF we ship (glibc loads libgcc_s at run
# time for pthread_exit, which ldd does not show), and of the libraries among
# the host files (libcurl: its own, which ldd lists).
copy_lib() {
	local l=$1
	[ -e "$root$l" ] && return
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
}
for f in "$root"/emp/bin/* "$root"/emp/tests/* ${EMP_EXTRA_BINS:-} $GUEST_HOST_FILES; do
	file -L "$f" | grep -q 'dynamically linked' || continue
	for l in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do copy_lib "$l"; done
done
for l in /lib/x86_64-linux-gnu/libgcc_s.so.1; do [ -e "$l" ] && copy_lib "$l"; done

# --- the nested guest of vm_balloon.sh (EMP_NESTED=1) -------------------------
# This line's kernel image (bzImage) and an initramfs of its own for it: the
# static /init of selftests/nested/balloon-init.c, virtio_balloon and the
# modules it needs (decompressed), and /modules naming them in load order
# (each module's dependencies, lowest first, then the module: modules.dep
# lists a module's dependencies so that the last is loaded first).
nested_initramfs() {	# nested_initramfs DIR
	local dir=$1 nroot kimg m rel d i
	local -a deps
	local -A have=()
	kimg=$KROOT/boot/vmlinuz-$KREL
	[ -f "$kimg" ] || kimg=$KMODDIR/vmlinuz	# usr-merged suites (sid)
	[ -f "$kimg" ] || emp_die "$line: no kernel image for the nested guest"
	[ -x "$build/selftests/nested/balloon-init" ] ||
		emp_die "no build/selftests/nested/balloon-init: run make selftests"
	nroot=$(mktemp -d "${TMPDIR:-/tmp}/emp-nested.XXXXXX")
	mkdir -p "$dir" "$nroot"/{dev,proc,sys,lib/modules}
	cp "$kimg" "$dir/bzImage"
	cp "$build/selftests/nested/balloon-init" "$nroot/init"
	: > "$nroot/modules"
	for m in virtio_pci virtio_balloon; do
		rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", n);
			if (n == m) { print $1; exit } }' "$dep")
		[ -n "$rel" ] || continue	# built in
		read -r -a deps <<< "$(awk -F: -v m="$rel" '$1 == m { print $2 }' "$dep")"
		for ((i = ${#deps[@]} - 1; i >= -1; i--)); do
			if [ $i -ge 0 ]; then d=${deps[$i]}; else d=$rel; fi
			[ -n "${have[$d]:-}" ] && continue
			have[$d]=1
			case "$d" in
			*.xz)  xz -dc "$KMODDIR/$d" ;;
			*.zst) zstd -qdc "$KMODDIR/$d" ;;
			*)     cat "$KMODDIR/$d" ;;
			esac > "$nroot/lib/modules/$(basename "${d%.xz}" .zst)"
			echo "/lib/modules/$(basename "${d%.xz}" .zst)" >> "$nroot/modules"
		done
	done
	(cd "$nroot" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$dir/initramfs.cpio"
	emp_log "$line: nested guest: $(du -h "$dir/bzImage" | cut -f1) kernel image," \
		"modules: $(sed 's,.*/,,' "$nroot/modules" | tr '\n' ' ')"
	rm -rf "$nroot"
}
if [ "${EMP_NESTED:-0}" = 1 ]; then nested_initramfs "$root/emp/nested"; fi

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out"
emp_log "$(emp_line_label "$line"): initramfs $(du -h "$out" | cut -f1) with ${#want[@]} Debian modules${cluster_files:+, etcd}"
