#!/bin/bash
# tests/bench/rooms.sh — what mixing a room costs mediad: one room at a
# time on a real mediad, N participants of which a few talk.
#
#   tests/bench/rooms.sh [BUILD_DIR]      (BUILD_DIR default: TOP/build, or
#                                          $BUILD; mediad is BUILD_DIR/mediad/mediad)
#
# Each run starts a fresh mediad (pinned to MEDIAD_CPU) and roomload
# (tests/bench/roomload.c, pinned to LOAD_CPU), which joins N participants
# to one room over mediad's control socket as sipd would (ROOM_JOIN), then
# sends from each one 20 ms RTP packet every 20 ms: TALKERS of them a tone,
# the others silence (G.711: 160-byte A-law payloads; AMR-WB: octet-aligned
# speech frames of silence from mediad's own encoder), and reads back the
# mix mediad sends each of them.  WARMUP s of warm-up, WINDOW s measured.
# The runs: N in G711 with PCMA, then N in AMRWB with AMR-WB.
#
# Figures (from roomload, see tests/bench/roomload.c):
#   mediad CPU   utime+stime from /proc/PID/stat over the window, % of one
#                core, plus the ksoftirqd of its CPU (on loopback, delivering
#                what mediad sends is softirq work on its CPU); per participant
#                and second: that CPU time / N; "on CPU" (schedstat, ns) as a
#                check of the tick-sampled figure
#   ticks, late  mixer ticks in the window (50/s expected) and ticks that
#                started more than a tick late (ROOM_STATS r_ticks, r_late,
#                asked at both edges of the window)
#   encodes      encodes of the last tick (ROOM_STATS r_encodes): one per
#                talker plus one shared by the listeners of each format
#   received     mix packets roomload got per participant per second (50
#                expected), sequence gaps (loss), mediad's concealed frames
#   audio        the tone levels one listener and talker 0 hear, decoded:
#                every tone for the listener, all but its own for the talker
#   roomload     its CPU and, as it busy-polls, the share of its loop turns
#                that found work; its send lateness
#
# Before each run it waits (up to QUIET_WAIT s) for the 1-minute load
# average to fall under LOAD_MAX (the machine is shared), and notes it; a
# run where mediad still waited for its CPU more than DISTURBED % of the
# window (another task had it) is done again, RETRIES times at most, and
# the least disturbed try kept.
#
# Output: a table on stdout, the section "## Room mixing (mediad)" of
# docs/benchmarks.md (unless NO_DOC=1), every run's files under $OUT.
# Loopback only.  Run it by hand (never in CI, never from make check).
#
# Environment knobs (defaults):
#   G711="10 50 200 1000"  AMRWB="10 50"   participants per run
#   TALKERS=3  WARMUP=5  WINDOW=20
#   MEDIAD_CPU=1 LOAD_CPU=0
#   LOAD_PORT=30000               roomload's first port (one per participant)
#   RTP_PORTS="40000 49999"       mediad's media.rtp_ports (one pair per participant)
#   LOAD_MAX=0.7 QUIET_WAIT=600   1-minute load average to wait for, s at most
#   DISTURBED=5 RETRIES=1
#   SLEEP=0                       1: roomload sleeps in epoll (-S -g 1000) instead
#                                 of busy polling
#   PERF=0                        1: after each N's measured run, one more run
#                                 with perf record -g on mediad over its window
#                                 (not in the table: perf costs mediad CPU), sorted
#                                 by tests/bench/perfsplit.py into where the time
#                                 goes (system calls, decode, encode, mix, ...)
#   NO_DOC=0
#   REPORT_FROM=DIR               no runs: the table and the doc section from an
#                                 earlier run's output directory
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD:-$TOP/build}}
MEDIAD=$BUILD/mediad/mediad
ROOMLOAD=$BUILD/tests/bench/roomload

G711=${G711-10 50 200 1000}
AMRWB=${AMRWB-10 50}
TALKERS=${TALKERS:-3}
WARMUP=${WARMUP:-5}
WINDOW=${WINDOW:-20}
MEDIAD_CPU=${MEDIAD_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
LOAD_PORT=${LOAD_PORT:-30000}
RTP_PORTS=${RTP_PORTS:-40000 49999}
LOAD_MAX=${LOAD_MAX:-0.7}
QUIET_WAIT=${QUIET_WAIT:-600}
DISTURBED=${DISTURBED:-5}
RETRIES=${RETRIES:-1}
SLEEP=${SLEEP:-0}
PERF=${PERF:-0}
NO_DOC=${NO_DOC:-0}
REPORT_FROM=${REPORT_FROM:-}

read -r PORT_MIN PORT_MAX <<< "$RTP_PORTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
OUT=$(mktemp -d /tmp/parley-rbench.XXXXXX)
TSTART=$(date +%s)
MEDIAD_PID=
PERF_PID=
LOAD_PID=

BENCH=rooms.sh
. "$HERE/lib.sh"

cleanup() {
	[ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null
	[ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null
	stop_mediad
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the runs: "CODEC N" lines
runs() {
	local n
	for n in $G711; do echo "PCMA $n"; done
	for n in $AMRWB; do echo "AMR-WB $n"; done
}

# ------------------------------------------------------------------ mediad

start_mediad() {	# tag
	bench_mediad "$MEDIAD" "$1" "$MEDIAD_CPU" 0 "$PORT_MIN" "$PORT_MAX" mediad
	MEDIAD_PID=$BENCH_PID
	ENDPOINT=$BENCH_ENDPOINT
}

stop_mediad() {
	bench_stop "$MEDIAD_PID"
	MEDIAD_PID=
}

# Waits (at most QUIET_WAIT s) for the 1-minute load average to fall under
# LOAD_MAX; sets LOAD1 to the last one read.
wait_load() {
	local t0=$SECONDS
	while :; do
		read -r LOAD1 _ < /proc/loadavg
		awk -v l="$LOAD1" -v m="$LOAD_MAX" 'BEGIN { exit !(l <= m) }' && return 0
		if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
			say "  (the load stayed at $LOAD1 for $QUIET_WAIT s: going on)"
			return 1
		fi
		sleep 10
	done
}

# ------------------------------------------------------------------ runs

declare -A R	# R[codec,N,key] = value from roomload's RESULT line

# One run, retried while disturbed; fills R.
run() {	# codec n
	local codec=$1 n=$2 try best=-1 bestd= d
	for ((try = 0; try <= RETRIES; try++)); do
		run_try "$codec" "$n" "$try" || continue
		d=$(sed -n 's/.* mediad_wait_pct=\([0-9.]*\).*/\1/p' "$OUT/$codec-$n.t$try.result")
		if [ $best -lt 0 ] || awk -v a="$d" -v b="$bestd" 'BEGIN { exit !(a < b) }'; then
			best=$try bestd=$d
		fi
		awk -v a="$d" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' || break
		[ $try -lt "$RETRIES" ] && say "  (disturbed: mediad waited $d % of the window for its CPU; again)"
	done
	if [ $best -lt 0 ]; then
		R[$codec,$n,failed]=1
		return
	fi
	echo "$best" > "$OUT/$codec-$n.kept"
	[ "$PERF" = 1 ] && run_try "$codec" "$n" perf
	load_result "$codec" "$n"
	printf '  %-6s %4d: mediad %s %% (+%s), %s us/participant/s, ticks %s/%s, late %s, encodes %s, received %s/s per participant, lost %s, roomload work %s %% (try %d kept)\n' \
	    "$codec" "$n" "${R[$codec,$n,mediad_cpu_pct]}" "${R[$codec,$n,softirqd_pct]}" \
	    "${R[$codec,$n,us_per_part_s]}" "${R[$codec,$n,ticks]}" "${R[$codec,$n,ticks_expected]}" \
	    "${R[$codec,$n,late]}" "${R[$codec,$n,encodes]}" "${R[$codec,$n,pps_mean]}" \
	    "${R[$codec,$n,lost]}" "${R[$codec,$n,tool_work_pct]}" $((best + 1)) | tee -a "$OUT/runs.txt" >&2
}

# One try: a fresh mediad, roomload; its RESULT line in $OUT/CODEC-N.tTRY.result.
# With try "perf", the profiled run: $OUT/CODEC-N.tperf.split says where
# mediad's time went.
run_try() {	# codec n try
	local codec=$1 n=$2 tag=$1-$2.t$3 rc args=()
	wait_load
	echo "$LOAD1" > "$OUT/$tag.load"
	start_mediad "$tag"
	[ "$SLEEP" = 1 ] && args=(-S -g 1000)
	if [ "$3" = perf ]; then
		# roomload joins first: the window starts about WARMUP s after it starts sending
		( sleep "$(awk -v w="$WARMUP" -v n="$n" 'BEGIN { print w + 1 + n / 1000 }')"
		  exec perf record -q -g -p "$MEDIAD_PID" -o "$OUT/$tag.perf.data" -- sleep "$WINDOW" ) \
		    > /dev/null 2>&1 &
		PERF_PID=$!
	fi
	taskset -c "$LOAD_CPU" "$ROOMLOAD" -e "$ENDPOINT" -n "$n" -C "$codec" -T "$TALKERS" \
	    -p "$MEDIAD_PID" -c "$MEDIAD_CPU" -b "$LOAD_PORT" -w "$WARMUP" -t "$WINDOW" "${args[@]}" \
	    > "$OUT/$tag.result" 2> "$OUT/$tag.roomload.log" &
	LOAD_PID=$!
	wait "$LOAD_PID"	# in the background, so that a signal ends the bench at once
	rc=$?
	LOAD_PID=
	if [ -n "$PERF_PID" ]; then
		wait "$PERF_PID" 2>/dev/null
		PERF_PID=
		perf report -i "$OUT/$tag.perf.data" --no-children --percent-limit 0.5 --stdio \
		    > "$OUT/$tag.perf.txt" 2>/dev/null
		perf script -i "$OUT/$tag.perf.data" -F ip,sym,dso 2>/dev/null |
		    python3 "$HERE/perfsplit.py" > "$OUT/$tag.split"
	fi
	if ! kill -0 "$MEDIAD_PID" 2>/dev/null; then
		say "  mediad died during the run; its log: $OUT/$tag.mediad.log"
		R[$codec,$n,died]=1
	fi
	stop_mediad
	if [ $rc != 0 ] || ! grep -q '^RESULT ' "$OUT/$tag.result"; then
		say "  $codec $n: roomload failed (rc $rc): $(tail -3 "$OUT/$tag.roomload.log")"
		return 1
	fi
	return 0
}

load_result() {	# codec n
	local codec=$1 n=$2 t kv
	read -r t < "$OUT/$codec-$n.kept"
	R[$codec,$n,try]=$t
	read -r R[$codec,$n,load1] < "$OUT/$codec-$n.t$t.load"
	for kv in $(sed -n 's/^RESULT //p' "$OUT/$codec-$n.t$t.result"); do
		R[$codec,$n,${kv%%=*}]=${kv#*=}
	done
	awk -v a="${R[$codec,$n,mediad_wait_pct]}" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' &&
	    R[$codec,$n,disturbed]=1
	R[$codec,$n,cpu]=$(awk -v a="${R[$codec,$n,mediad_cpu_pct]}" -v b="${R[$codec,$n,softirqd_pct]}" 'BEGIN { printf "%.1f", a + b }')
	R[$codec,$n,audio]=$(audio "$codec" "$n")
	[ -s "$OUT/$codec-$n.tperf.split" ] &&
	    R[$codec,$n,split]=$(awk '$1 == "samples" { next } $2 >= 0.5 { sub(/_/, " ", $1); printf "%s%s %s %%", sep, $1, $2; sep = ", " }' \
		"$OUT/$codec-$n.tperf.split")
	return 0
}

# The audio check: the listener hears every tone, talker 0 every tone but its own.
audio() {	# codec n
	local codec=$1 n=$2 t l s own=- ok=1 lv= tv=
	for ((t = 0; t < TALKERS; t++)); do
		l=${R[$codec,$n,listener_tone${t}_dbfs]:-}
		s=${R[$codec,$n,talker0_tone${t}_dbfs]:-}
		[ -n "$l" ] || { echo "-"; return; }
		lv="$lv/$l" tv="$tv/$s"
		awk -v l="$l" 'BEGIN { exit !(l > -20) }' || ok=0
		if [ $t = 0 ]; then
			awk -v s="$s" 'BEGIN { exit !(s < -40) }' || ok=0
		else
			awk -v s="$s" 'BEGIN { exit !(s > -20) }' || ok=0
		fi
	done
	[ $ok = 1 ] && own=ok || own=WRONG
	echo "$own (listener ${lv#/}; talker 0 ${tv#/} dBFS)"
}

# ------------------------------------------------------------------ report

has() { [ -n "${R[$1,$2,ticks]+x}" ]; }
val() { echo "${R[$1,$2,$3]:-}"; }

table() {
	local codec n note
	echo "| codec | participants | mediad CPU, % of one core (of it ksoftirqd) | on CPU (schedstat) | CPU µs per participant per second | ticks in window (expected) | late ticks | encodes per tick | talking | received per participant, packets/s min / mean / max | lost / bad | mediad: concealed frames | roomload CPU %, work % | load avg before | waiting for the CPU: mediad / roomload % | audio (tone levels heard) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for r in "${RUNS[@]}"; do
		read -r codec n <<< "$r"
		if ! has "$codec" "$n"; then
			echo "| $codec | $n | run failed | | | | | | | | | | | | | |"
			continue
		fi
		note=
		[ -n "$(val "$codec" "$n" died)" ] && note="$note (mediad died)"
		[ "$(val "$codec" "$n" try)" -gt 0 ] && note="$note (try $(( $(val "$codec" "$n" try) + 1 )))"
		[ -n "$(val "$codec" "$n" disturbed)" ] && note="$note (disturbed)"
		echo "| $codec | $n | $(val "$codec" "$n" cpu) ($(val "$codec" "$n" softirqd_pct)) | $(val "$codec" "$n" mediad_run_pct) | $(val "$codec" "$n" us_per_part_s) | $(val "$codec" "$n" ticks) ($(val "$codec" "$n" ticks_expected)) | $(val "$codec" "$n" late) | $(val "$codec" "$n" encodes) | $(val "$codec" "$n" talking) | $(val "$codec" "$n" pps_min) / $(val "$codec" "$n" pps_mean) / $(val "$codec" "$n" pps_max) | $(val "$codec" "$n" lost) / $(val "$codec" "$n" bad) | $(val "$codec" "$n" md_concealed) | $(val "$codec" "$n" tool_cpu_pct), $(val "$codec" "$n" tool_work_pct) | $(val "$codec" "$n" load1) | $(val "$codec" "$n" mediad_wait_pct) / $(val "$codec" "$n" tool_wait_pct)$note | $(val "$codec" "$n" audio) |"
	done
}

# One row of the bar: under one core, every tick on time, every mix out.
bar_one() {	# codec n label
	local codec=$1 n=$2
	if ! has "$codec" "$n"; then
		echo "- $3: not measured."
		return 1
	fi
	awk -v label="$3" -v c="$(val "$codec" "$n" cpu)" -v late="$(val "$codec" "$n" late)" \
	    -v t="$(val "$codec" "$n" ticks)" -v te="$(val "$codec" "$n" ticks_expected)" \
	    -v p="$(val "$codec" "$n" pps_min)" -v lost="$(val "$codec" "$n" lost)" \
	    -v a="$(val "$codec" "$n" audio)" '
	BEGIN {
		ok = (c + 0 < 100 && late == 0 && t + 2 >= te && p + 0 >= 49.5 && lost == 0 && a ~ /^ok/);
		printf "- %s: mediad %.1f %% of one core, %d of %d ticks, %d late, every participant %.2f packets/s or more, %d lost, audio %s: **%s**.\n",
		    label, c, t, te, late, p, lost, a ~ /^ok/ ? "as expected" : "NOT as expected", ok ? "met" : "not met";
		exit !ok
	}'
}

# What the figures say beyond the table.
notes() {
	local codec n
	for codec in PCMA AMR-WB; do
		n=$(for r in "${RUNS[@]}"; do set -- $r; [ "$1" = "$codec" ] && has "$1" "$2" && echo "$2"; done | sort -n | tail -1)
		[ -n "$n" ] || continue
		awk -v c="$codec" -v n="$n" -v cpu="$(val "$codec" "$n" cpu)" 'BEGIN {
			if (cpu + 0 > 0)
				printf "- Headroom, %s: at %d participants mediad used %.1f %% of its core; if the cost grew linearly from there, one core would carry about %d (an estimate, not measured; the cost per participant falls as N grows, see below).\n", c, n, cpu, int(n * 100 / cpu / 10) * 10 }'
	done
	echo "- The CPU per participant falls as N grows: in a small room mediad sleeps between packets, and every packet that arrives wakes it (*epoll* in a PERF=1 profile); in a large one packets queue while it works, and each wake-up serves several."
	grep -q 'nested_pvm=1' /proc/cmdline 2>/dev/null &&
	    echo "- This machine is a VM whose kernel runs as a nested PVM guest: system calls, wake-ups and the network path cost several times what they do on bare metal, so absolute figures are this machine's."
	return 0
}

# Where mediad's time went in the profiled runs.
profile() {
	local r codec n
	for r in "${RUNS[@]}"; do
		read -r codec n <<< "$r"
		[ -n "$(val "$codec" "$n" split)" ] || continue
		echo "- $codec, $n participants (perf, a run of its own; mediad at $(sed -n 's/.* mediad_cpu_pct=\([0-9.]*\).*/\1/p' "$OUT/$codec-$n.tperf.result") % under perf): $(val "$codec" "$n" split)."
	done
}

verdict() {
	local ok=1
	bar_one PCMA 1000 "1,000-participant G.711 room, $TALKERS talkers" || ok=0
	bar_one AMR-WB 50 "50-participant AMR-WB room, $TALKERS talkers" || ok=0
	if [ $ok = 1 ]; then
		echo "- The issue's bar (one core carries both with no tick overrun): **met**."
	else
		echo "- The issue's bar (one core carries both with no tick overrun): **not met**."
	fi
}

write_doc() {	# table file
	local doc=$TOP/docs/benchmarks.md sec=$OUT/section.md
	{
		echo "## Room mixing (mediad)"
		echo
		echo "Measured by \`tests/bench/rooms.sh\` on $RUN_DATE, one run, one room at a time on a"
		echo "fresh mediad: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr);"
		echo "$MEDIAD_VERSION (commit $COMMIT, built in \`$BUILD\`)."
		echo "Everything on 127.0.0.1; mediad pinned to CPU $MEDIAD_CPU, the load tool to CPU $LOAD_CPU."
		echo "Run by hand (never in CI) with \`tests/bench/rooms.sh BUILD_DIR\`."
		echo
		echo "- *Load*: \`tests/bench/roomload\` (C, one thread) joins N participants to one room over"
		echo "  mediad's control socket as sipd does (\`ROOM_JOIN\`, each participant a UDP socket of its"
		echo "  own on 127.0.0.1), then sends from every participant one RTP packet every 20 ms, the"
		echo "  send times spread evenly over the 20 ms: $TALKERS participants send a tone (400, 600,"
		echo "  800 Hz at -12 dBFS), the others silence, as phones that listen do (G.711: PT 8, 160"
		echo "  bytes of A-law silence; AMR-WB: PT 96, octet-aligned, every mode allowed so 23.85 kbit/s"
		echo "  both ways, speech frames of silence, no DTX).  Payloads come from mediad's own"
		echo "  encoder (\`codec.c\`), made once at start: while the load runs the tool only patches"
		echo "  sequence numbers and timestamps.  It reads back the mix mediad sends each participant."
		echo "  Every run: ${WARMUP} s of warm-up, then ${WINDOW} s measured.$([ "$SLEEP" = 1 ] && echo "  roomload sleeps in epoll between sends (1 ms wake-ups).")"
		echo "- *mediad CPU*: utime+stime of mediad (\`/proc/PID/stat\`) over the window, plus the"
		echo "  ksoftirqd of its CPU (in brackets; on loopback delivering what mediad sends is softirq"
		echo "  work on its CPU), in % of one core; *on CPU* is the same from schedstat (in ns, a check"
		echo "  of the tick-sampled figure); *per participant per second*: mediad's CPU time per second"
		echo "  over N.  This includes everything mediad does for the room: receiving N × 50 packets/s"
		echo "  (one \`recvmmsg\` per readable socket), jitter buffer, decode, talk detection, the mix,"
		echo "  the encodes, and sending N × 50 packets/s (one \`sendto\` each)."
		echo "- *Ticks*, *late ticks*, *encodes per tick*, *talking*: \`ROOM_STATS\` asked at both edges of"
		echo "  the window (\`r_ticks\`, \`r_late\`: ticks that started more than a tick after they were"
		echo "  due; \`r_encodes\` of the last tick; talkers by \`p_talking\`).  3 talkers should give 4"
		echo "  encodes: one N-1 mix per talker, one mix shared by every listener."
		echo "- *Received*: mix packets roomload read per participant per second over the window (50"
		echo "  expected), *lost*: sequence-number gaps in them, *bad*: wrong payload type or size;"
		echo "  *concealed*: frames mediad had no packet for in time (its jitter buffer, \`p_concealed\`)."
		echo "- *Audio*: roomload decodes what the last participant (a listener) and talker 0 hear"
		echo "  with mediad's decoder and measures each tone (Goertzel): the listener must hear all"
		echo "  three (above -20 dBFS), talker 0 the other two but not its own (below -40 dBFS)."
		echo "- *roomload* busy-polls its sockets on its own CPU, so its CPU is ~100 %; *work* is the"
		echo "  share of its loop turns that found something to send or receive."
		echo "- *Load avg before*: the 1-minute load average when the run started (the bench waits up"
		echo "  to ${QUIET_WAIT} s for it to fall under ${LOAD_MAX}; this machine is shared with other work)."
		echo "  *Waiting for the CPU*: time mediad and roomload were runnable while another task had"
		echo "  their CPU (schedstat), in % of the window; a run where mediad waited more than"
		echo "  ${DISTURBED} % is run again (at most ${RETRIES} more), and the least disturbed try is kept."
		echo
		cat "$1"
		echo
		verdict
		notes
		echo
		if [ -n "$(profile)" ]; then
			echo "Where mediad's time goes, by \`perf record -g\` over the window of one more run per N,"
			echo "each sample sorted by \`tests/bench/perfsplit.py\`: kernel time by the system call it is"
			echo "in (*send*: \`sendto\` of the mixes up to the loopback device; *delivery*: the part of"
			echo "\`sendto\` that on loopback delivers the packet into the phone's socket, which a real NIC"
			echo "leaves to the receiving host; *receive*: \`recvmmsg\`; *epoll*: waiting, sleeping and"
			echo "being woken), user time by the function it is in (*mediad*: the packet path, the"
			echo "room and event loops; mediad has no frame pointers, so user time is not traced to its"
			echo "callers; *libc* is mostly its system-call wrappers and \`clock_gettime\`).  Shares under 0.5 %"
			echo "left out."
			echo
			profile
			echo
		fi
	} > "$sec"
	bench_doc_section "$doc" "Room mixing (mediad)" "$sec"
}

# ------------------------------------------------------------------ main

if [ -n "$REPORT_FROM" ]; then
	rmdir "$OUT"
	OUT=$REPORT_FROM
	[ -f "$OUT/params" ] || die "$OUT/params: not the output of a rooms.sh run"
	. "$OUT/params"
	: "${MEDIAD_VERSION:=$("$MEDIAD" -V 2>/dev/null | head -1)}"
	: "${COMMIT:=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')}"
	mapfile -t RUNS < <(runs)
	for r in "${RUNS[@]}"; do
		read -r codec n <<< "$r"
		[ -f "$OUT/$codec-$n.kept" ] && load_result "$codec" "$n"
	done
else
	command -v taskset >/dev/null || die "taskset not found (util-linux)"
	[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: one for mediad, one for roomload"
	max=$(runs | awk '{ print $2 }' | sort -n | tail -1)
	[ $(( (PORT_MAX - PORT_MIN + 1) / 2 )) -ge "$max" ] ||
	    die "RTP_PORTS $RTP_PORTS holds fewer than $max port pairs"
	say "building roomload and mediad in $BUILD"
	make -s -C "$BUILD" tests/bench/roomload mediad/mediad >&2 ||
	    die "build failed (configure $BUILD first)"
	RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	MEDIAD_VERSION=$("$MEDIAD" -V 2>/dev/null | head -1)
	COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')
	git -C "$TOP" diff --quiet HEAD -- mediad common proto 2>/dev/null || COMMIT="$COMMIT + local changes"
	if [ "$PERF" = 1 ]; then
		command -v perf >/dev/null || die "PERF=1: perf not found"
		command -v python3 >/dev/null || die "PERF=1: python3 not found"
	fi
	for v in G711 AMRWB TALKERS WARMUP WINDOW MEDIAD_CPU LOAD_CPU LOAD_MAX QUIET_WAIT DISTURBED RETRIES SLEEP PERF RUN_DATE MEDIAD_VERSION COMMIT; do
		printf "%s='%s'\n" "$v" "${!v}"
	done > "$OUT/params"
	say "parley room bench: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), output in $OUT"
	mapfile -t RUNS < <(runs)
	for r in "${RUNS[@]}"; do
		read -r codec n <<< "$r"
		say "== $codec, $n participants"
		run "$codec" "$n"
	done
fi

table > "$OUT/table.md"
echo
cat "$OUT/table.md"
echo
verdict
notes
echo
profile
echo
[ -n "$REPORT_FROM" ] || say "every run: $OUT/runs.txt; run took $(( $(date +%s) - TSTART )) s"
[ "$NO_DOC" = 1 ] || write_doc "$OUT/table.md"
