#!/bin/bash
# The manual pages (man/): each renders with groff without a warning
# (-ww) and through man -l; herd.conf(5) documents every section and every
# key of the key table (src/conf/conf_keys.c), each key under its own
# section's heading; herd(8) names every command herd's usage lists. Needs
# no root and no network.
. "$(dirname "$0")/lib.sh"

require_tools groff man python3
setup_work
cd "$TOP" || die "no source tree"

for page in man/herd.8 man/herd.conf.5 man/herd-nodes.5; do
	if LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>"$WORK/groff.err" && [ ! -s "$WORK/groff.err" ]; then
		pass "$page: groff -ww, no warning"
	else
		fail "$page: groff warnings: $(head -5 "$WORK/groff.err")"
	fi
	name=$(basename "$page" | sed 's/\.[0-9]$//')
	if MANWIDTH=80 man -l "$page" 2>"$WORK/man.err" | grep -q "^NAME" && [ ! -s "$WORK/man.err" ]; then
		pass "$page: man -l renders ($name)"
	else
		fail "$page: man -l: $(head -3 "$WORK/man.err")"
	fi
done

# Every key of the table, under its section's heading in herd.conf(5).
python3 - "$TOP/src/conf/conf_keys.c" "$TOP/man/herd.conf.5" >"$WORK/keys.out" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
page = open(sys.argv[2]).read()
names = re.search(r'conf_section_names\[[^]]*\]\s*=\s*\{([^}]*)\}', src).group(1)
sections = re.findall(r'"([a-z_]+)"', names)
macro = {"SUBNET": "subnet", "GROUP": "group", "RULE": "rule"}
keys = []
for m in re.finditer(r'\b(CFG\((\w+),|SUBNET\(|GROUP\(|RULE\()\s*"([a-z0-9_]+)"', src):
    sec = m.group(2).lower() if m.group(2) else macro[m.group(1)[:-1]]
    sec = {"log": "log"}.get(sec, sec)
    keys.append((sec, m.group(3)))
# the man page's text per ".SH [section ...]"
parts = {}
for m in re.finditer(r'^\.SH \[(\w+)[^\]]*\]\n(.*?)(?=^\.SH )', page, re.S | re.M):
    parts[m.group(1)] = m.group(2)
missing = 0
for s in sections:
    if s not in parts:
        print("section [%s] has no heading" % s)
        missing += 1
for sec, key in keys:
    # CFG's section names are the enum's (LOG for [log], ...)
    text = parts.get(sec, "")
    if not re.search(r'^\.(B|BR|BI|IB|RB)\b.*(?<![\w%{])' + re.escape(key) + r'(?![\w}])', text, re.M):
        print("[%s] %s is not documented" % (sec, key))
        missing += 1
print("checked %d sections, %d keys, %d missing" % (len(sections), len(keys), missing))
sys.exit(1 if missing else 0)
PY
rc=$?
if [ $rc -eq 0 ]; then
	pass "herd.conf(5): $(tail -1 "$WORK/keys.out")"
else
	sed 's/^/  /' "$WORK/keys.out"
	fail "herd.conf(5) misses sections or keys of src/conf/conf_keys.c (listed above)"
fi

# herd(8) names every command of herd's usage.
for cmd in $("$TOP/build/herd" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | sort -u) status reload; do
	if grep -q "^\.B.* $cmd\b\|^\.B $cmd\b\|^\.BI \"$cmd\b\|^\.BR \"$cmd\b\|^\.B $cmd$" man/herd.8; then
		pass "herd(8) documents '$cmd'"
	else
		fail "herd(8) does not document '$cmd'"
	fi
done
finish
