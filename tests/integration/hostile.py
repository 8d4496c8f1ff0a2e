#!/usr/bin/env python3
"""hostile.py -- throws malformed and hostile input at a running sipd.

Used by hostile.sh.  Each "kind" of bad input is sent to sipd over UDP or
TCP on 127.0.0.1; right after it a valid OPTIONS goes out and a 200 must come
back (sipd still alive and serving).  Where the bad input is a request whose
start line and top Via are good (a response can be routed), the answer is
checked too:

  reject   a 400 (or the listed codes) with a non-empty reason phrase
  reject_or_close
           the same, or sipd closes the TCP connection (broken framing)
  reply    some final response with a non-empty reason phrase
  noreply  nothing at all (responses and ACKs are never answered)
  any      only recorded: a response or a silent drop are both fine

Prints one TAP line per kind ("ok N - ..." / "not ok N - ..."), numbered from
--tap-start, each followed by a "# " line saying what sipd did (status and
reason, "dropped", "connection closed").  Exits 0 after the last kind; a
failure is in the TAP, not in the exit status.  --count prints the number of
kinds and exits.
"""
import argparse
import hashlib
import os
import random
import re
import select
import socket
import sys
import time

PROBE_TRIES = 10  # OPTIONS retransmissions (0.5 s apart) before giving up

# ------------------------------------------------------------------ parsing


class Msg:
    """A SIP message as sipd sent it (responses only, loosely parsed)."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.start = lines[0]
        self.headers = []
        for l in lines[1:]:
            name, _, value = l.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", self.start)
        self.status = int(m.group(1)) if m else 0
        self.reason = m.group(2).strip() if m else ""

    COMPACT = {"i": "call-id", "v": "via", "f": "from", "t": "to", "l": "content-length"}

    def get(self, name):
        for n, v in self.headers:
            if self.COMPACT.get(n, n) == name:
                return v
        return None

    def call_id(self):
        return self.get("call-id")

    def __str__(self):
        if self.status:
            return "%d %s" % (self.status, self.reason)
        return "non-response %r" % self.start[:60]


def split_stream(buf):
    """Cuts whole messages off a TCP buffer: (messages, pongs, rest)."""
    msgs, pongs = [], 0
    while True:
        if buf.startswith(b"\r\n"):
            buf = buf[2:]
            pongs += 1
            continue
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return msgs, pongs, buf
        m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", buf[:end])
        clen = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + clen:
            return msgs, pongs, buf
        msgs.append(Msg(buf[:end + 4 + clen]))
        buf = buf[end + 4 + clen:]


# ------------------------------------------------------------------ building


def token(n=16):
    return "".join(random.choice("0123456789abcdef") for _ in range(n))


class Ctx:
    """Addresses and names a builder needs; fresh ids on every use."""

    def __init__(self, args, proto, lport):
        self.host = args.host
        self.port = args.tcp_port if proto == "TCP" else args.udp_port
        self.domain = args.domain
        self.user = args.user
        self.password = args.password
        self.proto = proto
        self.lport = lport

    def via(self, branch=None, params=";rport"):
        if branch is None:
            branch = "z9hG4bK" + token()
        b = ";branch=" + branch if branch else ""
        return "Via: SIP/2.0/%s 127.0.0.1:%d%s%s" % (self.proto, self.lport, b, params)

    def ruri(self):
        return "sip:%s:%d" % (self.host, self.port)


def build(ctx, method="OPTIONS", ruri=None, version="SIP/2.0", via=True, call_id=True,
      cseq=True, frm=True, to=True, maxfwd=True, clen=True, extra=(), body=b"",
      start=None, cseq_num=1):
    """A request with every header right unless told otherwise.

    via/call_id/cseq/frm/to/maxfwd/clen: True = the usual header, False =
    leave it out, a string = that header line instead.  extra: more lines.
    """
    ruri = ruri if ruri is not None else ctx.ruri()
    lines = [start if start is not None else "%s %s %s" % (method, ruri, version)]

    def pick(v, default):
        if v is True:
            lines.append(default)
        elif v:
            lines.append(v)

    pick(via, ctx.via())
    pick(maxfwd, "Max-Forwards: 70")
    pick(frm, "From: <sip:%s@%s>;tag=%s" % (ctx.user, ctx.domain, token(8)))
    pick(to, "To: <sip:%s@%s>" % (ctx.user, ctx.domain))
    pick(call_id, "Call-ID: hostile-%s@127.0.0.1" % token())
    pick(cseq, "CSeq: %d %s" % (cseq_num, method))
    lines.extend(extra)
    if isinstance(body, str):
        body = body.encode()
    pick(clen, "Content-Length: %d" % len(body))
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1") + body


def digest(ctx, chal, method, uri):
    """An Authorization value answering challenge header value chal."""
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
    realm, nonce = p.get("realm", ""), p.get("nonce", "")
    ha1 = hashlib.md5(("%s:%s:%s" % (ctx.user, realm, ctx.password)).encode()).hexdigest()
    ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
    cnonce, nc = token(8), "00000001"
    if "auth" in p.get("qop", "").split(","):
        resp = hashlib.md5(("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2)).encode()).hexdigest()
        qop = ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        resp = hashlib.md5(("%s:%s:%s" % (ha1, nonce, ha2)).encode()).hexdigest()
        qop = ""
    v = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5%s' % (
        ctx.user, realm, nonce, uri, resp, qop)
    if "opaque" in p:
        v += ', opaque="%s"' % p["opaque"]
    return v


# ------------------------------------------------------------------ transports


class Udp:
    def __init__(self, args):
        self.args = args
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.lport = self.s.getsockname()[1]
        self.dst = (args.host, args.udp_port)
        self.got = []  # every message received, in order

    def send(self, data):
        self.s.sendto(data, self.dst)
        return True

    def recv(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return None
        try:
            data, _ = self.s.recvfrom(70000)
        except ConnectionRefusedError:  # ICMP from an earlier send
            return None
        m = Msg(data)
        self.got.append(m)
        return m

    def close(self):
        self.s.close()


class Tcp:
    def __init__(self, args):
        self.args = args
        self.s = socket.create_connection((args.host, args.tcp_port), timeout=5)
        self.lport = self.s.getsockname()[1]
        self.buf = b""
        self.closed = False
        self.pongs = 0
        self.queue = []
        self.got = []

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def _fill(self, timeout):
        if self.closed:
            return False
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return False
        try:
            data = self.s.recv(70000)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        msgs, pongs, self.buf = split_stream(self.buf)
        self.pongs += pongs
        self.queue.extend(msgs)
        self.got.extend(msgs)
        return True

    def recv(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.queue:
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                if not self.queue:
                    return None
        return self.queue.pop(0)

    def wait_close(self, timeout):
        """True if sipd closes the connection within timeout (data is kept)."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        return self.closed

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def probe(args, t, tries=PROBE_TRIES, tcp_wait=5.0):
    """A valid OPTIONS on transport t; returns its response or None.

    Over UDP the same request is retransmitted every 0.5 s (sipd answers
    retransmissions from its transaction).
    """
    ctx = Ctx(args, "TCP" if isinstance(t, Tcp) else "UDP", t.lport)
    cid = "probe-%s@127.0.0.1" % token()
    req = build(ctx, call_id="Call-ID: " + cid)
    for _ in range(tries if isinstance(t, Udp) else 1):
        if not t.send(req):
            return None
        deadline = time.monotonic() + (0.5 if isinstance(t, Udp) else tcp_wait)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            m = t.recv(left)
            if m is None:
                break
            if m.call_id() == cid and m.status >= 200:
                return m
    return None


def replies_before(t, probe_resp):
    """Messages sipd sent on t before the probe's answer (the kind's answers)."""
    out = []
    for m in t.got:
        if m is probe_resp:
            break
        out.append(m)
    return out


# ------------------------------------------------------------------ the kinds

KINDS = []


def kind(name, transports=("UDP", "TCP"), expect="any", codes=(400,), auth=False):
    """Registers a builder: fn(ctx) -> bytes."""
    def deco(fn):
        for tp in transports:
            KINDS.append(dict(name=name, fn=fn, proto=tp, expect=expect, codes=codes,
                auth=auth, raw=False))
        return fn
    return deco


def raw_kind(name, expect="any"):
    """A kind that drives its own sockets: fn(args) -> (ok, diag)."""
    def deco(fn):
        KINDS.append(dict(name=name, fn=fn, proto="raw", expect=expect, raw=True))
        return fn
    return deco


# --- framing and start line

kind("empty datagram", ("UDP",))(lambda c: b"")
kind("only CRLF", ("UDP",))(lambda c: b"\r\n")
kind("one byte of garbage", ("UDP",))(lambda c: b"\x8f")
kind("64 KiB of random bytes", ("UDP",))(lambda c: os.urandom(65507))
kind("64 KiB of random bytes", ("TCP",))(lambda c: os.urandom(65536))
kind("request line without SIP version")(lambda c: build(c, start="OPTIONS %s" % c.ruri()))
kind("SIP/3.0", expect="reject", codes=(505, 400))(lambda c: build(c, version="SIP/3.0"))
kind("HTTP GET")(lambda c: b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
kind("bytes 0x80-0xff in the method")(
    lambda c: build(c, start="OPT\x80\xc3\xa9\xffIONS %s SIP/2.0" % c.ruri(),
            cseq="CSeq: 1 OPT\x80\xc3\xa9\xffIONS"))
kind("NUL bytes in headers")(
    lambda c: build(c, extra=("Subject: a\x00b\x00\x00c", "X-\x00Nul: 1")))
kind("header line without colon", expect="reject")(
    lambda c: build(c, extra=("This line has no colon at all",)))

# --- required headers

kind("missing Via")(lambda c: build(c, via=False))
kind("missing Call-ID", expect="reject")(lambda c: build(c, call_id=False))
kind("missing CSeq", expect="reject")(lambda c: build(c, cseq=False))
kind("missing From", expect="reject")(lambda c: build(c, frm=False))
kind("CSeq method mismatch", expect="reject")(lambda c: build(c, cseq="CSeq: 1 INVITE"))
kind("CSeq number non-numeric", expect="reject")(lambda c: build(c, cseq="CSeq: one OPTIONS"))
kind("CSeq number 2^40", expect="reject")(lambda c: build(c, cseq="CSeq: 1099511627776 OPTIONS"))

# --- Content-Length

# over TCP the stream cannot be framed any more: a 400 or closing is fine
kind("Content-Length negative", ("UDP",), expect="reject")(
    lambda c: build(c, clen="Content-Length: -5"))
kind("Content-Length negative", ("TCP",), expect="reject_or_close")(
    lambda c: build(c, clen="Content-Length: -5"))
kind("Content-Length non-numeric", ("UDP",), expect="reject")(
    lambda c: build(c, clen="Content-Length: abc"))
kind("Content-Length non-numeric", ("TCP",), expect="reject_or_close")(
    lambda c: build(c, clen="Content-Length: abc"))
kind("Content-Length larger than the body", ("UDP",), expect="reject")(
    lambda c: build(c, clen="Content-Length: 500", extra=("Content-Type: text/plain",),
            body=b"short body"))

# --- size

kind("10,000 headers")(
    lambda c: build(c, extra=["X:%d" % (i % 10) for i in range(10000)]))
kind("60 KB header value")(lambda c: build(c, extra=("Subject: " + "x" * 60000,)))

# --- Via, From, To, Request-URI

kind("Via without branch", expect="reply")(lambda c: build(c, via=c.via(branch="")))
kind("Via IPv6 literal missing its bracket")(
    lambda c: build(c, via="Via: SIP/2.0/%s [::1:%d;branch=z9hG4bK%s;rport" % (c.proto, c.lport, token())))
kind("From without tag", expect="reply")(
    lambda c: build(c, frm="From: <sip:%s@%s>" % (c.user, c.domain)))
kind("To URI garbage <sip:@@@>", expect="reject")(lambda c: build(c, to="To: <sip:@@@>"))
kind("Request-URI sip: with nothing", expect="reject", codes=(400, 416))(
    lambda c: build(c, ruri="sip:"))

# --- responses and ACKs: never answered

kind("stray 200 OK with a random Via branch", expect="noreply")(
    lambda c: build(c, start="SIP/2.0 200 OK"))
kind("response with status 999", expect="noreply")(
    lambda c: build(c, start="SIP/2.0 999 Nine Nine Nine", cseq="CSeq: 1 INVITE"))
kind("response with status 0", expect="noreply")(
    lambda c: build(c, start="SIP/2.0 0 Zero", cseq="CSeq: 1 INVITE"))
kind("ACK matching no transaction", expect="noreply")(
    lambda c: build(c, method="ACK", ruri="sip:%s@%s" % (c.user, c.domain)))

# --- Max-Forwards, methods

kind("Max-Forwards: -1", expect="reject")(lambda c: build(c, maxfwd="Max-Forwards: -1"))
kind("Max-Forwards: 0", expect="reply")(lambda c: build(c, maxfwd="Max-Forwards: 0"))
kind("Max-Forwards: abc", expect="reject")(lambda c: build(c, maxfwd="Max-Forwards: abc"))
kind("unknown method FROB", expect="reply")(lambda c: build(c, method="FROB"))
kind("CANCEL matching no transaction", expect="reply")(lambda c: build(c, method="CANCEL"))


# --- REGISTER (answered after authenticating when sipd challenges)

def register(c, contacts=("<sip:%s@127.0.0.1:9>",), expires="Expires: 60", extra=(), cseq_num=1):
    ct = ["Contact: " + (x % c.user if "%s" in x else x) for x in contacts]
    return build(c, method="REGISTER", ruri="sip:%s" % c.domain,
             to="To: <sip:%s@%s>" % (c.user, c.domain), cseq_num=cseq_num,
             extra=tuple(ct) + ((expires,) if expires else ()) + tuple(extra))


kind("REGISTER with Expires: -5", expect="reject", auth=True)(
    lambda c, **kw: register(c, expires="Expires: -5", **kw))
kind("REGISTER Contact: * with Expires: 3600", expect="reject", auth=True)(
    lambda c, **kw: register(c, contacts=("*",), expires="Expires: 3600", **kw))
kind("REGISTER with 100 Contact headers", expect="reply", auth=True)(
    lambda c, **kw: register(c, contacts=["<sip:%%s@127.0.0.1:%d>" % (10000 + i) for i in range(100)],
                 **kw))
kind("Authorization with garbage params", expect="reply")(
    lambda c: register(c, extra=('Authorization: Digest ,,=,"x"=y, realm, nonce=,=,,uri==="',)))
kind("Authorization with a 10 KB nonce", expect="reply")(
    lambda c: register(c, extra=('Authorization: Digest username="%s", realm="%s", nonce="%s", '
                 'uri="sip:%s", response="%s"' % (c.user, c.domain, "n" * 10240,
                                 c.domain, "0" * 32),)))
kind("Authorization with unterminated quotes", expect="reply")(
    lambda c: register(c, extra=('Authorization: Digest username="%s, realm="%s, nonce="abc, '
                 'uri="sip:%s, response="0' % (c.user, c.domain, c.domain),)))

# --- INVITE

SDP_BROKEN = (b"v=9\r\no=\r\ns=\xff\xfe\r\nc=IN IP4 999.1.1\r\nt=x y\r\n"
          b"m=audio -1 RTP/AVP 0 8 255 999999\r\na=rtpmap:\r\nm=\r\n")


def invite_broken_sdp(c, extra=(), cseq_num=1):
    return build(c, method="INVITE", ruri="sip:1002@%s" % c.domain,
             to="To: <sip:1002@%s>" % c.domain, cseq_num=cseq_num, body=SDP_BROKEN,
             extra=("Contact: <sip:%s@127.0.0.1:%d>" % (c.user, c.lport),
                "Content-Type: application/sdp") + tuple(extra))


kind("INVITE with a broken SDP body", expect="reply", auth=True)(invite_broken_sdp)


# --- TCP-only framing

@raw_kind("tcp: stream whose Content-Length lies (larger than the body)")
def tcp_clen_lies(args):
    t = Tcp(args)
    c = Ctx(args, "TCP", t.lport)
    t.send(build(c, clen="Content-Length: 300", body=b"only twenty bytes..."))
    closed = t.wait_close(0.5)
    t.close()
    return True, "connection %s" % ("closed by sipd" if closed else "kept open (waiting for the body)")


@raw_kind("tcp: stream whose Content-Length lies (smaller than the body)")
def tcp_clen_short(args):
    t = Tcp(args)
    c = Ctx(args, "TCP", t.lport)
    cid = "hostile-%s@127.0.0.1" % token()
    t.send(build(c, call_id="Call-ID: " + cid, clen="Content-Length: 2",
             body=b"0123456789 garbage that is not a SIP message\r\n\r\n"))
    closed = t.wait_close(1.0)
    t.close()
    got = ", ".join(str(m) for m in t.got) or "no response"
    return True, "%s; connection %s" % (got, "closed by sipd" if closed else "kept open")


@raw_kind("tcp: Content-Length: 99999999")
def tcp_clen_huge(args):
    t = Tcp(args)
    c = Ctx(args, "TCP", t.lport)
    t.send(build(c, clen="Content-Length: 99999999", body=b"x" * 1000))
    t.send(b"y" * 65536)
    closed = t.wait_close(2.0)
    t.close()
    got = ", ".join(str(m) for m in t.got) or "no response"
    return True, "%s; connection %s" % (got, "closed by sipd" if closed else "kept open")


@raw_kind("tcp: request without Content-Length")
def tcp_no_clen(args):
    t = Tcp(args)
    c = Ctx(args, "TCP", t.lport)
    t.send(build(c, clen=False))
    closed = t.wait_close(1.0)
    t.close()
    got = ", ".join(str(m) for m in t.got) or "no response"
    return True, "%s; connection %s" % (got, "closed by sipd" if closed else "kept open")


@raw_kind("tcp: half a message, then close")
def tcp_half(args):
    t = Tcp(args)
    c = Ctx(args, "TCP", t.lport)
    msg = build(c)
    t.send(msg[:len(msg) // 2])
    t.close()
    return True, "sent %d of %d bytes" % (len(msg) // 2, len(msg))


@raw_kind("tcp: half a message left hanging while UDP is served")
def tcp_half_hanging(args):
    t = Tcp(args)
    c = Ctx(args, "TCP", t.lport)
    msg = build(c)
    t.send(msg[:len(msg) // 2])
    u = Udp(args)
    r = probe(args, u)
    u.close()
    t.close()
    if r is None or r.status != 200:
        return False, "UDP OPTIONS got %s while a TCP message was half sent" % (r or "nothing")
    return True, "UDP OPTIONS answered %s meanwhile" % r


@raw_kind("tcp: idle connection does not block UDP")
def tcp_idle(args):
    t = Tcp(args)
    time.sleep(2.0)
    u = Udp(args)
    r = probe(args, u)
    u.close()
    closed = t.wait_close(0.1)
    t.close()
    if r is None or r.status != 200:
        return False, "UDP OPTIONS got %s while a TCP connection idled" % (r or "nothing")
    return True, "UDP OPTIONS answered %s while a TCP connection idled%s" % (
        r, " (sipd closed it)" if closed else "")


@raw_kind("tcp: 100 idle connections do not block UDP or TCP")
def tcp_many_idle(args):
    conns = [Tcp(args) for _ in range(100)]
    u = Udp(args)
    r = probe(args, u)
    u.close()
    t = Tcp(args)
    r2 = probe(args, t)
    t.close()
    for x in conns:
        x.close()
    if r is None or r.status != 200 or r2 is None or r2.status != 200:
        return False, "UDP OPTIONS got %s, TCP OPTIONS got %s" % (r or "nothing", r2 or "nothing")
    return True, "UDP %s, TCP %s with 100 idle connections open" % (r, r2)


@raw_kind("tcp: CRLF keep-alive ping is answered with a CRLF pong (RFC 5626 4.4.1)")
def tcp_keepalive(args):
    t = Tcp(args)
    t.send(b"\r\n\r\n")
    deadline = time.monotonic() + 5
    while t.pongs == 0 and not t.closed and time.monotonic() < deadline:
        t._fill(deadline - time.monotonic())
    pongs, rest = t.pongs, t.buf
    if pongs != 1 or rest:
        t.close()
        return False, "expected exactly one CRLF back, got %d CRLF and %r%s" % (
            pongs, rest[:40], " (connection closed)" if t.closed else "")
    r = probe(args, t)  # the connection still carries SIP afterwards
    t.close()
    if r is None or r.status != 200:
        return False, "pong received, but OPTIONS on the same connection got %s" % (r or "nothing")
    return True, "one CRLF pong; OPTIONS on the same connection then got %s" % r


# ------------------------------------------------------------------ running


def outcome(msgs):
    return ", ".join(str(m) for m in msgs) if msgs else "dropped"


def run_kind(args, k):
    """Returns (ok, diagnostic)."""
    if k["raw"]:
        ok, diag = k["fn"](args)
    else:
        ok, diag = run_message_kind(args, k)
    # liveness: a fresh socket of each transport gets a 200 to OPTIONS
    for cls in (Udp, Tcp):
        try:
            t = cls(args)
        except OSError as e:
            return False, "%s; then sipd refused a %s connection: %s" % (diag, cls.__name__.upper(), e)
        r = probe(args, t)
        t.close()
        if r is None or r.status != 200:
            return False, "%s; then a fresh %s OPTIONS got %s" % (diag, cls.__name__.upper(),
                                        r or "no answer")
    return ok, diag


def run_message_kind(args, k):
    t = Udp(args) if k["proto"] == "UDP" else Tcp(args)
    c = Ctx(args, k["proto"], t.lport)
    data = k["fn"](c)
    t.send(data)
    # the OPTIONS right behind it: sipd handles one source in order, so its
    # 200 arriving means any answer to the bad input has arrived before it
    r = probe(args, t, tcp_wait=2.0)
    replies = replies_before(t, r)
    closed = isinstance(t, Tcp) and t.closed
    final = [m for m in replies if m.status >= 200]
    # authenticate where sipd challenged, and send the same kind again
    if k["auth"] and final and final[-1].status in (401, 407):
        hdr = "www-authenticate" if final[-1].status == 401 else "proxy-authenticate"
        chal = final[-1].get(hdr)
        if chal:
            first = str(final[-1])
            method = "REGISTER" if final[-1].status == 401 else "INVITE"
            uri = "sip:%s" % args.domain if method == "REGISTER" else "sip:1002@%s" % args.domain
            auth = "%s: %s" % ("Authorization" if method == "REGISTER" else "Proxy-Authorization",
                       digest(c, chal, method, uri))
            t.close()
            t = Udp(args) if k["proto"] == "UDP" else Tcp(args)
            c = Ctx(args, k["proto"], t.lport)
            t.send(k["fn"](c, extra=(auth,), cseq_num=2))
            r = probe(args, t, tcp_wait=2.0)
            replies = replies_before(t, r)
            closed = isinstance(t, Tcp) and t.closed
            final = [m for m in replies if m.status >= 200]
            replies = [first + " then (authenticated)"] + replies
    # ACK a final answer to an INVITE so sipd stops retransmitting it
    for m in final:
        if m.get("cseq") and "INVITE" in m.get("cseq") and not closed:
            ack = m.raw.decode("latin-1").split("\r\n\r\n")[0].split("\r\n")
            hdrs = [l for l in ack[1:] if re.match(r"(?i)(via|from|to|call-id|cseq)\s*:", l)]
            hdrs = [re.sub(r"(?i)^cseq\s*:\s*(\d+).*", r"CSeq: \1 ACK", l) for l in hdrs]
            t.send(("ACK sip:1002@%s SIP/2.0\r\nMax-Forwards: 70\r\n%s\r\nContent-Length: 0\r\n\r\n" % (
                args.domain, "\r\n".join(hdrs))).encode("latin-1"))
    t.close()
    diag = outcome([str(x) for x in replies])
    k["what"] = str(final[-1].status) if final else "dropped" if not replies else "other"
    if closed:
        diag += "; connection closed by sipd"
    exp = k["expect"]
    if exp == "noreply":
        if replies:
            return False, "answered a message that must not be answered: " + diag
    elif exp == "reject_or_close" and closed and not final:
        pass
    elif exp in ("reject", "reply", "reject_or_close"):
        if not final:
            return False, "expected a %s, got %s" % (
                "final response" if exp == "reply" else "/".join(map(str, k["codes"])) +
                (" or the connection closed" if exp == "reject_or_close" else ""), diag)
        f = final[-1]
        if not f.reason:
            return False, "empty reason phrase: " + diag
        if exp != "reply" and f.status not in k["codes"]:
            return False, "expected %s, got %s" % ("/".join(map(str, k["codes"])), diag)
    if r is None and not closed:
        # the same-socket probe is only for ordering; liveness is checked after
        diag += "; OPTIONS behind it unanswered on the same socket"
    return True, diag


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--udp-port", type=int, default=5060)
    ap.add_argument("--tcp-port", type=int, default=0, help="default: the UDP port")
    ap.add_argument("--domain", default="pbx.test")
    ap.add_argument("--user", default="1001")
    ap.add_argument("--password", default="pw1001")
    ap.add_argument("--tap-start", type=int, default=1, help="number of the first TAP line")
    ap.add_argument("--count", action="store_true", help="print the number of kinds and exit")
    ap.add_argument("--only", help="run only kinds whose name contains this")
    args = ap.parse_args()
    if not args.tcp_port:
        args.tcp_port = args.udp_port
    kinds = [k for k in KINDS if not args.only or args.only in k["name"]]
    if args.count:
        print(len(kinds))
        return 0
    n = args.tap_start
    summary = {}
    for k in kinds:
        name = k["name"] if k["raw"] else "%s: %s" % (k["proto"].lower(), k["name"])
        try:
            ok, diag = run_kind(args, k)
        except Exception as e:  # a crash of the tester is a failure, not a stop
            ok, diag = False, "tester error: %r" % e
        print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
        print("# %s: %s" % (name, diag.replace("\n", " ")[:500]))
        sys.stdout.flush()
        if "what" in k:
            summary.setdefault(k["what"], []).append(name)
        n += 1
    # what sipd did with each bad message, grouped by its (first) answer
    for what in sorted(summary):
        print("# summary: %s: %s" % (what if not what.isdigit() else "final answer %s" % what,
                         " | ".join(summary[what])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
