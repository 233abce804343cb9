// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reasm.c - IPv4/IPv6 fragment reassembly (see reasm.h for the rules).
 *
 * Layout, chosen so the hot path never allocates and stays O(1) for
 * in-order arrival:
 *  - a slot pool of max_datagrams datagram descriptors, found through a
 *    chained hash table (keyed hash with a random secret, so a sender
 *    cannot aim collisions) and linked in creation order (LRU list: the
 *    oldest is both the first to time out and the first to evict);
 *  - per slot: a sorted array of fragment ranges (max_frags entries) used
 *    for duplicate/overlap detection -- appending after the last range is
 *    the O(1) in-order case; a page table of 64 page indices;
 *  - fragment payload is copied once, straight to its final offset, into
 *    1 KiB pages from a free stack sized by mem_cap; completion copies the
 *    header and the pages once into the caller's buffer;
 *  - a source table (per source address) carrying each sender's bytes and
 *    datagrams, with its own oldest-first list, for the per-source share.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "reasm.h"

#define NIL        UINT32_MAX
#define PT_ENTRIES ((REASM_MAX_LEN + REASM_PAGE_SIZE - 1) / REASM_PAGE_SIZE)
#define MAX_FRAGS_LIMIT 8192u          /* 65536 / 8: more cannot be distinct */

struct rkey {
	uint64_t ctx;
	uint32_t id;
	uint8_t family, proto, pad[2];
	uint8_t src[16], dst[16];
};

struct rrange { uint16_t start, end; };   /* end exclusive, <= 65535 */

#define F_FIRST 1
#define F_LAST  2

struct rslot {
	struct rkey key;
	uint32_t hash, hnext;         /* bucket chain */
	uint32_t lru_prev, lru_next;  /* global creation order */
	uint32_t src_prev, src_next;  /* creation order within the source */
	uint32_t src;                 /* source entry */
	uint32_t tag;
	uint64_t created;
	uint32_t received;            /* payload bytes held (no overlaps) */
	uint32_t total;               /* end of the last fragment */
	uint32_t max_end;
	uint16_t nfrags, npages;
	uint16_t hdr_len, nh_off;     /* header from the offset-0 fragment */
	uint8_t nh, flags;
};

struct rsrc {
	uint8_t family, addr[16];
	uint32_t hash, hnext;
	uint32_t refs;                /* datagrams of this source */
	uint64_t bytes;               /* pages held * page size */
	uint32_t head, tail;          /* its datagrams, oldest first */
};

struct rpools {
	uint32_t ndg, nfr, npg, nbkt; /* allocated sizes; nbkt power of 2 */
	struct rslot *slot;
	struct rrange *range;         /* ndg * nfr */
	uint32_t *pt;                 /* ndg * PT_ENTRIES */
	uint8_t *hdr;                 /* ndg * REASM_HDR_MAX */
	uint8_t *page;                /* npg * REASM_PAGE_SIZE */
	uint32_t *pfree, npfree;      /* free page stack */
	uint32_t *sfree, nsfree;      /* free slot stack */
	uint32_t *bkt;                /* slot hash buckets */
	struct rsrc *src;             /* ndg source entries */
	uint32_t *srcbkt;
	uint32_t srcfree;             /* free source list through hnext */
};

enum {
	C_REQDS, C_OKS, C_FAILS, C_TIMEOUT, C_EVICT_MEM, C_EVICT_COUNT,
	C_SRC_EVICT, C_PASS, C_ATOMIC, C_FLUSHED, C__MAX
};

struct reasm {
	struct reasm_limits lim;
	struct rpools p;
	uint64_t seed[6];
	uint32_t in_use;
	uint32_t lru_head, lru_tail;
	uint64_t mem_used;
	uint64_t src_mem_cap;
	uint32_t src_dg_cap;
	uint64_t cnt[C__MAX];
	uint64_t drop[REASM_R__MAX];
};

/* ------------------------------------------------------------ helpers */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += be16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
	__uint128_t m = (__uint128_t)a * b;

	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Keyed hash (wyhash-style multiply-fold) of the 48-byte key. */
static inline uint32_t key_hash(const struct reasm *r, const struct rkey *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = mix(ld64(b) ^ r->seed[0], ld64(b + 8) ^ r->seed[1]);

	h += mix(ld64(b + 16) ^ r->seed[2], ld64(b + 24) ^ r->seed[3]);
	h += mix(ld64(b + 32) ^ r->seed[4], ld64(b + 40) ^ r->seed[5]);
	return (uint32_t)(mix(h, 0x9E3779B97F4A7C15ull) >> 7);
}

static inline bool key_eq(const struct rkey *a, const struct rkey *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static inline uint32_t src_hash(const struct reasm *r, uint8_t family, const uint8_t *a)
{
	uint64_t h = mix(ld64(a) ^ r->seed[2], (ld64(a + 8) ^ r->seed[4]) + family);

	return (uint32_t)(h >> 5);
}

/*
 * Page copies go through libc's memcpy: with the size bounded by the page
 * size, GCC otherwise inlines `rep movsq`, measured 2x slower than libc's
 * vector copy for 1-1.5 KB fragments.
 */
static void *(*volatile reasm_copy)(void *, const void *, size_t) = memcpy;

static inline uint64_t age(uint64_t now, uint64_t then) { return now > then ? now - then : 0; }

static inline struct rrange *ranges(const struct reasm *r, uint32_t s)
{
	return &r->p.range[(size_t)s * r->p.nfr];
}

static inline uint32_t *ptab(const struct reasm *r, uint32_t s)
{
	return &r->p.pt[(size_t)s * PT_ENTRIES];
}

static inline uint8_t *hdrbuf(const struct reasm *r, uint32_t s)
{
	return &r->p.hdr[(size_t)s * REASM_HDR_MAX];
}

static inline uint8_t *pagemem(const struct reasm *r, uint32_t pg)
{
	return &r->p.page[(size_t)pg * REASM_PAGE_SIZE];
}

/* ------------------------------------------------------------ pools */

static void pools_free(struct rpools *p)
{
	free(p->slot); free(p->range); free(p->pt); free(p->hdr); free(p->page);
	free(p->pfree); free(p->sfree); free(p->bkt); free(p->src); free(p->srcbkt);
	memset(p, 0, sizeof(*p));
}

static int pools_alloc(struct rpools *p, const struct reasm_limits *l)
{
	uint32_t nb = 1;

	memset(p, 0, sizeof(*p));
	p->ndg = l->max_datagrams;
	p->nfr = l->max_frags;
	p->npg = (uint32_t)(l->mem_cap / REASM_PAGE_SIZE);
	while (nb < 2 * p->ndg)
		nb <<= 1;
	p->nbkt = nb;
	p->slot = calloc(p->ndg, sizeof(*p->slot));
	p->range = calloc((size_t)p->ndg * p->nfr, sizeof(*p->range));
	p->pt = malloc((size_t)p->ndg * PT_ENTRIES * sizeof(*p->pt));
	p->hdr = malloc((size_t)p->ndg * REASM_HDR_MAX);
	p->page = malloc((size_t)p->npg * REASM_PAGE_SIZE + 1);
	p->pfree = malloc(((size_t)p->npg + 1) * sizeof(*p->pfree));
	p->sfree = malloc((size_t)p->ndg * sizeof(*p->sfree));
	p->bkt = malloc((size_t)nb * sizeof(*p->bkt));
	p->src = calloc(p->ndg, sizeof(*p->src));
	p->srcbkt = malloc((size_t)nb * sizeof(*p->srcbkt));
	if (!p->slot || !p->range || !p->pt || !p->hdr || !p->page || !p->pfree ||
	    !p->sfree || !p->bkt || !p->src || !p->srcbkt) {
		pools_free(p);
		return -ENOMEM;
	}
	memset(p->pt, 0xff, (size_t)p->ndg * PT_ENTRIES * sizeof(*p->pt));
	memset(p->bkt, 0xff, (size_t)nb * sizeof(*p->bkt));
	memset(p->srcbkt, 0xff, (size_t)nb * sizeof(*p->srcbkt));
	/* Stacks hand out low indices first: better locality when lightly used. */
	for (uint32_t i = 0; i < p->npg; i++)
		p->pfree[i] = p->npg - 1 - i;
	p->npfree = p->npg;
	for (uint32_t i = 0; i < p->ndg; i++)
		p->sfree[i] = p->ndg - 1 - i;
	p->nsfree = p->ndg;
	for (uint32_t i = 0; i < p->ndg; i++)
		p->src[i].hnext = i + 1 < p->ndg ? i + 1 : NIL;
	p->srcfree = p->ndg ? 0 : NIL;
	return 0;
}

/* ------------------------------------------------------------ limits */

void reasm_limits_default(struct reasm_limits *l)
{
	l->timeout_ms = 30000;
	l->mem_cap = 4u << 20;
	l->max_frags = 64;
	l->max_datagrams = 4096;
	l->src_share_pct = 25;
}

static bool limits_ok(const struct reasm_limits *l)
{
	return l->timeout_ms >= 1 &&
	       l->mem_cap >= REASM_PAGE_SIZE && l->mem_cap <= (1ull << 32) &&
	       l->max_frags >= 1 && l->max_frags <= MAX_FRAGS_LIMIT &&
	       l->max_datagrams >= 1 && l->max_datagrams <= (1u << 22) &&
	       l->src_share_pct >= 1 && l->src_share_pct <= 100;
}

static void derive_caps(struct reasm *r)
{
	r->src_mem_cap = r->lim.mem_cap * r->lim.src_share_pct / 100;
	r->src_dg_cap = (uint32_t)((uint64_t)r->lim.max_datagrams * r->lim.src_share_pct / 100);
	if (r->src_dg_cap == 0)
		r->src_dg_cap = 1;
}

struct reasm *reasm_new(const struct reasm_limits *l)
{
	struct reasm_limits def;
	struct reasm *r;

	if (!l) {
		reasm_limits_default(&def);
		l = &def;
	}
	if (!limits_ok(l))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (pools_alloc(&r->p, l)) {
		free(r);
		return NULL;
	}
	if (getrandom(r->seed, sizeof(r->seed), GRND_NONBLOCK) != sizeof(r->seed)) {
		/* No entropy yet: fall back to addresses and time; still keyed. */
		uintptr_t a = (uintptr_t)r;

		for (int i = 0; i < 6; i++)
			r->seed[i] = mix(a + i, 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&a);
	}
	r->lim = *l;
	r->lru_head = r->lru_tail = NIL;
	derive_caps(r);
	return r;
}

void reasm_free(struct reasm *r)
{
	if (!r)
		return;
	pools_free(&r->p);
	free(r);
}

void reasm_get_limits(const struct reasm *r, struct reasm_limits *l)
{
	*l = r->lim;
}

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

/* A free entry always exists: sources <= datagrams in use < ndg. */
static uint32_t src_get(struct reasm *r, uint8_t family, const uint8_t *a)
{
	uint32_t h = src_hash(r, family, a), i = src_find(r, family, a, h);
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
	uint32_t *pt = ptab(r, s), *pp;

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
	/* pages: only the touched part of the table is scanned */
	if (d->npages) {
		uint32_t hi = d->max_end ? (d->max_end - 1) / REASM_PAGE_SIZE : 0;

		for (uint32_t i = 0; i <= hi && i < PT_ENTRIES; i++) {
			if (pt[i] != NIL) {
				r->p.pfree[r->p.npfree++] = pt[i];
				pt[i] = NIL;
			}
		}
		r->mem_used -= (uint64_t)d->npages * REASM_PAGE_SIZE;
		e->bytes -= (uint64_t)d->npages * REASM_PAGE_SIZE;
	}
	src_put(r, d->src);
	r->p.sfree[r->p.nsfree++] = s;
	r->in_use--;
}

/* Discard a datagram; `why` is a C_* counter or -1 - reason. */
static void slot_kill(struct reasm *r, uint32_t s, int why)
{
	if (why >= 0)
		r->cnt[why]++;
	else
		r->drop[-1 - why]++;
	r->cnt[C_FAILS]++;
	slot_release(r, s);
}

/* Evict the oldest datagram other than `keep`; timed-out ones count as such. */
static bool evict_oldest(struct reasm *r, uint32_t keep, uint64_t now, int why)
{
	uint32_t s = r->lru_head;

	if (s == keep && s != NIL)
		s = r->p.slot[s].lru_next;
	if (s == NIL)
		return false;
	slot_kill(r, s, age(now, r->p.slot[s].created) >= r->lim.timeout_ms ? C_TIMEOUT : why);
	return true;
}

static bool evict_src_oldest(struct reasm *r, uint32_t src, uint32_t keep, uint64_t now)
{
	uint32_t s = r->p.src[src].head;

	if (s == keep && s != NIL)
		s = r->p.slot[s].src_next;
	if (s == NIL)
		return false;
	slot_kill(r, s, age(now, r->p.slot[s].created) >= r->lim.timeout_ms ? C_TIMEOUT : C_SRC_EVICT);
	return true;
}

static uint32_t slot_find(const struct reasm *r, const struct rkey *k, uint32_t h)
{
	for (uint32_t i = r->p.bkt[h & (r->p.nbkt - 1)]; i != NIL; i = r->p.slot[i].hnext) {
		const struct rslot *d = &r->p.slot[i];

		if (d->hash == h && key_eq(&d->key, k))
			return i;
	}
	return NIL;
}

static uint32_t slot_new(struct reasm *r, const struct rkey *k, uint32_t h, uint64_t now)
{
	uint32_t hs = src_hash(r, k->family, k->src);
	uint32_t si = src_find(r, k->family, k->src, hs);
	uint32_t s;
	struct rslot *d;
	struct rsrc *e;

	/* Per-source share of the datagram count first, so that one sender
	 * flooding new ids only evicts its own datagrams. */
	while (si != NIL && r->p.src[si].refs >= r->src_dg_cap &&
	       r->src_dg_cap < r->lim.max_datagrams) {
		evict_src_oldest(r, si, NIL, now);
		si = src_find(r, k->family, k->src, hs);
	}
	while (r->in_use >= r->lim.max_datagrams || r->p.nsfree == 0)
		evict_oldest(r, NIL, now, C_EVICT_COUNT);
	si = src_get(r, k->family, k->src);
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

/* Returns P_* or -reason.  *wlen: bytes of a whole packet (no L2 padding). */
static int parse(const uint8_t *pkt, size_t len, uint64_t ctx, struct rfrag *f, size_t *wlen)
{
	if (len < 1)
		return -REASM_R_MALFORMED;
	if (pkt[0] >> 4 == 4) {
		uint32_t ihl = (pkt[0] & 15) * 4u, tot, fo, plen;

		if (len < 20 || ihl < 20 || ihl > len)
			return -REASM_R_MALFORMED;
		tot = be16(pkt + 2);
		if (tot < ihl || tot > len)
			return -REASM_R_MALFORMED;
		if (ip_csum(pkt, ihl) != 0)
			return -REASM_R_BAD_CSUM;
		fo = be16(pkt + 6);
		*wlen = tot;
		if (!(fo & 0x2000) && !(fo & 0x1fff))
			return P_WHOLE;
		plen = tot - ihl;
		f->start = (fo & 0x1fff) * 8u;
		f->end = f->start + plen;
		f->last = !(fo & 0x2000);
		f->hdr = pkt;
		f->hdr_len = ihl;
		f->nh_off = 0;
		f->nh = pkt[9];
		f->data = pkt + ihl;
		memset(&f->key, 0, sizeof(f->key));
		f->key.ctx = ctx;
		f->key.id = be16(pkt + 4);
		f->key.family = 4;
		f->key.proto = pkt[9];
		memcpy(f->key.src, pkt + 12, 4);
		memcpy(f->key.dst, pkt + 16, 4);
		if (plen == 0 || (!f->last && (plen & 7)))
			return -REASM_R_BAD_LEN;
		if (ihl + f->end > REASM_MAX_LEN)
			return -REASM_R_TOO_BIG;
		return P_FRAG;
	}
	if (pkt[0] >> 4 == 6) {
		uint32_t plen, tot, off = 40, nh_off = 6, fo, dlen;
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
		while (nh == 0 || nh == 43 || nh == 60) {
			uint32_t hl;

			if (off + 2 > tot)
				return -REASM_R_MALFORMED;
			hl = (pkt[off + 1] + 1u) * 8u;
			if (off + hl > tot)
				return -REASM_R_MALFORMED;
			nh_off = off;
			nh = pkt[off];
			off += hl;
		}
		if (nh != 44)
			return P_WHOLE;
		if (off + 8 > tot)
			return -REASM_R_MALFORMED;
		fo = be16(pkt + off + 2);
		dlen = tot - off - 8;
		f->start = fo & 0xfff8;
		f->end = f->start + dlen;
		f->last = !(fo & 1);
		f->hdr = pkt;
		f->hdr_len = off;
		f->nh_off = nh_off;
		f->nh = pkt[off];
		f->data = pkt + off + 8;
		memset(&f->key, 0, sizeof(f->key));
		f->key.ctx = ctx;
		f->key.id = be32(pkt + off + 4);
		f->key.family = 6;
		memcpy(f->key.src, pkt + 8, 16);
		memcpy(f->key.dst, pkt + 24, 16);
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

static int dropped(struct reasm *r, struct reasm_out *out, int reason)
{
	r->drop[reason]++;
	if (reason != REASM_R_DUPLICATE)
		r->cnt[C_FAILS]++;
	out->reason = reason;
	return REASM_DROPPED;
}

/* Datagram `s` is discarded because of the current fragment. */
static int kill_drop(struct reasm *r, uint32_t s, struct reasm_out *out, int reason)
{
	slot_kill(r, s, -1 - reason);
	out->reason = reason;
	return REASM_DROPPED;
}

/* Compare new bytes with those held for [start, end). */
static bool same_bytes(const struct reasm *r, uint32_t s, uint32_t start, uint32_t end,
		       const uint8_t *data)
{
	const uint32_t *pt = ptab(r, s);

	while (start < end) {
		uint32_t pg = start / REASM_PAGE_SIZE, po = start % REASM_PAGE_SIZE;
		uint32_t n = REASM_PAGE_SIZE - po;

		if (n > end - start)
			n = end - start;
		if (memcmp(pagemem(r, pt[pg]) + po, data, n))
			return false;
		data += n;
		start += n;
	}
	return true;
}

static int complete(struct reasm *r, uint32_t s, struct reasm_out *out)
{
	struct rslot *d = &r->p.slot[s];
	const uint32_t *pt = ptab(r, s);
	uint32_t hl = d->hdr_len, total = d->total;
	uint8_t *o = out->buf;

	if ((d->key.family == 4 ? hl : hl - 40) + total > REASM_MAX_LEN)
		return kill_drop(r, s, out, REASM_R_TOO_BIG);
	if (!o || hl + total > out->cap)
		return kill_drop(r, s, out, REASM_R_OUT_TOO_SMALL);
	memcpy(o, hdrbuf(r, s), hl);
	if (d->key.family == 4) {
		put16(o + 2, (uint16_t)(hl + total));
		o[6] &= 0xc0;           /* keep DF and the reserved bit; clear MF, offset */
		o[7] = 0;
		o[10] = o[11] = 0;
		put16(o + 10, ip_csum(o, hl));
	} else {
		o[d->nh_off] = d->nh;
		put16(o + 4, (uint16_t)(hl - 40 + total));
	}
	o += hl;
	for (uint32_t off = 0, i = 0; off < total; off += REASM_PAGE_SIZE, i++) {
		uint32_t n = total - off < REASM_PAGE_SIZE ? total - off : REASM_PAGE_SIZE;

		reasm_copy(o + off, pagemem(r, pt[i]), n);
	}
	out->len = hl + total;
	out->tag = d->tag;
	r->cnt[C_OKS]++;
	slot_release(r, s);
	return REASM_COMPLETE;
}

static int feed_frag(struct reasm *r, struct rfrag *f, uint64_t now, uint32_t tag,
		     struct reasm_out *out)
{
	uint32_t h = key_hash(r, &f->key), s = slot_find(r, &f->key, h);
	uint32_t pos, need = 0, pg0, pg1, *pt;
	struct rrange *rg;
	struct rslot *d;
	struct rsrc *e;
	const uint8_t *src;

	if (s != NIL && age(now, r->p.slot[s].created) >= r->lim.timeout_ms) {
		slot_kill(r, s, C_TIMEOUT);
		s = NIL;
	}
	if (s == NIL)
		s = slot_new(r, &f->key, h, now);
	d = &r->p.slot[s];
	rg = ranges(r, s);

	/* End of the datagram (RFC 791/8200): one last, nothing beyond it. */
	if (f->last) {
		if ((d->flags & F_LAST) ? f->end != d->total : d->max_end >= f->end)
			return kill_drop(r, s, out, REASM_R_LAST_CONFLICT);
	} else if ((d->flags & F_LAST) && f->end >= d->total) {
		return kill_drop(r, s, out, REASM_R_LAST_CONFLICT);
	}

	/* Position among the sorted ranges: appending is the in-order case. */
	pos = d->nfrags;
	if (pos && f->start < rg[pos - 1].end) {
		uint32_t lo = 0, hi = pos;

		while (lo < hi) {      /* first range with start >= f->start */
			uint32_t mid = (lo + hi) / 2;

			if (rg[mid].start < f->start) lo = mid + 1;
			else hi = mid;
		}
		pos = lo;
		if (pos < d->nfrags && rg[pos].start == f->start && rg[pos].end == f->end) {
			if (!same_bytes(r, s, f->start, f->end, f->data))
				return kill_drop(r, s, out, REASM_R_OVERLAP);
			return dropped(r, out, REASM_R_DUPLICATE);
		}
		if ((pos > 0 && rg[pos - 1].end > f->start) ||
		    (pos < d->nfrags && rg[pos].start < f->end))
			return kill_drop(r, s, out, REASM_R_OVERLAP);
	}
	if (d->nfrags >= r->lim.max_frags || d->nfrags >= r->p.nfr)
		return kill_drop(r, s, out, REASM_R_TOO_MANY_FRAGS);

	/* Pages this fragment needs that are not there yet. */
	pt = ptab(r, s);
	pg0 = f->start / REASM_PAGE_SIZE;
	pg1 = (f->end - 1) / REASM_PAGE_SIZE;
	for (uint32_t i = pg0; i <= pg1; i++)
		need += pt[i] == NIL;
	if (need) {
		uint64_t bytes = (uint64_t)need * REASM_PAGE_SIZE;

		e = &r->p.src[d->src];
		while (e->bytes + bytes > r->src_mem_cap && r->src_mem_cap < r->lim.mem_cap)
			if (!evict_src_oldest(r, d->src, s, now))
				return kill_drop(r, s, out, REASM_R_SRC_CAP);
		while (r->mem_used + bytes > r->lim.mem_cap || r->p.npfree < need)
			if (!evict_oldest(r, s, now, C_EVICT_MEM))
				return kill_drop(r, s, out, REASM_R_MEM_CAP);
		for (uint32_t i = pg0; i <= pg1; i++)
			if (pt[i] == NIL)
				pt[i] = r->p.pfree[--r->p.npfree];
		d->npages += need;
		r->mem_used += bytes;
		e->bytes += bytes;
	}

	/* The one copy in: straight to the final offset. */
	src = f->data;
	for (uint32_t off = f->start; off < f->end;) {
		uint32_t po = off % REASM_PAGE_SIZE, n = REASM_PAGE_SIZE - po;

		if (n > f->end - off)
			n = f->end - off;
		reasm_copy(pagemem(r, pt[off / REASM_PAGE_SIZE]) + po, src, n);
		src += n;
		off += n;
	}
	if (pos < d->nfrags)
		memmove(&rg[pos + 1], &rg[pos], (d->nfrags - pos) * sizeof(*rg));
	rg[pos].start = (uint16_t)f->start;
	rg[pos].end = (uint16_t)f->end;
	d->nfrags++;
	d->received += f->end - f->start;
	if (f->end > d->max_end)
		d->max_end = f->end;
	d->tag |= tag;
	if (f->last) {
		d->flags |= F_LAST;
		d->total = f->end;
	}
	if (f->start == 0) {
		d->flags |= F_FIRST;
		memcpy(hdrbuf(r, s), f->hdr, f->hdr_len);
		d->hdr_len = (uint16_t)f->hdr_len;
		d->nh_off = (uint16_t)f->nh_off;
		d->nh = f->nh;
	}
	if ((d->flags & (F_FIRST | F_LAST)) == (F_FIRST | F_LAST) && d->received == d->total)
		return complete(r, s, out);
	return REASM_HELD;
}

int reasm_feed(struct reasm *r, const uint8_t *pkt, size_t len, uint64_t now_ms,
	       uint64_t ctx, uint32_t tag, struct reasm_out *out)
{
	struct rfrag f;
	size_t wlen = 0;
	int rc;

	out->len = 0;
	out->tag = tag;
	out->reason = REASM_R_NONE;
	rc = parse(pkt, len, ctx, &f, &wlen);
	if (rc == P_WHOLE) {
		if (!out->buf || wlen > out->cap)
			return dropped(r, out, REASM_R_OUT_TOO_SMALL);
		memcpy(out->buf, pkt, wlen);
		out->len = wlen;
		r->cnt[C_PASS]++;
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
		r->cnt[C_ATOMIC]++;
		return REASM_COMPLETE;
	}
	if (rc < 0 && (rc == -REASM_R_MALFORMED || rc == -REASM_R_BAD_CSUM || rc == -REASM_R_JUMBO))
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

/* ------------------------------------------------------------ timer, walk */

unsigned reasm_expire(struct reasm *r, uint64_t now_ms)
{
	unsigned n = 0;

	while (r->lru_head != NIL &&
	       age(now_ms, r->p.slot[r->lru_head].created) >= r->lim.timeout_ms) {
		slot_kill(r, r->lru_head, C_TIMEOUT);
		n++;
	}
	return n;
}

void reasm_walk(struct reasm *r, uint64_t now_ms,
		void (*cb)(const struct reasm_info *, void *), void *arg)
{
	for (uint32_t s = r->lru_head; s != NIL; s = r->p.slot[s].lru_next) {
		const struct rslot *d = &r->p.slot[s];
		struct reasm_info in;

		memset(&in, 0, sizeof(in));
		in.family = d->key.family;
		in.proto = d->key.family == 4 ? d->key.proto : d->nh;
		memcpy(in.src, d->key.src, 16);
		memcpy(in.dst, d->key.dst, 16);
		in.id = d->key.id;
		in.ctx = d->key.ctx;
		in.frags = d->nfrags;
		in.bytes = d->received;
		in.age_ms = age(now_ms, d->created);
		in.have_first = d->flags & F_FIRST;
		in.have_last = d->flags & F_LAST;
		cb(&in, arg);
	}
}

/* ------------------------------------------------------------ run-time limits */

static void flush_all(struct reasm *r)
{
	while (r->lru_head != NIL)
		slot_kill(r, r->lru_head, C_FLUSHED);
}

int reasm_set_limits(struct reasm *r, const struct reasm_limits *l)
{
	if (!l || !limits_ok(l))
		return -EINVAL;
	if (l->max_datagrams > r->p.ndg || l->max_frags > r->p.nfr ||
	    l->mem_cap / REASM_PAGE_SIZE > r->p.npg) {
		struct rpools np;

		if (pools_alloc(&np, l))
			return -ENOMEM;
		flush_all(r);
		pools_free(&r->p);
		r->p = np;
		r->lru_head = r->lru_tail = NIL;
		r->mem_used = 0;
		r->in_use = 0;
	}
	r->lim = *l;
	derive_caps(r);
	/* Shrinking: oldest first, until the new limits hold. */
	while (r->in_use > r->lim.max_datagrams)
		evict_oldest(r, NIL, 0, C_EVICT_COUNT);
	while (r->mem_used > r->lim.mem_cap)
		evict_oldest(r, NIL, 0, C_EVICT_MEM);
again:
	for (uint32_t s = r->lru_head; s != NIL; s = r->p.slot[s].lru_next) {
		const struct rsrc *e = &r->p.src[r->p.slot[s].src];

		if (e->bytes > r->src_mem_cap || e->refs > r->src_dg_cap) {
			evict_src_oldest(r, r->p.slot[s].src, NIL, 0);
			goto again;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ counters */

static const char *const reason_names[REASM_R__MAX] = {
	[REASM_R_NONE] = "none",
	[REASM_R_MALFORMED] = "malformed",
	[REASM_R_BAD_CSUM] = "bad_csum",
	[REASM_R_BAD_LEN] = "bad_len",
	[REASM_R_TOO_BIG] = "too_big",
	[REASM_R_OVERLAP] = "overlap",
	[REASM_R_DUPLICATE] = "duplicate",
	[REASM_R_LAST_CONFLICT] = "last_conflict",
	[REASM_R_TOO_MANY_FRAGS] = "too_many_frags",
	[REASM_R_MEM_CAP] = "mem_cap",
	[REASM_R_SRC_CAP] = "src_cap",
	[REASM_R_HDR_TOO_LONG] = "hdr_too_long",
	[REASM_R_OUT_TOO_SMALL] = "out_too_small",
	[REASM_R_JUMBO] = "jumbo",
};

const char *reasm_reason_name(int reason)
{
	if (reason < 0 || reason >= REASM_R__MAX)
		return "unknown";
	return reason_names[reason];
}

size_t reasm_counters(const struct reasm *r, struct xs_counter *out, size_t n, size_t max)
{
	static const struct { int idx; const char *name, *help; int is_drop; } c[] = {
		{ C_REQDS, "reasm_reqds", "IP fragments received needing reassembly (ReasmReqds)", 0 },
		{ C_OKS, "reasm_oks", "datagrams successfully reassembled (ReasmOKs)", 0 },
		{ C_FAILS, "reasm_fails", "datagrams discarded or fragments rejected, any reason (ReasmFails)", 1 },
		{ C_TIMEOUT, "reasm_timeout", "datagrams discarded on timeout (ReasmTimeout)", 1 },
		{ C_EVICT_MEM, "reasm_evict_mem", "oldest datagrams evicted to stay under mem_cap", 1 },
		{ C_EVICT_COUNT, "reasm_evict_count", "oldest datagrams evicted to stay under max_datagrams", 1 },
		{ C_SRC_EVICT, "reasm_src_evict", "datagrams evicted to keep a source within its share", 1 },
		{ C_FLUSHED, "reasm_flushed", "datagrams discarded by a pool resize (limits set)", 1 },
		{ C_PASS, "reasm_passthrough", "non-fragments returned as is", 0 },
		{ C_ATOMIC, "reasm_atomic", "IPv6 atomic fragments (RFC 6946) returned without fragment header", 0 },
	};
	static const struct { int reason; const char *name, *help; } d[] = {
		{ REASM_R_OVERLAP, "reasm_overlaps", "datagrams dropped for overlapping fragments (ReasmOverlaps, RFC 5722)" },
		{ REASM_R_DUPLICATE, "reasm_duplicates", "exact duplicate fragments ignored" },
		{ REASM_R_TOO_MANY_FRAGS, "reasm_too_many_frags", "datagrams dropped at max_frags" },
		{ REASM_R_TOO_BIG, "reasm_too_big", "fragments/datagrams beyond 65535 bytes" },
		{ REASM_R_MEM_CAP, "reasm_mem_cap", "fragments dropped at mem_cap with nothing older to evict" },
		{ REASM_R_SRC_CAP, "reasm_src_cap", "fragments dropped at the per-source share of mem_cap" },
		{ REASM_R_LAST_CONFLICT, "reasm_last_conflict", "datagrams dropped: conflicting last fragment or data beyond it" },
		{ REASM_R_BAD_LEN, "reasm_bad_len", "fragments not a multiple of 8 (non-last) or empty" },
		{ REASM_R_MALFORMED, "reasm_malformed", "packets with bad IP header or extension header lengths" },
		{ REASM_R_BAD_CSUM, "reasm_bad_csum", "IPv4 packets with a bad header checksum" },
		{ REASM_R_HDR_TOO_LONG, "reasm_hdr_too_long", "first fragments whose header exceeds 512 bytes" },
		{ REASM_R_OUT_TOO_SMALL, "reasm_out_too_small", "datagrams larger than the caller's buffer" },
		{ REASM_R_JUMBO, "reasm_jumbo", "IPv6 jumbograms (not supported)" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		n = xs_counter_add(out, n, max, "reasm", c[i].name, c[i].help,
				   r->cnt[c[i].idx], c[i].is_drop);
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		n = xs_counter_add(out, n, max, "reasm", d[i].name, d[i].help,
				   r->drop[d[i].reason], 1);
	n = xs_counter_add(out, n, max, "reasm", "reasm_in_progress",
			   "datagrams being reassembled now (gauge)", r->in_use, 0);
	n = xs_counter_add(out, n, max, "reasm", "reasm_mem_bytes",
			   "bytes of fragment data held now (gauge)", r->mem_used, 0);
	return n;
}

void reasm_reset_counters(struct reasm *r)
{
	memset(r->cnt, 0, sizeof(r->cnt));
	memset(r->drop, 0, sizeof(r->drop));
}

size_t reasm_mem_used(const struct reasm *r) { return (size_t)r->mem_used; }
unsigned reasm_in_progress(const struct reasm *r) { return r->in_use; }

/* ------------------------------------------------------------ self-check */

#define SC(c) do { if (!(c)) return -__LINE__; } while (0)

int reasm_selfcheck(const struct reasm *r)
{
	uint32_t n = 0, prev = NIL, pages = 0, srcs = 0;
	uint64_t mem = 0;

	SC(r->mem_used <= r->lim.mem_cap);
	SC(r->in_use <= r->lim.max_datagrams);
	for (uint32_t s = r->lru_head; s != NIL; prev = s, s = r->p.slot[s].lru_next) {
		const struct rslot *d = &r->p.slot[s];
		const struct rrange *rg = ranges(r, s);
		const uint32_t *pt = ptab(r, s);
		uint32_t recv = 0, np = 0;

		SC(++n <= r->in_use);
		SC(d->lru_prev == prev);
		SC(slot_find(r, &d->key, d->hash) == s);
		SC(d->nfrags >= 1 && d->nfrags <= r->p.nfr);
		for (uint32_t i = 0; i < d->nfrags; i++) {
			SC(rg[i].start < rg[i].end);
			SC(i == 0 || rg[i - 1].end <= rg[i].start);
			recv += rg[i].end - rg[i].start;
			for (uint32_t p = rg[i].start / REASM_PAGE_SIZE;
			     p <= (rg[i].end - 1u) / REASM_PAGE_SIZE; p++)
				SC(pt[p] != NIL && pt[p] < r->p.npg);
		}
		SC(recv == d->received);
		SC(d->max_end == rg[d->nfrags - 1].end);
		SC(!(d->flags & F_LAST) || d->total == d->max_end);
		SC(!(d->flags & F_FIRST) || rg[0].start == 0);
		SC(!((d->flags & F_FIRST) && (d->flags & F_LAST) && recv == d->total));
		for (uint32_t p = 0; p < PT_ENTRIES; p++)
			np += pt[p] != NIL;
		SC(np == d->npages);
		pages += np;
		mem += (uint64_t)np * REASM_PAGE_SIZE;
		SC(r->p.src[d->src].refs >= 1);
	}
	SC(n == r->in_use);
	SC(prev == r->lru_tail);
	SC(mem == r->mem_used);
	SC(pages + r->p.npfree == r->p.npg);
	SC(r->in_use + r->p.nsfree == r->p.ndg);
	for (uint32_t b = 0; b < r->p.nbkt; b++) {
		for (uint32_t i = r->p.srcbkt[b]; i != NIL; i = r->p.src[i].hnext) {
			const struct rsrc *e = &r->p.src[i];
			uint32_t cnt = 0;
			uint64_t bytes = 0;

			SC(++srcs <= r->p.ndg);
			SC((e->hash & (r->p.nbkt - 1)) == b);
			for (uint32_t s = e->head; s != NIL; s = r->p.slot[s].src_next) {
				SC(r->p.slot[s].src == i);
				SC(++cnt <= e->refs);
				bytes += (uint64_t)r->p.slot[s].npages * REASM_PAGE_SIZE;
			}
			SC(cnt == e->refs);
			SC(bytes == e->bytes);
			SC(e->bytes <= r->src_mem_cap);
			SC(e->refs <= r->src_dg_cap);
		}
	}
	return 0;
}
