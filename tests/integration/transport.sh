#!/bin/bash
# transport.sh — sipd's transports beyond IPv4 and small datagrams:
#   (a) IPv6: sipd listens on udp and tcp [::1] beside 127.0.0.1 (same
#       port).  OPTIONS to [::1] over UDP and TCP gets 200; REGISTER with
#       digest auth from [::1] over UDP and over TCP gets 200 and the
#       journal's register line has the phone's address in IPv6 form
#       ([::1]:port); a call between sipp phones on [::1] (callee
#       registered from [::1]) goes through — 180, 200, ACK, BYE — with
#       call-start, call-answer and call-end in the journal, and the
#       Record-Route the callee sees names sipd as [::1], in brackets.
#   (b) RFC 3261 18.1.1: a request sipd forwards that is larger than
#       SIPD_UDP_MAX (1300 bytes) to a next hop reached over UDP goes over
#       TCP to the same address, its top Via saying TCP.  The callee is
#       dualphone.py, which listens on UDP and TCP on one 127.0.0.1 port
#       and registers over UDP; a sipp caller sends an INVITE with a ~2 kB
#       SDP (scenarios/uac_call_big.xml): the callee must get it over TCP
#       (and never over UDP), top Via SIP/2.0/TCP, and the call completes
#       (200 at the caller, ACK, BYE, call-answer and call-end).  Control:
#       an ordinary small INVITE to the same callee arrives over UDP.
set -u
. "$(dirname "$0")/lib.sh"
need sipp

# ------------------------------------------------------------ helpers

# _v6 — turns the sipp command lib.sh built in _cmd into an IPv6 one:
# -i ::1, and sipd (the remote host of a UAC) at [::1]:$SIPD_PORT
_v6() {
	local i
	for i in "${!_cmd[@]}"; do
		case ${_cmd[$i]} in
		127.0.0.1) _cmd[i]=::1 ;;
		"127.0.0.1:$SIPD_PORT") _cmd[i]="[::1]:$SIPD_PORT" ;;
		esac
	done
}

# sipp6_run / sipp6_start NAME [opts] SCENARIO [sipp args] — sipp_run and
# sipp_start of lib.sh, on [::1]
sipp6_run() { SIPP_CMD_HOOK=_v6 sipp_run "$@"; }
sipp6_start() { SIPP_CMD_HOOK=_v6 sipp_start "$@"; }

# register6 NAME USER --port P [--tcp] [--contact C] [--expires N] — a
# digest-authenticated REGISTER from [::1] (lib.sh's register, on IPv6);
# the default contact is <sip:USER@[::1]:P;transport=UDP|TCP>
register6() {
	local name=$1 user=$2 port="" tcp="" contact="" expires=600 tr=UDP
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--port) port=$2; shift 2 ;;
		--tcp) tcp=--tcp; tr=TCP; shift ;;
		--contact) contact=$2; shift 2 ;;
		--expires) expires=$2; shift 2 ;;
		*) echo "register6: unknown option $1" >&2; return 2 ;;
		esac
	done
	[ -n "$port" ] || port=$(free_port)
	[ -n "$contact" ] || contact="<sip:$user@[::1]:$port;transport=$tr>"
	SIPP_AUTH_URI=$DOMAIN sipp6_run "$name" --port "$port" $tcp --user "$user" \
	    --sub FINAL=200 register.xml -key expires "$expires" -key contact "$contact"
}

# check_ping DESC HOST [--tcp] — sipmsg.py's OPTIONS to sipd gets 200
check_ping() {
	local desc=$1 out
	shift
	out=$($SIPMSG ping "$@" "$SIPD_PORT" --timeout 2 2>&1)
	case $out in
	"SIP/2.0 200"*) pass "$desc" ;;
	*) fail "$desc" "answer: ${out:-none}" "$(tail -n 20 "$SIPD_LOG")" ;;
	esac
}

# ---------------------------------------------------------------- sipd

write_config
sed -i "s|\"tcp:127.0.0.1:$SIPD_PORT\" \]|\"tcp:127.0.0.1:$SIPD_PORT\", \"udp:[::1]:$SIPD_PORT\", \"tcp:[::1]:$SIPD_PORT\" ]|" "$CONF"
if ! grep -qF "\"udp:[::1]:$SIPD_PORT\", \"tcp:[::1]:$SIPD_PORT\"" "$CONF"; then
	echo "Bail out! could not add the [::1] listen addresses to $CONF"
	exit 1
fi
have_v6=1
$PYTHON -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' \
    2> /dev/null || have_v6=0
if [ $have_v6 = 0 ]; then
	# no ::1 on this host (not sipd's fault): test the rest without it
	sed -i "s|, \"udp:\[::1\]:$SIPD_PORT\", \"tcp:\[::1\]:$SIPD_PORT\"||" "$CONF"
fi
start_sipd || done_testing

rx_run=${RUN_ID//./\\.}

# ================================================================ (a) IPv6
if [ $have_v6 = 0 ]; then
	skip "IPv6 tests" "no ::1 on this host"
else
	if ss -Huln "( sport = :$SIPD_PORT )" | grep -qF "[::1]:$SIPD_PORT" &&
	    ss -Htln "( sport = :$SIPD_PORT )" | grep -qF "[::1]:$SIPD_PORT"; then
		pass "sipd listens on udp and tcp [::1]:$SIPD_PORT"
	else
		fail "sipd listens on udp and tcp [::1]:$SIPD_PORT" "$(ss -Htuln "( sport = :$SIPD_PORT )")" \
		    "$(grep -i 'transport' "$SIPD_LOG" | tail -n 10)"
	fi

	# ------------------------------------------------------------ OPTIONS
	check_ping "OPTIONS to [::1] over UDP gets 200" ::1
	check_ping "OPTIONS to [::1] over TCP gets 200" ::1 --tcp
	sipp6_run opt6 options.xml
	check_sipp "sipp OPTIONS from [::1] to sipd at [::1] gets 200" opt6 $?

	# --------------------------------------------------------- REGISTER
	P6U=$(free_port)
	register6 reg6-udp 1001 --port "$P6U"
	check_sipp "REGISTER 1001 over UDP to [::1]: 401, then 200" reg6-udp $?
	check_trace "the 200 lists the [::1] contact" \
	    reg6-udp recv '^SIP/2.0 200' "^Contact:.*sip:1001@\[::1\]:${P6U}[;>]"
	check_journal "journal: register user=1001 addr=[::1]:$P6U (UDP)" register user=1001 \
	    "addr=[::1]:$P6U" "contact~.*sip:1001@\[::1\]:$P6U;transport=UDP.*"

	P6T=$(free_port)
	register6 reg6-tcp 1001 --port "$P6T" --tcp
	check_sipp "REGISTER 1001 over TCP to [::1]: 401, then 200" reg6-tcp $?
	check_journal "journal: register user=1001 with an [::1] addr (TCP)" register user=1001 \
	    'addr~\[::1\]:[0-9]+' "contact~.*sip:1001@\[::1\]:$P6T;transport=TCP.*"
	diag "journal register lines: $(grep ' register ' "$JOURNAL" | tail -n 2)"

	# --------------------------------------------------------------- call
	register6 callee6-clear 1002 --contact '*' --expires 0
	check_sipp "1002's old bindings are removed (from [::1])" callee6-clear $?
	PC6=$(free_port)
	register6 callee6-reg 1002 --port "$PC6"
	check_sipp "callee 1002 registers from [::1]:$PC6" callee6-reg $?
	check_journal "journal: register user=1002 addr=[::1]:$PC6" register user=1002 "addr=[::1]:$PC6"
	sipp6_start callee6 --port "$PC6" --uas --user 1002 --to 1002 uas_answer.xml
	sipp6_run call6 uac_call.xml -d 300
	check_sipp "call over [::1] from 1001 to 1002: 407, 180, 200, ACK, BYE, 200" call6 $?
	sipp_wait callee6
	check_sipp "the [::1] callee gets INVITE, ACK and BYE" callee6 $?
	check_trace "the caller gets 180 Ringing over [::1]" call6 recv '^SIP/2.0 180' '^SIP/2.0 180 '
	check_trace "the caller gets 200 OK to its INVITE over [::1], Record-Route [::1]" \
	    call6 recv '^SIP/2.0 200' "^Record-Route:.*<sip:\[::1\]:$SIPD_PORT;([^>]*;)?lr(=on)?[;>]" \
	    --has '^CSeq:.*INVITE'
	check_trace "the callee gets the INVITE with sipd's top Via on [::1]" callee6 recv '^INVITE' \
	    "^Via: *SIP/2\.0/UDP \[::1\]:$SIPD_PORT;"
	check_trace "the Record-Route the callee sees names sipd as [::1] in brackets" \
	    callee6 recv '^INVITE' "^Record-Route:.*<sip:\[::1\]:$SIPD_PORT;([^>]*;)?lr(=on)?[;>]"
	check_trace "the callee gets the ACK" callee6 recv '^ACK' '^ACK '
	check_trace "the callee gets the BYE" callee6 recv '^BYE' '^BYE '
	check_journal "journal: call-start of the [::1] call from=1001 to=1002" call-start \
	    "call~call6\.$rx_run-1@.*" from=1001 to=1002
	check_journal "journal: call-answer of the [::1] call" call-answer "call~call6\.$rx_run-1@.*"
	check_journal "journal: call-end by=caller of the [::1] call" call-end \
	    "call~call6\.$rx_run-1@.*" by=caller
fi

# ============================================= (b) large request over TCP

# 1002's [::1] binding would fork the calls below: remove it (over IPv4)
register clear-1002 1002 --contact '*' --expires 0
check_sipp "1002's old bindings are removed" clear-1002 $?

PD=$(free_port)		# free on UDP and TCP
EV=$T/dualphone.events
: > "$EV"
$PYTHON "$IT_DIR/dualphone.py" --sipd "127.0.0.1:$SIPD_PORT" --port "$PD" --user 1002 \
    --domain "$DOMAIN" --calls 2 --timeout 60 --events "$EV" --trace "$T/dualphone.trace" \
    > "$T/dualphone.out" 2>&1 &
DP_PID=$!
_bg_pids+=("$DP_PID")

dp_registered() {
	grep -q '^registered\|^register-failed' "$EV" || ! kill -0 "$DP_PID" 2> /dev/null
}
wait_until 100 dp_registered
if grep -q '^registered status=200' "$EV"; then
	pass "dualphone (UDP+TCP on 127.0.0.1:$PD) registers 1002 over UDP with digest auth: 200"
else
	fail "dualphone (UDP+TCP on 127.0.0.1:$PD) registers 1002 over UDP with digest auth: 200" \
	    "$(cat "$EV" "$T/dualphone.out")" "$(tail -n 40 "$T/dualphone.trace" 2>/dev/null)"
fi
check_journal "journal: register user=1002 addr=127.0.0.1:$PD" register user=1002 \
    "addr=127.0.0.1:$PD" "contact~.*sip:1002@127\.0\.0\.1:$PD.*"

# dp_event REGEX — the callee's events file has a line matching REGEX
dp_event() {
	grep -qE -- "$1" "$EV"
}

# check_dp DESC REGEX — TAP line: the callee logged a matching event
check_dp() {
	if dp_event "$2"; then
		pass "$1"
	else
		fail "$1" "no line matching /$2/ in $EV:" "$(cat "$EV")"
		return 1
	fi
}

# dp_len CALL-ID — the byte length of the INVITE the callee got
dp_len() {
	grep -F " INVITE " "$EV" | grep -F "call=$1 " | sed -n 's/^recv [A-Z]* INVITE len=\([0-9]*\) .*/\1/p' |
	    head -n 1
}

# -------------------------------------------------------- large INVITE
sipp_run call-big uac_call_big.xml -d 300
check_sipp "large INVITE (~2 kB SDP) to 1002: 407, 180, 200, ACK, BYE, 200" call-big $?
cid_big=$(sipp_callid call-big)
cid_rx=$(printf '%s' "$cid_big" | sed 's/[.[\*^$]/\\&/g')
check_trace "the caller gets the callee's 200 OK for the large INVITE" call-big recv '^SIP/2.0 200' \
    '^SIP/2.0 200 ' --has '^CSeq:.*INVITE'
check_dp "the large INVITE reaches the callee over TCP" "^recv TCP INVITE len=[0-9]+ call=$cid_rx "
if dp_event "^recv UDP INVITE len=[0-9]+ call=$cid_rx "; then
	fail "the large INVITE is not sent over UDP" "$(grep -F "call=$cid_big " "$EV")" \
	    "$(grep -i 'over TCP\|udp send' "$SIPD_LOG" | tail -n 5)"
else
	pass "the large INVITE is not sent over UDP"
fi
check_dp "its top Via is SIP/2.0/TCP with sipd's address" \
    "^recv TCP INVITE len=[0-9]+ call=$cid_rx via=SIP/2\.0/TCP 127\.0\.0\.1:$SIPD_PORT;"
len_big=$(dp_len "$cid_big")
if [ -n "$len_big" ] && [ "$len_big" -gt 1300 ]; then
	pass "the forwarded INVITE is larger than SIPD_UDP_MAX (1300): $len_big bytes"
else
	fail "the forwarded INVITE is larger than SIPD_UDP_MAX (1300)" "length: ${len_big:-no INVITE}"
fi
check_dp "the callee's 200 went back on the TCP connection" "^sent TCP 200 INVITE call=$cid_rx\$"
check_dp "the callee gets the ACK for the large INVITE's 200" "^recv [A-Z]+ ACK len=[0-9]+ call=$cid_rx "
check_dp "the callee gets the BYE and answers 200" "^sent [A-Z]+ 200 BYE call=$cid_rx\$"
check_journal "journal: call-answer of the large call" call-answer "call=$cid_big" from=1001 to=1002
check_journal "journal: call-end by=caller of the large call" call-end "call=$cid_big" by=caller

# ------------------------------------------------ control: small INVITE
sipp_run call-small uac_call.xml -d 300
check_sipp "small INVITE to the same callee: 407, 180, 200, ACK, BYE, 200" call-small $?
cid_small=$(sipp_callid call-small)
cid_rx=$(printf '%s' "$cid_small" | sed 's/[.[\*^$]/\\&/g')
check_dp "the small INVITE reaches the callee over UDP" \
    "^recv UDP INVITE len=[0-9]+ call=$cid_rx via=SIP/2\.0/UDP 127\.0\.0\.1:$SIPD_PORT;"
len_small=$(dp_len "$cid_small")
if [ -n "$len_small" ] && [ "$len_small" -le 1300 ]; then
	pass "the small forwarded INVITE is within SIPD_UDP_MAX: $len_small bytes"
else
	fail "the small forwarded INVITE is within SIPD_UDP_MAX" "length: ${len_small:-no INVITE}"
fi
check_journal "journal: call-answer of the small call" call-answer "call=$cid_small"
check_journal "journal: call-end of the small call" call-end "call=$cid_small" by=caller

# the callee ends on its own after two complete calls
dp_gone() {
	! kill -0 "$DP_PID" 2> /dev/null
}
wait_until 100 dp_gone || kill -TERM "$DP_PID" 2> /dev/null
wait "$DP_PID"
dp_rc=$?
if [ $dp_rc -eq 0 ] && dp_event '^done calls=2$'; then
	pass "dualphone saw two complete calls (INVITE, 200, ACK, BYE) and exited 0"
else
	fail "dualphone saw two complete calls (INVITE, 200, ACK, BYE) and exited 0" \
	    "exit $dp_rc" "$(cat "$EV")" "$(cat "$T/dualphone.out")"
fi

sipd_alive
stop_sipd
done_testing
