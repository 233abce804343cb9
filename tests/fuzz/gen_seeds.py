#!/usr/bin/python3
"""gen_seeds.py - the hand-written start corpora of the control and parser
fuzz targets (tests/fuzz/seeds/<target>/), one file per seed.  Run from the
source tree; `make fuzz-seeds` then minimizes every target's corpus with
libFuzzer's -merge=1 into what is committed.  fuzz_esp and fuzz_reasm keep
their own seeds (authentic packets / operation programs made earlier).
"""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
K20 = "0x" + "11" * 20
K36 = "0x" + "22" * 36
K16 = "0x" + "33" * 16
K32 = "0x" + "44" * 32

SA_LINES = [
    "sa add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x1000 reqid 1 mode tunnel "
    "aead 'rfc4106(gcm(aes))' %s 128" % K20,
    "sa add src 2001:db8::1 dst 2001:db8::2 proto esp spi 4096 mode transport "
    "aead 'rfc7539esp(chacha20,poly1305)' %s 128 replay-window 64 flag esn" % K36,
    "sa add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x2001 mode tunnel "
    "enc 'cbc(aes)' %s auth-trunc 'hmac(sha256)' %s 128 "
    "encap espinudp 4500 4500 0.0.0.0" % (K16, K32),
    "sa add src 198.18.0.1 dst 198.18.0.2 proto esp spi 7 enc aes %s "
    "auth hmac(sha512) 0x%s flag noecn esn mark 7/0xff sel src 198.18.0.1/32" % (K16, "55" * 64),
    "sa del src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x1000",
    "sa get dst 198.18.0.2 spi 0x1000 --keys",
    "sa list --keys", "sa stats 1", "sa count", "sa flush",
    "stats --reset --prometheus", "reasm", "status", "limits get",
    "limits set timeout 2s mem-cap 512k max-frags 16 max-datagrams 64 src-share 50 replay-window 128",
    "monitor", "ping # comment", "sa add 'a b' \"c\\\"d\" e\\ f",
]

SA_OBJ = {"src": "198.18.0.1", "dst": "198.18.0.2", "proto": "esp", "spi": 4096, "reqid": 1,
          "mode": "tunnel", "aead": {"name": "rfc4106(gcm(aes))", "key": K20, "icv_bits": 128},
          "replay_window": 32, "esn": False}
SA_CBC = {"src": "2001:db8::1", "dst": "2001:db8::2", "proto": "esp", "spi": 0x2002,
          "mode": "transport", "enc": {"name": "cbc(aes)", "key": K16},
          "auth": {"name": "hmac(sha256)", "key": K32, "trunc_bits": 128},
          "replay_window": 0, "esn": True,
          "encap": {"type": "espinudp", "sport": 4500, "dport": 4501}}


def req(i, cmd, args=None):
    r = {"v": 1, "id": i, "cmd": cmd}
    if args is not None:
        r["args"] = args
    return json.dumps(r)


CTL = {
    "ping": [req(1, "ping")],
    "sa_cycle": [req(1, "sa add", {"sa": SA_OBJ}), req("two", "sa add", {"sa": SA_CBC}),
                 req(3, "sa get", {"sa": {"dst": "198.18.0.2", "spi": 4096}, "keys": True}),
                 req(4, "sa list", {"keys": True}), req(5, "sa stats"), req(6, "sa count"),
                 req(7, "sa del", {"sa": {"dst": "2001:db8::2", "spi": 0x2002, "proto": "esp"}}),
                 req(None, "sa flush")],
    "stats": [req(1, "stats"), req(2, "stats", {"prometheus": True}),
              req(3, "stats", {"reset": True})],
    "limits": [req(1, "limits get"),
               req(2, "limits set", {"reasm_timeout_ms": 500, "reasm_mem_cap": 65536,
                                     "reasm_max_frags": 8, "reasm_max_datagrams": 16,
                                     "reasm_src_share_pct": 50, "replay_window_default": 64})],
    "misc": [req(1, "status"), req(2, "reasm"), req(3, "version"), req(4, "monitor"),
             req(5, "nosuch"), "", "{\"v\":2,\"cmd\":\"ping\"}\r", "{\"cmd\":1}",
             "[1,2]", "{\"cmd\":\"ping\"} trailing", "{\"cmd\":\"ping\",\"id\":{}}",
             "{\"cmd\":\"ping\",\"id\":NaN}", "{\"cmd\":\"ping\",\"id\":2E}"],
}

# one ESP header after IPv4 / IPv6 (framed), ESP-in-UDP, fragments, tag
ETH4 = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
ETH6 = ETH4[:12] + b"\x86\xdd"
A4, B4 = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(proto, payload, frag=0, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, A4, B4)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ip6(nh, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + A6 + B6 + payload


ESP = struct.pack("!II", 0x1001, 7) + b"\xee" * 40
UDP_ESP = struct.pack("!HHHH", 4500, 4500, 8 + len(ESP), 0) + ESP
TAG = struct.pack("<IBBBBIIIIII", 0x58505345, 2, 2, 0, 46, 1, 0, 0xFFFFFFFF, 1, 0, 0)
PORTS = struct.pack("!HHHH", 4500, 4501, 0, 0)
PARSE = {
    "esp4": b"\x00" + PORTS + ETH4 + ip4(50, ESP),
    "esp6": b"\x00" + PORTS + ETH6 + ip6(50, ESP),
    "espudp4_peer": b"\x02" + PORTS + ETH4 + ip4(17, UDP_ESP),
    "esp4_frag_mid": b"\x00" + PORTS + ETH4 + ip4(50, b"\x11" * 64, frag=0x2000 | 100),
    "esp6_frag": b"\x00" + PORTS + ETH6 + ip6(44, struct.pack("!BBHI", 50, 0, 1, 9) + ESP),
    "esp6_hbh_dst": b"\x00" + PORTS + ETH6 + ip6(0, b"\x3c\x00\x01\x04\x00\x00\x00\x00" +
                                                  b"\x32\x00\x01\x04\x00\x00\x00\x00" + ESP),
    "vlan_esp4": b"\x00" + PORTS + ETH4[:12] + b"\x81\x00\x00\x0a\x08\x00" + ip4(50, ESP),
    "tagged_esp4": b"\x01" + PORTS + ETH4[:12] + b"\x88\xb5" + TAG + ip4(50, ESP),
    "ike4": b"\x00" + PORTS + ETH4 + ip4(17, struct.pack("!HHHH", 4500, 4500, 40, 0) + b"\x00" * 32),
    "keepalive6": b"\x00" + PORTS + ETH6 + ip6(17, struct.pack("!HHHH", 4500, 4500, 9, 0) + b"\xff"),
    "multibuf": b"\x24" + PORTS + ETH4 + ip4(50, ESP)[:40],
}

STATE = {
    "two_sas": {"v": 1, "limits": {"reasm_timeout_ms": 30000, "reasm_mem_cap": 4194304,
                                   "reasm_max_frags": 64, "reasm_max_datagrams": 4096,
                                   "reasm_src_share_pct": 25, "replay_window_default": 32},
                "sas": [dict(SA_OBJ, replay_top=12345), dict(SA_CBC, replay_top=0)]},
    "empty": {"v": 1},
    "bad_version": {"v": 2, "sas": []},
}


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


for i, line in enumerate(SA_LINES):
    write("fuzz_sa_parse", "line%02d" % i, bytes([i & 3]) + line.encode())
for name, lines in CTL.items():
    write("fuzz_ctl", name, b"\x01" + "".join(l + "\n" for l in lines).encode())
    write("fuzz_ctl", name + "_ro", b"\x00" + "".join(l + "\n" for l in lines).encode())
for name, b in PARSE.items():
    write("fuzz_parse", name, b)
for name, obj in STATE.items():
    write("fuzz_state_file", name, json.dumps(obj, indent=1))
write("fuzz_state_file", "truncated", json.dumps(STATE["two_sas"])[:300])
