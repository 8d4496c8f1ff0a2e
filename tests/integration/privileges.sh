#!/bin/bash
# privileges.sh — daemon.user and daemon.group, run as root (skipped
# otherwise; the user parley is created if missing; sysv.sh covers the
# same through the init scripts):
#   (a) sipd -f started as root runs as parley once it serves: every uid
#       and gid, parley's groups, no capability; the journal directory it
#       had to create and the journal are parley's, the control socket is
#       0660 of group parley; after `mv` and SIGHUP the unprivileged sipd
#       makes the new journal itself;
#   (b) daemon.group gives another group, for the process and the socket;
#   (c) an unknown daemon.user stops a root start with a message naming
#       it; a start as another user (nobody) ignores daemon.user.
set -u
. "$(dirname "$0")/lib.sh"
need_root_user
need setpriv

# caps PID — the permitted, effective and ambient capability sets
caps() {
	awk '/^Cap(Prm|Eff|Amb):/ { printf "%s ", $2 }' "/proc/$1/status"
}
NOCAPS="0000000000000000 0000000000000000 0000000000000000 "

# ------------------------------------------------------------ (a) parley
JOURNAL=$T/newlog/calls.log
write_config --daemon 'daemon: { user = "parley"; };'
chgrp parley "$CONF"
chmod 0640 "$CONF"
start_sipd || done_testing
want="$PARLEY_UID $PARLEY_UID $PARLEY_UID $PARLEY_UID | $PARLEY_GID $PARLEY_GID $PARLEY_GID $PARLEY_GID | $(id -G parley)"
check_eq "sipd started as root runs as parley: uids, gids, groups" "$want" "$(proc_ids "$SIPD_PID")"
check_eq "... with no capability left" "$NOCAPS" "$(caps "$SIPD_PID")"
check_eq "the journal directory sipd made is parley's, 0750" "750 parley parley" \
    "$(stat -c '%a %U %G' "$T/newlog" 2>&1)"
check_eq "the journal is parley's, 0640" "640 parley parley" "$(stat -c '%a %U %G' "$JOURNAL" 2>&1)"
check_eq "the control socket is 0660, parley's" "660 parley parley" \
    "$(stat -c '%a %U %G' "$T/sipctl.sock" 2>&1)"
register r1 1001 > /dev/null
check_journal "a REGISTER is journaled" register user=1001
mv "$JOURNAL" "$JOURNAL.1"
kill -HUP "$SIPD_PID"
register r2 1002 > /dev/null
if journal_wait register user=1002 && [ "$(stat -c %U "$JOURNAL")" = parley ]; then
	pass "after mv and SIGHUP the unprivileged sipd makes a new journal"
else
	fail "after mv and SIGHUP the unprivileged sipd makes a new journal" "$(ls -l "$T/newlog")" \
	    "$(tail -n 5 "$SIPD_LOG")"
fi
grep -q "running as user parley" "$SIPD_LOG"
check_eq "sipd logs whom it runs as" 0 $?
stop_sipd

# ------------------------------------------------------------ (b) group
write_config --daemon 'daemon: { user = "parley"; group = "nogroup"; };'
chmod 0644 "$CONF"
rm -f "$T/sipctl.sock"
start_sipd || done_testing
NOGROUP=$(getent group nogroup | cut -d: -f3)
check_eq "daemon.group: sipd runs with group nogroup" "$NOGROUP $NOGROUP $NOGROUP $NOGROUP" \
    "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$SIPD_PID/status")"
check_eq "... and the control socket is of group nogroup" "660 nogroup" \
    "$(stat -c '%a %G' "$T/sipctl.sock" 2>&1)"
stop_sipd

# ------------------------------------------------------------ (c) no such user; not root
write_config --daemon 'daemon: { user = "no-such-user-parley"; };'
"$SIPD" -f -c "$CONF" > "$T/nouser.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "daemon.user no-such-user-parley: no such user" "$T/nouser.out"; then
	pass "an unknown daemon.user stops sipd started as root (exit 1, named)"
else
	fail "an unknown daemon.user stops sipd started as root (exit 1, named)" "exit $rc" "$(cat "$T/nouser.out")"
fi
write_config --daemon 'daemon: { user = "parley"; };'
chmod 0644 "$CONF"
mkdir -p "$T/nobody"
chown nobody "$T/nobody"
sed -i "s|$T/sipctl.sock|$T/nobody/sipctl.sock|; s|$JOURNAL|$T/nobody/calls.log|" "$CONF"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SIPD" -f -c "$CONF" > "$T/nobody.out" 2>&1 &
npid=$!
_bg_pids+=("$npid")
if wait_until 50 $SIPMSG ping 127.0.0.1 "$SIPD_PORT" --timeout 0.2; then
	check_eq "sipd started as nobody stays nobody (daemon.user applies to root only)" \
	    "$(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -u nobody)" \
	    "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$npid/status")"
	kill -TERM "$npid"
	wait "$npid"
	check_eq "... and stops cleanly" 0 $?
else
	fail "sipd started as nobody serves" "$(cat "$T/nobody.out")"
fi

done_testing
