#!/bin/sh
# scripts/deps.sh — installs what Parley needs to build, run and test, from
# Debian 12 packages (run as root).  `--runtime` skips the test peers.
set -e
# clang and libbpf-dev: mediad's in-kernel forwarding program (mediad/kfwd.bpf.c)
PKGS="build-essential autoconf automake libtool pkg-config
      libosip2-dev libzmq3-dev libconfig-dev libjansson-dev libjemalloc-dev check
      libopencore-amrnb-dev libopencore-amrwb-dev libvo-amrwbenc-dev libspeexdsp-dev
      libsndfile1-dev clang libbpf-dev"
# clang's runtime libraries: the libFuzzer build of tests/fuzz/proto_fuzz
# ffmpeg: an AMR decoder that is not ours, to check what mediad encodes
# logrotate, systemd (systemd-analyze verify), util-linux (setpriv), dpkg
# (start-stop-daemon): the service tests (install.sh, sysv.sh, logrotate.sh)
TEST_PKGS="sip-tester baresip-core sox python3 iproute2 procps mandoc groff-base man-db
      clang libclang-rt-dev ffmpeg logrotate systemd util-linux dpkg"
[ "${1:-}" = "--runtime" ] || PKGS="$PKGS $TEST_PKGS"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (apt-get install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
