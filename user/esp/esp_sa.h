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
#include "replay_arrived.h"
#include "esp.h"

/* Lookup key.  The address is two words (its bytes as in memory; IPv4 in
 * the low 4 bytes of a, the rest zero) so that esp.c builds a key with
 * whole-word stores and the lookup reads it back with whole-word loads
 * (a byte-wise build read back as words stalls store forwarding). */
struct sa_key {
	uint64_t a, b;
	uint32_t spi;            /* host order */
	uint32_t fp;             /* SA_KEY_FP(family, proto), one word too  */
};
#define SA_KEY_FP(family, proto) ((uint32_t)(family) << 8 | (uint8_t)(proto))

/* The per-SA lock: a test-and-test-and-set spinlock, inline (taken once
 * per delivered packet; pthread_spin_lock/unlock are two calls into libc).
 * Held for a few dozen instructions, never across crypto. */
typedef struct { _Atomic int v; } sa_lock_t;

static inline void sa_lock_init(sa_lock_t *l)
{
	atomic_init(&l->v, 0);
}

static inline void sa_lock(sa_lock_t *l)
{
	while (atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
		while (atomic_load_explicit(&l->v, memory_order_relaxed))
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#else
			;
#endif
}

static inline void sa_unlock(sa_lock_t *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_release);
}

struct sa {
	_Atomic(struct sa *) next;          /* hash chain (RCU-published)   */
	struct sa_key key;
	uint32_t index;
	uint8_t mode, esn, encap;
	uint16_t encap_dport;
	/* Hard lifetime (cfg.lft, 0 = none), checked before decrypting as
	 * the kernel's xfrm_state_check_expire does.  expired is set (never
	 * cleared) by the packet that reaches a limit, or by
	 * sa_table_expire (time limits, sa_life.c); atomic byte. */
	uint8_t expired;
	uint64_t hard_packets, hard_bytes;
	struct crypto_params cp;
	struct crypto_sa *crypto;
	struct xs_sa_config cfg;            /* as added (keys wiped on delete) */
	/* Mutable state on its own cache lines: written by workers. */
	alignas(64) sa_lock_t lock;         /* replay update + stats        */
	struct sa_stats st;                 /* under lock (auth_fail etc. atomic) */
	uint64_t life_packets, life_bytes;  /* under lock; what the hard limits
					       count (st is zeroed by stats --reset) */
	/* Replay edge persistence (replay_marks.h), when the table is guarded:
	 * a packet is accepted only up to replay_ceiling, the edge already
	 * saved; passing replay_nudge asks the main thread for a new one.
	 * Under lock; zero (nothing accepted) until the first ceiling. */
	uint64_t replay_ceiling, replay_nudge;
	bool replay_nudged;
	/* Sequence numbers of reassembled datagrams the window took when
	 * their last fragment arrived (replay_arrived.h).  Under lock. */
	struct replay_arrived arrived;
	alignas(64) struct replay replay;   /* flexible bitmap: keep last   */
};

/* A worker's read-side slot: seq != 0 while inside esp_input. */
struct sa_reader {
	alignas(64) _Atomic uint64_t seq;
	/* single writer (its worker); cnt[ESP_DROP_NONE] = delivered, then
	 * the reordering figures from ESP_CNT_RO (esp.h) */
	_Atomic uint64_t cnt[ESP_CNT__MAX];
	_Atomic uint64_t ro_max;            /* farthest below the edge (gauge) */
};

struct sa_table {
	pthread_mutex_t mu;                 /* control-thread operations    */
	uint32_t max_sas, nbuckets, count;
	enum crypto_backend be;
	bool replay_guard;                  /* replay_ceiling applies (replay_marks.c) */
	int replay_wake_fd;                 /* eventfd: a nudge was passed  */
	_Atomic(struct sa *) *buckets;
	struct sa **slots;                  /* index -> SA                  */
	_Atomic uint64_t gp;                /* grace-period counter         */
	struct sa_reader *readers[ESP_MAX_CTX]; /* NULL = free slot       */
	uint64_t retired[ESP_CNT__MAX];     /* counts of freed contexts    */
	uint64_t cnt_base[ESP_CNT__MAX];    /* sums at the last `stats --reset` */
};

void sa_key_make(struct sa_key *k, const struct xs_addr *dst, uint32_t spi, uint8_t proto);

static inline uint32_t sa_key_hash(const struct sa_key *k)
{
	/* The SPI is chosen by us (random-ish) so it carries most entropy;
	 * fold the address in so equal SPIs on different peers spread. */
	uint64_t h = k->spi * 0x9e3779b97f4a7c15ull;

	h ^= (k->a ^ (k->b * 31) ^ k->fp) * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static inline int sa_key_eq(const struct sa_key *x, const struct sa_key *y)
{
	return x->spi == y->spi && x->a == y->a && x->b == y->b && x->fp == y->fp;
}

/* Lock-free lookup, for readers inside their read section (and for the
 * control thread under t->mu). */
static inline struct sa *sa_table_lookup(struct sa_table *t, const struct sa_key *k)
{
	struct sa *s = atomic_load_explicit(&t->buckets[sa_key_hash(k) & (t->nbuckets - 1)],
					    memory_order_acquire);

	for (; s; s = atomic_load_explicit(&s->next, memory_order_acquire))
		if (sa_key_eq(&s->key, k))
			return s;
	return NULL;
}
/* Read side: enter before lookup, leave when done with the SA.  One
 * section may cover a whole burst of packets (esp_input_burst). */
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
