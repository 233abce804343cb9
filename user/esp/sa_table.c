// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sa_table.c - the SA table: a fixed array of hash buckets whose chains are
 * read without locks by the workers (esp.c) and changed by the control
 * thread under t->mu.  Deleting unlinks the SA, waits for a grace period
 * (every registered reader has left the read section it was in), then
 * wipes keys and frees: a worker never sees freed memory.
 */
#include "esp_sa.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "log.h"

void sa_key_make(struct sa_key *k, const struct xs_addr *dst, uint32_t spi, uint8_t proto)
{
	uint8_t d[16] = { 0 };

	memcpy(d, dst->bytes, dst->family == AF_INET ? 4 : 16);
	memset(k, 0, sizeof(*k));
	memcpy(&k->a, d, 8);
	memcpy(&k->b, d + 8, 8);
	k->spi = spi;
	k->fp = SA_KEY_FP(dst->family, proto);
}

struct sa_table *sa_table_new(uint32_t max_sas, enum crypto_backend be)
{
	struct sa_table *t;
	uint32_t nb = 16;

	if (max_sas == 0 || max_sas > (1u << 24))
		return NULL;
	while (nb < 2 * max_sas)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	t->slots = calloc(max_sas, sizeof(*t->slots));
	if (!t->buckets || !t->slots) {
		free(t->buckets);
		free(t->slots);
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->max_sas = max_sas;
	t->nbuckets = nb;
	t->be = crypto_backend_resolve(be);
	atomic_init(&t->gp, 1);
	return t;
}

/* Wait until every reader that might hold a pointer unlinked before this
 * call has left its read section. */
static void synchronize(struct sa_table *t)
{
	uint64_t gp = atomic_fetch_add(&t->gp, 1) + 1;
	int i;

	atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < ESP_MAX_CTX; i++) {
		struct sa_reader *r = t->readers[i];
		uint64_t s;

		if (!r)
			continue;
		while ((s = atomic_load_explicit(&r->seq, memory_order_acquire)) != 0 && s < gp)
			sched_yield();
	}
}

static void sa_destroy(struct sa *s)
{
	if (!s)
		return;
	crypto_sa_free(s->crypto);
	explicit_bzero(&s->cfg, sizeof(s->cfg));
	free(s);
}

void sa_table_free(struct sa_table *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 0; i < t->max_sas; i++)
		sa_destroy(t->slots[i]);
	pthread_mutex_destroy(&t->mu);
	free(t->buckets);
	free(t->slots);
	free(t);
}

int sa_table_add(struct sa_table *t, const struct xs_sa_config *cfg, uint32_t *index_out,
		 char *err, size_t errlen)
{
	struct crypto_params cp;
	struct sa_key k;
	struct sa *s;
	uint32_t window, i, b;
	int rc;

	if (err && errlen)
		err[0] = 0;
	rc = crypto_check_config(cfg, &cp, err, errlen);   /* sa_config_validate */
	if (rc)
		return rc;
	window = cfg->replay_window && cfg->replay_window < REPLAY_MIN_WINDOW ? REPLAY_MIN_WINDOW
									      : cfg->replay_window;
	sa_key_make(&k, &cfg->dst, cfg->spi, cfg->proto);

	pthread_mutex_lock(&t->mu);
	if (sa_table_lookup(t, &k)) {
		rc = -EEXIST;
		goto out;
	}
	for (i = 0; i < t->max_sas && t->slots[i]; i++)
		;
	if (i == t->max_sas) {
		rc = -ENOSPC;
		goto out;
	}
	s = aligned_alloc(64, (offsetof(struct sa, replay) + replay_size(window) + 63) & ~(size_t)63);
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	memset(s, 0, offsetof(struct sa, replay));
	s->crypto = crypto_sa_new(t->be, cfg, err, errlen);
	if (!s->crypto) {
		free(s);
		rc = -EINVAL;
		goto out;
	}
	s->key = k;
	s->index = i;
	s->mode = cfg->mode;
	s->esn = cfg->esn;
	s->encap = cfg->encap;
	s->encap_dport = cfg->encap_dport;
	s->hard_packets = cfg->lft.hard_packets;
	s->hard_bytes = cfg->lft.hard_bytes;
	s->cp = cp;
	s->cfg = *cfg;
	s->cfg.replay_window = window;
	sa_lock_init(&s->lock);
	replay_init(&s->replay, window);

	b = sa_key_hash(&k) & (t->nbuckets - 1);
	atomic_store_explicit(&s->next, atomic_load_explicit(&t->buckets[b], memory_order_relaxed),
			      memory_order_relaxed);
	/* release: a reader that finds s sees it fully initialised */
	atomic_store_explicit(&t->buckets[b], s, memory_order_release);
	t->slots[i] = s;
	t->count++;
	if (index_out)
		*index_out = i;
	rc = 0;
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* Caller holds t->mu.  Unlinks s from its chain (readers may still hold it). */
static void unlink_sa(struct sa_table *t, struct sa *s)
{
	_Atomic(struct sa *) *pp = &t->buckets[sa_key_hash(&s->key) & (t->nbuckets - 1)];
	struct sa *cur;

	while ((cur = atomic_load_explicit(pp, memory_order_relaxed)) != NULL) {
		if (cur == s) {
			atomic_store_explicit(pp, atomic_load_explicit(&s->next, memory_order_relaxed),
					      memory_order_release);
			break;
		}
		pp = &cur->next;
	}
	t->slots[s->index] = NULL;
	t->count--;
}

static void snapshot(struct sa *s, struct sa_stats *st)
{
	sa_lock(&s->lock);
	*st = s->st;
	st->auth_fail = __atomic_load_n(&s->st.auth_fail, __ATOMIC_RELAXED);
	st->trunc = __atomic_load_n(&s->st.trunc, __ATOMIC_RELAXED);
	st->encap = __atomic_load_n(&s->st.encap, __ATOMIC_RELAXED);
	st->replay_top = s->replay.top;
	sa_unlock(&s->lock);
}

/* Does src (NULL: not given) name s's own src? */
static int src_matches(const struct sa *s, const struct xs_addr *src)
{
	if (!src)
		return 1;
	return s->cfg.src.family == src->family &&
	       !memcmp(s->cfg.src.bytes, src->bytes, src->family == AF_INET ? 4 : 16);
}

int sa_table_del(struct sa_table *t, const struct xs_addr *dst, uint32_t spi, uint8_t proto,
		 const struct xs_addr *src, struct xs_sa_config *removed, uint32_t *index_out)
{
	struct sa_key k;
	struct sa *s;

	sa_key_make(&k, dst, spi, proto);
	pthread_mutex_lock(&t->mu);
	s = sa_table_lookup(t, &k);
	if (!s || !src_matches(s, src)) {
		pthread_mutex_unlock(&t->mu);
		return s ? -EADDRNOTAVAIL : -ENOENT;
	}
	unlink_sa(t, s);
	synchronize(t);
	pthread_mutex_unlock(&t->mu);
	if (removed)
		*removed = s->cfg;
	if (index_out)
		*index_out = s->index;
	sa_destroy(s);
	return 0;
}

int sa_table_get(struct sa_table *t, const struct xs_addr *dst, uint32_t spi, uint8_t proto,
		 const struct xs_addr *src, struct xs_sa_config *cfg_out, struct sa_stats *st_out,
		 uint32_t *index_out)
{
	struct sa_key k;
	struct sa *s;
	int rc;

	sa_key_make(&k, dst, spi, proto);
	pthread_mutex_lock(&t->mu);
	s = sa_table_lookup(t, &k);
	rc = !s ? -ENOENT : !src_matches(s, src) ? -EADDRNOTAVAIL : 0;
	if (!rc) {
		if (cfg_out)
			*cfg_out = s->cfg;
		if (st_out)
			snapshot(s, st_out);
		if (index_out)
			*index_out = s->index;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int sa_table_sa_backend(struct sa_table *t, const struct xs_addr *dst, uint32_t spi,
			uint8_t proto, enum crypto_backend *be_out)
{
	struct sa_key k;
	struct sa *s;

	sa_key_make(&k, dst, spi, proto);
	pthread_mutex_lock(&t->mu);
	s = sa_table_lookup(t, &k);
	if (s && be_out)
		*be_out = crypto_sa_backend(s->crypto);
	pthread_mutex_unlock(&t->mu);
	return s ? 0 : -ENOENT;
}

int sa_table_set_replay_top(struct sa_table *t, const struct xs_addr *dst, uint32_t spi,
			    uint8_t proto, uint64_t top)
{
	struct sa_key k;
	struct sa *s;

	sa_key_make(&k, dst, spi, proto);
	pthread_mutex_lock(&t->mu);
	s = sa_table_lookup(t, &k);
	if (s) {
		sa_lock(&s->lock);
		replay_set_top(&s->replay, top);
		replay_arrived_clear(&s->arrived);
		sa_unlock(&s->lock);
	}
	pthread_mutex_unlock(&t->mu);
	return s ? 0 : -ENOENT;
}

int sa_table_expire(struct sa_table *t, uint32_t index)
{
	struct sa *s;

	pthread_mutex_lock(&t->mu);
	s = index < t->max_sas ? t->slots[index] : NULL;
	if (s)
		__atomic_store_n(&s->expired, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->mu);
	return s ? 0 : -ENOENT;
}

void sa_table_walk(struct sa_table *t,
		   int (*cb)(uint32_t index, const struct xs_sa_config *cfg,
			     const struct sa_stats *st, void *arg),
		   void *arg)
{
	struct sa_stats st;
	uint32_t i;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max_sas; i++) {
		if (!t->slots[i])
			continue;
		snapshot(t->slots[i], &st);
		if (cb(i, &t->slots[i]->cfg, &st, arg))
			break;
	}
	pthread_mutex_unlock(&t->mu);
}

void sa_table_flush(struct sa_table *t,
		    void (*on_del)(uint32_t index, const struct xs_sa_config *cfg, void *arg),
		    void *arg)
{
	struct sa **gone;
	uint32_t i, n = 0;

	pthread_mutex_lock(&t->mu);
	gone = calloc(t->count ? t->count : 1, sizeof(*gone));
	for (i = 0; i < t->max_sas; i++) {
		struct sa *s = t->slots[i];

		if (!s)
			continue;
		unlink_sa(t, s);
		if (gone)
			gone[n++] = s;
		else {          /* no memory for the batch: one grace period each */
			synchronize(t);
			if (on_del)
				on_del(s->index, &s->cfg, arg);
			sa_destroy(s);
		}
	}
	if (gone) {
		synchronize(t);
		for (i = 0; i < n; i++) {
			if (on_del)
				on_del(gone[i]->index, &gone[i]->cfg, arg);
			sa_destroy(gone[i]);
		}
		free(gone);
	}
	pthread_mutex_unlock(&t->mu);
}

void sa_table_reset_stats(struct sa_table *t)
{
	uint32_t i;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max_sas; i++) {
		struct sa *s = t->slots[i];

		if (!s)
			continue;
		sa_lock(&s->lock);
		memset(&s->st, 0, sizeof(s->st));
		sa_unlock(&s->lock);
	}
	pthread_mutex_unlock(&t->mu);
}

uint32_t sa_table_count(struct sa_table *t)
{
	uint32_t n;

	pthread_mutex_lock(&t->mu);
	n = t->count;
	pthread_mutex_unlock(&t->mu);
	return n;
}

enum crypto_backend sa_table_backend(struct sa_table *t)
{
	return t->be;
}

int sa_table_reader_add(struct sa_table *t, struct sa_reader *r)
{
	int i, rc = -ENOSPC;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < ESP_MAX_CTX; i++)
		if (!t->readers[i]) {
			t->readers[i] = r;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void sa_table_reader_del(struct sa_table *t, struct sa_reader *r)
{
	int i, j;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < ESP_MAX_CTX; i++)
		if (t->readers[i] == r) {
			t->readers[i] = NULL;
			for (j = 0; j < ESP_CNT__MAX; j++)
				t->retired[j] += atomic_load(&r->cnt[j]);
		}
	pthread_mutex_unlock(&t->mu);
}
