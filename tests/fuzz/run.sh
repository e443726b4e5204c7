#!/bin/bash
# Fuzzes one target with libFuzzer for a while, or for a number of inputs:
#   tests/fuzz/run.sh TARGET [SECONDS | --runs N]     (default 60 seconds)
#
# The committed corpus is read, never written: new interesting inputs go to
# build/fuzz-new/TARGET (merge the useful ones by hand, see the last line),
# crashes to tests/fuzz/findings/. Exits non-zero if the target crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: tests/fuzz/run.sh TARGET [SECONDS | --runs N]"
target=${1:?$usage}
if [ "${2:-}" = --runs ]; then
	limit=-runs=${3:?$usage}
else
	limit=-max_total_time=${2:-60}
fi
corpus=tests/fuzz/corpus/$target
new=build/fuzz-new/$target
log=$new.log

make -s "build/fuzz/$target"
# Files a target writes (the syslog receiver's logs) go under $TMPDIR,
# removed here: libFuzzer exits without running the target's cleanup.
tmp=$PWD/$new.tmp
mkdir -p "$corpus" "$new" "$tmp" tests/fuzz/findings
rc=0
# libFuzzer adds new inputs to the first directory it is given.
TMPDIR=$tmp "build/fuzz/$target" "$limit" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="tests/fuzz/findings/$target-" "$new" "$corpus" >"$log" 2>&1 || rc=$?
rm -rf "$tmp"
if [ "$rc" -ne 0 ]; then
	tail -n 40 "$log"
	echo "$target: FAILED (exit $rc); reproducer in tests/fuzz/findings/, log in $log"
	exit "$rc"
fi
grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
echo "$target: $(find "$new" -type f | wc -l) new inputs in $new;" \
	"keep them with: build/fuzz/$target -merge=1 $corpus $new"
