#!/usr/bin/env bash
# The README's first command: the virtual lab boots its two QEMU nodes (BIOS
# and UEFI) from herd, and their kernel messages land in their log files
# (run non-interactively with --demo).
. "$(dirname "$0")/lib.sh"

require_root
[ -e /dev/net/tun ] || skip "no /dev/net/tun"
out=$("$TOP/scripts/lab.sh" --demo 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "node01 booted" <<<"$out" && grep -q "node02 booted" <<<"$out" &&
	grep -q "HERD-BOOT-MARKER node=node02" <<<"$out"; then
	pass "scripts/lab.sh --demo: node01 (BIOS) and node02 (UEFI) booted and logged to herd"
	check "the lab prints the dashboard's address" grep -q "dashboard: http://127.0.0.1:" <<<"$out"
else
	echo "$out" | tail -20 | sed 's/^/  /'
	fail "scripts/lab.sh --demo failed (exit $rc)"
fi
finish
