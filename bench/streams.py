"""bench/streams - the pipeline benchmark's traffic, built once into files.

bench/pipeline.py needs tens of thousands of distinct datagrams per stream
(ESP packets cannot be replayed: the anti-replay window would drop them),
and scapy encrypts about 300 packets a second here.  So the bulk is built
with the `cryptography` library's AEADs directly (RFC 4106 AES-GCM and RFC
7634 ChaCha20-Poly1305, tunnel and transport mode, 8-byte IV = sequence
number), and the first packets of every ESP stream are decrypted with
scapy's own IPsec code (tests/e2e/espgen.py's SAs), an implementation
independent of this one and of xdpsec: a stream that scapy does not
decrypt to the exact datagram is refused.  Fragmenting reuses espgen's
frag4/frag6.

Every stream is the same 1300-byte UDP payloads (distinct bytes per
datagram) in a different envelope:

  plain         whole plain datagram                    (kernel, baseline)
  plain_frag2/3 plain datagram in 2 / 3 IP fragments    (kernel reassembles)
  esp           whole ESP, tunnel mode                  twin: plain
  frag_after2/3 the ESP packet in 2 / 3 fragments       twin: plain_frag2/3
  frag_before   datagram in 2 fragments, each encrypted twin: plain_frag2
  nested        tunnel ESP around transport ESP, whole  twin: plain
  mixed         one SA (replay window 32), a quarter of the datagrams
                fragmented after encryption (2 fragments), the rest whole,
                in random order (bench/reorder.py)
  esp_peersP    whole ESP from P peer pairs (outer sources chosen so that
                the classify program's steering hash spreads them evenly
                over 2 CPUs), interleaved round robin

Written per stream: frames.bin (Ethernet frames, placeholder MACs: the
sender rewrites them), payloads.bin (the expected UDP payloads, for the
sink), meta.json (SA lines for xdpsecctl, port, frames per datagram).
"""
import json
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))

from framefile import write_frames  # noqa: E402

A4, B4 = "198.18.0.1", "198.18.0.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
TWIN = {"mixed": "plain", "esp": "plain", "nested": "plain", "frag_after2": "plain_frag2",
        "frag_after3": "plain_frag3", "frag_before": "plain_frag2"}
PLAIN = ("plain", "plain_frag2", "plain_frag3")
ESP_KINDS = ("esp", "frag_after2", "frag_after3", "frag_before", "nested")
ALGS = {"gcm": ("rfc4106(gcm(aes))", 16), "chacha": ("rfc7539esp(chacha20,poly1305)", 32)}
PORT_BASE = 48000


def _fold(x):
    """One's complement sum of a big-endian integer's 16-bit words:
    2**16 == 1 (mod 0xFFFF), so the sum is the integer mod 0xFFFF."""
    r = x % 0xFFFF
    return r if r or not x else 0xFFFF


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    return (~_fold(int.from_bytes(b, "big"))) & 0xFFFF


def _ip(a):
    import socket
    return socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)


def ipv4(src, dst, proto, payload, ident):
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF,
                              0, 64, proto, 0, _ip(src), _ip(dst)))
    struct.pack_into("!H", h, 10, _csum(bytes(h)))
    return bytes(h) + payload


def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, _ip(src), _ip(dst)) + payload


def udp_datagram(family, sport, dport, payload, ident):
    src, dst = (A4, B4) if family == 4 else (A6, B6)
    ln = 8 + len(payload)
    pseudo = _ip(src) + _ip(dst) + (struct.pack("!BBH", 0, 17, ln) if family == 4
                                    else struct.pack("!IxxxB", ln, 17))
    u = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    c = _csum(pseudo + u) or 0xFFFF
    u = u[:6] + struct.pack("!H", c) + u[8:]
    return ipv4(src, dst, 17, u, ident) if family == 4 else ipv6(src, dst, 17, u)


class FastSA:
    """One SA: encrypts like the sending peer (the receiver learns it from
    line()); also an espgen.SA for scapy's cross-check."""

    def __init__(self, spi, alg, family, mode, rng, src=None):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
        self.spi, self.alg, self.family, self.mode = spi, alg, family, mode
        self.key = rng.randbytes(ALGS[alg][1] + 4)
        self.src = src or (A4 if family == 4 else A6)
        self.dst = B4 if family == 4 else B6
        self.aead = (AESGCM if alg == "gcm" else ChaCha20Poly1305)(self.key[:-4])
        self.seq = 0
        self.window = 64

    def line(self):
        return ("sa add src %s dst %s proto esp spi 0x%08x reqid 1 mode %s aead '%s' 0x%s 128 "
                "replay-window %d" % (self.src, self.dst, self.spi, self.mode,
                                      ALGS[self.alg][0], self.key.hex(), self.window))

    def scapy_sa(self):
        import espgen
        sa = espgen.SA(self.spi, self.mode, self.alg, self.key, self.family)
        s = sa.scapy()
        if s.tunnel_header is not None:
            s.tunnel_header.src = self.src
        return s

    def _esp(self, nh, body):
        self.seq += 1
        pad = (2 - len(body)) % 4          # (body + pad + 2) % 4 == 0
        pt = body + bytes(range(1, pad + 1)) + bytes((pad, nh))
        hdr = struct.pack("!II", self.spi, self.seq)
        iv = struct.pack("!Q", self.seq)
        return hdr + iv + self.aead.encrypt(self.key[-4:] + iv, pt, hdr)

    def encrypt(self, pkt, ident):
        """PKT: an IP packet (bytes); returns the ESP packet."""
        v = pkt[0] >> 4
        if self.mode == "tunnel":
            e = self._esp(4 if v == 4 else 41, pkt)
            return ipv4(self.src, self.dst, 50, e, ident) if self.family == 4 else \
                ipv6(self.src, self.dst, 50, e)
        if v == 4:                         # transport, no options expected
            ihl = (pkt[0] & 15) * 4
            e = self._esp(pkt[9], pkt[ihl:])
            h = bytearray(pkt[:ihl])
            struct.pack_into("!H", h, 2, ihl + len(e))
            h[9] = 50
            struct.pack_into("!H", h, 10, 0)
            struct.pack_into("!H", h, 10, _csum(bytes(h)))
            return bytes(h) + e
        e = self._esp(pkt[6], pkt[40:])
        h = bytearray(pkt[:40])
        struct.pack_into("!H", h, 4, len(e))
        h[6] = 50
        return bytes(h) + e


def steer_slot(src, dst, n):
    """bpf/classify.bpf.c steer_slot(): the CPUMAP slot of a peer pair
    (addresses as 16 bytes, IPv4 in the first 4, read as host-order u32)."""
    s, d = _ip(src).ljust(16, b"\0"), _ip(dst).ljust(16, b"\0")
    h = 0
    for i in range(0, 16, 4):
        h ^= struct.unpack("<I", s[i:i + 4])[0]
        h = ((h ^ struct.unpack("<I", d[i:i + 4])[0]) * 0x9E3779B1) & 0xFFFFFFFF
    h ^= h >> 16
    return h % n


def peer_sources(family, count, ncpu=2):
    """COUNT outer source addresses whose peer pairs spread evenly over
    NCPU steering slots (198.18.1.x / 2001:db8:1::x)."""
    per = [[] for _ in range(ncpu)]
    for x in range(1, 4096):
        a = "198.18.%d.%d" % (1 + x // 250, x % 250 + 1) if family == 4 else "2001:db8:1::%x" % x
        slot = steer_slot(a, B4 if family == 4 else B6, ncpu)
        if len(per[slot]) < (count + ncpu - 1) // ncpu:
            per[slot].append(a)
        if all(len(p) >= (count + ncpu - 1) // ncpu for p in per):
            break
    out = []
    for i in range(count):           # alternate slots: 0, 1, 0, 1, ...
        out.append(per[i % ncpu][i // ncpu])
    return out


class Builder:
    def __init__(self, family, alg, count, size, seed=11):
        self.family, self.alg, self.count, self.size = family, alg, count, size
        self.rng = random.Random("%d/%s/%d/%d/%d" % (seed, alg, family, count, size))
        self.ident = 0x2000
        self.spi = 0x00B00000 + (0 if alg == "gcm" else 0x1000) + (family << 8)

    def ids(self):
        self.ident += 1
        return self.ident

    def sa(self, mode="tunnel", src=None):
        self.spi += 1
        return FastSA(self.spi, self.alg, self.family, mode, self.rng, src)

    def frags(self, pkt, n):
        import espgen
        return espgen.fragment(pkt, self.ids, n=n)

    def build(self, kind, port):
        """(packets, payloads, sas, frames per datagram) of one stream."""
        import espgen
        peers = int(kind[9:]) if kind.startswith("esp_peers") else 0
        if peers:
            sas = [self.sa(src=s) for s in peer_sources(self.family, peers)]
        elif kind in ("esp", "frag_after2", "frag_after3", "frag_before"):
            sas = [self.sa()]
        elif kind == "mixed":
            sas = [self.sa()]
            sas[0].window = 32             # the default window
        elif kind == "nested":             # tunnel (gateway) outside transport (host)
            sas = [self.sa("transport"), self.sa("tunnel")]
        else:
            sas = []
        pkts, pls, ref = [], [], []
        for i in range(self.count):
            head = ("%s/%d#%d|" % (kind, self.family, i)).encode()
            pl = head + self.rng.randbytes(self.size - len(head))
            # IPv4 ids only where the packet is fragmented: one id per
            # datagram keeps a stream of up to 65535 datagrams free of
            # reuse (a lost fragment's datagram waits in a reassembly
            # table; a later datagram with its id would join it)
            frag_inner = kind.startswith("plain_frag") or kind == "frag_before"
            d = udp_datagram(self.family, 10000 + port % 1000, port, pl,
                             self.ids() if frag_inner else i)
            pls.append(pl)
            if kind == "plain":
                pkts.append(d)
            elif kind.startswith("plain_frag"):
                pkts += self.frags(d, int(kind[-1]))
            elif kind == "esp":
                pkts.append(sas[0].encrypt(d, i))
                ref = ref or [(pkts[-1], d)]
            elif peers:
                pkts.append(sas[i % peers].encrypt(d, i))
                ref = ref or [(pkts[-1], d)]
            elif kind == "mixed":
                e = sas[0].encrypt(d, self.ids())
                ref = ref or [(e, d)]
                pkts += self.frags(e, 2) if self.rng.random() < 0.25 else [e]
            elif kind.startswith("frag_after"):
                e = sas[0].encrypt(d, self.ids())
                ref = ref or [(e, d)]
                pkts += self.frags(e, int(kind[-1]))
            elif kind == "frag_before":
                fr = self.frags(d, 2)
                pkts += [sas[0].encrypt(f, i) for f in fr]
                ref = ref or list(zip(pkts[-2:], fr))
            elif kind == "nested":
                pkts.append(sas[1].encrypt(sas[0].encrypt(d, 0), i))
                ref = ref or [(pkts[-1], d)]
            else:
                raise ValueError(kind)
        if sas:
            self.check(kind, ref or [(pkts[0], None)], sas if not peers else sas[:1])
        for p in pkts:
            if len(p) > espgen.MTU:
                raise ValueError("%s: %d-byte packet exceeds the MTU" % (kind, len(p)))
        if kind == "mixed":                # 1.25 frames per datagram
            return pkts, pls, sas, len(pkts) / self.count
        return pkts, pls, sas, len(pkts) // self.count

    def check(self, kind, ref, sas):
        """scapy decrypts what we encrypted back to the exact inner packet
        (REF: [(ESP packet, inner packet)] of the first datagram)."""
        from scapy.layers.inet import IP
        from scapy.layers.inet6 import IPv6
        from scapy.packet import raw

        for esp, inner in ref:
            p = esp
            for s in reversed(sas):
                p = raw(s.scapy_sa().decrypt((IP if p[0] >> 4 == 4 else IPv6)(p)))
            if p != inner:
                raise RuntimeError("%s: scapy decrypts our packet to something else:\n%s\n%s"
                                   % (kind, p.hex(), inner.hex()))


def to_frames(pkts):
    dst, src = b"\x02\0\0\0\0\x02", b"\x02\0\0\0\0\x01"
    return [dst + src + (b"\x08\x00" if p[0] >> 4 == 4 else b"\x86\xdd") + p for p in pkts]


def stream_dir(cache, family, alg, count, size, kind):
    a = "-" if kind in PLAIN else alg
    return os.path.join(cache, "2-v%d-%s-%d-%d" % (family, a, count, size), kind)


def build_stream(cache, family, alg, count, size, kind, port):
    """The stream's directory, built unless already there."""
    d = stream_dir(cache, family, alg, count, size, kind)
    if os.path.exists(os.path.join(d, "meta.json")):
        return d
    os.makedirs(d, exist_ok=True)
    pkts, pls, sas, fpd = Builder(family, alg, count, size).build(kind, port)
    write_frames(os.path.join(d, "frames.bin"), to_frames(pkts))
    write_frames(os.path.join(d, "payloads.bin"), pls)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"kind": kind, "family": family, "alg": alg if sas else None,
                   "port": port, "count": count, "frames_per_datagram": fpd,
                   "sa_lines": [s.line() for s in sas]}, f)
    return d
