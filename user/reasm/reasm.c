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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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

/*
 * Payload copies go through libc's memcpy: with the size bounded by the
 * page size, GCC otherwise inlines `rep movsq`, measured 2x slower than
 * libc's vector copy for 1-1.5 KB fragments (an AVX2 or AVX-512 loop of
 * our own measured no better than libc's).
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

static void hbm_free(struct hbm *b)
{
	free(b->lv[0]);
	memset(b, 0, sizeof(*b));
}

/*
 * All n bits set (full) or clear.  Level 0 is followed by two zero words,
 * so that a 128-bit view starting in any word of it can be read.
 */
static int hbm_init(struct hbm *b, uint32_t n, bool full)
{
	uint32_t nw[HBM_LEVELS], tot = 2, k = 0, w = (n + 63) / 64;
	uint64_t *m;

	memset(b, 0, sizeof(*b));
	if (w == 0)
		w = 1;
	for (;;) {
		nw[k] = w;
		tot += w;
		k++;
		if (w == 1)
			break;
		w = (w + 63) / 64;
	}
	m = calloc(tot, sizeof(*m));
	if (!m)
		return -ENOMEM;
	b->n = n;
	b->nlev = k;
	for (uint32_t i = 0; i < k; i++) {
		b->lv[i] = m;
		m += nw[i] + (i == 0 ? 2 : 0);
	}
	if (full) {
		for (uint32_t i = 0; i < n / 64; i++)
			b->lv[0][i] = ~0ull;
		if (n % 64)
			b->lv[0][n / 64] = (1ull << (n % 64)) - 1;
		for (uint32_t l = 1; l < k; l++)
			for (uint32_t i = 0; i < nw[l - 1]; i++)
				if (b->lv[l - 1][i])
					b->lv[l][i / 64] |= 1ull << (i % 64);
	}
	return 0;
}

static inline bool hbm_test(const struct hbm *b, uint32_t i)
{
	return b->lv[0][i >> 6] >> (i & 63) & 1;
}

/* Word j of level 0 became non-zero / zero: tell the levels above. */
static void hbm_up_set(struct hbm *b, uint32_t j)
{
	for (uint32_t k = 1; k < b->nlev; k++) {
		uint64_t *w = &b->lv[k][j >> 6], old = *w;

		*w = old | 1ull << (j & 63);
		if (old)
			break;
		j >>= 6;
	}
}

static void hbm_up_clr(struct hbm *b, uint32_t j)
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

/* ------------------------------------------------------------ pools */

static void pools_free(struct rpools *p)
{
	free(p->slot); free(p->range); free(p->pt); free(p->hdr); free(p->page);
	free(p->wres); free(p->sfree); free(p->bkt); free(p->src); free(p->srcbkt);
	hbm_free(&p->fp);
	hbm_free(&p->fw);
	memset(p, 0, sizeof(*p));
}

static int pools_alloc(struct rpools *p, const struct reasm_limits *l)
{
	uint32_t nb = 1;
	int e1, e2;

	memset(p, 0, sizeof(*p));
	p->ndg = l->max_datagrams;
	p->nfr = l->max_frags;
	p->npg = (uint32_t)(l->mem_cap / PG);
	p->nwin = p->npg >> WIN_SHIFT;
	while (nb < 2 * p->ndg)
		nb <<= 1;
	p->nbkt = nb;
	p->slot = aligned_alloc(64, (size_t)p->ndg * sizeof(*p->slot));
	p->range = malloc((size_t)p->ndg * p->nfr * sizeof(*p->range));
	p->pt = malloc((size_t)p->ndg * PT_ENTRIES * sizeof(*p->pt));
	p->hdr = malloc((size_t)p->ndg * REASM_HDR_MAX);
	p->page = aligned_alloc(4096, ((size_t)p->npg * PG + 4095) & ~(size_t)4095);
	p->wres = calloc(p->nwin + 1, 1);
	p->sfree = malloc((size_t)p->ndg * sizeof(*p->sfree));
	p->bkt = malloc((size_t)nb * sizeof(*p->bkt));
	p->src = calloc(p->ndg, sizeof(*p->src));
	p->srcbkt = malloc((size_t)nb * sizeof(*p->srcbkt));
	e1 = hbm_init(&p->fp, p->npg, true);
	e2 = hbm_init(&p->fw, p->nwin, true);
	if (!p->slot || !p->range || !p->pt || !p->hdr || !p->page || !p->wres ||
	    !p->sfree || !p->bkt || !p->src || !p->srcbkt || e1 || e2) {
		pools_free(p);
		return -ENOMEM;
	}
	memset(p->slot, 0, (size_t)p->ndg * sizeof(*p->slot));
	p->npfree = p->npg;
	memset(p->bkt, 0xff, (size_t)nb * sizeof(*p->bkt));
	memset(p->srcbkt, 0xff, (size_t)nb * sizeof(*p->srcbkt));
	/* The stack hands out low indices first: better locality when lightly used. */
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
	r->last = NIL;
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
static void slot_kill(struct reasm *r, uint32_t s, int why)
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

			/* RFC 8200 4.1: Linux drops the packet (no handler
			 * for next header 0 past the first header) */
			if (nh == 0 && off != 40)
				return -REASM_R_HBH_NOT_FIRST;
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

		if (tot <= 20 || tot > len || !(fo & 0x3fff) || csum_fold32(pkt, 20) != 0xffff)
			return -1;
		f.key.w[1] = be16(pkt + 4) | (uint64_t)4 << 32 | (uint64_t)pkt[9] << 40;
		f.key.w[2] = addr4_word(ld32(pkt + 12));
		f.key.w[3] = 0;
		f.key.w[4] = addr4_word(ld32(pkt + 16));
		f.key.w[5] = 0;
		f.start = (fo & 0x1fff) * 8u;
		f.last = !(fo & 0x2000);
		f.hdr_len = 20;                  /* the total length counts it */
		f.nh_off = 0;
		f.nh = pkt[9];
		dlen = tot - 20;
	} else if (len >= 48 && pkt[0] >> 4 == 6 && pkt[6] == 44) {
		uint32_t plen = be16(pkt + 4), fo = be16(pkt + 42);

		if (plen <= 8 || 40 + plen > len)
			return -1;
		f.key.w[1] = be32(pkt + 44) | (uint64_t)6 << 32;
		f.key.w[2] = ld64(pkt + 8);
		f.key.w[3] = ld64(pkt + 16);
		f.key.w[4] = ld64(pkt + 24);
		f.key.w[5] = ld64(pkt + 32);
		f.start = fo & 0xfff8;
		f.last = !(fo & 1);
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
		in.family = key_family(&d->key);
		in.proto = in.family == 4 ? key_proto(&d->key) : d->nh;
		memcpy(in.src, &d->key.w[2], 16);
		memcpy(in.dst, &d->key.w[4], 16);
		in.id = key_id(&d->key);
		in.ctx = d->key.w[0];
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
		r->last = NIL;
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
	[REASM_R_HBH_NOT_FIRST] = "hbh_not_first",
};

const char *reasm_reason_name(int reason)
{
	if (reason < 0 || reason >= REASM_R__MAX)
		return "unknown";
	return reason_names[reason];
}

const char *reasm_reason_limit(int reason)
{
	switch (reason) {
	case REASM_R_TOO_MANY_FRAGS: return "max-frags";
	case REASM_R_MEM_CAP: return "mem-cap";
	case REASM_R_SRC_CAP: return "src-share";
	default: return NULL;
	}
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
		{ C_GATHERED, "reasm_gathered", "datagrams completed from scattered pages (copied out, not in place)", 0 },
		{ C_FRAG_IN, "reasm_frag_in", "packets fed to reassembly (fragments and whole packets)", 0 },
		{ C_FRAG_OUT, "reasm_frag_out", "packets that left it: in a reassembled datagram, or as they came", 0 },
		{ C_FRAG_DROPPED, "reasm_frag_dropped", "packets dropped: refused, or discarded with their datagram", 0 },
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
		{ REASM_R_HBH_NOT_FIRST, "reasm_hbh_not_first", "IPv6 packets with a hop-by-hop header not right after the IPv6 header (RFC 8200)" },
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
	n = xs_counter_add(out, n, max, "reasm", "reasm_frag_held",
			   "packets held now, waiting for the rest of their datagram (gauge)",
			   r->frags_held, 0);
	return n;
}

void reasm_reset_counters(struct reasm *r)
{
	memset(r->cnt, 0, sizeof(r->cnt));
	memset(r->drop, 0, sizeof(r->drop));
	/* what is held now entered before the reset: count it in again, so
	 * that in = out + dropped + held holds across a reset */
	r->cnt[C_FRAG_IN] = r->frags_held;
}

size_t reasm_mem_used(const struct reasm *r) { return (size_t)r->mem_used; }
unsigned reasm_in_progress(const struct reasm *r) { return r->in_use; }

/* ------------------------------------------------------------ self-check */

#define SC(c) do { if (!(c)) { rc = -__LINE__; goto out; } } while (0)

/* Summary levels agree with the leaves; nothing set past n. */
static int hbm_check(const struct hbm *b)
{
	uint32_t nw = (b->n + 63) / 64 ? (b->n + 63) / 64 : 1;

	if (b->n % 64 && b->lv[0][b->n / 64] >> (b->n % 64))
		return -__LINE__;
	for (uint32_t k = 1; k < b->nlev; k++) {
		for (uint32_t j = 0; j < nw; j++)
			if ((b->lv[k][j / 64] >> (j % 64) & 1) != (b->lv[k - 1][j] != 0))
				return -__LINE__;
		nw = (nw + 63) / 64;
	}
	return nw == 1 ? 0 : -__LINE__;
}

int reasm_selfcheck(const struct reasm *r)
{
	uint32_t n = 0, prev = NIL, pages = 0, srcs = 0, bases = 0, nres = 0, nfree = 0;
	uint64_t mem = 0, frags = 0;
	uint64_t *own = calloc((r->p.npg + 63) / 64 + 1, sizeof(*own));
	bool last_seen = r->last == NIL;
	int rc = 0;

	if (!own)
		return -__LINE__;
	SC(r->mem_used <= r->lim.mem_cap);
	SC(r->in_use <= r->lim.max_datagrams);
	for (uint32_t s = r->lru_head; s != NIL; prev = s, s = r->p.slot[s].lru_next) {
		const struct rslot *d = &r->p.slot[s];
		const struct rrange *rg = ranges(r, s);
		const uint32_t *pt = ptab(r, s);
		uint32_t recv = 0, np = 0;

		SC(++n <= r->in_use);
		frags += d->nfrags;
		last_seen |= s == r->last;
		SC(d->lru_prev == prev);
		SC(slot_find(r, &d->key, d->hash) == s);
		SC(d->hash == key_hash(r, &d->key));
		SC(d->nfrags >= 1 && d->nfrags <= r->p.nfr);
		SC(d->head >= HEAD_MIN && d->head <= REASM_HDR_MAX && d->head % 64 == 0);
		for (uint32_t i = 0; i < d->nfrags; i++) {
			SC(rg[i].start < rg[i].end);
			SC(i == 0 || rg[i - 1].end <= rg[i].start);
			recv += rg[i].end - rg[i].start;
			for (uint32_t p = (d->head + rg[i].start) >> PG_SHIFT;
			     p <= (d->head + rg[i].end - 1u) >> PG_SHIFT; p++)
				SC(pm_has(d->pm, p));
		}
		SC(recv == d->received);
		SC(d->max_end == rg[d->nfrags - 1].end);
		SC(!(d->flags & F_LAST) || d->total == d->max_end);
		SC(!(d->flags & F_FIRST) || rg[0].start == 0);
		SC(!((d->flags & F_FIRST) && (d->flags & F_LAST) && recv == d->total));
		SC(!(d->flags & F_HDRBUF) || ((d->flags & F_FIRST) && d->hdr_len > d->head));
		SC(!(d->flags & F_FIRST) || d->hdr_len <= d->head || (d->flags & F_HDRBUF));
		SC(d->base != NIL || (d->flags & F_SCATTER));
		if (d->base != NIL) {
			SC(d->base % (1u << WIN_SHIFT) == 0 && (d->base >> WIN_SHIFT) < r->p.nwin);
			SC(r->p.wres[d->base >> WIN_SHIFT]);
			bases++;
		}
		for (uint32_t i = 0; i < 128; i++) {
			uint32_t pg;

			if (!pm_has(d->pm, i))
				continue;
			SC(i < PT_ENTRIES);
			pg = d->flags & F_SCATTER ? pt[i] : d->base + i;
			SC(pg < r->p.npg);
			SC(!hbm_test(&r->p.fp, pg));                 /* not free */
			SC(!(own[pg / 64] >> (pg % 64) & 1));         /* not anyone else's */
			own[pg / 64] |= 1ull << (pg % 64);
			SC((d->flags & F_SCATTER) || pg == d->base + i);
			np++;
		}
		SC(np == d->npages);
		pages += np;
		mem += (uint64_t)np * REASM_PAGE_SIZE;
		SC(r->p.src[d->src].refs >= 1);
	}
	SC(n == r->in_use);
	SC(frags == r->frags_held);
	SC(r->cnt[C_FRAG_IN] == r->cnt[C_FRAG_OUT] + r->cnt[C_FRAG_DROPPED] + r->frags_held);
	SC(prev == r->lru_tail);
	SC(last_seen);
	SC(mem == r->mem_used);
	SC(pages + r->p.npfree == r->p.npg);
	SC(r->in_use + r->p.nsfree == r->p.ndg);
	/* pages: free exactly when no datagram holds them */
	SC(hbm_check(&r->p.fp) == 0 && hbm_check(&r->p.fw) == 0);
	SC(r->p.fp.n == r->p.npg && r->p.fw.n == r->p.nwin);
	for (uint32_t pg = 0; pg < r->p.npg; pg++) {
		bool f = hbm_test(&r->p.fp, pg);

		SC(f != (own[pg / 64] >> (pg % 64) & 1));
		nfree += f;
	}
	SC(nfree == r->p.npfree);
	/* windows: free exactly when all their pages are and nobody's base */
	for (uint32_t w = 0; w < r->p.nwin; w++) {
		nres += r->p.wres[w] != 0;
		SC(hbm_test(&r->p.fw, w) == (!r->p.wres[w] && win_all_free(&r->p, w)));
	}
	SC(nres == bases);
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
out:
	free(own);
	return rc;
}
