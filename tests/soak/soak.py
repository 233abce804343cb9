#!/usr/bin/python3
"""soak - xdpsecd under mixed traffic for a long time (`make soak`).

Not a test of make test: it runs for SOAK_SECONDS (default 600) and writes
a report, build/soak/report.txt; it exits 1 only when the daemon died or the
counter conservation law (docs/counters.md) failed at a quiet point.

The traffic is every branch of the receive logic, built once with espgen
(scapy's IPsec, tests/e2e/espgen.py) for IPv4 and IPv6: plain and plain
fragmented, whole ESP (tunnel, transport, ESP-in-UDP), fragmented before
and after encryption (in order, reversed, shuffled, duplicated; 2, 3 and 40
fragments), nested SAs; then the negative cases (wrong key, replayed
datagrams, unknown SPI, incomplete datagrams) and malformed frames (bad
outer IPv4 checksum, truncated ESP, SPI 0, a late IPv6 hop-by-hop header,
zero-length fragments, random bytes).  Every case sends to one UDP port, so
bench/traffic_sink checks every delivered payload against the expected set;
bench/traffic_send paces the frames.

One round: flush and re-add every SA (an SA added anew has a fresh replay
window, so the same frames are valid again: this also exercises SA add and
delete for the whole run), start the sink, send the frame file once, wait
for the sink.  Every 10 s (at the end of the round then running) the
traffic pauses until reassembly's timeout has expired what the incomplete
cases left, and a sample is taken: the daemon's RSS and open descriptors,
`xdpsecctl stats --check`, and delivered/sent so far.

usage: sudo /usr/bin/python3 tests/soak/soak.py [--seconds N] [--rate FPS]
           [--out FILE] [--count N]
"""
import argparse
import json
import os
import random
import signal
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
E2E = os.path.join(ROOT, "tests", "e2e")
sys.path.insert(0, E2E)

import espgen  # noqa: E402
import framefile  # noqa: E402
from xdpsec_env import XdpsecEnv  # noqa: E402

PORT = 47000
SAMPLE_EVERY = 10.0
REASM_TIMEOUT_S = 2


class SoakGen(espgen.Gen):
    """espgen's cases, all to one UDP port (the sink listens on one);
    keys and payloads stay distinct per case through a serial number."""

    def _new(self, name, family, alg, branch):
        self.next_port += 1
        c = espgen.Case(name, family, alg, branch, PORT)
        c.note = "k%d" % self.next_port
        return c

    def crng(self, c):
        return self.rng("%s/%s" % (c.id, c.note))

    def payload(self, case, seq, size, rng):
        head = ("%s/%s#%04d|" % (case.id, case.note, seq)).encode()
        return head + rng.randbytes(max(0, size - len(head)))


# ------------------------------------------------------------- malformed
def malformed(cases, rng):
    """L3 packets every one of which must be dropped with a reason: made
    from the packets of cases that deliver nothing (wrong key, unknown
    SPI, incomplete), so that no valid datagram's sequence number or
    reassembly is touched."""
    out = []
    for c in cases:
        v4 = c.family == 4
        whole = [p for p in c.packets if (p[9] if v4 else p[6]) == 50]
        frags = [p for p in c.packets if p not in whole]
        for p in whole[:3]:
            if v4:
                out.append(p[:10] + bytes([p[10] ^ 0xFF]) + p[11:])      # bad checksum
                t = bytearray(p[:26])                                     # ESP cut in its header
                t[2:4] = struct.pack("!H", 26)
                out.append(espgen.ip4_recsum(bytes(t)))
                z = bytearray(p)                                          # SPI 0
                z[20:24] = b"\0\0\0\0"
                out.append(bytes(z))
            else:
                ext = bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([50, 0, 1, 4, 0, 0, 0, 0])
                plen = struct.unpack("!H", p[4:6])[0] + len(ext)          # hop-by-hop not first
                out.append(p[:4] + struct.pack("!H", plen) + bytes([60]) + p[7:40] + ext + p[40:])
                t = bytearray(p[:46])                                     # ESP cut in its header
                t[4:6] = struct.pack("!H", 6)
                out.append(bytes(t))
        for p in frags[:2]:                                               # zero-length fragment
            if v4:
                ihl = (p[0] & 15) * 4
                z = bytearray(p[:ihl])
                z[2:4] = struct.pack("!H", ihl)
                z[6] |= 0x20
                out.append(espgen.ip4_recsum(bytes(z)))
            elif p[6] == 44:
                z = bytearray(p[:48])
                z[4:6] = struct.pack("!H", 8)
                z[43] |= 1
                out.append(bytes(z))
    for i in range(16):                                                   # random bytes
        n = rng.randint(1, 200)
        b = bytearray(rng.randbytes(n))
        b[0] = (b[0] & 0x0F) | (0x40 if i % 2 == 0 else 0x60)
        out.append(bytes(b))
    return out


def build_traffic(count, seed):
    gen = SoakGen(seed=seed, spi_base=0x70000, port_base=0)
    rng = random.Random(seed)
    pos, neg = [], []
    for fam in (4, 6):
        pos += espgen.positive_cases(gen, fam, "gcm", count=count)
        pos.append(gen.esp(fam, "chacha", "tunnel", count=count))
        pos.append(gen.frag_after(fam, "chacha", 3, "shuffled", count=count))
        neg += espgen.negative_cases(gen, fam, "gcm")
    # replay delivers each of its datagrams once, the others nothing
    expect = [pl for c in pos + neg for pl in c.payloads]
    bad = malformed([c for c in neg if c.negative in ("wrong_key", "unknown_spi", "incomplete")],
                    rng)
    # interleave the cases datagram-wise would mix up what each case's own
    # order tests (reversed, shuffled): cases go one after the other, the
    # malformed frames spread among them
    packets = []
    cases = pos + neg
    rng.shuffle(cases)
    step = max(1, len(cases) // max(1, len(bad)))
    bi = 0
    for k, c in enumerate(cases):
        packets += c.packets
        if k % step == 0 and bi < len(bad):
            packets += bad[bi:bi + 2]
            bi += 2
    packets += bad[bi:]
    sas = [line for c in pos + neg for line in c.sa_lines()]
    return packets, expect, sas, pos + neg, len(bad)


# ------------------------------------------------------------- sampling
def proc_sample(pid):
    rss = fds = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss, fds, threads


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(a):
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    t_build = time.time()
    packets, expect, sas, cases, n_bad = build_traffic(a.count, a.seed)
    t_build = time.time() - t_build
    lines = []

    def log(s):
        lines.append(s)
        print(s, flush=True)

    log("xdpsec soak: %d s requested, %d frames and %d expected datagrams a round "
        "(%d cases, %d malformed frames, %d SAs), paced at %d frames/s; traffic built in %.0f s"
        % (a.seconds, len(packets), len(expect), len(cases), n_bad, len(sas), a.rate, t_build))
    log("started %s UTC, load average %s, %d CPUs"
        % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), loadavg(), os.cpu_count()))
    failures = []
    with XdpsecEnv(tag="sk") as env:
        env.ctl("limits", "set", "timeout", "%ds" % REASM_TIMEOUT_S)
        frames_path = os.path.join(env.tmp, "soak-frames.bin")
        expect_path = os.path.join(env.tmp, "soak-expect.bin")
        batch_path = os.path.join(env.tmp, "soak-sas.batch")
        framefile.write_frames(frames_path, espgen.to_frames(packets, env.pair.a_mac,
                                                             env.pair.b_mac))
        framefile.write_frames(expect_path, expect)
        fd = os.open(batch_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("sa flush\n" + "".join(line + "\n" for line in sas))
        bench = os.path.join(env.build, "bench")
        pid = env.daemon.pid
        log("daemon PID %d: %s" % (pid, " ".join(env.daemon.args[2:])))
        log("")
        log("%7s %9s %4s %7s %9s %11s %11s %7s  %s" % (
            "t_s", "rss_kb", "fds", "threads", "rounds", "sent", "delivered", "ratio", "check"))
        t0 = time.time()
        last = t0 - SAMPLE_EVERY
        rounds = sent = delivered = dups = stray = refused = 0
        samples = []
        while True:
            now = time.time()
            if now - last >= SAMPLE_EVERY or now - t0 >= a.seconds:
                # quiet point: reassembly's timeout expires what the
                # incomplete cases hold, then the law must hold exactly
                time.sleep(REASM_TIMEOUT_S + 0.8)
                if not env.daemon_alive():
                    failures.append("daemon exited (status %s): %s"
                                    % (env.daemon.returncode, env.log_tail()[-400:]))
                    break
                try:
                    env.check_balance(timeout=5)
                    chk = "ok"
                except AssertionError as ex:
                    chk = "FAILED: %s" % ex
                    failures.append("t=%.0f s: %s" % (time.time() - t0, ex))
                rss, fds, thr = proc_sample(pid)
                t = time.time() - t0
                samples.append((t, rss, fds, thr))
                log("%7.0f %9d %4d %7d %9d %11d %11d %7.4f  %s" % (
                    t, rss, fds, thr, rounds, sent, delivered,
                    delivered / (rounds * len(expect)) if rounds else 0, chk))
                last = time.time()
                if now - t0 >= a.seconds:
                    break
            env.ctl("-b", batch_path)
            sink = env.pair.b.popen([os.path.join(bench, "traffic_sink"), "-p", str(PORT),
                                     "-e", expect_path, "-t", "1.0", "-T", "60"])
            if "READY" not in sink.stderr.readline():
                raise RuntimeError("traffic_sink did not start: %s" % sink.stderr.read())
            s = env.pair.a.run([os.path.join(bench, "traffic_send"), "-i", "veth0", "-f",
                                frames_path, "-d", env.pair.b_mac, "-r", str(a.rate)],
                               timeout=120)
            so = json.loads(s.stdout)
            out, err = sink.communicate(timeout=90)
            env.pair.b.procs.remove(sink)
            r = json.loads(out)
            rounds += 1
            sent += so.get("sent", 0)
            refused += so.get("refused", 0) if isinstance(so.get("refused"), int) else 0
            delivered += r["delivered"]
            dups += r["dups"]
            stray += r["stray"]
        elapsed = time.time() - t0
        log("")
        log("finished %s UTC after %.0f s, load average %s"
            % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), elapsed, loadavg()))
        want = rounds * len(expect)
        log("rounds %d; frames sent %d (refused by the socket %d); datagrams delivered %d of %d "
            "expected (%.4f %%), duplicates %d, stray %d"
            % (rounds, sent, refused, delivered, want, 100.0 * delivered / want if want else 0,
               dups, stray))
        if samples:
            rs = [x[1] for x in samples]
            fs = [x[2] for x in samples]
            # growth after the first minute: the pools are sized at start
            warm = [x for x in samples if x[0] >= 60] or samples
            log("RSS: first %d kB, after 60 s %d kB, last %d kB, max %d kB; open fds: min %d, "
                "max %d, last %d" % (rs[0], warm[0][1], rs[-1], max(rs), min(fs), max(fs), fs[-1]))
        checks = len(samples)
        log("conservation law: %d checks, %d failed" % (checks, len(failures)))
        st = env.stats()
        for key in sorted(st):
            if st[key] and key[0] in ("esp", "reasm", "classify", "decrypt", "xsk", "feedback"):
                lines.append("  counter %s/%s = %d" % (key[0], key[1], st[key]))
    for f in failures:
        log("FAILURE: %s" % f)
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("report: %s" % a.out)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description="xdpsecd soak run (make soak)")
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--rate", type=int, default=4000, help="frames per second while sending")
    ap.add_argument("--count", type=int, default=4, help="datagrams per case")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(ROOT, os.environ.get("BUILD", "build"),
                                                   "soak", "report.txt"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root (network namespaces, XDP)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(run(a))


if __name__ == "__main__":
    main()
