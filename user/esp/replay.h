/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * replay.h - the anti-replay window of RFC 4303 3.4.3 as a ring of 64-bit
 * words (RFC 6479): one spare word beyond the window so sliding right only
 * clears whole words, no shifting.  Sequence numbers are 64-bit (ESN,
 * RFC 4304); without ESN the high half is just always 0.
 *
 * Not locked: the caller serialises replay_update (the SA's spinlock).
 * replay_check may run concurrently with an update as a pre-check; the
 * authoritative answer is the one replay_update gives under the lock.
 */
#ifndef XDPSEC_REPLAY_H
#define XDPSEC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define REPLAY_MIN_WINDOW 32
#define REPLAY_MAX_WINDOW 4096

struct replay {
	uint64_t top;            /* highest accepted sequence number, 0 = none  */
	uint32_t window;         /* packets; 0 = no replay check                */
	uint32_t words;          /* bitmap words, a power of two >= window/64+1 */
	uint64_t bitmap[];       /* bit (seq % (64*words)) set = seq seen       */
};

/* Bytes to allocate for a window of that many packets (after rounding). */
size_t replay_size(uint32_t window);
/* window: 0 or REPLAY_MIN..MAX (callers round small values up). */
void replay_init(struct replay *r, uint32_t window);
/* Make top the right edge, everything at or below it counted as seen. */
void replay_set_top(struct replay *r, uint64_t top);

/* 0 = may be new, -1 = replayed or left of the window (or seq 0).
 * Inline: it runs twice per packet (pre-check, then under the lock). */
static inline int replay_check(const struct replay *r, uint64_t seq)
{
	uint64_t top = __atomic_load_n(&r->top, __ATOMIC_ACQUIRE), word;

	if (seq == 0)
		return -1;          /* never sent (RFC 4303 3.3.3) */
	if (r->window == 0 || seq > top)
		return 0;
	if (top - seq >= r->window)
		return -1;          /* left of the window */
	word = __atomic_load_n(&r->bitmap[(seq >> 6) & (r->words - 1)], __ATOMIC_RELAXED);
	return (word >> (seq & 63)) & 1 ? -1 : 0;
}
/* Check again and mark seq seen, sliding the window; 0 or -1 as above. */
static inline int replay_update(struct replay *r, uint64_t seq)
{
	uint64_t *w, mask = r->words - 1;

	if (replay_check(r, seq))
		return -1;
	if (seq > r->top) {
		uint64_t cur = r->top >> 6, nxt = seq >> 6, diff = nxt - cur, i;

		if (diff > mask + 1)
			diff = mask + 1;    /* slid by more than the ring: clear it all */
		for (i = 1; i <= diff; i++)
			__atomic_store_n(&r->bitmap[(cur + i) & mask], 0, __ATOMIC_RELAXED);
		/* release: a lock-free replay_check that sees the new top also
		 * sees the cleared words */
		__atomic_store_n(&r->top, seq, __ATOMIC_RELEASE);
	}
	if (r->window) {
		w = &r->bitmap[(seq >> 6) & mask];
		__atomic_store_n(w, *w | (1ull << (seq & 63)), __ATOMIC_RELAXED);
	}
	return 0;
}

/* Is seq left of the window (refused for being too old, not for being
 * seen)? */
static inline bool replay_left_of(const struct replay *r, uint64_t seq)
{
	uint64_t top = __atomic_load_n(&r->top, __ATOMIC_ACQUIRE);

	return r->window && seq && seq <= top && top - seq >= r->window;
}

/* ESN (RFC 4303 Appendix A2.2): the full sequence number for the received
 * low 32 bits, given the window's right edge.  Returns 0 and *seq, or -1
 * when the implied high half would be below 0.  window 0 infers as 32. */
int replay_esn_infer(uint64_t top, uint32_t window, uint32_t seq_lo, uint64_t *seq);

#endif
