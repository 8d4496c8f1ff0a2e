#!/bin/bash
# sysv.sh — the SysV init scripts start, reload and stop the real daemons,
# installed under a directory of the test's own, as root (skipped
# otherwise; the user parley is created if missing):
#   (a) `parley-recd start`, `parley-mediad start` and `parley-sipd start`
#       return 0 once the daemons serve: the pid files name them, sipd
#       answers OPTIONS and sees mediad live, and mediad sees recd (sipctl
#       status: recorder up); all three run as parley (every uid and gid,
#       and its groups) with no capability left; a second start changes
#       nothing; `status` says 0;
#   (b) the control sockets are 0660 of group parley: sipctl run as nobody
#       in the group parley works, as nobody alone it cannot reach sipd;
#   (c) a REGISTER lands in the journal, owned by parley; logrotate with
#       the installed logrotate file (postrotate: `parley-sipd reload`)
#       moves it, and sipd, now unprivileged, writes the next line to a new
#       calls.log; `reload` keeps the same process;
#   (d) `restart` gives a new sipd that serves; `stop` ends both (exit 0,
#       pid files and sockets gone; recd too), `status` then says 3, and
#       stop again is 0; a start that fails (port taken) returns non-zero.
set -u
. "$(dirname "$0")/lib.sh"
need_root_user
need start-stop-daemon setpriv sipp

P=$T/inst
if ! install_to "$P"; then
	fail "make install into a directory of the test's own" "$(tail -n 30 "$T/install.log")"
	done_testing
fi
INIT=$P/etc/init.d
RUN=$P/run/parley
JOURNAL=$P/var/log/parley/calls.log
SIPCTL_EP=ipc://$RUN/sipctl.sock
# as scripts/install-service.sh leaves them: the daemons' directories
# theirs, the configuration readable by their group
chown parley:parley "$P/var/log/parley" "$P/var/lib/parley" "$RUN"
write_config "$P/etc/parley/parley.conf" --media-mode relay --daemon "" \
    --control-media "\"ipc://$RUN/media.sock\"" --log-level info \
    --media 'rtp_ports = [ 40000, 40099 ]; bind = "127.0.0.1"; node = "sysv";'
# recd's socket beside the others, its recordings where make install put them
sed -i -e "s|recorder = \".*\";|recorder = \"ipc://$RUN/recorder.sock\";|" \
    -e "s|^recording: { dir = \"[^\"]*\";|recording: { dir = \"$P/var/lib/parley/recordings\";|" \
    "$P/etc/parley/parley.conf"
chgrp parley "$P/etc/parley/parley.conf"
chmod 0640 "$P/etc/parley/parley.conf"

# pid_of NAME — the pid in the init script's pid file
pid_of() {
	cat "$P/run/parley-$1.pid" 2>/dev/null
}
# runs_as_parley DESC PID — a TAP line: every id is parley's, no capability
runs_as_parley() {
	local ids caps want
	ids=$(proc_ids "$2")
	caps=$(awk '/^Cap(Prm|Eff|Amb):/ { printf "%s ", $2 }' "/proc/$2/status")
	want="$PARLEY_UID $PARLEY_UID $PARLEY_UID $PARLEY_UID | $PARLEY_GID $PARLEY_GID $PARLEY_GID $PARLEY_GID | $(id -G parley)"
	if [ "$ids" = "$want" ] && [ "$caps" = "0000000000000000 0000000000000000 0000000000000000 " ]; then
		pass "$1"
	else
		fail "$1" "ids:  $ids" "want: $want" "capabilities (prm eff amb): $caps"
	fi
}

# ------------------------------------------------------------ (a) start
out=$("$INIT/parley-recd" start 2>&1)
check_eq "parley-recd start exits 0" 0 $?
[ -n "$out" ] && diag "$out"
RPID=$(pid_of recd)
if [ -n "$RPID" ] && [ "$(cat "/proc/$RPID/comm" 2>/dev/null)" = recd ]; then
	pass "the pid file names the running recd ($RPID)"
	_bg_pids+=("$RPID")
	runs_as_parley "recd runs as parley: uids, gids and groups, no capability" "$RPID"
else
	fail "the pid file names the running recd" "recd: '$RPID'" "$(ls -l "$P/run")"
fi
"$INIT/parley-recd" status > /dev/null 2>&1
check_eq "parley-recd status exits 0 (running)" 0 $?
out=$("$INIT/parley-mediad" start 2>&1)
check_eq "parley-mediad start exits 0" 0 $?
[ -n "$out" ] && diag "$out"
out=$("$INIT/parley-sipd" start 2>&1)
rc=$?
check_eq "parley-sipd start exits 0" 0 $rc
[ $rc -eq 0 ] || diag "$out" "$(tail -n 20 /var/log/syslog 2>/dev/null)"
MPID=$(pid_of mediad)
SPID=$(pid_of sipd)
if [ -n "$SPID" ] && [ "$(cat "/proc/$SPID/comm" 2>/dev/null)" = sipd ] &&
    [ -n "$MPID" ] && [ "$(cat "/proc/$MPID/comm" 2>/dev/null)" = mediad ]; then
	pass "the pid files name the running sipd ($SPID) and mediad ($MPID)"
	_bg_pids+=("$SPID" "$MPID")
else
	fail "the pid files name the running sipd and mediad" "sipd: '$SPID', mediad: '$MPID'"
	done_testing
fi
# start returned once sipd was ready: it answers at once
if $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 1 > /dev/null 2>&1; then
	pass "sipd answers OPTIONS as soon as its start returned"
else
	fail "sipd answers OPTIONS as soon as its start returned"
fi
runs_as_parley "sipd runs as parley: uids, gids and groups, no capability" "$SPID"
runs_as_parley "mediad runs as parley: uids, gids and groups, no capability" "$MPID"
if wait_until 100 _mediad_up sysv none; then
	pass "sipd, unprivileged, sees the unprivileged mediad live"
else
	fail "sipd, unprivileged, sees the unprivileged mediad live" "$(sipctl --json status 2>&1)"
fi
recorder_up() {
	sipctl --json status 2>/dev/null |
	    json_test "[n['recorder'] for n in j['media_nodes'] if n.get('node') == 'sysv'] == ['up']"
}
if wait_until 100 recorder_up; then
	pass "mediad reaches the unprivileged recd: sipctl status says recorder up"
else
	fail "mediad reaches the unprivileged recd: sipctl status says recorder up" \
	    "$(sipctl --json status 2>&1)"
fi
"$INIT/parley-sipd" start > /dev/null 2>&1
check_eq "a second start exits 0 and leaves the same sipd" "0 $SPID" "$? $(pid_of sipd)"
"$INIT/parley-sipd" status > "$T/status.out" 2>&1
check_eq "parley-sipd status exits 0 (running)" 0 $?
"$INIT/parley-mediad" status > /dev/null 2>&1
check_eq "parley-mediad status exits 0 (running)" 0 $?

# ------------------------------------------------------------ (b) sockets
bad=""
for s in sipctl.sock media.sock recorder.sock; do
	st=$(stat -c '%a %G' "$RUN/$s" 2>&1)
	[ "$st" = "660 parley" ] || bad="$bad $s: $st;"
done
result "the control sockets are mode 0660, group parley" "$bad"
out=$(setpriv --reuid=nobody --regid=nogroup --groups="$PARLEY_GID" "$SIPCTL" -s "$SIPCTL_EP" status 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "sysv"; then
	pass "sipctl status as nobody in the group parley: exit 0, node sysv listed"
else
	fail "sipctl status as nobody in the group parley" "exit $rc" "$out"
fi
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SIPCTL" -s "$SIPCTL_EP" -t 500 status \
    > "$T/nogroup.out" 2>&1
check_eq "sipctl status as nobody outside the group parley: exit 3 (cannot reach sipd)" 3 $?

# ------------------------------------------------------------ (c) journal, logrotate, reload
register reg1 1001 > /dev/null
check_sipp "REGISTER 1001 through the init-started sipd" reg1 $?
check_journal "journal: register user=1001" register user=1001
check_eq "the journal is parley's, mode 0640" "640 parley parley" \
    "$(stat -c '%a %U %G' "$JOURNAL" 2>&1)"
if ! command -v logrotate > /dev/null 2>&1; then
	skip "logrotate with the installed file" "logrotate not installed"
else
	out=$(logrotate -f -s "$T/logrotate.state" "$P/etc/logrotate.d/parley" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -f "$JOURNAL.1" ] && grep -q ' register user=1001 ' "$JOURNAL.1"; then
		pass "logrotate -f with the installed logrotate file moves calls.log to calls.log.1"
	else
		fail "logrotate -f with the installed logrotate file moves calls.log to calls.log.1" \
		    "exit $rc" "$out" "$(ls -l "$P/var/log/parley")"
	fi
	register reg2 1002 > /dev/null
	check_sipp "REGISTER 1002 after the rotation" reg2 $?
	if journal_wait register user=1002 && ! grep -q ' user=1002 ' "$JOURNAL.1"; then
		pass "after postrotate's reload, sipd writes to a new calls.log"
		check_eq "the new calls.log is parley's, mode 0640" "640 parley parley" \
		    "$(stat -c '%a %U %G' "$JOURNAL" 2>&1)"
	else
		fail "after postrotate's reload, sipd writes to a new calls.log" \
		    "$(ls -l "$P/var/log/parley")" "$(cat "$JOURNAL.1")"
	fi
fi
"$INIT/parley-sipd" reload > /dev/null 2>&1
check_eq "parley-sipd reload exits 0 and keeps the same process" "0 $SPID" "$? $(pid_of sipd)"
if kill -0 "$SPID" 2>/dev/null && $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 1 > /dev/null 2>&1; then
	pass "sipd serves after the reload (it reread the file as parley)"
else
	fail "sipd serves after the reload"
fi

# ------------------------------------------------------------ (d) restart, stop
"$INIT/parley-sipd" restart > "$T/restart.out" 2>&1
rc=$?
NPID=$(pid_of sipd)
if [ $rc -eq 0 ] && [ -n "$NPID" ] && [ "$NPID" != "$SPID" ] && ! kill -0 "$SPID" 2>/dev/null; then
	pass "parley-sipd restart exits 0 with a new sipd ($NPID)"
	_bg_pids+=("$NPID")
else
	fail "parley-sipd restart exits 0 with a new sipd" "exit $rc, pid $SPID -> $NPID" "$(cat "$T/restart.out")"
fi
if $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 1 > /dev/null 2>&1; then
	pass "the new sipd answers OPTIONS"
else
	fail "the new sipd answers OPTIONS"
fi
for d in sipd mediad recd; do
	pid=$(pid_of $d)
	"$INIT/parley-$d" stop > "$T/stop.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && ! kill -0 "$pid" 2>/dev/null && [ ! -e "$P/run/parley-$d.pid" ]; then
		pass "parley-$d stop exits 0: the process and its pid file are gone"
	else
		fail "parley-$d stop exits 0: the process and its pid file are gone" "exit $rc" \
		    "$(cat "$T/stop.out")" "$(ls -l "$P/run")"
	fi
	"$INIT/parley-$d" status > /dev/null 2>&1
	check_eq "parley-$d status then exits 3 (not running)" 3 $?
	"$INIT/parley-$d" stop > /dev/null 2>&1
	check_eq "parley-$d stop again exits 0" 0 $?
done
left=$(ls "$RUN")
check_eq "the control sockets are gone" "" "$left"

# a sipd that cannot start: its port is taken
take_udp_port "$SIPD_PORT"
out=$("$INIT/parley-sipd" start 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q "did not start"; then
	pass "parley-sipd start on a taken port fails ($rc): \"$(printf "%s\n" "$out" | grep -o "sipd: did not start.*")\""
else
	fail "parley-sipd start on a taken port fails" "exit $rc" "$out"
	"$INIT/parley-sipd" stop > /dev/null 2>&1
fi
kill "$TAKER_PID" 2>/dev/null

done_testing
