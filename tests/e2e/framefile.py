"""framefile - the frame file the e2e tests and bench/pipeline.py hand to a
sender in another namespace (another process): records <u32 length><bytes>.

No scapy here: the senders import this and start in a fraction of a second.
"""
import struct


def write_frames(path, frames):
    with open(path, "wb") as f:
        for fr in frames:
            f.write(struct.pack("!I", len(fr)) + fr)


def read_frames(path, min_len=0):
    """The frames of PATH; ValueError on a truncated file or on a record
    shorter than MIN_LEN bytes."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off + 4 <= len(data):
        (n,) = struct.unpack_from("!I", data, off)
        off += 4
        if n < min_len or off + n > len(data):
            raise ValueError("bad frame file %s: record of %d bytes at %d" % (path, n, off - 4))
        out.append(data[off:off + n])
        off += n
    return out
