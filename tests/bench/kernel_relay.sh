#!/bin/bash
# tests/bench/kernel_relay.sh — an experiment for issue 3, not a Parley
# feature: what an RTP relay costs when the kernel forwards the packets
# (kernel_relay.bpf.c, a tc program on lo) instead of a process
# (mediad, rtpengine: tests/bench/media.sh), with the same load tool.
#
#   tests/bench/kernel_relay.sh [BUILD_DIR]   (rtpload: BUILD_DIR/tests/bench/rtpload)
#
# For each N in CALLS: rtpload -d (each endpoint sending straight to the
# other end of its call: the baseline), then rtpload through the kernel
# relay (its setup, kernel_relay_setup.py, fills the program's map: two
# relay ports a call, as mediad has).  Both on LOAD_CPU, sending through a
# raw socket (-R).  Figures: packets/s received, loss, latency p50/p99
# (kernel receive stamp minus send time) and what the relay adds to the
# baseline's, and the program's own run time per packet
# (kernel.bpf_stats_enabled, run_time_ns / run_cnt over the run: it runs
# in the sending context's softirq, so no process's CPU shows it; the
# stats' clock reads are included).  Everything else a relayed packet
# costs the kernel is what the baseline's packet costs: it crosses the
# stack once, as the direct one does.
#
# Needs root, clang (-target bpf), libbpf-dev (bpf_helpers.h), bpftool,
# tc (iproute2); mounts bpffs if needed; adds a clsact qdisc and a filter
# on lo and removes them (and the pinned map) at the end.  Loopback only;
# by hand, never in CI; no figure is asserted.
#
# Knobs: CALLS="500 1000 2000" WARMUP=2 WINDOW=10 LOAD_CPU=0 RELAY_PORT=20000
set -u
BENCH=kernel_relay.sh
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${BUILD:-/work/main/build}}
CALLS=${CALLS:-500 1000 2000}
WARMUP=${WARMUP:-2}
WINDOW=${WINDOW:-10}
LOAD_CPU=${LOAD_CPU:-0}
RELAY_PORT=${RELAY_PORT:-20000}
OUT=$(mktemp -d /tmp/parley-krelay.XXXXXX)
RTPLOAD=$BUILD/tests/bench/rtpload
MAP=/sys/fs/bpf/tc/globals/relay_map
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (tc, bpf, raw socket)"
for c in clang bpftool tc taskset python3; do
	command -v $c > /dev/null || die "needs $c"
done
[ -e /usr/include/bpf/bpf_helpers.h ] || die "needs libbpf-dev (bpf/bpf_helpers.h)"
make -s -C "$BUILD" tests/bench/rtpload >&2 || die "cannot build rtpload in $BUILD"
clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
    -c "$HERE/kernel_relay.bpf.c" -o "$OUT/kernel_relay.bpf.o" || die "clang -target bpf failed"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs"
added_qdisc=0
if ! tc qdisc show dev lo | grep -q clsact; then
	tc qdisc add dev lo clsact || die "cannot add a clsact qdisc to lo"
	added_qdisc=1
fi
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	tc filter del dev lo ingress 2> /dev/null
	[ $added_qdisc = 1 ] && tc qdisc del dev lo clsact 2> /dev/null
	rm -f "$MAP"
	sysctl -q kernel.bpf_stats_enabled="$stats_was"
}
trap cleanup EXIT
sysctl -q kernel.bpf_stats_enabled=1

# a fresh program and an empty map
load() {
	tc filter del dev lo ingress 2> /dev/null
	rm -f "$MAP"
	tc filter add dev lo ingress bpf da obj "$OUT/kernel_relay.bpf.o" sec tc ||
	    die "cannot attach the program"
}
# run_stats — "run_time_ns run_cnt" of the program attached now (by its id:
# programs of earlier runs may still be listed under the same name)
run_stats() {
	local id
	id=$(tc filter show dev lo ingress | sed -n 's/.* id \([0-9]*\) .*/\1/p' | head -n 1)
	bpftool prog show id "$id" | sed -n 's/.*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2/p'
}
# field RESULTFILE KEY
field() {
	tr ' ' '\n' < "$1" | sed -n "s/^$2=//p"
}

rows=()
for n in $CALLS; do
	say "== $n calls"
	taskset -c "$LOAD_CPU" "$RTPLOAD" -n "$n" -d -R -w "$WARMUP" -t "$WINDOW" \
	    > "$OUT/direct-$n.result" 2> "$OUT/direct-$n.log" || die "rtpload -d failed ($OUT/direct-$n.log)"
	load
	read -r t0 c0 <<< "$(run_stats)"
	taskset -c "$LOAD_CPU" "$RTPLOAD" -n "$n" -R -w "$WARMUP" -t "$WINDOW" \
	    -s "$HERE/kernel_relay_setup.py $MAP $RELAY_PORT" \
	    > "$OUT/kernel-$n.result" 2> "$OUT/kernel-$n.log" || die "rtpload through the kernel failed ($OUT/kernel-$n.log)"
	read -r t1 c1 <<< "$(run_stats)"
	for m in direct kernel; do
		r=$OUT/$m-$n.result
		ns=-
		[ $m = kernel ] && ns=$(awk -v t=$((t1 - t0)) -v c=$((c1 - c0)) 'BEGIN { printf "%.0f", c ? t / c : 0 }')
		rows+=("$n $m $(field "$r" recv_pps) $(field "$r" sent_pps) $(field "$r" loss_pct) $(field "$r" lat_p50_us) $(field "$r" lat_p99_us) $ns $(field "$r" drops_tool) $(field "$r" tool_work_pct)")
	done
done

printf '| calls | path | packets/s received (sent) | loss %% | latency p50 / p99 µs | added p50 / p99 µs | relay ns per packet (program run time) | rtpload: own socket drops, work %% |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|\n'
for row in "${rows[@]}"; do
	read -r n m recv sent loss p50 p99 ns drops work <<< "$row"
	if [ "$m" = direct ]; then
		b50=$p50 b99=$p99 add="-"
	else
		add=$(awk -v a="$p50" -v b="$b50" -v c="$p99" -v d="$b99" 'BEGIN { printf "%.1f / %.1f", a - b, c - d }')
	fi
	printf '| %s | %s | %s (%s) | %s | %s / %s | %s | %s | %s, %s |\n' "$n" \
	    "$([ "$m" = direct ] && echo "direct (baseline)" || echo "kernel relay (tc BPF)")" \
	    "$recv" "$sent" "$loss" "$p50" "$p99" "$add" "$ns" "$drops" "$work"
done
say "output: $OUT"
