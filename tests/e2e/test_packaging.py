"""What `make` and `make install` deliver (docs/install.mk).

  - `make` builds the man pages into BUILD/man with scdoc, and says why
    when scdoc is missing instead of failing;
  - `make install DESTDIR=...` puts the man pages and both systemd units
    (xdpsecd.service, xdpsecd@.service) where man and systemd look, for
    PREFIX=/usr, /usr/local and a prefix systemd never searches;
  - `systemd-analyze verify` accepts the installed units (and finds their
    man pages), and `systemd-analyze security` rates them;
  - the daemon runs, and decrypts, with exactly the template unit's command
    line and capability bounding set.
Tests that need systemd-analyze skip with the reason when it is absent.
"""
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import time

import pytest

import espgen
import xdpsec_env
from xdpsec_env import XdpsecEnv, DaemonUnavailable

ROOT = xdpsec_env.ROOT
BUILD = xdpsec_env.build_dir()
ANALYZE = shutil.which("systemd-analyze")
UNITS = ("xdpsecd.service", "xdpsecd@.service")
MANS = ("xdpsecd.8", "xdpsecctl.8")
# `systemd-analyze security` (systemd 252): 7.3 MEDIUM before hardening, 3.0
# hardened as root, 2.5 as User=xdpsec without CAP_CHOWN
MAX_EXPOSURE = 2.5


def make(*args, check=True):
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory"] + list(args),
                       capture_output=True, text=True, timeout=900)
    if check and r.returncode != 0:
        raise AssertionError("make %s failed (%d):\n%s%s" % (" ".join(args), r.returncode,
                                                             r.stdout[-3000:], r.stderr[-3000:]))
    return r


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="xs-pkg-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def install(tmp, prefix):
    dest = os.path.join(tmp, "dest" + prefix.replace("/", "_"))
    make("install", "BUILD=" + BUILD, "PREFIX=" + prefix, "DESTDIR=" + dest)
    return dest


def unit_dir(dest):
    """The one directory of DEST holding the units."""
    found = set()
    for d, _, files in os.walk(dest):
        if set(UNITS) <= set(files):
            found.add("/" + os.path.relpath(d, dest))
    assert len(found) == 1, "units installed in %s" % (sorted(found) or "no directory")
    return found.pop()


def unit_paths():
    if not ANALYZE:
        return None
    r = subprocess.run([ANALYZE, "unit-paths"], capture_output=True, text=True)
    return r.stdout.split() if r.returncode == 0 else None


def unit_values(path, key):
    vals = []
    with open(path) as f:
        for line in f:
            if line.startswith(key + "="):
                vals.append(line.split("=", 1)[1].strip())
    return vals


def test_make_builds_man_pages(tmp):
    """`make man` (part of `make`) renders both pages into BUILD/man; with
    no scdoc it succeeds and says so; the README points at the built pages."""
    b = os.path.join(tmp, "build")
    make("man", "BUILD=" + b)
    for m in MANS:
        page = os.path.join(b, "man", m)
        assert os.path.getsize(page) > 0, page
        if shutil.which("man"):
            txt = subprocess.run(["man", "-l", "-P", "cat", page], capture_output=True,
                                 text=True, env=dict(os.environ, MANWIDTH="80")).stdout
            assert m.split(".")[0] in txt and "SYNOPSIS" in txt, txt[:300]
    r = make("man", "BUILD=" + os.path.join(tmp, "b2"), "SCDOC=/nonexistent/scdoc")
    assert "scdoc not found" in r.stdout and "apt-get install scdoc" in r.stdout, r.stdout
    assert not os.path.exists(os.path.join(tmp, "b2", "man", MANS[0]))
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert ".scd" not in readme.split("Man pages")[1][:200] and "build/man/xdpsecd.8" in readme


@pytest.mark.skipif(os.geteuid() != 0, reason="make install as root (file modes)")
def test_install_layout(tmp):
    """Units land where systemd looks: the distribution's directory for
    /usr, /usr/local/lib/systemd/system for /usr/local, /etc/systemd/system
    for any other prefix; man pages under PREFIX/share/man/man8."""
    pc = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                        capture_output=True, text=True).stdout.strip() or "/lib/systemd/system"
    want = {"/usr": pc, "/usr/local": "/usr/local/lib/systemd/system",
            "/opt/xdpsec": "/etc/systemd/system"}
    searched = unit_paths()
    for prefix, udir in want.items():
        dest = install(tmp, prefix)
        got = unit_dir(dest)
        assert got == udir, "PREFIX=%s: units in %s, expected %s" % (prefix, got, udir)
        if searched is not None:
            assert got in searched, "%s is not on systemd's unit path %s" % (got, searched)
        for m in MANS:
            assert os.path.exists(os.path.join(dest + prefix, "share/man/man8", m))
        assert os.path.exists(os.path.join(dest + prefix, "share/doc/xdpsec/xdpsecd.env.example"))
        for u in UNITS:
            with open(os.path.join(dest + got, u)) as f:
                text = f.read()
            assert "@" + "SBINDIR@" not in text and "@HARDENING@" not in text
            assert "ExecStart=%s/sbin/xdpsecd " % prefix in text


@pytest.mark.skipif(os.geteuid() != 0, reason="make install as root (file modes)")
@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")
def test_units_verify_and_security(tmp):
    """`systemd-analyze verify` accepts both installed units without a word
    (their man pages found under the install's MANPATH); the sandbox keeps
    `systemd-analyze security` at or under MAX_EXPOSURE."""
    dest = install(tmp, "/usr/local")
    udir = dest + unit_dir(dest)
    stage = os.path.join(tmp, "verify")
    os.mkdir(stage)
    env = dict(os.environ, MANPATH=os.path.join(dest, "usr/local/share/man"))
    for u in UNITS:
        with open(os.path.join(udir, u)) as f:
            text = f.read()
        # the binary as installed in DESTDIR, so verify can check it
        with open(os.path.join(stage, u), "w") as f:
            f.write(text.replace("/usr/local/sbin/", dest + "/usr/local/sbin/"))
        r = subprocess.run([ANALYZE, "verify", os.path.join(stage, u)], capture_output=True,
                           text=True, env=env, cwd=stage)
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), (u, r.stdout, r.stderr)
        inst = u.replace("@", "@veth0") if "@" in u else u
        if inst != u:
            shutil.copy(os.path.join(stage, u), os.path.join(stage, inst))
        r = subprocess.run([ANALYZE, "security", "--offline=yes", os.path.join(stage, inst)],
                           capture_output=True, text=True, cwd=stage)
        if r.returncode != 0 and "offline" in r.stderr:
            continue            # systemd older than 250: no offline review
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        assert m and float(m.group(1)) <= MAX_EXPOSURE, (inst, r.stdout[-2000:], r.stderr)


def test_plain_unit_refuses_to_start_without_interface(tmp):
    """xdpsecd.service checks XDPSECD_OPTS before starting: no -i, no
    daemon (it would decrypt nothing), with the reason."""
    path = os.path.join(ROOT, "packaging", "xdpsecd.service")
    pre = [v for v in unit_values(path, "ExecStartPre") if "XDPSECD_OPTS" in v]
    assert pre, "xdpsecd.service has no ExecStartPre checking XDPSECD_OPTS"
    argv = shlex.split(pre[0].replace("$$", "$"))
    for opts, ok in (("", False), ("--group xdpsec", False), ("-i eth0", True),
                     ("--group g --interface eth1", True), ("-ieth0 -i eth1", True)):
        r = subprocess.run(argv, env={"XDPSECD_OPTS": opts, "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True)
        assert (r.returncode == 0) == ok, (opts, r.returncode, r.stderr)
        if not ok:
            assert "no interface" in r.stderr


@pytest.fixture
def unit_user():
    """A throwaway system user standing in for the units' User=xdpsec
    (created here, removed afterwards)."""
    if not shutil.which("useradd"):
        pytest.skip("useradd not installed")
    name = "xsunit%d" % (os.getpid() % 100000)
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP)")
def test_template_unit_runs_the_daemon(tmp, unit_user):
    """The daemon started with xdpsecd@veth1.service's ExecStart (paths moved
    into a temporary root) as the unit would start it: as its User=/Group=
    (a throwaway user here), with its AmbientCapabilities=, capability
    bounding set and NoNewPrivileges, its RuntimeDirectory=
    and StateDirectory= owned by the user (/run/lock/xdpsec a fresh tmpfs
    in a mount namespace of its own, as systemd would make it) attaches,
    answers on the socket the unit names, decrypts ESP, and once set up
    holds CAP_NET_ADMIN at most, as its user."""
    if not shutil.which("setpriv") or not shutil.which("unshare"):
        pytest.skip("setpriv/unshare (util-linux) not installed")
    unit = os.path.join(ROOT, "packaging", "xdpsecd@.service")
    hard = os.path.join(ROOT, "packaging", "hardening.conf")
    (start,) = unit_values(unit, "ExecStart")
    (caps,) = unit_values(hard, "CapabilityBoundingSet")
    (ambient,) = unit_values(hard, "AmbientCapabilities")
    assert unit_values(hard, "NoNewPrivileges") == ["yes"]
    assert unit_values(hard, "User") == ["xdpsec"] and unit_values(hard, "Group") == ["xdpsec"]
    assert unit_values(unit, "LimitMEMLOCK") == ["infinity"]
    assert "lock/xdpsec" in unit_values(unit, "RuntimeDirectory")[0].split()
    moved = {"/run/xdpsec/": os.path.join(tmp, "run") + "/",
             "/var/lib/xdpsec/": os.path.join(tmp, "state") + "/",
             "/etc/xdpsec/": os.path.join(tmp, "etc") + "/"}
    line = start.replace("%I", "veth1").replace("@SBINDIR@", BUILD)
    for a, b in moved.items():
        line = line.replace(a, b)
        os.makedirs(b, exist_ok=True)
    os.makedirs(os.path.join(tmp, "run", "veth1"), exist_ok=True)
    open(os.path.join(tmp, "etc", "veth1.conf"), "w").close()   # ExecStartPre's touch
    uid, gid = unit_user.pw_uid, unit_user.pw_gid
    for d in (os.path.join(tmp, "run"), os.path.join(tmp, "run", "veth1"),
              os.path.join(tmp, "state")):
        os.chown(d, uid, gid)                    # RuntimeDirectory=, StateDirectory=
    os.chown(os.path.join(tmp, "etc", "veth1.conf"), 0, gid)     # ExecStartPre's chgrp
    os.chmod(os.path.join(tmp, "etc", "veth1.conf"), 0o640)
    os.chmod(tmp, 0o755)
    argv = [w for w in shlex.split(line) if w != "$XDPSECD_OPTS"]
    bounding = ",".join("+" + c.lower()[4:] for c in caps.split())
    amb = ",".join("+" + c.lower()[4:] for c in ambient.split())
    sandbox = ("mount -t tmpfs -o mode=0750,uid=%d,gid=%d xdpsec-lock /run/lock/xdpsec && "
               "exec setpriv --reuid %d --regid %d --init-groups "
               "--no-new-privs --inh-caps=-all,%s --ambient-caps=-all,%s "
               "--bounding-set=-all,%s \"$@\"" % (uid, gid, uid, gid, amb, amb, bounding))
    gen = espgen.Gen(seed=97, spi_base=0x97000, port_base=38500)
    case = gen.frag_after(4, "gcm", 3, "shuffled", count=6)
    try:
        e = XdpsecEnv(tag="un", daemon=False).__enter__()
    except DaemonUnavailable as ex:
        pytest.skip(str(ex))
    try:
        e.sock = argv[argv.index("-S") + 1]
        log = open(e.daemon_log, "a")
        os.makedirs("/run/lock/xdpsec", exist_ok=True)
        e.daemon = e.pair.b.popen(["unshare", "-m", "--propagation", "private",
                                   "sh", "-c", sandbox, "sh"] + argv,
                                  stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 15
        while time.time() < deadline and e.daemon.poll() is None:
            if os.path.exists(e.sock) and e.ctl("status", check=False).returncode == 0:
                break
            time.sleep(0.1)
        assert e.daemon.poll() is None, e.log_tail()
        e.sa_add(case.sa_lines())
        res = e.run_case(case)
        assert sorted(res.payloads) == sorted(case.payloads), (res.delta, e.log_tail())
        assert os.path.exists(os.path.join(tmp, "state", "veth1.json"))
        with open("/proc/%d/status" % e.daemon.pid) as f:
            st = dict(line.split(":", 1) for line in f)
        assert st["Uid"].split() == [str(uid)] * 4, st["Uid"]
        assert int(st["CapEff"], 16) & ~((1 << 12) | (1 << 39)) == 0, st["CapEff"]
        assert int(st["CapAmb"], 16) == int(st["CapEff"], 16) and int(st["CapEff"], 16) >> 12 & 1
        assert st["NoNewPrivs"].strip() == "1"
    finally:
        e.close()
