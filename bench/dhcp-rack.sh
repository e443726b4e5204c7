#!/usr/bin/env bash
# dhcp-rack.sh: herd's DHCP server against Kea and dnsmasq, under the same
# generators: ISC's perfdhcp (the highest sustained DORA/s with under 0.1%
# lost, found by stepping the rate) and herd swarm (2000 clients at once,
# and a power-on's 3 DHCP stages x 2000).
#
#   srv namespace: the server under test on s0 (10.78.0.1/24), its lease
#                  file on disk in the work directory
#   cli namespace: c0 (10.78.0.2/24) and the relay address 10.80.0.1/13: the
#                  generators act as a relay agent (giaddr 10.80.0.1), so
#                  replies come back unicast to port 67, as perfdhcp does
#
# Every measurement gets two fresh namespaces named with this shell's PID
# and a fresh server with an empty lease file; they, and every process in
# them, are removed when it ends, and on exit whatever the cause. Nothing
# is configured in the root namespace and no packet leaves the two
# namespaces.
#
# Usage: bench/dhcp-rack.sh [options] [TEST...]     (see --help, DHCP.md)

set -u
set -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)

HERD=${HERD:-$TOP/build/herd}
SERVERS=herd,kea,dnsmasq
PERF_SECS=10
PERF_START=1000
SWARM_SECS=5
PERF_RESOLUTION=10 # percent
PERF_CLIENTS=10000
BURST=2000
REPEAT=2
PROFILE=ipxe
LOSS_MAX=0.1 # percent of DORAs that may be lost at a "sustained" rate
RESULTS=
KEEP=${KEEP:-0}
SHIM=1

SRV_IP=10.78.0.1
CLI_IP=10.78.0.2
RELAY_IP=10.80.0.1
# A /13 for the relay's clients: a sustained run of herd swarm gives every
# DORA a MAC of its own (5 s at 40,000/s: 200,000 addresses).
RELAY_NET=10.80.0.0/13
RELAY_MASK=255.248.0.0
POOL_FIRST=10.80.1.1
POOL_LAST=10.87.255.254

usage() {
	cat <<'EOF'
usage: bench/dhcp-rack.sh [options] [TEST...]
  TEST: perf (perfdhcp: the highest sustained rate), rate (the same with herd
        swarm as the generator, a MAC per DORA), burst (swarm: N clients at
        once), chain (swarm: 3 DHCP stages x N at once), all (default)
options:
  -S, --servers LIST  herd,kea,kea-mt,dnsmasq,dnsmasq-noping (default herd,kea,dnsmasq)
  -t, --time SECS     perfdhcp run per rate step (default 10)
      --start RATE    the first rate tried, DORA/s (default 1000); then doubled
                      until one fails, then bisected to within 10%
  -R, --perf-clients N  perfdhcp's simulated clients (default 10000)
  -n, --clients N     swarm clients per burst (default 2000)
  -r, --repeat N      run every measurement N times (default 2)
  -p, --profile NAME  swarm's firmware profile (default ipxe: 1 2 4 8 s timers)
  -o, --results FILE  JSON lines appended here (default bench/results/dhcp-DATE.jsonl;
                      raw outputs beside it in bench/results/dhcp-DATE/)
  -k, --keep          keep the work directory (configs, logs, lease files)
      --no-shim       leave perfdhcp's receive buffer at the kernel default
      --table FILE    print the table of a results file again, and exit
environment: HERD (binary, default build/herd)
EOF
}

die() {
	echo "dhcp-rack: $*" >&2
	exit 1
}
log() { echo "dhcp-rack: $*" >&2; }

# The side-by-side table of a results file: the median of the runs, and
# every run's value after it.
print_table() {
	python3 - "$1" <<'EOF'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
servers = []
for r in rows:
    if r["server"] not in servers:
        servers.append(r["server"])
W = 16

def med(v):
    return statistics.median(v) if v else None

def fmt(v, f="%.0f"):
    return "-" if v is None else f % v

def line(label, vals):
    print("%-40s" % label + "".join("%*s" % (W, v) for v in vals))

def runs(test, s):
    return [r for r in rows if r["test"] == test and r["server"] == s]

loads = [r["load1"] for r in rows]
print("\nDHCP rack: %s" % sys.argv[1])
print("load average (1 min) at the start of each measurement: %.1f to %.1f\n" % (min(loads), max(loads)))
line("", servers)
for test, title in (("perf", "perfdhcp"), ("rate", "herd swarm")):
    if not any(r["test"] == test for r in rows):
        continue
    best = {s: med([r["max_rate"] for r in runs(test, s)]) for s in servers}
    line("%s: max DORA/s, <0.1%% lost" % title, [fmt(best[s]) for s in servers])
    line("  each run", ["/".join("%d%s" % (r["max_rate"], "*" if r["generator_limited"] else "")
                                for r in runs(test, s)) or "-" for s in servers])
    if test == "rate":
        line("  DORA p99 at that rate, s", [fmt(med([st["dora_p99_s"] for r in runs(test, s) for st in r["steps"]
                                                     if st["rate"] == r["max_rate_asked"] and st["lost_pct"] < 0.1 and st.get("dora_p99_s") is not None]), "%.3f") for s in servers])
    line("  server CPU s per 1000 DORAs", [fmt(med([1000 * st["srv_cpu_s"] / max(1, st["sent"]) for r in runs(test, s)
                                                    for st in r["steps"] if st["rate"] == r["max_rate_asked"] and st["lost_pct"] < 0.1]), "%.3f") for s in servers])
    h = best.get("herd")
    line("  herd / server", [("%.1fx" % (h / best[s])) if h and best[s] else "-" for s in servers])
for test, title in (("burst", "burst"), ("chain", "chain (3 DHCP stages)")):
    if not any(r["test"] == test for r in rows):
        continue
    n = next(r["clients"] for r in rows if r["test"] == test)
    prof = next(r.get("profile", "ipxe") for r in rows if r["test"] == test)
    spans = {}
    for s in servers:
        v = [r["swarm"]["dhcp"]["span_s"] for r in runs(test, s) if r["swarm"]]
        spans[s] = med(v)
    ex = next((r["swarm"]["dhcp"]["exchanges"] for r in rows if r["test"] == test and r["swarm"]), 0)
    line("%s: %d %s clients at once" % (title, n, prof), [""] * len(servers))
    line("  first DISCOVER to last ACK, s", [fmt(spans[s], "%.3f") for s in servers])
    line("  each run", ["/".join("%.2f" % r["swarm"]["dhcp"]["span_s"] for r in runs(test, s) if r["swarm"]) or "-" for s in servers])
    line("  DORAs completed of %d, each run" % (n * (3 if test == "chain" else 1)),
         ["/".join("%d" % r["swarm"]["dhcp"]["exchanges"] for r in runs(test, s) if r["swarm"]) for s in servers])
    line("  DORA/s (completed / span)", [fmt(med([r["swarm"]["dhcp"]["dora_per_s"] for r in runs(test, s) if r["swarm"]])) for s in servers])
    st = "firmware"
    line("  DORA p99 / max, s (first stage)", ["%s/%s" % (fmt(med([r["swarm"]["dhcp"]["stages"][st]["dora_p99_s"] or 0 for r in runs(test, s) if r["swarm"]]), "%.2f"),
                                                          fmt(med([r["swarm"]["dhcp"]["stages"][st]["dora_max_s"] or 0 for r in runs(test, s) if r["swarm"]]), "%.2f")) for s in servers])
    line("  clients failed (timeouts), sum", ["%d" % sum(r["swarm"]["failed"] for r in runs(test, s) if r["swarm"]) for s in servers])
    line("  requests re-sent, sum", ["%d" % sum(r["swarm"]["dhcp"]["retransmits"] for r in runs(test, s) if r["swarm"]) for s in servers])
    line("  server socket drops, sum", ["%d" % sum(r["srv_sock_drops"] for r in runs(test, s)) for s in servers])
    line("  server CPU s (median)", [fmt(med([r["srv_cpu_s"] for r in runs(test, s)]), "%.2f") for s in servers])
    h = spans.get("herd")
    line("  server time / herd's", [("%.1fx" % (spans[s] / h)) if h and spans[s] else "-" for s in servers])
print("\n* the generator could not send faster than that: the server was not the limit.")
EOF
}

TABLE_ONLY=
TESTS=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	-S | --servers) SERVERS=$2; shift ;;
	-t | --time) PERF_SECS=$2; shift ;;
	--start) PERF_START=$2; shift ;;
	-R | --perf-clients) PERF_CLIENTS=$2; shift ;;
	-n | --clients) BURST=$2; shift ;;
	-r | --repeat) REPEAT=$2; shift ;;
	-p | --profile) PROFILE=$2; shift ;;
	-o | --results) RESULTS=$2; shift ;;
	-k | --keep) KEEP=1 ;;
	--no-shim) SHIM=0 ;;
	--table) TABLE_ONLY=$2; shift ;;
	perf | rate | burst | chain) TESTS+=("$1") ;;
	all) TESTS+=(perf rate burst chain) ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$TABLE_ONLY" ]; then
	print_table "$TABLE_ONLY"
	exit
fi
[ ${#TESTS[@]} -gt 0 ] || TESTS=(perf rate burst chain)
for v in "$PERF_SECS" "$PERF_CLIENTS" "$BURST" "$REPEAT" "$PERF_START"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "bad number '$v'"
done

# --- prerequisites ---------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for t in ip ss python3 timeout awk; do
	command -v $t >/dev/null || die "'$t' is not installed"
done
[ -x "$HERD" ] || die "$HERD not built (make build/herd)"
"$HERD" swarm --help 2>/dev/null | grep -q -- --dhcp-only || die "$HERD swarm has no --dhcp-only"

# A package's service must not run on the host: Debian starts Kea and
# dnsmasq after installing them where an init system runs.
stop_service() {
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		systemctl stop "$1" 2>/dev/null
		systemctl disable "$1" 2>/dev/null
	elif [ -x "/etc/init.d/$1" ]; then
		"/etc/init.d/$1" stop >/dev/null 2>&1
	fi
	return 0
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 ||
		die "cannot install $*"
}

# perfdhcp is in kea-admin on Debian 12; kea-dhcp4 in kea-dhcp4-server.
command -v perfdhcp >/dev/null || apt_install kea-admin
for s in ${SERVERS//,/ }; do
	case $s in
	herd) ;;
	kea | kea-mt)
		if ! command -v kea-dhcp4 >/dev/null; then
			apt_install kea-dhcp4-server
		fi
		stop_service kea-dhcp4-server ;;
	dnsmasq | dnsmasq-noping)
		# dnsmasq-base: the binary without a system service
		command -v dnsmasq >/dev/null || apt_install dnsmasq-base
		stop_service dnsmasq ;;
	*) die "unknown server '$s'" ;;
	esac
done
command -v perfdhcp >/dev/null || die "perfdhcp is not installed (package kea-admin)"

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$BENCH_DIR/results"
RESULTS=${RESULTS:-$BENCH_DIR/results/dhcp-$STAMP.jsonl}
RAW=${RESULTS%.jsonl}
mkdir -p "$RAW" || die "cannot create $RAW"
WORK=$(mktemp -d /tmp/herd-dhcp-rack.XXXXXX) || die "mktemp"

NS_S= NS_C= SRV_PID= RUN=0

# perfdhcp has no option for its receive buffer, and the kernel's default
# (rmem_default, 208 KB here, read-only inside a namespace) overflows when
# a server answers in bursts: the generator then loses replies the server
# sent. A 10-line LD_PRELOAD wrapper raises it to 8 MB at bind(), as herd
# swarm does for its DHCP socket; --no-shim leaves it out.
PRELOAD=
if [ "$SHIM" = 1 ]; then
	command -v cc >/dev/null || die "cc is needed for the perfdhcp receive-buffer shim (or --no-shim)"
	cat >"$WORK/rcvbuf.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	int size = 8 << 20, type = 0;
	socklen_t tl = sizeof(type);
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return real(fd, a, len);
}
EOF
	cc -O2 -shared -fPIC -o "$WORK/rcvbuf.so" "$WORK/rcvbuf.c" -ldl || die "cannot build the shim"
	PRELOAD=$WORK/rcvbuf.so
fi

# --- namespaces ------------------------------------------------------------

ns_kill_all() { # NS SIG: every process in namespace NS, by PID
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do kill "-$2" "$p" 2>/dev/null; done
}

net_down() {
	local ns
	for ns in $NS_S $NS_C; do ns_kill_all "$ns" TERM; done
	sleep 0.3
	for ns in $NS_S $NS_C; do
		ns_kill_all "$ns" KILL
		ip netns del "$ns" 2>/dev/null
	done
	NS_S= NS_C= SRV_PID=
}

cleanup() {
	net_down
	if [ "$KEEP" = 1 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

net_up() {
	RUN=$((RUN + 1))
	NS_S=dr-srv-$$-$RUN NS_C=dr-cli-$$-$RUN
	ip netns add "$NS_S" && ip netns add "$NS_C" || die "cannot create namespaces"
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" link set lo up
	ip link add s0 netns "$NS_S" type veth peer name c0 netns "$NS_C" || die "veth"
	ip -n "$NS_S" addr add "$SRV_IP/24" dev s0
	ip -n "$NS_C" addr add "$CLI_IP/24" dev c0
	ip -n "$NS_C" addr add "$RELAY_IP/13" dev c0
	ip -n "$NS_S" link set s0 up
	ip -n "$NS_C" link set c0 up
	ip -n "$NS_S" route add "$RELAY_NET" via "$CLI_IP"
}

# UDP receive-buffer overflows in a namespace (datagrams a socket never read).
udp_drops() {
	ip netns exec "$1" awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp
}

# CPU seconds of a process and its threads.
cpu_secs() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null ||
		echo 0
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# --- the servers -----------------------------------------------------------

write_herd_conf() {
	: >"$1/nodes.tab"
	cat >"$1/herd.conf" <<EOF
; written by bench/dhcp-rack.sh
[server]
user =
log_level = warning
[tftp]
enabled = no
[log]
enabled = no
[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $1/nodes.tab
lease_file = $1/leases
unknown = pool
default_group = default
lease_time = 3600
[subnet relay]
network = $RELAY_NET
pool = $POOL_FIRST - $POOL_LAST
router = $RELAY_IP
dns = $SRV_IP
[subnet link]
network = 10.78.0.0/24
[group default]
loader_bios = undionly.kpxe
loader_efi64 = ipxe.efi
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 ip=dhcp
EOF
}

# Kea's memfile: a CSV line per lease change, persist = true, no fsync.
# threads: 0 = single-threaded (Kea 2.2's default), else the pool size.
write_kea_conf() {
	local mt=false
	[ "$2" -gt 0 ] && mt=true
	cat >"$1/kea.json" <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "s0" ], "dhcp-socket-type": "udp" },
  "lease-database": { "type": "memfile", "persist": true, "name": "$1/kea-leases4.csv",
                      "lfc-interval": 0 },
  "multi-threading": { "enable-multi-threading": $mt, "thread-pool-size": $2,
                       "packet-queue-size": 64 },
  "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,
  "subnet4": [
    { "id": 1, "subnet": "$RELAY_NET",
      "pools": [ { "pool": "$POOL_FIRST - $POOL_LAST" } ],
      "next-server": "$SRV_IP", "boot-file-name": "undionly.kpxe",
      "option-data": [ { "name": "routers", "data": "$RELAY_IP" },
                       { "name": "domain-name-servers", "data": "$SRV_IP" } ] },
    { "id": 2, "subnet": "10.78.0.0/24" } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                 "output_options": [ { "output": "$1/kea.log" } ] } ]
} }
EOF
}

# Starts server $1 in the server namespace with its files in $2; sets SRV_PID.
start_server() {
	local s=$1 dir=$2 i
	mkdir -p "$dir"
	case $s in
	herd)
		write_herd_conf "$dir"
		ip netns exec "$NS_S" "$HERD" serve -c "$dir/herd.conf" 2>"$dir/server.log" &
		;;
	kea | kea-mt)
		write_kea_conf "$dir" "$([ "$s" = kea-mt ] && echo 2 || echo 0)"
		KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir \
			ip netns exec "$NS_S" kea-dhcp4 -c "$dir/kea.json" >"$dir/server.log" 2>&1 &
		;;
	dnsmasq | dnsmasq-noping)
		# DHCP only (--port=0: no DNS), every option on the command line;
		# --quiet-dhcp: no log line per packet (herd and Kea log warnings
		# only). dnsmasq-noping: without the ICMP check before an offer.
		ip netns exec "$NS_S" dnsmasq -k --conf-file=/dev/null --port=0 \
			--interface=s0 --dhcp-range="$POOL_FIRST,$POOL_LAST,$RELAY_MASK,1h" \
			--dhcp-leasefile="$dir/dnsmasq.leases" --dhcp-lease-max=1000000 \
			--dhcp-boot=undionly.kpxe,,"$SRV_IP" --quiet-dhcp --user=root --group=root \
			--pid-file="$dir/dnsmasq.pid" --log-facility="$dir/server.log" \
			$([ "$s" = dnsmasq-noping ] && echo --no-ping) 2>>"$dir/server.log" &
		;;
	esac
	SRV_PID=$!
	disown "$SRV_PID" # stopped by PID with its namespace; no "Killed" notice
	for i in $(seq 50); do
		ip netns exec "$NS_S" ss -H -lun 'sport = :67' | grep -q . && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "$s did not start:"
	tail -5 "$dir/server.log" >&2
	return 1
}

server_version() {
	case $1 in
	herd) "$HERD" --version 2>/dev/null | head -1 ;;
	kea*) kea-dhcp4 -v 2>/dev/null | head -1 ;;
	dnsmasq*) dnsmasq --version | head -1 | awk '{ print $3 }' ;;
	esac
}

# --- perfdhcp: the sustained rate ------------------------------------------

# perfdhcp_run SERVER RATE OUT: one step; prints "achieved sent lost" where
# lost counts DORAs that did not complete (DISCOVERs sent - ACKs received).
perfdhcp_run() {
	local rate=$2 out=$3
	timeout $((PERF_SECS + 30)) ip netns exec "$NS_C" env ${PRELOAD:+LD_PRELOAD=$PRELOAD} perfdhcp -4 -r "$rate" \
		-R "$PERF_CLIENTS" -p "$PERF_SECS" -l "$RELAY_IP" -L 67 "$SRV_IP" >"$out" 2>&1
	awk '
		/^Rate:/ { rate = $2 }
		/Statistics for: DISCOVER-OFFER/ { sec = "do" }
		/Statistics for: REQUEST-ACK/ { sec = "ra" }
		/^sent packets:/ { sent[sec] = $3 }
		/^received packets:/ { recv[sec] = $3 }
		END {
			if (sent["do"] == "") { print "0 0 0 null"; exit }
			printf "%.0f %d %d null\n", rate, sent["do"], sent["do"] - recv["ra"]
		}' "$out"
}

# swarm_rate_run RATE OUT: herd swarm starting RATE clients a second for
# SWARM_SECS seconds, each with a MAC of its own, DORA only; prints
# "achieved sent lost": lost counts DORAs that needed a re-send or never
# completed (with iPXE's timers, a reply later than 1 s is a re-send).
swarm_rate_run() {
	local rate=$1 out=$2 n=$(($1 * SWARM_SECS))
	timeout $((SWARM_SECS + 60)) ip netns exec "$NS_C" "$HERD" swarm --dhcp-server "$SRV_IP" \
		--bind "$RELAY_IP" --dhcp-only -n "$n" --spread "$SWARM_SECS" --profile ipxe \
		--max-time $((SWARM_SECS + 30)) --json --quiet >"$out" 2>&1
	tail -1 "$out" | python3 -c '
import json, sys
try:
    j = json.loads(sys.stdin.read())
except ValueError:
    print("0 0 0"); sys.exit()
d = j["dhcp"]
span = d["span_s"] or 0
p99 = d["stages"]["firmware"]["dora_p99_s"]
print("%.0f %d %d %s" % (d["exchanges"] / span if span else 0, j["clients"],
                         d["retransmits"] + j["failed"], "null" if p99 is None else "%.4f" % p99))'
}

# perf_step GEN SERVER RUN RATE: one generator run (perfdhcp or swarm)
# against a fresh server (an empty lease file); appends its JSON to STEPS,
# sets STEP_OK (under LOSS_MAX % lost, a second try if the first was over)
# and STEP_ACH (the rate achieved).
perf_step() {
	local gen=$1 s=$2 rep=$3 rate=$4 try dir res ach sent lost p99 pct cpu0 cpu1 drops0 drops1 cdrops0 cdrops1
	STEP_OK=0
	for try in 1 2; do
		net_up
		dir=$WORK/$s-$gen-$rep-$rate-$try
		start_server "$s" "$dir" || { net_down; die "$s did not start"; }
		cpu0=$(cpu_secs "$SRV_PID") drops0=$(udp_drops "$NS_S") cdrops0=$(udp_drops "$NS_C")
		if [ "$gen" = perf ]; then
			res=$(perfdhcp_run "$s" "$rate" "$dir/gen.out")
		else
			res=$(swarm_rate_run "$rate" "$dir/gen.out")
		fi
		cpu1=$(cpu_secs "$SRV_PID") drops1=$(udp_drops "$NS_S") cdrops1=$(udp_drops "$NS_C")
		net_down
		cp "$dir/gen.out" "$RAW/$gen-$s-$rep-$rate-$try.txt"
		read -r ach sent lost p99 <<<"$res"
		pct=$(awk -v l="$lost" -v s="$sent" 'BEGIN { printf "%.3f", s ? 100 * l / s : 100 }')
		cpu1=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')
		STEPS+="${STEPS:+,}{\"rate\":$rate,\"try\":$try,\"achieved\":$ach,\"sent\":$sent,\"lost\":$lost,\"lost_pct\":$pct,\"dora_p99_s\":${p99:-null},\"srv_cpu_s\":$cpu1,\"srv_sock_drops\":$((drops1 - drops0)),\"cli_sock_drops\":$((cdrops1 - cdrops0))}"
		log "  $s $rate/s (try $try): achieved $ach/s, lost $lost of $sent ($pct%), server cpu $cpu1 s, socket drops srv $((drops1 - drops0)) cli $((cdrops1 - cdrops0))"
		STEP_ACH=$ach
		if awk -v p="$pct" -v m="$LOSS_MAX" 'BEGIN { exit !(p < m) }'; then
			STEP_OK=1
			return
		fi
	done
}

# perf_test GEN SERVER RUN. The highest rate with under LOSS_MAX % of DORAs lost, by
# doubling from PERF_START until a rate fails, then halving the interval
# between the best pass and the first failure down to PERF_RESOLUTION
# percent. A pass that perfdhcp itself could not send (under 95% of the
# rate asked) ends the search: the generator, not the server, was the limit.
# Appends one JSON line.
perf_test() {
	local gen=$1 s=$2 rep=$3 lo=0 hi=0 best=0 rate=$PERF_START limited=false load secs=$PERF_SECS
	[ "$gen" = rate ] && secs=$SWARM_SECS
	STEPS=
	load=$(load1)
	log "$gen $s (run $rep), load $load"
	while [ "$rate" -ge 50 ]; do
		perf_step "$gen" "$s" "$rep" "$rate"
		if [ "$STEP_OK" = 1 ]; then
			lo=$rate
			# What was sustained is what was achieved: what perfdhcp
			# managed to send, or DORAs completed over swarm's span.
			best=$(awk -v a="$STEP_ACH" -v r="$rate" 'BEGIN { printf "%.0f", a < r ? a : r }')
			# swarm sends on its schedule; a slow server shows there as a
			# lower achieved rate, not a slow generator.
			if [ "$gen" = perf ] &&
				awk -v a="$STEP_ACH" -v r="$rate" 'BEGIN { exit !(a < 0.95 * r) }'; then
				limited=true
				break
			fi
		else
			hi=$rate
		fi
		if [ "$hi" = 0 ]; then
			rate=$((lo * 2))
		elif [ "$lo" = 0 ]; then
			rate=$((hi / 2))
		else
			[ $(((hi - lo) * 100)) -le $((lo * PERF_RESOLUTION)) ] && break
			rate=$(((lo + hi) / 2))
		fi
	done
	echo "{\"test\":\"$gen\",\"server\":\"$s\",\"version\":\"$(server_version "$s")\",\"run\":$rep,\"load1\":$load,\"seconds\":$secs,\"clients\":$PERF_CLIENTS,\"max_rate\":$best,\"max_rate_asked\":$lo,\"first_fail\":$hi,\"generator_limited\":$limited,\"steps\":[$STEPS]}" >>"$RESULTS"
	log "$gen $s (run $rep): $best DORA/s sustained$([ $limited = true ] && echo ', the generator could not send faster')"
}

# --- herd swarm: bursts ----------------------------------------------------

# burst_test SERVER RUN chain|burst: N clients all at once, DHCP only.
burst_test() {
	local s=$1 rep=$2 kind=$3 dir load cpu0 cpu1 drops0 drops1 cdrops0 cdrops1 extra=() swarm_json
	load=$(load1)
	[ "$kind" = chain ] && extra=(--chain)
	net_up
	dir=$WORK/$s-$kind-$rep
	start_server "$s" "$dir" || { net_down; die "$s did not start"; }
	cpu0=$(cpu_secs "$SRV_PID") drops0=$(udp_drops "$NS_S") cdrops0=$(udp_drops "$NS_C")
	timeout 300 ip netns exec "$NS_C" "$HERD" swarm --dhcp-server "$SRV_IP" --bind "$RELAY_IP" \
		--dhcp-only "${extra[@]}" -n "$BURST" --profile "$PROFILE" --max-time 200 --json \
		--quiet >"$dir/swarm.out" 2>&1
	cpu1=$(cpu_secs "$SRV_PID") drops1=$(udp_drops "$NS_S") cdrops1=$(udp_drops "$NS_C")
	net_down
	cp "$dir/swarm.out" "$RAW/swarm-$kind-$s-$rep.txt"
	swarm_json=$(tail -1 "$dir/swarm.out")
	[[ $swarm_json == "{"* ]] || swarm_json=null
	echo "{\"test\":\"$kind\",\"server\":\"$s\",\"version\":\"$(server_version "$s")\",\"run\":$rep,\"load1\":$load,\"clients\":$BURST,\"profile\":\"$PROFILE\",\"srv_cpu_s\":$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b-a}'),\"srv_sock_drops\":$((drops1 - drops0)),\"cli_sock_drops\":$((cdrops1 - cdrops0)),\"swarm\":$swarm_json}" >>"$RESULTS"
	python3 - "$swarm_json" "$s" "$kind" "$load" "$((drops1 - drops0))" <<'EOF' >&2
import json, sys
j = json.loads(sys.argv[1]) if sys.argv[1] != "null" else None
if j is None:
    print("dhcp-rack:   %s %s: swarm gave no result" % (sys.argv[2], sys.argv[3]))
else:
    d = j["dhcp"]
    print("dhcp-rack:   %s %s (load %s): %d/%d ok, %d DORAs in %.3f s, %d re-sent, %d timeouts, "
          "server socket drops %s" % (sys.argv[2], sys.argv[3], sys.argv[4], j["ok"], j["clients"],
          d["exchanges"], d["span_s"] or 0, d["retransmits"], d["timeouts"], sys.argv[5]))
EOF
}

# --- run -------------------------------------------------------------------

log "results: $RESULTS (raw output in $RAW/)"
log "machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
for rep in $(seq "$REPEAT"); do
	for t in "${TESTS[@]}"; do
		for s in ${SERVERS//,/ }; do
			case $t in
			perf | rate) perf_test "$t" "$s" "$rep" ;;
			burst | chain) burst_test "$s" "$rep" "$t" ;;
			esac
		done
	done
done

print_table "$RESULTS"
