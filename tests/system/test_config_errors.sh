#!/bin/bash
# herd's answers to bad configurations and start-up failures:
#  - `herd check` names every problem as FILE:LINE: reason, with the line
#    the problem is on, and exits 1; a valid file prints the effective
#    configuration (which is itself a valid file that prints the same) and
#    exits 0;
#  - `herd serve` that cannot start (TFTP or syslog port taken, TFTP root
#    missing, unknown user) exits non-zero with ONE clear line on stderr;
#  - never a crash or a sanitizer report.

. "$(dirname "$0")/lib.sh"

require_root
require_tools ip ss python3 timeout
require_herd
[ -z "${HERD_REF:-}" ] || skip "herd only"

setup_work
herd_san_env
ROOT=$WORK/root
mkdir -p "$ROOT"
chmod 755 "$ROOT"

# --- herd check ---------------------------------------------------------------

# run_check NAME: herd check -c $WORK/NAME.conf; sets RC, OUT, ERR (files).
run_check() {
	CONF=$WORK/$1.conf
	OUT=$WORK/$1.out
	ERR=$WORK/$1.err
	timeout 20 "$HERD" check -c "$CONF" >"$OUT" 2>"$ERR"
	RC=$?
}

no_sanitizer() { # NAME
	if sanitizer_clean "$ERR"; then return 0; fi
	sed 's/^/  /' "$ERR" | head -40
	fail "$1: sanitizer report"
	return 1
}

# expect_error NAME LINE REASON_REGEX: the config on stdin has exactly one
# problem, on LINE (a regex: "4|5" accepts either).
expect_error() {
	local name=$1 line=$2 reason=$3 bad
	cat >"$WORK/$name.conf"
	run_check "$name"
	no_sanitizer "$name" || return
	if [ "$RC" -ne 1 ]; then
		fail "$name: herd check exit status $RC, expected 1"
		sed 's/^/  /' "$ERR" | head -5
		return
	fi
	# every line of stderr is FILE:LINE: reason, or the closing count
	bad=$(grep -vE "^$CONF:[0-9]+: |^herd: $CONF: [0-9]+ problems?\$" "$ERR")
	if [ -n "$bad" ]; then
		fail "$name: stderr line not in FILE:LINE: form: '$(echo "$bad" | head -1)'"
		return
	fi
	if ! grep -qE "^$CONF:($line): .*($reason)" "$ERR"; then
		fail "$name: expected '$CONF:$line: ...$reason...', got: $(grep -v '^herd: ' "$ERR" | head -3 | tr '\n' ' ')"
		return
	fi
	if [ "$(grep -c "^$CONF:" "$ERR")" -ne 1 ]; then
		fail "$name: expected one problem, got: $(tr '\n' ' ' <"$ERR")"
		return
	fi
	if [ -s "$OUT" ]; then
		fail "$name: printed a configuration although it is broken"
		return
	fi
	pass "$name: $(grep "^$CONF:" "$ERR" | sed "s|^$WORK/||")"
}

# The valid file; the broken ones below differ from it in one place.
cat >"$WORK/valid.conf" <<EOF
[server]
user = nobody
log_level = warning

[tftp]
listen = 10.99.0.1:69, 10.99.1.1:1069
root = $ROOT
blksize_max = 1400
windowsize_max = 32

[log]
syslog = 10.99.0.1:514
netconsole = 10.99.0.1
dir = $WORK/logs
max_file_size = 16M
EOF
run_check valid
if no_sanitizer valid; then
	check "valid config: exit 0, nothing on stderr" [ "$RC" -eq 0 -a ! -s "$ERR" ]
	for want in "user = nobody" "log_level = warning" "listen = 10.99.0.1:69 10.99.1.1:1069" \
		"root = $ROOT" "blksize_max = 1400" "windowsize_max = 32" "netconsole = 10.99.0.1:6666" \
		"max_file_size = 16777216" "retries = 8"; do
		check "valid config prints '$want'" grep -qxF "$want" "$OUT"
	done
	# The effective configuration is itself a valid file, printed the same.
	grep -v '^#' "$OUT" >"$WORK/effective.conf"
	run_check effective
	check "the printed configuration is valid and prints the same" \
		eval "[ $RC -eq 0 ] && diff <(grep -v '^#' '$WORK/valid.out') <(grep -v '^#' '$OUT') >/dev/null"
fi

expect_error unknown_key 6 "unknown setting 'bogus'" <<EOF
[server]
user = nobody

[tftp]
root = $ROOT
bogus = 1
EOF

expect_error unknown_section "3|4" "unknown section \\[nosuch\\]" <<EOF
[tftp]
root = $ROOT
[nosuch]
a = 1
EOF

expect_error key_before_section 1 "section|setting" <<EOF
retries = 3
[tftp]
root = $ROOT
EOF

expect_error out_of_range 4 "blksize_max.*70000.*512\\.\\.65464" <<EOF
[tftp]
root = $ROOT

blksize_max = 70000
EOF

expect_error not_a_number 3 "retries.*not a number" <<EOF
[tftp]
root = $ROOT
retries = many
EOF

expect_error negative 3 "retries" <<EOF
[tftp]
root = $ROOT
retries = -1
EOF

expect_error bad_listen 3 "not an IPv4 address" <<EOF
[tftp]
root = $ROOT
listen = 10.99.0.300:69
EOF

expect_error bad_port 3 "not an IPv4 address|port" <<EOF
[tftp]
root = $ROOT
listen = 10.99.0.1:70000
EOF

expect_error relative_root 2 "absolute path" <<EOF
[tftp]
root = srv/tftp
EOF

expect_error empty_root 2 "absolute path" <<EOF
[tftp]
root =
EOF

expect_error junk_line 4 "expected 'name = value'" <<EOF
[tftp]
root = $ROOT

this line is not INI
EOF

expect_error set_twice 5 "retries.*twice" <<EOF
[tftp]
retries = 3
root = $ROOT

retries = 4
EOF

expect_error bad_log_level 2 "log_level.*loud" <<EOF
[server]
log_level = loud
[tftp]
root = $ROOT
EOF

expect_error bad_bool 3 "enabled.*yes or no" <<EOF
[tftp]
root = $ROOT
enabled = maybe
EOF

expect_error bad_size 2 "rcvbuf.*size" <<EOF
[server]
rcvbuf = 8Q
[tftp]
root = $ROOT
EOF

expect_error bad_user 2 "user" <<EOF
[server]
user = no/body
[tftp]
root = $ROOT
EOF

expect_error rto_order "3|4" "rto_min_ms.*rto_max_ms" <<EOF
[tftp]
root = $ROOT
rto_min_ms = 5000
rto_max_ms = 100
EOF

{
	printf '[tftp]\nroot = %s\n' "$ROOT"
	printf 'retries = %s\n' "$(printf '1%.0s' $(seq 5000))"
} | expect_error long_line 3 "longer than"

# Paths are checked after the syntax: the line is that of `root =`.
expect_error missing_root 3 "$WORK/nonexistent.*No such file" <<EOF
[tftp]
listen = 10.99.0.1:69
root = $WORK/nonexistent
EOF

expect_error root_is_a_file 2 "not a directory" <<EOF
[tftp]
root = $WORK/valid.conf
EOF

# Several problems: each is reported, each on its own line.
cat >"$WORK/many.conf" <<EOF
[tftp]
root = $ROOT
rto_min_ms = 5000
rto_max_ms = 100
[nosuch]
a = 1
this is junk
[tftp]
retries = 3
retries = 4
listen = 1.2.3:69
blksize_max = 70000
[server]
log_level = loud
EOF
run_check many
if no_sanitizer many; then
	missing=
	for l in 7 10 11 12 14; do
		grep -q "^$CONF:$l: " "$ERR" || missing+=" $l"
	done
	grep -qE "^$CONF:(5|6): " "$ERR" || missing+=" 5/6"
	grep -qE "^$CONF:(3|4): " "$ERR" || missing+=" 3/4"
	check "7 problems in one file: all reported with their lines, exit 1${missing:+ (missing lines:$missing)}" \
		[ "$RC" -eq 1 -a -z "$missing" -a "$(grep -c "^$CONF:" "$ERR")" -eq 7 ]
fi

# A file that cannot be read: one line, exit 1.
CONF=$WORK/absent.conf ERR=$WORK/absent.err
timeout 20 "$HERD" check -c "$CONF" >/dev/null 2>"$ERR"
RC=$?
no_sanitizer absent &&
	check "missing file: exit 1, one line naming it ($(head -1 "$ERR"))" \
		[ "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F "$CONF" "$ERR")" ]

# Bytes that are not text: no crash, a clean verdict.
printf '[tftp]\nroot = %s\nretries = 5\0junk\n\0\0[\0]\n' "$ROOT" >"$WORK/nul.conf"
run_check nul
no_sanitizer nul && check "NUL bytes in the file: exit 0 or 1 (got $RC)" [ "$RC" -le 1 ]
head -c 8192 /dev/urandom >"$WORK/garbage.conf"
run_check garbage
no_sanitizer garbage && check "random bytes as config: exit 1 (got $RC)" [ "$RC" -eq 1 ]

# Command line.
timeout 10 "$HERD" --version >"$WORK/version.out" 2>&1
RC=$?
check "herd --version: exit 0, prints $(cat "$TOP/VERSION" 2>/dev/null)" \
	[ "$RC" -eq 0 -a -n "$(grep -F "$(cat "$TOP/VERSION" 2>/dev/null)" "$WORK/version.out")" ]
timeout 10 "$HERD" check >/dev/null 2>"$WORK/usage.err"
RC=$?
check "herd check without -c: usage, exit 2 (got $RC)" [ "$RC" -eq 2 ]

# --- what a new setup gets wrong (checked beyond the file) -----------------------

# The user herd drops to, and what it may do with its own uid and gid.
expect_error no_such_user 2 "\[server\] user 'herd-no-such-user' does not exist" <<EOF
[server]
user = herd-no-such-user
[tftp]
root = $ROOT
[log]
enabled = no
EOF

mkdir -p "$WORK/private-root" "$WORK/root-logs"
chmod 700 "$WORK/private-root"
chmod 755 "$WORK/root-logs"
expect_error tftp_root_private 4 "root $WORK/private-root: user nobody cannot look up files.*mode 0700" <<EOF
[server]
user = nobody
[tftp]
root = $WORK/private-root
[log]
enabled = no
EOF

expect_error log_dir_not_writable 6 "dir $WORK/root-logs: user nobody cannot create files.*owner root" <<EOF
[server]
user = nobody
[tftp]
root = $ROOT
[log]
dir = $WORK/root-logs
EOF

expect_error log_dir_no_parent 4 "dir $WORK/no/such/logs: No such file" <<EOF
[tftp]
root = $ROOT
[log]
dir = $WORK/no/such/logs
EOF

# [cluster]: a connection string libpq cannot read; a database for a
# server with no leases to share; a name that is no name.
expect_error cluster_bad_conninfo 6 "\[cluster\] database: .*(missing \"=\"|invalid)" <<EOF
[tftp]
root = $ROOT
[log]
enabled = no
[cluster]
database = host=db dbname
EOF

expect_error cluster_without_dhcp 6 "\[cluster\] database: the servers share DHCP leases, and this one has no DHCP" <<EOF
[tftp]
root = $ROOT
[log]
enabled = no
[cluster]
database = host=db dbname=herd
EOF

expect_error cluster_bad_name 6 "\[cluster\] name: 'a b'" <<EOF
[tftp]
root = $ROOT
[log]
enabled = no
[cluster]
name = a b
EOF

# A DHCP setup whose loaders and images are all in place (no warnings).
DHCP_ROOT=$WORK/dhcp-root
mkdir -p "$DHCP_ROOT" "$WORK/state" "$WORK/dhcp-logs"
chown nobody "$WORK/state" "$WORK/dhcp-logs"
for f in undionly.kpxe ipxe.efi vmlinuz initrd.img pxelinux.0; do echo "$f" >"$DHCP_ROOT/$f"; done
chmod -R a+rX "$DHCP_ROOT"
: >"$WORK/nodes.tab"
# dhcp_conf [GROUP LINES...]: on stdout; line 14 is the first GROUP line.
dhcp_conf() {
	printf '%s\n' "[server]" "user = nobody" "[tftp]" "root = $DHCP_ROOT" "[log]" \
		"dir = $WORK/dhcp-logs" "[dhcp]" "enabled = yes" "inventory = $WORK/nodes.tab" \
		"lease_file = $WORK/state/leases" "[subnet lab]" "network = 10.99.0.0/24" \
		"[group default]" "$@"
}

dhcp_conf "kernel = vmlinuz" "initrd = initrd.img" >"$WORK/dhcp_ok.conf"
run_check dhcp_ok
no_sanitizer dhcp_ok &&
	check "DHCP setup with every file in place: exit 0, nothing on stderr ($(head -c 200 "$ERR"))" \
		[ "$RC" -eq 0 -a ! -s "$ERR" ]
check "herd check says how it classifies each loader" \
	eval 'grep -q "^#   \[group default\] loader_bios = undionly.kpxe: iPXE" "$OUT" &&
	      grep -q "^#   \[group default\] loader_efi64 = ipxe.efi: iPXE" "$OUT"'

dhcp_conf "kernel = http://10.99.0.1/vmlinuz" |
	expect_error kernel_url 14 "kernel 'http://10.99.0.1/vmlinuz' is a URL, but this group's iPXE fetches by TFTP"
dhcp_conf "kernel = ftp://10.99.0.1/vmlinuz" |
	expect_error kernel_ftp_url 14 "kernel: 'ftp://10.99.0.1/vmlinuz': the only URLs herd passes on are http://"
dhcp_conf "kernel = vmlinuz" "loader_efi64 = http://10.99.0.1/ipxe.efi" |
	expect_error loader_url 15 "loader_efi64: 'http://10.99.0.1/ipxe.efi' is a URL, but a loader is a path"
dhcp_conf "kernel = vmlinuz" "ipxe_fetch = http" |
	expect_error fetch_http_without_http 15 "\[group default\] ipxe_fetch = http, but \[http\] is not enabled"
dhcp_conf "kernel = vmlinuz" "renewal_time = 4000" |
	expect_error renewal_above_lease 15 "\[group default\] renewal_time \(4000 s\) must be below the lease time \(3600 s"
dhcp_conf "kernel = vmlinuz" "renewal_time = 600" "rebinding_time = 500" |
	expect_error renewal_after_rebinding 16 "renewal_time \(600 s\) must be below rebinding_time \(500 s\)"
dhcp_conf "kernel = vmlinuz" "boot_options = sometimes" |
	expect_error boot_options 15 "boot_options: 'sometimes' is not pxe or always"
chmod 600 "$DHCP_ROOT/vmlinuz"
dhcp_conf "kernel = vmlinuz" |
	expect_error unreadable_kernel 14 "\[group default\] kernel vmlinuz: user nobody cannot read it"
chmod 644 "$DHCP_ROOT/vmlinuz"
dhcp_conf "kernel = vmlinuz" | sed "s|^lease_file = .*|lease_file = $WORK/no-state/leases|" |
	expect_error lease_dir_missing 10 "lease_file $WORK/no-state/leases: directory $WORK/no-state does not exist"

# [dhcp] mode: server or proxy. An inventory address '-' only in proxy mode,
# which needs no [subnet].
dhcp_conf "kernel = vmlinuz" | sed "s|^enabled = yes|enabled = yes\nmode = relay|" |
	expect_error bad_mode 9 "mode: 'relay' is not server or proxy"
printf 'n1 02:00:00:00:00:01 - default\n' >"$WORK/nodes.tab"
dhcp_conf "kernel = vmlinuz" >"$WORK/inv_dash.conf"
run_check inv_dash
no_sanitizer inv_dash &&
	check "inventory address '-' in server mode: exit 1, $WORK/nodes.tab:1: ... only with mode = proxy" \
		eval '[ "$RC" -eq 1 ] && grep -q "^$WORK/nodes.tab:1: .-. is not an IP address (.-. only with \[dhcp\] mode = proxy)" "$ERR"'
dhcp_conf "kernel = vmlinuz" | sed -e "s|^enabled = yes|enabled = yes\nmode = proxy|" \
	-e '/^lease_file/d' -e '/^\[subnet lab\]/d' -e '/^network = /d' >"$WORK/proxy_ok.conf"
run_check proxy_ok
no_sanitizer proxy_ok &&
	check "proxy mode, no [subnet], inventory address '-': exit 0, nothing on stderr ($(head -c 200 "$ERR"))" \
		[ "$RC" -eq 0 -a ! -s "$ERR" ]
: >"$WORK/nodes.tab"

# The effective renewal times are printed.
dhcp_conf "kernel = vmlinuz" "renewal_time = 600" >"$WORK/timers.conf"
run_check timers
check "herd check prints the effective renewal and rebinding times" \
	grep -qF "renewal (T1) 600 s, rebinding (T2) 2850 s" "$OUT"

# An inventory that names a URL where iPXE fetches by TFTP, or another
# scheme than http://: an error at the inventory's line.
printf 'n1 02:00:00:00:00:01 10.99.0.11 default kernel=http://x/vmlinuz\n' >"$WORK/nodes.tab"
dhcp_conf "kernel = vmlinuz" >"$WORK/inv_url.conf"
run_check inv_url
no_sanitizer inv_url &&
	check "inventory kernel=http://... in a TFTP group: exit 1, $WORK/nodes.tab:1: ... is a URL" \
		eval '[ "$RC" -eq 1 ] && grep -q "^$WORK/nodes.tab:1: kernel=http://x/vmlinuz is a URL, but the iPXE of \[group default\] fetches by TFTP" "$ERR"'
printf 'n1 02:00:00:00:00:01 10.99.0.11 default initrd=tftp://x/initrd\n' >"$WORK/nodes.tab"
run_check inv_url
no_sanitizer inv_url &&
	check "inventory initrd=tftp://...: exit 1, $WORK/nodes.tab:1: ... is a URL" \
		eval '[ "$RC" -eq 1 ] && grep -q "^$WORK/nodes.tab:1: initrd: .tftp://x/initrd. is a URL, but the only URLs herd passes on are http://" "$ERR"'

# Warnings: printed as FILE:LINE: warning: ..., exit 0.
printf '# name mac ip group\nn1 02:00:00:00:00:01 10.99.0.11 default loader=pxelinux.0\n' >"$WORK/nodes.tab"
printf 'n2 02:00:00:00:00:02 10.99.0.12 default loader=pxelinux.0\n' >>"$WORK/nodes.tab"
printf 'n3 02:00:00:00:00:03 10.99.0.13 default loader_efi64=pxelinux.0\n' >>"$WORK/nodes.tab"
printf 'a custom iPXE build, see https://ipxe.org\n' >"$DHCP_ROOT/boot.efi"
chmod 644 "$DHCP_ROOT/boot.efi"
printf 'GNU GRUB  version %%s\n' | tee "$DHCP_ROOT/bootx64.efi" >"$DHCP_ROOT/grubnetx64.efi"
chmod 644 "$DHCP_ROOT/bootx64.efi" "$DHCP_ROOT/grubnetx64.efi"
dhcp_conf "kernel = vmlinuz" "[group uefi]" "loader_efi64 = boot.efi" "loader_bios = pxelinux.efi" \
	"kernel = vmlinuz" "[group odd]" "loader_efi64 = pxelinux.0" "kernel = vmlinuz" \
	"[group grubby]" "loader_efi64 = bootx64.efi" "kernel = vmlinuz" \
	"[group grub]" "loader_efi64 = grubnetx64.efi" "kernel = vmlinuz" >"$WORK/warn.conf"
run_check warn
if no_sanitizer warn; then
	check "warnings only: exit 0 (got $RC), the configuration is printed" [ "$RC" -eq 0 -a -s "$OUT" ]
	check "warning: a per-node loader= applies to BIOS clients only, at the inventory's line" \
		grep -q "^$WORK/nodes.tab:2: warning: loader=pxelinux.0 applies to BIOS clients only" "$ERR"
	check "warning: an iPXE image (by its bytes) that herd would classify as another loader" \
		grep -q "^$WORK/warn.conf:16: warning: \[group uefi\] loader_efi64 boot.efi: its bytes say iPXE.*chainload loop" "$ERR"
	check "warning: a UEFI image in loader_bios" \
		grep -q "^$WORK/warn.conf:17: warning: \[group uefi\] loader_bios pxelinux.efi: a UEFI image" "$ERR"
	check "warning: pxelinux (BIOS only) in loader_efi64" \
		grep -q "^$WORK/warn.conf:20: warning: \[group odd\] loader_efi64 pxelinux.0: a BIOS image" "$ERR"
	check "warning: a node's loader_efi64= that is a BIOS image, at the inventory's line" \
		grep -q "^$WORK/nodes.tab:4: warning: loader_efi64 pxelinux.0: a BIOS image" "$ERR"
	check "warning: a GRUB image (by its bytes) that herd would not generate grub.cfg for" \
		grep -q "^$WORK/warn.conf:23: warning: \[group grubby\] loader_efi64 bootx64.efi: its bytes say GRUB.*no grub.cfg" "$ERR"
	check "herd check says it takes grubnetx64.efi for GRUB" \
		grep -q "^#   \[group grub\] loader_efi64 = grubnetx64.efi: GRUB (herd generates grub.cfg" "$OUT"
	check "warning: a loader missing from the TFTP root" \
		grep -q "^$WORK/warn.conf:17: warning: .*pxelinux.efi: not found beneath" "$ERR"
	check "the per-node loader's classification is printed" \
		grep -q "^#   $WORK/nodes.tab:2 loader=pxelinux.0 (BIOS only, 2 nodes): pxelinux" "$OUT"
	check "the summary counts the warnings" grep -qE "^herd: $WORK/warn.conf: no problem, [0-9]+ warnings$" "$ERR"
	bad=$(grep -vE "^$WORK/(warn.conf|nodes.tab):[0-9]+: warning: |^herd: " "$ERR")
	check "every warning is FILE:LINE: warning: reason${bad:+ (not: $(echo "$bad" | head -1))}" [ -z "$bad" ]
fi

# --- herd serve that cannot start ----------------------------------------------

net_setup
TFTP_ROOT=$ROOT
herd_dirs

# serve_fails NAME REGEX: herd serve -c $WORK/herd.conf must exit non-zero
# within 10 s with exactly one line on stderr, matching REGEX.
serve_fails() {
	local name=$1 want=$2 rc lines
	HERD_ERR=$WORK/serve-$name.err
	timeout 10 ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>"$HERD_ERR"
	rc=$?
	if [ "$rc" -eq 124 ]; then
		fail "$name: herd serve kept running (it should have refused to start)"
		return
	fi
	if ! sanitizer_clean "$HERD_ERR"; then
		sed 's/^/  /' "$HERD_ERR" | head -40
		fail "$name: sanitizer report"
		return
	fi
	lines=$(grep -c . "$HERD_ERR")
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$lines" -eq 1 ] && grep -qE "$want" "$HERD_ERR"; then
		pass "$name: exit $rc, one line: $(cat "$HERD_ERR")"
	else
		fail "$name: exit $rc, $lines line(s) on stderr (want one matching '$want'):"
		sed 's/^/  | /' "$HERD_ERR" | head -10
	fi
}

# port_taken PORT NAME REGEX: a plain UDP socket holds SRV_IP:PORT meanwhile.
port_taken() {
	local port=$1 holder
	bg_start ip netns exec "$NS_SRV" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("bound", flush=True)
time.sleep(60)' "$SRV_IP" "$port" >"$WORK/holder.out"
	holder=$BG_PID
	wait_udp_listen "$NS_SRV" "$port" 5 || die "could not bind $SRV_IP:$port with python"
	serve_fails "$2" "$3"
	kill "$holder"
	wait "$holder" 2>/dev/null
	bg_forget "$holder"
}

herd_config "$WORK/herd.conf"
port_taken 69 "TFTP port in use" "$SRV_IP:69.*(in use|EADDRINUSE)|(in use|EADDRINUSE).*$SRV_IP:69"
port_taken 514 "syslog port in use" "$SRV_IP:514.*(in use|EADDRINUSE)|(in use|EADDRINUSE).*$SRV_IP:514"

TFTP_ROOT=$WORK/no-such-root herd_config "$WORK/herd.conf"
serve_fails "missing TFTP root" "$WORK/no-such-root.*(No such file|not found|does not exist)"

HERD_SERVER_EXTRA="" herd_config "$WORK/herd.conf"
sed -i 's/^user = nobody$/user = herd-no-such-user/' "$WORK/herd.conf"
serve_fails "unknown user" "herd-no-such-user"

# And the same configuration, fixed, starts and stops cleanly.
herd_config "$WORK/herd.conf"
herd_san_env
bg_start ip netns exec "$NS_SRV" "$HERD" serve -c "$WORK/herd.conf" 2>"$WORK/herd.stderr"
HERD_PID=$BG_PID HERD_ERR=$WORK/herd.stderr
if wait_udp_listen "$NS_SRV" 69; then
	pass "with the port free and the root present, herd serves"
	herd_stop
else
	fail "herd did not start with a good configuration: $(head -3 "$WORK/herd.stderr")"
fi

finish
