#!/bin/bash
# amr_ffmpeg.sh — an independent decoder reads what mediad's AMR codec
# writes: a 1 kHz tone goes through codec_encode (tests/tools/amrtone, as
# RTP payloads in hex), codec_unpack (tests/tools/amrdepack, to an RFC 4867
# storage file) and ffmpeg's own AMR-NB / AMR-WB decoders (not opencore,
# not vo-amrwbenc).  For AMR and AMR-WB, octet-aligned and
# bandwidth-efficient, at the highest mode with one frame a payload and at
# the lowest with three:
#   - ffmpeg decodes every frame (50 frames of 20 ms at 8 or 16 kHz);
#   - the tone is at 1000 Hz within 2 % (sox stat's rough frequency over
#     all but the first 100 ms, corrected for its bias: for a sine it reads
#     rate/pi * sin(pi * f / rate), 974 for 1000 Hz at 8 kHz);
#   - its level is within 6 dB of the -15 dB RMS it was sent at (ffmpeg's
#     AMR-WB decoder gives about 4 dB less than opencore's, whose level is
#     right: tests/unit/codec_test checks it within 3 dB).
# Also: amrdepack refuses a payload cut short.
#
# Environment: top_srcdir and top_builddir, as for every integration test.
# Needs ffmpeg and sox; skipped without them.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need ffmpeg sox soxi awk
AMRTONE=$top_builddir/tests/tools/amrtone
AMRDEPACK=$top_builddir/tests/tools/amrdepack
for tool in "$AMRTONE" "$AMRDEPACK"; do
	[ -x "$tool" ] || { echo "Bail out! $tool not built (make check builds it)"; exit 1; }
done

FREQ=1000
SECONDS_SENT=1
SENT_RMS_DB=-15.2	# 8000 / 32768 peak, as RMS

# one_run CODEC FORMAT MODE FRAMES-PER-PAYLOAD
one_run() {
	local codec=$1 format=$2 mode=$3 per=$4 rate spf name ext got want rough freq rms
	name="$codec $format mode $mode, $per frame(s) a payload"
	ext=amr rate=8000 spf=160
	[ "$codec" = AMR-WB ] && ext=awb rate=16000 spf=320
	local base=$T/$codec-$format-$mode-$per
	if ! "$AMRTONE" "$codec" "$format" "$mode" $FREQ $SECONDS_SENT "$per" > "$base.hex" 2> "$base.err" ||
	    ! "$AMRDEPACK" "$codec" "$format" < "$base.hex" > "$base.$ext" 2>> "$base.err"; then
		fail "$name: amrtone | amrdepack" "$(cat "$base.err")"
		return
	fi
	if ! ffmpeg -nostdin -v error -y -i "$base.$ext" "$base.wav" 2> "$base.ffmpeg"; then
		fail "$name: ffmpeg decodes it" "$(cat "$base.ffmpeg")"
		return
	fi
	want="$((SECONDS_SENT * 50 * spf)) samples at $rate Hz"
	got="$(soxi -s "$base.wav") samples at $(soxi -r "$base.wav") Hz"
	check_eq "$name: ffmpeg decodes every frame" "$want" "$got"

	sox "$base.wav" -n trim 0.1 stat 2> "$base.stat"
	rough=$(awk '/^Rough +frequency:/ { print $3 }' "$base.stat")
	rms=$(awk '/^RMS +amplitude:/ { print $3 }' "$base.stat")
	freq=$(awk -v r="$rough" -v rate="$rate" 'BEGIN {
		pi = atan2(0, -1); x = pi * r / rate
		printf "%.1f", rate / pi * atan2(x, sqrt(1 - x * x)) }')
	if awk -v f="$freq" -v want=$FREQ 'BEGIN { exit !(f >= want * 0.98 && f <= want * 1.02) }'; then
		pass "$name: ffmpeg hears $freq Hz"
	else
		fail "$name: ffmpeg hears $FREQ Hz within 2 %" "heard $freq Hz (sox rough frequency $rough)" \
		    "$(cat "$base.stat")"
	fi
	if awk -v a="$rms" -v sent=$SENT_RMS_DB 'BEGIN {
		db = 20 * log(a) / log(10); exit !(a > 0 && db > sent - 6 && db < sent + 6) }'; then
		pass "$name: level as sent (RMS $rms)"
	else
		fail "$name: level within 6 dB of $SENT_RMS_DB dB" "RMS amplitude $rms" "$(cat "$base.stat")"
	fi
}

for codec in AMR AMR-WB; do
	max=7
	[ "$codec" = AMR-WB ] && max=8
	for format in octet be; do
		one_run "$codec" "$format" $max 1
		one_run "$codec" "$format" 0 3
	done
done

# a payload cut short is refused, and the line named
"$AMRTONE" AMR octet 7 $FREQ 0.1 > "$T/cut.hex"
sed -i '3s/....$//' "$T/cut.hex"
if "$AMRDEPACK" AMR octet < "$T/cut.hex" > /dev/null 2> "$T/cut.err"; then
	fail "amrdepack refuses a payload cut short" "it exited 0"
else
	check "amrdepack refuses a payload cut short (line 3)" grep -q "line 3: malformed" "$T/cut.err"
fi

done_testing
