"""test_fallbacks - the data plane on a kernel that lacks a feature.

This kernel has every feature the data plane uses, so each fallback is
forced with XDPSEC_DISABLE (user/daemon/kernel_features.h), which makes the probe
report the named features missing; the daemon then takes the same road it
would on a kernel without them:
- no multi-buffer AF_XDP (xsk_sg) or multi-buffer XDP (xdp_frags): the
  feedback pair runs at the single-buffer size (frames up to 3520 bytes)
  with a decrypt program that is not frags-aware; reassembled ciphertext too
  long for it is decrypted in the daemon and plaintext too long for it
  goes back in as IP fragments the stack reassembles (pipeline/oversize_*), so large
  datagrams are still delivered, byte-exact, and counted;
- no CPUMAP programs: no per-peer steering, everything else works;
- no mmapable arrays: no early replay drop in XDP, the daemon still counts
  every replay.
Needs root.
"""
import json
import os

import pytest

import espgen
from xdpsec_env import delivered, env_or_skip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")


def start(tag, disable):
    return env_or_skip(tag=tag, daemon_env={"XDPSEC_DISABLE": disable})



def drops(res):
    return {k[1]: v for k, v in res.delta.items() if k[0] == "drops" and v}


@pytest.mark.parametrize("disable", ["xsk_sg", "xdp_frags", "xdp_get_buff_len"])
def test_single_buffer_pair(disable):
    env = start("fb", disable)
    try:
        log = env.log_tail()
        assert "kernel feature %s missing" % disable in log, log
        assert "multi-buffer" not in log.split("data plane up")[-1].split("\n")[0]
        gen = espgen.Gen(seed=61, spi_base=0x75000, port_base=45000)
        small = [gen.esp(4, "gcm", "tunnel", count=6),
                 gen.frag_after(6, "chacha", 3, "shuffled", count=6),
                 gen.frag_before(4, "gcm", count=6)]
        large = [gen.large(4, "gcm", "frag_after", sizes=(4000, 30000, "max")),
                 gen.large(6, "chacha", "frag_before", sizes=(4000, "max")),
                 gen.large(4, "gcm", "esp" if "esp" in gen.LARGE_KINDS else "frag_after",
                           sizes=(9000,))]
        for c in small + large:
            env.sa_add(c.sa_lines())
        for c in small:
            res = env.run_case(c)
            assert delivered(res) == set(c.payloads), c.id
            assert res.d("pipeline", "oversize_decrypted") == 0
            assert not drops(res), drops(res)
        for c in large:
            res = env.run_case(c)
            assert delivered(res) == set(c.payloads), c.id
            assert not drops(res), (c.id, drops(res))
            # the large ones took the fallback, counted
            assert res.d("pipeline", "oversize_fragmented") == len(c.payloads), c.id
            if c.branch == "frag_after":
                assert res.d("pipeline", "oversize_decrypted") == len(c.payloads)
            assert res.d("branch", c.branch) == len(c.payloads)
            assert res.d("xsk", "tx_too_big") == 0
    finally:
        env.close()


def test_no_cpumap_programs():
    env = start("fc", "cpumap_prog")
    try:
        assert "kernel feature cpumap_prog missing" in env.log_tail()
        st = json.loads(env.ctl("status", json_out=True).stdout)
        text = json.dumps(st)
        assert '"steering_cpus": 0' in text or '"steering": false' in text \
            or "steering_cpus" not in text, text[:600]
        gen = espgen.Gen(seed=67, spi_base=0x76000, port_base=46000)
        c = gen.frag_after(4, "gcm", 2, "inorder", count=8)
        env.sa_add(c.sa_lines())
        res = env.run_case(c)
        assert delivered(res) == set(c.payloads)
        assert res.d("classify", "steered") == 0
    finally:
        env.close()


def test_no_mmapable_arrays():
    env = start("fm", "mmapable_array")
    try:
        assert "kernel feature mmapable_array missing" in env.log_tail()
        gen = espgen.Gen(seed=71, spi_base=0x77000, port_base=47000)
        c = gen.replay(4, "gcm")
        env.sa_add(c.sa_lines())
        res = env.run_case(c)
        assert delivered(res) == set(c.payloads)
        # every replay is still caught, by the daemon alone
        assert res.d("esp", "replay") == c.replayed
        assert res.d("classify", "drop_replay_early") == 0
    finally:
        env.close()
