#!/bin/bash
# The hardware decides the image: two QEMU nodes that are NOT in herd's
# inventory boot to the marker line in their log files on herd, each in the
# group a [rule] chose, under the name the rule gave it:
#
#   smbios  SeaBIOS + iPXE ROM with `-smbios type=1,product=HerdGPU-X1,
#           serial=SN42`: iPXE's first script reports ${product} ${serial}
#           to herd over HTTP (herd/ipxe/report?...), herd answers with the
#           real script of [group gpu]; named gpu-SN42 by its rule.
#   relay   SeaBIOS + iPXE ROM on another segment behind ISC dhcrelay (a
#           relay namespace; dhcrelay -a adds option 82 with the circuit-id
#           of its port, "port7"): [rule rack3] gives [group rack3] and the
#           name rack3-port7, its address comes from the rack's pool.
#
# Each group's command line carries herd.rule=<group>: the kernel's
# "Command line" in the node's log file proves the group; the marker's
# node= (option 12) and the log file's name prove the name. Before QEMU,
# `herd check --explain` is asked what each would get.
#
#   tests/system/test_boot_rules.sh      (as root; ~1-2 min; the first run
#                                         installs QEMU, isc-dhcp-relay and
#                                         downloads a kernel)
#   GUESTS=relay KEEP=1 tests/system/test_boot_rules.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
qemu_require

# ISC's relay, from Debian (its service is not started: policy-rc.d or no
# init in a container; the test runs its own in a namespace).
if ! command -v dhcrelay >/dev/null; then
	apt-get update -q >&2 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends isc-dhcp-relay >&2 ||
		skip "cannot install isc-dhcp-relay"
fi
DHCRELAY=$(command -v dhcrelay || echo /usr/sbin/dhcrelay)
[ -x "$DHCRELAY" ] || skip "no dhcrelay"

GUESTS=${GUESTS:-smbios relay}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}

setup_work
qemu_net_up 1 ra || die "cannot set up the test network"

# The rack behind the relay: namespace $NS_RELAY, uplink up0 on br0 at
# $NET.2, the node's port a tap named port7 at $RACK.1 (dhcrelay's
# circuit-id is the name of the interface the request came in on).
RACK=10.99.8
NS_RELAY=herd-relay-$$
NS_CLIENTS+=("$NS_RELAY") # the cleanup ends what runs there and deletes it
ip netns add "$NS_RELAY" || die "cannot create namespace $NS_RELAY"
ip -n "$NS_RELAY" link set lo up
ip link add up7 netns "$NS_SRV" type veth peer name up0 netns "$NS_RELAY" ||
	die "cannot create the relay's uplink"
ip -n "$NS_SRV" link set up7 master br0 up
ip -n "$NS_RELAY" addr add "$NET.2/24" dev up0
ip -n "$NS_RELAY" link set up0 up
ip -n "$NS_RELAY" tuntap add dev port7 mode tap || die "cannot create tap port7"
ip -n "$NS_RELAY" addr add "$RACK.1/24" dev port7
ip -n "$NS_RELAY" link set port7 up
ip netns exec "$NS_RELAY" sysctl -qw net.ipv4.ip_forward=1
ip -n "$NS_SRV" route add "$RACK.0/24" via "$NET.2"

TFTP_ROOT=$WORK/root
LOG_DIR=$WORK/logs
mkdir -p "$TFTP_ROOT" "$LOG_DIR" "$WORK/state"
chown nobody "$LOG_DIR" "$WORK/state"
cp "$QEMU_TFTP"/vmlinuz "$QEMU_TFTP"/initrd.img "$QEMU_TFTP"/undionly.kpxe "$TFTP_ROOT/"
chmod -R a+rX "$TFTP_ROOT"

declare -A MAC NAME GROUP POOL
MAC[smbios]=$(qemu_mac 21)
MAC[relay]=$(qemu_mac 22)
NAME[smbios]=gpu-SN42
NAME[relay]=rack3-port7
GROUP[smbios]=gpu
GROUP[relay]=rack3
POOL[smbios]="$NET\.1[01][0-9]"
POOL[relay]="$RACK\.1[01][0-9]"

# Only a node that is not these two: the rules are for strangers.
cat >"$WORK/nodes.tab" <<EOF
# written by tests/system/test_boot_rules.sh
someone  52:54:00:99:07:01  $NET.11  default
EOF

HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_boot_rules.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M

[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT

[http]
enabled = yes
listen = $SRV_IP:80

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
unknown = pool
default_group = default

[subnet qemu]
network = $NET.0/24
pool = $NET.100 - $NET.119

[subnet rack3]
network = $RACK.0/24
pool = $RACK.100 - $RACK.119
router = $RACK.1

[group default]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1 herd.rule=default

[group gpu]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1 herd.rule=gpu

[group rack3]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 panic=-1 herd.rule=rack3

; SMBIOS as iPXE reports it, then the switch port a relay names
[rule gpu]
product = HerdGPU-*
group = gpu
name = gpu-%{serial}

[rule rack3]
circuit_id = port*
group = rack3
name = rack3-%{circuit_id}
EOF

if ! "$HERD" check -c "$HERD_CONF" >"$WORK/check.out" 2>&1; then
	sed 's/^/  herd check: /' "$WORK/check.out"
	die "herd check rejected the configuration"
fi
check "herd check prints the rules in file order" \
	grep -qz '\[rule gpu\].*\[rule rack3\]' "$WORK/check.out"

# Each bad rule is refused at its line.
sed -e 's/^product = HerdGPU-\*$/product = [HerdGPU/' -e 's/^group = rack3$/group = rack4/' \
	"$HERD_CONF" >"$WORK/bad.conf"
printf '[rule late]\ncircuit_id = port7\ngroup = gpu\n' >>"$WORK/bad.conf"
"$HERD" check -c "$WORK/bad.conf" >/dev/null 2>"$WORK/bad.out"
check "herd check: a bad pattern, at its line" \
	grep -q "^$WORK/bad.conf:$(grep -n '^product = \[HerdGPU' "$WORK/bad.conf" | cut -d: -f1): \[rule gpu\] product: the pattern '\[HerdGPU' has a '\[' without its '\]'" "$WORK/bad.out"
check "herd check: an unknown group, at its line" \
	grep -q "^$WORK/bad.conf:$(grep -n '^group = rack4' "$WORK/bad.conf" | cut -d: -f1): \[rule rack3\] group 'rack4' does not exist" "$WORK/bad.out"
check "herd check: a rule an earlier one leaves nothing to, at its header" \
	grep -q "^$WORK/bad.conf:$(grep -n '^\[rule late\]' "$WORK/bad.conf" | cut -d: -f1): \[rule late\] is never reached: \[rule rack3\]" "$WORK/bad.out"

# --explain, before any client: what each would get, and why.
"$HERD" check -c "$HERD_CONF" --explain "${MAC[smbios]}" user_class=iPXE product=HerdGPU-X1 \
	serial=SN42 >"$WORK/explain-smbios" 2>/dev/null
check "--explain: product HerdGPU-X1 meets [rule gpu], group gpu, name gpu-SN42" \
	grep -qzE 'why: +\[rule gpu\].*group: +gpu.*name: +gpu-SN42.*herd.rule=gpu' "$WORK/explain-smbios"
"$HERD" check -c "$HERD_CONF" --explain "${MAC[relay]}" user_class=iPXE circuit_id=port7 \
	>"$WORK/explain-relay" 2>/dev/null
check "--explain: before iPXE reports SMBIOS, [rule gpu] waits for the report" \
	grep -q 'looks at SMBIOS' "$WORK/explain-relay"
"$HERD" check -c "$HERD_CONF" --explain "${MAC[relay]}" circuit_id=port7 product=Standard \
	>"$WORK/explain-relay2" 2>/dev/null
check "--explain: circuit_id port7 meets [rule rack3], name rack3-port7" \
	grep -qzE 'why: +\[rule rack3\].*group: +rack3.*name: +rack3-port7' "$WORK/explain-relay2"

herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
if ! wait_udp_listen "$NS_SRV" 67 || ! wait_udp_listen "$NS_SRV" 69 || ! wait_udp_listen "$NS_SRV" 514; then
	sed 's/^/  herd: /' "$HERD_ERR"
	die "herd did not start listening on 67, 69 and 514"
fi

# -a: add option 82 (circuit-id: the port's name); -iu/-id: up and down.
bg_start ip netns exec "$NS_RELAY" "$DHCRELAY" -4 -d -a -pf "$WORK/dhcrelay.pid" \
	-iu up0 -id port7 "$SRV_IP" >"$WORK/dhcrelay.log" 2>&1
sleep 1
kill -0 "$BG_PID" 2>/dev/null || {
	sed 's/^/  dhcrelay: /' "$WORK/dhcrelay.log"
	die "dhcrelay did not start"
}

PCAP=
if command -v tcpdump >/dev/null; then
	PCAP=$WORK/boot.pcap
	bg_start ip netns exec "$NS_SRV" tcpdump -Z root -i br0 -n -s 1514 -U -w "$PCAP" \
		'udp or tcp port 80' 2>/dev/null
	sleep 0.5
fi

declare -A PID
start_guest() {
	local g=$1
	case $g in
	smbios)
		QEMU_EXTRA="-smbios type=1,manufacturer=HerdLabs,product=HerdGPU-X1,serial=SN42" \
			qemu_start_bios tap1 "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT"
		;;
	relay)
		# QEMU on the rack's port, inside the relay's namespace
		NS_SRV=$NS_RELAY qemu_start_bios port7 "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT"
		# iPXE waits ~16 s for an IPv6 router: one RA on the port ends that
		bg_start ip netns exec "$NS_RELAY" python3 -u "$QEMU_LIB_DIR/ra.py" port7 \
			>"$WORK/ra-port7.log" 2>&1
		;;
	*) die "unknown guest '$g' (smbios, relay)" ;;
	esac
	PID[$g]=$QEMU_PID
}

check_guest() {
	local g=$1 rc nodelog=$LOG_DIR/${NAME[$1]}.log marker
	qemu_wait "${PID[$g]}"
	rc=$?
	if wait_for_line "$nodelog" 'HERD-BOOT-MARKER' 5; then
		marker=$(grep -a 'HERD-BOOT-MARKER' "$nodelog" | tail -1)
		pass "$g: booted to the marker in ${NAME[$g]}.log (QEMU done after $QEMU_ELAPSED s, status $rc)"
		check "$g: option 12 named it ${NAME[$g]}, its address is from the pool" \
			grep -qE "node=${NAME[$g]} ip=${POOL[$g]} mac=${MAC[$g]} loghost=$SRV_IP " <<<"$marker"
		check "$g: its kernel ran [group ${GROUP[$g]}]'s command line" \
			grep -qaE "Command line: .*herd\.rule=${GROUP[$g]}( |$)" "$nodelog"
	else
		fail "$g: no HERD-BOOT-MARKER in $nodelog (QEMU status $rc after $QEMU_ELAPSED s)"
		echo "  log files: $(ls "$LOG_DIR" | tr '\n' ' ')"
		echo "  console: $(qemu_marker "$WORK/serial-$g.log")"
		tr -d '\r' <"$WORK/serial-$g.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
			grep -av '^\s*$' | tail -15 | sed 's/^/  | /'
		grep -a "${MAC[$g]}" "$HERD_ERR" | tail -8 | sed 's/^/  herd: /'
	fi
	if [ "$g" = relay ]; then
		check "relay: herd's replies went back through the relay (giaddr $RACK.1)" \
			grep -qE "dhcp: ACK $RACK\.1[01][0-9] to ${MAC[$g]}" "$HERD_ERR"
	fi
}

for g in $GUESTS; do start_guest "$g"; done
for g in $GUESTS; do check_guest "$g"; done

if [ -n "$PCAP" ] && [[ " $GUESTS " == *" smbios "* ]]; then
	sleep 0.5
	check "smbios: iPXE asked herd/ipxe/report with its product and serial over HTTP" \
		sh -c "tcpdump -r '$PCAP' -A -n 'tcp port 80' 2>/dev/null |
			grep -q 'GET /herd/ipxe/report?mac=[^&]*&manufacturer=HerdLabs&product=HerdGPU-X1&serial=SN42'"
fi

if [ -n "$PCAP" ] && [[ " $GUESTS " == *" relay "* ]]; then
	check "relay: herd echoed option 82 (circuit-id port7) to the relay (RFC 3046)" \
		sh -c "tcpdump -r '$PCAP' -vv -n 'udp and dst host $RACK.1 and dst port 67' 2>/dev/null |
			grep -q 'Circuit-ID SubOption 1, length 5: port7'"
fi

herd_stop
finish
