#!/usr/bin/env bash
# Host test of the packaging: `make install` into a DESTDIR puts every piece
# where it belongs, the man pages render without warnings, dkms.conf names
# every module of kmod/Kbuild, and `dkms build` of the installed DKMS sources
# works against the fetched 6.1 and 6.12 headers, with a private DKMS tree:
# nothing is written to the host's /lib/modules or /var/lib/dkms and nothing
# is loaded. TAP on stdout.
# Usage: packaging_test.sh [LINE...]   (default: 6.1 6.12; the modules are
# installed for the first)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/lib.sh"
lines=${*:-6.1 6.12}
first=${lines%% *}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emp-pkg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $*"; }
# check "description" command...: the command's output is shown on failure.
check() {
	local d=$1; shift
	if "$@" > "$tmp/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$tmp/out" | tail -n 40; fi
}

version=$(sed -n 's/^#define EMP_VERSION_STR[^"]*"\(.*\)"/\1/p' "$top/kmod/emp_export.h")
host_state() {	# what must not change on the host
	ls -la /var/lib/dkms 2>&1
	for l in $lines; do
		emp_kernel_env "$l" && ls -laR "/lib/modules/$KREL" 2>&1 | md5sum
	done
}
host_state > "$tmp/host.before"

echo "TAP version 13"
echo "1..$((8 + 2 * $(echo $lines | wc -w)))"

install_all() {
	make -C "$top" -s install DESTDIR="$dest" PREFIX=/usr KVER="$first" &&
	make -C "$top" -s install-dkms DESTDIR="$dest"
}
check "make install and install-dkms into a DESTDIR" install_all

installed() {
	local f
	emp_kernel_env "$first" || return 1
	for f in "lib/modules/$KREL/extra/emp.ko" usr/sbin/empctl usr/lib/libemp-preload.so \
		 usr/lib/libemp.a usr/include/libemp.h usr/include/linux/emp.h \
		 usr/share/man/man8/empctl.8 usr/share/man/man8/libemp-preload.8 \
		 usr/share/man/man7/emp-spec.7 lib/systemd/system/emp-vmd.service \
		 etc/default/emp-vmd lib/systemd/system/emp-cluster-watch.service \
		 etc/default/emp-cluster "usr/src/emp-$version/dkms.conf" \
		 "usr/src/emp-$version/packaging/dkms-build.sh" "usr/src/emp-$version/kmod/Kbuild" \
		 "usr/src/emp-$version/kmod/compat/probe.sh" \
		 "usr/src/emp-$version/uapi/linux/emp.h"; do
		[ -s "$dest/$f" ] || { echo "missing: $f"; return 1; }
	done
	[ -x "$dest/usr/sbin/empctl" ] && "$dest/usr/sbin/empctl" --version &&
	"$dest/usr/sbin/empctl" spec "/dev/sda:64:0|dram:16" > /dev/null &&
	modinfo -F vermagic "$dest/lib/modules/$KREL/extra/emp.ko" | grep -q "^$KREL "
}
check "every file is in place, the installed empctl runs, emp.ko is for $first" installed

man_lint() {
	local p
	command -v groff > /dev/null || { echo "groff is missing (groff-base)"; return 1; }
	for p in "$dest"/usr/share/man/man*/*; do
		LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$p" 2>&1 | tee "$tmp/groff"
		[ ! -s "$tmp/groff" ] || { echo "in $p"; return 1; }
	done
}
check "the installed man pages render without warnings" man_lint

unit_ok() {
	local u=$dest/lib/systemd/system/emp-vmd.service
	grep -qx 'ExecStart=/usr/sbin/vmd -m ${VMD_MEMORY} -p ${VMD_PORT} $VMD_OPTS' "$u" &&
	grep -qx 'EnvironmentFile=-/etc/default/emp-vmd' "$u" &&
	grep -qx 'WantedBy=multi-user.target' "$u" && ! grep -q '@' "$u" &&
	(. "$dest/etc/default/emp-vmd" && [ -n "$VMD_MEMORY" ] && [ -n "$VMD_PORT" ])
}
check "the vmd unit runs the installed vmd with the settings of /etc/default/emp-vmd" unit_ok

watch_unit_ok() {
	local u=$dest/lib/systemd/system/emp-cluster-watch.service
	grep -qx 'ExecStart=/usr/sbin/empctl cluster watch --interval ${EMP_WATCH_INTERVAL} $EMP_WATCH_OPTS' "$u" &&
	grep -qx 'ExecStartPre=-/usr/sbin/empctl cluster gc' "$u" &&
	grep -qx 'EnvironmentFile=/etc/default/emp-cluster' "$u" && ! grep -q '@' "$u" &&
	(. "$dest/etc/default/emp-cluster" && [ -n "$EMP_ETCD" ] && [ -n "$EMP_WATCH_INTERVAL" ]) &&
	"$dest/usr/sbin/empctl" cluster watch --help | grep -q -- --interval
}
check "the cluster watcher's unit runs the installed empctl with /etc/default/emp-cluster" watch_unit_ok

dkms_conf_ok() {
	local want have c=$dest/usr/src/emp-$version/dkms.conf
	want=$(sed -n 's/^obj-m *+= *\(.*\)\.o$/\1/p' "$top/kmod/Kbuild" | sort | tr '\n' ' ')
	have=$(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1/p' "$c" | sort | tr '\n' ' ')
	echo "Kbuild: $want; dkms.conf: $have"
	[ -n "$want" ] && [ "$want" = "$have" ] &&
	[ "$(grep -c '^DEST_MODULE_LOCATION\[[0-9]*\]="/extra"$' "$c")" -eq "$(echo $want | wc -w)" ] &&
	grep -qx 'AUTOINSTALL="yes"' "$c" && grep -qx "PACKAGE_VERSION=\"$version\"" "$c"
}
check "dkms.conf: one BUILT_MODULE_NAME per module of kmod/Kbuild, to /extra, AUTOINSTALL" dkms_conf_ok

# DKMS with a private tree; no signing (the host's keys are never made or used).
dkms_private() {
	mkdir -p "$tmp/dkms" && sign_file=/nonexistent dkms "$@" --dkmstree "$tmp/dkms" --sourcetree "$dest/usr/src"
}
check "dkms add of the installed sources (private tree)" \
	dkms_private add -m emp -v "$version"
for l in $lines; do
	dkms_build() {
		emp_kernel_env "$1" || { echo "kernel line $1 not fetched"; return 1; }
		dkms_private build -m emp -v "$version" -k "$KREL" --kernelsourcedir "$KDIR" ||
			{ cat "$tmp/dkms/emp/$version/build/make.log" 2>/dev/null | tail -n 30; return 1; }
	}
	built() {
		emp_kernel_env "$1" || return 1
		local m
		for m in $(sed -n 's/^obj-m *+= *\(.*\)\.o$/\1/p' "$top/kmod/Kbuild"); do
			m=$tmp/dkms/emp/$version/$KREL/x86_64/module/$m.ko
			[ -f "$m" ] || { echo "not built: $m"; return 1; }
			modinfo -F vermagic "$m" | grep -q "^$KREL " || { echo "$m is not for $KREL"; return 1; }
		done
	}
	check "dkms build against the $l headers" dkms_build "$l"
	check "dkms built every module for $l" built "$l"
done

host_state > "$tmp/host.after"
check "nothing changed in the host's /lib/modules and /var/lib/dkms" \
	diff "$tmp/host.before" "$tmp/host.after"
exit $failed
