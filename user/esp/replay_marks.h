/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * replay_marks.h - anti-replay positions that survive kill -9.
 *
 * Like the kernel's XFRM replay events and strongSwan's HA plugin, the
 * state file does not hold each SA's right edge (it moves with every
 * packet) but a mark ahead of it: top + margin.  A restart restores the
 * edge to the mark, skipping ahead, so no sequence number delivered before
 * the crash is accepted again; at most `margin` sequence numbers the peer
 * has not sent yet are given up.
 *
 * The guarantee is kept, not hoped for: the workers never move an SA's
 * edge past the mark already written (its "ceiling", esp_sa.h); a packet
 * beyond it is dropped and counted as esp/replay_unsaved.  Well before
 * that, when the edge passes the middle of the margin, the worker nudges
 * the main thread (an eventfd; the hot path does no file I/O), which
 * writes a new mark into the state file's journal and only then raises the
 * ceiling (replay_marks_grant).
 *
 * The margin adapts to each SA's rate, so that a busy SA writes about once
 * a second and a restart gives up about a second of its traffic at most:
 * it starts at REPLAY_MARK_FIRST, grows fourfold when the middle was
 * reached within a second, halves when that took more than four, and
 * drops to REPLAY_MARK_MIN once the SA has been (nearly) idle for
 * REPLAY_MARK_IDLE_MS.  The margin is also how many packets a burst may
 * bring before the main thread has written the next mark (half of it
 * before the nudge, half after), so it is never small: the price is that
 * a restart drops up to REPLAY_MARK_MIN packets the peer sends next on
 * an SA that was idle (and up to REPLAY_MARK_FIRST on one added or busy
 * in the last seconds) as replays.
 *
 * Main thread only, except that the ceilings it grants are read by the
 * workers under each SA's lock.
 */
#ifndef XDPSEC_REPLAY_MARKS_H
#define XDPSEC_REPLAY_MARKS_H

#include <stdbool.h>
#include <stdint.h>
#include "sa_config.h"

#define REPLAY_MARK_FIRST  8192        /* margin of a new or restored SA   */
#define REPLAY_MARK_MIN    1024
#define REPLAY_MARK_MAX    (1u << 24)
#define REPLAY_MARK_IDLE_MS 2000       /* shrink after this long (nearly) idle */
#define REPLAY_MARK_IDLE_BATCH 256     /* idle SAs shrunk per call: 10,000 SAs
					  added at once do not stall a tick  */

struct sa_table;
struct replay_marks;

/* Guards the table (esp_sa.h replay_guard): from now on every SA accepts
 * packets only up to the ceiling granted to it. */
struct replay_marks *replay_marks_new(struct sa_table *t, uint32_t max_sas);
/* Unguards the table again (the workers must be stopped or unguarded
 * SAs must be acceptable: after the last state file write). */
void replay_marks_free(struct replay_marks *rm);
/* The eventfd the workers' nudges arrive on; read it, then call _due. */
int replay_marks_fd(const struct replay_marks *rm);

/* A new SA at idx: nothing granted; its first mark is top + FIRST, taken
 * when it is first written (replay_marks_mark). */
void replay_marks_reset(struct replay_marks *rm, uint32_t idx);
/* Its add record is queued, not written: no ceiling until a grant with
 * sas_saved. */
void replay_marks_unsaved(struct replay_marks *rm, uint32_t idx);
/* The mark to write for idx now: the one pending or granted, or, for an SA
 * that has none yet, its edge + REPLAY_MARK_FIRST. */
uint64_t replay_marks_mark(struct replay_marks *rm, uint32_t idx, uint64_t top, bool esn);

/* Every SA that passed its nudge point, or whose margin is too large for
 * its rate: a new mark, handed to cb (to be written); a larger ceiling
 * follows at the next grant, a smaller one is in effect at once.  Clears
 * the eventfd.  Returns how many.  Takes the table's mutex (cb runs under
 * it and must not call into the table): not from inside sa_table_walk.
 * now_ms: CLOCK_MONOTONIC. */
unsigned replay_marks_due(struct replay_marks *rm, uint64_t now_ms,
			  void (*cb)(uint32_t idx, const struct xs_sa_config *cfg, uint64_t mark,
				     void *arg), void *arg);
/* The marks handed out so far are written (and, with sas_saved, every SA
 * record queued before them): raise the ceilings to them. */
void replay_marks_grant(struct replay_marks *rm, bool sas_saved);

#endif
