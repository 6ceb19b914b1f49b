#!/bin/sh
# The man pages say what the tools do: every command line of their EXAMPLES
# sections (lines "$ ..." inside .EX/.EE) runs here and must succeed, in
# order, in a scratch directory; and empctl's --help and its man page name
# the same commands and options, the preload library the same variables.
# "./app" in the examples stands for any program: here it is heap_churn.
. /emp/tests/tap.sh
MAN=/emp/tests
PAGES="empctl.8 emp-spec.7 libemp-preload.8"
WORK=/tmp/man-examples
# The guest keeps libemp-preload.so with the tools, not in a library directory.
export LD_LIBRARY_PATH=/emp/bin

# The example command lines of a page, roff escapes undone.
examples() {
	awk '/^\.SH /{ ex = ($2 == "EXAMPLES") } ex && /^\.EX/{ x = 1; next }
	     ex && /^\.EE/{ x = 0; next } ex && x && /^\$ /{ sub(/^\$ /, ""); print }' "$MAN/$1" |
	sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\e/\\/g'
}

no_instances() {
	i=0
	while ls /dev/emp-preload-* >/dev/null 2>&1 && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	! ls /dev/emp-preload-* >/dev/null 2>&1
}

# Each command of "empctl --help" has its help, a synopsis line and an entry
# in the man page; each long option of a command's help is in the man page.
help_matches_man() {
	cmds=$(empctl --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
	[ -n "$cmds" ] || return 1
	for c in $cmds; do
		grep -q "^\.B empctl $c\|^\.B $c\$\|^\.B $c " "$MAN/empctl.8" ||
			{ echo "empctl.8 lacks a synopsis line for $c"; return 1; }
		grep -q "^\.B $c \|^\.B $c\$" "$MAN/empctl.8" ||
			{ echo "empctl.8 lacks an entry for $c"; return 1; }
		for o in $(empctl $c --help | grep -o '\-\-[a-z][a-z]*' | sort -u); do
			[ "$o" = --help ] && continue
			grep -q -- "$(echo "$o" | sed 's/-/\\\\-/g')" "$MAN/empctl.8" ||
				{ echo "empctl.8 lacks $o of $c"; return 1; }
		done
	done
	# And no command in the man page that empctl does not know.
	for c in $(sed -n '/^\.SH COMMANDS/,/^\.SH /s/^\.B \([a-z][a-z]*\).*/\1/p' "$MAN/empctl.8"); do
		echo "$cmds" | grep -qx "$c" || { echo "empctl.8 documents unknown command $c"; return 1; }
	done
}

env_matches_man() {
	for v in $(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /s/^\.B \(EMP_[A-Z_]*\)$/\1/p' "$MAN/libemp-preload.8"); do
		grep -aq "$v" /emp/bin/libemp-preload.so || { echo "the library never reads $v"; return 1; }
	done
}

rm -rf "$WORK"
mkdir -p "$WORK"
printf '#!/bin/sh\nexec /emp/tests/heap_churn 8\n' > "$WORK/app"
chmod +x "$WORK/app"

n=3
for p in $PAGES; do
	n=$((n + 1 + $(examples "$p" | wc -l)))
done
tap_plan $n
tap_check "every empctl command and option in --help is in empctl.8" help_matches_man
tap_check "every variable in libemp-preload.8 is read by the library" env_matches_man
# One example: the line as a script of its own, stdin closed; done when its
# program is, including the preload library's watcher (so that the next
# example finds the disk free).
run_example() {
	(cd "$WORK" && timeout 120 sh ./example.sh < /dev/null)
	rc=$?
	no_instances || { echo "an instance outlived the example"; return 1; }
	return $rc
}

for p in $PAGES; do
	tap_check "$p has examples" test -n "$(examples "$p")"
	examples "$p" > "$WORK/lines"
	while IFS= read -r line; do
		printf '%s\n' "$line" > "$WORK/example.sh"
		tap_check "$p: $line" run_example
	done < "$WORK/lines"
done
tap_check "the examples leave no instance behind" sh -c 'empctl list | grep -qx "no instances"'
tap_exit
