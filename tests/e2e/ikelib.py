"""ikelib - strongSwan's charon in the e2e namespaces, for test_ike.py.

Each Charon has its own folder in the test's temporary directory: its
strongswan.conf (passed with STRONGSWAN_CONF), swanctl.conf (0600: it holds
the pre-shared key, which never appears on a command line or in a log),
vici socket, log file, and a run/ folder bind-mounted over /run for it
alone.  charon's PID file is compiled in as /var/run/charon.pid (strings of
/usr/lib/ipsec/charon), so two charons on one machine need two /run: the
mount is made inside `ip netns exec`, whose own mount namespace keeps it
from everyone else.  `ip netns exec` and the shell exec charon, so the PID
the test holds is charon's; stop() ends it by that PID (SIGTERM, then
SIGKILL).

Helpers to read the kernel's XFRM state (`ip -s xfrm state`) are here too.
"""
import os
import re
import signal
import subprocess
import time

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "/usr/sbin/swanctl"

# Plugins charon loads: IKE crypto from OpenSSL (AES-GCM, SHA-2, ECDH),
# the kernel interface (XFRM netlink), sockets and vici for swanctl.
PLUGINS = "random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 pubkey x509 " \
          "kernel-netlink socket-default vici"


def available():
    """None, or why charon cannot run here."""
    for f in (CHARON, SWANCTL):
        if not os.access(f, os.X_OK):
            return "%s missing (make deps: strongswan-charon, strongswan-swanctl)" % f
    return None


class Charon:
    def __init__(self, ns, folder, name, local, remote, local_ts, remote_ts, psk_hex,
                 child_opts="", time_scale=1.0):
        self.ns, self.dir, self.name = ns, folder, name
        self.proc = None
        self.scale = time_scale
        os.makedirs(os.path.join(folder, "run"), mode=0o700)
        self.vici = "unix://" + os.path.join(folder, "charon.vici")
        self.log = os.path.join(folder, "charon.log")
        self.conf = os.path.join(folder, "strongswan.conf")
        self.swanctl_conf = os.path.join(folder, "swanctl.conf")
        with open(self.conf, "w") as f:
            f.write(STRONGSWAN_CONF % dict(plugins=PLUGINS, log=self.log, vici=self.vici,
                                           retransmit=4.0 * time_scale))
        fd = os.open(self.swanctl_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(swanctl_conf(name, local, remote, local_ts, remote_ts, psk_hex, child_opts))

    def env(self):
        return dict(os.environ, STRONGSWAN_CONF=self.conf)

    def start(self, timeout=30):
        run = os.path.join(self.dir, "run")
        out = open(os.path.join(self.dir, "charon.out"), "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns.name, "sh", "-c",
             'mount --bind "$1" /run && exec "$2"', "sh", run, CHARON],
            env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.time() + timeout * self.scale
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("charon (%s) exited %d: %s" % (self.ns.name, self.proc.returncode,
                                                                 self.tail()))
            if self.swanctl("--stats", check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("charon (%s) did not answer on vici: %s" % (self.ns.name, self.tail()))
        self.swanctl("--load-all", "--noprompt", "--file", self.swanctl_conf)

    def swanctl(self, cmd, *args, check=True, timeout=120):
        """swanctl CMD --uri OUR-VICI ARGS (the options follow the command)."""
        r = subprocess.run(self.ns.argv([SWANCTL, cmd, "--uri", self.vici] + list(args)),
                           env=self.env(), text=True, capture_output=True,
                           timeout=timeout * self.scale)
        if check and r.returncode != 0:
            raise RuntimeError("swanctl %s (%s) failed (%d): %s%s\n%s" % (
                " ".join((cmd,) + args), self.ns.name, r.returncode, r.stdout, r.stderr, self.tail()))
        return r

    def tail(self, n=3000):
        try:
            with open(self.log) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        try:
            os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout=10 * self.scale)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
        except ProcessLookupError:
            pass


STRONGSWAN_CONF = """\
# written by tests/e2e/ikelib.py for one test charon
charon {
    load = %(plugins)s
    # the test routes the inner subnets itself
    install_routes = no
    install_virtual_ip = no
    retransmit_timeout = %(retransmit).1f
    retransmit_tries = 3
    filelog {
        test {
            path = %(log)s
            time_format = %%T
            default = 1
            ike = 2
            knl = 2
            cfg = 1
            flush_line = yes
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
    plugins {
        vici {
            socket = %(vici)s
        }
    }
}
swanctl {
    load = pem pkcs1 pkcs8 x509 pubkey openssl random nonce
}
"""


def swanctl_conf(name, local, remote, local_ts, remote_ts, psk_hex, child_opts=""):
    """IKEv2, PSK, tunnel mode, AES-GCM for IKE and ESP."""
    return """\
connections {
    xs {
        version = 2
        local_addrs = %(local)s
        remote_addrs = %(remote)s
        proposals = aes128gcm16-prfsha256-ecp256
        local {
            auth = psk
            id = %(name)s.xdpsec.test
        }
        remote {
            auth = psk
            id = %(peer)s.xdpsec.test
        }
        children {
            net {
                local_ts = %(lts)s
                remote_ts = %(rts)s
                mode = tunnel
                esp_proposals = aes128gcm16
                start_action = none
%(child)s
            }
        }
    }
}
secrets {
    ike-xs {
        id-a = ini.xdpsec.test
        id-b = res.xdpsec.test
        secret = 0x%(psk)s
    }
}
""" % dict(local=local, remote=remote, name=name, peer="res" if name == "ini" else "ini",
           lts=local_ts, rts=remote_ts, psk=psk_hex, child=child_opts)


# ------------------------------------------------------------ ip xfrm state

STATE_RE = re.compile(r"^src (\S+) dst (\S+)\n\s+proto esp spi (0x[0-9a-f]+)\S* reqid (\d+)", re.M)


def xfrm_states(ns):
    """`ip -s xfrm state` -> [{"src", "dst", "spi", "reqid", "bytes",
    "packets", "text"}] (curlft: the kernel's byte and packet counts)."""
    out = ns.run("ip -s xfrm state").stdout
    starts = [m.start() for m in STATE_RE.finditer(out)] + [len(out)]
    res = []
    for a, b in zip(starts, starts[1:]):
        text = out[a:b]
        m = STATE_RE.match(text)
        cur = re.search(r"lifetime current:\s*\n\s*(\d+)\(bytes\), (\d+)\(packets\)", text)
        res.append({"src": m.group(1), "dst": m.group(2), "spi": int(m.group(3), 16),
                    "reqid": int(m.group(4)),
                    "bytes": int(cur.group(1)) if cur else None,
                    "packets": int(cur.group(2)) if cur else None,
                    "text": redact(text)})
    return res


def redact(text):
    """Key material out of `ip xfrm state` text, for reports and logs."""
    return re.sub(r"0x[0-9a-f]{16,}", "0x<key>", text)


# ------------------------------------------------------------ traffic

# Datagram sizes, in turn: small, whole after encryption, and two that are
# fragmented after encryption (the ESP packet exceeds the 1500-byte MTU:
# two fragments, three).  The sender's socket uses IP_PMTUDISC_OMIT: the
# kernel neither fragments the datagram at the tunnel's MTU nor sets DF, so
# its XFRM output encrypts it whole and fragments the ESP packet, as a host
# keyed by an IKE daemon does when it does not lower its MTU for the
# tunnel.  (IP_PMTUDISC_PROBE refuses datagrams above the MTU; DONT and
# WANT fragment at the tunnel's MTU, before encryption.)
SIZES = (64, 1000, 1460, 3000)


def payload(tag, i):
    """Datagram i of phase tag (one byte): what the receiver must get,
    byte for byte.  Deterministic: the test recomputes it.  Tags from 5 on
    are 200 bytes each: one ESP packet per datagram, for the tests that
    count packets against a lifetime limit."""
    import random
    size = SIZES[i % len(SIZES)] if tag < 5 else 200
    head = bytes([tag]) + i.to_bytes(4, "big")
    return head + random.Random("%d:%d" % (tag, i)).randbytes(size - len(head))


def send_main(argv):
    """sender: SRC DST PORT TAG COUNT GAP_S [STOP_FILE] -> {"sent": n}.
    Stops early when STOP_FILE exists (the rekey phase streams until the
    test has seen the rekey through)."""
    import json
    import socket
    src, dst, port, tag, count, gap = argv[:6]
    stop = argv[6] if len(argv) > 6 else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, 10, 5)      # IP_MTU_DISCOVER = IP_PMTUDISC_OMIT
    s.bind((src, 0))
    n = 0
    for i in range(int(count)):
        if stop and os.path.exists(stop):
            break
        s.sendto(payload(int(tag), i), (dst, int(port)))
        n += 1
        time.sleep(float(gap))
    print(json.dumps({"sent": n}), flush=True)


SINK = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
print("READY", flush=True)
while True:
    d = s.recv(70000)
    sys.stdout.write(d.hex() + "\n")
    sys.stdout.flush()
"""


if __name__ == "__main__":
    import sys
    send_main(sys.argv[1:])
