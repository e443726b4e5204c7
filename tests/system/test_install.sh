#!/bin/bash
# `make install` and `make uninstall` into a staging directory (DESTDIR):
#  - the tree: the binary (runs), the three manual pages (man -l renders
#    them), the systemd unit naming the installed binary and configuration
#    (PREFIX, BINDIR, SYSCONFDIR honoured), the logrotate snippet, the
#    configuration and node table from the examples;
#  - an existing herd.conf is never replaced;
#  - the unit passes `systemd-analyze verify` (if installed) and the
#    snippet `logrotate -d` (if installed), both on the staged files;
#  - uninstall removes what install put there but the configuration.
# Needs no root and no network; builds nothing (build/herd must exist).
. "$(dirname "$0")/lib.sh"

require_tools make install man
[ -x "$TOP/build/herd" ] || skip "build/herd not built (make build/herd)"
setup_work
cd "$TOP" || die "no source tree"

# make_in DESTDIR [VAR=VALUE...]: make install, output in $WORK/make.log.
make_in() {
	local dest=$1
	shift
	make -s install DESTDIR="$dest" "$@" >"$WORK/make.log" 2>&1
}

# --- the default prefix (/usr/local) ------------------------------------------
D=$WORK/stage
if make_in "$D"; then pass "make install DESTDIR=..."; else die "make install: $(tail -5 "$WORK/make.log")"; fi
for f in usr/local/sbin/herd usr/local/share/man/man8/herd.8 usr/local/share/man/man5/herd.conf.5 \
	usr/local/share/man/man5/herd-nodes.5 usr/local/lib/systemd/system/herd.service \
	etc/logrotate.d/herd etc/herd/herd.conf etc/herd/nodes.tab; do
	check "installed: /$f" test -f "$D/$f"
done
check "the binary is executable and runs" "$D/usr/local/sbin/herd" --version
check "the unit runs the installed binary" \
	grep -qx 'ExecStart=/usr/local/sbin/herd serve -c /etc/herd/herd.conf' \
	"$D/usr/local/lib/systemd/system/herd.service"
check "the unit is Type=notify" grep -qx 'Type=notify' "$D/usr/local/lib/systemd/system/herd.service"
# shellcheck disable=SC2016 # $MAINPID is the unit's, literally
check "the unit reloads with SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' \
	"$D/usr/local/lib/systemd/system/herd.service"
check "herd.conf is the example" cmp -s etc/herd.conf.example "$D/etc/herd/herd.conf"
# herd reads them again at a reload, as [server] user
check "herd.conf and nodes.tab are readable by herd's user" \
	test "$(stat -c %a "$D/etc/herd/herd.conf" "$D/etc/herd/nodes.tab" | sort -u)" = 644
for page in man8/herd.8 man5/herd.conf.5 man5/herd-nodes.5; do
	check "man -l renders the installed $page" \
		sh -c "man -l '$D/usr/local/share/man/$page' 2>/dev/null | grep -q '^NAME'"
done

# --- an existing configuration is kept -----------------------------------------
echo "; the administrator's" >>"$D/etc/herd/herd.conf"
cp "$D/etc/herd/herd.conf" "$WORK/mine.conf"
make_in "$D" || fail "make install (again): $(tail -5 "$WORK/make.log")"
check "a second install keeps the existing herd.conf" cmp -s "$WORK/mine.conf" "$D/etc/herd/herd.conf"

# --- other prefixes -------------------------------------------------------------
D2=$WORK/stage2
make_in "$D2" PREFIX=/usr SYSCONFDIR=/etc/site MANDIR=/usr/share/man \
	SYSTEMDUNITDIR=/lib/systemd/system || fail "make install PREFIX=/usr: $(tail -5 "$WORK/make.log")"
check "PREFIX=/usr: /usr/sbin/herd" test -x "$D2/usr/sbin/herd"
check "MANDIR: /usr/share/man/man8/herd.8" test -f "$D2/usr/share/man/man8/herd.8"
check "SYSTEMDUNITDIR and SYSCONFDIR in the unit" \
	grep -qx 'ExecStart=/usr/sbin/herd serve -c /etc/site/herd/herd.conf' "$D2/lib/systemd/system/herd.service"
check "SYSCONFDIR: /etc/site/herd/herd.conf" test -f "$D2/etc/site/herd/herd.conf"

# --- the unit and the snippet, checked by their own tools ----------------------
if command -v systemd-analyze >/dev/null; then
	# verify wants the binary where the unit says and the pages in MANPATH
	sed "s|^ExecStart=/usr/local/sbin/herd|ExecStart=$D/usr/local/sbin/herd|" \
		"$D/usr/local/lib/systemd/system/herd.service" >"$WORK/herd.service"
	if MANPATH=$D/usr/local/share/man systemd-analyze verify "$WORK/herd.service" >"$WORK/verify.log" 2>&1 &&
		[ ! -s "$WORK/verify.log" ]; then
		pass "systemd-analyze verify: no complaint"
	else
		fail "systemd-analyze verify: $(head -5 "$WORK/verify.log")"
	fi
else
	echo "systemd-analyze not installed: the unit is not verified"
fi
if command -v logrotate >/dev/null; then
	mkdir -p "$WORK/var/log/herd/nodes"
	echo "node01 line" >"$WORK/var/log/herd/nodes/node01.log"
	sed "s|/var/log/herd|$WORK/var/log/herd|" "$D/etc/logrotate.d/herd" >"$WORK/logrotate.conf"
	# -f: rotate now; -d: say what would be done, do nothing
	logrotate -d -f -s "$WORK/logrotate.state" "$WORK/logrotate.conf" >"$WORK/lr.log" 2>&1
	if grep -q "rotating log $WORK/var/log/herd/nodes/node01.log" "$WORK/lr.log" &&
		grep -q "running postrotate script" "$WORK/lr.log" && ! grep -qi "^error" "$WORK/lr.log"; then
		pass "logrotate -d: node01.log rotated, then herd told (postrotate)"
	else
		sed 's/^/  /' "$WORK/lr.log" | tail -20
		fail "logrotate -d on the snippet"
	fi
else
	echo "logrotate not installed: the snippet is not checked"
fi

# --- uninstall ------------------------------------------------------------------
make -s uninstall DESTDIR="$D" >"$WORK/make.log" 2>&1 || fail "make uninstall: $(tail -5 "$WORK/make.log")"
left=$(cd "$D" && find . -type f | sort | tr '\n' ' ')
check "uninstall leaves only the configuration ($left)" \
	test "$left" = "./etc/herd/herd.conf ./etc/herd/nodes.tab "
finish
