// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dp_sa_mirror.c - the SA table mirrored into the BPF maps: the SA map,
 * the SA state array the daemon mmaps, and the NAT-T peer pairs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "daemon.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"
#include "natt_peers.h"

/* ------------------------------------------------------------ SA mirror */

static void sa_key_of(const struct xs_sa_config *cfg, struct xdpsec_sa_key *k)
{
	memset(k, 0, sizeof(*k));
	k->spi = htonl(cfg->spi);
	k->family = cfg->dst.family;
	k->proto = IPPROTO_ESP;
	k->encap_port = cfg->encap ? cfg->encap_dport : 0;
	memcpy(k->daddr, cfg->dst.bytes, cfg->dst.family == AF_INET ? 4 : 16);
}

/* An ESP-in-UDP SA came or went: its peer pair's entry in every distinct
 * xdpsec_natt map (struct xdpsec_natt_val: the pair's SA ports).  Ports
 * belong to SAs: another SA's port never moves this one's. */
static int natt_update(struct dataplane *dp, const struct xs_sa_config *cfg, bool add,
		       char *err, size_t errlen)
{
	struct xdpsec_natt_key k = { .family = cfg->dst.family };
	struct xdpsec_natt_val v;
	size_t alen = cfg->dst.family == AF_INET ? 4 : 16;
	bool present = true;

	if (!dp->natt)
		return 0;
	memcpy(k.saddr, cfg->src.bytes, alen);
	memcpy(k.daddr, cfg->dst.bytes, alen);
	if (add) {
		if (natt_peers_add(dp->natt, &k, cfg->encap_dport, &v)) {
			snprintf(err, errlen, "SPI 0x%08x: more than %d ESP-in-UDP ports between "
				 "one peer pair", cfg->spi, XDPSEC_NATT_PORTS_MAX);
			return -ENOSPC;
		}
	} else {
		present = natt_peers_del(dp->natt, &k, cfg->encap_dport, &v);
	}
	for (int i = 0; i < dp->n_in; i++) {
		if (DP_MAP_SEEN(dp, i, natt_fd))
			continue;
		if (present ? bpf_map_update_elem(dp->in[i].natt_fd, &k, &v, BPF_ANY)
			    : bpf_map_delete_elem(dp->in[i].natt_fd, &k) && errno != ENOENT)
			pr_warn("NAT-T pair map update for SPI 0x%08x failed: %s\n", cfg->spi,
				strerror(errno));
	}
	return 0;
}


/* The SA into every distinct SA map, all or none: on a refusal the maps
 * already written are undone, so the kernel never holds half an SA. */
static int sa_map_insert(struct dataplane *dp, const struct xdpsec_sa_key *k,
			 const struct xdpsec_sa_val *v, uint32_t spi, char *err, size_t errlen)
{
	for (int i = 0; i < dp->n_in; i++) {
		int e;

		if (i > 0 && dp->in[i].sa_fd == dp->in[0].sa_fd)
			continue;
		if (!bpf_map_update_elem(dp->in[i].sa_fd, k, v, BPF_ANY))
			continue;
		e = errno;
		/* a hash map at max_entries answers E2BIG */
		if (e == E2BIG)
			snprintf(err, errlen, "kernel SA map of %s is full (%d entries): SPI 0x%08x "
				 "not installed", dp->in[i].name, XDPSEC_SA_MAX, spi);
		else
			snprintf(err, errlen, "kernel SA map of %s refused SPI 0x%08x: %s",
				 dp->in[i].name, spi, strerror(e));
		for (int j = 0; j < i; j++)
			if (j == 0 || dp->in[j].sa_fd != dp->in[0].sa_fd)
				bpf_map_delete_elem(dp->in[j].sa_fd, k);
		return -e;
	}
	return 0;
}

int dataplane_sa_added(struct xdpsecd *d, uint32_t sa_index, const struct xs_sa_config *cfg,
		       char *err, size_t errlen)
{
	struct dataplane *dp = d->dp;
	struct xdpsec_sa_key k;
	struct xdpsec_sa_val v = { .sa_index = sa_index };
	int ret;

	if (!dp)
		return 0;
	if (sa_index >= XDPSEC_SA_MAX) {
		snprintf(err, errlen, "SA index %u beyond the kernel SA map (%d entries)",
			 sa_index, XDPSEC_SA_MAX);
		return -E2BIG;
	}
	v.flags = (cfg->esn ? XDPSEC_SA_F_ESN : 0) |
		  (cfg->mode == XS_MODE_TUNNEL ? XDPSEC_SA_F_TUNNEL : 0) | XDPSEC_SA_F_VALID;
	if (dp->sastate) {
		struct xdpsec_sa_state *st = &dp->sastate[sa_index];

		__atomic_store_n(&st->replay_top, 0, __ATOMIC_RELAXED);
		st->replay_window = cfg->replay_window;
		st->flags = v.flags;
	}
	sa_key_of(cfg, &k);
	ret = sa_map_insert(dp, &k, &v, cfg->spi, err, errlen);
	if (ret) {
		if (dp->sastate)
			dp->sastate[sa_index].flags = 0;
		return ret;
	}
	if (cfg->encap) {
		ret = natt_update(dp, cfg, true, err, errlen);
		if (ret) {
			for (int i = 0; i < dp->n_in; i++)
				if (i == 0 || dp->in[i].sa_fd != dp->in[0].sa_fd)
					bpf_map_delete_elem(dp->in[i].sa_fd, &k);
			if (dp->sastate)
				dp->sastate[sa_index].flags = 0;
			return ret;
		}
	}
	return 0;
}

void dataplane_sa_deleted(struct xdpsecd *d, uint32_t sa_index, const struct xs_sa_config *cfg)
{
	struct dataplane *dp = d->dp;
	struct xdpsec_sa_key k;

	if (!dp)
		return;
	sa_key_of(cfg, &k);
	for (int i = 0; i < dp->n_in; i++)
		bpf_map_delete_elem(dp->in[i].sa_fd, &k);
	if (cfg->encap)
		natt_update(dp, cfg, false, NULL, 0);
	if (dp->sastate && sa_index < XDPSEC_SA_MAX)
		dp->sastate[sa_index].flags = 0;
}

/* Empties one SA map: keys are collected first, since deleting while
 * walking with bpf_map_get_next_key restarts the walk.  Returns how many
 * entries it removed. */
static unsigned sa_map_clear(int fd)
{
	struct xdpsec_sa_key *keys = calloc(XDPSEC_SA_MAX, sizeof(*keys));
	unsigned n = 0, removed = 0;

	if (!keys)
		return 0;
	while (n < XDPSEC_SA_MAX && !bpf_map_get_next_key(fd, n ? &keys[n - 1] : NULL, &keys[n]))
		n++;
	for (unsigned i = 0; i < n; i++)
		removed += !bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	return removed;
}

/* A classify program adopted from an earlier daemon (killed with -9, or
 * that left it attached) still holds that daemon's SAs: entries this
 * daemon does not own, which admit traffic for SAs it does not know and
 * fill the map until `sa add` fails.  Before our SA table is mirrored,
 * both the SA map and the SA state array are emptied, so afterwards they
 * hold exactly the table (dp_mirror_one). */
void dp_sa_maps_reset(struct dataplane *dp)
{
	unsigned removed = 0;

	for (int i = 0; i < dp->n_in; i++) {
		if (!DP_MAP_SEEN(dp, i, sa_fd))
			removed += sa_map_clear(dp->in[i].sa_fd);
		if (DP_MAP_SEEN(dp, i, sastate_fd))
			continue;
		if (i == 0 && dp->sastate) {
			memset(dp->sastate, 0, dp->sastate_len);
			continue;
		}
		for (__u32 k = 0; k < XDPSEC_SA_MAX; k++) {
			struct xdpsec_sa_state zero = { 0 };

			bpf_map_update_elem(dp->in[i].sastate_fd, &k, &zero, BPF_ANY);
		}
	}
	if (removed)
		pr_info("removed %u SA map entries left by an earlier daemon\n", removed);
}

int dp_mirror_one(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st, void *arg)
{
	char err[256];

	(void)st;
	if (dataplane_sa_added(arg, index, cfg, err, sizeof(err)))
		pr_warn("%s\n", err);
	return 0;
}
