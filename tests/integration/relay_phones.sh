#!/bin/bash
# relay_phones.sh — real phones through the media relay: two baresip 1.0
# phones (phones.sh) register as 1001 and 1002; 1001 calls 1002, which
# answers on its own; sipd runs in relay mode with one mediad.  1001 plays
# a 440 Hz tone for 5 s (its aufile source ends the call), 1002 a 1000 Hz
# tone; each records what it hears (sndfile).  Asserted: journal
# call-start/call-answer media=relay; sipctl media stats shows packets in
# and out on both legs while the call is up; each phone receives its RTP
# from a mediad port, not from the other phone; each heard the other's
# tone (frequency within 2 %, plausible level, at least 90 % of the 5 s);
# the journal's call-end has caller_pkts/callee_pkts that fit its duration
# at 50 packets a second, and next to no loss.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
. "$(dirname "$0")/phones.sh"
need_phones

relay_config --pairs 10 --timeout 60
start_sipd || exit 1
start_mediad m1 || exit 1

TONE=5
sox -n -r 8000 -c 1 -b 16 "$T/a440.wav" synth $TONE sine 440 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/b1000.wav" synth 60 sine 1000 vol 0.5 ||
    { fail "sox makes the test tones"; exit 1; }

# 14 ports per phone, as in baresip.sh
ports=$(free_port 28)
phone_config bob 1002 "$T/b1000.wav" auto "$ports"
phone_config alice 1001 "$T/a440.wav" manual $((ports + 14))

JOURNAL_WAIT=20
start_phone bob
check_journal "baresip 1002 registers" register user=1002 || diag "$(phone_diag bob)"
start_phone alice
check_journal "baresip 1001 registers" register user=1001 || diag "$(phone_diag alice)"

if out=$(ctrl "$alice_ctrl" dial "sip:1002@$DOMAIN" 2>&1); then
	pass "baresip 1001 dials sip:1002@$DOMAIN (ctrl_tcp)"
else
	fail "baresip 1001 dials sip:1002@$DOMAIN (ctrl_tcp)" "$out" "$(phone_diag alice)"
fi
check_journal "journal: call-start from 1001 to 1002 media=relay" call-start 'from~.*1001.*' 'to~.*1002.*' \
    media=relay || diag "$(phone_diag alice)" "$(phone_diag bob)"
cid=$(journal_get call-start call 'from~.*1001.*' 'to~.*1002.*')
check_journal "journal: call-answer media=relay (1002 answers by itself)" call-answer "call=${cid:-?}" media=relay ||
    diag "$(phone_diag bob)"

# while the call is up (it lasts as long as 1001's tone)
both_ways() {
	media_rows "$cid" | json_test "
sorted((r['leg'], r['kind']) for r in j if r['pkts_in'] > 0 and r['pkts_out'] > 0) ==
[('callee', 'audio'), ('caller', 'audio')]"
}
if wait_until 100 both_ways; then
	pass "sipctl media stats: packets in and out on both legs while the call is up"
	diag "rows: $(media_rows "$cid")"
else
	fail "sipctl media stats: packets in and out on both legs while the call is up" \
	    "$(sipctl --json media stats 2>&1)" "$(grep -F "${cid:-?}" "$JOURNAL")"
fi

JOURNAL_WAIT=40
check_journal "journal: call-end by=caller when 1001's tone ends" call-end "call=${cid:-?}" by=caller ||
    diag "$(phone_diag alice)" "$(phone_diag bob)"
dur=$(journal_get call-end duration "call=${cid:-?}")
cp=$(journal_get call-end caller_pkts "call=${cid:-?}")
bp=$(journal_get call-end callee_pkts "call=${cid:-?}")
cl=$(journal_get call-end caller_lost "call=${cid:-?}")
bl=$(journal_get call-end callee_lost "call=${cid:-?}")
diag "call-end: duration=$dur caller_pkts=$cp callee_pkts=$bp caller_lost=$cl callee_lost=$bl"
# 20 ms packets: 50 a second of the call, give or take the set-up
if awk -v d="${dur:-0}" -v a="${cp:-0}" -v b="${bp:-0}" 'BEGIN {
	lo = 0.8 * 50 * d; hi = 1.1 * 50 * d + 10
	exit !(d >= 1 && a >= lo && a <= hi && b >= lo && b <= hi) }'; then
	pass "journal: caller_pkts=$cp callee_pkts=$bp fit a $dur s call at 50 packets/s"
else
	fail "journal: caller_pkts and callee_pkts fit the call's duration at 50 packets/s" \
	    "duration=${dur:-none} caller_pkts=${cp:-none} callee_pkts=${bp:-none}"
fi
if awk -v a="${cp:-0}" -v b="${bp:-0}" -v x="${cl:-x}" -v y="${bl:-x}" 'BEGIN {
	exit !(x ~ /^[0-9]+$/ && y ~ /^[0-9]+$/ && x <= 0.02 * a && y <= 0.02 * b) }'; then
	pass "journal: caller_lost=$cl callee_lost=$bl (next to nothing on loopback)"
else
	fail "journal: caller_lost and callee_lost are next to nothing" "caller_lost=${cl:-none} callee_lost=${bl:-none}"
fi

# rtp_from NAME — the port RTP came from, per baresip's log
rtp_from() {
	sed -n "s/.*incoming rtp for 'audio' established, receiving from 127\.0\.0\.1:\([0-9]*\).*/\1/p" \
	    "$T/$1.log" | head -n 1
}
p=$(rtp_from bob)
if in_media_range "$p"; then
	pass "1002 receives its RTP from mediad (port $p of $MEDIA_LO-$MEDIA_HI), not from 1001"
else
	fail "1002 receives its RTP from mediad, not from 1001" \
	    "RTP from port '${p:-none}', mediad's ports are $MEDIA_LO-$MEDIA_HI" "$(phone_diag bob)"
fi
p=$(rtp_from alice)
if in_media_range "$p"; then
	pass "1001 receives its RTP from mediad (port $p), not from 1002"
else
	fail "1001 receives its RTP from mediad, not from 1002" \
	    "RTP from port '${p:-none}', mediad's ports are $MEDIA_LO-$MEDIA_HI" "$(phone_diag alice)"
fi

if wait_until 100 grep -q 'terminated (duration' "$T/bob.log"; then
	pass "baresip 1002 sees the call end (the BYE reached it)"
else
	fail "baresip 1002 sees the call end (the BYE reached it)" "$(phone_diag bob)"
fi
check_heard bob "1002 heard 1001's 440 Hz tone through the relay" "1002's recording of the call" 440 $TONE
check_heard alice "1001 heard 1002's 1000 Hz tone through the relay" "1001's recording of the call" 1000 $TONE

kill -TERM "$alice_pid" "$bob_pid" 2>/dev/null
wait "$alice_pid" "$bob_pid" 2>/dev/null
sipd_alive
stop_mediad m1
stop_sipd
done_testing
