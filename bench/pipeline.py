#!/usr/bin/python3
"""bench/pipeline - what a datagram costs through the whole running system.

Not a test: it prints figures and never fails on a rate.  Needs root (two
network namespaces joined by a veth pair, build/xdpsecd on the receiver,
like the e2e tests) and a built tree (`make`).  Python only orchestrates:
the packets are moved by bench/traffic_send (prebuilt frames, sendmmsg,
token-bucket bursts) and checked by bench/traffic_sink (recvmmsg, a digest
per datagram); bench/streams.py builds the streams once into a cache.

Per stream (see streams.py: plain, plain_frag2/3, esp, frag_after2/3,
frag_before, nested; IPv4 and IPv6; GCM and ChaCha20-Poly1305):

  loss-free rate  the highest paced rate (datagrams/s) at which less than
                  0.1 % is lost, by bisection between the open-loop
                  throughput and the sender's top rate; a ratio against
                  the stream's plaintext twin (the same datagrams unencrypted)
  CPU/datagram    the CPU time of every task that carries the traffic, per
                  delivered datagram: sender and sink (their own
                  CLOCK_PROCESS_CPUTIME_ID), all of xdpsecd's threads, the
                  CPUMAP kthreads of its map and ksoftirqd (the scheduler's
                  runtime, /proc/PID/task/TID/schedstat, in ns).  Softirq
                  work (veth, XDP, the stack) runs in the context of the task
                  that raised it and is counted there.  Stream and twin run
                  at the same rate, rounds interleaved; medians, and the
                  extra over the twin is the median of per-round
                  differences.  Whole-system /proc/stat busy time per CPU is
                  recorded too (--json), but on a machine shared with other
                  work it measures the neighbours: see docs/benchmarks.md.

Scaling: whole ESP from 1, 2, 4, 8 peer pairs with 1 and 2 workers (loss-free
rate).  Overload: open loop at twice the loss-free rate, drop counters.

usage: sudo /usr/bin/python3 bench/pipeline.py --quick        # ~4 min: IPv4 GCM
       sudo /usr/bin/python3 bench/pipeline.py                # everything (~25 min)
       ... [--family 4|6|both] [--alg gcm|chacha|both] [--streams a,b] [--count N]
           [--rounds R] [--cpu-rate DPS] [--no-lossfree] [--no-cpu] [--scaling]
           [--overload STREAM] [--json FILE] [--sender-cpu N]
"""
import argparse
import collections
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import streams as S  # noqa: E402

LOSS = 0.001


def runtime_ns(pid, tid=None):
    """The scheduler's runtime of one task (CONFIG_SCHED_INFO), ns."""
    path = "/proc/%d/task/%d/schedstat" % (pid, tid) if tid else "/proc/%d/schedstat" % pid
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


class Tasks:
    """The long-lived tasks that carry the traffic: xdpsecd's threads, the
    CPUMAP kthreads of the daemon's steering map, ksoftirqd."""

    def __init__(self, env, nice=None):
        self.roles = {"daemon": [], "cpumap": [], "ksoftirqd": []}
        pid = env.daemon.pid
        self.roles["daemon"] = [(pid, int(t)) for t in os.listdir("/proc/%d/task" % pid)]
        maps = set()
        try:
            net = json.loads(env.pair.b.run("bpftool -j net show dev veth1").stdout)
            for x in net[0].get("xdp", []):
                prog = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(x["id"])],
                                                 capture_output=True, text=True).stdout)
                maps.update(prog.get("map_ids", []))
        except (ValueError, KeyError, IndexError, RuntimeError):
            pass
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                comm = open("/proc/%s/comm" % p).read().strip()
            except OSError:
                continue
            if comm.startswith("ksoftirqd/"):
                self.roles["ksoftirqd"].append((int(p), None))
            elif comm.startswith("cpumap/") and int(comm.rsplit(":", 1)[1]) in maps:
                self.roles["cpumap"].append((int(p), None))
        if nice is not None:
            for pid, tid in self.roles["daemon"] + self.roles["cpumap"]:
                try:
                    os.setpriority(os.PRIO_PROCESS, tid or pid, nice)
                except OSError:
                    pass

    def sample(self):
        return {r: sum(runtime_ns(p, t) for p, t in ts) for r, ts in self.roles.items()}


def proc_stat():
    """{cpu: [busy jiffies (user nice system irq softirq), user+nice, system, softirq+irq]}"""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            v = [int(x) for x in line.split()[1:8]]
            out[line.split()[0]] = (v[0] + v[1] + v[2] + v[5] + v[6], v[0] + v[1], v[2], v[5] + v[6])
    return out


def stat_delta(a, b):
    return {c: tuple(y - x for x, y in zip(a[c], b[c])) for c in a}


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Bench:
    def __init__(self, env, burst, sender_cpu=None, nice=None):
        self.env, self.burst = env, burst
        self.build = env.build  # the harness: always this tree's
        self.sender_cpu = sender_cpu
        self.nice = nice
        self.hz = os.sysconf("SC_CLK_TCK")
        self.tasks = None
        self.running = None

    def use(self, build, args):
        """Run the daemon of BUILD (label, dir) with ARGS, unless it runs."""
        if self.running == (build, args) and self.env.daemon_alive():
            return
        self.env.stop_daemon()
        self.env.build = build[1]
        self.env.daemon_args = list(args)
        self.env.start_daemon()
        time.sleep(0.5)         # steering is set up last
        self.env.ctl("limits", "set", "timeout", "1000ms")
        self.tasks = Tasks(self.env, self.nice)
        self.running = (build, args)

    def wrap(self, argv, cpu=None):
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        if self.nice is not None:
            argv = ["nice", "-n", str(self.nice)] + argv
        return argv

    def reset_sas(self, meta):
        """Fresh replay windows: the same ESP frames may be sent again."""
        self.env.ctl("sa", "flush")
        self.env.sa_add(meta["sa_lines"])

    def probe(self, d, meta, dps, counters=False, idle=0.4):
        """Send stream D once at DPS datagrams/s (0: open loop)."""
        env = self.env
        if meta["sa_lines"]:
            self.reset_sas(meta)
        before = env.stats() if counters else None
        sink = env.pair.b.popen(self.wrap([os.path.join(self.build, "bench", "traffic_sink"),
                                           "-p", str(meta["port"]),
                                           "-e", os.path.join(d, "payloads.bin"), "-t", str(idle)],
                                          self.sender_cpu))
        argv = [os.path.join(self.build, "bench", "traffic_send"), "-i", "veth0",
                "-f", os.path.join(d, "frames.bin"), "-d", env.pair.b_mac,
                "-r", "%.0f" % (dps * meta["frames_per_datagram"]), "-b", str(self.burst), "-w"]
        argv = self.wrap(argv, self.sender_cpu)
        snd = None
        try:
            if "READY" not in sink.stderr.readline():
                raise RuntimeError("traffic_sink: %s" % sink.stderr.read())
            snd = env.pair.a.popen(argv, stdin=subprocess.PIPE)
            if "READY" not in snd.stderr.readline():
                raise RuntimeError("traffic_send: %s" % snd.stderr.read())
            s0, k0, t0 = proc_stat(), self.tasks.sample(), time.monotonic()
            snd.stdin.write("go\n")
            snd.stdin.flush()
            so, _ = snd.communicate(timeout=600)
            ko, _ = sink.communicate(timeout=600)
            s1, k1, t1 = proc_stat(), self.tasks.sample(), time.monotonic()
        finally:
            for p in (sink, snd):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
        sent, got = json.loads(so), json.loads(ko)
        # the sink waited IDLE seconds after the last datagram when some
        # were lost: that tail is not the stream's (background removed below)
        r = {"dps": dps, "sent_frames": sent["sent"], "refused": sent["refused"],
             "send_seconds": sent["seconds"], "count": meta["count"],
             "delivered": got["delivered"], "dups": got["dups"], "stray": got["stray"],
             "recv_seconds": got["seconds"], "wall": t1 - t0,
             "cpu": {c: [x / self.hz for x in v] for c, v in stat_delta(s0, s1).items()},
             "tasks": dict({r: (k1[r] - k0[r]) * 1e-9 for r in k0},
                           sender=sent["cpu"], sink=got["cpu"])}
        r["window"] = (sent["t_start"], max(sent["t_end"], got["t_last"]))
        r["loss"] = 1 - r["delivered"] / meta["count"]
        if r["loss"]:
            time.sleep(1.2)     # incomplete datagrams expire (see main)
        r["send_dps"] = meta["count"] / sent["seconds"] if sent["seconds"] else 0
        r["rate"] = min(dps, r["send_dps"]) if dps else r["send_dps"]   # what was offered
        r["recv_dps"] = r["delivered"] / got["seconds"] if got["seconds"] else 0
        if counters:
            after = env.stats()
            r["counters"] = {"%s/%s" % k: after[k] - before.get(k, 0) for k in after
                             if after[k] - before.get(k, 0)}
        return r

    def idle(self, seconds):
        s0, t0 = proc_stat(), time.monotonic()
        time.sleep(seconds)
        s1, t1 = proc_stat(), time.monotonic()
        return sum(v[0] for v in stat_delta(s0, s1).values()) / self.hz / (t1 - t0)

    def lossfree(self, d, meta, steps=5):
        """(highest loss-free datagrams/s found, open-loop probe, probes)."""
        top = self.probe(d, meta, 0)
        probes = [top]
        if top["loss"] < LOSS:
            return top["send_dps"], top, probes, True   # the sender's limit
        lo, hi = 0.0, top["send_dps"]
        x = min(top["recv_dps"], hi) * 0.95
        for _ in range(steps):
            r = self.probe(d, meta, x)
            probes.append(r)
            if r["loss"] < LOSS:
                lo = max(lo, r["rate"])   # a starved sender offers less than asked
            else:
                hi = x
            if lo and hi / lo < 1.05:
                break
            x = (lo + hi) / 2 if lo else x * 0.7
        return lo, top, probes, False


ROLES = ("sender", "sink", "daemon", "cpumap", "ksoftirqd")


def cpu_per_dg(r, bg=None):
    """Task CPU µs per delivered datagram (bg given: whole-system /proc/stat
    busy time less BG busy CPUs of background)."""
    if bg is None:
        busy = sum(r["tasks"].values())
    else:
        busy = sum(v[0] for v in r["cpu"].values()) - bg * r["wall"]
    return busy / max(r["delivered"], 1) * 1e6


def split(rs):
    """Median µs per datagram of each role over the rounds RS."""
    return {k: statistics.median(r["tasks"][k] / max(r["delivered"], 1) * 1e6 for r in rs)
            for k in ROLES}


def table(hdr, rows):
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    for row in [hdr] + rows:
        print("| " + " | ".join(str(x).ljust(n) for x, n in zip(row, w)) + " |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="IPv4 GCM: plain, plain_frag2, esp, frag_after2; 1 and 2 peer pairs")
    ap.add_argument("--family", default="both", choices=("4", "6", "both"))
    ap.add_argument("--alg", default="both", choices=("gcm", "chacha", "both"))
    ap.add_argument("--streams", default="", help="comma-separated subset of ESP kinds")
    ap.add_argument("--count", type=int, default=0, help="datagrams per stream (60000; quick 40000)")
    ap.add_argument("--size", type=int, default=1300, help="UDP payload bytes")
    ap.add_argument("--rounds", type=int, default=0, help="CPU rounds (5; quick 3)")
    ap.add_argument("--lf-reps", type=int, default=1, help="loss-free searches per stream (median)")
    ap.add_argument("--cpu-rate", type=float, default=40000, help="datagrams/s of the CPU runs")
    ap.add_argument("--burst", type=int, default=32, help="sender burst (frames)")
    ap.add_argument("--no-lossfree", action="store_true")
    ap.add_argument("--no-cpu", action="store_true")
    ap.add_argument("--counters", action="store_true",
                    help="read the daemon's counters around every CPU run (outside the timed part)")
    ap.add_argument("--scaling", default="", help="peer pairs, e.g. 1,2,4,8 (quick: 1,2; 0: none)")
    ap.add_argument("--overload", default="", help="streams for the 2x open-loop run, e.g. frag_after2")
    ap.add_argument("--builds", default="",
                    help="LABEL=BUILD_DIR,... daemons to compare, interleaved (default: this tree's)")
    ap.add_argument("--workers", type=int, default=0, help="daemon workers (default: one per CPU)")
    ap.add_argument("--sender-cpu", type=int, default=1,
                    help="CPU of sender and sink (default 1: the benchmark's peer pair is "
                         "steered to CPU 0, so the daemon's path and the sender do not share "
                         "a CPU; -1: anywhere)")
    ap.add_argument("--nice", type=int, default=-10,
                    help="nice value of the daemon, its CPUMAP kthreads, sender and sink "
                         "(default -10: the machine is shared; 99: leave as is)")
    ap.add_argument("--perf", default="",
                    help="profile instead: PREFIX; for each selected stream, `perf record -a -g "
                         "-e cpu-clock` over --rounds paced runs at --cpu-rate into PREFIX-STREAM.data")
    ap.add_argument("--cache", default="/var/tmp/xdpsec-bench")
    ap.add_argument("--json", default="", help="write every probe to this file")
    a = ap.parse_args()
    # SIGTERM cleans up like ^C (namespaces, daemon, sender, sink)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if os.geteuid() != 0:
        print("bench/pipeline: needs root (namespaces, XDP)", file=sys.stderr)
        return 2
    fams = [4, 6] if a.family == "both" else [int(a.family)]
    algs = ["gcm", "chacha"] if a.alg == "both" else [a.alg]
    kinds = list(S.ESP_KINDS)
    if a.quick:
        fams, algs, kinds = ([4] if a.family == "both" else fams), (["gcm"] if a.alg == "both" else algs), \
            ["esp", "frag_after2"]
    if a.streams:
        kinds = a.streams.split(",")
    count = a.count or (40000 if a.quick else 60000)
    rounds = a.rounds or (3 if a.quick else 5)
    scaling = [int(x) for x in (a.scaling or ("1,2" if a.quick else "1,2,4,8")).split(",") if int(x)]

    # the streams: (family, alg or None, kind)
    want = []
    for f in fams:
        for k in kinds:
            if S.TWIN[k] not in [x[2] for x in want if x[0] == f]:
                want.append((f, None, S.TWIN[k]))
        for al in algs:
            want += [(f, al, k) for k in kinds]
    t = time.monotonic()
    dirs = {}
    for i, (f, al, k) in enumerate(want):
        dirs[(f, al, k)] = S.build_stream(a.cache, f, al or "gcm", count, a.size, k, S.PORT_BASE + i)
    for p in scaling:
        k = "esp_peers%d" % p
        dirs[(4, "gcm", k)] = S.build_stream(a.cache, 4, "gcm", count, a.size, k, S.PORT_BASE + 90 + p)
    print("streams ready in %.1f s (cache %s)" % (time.monotonic() - t, a.cache), file=sys.stderr)
    metas = {k: json.load(open(os.path.join(d, "meta.json"))) for k, d in dirs.items()}

    from xdpsec_env import build_dir
    builds = [tuple(x.split("=", 1)) for x in a.builds.split(",")] if a.builds else \
        [("this", build_dir())]
    labels = [lb for lb, _ in builds]
    out = {"params": vars(a), "load_start": load(), "builds": dict(builds),
           "lossfree": {lb: {} for lb in labels}, "cpu": {lb: {} for lb in labels},
           "scaling": {lb: {} for lb in labels}, "overload": {lb: {} for lb in labels}}
    args = ["-w", str(a.workers)] if a.workers else []
    name = lambda key: "v%d %s %s" % (key[0], key[1] or "-", key[2])  # noqa: E731
    try:
        run(a, out, builds, labels, want, dirs, metas, args, name, rounds, scaling)
    except BaseException:
        out["aborted"] = True
        dump(a.json, out)       # what was measured so far
        raise
    out["load_end"] = load()
    dump(a.json, out)
    for lb in labels:
        print("\n## %s (%s)\n" % (lb, dict(builds)[lb]))
        report({k: (v[lb] if isinstance(v, dict) and lb in v else v) for k, v in out.items()},
               want, name)
    if len(labels) > 1:
        compare(out, labels, want, name)
    return 0


def dump(path, out):
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1)


def run(a, out, builds, labels, want, dirs, metas, args, name, rounds, scaling):
    say = lambda *x: print(*x, file=sys.stderr, flush=True)  # noqa: E731
    from xdpsec_env import XdpsecEnv
    with XdpsecEnv(tag="bp", daemon=False) as env:
        # stale incomplete datagrams of a lossy run must not meet the next
        # run's fragments (same ids): short reassembly timeouts, here only
        env.pair.b.run("sysctl -qw net.ipv4.ipfrag_time=1 net.ipv6.ip6frag_time=1")
        b = Bench(env, a.burst, None if a.sender_cpu < 0 else a.sender_cpu,
                  None if a.nice == 99 else a.nice)
        say("load %s; builds %s" % (load(), ", ".join("%s=%s" % x for x in builds)))
        if a.perf:
            b.use(builds[-1], args)
            for key in want:
                path = "%s-%s.data" % (a.perf, name(key).replace(" ", "_"))
                perf = subprocess.Popen(["perf", "record", "-a", "-g", "-e", "cpu-clock", "-q",
                                         "-k", "CLOCK_MONOTONIC", "-o", path],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                # syscalls and context switches of the daemon's threads and
                # its CPUMAP kthreads (a syscall costs ~4 µs on these VMs)
                pids = [env.daemon.pid] + [p for p, _ in b.tasks.roles["cpumap"]]
                stat = subprocess.Popen(["perf", "stat", "-x", ",", "--per-thread", "-e",
                                         "raw_syscalls:sys_enter,sched:sched_switch", "-p",
                                         ",".join(str(x) for x in pids)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                try:
                    time.sleep(1.0)
                    rs = [b.probe(dirs[key], metas[key], a.cpu_rate) for _ in range(rounds)]
                finally:
                    perf.send_signal(2)
                    stat.send_signal(2)
                    perf.wait()
                    counts = stat.communicate()[1]
                dg = sum(r["delivered"] for r in rs)
                per = collections.Counter()
                for line in counts.splitlines():
                    f = line.split(",")
                    if len(f) > 3 and f[1].replace(".", "").isdigit():
                        per[(f[0].rsplit("-", 1)[0], f[3])] += float(f[1])
                with open(path[:-5] + ".json", "w") as f:
                    json.dump({"data": path, "datagrams": dg, "daemon_pid": env.daemon.pid,
                               "cpumap_pids": pids[1:], "us_per_dg": [cpu_per_dg(r) for r in rs],
                               "windows": [r["window"] for r in rs],
                               "tasks": [r["tasks"] for r in rs]}, f)
                say("  per datagram: " + ", ".join("%s %s %.3f" % (t, e.split(":")[1], v / max(dg, 1))
                                                   for (t, e), v in sorted(per.items()) if v))
                say("  %s: %s, %.2f µs/dg, %d/%d delivered; daemon pid %d, cpumap %s" % (
                    path, name(key), statistics.median(cpu_per_dg(r) for r in rs),
                    sum(r["delivered"] for r in rs), sum(r["count"] for r in rs),
                    env.daemon.pid, [p for p, _ in b.tasks.roles["cpumap"]]))
            a.no_lossfree = a.no_cpu = True
            scaling = []
        if not a.no_lossfree:
            for i, key in enumerate(want):
                for j in range(len(builds)):
                    bl = builds[(i + j) % len(builds)]
                    b.use(bl, args)
                    res = [b.lossfree(dirs[key], metas[key]) for _ in range(a.lf_reps)]
                    lf = statistics.median(r[0] for r in res)
                    top = res[0][1]
                    out["lossfree"][bl[0]][name(key)] = {
                        "dps": lf, "reps": [r[0] for r in res], "sender_limit": res[0][3],
                        "probes": [p for r in res for p in r[2]]}
                    say("  %-6s loss-free %-24s %8.0f dg/s%s (open loop: sent %.0f, delivered "
                        "%.0f/s, loss %.1f %%)" % (bl[0], name(key), lf,
                                                   " (sender's limit)" if res[0][3] else "",
                                                   top["send_dps"], top["recv_dps"], top["loss"] * 100))
        if not a.no_cpu:
            for lb in labels:
                out["cpu"][lb] = {"background_rounds": [], "probes": {name(k): [] for k in want}}
            for rnd in range(rounds):
                for j in range(len(builds)):
                    bl = builds[(rnd + j) % len(builds)]
                    b.use(bl, args)
                    c = out["cpu"][bl[0]]
                    order = want[rnd % len(want):] + want[:rnd % len(want)]
                    c["background_rounds"].append(b.idle(1.0))
                    for key in order:
                        rate = a.cpu_rate
                        twin = (key[0], None, S.TWIN.get(key[2], key[2]))
                        for lbx in labels:
                            for x in (key, twin):
                                v = out["lossfree"][lbx].get(name(x), {}).get("dps")
                                if v:
                                    rate = min(rate, 0.8 * v)
                        r = b.probe(dirs[key], metas[key], rate, counters=a.counters)
                        c["probes"][name(key)].append(r)
                        if a.counters and r["delivered"] < r["count"]:
                            say("    %s %s lost %d: %s" % (bl[0], name(key), r["count"] - r["delivered"],
                                                          {k: v for k, v in r["counters"].items()
                                                           if k.startswith(("drops/", "feedback/"))}))
                say("  cpu round %d/%d done, load %s" % (rnd + 1, rounds, load()))
            for lb in labels:
                out["cpu"][lb]["background_cpus"] = statistics.median(out["cpu"][lb]["background_rounds"])
        for k in [x for x in a.overload.split(",") if x]:
            fam0, alg0 = next((x[0], x[1]) for x in want if x[1])
            key = (fam0, alg0, k)
            for bl in builds:
                b.use(bl, args)
                lf = out["lossfree"][bl[0]].get(name(key), {}).get("dps") or \
                    b.lossfree(dirs[key], metas[key])[0]
                r = b.probe(dirs[key], metas[key], 2 * lf, counters=True)
                r0 = b.probe(dirs[key], metas[key], 0, counters=True)
                out["overload"][bl[0]][name(key)] = {"lossfree": lf, "probe": r, "open": r0}
        for bl in (builds if scaling else ()):
            for w in (1, 2):
                b.use(bl, ["-w", str(w)])
                for p in scaling:
                    key = (4, "gcm", "esp_peers%d" % p)
                    res = [b.lossfree(dirs[key], metas[key]) for _ in range(a.lf_reps)]
                    lf = statistics.median(r[0] for r in res)
                    out["scaling"][bl[0]]["%d/%d" % (w, p)] = {
                        "dps": lf, "reps": [r[0] for r in res], "sender_limit": res[0][3]}
                    say("  %-6s scaling: %d worker(s), %d peer pair(s): %.0f dg/s" % (bl[0], w, p, lf))


def compare(out, labels, want, name):
    """Each build against the first: loss-free rate and CPU per datagram."""
    base = labels[0]
    print("\n## against %s (same run)\n" % base)
    rows = []
    for key in want:
        n = name(key)
        row = [n]
        for lb in labels[1:]:
            lf0 = out["lossfree"][base].get(n, {}).get("dps")
            lf1 = out["lossfree"][lb].get(n, {}).get("dps")
            row.append("%.2f" % (lf1 / lf0) if lf0 and lf1 else "-")
            p0 = out["cpu"][base].get("probes", {}).get(n)
            p1 = out["cpu"][lb].get("probes", {}).get(n)
            if p0 and p1:
                d = [cpu_per_dg(y) - cpu_per_dg(x) for x, y in zip(p0, p1)]
                row.append("%+.2f" % statistics.median(d))
            else:
                row.append("-")
        rows.append(row)
    hdr = ["stream"]
    for lb in labels[1:]:
        hdr += ["%s/%s loss-free" % (lb, base), "%s-%s µs/dg" % (lb, base)]
    table(hdr, rows)


def report(out, want, name):
    print("load average at start %s, at end %s" % (out["load_start"], out["load_end"]))
    lfs = out["lossfree"]
    if lfs:
        print("\nLoss-free rate (< 0.1 % lost), datagrams/s:\n")
        rows = []
        for key in want:
            n = name(key)
            tw = name((key[0], None, S.TWIN.get(key[2], key[2])))
            x, t = lfs[n]["dps"], lfs[tw]["dps"]
            rows.append((n, "%.0f%s" % (x, "+" if lfs[n]["sender_limit"] else ""),
                         tw if tw != n else "-", "%.2f" % (x / t) if t and tw != n else "-"))
        table(("stream", "loss-free dg/s", "twin", "x twin"), rows)
    if out["cpu"]:
        c = out["cpu"]
        bg = c["background_cpus"]
        print("CPU µs per delivered datagram (tasks carrying the traffic), median of %d rounds "
              "(whole-system /proc/stat: %.2f CPUs busy with no traffic of ours, see --json):\n"
              % (len(c["background_rounds"]), bg))
        rows = []
        for key in want:
            n = name(key)
            ps = c["probes"][n]
            tw = name((key[0], None, S.TWIN.get(key[2], key[2])))
            med = statistics.median(cpu_per_dg(r) for r in ps)
            if tw != n:
                diffs = [cpu_per_dg(r) - cpu_per_dg(q) for r, q in zip(ps, c["probes"][tw])]
                extra = "%+.2f" % statistics.median(diffs)
                ratio = "%.2f" % (med / statistics.median(cpu_per_dg(q) for q in c["probes"][tw]))
            else:
                extra = ratio = "-"
            sp = split(ps)
            lost = sum(r["count"] - r["delivered"] for r in ps)
            rows.append((n, "%.0f" % statistics.median(r["rate"] for r in ps), "%.2f" % med, extra,
                         ratio) + tuple("%.2f" % sp[k] for k in ROLES) + (lost,))
        table(("stream", "rate dg/s", "µs/dg", "extra over twin", "x twin") + ROLES + ("lost",), rows)
    for n, o in (out.get("overload") or {}).items():
        for what, r in (("paced at 2 x loss-free (%.0f)" % o["lossfree"], o["probe"]),
                        ("open loop", o["open"])):
            print("Overload: %s %s, offered %.0f dg/s: delivered %d/%d" %
                  (n, what, r["rate"], r["delivered"], r["count"]))
            for k, v in sorted(r.get("counters", {}).items()):
                if k.startswith(("drops/", "feedback/", "xsk/", "pipeline/tx", "pipeline/held")) \
                        or "fail" in k:
                    print("  %s %d" % (k, v))
            print()
    if out["scaling"]:
        sc = out["scaling"]
        print("Scaling, whole ESP IPv4 GCM, loss-free dg/s:\n")
        ps = sorted({int(k.split("/")[1]) for k in sc})
        rows = []
        for p in ps:
            one, two = sc.get("1/%d" % p, {}).get("dps"), sc.get("2/%d" % p, {}).get("dps")
            rows.append((p, "%.0f" % one if one else "-", "%.0f" % two if two else "-",
                         "%.2f" % (two / one) if one and two else "-"))
        table(("peer pairs", "1 worker", "2 workers", "2/1"), rows)


if __name__ == "__main__":
    sys.exit(main())
