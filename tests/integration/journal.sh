#!/bin/bash
# journal.sh — the call journal as operators and their scripts read it
# (docs/contract.md, "Call journal"):
#   (a) format = "json": a registration, an answered call, a failed call
#       whose Call-ID holds '"' and '\', an unregistration — one JSON object
#       per line, "ts" (ISO 8601 UTC with milliseconds, Z) and "event"
#       first, the contract's keys for each event, expires and duration
#       (and status) as JSON numbers, the odd Call-ID intact;
#   (b) SIGHUP reopens the journal: after `mv calls.log calls.log.1` and
#       HUP, every earlier line is in calls.log.1, unchanged, and every
#       later one in a new calls.log;
#   (c) logrotate under load: 200 REGISTERs at 100/s while the journal is
#       rotated twice (mv + HUP): across the files there is exactly one
#       whole, parseable register line per REGISTER sipd answered 200 —
#       none lost, none twice, none split;
#   (d) text format: values with a space, '=', '"' or '\' are written in
#       double quotes with '"' and '\' escaped (auth-fail
#       reason="wrong password", a contact with ;transport=, that Call-ID)
#       and read back as they were.
set -u
. "$(dirname "$0")/lib.sh"
need sipp

# the odd Call-ID: RFC 3261's "word" allows '"' and '\'
ODD_CID='odd"quo\te.'"$RUN_ID"'@127.0.0.1'

# ------------------------------------------------------------ (a) JSON
write_config --journal-format json
start_sipd || done_testing

phone callee-a 1002 uas_answer.xml
sipp_run call-a uac_call.xml -d 300
check_sipp "json: an answered call from 1001 to 1002" call-a $?
sipp_wait callee-a
cid_a=$(sipp_callid call-a)
sipp_run call-odd --to 1999 --sub STATUS=404 uac_fail.xml -cid_str "$ODD_CID"
check_sipp "json: a call to unknown 1999 with Call-ID $ODD_CID gets 404" call-odd $?
register unreg-a 1002 --contact '*' --expires 0
check_sipp "json: 1002 unregisters (Contact: *)" unreg-a $?
check_journal "json: call-end of the answered call is there" call-end "call=$cid_a"
check_journal "json: call-fail of the odd call is there" call-fail status=404
check_journal "json: unregister of 1002 is there" unregister user=1002

# check_json FILE ODD_CID — every line is one JSON object as the
# contract says; prints what is wrong, exit 1 if anything is
check_json() {
	$PYTHON - "$@" <<'EOF'
import json, re, sys
path, odd = sys.argv[1], sys.argv[2]
need = {
    "register": ["user", "contact", "addr", "expires"],
    "unregister": ["user", "contact", "addr"],
    "call-start": ["call", "from", "to", "media"],
    "call-ringing": ["call", "from", "to"],
    "call-answer": ["call", "from", "to"],
    "call-end": ["call", "from", "to", "by", "duration"],
    "call-fail": ["call", "from", "to", "status"],
}
numeric = {"expires", "duration", "status"}
bad, seen = [], {}
raw = open(path, "rb").read()
if not raw.endswith(b"\n"):
    bad.append("the file does not end with a newline")
for no, line in enumerate(raw.decode("utf-8").split("\n")[:-1], 1):
    try:
        pairs = json.loads(line, object_pairs_hook=lambda p: p)
    except ValueError as e:
        bad.append("line %d: not JSON (%s): %s" % (no, e, line))
        continue
    if not isinstance(pairs, list):
        bad.append("line %d: not an object: %s" % (no, line))
        continue
    keys = [k for k, _ in pairs]
    obj = dict(pairs)
    if len(keys) != len(obj):
        bad.append("line %d: a key twice: %s" % (no, line))
    if keys[:2] != ["ts", "event"]:
        bad.append("line %d: does not start with ts, event: %s" % (no, line))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(obj.get("ts"))):
        bad.append("line %d: ts %r is not UTC with milliseconds" % (no, obj.get("ts")))
    ev = obj.get("event")
    seen[ev] = seen.get(ev, 0) + 1
    for k in need.get(ev, []):
        if k not in obj:
            bad.append("line %d: %s without %s: %s" % (no, ev, k, line))
    for k, v in obj.items():
        if k in numeric:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                bad.append("line %d: %s is %r, not a JSON number" % (no, k, v))
        elif not isinstance(v, str):
            bad.append("line %d: %s is %r, not a string" % (no, k, v))
    if ev == "call-end" and not re.search(r'"duration":\d+\.\d{3}[,}]', line):
        bad.append("line %d: duration not written with 3 decimals: %s" % (no, line))
    if ev == "call-fail" and obj.get("call") != odd and "odd" in str(obj.get("call")):
        bad.append("line %d: the odd Call-ID came back as %r, not %r" % (no, obj.get("call"), odd))
for ev in ("register", "unregister", "call-start", "call-ringing", "call-answer", "call-end",
           "call-fail"):
    if ev not in seen:
        bad.append("no %s line at all" % ev)
if not any(True for l in raw.decode().split("\n") if l and json.loads(l).get("call") == odd):
    bad.append("no line with call=%r" % odd)
print("\n".join(bad) if bad else "events: %s" % seen)
sys.exit(1 if bad else 0)
EOF
}
if out=$(check_json "$JOURNAL" "$ODD_CID" 2>&1); then
	pass "json: every line is one JSON object with ts (UTC, ms, Z), event and the contract's keys"
	diag "$out"
else
	fail "json: every line is one JSON object with ts (UTC, ms, Z), event and the contract's keys" \
	    "$out" "--- $JOURNAL:" "$(cat "$JOURNAL")"
fi
exp=$(grep '"event":"register"' "$JOURNAL" | grep -o '"expires":[^,}]*' | head -n 1)
check_eq "json: expires is a bare number" '"expires":600' "$exp"
stop_sipd

# ------------------------------------------------ (b) SIGHUP reopens
JSON_LOG=$T/calls.json.log
mv "$JOURNAL" "$JSON_LOG"
write_config
start_sipd || done_testing

for u in 1001 1002 1003; do
	register reg-b$u $u > /dev/null
done
check_journal "hup: three registrations journaled before the rotation" register user=1003
n_before=$(wc -l < "$JOURNAL")
cp "$JOURNAL" "$T/before-mv.log"
mv "$JOURNAL" "$JOURNAL.1"
kill -HUP "$SIPD_PID"
if wait_until 50 test -e "$JOURNAL"; then
	pass "hup: sipd opens a new calls.log on SIGHUP"
else
	fail "hup: sipd opens a new calls.log on SIGHUP" "$(tail -n 20 "$SIPD_LOG")"
fi
sipd_alive
for u in 1004 1005; do
	register reg-b$u $u > /dev/null
done
check_journal "hup: registrations after the HUP go to the new calls.log" register user=1005
if cmp -s "$T/before-mv.log" "$JOURNAL.1"; then
	pass "hup: calls.log.1 holds exactly the $n_before lines written before the mv"
else
	fail "hup: calls.log.1 holds exactly the $n_before lines written before the mv" \
	    "$(diff "$T/before-mv.log" "$JOURNAL.1")"
fi
new_events=$(sed -n 's/^[^ ]* \([a-z-]*\) user=\([0-9]*\) .*/\1 \2/p' "$JOURNAL" | tr '\n' ,)
check_eq "hup: the new calls.log holds exactly the 2 later registrations" \
    "register 1004,register 1005," "$new_events"

# ------------------------------------------- (c) rotation under load
# 200 REGISTERs for 1003 at 100/s, each a new Call-ID (so each is a
# journaled register) with its own Expires, 1 followed by the call number:
# every line names its REGISTER.
register_load load 1003 200 100
lport=$LOAD_PORT
load_pid=${_sipp_pid[load]}

# load_lines FILE — the load's register lines in FILE
load_lines() {
	grep -c " register user=1003 .*:$lport;transport=UDP" "$1" 2>/dev/null
}
# enough FILE N — N load lines in FILE, or the load is over
enough() {
	[ "$(load_lines "$1")" -ge "$2" ] || ! kill -0 "$load_pid" 2>/dev/null
}
wait_until 100 enough "$JOURNAL" 30
mv "$JOURNAL" "$JOURNAL.2"
kill -HUP "$SIPD_PID"
wait_until 50 test -e "$JOURNAL"
wait_until 100 enough "$JOURNAL" 30
mv "$JOURNAL" "$JOURNAL.3"
kill -HUP "$SIPD_PID"
wait_until 50 test -e "$JOURNAL"
sipp_wait load
check_sipp "load: 200 REGISTERs, each answered 200" load $?
sipd_alive
diag "load lines per file: .2: $(load_lines "$JOURNAL.2"), .3: $(load_lines "$JOURNAL.3"), calls.log: $(load_lines "$JOURNAL")"

# What sipd answered 200 (distinct Call-IDs: retransmitted 200s count once),
# against what the journal files hold, line by line.
out=$($SIPMSG load-check "$T/load.msg" "$lport" 1003 "$JOURNAL.1" "$JOURNAL.2" "$JOURNAL.3" "$JOURNAL")
if [ $? -eq 0 ]; then
	pass "load: one register line per 200 OK across calls.log.2, .3 and calls.log, none twice"
	diag "$out"
else
	fail "load: one register line per 200 OK across calls.log.2, .3 and calls.log, none twice" "$out"
fi
for f in "$JOURNAL.1" "$JOURNAL.2" "$JOURNAL.3" "$JOURNAL"; do
	check "load: every line of $(basename "$f") is a whole journal line" \
	    $SIPMSG journal "$f" check
done

# ------------------------------------------ (d) text values, quoted
register badpw 1001 --pass wrong --final 403 > /dev/null
check_sipp "text: REGISTER with a wrong password gets 403" badpw $?
check_journal "text: auth-fail for it" auth-fail user=1001 method=REGISTER
if grep -q ' auth-fail user=1001 .*reason="wrong password"' "$JOURNAL"; then
	pass 'text: the reason with a space is quoted: reason="wrong password"'
else
	fail 'text: the reason with a space is quoted: reason="wrong password"' \
	    "$(grep auth-fail "$JOURNAL")"
fi
check_eq "text: ... and reads back as: wrong password" "wrong password" \
    "$(journal_get auth-fail reason user=1001)"

sipp_run call-odd-t --to 1999 --sub STATUS=404 uac_fail.xml -cid_str "$ODD_CID"
check_sipp "text: the call with Call-ID $ODD_CID gets 404" call-odd-t $?
check_journal "text: call-fail for it" call-fail status=404 to=1999
esc=$(printf '%s' "$ODD_CID" | sed 's/[\\"]/\\&/g')
if grep -qF " call-fail call=\"$esc\" " "$JOURNAL"; then
	pass "text: the Call-ID is quoted with '\"' and '\\' escaped: call=\"$esc\""
else
	fail "text: the Call-ID is quoted with '\"' and '\\' escaped: call=\"$esc\"" \
	    "$(grep call-fail "$JOURNAL")"
fi
check_eq "text: ... and reads back as it was" "$ODD_CID" "$(journal_get call-fail call to=1999)"
# 1005 registered between the two rotations of (b) and (c)
if grep -q ' register user=1005 contact="sip:1005@127\.0\.0\.1:[0-9]*;transport=UDP" ' "$JOURNAL.2"; then
	pass "text: a contact with '=' in it is quoted"
else
	fail "text: a contact with '=' in it is quoted" "$(grep ' register user=1005' "$JOURNAL.2")"
fi

sipd_alive
stop_sipd
done_testing
