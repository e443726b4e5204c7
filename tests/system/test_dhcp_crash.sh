#!/usr/bin/env bash
# Durable leases: herd is killed with SIGKILL at a random moment of a burst
# of DHCP clients, ten times. After each restart, every ACK a client saw is
# in herd's lease table (the lease file herd rewrites at start), and no
# address is held by two clients.
. "$(dirname "$0")/lib.sh"

require_root
require_tools python3
require_herd
setup_work
net_setup
herd_dirs
cat >"$WORK/herd.conf" <<CONF
[server]
user = nobody
[tftp]
enabled = no
[log]
enabled = no
dir = $LOG_DIR
[dhcp]
enabled = yes
lease_file = $WORK/lib/leases
pin_neighbours = no
[subnet lab]
network = 10.99.0.0/16
pool = 10.99.1.0 - 10.99.31.255
[group default]
kernel = vmlinuz
CONF
mkdir -p "$WORK/lib"
chown nobody "$WORK/lib"
herd_san_env
# A herd killed with SIGKILL leaves no leak report to read.
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1

start() {
	HERD_ERR=$WORK/herd.stderr
	bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>>"$HERD_ERR"
	HERD_PID=$BG_PID
	wait_udp_listen "$NS_SRV" 67 || die "herd did not start: $(tail -5 "$HERD_ERR")"
}

# Every "mac ip" a client saw ACKed must be in the lease file; each address
# appears once there by construction (one record per address is kept), so
# check that no address was ACKed to two MACs either.
verify() {
	local round=$1 missing dup
	# lease file lines: "L ip mac expires crc"; acked lines: "mac ip"
	missing=$(awk 'NR == FNR { if ($1 == "L") have[$3 " " $2] = 1; next }
		!(($1 " " $2) in have)' "$WORK/lib/leases" "$WORK/acked" | head -5)
	dup=$(sort -u "$WORK/acked" | awk '{ n[$2]++ } END { for (ip in n) if (n[ip] > 1) print ip }' |
		head -5)
	if [ -z "$missing" ]; then
		pass "round $round: every acknowledged lease survived SIGKILL ($(wc -l <"$WORK/acked") acked so far)"
	else
		fail "round $round: acknowledged but lost: $missing"
	fi
	[ -z "$dup" ] && pass "round $round: no address acknowledged to two clients" ||
		fail "round $round: addresses acknowledged to two clients: $dup"
}

: >"$WORK/acked"
start
for round in 1 2 3 4 5 6 7 8 9 10; do
	bg_start ip netns exec "$NS_CLI" python3 "$SYS_DIR/tools/dhcp_burst.py" eth0 300 "$WORK/acked" 10
	burst=$BG_PID
	sleep "0.$((RANDOM % 5))$((RANDOM % 10))" # somewhere in the burst
	kill -KILL "$HERD_PID"
	wait "$HERD_PID" 2>/dev/null
	bg_forget "$HERD_PID"
	HERD_PID=
	kill "$burst" 2>/dev/null
	wait "$burst" 2>/dev/null
	bg_forget "$burst"
	start # replays and rewrites the lease file before answering
	verify "$round"
done
acked=$(wc -l <"$WORK/acked")
[ "$acked" -ge 100 ] && pass "the bursts were acknowledged $acked times in all" ||
	fail "only $acked ACKs in ten bursts: the test did not exercise the journal"
herd_stop
finish
