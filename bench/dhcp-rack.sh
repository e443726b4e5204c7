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
# The PostgreSQL servers (kea-pg, kea-pg-mt, herd-pg, herd-pg2) keep their
# leases in one PostgreSQL 15 (tests/system/lib_pg.sh) in a third
# namespace, db (10.78.0.10), started once for the run and emptied before
# each measurement; srv, cli and db then hang off one bridge in a fourth
# namespace, sw: the database is another machine on the server's segment.
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
SRV2_IP=10.78.0.3 # herd-pg2's second server
DB_IP=10.78.0.10
DB_PORT=55432
# kea-pg-mt: Kea's thread pool and packet queue (see DHCP.md)
KEA_PG_THREADS=${KEA_PG_THREADS:-8}
KEA_PG_QUEUE=${KEA_PG_QUEUE:-11}
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
  -S, --servers LIST  herd,kea,kea-mt,dnsmasq,dnsmasq-noping (default herd,kea,dnsmasq);
                      on PostgreSQL: herd-pg,herd-pg2,kea-pg,kea-pg-mt
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
environment: HERD (binary, default build/herd); KEA_PG_THREADS, KEA_PG_QUEUE
             (kea-pg-mt's thread pool, default 8, and packet queue, default 11)
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
    for hs in ("herd", "herd-pg", "herd-pg2"):
        h = best.get(hs)
        if h:
            line("  %s / server" % hs, [("%.1fx" % (h / best[s])) if best[s] else "-" for s in servers])
    if any("db_cpu_s" in st for r in rows if r["test"] == test for st in r["steps"]):
        line("  database CPU s per 1000 DORAs", [fmt(med([1000 * st["db_cpu_s"] / max(1, st["sent"]) for r in runs(test, s)
                                                          for st in r["steps"] if st["rate"] == r["max_rate_asked"] and st["lost_pct"] < 0.1 and "db_cpu_s" in st]), "%.3f") for s in servers])
        line("  leases in the database at that rate", [fmt(med([st["db_leases"] for r in runs(test, s) for st in r["steps"]
                                                                if st["rate"] == r["max_rate_asked"] and st["lost_pct"] < 0.1 and st.get("db_leases") is not None])) for s in servers])
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
    if any(r.get("db_leases") is not None for r in rows if r["test"] == test):
        line("  leases in the database, each run", ["/".join("%s" % r.get("db_leases") for r in runs(test, s)) for s in servers])
    for hs in ("herd", "herd-pg", "herd-pg2"):
        h = spans.get(hs)
        if h:
            line("  server time / %s's" % hs, [("%.1fx" % (spans[s] / h)) if spans[s] else "-" for s in servers])
# Issue 13: durable DORA/s of herd on PostgreSQL over Kea on the same database.
herds = [s for s in ("herd-pg", "herd-pg2") if s in servers]
keas = [s for s in ("kea-pg", "kea-pg-mt") if s in servers]
if herds and keas:
    print("\nherd on PostgreSQL over Kea on PostgreSQL (issue 13's target: at least 5x):")
    for test, title in (("perf", "perfdhcp"), ("rate", "herd swarm")):
        best = {s: med([r["max_rate"] for r in runs(test, s)]) for s in herds + keas}
        for h in herds:
            for k in keas:
                if best[h] and best[k]:
                    x = best[h] / best[k]
                    lim = any(r["generator_limited"] for r in runs(test, h))
                    print("  %-10s %-9s / %-9s %7.0f / %5.0f DORA/s = %5.1fx  %s%s" % (
                        title, h, k, best[h], best[k], x, "meets it" if x >= 5 else "BELOW 5x",
                        " (at least: the generator was herd's limit)" if lim else ""))
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
USE_PG=0
case ",$SERVERS," in *,kea-pg,* | *,kea-pg-mt,* | *,herd-pg,* | *,herd-pg2,*) USE_PG=1 ;; esac
for t in ip ss python3 timeout awk; do
	command -v $t >/dev/null || die "'$t' is not installed"
done
[ -x "$HERD" ] || die "$HERD not built (make build/herd)"
"$HERD" swarm --help 2>/dev/null | grep -- --dhcp-only >/dev/null || die "$HERD swarm has no --dhcp-only"

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
	herd | herd-pg | herd-pg2) ;;
	kea | kea-mt | kea-pg | kea-pg-mt)
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
if [ "$USE_PG" = 1 ]; then
	. "$TOP/tests/system/lib_pg.sh"
	pg_available install || die "$PG_WHY"
	case ",$SERVERS," in *,herd-pg2,*) command -v nft >/dev/null || apt_install nftables ;; esac
fi
# herd-pg2 under herd swarm needs a swarm that sends to several servers
# (--dhcp-server A,B); an older one refuses the list when it parses it.
SWARM_MULTI=1
if [[ ",$SERVERS," == *,herd-pg2,* ]]; then
	ip netns add "dr-probe-$$" || die "cannot create namespaces"
	ip -n "dr-probe-$$" link set lo up
	if ip netns exec "dr-probe-$$" timeout 10 "$HERD" swarm --dhcp-server 127.0.0.1,127.0.0.2 \
		--dhcp-only -n 1 --max-time 1 --quiet 2>&1 | grep -q 'is not ADDRESS'; then
		SWARM_MULTI=0
		log "herd swarm takes one --dhcp-server: herd-pg2 is measured by perfdhcp only"
	fi
	ip netns del "dr-probe-$$"
fi

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$BENCH_DIR/results"
RESULTS=${RESULTS:-$BENCH_DIR/results/dhcp-$STAMP.jsonl}
RAW=${RESULTS%.jsonl}
mkdir -p "$RAW" || die "cannot create $RAW"
WORK=$(mktemp -d /tmp/herd-dhcp-rack.XXXXXX) || die "mktemp"
chmod 755 "$WORK" # PostgreSQL runs as user postgres in $WORK/pg

NS_S= NS_C= NS_S2= SRV_PID= SRV2_PID= RUN=0
NS_SW= NS_DB=

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
	for ns in $NS_S $NS_S2 $NS_C; do ns_kill_all "$ns" TERM; done
	sleep 0.3
	for ns in $NS_S $NS_S2 $NS_C; do
		ns_kill_all "$ns" KILL
		ip netns del "$ns" 2>/dev/null
	done
	NS_S= NS_S2= NS_C= SRV_PID= SRV2_PID=
}

# The database and the switch live for the whole run.
db_down() {
	local ns
	[ "$USE_PG" = 1 ] && pg_cleanup
	for ns in $NS_DB $NS_SW; do
		ns_kill_all "$ns" KILL
		ip netns del "$ns" 2>/dev/null
	done
	NS_DB= NS_SW=
}

cleanup() {
	net_down
	db_down
	if [ "$KEEP" = 1 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sw_port NS IF PORT: a veth from the switch's bridge (its port PORT) to
# interface IF of namespace NS.
sw_port() {
	ip link add "$3" netns "$NS_SW" type veth peer name "$2" netns "$1" || die "veth $3"
	ip -n "$NS_SW" link set "$3" master br0 up
	ip -n "$1" link set "$2" up
}

# The switch and the database, once per run: PostgreSQL with the roles and
# databases herd and kea (lib_pg.sh), Kea's schema by kea-admin.
db_up() {
	NS_SW=dr-sw-$$ NS_DB=dr-db-$$
	ip netns add "$NS_SW" && ip netns add "$NS_DB" || die "cannot create namespaces"
	ip -n "$NS_SW" link set lo up
	ip -n "$NS_SW" link add br0 type bridge || die "bridge"
	ip -n "$NS_SW" link set br0 up
	ip -n "$NS_DB" link set lo up
	sw_port "$NS_DB" d0 pdb
	ip -n "$NS_DB" addr add "$DB_IP/24" dev d0
	PG_TRUST_NET=10.78.0.0/24 pg_start "$NS_DB" "$WORK/pg" "$DB_IP" "$DB_PORT" ||
		die "PostgreSQL did not start"
	if [[ ",$SERVERS," == *,kea-pg* ]]; then
		ip netns exec "$NS_DB" kea-admin db-init pgsql -h "$DB_IP" -P "$DB_PORT" -u kea -p kea \
			-n kea >"$WORK/kea-admin.log" 2>&1 || {
			tail -5 "$WORK/kea-admin.log" >&2
			die "kea-admin db-init pgsql failed"
		}
	fi
	log "PostgreSQL $(pg_psql 'SHOW server_version' postgres) on $DB_IP:$DB_PORT (namespace $NS_DB, data in $WORK/pg)"
}

# db_empty SERVER: its lease tables emptied (Kea's) or dropped (herd's),
# then a checkpoint, so that no measurement pays for the rows or dirty
# pages of the one before.
db_empty() {
	case $1 in
	kea-pg*) pg_psql "TRUNCATE lease4, lease4_stat, lease4_stat_by_client_class" kea || return 1 ;;
	herd-pg*)
		# herd creates its tables at connect: drop whatever it made, so
		# that a herd that does not use the database shows (start_server).
		pg_psql "DO \$\$ DECLARE t text; BEGIN
			FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
				EXECUTE 'DROP TABLE ' || quote_ident(t) || ' CASCADE';
			END LOOP; END \$\$" herd || return 1 ;;
	esac
	pg_psql "CHECKPOINT" postgres
}

# Leases in the database after a measurement; null without one.
db_leases() {
	local n=
	case $1 in
	kea-pg*) n=$(pg_psql "SELECT count(*) FROM lease4" kea 2>/dev/null) ;;
	herd-pg*) n=$(pg_psql "SELECT count(*) FROM herd_lease" herd 2>/dev/null) ;;
	esac
	echo "${n:-null}"
}

# net_up SERVER GENERATOR: fresh namespaces for one measurement.
net_up() {
	RUN=$((RUN + 1))
	NS_S=dr-srv-$$-$RUN NS_C=dr-cli-$$-$RUN
	ip netns add "$NS_S" && ip netns add "$NS_C" || die "cannot create namespaces"
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" link set lo up
	if [ "$USE_PG" = 1 ]; then
		sw_port "$NS_S" s0 ps$RUN
		sw_port "$NS_C" c0 pc$RUN
	else
		ip link add s0 netns "$NS_S" type veth peer name c0 netns "$NS_C" || die "veth"
		ip -n "$NS_S" link set s0 up
		ip -n "$NS_C" link set c0 up
	fi
	ip -n "$NS_S" addr add "$SRV_IP/24" dev s0
	ip -n "$NS_C" addr add "$CLI_IP/24" dev c0
	ip -n "$NS_C" addr add "$RELAY_IP/13" dev c0
	ip -n "$NS_S" route add "$RELAY_NET" via "$CLI_IP"
	if [ "$1" = herd-pg2 ]; then
		NS_S2=dr-srv2-$$-$RUN
		ip netns add "$NS_S2" || die "cannot create namespaces"
		ip -n "$NS_S2" link set lo up
		sw_port "$NS_S2" s0 pt$RUN
		ip -n "$NS_S2" addr add "$SRV2_IP/24" dev s0
		ip -n "$NS_S2" route add "$RELAY_NET" via "$CLI_IP"
		[ "$2" = perf ] && relay_to_both
	fi
}

# herd-pg2 under perfdhcp. A relay agent configured with two servers
# (dhcrelay, a router's ip helper-address) forwards every request to both,
# and each herd answers the clients of its own hash buckets. perfdhcp
# knows one server, so the client namespace duplicates what it sends to
# 10.78.0.1:67 towards 10.78.0.3 (nftables dup) and the second server's
# namespace takes it as its own (DNAT). Its replies leave with 10.78.0.1
# as their source (conntrack), which perfdhcp does not look at: the server
# identifier inside is 10.78.0.3, and the REQUEST naming it reaches both
# servers the same way. herd swarm needs none of this: it sends to both.
relay_to_both() {
	ip netns exec "$NS_C" nft -f - <<EOF || die "nft (client namespace)"
table ip relay {
	chain out {
		type filter hook output priority 0;
		ip daddr $SRV_IP udp dport 67 dup to $SRV2_IP
	}
}
EOF
	ip netns exec "$NS_S2" nft -f - <<EOF || die "nft (second server namespace)"
table ip relay {
	chain pre {
		type nat hook prerouting priority -100;
		ip daddr $SRV_IP udp dport 67 dnat to $SRV2_IP
	}
}
EOF
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

# write_herd_conf DIR [pg [NAME]]: pg, herd keeps its leases in the run's
# PostgreSQL (the [cluster] database line, nothing else changed); NAME
# only for two servers on this one host (the name defaults to the host's).
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
	[ "${2:-}" = pg ] || return 0
	printf '[cluster]\ndatabase = host=%s port=%s dbname=herd user=herd\n' "$DB_IP" "$DB_PORT" \
		>>"$1/herd.conf"
	[ -z "${3:-}" ] || echo "name = $3" >>"$1/herd.conf"
}

# Kea's memfile: a CSV line per lease change, persist = true, no fsync.
# threads: 0 = single-threaded (Kea 2.2's default), else the pool size.
# write_kea_conf DIR THREADS [pg]: pg is Kea's PostgreSQL lease backend on
# the run's database (the schema kea-admin made), else memfile.
write_kea_conf() {
	local mt=false queue=64
	local leasedb="{ \"type\": \"memfile\", \"persist\": true, \"name\": \"$1/kea-leases4.csv\", \"lfc-interval\": 0 }"
	[ "$2" -gt 0 ] && mt=true
	if [ "${3:-}" = pg ]; then
		queue=$KEA_PG_QUEUE
		leasedb="{ \"type\": \"postgresql\", \"name\": \"kea\", \"host\": \"$DB_IP\", \"port\": $DB_PORT, \"user\": \"kea\", \"password\": \"kea\" }"
	fi
	cat >"$1/kea.json" <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "s0" ], "dhcp-socket-type": "udp" },
  "lease-database": $leasedb,
  "multi-threading": { "enable-multi-threading": $mt, "thread-pool-size": $2,
                       "packet-queue-size": $queue },
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

# Starts server $1 in the server namespace with its files in $2; sets SRV_PID
# (and SRV2_PID: herd-pg2's second server).
start_server() {
	local s=$1 dir=$2 i
	mkdir -p "$dir"
	if [ "$USE_PG" = 1 ]; then
		db_empty "$s" >/dev/null || die "cannot empty the lease tables"
	fi
	case $s in
	herd)
		write_herd_conf "$dir"
		ip netns exec "$NS_S" "$HERD" serve -c "$dir/herd.conf" 2>"$dir/server.log" &
		;;
	herd-pg)
		write_herd_conf "$dir" pg
		ip netns exec "$NS_S" "$HERD" serve -c "$dir/herd.conf" 2>"$dir/server.log" &
		;;
	herd-pg2)
		mkdir -p "$dir/b"
		write_herd_conf "$dir/b" pg b
		ip netns exec "$NS_S2" "$HERD" serve -c "$dir/b/herd.conf" 2>"$dir/b/server.log" &
		SRV2_PID=$!
		disown "$SRV2_PID"
		write_herd_conf "$dir" pg a
		ip netns exec "$NS_S" "$HERD" serve -c "$dir/herd.conf" 2>"$dir/server.log" &
		;;
	kea-pg | kea-pg-mt)
		write_kea_conf "$dir" "$([ "$s" = kea-pg-mt ] && echo "$KEA_PG_THREADS" || echo 0)" pg
		KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir \
			ip netns exec "$NS_S" kea-dhcp4 -c "$dir/kea.json" >"$dir/server.log" 2>&1 &
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
	for i in $(seq 100); do
		if ip netns exec "$NS_S" ss -H -lun 'sport = :67' | grep -q . &&
			{ [ -z "$NS_S2" ] || ip netns exec "$NS_S2" ss -H -lun 'sport = :67' | grep -q .; }; then
			[[ $s != herd-pg* ]] && return 0
			# A herd that accepts [cluster] but keeps its leases in its
			# journal would be measured as herd: it must have made its
			# table in the database. herd-pg2: both servers alive in
			# herd_server, then two of their 1 s ticks, so that each
			# answers its own half of the buckets when the load starts.
			if [ "$(pg_psql "SELECT to_regclass('herd_lease') IS NOT NULL" herd)" = t ]; then
				[ "$s" = herd-pg ] && return 0
				if [ "$(pg_psql "SELECT count(*) FROM herd_server WHERE seen > now() - interval '2 s'" herd)" = 2 ]; then
					sleep 2
					return 0
				fi
			fi
			[ "$i" -lt 100 ] || echo "herd made no table herd_lease in the database" >>"$dir/server.log"
		fi
		kill -0 "$SRV_PID" 2>/dev/null || break
		[ -z "$SRV2_PID" ] || kill -0 "$SRV2_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "$s did not start:"
	tail -5 "$dir/server.log" >&2
	[ -z "$SRV2_PID" ] || tail -5 "$dir/b/server.log" >&2
	return 1
}

# CPU seconds of the server under test (both of herd-pg2's).
srv_cpu() {
	local a
	a=$(cpu_secs "$SRV_PID")
	[ -z "$SRV2_PID" ] || a=$(awk -v a="$a" -v b="$(cpu_secs "$SRV2_PID")" 'BEGIN { printf "%.2f", a + b }')
	echo "$a"
}

# CPU seconds of every PostgreSQL process (the backends included).
db_cpu() {
	local p t=0
	[ -n "$NS_DB" ] || { echo 0; return; }
	for p in $(ip netns pids "$NS_DB"); do
		t=$(awk -v t="$t" -v c="$(cpu_secs "$p")" 'BEGIN { printf "%.2f", t + c }')
	done
	echo "$t"
}

# The server addresses herd swarm sends to, as a relay agent configured
# with every server would.
swarm_servers() {
	# herd-pg2: both servers, with helper S's `--dhcp-server A,B` of herd swarm.
	if [ -n "$NS_S2" ]; then echo "$SRV_IP,$SRV2_IP"; else echo "$SRV_IP"; fi
}

server_version() {
	case $1 in
	herd*) "$HERD" --version 2>/dev/null | head -1 ;;
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
	timeout $((SWARM_SECS + 60)) ip netns exec "$NS_C" "$HERD" swarm --dhcp-server "$(swarm_servers)" \
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
# and STEP_ACH (the rate achieved); STEP_OK=2: the server did not start.
perf_step() {
	local gen=$1 s=$2 rep=$3 rate=$4 try dir res ach sent lost p99 pct cpu0 cpu1 drops0 drops1 cdrops0 cdrops1 db0 db1 leases
	STEP_OK=0
	for try in 1 2; do
		net_up "$s" "$gen"
		dir=$WORK/$s-$gen-$rep-$rate-$try
		if ! start_server "$s" "$dir"; then
			server_failed "$s" "$dir"
			STEP_OK=2
			return
		fi
		cpu0=$(srv_cpu) db0=$(db_cpu) drops0=$(srv_drops) cdrops0=$(udp_drops "$NS_C")
		if [ "$gen" = perf ]; then
			res=$(perfdhcp_run "$s" "$rate" "$dir/gen.out")
		else
			res=$(swarm_rate_run "$rate" "$dir/gen.out")
		fi
		cpu1=$(srv_cpu) db1=$(db_cpu) drops1=$(srv_drops) cdrops1=$(udp_drops "$NS_C")
		net_down
		leases=$(db_leases "$s")
		cp "$dir/gen.out" "$RAW/$gen-$s-$rep-$rate-$try.txt"
		read -r ach sent lost p99 <<<"$res"
		pct=$(awk -v l="$lost" -v s="$sent" 'BEGIN { printf "%.3f", s ? 100 * l / s : 100 }')
		cpu1=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')
		db1=$(awk -v a="$db0" -v b="$db1" 'BEGIN { printf "%.2f", b - a }')
		STEPS+="${STEPS:+,}{\"rate\":$rate,\"try\":$try,\"achieved\":$ach,\"sent\":$sent,\"lost\":$lost,\"lost_pct\":$pct,\"dora_p99_s\":${p99:-null},\"srv_cpu_s\":$cpu1,\"srv_sock_drops\":$((drops1 - drops0)),\"cli_sock_drops\":$((cdrops1 - cdrops0))"
		[ "$USE_PG" = 1 ] && STEPS+=",\"db_cpu_s\":$db1,\"db_leases\":$leases"
		STEPS+="}"
		log "  $s $rate/s (try $try): achieved $ach/s, lost $lost of $sent ($pct%), server cpu $cpu1 s, socket drops srv $((drops1 - drops0)) cli $((cdrops1 - cdrops0))$([ "$USE_PG" = 1 ] && echo ", database cpu $db1 s, $leases leases in it")"
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
		[ "$STEP_OK" = 2 ] && return
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
	local s=$1 rep=$2 kind=$3 dir load cpu0 cpu1 drops0 drops1 cdrops0 cdrops1 extra=() swarm_json leases
	load=$(load1)
	[ "$kind" = chain ] && extra=(--chain)
	net_up "$s" swarm
	dir=$WORK/$s-$kind-$rep
	start_server "$s" "$dir" || { server_failed "$s" "$dir"; return; }
	cpu0=$(srv_cpu) drops0=$(srv_drops) cdrops0=$(udp_drops "$NS_C")
	timeout 300 ip netns exec "$NS_C" "$HERD" swarm --dhcp-server "$(swarm_servers)" --bind "$RELAY_IP" \
		--dhcp-only "${extra[@]}" -n "$BURST" --profile "$PROFILE" --max-time 200 --json \
		--quiet >"$dir/swarm.out" 2>&1
	cpu1=$(srv_cpu) drops1=$(srv_drops) cdrops1=$(udp_drops "$NS_C")
	net_down
	leases=$(db_leases "$s")
	cp "$dir/swarm.out" "$RAW/swarm-$kind-$s-$rep.txt"
	swarm_json=$(tail -1 "$dir/swarm.out")
	[[ $swarm_json == "{"* ]] || swarm_json=null
	echo "{\"test\":\"$kind\",\"server\":\"$s\",\"version\":\"$(server_version "$s")\",\"run\":$rep,\"load1\":$load,\"clients\":$BURST,\"profile\":\"$PROFILE\",\"srv_cpu_s\":$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b-a}'),\"srv_sock_drops\":$((drops1 - drops0)),\"cli_sock_drops\":$((cdrops1 - cdrops0)),\"db_leases\":$leases,\"swarm\":$swarm_json}" >>"$RESULTS"
	python3 - "$swarm_json" "$s" "$kind" "$load" "$((drops1 - drops0))" "$leases" <<'EOF' >&2
import json, sys
j = json.loads(sys.argv[1]) if sys.argv[1] != "null" else None
if j is None:
    print("dhcp-rack:   %s %s: swarm gave no result" % (sys.argv[2], sys.argv[3]))
else:
    d = j["dhcp"]
    print("dhcp-rack:   %s %s (load %s): %d/%d ok, %d DORAs in %.3f s, %d re-sent, %d timeouts, "
          "server socket drops %s%s" % (sys.argv[2], sys.argv[3], sys.argv[4], j["ok"], j["clients"],
          d["exchanges"], d["span_s"] or 0, d["retransmits"], d["timeouts"], sys.argv[5],
          "" if sys.argv[6] == "null" else ", %s leases in the database" % sys.argv[6]))
EOF
}

# --- run -------------------------------------------------------------------

# server_failed SERVER DIR: a server that does not start is left out of the
# rest of the run (herd-pg before herd has its PostgreSQL code); its logs
# are kept in the raw results.
FAILED=
server_failed() {
	net_down
	FAILED+=" $1"
	mkdir -p "$RAW/failed-$1"
	cp -r "$2/." "$RAW/failed-$1/" 2>/dev/null
	log "$1 did not start: left out of this run (its files: $RAW/failed-$1/)"
}

# UDP receive-buffer overflows of the server namespaces.
srv_drops() {
	local n
	n=$(udp_drops "$NS_S")
	[ -z "$NS_S2" ] || n=$((n + $(udp_drops "$NS_S2")))
	echo "$n"
}

log "results: $RESULTS (raw output in $RAW/)"
log "machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
[ "$USE_PG" = 1 ] && db_up
for rep in $(seq "$REPEAT"); do
	for t in "${TESTS[@]}"; do
		for s in ${SERVERS//,/ }; do
			[[ " $FAILED " == *" $s "* ]] && continue
			[ "$s" = herd-pg2 ] && [ "$t" != perf ] && [ "$SWARM_MULTI" = 0 ] && continue
			case $t in
			perf | rate) perf_test "$t" "$s" "$rep" ;;
			burst | chain) burst_test "$s" "$rep" "$t" ;;
			esac
		done
	done
done

[ -z "$FAILED" ] || log "did not start, left out:$FAILED"
[ -s "$RESULTS" ] && print_table "$RESULTS"
