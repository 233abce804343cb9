// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* reasm_admin.c - the reassembly engine off the feed path: the timer,
 * walking the datagrams in progress, run-time limits, counters and the
 * self-check the tests run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reasm_int.h"

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
