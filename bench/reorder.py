#!/usr/bin/python3
"""bench/reorder - how far reordering inside one SA reaches (docs/architecture.md,
"Reordering inside one SA").

A datagram fragmented after encryption reaches the ESP engine one trip
through the feedback pair after its last fragment arrived, so whole packets
of the same SA that arrived after it may be decrypted first.  This sends
the `mixed` stream of bench/streams.py (one SA, replay window 32, a quarter
of the datagrams in 2 fragments, the rest whole) through the running
system, like bench/pipeline.py, and reports per rate:

  - delivered / sent datagrams, and the replay drops (esp/replay and the
    decrypt program's early drop, classify/drop_replay_early);
  - the esp_reorder counters: how far below the window's right edge each
    delivered packet was when it was decrypted (a histogram), the farthest
    (max_below), and how many were taken left of the window by the record
    of their arrival (late_accepted).  A daemon without these counters
    (an older build) shows the losses only.

The rates: the stream's loss-free rate (bench/pipeline.py's bisection, for
the first build), then the same rate and half of it for every build.
Not a test: it prints figures and never fails.  Needs root and a built tree.

usage: sudo /usr/bin/python3 bench/reorder.py [--count 40000] [--rounds 3]
           [--family 4|6] [--alg gcm|chacha] [--rate DPS] [--builds LABEL=DIR,...]
"""
import argparse
import json
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))

import pipeline as P  # noqa: E402
import streams as S  # noqa: E402

BUCKETS = ("in_order", "below_1", "below_2_3", "below_4_7", "below_8_15", "below_16_31",
           "below_32_63", "below_64_127", "below_128_255", "below_256_up")


def probe(b, d, meta, rate):
    """One run at RATE with the counters around it; max_below is a gauge,
    so the counters are reset first."""
    b.env.ctl("stats", "--reset")
    r = b.probe(d, meta, rate, counters=True)
    c = r["counters"]
    st = b.env.stats()
    return {"rate": r["rate"], "count": r["count"], "delivered": r["delivered"],
            "dups": r["dups"],
            "replay": c.get("esp/replay", 0) + c.get("classify/drop_replay_early", 0),
            "esp_replay": c.get("esp/replay", 0),
            "early_replay": c.get("classify/drop_replay_early", 0),
            "hist": {k: c.get("esp_reorder/" + k, 0) for k in BUCKETS},
            "late_accepted": c.get("esp_reorder/late_accepted", 0),
            "noted": c.get("esp_reorder/arrival_noted", 0),
            "evicted": c.get("esp_reorder/arrival_evicted", 0),
            "max_below": st.get(("esp_reorder", "max_below")),
            "frag_after": c.get("branch/frag_after", 0),
            "refused": r["refused"],
            "counters": c}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=40000, help="datagrams per run")
    ap.add_argument("--size", type=int, default=1300, help="UDP payload bytes")
    ap.add_argument("--rounds", type=int, default=3, help="runs per rate")
    ap.add_argument("--family", type=int, default=4, choices=(4, 6))
    ap.add_argument("--alg", default="gcm", choices=("gcm", "chacha"))
    ap.add_argument("--rate", type=float, default=0, help="skip the search: this rate (dg/s)")
    ap.add_argument("--burst", type=int, default=32, help="sender burst (frames)")
    ap.add_argument("--builds", default="", help="LABEL=BUILD_DIR,... (default: this tree's)")
    ap.add_argument("--cache", default="/var/tmp/xdpsec-bench")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if os.geteuid() != 0:
        print("bench/reorder: needs root (namespaces, XDP)", file=sys.stderr)
        return 2
    d = S.build_stream(a.cache, a.family, a.alg, a.count, a.size, "mixed", S.PORT_BASE + 80)
    meta = json.load(open(os.path.join(d, "meta.json")))
    from xdpsec_env import XdpsecEnv, build_dir
    builds = [tuple(x.split("=", 1)) for x in a.builds.split(",")] if a.builds else \
        [("this", build_dir())]
    say = lambda *x: print(*x, file=sys.stderr, flush=True)  # noqa: E731
    out = {"params": vars(a), "load_start": P.load(), "runs": []}
    with XdpsecEnv(tag="br", daemon=False) as env:
        env.pair.b.run("sysctl -qw net.ipv4.ipfrag_time=1 net.ipv6.ip6frag_time=1")
        b = P.Bench(env, a.burst, 1, -10)
        rate = a.rate
        if not rate:
            b.use(builds[0], [])
            rate = b.lossfree(d, meta)[0]
            say("loss-free rate (%s): %.0f dg/s" % (builds[0][0], rate))
        out["lossfree"] = rate
        for bl in builds:
            b.use(bl, [])
            for rt in (rate, rate / 2):
                for i in range(a.rounds):
                    r = probe(b, d, meta, rt)
                    r["build"] = bl[0]
                    out["runs"].append(r)
                    say("  %s %.0f dg/s: delivered %d/%d, replays %d (esp %d, early %d), "
                        "late_accepted %d, evicted %d, max_below %s, hist %s; sender refused %d" % (
                            bl[0], r["rate"], r["delivered"], r["count"], r["replay"],
                            r["esp_replay"], r["early_replay"], r["late_accepted"], r["evicted"],
                            r["max_below"], {k: v for k, v in r["hist"].items() if v},
                            r["refused"]))
    out["load_end"] = P.load()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    print("load average at start %s, at end %s; loss-free rate %.0f dg/s\n"
          % (out["load_start"], out["load_end"], rate))
    rows = []
    for r in out["runs"]:
        h = r["hist"]
        rows.append((r["build"], "%.0f" % r["rate"], "%d/%d" % (r["delivered"], r["count"]),
                     r["replay"], r["late_accepted"], r["max_below"] if r["max_below"] is not None
                     else "-", h["in_order"], h["below_1"] + h["below_2_3"] + h["below_4_7"],
                     h["below_8_15"] + h["below_16_31"], h["below_32_63"],
                     h["below_64_127"] + h["below_128_255"] + h["below_256_up"]))
    P.table(("build", "rate dg/s", "delivered", "replays", "late_accepted", "max_below",
             "in order", "1-7", "8-31", "32-63", "64+"), rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
