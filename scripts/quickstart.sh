#!/bin/sh
# scripts/quickstart.sh — the README's first command: installs the
# dependencies, builds, and runs the PBX in the foreground on the built-in
# default (demo users 1001-1003 with random passwords, printed at start;
# calls relayed through mediad on RTP ports 20000-29999).  Ctrl-C stops
# every daemon it started.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" --runtime
"$top/scripts/build.sh"
mkdir -p /var/log/parley /var/lib/parley /run/parley
echo "Parley: starting mediad (RTP relay) and sipd on udp/tcp port 5060"
echo "Parley: journal /var/log/parley/calls.log; sipctl: $top/build/sipctl/sipctl status"
"$top/build/mediad/mediad" -f &
mediad=$!
trap 'kill -TERM $mediad 2>/dev/null; wait $mediad 2>/dev/null' EXIT INT TERM
# sipd in the foreground; when it ends (Ctrl-C), mediad is stopped too
"$top/build/sipd/sipd" -f || true
