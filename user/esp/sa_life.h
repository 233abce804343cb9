/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_life.h - soft and hard lifetimes of hand-keyed SAs (`limit ...` on
 * `sa add`): checked once a second from the control loop.  Soft: an
 * `expire` event.  Hard: an `expire` event, and the SA's packets are
 * refused from then on, counted spd/StateExpired (the SA stays listed
 * until deleted).  Mirrored SAs are left to the kernel, which expires them
 * by time itself and by bytes and packets when xfrm_mirror.c asks.
 * Granularity: one second, so a byte or packet limit may be overshot by
 * what arrives within that second.
 */
#ifndef XDPSEC_SA_LIFE_H
#define XDPSEC_SA_LIFE_H

#include <stdint.h>

struct xdpsecd;

void sa_life_tick(struct xdpsecd *d, uint64_t now_ms);

#endif
