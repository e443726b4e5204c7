#!/bin/bash
# The ops HTTP listener ([status]; src/ops/ops_http.c) and /metrics.
#
# It must show: after a power-on chain of swarm clients (DHCP, TFTP, HTTP),
# /metrics on the loopback listener is Prometheus text 0.0.4 that
# `promtool check metrics` accepts, with the requests, bytes and the lease
# commit latency histogram the traffic made; an endpoint bound to its own
# address is served there and only there (the dashboard page with the
# API); the node API answers the node table; anything
# but GET/HEAD is 405, an unknown
# path 404 (never a file). herd runs confined under ASan/UBSan and stops
# cleanly.
. "$(dirname "$0")/lib.sh"

require_root
require_herd
require_tools ip ss python3 timeout curl promtool
SWARM=${SWARM:-$TOP/build/herd}
[ -x "$SWARM" ] || SWARM=$HERD
setup_work
net_setup

herd_dirs
ROOT=$TFTP_ROOT
mkfile "$ROOT/vmlinuz" 1000000
mkfile "$ROOT/initrd.img" 300000
mkfile "$ROOT/undionly.kpxe" 70000
chmod -R a+rX "$ROOT"
: >"$WORK/nodes.tab"

HERD_CONF=$WORK/herd.conf HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF2
; written by tests/system/test_metrics.sh
[server]
user = nobody
log_level = info

[tftp]
listen = $SRV_IP:69
root = $ROOT

[http]
enabled = yes
listen = $SRV_IP:80

[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
inventory = $WORK/nodes.tab
lease_file = $WORK/leases
unknown = pool
default_group = a
pin_neighbours = no

[status]
listen = 127.0.0.1:9180
metrics = yes
api = $SRV_IP:9181
dashboard = $SRV_IP:9181

[subnet link]
network = $NET.0/24
pool = $NET.100 - $NET.200

[group a]
loader_bios = undionly.kpxe
kernel = vmlinuz
initrd = initrd.img
cmdline = console=ttyS0
EOF2
herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
tcp_listening() { [ -n "$(ip netns exec "$NS_SRV" ss -Hntl "sport = :$1")" ]; }
wait_udp_listen "$NS_SRV" 69 && wait_for 10 tcp_listening 9180 && wait_for 10 tcp_listening 9181 ||
	die "herd did not start: $(tail -5 "$HERD_ERR")"

in_cli timeout 120 "$SWARM" swarm --chain --dhcp-server "$SRV_IP" --bind "$CLI_IP" -n 10 \
	--json --quiet --max-time 100 --link-rate 1G --timeline "$WORK/timeline.json" \
	--chart "$WORK/chart.svg" >"$WORK/chain.out" 2>&1
rc=$?
check "swarm --chain: 10 clients booted (exit $rc)" [ "$rc" = 0 ]

# The swarm's pictures: the timeline parses, each client's stages in order
# with its bytes; the chart is well-formed SVG with a curve and the wire line.
check "swarm --timeline: JSON, 10 clients, each dhcp..done through 3 boot stages" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["clients"] == 10 and j["ok"] == 10 and len(j["timeline"]) == 10, j
for c in j["timeline"]:
    ev = [(s["stage"], s["event"]) for s in c["stages"]]
    assert ev[0] == ("firmware", "dhcp") and ev[-1] == ("os", "done"), ev
    assert ("ipxe", "http") in ev and ("os", "acked") in ev, ev
    ts = [s["t"] for s in c["stages"]]
    assert ts == sorted(ts), ts
    assert c["outcome"] == "ok" and c["why"] is None and c["bytes"] >= 1300000, c
    assert c["mac"].startswith("02:48:"), c
' "$WORK/timeline.json"
check "swarm --chart: well-formed SVG with the completion curve and the wire limit" python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
paths = root.findall(ns + "path")
assert len(paths) == 1 and paths[0].get("d").count("V") == 10, paths
dashed = [l for l in root.iter(ns + "line") if l.get("stroke-dasharray")]
assert len(dashed) == 2, dashed  # the line and its legend
assert "10 of 10 done" in ET.tostring(root, encoding="unicode")
' "$WORK/chart.svg"

not() { ! "$@"; }

# get URL [CURL ARGS]: the status code; the body in $WORK/body, headers in $WORK/head.
get() {
	local url=$1
	shift
	in_srv curl -s -o "$WORK/body" -D "$WORK/head" -w '%{http_code}' "$@" "$url"
}
M=http://127.0.0.1:9180
A=http://$SRV_IP:9181

check "GET /metrics: 200" [ "$(get $M/metrics)" = 200 ]
cp "$WORK/body" "$WORK/metrics.txt"
check "... Content-Type text/plain; version=0.0.4" \
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$WORK/head"
if promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then
	pass "promtool check metrics: no problem"
else
	sed 's/^/  promtool: /' "$WORK/promtool.out" | head -20
	fail "promtool check metrics"
fi

# value NAME{LABELS}: the sample's value.
value() { awk -v n="$1" '$1 == n { print $2 }' "$WORK/metrics.txt"; }
acks=$(value 'herd_dhcp_replies_total{type="ack"}')
commits=$(value 'herd_dhcp_lease_commit_seconds_count')
inf=$(value 'herd_dhcp_lease_commit_seconds_bucket{le="+Inf"}')
check "DHCP: 30 ACKs (3 per client), each timed by the commit histogram ($acks, $commits, +Inf $inf)" \
	test "$acks" -ge 30 -a "$commits" = "$acks" -a "$inf" = "$commits"
rrq=$(value 'herd_requests_total{protocol="tftp",type="rrq"}')
check "TFTP: a request per client at least ($rrq)" test "${rrq:-0}" -ge 10
tb=$(value 'herd_sent_bytes_total{protocol="tftp"}')
check "TFTP: the loaders' bytes sent ($tb)" test "${tb:-0}" -ge 700000
hb=$(value 'herd_sent_bytes_total{protocol="http"}')
check "HTTP: kernel and initrd bytes sent ($hb)" test "${hb:-0}" -ge 13000000
check "gauges: active TFTP transfers (none now)" \
	grep -q '^herd_active_transfers{protocol="tftp"} 0$' "$WORK/metrics.txt"
check "... and HTTP ones" grep -q '^herd_active_transfers{protocol="http"} 0$' "$WORK/metrics.txt"
check "... the pacer's rate and backlog, drops per protocol" \
	test -n "$(value herd_pacer_rate_bytes_per_second)" -a -n "$(value herd_pacer_backlog_bytes)" \
	-a -n "$(value 'herd_rx_drops_total{protocol="dhcp"}')" \
	-a -n "$(value 'herd_rx_drops_total{protocol="tftp"}')"
check "one TYPE line per family" \
	test "$(grep -c '^# TYPE' "$WORK/metrics.txt")" = "$(grep '^# TYPE' "$WORK/metrics.txt" | sort -u | wc -l)"

check "HEAD /metrics: 200" [ "$(get $M/metrics -I)" = 200 ]
check "POST /metrics: 405" [ "$(get $M/metrics -X POST -d x=1)" = 405 ]
check "... with Allow: GET, HEAD" grep -qi '^Allow: GET, HEAD' "$WORK/head"
check "an unknown path: 404" [ "$(get $M/nothing)" = 404 ]
check "a path out of anything: 404" [ "$(get "$M/../../etc/passwd" --path-as-is)" = 404 ]
check "... and no file in the answer" not grep -q root: "$WORK/body"
check "the API is not on the metrics address (own address)" [ "$(get $M/api/v1/nodes)" = 404 ]
check "... nor /metrics on the API's" [ "$(get $A/metrics)" = 404 ]
code=$(get $A/api/v1/nodes)
check "GET /api/v1/nodes: 200, the node table ($code)" [ "$code" = 200 ]
check "... as JSON: counts per stage and nodes" python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
assert set(j["counts"]) == {"dhcp", "loader", "kernel", "initrd", "logging", "up", "failed"}
assert isinstance(j["nodes"], list)' "$WORK/body"
check "GET /api/v1/nodes/nobody: 404" [ "$(get $A/api/v1/nodes/nobody)" = 404 ]
check "GET /api/v1/nodes/a/b: 404" [ "$(get $A/api/v1/nodes/a/b)" = 404 ]
check "GET / beside the API: the dashboard page" [ "$(get $A/)" = 200 ]
check "... as HTML, built in, fetching api/v1/nodes relative to itself" \
	grep -q 'fetch("api/v1/nodes"' "$WORK/body"
check "... and not on the metrics address" [ "$(get $M/)" = 404 ]

herd_stop
finish
