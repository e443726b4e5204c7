#!/bin/bash
# The second stage over HTTP, with real firmware under QEMU against herd
# (DHCP + TFTP + HTTP + log receiver), each node to the marker line in its
# log file on herd (see tests/system/qemu/README.md):
#
#   bios       SeaBIOS + iPXE NIC ROM -> herd's iPXE script (TFTP) ->
#              vmlinuz + initrd.img OVER HTTP from herd (port 8080: the
#              script's URLs carry it) -> initramfs DHCP -> syslog
#   uefi-http  OVMF's own UEFI HTTP boot (PXE off: HTTPClient, arch 16) ->
#              http://herd:8080/ipxe.efi (the group's loader_efi64 as a
#              URI) -> iPXE DHCP -> herd's script -> vmlinuz + initrd.img
#              over HTTP -> initramfs DHCP -> syslog
#   arm64-http AAVMF (Debian's qemu-efi-aarch64, qemu-system-aarch64) on
#              the same node: its UEFI PXE (arch 11) gets loader_arm64 as
#              a path over TFTP, its UEFI HTTP boot (arch 19) the same
#              loader as http://herd:8080/... . Debian packages no arm64
#              iPXE, so the loader is a stand-in that cannot start and this
#              guest has no marker: it shows the two DHCP answers and the
#              HTTP download by real arm64 firmware.
#
# Then proves the bytes' path: herd's debug log names every file HTTP
# served to each node and TFTP sent no kernel, initrd or loader; the
# SIGUSR1 counters agree (HTTP body bytes at least two kernels, two
# initrds and ipxe.efi; TFTP bytes no more than the scripts).
#
#   tests/system/test_boot_http.sh        (as root; ~2 min under TCG; the
#                                          first run installs arm64 QEMU + AAVMF)
#   GUESTS="uefi-http" KEEP=1 SERIAL=1 tests/system/test_boot_http.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
qemu_require

GUESTS=${GUESTS:-bios uefi-http arm64-http}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
HTTP_PORT=8080

setup_work
qemu_net_up 3 ra || die "cannot set up the test network"

TFTP_ROOT=$WORK/root
LOG_DIR=$WORK/logs
mkdir -p "$TFTP_ROOT" "$LOG_DIR" "$WORK/state"
chown nobody "$LOG_DIR" "$WORK/state"
cp "$QEMU_TFTP"/vmlinuz "$QEMU_TFTP"/initrd.img "$QEMU_TFTP"/ipxe.efi "$QEMU_TFTP"/undionly.kpxe \
	"$TFTP_ROOT/"
# arm64: a stand-in loader (Debian 12 has no arm64 iPXE): fetched, not run.
mkdir -p "$TFTP_ROOT/arm64"
head -c 65536 /dev/urandom >"$TFTP_ROOT/arm64/loader.efi"
chmod -R a+rX "$TFTP_ROOT"

# arm64 firmware, installed as assets.sh installs the rest (apt).
AAVMF_CODE=/usr/share/AAVMF/AAVMF_CODE.fd
AAVMF_VARS=/usr/share/AAVMF/AAVMF_VARS.fd
if [[ " $GUESTS " == *" arm64-http "* ]] &&
	{ ! command -v qemu-system-aarch64 >/dev/null || [ ! -s "$AAVMF_CODE" ]; }; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		qemu-system-arm qemu-efi-aarch64 >&2 || die "cannot install qemu-system-arm qemu-efi-aarch64"
fi

declare -A MAC IP NAME TAP
i=0
for g in bios uefi-http arm64-http; do
	i=$((i + 1))
	MAC[$g]=$(qemu_mac "$i")
	IP[$g]=$NET.$((20 + i))
	NAME[$g]=node-$g
	TAP[$g]=tap$i
done
cat >"$WORK/nodes.tab" <<EOT
# written by tests/system/test_boot_http.sh
${NAME[bios]}       ${MAC[bios]}  ${IP[bios]}  default
${NAME[uefi-http]}  ${MAC[uefi-http]}  ${IP[uefi-http]}  default
${NAME[arm64-http]}  ${MAC[arm64-http]}  ${IP[arm64-http]}  default
EOT

HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOT
; written by tests/system/test_boot_http.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M

[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT

[http]
enabled = yes
listen = $SRV_IP:$HTTP_PORT

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
loader_arm64 = arm64/loader.efi
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1
; the default with [http] on; written out for the reader
ipxe_fetch = http
EOT

if ! "$HERD" check -c "$HERD_CONF" >"$WORK/check.out" 2>&1; then
	sed 's/^/  herd check: /' "$WORK/check.out"
	die "herd check rejected the configuration"
fi
check "herd check prints ipxe_fetch = http for the group" grep -qx 'ipxe_fetch = http' "$WORK/check.out"

herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
tcp_listening() { [ -n "$(ip netns exec "$NS_SRV" ss -Hntl "sport = :$HTTP_PORT")" ]; }
if ! wait_udp_listen "$NS_SRV" 67 || ! wait_udp_listen "$NS_SRV" 69 ||
	! wait_udp_listen "$NS_SRV" 514 || ! wait_for 10 tcp_listening; then
	sed 's/^/  herd: /' "$HERD_ERR"
	die "herd did not start listening on 67, 69, 514 and $HTTP_PORT"
fi

# The script a node gets names herd's HTTP server, with the port.
SCRIPT=herd/ipxe/${MAC[bios]//:/-}.ipxe
if command -v curl >/dev/null; then
	ip netns exec "$NS_SRV" curl -sf "http://$SRV_IP:$HTTP_PORT/$SCRIPT" >"$WORK/script.ipxe"
	check "the iPXE script fetches the kernel and initrd from http://$SRV_IP:$HTTP_PORT/" \
		eval "grep -q '^kernel http://$SRV_IP:$HTTP_PORT/vmlinuz initrd=initrd.img ' '$WORK/script.ipxe' &&
		      grep -q '^initrd http://$SRV_IP:$HTTP_PORT/initrd.img\$' '$WORK/script.ipxe'"
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
	bios) QEMU_NIC_BIOS=virtio-net-pci qemu_start_bios "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	uefi-http) qemu_start_uefi_http "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	arm64-http) start_arm64 "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "${ARM64_TIMEOUT:-240}" ;;
	*) die "unknown guest '$g' (bios, uefi-http, arm64-http)" ;;
	esac
	PID[$g]=$QEMU_PID
}

# start_arm64 TAP MAC LOG SECS: AAVMF on QEMU's virt machine with a
# virtio NIC (no option ROM: AAVMF's own PXE and HTTP boot), as
# qemu/lib.sh starts x86 guests.
start_arm64() {
	local tap=$1 mac=$2 log=$3 secs=$4
	cp "$AAVMF_VARS" "$log.vars.fd"
	: >"$log"
	QEMU_T0=$(date +%s.%N)
	bg_start timeout -k 5 "$secs" ip netns exec "$NS_SRV" qemu-system-aarch64 \
		-machine virt -cpu cortex-a57 -accel tcg -m 512 -smp 1 -nodefaults -display none \
		-no-reboot -monitor none -serial "file:$log" \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$AAVMF_CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$log.vars.fd" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1" 2>"$log.stderr"
	QEMU_PID=$BG_PID
	QEMU_T0S[$QEMU_PID]=$QEMU_T0
}

# served_http G FILE: herd's HTTP server sent FILE to G (debug log).
served_http() {
	grep -qF "http: ${IP[$1]}: GET '/$2' (" "$HERD_ERR"
}

# check_arm64: no marker (the loader is a stand-in): the firmware's two
# DHCP answers and the download, then the guest is stopped.
check_arm64() {
	local g=arm64-http
	check "$g: AAVMF started UEFI HTTP boot with herd's URI http://$SRV_IP:$HTTP_PORT/arm64/loader.efi" \
		wait_for_line "$WORK/serial-$g.log" "URI: http://$SRV_IP:$HTTP_PORT/arm64/loader.efi" "${ARM64_TIMEOUT:-240}"
	check "$g: herd's HTTP server sent it arm64/loader.efi" \
		wait_for 30 served_http "$g" arm64/loader.efi
	check "$g: its UEFI PXE (arch 11) got the same loader as a path, over TFTP" \
		grep -qE "tftp: ${IP[$g]}:[0-9]+: sending 'arm64/loader.efi'" "$HERD_ERR"
	kill "${PID[$g]}" 2>/dev/null
	qemu_wait "${PID[$g]}"
}

check_guest() {
	local g=$1 rc nodelog=$LOG_DIR/${NAME[$1]}.log marker ok=1
	if [ "$g" = arm64-http ]; then
		check_arm64
		return
	fi
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
			grep -av '^\s*$' | tail -15 | sed 's/^/  | /'
	fi
	check "$g: vmlinuz and initrd.img came from herd over HTTP" \
		eval "served_http $g vmlinuz && served_http $g initrd.img"
	if [ "$g" = uefi-http ]; then
		check "$g: OVMF started UEFI HTTP boot with herd's URI http://$SRV_IP:$HTTP_PORT/ipxe.efi" \
			eval "grep -aq 'Start HTTP Boot over IPv4' '$WORK/serial-$g.log' &&
			      grep -aq 'URI: http://$SRV_IP:$HTTP_PORT/ipxe.efi' '$WORK/serial-$g.log'"
		check "$g: OVMF's HTTP boot fetched ipxe.efi over HTTP" served_http "$g" ipxe.efi
		# firmware (HTTP boot), ipxe.efi, initramfs
		check "$g: herd acknowledged 3 DHCP requests from ${MAC[$g]}" \
			test "$(grep -c "dhcp: ACK ${IP[$g]} to ${MAC[$g]}" "$HERD_ERR")" -ge 3
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

# No boot image went over TFTP: only the iPXE scripts did.
check "TFTP sent no kernel, initrd or x86 loader" \
	eval "! grep -qE \"tftp: .*: sending '(vmlinuz|initrd.img|ipxe.efi|undionly.kpxe)'\" '$HERD_ERR'"

# The counters say the same (SIGUSR1: one line per module).
kill -USR1 "$HERD_PID"
wait_for 5 grep -q '^herd: info: http: ' "$HERD_ERR"
HTTP_LINE=$(grep '^herd: info: http: ' "$HERD_ERR" | tail -1)
TFTP_LINE=$(grep '^herd: info: tftp: ' "$HERD_ERR" | tail -1)
echo "  $HTTP_LINE"
echo "  $TFTP_LINE"
counter() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }
size() { stat -c %s "$TFTP_ROOT/$1"; }
n_guests=$(wc -w <<<"${GUESTS/arm64-http/}")
want_http=$(((n_guests) * ($(size vmlinuz) + $(size initrd.img))))
[[ " $GUESTS " == *" uefi-http "* ]] && want_http=$((want_http + $(size ipxe.efi)))
check "HTTP counters: body bytes $(counter "$HTTP_LINE" bytes_queued) >= $want_http (kernels, initrds, ipxe.efi)" \
	test "$(counter "$HTTP_LINE" bytes_queued)" -ge "$want_http"
check "TFTP counters: $(counter "$TFTP_LINE" bytes_sent) bytes sent, less than one initrd (scripts, and arm64 PXE's 64 KiB stand-in)" \
	test "$(counter "$TFTP_LINE" bytes_sent)" -lt "$(size initrd.img)"

herd_stop
finish
