// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* natt_peers.c - see natt_peers.h.  Open addressing with linear probing
 * and tombstones; at most XDPSEC_SA_MAX pairs (one per SA at worst). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "natt_peers.h"

#define NSLOTS (2 * XDPSEC_SA_MAX)     /* a power of two, load <= 1/2 */

enum { EMPTY = 0, USED, GONE };

struct pair {
	uint8_t state;
	struct xdpsec_natt_key key;
	uint16_t port[XDPSEC_NATT_PORTS_MAX];
	uint32_t refs[XDPSEC_NATT_PORTS_MAX];
};

struct natt_peers {
	struct pair slot[NSLOTS];
	unsigned used;
};

struct natt_peers *natt_peers_new(void)
{
	return calloc(1, sizeof(struct natt_peers));
}

void natt_peers_free(struct natt_peers *t)
{
	free(t);
}

static uint32_t hash(const struct xdpsec_natt_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* The pair's slot, or (create) the first free slot on its probe path. */
static struct pair *find(struct natt_peers *t, const struct xdpsec_natt_key *k, bool create)
{
	struct pair *free_slot = NULL;
	uint32_t i = hash(k) & (NSLOTS - 1);

	for (uint32_t n = 0; n < NSLOTS; n++, i = (i + 1) & (NSLOTS - 1)) {
		struct pair *p = &t->slot[i];

		if (p->state == USED && !memcmp(&p->key, k, sizeof(*k)))
			return p;
		if (p->state != USED && !free_slot)
			free_slot = p;
		if (p->state == EMPTY)
			break;
	}
	if (!create || !free_slot || t->used >= XDPSEC_SA_MAX)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->state = USED;
	free_slot->key = *k;
	t->used++;
	return free_slot;
}

static void export(const struct pair *p, struct xdpsec_natt_val *val)
{
	memset(val, 0, sizeof(*val));
	for (int i = 0; i < XDPSEC_NATT_PORTS_MAX; i++)
		if (p->refs[i])
			val->port[i] = p->port[i];
}

int natt_peers_add(struct natt_peers *t, const struct xdpsec_natt_key *k, uint16_t port,
		   struct xdpsec_natt_val *val)
{
	struct pair *p = find(t, k, true);
	int hole = -1;

	if (!p)
		return -ENOSPC;
	for (int i = 0; i < XDPSEC_NATT_PORTS_MAX; i++) {
		if (p->refs[i] && p->port[i] == port) {
			p->refs[i]++;
			export(p, val);
			return 0;
		}
		if (!p->refs[i] && hole < 0)
			hole = i;
	}
	if (hole < 0)
		return -ENOSPC;
	p->port[hole] = port;
	p->refs[hole] = 1;
	export(p, val);
	return 0;
}

bool natt_peers_del(struct natt_peers *t, const struct xdpsec_natt_key *k, uint16_t port,
		    struct xdpsec_natt_val *val)
{
	struct pair *p = find(t, k, false);
	bool any = false;

	if (!p)
		return false;
	for (int i = 0; i < XDPSEC_NATT_PORTS_MAX; i++) {
		if (p->refs[i] && p->port[i] == port)
			p->refs[i]--;
		any |= p->refs[i] != 0;
	}
	if (!any) {
		p->state = GONE;
		t->used--;
		return false;
	}
	export(p, val);
	return true;
}
