// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* drop_watch.c - sampled drop and limit events (see drop_watch.h). */
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "counters.h"
#include "dataplane.h"
#include "drop_watch.h"
#include "events.h"
#include "reasm.h"

enum watch_kind { WATCH_NONE, WATCH_BPF_DROP, WATCH_EVICT };

/* Evictions by the reassembly engine (reasm.c reasm_counters) and the
 * limit each one enforces, by its `xdpsecctl limits set` name. */
static const struct { const char *counter, *limit; } evictions[] = {
	{ "reasm_evict_mem", "mem-cap" },
	{ "reasm_evict_count", "max-datagrams" },
	{ "reasm_src_evict", "src-share" },
};

static enum watch_kind kind_of(const struct xs_counter *c, const char **limit)
{
	if (c->is_drop && (!strcmp(c->group, "classify") || !strcmp(c->group, "decrypt")))
		return WATCH_BPF_DROP;
	if (!strcmp(c->group, "reasm"))
		for (size_t i = 0; i < sizeof(evictions) / sizeof(evictions[0]); i++)
			if (!strcmp(c->name, evictions[i].counter)) {
				*limit = evictions[i].limit;
				return WATCH_EVICT;
			}
	return WATCH_NONE;
}

/* Slot of a counter, by the address of its (static) name. */
static int slot_of(struct drop_watch *w, const struct xs_counter *c, bool *fresh)
{
	*fresh = false;
	for (unsigned i = 0; i < w->n; i++)
		if (w->name[i] == c->name)
			return (int)i;
	if (w->n == DROP_WATCH_MAX)
		return -1;
	*fresh = true;
	w->name[w->n] = c->name;
	return (int)w->n++;
}

void drop_watch_tick(struct drop_watch *w, struct xdpsecd *d, uint64_t now_ms)
{
	struct xs_counter c[DROP_WATCH_MAX];
	unsigned secs;
	size_t n;

	if (w->last_ms && now_ms - w->last_ms < DROP_WATCH_INTERVAL_MS)
		return;
	secs = w->last_ms ? (unsigned)((now_ms - w->last_ms + 500) / 1000) : 0;
	w->last_ms = now_ms;
	n = dataplane_counters(d, c, DROP_WATCH_MAX);
	if (n > DROP_WATCH_MAX)
		n = DROP_WATCH_MAX;
	pthread_mutex_lock(&d->reasm_lock);
	n = reasm_counters(d->reasm, c, n, DROP_WATCH_MAX);
	pthread_mutex_unlock(&d->reasm_lock);
	if (n > DROP_WATCH_MAX)
		n = DROP_WATCH_MAX;

	for (size_t i = 0; i < n; i++) {
		const char *limit = NULL;
		enum watch_kind k = kind_of(&c[i], &limit);
		uint64_t grew;
		bool fresh;
		int s;

		if (k == WATCH_NONE || (s = slot_of(w, &c[i], &fresh)) < 0)
			continue;
		/* below the last sample: `stats --reset` moved the base */
		grew = !fresh && c[i].value > w->prev[s] ? c[i].value - w->prev[s] : 0;
		w->prev[s] = c[i].value;
		if (!grew)
			continue;
		if (k == WATCH_BPF_DROP)
			events_post(d->events, "bpf_drop", "%s/%s: %" PRIu64 " packets dropped in %u s",
				    c[i].group, c[i].name, grew, secs ? secs : 1);
		else
			events_post(d->events, "limit_hit", "reassembly limit %s: %" PRIu64
				    " datagrams evicted in %u s (%s)", limit, grew, secs ? secs : 1,
				    c[i].name);
	}
}
