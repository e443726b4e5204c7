#!/usr/bin/env bash
# herd's virtual lab: a small rack that boots from herd. It installs what herd
# needs, builds it, and inside network namespaces it creates (the host's own
# network is never touched) runs herd with DHCP, TFTP and the log receiver on
# a bridge, then powers on two QEMU nodes: one with BIOS firmware (SeaBIOS +
# iPXE ROM) and one with UEFI (OVMF), listed in an inventory. Each boots a
# Debian kernel and a small initramfs from herd, asks DHCP for its log host,
# and sends its kernel messages there: you see them in one file per node.
#
#   sudo scripts/lab.sh          boot the rack, then keep serving until Ctrl-C
#   sudo scripts/lab.sh --demo   boot the rack, show the logs, stop
#
# The first run downloads a Debian kernel and busybox (packages, not
# installed on the host) into build/qemu-assets; under software emulation a
# boot takes 10-40 s.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=0
[ "${1:-}" = "--demo" ] && demo=1
[ "$(id -u)" = 0 ] || { echo "lab.sh: run as root (network namespaces, tap devices)" >&2; exit 1; }

echo "== installing dependencies and building herd"
scripts/deps.sh >/dev/null
make -s build/herd

TEST_NAME=herd-lab
. tests/system/qemu/lib.sh
qemu_require
setup_work
qemu_net_up 2 ra || exit 1

lab=$WORK
mkdir -p "$lab/tftp" "$lab/logs" "$lab/state"
cp "$QEMU_TFTP"/vmlinuz "$QEMU_TFTP"/initrd.img "$QEMU_TFTP"/ipxe.efi "$QEMU_TFTP"/undionly.kpxe \
	"$lab/tftp/"
chmod -R a+rX "$lab/tftp"
chown nobody "$lab/logs" "$lab/state"
BIOS_MAC=$(qemu_mac 1)
UEFI_MAC=$(qemu_mac 2)
cat >"$lab/nodes.tab" <<NODES
# name    mac                ip            group
node01    $BIOS_MAC  $NET.11   compute
node02    $UEFI_MAC  $NET.12   compute
NODES
cat >"$lab/herd.conf" <<CONF
[server]
user = nobody
[tftp]
listen = $SRV_IP:69
root = $lab/tftp
link_rate = 1G
[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $lab/logs
[dhcp]
enabled = yes
interfaces = br0
inventory = $lab/nodes.tab
lease_file = $lab/state/leases
unknown = ignore
[status]
listen = $SRV_IP:9180
up_marker = HERD-BOOT-MARKER
socket = $lab/herd.sock
[subnet lab]
network = $NET.0/24
[group compute]
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1
CONF
build/herd check -c "$lab/herd.conf" -q
bg_start ip netns exec "$NS_SRV" build/herd serve -c "$lab/herd.conf"
HERD_PID=$BG_PID
sleep 1
kill -0 "$HERD_PID" || { echo "herd did not start" >&2; exit 1; }

# The dashboard, from the host: herd listens inside the lab's namespace; a
# forwarder on the host's loopback (socat) carries each connection in.
DASH_PORT=${LAB_DASHBOARD_PORT:-9180}
if command -v socat >/dev/null; then
	bg_start socat "TCP-LISTEN:$DASH_PORT,bind=127.0.0.1,reuseaddr,fork" \
		"EXEC:ip netns exec $NS_SRV socat STDIO TCP\:$SRV_IP\:9180"
	echo "== dashboard: http://127.0.0.1:$DASH_PORT/ (herd status: build/herd status -S $lab/herd.sock)"
fi

echo "== powering on node01 (BIOS) and node02 (UEFI)"
qemu_start_bios tap1 "$BIOS_MAC" "$lab/node01.console" 240
bios=$QEMU_PID
qemu_start_uefi tap2 "$UEFI_MAC" "$lab/node02.console" 240
uefi=$QEMU_PID
status=0
for n in "node01:$bios" "node02:$uefi"; do
	name=${n%%:*}
	qemu_wait "${n#*:}" || true
	if wait_for_line "$lab/logs/$name.log" HERD-BOOT-MARKER 5; then
		echo "== $name booted in $QEMU_ELAPSED s; its log, $lab/logs/$name.log:"
		grep -a -m1 'Linux version' "$lab/logs/$name.log" | cut -c1-150
		echo "   ... $(wc -l <"$lab/logs/$name.log") lines ..."
		grep -a HERD-BOOT-MARKER "$lab/logs/$name.log" | cut -c1-150
	else
		echo "== $name did not boot; console: $lab/$name.console" >&2
		status=1
	fi
done
kill -USR1 "$HERD_PID"
sleep 0.2
if [ "$demo" = 1 ]; then
	exit "$status"
fi
echo "== herd serves on $SRV_IP in namespace $NS_SRV (files under $lab). Ctrl-C stops it."
wait "$HERD_PID"
