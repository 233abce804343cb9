/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * spd_maps.h - the XDP half of the inbound SPD: the daemon compiles its
 * `dir in` policies (spd.h) into the classify program's maps
 * (headers/xdpsec_spd.bpf.h), so that plaintext a policy wants protected
 * is dropped before any skb, and reads the program's counts back.
 */
#ifndef XDPSEC_SPD_MAPS_H
#define XDPSEC_SPD_MAPS_H

#include <stdint.h>
#include "spd.h"

struct xdpsecd;

/* Rewrites the maps of every attached classify program when the SPD
 * changed since the last call (spd_generation).  Cheap otherwise. */
/* Finds the programs' SPD maps and keeps their descriptors (at set-up,
 * while the daemon may still look maps up by id); the calls below open
 * them on first use otherwise.  spd_maps_close() before the data plane
 * stops.  spd_maps_open returns the number of SPD maps found. */
int spd_maps_open(struct xdpsecd *d);
void spd_maps_close(void);
void spd_maps_sync(struct xdpsecd *d);
/* The XDP program's refusals, per verdict, summed over programs and CPUs. */
void spd_maps_counts(struct xdpsecd *d, uint64_t out[SPD__MAX]);
void spd_maps_reset_counts(struct xdpsecd *d);

#endif
