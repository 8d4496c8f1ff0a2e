#!/bin/bash
# logrotate.sh — the call journal survives rotation by the real logrotate
# under load: sipd (from the build, as whoever runs the test) writes its
# journal where `make install` into the test's directory puts it, and the
# installed logrotate file, with its postrotate reduced to the SIGHUP that
# `parley-sipd reload` sends, rotates it again and again (forced, with its
# own compress and delaycompress) while sipp sends 400 REGISTERs at 100/s.
# Across calls.log and every calls.log.N(.gz) there is exactly one whole
# register line per REGISTER that sipd answered 200: none lost, none
# twice, none split; and each file is whole journal lines.
set -u
. "$(dirname "$0")/lib.sh"
need sipp logrotate

P=$T/inst
if ! install_to "$P"; then
	fail "make install into a directory of the test's own" "$(tail -n 30 "$T/install.log")"
	done_testing
fi
LR=$P/etc/logrotate.d/parley
# The installed file, adapted: postrotate signals this test's sipd (the
# init script's reload sends the same SIGHUP), and logrotate's state is
# the test's.  Everything else (paths, nocreate, compress, delaycompress,
# rotate) is as installed.
awk -v pidfile="$T/sipd.pid" '
	/^[ \t]*postrotate/ { print; print "\t\tkill -HUP \"$(cat " pidfile ")\""; skip = 1; next }
	/^[ \t]*endscript/ { skip = 0 }
	!skip' "$LR" > "$T/logrotate.conf"
if grep -q "^$P/var/log/parley/\*\.log {" "$T/logrotate.conf" &&
    grep -q 'kill -HUP' "$T/logrotate.conf" && grep -q delaycompress "$T/logrotate.conf"; then
	pass "the installed logrotate file, with postrotate sending SIGHUP to this sipd"
else
	fail "the installed logrotate file, with postrotate sending SIGHUP to this sipd" \
	    "$(cat "$T/logrotate.conf")"
	done_testing
fi

JOURNAL=$P/var/log/parley/calls.log
write_config
start_sipd || done_testing
echo "$SIPD_PID" > "$T/sipd.pid"

register_load load 1003 400 100
# rotate_some — one forced rotation; the number of rotations in $T/rotations
rotate_some() {
	logrotate -f -s "$T/logrotate.state" "$T/logrotate.conf" >> "$T/logrotate.out" 2>&1 ||
	    echo "logrotate failed" >> "$T/logrotate.errors"
	echo x >> "$T/rotations"
}
: > "$T/rotations"
while kill -0 "${_sipp_pid[load]}" 2>/dev/null; do
	sleep 0.6
	# the load has journaled a few lines since the last rotation
	[ -s "$JOURNAL" ] && rotate_some
done
sipp_wait load
check_sipp "load: 400 REGISTERs, each answered 200" load $?
rotate_some
# the last HUP has come through once sipd wrote to a new calls.log
register after 1004 > /dev/null
check_journal "a REGISTER after the last rotation is journaled" register user=1004
sipd_alive
nrot=$(wc -l < "$T/rotations")
if [ -s "$T/logrotate.errors" ] || [ "$nrot" -lt 4 ]; then
	fail "logrotate rotated the journal at least 4 times under load" \
	    "rotations: $nrot" "$(cat "$T/logrotate.out")"
else
	pass "logrotate rotated the journal $nrot times under load"
fi
files=$(ls "$JOURNAL".* 2>/dev/null)
diag "journal files: $(ls "$P/var/log/parley" | tr '\n' ' ')"
if ls "$JOURNAL".*.gz > /dev/null 2>&1 && [ -f "$JOURNAL.1" ]; then
	pass "the older files are compressed, calls.log.1 is not (delaycompress)"
else
	fail "the older files are compressed, calls.log.1 is not (delaycompress)" \
	    "$(ls -l "$P/var/log/parley")"
fi
# shellcheck disable=SC2086
out=$($SIPMSG load-check "$T/load.msg" "$LOAD_PORT" 1003 $files "$JOURNAL")
if [ $? -eq 0 ]; then
	pass "one whole register line per 200 OK across every rotated file, none twice"
	diag "$out"
else
	fail "one whole register line per 200 OK across every rotated file, none twice" "$out"
fi
bad=""
for f in $files "$JOURNAL"; do
	$SIPMSG journal "$f" check > "$T/check.out" 2>&1 || bad="$bad $(basename "$f"): $(head -n 3 "$T/check.out");"
done
result "every line of every file is a whole journal line" "$bad"
stop_sipd

done_testing
