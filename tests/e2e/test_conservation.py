"""test_conservation - the counter conservation law (docs/counters.md) on
the wire, and the verdicts where xdpsec must be as strict as Linux.

Every run_case already asserts the law (xdpsec_env.XdpsecEnv.check_balance):
these cases are the ones it was written for.
  - a whole ESP packet whose outer IPv4 header checksum is wrong: dropped
    and counted by the ESP engine (it used to be decrypted and delivered
    with no counter), as a fragment with one is by reassembly;
  - a zero-length fragment amid an ESP datagram (IPv4 and IPv6): the
    whole datagram is discarded, as Linux discards it, and counted;
  - an IPv6 hop-by-hop header that is not first (RFC 8200): dropped,
    counted under its own reason;
  - a frame nobody counted in (written straight into the feedback pair):
    `xdpsecctl stats --check` exits 1 and names the stage; after
    `stats --reset` the law holds again.
Needs root; skips like test_pipeline when the daemon cannot run here.
"""
import dataclasses
import json
import os
import struct

import pytest

import espgen
from xdpsec_env import env_or_skip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")

GEN = espgen.Gen(seed=41, spi_base=0x60000, port_base=35000)
BAD_CSUM = GEN.esp(4, "gcm", "tunnel", count=10, name="bad_csum_whole")
BAD_CSUM_FRAG = GEN.frag_after(4, "gcm", 3, "inorder", count=6, name="bad_csum_frag")
ZERO4 = GEN.frag_after(4, "gcm", 3, "inorder", count=6, name="zero_len_v4")
ZERO6 = GEN.frag_after(6, "chacha", 3, "inorder", count=6, name="zero_len_v6")
HBH = GEN.esp(6, "gcm", "tunnel", count=5, name="hbh_not_first")
ALL = [BAD_CSUM, BAD_CSUM_FRAG, ZERO4, ZERO6, HBH]


@pytest.fixture(scope="module")
def env():
    e = env_or_skip(tag="cl")
    try:
        e.ctl("limits", "set", "timeout", "2s")
        for c in ALL:
            e.sa_add(c.sa_lines())
        yield e
    finally:
        e.close()


def is_middle4(p):
    fo = struct.unpack("!H", p[6:8])[0]
    return bool(fo & 0x2000) and (fo & 0x1FFF) != 0


def negative(case, packets):
    """The case with other packets, expecting nothing delivered."""
    return dataclasses.replace(case, packets=packets, payloads=[], negative="strict")


def test_whole_esp_bad_outer_checksum(env):
    bad = [p[:10] + bytes([p[10] ^ 0xFF]) + p[11:] for p in BAD_CSUM.packets]
    res = env.run_case(negative(BAD_CSUM, bad))
    assert res.payloads == []
    assert res.d("esp", "bad_csum") == BAD_CSUM.datagrams
    assert res.d("esp", "delivered") == 0


def test_fragment_bad_checksum(env):
    bad = [p[:10] + bytes([p[10] ^ 0xFF]) + p[11:] if is_middle4(p) else p
           for p in BAD_CSUM_FRAG.packets]
    res = env.run_case(negative(BAD_CSUM_FRAG, bad))
    assert res.payloads == []
    assert res.d("reasm", "reasm_bad_csum") == BAD_CSUM_FRAG.datagrams


def zero_len_v4(p):
    """A fragment of p's datagram at p's offset, MF set, without data."""
    ihl = (p[0] & 15) * 4
    z = bytearray(p[:ihl])
    z[2:4] = struct.pack("!H", ihl)
    z[6] |= 0x20
    return espgen.ip4_recsum(bytes(z))


def zero_len_v6(p):
    """The same for IPv6: the fixed header and the fragment header only."""
    assert p[6] == 44
    z = bytearray(p[:48])
    z[4:6] = struct.pack("!H", 8)
    z[43] |= 1
    return bytes(z)


@pytest.mark.parametrize("case", [ZERO4, ZERO6], ids=["v4", "v6"])
def test_zero_length_fragment_discards_datagram(env, case):
    """first, then a fragment without data where the second starts, then
    the rest: Linux discards the datagram at the empty fragment, and the
    rest can never complete it."""
    out, seen = [], 0
    for p in case.packets:
        out.append(p)
        seen += 1
        if seen % 3 == 2:        # in order: 1st, 2nd, 3rd of each datagram
            out.insert(len(out) - 1, zero_len_v4(p) if case.family == 4 else zero_len_v6(p))
    res = env.run_case(negative(case, out))
    assert res.payloads == []
    assert res.d("reasm", "reasm_bad_len") == case.datagrams
    # the empty fragments reached reassembly: classified ESP, not malformed
    assert res.d("classify", "drop_frag_zero_len") == 0


def test_hop_by_hop_not_first(env):
    """[IPv6][destination options][hop-by-hop][ESP]: RFC 8200 4.1."""
    out = []
    for p in HBH.packets:
        assert p[6] == 50
        ext = bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([50, 0, 1, 4, 0, 0, 0, 0])
        plen = struct.unpack("!H", p[4:6])[0] + len(ext)
        out.append(p[:4] + struct.pack("!H", plen) + bytes([60]) + p[7:40] + ext + p[40:])
    res = env.run_case(negative(HBH, out))
    assert res.payloads == []
    assert res.d("classify", "drop_ipv6_hbh_not_first") == HBH.datagrams


INJECT = r"""
import socket, struct, sys
ifname = sys.argv[1]
tag = struct.pack("<IBBBBIIIIII", 0x58505345, 9, 2, 0, 46, 1, 0, 0xFFFFFFFF, 1, 0, 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                 bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])) + struct.pack("!HHHH", 9, 9, 8, 0)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
s.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x09" + b"\x88\xb5" + tag + ip)
"""


def test_check_names_a_frame_nobody_counted(env):
    """A tagged frame written into the near end by someone else than the
    daemon reaches the decrypt program with no counter for its way in: the
    law must notice, name the feedback pair, and hold again after a reset."""
    env.check_balance()
    st = json.loads(env.ctl("status", json_out=True).stdout)
    near = st["feedback"]["near"]
    path = os.path.join(env.tmp, "inject.py")
    with open(path, "w") as f:
        f.write(INJECT)
    env.pair.b.python(path, near)
    r = None
    for _ in range(20):
        r = env.ctl("stats", "--check", check=False)
        if r.returncode != 0:
            break
    assert r.returncode == 1, r.stdout
    assert "unbalanced stage feedback" in r.stderr, r.stderr
    env.ctl("stats", "--reset")
    env.check_balance()
