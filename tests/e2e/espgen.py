"""espgen - the end-to-end tests' traffic generator.

Builds, with scapy's own IPsec implementation (`scapy.layers.ipsec`, an
implementation independent of xdpsec), the packets of every test case of the
decision tree (docs/decision-tree.md), together with what
the receiver must be told (`xdpsecctl sa add ...` lines in `ip xfrm state`
grammar) and what it must deliver (the exact payloads, the branch).

Every datagram carries a distinct payload ("<case>#<seq>|" + random filler,
sizes varying) and distinct IP ids (scapy would give every packet id 1):
a receiver that mixes up two datagrams, or delivers one twice, is caught.

What is and is not built, and why:
- Transport mode protects whole datagrams only (RFC 4303 section 3.1): a
  fragment encrypted in transport mode keeps its fragment offset in the
  header it shares with the ESP payload, so no receiver can tell it from a
  fragment of ciphertext and the offsets no longer match the data.  Hence
  "fragmented before encryption" is built with a tunnel-mode SA, and for
  nested SAs each of before/between/after is built in the order(s) where it
  exists on the wire:
    tunnel outside transport (gateway over host): after both, between
    transport outside tunnel (host over gateway): before both, after both
- Fragmentation is done here on raw bytes (frag4/frag6) rather than with
  scapy's fragment()/fragment6(), to split into an exact number of pieces
  and to control order and duplicates; test_espgen checks the result with
  an independent reassembly model.

Addresses: 198.18.0.1 -> 198.18.0.2 and 2001:db8::1 -> 2001:db8::2 only
(nslib.Pair); inner datagrams go to the receiver's own address so an
ordinary socket there receives them.
"""
import hashlib
import random
import struct
from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import SecurityAssociation, ESP
from scapy.layers.l2 import Ether
from scapy.packet import Raw, raw

import scapy_esp_ext

A4, B4 = "198.18.0.1", "198.18.0.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
MTU = 1500
NATT_PORT = 4500

# AEAD: xdpsec/ip-xfrm algorithm name, scapy's name, key bytes (without salt)
ALGS = {
    "gcm": ("rfc4106(gcm(aes))", "AES-GCM", 16),
    "chacha": ("rfc7539esp(chacha20,poly1305)", "CHACHA20-POLY1305", 32),
    # RFC 4543, authentication only (scapy_esp_ext adds it to scapy)
    "gmac": ("rfc4543(gcm(aes))", scapy_esp_ext.GMAC, 16),
}
SALT_LEN = 4
ICV_BITS = 128
# enc + HMAC: ip-xfrm enc name, scapy's, enc key bytes, hash, HMAC key
# bytes, truncation bits (None: `auth`, the kernel's default truncation)
ENC_AUTH = {
    "null_sha256": ("ecb(cipher_null)", "NULL", 0, "sha256", 32, None),    # 96 bits
    "cbc_sha256_96": ("cbc(aes)", "AES-CBC", 16, "sha256", 32, 96),
    "cbc_sha1_longkey": ("cbc(aes)", "AES-CBC", 32, "sha1", 100, 160),     # key > block
    "null_sha512_shortkey": ("ecb(cipher_null)", "NULL", 0, "sha512", 7, 384),
}
DEFAULT_TRUNC = {"sha1": 96, "sha256": 96, "sha384": 192, "sha512": 256}

BRANCHES = ("plain", "plain_frag", "esp", "frag_before", "frag_after",
            "frag_between")


class IdAlloc:
    """Distinct IP ids across every case of one run (16-bit for IPv4
    headers, 32-bit for IPv6 fragment headers), so that no two datagrams
    in flight at the receiver share a reassembly key."""

    def __init__(self, start=0x1000):
        self.n = start

    def __call__(self):
        self.n += 1
        return self.n


@dataclass
class SA:
    """One SA as both ends see it: scapy encrypts with it, the receiver is
    told about it with line()."""
    spi: int
    mode: str                  # "tunnel" | "transport"
    alg: str                   # key of ALGS or ENC_AUTH
    key: bytes                 # key + 4-byte salt (AEAD), enc key (ENC_AUTH)
    family: int                # 4 | 6 (outer header)
    encap: bool = False        # ESP-in-UDP, RFC 3948
    replay_window: int = 64
    reqid: int = 1
    encap_port: int = NATT_PORT  # the SA's own NAT-T port (both ends)
    akey: bytes = b""          # ENC_AUTH: the HMAC key

    @property
    def src(self):
        return A4 if self.family == 4 else A6

    @property
    def dst(self):
        return B4 if self.family == 4 else B6

    def scapy(self):
        tunnel = None
        if self.mode == "tunnel":
            tunnel = (IP(src=self.src, dst=self.dst) if self.family == 4
                      else IPv6(src=self.src, dst=self.dst))
        natt = UDP(sport=self.encap_port, dport=self.encap_port) if self.encap else None
        if self.alg in ENC_AUTH:
            _, enc, _, h, _, bits = ENC_AUTH[self.alg]
            return SecurityAssociation(
                ESP, spi=self.spi, crypt_algo=enc, crypt_key=self.key or None,
                auth_algo=scapy_esp_ext.hmac_algo(h, bits or DEFAULT_TRUNC[h]),
                auth_key=self.akey, tunnel_header=tunnel, nat_t_header=natt)
        return SecurityAssociation(ESP, spi=self.spi, crypt_algo=ALGS[self.alg][1],
                                   crypt_key=self.key, tunnel_header=tunnel,
                                   nat_t_header=natt)

    def algo_words(self):
        """ALGO in ip xfrm state grammar."""
        if self.alg in ENC_AUTH:
            enc, _, _, h, _, bits = ENC_AUTH[self.alg]
            auth = ("auth 'hmac(%s)' 0x%s" % (h, self.akey.hex()) if bits is None else
                    "auth-trunc 'hmac(%s)' 0x%s %d" % (h, self.akey.hex(), bits))
            return "enc '%s' %s %s" % (enc, "0x" + self.key.hex() if self.key else "''", auth)
        return "aead '%s' 0x%s %d" % (ALGS[self.alg][0], self.key.hex(), ICV_BITS)

    def line(self, key=None):
        """`xdpsecctl sa add` arguments (ip xfrm state grammar), one string."""
        sa = self if key is None else SA(self.spi, self.mode, self.alg, key, self.family,
                                         self.encap, self.replay_window, self.reqid,
                                         encap_port=self.encap_port, akey=self.akey)
        s = ("sa add src %s dst %s proto esp spi 0x%08x reqid %d mode %s %s"
             % (self.src, self.dst, self.spi, self.reqid, self.mode, sa.algo_words()))
        if self.encap:
            s += " encap espinudp %d %d 0.0.0.0" % (self.encap_port, self.encap_port)
        if self.replay_window:
            s += " replay-window %d" % self.replay_window
        return s


@dataclass
class Case:
    name: str
    family: int
    alg: str
    branch: str                # expected branch of every delivered datagram
    dport: int
    packets: list = field(default_factory=list)    # L3 bytes, send order
    payloads: list = field(default_factory=list)   # expected, each exactly once
    sas: list = field(default_factory=list)        # SAs the receiver is told
    sender_sas: list = field(default_factory=list)  # SAs the sender used
    datagrams: int = 0         # datagrams sent (before duplicates)
    reassembled_ciphertext: bool = False  # the feedback path must be used
    negative: str = ""         # "", "wrong_key", "replay", "unknown_spi", "incomplete"
    replayed: int = 0          # replay case: datagrams sent a second time
    note: str = ""

    @property
    def id(self):
        return "%s-v%d-%s" % (self.name, self.family, self.alg)

    def sa_lines(self):
        return [sa.line() for sa in self.sas]

    def frames(self, src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02"):
        return to_frames(self.packets, src_mac, dst_mac)


def to_frames(packets, src_mac, dst_mac):
    """Ethernet frames around L3 packets (ethertype from the IP version)."""
    out = []
    for p in packets:
        et = 0x0800 if p[0] >> 4 == 4 else 0x86DD
        out.append(raw(Ether(src=src_mac, dst=dst_mac, type=et)) + p)
    return out


# ---------------------------------------------------------------- fragmenting

def _split_sizes(length, n=None, chunk=None):
    """Byte counts of the pieces of LENGTH bytes: exactly n pieces, or pieces
    of at most CHUNK; every piece but the last a multiple of 8."""
    blocks = (length + 7) // 8
    if n is None:
        per = chunk // 8
        n = (blocks + per - 1) // per
    if n < 1 or blocks < n:
        raise ValueError("cannot split %d bytes into %d fragments" % (length, n))
    base, extra = divmod(blocks, n)
    sizes = [(base + (1 if i < extra else 0)) * 8 for i in range(n)]
    sizes[-1] -= blocks * 8 - length
    if sizes[-1] <= 0:
        raise ValueError("empty last fragment")
    return sizes


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4_recsum(pkt):
    """PKT (an IPv4 packet, bytes) with its header checksum computed
    anew: for tests that change header fields and want only that change
    to be wrong."""
    p = bytearray(pkt)
    ihl = (p[0] & 15) * 4
    p[10:12] = b"\0\0"
    p[10:12] = struct.pack("!H", _csum(bytes(p[:ihl])))
    return bytes(p)


def frag4(pkt, n=None, chunk=None):
    """IPv4 fragments of PKT (bytes, no options expected but handled)."""
    ihl = (pkt[0] & 0xF) * 4
    total = struct.unpack("!H", pkt[2:4])[0]
    if total != len(pkt) or ihl < 20:
        raise ValueError("bad IPv4 packet")
    hdr, data = bytearray(pkt[:ihl]), pkt[ihl:total]
    frags, off = [], 0
    sizes = _split_sizes(len(data), n, chunk)
    for i, sz in enumerate(sizes):
        h = bytearray(hdr)
        mf = 0x2000 if i < len(sizes) - 1 else 0
        struct.pack_into("!H", h, 2, ihl + sz)
        struct.pack_into("!H", h, 6, mf | (off // 8))
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, _csum(bytes(h)))
        frags.append(bytes(h) + data[off:off + sz])
        off += sz
    return frags


def frag6(pkt, ident, n=None, chunk=None):
    """IPv6 fragments of PKT (a bare IPv6 header followed by the payload:
    everything after the fixed header is the fragmentable part)."""
    plen = struct.unpack("!H", pkt[4:6])[0]
    if len(pkt) != 40 + plen:
        raise ValueError("bad IPv6 packet")
    nh, data = pkt[6], pkt[40:]
    frags, off = [], 0
    sizes = _split_sizes(len(data), n, chunk)
    for i, sz in enumerate(sizes):
        h = bytearray(pkt[:40])
        struct.pack_into("!H", h, 4, 8 + sz)
        h[6] = 44
        m = 1 if i < len(sizes) - 1 else 0
        fh = struct.pack("!BBHI", nh, 0, off | m, ident)
        frags.append(bytes(h) + fh + data[off:off + sz])
        off += sz
    return frags


def fragment(pkt, ids, n=None, chunk=None):
    return frag4(pkt, n, chunk) if pkt[0] >> 4 == 4 else frag6(pkt, ids(), n, chunk)


def order(frags, how, rng):
    """Send order of one datagram's fragments: in order, reversed, shuffled,
    or shuffled with duplicates.  Duplicates are never of the fragment sent
    last and always come before it, so the datagram completes with the
    last frame and no stray duplicate opens a second reassembly."""
    f = list(frags)
    if how == "inorder":
        return f
    if how == "reversed":
        return f[::-1]
    rng.shuffle(f)
    if how == "shuffled":
        return f
    if how == "dups":
        last, body = f[-1], f[:-1]
        for d in rng.sample(body, k=max(1, len(body) // 2)) if body else []:
            body.insert(rng.randrange(len(body) + 1), d)
        return body + [last]
    raise ValueError(how)


# --------------------------------------------------------------- the builder

class Gen:
    """Builds cases for one run.  One Gen per receiver daemon: SPIs, IP ids
    and UDP ports are unique across all cases it builds, so a single daemon
    can hold every case's SAs at once."""

    def __init__(self, seed=1, spi_base=0x10000, port_base=20000, ids=None):
        self.seed = seed
        self.ids = ids or IdAlloc()
        self.next_spi = spi_base
        self.next_port = port_base
        self.natt_port = NATT_PORT   # the NAT-T port of the SAs made from now on

    # -- helpers
    def rng(self, name):
        h = hashlib.sha256(("%s/%s" % (self.seed, name)).encode()).digest()
        return random.Random(h)

    def sa(self, case_rng, mode, alg, family, encap=False, **kw):
        self.next_spi += 1
        if alg in ENC_AUTH:
            key = case_rng.randbytes(ENC_AUTH[alg][2])
            kw["akey"] = case_rng.randbytes(ENC_AUTH[alg][4])
        else:
            key = case_rng.randbytes(ALGS[alg][2] + SALT_LEN)
        kw.setdefault("encap_port", self.natt_port)
        return SA(self.next_spi, mode, alg, key, family, encap, **kw)

    def _new(self, name, family, alg, branch):
        self.next_port += 1
        return Case(name, family, alg, branch, self.next_port)

    def crng(self, c):
        # seeded by the case and its (unique) port: no two cases of a run
        # share keys or payload bytes
        return self.rng("%s/%d" % (c.id, c.dport))

    def payload(self, case, seq, size, rng):
        head = ("%s#%04d|" % (case.id, seq)).encode()
        return head + rng.randbytes(max(0, size - len(head)))

    def datagram(self, case, payload):
        """The inner datagram: sender -> receiver, UDP to the case's port,
        with a fresh IP id and a correct UDP checksum."""
        if case.family == 4:
            p = IP(src=A4, dst=B4, id=self.ids() & 0xFFFF, flags=0) / \
                UDP(sport=10000 + case.dport % 1000, dport=case.dport) / Raw(payload)
        else:
            p = IPv6(src=A6, dst=B6) / \
                UDP(sport=10000 + case.dport % 1000, dport=case.dport) / Raw(payload)
        return raw(p)

    def enc(self, sa_obj, sa, pkt_bytes):
        """Encrypt one L3 packet (bytes) with scapy; outer IPv4 headers get a
        fresh id; ESP-in-UDP over IPv6 gets a real UDP checksum (zero is not
        allowed there, RFC 6935 aside)."""
        cls = IP if pkt_bytes[0] >> 4 == 4 else IPv6
        if sa_obj.tunnel_header is not None and sa.family == 4:
            sa_obj.tunnel_header.id = self.ids() & 0xFFFF
        out = sa_obj.encrypt(cls(pkt_bytes))
        if sa.encap and sa.family == 6:
            out = IPv6(raw(out))
            del out[UDP].chksum
        elif sa.encap:
            # scapy 2.5 leaves the NAT-T UDP length at 8 for IPv4; the
            # kernel (and our classifier) then see no ESP in it
            # (patched in the bytes: re-parsing would take the rest of the
            # datagram for padding).  Checksum 0, as RFC 3948 says to send.
            b = bytearray(raw(out))
            ihl = (b[0] & 0xF) * 4
            struct.pack_into("!HH", b, ihl + 4, len(b) - ihl, 0)
            return bytes(b)
        return raw(out)

    def sizes(self, rng, count, lo, hi):
        return [rng.randint(lo, hi) for _ in range(count)]

    def _finish(self, case, count):
        case.datagrams = count
        for f in case.packets:
            if len(f) > MTU:
                raise ValueError("%s: %d-byte packet exceeds the MTU" % (case.id, len(f)))
        return case

    # -- the cases (count = datagrams per case)
    def plain(self, family, alg, count=20):
        c = self._new("plain", family, alg, "plain")
        rng = self.crng(c)
        for i, sz in enumerate(self.sizes(rng, count, 100, 1400)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            c.packets.append(self.datagram(c, pl))
        return self._finish(c, count)

    def plain_frag(self, family, alg, count=20):
        c = self._new("plain_frag", family, alg, "plain_frag")
        rng = self.crng(c)
        for i, sz in enumerate(self.sizes(rng, count, 1600, 3000)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            c.packets += fragment(self.datagram(c, pl), self.ids, chunk=1400)
        return self._finish(c, count)

    def esp(self, family, alg, mode, encap=False, count=20, name=None):
        c = self._new(name or "esp_%s%s" % (mode, "_udp" if encap else ""),
                      family, alg, "esp")
        rng = self.crng(c)
        sa = self.sa(rng, mode, alg, family, encap)
        s = sa.scapy()
        c.sas = c.sender_sas = [sa]
        for i, sz in enumerate(self.sizes(rng, count, 100, 1300)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            c.packets.append(self.enc(s, sa, self.datagram(c, pl)))
        return self._finish(c, count)

    def frag_before(self, family, alg, count=20):
        """Inner datagram fragmented, each fragment encrypted (tunnel mode)."""
        c = self._new("frag_before", family, alg, "frag_before")
        rng = self.crng(c)
        sa = self.sa(rng, "tunnel", alg, family)
        s = sa.scapy()
        c.sas = c.sender_sas = [sa]
        for i, sz in enumerate(self.sizes(rng, count, 1500, 3000)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            for f in fragment(self.datagram(c, pl), self.ids, chunk=1200):
                c.packets.append(self.enc(s, sa, f))
        return self._finish(c, count)

    def frag_after(self, family, alg, nfrags, how, mode="tunnel", encap=False,
                   count=20, name=None):
        """The ESP packet split into exactly NFRAGS fragments, sent in HOW
        order."""
        c = self._new(name or "frag_after_%s%s_%d_%s" % (
            mode, "_udp" if encap else "", nfrags, how), family, alg, "frag_after")
        c.reassembled_ciphertext = True
        rng = self.crng(c)
        sa = self.sa(rng, mode, alg, family, encap)
        s = sa.scapy()
        c.sas = c.sender_sas = [sa]
        lo, hi = {2: (100, 2600), 3: (100, 3000)}.get(nfrags, (400, 3000))
        for i, sz in enumerate(self.sizes(rng, count, lo, hi)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            e = self.enc(s, sa, self.datagram(c, pl))
            c.packets += order(fragment(e, self.ids, n=nfrags), how, rng)
        return self._finish(c, count)

    def nested(self, family, alg, outer, where, nfrags=3, count=16):
        """Two SAs.  OUTER = "tunnel" (gateway tunnel over host transport) or
        "transport" (host transport over gateway tunnel).  WHERE = "none"
        (whole), "before" (before both), "between", "after" (after both)."""
        valid = {("tunnel", "none"), ("tunnel", "between"), ("tunnel", "after"),
                 ("transport", "none"), ("transport", "before"),
                 ("transport", "after")}
        if (outer, where) not in valid:
            raise ValueError("nested %s/%s does not exist on the wire (RFC 4303 3.1)"
                             % (outer, where))
        branch = {"none": "esp", "before": "frag_before", "between": "frag_between",
                  "after": "frag_after"}[where]
        c = self._new("nested_%s_out_%s" % (outer, where), family, alg, branch)
        c.reassembled_ciphertext = where in ("between", "after")
        rng = self.crng(c)
        inner_mode = "transport" if outer == "tunnel" else "tunnel"
        sa_in = self.sa(rng, inner_mode, alg, family)
        sa_out = self.sa(rng, outer, alg, family)
        s_in, s_out = sa_in.scapy(), sa_out.scapy()
        c.sas = c.sender_sas = [sa_in, sa_out]
        lo, hi = (100, 1250) if where == "none" else (1500, 3000)
        for i, sz in enumerate(self.sizes(rng, count, lo, hi)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            d = self.datagram(c, pl)
            if where == "none":
                c.packets.append(self.enc(s_out, sa_out, self.enc(s_in, sa_in, d)))
            elif where == "before":
                for f in fragment(d, self.ids, chunk=1200):
                    c.packets.append(self.enc(s_out, sa_out, self.enc(s_in, sa_in, f)))
            elif where == "between":
                for f in fragment(self.enc(s_in, sa_in, d), self.ids, n=nfrags):
                    c.packets.append(self.enc(s_out, sa_out, f))
            else:
                e = self.enc(s_out, sa_out, self.enc(s_in, sa_in, d))
                c.packets += order(fragment(e, self.ids, n=nfrags), "shuffled", rng)
        return self._finish(c, count)

    # -- large datagrams (the feedback pair runs with a 64 KiB MTU)
    LARGE_KINDS = ("frag_after", "frag_before", "plain_frag")

    @staticmethod
    def large_max(kind, family, encap=False):
        """Largest inner datagram (IP total length) of KIND: a whole IPv4
        datagram is at most 65535 bytes, an IPv6 one 40 + 65535; fragmented
        after encryption, the tunnel-mode ESP packet around it must fit those
        bounds (outer header, UDP 8 with ENCAP, ESP 8, IV 8, padding to 4,
        trailer 2, ICV 16)."""
        if kind != "frag_after":
            return 65535 if family == 4 else 40 + 65535
        room = 65535 - (20 if family == 4 else 0) - (8 if encap else 0)
        return (room - 8 - 8 - 16) // 4 * 4 - 2   # v4 65478, v6 65498; 8 less with ENCAP

    def large(self, family, alg, kind, sizes=(4000, 9000, 30000, "max"),
              chunk=1400, encap=False):
        """Datagrams of the given inner sizes (IP total length; "max" = the
        largest that exists for KIND): fragmented after encryption (tunnel
        mode, shuffled; ESP in UDP with ENCAP), before encryption, or plain
        fragments."""
        if kind not in self.LARGE_KINDS or (encap and kind != "frag_after"):
            raise ValueError(kind)
        c = self._new("large_" + kind + ("_udp" if encap else ""), family, alg, kind)
        c.reassembled_ciphertext = kind == "frag_after"
        rng = self.crng(c)
        s = sa = None
        if kind != "plain_frag":
            sa = self.sa(rng, "tunnel", alg, family, encap)
            s = sa.scapy()
            c.sas = c.sender_sas = [sa]
        hdr = 28 if family == 4 else 48
        for i, sz in enumerate(sizes):
            if sz == "max":
                sz = self.large_max(kind, family, encap)
            pl = self.payload(c, i, sz - hdr, rng)
            c.payloads.append(pl)
            d = self.datagram(c, pl)
            assert len(d) == sz, (len(d), sz)
            if kind == "plain_frag":
                c.packets += fragment(d, self.ids, chunk=chunk)
            elif kind == "frag_before":
                for f in fragment(d, self.ids, chunk=chunk - 200):
                    c.packets.append(self.enc(s, sa, f))
            else:
                e = self.enc(s, sa, d)
                lim = 65535 if family == 4 else 40 + 65535
                if len(e) > lim:
                    raise ValueError("%s: ESP packet of %d bytes" % (c.id, len(e)))
                c.packets += order(fragment(e, self.ids, chunk=chunk), "shuffled", rng)
        return self._finish(c, len(sizes))

    # -- negative cases
    def wrong_key(self, family, alg, count=10):
        """Sender and receiver disagree on the key: nothing may be delivered,
        every packet is an authentication failure.  Half whole, half
        fragmented after encryption (the failure must be seen after the
        feedback path too)."""
        c = self.esp(family, alg, "tunnel", count=count // 2, name="wrong_key")
        c2 = self.frag_after(family, alg, 3, "inorder", count=count - count // 2,
                             name="wrong_key_frag")
        c.branch, c.negative = "", "wrong_key"
        c.reassembled_ciphertext = True     # its second half is fragmented
        c.packets += c2.packets
        c.datagrams += c2.datagrams
        rng = self.rng("%s/%d/bad" % (c.id, c.dport))
        bad = []
        for sa in c.sas + c2.sas:
            # a bit of the key that authenticates: the HMAC key of an
            # enc+auth SA (NULL encryption has no other), else the AEAD key
            k = bytearray(sa.akey if sa.alg in ENC_AUTH else sa.key)
            k[rng.randrange(len(k) - (0 if sa.alg in ENC_AUTH else SALT_LEN))] ^= 1 << rng.randrange(8)
            if sa.alg in ENC_AUTH:
                bad.append(SA(sa.spi, sa.mode, sa.alg, sa.key, sa.family, sa.encap,
                              sa.replay_window, encap_port=sa.encap_port, akey=bytes(k)))
            else:
                bad.append(SA(sa.spi, sa.mode, sa.alg, bytes(k), sa.family, sa.encap,
                              sa.replay_window, encap_port=sa.encap_port))
        c.sender_sas = c.sas + c2.sas
        c.sas = bad
        c.payloads = []
        return c

    def replay(self, family, alg, count=12, window=32, late=70):
        """Every datagram delivered once though some are sent twice: REPLAYED
        whole ESP packets again at once (inside the window: caught by the
        ESP engine) and, after LATE more datagrams have moved the window
        right, the first one again (left of the window: may be dropped
        early in XDP)."""
        c = self._new("replay", family, alg, "esp")
        c.negative = "replay"
        rng = self.crng(c)
        sa = self.sa(rng, "tunnel", alg, family, replay_window=window)
        s = sa.scapy()
        c.sas = c.sender_sas = [sa]
        total = count + late
        pk = []
        for i, sz in enumerate(self.sizes(rng, total, 100, 600)):
            pl = self.payload(c, i, sz, rng)
            c.payloads.append(pl)
            pk.append(self.enc(s, sa, self.datagram(c, pl)))
        for i in range(count):
            c.packets.append(pk[i])
            if i % 2 == 0:
                c.packets.append(pk[i])          # immediate replay
                c.replayed += 1
        c.packets += pk[count:]
        c.packets.append(pk[0])                  # far left of the window
        c.replayed += 1
        return self._finish(c, total)

    def unknown_spi(self, family, alg, count=10):
        """The receiver knows no SA for these packets: dropped in XDP."""
        c = self.esp(family, alg, "tunnel", count=count, name="unknown_spi")
        c.branch, c.negative = "", "unknown_spi"
        c.sas, c.payloads = [], []
        return c

    def incomplete(self, family, alg, count=6):
        """ESP fragmented after encryption with the last fragment never sent:
        nothing delivered, each datagram ends in a reassembly timeout."""
        c = self.frag_after(family, alg, 3, "inorder", count=count, name="incomplete")
        c.branch, c.negative = "", "incomplete"
        c.reassembled_ciphertext = False
        c.packets = [p for k, p in enumerate(c.packets) if k % 3 != 2]
        c.payloads = []
        return c


def positive_cases(gen, family, alg, count=None):
    """Every positive case for one (family, algorithm)."""
    kw = {} if count is None else {"count": count}
    cs = [gen.plain(family, alg, **kw), gen.plain_frag(family, alg, **kw),
          gen.esp(family, alg, "transport", **kw), gen.esp(family, alg, "tunnel", **kw),
          gen.esp(family, alg, "transport", encap=True, **kw),
          gen.frag_before(family, alg, **kw)]
    for n in (2, 3, 40):
        for how in ("inorder", "reversed", "shuffled", "dups"):
            k = dict(kw)
            if n == 40:   # 40 frames per datagram: fewer datagrams suffice
                k["count"] = max(1, k.get("count", 20) // 2)
            cs.append(gen.frag_after(family, alg, n, how, **k))
    cs.append(gen.frag_after(family, alg, 3, "shuffled", mode="transport", **kw))
    cs.append(gen.frag_after(family, alg, 3, "shuffled", mode="tunnel", encap=True, **kw))
    for outer, where in (("tunnel", "none"), ("tunnel", "between"), ("tunnel", "after"),
                         ("transport", "none"), ("transport", "before"),
                         ("transport", "after")):
        cs.append(gen.nested(family, alg, outer, where, **kw))
    return cs


def negative_cases(gen, family, alg):
    return [gen.wrong_key(family, alg), gen.replay(family, alg),
            gen.unknown_spi(family, alg), gen.incomplete(family, alg)]

