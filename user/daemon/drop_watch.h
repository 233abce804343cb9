/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * drop_watch.h - drops that no code path reports one at a time, made
 * visible in `xdpsecctl monitor` by sampling counters:
 *
 *   bpf_drop   a drop counter of the classify or decrypt program moved (the
 *              XDP programs have no event channel of their own, and one
 *              ring-buffer record per dropped packet would cost the XDP
 *              path what the drop was meant to save);
 *   limit_hit  the reassembly engine evicted datagrams to stay within
 *              mem-cap, max-datagrams or a source's share (the limit falls
 *              on an older datagram, not on the fragment being fed, so the
 *              pipeline cannot see it).
 *
 * The control thread calls drop_watch_tick from its periodic tick; once a
 * second it posts one event per counter that grew, with the increase.  The
 * events are rate-limited per type like every other (events.h).
 */
#ifndef XDPSEC_DROP_WATCH_H
#define XDPSEC_DROP_WATCH_H

#include <stdint.h>
#include "daemon.h"

#define DROP_WATCH_INTERVAL_MS 1000
#define DROP_WATCH_MAX 256           /* counters looked at per sample */

struct drop_watch {
	uint64_t last_ms;
	unsigned n;                          /* counters seen so far */
	const char *name[DROP_WATCH_MAX];    /* static strings: compared by address */
	uint64_t prev[DROP_WATCH_MAX];
};

/* now_ms: CLOCK_MONOTONIC milliseconds.  Cheap when the interval has not
 * passed.  The first sample of a counter only records it. */
void drop_watch_tick(struct drop_watch *w, struct xdpsecd *d, uint64_t now_ms);

#endif
