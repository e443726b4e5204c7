# DHCP helpers for herd's system tests; sourced after lib.sh by
# tests/system/test_dhcp_*.sh.
#
# The network: a server namespace holding bridge br0 ($SRV_IP/24, herd) and
# one namespace per client, joined to the bridge by a veth pair created
# directly inside the two namespaces. Clients start without an address; each
# has the MAC the test chooses. Nothing is added to the root namespace.
#
# Real DHCP clients run inside their namespace AND private mount and UTS
# namespaces (dhcp_client_exec): a scratch resolv.conf is bind-mounted over
# /etc/resolv.conf, /run, /var/lib/dhcp and /var/lib/dhcpcd are scratch, the
# stock hook scripts are replaced by a no-op, and each client is pointed at a
# recording hook (dhcp_hook). No test ever changes the host's resolv.conf,
# hostname, routes or leases; host_check verifies that at the end.
#
# Besides lib.sh's results and cleanup, this file provides:
#   dhcp_setup_work                 lib.sh's setup_work, plus killing what
#                                   runs in our namespaces on exit
#   dhcp_net_setup                  server namespace and bridge
#   dhcp_add_client MAC [IP/LEN]    a client namespace (sets DCLI_NS)
#   dhcp_client_exec NS PIDFILE CMD a client, confined as above
#   dhcp_client_enter NS PID CMD    a command beside it (control sockets)
#   dhcp_hook NAME                  a recording hook; rec_last, rec_count
#   dhcp_herd_start pool|ignore     herd with DHCP on br0; herd_counters
#   dhcp_sniff_start                records every DHCP packet on br0
#                                   (sniff_mark, sniff_since)
#   lease_state IP                  the lease journal's last word on IP
#   host_check                      the host is as it was

# The test network (lib.sh's defaults are for the TFTP tests).
NET=${DHCP_NET:-10.99.3}
SRV_IP=$NET.1
POOL_FIRST=$NET.100
POOL_LAST=$NET.119
ROUTER=$NET.254
DNS1=$NET.53
DNS2=$NET.54
DOMAIN=herd-test.example
LEASE_TIME=${LEASE_TIME:-3600}
HERD_STARTS=0
SNIFF=

# --- cleanup ---------------------------------------------------------------

# Kills whatever still runs in our namespaces (daemonised clients, privsep
# helpers), by PID: these namespaces are ours alone ($$ in their names).
dhcp_cleanup() {
	local ns pids p
	for ns in "${NS_CLIENTS[@]}" "$NS_SRV"; do
		pids=$(ip netns pids "$ns" 2>/dev/null) || continue
		for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	done
	sleep 0.2
	for ns in "${NS_CLIENTS[@]}" "$NS_SRV"; do
		pids=$(ip netns pids "$ns" 2>/dev/null) || continue
		for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	done
	# Private mounts die with their namespaces; nothing else to undo.
}

# Like lib.sh's setup_work, with dhcp_cleanup run before lib.sh's cleanup
# (which keeps the exit status).
dhcp_setup_work() {
	setup_work
	host_snapshot "$WORK/host.before"
	trap 'rc__=$?; dhcp_cleanup; (exit $rc__); cleanup' EXIT
}

# --- network ---------------------------------------------------------------

dhcp_net_setup() {
	ip netns add "$NS_SRV" || die "cannot create namespace $NS_SRV"
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_SRV" link add br0 type bridge || die "cannot create a bridge"
	# no STP, no forwarding delay: ports forward at once
	ip -n "$NS_SRV" link set br0 type bridge stp_state 0 forward_delay 0 2>/dev/null
	ip -n "$NS_SRV" addr add "$SRV_IP/24" dev br0
	ip -n "$NS_SRV" link set br0 up
}

# dhcp_add_client MAC [ADDR/LEN]: a new client namespace whose eth0 (with
# MAC) is a port of br0; an address only if given. Sets DCLI_NS.
dhcp_add_client() {
	local mac=$1 addr=${2:-} n=$((${#NS_CLIENTS[@]} + 1))
	local ns=herd-d$n-$$
	ip netns add "$ns" || die "cannot create namespace $ns"
	NS_CLIENTS+=("$ns")
	ip link add "d$n" netns "$NS_SRV" mtu 1500 type veth peer name eth0 netns "$ns" mtu 1500 ||
		die "cannot create veth pair for $ns"
	ip -n "$NS_SRV" link set "d$n" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 address "$mac" || die "cannot set MAC $mac in $ns"
	[ -n "$addr" ] && ip -n "$ns" addr add "$addr" dev eth0
	ip -n "$ns" link set eth0 up
	DCLI_NS=$ns
}

# dhcp_client_exec NS PIDFILE COMMAND...: runs a DHCP client in network
# namespace NS and in new mount and UTS namespaces of its own, where
# /etc/resolv.conf, /run, /var/lib/dhcp and /var/lib/dhcpcd are scratch and
# the stock hook scripts (dhclient-script, dhcpcd-run-hooks, udhcpc's) are
# replaced by one that only records that it was called: whatever the client
# runs, it cannot change the host. The client's PID (it is exec'd) is written
# to PIDFILE unless PIDFILE is "-".
dhcp_client_exec() {
	local ns=$1 pidfile=$2 scratch=$WORK/mnt-$1
	shift 2
	[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || { fail "no client namespace '$ns'"; return 99; }
	mkdir -p "$scratch/run" "$scratch/dhcpcd" "$scratch/dhcp"
	[ -e "$scratch/resolv.conf" ] || echo "# scratch resolv.conf of $ns" >"$scratch/resolv.conf"
	if [ ! -x "$WORK/hook-stray.sh" ]; then
		cat >"$WORK/hook-stray.sh" <<EOF
#!/bin/sh
echo "\$0 \$* reason=\${reason:-}" >>$WORK/stray-hooks.log
exit 0
EOF
		chmod 755 "$WORK/hook-stray.sh"
	fi
	ip netns exec "$ns" unshare --mount --uts --propagation private sh -c '
		set -e
		s=$1 pf=$2 stray=$3
		shift 3
		mount --bind "$s/resolv.conf" /etc/resolv.conf
		mount --bind "$s/run" /run
		mkdir -p /run/dhcpcd
		for d in /var/lib/dhcpcd /var/lib/dhcp; do
			if [ -d "$d" ]; then mount --bind "$s/${d##*/}" "$d"; fi
		done
		for f in /usr/lib/dhcpcd/dhcpcd-run-hooks /sbin/dhclient-script \
			/usr/share/udhcpc/default.script /etc/udhcpc/default.script; do
			if [ -f "$f" ]; then mount --bind "$stray" "$f"; fi
		done
		if [ "$pf" != - ]; then echo $$ >"$pf"; fi
		exec "$@"' sh "$scratch" "$pidfile" "$WORK/hook-stray.sh" "$@"
}

# dhcp_client_enter NS PID COMMAND...: runs COMMAND in network namespace NS
# and in the mount and UTS namespaces of PID, a client started there with
# dhcp_client_exec (to reach its control socket). Refuses, as a failed check,
# unless PID really is in NS and in a mount namespace other than ours.
dhcp_client_enter() {
	local ns=$1 pid=$2 want got
	shift 2
	want=$(ip netns exec "$ns" readlink /proc/self/ns/net 2>/dev/null)
	got=$(readlink "/proc/$pid/ns/net" 2>/dev/null)
	if [ -z "$want" ] || [ "$want" != "$got" ]; then
		fail "refusing to enter PID $pid: not in namespace $ns"
		return 99
	fi
	if [ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]; then
		fail "refusing to enter PID $pid: it shares the host's mount namespace"
		return 99
	fi
	ip netns exec "$ns" nsenter -t "$pid" -m -u "$@"
}

# --- recording hook --------------------------------------------------------

# dhcp_hook NAME: writes $WORK/hook-NAME.sh, a hook for udhcpc (-s),
# dhclient (-sf) and dhcpcd (-c) that records every call as
# $WORK/rec-NAME/NNN-REASON.env (the whole environment) plus one line in
# $WORK/rec-NAME/events, and configures (only) the client's own interface
# in its namespace the way the stock scripts would, so renewals can be
# unicast. It never touches resolv.conf, the hostname or anything else.
dhcp_hook() {
	local name=$1 dir=$WORK/rec-$1 hook=$WORK/hook-$1.sh
	mkdir -p "$dir"
	cat >"$hook" <<EOF
#!/bin/sh
# recording hook for a DHCP client in a herd system test (generated)
dir=$dir
host_netns='$(readlink /proc/self/ns/net)'
EOF
	cat >>"$hook" <<'EOF'
PATH=/usr/sbin:/usr/bin:/sbin:/bin
if [ "$(readlink /proc/self/ns/net)" = "$host_netns" ]; then
	echo "hook called in the host's network namespace: doing nothing" >>"$dir/events"
	exit 1
fi
if [ -n "${reason:-}" ]; then
	r=$reason                 # dhclient, dhcpcd
else
	r=${1:-none}              # udhcpc: deconfig bound renew nak leasefail
fi
n=$(ls "$dir" | grep -c '\.env$')
n=$(printf '%03d' "$n")
{ echo "ARGV=$*"; env | sort; } >"$dir/$n-$r.env"
ifc=${interface:-eth0}
case $r in
bound | renew) # udhcpc does nothing itself
	ip addr flush dev "$ifc" scope global
	ip addr add "$ip/${mask:-24}" dev "$ifc"
	;;
deconfig) ip addr flush dev "$ifc" scope global ;;
BOUND | RENEW | REBIND | REBOOT) # dhclient (dhcpcd configures itself)
	if [ -z "${dhcpcd_version:-}${protocol:-}" ] && [ -n "${new_ip_address:-}" ]; then
		if [ "${old_ip_address:-}" != "$new_ip_address" ]; then
			ip addr flush dev "$ifc" scope global
		fi
		ip addr replace "$new_ip_address/${new_subnet_mask:-255.255.255.0}" dev "$ifc"
	fi
	;;
PREINIT) ip link set "$ifc" up ;;
EXPIRE | FAIL | RELEASE | STOP)
	[ -z "${dhcpcd_version:-}${protocol:-}" ] && ip addr flush dev "$ifc" scope global
	;;
esac
echo "$n $r ip=${ip:-${new_ip_address:-}} old=${old_ip_address:-}" >>"$dir/events"
exit 0
EOF
	chmod 755 "$hook"
	HOOK=$hook
	REC=$dir
}

# rec_last NAME REASON...: path of the last recorded call with one of the
# reasons (empty if none).
rec_last() {
	local dir=$WORK/rec-$1 f= r
	shift
	for r in "$@"; do
		f="$f $(ls "$dir"/*-"$r".env 2>/dev/null)"
	done
	# file names start with a sequence number: the last is the newest
	for r in $f; do echo "$r"; done | sort | tail -n 1
}

# rec_count NAME REASON: how many calls with that reason were recorded.
rec_count() {
	ls "$WORK/rec-$1"/*-"$2".env 2>/dev/null | wc -l
}

# env_get FILE VAR: a variable's value from a recorded environment.
env_get() {
	sed -n "s/^$2=//p" "$1" | head -n 1 | sed "s/^'\(.*\)'\$/\1/"
}

# --- packet capture --------------------------------------------------------

# dhcp_sniff_start: records every DHCP packet crossing br0 (either way) in
# $SNIFF, one line each:
#   TIME in|out SRC:PORT>DST:PORT TYPE mac=M ciaddr=A yiaddr=A giaddr=A
#   req=A sid=A flags=HEX len=N
dhcp_sniff_start() {
	SNIFF=$WORK/sniff.log
	cat >"$WORK/sniff.py" <<'EOF'
import socket, struct, sys, time
iface, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
out = open(path, "a", buffering=1)
names = {0: "BOOTP", 1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK",
         6: "NAK", 7: "RELEASE", 8: "INFORM"}
out.write("ready\n")
def ip(b):
    return socket.inet_ntoa(b) if len(b) == 4 else "-"
while True:
    data, addr = s.recvfrom(65535)
    if len(data) < 42 or data[12:14] != b"\x08\x00":
        continue
    p = data[14:]
    ihl = (p[0] & 15) * 4
    if p[9] != 17 or struct.unpack("!H", p[6:8])[0] & 0x3fff:
        continue  # not UDP, or a fragment
    u = p[ihl:]
    sport, dport = struct.unpack("!HH", u[:4])
    if not {sport, dport} & {67, 68}:
        continue
    d = u[8:]
    f = {"type": "?", "req": "-", "sid": "-"}
    if len(d) >= 240 and d[236:240] == b"\x63\x82\x53\x63":
        f["type"] = "BOOTP"
        i = 240
        while i < len(d):
            c = d[i]
            if c == 0:
                i += 1
                continue
            if c == 255 or i + 1 >= len(d):
                break
            l = d[i + 1]
            v = d[i + 2:i + 2 + l]
            if c == 53 and l == 1:
                f["type"] = names.get(v[0], str(v[0]))
            elif c == 50:
                f["req"] = ip(v)
            elif c == 54:
                f["sid"] = ip(v)
            i += 2 + l
    elif len(d) >= 236:
        f["type"] = "BOOTP-nocookie"
    if len(d) >= 236:
        out.write("%.3f %s %s:%d>%s:%d %s op=%d mac=%s ciaddr=%s yiaddr=%s giaddr=%s req=%s sid=%s flags=%04x len=%d\n" % (
            time.time(), "out" if addr[2] == socket.PACKET_OUTGOING else "in",
            ip(p[12:16]), sport, ip(p[16:20]), dport, f["type"], d[0],
            ":".join("%02x" % x for x in d[28:34]), ip(d[12:16]), ip(d[16:20]),
            ip(d[24:28]), f["req"], f["sid"], struct.unpack("!H", d[10:12])[0], len(d)))
    else:
        out.write("%.3f %s %s:%d>%s:%d short len=%d\n" % (
            time.time(), "out" if addr[2] == socket.PACKET_OUTGOING else "in",
            ip(p[12:16]), sport, ip(p[16:20]), dport, len(d)))
EOF
	: >"$SNIFF"
	bg_start ip netns exec "$NS_SRV" python3 -u "$WORK/sniff.py" br0 "$SNIFF"
	wait_for 10 grep -q '^ready' "$SNIFF" || die "packet recorder did not start"
}

# sniff_mark: remembers how far $SNIFF has been read; sniff_since PATTERN
# greps only what came after the last mark.
sniff_mark() { SNIFF_MARK=$(wc -l <"$SNIFF"); }
sniff_since() { tail -n +"$((SNIFF_MARK + 1))" "$SNIFF" | grep -E "$@"; }

# --- herd ------------------------------------------------------------------

# dhcp_write_conf UNKNOWN: $WORK/herd.conf for DHCP on br0 with the
# inventory $WORK/nodes.tab and the lease journal $WORK/state/leases.
dhcp_write_conf() {
	mkdir -p "$WORK/state"
	cat >"$WORK/herd.conf" <<EOF
; written by tests/system/lib_dhcp.sh
[server]
user = nobody
log_level = info
rcvbuf = 1M

[tftp]
enabled = no

[log]
enabled = no

[dhcp]
enabled = yes
listen = 0.0.0.0:67
interfaces = br0
inventory = $WORK/nodes.tab
lease_file = $WORK/state/leases
unknown = $1
default_group = default
lease_time = $LEASE_TIME
${HERD_DHCP_EXTRA:-}

[subnet test]
network = $NET.0/24
pool = $POOL_FIRST - $POOL_LAST
router = $ROUTER
dns = $DNS1 $DNS2
domain = $DOMAIN
${HERD_SUBNET_EXTRA:-}

[group default]
loader_bios = undionly.kpxe
loader_efi64 = ipxe.efi
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 ip=dhcp

[group compute]
loader_bios = undionly.kpxe
loader_efi64 = ipxe.efi
kernel = vmlinuz-compute
initrd = initrd-compute.img
cmdline = console=ttyS0 root=/dev/nfs nfsroot=%{server}:/srv/nfsroot/%{name} ip=dhcp
EOF
}

# dhcp_herd_start UNKNOWN: writes the configuration and starts herd in the
# server namespace; waits until it listens on port 67. Each start has its
# own stderr file, $HERD_ERR.
dhcp_herd_start() {
	HERD_STARTS=$((HERD_STARTS + 1))
	HERD_CONF=$WORK/herd.conf
	HERD_ERR=$WORK/herd.$HERD_STARTS.stderr
	dhcp_write_conf "$1"
	herd_san_env
	bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
	HERD_PID=$BG_PID
	if ! wait_udp_listen "$NS_SRV" 67 || ! wait_for 10 grep -q 'serving' "$HERD_ERR"; then
		sed 's/^/  herd: /' "$HERD_ERR"
		die "herd did not start serving DHCP on br0"
	fi
}

# herd_counters: SIGUSR1, then reads the counter line herd prints into
# C_received C_offers C_acks C_naks C_malformed C_unknown C_lease_errors
# C_drops. Returns 1 if herd printed nothing.
herd_counters() {
	local before line i
	C_received= C_offers= C_acks= C_naks= C_malformed= C_unknown= C_lease_errors= C_drops=
	before=$(grep -c 'dhcp: received=' "$HERD_ERR")
	kill -USR1 "$HERD_PID" 2>/dev/null || return 1
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'dhcp: received=' "$HERD_ERR")" -gt "$before" ] && break
		sleep 0.1
	done
	line=$(grep 'dhcp: received=' "$HERD_ERR" | tail -n 1)
	[ -n "$line" ] || return 1
	C_received=$(herd_counter "$line" received)
	C_offers=$(herd_counter "$line" offers)
	C_acks=$(herd_counter "$line" acks)
	C_naks=$(herd_counter "$line" naks)
	C_malformed=$(herd_counter "$line" malformed)
	C_unknown=$(herd_counter "$line" unknown_ignored)
	C_lease_errors=$(herd_counter "$line" lease_write_errors)
	C_drops=$(herd_counter "$line" rx_drops)
	[ -n "$C_drops" ]
}

# herd_counter LINE NAME: NAME's value in a "module: name=value ..." line.
herd_counter() {
	echo "$1" | grep -oE "(^| )$2=[0-9]+" | head -n 1 | cut -d= -f2
}

# ack_lines IP MAC: how many "dhcp: ACK IP to MAC" lines herd logged.
ack_lines() {
	grep -c "dhcp: ACK $1 to $2\b" "$HERD_ERR"
}

# lease_state IP: the last journal record of IP in $WORK/state/leases, as
# "MAC EXPIRES" (EXPIRES 0: released, negative: declined), or "none".
lease_state() {
	local rec
	rec=$(awk -v ip="$1" '$1 == "L" && $2 == ip { r = $3 " " $4 } END { print r }' \
		"$WORK/state/leases" 2>/dev/null)
	echo "${rec:-none}"
}

# in_pool IP: true if IP is in the configured pool.
in_pool() {
	local last=${1##*.}
	[ "${1%.*}" = "$NET" ] && [ "$last" -ge "${POOL_FIRST##*.}" ] && [ "$last" -le "${POOL_LAST##*.}" ]
}

# --- the host stays as it was ----------------------------------------------

# host_snapshot FILE: what a DHCP client would change on the host if it ever
# escaped its namespaces: resolv.conf, the hostname, the root namespace's
# IPv4 addresses and routes, the clients' state directories.
host_snapshot() {
	{
		md5sum /etc/resolv.conf 2>&1
		hostname
		ip -4 -o addr show | sed 's/ *valid_lft.*//'
		ip -4 route show
		ls -a /run/dhcpcd /var/lib/dhcp /var/lib/dhcpcd 2>&1
	} >"$1"
}

# host_check: compares with the snapshot taken by dhcp_setup_work.
host_check() {
	host_snapshot "$WORK/host.after"
	if diff -u "$WORK/host.before" "$WORK/host.after" >"$WORK/host.diff"; then
		pass "the host's resolv.conf, hostname, addresses, routes and client state are unchanged"
	else
		sed 's/^/  /' "$WORK/host.diff"
		fail "something changed on the host during the test (see the diff above)"
	fi
}
