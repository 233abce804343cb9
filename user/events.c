// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * events.c - rate-limited event ring (see events.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "events.h"

#define EVENTS_TYPES 32

struct bucket {
	char type[24];
	double tokens;
	uint64_t last_ns;
	uint64_t suppressed;       /* since the last event that got through */
};

struct events {
	pthread_mutex_t lock;
	int efd;
	struct event ring[EVENTS_RING];
	unsigned head, count;      /* oldest at head */
	struct bucket buckets[EVENTS_TYPES];
	unsigned nbuckets;
	uint64_t lost, suppressed_total;
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

/* Bucket of a type; unknown types beyond the table share the last slot. */
static struct bucket *bucket_of(struct events *ev, const char *type, uint64_t now)
{
	struct bucket *b;

	for (unsigned i = 0; i < ev->nbuckets; i++)
		if (!strcmp(ev->buckets[i].type, type))
			return &ev->buckets[i];
	if (ev->nbuckets == EVENTS_TYPES)
		return &ev->buckets[EVENTS_TYPES - 1];
	b = &ev->buckets[ev->nbuckets++];
	snprintf(b->type, sizeof(b->type), "%s", type);
	b->tokens = EVENTS_BURST;
	b->last_ns = now;
	return b;
}

void events_post(struct events *ev, const char *type, const char *fmt, ...)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC), one = 1;
	struct bucket *b;
	struct event *e;
	va_list ap;

	if (!ev)
		return;
	pthread_mutex_lock(&ev->lock);
	b = bucket_of(ev, type, now);
	b->tokens += (double)(now - b->last_ns) * EVENTS_RATE / 1e9;
	if (b->tokens > EVENTS_BURST)
		b->tokens = EVENTS_BURST;
	b->last_ns = now;
	if (b->tokens < 1.0) {
		b->suppressed++;
		ev->suppressed_total++;
		pthread_mutex_unlock(&ev->lock);
		return;
	}
	b->tokens -= 1.0;
	if (ev->count == EVENTS_RING) {
		/* control thread is behind: keep the older events, count the loss */
		ev->lost++;
		pthread_mutex_unlock(&ev->lock);
		return;
	}
	e = &ev->ring[(ev->head + ev->count++) % EVENTS_RING];
	snprintf(e->type, sizeof(e->type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->time_ms = now_ns(CLOCK_REALTIME) / 1000000u;
	e->suppressed = b->suppressed;
	b->suppressed = 0;
	pthread_mutex_unlock(&ev->lock);
	/* wake the control thread; EAGAIN (counter saturated) is harmless */
	if (write(ev->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
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
	return ev->suppressed_total;
}
