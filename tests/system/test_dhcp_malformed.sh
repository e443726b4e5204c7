#!/bin/bash
# Malformed and hostile DHCP datagrams against herd's DHCP server, sent with
# python3 from a client namespace (UDP from port 68 to 255.255.255.255:67, or
# to herd's address): truncated, options running past their field, option
# overload (52) loops, zero-length and duplicated options, a wrong magic
# cookie, hops = 200, oversize datagrams, a reply (op = 2), hlen = 99, an
# empty datagram, and more. After each one herd must still run, count it
# (SIGUSR1: "dhcp: received=N ... malformed=M ...") as expected and answer
# only what deserves an answer. Then forged RELEASE and DECLINE from another
# MAC must not take a client's lease away, a real client (udhcpc) must still
# be served, and herd must stop cleanly with no sanitizer report.
#
#   tests/system/test_dhcp_malformed.sh        (as root; see lib.sh, lib_dhcp.sh)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dhcp.sh"

require_root
command -v busybox >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y busybox >/dev/null 2>&1
require_tools ip ss python3 busybox unshare timeout
require_herd

dhcp_setup_work
dhcp_net_setup

NODE1=node01 MAC1=02:48:45:00:03:01 IP1=$NET.11
NODE2=node02 MAC2=02:48:45:00:03:02 IP2=$NET.12
cat >"$WORK/nodes.tab" <<EOF
$NODE1  $MAC1 $IP1 compute
$NODE2  $MAC2 $IP2 default
EOF

# The sender: a namespace with a fixed address outside the pool.
SENDER_MAC=02:bd:00:00:00:ff
SENDER_IP=$NET.200
dhcp_add_client "$SENDER_MAC" "$SENDER_IP/24"
NS_SEND=$DCLI_NS

cat >"$WORK/dhcp_send.py" <<'EOF'
# dhcp_send.py NAME MAC SERVER [DEST [KEY=VALUE...]]: builds the datagram NAME
# (chaddr MAC) and sends it from port 68 to DEST:67 (default
# 255.255.255.255). Prints its length.
import socket, struct, sys

name, mac_s, server = sys.argv[1:4]
dest = sys.argv[4] if len(sys.argv) > 4 else "255.255.255.255"
kv = dict(a.split("=", 1) for a in sys.argv[5:])
mac = bytes.fromhex(mac_s.replace(":", ""))
COOKIE = b"\x63\x82\x53\x63"
PARAMS = bytes([1, 3, 6, 7, 12, 15, 28, 51, 54, 58, 59, 66, 67])


def ip(s):
    return socket.inet_aton(s)


def hdr(op=1, htype=1, hlen=6, hops=0, flags=0, ciaddr="0.0.0.0", giaddr="0.0.0.0",
        chaddr=None, sname=b"", file=b""):
    ch = (mac if chaddr is None else chaddr).ljust(16, b"\0")
    return struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, htype, hlen, hops, 0x48455244, 0,
                       flags, ip(ciaddr), ip("0.0.0.0"), ip("0.0.0.0"), ip(giaddr), ch,
                       sname.ljust(64, b"\0"), file.ljust(128, b"\0"))


def opt(code, data):
    return bytes([code, len(data)]) + data


def msg(opts, end=True, size=300, cookie=COOKIE, **h):
    d = hdr(**h) + cookie + opts + (b"\xff" if end else b"")
    return d.ljust(size, b"\0")


def base(t=1):
    return opt(53, bytes([t])) + opt(55, PARAMS) + opt(61, b"\x01" + mac)


P = {}
P["good_discover"] = msg(base())
P["empty"] = b""
P["truncated_100"] = msg(base())[:100]
P["truncated_235"] = msg(base())[:235]
# option 12 claims 200 bytes; the datagram ends 5 bytes later
P["opt_past_end"] = hdr() + COOKIE + base() + b"\x0c\xc8hello"
# overload = 1 (file), and the option in `file` runs past its 128 bytes
P["opt_past_end_in_file"] = msg(base() + opt(52, b"\x01"), file=b"\x0c\x7f" + b"A" * 126)
# overload = 3; `file` and `sname` hold option 52 again (a loop, if honoured)
P["overload_loop"] = msg(base() + opt(52, b"\x03"),
                         file=opt(52, b"\x03") + opt(12, b"loop") + b"\xff",
                         sname=opt(52, b"\x03") + opt(52, b"\x01") + b"\xff")
P["zero_length_options"] = msg(base() + opt(12, b"") + opt(60, b"") + opt(77, b"") +
                               opt(93, b"") + opt(97, b"") + opt(43, b"") + opt(224, b""))
P["zero_length_53"] = msg(opt(53, b"") + opt(55, PARAMS))
P["duplicated_options"] = msg(base() + opt(12, b"dup") + opt(12, b"dup") + opt(55, PARAMS) +
                              opt(60, b"PXEClient") + opt(60, b"PXEClient") + opt(61, b"\x01" + mac))
P["duplicated_53"] = msg(opt(53, b"\x01") + opt(53, b"\x01") + opt(55, PARAMS))
P["bad_cookie"] = msg(base(), cookie=b"\x63\x82\x53\x64")
P["hops_200"] = msg(base(), hops=200)
P["op_2_reply"] = msg(opt(53, b"\x02") + opt(54, ip(server)), op=2)
P["hlen_99"] = msg(base(), hlen=99)
P["htype_6"] = msg(base(), htype=6)
P["zero_chaddr"] = msg(base(), chaddr=b"\0" * 6)
P["type_99"] = msg(opt(53, b"\x63") + opt(55, PARAMS))
# 12 options of 250 bytes: more than herd gathers (1472)
P["options_overflow"] = msg(base() + b"".join(opt(224 + i, b"x" * 250) for i in range(12)), size=3100)
# one option split 8 times (RFC 3396): 2040 bytes once joined
P["split_overflow"] = msg(base() + b"".join(opt(43, b"y" * 255) for _ in range(8)), size=2200)
P["oversize_2000"] = msg(base(), size=2000)
P["oversize_4000"] = msg(base(), size=4000)
P["oversize_8000"] = msg(base(), size=8000)
P["no_end_option"] = msg(base() + opt(12, b"noend"), end=False, size=0)
P["relayed"] = msg(base() + opt(82, opt(1, b"port7") + opt(2, b"sw1")), giaddr=kv["giaddr"], hops=1)
P["relayed_unknown_net"] = msg(base() + opt(82, opt(1, b"port7")), giaddr="203.0.113.1", hops=1)
# forged messages about somebody else's lease (kv: ip=, victim=)
if "ip" in kv:
    P["forged_release"] = msg(opt(53, b"\x07") + opt(54, ip(server)), ciaddr=kv["ip"])
    P["forged_decline"] = msg(opt(53, b"\x04") + opt(54, ip(server)) + opt(50, ip(kv["ip"])))

d = P[name]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
s.bind(("0.0.0.0", 68))
s.sendto(d, (dest, 67))
print(len(d))
EOF

# send NAME MAC [DEST [KEY=VALUE...]]: sends one datagram from the sender.
send() {
	local name=$1 mac=$2
	shift 2
	ip netns exec "$NS_SEND" python3 "$WORK/dhcp_send.py" "$name" "$mac" "$SRV_IP" "${@:-255.255.255.255}" \
		"giaddr=$SENDER_IP"
}

dhcp_sniff_start
dhcp_herd_start pool
herd_counters || die "herd printed no counters on SIGUSR1"
t_start=$(date +%s)

# probe NAME EXPECT [DEST]: sends NAME from a MAC of its own and checks the
# outcome. EXPECT: malformed (counted as malformed, no reply), offer
# (answered with an OFFER, not malformed), silent (neither), any (just
# survive). herd must be running afterwards and have counted the datagram.
N_PROBE=0
probe() {
	local name=$1 expect=$2 dest=${3:-255.255.255.255} mac len r0 m0 replies what
	N_PROBE=$((N_PROBE + 1))
	mac=$(printf '02:bd:00:00:00:%02x' "$N_PROBE")
	r0=$C_received m0=$C_malformed
	sniff_mark
	len=$(send "$name" "$mac" "$dest") || { fail "$name: could not send it"; return; }
	sleep 0.3
	what="$name ($len bytes${3:+, to $dest})"
	if ! kill -0 "$HERD_PID" 2>/dev/null; then
		die "$what: herd died"
	fi
	herd_counters || die "$what: herd printed no counters"
	replies=$(sniff_since "^[0-9.]* out .*mac=$mac" | awk '{print $4}' | sort -u | tr '\n' ' ')
	replies=${replies% }
	if [ "$C_received" -ne $((r0 + 1)) ]; then
		fail "$what: herd counted it as received $((C_received - r0)) times (expected once)"
	fi
	case $expect in
	malformed)
		if [ "$C_malformed" -eq $((m0 + 1)) ] && [ -z "$replies" ]; then
			pass "$what: dropped as malformed (malformed $m0 -> $C_malformed)"
		else
			fail "$what: expected to be dropped as malformed; malformed $m0 -> $C_malformed, replies: ${replies:-none}"
		fi
		;;
	offer)
		if [ "$C_malformed" -eq "$m0" ] && [ "$replies" = OFFER ]; then
			pass "$what: accepted and answered with an OFFER"
		else
			fail "$what: expected an OFFER; malformed $m0 -> $C_malformed, replies: ${replies:-none}"
		fi
		;;
	silent)
		if [ "$C_malformed" -eq "$m0" ] && [ -z "$replies" ]; then
			pass "$what: ignored, no reply"
		else
			fail "$what: expected to be ignored; malformed $m0 -> $C_malformed, replies: ${replies:-none}"
		fi
		;;
	any)
		pass "$what: survived (malformed $m0 -> $C_malformed, replies: ${replies:-none})"
		;;
	esac
}

echo "--- one datagram at a time"
probe good_discover offer
probe empty malformed
probe truncated_100 malformed
probe truncated_235 malformed
probe truncated_100 malformed "$SRV_IP" # unicast to herd's address
probe opt_past_end malformed
probe opt_past_end_in_file malformed
probe overload_loop offer
probe zero_length_options offer
probe zero_length_53 malformed
probe duplicated_options offer
probe duplicated_53 malformed
probe bad_cookie malformed
probe hops_200 malformed
probe op_2_reply malformed
probe hlen_99 malformed
probe htype_6 malformed
probe zero_chaddr malformed
probe type_99 malformed
probe options_overflow malformed
probe split_overflow malformed
probe oversize_2000 any
probe oversize_4000 any
probe oversize_8000 malformed
probe no_end_option offer
probe relayed offer # giaddr = the sender's address: the OFFER goes there, to port 67
check "relayed: the OFFER went to the relay agent ($SENDER_IP:67)" \
	sniff_since -q "out $SRV_IP:67>$SENDER_IP:67 OFFER"
probe relayed_unknown_net silent

check "no pool lease was recorded for any of these datagrams' MACs (02:bd:00:00:00:*)" \
	eval '! grep -q " 02:bd:00:00:00:" "$WORK/state/leases"'
if grep -q " 02:bd:00:00:00:" "$WORK/state/leases"; then
	sed 's/^/  journal: /' "$WORK/state/leases"
fi

# --- a burst of all of them, without pauses ---------------------------------

echo "--- all of them again, as a burst"
BURST_BAD="empty truncated_100 truncated_235 opt_past_end opt_past_end_in_file zero_length_53
	duplicated_53 hops_200 op_2_reply hlen_99 htype_6 zero_chaddr type_99 options_overflow
	split_overflow"
BURST_OK="overload_loop zero_length_options duplicated_options no_end_option"
n_bad=$(echo $BURST_BAD | wc -w) n_ok=$(echo $BURST_OK | wc -w)
herd_counters
r0=$C_received m0=$C_malformed
pids=()
for name in $BURST_BAD $BURST_OK; do
	send "$name" 02:bd:00:00:01:00 >/dev/null &
	pids+=($!)
done
wait "${pids[@]}" # not a bare wait: herd and the recorder run in the background too
sleep 0.5
kill -0 "$HERD_PID" 2>/dev/null || die "herd died during the burst"
herd_counters
check "burst: herd is running, received $((C_received - r0)) of $((n_bad + n_ok)), malformed $((C_malformed - m0)) (expected $n_bad)" \
	test "$((C_received - r0)) $((C_malformed - m0))" = "$((n_bad + n_ok)) $n_bad"

# --- forged RELEASE and DECLINE -----------------------------------------------

echo "--- forged messages about another client's lease"
VICTIM=02:bd:00:00:02:01
ATTACKER=02:bd:00:00:02:02
dhcp_add_client "$VICTIM"
NS_V=$DCLI_NS
dhcp_hook victim
dhcp_client_exec "$NS_V" - timeout -k 2 20 busybox udhcpc -q -n -f -i eth0 -s "$HOOK" -t 3 -T 1 -A 1 \
	>"$WORK/victim.out" 2>&1 || die "the victim (udhcpc, $VICTIM) got no lease"
VIP=$(env_get "$(rec_last victim bound)" ip)
check "victim $VICTIM holds pool address $VIP" test "$(lease_state "$VIP" | cut -d' ' -f1)" = "$VICTIM"
st0=$(lease_state "$VIP")

send forged_release "$ATTACKER" "$SRV_IP" "ip=$VIP" >/dev/null
sleep 0.5
check "a RELEASE of $VIP from $ATTACKER (not its holder) leaves the lease alone" \
	test "$(lease_state "$VIP")" = "$st0"

send forged_decline "$ATTACKER" 255.255.255.255 "ip=$VIP" >/dev/null
sleep 0.5
st=$(lease_state "$VIP")
if [ "$st" = "$st0" ]; then
	pass "a DECLINE of $VIP from $ATTACKER (not its holder) leaves the lease alone"
else
	fail "a DECLINE of $VIP from $ATTACKER (not its holder) changed the lease: '$st0' -> '$st'"
fi
# The victim comes back (a new DISCOVER asking for its address).
sniff_mark
dhcp_hook victim2
dhcp_client_exec "$NS_V" - timeout -k 2 20 busybox udhcpc -q -n -f -i eth0 -s "$HOOK" -t 3 -T 1 -A 1 \
	-r "$VIP" >"$WORK/victim2.out" 2>&1
got=$(env_get "$(rec_last victim2 bound)" ip)
check "the victim gets its address $VIP back afterwards (got ${got:-nothing})" test "$got" = "$VIP"
check "herd is still running" kill -0 "$HERD_PID"

# --- a good client is served -------------------------------------------------

GOOD=02:48:45:00:03:d1
dhcp_add_client "$GOOD"
dhcp_hook good
if dhcp_client_exec "$DCLI_NS" - timeout -k 2 20 busybox udhcpc -q -n -f -i eth0 -s "$HOOK" -O 7 \
	-t 3 -T 1 -A 1 >"$WORK/good.out" 2>&1; then
	gip=$(env_get "$(rec_last good bound)" ip)
	check "afterwards udhcpc ($GOOD) is served: pool address $gip" in_pool "$gip"
else
	sed 's/^/  udhcpc: /' "$WORK/good.out"
	fail "afterwards udhcpc ($GOOD) got no lease"
fi
dhcp_add_client "$MAC1"
dhcp_hook node
if dhcp_client_exec "$DCLI_NS" - timeout -k 2 20 busybox udhcpc -q -n -f -i eth0 -s "$HOOK" \
	-t 3 -T 1 -A 1 >"$WORK/node.out" 2>&1; then
	check "afterwards udhcpc ($MAC1) gets $NODE1's address $IP1" \
		test "$(env_get "$(rec_last node bound)" ip)" = "$IP1"
else
	fail "afterwards udhcpc ($MAC1) got no lease"
fi

herd_counters
echo "--- counters: $C_received received, $C_offers offers, $C_acks acks, $C_naks naks, $C_malformed malformed, $C_drops rx drops"
herd_stop

# --- a bound client's DISCOVER that no REQUEST follows ---------------------------

# A pool of two addresses, both bound; then one holder sends a DISCOVER (a
# firmware that gives up, a lost OFFER) and nothing else. Its lease still
# runs for an hour: once the offer's hold is over, a third client must not
# get that address.
echo "--- a bound client's DISCOVER without a REQUEST (pool of 2, offer_hold_ms = 300)"
rm -f "$WORK/state/leases"
POOL_LAST=$NET.101
HERD_DHCP_EXTRA="offer_hold_ms = 300"
dhcp_herd_start pool
HOLD_A=02:bd:00:00:03:0a HOLD_B=02:bd:00:00:03:0b HOLD_C=02:bd:00:00:03:0c
# udhcpc_once NAME MAC: a one-shot udhcpc in a new namespace (not in a
# subshell: the namespace must be remembered for cleanup). Sets GOT_IP.
udhcpc_once() {
	GOT_IP=
	dhcp_add_client "$2"
	dhcp_hook "$1"
	dhcp_client_exec "$DCLI_NS" - timeout -k 2 20 busybox udhcpc -q -n -f -i eth0 -s "$HOOK" \
		-t 3 -T 1 -A 1 >"$WORK/$1.out" 2>&1 || return 1
	GOT_IP=$(env_get "$(rec_last "$1" bound)" ip)
}
udhcpc_once hold-a "$HOLD_A"
IP_a=$GOT_IP
udhcpc_once hold-b "$HOLD_B"
IP_b=$GOT_IP
check "$HOLD_A and $HOLD_B hold the two pool addresses (${IP_a:-none}, ${IP_b:-none})" \
	eval 'in_pool "$IP_a" && in_pool "$IP_b" && [ "$IP_a" != "$IP_b" ]'
sniff_mark
send good_discover "$HOLD_A" >/dev/null
wait_for 3 sniff_since -q "OFFER op=2 mac=$HOLD_A ciaddr=0.0.0.0 yiaddr=$IP_a " ||
	fail "herd did not offer $IP_a again to its holder $HOLD_A"
sleep 1 # the offer's hold is over; the lease (an hour) is not
if udhcpc_once hold-c "$HOLD_C"; then
	fail "a third client ($HOLD_C) got $GOT_IP, leased to $HOLD_A for another hour (both addresses are bound)"
else
	pass "a third client ($HOLD_C) gets nothing while both addresses are leased"
fi
check "the journal still gives $IP_a to $HOLD_A" \
	test "$(lease_state "$IP_a" | cut -d' ' -f1)" = "$HOLD_A"
herd_stop
check "no client hook ran in place of a stock script" test ! -s "$WORK/stray-hooks.log"
dhcp_cleanup
host_check
echo "--- $(($(date +%s) - t_start)) s"
finish
