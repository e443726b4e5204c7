#!/bin/bash
# proxyDHCP: a site DHCP server (Debian's dnsmasq in plain DHCP mode: an
# address range and the log host, no boot option at all) hands out the
# addresses; herd ([dhcp] mode = proxy) answers only the boot part, on
# ports 67 and 4011. Two QEMU nodes boot at once to a Linux userland that
# sends a marker line to herd's syslog port:
#
#   bios   SeaBIOS + iPXE NIC ROM: site OFFER + herd's proxy OFFER (with
#          the boot file, so iPXE does not ask again on 4011), REQUEST to the
#          site -> herd's iPXE script -> vmlinuz + initrd.img -> initramfs
#          DHCP (site only: herd ignores it) -> syslog
#   uefi   OVMF's own PXE (arch 7): a "BINL" proxy offer (no option 43), its
#          boot file asked again on 4011 -> ipxe.efi -> iPXE DHCP + proxy
#          OFFER -> script -> ...
#
# The site server runs in a namespace of its own on the same bridge (another
# host on the segment, as in a real site): two servers bound to port 67 in
# one namespace would share broadcasts, but a unicast to port 67 (a renewal)
# reaches only one of them, and which is the kernel's choice.
#
# Checks per node: the marker in herd's log file of that node (named from
# the inventory, the address learned from the site server's exchange: the
# inventory says '-'), with the address in the site server's leases file;
# herd sent proxy OFFERs and 4011 ACKs to it and never an address.
#
#   tests/system/test_proxydhcp.sh       (as root; ~1-2 min)
#   GUESTS=uefi KEEP=1 tests/system/test_proxydhcp.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
qemu_require
if ! command -v dnsmasq >/dev/null; then
	# dnsmasq-base: the binary without the system service
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsmasq-base >/dev/null ||
		skip "cannot install dnsmasq-base"
fi

GUESTS=${GUESTS:-bios uefi}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}

setup_work
qemu_net_up 2 ra || die "cannot set up the test network"
net_add_client # the site DHCP server's host: $NET.2 on the bridge
SITE_NS=$NS_CLI
SITE_IP=$CLI_IP

TFTP_ROOT=$WORK/root
LOG_DIR=$WORK/logs
mkdir -p "$TFTP_ROOT" "$LOG_DIR"
chown nobody "$LOG_DIR"
cp "$QEMU_TFTP"/vmlinuz "$QEMU_TFTP"/initrd.img "$QEMU_TFTP"/ipxe.efi "$QEMU_TFTP"/undionly.kpxe \
	"$TFTP_ROOT/"
chmod -R a+rX "$TFTP_ROOT"

declare -A MAC NAME TAP
i=0
for g in bios uefi; do
	i=$((i + 1))
	MAC[$g]=$(qemu_mac "$i")
	NAME[$g]=px-$g
	TAP[$g]=tap$i
done
cat >"$WORK/nodes.tab" <<EOF
# written by tests/system/test_proxydhcp.sh: addresses come from the site server
${NAME[bios]}  ${MAC[bios]}  -  default
${NAME[uefi]}  ${MAC[uefi]}  -  default
EOF

# --- the site DHCP server --------------------------------------------------------

SITE_LEASES=$WORK/site.leases
cat >"$WORK/site-dnsmasq.conf" <<EOF
# the site's DHCP server: addresses and the log host, nothing about booting
port=0
interface=eth0
bind-interfaces
dhcp-range=$NET.50,$NET.99,255.255.255.0,1h
dhcp-authoritative
no-ping
dhcp-leasefile=$SITE_LEASES
dhcp-option=option:log-server,$SRV_IP
log-dhcp
log-facility=$WORK/site-dnsmasq.log
pid-file=
user=root
group=root
EOF
bg_start ip netns exec "$SITE_NS" dnsmasq -k -C "$WORK/site-dnsmasq.conf" 2>"$WORK/site-dnsmasq.stderr"
SITE_PID=$BG_PID
wait_udp_listen "$SITE_NS" 67 || {
	cat "$WORK/site-dnsmasq.stderr"
	die "the site's dnsmasq did not start"
}

# --- herd as a proxy -------------------------------------------------------------

HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_proxydhcp.sh
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
mode = proxy
listen = 0.0.0.0:67
interfaces = br0
inventory = $WORK/nodes.tab
unknown = ignore
default_group = default

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
check "herd check prints mode = proxy" grep -q '^mode = proxy' "$WORK/check.out"

# What only an address server uses is said to be unused, at its line.
sed -e 's/^unknown = ignore/unknown = ignore\nlease_file = \/nonexistent\/leases/' \
	-e "\$a [subnet site]\nnetwork = $NET.0/24\npool = $NET.50 - $NET.99\nrouter = $NET.2" \
	"$HERD_CONF" >"$WORK/unused.conf"
"$HERD" check -c "$WORK/unused.conf" >"$WORK/unused.out" 2>&1
check "herd check accepts a proxy with a [subnet] pool (status $?)" test $? = 0
check "... and warns that the pool and router are not used" \
	grep -q "unused.conf:[0-9]*: warning: \[subnet site\]: pool router not used with \[dhcp\] mode = proxy" "$WORK/unused.out"
check "... and that the lease file is not used" \
	grep -q "unused.conf:[0-9]*: warning: \[dhcp\] lease_file is not used with mode = proxy" "$WORK/unused.out"

herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
if ! wait_udp_listen "$NS_SRV" 67 || ! wait_udp_listen "$NS_SRV" 4011 ||
	! wait_udp_listen "$NS_SRV" 69 || ! wait_udp_listen "$NS_SRV" 514; then
	sed 's/^/  herd: /' "$HERD_ERR"
	die "herd did not start listening on 67, 4011, 69 and 514"
fi

PCAP=
if command -v tcpdump >/dev/null; then
	PCAP=$WORK/boot.pcap
	bg_start ip netns exec "$NS_SRV" tcpdump -Z root -i br0 -n -s 1514 -U -w "$PCAP" \
		'udp or icmp6' 2>/dev/null
	sleep 0.5
fi

# --- boots -----------------------------------------------------------------------

declare -A PID T0
for g in $GUESTS; do
	T0[$g]=$(date +%s.%N)
	case $g in
	uefi) qemu_start_uefi "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	bios) qemu_start_bios "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	*) die "unknown guest '$g' (bios, uefi)" ;;
	esac
	PID[$g]=$QEMU_PID
done

# site_ip MAC: the address the site server's leases file gives MAC.
site_ip() {
	awk -v m="$1" 'tolower($2) == tolower(m) { print $3 }' "$SITE_LEASES" | tail -1
}

for g in $GUESTS; do
	nodelog=$LOG_DIR/${NAME[$g]}.log
	qemu_wait "${PID[$g]}"
	rc=$?
	ip=$(site_ip "${MAC[$g]}")
	check "$g: the site server leased ${MAC[$g]} an address (${ip:-none})" test -n "$ip"
	if wait_for_line "$nodelog" 'HERD-BOOT-MARKER' 5; then
		marker=$(grep -a 'HERD-BOOT-MARKER' "$nodelog" | tail -1)
		pass "$g: booted to the marker in ${NAME[$g]}.log (QEMU done after $QEMU_ELAPSED s, status $rc)"
		check "$g: the marker says the site's address $ip and herd as log host" \
			grep -q "ip=$ip mac=${MAC[$g]} loghost=$SRV_IP " <<<"$marker"
		check "$g: its kernel log reached ${NAME[$g]}.log" \
			grep -qa 'kernel: \[ *[0-9.]*\] Linux version' "$nodelog"
	else
		fail "$g: no HERD-BOOT-MARKER in $nodelog (QEMU status $rc after $QEMU_ELAPSED s)"
		echo "  console: $(qemu_marker "$WORK/serial-$g.log")"
		tr -d '\r' <"$WORK/serial-$g.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
			grep -av '^\s*$' | tail -15 | sed 's/^/  | /'
		ls "$LOG_DIR" | sed 's/^/  log file: /'
		if [ -n "$PCAP" ]; then
			echo "  what crossed the bridge for ${MAC[$g]} (seconds since its QEMU started):"
			python3 "$QEMU_LIB_DIR/pcap_timeline.py" --t0 "${T0[$g]}" --mac "${MAC[$g]}" \
				"$PCAP" | grep -v ICMPv6 | cut -c1-240 | head -60 | sed 's/^/  /'
		fi
	fi
	# iPXE takes its script from the proxy OFFER (it has a boot file: no
	# need to ask on 4011); OVMF's PXE asks for ipxe.efi again on 4011.
	check "$g: iPXE got its script in a proxy OFFER on port 67" \
		grep -q "dhcp: proxy OFFER to ${MAC[$g]} .*iPXE, port 67.*: herd/ipxe/" "$HERD_ERR"
	if [ "$g" = uefi ]; then
		check "$g: OVMF got ipxe.efi in a proxy OFFER on port 67" \
			grep -q "dhcp: proxy OFFER to ${MAC[$g]} .*(PXE, port 67): ipxe.efi" "$HERD_ERR"
		check "$g: ... and in a proxy ACK to its request on port 4011" \
			grep -q "dhcp: proxy ACK to ${MAC[$g]} .*(PXE, port 4011): ipxe.efi" "$HERD_ERR"
	fi
done

# the pins herd made from what it learned (let go when herd stops)
for g in $GUESTS; do
	check "$g: ${MAC[$g]}'s address is pinned in herd's neighbour table" \
		bash -c "ip -n '$NS_SRV' neigh show dev br0 nud permanent | grep -qi '${MAC[$g]}'"
done
check "herd never handed out an address (no ACK of its own)" \
	bash -c "! grep -E 'dhcp: (ACK|NAK) ' '$HERD_ERR'"

herd_stop
check "herd's counters: proxy replies, and no OFFER, ACK or NAK of an address" \
	grep -qE 'offers=0 acks=0 naks=0 .*proxy_offers=[1-9]' "$HERD_ERR"
kill "$SITE_PID" 2>/dev/null
finish
