"""test_steering - per-peer steering keeps one SA's packets in order.

With more than one far-end queue the daemon runs one worker per queue.
Without steering, a burst from one peer lands on whichever queue the
receiving CPU picks, two workers decrypt it in parallel, and the
anti-replay window sees their interleaving: legitimate packets were counted
as replays (about 4 % of a 20000-packet burst in bench/pipeline.py).  With
steering (struct xdpsec_config.steer_cpus, bpf/steer.bpf.c) every frame
between two peers goes through one CPU, one queue, one worker.

The test sends a back-to-back burst (no gap between frames) of whole and
fragmented-after-encryption ESP under a 32-packet replay window and asserts
every datagram arrives, nothing is counted as a replay, every ESP frame
went through the CPUMAP, and the feedback pair dropped nothing (worker q is
pinned to CPU q, the CPU whose transmit feeds far-end queue q: when the
queue's NAPI moved between CPUs, its 256-slot ring overflowed under such a
burst).  Skipped on a one-CPU machine (one queue: nothing
to steer).  Needs root.
"""
import json
import os

import pytest

import espgen
from xdpsec_env import env_or_skip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")

BURST = 1200           # datagrams per case: fits the AF_XDP rings at once
WINDOW = 32


@pytest.fixture(scope="module")
def env():
    e = env_or_skip(tag="st")
    yield e
    e.close()


def status(env):
    return json.loads(env.ctl("status", json_out=True).stdout)


def find(obj, key):
    """The value of KEY anywhere in a nested reply (envelope or not)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None


@pytest.mark.parametrize("family,alg", [(4, "gcm"), (6, "chacha")])
@pytest.mark.parametrize("kind", ["esp", "frag_after"])
def test_burst_in_order(env, family, alg, kind):
    st = status(env)
    workers = find(st, "workers")
    if not workers or workers < 2:
        pytest.skip("one worker: arrival order is kept without steering")
    assert find(st, "steering_cpus") == workers
    gen = espgen.Gen(seed=5 + family, spi_base=0x60000 + 0x100 * family + len(kind),
                     port_base=52000 + 100 * family + len(kind))
    if kind == "esp":
        case = gen.esp(family, alg, "tunnel", count=BURST)
    else:
        case = gen.frag_after(family, alg, 2, "inorder", count=BURST)
    for sa in case.sas:
        sa.replay_window = WINDOW
    env.sa_add(case.sa_lines())
    res = env.run_case(case, gap_us=0)
    got = [p for _, p in res.udp]
    assert len(got) == len(set(got)), "a payload was delivered twice"
    missing = set(case.payloads) - set(got)
    assert not missing, "%d of %d datagrams lost; counters: %s" % (
        len(missing), BURST, {"%s/%s" % k: v for k, v in res.delta.items()
                              if v and k[0] in ("drops", "xsk")})
    assert res.d("esp", "replay") == 0
    assert res.d("classify", "drop_replay_early") == 0
    assert res.d("classify", "steered") == len(case.packets)
    assert res.d("classify", "steer_fail") == 0
    assert res.d("feedback", "dropped") == 0


@pytest.mark.parametrize("args,workers,steer", [
    (("--no-steer",), None, False),     # default workers, straight DEVMAP
    (("-w", "1"), 1, False),            # one queue: nothing to steer
])
def test_daemon_options(args, workers, steer):
    """--no-steer and --workers: what status says, what the counters say,
    and that delivery does not depend on it (a paced case)."""
    e = env_or_skip(tag="so", daemon_args=args)
    try:
        st = status(e)
        if workers is not None:
            assert find(st, "workers") == workers
        assert find(st, "steering_cpus") == (find(st, "workers") if steer else 0)
        gen = espgen.Gen(seed=77, spi_base=0x6F000 + len(args), port_base=54000 + len(args))
        case = gen.frag_after(4, "gcm", 3, "shuffled", count=20)
        e.sa_add(case.sa_lines())
        res = e.run_case(case)
        assert sorted(res.payloads) == sorted(case.payloads)
        assert res.d("classify", "steered") == 0
        assert res.d("branch", "frag_after") == 20
    finally:
        e.close()
