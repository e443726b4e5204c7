#!/usr/bin/env bash
# The README's first command: the virtual lab serves a file and receives a
# log line from its node (run non-interactively with --demo).
. "$(dirname "$0")/lib.sh"

require_root
out=$("$TOP/scripts/lab.sh" --demo 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "image.bin: identical" <<<"$out" &&
	grep -q "hello from the lab node" <<<"$out"; then
	pass "scripts/lab.sh --demo: download identical, node log line received"
else
	echo "$out" | tail -20 | sed 's/^/  /'
	fail "scripts/lab.sh --demo failed (exit $rc)"
fi
finish
