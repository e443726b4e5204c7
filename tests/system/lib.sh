# Helpers for herd's system tests; sourced by tests/system/test_*.sh.
#
# Every test runs herd and real clients in network namespaces of its own: a
# server namespace holding a bridge (10.99.0.1/24) and one namespace per
# client, each joined to the bridge by a veth pair (MTU 1500). Nothing is
# added to the root namespace; everything is removed on exit, also on failure.
#
# Environment:
#   HERD=build/herd-san   binary under test (also build/herd)
#   HERD_REF=tftpd-hpa    serve TFTP with in.tftpd instead (to check a test
#                         against a reference server; not every check applies)
#   KEEP=1                keep the work directory for a post-mortem
#   V=1                   trace the shell commands
#
# A test prints "ok: ..." or "FAIL: ..." per check, then one closing line
# "NAME: N passed, N failed" and exits 0 (all passed), 1 (a check failed) or
# 77 (skipped: not root, or a tool missing).

# shellcheck disable=SC2034 # variables here are read by the tests
set -u
[ "${V:-0}" = 1 ] && set -x

SYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$SYS_DIR/../.." && pwd)
HERD=${HERD:-build/herd-san}
case $HERD in /*) ;; *) HERD=$TOP/$HERD ;; esac
TEST_NAME=$(basename "$0" .sh)

NET=10.99.0
SRV_IP=$NET.1
NS_SRV=herd-s-$$
NS_CLIENTS=()
BG_PIDS=()
N_PASS=0
N_FAIL=0
HERD_PID=
WORK=

# --- results ---------------------------------------------------------------

pass() { N_PASS=$((N_PASS + 1)); echo "ok: $*"; }
fail() { N_FAIL=$((N_FAIL + 1)); echo "FAIL: $*"; }
# A failure that leaves nothing sensible to test after it.
die() { fail "$*"; finish; }
skip() { echo "SKIP: $TEST_NAME: $*"; exit 77; }

# check DESCRIPTION COMMAND...: pass if the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

finish() {
	echo "$TEST_NAME: $N_PASS passed, $N_FAIL failed"
	[ "$N_FAIL" -eq 0 ] && [ "$N_PASS" -gt 0 ] && exit 0
	exit 1
}

# --- prerequisites ---------------------------------------------------------

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	ip netns add "herd-probe-$$" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "herd-probe-$$"
}

require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "'$t' is not installed"
	done
}

require_herd() {
	if [ "${HERD_REF:-}" = tftpd-hpa ]; then
		require_tools in.tftpd
		return
	fi
	[ -x "$HERD" ] || skip "$HERD not built (make ${HERD#"$TOP"/})"
}

# --- work directory and cleanup ---------------------------------------------

cleanup() {
	local rc=$? pid ns
	set +e
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		# give each a moment, then make sure
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Anything still inside our namespaces was started by this test (a
	# client, a forked in.tftpd): end it by PID before the namespace goes.
	for ns in "${NS_CLIENTS[@]}" "$NS_SRV"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

# Creates $WORK (world-traversable: herd runs as nobody after binding) and
# installs the cleanup trap.
setup_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/herd-$TEST_NAME.XXXXXX")
	chmod 755 "$WORK"
	trap cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM
}

# bg_start COMMAND...: runs a command in the background and remembers its PID
# for cleanup; the PID is left in BG_PID.
bg_start() {
	"$@" &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# bg_forget PID: drop a PID that has been waited for.
bg_forget() {
	local keep=() p
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# --- network ---------------------------------------------------------------

# Server namespace with bridge br0 at $SRV_IP/24, and client 1.
net_setup() {
	ip netns add "$NS_SRV" || die "cannot create namespace $NS_SRV"
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_SRV" link add br0 type bridge || die "cannot create a bridge"
	ip -n "$NS_SRV" addr add "$SRV_IP/24" dev br0
	ip -n "$NS_SRV" link set br0 up
	net_add_client
}

# net_add_client: adds client namespace N (1, 2, ...) with address $NET.(N+1)
# on eth0. Sets NS_CLI (its name) and CLI_IP (its address); NS_CLIENT_n and
# CLIENT_IP_n name every client.
net_add_client() {
	local n=$((${#NS_CLIENTS[@]} + 1))
	local ns=herd-c$n-$$ ip=$NET.$((n + 1))
	ip netns add "$ns" || die "cannot create namespace $ns"
	NS_CLIENTS+=("$ns")
	ip link add "c$n" netns "$NS_SRV" mtu 1500 type veth peer name eth0 netns "$ns" mtu 1500 ||
		die "cannot create veth pair for $ns"
	ip -n "$NS_SRV" link set "c$n" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	NS_CLI=$ns
	CLI_IP=$ip
	eval "NS_CLIENT_$n=\$ns CLIENT_IP_$n=\$ip"
}

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_cli() { ip netns exec "$NS_CLIENT_1" "$@"; }

# wait_udp_listen NS PORT [SECONDS]: waits until something listens on UDP PORT.
wait_udp_listen() {
	local ns=$1 port=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		if [ -n "$(ip netns exec "$ns" ss -Hnul "sport = :$port")" ]; then
			return 0
		fi
		if [ -n "$HERD_PID" ] && ! kill -0 "$HERD_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# --- herd ------------------------------------------------------------------

# herd_config FILE: writes a configuration serving TFTP from $TFTP_ROOT and
# logs into $LOG_DIR, on the server address only. Lines in HERD_SERVER_EXTRA,
# HERD_TFTP_EXTRA and HERD_LOG_EXTRA are added to their sections.
herd_config() {
	cat >"$1" <<EOF
; written by tests/system/lib.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M
${HERD_SERVER_EXTRA:-}

[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT
${HERD_TFTP_EXTRA:-}

[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $LOG_DIR
${HERD_LOG_EXTRA:-}
EOF
}

# Prepares $TFTP_ROOT (readable by all) and $LOG_DIR (owned by nobody).
herd_dirs() {
	TFTP_ROOT=${TFTP_ROOT:-$WORK/root}
	LOG_DIR=${LOG_DIR:-$WORK/logs}
	mkdir -p "$TFTP_ROOT" "$LOG_DIR"
	chown nobody "$LOG_DIR"
}

herd_san_env() {
	# Reports go to herd's stderr, which herd_stop scans. LSan needs to ptrace
	# after herd has dropped to nobody; herd keeps itself dumpable for that.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:halt_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
}

# herd_start: starts herd (or the reference server) in the server namespace
# and waits until it listens on the TFTP port. Dies if it does not.
herd_start() {
	HERD_CONF=$WORK/herd.conf
	HERD_ERR=$WORK/herd.stderr
	herd_dirs
	if [ "${HERD_REF:-}" = tftpd-hpa ]; then
		chmod -R a+rX "$TFTP_ROOT"
		bg_start ip netns exec "$NS_SRV" in.tftpd -L -v -v -s "$TFTP_ROOT" -a "$SRV_IP:69" \
			-B 1468 >/dev/null 2>"$HERD_ERR"
		HERD_PID=$BG_PID
		wait_udp_listen "$NS_SRV" 69 || die "in.tftpd did not start: $(cat "$HERD_ERR")"
		return 0
	fi
	herd_config "$HERD_CONF"
	chmod -R a+rX "$TFTP_ROOT"
	herd_san_env
	bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
	HERD_PID=$BG_PID
	if ! wait_udp_listen "$NS_SRV" 69; then
		sed 's/^/  herd: /' "$HERD_ERR"
		die "herd did not start listening on $SRV_IP:69"
	fi
}

# sanitizer_clean FILE: true if FILE holds no ASan/UBSan/LSan report.
sanitizer_clean() {
	! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|Sanitizer has encountered|SUMMARY: [A-Za-z]*Sanitizer' "$1"
}

# herd_stop: SIGTERM, then checks that herd exited 0 within 10 s and that
# the sanitizers reported nothing. Counts as a check.
herd_stop() {
	local pid=$HERD_PID rc i
	[ -n "$pid" ] || return 0
	HERD_PID=
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		rc=$?
		bg_forget "$pid"
		sed 's/^/  herd: /' "$HERD_ERR" | tail -40
		fail "herd died during the test (exit status $rc)"
		return 1
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid"
		bg_forget "$pid"
		fail "herd did not stop within 10 s of SIGTERM"
		return 1
	fi
	wait "$pid"
	rc=$?
	bg_forget "$pid"
	if [ "${HERD_REF:-}" = tftpd-hpa ]; then
		return 0 # in.tftpd dies of SIGTERM; nothing to check
	fi
	if ! sanitizer_clean "$HERD_ERR"; then
		sed 's/^/  herd: /' "$HERD_ERR" | grep -A40 -E 'Sanitizer|runtime error' | head -80
		fail "herd: sanitizer report on stderr (see above)"
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  herd: /' "$HERD_ERR" | tail -20
		fail "herd exited with status $rc after SIGTERM (expected 0)"
		return 1
	fi
	pass "herd stopped cleanly on SIGTERM, no sanitizer report"
}

# --- files -----------------------------------------------------------------

# mkfile PATH BYTES: random content.
mkfile() {
	head -c "$2" /dev/urandom >"$1"
}
