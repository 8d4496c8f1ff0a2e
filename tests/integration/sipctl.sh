#!/bin/bash
# sipctl.sh — the admin CLI against a running sipd: registrations and calls
# as tables and as JSON (with the fields of docs/contract.md), status,
# `call hangup` ending a live call with a BYE to both phones (journal
# call-end by=admin), `recordings` (none here: no mediad records), and the
# exit status contract: 1 refused with a reason
# on stderr, 2 usage error, 3 sipd unreachable.
set -u
. "$(dirname "$0")/lib.sh"
need sipp
[ -x "$SIPCTL" ] || { echo "Bail out! $SIPCTL not built"; exit 1; }

write_config
start_sipd || done_testing

# json_check DESC JSON PYTHON-EXPR — TAP line: EXPR is true of the parsed
# JSON (bound to j); the JSON must parse with python3 -m json.tool first
json_check() {
	local desc=$1 json=$2 expr=$3 out
	if ! out=$(printf '%s' "$json" | $PYTHON -m json.tool 2>&1); then
		fail "$desc" "not JSON (python3 -m json.tool: $out):" "$json"
		return 1
	fi
	if out=$(printf '%s' "$json" | $PYTHON -c "
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if ($expr) else 1)" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "false: $expr" "json: $json" "$out"
		return 1
	fi
}

# ---------------------------------------------------------- registrations
P=$(free_port)
register reg-1001 1001 --port "$P"
check_sipp "1001 registers" reg-1001 $?

out=$(sipctl registrations 2>&1)
check_eq "sipctl registrations exits 0" 0 $?
if printf '%s\n' "$out" | grep -E "(^|[[:space:]])1001[[:space:]]" | grep -qF "sip:1001@127.0.0.1:$P"; then
	pass "sipctl registrations lists 1001 with its contact"
else
	fail "sipctl registrations lists 1001 with its contact" "$out"
fi

json=$(sipctl --json registrations 2>&1)
check_eq "sipctl --json registrations exits 0" 0 $?
json_check "registrations JSON: 1001 with contact, source, transport udp, expires_in" "$json" "
any(r.get('user') == '1001'
    and ':$P' in r.get('contact', '')
    and r.get('source', '').endswith(':$P')
    and r.get('transport') == 'udp'
    and isinstance(r.get('expires_in'), int) and 0 < r['expires_in'] <= 600
    for r in j['registrations'])"

out=$(sipctl status 2>&1)
check_eq "sipctl status exits 0" 0 $?
json=$(sipctl --json status 2>&1)
json_check "status JSON has a version, uptime and the counts" "$json" \
    "'version' in j and 'uptime' in j and j.get('registrations', 0) >= 1 and 'calls' in j"

# -------------------------------------------------------- a call, hung up
phone callee-h 1002 uas_answer.xml
sipp_start call-h uac_call_wait_bye.xml
cid=$(sipp_callid call-h)
check_journal "the call is answered" call-answer "call=$cid"

out=$(sipctl calls 2>&1)
check_eq "sipctl calls exits 0" 0 $?
if printf '%s\n' "$out" | grep -F "$cid" | grep -qw answered; then
	pass "sipctl calls shows the call in state answered"
else
	fail "sipctl calls shows the call in state answered" "$out"
fi
json=$(sipctl --json calls 2>&1)
check_eq "sipctl --json calls exits 0" 0 $?
json_check "calls JSON: call_id, from, to, state answered, since, media, recording" "$json" "
any(c.get('call_id') == '$cid'
    and c.get('from') == 'sip:1001@pbx.test' and c.get('to') == 'sip:1002@pbx.test'
    and c.get('state') == 'answered'
    and 'since' in c and c.get('media') == 'p2p' and 'recording' in c
    for c in j['calls'])"

out=$(sipctl call hangup "$cid" 2>&1)
check_eq "sipctl call hangup CALL-ID exits 0" 0 $? || diag "$out"
sipp_wait call-h
check_sipp "the caller gets a BYE from sipd and answers 200" call-h $?
sipp_wait callee-h
check_sipp "the callee gets a BYE from sipd and answers 200" callee-h $?
check_journal "journal: call-end by=admin" call-end "call=$cid" by=admin 'duration~[0-9]+\.[0-9]{3}'
no_call() {
	local o
	o=$(sipctl --json calls 2>&1) || return 1
	! printf '%s' "$o" | grep -qF "$1"
}
if wait_until 50 no_call "$cid"; then
	pass "the call is gone from sipctl calls"
else
	fail "the call is gone from sipctl calls" "$(sipctl --json calls 2>&1)"
fi

# ------------------------------------------------------------ recordings
# nothing is recorded here (no mediad): an empty list, as a table and as JSON
out=$(sipctl recordings 2>&1)
check_eq "sipctl recordings exits 0" 0 $? || diag "$out"
check_eq "sipctl recordings with none: the header alone" \
    "REC  KIND  TARGET  STATE  STARTED  SECONDS  FILES" "$out"
json=$(sipctl --json recordings 2>&1)
check_eq "sipctl --json recordings exits 0" 0 $?
json_check "recordings JSON: an empty list" "$json" "j == {'recordings': []}"
json=$(sipctl --json status 2>&1)
json_check "status JSON: each mediad node has recorder and recordings" "$json" "
len(j['media_nodes']) >= 1 and
all('recorder' in n and 'recordings' in n for n in j['media_nodes'])"

# ------------------------------------------------------------ exit codes
sipctl call hangup nosuch > "$T/nosuch.out" 2> "$T/nosuch.err"
check_eq "sipctl call hangup nosuch exits 1 (refused)" 1 $?
if [ -s "$T/nosuch.err" ]; then
	pass "the refusal gives a reason on stderr"
	diag "stderr: $(cat "$T/nosuch.err")"
else
	fail "the refusal gives a reason on stderr" "stderr was empty; stdout: $(cat "$T/nosuch.out")"
fi

sipctl bogus > "$T/bogus.out" 2> "$T/bogus.err"
check_eq "sipctl bogus exits 2 (usage)" 2 $?
if grep -qi usage "$T/bogus.err" "$T/bogus.out"; then
	pass "sipctl bogus prints the usage"
else
	fail "sipctl bogus prints the usage" "$(cat "$T/bogus.err" "$T/bogus.out")"
fi

"$SIPCTL" -s "ipc://$T/nobody-here.sock" status > "$T/dead.out" 2> "$T/dead.err"
check_eq "sipctl against an endpoint nobody serves exits 3" 3 $? || diag "$(cat "$T/dead.err")"

sipd_alive
stop_sipd
sipctl status > "$T/stopped.out" 2> "$T/stopped.err"
check_eq "sipctl against a stopped sipd exits 3" 3 $? || diag "$(cat "$T/stopped.err")"
done_testing
