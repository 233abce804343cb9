"""An SA is acknowledged only when every layer holds it (user/daemon/sa_apply.c).

`sa add` goes through the SA table, the kernel's SA map (the one the
classify and decrypt programs look SAs up in, XDPSEC_SA_MAX entries) and
the state file.  These tests make each layer refuse in turn and check that
the command fails with the reason and that nothing of the SA stays behind,
that `--max-sas` cannot promise more than the kernel map holds, and that a
daemon adopting a classify program left attached by an earlier one empties
the maps of SAs it does not own.

The kernel map is filled from outside with `bpftool batch` (one process for
4096 updates).  Needs root; every namespace and daemon is the test's own.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time

import pytest

import espgen
import nslib
import xdpsec_env
from xdpsec_env import DaemonUnavailable, env_or_skip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")

SA_MAX = 4096          # XDPSEC_SA_MAX, headers/xdpsec_common.h
KEY = "0x" + bytes(range(20)).hex()


def sa_line(spi, dst=nslib.Pair.B4, src=nslib.Pair.A4):
    return ("sa add src %s dst %s proto esp spi %#x mode tunnel "
            "aead 'rfc4106(gcm(aes))' %s 128" % (src, dst, spi, KEY))



def classify_maps(ns, ifname="veth1"):
    """{map name: id} of the XDP program attached to IFNAME."""
    net = json.loads(ns.run(["bpftool", "-j", "net"]).stdout)
    att = [x for x in net[0]["xdp"] if x["devname"] == ifname]
    assert att, "no XDP program on %s: %s" % (ifname, net)
    prog = json.loads(ns.run(["bpftool", "-j", "prog", "show", "id", str(att[0]["id"])]).stdout)
    maps = {}
    for mid in prog["map_ids"]:
        m = json.loads(ns.run(["bpftool", "-j", "map", "show", "id", str(mid)]).stdout)
        maps[m["name"]] = mid
    return maps


def sa_key(spi, dst4):
    """struct xdpsec_sa_key: spi (network order), family, proto,
    encap_port (host order), daddr[16]."""
    return (struct.pack("!I", spi) + struct.pack("=BBH", 2, 50, 0)
            + bytes(int(x) for x in dst4.split(".")) + bytes(12))


def hexb(b):
    return " ".join("%02x" % x for x in b)


def fill_sa_map(ns, tmp, map_id, count, spi_base, dst4=nslib.Pair.B4):
    """COUNT entries straight into the kernel SA map, as a program adopted
    from an earlier daemon still holds them."""
    path = os.path.join(tmp, "fill.batch")
    with open(path, "w") as f:
        for i in range(count):
            f.write("map update id %d key hex %s value hex %s\n" % (
                map_id, hexb(sa_key(spi_base + i, dst4)),
                hexb(struct.pack("=II", i, 0x80000000))))
    ns.run(["bpftool", "batch", "file", path], timeout=120)


def sa_map_spis(ns, map_id):
    out = json.loads(ns.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                            timeout=60).stdout)
    spis = []
    for ent in out:
        key = ent.get("formatted", ent)["key"]
        if isinstance(key, dict):
            spis.append(int(key["spi"]) if isinstance(key["spi"], int) else int(key["spi"], 0))
            spis[-1] = struct.unpack("!I", struct.pack("=I", spis[-1]))[0]
        else:
            spis.append(struct.unpack("!I", bytes(int(x, 16) for x in key[:4]))[0])
    return spis


def sastate(ns, map_id, index):
    """(replay_top, replay_window, flags) of one SA state slot."""
    out = json.loads(ns.run(["bpftool", "-j", "map", "lookup", "id", str(map_id),
                             "key"] + [str(x) for x in struct.pack("=I", index)]).stdout)
    val = out.get("formatted", out)["value"]
    if isinstance(val, dict):
        return val["replay_top"], val["replay_window"], val["flags"]
    return struct.unpack("=QII", bytes(int(x, 16) for x in val))


def test_max_sas_beyond_kernel_map_refused():
    """--max-sas above what the kernel SA map holds is refused at start
    with the limit named; --max-sas 4096 still starts."""
    exe = os.path.join(xdpsec_env.build_dir(), "xdpsecd")
    if not os.access(exe, os.X_OK):
        pytest.skip("xdpsecd not built")
    tmp = tempfile.mkdtemp(prefix="xs-maxsas-")
    ns = nslib.Netns("xsmx%d" % os.getpid())
    try:
        sock = os.path.join(tmp, "s.sock")
        p = ns.popen([exe, "-f", "-S", sock, "--state", "none", "--max-sas", str(SA_MAX + 1)])
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail("xdpsecd --max-sas %d started: it would acknowledge SAs the "
                        "kernel map cannot hold" % (SA_MAX + 1))
        assert p.returncode == 2, (p.returncode, err)
        assert "--max-sas" in err and str(SA_MAX) in err, err
        p = ns.popen([exe, "-f", "-S", sock, "--state", "none", "--max-sas", str(SA_MAX)])
        deadline = time.time() + 10
        while not os.path.exists(sock) and p.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert p.poll() is None and os.path.exists(sock), p.stderr.read() if p.poll() is not None else ""
    finally:
        ns.close()
        shutil.rmtree(tmp, ignore_errors=True)


def saved_spis(state):
    """The SPIs a restart would restore: the snapshot's SAs with the
    journal of the same generation applied (user/daemon/state_journal.h)."""
    with open(state) as f:
        snap = json.load(f)
    spis = [s["spi"] for s in snap["sas"]]
    try:
        with open(state + ".journal") as f:
            lines = [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return sorted(spis)
    if lines and lines[0].get("gen") == snap.get("gen"):
        for rec in lines[1:]:
            if rec.get("op") == "add":
                spis.append(rec["sa"]["spi"])
            elif rec.get("op") == "del":
                spis = [x for x in spis if x != rec["sa"]["spi"]]
    return sorted(spis)


def test_sa_add_refused_when_kernel_map_full():
    """The kernel SA map is full (filled from outside): `sa add` fails with
    the reason and the SA is in no layer (table, map, state file); once
    there is room again the same SA is accepted and installed."""
    e = env_or_skip(tag="sf")
    try:
        b = e.pair.b
        maps = classify_maps(b)
        fill_sa_map(b, e.tmp, maps["xdpsec_sa"], SA_MAX, 0x70000)
        r = e.ctl_line(sa_line(0x5001), check=False)
        assert r.returncode == 1, "sa add acknowledged an SA the kernel map refused: %s%s" % (
            r.stdout, r.stderr)
        assert "E2BIG" in r.stderr and "full" in r.stderr, r.stderr
        assert json.loads(e.ctl("sa", "count", json_out=True).stdout)["count"] == 0
        assert e.ctl("sa", "get", "dst", nslib.Pair.B4, "spi", "0x5001",
                     check=False).returncode == 1
        assert saved_spis(e.state) == []
        assert 0x5001 not in sa_map_spis(b, maps["xdpsec_sa"])
        # room for one: the same SA goes in, into every layer
        b.run(["bpftool", "map", "delete", "id", str(maps["xdpsec_sa"]), "key", "hex"]
              + hexb(sa_key(0x70000, nslib.Pair.B4)).split())
        e.ctl_line(sa_line(0x5001))
        assert 0x5001 in sa_map_spis(b, maps["xdpsec_sa"])
        assert saved_spis(e.state) == [0x5001]
    finally:
        e.close()


def test_sa_add_refused_when_state_file_cannot_be_written():
    """The state file cannot be written: `sa add` fails, says so, and the SA
    is neither in the table nor in the kernel map."""
    e = env_or_skip(tag="sw", daemon=False)
    sdir = os.path.join(e.tmp, "statedir")
    try:
        b = e.pair.b
        os.mkdir(sdir)
        e.state = os.path.join(sdir, "state.json")
        try:
            e.start_daemon()
        except DaemonUnavailable as ex:
            pytest.skip("daemon cannot start here: %s" % ex)
        maps = classify_maps(b)
        e.ctl_line(sa_line(0x5102))
        # the state file's directory turns into a regular file
        shutil.rmtree(sdir)
        with open(sdir, "w") as f:
            f.write("not a directory\n")
        r = e.ctl_line(sa_line(0x5103), check=False)
        assert r.returncode == 1, "sa add acknowledged an SA it could not save: %s%s" % (
            r.stdout, r.stderr)
        assert "state file" in r.stderr, r.stderr
        sas = json.loads(e.ctl("sa", "list", json_out=True).stdout)["sas"]
        assert sorted(s["spi"] for s in sas) == [0x5102]
        assert sorted(sa_map_spis(b, maps["xdpsec_sa"])) == [0x5102]
    finally:
        e.stop_daemon()
        if os.path.isdir(sdir):
            shutil.rmtree(sdir, ignore_errors=True)
        elif os.path.exists(sdir):
            os.unlink(sdir)
        e.close()


def test_adopt_clears_stale_sa_entries():
    """A classify program left attached with a full SA map (as after earlier
    daemons were killed) is adopted: the daemon removes every entry it does
    not own, the SA state array too, so `sa add` installs the SA and its
    traffic is delivered."""
    gen = espgen.Gen(seed=81, spi_base=0x81000, port_base=38100)
    case = gen.esp(4, "gcm", "tunnel", count=6)
    e = env_or_skip(tag="sa", daemon=False)
    try:
        b = e.pair.b
        obj = os.path.join(xdpsec_env.build_dir(), "xdpsec.bpf.o")
        b.run(["ip", "link", "set", "dev", "veth1", "xdp", "obj", obj, "sec", "xdp"])
        maps = classify_maps(b)
        fill_sa_map(b, e.tmp, maps["xdpsec_sa"], SA_MAX, 0x90000)
        stale = struct.pack("=QII", 1 << 40, 64, 0x80000000)
        b.run(["bpftool", "map", "update", "id", str(maps["xdpsec_sastate"]), "key"]
              + [str(x) for x in struct.pack("=I", 7)] + ["value"] + [str(x) for x in stale])
        assert len(sa_map_spis(b, maps["xdpsec_sa"])) == SA_MAX
        try:
            e.start_daemon()
        except DaemonUnavailable as ex:
            pytest.skip("daemon cannot start here: %s" % ex)
        ifs = json.loads(e.ctl("status", json_out=True).stdout)["interfaces"]
        assert [i["attach"] for i in ifs] == ["adopted"], ifs
        assert sa_map_spis(b, maps["xdpsec_sa"]) == [], "stale SA entries left in the kernel map"
        assert sastate(b, maps["xdpsec_sastate"], 7) == (0, 0, 0)
        e.sa_add(case.sa_lines())
        assert sorted(sa_map_spis(b, maps["xdpsec_sa"])) == sorted(s.spi for s in case.sas)
        res = e.run_case(case)
        assert sorted(res.payloads) == sorted(case.payloads), res.delta
    finally:
        e.close()
