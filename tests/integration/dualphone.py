#!/usr/bin/env python3
"""dualphone.py — a callee for Parley's transport tests (transport.sh).

A "phone" that listens on UDP and on TCP at the same host:port, registers
there over UDP (digest auth: 401, then REGISTER with Authorization, 200),
and answers every INVITE on the transport it came on (UDP: to the source
address; TCP: on the same connection): 100, 180, then 200 with SDP and the
Record-Route copied.  It accepts the ACK and answers BYE (and anything else)
with 200, again on the transport the request came on.

  dualphone.py --sipd HOST:PORT --port P [--host 127.0.0.1] [--user 1002]
               [--password pw1002] [--domain pbx.test] [--calls N]
               [--timeout S] --events FILE [--trace FILE]

Events file, one line per event (flushed at once):
  registered status=200
  recv TRANSPORT METHOD len=BYTES call=CALL-ID via=TOP-VIA-VALUE
  sent TRANSPORT STATUS METHOD call=CALL-ID
  done calls=N
The trace file gets every message sent and received, whole.

It exits 0 after N calls (INVITE answered 200, ACK, BYE answered 200) — a
short linger absorbs retransmissions — 1 when --timeout runs out first,
2 when the registration fails.  Loopback only; not a SIP stack.
"""

import argparse
import hashlib
import random
import re
import select
import socket
import sys
import time

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type"}


def token(n=8):
    return "%0*x" % (n, random.getrandbits(4 * n))


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Msg:
    """A parsed SIP message: start line, header lines (name, value), body."""

    def __init__(self, raw):
        self.raw = raw
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.body = body
        self.headers = []
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + ln.strip())
                continue
            name, _, value = ln.partition(":")
            self.headers.append((name.strip(), value.strip()))
        m = re.match(r"SIP/2\.0 (\d{3})", self.start)
        self.status = int(m.group(1)) if m else 0
        self.method = None if m else self.start.split(" ", 1)[0]

    @staticmethod
    def _norm(name):
        n = name.lower()
        return COMPACT.get(n, n)

    def all(self, name):
        want = name.lower()
        return [(n, v) for n, v in self.headers if self._norm(n) == want]

    def get(self, name):
        h = self.all(name)
        return h[0][1] if h else None

    def top_via(self):
        v = self.get("via") or ""
        return v.split(",", 1)[0].strip()


def split_stream(buf):
    """Whole messages at the start of a TCP byte stream; the rest."""
    out = []
    while True:
        while buf.startswith(b"\r\n"):
            buf = buf[2:]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        head = buf[:end].decode("utf-8", "replace")
        m = re.search(r"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        total = end + 4 + (int(m.group(1)) if m else 0)
        if len(buf) < total:
            return out, buf
        out.append(buf[:total])
        buf = buf[total:]


class Phone:
    def __init__(self, a):
        self.a = a
        self.host = a.host
        self.port = a.port
        shost, _, sport = a.sipd.rpartition(":")
        self.sipd = (shost.strip("[]"), int(sport))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp.bind((self.host, self.port))
        self.lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lst.bind((self.host, self.port))
        self.lst.listen(8)
        self.conns = {}		# socket -> input buffer
        self.events = open(a.events, "a", buffering=1)
        self.trace = open(a.trace, "a", buffering=1) if a.trace else None
        self.contact = "<sip:%s@%s:%d>" % (a.user, self.host, self.port)
        self.calls = {}		# call-id -> state dict
        self.done = 0

    # ------------------------------------------------------------ output
    def event(self, text):
        self.events.write(text + "\n")

    def log(self, direction, transport, peer, data):
        if self.trace:
            self.trace.write("----- %s %s %s (%d bytes)\n%s\n" % (
                direction, transport, peer, len(data),
                data.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n")))

    def send(self, where, data):
        """where: ('UDP', addr) or ('TCP', socket)"""
        kind, dst = where
        if kind == "UDP":
            self.log("sent", "UDP", dst, data)
            self.udp.sendto(data, dst)
        else:
            self.log("sent", "TCP", dst.getpeername(), data)
            try:
                dst.sendall(data)
            except OSError as e:
                self.event("error tcp send: %s" % e)

    # ------------------------------------------------------------ register
    def register(self):
        a = self.a
        uri = "sip:%s" % a.domain
        callid = "dualphone-%s@%s" % (token(), self.host)
        ftag = token()
        auth = ""
        for cseq in (1, 2):
            branch = "z9hG4bK-dp-" + token()
            req = ("REGISTER %s SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP %s:%d;rport;branch=%s\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:%s@%s>;tag=%s\r\n"
                   "To: <sip:%s@%s>\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: %d REGISTER\r\n"
                   "Contact: %s\r\n"
                   "Expires: 600\r\n"
                   "%s"
                   "User-Agent: parley-dualphone\r\n"
                   "Content-Length: 0\r\n\r\n") % (
                uri, self.host, self.port, branch, a.user, a.domain, ftag,
                a.user, a.domain, callid, cseq, self.contact, auth)
            resp = self.udp_transaction(req.encode(), callid, cseq)
            if resp is None:
                self.event("register-failed no final response (CSeq %d)" % cseq)
                return False
            if resp.status == 401 and cseq == 1:
                ch = resp.get("www-authenticate") or ""
                auth = "Authorization: %s\r\n" % self.digest(ch, "REGISTER", uri)
                continue
            self.event("registered status=%d" % resp.status)
            return resp.status == 200
        return False

    def digest(self, challenge, method, uri):
        a = self.a

        def param(name):
            m = re.search(r'(?i)\b%s="([^"]*)"' % name, challenge) or \
                re.search(r"(?i)\b%s=([^,\s]+)" % name, challenge)
            return m.group(1) if m else None
        realm, nonce, opaque, qop = param("realm"), param("nonce"), param("opaque"), param("qop")
        ha1 = md5("%s:%s:%s" % (a.user, realm, a.password))
        ha2 = md5("%s:%s" % (method, uri))
        if qop and "auth" in [q.strip() for q in qop.split(",")]:
            cnonce, nc = token(), "00000001"
            resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
            cred = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                    'response="%s", algorithm=MD5, cnonce="%s", qop=auth, nc=%s' % (
                        a.user, realm, nonce, uri, resp, cnonce, nc))
        else:
            resp = md5("%s:%s:%s" % (ha1, nonce, ha2))
            cred = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                    'response="%s", algorithm=MD5' % (a.user, realm, nonce, uri, resp))
        if opaque:
            cred += ', opaque="%s"' % opaque
        return cred

    def udp_transaction(self, data, callid, cseq):
        """Sends a request over UDP (retransmitted every 0.5 s, 8 times at
        most) and returns its final response, or None."""
        for _ in range(8):
            self.log("sent", "UDP", self.sipd, data)
            self.udp.sendto(data, self.sipd)
            end = time.monotonic() + 0.5
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([self.udp], [], [], left)
                if not r:
                    break
                raw, src = self.udp.recvfrom(65535)
                self.log("received", "UDP", src, raw)
                m = Msg(raw)
                if m.status >= 200 and m.get("call-id") == callid and \
                        (m.get("cseq") or "").split()[0] == str(cseq):
                    return m
        return None

    # ------------------------------------------------------------ answering
    def response(self, req, status, reason, to_tag=None, rr=False, body=b""):
        lines = ["SIP/2.0 %d %s" % (status, reason)]
        for n, v in req.all("via"):
            lines.append("Via: %s" % v)
        lines.append("From: %s" % req.get("from"))
        to = req.get("to")
        if to_tag and not re.search(r"(?i);\s*tag=", to):
            to += ";tag=" + to_tag
        lines.append("To: %s" % to)
        lines.append("Call-ID: %s" % req.get("call-id"))
        lines.append("CSeq: %s" % req.get("cseq"))
        if rr:
            for n, v in req.all("record-route"):
                lines.append("Record-Route: %s" % v)
        if status >= 180 and req.method == "INVITE":
            lines.append("Contact: %s" % self.contact)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def handle(self, where, raw):
        kind = where[0]
        peer = where[1] if kind == "UDP" else where[1].getpeername()
        self.log("received", kind, peer, raw)
        m = Msg(raw)
        if m.method is None:
            return		# a response: nothing of ours is pending
        cid = m.get("call-id") or ""
        self.event("recv %s %s len=%d call=%s via=%s" % (kind, m.method, len(raw), cid, m.top_via()))
        call = self.calls.get(cid)
        if m.method == "INVITE":
            if call is not None and call.get("ok200") is not None:
                # a retransmission: the last response again
                self.send(where, call["ok200"])
                return
            tag = token()
            sdp = ("v=0\r\no=dualphone 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" % (
                       self.host, self.host, self.port + 2)).encode()
            self.send(where, self.response(m, 100, "Trying"))
            self.send(where, self.response(m, 180, "Ringing", tag, rr=True))
            ok = self.response(m, 200, "OK", tag, rr=True, body=sdp)
            self.send(where, ok)
            self.event("sent %s 200 INVITE call=%s" % (kind, cid))
            self.calls[cid] = {"ok200": ok, "where": where, "acked": False, "bye": False,
                               "retx_at": time.monotonic() + 0.5, "retx_n": 0}
        elif m.method == "ACK":
            if call is not None:
                call["acked"] = True
        elif m.method == "BYE":
            self.send(where, self.response(m, 200, "OK"))
            self.event("sent %s 200 BYE call=%s" % (kind, cid))
            if call is not None and not call["bye"]:
                call["bye"] = True
                if call["acked"]:
                    self.done += 1
        else:
            self.send(where, self.response(m, 200, "OK"))
            self.event("sent %s 200 %s call=%s" % (kind, m.method, cid))

    def retransmit(self):
        """2xx retransmission over UDP until the ACK (RFC 3261 13.3.1.4)."""
        now = time.monotonic()
        for call in self.calls.values():
            if call["acked"] or call["where"][0] != "UDP" or call["retx_n"] >= 7:
                continue
            if now >= call["retx_at"]:
                self.send(call["where"], call["ok200"])
                call["retx_n"] += 1
                call["retx_at"] = now + 0.5 * (2 ** call["retx_n"])

    def serve(self):
        deadline = time.monotonic() + self.a.timeout
        linger_until = None
        while True:
            now = time.monotonic()
            if linger_until is None and self.done >= self.a.calls:
                linger_until = now + 0.5
            if linger_until is not None and now >= linger_until:
                self.event("done calls=%d" % self.done)
                return 0
            if now >= deadline:
                self.event("timeout calls=%d of %d" % (self.done, self.a.calls))
                return 1
            wait = min(deadline - now, 0.1)
            socks = [self.udp, self.lst] + list(self.conns)
            r, _, _ = select.select(socks, [], [], wait)
            for s in r:
                if s is self.udp:
                    raw, src = self.udp.recvfrom(65535)
                    self.handle(("UDP", src), raw)
                elif s is self.lst:
                    c, addr = self.lst.accept()
                    self.conns[c] = b""
                    self.event("tcp-accept from %s:%d" % addr)
                else:
                    try:
                        chunk = s.recv(65535)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        del self.conns[s]
                        s.close()
                        continue
                    msgs, self.conns[s] = split_stream(self.conns[s] + chunk)
                    for raw in msgs:
                        self.handle(("TCP", s), raw)
            self.retransmit()


def main():
    p = argparse.ArgumentParser(description="a UDP+TCP callee for transport.sh")
    p.add_argument("--sipd", required=True, help="HOST:PORT of sipd (UDP)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="1002")
    p.add_argument("--password")
    p.add_argument("--domain", default="pbx.test")
    p.add_argument("--calls", type=int, default=1)
    p.add_argument("--timeout", type=float, default=40)
    p.add_argument("--events", required=True)
    p.add_argument("--trace")
    a = p.parse_args()
    if a.password is None:
        a.password = "pw" + a.user
    ph = Phone(a)
    if not ph.register():
        return 2
    return ph.serve()


if __name__ == "__main__":
    sys.exit(main())
