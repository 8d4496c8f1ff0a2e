#!/bin/sh
# scripts/quickstart.sh — the README's first command: installs the
# dependencies, builds, and runs the PBX in the foreground on the built-in
# default (demo users 1001-1003 with random passwords, printed at start).
# Ctrl-C stops it.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" --runtime
"$top/scripts/build.sh"
mkdir -p /var/log/parley /var/lib/parley /run/parley
echo "Parley: starting sipd on udp/tcp port 5060; journal /var/log/parley/calls.log"
echo "Parley: sipctl: $top/build/sipctl/sipctl status"
exec "$top/build/sipd/sipd" -f
