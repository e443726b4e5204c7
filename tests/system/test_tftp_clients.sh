#!/bin/bash
# Downloads files of awkward sizes from herd with four real TFTP clients
# (tftp-hpa, atftp, curl, busybox) at several block and window sizes, and
# compares every byte. The 100 MiB file crosses the 16-bit block number
# (65536 blocks) at every block size used for it.
#
#   tests/system/test_tftp_clients.sh            (as root)
#   BIG=0 tests/system/test_tftp_clients.sh      skip the 100 MiB downloads

. "$(dirname "$0")/lib.sh"

require_root
require_tools ip ss python3 tftp atftp curl busybox timeout cmp
curl -V 2>/dev/null | grep -qw tftp || skip "curl is built without TFTP"
tftp -V 2>&1 | grep -qi 'tftp-hpa' || skip "'tftp' is not tftp-hpa's client"
require_herd

setup_work
net_setup
TFTP_ROOT=$WORK/root
mkdir -p "$TFTP_ROOT" "$WORK/out"

SIZES=(0 511 512 513 1048576)
for s in "${SIZES[@]}"; do
	mkfile "$TFTP_ROOT/f$s" "$s"
done
BIG_SIZE=$((100 << 20))
[ "${BIG:-1}" = 1 ] && mkfile "$TFTP_ROOT/big" "$BIG_SIZE"

herd_start
# Once serving, herd runs under its seccomp allow-list (mode 2: filter).
[ -n "${HERD_REF:-}" ] || check "herd serves under its seccomp filter (Seccomp: 2)" timeout 5 \
	sh -c "until grep -q '^Seccomp:[[:space:]]*2' /proc/$HERD_PID/status; do sleep 0.1; done"

OUT=$WORK/out
cd "$OUT" || die "cd $OUT"

# fetch NS CLIENT BLKSIZE WINDOW FILE LOCAL TRACEFILE: one download; BLKSIZE
# and WINDOW are "-" for "do not ask". Returns the client's exit status.
fetch() {
	local ns=$1 client=$2 bs=$3 ws=$4 file=$5 local=$6 trace=$7 secs=60
	local opts=()
	[ "$file" = big ] && secs=180
	rm -f "$local"
	case $client in
	tftp-hpa)
		# Fed on stdin so that 'trace' shows what the server sent first.
		printf 'trace\nbinary\nget %s %s\nquit\n' "$file" "$local" |
			timeout "$secs" ip netns exec "$ns" tftp "$SRV_IP" >"$trace" 2>&1
		;;
	atftp | atftp-tsize)
		[ "$bs" != - ] && opts+=(--option "blksize $bs")
		[ "$ws" != - ] && opts+=(--option "windowsize $ws")
		[ "$client" = atftp-tsize ] && opts+=(--option "tsize enable" --option "timeout 2")
		# --trace costs a line per packet: only for the small files
		[ "$file" != big ] && opts+=(--trace)
		timeout "$secs" ip netns exec "$ns" atftp "${opts[@]}" -g -r "$file" -l "$local" \
			"$SRV_IP" >"$trace" 2>&1
		;;
	curl)
		if [ "$bs" = - ]; then opts+=(--tftp-no-options); else opts+=(--tftp-blksize "$bs"); fi
		timeout "$secs" ip netns exec "$ns" curl -sS "${opts[@]}" -o "$local" \
			"tftp://$SRV_IP/$file" >"$trace" 2>&1
		;;
	busybox)
		[ "$bs" != - ] && opts+=(-b "$bs")
		timeout "$secs" ip netns exec "$ns" busybox tftp -g "${opts[@]}" -r "$file" \
			-l "$local" "$SRV_IP" >"$trace" 2>&1
		;;
	*)
		echo "unknown client $client" >"$trace"
		return 2
		;;
	esac
}

# get CLIENT BLKSIZE WINDOW FILE: downloads from client 1 and compares.
get() {
	local client=$1 bs=$2 ws=$3 file=$4 rc t0 t1
	local what="$client blksize=$bs windowsize=$ws $file"
	local local="$OUT/$client-$bs-$ws-$file" trace="$OUT/$client-$bs-$ws-$file.trace"
	t0=$(date +%s%N)
	fetch "$NS_CLIENT_1" "$client" "$bs" "$ws" "$file" "$local" "$trace"
	rc=$?
	t1=$(date +%s%N)
	if [ "$rc" = 71 ] && [ "$client" = curl ] && [ "$file" = f0 ] &&
		grep -q 'invalid tsize' <(ip netns exec "$NS_CLIENT_1" curl -sv -o /dev/null \
			--tftp-blksize "$bs" "tftp://$SRV_IP/f0" 2>&1); then
		# curl 7.88 (lib/tftp.c) refuses "tsize 0" in an OACK as
		# invalid, so it cannot fetch an empty file from a server that
		# answers tsize truthfully. A server quirk could leave tsize out
		# for empty files; until then this is the client's bug, not herd's.
		echo "note: $what: curl rejects the OACK's tsize 0 (curl bug, not counted)"
		return 0
	fi
	if [ "$rc" -ne 0 ]; then
		fail "$what: client exit status $rc"
		tail -5 "$trace" | sed 's/^/  /'
		return 1
	fi
	# tftp-hpa's client exits 0 even on an ERROR packet: the bytes decide.
	if [ ! -f "$local" ] || ! cmp -s "$local" "$TFTP_ROOT/$file"; then
		fail "$what: downloaded file differs ($(stat -c %s "$local" 2>/dev/null || echo no) bytes)"
		tail -5 "$trace" | sed 's/^/  /'
		return 1
	fi
	check_trace "$client" "$bs" "$ws" "$file" "$trace" || return 1
	pass "$what ($(((t1 - t0) / 1000000)) ms)"
	rm -f "$local"
}

# What the server answered, as the client traced it.
check_trace() {
	local client=$1 bs=$2 ws=$3 file=$4 trace=$5 first oack
	[ -z "${HERD_REF:-}" ] || return 0
	case $client in
	tftp-hpa)
		# RFC 2347: a request without options gets DATA 1, never an OACK.
		first=$(grep -m1 '^received' "$trace")
		case $first in
		"received DATA <block=1,"*) ;;
		*)
			fail "tftp-hpa (no options) $file: first reply was '$first', expected DATA block 1"
			return 1
			;;
		esac
		;;
	atftp)
		[ "$file" = big ] && return 0
		oack=$(grep -m1 '^received OACK' "$trace")
		if [ "$bs" = - ] && [ "$ws" = - ]; then
			if [ -n "$oack" ] || ! grep -q '^received 1. DATA <block: 1,' "$trace"; then
				fail "atftp (no options) $file: expected DATA block 1 first, got '$oack'"
				return 1
			fi
			return 0
		fi
		if [[ $oack != *"blksize: $bs,"* ]] || [[ $oack != *"windowsize: $ws,"* ]]; then
			fail "atftp blksize=$bs windowsize=$ws $file: OACK was '$oack'"
			return 1
		fi
		;;
	esac
	return 0
}

T_START=$SECONDS

# Small files: every client and option combination.
MATRIX=(
	"tftp-hpa - -"
	"atftp - -"
	"curl - -"
	"busybox - -"
	"atftp-tsize 1468 4"
)
for bs in 512 1432 1468; do
	for ws in 1 4 16; do
		MATRIX+=("atftp $bs $ws")
	done
	MATRIX+=("curl $bs -" "busybox $bs -")
done

for combo in "${MATRIX[@]}"; do
	read -r client bs ws <<<"$combo"
	for s in "${SIZES[@]}"; do
		get "$client" "$bs" "$ws" "f$s"
	done
done

# Several clients at once, from three namespaces.
net_add_client
net_add_client
concurrent() {
	local pids=() i ns client bs ws rc ok=1
	local jobs=(
		"$NS_CLIENT_1 atftp 1468 16" "$NS_CLIENT_1 curl 1432 -" "$NS_CLIENT_1 busybox 512 -"
		"$NS_CLIENT_2 atftp 1432 4" "$NS_CLIENT_2 tftp-hpa - -" "$NS_CLIENT_2 curl 1468 -"
		"$NS_CLIENT_3 atftp 512 1" "$NS_CLIENT_3 busybox 1468 -"
	)
	for i in "${!jobs[@]}"; do
		read -r ns client bs ws <<<"${jobs[$i]}"
		fetch "$ns" "$client" "$bs" "$ws" f1048576 "$OUT/conc-$i" "$OUT/conc-$i.trace" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}"
		rc=$?
		if [ "$rc" -ne 0 ] || ! cmp -s "$OUT/conc-$i" "$TFTP_ROOT/f1048576"; then
			fail "concurrent download ${jobs[$i]#* } (exit $rc) differs"
			tail -3 "$OUT/conc-$i.trace" | sed 's/^/  /'
			ok=0
		fi
	done
	[ "$ok" = 1 ] && pass "8 concurrent 1 MiB downloads from 3 namespaces"
	rm -f "$OUT"/conc-*
}
concurrent

# The 100 MiB file: past block 65535 at every size (rollover to 0).
if [ "${BIG:-1}" = 1 ]; then
	get atftp 1432 1 big
	get atftp 1468 16 big
	get curl 1432 - big
	get busybox 1468 - big
	get tftp-hpa - - big
fi

echo "transfers took $((SECONDS - T_START)) s"
herd_stop
finish
