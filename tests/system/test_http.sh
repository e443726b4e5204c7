#!/bin/bash
# HTTP/1.1 (src/http): curl against herd on port 80 of a server namespace.
#
# It must show: GET and HEAD with the right Content-Length; a single Range
# (206, and 416 past the end); two requests on one connection; 404, 405
# and 413; no path out of the root (`/../`, `%2e%2e`); a generated iPXE
# script byte for byte the one TFTP serves; and the bounds: one source
# holds at most source_connections, past max_connections the connection
# idle the longest makes room for a new one (a real client is served at
# once), a client trickling its headers is cut at request_timeout_ms. herd runs confined (seccomp on,
# the default) under ASan/UBSan and stops cleanly.
. "$(dirname "$0")/lib.sh"

require_root
require_herd
require_tools ip ss curl python3 cmp timeout
setup_work
net_setup      # client 1: the slowloris side (and the extra source addresses)
net_add_client # client 2: the real client
CLI_A=$NS_CLIENT_1 CLI_B=$NS_CLIENT_2

herd_dirs
ROOT=$TFTP_ROOT
MAC=02:48:10:00:00:01
mkfile "$ROOT/vmlinuz" 1048576
mkfile "$ROOT/undionly.kpxe" 4096
: >"$ROOT/empty"
mkdir "$ROOT/sub"
echo "outside the root" >"$WORK/secret"
chmod -R a+rX "$ROOT"
echo "web1 $MAC $CLIENT_IP_2 a" >"$WORK/nodes.tab"

HERD_CONF=$WORK/herd.conf HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_http.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M

[tftp]
listen = $SRV_IP:69
root = $ROOT

[http]
enabled = yes
listen = $SRV_IP:80
max_connections = 20
source_connections = 10
idle_timeout_ms = 2000
request_timeout_ms = 3000
header_max = 8K

[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $WORK/nodes.tab
lease_file = $WORK/leases
unknown = ignore
default_group = a

[subnet link]
network = $NET.0/24

[group a]
loader_bios = undionly.kpxe
kernel = vmlinuz
cmdline = console=ttyS0 hostname=%{name}
EOF
herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
tcp_listening() { [ -n "$(ip netns exec "$NS_SRV" ss -Hntl "sport = :80")" ]; }
wait_udp_listen "$NS_SRV" 69 && wait_for 10 tcp_listening ||
	die "herd did not start: $(tail -5 "$HERD_ERR")"

URL=http://$SRV_IP
# get NS CURL-ARGS...: curl in a client namespace; prints "STATUS SIZE".
get() {
	local ns=$1
	shift
	timeout 10 ip netns exec "$ns" curl -s -o "$WORK/body" -D "$WORK/headers" \
		-w '%{http_code} %{size_download}' "$@"
}
header() { tr -d '\r' <"$WORK/headers" | sed -n "s/^$1: //Ip" | tail -1; }

# --- GET, HEAD, Range ---------------------------------------------------------
check "GET: 200, the whole file" \
	[ "$(get "$CLI_B" "$URL/vmlinuz")" = "200 1048576" ]
check "GET: the same bytes" cmp -s "$WORK/body" "$ROOT/vmlinuz"
check "GET: Content-Length 1048576, Accept-Ranges bytes" \
	[ "$(header Content-Length) $(header Accept-Ranges)" = "1048576 bytes" ]
check "GET: a leading-slash-less name and a query are the same file" \
	[ "$(get "$CLI_B" "$URL/vmlinuz?x=1")" = "200 1048576" ]
check "GET: an empty file: 200, Content-Length 0" \
	[ "$(get "$CLI_B" "$URL/empty") $(header Content-Length)" = "200 0 0" ]
check "HEAD: 200, Content-Length of the file, no body" \
	[ "$(get "$CLI_B" -I "$URL/vmlinuz") $(header Content-Length)" = "200 0 1048576" ]
check "Range 100-199: 206, 100 bytes, Content-Range" \
	[ "$(get "$CLI_B" -r 100-199 "$URL/vmlinuz") $(header Content-Range)" = \
		"206 100 bytes 100-199/1048576" ]
check "Range 100-199: the right bytes" \
	cmp -s "$WORK/body" <(tail -c +101 "$ROOT/vmlinuz" | head -c 100)
check "Range -10 (suffix): the last 10 bytes" \
	[ "$(get "$CLI_B" -r -10 "$URL/vmlinuz") $(tail -c 10 "$ROOT/vmlinuz" | cmp -s - "$WORK/body" && echo same)" = \
		"206 10 same" ]
check "Range 1048570- : 206, the last 6 bytes" \
	[ "$(get "$CLI_B" -r 1048570- "$URL/vmlinuz")" = "206 6" ]
check "Range past the end: 416, Content-Range bytes */1048576" \
	[ "$(get "$CLI_B" -r 2000000-2000010 "$URL/vmlinuz" | cut -d' ' -f1) $(header Content-Range)" = \
		"416 bytes */1048576" ]
check "several ranges: ignored, 200 and the whole file" \
	[ "$(get "$CLI_B" -r 0-1,5-6 "$URL/vmlinuz")" = "200 1048576" ]

# --- keep-alive: curl reuses the connection for URLs given together -----------
timeout 10 ip netns exec "$CLI_B" curl -sv -o /dev/null -o /dev/null "$URL/vmlinuz" \
	"$URL/undionly.kpxe" 2>"$WORK/keepalive"
check "keep-alive: two requests, one connection" \
	[ "$(grep -c '^\* Connected to' "$WORK/keepalive") $(grep -c '^< HTTP/1.1 200' "$WORK/keepalive")" = "1 2" ]
check "keep-alive: the second reused the first's connection" \
	grep -qi 're-using existing connection' "$WORK/keepalive"

# --- errors -----------------------------------------------------------------
check "404: a missing file" [ "$(get "$CLI_B" "$URL/nosuch" | cut -d' ' -f1)" = 404 ]
check "404: a directory" [ "$(get "$CLI_B" "$URL/sub" | cut -d' ' -f1)" = 404 ]
check "400: the root itself (an empty name)" [ "$(get "$CLI_B" "$URL/" | cut -d' ' -f1)" = 400 ]
check "405: DELETE, with Allow: GET, HEAD" \
	[ "$(get "$CLI_B" -X DELETE "$URL/vmlinuz" | cut -d' ' -f1) $(header Allow)" = "405 GET, HEAD" ]
check "405: POST" [ "$(get "$CLI_B" -d x=1 "$URL/vmlinuz" | cut -d' ' -f1)" = 405 ]
check "413: a GET with a body" [ "$(get "$CLI_B" -X GET -d x=1 "$URL/vmlinuz" | cut -d' ' -f1)" = 413 ]
big=$(head -c 9000 /dev/zero | tr '\0' a)
status=$(get "$CLI_B" -H "X-Big: $big" "$URL/vmlinuz" | cut -d' ' -f1)
check "headers over header_max: refused with a 4xx ($status)" [ "${status:0:1}" = 4 ]
# raw REQUEST: sends the bytes as they are, prints the status line.
raw() {
	timeout 10 ip netns exec "$CLI_B" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
print(s.recv(200).split(b"\r\n")[0].decode(errors="replace"))' "$SRV_IP" "$1"
}
check "400: a malformed header line" \
	[ "$(raw 'GET /vmlinuz HTTP/1.1\r\nHost x\r\n\r\n' | cut -d' ' -f2)" = 400 ]
# MHD is not strict (MHD_OPTION_STRICT_FOR_CLIENT): a firmware client that
# forgets Host is served rather than refused.
check "HTTP/1.0: served" [ "$(raw 'GET /vmlinuz HTTP/1.0\r\n\r\n')" = "HTTP/1.1 200 OK" ]
check "herd still serves after the errors" [ "$(get "$CLI_B" "$URL/undionly.kpxe")" = "200 4096" ]

# --- no path out of the root ------------------------------------------------
for path in "/../secret" "/%2e%2e/secret" "/%2E%2E%2Fsecret" "/x/../../secret" "/..%2fsecret"; do
	status=$(get "$CLI_B" --path-as-is "$URL$path" | cut -d' ' -f1)
	check "escape $path refused ($status)" \
		eval '[ "${status:0:1}" = 4 ] && ! grep -q "outside" "$WORK/body"'
done

# --- a generated iPXE script: the same over HTTP as over TFTP ---------------
name=herd/ipxe/$MAC.ipxe
timeout 10 ip netns exec "$CLI_B" curl -s -o "$WORK/script.tftp" "tftp://$SRV_IP/$name"
check "a decoded NUL does not end the name: /vmlinuz%00.txt is not /vmlinuz" \
	[ "$(get "$CLI_B" "$URL/vmlinuz%00.txt" | cut -d' ' -f1)" = 404 ]
check "iPXE script over HTTP: 200" [ "$(get "$CLI_B" "$URL/$name" | cut -d' ' -f1)" = 200 ]
check "iPXE script over HTTP: byte for byte the TFTP one" \
	eval '[ -s "$WORK/body" ] && cmp -s "$WORK/body" "$WORK/script.tftp" && grep -q "hostname=web1" "$WORK/body"'

# --- bounds -------------------------------------------------------------------
# hold NS SECONDS COUNT SRC...: opens COUNT connections from each source
# address and keeps them silent; prints how many the server still holds
# open after 0.5 s (the others it closed).
cat >"$WORK/hold.py" <<'EOF'
import socket, sys, time
srv, secs, count, srcs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
socks = []
for src in srcs:
    for _ in range(count):
        s = socket.socket()
        s.bind((src, 0))
        s.connect((srv, 80))
        s.setblocking(False)
        socks.append(s)
time.sleep(0.5)
def alive(s):
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
print(sum(alive(s) for s in socks), flush=True)
time.sleep(secs)
EOF
# One source: at most source_connections (10) of 40; a real client is served.
ip netns exec "$CLI_A" python3 "$WORK/hold.py" "$SRV_IP" 3 40 "$CLIENT_IP_1" >"$WORK/held1" &
hold_pid=$!
sleep 1
check "one source holds at most source_connections (10 of 40: $(cat "$WORK/held1"))" \
	[ "$(cat "$WORK/held1")" = 10 ]
check "a real client is served while one source holds its 10" \
	[ "$(get "$CLI_B" "$URL/undionly.kpxe")" = "200 4096" ]
wait "$hold_pid"

# http_stat NAME: a counter of herd's SIGUSR1 line.
http_stat() {
	local before
	before=$(grep -c 'http: connections=' "$HERD_ERR")
	kill -USR1 "$HERD_PID"
	wait_for 3 eval '[ "$(grep -c "http: connections=" "$HERD_ERR")" -gt "$before" ]'
	grep 'http: connections=' "$HERD_ERR" | tail -1 | grep -o " $1=[0-9]*" | cut -d= -f2
}

# Many sources: 7 x 10 = 70 idle connections against 20 slots. Past
# max_connections a new connection takes the slot of the one that has
# waited longest for its headers: herd holds 20, and a real client is
# served at once, not after the idle or request timeout.
for i in 20 21 22 23 24 25 26; do ip -n "$CLI_A" addr add "$NET.$i/24" dev eth0; done
ip netns exec "$CLI_A" python3 "$WORK/hold.py" "$SRV_IP" 6 10 \
	$NET.20 $NET.21 $NET.22 $NET.23 $NET.24 $NET.25 $NET.26 >"$WORK/held2" &
hold_pid=$!
sleep 1
n=$(http_stat connections)
check "max_connections: herd holds 20 connections of 70 ($n; the client sees $(cat "$WORK/held2") open)" \
	eval '[ "$n" = 20 ] && [ "$(cat "$WORK/held2")" = 20 ]'
n=$(http_stat evicted)
check "the 50 longest idle were cut to make room ($n)" [ "$n" = 50 ]
t0=$(date +%s%N)
status=$(get "$CLI_B" "$URL/undionly.kpxe")
ms=$((($(date +%s%N) - t0) / 1000000))
check "a real client, with every slot idle, is served at once ($ms ms)" \
	eval '[ "$status" = "200 4096" ] && [ "$ms" -lt 1000 ]'
kill "$hold_pid" 2>/dev/null
wait "$hold_pid"

# Slowloris: one header byte every 0.5 s keeps MHD's idle timer happy; the
# request timeout (3 s) cuts it anyway.
cat >"$WORK/slow.py" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80))
t0 = time.monotonic()
req = b"GET /vmlinuz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 100
try:
    for b in req:
        s.send(bytes([b]))
        time.sleep(0.5)
        if time.monotonic() - t0 > 20:
            break
    s.settimeout(1)
    while s.recv(100):
        pass
except OSError:
    pass
print("%.1f" % (time.monotonic() - t0))
EOF
cut_after=$(ip netns exec "$CLI_A" timeout 30 python3 "$WORK/slow.py" "$SRV_IP")
check "a client trickling its headers is cut at request_timeout_ms (after ${cut_after} s)" \
	python3 -c "import sys; sys.exit(not 2.5 <= float('${cut_after:-99}') <= 5)"

n=$(http_stat request_timeouts)
check "SIGUSR1: request_timeouts=1 ($n)" [ "$n" = 1 ]
grep 'http: connections=' "$HERD_ERR" | tail -1 | sed 's/^/  /'

herd_stop
check "no seccomp refusal logged by herd" eval '! grep -qi "EPERM\|Operation not permitted" "$HERD_ERR"'

# --- a slowloris at scale, against the defaults ----------------------------------
# 5,024 connections from 157 addresses (32 each, source_connections' default)
# trickle header bytes, against max_connections' default (4096): herd stays
# within its bound, and 20 real clients are all served while it lasts.
sed -i -e '/^max_connections/d' -e '/^source_connections/d' -e '/^idle_timeout_ms/d' \
	-e '/^request_timeout_ms/d' "$HERD_CONF"
HERD_ERR=$WORK/herd2.stderr
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
wait_for 10 tcp_listening || die "herd did not start again: $(tail -5 "$HERD_ERR")"
LORIS_SRCS=()
for i in $(seq 60 216); do
	ip -n "$CLI_A" addr add "$NET.$i/24" dev eth0 2>/dev/null
	LORIS_SRCS+=("$NET.$i")
done
cat >"$WORK/loris.py" <<'EOF'
import socket, sys, time, resource
srv, secs, count, srcs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
socks = []
for src in srcs:
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.bind((src, 0))
        try:
            s.connect((srv, 80))
        except BlockingIOError:
            pass
        socks.append(s)
print("opened", len(socks), flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    for s in socks:
        try:
            s.send(b"GET /vmlinuz HTTP/1.1\r\nX-a: " if time.monotonic() - t0 < 1 else b"a")
        except OSError:
            pass
    time.sleep(1)
EOF
ip netns exec "$CLI_A" python3 "$WORK/loris.py" "$SRV_IP" 25 32 "${LORIS_SRCS[@]}" >"$WORK/loris.out" &
loris_pid=$!
wait_for 20 grep -q opened "$WORK/loris.out"
sleep 3
real_ok() { cat "$WORK"/real.* 2>/dev/null | grep -c "^200 1048576$"; }
t0=$(date +%s%N)
for i in $(seq 20); do
	(timeout 20 ip netns exec "$CLI_B" curl -s -o /dev/null -w '%{http_code} %{size_download}\n' \
		"$URL/vmlinuz" >"$WORK/real.$i") &
done
wait_for 25 eval '[ "$(real_ok)" = 20 ]'
ms=$((($(date +%s%N) - t0) / 1000000))
n=$(real_ok)
check "slowloris: 20 real clients served while 5,024 connections trickle headers ($n of 20, ${ms} ms)" \
	eval '[ "$n" = 20 ] && [ "$ms" -lt 15000 ]'
open_now=$(http_stat connections)
evicted=$(http_stat evicted)
check "slowloris: herd holds at most max_connections + 64 ($open_now open, $evicted evicted)" \
	eval '[ "$open_now" -le 4160 ] && [ "$evicted" -gt 0 ]'
kill "$loris_pid" 2>/dev/null
wait "$loris_pid" 2>/dev/null
grep 'http: connections=' "$HERD_ERR" | tail -1 | sed 's/^/  /'
herd_stop
finish
