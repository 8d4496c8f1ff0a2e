#!/bin/sh
# scripts/build.sh — configures and builds Parley in build/ (out of tree).
# Extra arguments go to configure (e.g. --enable-werror).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || ./autogen.sh
mkdir -p build
cd build
[ -f Makefile ] || ../configure --sysconfdir=/etc --localstatedir=/var --runstatedir=/run "$@"
make -j"$(nproc)"
