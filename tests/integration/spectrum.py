#!/usr/bin/env python3
"""spectrum.py — which test tones a phone heard, for the room tests, where
a recording holds several tones at once (tonecheck.py reads one).

  spectrum.py WAV FREQ...

Prints one JSON object: seconds (the file's length), sound (seconds of
20 ms windows whose RMS is at least 0.02 of full scale), and for each
FREQ its level in dB relative to full scale over those windows
("levels": {"400": -12.3, ...}), measured with the Goertzel algorithm on
100 ms blocks (10 Hz resolution, so tones 100 Hz apart stay apart).  A
tone that is there sits near -10 dB (half scale, -6 dB, less the mix);
one that is not is below -40 dB.  16-bit PCM; first channel only.  Pure
Python.
"""

import array
import json
import math
import sys
import wave

WINDOW = 0.020
BLOCK = 0.100
THRESHOLD = 0.02


def goertzel(samples, rate, freq):
    """Power of freq in samples (full scale 1.0 -> amplitude**2 / 2)."""
    n = len(samples)
    k = round(n * freq / rate)
    w = 2.0 * math.pi * k / n
    c = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + c * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - c * s1 * s2
    return 2.0 * power / (n * n)


def main(path, freqs):
    with wave.open(path, "rb") as w:
        rate, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        print(json.dumps({"error": "not 16-bit PCM"}))
        return 1
    a = array.array("h")
    a.frombytes(raw[:len(raw) - len(raw) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    if ch > 1:
        a = a[::ch]
    x = [v / 32768.0 for v in a]
    step = max(1, int(rate * WINDOW))
    loud = []
    for i in range(0, len(x) - step + 1, step):
        win = x[i:i + step]
        if math.sqrt(sum(v * v for v in win) / step) >= THRESHOLD:
            loud.extend(win)
    blk = int(rate * BLOCK)
    levels = {}
    for f in freqs:
        powers = [goertzel(loud[i:i + blk], rate, f)
                  for i in range(0, len(loud) - blk + 1, blk)]
        p = sum(powers) / len(powers) if powers else 0.0
        levels[str(f)] = round(10 * math.log10(p), 1) if p > 0 else -200.0
    print(json.dumps({"seconds": round(len(x) / rate, 3), "rate": rate,
                      "sound": round(len(loud) / rate, 3), "levels": levels}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: spectrum.py WAV FREQ...", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], [int(f) for f in sys.argv[2:]]))
