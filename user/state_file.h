/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * state_file.h - SAs (keys included) and limits persisted across restarts.
 *
 * JSON, written atomically (temporary file 0600 in the same directory,
 * fsync, rename, fsync of the directory), so a crash at any moment leaves
 * either the old or the new state, never a torn file.  Each SA also records
 * its replay window's right edge so a restart does not reopen the window
 * to replays of packets already accepted.
 */
#ifndef XDPSEC_STATE_FILE_H
#define XDPSEC_STATE_FILE_H

#include <stddef.h>
#include "daemon.h"

#define STATE_FILE_VERSION 1

/* 0 or -errno with err.  No-op (0) when d->state_path is NULL. */
int state_file_save(struct xdpsecd *d, char *err, size_t errlen);
/* Restores limits and SAs.  A missing file is not an error (first start). */
int state_file_load(struct xdpsecd *d, char *err, size_t errlen);
/* After a run-time change: saves unless d->loading; logs failures. */
void state_file_changed(struct xdpsecd *d);
/* The same, for a change that must not be acknowledged unless it is saved
 * (sa add): 0 (also when d->loading or no state file), or -errno with the
 * reason in err. */
int state_file_commit(struct xdpsecd *d, char *err, size_t errlen);
/* Periodic: saves when a replay window moved since the last save. */
void state_file_tick(struct xdpsecd *d);

#endif
