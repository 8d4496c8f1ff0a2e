#!/bin/bash
# recording_phones.sh — recordings of real phones' calls (issue 5), with
# sipd, mediad and recd running and recording.calls, recording.rooms,
# legs and mix on:
#   (a) a 1:1 call: baresip 1001 plays 440 Hz for 5 s (then hangs up),
#       1002 answers and plays 1000 Hz.  Journal rec-start then rec-done
#       status=ok with three files where docs/contract.md puts them;
#       caller.wav holds 440 Hz and not 1000, callee.wav 1000 and not 440,
#       mix.wav both; each file is 8000 Hz 16-bit mono and as long as the
#       call's duration in the journal's call-end, within 20 ms; the
#       sidecar says ok, names both users, PCMU (the agreed codec) and every
#       file; sipctl recordings lists it recording, then done, and sipctl
#       calls says the call is recorded;
#   (b) an AMR-WB call (1003 at 400 Hz calls 1004 at 700 Hz, both on
#       AMR-WB only): the three files are 16000 Hz, each with its tones;
#   (c) room 800 with three phones (1001 AMR-WB 400 Hz, 1002 PCMA 700 Hz,
#       1003 PCMA 1100 Hz): when the last leaves, rec-done for room-800
#       with mix.wav holding all three tones and a p<N> file per
#       participant holding only that participant's tone.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
. "$(dirname "$0")/phones.sh"
need_phones
need soxi
[ -e "$MODDIR/amr.so" ] || skip_all "baresip module amr.so not in $MODDIR"
[ -x "$RECD" ] || { echo "Bail out! $RECD not built"; exit 1; }

REC=$T/recordings
relay_config --pairs 20 --timeout 60 --recording "calls = true; rooms = true; legs = true; mix = true;"
start_recd r1 || exit 1
start_sipd || exit 1
start_mediad m1 || exit 1

# levels WAV FREQ... — spectrum.py's JSON for WAV
levels() {
	$PYTHON "$IT_DIR/spectrum.py" "$@" 2>&1
}

# check_holds DESC WAV YES NO... — WAV holds tone YES (above -30 dBFS)
# and every NO at least 25 dB below it
check_holds() {
	local desc=$1 wav=$2 yes=$3 st cond
	shift 3
	st=$(levels "$wav" "$yes" "$@")
	cond="j['levels']['$yes'] > -30"
	for f in "$@"; do
		cond="$cond and j['levels']['$f'] < j['levels']['$yes'] - 25"
	done
	if printf '%s' "$st" | json_test "$cond"; then
		pass "$desc"
		diag "$wav: $st"
	else
		fail "$desc" "$wav: $st"
	fi
}

# check_mixed DESC WAV FREQ... — WAV holds every FREQ above -30 dBFS, within 12 dB of each other
check_mixed() {
	local desc=$1 wav=$2 st
	shift 2
	st=$(levels "$wav" "$@")
	if printf '%s' "$st" | json_test "
min(j['levels'].values()) > -30 and max(j['levels'].values()) - min(j['levels'].values()) <= 12"; then
		pass "$desc"
		diag "$wav: $st"
	else
		fail "$desc" "$wav: $st"
	fi
}

# rec_file REC STREAM — the path of STREAM's WAV in REC's rec-done line
rec_file() {
	journal_get rec-done files "rec=$1" | tr ',' '\n' | grep "_$2\.wav\$" | head -n 1
}

# check_wav DESC WAV RATE SECONDS — 16-bit mono at RATE, SECONDS long +- 20 ms
check_wav() {
	local desc=$1 f=$2 rate=$3 secs=$4 got
	got="rate $(soxi -r "$f" 2>&1) bits $(soxi -b "$f" 2>&1) channels $(soxi -c "$f" 2>&1) seconds $(soxi -D "$f" 2>&1)"
	if [ "$(soxi -r "$f" 2>&1)" = "$rate" ] && [ "$(soxi -b "$f" 2>&1)" = 16 ] &&
	    [ "$(soxi -c "$f" 2>&1)" = 1 ] &&
	    awk -v d="$(soxi -D "$f" 2>/dev/null)" -v w="$secs" 'BEGIN { exit !(d != "" && d - w <= 0.02 && w - d <= 0.02) }'; then
		pass "$desc"
	else
		fail "$desc" "$f: $got; want rate $rate, 16-bit mono, $secs s +- 0.02"
	fi
}

# two_phones TAG CALLEE CALLER — starts phones CALLEE and CALLER (made by
# phone_config: NAME:USER each), waits for their registrations, CALLER
# dials CALLEE's user; sets cid to the Call-ID once answered
two_phones() {
	local tag=$1 b=${2%%:*} bu=${2#*:} a=${3%%:*} au=${3#*:} c out
	JOURNAL_WAIT=20
	start_phone "$b"
	start_phone "$a"
	check_journal "baresip $bu registers" register "user=$bu" || diag "$(phone_diag "$b")"
	check_journal "baresip $au registers" register "user=$au" || diag "$(phone_diag "$a")"
	c=${a}_ctrl
	if out=$(ctrl "${!c}" dial "sip:$bu@$DOMAIN" 2>&1); then
		pass "($tag) $au dials $bu"
	else
		fail "($tag) $au dials $bu" "$out" "$(phone_diag "$a")"
	fi
	check_journal "($tag) journal: call-answer, media relayed" call-answer "from~.*$au.*" \
	    "to~.*$bu.*" media=relay
	cid=$(journal_get call-answer call "from~.*$au.*" "to~.*$bu.*")
}

TONE=5
sox -n -r 8000 -c 1 -b 16 "$T/a440.wav" synth $TONE sine 440 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/b1000.wav" synth 60 sine 1000 vol 0.5 &&
    sox -n -r 16000 -c 1 -b 16 "$T/w400.wav" synth $TONE sine 400 vol 0.5 &&
    sox -n -r 16000 -c 1 -b 16 "$T/w700.wav" synth 60 sine 700 vol 0.5 &&
    sox -n -r 16000 -c 1 -b 16 "$T/r400.wav" synth 6 sine 400 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/r700.wav" synth 6 sine 700 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/r1100.wav" synth 6 sine 1100 vol 0.5 ||
    { fail "sox makes the test tones"; exit 1; }

# ---------------------------------------------------------------- (a) a PCMA call

ports=$(free_port 28)
phone_config bob 1002 "$T/b1000.wav" auto "$ports"
phone_config alice 1001 "$T/a440.wav" manual $((ports + 14))
two_phones a bob:1002 alice:1001
check_journal "(a) journal: rec-start for the call with three files" rec-start "call=${cid:-?}" \
    'files~[^,]*_caller\.wav,[^,]*_callee\.wav,[^,]*_mix\.wav'
rec_listed() {
	sipctl --json recordings | json_test "
[(r['kind'], r['target'], r['state'], len(r['files'])) for r in j['recordings']] == $1"
}
if wait_until 30 rec_listed "[('call', '${cid:-?}', 'recording', 3)]"; then
	pass "(a) sipctl recordings: the call, recording, three files"
else
	fail "(a) sipctl recordings: the call, recording, three files" "$(sipctl --json recordings 2>&1)"
fi
if sipctl --json calls | json_test "[c['recording'] for c in j['calls'] if c['call_id'] == '${cid:-?}'] == [True]"; then
	pass "(a) sipctl calls: the call is being recorded"
else
	fail "(a) sipctl calls: the call is being recorded" "$(sipctl --json calls 2>&1)"
fi
JOURNAL_WAIT=40
check_journal "(a) journal: call-end by=caller when 1001's tone ends" call-end "call=${cid:-?}" by=caller
check_journal "(a) journal: rec-done status=ok" rec-done "call=${cid:-?}" status=ok
rec=$(journal_get rec-done rec "call=${cid:-?}")
dur=$(journal_get call-end duration "call=${cid:-?}")
diag "call $cid: duration $dur s; $(grep -F "rec-done" "$JOURNAL" | tail -n 1)"
day=$(date -u +%Y/%m/%d)
for s in caller callee mix; do
	f=$(rec_file "${rec:-?}" "$s")
	if [ -n "$f" ] && [ -f "$f" ] && [[ $f == "$REC/$day/"[0-9][0-9][0-9][0-9][0-9][0-9]_*_$s.wav ]]; then
		pass "(a) $s.wav is at $REC/YYYY/MM/DD/HHMMSS_<id>_$s.wav"
	else
		fail "(a) $s.wav is at $REC/YYYY/MM/DD/HHMMSS_<id>_$s.wav" "got '${f:-none}'" \
		    "$(find "$REC" -type f 2>&1)"
	fi
	check_wav "(a) $s.wav: 8000 Hz 16-bit mono, as long as the call ($dur s)" "${f:-/none}" 8000 "${dur:-0}"
done
check_holds "(a) caller.wav holds 1001's 440 Hz, not 1002's 1000 Hz" "$(rec_file "${rec:-?}" caller)" 440 1000
check_holds "(a) callee.wav holds 1002's 1000 Hz, not 1001's 440 Hz" "$(rec_file "${rec:-?}" callee)" 1000 440
check_mixed "(a) mix.wav holds both tones" "$(rec_file "${rec:-?}" mix)" 440 1000
side=$(journal_get rec-done sidecar "call=${cid:-?}")
if [ -f "$side" ] && json_test "
j['status'] == 'ok' and j['kind'] == 'call' and j['participants'] == ['1001', '1002'] and
[(f['stream'], f['codec']) for f in j['files']] == [('caller', 'PCMU'), ('callee', 'PCMU'), ('mix', '')] and
j['gaps'] == []" < "$side"; then
	pass "(a) the sidecar: ok, 1001 and 1002, PCMU (baresip's first), every file, no gap"
else
	fail "(a) the sidecar: ok, 1001 and 1002, PCMU (baresip's first), every file, no gap" "${side:-no sidecar}: $(cat "$side" 2>&1)"
fi
if wait_until 30 rec_listed "[('call', '${cid:-?}', 'done', 3)]"; then
	pass "(a) sipctl recordings: done, with its files"
	diag "$(sipctl recordings 2>&1)"
else
	fail "(a) sipctl recordings: done, with its files" "$(sipctl --json recordings 2>&1)"
fi
kill -TERM "$alice_pid" "$bob_pid" 2>/dev/null
wait "$alice_pid" "$bob_pid" 2>/dev/null

# ---------------------------------------------------------------- (b) an AMR-WB call

ports=$(free_port 28)
phone_config wbb 1004 "$T/w700.wav" auto "$ports" AMR-WB/16000/1 16000
phone_config wba 1003 "$T/w400.wav" manual $((ports + 14)) AMR-WB/16000/1 16000
two_phones b wbb:1004 wba:1003
JOURNAL_WAIT=40
check_journal "(b) journal: rec-done status=ok" rec-done "call=${cid:-?}" status=ok
rec=$(journal_get rec-done rec "call=${cid:-?}")
dur=$(journal_get call-end duration "call=${cid:-?}")
for s in caller callee mix; do
	check_wav "(b) $s.wav: 16000 Hz, as long as the call ($dur s)" "$(rec_file "${rec:-?}" "$s")" 16000 "${dur:-0}"
done
check_holds "(b) caller.wav holds 1003's 400 Hz, not 700" "$(rec_file "${rec:-?}" caller)" 400 700
check_holds "(b) callee.wav holds 1004's 700 Hz, not 400" "$(rec_file "${rec:-?}" callee)" 700 400
check_mixed "(b) mix.wav holds both" "$(rec_file "${rec:-?}" mix)" 400 700
kill -TERM "$wba_pid" "$wbb_pid" 2>/dev/null
wait "$wba_pid" "$wbb_pid" 2>/dev/null

# ---------------------------------------------------------------- (c) a room

ports=$(free_port 42)
phone_config rwb 1001 "$T/r400.wav" manual "$ports" AMR-WB/16000/1 16000
phone_config rpa 1002 "$T/r700.wav" manual $((ports + 14))
phone_config rpb 1003 "$T/r1100.wav" manual $((ports + 28))
JOURNAL_WAIT=20
for p in rwb rpa rpb; do
	start_phone "$p"
done
sleep 2		# they register again (their users did in (a) and (b): the journal cannot tell)
for p in rwb:1001 rpa:1002 rpb:1003; do
	c=${p%%:*}_ctrl
	if out=$(ctrl "${!c}" dial "sip:800@$DOMAIN" 2>&1); then
		pass "(c) ${p#*:} dials room 800"
	else
		fail "(c) ${p#*:} dials room 800" "$out" "$(phone_diag "${p%%:*}")"
	fi
	journal_wait room-join room=800 "user=${p#*:}" > /dev/null
done
check_journal "(c) journal: rec-start for room 800" rec-start room=800
JOURNAL_WAIT=40
check_journal "(c) journal: room-delete when the last leaves" room-delete room=800
check_journal "(c) journal: rec-done status=ok for room 800" rec-done room=800 status=ok
rec=$(journal_get rec-done rec room=800)
diag "$(grep -F "room=800" "$JOURNAL" | grep -E 'room-join|rec-')"
check_mixed "(c) mix.wav holds the three tones" "$(rec_file "${rec:-?}" mix)" 400 700 1100
for p in 1001:400:700:1100 1002:700:400:1100 1003:1100:400:700; do
	IFS=: read -r u own o1 o2 <<< "$p"
	part=$(journal_get room-join participant room=800 "user=$u")
	check_holds "(c) p$part.wav holds $u's $own Hz only" "$(rec_file "${rec:-?}" "p$part")" "$own" "$o1" "$o2"
done
side=$(journal_get rec-done sidecar room=800)
if [ -f "$side" ] && json_test "
j['status'] == 'ok' and j['kind'] == 'room' and len(j['participants']) == 3 and
sorted(f['stream'] for f in j['files'])[0] == 'mix' and len(j['files']) == 4" < "$side"; then
	pass "(c) the room's sidecar: ok, three participants, mix and three p<N> files"
else
	fail "(c) the room's sidecar: ok, three participants, mix and three p<N> files" "$(cat "$side" 2>&1)"
fi
kill -TERM "$rwb_pid" "$rpa_pid" "$rpb_pid" 2>/dev/null
wait "$rwb_pid" "$rpa_pid" "$rpb_pid" 2>/dev/null

sipd_alive
stop_sipd
stop_mediad m1
stop_recd r1
done_testing
