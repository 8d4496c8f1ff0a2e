#!/bin/bash
# tests/bench/recording.sh — recd and mediad recording N concurrent relayed
# G.711 calls (caller, callee and mix: 3 files a call), one run per N.
#
#   tests/bench/recording.sh [BUILD_DIR]  (BUILD_DIR default: /work/main/build,
#                                          or $BUILD; the daemons are BUILD_DIR/mediad/mediad
#                                          and BUILD_DIR/recd/recd)
#
# For each N in CALLS: a fresh recd writing into a fresh directory under
# REC_BASE (on disk: the bench refuses tmpfs), a fresh mediad feeding it;
# rtpload plays N calls through mediad (tests/bench/media.sh's load: two
# G.711 streams of 50 packets/s a call), set up by `mediasetup -r`, which
# also asks mediad to record each call (RECORD: both legs and the mix);
# WARMUP s of warm-up, WINDOW s measured, then rtpload drains and exits,
# `mediasetup -D` ends every call (SESSION_DELETE, which stops its
# recording), and the bench waits until recd has closed them all (no
# sidecar says "recording").  mediad runs pinned to MEDIAD_CPU; rtpload
# and recd share LOAD_CPU (rtpload sleeps in epoll here, -S, rather than
# busy-polling, so that recd gets its share).
#
# Figures per N:
#   mediad, recd CPU   utime+stime over the window (rtpload -p, -P:
#                      /proc/PID/stat at its edges), % of one core; mediad's
#                      includes relaying; its ksoftirqd in brackets
#   RTP loss           rtpload's, through mediad (packets its own full
#                      sockets dropped are not counted)
#   frames missing     packets rtpload sent (all of them, warm-up and drain
#                      included) minus the frames of real audio in the two
#                      leg files of every call, found by tests/bench/wavscan
#                      (each such frame decodes one packet): audio that
#                      reached the relay but not the disk, whatever the cause
#   holes, concealed   wavscan: silent frames between a file's first and last
#                      audio (legs and mix), and frames mediad concealed
#                      because a packet was not there at its tick (legs)
#   the causes, by who knows them: REC_GAPs in the sidecars (mediad let
#                      frames go before recd had them), files whose length
#                      differs from the recording's wall length (sidecar
#                      end - start) by more than 20 ms, recd's "out of
#                      sequence" frames, mediad's "let go unacknowledged"
#                      warnings and the silence it passed for late ticks
#   disk               bytes of all WAVs over the recordings' mean length
#                      (the rate N calls write at), and what recd wrote to
#                      storage in the window (/proc/PID/io write_bytes) per s
#
# Output: a table on stdout, the section "## Recording (recd)" of
# docs/benchmarks.md (unless NO_DOC=1), the daemons' logs and rtpload's
# output under $OUT (printed at the end).  The recordings are deleted
# after each N (KEEP=1 keeps them: 3 files of 16 kB/s a call, about 3 GB
# for 1,000 calls of a minute).  Loopback only; run it by hand (never in
# CI); no figure is asserted.
#
# Prerequisites: python3, taskset (util-linux), root for rtpload's raw socket
# (RAW=1) and for recd's /proc/PID/io; perf for PERF=1.
#
# Environment knobs (defaults):
#   CALLS="100 500 1000"      concurrent recorded calls per run
#   WARMUP=5 WINDOW=60        seconds
#   MEDIAD_CPU=1 LOAD_CPU=0   CPUs of mediad, and of rtpload and recd
#   RECD_CPU=$LOAD_CPU
#   LOAD_PORT=4000            rtpload's first port
#   RELAY_PORTS="40000 44999" mediad's RTP ports (four per call)
#   REC_BASE=/var/tmp         where each run's recording.dir is made
#   QUIET_WAIT=120            s to wait for quiet CPUs before each run
#   DISTURBED=10 RETRIES=1    a run where mediad waited for its CPU more than
#                             DISTURBED % of the window is done again, RETRIES
#                             times at most; the least disturbed is kept
#   CLOSE_WAIT=180            s to wait for recd to close every recording
#   RAW=1                     rtpload -R (needs root)
#   PERF=0                    1: perf record -g mediad over the window (the CPU
#                             figures of that run then include perf's cost)
#   KEEP=0 NO_DOC=0
#   REPORT_FROM=DIR           no runs: the table and doc section from an earlier
#                             run's output directory
#   EXTRA_NOTES=FILE          list items added to the doc section after the
#                             generated ones: the analysis of a run by hand
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${1:-${BUILD:-$TOP/build}}
MEDIAD=$BUILD/mediad/mediad
RECD=$BUILD/recd/recd
RTPLOAD=$BUILD/tests/bench/rtpload
MEDIASETUP=$BUILD/tests/bench/mediasetup
WAVSCAN=$BUILD/tests/bench/wavscan

CALLS=${CALLS:-100 500 1000}
WARMUP=${WARMUP:-5}
WINDOW=${WINDOW:-60}
MEDIAD_CPU=${MEDIAD_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
RECD_CPU=${RECD_CPU:-$LOAD_CPU}
LOAD_PORT=${LOAD_PORT:-4000}
RELAY_PORTS=${RELAY_PORTS:-40000 44999}
REC_BASE=${REC_BASE:-/var/tmp}
QUIET_WAIT=${QUIET_WAIT:-120}
DISTURBED=${DISTURBED:-10}
RETRIES=${RETRIES:-1}
CLOSE_WAIT=${CLOSE_WAIT:-180}
RAW=${RAW:-1}
PERF=${PERF:-0}
KEEP=${KEEP:-0}
NO_DOC=${NO_DOC:-0}
REPORT_FROM=${REPORT_FROM:-}

read -r PORT_MIN PORT_MAX <<< "$RELAY_PORTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
OUT=$(mktemp -d /tmp/parley-rbench.XXXXXX)
TSTART=$(date +%s)
MEDIAD_PID=
RECD_PID=
LOAD_PID=
PERF_PID=
REC_DIR=

BENCH=recording.sh
. "$HERE/lib.sh"

cleanup() {
	[ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null
	[ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null
	bench_stop "$MEDIAD_PID"
	bench_stop "$RECD_PID"
	[ -n "$REC_DIR" ] && [ "$KEEP" != 1 ] && rm -rf "$REC_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ checks

if [ -z "$REPORT_FROM" ]; then
	command -v python3 >/dev/null || die "python3 not found"
	command -v taskset >/dev/null || die "taskset not found (util-linux)"
	[ "$(nproc)" -gt "$MEDIAD_CPU" ] && [ "$(nproc)" -gt "$LOAD_CPU" ] ||
	    die "needs CPUs $MEDIAD_CPU and $LOAD_CPU"
	[ $(( (PORT_MAX - PORT_MIN + 1) / 4 )) -ge "$(echo $CALLS | tr ' ' '\n' | sort -n | tail -1)" ] ||
	    die "RELAY_PORTS $RELAY_PORTS holds fewer than 4 ports per call"
	mkdir -p "$REC_BASE" || die "cannot make $REC_BASE"
	REC_FS=$(df -PT "$REC_BASE" | awk 'NR == 2 { print $2 " on " $1 }')
	case $REC_FS in tmpfs*|ramfs*) die "REC_BASE $REC_BASE is on $REC_FS: the bench measures a disk" ;; esac
	if [ "$RAW" = 1 ] && [ "$(id -u)" != 0 ]; then
		say "not root: rtpload sends with sendto (RAW=0), and recd's disk writes are not readable"
		RAW=0
	fi
	say "building the daemons and the bench tools in $BUILD"
	make -s -C "$BUILD" mediad/mediad recd/recd tests/bench/rtpload tests/bench/mediasetup \
	    tests/bench/wavscan >&2 || die "build failed (configure $BUILD first)"
fi

# ------------------------------------------------------------------ one run

# key=value lines of $SUM ($OUT/N.tTRY.summary): everything the report
# needs of a run
put() {	# n key value
	echo "$2=$3" >> "$SUM"
}

# Waits until no sidecar under dir says "recording" and there are n of
# them; sets CLOSE_S (s it took).  1 on a timeout.
wait_closed() {	# dir n
	local t0=$SECONDS open total
	while :; do
		total=$(find "$1" -name '*.json' | wc -l)
		open=$(find "$1" -name '*.json' -print0 | xargs -0r grep -l '"status": "recording"' | wc -l)
		CLOSE_S=$((SECONDS - t0))
		[ "$total" -ge "$2" ] && [ "$open" = 0 ] && return 0
		[ $CLOSE_S -ge "$CLOSE_WAIT" ] && { say "  $open of $total recordings still open after $CLOSE_WAIT s"; return 1; }
		sleep 0.5
	done
}

# Run n, RETRIES more times while mediad waited for its CPU more than
# DISTURBED % of the window (another program had it; recd shares its CPU
# with rtpload by design, so its wait is not counted); the least disturbed
# try is kept as $OUT/N.summary.
run() {	# n
	local n=$1 try d best= bestd=
	for ((try = 0; try <= RETRIES; try++)); do
		run_try "$n" "$try"
		d=$(awk -F= '$1 == "rtp_relay_wait_pct" { print $2 + 0 }' "$OUT/$n.t$try.summary")
		if [ -z "$best" ] || awk -v a="$d" -v b="$bestd" 'BEGIN { exit !(a < b) }'; then
			best=$try bestd=$d
		fi
		awk -v a="$d" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' || break
		[ $try -lt "$RETRIES" ] && say "  (disturbed: mediad waited $d % of the window for its CPU; again)"
	done
	cp "$OUT/$n.t$best.summary" "$OUT/$n.summary"
	echo "try=$((best + 1))" >> "$OUT/$n.summary"
	awk -v a="$bestd" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' && echo "disturbed=1" >> "$OUT/$n.summary"
	show "$n" >&2
}

run_try() {	# n try
	local n=$1 tag=rec-$1.t$2 args rc
	SUM=$OUT/$n.t$2.summary
	rm -f "$SUM"
	bench_wait_quiet "$RTPLOAD" "$MEDIAD_CPU $LOAD_CPU" "$QUIET_WAIT"
	put "$n" quiet "$QUIET"
	put "$n" loadavg "$(cut -d' ' -f1 /proc/loadavg)"
	REC_DIR=$(mktemp -d "$REC_BASE/parley-recbench-$n.XXXXXX")
	bench_recd "$RECD" "$tag" "$RECD_CPU" 0 "$REC_DIR"
	RECD_PID=$BENCH_PID
	bench_mediad "$MEDIAD" "$tag" "$MEDIAD_CPU" 0 "$PORT_MIN" "$PORT_MAX" mediad "$BENCH_RECORDER"
	MEDIAD_PID=$BENCH_PID
	args=(-s "'$MEDIASETUP' -r '$BENCH_ENDPOINT'" -p "$MEDIAD_PID" -c "$MEDIAD_CPU" -P "$RECD_PID" -S)
	[ "$RAW" = 1 ] && args+=(-R)
	if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
		# rtpload's warm-up starts once its calls are set up: a second later at most
		( sleep "$((WARMUP + 1))"; exec perf record -q -g -p "$MEDIAD_PID" -o "$OUT/$tag.perf.data" \
		    -- sleep "$((WINDOW - 2))" ) > /dev/null 2>&1 &
		PERF_PID=$!
	fi
	taskset -c "$LOAD_CPU" "$RTPLOAD" -n "$n" -b "$LOAD_PORT" -w "$WARMUP" -t "$WINDOW" \
	    "${args[@]}" > "$OUT/$tag.result" 2> "$OUT/$tag.rtpload.log" &
	LOAD_PID=$!
	wait "$LOAD_PID"	# in the background, so that a signal ends the bench at once
	rc=$?
	LOAD_PID=
	[ -n "$PERF_PID" ] && { wait "$PERF_PID" 2>/dev/null; PERF_PID=; }
	seq 0 $((n - 1)) | "$MEDIASETUP" -D "$BENCH_ENDPOINT" 2>> "$OUT/$tag.rtpload.log" ||
	    say "  mediasetup -D failed: $(tail -1 "$OUT/$tag.rtpload.log")"
	wait_closed "$REC_DIR" "$n" || put "$n" close_timeout 1
	put "$n" close_s "$CLOSE_S"
	put "$n" mediad_hwm_mb $(awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$MEDIAD_PID/status" 2>/dev/null)
	put "$n" recd_hwm_mb $(awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$RECD_PID/status" 2>/dev/null)
	kill -0 "$MEDIAD_PID" 2>/dev/null || { say "  mediad died"; put "$n" died mediad; }
	kill -0 "$RECD_PID" 2>/dev/null || { say "  recd died"; put "$n" died recd; }
	bench_stop "$MEDIAD_PID"; MEDIAD_PID=
	bench_stop "$RECD_PID"; RECD_PID=
	if [ $rc != 0 ] || ! grep -q '^RESULT ' "$OUT/$tag.result"; then
		say "  rtpload failed (rc $rc): $(tail -3 "$OUT/$tag.rtpload.log")"
		put "$n" failed 1
	else
		sed -n 's/^RESULT //p' "$OUT/$tag.result" | tr ' ' '\n' | sed 's/^/rtp_/' >> "$SUM"
	fi
	say "  scanning $(find "$REC_DIR" -name '*.wav' | wc -l) WAVs"
	find "$REC_DIR" -name '*.wav' -print0 | xargs -0r "$WAVSCAN" > "$OUT/$tag.wavscan" ||
	    say "  wavscan: some files unreadable"
	analyse "$n" "$REC_DIR" "$tag" >> "$SUM"
	[ -f "$OUT/$tag.perf.data" ] && perf script -i "$OUT/$tag.perf.data" -F ip,sym,dso 2>/dev/null |
	    python3 "$HERE/perfsplit.py" > "$OUT/$tag.split"
	if [ "$KEEP" != 1 ]; then
		rm -rf "$REC_DIR"
		REC_DIR=
	fi
}

# The sidecars, wavscan's lines and the daemons' logs of run n: key=value lines.
analyse() {	# n dir tag
	python3 - "$2" "$OUT/$3.wavscan" "$OUT/$3.recd.log" "$OUT/$3.mediad.log" <<'EOP'
import glob, json, os, re, sys
d, scan, recdlog, mediadlog = sys.argv[1:5]
st = {}
recs = gaps = gaps_ms = files = off = 0
max_off = 0.0
lens = []
for p in glob.glob(os.path.join(d, '**', '*.json'), recursive=True):
    try:
        j = json.load(open(p))
    except Exception:
        st['unreadable'] = st.get('unreadable', 0) + 1
        continue
    recs += 1
    st[j.get('status')] = st.get(j.get('status'), 0) + 1
    gaps += len(j.get('gaps', []))
    gaps_ms += sum(g.get('ms', 0) for g in j.get('gaps', []))
    rate = j.get('rate', 8000)
    if j.get('start_ms') and j.get('end_ms'):
        wall = (j['end_ms'] - j['start_ms']) / 1000.0
        lens.append(wall)
        for f in j.get('files', []):
            files += 1
            o = abs(f.get('samples', 0) / rate - wall)
            max_off = max(max_off, o)
            if o > 0.020:
                off += 1
w = dict(bytes=0, legs_real=0, legs_conc=0, legs_fade=0, holes=0, runs=0, max_run=0,
         head=0, tail=0, nleg=0, nfiles=0, legs_audio=0)
for line in open(scan):
    parts = line.split()
    kv = dict(x.split('=', 1) for x in parts[1:] if '=' in x)
    path = parts[0]
    w['nfiles'] += 1
    try:
        w['bytes'] += os.path.getsize(path)
    except OSError:
        pass
    w['holes'] += int(kv['holes'])
    w['runs'] += int(kv['runs'])
    w['max_run'] = max(w['max_run'], int(kv['max_run']))
    if not path.endswith('_mix.wav'):
        w['nleg'] += 1
        w['legs_real'] += int(kv['real'])
        w['legs_audio'] += int(kv['audio'])
        w['legs_conc'] += int(kv['concealed'])
        w['legs_fade'] += int(kv['fade'])
        w['head'] += int(kv['head'])
        w['tail'] += int(kv['tail'])
oos = dups = frames = done = 0
rwarn = 0
for line in open(recdlog, errors='replace'):
    m = re.search(r'\((\d+) frames, (\d+) duplicate, (\d+) out of sequence\)', line)
    if m:
        done += 1
        frames += int(m.group(1)); dups += int(m.group(2)); oos += int(m.group(3))
    elif re.search(r'warn|fail|lost', line, re.I):
        rwarn += 1
letgo = 0.0
late_ms = late_n = mwarn = 0
for line in open(mediadlog, errors='replace'):
    m = re.search(r'([\d.]+) s of recorded audio let go unacknowledged', line)
    n = re.search(r'(\d+) ms of (\d+) recording\(s\) passed as silence', line)
    if m:
        letgo += float(m.group(1))
    elif n:
        late_n += 1
        late_ms += int(n.group(1))
    elif line.strip():
        mwarn += 1
print('recs=%d' % recs)
for k, v in sorted(st.items(), key=lambda x: str(x[0])):
    print('status_%s=%d' % (k, v))
print('files=%d' % files)
print('gaps=%d' % gaps)
print('gaps_ms=%d' % gaps_ms)
print('off_len=%d' % off)
print('max_off_ms=%.1f' % (max_off * 1000))
print('len_mean_s=%.3f' % (sum(lens) / len(lens) if lens else 0))
print('wav_files=%d' % w['nfiles'])
print('wav_bytes=%d' % w['bytes'])
print('legs_real=%d' % w['legs_real'])
print('legs_audio=%d' % w['legs_audio'])
print('concealed=%d' % w['legs_conc'])
print('fade=%d' % w['legs_fade'])
print('holes=%d' % w['holes'])
print('hole_runs=%d' % w['runs'])
print('max_run=%d' % w['max_run'])
print('head_ms=%.0f' % (w['head'] * 20.0 / w['nleg'] if w['nleg'] else 0))
print('tail_ms=%.0f' % (w['tail'] * 20.0 / w['nleg'] if w['nleg'] else 0))
print('recd_done=%d' % done)
print('recd_frames=%d' % frames)
print('recd_dups=%d' % dups)
print('recd_oos=%d' % oos)
print('recd_warnings=%d' % rwarn)
print('letgo_s=%.1f' % letgo)
print('late_lines=%d' % late_n)
print('late_ms=%d' % late_ms)
print('mediad_other_lines=%d' % mwarn)
EOP
}

# ------------------------------------------------------------------ report

declare -A S

load() {	# n
	local k v
	S=()
	while IFS='=' read -r k v; do
		[ -n "$k" ] && S[$k]=$v
	done < "$OUT/$1.summary"
}

v() { echo "${S[$1]:--}"; }

# Derived figures of the loaded run, into S.
derive() {
	local n=$1
	S[n]=$n
	S[missing]=$(awk -v t="$(v rtp_tx_total)" -v r="$(v legs_real)" 'BEGIN { if (t == "-" || r == "-") print "-"; else print t - r }')
	S[missing_pct]=$(awk -v t="$(v rtp_tx_total)" -v m="${S[missing]}" 'BEGIN { if (m == "-" || t + 0 == 0) print "-"; else printf "%.4f", 100 * m / t }')
	S[rloss]=$(awk -v l="$(v rtp_lost)" -v d="$(v rtp_drops_tool)" -v e="$(v rtp_expected)" \
	    'BEGIN { if (l == "-") { print "-"; exit } l -= d; if (l < 0) l = 0; if (e > 0) printf "%.4f", 100 * l / e; else print "-" }')
	S[wav_mbs]=$(awk -v b="$(v wav_bytes)" -v l="$(v len_mean_s)" 'BEGIN { if (l + 0 > 0) printf "%.2f", b / l / 1e6; else print "-" }')
	S[io_mbs]=$(awk -v b="$(v rtp_other_write_bytes)" -v w="$(v rtp_window_s)" 'BEGIN { if (b != "-" && w + 0 > 0) printf "%.2f", b / w / 1e6; else print "-" }')
	S[ok]=${S[status_ok]:-0}
	S[notok]=$(( ${S[recs]:-0} - ${S[status_ok]:-0} ))
}

show() {	# n
	load "$1"; derive "$1"
	printf '  %5d calls: %s/%d recordings ok; mediad %s %% (+%s), recd %s %%; RTP loss %s %%; frames sent %s, in the files %s, missing %s; holes %s, concealed %s; gaps %s, off length %s, out of seq %s, let go %s s, late-tick silence %s ms; disk %s MB/s (recd wrote %s MB/s)\n' \
	    "$1" "$(v ok)" "$1" "$(v rtp_relay_cpu_pct)" "$(v rtp_softirqd_pct)" "$(v rtp_other_cpu_pct)" \
	    "$(v rloss)" "$(v rtp_tx_total)" "$(v legs_real)" "$(v missing)" "$(v holes)" "$(v concealed)" \
	    "$(v gaps)" "$(v off_len)" "$(v recd_oos)" "$(v letgo_s)" "$(v late_ms)" "$(v wav_mbs)" "$(v io_mbs)"
}

table() {
	local n
	echo "| calls | recordings ok (files) | mediad CPU, % of one core (of it ksoftirqd) | recd CPU, % of one core | RTP loss through mediad % | frames sent → real frames in the leg files (missing) | holes in files / concealed frames | sidecar gaps | files off their length > 20 ms | recd out of sequence | mediad: let go unacknowledged / late-tick silence | disk: WAV MB/s, recd write_bytes MB/s | closed in | mediad peak memory | CPUs busy: 0 / 1 % | waiting for their CPU: mediad / recd / rtpload % | load avg, machine busy before |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for n in $CALLS; do
		[ -f "$OUT/$n.summary" ] || continue
		load "$n"; derive "$n"
		echo "| $n | $(v ok) of $n ($(v wav_files)) | $(v rtp_relay_cpu_pct) ($(v rtp_softirqd_pct)) | $(v rtp_other_cpu_pct) | $(v rloss) | $(v rtp_tx_total) → $(v legs_real) ($(v missing)) | $(v holes) / $(v concealed) | $(v gaps) ($(v gaps_ms) ms) | $(v off_len) (max $(v max_off_ms) ms) | $(v recd_oos) | $(v letgo_s) s / $(v late_ms) ms | $(v wav_mbs), $(v io_mbs) | $(v close_s) s | $(v mediad_hwm_mb) MB | $(v rtp_cpu0_busy_pct) / $(v rtp_cpu1_busy_pct) | $(v rtp_relay_wait_pct) / $(v rtp_other_wait_pct) / $(v rtp_tool_wait_pct)$(note_try) | $(v loadavg), $(v quiet) % |"
	done
}

note_try() {
	[ "$(v try)" != 1 ] && [ "$(v try)" != - ] && printf ' (try %s)' "$(v try)"
	awk -v a="$(v rtp_relay_wait_pct)" -v b="$DISTURBED" 'BEGIN { exit !(a > b) }' && printf ' (disturbed)'
	return 0
}

verdict() {
	local n lost
	for n in $CALLS; do
		[ -f "$OUT/$n.summary" ] || continue
		load "$n"; derive "$n"
		# files off their length are not counted: see the note on them
		lost=$(awk -v m="$(v missing)" -v h="$(v holes)" -v g="$(v gaps)" -v q="$(v recd_oos)" \
		    -v t="$(v late_ms)" -v k="$(v notok)" \
		    'BEGIN { print (m == "0" && h == "0" && g == "0" && q == "0" && t == "0" && k == "0") ? 0 : 1 }')
		printf -- "- %d calls: %s of %d recordings ok, %s frames of real audio missing from the files (of %s packets sent; %s %%), %s holes, %s concealed, %s sidecar gaps, %s files off their length (not a loss: see below), %s out of sequence; mediad %s %% and recd %s %% of a core: **%s**.\n" \
		    "$n" "$(v ok)" "$n" "$(v missing)" "$(v rtp_tx_total)" "$(v missing_pct)" "$(v holes)" "$(v concealed)" "$(v gaps)" "$(v off_len)" "$(v recd_oos)" \
		    "$(v rtp_relay_cpu_pct)" "$(v rtp_other_cpu_pct)" "$([ "$lost" = 0 ] && echo "0 frames lost" || echo "frames lost")"
	done
}

notes() {
	local n
	for n in $CALLS; do
		[ -f "$OUT/$n.summary" ] || continue
		load "$n"; derive "$n"
		echo "- $n calls: recordings $(v len_mean_s) s long on average; before the first packet $(v head_ms) ms of silence per leg file on average (setup of all calls, then rtpload's first sweep), after the last $(v tail_ms) ms (rtpload's drain, then the deletes) and $(v fade) frames of concealment fading out; recd logged $(v recd_frames) frames ($(v recd_dups) duplicate) and $(v recd_warnings) other warnings, mediad $(v mediad_other_lines) other warning(s); rtpload: latency p99 $(v rtp_lat_p99_us) µs, send lateness p99 $(v rtp_late_p99_us) µs, rtpload CPU $(v rtp_tool_cpu_pct) %."
		[ -f "$OUT/rec-$n.t$(( $(v try) - 1 )).split" ] && echo "- $n calls, where mediad's time went (perf, this run): $(awk '$1 != "samples" && $2 >= 0.5 { printf "%s%s %s %%", sep, $1, $2; sep = ", " }' "$OUT/rec-$n.t$(( $(v try) - 1 )).split")."
	done
}

write_doc() {	# table file
	local doc=$TOP/docs/benchmarks.md sec=$OUT/section.md
	{
		echo "## Recording (recd)"
		echo
		echo "Measured by \`tests/bench/recording.sh\` on $RUN_DATE, one run per N, each on a fresh recd and"
		echo "mediad: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr);"
		echo "$("$MEDIAD" -V 2>/dev/null | head -1) (commit $RUN_COMMIT, built in \`$BUILD\`)."
		echo "mediad pinned to CPU $MEDIAD_CPU, rtpload to CPU $LOAD_CPU, recd to CPU $RECD_CPU; recording.dir a"
		echo "fresh directory under \`$REC_BASE\` ($REC_FS_DOC).  Everything on 127.0.0.1."
		echo "Run by hand (never in CI) with \`tests/bench/recording.sh BUILD_DIR\`."
		echo
		echo "- *Load*: \`tests/bench/rtpload\` plays N calls through mediad, each two G.711 A-law streams of"
		echo "  50 packets/s (as in the relay bench above), set up by \`mediasetup -r\`: per call the two"
		echo "  \`SESSION_UPDATE\`s naming PCMA, then a \`RECORD\` of both legs and the mix, so mediad decodes"
		echo "  both legs at its 20 ms tick and feeds recd three streams a call, and recd writes three 8 kHz"
		echo "  WAVs and a JSON sidecar per call.  ${WARMUP} s of warm-up, ${WINDOW} s measured; then rtpload drains"
		echo "  and exits, \`mediasetup -D\` ends every call (\`SESSION_DELETE\`), and the bench waits until"
		echo "  every sidecar says \"ok\" (*closed in*: from the deletes).  rtpload sleeps in epoll (\`-S\`)"
		echo "  rather than busy-polling, so that recd on the same CPU gets its share.  rtpload's payload"
		echo "  is its send time on A-law silence: noise to the ear, load all the same."
		echo "- *CPU*: utime+stime over the window (\`/proc/PID/stat\` at its edges, read by rtpload), % of one"
		echo "  core; mediad's includes relaying the RTP (and its CPU's ksoftirqd, in brackets)."
		echo "- *Frames missing*: every packet rtpload sent (warm-up and drain included) minus the frames of"
		echo "  real audio in the caller and callee files of every call, counted by \`tests/bench/wavscan\`:"
		echo "  rtpload's A-law never decodes to 0 and mediad's concealment makes samples no A-law byte"
		echo "  decodes to, so each 20 ms frame of a file is real audio (one packet), concealment, or"
		echo "  silence.  *Holes*: silent frames between a file's first and last audio (legs and mix);"
		echo "  *concealed*: frames mediad concealed because a packet was not there at its tick.  This"
		echo "  counts whatever lost audio on its way from rtpload to the disk; the next columns say who"
		echo "  knows of a loss: REC_GAPs in the sidecars (mediad let frames go before recd had them),"
		echo "  files whose length differs from the recording's (sidecar end − start) by more than 20 ms,"
		echo "  recd's frames *out of sequence* (its \"done\" lines), mediad's \"let go unacknowledged\" and"
		echo "  late-tick warnings (silence it put in because its tick came more than 5 ticks late)."
		echo "- *Disk*: bytes of all WAVs over the recordings' mean length (the rate N calls write at:"
		echo "  3 × 16 kB/s a call), and what recd wrote to storage in the window per second"
		echo "  (\`/proc/PID/io\` write_bytes: pages it dirtied, written back by the kernel)."
		echo "- *Waiting for their CPU*: runnable while another task had the CPU (schedstat), % of the"
		echo "  window; a run where mediad waited over ${DISTURBED} % is run again (at most ${RETRIES} more) and"
		echo "  the least disturbed kept (*try 2*; still over: *disturbed*).  recd shares its CPU with"
		echo "  rtpload by design, so its wait is shown, not retried for."
		echo "  The bench waits (up to ${QUIET_WAIT} s) for both CPUs to be quiet before each run;"
		echo "  *machine busy before* is what the rest of the machine used then, % of a CPU.  This machine"
		echo "  is shared with other work."
		echo
		cat "$1"
		echo
		verdict
		notes
		[ -n "${EXTRA_NOTES:-}" ] && [ -f "$EXTRA_NOTES" ] && cat "$EXTRA_NOTES"
		echo
	} > "$sec"
	bench_doc_section "$doc" "Recording (recd)" "$sec"
}

# ------------------------------------------------------------------ main

if [ -n "$REPORT_FROM" ]; then
	rmdir "$OUT"
	OUT=$REPORT_FROM
	[ -f "$OUT/params" ] || die "$OUT/params: not the output of a recording.sh run"
	. "$OUT/params"
	RUN_COMMIT=${RUN_COMMIT:-?}
else
	RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	REC_FS_DOC="$REC_FS, not tmpfs"
	RUN_COMMIT="$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet HEAD -- mediad recd common proto 2>/dev/null || echo ' + local changes')"
	for v in CALLS WARMUP WINDOW MEDIAD_CPU LOAD_CPU RECD_CPU REC_BASE REC_FS_DOC QUIET_WAIT DISTURBED RETRIES RAW PERF RUN_DATE RUN_COMMIT; do
		printf "%s='%s'\n" "$v" "${!v}"
	done > "$OUT/params"
	say "parley recording bench: $(nproc) CPUs, output in $OUT, recordings under $REC_BASE ($REC_FS)"
	for n in $CALLS; do
		say "== $n calls"
		run "$n"
	done
fi

table > "$OUT/table.md"
echo
cat "$OUT/table.md"
echo
verdict
notes
echo
[ -n "$REPORT_FROM" ] || say "output: $OUT; run took $(( $(date +%s) - TSTART )) s"
[ "$NO_DOC" = 1 ] || write_doc "$OUT/table.md"
