#!/usr/bin/python3
"""esp_gen_vectors.py - ESP test vectors from an independent implementation,
scapy's scapy.layers.ipsec.SecurityAssociation (crypto from python3-cryptography),
generated fresh on every run of test_esp (random keys, IVs, payloads).
What scapy 2.5 lacks (GMAC, HMAC truncations other than its one per hash)
comes from tests/e2e/scapy_esp_ext.py, added to scapy's own tables.

One vector per line, space-separated key=value fields (hex for bytes, - for none):
  V name=.. fam=4|6 mode=transport|tunnel alg=gcm|chacha|gmac|cbc|null
    auth=none|sha1|sha256|sha384|sha512
    key=.. akey=.. icv=<bits> esn=0|1 encap=0|1 sport=.. dport=.. spi=.. dst=<hex addr>
    win=.. top=<replay top to install> seq=<64-bit> in=<ESP packet> out=<expected plaintext IP packet>
The C side installs the SA, sets the window's right edge to `top`, runs
esp_input on `in` and expects exactly `out`.  Usage: esp_gen_vectors.py [seed]
"""
import os
import socket
import random
import sys

from scapy.all import IP, IPv6, UDP, ICMP, TCP, Raw, raw, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt
from scapy.layers.ipsec import ESP, SecurityAssociation

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import scapy_esp_ext  # noqa: E402

GCM_KEYS = (16, 24, 32)
GCM_ICVS = (8, 12, 16)
CBC_AUTHS = (("sha1", "HMAC-SHA1-96", 20, 96), ("sha256", "SHA2-256-128", 32, 128),
             ("sha384", "SHA2-384-192", 48, 192), ("sha512", "SHA2-512-256", 64, 256))
# (hash, key bytes, truncation bits) as ip xfrm takes them: sha256's kernel
# default 96, whole digests, keys shorter than the digest and longer than
# the hash's block (hashed first, RFC 2104 3), an ICV of 3 bytes
NULL_AUTHS = (("sha1", 20, 96), ("sha256", 32, 96), ("sha256", 5, 128), ("sha384", 150, 192),
              ("sha512", 64, 512), ("sha1", 100, 160), ("sha256", 200, 24))
CBC_MORE_AUTHS = (("sha256", 32, 96), ("sha1", 80, 160), ("sha512", 200, 384))
OUTER4 = ("198.18.0.1", "198.18.0.2")
OUTER6 = ("2001:db8::1", "2001:db8::2")


def transforms():
    for kl in GCM_KEYS:
        for icv in GCM_ICVS:
            yield dict(alg="gcm", scapy="AES-GCM", kl=kl + 4, icv=icv * 8, auth="none",
                       sauth=None, akl=0, icvb=icv)
    yield dict(alg="chacha", scapy="CHACHA20-POLY1305", kl=36, icv=128, auth="none",
               sauth=None, akl=0, icvb=16)
    for kl in GCM_KEYS:
        for name, sname, akl, bits in CBC_AUTHS:
            yield dict(alg="cbc", scapy="AES-CBC", kl=kl, icv=bits, auth=name, sauth=sname,
                       akl=akl, icvb=None)
    for kl in GCM_KEYS:
        yield dict(alg="gmac", scapy=scapy_esp_ext.GMAC, kl=kl + 4, icv=128, auth="none",
                   sauth=None, akl=0, icvb=None)
    for name, akl, bits in NULL_AUTHS:
        yield dict(alg="null", scapy="NULL", kl=0, icv=bits, auth=name,
                   sauth=scapy_esp_ext.hmac_algo(name, bits), akl=akl, icvb=None)
    for (name, akl, bits), kl in zip(CBC_MORE_AUTHS, GCM_KEYS):
        yield dict(alg="cbc", scapy="AES-CBC", kl=kl, icv=bits, auth=name,
                   sauth=scapy_esp_ext.hmac_algo(name, bits), akl=akl, icvb=None)


def inner_packet(rng, fam, inner_fam):
    """The plaintext: an IP packet with a random UDP/TCP/ICMP payload."""
    size = rng.choice((0, 1, 3, 17, 64, 200, 1000))
    data = bytes(rng.getrandbits(8) for _ in range(size))
    ident = rng.randrange(1, 65535)
    if inner_fam == 4:
        l3 = IP(src="198.18.1.1", dst="198.18.2.2", id=ident, ttl=rng.randrange(1, 255))
    else:
        l3 = IPv6(src="2001:db8:1::1", dst="2001:db8:2::2", hlim=rng.randrange(1, 255))
        if rng.random() < 0.3:
            l3 = l3 / IPv6ExtHdrDestOpt()
    # ports scapy binds no dissector to: random bytes re-dissected as DNS
    # (port 53) can nest until Python's recursion limit (seed 1296864525)
    l4 = rng.choice((UDP(sport=rng.randrange(1024, 65535), dport=5353 + 1),
                     TCP(sport=rng.randrange(1024, 65535), dport=8081, flags="PA"),
                     ICMP() if inner_fam == 4 else UDP(sport=7, dport=7)))
    return l3 / l4 / Raw(data)


def transport_packet(rng, fam):
    size = rng.choice((0, 1, 5, 40, 300, 1200))
    data = bytes(rng.getrandbits(8) for _ in range(size))
    if fam == 4:
        l3 = IP(src=OUTER4[0], dst=OUTER4[1], id=rng.randrange(1, 65535))
    else:
        l3 = IPv6(src=OUTER6[0], dst=OUTER6[1])
        if rng.random() < 0.4:
            l3 = l3 / IPv6ExtHdrHopByHop()
    return l3 / UDP(sport=rng.randrange(1024, 65535), dport=9) / Raw(data)


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    print("# seed", seed)
    n = 0
    for tf in transforms():
        for fam in (4, 6):
            for mode in ("transport", "tunnel"):
                for esn in (0, 1):
                    for encap in (0, 1):
                        n += 1
                        key = bytes(rng.getrandbits(8) for _ in range(tf["kl"]))
                        akey = bytes(rng.getrandbits(8) for _ in range(tf["akl"]))
                        spi = rng.randrange(0x100, 0xffffffff)
                        seq_lo = rng.randrange(1, 0x7fffffff)
                        seq_hi = rng.choice((0, 1, 0xabcd)) if esn else 0
                        sport, dport = (rng.randrange(1024, 65535), 4500) if encap else (0, 0)
                        src, dst = OUTER4 if fam == 4 else OUTER6
                        kw = dict(crypt_algo=tf["scapy"], crypt_key=key or None)
                        if tf["icvb"]:
                            kw["crypt_icv_size"] = tf["icvb"]
                        if tf["sauth"]:
                            kw["auth_algo"] = tf["sauth"]
                            kw["auth_key"] = akey
                        if mode == "tunnel":
                            kw["tunnel_header"] = IP(src=src, dst=dst) if fam == 4 else IPv6(src=src, dst=dst)
                            plain = inner_packet(rng, fam, rng.choice((4, 6)))
                        else:
                            plain = transport_packet(rng, fam)
                        if encap:
                            kw["nat_t_header"] = UDP(sport=sport, dport=dport)
                        if esn:
                            kw["esn_en"] = True
                            kw["esn"] = seq_hi
                        sa = SecurityAssociation(ESP, spi=spi, **kw)
                        # freeze the plaintext (lengths, checksums) before encrypting:
                        # encrypt() works on a copy, but be explicit
                        plain = plain.__class__(raw(plain))
                        expect = raw(plain)
                        enc = sa.encrypt(plain.copy(), seq_num=seq_lo)
                        esp = enc[ESP]
                        if tf["alg"] == "gcm" and tf["icvb"] < 16:
                            # scapy 2.5's AESGCM path ignores crypt_icv_size and
                            # always appends 16 tag bytes; a truncated GCM tag is
                            # the leading bytes of the full one (SP 800-38D 5.2.1.2)
                            esp.data = esp.data[:len(esp.data) - (16 - tf["icvb"])]
                        if tf["sauth"] and esn:
                            # scapy 2.5 signs ESP without the ESN high half
                            # (RFC 4303 2.2.1); redo the ICV with scapy's own MAC
                            icvl = tf["icv"] // 8
                            esp.data = esp.data[:len(esp.data) - icvl]
                            mac = sa.auth_algo.new_mac(akey)
                            mac.update(raw(esp) + seq_hi.to_bytes(4, "big"))
                            esp.data += mac.finalize()[:icvl]
                        if encap and fam == 6 and enc.haslayer(IPv6ExtHdrHopByHop):
                            # scapy leaves the hop-by-hop header's next header at
                            # 50 when it inserts the NAT-T UDP header after it
                            enc[IPv6ExtHdrHopByHop].nh = 17
                        if fam == 4:
                            enc.len = None
                            enc.chksum = None
                        else:
                            enc.plen = None
                        if encap:
                            # scapy leaves the NAT-T UDP length at 8 (header only):
                            # let it recompute length and checksum as a real sender would
                            enc[UDP].len = None
                            enc[UDP].chksum = None
                        enc = enc.__class__(raw(enc))
                        seq = (seq_hi << 32) | seq_lo
                        addr = IP(dst=dst).dst if fam == 4 else dst
                        dbytes = socket.inet_pton(socket.AF_INET if fam == 4 else socket.AF_INET6, addr)
                        name = "%s%d-%s-%s%s%s" % (tf["alg"], (tf["kl"] - (0 if tf["sauth"] else 4)) * 8,
                                                   "%s-%d-k%d" % (tf["auth"], tf["icv"], tf["akl"])
                                                   if tf["sauth"] else "icv%d" % tf["icv"],
                                                   "v%d-%s" % (fam, mode), "-esn" if esn else "",
                                                   "-udp" if encap else "")
                        print("V name=%s fam=%d mode=%s alg=%s auth=%s key=%s akey=%s icv=%d esn=%d "
                              "encap=%d sport=%d dport=%d spi=%d dst=%s win=%d top=%d seq=%d in=%s out=%s"
                              % (name, fam, mode, tf["alg"], tf["auth"], key.hex() or "-", akey.hex() or "-",
                                 tf["icv"], esn, encap, sport, dport, spi, dbytes.hex(),
                                 rng.choice((32, 64, 128, 1024, 4096)), seq - 1, seq,
                                 raw(enc).hex(), expect.hex()))
    print("# vectors", n)


if __name__ == "__main__":
    main()
