#!/usr/bin/env bash
# The whole test suite, from a clean checkout: installs what it needs, builds,
# runs unit tests, the fuzz corpus replay and the system tests (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "test.sh: run as root (system tests use network namespaces)" >&2
	exit 1
fi
scripts/deps.sh
make -j"$(nproc)" check
