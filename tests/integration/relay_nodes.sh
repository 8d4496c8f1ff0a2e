#!/bin/bash
# relay_nodes.sh — relay mode when mediad is missing, full, killed or
# restarted, and with two mediad nodes.  sipp phones (audio only); asserted
# on what the phones get, the journal, and sipctl status:
#   - no mediad: the INVITE gets 503 with Retry-After, the callee nothing,
#     journal call-fail status=503; sipctl status shows the endpoint not live
#   - rtp_ports of 2 pairs: one call fills them, the next gets 503; when
#     the first ends its ports are free and a new call works
#   - mediad killed (SIGKILL) mid-call: sipd keeps running (same PID,
#     answers OPTIONS), both phones get a BYE, journal call-end by=timeout
#     reason=media-lost, status shows the node not live, new calls get 503
#   - mediad restarted (a new instance) mid-call: the same, then new calls
#     work on the new instance
#   - two nodes (control.media a list): two calls go one to each, their
#     SDP naming the node's media.advertise or else media.bind address;
#     killing one node ends only its call; a new call goes to the other
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp

EP=ipc://$T/media.sock
relay_config --pairs 2 --timeout 60
start_sipd || exit 1
SIPD_PID0=$SIPD_PID

# no_invite NAME — the callee sipp NAME got no INVITE; it is stopped
no_invite() {
	local n
	n=$(trace_count "$1" recv '^INVITE')
	kill "${_sipp_pid[$1]}" 2>/dev/null
	wait "${_sipp_pid[$1]}" 2>/dev/null
	[ "$n" = 0 ]
}

# call_503 TAG USER DESC — a call to USER (a registered sipp phone) that
# must get 503 with Retry-After, the callee nothing, journal call-fail
call_503() {
	local tag=$1 user=$2 desc=$3
	phone "$tag-callee" "$user" uas_answer.xml || return 1
	sipp_run "$tag" --to "$user" --sub STATUS=503 uac_fail.xml
	check_sipp "$desc: the caller gets 503 (and ACKs it)" "$tag" $?
	check_trace "$desc: the 503 carries Retry-After" "$tag" recv '^SIP/2.0 503' '^Retry-After: *[0-9]+'
	if no_invite "$tag-callee"; then
		pass "$desc: the callee gets no INVITE"
	else
		fail "$desc: the callee gets no INVITE" "$(sipp_diag "$tag-callee")"
	fi
	check_journal "$desc: journal call-fail status=503" call-fail "call=$(sipp_callid "$tag")" status=503
}

# node_live NODE true|false — sipctl status says so
node_live() {
	sipctl --json status 2>/dev/null |
	    json_test "any(n.get('node') == '$1' and n.get('live') is $2 for n in j['media_nodes'])"
}

# ------------------------------------------------------------ no mediad
json=$(sipctl --json status 2>&1)
if printf '%s' "$json" | json_test "
[n['live'] for n in j['media_nodes'] if n.get('endpoint') == '$EP'] == [False]"; then
	pass "no mediad: sipctl status lists the endpoint $EP, not live"
else
	fail "no mediad: sipctl status lists the endpoint $EP, not live" "$json"
fi
call_503 nomedia 1002 "no mediad"

# ------------------------------------------------- ports run out, come back
start_mediad m1 || exit 1
phone full1-callee 1002 uas_answer.xml || exit 1
sipp_start full1 uac_call_wait_bye.xml
cid1=$(sipp_callid full1)
check_journal "2 port pairs: the first call is answered" call-answer "call=$cid1" media=relay
if sipctl --json status | json_test "any(n['node'] == 'm1' and n['free'] == 0 and n['sessions'] == 1 for n in j['media_nodes'])"; then
	pass "sipctl status: m1 has 1 session and 0 port pairs free"
else
	fail "sipctl status: m1 has 1 session and 0 port pairs free" "$(sipctl --json status 2>&1)"
fi
call_503 full2 1003 "ports exhausted"
sipctl call hangup "$cid1" > /dev/null 2>&1
sipp_wait full1
check_sipp "the first call is hung up (sipctl call hangup): the caller gets BYE" full1 $?
sipp_wait full1-callee
check_sipp "the first call is hung up: the callee gets BYE" full1-callee $?
m1_free() {
	sipctl --json status 2>/dev/null | json_test "any(n['node'] == 'm1' and n['free'] == 2 for n in j['media_nodes'])"
}
if wait_until 100 m1_free; then
	pass "after the call ends m1 has its 2 port pairs free again"
else
	fail "after the call ends m1 has its 2 port pairs free again" "$(sipctl --json status 2>&1)"
fi
phone full3-callee 1003 uas_answer.xml || exit 1
phone again-callee 1002 uas_answer.xml || exit 1
sipp_start full3 --to 1003 uac_call.xml -d 1000
sipp_wait full3
check_sipp "a new call gets the freed ports: 200, ACK, BYE" full3 $?
sipp_wait full3-callee
check_sipp "the new call's callee gets INVITE, ACK, BYE" full3-callee $?
save_msg full3-inv full3-callee recv '^INVITE'
p=$(sdp full3-inv audio.port)
if in_media_range "$p"; then
	pass "the new call is relayed (the callee's SDP names mediad port $p)"
else
	fail "the new call is relayed (the callee's SDP names a mediad port)" "$(cat "$T/msg/full3-inv")"
fi
# the very next call, made as soon as that one has ended (its callee
# registered beforehand): its ports are free at once
sipp_run again uac_call.xml -d 200
rc=$?
check_sipp "a call made right after the call holding all ports ended is answered: 200, ACK, BYE" again $rc ||
    diag "journal:" "$(grep -F -e "$(sipp_callid full3)" -e "$(sipp_callid again)" "$JOURNAL")"
if [ $rc -eq 0 ]; then
	sipp_wait again-callee
	check_sipp "that call's callee gets INVITE, ACK, BYE" again-callee $?
else
	kill "${_sipp_pid[again-callee]}" 2>/dev/null
	wait "${_sipp_pid[again-callee]}" 2>/dev/null
fi
if wait_until 100 m1_free; then
	pass "m1 has its 2 port pairs free again"
else
	fail "m1 has its 2 port pairs free again" "$(sipctl --json status 2>&1)"
fi

# ----------------------------------------------- mediad killed mid-call
phone kill-callee 1002 uas_answer.xml || exit 1
sipp_start kill uac_call_wait_bye.xml
cid=$(sipp_callid kill)
check_journal "a call is answered" call-answer "call=$cid"
kill_mediad m1
sipp_wait kill
check_sipp "mediad killed (SIGKILL) mid-call: the caller gets a BYE from sipd" kill $?
sipp_wait kill-callee
check_sipp "mediad killed mid-call: the callee gets a BYE from sipd" kill-callee $?
check_journal "journal: call-end by=timeout reason=media-lost" call-end "call=$cid" by=timeout reason=media-lost
if [ "$SIPD_PID" = "$SIPD_PID0" ] && kill -0 "$SIPD_PID" 2>/dev/null &&
    $SIPMSG ping 127.0.0.1 "$SIPD_PORT" > /dev/null 2>&1; then
	pass "sipd is still running (same PID $SIPD_PID) and answers OPTIONS"
else
	fail "sipd is still running (same PID) and answers OPTIONS" "$(tail -n 30 "$SIPD_LOG")"
fi
if wait_until 100 node_live m1 False; then
	pass "sipctl status shows m1 not live"
else
	fail "sipctl status shows m1 not live" "$(sipctl --json status 2>&1)"
fi
call_503 dead 1002 "m1 dead"

# ---------------------------------------------- mediad restarted mid-call
start_mediad m1 || exit 1
phone re-callee 1002 uas_answer.xml || exit 1
sipp_start re uac_call_wait_bye.xml
cid=$(sipp_callid re)
check_journal "a call on the restarted m1 is answered" call-answer "call=$cid" media=relay
kill_mediad m1
start_mediad m1 || exit 1
sipp_wait re
check_sipp "mediad restarted mid-call: the caller gets a BYE from sipd" re $?
sipp_wait re-callee
check_sipp "mediad restarted mid-call: the callee gets a BYE from sipd" re-callee $?
check_journal "journal: call-end by=timeout reason=media-lost" call-end "call=$cid" by=timeout reason=media-lost
phone after-callee 1002 uas_answer.xml || exit 1
sipp_run after uac_call.xml -d 200
check_sipp "a new call on the new instance: 200, ACK, BYE" after $?
sipp_wait after-callee
check_sipp "the new call's callee gets INVITE, ACK, BYE" after-callee $?
check_journal "journal: the new call is relayed and ends by=caller" call-end "call=$(sipp_callid after)" by=caller
sipd_alive
stop_mediad m1
stop_sipd

# ------------------------------------------------------------ two nodes
# m1 binds 127.0.0.1 and advertises 127.0.0.6 (as a server behind a NAT
# would); m2 binds 127.0.0.4 and advertises nothing: phones must be told
# the node's advertised address, else its bind address.  (No RTP flows
# in this part.)
relay_config "$T/m1.conf" --pairs 4 --node m1 --endpoint "\"ipc://$T/m1.sock\"" --advertise 127.0.0.6
lo1=$MEDIA_LO hi1=$MEDIA_HI
relay_config "$T/m2.conf" --pairs 4 --node m2 --endpoint "\"ipc://$T/m2.sock\"" --bind 127.0.0.4
lo2=$MEDIA_LO hi2=$MEDIA_HI
declare -A addr_of=([m1]=127.0.0.6 [m2]=127.0.0.4)
relay_config --pairs 4 --endpoint "[ \"ipc://$T/m1.sock\", \"ipc://$T/m2.sock\" ]"
start_sipd || exit 1
start_mediad m1 "$T/m1.conf" || exit 1
start_mediad m2 "$T/m2.conf" || exit 1
if sipctl --json status | json_test "
sorted((n['node'], n['endpoint'], n['live']) for n in j['media_nodes']) ==
[('m1', 'ipc://$T/m1.sock', True), ('m2', 'ipc://$T/m2.sock', True)]"; then
	pass "two nodes: sipctl status lists m1 and m2 with their endpoints, both live"
else
	fail "two nodes: sipctl status lists m1 and m2 with their endpoints, both live" "$(sipctl --json status 2>&1)"
fi

# node_of LABEL — m1 or m2, from the mediad port in a saved INVITE's SDP
node_of() {
	local p
	p=$(sdp "$1" audio.port)
	if [ "$p" -ge "$lo1" ] && [ "$p" -le "$hi1" ]; then
		echo m1
	elif [ "$p" -ge "$lo2" ] && [ "$p" -le "$hi2" ]; then
		echo m2
	else
		echo "none ($p)"
	fi
}
phone a-callee 1002 uas_answer.xml || exit 1
sipp_start a uac_call_wait_bye.xml
acid=$(sipp_callid a)
check_journal "two nodes: call A is answered" call-answer "call=$acid"
phone b-callee 1004 uas_answer.xml || exit 1
sipp_start b --user 1003 --to 1004 uac_call_wait_bye.xml
bcid=$(sipp_callid b)
check_journal "two nodes: call B is answered" call-answer "call=$bcid"
save_msg a-inv a-callee recv '^INVITE'
save_msg b-inv b-callee recv '^INVITE'
na=$(node_of a-inv)
nb=$(node_of b-inv)
if [ "$na" != "$nb" ] && [ "${na%% *}" != none ] && [ "${nb%% *}" != none ]; then
	pass "two nodes: the two calls go to different nodes (A on $na, B on $nb)"
else
	fail "two nodes: the two calls go to different nodes" "A on $na, B on $nb" "$(sipctl --json status 2>&1)"
fi
check_eq "two nodes: the SDPs name each node's address (m1 advertises 127.0.0.6, m2 binds 127.0.0.4)" \
    "${addr_of[$na]:-?} ${addr_of[$na]:-?} ${addr_of[$nb]:-?} ${addr_of[$nb]:-?}" \
    "$(sdp a-inv c audio.addr) $(sdp b-inv c audio.addr)"
if sipctl --json status | json_test "sorted(n['sessions'] for n in j['media_nodes']) == [1, 1]"; then
	pass "two nodes: sipctl status shows 1 session on each"
else
	fail "two nodes: sipctl status shows 1 session on each" "$(sipctl --json status 2>&1)"
fi
rows=$(media_rows "$acid")
if printf '%s' "$rows" | json_test "len(j) > 0 and all(r.get('node') == '$na' for r in j)"; then
	pass "two nodes: sipctl media stats names call A's node ($na) on its rows"
else
	fail "two nodes: sipctl media stats names call A's node ($na) on its rows" "$rows"
fi

kill_mediad "$na"
sipp_wait a
check_sipp "two nodes: $na killed: call A's caller gets a BYE" a $?
sipp_wait a-callee
check_sipp "two nodes: $na killed: call A's callee gets a BYE" a-callee $?
check_journal "two nodes: call A ends by=timeout reason=media-lost" call-end "call=$acid" by=timeout reason=media-lost
if wait_until 100 node_live "$na" False; then
	pass "two nodes: sipctl status shows $na not live"
else
	fail "two nodes: sipctl status shows $na not live" "$(sipctl --json status 2>&1)"
fi
if ! journal_has call-end "call=$bcid" && call_listed "$bcid" && kill -0 "${_sipp_pid[b]}" 2>/dev/null; then
	pass "two nodes: call B on $nb is still up"
else
	fail "two nodes: call B on $nb is still up" "$(grep -F "$bcid" "$JOURNAL")"
fi
phone c-callee 1002 uas_answer.xml || exit 1
sipp_start c uac_call_wait_bye.xml
ccid=$(sipp_callid c)
check_journal "two nodes: a new call C is answered while $na is dead" call-answer "call=$ccid" media=relay
save_msg c-inv c-callee recv '^INVITE'
check_eq "two nodes: call C goes to the live node" "$nb" "$(node_of c-inv)"
for x in b c; do
	sipctl call hangup "$(sipp_callid $x)" > /dev/null 2>&1
	sipp_wait $x
	check_sipp "two nodes: call ${x^^} hung up by sipctl: the caller gets BYE" $x $?
	sipp_wait $x-callee
	check_sipp "two nodes: call ${x^^} hung up by sipctl: the callee gets BYE" $x-callee $?
done

sipd_alive
stop_mediad "$nb"
stop_sipd
done_testing
