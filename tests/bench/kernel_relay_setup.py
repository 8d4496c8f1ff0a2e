#!/usr/bin/env python3
"""kernel_relay_setup.py — rtpload's setup command for tests/bench/kernel_relay.sh:
reads "CALL CALLER_PORT CALLEE_PORT" lines, gives call i the relay ports
FIRST+2i (the caller's side) and FIRST+2i+1 (the callee's), fills the pinned
relay_map (kernel_relay.bpf.c) so that a packet to either reaches the other
phone from the other relay port, all on 127.0.0.1, in one `bpftool batch`,
and prints "CALL PORT_A PORT_B" lines.

  kernel_relay_setup.py MAP_PATH FIRST_PORT
"""
import subprocess
import sys
import tempfile


def be16(p):
    return "0x%02x 0x%02x" % (p >> 8, p & 0xff)


def main():
    path, first = sys.argv[1], int(sys.argv[2])
    lo = "0x7f 0x00 0x00 0x01"
    zeros = " ".join(["0x00"] * 20)		# padding, then the packet and byte counters
    cmds, out = [], []
    for i, line in enumerate(l for l in sys.stdin if l.strip()):
        call, caller, callee = line.split()
        a, b = first + 2 * i, first + 2 * i + 1
        cmds.append("map update pinned %s key %s value %s %s %s %s %s" % (
            path, be16(a), lo, lo, be16(b), be16(int(callee)), zeros))
        cmds.append("map update pinned %s key %s value %s %s %s %s %s" % (
            path, be16(b), lo, lo, be16(a), be16(int(caller)), zeros))
        out.append("%s %d %d" % (call, a, b))
    with tempfile.NamedTemporaryFile("w", suffix=".bpftool") as f:
        f.write("\n".join(cmds) + "\n")
        f.flush()
        subprocess.run(["bpftool", "batch", "file", f.name], check=True,
                       stdout=subprocess.DEVNULL)
    print("\n".join(out))


main()
