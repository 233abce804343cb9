// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reasm.c - IPv4/IPv6 fragment reassembly (see reasm.h for the rules).
 *
 * Layout, chosen so the hot path never allocates, copies every payload byte
 * once and stays O(1) for in-order arrival:
 *  - a slot pool of max_datagrams datagram descriptors, found through a
 *    chained hash table (keyed hash with a random secret, so a sender
 *    cannot aim collisions; the slot of the previous fragment is tried
 *    first, which is the common case) and linked in creation order (LRU
 *    list: the oldest is both the first to time out and the first to
 *    evict);
 *  - per slot: a sorted array of fragment ranges (max_frags entries) used
 *    for duplicate/overlap detection -- appending after the last range is
 *    the O(1) in-order case; a bitmap of the pages held and, once they
 *    scatter, a page table;
 *  - fragment data lives in an arena of 1 KiB pages (mem_cap of them).  A
 *    datagram's bytes are laid out as they will be sent: a header room of
 *    `head` bytes (64; an IPv6 unfragmentable part longer than that rounded
 *    up to 64), then the fragmentable part, so byte x of the datagram's
 *    fragmentable part lives at position head + x, in the datagram's page
 *    (head + x) / 1 KiB.  The header of the offset-0 fragment is written
 *    just before position head;
 *  - each new datagram reserves a free 16-page window of the arena (lowest
 *    first) and takes page base + i for its page i whenever that page is
 *    free, so in the usual case the whole datagram, header included, ends
 *    up contiguous, in place: completion only patches the header and hands
 *    the bytes out (REASM_OUT_BORROW: a pointer, no copy; otherwise one
 *    memcpy).  When page base + i is taken (many datagrams in flight, a
 *    datagram longer than its window next to a busy one) any free page is
 *    used, taken from the top of the arena, and completion gathers the
 *    pages into the caller's buffer: correct, one copy more;
 *  - a source table (per source address) carrying each sender's bytes and
 *    datagrams, with its own oldest-first list, for the per-source share;
 *  - feed_fast() takes the usual fragment shapes (IPv4 with a 20-byte
 *    header, IPv6 with only the fragment header) that overlap nothing and
 *    need no eviction, with the same checks in fewer steps; everything
 *    else, every error included, goes through parse() and feed_frag(),
 *    which apply the rules in full.
 * mem_cap counts pages held, exactly as before: the window is a placement
 * hint, never a reservation of memory.
 *
 * Why this file is long (~900 lines): it is the per-fragment hot path.
 * Source accounting, slot lookup and eviction, parse(), commit() and
 * feed_fast() stay in one translation unit so that the compiler can inline
 * them into reasm_feed(); the arena and bitmap helpers they use are static
 * inlines in reasm_int.h.  Set-up is in reasm_pool.c, the rest (timer,
 * walk, run-time limits, counters, self-check) in reasm_admin.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reasm_int.h"
#include "xdpsec_common.h"
#include "xdpsec_parse.h"      /* named constants, the IPv6 depth limit */

/*
 * Payload copies go through libc's memcpy: with the size bounded by the
 * page size, GCC otherwise inlines `rep movsq`, measured 2x slower than
 * libc's vector copy for 1-1.5 KB fragments (an AVX2 or AVX-512 loop of
 * our own measured no better than libc's).
 */
static void *(*volatile reasm_copy)(void *, const void *, size_t) = memcpy;

/* ------------------------------------------------------------ sources */

static uint32_t src_find(const struct reasm *r, uint8_t family, const uint8_t *a, uint32_t h)
{
	for (uint32_t i = r->p.srcbkt[h & (r->p.nbkt - 1)]; i != NIL; i = r->p.src[i].hnext) {
		const struct rsrc *e = &r->p.src[i];

		if (e->hash == h && e->family == family && memcmp(e->addr, a, 16) == 0)
			return i;
	}
	return NIL;
}

/* i: src_find's answer.  A free entry always exists: sources <= datagrams
 * in use < ndg. */
static uint32_t src_get(struct reasm *r, uint8_t family, const uint8_t *a, uint32_t h, uint32_t i)
{
	struct rsrc *e;

	if (i != NIL)
		return i;
	i = r->p.srcfree;
	e = &r->p.src[i];
	r->p.srcfree = e->hnext;
	e->family = family;
	memcpy(e->addr, a, 16);
	e->hash = h;
	e->refs = 0;
	e->bytes = 0;
	e->head = e->tail = NIL;
	e->hnext = r->p.srcbkt[h & (r->p.nbkt - 1)];
	r->p.srcbkt[h & (r->p.nbkt - 1)] = i;
	return i;
}

static void src_put(struct reasm *r, uint32_t i)
{
	struct rsrc *e = &r->p.src[i];
	uint32_t *pp = &r->p.srcbkt[e->hash & (r->p.nbkt - 1)];

	if (--e->refs)
		return;
	while (*pp != i)
		pp = &r->p.src[*pp].hnext;
	*pp = e->hnext;
	e->hnext = r->p.srcfree;
	r->p.srcfree = i;
}

/* ------------------------------------------------------------ slots */

static void slot_release(struct reasm *r, uint32_t s)
{
	struct rslot *d = &r->p.slot[s];
	struct rsrc *e = &r->p.src[d->src];
	const uint32_t *pt = ptab(r, s);
	uint32_t *pp;

	if (r->last == s)
		r->last = NIL;
	/* hash chain */
	pp = &r->p.bkt[d->hash & (r->p.nbkt - 1)];
	while (*pp != s)
		pp = &r->p.slot[*pp].hnext;
	*pp = d->hnext;
	/* global LRU */
	if (d->lru_prev != NIL) r->p.slot[d->lru_prev].lru_next = d->lru_next;
	else r->lru_head = d->lru_next;
	if (d->lru_next != NIL) r->p.slot[d->lru_next].lru_prev = d->lru_prev;
	else r->lru_tail = d->lru_prev;
	/* source list */
	if (d->src_prev != NIL) r->p.slot[d->src_prev].src_next = d->src_next;
	else e->head = d->src_next;
	if (d->src_next != NIL) r->p.slot[d->src_next].src_prev = d->src_prev;
	else e->tail = d->src_prev;
	/* pages, then the window once its pages are back */
	if (!(d->flags & F_SCATTER)) {
		if (d->pm)
			arena_give(&r->p, d->base, d->pm, d->npages);
	} else {
		for (u128 m = d->pm; m; m &= m - 1)
			page_give(&r->p, pt[ctz128(m)]);
	}
	if (d->base != NIL) {
		r->p.wres[d->base >> WIN_SHIFT] = 0;
		wins_given(&r->p, d->base >> WIN_SHIFT, d->base >> WIN_SHIFT);
	}
	r->mem_used -= (uint64_t)d->npages * PG;
	e->bytes -= (uint64_t)d->npages * PG;
	r->frags_held -= d->nfrags;
	src_put(r, d->src);
	r->p.sfree[r->p.nsfree++] = s;
	r->in_use--;
}

/* Discard a datagram; `why` is a C_* counter or -1 - reason. */
void slot_kill(struct reasm *r, uint32_t s, int why)
{
	if (why >= 0)
		r->cnt[why]++;
	else
		r->drop[-1 - why]++;
	r->cnt[C_FAILS]++;
	r->cnt[C_FRAG_DROPPED] += r->p.slot[s].nfrags;
	slot_release(r, s);
}

/* Evict the oldest datagram other than `keep`; timed-out ones count as such. */
bool evict_oldest(struct reasm *r, uint32_t keep, uint64_t now, int why)
{
	uint32_t s = r->lru_head;

	if (s == keep && s != NIL)
		s = r->p.slot[s].lru_next;
	if (s == NIL)
		return false;
	slot_kill(r, s, age(now, r->p.slot[s].created) >= r->lim.timeout_ms ? C_TIMEOUT : why);
	return true;
}

bool evict_src_oldest(struct reasm *r, uint32_t src, uint32_t keep, uint64_t now)
{
	uint32_t s = r->p.src[src].head;

	if (s == keep && s != NIL)
		s = r->p.slot[s].src_next;
	if (s == NIL)
		return false;
	slot_kill(r, s, age(now, r->p.slot[s].created) >= r->lim.timeout_ms ? C_TIMEOUT : C_SRC_EVICT);
	return true;
}

/* head: header room, from the creating fragment's header length. */
static uint32_t slot_new(struct reasm *r, const struct rkey *k, uint32_t h, uint64_t now,
			 uint32_t hdr_len)
{
	uint8_t family = key_family(k);
	const uint8_t *sa = (const uint8_t *)&k->w[2];
	uint32_t hs = src_hash(r, family, sa);
	uint32_t si = src_find(r, family, sa, hs);
	uint32_t s, win;
	struct rslot *d;
	struct rsrc *e;

	/* Per-source share of the datagram count first, so that one sender
	 * flooding new ids only evicts its own datagrams. */
	while (si != NIL && r->p.src[si].refs >= r->src_dg_cap &&
	       r->src_dg_cap < r->lim.max_datagrams) {
		evict_src_oldest(r, si, NIL, now);
		si = src_find(r, family, sa, hs);
	}
	if (r->in_use >= r->lim.max_datagrams || r->p.nsfree == 0) {
		while (r->in_use >= r->lim.max_datagrams || r->p.nsfree == 0)
			evict_oldest(r, NIL, now, C_EVICT_COUNT);
		si = src_find(r, family, sa, hs);   /* its last datagram may have gone */
	}
	si = src_get(r, family, sa, hs, si);
	e = &r->p.src[si];
	s = r->p.sfree[--r->p.nsfree];
	d = &r->p.slot[s];
	d->key = *k;
	d->hash = h;
	d->hnext = r->p.bkt[h & (r->p.nbkt - 1)];
	r->p.bkt[h & (r->p.nbkt - 1)] = s;
	d->lru_next = NIL;
	d->lru_prev = r->lru_tail;
	if (r->lru_tail != NIL) r->p.slot[r->lru_tail].lru_next = s;
	else r->lru_head = s;
	r->lru_tail = s;
	d->src = si;
	e->refs++;
	d->src_next = NIL;
	d->src_prev = e->tail;
	if (e->tail != NIL) r->p.slot[e->tail].src_next = s;
	else e->head = s;
	e->tail = s;
	d->tag = 0;
	d->created = now;
	d->received = d->total = d->max_end = 0;
	d->nfrags = d->npages = 0;
	d->hdr_len = d->nh_off = 0;
	d->nh = d->flags = 0;
	d->pm = 0;
	/* IPv4: any header fits in 64 bytes; IPv6: room for this fragment's
	 * unfragmentable part (the first fragment's is usually the same). */
	d->head = HEAD_MIN;
	if (hdr_len > HEAD_MIN && hdr_len <= REASM_HDR_MAX)
		d->head = (uint16_t)((hdr_len + 63) & ~63u);
	win = hbm_find(&r->p.fw, false);
	if (win != NIL) {
		hbm_clr(&r->p.fw, win);
		r->p.wres[win] = 1;
		d->base = win << WIN_SHIFT;
	} else {
		d->base = NIL;
		d->flags = F_SCATTER;
	}
	r->in_use++;
	return s;
}

/* ------------------------------------------------------------ parsing */

struct rfrag {
	struct rkey key;
	const uint8_t *hdr;     /* this packet's IPv4 header / unfragmentable part */
	uint32_t hdr_len, nh_off;
	uint8_t nh;             /* IPv6: next header in the fragment header */
	const uint8_t *data;
	uint32_t start, end;
	bool last;
};

enum { P_FRAG = 0, P_WHOLE = 1, P_ATOMIC = 2 };

/* A word whose memory holds the 4 address bytes, then zeros (no byte stores). */
static inline uint64_t addr4_word(uint32_t a)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return a;
#else
	return (uint64_t)a << 32;
#endif
}

/* Returns P_* or -reason.  *wlen: bytes of a whole packet (no L2 padding). */
static int parse(const uint8_t *pkt, size_t len, uint64_t ctx, struct rfrag *f, size_t *wlen)
{
	if (len < 1)
		return -REASM_R_MALFORMED;
	if (pkt[0] >> 4 == 4) {
		uint32_t ihl = (pkt[0] & 15) * 4u, tot, fo, plen, sa, da;

		if (len < 20 || ihl < 20 || ihl > len)
			return -REASM_R_MALFORMED;
		tot = be16(pkt + 2);
		if (tot < ihl || tot > len)
			return -REASM_R_MALFORMED;
		if (csum_fold32(pkt, ihl) != 0xffff)
			return -REASM_R_BAD_CSUM;
		fo = be16(pkt + 6);
		*wlen = tot;
		if (!(fo & XDPSEC_IP_FRAG_MASK))
			return P_WHOLE;
		plen = tot - ihl;
		f->start = (fo & XDPSEC_IP_OFFMASK) * 8u;
		f->end = f->start + plen;
		f->last = !(fo & XDPSEC_IP_MF);
		f->hdr = pkt;
		f->hdr_len = ihl;
		f->nh_off = 0;
		f->nh = pkt[9];
		f->data = pkt + ihl;
		memcpy(&sa, pkt + 12, 4);
		memcpy(&da, pkt + 16, 4);
		f->key.w[0] = ctx;
		f->key.w[1] = be16(pkt + 4) | (uint64_t)4 << 32 | (uint64_t)pkt[9] << 40;
		f->key.w[2] = addr4_word(sa);
		f->key.w[3] = 0;
		f->key.w[4] = addr4_word(da);
		f->key.w[5] = 0;
		if (plen == 0 || (!f->last && (plen & 7)))
			return -REASM_R_BAD_LEN;
		if (ihl + f->end > REASM_MAX_LEN)
			return -REASM_R_TOO_BIG;
		return P_FRAG;
	}
	if (pkt[0] >> 4 == 6) {
		uint32_t plen, tot, off = 40, nh_off = 6, fo, dlen, depth = 0;
		uint8_t nh;

		if (len < 40)
			return -REASM_R_MALFORMED;
		plen = be16(pkt + 4);
		nh = pkt[6];
		if (plen == 0 && nh == 0)
			return -REASM_R_JUMBO;  /* RFC 2675: never fragmented */
		tot = 40 + plen;
		if (tot > len)
			return -REASM_R_MALFORMED;
		*wlen = tot;
		/* Unfragmentable part: hop-by-hop, routing and destination
		 * options headers that precede the fragment header. */
		while (nh != XDPSEC_IPPROTO_FRAGMENT && xdpsec_ipv6_is_ext(nh)) {
			uint32_t hl;

			/* RFC 8200 4.1: Linux drops the packet (no handler
			 * for next header 0 past the first header) */
			if (nh == XDPSEC_IPPROTO_HOPOPTS && off != 40)
				return -REASM_R_HBH_NOT_FIRST;
			/* the classifier's depth limit (xdpsec_parse.h) */
			if (depth++ == XDPSEC_IPV6_EXT_MAX)
				return -REASM_R_MALFORMED;
			if (off + 2 > tot)
				return -REASM_R_MALFORMED;
			hl = (pkt[off + 1] + 1u) * 8u;
			if (off + hl > tot)
				return -REASM_R_MALFORMED;
			nh_off = off;
			nh = pkt[off];
			off += hl;
		}
		if (nh != XDPSEC_IPPROTO_FRAGMENT)
			return P_WHOLE;
		if (depth == XDPSEC_IPV6_EXT_MAX)      /* the fragment header too */
			return -REASM_R_MALFORMED;
		if (off + 8 > tot)
			return -REASM_R_MALFORMED;
		fo = be16(pkt + off + 2);
		dlen = tot - off - 8;
		f->start = fo & XDPSEC_IP6_OFFMASK;
		f->end = f->start + dlen;
		f->last = !(fo & XDPSEC_IP6_MF);
		f->hdr = pkt;
		f->hdr_len = off;
		f->nh_off = nh_off;
		f->nh = pkt[off];
		f->data = pkt + off + 8;
		f->key.w[0] = ctx;
		f->key.w[1] = be32(pkt + off + 4) | (uint64_t)6 << 32;
		f->key.w[2] = ld64(pkt + 8);
		f->key.w[3] = ld64(pkt + 16);
		f->key.w[4] = ld64(pkt + 24);
		f->key.w[5] = ld64(pkt + 32);
		if (f->start == 0 && f->last)
			return P_ATOMIC;        /* RFC 6946: not reassembled */
		if (dlen == 0 || (!f->last && (dlen & 7)))
			return -REASM_R_BAD_LEN;
		if (off - 40 + f->end > REASM_MAX_LEN)
			return -REASM_R_TOO_BIG;
		if (f->start == 0 && off > REASM_HDR_MAX)
			return -REASM_R_HDR_TOO_LONG;
		return P_FRAG;
	}
	return -REASM_R_MALFORMED;
}

/* ------------------------------------------------------------ feed */

/* The current packet is refused (its datagram, if any, is kept). */
static int dropped(struct reasm *r, struct reasm_out *out, int reason)
{
	r->drop[reason]++;
	if (reason != REASM_R_DUPLICATE)
		r->cnt[C_FAILS]++;
	r->cnt[C_FRAG_DROPPED]++;
	out->reason = reason;
	return REASM_DROPPED;
}

/* Datagram `s` is discarded because of the current fragment, which is
 * dropped with it (not held yet: committed fragments are in nfrags). */
static int kill_drop(struct reasm *r, uint32_t s, struct reasm_out *out, int reason)
{
	slot_kill(r, s, -1 - reason);
	r->cnt[C_FRAG_DROPPED]++;
	out->reason = reason;
	return REASM_DROPPED;
}

/* The same when the current fragment is already held by `s`. */
static int kill_drop_held(struct reasm *r, uint32_t s, struct reasm_out *out, int reason)
{
	slot_kill(r, s, -1 - reason);
	out->reason = reason;
	return REASM_DROPPED;
}

/* Arena page of the datagram's (held) page i. */
static inline uint32_t dpage(const struct reasm *r, uint32_t s, uint32_t i)
{
	const struct rslot *d = &r->p.slot[s];

	return d->flags & F_SCATTER ? ptab(r, s)[i] : d->base + i;
}

/* Where position pos of datagram s is; n: bytes contiguous from there up to end. */
static inline uint8_t *dpos(const struct reasm *r, uint32_t s, uint32_t pos, uint32_t end,
			    uint32_t *n)
{
	const struct rslot *d = &r->p.slot[s];

	if (!(d->flags & F_SCATTER)) {
		*n = end - pos;
		return pagemem(r, d->base) + pos;
	}
	*n = PG - (pos & (PG - 1));
	if (*n > end - pos)
		*n = end - pos;
	return pagemem(r, ptab(r, s)[pos >> PG_SHIFT]) + (pos & (PG - 1));
}

/* Compare new bytes with those held at positions [pos, end). */
static bool same_bytes(const struct reasm *r, uint32_t s, uint32_t pos, uint32_t end,
		       const uint8_t *data)
{
	while (pos < end) {
		uint32_t n;
		const uint8_t *m = dpos(r, s, pos, end, &n);

		if (memcmp(m, data, n))
			return false;
		data += n;
		pos += n;
	}
	return true;
}

/* Copies between a datagram's positions [pos, end) and a flat buffer. */
static void copy_in(const struct reasm *r, uint32_t s, uint32_t pos, uint32_t end,
		    const uint8_t *src)
{
	while (pos < end) {
		uint32_t n;
		uint8_t *m = dpos(r, s, pos, end, &n);

		reasm_copy(m, src, n);
		src += n;
		pos += n;
	}
}

static void copy_out(const struct reasm *r, uint32_t s, uint32_t pos, uint32_t end, uint8_t *dst)
{
	while (pos < end) {
		uint32_t n;
		const uint8_t *m = dpos(r, s, pos, end, &n);

		reasm_copy(dst, m, n);
		dst += n;
		pos += n;
	}
}

/* The reassembled header: lengths, fragment fields, checksum. */
static void fix_header(const struct rslot *d, uint8_t *o)
{
	uint32_t hl = d->hdr_len, total = d->total;

	if (key_family(&d->key) == 4) {
		/* Sum the header as it is, then swap the changed fields in:
		 * every load before any store (reloading just-stored bytes
		 * stalls store forwarding). */
		uint16_t fo = be16(o + 6) & 0xc000;   /* keep DF and the reserved bit */
		uint16_t len16, fo16, c;
		uint32_t sum;

		put16((uint8_t *)&len16, (uint16_t)(hl + total));   /* as stored */
		put16((uint8_t *)&fo16, fo);
		/* native words: old sum, minus the old fields (ones'
		 * complement: plus their complement), plus the new ones */
		sum = csum_fold32(o, hl) + (uint16_t)~ld16(o + 2) + (uint16_t)~ld16(o + 6) +
		      (uint16_t)~ld16(o + 10) + len16 + fo16;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		c = (uint16_t)~sum;
		memcpy(o + 2, &len16, 2);
		memcpy(o + 6, &fo16, 2);
		memcpy(o + 10, &c, 2);
	} else {
		o[d->nh_off] = d->nh;
		put16(o + 4, (uint16_t)(hl - 40 + total));
	}
}

static __attribute__((noinline)) int complete(struct reasm *r, uint32_t s, struct reasm_out *out)
{
	struct rslot *d = &r->p.slot[s];
	uint32_t hl = d->hdr_len, total = d->total, head = d->head;

	if ((key_family(&d->key) == 4 ? hl : hl - 40) + total > REASM_MAX_LEN)
		return kill_drop_held(r, s, out, REASM_R_TOO_BIG);
	if (!out->buf || hl + total > out->cap)
		return kill_drop_held(r, s, out, REASM_R_OUT_TOO_SMALL);
	if (!(d->flags & (F_SCATTER | F_HDRBUF))) {
		/* In place: header and data already where they belong. */
		uint8_t *o = pagemem(r, d->base) + head - hl;

		fix_header(d, o);
		if (out->flags & REASM_OUT_BORROW) {
			out->data = o;
		} else {
			reasm_copy(out->buf, o, hl + total);
			out->data = out->buf;
		}
	} else {
		uint8_t *o = out->buf;

		memcpy(o, d->flags & F_HDRBUF ? hdrbuf(r, s) : pagemem(r, dpage(r, s, 0)) + head - hl, hl);
		fix_header(d, o);
		copy_out(r, s, head, head + total, o + hl);
		out->data = out->buf;
		r->cnt[C_GATHERED]++;
	}
	out->len = hl + total;
	out->tag = d->tag;
	r->cnt[C_OKS]++;
	r->cnt[C_FRAG_OUT] += d->nfrags;
	slot_release(r, s);
	return REASM_COMPLETE;
}

/* First of the n sorted ranges with start >= start. */
static inline uint32_t range_pos(const struct rrange *rg, uint32_t n, uint32_t start)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (rg[mid].start < start) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/*
 * The fragment is accepted, its pages are there: the one copy, straight to
 * the final position, then the bookkeeping; range goes in at pos.
 */
static inline __attribute__((always_inline))
int commit(struct reasm *r, uint32_t s, const struct rfrag *f, uint32_t pos,
	   uint32_t tag, struct reasm_out *out)
{
	struct rslot *d = &r->p.slot[s];
	struct rrange *rg = ranges(r, s);
	uint32_t head = d->head;

	copy_in(r, s, head + f->start, head + f->end, f->data);
	if (pos < d->nfrags)
		memmove(&rg[pos + 1], &rg[pos], (d->nfrags - pos) * sizeof(*rg));
	rg[pos].start = (uint16_t)f->start;
	rg[pos].end = (uint16_t)f->end;
	d->nfrags++;
	r->frags_held++;
	d->received = (uint16_t)(d->received + f->end - f->start);
	if (f->end > d->max_end)
		d->max_end = (uint16_t)f->end;
	d->tag |= tag;
	if (f->last) {
		d->flags |= F_LAST;
		d->total = (uint16_t)f->end;
	}
	if (f->start == 0) {
		d->flags |= F_FIRST;
		d->hdr_len = (uint16_t)f->hdr_len;
		d->nh_off = (uint16_t)f->nh_off;
		d->nh = f->nh;
		if (f->hdr_len <= head) {
			/* page 0 holds position head, so it is there now */
			memcpy(pagemem(r, dpage(r, s, 0)) + head - f->hdr_len, f->hdr, f->hdr_len);
		} else {
			memcpy(hdrbuf(r, s), f->hdr, f->hdr_len);
			d->flags |= F_HDRBUF;
		}
	}
	if ((d->flags & (F_FIRST | F_LAST)) == (F_FIRST | F_LAST) && d->received == d->total)
		return complete(r, s, out);
	r->last = s;
	return REASM_HELD;
}

/*
 * The common case.  The usual shapes only -- an IPv4 fragment with a
 * 20-byte header, an IPv6 fragment whose fragment header follows the fixed
 * header -- not overlapping anything, landing in place next to what its
 * datagram holds and fitting the caps without evicting anything.  The
 * checks of parse() and feed_frag() in fewer steps, straight from the
 * packet; the datagram of the previous fragment is tried before the hash
 * table.  -1 when one check fails: nothing was done or counted (at most an
 * empty datagram was created, as feed_frag would) and the general path
 * decides.
 */
static int feed_fast(struct reasm *r, const uint8_t *pkt, size_t len, uint64_t now,
		     uint64_t ctx, uint32_t tag, struct reasm_out *out)
{
	uint32_t s, head, pg0, pg1, need, dlen, pos;
	const struct rslot *d;
	struct rfrag f;
	u128 want;

	f.key.w[0] = ctx;
	if (len >= 20 && pkt[0] == 0x45) {
		uint32_t tot = be16(pkt + 2), fo = be16(pkt + 6);

		if (tot <= 20 || tot > len || !(fo & XDPSEC_IP_FRAG_MASK) || csum_fold32(pkt, 20) != 0xffff)
			return -1;
		f.key.w[1] = be16(pkt + 4) | (uint64_t)4 << 32 | (uint64_t)pkt[9] << 40;
		f.key.w[2] = addr4_word(ld32(pkt + 12));
		f.key.w[3] = 0;
		f.key.w[4] = addr4_word(ld32(pkt + 16));
		f.key.w[5] = 0;
		f.start = (fo & XDPSEC_IP_OFFMASK) * 8u;
		f.last = !(fo & XDPSEC_IP_MF);
		f.hdr_len = 20;                  /* the total length counts it */
		f.nh_off = 0;
		f.nh = pkt[9];
		dlen = tot - 20;
	} else if (len >= 48 && pkt[0] >> 4 == 6 && pkt[6] == XDPSEC_IPPROTO_FRAGMENT) {
		uint32_t plen = be16(pkt + 4), fo = be16(pkt + 42);

		if (plen <= 8 || 40 + plen > len)
			return -1;
		f.key.w[1] = be32(pkt + 44) | (uint64_t)6 << 32;
		f.key.w[2] = ld64(pkt + 8);
		f.key.w[3] = ld64(pkt + 16);
		f.key.w[4] = ld64(pkt + 24);
		f.key.w[5] = ld64(pkt + 32);
		f.start = fo & XDPSEC_IP6_OFFMASK;
		f.last = !(fo & XDPSEC_IP6_MF);
		if (f.start == 0 && f.last)
			return -1;                   /* atomic */
		f.hdr_len = 40;                  /* the payload length does not */
		f.nh_off = 6;
		f.nh = pkt[40];
		dlen = plen - 8;
	} else {
		return -1;
	}
	f.hdr = pkt;
	f.data = pkt + f.hdr_len + (f.nh_off ? 8 : 0);
	f.end = f.start + dlen;
	if ((f.nh_off ? 0 : 20) + f.end > REASM_MAX_LEN || (!f.last && (dlen & 7)))
		return -1;
	/* Fragments of one datagram usually follow each other. */
	s = r->last;
	if (s == NIL || !key_eq(&r->p.slot[s].key, &f.key)) {
		uint32_t h = key_hash(r, &f.key);

		s = slot_find(r, &f.key, h);
		if (s == NIL)
			s = slot_new(r, &f.key, h, now, f.hdr_len);
	}
	d = &r->p.slot[s];
	/* non-last: multiple of 8; in place; in time; room for one more range
	 * (the pool has room for max_frags); one last, nothing beyond it */
	if ((d->flags & F_SCATTER) ||
	    age(now, d->created) >= r->lim.timeout_ms || d->nfrags >= r->lim.max_frags ||
	    (d->flags & F_LAST ? f.last || f.end >= d->total : f.last && d->max_end >= f.end))
		return -1;
	/* the header (20 or 40 bytes) always fits the room */
	head = d->head;
	pg0 = (head + f.start) >> PG_SHIFT;
	pg1 = (head + f.end - 1) >> PG_SHIFT;
	if (f.start >= d->max_end) {
		/* appending: nothing is held past the page of max_end - 1 */
		pos = d->nfrags;
		pg0 += d->max_end && (head + d->max_end - 1) >> PG_SHIFT == pg0;
		need = pg1 + 1 - pg0;
		want = need ? range_mask(pg0, pg1) : 0;
	} else {
		const struct rrange *rg = ranges(r, s);

		pos = range_pos(rg, d->nfrags, f.start);
		if ((pos > 0 && rg[pos - 1].end > f.start) || (pos < d->nfrags && rg[pos].start < f.end))
			return -1;                   /* duplicate or overlap */
		want = range_mask(pg0, pg1) & ~d->pm;
		need = 0;
		if (want) {
			/* one run of pages: only the end pages of the range
			 * can be held already, by its neighbours */
			pg0 = ctz128(want);
			need = fls128(want) + 1 - pg0;
		}
	}
	if (need) {
		uint64_t bytes = (uint64_t)need * PG;
		struct rsrc *e = &r->p.src[d->src];
		struct rslot *dw = &r->p.slot[s];

		if (r->mem_used + bytes > r->lim.mem_cap ||
		    (r->src_mem_cap < r->lim.mem_cap && e->bytes + bytes > r->src_mem_cap))
			return -1;
		if (!arena_take_run(&r->p, d->base + pg0, need, d->base >> WIN_SHIFT))
			return -1;
		dw->pm |= want;
		dw->npages = (uint16_t)(dw->npages + need);
		r->mem_used += bytes;
		e->bytes += bytes;
	}
	r->cnt[C_REQDS]++;
	return commit(r, s, &f, pos, tag, out);
}

static int feed_frag(struct reasm *r, struct rfrag *f, uint64_t now, uint32_t tag,
		     struct reasm_out *out)
{
	uint32_t s = r->last, h, pos, head, pg0, pg1, need;
	struct rrange *rg;
	u128 want;
	struct rslot *d;

	/* Fragments of one datagram usually follow each other. */
	if (s == NIL || !key_eq(&r->p.slot[s].key, &f->key)) {
		h = key_hash(r, &f->key);
		s = slot_find(r, &f->key, h);
	} else {
		h = r->p.slot[s].hash;
	}
	if (s != NIL && age(now, r->p.slot[s].created) >= r->lim.timeout_ms) {
		slot_kill(r, s, C_TIMEOUT);
		s = NIL;
	}
	if (s == NIL)
		s = slot_new(r, &f->key, h, now, f->hdr_len);
	d = &r->p.slot[s];
	rg = ranges(r, s);

	/* End of the datagram (RFC 791/8200): one last, nothing beyond it. */
	if (f->last) {
		if ((d->flags & F_LAST) ? f->end != d->total : d->max_end >= f->end)
			return kill_drop(r, s, out, REASM_R_LAST_CONFLICT);
	} else if ((d->flags & F_LAST) && f->end >= d->total) {
		return kill_drop(r, s, out, REASM_R_LAST_CONFLICT);
	}

	head = d->head;
	/* Position among the sorted ranges: appending is the in-order case. */
	pos = d->nfrags;
	if (pos && f->start < rg[pos - 1].end) {
		pos = range_pos(rg, d->nfrags, f->start);
		if (pos < d->nfrags && rg[pos].start == f->start && rg[pos].end == f->end) {
			if (!same_bytes(r, s, head + f->start, head + f->end, f->data))
				return kill_drop(r, s, out, REASM_R_OVERLAP);
			r->last = s;
			return dropped(r, out, REASM_R_DUPLICATE);
		}
		if ((pos > 0 && rg[pos - 1].end > f->start) ||
		    (pos < d->nfrags && rg[pos].start < f->end))
			return kill_drop(r, s, out, REASM_R_OVERLAP);
	}
	if (d->nfrags >= r->lim.max_frags || d->nfrags >= r->p.nfr)
		return kill_drop(r, s, out, REASM_R_TOO_MANY_FRAGS);

	/* Pages this fragment needs that are not there yet. */
	pg0 = (head + f->start) >> PG_SHIFT;
	pg1 = (head + f->end - 1) >> PG_SHIFT;
	if (f->start >= d->max_end) {
		/* Appending: nothing is held past the page of max_end - 1. */
		pg0 += d->max_end && (head + d->max_end - 1) >> PG_SHIFT == pg0;
		need = pg1 + 1 - pg0;
		want = need ? range_mask(pg0, pg1) : 0;
	} else {
		want = range_mask(pg0, pg1) & ~d->pm;
		need = nbits128(want);
	}
	if (need) {
		uint64_t bytes = (uint64_t)need * PG;
		struct rsrc *e = &r->p.src[d->src];

		while (e->bytes + bytes > r->src_mem_cap && r->src_mem_cap < r->lim.mem_cap)
			if (!evict_src_oldest(r, d->src, s, now))
				return kill_drop(r, s, out, REASM_R_SRC_CAP);
		while (r->mem_used + bytes > r->lim.mem_cap || r->p.npfree < need)
			if (!evict_oldest(r, s, now, C_EVICT_MEM))
				return kill_drop(r, s, out, REASM_R_MEM_CAP);
		if (!(d->flags & F_SCATTER) && !(want & ~arena_free(&r->p, d->base))) {
			arena_take(&r->p, d->base, want, need);  /* all at base + i */
		} else {
			uint32_t *pt = ptab(r, s);

			if (!(d->flags & F_SCATTER)) {         /* from now on: pt */
				for (u128 m = d->pm; m; m &= m - 1)
					pt[ctz128(m)] = d->base + ctz128(m);
				d->flags |= F_SCATTER;
			}
			for (u128 m = want; m; m &= m - 1) {
				uint32_t i = ctz128(m), pg = d->base + i;

				if (d->base == NIL || pg >= r->p.npg || !hbm_test(&r->p.fp, pg))
					pg = hbm_find(&r->p.fp, true);  /* from the top, away from windows */
				page_take(&r->p, pg);
				pt[i] = pg;
			}
		}
		d->pm |= want;
		d->npages = (uint16_t)(d->npages + need);
		r->mem_used += bytes;
		e->bytes += bytes;
	}

	return commit(r, s, f, pos, tag, out);
}

/* Everything but the in-order fast path: kept out of line, so that the
 * fast path has a light frame. */
static __attribute__((noinline)) int feed_slow(struct reasm *r, const uint8_t *pkt, size_t len,
					       uint64_t now_ms, uint64_t ctx, uint32_t tag,
					       struct reasm_out *out)
{
	struct rfrag f;
	size_t wlen = 0;
	int rc;

	rc = parse(pkt, len, ctx, &f, &wlen);
	if (rc == P_WHOLE) {
		if (!out->buf || wlen > out->cap)
			return dropped(r, out, REASM_R_OUT_TOO_SMALL);
		memcpy(out->buf, pkt, wlen);
		out->len = wlen;
		out->data = out->buf;
		r->cnt[C_PASS]++;
		r->cnt[C_FRAG_OUT]++;
		return REASM_COMPLETE;
	}
	if (rc == P_ATOMIC) {
		/* Drop the fragment header, give its next header to the previous one. */
		size_t dl = wlen - f.hdr_len - 8;

		if (!out->buf || f.hdr_len + dl > out->cap)
			return dropped(r, out, REASM_R_OUT_TOO_SMALL);
		memcpy(out->buf, pkt, f.hdr_len);
		memcpy(out->buf + f.hdr_len, f.data, dl);
		out->buf[f.nh_off] = f.nh;
		put16(out->buf + 4, (uint16_t)(f.hdr_len - 40 + dl));
		out->len = f.hdr_len + dl;
		out->data = out->buf;
		r->cnt[C_ATOMIC]++;
		r->cnt[C_FRAG_OUT]++;
		return REASM_COMPLETE;
	}
	if (rc < 0 && (rc == -REASM_R_MALFORMED || rc == -REASM_R_BAD_CSUM || rc == -REASM_R_JUMBO ||
		       rc == -REASM_R_HBH_NOT_FIRST))
		return dropped(r, out, -rc);
	r->cnt[C_REQDS]++;
	if (rc < 0) {
		/* A well-formed but unacceptable fragment poisons its datagram. */
		uint32_t s = slot_find(r, &f.key, key_hash(r, &f.key));

		if (s != NIL && rc != -REASM_R_HDR_TOO_LONG)
			return kill_drop(r, s, out, -rc);
		return dropped(r, out, -rc);
	}
	return feed_frag(r, &f, now_ms, tag, out);
}

int reasm_feed(struct reasm *r, const uint8_t *pkt, size_t len, uint64_t now_ms,
	       uint64_t ctx, uint32_t tag, struct reasm_out *out)
{
	int rc;

	out->len = 0;
	out->tag = tag;
	out->reason = REASM_R_NONE;
	out->data = NULL;
	r->cnt[C_FRAG_IN]++;
	if (!r->no_fast) {
		rc = feed_fast(r, pkt, len, now_ms, ctx, tag, out);
		if (rc >= 0)
			return rc;
	}
	return feed_slow(r, pkt, len, now_ms, ctx, tag, out);
}

void reasm_set_fast_path(struct reasm *r, bool on)
{
	r->no_fast = !on;
}
