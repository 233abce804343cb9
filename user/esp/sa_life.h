/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_life.h - soft and hard lifetimes of hand-keyed SAs (`limit ...` on
 * `sa add`): checked once a second from the control loop.  Soft: an
 * `expire` event.  Hard: an `expire` event, and the SA's packets are
 * refused from then on (the SA stays listed until deleted).  The ESP
 * engine enforces hard byte and packet limits itself, per packet, before
 * decrypting (esp.c, esp/state_expired), for every SA, mirrored ones
 * included; hard time limits are this tick's (one second granularity),
 * which marks the SA expired in the table (sa_table_expire) and in the SPD
 * (spd/StateExpired: a packet decrypted just before the mark).  Mirrored
 * SAs are otherwise left to the kernel, which expires them by time itself
 * and by bytes and packets when xfrm_mirror.c asks.
 */
#ifndef XDPSEC_SA_LIFE_H
#define XDPSEC_SA_LIFE_H

#include <stdint.h>

struct xdpsecd;

void sa_life_tick(struct xdpsecd *d, uint64_t now_ms);

#endif
