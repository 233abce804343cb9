// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* reasm_pool.c - the reassembly engine's memory: slot, range, page and
 * source pools sized from the limits, and reasm_new/reasm_free. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "reasm_int.h"

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

/* ------------------------------------------------------------ pools */

void pools_free(struct rpools *p)
{
	free(p->slot); free(p->range); free(p->pt); free(p->hdr); free(p->page);
	free(p->wres); free(p->sfree); free(p->bkt); free(p->src); free(p->srcbkt);
	hbm_free(&p->fp);
	hbm_free(&p->fw);
	memset(p, 0, sizeof(*p));
}

int pools_alloc(struct rpools *p, const struct reasm_limits *l)
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

bool limits_ok(const struct reasm_limits *l)
{
	return l->timeout_ms >= 1 &&
	       l->mem_cap >= REASM_PAGE_SIZE && l->mem_cap <= (1ull << 32) &&
	       l->max_frags >= 1 && l->max_frags <= MAX_FRAGS_LIMIT &&
	       l->max_datagrams >= 1 && l->max_datagrams <= (1u << 22) &&
	       l->src_share_pct >= 1 && l->src_share_pct <= 100;
}

void derive_caps(struct reasm *r)
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
