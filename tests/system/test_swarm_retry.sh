#!/bin/bash
# herd swarm --boot-retries against a herd that dies mid-boot (issue 13).
#
# It must show: 200 swarm clients power on through a relay (DHCP, then the
# loader over TFTP, every block checked); herd is killed with SIGKILL while
# they download and started again 3 s later. Firmware that lost its
# transfer gives up by its own rule and boots again from DISCOVER
# (--boot-retries 3); in the end every client has the whole file, and the
# --acks file shows no address acknowledged to two MACs. Then a relay with
# two helper addresses (--dhcp-server A,B). The restarted herd runs under
# ASan/UBSan and stops cleanly.
. "$(dirname "$0")/lib.sh"

require_root
require_herd
require_tools ip ss python3 timeout awk
SWARM=${SWARM:-$TOP/build/herd}
[ -x "$SWARM" ] || SWARM=$HERD
N=${SWARM_RETRY_CLIENTS:-200}
setup_work
net_setup

herd_dirs
ROOT=$TFTP_ROOT
mkfile "$ROOT/undionly.kpxe" 1000000
chmod -R a+rX "$ROOT"
: >"$WORK/nodes.tab"
mkdir -p "$WORK/lib"
chown nobody "$WORK/lib"

HERD_CONF=$WORK/herd.conf
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_swarm_retry.sh
[server]
user = nobody

[tftp]
listen = $SRV_IP:69
root = $ROOT
; the swarm's 200 nodes share one address
source_rate = 0
; paced, so that the 200 downloads take ~8 s however fast the host is: the
; kill below comes in their middle
link_rate = 200M

[log]
enabled = no

[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $WORK/nodes.tab
lease_file = $WORK/lib/leases
unknown = pool
default_group = a
pin_neighbours = no

; the relay's giaddr ($CLI_IP) is in this subnet; the pool holds every client
[subnet link]
network = $NET.0/16
pool = 10.99.1.0 - 10.99.3.255

[group a]
loader_bios = undionly.kpxe
kernel = vmlinuz
EOF
herd_san_env
# The first herd is killed: it leaves no leak report to read.
start_herd() {
	HERD_ERR=$WORK/herd-$1.stderr
	ASAN_OPTIONS=$2 bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
	HERD_PID=$BG_PID
	wait_udp_listen "$NS_SRV" 67 && wait_udp_listen "$NS_SRV" 69 ||
		die "herd did not start: $(tail -5 "$HERD_ERR")"
}
start_herd 1 detect_leaks=0:halt_on_error=1

# json KEY: a number from the swarm's JSON line (KEY may be dhcp.x).
json() {
	python3 -c 'import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for k in sys.argv[2].split("."):
    j = j[k]
print(j)' "$WORK/swarm.out" "$1"
}

T0=$(date +%s.%N)
bg_start ip netns exec "$NS_CLI" timeout 200 "$SWARM" swarm --dhcp-server "$SRV_IP" \
	--bind "$CLI_IP" -n "$N" -f undionly.kpxe --verify "$ROOT/undionly.kpxe" \
	--boot-retries 3 --boot-retry-delay 5 --acks "$WORK/acks" --timeline "$WORK/timeline.json" \
	--json --quiet --max-time 180 >"$WORK/swarm.out" 2>"$WORK/swarm.err"
SWARM_PID=$BG_PID

# Mid-download: three quarters of the clients have their lease (the acks
# file is written a line at a time), then 2 s of TFTP: 200 MB at 200 Mbit/s
# take longer than that. The timeline says below who was cut off.
mid_download() {
	[ -f "$WORK/acks" ] && [ "$(wc -l <"$WORK/acks")" -ge $((N * 3 / 4)) ]
}
wait_for 30 mid_download || fail "the clients did not reach the download within 30 s"
sleep 2
kill -KILL "$HERD_PID"
wait "$HERD_PID" 2>/dev/null
bg_forget "$HERD_PID"
HERD_PID=
T_KILL=$(date +%s.%N)
acked_before=$(wc -l <"$WORK/acks")
echo "  herd killed (SIGKILL) $(awk -v a="$T0" -v b="$T_KILL" 'BEGIN { printf "%.1f", b - a }') s after the power-on, $acked_before ACKs taken by then"
sleep 3
start_herd 2 "$ASAN_OPTIONS"

wait "$SWARM_PID"
rc=$?
bg_forget "$SWARM_PID"
T1=$(date +%s.%N)
grep -vE '^\{' "$WORK/swarm.out" | sed 's/^/  /' | head -30
[ "$rc" = 0 ] || sed 's/^/  swarm: /' "$WORK/swarm.err" | tail -5
echo "  swarm ended $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }') s after the power-on"

check "every one of $N clients booted with the whole file (swarm exit $rc)" \
	test "$rc" = 0 -a "$(json ok)" = "$N"
retries=$(json boot_retries)
check "the kill cut clients off: $retries boot retries, $(json rebooted) clients booted again" \
	[ "$retries" -ge 1 ]
# Whom the kill caught mid-TFTP: a reboot after a TFTP timeout in the
# firmware stage, then an ACK and the download again.
cut=$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
n = 0
for c in j["timeline"]:
    ev = [(s["event"], s.get("why")) for s in c["stages"]]
    if ("reboot", "timeout") in ev and ev[-1][0] == "done":
        n += 1
print(n)' "$WORK/timeline.json")
check "$cut clients lost their transfer mid-download, booted again and finished" \
	[ "$cut" -ge $((N / 2)) ]
acks=$(wc -l <"$WORK/acks")
macs=$(awk '{ print $2 }' "$WORK/acks" | sort -u | wc -l)
check "--acks: $acks ACKs taken, every one of $N MACs has one" [ "$macs" = "$N" ]
check "--acks: lines are T_MS MAC IP SERVER_ID LEASE_SECS firmware" \
	awk -v srv="$SRV_IP" 'NF != 6 || $1 !~ /^[0-9]+$/ || $2 !~ /^02:48:/ || $4 != srv ||
		$5 !~ /^[0-9]+$/ || $6 != "firmware" { bad = 1 } END { exit bad }' "$WORK/acks"
dup=$(awk '{ print $3, $2 }' "$WORK/acks" | sort -u |
	awk '{ n[$1]++ } END { for (ip in n) if (n[ip] > 1) print ip }' | head -5)
check "no address acknowledged to two MACs${dup:+: $dup}" [ -z "$dup" ]
moved=$(awk '{ print $2, $3 }' "$WORK/acks" | sort -u |
	awk '{ n[$1]++ } END { for (m in n) if (n[m] > 1) c++; print c + 0 }')
echo "  $moved MACs were given another address after the restart"

# A relay with two helper addresses, both reaching this herd (a second
# address on its bridge): every request arrives twice, the first OFFER is
# taken, the second copy is stale, and so is the second ACK.
in_srv ip addr add "$NET.254/24" dev br0
in_cli timeout 60 "$SWARM" swarm --dhcp-server "$SRV_IP,$NET.254" --bind "$CLI_IP" -n 20 \
	--mac-base 1000 --dhcp-only --json --quiet --max-time 50 >"$WORK/swarm.out" 2>&1
rc=$?
check "--dhcp-server A,B: 20 DORAs through both helper addresses (exit $rc)" \
	test "$rc" = 0 -a "$(json dhcp.exchanges)" = 20
check "--dhcp-server A,B: the second copy of each answer is stale ($(json dhcp.stages.firmware.stale))" \
	[ "$(json dhcp.stages.firmware.stale)" -ge 1 ]

herd_stop
finish
