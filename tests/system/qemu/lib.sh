# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are read by the scripts that source it
# Helpers to boot real firmware under QEMU against a boot server running in a
# network namespace. Sourced by tests/system/test_boot_*.sh (after
# tests/system/lib.sh, whose state and cleanup it shares) and by
# tests/system/qemu/validate-dnsmasq.sh (alone: it then defines the little it
# needs of tests/system/lib.sh itself). See tests/system/qemu/README.md.
#
# Nothing touches the host's network: the server side is a namespace holding
# a bridge br0 at $SRV_IP/24 ($QEMU_NET.1, 10.99.7.1 by default) whose ports
# are tap devices created inside that namespace; QEMU runs inside it too.
#
#   qemu_require                     skip (77) unless root, QEMU and the assets
#   qemu_net_up N [ra]               namespace, bridge, taps tap1..tapN; "ra"
#                                    also answers IPv6 router solicitations
#   qemu_boot_bios TAP MAC LOG SECS  SeaBIOS + iPXE NIC ROM, network boot
#   qemu_boot_uefi TAP MAC LOG SECS  OVMF's own PXE (virtio-net, no ROM)
#   qemu_start_uboot TAP MAC LOG SECS  arm64 U-Boot (u-boot-qemu), network boot
#   qemu_start_bios/qemu_start_uefi  the same without waiting (QEMU_PID set),
#   qemu_wait PID                    ... then wait for it
#   wait_for_line FILE REGEX SECS    true once a line of FILE matches REGEX
#   qemu_mac N                       52:54:00:99:07:NN
#   qemu_syslog_catch FILE [PORT]    a UDP syslog catcher on $SRV_IP (python3)
#
# qemu_boot_* return 0 when the guest powered off (or rebooted: -no-reboot),
# 124 when SECS ran out (QEMU is killed), other values if QEMU failed; they
# set QEMU_ELAPSED (seconds, 0.1 s resolution). The serial console (SeaBIOS,
# iPXE, pxelinux, OVMF, the kernel, /init) goes to LOG; QEMU's own stderr to
# LOG.stderr.
#
# Environment: QEMU_NET (10.99.7), QEMU_MEM (512), QEMU_NIC_BIOS
# (virtio-net-pci; or e1000, e1000e: QEMU's e1000 adds ~1 s per DHCP), QEMU_BIOS_ROM (a NIC ROM file instead of QEMU's
# default, which is ipxe-qemu's), QEMU_BIOS_REBOOT_MS (10000), QEMU_EXTRA
# (more QEMU arguments), QEMU_ASSETS (build/qemu-assets), QEMU_SYSTEM
# (qemu-system-x86_64), QEMU_ARM64_CPU (cortex-a57).

QEMU_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TOP:=$(cd "$QEMU_LIB_DIR/../../.." && pwd)}"
QEMU_NET=${QEMU_NET:-10.99.7}
QEMU_MEM=${QEMU_MEM:-512}
QEMU_NIC_BIOS=${QEMU_NIC_BIOS:-virtio-net-pci}
QEMU_TAPS=()
QEMU_PID=
QEMU_ELAPSED=
declare -A QEMU_T0S=() # start time (epoch) per QEMU PID

# --- stand-ins for tests/system/lib.sh when it is not sourced -----------------

if ! declare -F bg_start >/dev/null; then
	set -u
	BG_PIDS=()
	NS_CLIENTS=()
	WORK=
	TEST_NAME=$(basename "$0" .sh)
	NS_SRV=herd-q-$$
	skip() { echo "SKIP: $TEST_NAME: $*"; exit 77; }
	bg_start() {
		"$@" &
		BG_PID=$!
		BG_PIDS+=("$BG_PID")
	}
	bg_forget() {
		local keep=() p
		for p in "${BG_PIDS[@]}"; do
			[ "$p" = "$1" ] || keep+=("$p")
		done
		BG_PIDS=("${keep[@]}")
	}
	cleanup() {
		local rc=$? pid
		set +e
		for pid in "${BG_PIDS[@]}"; do
			kill "$pid" 2>/dev/null
		done
		for pid in "${BG_PIDS[@]}"; do
			for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		done
		ip netns del "$NS_SRV" 2>/dev/null
		if [ -n "$WORK" ] && [ -d "$WORK" ]; then
			if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
		fi
		exit "$rc"
	}
	setup_work() {
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/herd-$TEST_NAME.XXXXXX")
		chmod 755 "$WORK"
		trap cleanup EXIT
		trap 'exit 130' INT TERM
	}
fi

# --- prerequisites --------------------------------------------------------------

# qemu_require: root, namespaces, QEMU, python3 and the assets (built by
# assets.sh, which this runs: it is a no-op when they are up to date). Skips
# (exit 77) when something cannot be had.
qemu_require() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tap devices)"
	ip netns add "herd-qprobe-$$" 2>/dev/null || skip "cannot create network namespaces"
	ip netns del "herd-qprobe-$$"
	command -v python3 >/dev/null || skip "python3 is not installed"
	if ! QEMU_ASSETS=${QEMU_ASSETS:-$TOP/build/qemu-assets} "$QEMU_LIB_DIR/assets.sh"; then
		skip "QEMU assets could not be prepared (tests/system/qemu/assets.sh)"
	fi
	# shellcheck disable=SC1091
	. "${QEMU_ASSETS:-$TOP/build/qemu-assets}/assets.env"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	[ -e /dev/net/tun ] || skip "no /dev/net/tun"
}

# --- network --------------------------------------------------------------------

# qemu_mac N: a locally administered MAC for guest N (1..255).
qemu_mac() {
	printf '52:54:00:99:07:%02x\n' "$1"
}

# qemu_net_up N [ra]: the server namespace $NS_SRV with bridge br0 at
# $SRV_IP/24 (SRV_IP=$QEMU_NET.1; NET is set to $QEMU_NET) and N tap devices
# tap1..tapN as bridge ports (listed in QEMU_TAPS). With "ra", ra.py answers
# IPv6 router solicitations on br0 (saves ~13 s per iPXE stage).
qemu_net_up() {
	local n=$1 ra=${2:-} i tap
	NET=$QEMU_NET
	SRV_IP=$QEMU_NET.1
	ip netns add "$NS_SRV" || { echo "cannot create namespace $NS_SRV" >&2; return 1; }
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_SRV" link add br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0 ||
		{ echo "cannot create a bridge" >&2; return 1; }
	# no DAD on the bridge: the RA needs a usable link-local source at once
	ip netns exec "$NS_SRV" sysctl -qw net.ipv6.conf.br0.accept_dad=0 2>/dev/null
	ip -n "$NS_SRV" addr add "$SRV_IP/24" dev br0
	for ((i = 1; i <= n; i++)); do
		tap=tap$i
		ip -n "$NS_SRV" tuntap add dev "$tap" mode tap ||
			{ echo "cannot create $tap" >&2; return 1; }
		ip -n "$NS_SRV" link set "$tap" master br0 up
		QEMU_TAPS+=("$tap")
	done
	ip -n "$NS_SRV" link set br0 up
	if [ "$ra" = ra ]; then
		bg_start ip netns exec "$NS_SRV" python3 -u "$QEMU_LIB_DIR/ra.py" br0 \
			>"${WORK:-/tmp}/ra.log" 2>&1
		QEMU_RA_PID=$BG_PID
	fi
	return 0
}

# qemu_syslog_catch FILE [PORT]: a UDP syslog catcher on $SRV_IP:PORT (514)
# writing "<epoch> <sender> <text>" lines to FILE. Waits until it listens.
qemu_syslog_catch() {
	local out=$1 port=${2:-514} i
	: >"$out"
	bg_start ip netns exec "$NS_SRV" python3 -u "$QEMU_LIB_DIR/syslog_catch.py" "$SRV_IP" "$port" "$out"
	QEMU_SYSLOG_PID=$BG_PID
	for ((i = 0; i < 50; i++)); do
		[ -n "$(ip netns exec "$NS_SRV" ss -Hnul "sport = :$port")" ] && return 0
		sleep 0.1
	done
	echo "syslog catcher did not start" >&2
	return 1
}

# --- QEMU -----------------------------------------------------------------------

# _qemu_start SECS LOG TAP ARGS...: QEMU inside $NS_SRV under timeout(1),
# with the arguments both firmwares share.
_qemu_start() {
	local secs=$1 log=$2 tap=$3
	shift 3
	local args=(-accel tcg -m "$QEMU_MEM" -smp 1 -nodefaults -display none -no-reboot
		-monitor none -serial "file:$log" -rtc base=utc
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" "$@")
	: >"$log"
	QEMU_T0=$(date +%s.%N)
	# timeout(1) forwards a TERM to QEMU (ip netns exec execs it), so the
	# cleanup's kill of this PID stops QEMU too.
	# shellcheck disable=SC2086
	bg_start timeout -k 5 "$secs" ip netns exec "$NS_SRV" "${QEMU_SYSTEM:-qemu-system-x86_64}" "${args[@]}" \
		${QEMU_EXTRA:-} 2>"$log.stderr"
	QEMU_PID=$BG_PID
	QEMU_T0S[$QEMU_PID]=$QEMU_T0
}

# qemu_start_bios TAP MAC LOG SECS: SeaBIOS, whose NIC option ROM is iPXE
# (QEMU's default ROM for the model, from ipxe-qemu: /usr/lib/ipxe/qemu; set
# QEMU_BIOS_ROM to force a file), network boot only, no disk. sercon puts
# SeaBIOS's and the ROM's text on the serial port. When the network boot
# fails SeaBIOS says "No bootable device" and reboots after
# QEMU_BIOS_REBOOT_MS (10000), which ends QEMU (-no-reboot): a failed boot
# returns early instead of at the timeout. QEMU_NIC_BIOS picks the NIC model.
qemu_start_bios() {
	local tap=$1 mac=$2 log=$3 secs=$4
	_qemu_start "$secs" "$log" "$tap" -machine pc \
		-fw_cfg "name=etc/sercon-port,file=$QEMU_SERCON" \
		-device "$QEMU_NIC_BIOS,netdev=n0,mac=$mac${QEMU_BIOS_ROM:+,romfile=$QEMU_BIOS_ROM}" \
		-boot "order=n,reboot-timeout=${QEMU_BIOS_REBOOT_MS:-10000}"
}

# qemu_start_uefi TAP MAC LOG SECS: OVMF with its own network stack and PXE
# (virtio-net, romfile= empty so no iPXE ROM), a private copy of the
# variable store (LOG.vars.fd), IPv6 PXE off.
qemu_start_uefi() {
	local tap=$1 mac=$2 log=$3 secs=$4
	cp "$QEMU_OVMF_VARS" "$log.vars.fd"
	_qemu_start "$secs" "$log" "$tap" -machine pc \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$QEMU_OVMF_CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$log.vars.fd" \
		-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1"
}

# qemu_start_uboot TAP MAC LOG SECS: an arm64 "virt" machine (TCG,
# QEMU_ARM64_CPU: cortex-a57) whose firmware is Debian's U-Boot for QEMU
# (u-boot-qemu), with a virtio-net NIC on MMIO (QEMU_NIC_ARM64): on PCI,
# U-Boot 2023.01 reads a wrong MAC (52:52:52:52:52:52) from the device.
# U-Boot's autoboot runs its distro boot targets; the last, dhcp, network
# boots.
qemu_start_uboot() {
	local tap=$1 mac=$2 log=$3 secs=$4
	QEMU_SYSTEM=qemu-system-aarch64 _qemu_start "$secs" "$log" "$tap" -machine virt \
		-cpu "${QEMU_ARM64_CPU:-cortex-a57}" -bios "$QEMU_UBOOT" \
		-device "${QEMU_NIC_ARM64:-virtio-net-device},netdev=n0,mac=$mac"
}

# qemu_start_uefi_http TAP MAC LOG SECS: OVMF as qemu_start_uefi, with PXE
# over IPv4 off too (fw_cfg opt/org.tianocore/IPv4PXESupport, read by
# OVMF's PxeBcPcdProducerLib): the NIC's first boot option is then OVMF's
# UEFI HTTP boot over IPv4 (HttpBootDxe, in Debian's build), which asks
# DHCP with vendor class HTTPClient and arch 16.
qemu_start_uefi_http() {
	QEMU_EXTRA="${QEMU_EXTRA:-} -fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n" \
		qemu_start_uefi "$@"
}

# qemu_wait [PID]: waits for a QEMU started by qemu_start_* (default
# $QEMU_PID); returns its status (124: timed out) and sets QEMU_ELAPSED
# (seconds since that QEMU was started).
qemu_wait() {
	local pid=${1:-$QEMU_PID} rc
	wait "$pid"
	rc=$?
	bg_forget "$pid"
	QEMU_ELAPSED=$(echo "$(date +%s.%N) ${QEMU_T0S[$pid]:-$QEMU_T0}" | awk '{printf "%.1f", $1 - $2}')
	return $rc
}

qemu_boot_bios() {
	qemu_start_bios "$@"
	qemu_wait "$QEMU_PID"
}

qemu_boot_uefi() {
	qemu_start_uefi "$@"
	qemu_wait "$QEMU_PID"
}

# wait_for_line FILE REGEX SECS: true as soon as a line of FILE matches the
# extended REGEX; false after SECS seconds.
wait_for_line() {
	local file=$1 re=$2 secs=$3 end
	end=$(($(date +%s) + secs))
	while :; do
		grep -qaE -- "$re" "$file" 2>/dev/null && return 0
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# qemu_marker LOG: prints the HERD-BOOT-MARKER line of a serial log (CRs and
# escape sequences removed), if any.
qemu_marker() {
	tr -d '\r' <"$1" | grep -aoE 'HERD-BOOT-(MARKER|FAIL).*' | tail -1
}
