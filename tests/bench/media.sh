#!/bin/bash
# tests/bench/media.sh — mediad against rtpengine as RTP relays, the same
# load tool (rtpload) for both, one run.
#
#   tests/bench/media.sh [BUILD_DIR]      (BUILD_DIR default: /work/main/build,
#                                          or $BUILD; mediad is BUILD_DIR/mediad/mediad)
#
# For each N in CALLS it runs, one after the other:
#   direct     rtpload alone, each endpoint sending straight to the other
#              end of its call: the baseline latency of the load tool and
#              the kernel's loopback path, at the same packet rate
#   rtpengine  a fresh rtpengine (Debian rtpengine-daemon), userspace only
#              (--table=-1), one worker thread, calls set up over its ng
#              protocol (ngsetup.py: offer + answer per call)
#   mediad-user  a fresh mediad relaying in userspace (media.kernel = false),
#              calls set up over its control socket (mediasetup:
#              SESSION_UPDATE for both legs per call)
#   mediad     the same with in-kernel forwarding (the default): once both
#              endpoints of a stream are latched, the kernel forwards them
# Every run: N calls, each two G.711 streams of 50 packets/s (172-byte RTP),
# WARMUP s of warm-up, WINDOW s measured, 1 s of drain.  The relay runs
# pinned to CPU RELAY_CPU, rtpload to LOAD_CPU (taskset).  rtpload
# busy-polls its sockets, so its CPU is always 100 % and its own load shows
# as the share of loop turns that found work, and as send lateness; it sends
# through a raw socket (RAW=1, needs root: the same datagrams for the relay,
# half the cost for rtpload).  Before each N, `rtpload -G` spins on both CPUs
# for 2 s and reports how much of them other programs, interrupts and the
# hypervisor took.
#
# Figures (all from rtpload, see tests/bench/rtpload.c):
#   relay CPU   utime+stime of the relay process (all threads), /proc/PID/stat,
#               over the window, in % of one core, plus the ksoftirqd of its CPU
#               (on loopback, delivering what the relay sends is softirq work on
#               the relay's CPU, done in the relay's context or, when deferred,
#               by ksoftirqd); per relayed packet: that CPU time / packets that
#               came out of the relay in the window.  For mediad with
#               in-kernel forwarding, plus the run time of its tc program
#               (kernel.bpf_stats_enabled=1 during the bench; run_time_ns in
#               the program's /proc/PID/fdinfo): the program runs in the
#               softirq of the sending CPU, which no process figure shows
#   loss        packets sent in the window that never came back, per stream by
#               RTP sequence number
#   latency     kernel receive stamp (SO_TIMESTAMPNS) of the receiving endpoint
#               minus the send time in the payload: p50 and p99 through the
#               relay; "added" = through the relay minus direct, same N, same run
# Output: a table on stdout, the section "## mediad vs rtpengine (RTP
# relay)" of docs/benchmarks.md (unless NO_DOC=1), every run's rtpload and
# relay output under $OUT (printed at the end).
#
# Loopback only: every socket is on 127.0.0.1.  Run it by hand on a quiet
# machine (never in CI); before each run it waits up to QUIET_WAIT s for the
# rest of the machine to use under 10 % CPU, and flags the run if it did not.
#
# Prerequisites: rtpengine (apt-get install rtpengine-daemon; the bench only
# runs the binary, it does not need the service), python3, taskset (util-linux).
#
# Environment knobs (defaults):
#   CALLS="250 500 1000 2000 4000"  concurrent calls per step
#   RELAYS="rtpengine mediad-user mediad"  relays to run (the direct baseline always runs)
#   WARMUP=5 WINDOW=20              seconds
#   RELAY_CPU=1 LOAD_CPU=0          CPUs for the relay and for rtpload
#   LOAD_PORT=4000                  rtpload's first port (two per endpoint)
#   RELAY_PORTS="40000 59999"       the relays' RTP port range (four ports per call)
#   NG_PORT=39990                   rtpengine's ng control port
#   QUIET_WAIT=300                  s to wait for a quiet machine before each run
#   RETRIES=2                       times a disturbed run is done again
#   DISTURBED=3                     % of the window the relay or rtpload may wait for
#                                   their CPU (another program on it) before the run
#                                   is done again
#   NICE=0                          nice of the relay and of rtpload.  Not below 0:
#                                   softirq work deferred to ksoftirqd (nice 0) then
#                                   starves behind the busy-polling rtpload, and
#                                   latencies grow to hundreds of ms
#   RAW=1                           rtpload -R (raw socket sends); 0: sendto per endpoint
#   PERF=0                          1: perf record -g mediad during its window at
#                                   each N (perf.data under $OUT)
#   SPLIT_FROM=2000                 from this many calls on, the direct baseline and
#                                   mediad with in-kernel forwarding are loaded by two
#                                   rtpload (half the calls each, one per CPU); 0: never
#   NO_DOC=0
#   REPORT_FROM=DIR                 no runs: the table, notes and doc section from
#                                   an earlier run's output directory (its settings)
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD:-$TOP/build}}
MEDIAD=$BUILD/mediad/mediad
RTPLOAD=$BUILD/tests/bench/rtpload
MEDIASETUP=$BUILD/tests/bench/mediasetup
RTPENGINE=${RTPENGINE:-rtpengine}

CALLS=${CALLS:-250 500 1000 2000 4000}
RELAYS=${RELAYS:-rtpengine mediad-user mediad}
WARMUP=${WARMUP:-5}
WINDOW=${WINDOW:-20}
RELAY_CPU=${RELAY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
LOAD_PORT=${LOAD_PORT:-4000}
RELAY_PORTS=${RELAY_PORTS:-40000 59999}
NG_PORT=${NG_PORT:-39990}
QUIET_WAIT=${QUIET_WAIT:-300}
DISTURBED=${DISTURBED:-3}
RETRIES=${RETRIES:-2}
NICE=${NICE:-0}
RAW=${RAW:-1}
PERF=${PERF:-0}
NO_DOC=${NO_DOC:-0}
SPLIT_FROM=${SPLIT_FROM:-2000}
REPORT_FROM=${REPORT_FROM:-}

read -r PORT_MIN PORT_MAX <<< "$RELAY_PORTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
OUT=$(mktemp -d /tmp/parley-mbench.XXXXXX)
TSTART=$(date +%s)
RELAY_PID=
PERF_PID=
LOAD_PID=

BENCH=media.sh
. "$HERE/lib.sh"

BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS" 2>/dev/null
	[ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null
	[ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null
	[ -n "${LOAD2_PID:-}" ] && kill -TERM "$LOAD2_PID" 2>/dev/null
	stop_relay
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ checks

command -v "$RTPENGINE" >/dev/null || die "rtpengine not found (apt-get install rtpengine-daemon)"
command -v python3 >/dev/null || die "python3 not found"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: one for the relay, one for rtpload"
[ "$PORT_MAX" -le 65535 ] && [ $(( (PORT_MAX - PORT_MIN + 1) / 4 )) -ge "$(echo $CALLS | tr ' ' '\n' | sort -n | tail -1)" ] ||
    die "RELAY_PORTS $RELAY_PORTS holds fewer than 4 ports per call"
if [ "$RAW" = 1 ] && [ "$(id -u)" != 0 ]; then
	say "not root: rtpload sends with sendto (RAW=0), which costs it twice the CPU"
	RAW=0
fi
say "building rtpload, mediasetup and mediad in $BUILD"
make -s -C "$BUILD" tests/bench/rtpload tests/bench/mediasetup mediad/mediad >&2 ||
    die "build failed (configure $BUILD first)"

# ------------------------------------------------------------------ machine

udp_bound() {	# port
	ss -Hunl "sport = :$1" 2>/dev/null | grep -q .
}

# ------------------------------------------------------------------ relays

start_rtpengine() {	# tag
	udp_bound "$NG_PORT" && die "port $NG_PORT (NG_PORT) is in use"
	nice -n "$NICE" taskset -c "$RELAY_CPU" "$RTPENGINE" --foreground --log-stderr --log-level=4 \
	    --table=-1 --num-threads=1 --interface=127.0.0.1 \
	    --listen-ng="127.0.0.1:$NG_PORT" --port-min="$PORT_MIN" --port-max="$PORT_MAX" \
	    --timeout=600 --silent-timeout=600 --final-timeout=0 \
	    > "$OUT/$1.relay.log" 2>&1 &
	RELAY_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		udp_bound "$NG_PORT" && break
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	udp_bound "$NG_PORT" || { tail "$OUT/$1.relay.log" >&2; die "rtpengine did not start"; }
	SETUP="python3 '$HERE/ngsetup.py' $NG_PORT"
}

start_mediad() {	# tag
	KERNEL=true bench_mediad "$MEDIAD" "$1" "$RELAY_CPU" "$NICE" "$PORT_MIN" "$PORT_MAX" relay
	RELAY_PID=$BENCH_PID
	SETUP="'$MEDIASETUP' '$BENCH_ENDPOINT'"
	grep -qs "^prog_type:" /proc/"$RELAY_PID"/fdinfo/* ||
	    say "  mediad holds no BPF program: in-kernel forwarding is off (mediad -d says why)"
}

start_mediad-user() {	# tag
	KERNEL=false bench_mediad "$MEDIAD" "$1" "$RELAY_CPU" "$NICE" "$PORT_MIN" "$PORT_MAX" relay
	RELAY_PID=$BENCH_PID
	SETUP="'$MEDIASETUP' '$BENCH_ENDPOINT'"
}

# bpf_run_ns PID — run time so far (ns) of the BPF programs process PID holds
bpf_run_ns() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "run_time_ns:" { s += $2 } END { printf "%d", s }'
}

stop_relay() {
	bench_stop "$RELAY_PID"
	RELAY_PID=
}

# ------------------------------------------------------------------ runs

declare -A R	# R[relay,N,key] = value from rtpload's RESULT line

# One run: relay (direct|rtpengine|mediad) and N; fills R.  A run during
# which the relay or rtpload waited for their CPU (another program had it)
# for more than DISTURBED % of the window is run again, RETRIES times at most.
run() {
	local relay=$1 n=$2 try best=-1 bestd= d f
	for ((try = 0; try <= RETRIES; try++)); do
		run_try "$relay" "$n" "$try" || continue
		f=$OUT/$relay-$n.t$try.result
		d=$(sed -n 's/.* relay_wait_pct=\([0-9.]*\) tool_wait_pct=\([0-9.]*\).*/\1 \2/p' "$f" |
		    awk '{ print ($1 > $2) ? $1 : $2 }')
		if [ $best -lt 0 ] || awk -v a="$d" -v b="$bestd" 'BEGIN { exit !(a < b) }'; then
			best=$try bestd=$d
		fi
		awk -v a="$d" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' || break
		[ $try -lt "$RETRIES" ] && say "  (disturbed: relay or rtpload waited $d % of the window for their CPU; again)"
	done
	if [ $best -lt 0 ]; then
		R[$relay,$n,failed]=1
		return
	fi
	load_result "$relay" "$n" "$OUT/$relay-$n.t$best.result"
	R[$relay,$n,try]=$best
	awk -v a="$bestd" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' && R[$relay,$n,disturbed]=1
	echo "$best ${R[$relay,$n,disturbed]:-0}" > "$OUT/$relay-$n.kept"	# for REPORT_FROM
	printf '  %-9s %5d calls: relay CPU %5s %% (%s us/pkt), loss %s, latency p50 %s p99 %s us, rtpload sent %s/s of %s/s, working %s %%, late p99 %s us (try %d kept)\n' \
	    "$relay" "$n" "${R[$relay,$n,cpu]}" "${R[$relay,$n,us]}" \
	    "${R[$relay,$n,rloss]} %${R[$relay,$n,lossnote]}" "${R[$relay,$n,lat_p50_us]}" "${R[$relay,$n,lat_p99_us]}" \
	    "${R[$relay,$n,sent_pps]}" "${R[$relay,$n,target_pps]}" \
	    "${R[$relay,$n,tool_work_pct]}" "${R[$relay,$n,late_p99_us]}" $((best + 1)) | tee -a "$OUT/runs.txt" >&2
}

# split_load RELAY N — two rtpload for this run?  From SPLIT_FROM calls on, one
# rtpload cannot offer the load alone (~200,000 packets/s sent and received on
# one core here); the direct baseline and mediad forwarding in the kernel
# (whose work runs in the senders' softirq, counted apart) then get two, one
# per CPU.  A userspace relay needs RELAY_CPU for itself: it keeps one.
split_load() {
	[ "$SPLIT_FROM" -gt 0 ] && [ "$2" -ge "$SPLIT_FROM" ] && { [ "$1" = direct ] || [ "$1" = mediad ]; }
}

# merge_results A B — one RESULT line from two rtpload's: counts and rates
# added, latencies and lateness the worse of the two (not a true merged
# percentile: an upper bound), the relay's CPU from the first
merge_results() {
	awk '
	/^RESULT / { f++; for (i = 2; i <= NF; i++) { split($i, kv, "="); k = kv[1]; v = kv[2];
		if (f == 1) order[++n] = k;
		if (k ~ /^(calls|target_pps|sent_pps|recv_pps|expected|received|lost|lossy_streams|dead_streams|dup|reorder|old|foreign|wrongsrc|short|nostamp|send_err|recv_err|drops_tool|drops_other)$/)
			val[k] += v;
		else if (k ~ /^(lat_|late_|lag_|max_stream_lost|tool_cpu_pct|tool_work_pct|tool_wait_pct)/)
			{ if (!(k in val) || v + 0 > val[k] + 0) val[k] = v }
		else if (f == 1) val[k] = v } }
	END { if (f != 2) exit 1; val["loss_pct"] = val["expected"] > 0 ? sprintf("%.4f", 100 * val["lost"] / val["expected"]) : 0;
		val["split"] = 2; order[++n] = "split";
		printf "RESULT"; for (i = 1; i <= n; i++) printf " %s=%s", order[i], val[order[i]]; printf "\n" }' "$1" "$2"
}

# One try: a fresh relay (unless direct), rtpload; its RESULT line in
# $OUT/RELAY-N.tTRY.result.  1 when rtpload failed.
run_try() {
	local relay=$1 n=$2 tag=$1-$2.t$3 args rc
	BPF_PID= LOAD2_PID=
	bench_wait_quiet "$RTPLOAD" "$RELAY_CPU $LOAD_CPU" "$QUIET_WAIT"
	case $relay in
	direct) RELAY_PID= ; args=(-d) ;;
	*) start_$relay "$tag"; args=(-s "$SETUP" -p "$RELAY_PID" -c "$RELAY_CPU") ;;
	esac
	[ "$RAW" = 1 ] && args+=(-R)
	if [ "$PERF" = 1 ] && [ "$relay" = mediad ] && command -v perf >/dev/null; then
		( sleep "$WARMUP"; exec perf record -q -g -p "$RELAY_PID" -o "$OUT/$tag.perf.data" \
		    -- sleep "$WINDOW" ) > /dev/null 2>&1 &
		PERF_PID=$!
	fi
	if split_load "$relay" "$n"; then
		# half the calls each from two rtpload, one per CPU (see SPLIT_FROM)
		local h=$((n / 2))
		nice -n "$NICE" taskset -c "$LOAD_CPU" "$RTPLOAD" -n "$h" -b "$LOAD_PORT" -w "$WARMUP" -t "$WINDOW" \
		    "${args[@]}" > "$OUT/$tag.result.1" 2> "$OUT/$tag.rtpload.log" &
		LOAD_PID=$!
		nice -n "$NICE" taskset -c "$RELAY_CPU" "$RTPLOAD" -n "$((n - h))" -i "$h" \
		    -b "$((LOAD_PORT + 4 * h + 64))" -w "$WARMUP" -t "$WINDOW" \
		    "${args[@]}" > "$OUT/$tag.result.2" 2> "$OUT/$tag.rtpload2.log" &
		LOAD2_PID=$!
	else
		nice -n "$NICE" taskset -c "$LOAD_CPU" "$RTPLOAD" -n "$n" -b "$LOAD_PORT" -w "$WARMUP" -t "$WINDOW" \
		    "${args[@]}" > "$OUT/$tag.result" 2> "$OUT/$tag.rtpload.log" &
		LOAD_PID=$!
	fi
	if [ "$relay" = mediad ]; then
		# the window's share of the forwarding program (rtpload sets the calls
		# up first: its "warm-up" line says when the warm-up begins)
		( until grep -q "warm-up" "$OUT/$tag.rtpload.log" 2>/dev/null; do sleep 0.05; done
		  sleep "$WARMUP"; a=$(bpf_run_ns "$RELAY_PID"); sleep "$WINDOW"; b=$(bpf_run_ns "$RELAY_PID")
		  echo "bpf_pct=$(awk -v a="$a" -v b="$b" -v w="$WINDOW" 'BEGIN { printf "%.1f", (b - a) / 1e9 / w * 100 }')"
		) > "$OUT/$tag.bpf" 2>/dev/null &
		BPF_PID=$!
	fi
	wait "$LOAD_PID"	# in the background, so that a signal ends the bench at once
	rc=$?
	if [ -n "$LOAD2_PID" ]; then
		wait "$LOAD2_PID" || rc=$?
		LOAD2_PID=
		merge_results "$OUT/$tag.result.1" "$OUT/$tag.result.2" > "$OUT/$tag.result"
	fi
	[ -n "$BPF_PID" ] && { wait "$BPF_PID"; BPF_PID=; sed -i "s/^RESULT .*/& $(cat "$OUT/$tag.bpf")/" "$OUT/$tag.result"; }
	LOAD_PID=
	[ -n "$PERF_PID" ] && { wait "$PERF_PID" 2>/dev/null; PERF_PID=; }
	if [ -n "$RELAY_PID" ] && ! kill -0 "$RELAY_PID" 2>/dev/null; then
		say "  $relay died during the run; its log: $OUT/$tag.relay.log"
		R[$relay,$n,died]=1
	fi
	stop_relay
	sleep 1
	if [ $rc != 0 ] || ! grep -q '^RESULT ' "$OUT/$tag.result"; then
		say "  $relay $n calls: rtpload failed (rc $rc): $(tail -3 "$OUT/$tag.rtpload.log")"
		return 1
	fi
	return 0
}

# Fills R[relay,n,*] from a RESULT line, and the figures derived from it.
load_result() {	# relay n file
	local relay=$1 n=$2 kv k v
	for kv in $(sed -n 's/^RESULT //p' "$3"); do
		k=${kv%%=*} v=${kv#*=}
		R[$relay,$n,$k]=$v
	done
	# loss the relay is to blame for: not what overflowed rtpload's own sockets
	R[$relay,$n,rloss]=$(awk -v l="${R[$relay,$n,lost]}" -v d="${R[$relay,$n,drops_tool]}" -v e="${R[$relay,$n,expected]}" \
	    'BEGIN { l -= d; if (l < 0) l = 0; if (e > 0) printf "%.4f", 100 * l / e; else print "-" }')
	R[$relay,$n,lossnote]=
	[ "${R[$relay,$n,drops_tool]}" != 0 ] && R[$relay,$n,lossnote]=" (+${R[$relay,$n,drops_tool]} dropped by rtpload's full sockets)"
	# packets the relay sent per second: all it was offered but what it lost
	R[$relay,$n,out_pps]=$(awk -v e="${R[$relay,$n,expected]}" -v l="${R[$relay,$n,rloss]}" -v w="$WINDOW" \
	    'BEGIN { printf "%d", e * (1 - l / 100) / w }')
	# the relay's CPU: the process, its CPU's ksoftirqd and its BPF program; per packet out
	# (with two rtpload, the relay CPU's ksoftirqd works for the second one: not counted)
	[ -n "${R[$relay,$n,split]:-}" ] && R[$relay,$n,softirqd_pct]=0
	R[$relay,$n,cpu]=$(awk -v a="${R[$relay,$n,relay_cpu_pct]}" -v b="${R[$relay,$n,softirqd_pct]}" \
	    -v c="${R[$relay,$n,bpf_pct]:-0}" 'BEGIN { printf "%.1f", a + b + c }')
	R[$relay,$n,us]=$(awk -v c="${R[$relay,$n,cpu]}" -v p="${R[$relay,$n,out_pps]}" 'BEGIN { if (p > 0) printf "%.2f", c / 100 * 1e6 / p; else print "-" }')
}

# how much of each CPU other programs, interrupts and the hypervisor take
probe() {	# n
	local c kv k v
	for c in "$RELAY_CPU" "$LOAD_CPU"; do
		taskset -c "$c" "$RTPLOAD" -G 2 > "$OUT/probe-$1-cpu$c.result" &
	done
	wait
	load_probe "$1"
	say "  CPU $RELAY_CPU (relay): ${R[probe,$1,cpu$RELAY_CPU,taken_pct]:-?} % taken by others, ${R[probe,$1,cpu$RELAY_CPU,gaps_1ms_per_s]:-?} gaps > 1 ms/s; CPU $LOAD_CPU (rtpload): ${R[probe,$1,cpu$LOAD_CPU,taken_pct]:-?} %, ${R[probe,$1,cpu$LOAD_CPU,gaps_1ms_per_s]:-?}/s"
}

load_probe() {	# n
	local c kv k v
	for c in "$RELAY_CPU" "$LOAD_CPU"; do
		for kv in $(sed -n 's/^RESULT //p' "$OUT/probe-$1-cpu$c.result" 2>/dev/null); do
			k=${kv%%=*} v=${kv#*=}
			R[probe,$1,cpu$c,$k]=$v
		done
	done
}

# ------------------------------------------------------------------ report

has() { [ -n "${R[$1,$2,received]+x}" ]; }
val() { echo "${R[$1,$2,$3]:-}"; }

# added latency: through the relay minus direct, same N
added() {	# relay n p50|p99
	awk -v a="$(val "$1" "$2" lat_$3_us)" -v b="$(val direct "$2" lat_$3_us)" \
	    'BEGIN { if (a == "" || b == "") print "-"; else printf "%.0f", a - b }'
}

us_fmt() {	# µs -> "85 µs", "1.25 ms" or "120 ms"
	awk -v u="$1" 'BEGIN { if (u == "" || u == "-") print "-";
	    else if (u + 0 >= 100000) printf "%.0f ms", u / 1000;
	    else if (u + 0 >= 1000) printf "%.2f ms", u / 1000; else printf "%.0f µs", u }'
}

table() {
	local n relay note tool
	echo "| calls | relay | packets/s out (target) | relay CPU, % of one core (of it ksoftirqd; in-kernel program) | CPU µs per relayed packet | loss % | latency p50 / p99 | added latency p50 / p99 | rtpload: packets/s sent, work, send lateness p99 | waiting for their CPU: relay / rtpload, % of the window |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for n in $CALLS; do
		for relay in direct $RELAYS; do
			if ! has "$relay" "$n"; then
				echo "| $n | $relay | - | - | - | - | - | - | $( [ -n "$(val "$relay" "$n" failed)" ] && echo "run failed" || echo "not run") | - |"
				continue
			fi
			note=
			[ -n "$(val "$relay" "$n" died)" ] && note="$note (relay died)"
			[ "$(val "$relay" "$n" try)" -gt 0 ] 2>/dev/null && note="$note (try $(( $(val "$relay" "$n" try) + 1 )))"
			[ -n "$(val "$relay" "$n" disturbed)" ] && note="$note (disturbed)"
			[ -n "$(val "$relay" "$n" split)" ] && note="$note (two rtpload, one per CPU)"
			tool="$(val "$relay" "$n" sent_pps), $(val "$relay" "$n" tool_work_pct) %, $(us_fmt "$(val "$relay" "$n" late_p99_us)")"
			if [ "$relay" = direct ]; then
				echo "| $n | direct (baseline) | $(val "$relay" "$n" out_pps) ($(val "$relay" "$n" target_pps)) | - | - | $(awk -v l="$(val "$relay" "$n" rloss)" 'BEGIN { printf "%g", l }')$(val "$relay" "$n" lossnote) | $(us_fmt "$(val "$relay" "$n" lat_p50_us)") / $(us_fmt "$(val "$relay" "$n" lat_p99_us)") | - | $tool | - / $(val "$relay" "$n" tool_wait_pct) %; before the runs the relay's CPU lost ${R[probe,$n,cpu$RELAY_CPU,taken_pct]:-?} % to others, ${R[probe,$n,cpu$RELAY_CPU,gaps_1ms_per_s]:-?} gaps > 1 ms/s$note |"
			else
				echo "| $n | $relay | $(val "$relay" "$n" out_pps) ($(val "$relay" "$n" target_pps)) | $(val "$relay" "$n" cpu) ($(val "$relay" "$n" softirqd_pct)$([ -n "$(val "$relay" "$n" bpf_pct)" ] && echo "; $(val "$relay" "$n" bpf_pct)")) | $(val "$relay" "$n" us) | $(awk -v l="$(val "$relay" "$n" rloss)" 'BEGIN { printf "%g", l }')$(val "$relay" "$n" lossnote) | $(us_fmt "$(val "$relay" "$n" lat_p50_us)") / $(us_fmt "$(val "$relay" "$n" lat_p99_us)") | $(us_fmt "$(added "$relay" "$n" p50)") / $(us_fmt "$(added "$relay" "$n" p99)") | $tool | $(val "$relay" "$n" relay_wait_pct) / $(val "$relay" "$n" tool_wait_pct) %$note |"
			fi
		done
	done
}

# the issue's bar for mediad, and the CPU per packet against rtpengine
# Per N: mediad against rtpengine, and against the issue's bar at 2,000
# calls.  CPU per packet is compared only where rtpengine still forwards
# everything below 95 % of its core: a saturated relay's figure is not its cost.
verdict() {
	local n r
	for n in $CALLS; do
		has mediad "$n" || continue
		r=; has rtpengine "$n" && r=$(val rtpengine "$n" us)
		awk -v n="$n" -v mu="$(val mediad "$n" us)" -v ru="$r" \
		    -v mc="$(val mediad "$n" cpu)" -v rc="$(val rtpengine "$n" cpu)" \
		    -v ml="$(val mediad "$n" rloss)" -v rl="$(val rtpengine "$n" rloss)" \
		    -v ma="$(added mediad "$n" p99)" -v ra="$(added rtpengine "$n" p99)" \
		    -v ms="$(val mediad "$n" sent_pps)" -v rs="$(val rtpengine "$n" sent_pps)" \
		    -v t="$(val mediad "$n" target_pps)" '
		function ms_(u) { return (u == "-" || u == "") ? "-" : (u >= 1000 ? sprintf("%.1f ms", u / 1000) : sprintf("%d µs", u)) }
		BEGIN {
			printf "- %d calls: mediad %.1f %% of a core, %.2f µs per packet, loss %g %%, added p99 %s", n, mc, mu, ml, ms_(ma);
			short = (ms + 0 < 0.99 * t);
			if (short) printf " (rtpload offered only %d of %d packets/s)", ms, t;
			if (ru != "") {
				printf "; rtpengine %.1f %%, %.2f µs per packet, loss %g %%, added p99 %s", rc, ru, rl, ms_(ra);
				if (rs + 0 < 0.99 * t) printf " (offered only %d packets/s)", rs;
				if (rc + 0 < 95 && rl + 0 == 0 && ru + 0 > 0)
					printf "; mediad/rtpengine CPU per packet **%.2f×**", mu / ru;
				else
					printf "; rtpengine saturated, CPU per packet not compared";
			}
			if (n == 2000) printf ". The issue'"'"'s bar (2,000 calls offered in full, 0 loss, added p99 < 2 ms, under one core): **%s**",
			    (!short && ml + 0 == 0 && ma != "-" && ma + 0 < 2000 && mc + 0 < 95) ? "met" : "not met";
			print "." }'
	done
}

# What the figures say beyond the table, derived from them.
notes() {
	local n max=0 maxn= c
	for n in $CALLS; do
		for r in direct $RELAYS; do
			has "$r" "$n" || continue
			if [ -z "$(val "$r" "$n" split)" ] &&
			    awk -v s="$(val "$r" "$n" sent_pps)" -v m="$max" 'BEGIN { exit !(s > m) }'; then
				max=$(val "$r" "$n" sent_pps)
			fi
			awk -v s="$(val "$r" "$n" sent_pps)" -v t="$(val "$r" "$n" target_pps)" 'BEGIN { exit !(s < 0.99 * t) }' &&
			    case " $maxn " in *" $n "*) ;; *) maxn="$maxn $n" ;; esac
		done
	done
	[ -n "$maxn" ] && echo "- rtpload could not offer the full load at$(echo $maxn | sed 's/ /, /g; s/^/ /') calls in the rows short of their target: on one core of this machine it sends at most about $max packets/s while receiving as many (about $((max / 100)) calls), and two of them (one per CPU, where marked) about twice that while the machine has no CPU left for anything else; those rows show how the relays behave overloaded, not N calls."
	c=
	for n in $CALLS; do
		for r in direct $RELAYS; do
			has "$r" "$n" || continue
			[ "$(val "$r" "$n" drops_tool)" != 0 ] && c="$c, $r at $n calls ($(val "$r" "$n" drops_tool))"
		done
	done
	[ -n "$c" ] && echo "- rtpload itself fell behind reading, and its full sockets dropped replies: ${c#, }.  They are not counted as the relay's loss; latency (kernel receive stamps) is not affected."
	for n in $CALLS; do
		has rtpengine "$n" || continue
		c=$(grep -c 'Too many packets in UDP receive queue' "$OUT/rtpengine-$n.t${R[rtpengine,$n,try]}.relay.log" 2>/dev/null)
		awk -v l="$(val rtpengine "$n" rloss)" 'BEGIN { exit !(l > 0) }' &&
		    echo "- rtpengine lost $(val rtpengine "$n" rloss) % at $n calls while using only $(val rtpengine "$n" cpu) % of its core: overloaded, it discards whole socket queues (its log: \"Too many packets in UDP receive queue ... aborting loop\", ${c:-0} times), which keeps its CPU down."
	done
	for n in $CALLS; do
		has mediad "$n" || continue
		awk -v c="$(val mediad "$n" cpu)" 'BEGIN { exit !(c >= 95) }' &&
		    echo "- mediad at $n calls used $(val mediad "$n" cpu) % of its core: it keeps up only as far as packets queue in its sockets (then one receive and one send system call carry several packets), so latency grows to $(us_fmt "$(val mediad "$n" lat_p50_us)") (p50) / $(us_fmt "$(val mediad "$n" lat_p99_us)") (p99); it drops nothing, the kernel's default socket buffers hold seconds of audio."
	done
	grep -q 'nested_pvm=1' /proc/cmdline 2>/dev/null &&
	    echo "- This machine is a VM whose kernel runs as a nested PVM guest: interrupts, wake-ups and the network path cost several times what they do on bare metal (an idle CPU woken per packet costs 15–30 µs), so absolute µs per packet are this machine's; the ratio between the relays is what carries over."
	echo "- A getppid(2) costs ${R[probe,$(echo $CALLS | cut -d' ' -f1),cpu$RELAY_CPU,syscall_ns]:-?} ns on the relay's CPU here."
}

write_doc() {	# table file
	local doc=$TOP/docs/benchmarks.md sec=$OUT/section.md
	{
		echo "## mediad vs rtpengine (RTP relay)"
		echo
		echo "Measured by \`tests/bench/media.sh\` on $RUN_DATE, one run, the relays one"
		echo "after the other on the same machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
		echo "$(uname -sr); rtpengine $("$RTPENGINE" --version 2>&1 | sed -n 's/^Version: *//p' | head -1) (Debian rtpengine-daemon, userspace: \`--table=-1\`,"
		echo "\`--num-threads=1\`); $("$MEDIAD" -V 2>/dev/null | head -1) (commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet HEAD -- mediad common proto 2>/dev/null || echo ' + local changes'),"
		echo "built in \`$BUILD\`).  Everything on 127.0.0.1; the relay pinned to CPU $RELAY_CPU, the load tool to CPU $LOAD_CPU."
		echo "Run by hand (never in CI) with \`tests/bench/media.sh BUILD_DIR\`; it needs \`rtpengine\` (\`apt-get install"
		echo "rtpengine-daemon\`: only the binary is used, not the package's service), python3, and root for"
		echo "rtpload's raw socket."
		echo
		echo "- *Load*: \`tests/bench/rtpload\` (C, one thread) plays N calls, each two endpoints (a caller"
		echo "  and a callee UDP socket on 127.0.0.1) sending G.711 A-law RTP, 172 bytes (12 header + 160"
		echo "  payload), every 20 ms: 100 packets/s per call, the send times of all endpoints spread"
		echo "  evenly over the 20 ms.  $([ "$RAW" = 1 ] && echo "It sends through one raw IPv4 socket, the very datagrams each endpoint's
  socket would send (same source port, so the relays latch onto it), because \`sendto\` per
  packet costs ~5 µs in this VM and made rtpload the bottleneck near 1,500 calls; replies
  arrive on the endpoint sockets." || echo "Each endpoint sends with \`sendto\` on its own socket.")  Calls are set up before the load starts:"
		echo "  on rtpengine with an ng \`offer\` and \`answer\` per call (\`ngsetup.py\`), on mediad with a"
		echo "  \`SESSION_UPDATE\` per leg (\`mediasetup\`, as sipd does).  Every run starts a fresh relay:"
		echo "  ${WARMUP} s of warm-up, then ${WINDOW} s measured.$([ "$NICE" = 0 ] || echo "  Relay and rtpload run at nice $NICE.")"
		echo "- *Relay CPU*: utime+stime of the relay process (all threads, \`/proc/PID/stat\`) over the"
		echo "  measured window, plus the ksoftirqd thread of the relay's CPU (in brackets), in % of one"
		echo "  core; per relayed packet: that CPU time divided by the packets the relay forwarded in the"
		echo "  window (*packets/s out*: offered minus the relay's loss; one relayed packet = one received"
		echo "  and one sent).  On loopback a send also"
		echo "  delivers the packet into the receiving socket (softirq work on the sender's CPU, in the"
		echo "  sender's context or, when deferred, in ksoftirqd), so this includes the kernel's receive"
		echo "  path for what the relay sends, for both relays alike."
		echo "- *mediad* forwards latched streams in the kernel (\`media.kernel\`, the default): its tc"
		echo "  program runs in the softirq of the CPU that sent the packet, which no process figure"
		echo "  shows, so its run time over the window (\`run_time_ns\` of the program, from mediad's"
		echo "  \`/proc/PID/fdinfo\`, with \`kernel.bpf_stats_enabled=1\` during the bench; it includes the"
		echo "  stats' own clock reads) is added to mediad's process CPU (the second figure in brackets)."
		echo "  What it saves (mediad's receive and send system calls, a second trip through loopback) is"
		echo "  simply not spent.  *mediad-user* is the same mediad with \`media.kernel = false\`."
		echo "- From $SPLIT_FROM calls on, one rtpload cannot offer the load alone (it sends and receives"
		echo "  ~200,000 packets/s at most on one core here), so the *direct* baseline and *mediad* are"
		echo "  loaded by two rtpload, half the calls each, one per CPU (marked in the table; latency and"
		echo "  lateness are then the worse of the two, the relay CPU's ksoftirqd is not counted: it works"
		echo "  for the second rtpload).  rtpengine and mediad-user need the relay's CPU for themselves"
		echo "  and keep one rtpload: their rows there show them overloaded."
		echo "- *Loss*: per stream, packets sent in the window minus the distinct ones (by RTP sequence"
		echo "  number) that came back, over all streams; rtpload keeps reading after the window until"
		echo "  nothing more comes, and packets its own full sockets dropped (\`/proc/net/udp\`) are shown"
		echo "  apart, not counted against the relay."
		echo "- *Latency*: the receiving socket's kernel timestamp (\`SO_TIMESTAMPNS\`) minus the send time"
		echo "  written in the payload (one clock, one machine), so rtpload's own delay in reading its"
		echo "  sockets is not counted.  *Added latency* is the through-relay percentile minus the same"
		echo "  percentile of the *direct* run at the same N (each endpoint sending straight to the other"
		echo "  end of its call, no relay), measured in the same run."
		echo "- *rtpload* busy-polls its sockets on its own CPU (in this VM every sleep and wake-up costs"
		echo "  15–30 µs of CPU): *work* is the share of its loop turns that found something to send or"
		echo "  receive (100 %: rtpload is saturated, and *packets/s sent* says whether it still offered the"
		echo "  full load), *send lateness* how late packets left against their schedule."
		echo "- *Waiting for their CPU*: the time the relay (all threads) and rtpload were runnable but"
		echo "  another task had their CPU (\`/proc/PID/task/*/schedstat\`), in % of the window.  Before"
		echo "  each run the bench waits (up to ${QUIET_WAIT} s) until \`rtpload -G 1\`, spinning on each CPU,"
		echo "  loses under 3 % of it to others; a run where the relay or rtpload still waited more than"
		echo "  ${DISTURBED} % (ksoftirqd of the same CPU not counted: it does their own network work) is run"
		echo "  again, up to ${RETRIES} times, and the least disturbed try is kept (*try 2*, *try 3*; still over"
		echo "  the limit: *disturbed*).  The"
		echo "  direct row also gives what a 2 s probe on the relay's CPU lost before the N's runs (other"
		echo "  programs, interrupts, the hypervisor) and its gaps over 1 ms.  This machine is shared"
		echo "  with other work: gaps of several ms show up directly in p99."
		echo
		cat "$1"
		echo
		verdict
		notes
		echo
	} > "$sec"
	bench_doc_section "$doc" "mediad vs rtpengine (RTP relay)" "$sec"
}

# ------------------------------------------------------------------ main

if [ -n "$REPORT_FROM" ]; then
	# the report of an earlier run, from its files, with its settings
	rmdir "$OUT"
	OUT=$REPORT_FROM
	[ -f "$OUT/params" ] || die "$OUT/params: not the output of a media.sh run"
	. "$OUT/params"
	for n in $CALLS; do
		load_probe "$n"
		for relay in direct $RELAYS; do
			[ -f "$OUT/$relay-$n.kept" ] || continue
			read -r t d < "$OUT/$relay-$n.kept"
			load_result "$relay" "$n" "$OUT/$relay-$n.t$t.result"
			R[$relay,$n,try]=$t
			[ "$d" = 1 ] && R[$relay,$n,disturbed]=1
		done
	done
else
	RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	for v in CALLS RELAYS WARMUP WINDOW RELAY_CPU LOAD_CPU RAW NICE DISTURBED RETRIES QUIET_WAIT SPLIT_FROM RUN_DATE; do
		printf "%s='%s'\n" "$v" "${!v}"
	done > "$OUT/params"
	say "parley media bench: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), output in $OUT"
	sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null || say "cannot set kernel.bpf_stats_enabled: mediad's program time is not counted"
	for n in $CALLS; do
		say "== $n calls"
		probe "$n"
		run direct "$n"
		for relay in $RELAYS; do
			run "$relay" "$n"
		done
	done
fi

table > "$OUT/table.md"
echo
cat "$OUT/table.md"
echo
verdict
notes
echo
[ -n "$REPORT_FROM" ] || say "every run: $OUT/runs.txt; run took $(( $(date +%s) - TSTART )) s"
[ "$NO_DOC" = 1 ] || write_doc "$OUT/table.md"
