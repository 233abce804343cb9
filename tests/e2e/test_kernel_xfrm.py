"""test_kernel_xfrm - the sender is the kernel's own XFRM ESP, another
independent ESP implementation: xdpsecd must decrypt what Linux encrypts.

The kernels of this machine have no ESP (CONFIG_INET_ESP off, no
rfc4106(gcm(aes))), so here the test skips; Debian's stock kernels have
both, and `make test-kernels` runs it in the 6.1 and 6.12 guests, where a
skip counts as a failure (tests/kernels/smoke.sh, step xfrm).  To run it
alone in a guest:

    sudo tests/kernels/run-in-guest.sh 6.1 \\
        '/usr/bin/python3 -m pytest -q tests/e2e/test_kernel_xfrm.py'

It lives apart from test_pipeline.py so that running it does not build that
module's hundreds of scapy cases first (minutes under qemu TCG).  Needs root.
"""
import os

import pytest

import espgen
import xdpsec_env
from xdpsec_env import XdpsecEnv, DaemonUnavailable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")


@pytest.fixture(scope="module")
def env():
    try:
        e = XdpsecEnv(tag="kx").__enter__()
    except DaemonUnavailable as ex:
        msg = "xdpsecd cannot run here yet: %s" % ex
        if os.environ.get("XDPSEC_E2E_REQUIRE") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        yield e
    finally:
        alive = e.daemon_alive()
        log = e.log_tail()
        e.close()
        assert alive, "xdpsecd died during the tests:\n" + log


def test_tcp_through_kernel_xfrm_sender(env):
    """One TCP connection: the sender's kernel (xfrm, another independent
    ESP implementation) encrypts, xdpsecd decrypts, a TCP socket reads the
    stream.  Replies go back in clear (no policy on the receiver)."""
    gen = espgen.Gen(seed=99, spi_base=0x30000, port_base=39000)
    rng = gen.rng("tcp")
    sa = gen.sa(rng, "tunnel", "gcm", 4)
    a = env.pair.a
    r = a.run("ip xfrm state add src %s dst %s proto esp spi 0x%x reqid 7 mode tunnel "
              "aead 'rfc4106(gcm(aes))' 0x%s 128" % (sa.src, sa.dst, sa.spi, sa.key.hex()),
              check=False)
    if r.returncode != 0 and "algorithm not found" in r.stderr:
        # this kernel has no ESP/GCM (see architecture.md): the sender side
        # of this test cannot exist here
        pytest.skip("sender kernel lacks rfc4106(gcm(aes)): " + r.stderr.strip())
    assert r.returncode == 0, r.stderr
    a.run("ip xfrm policy add src %s/32 dst %s/32 proto tcp dir out "
          "tmpl src %s dst %s proto esp reqid 7 mode tunnel"
          % (sa.src, sa.dst, sa.src, sa.dst))
    env.sa_add([sa.line()])
    data = rng.randbytes(200000)
    port = 39999
    sink = env.start_sink([], tcp=port, count=1, idle=5)
    path = os.path.join(env.tmp, "tcp.bin")
    with open(path, "wb") as f:
        f.write(data)
    env.pair.a.run([xdpsec_env.PY, "-c",
                    "import socket,sys; s=socket.create_connection(('%s',%d),timeout=20);"
                    "s.sendall(open('%s','rb').read()); s.shutdown(1); s.recv(1); s.close()"
                    % (sa.dst, port, path)], timeout=60 * xdpsec_env.TIME_SCALE)
    udp, tcp = env.sink_result(sink)
    assert len(tcp) == 1 and tcp[0][1] == data
