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
#   image package regex (newest wins), known-good ABI pin.
emp_line_regex() {
	case "$1" in
	6.1)  echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	*) return 1 ;;
	esac
}
emp_line_pin() {
	case "$1" in
	6.1)  echo '6.1.0-56' ;;
	6.12) echo '6.12.117+deb12' ;;
	*) return 1 ;;
	esac
}
EMP_LINES_DEFAULT="6.1 6.12"

# Load the environment file written by fetch-kernel.sh for a line:
# sets KABI, KREL, KROOT, KDIR, KVMLINUX, KMODDIR.
emp_kernel_env() {
	local f=$EMP_CACHE/kernels/$1.env
	[ -r "$f" ] || return 1
	# shellcheck disable=SC1090
	. "$f"
}
