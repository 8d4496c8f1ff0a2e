#!/usr/bin/env python3
"""rtpprobe.py — the RTP side of the phones in Parley's media relay and
room tests.

One process holds every RTP and RTCP socket of the test's sipp phones (a
phone's SIP is sipp; its media is this), sends RTP and RTCP on them when
told (test bytes, a PCMA tone, DTMF), and records everything that
arrives, so that the test can ask what came in, from where, whether it
is byte for byte what the far phone sent, and what it sounds like.
Loopback only; not an RTP stack.

  rtpprobe.py serve --ctl PATH NAME=IP:PORT...
      Binds one UDP socket per NAME and serves commands on the Unix
      socket PATH until told to quit (or killed).

  rtpprobe.py ctl PATH COMMAND [KEY=VALUE...] [--until EXPR] [--timeout S]
      Sends one command, prints the JSON reply, exits 0 if it says ok.
      With --until, repeats the command every 0.1 s until the Python
      expression EXPR (the reply bound to j) is true, for at most S
      seconds (default 20); exit 1 if it never was.

Commands (the reply always has "ok"; "error" when not ok):
  ping
  send sock=NAME to=IP:PORT [kind=rtp|rtcp|dtmf] [ssrc=N] [pt=N] [count=N]
       [interval=MS] [seq=N] [ts=N] [tsinc=N] [size=BYTES] [skip=I,J,...]
       [tone=HZ [level=L]] [event=N] [tag=TAG]
      Starts sending from socket NAME: count packets (0: until stopped)
      every interval ms.  RTP: payload type pt, sequence numbers from
      seq, timestamps from ts in steps of tsinc, size payload bytes that
      depend on (ssrc, seq) only, or with tone= a sine of HZ at L of full
      scale (default 0.5) as size G.711 A-law samples (PCMA, 8 kHz, the
      phase running on from packet to packet); skip lists offsets
      (0-based, of count) whose sequence number is used up but whose
      packet is not sent, so the receiver sees a gap.  kind=dtmf: one
      RFC 4733 telephone-event (event N, 0-9 the digits, 10 '*', 11 '#')
      lasting count packets: one timestamp (ts), the marker bit on the
      first, the duration growing by tsinc, the last three with the end
      bit.  RTCP: a compound SR + SDES (CNAME) with ssrc.  tag names the
      sender (default: sock); a tag in use is refused until that sender
      is done or stopped.
  stop tag=TAG            stops a sender
  sent tag=TAG            {"sent": N, "done": bool, "ssrc": N, "kind": K}
  mark sock=NAME          {"mark": number of packets NAME got so far}
  got sock=NAME [since=MARK] [ssrc=N]
      what NAME received (from MARK on): {"pkts", "rtp", "rtcp",
      "sources": {"ip:port": n}, "ssrcs": {"ssrc": n}, "first_seq",
      "last_seq", "pts": {"pt": n}, "markers": [i, ...] (which RTP
      packets, 0 the first, had the marker bit), "seq_steps" and
      "ts_steps": {"step": n} (from each RTP packet to the next, modulo
      2^16 and 2^32)} — ssrc= counts only packets with that SSRC
  save sock=NAME [since=MARK] [until=MARK] [pt=N] [fmt=pcma|hex] [path=FILE]
      the payloads of the RTP packets NAME received between the marks
      (of payload type pt if given): fmt=pcma decodes them as G.711
      A-law into a 16-bit 8 kHz WAV at path; fmt=hex writes one payload
      a line in hex (tests/tools/amrdepack reads that).  Replies
      {"packets", and for pcma "samples", "rms" and "peak" (full scale
      1.0)}
  verify sock=NAME tag=TAG [since=MARK]
      compares what NAME received with SSRC of sender TAG against what
      TAG sent: {"sent", "received", "identical", "changed" (up to 5
      descriptions), "duplicates", "sources": {"ip:port": n}}
  quit

SSRCs and other numbers may be given in decimal or 0x hex; in replies
SSRCs are hex strings.
"""

import array
import json
import math
import os
import selectors
import socket
import struct
import sys
import time
import wave


def num(v):
    return int(v, 0) if isinstance(v, str) else int(v)


def rtp_payload(ssrc, seq, size):
    base = (ssrc ^ (ssrc >> 8) ^ (ssrc >> 16)) & 0xff
    return bytes((base + seq * 31 + i * 7) & 0xff for i in range(size))


def alaw_encode(x):
    """G.711 A-law of one 16-bit sample (ITU-T G.711, as Sun's g711.c)."""
    if x >= 0:
        mask, v = 0xD5, x >> 3
    else:
        mask, v = 0x55, -(x >> 3) - 1
    seg = 0
    while seg < 8 and v >= 0x20 << seg:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    mant = (v >> 1) & 0x0F if seg < 2 else (v >> seg) & 0x0F
    return ((seg << 4) | mant) ^ mask


def alaw_decode(a):
    """The 16-bit sample of one A-law byte."""
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


ALAW_DECODE = [alaw_decode(a) for a in range(256)]


def tone_payload(freq, level, first, n):
    """n A-law samples of a sine, sample index first on (8 kHz)."""
    amp = level * 32767
    return bytes(alaw_encode(int(round(amp * math.sin(2 * math.pi * freq * (first + k) / 8000))))
                 for k in range(n))


def rtcp_sr(ssrc, n, cname):
    now = time.time() + 2208988800
    msw, lsw = int(now), int((now % 1) * (1 << 32))
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, msw, lsw, n * 160, n, n * 160)
    item = cname.encode()[:255]
    chunk = struct.pack("!I", ssrc) + bytes([1, len(item)]) + item + b"\0"
    chunk += b"\0" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


def parse(data):
    """(kind, ssrc, seq) of a datagram; kind rtp, rtcp or junk."""
    if len(data) < 8 or data[0] >> 6 != 2:
        return "junk", None, None
    if 200 <= data[1] <= 204:
        return "rtcp", struct.unpack("!I", data[4:8])[0], None
    if len(data) < 12:
        return "junk", None, None
    seq, _, ssrc = struct.unpack("!HII", data[2:12])
    return "rtp", ssrc, seq


def rtp_payload_of(data):
    """The payload of an RTP packet (CSRCs, extension and padding skipped)."""
    off = 12 + (data[0] & 0x0F) * 4
    if data[0] & 0x10 and len(data) >= off + 4:
        off += 4 + struct.unpack("!H", data[off + 2:off + 4])[0] * 4
    end = len(data)
    if data[0] & 0x20 and end > off:
        end -= data[-1]
    return data[off:end]


class Sender:
    def __init__(self, probe, a):
        self.sock = probe.socks[a["sock"]]
        host, port = a["to"].rsplit(":", 1)
        self.dst = (host, int(port))
        self.kind = a.get("kind", "rtp")
        self.ssrc = num(a.get("ssrc", "0x12345678"))
        self.pt = num(a.get("pt", "8"))
        self.count = num(a.get("count", "50"))
        self.interval = num(a.get("interval", "20")) / 1000.0
        self.seq0 = num(a.get("seq", "1000"))
        self.ts0 = num(a.get("ts", "160000"))
        self.tsinc = num(a.get("tsinc", "160"))
        self.size = num(a.get("size", "160"))
        self.skip = {int(x) for x in a.get("skip", "").split(",") if x != ""}
        self.tone = float(a["tone"]) if "tone" in a else None
        self.level = float(a.get("level", "0.5"))
        self.event = num(a.get("event", "5"))
        self.cname = "probe-%s@127.0.0.1" % a.get("tag", a["sock"])
        self.i = 0			# next offset
        self.sent = 0
        self.errors = 0
        self.done = False
        self.next = time.monotonic()
        self.packets = {}		# rtp: seq -> bytes; rtcp: bytes -> True

    def due(self, now):
        return not self.done and now >= self.next

    def fire(self, now):
        while not self.done and now >= self.next:
            i = self.i
            self.i += 1
            self.next += self.interval
            if self.count and self.i >= self.count:
                self.done = True
            if i in self.skip:
                continue
            if self.kind == "rtcp":
                pkt = rtcp_sr(self.ssrc, i + 1, self.cname)
                self.packets[pkt] = True
            elif self.kind == "dtmf":
                seq = (self.seq0 + i) & 0xffff
                end = self.count and i >= self.count - 3
                dur = min(i, self.count - 3 if self.count else i) + 1
                hdr = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | (self.pt & 0x7f),
                                  seq, self.ts0 & 0xffffffff, self.ssrc)
                pkt = hdr + struct.pack("!BBH", self.event & 0xff, (0x80 if end else 0) | 10,
                                        (dur * self.tsinc) & 0xffff)
                self.packets[seq] = pkt
            else:
                seq = (self.seq0 + i) & 0xffff
                ts = (self.ts0 + i * self.tsinc) & 0xffffffff
                hdr = struct.pack("!BBHII", 0x80, self.pt & 0x7f, seq, ts, self.ssrc)
                if self.tone is not None:
                    pkt = hdr + tone_payload(self.tone, self.level, i * self.size, self.size)
                else:
                    pkt = hdr + rtp_payload(self.ssrc, seq, self.size)
                self.packets[seq] = pkt
            try:
                self.sock.sendto(pkt, self.dst)
                self.sent += 1
            except OSError:
                self.errors += 1	# e.g. ICMP unreachable from an earlier send
            if now - self.next > 1.0:	# far behind: do not burst
                self.next = now + self.interval


class Probe:
    def __init__(self, ctl, binds):
        self.sel = selectors.DefaultSelector()
        self.socks = {}
        self.rx = {}			# name -> [(src "ip:port", bytes)]
        self.senders = {}
        for b in binds:
            name, addr = b.split("=", 1)
            host, port = addr.rsplit(":", 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((host, int(port)))
            s.setblocking(False)
            self.socks[name] = s
            self.rx[name] = []
            self.sel.register(s, selectors.EVENT_READ, ("udp", name))
        try:
            os.unlink(ctl)
        except FileNotFoundError:
            pass
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.bind(ctl)
        self.ctl.listen(16)
        self.ctl.setblocking(False)
        self.sel.register(self.ctl, selectors.EVENT_READ, ("ctl", None))
        self.quit = False

    def run(self):
        while not self.quit:
            now = time.monotonic()
            nxt = [s.next for s in self.senders.values() if not s.done]
            timeout = max(0.0, min(nxt) - now) if nxt else 0.5
            for key, _ in self.sel.select(min(timeout, 0.5)):
                what, name = key.data
                if what == "udp":
                    self.read(name, key.fileobj)
                elif what == "ctl":
                    self.accept()
                else:
                    self.command(key.fileobj, name)
            now = time.monotonic()
            for s in self.senders.values():
                if s.due(now):
                    s.fire(now)

    def read(self, name, s):
        while True:
            try:
                data, src = s.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue		# ICMP errors reported on the socket
            self.rx[name].append(("%s:%d" % src, data))

    def accept(self):
        try:
            c, _ = self.ctl.accept()
        except OSError:
            return
        c.setblocking(True)
        c.settimeout(5)
        self.sel.register(c, selectors.EVENT_READ, ("cmd", [b""]))

    def command(self, c, bufref):
        try:
            chunk = c.recv(65536)
        except OSError:
            chunk = b""
        bufref[0] += chunk
        if chunk and b"\n" not in bufref[0]:
            return
        self.sel.unregister(c)
        try:
            req = json.loads(bufref[0].split(b"\n", 1)[0] or b"{}")
            rep = self.do(req)
        except Exception as e:		# a bad command must not end the probe
            rep = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        try:
            c.sendall(json.dumps(rep).encode() + b"\n")
        except OSError:
            pass
        c.close()

    def do(self, a):
        cmd = a.get("cmd")
        if cmd == "ping":
            return {"ok": True, "socks": sorted(self.socks)}
        if cmd == "quit":
            self.quit = True
            return {"ok": True}
        if cmd == "send":
            if a.get("sock") not in self.socks:
                return {"ok": False, "error": "no socket %r" % a.get("sock")}
            tag = a.get("tag", a["sock"])
            old = self.senders.get(tag)
            if old is not None and not old.done:
                return {"ok": False, "error": "sender %r still running" % tag}
            a["tag"] = tag
            self.senders[tag] = Sender(self, a)
            return {"ok": True, "tag": tag}
        if cmd in ("stop", "sent"):
            s = self.senders.get(a.get("tag"))
            if s is None:
                return {"ok": False, "error": "no sender %r" % a.get("tag")}
            if cmd == "stop":
                s.done = True
            return {"ok": True, "sent": s.sent, "done": s.done, "errors": s.errors,
                    "ssrc": "0x%08x" % s.ssrc, "kind": s.kind}
        if a.get("sock") not in self.rx:
            return {"ok": False, "error": "no socket %r" % a.get("sock")}
        rx = self.rx[a["sock"]]
        if cmd == "mark":
            return {"ok": True, "mark": len(rx)}
        since = num(a.get("since", "0"))
        if cmd == "got":
            want = num(a["ssrc"]) if "ssrc" in a else None
            r = {"ok": True, "pkts": 0, "rtp": 0, "rtcp": 0, "junk": 0,
                 "sources": {}, "ssrcs": {}, "first_seq": None, "last_seq": None,
                 "pts": {}, "markers": [], "seq_steps": {}, "ts_steps": {}}
            last_ts = None
            for src, data in rx[since:]:
                kind, ssrc, seq = parse(data)
                if want is not None and ssrc != want:
                    continue
                r["pkts"] += 1
                r[kind] += 1
                r["sources"][src] = r["sources"].get(src, 0) + 1
                if ssrc is not None:
                    k = "0x%08x" % ssrc
                    r["ssrcs"][k] = r["ssrcs"].get(k, 0) + 1
                if kind != "rtp":
                    continue
                ts = struct.unpack("!I", data[4:8])[0]
                pt = str(data[1] & 0x7f)
                r["pts"][pt] = r["pts"].get(pt, 0) + 1
                if data[1] & 0x80:
                    r["markers"].append(r["rtp"] - 1)
                if r["first_seq"] is None:
                    r["first_seq"] = seq
                else:
                    for k, d in (("seq_steps", (seq - r["last_seq"]) & 0xffff),
                                 ("ts_steps", (ts - last_ts) & 0xffffffff)):
                        r[k][str(d)] = r[k].get(str(d), 0) + 1
                r["last_seq"] = seq
                last_ts = ts
            return r
        if cmd == "save":
            return self.save(rx[since:num(a["until"]) if "until" in a else len(rx)], a)
        if cmd == "verify":
            s = self.senders.get(a.get("tag"))
            if s is None:
                return {"ok": False, "error": "no sender %r" % a.get("tag")}
            r = {"ok": True, "sent": s.sent, "received": 0, "identical": 0,
                 "changed": [], "duplicates": 0, "sources": {}}
            seen = set()
            for src, data in rx[since:]:
                kind, ssrc, seq = parse(data)
                if ssrc != s.ssrc or kind != ("rtcp" if s.kind == "rtcp" else "rtp"):
                    continue
                r["received"] += 1
                r["sources"][src] = r["sources"].get(src, 0) + 1
                key = seq if kind == "rtp" else data
                if key in seen:
                    r["duplicates"] += 1
                seen.add(key)
                if kind == "rtp":
                    ok = s.packets.get(seq) == data
                else:
                    ok = data in s.packets
                if ok:
                    r["identical"] += 1
                elif len(r["changed"]) < 5:
                    r["changed"].append("%s packet %s from %s: %s" % (
                        kind, seq if seq is not None else "?", src, data[:24].hex()))
            return r
        return {"ok": False, "error": "unknown command %r" % cmd}

    @staticmethod
    def save(rx, a):
        want = num(a["pt"]) if "pt" in a else None
        fmt = a.get("fmt", "pcma")
        if fmt not in ("pcma", "hex"):
            return {"ok": False, "error": "fmt must be pcma or hex"}
        payloads = []
        for _, data in rx:
            if parse(data)[0] != "rtp" or (want is not None and data[1] & 0x7f != want):
                continue
            payloads.append(rtp_payload_of(data))
        r = {"ok": True, "packets": len(payloads)}
        if fmt == "hex":
            if "path" in a:
                with open(a["path"], "w") as f:
                    f.writelines(p.hex() + "\n" for p in payloads)
            return r
        pcm = array.array("h", (ALAW_DECODE[b] for p in payloads for b in p))
        r["samples"] = len(pcm)
        r["rms"] = round(math.sqrt(sum(x * x for x in pcm) / len(pcm)) / 32768, 5) if pcm else 0
        r["peak"] = round(max((abs(x) for x in pcm), default=0) / 32768, 5)
        if "path" in a:
            if sys.byteorder == "big":
                pcm.byteswap()
            with wave.open(a["path"], "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(pcm.tobytes())
        return r


def client(path, cmd, pairs, until, timeout):
    req = {"cmd": cmd}
    for p in pairs:
        k, _, v = p.partition("=")
        req[k] = v
    deadline = time.monotonic() + timeout
    while True:
        rep = None
        try:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(10)
            c.connect(path)
            c.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            c.close()
            rep = json.loads(buf)
        except (OSError, ValueError) as e:
            rep = {"ok": False, "error": "probe at %s: %s" % (path, e)}
        done = bool(rep.get("ok"))
        if done and until is not None:
            try:
                done = bool(eval("(" + until + "\n)", {}, {"j": rep}))
            except Exception:
                done = False
        if done or until is None or time.monotonic() > deadline:
            print(json.dumps(rep, sort_keys=True))
            return 0 if done else 1
        time.sleep(0.1)


def main(argv):
    if len(argv) >= 3 and argv[1] == "serve":
        args = argv[2:]
        if args[0] != "--ctl" or len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        Probe(args[1], args[2:]).run()
        return 0
    if len(argv) >= 4 and argv[1] == "ctl":
        args = argv[4:]
        until, timeout = None, 20.0
        rest = []
        i = 0
        while i < len(args):
            if args[i] == "--until":
                until = args[i + 1]
                i += 2
            elif args[i] == "--timeout":
                timeout = float(args[i + 1])
                i += 2
            else:
                rest.append(args[i])
                i += 1
        return client(argv[2], argv[3], rest, until, timeout)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
