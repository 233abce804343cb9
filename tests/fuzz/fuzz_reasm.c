// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_reasm.c - libFuzzer target for user/reasm/reasm.c.
 *
 * The input is a program of operations on one engine with small limits
 * (so every limit is reached): structured fragments cut from fixed
 * reference datagrams (any range, any last flag, optionally with a flipped
 * byte), raw packets, and clock advances / expiry.  After every operation:
 *  - reasm_selfcheck() passes (memory accounted exactly, under the caps,
 *    lists and hash chains consistent);
 *  - a completed datagram is at most 65535 bytes (IPv4) or 65535 + 40
 *    (IPv6), has a valid header, and -- when no corrupted fragment was ever
 *    fed for that key -- its payload equals the reference prefix;
 *  - half the fragments ask for the borrowed output (REASM_OUT_BORROW): the
 *    same checks on out.data, which is then overwritten, as a caller may,
 *    before the next call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reasm.h"
#include "../unit/reasm_gen.h"

#define NKEYS   16          /* family x proto x id x ctx */
#define REF_LEN 4096

static struct rg_dgram ref[NKEYS];
static uint8_t outbuf[RG_MAX_PKT], pkt[RG_MAX_PKT];

static void init_refs(void)
{
	uint64_t rs = 12345;

	for (int k = 0; k < NKEYS; k++) {
		ref[k].buf = malloc(RG_MAX_PKT);
		if (k & 1)
			rg_ipv6(&ref[k], &rs, 1, 2, (k & 2) ? 50 : 17, REF_LEN, (k >> 2) & 1 ? 2 : 0);
		else
			rg_ipv4(&ref[k], &rs, 0xc6120001, 0xc6120002, (uint16_t)(k >> 2),
				(k & 2) ? 50 : 17, REF_LEN, (k >> 2) & 1);
	}
}

static void check_complete(const struct reasm_out *o, int k, int tainted)
{
	const struct rg_dgram *d = &ref[k];
	const uint8_t *outbuf = o->data;

	if (!outbuf || (!(o->flags & REASM_OUT_BORROW) && outbuf != o->buf))
		abort();

	if (o->len > (d->family == 4 ? 65535u : 65535u + 40))
		abort();
	if (d->family == 4) {
		size_t hl = (outbuf[0] & 15) * 4u;

		if (o->len < 20 || hl > o->len || rg_csum(outbuf, hl) != 0 ||
		    (size_t)(outbuf[2] << 8 | outbuf[3]) != o->len || (outbuf[6] & 0x3f) || outbuf[7])
			abort();
		if (!tainted && (hl != d->hdr_len || o->len - hl > REF_LEN ||
				 memcmp(outbuf + hl, d->buf + hl, o->len - hl)))
			abort();
	} else {
		if (o->len < 40 || (size_t)(outbuf[4] << 8 | outbuf[5]) + 40 != o->len)
			abort();
		if (!tainted && (o->len < d->hdr_len || o->len - d->hdr_len > REF_LEN ||
				 memcmp(outbuf, d->buf, 4) ||   /* all but the payload length */
				 memcmp(outbuf + 6, d->buf + 6, d->hdr_len - 6) ||
				 memcmp(outbuf + d->hdr_len, d->buf + d->hdr_len, o->len - d->hdr_len)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct reasm_limits l;
	struct reasm *r;
	struct reasm_out o = { .buf = outbuf, .cap = sizeof(outbuf) };
	uint8_t tainted[NKEYS] = { 0 };
	uint64_t now = 0;
	size_t i = 0;

	if (!inited) {
		init_refs();
		inited = 1;
	}
	reasm_limits_default(&l);
	l.timeout_ms = 1000;
	l.mem_cap = 24 * 1024;
	l.max_frags = 12;
	l.max_datagrams = 8;
	l.src_share_pct = 60;
	r = reasm_new(&l);
	if (!r)
		abort();
	while (i < size) {
		uint8_t op = data[i++];

		if ((op & 3) != 3 && i + 3 <= size) {
			/* structured fragment: key, start, length, flags */
			int k = data[i] % NKEYS;
			uint32_t start = (uint32_t)data[i + 1] * 8 % REF_LEN;
			uint32_t len = (uint32_t)data[i + 2] * 8 + (op >> 7);
			int last = (op >> 2) & 1, corrupt = (op >> 3) & 1;
			struct rg_frag f = { .pkt = pkt };
			uint64_t ctx = (op >> 4) & 1;
			int rc;

			i += 3;
			if (len == 0 || start + len > REF_LEN)
				len = REF_LEN - start;
			if (start + len == REF_LEN)
				last = 1;      /* nothing lies beyond the reference */
			rg_cut(&ref[k], (uint32_t)k, start, start + len, last, &f); /* IPv6 id = k: keys distinct */
			if (corrupt) {
				pkt[f.len - 1 - (data[i - 1] % len)] ^= 0x5a;
				tainted[k] = 1;
			}
			o.flags = (op >> 6) & 1 ? REASM_OUT_BORROW : 0;
			rc = reasm_feed(r, pkt, f.len, now, ctx, 1u << (op & 31), &o);
			if (rc == REASM_COMPLETE) {
				check_complete(&o, k, tainted[k]);
				memset(o.data, 0xa5, o.len);   /* the caller's now */
			} else if (o.data) {
				abort();
			}
			else if (rc == REASM_DROPPED && (o.reason <= REASM_R_NONE || o.reason >= REASM_R__MAX))
				abort();
		} else if ((op & 3) == 3 && (op & 4)) {
			/* raw packet of up to 255 bytes, half the time an IPv6/IPv4 nibble */
			size_t n = i < size ? data[i++] : 0;

			if (n > size - i)
				n = size - i;
			memcpy(pkt, data + i, n);
			if (n && (op & 8))
				pkt[0] = op & 16 ? 0x60 : 0x45;
			i += n;
			if (reasm_feed(r, pkt, n, now, 0, 0, &o) == REASM_COMPLETE && o.len > n)
				abort();
		} else {
			/* time passes; sometimes the timer runs */
			now += (op >> 3) * 37u;
			if (op & 4)
				reasm_expire(r, now);
		}
		if (reasm_selfcheck(r) != 0 || reasm_mem_used(r) > l.mem_cap)
			abort();
	}
	reasm_free(r);
	return 0;
}
