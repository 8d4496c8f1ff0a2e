#!/bin/bash
# register.sh — sipd's registrar as a phone sees it: digest authentication
# (401 challenge, 403 for a wrong password or unknown user, 401 stale=true
# for an expired nonce, 403 for a replayed nonce-count), bindings (add,
# list two contacts, remove with Expires: 0, remove all with Contact: *,
# expiry, 423 below min_expires), OPTIONS to sipd, REGISTER over TCP, and
# the journal lines each of these writes (text and JSON formats).
set -u
. "$(dirname "$0")/lib.sh"
need sipp

write_config --min-expires 2
start_sipd || done_testing

# ---------------------------------------------------------------- OPTIONS
sipp_run options options.xml
check_sipp "OPTIONS to sipd gets 200" options $?

# ------------------------------------------------------- good registration
P1=$(free_port)
register reg-good 1001 --port "$P1" --expires 600
check_sipp "REGISTER 1001 with the right password: 401, then 200" reg-good $?
check_trace "the 401 challenges with Digest realm=\"pbx.test\" and qop=auth" \
    reg-good recv '^SIP/2.0 401' '^WWW-Authenticate:.*Digest.*realm="pbx\.test".*'
check_trace "the 401 offers qop auth and a nonce" \
    reg-good recv '^SIP/2.0 401' '^WWW-Authenticate:.*qop="?[^"]*auth.*nonce=|^WWW-Authenticate:.*nonce=.*qop="?[^"]*auth'
check_trace "the 200 lists the contact with an expires parameter" \
    reg-good recv '^SIP/2.0 200' "^Contact:.*sip:1001@127\.0\.0\.1:$P1[;>].*expires=[0-9]+"
check_journal "journal: register user=1001" register user=1001 \
    "contact~.*sip:1001@127\.0\.0\.1:$P1.*" "expires~[0-9]+"

# ------------------------------------------------------------ refusals
register reg-badpw 1001 --pass wrong-password --final 403
check_sipp "REGISTER 1001 with a wrong password: 401, then 403" reg-badpw $?
check_journal "journal: auth-fail user=1001 method=REGISTER" auth-fail user=1001 method=REGISTER

register reg-unknown 1999 --final 403
check_sipp "REGISTER of unknown user 1999: 401, then 403" reg-unknown $?
check_journal "journal: auth-fail user=1999" auth-fail user=1999

# nonce-count replay: the Authorization of an accepted REGISTER, sent again
# in a new transaction (same nonce, same nc)
P3=$(free_port)
register reg-first 1003 --port "$P3"
check_sipp "REGISTER 1003 (to capture its credentials)" reg-first $?
authz=$(sipp_trace reg-first sent '^REGISTER' --has '^Authorization:' | grep -i '^Authorization:' | tail -n 1)
if [ -z "$authz" ]; then
	fail "replayed credentials are refused with 403" "no Authorization header in $T/reg-first.msg"
else
	SIPP_AUTH_URI=$DOMAIN sipp_run reg-replay --port "$P3" --user 1003 register_replay.xml \
	    -key contact "<sip:1003@127.0.0.1:$P3;transport=UDP>" -key authz "$authz"
	check_sipp "replayed credentials (same nonce and nonce-count) are refused with 403" reg-replay $?
fi

# ------------------------------------------------------- two contacts
PA=$(free_port)
PB=$(free_port)
register reg-2a 1002 --port "$PA"
check_sipp "REGISTER 1002 from a first phone" reg-2a $?
register reg-2b 1002 --port "$PB"
check_sipp "REGISTER 1002 from a second phone" reg-2b $?
check_trace "the second 200 lists the first contact" \
    reg-2b recv '^SIP/2.0 200' "^Contact:.*sip:1002@127\.0\.0\.1:$PA[;>]"
check_trace "the second 200 lists the second contact" \
    reg-2b recv '^SIP/2.0 200' "^Contact:.*sip:1002@127\.0\.0\.1:$PB[;>]"

# ------------------------------------------------------------ unregister
register reg-unreg 1001 --port "$P1" --expires 0
check_sipp "REGISTER 1001 with Expires: 0 gets 200" reg-unreg $?
if sipp_trace reg-unreg recv '^SIP/2.0 200' | grep -qiE "^Contact:.*:$P1[;>]"; then
	fail "the 200 no longer lists the removed contact" "$(sipp_trace reg-unreg recv '^SIP/2.0 200')"
else
	pass "the 200 no longer lists the removed contact"
fi
check_journal "journal: unregister user=1001" unregister user=1001

# Contact: * with Expires: 0 removes both of 1002's bindings
register reg-star 1002 --contact '*' --expires 0
check_sipp "REGISTER 1002 with Contact: * and Expires: 0 gets 200" reg-star $?
if sipp_trace reg-star recv '^SIP/2.0 200' | grep -qiE "^Contact:.*sip:1002@"; then
	fail "the 200 lists no contact of 1002 any more" "$(sipp_trace reg-star recv '^SIP/2.0 200')"
else
	pass "the 200 lists no contact of 1002 any more"
fi
check_journal "journal: unregister of 1002's first contact" unregister user=1002 "contact~.*:$PA([;>].*)?"
check_journal "journal: unregister of 1002's second contact" unregister user=1002 "contact~.*:$PB([;>].*)?"

# ---------------------------------------------------------------- expiry
register reg-expire 1003 --expires 2
check_sipp "REGISTER 1003 for min_expires (2 s) gets 200" reg-expire $?
check_journal "journal: expire user=1003 once the binding runs out" expire user=1003

register reg-423 1004 --expires 1 --final 423
check_sipp "REGISTER 1004 with Expires: 1 (below min_expires 2) gets 423" reg-423 $?
check_trace "the 423 carries Min-Expires: 2" reg-423 recv '^SIP/2.0 423' '^Min-Expires: *2\s*$'

# ------------------------------------------------------------------ TCP
register reg-tcp 1005 --tcp
check_sipp "REGISTER 1005 over TCP: 401, then 200" reg-tcp $?
check_journal "journal: register user=1005 (TCP)" register user=1005

sipd_alive
stop_sipd

# ------------------------------------------ stale nonce, JSON journal
# A second sipd with a short nonce lifetime (the smallest sipd accepts)
# and the journal in JSON.
JOURNAL=$T/calls.json
write_config "$T/stale.conf" --nonce-ttl 5 --journal-format json
start_sipd "$T/stale.conf" || done_testing
register reg-json 1004
check_sipp "REGISTER 1004 (JSON journal)" reg-json $?
check_journal "JSON journal: register user=1004" register user=1004
check "every JSON journal line is an object with ts and event" $SIPMSG journal "$JOURNAL" check
check "JSON journal lines are JSON (python json.loads)" \
    $PYTHON -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$JOURNAL"

PS=$(free_port)
SIPP_AUTH_URI=$DOMAIN sipp_run reg-stale --port "$PS" --user 1001 --timeout 30 register_stale.xml \
    -key contact "<sip:1001@127.0.0.1:$PS;transport=UDP>" -d 6500
check_sipp "a nonce used after nonce_ttl gets 401 stale=true, the fresh one 200" reg-stale $?
stop_sipd

done_testing
