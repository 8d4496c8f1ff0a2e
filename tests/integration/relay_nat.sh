#!/bin/bash
# relay_nat.sh — latching (symmetric RTP): a phone behind a NAT announces
# an address it cannot be reached at, and still gets two-way audio through
# mediad.  1001's SDP says c=IN IP4 127.0.0.99 with a port nothing listens
# on (loopback, like every address here); its real RTP socket is
# 127.0.0.2:P.  Asserted: before 1001 sends, 1002's audio does not reach
# P; once 1001 has sent (from P), 1002's audio and RTCP reach 1001 at
# its real source, and sipctl media stats shows that latched address; a
# re-INVITE repeating the same SDP address keeps the latch; an UPDATE
# naming a new port releases it, so 1002's audio goes to the new port at
# once, before 1001 sends from it.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp

relay_config --pairs 10 --timeout 60
start_sipd || exit 1
start_mediad m1 || exit 1

M=$MEDIA_IP
NAT_IP=127.0.0.99
x=$(free_port 2)	# the announced port: nothing binds it, ever
ca=$(free_port 2)	# 1001's real RTP and RTCP
ca2=$(free_port 2)	# 1001's port after it "moves"
cb=$(free_port 2)
probe_start caller-a=$CALLER_IP:$ca caller-ac=$CALLER_IP:$((ca + 1)) \
    caller-m=$CALLER_IP:$ca2 caller-mc=$CALLER_IP:$((ca2 + 1)) \
    callee-a=$CALLEE_IP:$cb callee-ac=$CALLEE_IP:$((cb + 1)) || exit 1

# offers 0-2 name the unreachable 127.0.0.99:x (re-INVITE 1 at once, 2
# after the latch: both unchanged); offer 3 (UPDATE) names 1001's new
# real port.  No video.
NAT="$NAT_IP $x $((x + 1)) 0 sendrecv"
B="$CALLEE_IP $cb $((cb + 1)) 0 sendrecv"
phone callee 1002 relay_uas.xml -timeout 90s \
    $(offer_keys 0 $B) $(offer_keys 1 $B) $(offer_keys 2 $B) $(offer_keys 3 $B) || exit 1
sipp_start caller --timeout 90 relay_uac.xml \
    $(offer_keys 0 $NAT) $(offer_keys 1 $NAT) $(offer_keys 2 $NAT) \
    $(offer_keys 3 $CALLER_IP $ca2 $((ca2 + 1)) 0 sendrecv)
cid=$(sipp_callid caller)
if wait_trace caller 3 sent '^ACK'; then
	pass "1001 (SDP c=$NAT_IP) calls 1002 in relay mode: 200, ACK, re-INVITE, 200, ACK"
else
	fail "1001 (SDP c=$NAT_IP) calls 1002 in relay mode: 200, ACK, re-INVITE, 200, ACK" \
	    "$(sipp_diag caller)" "$(sipp_diag callee)"
	exit 1
fi
save_msg inv-recv callee recv '^INVITE' --nth 1
save_msg 200-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
mb=$(sdp inv-recv audio.port)
ma=$(sdp 200-recv audio.port)
if [ "$(sdp inv-recv c)" = "$M" ] && in_media_range "$mb" && in_media_range "$ma"; then
	pass "the INVITE reaching 1002 names mediad ($M:$mb), not $NAT_IP"
else
	fail "the INVITE reaching 1002 names mediad, not $NAT_IP" "$(cat "$T/msg/inv-recv")"
fi

# caller_latched EXPECTED — media stats shows 1001's audio latched there
caller_latched() {
	media_row "$cid" caller audio | json_test "j is not None and j['latched'] == '$1'"
}
# callee_in N — mediad has had at least N audio packets from 1002
callee_in() {
	media_row "$cid" callee audio | json_test "j is not None and j['pkts_in'] >= $1"
}

# 1. 1002 talks first: mediad can only send to 127.0.0.99:x, which is lost
probe send sock=callee-a to=$M:$mb ssrc=0xB0B00001 count=10 seq=1000 tag=b1 > /dev/null
probe_done b1
if wait_until 100 callee_in 10; then
	pass "mediad gets 1002's first 10 packets"
else
	fail "mediad gets 1002's first 10 packets" "$(media_rows "$cid")"
fi
check_silent "before 1001 sends, 1002's audio does not reach 1001's real port (SDP says $NAT_IP:$x)" caller-a

# 2. 1001 talks from its real address: mediad latches to it
probe send sock=caller-a to=$M:$ma ssrc=0xA11CE001 count=20 tag=a1 > /dev/null
probe send sock=caller-ac to=$M:$((ma + 1)) kind=rtcp ssrc=0xA11CE001 count=2 interval=100 tag=a1c > /dev/null
probe_done a1 a1c
check_relayed "1002 gets 1001's audio from $M:$mb" callee-a a1 "$M:$mb"
if wait_until 50 caller_latched "$CALLER_IP:$ca"; then
	pass "sipctl media stats: 1001's audio is latched to $CALLER_IP:$ca (its real source)"
else
	fail "sipctl media stats: 1001's audio is latched to $CALLER_IP:$ca (its real source)" "$(media_rows "$cid")"
fi

# 3. now 1002's audio and RTCP reach 1001 where it really is
probe send sock=callee-a to=$M:$mb ssrc=0xB0B00001 count=20 seq=1010 ts=161600 tag=b2 > /dev/null
probe send sock=callee-ac to=$M:$((mb + 1)) kind=rtcp ssrc=0xB0B00001 count=2 interval=100 tag=b2c > /dev/null
probe_done b2 b2c
check_relayed "after latching, 1001 gets 1002's audio at $CALLER_IP:$ca, from $M:$ma" caller-a b2 "$M:$ma"
check_relayed "after latching, 1001 gets 1002's RTCP at $CALLER_IP:$((ca + 1)), from $M:$((ma + 1))" \
    caller-ac b2c "$M:$((ma + 1))"

# 4. a re-INVITE with the same (unreachable) SDP address keeps the latch
poke caller 3 || exit 1
wait_trace caller 4 sent '^ACK' || fail "re-INVITE with the same SDP: 200, ACK" "$(sipp_diag caller)"
save_msg same-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 3
check_eq "the 200 to the unchanged re-INVITE names the same mediad port" "$ma" "$(sdp same-recv audio.port)"
mk=$(probe mark sock=caller-a | json_print "j['mark']")
probe send sock=callee-a to=$M:$mb ssrc=0xB0B00001 count=20 seq=1030 ts=164800 tag=b3 > /dev/null
probe_done b3
check_relayed "after a re-INVITE with an unchanged SDP, 1001 still gets 1002's audio at $CALLER_IP:$ca" \
    caller-a b3 "$M:$ma" since=$mk

# 5. an UPDATE naming a new port releases the latch: 1002's audio goes
#    to the new port before 1001 sends anything from it
poke caller 4 || exit 1
wait_trace caller 1 "${UPDATED[@]}" || fail "UPDATE with a new port: 200" "$(sipp_diag caller)"
save_msg move-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*UPDATE' 
ma2=$(sdp move-recv audio.port)
in_media_range "$ma2" && pass "the 200 to the moving re-INVITE names a mediad port ($ma2)" ||
    fail "the 200 to the moving re-INVITE names a mediad port" "$(cat "$T/msg/move-recv")"
mk=$(probe mark sock=caller-a | json_print "j['mark']")
probe send sock=callee-a to=$M:$mb ssrc=0xB0B00001 count=20 seq=1050 ts=168000 tag=b4 > /dev/null
probe_done b4
check_relayed "after an UPDATE with a new port, 1001 gets 1002's audio there ($CALLER_IP:$ca2) at once" \
    caller-m b4 "$M:$ma2"
check_silent "... and no longer at the old latched port" caller-a since=$mk
mk=$(probe mark sock=callee-a | json_print "j['mark']")
probe send sock=caller-m to=$M:$ma2 ssrc=0xA11CE001 count=20 seq=1100 ts=176000 tag=a2 > /dev/null
probe_done a2
check_relayed "1002 gets 1001's audio from its new port" callee-a a2 "$M:$mb" since=$mk
if wait_until 50 caller_latched "$CALLER_IP:$ca2"; then
	pass "sipctl media stats: 1001's audio is latched to its new port $CALLER_IP:$ca2"
else
	fail "sipctl media stats: 1001's audio is latched to its new port $CALLER_IP:$ca2" "$(media_rows "$cid")"
fi

poke caller 1 "${UPDATED[@]}" || exit 1
sipp_wait caller
check_sipp "1001 hangs up: BYE, 200" caller $?
sipp_wait callee
check_sipp "1002 gets the re-INVITEs, the UPDATE and the BYE" callee $?
check_journal "journal: call-end by=caller, caller_pkts=40 callee_pkts=70" call-end "call=$cid" by=caller \
    caller_pkts=40 callee_pkts=70

sipd_alive
stop_mediad m1
stop_sipd
done_testing
