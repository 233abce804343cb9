"""Several daemons on one host (user/daemon/instance.c, docs/control.md).

- One daemon per interface: a second xdpsecd for an interface already
  served refuses, naming the PID that serves it, and leaves the first one's
  feedback pair alone; daemons for different interfaces of one namespace
  each have their own pair (named after their first interface).
- A daemon killed with SIGKILL leaves a lock file and a feedback pair; the
  next one takes the lock over and removes the dead one's pair.
- Without -S / --state, the socket and state file are per network
  namespace (and interfaces): daemons in two namespaces never restore each
  other's SAs, and xdpsecctl finds its namespace's daemon by itself.
- -i beyond what the data plane serves, and --workers beyond the online
  CPUs, are said in the first line the daemon prints.

Every daemon is started by the test and stopped by PID; namespaces, lock
files and the per-namespace directories the daemons create are removed,
even on failure.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

import espgen  # noqa: E402
import nslib  # noqa: E402
from xdpsec_env import build_dir, env_or_skip  # noqa: E402

BUILD = build_dir()
XDPSECD = os.path.join(BUILD, "xdpsecd")
XDPSECCTL = os.path.join(BUILD, "xdpsecctl")
LOCK_DIR = "/run/lock/xdpsec"
K20 = "0x" + bytes(range(20)).hex()
SA_GCM = ["sa", "add", "src", "198.18.0.1", "dst", "198.18.0.2", "proto", "esp",
          "spi", "0x1000", "aead", "rfc4106(gcm(aes))", K20, "128"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(XDPSECD) or not os.path.exists(XDPSECCTL),
    reason="needs root and built xdpsecd/xdpsecctl")



def links(ns):
    return {l["ifname"] for l in json.loads(ns.run("ip -j link show").stdout)}


def ifindex(ns, name):
    return json.loads(ns.run("ip -j link show dev %s" % name).stdout)[0]["ifindex"]


def pair_of(ns, first_iface):
    return "xdpsec%d-n" % ifindex(ns, first_iface)


def feedback_pairs(ns):
    return sorted(n for n in links(ns) if n.startswith("xdpsec") and n.endswith("-n"))


def lock_path(ns, iface):
    return "%s/net-%d-%s.lock" % (LOCK_DIR, os.stat(ns.path).st_ino, iface)


def wait_socket(sock, proc, log=None, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("xdpsecd exited %s: %s" % (
                proc.returncode, open(log).read() if log else ""))
        if os.path.exists(sock) and subprocess.run(
                [XDPSECCTL, "-S", sock, "ping"], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("xdpsecd did not answer on %s" % sock)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def delivered(env, case):
    res = env.run_case(case)
    return sorted(res.payloads) == sorted(case.payloads)


# ------------------------------------------------------------ item 5

def test_second_daemon_for_served_interface_refused():
    gen = espgen.Gen(seed=51, spi_base=0x51000, port_base=38100)
    e = env_or_skip("i5a")
    try:
        case = gen.esp(4, "gcm", "tunnel", count=8)
        e.sa_add(case.sa_lines())
        before = links(e.pair.b)
        other = os.path.join(e.tmp, "second")
        p = e.pair.b.popen([XDPSECD, "-f", "-i", "veth1", "-S", other + ".sock",
                            "--state", other + ".json"], stderr=subprocess.STDOUT)
        try:
            out, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            stop(p)
            pytest.fail("a second xdpsecd for veth1 kept running")
        assert p.returncode == 1, out
        assert "interface veth1 is served by xdpsecd PID %d" % e.daemon.pid in out, out
        assert delivered(e, case)
        assert links(e.pair.b) == before
        assert pair_of(e.pair.b, "veth1") in before
    finally:
        e.close()


def test_daemons_for_two_interfaces_coexist():
    gen = espgen.Gen(seed=52, spi_base=0x52000, port_base=38200)
    e = env_or_skip("i5b")
    p = None
    try:
        b = e.pair.b
        b.run("ip link add xsi0 type veth peer name xsi1 && ip link set xsi0 up && "
              "ip link set xsi1 up")
        sock2, log2 = os.path.join(e.tmp, "b.sock"), os.path.join(e.tmp, "b.log")
        with open(log2, "w") as log:
            p = b.popen([XDPSECD, "-f", "-i", "xsi0", "-S", sock2, "--state",
                         os.path.join(e.tmp, "b.json")], stdout=log, stderr=log)
        wait_socket(sock2, p, log2)
        case = gen.esp(4, "gcm", "tunnel", count=8)
        e.sa_add(case.sa_lines())
        assert delivered(e, case)
        assert feedback_pairs(b) == sorted([pair_of(b, "veth1"), pair_of(b, "xsi0")])
        # the second one's exit takes its own pair only
        assert stop(p) == 0
        assert feedback_pairs(b) == [pair_of(b, "veth1")]
        again = gen.esp(6, "gcm", "transport", count=8)
        e.sa_add(again.sa_lines())
        assert delivered(e, again)
    finally:
        if p is not None:
            stop(p)
        e.close()


def test_kill9_leftovers_taken_over():
    gen = espgen.Gen(seed=53, spi_base=0x53000, port_base=38300)
    e = env_or_skip("i5c")
    locks = []
    try:
        b = e.pair.b
        locks = [lock_path(b, "veth1"), lock_path(b, "xsi0")]
        with open(locks[0]) as f:
            assert f.read().split() == [str(e.daemon.pid), pair_of(b, "veth1")]
        case = gen.esp(4, "gcm", "tunnel", count=8)
        e.sa_add(case.sa_lines())
        dead = e.daemon.pid
        e.daemon.send_signal(signal.SIGKILL)
        e.daemon.wait(timeout=10)
        e.daemon = None
        # what the dead daemon left
        assert os.path.exists(locks[0]) and pair_of(b, "veth1") in links(b)

        # a new daemon whose first interface is another: its pair has
        # another name, the dead one's is found through the lock file
        b.run("ip link add xsi0 type veth peer name xsi1 && ip link set xsi0 up && "
              "ip link set xsi1 up")
        with open(e.daemon_log, "a") as log:
            e.daemon = b.popen([XDPSECD, "-f", "-i", "xsi0", "-i", "veth1", "-S", e.sock,
                                "--state", e.state], stdout=log, stderr=log)
        wait_socket(e.sock, e.daemon, e.daemon_log)
        text = e.log_tail()
        assert "veth1: xdpsecd PID %d died without cleaning up" % dead in text, text
        assert feedback_pairs(b) == [pair_of(b, "xsi0")]
        with open(locks[0]) as f:
            assert f.read().split()[0] == str(e.daemon.pid)
        # the SA came back from the state file; traffic flows on veth1
        assert json.loads(e.ctl("-j", "sa", "count").stdout)["count"] == 1
        again = gen.esp(4, "gcm", "tunnel", count=8)
        e.sa_add(again.sa_lines())
        assert delivered(e, again)
        assert e.stop_daemon() == 0
        # a clean exit removes the locks and the pair
        assert not any(os.path.exists(l) for l in locks)
        assert feedback_pairs(b) == []
    finally:
        e.close()
        for l in locks:
            if os.path.exists(l):
                os.unlink(l)


# ------------------------------------------------------------ item 6

class Created:
    """Remembers which of the host-wide default paths exist, and removes
    what a test created there (also what today's per-host defaults would)."""
    PATHS = ["/var/lib/xdpsec/state.json", "/var/lib/xdpsec/state.json.journal",
             "/var/lib/xdpsec/state.json.lock", "/run/xdpsec/xdpsecd.sock",
             "/var/lib/xdpsec/netns", "/run/xdpsec/netns", "/var/lib/xdpsec", "/run/xdpsec"]

    def __init__(self, names):
        self.names = names
        self.before = {p for p in self.PATHS if os.path.lexists(p)}

    def cleanup(self):
        for n in self.names:
            for base in ("/var/lib/xdpsec/netns", "/run/xdpsec/netns"):
                shutil.rmtree(os.path.join(base, n), ignore_errors=True)
        for p in self.PATHS:
            if p in self.before or not os.path.lexists(p):
                continue
            if os.path.isdir(p):
                try:
                    os.rmdir(p)       # only when empty: never someone else's
                except OSError:
                    pass
            else:
                os.unlink(p)


def test_defaults_are_per_namespace():
    pid = os.getpid() % 100000
    ns1 = ns2 = None
    names = ["xs%dd6a" % pid, "xs%dd6b" % pid]
    created = Created(names)
    procs = []

    def start(ns):
        p = ns.popen([XDPSECD, "-f"], stderr=subprocess.STDOUT)
        procs.append(p)
        deadline = time.time() + 15
        while time.time() < deadline:
            if p.poll() is not None:
                raise AssertionError("xdpsecd in %s exited: %s" % (ns.name, p.stdout.read()))
            if ns.run([XDPSECCTL, "ping"], check=False).returncode == 0:
                return p
            time.sleep(0.1)
        raise AssertionError("xdpsecd in %s did not answer" % ns.name)

    def status(ns):
        return json.loads(ns.run([XDPSECCTL, "-j", "status"]).stdout)

    try:
        ns1, ns2 = nslib.Netns(names[0]), nslib.Netns(names[1])
        p1 = start(ns1)
        ns1.run([XDPSECCTL] + SA_GCM)
        start(ns2)
        s1, s2 = status(ns1), status(ns2)
        assert s2["sa_count"] == 0, "a daemon in another namespace restored its SAs"
        assert s1["state_file"] == "/var/lib/xdpsec/netns/%s/state.json" % names[0]
        assert s2["state_file"] == "/var/lib/xdpsec/netns/%s/state.json" % names[1]
        assert s1["socket"] == "/run/xdpsec/netns/%s/xdpsecd.sock" % names[0]
        # each restores its own
        assert stop(p1) == 0
        start(ns1)
        assert status(ns1)["sa_count"] == 1 and status(ns2)["sa_count"] == 0
        # one state file, one daemon
        r = ns1.run([XDPSECD, "-f", "-S", "/run/xdpsec/netns/%s/other.sock" % names[0]],
                    check=False, timeout=20)
        assert r.returncode == 1
        assert "state file /var/lib/xdpsec/netns/%s/state.json is in use by xdpsecd PID" \
            % names[0] in r.stderr, r.stderr
    finally:
        for p in procs:
            stop(p)
        for ns in (ns1, ns2):
            if ns is not None:
                ns.close()
        created.cleanup()


# ------------------------------------------------------------ item 17

@pytest.fixture
def netns():
    ns = nslib.Netns("xs%dl17" % (os.getpid() % 100000))
    try:
        yield ns
    finally:
        ns.close()


def test_interface_limit_said_at_start(netns, tmp_path):
    argv = [XDPSECD, "-f", "-S", str(tmp_path / "x.sock"), "--state", "none"]
    for i in range(9):
        argv += ["-i", "none%d" % i]
    r = netns.run(argv, check=False, timeout=20)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "-i none8: one daemon serves at most 8 interfaces" in lines[0], \
        r.stderr
    r = netns.run([XDPSECD, "-f", "-S", str(tmp_path / "x.sock"), "--state", "none",
                   "-w", "65"], check=False, timeout=20)
    assert r.returncode == 2 and "--workers 65: expected 1..64" in r.stderr


def test_workers_beyond_cpus_said_at_start():
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    e = env_or_skip("l17", daemon_args=["-w", str(online + 1)])
    try:
        first = e.log_tail().splitlines()[0]
        assert first == "warning: --workers %d: only %d CPUs are online: using %d workers" % (
            online + 1, online, online), e.log_tail()
        assert json.loads(e.ctl("-j", "status").stdout)["workers"] == online
    finally:
        e.close()
