#!/bin/bash
# herd's log receiver with real senders from two client namespaces:
# util-linux logger (RFC 5424 and RFC 3164 over UDP), busybox syslogd -R fed
# by busybox logger, a plain netconsole line and a kernel-style extended one.
# Each line must land in LOGDIR/<sender address>.log, and only there;
# files belong to the unprivileged user; control bytes are escaped; SIGHUP
# reopens a file that logrotate moved away.

. "$(dirname "$0")/lib.sh"

require_root
require_tools ip ss python3 logger busybox unshare
logger --help 2>&1 | grep -q -- '--rfc5424' || skip "logger is not util-linux's"
require_herd
[ -z "${HERD_REF:-}" ] || skip "the reference server has no log receiver"

setup_work
net_setup
net_add_client
C1=$NS_CLIENT_1 IP1=$CLIENT_IP_1
C2=$NS_CLIENT_2 IP2=$CLIENT_IP_2
TFTP_ROOT=$WORK/root
herd_start
wait_udp_listen "$NS_SRV" 514 || die "herd does not listen on $SRV_IP:514"
wait_udp_listen "$NS_SRV" 6666 || die "herd does not listen on $SRV_IP:6666"

TOKEN=t$$x$RANDOM
F1=$LOG_DIR/$IP1.log
F2=$LOG_DIR/$IP2.log

# wait_line FILE PATTERN: up to 5 s for an extended regexp to appear.
wait_line() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# expect_line WHAT FILE PATTERN
expect_line() {
	if wait_line "$2" "$3"; then
		pass "$1: $(grep -E -- "$3" "$2" | head -1)"
	else
		fail "$1: no line matching '$3' in $(basename "$2")"
		if [ -f "$2" ]; then sed 's/^/  /' "$2" | tail -5; fi
	fi
}

# --- client 1: util-linux logger, both formats; plain netconsole -------------

ip netns exec "$C1" logger --rfc5424 -n "$SRV_IP" -P 514 -d -p local3.warning -t app5424 \
	"rfc5424 line $TOKEN-a" || fail "logger --rfc5424 failed"
ip netns exec "$C1" logger --rfc3164 -n "$SRV_IP" -P 514 -d -p daemon.err -t app3164 \
	"rfc3164 line $TOKEN-b" || fail "logger --rfc3164 failed"
ip netns exec "$C1" logger --rfc5424 -i -n "$SRV_IP" -P 514 -d -t withpid \
	"with procid $TOKEN-c" || fail "logger --rfc5424 -i failed"
# (Debian's busybox nc has no -u: bash's /dev/udp sends the plain line.)
ip netns exec "$C1" bash -c 'printf "netconsole plain %s\n" "$1" >"/dev/udp/$2/6666"' _ \
	"$TOKEN-d" "$SRV_IP" || fail "sending a netconsole line from bash failed"

expect_line "RFC 5424 from logger" "$F1" "local3\.warning app5424: rfc5424 line $TOKEN-a\$"
expect_line "RFC 3164 from logger" "$F1" "daemon\.err app3164: rfc3164 line $TOKEN-b\$"
expect_line "RFC 5424 with PROCID" "$F1" "user\.notice withpid\[[0-9]+\]: with procid $TOKEN-c\$"
expect_line "plain netconsole line" "$F1" "kern: netconsole plain $TOKEN-d\$"

# --- client 2: busybox syslogd -R, extended netconsole, control bytes --------

# busybox logger only writes to /dev/log: a busybox syslogd forwards from
# there. Both run in a private mount namespace whose /dev is a scratch
# directory, so the host's /dev never sees the socket.
CDEV=$WORK/client2-dev
mkdir -p "$CDEV"
touch "$CDEV/null"
cat >"$WORK/bb_syslog.sh" <<EOF
set -e
mount --bind /dev/null "$CDEV/null"
mount --bind "$CDEV" /dev
busybox syslogd -n -R $SRV_IP:514 &
pid=\$!
for i in \$(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
busybox logger -t bbtag -p user.info "busybox logger line $TOKEN-e"
sleep 0.5
kill \$pid
EOF
timeout 20 ip netns exec "$C2" unshare -m --propagation private sh "$WORK/bb_syslog.sh" ||
	fail "busybox syslogd/logger run failed"
check "the host's /dev/log was not created" [ ! -e /dev/log ]

ip netns exec "$C2" python3 - "$SRV_IP" "$TOKEN" <<'EOF' || fail "python netconsole sender failed"
import socket, sys
srv, token = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 6665))  # the kernel's netconsole source port
# extended netconsole (extended=1 release=1): release,level,seq,usec,flags;text
s.sendto(("6.1.0-18-amd64,6,1234,5678901,-;extended console %s-f\n" % token).encode(), (srv, 6666))
# syslog with control bytes and two lines in one datagram
s.sendto(b"<13>ctl: esc \x1b[31mred\x07 " + token.encode() + b"-g\nsecond line " +
         token.encode() + b"-h\n", (srv, 514))
EOF

expect_line "busybox syslogd -R / busybox logger" "$F2" "user\.info bbtag: busybox logger line $TOKEN-e\$"
expect_line "extended netconsole" "$F2" "extended console $TOKEN-f\$"
expect_line "control bytes escaped" "$F2" 'ctl: esc \\x1b\[31mred\\x07 '"$TOKEN-g\$"
expect_line "second line of a datagram on its own line" "$F2" "user\.notice ctl: second line $TOKEN-h\$"
if grep -q $'\x1b' "$F2"; then fail "a raw ESC byte reached $F2"; else pass "no raw control bytes in the file"; fi

# --- separation ---------------------------------------------------------------

check "client 1's lines only in $IP1.log" eval "! grep -qE '$TOKEN-[efgh]' '$F1'"
check "client 2's lines only in $IP2.log" eval "! grep -qE '$TOKEN-[abcd]' '$F2'"
others=$(cd "$LOG_DIR" && ls -A | grep -vxF -e "$IP1.log" -e "$IP2.log")
check "no other files in the log directory${others:+ (found: $others)}" [ -z "$others" ]
check "log files belong to nobody (privileges dropped)" \
	[ "$(stat -c %U "$F1" "$F2" | sort -u)" = nobody ]
check "every line starts with an RFC 3339 receive time" \
	eval "! grep -vhE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}' '$F1' '$F2' | grep -q ."

# --- SIGHUP reopens (logrotate) ----------------------------------------------

mv "$F1" "$F1.1"
ip netns exec "$C1" logger --rfc5424 -n "$SRV_IP" -P 514 -d -t hup "before hup $TOKEN-i"
sleep 0.3
kill -HUP "$HERD_PID"
sleep 0.3
ip netns exec "$C1" logger --rfc5424 -n "$SRV_IP" -P 514 -d -t hup "after hup $TOKEN-j"
expect_line "line before SIGHUP goes to the moved file" "$F1.1" "before hup $TOKEN-i\$"
expect_line "line after SIGHUP goes to a new $IP1.log" "$F1" "after hup $TOKEN-j\$"

# --- counters (SIGUSR1): the log receiver's are printed too ----------------------

kill -USR1 "$HERD_PID"
for _ in $(seq 30); do
	grep -q 'log: datagrams=' "$HERD_ERR" && break
	sleep 0.1
done
line=$(grep 'log: datagrams=' "$HERD_ERR" | tail -n 1)
lines=$(echo "$line" | grep -oE ' lines=[0-9]+' | cut -d= -f2)
check "SIGUSR1 prints the log receiver's counters (${line#*log: })" [ "${lines:-0}" -gt 0 ]
check "SIGUSR1 prints the reopens counted by SIGHUP" eval "echo '$line' | grep -q ' reopens=1'"

herd_stop
finish
