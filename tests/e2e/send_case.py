#!/usr/bin/python3
"""send_case - the sending half of the end-to-end tests.

Runs in the sender namespace.  Sends prebuilt frames (built by espgen with
scapy in the test process, written with framefile.write_frames) out of IFACE,
with the Ethernet addresses rewritten to SRC -> DST.  Sending is a raw
AF_PACKET socket, exactly what scapy's sendp() does underneath, without
importing scapy in this process (saves a second per case).  A small gap
between frames (busy-waited: sleep() cannot do tens of microseconds) keeps
bursts of hundreds of fragments within the receiver's ring sizes; the gap
never decides a test's outcome.

usage: send_case.py FRAMEFILE IFACE DST_MAC [--src MAC] [--gap-us N]
prints: {"sent": N}
"""
import argparse
import json
import socket
import time

import framefile


def read_frames(path):
    try:
        return framefile.read_frames(path, min_len=14)   # at least Ethernet
    except ValueError as ex:
        raise SystemExit("send_case: %s" % ex)


def mac(s):
    b = bytes.fromhex(s.replace(":", ""))
    if len(b) != 6:
        raise SystemExit("send_case: bad MAC %r" % s)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("frames")
    ap.add_argument("iface")
    ap.add_argument("dst")
    ap.add_argument("--src", default=None)
    ap.add_argument("--gap-us", type=float, default=30.0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    src = mac(a.src) if a.src else s.getsockname()[4][:6]
    dst = mac(a.dst)
    sent = 0
    for fr in read_frames(a.frames):
        s.send(dst + src + fr[12:])
        sent += 1
        end = time.perf_counter() + a.gap_us / 1e6
        while time.perf_counter() < end:
            pass
    print(json.dumps({"sent": sent}))


if __name__ == "__main__":
    main()
