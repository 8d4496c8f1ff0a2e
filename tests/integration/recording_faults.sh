#!/bin/bash
# recording_faults.sh — recordings that survive what goes wrong (issue 5),
# with real baresip phones (1001 calls 1002, each plays its tone) and
# recording.calls on:
#   (d) recd killed (SIGKILL) 3 s into a 10 s call and restarted 2 s
#       later: rec-done ok; caller.wav, callee.wav and mix.wav are as long
#       as the call (journal duration, within 20 ms); the caller's tone
#       runs through caller.wav with no hole (sound for all but the first
#       instants), and the sidecar lists no gap;
#   (e) mediad killed (SIGKILL) 4 s into a call: sipd ends the call and
#       journals rec-done status=failed (mediad lost); recd closes the
#       files as they are: sox reads all three, about 4 s each, and the
#       sidecar says failed and why;
#   (f) a full disk (recording.dir on a 150 KiB tmpfs; skipped when it
#       cannot be mounted): the call goes on to its end (call-end), the
#       journal says rec-done status=failed with "No space left on
#       device", and recd is still up.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
. "$(dirname "$0")/phones.sh"
need_phones
need soxi
[ -x "$RECD" ] || { echo "Bail out! $RECD not built"; exit 1; }

REC=$T/recordings
mkdir -p "$REC"
relay_config --pairs 20 --timeout 60 --recording "calls = true; legs = true; mix = true;"
start_recd r1 || exit 1
start_sipd || exit 1
start_mediad m1 || exit 1

# rec_file REC STREAM — the path of STREAM's WAV in REC's rec-done line
rec_file() {
	journal_get rec-done files "rec=$1" | tr ',' '\n' | grep "_$2\.wav\$" | head -n 1
}

# call_once TAG SECONDS — 1001 (440 Hz for SECONDS, then it hangs up)
# calls 1002 (1000 Hz); sets cid to the Call-ID once answered
call_once() {
	local tag=$1 secs=$2 ports out
	sox -n -r 8000 -c 1 -b 16 "$T/a$tag.wav" synth "$secs" sine 440 vol 0.5 &&
	    sox -n -r 8000 -c 1 -b 16 "$T/b$tag.wav" synth 60 sine 1000 vol 0.5 ||
	    { fail "sox makes the test tones"; return 1; }
	ports=$(free_port 28)
	phone_config "b$tag" 1002 "$T/b$tag.wav" auto "$ports"
	phone_config "a$tag" 1001 "$T/a$tag.wav" manual $((ports + 14))
	start_phone "b$tag"
	start_phone "a$tag"
	sleep 2		# both registered (the journal cannot tell a second registration)
	local c=a${tag}_ctrl n0
	n0=$(journal_count call-answer 'from~.*1001.*')
	if out=$(ctrl "${!c}" dial "sip:1002@$DOMAIN" 2>&1); then
		pass "($tag) 1001 dials 1002"
	else
		fail "($tag) 1001 dials 1002" "$out" "$(phone_diag "a$tag")"
	fi
	wait_until 100 _answered "$n0" || fail "($tag) 1002 answers" "$(tail -n 5 "$JOURNAL")"
	cid=$(journal_get call-answer call 'from~.*1001.*')
	check_journal "($tag) journal: rec-start for call $cid" rec-start "call=${cid:-?}"
}
_answered() { [ "$(journal_count call-answer 'from~.*1001.*')" -gt "$1" ]; }

# phones_down TAG
phones_down() {
	local a=a${1}_pid b=b${1}_pid
	kill -TERM "${!a}" "${!b}" 2>/dev/null
	wait "${!a}" "${!b}" 2>/dev/null
}

# ---------------------------------------------------------------- (d) recd restarts

JOURNAL_WAIT=20
call_once d 10
sleep 3
kill_recd r1
diag "recd killed 3 s into the call"
sleep 2
start_recd r1 || exit 1
JOURNAL_WAIT=30
check_journal "(d) journal: call-end by=caller" call-end "call=${cid:-?}" by=caller
check_journal "(d) journal: rec-done status=ok although recd was killed" rec-done "call=${cid:-?}" status=ok
rec=$(journal_get rec-done rec "call=${cid:-?}")
dur=$(journal_get call-end duration "call=${cid:-?}")
for s in caller callee mix; do
	f=$(rec_file "${rec:-?}" "$s")
	d=$(soxi -D "$f" 2>&1)
	if awk -v d="$d" -v w="${dur:-0}" 'BEGIN { exit !(d != "" && d - w <= 0.02 && w - d <= 0.02) }'; then
		pass "(d) $s.wav is as long as the call: $d s for $dur s"
	else
		fail "(d) $s.wav is as long as the call" "$f: '$d' s, call $dur s"
	fi
done
st=$($PYTHON "$IT_DIR/spectrum.py" "$(rec_file "${rec:-?}" caller)" 440 1000 2>&1)
if printf '%s' "$st" | json_test "
j['levels']['440'] > -30 and j['sound'] >= ${dur:-0} - 0.3"; then
	pass "(d) caller.wav: 440 Hz with no hole where recd was away"
	diag "$st"
else
	fail "(d) caller.wav: 440 Hz with no hole where recd was away" "$st (call $dur s)"
fi
side=$(journal_get rec-done sidecar "call=${cid:-?}")
if json_test "j['status'] == 'ok' and j['gaps'] == []" < "$side"; then
	pass "(d) the sidecar: ok, no gap"
else
	fail "(d) the sidecar: ok, no gap" "$(cat "$side" 2>&1)"
fi
phones_down d

# ---------------------------------------------------------------- (e) mediad is killed

JOURNAL_WAIT=20
call_once e 30
sleep 4
kill_mediad m1
diag "mediad killed 4 s into the call"
JOURNAL_WAIT=30
check_journal "(e) journal: the call ends (mediad lost)" call-end "call=${cid:-?}"
check_journal "(e) journal: rec-done status=failed reason=\"mediad lost\"" rec-done "call=${cid:-?}" \
    status=failed 'reason~.*mediad.*'
# recd closes a recording whose mediad went silent after 5 s
sc=$(ls "$REC"/*/*/*/*.json 2>/dev/null | xargs grep -l "\"${cid:-?}\"" 2>/dev/null | head -n 1)
closed() { json_test "j['status'] == 'failed'" < "$sc"; }
if [ -n "$sc" ] && wait_until 150 closed; then
	pass "(e) recd closes the recording: its sidecar says failed"
	diag "$(json_print "j['reason']" < "$sc" 2>&1)"
else
	fail "(e) recd closes the recording: its sidecar says failed" "${sc:-no sidecar}: $(cat "$sc" 2>&1)"
fi
if json_test "'mediad' in j['reason']" < "$sc" 2>/dev/null; then
	pass "(e) the sidecar says mediad stopped feeding it"
else
	fail "(e) the sidecar says mediad stopped feeding it" "$(cat "$sc" 2>&1)"
fi
for s in caller callee mix; do
	f=${sc%.json}_$s.wav
	d=$(soxi -D "$f" 2>&1)
	if sox "$f" -n stat 2>/dev/null && awk -v d="$d" 'BEGIN { exit !(d >= 3 && d <= 5.5) }'; then
		pass "(e) $s.wav plays (sox reads it whole): $d s, about the 4 s before the kill"
	else
		fail "(e) $s.wav plays, about 4 s" "$f: '$d'"
	fi
done
phones_down e
start_mediad m1 || exit 1

# ---------------------------------------------------------------- (f) a full disk

if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=150k parley-test "$REC" 2>/dev/null; then
	JOURNAL_WAIT=20
	call_once f 6
	JOURNAL_WAIT=30
	check_journal "(f) journal: rec-done status=failed: No space left on device" rec-done \
	    "call=${cid:-?}" status=failed 'reason~.*No space left on device.*'
	check_journal "(f) the call goes on to its end: call-end by=caller" call-end "call=${cid:-?}" by=caller
	if recd_alive r1; then
		pass "(f) recd is still up"
	else
		fail "(f) recd is still up" "$(tail -n 20 "$RECD_LOG")"
	fi
	phones_down f
	stop_recd r1
	umount "$REC" 2>/dev/null || umount -l "$REC"
else
	skip "(f) a full disk" "cannot mount a small tmpfs (needs root and CAP_SYS_ADMIN)"
	stop_recd r1
fi

sipd_alive
stop_sipd
stop_mediad m1
done_testing
