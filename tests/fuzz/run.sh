#!/bin/bash
# Fuzzes one target with libFuzzer for a while:  tests/fuzz/run.sh TARGET SECONDS
#
# The committed corpus is read, never written: new interesting inputs go to
# build/fuzz-new/TARGET (merge the useful ones by hand, see the last line),
# crashes to tests/fuzz/findings/. Exits non-zero if the target crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: tests/fuzz/run.sh TARGET SECONDS}
seconds=${2:-60}
corpus=tests/fuzz/corpus/$target
new=build/fuzz-new/$target
log=$new.log

make -s "build/fuzz/$target"
mkdir -p "$corpus" "$new" tests/fuzz/findings
rc=0
# libFuzzer adds new inputs to the first directory it is given.
"build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="tests/fuzz/findings/$target-" "$new" "$corpus" >"$log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	tail -n 40 "$log"
	echo "$target: FAILED (exit $rc); reproducer in tests/fuzz/findings/, log in $log"
	exit "$rc"
fi
grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
echo "$target: $(find "$new" -type f | wc -l) new inputs in $new;" \
	"keep them with: build/fuzz/$target -merge=1 $corpus $new"
