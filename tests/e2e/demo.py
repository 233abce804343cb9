#!/usr/bin/python3
"""demo - `sudo make demo`: xdpsec receiving real ESP traffic, every branch.

Builds two namespaces joined by a veth pair, runs xdpsecd on the receiving
side (veth1), sends ESP built by scapy (an independent implementation)
through every branch of the decision tree -- plain, plain fragmented, whole
ESP, fragmented before encryption, after encryption, between two nested
layers -- over IPv4 (AES-GCM) and IPv6 (ChaCha20-Poly1305), then prints
what an ordinary UDP socket received per branch and the daemon's counters,
and cleans up.  Exits non-zero if any branch delivered nothing (or the
daemon cannot run).

usage: sudo make demo        (or: sudo BUILD=dir /usr/bin/python3 tests/e2e/demo.py [-n N])
  --combos 4:gcm,6:chacha    families and algorithms, each pair running every
                             branch (default; "all" = 4:gcm,4:chacha,6:gcm,6:chacha)
  --strict                   exit non-zero unless every datagram of every case
                             arrived byte-exact, once
  --report FILE              one TSV line per case (combo, case, branch, frames,
                             sent, delivered, duplicates): tests/kernels reads it
"""
import argparse
import os
import sys
import time


import espgen      # noqa: E402
from xdpsec_env import XdpsecEnv, DaemonUnavailable, TIME_SCALE   # noqa: E402

BRANCH_ORDER = ("plain", "plain_frag", "esp", "frag_before", "frag_after",
                "frag_between")
SHOW = [("decrypt", "fresh"), ("decrypt", "reentered"), ("decrypt", "to_reasm"),
        ("decrypt", "to_esp"), ("decrypt", "pass_plain"),
        ("pipeline", "reasm_complete"), ("pipeline", "sent_ciphertext"),
        ("pipeline", "nested"), ("pipeline", "delivered")]


DEFAULT_COMBOS = "4:gcm,6:chacha"
ALL_COMBOS = "4:gcm,4:chacha,6:gcm,6:chacha"


def parse_combos(text):
    if text == "all":
        text = ALL_COMBOS
    out = []
    for item in text.split(","):
        fam, _, alg = item.strip().partition(":")
        if fam not in ("4", "6") or alg not in ("gcm", "chacha"):
            raise argparse.ArgumentTypeError(
                "bad combo %r: FAMILY:ALG with FAMILY 4 or 6, ALG gcm or chacha" % item)
        out.append((int(fam), alg))
    return out


def demo_cases(gen, n, combos=((4, "gcm"), (6, "chacha"))):
    cs = []
    for fam, alg in combos:
        cs += [gen.plain(fam, alg, count=n), gen.plain_frag(fam, alg, count=n),
               gen.esp(fam, alg, "tunnel", count=n),
               gen.esp(fam, alg, "transport", encap=True, count=n),
               gen.frag_before(fam, alg, count=n),
               gen.frag_after(fam, alg, 3, "shuffled", count=n),
               gen.frag_after(fam, alg, 40, "dups", count=n),
               gen.nested(fam, alg, "transport", "before", count=n),
               gen.nested(fam, alg, "tunnel", "between", count=n),
               gen.nested(fam, alg, "tunnel", "after", count=n)]
    return cs


def table(rows, head):
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = "  ".join("%%-%ds" % x for x in w)
    print(line % tuple(head))
    print(line % tuple("-" * x for x in w))
    for r in rows:
        print(line % tuple(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5, help="datagrams per case")
    ap.add_argument("--no-daemon", action="store_true",
                    help="the same traffic with no xdpsecd: only plain arrives")
    ap.add_argument("--combos", type=parse_combos, default=parse_combos(DEFAULT_COMBOS),
                    help="FAMILY:ALG,... (default %s; 'all': %s)" % (DEFAULT_COMBOS, ALL_COMBOS))
    ap.add_argument("--strict", action="store_true",
                    help="fail unless every datagram of every case arrived, once")
    ap.add_argument("--report", metavar="FILE",
                    help="per-case TSV: combo, case, branch, frames, sent, delivered, duplicates")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("demo: needs root (namespaces, XDP): sudo make demo", file=sys.stderr)
        return 2
    gen = espgen.Gen(seed=2024, spi_base=0x50000, port_base=41000)
    cases, combo_of = [], {}
    for fam, alg in a.combos:       # the same cases as one call with every combo
        for c in demo_cases(gen, a.n, [(fam, alg)]):
            combo_of[id(c)] = "%d:%s" % (fam, alg)
            cases.append(c)
    try:
        env = XdpsecEnv(tag="dm", daemon=not a.no_daemon).__enter__()
    except DaemonUnavailable as ex:
        print("demo: xdpsecd cannot run: %s" % ex, file=sys.stderr)
        return 1
    rows, per_branch, totals, lost = [], {}, {}, []
    rep = open(a.report, "w") if a.report else None
    if rep:
        rep.write("combo\tcase\tbranch\tframes\tsent\tdelivered\tduplicates\n")
    try:
        print("xdpsecd on veth1 (receiver namespace %s); sender scapy on veth0\n"
              % env.pair.b.name)
        for c in cases:
            if env.daemon_alive():
                env.sa_add(c.sa_lines())
        start = env.stats() if env.daemon_alive() else {}
        for c in cases:
            # settle=0: the demo reads the counters once, after the last case
            r = env.run_case(c, idle=1.0 if a.no_daemon else None, settle=0)
            ok = sorted(r.payloads) == sorted(c.payloads)
            dup = len(r.payloads) - len(set(r.payloads))
            rows.append((c.id, c.branch, len(c.packets), c.datagrams,
                         len(set(r.payloads) & set(c.payloads)),
                         "ok" if ok else "LOST %d%s" % (
                             len(set(c.payloads) - set(r.payloads)),
                             " DUP %d" % dup if dup else "")))
            s, d = per_branch.get(c.branch, (0, 0))
            per_branch[c.branch] = (s + c.datagrams,
                                    d + len(set(r.payloads) & set(c.payloads)))
            if not ok:
                lost.append(c.id)
            if rep:
                rep.write("%s\t%s\t%s\t%d\t%d\t%d\t%d\n" % (
                    combo_of[id(c)], c.id, c.branch, len(c.packets), c.datagrams,
                    len(set(r.payloads) & set(c.payloads)), dup))
                rep.flush()
        time.sleep(0.3 * TIME_SCALE)      # let the last counters land
        end = env.stats() if env.daemon_alive() else {}
        totals = {k: end[k] - start.get(k, 0) for k in end}
        alive = env.daemon_alive() or a.no_daemon
    finally:
        env.close()
        if rep:
            rep.close()

    print("Cases (frames sent, datagrams sent, datagrams delivered byte-exact):")
    table(rows, ("case", "branch", "frames", "sent", "delivered", ""))
    print("\nPer branch of the decision tree:")
    brows = []
    for b in BRANCH_ORDER:
        s, d = per_branch.get(b, (0, 0))
        brows.append((b, s, d, totals.get(("branch", b), "-")))
    table(brows, ("branch", "sent", "delivered", "counter branch/" + "<name>"))
    if totals.get(("branch", "plain"), 0) > per_branch.get("plain", (0, 0))[0]:
        print("(branch/plain also counts the link's own IPv6 neighbour discovery and MLD)")
    print("\nThe feedback path and the daemon (deltas over the demo):")
    table([("%s/%s" % k, totals.get(k, "-")) for k in SHOW], ("counter", "value"))
    # "drops" holds every counter flagged as a drop, named stage.reason
    drops = [(k[1], v) for k, v in sorted(totals.items()) if k[0] == "drops" and v]
    if drops:
        print("\nNon-zero drop counters (pipeline.* sums the reasons of its stage):")
        table(drops, ("counter", "value"))
        if totals.get(("reasm", "reasm_duplicates")):
            print("(the *_dups cases send duplicate fragments on purpose: "
                  "each is ignored and counted)")
    failed = [b for b in BRANCH_ORDER if per_branch.get(b, (0, 0))[1] == 0]
    if not alive:
        print("\ndemo: FAILED: xdpsecd died during the demo")
        return 1
    if failed:
        print("\ndemo: FAILED: nothing delivered on branch(es): %s" % ", ".join(failed))
        return 1
    if a.strict and lost:
        print("\ndemo: FAILED (--strict): %d case(s) lost or duplicated datagrams: %s"
              % (len(lost), ", ".join(lost)))
        return 1
    print("\ndemo: every branch delivered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
