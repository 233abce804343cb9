"""`xdpsecctl monitor` shows what the data plane refuses (user/daemon/events.c).

docs/control.md lists the events; these tests make each one happen with
real traffic and read it from `xdpsecctl -j monitor`:
  - limit_hit   a reassembly limit refuses a fragment (max-frags), evicts
                datagrams (max-datagrams), or the SA table is full;
  - auth_fail, replay   the ESP engine refuses a packet;
  - bpf_drop    a drop counter of an XDP program moved (sampled once a
                second, with the number of packets).
Events about a packet carry its peers ("src", "dst"), not only the SPI.
Needs root; every namespace and daemon is the test's own.
"""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import espgen
import nslib
from xdpsec_env import env_or_skip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")

PEERS4 = {"src": nslib.Pair.A4, "dst": nslib.Pair.B4}
PEERS6 = {"src": nslib.Pair.A6, "dst": nslib.Pair.B6}



class Monitor:
    """`xdpsecctl -j monitor` in the background, one JSON event per line."""

    def __init__(self, env):
        self.p = subprocess.Popen([os.path.join(env.build, "xdpsecctl"), "-S", env.sock, "-j",
                                   "monitor"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.events = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        time.sleep(0.3)          # subscribed before anything happens

    def _read(self):
        for line in self.p.stdout:
            if line.strip().startswith("{"):
                self.events.append(json.loads(line))

    def wait_for(self, pred, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = [e for e in list(self.events) if pred(e)]
            if got:
                return got
            time.sleep(0.1)
        return []

    def of(self, type_):
        return [e for e in list(self.events) if e["type"] == type_]

    def close(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.t.join(timeout=5)


def peers(e):
    return {"src": e.get("src"), "dst": e.get("dst")}


def test_limit_hit_on_reassembly_limits():
    """max-frags 2 and fragmented ESP in 3 pieces: limit_hit naming the
    limit, with the sender and receiver as peers (IPv4 and IPv6); then
    max-datagrams 1 and interleaved incomplete datagrams: limit_hit for the
    evictions."""
    gen = espgen.Gen(seed=91, spi_base=0x91000, port_base=38200)
    c4 = gen.frag_after(4, "gcm", 3, "inorder", count=3)
    c6 = gen.frag_after(6, "gcm", 3, "inorder", count=3)
    inc = gen.incomplete(4, "gcm", count=6)
    e = env_or_skip(tag="ev")
    mon = None
    try:
        for c in (c4, c6, inc):
            e.sa_add(c.sa_lines())
        mon = Monitor(e)
        e.ctl("limits", "set", "max-frags", "2")
        for c in (c4, c6):
            e.run_case(c, idle=1.0)
        hits = mon.wait_for(lambda ev: ev["type"] == "limit_hit" and "max-frags" in ev["message"])
        assert hits, "no limit_hit for max-frags; events: %s" % mon.events
        got = [peers(h) for h in hits]
        assert PEERS4 in got and PEERS6 in got, hits
        assert not [ev for ev in mon.of("limit_hit") if "max-frags" in ev["message"]
                    and peers(ev) not in (PEERS4, PEERS6)]

        e.ctl("limits", "set", "max-frags", "64", "max-datagrams", "1", "src-share", "100")
        e.run_case(inc, idle=1.0)
        ev = mon.wait_for(lambda ev: ev["type"] == "limit_hit" and "evicted" in ev["message"],
                          timeout=4)
        assert ev and "max-datagrams" in ev[0]["message"], mon.events
    finally:
        if mon:
            mon.close()
        e.close()


def test_esp_refusals_carry_peers():
    """auth_fail (wrong key) and replay events say which peers sent the
    packet, IPv6 here."""
    gen = espgen.Gen(seed=92, spi_base=0x92000, port_base=38300)
    bad = gen.wrong_key(6, "gcm", count=4)
    rep = gen.replay(6, "gcm", count=6, late=4)
    e = env_or_skip(tag="ep")
    mon = None
    try:
        for c in (bad, rep):
            e.sa_add(c.sa_lines())
        mon = Monitor(e)
        e.run_case(bad, idle=1.0)
        e.run_case(rep)
        auth = mon.wait_for(lambda ev: ev["type"] == "auth_fail")
        replay = mon.wait_for(lambda ev: ev["type"] == "replay")
        assert auth and replay, mon.events
        assert all(peers(ev) == PEERS6 for ev in auth + replay), auth + replay
        spis = {"0x%08x" % sa.spi for sa in bad.sas}
        assert any(s in ev["message"] for ev in auth for s in spis), auth
    finally:
        if mon:
            mon.close()
        e.close()


def test_bpf_drop_sampled():
    """ESP for an SPI nobody knows is dropped in XDP: within a couple of
    seconds monitor shows bpf_drop for drop_unknown_spi, and the packets it
    reports add up to what the counter says."""
    gen = espgen.Gen(seed=93, spi_base=0x93000, port_base=38400)
    unk = gen.unknown_spi(4, "gcm", count=7)
    e = env_or_skip(tag="bd")
    mon = None
    try:
        mon = Monitor(e)
        time.sleep(1.2)          # the sampler has its first sample
        res = e.run_case(unk, idle=1.0)
        counted = sum(v for (g, n), v in res.delta.items()
                      if n == "drop_unknown_spi" and g in ("classify", "decrypt"))
        assert counted == len(unk.packets), res.delta

        def reported():
            tot = 0
            for ev in mon.of("bpf_drop"):
                if "/drop_unknown_spi:" in ev["message"]:
                    tot += int(ev["message"].split(":")[1].split()[0])
            return tot
        deadline = time.time() + 4
        while reported() < counted and time.time() < deadline:
            time.sleep(0.2)
        assert reported() == counted, mon.of("bpf_drop")
    finally:
        if mon:
            mon.close()
        e.close()


def test_limit_hit_when_sa_table_full():
    """--max-sas 1: the second `sa add` fails and monitor shows limit_hit
    with the SA's peers."""
    e = env_or_skip(tag="st", daemon_args=["--max-sas", "1"])
    mon = None
    try:
        mon = Monitor(e)
        key = "0x" + bytes(range(20)).hex()
        line = ("sa add src %s dst %s proto esp spi %%d mode tunnel aead 'rfc4106(gcm(aes))' "
                "%s 128" % (nslib.Pair.A4, nslib.Pair.B4, key))
        e.ctl_line(line % 0x100)
        r = e.ctl_line(line % 0x101, check=False)
        assert r.returncode == 1 and "ENOSPC" in r.stderr, r.stderr
        hit = mon.wait_for(lambda ev: ev["type"] == "limit_hit")
        assert hit and peers(hit[0]) == PEERS4 and "full" in hit[0]["message"], mon.events
    finally:
        if mon:
            mon.close()
        e.close()
