# shellcheck shell=bash
# Common helpers for the EMP scripts: cache location, logging, kernel lines.
# Sourced, never run.

EMP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything downloaded or generated outside the tree lives here.
EMP_CACHE=${EMP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emp}
# Per-run outputs (guest logs, TAP, summaries).
EMP_OUT=${EMP_OUT:-$EMP_CACHE/out}

emp_log() { printf '[emp] %s\n' "$*" >&2; }
emp_die() { printf '[emp] error: %s\n' "$*" >&2; exit 1; }

# The kernel lines the scripts know by short name. For each:
#   image package regex (newest wins), known-good ABI pin, and the Debian
#   suite it comes from (empty: the machine's own apt sources).
#   sid: the newest kernel of Debian unstable (7.2 line in late 2026). It is
#   fetched through a private apt configuration (emp_apt_opts) and built in a
#   chroot with the compiler it was built with (scripts/chroot.sh).
emp_line_regex() {
	case "$1" in
	6.1)  echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	sid)  echo '^linux-image-[0-9]+\.[0-9]+\.[0-9]+\+deb[0-9]+-amd64$' ;;
	*) return 1 ;;
	esac
}
emp_line_pin() {
	case "$1" in
	6.1)  echo '6.1.0-56' ;;
	6.12) echo '6.12.117+deb12' ;;
	sid)  echo '7.2.13+deb14' ;;
	*) return 1 ;;
	esac
}
emp_line_suite() {
	case "$1" in
	sid) echo sid ;;
	6.1|6.12) echo '' ;;
	*) return 1 ;;
	esac
}
EMP_LINES_DEFAULT="6.1 6.12 sid"

# TCG threading for a line's guests (EMP_TCG_THREAD=single|multi overrides).
# Debian 12's QEMU 7.2 (EMP_QEMU=system) with multi-threaded TCG and the
# sid kernel: a few boots in a hundred died with an int3 Oops right after a
# static branch was patched (sched_clock marked stable) or hung at the
# switch to the tsc clocksource; with one TCG thread for all vCPUs none
# did. On sid's QEMU 11.1 (the default) 50 boots of the sid kernel with
# multi-threaded TCG had no such death, and its suite ran in 95 s instead
# of 131 s.
emp_line_tcg_thread() {
	case "$1:${EMP_QEMU:-sid}" in
	sid:system) echo single ;;
	*) echo multi ;;
	esac
}

# "sid (7.2.13+deb14-amd64)" for logs: the short name and the kernel it
# resolved to, once the line's env is loaded (emp_kernel_env).
emp_line_label() {
	if [ -n "${KREL:-}" ] && [ "${KLINE:-}" = "$1" ]; then
		echo "$1 ($KREL)"
	else
		echo "$1"
	fi
}

# --- private apt configuration for other Debian suites ----------------------
# Sources, lists and package cache of a suite live in $EMP_CACHE/apt/SUITE.
# The machine's own sources, preferences and lists are neither used nor
# changed (apt still reads its general settings, e.g. a proxy, and the dpkg
# status).

# The Debian mirror the machine's apt sources use (EMP_MIRROR overrides).
emp_debian_mirror() {
	[ -n "${EMP_MIRROR:-}" ] && { echo "$EMP_MIRROR"; return; }
	local m
	# A source whose release file says origin Debian, label Debian (not the
	# security archive), as apt itself sees it.
	m=$(apt-cache policy 2>/dev/null | awk '
		/^ *[0-9]+ (https?|ftp):\/\// { uri = $2; next }
		/release .*o=Debian,.*l=Debian,/ && uri != "" { print uri; exit }
		{ uri = "" }')
	if [ -z "$m" ]; then	# no lists yet: read the sources files
		m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
			/etc/apt/sources.list.d/*.sources 2>/dev/null |
			grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ')
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

emp_apt_dir() { echo "$EMP_CACHE/apt/$1"; }

# apt options that point apt-get/apt-cache at the private set-up of SUITE.
emp_apt_opts() {
	local d
	d=$(emp_apt_dir "$1")
	case "$d" in *[[:space:]]*) emp_die "EMP_CACHE must not contain blanks: $EMP_CACHE" ;; esac
	echo "-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$d/sources.d" \
		"-o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache" \
		"-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=$d/preferences.d" \
		"-o APT::Sandbox::User=root"
}

# Write the private sources of SUITE and refresh its lists when they are
# older than EMP_APT_MAX_AGE minutes (default 360). A failed refresh keeps the
# old lists if there are any.
emp_apt_update() {
	local suite=$1 d mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	d=$(emp_apt_dir "$suite")
	[ -r "$keyring" ] || emp_die "$keyring missing (apt-get install debian-archive-keyring)"
	mkdir -p "$d/sources.d" "$d/preferences.d" "$d/lists/partial" "$d/cache/archives/partial"
	mirror=$(emp_debian_mirror)
	cat > "$d/sources.d/$suite.sources.new" <<SRC
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Architectures: amd64
Signed-By: $keyring
SRC
	if cmp -s "$d/sources.d/$suite.sources.new" "$d/sources.d/$suite.sources"; then
		rm -f "$d/sources.d/$suite.sources.new"
		if [ -f "$d/lists/.updated" ] &&
		   [ -z "$(find "$d/lists/.updated" -mmin +"${EMP_APT_MAX_AGE:-360}")" ]; then
			return 0
		fi
	else
		mv "$d/sources.d/$suite.sources.new" "$d/sources.d/$suite.sources"
		rm -f "$d/lists/.updated"
	fi
	emp_log "apt: updating private $suite lists from $mirror"
	# shellcheck disable=SC2046
	if apt-get $(emp_apt_opts "$suite") update -qq >"$d/update.log" 2>&1 &&
	   ! grep -qE '^(E|Err):' "$d/update.log"; then
		touch "$d/lists/.updated"
		grep -E '^W:' "$d/update.log" >&2 || true
	elif ls "$d"/lists/*_Packages* >/dev/null 2>&1; then
		emp_log "apt: $suite update failed, using the lists from $(date -r "$d/lists" +%F)"
		cat "$d/update.log" >&2
	else
		cat "$d/update.log" >&2
		emp_die "apt: cannot fetch the $suite package lists from $mirror"
	fi
}

# Load the environment file written by fetch-kernel.sh for a line:
# sets KABI, KREL, KROOT, KDIR, KVMLINUX, KMODDIR.
emp_kernel_env() {
	local f=$EMP_CACHE/kernels/$1.env
	[ -r "$f" ] || return 1
	# shellcheck disable=SC1090
	. "$f"
}

# The QEMU that runs the test guests, from EMP_QEMU. "sid" (the default) is
# Debian sid's (scripts/qemu-sid.sh): Debian 12's 7.2 corrupts guest CPU
# state now and then under multi-threaded TCG (scripts/qemu-sid.sh says
# how). "system" is the machine's own qemu-system-x86_64; anything else is
# a path. QEMU inside the guests (emp_qemu.sh) stays the machine's.
emp_qemu_bin() {
	case "${EMP_QEMU:-sid}" in
	sid)    "$EMP_TOP/scripts/qemu-sid.sh" ;;
	system) echo qemu-system-x86_64 ;;
	*)      echo "$EMP_QEMU" ;;
	esac
}

# Whether the line's default guest suite runs emp_qemu.sh (stock QEMU on an
# instance); selftests/guest/run.sh picks the same line.
emp_line_runs_qemu() { [ "$1" = 6.12 ]; }

# The kernel line whose default guest suite runs the cluster test
# (selftests/guest/cluster.sh: a real etcd and three vmds in the guest). It
# tests no kernel difference, so one line runs it (issue 19 allows that),
# and only that line's initramfs carries etcd, etcdctl and libcurl with its
# libraries (55 MB: 6.1's went from 28 to 83 MB).
# guest.sh puts them in for it, or for --tests naming cluster.sh on any line;
# selftests/guest/run.sh runs the test where they are (/emp/cluster).
EMP_CLUSTER_LINE=${EMP_CLUSTER_LINE:-6.1}
emp_line_runs_cluster() { [ "$1" = "$EMP_CLUSTER_LINE" ]; }

# The host files the cluster test needs at their own paths: etcd and etcdctl
# (etcd-server, etcd-client) and libcurl, which vmd and empctl load with
# dlopen only (so ldd of our binaries does not list it; mkinitramfs.sh
# copies its own libraries, as it does for every host file), taken from
# where ldd finds the others. A file the host lacks is named as such, and
# mkinitramfs.sh says so.
emp_cluster_files() {
	local f
	for f in etcd etcdctl; do command -v "$f" || echo "/usr/bin/$f"; done
	for f in /lib/x86_64-linux-gnu/libcurl.so.4 /usr/lib/x86_64-linux-gnu/libcurl.so.4; do
		[ -e "$f" ] && break
	done
	echo "$f"
}

# The host's perf (linux-perf), for perf_events.sh, which runs on the
# same line as emp_qemu.sh: the binary (guest.sh copies its libraries).
emp_perf_files() {
	command -v perf
}

# The host's stock QEMU, as guests that run it need it copied into their
# initramfs (EMP_EXTRA_FILES): the binary, the vapic ROM of the pc machine,
# the TCG accelerator module where QEMU is built with modules, and for
# booting a kernel (vm_balloon.sh; the payload is its own -bios) SeaBIOS and
# the option ROM of -kernel (Debian's QEMU looks in /usr/share/seabios too).
emp_qemu_files() {
	local q f
	q=$(command -v qemu-system-x86_64) || return 1
	for f in /usr/share/qemu/kvmvapic.bin /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so \
		 /usr/share/qemu/linuxboot_dma.bin /usr/share/seabios/bios-256k.bin; do
		[ -e "$f" ] && q="$q $f"
	done
	echo "$q"
}
