/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_tag.bpf.h - the BPF side's one writer and one remover of the
 * in-band frame tag (format: struct xdpsec_tag in xdpsec_common.h).
 *
 *   xdpsec_tag_push(): the classify program, before its redirect.
 *       [Ethernet][VLAN tags...][IP]  ->  [Ethernet 0x88B5][tag][IP]
 *       The frame's VLAN tags are dropped: past the classify program
 *       nothing needs them, and the far end of the feedback pair has no VLAN
 *       devices to give them to.  The MAC addresses stay.
 *   xdpsec_tag_pop(): before a tagged frame is passed to a stack.
 *       [Ethernet 0x88B5][tag][IP]  ->  [Ethernet IPv4/IPv6][IP]
 *
 * The parser (xdpsec_parse_frame() with XDPSEC_PARSE_TAGGED in
 * xdpsec_parse.h) finds the IP header behind the tag; the decrypt program
 * updates the tag in place for the daemon (xdpsec_tag_at()).  Only
 * bpf_xdp_adjust_head is used: it moves the start of the frame by whole
 * bytes, which every kernel with XDP allows.  Include after xdpsec_parse.h.
 */
#ifndef XDPSEC_TAG_BPF_H
#define XDPSEC_TAG_BPF_H

#define XDPSEC_TAG_LEN ((int)sizeof(struct xdpsec_tag))

/* The tag of a tagged frame, or NULL when the frame is too short for one
 * or is not tagged. */
static __always_inline struct xdpsec_tag *xdpsec_tag_at(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xdpsec_tag *t = data + XDPSEC_TAG_OFF;

	if ((void *)(t + 1) > data_end)
		return NULL;
	if (eth->h_proto != bpf_htons(XDPSEC_TAG_ETHERTYPE))
		return NULL;
	return t;
}

/*
 * Replace the l3_off bytes in front of the IP header (Ethernet and VLAN
 * tags; 14..22 bytes) with [Ethernet 0x88B5][*t].  Returns 0, or -1 when
 * the frame has no room for the tag (then it is left as it was).
 */
static __always_inline int xdpsec_tag_push(struct xdp_md *ctx, __u32 l3_off,
					   const struct xdpsec_tag *t)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 macs[12];

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (l3_off < XDPSEC_ETH_HLEN || l3_off > XDPSEC_TAG_L3_OFF)
		return -1;
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (int)l3_off - XDPSEC_TAG_L3_OFF))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if (data + XDPSEC_TAG_L3_OFF > data_end)
		return -1;   /* cannot happen: the frame only grew */
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(XDPSEC_TAG_ETHERTYPE);
	__builtin_memcpy(data + XDPSEC_TAG_OFF, t, sizeof(*t));
	return 0;
}

/* [Ethernet 0x88B5][tag][IP] -> [Ethernet IPv4/IPv6][IP], the MAC
 * addresses kept.  Returns 0, or -1 when the frame is not a tagged IP
 * frame (left as it was). */
static __always_inline int xdpsec_tag_pop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *neth;
	__u8 *ip = data + XDPSEC_TAG_L3_OFF;
	__u16 proto;

	if ((void *)(ip + 1) > data_end)
		return -1;
	if (eth->h_proto != bpf_htons(XDPSEC_TAG_ETHERTYPE))
		return -1;
	if ((ip[0] >> 4) == 4)
		proto = bpf_htons(XDPSEC_ETH_P_IP);
	else if ((ip[0] >> 4) == 6)
		proto = bpf_htons(XDPSEC_ETH_P_IPV6);
	else
		return -1;
	/* the new Ethernet header sits right in front of the IP header */
	neth = (void *)ip - sizeof(*neth);
	__builtin_memcpy(neth->h_source, eth->h_source, 6);
	__builtin_memcpy(neth->h_dest, eth->h_dest, 6);
	neth->h_proto = proto;
	if (bpf_xdp_adjust_head(ctx, XDPSEC_TAG_LEN))
		return -1;
	return 0;
}

#endif /* XDPSEC_TAG_BPF_H */
