"""nslib - network namespaces joined by veth pairs, for xdpsec's tests.

Every test topology is built from these pieces and torn down in `close()`
(or by leaving the `with` block), even when the test fails: namespaces are
deleted and every process started through `Netns.popen` is killed by PID.

Commands run with `nsenter --net=/run/netns/NAME`, not `ip netns exec`:
`ip netns exec` remounts /sys, so bpffs pins made inside it vanish when it
exits.

Addresses: only 198.18.0.0/15 and 2001:db8::/32.
"""
import os
import signal
import subprocess
import time

NSENTER = ["nsenter"]


def sh(cmd, check=True, capture=True, timeout=60):
    """Run a command in the root namespace; return CompletedProcess."""
    r = subprocess.run(cmd, shell=isinstance(cmd, str), text=True,
                       capture_output=capture, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" % (
            r.returncode, cmd, r.stdout or "", r.stderr or ""))
    return r


class Netns:
    """One network namespace; created on construction, deleted by close()."""

    def __init__(self, name):
        self.name = name
        self.path = "/run/netns/" + name
        self.procs = []
        sh(["ip", "netns", "add", name])
        self.run("ip link set lo up")

    def argv(self, cmd):
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        return ["nsenter", "--net=" + self.path] + list(cmd)

    def run(self, cmd, check=True, timeout=60, input=None):
        r = subprocess.run(self.argv(cmd), text=True, capture_output=True,
                           timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise RuntimeError("in %s: command failed (%d): %s\n%s%s" % (
                self.name, r.returncode, cmd, r.stdout, r.stderr))
        return r

    def popen(self, cmd, **kw):
        """Start a long-running process in the namespace; killed by close()."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        p = subprocess.Popen(self.argv(cmd), start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def python(self, script, *args, timeout=120, check=True):
        """Run /usr/bin/python3 SCRIPT ARGS... in the namespace."""
        return self.run(["/usr/bin/python3", script] + [str(a) for a in args],
                        timeout=timeout, check=check)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 5
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = []
        sh(["ip", "netns", "del", self.name], check=False)


class Pair:
    """Two namespaces joined by one veth pair, addressed in the test ranges.

    sender  (ns `a`, iface `veth0`): 198.18.0.1/24, 2001:db8::1/64
    receiver(ns `b`, iface `veth1`): 198.18.0.2/24, 2001:db8::2/64

    TX checksum offload is disabled on both ends (a partial checksum is lost
    after an XDP redirect) and IPv6 DAD is off so addresses work at once.
    """

    A4, B4 = "198.18.0.1", "198.18.0.2"
    A6, B6 = "2001:db8::1", "2001:db8::2"

    def __init__(self, tag="t", mtu=1500):
        base = "xs%d%s" % (os.getpid() % 100000, tag)
        self.a = self.b = None
        try:
            self.a = Netns(base + "a")
            self.b = Netns(base + "b")
            sh(["ip", "link", "add", "veth0", "netns", self.a.name, "type",
                "veth", "peer", "name", "veth1", "netns", self.b.name])
            for ns, ifc, v4, v6 in ((self.a, "veth0", self.A4, self.A6),
                                    (self.b, "veth1", self.B4, self.B6)):
                ns.run("sysctl -qw net.ipv6.conf.all.accept_dad=0 "
                       "net.ipv6.conf.default.accept_dad=0")
                ns.run("ip link set %s mtu %d" % (ifc, mtu))
                ns.run("ip addr add %s/24 dev %s" % (v4, ifc))
                ns.run("ip -6 addr add %s/64 dev %s nodad" % (v6, ifc))
                ns.run("ip link set %s up" % ifc)
                ns.run("ethtool -K %s tx off" % ifc, check=False)
            self.a_mac = self.mac(self.a, "veth0")
            self.b_mac = self.mac(self.b, "veth1")
        except Exception:
            self.close()
            raise

    @staticmethod
    def mac(ns, ifc):
        # /sys/class/net shows the root namespace under nsenter: ask ip(8).
        import json
        return json.loads(ns.run("ip -j link show dev %s" % ifc).stdout)[0]["address"]

    def close(self):
        for ns in (self.a, self.b):
            if ns is not None:
                ns.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
