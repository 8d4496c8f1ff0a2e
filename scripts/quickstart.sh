#!/bin/sh
# scripts/quickstart.sh — the README's first command: installs the
# dependencies, builds, and runs the PBX in the foreground on the built-in
# default (demo users 1001-1003 with random passwords, printed at start;
# calls relayed through mediad on RTP ports 20000-29999; recd ready for
# recordings in /var/lib/parley/recordings), as the user
# parley.  Ctrl-C stops every daemon it started.  (To install Parley as a
# service instead: scripts/install-service.sh.)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" --runtime
"$top/scripts/build.sh"
# started as root, the daemons drop to the user parley (daemon.user) once
# their sockets are bound: it must exist and own what they write
getent group parley > /dev/null || groupadd --system parley
getent passwd parley > /dev/null ||
	useradd --system --gid parley --home-dir /var/lib/parley --no-create-home \
	    --shell /usr/sbin/nologin parley
install -d -o parley -g parley -m 0750 /var/log/parley /var/lib/parley /run/parley \
	/var/lib/parley/recordings
echo "Parley: starting recd (recordings), mediad (RTP relay) and sipd on udp/tcp port 5060"
echo "Parley: journal /var/log/parley/calls.log; sipctl: $top/build/sipctl/sipctl status"
"$top/build/recd/recd" -f &
recd=$!
"$top/build/mediad/mediad" -f &
mediad=$!
trap 'kill -TERM $mediad $recd 2>/dev/null; wait $mediad $recd 2>/dev/null' EXIT INT TERM
# sipd in the foreground; when it ends (Ctrl-C), mediad and recd are stopped too
"$top/build/sipd/sipd" -f || true
