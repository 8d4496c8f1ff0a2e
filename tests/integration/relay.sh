#!/bin/bash
# relay.sh — a 1:1 call through sipd in relay mode with one mediad: what
# each phone sees of the SDP and of the media.  Two sipp phones (1001
# calls 1002) offer and answer audio and video with ICE attributes; their
# RTP and RTCP sockets belong to rtpprobe.py.  Asserted: the SDP each
# phone receives (183, 200, INVITE, re-INVITEs, UPDATE) names mediad's
# address and ports facing that phone instead of the other phone's, with
# a=rtcp moved along, ICE attributes gone and every other line as sent;
# RTP sent to mediad arrives at the far phone from mediad's port, byte for
# byte (SSRC, sequence, timestamp, payload), audio and video, and RTCP
# from the port above, at the a=rtcp port the phone asked for; re-INVITEs
# keep the ports, a stream turned off (port 0) stays off and can come back
# (UPDATE); sipctl status, media stats and calls show the node and the
# packet counts while the call is up; the journal's call-end has
# caller_pkts/callee_pkts and the losses; the ports are free again
# afterwards.  Then a late offer (INVITE without SDP, answer in the ACK)
# is relayed too.  And mediad's -V, -h and -t.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp

relay_config --pairs 20 --timeout 60

# ------------------------------------------------------ mediad's options
out=$("$MEDIAD" -V 2>&1)
check_eq "mediad -V exits 0" 0 $?
ver=$("$SIPD" -V 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
if [ -n "$ver" ] && printf '%s' "$out" | grep -qF "$ver"; then
	pass "mediad -V prints the version ($ver, as sipd -V)"
else
	fail "mediad -V prints the version ($ver, as sipd -V)" "mediad -V: $out"
fi
out=$("$MEDIAD" -h 2>&1)
check_eq "mediad -h exits 0" 0 $?
if printf '%s\n' "$out" | grep -q -- '-c' && printf '%s\n' "$out" | grep -q -- '-t' &&
    printf '%s\n' "$out" | grep -q -- '-f'; then
	pass "mediad -h lists -c, -f and -t"
else
	fail "mediad -h lists -c, -f and -t" "$out"
fi
out=$("$MEDIAD" -t -c "$CONF" 2>&1)
check_eq "mediad -t accepts this test's parley.conf" 0 $? || diag "$out"
write_config "$T/bad.conf" --media-mode relay --media '  rtp_ports = [ 30010, 30000 ];'
out=$("$MEDIAD" -t -c "$T/bad.conf" 2>&1)
check_eq "mediad -t refuses rtp_ports = [ 30010, 30000 ] (exit 1)" 1 $? || diag "$out"
if printf '%s' "$out" | grep -qE "$T/bad\.conf:[0-9]+"; then
	pass "mediad -t names file:line of the bad setting"
else
	fail "mediad -t names file:line of the bad setting" "$out"
fi

start_sipd || exit 1
start_mediad m1 || exit 1

json=$(sipctl --json status 2>&1)
if printf '%s' "$json" | json_test "
any(n.get('node') == 'm1' and n.get('endpoint') == 'ipc://$T/media.sock' and n.get('live') is True
    and n.get('instance') not in (None, '', 0) and n.get('sessions') == 0
    and n.get('capacity') == 20 and n.get('free') == 20
    and isinstance(n.get('load'), (int, float))
    for n in j['media_nodes'])"; then
	pass "sipctl --json status: media node m1, its endpoint, live, 0 sessions, capacity 20 free 20, load"
else
	fail "sipctl --json status: media node m1, its endpoint, live, 0 sessions, capacity 20 free 20, load" "$json"
fi
out=$(sipctl status 2>&1)
if printf '%s\n' "$out" | grep -w m1 | grep -qF "ipc://$T/media.sock"; then
	pass "sipctl status lists media node m1 with its endpoint"
else
	fail "sipctl status lists media node m1 with its endpoint" "$out"
fi

# ------------------------------------------------------------ the phones
# caller: audio RTP/RTCP on ca/ca+1 (a=rtcp says ca+1), video on ca+2/+3;
# callee: audio RTP on cb, its RTCP on rb (a=rtcp: not cb+1, which listens
# too, to catch RTCP sent to the wrong port), video on cb+2/+3.
ca=$(free_port 4)
cb=$(free_port 4)
rb=$(free_port)
probe_start caller-a=$CALLER_IP:$ca caller-ac=$CALLER_IP:$((ca + 1)) \
    caller-v=$CALLER_IP:$((ca + 2)) caller-vc=$CALLER_IP:$((ca + 3)) \
    callee-a=$CALLEE_IP:$cb callee-a1=$CALLEE_IP:$((cb + 1)) callee-ac=$CALLEE_IP:$rb \
    callee-v=$CALLEE_IP:$((cb + 2)) callee-vc=$CALLEE_IP:$((cb + 3)) || exit 1

# offers 0 and 1 (a refresh right after the ACK): audio and video; offer 2
# (re-INVITE) turns video off; offer 3 (UPDATE) turns it on again.  The
# answers follow suit.
A="$CALLER_IP $ca $((ca + 1))"
B="$CALLEE_IP $cb $rb"
phone callee 1002 relay_uas.xml -timeout 120s \
    $(offer_keys 0 $B $((cb + 2)) sendrecv) $(offer_keys 1 $B $((cb + 2)) sendrecv) \
    $(offer_keys 2 $B 0 sendrecv) $(offer_keys 3 $B $((cb + 2)) sendrecv) || exit 1
sipp_start caller --timeout 120 relay_uac.xml \
    $(offer_keys 0 $A $((ca + 2)) sendrecv) $(offer_keys 1 $A $((ca + 2)) sendrecv) \
    $(offer_keys 2 $A 0 sendrecv) $(offer_keys 3 $A $((ca + 2)) sendrecv)
cid=$(sipp_callid caller)

# 3 ACKs: for the 407, the 200 and the refresh's 200
if wait_trace caller 3 sent '^ACK'; then
	pass "1001 calls 1002 through sipd in relay mode: 183, 200, ACK, re-INVITE, 200, ACK"
else
	fail "1001 calls 1002 through sipd in relay mode: 183, 200, ACK, re-INVITE, 200, ACK" \
	    "$(sipp_diag caller)" "$(sipp_diag callee)"
	exit 1
fi

save_msg inv-sent caller sent '^INVITE' --nth 2
save_msg inv-recv callee recv '^INVITE' --nth 1
save_msg 183-sent callee sent '^SIP/2.0 183'
save_msg 183-recv caller recv '^SIP/2.0 183'
save_msg 200-sent callee sent '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
save_msg 200-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
save_msg reinv-recv callee recv '^INVITE' --nth 2
save_msg re200-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 2

# mediad's ports: toward the callee (in what the callee got), toward the
# caller (in what the caller got)
mb_a=$(sdp inv-recv audio.port)
mb_v=$(sdp inv-recv video.port)
ma_a=$(sdp 200-recv audio.port)
ma_v=$(sdp 200-recv video.port)
diag "mediad's ports: facing the caller audio $ma_a video $ma_v; facing the callee audio $mb_a video $mb_v"

# sdp_names_mediad DESC LABEL AUDIO VIDEO — the SDP of message LABEL
# names mediad's address at session and media level, and these ports
sdp_names_mediad() {
	local desc=$1 label=$2 got
	got=$(sdp "$label" c audio.addr video.addr audio.port video.port)
	if [ "$got" = "$MEDIA_IP $MEDIA_IP $MEDIA_IP $3 $4" ]; then
		pass "$desc"
	else
		fail "$desc" "expected c= (session, audio, video) $MEDIA_IP, audio port $3, video port $4;" \
		    "got: $got (c, audio c, video c, audio port, video port) in:" "$(cat "$T/msg/$label")"
		return 1
	fi
}

if in_media_range "$mb_a" && in_media_range "$mb_v" && in_media_range "$ma_a" && in_media_range "$ma_v" &&
    [ "$(printf '%s\n' "$mb_a" "$mb_v" "$ma_a" "$ma_v" | sort -u | wc -l)" = 4 ]; then
	pass "the SDPs name four different even ports of mediad's range $MEDIA_LO-$MEDIA_HI"
else
	fail "the SDPs name four different even ports of mediad's range $MEDIA_LO-$MEDIA_HI" \
	    "callee got audio ${mb_a:-none} video ${mb_v:-none}; caller got audio ${ma_a:-none} video ${ma_v:-none}"
fi
sdp_names_mediad "the INVITE reaching 1002: c= (session and video) is mediad's $MEDIA_IP, not 1001's $CALLER_IP" \
    inv-recv "$mb_a" "$mb_v"
sdp_names_mediad "the 200 reaching 1001: c= is mediad's $MEDIA_IP, not 1002's $CALLEE_IP" \
    200-recv "$ma_a" "$ma_v"
sdp_names_mediad "the 183 reaching 1001 names the same mediad ports as its 200" 183-recv "$ma_a" "$ma_v"
sdp_names_mediad "the refresh re-INVITE reaching 1002 keeps mediad's ports" reinv-recv "$mb_a" "$mb_v"
sdp_names_mediad "the 200 to the refresh reaching 1001 keeps mediad's ports" re200-recv "$ma_a" "$ma_v"
check_eq "the INVITE reaching 1002: a=rtcp is mediad's audio port + 1" "$((mb_a + 1))" "$(sdp inv-recv audio.rtcp)"
check_eq "the 200 reaching 1001: a=rtcp is mediad's audio port + 1" "$((ma_a + 1))" "$(sdp 200-recv audio.rtcp)"
check_eq "ICE attributes were sent by 1001 (5) and 1002 (5)" "5 5" "$(sdp inv-sent ice) $(sdp 200-sent ice)"
check_eq "ICE attributes are gone from the INVITE and the 200 (0 and 0)" "0 0" \
    "$(sdp inv-recv ice) $(sdp 200-recv ice)"
check "the INVITE's SDP reaches 1002 as sent apart from c=, ports, a=rtcp and ICE (o=, codecs, fmtp, direction)" \
    $SIPMSG sdp-same "$T/msg/inv-sent" "$T/msg/inv-recv"
check "the 200's SDP reaches 1001 as sent apart from c=, ports, a=rtcp and ICE" \
    $SIPMSG sdp-same "$T/msg/200-sent" "$T/msg/200-recv"
check "the 183's SDP reaches 1001 as sent apart from c=, ports, a=rtcp and ICE" \
    $SIPMSG sdp-same "$T/msg/183-sent" "$T/msg/183-recv"

# --------------------------------------------------------- RTP and RTCP
# (sent every 10 ms: the relay does not care, and the test is quicker)
# audio PCMA, 100 packets each way (1002 skips 3 sequence numbers:
# mediad must count them lost); video 50 packets of 1000 bytes each way;
# RTCP sender reports on audio both ways and on video from 1001.
M=$MEDIA_IP
probe send sock=caller-a to=$M:$ma_a ssrc=0xA11CE001 pt=8 count=100 interval=10 tag=ca > /dev/null
probe send sock=callee-a to=$M:$mb_a ssrc=0xB0B00001 pt=8 count=100 skip=20,40,60 interval=10 tag=ba > /dev/null
probe send sock=caller-v to=$M:$ma_v ssrc=0xA11CE0F0 pt=96 count=50 size=1000 tsinc=3000 interval=10 tag=cv > /dev/null
probe send sock=callee-v to=$M:$mb_v ssrc=0xB0B000F0 pt=96 count=50 size=1000 tsinc=3000 interval=10 tag=bv > /dev/null
probe send sock=caller-ac to=$M:$((ma_a + 1)) kind=rtcp ssrc=0xA11CE001 count=5 interval=200 tag=cac > /dev/null
probe send sock=callee-ac to=$M:$((mb_a + 1)) kind=rtcp ssrc=0xB0B00001 count=5 interval=200 tag=bac > /dev/null
probe send sock=caller-vc to=$M:$((ma_v + 1)) kind=rtcp ssrc=0xA11CE0F0 count=3 interval=200 tag=cvc > /dev/null
probe_done ca ba cv bv cac bac cvc || fail "the probe sends its RTP and RTCP" "$(cat "$T/probe.log")"

check_relayed "1002 gets 1001's 100 audio packets unchanged, from mediad's $M:$mb_a" callee-a ca "$M:$mb_a"
check_relayed "1001 gets 1002's 97 audio packets unchanged, from mediad's $M:$ma_a" caller-a ba "$M:$ma_a"
check_relayed "1002 gets 1001's 50 video packets unchanged, from mediad's $M:$mb_v" callee-v cv "$M:$mb_v"
check_relayed "1001 gets 1002's 50 video packets unchanged, from mediad's $M:$ma_v" caller-v bv "$M:$ma_v"
check_relayed "1002 gets 1001's audio RTCP unchanged at its a=rtcp port, from $M:$((mb_a + 1))" \
    callee-ac cac "$M:$((mb_a + 1))"
check_relayed "1001 gets 1002's audio RTCP unchanged, from $M:$((ma_a + 1))" caller-ac bac "$M:$((ma_a + 1))"
check_relayed "1002 gets 1001's video RTCP unchanged, from $M:$((mb_v + 1))" callee-vc cvc "$M:$((mb_v + 1))"
check_silent "nothing reaches 1002's audio port + 1 (its a=rtcp names another port)" callee-a1
out=$(probe got sock=callee-a)
if printf '%s' "$out" | json_test "list(j['ssrcs']) == ['0xa11ce001'] and j['rtcp'] == 0"; then
	pass "1002's audio port gets 1001's audio RTP only (no video, no RTCP)"
else
	fail "1002's audio port gets 1001's audio RTP only (no video, no RTCP)" "$out"
fi
out=$(probe got sock=caller-v)
if printf '%s' "$out" | json_test "list(j['ssrcs']) == ['0xb0b000f0'] and j['rtcp'] == 0"; then
	pass "1001's video port gets 1002's video RTP only"
else
	fail "1001's video port gets 1002's video RTP only" "$out"
fi

# ------------------------------------------------ sipctl while it is up
rows=$(media_rows "$cid")
diag "sipctl --json media stats rows of the call: $rows"
# row_check DESC LEG KIND EXPR — EXPR true of that row (r)
row_check() {
	local r
	r=$(printf '%s' "$rows" | json_print "([s for s in j if s.get('leg') == '$2' and s.get('kind') == '$3'] or [None])[0]")
	if printf '%s' "$r" | json_test "j is not None and ($4)"; then
		pass "$1"
	else
		fail "$1" "false: $4" "row: $r"
	fi
}
# bytes: the RTP packets' size (12 + payload) or the payload alone
row_check "media stats: caller audio in 100 packets (and their bytes), out 97, lost 0, latched $CALLER_IP:$ca" \
    caller audio "j['pkts_in'] == 100 and j['bytes_in'] in (100 * 172, 100 * 160) and j['pkts_out'] == 97
and j['bytes_out'] in (97 * 172, 97 * 160) and j['lost'] == 0 and j['latched'] == '$CALLER_IP:$ca'
and isinstance(j['jitter_ms'], (int, float)) and j['jitter_ms'] >= 0 and isinstance(j['stream'], int)"
row_check "media stats: callee audio in 97, out 100, lost 3 (the skipped sequence numbers), latched $CALLEE_IP:$cb" \
    callee audio "j['pkts_in'] == 97 and j['pkts_out'] == 100 and j['lost'] == 3 and j['latched'] == '$CALLEE_IP:$cb'"
row_check "media stats: caller video in 50, out 50, lost 0" caller video \
    "j['pkts_in'] == 50 and j['bytes_in'] in (50 * 1012, 50 * 1000) and j['pkts_out'] == 50 and j['lost'] == 0"
row_check "media stats: callee video in 50, out 50, latched $CALLEE_IP:$((cb + 2))" callee video \
    "j['pkts_in'] == 50 and j['pkts_out'] == 50 and j['latched'] == '$CALLEE_IP:$((cb + 2))'"
out=$(sipctl media stats 2>&1)
check_eq "sipctl media stats exits 0" 0 $?
if printf '%s\n' "$out" | grep -F "$cid" | grep -qF "$CALLER_IP:$ca"; then
	pass "sipctl media stats shows the call with 1001's latched address"
else
	fail "sipctl media stats shows the call with 1001's latched address" "$out"
fi
# calls[].media stays the mode (docs/contract.md: "media mode"); the
# rows are calls[].streams, the per-leg totals caller_pkts/callee_pkts
json=$(sipctl --json calls 2>&1)
if printf '%s' "$json" | json_test "
[(c['media'], c['caller_pkts'], c['callee_pkts'],
  sorted((r['leg'], r['kind'], r['pkts_in'], r['pkts_out']) for r in c['streams']))
 for c in j['calls'] if c['call_id'] == '$cid'] ==
[('relay', 150, 147, [('callee', 'audio', 97, 100), ('callee', 'video', 50, 50),
                      ('caller', 'audio', 100, 97), ('caller', 'video', 50, 50)])]"; then
	pass "sipctl --json calls: media relay, caller_pkts 150, callee_pkts 147, the stream rows of each leg"
else
	fail "sipctl --json calls: media relay, caller_pkts 150, callee_pkts 147, the stream rows of each leg" "$json"
fi
out=$(sipctl calls 2>&1)
line=$(printf '%s\n' "$out" | grep -F "$cid")
if printf '%s\n' "$line" | grep -qw 150 && printf '%s\n' "$line" | grep -qw 147; then
	pass "sipctl calls shows 1001's 150 and 1002's 147 packets on the call's line"
else
	fail "sipctl calls shows 1001's 150 and 1002's 147 packets on the call's line" "$out"
fi
json=$(sipctl --json status 2>&1)
if printf '%s' "$json" | json_test "
any(n['node'] == 'm1' and n['sessions'] == 1 and n['capacity'] == 20 and n['free'] == 16
    for n in j['media_nodes'])"; then
	pass "sipctl status: m1 has 1 session, 16 of 20 port pairs free (2 streams x 2 legs in use)"
else
	fail "sipctl status: m1 has 1 session, 16 of 20 port pairs free (2 streams x 2 legs in use)" "$json"
fi

# ---------------------------------------------- video off, audio stays
poke caller 3 || exit 1
wait_trace caller 4 sent '^ACK' || fail "re-INVITE turning video off: 200, ACK" "$(sipp_diag caller)"
save_msg off-recv callee recv '^INVITE' --nth 3
save_msg off200-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 3
check_eq "video turned off: the re-INVITE reaching 1002 keeps audio $mb_a and says m=video 0" \
    "$mb_a 0" "$(sdp off-recv audio.port video.port)"
check_eq "video turned off: the 200 reaching 1001 keeps audio $ma_a and says m=video 0" \
    "$ma_a 0" "$(sdp off200-recv audio.port video.port)"
mca=$(probe mark sock=callee-a | json_print "j['mark']")
mba=$(probe mark sock=caller-a | json_print "j['mark']")
probe send sock=caller-a to=$M:$ma_a ssrc=0xA11CE001 pt=8 count=20 seq=1100 ts=176000 interval=10 tag=ca2 > /dev/null
probe send sock=callee-a to=$M:$mb_a ssrc=0xB0B00001 pt=8 count=20 seq=1100 ts=176000 interval=10 tag=ba2 > /dev/null
probe_done ca2 ba2
check_relayed "after the re-INVITE, 1002 still gets 1001's audio from $M:$mb_a" callee-a ca2 "$M:$mb_a" since=$mca
check_relayed "after the re-INVITE, 1001 still gets 1002's audio from $M:$ma_a" caller-a ba2 "$M:$ma_a" since=$mba

# ------------------------------------------- video back on, by UPDATE
poke caller 4 || exit 1
wait_trace caller 1 "${UPDATED[@]}" || fail "UPDATE turning video on: 200" "$(sipp_diag caller)"
save_msg on-sent caller sent '^UPDATE'
save_msg on-recv callee recv '^UPDATE'
save_msg on200-sent callee sent '^SIP/2.0 200' --has '^CSeq:.*UPDATE'
save_msg on200-recv caller recv '^SIP/2.0 200' --has '^CSeq:.*UPDATE' 
mb_v2=$(sdp on-recv video.port)
ma_v2=$(sdp on200-recv video.port)
if in_media_range "$mb_v2" && in_media_range "$ma_v2" && [ "$mb_v2" != "$ma_v2" ] &&
    [ "$(sdp on-recv audio.port) $(sdp on200-recv audio.port)" = "$mb_a $ma_a" ]; then
	pass "video back on (UPDATE): both phones get mediad video ports ($ma_v2, $mb_v2), audio ports unchanged"
else
	fail "video back on (UPDATE): both phones get mediad video ports, audio ports unchanged" \
	    "$(cat "$T/msg/on-recv")" "$(cat "$T/msg/on200-recv")"
fi
check_eq "the UPDATE and its 200 reach the phones with c= mediad's and no ICE" "$M 0 $M 0" \
    "$(sdp on-recv c ice) $(sdp on200-recv c ice)"
check "the UPDATE's SDP reaches 1002 as sent apart from c=, ports, a=rtcp and ICE" \
    $SIPMSG sdp-same "$T/msg/on-sent" "$T/msg/on-recv"
check "the UPDATE's 200 reaches 1001 as sent apart from c=, ports, a=rtcp and ICE" \
    $SIPMSG sdp-same "$T/msg/on200-sent" "$T/msg/on200-recv"
mcv=$(probe mark sock=callee-v | json_print "j['mark']")
mbv=$(probe mark sock=caller-v | json_print "j['mark']")
probe send sock=caller-v to=$M:$ma_v2 ssrc=0xA11CE0F0 pt=96 count=20 size=1000 seq=1050 tsinc=3000 interval=10 tag=cv2 > /dev/null
probe send sock=callee-v to=$M:$mb_v2 ssrc=0xB0B000F0 pt=96 count=20 size=1000 seq=1050 tsinc=3000 interval=10 tag=bv2 > /dev/null
probe_done cv2 bv2
check_relayed "video back on: 1002 gets 1001's video from $M:$mb_v2" callee-v cv2 "$M:$mb_v2" since=$mcv
check_relayed "video back on: 1001 gets 1002's video from $M:$ma_v2" caller-v bv2 "$M:$ma_v2" since=$mbv

# ------------------------------------------------------------- hang up
poke caller 1 "${UPDATED[@]}" || exit 1
sipp_wait caller
check_sipp "1001 hangs up: BYE, 200" caller $?
sipp_wait callee
check_sipp "1002 gets every re-INVITE and the BYE" callee $?

check_journal "journal: call-start media=relay" call-start "call=$cid" from=1001 to=1002 media=relay
check_journal "journal: call-answer media=relay" call-answer "call=$cid" media=relay
check_journal "journal: call-end by=caller with the packet counts" call-end "call=$cid" by=caller \
    'caller_pkts~[0-9]+' 'callee_pkts~[0-9]+' 'caller_lost~[0-9]+' 'callee_lost~[0-9]+'
# 1001 sent 100 + 50 + 20 + 20 RTP packets, 1002 97 + 50 + 20 + 20
cp=$(journal_get call-end caller_pkts "call=$cid")
bp=$(journal_get call-end callee_pkts "call=$cid")
cl=$(journal_get call-end caller_lost "call=$cid")
bl=$(journal_get call-end callee_lost "call=$cid")
if [ "${cp:-0}" -ge 171 ] && [ "${cp:-0}" -le 190 ] && [ "${bp:-0}" -ge 168 ] && [ "${bp:-0}" -le 187 ]; then
	pass "journal: caller_pkts=$cp callee_pkts=$bp (sent: 190 and 187)"
else
	fail "journal: caller_pkts and callee_pkts match what was sent (190 and 187)" \
	    "caller_pkts=${cp:-none} callee_pkts=${bp:-none}" "$(grep -F "$cid" "$JOURNAL")"
fi
check_eq "journal: caller_lost=0 callee_lost=3" "0 3" "${cl:-none} ${bl:-none}"

free_again() {
	sipctl --json status 2>/dev/null | json_test "
any(n['node'] == 'm1' and n['sessions'] == 0 and n['free'] == 20 for n in j['media_nodes'])"
}
if wait_until 100 free_again; then
	pass "after the call m1 has 0 sessions and all 20 port pairs free"
else
	fail "after the call m1 has 0 sessions and all 20 port pairs free" "$(sipctl --json status 2>&1)"
fi
if wait_until 50 eval '[ "$(media_rows "$cid")" = "[]" ]'; then
	pass "sipctl media stats no longer lists the call"
else
	fail "sipctl media stats no longer lists the call" "$(sipctl --json media stats 2>&1)"
fi

# ---------------------------------------------------------- late offer
# 1001 sends an INVITE without SDP; 1002's 200 is the offer (audio and
# video), 1001's ACK the answer (audio only: m=video 0).
ca=$(free_port 4)
cb=$(free_port 4)
probe_ctl_old=$PROBE_CTL
PROBE_CTL=$T/probe2.sock
probe_start caller-a=$CALLER_IP:$ca caller-ac=$CALLER_IP:$((ca + 1)) \
    callee-a=$CALLEE_IP:$cb callee-ac=$CALLEE_IP:$((cb + 1)) \
    callee-v=$CALLEE_IP:$((cb + 2)) callee-vc=$CALLEE_IP:$((cb + 3)) || exit 1
phone late-callee 1002 relay_uas_bye.xml $(offer_keys 0 $CALLEE_IP $cb $((cb + 1)) $((cb + 2)) sendrecv) || exit 1
sipp_start late-caller relay_uac_late.xml $(offer_keys 0 $CALLER_IP $ca $((ca + 1)) 0 sendrecv)
cid=$(sipp_callid late-caller)
if wait_trace late-caller 2 sent '^ACK'; then
	pass "late offer: INVITE without SDP, 200 with 1002's offer, ACK with 1001's answer"
else
	fail "late offer: INVITE without SDP, 200 with 1002's offer, ACK with 1001's answer" \
	    "$(sipp_diag late-caller)" "$(sipp_diag late-callee)"
fi
save_msg late-200 late-caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
save_msg late-ack-sent late-caller sent '^ACK' --has '^Content-Type:.*sdp'
wait_trace late-callee 1 recv '^ACK'
save_msg late-ack late-callee recv '^ACK'
la=$(sdp late-200 audio.port)
lb=$(sdp late-ack audio.port)
if [ "$(sdp late-200 c)" = "$M" ] && in_media_range "$la" && in_media_range "$(sdp late-200 video.port)"; then
	pass "late offer: the 200 (offer) reaching 1001 names mediad ($M:$la), not 1002"
else
	fail "late offer: the 200 (offer) reaching 1001 names mediad, not 1002" "$(cat "$T/msg/late-200")"
fi
if [ "$(sdp late-ack c)" = "$M" ] && in_media_range "$lb" && [ "$(sdp late-ack video.port)" = 0 ] &&
    [ "$(sdp late-ack ice)" = 0 ]; then
	pass "late offer: the ACK (answer) reaching 1002 names mediad ($M:$lb), video stays 0, no ICE"
else
	fail "late offer: the ACK (answer) reaching 1002 names mediad, video stays 0, no ICE" \
	    "$(cat "$T/msg/late-ack")"
fi
check "late offer: the ACK's SDP reaches 1002 as sent apart from c=, ports, a=rtcp and ICE" \
    $SIPMSG sdp-same "$T/msg/late-ack-sent" "$T/msg/late-ack"
probe send sock=caller-a to=$M:$la ssrc=0x1A7E0001 pt=8 count=25 interval=10 tag=la > /dev/null
probe send sock=callee-a to=$M:$lb ssrc=0x1A7E0002 pt=8 count=25 interval=10 tag=lb > /dev/null
probe_done la lb
check_relayed "late offer: 1002 gets 1001's audio from $M:$lb" callee-a la "$M:$lb"
check_relayed "late offer: 1001 gets 1002's audio from $M:$la" caller-a lb "$M:$la"
poke late-caller 2 || exit 1
sipp_wait late-caller
check_sipp "late offer: 1001 hangs up, BYE, 200" late-caller $?
sipp_wait late-callee
check_sipp "late offer: 1002 gets the ACK and the BYE" late-callee $?
check_journal "late offer: journal call-end by=caller, caller_pkts=25 callee_pkts=25" call-end "call=$cid" \
    by=caller caller_pkts=25 callee_pkts=25
PROBE_CTL=$probe_ctl_old

sipd_alive
stop_mediad m1
stop_sipd
done_testing
