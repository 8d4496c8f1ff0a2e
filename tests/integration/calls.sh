#!/bin/bash
# calls.sh — 1:1 calls through sipd between a sipp caller (user 1001, who
# authenticates: 407, then INVITE with Proxy-Authorization) and sipp callees
# registered as 1002: answered calls hung up by either side, busy, decline,
# CANCEL, unknown and offline users, the no-answer timer, forking to two
# phones, a configured reason phrase, Max-Forwards: 0, a CANCEL racing the
# INVITE — each checked by the status codes the caller sees, what the
# callee receives, and the journal line sipd writes.
set -u
. "$(dirname "$0")/lib.sh"
need sipp

write_config --no-answer-timeout 3 \
    --sip '  reason_phrases = ( { code = 486; text = "Obsadene Teraz"; } );'
start_sipd || done_testing

# ---------------------------------------------- answered, caller hangs up
phone callee-a 1002 uas_answer.xml
sipp_run call-a uac_call.xml -d 300
check_sipp "answered call: caller gets 200, ACKs, hangs up with BYE, gets 200" call-a $?
sipp_wait callee-a
check_sipp "answered call: callee gets INVITE, ACK and BYE" callee-a $?
check_trace "INVITE without credentials gets 407 with a Digest Proxy-Authenticate for pbx.test" \
    call-a recv '^SIP/2.0 407' '^Proxy-Authenticate:.*Digest.*realm="pbx\.test"'
check_trace "the 407 carries a nonce and qop=auth" \
    call-a recv '^SIP/2.0 407' '^Proxy-Authenticate:.*nonce=.*qop|^Proxy-Authenticate:.*qop.*nonce='
check_trace "sipd answers the INVITE with 100 Trying" call-a recv '^SIP/2.0 100' '^SIP/2.0 100 '
check_trace "the caller gets the callee's 180 Ringing" call-a recv '^SIP/2.0 180' '^SIP/2.0 180 '
check_trace "the 200 to the INVITE carries sipd's Record-Route" \
    call-a recv '^SIP/2.0 200' "^Record-Route:.*<sip:127\.0\.0\.1:$SIPD_PORT;([^>]*;)?lr(=on)?[;>]" \
    --has '^CSeq:.*INVITE'

cid=$(sipp_callid call-a)
# from/to as in docs/contract.md's example: the user part (the number)
check_journal "journal: call-start from=1001 to=1002 media=p2p" call-start "call=$cid" \
    from=1001 to=1002 media=p2p
check_journal "journal: call-ringing" call-ringing "call=$cid"
check_journal "journal: call-answer from=1001 to=1002" call-answer "call=$cid" from=1001 to=1002
check_journal "journal: call-end by=caller with a duration" call-end "call=$cid" by=caller \
    'duration~[0-9]+\.[0-9]{3}'

# ----------------------------------------------------- callee hangs up
phone callee-b 1002 uas_answer_bye.xml -d 300
sipp_run call-b uac_call_wait_bye.xml
check_sipp "answered call hung up by the callee: caller gets BYE, answers 200" call-b $?
sipp_wait callee-b
check_sipp "callee's BYE gets 200 through sipd" callee-b $?
check_journal "journal: call-end by=callee" call-end "call=$(sipp_callid call-b)" by=callee \
    'duration~[0-9]+\.[0-9]{3}'

# ------------------------------------- busy, with the configured reason
phone callee-busy 1002 uas_reject.xml --sub STATUS=486 --sub REASON="Busy Here"
sipp_run call-busy --sub STATUS=486 uac_fail.xml
check_sipp "busy callee: caller gets 486 and ACKs" call-busy $?
sipp_wait callee-busy
check_sipp "busy callee: its 486 is ACKed" callee-busy $?
check_trace "the 486 reaches the caller with the configured reason phrase" \
    call-busy recv '^SIP/2.0 486' '^SIP/2.0 486 Obsadene Teraz$'
check_journal "journal: call-busy status=486" call-busy "call=$(sipp_callid call-busy)" status=486

# --------------------------------------------------------------- decline
phone callee-decl 1002 uas_reject.xml --sub STATUS=603 --sub REASON=Decline
sipp_run call-decl --sub STATUS=603 uac_fail.xml
check_sipp "declining callee: caller gets 603 and ACKs" call-decl $?
sipp_wait callee-decl
check_sipp "declining callee: its 603 is ACKed" callee-decl $?
check_journal "journal: call-decline status=603" call-decline "call=$(sipp_callid call-decl)" status=603

# ------------------------------------------------------ CANCEL after 180
phone callee-cancel 1002 uas_ring.xml
sipp_run call-cancel uac_cancel.xml
check_sipp "caller CANCELs after 180: 200 for the CANCEL, 487 for the INVITE" call-cancel $?
sipp_wait callee-cancel
check_sipp "the callee gets the CANCEL (200, 487, ACK)" callee-cancel $?
check_journal "journal: call-cancel" call-cancel "call=$(sipp_callid call-cancel)"

# -------------------------------------------------- unknown and offline
sipp_run call-404 --to 1999 --sub STATUS=404 uac_fail.xml
check_sipp "call to unknown user 1999 gets 404" call-404 $?
check_journal "journal: call-fail status=404" call-fail "call=$(sipp_callid call-404)" status=404

register clear-1003 1003 --contact '*' --expires 0 > /dev/null
sipp_run call-480 --to 1003 --sub STATUS=480 uac_fail.xml
check_sipp "call to 1003, known but not registered, gets 480" call-480 $?
check_journal "journal: call-fail status=480" call-fail "call=$(sipp_callid call-480)" status=480

# -------------------------------------------------------------- no answer
phone callee-noans 1002 uas_ring.xml
sipp_run call-noans --sub STATUS=408 uac_fail.xml
check_sipp "no answer within no_answer_timeout (3 s): caller gets 408" call-noans $?
sipp_wait callee-noans
check_sipp "no answer: sipd CANCELs the ringing callee" callee-noans $?
check_journal "journal: call-noanswer" call-noanswer "call=$(sipp_callid call-noans)"

# ---------------------------------------------------------------- forking
phone fork-a 1002 uas_answer.xml
phone fork-b 1002 --keep uas_ring.xml
sipp_run call-fork uac_call.xml -d 300
check_sipp "1002 on two phones: the caller's call is answered and ended" call-fork $?
sipp_wait fork-a
check_sipp "forking: the answering phone gets ACK and BYE" fork-a $?
sipp_wait fork-b
check_sipp "forking: the other phone gets CANCEL" fork-b $?
check_journal "journal: call-answer of the forked call" call-answer "call=$(sipp_callid call-fork)"
if [ "$(journal_count call-answer "call=$(sipp_callid call-fork)")" = 1 ]; then
	pass "journal: one call-answer for the forked call"
else
	fail "journal: one call-answer for the forked call" "$(grep -F "$(sipp_callid call-fork)" "$JOURNAL" 2>&1)"
fi

# ------------------------------------------------------ Max-Forwards: 0
sipp_run call-483 uac_maxfwd.xml -key maxf 0
check_sipp "INVITE with Max-Forwards: 0 gets 483" call-483 $?

# ------------------------------------------------------------ CANCEL race
# sipmsg.py race sends the INVITE with credentials and its CANCEL in two
# back-to-back datagrams: the CANCEL reaches sipd before any provisional.
phone callee-race 1002 uas_ring.xml
cid=race.$RUN_ID@127.0.0.1
$SIPMSG race 127.0.0.1 "$SIPD_PORT" --user 1001 --password pw1001 --to 1002 \
    --domain "$DOMAIN" --call-id "$cid" > "$T/race.log" 2>&1
if [ $? -eq 0 ]; then
	pass "CANCEL right after the INVITE: 200 for the CANCEL, 487 or 200 for the INVITE"
	diag "$(sed -n 's/^# CANCEL/CANCEL/p' "$T/race.log")"
else
	fail "CANCEL right after the INVITE: 200 for the CANCEL, 487 or 200 for the INVITE" \
	    "$(tail -n 60 "$T/race.log")"
fi
if grep -q 'INVITE final: 487' "$T/race.log"; then
	check_journal "journal: call-cancel for the racing CANCEL" call-cancel "call=$cid"
else
	check_journal "journal: call-end for the race the callee won" call-end "call=$cid"
fi
if [ -s "$T/callee-race.msg" ] && sipp_trace callee-race recv '^INVITE' > /dev/null; then
	sipp_wait callee-race
	check_sipp "the callee of the cancelled call gets CANCEL and ends cleanly" callee-race $?
else
	pass "the cancelled INVITE never reached the callee"
	kill "${_sipp_pid[callee-race]}" 2>/dev/null
fi
# the call must leave sipd's table (polled: the transaction may linger)
no_call() {
	local out
	out=$(sipctl --json calls 2>&1) || return 1
	! printf '%s' "$out" | grep -qF "$1"
}
if wait_until 50 no_call "$cid"; then
	pass "sipctl calls shows no leftover call after the race"
else
	fail "sipctl calls shows no leftover call after the race" "$(sipctl --json calls 2>&1)"
fi

sipd_alive
stop_sipd
done_testing
