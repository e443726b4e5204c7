# shellcheck shell=bash
# PostgreSQL 15 for herd's system tests and bench scripts: a throw-away
# cluster of Debian's postgresql-15, initialised in a directory of the
# caller's, listening on one address inside one network namespace.
#
#   . tests/system/lib_pg.sh
#   pg_available 2>/dev/null || skip "$PG_WHY"   (a test: lib.sh skip, exit 77)
#   pg_start NS DIR ADDR PORT           initdb, start, roles and databases
#   pg_psql "SELECT count(*) FROM t"    unaligned tuples on stdout
#   pg_kill; pg_restart; pg_stop
#
# The cluster is durable as a site's would be (fsync, synchronous_commit,
# full_page_writes on). Authentication is `trust` on the Unix socket and
# from PG_TRUST_NET (default: ADDR's /24). pg_start creates the roles and
# databases `herd` and `kea` (owned by their role), both with the password
# of their name, which trust ignores.
#
# The Debian default cluster (/var/lib/postgresql/15/main, port 5432 of
# the host) is never used: everything is in DIR, and the postmaster runs
# inside NS. pg_cleanup stops it; when lib.sh is sourced first, its cleanup
# (the EXIT trap of setup_work) is wrapped to call pg_cleanup first, and
# other callers (bench scripts) call pg_cleanup from their own trap.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_NS='' PG_DIR='' PG_ADDR='' PG_PORT='' PG_DATA='' PG_SOCK='' PG_PID='' PG_JOB='' PG_KIDS='' PG_WHY=''

pg_log() { echo "lib_pg: $*" >&2; }

# pg_available [install]: true if PostgreSQL 15 can run here; with
# `install`, installs postgresql-15 first if it is missing, without the
# default cluster (as scripts/deps.sh does). Otherwise returns 1 with the
# reason in PG_WHY and on stderr as one line.
pg_available() {
	PG_WHY=
	if [ ! -x "$PG_BIN/initdb" ] && [ "${1:-}" = install ] && [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-common >&2 &&
			pg_no_main_cluster &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				postgresql-15 postgresql-client-15 >&2
	fi
	if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
		PG_WHY="PostgreSQL 15 is not installed ($PG_BIN/initdb missing; package postgresql-15, scripts/deps.sh)"
	elif ! id postgres >/dev/null 2>&1; then
		PG_WHY="no 'postgres' user to run PostgreSQL as (package postgresql-15)"
	elif ! command -v runuser >/dev/null; then
		PG_WHY="'runuser' is not installed (package util-linux)"
	elif [ "$(id -u)" != 0 ]; then
		PG_WHY="PostgreSQL is started as user postgres from root: needs root"
	fi
	[ -z "$PG_WHY" ] && return 0
	echo "$PG_WHY" >&2
	return 1
}

# Debian's postgresql-common creates and starts a cluster "main" when
# postgresql-15 is installed unless createcluster.conf says otherwise.
pg_no_main_cluster() {
	local f=/etc/postgresql-common/createcluster.conf
	grep -qE '^[[:space:]]*create_main_cluster' "$f" 2>/dev/null && return 0
	echo "create_main_cluster = false" >>"$f"
}

pg_as() { runuser -u postgres -- "$@"; }

# pg_start NS DIR ADDR PORT: a new cluster in DIR/data, its Unix socket in
# DIR/sock and its log in DIR/postgres.log; started in namespace NS on
# ADDR:PORT; returns once it accepts connections and the roles exist.
pg_start() {
	local ns=$1 dir=$2 addr=$3 port=$4 d
	PG_NS=$ns PG_DIR=$dir PG_ADDR=$addr PG_PORT=$port
	PG_DATA=$dir/data PG_SOCK=$dir/sock
	mkdir -p "$dir" "$PG_SOCK" || return 1
	chown postgres: "$dir" "$PG_SOCK"
	# The postgres user must reach DIR: every directory above it must be
	# searchable (mktemp -d makes them 0700).
	d=$dir
	while [ "$d" != / ] && [ -n "$d" ]; do
		d=$(dirname "$d")
		pg_as test -x "$d" || {
			pg_log "user postgres cannot enter $d (chmod a+x it)"
			return 1
		}
	done
	pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --no-locale \
		>"$dir/initdb.log" 2>&1 || {
		pg_log "initdb failed:"
		tail -5 "$dir/initdb.log" >&2
		return 1
	}
	cat >>"$PG_DATA/postgresql.conf" <<EOF
# written by tests/system/lib_pg.sh
listen_addresses = '$addr'
port = $port
unix_socket_directories = '$PG_SOCK'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
logging_collector = off
EOF
	cat >"$PG_DATA/pg_hba.conf" <<EOF
# written by tests/system/lib_pg.sh
local all all trust
host all all 127.0.0.1/32 trust
host all all ${PG_TRUST_NET:-${addr%.*}.0/24} trust
EOF
	pg_restart || return 1
	pg_as "$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -d postgres -X -q -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE herd LOGIN PASSWORD 'herd'" -c "CREATE DATABASE herd OWNER herd" \
		-c "CREATE ROLE kea LOGIN PASSWORD 'kea'" -c "CREATE DATABASE kea OWNER kea" \
		>>"$dir/initdb.log" 2>&1 || {
		pg_log "cannot create the roles and databases:"
		tail -5 "$dir/initdb.log" >&2
		return 1
	}
}

# pg_restart: starts the cluster pg_start made (again: after pg_stop or
# pg_kill), and waits until it accepts connections on ADDR:PORT.
#
# The postmaster is this shell's background job rather than pg_ctl
# start's orphan: init reaps an orphan some time after it exits, and a
# zombie's PID still in postmaster.pid makes the next start refuse
# ("another postmaster running"). pg_ctl stops it.
pg_restart() {
	local i
	pg_running && return 0
	pg_wait_children
	ip netns exec "$PG_NS" runuser -u postgres -- "$PG_BIN/postgres" -D "$PG_DATA" \
		>>"$PG_DIR/postgres.log" 2>&1 &
	PG_JOB=$!
	for ((i = 0; i < 600; i++)); do
		PG_PID=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null)
		if pg_running && ip netns exec "$PG_NS" "$PG_BIN/pg_isready" -q -U postgres \
			-h "$PG_ADDR" -p "$PG_PORT"; then
			return 0
		fi
		kill -0 "$PG_JOB" 2>/dev/null || break
		sleep 0.1
	done
	pg_log "PostgreSQL does not accept connections on $PG_ADDR:$PG_PORT:"
	tail -5 "$PG_DIR/postgres.log" >&2
	return 1
}

# pg_alive PID: the process exists and is not a zombie (init reaps a
# daemonised postmaster only some time after it exits).
pg_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

pg_running() { [ -n "$PG_PID" ] && pg_alive "$PG_PID"; }

# The postmaster's children, by its PID.
pg_children() { [ -n "$PG_PID" ] && pgrep -P "$PG_PID"; }

# After a SIGKILL of the postmaster its children notice and exit; a new
# postmaster must not start before they are gone (they hold the shared
# memory). Waits up to 10 s, then ends them.
pg_wait_children() {
	local i p
	[ -n "${PG_KIDS:-}" ] || return 0
	for ((i = 0; i < 100; i++)); do
		for p in $PG_KIDS; do
			pg_alive "$p" && break
			p=
		done
		[ -z "$p" ] && break
		sleep 0.1
	done
	for p in $PG_KIDS; do kill -KILL "$p" 2>/dev/null; done
	PG_KIDS=
}

# pg_kill: SIGKILL to the postmaster, as a crash (its children follow).
pg_kill() {
	pg_running || return 0
	PG_KIDS=$(pg_children | tr '\n' ' ')
	kill -KILL "$PG_PID"
	while pg_alive "$PG_PID"; do sleep 0.05; done
	pg_reap
	PG_PID=
}

# The runuser job that ran the postmaster ends with it.
pg_reap() {
	[ -n "${PG_JOB:-}" ] && wait "$PG_JOB" 2>/dev/null
	PG_JOB=
}

# pg_stop: a fast shutdown (clients disconnected, a checkpoint); a
# postmaster that does not stop within 30 s is killed.
pg_stop() {
	pg_running || return 0
	PG_KIDS=$(pg_children | tr '\n' ' ')
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || pg_kill
	pg_reap
	pg_wait_children
	PG_PID=
}

# pg_psql SQL [DB]: runs SQL as the superuser in database DB (default
# herd) through the Unix socket; prints unaligned tuples, '|' between
# columns; fails on the first error.
pg_psql() {
	pg_as "$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -d "${2:-herd}" -X -q -A -t \
		-v ON_ERROR_STOP=1 -c "$1"
}

# pg_cleanup: no postmaster left running, whatever state it is in.
pg_cleanup() {
	[ -n "$PG_DATA" ] || return 0
	pg_stop
	PG_DATA=
}

# lib.sh's EXIT trap: stop PostgreSQL before the namespaces and the work
# directory go, keeping cleanup's exit status.
if declare -F cleanup >/dev/null && ! declare -F pg_lib_cleanup_next >/dev/null; then
	eval "$(declare -f cleanup | sed '1s/^cleanup/pg_lib_cleanup_next/')"
	cleanup() {
		local rc=$?
		pg_cleanup
		(exit "$rc")
		pg_lib_cleanup_next
	}
fi
