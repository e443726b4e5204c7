#!/bin/bash
# herd under a service manager: the sd_notify protocol (systemd's
# Type=notify) and logging into the journal, with a stand-in for systemd:
#  - NOTIFY_SOCKET names a datagram socket in the work directory, where a
#    python3 listener records each message; herd (ASan/UBSan build, seccomp
#    on) says READY=1 with a STATUS= once serving, RELOADING=1 with
#    MONOTONIC_USEC= (CLOCK_MONOTONIC, now) at SIGHUP and READY=1 after it,
#    and STOPPING=1 at SIGTERM;
#  - JOURNAL_STREAM names herd's stderr (as systemd does when stderr is the
#    journal): every line starts with its syslog priority ("<6>...") and
#    none with herd's text level.
. "$(dirname "$0")/lib.sh"

require_root
require_tools python3 stat
require_herd
[ -z "${HERD_REF:-}" ] || skip "herd only"
setup_work
net_setup

SOCK=$WORK/notify.sock
NOTES=$WORK/notify.log
# Each datagram as one line: the listener's CLOCK_MONOTONIC in
# microseconds, then the message with its newlines as '|'.
bg_start python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        t = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        out.write("%d %s\n" % (t, msg.replace("\n", "|")))
' "$SOCK" "$NOTES"
LISTENER=$BG_PID
wait_for 10 test -S "$SOCK" || die "the notify listener did not start"

# stderr's file exists before herd starts: its device and inode are what
# systemd would put in JOURNAL_STREAM.
: >"$WORK/herd.stderr"
export NOTIFY_SOCKET=$SOCK
export JOURNAL_STREAM
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/herd.stderr")
herd_start
unset NOTIFY_SOCKET JOURNAL_STREAM

# nth N PATTERN: the line number of the Nth message matching PATTERN.
nth() { grep -n -- "$2" "$NOTES" | sed -n "$1p" | cut -d: -f1; }
second_ready() { [ -n "$(nth 2 ' READY=1')" ]; }

if wait_for 10 grep -q ' READY=1' "$NOTES"; then
	pass "READY=1 once serving"
else
	die "no READY=1 (messages: $(cat "$NOTES"))"
fi
check "READY=1 carries a one-line status" grep -qE ' READY=1\|STATUS=serving generation 1, [0-9]+ nodes?$' "$NOTES"
check "nothing before READY=1" test "$(nth 1 .)" = "$(nth 1 ' READY=1')"

kill -HUP "$HERD_PID"
wait_for 10 second_ready || fail "no READY=1 after SIGHUP: $(cat "$NOTES")"
RL=$(nth 1 ' RELOADING=1')
if [ -n "$RL" ] && [ "$RL" -lt "$(nth 2 ' READY=1')" ]; then
	pass "SIGHUP: RELOADING=1, then READY=1"
else
	fail "SIGHUP: RELOADING=1 before the second READY=1 ($(cat "$NOTES"))"
fi
# MONOTONIC_USEC is herd's CLOCK_MONOTONIC when the reload began: within a
# few seconds of when the listener received it.
LINE=$(grep ' RELOADING=1' "$NOTES" | head -1)
T_RECV=${LINE%% *}
T_SENT=$(sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p' <<<"$LINE")
if [ -n "$T_SENT" ] && [ $((T_RECV - T_SENT)) -ge 0 ] && [ $((T_RECV - T_SENT)) -lt 5000000 ]; then
	pass "RELOADING=1 carries MONOTONIC_USEC (CLOCK_MONOTONIC, $((T_RECV - T_SENT)) us before receipt)"
else
	fail "MONOTONIC_USEC: '$LINE'"
fi
check "the reload's log line follows the manager's protocol" grep -q 'reload: .*generation 2 serving' "$HERD_ERR"

herd_stop
check "STOPPING=1 at SIGTERM" wait_for 5 grep -q ' STOPPING=1' "$NOTES"

# The journal's form: a priority, never herd's text level.
check "stderr lines carry syslog priorities (<6> info)" grep -q '^<6>herd .* serving' "$HERD_ERR"
if grep -qE '^herd: (error|warning|info|debug):' "$HERD_ERR"; then
	fail "a text-level line on a journal stream: $(grep -m1 -E '^herd: ' "$HERD_ERR")"
else
	pass "no text-level lines when stderr is the journal"
fi
kill "$LISTENER" 2>/dev/null
finish
