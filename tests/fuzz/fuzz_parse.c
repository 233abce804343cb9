// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_parse.c - libFuzzer target for the packet parser the BPF programs
 * use (headers/xdpsec_parse.h), compiled for userspace from the same
 * source: xdpsec_parse_l3 + xdpsec_parse_l4 on a framed packet, with and
 * without XDPSEC_PARSE_TAGGED, with and without a NAT-T peer entry, in a
 * single buffer or as the linear part of a multi-buffer frame; and
 * xdpsec_parse_ip_l3 + xdpsec_parse_l4 on the bare IP datagram (what the
 * daemon does with a reassembled datagram, user/dataplane/pipeline.c).
 *
 * Input: byte 0 options (bit 0 tagged, bit 1 peer entry, bit 2 multi-
 * buffer, bits 3-4 the host's NAT-T port), bytes 1-8 the peer's four SA
 * ports, then the frame.  The frame is copied to the end of a buffer, so
 * ASan sees any read past data_end.
 *
 * Oracles, besides no crash:
 *  - a class in range; a reason exactly when MALFORMED, and only one the
 *    parser may give (never a decrypt-stage verdict; BAD_TAG only tagged);
 *  - offsets ordered and inside the frame; what was read matches the
 *    bytes: SPI (non-zero) and sequence number at esp_off, inside the
 *    linear part and the IP datagram; the NAT-T port at encap_off is the
 *    host's or the peer's; a keepalive is one 0xFF byte, IKE starts with
 *    the non-ESP marker; an ESP class has IP protocol ESP or UDP;
 *  - the framed parse and the bare-IP parse of the same datagram agree on
 *    the class, the reason and every field (offsets shifted by the link
 *    header): the daemon's "is this ESP" is the classifier's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xdpsec_common.h"
#include "xdpsec_parse.h"

#define HDR 9

static int parser_reason(unsigned r, int tagged)
{
	switch (r) {
	case XDPSEC_DROP_NONE:
	case XDPSEC_DROP_UNKNOWN_SPI:
	case XDPSEC_DROP_REPLAY_EARLY:
	case XDPSEC_DROP_NO_XSK:
		return 0;
	case XDPSEC_DROP_BAD_TAG:
		return tagged;
	default:
		return r < XDPSEC_DROP__MAX;
	}
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Everything the parse says about a frame of `len` bytes at `b`. */
static void check_one(const uint8_t *b, uint32_t len, uint32_t frame_len, int tagged,
		      enum xdpsec_class c, const struct xdpsec_pkt *p, uint16_t natt,
		      const struct xdpsec_natt_val *peer)
{
	if ((unsigned)c >= XDPSEC_CLASS__MAX || c == XDPSEC_CLASS_PLAINTEXT)
		abort();
	if ((c == XDPSEC_CLASS_MALFORMED) != (p->reason != 0))
		abort();
	if (c == XDPSEC_CLASS_MALFORMED && !parser_reason(p->reason, tagged))
		abort();
	if (!p->family) {
		/* not IP (PLAIN) or malformed before the IP header was taken */
		if (c != XDPSEC_CLASS_PLAIN && c != XDPSEC_CLASS_MALFORMED)
			abort();
		return;
	}
	if (p->family != XDPSEC_AF_INET && p->family != XDPSEC_AF_INET6)
		abort();
	if (p->l3_off != p->l2_len || p->l3_end > frame_len || p->l3_off >= p->l3_end)
		abort();
	if (c == XDPSEC_CLASS_MALFORMED)
		return;              /* the fields below are not all set */
	if (p->l4_off < p->l3_off || p->l4_off > p->l3_end)
		abort();
	if (p->is_fragment && (p->is_first && p->is_last))
		abort();
	if (p->is_atomic && p->is_fragment)
		abort();
	if (p->has_esp) {
		uint32_t spi;

		if (p->esp_off < p->l4_off || (uint32_t)p->esp_off + 8 > p->l3_end ||
		    (uint32_t)p->esp_off + 8 > len)
			abort();
		memcpy(&spi, b + p->esp_off, 4);
		if (!spi || spi != p->spi ||
		    p->seq != ((uint32_t)b[p->esp_off + 4] << 24 | (uint32_t)b[p->esp_off + 5] << 16 |
			       (uint32_t)b[p->esp_off + 6] << 8 | b[p->esp_off + 7]))
			abort();
	}
	if (p->encap_off) {
		uint16_t port;

		if (p->encap_off != p->l4_off || !p->has_esp || p->esp_off != p->encap_off + 8 ||
		    p->l4_proto != XDPSEC_IPPROTO_UDP)
			abort();
		port = rd16(b + p->encap_off + 2);
		if (port != p->encap_port || !xdpsec_natt_port_match(port, natt, peer))
			abort();
	}
	switch (c) {
	case XDPSEC_CLASS_ESP:
		if (p->is_fragment || !p->has_esp)
			abort();
		/* fall through */
	case XDPSEC_CLASS_ESP_FRAG_FIRST:
	case XDPSEC_CLASS_ESP_FRAG_MIDDLE:
	case XDPSEC_CLASS_ESP_FRAG_LAST:
		if (p->l4_proto != XDPSEC_IPPROTO_ESP && p->l4_proto != XDPSEC_IPPROTO_UDP)
			abort();
		if (c != XDPSEC_CLASS_ESP &&
		    (!p->is_fragment || (c == XDPSEC_CLASS_ESP_FRAG_FIRST) != p->is_first ||
		     (c == XDPSEC_CLASS_ESP_FRAG_LAST) != (p->is_last && !p->is_first)))
			abort();
		/* UDP fragments are ESP only between a NAT-T peer pair */
		if (p->is_fragment && p->l4_proto == XDPSEC_IPPROTO_UDP && !peer)
			abort();
		break;
	case XDPSEC_CLASS_NATT_KEEPALIVE:
		if (p->l4_proto != XDPSEC_IPPROTO_UDP || p->is_fragment ||
		    (uint32_t)p->l4_off + 9 > len || b[p->l4_off + 8] != 0xff ||
		    rd16(b + p->l4_off + 4) != 9)
			abort();
		break;
	case XDPSEC_CLASS_IKE:
		if (p->l4_proto != XDPSEC_IPPROTO_UDP || p->is_fragment ||
		    (uint32_t)p->l4_off + 12 > len ||
		    memcmp(b + p->l4_off + 8, "\0\0\0\0", 4))
			abort();
		break;
	case XDPSEC_CLASS_PLAIN_FRAG:
		if (!p->is_fragment || p->zero_len)
			abort();
		break;
	case XDPSEC_CLASS_PLAIN:
		if (p->is_fragment)
			abort();
		break;
	default:
		break;
	}
}

/* Framed and bare parses of one datagram agree (offsets shifted by d). */
static void same(enum xdpsec_class c1, const struct xdpsec_pkt *a, enum xdpsec_class c2,
		 const struct xdpsec_pkt *b, uint32_t d)
{
	if (c1 != c2 || a->reason != b->reason)
		abort();
	if (c1 == XDPSEC_CLASS_MALFORMED)
		return;
	if (a->family != b->family || a->l3_end != b->l3_end + d || a->l4_off != b->l4_off + d ||
	    a->l4_proto != b->l4_proto || a->ext_depth != b->ext_depth ||
	    a->is_fragment != b->is_fragment || a->is_first != b->is_first ||
	    a->is_last != b->is_last || a->is_atomic != b->is_atomic ||
	    a->has_esp != b->has_esp || a->frag_off != b->frag_off || a->frag_id != b->frag_id ||
	    a->encap_port != b->encap_port || a->zero_len != b->zero_len ||
	    (a->has_esp && (a->spi != b->spi || a->seq != b->seq || a->esp_off != b->esp_off + d)) ||
	    (a->encap_off && a->encap_off != b->encap_off + d) ||
	    memcmp(a->saddr, b->saddr, 16) || memcmp(a->daddr, b->daddr, 16))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t natt_ports[4] = { XDPSEC_NATT_PORT, 4501, 500, 65535 };
	struct xdpsec_natt_val pv;
	const struct xdpsec_natt_val *peer = NULL;
	struct xdpsec_pkt p, q;
	enum xdpsec_class c, cb;
	uint32_t len, frame_len, flags;
	uint16_t natt;
	uint8_t opt, *buf, *alloc;

	if (size < HDR || size - HDR > XDPSEC_PARSE_MAX_OFF)
		return 0;
	opt = data[0];
	flags = opt & 1 ? XDPSEC_PARSE_TAGGED : 0;
	natt = natt_ports[(opt >> 3) & 3];
	for (int i = 0; i < XDPSEC_NATT_PORTS_MAX; i++)
		pv.port[i] = rd16(data + 1 + 2 * i);
	len = (uint32_t)(size - HDR);
	/* the linear part of a multi-buffer frame: the rest lies beyond
	 * data_end, where the parser must not read */
	frame_len = opt & 4 ? len + (uint32_t)(opt >> 5) * 9000 + 1 : len;
	/* the frame 2 bytes past a 4-byte boundary, as drivers place it
	 * (NET_IP_ALIGN): the IP header after 14 (+ 4 per VLAN tag, or + 32
	 * of frame tag) bytes is then 4-byte aligned, as the parser's struct
	 * reads require; and it ends where the allocation ends */
	alloc = malloc(len + 2);
	if (!alloc)
		return 0;
	buf = alloc + 2;
	memcpy(buf, data + HDR, len);

	/* step 1, the peer lookup between the steps (its key is well formed),
	 * step 2: xdpsec_classify_frame of headers/xdpsec_classify.bpf.h */
	c = xdpsec_parse_l3(buf, buf + len, frame_len, flags, &p);
	if (c == XDPSEC_CLASS__MAX) {
		struct xdpsec_natt_key k;

		if (p.family != XDPSEC_AF_INET && p.family != XDPSEC_AF_INET6)
			abort();
		xdpsec_natt_key_of(&p, &k);
		if (k.family != p.family || memcmp(k.saddr, p.saddr, 16) || memcmp(k.daddr, p.daddr, 16))
			abort();
		if (p.l4_proto == XDPSEC_IPPROTO_UDP && (opt & 2))
			peer = &pv;
		c = xdpsec_parse_l4(buf, buf + len, &p, natt, peer);
	}
	check_one(buf, len, frame_len, !!flags, c, &p, natt, peer);

	/* The same datagram bare, as the daemon parses it: when it is IP of
	 * the family the link header announced, in a single buffer. */
	if (p.family && frame_len == len && p.l3_off < len &&
	    (buf[p.l3_off] >> 4) == (p.family == XDPSEC_AF_INET ? 4 : 6)) {
		uint32_t d = p.l3_off, blen = len - d;
		uint8_t *ip = malloc(blen);

		if (!ip)
			abort();
		memcpy(ip, buf + d, blen);
		cb = xdpsec_parse_ip_l3(ip, blen, &q);
		if (cb == XDPSEC_CLASS__MAX)
			cb = xdpsec_parse_l4(ip, ip + blen, &q, natt, peer);
		check_one(ip, blen, blen, 0, cb, &q, natt, peer);
		same(c, &p, cb, &q, d);
		free(ip);
	}
	free(alloc);
	return 0;
}
