#!/bin/bash
# service.sh — how sipd and mediad tell whoever started them that they are
# ready, as systemd (Type=notify) and the init scripts rely on:
#   (a) with $NOTIFY_SOCKET (a socket file for sipd, an abstract '@' name
#       for mediad, each read by a stand-in for systemd): READY=1 comes
#       once the control socket exists and, for sipd, the SIP port answers;
#       SIGHUP gives RELOADING=1 (with MONOTONIC_USEC) then READY=1;
#       SIGTERM gives STOPPING=1 and exit 0;
#   (b) without -f: the command returns 0 once the detached daemon serves,
#       the -p pid file names it, and it is gone from the file at exit; a
#       daemon that cannot start (port taken) makes the command fail with
#       "did not start", and a bad file with its file:line.
set -u
. "$(dirname "$0")/lib.sh"

# notify_listen NAME ADDR WATCH — a stand-in for systemd on ADDR (a path or
# @name), writing each message it gets to $T/NAME.notify as
# "STATE|bound" or "STATE|unbound": whether the file WATCH existed then
notify_listen() {
	$PYTHON -c '
import os, socket, sys
addr, watch, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(60)
open(out + ".up", "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write("%s|%s\n" % (m.replace("\n", ";"), "bound" if os.path.exists(watch) else "unbound"))
' "$2" "$3" "$T/$1.notify" &
	_bg_pids+=("$!")
	wait_until 50 test -e "$T/$1.notify.up"
}
# notified NAME N — $T/NAME.notify has N lines
notified() {
	[ "$(wc -l < "$T/$1.notify" 2>/dev/null || echo 0)" -ge "$2" ]
}

write_config --media-mode relay --media "rtp_ports = [ 40100, 40199 ]; bind = \"127.0.0.1\"; node = \"svc\";"

# ------------------------------------------------------------ (a) notify: sipd
notify_listen sipd "$T/notify.sock" "$T/sipctl.sock"
NOTIFY_SOCKET=$T/notify.sock "$SIPD" -f -c "$CONF" 2> "$T/sipd.log" &
SIPD_PID=$!
_bg_pids+=("$SIPD_PID")
if wait_until 100 notified sipd 1 && [ "$(head -n 1 "$T/sipd.notify")" = "READY=1|bound" ]; then
	pass "sipd: READY=1, once its control socket exists"
else
	fail "sipd: READY=1, once its control socket exists" "$(cat "$T/sipd.notify" 2>&1)" \
	    "$(tail -n 20 "$T/sipd.log")"
fi
if $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 1 > /dev/null 2>&1; then
	pass "sipd: ... and its SIP port answers"
else
	fail "sipd: ... and its SIP port answers"
fi
kill -HUP "$SIPD_PID"
if wait_until 100 notified sipd 3 &&
    sed -n 2p "$T/sipd.notify" | grep -qE '^RELOADING=1;MONOTONIC_USEC=[0-9]+\|' &&
    [ "$(sed -n 3p "$T/sipd.notify")" = "READY=1|bound" ]; then
	pass "sipd: SIGHUP gives RELOADING=1 with MONOTONIC_USEC, then READY=1"
else
	fail "sipd: SIGHUP gives RELOADING=1 with MONOTONIC_USEC, then READY=1" "$(cat "$T/sipd.notify")"
fi

# ------------------------------------------------------------ (a) notify: mediad, abstract
ABSTRACT=@parley-test-$RUN_ID
notify_listen mediad "$ABSTRACT" "$T/media.sock"
NOTIFY_SOCKET=$ABSTRACT "$MEDIAD" -f -c "$CONF" 2> "$T/mediad.log" &
MPID=$!
_bg_pids+=("$MPID")
if wait_until 100 notified mediad 1 && [ "$(head -n 1 "$T/mediad.notify")" = "READY=1|bound" ]; then
	pass "mediad: READY=1 on an abstract socket, once its control socket exists"
else
	fail "mediad: READY=1 on an abstract socket, once its control socket exists" \
	    "$(cat "$T/mediad.notify" 2>&1)" "$(tail -n 20 "$T/mediad.log")"
fi
if wait_until 100 _mediad_up svc none; then
	pass "mediad: sipd sees it live"
else
	fail "mediad: sipd sees it live" "$(sipctl --json status 2>&1)"
fi
kill -HUP "$MPID"
if wait_until 100 notified mediad 3 && sed -n 2p "$T/mediad.notify" | grep -q '^RELOADING=1;' &&
    [ "$(sed -n 3p "$T/mediad.notify")" = "READY=1|bound" ]; then
	pass "mediad: SIGHUP gives RELOADING=1, then READY=1"
else
	fail "mediad: SIGHUP gives RELOADING=1, then READY=1" "$(cat "$T/mediad.notify")"
fi
for d in mediad:$MPID sipd:$SIPD_PID; do
	kill -TERM "${d#*:}"
	wait "${d#*:}"
	rc=$?
	if [ $rc -eq 0 ] && wait_until 50 notified "${d%%:*}" 4 &&
	    sed -n 4p "$T/${d%%:*}.notify" | grep -q '^STOPPING=1|'; then
		pass "${d%%:*}: SIGTERM gives STOPPING=1 and exit 0"
	else
		fail "${d%%:*}: SIGTERM gives STOPPING=1 and exit 0" "exit $rc" "$(cat "$T/${d%%:*}.notify")"
	fi
done

# ------------------------------------------------------------ (b) detach
"$SIPD" -c "$CONF" -p "$T/sipd.pid" > "$T/detach.out" 2>&1
rc=$?
pid=$(cat "$T/sipd.pid" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sipd ]; then
	pass "sipd without -f returns 0, and the pid file names the detached sipd ($pid)"
	_bg_pids+=("$pid")
	if $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 1 > /dev/null 2>&1; then
		pass "the detached sipd answers OPTIONS as soon as the command returned"
	else
		fail "the detached sipd answers OPTIONS as soon as the command returned"
	fi
	check_eq "the detached sipd runs in a session of its own, in /" "$pid /" \
	    "$(ps -o sid= -p "$pid" | tr -d ' ') $(readlink "/proc/$pid/cwd")"
	kill -TERM "$pid"
	if _wait_gone "$pid" 50 && [ ! -e "$T/sipd.pid" ]; then
		pass "on SIGTERM it exits and removes its pid file"
	else
		fail "on SIGTERM it exits and removes its pid file" "$(ls -l "$T/sipd.pid" 2>&1)"
	fi
else
	fail "sipd without -f returns 0, and the pid file names the detached sipd" "exit $rc, pid '$pid'" \
	    "$(cat "$T/detach.out")"
fi

# a daemon that cannot start: its SIP port is taken
take_udp_port "$SIPD_PORT"
"$SIPD" -c "$CONF" -p "$T/sipd2.pid" > "$T/taken.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "^sipd: did not start (exit 1)" "$T/taken.out" && [ ! -e "$T/sipd2.pid" ]; then
	pass "sipd without -f on a taken port fails ($rc): $(cat "$T/taken.out")"
else
	fail "sipd without -f on a taken port fails with 'did not start'" "exit $rc" "$(cat "$T/taken.out")"
fi
kill "$TAKER_PID" 2>/dev/null
printf 'sip: { domian = "x"; };\n' > "$T/bad.conf"
"$MEDIAD" -c "$T/bad.conf" > "$T/bad.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "bad.conf:1: " "$T/bad.out"; then
	pass "mediad without -f and a bad file: exit 1, the file:line on stderr"
else
	fail "mediad without -f and a bad file: exit 1, the file:line on stderr" "exit $rc" "$(cat "$T/bad.out")"
fi

done_testing
