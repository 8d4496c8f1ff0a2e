#!/bin/bash
# transfer.sh — call transfer (REFER, RFC 3515) through sipd.
#
# Blind transfer with real clients: three baresip 1.0 phones register as
# 1001, 1002 and 1003 with digest passwords; 1001 calls 1002, which
# answers on its own; 1002 transfers 1001 to sip:1003@pbx.test (baresip's
# menu command `transfer`, sent over ctrl_tcp): its REFER goes through
# sipd to 1001 (202, NOTIFY back), 1001 calls 1003 through sipd, 1003
# answers on its own, 1002 hangs up on 1001 when the NOTIFY says 200.
# Asserted on sipd's journal: call-transfer target=sip:1003@pbx.test for
# the first call, call-start/call-answer from 1001 to 1003 (a new Call-ID),
# call-end of both calls, no call-fail; on the phones (baresip -s traces):
# the REFER, 202, NOTIFY and new INVITE each reached the other side through
# sipd; and 1003's recording (sndfile module) is 1001's 440 Hz tone, so the
# transferred call carries audio.  baresip 1.0 puts no Referred-By in the
# INVITE that follows a REFER; the sipp part checks that header instead.
#
# Attended transfer with sipp: baresip 1.0 cannot do one (no attended
# transfer command, no Replaces support), so sipp plays the three phones,
# one instance per dialog, the test script acting as each phone's brain:
# A (1001) calls B (1002), B calls C (1003), B sends A a REFER whose
# Refer-To carries Replaces=<the B-C dialog>, A calls C through sipd with
# that Replaces header and Referred-By, C answers and BYEs its dialog with
# B, A sends B the final NOTIFY (sipfrag 200), B hangs up on A, A hangs up
# on C.  Asserted: the Refer-To reaches A, and the Replaces header C, as
# sent; the journal's call-transfer names sip:1003@pbx.test without the
# Replaces part; the A-C call starts, is answered and ends, and so do both
# old calls; every sipp instance runs to its end.
set -u
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/phones.sh"
need_phones
need sipp
BARESIP_TRACE=1		# the phone-side checks read baresip's SIP trace

write_config --media-mode p2p
start_sipd || exit 1

# ============================================================ blind: baresip

# Tones: 1001's lasts 10 s in each call (the first call is transferred
# well before it ends; the second call ends when it does, 1001 hanging
# up); 1002's and 1003's outlast the test.
sox -n -r 8000 -c 1 -b 16 "$T/a440.wav" synth 10 sine 440 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/b1000.wav" synth 90 sine 1000 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/c1500.wav" synth 90 sine 1500 vol 0.5 ||
    { fail "sox makes the test tones"; exit 1; }

# 14 ports per phone, as in baresip.sh: SIP, SIP + 1 (TLS), ctrl_tcp, and
# 10 for RTP/RTCP from an even port.
ports=$(free_port 42)

# bs_msg NAME (recv|sent) START_REGEX — the last SIP message phone NAME
# received (or sent) whose start line matches, from its -s trace
bs_msg() {
	local port
	port=$(eval echo "\$${1}_sip")
	$PYTHON - "$T/$1.log" "$2" "$3" "$port" <<'EOF'
import re, sys
path, way, start, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
text = open(path, encoding="utf-8", errors="replace").read()
text = text.replace("\033", "").replace("\r", "")
found, cur, mine = None, None, False
for line in text.split("\n"):
    m = re.match(r"^(UDP|TCP) (\S+):(\d+) -> (\S+):(\d+)$", line)
    if m:
        cur = []
        mine = (m.group(5) if way == "recv" else m.group(3)) == port
        continue
    if cur is None:
        continue
    if line.startswith("[;m"):
        if mine and cur and re.search(start, cur[0]):
            found = "\n".join(cur)
        cur = None
        continue
    cur.append(line)
if found is None:
    sys.exit(1)
print(found)
EOF
}

# check_bs DESC NAME (recv|sent) START_REGEX LINE_REGEX — the message has
# a line matching LINE_REGEX (grep -E, case-insensitive)
check_bs() {
	local desc=$1 msg
	if ! msg=$(bs_msg "$2" "$3" "$4"); then
		fail "$desc" "phone $2: no $3 message matching '$4'" "$(phone_diag "$2")"
		return 1
	fi
	if printf '%s\n' "$msg" | grep -qiE -- "$5"; then
		pass "$desc"
	else
		fail "$desc" "no line matching /$5/ in:" "$msg"
		return 1
	fi
}

phone_config alice 1001 "$T/a440.wav" manual "$ports"
phone_config bob 1002 "$T/b1000.wav" auto $((ports + 14))
phone_config carol 1003 "$T/c1500.wav" auto $((ports + 28))

JOURNAL_WAIT=20
start_phone bob
start_phone carol
start_phone alice
check_journal "baresip 1002 registers" register user=1002 || diag "$(phone_diag bob)"
check_journal "baresip 1003 registers" register user=1003 || diag "$(phone_diag carol)"
check_journal "baresip 1001 registers" register user=1001 || diag "$(phone_diag alice)"

if out=$(ctrl "$alice_ctrl" dial "sip:1002@$DOMAIN" 2>&1); then
	pass "baresip 1001 dials sip:1002@$DOMAIN (ctrl_tcp)"
else
	fail "baresip 1001 dials sip:1002@$DOMAIN (ctrl_tcp)" "$out" "$(phone_diag alice)"
fi
check_journal "journal: call-answer from 1001 to 1002" call-answer from=1001 to=1002 ||
    diag "$(phone_diag alice)" "$(phone_diag bob)"
call1=$(journal_get call-answer call from=1001 to=1002)

# 1002 transfers 1001 to 1003 (menu's call command `transfer`)
if out=$(ctrl "$bob_ctrl" transfer "sip:1003@$DOMAIN" 2>&1); then
	pass "baresip 1002 transfers the call to sip:1003@$DOMAIN (ctrl_tcp transfer)"
else
	fail "baresip 1002 transfers the call to sip:1003@$DOMAIN (ctrl_tcp transfer)" "$out" \
	    "$(phone_diag bob)"
fi
check_journal "journal: call-transfer of the first call, target=sip:1003@$DOMAIN" \
    call-transfer "call=${call1:-?}" "target~<?sip:1003@pbx\.test>?" ||
    diag "$(phone_diag bob)" "$(phone_diag alice)"
check_journal "journal: call-start from=1001 to=1003 (the transferee calls the target)" \
    call-start from=1001 to=1003 || diag "$(phone_diag alice)"
call2=$(journal_get call-start call from=1001 to=1003)
if [ -n "$call2" ] && [ "$call2" != "${call1:-}" ]; then
	pass "the transferred call is a new call (Call-ID $call2)"
else
	fail "the transferred call is a new call" "first: ${call1:-none}, second: ${call2:-none}"
fi
check_journal "journal: call-answer from 1001 to 1003 (1003 answers by itself)" \
    call-answer "call=${call2:-?}" from=1001 to=1003 || diag "$(phone_diag carol)"
check_journal "journal: the first call (1001-1002) ends" call-end "call=${call1:-?}" ||
    diag "$(phone_diag alice)" "$(phone_diag bob)"

check_journal "journal: 1002 hangs up the first call once the transfer succeeded (by=callee)" \
    call-end "call=${call1:-?}" by=callee

# The phones' side (baresip -s traces every SIP message)
check_bs "1001 gets the REFER through sipd, Refer-To: sip:1003@$DOMAIN" alice recv '^REFER ' \
    '^Refer-To: *<?sip:1003@pbx\.test>?'
check_bs "1002 gets 1001's 202 Accepted for the REFER" bob recv '^SIP/2.0 202' '^CSeq: .*REFER'
check_bs "1002 gets 1001's NOTIFY with sipfrag 200 OK (the new call is up)" bob recv '^NOTIFY ' \
    '^SIP/2.0 200'
check_bs "1001's INVITE to 1003 reaches 1003 through sipd" carol recv '^INVITE sip:1003' \
    "^Record-Route: *<sip:127\.0\.0\.1:$SIPD_PORT;"
if bs_msg alice sent '^INVITE sip:1003' | grep -qi '^Referred-By:'; then
	check_bs "1003 gets the Referred-By of 1001's INVITE" carol recv '^INVITE sip:1003' \
	    '^Referred-By:.*1002'
else
	diag "baresip 1.0 sends no Referred-By in the INVITE that follows a REFER (the sipp part checks it)"
fi

JOURNAL_WAIT=40
check_journal "journal: the transferred call ends (1001's 10 s tone runs out)" \
    call-end "call=${call2:-?}" || diag "$(phone_diag alice)" "$(phone_diag carol)"
check_no_journal "journal: no call-fail for either call" call-fail "call~(${call1:-?}|${call2:-?})"

check_heard carol "1003 heard 1001's 440 Hz tone in the transferred call" \
    "1003's recording of the transferred call"

kill -TERM "$alice_pid" "$bob_pid" "$carol_pid" 2>/dev/null
wait "$alice_pid" "$bob_pid" "$carol_pid" 2>/dev/null

# ========================================================= attended: sipp
#
# sipp plays one dialog per instance, so each phone's brain is here: the
# test starts the instances in order and "pokes" an instance that must act
# on what another one saw with an OPTIONS carrying the instance's Call-ID,
# sent straight to its port (never through sipd; not answered).
#
#   ta1  A (1001) calls B          D1   xfer_a_call.xml
#   tb1  B (1002) answers A        D1   xfer_b_answer.xml
#   tb2  B calls C (1003)          D2   uac_call_wait_bye.xml
#   tc   C answers B, then A       D2, D3   xfer_c.xml (-m 2)
#   ta3  A calls C with Replaces   D3   xfer_a_replaces.xml

# poke NAME CALL-ID [HEADER-LINE] — the OPTIONS to sipp instance NAME
poke() {
	printf 'OPTIONS sip:poke@127.0.0.1:%s SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-poke-%s\nFrom: <sip:poke@127.0.0.1>;tag=poke%s\nTo: <sip:poke@127.0.0.1>\nCall-ID: %s\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n%sContent-Length: 0\n\n' \
	    "$(sipp_port "$1")" "$RANDOM$RANDOM" "$RANDOM" "$2" "${3:+$3
}" | $SIPMSG send 127.0.0.1 "$(sipp_port "$1")" - --timeout 0.1 > /dev/null 2>&1
	return 0
}

# wait_trace NAME (recv|sent) START_REGEX [--has REGEX]... — until sipp
# instance NAME's trace has such a message (sipp writes it as it goes)
wait_trace() {
	wait_until 150 sipp_trace "$@"
}

# header NAME (recv|sent) START_REGEX HEADER [--has ...] — the value of
# HEADER in that message
header() {
	local name=$1 dir=$2 start=$3 h=$4
	shift 4
	sipp_trace "$name" "$dir" "$start" "$@" |
	    sed -n "s/^${h}[ \t]*:[ \t]*//Ip" | head -n 1 | tr -d '\r'
}

# rx TEXT — TEXT as an extended regular expression matching itself
rx() {
	printf '%s' "$1" | sed 's/[]\\.*?+(){}|^$[]/\\&/g'
}

# tag HEADER-VALUE — its tag parameter
tag() {
	printf '%s\n' "$1" | sed -n 's/.*;[ \t]*tag=\([^;> \t]*\).*/\1/p'
}

cid1=$(sipp_callid ta1)
cid2=$(sipp_callid tb2)
cid3=$(sipp_callid ta3)

phone tb1 1002 xfer_b_answer.xml || done_testing
phone tc 1003 xfer_c.xml -m 2 || done_testing
sipp_start ta1 --to 1002 xfer_a_call.xml
check_journal "attended: A (1001) calls B (1002), B answers" call-answer "call=$cid1" \
    from=1001 to=1002 || diag "$(sipp_diag ta1)" "$(sipp_diag tb1)"
sipp_start tb2 --user 1002 --to 1003 uac_call_wait_bye.xml
check_journal "attended: B (1002) calls C (1003), C answers" call-answer "call=$cid2" \
    from=1002 to=1003 || diag "$(sipp_diag tb2)" "$(sipp_diag tc)"

# B refers A to C, replacing B's dialog with C (RFC 3891: to-tag is C's,
# from-tag B's, as in D2's own To and From)
wait_trace tb2 recv '^SIP/2.0 200' --has '^CSeq:.*INVITE'
ok_hdr=$(header tb2 recv '^SIP/2.0 200' To --has '^CSeq:.*INVITE')
inv_hdr=$(header tb2 sent '^INVITE' From)
d2_to=$(tag "$ok_hdr")
d2_from=$(tag "$inv_hdr")
replaces="$cid2;to-tag=$d2_to;from-tag=$d2_from"
refer_to="<sip:1003@$DOMAIN?Replaces=$($PYTHON -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$replaces")>"
diag "B's Refer-To: $refer_to"
wait_trace tb1 recv '^ACK'
poke tb1 "$cid1" "X-Refer-To: $refer_to"

check_journal "attended: journal: call-transfer of A-B, target sip:1003@$DOMAIN (no Replaces)" \
    call-transfer "call=$cid1" "target=sip:1003@$DOMAIN" ||
    diag "$(grep -F "$cid1" "$JOURNAL")" "$(sipp_diag tb1)" "$(sipp_diag ta1)"
check_trace "attended: the REFER reaches A with the Refer-To and its Replaces unchanged" \
    ta1 recv '^REFER' "^Refer-To: *$(rx "$refer_to")\$"
check_trace "attended: the REFER reaches A with Referred-By" ta1 recv '^REFER' \
    '^Referred-By: *<sip:1002@pbx\.test>'

# A calls C with what the REFER said: Replaces from the Refer-To's
# header part, Referred-By as received
got_rt=$(header ta1 recv '^REFER' Refer-To)
got_rb=$(header ta1 recv '^REFER' Referred-By)
rep=$($PYTHON -c '
import re, sys, urllib.parse as u
m = re.search(r"[?&]Replaces=([^&>]*)", sys.argv[1], re.I)
print(u.unquote(m.group(1)) if m else "")' "$got_rt")
if [ "$rep" = "$replaces" ]; then
	pass "attended: A decodes Replaces: $rep"
else
	fail "attended: A decodes the Replaces B sent" "expected: $replaces" "     got: $rep" \
	    "Refer-To: $got_rt"
fi
sipp_start ta3 --to 1003 xfer_a_replaces.xml -d 500 -key replaces "${rep:-none}" \
    -key referred_by "${got_rb:-<sip:1002@$DOMAIN>}"
check_journal "attended: journal: call-start from=1001 to=1003 for A's new call" \
    call-start "call=$cid3" from=1001 to=1003 || diag "$(sipp_diag ta3)"
check_journal "attended: journal: call-answer of A's new call" call-answer "call=$cid3" \
    from=1001 to=1003 || diag "$(sipp_diag ta3)" "$(sipp_diag tc)"
check_trace "attended: the INVITE reaches C with the Replaces header unchanged" \
    tc recv '^INVITE' "^Replaces: *$(rx "$replaces")\$" \
    --has "^Call-ID: *$cid3"
check_trace "attended: the INVITE reaches C with Referred-By" tc recv '^INVITE' \
    '^Referred-By: *<sip:1002@pbx\.test>' --has "^Call-ID: *$cid3"
check_trace "attended: the INVITE reaches C through sipd (Record-Route)" tc recv '^INVITE' \
    "^Record-Route:.*<sip:127\.0\.0\.1:$SIPD_PORT;" --has "^Call-ID: *$cid3"

# C ends the replaced dialog with B; A tells B the transfer worked; B
# hangs up on A; A hangs up on C after its pause
wait_trace tc recv '^ACK' --has "^Call-ID: *$cid2"
poke tc "$cid2"
check_journal "attended: journal: C's BYE ends B-C (call-end by=callee)" call-end "call=$cid2" \
    by=callee || diag "$(sipp_diag tc)" "$(sipp_diag tb2)"
wait_trace ta1 recv '^SIP/2.0 200' --has '^CSeq:.*NOTIFY'
poke ta1 "$cid1"
check_journal "attended: journal: B's BYE ends A-B (call-end by=callee)" call-end "call=$cid1" \
    by=callee || diag "$(sipp_diag ta1)" "$(sipp_diag tb1)"
check_journal "attended: journal: A's BYE ends A-C (call-end by=caller)" call-end "call=$cid3" \
    by=caller || diag "$(sipp_diag ta3)" "$(sipp_diag tc)"
for n in ta1 tb1 tb2 ta3 tc; do
	sipp_wait $n
	rc=$?
	check_sipp "attended: sipp $n ($(sed -n 's/.*<scenario name="\([^"]*\)".*/\1/p' "$T/$n.xml")) ran to its end" \
	    $n $rc
done
check_trace "attended: B gets A's final NOTIFY (sipfrag 200 OK)" tb1 recv '^NOTIFY' \
    '^SIP/2.0 200 OK' --has '^Subscription-State: *terminated'
check_no_journal "attended: journal: no call-fail" call-fail "call~($cid1|$cid2|$cid3)"

sipd_alive
stop_sipd
done_testing
