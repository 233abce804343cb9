"""The classify program on a real veth: attached with `ip link ... xdp obj`
in the receiver namespace, fed real packets built by scapy in the sender
namespace, counters read back from the program's own maps with bpftool.

No daemon runs here, so the feedback DEVMAP slot is unset: ESP of every
class is passed (and counted NOT_CONFIGURED), plain traffic must still reach
a socket.  Needs root.
"""
import json
import os
import re
import subprocess
import time

import pytest

import nslib  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
OBJ = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(ROOT, BUILD),
                   "xdpsec.bpf.o")
HEADER = os.path.join(ROOT, "headers", "xdpsec_common.h")


def enum_values():
    """Evaluate the enums of xdpsec_common.h (names -> ints), so the test
    follows the header instead of copying its numbers.  The header makes
    its counter enums from X-macro lists, so it is read as the compiler
    sees it: preprocessed (cc -E)."""
    text = subprocess.run([os.environ.get("CC", "cc"), "-E", "-P", "-D_GNU_SOURCE", HEADER],
                          check=True, capture_output=True, text=True).stdout
    vals = {}
    for body in re.findall(r"enum\s+xdpsec_\w+\s*\{(.*?)\}", text, flags=re.S):
        nxt = 0
        for item in body.split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                name, expr = (x.strip() for x in item.split("=", 1))
                nxt = eval(expr, {}, dict(vals))
            else:
                name = item
            vals[name] = nxt
            nxt += 1
    return vals


E = enum_values()


def cls(name):
    return E["XDPSEC_CNT_CLASS_BASE"] + E["XDPSEC_CLASS_" + name]


def drop(name):
    return E["XDPSEC_CNT_DROP_BASE"] + E["XDPSEC_DROP_" + name]


def cnt(name):
    return E["XDPSEC_CNT_" + name]


# Sent from the sender namespace with scapy: (description, builder code).
# Ether dst is the receiver's MAC; every ESP packet comes from scapy's ESP.
SENDER = r"""
import struct, sys
from scapy.all import Ether, IP, IPv6, UDP, Raw, fragment, raw, sendp
from scapy.layers.ipsec import ESP, SecurityAssociation
dst_mac, a4, b4, a6, b6 = sys.argv[1:6]
key = bytes(range(1, 21))
def sa(spi, nat=None):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                               auth_algo="NULL", nat_t_header=nat)
def fixlen(p):   # scapy 2.5 leaves the NAT-T UDP length of IPv4 at 8
    b = bytearray(raw(p)); ihl = (b[0] & 15) * 4
    b[ihl + 4:ihl + 6] = struct.pack("!H", len(b) - ihl)
    return IP(bytes(b))
E = lambda p: Ether(dst=dst_mac) / p
inner4 = lambda n: IP(src=a4, dst=b4) / UDP(sport=1, dport=9) / Raw(b"p" * n)
inner6 = IPv6(src=a6, dst=b6) / UDP(sport=1, dport=9) / Raw(b"p" * 40)
pk = []
pk += [E(sa(0x3001).encrypt(inner4(40), seq_num=s)) for s in (1, 2)]       # ESP x2
pk += [E(sa(0x3006).encrypt(inner6, seq_num=1))]                           # ESP v6
pk += [E(f) for f in fragment(sa(0x3001).encrypt(inner4(2600), seq_num=3),
                              fragsize=1000)]                              # first/mid/last
pk += [E(fixlen(sa(0x3002, UDP(sport=4500, dport=4500)).encrypt(inner4(40), seq_num=1)))]
pk += [E(IP(src=a4, dst=b4) / UDP(sport=4500, dport=4500) / Raw(b"\xff"))] # keepalive
pk += [E(IP(src=a4, dst=b4) / UDP(sport=4500, dport=4500) / Raw(b"\0" * 4 + b"ike" * 9))]
pk += [E(f) for f in fragment(IP(src=a4, dst=b4, id=4242) / UDP(sport=7, dport=9) /
                              Raw(b"f" * 2500), fragsize=1000)]            # plain frags x3
bad = bytearray(raw(E(IP(src=a4, dst=b4) / UDP(dport=9) / Raw(b"m" * 30))))
bad[14] = 0x44                                                             # IHL 4
pk += [Ether(bytes(bad))]
sendp(pk, iface="veth0", verbose=False)
print(len(pk))
"""

# (counter, expected delta) for the packets above.
def expected():
    esp_classes = 3 + 3 + 1            # whole ESP + fragments + ESP-in-UDP
    return {
        cls("ESP"): 4,
        cls("ESP_FRAG_FIRST"): 1,
        cls("ESP_FRAG_MIDDLE"): 1,
        cls("ESP_FRAG_LAST"): 1,
        cls("NATT_KEEPALIVE"): 1,
        cls("IKE"): 1,
        cls("PLAIN_FRAG"): 3,
        cnt("PLAIN_FRAG_FIRST"): 1,
        cls("MALFORMED"): 1,
        drop("IPV4_BAD_IHL"): 1,
        cnt("MALFORMED_PASSED"): 1,
        cnt("NOT_CONFIGURED"): esp_classes,
        cnt("REDIRECTED"): 0,
        cnt("REDIRECT_FAIL"): 0,
        cnt("MALFORMED_DROPPED"): 0,
    }


LISTENER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5555)); s.settimeout(20)
print("ready", flush=True)
for _ in range(2):
    d, a = s.recvfrom(65535)
    print(len(d), flush=True)
"""

UDP_SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (100, 3000):     # 3000 bytes: fragmented by the sender's stack
    s.sendto(b"u" * n, (sys.argv[1], 5555))
"""


def counters(ns, map_id):
    """Sum the per-CPU counters of map `map_id` (bpftool JSON dump)."""
    out = json.loads(ns.run(["bpftool", "-j", "map", "dump", "id", str(map_id)]).stdout)
    res = {}
    for ent in out:
        ent = ent.get("formatted", ent)
        key = ent["key"]
        if isinstance(key, list):
            key = int.from_bytes(bytes(int(x, 16) for x in key), "little")
        total = 0
        for v in ent["values"]:
            val = v["value"]
            if isinstance(val, list):
                val = int.from_bytes(bytes(int(x, 16) for x in val), "little")
            total += int(val)
        res[int(key)] = total
    return res


def find_maps(ns, ifname):
    """prog id from `bpftool net` in the namespace, then its maps by name."""
    net = json.loads(ns.run(["bpftool", "-j", "net"]).stdout)
    att = [x for x in net[0]["xdp"] if x["devname"] == ifname]
    assert att, "no XDP program on %s: %s" % (ifname, net)
    assert att[0]["mode"] == "driver", att[0]
    prog = json.loads(ns.run(["bpftool", "-j", "prog", "show", "id",
                              str(att[0]["id"])]).stdout)
    maps = {}
    for mid in prog["map_ids"]:
        m = json.loads(ns.run(["bpftool", "-j", "map", "show", "id", str(mid)]).stdout)
        maps[m["name"]] = mid
    return att[0]["id"], maps


@pytest.fixture
def pair():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    assert os.path.exists(OBJ), "build first: %s missing" % OBJ
    p = nslib.Pair(tag="cl")
    try:
        yield p
    finally:
        p.close()


def attach(ns, ifname):
    """`ip link ... xdp obj`, check native mode, return the program's maps."""
    ns.run(["ip", "link", "set", "dev", ifname, "xdp", "obj", OBJ, "sec", "xdp"])
    link = ns.run(["ip", "-d", "link", "show", "dev", ifname]).stdout
    assert "prog/xdp" in link and "xdpgeneric" not in link, link
    return find_maps(ns, ifname)


def delta(after, before, keys):
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys}


def wait_counters(ns, map_id, before, want, timeout=10):
    """Poll until the deltas match (veth runs XDP in the sender's context,
    so they normally match at once); return the last deltas seen."""
    deadline = time.time() + timeout
    while True:
        got = delta(counters(ns, map_id), before, want)
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.2)


ESP_ONLY = r"""
import sys
from scapy.all import Ether, IP, UDP, Raw, fragment, sendp
from scapy.layers.ipsec import ESP, SecurityAssociation
dst_mac, a4, b4 = sys.argv[1:4]
sa = SecurityAssociation(ESP, spi=0x3001, crypt_algo="AES-GCM",
                         crypt_key=bytes(range(1, 21)), auth_algo="NULL")
inner = lambda n: IP(src=a4, dst=b4) / UDP(sport=1, dport=9) / Raw(b"p" * n)
pk = [Ether(dst=dst_mac) / sa.encrypt(inner(40), seq_num=s) for s in (1, 2)]
pk += [Ether(dst=dst_mac) / f for f in
       fragment(sa.encrypt(inner(2600), seq_num=3), fragsize=1000)]
sendp(pk, iface="veth0", verbose=False)
print(len(pk))
"""


def test_devmap_slot_alone_redirects_nothing(pair):
    """The DEVMAP slot set (as the daemon does) but no daemon socket in slot
    0 of the XSKMAP (as after `kill -9` of the daemon: the kernel empties a
    closed socket's slots): ESP of every class is passed to the stack,
    counted not_configured, and nothing reaches the feedback pair.  The
    redirect itself, natively into the pair, is exercised by every
    test_pipeline case through the real daemon (decrypt/fresh)."""
    b = pair.b
    _, maps = attach(b, "veth1")
    b.run("ip link add fb0 type veth peer name fb1 && ip link set fb0 up && "
          "ip link set fb1 up")
    _, far = attach(b, "fb1")     # a veth peer needs XDP to get redirects
    fb0 = json.loads(b.run("ip -j link show dev fb0").stdout)[0]["ifindex"]
    # struct bpf_devmap_val: ifindex (little endian), no devmap program;
    # run in the namespace: the kernel resolves the ifindex in the caller's
    b.run(["bpftool", "map", "update", "id", str(maps["xdpsec_devmap"]),
           "key", "0", "0", "0", "0", "value"] +
          [str(x) for x in fb0.to_bytes(4, "little")] + ["0", "0", "0", "0"])

    near_before = counters(b, maps["xdpsec_cnt"])
    far_before = counters(b, far["xdpsec_cnt"])
    r = pair.a.run(["/usr/bin/python3", "-c", ESP_ONLY, pair.b_mac, pair.A4,
                    pair.B4], timeout=120)
    assert int(r.stdout.strip()) == 5
    near_want = {cls("ESP"): 2, cls("ESP_FRAG_FIRST"): 1, cls("ESP_FRAG_MIDDLE"): 1,
                 cls("ESP_FRAG_LAST"): 1, cnt("REDIRECTED"): 0,
                 cnt("REDIRECT_FAIL"): 0, cnt("NOT_CONFIGURED"): 5}
    assert wait_counters(b, maps["xdpsec_cnt"], near_before, near_want) == near_want
    time.sleep(0.5)
    far_want = {cls("PLAIN"): 0, cls("ESP"): 0, cls("ESP_FRAG_FIRST"): 0}
    got = delta(counters(b, far["xdpsec_cnt"]), far_before, far_want)
    # the far end may see the namespace's own neighbour discovery, never
    # the ESP (tagged frames would count as plain, untagged as ESP)
    assert got[cls("ESP")] == 0 and got[cls("ESP_FRAG_FIRST")] == 0
    assert got[cls("PLAIN")] < 5


def test_classify_on_veth(pair):
    b = pair.b
    prog_id, maps = attach(b, "veth1")
    for name in ("xdpsec_cnt", "xdpsec_cfg", "xdpsec_devmap", "xdpsec_sa",
                 "xdpsec_sastate"):
        assert name in maps, "map %s not bound to prog %d: %s" % (name, prog_id, maps)
    cid = maps["xdpsec_cnt"]

    # plain UDP, whole and fragmented by the sender's stack, reaches a socket
    lst = b.popen(["/usr/bin/python3", "-c", LISTENER])
    assert lst.stdout.readline().strip() == "ready"
    before_udp = counters(b, cid)
    pair.a.run(["/usr/bin/python3", "-c", UDP_SENDER, pair.B4])
    lines = [lst.stdout.readline().strip() for _ in range(2)]
    assert lines == ["100", "3000"], (lines, lst.stderr.read() if lst.poll() is not None else "")
    after_udp = counters(b, cid)
    assert after_udp[cls("PLAIN")] - before_udp[cls("PLAIN")] >= 1
    assert after_udp[cls("PLAIN_FRAG")] - before_udp[cls("PLAIN_FRAG")] == 3
    assert after_udp[cnt("PLAIN_FRAG_FIRST")] - before_udp[cnt("PLAIN_FRAG_FIRST")] == 1

    # crafted traffic: every class but the redirect
    before = counters(b, cid)
    r = pair.a.run(["/usr/bin/python3", "-c", SENDER, pair.b_mac, pair.A4,
                    pair.B4, pair.A6, pair.B6], timeout=120)
    assert int(r.stdout.strip()) == 13
    want = expected()
    assert wait_counters(b, cid, before, want) == want
    after = counters(b, cid)
    # nothing else but plain background traffic (ND, MLD) moved
    for k in after:
        if k not in want and k != cls("PLAIN"):
            assert after[k] == before.get(k, 0), "counter %d moved" % k
