/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* state_load.h - restoring the state file at start (state_file.c's half). */
#ifndef XDPSEC_STATE_LOAD_H
#define XDPSEC_STATE_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include "daemon.h"

/* Reads the snapshot at path (none: nothing to restore) and the journal
 * at jpath when it is of the snapshot's generation; applies the limits and
 * adds the SAs.  *gen and *bytes: the snapshot's generation and size.
 * 0 or -errno with err ("PATH: ..."). */
int state_load(struct xdpsecd *d, const char *path, const char *jpath, uint64_t *gen,
	       size_t *bytes, char *err, size_t errlen);

#endif
