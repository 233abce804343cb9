/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * state_file.h - SAs (keys included), replay marks and limits persisted
 * across restarts, kill -9 included.
 *
 * Two files: a snapshot (STATE, JSON, written atomically: temporary file
 * 0600 in the same directory, fsync, rename, fsync of the directory) and a
 * journal (STATE.journal, state_journal.h) of the changes since.  A single
 * `sa add` or `sa del` appends one record to the journal, in one write,
 * before it is answered: cheap whatever the number of SAs, and never lost
 * to kill -9.  A batch (`xdpsecctl -b`, `-c`, SIGHUP) is written once, at
 * its end.  Changes the journal does not describe (limits, flush) write a
 * snapshot, and the journal is folded into a new snapshot on the tick
 * once it outgrows the snapshot.
 *
 * Each SA carries a replay mark, ahead of its window's right edge
 * (replay_marks.h): after a restart the edge resumes there, so no sequence
 * number already delivered is accepted again.
 */
#ifndef XDPSEC_STATE_FILE_H
#define XDPSEC_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "daemon.h"
#include "sa_config.h"

#define STATE_FILE_VERSION 1

/* Before any SA exists: sets d->sp (NULL and 0 when d->state_path is
 * NULL) and guards the SA table's replay edges (replay_marks.h). */
int state_file_open(struct xdpsecd *d, char *err, size_t errlen);
/* After the workers stopped and the last save. */
void state_file_close(struct xdpsecd *d);

/* Restores limits and SAs.  A missing file is not an error (first start). */
int state_file_load(struct xdpsecd *d, char *err, size_t errlen);
/* A whole snapshot now (a new journal generation).  0 or -errno with err;
 * no-op without a state file. */
int state_file_save(struct xdpsecd *d, char *err, size_t errlen);

/* Called by ctl_cmds for every SA added or deleted (also while loading):
 * queue a journal record, reset the SA's replay mark. */
void state_file_sa_added(struct xdpsecd *d, uint32_t idx, const struct xs_sa_config *cfg);
void state_file_sa_deleted(struct xdpsecd *d, uint32_t idx, const struct xs_sa_config *cfg);

/* After a command changed something: makes it durable before the reply
 * (unless d->loading, or d->state_defer: a batch, written at its end by
 * state_file_commit).  A change that queued no record writes a snapshot.
 * Logs failures. */
void state_file_changed(struct xdpsecd *d);
/* Writes whatever is queued: after a change that must not be acknowledged
 * unless it is saved (sa add), and at a batch's end.  0 (also while
 * loading or without a state file), or -errno with the reason in err. */
int state_file_commit(struct xdpsecd *d, char *err, size_t errlen);

/* The workers' replay nudges arrive on this fd (-1 without a state file):
 * call state_file_wake when it is readable. */
int state_file_fd(struct xdpsecd *d);
void state_file_wake(struct xdpsecd *d);
/* Every tick (100 ms): replay marks of idle SAs, a failed write retried,
 * the journal fdatasync'ed, compaction. */
void state_file_tick(struct xdpsecd *d);

#endif
