#!/bin/sh
# shellcheck shell=dash disable=SC2154,SC3057 # busybox ash: ${v:i:n} works; udhcpc sets $ip etc.
# herd's node /init (busybox sh): embedded in herd, written into every node
# initramfs by src/image/initramfs.c. The seed's order, and nothing before it:
#
#   driver  the NIC drivers for the PCI network devices present (their
#           modaliases against the initramfs's trimmed modules.alias)
#   dhcp    udhcpc on the first interface with a link: address, log host
#           (option 7, else the DHCP server), host name (option 12)
#   log     the whole kernel ring buffer to the log host as syslog, then
#           the live stream: netconsole, else klogd -> syslogd
#   root    root=/dev/nfs nfsroot=[SERVER:]/PATH[,opts]: NFSv4 read-only,
#           a tmpfs for the node's writes, overlay, switch_root to init=
#           (in the node: /run/herd/lower, /run/herd/rw, /run/herd/dhcp.env)
#
# Each step writes "herd-init: <step>: <what>" to /dev/kmsg, so the kernel
# log holds them in order (and the log host gets them with the ring buffer).
# A failure writes "herd-init: FAILED step=<step>: <why>" to /dev/kmsg and to
# the log host when it is known, then follows herd.fail=shell|reboot|poweroff
# (default: reboot after 10 s).
#
# Kernel command line: root=/dev/nfs nfsroot=... ip=dhcp init=/sbin/init
# herd.node=NAME herd.image=NAME/VERSION herd.fail=... herd.netconsole=0
# (stream through syslog only) herd.nfs_timeout=SECONDS (30: the NFS mount).
#
# udhcpc runs this file as its script too (-s /init): see udhcpc_event.

export PATH=/bin
STEP=init
LOGHOST=
SYSLOGD=
LEASE=/run/herd-dhcp.env
SENT=0

# --- udhcpc's script ---------------------------------------------------------------

# udhcpc_event EVENT: configures the interface and writes the lease to $LEASE
# as shell assignments. Option 7 comes as opt7=<hex> (udhcpc has no name for
# it): its first address becomes loghost=.
q() { printf "%s='%s'\n" "$1" "$(echo "$2" | tr -d "'")"; }
udhcpc_event() {
	case "$1" in
	deconfig)
		ip -4 addr flush dev "$interface"
		ip link set "$interface" up
		;;
	bound | renew)
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/${mask:-24}" dev "$interface"
		[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
		loghost=
		if [ ${#opt7} -ge 8 ]; then
			h=$opt7
			loghost=$(printf '%d.%d.%d.%d' "0x${h:0:2}" "0x${h:2:2}" "0x${h:4:2}" "0x${h:6:2}")
		fi
		{
			q interface "$interface"
			q ip "$ip"
			q mask "$mask"
			q router "$router"
			q serverid "$serverid"
			q hostname "$hostname"
			q loghost "$loghost"
		} >"$LEASE"
		;;
	esac
	return 0
}

if [ $$ != 1 ]; then
	udhcpc_event "$@"
	exit 0
fi

# --- logging -------------------------------------------------------------------------

# arg NAME DEFAULT: the last NAME= of the kernel command line.
arg() {
	v=
	# shellcheck disable=SC2013 # words, not lines
	for w in $(cat /proc/cmdline); do
		case $w in "$1"=*) v=${w#*=} ;; esac
	done
	echo "${v:-$2}"
}

# to_loghost LINE: sends LINE through the remote syslogd and waits (5 s at
# most) until it has left: syslogd forwards before it logs locally, so the
# line in logread means it was sent.
to_loghost() {
	[ -n "$SYSLOGD" ] || return 0
	SENT=$((SENT + 1))
	logger -t herd-init -p user.notice "${1#herd-init: } (#$SENT)"
	i=0
	while ! logread 2>/dev/null | grep -qF "(#$SENT)" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# say WHAT: "herd-init: <step>: WHAT [node= image=]" to the kernel log; once
# the ring buffer has gone out, to the log host too (unless netconsole
# carries kernel lines of that level already).
say() {
	line="herd-init: $STEP: $*$TAGS"
	echo "<5>$line" >/dev/kmsg
	[ -n "$SYSLOGD" ] || return 0
	read -r cl _ </proc/sys/kernel/printk
	if [ -z "$NETCONSOLE" ] || [ "${cl:-0}" -le 5 ]; then
		to_loghost "$line"
	fi
}

# failed WHY: the failure, everywhere it can go; then herd.fail=.
failed() {
	line="herd-init: FAILED step=$STEP: $*$TAGS"
	echo "<3>$line" >/dev/kmsg
	echo "$line" >/dev/console
	if [ -z "$SYSLOGD" ] && [ -n "$LOGHOST" ]; then
		start_syslogd
	fi
	to_loghost "$line"
	case $(arg herd.fail reboot) in
	shell)
		echo "herd-init: a shell (herd.fail=shell); exit it to reboot" >/dev/console
		setsid cttyhack sh
		;;
	poweroff)
		sync
		poweroff -f
		;;
	*)
		sleep 10
		sync
		reboot -f
		;;
	esac
	reboot -f
	while :; do sleep 60; done
}

start_syslogd() {
	syslogd -R "$LOGHOST:514" -L -C128 || return 1
	i=0
	while [ ! -S /dev/log ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S /dev/log ] && SYSLOGD=1
}

# --- driver ----------------------------------------------------------------------------

# load_alias MODALIAS: modprobe the module(s) whose alias matches; busybox's
# modprobe resolves aliases itself, the loop is for a build that does not.
load_alias() {
	modprobe -q "$1" 2>/dev/null && return 0
	found=1
	while read -r kw pat mod; do
		[ "$kw" = alias ] || continue
		# shellcheck disable=SC2254 # the alias is a glob pattern
		case $1 in $pat) modprobe -q "$mod" && found=0 ;; esac
	done <"/lib/modules/$KVER/modules.alias"
	return $found
}

step_driver() {
	STEP=driver
	devs=
	nodrv=
	for d in /sys/bus/pci/devices/*; do
		[ -r "$d/class" ] || continue
		case $(cat "$d/class") in 0x02*) ;; *) continue ;; esac
		id=$(cat "$d/vendor" "$d/device" | sed 's/^0x//' | tr '\n' ':')
		id=${id%:}
		devs="$devs ${d##*/}=$id"
		load_alias "$(cat "$d/modalias")" || nodrv="$nodrv $id"
	done
	[ -n "$devs" ] || failed "no PCI network device"
	# a virtio NIC shows on the virtio bus once virtio_pci drives its function
	for d in /sys/bus/virtio/devices/*; do
		[ -r "$d/modalias" ] && load_alias "$(cat "$d/modalias")"
	done
	ifs=
	i=0
	while [ $i -lt 50 ]; do
		ifs=
		for n in /sys/class/net/*; do
			[ "${n##*/}" = lo ] || ifs="$ifs${n##*/} "
		done
		[ -n "$ifs" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	mods=$(cut -d' ' -f1 /proc/modules | tr '\n' ' ')
	[ -n "$ifs" ] || failed "no interface appeared (PCI network devices:$devs; no driver for:${nodrv:- none}; modules: $mods)"
	say "PCI network devices:$devs; modules loaded: $mods; interfaces: $ifs"
}

# --- dhcp ------------------------------------------------------------------------------

step_dhcp() {
	STEP=dhcp
	IF=
	for n in $ifs; do ip link set "$n" up; done
	i=0
	while [ -z "$IF" ] && [ $i -lt 100 ]; do
		for n in $ifs; do
			[ "$(cat "/sys/class/net/$n/carrier" 2>/dev/null)" = 1 ] && IF=$n && break
		done
		[ -n "$IF" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$IF" ] || failed "no link on any interface ($ifs) within 10 s"
	MAC=$(cat "/sys/class/net/$IF/address")
	# -O 7: the log server; 12 (host name) is asked for by default
	udhcpc -i "$IF" -V herd-initramfs -O 7 -s /init -q -n -t 5 -T 2 >/dev/null 2>&1 ||
		failed "no DHCP lease on $IF ($MAC) after 5 tries"
	[ -f "$LEASE" ] || failed "udhcpc succeeded but the lease was not written"
	# shellcheck source=/dev/null
	. "$LEASE"
	LOGHOST=${loghost:-$serverid}
	[ -n "$hostname" ] && hostname "$hostname"
	from="option 7"
	[ -n "$loghost" ] || from="the DHCP server"
	say "$IF $MAC: address $ip/$mask router ${router:--} server $serverid host name ${hostname:--}; log host $LOGHOST ($from)"
	[ -n "$LOGHOST" ] || failed "no log host (no option 7, no server id)"
}

# --- log -------------------------------------------------------------------------------

# link_mac ADDRESS: the Ethernet address packets to ADDRESS go to (its own,
# or its router's), after a ping has filled the ARP table.
link_mac() {
	hop=$(ip route get "$1" 2>/dev/null | sed -n 's/.* via \([0-9.]*\).*/\1/p')
	hop=${hop:-$1}
	ping -c 1 -W 2 "$hop" >/dev/null 2>&1
	while read -r a _ _ hw _; do
		[ "$a" = "$hop" ] && [ "$hw" != 00:00:00:00:00:00 ] && echo "$hw" && return 0
	done </proc/net/arp
	return 1
}

# kmsg_skip: moves the kernel's syslog reader (/proc/kmsg) to the end of the
# ring buffer. netconsole (a CON_PRINTBUFFER console) and klogd start from
# there: without this they would send the whole buffer again.
kmsg_skip() {
	cat /proc/kmsg >/dev/null &
	sleep 0.2
	kill $! 2>/dev/null
	wait $! 2>/dev/null
}

step_log() {
	STEP=log
	lmac=$(link_mac "$LOGHOST")
	start_syslogd || failed "syslogd -R $LOGHOST:514 did not start"
	# the ring buffer, one datagram a line; the first is "Linux version"
	dmesg >/run/dmesg
	kmsg_skip
	n=$(wc -l </run/dmesg)
	logger -t kernel -p user.info </run/dmesg
	rm -f /run/dmesg
	NETCONSOLE=
	if [ "$(arg herd.netconsole 1)" != 0 ] && [ -n "$lmac" ] &&
		modprobe -q netconsole "netconsole=@/$IF,6666@$LOGHOST/$lmac" 2>/dev/null; then
		NETCONSOLE=1
		live="netconsole to $LOGHOST:6666 ($lmac) from $IF"
	else
		klogd || failed "neither netconsole nor klogd could start"
		live="klogd -> syslogd -> $LOGHOST:514"
	fi
	say "$n kernel lines sent to $LOGHOST:514; live: $live"
	# the dump and this line have left before anything risky happens
	[ -n "$NETCONSOLE" ] && to_loghost "herd-init: log: ring buffer sent$TAGS"
}

# --- root ------------------------------------------------------------------------------

step_root() {
	STEP=root
	root=$(arg root)
	nfsroot=$(arg nfsroot)
	init=$(arg init /sbin/init)
	[ "$root" = /dev/nfs ] || failed "root=${root:-(none)}: only root=/dev/nfs (with nfsroot=) is supported"
	[ -n "$nfsroot" ] || failed "root=/dev/nfs without nfsroot=SERVER:/PATH"
	spec=${nfsroot%%,*}
	opts=
	case $nfsroot in *,*) opts=,${nfsroot#*,} ;; esac
	case $spec in
	*:*) server=${spec%%:*} path=${spec#*:} ;;
	*) server=$serverid path=$spec ;;
	esac
	if [ -z "$server" ] || [ -z "$path" ]; then
		failed "nfsroot=$nfsroot: no server or no path"
	fi
	modprobe -q nfsv4 || failed "cannot load nfsv4: $(modprobe nfsv4 2>&1)"
	modprobe -q overlay || failed "cannot load overlay: $(modprobe overlay 2>&1)"
	mkdir -p /run/herd/lower /run/herd/rw
	t=$(arg herd.nfs_timeout 30)
	# bounded: an unreachable server must not hang the node (the RPC waits
	# are killable, so SIGKILL ends the mount)
	t0=$(cut -d' ' -f1 /proc/uptime)
	if ! err=$(timeout -s KILL "$t" mount -t nfs4 \
		-o "ro,vers=4.1,addr=$server,timeo=50,retrans=2$opts" "$server:$path" \
		/run/herd/lower 2>&1); then
		t1=$(cut -d' ' -f1 /proc/uptime)
		failed "NFS mount of $server:$path failed after $(awk "BEGIN { print $t1 - $t0 }") s (limit $t s): ${err:-killed}"
	fi
	mount -t tmpfs -o mode=0755 tmpfs /run/herd/rw || failed "cannot mount the tmpfs"
	mkdir -p /run/herd/rw/upper /run/herd/rw/work
	mount -t overlay overlay \
		-o lowerdir=/run/herd/lower,upperdir=/run/herd/rw/upper,workdir=/run/herd/rw/work \
		/newroot || failed "overlay: $(dmesg | grep overlay | tail -1)"
	[ -e "/newroot$init" ] || [ -L "/newroot$init" ] || failed "no $init in $server:$path"
	# the layers and the lease stay visible in the node as /run/herd (systemd
	# keeps a /run that is a mount point already)
	if ! { mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run &&
		mkdir -p /newroot/run/herd/lower /newroot/run/herd/rw &&
		mount --move /run/herd/lower /newroot/run/herd/lower &&
		mount --move /run/herd/rw /newroot/run/herd/rw &&
		cp "$LEASE" /newroot/run/herd/dhcp.env; }; then
		failed "cannot set up /run/herd in the new root"
	fi
	say "mounted $server:$path read-only, overlay on tmpfs; starting $init"
	for m in proc sys dev; do
		mount --move "/$m" "/newroot/$m" || failed "cannot move /$m into the new root"
	done
	# the log daemons of the initramfs end here; netconsole stays
	killall klogd syslogd 2>/dev/null
	exec switch_root /newroot "$init"
}

# --- main ------------------------------------------------------------------------------

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo /bin/modprobe >/proc/sys/kernel/modprobe
KVER=$(uname -r)
TAGS=
node=$(arg herd.node)
image=$(arg herd.image)
[ -n "$node$image" ] && TAGS=" [node=${node:--} image=${image:--}]"
say "kernel $KVER, up $(cut -d' ' -f1 /proc/uptime) s; $(sed -n 's/^modules=//p' /etc/herd-initramfs | wc -w) modules in the initramfs"

step_driver
step_dhcp
step_log
step_root
