# shellcheck shell=bash
# Helpers to serve an NFS root from a test's server namespace with Debian's
# nfs-ganesha (nfs-ganesha + nfs-ganesha-vfs): these machines' kernels have
# no nfsd. Sourced after tests/system/lib.sh (or qemu/lib.sh alone), whose
# bg_start and cleanup it uses: ganesha is one of the test's background
# processes, so the cleanup trap ends it with the rest.
#
#   nfs_ganesha_conf FILE BIND_ADDR EXPORT_DIR [STATE_DIR]
#       writes an NFSv4-only configuration exporting EXPORT_DIR read-only
#       (pseudo path = EXPORT_DIR) on BIND_ADDR:2049; recovery state under
#       STATE_DIR (default: FILE's directory/ganesha-state)
#   nfs_ganesha_start NS CONF_FILE
#       runs ganesha.nfsd in namespace NS (foreground under bg_start; log
#       NFS_GANESHA_LOG, pid file NFS_GANESHA_PIDFILE, both beside CONF_FILE)
#       and waits (NFS_GANESHA_WAIT, 20 s) until TCP port 2049 listens
#   nfs_ganesha_stop
#       SIGTERM, then SIGKILL after 10 s; true if it exited
#
# The configuration needs no dbus, rpcbind, NLM, rquota or Kerberos (NFSv4
# only); ganesha still logs complaints about dbus and krb5: harmless. Grace
# is off (Graceless): a node can open files the moment the server is up.

NFS_GANESHA_PID=
NFS_GANESHA_LOG=
NFS_GANESHA_PIDFILE=

nfs_ganesha_conf() {
	local file=$1 addr=$2 dir=$3 state=${4:-$(dirname "$1")/ganesha-state}
	mkdir -p "$state"
	cat >"$file" <<EOF
# written by tests/system/lib_nfs.sh
NFS_CORE_PARAM {
	Protocols = 4;
	NFS_Port = 2049;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Bind_addr = $addr;
}
NFSv4 {
	Graceless = true;
	Lease_Lifetime = 10;
	Grace_Period = 10;
	RecoveryRoot = "$state";
}
NFS_KRB5 {
	Active_krb5 = false;
}
EXPORT {
	Export_Id = 1;
	Path = "$dir";
	Pseudo = "$dir";
	Access_Type = RO;
	Squash = root_squash;
	Protocols = 4;
	Transports = TCP;
	SecType = sys;
	FSAL {
		Name = VFS;
	}
}
EOF
}

nfs_ganesha_start() {
	local ns=$1 conf=$2 dir i
	dir=$(dirname "$conf")
	command -v ganesha.nfsd >/dev/null || { echo "ganesha.nfsd is not installed" >&2; return 1; }
	NFS_GANESHA_LOG=$dir/ganesha.log
	NFS_GANESHA_PIDFILE=$dir/ganesha.pid
	: >"$NFS_GANESHA_LOG"
	bg_start ip netns exec "$ns" ganesha.nfsd -F -f "$conf" -L "$NFS_GANESHA_LOG" -N NIV_EVENT \
		-p "$NFS_GANESHA_PIDFILE"
	NFS_GANESHA_PID=$BG_PID
	for ((i = 0; i < ${NFS_GANESHA_WAIT:-20} * 10; i++)); do
		if [ -n "$(ip netns exec "$ns" ss -Hntl 'sport = :2049')" ]; then
			return 0
		fi
		if ! kill -0 "$NFS_GANESHA_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "ganesha.nfsd did not listen on 2049; its log:" >&2
	tail -20 "$NFS_GANESHA_LOG" >&2
	return 1
}

nfs_ganesha_stop() {
	local pid=$NFS_GANESHA_PID i
	[ -n "$pid" ] || return 0
	NFS_GANESHA_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		bg_forget "$pid"
		return 1
	fi
	wait "$pid" 2>/dev/null
	bg_forget "$pid"
	return 0
}
