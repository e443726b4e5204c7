#!/bin/bash
# Validates the QEMU boot harness against dnsmasq as a stand-in boot server
# (DHCP + TFTP), with a python3 syslog catcher on 514. Run by hand, as root;
# not part of the test suite.
#
#   tests/system/qemu/validate-dnsmasq.sh                 all three paths
#   PATHS="uefi" tests/system/qemu/validate-dnsmasq.sh    some of them
#   RA=0 ...        no IPv6 router advertisements (see the iPXE 16 s wait)
#   KEEP=1 ...      keep the work directory (serial logs, pcap, dnsmasq log)
#   CMDLINE="..."   extra kernel command line (e.g. quiet)
#   TIMEOUT=240     seconds allowed per boot
#   PARALLEL=1      boot the paths at the same time instead of one by one
#   QEMU_NIC_BIOS=virtio-net-pci   NIC of the ipxe path (lib.sh's default)
#   NIC_PXELINUX=e1000             NIC of the pxelinux path (another driver)
#   IPXE_HINT=none  what the offers to iPXE carry to end its ~3 s ProxyDHCP
#                   wait: none, nopxedhcp (option 175 with sub-option 176 = 1)
#                   or pxeclient (option 60 "PXEClient" in the reply)
#
# Paths (one guest each, its own MAC, all on one dnsmasq; a number after the
# name adds another guest of that kind, e.g. PATHS="uefi uefi2" PARALLEL=1):
#   ipxe      SeaBIOS + iPXE NIC ROM -> boot.ipxe (TFTP) -> vmlinuz + initrd.img
#   pxelinux  SeaBIOS + iPXE NIC ROM -> pxelinux.0 -> ldlinux.c32 ->
#             pxelinux.cfg/default -> vmlinuz + initrd.img
#   uefi      OVMF PXE (arch 7) -> ipxe.efi -> iPXE DHCP -> boot.ipxe -> ...
# each ending in the initramfs's DHCP (vendor class herd-initramfs) and the
# kernel log + HERD-BOOT-MARKER over syslog. Prints a timeline per path
# (pcap_timeline.py) and a summary; exits 0 if every path booted.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PATHS=${PATHS:-ipxe pxelinux uefi}
RA=${RA:-1}
TIMEOUT=${TIMEOUT:-240}
CMDLINE=${CMDLINE:-}
IPXE_HINT=${IPXE_HINT:-none}
NIC_PXELINUX=${NIC_PXELINUX:-e1000}

qemu_require
if ! command -v dnsmasq >/dev/null; then
	# dnsmasq-base: the binary without the system service
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsmasq-base >/dev/null ||
		skip "cannot install dnsmasq-base"
fi
command -v tcpdump >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q tcpdump >/dev/null ||
	skip "cannot install tcpdump"

setup_work
# One guest per word of PATHS: its kind is the word less trailing digits
# (uefi2 is a second UEFI guest), its MAC and tap follow its position.
declare -A KIND MAC TAP
n=0
for p in $PATHS; do
	n=$((n + 1))
	KIND[$p]=${p%%[0-9]*}
	case ${KIND[$p]} in
	ipxe | pxelinux | uefi) ;;
	*) echo "PATHS: '$p' is not ipxe, pxelinux or uefi (optionally numbered)" >&2; exit 2 ;;
	esac
	MAC[$p]=$(qemu_mac "$n")
	TAP[$p]=tap$n
done
if [ "$RA" = 1 ]; then qemu_net_up "$n" ra; else qemu_net_up "$n"; fi || exit 1

# --- what the server serves ------------------------------------------------------

T=$WORK/tftp
mkdir -p "$T/pxelinux.cfg"
cp "$QEMU_TFTP"/* "$T/"
cat >"$T/boot.ipxe" <<EOF
#!ipxe
echo herd-validate: iPXE script for \${mac} at \${ip}
kernel tftp://$SRV_IP/vmlinuz initrd=initrd.img console=ttyS0 panic=-1 $CMDLINE
initrd tftp://$SRV_IP/initrd.img
boot
EOF
cat >"$T/pxelinux.cfg/default" <<EOF
DEFAULT herd
PROMPT 0
TIMEOUT 0
LABEL herd
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 panic=-1 $CMDLINE
EOF
chmod -R a+rX "$T"


# Boot file per stage. The tags are made mutually exclusive so that the order
# of the dhcp-boot lines does not matter:
#   pxelinux-path guest, any stage              -> pxelinux.0
#   user class iPXE (ROM or ipxe.efi)           -> boot.ipxe (the script)
#   no iPXE, arch 7 (OVMF's own PXE)            -> ipxe.efi
#   no iPXE, BIOS (a real PXE ROM; not reachable under QEMU) -> undionly.kpxe
cat >"$WORK/dnsmasq.conf" <<EOF
port=0
interface=br0
bind-interfaces
dhcp-range=$QEMU_NET.50,$QEMU_NET.99,255.255.255.0,1h
dhcp-authoritative
no-ping
dhcp-leasefile=$WORK/dnsmasq.leases
log-dhcp
log-facility=$WORK/dnsmasq.log
pid-file=
user=root
group=root
enable-tftp
tftp-root=$T
dhcp-option=option:log-server,$SRV_IP
dhcp-userclass=set:ipxe,iPXE
dhcp-match=set:efi64,option:client-arch,7
dhcp-boot=tag:pxelinux-path,pxelinux.0
dhcp-boot=tag:!pxelinux-path,tag:ipxe,boot.ipxe
dhcp-boot=tag:!pxelinux-path,tag:!ipxe,tag:efi64,ipxe.efi
dhcp-boot=tag:!pxelinux-path,tag:!ipxe,tag:!efi64,undionly.kpxe
EOF
for p in $PATHS; do
	echo "dhcp-host=${MAC[$p]},node-$p,set:${KIND[$p]}-path" >>"$WORK/dnsmasq.conf"
done
case $IPXE_HINT in
none) ;;
nopxedhcp) echo "dhcp-option=tag:ipxe,encap:175,176,1b" >>"$WORK/dnsmasq.conf" ;;
pxeclient) echo "dhcp-option-force=tag:ipxe,60,PXEClient" >>"$WORK/dnsmasq.conf" ;;
*) echo "IPXE_HINT=$IPXE_HINT: none, nopxedhcp or pxeclient" >&2; exit 2 ;;
esac

bg_start ip netns exec "$NS_SRV" tcpdump -Z root -i br0 -n -s 1514 -U -w "$WORK/boot.pcap" \
	'udp or icmp6' 2>"$WORK/tcpdump.err"
bg_start ip netns exec "$NS_SRV" dnsmasq -k -C "$WORK/dnsmasq.conf" 2>"$WORK/dnsmasq.stderr"
DNSMASQ_PID=$BG_PID
qemu_syslog_catch "$WORK/syslog.txt" || exit 1
sleep 1
kill -0 "$DNSMASQ_PID" 2>/dev/null || { cat "$WORK/dnsmasq.stderr"; echo "dnsmasq did not start"; exit 1; }

# --- boots -------------------------------------------------------------------------

N_OK=0
N_BAD=0
SUMMARY=()
declare -A PID T0

start_guest() {
	local p=$1 mac=${MAC[$1]} tap=${TAP[$1]}
	echo "=== $p: $mac on $tap"
	T0[$p]=$(date +%s.%N)
	case ${KIND[$p]} in
	uefi) qemu_start_uefi "$tap" "$mac" "$WORK/serial-$p.log" "$TIMEOUT" ;;
	pxelinux) QEMU_NIC_BIOS=$NIC_PXELINUX qemu_start_bios "$tap" "$mac" "$WORK/serial-$p.log" "$TIMEOUT" ;;
	*) qemu_start_bios "$tap" "$mac" "$WORK/serial-$p.log" "$TIMEOUT" ;;
	esac
	PID[$p]=$QEMU_PID
}

finish_guest() {
	local p=$1 rc marker t_marker lines
	local mac=${MAC[$p]} log=$WORK/serial-$p.log
	qemu_wait "${PID[$p]}"
	rc=$?
	marker=$(grep -a "HERD-BOOT-MARKER" "$WORK/syslog.txt" | grep -a "mac=$mac" | head -1)
	if [ -n "$marker" ]; then
		t_marker=$(echo "$marker ${T0[$p]}" | awk '{printf "%.1f", $1 - $NF}')
		lines=$(awk -v ip="$(echo "$marker" | awk '{print $2}')" '$2 == ip' "$WORK/syslog.txt" | wc -l)
		echo "ok: $p: marker after $t_marker s, $lines syslog lines, QEMU exited ($rc) after $QEMU_ELAPSED s"
		echo "    $(echo "$marker" | cut -d' ' -f3-)"
		N_OK=$((N_OK + 1))
		SUMMARY+=("$p: marker at $t_marker s, power-off at $QEMU_ELAPSED s, $lines syslog lines")
	else
		echo "FAIL: $p: no marker at the syslog catcher (QEMU status $rc after $QEMU_ELAPSED s)"
		echo "    console: $(qemu_marker "$log")"
		tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -av '^\s*$' | tail -15 | sed 's/^/    | /'
		N_BAD=$((N_BAD + 1))
		SUMMARY+=("$p: FAILED (QEMU status $rc after $QEMU_ELAPSED s)")
	fi
	sleep 1 # let tcpdump write the last packets
	python3 "$HERE/pcap_timeline.py" --t0 "${T0[$p]}" --mac "$mac" "$WORK/boot.pcap" >"$WORK/timeline-$p.txt"
	[ "${PARALLEL:-0}" = 1 ] || sed 's/^/    /' "$WORK/timeline-$p.txt"
}

if [ "${PARALLEL:-0}" = 1 ]; then
	for p in $PATHS; do start_guest "$p"; done
	for p in $PATHS; do finish_guest "$p"; done
	echo "(PARALLEL=1: timelines in the work directory; KEEP=1 keeps it)"
else
	for p in $PATHS; do
		start_guest "$p"
		finish_guest "$p"
	done
fi

echo "=== summary (RA=$RA IPXE_HINT=$IPXE_HINT PARALLEL=${PARALLEL:-0})"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
echo "validate-dnsmasq: $N_OK passed, $N_BAD failed"
[ "$N_BAD" -eq 0 ]
