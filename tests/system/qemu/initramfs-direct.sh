#!/bin/bash
# Proof of herd's node initramfs (src/image/initramfs.c, node_init.sh) under
# QEMU with direct kernel boot: herd as DHCP server and log receiver,
# nfs-ganesha exporting a Debian image root read-only, all in one namespace.
# By hand, as root; not in the suite (make build/herd-san build/tools/mkinitramfs).
#
#   ok-virtio   virtio-net: driver, DHCP, the ring buffer to herd, netconsole,
#               NFS root + tmpfs overlay, switch_root to a test init on the
#               NFS root that modprobes dummy (not in the initramfs) and sends
#               a marker with Debian's logger
#   ok-e1000    the same with QEMU's e1000 (a plain PCI alias)
#   ok-klogd    virtio-net with herd.netconsole=0: the live stream through
#               klogd -> syslogd instead
#   fail-root   nfsroot on 10.99.7.250 (nobody): FAILED step=root on herd
#   fail-dhcp   a MAC herd does not know: FAILED step=dhcp on the console
#
# Checks per guest, on herd's LOG_DIR/<node>.log: the file starts with
# "Linux version"; the driver, dhcp and root lines come in that order, then
# the marker (or, for fail-root, the FAILED line, in bounded time).
#
# Environment: IMAGE_ROOT (/var/cache/herd-spike/root; copied once to
# IA_CACHE, /var/tmp/herd-ia/root, where the test init is added), KVER (the
# image's only lib/modules/*), GUESTS ("ok-virtio ok-e1000 ok-klogd fail-root fail-dhcp"),
# HERD (build/herd-san), BOOT_TIMEOUT (150), KEEP=1 (keep the work dir).

QEMU_DIR=$(cd "$(dirname "$0")" && pwd)
. "$QEMU_DIR/lib.sh"
. "$QEMU_DIR/../lib_nfs.sh"
NS_SRV=herd-ia-$$

HERD=${HERD:-$TOP/build/herd-san}
MKI=${MKI:-$TOP/build/tools/mkinitramfs}
IMAGE_ROOT=${IMAGE_ROOT:-/var/cache/herd-spike/root}
IA_CACHE=${IA_CACHE:-/var/tmp/herd-ia}
GUESTS=${GUESTS:-ok-virtio ok-e1000 ok-klogd fail-root fail-dhcp}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
N_PASS=0 N_FAIL=0
pass() { N_PASS=$((N_PASS + 1)); echo "ok: $*"; }
fail() { N_FAIL=$((N_FAIL + 1)); echo "FAIL: $*"; }
die() {
	fail "$*"
	echo "initramfs-direct: $N_PASS passed, $N_FAIL failed"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root"
for t in qemu-system-x86_64 ganesha.nfsd ss timeout; do
	command -v $t >/dev/null || skip "$t is not installed"
done
[ -x "$HERD" ] || skip "$HERD is not built"
[ -x "$MKI" ] || skip "$MKI is not built (make build/tools/mkinitramfs)"
[ -d "$IMAGE_ROOT/lib/modules" ] || skip "no image root at $IMAGE_ROOT"
KVER=${KVER:-$(find "$IMAGE_ROOT/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -1)}
KERNEL=$IMAGE_ROOT/boot/vmlinuz-$KVER
[ -f "$KERNEL" ] || skip "no $KERNEL"

setup_work
SRV_IP=$QEMU_NET.1

# --- the image: a private copy of the root with the test init -----------------

ROOT=$IA_CACHE/root
if [ ! -d "$ROOT/lib/modules/$KVER" ]; then
	echo "copying $IMAGE_ROOT to $ROOT (once)"
	mkdir -p "$IA_CACHE"
	chmod 755 "$IA_CACHE"
	cp -a "$IMAGE_ROOT" "$ROOT.tmp" || die "cannot copy the image"
	mv "$ROOT.tmp" "$ROOT"
fi
mkdir -p "$ROOT/herd-test"
cat >"$ROOT/herd-test/init" <<EOF
#!/bin/sh
# The test's init on the NFS root: a module not in the initramfs, a marker
# through Debian's logger, then off (no systemd needed).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
if out=\$(modprobe dummy 2>&1) && grep -q '^dummy ' /proc/modules; then md=ok; else md="failed(\$out)"; fi
rootfs=\$(awk '\$2 == "/" { r = \$1 " " \$3 " " \$4 } END { print r }' /proc/mounts)
nfs=\$(awk '\$3 == "nfs4" { print \$1 " " \$4 }' /proc/mounts | head -1)
w=ro; touch /herd-test-write 2>/dev/null && w=rw-overlay
. /run/herd/dhcp.env
logger -n "\$loghost" -P 514 -d -t herd-test "HERD-NFS-MARKER uname=\$(uname -r) modprobe_dummy=\$md root=[\$rootfs] nfs=[\$nfs] write=\$w hostname=\$(hostname)"
sleep 1
echo o >/proc/sysrq-trigger
sleep 10
EOF
chmod 755 "$ROOT/herd-test/init"

IMG=$WORK/initramfs.img
t0=$(date +%s.%N)
"$MKI" build "$ROOT" "$KVER" "$IMG" || die "mkinitramfs failed"
echo "initramfs: $(stat -c %s "$IMG") bytes in $(echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}') s, kernel $("$MKI" kver "$IMG")"

# --- network, ganesha, herd ---------------------------------------------------

qemu_net_up 5 || die "cannot set up the network"
nfs_ganesha_conf "$WORK/ganesha.conf" "$SRV_IP" "$ROOT" "$WORK/ganesha-state"
nfs_ganesha_start "$NS_SRV" "$WORK/ganesha.conf" || die "ganesha did not start"
pass "ganesha listens on $SRV_IP:2049 (exporting $ROOT read-only)"

LOG_DIR=$WORK/logs
mkdir -p "$WORK/tftp" "$LOG_DIR" "$WORK/state"
chown nobody "$LOG_DIR" "$WORK/state"
declare -A MAC IP TAP NIC APPEND
i=0
ALL="ok-virtio ok-e1000 ok-klogd fail-root fail-dhcp"
for g in $ALL; do
	i=$((i + 1))
	MAC[$g]=$(qemu_mac "$i")
	IP[$g]=$QEMU_NET.$((10 + i))
	TAP[$g]=tap$i
done
NIC[ok-virtio]=virtio-net-pci NIC[ok-e1000]=e1000 NIC[ok-klogd]=virtio-net-pci
NIC[fail-root]=virtio-net-pci NIC[fail-dhcp]=virtio-net-pci
base="console=ttyS0 panic=-1 ip=dhcp root=/dev/nfs herd.fail=poweroff herd.image=spike/1"
APPEND[ok-virtio]="$base nfsroot=$SRV_IP:$ROOT,ro init=/herd-test/init herd.node=node-ok-virtio"
APPEND[ok-e1000]="$base nfsroot=$SRV_IP:$ROOT,ro init=/herd-test/init herd.node=node-ok-e1000"
APPEND[ok-klogd]="$base nfsroot=$SRV_IP:$ROOT,ro init=/herd-test/init herd.node=node-ok-klogd herd.netconsole=0"
APPEND[fail-root]="$base nfsroot=$QEMU_NET.250:$ROOT init=/herd-test/init herd.node=node-fail-root"
APPEND[fail-dhcp]="$base nfsroot=$SRV_IP:$ROOT init=/herd-test/init herd.node=node-fail-dhcp"
MAC[fail-dhcp]=52:54:00:99:17:05 # not in the inventory: herd ignores it
for g in $ALL; do
	[ "$g" = fail-dhcp ] || echo "node-$g  ${MAC[$g]}  ${IP[$g]}  default"
done >"$WORK/nodes.tab"
cat >"$WORK/herd.conf" <<EOF
; written by tests/system/qemu/initramfs-direct.sh
[server]
user = nobody
log_level = debug

[tftp]
listen = $SRV_IP:69
root = $WORK/tftp

[log]
syslog = $SRV_IP:514
netconsole = $SRV_IP:6666
dir = $LOG_DIR

[dhcp]
enabled = yes
listen = 0.0.0.0:67
interfaces = br0
inventory = $WORK/nodes.tab
lease_file = $WORK/state/leases
unknown = ignore
default_group = default

[subnet qemu]
network = $QEMU_NET.0/24
pool = $QEMU_NET.100 - $QEMU_NET.119

[group default]
kernel = vmlinuz
cmdline = console=ttyS0
EOF
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:halt_on_error=1}
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>"$WORK/herd.stderr"
HERD_PID=$BG_PID
for _ in $(seq 50); do
	[ -n "$(ip netns exec "$NS_SRV" ss -Hnul 'sport = :514')" ] && break
	sleep 0.1
done
[ -n "$(ip netns exec "$NS_SRV" ss -Hnul 'sport = :67')" ] || {
	tail "$WORK/herd.stderr"
	die "herd did not start"
}

# --- the guests -------------------------------------------------------------------

declare -A PID
start_guest() {
	local g=$1
	_qemu_start "$BOOT_TIMEOUT" "$WORK/serial-$g.log" "${TAP[$g]}" -machine pc \
		-kernel "$KERNEL" -initrd "$IMG" -append "${APPEND[$g]}" \
		-device "${NIC[$g]},netdev=n0,mac=${MAC[$g]},romfile="
	PID[$g]=$QEMU_PID
}

# in_order FILE REGEX...: each REGEX matches a line after the previous one's.
in_order() {
	local file=$1 from=0 n
	shift
	for re in "$@"; do
		n=$(tail -n +$((from + 1)) "$file" | grep -naE -- "$re" | head -1 | cut -d: -f1)
		[ -n "$n" ] || { echo "  (no '$re' after line $from)"; return 1; }
		from=$((from + n))
	done
}

check_guest() {
	local g=$1 log=$LOG_DIR/node-$1.log rc
	qemu_wait "${PID[$g]}"
	rc=$?
	echo "--- $g: QEMU done after $QEMU_ELAPSED s (status $rc)"
	sleep 0.5
	if [ "$g" = fail-dhcp ]; then
		if tr -d '\r' <"$WORK/serial-$g.log" | grep -q 'herd-init: FAILED step=dhcp: no DHCP lease'; then
			pass "$g: $(tr -d '\r' <"$WORK/serial-$g.log" | grep -o 'herd-init: FAILED step=dhcp.*' | head -1 | cut -c1-120)"
		else
			fail "$g: no FAILED step=dhcp on the console"
			tail -20 "$WORK/serial-$g.log" | tr -d '\r'
		fi
		check "$g: nothing on herd" [ ! -e "$log" ]
		return
	fi
	if [ ! -s "$log" ]; then
		fail "$g: no log file node-$g.log on herd"
		tail -30 "$WORK/serial-$g.log" | tr -d '\r'
		return
	fi
	if head -1 "$log" | grep -q 'Linux version'; then
		pass "$g: herd's log starts: $(head -1 "$log" | cut -c1-110)"
	else
		fail "$g: herd's log does not start with Linux version: $(head -1 "$log")"
	fi
	grep -aE 'herd-init:|HERD-NFS-MARKER' "$log" | sed 's/^/    /' | cut -c1-260
	case $g in
	ok-*)
		if in_order "$log" 'herd-init: driver:' 'herd-init: dhcp:' 'herd-init: log:' \
			'herd-init: root: mounted' 'HERD-NFS-MARKER'; then
			pass "$g: driver, dhcp, log, root, marker in order"
			live=$(grep -aoE 'live: [a-z]+' "$log" | head -1)
			case $g:$live in
			ok-klogd:"live: klogd" | ok-virtio:"live: netconsole" | ok-e1000:"live: netconsole")
				pass "$g: $live" ;;
			*) fail "$g: unexpected live stream: $live" ;;
			esac
			n=$(grep -caE 'Linux version' "$log")
			check_n "$g: the ring buffer reached herd once" "$n" 1
		else
			fail "$g: the lines are not all there in order"
			tail -30 "$WORK/serial-$g.log" | tr -d '\r'
		fi
		check_marker "$g" "$log"
		timeline "$log"
		;;
	fail-*)
		if grep -q 'herd-init: FAILED step=root' "$log"; then
			pass "$g: FAILED step=root on herd (QEMU off after $QEMU_ELAPSED s)"
			timeline "$log"
		else
			fail "$g: no FAILED step=root on herd"
			tail -30 "$WORK/serial-$g.log" | tr -d '\r'
		fi
		;;
	esac
}

# timeline LOG: per step (and the marker), the guest's kernel time when
# the line has one, and herd's receive time relative to the first line.
timeline() {
	grep -aE 'Linux version|herd-init: ([a-z]+|FAILED step=[a-z]+):|HERD-NFS-MARKER' "$1" |
		awk '{ split($1, t, "T"); split(t[2], h, ":"); s = h[1] * 3600 + h[2] * 60 + h[3]
			if (!t0) t0 = s
			if ($0 ~ /Linux version/) m = "first line"
			else if ($0 ~ /HERD-NFS-MARKER/) m = "marker"
			else { m = $0; sub(/.*herd-init: /, "", m); sub(/:.*/, "", m) }
			k = "-"; if (match($0, /\[ *[0-9]+\.[0-9]+\]/)) k = substr($0, RSTART + 1, RLENGTH - 2)
			if (!seen[m]++) printf "    %-16s kernel %10s s   herd +%.2f s\n", m, k, s - t0 }'
}

check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

check_n() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 ($2 times)"; fi
}

check_marker() {
	local m
	m=$(grep -a HERD-NFS-MARKER "$2" | tail -1)
	case $m in
	*"uname=$KVER modprobe_dummy=ok"*) pass "$1: uname -r is $KVER and modprobe dummy worked from the NFS root" ;;
	*) fail "$1: marker: ${m:-none}" ;;
	esac
	case $m in
	*"root=[overlay overlay"*"nfs=[$SRV_IP:$ROOT ro,"*"write=rw-overlay"*)
		pass "$1: / is the overlay on the read-only NFS export, writable (tmpfs)" ;;
	*) fail "$1: root not an overlay: $m" ;;
	esac
}

# shellcheck disable=SC2086 # a list
set -- $GUESTS
while [ $# -gt 0 ]; do
	# two guests at once at most (the machine is shared)
	start_guest "$1"
	[ $# -gt 1 ] && start_guest "$2"
	check_guest "$1"
	[ $# -gt 1 ] && check_guest "$2"
	shift
	[ $# -gt 0 ] && shift
done

kill -TERM "$HERD_PID"
wait "$HERD_PID"
rc=$?
bg_forget "$HERD_PID"
if grep -qE 'Sanitizer|runtime error' "$WORK/herd.stderr"; then
	fail "herd: sanitizer report"
	grep -A20 -E 'Sanitizer|runtime error' "$WORK/herd.stderr" | head -40
else
	pass "herd exited ($rc), no sanitizer report"
fi
nfs_ganesha_stop || fail "ganesha did not stop on SIGTERM"
echo "initramfs-direct: $N_PASS passed, $N_FAIL failed"
[ "$N_FAIL" -eq 0 ]
