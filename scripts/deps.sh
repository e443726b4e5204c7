#!/bin/bash
# Installs what building and testing herd needs on Debian 12. Idempotent:
# installs only what is missing, and runs apt-get update only then.
set -euo pipefail

packages=(
	build-essential clang libclang-rt-14-dev pkg-config # compilers, libFuzzer
	libinih-dev libcap-ng-dev libcmocka-dev libmnl-dev liblmdb-dev libseccomp-dev
	libmicrohttpd-dev # the HTTP server (src/http)
	libarchive-dev # node initramfs archives (src/image)
	libpq-dev # PostgreSQL client: several servers on one database (src/cluster)
	mmdebstrap nfs-ganesha nfs-ganesha-vfs kmod # herd image build; NFS roots in the tests
	iproute2 tftp-hpa atftp curl busybox bsdutils util-linux # system test clients
	tcpdump nftables procps psmisc python3
	groff-base man-db logrotate # the manual pages and the logrotate snippet (test_man, test_install)
	prometheus # promtool check metrics (test_metrics)
	chromium socat # the dashboard in a browser (test_dashboard); the lab's dashboard forwarder
	postgresql-15 libpq-dev # the cluster lease store; tests start their own PostgreSQL (lib_pg.sh)
	kea-dhcp4-server kea-admin # bench/dhcp-rack.sh: Kea on PostgreSQL, and perfdhcp
)

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (apt-get install)" >&2
	exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all ${#packages[@]} packages already installed"
	exit 0
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# postgresql-common creates and starts a cluster "main" on port 5432 when
# postgresql-15 is installed; the tests start their own (lib_pg.sh). So
# postgresql-common (which owns createcluster.conf) goes first, then the
# setting, then the server.
conf=/etc/postgresql-common/createcluster.conf
if [[ " ${missing[*]} " == *" postgresql-15 "* ]]; then
	apt-get install -y -q --no-install-recommends postgresql-common
	grep -qE '^[[:space:]]*create_main_cluster' "$conf" ||
		echo "create_main_cluster = false" >>"$conf"
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
