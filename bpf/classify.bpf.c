// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * classify.bpf.c - xdpsec's ingress XDP program (built as build/xdpsec.bpf.o).
 *
 *   ip link set dev IFACE xdp obj build/xdpsec.bpf.o sec xdp
 *
 * Classifies every received frame (xdpsec_parse.h) and steers it:
 *   plain, plain fragment                     -> XDP_PASS, or XDP_DROP when
 *                                                the inbound SPD wants it
 *                                                protected (xdpsec_spd.bpf.h)
 *   IKE, NAT keepalive                        -> XDP_PASS
 *   ESP / ESP-in-UDP, whole or fragment       -> frame tag + DEVMAP redirect
 *                                                to the feedback veth (or
 *                                                XDP_PASS when unset), via
 *                                                the CPUMAP slot of the peer
 *                                                pair when steering is on
 *   malformed                                 -> XDP_DROP or XDP_PASS by policy
 * One self-contained program: iproute2 loads only the program it attaches.
 * See docs/classify.md for the table and the counters.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpsec_common.h"
#include "xdpsec_maps.bpf.h"
#include "xdpsec_parse.h"
#include "xdpsec_tag.bpf.h"
#include "xdpsec_classify.bpf.h"
#include "xdpsec_spd.bpf.h"

/*
 * Optional early drop (XDPSEC_CFG_EARLY_DROP) of whole ESP: an unknown
 * (family, dst, SPI, encap port) or a sequence number left of the replay
 * window.  Conservative by construction: only what the daemon would
 * certainly reject is dropped here.  Returns a drop reason or 0.
 */
static __always_inline int early_drop(const struct xdpsec_pkt *p)
{
	struct xdpsec_sa_key key = {};
	struct xdpsec_sa_val *sa;
	struct xdpsec_sa_state *st;
	__u32 idx;
	__u64 top, win;

	key.spi = p->spi;
	key.family = p->family;
	key.proto = XDPSEC_IPPROTO_ESP;
	key.encap_port = p->encap_port;
	__builtin_memcpy(key.daddr, p->daddr, sizeof(key.daddr));
	sa = bpf_map_lookup_elem(&xdpsec_sa, &key);
	if (!sa)
		return XDPSEC_DROP_UNKNOWN_SPI;

	idx = sa->sa_index;
	st = bpf_map_lookup_elem(&xdpsec_sastate, &idx);
	if (!st || !(st->flags & XDPSEC_SA_F_VALID) || !st->replay_window)
		return 0;
	/* ESN: the wire carries only the low 32 bits and RFC 4303 App. A
	 * maps every value into [bottom, bottom + 2^32): nothing is provably
	 * left of the window without the bitmap.  Never drop. */
	if ((sa->flags | st->flags) & XDPSEC_SA_F_ESN)
		return 0;
	top = st->replay_top;       /* the daemon may be ahead: that is safe */
	win = st->replay_window;
	if (top >= win && (__u64)p->seq < top - win + 1)
		return XDPSEC_DROP_REPLAY_EARLY;
	return 0;
}

/* CPUMAP slot of a peer pair: a hash of source and destination only, so
 * whole packets and every fragment between two peers (whose non-first
 * fragments carry no SPI) take the same CPU, hence the same far-end queue
 * and daemon worker, in arrival order. */
static __always_inline __u32 steer_slot(const struct xdpsec_pkt *p, __u32 n)
{
	__u32 h = 0, w;

	for (int i = 0; i < 16; i += 4) {
		__builtin_memcpy(&w, &p->saddr[i], 4);
		h ^= w;
		__builtin_memcpy(&w, &p->daddr[i], 4);
		h = (h ^ w) * 0x9E3779B1u;
	}
	h ^= h >> 16;
	return n ? h % n : 0;
}

/* Is a daemon there to take IPsec frames?  Not when the feedback slot is
 * unset (never started, or stopped) or worker 0's queue has no socket (the
 * kernel removes a socket from its XSKMAP slots when it closes: the daemon
 * was killed).  Then the frame goes to the stack as it is, counted, and
 * nothing of the daemon's (early drop included) applies. */
static __always_inline int daemon_alive(void)
{
	__u32 slot = XDPSEC_DEVMAP_FEEDBACK, xsk0 = 0;

	return bpf_map_lookup_elem(&xdpsec_devmap, &slot) &&
	       bpf_map_lookup_elem(&xdpsec_xsks, &xsk0);
}

/* Tag + redirect into the feedback veth; XDP_PASS when the daemon has not
 * set the DEVMAP slot (the stack drops ESP it has no state for).  The
 * redirect target is chosen first and the tag written last: the redirect
 * itself happens after the program returns, and a frame that cannot be
 * redirected reaches the stack as it arrived. */
static __always_inline int steer_esp(struct xdp_md *ctx, const struct xdpsec_pkt *p,
				     enum xdpsec_class cls, __u32 steer_cpus)
{
	__u32 slot = XDPSEC_DEVMAP_FEEDBACK;
	struct xdpsec_tag t = {};
	long ret = XDP_ABORTED;
	int steered = 0;

	if (steer_cpus && steer_cpus <= XDPSEC_CPU_MAX) {
		ret = bpf_redirect_map(&xdpsec_cpumap, steer_slot(p, steer_cpus), 0);
		if (ret == XDP_REDIRECT)
			steered = 1;
		else
			xdpsec_count(XDPSEC_CNT_STEER_FAIL);
	}
	/* lower bits of flags = action if the slot vanished meanwhile */
	if (!steered)
		ret = bpf_redirect_map(&xdpsec_devmap, slot, XDP_PASS);
	if (ret != XDP_REDIRECT) {
		xdpsec_count(XDPSEC_CNT_REDIRECT_FAIL);
		return XDP_PASS;
	}

	t.magic = XDPSEC_TAG_MAGIC;
	t.class = cls;
	t.origin = XDPSEC_ORIGIN_WIRE;
	t.l3_off = XDPSEC_TAG_L3_OFF;
	t.ingress_ifindex = ctx->ingress_ifindex;
	t.rx_queue = ctx->rx_queue_index;
	t.sa_index = ~0u;
	t.path = XDPSEC_PATH_ESP | (p->is_fragment ? XDPSEC_PATH_FRAG_AFTER : 0);
	t.spi = p->has_esp ? p->spi : 0;
	t.seq = p->has_esp ? p->seq : 0;
	if (xdpsec_tag_push(ctx, p->l3_off, &t)) {
		/* no headroom: the frame is untouched, the stack gets it */
		xdpsec_count(XDPSEC_CNT_TAG_NO_ROOM);
		return XDP_PASS;
	}
	if (steered)
		xdpsec_count(XDPSEC_CNT_STEERED);
	xdpsec_count(XDPSEC_CNT_REDIRECTED);
	return XDP_REDIRECT;
}

SEC("xdp")
int xdpsec_classify(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpsec_config *cfg;
	struct xdpsec_pkt p;
	__u32 zero = 0, flags = 0, policy = XDPSEC_MALFORMED_PASS, steer_cpus = 0;
	__u16 natt = XDPSEC_NATT_PORT;
	enum xdpsec_class cls;
	int r;

	cfg = bpf_map_lookup_elem(&xdpsec_cfg, &zero);
	if (cfg) {
		flags = cfg->flags;
		policy = cfg->malformed_policy;
		if (cfg->natt_port)
			natt = cfg->natt_port;
		steer_cpus = cfg->steer_cpus;
	}

	cls = xdpsec_classify_frame(data, data_end, (__u32)(data_end - data), natt, 0, &p);
	xdpsec_count(XDPSEC_CNT_CLASS_BASE + cls);
	if (p.is_atomic)
		xdpsec_count(XDPSEC_CNT_ATOMIC_FRAG);
	/* one per datagram the kernel will reassemble (the path counter) */
	if (cls == XDPSEC_CLASS_PLAIN_FRAG && p.is_first)
		xdpsec_count(XDPSEC_CNT_PLAIN_FRAG_FIRST);

	switch (cls) {
	case XDPSEC_CLASS_MALFORMED:
		xdpsec_count(XDPSEC_CNT_DROP_BASE + p.reason);
		if (policy == XDPSEC_MALFORMED_DROP) {
			xdpsec_count(XDPSEC_CNT_MALFORMED_DROPPED);
			return XDP_DROP;
		}
		xdpsec_count(XDPSEC_CNT_MALFORMED_PASSED);
		return XDP_PASS;
	case XDPSEC_CLASS_ESP:
	case XDPSEC_CLASS_ESP_FRAG_FIRST:
	case XDPSEC_CLASS_ESP_FRAG_MIDDLE:
	case XDPSEC_CLASS_ESP_FRAG_LAST:
		if (!daemon_alive()) {
			xdpsec_count(XDPSEC_CNT_NOT_CONFIGURED);
			return XDP_PASS;
		}
		/* fragments are not early-dropped: no SA check before
		 * reassembly */
		if (cls == XDPSEC_CLASS_ESP && (flags & XDPSEC_CFG_EARLY_DROP)) {
			r = early_drop(&p);
			if (r) {
				xdpsec_count(XDPSEC_CNT_DROP_BASE + r);
				xdpsec_count(XDPSEC_CNT_EARLY_DROPPED);
				return XDP_DROP;
			}
		}
		return steer_esp(ctx, &p, cls, steer_cpus);
	case XDPSEC_CLASS_PLAIN:
	case XDPSEC_CLASS_PLAIN_FRAG:
		return xdpsec_spd_plain(data, data_end, &p, natt);
	default:
		return XDP_PASS;
	}
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
