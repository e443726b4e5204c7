#!/usr/bin/env bash
# No re-ARP of a booting client: herd pins the MAC it learned from DHCP as a
# permanent neighbour entry before the download. With the neighbour timers
# shortened far below the length of the download, the server sends zero ARP
# requests for the client; the same run with pinning off sends some (so the
# test can see ARP at all). The pin is gone after herd stops.
. "$(dirname "$0")/lib.sh"

require_root
require_tools tcpdump busybox tftp
require_herd
setup_work
net_setup
herd_dirs
mkfile "$TFTP_ROOT/big" $((48 * 1024 * 1024))
chmod -R a+rX "$TFTP_ROOT"
CLI_MAC=02:00:00:99:00:02
ip -n "$NS_CLI" link set eth0 address "$CLI_MAC"
printf 'node-a %s %s compute\n' "$CLI_MAC" "$CLI_IP" >"$WORK/nodes.tab"

# Neighbour entries go stale after ~0.5 s and are probed again at once.
for k in base_reachable_time_ms=500 delay_first_probe_time=1 gc_stale_time=1; do
	in_srv sysctl -qw "net.ipv4.neigh.br0.$k"
done
# (gc_thresh1-3 and gc_interval exist only in the host's namespace: left alone.)

write_conf() {
	cat >"$WORK/herd.conf" <<CONF
[server]
user = nobody
[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT
[log]
enabled = no
dir = $LOG_DIR
[dhcp]
enabled = yes
inventory = $WORK/nodes.tab
lease_file = $WORK/leases
pin_neighbours = $1
unknown = ignore
[subnet lab]
network = $NET.0/24
[group compute]
kernel = vmlinuz
CONF
}

start() {
	HERD_ERR=$WORK/herd.stderr
	herd_san_env
	bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>"$HERD_ERR"
	HERD_PID=$BG_PID
	wait_udp_listen "$NS_SRV" 69 || die "herd did not start: $(cat "$HERD_ERR")"
}

# One DHCP exchange (the client keeps its static address), then a download
# of several seconds, while tcpdump counts the server's ARP requests.
boot_and_download() {
	local pcap=$WORK/arp-$1.txt
	in_srv ip neigh flush dev br0
	bg_start ip netns exec "$NS_SRV" tcpdump -i br0 -nn -l arp >"$pcap" 2>/dev/null
	local dump=$BG_PID
	sleep 0.5
	ip netns exec "$NS_CLI" unshare -m sh -c \
		"mount --bind /dev/null /etc/resolv.conf; busybox udhcpc -i eth0 -n -q -s /bin/true -t 3" \
		>/dev/null 2>&1 || fail "udhcpc got no lease"
	local t0=$SECONDS
	(cd "$WORK" && ip netns exec "$NS_CLI" tftp -m binary "$SRV_IP" -c get big "big.$1") ||
		fail "download failed"
	cmp -s "$TFTP_ROOT/big" "$WORK/big.$1" || fail "downloaded file differs"
	echo "  download took $((SECONDS - t0)) s"
	sleep 1.5
	kill "$dump"
	wait "$dump" 2>/dev/null
	bg_forget "$dump"
	ARP_REQUESTS=$(grep -c "Request who-has $CLI_IP tell $SRV_IP" "$pcap")
}

write_conf yes
start
boot_and_download pinned
if in_srv ip neigh show "$CLI_IP" | grep -q PERMANENT; then
	pass "the client's MAC is pinned (permanent neighbour entry)"
else
	fail "no permanent neighbour entry for $CLI_IP: $(in_srv ip neigh show "$CLI_IP")"
fi
if [ "$ARP_REQUESTS" -eq 0 ]; then
	pass "no ARP request from the server for the client during the download"
else
	fail "the server sent $ARP_REQUESTS ARP requests for the client"
fi
herd_stop
if in_srv ip neigh show "$CLI_IP" | grep -q PERMANENT; then
	fail "the pinned entry outlived herd"
else
	pass "the pin is removed when herd stops"
fi

write_conf no
start
boot_and_download unpinned
if [ "$ARP_REQUESTS" -gt 0 ]; then
	pass "control: without pinning the server ARPs ($ARP_REQUESTS requests)"
else
	fail "control: no ARP request seen even without pinning (the test cannot see ARP)"
fi
herd_stop
finish
