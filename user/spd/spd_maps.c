// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * spd_maps.c - the SPD compiled into the classify program's maps (see
 * spd_maps.h and headers/xdpsec_spd.bpf.h for the layout and why it is
 * correct: the entry of each destination prefix holds every policy whose
 * destination contains it, in priority order).
 *
 * Rewritten whole on every SPD change (policies change at IKE rates, not
 * packet rates): new entries are written first and stale ones deleted
 * after, so that no packet sees an SPD with a policy missing that both
 * the old and the new SPD hold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "daemon.h"
#include "dataplane.h"
#include "log.h"
#include "spd_maps.h"
#include "xdpsec_common.h"
#include "xdpsec_parse.h"
#include "xdpsec_spd_common.h"

#define MAX_FDS 16

struct compile {
	struct xs_policy *pol;             /* dir in, in priority order */
	unsigned n, cap;
};

static void collect_cb(const struct xs_policy *p, void *arg)
{
	struct compile *c = arg;

	if (p->dir != XS_DIR_IN || c->n == c->cap)
		return;
	c->pol[c->n++] = *p;
}

static bool prefix_contains(const uint8_t *net, unsigned plen, const uint8_t *a, unsigned alen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (alen < plen || memcmp(a, net, full))
		return false;
	return !rest || !((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest)));
}

static uint8_t verdict_of(const struct xs_policy *p)
{
	if (p->action == XS_ACT_BLOCK)
		return XDPSEC_SPD_V_POLBLOCK;
	for (unsigned i = 0; i < p->n_tmpl; i++)
		if (!p->tmpl[i].optional)
			return XDPSEC_SPD_V_TMPL_MISMATCH;
	return XDPSEC_SPD_V_PASS;
}

static void rule_of(const struct xs_policy *p, struct xdpsec_spd_rule *r)
{
	uint8_t mask[16] = { 0 };
	unsigned plen = p->sel.src_plen;

	memset(r, 0, sizeof(*r));
	for (unsigned b = 0; b < plen && b < 128; b++)
		mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	memcpy(r->smask, mask, 16);
	for (int i = 0; i < 16; i++)
		((uint8_t *)r->src)[i] = p->sel.src.bytes[i] & mask[i];
	r->proto = p->sel.proto;
	r->sport = p->sel.sport;
	r->sport_mask = p->sel.sport_mask;
	r->dport = p->sel.dport;
	r->dport_mask = p->sel.dport_mask;
	r->verdict = verdict_of(p);
}

/* The value for destination prefix (family, dst/plen). */
static void entry_of(const struct compile *c, uint8_t family, const uint8_t *dst, unsigned plen,
		     struct xdpsec_spd_val *v)
{
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < c->n; i++) {
		const struct xs_policy *p = &c->pol[i];

		if (p->sel.family && p->sel.family != family)
			continue;
		if (!prefix_contains(p->sel.dst.bytes, p->sel.dst_plen, dst, plen))
			continue;
		if (v->n == XDPSEC_SPD_RULES) {
			pr_warn("spd: more than %d policies cover one destination prefix: "
				"the XDP check sees the first %d (the daemon's check sees all)\n",
				XDPSEC_SPD_RULES, XDPSEC_SPD_RULES);
			break;
		}
		rule_of(p, &v->r[v->n++]);
	}
}

static uint8_t xdp_family(unsigned af)
{
	return af == AF_INET ? XDPSEC_AF_INET : XDPSEC_AF_INET6;
}

static void sync_map(int fd, const struct compile *c)
{
	struct xdpsec_spd_key keys[XDPSEC_SPD_MAX], k, next;
	unsigned nk = 0;
	struct xdpsec_spd_val v;
	bool first = true;

	for (unsigned i = 0; i < c->n && nk + 2 <= XDPSEC_SPD_MAX; i++) {
		const struct xs_policy *p = &c->pol[i];
		unsigned fams[2] = { p->sel.family, 0 }, nf = 1;

		if (!p->sel.family) {
			fams[0] = AF_INET;
			fams[1] = AF_INET6;
			nf = 2;
		}
		for (unsigned f = 0; f < nf; f++) {
			memset(&k, 0, sizeof(k));
			k.family = xdp_family(fams[f]);
			k.prefixlen = 8u + p->sel.dst_plen;
			memcpy(k.daddr, p->sel.dst.bytes, 16);
			entry_of(c, (uint8_t)fams[f], k.daddr, p->sel.dst_plen, &v);
			if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
				pr_warn("spd: XDP map update: %s\n", strerror(errno));
			keys[nk++] = k;
		}
	}
	/* stale prefixes out, after the new ones are in */
	for (;;) {
		bool keep = false;

		if (bpf_map_get_next_key(fd, first ? NULL : &k, &next))
			break;
		first = false;
		k = next;
		for (unsigned i = 0; i < nk && !keep; i++)
			keep = keys[i].prefixlen == k.prefixlen && keys[i].family == k.family &&
			       !memcmp(keys[i].daddr, k.daddr, 16);
		if (!keep && !bpf_map_delete_elem(fd, &k))
			first = true;   /* restart: the iteration order changed */
	}
}

static uint64_t synced_gen = ~0ull;

/* The programs' SPD maps, found once at set-up: finding a map by its id
 * (BPF_MAP_GET_FD_BY_ID) needs CAP_SYS_ADMIN, which the daemon gives up
 * once set up (privilege.h); the descriptors it holds need nothing. */
static struct {
	bool open;
	int n_spd, n_cnt;
	int spd[MAX_FDS], cnt[MAX_FDS];
} maps;

int spd_maps_open(struct xdpsecd *d)
{
	if (maps.open || !d->dp)
		return 0;
	maps.n_spd = dataplane_prog_map_fds(d, XDPSEC_MAP_SPD, maps.spd, MAX_FDS);
	maps.n_cnt = dataplane_prog_map_fds(d, XDPSEC_MAP_SPD_CNT, maps.cnt, MAX_FDS);
	maps.open = true;
	return maps.n_spd;
}

void spd_maps_close(void)
{
	for (int i = 0; i < maps.n_spd; i++)
		close(maps.spd[i]);
	for (int i = 0; i < maps.n_cnt; i++)
		close(maps.cnt[i]);
	memset(&maps, 0, sizeof(maps));
	synced_gen = ~0ull;
}

void spd_maps_sync(struct xdpsecd *d)
{
	struct compile c = { 0 };
	uint64_t gen;

	if (!d->spd || !d->dp)
		return;
	gen = spd_generation(d->spd);
	if (gen == synced_gen)
		return;
	c.cap = 1024;
	c.pol = calloc(c.cap, sizeof(*c.pol));
	if (!c.pol)
		return;
	spd_walk(d->spd, collect_cb, &c);
	spd_maps_open(d);
	for (int i = 0; i < maps.n_spd; i++)
		sync_map(maps.spd[i], &c);
	free(c.pol);
	synced_gen = gen;
}

void spd_maps_counts(struct xdpsecd *d, uint64_t out[SPD__MAX])
{
	int *fds = maps.cnt, n, ncpu = libbpf_num_possible_cpus();

	memset(out, 0, SPD__MAX * sizeof(*out));
	if (ncpu <= 0)
		return;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(*vals));

	if (!vals)
		return;
	spd_maps_open(d);
	n = maps.n_cnt;
	for (int i = 0; i < n; i++) {
		/* programs that share maps share these counters: count a map once */
		bool dup = false;
		struct bpf_map_info mi = { 0 }, mj;
		__u32 len = sizeof(mi);

		bpf_obj_get_info_by_fd(fds[i], &mi, &len);
		for (int j = 0; j < i && !dup; j++) {
			memset(&mj, 0, sizeof(mj));
			len = sizeof(mj);
			dup = !bpf_obj_get_info_by_fd(fds[j], &mj, &len) && mj.id == mi.id;
		}
		for (__u32 v = 0; !dup && v < SPD__MAX; v++)
			if (!bpf_map_lookup_elem(fds[i], &v, vals))
				for (int c = 0; c < ncpu; c++)
					out[v] += vals[c];
	}
	free(vals);
}

void spd_maps_reset_counts(struct xdpsecd *d)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *zero;

	if (ncpu <= 0 || !(zero = calloc((size_t)ncpu, sizeof(*zero))))
		return;
	spd_maps_open(d);
	for (int i = 0; i < maps.n_cnt; i++)
		for (__u32 v = 0; v < SPD__MAX; v++)
			bpf_map_update_elem(maps.cnt[i], &v, zero, BPF_ANY);
	free(zero);
}
