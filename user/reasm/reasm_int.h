/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * reasm_int.h - the reassembly engine's internals, shared by its files only
 * (not an API; reasm.h is): the slot, source and page-arena structures and
 * the static inline helpers of the hot path (keys, hashes, loads, page
 * bitmaps, arena take/give, slot lookup), which must stay inlinable into
 * reasm.c's feed path.  The layout is described at the top of reasm.c.
 *   reasm.c        sources, slots, parsing, the fast and general feed paths
 *   reasm_pool.c   pools, limits, reasm_new/reasm_free
 *   reasm_admin.c  timer, walk, run-time limits, counters, self-check
 */
#ifndef XDPSEC_REASM_INT_H
#define XDPSEC_REASM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"

#define NIL        UINT32_MAX
#define PG         REASM_PAGE_SIZE
#define PG_SHIFT   10
#define HEAD_MIN   64u                 /* header room: any IPv4 header, a bare IPv6 one */
#define POS_MAX    (REASM_HDR_MAX + REASM_MAX_LEN)   /* head + end never exceed this */
#define PT_ENTRIES ((POS_MAX + PG - 1) / PG)
#define WIN_SHIFT  4                   /* 16 pages = 16 KiB per window */
#define MAX_FRAGS_LIMIT 8192u          /* 65536 / 8: more cannot be distinct */
#define HBM_LEVELS 5                   /* 64^5 bits > the largest arena */

_Static_assert(PG == 1u << PG_SHIFT, "page size");
_Static_assert(PT_ENTRIES <= 128 - 48, "a datagram's pages fit a 128-bit mask, shifted by base % 64");

typedef unsigned __int128 u128;
_Static_assert((64 >> WIN_SHIFT) << WIN_SHIFT == 64, "windows tile a bitmap word");

/*
 * Key as six words so that building, hashing and comparing it never goes
 * through byte stores: w[0] ctx; w[1] id | family << 32 | proto << 40;
 * w[2..3] source, w[4..5] destination address bytes (IPv4: 4 bytes, then 0).
 */
struct rkey { uint64_t w[6]; };

static inline uint8_t key_family(const struct rkey *k) { return (uint8_t)(k->w[1] >> 32); }
static inline uint8_t key_proto(const struct rkey *k) { return (uint8_t)(k->w[1] >> 40); }
static inline uint32_t key_id(const struct rkey *k) { return (uint32_t)k->w[1]; }

struct rrange { uint16_t start, end; };   /* end exclusive, <= 65535 */

#define F_FIRST   1
#define F_LAST    2
#define F_SCATTER 4     /* some page is not at base + i: gather on completion */
#define F_HDRBUF  8     /* first header longer than the room: kept in hdrbuf */

/* 128 bytes: the first line is what an in-order fragment touches. */
struct rslot {
	struct rkey key;
	uint16_t received;            /* payload bytes held (no overlaps) */
	uint16_t total;               /* end of the last fragment */
	uint16_t max_end;
	uint16_t pad;
	uint32_t base;                /* first page of its window, NIL if none */
	uint32_t src;                 /* source entry */
	u128 pm;                      /* datagram pages held: page i at base + i,
				       * or at pt[i] once F_SCATTER */
	uint64_t created;
	uint16_t nfrags, npages;
	uint16_t head;                /* header room before offset 0 */
	uint16_t hdr_len, nh_off;     /* header from the offset-0 fragment */
	uint8_t nh, flags;
	uint32_t tag;
	uint32_t hash, hnext;         /* bucket chain */
	uint32_t lru_prev, lru_next;  /* global creation order */
	uint32_t src_prev, src_next;  /* creation order within the source */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct rslot) == 128, "two cache lines");

struct rsrc {
	uint8_t family, addr[16];
	uint32_t hash, hnext;
	uint32_t refs;                /* datagrams of this source */
	uint64_t bytes;               /* pages held * page size */
	uint32_t head, tail;          /* its datagrams, oldest first */
};

/* Hierarchical bitmap: bit j of level k+1 says word j of level k is not 0. */
struct hbm {
	uint32_t n, nlev;
	uint64_t *lv[HBM_LEVELS];
};

struct rpools {
	uint32_t ndg, nfr, npg, nwin, nbkt; /* allocated sizes; nbkt power of 2 */
	struct rslot *slot;
	struct rrange *range;         /* ndg * nfr */
	uint32_t *pt;                 /* ndg * PT_ENTRIES */
	uint8_t *hdr;                 /* ndg * REASM_HDR_MAX (F_HDRBUF only) */
	uint8_t *page;                /* npg * PG: the arena */
	struct hbm fp;                /* free pages */
	struct hbm fw;                /* free windows: every page free, no owner */
	uint8_t *wres;                /* window is some datagram's base */
	uint32_t npfree;              /* free pages */
	uint32_t *sfree, nsfree;      /* free slot stack */
	uint32_t *bkt;                /* slot hash buckets */
	struct rsrc *src;             /* ndg source entries */
	uint32_t *srcbkt;
	uint32_t srcfree;             /* free source list through hnext */
};

/* C_FRAG_*: every packet fed is counted once in, then once out (in a
 * completed datagram, or as it came) or dropped (refused, or discarded
 * with its datagram) -- or it is still held (frags_held).  The balance
 * is part of reasm_selfcheck(); docs/counters.md. */
enum {
	C_REQDS, C_OKS, C_FAILS, C_TIMEOUT, C_EVICT_MEM, C_EVICT_COUNT,
	C_SRC_EVICT, C_PASS, C_ATOMIC, C_FLUSHED, C_GATHERED,
	C_FRAG_IN, C_FRAG_OUT, C_FRAG_DROPPED, C__MAX
};

struct reasm {
	struct reasm_limits lim;
	struct rpools p;
	uint64_t seed[6];
	uint32_t in_use;
	uint32_t last;                /* slot of the previous fragment, or NIL */
	uint32_t lru_head, lru_tail;
	uint64_t mem_used;
	uint64_t src_mem_cap;
	uint32_t src_dg_cap;
	uint64_t cnt[C__MAX];
	uint64_t drop[REASM_R__MAX];
	uint64_t frags_held;          /* fragments held: sum of nfrags */
	bool no_fast;                 /* reasm_set_fast_path(r, false) */
};

/* ------------------------------------------------------------ helpers */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

/*
 * Ones' complement sum of an IPv4 header (len a multiple of 4) in native
 * 32-bit words, folded to 16 bits.  Native order gives the byte-swapped
 * sum, which is stored back natively: the usual ip_fast_csum argument.
 */
static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t csum_fold32(const uint8_t *p, size_t len)
{
	/* the option-less header spelt out: the loop costs twice as much */
	uint64_t s = (uint64_t)ld32(p) + ld32(p + 4) + ld32(p + 8) + ld32(p + 12) + ld32(p + 16);

	for (size_t i = 20; i < len; i += 4)
		s += ld32(p + i);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
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

/* Keyed hash (wyhash-style multiply-fold) of the key. */
static inline uint32_t key_hash(const struct reasm *r, const struct rkey *k)
{
	uint64_t h = mix(k->w[0] ^ r->seed[0], k->w[1] ^ r->seed[1]);

	h += mix(k->w[2] ^ r->seed[2], k->w[3] ^ r->seed[3]);
	h += mix(k->w[4] ^ r->seed[4], k->w[5] ^ r->seed[5]);
	return (uint32_t)(mix(h, 0x9E3779B97F4A7C15ull) >> 7);
}

static inline bool key_eq(const struct rkey *a, const struct rkey *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3]) | (a->w[4] ^ b->w[4]) | (a->w[5] ^ b->w[5])) == 0;
}

static inline uint32_t src_hash(const struct reasm *r, uint8_t family, const uint8_t *a)
{
	uint64_t h = mix(ld64(a) ^ r->seed[2], (ld64(a + 8) ^ r->seed[4]) + family);

	return (uint32_t)(h >> 5);
}


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
	return &r->p.page[(size_t)pg << PG_SHIFT];
}

static inline bool pm_has(u128 pm, uint32_t i) { return pm >> i & 1; }

/* Bits lo..hi (hi < 127). */
static inline u128 range_mask(uint32_t lo, uint32_t hi)
{
	uint64_t m0 = 0, m1 = 0;

	if (lo < 64)
		m0 = ~0ull << lo & (hi < 64 ? ~0ull >> (63 - hi) : ~0ull);
	if (hi >= 64)
		m1 = ~0ull >> (127 - hi) & (lo >= 64 ? ~0ull << (lo - 64) : ~0ull);
	return (u128)m1 << 64 | m0;
}

/* Few bits set, and no POPCNT in the baseline ISA (libgcc's is slow). */
static inline unsigned nbits128(u128 m)
{
	unsigned n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

static inline uint32_t ctz128(u128 m)
{
	return (uint64_t)m ? (uint32_t)__builtin_ctzll((uint64_t)m) : 64 + (uint32_t)__builtin_ctzll((uint64_t)(m >> 64));
}

static inline uint32_t fls128(u128 m)   /* index of the highest set bit */
{
	return (uint64_t)(m >> 64) ? 127 - (uint32_t)__builtin_clzll((uint64_t)(m >> 64))
				   : 63 - (uint32_t)__builtin_clzll((uint64_t)m);
}

/* ------------------------------------------------------------ bitmaps */

static inline bool hbm_test(const struct hbm *b, uint32_t i)
{
	return b->lv[0][i >> 6] >> (i & 63) & 1;
}

/* Word j of level 0 became non-zero / zero: tell the levels above. */
static inline void hbm_up_set(struct hbm *b, uint32_t j)
{
	for (uint32_t k = 1; k < b->nlev; k++) {
		uint64_t *w = &b->lv[k][j >> 6], old = *w;

		*w = old | 1ull << (j & 63);
		if (old)
			break;
		j >>= 6;
	}
}

static inline void hbm_up_clr(struct hbm *b, uint32_t j)
{
	for (uint32_t k = 1; k < b->nlev; k++) {
		uint64_t *w = &b->lv[k][j >> 6];

		*w &= ~(1ull << (j & 63));
		if (*w)
			break;
		j >>= 6;
	}
}

static inline void hbm_set(struct hbm *b, uint32_t i)
{
	uint64_t *w = &b->lv[0][i >> 6], old = *w;

	*w = old | 1ull << (i & 63);
	if (!old)
		hbm_up_set(b, i >> 6);
}

static inline void hbm_clr(struct hbm *b, uint32_t i)
{
	uint64_t *w = &b->lv[0][i >> 6];

	*w &= ~(1ull << (i & 63));
	if (!*w)
		hbm_up_clr(b, i >> 6);
}

/* Lowest (or, last, highest) set bit; NIL if none. */
static inline uint32_t hbm_find(const struct hbm *b, bool last)
{
	uint32_t i = 0;

	for (uint32_t k = b->nlev; k-- > 0;) {
		uint64_t w = b->lv[k][i];

		if (!w)
			return NIL;
		i = i * 64 + (last ? 63 - (uint32_t)__builtin_clzll(w) : (uint32_t)__builtin_ctzll(w));
	}
	return i;
}

#define WIN_MASK ((1ull << (1u << WIN_SHIFT)) - 1)

static inline bool win_all_free(const struct rpools *p, uint32_t w)
{
	return (p->fp.lv[0][w >> (6 - WIN_SHIFT)] >> ((w << WIN_SHIFT) & 63) & WIN_MASK) == WIN_MASK;
}

/* Windows [w0, w1] had pages taken: no longer free. */
static inline void wins_taken(struct rpools *p, uint32_t w0, uint32_t w1)
{
	for (uint32_t w = w0; w <= w1 && w < p->nwin; w++)
		if (hbm_test(&p->fw, w))
			hbm_clr(&p->fw, w);
}

/* Windows [w0, w1] had pages given back: free again if whole and unowned. */
static inline void wins_given(struct rpools *p, uint32_t w0, uint32_t w1)
{
	for (uint32_t w = w0; w <= w1 && w < p->nwin; w++)
		if (!p->wres[w] && win_all_free(p, w))
			hbm_set(&p->fw, w);
}

/* Free-page bits of pages base + 0..(127 - base % 64). */
static inline u128 arena_free(const struct rpools *p, uint32_t base)
{
	const uint64_t *w = &p->fp.lv[0][base >> 6];

	return ((u128)w[1] << 64 | w[0]) >> (base & 63);
}

/* Take pages base + i for the n bits i of m (all free). */
static inline void arena_take(struct rpools *p, uint32_t base, u128 m, uint32_t n)
{
	uint64_t *w = &p->fp.lv[0][base >> 6];
	u128 am = m << (base & 63);
	uint64_t lo = (uint64_t)am, hi = (uint64_t)(am >> 64);

	if (lo) {
		w[0] &= ~lo;
		if (!w[0])
			hbm_up_clr(&p->fp, base >> 6);
	}
	if (hi) {
		w[1] &= ~hi;
		if (!w[1])
			hbm_up_clr(&p->fp, (base >> 6) + 1);
	}
	p->npfree -= n;
	wins_taken(p, (base + ctz128(m)) >> WIN_SHIFT, (base + fls128(m)) >> WIN_SHIFT);
}

/*
 * Take pages [a, a + n) if all are free (n <= 65); false, nothing taken, if
 * not.  own: the taker's window (not free anyway).
 */
static inline bool arena_take_run(struct rpools *p, uint32_t a, uint32_t n, uint32_t own)
{
	uint64_t *w = &p->fp.lv[0][a >> 6];
	uint32_t b = a & 63;

	if (b + n <= 64) {
		uint64_t m = (n == 64 ? ~0ull : (1ull << n) - 1) << b;

		if ((w[0] & m) != m)
			return false;
		w[0] &= ~m;
		if (!w[0])
			hbm_up_clr(&p->fp, a >> 6);
	} else {
		uint32_t n1 = b + n - 64;                       /* 1..64 */
		uint64_t m0 = ~0ull << b, m1 = n1 == 64 ? ~0ull : (1ull << n1) - 1;

		if ((w[0] & m0) != m0 || (w[1] & m1) != m1)
			return false;
		w[0] &= ~m0;
		w[1] &= ~m1;
		if (!w[0])
			hbm_up_clr(&p->fp, a >> 6);
		if (!w[1])
			hbm_up_clr(&p->fp, (a >> 6) + 1);
	}
	p->npfree -= n;
	if ((a + n - 1) >> WIN_SHIFT != own)
		wins_taken(p, a >> WIN_SHIFT, (a + n - 1) >> WIN_SHIFT);
	return true;
}

static inline void arena_give(struct rpools *p, uint32_t base, u128 m, uint32_t n)
{
	uint64_t *w = &p->fp.lv[0][base >> 6];
	u128 am = m << (base & 63);
	uint64_t lo = (uint64_t)am, hi = (uint64_t)(am >> 64);

	if (lo) {
		if (!w[0])
			hbm_up_set(&p->fp, base >> 6);
		w[0] |= lo;
	}
	if (hi) {
		if (!w[1])
			hbm_up_set(&p->fp, (base >> 6) + 1);
		w[1] |= hi;
	}
	p->npfree += n;
	wins_given(p, (base + ctz128(m)) >> WIN_SHIFT, (base + fls128(m)) >> WIN_SHIFT);
}

static inline void page_take(struct rpools *p, uint32_t pg)
{
	hbm_clr(&p->fp, pg);
	p->npfree--;
	wins_taken(p, pg >> WIN_SHIFT, pg >> WIN_SHIFT);
}

static inline void page_give(struct rpools *p, uint32_t pg)
{
	hbm_set(&p->fp, pg);
	p->npfree++;
	wins_given(p, pg >> WIN_SHIFT, pg >> WIN_SHIFT);
}

static inline uint32_t slot_find(const struct reasm *r, const struct rkey *k, uint32_t h)
{
	for (uint32_t i = r->p.bkt[h & (r->p.nbkt - 1)]; i != NIL; i = r->p.slot[i].hnext) {
		const struct rslot *d = &r->p.slot[i];

		if (d->hash == h && key_eq(&d->key, k))
			return i;
	}
	return NIL;
}

/* reasm_pool.c */
void pools_free(struct rpools *p);
int pools_alloc(struct rpools *p, const struct reasm_limits *l);
bool limits_ok(const struct reasm_limits *l);
void derive_caps(struct reasm *r);

/* reasm.c */
void slot_kill(struct reasm *r, uint32_t s, int why);
bool evict_oldest(struct reasm *r, uint32_t keep, uint64_t now, int why);
bool evict_src_oldest(struct reasm *r, uint32_t src, uint32_t keep, uint64_t now);

#endif
