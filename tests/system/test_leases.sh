#!/usr/bin/env bash
# `herd leases export` and `herd leases import` (docs/CLUSTER-MIGRATION.md):
#   - a real journal (herd serve and a burst of DHCP clients) exported to
#     CSV while herd still appends to it: the file is not rewritten (same
#     inode, the bytes before the export unchanged, nothing lost after);
#   - import into the journal is refused while herd's control socket answers;
#   - journal -> CSV -> PostgreSQL -> CSV -> journal gives the same leases
#     (a declined address too), every acknowledged lease among them;
#   - a bad CSV line is named by its line number and nothing is written;
#     the later lease of an address wins; an address outside the pools is
#     skipped; a connection error is one line without the password.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_pg.sh"

require_root
require_tools python3 md5sum stat
require_herd
pg_available install || skip "$PG_WHY"
setup_work
net_setup
herd_dirs

PORT=55434
SOCK=$WORK/herd.sock
JOURNAL=$WORK/lib/leases
mkdir -p "$WORK/lib"
chown nobody "$WORK/lib"
cat >"$WORK/herd.conf" <<CONF
[server]
user = nobody
[tftp]
enabled = no
[log]
enabled = no
dir = $LOG_DIR
[status]
socket = $SOCK
[dhcp]
enabled = yes
lease_file = $JOURNAL
pin_neighbours = no
[subnet lab]
network = 10.99.0.0/16
pool = 10.99.1.0 - 10.99.7.255
[group default]
kernel = vmlinuz
CONF
# The same site grown to a cluster: the leases go to PostgreSQL by default.
{
	cat "$WORK/herd.conf"
	printf '[cluster]\ndatabase = host=%s port=%s dbname=herd user=herd password=s3cret\n' \
		"$SRV_IP" "$PORT"
} >"$WORK/cluster.conf"
herd_san_env

leases() { in_srv "$HERD" leases "$@"; }
# A CSV file's rows, sorted, without the header.
rows_of() { tail -n +2 "$1" | sort; }
same_rows() { [ "$(rows_of "$1")" = "$(rows_of "$2")" ]; }
not_grep() { ! grep -q "$@"; }

# --- a real journal, exported while herd appends to it -----------------------

bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>"$WORK/herd.stderr"
HERD_PID=$BG_PID
HERD_ERR=$WORK/herd.stderr
wait_udp_listen "$NS_SRV" 67 || die "herd did not start: $(tail -5 "$HERD_ERR")"
wait_for 10 test -S "$SOCK" || die "no control socket $SOCK"

: >"$WORK/acked"
in_cli python3 "$SYS_DIR/tools/dhcp_burst.py" eth0 300 "$WORK/acked" 20
n_acked=$(sort -u "$WORK/acked" | wc -l)
[ "$n_acked" -ge 250 ] || die "only $n_acked of 300 clients acknowledged"
pass "herd acknowledged $n_acked leases into its journal"

# A second burst appends while the journal is exported again and again;
# each export notes the journal's size before and after it.
inode=$(stat -c %i "$JOURNAL")
size=$(stat -c %s "$JOURNAL")
head -c "$size" "$JOURNAL" | md5sum >"$WORK/prefix.md5"
: >"$WORK/sizes"
export_loop() {
	local i=0 s0
	while [ ! -e "$WORK/stop" ]; do
		i=$((i + 1))
		s0=$(stat -c %s "$JOURNAL")
		"$HERD" leases export -c "$WORK/herd.conf" -o "$WORK/live.csv" 2>"$WORK/export.err" ||
			echo "export $i failed: $(cat "$WORK/export.err")" >>"$WORK/sizes"
		echo "$s0 $(stat -c %s "$JOURNAL")" >>"$WORK/sizes"
		cat "$WORK/export.err" >>"$WORK/export_all.err"
	done
}
export_loop &
exporter=$!
BG_PIDS+=("$exporter")
# Bursts until three exports saw the journal grow under them (at most 8
# bursts: 1500 leases in all, the pool holds 1792).
during() { awk '$1 != $2' "$WORK/sizes" | grep -c '^[0-9]'; }
for ((b = 0; b < 8 && $(during) < 3; b++)); do
	in_cli python3 "$SYS_DIR/tools/dhcp_burst.py" eth0 150 "$WORK/acked2" 20 >/dev/null
done
touch "$WORK/stop"
wait "$exporter"
bg_forget "$exporter"
n_exports=$(grep -c '^[0-9]' "$WORK/sizes")
n_during=$(during)
check "every export during the burst succeeded ($n_exports exports)" not_grep failed "$WORK/sizes"
check "no export saw a damaged record (a line being written is not one)" \
	not_grep -i damaged "$WORK/export_all.err"
check "$n_during of them ran while herd appended to the journal ($b bursts)" test "$n_during" -gt 0
check "export during appends: the journal was not replaced (same inode)" \
	test "$(stat -c %i "$JOURNAL")" = "$inode"
check "export during appends: the $size bytes before them are unchanged" \
	test "$(head -c "$size" "$JOURNAL" | md5sum)" = "$(cat "$WORK/prefix.md5")"
grep -q "^herd: exported [0-9]* leases from the journal $JOURNAL\$" "$WORK/export.err" &&
	pass "export prints its summary: $(cat "$WORK/export.err")" ||
	fail "export summary: $(cat "$WORK/export.err")"

# Import into the journal of a running herd: refused, file untouched.
sum=$(md5sum <"$JOURNAL")
if leases import -c "$WORK/herd.conf" -i "$WORK/live.csv" 2>"$WORK/refused.err"; then
	fail "import into the journal of a running herd was accepted"
else
	grep -q "a herd server answers on $SOCK: stop it" "$WORK/refused.err" &&
		pass "import into a running herd's journal refused: $(cat "$WORK/refused.err")" ||
		fail "refusal message: $(cat "$WORK/refused.err")"
fi
sleep 0.5 # herd is idle now: nothing else may change the file
check "the refused import left the journal as it was" test "$(md5sum <"$JOURNAL")" = "$sum"
herd_stop

# Herd stopped: an export changes nothing at all.
sum=$(md5sum <"$JOURNAL")
leases export -c "$WORK/herd.conf" -o "$WORK/j1.csv" 2>/dev/null || die "export of the journal failed"
check "export of a journal: checksum before = after" test "$(md5sum <"$JOURNAL")" = "$sum"
check "the CSV starts with the header ip,mac,expires,state" \
	test "$(head -1 "$WORK/j1.csv")" = "ip,mac,expires,state"
missing=$(sort -u "$WORK/acked" "$WORK/acked2" | while read -r mac ip; do
	grep -q "^$ip,$mac,[0-9]*,bound\$" "$WORK/j1.csv" || echo "$mac $ip"
done | head -3)
[ -z "$missing" ] && pass "every acknowledged lease is in the export ($(rows_of "$WORK/j1.csv" | wc -l) rows)" ||
	fail "acknowledged but not exported: $missing"

# A declined address rides along: it must survive the round trip too.
cp "$WORK/j1.csv" "$WORK/j1d.csv"
echo "10.99.7.250,00:00:00:00:00:00,$(($(date +%s) + 3600)),declined" >>"$WORK/j1d.csv"

# --- PostgreSQL ---------------------------------------------------------------

pg_start "$NS_SRV" "$WORK/pg" "$SRV_IP" "$PORT" || die "pg_start failed"
leases import -c "$WORK/cluster.conf" -i "$WORK/j1d.csv" 2>"$WORK/import_db.err" ||
	die "import into the database failed: $(cat "$WORK/import_db.err")"
n=$(rows_of "$WORK/j1d.csv" | wc -l)
grep -q "^herd: imported $n leases into the database (.*dbname=herd" "$WORK/import_db.err" &&
	pass "import into the database (the default with [cluster]): $(cat "$WORK/import_db.err")" ||
	fail "import summary: $(cat "$WORK/import_db.err")"
check "the database holds the $n leases, written by server 'import'" \
	test "$(pg_psql "SELECT count(*) FROM herd_lease WHERE server = 'import'")" = "$n"
check "no password in the messages" not_grep s3cret "$WORK/import_db.err"

# Through a pipe (standard output, standard input): the same rows again
# change nothing.
in_srv "$HERD" leases export -c "$WORK/herd.conf" 2>/dev/null |
	in_srv "$HERD" leases import -c "$WORK/cluster.conf" 2>"$WORK/again.err"
grep -q "^herd: imported 0 leases into the database (.*), $((n - 1)) unchanged: the database holds the same or a later lease\$" "$WORK/again.err" &&
	pass "export | import a second time: nothing changed ($(cat "$WORK/again.err"))" ||
	fail "second import: $(cat "$WORK/again.err")"

leases export -c "$WORK/cluster.conf" -o "$WORK/d1.csv" 2>"$WORK/export_db.err" ||
	die "export from the database failed: $(cat "$WORK/export_db.err")"
check "journal -> CSV -> database -> CSV: the same leases" same_rows "$WORK/j1d.csv" "$WORK/d1.csv"

# Back to a journal (a site that shrinks to one server).
mv "$JOURNAL" "$WORK/journal.old"
leases import -c "$WORK/herd.conf" -i "$WORK/d1.csv" 2>"$WORK/import_j.err" ||
	die "import into the journal failed: $(cat "$WORK/import_j.err")"
grep -q "^herd: imported $n leases into the journal $JOURNAL\$" "$WORK/import_j.err" &&
	pass "import into a new journal: $(cat "$WORK/import_j.err")" ||
	fail "import summary: $(cat "$WORK/import_j.err")"
check "the new journal belongs to the directory's owner (herd reads it as nobody)" \
	test "$(stat -c %U "$JOURNAL")" = nobody
leases export -c "$WORK/herd.conf" --from journal -o "$WORK/j2.csv" 2>/dev/null ||
	die "export of the new journal failed"
check "... -> CSV -> journal -> CSV: the same leases as at first" same_rows "$WORK/j1d.csv" "$WORK/j2.csv"

# --- bad input, later wins, outside the pools, connection errors ---------------

count() { pg_psql "SELECT count(*) || ' ' || coalesce(max(updated)::text, '') FROM herd_lease"; }
before_db=$(count)
before_j=$(md5sum <"$JOURNAL")
{
	echo "ip,mac,expires,state"
	echo "10.99.7.1,02:00:00:00:00:01,$(($(date +%s) + 3600)),bound"
	echo "10.99.7.2,02:00:00:00:00:02,soon,bound"
	echo "10.99.7.3,02:00:00:00:00:03,$(($(date +%s) + 3600)),bound"
} >"$WORK/bad.csv"
for conf in cluster herd; do
	if leases import -c "$WORK/$conf.conf" -i "$WORK/bad.csv" 2>"$WORK/bad.err"; then
		fail "a CSV with a bad line was imported ($conf.conf)"
	else
		grep -q "^$WORK/bad.csv:3: expires is not unix seconds\$" "$WORK/bad.err" &&
			pass "bad line rejected by number ($conf.conf): $(head -1 "$WORK/bad.err")" ||
			fail "bad line message: $(cat "$WORK/bad.err")"
	fi
done
check "nothing written to the database for a bad file" test "$(count)" = "$before_db"
check "nothing written to the journal for a bad file" test "$(md5sum <"$JOURNAL")" = "$before_j"

# The later lease of an address wins, in both stores.
ip=$(rows_of "$WORK/d1.csv" | grep ',bound$' | head -1 | cut -d, -f1)
exp=$(grep "^$ip," "$WORK/d1.csv" | cut -d, -f3)
for conf in cluster herd; do
	printf 'ip,mac,expires,state\n%s,02:aa:00:00:00:01,%s,bound\n10.98.0.9,02:aa:00:00:00:02,%s,bound\n' \
		"$ip" "$((exp - 60))" "$((exp + 60))" >"$WORK/older.csv"
	leases import -c "$WORK/$conf.conf" -i "$WORK/older.csv" 2>"$WORK/older.err"
	grep -q "imported 0 leases .*1 unchanged: .*1 skipped: outside the pools" "$WORK/older.err" &&
		pass "$conf.conf: an earlier lease does not replace a later one; outside the pools skipped" ||
		fail "$conf.conf: earlier lease: $(cat "$WORK/older.err")"
	printf 'ip,mac,expires,state\n%s,02:aa:00:00:00:01,%s,bound\n' "$ip" "$((exp + 60))" >"$WORK/newer.csv"
	leases import -c "$WORK/$conf.conf" -i "$WORK/newer.csv" 2>/dev/null
	leases export -c "$WORK/$conf.conf" -o "$WORK/after.csv" 2>/dev/null
	check "$conf.conf: a later lease replaces the earlier one" \
		grep -q "^$ip,02:aa:00:00:00:01,$((exp + 60)),bound\$" "$WORK/after.csv"
done

sed "s/port=$PORT/port=$((PORT + 1))/" "$WORK/cluster.conf" >"$WORK/wrong.conf"
if leases export -c "$WORK/wrong.conf" 2>"$WORK/conn.err" >/dev/null; then
	fail "export from an unreachable database succeeded"
else
	[ "$(wc -l <"$WORK/conn.err")" = 1 ] && grep -q "cannot connect to PostgreSQL (.*port=$((PORT + 1))" "$WORK/conn.err" &&
		! grep -q s3cret "$WORK/conn.err" &&
		pass "unreachable database: one line, no password: $(cat "$WORK/conn.err")" ||
		fail "connection error: $(cat "$WORK/conn.err")"
fi
finish
