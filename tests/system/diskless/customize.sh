#!/bin/sh
# herd image build --customize: adds the test's userland check to a root
# tree ($1) before herd makes the initramfs.
set -eu
install -m 0755 "$(dirname "$0")/node-check" "$1/usr/local/sbin/herd-node-check"
