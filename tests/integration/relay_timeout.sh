#!/bin/bash
# relay_timeout.sh — media.rtp_timeout (3 s here) in relay mode: sipd ends
# an answered call whose media has stopped, but not one on hold, nor one
# where only one phone talks.  Three calls at once, sipp phones with
# rtpprobe.py sockets:
#   T  1001 -> 1002, audio and video, nobody sends RTP: both phones get a
#      BYE from sipd; journal call-end by=timeout (no reason=media-lost).
#   H  1003 -> 1004, put on hold at once (re-INVITE a=sendonly, answer
#      a=recvonly), silent for more than twice the timeout: still up; then
#      resumed (a=sendrecv): two-way audio through the same mediad ports;
#      then inactive (UPDATE); 1003 hangs up (call-end by=caller).  No
#      re-INVITE or UPDATE changes a port.
#   W  1005 -> 1001, only the callee talks, for 5 s (longer than the
#      timeout): the caller hears all of it, so the call stayed up; then
#      it is ended by the timeout, caller_pkts=0 callee_pkts=250, duration
#      at least 5 s.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp

TMO=3
relay_config --pairs 20 --timeout $TMO
start_sipd || exit 1
start_mediad m1 || exit 1
M=$MEDIA_IP

ta=$(free_port 4); tb=$(free_port 4)
ha=$(free_port 2); hb=$(free_port 2)
wa=$(free_port 4); wb=$(free_port 4)
probe_start t-a=$CALLER_IP:$ta t-ac=$CALLER_IP:$((ta + 1)) t-v=$CALLER_IP:$((ta + 2)) t-vc=$CALLER_IP:$((ta + 3)) \
    t-b=$CALLEE_IP:$tb t-bc=$CALLEE_IP:$((tb + 1)) t-w=$CALLEE_IP:$((tb + 2)) t-wc=$CALLEE_IP:$((tb + 3)) \
    h-a=$CALLER_IP:$ha h-ac=$CALLER_IP:$((ha + 1)) h-b=$CALLEE_IP:$hb h-bc=$CALLEE_IP:$((hb + 1)) \
    w-a=$CALLER_IP:$wa w-ac=$CALLER_IP:$((wa + 1)) w-v=$CALLER_IP:$((wa + 2)) w-vc=$CALLER_IP:$((wa + 3)) \
    w-b=$CALLEE_IP:$wb w-bc=$CALLEE_IP:$((wb + 1)) w-w=$CALLEE_IP:$((wb + 2)) w-wc=$CALLEE_IP:$((wb + 3)) ||
    exit 1

# ------------------------------------------------------ the three calls
phone t-callee 1002 relay_uas_bye.xml $(offer_keys 0 $CALLEE_IP $tb $((tb + 1)) $((tb + 2)) sendrecv) || exit 1
HA="$CALLER_IP $ha $((ha + 1)) 0"
HB="$CALLEE_IP $hb $((hb + 1)) 0"
phone h-callee 1004 relay_uas.xml -timeout 90s $(offer_keys 0 $HB sendrecv) $(offer_keys 1 $HB recvonly) \
    $(offer_keys 2 $HB sendrecv) $(offer_keys 3 $HB inactive) || exit 1
phone w-callee 1001 relay_uas_bye.xml $(offer_keys 0 $CALLEE_IP $wb $((wb + 1)) $((wb + 2)) sendrecv) || exit 1

sipp_start t-caller relay_uac_bye.xml $(offer_keys 0 $CALLER_IP $ta $((ta + 1)) $((ta + 2)) sendrecv)
sipp_start h-caller --user 1003 --to 1004 --timeout 90 relay_uac.xml $(offer_keys 0 $HA sendrecv) \
    $(offer_keys 1 $HA sendonly) $(offer_keys 2 $HA sendrecv) $(offer_keys 3 $HA inactive)
sipp_start w-caller --user 1005 --to 1001 relay_uac_bye.xml \
    $(offer_keys 0 $CALLER_IP $wa $((wa + 1)) $((wa + 2)) sendrecv)
tcid=$(sipp_callid t-caller)
hcid=$(sipp_callid h-caller)
wcid=$(sipp_callid w-caller)

# W: 1001 (the callee) talks as soon as it knows mediad's port: 250
# packets, 5 s
if wait_trace w-callee 1 recv '^INVITE'; then
	save_msg w-inv w-callee recv '^INVITE'
	wm=$(sdp w-inv audio.port)
	probe send sock=w-b to=$M:$wm ssrc=0x0AE00001 count=250 tag=wb > /dev/null
	wait_trace w-caller 1 recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
	save_msg w-200 w-caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
else
	fail "call W: 1001 gets the INVITE" "$(sipp_diag w-caller)" "$(sipp_diag w-callee)"
fi

# H: answered and on hold (3 ACKs: the 407's, the 200's, the hold's)
if wait_trace h-caller 3 sent '^ACK'; then
	held_at=$(date +%s.%N)
	pass "call H: 1003 calls 1004 and puts it on hold at once (a=sendonly, answered a=recvonly)"
else
	fail "call H: 1003 calls 1004 and puts it on hold at once" "$(sipp_diag h-caller)" "$(sipp_diag h-callee)"
	held_at=$(date +%s.%N)
fi
save_msg h-inv h-callee recv '^INVITE' --nth 1
save_msg h-hold h-callee recv '^INVITE' --nth 2
save_msg h-200 h-caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
save_msg h-hold200 h-caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 2
hmb=$(sdp h-inv audio.port)
hma=$(sdp h-200 audio.port)
check_eq "call H: the hold re-INVITE reaches 1004 with a=sendonly and the same mediad port" \
    "sendonly $hmb" "$(sdp h-hold audio.dir audio.port)"
check_eq "call H: the hold's 200 reaches 1003 with a=recvonly and the same mediad port" \
    "recvonly $hma" "$(sdp h-hold200 audio.dir audio.port)"

# ------------------------------------------------- T: ended by timeout
sipp_wait t-caller
check_sipp "call T (no RTP): 1001 gets a BYE from sipd and answers 200" t-caller $?
sipp_wait t-callee
check_sipp "call T (no RTP): 1002 gets a BYE from sipd and answers 200" t-callee $?
check_journal "call T: journal call-answer" call-answer "call=$tcid"
check_journal "call T: journal call-end by=timeout" call-end "call=$tcid" by=timeout
check_no_journal "call T: the call-end does not say reason=media-lost" call-end "call=$tcid" reason=media-lost
d=$(journal_get call-end duration "call=$tcid")
if awk -v d="${d:-0}" -v t=$TMO 'BEGIN { exit !(d >= t) }'; then
	pass "call T: call-end duration $d s is at least rtp_timeout ($TMO s)"
else
	fail "call T: call-end duration is at least rtp_timeout ($TMO s)" "duration=${d:-none}"
fi

# ------------------------------------------------- H: survives the hold
# on hold and silent for more than twice the timeout: no call-end
h_ended() { journal_has call-end "call=$hcid"; }
h_held_long() { awk -v a="$held_at" -v b="$(date +%s.%N)" -v t=$TMO 'BEGIN { exit !(b - a > 2 * t + 1) }'; }
until h_held_long || h_ended; do sleep 0.2; done
if ! h_ended && call_listed "$hcid" && kill -0 "${_sipp_pid[h-caller]}" 2>/dev/null; then
	pass "call H: on hold and silent for over $((2 * TMO + 1)) s, the call is still up (sipctl calls, no call-end)"
else
	fail "call H: on hold and silent for over $((2 * TMO + 1)) s, the call is still up" \
	    "$(grep -F "$hcid" "$JOURNAL")" "$(sipp_diag h-caller)"
fi

# resume: both talk again, through the same ports
poke h-caller 3 || exit 1
wait_trace h-caller 4 sent '^ACK' || fail "call H: resume re-INVITE, 200, ACK" "$(sipp_diag h-caller)"
probe send sock=h-a to=$M:$hma ssrc=0x4A000001 count=0 tag=ha > /dev/null
probe send sock=h-b to=$M:$hmb ssrc=0x4B000001 count=0 tag=hb > /dev/null
save_msg h-res h-callee recv '^INVITE' --nth 3
save_msg h-res200 h-caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 3
check_eq "call H: the resume re-INVITE reaches 1004 with a=sendrecv and the same mediad port" \
    "sendrecv $hmb" "$(sdp h-res audio.dir audio.port)"
check_eq "call H: the resume's 200 reaches 1003 with a=sendrecv and the same mediad port" \
    "sendrecv $hma" "$(sdp h-res200 audio.dir audio.port)"
out=$(probe got sock=h-b ssrc=0x4A000001 --until "j['pkts'] >= 25" --timeout 10)
if printf '%s' "$out" | json_test "j['pkts'] >= 25 and list(j['sources']) == ['$M:$hmb']"; then
	pass "call H: after the resume 1004 hears 1003, from mediad's same port $M:$hmb"
else
	fail "call H: after the resume 1004 hears 1003, from mediad's same port $M:$hmb" "$out"
fi
out=$(probe got sock=h-a ssrc=0x4B000001 --until "j['pkts'] >= 25" --timeout 10)
if printf '%s' "$out" | json_test "j['pkts'] >= 25 and list(j['sources']) == ['$M:$hma']"; then
	pass "call H: after the resume 1003 hears 1004, from mediad's same port $M:$hma"
else
	fail "call H: after the resume 1003 hears 1004, from mediad's same port $M:$hma" "$out"
fi

# inactive, then 1003 hangs up
poke h-caller 4 || exit 1
wait_trace h-caller 1 "${UPDATED[@]}" || fail "call H: inactive UPDATE, 200" "$(sipp_diag h-caller)"
save_msg h-ina h-callee recv '^UPDATE'
check_eq "call H: the a=inactive UPDATE reaches 1004 with the same mediad port" \
    "inactive $hmb" "$(sdp h-ina audio.dir audio.port)"
poke h-caller 1 "${UPDATED[@]}" || exit 1
sipp_wait h-caller
check_sipp "call H: 1003 hangs up: BYE, 200" h-caller $?
sipp_wait h-callee
check_sipp "call H: 1004 gets hold, resume, inactive and the BYE" h-callee $?
probe stop tag=ha > /dev/null
probe stop tag=hb > /dev/null
check_journal "call H: journal call-end by=caller (not by=timeout)" call-end "call=$hcid" by=caller

# ------------------------------------------ W: one-way RTP keeps it up
# (checked once H is done: W's packets tell whether it stayed up)
probe_done wb
check_relayed "call W: 1005 hears all 250 packets 1001 sent over 5 s: the call stays up while only the callee talks" \
    w-a wb "$M:$(sdp w-200 audio.port)"
JOURNAL_WAIT=30
check_journal "call W: then it is ended by the timeout, caller_pkts=0 callee_pkts=250" \
    call-end "call=$wcid" by=timeout caller_pkts=0 callee_pkts=250
d=$(journal_get call-end duration "call=$wcid")
if awk -v d="${d:-0}" 'BEGIN { exit !(d >= 5) }'; then
	pass "call W: call-end duration $d s covers the 5 s of RTP"
else
	fail "call W: call-end duration covers the 5 s of RTP" "duration=${d:-none}"
fi
sipp_wait w-caller
check_sipp "call W: 1005 gets the BYE" w-caller $?
sipp_wait w-callee
check_sipp "call W: 1001 gets the BYE" w-callee $?

sipd_alive
stop_mediad m1
stop_sipd
done_testing
