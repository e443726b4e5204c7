#!/bin/bash
# herd's TFTP root is a wall, and its protocol answers are exact: hand-made
# requests (tftp_probe.py, raw UDP) try to read outside the root (.., absolute
# paths, symlinks out, NUL in the name, overlong names, a directory), write,
# disturb a transfer from a wrong port, and check OACK contents, windows,
# retransmission, the EDK2 size probe from one port with stale TIDs
# discarded, and stray packets from a client to its transfer port. inotify on the secret proves that
# nothing outside the root was even opened.

. "$(dirname "$0")/lib.sh"

require_root
require_tools ip ss python3
require_herd

setup_work
net_setup
TFTP_ROOT=$WORK/root
mkdir -p "$TFTP_ROOT/sub"

# The secret is readable by anyone: only herd's confinement keeps it in.
SECRET=$WORK/secret
SECRET_TEXT="TOP-SECRET-$$-$RANDOM$RANDOM"
echo "$SECRET_TEXT" >"$SECRET"
chmod 644 "$SECRET"
echo "hello from the root" >"$TFTP_ROOT/inroot.txt"
echo "inside sub" >"$TFTP_ROOT/sub/file.txt"
mkfile "$TFTP_ROOT/f1M" $((1 << 20))
ln -s ../secret "$TFTP_ROOT/link_out"
ln -s "$SECRET" "$TFTP_ROOT/link_abs"
ln -s ../../secret "$TFTP_ROOT/sub/link_up"

# Short first retransmission so that the retransmit checks are quick.
HERD_TFTP_EXTRA="rto_initial_ms = 300"
herd_start

# Transfer ports bind to the listen address only, not to every interface.
wild=$(ip netns exec "$NS_SRV" ss -Huanp | grep "pid=$HERD_PID," | awk '{print $4}' | grep -v "^$SRV_IP:")
check "every herd UDP socket is bound to $SRV_IP (none to a wildcard: ${wild:-none})" [ -z "$wild" ]

# After herd_start (which makes the root readable): a file only root may read.
echo "root only" >"$TFTP_ROOT/noread"
chmod 600 "$TFTP_ROOT/noread"

bg_start python3 "$SYS_DIR/inotify_watch.py" "$SECRET" >"$WORK/inotify.log" 2>&1
WATCH_PID=$BG_PID
for _ in $(seq 50); do
	grep -q watching "$WORK/inotify.log" && break
	sleep 0.1
done
grep -q watching "$WORK/inotify.log" || die "inotify watcher did not start: $(cat "$WORK/inotify.log")"

in_cli python3 "$SYS_DIR/tftp_probe.py" "$SRV_IP" "$TFTP_ROOT" "$SECRET_TEXT" >"$WORK/probe.log" 2>&1
probe_rc=$?
grep -E '^(ok|FAIL): ' "$WORK/probe.log"
N_PASS=$((N_PASS + $(grep -c '^ok: ' "$WORK/probe.log")))
N_FAIL=$((N_FAIL + $(grep -c '^FAIL: ' "$WORK/probe.log")))
if [ "$probe_rc" -ne 0 ] && ! grep -q '^FAIL: ' "$WORK/probe.log"; then
	sed 's/^/  /' "$WORK/probe.log" | tail -20
	fail "tftp_probe.py crashed (exit $probe_rc)"
fi

kill "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null
bg_forget "$WATCH_PID"
if grep -qv watching "$WORK/inotify.log"; then
	fail "something opened or read the secret outside the root: $(grep -v watching "$WORK/inotify.log" | sort | uniq -c | tr '\n' ' ')"
else
	pass "the secret outside the root was never opened"
fi

leftovers=$(find "$WORK" -name 'upload.bin*')
check "a refused WRQ left no file behind" [ -z "$leftovers" ]

herd_stop
finish
