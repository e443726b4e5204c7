#!/usr/bin/env bash
# tftp-rack.sh: herd (configured, and with its defaults) against dnsmasq,
# tftpd-hpa and atftpd in an emulated rack.
#
#   srv (server under test) --veth--> sw (forwarding "switch": egress towards
#   the clients shaped by tbf at RATE with a BUFFER-byte tail-drop queue;
#   optional random loss both ways with nftables) --veth--> cli (herd swarm)
#
# Every run (one server, one scenario variant) gets three fresh network
# namespaces named with this shell's PID; they, and every process in them,
# are removed when the run ends, and on exit whatever the cause. Nothing is
# configured in the root namespace and no packet leaves the three namespaces.
#
# Usage: bench/tftp-rack.sh [options] SCENARIO...     (see --help, README.md)

set -u
set -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)

# --- defaults (a "custom" scenario uses them as given) ---------------------
HERD=${HERD:-$TOP/build/herd}
SERVERS=herd,herd-default,dnsmasq,tftpd-hpa,atftpd
RATE=500mbit
BUFFER=128K
LOSS=0
CLIENTS=200
CLIENTS_ARG= # -n given: also the client count of A-E (a quick, smaller run)
SIZE=1M
PROFILE=ipxe
MIX=
SPREAD=0
ADDRS=250
MAX_TIME=
SWARM_SETS=()
HERD_EXTRA=()
RESULTS=
KEEP=${KEEP:-0}
ATFTPD_SAS=${ATFTPD_SAS:-1}
ATFTPD_MAXTHREAD=${ATFTPD_MAXTHREAD:-500}
TBF_BURST=${TBF_BURST:-3000}
ATFTPD_CACHE=${ATFTPD_CACHE:-/var/cache/herd-bench}
# Scenario E's firmwares: every profile that boots from a PXE ROM or loader
# (busybox is an initramfs, not a power-on client).
E_MIX=ipxe:30,edk2:25,strict:15,pxelinux:10,uboot:10,grub:10

usage() {
	cat <<EOF
usage: bench/tftp-rack.sh [options] SCENARIO...
  SCENARIO: A B C D E, all (= A B C D E), or custom (the options below as given)
    A  2000 clients x 80 KB, 500 Mbit/s, 128 KB buffer, all at once;
       one run per profile: strict, ipxe, edk2
    B  200 clients x 8 MB at 500 Mbit/s (ipxe)
    C  500 clients x 1 MB with 1% random loss each way, and the same
       without loss (ipxe); the p99 ratio loss/no-loss per server
    D  200 clients x 8 MB at 200 Mbit/s, 128 KB buffer (ipxe)
    E  4000 clients x 80 KB at 500 Mbit/s, all at once, six firmwares:
       $E_MIX
options (A-E set their own size, rate, buffer, loss, spread, profile and
client count; -n (to scale one down for a quick check), -S, --addrs,
--max-time, --set, --herd, -o and -k apply to all):
  -S, --servers LIST   herd,herd-default,dnsmasq,tftpd-hpa,atftpd (default:
                       all five; herd-default: herd with no tuning key)
  -r, --rate RATE      switch port rate: 500mbit, 1gbit, 200M (default 500mbit)
  -b, --buffer BYTES   switch port buffer: 128K, 1M, 65536 (default 128K)
  -l, --loss PCT       random loss in the switch, each way (e.g. 1, 0.5)
  -n, --clients N      clients (default 200)
  -s, --size SIZE      file size: 80K, 1M, 8M (default 1M)
  -p, --profile NAME   ipxe, edk2, pxelinux, uboot, grub, strict, busybox
  -m, --mix SPEC       e.g. ipxe:50,edk2:30,strict:20 (instead of --profile)
      --spread S       start the clients over S seconds (default 0: at once)
      --addrs K        client source addresses (default 250: a rack's nodes
                       each have one; herd limits requests per address)
      --max-time S     swarm's hard stop (default: from the ideal makespan)
      --set KEY=VALUE  passed to herd swarm --set (repeatable)
      --herd LINE      extra line for configured herd's [tftp] section, e.g.
                       'pacing_burst = 32K' (repeatable; not for herd-default)
  -o, --results FILE   JSON lines appended here (default bench/results/rack-DATE.jsonl)
                       and the run's comparison chart beside it, FILE.svg (rack-chart.py)
  -k, --keep           keep the work directory (configs, logs)
environment: HERD (binary, default build/herd), HERD_SERVE (the herd served,
  default HERD: another build, same swarm), ATFTPD (binary), ATFTPD_SAS=0
  (atftpd without --prevent-sas), TBF_BURST (bytes, default 3000)
EOF
}

die() {
	echo "tftp-rack: $*" >&2
	exit 1
}
log() { echo "tftp-rack: $*" >&2; }

# --- units -----------------------------------------------------------------

# 500mbit, 500M, 1gbit, 1G, 200000000 -> bits/s
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

# 128K, 1M, 65536, 128KB -> bytes (binary multiples)
size_bytes() {
	local v=${1^^} mult=1
	v=${v%B}
	case $v in
	*K) mult=1024 v=${v%K} ;;
	*M) mult=1048576 v=${v%M} ;;
	*G) mult=1073741824 v=${v%G} ;;
	esac
	[[ $v =~ ^[0-9]+$ ]] || die "bad size '$1'"
	echo $((v * mult))
}

# --- arguments -------------------------------------------------------------

SCENARIOS=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	-S | --servers) SERVERS=$2; shift ;;
	-r | --rate) RATE=$2; shift ;;
	-b | --buffer) BUFFER=$2; shift ;;
	-l | --loss) LOSS=$2; shift ;;
	-n | --clients) CLIENTS=$2 CLIENTS_ARG=$2; shift ;;
	-s | --size) SIZE=$2; shift ;;
	-p | --profile) PROFILE=$2 MIX=; shift ;;
	-m | --mix) MIX=$2; shift ;;
	--spread) SPREAD=$2; shift ;;
	--addrs) ADDRS=$2; shift ;;
	--max-time) MAX_TIME=$2; shift ;;
	--set) SWARM_SETS+=("$2"); shift ;;
	--herd) HERD_EXTRA+=("$2"); shift ;;
	-o | --results) RESULTS=$2; shift ;;
	-k | --keep) KEEP=1 ;;
	A | B | C | D | E | custom) SCENARIOS+=("$1") ;;
	all) SCENARIOS+=(A B C D E) ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ ${#SCENARIOS[@]} -gt 0 ] || { usage >&2; exit 2; }
[[ $LOSS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "bad loss '$LOSS'"
[[ $CLIENTS =~ ^[0-9]+$ ]] || die "bad client count '$CLIENTS'"
[[ $ADDRS =~ ^[0-9]+$ && $ADDRS -ge 1 && $ADDRS -le 250 ]] || die "--addrs: 1 to 250"

# --- prerequisites ---------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for t in ip tc nft python3 timeout; do
	command -v $t >/dev/null || die "'$t' is not installed"
done
[ -x "$HERD" ] || die "$HERD not built (make build/herd)"
"$HERD" swarm --help >/dev/null 2>&1 || die "$HERD has no 'swarm' command yet"

# Installing a peer must not leave its system service running on the host.
stop_service() {
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		systemctl stop "$1" 2>/dev/null
		systemctl disable "$1" 2>/dev/null
	elif [ -x "/etc/init.d/$1" ]; then
		"/etc/init.d/$1" stop >/dev/null 2>&1
	fi
	return 0
}

need_servers() {
	local s
	for s in ${SERVERS//,/ }; do
		case $s in
		herd | herd-default) ;;
		dnsmasq)
			if ! command -v dnsmasq >/dev/null; then
				# dnsmasq-base: the binary without a system service
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsmasq-base >&2 ||
					die "cannot install dnsmasq-base"
			fi ;;
		tftpd-hpa)
			if ! in.tftpd -V 2>&1 | grep -q tftp-hpa; then
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q tftpd-hpa >&2 ||
					die "cannot install tftpd-hpa"
				stop_service tftpd-hpa
			fi ;;
		atftpd)
			# Debian's atftpd and tftpd-hpa conflict (both ship
			# /usr/sbin/in.tftpd): installing one removes the other.
			# Unpack atftpd's package into a cache instead.
			if [ -z "${ATFTPD:-}" ]; then
				if command -v atftpd >/dev/null; then
					ATFTPD=$(command -v atftpd)
				else
					ATFTPD=$ATFTPD_CACHE/atftpd-root/usr/sbin/atftpd
					if [ ! -x "$ATFTPD" ]; then
						mkdir -p "$ATFTPD_CACHE" &&
							(cd "$ATFTPD_CACHE" && apt-get download atftpd >&2 &&
								dpkg-deb -x atftpd_*.deb atftpd-root) ||
							die "cannot fetch atftpd (apt-get download atftpd)"
					fi
				fi
			fi
			"$ATFTPD" -V >/dev/null 2>&1 || die "$ATFTPD does not run" ;;
		*) die "unknown server '$s'" ;;
		esac
	done
}

# --- the rack --------------------------------------------------------------

RUN_ID=$$
NS_SRV=hb-srv-$$
NS_SW=hb-sw-$$
NS_CLI=hb-cli-$$
SRV_IP=10.77.1.1
SW_SRV_IP=10.77.1.254
SW_CLI_IP=10.77.2.254
CLI_NET=10.77.2
WORK=

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Stops every process inside a namespace, by PID: TERM, then KILL.
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
	cg_remove
}

# The switch-counter sampler runs in the root namespace, a child of this
# shell: stopped by its PID after each run and on exit.
SAMPLER=
stop_sampler() {
	if [ -n "$SAMPLER" ]; then
		kill "$SAMPLER" 2>/dev/null
		wait "$SAMPLER" 2>/dev/null
	fi
	SAMPLER=
}

cleanup() {
	stop_sampler
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

# rack_up RATE_BPS BUFFER_BYTES LOSS_PCT
rack_up() {
	local bps=$1 buf=$2 loss=$3 i
	ip netns add "$NS_SRV" && ip netns add "$NS_SW" && ip netns add "$NS_CLI" ||
		die "cannot create network namespaces"
	# veth pairs made inside the namespaces: nothing appears in the root one
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
	nsx "$NS_CLI" ip link set c0 up
	nsx "$NS_CLI" ip route add default via $SW_CLI_IP
	# The switch port towards the clients: RATE, a tiny burst (so the rate
	# is the limit), BUFFER bytes of queue, tail drop.
	nsx "$NS_SW" tc qdisc add dev w1 root tbf rate "${bps}bit" burst "$TBF_BURST" limit "$buf" ||
		die "tc tbf failed"
	# One datagram to a closed port of the server: checks the forwarding
	# and resolves the neighbours before the storm (the server's ICMP
	# answer is the one packet of tbf's counters that is not TFTP).
	nsx "$NS_CLI" bash -c "echo probe >/dev/udp/$SRV_IP/9" 2>/dev/null
	for i in $(seq 20); do
		nsx "$NS_SRV" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
			else for (i = 1; i <= NF; i++) if (k[i] == "NoPorts") print $i }' \
			/proc/net/snmp | grep -qv '^0$' && break
		[ "$i" = 20 ] && die "the rack does not forward"
		sleep 0.05
	done
	# (after the probe, which the loss rules could drop)
	# Random loss both ways, counted per direction (per 10000 for 0.5%).
	nsx "$NS_SW" nft -f - <<EOF || die "nft failed"
table inet rack {
	chain loss {
		type filter hook forward priority 0; policy accept;
		iifname "w0" meta l4proto udp numgen random mod 10000 < $(awk -v p="$loss" 'BEGIN{printf "%d", p*100}') counter drop
		iifname "w1" meta l4proto udp numgen random mod 10000 < $(awk -v p="$loss" 'BEGIN{printf "%d", p*100}') counter drop
	}
}
EOF
}

# Counters of one run, as KEY=VALUE lines.
rack_counters() {
	local q
	q=$(nsx "$NS_SW" tc -s qdisc show dev w1)
	echo "$q" | awk '/Sent/ { for (i = 1; i <= NF; i++) {
		if ($i == "Sent") { b = $(i+1); p = $(i+3) }
		if ($i == "(dropped") { d = $(i+1); sub(",", "", d) }
		if ($i == "overlimits") o = $(i+1) } }
		END { print "sw_sent_bytes=" b; print "sw_sent_pkts=" p;
		      print "sw_dropped=" d; print "sw_overlimits=" o }'
	nsx "$NS_SW" nft list chain inet rack loss | awk '
		/iifname "w0"/ { for (i = 1; i <= NF; i++) if ($i == "packets") print "loss_down=" $(i+1) }
		/iifname "w1"/ { for (i = 1; i <= NF; i++) if ($i == "packets") print "loss_up=" $(i+1) }'
	# what the server put on its link (IP packets), and veth-level drops
	nsx "$NS_SRV" cat /sys/class/net/s0/statistics/tx_packets | sed 's/^/srv_tx_pkts=/'
	nsx "$NS_SRV" cat /sys/class/net/s0/statistics/tx_dropped | sed 's/^/srv_tx_dropped=/'
	nsx "$NS_SW" cat /sys/class/net/w1/statistics/tx_dropped | sed 's/^/sw_tx_dropped=/'
	# UDP receive-buffer overflows: RRQs/ACKs lost at the server's sockets,
	# DATA lost at the clients' sockets (per namespace counters)
	nsx "$NS_SRV" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
		else for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors") print "srv_rcvbuf_errors=" $i
		else if (k[i] == "SndbufErrors") print "srv_sndbuf_errors=" $i }' /proc/net/snmp
	nsx "$NS_CLI" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
		else for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors") print "cli_rcvbuf_errors=" $i }' /proc/net/snmp
}

# Host CPU (all cores) as "busy total" jiffies, to tell a CPU-bound run.
cpu_sample() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# CPU seconds of the server: a cgroup v2 of its own (the unified hierarchy)
# counts every thread and forked child, also those gone by the end
# (tftpd-hpa ignores SIGCHLD, so its children's time reaches no parent).
# Without a writable cgroup2 mount: the process and its reaped children.
CG_ROOT=
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	if [ -f "$d/cgroup.procs" ] && [ -f "$d/cpu.stat" ] && [ -w "$d" ]; then
		CG_ROOT=$d
		break
	fi
done
CG=

cg_enter() {
	[ -n "$CG_ROOT" ] || return 0
	CG=$CG_ROOT/herd-rack-$$
	mkdir -p "$CG" 2>/dev/null && echo "$1" >"$CG/cgroup.procs" 2>/dev/null || CG=
}

cg_cpu() {
	awk '$1 == "usage_usec" { print $2 / 1e6 }' "$CG/cpu.stat"
}

cg_remove() {
	[ -n "$CG" ] && [ -d "$CG" ] && rmdir "$CG" 2>/dev/null
	CG=
	return 0
}

proc_cpu() {
	local pid=$1
	[ -r "/proc/$pid/stat" ] || { echo 0; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz }' "/proc/$pid/stat"
}

# --- the servers -----------------------------------------------------------

# start_SERVER prints the PID of the server it started in $NS_SRV (ip netns
# exec execs the server: the PID is the server's, so its CPU time is read).
# herd_conf FILE [KEY=VALUE...]: herd's configuration, TFTP only; the keys
# after `listen` and `root` go into [tftp] as given.
herd_conf() {
	local conf=$1 kv
	shift
	{
		echo "[server]"
		echo "user ="
		echo "log_level = warning"
		echo "[tftp]"
		echo "listen = $SRV_IP:69"
		echo "root = $WORK/root"
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
		echo "[log]"
		echo "enabled = no"
		echo "[dhcp]"
		echo "enabled = no"
	} >"$conf"
}

# herd_serve NAME CONF: checks CONF, starts herd on it, prints its PID.
herd_serve() {
	local name=$1 conf=$2
	"$HERD_SERVER" check -c "$conf" >"$WORK/$name-check.txt" 2>&1 ||
		die "herd check failed: $(cat "$WORK/$name-check.txt")"
	ip netns exec "$NS_SRV" "$HERD_SERVER" serve -c "$conf" >"$WORK/server-$name.log" 2>&1 &
	echo $!
}

# herd configured: link_rate = the port's rate; --herd lines on top.
start_herd() {
	local l k kv=()
	local rate=$RATE_BPS
	[ $((rate % 1000000)) = 0 ] && rate=$((rate / 1000000))M
	local -A tftp=([link_rate]="$rate" [pacing_burst]=16K [client_timeout_ms]=1000
		[max_transfers]=20000 [transfer_sockets]=8)
	local keys=(link_rate pacing_burst client_timeout_ms max_transfers transfer_sockets)
	# --herd 'KEY = VALUE' replaces a default or adds a key
	for l in "${HERD_EXTRA[@]}"; do
		k=${l%%=*}
		k=${k//[[:space:]]/}
		[ -n "${tftp[$k]+set}" ] || keys+=("$k")
		l=${l#*=}
		l=${l#"${l%%[![:space:]]*}"}
		tftp[$k]=$l
	done
	for k in "${keys[@]}"; do kv+=("$k=${tftp[$k]}"); done
	herd_conf "$WORK/herd.conf" "${kv[@]}"
	herd_serve herd "$WORK/herd.conf"
}

# herd as a new user runs it: no [tftp] key but where and what to serve
# (link_rate stays `auto`, every other key at its default); --herd lines
# do not apply.
start_herd-default() {
	herd_conf "$WORK/herd-default.conf"
	herd_serve herd-default "$WORK/herd-default.conf"
}

start_dnsmasq() {
	(
		ulimit -n 20000
		exec ip netns exec "$NS_SRV" dnsmasq -k --conf-file=/dev/null --port=0 \
			--enable-tftp --tftp-root="$WORK/root" --tftp-max=10000 \
			--listen-address=$SRV_IP --bind-interfaces --quiet-tftp \
			--user=root --group=root --pid-file="$WORK/dnsmasq.pid" \
			--log-facility="$WORK/dnsmasq-facility.log"
	) >"$WORK/server-dnsmasq.log" 2>&1 &
	echo $!
}

start_tftpd-hpa() {
	ip netns exec "$NS_SRV" in.tftpd -L -s "$WORK/root" -a $SRV_IP:69 -B 1468 \
		>"$WORK/server-tftpd-hpa.log" 2>&1 &
	echo $!
}

start_atftpd() {
	local sas=
	[ "$ATFTPD_SAS" = 1 ] && sas=--prevent-sas
	# atftpd waits on its sockets with select(): a descriptor past
	# FD_SETSIZE (1024) aborts it ("bit out of range 0 - FD_SETSIZE on
	# fd_set"), seen here with 2000 clients and --maxthread 10000. Each
	# transfer holds two descriptors (socket, file), so 500 threads under
	# the usual 1024 limit is the most it survives; --maxthread 1000 with
	# 1024 descriptors aborts too (no descriptor left for glibc to load
	# libgcc_s at pthread_exit).
	(
		ulimit -n 1024
		exec ip netns exec "$NS_SRV" "$ATFTPD" --daemon --no-fork --port 69 \
			--bind-address $SRV_IP --maxthread "$ATFTPD_MAXTHREAD" $sas --no-multicast \
			--logfile /dev/null --user nobody --group nogroup "$WORK/root"
	) >"$WORK/server-atftpd.log" 2>&1 &
	echo $!
}

wait_listening() {
	local i
	for i in $(seq 50); do
		nsx "$NS_SRV" ss -Huln "sport = :69" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# --- one run ---------------------------------------------------------------

# run_one SCENARIO VARIANT SERVER: uses N SIZE_B RATE_BPS BUF_B LOSS
# PROFILE MIX MAXT, appends one JSON line to $RESULTS.
run_one() {
	local scen=$1 variant=$2 server=$3 pid srv_cpu rc t0 t1 binds i json
	local -a prof_args
	if [ -n "$MIX" ]; then prof_args=(--mix "$MIX"); else prof_args=(--profile "$PROFILE"); fi
	binds=$CLI_NET.1
	for ((i = 2; i <= ADDRS; i++)); do binds+=",$CLI_NET.$i"; done

	rack_up "$RATE_BPS" "$BUF_B" "$LOSS"
	pid=$("start_$server")
	cg_enter "$pid"
	if ! wait_listening; then
		log "$server did not start: $(tail -3 "$WORK/server-$server.log" 2>/dev/null)"
		rack_down
		return 1
	fi
	local swarm_cmd=("$HERD_BIN" swarm -s "$SRV_IP" -f "$FILE_NAME" --verify "$WORK/root/$FILE_NAME"
		-n "$N" "${prof_args[@]}" --spread "$SPREAD" --bind "$binds" --link-rate "$RATE_BPS"
		--max-time "$MAXT" --json --quiet)
	for i in "${SWARM_SETS[@]}"; do swarm_cmd+=(--set "$i"); done
	SWARM_CMD_SHOWN="herd swarm ${swarm_cmd[*]:2}"
	local busy0 tot0 busy1 tot1
	read -r busy0 tot0 < <(cpu_sample)
	# The switch port's counters every 0.5 s: the link's use over time.
	(
		exec 2>/dev/null
		while :; do
			printf '%s ' "$(date +%s.%N)"
			ip netns exec "$NS_SW" tc -s qdisc show dev w1 | awk '/Sent/ { d = $7; sub(",", "", d); print $2, d }
				/backlog/ { print "q", $2 }' | tr '\n' ' '
			echo
			sleep 0.5
		done
	) >"$WORK/sw-series-$scen-$variant-$server.txt" &
	SAMPLER=$!
	t0=$(date +%s.%N)
	(
		ulimit -n 20000
		exec timeout -k 5 $((MAXT + 30)) ip netns exec "$NS_CLI" \
			/usr/bin/time -f '%U %S' -o "$WORK/swarm-time.txt" "${swarm_cmd[@]}"
	) >"$WORK/swarm-$scen-$variant-$server.out" 2>"$WORK/swarm-$scen-$variant-$server.err" &
	# wait (unlike a foreground command) lets a signal's trap run at once
	wait $!
	rc=$?
	t1=$(date +%s.%N)
	stop_sampler
	read -r busy1 tot1 < <(cpu_sample)
	if [ -n "$CG" ]; then srv_cpu=$(cg_cpu); else srv_cpu=$(proc_cpu "$pid"); fi
	local counters
	counters=$(rack_counters)
	rack_down

	json=$(tail -n 1 "$WORK/swarm-$scen-$variant-$server.out")
	if [[ $json != \{* ]]; then
		log "$server: swarm gave no JSON (exit $rc): $(tail -3 "$WORK/swarm-$scen-$variant-$server.err")"
		json='{}'
	fi
	local swarm_cpu
	swarm_cpu=$(tail -n 1 "$WORK/swarm-time.txt" 2>/dev/null | awk '{ print $1 + $2 }')
	local meta
	meta=$(printf '%s\n' "run_id=$RUN_ID.$START_TS" "scenario=$scen" "variant=$variant" \
		"server=$server" "rate_bps=$RATE_BPS" "buffer_bytes=$BUF_B" "loss_pct=$LOSS" \
		"n=$N" "file_bytes=$SIZE_B" "profile_arg=${MIX:-$PROFILE}" "spread_s=$SPREAD" \
		"addrs=$ADDRS" "max_time_s=$MAXT" "swarm_exit=$rc" \
		"wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
		"server_cpu_s=${srv_cpu:-}" "swarm_cpu_s=${swarm_cpu:-}" \
		"host_cpu_busy=$(awk -v a="$((busy1 - busy0))" -v b="$((tot1 - tot0))" \
			'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
	META=$meta$'\n'$counters RUN_JSON=$json SERIES="$WORK/sw-series-$scen-$variant-$server.txt" \
		python3 - "$RESULTS" <<'PY'
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
for k in ("run_id", "scenario", "variant", "server", "profile_arg"):
    rec[k] = str(rec.get(k))
try:
    rec["swarm"] = json.loads(os.environ["RUN_JSON"] or "{}")
except ValueError:
    rec["swarm"] = {}
# The port's rate in each 0.5 s interval (Mbit/s, L2 bytes as tbf counts):
# stalls and bursts that a makespan hides.
series, prev = [], None
try:
    with open(os.environ["SERIES"]) as f:
        for line in f:
            w = line.split()
            if len(w) < 3:
                continue
            t, b = float(w[0]), int(w[1])
            if prev:
                series.append(round((b - prev[1]) * 8 / (t - prev[0]) / 1e6))
            prev = (t, b)
except (OSError, ValueError):
    pass
while series and series[-1] == 0:
    series.pop()
rec["sw_mbps_series"] = series
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(rec) + "\n")
PY
	log "$(printf '%-10s %-8s %-9s exit %d in %.1f s' "$scen" "$variant" "$server" "$rc" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
}

# --- scenarios -------------------------------------------------------------

# run_variant SCENARIO VARIANT: all servers under the current settings
run_variant() {
	local scen=$1 variant=$2 s
	RATE_BPS=$(rate_bps "$RATE")
	BUF_B=$(size_bytes "$BUFFER")
	SIZE_B=$(size_bytes "$SIZE")
	N=${CLIENTS_ARG:-$CLIENTS}
	FILE_NAME=boot-$SIZE_B.bin
	if [ ! -f "$WORK/root/$FILE_NAME" ]; then
		head -c "$SIZE_B" /dev/urandom >"$WORK/root/$FILE_NAME"
		chmod 644 "$WORK/root/$FILE_NAME"
	fi
	# Bounded time: a multiple of the ideal makespan, at least 60 s.
	if [ -n "$MAX_TIME_ARG" ]; then
		MAXT=$MAX_TIME_ARG
	else
		MAXT=$(awk -v n="$N" -v b="$SIZE_B" -v r="$RATE_BPS" -v m="${MIN_MAXT:-60}" \
			'BEGIN { t = 3 * n * b * 8 / r + 30; if (t < m) t = m; printf "%d", t }')
	fi
	log "scenario $scen/$variant: $N clients x $SIZE_B B, $RATE_BPS bit/s, buffer $BUF_B B," \
		"loss $LOSS%, ${MIX:-$PROFILE}, max-time $MAXT s"
	for s in ${SERVERS//,/ }; do
		run_one "$scen" "$variant" "$s"
	done
	python3 "$BENCH_DIR/rack-table.py" --run "$RUN_ID.$START_TS" --scenario "$scen" \
		--variant "$variant" --command "$SWARM_CMD_SHOWN" "$RESULTS"
}

scenario() {
	# every scenario starts from the command line's values
	CLIENTS=$U_CLIENTS SIZE=$U_SIZE RATE=$U_RATE BUFFER=$U_BUFFER LOSS=$U_LOSS
	SPREAD=$U_SPREAD PROFILE=$U_PROFILE MIX=$U_MIX
	case $1 in
	A)
		CLIENTS=2000 SIZE=80K RATE=500mbit BUFFER=128K LOSS=0 SPREAD=0 MIX=
		for PROFILE in strict ipxe edk2; do run_variant A "$PROFILE"; done ;;
	B)
		CLIENTS=200 SIZE=8M RATE=500mbit BUFFER=128K LOSS=0 SPREAD=0 MIX='' PROFILE=ipxe
		run_variant B ipxe ;;
	C)
		CLIENTS=500 SIZE=1M RATE=500mbit BUFFER=128K SPREAD=0 MIX='' PROFILE=ipxe
		LOSS=1 run_variant C loss1
		LOSS=0 run_variant C loss0
		python3 "$BENCH_DIR/rack-table.py" --run "$RUN_ID.$START_TS" --scenario C \
			--p99-ratio loss1:loss0 "$RESULTS" ;;
	D)
		CLIENTS=200 SIZE=8M RATE=200mbit BUFFER=128K LOSS=0 SPREAD=0 MIX='' PROFILE=ipxe
		run_variant D ipxe ;;
	E)
		# max-time: long enough for every firmware's own verdict
		# (pxelinux gives up after ~131 s, U-Boot after 2 x 55 s)
		CLIENTS=4000 SIZE=80K RATE=500mbit BUFFER=128K LOSS=0 SPREAD=0 MIX=$E_MIX
		MIN_MAXT=140 run_variant E mix ;;
	custom)
		run_variant custom "${MIX:-$PROFILE}" ;;
	esac
}

U_CLIENTS=$CLIENTS U_SIZE=$SIZE U_RATE=$RATE U_BUFFER=$BUFFER U_LOSS=$LOSS
U_SPREAD=$SPREAD U_PROFILE=$PROFILE U_MIX=$MIX
need_servers
START_TS=$(date +%Y%m%d-%H%M%S)
MAX_TIME_ARG=$MAX_TIME
[ -n "$RESULTS" ] || RESULTS=$BENCH_DIR/results/rack-$START_TS.jsonl
mkdir -p "$(dirname "$RESULTS")"
WORK=$(mktemp -d /tmp/herd-rack.XXXXXX)
chmod 755 "$WORK"
mkdir -m 755 "$WORK/root"
# A snapshot of the binary: a rebuild during the runs does not change it.
HERD_BIN=$WORK/herd
cp "$HERD" "$HERD_BIN"
# The herd under test may be another build than the one whose swarm is the
# load (HERD_SERVE=old/build/herd: before and after a change, same load).
HERD_SERVER=$WORK/herd-server
cp "${HERD_SERVE:-$HERD}" "$HERD_SERVER"
log "herd: $("$HERD_BIN" --version), results: $RESULTS"
for sc in "${SCENARIOS[@]}"; do
	scenario "$sc"
done
# The comparison chart of this run (bench/rack-chart.py: SVG, for a browser).
CHART=${RESULTS%.jsonl}.svg
python3 "$BENCH_DIR/rack-chart.py" --run "$RUN_ID.$START_TS" -o "$CHART" "$RESULTS" &&
	log "chart: $CHART"
log "results: $RESULTS"
