#!/usr/bin/env bash
# http-rack.sh: the HTTP stage and the whole power-on chain in an emulated
# rack, herd against nginx (and dnsmasq + nginx for the chain).
#
#   srv (server under test) --veth--> sw (forwarding "switch": egress towards
#   the clients shaped by tbf at RATE with a BUFFER-byte tail-drop queue)
#   --veth--> cli (herd swarm)
#
# The rack is bench/tftp-rack.sh's (same namespaces, addresses, tbf). Every
# run gets three fresh network namespaces named with this shell's PID; they,
# and every process in them, are removed when the run ends, and on exit
# whatever the cause. Nothing is configured in the root namespace and no
# packet leaves the three namespaces.
#
# Usage: bench/http-rack.sh [options] http|chain...     (see --help, README.md)

set -u
set -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)

HERD=${HERD:-$TOP/build/herd}
HTTP_SERVERS=herd,herd-default,nginx
CHAIN_SERVERS=herd,herd-default,dnsmasq+nginx
SERVERS=
RATE=500mbit
BUFFER=128K
CLIENTS=200
ADDRS=250
# The QEMU tests' Debian kernel and busybox initrd (tests/system/qemu/
# assets.sh): the real files when built, else random files of their size.
KERNEL_SIZE=${KERNEL_SIZE:-8247232}
INITRD_SIZE=${INITRD_SIZE:-1399452}
LOADER_SIZE=${LOADER_SIZE:-71680} # Debian's undionly.kpxe, about
ASSETS=${QEMU_ASSETS:-$TOP/build/qemu-assets}
MAX_TIME=
STALL=0
HERD_EXTRA=()
RESULTS=
KEEP=${KEEP:-0}
# tbf's bucket: 10 frames. With tftp-rack's 3000 (two frames) tbf throttles
# after almost every frame and re-arms its timer on the sender's own core
# when the queue is short (a paced sender's is): perf showed 75% of herd's
# CPU in tbf_dequeue, and herd's makespan bound by it (1.29x the wire at
# 200 clients, CPU-bound; 1.02x with 15000). A real port serialises at line
# rate with no timer; the rate and the buffer stay the limits.
TBF_BURST=${TBF_BURST:-15000}
NGINX_WORKER_CONNECTIONS=${NGINX_WORKER_CONNECTIONS:-768}

usage() {
	cat <<EOF
usage: bench/http-rack.sh [options] http|chain...
  http   N clients fetch a kernel and an initrd over HTTP (herd swarm --url:
         iPXE's HTTP, one kept-alive connection each, every byte checked),
         all at once, from herd (configured), herd-default and nginx
  chain  the whole power-on of N clients (herd swarm --chain: PXE ROM DHCP,
         TFTP loader, iPXE DHCP, its script and what it names, initramfs
         DHCP) from herd (DHCP+TFTP+HTTP) and dnsmasq (DHCP+TFTP) + nginx
options:
  -S, --servers LIST   http: herd,herd-default,nginx; chain: herd,herd-default,dnsmasq+nginx
  -n, --clients N      clients (default 200; the issue's figure: 2000)
  -r, --rate RATE      switch port rate (default 500mbit)
  -b, --buffer BYTES   switch port buffer (default 128K)
      --addrs K        client source addresses (default 250)
      --stall S        herd swarm --http-stall (default 0: never, as iPXE)
      --max-time S     swarm's hard stop (default: from the wire limit)
      --herd LINE      extra line for configured herd, 'SECTION.key = value'
                       (SECTION: tftp, http, dhcp, or group for the chain's
                       [group default]; e.g. 'http.max_connections = 8192';
                       repeatable)
  -o, --results FILE   JSON lines appended here (default bench/results/http-DATE.jsonl)
                       and the run's comparison chart beside it, FILE.svg (rack-chart.py)
  -k, --keep           keep the work directory (configs, logs)
environment: HERD (binary, default build/herd), HERD_SERVE (the herd served),
  KERNEL_SIZE, INITRD_SIZE, LOADER_SIZE (bytes of generated files, when
  build/qemu-assets has no vmlinuz/initrd.img), NGINX_WORKER_CONNECTIONS
  (default 768, Debian's stock nginx.conf), TBF_BURST (default 15000)
EOF
}

die() {
	echo "http-rack: $*" >&2
	exit 1
}
log() { echo "http-rack: $*" >&2; }

rate_bps() {
	local v=${1,,} mult=1
	v=${v%bit}
	v=${v%bps}
	case $v in
	*k) mult=1000 v=${v%k} ;;
	*m) mult=1000000 v=${v%m} ;;
	*g) mult=1000000000 v=${v%g} ;;
	esac
	[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "bad rate '$1'"
	awk -v n="$v" -v m="$mult" 'BEGIN { printf "%.0f", n * m }'
}

size_bytes() {
	local v=${1^^} mult=1
	v=${v%B}
	case $v in
	*K) mult=1024 v=${v%K} ;;
	*M) mult=1048576 v=${v%M} ;;
	esac
	[[ $v =~ ^[0-9]+$ ]] || die "bad size '$1'"
	echo $((v * mult))
}

MODES=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	-S | --servers) SERVERS=$2; shift ;;
	-n | --clients) CLIENTS=$2; shift ;;
	-r | --rate) RATE=$2; shift ;;
	-b | --buffer) BUFFER=$2; shift ;;
	--addrs) ADDRS=$2; shift ;;
	--stall) STALL=$2; shift ;;
	--max-time) MAX_TIME=$2; shift ;;
	--herd) HERD_EXTRA+=("$2"); shift ;;
	-o | --results) RESULTS=$2; shift ;;
	-k | --keep) KEEP=1 ;;
	http | chain) MODES+=("$1") ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ ${#MODES[@]} -gt 0 ] || { usage >&2; exit 2; }
[[ $CLIENTS =~ ^[0-9]+$ && $CLIENTS -ge 1 ]] || die "bad client count '$CLIENTS'"
[[ $ADDRS =~ ^[0-9]+$ && $ADDRS -ge 1 && $ADDRS -le 250 ]] || die "--addrs: 1 to 250"
RATE_BPS=$(rate_bps "$RATE")
BUF_B=$(size_bytes "$BUFFER")

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for t in ip tc nstat python3 timeout; do
	command -v $t >/dev/null || die "'$t' is not installed (nstat: iproute2)"
done
[ -x "$HERD" ] || die "$HERD not built (make build/herd)"
[[ $("$HERD" swarm --help 2>/dev/null) == *--url* ]] || die "$HERD swarm has no --url"

stop_service() {
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		systemctl stop "$1" 2>/dev/null
		systemctl disable "$1" 2>/dev/null
	elif [ -x "/etc/init.d/$1" ]; then
		"/etc/init.d/$1" stop >/dev/null 2>&1
	fi
	return 0
}

# Debian's nginx (its service, if the install started one, is stopped: the
# bench starts its own in the server namespace) and dnsmasq-base (the binary).
need_peers() {
	local s
	for s in ${1//,/ }; do
		case $s in
		herd | herd-default) ;;
		nginx | dnsmasq+nginx)
			if ! command -v nginx >/dev/null; then
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >&2 ||
					DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >&2 ||
					die "cannot install nginx"
				stop_service nginx
			fi
			if [ "$s" = dnsmasq+nginx ] && ! command -v dnsmasq >/dev/null; then
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsmasq-base >&2 ||
					die "cannot install dnsmasq-base"
			fi ;;
		*) die "unknown server '$s'" ;;
		esac
	done
}

# --- the rack (tftp-rack.sh's, plus a relay subnet for the chain) ----------

RUN_ID=$$
NS_SRV=hh-srv-$$
NS_SW=hh-sw-$$
NS_CLI=hh-cli-$$
SRV_IP=10.77.1.1
SW_SRV_IP=10.77.1.254
SW_CLI_IP=10.77.2.254
CLI_NET=10.77.2
# The chain's DHCP: the swarm relays (giaddr 10.80.0.1) for a /16 whose
# pool holds any number of clients; the leased addresses are never used
# (the clients send from CLI_NET), only the server's answers to giaddr.
RELAY_IP=10.80.0.1
RELAY_NET=10.80.0.0/16
POOL_FIRST=10.80.1.1
POOL_LAST=10.80.250.250
WORK=

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

ns_kill() {
	local ns=$1 pids i
	ip netns list 2>/dev/null | grep -qw "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null
	for i in $(seq 30); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	kill -KILL $pids 2>/dev/null
	sleep 0.2
}

rack_down() {
	local ns
	for ns in "$NS_CLI" "$NS_SRV" "$NS_SW"; do
		ns_kill "$ns"
		ip netns del "$ns" 2>/dev/null
	done
}

cleanup() {
	rack_down
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then
			log "work directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rack_up() {
	local i ns
	ip netns add "$NS_SRV" && ip netns add "$NS_SW" && ip netns add "$NS_CLI" ||
		die "cannot create network namespaces"
	ip link add s0 netns "$NS_SRV" type veth peer name w0 netns "$NS_SW" &&
		ip link add w1 netns "$NS_SW" type veth peer name c0 netns "$NS_CLI" ||
		die "cannot create veth pairs"
	for ns in "$NS_SRV" "$NS_SW" "$NS_CLI"; do nsx "$ns" ip link set lo up; done
	nsx "$NS_SRV" ip addr add $SRV_IP/24 dev s0
	nsx "$NS_SRV" ip link set s0 up
	nsx "$NS_SRV" ip route add default via $SW_SRV_IP
	nsx "$NS_SW" ip addr add $SW_SRV_IP/24 dev w0
	nsx "$NS_SW" ip addr add $SW_CLI_IP/24 dev w1
	nsx "$NS_SW" ip link set w0 up
	nsx "$NS_SW" ip link set w1 up
	nsx "$NS_SW" sysctl -qw net.ipv4.ip_forward=1
	for i in $(seq "$ADDRS"); do
		nsx "$NS_CLI" ip addr add $CLI_NET.$i/24 dev c0
	done
	nsx "$NS_CLI" ip addr add $RELAY_IP/16 dev c0
	nsx "$NS_CLI" ip link set c0 up
	nsx "$NS_CLI" ip route add default via $SW_CLI_IP
	nsx "$NS_SW" ip route add $RELAY_NET via $CLI_NET.1
	nsx "$NS_SW" tc qdisc add dev w1 root tbf rate "${RATE_BPS}bit" burst "$TBF_BURST" \
		limit "$BUF_B" || die "tc tbf failed"
	# A connection to a closed port of the server: refused (an RST came
	# back) proves the forwarding and resolves the neighbours.
	for i in $(seq 30); do
		[[ $(nsx "$NS_CLI" timeout 2 bash -c "exec 3<>/dev/tcp/$SRV_IP/9" 2>&1) == *refused* ]] &&
			break
		[ "$i" = 30 ] && die "the rack does not forward"
		sleep 0.1
	done
}

# The port's counters: bytes and packets tbf sent, and dropped.
rack_counters() {
	nsx "$NS_SW" tc -s qdisc show dev w1 | awk '/Sent/ { for (i = 1; i <= NF; i++) {
		if ($i == "Sent") { b = $(i+1); p = $(i+3) }
		if ($i == "(dropped") { d = $(i+1); sub(",", "", d) } } }
		END { print "sw_sent_bytes=" b; print "sw_sent_pkts=" p; print "sw_dropped=" d }'
}

# TCP segments the server namespace retransmitted (its own counter).
retrans() { nsx "$NS_SRV" nstat -asz TcpRetransSegs 2>/dev/null | awk '$1 == "TcpRetransSegs" { print $2 }'; }

# CPU seconds of every process in the server namespace (nginx's workers
# too), from /proc/PID/stat, children reaped included.
srv_cpu() {
	local pid total=0
	for pid in $(ip netns pids "$NS_SRV" 2>/dev/null); do
		total=$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" \
			'{ sub(/^.*\) /, ""); printf "%.2f", t + ($12 + $13 + $14 + $15) / hz }' \
			"/proc/$pid/stat" 2>/dev/null || echo "$total")
	done
	echo "$total"
}

# --- the files -------------------------------------------------------------

make_files() {
	local root=$WORK/root
	mkdir -m 755 -p "$root"
	if [ -f "$ASSETS/vmlinuz" ] && [ -f "$ASSETS/initrd.img" ]; then
		cp "$ASSETS/vmlinuz" "$ASSETS/initrd.img" "$root/"
	else
		head -c "$KERNEL_SIZE" /dev/urandom >"$root/vmlinuz"
		head -c "$INITRD_SIZE" /dev/urandom >"$root/initrd.img"
	fi
	head -c "$LOADER_SIZE" /dev/urandom >"$root/undionly.kpxe"
	# dnsmasq + nginx: the script iPXE is given (herd generates its own)
	printf '#!ipxe\nkernel http://%s/vmlinuz initrd=initrd.img console=ttyS0 ip=dhcp\ninitrd http://%s/initrd.img\nboot\n' \
		"$SRV_IP" "$SRV_IP" >"$root/boot.ipxe"
	chmod 644 "$root"/*
	KERNEL_B=$(stat -c %s "$root/vmlinuz")
	INITRD_B=$(stat -c %s "$root/initrd.img")
	LOADER_B=$(stat -c %s "$root/undionly.kpxe")
}

# --- the servers -----------------------------------------------------------

# herd_conf FILE MODE [SECTION.KEY=VALUE...]: http: TFTP and HTTP; chain:
# DHCP too (relay subnet, pool, one group).
herd_conf() {
	local conf=$1 mode=$2 kv sec
	shift 2
	local -A extra=()
	for kv in "$@"; do extra[${kv%%.*}]+="${kv#*.}"$'\n'; done
	{
		echo "[server]"
		echo "user ="
		echo "log_level = warning"
		echo "[tftp]"
		echo "listen = $SRV_IP:69"
		echo "root = $WORK/root"
		printf '%s' "${extra[tftp]:-}"
		echo "[http]"
		echo "enabled = yes"
		echo "listen = $SRV_IP:80"
		printf '%s' "${extra[http]:-}"
		echo "[log]"
		echo "enabled = no"
		echo "[dhcp]"
		if [ "$mode" = chain ]; then
			echo "enabled = yes"
			echo "listen = 0.0.0.0:67"
			echo "inventory = $WORK/nodes.tab"
			echo "lease_file = $WORK/leases-$RUN_ID-$RANDOM"
			echo "unknown = pool"
			echo "default_group = default"
			echo "pin_neighbours = no"
			printf '%s' "${extra[dhcp]:-}"
			echo "[subnet relay]"
			echo "network = $RELAY_NET"
			echo "pool = $POOL_FIRST - $POOL_LAST"
			echo "router = $RELAY_IP"
			echo "next_server = $SRV_IP"
			echo "[subnet server]"
			echo "network = 10.77.1.0/24"
			echo "[group default]"
			echo "loader_bios = undionly.kpxe"
			echo "kernel = vmlinuz"
			echo "initrd = initrd.img"
			echo "cmdline = console=ttyS0 ip=dhcp"
			printf '%s' "${extra[group]:-}"
		else
			echo "enabled = no"
		fi
	} >"$conf"
	: >"$WORK/nodes.tab"
}

herd_serve() {
	local name=$1 conf=$2
	"$HERD_SERVER" check -c "$conf" >"$WORK/$name-check.txt" 2>&1 ||
		die "herd check failed: $(cat "$WORK/$name-check.txt")"
	ip netns exec "$NS_SRV" "$HERD_SERVER" serve -c "$conf" >"$WORK/server-$name.log" 2>&1 &
	echo $!
}

# herd for this port: the pacer's link rate, room for every connection.
start_herd() {
	local rate=$RATE_BPS
	[ $((rate % 1000000)) = 0 ] && rate=$((rate / 1000000))M
	herd_conf "$WORK/herd.conf" "$1" "tftp.link_rate = $rate" "tftp.max_transfers = 20000" \
		"http.max_connections = 8192" "${HERD_EXTRA[@]}"
	herd_serve herd "$WORK/herd.conf"
}

# herd as a new user runs it: nothing but where and what to serve.
start_herd-default() {
	herd_conf "$WORK/herd-default.conf" "$1"
	herd_serve herd-default "$WORK/herd-default.conf"
}

# Debian's stock nginx.conf (worker_processes auto, worker_connections 768,
# sendfile on, tcp_nopush on, keepalive_timeout 65), pid, logs and the
# server block in the work directory, the same root as herd's.
start_nginx() {
	cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections $NGINX_WORKER_CONNECTIONS; }
http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	default_type application/octet-stream;
	access_log off;
	keepalive_timeout 65;
	server {
		listen $SRV_IP:80;
		root $WORK/root;
	}
}
EOF
	ip netns exec "$NS_SRV" nginx -t -c "$WORK/nginx.conf" -g 'daemon off;' \
		>"$WORK/nginx-check.txt" 2>&1 ||
		die "nginx -t: $(cat "$WORK/nginx-check.txt")"
	ip netns exec "$NS_SRV" nginx -c "$WORK/nginx.conf" -g 'daemon off;' \
		>"$WORK/server-nginx.log" 2>&1 &
	echo $!
}

# dnsmasq: DHCP for the relay subnet and TFTP; the PXE ROM gets the loader,
# iPXE (user class "iPXE") the script on nginx.
start_dnsmasq() {
	(
		ulimit -n 20000
		exec ip netns exec "$NS_SRV" dnsmasq -k --conf-file=/dev/null --port=0 \
			--listen-address=$SRV_IP --bind-interfaces \
			--dhcp-range="$POOL_FIRST,$POOL_LAST,255.255.0.0,1h" \
			--dhcp-leasefile="$WORK/dnsmasq.leases" --dhcp-lease-max=1000000 \
			--dhcp-userclass=set:ipxe,iPXE \
			--dhcp-boot=tag:!ipxe,undionly.kpxe,,$SRV_IP \
			--dhcp-boot=tag:ipxe,http://$SRV_IP/boot.ipxe \
			--enable-tftp --tftp-root="$WORK/root" --tftp-max=10000 \
			--quiet-dhcp --quiet-tftp --user=root --group=root \
			--pid-file="$WORK/dnsmasq.pid" --log-facility="$WORK/dnsmasq.log"
	) >"$WORK/server-dnsmasq.log" 2>&1 &
	echo $!
}

wait_port() {
	local proto=$1 port=$2 i
	for i in $(seq 50); do
		nsx "$NS_SRV" ss -H"$proto"ln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# --- one run ---------------------------------------------------------------

# run_one MODE SERVER: one server, fresh rack; one JSON line to $RESULTS.
run_one() {
	local mode=$1 server=$2 pids=() binds i rc t0 t1 rt0 rt1 cpu json swarm_cmd
	binds=$CLI_NET.1
	for ((i = 2; i <= ADDRS; i++)); do binds+=",$CLI_NET.$i"; done
	rack_up
	case $server in
	dnsmasq+nginx)
		pids+=("$(start_dnsmasq)") pids+=("$(start_nginx)") ;;
	*) pids+=("$("start_$server" "$mode")") ;;
	esac
	if ! wait_port t 80 || { [ "$mode" = chain ] && ! wait_port u 67; }; then
		log "$server did not start: $(tail -3 "$WORK"/server-*.log 2>/dev/null)"
		rack_down
		return 1
	fi
	if [ "$mode" = http ]; then
		swarm_cmd=("$HERD_BIN" swarm --url "http://$SRV_IP/vmlinuz" --url-verify "$WORK/root/vmlinuz"
			--url "http://$SRV_IP/initrd.img" --url-verify "$WORK/root/initrd.img")
	else
		# relay mode: giaddr is the first --bind, 10.80.0.1 (client 0
		# also sends from it; its answers come back through the switch)
		swarm_cmd=("$HERD_BIN" swarm --chain --dhcp-server "$SRV_IP" --mac-base $((RANDOM * 4096)))
		binds=$RELAY_IP,$binds
	fi
	swarm_cmd+=(-n "$CLIENTS" --bind "$binds" --link-rate "$RATE_BPS" --http-stall "$STALL"
		--max-time "$MAXT" --json --quiet)
	SWARM_CMD_SHOWN="herd swarm ${swarm_cmd[*]:2}"
	SWARM_CMD_SHOWN=${SWARM_CMD_SHOWN/"$binds"/"${binds%%,*},...,$CLI_NET.$ADDRS"}
	rt0=$(retrans)
	t0=$(date +%s.%N)
	(
		# a TCP and a UDP socket per client: as many descriptors as allowed
		ulimit -n "$(ulimit -Hn)" 2>/dev/null
		exec timeout -k 5 $((MAXT + 30)) ip netns exec "$NS_CLI" \
			/usr/bin/time -f '%U %S' -o "$WORK/swarm-time.txt" "${swarm_cmd[@]}"
	) >"$WORK/swarm-$mode-$server.out" 2>"$WORK/swarm-$mode-$server.err" &
	wait $!
	rc=$?
	t1=$(date +%s.%N)
	rt1=$(retrans)
	cpu=$(srv_cpu)
	local counters
	counters=$(rack_counters)
	rack_down
	json=$(tail -n 1 "$WORK/swarm-$mode-$server.out")
	if [[ $json != \{* ]]; then
		log "$server: swarm gave no JSON (exit $rc): $(tail -3 "$WORK/swarm-$mode-$server.err")"
		json='{}'
	fi
	META="run_id=$RUN_ID.$START_TS
mode=$mode
server=$server
rate_bps=$RATE_BPS
buffer_bytes=$BUF_B
n=$CLIENTS
addrs=$ADDRS
kernel_bytes=$KERNEL_B
initrd_bytes=$INITRD_B
loader_bytes=$LOADER_B
max_time_s=$MAXT
stall_s=$STALL
swarm_exit=$rc
wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
server_cpu_s=${cpu:-}
swarm_cpu_s=$(awk '{ print $1 + $2 }' "$WORK/swarm-time.txt" 2>/dev/null | tail -1)
tcp_retrans_segs=$((${rt1:-0} - ${rt0:-0}))
$counters" RUN_JSON=$json python3 - "$RESULTS" <<'PY'
import json, os, sys
def value(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v if v != "" else None
rec = {}
for line in os.environ["META"].splitlines():
    k, sep, v = line.partition("=")
    if sep:
        rec[k] = value(v)
for k in ("run_id", "mode", "server"):
    rec[k] = str(rec.get(k))
try:
    rec["swarm"] = json.loads(os.environ["RUN_JSON"] or "{}")
except ValueError:
    rec["swarm"] = {}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(rec) + "\n")
PY
	log "$(printf '%-6s %-14s exit %d in %.1f s' "$mode" "$server" "$rc" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
}

run_mode() {
	local mode=$1 list s bytes
	if [ -n "$SERVERS" ]; then list=$SERVERS
	elif [ "$mode" = http ]; then list=$HTTP_SERVERS
	else list=$CHAIN_SERVERS; fi
	need_peers "$list"
	bytes=$((CLIENTS * (KERNEL_B + INITRD_B)))
	[ "$mode" = chain ] && bytes=$((bytes + CLIENTS * LOADER_B))
	if [ -n "$MAX_TIME" ]; then
		MAXT=$MAX_TIME
	else
		MAXT=$(awk -v b="$bytes" -v r="$RATE_BPS" 'BEGIN { t = 4 * b * 8 / r + 60; printf "%d", t }')
	fi
	log "$mode: $CLIENTS clients, kernel $KERNEL_B B, initrd $INITRD_B B, $RATE_BPS bit/s," \
		"buffer $BUF_B B, max-time $MAXT s"
	for s in ${list//,/ }; do
		run_one "$mode" "$s"
	done
	python3 "$BENCH_DIR/http-table.py" --run "$RUN_ID.$START_TS" --mode "$mode" \
		--command "$SWARM_CMD_SHOWN" "$RESULTS"
}

START_TS=$(date +%Y%m%d-%H%M%S)
[ -n "$RESULTS" ] || RESULTS=$BENCH_DIR/results/http-$START_TS.jsonl
mkdir -p "$(dirname "$RESULTS")"
WORK=$(mktemp -d /tmp/herd-http-rack.XXXXXX)
chmod 755 "$WORK"
HERD_BIN=$WORK/herd
cp "$HERD" "$HERD_BIN"
HERD_SERVER=$WORK/herd-server
cp "${HERD_SERVE:-$HERD}" "$HERD_SERVER"
make_files
log "herd: $("$HERD_BIN" --version), results: $RESULTS"
for m in "${MODES[@]}"; do
	run_mode "$m"
done
# The comparison chart of this run (bench/rack-chart.py: SVG, for a browser).
CHART=${RESULTS%.jsonl}.svg
python3 "$BENCH_DIR/rack-chart.py" --run "$RUN_ID.$START_TS" -o "$CHART" "$RESULTS" &&
	log "chart: $CHART"
log "results: $RESULTS"
