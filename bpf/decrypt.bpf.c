// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * decrypt.bpf.c - the decrypt stage's kernel half, attached natively on
 * the far end of the feedback veth pair: the one entrance of the decrypt
 * stage, for fresh and fed-back frames alike (docs/decision-tree.md).
 *
 * Every ciphertext frame enters here through the same door, tagged in-band
 * ([Ethernet 0x88B5][struct xdpsec_tag][IP], see xdpsec_common.h):
 *  - fresh frames, redirected by the classify program (origin WIRE);
 *  - frames the daemon sends back in with AF_XDP TX on the near end
 *    (origin DAEMON): reassembled ciphertext (the feedback path), decrypted
 *    payloads that are again ESP (nested layers) or IP fragments, and
 *    finished plaintext.
 * Frames for the daemon keep the tag, updated in place (class, SA index,
 * SPI, sequence number); frames for the host stack lose it.
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
 * is the tag + an IPv6 datagram of 40 + 65535 bytes (see dataplane.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpsec_common.h"
#include "xdpsec_maps.bpf.h"
#include "xdpsec_parse.h"
#include "xdpsec_tag.bpf.h"
#include "xdpsec_classify.bpf.h"

/* Set false by the daemon, before load, on a kernel without multi-buffer
 * XDP (kernel_features.h): the program is then loaded without the frags
 * flag and never calls bpf_xdp_get_buff_len (a constant the verifier
 * knows: the call is dead code it never checks). */
const volatile bool xdpsec_multibuf = true;

/* Every frame ends in exactly one of DEC_UNTAGGED, DEC_PASSED,
 * DEC_TO_REASM, DEC_TO_ESP or DEC_DROPPED (DEC_RX = their sum). */
static __always_inline int drop(enum xdpsec_drop_reason r)
{
	xdpsec_count(XDPSEC_CNT_DROP_BASE + r);
	xdpsec_count(XDPSEC_CNT_DEC_DROPPED);
	return XDP_DROP;
}

/* Into the host stack: without the tag, which only xdpsec understands. */
static __always_inline int pass(struct xdp_md *ctx)
{
	if (xdpsec_tag_pop(ctx))
		return drop(XDPSEC_DROP_BAD_TAG);
	xdpsec_count(XDPSEC_CNT_DEC_PASSED);
	return XDP_PASS;
}

/* Update the frame's tag in place and redirect to this queue's AF_XDP
 * socket: the daemon reads the tag in front of the IP header.  `cnt`
 * (DEC_TO_REASM / DEC_TO_ESP) counts only a frame that is on its way. */
static __always_inline int to_daemon(struct xdp_md *ctx, const struct xdpsec_tag *m, __u32 cnt)
{
	__u32 q = ctx->rx_queue_index;
	struct xdpsec_tag *t;
	long ret;

	if (!bpf_map_lookup_elem(&xdpsec_xsks, &q))
		return drop(XDPSEC_DROP_NO_XSK);
	t = xdpsec_tag_at(ctx);
	if (!t)
		return drop(XDPSEC_DROP_BAD_TAG);
	__builtin_memcpy(t, m, sizeof(*m));
	ret = bpf_redirect_map(&xdpsec_xsks, q, XDP_DROP);
	if (ret != XDP_REDIRECT)      /* the socket went since the lookup */
		return drop(XDPSEC_DROP_NO_XSK);
	xdpsec_count(cnt);
	return ret;
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
	struct xdpsec_tag m, *t;
	struct xdpsec_pkt pkt;
	struct xdpsec_config *cfg;
	struct ethhdr *eth = data;
	__u32 zero = 0, frame_len;
	__u16 natt = XDPSEC_NATT_PORT;
	enum xdpsec_class cls;

	xdpsec_count(XDPSEC_CNT_DEC_RX);
	if ((void *)(eth + 1) > data_end)
		return drop(XDPSEC_DROP_TRUNC_ETH);
	if (eth->h_proto != bpf_htons(XDPSEC_TAG_ETHERTYPE)) {
		/* not sent by us (e.g. the stack's own traffic) */
		xdpsec_count(XDPSEC_CNT_DEC_UNTAGGED);
		return XDP_PASS;
	}
	t = xdpsec_tag_at(ctx);
	if (!t || t->magic != XDPSEC_TAG_MAGIC)
		return drop(XDPSEC_DROP_BAD_TAG);
	__builtin_memcpy(&m, t, sizeof(m));
	if (m.origin == XDPSEC_ORIGIN_DAEMON) {
		xdpsec_count(XDPSEC_CNT_DEC_REENTERED);
		if (m.class == XDPSEC_CLASS_PLAINTEXT) {
			/* whole plaintext: the daemon addressed it to the far
			 * end's MAC; the stack takes it from here */
			xdpsec_count(XDPSEC_CNT_DEC_PASS_PLAIN);
			return pass(ctx);
		}
	} else if (m.origin == XDPSEC_ORIGIN_WIRE) {
		xdpsec_count(XDPSEC_CNT_DEC_FRESH);
	} else {
		return drop(XDPSEC_DROP_BAD_TAG);
	}

	cfg = bpf_map_lookup_elem(&xdpsec_cfg, &zero);
	if (cfg && cfg->natt_port)
		natt = cfg->natt_port;
	/* the whole frame, fragments included: reassembled datagrams are
	 * multi-buffer above ~3.5 KiB */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	frame_len = xdpsec_multibuf ? (__u32)bpf_xdp_get_buff_len(ctx)
				    : (__u32)(data_end - data);
	/* the classify program's own classifier, behind the tag */
	cls = xdpsec_classify_frame(data, data_end, frame_len, natt, XDPSEC_PARSE_TAGGED, &pkt);
	m.l3_off = XDPSEC_TAG_L3_OFF;
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
		return to_daemon(ctx, &m, XDPSEC_CNT_DEC_TO_REASM);
	case XDPSEC_CLASS_PLAIN_FRAG:
		if (m.origin != XDPSEC_ORIGIN_DAEMON)
			return pass(ctx);
		/* an inner fragment the daemon decrypted: reassemble it */
		m.class = cls;
		return to_daemon(ctx, &m, XDPSEC_CNT_DEC_TO_REASM);
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
		/* Fresh frames only: a datagram the daemon reassembled comes
		 * back behind whole packets that arrived after it and may have
		 * moved the edge past it; its window verdict was taken when its
		 * last fragment arrived, and the daemon alone holds that
		 * (user/esp/replay_arrived.h). */
		if (m.origin == XDPSEC_ORIGIN_WIRE && replay_early_drop(sa->sa_index, pkt.seq))
			return drop(XDPSEC_DROP_REPLAY_EARLY);
		m.class = cls;
		m.sa_index = sa->sa_index;
		return to_daemon(ctx, &m, XDPSEC_CNT_DEC_TO_ESP);
	}
	case XDPSEC_CLASS_IKE:
	case XDPSEC_CLASS_NATT_KEEPALIVE:
		xdpsec_count(XDPSEC_CNT_DEC_IKE);
		return pass(ctx);
	default:
		if (m.origin == XDPSEC_ORIGIN_DAEMON)
			xdpsec_count(XDPSEC_CNT_DEC_PASS_PLAIN);
		return pass(ctx);
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
