#!/usr/bin/env python3
"""ngsetup.py - sets up relay calls on rtpengine over its ng control
protocol, for tests/bench/media.sh (run by rtpload -s).

    ngsetup.py NG_PORT < "CALL CALLER_PORT CALLEE_PORT" lines
               > "CALL PORT_A PORT_B" lines

For each call: `offer` with the caller's SDP (PCMA, 127.0.0.1, its port),
then `answer` with the callee's SDP; the SDP rtpengine returns to the offer
(meant for the callee) gives PORT_B, the one returned to the answer (meant
for the caller) gives PORT_A.  Reads all of stdin before it sends anything
(rtpload's contract), keeps up to WINDOW requests in flight, exits 1 on
any error.  Only 127.0.0.1.

The ng protocol: one UDP datagram per request, "COOKIE " + a bencoded
dictionary; the answer is "COOKIE " + a bencoded dictionary with
"result" = "ok" (or "error" and "error-reason").  The bencode here is the
subset ng uses: byte strings, integers, lists, dictionaries.
"""

import socket
import sys
import time

WINDOW = 32         # requests in flight
TIMEOUT = 5.0       # seconds for one answer
RETRIES = 3


def benc(v):
    if isinstance(v, bytes):
        return str(len(v)).encode() + b":" + v
    if isinstance(v, str):
        return benc(v.encode())
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        out = b"d"
        for k in sorted(v, key=lambda k: k.encode() if isinstance(k, str) else k):
            out += benc(k) + benc(v[k])
        return out + b"e"
    raise TypeError(type(v))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode()] = v
        return out, i + 1
    if c.isdigit():
        j = b.index(b":", i)
        n = int(b[i:j])
        return b[j + 1:j + 1 + n], j + 1 + n
    raise ValueError("bad bencode at %d" % i)


def sdp(port, sess):
    return ("v=0\r\n"
            "o=- %d 1 IN IP4 127.0.0.1\r\n"
            "s=bench\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            "m=audio %d RTP/AVP 8\r\n"
            "a=rtpmap:8 PCMA/8000\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n" % (sess, port))


def sdp_port(body):
    """the audio port and the c= address of rtpengine's SDP"""
    port, addr = None, None
    for line in body.decode().splitlines():
        if line.startswith("m=audio "):
            port = int(line.split()[1])
        elif line.startswith("c=IN IP4 "):
            addr = line.split()[2]
    if port is None or addr != "127.0.0.1":
        raise ValueError("unexpected SDP from rtpengine: %r" % body)
    return port


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ngsetup.py NG_PORT")
    dest = ("127.0.0.1", int(sys.argv[1]))
    calls = []
    for line in sys.stdin.read().split("\n"):
        if line.strip():
            c, a, b = (int(x) for x in line.split())
            calls.append((c, a, b))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(TIMEOUT)

    # the requests: per call an offer, then (once it is answered) an answer
    pending = {}                    # cookie -> (call, step, payload, tries, sent)
    todo = [(c, 0) for c, _, _ in calls]
    todo.reverse()
    info = {c: (a, b) for c, a, b in calls}
    ports = {}                      # call -> [port_a, port_b]
    seq = 0

    def request(call, step):
        a, b = info[call]
        cid = "bench-%d" % call
        if step == 0:
            d = {"command": "offer", "call-id": cid, "from-tag": "caller-%d" % call,
                 "sdp": sdp(a, call), "ICE": "remove",
                 "replace": ["origin", "session-connection"]}
        else:
            d = {"command": "answer", "call-id": cid, "from-tag": "caller-%d" % call,
                 "to-tag": "callee-%d" % call, "sdp": sdp(b, call),
                 "ICE": "remove", "replace": ["origin", "session-connection"]}
        return benc(d)

    def send(call, step, tries):
        nonlocal seq
        seq += 1
        cookie = b"%d_%d" % (seq, call)
        payload = request(call, step)
        sock.sendto(cookie + b" " + payload, dest)
        pending[cookie] = (call, step, tries, time.monotonic())

    while todo or pending:
        while todo and len(pending) < WINDOW:
            call, step = todo.pop()
            send(call, step, 0)
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            now = time.monotonic()
            for cookie, (call, step, tries, t) in list(pending.items()):
                if now - t >= TIMEOUT:
                    del pending[cookie]
                    if tries + 1 >= RETRIES:
                        sys.exit("ngsetup: no answer from rtpengine for call %d" % call)
                    send(call, step, tries + 1)
            continue
        cookie, _, body = data.partition(b" ")
        if cookie not in pending:
            continue                # a late answer to a retried request
        call, step, _, _ = pending.pop(cookie)
        ans, _ = bdec(body)
        if ans.get("result") != b"ok":
            sys.exit("ngsetup: call %d %s: %s %s" % (call, "offer" if step == 0 else "answer",
                     ans.get("result"), ans.get("error-reason")))
        p = sdp_port(ans["sdp"])
        if step == 0:
            ports[call] = [0, p]    # offer's SDP goes to the callee
            todo.append((call, 1))
        else:
            ports[call][0] = p      # answer's SDP goes to the caller
    out = sys.stdout
    for c, _, _ in calls:
        out.write("%d %d %d\n" % (c, ports[c][0], ports[c][1]))
    out.flush()


if __name__ == "__main__":
    main()
