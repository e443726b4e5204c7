#!/bin/bash
# Boots the firmware families that do not go through iPXE, under QEMU against
# herd (DHCP + TFTP + log receiver), each to a Linux userland that sends its
# kernel log and a marker line to herd's syslog port, from one inventory:
#
#   grub      OVMF's own PXE (x86-64 UEFI, arch 7) -> the inventory line's
#             loader_efi64=grubnetx64.efi (Debian's signed GRUB network
#             image; its group's is ipxe.efi) -> herd's grub.cfg ->
#             herd's grub.cfg-01-<mac> -> linux + initrd over TFTP ->
#             initramfs DHCP -> syslog
#   uboot     arm64 "virt" (TCG) with Debian's U-Boot for QEMU: distro boot's
#             dhcp target (arch 11) -> boot.scr.uimg (a site-wide script:
#             "pxe get; pxe boot") -> herd's generated pxelinux.cfg/01-<mac>
#             -> Image + initrd over TFTP (blksize, windowsize) -> initramfs
#             DHCP -> syslog
#
# Checks per node: the marker in herd's per-node log file, the address from
# the inventory, kernel lines in the same file, the generated files herd
# sent; then that herd stops cleanly with no sanitizer report.
#
#   tests/system/test_boot_families.sh     (as root; ~2-3 min, the arm64
#                                           kernel under TCG is the slow part;
#                                           the first run installs QEMU for
#                                           arm, U-Boot, GRUB and downloads an
#                                           arm64 kernel)
#   GUESTS=grub KEEP=1 tests/system/test_boot_families.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
export QEMU_ASSETS_FAMILIES=1
qemu_require
command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 is not installed"

GUESTS=${GUESTS:-grub uboot}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}

setup_work
qemu_net_up 2 || die "cannot set up the test network"

TFTP_ROOT=$WORK/root
LOG_DIR=$WORK/logs
mkdir -p "$TFTP_ROOT" "$LOG_DIR" "$WORK/state"
chown nobody "$LOG_DIR" "$WORK/state"
for f in vmlinuz initrd.img ipxe.efi grubnetx64.efi Image-arm64 initrd-arm64.img boot.scr.uimg; do
	cp "$QEMU_TFTP/$f" "$TFTP_ROOT/"
done
chmod -R a+rX "$TFTP_ROOT"

declare -A MAC IP NAME TAP
i=0
for g in grub uboot; do
	i=$((i + 1))
	MAC[$g]=$(qemu_mac "$i")
	IP[$g]=$NET.$((10 + i))
	NAME[$g]=node-$g
	TAP[$g]=tap$i
done
cat >"$WORK/nodes.tab" <<EOF
# written by tests/system/test_boot_families.sh
${NAME[grub]}   ${MAC[grub]}  ${IP[grub]}  x86  loader_efi64=grubnetx64.efi
${NAME[uboot]}  ${MAC[uboot]}  ${IP[uboot]}  arm64
EOF

HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_boot_families.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M

[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT

[log]
syslog = $SRV_IP:514
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
interfaces = br0
inventory = $WORK/nodes.tab
lease_file = $WORK/state/leases
unknown = ignore
default_group = x86

[subnet qemu]
network = $NET.0/24
pool = $NET.100 - $NET.119

[group x86]
loader_bios =
loader_efi64 = ipxe.efi
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1

; U-Boot fetches what it needs by name: no loader
[group arm64]
loader_bios =
loader_efi64 =
kernel = Image-arm64
initrd = initrd-arm64.img
cmdline = console=ttyAMA0 panic=-1
EOF

if ! "$HERD" check -c "$HERD_CONF" >"$WORK/check.out" 2>"$WORK/check.err"; then
	sed 's/^/  herd check: /' "$WORK/check.err"
	die "herd check rejected the configuration"
fi
check "herd check: no warning ($(head -c 200 "$WORK/check.err"))" [ ! -s "$WORK/check.err" ]
check "herd check takes the node's loader_efi64=grubnetx64.efi for GRUB" \
	grep -q "nodes.tab:2 loader_efi64=grubnetx64.efi: GRUB" "$WORK/check.out"

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
	bg_start ip netns exec "$NS_SRV" tcpdump -Z root -i br0 -n -s 1514 -U -w "$PCAP" udp \
		2>/dev/null
	sleep 0.5
fi

declare -A PID T0
start_guest() {
	local g=$1
	T0[$g]=$(date +%s.%N)
	case $g in
	grub) qemu_start_uefi "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	uboot) QEMU_MEM=1024 qemu_start_uboot "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	*) die "unknown guest '$g' (grub, uboot)" ;;
	esac
	PID[$g]=$QEMU_PID
}

# check_guest G: waits for G's QEMU, then checks what herd saw of it.
check_guest() {
	local g=$1 rc nodelog=$LOG_DIR/${NAME[$1]}.log marker ok=1 mac=${MAC[$1]//:/-}
	qemu_wait "${PID[$g]}"
	rc=$?
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
			grep -av '^\s*$' | tail -25 | sed 's/^/  | /'
	fi
	# the firmware and the initramfs
	check "$g: herd acknowledged 2 DHCP requests from ${MAC[$g]}" \
		test "$(grep -c "dhcp: ACK ${IP[$g]} to ${MAC[$g]}" "$HERD_ERR")" -ge 2
	case $g in
	grub)
		check "$g: herd gave OVMF grubnetx64.efi" \
			grep -q "sending 'grubnetx64.efi'" "$HERD_ERR"
		check "$g: GRUB read herd's generated grub.cfg-01-$mac" \
			grep -q "sending '[^']*grub.cfg-01-$mac'" "$HERD_ERR"
		;;
	uboot)
		check "$g: U-Boot read herd's generated pxelinux.cfg/01-$mac" \
			grep -q "sending 'pxelinux.cfg/01-$mac'" "$HERD_ERR"
		check "$g: U-Boot fetched Image-arm64 with a window" \
			grep -qE "sending 'Image-arm64' .*window ([2-9]|[1-9][0-9])" "$HERD_ERR"
		;;
	esac
	if [ $ok = 0 ] && [ -n "$PCAP" ]; then
		sleep 1
		echo "  what crossed the bridge for ${MAC[$g]} (seconds since its QEMU started):"
		python3 "$QEMU_LIB_DIR/pcap_timeline.py" --t0 "${T0[$g]}" --mac "${MAC[$g]}" "$PCAP" |
			cut -c1-240 | head -60 | sed 's/^/  /'
	fi
}

for g in $GUESTS; do start_guest "$g"; done
for g in $GUESTS; do check_guest "$g"; done

herd_stop
finish
