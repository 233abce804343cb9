// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* replay.c - RFC 6479-style anti-replay bitmap and RFC 4304 ESN inference. */
#include "replay.h"

#include <string.h>

static uint32_t words_for(uint32_t window)
{
	uint32_t need = window / 64 + 1 + (window % 64 != 0), w = 2;

	while (w < need)
		w <<= 1;
	return w;
}

size_t replay_size(uint32_t window)
{
	return sizeof(struct replay) + (size_t)words_for(window) * sizeof(uint64_t);
}

void replay_init(struct replay *r, uint32_t window)
{
	r->top = 0;
	r->window = window;
	r->words = words_for(window);
	memset(r->bitmap, 0, r->words * sizeof(uint64_t));
}

void replay_set_top(struct replay *r, uint64_t top)
{
	/* Everything up to top seen: set all bits; bits right of top in the
	 * ring belong to top+1.. and must be clear, so clear top's word above it. */
	uint64_t bit = top & 63;

	memset(r->bitmap, 0xff, r->words * sizeof(uint64_t));
	r->bitmap[(top >> 6) & (r->words - 1)] = bit == 63 ? ~0ull : ((2ull << bit) - 1);
	__atomic_store_n(&r->top, top, __ATOMIC_RELEASE);
}

int replay_esn_infer(uint64_t top, uint32_t window, uint32_t seq_lo, uint64_t *seq)
{
	uint32_t th = (uint32_t)(top >> 32), tl = (uint32_t)top;
	uint32_t w = window ? window : REPLAY_MIN_WINDOW;
	uint64_t hi;

	if (tl >= w - 1) {
		/* Case A: window within one 2^32 cycle */
		hi = seq_lo >= tl - w + 1 ? th : (uint64_t)th + 1;
	} else {
		/* Case B: window spans the wrap of the low half */
		if (seq_lo >= tl - w + 1) {   /* unsigned: in the previous cycle */
			if (th == 0)
				return -1;
			hi = th - 1;
		} else {
			hi = th;
		}
	}
	if (hi > 0xffffffffull)
		return -1;                   /* would wrap the 64-bit counter */
	*seq = (hi << 32) | seq_lo;
	return 0;
}
