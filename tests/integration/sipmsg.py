#!/usr/bin/env python3
"""sipmsg.py — small SIP and journal helpers for Parley's integration tests.

Used by lib.sh; not a SIP stack.  Commands:

  ping HOST PORT [--tcp] [--timeout S]
      Sends one OPTIONS to HOST:PORT and prints the status line of the
      answer.  Exit 0 if any SIP response came back, 1 if none.

  send HOST PORT FILE [--tcp] [--timeout S] [--wait-all]
      Sends the bytes of FILE ('-' = stdin; LF line ends become CRLF
      unless --raw) and prints every SIP message received until the
      timeout (or the first final response unless --wait-all).
      Exit 0 if something came back, 1 if nothing did.

  trace FILE (recv|sent) START_REGEX [--has REGEX]... [--nth N] [--all]
        [--count]
      Reads a sipp -trace_msg log and prints the received (or sent)
      messages whose start line matches START_REGEX (Python re.search)
      and that have a line matching each --has REGEX (case-insensitive):
      the last one by default, the Nth (1-based) with --nth, every one
      with --all (separated by a line of '=').  Exit 1 if none matched.
      --count prints how many matched instead (exit 0, even for 0).

  sdp [--get KEY]...
      Reads a SIP message (as 'trace' prints it) or a bare SDP on stdin
      and prints one line per KEY: c (the session c= address), o (the o=
      value), m (how many m= lines), ice (how many a=candidate and a=ice-*
      lines), body (the whole SDP); per stream N.FIELD (N from 0, in m=
      order) or KIND.FIELD (the first m= of that kind): kind, port,
      addr (the c= that applies to it), rtcp (the a=rtcp port, empty if
      none), dir (sendrecv, sendonly, recvonly, inactive), fmts.
      Exit 1 if there is no SDP or a stream named does not exist.

  sdp-same FILE1 FILE2
      Compares the SDP of two messages (files as 'trace' prints them)
      the way a media relay may change it: c= addresses, non-zero m=
      ports, a=rtcp lines, a=candidate and a=ice-* lines are left out;
      every other line must be the same, in the same order.  Prints the
      differences, exit 1 if there are any.

  race HOST PORT --user U --password P --to U2 --domain D --call-id ID
      A caller that sends its authenticated INVITE and a CANCEL for it in
      two back-to-back datagrams (the 407 round comes first), so the
      CANCEL reaches sipd before any provisional.  Then it expects a 200
      for the CANCEL and a final response for the INVITE: 487 (ACKed), or
      200 if the callee answered first (ACKed, then BYE and its 200).
      Prints every message it sends and receives.  Exit 0 if all that
      happened, 1 otherwise.

  journal FILE has EVENT [KEY=VALUE | KEY~REGEX | KEY]...
  journal FILE count EVENT [conditions...]
  journal FILE wait TIMEOUT EVENT [conditions...]
  journal FILE get EVENT KEY [conditions...]
      Reads a Parley call journal (text or JSON lines, detected per line).
      'has' exits 0 if a line with EVENT matches every condition,
      'count' prints how many do, 'wait' polls until one does (exit 1 on
      timeout), 'get' prints KEY of the last matching line.
      KEY=VALUE: equal; KEY~REGEX: re.fullmatch; KEY alone: present.
      A FILE ending in .gz is read through gzip (a rotated journal).

  load-check TRACE PORT USER FILE...
      The journal under REGISTER load, across rotations: TRACE is the
      -trace_msg log of a sipp that registered USER from PORT, each
      REGISTER with a new Call-ID and Expires 1N (N its call number); the
      FILEs (.gz read through gzip) must hold, together, exactly one whole
      register line for each REGISTER answered 200 — none lost, none
      twice, none split, every file ending with a whole line.  Prints the
      counts (and what is wrong); exit 1 if anything is.

  journal FILE check
      Every line must parse (text: timestamp event key=value...; JSON: an
      object with 'ts' and 'event'); prints the bad lines, exit 1 if any.
"""

import gzip
import json
import os
import random
import re
import select
import socket
import sys
import time

# ----------------------------------------------------------------- SIP I/O


def _split_messages(buf):
    """Splits a byte stream into complete SIP messages (Content-Length)."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            break
        head = buf[:end].decode("utf-8", "replace")
        m = re.search(r"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        clen = int(m.group(1)) if m else 0
        total = end + 4 + clen
        if len(buf) < total:
            break
        out.append(buf[:total])
        buf = buf[total:]
    return out, buf


def _exchange(host, port, data, tcp, timeout, stop_at_final=True):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    if tcp:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, port))
        except OSError as e:
            print("# connect: %s" % e, file=sys.stderr)
            return []
        s.sendall(data)
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", 0))
        try:
            s.sendto(data, (host, port))
        except OSError as e:
            print("# sendto: %s" % e, file=sys.stderr)
            return []
    msgs = []
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        try:
            chunk = s.recv(65535)
        except OSError:
            break
        if not chunk:
            break
        if tcp:
            buf += chunk
            got, buf = _split_messages(buf)
        else:
            got = [chunk]
        msgs.extend(got)
        if stop_at_final and any(_is_final(m) for m in got):
            break
    s.close()
    return msgs


def _is_final(m):
    first = m.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    mm = re.match(r"SIP/2\.0 (\d{3})", first)
    return bool(mm) and int(mm.group(1)) >= 200


def _local_addr(host):
    return "[::1]" if ":" in host else "127.0.0.1"


def cmd_ping(args):
    tcp = "--tcp" in args
    timeout = float(_opt(args, "--timeout", "0.3"))
    host, port = args[0], int(args[1])
    tag = "%08x" % random.getrandbits(32)
    branch = "z9hG4bK-ping-%08x" % random.getrandbits(32)
    lhost = _local_addr(host)
    hp = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    msg = ("OPTIONS sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/%s %s:9;rport;branch=%s\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:ping@%s>;tag=%s\r\n"
           "To: <sip:%s>\r\n"
           "Call-ID: ping-%s@test\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n") % (
        hp, "TCP" if tcp else "UDP", lhost, branch, lhost, tag, hp, tag)
    msgs = _exchange(host, port, msg.encode(), tcp, timeout)
    for m in msgs:
        first = m.split(b"\r\n", 1)[0].decode("utf-8", "replace")
        if first.startswith("SIP/2.0"):
            print(first)
            return 0
    return 1


def cmd_send(args):
    tcp = "--tcp" in args
    raw = "--raw" in args
    wait_all = "--wait-all" in args
    timeout = float(_opt(args, "--timeout", "2"))
    host, port, path = args[0], int(args[1]), args[2]
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    if not raw:
        data = re.sub(rb"\r?\n", b"\r\n", data)
    msgs = _exchange(host, port, data, tcp, timeout, stop_at_final=not wait_all)
    for m in msgs:
        sys.stdout.write(m.decode("utf-8", "replace").replace("\r\n", "\n"))
        sys.stdout.write("\n")
    return 0 if msgs else 1


# ----------------------------------------------------------- sipp traces

_SEP = "-----------------------------------------------"


def _trace_messages(path):
    """Yields (direction, text) from a sipp -trace_msg file."""
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return
    blocks = text.split(_SEP)
    for b in blocks:
        lines = b.split("\n")
        # first line: " date"; second: "UDP message received [N] bytes :"
        # or "UDP message sent (N bytes):"; then an empty line; the message
        hdr = "\n".join(lines[:3])
        if re.search(r"message received \[\d+\] bytes", hdr):
            d = "recv"
        elif re.search(r"message sent \(\d+ bytes\)", hdr):
            d = "sent"
        else:
            continue
        i = 0
        while i < len(lines) and not re.search(r"message (received|sent)", lines[i]):
            i += 1
        body = lines[i + 1:]
        while body and body[0].strip() == "":
            body.pop(0)
        msg = "\n".join(l.rstrip("\r") for l in body).rstrip("\n")
        yield d, msg


def cmd_trace(args):
    path, direction, rx = args[0], args[1], args[2]
    nth = _opt(args, "--nth", None)
    every = "--all" in args
    count = "--count" in args
    has = []
    while "--has" in args:
        has.append(_opt(args, "--has", None))
    found = [m for d, m in _trace_messages(path)
             if d == direction and re.search(rx, m.split("\n", 1)[0])
             and all(re.search(h, m, re.I | re.M) for h in has)]
    if count:
        print(len(found))
        return 0
    if not found:
        return 1
    if every:
        print(("\n" + "=" * 40 + "\n").join(found))
        return 0
    if nth is not None:
        n = int(nth)
        if n < 1 or n > len(found):
            return 1
        print(found[n - 1])
    else:
        print(found[-1])
    return 0


# ------------------------------------------------------------- journal

_TEXT_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([a-z][a-z-]*)((?: .*)?)$")


def _parse_kv(rest):
    """key=value pairs; values may be "quoted" with \\" and \\\\ escapes."""
    kv = {}
    i, n = 0, len(rest)
    while i < n:
        if rest[i] == " ":
            i += 1
            continue
        m = re.compile(r"([A-Za-z0-9_.-]+)=").match(rest, i)
        if not m:
            raise ValueError("bad pair at %r" % rest[i:])
        key = m.group(1)
        i = m.end()
        if i < n and rest[i] == '"':
            i += 1
            val = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quote")
                c = rest[i]
                if c == "\\" and i + 1 < n:
                    val.append(rest[i + 1])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                val.append(c)
                i += 1
            kv[key] = "".join(val)
            if i < n and rest[i] != " ":
                raise ValueError("junk after quoted value")
        else:
            j = rest.find(" ", i)
            j = n if j < 0 else j
            kv[key] = rest[i:j]
            i = j
    return kv


def _open_journal(path, mode="r"):
    """A journal file, through gzip when it is a rotated and compressed one."""
    if path.endswith(".gz"):
        if mode == "rb":
            return gzip.open(path, "rb")
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    if mode == "rb":
        return open(path, "rb")
    return open(path, encoding="utf-8", errors="replace")


def _journal_lines(path):
    """Yields (lineno, raw, event, dict) ; event None if unparsable."""
    try:
        f = _open_journal(path)
    except OSError:
        return
    with f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line:
                yield no, line, None, None
                continue
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    yield no, line, None, None
                    continue
                if not isinstance(obj, dict) or "event" not in obj or "ts" not in obj:
                    yield no, line, None, None
                    continue
                d = {k: (v if isinstance(v, str) else json.dumps(v) if not isinstance(v, (int, float)) else str(v))
                     for k, v in obj.items()}
                yield no, line, obj["event"], d
                continue
            m = _TEXT_RE.match(line)
            if not m:
                yield no, line, None, None
                continue
            try:
                d = _parse_kv(m.group(3))
            except ValueError:
                yield no, line, None, None
                continue
            d["ts"] = m.group(1)
            yield no, line, m.group(2), d


def _cond_match(d, conds):
    for c in conds:
        if "=" in c and ("~" not in c or c.index("=") < c.index("~")):
            k, v = c.split("=", 1)
            if d.get(k) != v:
                return False
        elif "~" in c:
            k, rx = c.split("~", 1)
            if k not in d or not re.fullmatch(rx, d[k]):
                return False
        else:
            if c not in d:
                return False
    return True


def _matching(path, event, conds):
    return [(raw, d) for _, raw, ev, d in _journal_lines(path)
            if ev == event and _cond_match(d, conds)]


def cmd_journal(args):
    path, op = args[0], args[1]
    if op == "check":
        if not os.path.isfile(path):
            print("%s: no such file" % path)
            return 1
        bad = 0
        for no, raw, ev, _ in _journal_lines(path):
            if ev is None:
                print("%s:%d: %s" % (path, no, raw))
                bad += 1
        return 1 if bad else 0
    if op == "has":
        return 0 if _matching(path, args[2], args[3:]) else 1
    if op == "count":
        print(len(_matching(path, args[2], args[3:])))
        return 0
    if op == "get":
        found = _matching(path, args[2], args[4:])
        if not found or args[3] not in found[-1][1]:
            return 1
        print(found[-1][1][args[3]])
        return 0
    if op == "wait":
        deadline = time.monotonic() + float(args[2])
        while True:
            if _matching(path, args[3], args[4:]):
                return 0
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.05)
    print("journal: unknown operation %r" % op, file=sys.stderr)
    return 2


def cmd_load_check(args):
    trace, port, user, files = args[0], args[1], args[2], args[3:]
    ok_cids = set()
    for d, text in _trace_messages(trace):
        if d == "recv" and text.startswith("SIP/2.0 200") and re.search(r"(?im)^CSeq:.*REGISTER", text):
            ok_cids.add(re.search(r"(?im)^Call-ID:\s*(\S+)", text).group(1))
    line_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z register user=%s "
                         r"contact=\"?sip:%s@127\.0\.0\.1:%s;transport=UDP\"? addr=\S+ expires=(\d+)$"
                         % (re.escape(user), re.escape(user), port))
    bad, expires, lines = [], [], {}
    for f in files:
        with _open_journal(f, "rb") as fh:
            raw = fh.read()
        if raw and not raw.endswith(b"\n"):
            bad.append("%s ends in the middle of a line" % f)
        for no, line in enumerate(raw.decode("utf-8", "replace").split("\n")[:-1], 1):
            if line in lines:
                bad.append("%s:%d repeats %s: %s" % (f, no, lines[line], line))
            lines[line] = "%s:%d" % (f, no)
            m = line_re.match(line)
            if m:
                expires.append(m.group(1))
    want = sorted("1%d" % n for n in range(1, len(ok_cids) + 1))
    print("200 OKs: %d, load lines: %d, distinct: %d" % (len(ok_cids), len(expires), len(set(expires))))
    if sorted(expires) != want:
        missing = sorted(set(want) - set(expires))
        extra = sorted(set(expires) - set(want))
        bad.append("register lines do not match the 200 OKs: missing expires %s, unexpected %s"
                   % (missing[:20], extra[:20]))
    if bad:
        print("\n".join(bad))
    return 1 if bad else 0


# ------------------------------------------------------------------ race

def _hdr(msg, name):
    m = re.search(r"(?im)^%s[ \t]*:[ \t]*(.*)$" % re.escape(name), msg)
    return m.group(1).strip() if m else None


def _param(value, name):
    m = re.search(r'(?i)\b%s="([^"]*)"' % name, value) or \
        re.search(r"(?i)\b%s=([^,\s]+)" % name, value)
    return m.group(1) if m else None


def _md5(s):
    import hashlib
    return hashlib.md5(s.encode()).hexdigest()


def cmd_race(args):
    host, port = args[0], int(args[1])
    user = _opt(args, "--user", "1001")
    password = _opt(args, "--password", "pw" + user)
    to = _opt(args, "--to", "1002")
    domain = _opt(args, "--domain", "pbx.test")
    call_id = _opt(args, "--call-id", "race-%08x@127.0.0.1" % random.getrandbits(32))
    timeout = float(_opt(args, "--timeout", "15"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lport = s.getsockname()[1]
    ftag = "%08x" % random.getrandbits(32)
    uri = "sip:%s@%s" % (to, domain)
    sdp = ("v=0\r\no=race 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
           "t=0 0\r\nm=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n" % (lport + 1))

    def log(direction, data):
        print("----- %s\n%s" % (direction, data.replace("\r\n", "\n").rstrip("\n")))

    def send(text):
        log("sent", text)
        s.sendto(text.encode(), (host, port))

    def req(method, ruri, branch, cseq, to_hdr, extra="", body="", ctype=None):
        m = ("%s %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=%s\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:%s@%s>;tag=%s\r\n"
             "To: %s\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %d %s\r\n"
             "Contact: <sip:%s@127.0.0.1:%d>\r\n" % (
                 method, ruri, lport, branch, user, domain, ftag, to_hdr, call_id,
                 cseq, method, user, lport))
        m += extra
        if ctype:
            m += "Content-Type: %s\r\n" % ctype
        m += "Content-Length: %d\r\n\r\n%s" % (len(body.encode()), body)
        return m

    def recv(until):
        """Reads messages until until(msg) is true; returns them (or None)."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], deadline - time.monotonic())
            if not r:
                break
            data = s.recv(65535).decode("utf-8", "replace")
            log("received", data)
            got.append(data)
            if until(data):
                return got
        return None

    def status(m):
        mm = re.match(r"SIP/2\.0 (\d{3})", m)
        return int(mm.group(1)) if mm else 0

    def cseq_method(m):
        v = _hdr(m, "CSeq") or ""
        return v.split()[-1] if v.split() else ""

    # the challenge round
    b1 = "z9hG4bK-race1-%08x" % random.getrandbits(32)
    send(req("INVITE", uri, b1, 1, "<%s>" % uri, body=sdp, ctype="application/sdp"))
    got = recv(lambda m: status(m) >= 200)
    if not got or status(got[-1]) != 407:
        print("# expected 407 for the first INVITE")
        return 1
    chal = got[-1]
    send(req("ACK", uri, b1, 1, _hdr(chal, "To")))
    pa = _hdr(chal, "Proxy-Authenticate") or ""
    realm, nonce = _param(pa, "realm"), _param(pa, "nonce")
    opaque, qop = _param(pa, "opaque"), _param(pa, "qop")
    cnonce, nc = "%08x" % random.getrandbits(32), "00000001"
    ha1 = _md5("%s:%s:%s" % (user, realm, password))
    ha2 = _md5("INVITE:%s" % uri)
    if qop:
        resp = _md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
        cred = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=MD5, cnonce="%s", qop=auth, nc=%s' % (
                    user, realm, nonce, uri, resp, cnonce, nc))
    else:
        resp = _md5("%s:%s:%s" % (ha1, nonce, ha2))
        cred = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5' % (
            user, realm, nonce, uri, resp)
    if opaque:
        cred += ', opaque="%s"' % opaque

    # the race: INVITE with credentials and its CANCEL, back to back
    b2 = "z9hG4bK-race2-%08x" % random.getrandbits(32)
    invite = req("INVITE", uri, b2, 2, "<%s>" % uri, extra="Proxy-Authorization: %s\r\n" % cred,
                 body=sdp, ctype="application/sdp")
    cancel = req("CANCEL", uri, b2, 2, "<%s>" % uri)
    log("sent", invite)
    log("sent", cancel)
    s.sendto(invite.encode(), (host, port))
    s.sendto(cancel.encode(), (host, port))

    cancel_ok = [False]
    final = [None]

    def done(m):
        if status(m) >= 200 and cseq_method(m) == "CANCEL":
            cancel_ok[0] = status(m) == 200
        if status(m) >= 200 and cseq_method(m) == "INVITE":
            final[0] = m
        return final[0] is not None and cancel_ok[0]
    recv(done)
    if final[0] is None:
        print("# no final response to the INVITE")
        return 1
    fs = status(final[0])
    print("# CANCEL answered 200: %s; INVITE final: %d" % (cancel_ok[0], fs))
    if fs == 200:
        to_hdr = _hdr(final[0], "To")
        rr = _hdr(final[0], "Record-Route")
        contact = re.search(r"<([^>]*)>", _hdr(final[0], "Contact") or "")
        target = contact.group(1) if contact else uri
        route = "Route: %s\r\n" % rr if rr else ""
        send(req("ACK", target, "z9hG4bK-race3-%08x" % random.getrandbits(32), 2, to_hdr, extra=route))
        send(req("BYE", target, "z9hG4bK-race4-%08x" % random.getrandbits(32), 3, to_hdr, extra=route))
        got = recv(lambda m: status(m) >= 200 and cseq_method(m) == "BYE")
        ok = bool(got) and status(got[-1]) == 200
    else:
        send(req("ACK", uri, b2, 2, _hdr(final[0], "To")))
        ok = fs == 487
    # answer retransmissions of the final response for a moment
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], end - time.monotonic())
        if not r:
            break
        data = s.recv(65535).decode("utf-8", "replace")
        log("received", data)
    return 0 if ok and cancel_ok[0] else 1


# ------------------------------------------------------------------ SDP


def _sdp_lines(text):
    """The SDP lines of a message (or of a bare SDP), [] if none."""
    text = text.replace("\r\n", "\n")
    if not text.lstrip().startswith("v="):
        head, sep, text = text.partition("\n\n")
        if not sep:
            return []
    lines = [l.rstrip("\r") for l in text.split("\n")]
    lines = [l for l in lines if l.strip()]
    return lines if lines and lines[0].startswith("v=") else []


def _sdp_parse(lines):
    sess = {"c": "", "o": "", "dir": "sendrecv", "ice": 0}
    streams = []
    cur = sess
    for l in lines:
        k, _, v = l.partition("=")
        if k == "m":
            f = v.split()
            cur = {"kind": f[0], "port": f[1].split("/")[0], "fmts": " ".join(f[3:]),
                   "c": "", "rtcp": "", "dir": None, "ice": 0}
            streams.append(cur)
        elif k == "c":
            cur["c"] = v.split()[-1].split("/")[0]
        elif k == "o" and cur is sess:
            sess["o"] = v
        elif k == "a":
            name = v.split(":", 1)[0]
            if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                cur["dir"] = name
            elif name == "rtcp":
                cur["rtcp"] = v.split(":", 1)[1].split()[0]
            elif name == "candidate" or name.startswith("ice-"):
                cur["ice"] += 1
    for m in streams:
        m["addr"] = m["c"] or sess["c"]
        m["dir"] = m["dir"] or sess["dir"]
    return sess, streams


def cmd_sdp(args):
    lines = _sdp_lines(sys.stdin.read())
    if not lines:
        print("sdp: no SDP in the message", file=sys.stderr)
        return 1
    sess, streams = _sdp_parse(lines)
    keys = []
    while "--get" in args:
        keys.append(_opt(args, "--get", None))
    rc = 0
    for key in keys:
        if key in ("c", "o"):
            print(sess[key])
        elif key == "m":
            print(len(streams))
        elif key == "ice":
            print(sess["ice"] + sum(m["ice"] for m in streams))
        elif key == "body":
            print("\n".join(lines))
        else:
            which, _, field = key.partition(".")
            if which.isdigit():
                m = streams[int(which)] if int(which) < len(streams) else None
            else:
                m = next((s for s in streams if s["kind"] == which), None)
            if m is None or field not in ("kind", "port", "addr", "rtcp", "dir", "fmts"):
                print("")
                rc = 1
            else:
                print(m[field])
    return rc


def _sdp_norm(lines):
    out = []
    for l in lines:
        if l.startswith("a=rtcp:") or l.startswith("a=candidate:") or l.startswith("a=ice-"):
            continue
        if l.startswith("c="):
            f = l.split()
            l = " ".join(f[:-1] + ["*"])
        elif l.startswith("m="):
            f = l.split()
            if f[1] != "0":
                f[1] = "*"
            l = " ".join(f)
        out.append(l)
    return out


def cmd_sdp_same(args):
    a = _sdp_norm(_sdp_lines(open(args[0], encoding="utf-8", errors="replace").read()))
    b = _sdp_norm(_sdp_lines(open(args[1], encoding="utf-8", errors="replace").read()))
    if a and a == b:
        return 0
    import difflib
    print("\n".join(difflib.unified_diff(a, b, args[0], args[1], lineterm="")) or "no SDP")
    return 1


# ----------------------------------------------------------------- main

def _opt(args, name, default):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return default


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    # strip flags that the commands read via 'in'
    cmds = {"ping": cmd_ping, "send": cmd_send, "trace": cmd_trace, "journal": cmd_journal,
            "race": cmd_race, "sdp": cmd_sdp, "sdp-same": cmd_sdp_same,
            "load-check": cmd_load_check}
    if cmd not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    if cmd in ("ping", "send"):
        flags = [a for a in args if a in ("--tcp", "--raw", "--wait-all")]
        rest = [a for a in args if a not in flags]
        return cmds[cmd](rest + flags)
    if cmd == "trace":
        flags = [a for a in args if a in ("--all", "--count")]
        rest = [a for a in args if a not in ("--all", "--count")]
        return cmd_trace(rest + flags)
    return cmds[cmd](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
