// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sa_life.c - see sa_life.h. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "daemon.h"
#include "events.h"
#include "sa_life.h"
#include "sa_parse.h"
#include "sa_table.h"
#include "spd.h"

#define LIFE_TICK_MS 1000

struct life {
	struct xs_addr dst, src;
	uint32_t spi, index;
	uint64_t added_ms, used_ms;
	uint8_t state;                  /* 0 live, 1 soft sent, 2 hard   */
	bool seen;
};

static struct life *lives;
static unsigned n_lives, cap_lives;
static uint64_t last_tick;

struct snap {
	struct xs_addr dst, src;
	uint32_t spi, index;
	struct xs_lifetime lft;
	uint64_t bytes, packets;
};

struct walk {
	struct snap *s;
	unsigned n, cap;
};

static int walk_cb(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st,
		   void *arg)
{
	struct walk *w = arg;
	static const struct xs_lifetime none;

	if (cfg->origin != XS_ORIGIN_MANUAL || !memcmp(&cfg->lft, &none, sizeof(none)))
		return 0;
	if (w->n == w->cap)
		return 1;
	w->s[w->n++] = (struct snap){ cfg->dst, cfg->src, cfg->spi, index, cfg->lft,
				      st->bytes, st->packets };
	return 0;
}

static struct life *find(const struct snap *s)
{
	for (unsigned i = 0; i < n_lives; i++)
		if (lives[i].spi == s->spi && lives[i].index == s->index &&
		    !memcmp(lives[i].dst.bytes, s->dst.bytes, 16))
			return &lives[i];
	if (n_lives == cap_lives) {
		unsigned cap = cap_lives ? cap_lives * 2 : 64;
		struct life *n = realloc(lives, cap * sizeof(*n));

		if (!n)
			return NULL;
		lives = n;
		cap_lives = cap;
	}
	return memset(&lives[n_lives++], 0, sizeof(*lives));
}

static bool past(uint64_t limit, uint64_t v)
{
	return limit && v >= limit;
}

/* Which limit is reached (NULL: none); hard selects the hard ones. */
static const char *reached(const struct snap *s, const struct life *l, uint64_t now, bool hard)
{
	const struct xs_lifetime *t = &s->lft;
	uint64_t age = (now - l->added_ms) / 1000, use = l->used_ms ? (now - l->used_ms) / 1000 : 0;

	if (past(hard ? t->hard_bytes : t->soft_bytes, s->bytes))
		return "bytes";
	if (past(hard ? t->hard_packets : t->soft_packets, s->packets))
		return "packets";
	if (past(hard ? t->hard_add_s : t->soft_add_s, age))
		return "time";
	if (l->used_ms && past(hard ? t->hard_use_s : t->soft_use_s, use))
		return "use time";
	return NULL;
}

void sa_life_tick(struct xdpsecd *d, uint64_t now_ms)
{
	struct walk w = { 0 };
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned kept = 0;

	if (now_ms - last_tick < LIFE_TICK_MS)
		return;
	last_tick = now_ms;
	w.cap = sa_table_count(d->sat) + 1;
	if (!(w.s = calloc(w.cap, sizeof(*w.s))))
		return;
	sa_table_walk(d->sat, walk_cb, &w);
	for (unsigned i = 0; i < n_lives; i++)
		lives[i].seen = false;
	for (unsigned i = 0; i < w.n; i++) {
		const struct snap *s = &w.s[i];
		struct life *l = find(s);
		const char *why;

		if (!l)
			break;
		if (!l->added_ms) {
			l->dst = s->dst;
			l->src = s->src;
			l->spi = s->spi;
			l->index = s->index;
			l->added_ms = now_ms;
		}
		l->seen = true;
		if (!l->used_ms && s->packets)
			l->used_ms = now_ms;
		/* soft before hard, as the kernel (which checks per packet)
		 * always reports them, even when one tick sees both reached */
		if (l->state < 1 && (why = reached(s, l, now_ms, false))) {
			l->state = 1;
			events_post_peer(d->events, "expire", sa_addr_str(&s->src, a, sizeof(a)),
					 sa_addr_str(&s->dst, b, sizeof(b)),
					 "SPI 0x%08x: soft expiry (%s)", s->spi, why);
		}
		if (l->state < 2 && (why = reached(s, l, now_ms, true))) {
			l->state = 2;
			sa_table_expire(d->sat, s->index);
			spd_sa_expire(d->spd, s->index);
			events_post_peer(d->events, "expire", sa_addr_str(&s->src, a, sizeof(a)),
					 sa_addr_str(&s->dst, b, sizeof(b)),
					 "SPI 0x%08x: hard expiry (%s): the SA decrypts no more", s->spi, why);
		}
	}
	/* forget SAs that are gone */
	for (unsigned i = 0; i < n_lives; i++)
		if (lives[i].seen)
			lives[kept++] = lives[i];
	n_lives = kept;
	free(w.s);
}
