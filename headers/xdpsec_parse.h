/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_parse.h - bounded, verifier-friendly packet parsing shared by
 * every xdpsec BPF program (BPF side only).
 *
 * The same source compiles for BPF (include after vmlinux.h,
 * <bpf/bpf_helpers.h>, <bpf/bpf_endian.h> and xdpsec_common.h) and for
 * userspace (include after xdpsec_common.h): the daemon's "is this ESP"
 * is the classifier's own answer.  Two steps, so that the NAT-T peer pair
 * can be looked up in between (BPF: headers/xdpsec_classify.bpf.h; the
 * daemon: user/dataplane/pipeline.c):
 *
 *   xdpsec_parse_l3(data, data_end, frame_len, flags, &pkt)   link + IP
 *   xdpsec_parse_ip_l3(ip, len, &pkt)                         bare IP
 *   xdpsec_parse_l4(data, data_end, &pkt, natt_port, peer)    the rest
 *
 * fill struct xdpsec_pkt and return the class; for XDPSEC_CLASS_MALFORMED
 * pkt.reason says why (enum xdpsec_drop_reason).  Every read is checked
 * against data_end AND against the end of the IP datagram (IPv4 total
 * length / IPv6 payload length): Ethernet padding is never parsed as
 * payload.
 *
 * Multi-buffer frames (SEC("xdp.frags") programs): frame_len is the length
 * of the whole frame (bpf_xdp_get_buff_len()).  The IP length is checked
 * against the whole frame, so a 64 KiB datagram whose tail lies in
 * fragments is well formed; headers are still read from the linear part
 * only (data..data_end), and one that is not there is "truncated".
 * Offsets are plain scalars capped at XDPSEC_PARSE_MAX_OFF so the verifier
 * can bound every packet pointer; loops have constant bounds.
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
 *  - Strict where Linux is strict: a hop-by-hop header anywhere but first
 *    is IPV6_HBH_NOT_FIRST; a fragment without data is FRAG_ZERO_LEN,
 *    unless it belongs to an IPsec datagram (ESP, or UDP between a NAT-T
 *    peer pair): that one goes to the daemon, whose reassembly discards
 *    the whole datagram.
 */
#ifndef XDPSEC_PARSE_H
#define XDPSEC_PARSE_H

#ifndef __bpf__
/* userspace: the kernel's UAPI headers give the same structs as vmlinux.h */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/types.h>
#include <linux/udp.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define bpf_ntohs(x) ntohs(x)
#define bpf_ntohl(x) ntohl(x)
#define bpf_htons(x) htons(x)
#endif

/* Constant-bound loops: clang unrolls them on request (the BPF build);
 * gcc does not know the pragma and needs nothing. */
#ifdef __clang__
#define XDPSEC_UNROLL _Pragma("unroll")
#define XDPSEC_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define XDPSEC_UNROLL
#define XDPSEC_NO_UNROLL
#endif

#define XDPSEC_ETH_HLEN       14
#define XDPSEC_ETH_P_IP       0x0800
#define XDPSEC_ETH_P_IPV6     0x86DD
#define XDPSEC_ETH_P_8021Q    0x8100
#define XDPSEC_ETH_P_8021AD   0x88A8
#define XDPSEC_VLAN_MAX       2
/* IPv6 extension headers walked; one more is IPV6_EXTHDR_DEPTH.  6 is the
 * minimum we committed to (docs/classify.md) and more than real traffic carries; the verifier's work
 * grows about quadratically with it (classify: 6 -> ~146k instructions
 * processed, 8 -> ~280k), and every program including this header pays. */
#ifndef XDPSEC_IPV6_EXT_MAX
#define XDPSEC_IPV6_EXT_MAX   6
#endif
#define XDPSEC_PARSE_MAX_OFF  0x3fff /* no single-buffer XDP frame is longer */
/* Parser option, beside the XDPSEC_CFG_* bits: the frame may carry the
 * in-band frame tag (xdpsec_common.h).  Only the feedback pair's frames
 * are parsed this way; on an ingress interface 0x88B5 is just "not IP". */
#define XDPSEC_PARSE_TAGGED   (1u << 16)

#define XDPSEC_AF_INET        2
#define XDPSEC_AF_INET6       10

#define XDPSEC_IPPROTO_HOPOPTS  0
#define XDPSEC_IPPROTO_UDP      17
#define XDPSEC_IPPROTO_ROUTING  43
#define XDPSEC_IPPROTO_FRAGMENT 44
#define XDPSEC_IPPROTO_ESP      50
#define XDPSEC_IPPROTO_DSTOPTS  60

/* IPv4 fragment field (host order) and IPv6 fragment header offset word */
#define XDPSEC_IP_MF            0x2000  /* more fragments */
#define XDPSEC_IP_OFFMASK       0x1fff  /* offset in 8-byte units */
#define XDPSEC_IP_FRAG_MASK     (XDPSEC_IP_MF | XDPSEC_IP_OFFMASK) /* a fragment if any is set */
#define XDPSEC_IP6_OFFMASK      0xfff8  /* offset in bytes */
#define XDPSEC_IP6_MF           0x0001

struct xdpsec_pkt {
	__u16 l2_len;        /* Ethernet + VLAN tags == offset of the IP header */
	__u16 l3_off;
	__u32 l3_end;        /* l3_off + IP datagram length (<= frame length;
				can lie beyond data_end in a multi-buffer frame) */
	__u16 l4_off;        /* first header after IP + extension headers      */
	__u16 nh_off;        /* offset of the byte that holds l4_proto (IPv4
				protocol field, or the last next-header walked) */
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
	__u8  zero_len;      /* a fragment carrying no data (see parse_l4)      */
	__u8  pad;
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
 * (host order) or 0 with p->reason set.  With `tagged` (the feedback
 * pair's frames), [Ethernet 0x88B5][frame tag][IP] is understood too: the
 * IP header follows the tag and its version nibble says the family. */
static __always_inline __u16
xdpsec_parse_l2(void *data, void *data_end, struct xdpsec_pkt *p, int tagged)
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
	if (tagged && proto == XDPSEC_TAG_ETHERTYPE) {
		__u8 *ip = data + XDPSEC_TAG_L3_OFF;

		if ((void *)(ip + 1) > data_end) {
			p->reason = XDPSEC_DROP_BAD_TAG;
			return 0;
		}
		p->l2_len = XDPSEC_TAG_L3_OFF;
		p->l3_off = XDPSEC_TAG_L3_OFF;
		if ((ip[0] >> 4) == 4)
			return XDPSEC_ETH_P_IP;
		if ((ip[0] >> 4) == 6)
			return XDPSEC_ETH_P_IPV6;
		p->reason = XDPSEC_DROP_BAD_TAG;
		return 0;
	}
XDPSEC_UNROLL
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
	/* no data: judged by xdpsec_parse_l4, which knows the protocol */
	p->zero_len = frag_payload == 0;
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
	p->nh_off = p->l3_off + 9;
	p->l4_proto = ip->protocol;
	p->frag_id = bpf_ntohs(ip->id);
	fo = bpf_ntohs(ip->frag_off);
	p->frag_off = (fo & XDPSEC_IP_OFFMASK) * 8;
	p->is_last = !(fo & XDPSEC_IP_MF);
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
	p->nh_off = p->l3_off + 6;

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
XDPSEC_NO_UNROLL
		do {
			__u8 *h;
			__u32 hlen;

			/* RFC 8200 4.1: hop-by-hop only right after the IPv6
			 * header; Linux has no handler for next header 0
			 * anywhere else */
			if (nh == XDPSEC_IPPROTO_HOPOPTS && i) {
				p->reason = XDPSEC_DROP_IPV6_HBH_NOT_FIRST;
				return -1;
			}
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
					p->frag_off = fo & XDPSEC_IP6_OFFMASK;
					p->is_last = !(fo & XDPSEC_IP6_MF);
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
						p->nh_off = off;
						off += 8;
						break;
					}
				}
			}
			nh = h[0];
			p->nh_off = off;
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

/* Is dport an ESP-in-UDP port: the host's default, or one of the peer
 * pair's SAs'? */
static __always_inline int
xdpsec_natt_port_match(__u16 dport, __u16 natt_port, const struct xdpsec_natt_val *peer)
{
	if (dport == natt_port)
		return 1;
	if (!peer)
		return 0;
	return dport == peer->port[0] || dport == peer->port[1] ||
	       dport == peer->port[2] || dport == peer->port[3];
}

/* UDP of a whole packet or a first fragment: ESP-in-UDP on a NAT-T port
 * (RFC 3948) is told apart from IKE (non-ESP marker, 4 zero bytes) and
 * the NAT keepalive (exactly one 0xFF byte).  peer: the NAT-T pair entry
 * of (saddr, daddr), or NULL. */
static __always_inline enum xdpsec_class
xdpsec_parse_udp(void *data, void *data_end, struct xdpsec_pkt *p,
		 __u16 natt_port, const struct xdpsec_natt_val *peer)
{
	struct udphdr *udp;
	__u32 off = p->l4_off, end = p->l3_end, ulen, pay;
	__u16 dport;
	__u8 *b;

	if (off > XDPSEC_PARSE_MAX_OFF || off + 8 > end)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
	off &= XDPSEC_PARSE_MAX_OFF;
	udp = data + off;
	if ((void *)(udp + 1) > data_end)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
	/* Between a NAT-T peer pair every UDP fragment goes to the daemon,
	 * the first one too: its non-first fragments cannot say whether
	 * they are ESP-in-UDP, and a datagram split between the daemon and
	 * the stack would be lost.  The daemon hands plain ones back. */
	if (p->is_fragment && peer)
		return xdpsec_esp_class(p);
	dport = bpf_ntohs(udp->dest);
	if (p->is_fragment || !xdpsec_natt_port_match(dport, natt_port, peer))
		return p->is_fragment ? XDPSEC_CLASS_PLAIN_FRAG : XDPSEC_CLASS_PLAIN;

	/* whole datagram: the UDP length is exact, trust it over the IP
	 * length only when it is consistent */
	ulen = bpf_ntohs(udp->len);
	if (ulen < 8 || off + ulen > end)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_UDP);
	end = off + ulen;
	pay = off + 8;
	b = data + pay;
	if (end - pay == 1) {
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
			return XDPSEC_CLASS_IKE;
	}
	if (end - pay < 8)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_ESP);
	p->encap_off = off;
	p->encap_port = dport;
	if (xdpsec_read_esp(data, data_end, p, pay))
		return XDPSEC_CLASS_MALFORMED;
	return xdpsec_esp_class(p);
}

/*
 * Step 1 of 2: the link header and the IP header (with IPv6 extension
 * headers).  frame_len: bytes from data to the end of the frame, fragments
 * of a multi-buffer frame included (>= data_end - data).  flags:
 * XDPSEC_PARSE_TAGGED for frames that may carry the frame tag.  Returns
 * XDPSEC_CLASS__MAX when the frame is IP and well formed so far (then
 * xdpsec_parse_l4() finishes it), else its class (MALFORMED with
 * p->reason, or PLAIN for what is not IP).
 */
static __always_inline enum xdpsec_class
xdpsec_parse_l3(void *data, void *data_end, __u32 frame_len, __u32 flags,
		struct xdpsec_pkt *p)
{
	__u16 proto;
	int err;

	__builtin_memset(p, 0, sizeof(*p));
	proto = xdpsec_parse_l2(data, data_end, p, flags & XDPSEC_PARSE_TAGGED);
	if (!proto)     /* EtherType 0 (an 802.3 length) is not an error */
		return p->reason ? XDPSEC_CLASS_MALFORMED : XDPSEC_CLASS_PLAIN;
	if (proto == XDPSEC_ETH_P_IP)
		err = xdpsec_parse_ipv4(data, data_end, frame_len, p);
	else if (proto == XDPSEC_ETH_P_IPV6)
		err = xdpsec_parse_ipv6(data, data_end, frame_len, p);
	else
		return XDPSEC_CLASS_PLAIN;     /* ARP, LLDP, ...: not ours */
	return err ? XDPSEC_CLASS_MALFORMED : XDPSEC_CLASS__MAX;
}

/* The same for a bare IP datagram of len bytes (no link header): the
 * daemon's reassembled datagrams. */
static __always_inline enum xdpsec_class
xdpsec_parse_ip_l3(void *ip, __u32 len, struct xdpsec_pkt *p)
{
	int err;

	__builtin_memset(p, 0, sizeof(*p));
	if (len < 1)
		return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_IPV4);
	if ((((__u8 *)ip)[0] >> 4) == 4)
		err = xdpsec_parse_ipv4(ip, ip + len, len, p);
	else if ((((__u8 *)ip)[0] >> 4) == 6)
		err = xdpsec_parse_ipv6(ip, ip + len, len, p);
	else
		return xdpsec_malformed(p, XDPSEC_DROP_IPV4_BAD_VERSION);
	return err ? XDPSEC_CLASS_MALFORMED : XDPSEC_CLASS__MAX;
}

/* The key of the NAT-T pair table for a parsed packet (step 1 done). */
static __always_inline void
xdpsec_natt_key_of(const struct xdpsec_pkt *p, struct xdpsec_natt_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	__builtin_memcpy(k->saddr, p->saddr, sizeof(k->saddr));
	__builtin_memcpy(k->daddr, p->daddr, sizeof(k->daddr));
}

/*
 * Step 2 of 2: what follows the IP header.  natt_port: the host's default
 * ESP-in-UDP port (host order, already defaulted by the caller).  peer:
 * for UDP, the NAT-T pair entry of (saddr, daddr) (xdpsec_natt_key_of()),
 * or NULL when the pair has no ESP-in-UDP SA.
 */
static __always_inline enum xdpsec_class
xdpsec_parse_l4(void *data, void *data_end, struct xdpsec_pkt *p, __u16 natt_port,
		const struct xdpsec_natt_val *peer)
{
	/*
	 * Verifier economy: from here on work only from what was stored in
	 * *p; the compiler barrier makes the code reload it from the stack
	 * rather than keep per-path copies in registers, which lets the
	 * verifier prune more of the paths out of the extension-header loop
	 * (about -10% instructions processed).  Every reload is re-checked.
	 */
	asm volatile("" ::: "memory");

	if (p->is_fragment && (!p->is_first || p->zero_len)) {
		/* no upper header here: only the protocol number speaks.
		 * A fragment without data is malformed, but one of an IPsec
		 * datagram still goes to the daemon: its reassembly discards
		 * the whole datagram, as Linux does (user/reasm/reasm.c); dropped
		 * here the rest could still complete. */
		if (p->l4_proto == XDPSEC_IPPROTO_ESP ||
		    (p->l4_proto == XDPSEC_IPPROTO_UDP && peer))
			return xdpsec_esp_class(p);
		if (p->zero_len)
			return xdpsec_malformed(p, XDPSEC_DROP_FRAG_ZERO_LEN);
		return XDPSEC_CLASS_PLAIN_FRAG;
	}

	if (p->l4_proto == XDPSEC_IPPROTO_ESP) {
		if ((__u32)p->l4_off + 8 > p->l3_end)
			return xdpsec_malformed(p, XDPSEC_DROP_TRUNC_ESP);
		if (xdpsec_read_esp(data, data_end, p, p->l4_off))
			return XDPSEC_CLASS_MALFORMED;
		return xdpsec_esp_class(p);
	}
	if (p->l4_proto == XDPSEC_IPPROTO_UDP)
		return xdpsec_parse_udp(data, data_end, p, natt_port, peer);
	return p->is_fragment ? XDPSEC_CLASS_PLAIN_FRAG : XDPSEC_CLASS_PLAIN;
}

#endif /* XDPSEC_PARSE_H */
