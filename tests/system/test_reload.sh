#!/bin/bash
# Live reload (SIGHUP) under load: 2000 emulated PXE clients (herd swarm:
# DHCP through a relay, then TFTP) boot while herd is sent SIGHUP five
# times, each after a change to the inventory or the configuration: a node
# added, one removed, one moved to another group, a group's command line
# changed, and a key that needs a restart. Then a broken configuration and
# a broken inventory are each refused with their line, and serving goes on.
#
# It must show: no client fails, clients retransmit no more than in the same
# run without reloads, the added node is served by name, the moved node gets
# its new group's boot file, the removed one is a pool client, and herd
# (ASan/UBSan build) stops cleanly: no snapshot used after it was freed.
#
# The network: a server namespace and a client namespace joined by one veth
# pair; the clients' side holds the relay address the swarm sends from.
. "$(dirname "$0")/lib.sh"

require_root
require_herd
require_tools python3 curl
setup_work

CLIENTS=${RELOAD_CLIENTS:-2000}
# The load generator need not be the sanitizer build under test.
SWARM=$HERD
[ -x "$TOP/build/herd" ] && SWARM=$TOP/build/herd
SRV_IP=10.78.0.1 CLI_IP=10.78.0.2 RELAY_IP=10.80.0.1 RELAY_NET=10.80.0.0/16
NS_SRV=herd-rs-$$ NS_CLI=herd-rc-$$
NS_CLIENTS=("$NS_CLI")
ip netns add "$NS_SRV" && ip netns add "$NS_CLI" || die "cannot create namespaces"
ip -n "$NS_SRV" link set lo up
ip -n "$NS_CLI" link set lo up
ip link add s0 netns "$NS_SRV" type veth peer name c0 netns "$NS_CLI" || die "veth"
ip -n "$NS_SRV" addr add "$SRV_IP/24" dev s0
ip -n "$NS_CLI" addr add "$CLI_IP/24" dev c0
ip -n "$NS_CLI" addr add "$RELAY_IP/16" dev c0
ip -n "$NS_SRV" link set s0 up
ip -n "$NS_CLI" link set c0 up
ip -n "$NS_SRV" route add "$RELAY_NET" via "$CLI_IP"

ROOT=$WORK/root LOG_DIR=$WORK/logs
mkdir -p "$ROOT" "$LOG_DIR"
chown nobody "$LOG_DIR"
mkfile "$ROOT/a.kpxe" 98304
mkfile "$ROOT/b.kpxe" 98304
mkfile "$ROOT/ipxe.efi" 4096
mkfile "$ROOT/vmlinuz" 4096
chmod -R a+rX "$ROOT"

ADDED=02:48:00:01:00:01 GONE=02:48:00:01:00:02 MOVER=02:48:00:01:00:03

# write_conf: the configuration, from CMDLINE_A, MAX_TRANSFERS and BROKEN
# (a line added to [tftp]).
CMDLINE_A="console=ttyS0 hostname=%{name}" MAX_TRANSFERS=2000 BROKEN=
# Written whole, then renamed over the old one, as configuration management
# does: herd never reads half a file.
write_conf() {
	cat >"$WORK/herd.conf.new" <<EOC
; written by tests/system/test_reload.sh
[server]
user = nobody
log_level = info
rcvbuf = 8M

[tftp]
listen = $SRV_IP:69
root = $ROOT
max_transfers = $MAX_TRANSFERS
; the swarm's clients share one address, which holds no lease: per-address
; and unknown-source limits (docs/DECISIONS.md) are not what this measures
source_rate = 0
unknown_rate = 0
unknown_share = 100
$BROKEN

[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $WORK/nodes.tab
lease_file = $WORK/leases
unknown = pool
default_group = a
lease_time = 3600

[subnet relay]
network = $RELAY_NET
pool = 10.80.100.0 - 10.80.131.255
router = $RELAY_IP

[subnet link]
network = 10.78.0.0/24

[group a]
loader_bios = a.kpxe
kernel = vmlinuz
cmdline = $CMDLINE_A

[group b]
loader_bios = b.kpxe
kernel = vmlinuz
cmdline = console=ttyS0 hostname=%{name} group=b
EOC
	mv "$WORK/herd.conf.new" "$WORK/herd.conf"
}

# write_inventory [extra lines...]: the first 1000 swarm clients by name
# (the other 1000 are pool clients), then the lines given.
write_inventory() {
	{
		echo "# written by tests/system/test_reload.sh"
		awk 'BEGIN { for (i = 0; i < 1000; i++)
			printf "rk%04d 02:48:00:00:%02x:%02x 10.80.%d.%d a\n", i, int(i / 256), i % 256,
				10 + int(i / 250), 1 + i % 250 }'
		printf '%s\n' "$@"
	} >"$WORK/nodes.tab.new"
	mv "$WORK/nodes.tab.new" "$WORK/nodes.tab"
}

INV_GONE="gone-1 $GONE 10.80.50.2 a"
INV_MOVER_A="mover $MOVER 10.80.50.3 a"
INV_MOVER_B="mover $MOVER 10.80.50.3 b"
INV_ADDED="added-1 $ADDED 10.80.50.1 a"

HERD_PID=
start_herd() {
	rm -f "$WORK/leases"
	HERD_ERR=$WORK/herd.$1.stderr
	herd_san_env
	bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>"$HERD_ERR"
	HERD_PID=$BG_PID
	wait_udp_listen "$NS_SRV" 67 && wait_udp_listen "$NS_SRV" 69 ||
		die "herd did not start: $(tail -5 "$HERD_ERR")"
}

# swarm OUT: the whole rack at once, PXE ROM DHCP then TFTP, half of it with
# iPXE's timers, half strict (probe, same-port retry, stale TIDs dropped,
# 1 s fixed timer). pxelinux's 110 ms first timer is left out: on a shared
# 2-core machine its retries measure the machine's load, not the reloads.
swarm() {
	timeout 200 ip netns exec "$NS_CLI" "$SWARM" swarm --dhcp --dhcp-server "$SRV_IP" \
		--bind "$RELAY_IP" -n "$CLIENTS" --mix ipxe:50,strict:50 --set dhcp_id=pxe-bios \
		--max-time 150 --json --quiet >"$1" 2>&1
}

# field FILE KEY...: a number from swarm's JSON line (nested keys).
field() {
	python3 - "$@" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for k in sys.argv[2:]:
    d = d[k]
print(d)
PY
}

probe() { ip netns exec "$NS_CLI" python3 "$SYS_DIR/tools/dhcp_probe.py" "$SRV_IP" "$RELAY_IP" "$1"; }

# base_run N: the rack boots with no reload.
base_run() {
	CMDLINE_A="console=ttyS0 hostname=%{name}" MAX_TRANSFERS=2000
	write_conf
	write_inventory "$INV_GONE" "$INV_MOVER_A"
	start_herd "base$1"
	swarm "$WORK/base$1.json"
	herd_stop
	local failed
	failed=$(field "$WORK/base$1.json" failed)
	check "run $1 without reloads: all $CLIENTS clients booted (failed: $failed)" [ "$failed" = 0 ]
}

# hup: SIGHUP, then waits until herd has said how the reload went.
hup() {
	local before i
	sleep 0.3
	before=$(grep -cE "reload: .*(serving|refused)" "$HERD_ERR")
	kill -HUP "$HERD_PID"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -cE "reload: .*(serving|refused)" "$HERD_ERR")" -gt "$before" ] && return 0
		sleep 0.05
	done
	fail "herd did not report on the reload within 5 s"
}

# reload_run N: the same while herd is sent SIGHUP five times; herd keeps
# running afterwards.
reload_run() {
	local pid failed
	CMDLINE_A="console=ttyS0 hostname=%{name}" MAX_TRANSFERS=2000
	write_conf
	write_inventory "$INV_GONE" "$INV_MOVER_A"
	start_herd "reload$1"
	swarm "$WORK/reload$1.json" &
	pid=$!
	BG_PIDS+=("$pid")
	write_inventory "$INV_GONE" "$INV_MOVER_A" "$INV_ADDED"
	hup # 1: a node added
	write_inventory "$INV_MOVER_A" "$INV_ADDED"
	hup # 2: one removed
	write_inventory "$INV_MOVER_B" "$INV_ADDED"
	hup # 3: one moved to group b
	CMDLINE_A="console=ttyS0 hostname=%{name} quiet"
	write_conf
	hup # 4: a group's command line
	MAX_TRANSFERS=1000
	write_conf
	hup # 5: a key that needs a restart
	wait "$pid"
	bg_forget "$pid"
	failed=$(field "$WORK/reload$1.json" failed)
	check "run $1 with 5 reloads: all $CLIENTS clients booted (failed: $failed)" [ "$failed" = 0 ]
	check "run $1: five reloads swapped in (generations 2 to 6)" \
		eval '[ "$(grep -c "reload: .*: generation [2-6] serving" "$HERD_ERR")" = 5 ]'
	grep -o "generation [2-6] serving.*checked in [0-9.]* ms" "$HERD_ERR" | sed 's/^/  /'
}

# Runs alternate, so that whatever else loads the machine weighs on both.
base_run 1
reload_run 1
herd_stop
base_run 2
reload_run 2
check "the fixed key is reported as needing a restart" \
	grep -q "reload: .*\[tftp\] max_transfers changed: needs a restart" "$HERD_ERR"
# Under the seccomp filter too: a refused geteuid would skip them.
check "reloads check access as the running user (nothing left unchecked)" \
	eval '! grep -q "is not checked" "$HERD_ERR"'

sum() {
	local kind=$1 total=0 n
	shift
	for n in 1 2; do total=$((total + $(field "$WORK/$kind$n.json" "$@"))); done
	echo "$total"
}
b_d=$(sum base dhcp retransmits) r_d=$(sum reload dhcp retransmits)
b_t=$(sum base client_retransmits) r_t=$(sum reload client_retransmits)
echo "  client retransmissions, 2 runs each: DHCP $b_d without reloads, $r_d with;" \
	"TFTP $b_t without, $r_t with"
# A reload stops the loop for the few milliseconds printed above, far less
# than the clients' shortest timer (250 ms): on a quiet machine both runs
# retransmit nothing. On a loaded one (other jobs sharing the 2 cores)
# both retransmit, by amounts that vary from run to run: the allowance is
# that noise, 1% of the clients per run plus half of what the runs without
# reloads needed.
allow() { echo $((2 * CLIENTS / 100 + $1 / 2)); }
check "DHCP retransmissions with reloads ($r_d) <= without ($b_d) + $(allow "$b_d")" \
	[ "$r_d" -le $((b_d + $(allow "$b_d"))) ]
check "TFTP retransmissions with reloads ($r_t) <= without ($b_t) + $(allow "$b_t")" \
	[ "$r_t" -le $((b_t + $(allow "$b_t"))) ]

# --- the changes took effect -------------------------------------------------
out=$(probe "$ADDED")
check "the added node gets its address and name ($out)" \
	eval '[[ $out == "yiaddr=10.80.50.1 file=a.kpxe hostname=added-1" ]]'
script=$(ip netns exec "$NS_CLI" curl -sS --max-time 5 \
	"tftp://$SRV_IP/herd/ipxe/${ADDED//:/-}.ipxe" 2>&1)
echo "$script" | sed 's/^/  script: /' 
check "the added node's iPXE script is rendered for it by name" \
	eval '[[ $script == *"hostname=added-1 quiet"* ]]'
out=$(probe "$MOVER")
check "the moved node gets its new group's boot file ($out)" \
	eval '[[ $out == "yiaddr=10.80.50.3 file=b.kpxe hostname=mover" ]]'
out=$(probe "$GONE")
check "the removed node is a pool client now ($out)" \
	eval '[[ $out == "yiaddr=10.80.1"*" file=a.kpxe hostname=" ]]'

# --- broken files are refused, serving goes on -----------------------------
BROKEN="blksize_max = lots" write_conf
line=$(grep -n "^blksize_max = lots" "$WORK/herd.conf" | cut -d: -f1)
hup
check "a broken configuration is refused with its line ($line)" \
	eval 'grep -q "herd.conf:$line:.*blksize_max" "$HERD_ERR" &&
	      grep -q "reload: .* refused (1 problem); still serving generation 6" "$HERD_ERR"'
MAX_TRANSFERS=1000 write_conf
write_inventory "$INV_MOVER_B" "$INV_ADDED" "broken 02:48:00:01:00:zz 10.80.50.9 a"
hup
check "a broken inventory is refused with its line (1004)" \
	eval 'grep -q "nodes.tab:1004:" "$HERD_ERR" &&
	      [ "$(grep -c "refused .*still serving generation 6" "$HERD_ERR")" = 2 ]'
out=$(probe "$MOVER")
check "serving goes on from the running snapshot ($out)" \
	eval '[[ $out == "yiaddr=10.80.50.3 file=b.kpxe hostname=mover" ]]'
herd_stop
finish
