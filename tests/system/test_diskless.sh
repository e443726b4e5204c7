#!/bin/bash
# The seed's diskless node, end to end (issue 11, docs/IMAGES.md): two
# images built by `herd image build` from Debian's packages (mmdebstrap),
# each a kernel, the modules of exactly that kernel, herd's initramfs made
# from them and a root tree; nfs-ganesha exports the roots read-only from
# the server's namespace (the list written by `herd image exports`); QEMU
# nodes network-boot through herd and mount their image's root over NFS:
#
#   bios    SeaBIOS + iPXE -> herd's script -> image deb12 (linux-image-amd64)
#   uefi    OVMF -> ipxe.efi -> herd's script -> image deb12
#   cloud   SeaBIOS + iPXE -> image deb12-cloud (linux-image-cloud-amd64)
#   nonfs   SeaBIOS + iPXE -> image deb12, its group's NFS server is an
#           address nobody has: the initramfs reports the failed step
#
# Checks per node, in herd's per-node log file: it begins with the
# kernel's "Linux version" line; the initramfs's driver, dhcp and root
# steps come in that order, then the userland's marker (sent from the NFS
# root with Debian's logger) with `uname -r` equal to the image's kernel,
# `modprobe dummy` (a module not in the initramfs) done from the NFS root,
# and / an overlay. And `herd check` rejects an image whose kernel has no
# modules tree, with one line.
#
# Images are cached in $HERD_TEST_IMAGES (/var/cache/herd-test/images) and
# rebuilt when `herd image check` finds a problem or the customize script
# changed (from nothing: ~3 min, ~250 MB of packages).
#
#   tests/system/test_diskless.sh          (as root)
#   GUESTS="bios" KEEP=1 tests/system/test_diskless.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qemu/lib.sh"
. "$(dirname "$0")/lib_nfs.sh"

require_root
require_tools ip ss python3 timeout
require_herd
qemu_require
command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (scripts/deps.sh)"
command -v ganesha.nfsd >/dev/null || skip "nfs-ganesha is not installed (scripts/deps.sh)"

GUESTS=${GUESTS:-bios uefi cloud nonfs}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
STORE=${HERD_TEST_IMAGES:-/var/cache/herd-test/images}
HERE=$(cd "$(dirname "$0")" && pwd)

setup_work

# --- the images -------------------------------------------------------------

# image_ready NAME KERNEL_PACKAGE: a current version that passes herd image
# check and was customized by this very customize script; else build one.
image_ready() {
	local name=$1 pkg=$2 stamp want
	# an image is rebuilt when what made it changed: the customize
	# script, the node's check, the initramfs's /init and generator
	want=$(cat "$HERE/diskless/customize.sh" "$HERE/diskless/node-check" \
		"$TOP/src/image/node_init.sh" "$TOP/src/image/initramfs.c" | sha256sum | cut -c1-16)
	stamp=$STORE/$name/.test-stamp
	if "$HERD" image --dir "$STORE" check "$name" >"$WORK/check-$name.out" 2>&1 &&
		[ "$(cat "$stamp" 2>/dev/null)" = "$want:$pkg" ]; then
		echo "image $name: cached ($(sed -n 's/^  kernel *//p' < <("$HERD" image --dir "$STORE" show "$name")))"
		return 0
	fi
	echo "image $name: building (mmdebstrap bookworm + $pkg)"
	local t0=$SECONDS
	if ! "$HERD" image --dir "$STORE" build "$name" --kernel "$pkg" \
		--customize "$HERE/diskless/customize.sh" >"$WORK/build-$name.out" 2>&1; then
		tail -20 "$WORK/build-$name.out" | sed 's/^/  | /'
		return 1
	fi
	echo "image $name: built in $((SECONDS - t0)) s"
	echo "$want:$pkg" >"$stamp"
}
mkdir -p "$STORE"
chmod 755 "$STORE" "$(dirname "$STORE")"
image_ready deb12 linux-image-amd64 || die "could not build image deb12"
image_ready deb12-cloud linux-image-cloud-amd64 || die "could not build image deb12-cloud"
KVER_STD=$("$HERD" image --dir "$STORE" show deb12 | sed -n 's/^  kernel *//p')
KVER_CLOUD=$("$HERD" image --dir "$STORE" show deb12-cloud | sed -n 's/^  kernel *//p')
V_STD=$(readlink "$STORE/deb12/current")
V_CLOUD=$(readlink "$STORE/deb12-cloud/current")
check "the two images have different kernels ($KVER_STD, $KVER_CLOUD)" \
	test -n "$KVER_STD" -a -n "$KVER_CLOUD" -a "$KVER_STD" != "$KVER_CLOUD"

# --- the network, herd and the NFS server --------------------------------------

qemu_net_up 4 ra || die "cannot set up the test network"
TFTP_ROOT=$WORK/root
LOG_DIR=$WORK/logs
mkdir -p "$TFTP_ROOT" "$LOG_DIR" "$WORK/state"
chown nobody "$LOG_DIR" "$WORK/state"
cp "$QEMU_TFTP"/ipxe.efi "$QEMU_TFTP"/undionly.kpxe "$TFTP_ROOT/"
chmod -R a+rX "$TFTP_ROOT"

declare -A MAC IP NAME TAP IMAGE KVER
i=0
for g in bios uefi cloud nonfs; do
	i=$((i + 1))
	MAC[$g]=$(qemu_mac "$i")
	IP[$g]=$NET.$((10 + i))
	NAME[$g]=dl-$g
	TAP[$g]=tap$i
	IMAGE[$g]=deb12/$V_STD
	KVER[$g]=$KVER_STD
done
IMAGE[cloud]=deb12-cloud/$V_CLOUD
KVER[cloud]=$KVER_CLOUD
cat >"$WORK/nodes.tab" <<EOF
# written by tests/system/test_diskless.sh
${NAME[bios]}   ${MAC[bios]}   ${IP[bios]}   compute
${NAME[uefi]}   ${MAC[uefi]}   ${IP[uefi]}   compute
${NAME[cloud]}  ${MAC[cloud]}  ${IP[cloud]}  cloud
${NAME[nonfs]}  ${MAC[nonfs]}  ${IP[nonfs]}  lost
EOF

HERD_CONF=$WORK/herd.conf
HERD_ERR=$WORK/herd.stderr
cat >"$HERD_CONF" <<EOF
; written by tests/system/test_diskless.sh
[server]
user = nobody
log_level = debug
rcvbuf = 1M

[tftp]
listen = $SRV_IP:69
root = $TFTP_ROOT

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

[images]
dir = $STORE
exports_ganesha = $WORK/ganesha-exports.conf

[subnet qemu]
network = $NET.0/24
pool = $NET.100 - $NET.119

[group compute]
image = deb12
init = /usr/local/sbin/herd-node-check
on_failure = poweroff
cmdline = console=ttyS0 panic=-1

[group cloud]
image = deb12-cloud
init = /usr/local/sbin/herd-node-check
on_failure = poweroff
cmdline = console=ttyS0 panic=-1

[group lost]
image = deb12
nfs_server = $NET.250
on_failure = poweroff
cmdline = console=ttyS0 panic=-1
EOF

"$HERD" image -c "$HERD_CONF" exports >"$WORK/exports.out" 2>&1 ||
	{ cat "$WORK/exports.out"; die "herd image exports failed"; }
check "herd image exports wrote an export per image version" \
	grep -q "Path = \"$STORE/deb12-cloud/$V_CLOUD/root\"" "$WORK/ganesha-exports.conf"
if ! "$HERD" check -c "$HERD_CONF" >"$WORK/check.out" 2>&1; then
	sed 's/^/  herd check: /' "$WORK/check.out"
	die "herd check rejected the configuration"
fi
pass "herd check accepts both images"
# ganesha.conf as docs/IMAGES.md says: NFSv4 only, herd's list included.
mkdir -p "$WORK/ganesha-state"
cat >"$WORK/ganesha.conf" <<EOF
NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Enable_NLM = false; Enable_RQUOTA = false; Bind_addr = $SRV_IP; }
NFSv4 { Graceless = true; Lease_Lifetime = 10; Grace_Period = 10; RecoveryRoot = "$WORK/ganesha-state"; }
NFS_KRB5 { Active_krb5 = false; }
%include "$WORK/ganesha-exports.conf"
EOF
nfs_ganesha_start "$NS_SRV" "$WORK/ganesha.conf" || die "nfs-ganesha did not start"

herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$HERD_CONF" 2>"$HERD_ERR"
HERD_PID=$BG_PID
if ! wait_udp_listen "$NS_SRV" 67 || ! wait_udp_listen "$NS_SRV" 69 || ! wait_udp_listen "$NS_SRV" 514; then
	sed 's/^/  herd: /' "$HERD_ERR"
	die "herd did not start listening on 67, 69 and 514"
fi

# --- the nodes ----------------------------------------------------------------

declare -A PID
start_guest() {
	local g=$1
	case $g in
	uefi) qemu_start_uefi "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	*) QEMU_NIC_BIOS=virtio-net-pci qemu_start_bios "${TAP[$g]}" "${MAC[$g]}" "$WORK/serial-$g.log" "$BOOT_TIMEOUT" ;;
	esac
	PID[$g]=$QEMU_PID
}

# line_of FILE REGEX: the number of the first line matching, or 0.
line_of() {
	local n
	n=$(grep -anE -m1 "$2" "$1" | cut -d: -f1)
	echo "${n:-0}"
}

show_console() {
	tr -d '\r' <"$WORK/serial-$1.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
		grep -av '^\s*$' | tail -25 | sed 's/^/  | /'
}

# wait_node G REGEX: until G's log has a line matching REGEX or its QEMU
# ended; then gives QEMU 20 s to power off, and stops it (qemu_wait).
wait_node() {
	local g=$1 re=$2 log=$LOG_DIR/${NAME[$1]}.log end=$((SECONDS + BOOT_TIMEOUT)) i
	while [ $SECONDS -lt $end ] && kill -0 "${PID[$g]}" 2>/dev/null; do
		grep -qaE -- "$re" "$log" 2>/dev/null && break
		sleep 0.5
	done
	for ((i = 0; i < 40; i++)); do
		kill -0 "${PID[$g]}" 2>/dev/null || break
		sleep 0.5
	done
	kill "${PID[$g]}" 2>/dev/null
	qemu_wait "${PID[$g]}"
}

check_booted() {
	local g=$1 log=$LOG_DIR/${NAME[$1]}.log marker l_drv l_dhcp l_root l_mark
	wait_node "$g" 'HERD-NFS-MARKER'
	if ! wait_for_line "$log" 'HERD-NFS-MARKER' 5; then
		fail "$g: no HERD-NFS-MARKER in $log (QEMU done after $QEMU_ELAPSED s)"
		show_console "$g"
		[ -f "$log" ] && tail -15 "$log" | sed 's/^/  log: /'
		return
	fi
	marker=$(grep -a 'HERD-NFS-MARKER' "$log" | tail -1)
	pass "$g: booted ${IMAGE[$g]} to its userland on the NFS root (QEMU done after $QEMU_ELAPSED s)"
	check "$g: its log begins with the kernel's first line" \
		grep -q 'Linux version' <(head -1 "$log")
	check "$g: uname -r is the image's kernel ${KVER[$g]}" \
		grep -q "uname=${KVER[$g]} " <<<"$marker"
	check "$g: modprobe dummy (not in the initramfs) worked from the NFS root" \
		grep -q 'modprobe_dummy=yes' <<<"$marker"
	check "$g: / is an overlay on NFS from herd's address" \
		grep -q "root=overlay nfs=$SRV_IP\$" <<<"$marker"
	check "$g: the initramfs mounted ${IMAGE[$g]}'s root read-only" \
		grep -qa "herd-init: root: mounted $SRV_IP:$STORE/${IMAGE[$g]}/root read-only" "$log"
	check "$g: the log names its image (${IMAGE[$g]})" \
		grep -qa "herd.image=${IMAGE[$g]}" "$log"
	l_drv=$(line_of "$log" 'herd-init: .*driver')
	l_dhcp=$(line_of "$log" 'herd-init: .*dhcp')
	l_root=$(line_of "$log" 'herd-init: .*root')
	l_mark=$(line_of "$log" 'HERD-NFS-MARKER')
	check "$g: driver ($l_drv) < dhcp ($l_dhcp) < root ($l_root) < marker ($l_mark) in its log" \
		test "$l_drv" -gt 0 -a "$l_drv" -lt "$l_dhcp" -a "$l_dhcp" -lt "$l_root" -a "$l_root" -lt "$l_mark"
}

check_failed() {
	local g=$1 log=$LOG_DIR/${NAME[$1]}.log
	wait_node "$g" 'herd-init: .*FAILED.*step=root'
	if wait_for_line "$log" 'herd-init: .*FAILED.*step=root' 5; then
		pass "$g: the node reported its failed step to herd: $(grep -a -m1 'FAILED' "$log" | cut -c1-160)"
		check "$g: its log begins with the kernel's first line" \
			grep -q 'Linux version' <(head -1 "$log")
	else
		fail "$g: no 'herd-init: FAILED step=root' in $log (QEMU done after $QEMU_ELAPSED s)"
		show_console "$g"
		[ -f "$log" ] && tail -15 "$log" | sed 's/^/  log: /'
	fi
}

for g in $GUESTS; do start_guest "$g"; done
for g in $GUESTS; do
	if [ "$g" = nonfs ]; then check_failed "$g"; else check_booted "$g"; fi
done

# A reload (SIGHUP) re-checks the images inside the confined process (its
# seccomp allow-list): it must still read the store and the initramfs.
kill -HUP "$HERD_PID"
check "a reload checks the images under seccomp and serves generation 2" \
	wait_for_line "$HERD_ERR" 'reload: .*generation 2 serving' 10
grep -a 'reload:' "$HERD_ERR" | sed 's/^/  /' | head -5

# --- herd check and the classic mistake ----------------------------------------

# A store with one image whose kernel has no modules tree (modules of
# another version), as when a kernel is replaced by hand.
BAD=$WORK/badstore
mkdir -p "$BAD/bad/1/boot" "$BAD/bad/1/root/lib/modules/6.1.0-0-other"
chmod -R 755 "$BAD"
cp "$STORE/deb12/$V_STD/boot/vmlinuz" "$STORE/deb12/$V_STD/boot/initrd.img" "$BAD/bad/1/boot/"
: >"$BAD/bad/1/root/lib/modules/6.1.0-0-other/modules.dep"
printf '[image]\nname = bad\nversion = 1\nkernel_version = %s\n' "$KVER_STD" >"$BAD/bad/1/image.ini"
ln -s 1 "$BAD/bad/current"
sed -e "s|^dir = $STORE\$|dir = $BAD|" -e 's/^image = deb12\(-cloud\)\?$/image = bad/' \
	-e '/^exports_ganesha/d' "$HERD_CONF" >"$WORK/bad.conf"
if "$HERD" check -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1; then
	fail "herd check accepted an image whose kernel has no modules"
else
	check "herd check rejects the mismatched image with one line" \
		test "$(grep -c 'bad/1:' "$WORK/bad.out")" = 1
	grep 'bad/1:' "$WORK/bad.out" | sed 's/^/  herd check: /'
	check "... which names the kernel and the modules there" \
		grep -q "kernel $KVER_STD has no modules tree in the image.*modules there: 6.1.0-0-other" "$WORK/bad.out"
fi

# An export list that does not have the current version (edited by hand,
# or not rewritten after a build).
grep -v "deb12-cloud/$V_CLOUD/root" "$WORK/ganesha-exports.conf" >"$WORK/stale-exports.conf"
sed "s|^exports_ganesha = .*|exports_ganesha = $WORK/stale-exports.conf|" "$HERD_CONF" >"$WORK/stale.conf"
if "$HERD" check -c "$WORK/stale.conf" >"$WORK/stale.out" 2>&1; then
	fail "herd check accepted an export list without the current version"
else
	check "herd check says when the export list lacks an image's current version" \
		grep -q "image deb12-cloud/$V_CLOUD: $WORK/stale-exports.conf does not export" "$WORK/stale.out"
fi

# A rule that sends a Broadcom BCM5720 (tg3) to the cloud image, whose
# kernel has no physical NIC drivers: the nodes would stop at the driver step.
cp "$HERD_CONF" "$WORK/nic.conf"
printf '[rule bcm]\nnic = 14e4:165f\ngroup = cloud\n' >>"$WORK/nic.conf"
if "$HERD" check -c "$WORK/nic.conf" >"$WORK/nic.out" 2>&1; then
	fail "herd check accepted a rule whose NIC the image cannot drive"
else
	check "herd check rejects a rule whose NIC has no driver in its image's initramfs" \
		grep -q "\[rule bcm\] nic 14e4:165f chooses \[group cloud\], whose image deb12-cloud/$V_CLOUD has no driver" "$WORK/nic.out"
fi

herd_stop
nfs_ganesha_stop
finish
