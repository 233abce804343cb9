#!/usr/bin/python3
"""gen_fixtures.py - packet fixtures for tests/bpf/test_classify.c.

Prints one fixture per line: `NAME HEX` (a whole Ethernet frame).  The ESP
packets come from scapy's own ESP implementation
(scapy.layers.ipsec.SecurityAssociation); malformed packets are built with
scapy and then cut or patched byte by byte, each mutation commented.

The SPIs, sequence numbers and addresses are part of the contract with the
C table (it checks them in the metadata of redirected frames):
  esp4*: SPI 0x1001 seq 7, dst 198.18.0.2    esp6*: SPI 0x6001 seq 9
  esp4_unknown: SPI 0x9999   esp4_replay: SPI 0x1002   esp4_esn: SPI 0x1003
  espudp4: SPI 0x2001 seq 11 (UDP 4500)     espudp6: SPI 0x2006 seq 12
  espudp4_4501: SPI 0x2002 seq 13 (UDP 4501)
"""
import os
import re
import struct
import sys

from scapy.all import (ARP, Dot1AD, Dot1Q, Ether, IP, IPOption_NOP, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, TCP, UDP,
                       fragment, raw)
from scapy.layers.ipsec import ESP, SecurityAssociation

A4, B4 = "198.18.0.1", "198.18.0.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
ETH = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
KEY = bytes(range(1, 21))       # AES-128 key + 4-byte GCM salt

out = []


def emit(name, pkt):
    b = raw(pkt) if not isinstance(pkt, bytes) else pkt
    out.append("%s %s" % (name, b.hex()))


def sa4(spi, **kw):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM",
                               crypt_key=KEY, auth_algo="NULL",
                               tunnel_header=None, **kw)


def fix_udp_len4(p):
    """scapy 2.5's SecurityAssociation.encrypt leaves the NAT-T UDP length
    of IPv4 packets at 8 (IPv6 is right): the kernel would trim such a
    datagram to an empty payload.  Patch the length field only."""
    b = bytearray(raw(p))
    ihl = (b[0] & 0xF) * 4
    b[ihl + 4:ihl + 6] = struct.pack("!H", len(b) - ihl)
    return IP(bytes(b))


def esp4(spi, seq, size=64, nat_t=None):
    sa = sa4(spi, nat_t_header=nat_t)
    p = sa.encrypt(IP(src=A4, dst=B4, id=0x1234) /
                   UDP(sport=1000, dport=2000) / Raw(b"x" * size),
                   seq_num=seq)
    return fix_udp_len4(p) if nat_t is not None else p


def esp6(spi, seq, size=64, nat_t=None):
    sa = sa4(spi, nat_t_header=nat_t)
    return sa.encrypt(IPv6(src=A6, dst=B6) / UDP(sport=1000, dport=2000) /
                      Raw(b"y" * size), seq_num=seq)


def esp6_bytes(spi, seq, size=64):
    """Raw ESP header + payload (no IPv6 header) for hand-built chains."""
    return raw(esp6(spi, seq, size)[ESP])


def eth4(p):
    return Ether(type=0x0800, **ETH) / p


def eth6(p):
    return Ether(type=0x86DD, **ETH) / p


# ---------------------------------------------------------------- plain
emit("plain_udp4", eth4(IP(src=A4, dst=B4) / UDP(sport=1, dport=53) / Raw(b"q" * 20)))
emit("plain_tcp6", eth6(IPv6(src=A6, dst=B6) / TCP(sport=1, dport=80)))
emit("arp", Ether(**ETH) / ARP(psrc=A4, pdst=B4))
# EtherType 0 (an 802.3 length field): not IP, not malformed
emit("ethertype0", Ether(type=0, **ETH) / Raw(b"l" * 46))
emit("plain_udp4_vlan", Ether(**ETH) / Dot1Q(vlan=10) /
     IP(src=A4, dst=B4) / UDP(dport=53) / Raw(b"v" * 10))
emit("plain_udp4_qinq", Ether(**ETH) / Dot1AD(vlan=100) / Dot1Q(vlan=10) /
     IP(src=A4, dst=B4) / UDP(dport=53) / Raw(b"v" * 10))
emit("vlan3", Ether(**ETH) / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) /
     IP(src=A4, dst=B4) / UDP(dport=53))
# a VLAN tag cut after 2 of its 4 bytes
emit("trunc_vlan", raw(Ether(**ETH) / Dot1Q(vlan=10) / IP(src=A4, dst=B4))[:16])
emit("ipv4_opts_udp", eth4(IP(src=A4, dst=B4, options=[IPOption_NOP()] * 8) /
                           UDP(dport=53)))

big4 = IP(src=A4, dst=B4, id=77) / UDP(sport=1, dport=53) / Raw(b"f" * 3000)
f4 = fragment(big4, fragsize=1200)
emit("plain_frag4_first", eth4(f4[0]))
emit("plain_frag4_last", eth4(f4[-1]))
big6 = (IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=5, offset=0, m=1, nh=17) /
        raw(UDP(sport=1, dport=53) / Raw(b"g" * 1200))[:1000])
emit("plain_frag6_first", eth6(big6))
emit("plain_frag6_mid", eth6(IPv6(src=A6, dst=B6) /
                             IPv6ExtHdrFragment(id=5, offset=125, m=1, nh=17) /
                             Raw(b"g" * 1000)))
# RFC 6946 atomic fragment: fragment header with offset 0, M=0
emit("atomic6_udp", eth6(IPv6(src=A6, dst=B6) /
                         IPv6ExtHdrFragment(id=6, offset=0, m=0, nh=17) /
                         UDP(sport=1, dport=53) / Raw(b"a" * 8)))

# ---------------------------------------------------------------- ESP
emit("esp4", eth4(esp4(0x1001, 7)))
emit("esp4_unknown", eth4(esp4(0x9999, 7)))
emit("esp4_replay", eth4(esp4(0x1002, 7)))
emit("esp4_esn", eth4(esp4(0x1003, 7)))
emit("esp6", eth6(esp6(0x6001, 9)))
emit("esp4_vlan", Ether(**ETH) / Dot1Q(vlan=10) / esp4(0x1001, 7))
emit("esp6_qinq", Ether(**ETH) / Dot1AD(vlan=100) / Dot1Q(vlan=10) / esp6(0x6001, 9))
e = esp4(0x1001, 7)
emit("esp4_opts", eth4(IP(src=A4, dst=B4, proto=50,
                          options=[IPOption_NOP()] * 12) / raw(e[ESP])))

# ESP fragmented after encryption (IPv4): first, middle, last
ef4 = fragment(esp4(0x1001, 7, size=3000), fragsize=1200)
assert len(ef4) == 3
emit("esp4_frag_first", eth4(ef4[0]))
emit("esp4_frag_mid", eth4(ef4[1]))
emit("esp4_frag_last", eth4(ef4[2]))

# IPv6: fragment header, then the ESP packet cut in three
esp6_big = esp6_bytes(0x6001, 9, size=3000)
n = 1200
for name, lo, m in (("first", 0, 1), ("mid", n, 1), ("last", 2 * n, 0)):
    emit("esp6_frag_" + name, eth6(IPv6(src=A6, dst=B6) /
                                   IPv6ExtHdrFragment(id=9, offset=lo // 8, m=m, nh=50) /
                                   Raw(esp6_big[lo:lo + n] if m else esp6_big[lo:])))

# long extension chains: bound-1 and bound headers before ESP, then bound+1
# (the bound is read from the parser header so the two cannot drift apart)
HDR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "headers", "xdpsec_parse.h")
EXT_MAX = int(re.search(r"#define XDPSEC_IPV6_EXT_MAX\s+(\d+)", open(HDR).read()).group(1))
kinds = [IPv6ExtHdrHopByHop] + [IPv6ExtHdrDestOpt, IPv6ExtHdrRouting] * 8


def chain(k, payload, last_nh=50):
    p = IPv6(src=A6, dst=B6)
    for i in range(k):
        # nh only on the last: scapy chains the others itself, and an
        # explicit nh=None would leave them 0 (hop-by-hop, then not first)
        p = p / (kinds[i](nh=last_nh) if i == k - 1 else kinds[i]())
    return eth6(p / Raw(payload))


esp6_small = esp6_bytes(0x6001, 9)
emit("esp6_ext_below", chain(EXT_MAX - 1, esp6_small))
emit("esp6_ext_max", chain(EXT_MAX, esp6_small))
emit("esp6_ext_over", chain(EXT_MAX + 1, esp6_small))
# fragment header inside the chain: HBH, DestOpt, Frag(first), DestOpt, ESP
emit("esp6_frag_in_chain", eth6(IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() /
                                IPv6ExtHdrDestOpt() /
                                IPv6ExtHdrFragment(id=10, offset=0, m=1, nh=60) /
                                IPv6ExtHdrDestOpt(nh=50) / Raw(esp6_small)))
emit("atomic6_esp", eth6(IPv6(src=A6, dst=B6) /
                         IPv6ExtHdrFragment(id=11, offset=0, m=0, nh=50) /
                         Raw(esp6_small)))

# ---------------------------------------------------------------- ESP-in-UDP
emit("espudp4", eth4(esp4(0x2001, 11, nat_t=UDP(sport=4500, dport=4500))))
emit("espudp6", eth6(esp6(0x2006, 12, nat_t=UDP(sport=4500, dport=4500))))
emit("espudp4_4501", eth4(esp4(0x2002, 13, nat_t=UDP(sport=4501, dport=4501))))
euf = fragment(esp4(0x2001, 11, size=3000, nat_t=UDP(sport=4500, dport=4500)),
               fragsize=1200)
emit("espudp4_frag_first", eth4(euf[0]))
emit("udp4_frag_last", eth4(euf[-1]))
emit("ike4", eth4(IP(src=A4, dst=B4) / UDP(sport=4500, dport=4500) /
                  Raw(b"\x00\x00\x00\x00" + b"I" * 28)))
ike_big = IP(src=A4, dst=B4, id=99) / UDP(sport=4500, dport=4500) / \
    Raw(b"\x00" * 4 + b"K" * 2000)
emit("ike4_frag_first", eth4(fragment(ike_big, fragsize=1200)[0]))
emit("keepalive4", eth4(IP(src=A4, dst=B4) / UDP(sport=4500, dport=4500) / Raw(b"\xff")))
emit("keepalive6", eth6(IPv6(src=A6, dst=B6) / UDP(sport=4500, dport=4500) / Raw(b"\xff")))

# ---------------------------------------------------------------- malformed
emit("trunc_eth", raw(eth4(IP(src=A4, dst=B4)))[:10])
emit("trunc_ipv4", raw(eth4(IP(src=A4, dst=B4) / UDP()))[:14 + 12])
emit("trunc_ipv6", raw(eth6(IPv6(src=A6, dst=B6) / UDP()))[:14 + 30])
# ESP whose IP total length leaves only the SPI (4 of the 8 header bytes)
e = IP(raw(esp4(0x1001, 7)))
emit("trunc_esp4", eth4(IP(src=A4, dst=B4, proto=50) / raw(e[ESP])[:4]))
emit("trunc_esp6", eth6(IPv6(src=A6, dst=B6, nh=50) / esp6_small[:6]))
emit("zero_spi4", eth4(IP(src=A4, dst=B4, proto=50) /
                       Raw(b"\x00" * 4 + struct.pack("!I", 1) + b"z" * 32)))


def patch(b, off, val):
    b = bytearray(b)
    b[off:off + len(val)] = val
    return bytes(b)


good4 = raw(eth4(IP(src=A4, dst=B4) / UDP(dport=53) / Raw(b"m" * 40)))
emit("ihl4", patch(good4, 14, b"\x44"))                   # version 4, IHL 4
emit("ihl15_trunc", patch(good4, 14, b"\x4f")[:14 + 40])  # options run past frame
emit("bad_version4", patch(good4, 14, b"\x65"))           # version 6 under 0x0800
emit("totlen_gt_frame", patch(good4, 14 + 2, struct.pack("!H", 200)))
good6 = raw(eth6(IPv6(src=A6, dst=B6) / UDP(dport=53) / Raw(b"m" * 40)))
emit("plen_gt_frame6", patch(good6, 14 + 4, struct.pack("!H", 300)))
# offset 8189*8 = 65512 plus 100 payload bytes: past 65535
emit("frag4_too_big", eth4(IP(src=A4, dst=B4, proto=17, flags=0, frag=8189) /
                           Raw(b"b" * 100)))
emit("frag6_too_big", eth6(IPv6(src=A6, dst=B6) /
                           IPv6ExtHdrFragment(id=1, offset=8180, m=0, nh=17) /
                           Raw(b"b" * 200)))
emit("frag4_zero_len", eth4(IP(src=A4, dst=B4, proto=17, flags="MF", frag=10)))
emit("frag6_zero_len", eth6(IPv6(src=A6, dst=B6) /
                            IPv6ExtHdrFragment(id=1, offset=10, m=1, nh=17)))
# zero-length fragments of IPsec datagrams go to the daemon, whose
# reassembly discards the whole datagram as Linux does (xdpsec_parse.h)
emit("esp4_frag_zero_len", eth4(IP(src=A4, dst=B4, proto=50, flags="MF", frag=10)))
emit("esp4_frag_zero_len_first", eth4(IP(src=A4, dst=B4, proto=50, flags="MF", frag=0)))
emit("esp6_frag_zero_len", eth6(IPv6(src=A6, dst=B6) /
                                IPv6ExtHdrFragment(id=1, offset=10, m=1, nh=50)))
# RFC 8200 4.1: hop-by-hop only right after the IPv6 header
emit("hbh_not_first6", eth6(IPv6(src=A6, dst=B6) / IPv6ExtHdrDestOpt() /
                            IPv6ExtHdrHopByHop(nh=50) / Raw(esp6_small)))
emit("hbh_after_frag6", eth6(IPv6(src=A6, dst=B6) /
                             IPv6ExtHdrFragment(id=12, offset=0, m=1) /
                             IPv6ExtHdrHopByHop(nh=50) / Raw(esp6_small)))
emit("hbh_twice6", eth6(IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() /
                        IPv6ExtHdrHopByHop(nh=50) / Raw(esp6_small)))
# routing header whose length says 64 bytes in a 48-byte payload
emit("trunc_exthdr6", patch(raw(eth6(IPv6(src=A6, dst=B6) /
                                     IPv6ExtHdrRouting(nh=50) / Raw(esp6_small[:40]))),
                            14 + 40 + 1, b"\x07"))
# UDP to 4500 whose IP length covers only 6 bytes of the UDP header
emit("trunc_udp4", eth4(IP(src=A4, dst=B4, proto=17) / Raw(b"\x11\x94\x11\x94\x00\x08")))

print("\n".join(out))
sys.exit(0)
