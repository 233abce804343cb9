#!/usr/bin/python3
"""bench/perf_split - where each µs of a datagram goes, from a profile that
`bench/pipeline.py --perf PREFIX` recorded (perf record -a -g -e cpu-clock).

Only the tasks that carry the benchmark's traffic are counted: the sender
and sink (by name), the daemon (by PID: other daemons may run on the same
machine) and its CPUMAP kthreads (by PID), ksoftirqd.  Each sample goes to
the innermost frame of its call chain that names a stage (table STAGES),
so a veth copy made inside the daemon's AF_XDP transmit counts as the copy,
not as the transmit.  Figures are µs of CPU per delivered datagram: a
sample's period over the datagrams sent while recording.

Only samples inside the paced runs count (sender's first frame to the
sink's last datagram, CLOCK_MONOTONIC, which the profile is recorded in):
the sender and sink load their files before that.

usage: perf_split.py PREFIX-STREAM.json   (written by pipeline.py --perf)
"""
import collections
import json
import subprocess
import sys

# innermost match wins; prefixes of kernel symbol names
STAGES = [
    ("veth: copy of the skb for XDP (skb_pp_cow_data)", ("skb_pp_cow_data", "page_pool_alloc",
                                                         "page_pool_refill", "skb_cow_data_for_xdp")),
    ("XDP program: classify", ("bpf_prog_", "classify")),
    ("XDP program: decrypt", ("bpf_prog_", "decrypt")),
    ("XDP program: steer (CPUMAP)", ("bpf_prog_", "steer")),
    ("AF_XDP RX: copy into the UMEM", ("xsk_rcv", "__xsk_rcv", "xsk_generic_rcv", "xsk_copy_xdp",
                                       "__xsk_map_redirect", "xsk_flush")),
    ("AF_XDP TX: skb alloc + copy", ("xsk_build_skb", "sock_alloc_send_pskb", "xsk_destruct_skb",
                                     "xsk_cq_")),
    ("AF_XDP TX: other", ("__xsk_generic_xmit", "xsk_generic_xmit", "xsk_sendmsg", "__xsk_sendmsg")),
    ("CPUMAP kthread / enqueue", ("cpu_map_", "__cpu_map", "bq_flush_to_queue", "cpu_map_kthread_run",
                                  "cpu_map_bpf_prog_run")),
    ("DEVMAP -> veth ndo_xdp_xmit", ("dev_map_", "bq_xmit_all", "veth_xdp_xmit", "veth_ndo_xdp_xmit",
                                     "__dev_flush")),
    ("skb from xdp_buff after XDP_PASS", ("__build_skb_around", "__xdp_build_skb_from_frame",
                                          "napi_build_skb", "veth_xdp_rcv_bulk_skb", "build_skb")),
    ("veth NAPI / XDP glue", ("veth_poll", "veth_xdp_rcv", "xdp_do_redirect", "xdp_do_flush",
                              "bpf_prog_run_xdp", "__napi_poll", "net_rx_action", "napi_")),
    ("veth transmit", ("veth_xmit", "veth_forward_skb", "__dev_direct_xmit", "dev_hard_start_xmit",
                       "__dev_queue_xmit", "dev_queue_xmit")),
    ("IP/UDP receive (stack)", ("ip_", "udp", "__udp", "ipv6_", "ip6_", "__netif_receive_skb",
                                "netif_receive_skb", "gro_", "napi_gro", "sock_def_readable", "fib_",
                                "__fib", "raw_local_deliver", "__skb_flow_dissect", "ip6", "__udp6",
                                "icmp", "eth_type_trans", "process_backlog", "netif_rx")),
    ("AF_PACKET send", ("packet_sendmsg", "packet_snd", "tpacket_", "packet_xmit", "packet_pick_tx")),
    ("UDP recvmmsg (sink)", ("udp_recvmsg", "__skb_recv_udp", "skb_copy_datagram", "do_recvmmsg",
                             "___sys_recvmsg", "__sys_recvmmsg", "skb_consume_udp")),
    ("sleep / wake-up (poll, scheduler)", ("do_sys_poll", "__x64_sys_poll", "schedule", "__schedule",
                                           "finish_task_switch", "poll_schedule_timeout",
                                           "do_nanosleep", "hrtimer_nanosleep", "ep_poll",
                                           "do_epoll_wait", "try_to_wake_up", "sock_poll",
                                           "xsk_poll", "__pollwait", "pollwake", "wake_up",
                                           "__wake_up", "common_nsleep", "clock_nanosleep")),
    ("sendmmsg/sendto syscall", ("__sys_sendmmsg", "___sys_sendmsg", "____sys_sendmsg",
                                 "__sys_sendto", "copy_msghdr", "__import_iovec", "sock_sendmsg")),
    ("syscall entry/exit", ("entry_SYSCALL", "do_syscall_64", "syscall_exit", "exit_to_user")),
]
CRYPTO = ("..@", "aes", "gcm", "ghash", "chacha", "poly", "imb_", "IMB", "_16_blocks", "aesni")


def stage_of(frames):
    """FRAMES: [(sym, dso)] leaf first."""
    for sym, dso in frames:
        if "kernel" not in dso and not dso.startswith("[") and not sym.startswith("bpf_prog_"):
            if dso.endswith("xdpsecd") and any(c in sym for c in CRYPTO):
                return "daemon: ESP crypto (ipsec-mb)"
            if dso.endswith("xdpsecd") or "libxdp" in dso:
                return "daemon: user code (pipeline, ESP engine, rings)"
            if "libcrypto" in dso:
                return "daemon: ESP crypto (OpenSSL)"
            continue               # libc: look further in
        for name, keys in STAGES:
            if name.startswith("XDP program"):
                if sym.startswith(keys[0]) and keys[1] in sym:
                    return name
                continue
            if sym.startswith(keys):
                return name
    if frames and ("kernel" not in frames[0][1]):
        return "user code (libc)"
    return "other kernel"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        meta = json.load(f)
    path, dgs, dpid = meta["data"], meta["datagrams"], meta["daemon_pid"]
    kthreads = set(meta["cpumap_pids"])
    wins = meta["windows"]
    p = subprocess.Popen(["perf", "script", "-i", path, "-F", "comm,pid,tid,time,period,ip,sym,dso"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    acc = collections.defaultdict(lambda: collections.Counter())
    head, frames = None, []

    def flush():
        if head is None:
            return
        comm, pid, tid, t, period = head
        if not any(a <= t <= b for a, b in wins):
            return
        role = ("sender" if comm == "traffic_send" else "sink" if comm == "traffic_sink" else
                "daemon" if pid == dpid else "cpumap" if tid in kthreads else
                "ksoftirqd" if comm.startswith("ksoftirqd/") else None)
        if role:
            acc[stage_of(frames)][role] += period
    for line in p.stdout:
        if not line.strip():
            continue
        if not line[0].isspace():
            flush()
            parts = line.split()
            # comm may contain spaces: pid/tid, time and period come last
            pt, t, period = parts[-3], parts[-2], parts[-1]
            comm = " ".join(parts[:-3])
            pid, tid = (int(x) for x in pt.split("/"))
            head, frames = (comm, pid, tid, float(t.rstrip(":")), int(period)), []
        else:
            parts = line.split()
            if len(parts) >= 3:
                frames.append((parts[1].split("+")[0], parts[-1].strip("()")))
    flush()
    roles = ("sender", "cpumap", "daemon", "sink", "ksoftirqd")
    tot = collections.Counter()
    rows = []
    for st, c in sorted(acc.items(), key=lambda kv: -sum(kv[1].values())):
        rows.append([st] + ["%.2f" % (c[r] / 1e3 / dgs) for r in roles] +
                    ["%.2f" % (sum(c.values()) / 1e3 / dgs)])
        tot.update(c)
    rows.append(["total"] + ["%.2f" % (tot[r] / 1e3 / dgs) for r in roles] +
                ["%.2f" % (sum(tot.values()) / 1e3 / dgs)])
    print("%s: %d datagrams; the tasks' own clocks say %.2f µs per datagram (median run)\n"
          % (path, dgs, sorted(meta["us_per_dg"])[len(meta["us_per_dg"]) // 2]))
    hdr = ["stage (µs per datagram)"] + list(roles) + ["all"]
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    for row in [hdr] + rows:
        print("| " + " | ".join(str(x).ljust(n) for x, n in zip(row, w)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
