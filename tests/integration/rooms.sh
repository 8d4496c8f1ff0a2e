#!/bin/bash
# rooms.sh — rooms (group calls) as their phones and the operator see them:
# sipp phones (scenarios/room_uac.xml, digest auth) dial room numbers, and
# their RTP sockets belong to rtpprobe.py, which sends a PCMA tone and
# DTMF and records what mediad sends back.  Asserted, in this order:
#   - join: 200 with an answer naming mediad's address and a port of its
#     range, PCMA chosen by media.codecs over the PCMU offered first, the
#     video m= line declined (port 0), a To tag and a Contact; journal
#     room-create once, room-join with participant ids 1 and 2; sipctl
#     rooms shows 2 participants;
#   - audio: 1001's 1000 Hz tone reaches 1002 (the frequency measured on
#     the decoded PCMA), 1001 hears silence (N-1); mute and unmute (room
#     show says so), hold (re-INVITE sendonly: 200 recvonly, not mixed,
#     no RTP to it; sendrecv: back, the marker bit on the first packet);
#     DTMF from 1002 is not mixed and mediad logs each key once; 1002's
#     RTP has its payload type, sequence numbers +1, timestamps +160 and
#     the marker bit on the first packet only;
#   - limits: room limit 2 -> 486 with the configured reason phrase, room
#     max 1 -> 503 with Retry-After, both lifted by 0; an EVS-only offer
#     -> 488 with a Warning and no journal line;
#   - codecs: an AMR-WB bandwidth-efficient and an AMR octet-aligned
#     phone are answered in their payload format and what they receive,
#     depacketized (tests/tools/amrdepack) and decoded by ffmpeg, is the
#     tone;
#   - kick by user and by id (the phone gets sipd's BYE; journal
#     room-kick by=admin), sipctl's refusals (exit 1) and usage errors
#     (exit 2); the first BYE leaves the room up, the last deletes it;
#   - CANCEL while mediad is stopped (kill -STOP, so the 200 cannot come
#     first): 487 and no trace in the journal or sipctl rooms; mediad
#     stopped past sipd's 2 s request timeout: 503, and once it runs again
#     no participant is left behind in it: all ports free again.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp

AMRDEPACK=$top_builddir/tests/tools/amrdepack
[ -x "$AMRDEPACK" ] || { echo "Bail out! $AMRDEPACK not built (make check builds it)"; exit 1; }
PHRASE_486="Room full, sorry"
FREQ=1000
M=$MEDIA_IP
relay_config --pairs 20 --timeout 60 \
    --media-more '  codecs = [ "AMR-WB", "AMR", "PCMA", "PCMU" ];' \
    --sip "  reason_phrases = ( { code = 486; text = \"$PHRASE_486\"; } );"
start_sipd || exit 1
start_mediad m1 || exit 1

# the phones' media addresses: a third phone's SDP or packet cannot pass for another's
A_IP=127.0.0.2 B_IP=127.0.0.3 WB_IP=127.0.0.4 NB_IP=127.0.0.5 X_IP=127.0.0.6
pa=$(free_port 4) pb=$(free_port 2) pw=$(free_port 2) pn=$(free_port 2) px=$(free_port 2)
probe_start a=$A_IP:$pa b=$B_IP:$pb wb=$WB_IP:$pw nb=$NB_IP:$pn x=$X_IP:$px || exit 1

G711="a=rtpmap:8 PCMA/8000\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15"

# room_phone NAME USER ROOM IP PORT FMTS ATTRS [VIDEO [REINVITES]] — sipp
# phone NAME (room_uac.xml) dials ROOM as USER in the background; its
# offers: audio at IP:PORT with formats FMTS and a= lines ATTRS ("\n"
# between lines), then VIDEO; re-INVITE 1 says sendonly, 2 sendrecv
room_phone() {
	sipp_start "$1" --user "$2" --to "$3" --timeout 120 room_uac.xml \
	    --sub "FMTS=$6" --sub "ATTRS=$7" --sub "VIDEO=${8:-}" --sub "REINVITES=${9:-0}" \
	    -key ip "$4" -key port "$5" -key d0 sendrecv -key d1 sendonly -key d2 sendrecv
}

# joined DESC NAME — TAP line: phone NAME got its 200 and ACKed it
joined() {
	if wait_trace "$2" 2 sent '^ACK'; then
		pass "$1"
	else
		fail "$1" "$(sipp_diag "$2")" "--- sipd log:" "$(tail -n 20 "$SIPD_LOG")"
		return 1
	fi
}

# check_refused DESC NAME STATUS — TAP line: phone NAME is done and its
# final response was STATUS (saved as msg/NAME-final)
check_refused() {
	local rc
	sipp_wait "$2"
	rc=$?
	save_msg "$2-final" "$2" recv '^SIP/2.0 [2-6][0-9][0-9]'
	if [ $rc -eq 0 ] && head -n 1 "$T/msg/$2-final" | tr -d '\r' | grep -q "^SIP/2.0 $3 "; then
		pass "$1"
	else
		fail "$1" "$(sipp_diag "$2")"
		return 1
	fi
}

# ctl_ok ARG... — TAP line: sipctl ARG... exits 0
ctl_ok() {
	local out
	out=$(sipctl "$@" 2>&1)
	check_eq "sipctl $* exits 0" 0 $? || diag "$out"
}

# window SECONDS SOCK... — marks what each SOCK received so far, waits
# SECONDS, marks again: since[SOCK] and until[SOCK] bound the window
declare -A since until
window() {
	local secs=$1 s
	shift
	for s in "$@"; do since[$s]=$(probe mark sock=$s | json_print "j['mark']"); done
	sleep "$secs"
	for s in "$@"; do until[$s]=$(probe mark sock=$s | json_print "j['mark']"); done
}

# heard SOCK LABEL — the window of SOCK as PCMA, saved as $T/LABEL.wav;
# prints the probe's figures (packets, rms, peak)
heard() {
	probe save sock=$1 since=${since[$1]} until=${until[$1]} pt=8 fmt=pcma path="$T/$2.wav"
}

# check_silent_window DESC SOCK LABEL — TAP line: SOCK got RTP in its
# window, and it decodes to silence (peak under 1 % of full scale)
check_silent_window() {
	local out
	out=$(heard "$2" "$3")
	if printf '%s' "$out" | json_test "j['packets'] >= 25 and j['peak'] < 0.01"; then
		pass "$1"
	else
		fail "$1" "expected 25 packets or more of silence in the window" "probe: $out"
		return 1
	fi
}

# check_tone_window DESC SOCK LABEL — TAP line: SOCK's window is the tone
check_tone_window() {
	heard "$2" "$3" > /dev/null
	check_tone "$1" "$T/$3.wav" $FREQ 0.8
}

# check_shown KEY VALUE — TAP line: sipctl room show 800 says participant
# 1's KEY (muted, held) is VALUE (True, False)
check_shown() {
	local out
	out=$(sipctl --json room show 800 2>&1)
	if printf '%s' "$out" | json_test "[p['$1'] for p in j['participants'] if p['participant'] == 1] == [$2]"; then
		pass "sipctl room show 800: participant 1 $1 $2"
	else
		fail "sipctl room show 800: participant 1 $1 $2" "$out"
	fi
}

# mute VERB WHO MUTED — TAP lines: sipctl room VERB 800 WHO (mute or
# unmute) exits 0, and room show says participant 1 is muted MUTED
mute() {
	ctl_ok room "$1" 800 "$2"
	check_shown muted "$3"
}

# rooms_are EXPR — sipctl --json rooms' [(room, participants)] == EXPR
rooms_are() {
	sipctl --json rooms 2>/dev/null | json_test "
sorted((r['room'], r['participants']) for r in j['rooms']) == $1"
}

# -------------------------------------------------------- join (1, 10)
# 1001 offers PCMU before PCMA, and video; 1002 PCMA only
room_phone a 1001 800 $A_IP $pa "0 8 101" "$G711" \
    "\nm=video $((pa + 2)) RTP/AVP 96\na=rtpmap:96 H264/90000" 2
joined "1001 dials room 800: 407, INVITE with credentials, 200, ACK" a || exit 1
save_msg a-200 a recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
ma=$(sdp a-200 audio.port)
room_phone b 1002 800 $B_IP $pb "8 101" "$G711"
joined "1002 dials room 800: 407, INVITE with credentials, 200, ACK" b || exit 1
save_msg b-200 b recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
mb=$(sdp b-200 audio.port)

for p in a:1001:$ma b:1002:$mb; do
	n=${p%%:*} u=$(echo "$p" | cut -d: -f2) port=${p##*:}
	if [ "$(sdp $n-200 c audio.addr)" = "$M $M" ] && in_media_range "$port"; then
		pass "$u's 200: c= is mediad's $M, the audio port $port is in mediad's range"
	else
		fail "$u's 200: c= is mediad's $M, the audio port is in mediad's range ($MEDIA_LO-$MEDIA_HI)" \
		    "$(cat "$T/msg/$n-200")"
	fi
	check_trace "$u's 200 has a To tag" $n recv '^SIP/2.0 200' '^To:.*;tag=' --nth 1
	check_trace "$u's 200 has sipd's Contact for room 800" $n recv '^SIP/2.0 200' \
	    "^Contact: *<sip:800@127\.0\.0\.1:$SIPD_PORT>" --nth 1
done
[ "$ma" != "$mb" ] || fail "1001 and 1002 get different mediad ports" "both got $ma"
check_eq "1001 offered PCMU first, PCMA answered (media.codecs order), telephone-event kept" \
    "8 101" "$(sdp a-200 audio.fmts)"
check_trace "1001's answer maps 8 to PCMA/8000" a recv '^SIP/2.0 200' '^a=rtpmap:8 PCMA/8000' --nth 1
check_eq "1001's video m= line is declined (m=video 0), audio kept" "0 $ma" \
    "$(sdp a-200 video.port audio.port)"
check_journal "journal: room-create room=800" room-create room=800
check_journal "journal: room-join of 1001, participant 1, PCMA" room-join room=800 user=1001 \
    participant=1 codec=PCMA "call=$(sipp_callid a)"
check_journal "journal: room-join of 1002, participant 2" room-join room=800 user=1002 participant=2
check_eq "journal: one room-create for two joins" 1 "$(journal_count room-create room=800)"
if rooms_are "[('800', 2)]"; then
	pass "sipctl --json rooms: room 800 with 2 participants"
else
	fail "sipctl --json rooms: room 800 with 2 participants" "$(sipctl --json rooms 2>&1)"
fi
out=$(sipctl rooms 2>&1)
if printf '%s\n' "$out" | grep -qE '^ *800 +2 '; then
	pass "sipctl rooms (the table): 800 with 2 participants"
else
	fail "sipctl rooms (the table): 800 with 2 participants" "$out"
fi

# ----------------------------------------------------------- audio (2)
probe send sock=a to=$M:$ma ssrc=0xA0000001 pt=8 count=0 tone=$FREQ tag=tone > /dev/null
sleep 0.4
window 1 a b
check_tone_window "1002 hears 1001's $FREQ Hz tone (decoded PCMA from mediad)" b tone-b
check_silent_window "1001 does not hear itself: RTP from mediad, silent (N-1)" a tone-a

# ------------------------------------------------------------ mute (6)
mute mute 1 True		# by id
sleep 0.3
window 1 b
check_silent_window "1001 muted: 1002 still gets RTP, silent" b mute-b
mute unmute 1001 False		# by user
sleep 0.3
window 1 b
check_tone_window "1001 unmuted: 1002 hears the tone again" b unmute-b

# ------------------------------------------------------------ DTMF (12)
# 1002 presses 5 and # while 1001's tone goes on: 1001 hears only 1002,
# so anything of the DTMF in the mix would be all it hears
since[a]=$(probe mark sock=a | json_print "j['mark']")
probe send sock=b to=$M:$mb kind=dtmf ssrc=0xB0000001 pt=101 event=5 count=8 seq=100 ts=8000 tag=d5 > /dev/null
probe_done d5
probe send sock=b to=$M:$mb kind=dtmf ssrc=0xB0000001 pt=101 event=11 count=8 seq=108 ts=9600 tag=d11 > /dev/null
probe_done d11
sleep 0.3
until[a]=$(probe mark sock=a | json_print "j['mark']")
check_silent_window "1002's DTMF is not mixed: 1001 hears silence while 1002 presses 5 and #" a dtmf-a
n5=$(grep -c "room 800: participant 2 pressed 5" "$MEDIAD_LOG")
nh=$(grep -c "room 800: participant 2 pressed #" "$MEDIAD_LOG")
check_eq "mediad logs 'participant 2 pressed 5' and 'pressed #', once each (3 end packets each)" "1 1" "$n5 $nh"

# ------------------------------------------------------------ hold (7)
poke a 2 || exit 1
wait_trace a 3 sent '^ACK' || fail "1001's re-INVITE (sendonly): 200, ACK" "$(sipp_diag a)"
save_msg a-hold a recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 2
check_eq "1001 holds (re-INVITE a=sendonly): 200 with a=recvonly, same port" "recvonly $ma" \
    "$(sdp a-hold audio.dir audio.port)"
check_shown held True
sleep 0.3
window 1 a b
check_silent_window "1001 on hold, still sending its tone: 1002 hears silence" b hold-b
out=$(probe got sock=a since=${since[a]})
if printf '%s' "$out" | json_test "j['rtp'] == 0"; then
	pass "1001 on hold gets no RTP from mediad"
else
	fail "1001 on hold gets no RTP from mediad" "probe: $out"
fi
mark_a=$(probe mark sock=a | json_print "j['mark']")
poke a 3 || exit 1
wait_trace a 4 sent '^ACK' || fail "1001's re-INVITE (sendrecv): 200, ACK" "$(sipp_diag a)"
save_msg a-resume a recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 3
check_eq "1001 resumes (re-INVITE a=sendrecv): 200 with a=sendrecv, same port" "sendrecv $ma" \
    "$(sdp a-resume audio.dir audio.port)"
sleep 0.3
window 1 b
check_tone_window "1001 resumed: 1002 hears the tone again" b resume-b
out=$(probe got sock=a since=$mark_a)
if printf '%s' "$out" | json_test "
j['rtp'] >= 25 and j['markers'] == [0] and list(j['ts_steps']) == ['160'] and list(j['seq_steps']) == ['1']"; then
	pass "1001 resumed gets RTP again, the marker bit on the first packet only"
else
	fail "1001 resumed gets RTP again, the marker bit on the first packet only" "probe: $out"
fi

# ------------------------------------------------- room limit -> 486 (3)
ctl_ok room limit 800 2
room_phone full 1003 800 $X_IP $px "8" "a=rtpmap:8 PCMA/8000"
check_refused "a third phone gets 486 from the full room" full 486
check_eq "the 486 carries sip.reason_phrases' text" "SIP/2.0 486 $PHRASE_486" \
    "$(head -n 1 "$T/msg/full-final" | tr -d '\r')"
ctl_ok room limit 800 0

# -------------------------------------------------- room max -> 503 (4)
ctl_ok room max 1
room_phone max 1005 801 $X_IP $px "8" "a=rtpmap:8 PCMA/8000"
check_refused "with room max 1 and room 800 up, room 801 answers 503" max 503
check_trace "the 503 has Retry-After" max recv '^SIP/2.0 503' '^Retry-After: *[0-9]+'
ctl_ok room max 0
room_phone r801 1005 801 $X_IP $px "8" "a=rtpmap:8 PCMA/8000"
joined "room max 0: room 801 takes 1005 (200, ACK)" r801
check_journal "journal: room-create room=801" room-create room=801
poke r801 2 || exit 1
sipp_wait r801
check_sipp "1005 leaves room 801: BYE, 200" r801 $?
check_journal "journal: its last participant gone, room-delete room=801" room-delete room=801

# ----------------------------------------------------------- EVS (8)
room_phone evs 1003 802 $X_IP $px "96" "a=rtpmap:96 EVS/16000"
check_refused "an EVS-only offer gets 488" evs 488
check_trace "the 488 has a Warning header" evs recv '^SIP/2.0 488' '^Warning: *3[0-9][0-9] '
check_no_journal "journal: no room-create for room 802" room-create room=802
check_no_journal "journal: no room-join for the EVS phone" room-join "call=$(sipp_callid evs)"

# ------------------------------------------------------ AMR phones (11)
room_phone wb 1003 800 $WB_IP $pw "96" "a=rtpmap:96 AMR-WB/16000"
joined "1003 dials room 800 with AMR-WB, bandwidth-efficient (no fmtp)" wb
room_phone nb 1004 800 $NB_IP $pn "97" "a=rtpmap:97 AMR/8000\na=fmtp:97 octet-align=1"
joined "1004 dials room 800 with AMR, octet-aligned" nb
save_msg wb-200 wb recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
save_msg nb-200 nb recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
if [ "$(sdp wb-200 audio.fmts)" = 96 ] && grep -q '^a=rtpmap:96 AMR-WB/16000' "$T/msg/wb-200" &&
    ! grep -qi 'octet-align=1' "$T/msg/wb-200"; then
	pass "1003's answer: AMR-WB/16000 on 96, without octet-align=1"
else
	fail "1003's answer: AMR-WB/16000 on 96, without octet-align=1" "$(cat "$T/msg/wb-200")"
fi
if [ "$(sdp nb-200 audio.fmts)" = 97 ] && grep -q '^a=rtpmap:97 AMR/8000' "$T/msg/nb-200" &&
    grep -q '^a=fmtp:97.*octet-align=1' "$T/msg/nb-200"; then
	pass "1004's answer: AMR/8000 on 97 with octet-align=1"
else
	fail "1004's answer: AMR/8000 on 97 with octet-align=1" "$(cat "$T/msg/nb-200")"
fi
check_journal "journal: room-join of 1003, participant 3, AMR-WB" room-join room=800 user=1003 \
    participant=3 codec=AMR-WB
check_journal "journal: room-join of 1004, participant 4, AMR" room-join room=800 user=1004 \
    participant=4 codec=AMR
sleep 0.5
window 1.5 wb nb
# amr_heard NAME CODEC FORMAT PT EXT — NAME's window through amrdepack and ffmpeg
amr_heard() {
	local name=$1 base=$T/$1-amr out
	out=$(probe save sock=$name since=${since[$name]} until=${until[$name]} pt=$4 fmt=hex path="$base.hex")
	if ! "$AMRDEPACK" "$2" "$3" < "$base.hex" > "$base.$5" 2> "$base.err" ||
	    ! ffmpeg -nostdin -v error -y -i "$base.$5" "$base.wav" 2>> "$base.err"; then
		fail "$name's $2 payloads: amrdepack $2 $3 and ffmpeg decode them" "probe: $out" "$(cat "$base.err")"
		return 1
	fi
	check_tone "$name ($2, $3) hears the $FREQ Hz tone: ffmpeg's decoding of what it got" \
	    "$base.wav" $FREQ 1.2
}
if command -v ffmpeg > /dev/null; then
	amr_heard wb AMR-WB be 96 awb
	amr_heard nb AMR octet 97 amr
else
	skip "AMR-WB and AMR tones decoded by ffmpeg" "ffmpeg not installed"
fi
for p in wb:96 nb:97; do
	out=$(probe got sock=${p%%:*})
	if printf '%s' "$out" | json_test "list(j['pts']) == ['${p#*:}'] and j['markers'] == [0]"; then
		pass "${p%%:*} gets RTP with its payload type ${p#*:} only, the marker on the first"
	else
		fail "${p%%:*} gets RTP with its payload type ${p#*:} only, the marker on the first" "probe: $out"
	fi
done
probe stop tag=tone > /dev/null

# 1002's stream from the start: what a phone's jitter buffer relies on
out=$(probe got sock=b)
if printf '%s' "$out" | json_test "
j['rtp'] > 200 and j['pts'] == {'8': j['rtp']} and j['sources'] == {'$M:$mb': j['pkts']}
and j['markers'] == [0] and j['seq_steps'] == {'1': j['rtp'] - 1} and j['ts_steps'] == {'160': j['rtp'] - 1}"; then
	pass "1002's RTP from mediad's $M:$mb: pt 8, seq +1, timestamp +160, marker on the first packet only"
else
	fail "1002's RTP from mediad's $M:$mb: pt 8, seq +1, timestamp +160, marker on the first packet only" \
	    "probe: $out"
fi

# ------------------------------------------------------------ kick (5)
ctl_ok room kick 800 1002		# by user
sipp_wait b
check_sipp "1002 gets a BYE from sipd and answers 200" b $?
check_trace "the BYE comes in 1002's dialog" b recv '^BYE' "^Call-ID: *$(sipp_callid b)"
check_journal "journal: room-kick room=800 user=1002 participant=2 by=admin" room-kick room=800 \
    user=1002 participant=2 by=admin
ctl_ok room kick 800 3		# by id
sipp_wait wb
check_sipp "1003 (participant 3) gets a BYE from sipd and answers 200" wb $?
check_journal "journal: room-kick room=800 user=1003 participant=3 by=admin" room-kick room=800 \
    user=1003 participant=3 by=admin
# sipctl_fails DESC STATUS REGEX ARGS... — sipctl ARGS exits STATUS, saying REGEX on stderr
sipctl_fails() {
	local desc=$1 want=$2 rx=$3 err rc
	shift 3
	err=$(sipctl "$@" 2>&1 > /dev/null)
	rc=$?
	if [ $rc -eq "$want" ] && printf '%s' "$err" | grep -qiE -- "$rx"; then
		pass "$desc"
	else
		fail "$desc" "sipctl $*: exit $rc, stderr: $err"
	fi
}
sipctl_fails "sipctl room kick 898 1: exit 1, no such room" 1 'no such room' room kick 898 1
sipctl_fails "sipctl room kick 800 1002 again: exit 1, no such participant" 1 'no participant' \
    room kick 800 1002
sipctl_fails "sipctl room kick 800 99: exit 1, no such participant" 1 'no participant' room kick 800 99
sipctl_fails "sipctl room mute 800 99: exit 1, no such participant" 1 'no participant' room mute 800 99
sipctl_fails "sipctl room kick 800 (no participant): usage, exit 2" 2 'usage|room kick' room kick 800
sipctl_fails "sipctl room mute (no arguments): usage, exit 2" 2 'usage|room mute' room mute
sipctl_fails "sipctl room limit 800 (no number): usage, exit 2" 2 'usage|room limit' room limit 800

# ---------------------------------------------------------- leave (1)
poke nb 2 || exit 1
sipp_wait nb
check_sipp "1004 hangs up: BYE, 200" nb $?
check_journal "journal: room-leave room=800 user=1004 by=participant" room-leave room=800 user=1004 \
    by=participant
if wait_until 30 rooms_are "[('800', 1)]"; then
	pass "after the first BYE room 800 is still up, with 1 participant"
else
	fail "after the first BYE room 800 is still up, with 1 participant" "$(sipctl --json rooms 2>&1)"
fi
check_no_journal "journal: no room-delete room=800 yet" room-delete room=800
poke a 4 || exit 1
sipp_wait a
check_sipp "1001, the last one, hangs up: BYE, 200" a $?
check_journal "journal: room-leave room=800 user=1001" room-leave room=800 user=1001 by=participant
check_journal "journal: room-delete room=800 after the last leave" room-delete room=800
if wait_until 30 rooms_are "[]"; then
	pass "sipctl --json rooms is empty afterwards"
else
	fail "sipctl --json rooms is empty afterwards" "$(sipctl --json rooms 2>&1)"
fi
out=$(sipctl rooms 2>&1)
if [ $? -eq 0 ] && ! printf '%s\n' "$out" | grep -qE '^ *800 '; then
	pass "sipctl rooms (the table) lists no room 800"
else
	fail "sipctl rooms (the table) lists no room 800" "$out"
fi

# ---------------------------------------------------------- CANCEL (9)
# mediad stopped: sipd's ROOM_JOIN waits (its timeout is 2 s), so the
# CANCEL comes before any 200
kill -STOP "${_mediad_pid[m1]}"
room_phone cancel 1005 803 $X_IP $px "8" "a=rtpmap:8 PCMA/8000"
poke cancel 2 recv '^SIP/2.0 100'
sipp_wait cancel
rc=$?
kill -CONT "${_mediad_pid[m1]}"
# (a 200 before the poke would take sipp into the room, and out by BYE)
if [ $rc -eq 0 ] && [ "$(trace_count cancel recv '^SIP/2.0 487')" = 1 ] &&
    [ "$(trace_count cancel recv '^SIP/2.0 200')" = 1 ]; then
	pass "CANCEL while mediad is asked: 200 for the CANCEL, 487 for the INVITE, ACK"
else
	fail "CANCEL while mediad is asked: 200 for the CANCEL, 487 for the INVITE, ACK" "$(sipp_diag cancel)"
fi
check_no_journal "journal: no room-join for the cancelled call" room-join "call=$(sipp_callid cancel)"

# mediad stopped past sipd's 2 s: the phone gets 503, and the join mediad
# takes when it runs again must be undone (no participant left behind
# that nobody ends, holding ports and sending RTP to that phone)
kill -STOP "${_mediad_pid[m1]}"
room_phone late 1005 803 $X_IP $px "8" "a=rtpmap:8 PCMA/8000"
check_refused "mediad silent for 2 s: the INVITE to room 803 gets 503" late 503
kill -CONT "${_mediad_pid[m1]}"
check_no_journal "journal: no room-create for room 803" room-create room=803
check_no_journal "journal: no room-join for the refused call" room-join "call=$(sipp_callid late)"
all_free() {
	sipctl --json status 2>/dev/null | json_test "
any(n['node'] == 'm1' and n['live'] is True and n['free'] == 20 for n in j['media_nodes'])"
}
if wait_until 50 rooms_are "[]" && wait_until 50 all_free; then
	pass "sipctl rooms empty after both, m1 live with all 20 port pairs free (mediad's late join undone)"
else
	fail "sipctl rooms empty after both, m1 live with all 20 port pairs free (mediad's late join undone)" \
	    "$(sipctl --json rooms 2>&1)" "$(sipctl --json status 2>&1)"
fi

# the same, but stopped past the 3 s heartbeat: sipd takes the node for
# dead, and when it answers again with the same instance sipd sends it
# NODE_RESET, which frees the join it still had queued
kill -STOP "${_mediad_pid[m1]}"
room_phone dead 1005 804 $X_IP $px "8" "a=rtpmap:8 PCMA/8000"
check_refused "mediad stopped past the heartbeat: the INVITE to room 804 gets 503" dead 503
sleep 2
kill -CONT "${_mediad_pid[m1]}"
if wait_until 50 rooms_are "[]" && wait_until 50 all_free &&
    wait_until 50 grep -q "reset by sipd" "${_mediad_log[m1]}"; then
	pass "node back with the same instance: NODE_RESET frees the queued join (all 20 pairs free)"
else
	fail "node back with the same instance: NODE_RESET frees the queued join (all 20 pairs free)" \
	    "$(sipctl --json status 2>&1)" "$(tail -n 5 "${_mediad_log[m1]}")"
fi

check "the journal parses" $SIPMSG journal "$JOURNAL" check
sipd_alive
stop_mediad m1
stop_sipd
done_testing
