/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_table.h - inbound security associations, keyed by (outer destination
 * address, SPI, protocol), IPv4 and IPv6.
 *
 * Concurrency: read-mostly.  Worker threads look SAs up through their
 * struct esp_ctx (esp.h) without taking a lock (RCU-like: hash chains are
 * published with release stores; a delete unlinks, waits until every
 * worker has left the read side it was in, then wipes the keys with
 * explicit_bzero and frees).  The functions below are for the control
 * thread; they serialise on one mutex and may be called from any thread.
 * Per-SA replay window and counters are updated under a per-SA spinlock.
 */
#ifndef XDPSEC_SA_TABLE_H
#define XDPSEC_SA_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "sa_config.h"   /* struct xs_sa_config, struct xs_addr */
#include "crypto.h"      /* enum crypto_backend, crypto_backend_name */

struct sa_stats {
	uint64_t packets;        /* delivered (authenticated and well formed)   */
	uint64_t bytes;          /* plaintext bytes delivered                   */
	uint64_t auth_fail;      /* ICV mismatch                                */
	uint64_t replay;         /* replayed, left of the window, or ESN unresolvable */
	uint64_t pad_err;        /* bad padding / pad length                   */
	uint64_t tfc_dummy;      /* next header 59 (dummy packets), authentic   */
	uint64_t bad_inner;      /* tunnel inner packet malformed / bad next header */
	uint64_t trunc;          /* too short for this SA's IV + ICV + trailer  */
	uint64_t encap;          /* arrived with the wrong (or no) UDP encapsulation */
	uint64_t replay_top;     /* right edge of the window (highest authentic seq) */
};

struct sa_table;

#define SA_INDEX_NONE 0xffffffffu

struct sa_table *sa_table_new(uint32_t max_sas, enum crypto_backend be);
void sa_table_free(struct sa_table *t);

/* 0, -EEXIST, -EINVAL (err says which field and why), -ENOSPC.
 * replay_window 1..31 is rounded up to 32; above 4096 is -EINVAL. */
int sa_table_add(struct sa_table *t, const struct xs_sa_config *cfg, uint32_t *index_out,
		 char *err, size_t errlen);
/* An SA is named by (dst, spi, proto), as the kernel keys SAs; src, when
 * not NULL, must be the SA's own src as well (the kernel does not check it
 * for ESP, but a wrong src must not delete someone else's SA).
 * 0, -ENOENT (no SA with dst, spi, proto) or -EADDRNOTAVAIL (there is
 * one, with another src).  removed (keys included) and index_out may be
 * NULL. */
int sa_table_del(struct sa_table *t, const struct xs_addr *dst, uint32_t spi, uint8_t proto,
		 const struct xs_addr *src, struct xs_sa_config *removed, uint32_t *index_out);
/* Same naming and return values; NULL outs ok. */
int sa_table_get(struct sa_table *t, const struct xs_addr *dst, uint32_t spi, uint8_t proto,
		 const struct xs_addr *src, struct xs_sa_config *cfg_out, struct sa_stats *st_out,
		 uint32_t *index_out);
/* cb returns non-zero to stop.  Called with the table mutex held: cb must
 * not call back into the table. */
void sa_table_walk(struct sa_table *t,
		   int (*cb)(uint32_t index, const struct xs_sa_config *cfg,
			     const struct sa_stats *st, void *arg),
		   void *arg);
void sa_table_flush(struct sa_table *t,
		    void (*on_del)(uint32_t index, const struct xs_sa_config *cfg, void *arg),
		    void *arg);
void sa_table_reset_stats(struct sa_table *t);
/* The SA at index reached a hard lifetime limit that the ESP engine does
 * not count itself (time, sa_life.c): from now on its packets are refused
 * before decryption (esp/state_expired).  Byte and packet limits are
 * enforced by the engine per packet.  0 or -ENOENT. */
int sa_table_expire(struct sa_table *t, uint32_t index);
uint32_t sa_table_count(struct sa_table *t);
enum crypto_backend sa_table_backend(struct sa_table *t);
/* Which backend serves this SA (ipsec-mb SAs may fall back to OpenSSL). */
int sa_table_sa_backend(struct sa_table *t, const struct xs_addr *dst, uint32_t spi,
			uint8_t proto, enum crypto_backend *be_out);
/* Restore (e.g. after a restart) or set the replay state: right edge = top,
 * bitmap cleared (everything at or left of top counts as seen).  0/-ENOENT. */
int sa_table_set_replay_top(struct sa_table *t, const struct xs_addr *dst, uint32_t spi,
			    uint8_t proto, uint64_t top);

#endif
