"""xdpsec_env - one receiver running xdpsecd, one sender, for the e2e tests.

    with XdpsecEnv(tag="pl") as env:          # namespaces + veth, daemon on veth1
        env.sa_add(case.sa_lines())
        res = env.run_case(case)              # send, collect, counter deltas
        res.payloads, res.delta[("branch", "frag_after")]

After every case, run_case asserts the counter conservation law
(docs/counters.md) with `xdpsecctl stats --check`: every frame that entered
a stage was passed on, dropped with a reason, or is held; close() asserts it
once more for whatever a test did besides run_case.

The topology is nslib.Pair (sender 198.18.0.1 / 2001:db8::1 on veth0,
receiver .2 / ::2 on veth1).  The daemon runs in the receiver namespace
(nsenter, so it sees the same bpffs); xdpsecctl talks to it over its Unix
socket, which is a file and needs no namespace.  The daemon has its own
socket and state file in a temporary directory, never the per-instance
defaults under /run/xdpsec and /var/lib/xdpsec.  close() always stops the
daemon (SIGTERM, then SIGKILL, by PID), removes the lock files a killed
daemon left for the receiver's interfaces (/run/lock/xdpsec) and deletes
the namespaces.

DaemonUnavailable is raised when the daemon cannot run here (not built, or
"data plane not built yet"): the tests turn it into a skip with the reason.
"""
import glob
import json
import os
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

import framefile  # noqa: E402
import nslib   # noqa: E402

PY = "/usr/bin/python3"
# Waits (sink idle/max, daemon start, counter settling) are multiplied by
# XDPSEC_E2E_TIME_SCALE: tests/kernels sets it in qemu TCG guests, where user
# code runs 10-50x slower and a sink would give up before the sender starts.
TIME_SCALE = max(1.0, float(os.environ.get("XDPSEC_E2E_TIME_SCALE", "1") or 1))


def build_dir():
    b = os.environ.get("BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


class DaemonUnavailable(Exception):
    pass


def flatten_stats(obj):
    """`xdpsecctl -j stats` -> {(group, name): value}.  Accepts a list of
    {"group", "name", "value"} objects anywhere in the reply, or nested
    {"group": {"name": value}} objects, so the helper survives the exact
    shape of the reply (envelope, "counters" key) changing."""
    out = {}

    def walk(o, group=None):
        if isinstance(o, list):
            for x in o:
                walk(x, group)
        elif isinstance(o, dict):
            if "name" in o and "value" in o and isinstance(o["value"], int):
                out[(o.get("group", group), o["name"])] = o["value"]
                return
            for k, v in o.items():
                if isinstance(v, bool):
                    continue
                if isinstance(v, int) and group is not None:
                    out[(group, k)] = v
                else:
                    walk(v, k if isinstance(v, dict) else group)
    walk(obj)
    return out


def report(res):
    """One line per case sent, appended to $XDPSEC_E2E_REPORT when set
    (tests/run.sh sets it and prints the totals): the delivered/sent
    record of the whole run."""
    path = os.environ.get("XDPSEC_E2E_REPORT")
    if not path:
        return
    c = res.case
    want = set(c.payloads)
    got = [p for p in res.payloads]
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    with open(path, "a") as f:
        f.write("%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n" % (
            test.split("::")[-1] or "-", getattr(c, "id", "?"), getattr(c, "branch", "") or "negative",
            len(getattr(c, "packets", [])), getattr(c, "datagrams", 0), len(want),
            len(want & set(got)), len(got) - len(set(got))))


class Result:
    def __init__(self, case, sent, udp, tcp, delta):
        self.case = case
        self.sent = sent
        self.udp = udp                  # [(port, bytes)]
        self.tcp = tcp
        self.payloads = [d for p, d in udp if p == case.dport]
        self.delta = delta
        report(self)

    def d(self, group, name):
        """Delta of one counter; fails loudly when the daemon lacks it."""
        if (group, name) not in self.delta:
            raise AssertionError("daemon exports no counter %s/%s; it has: %s" % (
                group, name, ", ".join("%s/%s" % k for k in sorted(self.delta))))
        return self.delta[(group, name)]


class XdpsecEnv:
    def __init__(self, tag="pl", daemon=True, rp_filter=2, daemon_args=(), daemon_env=None):
        self.tag = tag
        self.build = build_dir()
        self.want_daemon = daemon
        self.rp_filter = rp_filter
        self.daemon_args = list(daemon_args)
        self.daemon_env = dict(daemon_env or {})   # e.g. XDPSEC_DISABLE
        self.tmp = tempfile.mkdtemp(prefix="xdpsec-e2e-")
        self.sock = os.path.join(self.tmp, "xdpsecd.sock")
        self.state = os.path.join(self.tmp, "state.json")
        self.pair = None
        self.daemon = None
        self.daemon_log = os.path.join(self.tmp, "xdpsecd.log")

    # -------------------------------------------------------- lifecycle
    def __enter__(self):
        try:
            self.pair = nslib.Pair(tag=self.tag)
            # Receiver: strict reverse-path filtering (many distributions
            # default to 2): decrypted IPv4 must still be delivered.
            self.pair.b.run("sysctl -qw net.ipv4.conf.all.rp_filter=%d "
                            "net.ipv4.conf.veth1.rp_filter=%d"
                            % (self.rp_filter, self.rp_filter))
            # The sender needs no neighbour resolution for raw frames, but
            # the receiver must answer to the sender for TCP.
            if self.want_daemon:
                self.start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stops everything; the conservation law is checked first (on the
        running daemon), and a violation raised after the cleanup."""
        failure = None
        if self.daemon_alive() and os.path.exists(self.sock):
            try:
                self.check_balance()
            except AssertionError as ex:
                failure = ex
        self.stop_daemon()
        if self.pair is not None:
            # a daemon killed with SIGKILL leaves its interface locks
            try:
                ino = os.stat(self.pair.b.path).st_ino
                for f in glob.glob("/run/lock/xdpsec/net-%d-*.lock" % ino):
                    os.unlink(f)
            except OSError:
                pass
            self.pair.close()
            self.pair = None
        try:
            for f in os.listdir(self.tmp):
                os.unlink(os.path.join(self.tmp, f))
            os.rmdir(self.tmp)
        except OSError:
            pass
        if failure is not None:
            raise failure

    # ----------------------------------------------------------- daemon
    def start_daemon(self, timeout=15):
        timeout *= TIME_SCALE
        exe = os.path.join(self.build, "xdpsecd")
        if not os.access(exe, os.X_OK) or not os.access(
                os.path.join(self.build, "xdpsecctl"), os.X_OK):
            raise DaemonUnavailable("%s or xdpsecctl not built (make)" % exe)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        log = open(self.daemon_log, "a")
        self.daemon = self.pair.b.popen(
            [exe, "-i", "veth1", "-S", self.sock, "--state", self.state, "-f"]
            + self.daemon_args, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, **self.daemon_env))
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                msg = self.log_tail()
                self.daemon = None
                raise DaemonUnavailable("xdpsecd -i veth1 exited: %s" % msg.strip()[-400:])
            if os.path.exists(self.sock) and self.ctl("status", check=False).returncode == 0:
                return
            time.sleep(0.1)
        self.stop_daemon()
        raise DaemonUnavailable("xdpsecd did not answer on %s within %ds: %s"
                                % (self.sock, timeout, self.log_tail()[-400:]))

    def log_tail(self):
        try:
            with open(self.daemon_log) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def daemon_alive(self):
        return self.daemon is not None and self.daemon.poll() is None

    def stop_daemon(self, sig=signal.SIGTERM, wait=5):
        """Stops the daemon by PID (the nsenter child execs it, so the PID
        is the daemon's); SIGKILL if it does not exit in time.  Returns its
        exit status (None if none was running)."""
        p, self.daemon = self.daemon, None
        if p is None:
            return None
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
            except ProcessLookupError:
                pass
        if p in self.pair.b.procs:
            self.pair.b.procs.remove(p)
        return p.returncode

    # ------------------------------------------------------------ control
    def ctl(self, *args, check=True, json_out=False):
        argv = [os.path.join(self.build, "xdpsecctl"), "-S", self.sock]
        if json_out:
            argv.append("-j")
        r = subprocess.run(argv + list(args), text=True, capture_output=True,
                           timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError("xdpsecctl %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def ctl_line(self, line, check=True):
        """One command in xdpsecctl's grammar (quotes as a shell would)."""
        import shlex
        return self.ctl(*shlex.split(line), check=check)

    def sa_add(self, lines):
        for line in lines:
            self.ctl_line(line)

    def stats(self):
        r = self.ctl("stats", json_out=True)
        return flatten_stats(json.loads(r.stdout))

    def check_balance(self, timeout=3.0):
        """The counter conservation law (docs/counters.md): `xdpsecctl -j
        stats --check` exits 0 and every stage was judged (a stage without
        its counters would pass unseen).  Frames still in flight count as
        missing, so it is asked again for up to `timeout` seconds; then an
        AssertionError names the unbalanced stages with their terms."""
        deadline = time.time() + timeout
        while True:
            r = self.ctl("stats", "--check", json_out=True, check=False)
            bal = {}
            try:
                bal = json.loads(r.stdout).get("balance", {})
            except ValueError:
                pass
            absent = [st["stage"] for st in bal.get("stages", []) if not st.get("present")]
            if r.returncode == 0 and bal.get("stages") and not absent:
                return bal
            if time.time() > deadline:
                raise AssertionError(
                    "counter conservation law broken (xdpsecctl stats --check exit %d): %s%s"
                    % (r.returncode, r.stderr.strip(),
                       "; stages without counters: %s" % absent if absent else ""))
            time.sleep(0.2)

    # ------------------------------------------------------------ traffic
    def send(self, frames, gap_us=30):
        path = os.path.join(self.tmp, "frames.bin")
        framefile.write_frames(path, frames)
        # -S: the helpers need only the standard library, and site's scan
        # of the package folders is most of Python's start-up (1.5 s of
        # 1.8 s per process in a TCG guest, two processes per case)
        r = self.pair.a.run([PY, "-S", os.path.join(HERE, "send_case.py"), path, "veth0",
                             self.pair.b_mac, "--gap-us", str(gap_us)], timeout=120)
        return json.loads(r.stdout)["sent"]

    def start_sink(self, udp_ports, count=0, idle=2.0, tcp=0, maxt=60):
        p = self.pair.b.popen([PY, "-S", os.path.join(HERE, "sink.py"),
                               "--udp", ",".join(str(x) for x in udp_ports),
                               "--count", str(count), "--idle", str(idle * TIME_SCALE),
                               "--max", str(maxt * TIME_SCALE)] + (["--tcp", str(tcp)] if tcp else []))
        line = p.stderr.readline()
        if "READY" not in line:
            raise RuntimeError("sink did not start: %s%s" % (line, p.stderr.read()))
        return p

    @staticmethod
    def sink_result(p, timeout=90):
        out, err = p.communicate(timeout=timeout * TIME_SCALE)
        if p.returncode != 0:
            raise RuntimeError("sink failed: %s" % err)
        r = json.loads(out)
        return ([(port, bytes.fromhex(h)) for port, h in r["udp"]],
                [(port, bytes.fromhex(h)) for port, h in r["tcp"]])

    def run_case(self, case, gap_us=30, idle=None, settle=0.3):
        """Sends one espgen case and returns what arrived and the counter
        deltas.  The sink stops at the expected number of payloads; a case
        that expects none waits for IDLE seconds of silence instead."""
        before = self.stats() if self.daemon_alive() else {}
        n = len(case.payloads)
        if idle is None:
            idle = 1.0 if n == 0 else 3.0
        sink = self.start_sink([case.dport], count=n, idle=idle)
        try:
            sent = self.send(case.frames(self.pair.a_mac, self.pair.b_mac), gap_us)
            udp, tcp = self.sink_result(sink)
        finally:
            if sink.poll() is None:
                os.kill(sink.pid, signal.SIGKILL)
                sink.wait()
        time.sleep(settle * TIME_SCALE)     # let the last counters land
        after = self.stats() if self.daemon_alive() else {}
        delta = {k: after[k] - before.get(k, 0) for k in after}
        if self.daemon_alive():
            self.check_balance()
        return Result(case, sent, udp, tcp, delta)


# ---- what every test module needs around XdpsecEnv

def unavailable(ex):
    """The daemon cannot run here: skip the test, or fail it when
    XDPSEC_E2E_REQUIRE=1 (acceptance runs, where a skip would hide it)."""
    import pytest
    msg = "xdpsecd cannot run here: %s" % ex
    if os.environ.get("XDPSEC_E2E_REQUIRE") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def env_or_skip(tag="pl", **kw):
    """A started XdpsecEnv (the caller closes it), or unavailable()."""
    try:
        return XdpsecEnv(tag=tag, **kw).__enter__()
    except DaemonUnavailable as ex:
        unavailable(ex)


def delivered(res, only=None):
    """The UDP payloads a run_case result delivered (each at most once:
    a second copy fails the test); with `only`, just those among them."""
    got = [p for _, p in res.udp]
    assert len(got) == len(set(got)), "a payload was delivered twice"
    return set(got) & set(only) if only is not None else set(got)
