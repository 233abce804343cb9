// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * events.c - rate-limited event ring (see events.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "events.h"

#define EVENTS_TYPES 32

/* A type's token bucket.  tokens and last_ns change under the lock only.
 * A type out of tokens sets quiet_until_ns, the moment its next token is
 * due: until then events_post refuses the event without the lock (one
 * clock read, one compare), so a flood of drops posted by the workers
 * costs them no lock and no formatting. */
struct bucket {
	char type[24];             /* written once, before nbuckets counts it */
	double tokens;
	uint64_t last_ns;
	_Atomic uint64_t quiet_until_ns;
	_Atomic uint64_t suppressed;   /* since the last event that got through */
};

struct events {
	pthread_mutex_t lock;
	int efd;
	struct event ring[EVENTS_RING];
	unsigned head, count;      /* oldest at head */
	struct bucket buckets[EVENTS_TYPES];
	_Atomic unsigned nbuckets;
	uint64_t lost;
	_Atomic uint64_t suppressed_total;
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct events *events_new(void)
{
	struct events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ev->efd < 0) {
		free(ev);
		return NULL;
	}
	pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	close(ev->efd);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

int events_fd(const struct events *ev)
{
	return ev->efd;
}

/* Bucket of a type, without the lock: buckets are only ever appended,
 * their type written before nbuckets is raised.  NULL if not there yet. */
static struct bucket *bucket_find(struct events *ev, const char *type)
{
	unsigned n = atomic_load_explicit(&ev->nbuckets, memory_order_acquire);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(ev->buckets[i].type, type))
			return &ev->buckets[i];
	return NULL;
}

/* Bucket of a type, under the lock; unknown types beyond the table share
 * the last slot. */
static struct bucket *bucket_of(struct events *ev, const char *type, uint64_t now)
{
	struct bucket *b = bucket_find(ev, type);
	unsigned n = atomic_load_explicit(&ev->nbuckets, memory_order_relaxed);

	if (b)
		return b;
	if (n == EVENTS_TYPES)
		return &ev->buckets[EVENTS_TYPES - 1];
	b = &ev->buckets[n];
	snprintf(b->type, sizeof(b->type), "%s", type);
	b->tokens = EVENTS_BURST;
	b->last_ns = now;
	atomic_store_explicit(&ev->nbuckets, n + 1, memory_order_release);
	return b;
}

static void suppress(struct events *ev, struct bucket *b)
{
	atomic_fetch_add_explicit(&b->suppressed, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ev->suppressed_total, 1, memory_order_relaxed);
}

/* Admits one event of TYPE: returns its ring slot with the lock held
 * (type, time and suppressed filled in), or NULL when it is rate-limited
 * or the ring is full (the lock is not held then). */
static struct event *reserve(struct events *ev, const char *type)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	struct bucket *b = bucket_find(ev, type);
	struct event *e;

	if (b && now < atomic_load_explicit(&b->quiet_until_ns, memory_order_relaxed)) {
		suppress(ev, b);
		return NULL;
	}
	pthread_mutex_lock(&ev->lock);
	b = bucket_of(ev, type, now);
	if (now > b->last_ns) {
		b->tokens += (double)(now - b->last_ns) * EVENTS_RATE / 1e9;
		b->last_ns = now;
	}
	if (b->tokens > EVENTS_BURST)
		b->tokens = EVENTS_BURST;
	if (b->tokens < 1.0) {
		atomic_store_explicit(&b->quiet_until_ns,
				      now + (uint64_t)((1.0 - b->tokens) * 1e9 / EVENTS_RATE) + 1,
				      memory_order_relaxed);
		suppress(ev, b);
		pthread_mutex_unlock(&ev->lock);
		return NULL;
	}
	b->tokens -= 1.0;
	if (ev->count == EVENTS_RING) {
		/* control thread is behind: keep the older events, count the loss */
		ev->lost++;
		pthread_mutex_unlock(&ev->lock);
		return NULL;
	}
	e = &ev->ring[(ev->head + ev->count++) % EVENTS_RING];
	memset(e, 0, sizeof(*e));
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->time_ms = now_ns(CLOCK_REALTIME) / 1000000u;
	e->suppressed = atomic_exchange_explicit(&b->suppressed, 0, memory_order_relaxed);
	return e;
}

/* Releases the lock reserve() took and wakes the control thread. */
static void commit(struct events *ev)
{
	uint64_t one = 1;

	pthread_mutex_unlock(&ev->lock);
	/* EAGAIN (counter saturated) is harmless */
	if (write(ev->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

void events_post(struct events *ev, const char *type, const char *fmt, ...)
{
	struct event *e;
	va_list ap;

	if (!ev || !(e = reserve(ev, type)))
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	commit(ev);
}

/* Source and destination of an IPv4 or IPv6 header, as text. */
static void peer_addrs(const uint8_t *ip, size_t len, struct event *e)
{
	if (!ip || len < 1)
		return;
	if ((ip[0] >> 4) == 4 && len >= 20) {
		inet_ntop(AF_INET, ip + 12, e->src, sizeof(e->src));
		inet_ntop(AF_INET, ip + 16, e->dst, sizeof(e->dst));
	} else if ((ip[0] >> 4) == 6 && len >= 40) {
		inet_ntop(AF_INET6, ip + 8, e->src, sizeof(e->src));
		inet_ntop(AF_INET6, ip + 24, e->dst, sizeof(e->dst));
	}
}

void events_post_ip(struct events *ev, const char *type, const void *ip, size_t len,
		    const char *fmt, ...)
{
	struct event *e;
	va_list ap;

	if (!ev || !(e = reserve(ev, type)))
		return;
	peer_addrs(ip, len, e);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	commit(ev);
}

void events_post_peer(struct events *ev, const char *type, const char *src, const char *dst,
		      const char *fmt, ...)
{
	struct event *e;
	va_list ap;

	if (!ev || !(e = reserve(ev, type)))
		return;
	snprintf(e->src, sizeof(e->src), "%s", src ? src : "");
	snprintf(e->dst, sizeof(e->dst), "%s", dst ? dst : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	commit(ev);
}

size_t events_drain(struct events *ev, void (*cb)(const struct event *e, void *arg),
		    void *arg)
{
	struct event batch[64];
	uint64_t v;
	size_t total = 0;
	unsigned n;

	if (read(ev->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	do {
		/* copy out under the lock, call back without it */
		pthread_mutex_lock(&ev->lock);
		n = ev->count < 64 ? ev->count : 64;
		for (unsigned i = 0; i < n; i++)
			batch[i] = ev->ring[(ev->head + i) % EVENTS_RING];
		ev->head = (ev->head + n) % EVENTS_RING;
		ev->count -= n;
		pthread_mutex_unlock(&ev->lock);
		for (unsigned i = 0; i < n; i++)
			cb(&batch[i], arg);
		total += n;
	} while (n == 64);
	return total;
}

uint64_t events_lost(const struct events *ev)
{
	return ev->lost;
}

uint64_t events_suppressed_total(const struct events *ev)
{
	return atomic_load_explicit(&((struct events *)ev)->suppressed_total, memory_order_relaxed);
}
