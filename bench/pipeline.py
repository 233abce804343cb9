#!/usr/bin/python3
"""bench/pipeline - datagrams per second through the whole running system.

Not a test: it prints figures and never fails on a rate.  Needs root (it
creates two network namespaces joined by a veth pair, like the e2e tests,
and runs build/xdpsecd on the receiver) and a built tree (`make`).

Three streams of the same UDP payload sizes, each COUNT datagrams, are sent
back to back in the same run, by the same raw AF_PACKET sender, as fast as
it goes (open loop, no pacing), to a UDP socket on the receiver:

  plain_frag  baseline: plain datagrams in FRAGS IP fragments, which the
              classifier passes and the kernel reassembles itself
  esp         whole ESP packets (tunnel mode), one per datagram: classify,
              decrypt program, daemon's ESP engine, back into the stack
  frag_after  the same ESP packets split into FRAGS fragments after
              encryption: classify, daemon's reassembly, feedback path back
              into the decrypt program, ESP engine, back into the stack

For each stream: frames sent, the sender's rate, datagrams delivered
byte-exact and unique, the receiver's delivered datagrams per second (first
to last arrival), and that rate as a ratio of the plain_frag baseline's.
Rates move a lot between runs on a shared machine; ratios from one run are
what to compare.  The sender is one Python process, so a stream can be
sender-bound: the sender's rate is printed next to it.

With --rate the sender paces itself (frames per second, busy-waited): the
highest rate with delivered == sent is the loss-free throughput.

usage: sudo /usr/bin/python3 bench/pipeline.py [--count N] [--size BYTES]
           [--frags N] [--family 4|6] [--alg gcm|chacha] [--rate FPS] [--json]
"""
import argparse
import hashlib
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "tests", "e2e")
sys.path.insert(0, E2E)

PY = "/usr/bin/python3"

# The two halves below run inside the namespaces (this file re-executed
# with --role): they import nothing from scapy and stay small.


def role_send(path, iface, dst_mac, rate="0"):
    import socket
    from framefile import read_frames
    frames = read_frames(path)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 << 20)
    s.bind((iface, 0))
    src = s.getsockname()[4][:6]
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    frames = [dst + src + fr[12:] for fr in frames]
    gap = 1.0 / float(rate) if float(rate) > 0 else 0.0
    t0 = time.perf_counter()
    for i, fr in enumerate(frames):
        if gap:
            due = t0 + i * gap          # paced: frame i leaves at i / rate
            while time.perf_counter() < due:
                pass
        while True:
            try:
                s.send(fr)
                break
            except BlockingIOError:
                pass
    t1 = time.perf_counter()
    print(json.dumps({"sent": len(frames), "seconds": t1 - t0}))


def role_sink(port, count, idle):
    import socket
    from sink import bound
    socks = [bound(fam, socket.SOCK_DGRAM, port, rcvbuf=64 << 20)
             for fam in (socket.AF_INET, socket.AF_INET6)]
    import selectors
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    print("READY", file=sys.stderr, flush=True)
    seen, dups, first, last = set(), 0, None, time.monotonic()
    while len(seen) < count and time.monotonic() - last < idle:
        for key, _ in sel.select(timeout=0.05):
            while True:
                try:
                    d = key.fileobj.recv(70000)
                except BlockingIOError:
                    break
                last = time.monotonic()
                first = first or last
                h = hashlib.blake2b(d, digest_size=16).digest()
                if h in seen:
                    dups += 1
                seen.add(h)
    print(json.dumps({"digests": sorted(h.hex() for h in seen), "dups": dups,
                      "seconds": (last - first) if first else 0.0}))


# ------------------------------------------------------------------ driver

def build_streams(count, size, nfrags, family, alg):
    import espgen
    gen = espgen.Gen(seed=7, spi_base=0x70000, port_base=47000)
    out = {}
    for name in ("plain_frag", "esp", "frag_after"):
        c = gen._new("bench_" + name, family, alg, name)
        rng = gen.crng(c)
        sa = gen.sa(rng, "tunnel", alg, family) if name != "plain_frag" else None
        s = sa.scapy() if sa else None
        c.sas = c.sender_sas = [sa] if sa else []
        for i in range(count):
            pl = gen.payload(c, i, size, rng)
            c.payloads.append(pl)
            dg = gen.datagram(c, pl)
            if name == "plain_frag":
                c.packets += espgen.fragment(dg, gen.ids, n=nfrags)
            elif name == "esp":
                e = gen.enc(s, sa, dg)
                if len(e) > espgen.MTU:
                    c = None
                    break
                c.packets.append(e)
            else:
                c.packets += espgen.fragment(gen.enc(s, sa, dg), gen.ids, n=nfrags)
        if c is None:
            print("esp stream left out: %d-byte payloads do not fit the MTU whole"
                  % size, file=sys.stderr)
            continue
        c.datagrams = count
        out[name] = c
    return out


def run_stream(env, case, idle, rate=0):
    me = os.path.abspath(__file__)
    path = os.path.join(env.tmp, "bench-frames.bin")
    from framefile import write_frames
    write_frames(path, case.frames(env.pair.a_mac, env.pair.b_mac))
    sink = env.pair.b.popen([PY, me, "--role", "sink", str(case.dport),
                             str(case.datagrams), str(idle)])
    try:
        if "READY" not in sink.stderr.readline():
            raise RuntimeError("bench sink did not start: %s" % sink.stderr.read())
        r = env.pair.a.python(me, "--role", "send", path, "veth0", env.pair.b_mac,
                              str(rate), timeout=600)
        sent = json.loads(r.stdout)
        out, err = sink.communicate(timeout=600)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    got = json.loads(out)
    want = {hashlib.blake2b(p, digest_size=16).hexdigest() for p in case.payloads}
    ok = want & set(got["digests"])
    return {
        "frames": sent["sent"],
        "send_fps": sent["sent"] / sent["seconds"] if sent["seconds"] else 0.0,
        "sent": case.datagrams,
        "delivered": len(ok),
        "dups": got["dups"],
        "stray": len(set(got["digests"]) - want),
        "seconds": got["seconds"],
        "dps": len(ok) / got["seconds"] if got["seconds"] else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=20000, help="datagrams per stream")
    ap.add_argument("--size", type=int, default=1300,
                    help="UDP payload bytes (the whole-ESP stream is left out "
                         "when its packets would not fit the 1500-byte MTU)")
    ap.add_argument("--frags", type=int, default=2, help="fragments per datagram")
    ap.add_argument("--family", type=int, default=4, choices=(4, 6))
    ap.add_argument("--alg", default="gcm", choices=("gcm", "chacha"))
    ap.add_argument("--rate", type=float, default=0,
                    help="frames per second the sender paces itself to "
                         "(default 0: as fast as it goes, open loop)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    a = ap.parse_args()
    if a.role == "send":
        return role_send(*a.args)
    if a.role == "sink":
        return role_sink(int(a.args[0]), int(a.args[1]), float(a.args[2]))
    if os.geteuid() != 0:
        print("bench/pipeline: needs root (namespaces, XDP)", file=sys.stderr)
        return 2

    from xdpsec_env import XdpsecEnv
    t = time.monotonic()
    streams = build_streams(a.count, a.size, a.frags, a.family, a.alg)
    print("built %d datagrams x 3 streams with scapy in %.1f s" %
          (a.count, time.monotonic() - t), file=sys.stderr)
    res = {}
    with XdpsecEnv(tag="bp") as env:
        for c in streams.values():
            env.sa_add(c.sa_lines())
        before = env.stats()
        for name, c in streams.items():
            res[name] = run_stream(env, c, idle=3.0, rate=a.rate)
        after = env.stats()
    delta = {"%s/%s" % k: after[k] - before.get(k, 0) for k in after
             if after[k] - before.get(k, 0)}
    base = res["plain_frag"]["dps"] or 1.0
    for r in res.values():
        r["ratio"] = r["dps"] / base
    if a.json:
        print(json.dumps({"params": vars(a), "streams": res, "counters": delta}, indent=1))
        return 0
    print("IPv%d outer, %s, %d-byte UDP payloads, %d fragments per fragmented datagram, "
          "%d datagrams per stream, sender %s" % (
              a.family, a.alg, a.size, a.frags, a.count,
              "paced at %.0f frames/s" % a.rate if a.rate else "open loop"))
    hdr = ("stream", "frames", "sender fps", "delivered/sent", "dups",
           "datagrams/s", "x plain_frag")
    rows = [(n, r["frames"], "%.0f" % r["send_fps"], "%d/%d" % (r["delivered"], r["sent"]),
             r["dups"], "%.0f" % r["dps"], "%.2f" % r["ratio"]) for n, r in res.items()]
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    for row in [hdr] + rows:
        print("  ".join(str(x).ljust(n) for x, n in zip(row, w)))
    drops = {k: v for k, v in delta.items() if k.startswith("drops/")}
    if drops:
        print("drop counters over the run: " +
              ", ".join("%s %d" % (k[6:], v) for k, v in sorted(drops.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
