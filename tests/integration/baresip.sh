#!/bin/bash
# baresip.sh — a real SIP client against sipd: two baresip phones register
# as 1001 and 1002 with digest passwords, 1001 calls 1002, 1002 answers on
# its own (answermode=auto), media flows phone to phone (media.mode p2p:
# sipd relays no media yet), and 1001 hangs up when its 3 s tone ends
# (baresip's aufile source ends the call).  Asserted on sipd's journal:
# register of both users, call-start, call-answer, call-end by=caller with
# a duration between 1 and 30 s, unregister when the phones quit; on the
# phones: RTP arrived straight from the other phone, the callee saw the
# BYE, and the callee's recording (sndfile module) is the caller's 440 Hz.
set -u
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/phones.sh"
need_phones

write_config --media-mode p2p
start_sipd || exit 1

# Tones: the caller's ends after 3 s (and with it the call); the callee's
# lasts longer than the test, so only the caller can end the call.
sox -n -r 8000 -c 1 -b 16 "$T/a440.wav" synth 3 sine 440 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/b1000.wav" synth 60 sine 1000 vol 0.5 ||
    { fail "sox makes the test tones"; exit 1; }

# Ports for both phones in one block, 14 per phone: SIP (UDP and TCP),
# SIP + 1 (baresip binds TLS there too), ctrl_tcp, 10 for RTP and RTCP
# starting at an even port (baresip rounds an odd RTP base down).
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

check_journal "journal: call-start from 1001 to 1002" call-start 'from~.*1001.*' 'to~.*1002.*' ||
    diag "$(phone_diag alice)" "$(phone_diag bob)"
call=$(journal_get call-start call 'from~.*1001.*' 'to~.*1002.*')
check_journal "journal: call-answer (1002 answers by itself)" call-answer "call=${call:-?}" ||
    diag "$(phone_diag bob)"
if journal_has call-ringing "call=${call:-?}"; then
	diag "call-ringing was journaled too"
else
	diag "no call-ringing line (baresip answered without a 180)"
fi

# the call lasts as long as the caller's tone (3 s); allow plenty
JOURNAL_WAIT=40
check_journal "journal: call-end by=caller" call-end "call=${call:-?}" by=caller ||
    diag "$(phone_diag alice)" "$(phone_diag bob)"
dur=$(journal_get call-end duration "call=${call:-?}")
if [[ ${dur:-} =~ ^[0-9]+\.[0-9]{3}$ ]] && awk -v d="$dur" 'BEGIN { exit !(d >= 1 && d <= 30) }'; then
	pass "journal: call-end duration $dur s is between 1 and 30"
else
	fail "journal: call-end duration is between 1 and 30 s (3 decimals)" "duration=${dur:-missing}" \
	    "$(tail -n 10 "$JOURNAL")"
fi
check_no_journal "journal: no call-fail for the call" call-fail "call=${call:-?}"

# The phones see it too: the callee got the BYE through sipd, and each got
# its RTP straight from the other phone's RTP ports (no relay in between).
if wait_until 100 grep -q 'terminated (duration' "$T/bob.log"; then
	pass "baresip 1002 sees the call end (the BYE reached it)"
else
	fail "baresip 1002 sees the call end (the BYE reached it)" "$(phone_diag bob)"
fi
# rtp_from NAME — the port RTP came from, per baresip's log
rtp_from() {
	sed -n "s/.*incoming rtp for 'audio' established, receiving from 127\.0\.0\.1:\([0-9]*\).*/\1/p" \
	    "$T/$1.log" | head -n 1
}
p=$(rtp_from bob)
if [ -n "$p" ] && [ "$p" -ge "$alice_rtp" ] && [ "$p" -le $((alice_rtp + 9)) ]; then
	pass "media p2p: 1002 receives RTP straight from 1001 (port $p)"
else
	fail "media p2p: 1002 receives RTP straight from 1001" \
	    "RTP from port '${p:-none}', 1001's RTP ports are $alice_rtp-$((alice_rtp + 9))" "$(phone_diag bob)"
fi
p=$(rtp_from alice)
if [ -n "$p" ] && [ "$p" -ge "$bob_rtp" ] && [ "$p" -le $((bob_rtp + 9)) ]; then
	pass "media p2p: 1001 receives RTP straight from 1002 (port $p)"
else
	fail "media p2p: 1001 receives RTP straight from 1002" \
	    "RTP from port '${p:-none}', 1002's RTP ports are $bob_rtp-$((bob_rtp + 9))" "$(phone_diag alice)"
fi

# What the callee heard (sndfile's decoded dump) is the caller's tone.
check_heard bob "1002 heard 1001's 440 Hz tone" "1002's recording of the call"

# The phones quit (SIGTERM): baresip unregisters on the way out.
kill -TERM "$alice_pid" "$bob_pid" 2>/dev/null
wait "$alice_pid" "$bob_pid" 2>/dev/null
check_journal "journal: 1001 unregisters when baresip quits" unregister user=1001
check_journal "journal: 1002 unregisters when baresip quits" unregister user=1002

sipd_alive
stop_sipd
done_testing
