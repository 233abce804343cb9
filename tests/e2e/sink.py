#!/usr/bin/python3
"""sink - the receiving application of the end-to-end tests.

Runs in the receiver namespace.  Binds UDP (and optionally TCP) ports on
0.0.0.0 and ::, records every datagram payload (and every TCP connection's
byte stream), prints "READY" on stderr once bound, and exits after COUNT
payloads (plus LINGER seconds) or IDLE seconds without one (or MAX seconds in all), printing
    {"udp": [[port, "hex"], ...], "tcp": [[port, "hex"], ...]}
on stdout.  Only ordinary sockets: what arrives here went through the whole
kernel stack (checksums, reassembly, socket lookup).

usage: sink.py --udp PORT[,PORT...] [--tcp PORT] [--count N] [--idle S] [--max S]
                [--linger S]
"""
import argparse
import json
import selectors
import socket
import sys
import time


def bound(family, kind, port, rcvbuf=8 << 20):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if kind == socket.SOCK_DGRAM:
        # bursts of hundreds of datagrams must not overflow the queue
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udp", default="")
    ap.add_argument("--tcp", type=int, default=0)
    ap.add_argument("--count", type=int, default=0, help="0: until idle")
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--max", type=float, default=60.0)
    ap.add_argument("--linger", type=float, default=0.3,
                    help="after COUNT, keep listening this long: a payload "
                         "delivered twice must be seen")
    a = ap.parse_args()

    sel = selectors.DefaultSelector()
    for port in [int(p) for p in a.udp.split(",") if p]:
        for fam in (socket.AF_INET, socket.AF_INET6):
            sel.register(bound(fam, socket.SOCK_DGRAM, port), selectors.EVENT_READ,
                         ("udp", port))
    if a.tcp:
        for fam in (socket.AF_INET, socket.AF_INET6):
            sel.register(bound(fam, socket.SOCK_STREAM, a.tcp), selectors.EVENT_READ,
                         ("listen", a.tcp))
    print("READY", file=sys.stderr, flush=True)

    udp, tcp, streams = [], [], {}
    start = last = time.monotonic()
    stop_at = None
    while True:
        now = time.monotonic()
        if a.count and len(udp) + len(tcp) >= a.count and not streams:
            stop_at = stop_at or now + a.linger
            if now >= stop_at:
                break
        if now - last > a.idle or now - start > a.max:
            break
        for key, _ in sel.select(timeout=0.1):
            kind, port = key.data
            s = key.fileobj
            if kind == "udp":
                while True:
                    try:
                        data = s.recv(70000)
                    except BlockingIOError:
                        break
                    udp.append([port, data.hex()])
                    last = time.monotonic()
            elif kind == "listen":
                c, _ = s.accept()
                c.setblocking(False)
                streams[c] = bytearray()
                sel.register(c, selectors.EVENT_READ, ("conn", port))
                last = time.monotonic()
            else:
                try:
                    data = s.recv(1 << 16)
                except (BlockingIOError, ConnectionResetError):
                    data = None if s in streams else b""
                if data is None:
                    continue
                if data:
                    streams[s] += data
                else:                       # EOF: one complete stream
                    tcp.append([port, bytes(streams.pop(s)).hex()])
                    sel.unregister(s)
                    s.close()
                last = time.monotonic()
    for s, buf in streams.items():          # unfinished streams, reported too
        tcp.append([a.tcp, bytes(buf).hex()])
    json.dump({"udp": udp, "tcp": tcp}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
