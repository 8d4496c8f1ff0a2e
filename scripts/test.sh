#!/bin/sh
# scripts/test.sh — the README's test command: installs every dependency,
# builds with warnings as errors, runs every test (make check), then the
# same under ASan+UBSan, then make distcheck.  Exit 0 only if all passed.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh"
./autogen.sh
jobs=$(nproc)

# "N passed, N failed" from automake's test-suite.log files
summary() {
	awk '/^# PASS:/ { p += $3 } /^# (FAIL|ERROR|XPASS):/ { f += $3 }
	    END { printf "%d passed, %d failed\n", p, f }' "$@"
}

echo "=== build and test (warnings are errors)"
rm -rf build-test && mkdir build-test && cd build-test
../configure -q --enable-werror
make -j"$jobs"
make -j"$jobs" check || { cat test-suite.log; summary test-suite.log; exit 1; }
cd "$top"

echo "=== ASan + UBSan"
rm -rf build-asan && mkdir build-asan && cd build-asan
../configure -q --enable-werror --enable-sanitizers
make -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	make -j"$jobs" check || { cat test-suite.log; summary test-suite.log; exit 1; }
cd "$top"

echo "=== distcheck"
cd build-test
make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror
cd "$top"
echo "=== all tests passed (plain build and ASan+UBSan; distcheck ran them once more)"
summary build-test/test-suite.log build-asan/test-suite.log
