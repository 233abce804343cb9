// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* replay_arrived.c - see replay_arrived.h */
#include "replay_arrived.h"

#define MASK (REPLAY_ARRIVED_MAX - 1u)

/* Drop the holes at the oldest end. */
static void trim(struct replay_arrived *a)
{
	while (a->len && !a->seq[a->head & MASK]) {
		a->head++;
		a->len--;
	}
}

bool replay_arrived_find(struct replay_arrived *a, uint64_t seq, bool take)
{
	if (!seq || !a->live || seq > a->max)
		return false;
	for (uint32_t i = 0; i < a->len; i++) {
		uint64_t *v = &a->seq[(a->head + i) & MASK];

		if (*v != seq)
			continue;
		if (take) {
			*v = 0;
			__atomic_store_n(&a->live, a->live - 1, __ATOMIC_RELAXED);
			trim(a);
		}
		return true;
	}
	return false;
}

enum replay_note replay_arrived_note(struct replay_arrived *a, const struct replay *r,
				     uint64_t seq)
{
	enum replay_note ret = REPLAY_NOTE_NEW;

	if (!seq)
		return REPLAY_NOTE_SEEN;     /* never sent; 0 marks a hole */
	if (replay_arrived_find(a, seq, false))
		return REPLAY_NOTE_KNOWN;
	if (replay_check(r, seq))
		return REPLAY_NOTE_SEEN;
	if (a->len == REPLAY_ARRIVED_MAX && a->live < REPLAY_ARRIVED_MAX) {
		/* the span is full of holes taken out of order: close them up,
		 * oldest first (once per REPLAY_ARRIVED_MAX - live notes) */
		uint32_t n = 0;

		for (uint32_t i = 0; i < a->len; i++) {
			uint64_t v = a->seq[(a->head + i) & MASK];

			a->seq[(a->head + i) & MASK] = 0;
			if (v)
				a->seq[(a->head + n++) & MASK] = v;
		}
		a->len = n;
	}
	if (a->len == REPLAY_ARRIVED_MAX) {
		/* full: the oldest record gives way (a hole gives way for
		 * free, but trim() leaves none at the head) */
		a->seq[a->head & MASK] = 0;
		a->head++;
		a->len--;
		__atomic_store_n(&a->live, a->live - 1, __ATOMIC_RELAXED);
		trim(a);
		ret = REPLAY_NOTE_EVICTED;
	}
	a->seq[(a->head + a->len) & MASK] = seq;
	a->len++;
	a->max = a->live && a->max > seq ? a->max : seq;
	__atomic_store_n(&a->live, a->live + 1, __ATOMIC_RELAXED);
	return ret;
}

bool replay_arrived_lo(const struct replay_arrived *a, uint64_t top, uint32_t seq_lo,
		       uint64_t *seq)
{
	for (uint32_t i = 0; a->live && i < a->len; i++) {
		uint64_t v = a->seq[(a->head + i) & MASK];

		if (v && (uint32_t)v == seq_lo && v <= top && top - v < (1ull << 31)) {
			*seq = v;
			return true;
		}
	}
	return false;
}
