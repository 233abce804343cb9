/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * reasm_gen.h - builds IPv4/IPv6 datagrams and cuts them into fragments,
 * for the reassembly unit test, fuzzer and benchmark.  Written from the
 * RFCs, independently of user/reasm/reasm.c (it shares no code with it), so the
 * test compares the engine against a second implementation; a sample is
 * also checked against scapy's defragment().
 */
#ifndef XDPSEC_REASM_GEN_H
#define XDPSEC_REASM_GEN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RG_MAX_PKT  (65535 + 40 + 8 + 512)
#define RG_MAX_FRAGS 8192

/* xorshift64*: small, seedable, good enough to shuffle. */
static inline uint64_t rg_rand(uint64_t *s)
{
	*s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static inline uint32_t rg_below(uint64_t *s, uint32_t n) { return n ? (uint32_t)(rg_rand(s) % n) : 0; }

struct rg_dgram {
	int family;              /* 4 or 6 */
	uint8_t *buf;            /* the whole original datagram */
	size_t len;
	size_t hdr_len;          /* IPv4 header / IPv6 unfragmentable part */
	size_t nh_off;           /* IPv6: offset of the next-header byte before the frag hdr */
};

struct rg_frag {
	uint8_t *pkt;
	size_t len;
	uint32_t start, end;     /* range of the fragmentable part */
};

static inline void rg_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static inline uint16_t rg_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * IPv4 datagram with `paylen` payload bytes.  opts: 0 none; 1 router
 * alert (copied) + timestamp (not copied), so non-first fragments carry a
 * shorter header (RFC 791 copy flag).
 */
static inline void rg_ipv4(struct rg_dgram *d, uint64_t *rs, uint32_t saddr, uint32_t daddr,
			   uint16_t id, uint8_t proto, size_t paylen, int opts)
{
	static const uint8_t o[12] = { 0x94, 4, 0, 0,  0x44, 8, 5, 0,  0, 0, 0, 0 };
	size_t hl = 20 + (opts ? sizeof(o) : 0);
	uint8_t *p = d->buf;

	d->family = 4;
	d->hdr_len = hl;
	d->nh_off = 0;
	d->len = hl + paylen;
	memset(p, 0, hl);
	p[0] = 0x40 | (uint8_t)(hl / 4);
	rg_put16(p + 2, (uint16_t)d->len);
	rg_put16(p + 4, id);
	p[8] = 64;
	p[9] = proto;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(saddr >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(daddr >> (24 - 8 * i));
	}
	if (opts)
		memcpy(p + 20, o, sizeof(o));
	rg_put16(p + 10, rg_csum(p, hl));
	for (size_t i = 0; i < paylen; i++)
		p[hl + i] = (uint8_t)rg_rand(rs);
}

/*
 * IPv6 datagram, `paylen` bytes after the unfragmentable part.  ext: 0
 * none; 1 hop-by-hop; 2 hop-by-hop + routing (type 4, segments left 0)
 * + destination options: the whole chain precedes the fragment header.
 */
static inline void rg_ipv6(struct rg_dgram *d, uint64_t *rs, uint8_t last_src, uint8_t last_dst,
			   uint8_t nh, size_t paylen, int ext)
{
	uint8_t *p = d->buf;
	size_t off = 40, nh_off = 6;

	d->family = 6;
	memset(p, 0, 40);
	p[0] = 0x60;
	p[7] = 64;
	p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = last_src;
	p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[39] = last_dst;
	if (ext >= 1) {        /* hop-by-hop, PadN */
		p[nh_off] = 0;
		nh_off = off;
		memcpy(p + off, (const uint8_t[8]){ 0, 0, 1, 4, 0, 0, 0, 0 }, 8);
		off += 8;
	}
	if (ext >= 2) {        /* routing header (SRH-like, 24 bytes), then dest opts (16) */
		p[nh_off] = 43;
		nh_off = off;
		memset(p + off, 0, 24);
		p[off + 1] = 2; p[off + 2] = 4; p[off + 3] = 0;
		off += 24;
		p[nh_off] = 60;
		nh_off = off;
		memset(p + off, 0, 16);
		p[off + 1] = 1; p[off + 2] = 1; p[off + 3] = 12;
		off += 16;
	}
	for (int k = 2; k < ext; k++) {   /* ext > 2: more dest opts (PadN) */
		p[nh_off] = 60;
		nh_off = off;
		memcpy(p + off, (const uint8_t[8]){ 0, 0, 1, 4, 0, 0, 0, 0 }, 8);
		off += 8;
	}
	p[nh_off] = nh;
	d->hdr_len = off;
	d->nh_off = nh_off;
	d->len = off + paylen;
	rg_put16(p + 4, (uint16_t)(d->len - 40));
	for (size_t i = 0; i < paylen; i++)
		p[off + i] = (uint8_t)rg_rand(rs);
}

/* IPv4: the options of a non-first fragment = those with the copy flag. */
static inline size_t rg_v4_copied_opts(const uint8_t *h, size_t hl, uint8_t *out)
{
	size_t n = 0, i = 20;

	while (i < hl) {
		uint8_t t = h[i], l;

		if (t == 0)
			break;
		if (t == 1) { i++; continue; }
		l = h[i + 1];
		if (t & 0x80) {
			memcpy(out + n, h + i, l);
			n += l;
		}
		i += l;
	}
	while (n % 4)
		out[n++] = 0;
	return n;
}

/*
 * Cut bytes [start, end) of d's fragmentable part into one fragment
 * packet (id used for IPv6; IPv4 takes it from the header).  `last`
 * clears MF/M.  Writes into f->pkt (RG_MAX_PKT bytes).
 */
static inline void rg_cut(const struct rg_dgram *d, uint32_t id6, uint32_t start, uint32_t end,
			  int last, struct rg_frag *f)
{
	uint8_t *p = f->pkt;
	size_t dl = end - start;

	f->start = start;
	f->end = end;
	if (d->family == 4) {
		size_t hl;

		if (start == 0) {
			hl = d->hdr_len;
			memcpy(p, d->buf, hl);
		} else {
			memcpy(p, d->buf, 20);
			hl = 20 + rg_v4_copied_opts(d->buf, d->hdr_len, p + 20);
			p[0] = 0x40 | (uint8_t)(hl / 4);
		}
		rg_put16(p + 2, (uint16_t)(hl + dl));
		rg_put16(p + 6, (uint16_t)((last ? 0 : 0x2000) | (start / 8)));
		p[10] = p[11] = 0;
		rg_put16(p + 10, rg_csum(p, hl));
		memcpy(p + hl, d->buf + d->hdr_len + start, dl);
		f->len = hl + dl;
	} else {
		size_t u = d->hdr_len;

		memcpy(p, d->buf, u);
		p[u] = d->buf[d->nh_off];
		p[u + 1] = 0;
		rg_put16(p + u + 2, (uint16_t)(start | (last ? 0 : 1)));
		p[u + 4] = (uint8_t)(id6 >> 24); p[u + 5] = (uint8_t)(id6 >> 16);
		p[u + 6] = (uint8_t)(id6 >> 8); p[u + 7] = (uint8_t)id6;
		p[d->nh_off] = 44;
		memcpy(p + u + 8, d->buf + u + start, dl);
		f->len = u + 8 + dl;
		rg_put16(p + 4, (uint16_t)(f->len - 40));
	}
}

/* Fragmentable length of d. */
static inline size_t rg_flen(const struct rg_dgram *d) { return d->len - d->hdr_len; }

/* Split into n fragments of (nearly) equal size, multiples of 8. */
static inline unsigned rg_split_n(const struct rg_dgram *d, unsigned n, uint32_t *st, uint32_t *en)
{
	size_t fl = rg_flen(d), sz = ((fl + n - 1) / n + 7) & ~(size_t)7;
	unsigned k = 0;

	for (size_t off = 0; off < fl; off += sz, k++) {
		st[k] = (uint32_t)off;
		en[k] = (uint32_t)(off + sz < fl ? off + sz : fl);
	}
	return k;
}

/* Split into fragments of `sz` (multiple of 8) bytes, last one shorter. */
static inline unsigned rg_split_size(const struct rg_dgram *d, size_t sz, uint32_t *st, uint32_t *en)
{
	size_t fl = rg_flen(d);
	unsigned k = 0;

	for (size_t off = 0; off < fl; off += sz, k++) {
		st[k] = (uint32_t)off;
		en[k] = (uint32_t)(off + sz < fl ? off + sz : fl);
	}
	return k;
}

/* Random sizes (multiples of 8, 8..maxsz), at most maxn fragments. */
static inline unsigned rg_split_random(const struct rg_dgram *d, uint64_t *rs, size_t maxsz,
				       unsigned maxn, uint32_t *st, uint32_t *en)
{
	size_t fl = rg_flen(d), off = 0;
	unsigned k = 0;

	while (off < fl) {
		size_t left = fl - off, sz = 8 * (1 + rg_below(rs, (uint32_t)(maxsz / 8)));

		if (k + 1 == maxn || sz >= left)
			sz = left;
		st[k] = (uint32_t)off;
		en[k] = (uint32_t)(off + sz);
		off += sz;
		k++;
	}
	return k;
}

static inline void rg_shuffle(uint64_t *rs, unsigned *idx, unsigned n)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = rg_below(rs, i), t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

#endif
