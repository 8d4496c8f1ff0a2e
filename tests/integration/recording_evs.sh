#!/bin/bash
# recording_evs.sh — a recorded EVS call (issue 5): EVS cannot be decoded,
# so each leg is kept as the phone sent it, in the EVS MIME storage format
# (3GPP TS 26.445 A.2.6) beside where the WAVs would be.  sipp phones
# 1001 and 1002 agree on EVS only; the RTP probe plays each phone: 1001
# sends 100 compact 13.2 kbit/s frames (33 bytes), 1002 100 compact 24.4
# kbit/s frames (61 bytes), 20 ms apart, through mediad.  Asserted:
# rec-start and rec-done status=ok name caller.evs and callee.evs and no
# mix (there is nothing to mix); each file is the storage header and then
# exactly the frames that phone sent, in order, each behind its ToC
# (0x04, 0x06), with NO_DATA frames before and after them so that the
# file covers the call's duration within 20 ms; the sidecar lists both
# files with codec EVS and format "evs".
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/media.sh"
need sipp
[ -x "$RECD" ] || { echo "Bail out! $RECD not built"; exit 1; }

REC=$T/recordings
relay_config --pairs 10 --timeout 60 --recording "calls = true; legs = true; mix = true;"
start_recd r1 || exit 1
start_sipd || exit 1
start_mediad m1 || exit 1

pa=$(free_port 2) pb=$(free_port 2)
probe_start caller=$CALLER_IP:$pa callee=$CALLEE_IP:$pb || exit 1
EVS="a=rtpmap:96 EVS/16000"
phone callee 1002 codec_uas.xml --sub FMTS=96 --sub "ATTRS=$EVS" -timeout 60s \
    -key ip "$CALLEE_IP" -key port "$pb" || exit 1
sipp_start caller --user 1001 --to 1002 --timeout 60 room_uac.xml --sub FMTS=96 \
    --sub "ATTRS=$EVS" --sub VIDEO= --sub REINVITES=0 -key ip "$CALLER_IP" -key port "$pa" \
    -key d0 sendrecv -key d1 sendonly -key d2 sendrecv
cid=$(sipp_callid caller)
if wait_trace caller 2 sent '^ACK'; then
	pass "1001 calls 1002 on EVS, answered"
else
	fail "1001 calls 1002 on EVS, answered" "$(sipp_diag caller)" "$(sipp_diag callee)"
fi
save_msg c-200 caller recv '^SIP/2.0 200' --has '^CSeq:.*INVITE' --nth 1
save_msg b-inv callee recv '^INVITE'
mc=$(sdp c-200 audio.port)
mb=$(sdp b-inv audio.port)
JOURNAL_WAIT=10
check_journal "journal: rec-start with caller.evs and callee.evs, no mix" rec-start "call=$cid" \
    'files~[^,]*_caller\.evs,[^,]*_callee\.evs'

probe send sock=caller to=$MEDIA_IP:$mc pt=96 size=33 count=100 interval=20 tsinc=320 \
    ssrc=0xC0000001 tag=c > /dev/null
probe send sock=callee to=$MEDIA_IP:$mb pt=96 size=61 count=100 interval=20 tsinc=320 \
    ssrc=0xD0000001 tag=d > /dev/null
probe_done c d
sleep 0.5
probe save sock=callee pt=96 fmt=hex path="$T/heard-by-callee.hex" > /dev/null
probe save sock=caller pt=96 fmt=hex path="$T/heard-by-caller.hex" > /dev/null
poke caller 2 || true
JOURNAL_WAIT=20
check_journal "journal: call-end" call-end "call=$cid"
check_journal "journal: rec-done status=ok" rec-done "call=$cid" status=ok
dur=$(journal_get call-end duration "call=$cid")
files=$(journal_get rec-done files "call=$cid")
diag "rec-done files=$files duration=$dur"

# evs_check FILE HEX TOC — FILE holds the storage header, NO_DATA frames,
# the payloads of HEX (one a line) each behind TOC, in order, NO_DATA, and
# as many frames as the call lasted (+- one)
evs_check() {
	$PYTHON - "$1" "$2" "$3" "${dur:-0}" <<'EOF'
import sys
path, hexfile, toc, dur = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), float(sys.argv[4])
b = open(path, "rb").read()
sent = [bytes.fromhex(l.strip()) for l in open(hexfile) if l.strip()]
if b[:16] != b"#!EVS_MC1.0\n\0\0\0\1":
    sys.exit("no EVS storage header: %r" % b[:16])
frames, i = [], 16
size = {0x04: 33, 0x06: 61, 0x0f: 0}
while i < len(b):
    t = b[i]
    if t not in size:
        sys.exit("unexpected ToC 0x%02x at byte %d" % (t, i))
    frames.append((t, b[i + 1:i + 1 + size[t]]))
    i += 1 + size[t]
if i != len(b):
    sys.exit("the last frame is cut short")
speech = [d for t, d in frames if t == toc]
others = [t for t, d in frames if t not in (toc, 0x0f)]
print("frames %d (speech %d, NO_DATA %d), sent %d, call %.3f s" % (
    len(frames), len(speech), len(frames) - len(speech), len(sent), dur))
if others or speech != sent:
    sys.exit("the speech frames are not what the phone sent (%d vs %d)" % (len(speech), len(sent)))
if len(sent) != 100:
    sys.exit("the probe saw %d payloads, not 100" % len(sent))
if abs(len(frames) * 0.020 - dur) > 0.020 + 1e-9:
    sys.exit("%d frames cover %.3f s, the call %.3f s" % (len(frames), len(frames) * 0.02, dur))
EOF
}
for leg in caller:heard-by-callee:0x04 callee:heard-by-caller:0x06; do
	IFS=: read -r s hex toc <<< "$leg"
	f=$(printf '%s\n' "$files" | tr ',' '\n' | grep "_$s\.evs\$")
	if out=$(evs_check "${f:-/none}" "$T/$hex.hex" "$toc" 2>&1); then
		pass "$s.evs: the storage header, then exactly the frames $s sent (ToC $toc), as long as the call"
		diag "$out"
	else
		fail "$s.evs: the storage header, then exactly the frames $s sent (ToC $toc), as long as the call" \
		    "${f:-no file}: $out"
	fi
done
side=$(journal_get rec-done sidecar "call=$cid")
if json_test "j['status'] == 'ok' and
[(f['stream'], f['codec'], f['format']) for f in j['files']] == [('caller', 'EVS', 'evs'), ('callee', 'EVS', 'evs')]" \
    < "$side"; then
	pass "the sidecar: caller and callee, EVS, format evs, no mix"
else
	fail "the sidecar: caller and callee, EVS, format evs, no mix" "$(cat "$side" 2>&1)"
fi
sipp_wait caller
sipp_wait callee
sipd_alive
stop_sipd
stop_mediad m1
stop_recd r1
done_testing
