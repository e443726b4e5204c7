#!/bin/bash
# herd swarm's HTTP stage against herd (src/swarm/swarm_http.c).
#
# It must show: --url clients fetch a kernel and an initrd over one
# kept-alive connection each, every byte checked; a missing file fails every
# client as http_status (exit 1); and --chain follows herd's iPXE script:
# PXE ROM DHCP, the loader over TFTP, iPXE DHCP, the script, every file the
# script names (tftp:// or http://, as herd writes it), the initramfs DHCP.
# herd runs confined under ASan/UBSan and stops cleanly.
. "$(dirname "$0")/lib.sh"

require_root
require_herd
require_tools ip ss python3 timeout
SWARM=${SWARM:-$TOP/build/herd}
[ -x "$SWARM" ] || SWARM=$HERD
setup_work
net_setup

herd_dirs
ROOT=$TFTP_ROOT
mkfile "$ROOT/vmlinuz" 3000000
mkfile "$ROOT/initrd.img" 700000
mkfile "$ROOT/undionly.kpxe" 70000
chmod -R a+rX "$ROOT"
: >"$WORK/nodes.tab"

HERD_CONF=$WORK/herd.conf HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_swarm_http.sh
[server]
user = nobody
log_level = info

[tftp]
listen = $SRV_IP:69
root = $ROOT

[http]
enabled = yes
listen = $SRV_IP:80

[log]
enabled = no

[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $WORK/nodes.tab
lease_file = $WORK/leases
unknown = pool
default_group = a
pin_neighbours = no

[subnet link]
network = $NET.0/24
pool = $NET.100 - $NET.200

[group a]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0
EOF
herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
tcp_listening() { [ -n "$(ip netns exec "$NS_SRV" ss -Hntl "sport = :80")" ]; }
wait_udp_listen "$NS_SRV" 69 && wait_for 10 tcp_listening ||
	die "herd did not start: $(tail -5 "$HERD_ERR")"

# json FILE KEY: a number from the swarm's JSON line (KEY may be http.x).
json() {
	python3 -c 'import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for k in sys.argv[2].split("."):
    j = j[k]
print(j)' "$1" "$2"
}

in_cli timeout 60 "$SWARM" swarm --url "http://$SRV_IP/vmlinuz" --url-verify "$ROOT/vmlinuz" \
	--url "http://$SRV_IP/initrd.img" --url-verify "$ROOT/initrd.img" -n 20 --json --quiet \
	--max-time 50 >"$WORK/url.out" 2>&1
rc=$?
sed 's/^/  /' "$WORK/url.out" | grep -v '^  {' | head -12
check "--url: 20 clients, kernel and initrd verified (exit $rc)" [ "$rc" = 0 ]
check "--url: one connection each, the initrd on the kept-alive one" \
	test "$(json "$WORK/url.out" http.connects)" = 20 -a "$(json "$WORK/url.out" http.kept_alive)" = 20
check "--url: body bytes = 20 x (kernel + initrd)" \
	[ "$(json "$WORK/url.out" http.bytes)" = $((20 * 3700000)) ]

in_cli timeout 60 "$SWARM" swarm --url "http://$SRV_IP/nothing" -n 5 --json --quiet \
	--max-time 20 >"$WORK/404.out" 2>&1
rc=$?
check "--url of a missing file: exit 1, every client failed as http_status" \
	test "$rc" = 1 -a "$(json "$WORK/404.out" failed_http_status)" = 5
check "... the report says HTTP 404" grep -q '"last_error":"HTTP 404"' "$WORK/404.out"

# The power-on chain through a relay (giaddr: the client's address, in
# [subnet link]); the script is herd's, fetched as its DHCP answer says.
in_cli timeout 120 "$SWARM" swarm --chain --dhcp-server "$SRV_IP" --bind "$CLI_IP" -n 10 \
	--json --quiet --max-time 100 >"$WORK/chain.out" 2>&1
rc=$?
sed 's/^/  /' "$WORK/chain.out" | grep -v '^  {' | grep -E 'ok|failed|http|dhcp' | head -12
check "--chain: 10 clients through DHCP, loader, script, its files, initramfs DHCP (exit $rc)" \
	[ "$rc" = 0 ]
items=$(($(json "$WORK/chain.out" http.tftp_items) + $(json "$WORK/chain.out" http.responses)))
check "--chain: script, kernel and initrd fetched per client ($items items)" [ "$items" = 30 ]
check "--chain: three DORAs per client" [ "$(json "$WORK/chain.out" dhcp.exchanges)" = 30 ]

herd_stop
finish
