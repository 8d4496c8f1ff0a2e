#!/bin/bash
# relay_p2p.sh — peer-to-peer media (media.mode "p2p", globally or per
# user with users[].media): sipd forwards the SDP untouched, so the phones
# send RTP to each other, and mediad is not involved.  sipp phones offer
# and answer audio and video with ICE attributes.  Asserted: the INVITE's
# and the 200's SDP reach the other phone byte for byte (and Content-Length
# unchanged), the journal and sipctl calls say media=p2p, mediad holds no
# session for the call; while a relayed call in the same config is
# rewritten.  Per-user rule (docs/architecture.md): "relay" on either
# party relays, else "p2p" on either is peer-to-peer, else media.mode.
#   part 1  media.mode relay; 1003 and 1004 p2p: 1003->1004 and 1001->1003
#           are p2p
#   part 2  media.mode p2p; 1001 relay: with no mediad at all 1003->1004
#           works (p2p); then with mediad 1001->1002 is relayed
#   part 3  media.mode p2p, 1004 p2p, 1005 record = true: a recorded call is
#           relayed whatever the modes say (mediad must see its RTP), so
#           1004->1005 is rewritten to mediad both ways, and sipd asks
#           mediad to record it once it is answered
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp

# body LABEL — the SDP of a saved message, exactly as traced
body() {
	sed '1,/^$/d' "$T/msg/$1"
}
clen() {
	sed -n 's/^Content-Length: *\([0-9]*\).*/\1/Ip' "$T/msg/$1" | head -n 1
}

# check_anchored LABEL DESC — TAP line: the SDP of saved message LABEL
# names mediad (its address, an RTP port of its range)
check_anchored() {
	local p
	p=$(sdp "$1" audio.port)
	if [ "$(sdp "$1" c)" = "$MEDIA_IP" ] && in_media_range "$p"; then
		pass "$2 ($MEDIA_IP:$p)"
	else
		fail "$2" "$(cat "$T/msg/$1")"
	fi
}

# p2p_call TAG FROM TO DESC — a call FROM -> TO whose SDP must pass
# untouched, hung up with sipctl call hangup
p2p_call() {
	local tag=$1 from=$2 to=$3 desc=$4 a b cid
	a=$(free_port 4)
	b=$(free_port 4)
	phone "$tag-callee" "$to" relay_uas_bye.xml \
	    $(offer_keys 0 $CALLEE_IP $b $((b + 1)) $((b + 2)) sendrecv) || return 1
	sipp_start "$tag" --user "$from" --to "$to" relay_uac_bye.xml \
	    $(offer_keys 0 $CALLER_IP $a $((a + 1)) $((a + 2)) sendrecv)
	cid=$(sipp_callid "$tag")
	check_journal "$desc: journal call-answer media=p2p" call-answer "call=$cid" media=p2p
	check_journal "$desc: journal call-start media=p2p" call-start "call=$cid" media=p2p
	save_msg "$tag-inv-sent" "$tag" sent '^INVITE' --nth 2
	save_msg "$tag-inv-recv" "$tag-callee" recv '^INVITE'
	save_msg "$tag-200-sent" "$tag-callee" sent '^SIP/2.0 200' --has '^CSeq:.*INVITE'
	save_msg "$tag-200-recv" "$tag" recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
	if [ -n "$(body "$tag-inv-sent")" ] && [ "$(body "$tag-inv-sent")" = "$(body "$tag-inv-recv")" ] &&
	    [ "$(clen "$tag-inv-sent")" = "$(clen "$tag-inv-recv")" ]; then
		pass "$desc: the INVITE's SDP reaches $to byte for byte (Content-Length $(clen "$tag-inv-recv"))"
	else
		fail "$desc: the INVITE's SDP reaches $to byte for byte" \
		    "$(diff <(body "$tag-inv-sent") <(body "$tag-inv-recv"))" \
		    "Content-Length $(clen "$tag-inv-sent") -> $(clen "$tag-inv-recv")"
	fi
	if [ -n "$(body "$tag-200-sent")" ] && [ "$(body "$tag-200-sent")" = "$(body "$tag-200-recv")" ] &&
	    [ "$(clen "$tag-200-sent")" = "$(clen "$tag-200-recv")" ]; then
		pass "$desc: the 200's SDP reaches $from byte for byte"
	else
		fail "$desc: the 200's SDP reaches $from byte for byte" \
		    "$(diff <(body "$tag-200-sent") <(body "$tag-200-recv"))"
	fi
	if sipctl --json calls | json_test "[c['media'] for c in j['calls'] if c['call_id'] == '$cid'] == ['p2p']"; then
		pass "$desc: sipctl calls says media p2p"
	else
		fail "$desc: sipctl calls says media p2p" "$(sipctl --json calls 2>&1)"
	fi
	if [ "$(media_rows "$cid")" = "[]" ]; then
		pass "$desc: sipctl media stats has no rows for it"
	else
		fail "$desc: sipctl media stats has no rows for it" "$(media_rows "$cid")"
	fi
	sipctl call hangup "$cid" > /dev/null 2>&1
	sipp_wait "$tag"
	check_sipp "$desc: hung up by sipctl, the caller gets BYE" "$tag" $?
	sipp_wait "$tag-callee"
	check_sipp "$desc: hung up by sipctl, the callee gets BYE" "$tag-callee" $?
}

# --------------------------------------- part 1: relay, two users p2p
relay_config --pairs 10 --user-media 1003=p2p --user-media 1004=p2p
start_sipd || exit 1
start_mediad m1 || exit 1
p2p_call pp 1003 1004 "1003 (p2p) calls 1004 (p2p) under media.mode relay"
p2p_call rp 1001 1003 "1001 calls 1003 (p2p) under media.mode relay"
if sipctl --json status | json_test "any(n['node'] == 'm1' and n['sessions'] == 0 for n in j['media_nodes'])"; then
	pass "mediad m1 holds no session (sipd never asked it)"
else
	fail "mediad m1 holds no session (sipd never asked it)" "$(sipctl --json status 2>&1)"
fi
stop_sipd

# ----------------------------------------- part 2: p2p, one user relay
relay_config --mode p2p --pairs 10 --user-media 1001=relay
start_sipd || exit 1
stop_mediad m1
p2p_call g 1003 1004 "media.mode p2p, no mediad running: 1003 calls 1004"
start_mediad m1 || exit 1
a=$(free_port 4)
b=$(free_port 4)
phone r-callee 1002 relay_uas_bye.xml $(offer_keys 0 $CALLEE_IP $b $((b + 1)) $((b + 2)) sendrecv) || exit 1
sipp_start r relay_uac_bye.xml $(offer_keys 0 $CALLER_IP $a $((a + 1)) $((a + 2)) sendrecv)
cid=$(sipp_callid r)
check_journal "media.mode p2p, 1001 relay: 1001's call to 1002 is relayed (journal media=relay)" \
    call-answer "call=$cid" media=relay
save_msg r-inv r-callee recv '^INVITE'
check_anchored r-inv "1001's call: the INVITE reaching 1002 names mediad"
sipctl call hangup "$cid" > /dev/null 2>&1
sipp_wait r
check_sipp "1001's call hung up by sipctl: the caller gets BYE" r $?
sipp_wait r-callee
check_sipp "1001's call hung up by sipctl: the callee gets BYE" r-callee $?

stop_sipd

# ------------------------------- part 3: a recorded call is always relayed
relay_config --mode p2p --pairs 10 --ports "$MEDIA_LO" --user-media 1004=p2p --user-record 1005=true
start_sipd || exit 1
a=$(free_port 4)
b=$(free_port 4)
phone x-callee 1005 relay_uas_bye.xml $(offer_keys 0 $CALLEE_IP $b $((b + 1)) $((b + 2)) sendrecv) || exit 1
sipp_start x --user 1004 --to 1005 relay_uac_bye.xml \
    $(offer_keys 0 $CALLER_IP $a $((a + 1)) $((a + 2)) sendrecv)
cid=$(sipp_callid x)
check_journal "1004 (p2p) calls 1005 (record = true) under media.mode p2p: call-start media=relay" \
    call-start "call=$cid" media=relay
check_journal "... and call-answer media=relay" call-answer "call=$cid" media=relay
save_msg x-inv x-callee recv '^INVITE'
check_anchored x-inv "the recorded call's INVITE reaching 1005 names mediad"
save_msg x-200 x recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
check_anchored x-200 "the recorded call's 200 reaching 1004 names mediad"
if sipctl --json calls | json_test "[c['media'] for c in j['calls'] if c['call_id'] == '$cid'] == ['relay']"; then
	pass "sipctl calls says media relay for the recorded call"
else
	fail "sipctl calls says media relay for the recorded call" "$(sipctl --json calls 2>&1)"
fi
if wait_until 30 grep -qF "recording: call $cid: asked mediad to record it" "$SIPD_LOG"; then
	pass "sipd asks mediad to record the call once it is answered (RECORD)"
else
	fail "sipd asks mediad to record the call once it is answered (RECORD)" \
	    "$(grep -i record "$SIPD_LOG" | tail -n 5)"
fi
sipctl call hangup "$cid" > /dev/null 2>&1
sipp_wait x
check_sipp "the recorded call hung up by sipctl: the caller gets BYE" x $?
sipp_wait x-callee
check_sipp "the recorded call hung up by sipctl: the callee gets BYE" x-callee $?

sipd_alive
stop_mediad m1
stop_sipd
done_testing
