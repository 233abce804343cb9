"""test_espgen - checks the end-to-end traffic generator without xdpsec.

Runs anywhere (no root, no daemon).  A reference receiver written here in
Python follows the decision tree of docs/decision-tree.md literally: a packet that
is an IP fragment is reassembled; a whole packet that is ESP (or ESP in UDP
4500) is decrypted with scapy's SecurityAssociation; the result goes round
again; a whole plain UDP datagram (checksum verified) is delivered.  Each
datagram carries the history of what was done to it ("D" decrypted, "R"
reassembled), from which its branch follows.  Anti-replay is a set of seen
sequence numbers and a window, enough to count replays.

If espgen and this model agree on every case -- exact payloads, each once,
the expected branch, the expected failures for the negative cases -- the
generator's packets are right, and a daemon that disagrees with them is
wrong.  The fragmenter is also checked against scapy's own defragment().
"""

import ipaddress
import struct
from collections import Counter

from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import IPSecIntegrityError
from scapy.packet import raw


def branch_of(hist):
    """Branch of a delivered datagram from its history string."""
    if "R" not in hist:
        return "esp" if "D" in hist else "plain"
    i = hist.index("R")
    before, after = "D" in hist[:i], "D" in hist[i + 1:]
    if not before and not after:
        return "plain_frag"
    if before and after:
        return "frag_between"
    return "frag_before" if before else "frag_after"


def _sum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Model:
    def __init__(self, sas):
        # (dst, spi) -> [SA, scapy SecurityAssociation, seen seqs, top]
        self.sas = {(sa.dst, sa.spi): [sa, sa.scapy(), set(), 0] for sa in sas}
        self.frags = {}
        self.delivered = []          # (payload, branch, dport)
        self.cnt = Counter()

    # ------------------------------------------------------------ receive
    def rx(self, pkt, hist=""):
        if len(pkt) < 1:
            self.cnt["malformed"] += 1
            return
        v = pkt[0] >> 4
        if v == 4:
            self._rx4(pkt, hist)
        elif v == 6:
            self._rx6(pkt, hist)
        else:
            self.cnt["malformed"] += 1

    def _rx4(self, pkt, hist):
        if len(pkt) < 20:
            self.cnt["malformed"] += 1
            return
        ihl = (pkt[0] & 0xF) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        if ihl < 20 or total < ihl or total > len(pkt):
            self.cnt["malformed"] += 1
            return
        pkt = pkt[:total]
        fl = struct.unpack("!H", pkt[6:8])[0]
        proto, src, dst = pkt[9], pkt[12:16], pkt[16:20]
        if fl & 0x2000 or fl & 0x1FFF:
            key = (4, src, dst, pkt[4:6], proto)
            self._frag(key, (fl & 0x1FFF) * 8, bool(fl & 0x2000), pkt[ihl:],
                       pkt[:ihl], hist)
            return
        self._whole(pkt, ihl, proto, hist, socket_dst=dst, src=src)

    def _rx6(self, pkt, hist):
        if len(pkt) < 40:
            self.cnt["malformed"] += 1
            return
        plen = struct.unpack("!H", pkt[4:6])[0]
        if 40 + plen > len(pkt):
            self.cnt["malformed"] += 1
            return
        pkt = pkt[:40 + plen]
        nh, src, dst = pkt[6], pkt[8:24], pkt[24:40]
        if nh == 44:
            if plen < 8:
                self.cnt["malformed"] += 1
                return
            fnh, _, offm, ident = struct.unpack("!BBHI", pkt[40:48])
            key = (6, src, dst, ident)
            self._frag(key, offm & 0xFFF8, bool(offm & 1), pkt[48:],
                       pkt[:40], hist, nh=fnh)
            return
        self._whole(pkt, 40, nh, hist, socket_dst=dst, src=src)

    # ------------------------------------------------------- reassembly
    def _frag(self, key, off, more, data, hdr, hist, nh=None):
        st = self.frags.setdefault(key, {"parts": {}, "end": None, "hdr": None,
                                         "nh": None, "hist": set()})
        st["hist"].add(hist)
        if off in st["parts"]:
            if st["parts"][off] != data:
                raise AssertionError("overlapping fragments differ: %r" % (key,))
            self.cnt["dup_frag"] += 1
            return
        st["parts"][off] = data
        if not more:
            st["end"] = off + len(data)
        if off == 0:
            st["hdr"], st["nh"] = hdr, nh
        if st["end"] is None or st["hdr"] is None:
            return
        pos, body = 0, b""
        for o in sorted(st["parts"]):
            if o != pos:
                return                       # hole (or overlap: not made here)
            body += st["parts"][o]
            pos += len(st["parts"][o])
        if pos != st["end"]:
            return
        del self.frags[key]
        if len(st["hist"]) != 1:
            raise AssertionError("fragments of one datagram took different paths")
        h = bytearray(st["hdr"])
        if key[0] == 4:
            struct.pack_into("!H", h, 2, len(h) + len(body))
            struct.pack_into("!H", h, 6, 0)
            struct.pack_into("!H", h, 10, 0)
            struct.pack_into("!H", h, 10, (~_sum16(bytes(h))) & 0xFFFF)
            proto = h[9]
        else:
            h[6] = st["nh"]
            struct.pack_into("!H", h, 4, len(body))
            proto = st["nh"]
        self.cnt["reassembled"] += 1
        if proto == 50 or (proto == 17 and self._natt(body)):
            self.cnt["reassembled_ciphertext"] += 1
        self.rx(bytes(h) + body, st["hist"].pop() + "R")

    @staticmethod
    def _natt(l4):
        return (len(l4) >= 12 and struct.unpack("!H", l4[2:4])[0] == 4500
                and l4[8:12] != b"\0\0\0\0")

    # --------------------------------------------------- whole datagrams
    def _whole(self, pkt, hl, proto, hist, socket_dst, src):
        l4 = pkt[hl:]
        if proto == 17 and self._natt(l4):
            # RFC 3948: strip the UDP header, then it is ESP
            self._esp(self._with_proto(pkt, hl, 50, l4[8:]), hl, hist, encap=True)
        elif proto == 50:
            self._esp(pkt, hl, hist, encap=False)
        elif proto == 17:
            self._udp(pkt, hl, l4, hist, src, socket_dst)
        else:
            self.cnt["other_proto"] += 1

    @staticmethod
    def _with_proto(pkt, hl, proto, payload):
        h = bytearray(pkt[:hl])
        if h[0] >> 4 == 4:
            h[9] = proto
            struct.pack_into("!H", h, 2, hl + len(payload))
            struct.pack_into("!H", h, 10, 0)
            struct.pack_into("!H", h, 10, (~_sum16(bytes(h))) & 0xFFFF)
        else:
            h[6] = proto
            struct.pack_into("!H", h, 4, len(payload))
        return bytes(h) + payload

    def _esp(self, pkt, hl, hist, encap):
        if len(pkt) < hl + 8:
            self.cnt["malformed"] += 1
            return
        spi, seq = struct.unpack("!II", pkt[hl:hl + 8])
        dst = pkt[16:20] if hl == 20 and pkt[0] >> 4 == 4 else pkt[24:40]
        d = str(ipaddress.ip_address(bytes(dst)))
        ent = self.sas.get((d, spi))
        if ent is None:
            self.cnt["unknown_spi"] += 1
            return
        sa, s, seen, top = ent
        if sa.encap != encap:
            self.cnt["encap_mismatch"] += 1
            return
        if seq in seen or (sa.replay_window and top >= sa.replay_window
                           and seq <= top - sa.replay_window):
            self.cnt["replay"] += 1
            return
        # decrypt works on a fresh object (scapy modifies its argument)
        p = IP(pkt) if pkt[0] >> 4 == 4 else IPv6(pkt)
        try:
            out = s.decrypt(p)
        except IPSecIntegrityError:
            self.cnt["auth"] += 1
            return
        seen.add(seq)
        ent[3] = max(top, seq)
        self.cnt["decrypted"] += 1
        self.rx(raw(out), hist + "D")

    def _udp(self, pkt, hl, l4, hist, src, dst):
        if len(l4) < 8:
            self.cnt["malformed"] += 1
            return
        sport, dport, ulen, ck = struct.unpack("!HHHH", l4[:8])
        if ulen < 8 or ulen > len(l4):
            self.cnt["malformed"] += 1
            return
        l4 = l4[:ulen]
        v4 = pkt[0] >> 4 == 4
        if ck or not v4:
            ph = (src + dst + struct.pack("!BBH", 0, 17, ulen) if v4 else
                  src + dst + struct.pack("!IxxxB", ulen, 17))
            if ck == 0 or _sum16(ph + l4) != 0xFFFF:
                self.cnt["udp_csum"] += 1
                return
        self.delivered.append((l4[8:], branch_of(hist), dport))


# ------------------------------------------------------------------ the tests
import pytest  # noqa: E402

import espgen  # noqa: E402
from scapy.layers.inet import defragment  # noqa: E402
from scapy.layers.inet6 import defragment6, IPv6ExtHdrFragment  # noqa: E402

COMBOS = [(4, "gcm"), (4, "chacha"), (6, "gcm"), (6, "chacha")]
_built = {}


def cases_for(family, alg):
    """All cases of one (family, alg), built once; one Gen for the whole
    module, as a test run with one daemon would do."""
    if not _built:
        gen = espgen.Gen(seed=7)
        for f, a in COMBOS:
            _built[(f, a)] = (espgen.positive_cases(gen, f, a)
                              + espgen.negative_cases(gen, f, a))
    return _built[(family, alg)]


def run_model(case):
    m = Model(case.sas)
    for p in case.packets:
        m.rx(p)
    return m


ALL = [(f, a, i) for f, a in COMBOS for i in range(len(cases_for(f, a)))]


def _id(x):
    f, a, i = x
    return cases_for(f, a)[i].id


@pytest.mark.parametrize("fai", ALL, ids=[_id(x) for x in ALL])
def test_case_decodes_as_promised(fai):
    f, a, i = fai
    c = cases_for(f, a)[i]
    m = run_model(c)
    got = [p for p, _, _ in m.delivered]
    # exact payloads, each exactly once
    assert sorted(got) == sorted(c.payloads)
    assert len(set(got)) == len(got)
    assert all(d == c.dport for _, _, d in m.delivered)
    assert all(b == c.branch for _, b, _ in m.delivered), \
        Counter(b for _, b, _ in m.delivered)
    assert bool(m.cnt["reassembled_ciphertext"]) == c.reassembled_ciphertext
    if c.negative == "wrong_key":
        assert m.cnt["auth"] == c.datagrams and not m.delivered
    elif c.negative == "replay":
        assert m.cnt["replay"] == c.replayed > 0
    elif c.negative == "unknown_spi":
        assert m.cnt["unknown_spi"] == c.datagrams and not m.delivered
    elif c.negative == "incomplete":
        assert len(m.frags) == c.datagrams and not m.delivered
    else:
        assert len(c.payloads) == c.datagrams > 0
        assert not m.frags, "fragments left over"
        bad = {k: v for k, v in m.cnt.items()
               if k in ("auth", "replay", "unknown_spi", "malformed", "udp_csum",
                        "encap_mismatch")}
        assert not bad, bad


def test_sizes_fit_the_mtu_and_vary():
    for f, a in COMBOS:
        for c in cases_for(f, a):
            assert all(20 <= len(p) <= espgen.MTU for p in c.packets), c.id
            if c.payloads:
                assert len({len(p) for p in c.payloads}) > 1, c.id


def test_ip_ids_distinct():
    """No two datagrams of a run share an IPv4 id or an IPv6 fragment id
    (except the fragments of one datagram, and replayed copies)."""
    seen = {}
    for f, a in COMBOS:
        for c in cases_for(f, a):
            for p in c.packets:
                if p[0] >> 4 == 4:
                    key = (4, p[4:6])
                elif p[6] == 44:
                    key = (6, p[44:48])
                else:
                    continue
                seen.setdefault(key, set()).add(c.id)
    shared = {k: v for k, v in seen.items() if len(v) > 1}
    assert not shared, list(shared.items())[:5]


def test_sa_lines_are_ip_xfrm_grammar():
    for f, a in COMBOS:
        for c in cases_for(f, a):
            for line in c.sa_lines():
                w = line.split()
                assert w[:2] == ["sa", "add"] and w[w.index("proto") + 1] == "esp"
                assert w[w.index("mode") + 1] in ("tunnel", "transport")
                key = w[w.index("aead") + 2]
                assert key.startswith("0x")
                assert len(key) - 2 == 2 * (20 if a == "gcm" else 36)
                assert w[w.index("aead") + 3] == "128"


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("n", [2, 3, 40])
def test_fragmenter_agrees_with_scapy(family, n):
    gen = espgen.Gen(seed=3)
    c = gen.frag_after(family, "gcm", n, "shuffled", count=4)
    whole = {}
    m = Model(c.sas)
    # reassemble with scapy, independently of the model above
    if family == 4:
        out = defragment([IP(p) for p in c.packets])
        assert len(out) == 4 and all(o.flags.MF == 0 and o.frag == 0 for o in out)
        for o in out:
            whole[raw(o)] = 1
    else:
        groups = {}
        for p in c.packets:
            q = IPv6(p)
            groups.setdefault(q[IPv6ExtHdrFragment].id, []).append(q)
        assert len(groups) == 4 and all(len(g) == n for g in groups.values())
        for g in groups.values():
            # scapy 2.5's defragment6 expects the fragments in offset order
            g.sort(key=lambda q: q[IPv6ExtHdrFragment].offset)
            whole[raw(defragment6(g))] = 1
    for w in whole:
        m.rx(w)
    assert sorted(p for p, _, _ in m.delivered) == sorted(c.payloads)


def test_branch_of():
    assert branch_of("") == "plain"
    assert branch_of("R") == "plain_frag"
    assert branch_of("D") == branch_of("DD") == "esp"
    assert branch_of("DR") == branch_of("DDR") == "frag_before"
    assert branch_of("RD") == branch_of("RDD") == "frag_after"
    assert branch_of("DRD") == "frag_between"
