#!/bin/bash
# The dashboard in a real browser during a real boot (issue 12): herd
# serves two QEMU nodes (BIOS + iPXE, OVMF) as in the lab, and headless
# Chromium (Debian's) keeps the dashboard open on herd's ops listener. The
# test asserts that both nodes' tiles reach "up" (the DOM Chromium renders
# after the page's own polling), that a node's detail (#node=NAME) shows
# its timeline and log tail,
# and saves a screenshot (build/test-logs/dashboard.png).
#
#   tests/system/test_dashboard.sh        (as root)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
qemu_require
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed (scripts/deps.sh)"

BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}
setup_work
qemu_net_up 2 ra || die "cannot set up the test network"

mkdir -p "$WORK/tftp" "$WORK/logs" "$WORK/state"
cp "$QEMU_TFTP"/vmlinuz "$QEMU_TFTP"/initrd.img "$QEMU_TFTP"/ipxe.efi "$QEMU_TFTP"/undionly.kpxe \
	"$WORK/tftp/"
chmod -R a+rX "$WORK/tftp"
chown nobody "$WORK/logs" "$WORK/state"
BIOS_MAC=$(qemu_mac 1)
UEFI_MAC=$(qemu_mac 2)
cat >"$WORK/nodes.tab" <<EOF
node01    $BIOS_MAC  $NET.11   compute
node02    $UEFI_MAC  $NET.12   compute
EOF
HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
[server]
user = nobody
[tftp]
listen = $SRV_IP:69
root = $WORK/tftp
link_rate = 1G
[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $WORK/logs
[dhcp]
enabled = yes
interfaces = br0
inventory = $WORK/nodes.tab
lease_file = $WORK/state/leases
unknown = ignore
[status]
listen = $SRV_IP:9180
up_marker = HERD-BOOT-MARKER
socket = $WORK/herd.sock
[subnet lab]
network = $NET.0/24
[group compute]
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1 herd.hold=20
EOF
"$HERD" check -c "$HERD_CONF" >"$WORK/check.out" 2>&1 ||
	{ sed 's/^/  /' "$WORK/check.out"; die "herd check rejected the configuration"; }
herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
listening() { [ -n "$(ip netns exec "$NS_SRV" ss -Hntl 'sport = :9180')" ]; }
wait_for 10 listening ||
	{ sed 's/^/  herd: /' "$HERD_ERR"; die "herd's ops listener did not start on 9180"; }
URL=http://$SRV_IP:9180/

# chrome ARGS...: Debian's Chromium, headless, inside the server namespace,
# with the flags this closed machine needs.
chrome() {
	timeout 60 ip netns exec "$NS_SRV" "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$WORK/chromium" \
		--virtual-time-budget=4000 "$@" 2>/dev/null
}

qemu_start_bios tap1 "$BIOS_MAC" "$WORK/node01.console" "$BOOT_TIMEOUT"
P1=$QEMU_PID
qemu_start_uefi tap2 "$UEFI_MAC" "$WORK/node02.console" "$BOOT_TIMEOUT"
P2=$QEMU_PID

# The page polls herd once a second: what it shows is what the DOM says.
seen=
end=$((SECONDS + BOOT_TIMEOUT))
while [ $SECONDS -lt $end ]; do
	chrome --dump-dom "$URL" >"$WORK/dom.html"
	up=$(grep -o 'data-node="node0[12]" data-stage="up"' "$WORK/dom.html" | sort -u | wc -l)
	now=$(grep -o 'data-node="node0[12]" data-stage="[a-z]*"' "$WORK/dom.html" | sort -u | tr '\n' ' ')
	[ "$now" != "$seen" ] && echo "  dashboard: $now"
	seen=$now
	[ "$up" = 2 ] && break
	sleep 2
done
check "the dashboard shows both tiles up" test "$up" = 2
mkdir -p "$TOP/build/test-logs"
chrome --dump-dom "${URL}#node=node01" >"$WORK/dom-node01.html"
check "a node's detail (#node=node01) shows its timeline up to up" \
	grep -q '<td>up</td>' <(sed -n '/id="timeline"/,/<\/table>/p' "$WORK/dom-node01.html")
check "... and the end of its log" grep -q 'HERD-BOOT-MARKER' "$WORK/dom-node01.html"
chrome --window-size=1100,700 --screenshot="$TOP/build/test-logs/dashboard.png" "${URL}#node=node01" >/dev/null
check "a screenshot of the dashboard was saved (build/test-logs/dashboard.png)" \
	test -s "$TOP/build/test-logs/dashboard.png"
check "the node API has node01's timeline" \
	grep -q '"timeline"' <(ip netns exec "$NS_SRV" curl -s "${URL}api/v1/nodes/node01")
qemu_wait "$P1"
qemu_wait "$P2"
herd_stop
finish
