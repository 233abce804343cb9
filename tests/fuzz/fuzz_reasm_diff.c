// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_reasm_diff.c - differential libFuzzer target for user/reasm/reasm.c: the
 * in-order fast path (feed_fast) against the general path alone
 * (reasm_set_fast_path(r, false)).  Two engines with the same small
 * limits take the same program of operations:
 *  - a fragment stream: one reference datagram cut into 2..17 fragments of
 *    8-byte multiples, fed in order, reversed, shuffled, or in order with
 *    one duplicated, one overlapping or one out-of-range neighbour (the
 *    fast path's cases and the ones it must hand over);
 *  - one fragment cut anywhere, optionally corrupted (as fuzz_reasm.c);
 *  - a raw packet of up to 255 bytes;
 *  - time passing, sometimes with the timer.
 * After every packet both must give the same verdict, reason, tag and
 * datagram bytes; after every operation the same counters (every one of
 * them), memory, datagrams in progress and walk listing, and both pass
 * reasm_selfcheck() (which includes in = out + dropped + held).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"
#include "../unit/reasm_gen.h"

#define NKEYS   8
#define REF_LEN 6000
#define MAXC    64

static struct rg_dgram ref[NKEYS];
static uint8_t pkt[RG_MAX_PKT], obuf[2][RG_MAX_PKT];

static void init_refs(void)
{
	uint64_t rs = 777;

	for (int k = 0; k < NKEYS; k++) {
		ref[k].buf = malloc(RG_MAX_PKT);
		if (k & 1)
			rg_ipv6(&ref[k], &rs, 1, 2, 50, REF_LEN, (k >> 1) % 3);
		else
			rg_ipv4(&ref[k], &rs, 0xc6120001, 0xc6120002, (uint16_t)(k >> 1), 50,
				REF_LEN, (k >> 1) & 1);
	}
}

struct walk { unsigned n; struct reasm_info in[16]; };

static void walk_cb(const struct reasm_info *i, void *arg)
{
	struct walk *w = arg;

	if (w->n < 16)
		w->in[w->n] = *i;
	w->n++;
}

static void same_state(struct reasm *a, struct reasm *b, uint64_t now)
{
	struct xs_counter ca[MAXC], cb[MAXC];
	struct walk wa = { 0 }, wb = { 0 };
	size_t na = reasm_counters(a, ca, 0, MAXC), nb = reasm_counters(b, cb, 0, MAXC);

	if (na != nb || na > MAXC)
		abort();
	for (size_t i = 0; i < na; i++)
		if (strcmp(ca[i].name, cb[i].name) || ca[i].value != cb[i].value)
			abort();
	if (reasm_mem_used(a) != reasm_mem_used(b) || reasm_in_progress(a) != reasm_in_progress(b))
		abort();
	reasm_walk(a, now, walk_cb, &wa);
	reasm_walk(b, now, walk_cb, &wb);
	if (wa.n != wb.n)
		abort();
	for (unsigned i = 0; i < wa.n && i < 16; i++) {
		const struct reasm_info *x = &wa.in[i], *y = &wb.in[i];

		if (x->family != y->family || x->proto != y->proto || x->id != y->id ||
		    x->ctx != y->ctx || x->frags != y->frags || x->bytes != y->bytes ||
		    x->age_ms != y->age_ms || x->have_first != y->have_first ||
		    x->have_last != y->have_last || memcmp(x->src, y->src, 16) ||
		    memcmp(x->dst, y->dst, 16))
			abort();
	}
	if (reasm_selfcheck(a) || reasm_selfcheck(b))
		abort();
}

/* One packet into both engines: the same answer, byte for byte. */
static void feed2(struct reasm *e[2], const uint8_t *p, size_t len, uint64_t now, uint64_t ctx,
		  uint32_t tag, unsigned flags)
{
	struct reasm_out o[2];
	int rc[2];

	for (int i = 0; i < 2; i++) {
		o[i] = (struct reasm_out){ .buf = obuf[i], .cap = sizeof(obuf[i]), .flags = flags };
		rc[i] = reasm_feed(e[i], p, len, now, ctx, tag, &o[i]);
	}
	if (rc[0] != rc[1] || o[0].reason != o[1].reason)
		abort();
	if (rc[0] == REASM_COMPLETE &&
	    (o[0].len != o[1].len || o[0].tag != o[1].tag || memcmp(o[0].data, o[1].data, o[0].len)))
		abort();
	if (rc[0] != REASM_COMPLETE && (o[0].data || o[1].data))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct reasm_limits l;
	struct reasm *e[2];
	uint64_t now = 0;
	size_t i = 0;

	if (!inited) {
		init_refs();
		inited = 1;
	}
	reasm_limits_default(&l);
	l.timeout_ms = 1000;
	l.mem_cap = 40 * 1024;
	l.max_frags = 12;
	l.max_datagrams = 6;
	l.src_share_pct = 70;
	e[0] = reasm_new(&l);
	e[1] = reasm_new(&l);
	if (!e[0] || !e[1])
		abort();
	reasm_set_fast_path(e[1], false);

	while (i < size) {
		uint8_t op = data[i++];

		if ((op & 3) == 0 && i + 3 <= size) {
			/* a stream: key, fragment count, order, size unit */
			int k = data[i] % NKEYS;
			unsigned n = 2 + (data[i + 1] & 15), order = data[i + 1] >> 4;
			uint32_t unit = 8 * (1 + data[i + 2] % 64), st[20], en[20];
			unsigned idx[20];
			uint64_t rs = data[i + 2] * 0x9E3779B97F4A7C15ull + op;
			struct rg_frag f = { .pkt = pkt };

			i += 3;
			/* cut points: multiples of 8, the last fragment takes the rest */
			for (unsigned j = 0; j < n; j++) {
				st[j] = j ? en[j - 1] : 0;
				en[j] = j + 1 == n ? REF_LEN : st[j] + unit * (1 + (uint32_t)(rg_rand(&rs) % 3));
				if (en[j] >= REF_LEN) {
					en[j] = REF_LEN;
					n = j + 1;
				}
				idx[j] = j;
			}
			if (order == 1)
				for (unsigned j = 0; j < n; j++)
					idx[j] = n - 1 - j;
			else if (order == 2)
				rg_shuffle(&rs, idx, n);
			for (unsigned j = 0; j < n; j++) {
				unsigned x = idx[j];
				uint32_t s = st[x], t = en[x];

				if (order >= 12 && j == n / 2) {
					/* a neighbour that does not fit: duplicate,
					 * overlapping, or past the end */
					if (order == 13 && s >= 8)
						s -= 8;
					else if (order == 14)
						t = t + 8 <= REF_LEN ? t + 8 : t;
					else if (order == 15 && x + 1 < n)
						continue;     /* a hole: never completes */
					rg_cut(&ref[k], (uint32_t)k, s, t, t == REF_LEN, &f);
					feed2(e, pkt, f.len, now, op >> 7, 1u << (j & 31),
					      j & 1 ? REASM_OUT_BORROW : 0);
					s = st[x];
					t = en[x];
				}
				rg_cut(&ref[k], (uint32_t)k, s, t, t == REF_LEN, &f);
				feed2(e, pkt, f.len, now, op >> 7, 1u << (j & 31),
				      (op >> 6) & 1 ? REASM_OUT_BORROW : 0);
			}
		} else if ((op & 3) == 1 && i + 3 <= size) {
			/* one fragment anywhere, maybe corrupted (fuzz_reasm.c) */
			int k = data[i] % NKEYS;
			uint32_t start = (uint32_t)data[i + 1] * 8 % REF_LEN;
			uint32_t len = (uint32_t)data[i + 2] * 8 + (op >> 7);
			int last = (op >> 2) & 1;
			struct rg_frag f = { .pkt = pkt };

			i += 3;
			if (len == 0 || start + len > REF_LEN)
				len = REF_LEN - start;
			if (start + len == REF_LEN)
				last = 1;
			rg_cut(&ref[k], (uint32_t)k, start, start + len, last, &f);
			if ((op >> 3) & 1)
				pkt[f.len - 1 - (data[i - 1] % len)] ^= 0x5a;
			feed2(e, pkt, f.len, now, (op >> 4) & 1, 1u << (op & 31),
			      (op >> 6) & 1 ? REASM_OUT_BORROW : 0);
		} else if ((op & 3) == 2) {
			/* raw packet, half the time with an IP version nibble */
			size_t n = i < size ? data[i++] : 0;

			if (n > size - i)
				n = size - i;
			memcpy(pkt, data + i, n);
			if (n && (op & 8))
				pkt[0] = op & 16 ? 0x60 : 0x45;
			i += n;
			feed2(e, pkt, n, now, 0, 0, 0);
		} else {
			/* time passes; sometimes the timer runs */
			now += (op >> 3) * 41u;
			if (op & 4 && reasm_expire(e[0], now) != reasm_expire(e[1], now))
				abort();
		}
		same_state(e[0], e[1], now);
	}
	reasm_free(e[0]);
	reasm_free(e[1]);
	return 0;
}
