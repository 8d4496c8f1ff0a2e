#!/bin/bash
# dialog.sh — in-dialog requests through sipd: sipd Record-Routes itself,
# so the caller's ACK, re-INVITE, INFO, MESSAGE, NOTIFY and BYE (sent with
# a Route header) and the callee's REFER all pass through it and reach the
# other phone; a REFER accepted with 202 writes call-transfer to the
# journal.  Also a call whose caller is on TCP and callee on UDP.
set -u
. "$(dirname "$0")/lib.sh"
need sipp

write_config
start_sipd || done_testing

# ------------------------------------------------- in-dialog requests
phone callee-dlg 1002 uas_dialog.xml -key refer_to 1003
sipp_run call-dlg uac_dialog.xml
check_sipp "caller: INVITE, re-INVITE, INFO, MESSAGE, REFER answered 202, NOTIFY, BYE all succeed" call-dlg $?
sipp_wait callee-dlg
check_sipp "callee: gets ACK, re-INVITE, INFO, MESSAGE, its REFER gets 202, gets NOTIFY and BYE" callee-dlg $?
rr="^Record-Route:.*<sip:127\.0\.0\.1:$SIPD_PORT;([^>]*;)?lr(=on)?[;>]"
check_trace "the INVITE reaching the callee carries sipd's Record-Route" \
    callee-dlg recv '^INVITE' "$rr" --nth 1
check_trace "the 200 the caller sees carries sipd's Record-Route" \
    call-dlg recv '^SIP/2.0 200' "$rr" --nth 1
check_trace "the caller's ACK is sent with Route to sipd" \
    call-dlg sent '^ACK' "^Route:.*<sip:127\.0\.0\.1:$SIPD_PORT;"
check_trace "the caller's BYE is sent with Route to sipd" \
    call-dlg sent '^BYE' "^Route:.*<sip:127\.0\.0\.1:$SIPD_PORT;"
check_trace "the re-INVITE reaches the callee with its hold SDP" \
    callee-dlg recv '^INVITE' '^a=sendonly'
check_trace "the INFO reaches the callee with its body" callee-dlg recv '^INFO' '^Signal=5'
check_trace "the MESSAGE reaches the callee with its body" callee-dlg recv '^MESSAGE' '^hello from the caller'
check_trace "the REFER reaches the caller with Refer-To" \
    call-dlg recv '^REFER' '^Refer-To:.*sip:1003@pbx\.test'
check_trace "the 202 for the REFER reaches the callee" callee-dlg recv '^SIP/2.0 202' '^CSeq:.*REFER'
check_trace "the NOTIFY reaches the callee with the sipfrag" callee-dlg recv '^NOTIFY' '^SIP/2.0 200'
cid=$(sipp_callid call-dlg)
check_journal "journal: call-transfer target=sip:1003@pbx.test" call-transfer "call=$cid" \
    'target~<?sip:1003@pbx\.test>?'
check_journal "journal: call-end by=caller after the transfer" call-end "call=$cid" by=caller
if [ "$(journal_count call-answer "call=$cid")" = 1 ]; then
	pass "journal: the re-INVITE is not a second call-answer"
else
	fail "journal: the re-INVITE is not a second call-answer" "$(grep -F "$cid" "$JOURNAL" 2>&1)"
fi

# ------------------------------------------------- caller on TCP
phone callee-tcp 1002 uas_answer.xml
sipp_run call-tcp --tcp uac_call.xml -d 300
check_sipp "caller on TCP, callee on UDP: 200, ACK, BYE, 200" call-tcp $?
sipp_wait callee-tcp
check_sipp "the UDP callee gets INVITE, ACK and BYE from the TCP caller" callee-tcp $?
check_trace "the INVITE reaches the callee over UDP" callee-tcp recv '^INVITE' '^Via: SIP/2.0/UDP 127\.0\.0\.1'
cid=$(sipp_callid call-tcp)
check_journal "journal: call-answer for the TCP call" call-answer "call=$cid"
check_journal "journal: call-end by=caller for the TCP call" call-end "call=$cid" by=caller

sipd_alive
stop_sipd
done_testing
