#!/usr/bin/python3
"""bpf_load - load every program of BPF objects into the running kernel, one
program at a time, and print the verifier's verdict and work for each.

usage: sudo tests/kernels/bpf_load.py [OBJ.bpf.o ...]   (default: $BUILD/*.bpf.o)

One line per program:
    xdpsec.bpf.o  xdpsec_classify   ok       processed 146012 insns  (0.21 s)
    decrypt.bpf.o xdpsec_decrypt    REFUSED  back-edge from insn 793 to 794
and, for a refused program, the last lines of the verifier log.  Exit status
1 when any program is refused.  This is what catches a code shape (a loop,
a helper, a kfunc) that the newest verifier accepts and an older one does
not: `make test-kernels` runs it on every kernel of the matrix.

Each program is loaded alone (the others of its object set not to load),
with BPF_LOG_STATS; a refused one is loaded again with the full log.  Uses
libbpf through ctypes (libbpf1), so it needs nothing built.
"""
import ctypes
import glob
import os
import sys
import time

lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
lib.bpf_object__open_file.restype = ctypes.c_void_p
lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
lib.bpf_object__next_program.restype = ctypes.c_void_p
lib.bpf_object__next_program.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
lib.bpf_program__name.restype = ctypes.c_char_p
lib.bpf_program__name.argtypes = [ctypes.c_void_p]
lib.bpf_program__section_name.restype = ctypes.c_char_p
lib.bpf_program__section_name.argtypes = [ctypes.c_void_p]
lib.bpf_program__set_autoload.argtypes = [ctypes.c_void_p, ctypes.c_bool]
lib.bpf_program__set_log_level.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
lib.bpf_program__set_log_buf.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.bpf_object__load.argtypes = [ctypes.c_void_p]
lib.bpf_object__close.argtypes = [ctypes.c_void_p]
PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
lib.libbpf_set_print.argtypes = [PRINT_FN]
lib.libbpf_set_print.restype = ctypes.c_void_p

LIBBPF_MSGS = []
libc = ctypes.CDLL(None)
libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]


@PRINT_FN
def _print(level, fmt, args):
    # libbpf's own warnings (a missing kfunc or helper is reported here,
    # not by the verifier): formatted with vsnprintf (va_list is a pointer
    # on x86-64 and arm64)
    if level <= 0:      # LIBBPF_WARN
        buf = ctypes.create_string_buffer(1024)
        libc.vsnprintf(buf, len(buf), fmt, args)
        LIBBPF_MSGS.append(buf.value.decode(errors="replace").strip())
    return 0


lib.libbpf_set_print(_print)


def programs(path):
    obj = lib.bpf_object__open_file(path.encode(), None)
    if not obj:
        return None
    names, p = [], None
    while True:
        p = lib.bpf_object__next_program(obj, p)
        if not p:
            break
        names.append((lib.bpf_program__name(p).decode(),
                      lib.bpf_program__section_name(p).decode()))
    lib.bpf_object__close(obj)
    return names


def load_one(path, name, level, bufsize):
    """Returns (err, log) for program `name` of `path` loaded alone."""
    obj = lib.bpf_object__open_file(path.encode(), None)
    if not obj:
        return -ctypes.get_errno(), "cannot open %s" % path
    buf = ctypes.create_string_buffer(bufsize)
    p = None
    while True:
        p = lib.bpf_object__next_program(obj, p)
        if not p:
            break
        if lib.bpf_program__name(p).decode() == name:
            lib.bpf_program__set_log_level(p, level)
            lib.bpf_program__set_log_buf(p, buf, bufsize)
        else:
            lib.bpf_program__set_autoload(p, False)
    del LIBBPF_MSGS[:]
    err = lib.bpf_object__load(obj)
    lib.bpf_object__close(obj)
    return err, buf.value.decode(errors="replace")


def stats(log):
    for line in log.splitlines():
        if line.startswith("processed "):
            return line.split(" (")[0]
    return ""


def main(argv):
    objs = argv[1:]
    if not objs:
        b = os.environ.get("BUILD", "build")
        objs = sorted(glob.glob(os.path.join(b, "*.bpf.o")))
    if not objs:
        print("bpf_load: no BPF objects (make first)", file=sys.stderr)
        return 2
    refused = 0
    rows = []
    for o in objs:
        progs = programs(o)
        if progs is None:
            rows.append((os.path.basename(o), "-", "REFUSED", "cannot open the object"))
            refused += 1
            continue
        for name, sec in progs:
            t = time.monotonic()
            err, log = load_one(o, name, 4, 1 << 16)
            dt = time.monotonic() - t
            if err == 0:
                rows.append((os.path.basename(o), name, "ok", "%s  (%.2f s)" % (stats(log), dt)))
                continue
            refused += 1
            err2, full = load_one(o, name, 1, 64 << 20)
            lines = [x for x in (full or log).splitlines() if x.strip()]
            why = next((x for x in reversed(lines)
                        if not x.startswith(("processed ", "verification time", "stack depth"))),
                       "") or "; ".join(LIBBPF_MSGS[-2:]) or os.strerror(-err)
            rows.append((os.path.basename(o), name, "REFUSED", "%s (%s)" % (why, os.strerror(-err))))
            tail = lines[-12:]
            if tail:        # none when libbpf refused it before the verifier
                rows.append(("", "", "", "verifier log, last lines:\n      " + "\n      ".join(tail)))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for r in rows:
        print("%-*s  %-*s  %-7s  %s" % (w0, r[0], w1, r[1], r[2], r[3]))
    print("bpf_load: %d program(s) refused" % refused if refused else "bpf_load: every program loads")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
