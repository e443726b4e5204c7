#!/bin/bash
# Runs every fuzz target in turn, one at a time:
#   tests/fuzz/run-all.sh [SECONDS_EACH | --runs N] [TARGET...]
#
# Builds with `make fuzz`, then runs each target (all tests/fuzz/fuzz_*.c, or
# those named) through run.sh for SECONDS_EACH (default 60) or N inputs, and
# ends with one line per target: inputs run, wall time, and whether it found
# anything (the reproducer is in tests/fuzz/findings/, the log in
# build/fuzz-new/TARGET.log). Exits non-zero if any target found something.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

usage() {
	echo "usage: tests/fuzz/run-all.sh [SECONDS_EACH | --runs N] [TARGET...]" >&2
	exit 2
}

limit=(60)
if [ "${1:-}" = --runs ]; then
	[[ ${2:-} =~ ^[0-9]+$ ]] || usage
	limit=(--runs "$2")
	shift 2
elif [[ ${1:-} =~ ^[0-9]+$ ]]; then
	limit=("$1")
	shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		targets+=("${name#fuzz_}")
	done
fi
for t in "${targets[@]}"; do
	[ -e "tests/fuzz/fuzz_$t.c" ] || usage
done

make -s fuzz || exit 2

summary=() found=0
for t in "${targets[@]}"; do
	log=build/fuzz-new/$t.log
	echo "== $t (${limit[*]})"
	start=$(date +%s)
	tests/fuzz/run.sh "$t" "${limit[@]}"
	rc=$?
	secs=$(($(date +%s) - start))
	# "Done N runs" when it ends normally; the final stats after a crash.
	runs=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p; s/^stat::number_of_executed_units: ([0-9]+)/\1/p' \
		"$log" 2>/dev/null | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		verdict="nothing found"
	else
		found=$((found + 1))
		artifact=$(sed -nE 's/.*Test unit written to (.*)/\1/p' "$log" 2>/dev/null | tail -n 1)
		verdict="FOUND something (exit $rc): ${artifact:-see $log}"
	fi
	summary+=("$(printf '%-10s %12s runs %6ss  %s' "$t" "${runs:-?}" "$secs" "$verdict")")
done

echo
printf '%s\n' "${summary[@]}"
[ "$found" -eq 0 ]
