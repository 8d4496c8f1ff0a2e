#!/usr/bin/env python3
"""perfsplit.py — where mediad's time goes, from a perf profile, for
tests/bench/rooms.sh.

    perf script -i perf.data -F ip,sym,dso | perfsplit.py

Reads the samples of `perf record -g` (one block per sample: its call
chain, leaf first) and sorts each into one share of what mediad does:

  kernel samples by the system call in their chain:
    send        sendto(2), the mixes out, up to handing the packet to lo
    delivery    the part of sendto(2) that, on loopback, delivers the packet
                into the phone's socket (softirq in mediad's context: on a
                real NIC this is the receiving host's work)
    receive     recvmmsg(2), the phones' packets in
    epoll       epoll_wait(2), with going to sleep and being woken
    timer       the room's timerfd read(2)
    syscall     any other system call; kernel: no system call in the chain
  user samples by the function they are in (mediad is built without frame
  pointers, so only the leaf is known):
    decode, encode (G.711 in codec.c, the AMR libraries), mix (sum, N-1,
    talk level), jitter buffer, resample, mediad (its other code: packet
    path, room loop, event loop), libc

Prints one "name percent" line per share, largest first, then "samples N".
"""
import re
import sys

SYSCALLS = {
    "sendto": "send",
    "sendmmsg": "send",
    "recvmmsg": "receive",
    "recvmsg": "receive",
    "epoll_wait": "epoll",
    "epoll_pwait": "epoll",
    "read": "timer",
}
DELIVERY = ("net_rx_action", "__netif_receive_skb", "process_backlog")
SYSCALL_RE = re.compile(r"^(?:__x64_sys_|__do_sys_|__se_sys_)(\w+)$")


def user_share(sym, dso):
    """The share of a user-space leaf function."""
    if "amrwbenc" in dso:
        return "encode"
    if "opencore-amrwb" in dso:
        return "decode"
    if "opencore-amrnb" in dso:
        return "AMR-NB codec"
    if "speex" in dso or sym.startswith("speex_") or sym.startswith("resampler_"):
        return "resample"
    if "decode" in sym or sym in ("alaw_decode", "ulaw_decode", "g711_conceal", "amr_unpack",
                                  "codec_unpack", "bits_get", "bits_get_frame"):
        return "decode"
    if "encode" in sym or sym in ("codec_pack", "amr_pack", "bits_put", "bits_put_frame"):
        return "encode"
    if sym.startswith("mix_"):
        return "mix"
    if sym.startswith("jbuf_"):
        return "jitter buffer"
    if "libc" in dso:
        return "libc"
    if dso.endswith("/mediad") or "mediad" in dso:
        return "mediad"
    return "other"


def share(chain):
    """chain: [(sym, dso)], leaf first."""
    sym, dso = chain[0]
    if "kernel" not in dso:
        return user_share(sym, dso)
    delivery = False
    for s, d in chain:
        if "kernel" not in d:
            break
        if s.startswith(DELIVERY):
            delivery = True
        m = SYSCALL_RE.match(s)
        if m:
            name = SYSCALLS.get(m.group(1), "syscall")
            if name == "send" and delivery:
                return "delivery"
            return name
    return "kernel"


def main():
    counts = {}
    total = 0
    chain = []
    for line in sys.stdin.read().splitlines() + [""]:
        line = line.strip()
        if not line:
            if chain:
                k = share(chain)
                counts[k] = counts.get(k, 0) + 1
                total += 1
            chain = []
            continue
        # "ADDR SYMBOL (DSO)"; the symbol may hold spaces or be "[unknown]"
        m = re.match(r"^[0-9a-f]+\s+(.*?)\s+\((.*)\)$", line)
        if m:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            chain.append((sym, m.group(2)))
    for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
        print("%s %.1f" % (k.replace(" ", "_"), 100.0 * v / total))
    print("samples %d" % total)


if __name__ == "__main__":
    main()
