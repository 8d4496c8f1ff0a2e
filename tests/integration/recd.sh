#!/bin/bash
# recd.sh — recd, the recording daemon, fed by tests/tools/recfeed as
# mediad would feed it (REC_START, a tone per stream as REC_FRAMES,
# REC_STOP, resends after a restart):
#   (a) a 10 s call at 8000 Hz, 3 streams: REC_DONE ok; each file is where
#       docs/contract.md says (YYYY/MM/DD/<HHMMSS>_<id>_<stream>.wav of the
#       UTC start, the id made filesystem-safe), 10.00 s +- 20 ms of 16-bit
#       mono at 8000 Hz, its tone at the right frequency all through; the
#       sidecar names them all, with the participants and codecs;
#   (b) a 16 kHz recording: the rate, the length and the tones;
#   (c) recd killed (SIGKILL) 3 s into a real-time 10 s feed: its files
#       are valid WAVs that sox reads to the last sample written; restarted
#       2 s later, it is sent REC_START again, reopens them and asks for
#       what it missed, and the files come out 10.00 s long with the tone
#       unbroken (no gap, no silence);
#   (d) recd killed when every frame was acknowledged, not restarted:
#       sox reads every frame, exactly the 3 s sent;
#   (e) recd away longer than the feeder keeps frames (1 s): the feeder
#       sends REC_GAP, the files still cover the whole time, the lost part
#       is silence and the sidecar lists the gap;
#   (f) a full disk (a 200 KiB tmpfs; skipped when it cannot be mounted):
#       REC_DONE says failed with "No space left on device", so does the
#       sidecar; recd stays up; a recording succeeds once there is room
#       again, and in a roomy directory after SIGHUP names it;
#   (g) SIGTERM with a recording open: recd exits 0, the WAV's header is
#       final and the sidecar says "interrupted".
set -u
. "$(dirname "$0")/lib.sh"

need sox soxi
[ -x "$RECD" ] || { echo "Bail out! $RECD not built"; exit 1; }
[ -x "$RECFEED" ] || { echo "Bail out! $RECFEED not built"; exit 1; }

REC=$T/recordings
write_config --log-level debug

# feed NAME ARGS... — recfeed against $2 (an endpoint) with the rest;
# output in $T/NAME.out, returns its exit status
feed() {
	local name=$1 ep=$2
	shift 2
	"$RECFEED" -s "$ep" "$@" > "$T/$name.out" 2> "$T/$name.err"
}
EP=ipc://$T/recorder.sock

# files NAME — the WAV paths REC_DONE listed
files() {
	awk '$1 == "file" { print $2 }' "$T/$1.out"
}

# wav_problems FILE SECONDS RATE — nothing, or what is wrong with FILE
wav_problems() {
	local f=$1 want=$2 rate=$3 d
	[ -f "$f" ] || { echo "$f: missing"; return; }
	[ "$(soxi -r "$f" 2>&1)" = "$rate" ] || echo "$f: rate $(soxi -r "$f" 2>&1), not $rate"
	[ "$(soxi -c "$f" 2>&1)" = 1 ] || echo "$f: not mono"
	[ "$(soxi -b "$f" 2>&1)" = 16 ] || echo "$f: not 16-bit"
	d=$(soxi -D "$f" 2>&1)
	awk -v d="$d" -v w="$want" 'BEGIN { exit !(d - w <= 0.02 && w - d <= 0.02) }' ||
	    echo "$f: $d s, not $want +- 0.02"
}

# tone_problems FILE FREQ SOUND — nothing, or how FILE's tone is not FREQ
# Hz (+-1 %) heard for SOUND s (+-0.1 s)
tone_problems() {
	$PYTHON "$IT_DIR/tonecheck.py" "$1" | json_test "
abs(j['freq'] - $2) <= $2 * 0.01 and abs(j['sound'] - $3) <= 0.1" ||
	    echo "$1: $($PYTHON "$IT_DIR/tonecheck.py" "$1"), not $2 Hz for $3 s"
}

# whole FILE — sox reads every sample the file holds: "SAMPLES" or a problem
whole() {
	local f=$1 size n read
	size=$(stat -c %s "$f")
	n=$(( (size - 44) / 2 ))
	read=$(sox "$f" -n stat 2>&1 | awk '/^Samples read/ { print $3 }')
	if [ "$(soxi -s "$f" 2>&1)" = "$n" ] && [ "$read" = "$n" ]; then
		echo "$n"
	else
		echo "$f: header $(soxi -s "$f" 2>&1), data $n, sox read '$read'"
	fi
}

# sidecar NAME — the sidecar REC_DONE named
sidecar() {
	awk '$1 == "sidecar" { print $2 }' "$T/$1.out"
}

start_recd main || done_testing

# ---------------------------------------------------------------- (a) 10 s, 8 kHz
ID='65418859@192.168.2.159/x:y'
feed a "$EP" -i "$ID" -d 10 -n 5 -P 1001,1002
rc=$?
if [ $rc -eq 0 ] && grep -qx 'done ok ' "$T/a.out" && [ "$(files a | wc -l)" = 3 ]; then
	pass "10 s call: REC_DONE ok with 3 files"
else
	fail "10 s call: REC_DONE ok with 3 files" "exit $rc" "$(cat "$T/a.out" "$T/a.err")" \
	    "$(tail -n 20 "$RECD_LOG")"
fi
SC=$(sidecar a)
start=$(json_print "j['start']" < "$SC" 2>/dev/null)
# 2026-11-20T12:09:29.389Z -> REC/2026/11/20/120929_<safe id>
want=$(echo "$start" | sed -E 's|^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2}).*|\1/\2/\3/\4\5\6|')
base="$REC/${want}_65418859_192.168.2.159_x_y"
bad=""
for s in caller callee mix; do
	grep -qx "file ${base}_$s.wav 10000" "$T/a.out" || bad="$bad no 'file ${base}_$s.wav 10000';"
done
[ "$SC" = "$base.json" ] || bad="$bad sidecar '$SC', not $base.json;"
result "the files are named per the contract (UTC date, start, safe id, stream; 10000 ms each)" "$bad"
bad=""
for s in caller:440 callee:660 mix:880; do
	bad="$bad$(wav_problems "${base}_${s%:*}.wav" 10.00 8000)$(tone_problems "${base}_${s%:*}.wav" "${s#*:}" 10.0)"
done
result "each file: 10.00 s of 16-bit mono at 8000 Hz, its tone all through (soxi, tonecheck.py)" "$bad"
if json_test "
j['id'] == '$ID' and j['kind'] == 'call' and j['rate'] == 8000 and j['status'] == 'ok'
and j['participants'] == ['1001', '1002'] and j['gaps'] == []
and [f['stream'] for f in j['files']] == ['caller', 'callee', 'mix']
and [f['codec'] for f in j['files']] == ['PCMA', 'PCMA', '']
and all(f['file'] == '$(basename "$base")_' + f['stream'] + '.wav' for f in j['files'])
and all(abs(f['seconds'] - 10) < 0.001 for f in j['files'])
and j['end_ms'] - j['start_ms'] == 10000 and j['stop_reason'] == 'hangup'" < "$SC"; then
	pass "the sidecar: id, kind, rate, participants, codecs, files, start and end, status ok"
else
	fail "the sidecar: id, kind, rate, participants, codecs, files, start and end, status ok" "$(cat "$SC")"
fi

# ---------------------------------------------------------------- (b) 16 kHz
feed b "$EP" -i room-800 -k room -r 16000 -d 5 -S mix,p1 -F 1000,1500 -n 10
rc=$?
bad=""
[ $rc -eq 0 ] || bad="exit $rc: $(cat "$T/b.out" "$T/b.err");"
f=$(files b | grep '_mix.wav$')
bad="$bad$(wav_problems "$f" 5.00 16000)$(tone_problems "$f" 1000 5.0)"
f=$(files b | grep '_p1.wav$')
bad="$bad$(wav_problems "$f" 5.00 16000)$(tone_problems "$f" 1500 5.0)"
json_test "j['kind'] == 'room' and j['rate'] == 16000" < "$(sidecar b)" || bad="$bad sidecar: $(cat "$(sidecar b)")"
result "a 16 kHz room recording: 5.00 s files at 16000 Hz, their tones" "$bad"

# ---------------------------------------------------------------- (c) kill -9, restart
feed c "$EP" -i killed -d 10 -R -n 1 &
FEED=$!
_bg_pids+=("$FEED")
sleep 3
kill_recd main
bad=""
n=0
for f in "$REC"/*/*/*/*_killed_*.wav; do
	w=$(whole "$f")
	case $w in
	*[!0-9]*) bad="$bad $w;" ;;
	*) [ "$w" -ge 16000 ] || bad="$bad $f: only $w samples;"; n=$((n + 1)) ;;
	esac
done
[ $n = 3 ] || bad="$bad $n files, not 3;"
result "recd killed 3 s in: its 3 files are valid WAVs, sox reads them to the last sample" "$bad"
sleep 2
start_recd main
wait "$FEED"
rc=$?
bad=""
[ $rc -eq 0 ] && grep -qx 'done ok ' "$T/c.out" || bad="exit $rc: $(cat "$T/c.out");"
grep -qx restart "$T/c.out" || bad="$bad the feeder did not see the restart;"
grep -q '^gap ' "$T/c.out" && bad="$bad a gap: $(grep '^gap ' "$T/c.out");"
grep -q ' resumed at ' "$RECD_LOG" || bad="$bad recd did not resume: $(grep -v HELLO "$RECD_LOG" | tail -n 5);"
for s in caller:440 callee:660 mix:880; do
	f=$(files c | grep "_${s%:*}.wav$")
	bad="$bad$(wav_problems "$f" 10.00 8000)$(tone_problems "$f" "${s#*:}" 10.0)"
	sox "$f" -n stat > /dev/null 2>&1 || bad="$bad $f: sox cannot read it;"
done
result "restarted 2 s later, recd resumes: the files are 10.00 s, the tone unbroken (no gap, no silence)" "$bad"

# ---------------------------------------------------------------- (d) kill -9 after the acks
feed d "$EP" -i acked -d 3 -x
rc=$?
kill_recd main
bad=""
[ $rc -eq 0 ] && grep -qx acked "$T/d.out" || bad="exit $rc: $(cat "$T/d.out");"
for f in "$REC"/*/*/*/*_acked_*.wav; do
	w=$(whole "$f")
	[ "$w" = 24000 ] || bad="$bad $f: $w;"
done
result "recd killed once it acknowledged 3 s, not restarted: every file holds all 24000 samples, read by sox" "$bad"
start_recd main

# ---------------------------------------------------------------- (e) away too long: a gap
feed e "$EP" -i gap -d 6 -R -b 1 &
FEED=$!
_bg_pids+=("$FEED")
sleep 2
kill_recd main
sleep 2
start_recd main
wait "$FEED"
rc=$?
bad=""
[ $rc -eq 0 ] && grep -qx 'done ok ' "$T/e.out" || bad="exit $rc: $(cat "$T/e.out");"
[ "$(grep -c '^gap ' "$T/e.out")" = 3 ] || bad="$bad not one gap per stream: $(cat "$T/e.out");"
lost=$(awk '$1 == "gap" && $2 == "mix" { printf "%.2f", $4 / 1000 }' "$T/e.out")
f=$(files e | grep '_mix.wav$')
bad="$bad$(wav_problems "$f" 6.00 8000)"
[ -n "$lost" ] && bad="$bad$(tone_problems "$f" 880 "$(awk -v l="$lost" 'BEGIN { print 6 - l }')")"
json_test "len(j['gaps']) == 3 and all(g['ms'] >= 900 for g in j['gaps'])" < "$(sidecar e)" ||
    bad="$bad sidecar gaps: $(json_print "j['gaps']" < "$(sidecar e)");"
result "recd away longer than the feeder keeps frames: REC_GAP, 6.00 s files with ${lost:-?} s of silence, the gaps in the sidecar" "$bad"

# ---------------------------------------------------------------- (f) a full disk
SMALL=$T/small
mkdir -p "$SMALL" "$T/roomy"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=200k parley-test "$SMALL" 2>/dev/null; then
	CONF2=$T/full.conf
	write_config "$CONF2" --log-level debug
	sed -i -e "s|dir = \"$REC\"|dir = \"$SMALL\"|" \
	    -e "s|recorder = \"ipc://$T/recorder.sock\"|recorder = \"ipc://$T/recorder2.sock\"|" "$CONF2"
	EP2=ipc://$T/recorder2.sock
	start_recd full "$CONF2"
	feed f1 "$EP2" -i full -d 10
	rc=$?
	if [ $rc -eq 1 ] && grep -q '^done failed .*No space left on device$' "$T/f1.out"; then
		pass "a full disk: REC_DONE failed: $(sed -n 's/^done failed //p' "$T/f1.out")"
	else
		fail "a full disk: REC_DONE failed with No space left on device" "exit $rc" \
		    "$(cat "$T/f1.out")" "$(tail -n 10 "${_recd_log[full]}")"
	fi
	sc=$(ls "$SMALL"/*/*/*/*_full.json 2>/dev/null)
	if [ -n "$sc" ] && json_test "j['status'] == 'failed' and 'No space left on device' in j['reason']" < "$sc"; then
		pass "the sidecar says failed, and why"
	else
		fail "the sidecar says failed, and why" "$(cat "$sc" 2>&1)"
	fi
	bad=""
	for f in $(files f1); do
		case $(whole "$f") in *[!0-9]*) bad="$bad $(whole "$f");" ;; esac
	done
	result "what was written before the disk filled up is valid WAV" "$bad"
	recd_alive full && pass "recd is still running" || fail "recd is still running" "$(tail -n 20 "${_recd_log[full]}")"
	rm -rf "${SMALL:?}"/*
	feed f2 "$EP2" -i room -d 2 -S mix
	rc=$?
	bad=""
	[ $rc -eq 0 ] && grep -qx 'done ok ' "$T/f2.out" || bad="exit $rc: $(cat "$T/f2.out");"
	bad="$bad$(wav_problems "$(files f2)" 2.00 8000)"
	result "once there is room again, the next recording succeeds" "$bad"
	sed -i "s|dir = \"$SMALL\"|dir = \"$T/roomy\"|" "$CONF2"
	kill -HUP "${_recd_pid[full]}"
	wait_until 50 grep -q "recording.dir ($T/roomy) reloaded" "${_recd_log[full]}"
	feed f3 "$EP2" -i full2 -d 10
	rc=$?
	bad=""
	[ $rc -eq 0 ] && grep -qx 'done ok ' "$T/f3.out" || bad="exit $rc: $(cat "$T/f3.out");"
	for f in $(files f3); do
		case $f in "$T/roomy/"*) ;; *) bad="$bad $f: not in $T/roomy;" ;; esac
		bad="$bad$(wav_problems "$f" 10.00 8000)"
	done
	result "after SIGHUP names a roomy recording.dir, a 10 s recording succeeds there" "$bad"
	stop_recd full
	umount "$SMALL" 2>/dev/null || umount -l "$SMALL"
else
	skip "a full disk" "cannot mount a small tmpfs (needs root and CAP_SYS_ADMIN)"
fi

# ---------------------------------------------------------------- (g) SIGTERM
feed g "$EP" -i term -d 2 -x -S mix
rc=$?
stop_recd main
f=$(ls "$REC"/*/*/*/*_term_mix.wav 2>/dev/null)
sc=$(ls "$REC"/*/*/*/*_term.json 2>/dev/null)
bad=""
[ $rc -eq 0 ] || bad="feed: exit $rc: $(cat "$T/g.out");"
[ "$(whole "$f")" = 16000 ] || bad="$bad $(whole "$f");"
json_test "j['status'] == 'interrupted' and j['end'] is None" < "$sc" || bad="$bad sidecar: $(cat "$sc")"
result "SIGTERM with a recording open: exit 0, the WAV complete, the sidecar says interrupted" "$bad"

done_testing
