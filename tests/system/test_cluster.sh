#!/bin/bash
# Two herd servers on one PostgreSQL 15 ([cluster], issue 13).
#
# One segment (the bridge): the database's host ($SRV_IP), herd a and herd
# b, and a relay namespace where herd swarm's clients live (a relay with
# both servers as helper addresses, as ISC dhcrelay forwards to several).
#
# It must show:
#   1. 2000 clients power on (PXE ROM DHCP, the loader over TFTP, iPXE's
#      DHCP, its script's kernel and initrd over TFTP, the OS's DHCP),
#      split between a and b by the hash of their MAC. Server a is killed
#      with SIGKILL in the middle; b takes over a's share within
#      [cluster] takeover_s. Firmware that lost its transfer boots again
#      (swarm --boot-retries, with EDK2's and iPXE's rule that a REQUEST
#      nobody answers ends the DHCP session). Every client boots; no
#      address was acknowledged to two MACs; every acknowledged lease is
#      in the database afterwards; b's herd status shows every node.
#   2. a is back. PostgreSQL stops for 10 s during a 500-client burst
#      (250 inventory nodes, 250 pool clients): the known nodes boot while
#      it is down, the pool clients once it is back, none is lost, and
#      every pool lease they were acknowledged is in the database.
# Both herds run under ASan/UBSan, confined (seccomp), as user nobody.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_pg.sh"

require_root
require_herd
require_tools ip ss python3 timeout awk nft curl promtool
SWARM=${SWARM:-$TOP/build/herd}
[ -x "$SWARM" ] || SWARM=$HERD
[ -n "${HERD_REF:-}" ] && skip "the reference server has no [cluster]"
pg_available install || skip "$PG_WHY"

N=${CLUSTER_CLIENTS:-2000}
KNOWN=${CLUSTER_KNOWN:-250}
POOLED=${CLUSTER_POOLED:-250}
TAKEOVER=3
setup_work
net_setup # $NS_SRV holds the bridge and $SRV_IP: the database's host
NS_RELAY=$NS_CLI RELAY_IP=$CLI_IP
net_add_client
NS_A=$NS_CLI IP_A=$CLI_IP
net_add_client
NS_B=$NS_CLI IP_B=$CLI_IP

pg_start "$NS_SRV" "$WORK/pg" "$SRV_IP" 5432 || die "PostgreSQL did not start"
psql_q() { pg_psql "$1" 2>&1; }

herd_dirs
ROOT=$TFTP_ROOT
mkfile "$ROOT/undionly.kpxe" 70000
mkfile "$ROOT/vmlinuz" 400000
mkfile "$ROOT/initrd.img" 200000
chmod -R a+rX "$ROOT"

# Part 2's known nodes: MACs 02:48:00:10:00:00 + i (swarm --mac-base
# 1048576), addresses 10.99.40.1 and up.
{
	echo "# name mac ip group"
	for ((i = 0; i < KNOWN; i++)); do
		printf 'known%03d 02:48:00:10:%02x:%02x 10.99.%d.%d a\n' "$i" $((i >> 8)) $((i & 255)) \
			$((40 + i / 250)) $((1 + i % 250))
	done
} >"$WORK/nodes.tab"

# herd_conf NAME ADDR: server NAME's configuration: the defaults but for
# where things are (no node logs) and TFTP's limits. Every swarm client has the
# relay's address, so TFTP cannot tell them apart: the per-address limits
# are off. And the link is paced, so that the kill lands mid-download.
herd_conf() {
	mkdir -p "$WORK/$1"
	chown nobody "$WORK/$1"
	cat >"$WORK/$1/herd.conf" <<EOF
; written by tests/system/test_cluster.sh
[server]
user = nobody

[tftp]
listen = $2:69
root = $ROOT
source_rate = 0
unknown_rate = 0
unknown_share = 100
; paced, so that the kill below lands in the middle of the downloads
link_rate = 300M

[log]
enabled = no

[status]
socket = $WORK/$1/herd.sock
listen = $2:9180

[dhcp]
enabled = yes
inventory = $WORK/nodes.tab
default_group = a

[cluster]
database = host=$SRV_IP port=5432 dbname=herd user=herd
name = $1
takeover_s = $TAKEOVER

[subnet link]
network = 10.99.0.0/16
pool = 10.99.8.0 - 10.99.31.255

[group a]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0
ipxe_fetch = tftp
loader_efi64 =
EOF
}
herd_conf a "$IP_A"
herd_conf b "$IP_B"
"$HERD" check -c "$WORK/a/herd.conf" >"$WORK/check.out" 2>&1 ||
	die "herd check: $(tail -3 "$WORK/check.out")"
# The servers answer the clients through the relay's address.
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" route add 10.99.0.0/16 via "$RELAY_IP" 2>/dev/null
done

herd_san_env
declare -A PID
# start NAME NS [ASAN_OPTIONS]
start() {
	local err=$WORK/$1/herd.stderr.$((++STARTS))
	ASAN_OPTIONS=${3:-$ASAN_OPTIONS} bg_start ip netns exec "$2" "$HERD" serve \
		-c "$WORK/$1/herd.conf" 2>"$err"
	PID[$1]=$BG_PID
	ln -sf "$err" "$WORK/$1/herd.stderr"
	wait_udp_listen "$2" 69 || die "herd $1 did not start: $(tail -5 "$err")"
}
STARTS=0
start a "$NS_A" detect_leaks=0:halt_on_error=1 # killed: no leak report to read
start b "$NS_B"
both_alive() { grep -q "servers alive: a, b" "$WORK/a/herd.stderr" && grep -q "servers alive: a, b" "$WORK/b/herd.stderr"; }
wait_for 15 both_alive || die "the servers did not see each other: $(grep cluster "$WORK"/[ab]/herd.stderr | tail -4)"
pass "a and b see each other through the database; each answers 128 of 256 buckets"

# json FILE KEY: a number from a swarm's JSON line (KEY may be dhcp.x).
json() {
	python3 -c 'import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for k in sys.argv[2].split("."):
    j = j.get(k, 0) if isinstance(j, dict) else 0
print(j)' "$1" "$2"
}
# swarm OUT ARGS...: the clients, through the relay with both helpers.
swarm() {
	local out=$1
	shift
	ip netns exec "$NS_RELAY" timeout 400 "$SWARM" swarm --chain --dhcp-server "$IP_A,$IP_B" \
		--bind "$RELAY_IP" --set request_fallback=0 --json --quiet "$@" >"$out" 2>"$out.err"
}
# No address to two MACs (ACKs taken: T MAC IP SERVER SECS STAGE).
one_mac_per_ip() {
	awk '{ print $3, $2 }' "$@" | sort -u | awk '{ n[$1]++ } END { for (ip in n) if (n[ip] > 1) print ip }' | head -5
}
# Every pool address acknowledged is the database's, to that MAC.
missing_in_db() {
	psql_q "SELECT host(ip) || ' ' || mac FROM herd_lease" | sort -u >"$WORK/db-leases"
	awk '$3 !~ /^10\.99\.40\./ { print $3, $2 }' "$@" | sort -u | comm -23 - "$WORK/db-leases"
}

# --- 1. 2000 clients, server a killed in the middle ---------------------------

ulimit -n 20000
T0=$(date +%s.%N)
swarm "$WORK/swarm1.out" -n "$N" --boot-retries 4 --boot-retry-delay 5 \
	--acks "$WORK/acks1" --max-time 360 &
SWARM_PID=$!
# A quarter of the clients past their loader (their iPXE ACK): the others
# are in the middle of theirs, and of their kernels.
mid_boot() { [ -f "$WORK/acks1" ] && [ "$(grep -c ' ipxe$' "$WORK/acks1")" -ge $((N / 4)) ]; }
wait_for 120 mid_boot || die "the clients did not reach iPXE within 120 s"
kill -KILL "${PID[a]}"
wait "${PID[a]}" 2>/dev/null
bg_forget "${PID[a]}"
T_KILL=$(date +%s.%N)
echo "  herd a killed (SIGKILL) $(awk -v a="$T0" -v b="$T_KILL" 'BEGIN { printf "%.1f", b - a }') s after the power-on; ACKs by then: $(awk '{ n[$4]++ } END { for (s in n) printf "%s from %s  ", n[s], s }' "$WORK/acks1")"
gone() { grep -q "server a is gone" "$WORK/b/herd.stderr"; }
wait_for $((TAKEOVER + 5)) gone
T_GONE=$(date +%s.%N)
took=$(awk -v a="$T_KILL" -v b="$T_GONE" 'BEGIN { printf "%.1f", b - a }')
check "b takes over a's clients ${took} s after the kill ([cluster] takeover_s = $TAKEOVER)" \
	awk -v t="$took" -v m="$TAKEOVER" 'BEGIN { exit !(t <= m + 1) }'
wait "$SWARM_PID"
rc=$?
T1=$(date +%s.%N)
grep -vE '^\{' "$WORK/swarm1.out" | sed 's/^/  /' | head -24
echo "  the power-on took $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }') s"
check "every one of $N clients booted: loader, iPXE, kernel, initrd, OS DHCP (swarm exit $rc)" \
	test "$rc" = 0 -a "$(json "$WORK/swarm1.out" ok)" = "$N"
retries=$(json "$WORK/swarm1.out" boot_retries)
check "the kill cut clients off: $retries boots again ($(json "$WORK/swarm1.out" rebooted) clients)" \
	[ "$retries" -ge 1 ]
servers=$(awk '{ print $4 }' "$WORK/acks1" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
check "both servers answered ($servers)" \
	test "$(awk '{ print $4 }' "$WORK/acks1" | sort -u | wc -l)" = 2
dup=$(one_mac_per_ip "$WORK/acks1")
check "no address acknowledged to two MACs${dup:+: $dup}" [ -z "$dup" ]
miss=$(missing_in_db "$WORK/acks1" | head -5)
check "every acknowledged lease ($(awk '{ print $3, $2 }' "$WORK/acks1" | sort -u | wc -l) pairs) is in herd_lease${miss:+; missing: $miss}" \
	[ -z "$miss" ]
check "the database holds one row per address (no duplicate by construction): $(psql_q 'SELECT count(*) FROM herd_lease') leases" \
	test "$(psql_q 'SELECT count(*) FROM herd_lease')" = "$(psql_q 'SELECT count(DISTINCT ip) FROM herd_lease')"
"$SWARM" status -S "$WORK/b/herd.sock" --json >"$WORK/status-b.json"
nodes=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$WORK/status-b.json")
check "herd status on b shows every node of the cluster ($nodes of $N)" [ "$nodes" -ge "$N" ]
by_a=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(sum(1 for n in d["nodes"] if n.get("server") == "a" and n.get("server_alive") is False))' "$WORK/status-b.json")
echo "  b's view: $by_a nodes last seen booting from a (gone), the rest from b"

ip netns exec "$NS_B" curl -sf "http://$IP_B:9180/metrics" >"$WORK/metrics-b.txt"
check "b's /metrics passes promtool check metrics" promtool check metrics <"$WORK/metrics-b.txt"
check "b's /metrics: 1 server alive, 256 buckets answered, 1 server gone, no failed batch" \
	test "$(awk '$1 == "herd_cluster_servers_alive" || $1 == "herd_cluster_buckets_mine" ||
		$1 == "herd_cluster_servers_gone_total" || $1 == "herd_cluster_failed_batches_total" { printf "%s ", $2 }' \
		"$WORK/metrics-b.txt")" = "1 256 0 1 "
grep -E '^herd_(cluster|dhcp_lease_conflicts|dhcp_unanswered_total\{reason="(other_server|database_waiting)")' \
	"$WORK/metrics-b.txt" | sed 's/^/  /'

# --- 2. a is back; PostgreSQL stops for 10 s during a 500-client burst ---------

start a "$NS_A"
both_alive_again() { [ "$(grep -c "servers alive: a, b" "$WORK/b/herd.stderr")" -ge 2 ]; }
wait_for 15 both_alive_again || die "a did not come back: $(tail -3 "$WORK/a/herd.stderr")"
# One swarm (the relay's port 67 is one socket): its first KNOWN clients
# are the inventory's nodes, the next POOLED pool clients.
pg_stop
T_STOP=$(date +%s.%N)
swarm "$WORK/burst.out" -n $((KNOWN + POOLED)) --mac-base 1048576 --boot-retries 4 \
	--boot-retry-delay 2 --acks "$WORK/acks2" --max-time 180 &
BURST_PID=$!
sleep 10
pg_restart || die "PostgreSQL did not start again"
T_BACK=$(date +%s.%N)
wait "$BURST_PID"
brc=$?
T_END=$(date +%s.%N)
rel() { awk -v a="$T_STOP" -v b="$1" 'BEGIN { printf "%.1f", b - a }'; }
back_ms=$(awk -v a="$T_STOP" -v b="$T_BACK" 'BEGIN { printf "%d", (b - a) * 1000 }')
grep -vE '^\{' "$WORK/burst.out" | sed 's/^/  /' | head -8
# The last ACK of each client (its OS's DHCP): when it was up, in ms
# after the swarm started (just after the stop).
# Known nodes have their inventory address, 10.99.40.x.
awk '$6 == "os" { t[$2] = $1; a[$2] = $3 } END { for (m in t) print m, t[m], a[m] }' "$WORK/acks2" |
	sort >"$WORK/up2"
known_up=$(awk '$3 ~ /^10\.99\.40\./ { n++; if ($2 > max) max = $2 } END { printf "%d %d", n, max }' "$WORK/up2")
pool_up=$(awk '$3 !~ /^10\.99\.40\./ { n++; if (min == "" || $2 < min) min = $2 } END { printf "%d %d", n, min }' "$WORK/up2")
echo "  PostgreSQL stopped at 0 s, back at $(rel "$T_BACK") s; known nodes up by ${known_up#* } ms, pool clients from ${pool_up#* } ms; the burst ended at $(rel "$T_END") s"
check "the burst booted all $((KNOWN + POOLED)) clients (swarm exit $brc)" \
	test "$brc" = 0 -a "$(json "$WORK/burst.out" ok)" = $((KNOWN + POOLED))
check "the $KNOWN known nodes booted while the database was down (${known_up%% *} up, the last at ${known_up#* } ms < $back_ms ms)" \
	test "${known_up%% *}" = "$KNOWN" -a "${known_up#* }" -lt "$back_ms"
check "the $POOLED pool clients booted once it was back (${pool_up%% *} up, the first at ${pool_up#* } ms > $back_ms ms)" \
	test "${pool_up%% *}" = "$POOLED" -a "${pool_up#* }" -gt "$back_ms"
# The swarm started after the stop: its clock is behind the outage's.
early=$(awk -v back="$back_ms" '$1 < back && $3 !~ /^10\.99\.40\./' "$WORK/acks2" | wc -l)
dup=$(one_mac_per_ip "$WORK/acks1" "$WORK/acks2")
check "still no address acknowledged to two MACs${dup:+: $dup}" [ -z "$dup" ]
miss=$(missing_in_db "$WORK/acks2" | head -5)
check "every pool lease acknowledged in the burst is in herd_lease${miss:+; missing: $miss}" \
	[ -z "$miss" ]
check "no pool client was acknowledged while the database was down ($early ACKs before it was back)" \
	[ "$early" = 0 ]
for s in a b; do
	grep -E "cluster: (database|the database is back)" "$WORK/$s/herd.stderr" | tail -2 | sed "s/^/  $s: /"
done

# --- 3. a network split between a and b, both still reaching the database ------

# Nothing passes between a and b (they never talk to each other: only to
# the database). Each keeps its share; the database still arbitrates.
la=$(wc -l <"$WORK/a/herd.stderr") lb=$(wc -l <"$WORK/b/herd.stderr")
ip netns exec "$NS_A" nft -f - <<EOF || die "cannot split the servers (nft)"
table inet herd_split {
	chain in { type filter hook input priority 0; ip saddr $IP_B drop; }
	chain out { type filter hook output priority 0; ip daddr $IP_B drop; }
}
EOF
sleep $((TAKEOVER + 1))
swarm "$WORK/split.out" -n 400 --mac-base 4194304 --dhcp-only --acks "$WORK/acks3" --max-time 60
rc=$?
servers=$(awk '{ print $4 }' "$WORK/acks3" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
check "split: 400 clients served, by both servers ($servers; swarm exit $rc)" \
	test "$rc" = 0 -a "$(json "$WORK/split.out" ok)" = 400 -a \
	"$(awk '{ print $4 }' "$WORK/acks3" | sort -u | wc -l)" = 2
check "split: neither server took the other's share (no 'is gone' in their logs since)" \
	test -z "$(tail -n +$((la + 1)) "$WORK/a/herd.stderr" | grep 'is gone')$(tail -n +$((lb + 1)) "$WORK/b/herd.stderr" | grep 'is gone')"
dup=$(one_mac_per_ip "$WORK/acks1" "$WORK/acks2" "$WORK/acks3")
miss=$(missing_in_db "$WORK/acks3" | head -5)
check "split: no address to two MACs${dup:+: $dup}, every lease in herd_lease${miss:+; missing: $miss}" \
	[ -z "$dup$miss" ]

# --- the end -------------------------------------------------------------------

for s in a b; do
	kill -TERM "${PID[$s]}"
	wait "${PID[$s]}"
	rc=$?
	bg_forget "${PID[$s]}"
	check "herd $s stopped cleanly on SIGTERM (exit $rc), no sanitizer report" \
		test "$rc" = 0 -a -z "$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$WORK/$s/herd.stderr")"
done
finish
