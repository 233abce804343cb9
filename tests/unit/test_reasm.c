// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_reasm.c - unit tests of the reassembly engine (user/reasm/reasm.c).
 *
 * Datagrams come from tests/unit/reasm_gen.h (an independent fragmenter);
 * every completed datagram is compared byte for byte with the original, and
 * a sample with scapy's defragment() (tests/unit/reasm_scapy_check.py).
 * Random orders use a seed printed at start; REASM_SEED=N replays a run.
 * The order, size and limit tests run twice: copying into the caller's
 * buffer and with the borrowed output (REASM_OUT_BORROW).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "reasm.h"
#include "reasm_gen.h"
#include "xdpsec_common.h"
#include "xdpsec_parse.h"

static uint64_t seed;
static uint64_t rs;                      /* generator state */
static uint8_t outbuf[RG_MAX_PKT];
static struct reasm_out out;
static unsigned out_flags;               /* REASM_OUT_BORROW in the second run */
static uint8_t scratch[RG_MAX_PKT];

/* One datagram and its fragments, in offset order. */
struct set {
	struct rg_dgram d;
	uint32_t id;
	unsigned nf;
	struct rg_frag *f;
	int done;                  /* completions seen */
	uint8_t *res; size_t reslen; /* our result (scapy sample) */
};

static void set_cut(struct set *s, const uint32_t *st, const uint32_t *en, unsigned n)
{
	s->f = calloc(n, sizeof(*s->f));
	s->nf = n;
	for (unsigned i = 0; i < n; i++) {
		struct rg_frag f = { .pkt = scratch };

		rg_cut(&s->d, s->id, st[i], en[i], i == n - 1, &f);
		s->f[i] = f;
		s->f[i].pkt = malloc(f.len);
		memcpy(s->f[i].pkt, scratch, f.len);
	}
}

static void set_free(struct set *s)
{
	for (unsigned i = 0; i < s->nf; i++)
		free(s->f[i].pkt);
	free(s->f);
	free(s->d.buf);
	free(s->res);
	memset(s, 0, sizeof(*s));
}

/* v4 or v6 datagram, id, payload length, options/extension headers. */
static void set_make(struct set *s, int family, uint32_t id, uint8_t proto, size_t paylen, int opts)
{
	memset(s, 0, sizeof(*s));
	s->d.buf = malloc(RG_MAX_PKT);
	s->id = id;
	if (family == 4)
		rg_ipv4(&s->d, &rs, 0xc6120001, 0xc6120002, (uint16_t)id, proto, paylen, opts);
	else
		rg_ipv6(&s->d, &rs, 1, 2, proto, paylen, opts);
}

static void set_make_split(struct set *s, int family, uint32_t id, size_t paylen, int opts, unsigned n)
{
	uint32_t st[RG_MAX_FRAGS], en[RG_MAX_FRAGS];

	set_make(s, family, id, 50, paylen, opts);
	set_cut(s, st, en, rg_split_n(&s->d, n, st, en));
}

static int feed(struct reasm *r, const struct rg_frag *f, uint64_t now, uint64_t ctx, uint32_t tag)
{
	int rc;

	out.buf = outbuf;
	out.cap = sizeof(outbuf);
	out.flags = out_flags;
	rc = reasm_feed(r, f->pkt, f->len, now, ctx, tag, &out);
	/* the datagram is in the caller's buffer unless borrowed */
	if (rc == REASM_COMPLETE)
		CHECK(out.data && (out_flags & REASM_OUT_BORROW || out.data == outbuf));
	else
		CHECK(out.data == NULL);
	return rc;
}

static int complete_is(const struct set *s)
{
	return out.len == s->d.len && memcmp(out.data, s->d.buf, s->d.len) == 0;
}

static uint64_t counter(const struct reasm *r, const char *name)
{
	struct xs_counter c[64];
	size_t n = reasm_counters(r, c, 0, 64);

	for (size_t i = 0; i < n && i < 64; i++)
		if (!strcmp(c[i].name, name))
			return c[i].value;
	fprintf(stderr, "  no counter %s\n", name);
	return UINT64_MAX;
}

/* Feed fragments in the order idx; expect exactly one completion, at the end. */
static void feed_order(struct reasm *r, struct set *s, const unsigned *idx, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = feed(r, &s->f[idx[i]], 1000, 0, 1u << (i % 32));

		if (i + 1 < n) {
			CHECK_EQ(rc, REASM_HELD);
		} else {
			CHECK_EQ(rc, REASM_COMPLETE);
			CHECK(complete_is(s));
		}
	}
	CHECK_EQ(reasm_in_progress(r), 0);
	CHECK_EQ(reasm_mem_used(r), 0);
	CHECK_EQ(reasm_selfcheck(r), 0);
}

/* ------------------------------------------------------------ whole packets */

TEST(non_fragments_pass_through)
{
	struct reasm *r = reasm_new(NULL);
	struct set s4, s6;
	struct rg_frag w;

	set_make(&s4, 4, 7, 17, 100, 1);
	set_make(&s6, 6, 7, 17, 100, 2);
	w.pkt = s4.d.buf; w.len = s4.d.len;
	CHECK_EQ(feed(r, &w, 0, 0, 5), REASM_COMPLETE);
	CHECK(complete_is(&s4));
	CHECK_EQ(out.tag, 5);
	w.pkt = s6.d.buf; w.len = s6.d.len;
	CHECK_EQ(feed(r, &w, 0, 0, 0), REASM_COMPLETE);
	CHECK(complete_is(&s6));
	/* Ethernet padding after the IP total length is not part of the datagram. */
	memset(s4.d.buf + s4.d.len, 0, 10);
	w.pkt = s4.d.buf; w.len = s4.d.len + 10;
	CHECK_EQ(feed(r, &w, 0, 0, 0), REASM_COMPLETE);
	CHECK_EQ(out.len, s4.d.len);
	CHECK_EQ(counter(r, "reasm_passthrough"), 3);
	CHECK_EQ(counter(r, "reasm_reqds"), 0);
	set_free(&s4);
	set_free(&s6);
	reasm_free(r);
}

TEST(ipv6_atomic_fragment)
{
	struct reasm *r = reasm_new(NULL);
	uint32_t st[1] = { 0 }, en[1];
	struct set s;

	for (int ext = 0; ext <= 2; ext++) {
		set_make(&s, 6, 99, 17, 300, ext);
		en[0] = (uint32_t)rg_flen(&s.d);
		set_cut(&s, st, en, 1);    /* offset 0, M = 0: RFC 6946 */
		CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_COMPLETE);
		CHECK(complete_is(&s));
		CHECK_EQ(reasm_in_progress(r), 0);
		set_free(&s);
	}
	CHECK_EQ(counter(r, "reasm_atomic"), 3);
	reasm_free(r);
}

/* ------------------------------------------------------------ orders */

TEST(in_order_reverse_random_single)
{
	struct reasm *r = reasm_new(NULL);

	for (int fam = 4; fam <= 6; fam += 2)
		for (int opts = 0; opts <= (fam == 4 ? 1 : 2); opts++)
			for (unsigned n = 2; n <= 64; n = n * 2 + 1) {
				struct set s;
				unsigned idx[64];

				set_make_split(&s, fam, 100 + n, 40 * n + rg_below(&rs, 8 * n), opts, n);
				for (unsigned i = 0; i < s.nf; i++)
					idx[i] = i;
				feed_order(r, &s, idx, s.nf);
				for (unsigned i = 0; i < s.nf; i++)
					idx[i] = s.nf - 1 - i;
				feed_order(r, &s, idx, s.nf);
				for (int k = 0; k < 5; k++) {
					rg_shuffle(&rs, idx, s.nf);
					feed_order(r, &s, idx, s.nf);
				}
				set_free(&s);
			}
	CHECK_EQ(counter(r, "reasm_fails"), 0);
	reasm_free(r);
}

/* tools/testing/selftests/net/ip_defrag.c orders. */
TEST(kernel_selftest_orders)
{
	struct reasm *r = reasm_new(NULL);

	for (int fam = 4; fam <= 6; fam += 2) {
		struct set s;
		unsigned idx[64], k = 0;

		set_make_split(&s, fam, 4242, 1000 * 8 + 13, 0, 10);
		/* odd fragments first, then even ones */
		for (unsigned i = 1; i < s.nf; i += 2) idx[k++] = i;
		for (unsigned i = 0; i < s.nf; i += 2) idx[k++] = i;
		feed_order(r, &s, idx, k);
		/* 6..end, then 3..6, then 0..3 */
		k = 0;
		for (unsigned i = 6; i < s.nf; i++) idx[k++] = i;
		for (unsigned i = 3; i < 6; i++) idx[k++] = i;
		for (unsigned i = 0; i < 3; i++) idx[k++] = i;
		feed_order(r, &s, idx, k);
		set_free(&s);
	}
	reasm_free(r);
}

/*
 * Many datagrams in flight at once (both families, random sizes and
 * splits), fed in one global order: each must complete exactly once, equal
 * to its original.  mode: 0 in order, 1 reverse, 2 random, 3 interleaved.
 */
static void many_at_once(int mode)
{
	enum { N = 300 };
	struct reasm_limits l;
	struct reasm *r;
	static struct set s[N];
	struct { unsigned set, frag; } *ord;
	unsigned total = 0, k = 0, done = 0, frags = 0, fragmented = 0;

	reasm_limits_default(&l);
	l.src_share_pct = 100;     /* two sources only */
	r = reasm_new(&l);

	for (unsigned i = 0; i < N; i++) {
		uint32_t st[64], en[64];
		int fam = rg_below(&rs, 2) ? 4 : 6;

		set_make(&s[i], fam, 1000 + i, 17, 8 + rg_below(&rs, 9000), (int)rg_below(&rs, fam == 4 ? 2 : 3));
		set_cut(&s[i], st, en, rg_split_random(&s[i].d, &rs, 1480, 64, st, en));
		total += s[i].nf;
		frags += s[i].nf > 1 ? s[i].nf : 0;   /* one piece: not a fragment */
		fragmented += s[i].nf > 1;
	}
	ord = calloc(total, sizeof(*ord));
	if (mode == 3) {
		for (unsigned j = 0; k < total; j++)
			for (unsigned i = 0; i < N; i++)
				if (j < s[i].nf) { ord[k].set = i; ord[k++].frag = j; }
	} else {
		for (unsigned i = 0; i < N; i++)
			for (unsigned j = 0; j < s[i].nf; j++) { ord[k].set = i; ord[k++].frag = j; }
	}
	if (mode == 1)
		for (unsigned i = 0; i < total / 2; i++) {
			__typeof__(*ord) t = ord[i]; ord[i] = ord[total - 1 - i]; ord[total - 1 - i] = t;
		}
	if (mode == 2)
		for (unsigned i = total; i > 1; i--) {
			unsigned j = rg_below(&rs, i);
			__typeof__(*ord) t = ord[i - 1]; ord[i - 1] = ord[j]; ord[j] = t;
		}
	for (unsigned i = 0; i < total; i++) {
		struct set *e = &s[ord[i].set];
		int rc = feed(r, &e->f[ord[i].frag], 1000 + i / 100, 0, 0);

		CHECK(rc != REASM_DROPPED);
		if (rc == REASM_COMPLETE) {
			CHECK(complete_is(e));
			e->done++;
			done++;
		}
		CHECK(reasm_mem_used(r) <= 4u << 20);
		if (i % 997 == 0)
			CHECK_EQ(reasm_selfcheck(r), 0);
	}
	CHECK_EQ(done, N);
	for (unsigned i = 0; i < N; i++) {
		CHECK_EQ(s[i].done, 1);
		set_free(&s[i]);
	}
	CHECK_EQ(reasm_in_progress(r), 0);
	CHECK_EQ(counter(r, "reasm_oks"), fragmented);
	CHECK_EQ(counter(r, "reasm_reqds"), frags);
	CHECK_EQ(counter(r, "reasm_fails"), 0);
	CHECK_EQ(reasm_selfcheck(r), 0);
	free(ord);
	reasm_free(r);
}

TEST(many_in_order) { many_at_once(0); }
TEST(many_reverse) { many_at_once(1); }
TEST(many_random) { many_at_once(2); }
TEST(many_interleaved) { many_at_once(3); }

/* ------------------------------------------------------------ duplicates, overlaps */

TEST(duplicates_ignored)
{
	struct reasm *r = reasm_new(NULL);

	for (int fam = 4; fam <= 6; fam += 2) {
		struct set s;
		unsigned idx[32];

		set_make_split(&s, fam, 77, 16 * 100, 1, 16);
		for (unsigned i = 0; i < 16; i++)
			idx[i] = i;
		rg_shuffle(&rs, idx, 16);
		for (unsigned i = 0; i < 15; i++) {
			CHECK_EQ(feed(r, &s.f[idx[i]], 0, 0, 0), REASM_HELD);
			CHECK_EQ(feed(r, &s.f[idx[i]], 0, 0, 0), REASM_DROPPED);
			CHECK_EQ(out.reason, REASM_R_DUPLICATE);
		}
		CHECK_EQ(feed(r, &s.f[idx[15]], 0, 0, 0), REASM_COMPLETE);
		CHECK(complete_is(&s));
		set_free(&s);
	}
	CHECK_EQ(counter(r, "reasm_duplicates"), 30);
	CHECK_EQ(counter(r, "reasm_fails"), 0);
	reasm_free(r);
}

/*
 * Each overlap shape drops the whole datagram, counted; the datagram
 * cannot complete afterwards from the remaining fragments.
 */
TEST(overlap_shapes)
{
	/* existing fragment [64, 128); new ranges (8-aligned, non-last) */
	static const struct { uint32_t s, e; int diff; const char *what; } sh[] = {
		{ 32, 80, 0, "head" }, { 96, 160, 0, "tail" }, { 80, 104, 0, "inside" },
		{ 32, 160, 0, "covering" }, { 64, 128, 1, "exact, different bytes" },
		{ 64, 96, 0, "same start, shorter" }, { 96, 128, 0, "same end, shorter" },
	};

	for (int fam = 4; fam <= 6; fam += 2)
		for (unsigned k = 0; k < sizeof(sh) / sizeof(sh[0]); k++) {
			struct reasm *r = reasm_new(NULL);
			struct set s;
			struct rg_frag f = { .pkt = scratch };
			uint32_t st[3] = { 0, 64, 128 }, en[3] = { 64, 128, 256 };

			set_make(&s, fam, 5, 17, 256, 0);
			set_cut(&s, st, en, 3);
			CHECK_EQ(feed(r, &s.f[1], 0, 0, 0), REASM_HELD);
			rg_cut(&s.d, s.id, sh[k].s, sh[k].e, 0, &f);
			if (sh[k].diff)
				scratch[f.len - 1] ^= 1;
			if (feed(r, &f, 0, 0, 0) != REASM_DROPPED || out.reason != REASM_R_OVERLAP)
				fprintf(stderr, "  overlap %s (IPv%d) not dropped\n", sh[k].what, fam);
			CHECK_EQ(out.reason, REASM_R_OVERLAP);
			CHECK_EQ(reasm_in_progress(r), 0);
			CHECK_EQ(reasm_mem_used(r), 0);
			CHECK_EQ(counter(r, "reasm_overlaps"), 1);
			/* the rest never completes: the datagram was discarded */
			CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_HELD);
			CHECK_EQ(feed(r, &s.f[2], 0, 0, 0), REASM_HELD);
			CHECK_EQ(reasm_selfcheck(r), 0);
			set_free(&s);
			reasm_free(r);
		}
}

/* ------------------------------------------------------------ lengths, last */

TEST(eight_byte_fragments)
{
	struct reasm *r = reasm_new(NULL);

	for (int fam = 4; fam <= 6; fam += 2) {
		struct set s;
		unsigned idx[64];

		set_make_split(&s, fam, 8, 64 * 8, 0, 64);
		CHECK_EQ(s.nf, 64);
		for (unsigned i = 0; i < 64; i++)
			idx[i] = i;
		rg_shuffle(&rs, idx, 64);
		feed_order(r, &s, idx, 64);
		set_free(&s);
	}
	reasm_free(r);
}

TEST(maximum_size)
{
	struct reasm *r = reasm_new(NULL);
	struct set s;
	struct rg_frag f = { .pkt = scratch };
	unsigned idx[64];

	/* IPv4: total length exactly 65535 */
	set_make(&s, 4, 1, 17, 65535 - 20, 0);
	{
		uint32_t st[64], en[64];

		set_cut(&s, st, en, rg_split_size(&s.d, 1480, st, en));
	}
	for (unsigned i = 0; i < s.nf; i++) idx[i] = i;
	rg_shuffle(&rs, idx, s.nf);
	feed_order(r, &s, idx, s.nf);
	/* one byte more: the last fragment is too big, the datagram dropped */
	for (unsigned i = 0; i + 1 < s.nf; i++)
		CHECK_EQ(feed(r, &s.f[i], 0, 0, 0), REASM_HELD);
	s.d.len++;
	rg_cut(&s.d, 1, s.f[s.nf - 1].start, s.f[s.nf - 1].end + 1, 1, &f);
	CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
	CHECK_EQ(out.reason, REASM_R_TOO_BIG);
	CHECK_EQ(reasm_in_progress(r), 0);
	set_free(&s);

	/* IPv6: payload length exactly 65535 with extension headers */
	set_make(&s, 6, 2, 17, 65535 - 8, 1);
	{
		uint32_t st[64], en[64];

		set_cut(&s, st, en, rg_split_size(&s.d, 1448, st, en));
	}
	for (unsigned i = 0; i < s.nf; i++) idx[i] = i;
	rg_shuffle(&rs, idx, s.nf);
	feed_order(r, &s, idx, s.nf);
	rg_cut(&s.d, 2, 65480, 65480 + 48 + 8, 1, &f);   /* ends past 65535 - 8 */
	CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
	CHECK_EQ(out.reason, REASM_R_TOO_BIG);
	CHECK_EQ(counter(r, "reasm_too_big"), 2);
	CHECK_EQ(reasm_selfcheck(r), 0);
	set_free(&s);
	reasm_free(r);
}

TEST(bad_lengths)
{
	struct reasm *r = reasm_new(NULL);
	struct rg_frag f = { .pkt = scratch };
	struct set s;

	for (int fam = 4; fam <= 6; fam += 2) {
		set_make(&s, fam, 3, 17, 100, 0);
		rg_cut(&s.d, 3, 0, 20, 0, &f);           /* non-last, 20 bytes */
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
		CHECK_EQ(out.reason, REASM_R_BAD_LEN);
		rg_cut(&s.d, 3, 16, 16, 0, &f);          /* empty */
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
		CHECK_EQ(out.reason, REASM_R_BAD_LEN);
		set_free(&s);
	}
	CHECK_EQ(counter(r, "reasm_bad_len"), 4);
	CHECK_EQ(reasm_in_progress(r), 0);
	reasm_free(r);
}

TEST(last_fragment_conflicts)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		struct reasm *r = reasm_new(NULL);
		struct rg_frag f = { .pkt = scratch };
		struct set s;

		set_make(&s, fam, 9, 17, 200, 0);
		/* a second last fragment with another end */
		rg_cut(&s.d, 9, 64, 200, 1, &f);
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_HELD);
		rg_cut(&s.d, 9, 64, 192, 1, &f);
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
		CHECK_EQ(out.reason, REASM_R_LAST_CONFLICT);
		/* data beyond the last */
		rg_cut(&s.d, 9, 64, 128, 1, &f);
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_HELD);
		rg_cut(&s.d, 9, 128, 192, 0, &f);
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
		CHECK_EQ(out.reason, REASM_R_LAST_CONFLICT);
		/* a last fragment ending before data already held */
		rg_cut(&s.d, 9, 128, 192, 0, &f);
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_HELD);
		rg_cut(&s.d, 9, 64, 128, 1, &f);
		CHECK_EQ(feed(r, &f, 0, 0, 0), REASM_DROPPED);
		CHECK_EQ(out.reason, REASM_R_LAST_CONFLICT);
		CHECK_EQ(counter(r, "reasm_last_conflict"), 3);
		CHECK_EQ(reasm_in_progress(r), 0);
		CHECK_EQ(reasm_selfcheck(r), 0);
		set_free(&s);
		reasm_free(r);
	}
}

/*
 * Strict where Linux is strict (ip_frag_queue / ip6_frag_queue: "end ==
 * offset" discards the queue): a fragment without data, arriving while
 * its datagram is held, discards the whole datagram; the fragments that
 * follow start a new one, which can never complete.  The fast path and
 * the general path agree.
 */
TEST(zero_length_fragment_discards_datagram)
{
	for (int fast = 0; fast <= 1; fast++) {
		for (int fam = 4; fam <= 6; fam += 2) {
			struct reasm *r = reasm_new(NULL);
			struct rg_frag z = { .pkt = scratch };
			struct set s;

			reasm_set_fast_path(r, fast);
			set_make_split(&s, fam, 700 + fam, 3000, 0, 3);
			CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_HELD);
			/* no data, non-last, right where the next one starts */
			rg_cut(&s.d, 700 + fam, s.f[1].start, s.f[1].start, 0, &z);
			CHECK_EQ(feed(r, &z, 0, 0, 0), REASM_DROPPED);
			CHECK_EQ(out.reason, REASM_R_BAD_LEN);
			CHECK_EQ(reasm_in_progress(r), 0);
			CHECK_EQ(counter(r, "reasm_frag_dropped"), 2);
			/* the rest cannot complete it any more */
			CHECK_EQ(feed(r, &s.f[1], 0, 0, 0), REASM_HELD);
			CHECK_EQ(feed(r, &s.f[2], 0, 0, 0), REASM_HELD);
			CHECK_EQ(reasm_in_progress(r), 1);
			CHECK_EQ(counter(r, "reasm_oks"), 0);
			/* arriving first, it discards nothing: the datagram
			 * completes (Linux: a queue made and killed at once) */
			reasm_free(r);
			r = reasm_new(NULL);
			reasm_set_fast_path(r, fast);
			CHECK_EQ(feed(r, &z, 0, 0, 0), REASM_DROPPED);
			CHECK_EQ(reasm_in_progress(r), 0);
			CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_HELD);
			CHECK_EQ(feed(r, &s.f[2], 0, 0, 0), REASM_HELD);
			CHECK_EQ(feed(r, &s.f[1], 0, 0, 0), REASM_COMPLETE);
			CHECK(complete_is(&s));
			CHECK_EQ(reasm_selfcheck(r), 0);
			set_free(&s);
			reasm_free(r);
		}
	}
}

/*
 * RFC 8200 4.1: hop-by-hop only right after the IPv6 header.  Linux drops
 * a packet with one anywhere else (no handler for next header 0), so the
 * fragment is dropped, counted, and its datagram is left as it was.
 */
TEST(ipv6_hop_by_hop_not_first)
{
	for (int fast = 0; fast <= 1; fast++) {
		struct reasm *r = reasm_new(NULL);
		struct set s;
		uint8_t *p;

		reasm_set_fast_path(r, fast);
		/* [IPv6][hop-by-hop][routing][dest opts][fragment] */
		set_make_split(&s, 6, 710, 3000, 2, 3);
		CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_HELD);
		/* [IPv6][dest opts][hop-by-hop (24 bytes)][dest opts][fragment]:
		 * the header at 40 becomes a destination options header whose
		 * next header is hop-by-hop */
		p = s.f[1].pkt;
		CHECK_EQ(p[6], 0);
		p[6] = 60;
		p[40] = 0;
		CHECK_EQ(feed(r, &s.f[1], 0, 0, 0), REASM_DROPPED);
		CHECK_EQ(out.reason, REASM_R_HBH_NOT_FIRST);
		CHECK_EQ(counter(r, "reasm_hbh_not_first"), 1);
		CHECK_EQ(reasm_in_progress(r), 1);          /* the datagram stays */
		/* hop-by-hop first is fine: the unchanged fragments complete */
		p[6] = 0;
		p[40] = 43;
		CHECK_EQ(feed(r, &s.f[2], 0, 0, 0), REASM_HELD);
		CHECK_EQ(feed(r, &s.f[1], 0, 0, 0), REASM_COMPLETE);
		CHECK(complete_is(&s));
		CHECK_EQ(reasm_selfcheck(r), 0);
		set_free(&s);
		reasm_free(r);
	}
}

/*
 * The IPv6 extension-header depth limit is the classifier's
 * (XDPSEC_IPV6_EXT_MAX, headers/xdpsec_parse.h), the fragment header
 * counted: at the limit a datagram completes, one header more and its
 * fragments are malformed -- here and in the classifier's parser, fed the
 * same bytes.
 */
TEST(ipv6_depth_is_the_classifiers)
{
	for (int fast = 0; fast <= 1; fast++) {
		for (int over = 0; over <= 1; over++) {
			struct reasm *r = reasm_new(NULL);
			struct xdpsec_pkt xp;
			struct set s;
			/* ext N >= 2: N + 1 headers before the fragment header */
			int ext = XDPSEC_IPV6_EXT_MAX - 2 + over;
			enum xdpsec_class cls;

			reasm_set_fast_path(r, fast);
			set_make_split(&s, 6, 720 + (uint32_t)over, 3000, ext, 3);
			cls = xdpsec_parse_ip_l3(s.f[0].pkt, (__u32)s.f[0].len, &xp);
			if (over) {
				CHECK_EQ(cls, XDPSEC_CLASS_MALFORMED);
				CHECK_EQ(xp.reason, XDPSEC_DROP_IPV6_EXTHDR_DEPTH);
				CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_DROPPED);
				CHECK_EQ(out.reason, REASM_R_MALFORMED);
			} else {
				CHECK(cls != XDPSEC_CLASS_MALFORMED);
				CHECK_EQ(xp.ext_depth, XDPSEC_IPV6_EXT_MAX);
				CHECK_EQ(feed(r, &s.f[0], 0, 0, 0), REASM_HELD);
				CHECK_EQ(feed(r, &s.f[1], 0, 0, 0), REASM_HELD);
				CHECK_EQ(feed(r, &s.f[2], 0, 0, 0), REASM_COMPLETE);
				CHECK(complete_is(&s));
			}
			CHECK_EQ(reasm_selfcheck(r), 0);
			set_free(&s);
			reasm_free(r);
		}
	}
}

/*
 * Every packet fed is accounted for: in = out (in a completed datagram or
 * as it came) + dropped (refused, or discarded with its datagram) + held.
 * A mix of completions, duplicates, overlaps, bad lengths, pass-through,
 * timeouts and evictions; then a counter reset with fragments held.
 */
TEST(conservation_of_packets)
{
	struct reasm_limits l;
	struct reasm *r;
	struct set a, b, c;
	uint8_t whole[64];
	struct rg_frag w = { .pkt = whole };

	reasm_limits_default(&l);
	l.max_datagrams = 2;
	l.src_share_pct = 100;
	r = reasm_new(&l);
	set_make_split(&a, 4, 720, 3000, 0, 3);
	set_make_split(&b, 6, 721, 3000, 0, 3);
	set_make_split(&c, 4, 722, 3000, 0, 4);
	CHECK_EQ(feed(r, &a.f[0], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &a.f[0], 0, 0, 0), REASM_DROPPED);      /* duplicate */
	CHECK_EQ(feed(r, &a.f[1], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &a.f[2], 0, 0, 0), REASM_COMPLETE);     /* 3 out */
	CHECK_EQ(feed(r, &b.f[0], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &c.f[0], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &c.f[1], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &a.f[0], 1, 0, 0), REASM_HELD);        /* evicts b */
	memcpy(whole, a.d.buf, 20);
	rg_put16(whole + 2, 20);
	rg_put16(whole + 6, 0);
	whole[10] = whole[11] = 0;
	rg_put16(whole + 10, rg_csum(whole, 20));
	w.len = 20;
	CHECK_EQ(feed(r, &w, 1, 0, 0), REASM_COMPLETE);          /* as it came */
	CHECK_EQ(counter(r, "reasm_frag_in"), 9);
	CHECK_EQ(counter(r, "reasm_frag_out"), 4);
	CHECK_EQ(counter(r, "reasm_frag_dropped"), 2);           /* dup + b.f[0] */
	CHECK_EQ(counter(r, "reasm_frag_held"), 3);
	CHECK_EQ(reasm_selfcheck(r), 0);
	reasm_reset_counters(r);
	CHECK_EQ(counter(r, "reasm_frag_in"), 3);                /* held, counted in */
	CHECK_EQ(reasm_expire(r, 100000), 2);
	CHECK_EQ(counter(r, "reasm_frag_dropped"), 3);
	CHECK_EQ(counter(r, "reasm_frag_held"), 0);
	CHECK_EQ(reasm_selfcheck(r), 0);
	set_free(&a);
	set_free(&b);
	set_free(&c);
	reasm_free(r);
}

/* ------------------------------------------------------------ keys */

/* DPDK's IPv4 key is (src, dst, id): it would mix these two. */
TEST(same_id_different_protocol)
{
	struct reasm *r = reasm_new(NULL);
	struct set a, b;
	uint32_t st[8], en[8];
	int got_a = 0, got_b = 0;

	set_make(&a, 4, 555, 50, 4000, 0);
	set_cut(&a, st, en, rg_split_n(&a.d, 4, st, en));
	set_make(&b, 4, 555, 17, 4000, 0);
	set_cut(&b, st, en, rg_split_n(&b.d, 4, st, en));
	for (unsigned i = 0; i < 4; i++) {
		if (feed(r, &a.f[i], 0, 0, 1) == REASM_COMPLETE)
			got_a += complete_is(&a) && out.tag == 1;
		if (feed(r, &b.f[3 - i], 0, 0, 2) == REASM_COMPLETE)
			got_b += complete_is(&b) && out.tag == 2;
	}
	CHECK_EQ(got_a, 1);
	CHECK_EQ(got_b, 1);
	CHECK_EQ(counter(r, "reasm_overlaps"), 0);
	set_free(&a);
	set_free(&b);
	reasm_free(r);
}

TEST(context_separates)
{
	struct reasm *r = reasm_new(NULL);
	struct set s;
	int done = 0;

	set_make_split(&s, 6, 31, 3000, 2, 3);
	for (unsigned i = 0; i < s.nf; i++)
		for (uint64_t ctx = 1; ctx <= 3; ctx++)
			if (feed(r, &s.f[i], 0, ctx, 0) == REASM_COMPLETE)
				done += complete_is(&s);
	CHECK_EQ(done, 3);
	/* a datagram split across two contexts never completes */
	CHECK_EQ(feed(r, &s.f[0], 0, 7, 0), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[1], 0, 8, 0), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[2], 0, 7, 0), REASM_HELD);
	CHECK_EQ(reasm_in_progress(r), 2);
	set_free(&s);
	reasm_free(r);
}

TEST(tags_are_ored)
{
	struct reasm *r = reasm_new(NULL);
	struct set s;

	set_make_split(&s, 4, 32, 3000, 0, 3);
	CHECK_EQ(feed(r, &s.f[2], 0, 0, 1), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[2], 0, 0, 8), REASM_DROPPED);   /* duplicate: not counted */
	CHECK_EQ(feed(r, &s.f[0], 0, 0, 2), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[1], 0, 0, 4), REASM_COMPLETE);
	CHECK_EQ(out.tag, 7);
	set_free(&s);
	reasm_free(r);
}

/* IPv6: hop-by-hop, routing and destination options before the fragment header. */
TEST(ipv6_extension_headers)
{
	struct reasm *r = reasm_new(NULL);

	for (int ext = 0; ext <= 2; ext++) {
		struct set s;
		unsigned idx[8] = { 3, 1, 0, 2 };

		set_make_split(&s, 6, 40 + ext, 5000, ext, 4);
		feed_order(r, &s, idx, 4);
		/* the next header moved back into the header before the fragment header */
		CHECK_EQ(out.data[s.d.nh_off], 50);
		set_free(&s);
	}
	reasm_free(r);
}

/* RFC 791: non-first fragments carry only the copied options; the result has all. */
TEST(ipv4_options_from_first_fragment)
{
	struct reasm *r = reasm_new(NULL);
	struct set s;
	unsigned idx[4] = { 2, 1, 3, 0 };

	set_make_split(&s, 4, 41, 3000, 1, 4);
	CHECK_EQ(s.f[0].pkt[0] & 15, 8);         /* 32-byte header on the first */
	CHECK_EQ(s.f[1].pkt[0] & 15, 6);         /* router alert only on the others */
	feed_order(r, &s, idx, 4);
	CHECK_EQ(rg_csum(out.data, 32), 0);
	set_free(&s);
	reasm_free(r);
}

/* ------------------------------------------------------------ malformed */

TEST(malformed_never_crash)
{
	struct reasm *r = reasm_new(NULL);
	struct set s;
	uint8_t b[2000];

	set_make_split(&s, 4, 50, 1000, 1, 2);
	/* truncations of a real fragment at every length */
	for (size_t l = 0; l < s.f[1].len; l++) {
		int rc = feed(r, &(struct rg_frag){ .pkt = s.f[1].pkt, .len = l }, 0, 0, 0);

		CHECK_EQ(rc, REASM_DROPPED);
	}
	/* bad checksum */
	memcpy(b, s.f[0].pkt, s.f[0].len);
	b[8]--;
	CHECK_EQ(feed(r, &(struct rg_frag){ .pkt = b, .len = s.f[0].len }, 0, 0, 0), REASM_DROPPED);
	CHECK_EQ(out.reason, REASM_R_BAD_CSUM);
	set_free(&s);
	set_make_split(&s, 6, 51, 1000, 2, 2);
	for (size_t l = 0; l < s.f[1].len; l++)
		CHECK_EQ(feed(r, &(struct rg_frag){ .pkt = s.f[1].pkt, .len = l }, 0, 0, 0), REASM_DROPPED);
	/* extension header length running past the packet */
	memcpy(b, s.f[0].pkt, s.f[0].len);
	b[41] = 200;
	CHECK_EQ(feed(r, &(struct rg_frag){ .pkt = b, .len = s.f[0].len }, 0, 0, 0), REASM_DROPPED);
	CHECK_EQ(out.reason, REASM_R_MALFORMED);
	set_free(&s);
	/* random bytes with a plausible first nibble */
	for (int i = 0; i < 20000; i++) {
		size_t l = rg_below(&rs, sizeof(b));

		for (size_t j = 0; j < l; j++)
			b[j] = (uint8_t)rg_rand(&rs);
		if (l)
			b[0] = (uint8_t)((rg_below(&rs, 2) ? 0x40 : 0x60) | (b[0] & 15));
		feed(r, &(struct rg_frag){ .pkt = b, .len = l }, (uint64_t)i, 0, 0);
	}
	CHECK_EQ(reasm_selfcheck(r), 0);
	CHECK(counter(r, "reasm_malformed") > 0);
	/* too small an output buffer */
	set_make_split(&s, 4, 52, 1000, 0, 2);
	out.buf = outbuf; out.cap = 100;
	CHECK_EQ(reasm_feed(r, s.f[0].pkt, s.f[0].len, 0, 0, 0, &out), REASM_HELD);
	CHECK_EQ(reasm_feed(r, s.f[1].pkt, s.f[1].len, 0, 0, 0, &out), REASM_DROPPED);
	CHECK_EQ(out.reason, REASM_R_OUT_TOO_SMALL);
	set_free(&s);
	reasm_free(r);
}

/* ------------------------------------------------------------ limits */

TEST(missing_last_times_out)
{
	struct reasm *r = reasm_new(NULL);
	struct set s;

	set_make_split(&s, 4, 60, 3000, 0, 3);
	CHECK_EQ(feed(r, &s.f[0], 1000, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[1], 2000, 0, 0), REASM_HELD);
	CHECK_EQ(reasm_expire(r, 1000 + 29999), 0);
	CHECK_EQ(reasm_in_progress(r), 1);
	CHECK_EQ(reasm_expire(r, 1000 + 30000), 1);
	CHECK_EQ(reasm_in_progress(r), 0);
	CHECK_EQ(reasm_mem_used(r), 0);
	CHECK_EQ(counter(r, "reasm_timeout"), 1);
	CHECK_EQ(counter(r, "reasm_fails"), 1);
	/* expiry on arrival too: the late last fragment starts a new datagram */
	CHECK_EQ(feed(r, &s.f[0], 50000, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[1], 50000, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[2], 80001, 0, 0), REASM_HELD);
	CHECK_EQ(counter(r, "reasm_timeout"), 2);
	CHECK_EQ(reasm_in_progress(r), 1);
	set_free(&s);
	reasm_free(r);
}

TEST(limit_max_frags)
{
	struct reasm_limits l;
	struct reasm *r;
	struct set s;
	unsigned idx[128];

	reasm_limits_default(&l);
	r = reasm_new(&l);
	set_make_split(&s, 6, 61, 65 * 8, 0, 65);
	CHECK_EQ(s.nf, 65);
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(feed(r, &s.f[i], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &s.f[64], 0, 0, 0), REASM_DROPPED);
	CHECK_EQ(out.reason, REASM_R_TOO_MANY_FRAGS);
	CHECK_EQ(counter(r, "reasm_too_many_frags"), 1);
	CHECK_EQ(reasm_in_progress(r), 0);
	/* raised at run time: now it fits */
	l.max_frags = 100;
	CHECK_EQ(reasm_set_limits(r, &l), 0);
	for (unsigned i = 0; i < 65; i++)
		idx[i] = i;
	rg_shuffle(&rs, idx, 65);
	feed_order(r, &s, idx, 65);
	set_free(&s);
	reasm_free(r);
}

/* Flood with incomplete datagrams: memory never passes the cap, oldest go first. */
TEST(limit_mem_cap_evicts_oldest)
{
	struct reasm_limits l;
	struct reasm *r;
	enum { N = 200 };
	static struct set s[N];
	int evicted_in_order = 1;

	reasm_limits_default(&l);
	l.mem_cap = 64 * 1024;
	l.src_share_pct = 100;
	r = reasm_new(&l);
	for (unsigned i = 0; i < N; i++) {
		set_make_split(&s[i], i % 2 ? 4 : 6, 2000 + i, 4000, 0, 4);
		for (unsigned j = 0; j < 3; j++) {   /* never the last */
			CHECK_EQ(feed(r, &s[i].f[j], i, 0, 0), REASM_HELD);
			CHECK(reasm_mem_used(r) <= l.mem_cap);
		}
	}
	CHECK(counter(r, "reasm_evict_mem") > 0);
	CHECK_EQ(reasm_selfcheck(r), 0);
	/* The survivors are the newest ones.  Completing them newest first
	 * frees memory before an evicted one's last fragment comes in. */
	for (unsigned i = N; i-- > 0;) {
		int rc = feed(r, &s[i].f[3], N, 0, 0);

		if (rc == REASM_COMPLETE) {
			CHECK(complete_is(&s[i]));
			if (i < N - 25)
				evicted_in_order = 0;
		}
		CHECK(reasm_mem_used(r) <= l.mem_cap);
	}
	CHECK(evicted_in_order);
	/* 64 KiB / 3 KiB held per datagram: 21 survive */
	CHECK_EQ(counter(r, "reasm_oks"), 21);
	for (unsigned i = 0; i < N; i++)
		set_free(&s[i]);
	reasm_free(r);
}

TEST(limit_max_datagrams)
{
	struct reasm_limits l;
	struct reasm *r;
	struct set s[20];
	unsigned ok = 0;

	reasm_limits_default(&l);
	l.max_datagrams = 8;
	l.src_share_pct = 100;
	r = reasm_new(&l);
	for (unsigned i = 0; i < 20; i++) {
		set_make_split(&s[i], 4, 3000 + i, 1000, 0, 2);
		CHECK_EQ(feed(r, &s[i].f[0], i, 0, 0), REASM_HELD);
		CHECK(reasm_in_progress(r) <= 8);
	}
	CHECK_EQ(counter(r, "reasm_evict_count"), 12);
	/* newest first, so that the late last fragments of the evicted ones
	 * (each starting a new datagram) come after the survivors completed */
	for (unsigned i = 20; i-- > 0;)
		if (feed(r, &s[i].f[1], 100, 0, 0) == REASM_COMPLETE) {
			CHECK(i >= 12);
			ok += complete_is(&s[i]);
		}
	CHECK_EQ(ok, 8);
	CHECK_EQ(reasm_in_progress(r), 8);
	CHECK_EQ(reasm_selfcheck(r), 0);
	for (unsigned i = 0; i < 20; i++)
		set_free(&s[i]);
	reasm_free(r);
}

/* One source flooding cannot evict another source's datagrams. */
TEST(limit_per_source_share)
{
	struct reasm_limits l;
	struct reasm *r;
	struct set good, bad;
	uint32_t st[8], en[8];

	reasm_limits_default(&l);
	l.mem_cap = 64 * 1024;
	l.max_datagrams = 40;
	l.src_share_pct = 25;
	r = reasm_new(&l);
	set_make_split(&good, 4, 1, 4000, 0, 4);
	good.d.buf[15] = 9;                   /* another source address */
	good.d.buf[10] = good.d.buf[11] = 0;
	rg_put16(good.d.buf + 10, rg_csum(good.d.buf, 20));
	for (unsigned j = 0; j < good.nf; j++) free(good.f[j].pkt);
	free(good.f);
	set_cut(&good, st, en, rg_split_n(&good.d, 4, st, en));
	CHECK_EQ(feed(r, &good.f[0], 0, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &good.f[1], 0, 0, 0), REASM_HELD);
	for (unsigned i = 0; i < 500; i++) {
		set_make_split(&bad, 4, 100 + i, 6000, 0, 3);
		feed(r, &bad.f[0], 1, 0, 0);
		feed(r, &bad.f[1], 1, 0, 0);
		CHECK(reasm_mem_used(r) <= l.mem_cap);
		set_free(&bad);
	}
	CHECK(counter(r, "reasm_src_evict") > 0);
	CHECK_EQ(reasm_selfcheck(r), 0);
	CHECK_EQ(feed(r, &good.f[2], 2, 0, 0), REASM_HELD);
	CHECK_EQ(feed(r, &good.f[3], 2, 0, 0), REASM_COMPLETE);
	CHECK(complete_is(&good));
	/* a single datagram bigger than the share is refused */
	set_make_split(&bad, 4, 9999, 20000, 0, 14);
	for (unsigned j = 0; j < bad.nf; j++)
		if (feed(r, &bad.f[j], 3, 0, 0) == REASM_DROPPED)
			break;
	CHECK_EQ(out.reason, REASM_R_SRC_CAP);
	CHECK(counter(r, "reasm_src_cap") >= 1);
	set_free(&bad);
	set_free(&good);
	reasm_free(r);
}

TEST(set_limits_runtime)
{
	struct reasm_limits l, g;
	struct reasm *r;
	struct set s[10];

	reasm_limits_default(&l);
	l.src_share_pct = 100;
	r = reasm_new(&l);
	for (unsigned i = 0; i < 10; i++) {
		set_make_split(&s[i], 6, 7000 + i, 3000, 0, 3);
		CHECK_EQ(feed(r, &s[i].f[0], i, 0, 0), REASM_HELD);
	}
	l.max_datagrams = 4;
	CHECK_EQ(reasm_set_limits(r, &l), 0);
	CHECK_EQ(reasm_in_progress(r), 4);
	l.mem_cap = 2 * 1024;
	CHECK_EQ(reasm_set_limits(r, &l), 0);
	CHECK(reasm_mem_used(r) <= 2048);
	CHECK_EQ(reasm_selfcheck(r), 0);
	l.timeout_ms = 0;
	CHECK_EQ(reasm_set_limits(r, &l), -EINVAL);
	l.timeout_ms = 5;
	l.src_share_pct = 101;
	CHECK_EQ(reasm_set_limits(r, &l), -EINVAL);
	l.src_share_pct = 50;
	l.max_frags = 0;
	CHECK_EQ(reasm_set_limits(r, &l), -EINVAL);
	l.max_frags = 64;
	l.max_datagrams = 10000;             /* grow: pools reallocated */
	l.mem_cap = 8 << 20;
	CHECK_EQ(reasm_set_limits(r, &l), 0);
	reasm_get_limits(r, &g);
	CHECK_EQ(g.max_datagrams, 10000);
	CHECK_EQ(g.timeout_ms, 5);
	CHECK_EQ(reasm_in_progress(r), 0);
	CHECK_EQ(reasm_selfcheck(r), 0);
	for (unsigned i = 0; i < 10; i++) {
		unsigned idx[3] = { 2, 0, 1 };

		feed_order(r, &s[i], idx, 3);
		set_free(&s[i]);
	}
	reasm_free(r);
}

/* ------------------------------------------------------------ walk, counters */

static void walk_cb(const struct reasm_info *in, void *arg)
{
	struct reasm_info *v = arg;

	v[v[0].frags + 1] = *in;
	v[0].frags++;
}

TEST(walk_lists_in_progress)
{
	struct reasm *r = reasm_new(NULL);
	struct reasm_info v[4];
	struct set a, b;

	memset(v, 0, sizeof(v));
	set_make_split(&a, 4, 0x1234, 3000, 0, 3);
	set_make_split(&b, 6, 0xabcdef, 3000, 1, 3);
	CHECK_EQ(feed(r, &a.f[0], 100, 11, 0), REASM_HELD);
	CHECK_EQ(feed(r, &a.f[1], 100, 11, 0), REASM_HELD);
	CHECK_EQ(feed(r, &b.f[2], 150, 12, 0), REASM_HELD);
	reasm_walk(r, 200, walk_cb, v);
	CHECK_EQ(v[0].frags, 2);
	CHECK_EQ(v[1].family, 4);
	CHECK_EQ(v[1].proto, 50);
	CHECK_EQ(v[1].id, 0x1234);
	CHECK_EQ(v[1].ctx, 11);
	CHECK_EQ(v[1].frags, 2);
	CHECK_EQ(v[1].age_ms, 100);
	CHECK(v[1].have_first && !v[1].have_last);
	CHECK_EQ(v[1].src[3], 1);
	CHECK_EQ(v[2].family, 6);
	CHECK_EQ(v[2].id, 0xabcdef);
	CHECK_EQ(v[2].bytes, b.f[2].end - b.f[2].start);
	CHECK(!v[2].have_first && v[2].have_last);
	CHECK_EQ(v[2].dst[15], 2);
	set_free(&a);
	set_free(&b);
	reasm_free(r);
}

TEST(counters_exported)
{
	struct reasm *r = reasm_new(NULL);
	struct xs_counter c[64];
	size_t n = reasm_counters(r, c, 0, 64);
	const char *need[] = { "reasm_reqds", "reasm_oks", "reasm_fails", "reasm_timeout",
			       "reasm_overlaps", "reasm_duplicates", "reasm_too_many_frags",
			       "reasm_too_big", "reasm_evict_mem", "reasm_src_cap",
			       "reasm_hbh_not_first", "reasm_frag_in", "reasm_frag_out",
			       "reasm_frag_dropped", "reasm_frag_held" };

	CHECK(n <= 64);
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		CHECK(counter(r, need[i]) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(!strcmp(c[i].group, "reasm") && c[i].help && c[i].help[0]);
	CHECK_EQ(reasm_counters(r, c, 0, 3), n);  /* never writes past max */
	for (int i = 0; i < REASM_R__MAX; i++)
		CHECK(strcmp(reasm_reason_name(i), "unknown") != 0);
	CHECK(!strcmp(reasm_reason_name(-1), "unknown"));
	reasm_free(r);
}

/* ------------------------------------------------------------ zero copy */

/*
 * One datagram at a time lies contiguous in the engine: borrowed, it is not
 * copied (out.data is not the caller's buffer) and nothing is gathered.
 */
TEST(borrowed_in_place)
{
	struct reasm *r = reasm_new(NULL);

	out_flags = REASM_OUT_BORROW;
	for (int fam = 4; fam <= 6; fam += 2)
		for (unsigned n = 2; n <= 44; n += 6) {
			struct set s;
			unsigned idx[64];

			set_make_split(&s, fam, 500 + n, n * 1200, fam == 6 ? 2 : 1, n);
			for (unsigned i = 0; i < s.nf; i++)
				idx[i] = i;
			rg_shuffle(&rs, idx, s.nf);
			feed_order(r, &s, idx, s.nf);
			CHECK(out.data != outbuf);
			set_free(&s);
		}
	CHECK_EQ(counter(r, "reasm_gathered"), 0);
	out_flags = 0;
	reasm_free(r);
}

/*
 * More datagrams in flight than the arena has windows, and datagrams longer
 * than a window next to each other: pages scatter, completion gathers them
 * into the caller's buffer (also when borrowing), byte for byte right.
 */
TEST(scattered_pages_gathered)
{
	enum { N = 12 };
	struct reasm_limits l;
	static struct set s[N];

	for (int mode = 0; mode < 2; mode++) {
		struct reasm *r;
		unsigned done = 0;

		reasm_limits_default(&l);
		l.mem_cap = 96 * 1024;            /* 6 windows of 16 pages */
		l.src_share_pct = 100;
		r = reasm_new(&l);
		out_flags = mode ? REASM_OUT_BORROW : 0;
		for (unsigned i = 0; i < N; i++)
			set_make_split(&s[i], i % 2 ? 4 : 6, 600 + i, 4000 + 900 * i, 0, 4 + i / 2);
		/* interleaved: fragment j of every datagram, then j + 1 */
		for (unsigned j = 0; j < 10; j++)
			for (unsigned i = 0; i < N; i++) {
				if (j >= s[i].nf)
					continue;
				if (feed(r, &s[i].f[j], 0, 0, 0) == REASM_COMPLETE) {
					CHECK(complete_is(&s[i]));
					done++;
				}
				CHECK_EQ(reasm_selfcheck(r), 0);
			}
		CHECK_EQ(done, N);
		CHECK(counter(r, "reasm_gathered") > 0);
		CHECK_EQ(counter(r, "reasm_fails"), 0);
		CHECK_EQ(reasm_mem_used(r), 0);
		for (unsigned i = 0; i < N; i++)
			set_free(&s[i]);
		reasm_free(r);
	}
	out_flags = 0;
}

/*
 * IPv6: the datagram was created by a fragment with a short unfragmentable
 * part, then the first fragment brings a longer one than the header room:
 * its header is kept aside and the result is still exactly the original.
 */
TEST(first_header_longer_than_room)
{
	for (int mode = 0; mode < 2; mode++) {
		struct reasm *r = reasm_new(NULL);
		struct set a, b;
		uint32_t st[2] = { 0, 1000 }, en[2] = { 1000, 2000 };

		out_flags = mode ? REASM_OUT_BORROW : 0;
		set_make(&a, 6, 77, 17, 2000, 2);      /* 88-byte unfragmentable part */
		set_make(&b, 6, 77, 17, 2000, 0);      /* 40 bytes, same payload */
		memcpy(b.d.buf + b.d.hdr_len, a.d.buf + a.d.hdr_len, 2000);
		set_cut(&a, st, en, 2);
		set_cut(&b, st, en, 2);
		CHECK_EQ(feed(r, &b.f[1], 0, 0, 0), REASM_HELD);   /* creates it: room 64 */
		CHECK_EQ(feed(r, &a.f[0], 0, 0, 0), REASM_COMPLETE);
		CHECK(complete_is(&a));
		CHECK_EQ(out.data, outbuf);                          /* gathered */
		CHECK_EQ(counter(r, "reasm_gathered"), 1);
		CHECK_EQ(reasm_selfcheck(r), 0);
		set_free(&a);
		set_free(&b);
		reasm_free(r);
	}
	out_flags = 0;
}

/* The order, size and limit tests again, with the borrowed output. */
TEST(borrowed_output_all_orders)
{
	out_flags = REASM_OUT_BORROW;
	non_fragments_pass_through();
	ipv6_atomic_fragment();
	in_order_reverse_random_single();
	kernel_selftest_orders();
	many_at_once(0);
	many_at_once(1);
	many_at_once(2);
	many_at_once(3);
	duplicates_ignored();
	overlap_shapes();
	eight_byte_fragments();
	maximum_size();
	ipv6_extension_headers();
	ipv4_options_from_first_fragment();
	limit_mem_cap_evicts_oldest();
	limit_max_datagrams();
	limit_per_source_share();
	set_limits_runtime();
	out_flags = 0;
}

/* ------------------------------------------------------------ scapy */

/* A sample of random datagrams fed in random order, the same fragments
 * reassembled by scapy: both results must equal the original. */
TEST(scapy_cross_check)
{
	enum { N = 40 };
	const char *script = getenv("REASM_SCAPY_SCRIPT");
	struct reasm *r = reasm_new(NULL);
	static struct set s[N];
	char path[] = "/tmp/test_reasm_XXXXXX", cmd[512];
	int fd = mkstemp(path), matched = 0;
	FILE *f, *p;
	static char line[2 * RG_MAX_PKT + 64];

	if (!script)
		script = "tests/unit/reasm_scapy_check.py";
	CHECK(fd >= 0 && access(script, R_OK) == 0);
	if (fd < 0 || access(script, R_OK)) {
		fprintf(stderr, "  run from the source tree or set REASM_SCAPY_SCRIPT\n");
		return;
	}
	f = fdopen(fd, "w");
	for (unsigned i = 0; i < N; i++) {
		uint32_t st[64], en[64];
		unsigned idx[64];
		int fam = i % 2 ? 4 : 6;

		set_make(&s[i], fam, 0x100 + i, 17, 8 + rg_below(&rs, 6000),
			 (int)rg_below(&rs, fam == 4 ? 2 : 3));
		set_cut(&s[i], st, en, rg_split_random(&s[i].d, &rs, 1480, 64, st, en));
		for (unsigned j = 0; j < s[i].nf; j++)
			idx[j] = j;
		rg_shuffle(&rs, idx, s[i].nf);
		for (unsigned j = 0; j < s[i].nf; j++) {
			const struct rg_frag *g = &s[i].f[idx[j]];

			if (feed(r, g, 0, 0, 0) == REASM_COMPLETE) {
				CHECK(complete_is(&s[i]));
				s[i].res = malloc(out.len);
				memcpy(s[i].res, out.data, out.len);
				s[i].reslen = out.len;
			}
			fprintf(f, "%u ", i);
			for (size_t b = 0; b < g->len; b++)
				fprintf(f, "%02x", g->pkt[b]);
			fputc('\n', f);
		}
		CHECK(s[i].res != NULL);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", script, path);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (p && fgets(line, sizeof(line), p)) {
		unsigned k;
		char *hex;
		size_t hl;

		if (sscanf(line, "%u", &k) != 1 || k >= N || !(hex = strchr(line, ' ')))
			continue;
		hex++;
		hl = strcspn(hex, "\n") / 2;
		CHECK_EQ(hl, s[k].reslen);
		for (size_t b = 0; b < hl && b < s[k].reslen; b++) {
			unsigned v;

			sscanf(hex + 2 * b, "%2x", &v);
			if (v != s[k].res[b]) {
				fprintf(stderr, "  scapy differs on set %u (IPv%d) at byte %zu\n",
					k, s[k].d.family, b);
				CHECK(0);
				break;
			}
		}
		matched++;
	}
	CHECK(p && pclose(p) == 0);
	CHECK_EQ(matched, N);
	printf("  scapy agreed on %d/%d datagrams\n", matched, N);
	if (!getenv("REASM_KEEP"))
		unlink(path);
	else
		fprintf(stderr, "  fragments kept in %s\n", path);
	for (unsigned i = 0; i < N; i++)
		set_free(&s[i]);
	reasm_free(r);
}

int main(void)
{
	const char *e = getenv("REASM_SEED");

	seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (!seed)
		seed = 1;
	printf("test_reasm: seed %llu (replay: REASM_SEED=%llu)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	rs = seed;
	RUN(non_fragments_pass_through);
	RUN(ipv6_atomic_fragment);
	RUN(in_order_reverse_random_single);
	RUN(kernel_selftest_orders);
	RUN(many_in_order);
	RUN(many_reverse);
	RUN(many_random);
	RUN(many_interleaved);
	RUN(duplicates_ignored);
	RUN(overlap_shapes);
	RUN(eight_byte_fragments);
	RUN(maximum_size);
	RUN(bad_lengths);
	RUN(last_fragment_conflicts);
	RUN(zero_length_fragment_discards_datagram);
	RUN(ipv6_hop_by_hop_not_first);
	RUN(conservation_of_packets);
	RUN(same_id_different_protocol);
	RUN(ipv6_depth_is_the_classifiers);
	RUN(context_separates);
	RUN(tags_are_ored);
	RUN(ipv6_extension_headers);
	RUN(ipv4_options_from_first_fragment);
	RUN(malformed_never_crash);
	RUN(missing_last_times_out);
	RUN(limit_max_frags);
	RUN(limit_mem_cap_evicts_oldest);
	RUN(limit_max_datagrams);
	RUN(limit_per_source_share);
	RUN(set_limits_runtime);
	RUN(walk_lists_in_progress);
	RUN(counters_exported);
	RUN(borrowed_in_place);
	RUN(scattered_pages_gathered);
	RUN(first_header_longer_than_room);
	RUN(borrowed_output_all_orders);
	RUN(scapy_cross_check);
	return testlib_report();
}
