#!/bin/bash
# Real DHCP clients against herd's DHCP server: busybox udhcpc, ISC dhclient
# and dhcpcd, each in a network namespace of its own with a chosen MAC (and
# in a private mount and UTS namespace with a recording hook script, so they
# never touch the host). For an inventory node and for an unknown MAC (pool)
# each client gets a lease with the expected options, renews it (a REQUEST
# with ciaddr, answered with an ACK) and releases it. Then: pool leases
# survive a restart of herd (a renewal, an INIT-REBOOT and a new DISCOVER all
# get the same address back, released leases are gone from the journal), and
# with `unknown = ignore` an unknown MAC gets nothing while a node still does.
# None of these clients boots: they get no boot file, next server or TFTP
# server, and a pool client no host name unless pool_hostnames = yes; the
# same udhcpc with a PXE vendor class gets the boot file. Last, dhclient
# renews at the T1 of 10 s that herd's subnet sets (renewal_time = 10).
#
#   tests/system/test_dhcp_clients.sh          (as root; see lib.sh, lib_dhcp.sh)

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dhcp.sh"

require_root
for t in busybox dhclient dhcpcd; do
	command -v "$t" >/dev/null 2>&1 && continue
	DEBIAN_FRONTEND=noninteractive apt-get install -y busybox isc-dhcp-client dhcpcd-base \
		>/dev/null 2>&1
	break
done
require_tools ip ss python3 busybox dhclient dhcpcd unshare nsenter timeout
busybox udhcpc --help 2>&1 | grep -q -- '-O' || skip "busybox has no udhcpc with -O"
require_herd

dhcp_setup_work
dhcp_net_setup

NODE1=node01 MAC1=02:48:45:00:03:01 IP1=$NET.11
NODE2=node02 MAC2=02:48:45:00:03:02 IP2=$NET.12
cat >"$WORK/nodes.tab" <<EOF
# name  mac   ip   group
$NODE1  $MAC1 $IP1 compute
$NODE2  $MAC2 $IP2 default
EOF

# The name herd gives a pool client: node-<mac without colons>.
pool_name() { echo "node-$(echo "$1" | tr -d :)"; }

# --- what a lease must hold ------------------------------------------------

# lease_fields ENVFILE: "ip mask router dns domain hostname logserver
# serverid leasetime" from a recorded hook environment (udhcpc's, or
# dhclient's and dhcpcd's new_* variables). Empty fields are "-".
lease_fields() {
	local f=$1 ip mask router dns domain host log sid lt hex
	if grep -q '^new_ip_address=' "$f"; then
		ip=$(env_get "$f" new_ip_address)
		mask=$(env_get "$f" new_subnet_mask)
		router=$(env_get "$f" new_routers)
		dns=$(env_get "$f" new_domain_name_servers)
		domain=$(env_get "$f" new_domain_name)
		host=$(env_get "$f" new_host_name)
		log=$(env_get "$f" new_log_servers)
		sid=$(env_get "$f" new_dhcp_server_identifier)
		lt=$(env_get "$f" new_dhcp_lease_time)
	else
		ip=$(env_get "$f" ip)
		mask=$(env_get "$f" subnet)
		router=$(env_get "$f" router)
		dns=$(env_get "$f" dns)
		domain=$(env_get "$f" domain)
		host=$(env_get "$f" hostname)
		log=$(env_get "$f" logsrv)
		if [ -z "$log" ]; then # busybox 1.35 passes option 7 as hex
			hex=$(env_get "$f" opt7)
			[ ${#hex} -eq 8 ] && log=$(printf '%d.%d.%d.%d' "0x${hex:0:2}" "0x${hex:2:2}" \
				"0x${hex:4:2}" "0x${hex:6:2}")
		fi
		sid=$(env_get "$f" serverid)
		lt=$(env_get "$f" lease)
	fi
	dns=${dns// /,}
	echo "${ip:--} ${mask:--} ${router:--} ${dns:--} ${domain:--} ${host:--} ${log:--} ${sid:--} ${lt:--}"
}

# expect_lease WHAT ENVFILE IP HOSTNAME: every option as configured.
expect_lease() {
	local what=$1 f=$2 want got
	if [ -z "$f" ] || [ ! -s "$f" ]; then
		fail "$what: the client's hook never reported a lease"
		return 1
	fi
	want="$3 255.255.255.0 $ROUTER $DNS1,$DNS2 $DOMAIN $4 $SRV_IP $SRV_IP $LEASE_TIME"
	got=$(lease_fields "$f")
	if [ "$got" = "$want" ]; then
		pass "$what: lease $3, mask, router, dns, domain, hostname $4, log server $SRV_IP, lease time"
	else
		echo "  fields:   ip mask router dns domain hostname log-server server-id lease-time"
		echo "  expected: $want"
		echo "  got:      $got"
		fail "$what: the lease's options differ from the configuration"
	fi
}

# expect_renewal WHAT MAC IP ACKS_BEFORE: herd saw a REQUEST with ciaddr IP
# (RENEWING: unicast to herd) and answered with an ACK of the same address,
# unicast to the client, and logged it.
expect_renewal() {
	local what=$1 mac=$2 ip=$3 before=$4
	if ! wait_for 10 sniff_since -q "in $ip:68>$SRV_IP:67 REQUEST op=1 mac=$mac ciaddr=$ip "; then
		sniff_since "mac=$mac" | sed 's/^/  /'
		fail "$what: no unicast REQUEST with ciaddr=$ip from $mac reached herd"
		return 1
	fi
	if ! wait_for 5 sniff_since -q "out $SRV_IP:67>$ip:68 ACK op=2 mac=$mac ciaddr=0.0.0.0 yiaddr=$ip "; then
		sniff_since "mac=$mac" | sed 's/^/  /'
		fail "$what: herd did not answer the renewal of $ip with a unicast ACK"
		return 1
	fi
	if [ "$(ack_lines "$ip" "$mac")" -le "$before" ]; then
		fail "$what: herd did not log the renewal's ACK"
		return 1
	fi
	pass "$what: renewed (REQUEST ciaddr=$ip, unicast ACK)"
}

# expect_release WHAT MAC IP POOL: herd got a RELEASE of IP; a pool lease is
# then marked free in the journal (an inventory address is never recorded).
expect_release() {
	local what=$1 mac=$2 ip=$3 pool=$4 st
	if ! wait_for 10 sniff_since -q "in $ip:68>$SRV_IP:67 RELEASE op=1 mac=$mac ciaddr=$ip "; then
		sniff_since "mac=$mac" | sed 's/^/  /'
		fail "$what: no RELEASE of $ip from $mac reached herd"
		return 1
	fi
	# the journal is written off the reply path: give it a moment
	[ "$pool" = pool ] && wait_for 3 eval '[ "$(lease_state "$ip")" = "$mac 0" ]'
	sleep 0.2
	st=$(lease_state "$ip")
	if [ "$pool" = pool ]; then
		if [ "$st" = "$mac 0" ]; then
			pass "$what: released; the journal marks $ip free"
		else
			fail "$what: released, but the journal's last record of $ip is '$st' (expected '$mac 0')"
		fi
	elif [ "$st" = none ]; then
		pass "$what: released (inventory address, not in the journal)"
	else
		fail "$what: the journal records the inventory address $ip: '$st'"
	fi
}

# --- clients ---------------------------------------------------------------

cat >"$WORK/dhclient.conf" <<EOF
# scratch dhclient.conf of herd's system test
request subnet-mask, broadcast-address, routers, domain-name-servers, domain-name,
	host-name, log-servers, dhcp-lease-time, dhcp-renewal-time, dhcp-rebinding-time,
	dhcp-server-identifier, tftp-server-name, bootfile-name;
timeout 15;
retry 60;
initial-interval 1;
reboot 5;
select-timeout 0;
EOF
# The same, renewing (RENEWING, unicast) 3 s after binding.
{
	cat "$WORK/dhclient.conf"
	echo "supersede dhcp-renewal-time 3;"
} >"$WORK/dhclient-renew.conf"

cat >"$WORK/dhcpcd.conf" <<EOF
# scratch dhcpcd.conf of herd's system test
option subnet_mask, routers, domain_name_servers, domain_name, host_name, log_servers
option broadcast_address
ipv4only
noipv4ll
noarp
EOF

# udhcpc_start NAME NS: udhcpc in the foreground (as a background job),
# asking for option 7 too. Sets CPID.
udhcpc_start() {
	local name=$1 ns=$2
	dhcp_hook "$name"
	rm -f "$WORK/$name.pid"
	bg_start dhcp_client_exec "$ns" "$WORK/$name.pid" busybox udhcpc -f -i eth0 -s "$HOOK" -O 7 \
		-t 5 -T 1 -A 2 >"$WORK/$name.out" 2>&1
	wait_for 5 test -s "$WORK/$name.pid" || die "$name: udhcpc did not start"
	CPID=$(cat "$WORK/$name.pid")
	BG_PIDS+=("$CPID")
}

# udhcpc_once NAME NS [ARGS...]: one lease and exit (-q), or fail (-n).
udhcpc_once() {
	local name=$1 ns=$2
	shift 2
	dhcp_hook "$name"
	dhcp_client_exec "$ns" - timeout -k 2 20 busybox udhcpc -q -n -f -i eth0 -s "$HOOK" -O 7 \
		-t 3 -T 1 -A 1 "$@" >"$WORK/$name.out" 2>&1
}

# dhclient_run NAME NS CONF [ARGS...]: ISC dhclient with scratch lease,
# pid and configuration files and the recording script.
dhclient_run() {
	local name=$1 ns=$2 conf=$3
	shift 3
	dhcp_client_exec "$ns" - timeout -k 2 40 dhclient -v -sf "$WORK/hook-$name.sh" \
		-lf "$WORK/$name.leases" -pf "$WORK/$name.pid" -cf "$conf" "$@" eth0 \
		>>"$WORK/$name.out" 2>&1
}

# dhclient_daemon_pid NAME: sets DPID to the daemon's PID (and remembers it
# for cleanup; not to be called in a subshell).
dhclient_daemon_pid() {
	DPID=$(cat "$WORK/$1.pid" 2>/dev/null)
	[ -n "$DPID" ] && BG_PIDS+=("$DPID")
}

# dhcpcd_start NAME NS: dhcpcd in the foreground (-B) as a background job,
# IPv4 only. Sets CPID.
dhcpcd_start() {
	local name=$1 ns=$2
	dhcp_hook "$name"
	rm -f "$WORK/$name.pid"
	bg_start dhcp_client_exec "$ns" "$WORK/$name.pid" dhcpcd -B -4 --noipv6 -f "$WORK/dhcpcd.conf" \
		-c "$HOOK" -t 20 eth0 >"$WORK/$name.out" 2>&1
	wait_for 5 test -s "$WORK/$name.pid" || die "$name: dhcpcd did not start"
	CPID=$(cat "$WORK/$name.pid")
	BG_PIDS+=("$CPID")
}

# dhcpcd_ctl NAME NS PID ARGS...: talks to that dhcpcd through its control
# socket (in its mount namespace); never starts another one.
dhcpcd_ctl() {
	local name=$1 ns=$2 pid=$3
	shift 3
	if ! dhcp_client_enter "$ns" "$pid" dhcpcd -4 -U eth0 >/dev/null 2>&1; then
		fail "$name: cannot reach the running dhcpcd (PID $pid)"
		return 1
	fi
	dhcp_client_enter "$ns" "$pid" dhcpcd -4 "$@" eth0 >>"$WORK/$name.out" 2>&1
}

dump_client() { # NAME: the client's output and hook calls, on failure
	sed "s/^/  $1: /" "$WORK/$1.out" 2>/dev/null | tail -n 20
	sed "s/^/  $1 hook: /" "$WORK/rec-$1/events" 2>/dev/null
}

t_start=$(date +%s)
dhcp_sniff_start
dhcp_herd_start pool
echo "--- herd serves $NET.0/24 on br0; inventory $NODE1 $MAC1, $NODE2 $MAC2; pool $POOL_FIRST-$POOL_LAST"

# --- 1. udhcpc ---------------------------------------------------------------

# udhcpc_cycle WHAT MAC EXPECTED_IP|pool HOSTNAME: lease, renewal (SIGUSR1),
# release (SIGUSR2). Leaves the address in GOT_IP.
udhcpc_cycle() {
	local what=$1 mac=$2 want=$3 host=$4 name ip acks f
	name=u-${mac//:/}
	dhcp_add_client "$mac"
	sniff_mark
	udhcpc_start "$name" "$DCLI_NS"
	if ! wait_for 15 grep -q ' bound ' "$REC/events"; then
		dump_client "$name"
		fail "$what: udhcpc got no lease"
		return 1
	fi
	f=$(rec_last "$name" bound)
	ip=$(env_get "$f" ip)
	GOT_IP=$ip
	if [ "$want" = pool ]; then
		check "$what: got pool address $ip" in_pool "$ip"
		want=$ip
	fi
	expect_lease "$what" "$f" "$want" "$host"
	check "$what: no boot file and no next server for a client that does not boot" \
		test "$(env_get "$f" boot_file)/$(env_get "$f" siaddr)" = /
	acks=$(ack_lines "$ip" "$mac")
	sniff_mark
	kill -USR1 "$CPID"
	expect_renewal "$what" "$mac" "$ip" "$acks"
	wait_for 5 grep -q ' renew ' "$REC/events" ||
		fail "$what: udhcpc's hook did not see the renewal"
	sniff_mark
	kill -USR2 "$CPID"
	expect_release "$what" "$mac" "$ip" "$([ "$3" = pool ] && echo pool || echo node)"
	kill -TERM "$CPID" 2>/dev/null
	ip -n "$DCLI_NS" link set eth0 down # its MAC may be used again
}

udhcpc_cycle "udhcpc, inventory node" "$MAC1" "$IP1" "$NODE1"
P_U=02:48:45:00:03:a1
udhcpc_cycle "udhcpc, unknown MAC" "$P_U" pool - # no pool_hostnames: no host name
IP_PU=$GOT_IP

# The same client saying it is PXE firmware gets what firmware needs.
P_PXE=02:48:45:00:03:a4
dhcp_add_client "$P_PXE"
if udhcpc_once u-pxe "$DCLI_NS" -V PXEClient:Arch:00000:UNDI:002001; then
	f=$(rec_last u-pxe bound)
	check "udhcpc as a PXE client (vendor class PXEClient): boot file undionly.kpxe, next server $SRV_IP" \
		test "$(env_get "$f" boot_file) $(env_get "$f" siaddr)" = "undionly.kpxe $SRV_IP"
else
	dump_client u-pxe
	fail "udhcpc as a PXE client got no lease"
fi
ip -n "$DCLI_NS" link set eth0 down

# --- 2. dhclient -------------------------------------------------------------

# dhclient_cycle WHAT MAC EXPECTED_IP|pool HOSTNAME: lease (-1), renewal
# (at the superseded T1 of 3 s), release (-r).
dhclient_cycle() {
	local what=$1 mac=$2 want=$3 host=$4 name ip acks f
	name=c-${mac//:/}
	dhcp_add_client "$mac"
	dhcp_hook "$name"
	sniff_mark
	if ! dhclient_run "$name" "$DCLI_NS" "$WORK/dhclient-renew.conf" -1; then
		dump_client "$name"
		fail "$what: dhclient got no lease"
		return 1
	fi
	dhclient_daemon_pid "$name"
	f=$(rec_last "$name" BOUND)
	ip=$(env_get "$f" new_ip_address)
	GOT_IP=$ip
	if [ "$want" = pool ]; then
		check "$what: got pool address $ip" in_pool "$ip"
		want=$ip
	fi
	expect_lease "$what" "$f" "$want" "$host"
	check "$what: the lease names no boot file and no TFTP server (dhclient does not boot)" \
		test "$(env_get "$f" new_filename)/$(env_get "$f" new_tftp_server_name)" = /
	acks=$(ack_lines "$ip" "$mac")
	sniff_mark
	expect_renewal "$what" "$mac" "$ip" "$acks"
	wait_for 5 eval '[ "$(rec_count "$name" RENEW)" -ge 1 ]' ||
		fail "$what: dhclient's script did not see the renewal"
	sniff_mark
	dhclient_run "$name" "$DCLI_NS" "$WORK/dhclient-renew.conf" -r ||
		fail "$what: dhclient -r failed"
	expect_release "$what" "$mac" "$ip" "$([ "$3" = pool ] && echo pool || echo node)"
	check "$what: dhclient's script saw the release" test "$(rec_count "$name" RELEASE)" -ge 1
	ip -n "$DCLI_NS" link set eth0 down # its MAC may be used again
}

dhclient_cycle "dhclient, inventory node" "$MAC2" "$IP2" "$NODE2"
P_C=02:48:45:00:03:a2
dhclient_cycle "dhclient, unknown MAC" "$P_C" pool -
IP_PC=$GOT_IP

# --- 3. dhcpcd ---------------------------------------------------------------

# dhcpcd_cycle WHAT MAC EXPECTED_IP|pool HOSTNAME: lease, renewal (-N),
# release (-k).
dhcpcd_cycle() {
	local what=$1 mac=$2 want=$3 host=$4 name ip acks f ns
	name=d-${mac//:/}
	dhcp_add_client "$mac"
	ns=$DCLI_NS
	sniff_mark
	dhcpcd_start "$name" "$ns"
	if ! wait_for 15 grep -q ' BOUND ' "$REC/events"; then
		dump_client "$name"
		fail "$what: dhcpcd got no lease"
		return 1
	fi
	f=$(rec_last "$name" BOUND)
	ip=$(env_get "$f" new_ip_address)
	GOT_IP=$ip
	if [ "$want" = pool ]; then
		check "$what: got pool address $ip" in_pool "$ip"
		want=$ip
	fi
	expect_lease "$what" "$f" "$want" "$host"
	check "$what: dhcpcd configured $ip/24 on its interface" \
		test -n "$(ip -n "$ns" -4 -o addr show dev eth0 to "$ip/24")"
	acks=$(ack_lines "$ip" "$mac")
	sniff_mark
	dhcpcd_ctl "$name" "$ns" "$CPID" -N
	expect_renewal "$what" "$mac" "$ip" "$acks"
	wait_for 5 eval '[ "$(rec_count "$name" RENEW)" -ge 1 ]' ||
		fail "$what: dhcpcd's script did not see the renewal"
	sniff_mark
	dhcpcd_ctl "$name" "$ns" "$CPID" -k
	expect_release "$what" "$mac" "$ip" "$([ "$3" = pool ] && echo pool || echo node)"
	check "$what: dhcpcd removed the address on release" \
		test -z "$(ip -n "$ns" -4 -o addr show dev eth0 to "$ip/24")"
	kill -TERM "$CPID" 2>/dev/null
	ip -n "$ns" link set eth0 down # its MAC may be used again
}

P_D=02:48:45:00:03:a3
dhcpcd_cycle "dhcpcd, unknown MAC" "$P_D" pool -
IP_PD=$GOT_IP
# The inventory node node01 again (udhcpc released it above), from dhcpcd.
dhcpcd_cycle "dhcpcd, inventory node" "$MAC1" "$IP1" "$NODE1"

check "the three pool clients got three different addresses ($IP_PU $IP_PC $IP_PD)" \
	test "$(printf '%s\n' "$IP_PU" "$IP_PC" "$IP_PD" | sort -u | grep -c .)" = 3

herd_counters || fail "herd printed no counters on SIGUSR1"
echo "--- counters: $C_received received, $C_offers offers, $C_acks acks, $C_naks naks, $C_malformed malformed"
check "counters: no NAK, nothing malformed, no lease write error" \
	test "$C_naks $C_malformed $C_lease_errors" = "0 0 0"
check "counters: acks ($C_acks) match the ACK lines herd logged" \
	test "$C_acks" = "$(grep -c 'dhcp: ACK ' "$HERD_ERR")"

# --- 4. pool leases survive a restart ----------------------------------------

echo "--- pool leases across a restart"
P_R1=02:48:45:00:03:b1 # udhcpc, kept running
P_R2=02:48:45:00:03:b2 # dhclient, restarted after herd: INIT-REBOOT
dhcp_add_client "$P_R1"
NS_R1=$DCLI_NS
udhcpc_start r1 "$NS_R1"
R1_PID=$CPID
dhcp_add_client "$P_R2"
NS_R2=$DCLI_NS
dhcp_hook r2
dhclient_run r2 "$NS_R2" "$WORK/dhclient.conf" -1 || { dump_client r2; fail "dhclient r2 got no lease"; }
dhclient_daemon_pid r2
R2_PID=$DPID
wait_for 15 grep -q ' bound ' "$WORK/rec-r1/events" || { dump_client r1; die "udhcpc r1 got no lease"; }
IP_R1=$(env_get "$(rec_last r1 bound)" ip)
IP_R2=$(env_get "$(rec_last r2 BOUND)" new_ip_address)
check "two more pool leases: $IP_R1 ($P_R1), $IP_R2 ($P_R2)" eval 'in_pool "$IP_R1" && in_pool "$IP_R2"'

herd_stop
st1=$(lease_state "$IP_R1") st2=$(lease_state "$IP_R2")
now=$(date +%s)
check "the journal holds $IP_R1 for $P_R1 and $IP_R2 for $P_R2 (live) when herd stops" \
	eval '[ "${st1% *}" = "$P_R1" ] && [ "${st1#* }" -gt "$now" ] &&
	      [ "${st2% *}" = "$P_R2" ] && [ "${st2#* }" -gt "$now" ]'

HERD_DHCP_EXTRA="pool_hostnames = yes" dhcp_herd_start pool
# (herd's own messages, not the setup checks of its start, FILE:LINE: ...)
check "herd restarted without complaining about the lease file" \
	eval '! grep -qE "^herd: (warning|error)" "$HERD_ERR"'
# Compaction at start keeps only live leases: the released ones are gone.
check "after the restart the journal lists the live leases $IP_R1 and $IP_R2 once each" \
	eval '[ "$(grep -c " $IP_R1 $P_R1 " "$WORK/state/leases")" = 1 ] &&
	      [ "$(grep -c " $IP_R2 $P_R2 " "$WORK/state/leases")" = 1 ]'
check "after the restart the journal no longer lists the released $IP_PU $IP_PC $IP_PD" \
	eval '! grep -qE " ($IP_PU|$IP_PC|$IP_PD) " "$WORK/state/leases"'

# udhcpc renews (RENEWING: ciaddr) from a herd that has just restarted.
sniff_mark
kill -USR1 "$R1_PID"
expect_renewal "after restart, udhcpc" "$P_R1" "$IP_R1" 0
wait_for 5 eval '[ "$(rec_count r1 renew)" -ge 1 ]'
check "after restart, udhcpc keeps $IP_R1" \
	test "$(env_get "$(rec_last r1 renew)" ip)" = "$IP_R1"

# dhclient, stopped without releasing and started again: INIT-REBOOT.
sniff_mark
dhcp_client_exec "$NS_R2" - timeout -k 2 20 dhclient -x -sf "$WORK/hook-r2.sh" -lf "$WORK/r2.leases" \
	-pf "$WORK/r2.pid" -cf "$WORK/dhclient.conf" eth0 >>"$WORK/r2.out" 2>&1
wait_for 5 eval '! kill -0 "$R2_PID" 2>/dev/null' || fail "dhclient -x did not stop dhclient"
check "dhclient -x sent no RELEASE" eval '! sniff_since -q "RELEASE .*mac=$P_R2"'
if dhclient_run r2 "$NS_R2" "$WORK/dhclient.conf" -1; then
	dhclient_daemon_pid r2
	check "after restart, dhclient did an INIT-REBOOT (REQUEST for $IP_R2, no ciaddr, no server id)" \
		sniff_since -q "in 0.0.0.0:68>255.255.255.255:67 REQUEST op=1 mac=$P_R2 ciaddr=0.0.0.0 .* req=$IP_R2 sid=- "
	check "after restart, herd ACKed the INIT-REBOOT of $IP_R2" \
		sniff_since -q "out .* ACK op=2 mac=$P_R2 ciaddr=0.0.0.0 yiaddr=$IP_R2 "
	check "after restart, dhclient's script reports REBOOT with $IP_R2" \
		test "$(env_get "$(rec_last r2 REBOOT BOUND)" new_ip_address)" = "$IP_R2"
	check "no NAK and no DISCOVER from dhclient" eval '! sniff_since -q "(NAK|DISCOVER) .*mac=$P_R2"'
else
	dump_client r2
	fail "after restart, dhclient got no lease"
fi

# A new DISCOVER from the same MAC (udhcpc restarted without release).
kill -TERM "$R1_PID"
wait_for 5 eval '! kill -0 "$R1_PID" 2>/dev/null'
sniff_mark
if udhcpc_once r1b "$NS_R1"; then
	check "after restart, a DISCOVER from $P_R1 is offered $IP_R1 again" \
		sniff_since -q "out .* OFFER op=2 mac=$P_R1 ciaddr=0.0.0.0 yiaddr=$IP_R1 "
	check "after restart, a new udhcpc on $P_R1 is bound to $IP_R1" \
		test "$(env_get "$(rec_last r1b bound)" ip)" = "$IP_R1"
	check "with pool_hostnames = yes, the pool client is named $(pool_name "$P_R1")" \
		test "$(env_get "$(rec_last r1b bound)" hostname)" = "$(pool_name "$P_R1")"
else
	dump_client r1b
	fail "after restart, a new udhcpc on $P_R1 got no lease"
fi

# --- 5. unknown = ignore -------------------------------------------------------

echo "--- unknown = ignore"
herd_stop
dhcp_herd_start ignore
herd_counters
unknown_before=$C_unknown
P_X=02:48:45:00:03:c1
dhcp_add_client "$P_X"
sniff_mark
t0=$(date +%s)
if udhcpc_once x "$DCLI_NS"; then
	fail "unknown = ignore: unknown MAC $P_X got a lease: $(sed -n 's/ip=//p' "$WORK/rec-x/"*bound.env)"
else
	pass "unknown = ignore: udhcpc on unknown MAC $P_X gave up after $(($(date +%s) - t0)) s"
fi
check "unknown = ignore: herd saw its DISCOVERs" sniff_since -q "DISCOVER op=1 mac=$P_X"
check "unknown = ignore: herd sent it nothing" eval '! sniff_since -q "^[0-9.]* out .*mac=$P_X"'
herd_counters
check "unknown = ignore: 'unknown ignored' counted them ($unknown_before -> $C_unknown)" \
	test "$C_unknown" -gt "$unknown_before"
# A node of the inventory is still served.
dhcp_add_client "$MAC2"
if udhcpc_once x2 "$DCLI_NS"; then
	expect_lease "unknown = ignore: udhcpc, inventory node" "$(rec_last x2 bound)" "$IP2" "$NODE2"
else
	dump_client x2
	fail "unknown = ignore: inventory node $NODE2 got no lease"
fi

# --- 6. renewal at a configured T1 ------------------------------------------

# dhclient, told nothing locally, renews when herd says: a 60 s lease with
# renewal_time = 10 in the subnet. ISC dhclient spreads its renewal over
# 3/4 T1 .. T1 (+1.5 s), so the REQUEST is due 8-11 s after the ACK.
echo "--- renewal_time = 10 (lease 60 s)"
herd_stop
ip -n "$DCLI_NS" link set eth0 down # the last client's MAC and address
HERD_SUBNET_EXTRA=$'lease_time = 60\nrenewal_time = 10' dhcp_herd_start pool
P_T=02:48:45:00:03:d1
dhcp_add_client "$P_T"
dhcp_hook t1
sniff_mark
if dhclient_run t1 "$DCLI_NS" "$WORK/dhclient.conf" -1; then
	dhclient_daemon_pid t1
	f=$(rec_last t1 BOUND)
	ip=$(env_get "$f" new_ip_address)
	check "dhclient was told T1 = 10 s and T2 = 47 s (derived: 10 + 3/4 of the other 50) of a 60 s lease" \
		test "$(env_get "$f" new_dhcp_renewal_time) $(env_get "$f" new_dhcp_rebinding_time) $(env_get "$f" new_dhcp_lease_time)" = "10 47 60"
	t_ack=$(sniff_since "out .* ACK op=2 mac=$P_T ciaddr=0.0.0.0 yiaddr=$ip " | tail -n 1 | cut -d' ' -f1)
	renew="in $ip:68>$SRV_IP:67 REQUEST op=1 mac=$P_T ciaddr=$ip "
	if [ -n "$t_ack" ] && wait_for 20 sniff_since -q "$renew"; then
		t_ren=$(sniff_since "$renew" | head -n 1 | cut -d' ' -f1)
		dt=$(awk -v a="$t_ack" -v b="$t_ren" 'BEGIN { printf "%.1f", b - a }')
		check "dhclient renewed (unicast REQUEST, ciaddr $ip) $dt s after the ACK (T1 = 10 s: 7-14 s)" \
			awk -v d="$dt" 'BEGIN { exit !(d >= 7 && d <= 14) }'
		check "herd answered the renewal with a unicast ACK" \
			wait_for 5 sniff_since -q "out $SRV_IP:67>$ip:68 ACK op=2 mac=$P_T ciaddr=0.0.0.0 yiaddr=$ip "
	else
		sniff_since "mac=$P_T" | sed 's/^/  /'
		fail "dhclient did not renew within 20 s of the ACK (T1 = 10 s)"
	fi
	dhclient_run t1 "$DCLI_NS" "$WORK/dhclient.conf" -r || fail "dhclient -r failed"
else
	dump_client t1
	fail "dhclient got no lease with renewal_time = 10"
fi

herd_stop
warnings=$(grep -hE '^herd: (warning|error):' "$WORK"/herd.*.stderr)
if [ -z "$warnings" ]; then
	pass "herd logged no warning and no error in its $HERD_STARTS runs"
else
	echo "$warnings" | sort | uniq -c | sed 's/^/  /'
	fail "herd logged warnings or errors while serving well-behaved clients"
fi
check "no client hook ran in place of a stock script" test ! -s "$WORK/stray-hooks.log"
dhcp_cleanup
host_check
echo "--- $(($(date +%s) - t_start)) s"
finish
