#!/bin/bash
# Boots real firmware under QEMU against herd (DHCP + TFTP + log receiver),
# all the way to a Linux userland that sends its kernel log and a marker line
# to herd's syslog port (see tests/system/qemu/README.md):
#
#   bios      SeaBIOS + iPXE NIC ROM (virtio-net) -> herd's iPXE script ->
#             vmlinuz + initrd.img -> initramfs DHCP -> syslog
#   bios-e1000  QEMU's e1000 (another iPXE and Linux driver), for a node
#             whose inventory line says loader=pxelinux.0: iPXE ROM ->
#             pxelinux.0 -> herd's pxelinux.cfg/01-<mac> -> vmlinuz +
#             initrd.img -> initramfs DHCP -> syslog
#   uefi      OVMF's own PXE (arch 7, broadcast flag, no client id) ->
#             ipxe.efi -> iPXE DHCP -> herd's iPXE script -> ... -> syslog
#
# The three boot at once (SERIAL=1: one after the other). Checks per node:
# the marker in herd's per-node log file, the address from the inventory,
# kernel lines in the same file, the DHCP exchanges herd logged; then that
# herd stops cleanly with no sanitizer report.
#
#   tests/system/test_boot_firmware.sh        (as root; ~1 min; first run also
#                                              installs QEMU and downloads a kernel)
#   GUESTS="uefi" KEEP=1 tests/system/test_boot_firmware.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
qemu_require

GUESTS=${GUESTS:-bios bios-e1000 uefi}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}

setup_work
qemu_net_up 3 ra || die "cannot set up the test network"

TFTP_ROOT=$WORK/root
LOG_DIR=$WORK/logs
mkdir -p "$TFTP_ROOT" "$LOG_DIR" "$WORK/state"
chown nobody "$LOG_DIR" "$WORK/state"
cp "$QEMU_TFTP"/vmlinuz "$QEMU_TFTP"/initrd.img "$QEMU_TFTP"/ipxe.efi "$QEMU_TFTP"/undionly.kpxe \
	"$QEMU_TFTP"/pxelinux.0 "$QEMU_TFTP"/ldlinux.c32 "$TFTP_ROOT/"
chmod -R a+rX "$TFTP_ROOT"

declare -A MAC IP NAME TAP
i=0
for g in bios bios-e1000 uefi; do
	i=$((i + 1))
	MAC[$g]=$(qemu_mac "$i")
	IP[$g]=$NET.$((10 + i))
	NAME[$g]=node-$g
	TAP[$g]=tap$i
done
cat >"$WORK/nodes.tab" <<EOF
# written by tests/system/test_boot_firmware.sh
${NAME[bios]}        ${MAC[bios]}  ${IP[bios]}  default
${NAME[bios-e1000]}  ${MAC[bios-e1000]}  ${IP[bios-e1000]}  default  loader=pxelinux.0
${NAME[uefi]}        ${MAC[uefi]}  ${IP[uefi]}  default
EOF

HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_boot_firmware.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M

[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT

[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
interfaces = br0
inventory = $WORK/nodes.tab
lease_file = $WORK/state/leases
unknown = ignore
default_group = default

[subnet qemu]
network = $NET.0/24
pool = $NET.100 - $NET.119

[group default]
loader_bios = undionly.kpxe
loader_efi64 = ipxe.efi
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1
EOF

if ! "$HERD" check -c "$HERD_CONF" >"$WORK/check.out" 2>&1; then
	sed 's/^/  herd check: /' "$WORK/check.out"
	die "herd check rejected the configuration"
fi

herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
if ! wait_udp_listen "$NS_SRV" 67 || ! wait_udp_listen "$NS_SRV" 69 || ! wait_udp_listen "$NS_SRV" 514; then
	sed 's/^/  herd: /' "$HERD_ERR"
	die "herd did not start listening on 67, 69 and 514"
fi

PCAP=
if command -v tcpdump >/dev/null; then
	PCAP=$WORK/boot.pcap
	bg_start ip netns exec "$NS_SRV" tcpdump -Z root -i br0 -n -s 1514 -U -w "$PCAP" \
		'udp or icmp6' 2>/dev/null
	sleep 0.5
fi

declare -A PID T0
start_guest() {
	local g=$1
	T0[$g]=$(date +%s.%N)
	case $g in
	uefi) qemu_start_uefi "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	bios-e1000) QEMU_NIC_BIOS=e1000 qemu_start_bios "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	bios) QEMU_NIC_BIOS=virtio-net-pci qemu_start_bios "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	*) die "unknown guest '$g' (bios, bios-e1000, uefi)" ;;
	esac
	PID[$g]=$QEMU_PID
}

# check_guest G: waits for G's QEMU, then checks what herd saw of it.
check_guest() {
	local g=$1 rc nodelog=$LOG_DIR/${NAME[$1]}.log marker ok=1
	qemu_wait "${PID[$g]}"
	rc=$?
	# the marker is the last datagram the guest sends before powering off
	if wait_for_line "$nodelog" 'HERD-BOOT-MARKER' 5; then
		marker=$(grep -a 'HERD-BOOT-MARKER' "$nodelog" | tail -1)
		pass "$g: booted to the marker (QEMU done after $QEMU_ELAPSED s, status $rc)"
		check "$g: the marker names ${NAME[$g]} at ${IP[$g]}" \
			grep -q "node=${NAME[$g]} ip=${IP[$g]} mac=${MAC[$g]} loghost=$SRV_IP " <<<"$marker"
		check "$g: its kernel log reached ${NAME[$g]}.log" \
			grep -qa 'kernel: \[ *[0-9.]*\] Linux version' "$nodelog"
	else
		ok=0
		fail "$g: no HERD-BOOT-MARKER in $nodelog (QEMU status $rc after $QEMU_ELAPSED s)"
		echo "  console: $(qemu_marker "$WORK/serial-$g.log")"
		tr -d '\r' <"$WORK/serial-$g.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
			grep -av '^\s*$' | tail -15 | sed 's/^/  | /'
	fi
	# firmware + initramfs, and ipxe.efi for UEFI
	local want=2
	[ "$g" = uefi ] && want=3
	check "$g: herd acknowledged $want DHCP requests from ${MAC[$g]}" \
		test "$(grep -c "dhcp: ACK ${IP[$g]} to ${MAC[$g]}" "$HERD_ERR")" -ge "$want"
	if [ "$g" = bios-e1000 ]; then
		check "$g: booted through pxelinux.0 and its generated pxelinux.cfg/01-<mac>" \
			grep -q "sending 'pxelinux.cfg/01-${MAC[$g]//:/-}'" "$HERD_ERR"
	fi
	if [ $ok = 0 ] && [ -n "$PCAP" ]; then
		sleep 1
		echo "  what crossed the bridge for ${MAC[$g]} (seconds since its QEMU started):"
		python3 "$QEMU_LIB_DIR/pcap_timeline.py" --t0 "${T0[$g]}" --mac "${MAC[$g]}" "$PCAP" |
			grep -v ICMPv6 | cut -c1-240 | head -60 | sed 's/^/  /'
	fi
}

if [ "${SERIAL:-0}" = 1 ]; then
	for g in $GUESTS; do
		start_guest "$g"
		check_guest "$g"
	done
else
	for g in $GUESTS; do start_guest "$g"; done
	for g in $GUESTS; do check_guest "$g"; done
fi

herd_stop
finish
