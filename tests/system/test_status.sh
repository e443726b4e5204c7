#!/bin/bash
# The node state, the control socket, `herd status` and `herd reload`
# (issue 12, items 1 and 2; src/ops/, src/cmd/status.c).
#
# A swarm of STATUS_CLIENTS (2000) clients powers on through herd's whole
# chain (herd swarm --chain: PXE ROM DHCP, the loader over TFTP, iPXE's DHCP,
# its script, kernel and initrd -- over TFTP for the first half, rack1, over
# HTTP for the second, rack2 -- and the initramfs's DHCP); STATUS_DIE (20) of
# them go silent in the middle of their kernel (herd swarm --die). Then:
#   - `herd status --json` counts equal the swarm's own report: every client
#     that finished is at its last stage (initrd: the swarm sends no log), the
#     dead ones failed at stage kernel, "abandoned";
#   - a log line from each live node moves it to logging, herd's initramfs
#     marker ([status] up_marker) to up; one node's FAILED line fails it at
#     the stage it was in;
#   - `herd status` prints the table, filters by stage and group, and
#     `herd status NODE` the node's timeline and its log's last lines;
#   - `herd reload` prints the new generation, and a broken file's problem
#     (refused, exit 1);
#   - the socket is mode 0660; herd (ASan/UBSan, confined) stops cleanly.
. "$(dirname "$0")/lib.sh"

require_root
require_herd
require_tools ip ss python3 timeout
SWARM=${SWARM:-$TOP/build/herd}
[ -x "$SWARM" ] || SWARM=$HERD
[ -n "${HERD_REF:-}" ] && skip "the reference server has no node state"

CLIENTS=${STATUS_CLIENTS:-2000}
DIE=${STATUS_DIE:-20}
HALF=$((CLIENTS / 2))
[ "$CLIENTS" -le 4000 ] || skip "STATUS_CLIENTS: at most 4000 (herd swarm --bind)"
setup_work
net_setup

herd_dirs
ROOT=$TFTP_ROOT
mkfile "$ROOT/vmlinuz" 1500000
mkfile "$ROOT/initrd.img" 400000
mkfile "$ROOT/undionly.kpxe" 70000
chmod -R a+rX "$ROOT"

# Client i: MAC 02:48:00:00:00:00 + i, its own address (the i-th --bind),
# 10.99.1.2 and up in 10.99.0.0/16.
BINDS=
{
	echo "# name mac ip group"
	for ((i = 0; i < CLIENTS; i++)); do
		ip=10.99.$((1 + i / 250)).$((2 + i % 250))
		group=rack1
		[ "$i" -ge "$HALF" ] && group=rack2
		printf 'node%03d 02:48:%02x:%02x:%02x:%02x %s %s\n' "$i" \
			$((i >> 24 & 255)) $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) "$ip" "$group"
		echo "address add $ip/32 dev eth0" >>"$WORK/cli-addrs"
		BINDS=${BINDS:+$BINDS,}$ip
	done
} >"$WORK/nodes.tab"
ip -n "$NS_CLI" -batch "$WORK/cli-addrs" || die "cannot give the clients their addresses"
# Routed through the client namespace's address, as a rack behind its
# relay: herd's kernel needs one neighbour entry, not one per client (past
# 1024 it would drop its answers to the others).
ip -n "$NS_SRV" route add 10.99.0.0/16 via "$CLI_IP" || die "cannot route to the clients"

SOCK=$WORK/run/herd.sock
HERD_CONF=$WORK/herd.conf HERD_ERR=$WORK/herd.stderr
write_conf() {
	cat >"$HERD_CONF" <<EOF
; written by tests/system/test_status.sh
[server]
user = nobody
log_level = info

[tftp]
listen = $SRV_IP:69
root = $ROOT
; a client that goes silent is given up in a few seconds
retries = 6
rto_max_ms = 2000

[http]
enabled = yes
listen = $SRV_IP:80

[log]
syslog = $SRV_IP:514
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $WORK/nodes.tab
lease_file = $WORK/leases
unknown = ignore
pin_neighbours = no

[status]
socket = $SOCK
stage_timeout_s = 600

[subnet link]
network = 10.99.0.0/16

[group rack1]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0
ipxe_fetch = tftp

[group rack2]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0
ipxe_fetch = http
EOF
}
write_conf
herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
wait_udp_listen "$NS_SRV" 69 && wait_for 10 test -S "$SOCK" ||
	die "herd did not start: $(tail -5 "$HERD_ERR")"

check "the control socket is mode 0660" test "$(stat -c %a "$SOCK")" = 660

# status ARGS...: herd status against the socket (the CLI needs no namespace).
status() { "$SWARM" status -S "$SOCK" "$@"; }

# jq_py FILE EXPR: a value of the JSON in FILE (d), by a Python expression.
jq_py() {
	python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}

status --json >"$WORK/before.json" || die "herd status --json failed"
check "before any boot: no node" test "$(jq_py "$WORK/before.json" 'len(d["nodes"])')" = 0

# --- the power-on ---------------------------------------------------------------

t0=$(date +%s.%N)
# A socket per client (and a connection per HTTP client): past 1024.
ulimit -n 20000
in_cli timeout 400 "$SWARM" swarm --chain --dhcp-server "$SRV_IP" --bind "$BINDS" -n "$CLIENTS" \
	--die "$DIE" --spread $((CLIENTS / 100 + 1)) --json --quiet --max-time 300 >"$WORK/swarm.out" 2>"$WORK/swarm.err"
rc=$?
t1=$(date +%s.%N)
grep -v '^{' "$WORK/swarm.out" | sed 's/^/  swarm: /' | head -20
OK=$(jq_py "$WORK/swarm.out" 'd["ok"]')
DIED=$(jq_py "$WORK/swarm.out" 'd.get("failed_died", 0)')
echo "  swarm: exit $rc, $OK ok, $DIED died, in $(python3 -c "print(round($t1 - $t0, 1))") s"
FAILED=$(jq_py "$WORK/swarm.out" 'd["failed"]')
check "swarm: $((CLIENTS - DIE)) clients booted, $DIE died (exit $rc)" \
	test "$OK" = $((CLIENTS - DIE)) -a "$DIED" = "$DIE"

# The dead ones' transfers are given up by herd's retransmission timer.
abandoned() {
	status --json >"$WORK/after.json" &&
		test "$(jq_py "$WORK/after.json" 'd["counts"]["failed"]')" = "$FAILED"
}
wait_for 60 abandoned
status --json >"$WORK/after.json"
python3 -c 'import json, sys; print("  counts:", json.load(open(sys.argv[1]))["counts"])' "$WORK/after.json"
check "herd status: $OK nodes at their last stage (initrd), as many as the swarm's ok" \
	test "$(jq_py "$WORK/after.json" 'd["counts"]["initrd"]')" = "$OK"
check "herd status: $FAILED nodes failed, as many as the swarm's failed ($DIE died)" \
	test "$(jq_py "$WORK/after.json" 'd["counts"]["failed"]')" = "$FAILED"
check "herd status: every node counted once ($CLIENTS)" \
	test "$(jq_py "$WORK/after.json" 'sum(d["counts"].values())')" = "$CLIENTS" -a \
	"$(jq_py "$WORK/after.json" 'len(d["nodes"])')" = "$CLIENTS"
check "the dead ones, node000..node$(printf %03d $((DIE - 1))), failed at kernel, abandoned" \
	test "$(jq_py "$WORK/after.json" 'sum(1 for n in d["nodes"] if n["name"] < "node%03d" % '"$DIE"' and n["stage"] == "failed" and n["failed_stage"] == "kernel" and "abandoned" in n["why"])')" = "$DIE"
check "the live ones got kernel and initrd (bytes >= both), over TFTP (rack1) and HTTP (rack2)" \
	test "$(jq_py "$WORK/after.json" 'sorted(set(n["group"] for n in d["nodes"] if n["stage"] == "initrd" and n["bytes"] >= 1900000))')" = "['rack1', 'rack2']" -a \
	"$(jq_py "$WORK/after.json" 'sum(1 for n in d["nodes"] if n["stage"] == "initrd" and n["bytes"] >= 1900000)')" = "$OK"

# --- logs: logging, up, a failure reported by the node ---------------------------

# Every node but the dead: a kernel line, then herd's initramfs marker
# (which also takes on a node that failed without dying, if a loaded herd
# gave up on one); node$LAST instead reports a failed step.
UP=$((CLIENTS - DIE - 1))
LAST=$(printf 'node%03d' $((CLIENTS - 1)))
in_cli python3 - "$SRV_IP" "$BINDS" "$DIE" <<'EOF'
import socket, sys, time
srv, binds, die = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
for i, ip in enumerate(binds):
    if i < die:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.sendto(b"<6>kernel: Linux version 6.1.0 (herd test)", (srv, 514))
    if i == len(binds) - 1:
        s.sendto(b"<3>herd-init: FAILED step=root: mount: connection refused", (srv, 514))
    else:
        s.sendto(b"<5>herd-init: root: mounted 10.99.0.1:/img read-only, overlay on tmpfs",
             (srv, 514))
    s.close()
    time.sleep(0.002)
EOF
all_up() {
	status --json >"$WORK/up.json" &&
		test "$(jq_py "$WORK/up.json" 'd["counts"]["up"]')" = "$UP"
}
wait_for 30 all_up
python3 -c 'import json, sys; print("  counts:", json.load(open(sys.argv[1]))["counts"])' "$WORK/up.json"
check "a marker line from each live node: $UP up" all_up
check "$LAST's FAILED line (after its first line): failed at logging, why step=root" \
	test "$(jq_py "$WORK/up.json" '[(n["failed_stage"], n["why"][:9]) for n in d["nodes"] if n["name"] == "'"$LAST"'"]')" = \
	"[('logging', 'step=root')]"

# --- the CLI ---------------------------------------------------------------------

status >"$WORK/table.txt"
sed 's/^/  /' "$WORK/table.txt" | head -4
check "herd status: a header, counts, one row per node" \
	test "$(grep -c '^node' "$WORK/table.txt")" = "$CLIENTS"
status --stage failed >"$WORK/failed.txt"
check "herd status --stage failed: $((DIE + 1)) rows, each with its stage and why" \
	test "$(grep -c '^node.* failed .*kernel: kernel transfer abandoned\|^node.*logging: step=root' "$WORK/failed.txt")" = $((DIE + 1))
status --group rack2 --sort since >"$WORK/rack2.txt"
check "herd status --group rack2: $((CLIENTS - HALF)) rows" \
	test "$(grep -c '^node' "$WORK/rack2.txt")" = $((CLIENTS - HALF))
NODE=$(printf 'node%03d' "$DIE") # the first live one
status "$NODE" >"$WORK/node.txt"
sed 's/^/  /' "$WORK/node.txt"
check "herd status $NODE: its timeline, dhcp to up" \
	test "$(sed -n '/^timeline:/,/^log/{/^  [0-9]/p}' "$WORK/node.txt" | awk '{print $2}' | tr '\n' ' ')" = \
	"dhcp loader kernel initrd logging up "
check "herd status $NODE: its log's last lines, the marker last" \
	grep -q 'herd-init: root: mounted' "$WORK/node.txt"
status nobody >/dev/null 2>"$WORK/nobody.err"
rc=$?
check "herd status of an unknown node: exit 1, says so" \
	test "$rc" = 1 -a -n "$(grep 'no such node' "$WORK/nobody.err")"
status --watch --count 1 >"$WORK/watch.txt"
check "herd status --watch: counts, a bar, the failed first" \
	grep -q "$UP/$CLIENTS up" "$WORK/watch.txt"

# --- reload ----------------------------------------------------------------------

"$SWARM" reload -S "$SOCK" >"$WORK/reload.txt"
rc=$?
sed 's/^/  /' "$WORK/reload.txt"
check "herd reload: done, generation 2, $CLIENTS nodes (exit $rc)" \
	test "$rc" = 0 -a -n "$(grep "reload done: .*generation 2 serving, $CLIENTS nodes" "$WORK/reload.txt")"
echo "bogus_key = 1" >>"$HERD_CONF"
"$SWARM" reload -S "$SOCK" >"$WORK/reload2.txt"
rc=$?
sed 's/^/  /' "$WORK/reload2.txt"
check "herd reload of a broken file: refused, the problem and its line (exit $rc)" \
	test "$rc" = 1 -a -n "$(grep 'reload refused' "$WORK/reload2.txt")" -a \
	-n "$(grep "herd.conf:[0-9]*:.*bogus_key" "$WORK/reload2.txt")"
write_conf
check "the node state survives a reload" \
	test "$(status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["up"])')" = "$UP"

herd_stop
check "the socket file is removed when herd stops" test ! -e "$SOCK"
finish
