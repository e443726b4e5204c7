#!/usr/bin/env bash
# tests/system/lib_pg.sh itself: a PostgreSQL 15 cluster started in a
# namespace, reachable over TCP on its address, durable through a SIGKILL
# of the postmaster, and gone (no process left) after cleanup.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_pg.sh"

require_root
pg_available 2>/dev/null || skip "$PG_WHY"
setup_work
net_setup

PG_PORT_T=55432
pg_start "$NS_SRV" "$WORK/pg" "$SRV_IP" "$PG_PORT_T" || die "pg_start failed"
pass "PostgreSQL started in $NS_SRV on $SRV_IP:$PG_PORT_T (postmaster $PG_PID)"

# From a client namespace, over TCP, as role herd: what herd will do.
check "role herd reaches database herd over TCP from a client namespace" \
	test "$(in_cli "$PG_BIN/psql" "host=$SRV_IP port=$PG_PORT_T dbname=herd user=herd" \
		-X -A -t -c 'SELECT current_user')" = herd
check "role kea has its database" test "$(pg_psql 'SELECT current_database()' kea)" = kea
check "fsync and synchronous_commit are on" \
	test "$(pg_psql "SELECT current_setting('fsync') || current_setting('synchronous_commit')")" = onon
check "the host's port 5432 is not ours" \
	test "$(pg_psql "SELECT current_setting('port')")" = "$PG_PORT_T"

pg_psql "CREATE TABLE t (n int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000)" ||
	die "cannot create a table"
old_pid=$PG_PID kids=$(pg_children | wc -l)
pg_kill
dead() { ! pg_alive "$1"; }
check "SIGKILL ended the postmaster" dead "$old_pid"
pg_restart || die "pg_restart after SIGKILL failed"
check "restarted with a new postmaster" test "$PG_PID" != "$old_pid"
check "committed rows survived the SIGKILL" test "$(pg_psql 'SELECT count(*) FROM t')" = 1000
if grep -q 'database system was interrupted' "$WORK/pg/postgres.log"; then
	pass "PostgreSQL recovered from its WAL (log: 'database system was interrupted')"
else
	fail "no crash recovery in the log"
fi

gone() { ! pg_alive "$1" && [ -z "$(ip netns pids "$NS_SRV")" ]; }
pid=$PG_PID
pg_stop
check "pg_stop: no postmaster left" gone "$pid"
pg_restart || die "pg_restart after pg_stop failed"
check "restarted after pg_stop, data still there" test "$(pg_psql 'SELECT count(*) FROM t')" = 1000
pid=$PG_PID
pg_cleanup
check "pg_cleanup leaves no process ($kids children before the kill)" gone "$pid"
finish
