#!/bin/bash
# Prepares what the QEMU boot tests need, cached under build/qemu-assets/
# (not committed). Idempotent: a second run does nothing unless an input
# changed (the init scripts, this file) or QEMU_ASSETS_REFRESH=1.
#
#   tests/system/qemu/assets.sh          (as root: apt-get, mknod)
#
# Installs (apt, on the host): qemu-system-x86 ipxe-qemu ipxe pxelinux
# syslinux-common ovmf cpio. Downloads without installing (apt-get download +
# dpkg -x): Debian's newest linux-image-6.1.*-amd64 and busybox-static (which
# conflicts with the installed busybox package).
#
# Produces in build/qemu-assets/:
#   vmlinuz        Debian's kernel
#   initrd.img     gzip'd newc cpio: busybox-static, the e1000/e1000e/virtio_net
#                  modules and their dependencies, /init, /udhcpc.script
#   sercon.bin     4 bytes f8 03 00 00 for -fw_cfg name=etc/sercon-port
#   tftp/          what a server must serve: vmlinuz, initrd.img, ipxe.efi,
#                  undionly.kpxe, snponly.efi, pxelinux.0, ldlinux.c32
#   assets.env     shell variables naming all of the above (sourced by lib.sh)
#
# With QEMU_ASSETS_FAMILIES=1 (tests/system/test_boot_families.sh) also:
# installs qemu-system-arm u-boot-qemu u-boot-tools grub-efi-amd64-signed
# grub-efi-amd64-bin, and builds in build/qemu-assets/arm64/ Debian's arm64
# kernel (Image, uncompressed: U-Boot's booti wants it so) and an arm64
# initrd.img made like the x86 one from busybox-static:arm64, plus
# tftp/grubnetx64.efi and tftp/boot.scr.uimg (see below). The arm64 .debs come
# through a private apt state (build/qemu-assets/apt-arm64: its own lists and
# an empty dpkg status, APT::Architecture=arm64): the host's dpkg never gets
# a foreign architecture and nothing arm64 is installed on it.
#
# Exit status: 0 ready, 1 failed (message on stderr).

set -eu
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
A=${QEMU_ASSETS:-$TOP/build/qemu-assets}
PKGS=(qemu-system-x86 ipxe-qemu ipxe pxelinux syslinux-common ovmf cpio)
FAMILIES=${QEMU_ASSETS_FAMILIES:-0}
[ "$FAMILIES" = 1 ] && PKGS+=(qemu-system-arm u-boot-qemu u-boot-tools grub-efi-amd64-signed
	grub-efi-amd64-bin)
# Drivers for the NICs the tests give a guest; dependencies are added below.
NIC_MODULES=(e1000 e1000e virtio_net virtio_pci)

say() { echo "assets: $*" >&2; }
die() { echo "assets: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, mknod)"
mkdir -p "$A/debs"

# Inputs whose change means rebuilding the initrd.
input_hash() {
	cat "$HERE/assets.sh" "$HERE/initramfs/init" "$HERE/initramfs/udhcpc.script" | sha256sum | cut -c1-16
}

if [ "${QEMU_ASSETS_REFRESH:-0}" != 1 ] && [ -f "$A/assets.env" ] &&
	[ "$(cat "$A/.stamp" 2>/dev/null)" = "$(input_hash)" ]; then
	# shellcheck disable=SC1091
	. "$A/assets.env"
	ok=1
	for f in "$QEMU_KERNEL" "$QEMU_INITRD" "$QEMU_SERCON" "$QEMU_OVMF_CODE" "$QEMU_OVMF_VARS" \
		"$QEMU_TFTP/ipxe.efi" "$QEMU_TFTP/pxelinux.0" "$QEMU_TFTP/ldlinux.c32"; do
		[ -s "$f" ] || ok=0
	done
	command -v qemu-system-x86_64 >/dev/null || ok=0
	if [ "$FAMILIES" = 1 ]; then
		[ "${QEMU_ARM64_KERNEL:-}" ] || ok=0
		for f in "${QEMU_ARM64_KERNEL:-}" "${QEMU_ARM64_INITRD:-}" "${QEMU_UBOOT:-}" \
			"$QEMU_TFTP/grubnetx64.efi" "$QEMU_TFTP/boot.scr.uimg"; do
			[ -s "$f" ] || ok=0
		done
		command -v qemu-system-aarch64 >/dev/null || ok=0
	fi
	if [ $ok = 1 ]; then
		say "up to date ($A)"
		exit 0
	fi
fi

# --- host packages ----------------------------------------------------------

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	apt-get update -q >&2 || say "apt-get update failed; trying with the lists there are"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
fi

# --- downloads (not installed) ----------------------------------------------

# apt_fetch PACKAGE: leaves PACKAGE's .deb in $A/debs (once), prints its path.
apt_fetch() {
	local pkg=$1 deb
	deb=$(ls "$A/debs/${pkg}_"*.deb 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$deb" ]; then
		(cd "$A/debs" && apt-get download -q "$pkg" >&2 2>/dev/null) || return 1
		deb=$(ls "$A/debs/${pkg}_"*.deb 2>/dev/null | sort -V | tail -1 || true)
	fi
	[ -n "$deb" ] || return 1
	echo "$deb"
}

# The kernel: what linux-image-amd64 points at (the newest 6.1 ABI), else the
# newest linux-image-6.1.0-N-amd64[-unsigned] the lists know. A kernel already
# downloaded is kept unless QEMU_ASSETS_REFRESH=1.
kdeb=
if [ "${QEMU_ASSETS_REFRESH:-0}" != 1 ]; then
	kdeb=$(ls "$A/debs/"linux-image-6.1.*-amd64*.deb 2>/dev/null | sort -V | tail -1 || true)
fi
if [ -z "$kdeb" ]; then
	cands=()
	meta=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9.]*-[0-9]*-amd64\)$/\1/p' | head -1)
	[ -n "$meta" ] && cands+=("$meta" "$meta-unsigned")
	while read -r name; do
		cands+=("$name")
	done < <(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' 2>/dev/null |
		awk '{print $1}' | sort -rV)
	for c in "${cands[@]}"; do
		if kdeb=$(apt_fetch "$c"); then
			break
		fi
		kdeb=
	done
	[ -n "$kdeb" ] || die "could not download any linux-image-6.1.*-amd64 (run apt-get update?)"
fi
say "kernel package: $(basename "$kdeb")"
bdeb=$(apt_fetch busybox-static) || die "could not download busybox-static"
say "busybox package: $(basename "$bdeb")"

# --- unpack -----------------------------------------------------------------

rm -rf "$A/kernel" "$A/busybox"
mkdir -p "$A/kernel" "$A/busybox"
dpkg -x "$kdeb" "$A/kernel"
dpkg -x "$bdeb" "$A/busybox"
kver=$(ls "$A/kernel/lib/modules" | head -1)
[ -n "$kver" ] || die "no lib/modules in $(basename "$kdeb")"
MODDIR=$A/kernel/lib/modules/$kver
cp "$A/kernel/boot/vmlinuz-$kver" "$A/vmlinuz"
BB=$A/busybox/bin/busybox
[ -x "$BB" ] || die "no bin/busybox in $(basename "$bdeb")"

# --- modules in dependency order ----------------------------------------------

# mod_file NAME: path of NAME.ko[.xz|.zst|.gz] (module names use _ or -).
mod_file() {
	local n=$1 alt=${1//_/-}
	find "$MODDIR/kernel" \( -name "$n.ko" -o -name "$n.ko.*" -o -name "$alt.ko" -o -name "$alt.ko.*" \) |
		head -1
}
# mod_deps FILE: the module's depends= (from .modinfo), space separated.
mod_deps() {
	local f=$1
	case $f in
	*.xz) xz -dc "$f" ;;
	*.zst) zstd -dcq "$f" ;;
	*.gz) gzip -dc "$f" ;;
	*) cat "$f" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1 | tr ',' ' '
}
visit() {
	local n=$1 f d
	[ -n "${SEEN[$n]:-}" ] && return 0
	SEEN[$n]=1
	if grep -qE "/$n\.ko(\..*)?$" "$MODDIR/modules.builtin" 2>/dev/null; then
		return 0 # built in
	fi
	f=$(mod_file "$n")
	[ -n "$f" ] || die "module $n not found in $kver"
	for d in $(mod_deps "$f"); do
		visit "$d"
	done
	ORDER+=("$n:$f")
}
# order_modules: ORDER, the NIC_MODULES of $MODDIR and their dependencies,
# each after what it needs.
order_modules() {
	ORDER=()
	SEEN=()
	for m in "${NIC_MODULES[@]}"; do
		visit "$m"
	done
}
declare -A SEEN=()
order_modules

# --- initramfs ----------------------------------------------------------------

# make_initrd ROOT BUSYBOX OUT: the initramfs tree in ROOT (busybox, the
# modules in ORDER, /init, /udhcpc.script), packed into OUT.
make_initrd() {
	local R=$1 bb=$2 out=$3 e n f
	rm -rf "$R"
	mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,var/log,etc,lib/modules}
	cp "$bb" "$R/bin/busybox"
	ln -s busybox "$R/bin/sh"
	mknod -m 600 "$R/dev/console" c 5 1
	mknod -m 666 "$R/dev/null" c 1 3
	: >"$R/etc/modules.order"
	for e in "${ORDER[@]}"; do
		n=${e%%:*}
		f=${e#*:}
		case $f in
		*.xz) xz -dc "$f" >"$R/lib/modules/$n.ko" ;;
		*.zst) zstd -dcq "$f" >"$R/lib/modules/$n.ko" ;;
		*.gz) gzip -dc "$f" >"$R/lib/modules/$n.ko" ;;
		*) cp "$f" "$R/lib/modules/$n.ko" ;;
		esac
		echo "$n" >>"$R/etc/modules.order"
	done
	basename "$MODDIR" >"$R/etc/kernel-release"
	install -m 755 "$HERE/initramfs/init" "$R/init"
	install -m 755 "$HERE/initramfs/udhcpc.script" "$R/udhcpc.script"
	(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
		gzip -9n >"$out.new"
	mv "$out.new" "$out"
}
make_initrd "$A/initramfs-root" "$BB" "$A/initrd.img"
R=$A/initramfs-root
say "initrd: $(du -h "$A/initrd.img" | cut -f1), modules: $(tr '\n' ' ' <"$R/etc/modules.order")"

printf '\xf8\x03\x00\x00' >"$A/sercon.bin"

# --- what a boot server serves -------------------------------------------------

T=$A/tftp
rm -rf "$T"
mkdir -p "$T"
cp "$A/vmlinuz" "$A/initrd.img" "$T/"
cp -L /usr/lib/ipxe/ipxe.efi /usr/lib/ipxe/snponly.efi /usr/lib/ipxe/undionly.kpxe "$T/"
cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$T/"
chmod -R a+rX "$T"

# --- the other firmware families: GRUB, U-Boot on arm64 ----------------------------

ARM64_ENV=
if [ "$FAMILIES" = 1 ]; then
	# Debian's signed GRUB network image: the same code as grub-efi-amd64-bin's
	# monolithic grubnetx64.efi plus the signature that lets shim start it under
	# Secure Boot, so the one file serves either way.
	cp /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed "$T/grubnetx64.efi"
	# Debian's qemu_arm64 U-Boot has no "pxe" boot target: its distro boot's
	# dhcp target fetches boot.scr.uimg from the DHCP server first, so a
	# site-wide script (the same for every node) turns that into "pxe get",
	# which reads the pxelinux.cfg herd generates per node.
	# tftpwindowsize: U-Boot asks for no window unless told (RFC 7440).
	printf '%s\n' "setenv tftpwindowsize 8" "echo herd: pxe get" \
		"if pxe get; then pxe boot; fi" >"$A/boot.scr"
	mkimage -A arm64 -O linux -T script -C none -n "herd pxe" -d "$A/boot.scr" \
		"$T/boot.scr.uimg" >/dev/null || die "mkimage boot.scr.uimg failed"

	# arm64 .debs through a private apt state: nothing changes on the host.
	AP=$A/apt-arm64
	mkdir -p "$AP/state/lists/partial" "$AP/cache/archives/partial" "$AP/debs"
	touch "$AP/state/status"
	APT64=(-q -o "Dir::State=$AP/state" -o "Dir::State::status=$AP/state/status"
		-o "Dir::Cache=$AP/cache" -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
	akdeb=$(ls "$AP/debs/"linux-image-6.1.*-arm64_*.deb 2>/dev/null | sort -V | tail -1 || true)
	abdeb=$(ls "$AP/debs/"busybox-static_*_arm64.deb 2>/dev/null | tail -1 || true)
	if [ -z "$akdeb" ] || [ -z "$abdeb" ] || [ "${QEMU_ASSETS_REFRESH:-0}" = 1 ]; then
		say "arm64: apt-get update (private state in $AP)"
		apt-get "${APT64[@]}" update >&2 || die "apt-get update for arm64 failed"
		ameta=$(apt-cache "${APT64[@]}" depends linux-image-arm64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9.]*-[0-9]*-arm64\)$/\1/p' | head -1)
		[ -n "$ameta" ] || die "apt knows no linux-image-arm64 for arm64"
		rm -f "$AP/debs/"*.deb
		(cd "$AP/debs" && apt-get "${APT64[@]}" download "$ameta" busybox-static >&2 2>/dev/null) ||
			die "apt-get download $ameta busybox-static (arm64) failed"
		akdeb=$(ls "$AP/debs/"linux-image-6.1.*-arm64_*.deb | sort -V | tail -1)
		abdeb=$(ls "$AP/debs/"busybox-static_*_arm64.deb | tail -1)
	fi
	say "arm64 kernel package: $(basename "$akdeb")"
	A64=$A/arm64
	rm -rf "$A64"
	mkdir -p "$A64/kernel" "$A64/busybox"
	dpkg -x "$akdeb" "$A64/kernel"
	dpkg -x "$abdeb" "$A64/busybox"
	kver64=$(ls "$A64/kernel/lib/modules" | head -1)
	[ -n "$kver64" ] || die "no lib/modules in $(basename "$akdeb")"
	# Debian's arm64 vmlinuz is the plain Image, which U-Boot's booti takes
	cp "$A64/kernel/boot/vmlinuz-$kver64" "$A64/Image"
	MODDIR=$A64/kernel/lib/modules/$kver64
	kver=$kver64
	# the arm64 test NIC is virtio-net on MMIO (see qemu_start_uboot)
	NIC_MODULES+=(virtio_mmio)
	order_modules
	make_initrd "$A64/initramfs-root" "$A64/busybox/bin/busybox" "$A64/initrd.img"
	say "arm64 initrd: $(du -h "$A64/initrd.img" | cut -f1), modules: $(tr '\n' ' ' <"$A64/initramfs-root/etc/modules.order")"
	rm -rf "$A64/kernel/lib/modules" "$A64/initramfs-root"
	cp "$A64/Image" "$T/Image-arm64"
	cp "$A64/initrd.img" "$T/initrd-arm64.img"
	chmod -R a+rX "$T"
	kver=$(ls "$A/kernel/lib/modules" | head -1)
	ARM64_ENV="QEMU_ARM64_KERNEL_RELEASE=$kver64
QEMU_ARM64_KERNEL=$A64/Image
QEMU_ARM64_INITRD=$A64/initrd.img
QEMU_UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin"
fi

cat >"$A/assets.env" <<ENV
# written by tests/system/qemu/assets.sh
QEMU_ASSETS=$A
QEMU_KERNEL_RELEASE=$kver
QEMU_KERNEL=$A/vmlinuz
QEMU_INITRD=$A/initrd.img
QEMU_SERCON=$A/sercon.bin
QEMU_TFTP=$T
QEMU_OVMF_CODE=/usr/share/OVMF/OVMF_CODE.fd
QEMU_OVMF_VARS=/usr/share/OVMF/OVMF_VARS.fd
$ARM64_ENV
ENV
input_hash >"$A/.stamp"
say "ready in $A (kernel $kver)"
