/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * state_journal.h - the state file's journal: STATE.journal, one JSON
 * record per line, appended with one write(2) per commit.
 *
 *   {"journal":1,"gen":G}                                first line
 *   {"op":"add","sa":{<SA, keys included>},"mark":M}     sa add
 *   {"op":"del","sa":{"dst":..,"spi":..,"proto":"esp"}}  sa del
 *   {"op":"mark","sa":{<id>},"mark":M}                   replay mark
 *
 * A journal belongs to the snapshot of the same generation (the snapshot's
 * "gen"); one of another generation is stale (the daemon died between
 * writing a snapshot and starting its journal) and is ignored.  Records
 * reach the file before the command is answered, so they survive kill -9;
 * the file is fdatasync'ed on the daemon's tick (every 100 ms), so a power
 * loss may lose the last tenth of a second of changes.  A torn last line
 * (power loss) is ignored with a warning; a malformed line elsewhere is an
 * error.
 */
#ifndef XDPSEC_STATE_JOURNAL_H
#define XDPSEC_STATE_JOURNAL_H

#include <aio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct journal {
	int fd;                  /* O_APPEND; -1 when none is open          */
	uint64_t gen;
	size_t bytes;            /* file size                               */
	bool dirty;              /* written since the last fdatasync        */
	bool syncing;            /* sync_cb in flight                       */
	struct aiocb sync_cb;    /* fdatasync off the main thread (aio_fsync) */
	char path[4096];         /* where it was opened, and what it was then: */
	uint64_t dev, ino;       /* a journal removed or replaced under us is
				    an error, not a silent write to nowhere */
};

/* Replaces path with a journal of generation gen holding only its header
 * (temporary file, fsync, rename) and opens it for appending.  0 or -errno
 * with err; on error j is closed. */
int journal_start(struct journal *j, const char *path, uint64_t gen, char *err, size_t errlen);
/* Appends len bytes (whole lines) in one write.  0 or -errno with err;
 * -ESTALE when the path no longer names the open file (its directory was
 * removed or replaced): nothing written there would survive. */
int journal_append(struct journal *j, const char *buf, size_t len, char *err, size_t errlen);
/* Starts an fdatasync (aio_fsync O_DSYNC: the main thread does not wait
 * for the disk) when something was written since the last one started,
 * unless one is still running. */
void journal_sync(struct journal *j);
void journal_close(struct journal *j);

/* Calls cb for every record of the journal at path when it is of
 * generation gen (cb returns non-zero to stop: that value is returned).
 * A missing file, or one of another generation, has no records (0;
 * *stale tells the latter).  -errno / -EINVAL with err otherwise. */
int journal_replay(const char *path, uint64_t gen, bool *stale,
		   int (*cb)(json_object *rec, void *arg), void *arg, char *err, size_t errlen);

/* Overwrites every "key" string inside o (key material) before it is freed. */
void journal_wipe_keys(json_object *o);

#endif
