/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_parse.h - bounded, verifier-friendly packet parsing shared by
 * every xdpsec BPF program (BPF side only).
 *
 * Include after vmlinux.h, <bpf/bpf_helpers.h>, <bpf/bpf_endian.h> and
 * xdpsec_common.h.  One entry point:
 *
 *   enum xdpsec_class xdpsec_parse(data, data_end, natt_port, cfg_flags, &pkt)
 *
 * fills struct xdpsec_pkt and returns the class; for XDPSEC_CLASS_MALFORMED
 * pkt.reason says why (enum xdpsec_drop_reason).  Every read is checked
 * against data_end AND against the end of the IP datagram (IPv4 total
 * length / IPv6 payload length): Ethernet padding is never parsed as
 * payload.
 *
 * Multi-buffer frames (SEC("xdp.frags") programs): xdpsec_parse_frame()
 * takes the length of the whole frame (bpf_xdp_get_buff_len()) as well.
 * The IP length is checked against the whole frame, so a 64 KiB datagram
 * whose tail lies in fragments is well formed; headers are still read from
 * the linear part only (data..data_end), and one that is not there is
 * "truncated".  xdpsec_parse() is the single-buffer case.  Offsets are plain scalars capped at XDPSEC_PARSE_MAX_OFF so
 * the verifier can bound every packet pointer; loops have constant bounds.
 *
 * Choices (documented in docs/classify.md):
 *  - IPv6 extension headers walked: hop-by-hop (0), routing (43),
 *    fragment (44), destination options (60), at most XDPSEC_IPV6_EXT_MAX;
 *    one more is XDPSEC_DROP_IPV6_EXTHDR_DEPTH.  AH (51) and every other
 *    next-header value end the walk: AH-protected traffic is "not ESP".
 *  - Atomic fragments (IPv6 fragment header with offset 0 and M=0,
 *    RFC 6946) are whole packets; pkt.is_atomic is set.  An IPv4 header
 *    with offset 0 and MF clear is simply not a fragment.
 *  - For a non-first fragment the protocol is the fragment's (IPv4 protocol
 *    field / fragment header's next header); nothing after it is read.
 */
#ifndef XDPSEC_PARSE_H
#define XDPSEC_PARSE_H

#define XDPSEC_ETH_HLEN       14
#define XDPSEC_ETH_P_IP       0x0800
#define XDPSEC_ETH_P_IPV6     0x86DD
#define XDPSEC_ETH_P_8021Q    0x8100
#define XDPSEC_ETH_P_8021AD   0x88A8
#define XDPSEC_VLAN_MAX       2
/* IPv6 extension headers walked; one more is IPV6_EXTHDR_DEPTH.  6 is the
 * issue's minimum and more than real traffic carries; the verifier's work
 * grows about quadratically with it (classify: 6 -> ~146k instructions
 * processed, 8 -> ~280k), and every program including this header pays. */
#ifndef XDPSEC_IPV6_EXT_MAX
#define XDPSEC_IPV6_EXT_MAX   6
#endif
#define XDPSEC_PARSE_MAX_OFF  0x3fff /* no single-buffer XDP frame is longer */

#define XDPSEC_AF_INET        2
#define XDPSEC_AF_INET6       10

#define XDPSEC_IPPROTO_HOPOPTS  0
#define XDPSEC_IPPROTO_UDP      17
#define XDPSEC_IPPROTO_ROUTING  43
#define XDPSEC_IPPROTO_FRAGMENT 44
#define XDPSEC_IPPROTO_ESP      50
#define XDPSEC_IPPROTO_DSTOPTS  60

struct xdpsec_pkt {
	__u16 l2_len;        /* Ethernet + VLAN tags == offset of the IP header */
	__u16 l3_off;
	__u32 l3_end;        /* l3_off + IP datagram length (<= frame length;
				can lie beyond data_end in a multi-buffer frame) */
	__u16 l4_off;        /* first header after IP + extension headers      */
	__u16 vlan_tci[XDPSEC_VLAN_MAX]; /* host order, outer first            */
	__u8  vlan_depth;
	__u8  family;        /* XDPSEC_AF_INET / XDPSEC_AF_INET6, 0 = not IP    */
	__u8  l4_proto;      /* upper protocol (or the fragment's next header)  */
	__u8  ext_depth;     /* IPv6 extension headers walked                   */
	__u8  is_fragment;   /* a real fragment (atomic fragments are not)      */
	__u8  is_first;      /* fragment offset 0                               */
	__u8  is_last;       /* MF / M clear                                    */
	__u8  is_atomic;     /* RFC 6946 atomic fragment, treated as whole      */
	__u8  has_esp;       /* spi/seq below are valid                         */
	__u8  reason;        /* enum xdpsec_drop_reason when MALFORMED          */
	__u16 frag_off;      /* fragment offset in bytes                        */
	__u32 frag_id;       /* IPv4 id (16 bits) / IPv6 identification, host   */
	__u16 encap_off;     /* offset of the UDP header of ESP-in-UDP, else 0  */
	__u16 encap_port;    /* its destination port (host order), else 0       */
	__u16 esp_off;       /* offset of the ESP header, 0 if none             */
	__u16 pad;
	__u32 spi;           /* network order                                   */
	__u32 seq;           /* host order                                      */
	__u8  saddr[16];     /* IPv4 in the first 4 bytes, rest zero            */
	__u8  daddr[16];
};

static __always_inline enum xdpsec_class
xdpsec_malformed(struct xdpsec_pkt *p, enum xdpsec_drop_reason r)
{
	p->reason = r;
	return XDPSEC_CLASS_MALFORMED;
}

/* Ethernet and up to XDPSEC_VLAN_MAX tags; returns the inner ethertype
 * (host order) or 0 with p->reason set. */
static __always_inline __u16
xdpsec_parse_l2(void *data, void *data_end, struct xdpsec_pkt *p)
{
	struct ethhdr *eth = data;
	__u32 off = XDPSEC_ETH_HLEN;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end) {
		p->reason = XDPSEC_DROP_TRUNC_ETH;
		return 0;
	}
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < XDPSEC_VLAN_MAX; i++) {
		__be16 *tag;

		if (proto != XDPSEC_ETH_P_8021Q && proto != XDPSEC_ETH_P_8021AD)
			break;
		tag = data + off;       /* TCI, then the next ethertype */
		if ((void *)(tag + 2) > data_end) {
			p->reason = XDPSEC_DROP_TRUNC_VLAN;
			return 0;
		}
		p->vlan_tci[i] = bpf_ntohs(tag[0]);
		proto = bpf_ntohs(tag[1]);
		p->vlan_depth++;
		off += 4;
	}
	if (proto == XDPSEC_ETH_P_8021Q || proto == XDPSEC_ETH_P_8021AD) {
		p->reason = XDPSEC_DROP_VLAN_DEPTH;
		return 0;
	}
	p->l2_len = off;
	p->l3_off = off;
	return proto;
}

/* Fragment sanity shared by both families: a fragment must carry data and
 * must not reach past the 65535-byte maximum when reassembled. */
static __always_inline int
xdpsec_frag_check(struct xdpsec_pkt *p, __u32 frag_payload, __u32 limit_extra)
{
	if (!p->is_fragment)
		return 0;
	if (frag_payload == 0) {
		p->reason = XDPSEC_DROP_FRAG_ZERO_LEN;
		return -1;
	}
	if ((__u32)p->frag_off + frag_payload + limit_extra > 65535) {
		p->reason = XDPSEC_DROP_FRAG_TOO_BIG;
		return -1;
	}
	return 0;
}

/* IPv4: header, options (skipped), length and fragment fields. */
static __always_inline int
xdpsec_parse_ipv4(void *data, void *data_end, __u32 frame_len, struct xdpsec_pkt *p)
{
	struct iphdr *ip = data + p->l3_off;
	__u32 ihl, tot, fo, avail;

	if ((void *)(ip + 1) > data_end) {
		p->reason = XDPSEC_DROP_TRUNC_IPV4;
		return -1;
	}
	if (ip->version != 4) {
		p->reason = XDPSEC_DROP_IPV4_BAD_VERSION;
		return -1;
	}
	ihl = (__u32)ip->ihl * 4;
	if (ihl < 20) {
		p->reason = XDPSEC_DROP_IPV4_BAD_IHL;
		return -1;
	}
	avail = data_end - (void *)ip;
	if (ihl > avail) {
		p->reason = XDPSEC_DROP_TRUNC_IPV4;
		return -1;
	}
	/* the datagram may go on in the frame's fragments */
	avail = frame_len > p->l3_off ? frame_len - p->l3_off : 0;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < ihl || tot > avail) {
		p->reason = XDPSEC_DROP_IPV4_BAD_LEN;
		return -1;
	}
	p->family = XDPSEC_AF_INET;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);
	p->l3_end = p->l3_off + tot;
	p->l4_off = p->l3_off + ihl;
	p->l4_proto = ip->protocol;
	p->frag_id = bpf_ntohs(ip->id);
	fo = bpf_ntohs(ip->frag_off);
	p->frag_off = (fo & 0x1fff) * 8;
	p->is_last = !(fo & 0x2000);
	p->is_first = p->frag_off == 0;
	p->is_fragment = !p->is_first || !p->is_last;
	/* reassembled length = this header + offset + this payload */
	return xdpsec_frag_check(p, tot - ihl, ihl);
}

static __always_inline int xdpsec_ipv6_is_ext(__u8 nh)
{
	return nh == XDPSEC_IPPROTO_HOPOPTS || nh == XDPSEC_IPPROTO_ROUTING ||
	       nh == XDPSEC_IPPROTO_FRAGMENT || nh == XDPSEC_IPPROTO_DSTOPTS;
}

/* IPv6: fixed header, then the extension chain up to XDPSEC_IPV6_EXT_MAX
 * headers.  Stops at the first non-extension next header, or right after
 * the fragment header of a non-first fragment (the rest is payload). */
static __always_inline int
xdpsec_parse_ipv6(void *data, void *data_end, __u32 frame_len, struct xdpsec_pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	__u32 off, end, plen;
	__u8 nh;
	int i, seen_frag = 0;

	if ((void *)(ip6 + 1) > data_end) {
		p->reason = XDPSEC_DROP_TRUNC_IPV6;
		return -1;
	}
	if (ip6->version != 6) {
		/* no IPv6-specific reason in the enum yet (see docs) */
		p->reason = XDPSEC_DROP_IPV4_BAD_VERSION;
		return -1;
	}
	plen = bpf_ntohs(ip6->payload_len);
	/* the frame holds at least the fixed header (checked above) */
	if (plen > frame_len - p->l3_off - (__u32)sizeof(*ip6)) {
		p->reason = XDPSEC_DROP_IPV6_BAD_LEN;
		return -1;
	}
	p->family = XDPSEC_AF_INET6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	off = p->l3_off + sizeof(*ip6);
	end = off + plen;
	p->l3_end = end;
	p->is_first = 1;
	p->is_last = 1;
	nh = ip6->nexthdr;

	/* A do-while whose back edge is the conditional jump at its bottom.
	 * Written as a for loop with break/continue, clang laid the latch out
	 * right before the loop header, so the back edge was a fall-through:
	 * the 6.1 verifier (Debian 12) refuses every fall-through back edge
	 * ("back-edge from insn 793 to 794"), later ones accept it.  This
	 * shape loads on 6.1 and costs the verifier less than the old loop
	 * or full unrolling (classify, insns processed: 6.1 63k, 6.12 40k,
	 * 6.18 42k; unrolled: 262k, 85k, 96k).  `make test-kernels` loads
	 * every program on 6.1 and catches a shape that it refuses. */
	i = 0;
	if (xdpsec_ipv6_is_ext(nh)) {
#pragma clang loop unroll(disable)
		do {
			__u8 *h;
			__u32 hlen;

			if (i == XDPSEC_IPV6_EXT_MAX) {
				p->reason = XDPSEC_DROP_IPV6_EXTHDR_DEPTH;
				return -1;
			}
			/* every extension header is >= 8 bytes, fragment exactly 8 */
			if (off > XDPSEC_PARSE_MAX_OFF || off + 8 > end) {
				p->reason = XDPSEC_DROP_IPV6_TRUNC_EXTHDR;
				return -1;
			}
			off &= XDPSEC_PARSE_MAX_OFF;
			h = data + off;
			if ((void *)(h + 8) > data_end) {
				p->reason = XDPSEC_DROP_IPV6_TRUNC_EXTHDR;
				return -1;
			}
			p->ext_depth++;
			hlen = ((__u32)h[1] + 1) * 8;
			if (nh == XDPSEC_IPPROTO_FRAGMENT) {
				hlen = 8;
				if (!seen_frag) {
					__u16 fo = ((__u16)h[2] << 8) | h[3];

					seen_frag = 1;
					p->frag_off = fo & 0xfff8;
					p->is_last = !(fo & 1);
					p->is_first = p->frag_off == 0;
					p->frag_id = ((__u32)h[4] << 24) | ((__u32)h[5] << 16) |
						     ((__u32)h[6] << 8) | h[7];
					p->is_fragment = !p->is_first || !p->is_last;
					p->is_atomic = !p->is_fragment;
					/* offset + fragmentable part must fit 65535 */
					if (p->is_fragment && xdpsec_frag_check(p, end - off - 8, 0))
						return -1;
					/* a non-first fragment: the rest is payload */
					if (p->is_fragment && !p->is_first) {
						nh = h[0];
						off += 8;
						break;
					}
				}
			}
			nh = h[0];
			off += hlen;
			i++;
		} while (xdpsec_ipv6_is_ext(nh));
	}
	if (off > end) {
		p->reason = XDPSEC_DROP_IPV6_TRUNC_EXTHDR;
		return -1;
	}
	p->l4_off = off;
	p->l4_proto = nh;
	return 0;
}

/* Reads SPI and sequence number at off; the caller has checked the
 * datagram holds 8 bytes there. */
static __always_inline int
xdpsec_read_esp(void *data, void *data_end, struct xdpsec_pkt *p, __u32 off)
{
	__u32 *esp;

	off &= XDPSEC_PARSE_MAX_OFF;
	esp = data + off;
	if ((void *)(esp + 2) > data_end) {
		p->reason = XDPSEC_DROP_TRUNC_ESP;
		return -1;
	}
	if (esp[0] == 0) {
		p->reason = XDPSEC_DROP_ESP_ZERO_SPI;
		return -1;
	}
	p->spi = esp[0];
	p->seq = bpf_ntohl(esp[1]);
	p->esp_off = off;
	p->has_esp = 1;
	return 0;
}

static __always_inline enum xdpsec_class
xdpsec_esp_class(const struct xdpsec_pkt *p)
{
	if (!p->is_fragment)
		return XDPSEC_CLASS_ESP;
	if (p->is_first)
		return XDPSEC_CLASS_ESP_FRAG_FIRST;
	return p->is_last ? XDPSEC_CLASS_ESP_FRAG_LAST : XDPSEC_CLASS_ESP_FRAG_MIDDLE;
}

/* UDP of a whole packet or a first fragment: ESP-in-UDP on natt_port
 * (RFC 3948) is told apart from IKE (non-ESP marker, 4 zero bytes) and
 * the NAT keepalive (exactly one 0xFF byte). */
static __always_inline enum xdpsec_class
xdpsec_parse_udp(void *data, void *data_end, struct xdpsec_pkt *p,
		 __u16 natt_port, __u32 cfg_flags)
{
	struct udphdr *udp;
	__u32 off = p->l4_off, end = p->l3_end, ulen, pay;
	__u8 *b;

	if (off > XDPSEC_PARSE_MAX_OFF || off + 8 > end)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
	off &= XDPSEC_PARSE_MAX_OFF;
	udp = data + off;
	if ((void *)(udp + 1) > data_end)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
	/* With NAT-T fragment steering on, the non-first fragments of every
	 * UDP datagram go to the daemon (they may be ESP-in-UDP); so must the
	 * first, or a plain datagram would be split between the daemon and
	 * the stack.  The daemon reassembles and hands plain ones back. */
	if (p->is_fragment && (cfg_flags & XDPSEC_CFG_UDP_FRAGS))
		return xdpsec_esp_class(p);
	if (bpf_ntohs(udp->dest) != natt_port)
		return p->is_fragment ? XDPSEC_CLASS_PLAIN_FRAG : XDPSEC_CLASS_PLAIN;

	if (!p->is_fragment) {
		/* whole datagram: the UDP length is exact, trust it over
		 * the IP length only when it is consistent */
		ulen = bpf_ntohs(udp->len);
		if (ulen < 8 || off + ulen > end)
			return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
		end = off + ulen;
	}
	pay = off + 8;
	b = data + pay;
	if (!p->is_fragment && end - pay == 1) {
		if ((void *)(b + 1) > data_end)
			return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
		if (b[0] == 0xff)
			return XDPSEC_CLASS_NATT_KEEPALIVE;
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_ESP);
	}
	if (end - pay >= 4) {
		if ((void *)(b + 4) > data_end)
			return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_ESP);
		if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0)
			/* IKE; a first fragment of it goes where its
			 * other fragments go (see above) */
			return p->is_fragment ? XDPSEC_CLASS_PLAIN_FRAG
					      : XDPSEC_CLASS_IKE;
	}
	if (end - pay < 8)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_ESP);
	p->encap_off = off;
	p->encap_port = natt_port;
	if (xdpsec_read_esp(data, data_end, p, pay))
		return XDPSEC_CLASS_MALFORMED;
	return xdpsec_esp_class(p);
}

/*
 * Parse one frame.  frame_len: bytes from data to the end of the frame,
 * fragments of a multi-buffer frame included (>= data_end - data).
 * natt_port: host order, already defaulted by the caller.
 * cfg_flags: XDPSEC_CFG_* (only XDPSEC_CFG_UDP_FRAGS matters here).
 */
static __always_inline enum xdpsec_class
xdpsec_parse_frame(void *data, void *data_end, __u32 frame_len, __u16 natt_port,
		   __u32 cfg_flags, struct xdpsec_pkt *p)
{
	__u16 proto;
	int err;

	__builtin_memset(p, 0, sizeof(*p));
	proto = xdpsec_parse_l2(data, data_end, p);
	if (!proto)
		return XDPSEC_CLASS_MALFORMED;
	if (proto == XDPSEC_ETH_P_IP)
		err = xdpsec_parse_ipv4(data, data_end, frame_len, p);
	else if (proto == XDPSEC_ETH_P_IPV6)
		err = xdpsec_parse_ipv6(data, data_end, frame_len, p);
	else
		return XDPSEC_CLASS_PLAIN;     /* ARP, LLDP, ...: not ours */
	if (err)
		return XDPSEC_CLASS_MALFORMED;
	/*
	 * Verifier economy: from here on work only from what was stored in
	 * *p; the compiler barrier makes the code reload it from the stack
	 * rather than keep per-path copies in registers, which lets the
	 * verifier prune more of the paths out of the extension-header loop
	 * (about -10% instructions processed).  Every reload is re-checked.
	 */
	asm volatile("" ::: "memory");

	if (p->is_fragment && !p->is_first) {
		/* no upper header here: only the protocol number speaks */
		if (p->l4_proto == XDPSEC_IPPROTO_ESP ||
		    (p->l4_proto == XDPSEC_IPPROTO_UDP &&
		     (cfg_flags & XDPSEC_CFG_UDP_FRAGS)))
			return xdpsec_esp_class(p);
		return XDPSEC_CLASS_PLAIN_FRAG;
	}

	if (p->l4_proto == XDPSEC_IPPROTO_ESP) {
		if (p->l4_off + 8 > p->l3_end)
			return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_ESP);
		if (xdpsec_read_esp(data, data_end, p, p->l4_off))
			return XDPSEC_CLASS_MALFORMED;
		return xdpsec_esp_class(p);
	}
	if (p->l4_proto == XDPSEC_IPPROTO_UDP)
		return xdpsec_parse_udp(data, data_end, p, natt_port, cfg_flags);
	return p->is_fragment ? XDPSEC_CLASS_PLAIN_FRAG : XDPSEC_CLASS_PLAIN;
}

/* A single-buffer frame (SEC("xdp") programs). */
static __always_inline enum xdpsec_class
xdpsec_parse(void *data, void *data_end, __u16 natt_port, __u32 cfg_flags,
	     struct xdpsec_pkt *p)
{
	return xdpsec_parse_frame(data, data_end, (__u32)(data_end - data),
				  natt_port, cfg_flags, p);
}

#endif /* XDPSEC_PARSE_H */
