// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* replay_marks.c - see replay_marks.h */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "esp_sa.h"
#include "replay_marks.h"

struct rm_slot {
	uint64_t mark;           /* the mark handed out (0: none yet)          */
	uint64_t granted;        /* the ceiling in effect (0: none)            */
	uint64_t base_top;       /* the edge when mark was taken               */
	uint64_t mark_ms;        /* when                                       */
	uint32_t margin;
	bool unsaved;            /* its SA's add record is not written yet     */
};

struct replay_marks {
	struct sa_table *t;
	uint32_t n;
	int efd;
	struct rm_slot *slot;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Without ESN a sequence number never passes 2^32 - 1 (RFC 4303 3.3.3). */
static uint64_t cap(uint64_t top, uint64_t margin, bool esn)
{
	uint64_t lim = esn ? UINT64_MAX : UINT32_MAX;

	return top > lim - margin ? lim : top + margin;
}

struct replay_marks *replay_marks_new(struct sa_table *t, uint32_t max_sas)
{
	struct replay_marks *rm = calloc(1, sizeof(*rm));

	if (!rm)
		return NULL;
	rm->slot = calloc(max_sas, sizeof(*rm->slot));
	rm->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!rm->slot || rm->efd < 0) {
		if (rm->efd >= 0)
			close(rm->efd);
		free(rm->slot);
		free(rm);
		return NULL;
	}
	rm->t = t;
	rm->n = max_sas;
	pthread_mutex_lock(&t->mu);
	t->replay_wake_fd = rm->efd;
	t->replay_guard = true;
	pthread_mutex_unlock(&t->mu);
	return rm;
}

void replay_marks_free(struct replay_marks *rm)
{
	if (!rm)
		return;
	pthread_mutex_lock(&rm->t->mu);
	rm->t->replay_guard = false;
	rm->t->replay_wake_fd = -1;
	pthread_mutex_unlock(&rm->t->mu);
	close(rm->efd);
	free(rm->slot);
	free(rm);
}

int replay_marks_fd(const struct replay_marks *rm)
{
	return rm->efd;
}

void replay_marks_reset(struct replay_marks *rm, uint32_t idx)
{
	if (idx < rm->n)
		rm->slot[idx] = (struct rm_slot){ 0 };
}

void replay_marks_unsaved(struct replay_marks *rm, uint32_t idx)
{
	if (idx < rm->n)
		rm->slot[idx].unsaved = true;
}

uint64_t replay_marks_mark(struct replay_marks *rm, uint32_t idx, uint64_t top, bool esn)
{
	struct rm_slot *sl;

	if (idx >= rm->n)
		return cap(top, REPLAY_MARK_FIRST, esn);
	sl = &rm->slot[idx];
	if (!sl->mark) {
		sl->margin = REPLAY_MARK_FIRST;
		sl->mark = cap(top, sl->margin, esn);
		sl->base_top = top;
		sl->mark_ms = now_ms();
	}
	return sl->mark;
}

/* The next margin for an SA that reached the middle of its margin after
 * dt ms: aim at one mark a second or so. */
static uint32_t grow(uint32_t margin, uint64_t dt)
{
	if (dt < 1000)
		return margin >= REPLAY_MARK_MAX / 4 ? REPLAY_MARK_MAX : margin * 4;
	if (dt > 4000)
		return margin / 2 < REPLAY_MARK_MIN ? REPLAY_MARK_MIN : margin / 2;
	return margin;
}

unsigned replay_marks_due(struct replay_marks *rm, uint64_t now,
			  void (*cb)(uint32_t idx, const struct xs_sa_config *cfg, uint64_t mark,
				     void *arg), void *arg)
{
	struct sa_table *t = rm->t;
	unsigned n = 0, shrunk = 0;
	uint64_t v;

	/* the nudges are all looked at below, however many there were */
	if (read(rm->efd, &v, sizeof(v)) < 0)
		(void)0;
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = 0; i < rm->n && i < t->max_sas; i++) {
		struct rm_slot *sl = &rm->slot[i];
		struct sa *s = t->slots[i];
		uint64_t top, mark;
		bool nudged;

		if (!s || !sl->granted)
			continue;          /* its first mark is not written yet */
		/* a look without the SA's lock (thousands of SAs, most idle);
		 * the worker sets the flag under it and never clears it */
		top = __atomic_load_n(&s->replay.top, __ATOMIC_ACQUIRE);
		nudged = __atomic_load_n(&s->replay_nudged, __ATOMIC_RELAXED);
		if (nudged) {
			sl->margin = grow(sl->margin, now - sl->mark_ms);
			mark = cap(top, sl->margin, s->esn);
			if (mark <= sl->mark)
				continue;  /* the end of the sequence space */
		} else if (now - sl->mark_ms > REPLAY_MARK_IDLE_MS && sl->margin > REPLAY_MARK_MIN &&
			   top - sl->base_top < sl->margin / 4 && shrunk < REPLAY_MARK_IDLE_BATCH) {
			/* (nearly) idle: a restart should not give up a large
			 * margin of sequence numbers it will never need.  The
			 * ceiling comes down now, under the lock, never below
			 * the edge; the larger mark on disk stays safe meanwhile. */
			sl->margin = REPLAY_MARK_MIN;
			sa_lock(&s->lock);
			top = s->replay.top;
			mark = cap(top, sl->margin, s->esn);
			if (mark < s->replay_ceiling) {
				s->replay_ceiling = mark;
				s->replay_nudge = mark - sl->margin / 2;
			}
			sa_unlock(&s->lock);
			if (mark >= sl->mark) {
				sl->mark_ms = now;
				continue;
			}
			sl->granted = mark;
			shrunk++;
		} else {
			continue;
		}
		sl->mark = mark;
		sl->base_top = top;
		sl->mark_ms = now;
		cb(i, &s->cfg, mark, arg);
		n++;
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void replay_marks_grant(struct replay_marks *rm, bool sas_saved)
{
	struct sa_table *t = rm->t;

	pthread_mutex_lock(&t->mu);
	for (uint32_t i = 0; i < rm->n && i < t->max_sas; i++) {
		struct rm_slot *sl = &rm->slot[i];
		struct sa *s = t->slots[i];

		if (sas_saved)
			sl->unsaved = false;
		/* An SA that exists in memory only: were it added again after a
		 * restart (a failed batch run again), it would start at 0, so
		 * nothing may be delivered for it before its record is written. */
		if (!s || sl->unsaved || sl->mark <= sl->granted)
			continue;
		sa_lock(&s->lock);
		s->replay_ceiling = sl->mark;
		s->replay_nudge = sl->mark - sl->margin / 2;
		s->replay_nudged = false;
		sa_unlock(&s->lock);
		sl->granted = sl->mark;
	}
	pthread_mutex_unlock(&t->mu);
}
