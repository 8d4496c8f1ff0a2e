#!/usr/bin/env python3
"""tonecheck.py — what a phone heard, from its recording, for the tests
that play a test tone into a call (phones.sh: check_heard).

  tonecheck.py WAV

Prints one JSON object: seconds (the file's length), sound (seconds of
20 ms windows whose RMS is at least 0.05 of full scale: the part where
something was heard), freq (the tone's frequency in Hz over those windows,
from zero crossings with hysteresis, so noise near zero does not count),
rms (RMS of those windows, full scale 1.0), rate.  16-bit PCM WAV; of
several channels only the first is read.  Pure Python: no numpy needed.
"""

import array
import json
import sys
import wave

WINDOW = 0.020
THRESHOLD = 0.05	# window RMS, full scale 1.0
HYST = 0.03		# crossing hysteresis, full scale 1.0


def read_mono(path):
    """(rate, samples) of a 16-bit PCM WAV's first channel; samples None
    if it is not 16-bit PCM.  spectrum.py reads its WAVs with this too."""
    with wave.open(path, "rb") as w:
        rate, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        return rate, None
    a = array.array("h")
    a.frombytes(raw[:len(raw) - len(raw) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    if ch > 1:
        a = a[::ch]
    return rate, a


def main(path):
    rate, a = read_mono(path)
    if a is None:
        print(json.dumps({"error": "not 16-bit PCM"}))
        return 1
    step = max(1, int(rate * WINDOW))
    loud = []				# samples of the windows with sound
    windows = 0
    sumsq = 0.0
    for i in range(0, len(a) - step + 1, step):
        win = a[i:i + step]
        e = sum(x * x for x in win) / step
        if (e ** 0.5) / 32768.0 >= THRESHOLD:
            windows += 1
            sumsq += e
            loud.append(win)
    # upward crossings of +HYST after having been below -HYST; the state
    # carries over from one loud window to the next (a gap between runs of
    # windows adds at most one crossing)
    ups = 0
    state = 0
    h = HYST * 32768
    for win in loud:
        for x in win:
            if x > h:
                if state < 0:
                    ups += 1
                state = 1
            elif x < -h:
                state = -1
    sound = windows * step / rate
    out = {
        "seconds": round(len(a) / rate, 3) if rate else 0,
        "sound": round(sound, 3),
        "freq": round(ups / sound, 1) if sound else 0,
        "rms": round((sumsq / windows) ** 0.5 / 32768.0, 4) if windows else 0,
        "rate": rate,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
