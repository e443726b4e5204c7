#!/usr/bin/env bash
# herd's virtual lab: installs what herd needs, builds it, and serves a
# sample TFTP root and log directory to a "node" namespace, on addresses that
# exist only inside two network namespaces this script creates (and removes
# on exit). Run as root:  sudo scripts/lab.sh         (serves until Ctrl-C)
#                         sudo scripts/lab.sh --demo  (one download, one log line, exit)
set -euo pipefail
cd "$(dirname "$0")/.."

demo=0
[ "${1:-}" = "--demo" ] && demo=1
[ "$(id -u)" = 0 ] || { echo "lab.sh: run as root (network namespaces)" >&2; exit 1; }

scripts/deps.sh >/dev/null
make -s build/herd

lab=/var/tmp/herd-lab
srv=herd-lab-srv-$$
node=herd-lab-node-$$
herd_pid=
cleanup() {
	[ -n "$herd_pid" ] && kill "$herd_pid" 2>/dev/null && wait "$herd_pid" 2>/dev/null
	ip netns del "$srv" 2>/dev/null || true
	ip netns del "$node" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

mkdir -p "$lab/tftp" "$lab/logs"
echo "hello from herd's lab TFTP root" > "$lab/tftp/hello.txt"
head -c 1048576 /dev/urandom > "$lab/tftp/image.bin"
chmod -R a+rX "$lab/tftp"
cat > "$lab/herd.conf" <<CONF
[server]
user = nobody
[tftp]
listen = 10.77.0.1:69
root = $lab/tftp
[log]
syslog = 10.77.0.1:514
netconsole = 10.77.0.1:6666
dir = $lab/logs
CONF
chown nobody "$lab/logs"

ip netns add "$srv"
ip netns add "$node"
# The veth pair is created directly inside the two namespaces: the host's
# own namespace never sees it.
ip link add herd-lab-s netns "$srv" type veth peer name herd-lab-n netns "$node"
ip -n "$srv" addr add 10.77.0.1/24 dev herd-lab-s
ip -n "$node" addr add 10.77.0.2/24 dev herd-lab-n
for ns in "$srv" "$node"; do ip -n "$ns" link set lo up; done
ip -n "$srv" link set herd-lab-s up
ip -n "$node" link set herd-lab-n up

build/herd check -c "$lab/herd.conf" -q
ip netns exec "$srv" build/herd serve -c "$lab/herd.conf" &
herd_pid=$!
sleep 1

echo "== the node downloads image.bin by TFTP and logs a line by syslog"
(cd "$lab" && ip netns exec "$node" tftp -m binary 10.77.0.1 -c get image.bin node-copy.bin)
cmp "$lab/tftp/image.bin" "$lab/node-copy.bin" && echo "image.bin: identical (1 MiB)"
ip netns exec "$node" logger --rfc5424 -n 10.77.0.1 -P 514 -d -t lab "hello from the lab node"
sleep 0.5
echo "== $lab/logs:"
ls "$lab/logs"
cat "$lab/logs"/*
if [ "$demo" = 1 ]; then
	exit 0
fi
echo "== herd serves on 10.77.0.1 inside namespace $srv; try:"
echo "   sudo ip netns exec $node tftp 10.77.0.1 -c get hello.txt /dev/stdout"
echo "   Ctrl-C stops herd and removes the namespaces."
wait "$herd_pid"
