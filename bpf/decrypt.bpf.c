// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * decrypt.bpf.c - the decrypt stage's kernel half, attached natively on
 * the far end of the feedback veth pair (the patent's IPsec processing
 * logic 21a, input 124 behind multiplexer 120).
 *
 * Every ciphertext frame enters here through the same door:
 *  - fresh frames, redirected by the classify program (XDP metadata with
 *    origin WIRE in front of the frame);
 *  - frames the daemon sends back in with AF_XDP TX on the near end, which
 *    carry their tag in-band (EtherType XDPSEC_SHIM_ETHERTYPE + struct
 *    xdpsec_meta) because AF_XDP TX has no XDP metadata: reassembled
 *    ciphertext (the feedback path), decrypted payloads that are again ESP
 *    (nested layers) or IP fragments, and finished plaintext.
 *
 * Steering:
 *   ESP fragment, or a plain fragment the daemon decrypted -> XSKMAP (reassembly)
 *   whole ESP -> SA lookup + replay pre-check -> XSKMAP (ESP engine)
 *   plaintext from the daemon -> XDP_PASS into the host stack
 *   unknown SPI / left of the replay window / malformed -> XDP_DROP, counted
 *
 * SEC("xdp.frags"): the daemon's frames can be up to 64 KiB (reassembled
 * datagrams); a frags-aware program lets the pair run with a large MTU.
 * Such a frame arrives as a multi-buffer xdp_buff: about 3.5 KiB of linear
 * data (every header we read is there) and page-sized fragments.  The IP
 * length is checked against the whole frame (bpf_xdp_get_buff_len), the
 * XSKMAP redirect takes it whole (the daemon's sockets are bound with
 * XDP_USE_SG) and XDP_PASS hands it to the stack whole.
 *
 * xdpsec_near, the second program of this object, is attached to the near
 * end.  It passes everything (the near end only receives what the far
 * end's stack sends), but being frags-aware it raises the far end's
 * maximum MTU above 65535: veth drops a frame longer than the receiving
 * end's MTU + 18 before any XDP program runs, and the daemon's largest frame
 * is shim + an IPv6 datagram of 40 + 65535 bytes (see dataplane.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpsec_common.h"
#include "xdpsec_maps.bpf.h"
#include "xdpsec_parse.h"

#define META_LEN ((int)sizeof(struct xdpsec_meta))

/* One AF_XDP socket per far-end queue, inserted by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDPSEC_XSK_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xdpsec_xsks SEC(".maps");

static __always_inline int drop(enum xdpsec_drop_reason r)
{
	xdpsec_count(XDPSEC_CNT_DROP_BASE + r);
	return XDP_DROP;
}

/* Strip the daemon's in-band shim: [eth][meta][IP] -> [eth][IP] and copy
 * the tag to *m.  Returns 0, or a drop reason. */
static __always_inline int strip_shim(struct xdp_md *ctx, struct xdpsec_meta *m)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *neth;
	struct xdpsec_meta *sm;
	__u8 *ip;
	__u16 proto;

	sm = data + sizeof(*eth);
	ip = (__u8 *)(sm + 1);
	if ((void *)(ip + 1) > data_end)
		return XDPSEC_DROP_META;
	if (sm->magic != XDPSEC_META_MAGIC)
		return XDPSEC_DROP_META;
	__builtin_memcpy(m, sm, sizeof(*m));
	if ((ip[0] >> 4) == 4)
		proto = bpf_htons(XDPSEC_ETH_P_IP);
	else if ((ip[0] >> 4) == 6)
		proto = bpf_htons(XDPSEC_ETH_P_IPV6);
	else
		return XDPSEC_DROP_META;
	/* new Ethernet header right in front of the IP header */
	neth = (void *)ip - sizeof(*neth);
	__builtin_memcpy(neth->h_source, eth->h_source, 6);
	__builtin_memcpy(neth->h_dest, eth->h_dest, 6);
	neth->h_proto = proto;
	if (bpf_xdp_adjust_head(ctx, META_LEN))
		return XDPSEC_DROP_META;
	return 0;
}

/* Write *m as XDP metadata (reusing the classify program's when present)
 * and redirect to this queue's AF_XDP socket. */
static __always_inline int to_daemon(struct xdp_md *ctx, struct xdpsec_meta *m)
{
	__u32 q = ctx->rx_queue_index;
	void *data, *meta;
	long metalen;

	if (!bpf_map_lookup_elem(&xdpsec_xsks, &q))
		return drop(XDPSEC_DROP_NO_XSK);
	/* one adjustment from whatever metadata is there (the classify
	 * program's, or none for re-entered frames) to exactly ours */
	metalen = (long)ctx->data - (long)ctx->data_meta;
	if (metalen != META_LEN && bpf_xdp_adjust_meta(ctx, (int)metalen - META_LEN))
		return drop(XDPSEC_DROP_ADJUST_META);
	/* keep clang from reusing ctx+offset pointers: the verifier only
	 * accepts ctx field loads of the form *(ctx + const) */
	asm volatile("" : "+r"(ctx));
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if (meta + META_LEN > data)
		return drop(XDPSEC_DROP_ADJUST_META);
	__builtin_memcpy(meta, m, sizeof(*m));
	return bpf_redirect_map(&xdpsec_xsks, q, XDP_DROP);
}

/* Non-ESN only: a sequence number at or left of (top - window) can never
 * be accepted.  With ESN the low 32 bits alone cannot tell "old" from "next
 * epoch", so the daemon alone decides (never drop what it might accept). */
static __always_inline bool replay_early_drop(__u32 sa_index, __u32 seq)
{
	struct xdpsec_sa_state *st = bpf_map_lookup_elem(&xdpsec_sastate, &sa_index);
	__u64 top, w;

	if (!st || (st->flags & XDPSEC_SA_F_ESN) || !st->replay_window)
		return false;
	top = st->replay_top;
	w = st->replay_window;
	return top >= w && (__u64)seq <= top - w;
}

SEC("xdp.frags")
int xdpsec_decrypt(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpsec_meta m = {};
	struct xdpsec_pkt pkt;
	struct xdpsec_config *cfg;
	struct ethhdr *eth = data;
	__u32 zero = 0, flags = 0, frame_len;
	__u16 natt = XDPSEC_NATT_PORT;
	enum xdpsec_class cls;
	int r;

	if ((void *)(eth + 1) > data_end)
		return drop(XDPSEC_DROP_TRUNC_ETH);

	if (eth->h_proto == bpf_htons(XDPSEC_SHIM_ETHERTYPE)) {
		r = strip_shim(ctx, &m);
		if (r)
			return drop(r);
		m.origin = XDPSEC_ORIGIN_DAEMON;
		xdpsec_count(XDPSEC_CNT_DEC_REENTERED);
		if (m.class == XDPSEC_CLASS_PLAINTEXT) {
			/* whole plaintext: the daemon addressed it to the far
			 * end's MAC; the stack takes it from here */
			xdpsec_count(XDPSEC_CNT_DEC_PASS_PLAIN);
			return XDP_PASS;
		}
	} else {
		struct xdpsec_meta *wm = (void *)(long)ctx->data_meta;

		if ((void *)(wm + 1) > data || wm->magic != XDPSEC_META_MAGIC) {
			/* not redirected by us (e.g. the stack's own traffic) */
			xdpsec_count(XDPSEC_CNT_DEC_FOREIGN);
			return XDP_PASS;
		}
		__builtin_memcpy(&m, wm, sizeof(m));
		m.origin = XDPSEC_ORIGIN_WIRE;
		xdpsec_count(XDPSEC_CNT_DEC_FRESH);
	}

	cfg = bpf_map_lookup_elem(&xdpsec_cfg, &zero);
	if (cfg) {
		if (cfg->natt_port)
			natt = cfg->natt_port;
		flags = cfg->flags;
	}
	/* the whole frame, fragments included: reassembled datagrams are
	 * multi-buffer above ~3.5 KiB */
	frame_len = (__u32)bpf_xdp_get_buff_len(ctx);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* Frames the daemon re-injects are ESP or fragments it has just seen:
	 * UDP non-first fragments are steered only when configured. */
	cls = xdpsec_parse_frame(data, data_end, frame_len, natt, flags, &pkt);
	m.l3_off = (__u8)pkt.l3_off;
	m.spi = pkt.spi;
	m.seq = pkt.seq;
	m.sa_index = ~0u;

	switch (cls) {
	case XDPSEC_CLASS_MALFORMED:
		return drop(pkt.reason);
	case XDPSEC_CLASS_ESP_FRAG_FIRST:
	case XDPSEC_CLASS_ESP_FRAG_MIDDLE:
	case XDPSEC_CLASS_ESP_FRAG_LAST:
		m.class = cls;
		xdpsec_count(XDPSEC_CNT_DEC_TO_REASM);
		return to_daemon(ctx, &m);
	case XDPSEC_CLASS_PLAIN_FRAG:
		if (m.origin != XDPSEC_ORIGIN_DAEMON)
			return XDP_PASS;
		/* an inner fragment the daemon decrypted: reassemble it */
		m.class = cls;
		xdpsec_count(XDPSEC_CNT_DEC_TO_REASM);
		return to_daemon(ctx, &m);
	case XDPSEC_CLASS_ESP: {
		struct xdpsec_sa_key key = {
			.spi = pkt.spi,
			.family = pkt.family,
			.proto = XDPSEC_IPPROTO_ESP,
			.encap_port = pkt.encap_port,
		};
		struct xdpsec_sa_val *sa;

		__builtin_memcpy(key.daddr, pkt.daddr, sizeof(key.daddr));
		sa = bpf_map_lookup_elem(&xdpsec_sa, &key);
		if (!sa)
			return drop(XDPSEC_DROP_UNKNOWN_SPI);
		if (replay_early_drop(sa->sa_index, pkt.seq))
			return drop(XDPSEC_DROP_REPLAY_EARLY);
		m.class = cls;
		m.sa_index = sa->sa_index;
		xdpsec_count(XDPSEC_CNT_DEC_TO_ESP);
		return to_daemon(ctx, &m);
	}
	case XDPSEC_CLASS_IKE:
	case XDPSEC_CLASS_NATT_KEEPALIVE:
		xdpsec_count(XDPSEC_CNT_DEC_IKE);
		return XDP_PASS;
	default:
		if (m.origin == XDPSEC_ORIGIN_DAEMON)
			xdpsec_count(XDPSEC_CNT_DEC_PASS_PLAIN);
		return XDP_PASS;
	}
}

/* The near end's program (see the top of this file): frames the far end's
 * stack sends (neighbour discovery, ICMP errors) go on to the near end's
 * stack, as they would without a program. */
SEC("xdp.frags")
int xdpsec_near(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
