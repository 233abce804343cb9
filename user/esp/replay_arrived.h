/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * replay_arrived.h - arrival records: the anti-replay window's verdict kept
 * for datagrams still on their way through the daemon (docs/architecture.md,
 * "Reordering inside one SA").
 *
 * A datagram fragmented after encryption reaches the ESP engine one trip
 * through the feedback pair after its last fragment arrived; whole packets
 * of the same SA that arrived after it may be decrypted first and move the
 * window past it.  So when its reassembly completes (in wire order with the
 * SA's whole packets) its sequence number is recorded here if the window
 * would take it then; when it is decrypted, its record lets it in even
 * though the window has moved past it since.
 *
 * Why this stays strict: a record is made only for a number the window has
 * not seen, and any acceptance of that number takes the record away (under
 * the SA's lock, with the window update), so a number is still accepted at
 * most once; and only a datagram whose ICV verified, sequence number
 * included, can use a record.  A record made for a forged datagram only
 * lets in a genuine datagram that was never delivered.
 *
 * A FIFO ring: reassembled datagrams come back in the order their
 * reassembly completed, so the record looked for is nearly always the
 * oldest.  REPLAY_ARRIVED_MAX per SA, inside the SA object (nothing is
 * allocated per packet); when it is full the oldest gives way (counted by
 * the caller), and its datagram, if it comes back left of the window, is
 * dropped as a replay as before.  `max` keeps the common case free: a
 * packet numbered above every record (the next whole packet of an in-order
 * stream) has none, without a look at the ring.
 *
 * Every function runs under the SA's lock; `live` may be read without it
 * (a hint: zero means no record, and the caller takes the lock otherwise).
 */
#ifndef XDPSEC_REPLAY_ARRIVED_H
#define XDPSEC_REPLAY_ARRIVED_H

#include <stdbool.h>
#include <stdint.h>
#include "replay.h"

/* Reassembled datagrams of one SA between completion and decryption: at
 * most what a worker's RX ring holds ahead of them (xsk_io.h, 2048 frames,
 * a fragmented datagram being 2 or more of them). */
#define REPLAY_ARRIVED_MAX 1024     /* a power of two */

struct replay_arrived {
	uint32_t live;                      /* records (nonzero slots)        */
	uint32_t head, len;                 /* ring span, holes included      */
	uint64_t max;                       /* highest recorded while live    */
	uint64_t seq[REPLAY_ARRIVED_MAX];   /* 0 = taken (a hole)             */
};

enum replay_note { REPLAY_NOTE_NEW, REPLAY_NOTE_EVICTED, REPLAY_NOTE_KNOWN, REPLAY_NOTE_SEEN };

/* At arrival: record seq if the window would take it now.  _NEW or
 * _EVICTED (recorded; the oldest record gave way), _KNOWN (recorded
 * already: the same datagram reassembled twice), _SEEN (the window refuses
 * it: nothing recorded). */
enum replay_note replay_arrived_note(struct replay_arrived *a, const struct replay *r,
				     uint64_t seq);

/* Find seq's record, and take it (forget it) when `take`. */
bool replay_arrived_find(struct replay_arrived *a, uint64_t seq, bool take);

/* seq is being accepted: forget its record, if any.  True when there was
 * one.  Inline for the common case (nothing recorded at or above seq). */
static inline bool replay_arrived_take(struct replay_arrived *a, uint64_t seq)
{
	if (!a->live || seq > a->max || !seq)
		return false;
	return replay_arrived_find(a, seq, true);
}

/* ESN: the recorded full number with these low 32 bits, at or below the
 * edge `top` and less than 2^31 below it.  True and *seq, or false. */
bool replay_arrived_lo(const struct replay_arrived *a, uint64_t top, uint32_t seq_lo,
		       uint64_t *seq);

/* Forget every record (the window was set from outside: replay_set_top
 * counts everything up to the new edge as seen). */
static inline void replay_arrived_clear(struct replay_arrived *a)
{
	a->head = a->len = 0;
	a->max = 0;
	__atomic_store_n(&a->live, 0, __ATOMIC_RELAXED);
}

static inline uint32_t replay_arrived_live(const struct replay_arrived *a)
{
	return __atomic_load_n(&a->live, __ATOMIC_RELAXED);
}

#endif
