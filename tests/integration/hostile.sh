#!/bin/bash
# hostile.sh — sipd survives malformed and hostile input on UDP and TCP.
#
# hostile.py sends some 90 kinds of bad input (garbage datagrams, broken
# start lines, missing or malformed headers, lying Content-Lengths, huge
# messages, stray responses, hostile Authorization headers, idle and
# half-open TCP connections, CRLF keep-alives ...) to one running sipd;
# after each a valid OPTIONS must get a 200 over UDP and over a fresh TCP
# connection.  A bad request with a usable Via must get a 400 (505 for
# SIP/3.0) with a reason phrase; a response or an ACK must never be
# answered.  At the end sipd must be the same process, still running, and
# must have logged no fatal error.  The "# " line under each kind says
# what sipd did (its answer or "dropped").
set -u
. "$(dirname "$0")/lib.sh"

write_config
start_sipd || exit 1
pid0=$SIPD_PID
# field 22 of /proc/PID/stat: the start time, to tell a restarted process
start0=$(awk '{ print $22 }' "/proc/$pid0/stat" 2>/dev/null)

$PYTHON "$IT_DIR/hostile.py" --host 127.0.0.1 --udp-port "$SIPD_PORT" \
    --tcp-port "$SIPD_PORT" --domain "$DOMAIN" --user 1001 --password pw1001 \
    > "$T/hostile.tap" 2> "$T/hostile.err"
rc=$?
[ $rc -eq 0 ] || fail "hostile.py ran to the end" "exit $rc" "$(tail -n 20 "$T/hostile.err")"

# hostile.py's TAP, renumbered into this script's
while IFS= read -r line; do
	case $line in
	"ok "*) pass "${line#ok * - }" ;;
	"not ok "*) fail "${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	esac
done < "$T/hostile.tap"

# Reflection: a forged response whose top Via names sipd (with a branch
# sipd never made) and whose second Via names a third party.  sipd must
# drop it, not forward it to the "victim".
dropped() { "$SIPCTL" -s "$SIPCTL_EP" --json status | $PYTHON -c \
    'import json,sys; print(json.load(sys.stdin)["messages"]["dropped"])'; }
d0=$(dropped)
victim=$(free_port)
$PYTHON - "$SIPD_PORT" "$victim" > "$T/reflect.out" 2>&1 <<'EOF2'
import socket, sys
sipd, victim = int(sys.argv[1]), int(sys.argv[2])
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.bind(("127.0.0.1", victim))
v.settimeout(1.5)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
msg = ("SIP/2.0 200 OK\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK0123456789abcdef01234567\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKvictim\r\n"
       "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: reflect@x\r\n"
       "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n") % (sipd, victim)
s.sendto(msg.encode(), ("127.0.0.1", sipd))
try:
    data, _ = v.recvfrom(65535)
    print("victim got: %r" % data[:80])
    sys.exit(1)
except socket.timeout:
    print("victim got nothing")
EOF2
rc=$?
d1=$(dropped)
if [ $rc -eq 0 ] && [ "${d1:-0}" -gt "${d0:-0}" ]; then
	pass "a forged response naming sipd in its top Via is dropped, not reflected (dropped $d0 -> $d1)"
else
	fail "a forged response naming sipd in its top Via is dropped, not reflected" \
	    "rc=$rc dropped $d0 -> $d1" "$(cat "$T/reflect.out")"
fi

sipd_alive
start1=$(awk '{ print $22 }' "/proc/$pid0/stat" 2>/dev/null)
check_eq "sipd was not restarted (same pid, same start time)" "$pid0:$start0" "$SIPD_PID:$start1"
bad_log='^[0-9:.]+ fatal |AddressSanitizer|LeakSanitizer|runtime error:'
if grep -qE "$bad_log" "$SIPD_LOG"; then
	fail "sipd logged no fatal error" "$(grep -E "$bad_log" "$SIPD_LOG" | head -n 20)"
else
	pass "sipd logged no fatal error"
fi
stop_sipd
done_testing
