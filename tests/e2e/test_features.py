"""Kernel feature probe end to end: `xdpsecd --check` (format, exit status,
XDPSEC_DISABLE, -v), the features in `xdpsecctl status` (JSON and human),
and the daemon's start-up lines for missing features (one per feature,
never a verifier dump; with -i it refuses when nothing can work).

Everything runs in a network namespace the test creates (the probe itself
adds a private one of its own); daemons are killed by PID and the
namespace is deleted even on failure.  Binaries come from $BUILD.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import nslib  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
XDPSECD = os.path.join(BUILD, "xdpsecd")
XDPSECCTL = os.path.join(BUILD, "xdpsecctl")

# Every feature, in the order --check prints them (user/daemon/kernel_features.h).
FEATURES = ["xdp_native_veth", "xdp_frags", "devmap_redirect", "cpumap_redirect",
            "cpumap_prog", "xskmap_redirect", "af_xdp", "xsk_sg", "mmapable_array",
            "btf", "percpu_array", "array_map", "hash_map", "xdp_adjust_head",
            "xdp_get_buff_len"]
LINE = re.compile(r"^([a-z_]+): (yes|no) \((.+)\)$")
DISABLED = "disabled by XDPSEC_DISABLE"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(XDPSECD) or not os.path.exists(XDPSECCTL),
    reason="needs root and built xdpsecd/xdpsecctl")


@pytest.fixture
def ns():
    n = nslib.Netns("xskf%d" % os.getpid())
    try:
        yield n
    finally:
        n.close()


def run_env(disable=None):
    e = dict(os.environ)
    e.pop("XDPSEC_DISABLE", None)
    if disable is not None:
        e["XDPSEC_DISABLE"] = disable
    return e


def check(ns, *args, disable=None, user=None):
    argv = [XDPSECD, "--check"] + list(args)
    if user:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
    return subprocess.run(ns.argv(argv), text=True, capture_output=True, timeout=60,
                          env=run_env(disable))


def parse(out):
    """--check stdout -> ({name: (yes, note)}, summary line)."""
    lines = out.rstrip("\n").split("\n")
    feats = {}
    for line in lines[:-1]:
        if line.startswith("    "):        # -v: a failed probe's log
            continue
        m = LINE.match(line)
        assert m, "not a feature line: %r" % line
        assert m.group(1) not in feats
        feats[m.group(1)] = (m.group(2) == "yes", m.group(3))
    assert lines[-1].startswith("summary: the data plane "), lines[-1]
    return feats, lines[-1]


def test_check_format_and_exit_status(ns):
    r = check(ns)
    feats, summary = parse(r.stdout)
    assert list(feats) == FEATURES
    assert r.stderr == ""
    # never a verifier dump without -v
    assert "BEGIN PROG LOAD LOG" not in r.stdout and "libbpf:" not in r.stdout
    if "cannot run" in summary:
        assert r.returncode == 1
    else:
        assert r.returncode == 0
        # what this project runs on: the data plane's features are all here
        for name in FEATURES[:-1]:
            assert feats[name][0], "%s: %s" % (name, feats[name][1])


def test_check_disable_degrades(ns):
    base, _ = parse(check(ns).stdout)
    r = check(ns, disable="cpumap_prog,xsk_sg")
    feats, summary = parse(r.stdout)
    for name in FEATURES:
        if name in ("cpumap_prog", "xsk_sg"):
            assert feats[name][0] is False
            assert feats[name][1].startswith(DISABLED + "; ")
        else:
            assert feats[name][0] == base[name][0], name
    assert "no per-peer CPU steering" in feats["cpumap_prog"][1]
    assert "single-buffer" in feats["xsk_sg"][1]
    if all(base[n][0] for n in FEATURES[:-1]):
        assert r.returncode == 0
        assert summary == "summary: the data plane can run, degraded (missing: cpumap_prog, xsk_sg)"


def test_check_fatal_feature_exits_1(ns):
    r = check(ns, disable="af_xdp")
    feats, summary = parse(r.stdout)
    assert r.returncode == 1
    assert feats["af_xdp"] == (False, DISABLED + "; the daemon cannot receive or send frames: "
                                          "the data plane cannot start")
    assert summary.startswith("summary: the data plane cannot run on this kernel (missing: ")
    assert "af_xdp" in summary


def test_check_unknown_name_warns(ns):
    r = check(ns, disable="no_such_feature")
    assert 'XDPSEC_DISABLE: unknown feature "no_such_feature" ignored' in r.stderr
    feats, _ = parse(r.stdout)
    assert list(feats) == FEATURES


def test_check_unprivileged_and_verbose(ns):
    """As nobody nothing loads: exit 1, one reason per line, libbpf's own
    words only with -v (indented under the feature)."""
    r = check(ns, user=True)
    feats, summary = parse(r.stdout)
    assert r.returncode == 1
    assert not any(yes for yes, _ in feats.values())
    assert "libbpf" not in r.stdout and "libbpf" not in r.stderr
    assert "probing needs root" in summary
    rv = check(ns, "-v", user=True)
    assert rv.returncode == 1
    featsv, _ = parse(rv.stdout)
    assert featsv == feats
    assert re.search(r"^hash_map: no \(.*\)\n    libbpf: ", rv.stdout, re.M)


class Daemon:
    def __init__(self, ns, args=(), disable=None):
        self.tmp = tempfile.mkdtemp(prefix="xdpsec-kf-")
        self.sock = os.path.join(self.tmp, "s")
        self.logpath = os.path.join(self.tmp, "log")
        with open(self.logpath, "w") as log:
            self.proc = ns.popen([XDPSECD, "-f", "-S", self.sock, "--state", "none"] + list(args),
                                 stdout=log, stderr=subprocess.STDOUT, env=run_env(disable))

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def wait_for(self, pred, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            if self.proc.poll() is not None:
                return pred()
            time.sleep(0.05)
        return False

    def ctl(self, *words):
        return subprocess.run([XDPSECCTL, "-S", self.sock] + list(words), text=True,
                              capture_output=True, timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def test_status_shows_features(ns):
    expect, _ = parse(check(ns, disable="cpumap_prog").stdout)
    d = Daemon(ns, disable="cpumap_prog")
    try:
        assert d.wait_for(lambda: os.path.exists(d.sock) and d.ctl("status").returncode == 0), d.log()
        r = d.ctl("-j", "status")
        assert r.returncode == 0, r.stderr
        feats = json.loads(r.stdout)["features"]
        assert list(feats) == FEATURES
        for name, f in feats.items():
            assert set(f) == {"available", "disabled", "if_missing", "note"}
            assert f["available"] == expect[name][0], name
            assert f["note"] == expect[name][1], name
            assert f["disabled"] == (name == "cpumap_prog")
            assert f["if_missing"] in ("fatal", "degraded", "unused")
        assert feats["cpumap_prog"]["if_missing"] == "degraded"
        assert feats["af_xdp"]["if_missing"] == "fatal"

        human = d.ctl("status").stdout
        assert "\nfeatures:\n" in human
        section = human.split("\nfeatures:\n", 1)[1].rstrip("\n").split("\n")
        assert [s.split()[0] for s in section] == FEATURES
        for s in section:
            name, yn = s.split()[:2]
            assert yn == ("yes" if expect[name][0] else "no")
        assert re.search(r"^  cpumap_prog +no +disabled by XDPSEC_DISABLE; ", human, re.M)
        # control-plane only: nothing to warn about
        assert "kernel feature" not in d.log()
    finally:
        d.stop()


def test_daemon_warns_once_per_missing_feature(ns):
    """With -i the start-up says, one line each, what it does without the
    disabled features; the rest of start-up is the data plane's business."""
    ns.run("ip link add kfv0 type veth peer name kfv1 && ip link set kfv0 up && ip link set kfv1 up")
    d = Daemon(ns, ["-i", "kfv0"], disable="cpumap_prog,xsk_sg")
    try:
        assert d.wait_for(lambda: "kernel feature xsk_sg" in d.log()), d.log()
        log = d.log()
        lines = [l for l in log.split("\n") if "kernel feature" in l]
        assert lines == [
            "warning: kernel feature cpumap_prog missing (%s): no per-peer CPU steering: "
            "one SA's packets may be reordered across workers" % DISABLED,
            "warning: kernel feature xsk_sg missing (%s): the sockets are bound single-buffer "
            "and the feedback pair runs at the single-buffer size; larger datagrams take the "
            "daemon's counted fallback" % DISABLED,
        ], log
        assert "BEGIN PROG LOAD LOG" not in log
    finally:
        d.stop()


def test_daemon_refuses_when_nothing_can_work(ns):
    ns.run("ip link add kfv0 type veth peer name kfv1 && ip link set kfv0 up")
    d = Daemon(ns, ["-i", "kfv0"], disable="xskmap_redirect")
    try:
        assert d.proc.wait(timeout=15) == 1
        log = d.log()
        assert ("warning: kernel feature xskmap_redirect missing (%s): frames cannot reach the "
                "daemon: the data plane cannot start" % DISABLED) in log
        assert "the data plane cannot run on this kernel" in log
        assert "BEGIN PROG LOAD LOG" not in log and "libbpf" not in log
        # refused before touching the interface
        link = json.loads(ns.run("ip -j link show dev kfv0").stdout)[0]
        assert "xdp" not in link
        assert not os.path.exists(d.sock)
    finally:
        d.stop()
