/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * esp_sa.h - internals shared by sa_table.c and esp.c only (not an API):
 * the SA object, the lock-free lookup and the read-side registration.
 */
#ifndef XDPSEC_ESP_SA_H
#define XDPSEC_ESP_SA_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include "sa_table.h"
#include "crypto.h"
#include "replay.h"
#include "esp.h"

struct sa_key {
	uint8_t daddr[16];       /* IPv4 in the first 4 bytes, rest zero */
	uint32_t spi;            /* host order */
	uint8_t family, proto;
	uint16_t pad0;
};

struct sa {
	_Atomic(struct sa *) next;          /* hash chain (RCU-published)   */
	struct sa_key key;
	uint32_t index;
	uint8_t mode, esn, encap;
	uint16_t encap_dport;
	struct crypto_params cp;
	struct crypto_sa *crypto;
	struct xs_sa_config cfg;            /* as added (keys wiped on delete) */
	/* Mutable state on its own cache lines: written by workers. */
	alignas(64) pthread_spinlock_t lock;/* replay update + stats        */
	struct sa_stats st;                 /* under lock (auth_fail etc. atomic) */
	alignas(64) struct replay replay;   /* flexible bitmap: keep last   */
};

/* A worker's read-side slot: seq != 0 while inside esp_input. */
struct sa_reader {
	alignas(64) _Atomic uint64_t seq;
	/* single writer (its worker); cnt[ESP_DROP_NONE] = delivered */
	_Atomic uint64_t cnt[ESP_DROP__MAX];
};

struct sa_table {
	pthread_mutex_t mu;                 /* control-thread operations    */
	uint32_t max_sas, nbuckets, count;
	enum crypto_backend be;
	_Atomic(struct sa *) *buckets;
	struct sa **slots;                  /* index -> SA                  */
	_Atomic uint64_t gp;                /* grace-period counter         */
	struct sa_reader *readers[ESP_MAX_CTX]; /* NULL = free slot       */
	uint64_t retired[ESP_DROP__MAX];    /* counts of freed contexts    */
};

uint32_t sa_key_hash(const struct sa_key *k);
void sa_key_make(struct sa_key *k, const struct xs_addr *dst, uint32_t spi, uint8_t proto);
/* Lock-free lookup, for readers inside their read section. */
struct sa *sa_table_lookup(struct sa_table *t, const struct sa_key *k);
/* Read side: enter before lookup, leave when done with the SA. */
static inline void sa_read_enter(struct sa_table *t, struct sa_reader *r)
{
	atomic_store_explicit(&r->seq, atomic_load_explicit(&t->gp, memory_order_relaxed),
			      memory_order_relaxed);
	/* full fence: the writer's scan sees us, or we see its unlink */
	atomic_thread_fence(memory_order_seq_cst);
}
static inline void sa_read_leave(struct sa_reader *r)
{
	atomic_store_explicit(&r->seq, 0, memory_order_release);
}
int sa_table_reader_add(struct sa_table *t, struct sa_reader *r);
void sa_table_reader_del(struct sa_table *t, struct sa_reader *r);

#endif
