"""The state file across kill -9 (user/daemon/state_journal.c, replay_marks.c).

- Replay: packets delivered before a kill -9 are replay drops after the
  restart, every one of them, however soon after their delivery the daemon
  died (the state file holds a replay mark ahead of the window's edge).
- Cost: a single `sa add` appends a record to the journal instead of
  rewriting the state file; a batch (`xdpsecctl -b`) writes it once, at its
  end; both survive kill -9, and a journal cut short in its last record is
  still read.  (How fast: bench/ctl_sa.py, docs/benchmarks.md.)

Every daemon is started by the test and stopped by PID; the namespaces and
temporary directories are removed, even on failure.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

import espgen  # noqa: E402
import nslib  # noqa: E402
from xdpsec_env import build_dir, env_or_skip  # noqa: E402

BUILD = build_dir()
XDPSECD = os.path.join(BUILD, "xdpsecd")
XDPSECCTL = os.path.join(BUILD, "xdpsecctl")
K20 = "0x" + bytes(range(20)).hex()

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(XDPSECD) or not os.path.exists(XDPSECCTL),
    reason="needs root and built xdpsecd/xdpsecctl")

REPLAY = [("esp", "replay"), ("decrypt", "drop_replay_early"), ("classify", "drop_replay_early")]


def sa_line(i, spi_base=0x7000):
    return ("sa add src 198.18.0.1 dst 198.18.1.%d proto esp spi 0x%x mode tunnel "
            "aead rfc4106(gcm(aes)) %s 128" % (i % 250 + 1, spi_base + i, K20))


# ------------------------------------------------------------ item 18

def test_replay_after_kill9_is_dropped():
    gen = espgen.Gen(seed=61, spi_base=0x61000, port_base=39100)
    e = env_or_skip(tag="rk")
    try:
        case = gen.esp(4, "gcm", "tunnel", count=20)
        e.sa_add(case.sa_lines())
        res = e.run_case(case)
        assert sorted(res.payloads) == sorted(case.payloads)
        # killed a moment after delivering them: no periodic save ran
        e.daemon.send_signal(signal.SIGKILL)
        e.daemon.wait(timeout=10)
        e.daemon = None
        e.start_daemon()
        again = e.run_case(case)            # the very same frames, replayed
        assert again.payloads == []
        assert sum(again.delta.get(k, 0) for k in REPLAY) == len(case.payloads), again.delta
        assert again.delta.get(("esp", "replay_unsaved"), 0) == 0
        # the SA itself goes on: new sequence numbers beyond the mark pass
        st = json.loads(e.ctl("-j", "sa", "list").stdout)["sas"]
        assert len(st) == 1 and st[0]["stats"]["replay_top"] >= 20
    finally:
        e.close()


# ------------------------------------------------------------ item 19

class Ctl:
    """A control-plane-only xdpsecd in a namespace, its own files."""

    def __init__(self, ns, tmp):
        self.ns, self.tmp = ns, tmp
        self.sock = os.path.join(tmp, "xdpsecd.sock")
        self.state = os.path.join(tmp, "state", "state.json")
        self.logf = os.path.join(tmp, "daemon.log")
        self.proc = None

    def start(self):
        with open(self.logf, "a") as log:
            self.proc = self.ns.popen([XDPSECD, "-f", "-S", self.sock, "--state", self.state],
                                      stdout=log, stderr=log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("xdpsecd exited: " + open(self.logf).read())
            if os.path.exists(self.sock) and self.ctl("ping", check=False).returncode == 0:
                return self
            time.sleep(0.05)
        raise AssertionError("xdpsecd did not come up: " + open(self.logf).read())

    def ctl(self, *words, check=True, input=None):
        r = subprocess.run([XDPSECCTL, "-S", self.sock] + list(words), text=True,
                           capture_output=True, timeout=60, input=input)
        if check and r.returncode:
            raise AssertionError("xdpsecctl %s: %s%s" % (words, r.stdout, r.stderr))
        return r

    def j(self, *words):
        return json.loads(self.ctl("-j", *words).stdout)

    def kill(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        return self.proc.returncode


@pytest.fixture
def ctl():
    tmp = tempfile.mkdtemp(prefix="xsstate-")
    ns = nslib.Netns("xs%dst" % (os.getpid() % 100000))
    c = Ctl(ns, tmp)
    try:
        yield c
    finally:
        c.kill(signal.SIGKILL)
        ns.close()
        shutil.rmtree(tmp, ignore_errors=True)


def keyed(c):
    sas = c.j("--keys", "sa", "list")["sas"]
    return sorted(json.dumps({k: v for k, v in s.items() if k not in ("index", "stats")},
                             sort_keys=True) for s in sas)


def test_adds_journaled_and_batches_written_once(ctl):
    c = ctl.start()
    saves = c.j("status")["state_saves"]        # the one at start
    for i in range(5):
        c.ctl(*sa_line(i).split())
    c.ctl("sa", "del", "dst", "198.18.1.3", "spi", "0x%x" % (0x7000 + 2))
    # not one whole rewrite for six changes: they are in the journal
    assert c.j("status")["state_saves"] == saves
    with open(c.state + ".journal") as f:
        recs = [json.loads(l) for l in f]
    assert [r.get("op") for r in recs[1:]] == ["add"] * 5 + ["del"]

    # a batch of 200: one write at its end (journal or snapshot)
    batch = "\n".join(sa_line(i) for i in range(100, 300)) + "\n"
    size = os.path.getsize(c.state + ".journal")
    c.ctl("-b", "-", input=batch)
    assert c.j("status")["state_saves"] - saves <= 1
    assert c.j("sa", "count")["count"] == 204
    grown = os.path.getsize(c.state + ".journal") > size
    assert grown or c.j("status")["state_saves"] == saves + 1

    before = keyed(c)
    assert c.kill(signal.SIGKILL) == -signal.SIGKILL
    c.start()
    assert keyed(c) == before

    # limits are not journaled: they write a snapshot, also kept
    c.ctl("limits", "set", "max-frags", "17")
    c.ctl(*sa_line(7).split())
    c.kill(signal.SIGKILL)
    # a crash in the middle of a write leaves a torn last record
    with open(c.state + ".journal", "a") as f:
        f.write('{"op":"add","sa":{"src":"198.18.0.1"')
    c.start()
    assert c.j("limits", "get")["reasm_max_frags"] == 17
    assert c.j("sa", "count")["count"] == 205
    assert "incomplete last record ignored" in open(c.logf).read()


def test_batch_stops_at_first_error_when_sent_ahead(ctl):
    """xdpsecctl -b sends ahead within a batch: the daemon runs nothing
    after the first failure, exactly as when the lines went one by one."""
    c = ctl.start()
    lines = [sa_line(i) for i in range(150)]
    lines[90] = sa_line(3)          # exists already: refused
    r = c.ctl("-b", "-", input="\n".join(lines) + "\nlimits set max-frags 9\n", check=False)
    assert r.returncode == 1 and "stdin:91: SA exists" in r.stderr, r.stderr
    assert c.j("sa", "count")["count"] == 90
    assert c.j("limits", "get")["reasm_max_frags"] != 9
    # what ran before the error is saved
    c.kill(signal.SIGKILL)
    c.start()
    assert c.j("sa", "count")["count"] == 90
