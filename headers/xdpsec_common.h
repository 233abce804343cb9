/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_common.h - definitions shared by the XDP programs and userspace
 * (xdp-tools' common_kern_user.h pattern).
 *
 * Everything that crosses the kernel/user boundary lives here: the
 * per-frame tag (struct xdpsec_tag), the classification and drop-reason enums, the
 * counter index enum, map key/value structs and map names.  BPF code
 * includes it after vmlinux.h; userspace after <linux/types.h>.
 */
#ifndef XDPSEC_COMMON_H
#define XDPSEC_COMMON_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* ---- Map names (as they appear in `bpftool map`; names are max 15 chars) */
#define XDPSEC_MAP_COUNTERS  "xdpsec_cnt"     /* per-CPU array, enum xdpsec_counter  */
#define XDPSEC_MAP_CONFIG    "xdpsec_cfg"     /* array[1] of struct xdpsec_config     */
#define XDPSEC_MAP_DEVMAP    "xdpsec_devmap"  /* DEVMAP: slot 0 = feedback near end   */
#define XDPSEC_MAP_SA        "xdpsec_sa"      /* HASH: struct xdpsec_sa_key -> _val   */
#define XDPSEC_MAP_XSKS      "xdpsec_xsks"    /* XSKMAP on the feedback far end       */
#define XDPSEC_MAP_SA_STATE "xdpsec_sastate" /* mmapable ARRAY: sa_index -> replay  */
#define XDPSEC_MAP_CPUMAP    "xdpsec_cpumap"  /* CPUMAP: per-peer steering (below)  */
#define XDPSEC_MAP_NATT      "xdpsec_natt"    /* HASH: NAT-T peer pair -> UDP ports */

/* Folder for pins made by the daemon (xdp-tools style). */
#define XDPSEC_PIN_DIR       "/sys/fs/bpf/xdpsec"

#define XDPSEC_SA_MAX        4096
#define XDPSEC_XSK_MAX       64
#define XDPSEC_DEVMAP_FEEDBACK 0   /* DEVMAP slot of the feedback near end */
#define XDPSEC_CPU_MAX       64    /* CPUMAP slots (CPU ids) used for steering */

/* What one daemon serves.  xdpsecd checks both when it starts
 * (user/daemon/xdpsecd.c); the data plane (user/dataplane/dataplane.c, user/io/cpu_steer.h)
 * sizes its arrays with them. */
#define XDPSEC_IFACES_MAX    8     /* ingress interfaces (-i)                 */
#define XDPSEC_WORKERS_MAX   64    /* workers = feedback queues = XSKMAP and
				      CPUMAP slots (XDPSEC_XSK_MAX,
				      XDPSEC_CPU_MAX); at most the online CPUs */

/* Default UDP port of ESP-in-UDP (RFC 3948). Configurable in xdpsec_config
 * (xdpsecd --natt-port); an SA's own encap port counts for its peer pair
 * (struct xdpsec_natt_val). */
#define XDPSEC_NATT_PORT     4500

/* ---- Classification (what the classify program decided) */
enum xdpsec_class {
	XDPSEC_CLASS_PLAIN = 0,          /* not ESP, not fragmented: bypass        */
	XDPSEC_CLASS_PLAIN_FRAG,         /* not ESP, IP fragment: kernel reassembles */
	XDPSEC_CLASS_ESP,                /* whole ESP (or ESP-in-UDP)              */
	XDPSEC_CLASS_ESP_FRAG_FIRST,     /* first fragment of an ESP datagram      */
	XDPSEC_CLASS_ESP_FRAG_MIDDLE,    /* non-first, non-last fragment (see note) */
	XDPSEC_CLASS_ESP_FRAG_LAST,      /* last fragment                          */
	XDPSEC_CLASS_IKE,                /* UDP/4500 with the non-ESP marker       */
	XDPSEC_CLASS_NATT_KEEPALIVE,     /* UDP/4500 with one 0xFF byte            */
	XDPSEC_CLASS_MALFORMED,          /* see enum xdpsec_drop_reason            */
	XDPSEC_CLASS_PLAINTEXT,          /* decrypted by the daemon (decrypt stage) */
	XDPSEC_CLASS__MAX
};
/*
 * Note on non-first fragments: only the first fragment carries the
 * protocol's header, so a middle/last fragment is "ESP" only because its IP
 * protocol field says 50, or, for ESP-in-UDP, 17 between a NAT-T peer pair
 * (struct xdpsec_natt_key): every UDP fragment between two addresses that
 * an `encap espinudp` SA joins goes to the daemon, first ones included, so
 * a datagram is never split between the daemon and the stack.  UDP
 * fragments between any other addresses are the stack's.
 */

/* ---- Drop / anomaly reasons of the BPF stages */
enum xdpsec_drop_reason {
	XDPSEC_DROP_NONE = 0,
	XDPSEC_DROP_TRUNC_ETH,           /* frame shorter than an Ethernet header  */
	XDPSEC_DROP_TRUNC_VLAN,          /* VLAN tag cut short                     */
	XDPSEC_DROP_VLAN_DEPTH,          /* more than two VLAN tags                */
	XDPSEC_DROP_TRUNC_IPV4,          /* shorter than the IPv4 header/IHL       */
	XDPSEC_DROP_IPV4_BAD_IHL,        /* IHL < 5                                */
	XDPSEC_DROP_IPV4_BAD_VERSION,    /* version nibble is not 4                */
	XDPSEC_DROP_IPV4_BAD_LEN,        /* total length < IHL or > frame          */
	XDPSEC_DROP_TRUNC_IPV6,          /* shorter than the IPv6 header           */
	XDPSEC_DROP_IPV6_BAD_LEN,        /* payload length > frame                 */
	XDPSEC_DROP_IPV6_TRUNC_EXTHDR,   /* extension header cut short             */
	XDPSEC_DROP_IPV6_EXTHDR_DEPTH,   /* extension chain deeper than the bound  */
	XDPSEC_DROP_FRAG_TOO_BIG,        /* fragment offset + length > 65535       */
	XDPSEC_DROP_FRAG_ZERO_LEN,       /* fragment with no payload               */
	XDPSEC_DROP_TRUNC_ESP,           /* ESP header (SPI+seq) cut short         */
	XDPSEC_DROP_TRUNC_UDP,           /* UDP header cut short                   */
	XDPSEC_DROP_ESP_ZERO_SPI,        /* SPI 0 is reserved (RFC 4303 2.1)       */
	XDPSEC_DROP_UNKNOWN_SPI,         /* decrypt stage: no SA for (dst, SPI)    */
	XDPSEC_DROP_REPLAY_EARLY,        /* decrypt stage: left of replay window   */
	XDPSEC_DROP_BAD_TAG,             /* decrypt stage: frame tag cut short,
					    bad magic/origin, or not removable    */
	XDPSEC_DROP_NO_XSK,              /* decrypt stage: no daemon socket        */
	XDPSEC_DROP_IPV6_HBH_NOT_FIRST,  /* hop-by-hop header anywhere but right
					    after the IPv6 header (RFC 8200 4.1) */
	XDPSEC_DROP__MAX
};

/* ---- Counters: one per-CPU array indexed by this enum (Cilium style).
 * Class counters first (index == enum xdpsec_class), then drops (offset by
 * XDPSEC_CNT_DROP_BASE + reason), then steering events. */
enum xdpsec_counter {
	XDPSEC_CNT_CLASS_BASE      = 0,
	XDPSEC_CNT_DROP_BASE       = XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS__MAX,
	XDPSEC_CNT_REDIRECTED      = XDPSEC_CNT_DROP_BASE + XDPSEC_DROP__MAX,
	XDPSEC_CNT_REDIRECT_FAIL,        /* bpf_redirect_map returned an error     */
	XDPSEC_CNT_NOT_CONFIGURED,       /* ESP passed: no DEVMAP entry (no daemon) */
	XDPSEC_CNT_MALFORMED_PASSED,     /* malformed, policy = pass               */
	XDPSEC_CNT_MALFORMED_DROPPED,    /* malformed, policy = drop               */
	XDPSEC_CNT_ATOMIC_FRAG,          /* RFC 6946 atomic fragment seen (whole)  */
	/* decrypt program (feedback far end) */
	XDPSEC_CNT_DEC_FRESH,            /* frame redirected from an ingress netdev */
	XDPSEC_CNT_DEC_REENTERED,        /* frame produced by the daemon (feedback) */
	XDPSEC_CNT_DEC_TO_REASM,         /* ESP fragment -> daemon reassembly      */
	XDPSEC_CNT_DEC_TO_ESP,           /* whole ESP -> daemon ESP engine         */
	XDPSEC_CNT_DEC_PASS_PLAIN,       /* plaintext passed into the host stack   */
	XDPSEC_CNT_DEC_UNTAGGED,         /* no frame tag: not ours, passed         */
	XDPSEC_CNT_PLAIN_FRAG_FIRST,     /* plain fragments at offset 0: one per
					    datagram the kernel reassembles      */
	XDPSEC_CNT_DEC_IKE,              /* decrypt stage: IKE/keepalive passed    */
	XDPSEC_CNT_STEERED,              /* IPsec frame sent via the CPUMAP        */
	XDPSEC_CNT_STEER_FAIL,           /* CPUMAP redirect failed: sent direct    */
	XDPSEC_CNT_TAG_NO_ROOM,          /* no headroom for the frame tag: the
					    IPsec frame was passed to the stack  */
	XDPSEC_CNT_STEER_UNTAGGED,       /* steer program: feedback slot gone, tag
					    removed, frame passed to the stack   */
	/* Stage totals: each program's frames in = out + dropped
	 * (docs/counters.md, user/common/counter_balance.c) */
	XDPSEC_CNT_EARLY_DROPPED,        /* classify: whole ESP dropped early
					    (UNKNOWN_SPI / REPLAY_EARLY)         */
	XDPSEC_CNT_DEC_RX,               /* decrypt program: every frame          */
	XDPSEC_CNT_DEC_PASSED,           /* decrypt program: passed to the stack,
					    tag removed                          */
	XDPSEC_CNT_DEC_DROPPED,          /* decrypt program: dropped (and counted
					    under its reason)                    */
	XDPSEC_CNT_STEER_FWD,            /* steer program: into the feedback pair */
	XDPSEC_CNT_STEER_DROPPED,        /* steer program: slot gone, tag stuck   */
	XDPSEC_CNT_CPUMAP_DROPPED,       /* CPUMAP queue full: frames the kernel
					    dropped before the steer program
					    (bpf/steer.bpf.c, raw tracepoint)    */
	XDPSEC_CNT__MAX
};

/* ---- Runtime configuration of the classify program (array map, key 0). */
enum xdpsec_malformed_policy {
	XDPSEC_MALFORMED_PASS = 0,       /* default: let the stack judge           */
	XDPSEC_MALFORMED_DROP = 1,
};

#define XDPSEC_CFG_EARLY_DROP  (1u << 1) /* classify looks whole ESP up in the SA
					    map and drops unknown SPIs and
					    sequence numbers left of the replay
					    window before the redirect (set by
					    the daemon once it owns the SA map) */

struct xdpsec_config {
	__u32 malformed_policy;          /* enum xdpsec_malformed_policy           */
	__u16 natt_port;                 /* host order; 0 means XDPSEC_NATT_PORT   */
	__u16 flags;                     /* XDPSEC_CFG_*                           */
	/* Per-peer steering.  0: IPsec frames are redirected straight into the
	 * feedback pair, landing on the far-end queue of whichever CPU ran
	 * this program, so one SA's packets can reach two daemon workers and
	 * be reordered by more than a replay window.  N > 0: each frame first
	 * goes through CPUMAP slot hash(src, dst) % N, whose program
	 * (bpf/steer.bpf.c) redirects it on that CPU: every packet and
	 * fragment between two peers lands on the same queue, in order. */
	__u32 steer_cpus;
};

/* ---- The frame tag: what one stage tells the next about a frame.
 *
 * It travels in-band on every hop, in one format:
 *
 *   [Ethernet: dst, src, type XDPSEC_TAG_ETHERTYPE][struct xdpsec_tag][IP]
 *
 *   wire -> decrypt program: written by the classify program (which drops
 *           the frame's own Ethernet/VLAN header for it) before the CPUMAP
 *           and DEVMAP redirects;
 *   decrypt program -> daemon: kept in the frame, updated in place, over
 *           the XSKMAP;
 *   daemon -> decrypt program: written by the daemon on AF_XDP TX.
 *
 * Why in-band and not XDP metadata: AF_XDP TX carries no XDP metadata, and
 * kernels differ in whether they let XDP programs grow it at all (the
 * 6.18.44 build these machines ran on 2026-12-07 refuses the helper that
 * does to every XDP program type; see docs/architecture.md).  Packet bytes survive every hop on every kernel.
 * 0x88B5 is IEEE 802's "local experimental" EtherType; the feedback pair is
 * private to the host, so a tagged frame never reaches a wire.  The decrypt
 * program removes the tag before anything reaches the host's stack.
 *
 * Writers and parsers: headers/xdpsec_tag.bpf.h (BPF side),
 * user/io/frame_tag.c (daemon side). */
#define XDPSEC_TAG_MAGIC      0x58505345u /* "XPSE" */
#define XDPSEC_TAG_ETHERTYPE  0x88B5
#define XDPSEC_TAG_OFF        14          /* the tag follows the Ethernet header */

enum xdpsec_origin {
	XDPSEC_ORIGIN_WIRE = 1,          /* classify program, fresh from ingress   */
	XDPSEC_ORIGIN_DAEMON = 2,        /* produced by xdpsecd (feedback path)    */
};

/* Bits of xdpsec_tag.path: the branch of the decision tree a datagram is
 * on, accumulated as the daemon learns its history layer by layer. */
#define XDPSEC_PATH_ESP            (1u << 0) /* at least one ESP layer          */
#define XDPSEC_PATH_FRAG_BEFORE    (1u << 1) /* inner fragments were decrypted  */
#define XDPSEC_PATH_FRAG_AFTER     (1u << 2) /* ciphertext was reassembled      */
#define XDPSEC_PATH_FRAG_BETWEEN   (1u << 3) /* reassembled between two layers  */
#define XDPSEC_PATH_NESTED         (1u << 4) /* more than one ESP layer         */

struct xdpsec_tag {
	__u32 magic;                     /* XDPSEC_TAG_MAGIC                       */
	__u8  class;                     /* enum xdpsec_class                      */
	__u8  origin;                    /* enum xdpsec_origin                     */
	__u8  layer;                     /* ESP layers removed so far              */
	__u8  l3_off;                    /* offset of the IP header in the frame:
					    always XDPSEC_TAG_L3_OFF              */
	__u32 ingress_ifindex;           /* where the datagram entered the host    */
	__u32 rx_queue;                  /* its rx queue there                     */
	__u32 sa_index;                  /* decrypt stage: SA found (or ~0)        */
	__u32 path;                      /* XDPSEC_PATH_* bits                     */
	__u32 spi;                       /* network order, 0 if not ESP            */
	__u32 seq;                       /* ESP sequence number (host order)       */
};

/* Offset of the IP header in a tagged frame. */
#define XDPSEC_TAG_L3_OFF     (XDPSEC_TAG_OFF + 32)
_Static_assert(sizeof(struct xdpsec_tag) == XDPSEC_TAG_L3_OFF - XDPSEC_TAG_OFF,
	       "the tag is 32 bytes on every side");

/* ---- NAT-T peer pairs: (peer, local) address pairs that an ESP-in-UDP SA
 * joins, with the SAs' UDP ports.  Set by the daemon from its SA table.  A
 * whole UDP datagram between them to one of these ports (or to the default
 * port) is ESP-in-UDP unless it starts with the non-ESP marker; every UDP
 * fragment between them goes to the daemon.  Nothing else is touched. */
#define XDPSEC_NATT_PORTS_MAX 4

struct xdpsec_natt_key {
	__u8  family;                    /* AF_INET / AF_INET6                     */
	__u8  pad[3];
	__u8  saddr[16];                 /* the peer (the SA's src)                */
	__u8  daddr[16];                 /* this host (the SA's dst)               */
};

struct xdpsec_natt_val {
	__u16 port[XDPSEC_NATT_PORTS_MAX]; /* host order, 0 = unused slot          */
};

/* ---- SA map shared with the decrypt program: (family, dst, SPI) -> index.
 * The daemon owns the SA table; the kernel gets only what it needs for the
 * early drop of unknown SPIs and of sequence numbers left of the window. */
struct xdpsec_sa_key {
	__u32 spi;                       /* network order                          */
	__u8  family;                    /* AF_INET / AF_INET6                     */
	__u8  proto;                     /* IPPROTO_ESP (50)                       */
	__u16 encap_port;                /* 0 = plain ESP, else UDP dst port (host) */
	__u8  daddr[16];                 /* IPv4 in the first 4 bytes, rest zero   */
};

#define XDPSEC_SA_F_ESN      (1u << 0)
#define XDPSEC_SA_F_TUNNEL   (1u << 1)
#define XDPSEC_SA_F_VALID    (1u << 31)

struct xdpsec_sa_val {
	__u32 sa_index;                  /* index into the daemon's SA table and
					    into XDPSEC_MAP_SA_STATE               */
	__u32 flags;                     /* XDPSEC_SA_F_*                          */
};

/* Replay state the kernel reads for its early drop.  An ARRAY map created
 * with BPF_F_MMAPABLE, indexed by sa_index: the daemon mmap()s it and
 * stores replay_top after each ICV verifies -- no syscall per packet.
 * The kernel only reads; a stale (lower) replay_top only makes the early
 * drop more permissive, never wrong: the daemon's window is authoritative. */
struct xdpsec_sa_state {
	__u64 replay_top;                /* highest authenticated sequence number
					    (full 64 bits with ESN)                */
	__u32 replay_window;             /* window size in packets, 0 = no check   */
	__u32 flags;                     /* XDPSEC_SA_F_* (VALID when in use)      */
};

#endif /* XDPSEC_COMMON_H */
