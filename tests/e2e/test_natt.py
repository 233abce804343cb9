"""test_natt - plain traffic never depends on the daemon; NAT-T ports
belong to SAs.

Regression tests for defects found by running xdpsec as an operator would
(docs/classify.md, "NAT-T peer pairs"):
- once any `encap espinudp` SA existed, every UDP fragment on every port,
  between any addresses, went to the daemon, and after `kill -9` of the
  daemon plain fragmented UDP was black-holed (0/2, drop_no_xsk);
- after `kill -9`, ESP went on into a feedback pair no one read;
- the NAT-T port was global, taken from the last SA added (an SA on 5000
  broke NAT-T on 4500, and it survived `sa del`);
- the daemon's "is this ESP" hard-coded 4500: fragmented NAT-T on 5000 went
  to the stack as plain UDP and was counted delivered (branch plain_frag).
Needs root.
"""
import json
import os
import signal

import pytest

import espgen
from xdpsec_env import delivered, env_or_skip
from test_classify_netns import cls, cnt, counters, delta

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")


@pytest.fixture
def env():
    e = env_or_skip(tag="nt")
    yield e
    e.close()



def cnt_map(env):
    """The id of the attached classify program's counter map (bpftool), to
    read the counters when no daemon is there to ask."""
    r = env.pair.b.run("ip -j link show dev veth1")
    prog = json.loads(r.stdout)[0]["xdp"]["prog"]["id"]
    info = json.loads(env.pair.b.run(["bpftool", "-j", "prog", "show", "id",
                                      str(prog)]).stdout)
    for mid in info["map_ids"]:
        m = json.loads(env.pair.b.run(["bpftool", "-j", "map", "show", "id",
                                       str(mid)]).stdout)
        if m["name"] == "xdpsec_cnt":
            return mid
    raise AssertionError("no xdpsec_cnt map on the attached program")


@pytest.mark.parametrize("family", [4, 6])
def test_plain_udp_fragments_stay_with_the_stack(env, family):
    """An ESP-in-UDP SA between other addresses does not pull this pair's
    UDP fragments into the daemon: the kernel reassembles them."""
    gen = espgen.Gen(seed=41 + family, spi_base=0x71000 + 0x100 * family,
                     port_base=41000 + 100 * family)
    other = espgen.SA(0x71fff - family, "tunnel", "gcm", bytes(20), family, True)
    line = other.line().replace(
        "src %s" % other.src, "src %s" % ("198.18.0.9" if family == 4 else "2001:db8::9"))
    env.ctl_line(line)
    case = gen.plain_frag(family, "gcm", count=6)
    res = env.run_case(case)
    assert delivered(res, case.payloads) == set(case.payloads)
    assert res.d("pipeline", "to_reasm") == 0, "plain fragments went to the daemon"
    assert res.d("classify", "class_plain_frag") >= len(case.packets)


@pytest.mark.parametrize("family", [4, 6])
def test_kill9_leaves_plain_traffic_and_esp_to_the_stack(env, family):
    """kill -9: the kernel empties the dead daemon's XSKMAP slots, so the
    classify program passes what it would have steered (counted
    not_configured): plain UDP fragments of a NAT-T peer are delivered by
    the kernel, ESP reaches the stack (which has no state for it).  A
    restarted daemon serves again."""
    gen = espgen.Gen(seed=43 + family, spi_base=0x72000 + 0x100 * family,
                     port_base=42000 + 100 * family)
    natt = gen.esp(family, "gcm", "tunnel", encap=True, count=4)
    env.sa_add(natt.sa_lines())          # A -> B is now a NAT-T peer pair
    plain = gen.plain_frag(family, "gcm", count=4)
    # alive: the daemon takes the pair's UDP fragments and hands them back
    res = env.run_case(plain)
    assert delivered(res, plain.payloads) == set(plain.payloads)
    assert res.d("pipeline", "to_reasm") >= len(plain.packets)

    os.kill(env.daemon.pid, signal.SIGKILL)
    env.daemon.wait()
    env.stop_daemon()
    mid = cnt_map(env)
    keys = [cnt("NOT_CONFIGURED"), cnt("REDIRECTED"), cls("ESP"), cls("PLAIN_FRAG")]
    before = counters(env.pair.b, mid)
    plain2 = gen.plain_frag(family, "gcm", count=4)
    res = env.run_case(plain2)
    assert delivered(res, plain2.payloads) == set(plain2.payloads), \
        "plain fragmented UDP black-holed after kill -9"
    esp = gen.esp(family, "gcm", "tunnel", count=3)
    res = env.run_case(esp, idle=1.0)
    assert not delivered(res, esp.payloads)       # the stack has no ESP state
    moved = delta(counters(env.pair.b, mid), before, keys)
    # every fragment of the NAT-T pair and every ESP packet passed, counted
    assert moved[cnt("REDIRECTED")] == 0
    assert moved[cls("ESP")] == len(esp.packets)
    assert moved[cnt("NOT_CONFIGURED")] == len(esp.packets) + len(plain2.packets)

    env.start_daemon()                   # restores the SAs from its state file
    esp2 = gen.esp(family, "gcm", "tunnel", count=4)
    env.sa_add(esp2.sa_lines())
    res = env.run_case(esp2)
    assert delivered(res, esp2.payloads) == set(esp2.payloads), "restarted daemon does not serve"


@pytest.mark.parametrize("family", [4, 6])
def test_natt_ports_belong_to_sas(env, family):
    """SAs on 4500 and on 5000 at once, whole and fragmented after
    encryption: every datagram delivered, the fragmented ones counted
    frag_after (the daemon's ESP test is the classifier's, with the SA's
    port); deleting the 5000 SA leaves 4500 working."""
    gen = espgen.Gen(seed=47 + family, spi_base=0x73000 + 0x100 * family,
                     port_base=43000 + 100 * family)
    cases = []
    for port in (4500, 5000):
        gen.natt_port = port
        cases.append((port, gen.esp(family, "gcm", "tunnel", encap=True, count=6)))
        cases.append((port, gen.frag_after(family, "chacha", 2, "inorder", encap=True,
                                           count=6)))
    for _, c in cases:
        env.sa_add(c.sa_lines())
    for port, c in cases:
        res = env.run_case(c)
        assert delivered(res, c.payloads) == set(c.payloads), "port %d: %s" % (port, c.id)
        if c.branch == "frag_after":
            assert res.d("branch", "frag_after") == len(c.payloads)
            assert res.d("branch", "plain_frag") == 0
    for _, c in cases:
        if c.sas[0].encap_port == 5000:
            for sa in c.sas:
                env.ctl("sa", "del", "src", sa.src, "dst", sa.dst, "proto", "esp",
                        "spi", "0x%08x" % sa.spi)
    gen.natt_port = 4500
    again = gen.frag_after(family, "gcm", 2, "inorder", encap=True, count=6)
    env.sa_add(again.sa_lines())
    res = env.run_case(again)
    assert delivered(res, again.payloads) == set(again.payloads)


def test_default_natt_port_is_configurable():
    """xdpsecd --natt-port 4600: whole UDP to 4600 is ESP-in-UDP from any
    peer (here one no SA's addresses cover), as 4500 is by default."""
    e = env_or_skip(tag="np", daemon_args=["--natt-port", "4600"])
    try:
        gen = espgen.Gen(seed=53, spi_base=0x74000, port_base=44000)
        gen.natt_port = 4600
        case = gen.esp(4, "gcm", "tunnel", encap=True, count=5)
        for line in case.sa_lines():     # no peer pair for A -> B
            e.ctl_line(line.replace("src %s" % espgen.A4, "src 198.18.0.9"))
        res = e.run_case(case)
        assert res.d("classify", "class_esp") == len(case.packets)
        assert delivered(res, case.payloads) == set(case.payloads)
    finally:
        e.close()
