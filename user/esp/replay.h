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

/*
 * Arrival records: the window's verdict kept for datagrams still on their
 * way through the daemon (docs/architecture.md, "Reordering inside one
 * SA").  A datagram fragmented after encryption reaches the ESP engine one
 * trip through the feedback pair after its last fragment arrived; whole
 * packets of the same SA that arrived after it may be decrypted first and
 * move the window past it.  So, when its reassembly completes (in wire
 * order with the SA's whole packets), its sequence number is recorded here
 * if the window would take it then; when it is decrypted, a record lets it
 * in even though the window has moved past it since.
 *
 * Why this stays strict: a record is made only for a number the window has
 * not seen, and any acceptance of that number (replay_arrived_take, under
 * the same lock as replay_update) removes it, so a number is still accepted
 * at most once; and only a datagram whose ICV verified, with this sequence
 * number authenticated, can use it.  An unauthenticated record (a forged
 * reassembled datagram) only lets in a genuine datagram that was never
 * delivered.  Bounded: REPLAY_ARRIVED_MAX per SA, the lowest number
 * evicted when full (counted by the caller).  Under the SA's lock, except
 * replay_arrived_has/_lo, the lock-free pre-check's reads.
 */
#define REPLAY_ARRIVED_MAX 16

struct replay_arrived {
	uint64_t seq[REPLAY_ARRIVED_MAX];   /* 0 = free (0 is never sent)    */
	uint32_t n;                         /* slots in use                  */
};

enum replay_note { REPLAY_NOTE_NEW, REPLAY_NOTE_EVICTED, REPLAY_NOTE_KNOWN, REPLAY_NOTE_SEEN };

/* At arrival: record seq if the window would take it now.  _NEW/_EVICTED
 * (recorded; the lowest record gave way), _KNOWN (already recorded), or
 * _SEEN (replay_check refuses it: nothing recorded). */
static inline enum replay_note replay_arrived_note(struct replay_arrived *a,
						   const struct replay *r, uint64_t seq)
{
	unsigned i, low = 0, fr = REPLAY_ARRIVED_MAX;

	if (!seq)
		return REPLAY_NOTE_SEEN;     /* never sent; 0 marks a free slot */
	for (i = 0; i < REPLAY_ARRIVED_MAX; i++)
		if (a->seq[i] == seq)
			return REPLAY_NOTE_KNOWN;
	if (replay_check(r, seq))
		return REPLAY_NOTE_SEEN;
	for (i = 0; i < REPLAY_ARRIVED_MAX; i++) {
		uint64_t v = a->seq[i];

		if (!v)
			fr = fr == REPLAY_ARRIVED_MAX ? i : fr;
		else if (v < a->seq[low] || !a->seq[low])
			low = i;
	}
	if (fr < REPLAY_ARRIVED_MAX) {
		__atomic_store_n(&a->seq[fr], seq, __ATOMIC_RELAXED);
		__atomic_store_n(&a->n, a->n + 1, __ATOMIC_RELAXED);
		return REPLAY_NOTE_NEW;
	}
	__atomic_store_n(&a->seq[low], seq, __ATOMIC_RELAXED);
	return REPLAY_NOTE_EVICTED;
}

/* seq is being accepted (or refused for good): forget its record.  True
 * when there was one. */
static inline bool replay_arrived_take(struct replay_arrived *a, uint64_t seq)
{
	if (!a->n || !seq)
		return false;
	for (unsigned i = 0; i < REPLAY_ARRIVED_MAX; i++)
		if (a->seq[i] == seq) {
			__atomic_store_n(&a->seq[i], 0, __ATOMIC_RELAXED);
			__atomic_store_n(&a->n, a->n - 1, __ATOMIC_RELAXED);
			return true;
		}
	return false;
}

/* Lock-free: is seq recorded?  (A pre-check; the answer under the lock
 * is replay_arrived_take's.) */
static inline bool replay_arrived_has(const struct replay_arrived *a, uint64_t seq)
{
	if (!seq || !__atomic_load_n(&a->n, __ATOMIC_RELAXED))
		return false;
	for (unsigned i = 0; i < REPLAY_ARRIVED_MAX; i++)
		if (__atomic_load_n(&a->seq[i], __ATOMIC_RELAXED) == seq)
			return true;
	return false;
}

/* ESN: the recorded full number with these low 32 bits, at or below the
 * edge and less than 2^31 below it (RFC 4303 A2.2 would take a number left
 * of the window for the next cycle's).  Lock-free.  True and *seq, or false. */
static inline bool replay_arrived_lo(const struct replay_arrived *a, uint64_t top,
				     uint32_t seq_lo, uint64_t *seq)
{
	if (!__atomic_load_n(&a->n, __ATOMIC_RELAXED))
		return false;
	for (unsigned i = 0; i < REPLAY_ARRIVED_MAX; i++) {
		uint64_t v = __atomic_load_n(&a->seq[i], __ATOMIC_RELAXED);

		if (v && (uint32_t)v == seq_lo && v <= top && top - v < (1ull << 31)) {
			*seq = v;
			return true;
		}
	}
	return false;
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
