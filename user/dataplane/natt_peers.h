/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * natt_peers.h - the NAT-T peer pairs the classify program steers UDP
 * fragments for (struct xdpsec_natt_key / _val in xdpsec_common.h), kept
 * in step with the SA table by counting SAs per (pair, port).
 *
 * Counted here, not recomputed from the SA table: SA deletions are reported
 * while the SA table holds its lock (sa_table_flush), so walking it then
 * would deadlock.  Not thread-safe: the daemon's SA changes come from one
 * thread (the control socket's).
 */
#ifndef XDPSEC_NATT_PEERS_H
#define XDPSEC_NATT_PEERS_H

#include <stdbool.h>
#include <stdint.h>
#include "xdpsec_common.h"

struct natt_peers;

struct natt_peers *natt_peers_new(void);
void natt_peers_free(struct natt_peers *t);

/* One more SA of this pair on this port.  *val is the pair's entry after
 * the change.  0, -ENOSPC when the pair already has XDPSEC_NATT_PORTS_MAX
 * other ports or the table is full (nothing changed). */
int natt_peers_add(struct natt_peers *t, const struct xdpsec_natt_key *k, uint16_t port,
		   struct xdpsec_natt_val *val);
/* One SA fewer.  Returns true when the pair still has a port (*val is its
 * entry), false when it is gone (delete it from the map). */
bool natt_peers_del(struct natt_peers *t, const struct xdpsec_natt_key *k, uint16_t port,
		    struct xdpsec_natt_val *val);

#endif
