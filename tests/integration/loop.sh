#!/bin/bash
# loop.sh — requests that come back to sipd (RFC 3261 16.3 item 4, 16.6
# item 3):
#   - 1004 registers a Contact that is sipd itself
#     (sip:1004@127.0.0.1:SIPD_PORT); an INVITE for 1004 (from 1001, with
#     credentials) must end in 482 Loop Detected (sipd's design) or 483
#     Too Many Hops — not wait for the no-answer timer — with call-fail
#     in the journal;
#   - 1004's phone forwards the INVITE back to sipd unchanged but for its
#     Via and Max-Forwards (a loop through a downstream element): sipd
#     answers that copy 482, and the caller ends with 482 and call-fail;
#   - Max-Forwards is decremented: an INVITE sent with Max-Forwards: 1
#     reaches the callee with Max-Forwards: 0 (and the call works);
# and sipd keeps answering OPTIONS throughout.
set -u
. "$(dirname "$0")/lib.sh"
need sipp

# no-answer timer short: a request lost in a loop shows up as 408 quickly
write_config --no-answer-timeout 3
start_sipd || done_testing

# final_status NAME — the final status sipp NAME got for its INVITE with
# credentials (the last non-1xx response to an INVITE in its trace)
final_status() {
	sipp_trace "$1" recv '^SIP/2\.0 [2-6][0-9][0-9] ' --has '^CSeq:.*INVITE' 2>/dev/null |
	    sed -n '1s/^SIP\/2\.0 \([0-9]*\) .*/\1/p'
}

# options_ok DESC — TAP line: sipd answers an OPTIONS with 200
options_ok() {
	local out
	out=$($SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 2 2>&1)
	if printf '%s\n' "$out" | grep -q '^SIP/2.0 200'; then
		pass "$1"
	else
		fail "$1" "OPTIONS got: ${out:-nothing}" "$(tail -n 20 "$SIPD_LOG")"
	fi
}

# --------------------------------------- a Contact that is sipd itself
register self-reg 1004 --contact "<sip:1004@127.0.0.1:$SIPD_PORT>"
check_sipp "1004 registers the Contact sip:1004@127.0.0.1:$SIPD_PORT (sipd itself)" self-reg $?
sipp_run call-self --to 1004 uac_final.xml
rc=$?
st=$(final_status call-self)
diag "INVITE for 1004 (Contact: sipd itself): final status ${st:-none}, sipp exit $rc"
case $st in
482) pass "INVITE for 1004, whose Contact is sipd: the caller gets 482 Loop Detected" ;;
483) pass "INVITE for 1004, whose Contact is sipd: the caller gets 483 Too Many Hops"
     diag "sipd answered 483, not the 482 it is designed to give" ;;
*) fail "INVITE for 1004, whose Contact is sipd: the caller gets 482 (or 483)" \
       "final status: ${st:-none}" "$(sipp_diag call-self)" "--- sipd log:" "$(tail -n 30 "$SIPD_LOG")" ;;
esac
options_ok "sipd still answers OPTIONS with 200 after the looping INVITE"
cid=$(sipp_callid call-self)
check_journal "journal: call-fail status=482 or 483 for the looping INVITE" call-fail "call=$cid" \
    'status~48[23]' || diag "$(grep -F "$cid" "$JOURNAL")"
register self-unreg 1004 --contact '*' --expires 0 > /dev/null

# ------------------------------ a phone that forwards back to the PBX
phone fwd 1004 loop_forward.xml --sub LOOP_STATUS=482 -key fwd_to 1004 -key fwd_mf 68
sipp_run call-fwd --to 1004 uac_final.xml
rc=$?
st=$(final_status call-fwd)
check_eq "INVITE for 1004, whose phone forwards it back to sipd: the caller gets 482" 482 "${st:-none}" ||
    diag "$(sipp_diag call-fwd)" "$(sipp_diag fwd)"
sipp_wait fwd
check_sipp "the forwarding phone gets 482 from sipd for the INVITE it sent back (and ACKs it)" fwd $?
check_trace "the INVITE that came back carried sipd's own Via below the phone's" \
    fwd sent '^INVITE' "^Via:.*127\.0\.0\.1:$SIPD_PORT;.*branch=z9hG4bK"
check_trace "sipd's 482 says Loop Detected" fwd recv '^SIP/2.0 482' '^SIP/2.0 482 Loop Detected'
options_ok "sipd still answers OPTIONS with 200 after the loop"
cid=$(sipp_callid call-fwd)
check_journal "journal: call-fail status=482 for the looped call" call-fail "call=$cid" status=482 ||
    diag "$(grep -F "$cid" "$JOURNAL")"
if [ "$(journal_count call-start "call=$cid")" = 1 ]; then
	pass "journal: one call-start for the looped call (the copy that came back is no new call)"
else
	fail "journal: one call-start for the looped call" "$(grep -F "$cid" "$JOURNAL")"
fi

# -------------------------------------------------- Max-Forwards: 1
phone callee-mf 1002 uas_answer.xml
sipp_run call-mf uac_call.xml -d 300 -key maxf 1
check_sipp "a call sent with Max-Forwards: 1 goes through (200, ACK, BYE)" call-mf $?
sipp_wait callee-mf
check_sipp "its callee gets INVITE, ACK and BYE" callee-mf $?
check_trace "the INVITE reaches the callee with Max-Forwards: 0" \
    callee-mf recv '^INVITE' '^Max-Forwards: *0$'

sipd_alive
stop_sipd
done_testing
