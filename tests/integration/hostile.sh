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
