#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Reassembles fragment sets with scapy, an independent implementation, for
test_reasm's cross-check.

Input (file argv[1]): one fragment per line, "<set> <hex of the IP packet>",
in the order test_reasm fed them.  Output (stdout): "<set> <hex>" per set
scapy managed to reassemble.  IPv4 uses defragment() (it sorts by offset
itself); IPv6 uses defragment6(), whose reordering loop only works on
fragments sorted by offset, so they are sorted first.
"""
import sys
import logging

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, IPv6ExtHdrFragment, Raw, defragment, defragment6, raw  # noqa: E402


def ipv4_opaque(b):
    """IPv4 packet whose payload scapy keeps as raw bytes.  The datagrams
    carry random bytes after the IP header; dissected as UDP, the random
    UDP length of a first fragment makes scapy cut the rest off as padding
    and defragment() then drops it."""
    p = IP(b)
    end = min(len(b), p.len) if p.len else len(b)
    p.remove_payload()
    p.add_payload(Raw(b[p.ihl * 4:end]))
    return p


def main():
    sets = {}
    with open(sys.argv[1]) as f:
        for line in f:
            k, h = line.split()
            sets.setdefault(int(k), []).append(bytes.fromhex(h))
    for k in sorted(sets):
        pkts = sets[k]
        if pkts[0][0] >> 4 == 4:
            res = [p for p in defragment([ipv4_opaque(b) for b in pkts])
                   if p[IP].frag == 0 and not p[IP].flags.MF]
            if len(res) != 1:
                continue
            out = raw(res[0])
        else:
            frags = sorted((IPv6(b) for b in pkts), key=lambda p: p[IPv6ExtHdrFragment].offset)
            out = raw(defragment6(frags))
        print(k, out.hex())


if __name__ == "__main__":
    main()
