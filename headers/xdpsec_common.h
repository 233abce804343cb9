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

/* ---- Counters, defined once.
 * Each list below gives, per entry, the enum name, the counter's name in
 * `xdpsecctl stats` (group/name, stable: scripts and Prometheus use it)
 * and a line of help saying what it counts; the event list also gives the
 * group and whether it counts dropped packets.  The enums below and the
 * daemon's counter table (user/dataplane/dp_stats.c) are made from these
 * lists, so they cannot drift apart.  The order is the BPF counter map's
 * layout (enum xdpsec_counter): append, never reorder.
 */

/* Classification (what the classify program decided): one counter each,
 * group "classify".  X(id, name, help) */
#define XDPSEC_CLASS_LIST(X) \
	X(PLAIN, "class_plain", \
	  "frames neither ESP nor fragmented: passed to the stack (bypass)") \
	X(PLAIN_FRAG, "class_plain_frag", \
	  "non-ESP IP fragments: passed to the stack, which reassembles them") \
	X(ESP, "class_esp", \
	  "whole ESP or ESP-in-UDP datagrams") \
	X(ESP_FRAG_FIRST, "class_esp_frag_first", \
	  "first fragments of ESP datagrams") \
	X(ESP_FRAG_MIDDLE, "class_esp_frag_middle", \
	  "middle fragments of ESP datagrams (IP protocol 50, or UDP of a NAT-T peer pair)") \
	X(ESP_FRAG_LAST, "class_esp_frag_last", \
	  "last fragments of ESP datagrams") \
	X(IKE, "class_ike", \
	  "IKE on the NAT-T port (non-ESP marker): passed to the stack") \
	X(NATT_KEEPALIVE, "class_natt_keepalive", \
	  "NAT-T keepalives (one 0xFF byte on the NAT-T port): passed to the stack") \
	X(MALFORMED, "class_malformed", \
	  "malformed frames (the drop_* counters say why)") \
	X(PLAINTEXT, "class_plaintext", \
	  "frames the daemon decrypted, as the decrypt program saw them come back")

/* Drop / anomaly reasons of the BPF stages, after XDPSEC_DROP_NONE: one
 * counter each, group "classify", counted as drops.  X(id, name, help) */
#define XDPSEC_DROP_LIST(X) \
	X(TRUNC_ETH, "drop_trunc_eth", "frames shorter than an Ethernet header") \
	X(TRUNC_VLAN, "drop_trunc_vlan", "frames whose VLAN tag is cut short") \
	X(VLAN_DEPTH, "drop_vlan_depth", "frames with more than two VLAN tags") \
	X(TRUNC_IPV4, "drop_trunc_ipv4", "IPv4 packets shorter than their header (IHL)") \
	X(IPV4_BAD_IHL, "drop_ipv4_bad_ihl", "IPv4 packets with IHL below 5") \
	X(IPV4_BAD_VERSION, "drop_ipv4_bad_version", \
	  "packets of EtherType IPv4 whose version is not 4") \
	X(IPV4_BAD_LEN, "drop_ipv4_bad_len", \
	  "IPv4 packets whose total length is below IHL or beyond the frame") \
	X(TRUNC_IPV6, "drop_trunc_ipv6", "IPv6 packets shorter than the IPv6 header") \
	X(IPV6_BAD_LEN, "drop_ipv6_bad_len", "IPv6 packets whose payload length is beyond the frame") \
	X(IPV6_TRUNC_EXTHDR, "drop_ipv6_trunc_exthdr", "IPv6 packets with an extension header cut short") \
	X(IPV6_EXTHDR_DEPTH, "drop_ipv6_exthdr_depth", \
	  "IPv6 packets whose extension header chain is deeper than the parser walks") \
	X(FRAG_TOO_BIG, "drop_frag_too_big", "fragments whose offset + length exceeds 65535") \
	X(FRAG_ZERO_LEN, "drop_frag_zero_len", "fragments with no payload") \
	X(TRUNC_ESP, "drop_trunc_esp", "ESP packets too short for SPI and sequence number") \
	X(TRUNC_UDP, "drop_trunc_udp", "UDP packets whose header is cut short") \
	X(ESP_ZERO_SPI, "drop_esp_zero_spi", "ESP packets with SPI 0 (reserved, RFC 4303 2.1)") \
	X(UNKNOWN_SPI, "drop_unknown_spi", "ESP packets with no SA for (destination, SPI)") \
	X(REPLAY_EARLY, "drop_replay_early", \
	  "ESP packets left of their SA's replay window, dropped in XDP") \
	X(BAD_TAG, "drop_bad_tag", \
	  "frames whose tag is cut short, has a bad magic or origin, or cannot be removed") \
	X(NO_XSK, "drop_no_xsk", "frames for the daemon while no daemon socket was bound") \
	X(IPV6_HBH_NOT_FIRST, "drop_ipv6_hbh_not_first", \
	  "IPv6 packets with a hop-by-hop header anywhere but right after the IPv6 header (RFC 8200 4.1)")

/* Events, after the class and drop counters.
 * X(id, group, name, help, is_drop) */
#define XDPSEC_CNT_EVENT_LIST(X) \
	X(REDIRECTED, "classify", "redirected", \
	  "IPsec frames redirected to the daemon's feedback pair", 0) \
	X(REDIRECT_FAIL, "classify", "redirect_fail", \
	  "IPsec frames whose redirect failed: passed to the stack untouched", 0) \
	X(NOT_CONFIGURED, "classify", "not_configured", \
	  "IPsec frames passed to the stack because no daemon serves the interface", 0) \
	X(MALFORMED_PASSED, "classify", "malformed_passed", \
	  "malformed frames passed to the stack (malformed policy: pass)", 0) \
	X(MALFORMED_DROPPED, "classify", "malformed_dropped", \
	  "malformed frames dropped (malformed policy: drop)", 0) \
	X(ATOMIC_FRAG, "classify", "atomic_frag", \
	  "atomic fragments (RFC 6946: offset 0, no more fragments), handled as whole", 0) \
	X(DEC_FRESH, "decrypt", "fresh", \
	  "frames the decrypt program received from an ingress interface", 0) \
	X(DEC_REENTERED, "decrypt", "reentered", \
	  "frames the decrypt program received back from the daemon (feedback path)", 0) \
	X(DEC_TO_REASM, "decrypt", "to_reasm", \
	  "ESP fragments sent to the daemon's reassembly", 0) \
	X(DEC_TO_ESP, "decrypt", "to_esp", \
	  "whole ESP datagrams sent to the daemon's ESP engine", 0) \
	X(DEC_PASS_PLAIN, "decrypt", "pass_plain", \
	  "plaintext the decrypt program passed into the host stack", 0) \
	X(DEC_UNTAGGED, "decrypt", "untagged", \
	  "frames without a frame tag on the feedback pair: not ours, passed", 0) \
	X(PLAIN_FRAG_FIRST, "classify", "plain_frag_datagrams", \
	  "plain fragments at offset 0: one per datagram the kernel reassembles", 0) \
	X(DEC_IKE, "decrypt", "ike_passed", \
	  "IKE and NAT-T keepalives the decrypt program passed to the stack", 0) \
	X(STEERED, "classify", "steered", \
	  "IPsec frames sent through the CPUMAP (per-peer steering)", 0) \
	X(STEER_FAIL, "classify", "steer_fail", \
	  "IPsec frames whose CPUMAP redirect failed: sent to the feedback pair directly", 0) \
	X(TAG_NO_ROOM, "classify", "tag_no_room", \
	  "IPsec frames without headroom for the frame tag: passed to the stack untouched", 0) \
	X(STEER_UNTAGGED, "classify", "steer_passed_untagged", \
	  "frames the steer program found no feedback slot for: tag removed, passed to the stack", 0) \
	/* Stage totals: each program's frames in = out + dropped \
	 * (docs/counters.md, user/common/counter_balance.c) */ \
	X(EARLY_DROPPED, "classify", "early_dropped", \
	  "whole ESP datagrams the classify program dropped before the redirect " \
	  "(unknown SPI, or left of the replay window; drop_* says which)", 0) \
	X(DEC_RX, "decrypt", "rx", \
	  "frames the decrypt program received, fresh and re-entered", 0) \
	X(DEC_PASSED, "decrypt", "passed", \
	  "frames the decrypt program passed to the stack, tag removed", 0) \
	X(DEC_DROPPED, "decrypt", "dropped", \
	  "frames the decrypt program dropped (each also counted under its drop_* reason)", 0) \
	X(STEER_FWD, "classify", "steer_forwarded", \
	  "frames the steer program redirected into the feedback pair", 0) \
	X(STEER_DROPPED, "classify", "steer_dropped", \
	  "frames the steer program dropped: feedback slot gone and the tag could not be removed", 0) \
	X(CPUMAP_DROPPED, "classify", "cpumap_dropped", \
	  "frames the kernel dropped on a full CPUMAP queue, before the steer program", 0)

enum xdpsec_class {
#define XDPSEC_X(id, name, help) XDPSEC_CLASS_##id,
	XDPSEC_CLASS_LIST(XDPSEC_X)
#undef XDPSEC_X
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

enum xdpsec_drop_reason {
	XDPSEC_DROP_NONE = 0,
#define XDPSEC_X(id, name, help) XDPSEC_DROP_##id,
	XDPSEC_DROP_LIST(XDPSEC_X)
#undef XDPSEC_X
	XDPSEC_DROP__MAX
};

/* One per-CPU array indexed by this enum (Cilium style): class counters
 * first (index == enum xdpsec_class), then drops (XDPSEC_CNT_DROP_BASE +
 * reason), then the events. */
enum xdpsec_counter {
	XDPSEC_CNT_CLASS_BASE      = 0,
	XDPSEC_CNT_DROP_BASE       = XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS__MAX,
	XDPSEC_CNT_EVENT_BASE      = XDPSEC_CNT_DROP_BASE + XDPSEC_DROP__MAX,
	XDPSEC_CNT__BEFORE_EVENTS  = XDPSEC_CNT_EVENT_BASE - 1,   /* so the list starts at EVENT_BASE */
#define XDPSEC_X(id, group, name, help, is_drop) XDPSEC_CNT_##id,
	XDPSEC_CNT_EVENT_LIST(XDPSEC_X)
#undef XDPSEC_X
	XDPSEC_CNT__MAX
};
/* The map layout adopted programs and older daemons share. */
_Static_assert(XDPSEC_CLASS__MAX == 10 && XDPSEC_DROP__MAX == 22 && XDPSEC_CNT__MAX == 57,
	       "counter layout changed: append to the lists, and update this check");
_Static_assert(XDPSEC_CNT_REDIRECTED == XDPSEC_CNT_EVENT_BASE, "events start after the drops");

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
