#!/bin/bash
# relay_kernel.sh — mediad's in-kernel forwarding (media.kernel, a tc BPF
# program on lo here; mediad(8) "In-kernel forwarding"), run as root
# (skipped otherwise, and when this kernel refuses the program: the reason
# is mediad's log line).  The daemons are started as root and drop to the
# user parley, as the init scripts run them: mediad loads the program as
# root and fills its table unprivileged.  sipp phones with rtpprobe.py
# sockets, rtp_timeout 3 s.
#   A  1001 -> 1002, both talk for 5 s (250 packets each way, 1002 skips
#      two sequence numbers): once both are latched, sipctl media stats
#      says path=kernel for both legs and sipctl status kernel=on with 2
#      legs; every packet reaches the other phone byte for byte from
#      mediad's port; the figures are whole (250 in, 248 in and 2 lost);
#      5 s of media in the kernel raise no RTP timeout, and the silence
#      afterwards does (both phones get sipd's BYE, call-end by=timeout
#      with caller_pkts=250 callee_pkts=248 callee_lost=2).
#   K  1003 -> 1004 in the kernel, then mediad is SIGKILLed: its keeper
#      (a child holding only CAP_NET_ADMIN) removes the program from lo
#      within 2 s, and nothing that 1003 sends reaches 1004 any more.
#   U  mediad restarted with media.kernel = false: 1001 -> 1002 is relayed
#      by mediad itself (path=user, kernel=off), every packet delivered.
#   W  mediad bound to 0.0.0.0 (advertising 127.0.0.1): the call goes into
#      the kernel all the same, every packet arrives from 127.0.0.1:port,
#      and the figures lose nothing (150 each way, 0 lost).
#   A second mediad with the same first RTP port takes over the tc slot;
#   m1's end leaves that program in place; its own end removes it.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need_root_user
need sipp

TMO=3
relay_config --pairs 10 --timeout $TMO --daemon 'daemon: { user = "parley"; };'
chgrp parley "$CONF"
chmod 0640 "$CONF"
start_sipd || exit 1
start_mediad m1 || exit 1
M=$MEDIA_IP

need_kernel "sipctl status: node m1 forwards in the kernel (kernel on, 0 legs)"
mpid=${_mediad_pid[m1]}
check_eq "mediad runs as parley, with no capability left" \
    "$PARLEY_UID $PARLEY_UID $PARLEY_UID $PARLEY_UID 0000000000000000 0000000000000000 0000000000000000" \
    "$(awk '/^Uid:/ { printf "%s %s %s %s ", $2, $3, $4, $5 } /^Cap(Prm|Eff|Amb):/ { printf "%s ", $2 }' \
    "/proc/$mpid/status" | sed 's/ $//')"
# the keeper: mediad's child that removes the filter when mediad ends
filter_on_lo() { tc filter show dev lo ingress 2>/dev/null | grep -q "pref $MEDIA_LO .*kfwd_ingress"; }
kpid=$(pgrep -P "$mpid" -x mediad-kfwd)
if [ -n "$kpid" ] && filter_on_lo; then
	pass "mediad's program is attached to lo (tc pref $MEDIA_LO) and its keeper runs (pid $kpid)"
else
	fail "mediad's program is attached to lo (tc pref $MEDIA_LO) and its keeper runs" \
	    "keeper: '${kpid}'" "$(tc filter show dev lo ingress 2>&1 | head -n 20)"
fi
check_eq "the keeper holds CAP_NET_ADMIN alone and no descriptor but its pipe (and stdio)" \
    "0000000000001000 0000000000001000 0000000000000000 0 1 2 pipe" \
    "$(awk '/^Cap(Prm|Eff|Amb):/ { printf "%s ", $2 }' "/proc/$kpid/status" 2>/dev/null)$(
    ls /proc/"$kpid"/fd 2>/dev/null | sort -n | awk '$1 > 2 { $1 = "pipe" } { printf "%s ", $1 }' | sed 's/ $//')"

a=$(free_port 2); b=$(free_port 2); ka=$(free_port 2); kb=$(free_port 2)
probe_start a=$CALLER_IP:$a ac=$CALLER_IP:$((a + 1)) b=$CALLEE_IP:$b bc=$CALLEE_IP:$((b + 1)) \
    ka=$CALLER_IP:$ka kac=$CALLER_IP:$((ka + 1)) kb=$CALLEE_IP:$kb kbc=$CALLEE_IP:$((kb + 1)) ||
    exit 1

# call NAME FROM TO A B — FROM calls TO (audio only) and both wait for
# sipd's BYE; sets CID and the mediad ports MA (facing FROM), MB
call() {
	local name=$1 from=$2 to=$3 pa=$4 pb=$5
	phone "$name-callee" "$to" relay_uas_bye.xml \
	    $(offer_keys 0 $CALLEE_IP $pb $((pb + 1)) 0 sendrecv) || return 1
	sipp_start "$name-caller" --user "$from" --to "$to" relay_uac_bye.xml \
	    $(offer_keys 0 $CALLER_IP $pa $((pa + 1)) 0 sendrecv)
	CID=$(sipp_callid "$name-caller")
	if ! wait_trace "$name-caller" 2 sent '^ACK'; then
		fail "call $name: $from calls $to in relay mode" "$(sipp_diag "$name-caller")" \
		    "$(sipp_diag "$name-callee")"
		return 1
	fi
	save_msg "$name-inv" "$name-callee" recv '^INVITE'
	save_msg "$name-200" "$name-caller" recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
	MB=$(sdp "$name-inv" audio.port)
	MA=$(sdp "$name-200" audio.port)
	pass "call $name: $from calls $to in relay mode (mediad ports $MA and $MB)"
}

# ------------------------------------------------ A: in the kernel, figures, timeout
call A 1001 1002 $a $b || exit 1
acid=$CID
probe send sock=a to=$M:$MA ssrc=0xA11CE001 count=250 tag=a > /dev/null
probe send sock=b to=$M:$MB ssrc=0xB0B00001 count=250 skip=100,200 tag=b > /dev/null
check_in_kernel "call A: once both phones are latched, media stats says path=kernel for both legs" "$acid"
wait_until 30 kernel_legs 2
check_eq "call A: sipctl status: kernel on, 2 legs in the kernel" '["on", 2]' "$(node_kernel)"
probe_done a b
check_relayed "call A: 1002 gets all 250 of 1001's packets unchanged, from mediad's $M:$MB" b a "$M:$MB"
check_relayed "call A: 1001 gets all 248 of 1002's packets unchanged, from mediad's $M:$MA" a b "$M:$MA"
check_no_journal "call A: 5 s of media forwarded in the kernel raise no RTP timeout ($TMO s)" \
    call-end "call=$acid"
rows=$(media_rows "$acid")
diag "media stats: $rows"
if printf '%s' "$rows" | json_test "
[c['pkts_in'] == 250 and c['bytes_in'] in (250 * 172, 250 * 160) and c['pkts_out'] == 248 and
c['lost'] == 0 and e['pkts_in'] == 248 and e['pkts_out'] == 250 and e['lost'] == 2 and
c['latched'] == '$CALLER_IP:$a' and e['latched'] == '$CALLEE_IP:$b' and
0 <= c['jitter_ms'] < 20 and 0 <= e['jitter_ms'] < 20
 for c in j if c['leg'] == 'caller' for e in j if e['leg'] == 'callee'] == [True]"; then
	pass "call A: media stats count what the kernel forwarded: 250 in / 248 out, 248 in / 250 out, 2 lost, jitter < 20 ms"
else
	fail "call A: media stats count what the kernel forwarded" "$rows"
fi
sipp_wait A-caller
check_sipp "call A: after the media stopped, 1001 gets sipd's BYE (RTP timeout)" A-caller $?
sipp_wait A-callee
check_sipp "call A: ... and 1002 too" A-callee $?
check_journal "call A: call-end by=timeout with the kernel's packet counts" call-end "call=$acid" \
    by=timeout caller_pkts=250 callee_pkts=248 caller_lost=0 callee_lost=2
d=$(journal_get call-end duration "call=$acid")
if awk -v d="${d:-0}" -v t=$TMO 'BEGIN { exit !(d >= 5 + t - 0.5) }'; then
	pass "call A: the call lasted the 5 s of media and then the timeout (duration $d s)"
else
	fail "call A: the call lasted the 5 s of media and then the timeout" "duration=${d:-none}"
fi
wait_until 30 kernel_legs 0
check_eq "call A: sipctl status: no leg left in the kernel" '["on", 0]' "$(node_kernel)"

# ------------------------------------------------ K: mediad killed
call K 1003 1004 $ka $kb || exit 1
kcid=$CID
probe send sock=ka to=$M:$MA ssrc=0x4A000001 count=0 tag=ka > /dev/null
probe send sock=kb to=$M:$MB ssrc=0x4B000001 count=0 tag=kb > /dev/null
check_in_kernel "call K: in the kernel (path=kernel both ways)" "$kcid"
kill_mediad m1
if wait_until 20 eval '! filter_on_lo'; then
	pass "call K: within 2 s of mediad's SIGKILL its keeper has removed the program from lo"
else
	fail "call K: within 2 s of mediad's SIGKILL its keeper has removed the program from lo" \
	    "$(tc filter show dev lo ingress 2>&1 | head -n 20)"
fi
mk=$(probe mark sock=kb | json_print "j['mark']")
sleep 2
out=$(probe got sock=kb ssrc=0x4A000001 since=$mk)
if printf '%s' "$out" | json_test "j['pkts'] == 0"; then
	pass "call K: after that, nothing 1003 sends reaches 1004 (no phantom forwarding)"
else
	fail "call K: after that, nothing 1003 sends reaches 1004 (no phantom forwarding)" "$out"
fi
probe stop tag=ka > /dev/null 2>&1
probe stop tag=kb > /dev/null 2>&1
sipp_wait K-caller
check_sipp "call K: sipd ends the call of the lost mediad (BYE to 1003)" K-caller $?
sipp_wait K-callee

# ------------------------------------------------ U: media.kernel = false
relay_config --pairs 10 --timeout $TMO --daemon 'daemon: { user = "parley"; };' --media-more '
  kernel = false;'
chgrp parley "$CONF"
chmod 0640 "$CONF"
start_mediad m1 || exit 1
kernel_off() { [ "$(node_kernel)" = '["off", 0]' ]; }
wait_until 50 kernel_off
check_eq "media.kernel = false: sipctl status says kernel off" '["off", 0]' "$(node_kernel)"
call U 1001 1002 $a $b || exit 1
ucid=$CID
mk_a=$(probe mark sock=a | json_print "j['mark']")
mk_b=$(probe mark sock=b | json_print "j['mark']")
probe send sock=a to=$M:$MA ssrc=0xA11CE002 count=100 interval=10 tag=ua > /dev/null
probe send sock=b to=$M:$MB ssrc=0xB0B00002 count=100 interval=10 tag=ub > /dev/null
probe_done ua ub
check_relayed "media.kernel = false: 1002 gets 1001's 100 packets from mediad's $M:$MB" b ua "$M:$MB" since=$mk_b
check_relayed "media.kernel = false: 1001 gets 1002's 100 packets from mediad's $M:$MA" a ub "$M:$MA" since=$mk_a
check_eq "media.kernel = false: media stats says path=user for both legs" "user user" "$(leg_paths "$ucid")"
sipp_wait U-caller
sipp_wait U-callee
check_journal "media.kernel = false: call-end by=timeout, 100 packets each way" call-end "call=$ucid" \
    by=timeout caller_pkts=100 callee_pkts=100

# ------------------------------------------------ W: bound to 0.0.0.0
stop_mediad m1
relay_config --pairs 10 --timeout $TMO --bind 0.0.0.0 --advertise $M \
    --daemon 'daemon: { user = "parley"; };'
chgrp parley "$CONF"
chmod 0640 "$CONF"
start_mediad m1 || exit 1
call W 1001 1002 $a $b || exit 1
wcid=$CID
mk_a=$(probe mark sock=a | json_print "j['mark']")
mk_b=$(probe mark sock=b | json_print "j['mark']")
probe send sock=a to=$M:$MA ssrc=0xA11CE003 count=150 tag=wa > /dev/null
probe send sock=b to=$M:$MB ssrc=0xB0B00003 count=150 tag=wb > /dev/null
check_in_kernel "media.bind 0.0.0.0: the call goes into the kernel too (path=kernel both ways)" "$wcid"
probe_done wa wb
check_relayed "media.bind 0.0.0.0: 1002 gets 1001's 150 packets from $M:$MB (the address it sends to)" \
    b wa "$M:$MB" since=$mk_b
check_relayed "media.bind 0.0.0.0: 1001 gets 1002's 150 packets from $M:$MA" a wb "$M:$MA" since=$mk_a
rows=$(media_rows "$wcid")
if printf '%s' "$rows" | json_test "sorted((r['pkts_in'], r['pkts_out'], r['lost']) for r in j) == [(150, 150, 0), (150, 150, 0)]"; then
	pass "media.bind 0.0.0.0: media stats 150 in and out each way, none lost (the packets userspace saw while the program learnt its way are counted)"
else
	fail "media.bind 0.0.0.0: media stats 150 in and out each way, none lost" "$rows"
fi
sipp_wait W-caller
sipp_wait W-callee
check_journal "media.bind 0.0.0.0: call-end by=timeout, 150 packets each way, none lost" call-end \
    "call=$wcid" by=timeout caller_pkts=150 callee_pkts=150 caller_lost=0 callee_lost=0

# ------------------------------------------------ the tc slot taken over
# a second mediad with the same first port (another control socket, not
# sipd's) replaces m1's program; m1's end must not remove it
prog_on_lo() { tc filter show dev lo ingress 2>/dev/null | sed -n "s/.*pref $MEDIA_LO .* id \([0-9]*\) name kfwd_ingress.*/\1/p"; }
id1=$(prog_on_lo)
sed -e 's|/media.sock"|/media2.sock"|' -e 's|node = "m1"|node = "m2"|' "$CONF" > "$T/m2.conf"
chgrp parley "$T/m2.conf"
chmod 0640 "$T/m2.conf"
"$MEDIAD" -f -c "$T/m2.conf" 2> "$T/mediad-m2.log" &
m2=$!
_bg_pids+=("$m2")
m2_attached() { id2=$(prog_on_lo); [ -n "$id2" ] && [ "$id2" != "$id1" ]; }
if wait_until 50 m2_attached; then
	pass "a second mediad with the same first RTP port takes over the tc slot on lo (program $id1 -> $id2)"
else
	fail "a second mediad with the same first RTP port takes over the tc slot on lo" \
	    "before: '$id1', now: '$(prog_on_lo)'" "$(tail -n 5 "$T/mediad-m2.log")"
fi
stop_mediad m1
sleep 1
check_eq "m1 ends: its keeper leaves the other mediad's program in place" "$id2" "$(prog_on_lo)"
kill -TERM "$m2"
wait "$m2"
no_prog() { [ -z "$(prog_on_lo)" ]; }
wait_until 20 no_prog
check_eq "the second mediad ends: its own keeper removes its program" "" "$(prog_on_lo)"

stop_sipd
done_testing
