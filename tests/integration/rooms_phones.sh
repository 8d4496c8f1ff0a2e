#!/bin/bash
# rooms_phones.sh — a room with three real phones: baresip 1001 on AMR-WB
# (16 kHz), 1002 on AMR-NB (octet-aligned) and 1003 on PCMA dial room 800;
# each plays its own tone (400, 700 and 1100 Hz) and records what it
# hears.  Asserted: journal room-create, one room-join per phone with its
# codec; sipctl rooms and room show list the three with their codecs and
# packets both ways; each phone heard the other two tones and not its own
# (spectrum.py: the others within 12 dB of each other and above -30 dB,
# its own at least 25 dB below them); when the phones hang up, room-leave
# for each and room-delete.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
. "$(dirname "$0")/phones.sh"
need_phones
[ -e "$MODDIR/amr.so" ] || skip_all "baresip module amr.so not in $MODDIR"

relay_config --pairs 10 --timeout 60
start_sipd || exit 1
start_mediad m1 || exit 1

TONE=6
sox -n -r 16000 -c 1 -b 16 "$T/t400.wav" synth $TONE sine 400 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/t700.wav" synth $TONE sine 700 vol 0.5 &&
    sox -n -r 8000 -c 1 -b 16 "$T/t1100.wav" synth $TONE sine 1100 vol 0.5 ||
    { fail "sox makes the test tones"; exit 1; }

ports=$(free_port 42)
phone_config wb 1001 "$T/t400.wav" manual "$ports" AMR-WB/16000/1 16000
phone_config nb 1002 "$T/t700.wav" manual $((ports + 14)) AMR/8000/1 8000
phone_config pa 1003 "$T/t1100.wav" manual $((ports + 28))

JOURNAL_WAIT=20
for p in wb:1001 nb:1002 pa:1003; do
	start_phone "${p%%:*}"
	check_journal "baresip ${p#*:} registers" register "user=${p#*:}" || diag "$(phone_diag "${p%%:*}")"
done

for p in wb:1001 nb:1002 pa:1003; do
	ctl_port=${p%%:*}_ctrl
	if out=$(ctrl "${!ctl_port}" dial "sip:800@$DOMAIN" 2>&1); then
		pass "baresip ${p#*:} dials room 800"
	else
		fail "baresip ${p#*:} dials room 800" "$out" "$(phone_diag "${p%%:*}")"
	fi
done
check_journal "journal: room-create room=800" room-create room=800
check_journal "journal: 1001 joins on AMR-WB" room-join room=800 user=1001 codec=AMR-WB || diag "$(phone_diag wb)"
check_journal "journal: 1002 joins on AMR" room-join room=800 user=1002 codec=AMR || diag "$(phone_diag nb)"
check_journal "journal: 1003 joins on PCMA" room-join room=800 user=1003 codec=PCMA || diag "$(phone_diag pa)"

rooms_ok() {
	sipctl --json rooms | json_test "
[(r['room'], r['participants']) for r in j['rooms']] == [('800', 3)]"
}
if wait_until 50 rooms_ok; then
	pass "sipctl rooms: room 800 with 3 participants"
else
	fail "sipctl rooms: room 800 with 3 participants" "$(sipctl --json rooms 2>&1)"
fi
show_ok() {
	sipctl --json room show 800 | json_test "
j['rate'] == 16000 and sorted((p['user'], p['codec']) for p in j['participants']
    if p['pkts_in'] > 20 and p['pkts_out'] > 20) ==
[('1001', 'AMR-WB'), ('1002', 'AMR'), ('1003', 'PCMA')]"
}
if wait_until 50 show_ok; then
	pass "sipctl room show 800: mixing at 16 kHz, three codecs, packets in and out for each"
	diag "$(sipctl room show 800 2>&1)"
else
	fail "sipctl room show 800: mixing at 16 kHz, three codecs, packets in and out for each" \
	    "$(sipctl --json room show 800 2>&1)"
fi

JOURNAL_WAIT=40
for u in 1001 1002 1003; do
	check_journal "journal: room-leave of $u when its tone ends" room-leave room=800 "user=$u" by=participant
done
check_journal "journal: room-delete room=800 after the last one" room-delete room=800

# heard NAME OWN OTHER1 OTHER2 — NAME's recording holds OTHER1 and OTHER2, not OWN
heard() {
	local name=$1 own=$2 o1=$3 o2=$4 dec st
	dec=$(ls "$T/$name"/rec/*-dec.wav 2>/dev/null | head -n 1)
	if [ -z "$dec" ]; then
		fail "$name's recording exists" "nothing in $T/$name/rec" "$(phone_diag "$name")"
		return
	fi
	st=$($PYTHON "$IT_DIR/spectrum.py" "$dec" "$own" "$o1" "$o2" 2>&1)
	diag "$name heard ($dec): $st"
	if printf '%s' "$st" | json_test "
(lambda a, b, me: a > -30 and b > -30 and abs(a - b) <= 12 and me < min(a, b) - 25)(
    j['levels']['$o1'], j['levels']['$o2'], j['levels']['$own']) and
j['sound'] >= 0.8 * ($TONE - 2)"; then
		pass "$name heard $o1 Hz and $o2 Hz, not its own $own Hz"
	else
		fail "$name heard $o1 Hz and $o2 Hz, not its own $own Hz" "$st"
	fi
}
heard wb 400 700 1100
heard nb 700 400 1100
heard pa 1100 400 700

kill -TERM "$wb_pid" "$nb_pid" "$pa_pid" 2>/dev/null
wait "$wb_pid" "$nb_pid" "$pa_pid" 2>/dev/null
sipd_alive
stop_mediad m1
