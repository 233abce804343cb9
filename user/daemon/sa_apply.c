// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sa_apply.c - an SA change applied through every layer (see sa_apply.h):
 * the SA table, the kernel's SA maps (dataplane_sa_*), the state file and
 * the event stream.  The control commands and the state-file loader both
 * change SAs only through here.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dataplane.h"
#include "events.h"
#include "log.h"
#include "sa_apply.h"
#include "sa_table.h"
#include "spd.h"
#include "state_file.h"

const char *sa_id_str(const struct xs_sa_config *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "dst %s proto esp spi 0x%08x", sa_addr_str(&c->dst, a, sizeof(a)), c->spi);
	return buf;
}

/* Why the SA that id names (sa_table_del / sa_table_get returned rc) is not
 * there; returns -ENOENT for both: no SA has that name. */
int sa_apply_no_sa(struct xdpsecd *d, const struct xs_sa_config *id, int rc, char *err, size_t errlen)
{
	struct xs_sa_config cur;
	char buf[96], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (rc == -EADDRNOTAVAIL &&
	    !sa_table_get(d->sat, &id->dst, id->spi, id->proto, NULL, &cur, NULL, NULL)) {
		snprintf(err, errlen, "no SA with src %s %s: the SA with that dst and spi has src %s",
			 sa_addr_str(&id->src, a, sizeof(a)), sa_id_str(id, buf, sizeof(buf)),
			 sa_addr_str(&cur.src, b, sizeof(b)));
		explicit_bzero(&cur, sizeof(cur));
	} else {
		snprintf(err, errlen, "no such SA (%s)", sa_id_str(id, buf, sizeof(buf)));
	}
	return -ENOENT;
}

static bool sa_equal(const struct xs_sa_config *a, const struct xs_sa_config *b)
{
	return a->src.family == b->src.family && !memcmp(a->src.bytes, b->src.bytes, 16) &&
	       a->dst.family == b->dst.family && !memcmp(a->dst.bytes, b->dst.bytes, 16) &&
	       a->spi == b->spi && a->reqid == b->reqid && a->proto == b->proto &&
	       a->mode == b->mode && a->alg == b->alg && a->auth == b->auth &&
	       a->icv_bits == b->icv_bits && a->enc_key_len == b->enc_key_len &&
	       a->auth_key_len == b->auth_key_len &&
	       !memcmp(a->enc_key, b->enc_key, a->enc_key_len) &&
	       !memcmp(a->auth_key, b->auth_key, a->auth_key_len) &&
	       a->replay_window == b->replay_window && a->esn == b->esn &&
	       a->encap == b->encap && a->encap_sport == b->encap_sport &&
	       a->encap_dport == b->encap_dport && a->origin == b->origin &&
	       sa_sel_equal(&a->sel, &b->sel) && !memcmp(&a->lft, &b->lft, sizeof(a->lft));
}

/* src: NULL, or the src the SA must have (sa_table_del). */
int sa_apply_del(struct xdpsecd *d, const struct xs_sa_config *id, const struct xs_addr *src,
		  char *err, size_t errlen)
{
	struct xs_sa_config old;
	uint32_t idx;
	char buf[96];
	int rc = sa_table_del(d->sat, &id->dst, id->spi, id->proto, src, &old, &idx);

	if (rc)
		return sa_apply_no_sa(d, id, rc, err, errlen);
	spd_sa_clear(d->spd, idx);
	dataplane_sa_deleted(d, idx, &old);
	state_file_sa_deleted(d, idx, &old);
	events_post(d->events, "sa_deleted", "%s", sa_id_str(&old, buf, sizeof(buf)));
	explicit_bzero(&old, sizeof(old));
	return 0;
}

/* Every layer below the SA table takes the SA, or none keeps it: the
 * kernel's SA map (dataplane_sa_added) and the state file.  On a refusal
 * the layers that took it are undone and err says which one refused. */
static int sa_install(struct xdpsecd *d, uint32_t idx, const struct xs_sa_config *cfg,
		      char *err, size_t errlen)
{
	int rc = dataplane_sa_added(d, idx, cfg, err, errlen);

	if (!rc) {
		state_file_sa_added(d, idx, cfg);
		/* a batch writes once, at its end (batch end reports) */
		rc = d->state_defer ? 0 : state_file_commit(d, err, errlen);
		if (rc) {
			dataplane_sa_deleted(d, idx, cfg);
			state_file_sa_deleted(d, idx, cfg);
		}
	}
	if (rc)
		sa_table_del(d->sat, &cfg->dst, cfg->spi, cfg->proto, NULL, NULL, NULL);
	else
		spd_sa_set(d->spd, idx, cfg);     /* what the inbound check sees */
	return rc;
}

int sa_apply_del_origin(struct xdpsecd *d, const struct xs_sa_config *id, int origin,
			char *err, size_t errlen)
{
	struct xs_sa_config cur;
	char buf[96];
	int rc;

	if (origin >= 0 &&
	    !sa_table_get(d->sat, &id->dst, id->spi, id->proto, NULL, &cur, NULL, NULL)) {
		bool other = cur.origin != origin;

		explicit_bzero(&cur, sizeof(cur));
		if (other) {
			snprintf(err, errlen, "SA %s has another origin", sa_id_str(id, buf, sizeof(buf)));
			return -EPERM;
		}
	}
	rc = sa_apply_del(d, id, NULL, err, errlen);
	if (!rc)
		state_file_changed(d);
	return rc;
}

int sa_apply_add(struct xdpsecd *d, const struct sa_parse_result *r, bool replace,
		 char *err, size_t errlen)
{
	struct xs_sa_config cfg = r->cfg, cur;
	uint32_t idx;
	char buf[96], msg[256];
	bool replaced = false;
	int rc;

	if (!r->has_replay_window)
		cfg.replay_window = d->limits.replay_window_default;
	if (sa_config_validate(&cfg, err, errlen)) {
		rc = -EINVAL;
		goto out;
	}
	rc = sa_table_add(d->sat, &cfg, &idx, err, errlen);
	if (rc == -EEXIST && replace &&
	    !sa_table_get(d->sat, &cfg.dst, cfg.spi, cfg.proto, NULL, &cur, NULL, NULL)) {
		if (sa_equal(&cur, &cfg)) {
			rc = 0;
			goto out;
		}
		pr_info("replacing SA %s with the configured one\n", sa_id_str(&cfg, buf, sizeof(buf)));
		if (!sa_apply_del(d, &cfg, NULL, err, errlen)) {   /* whatever its src */
			replaced = true;
			rc = sa_table_add(d->sat, &cfg, &idx, err, errlen);
		}
	}
	if (rc == -EEXIST)
		snprintf(err, errlen, "SA exists (%s)", sa_id_str(&cfg, buf, sizeof(buf)));
	else if (rc == -ENOSPC && !*err)
		snprintf(err, errlen, "SA table full (%u SAs)", d->max_sas);
	else if (rc && !*err)
		snprintf(err, errlen, "%s", strerror(-rc));
	if (rc == 0)
		rc = sa_install(d, idx, &cfg, err, errlen);
	if (rc == -ENOSPC || rc == -E2BIG) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		events_post_peer(d->events, "limit_hit", sa_addr_str(&cfg.src, a, sizeof(a)),
				 sa_addr_str(&cfg.dst, b, sizeof(b)), "SA not added: %s", err);
	}
	if (rc == 0)
		events_post(d->events, "sa_added", "%s", sa_id_str(&cfg, buf, sizeof(buf)));
	else if (replaced) {
		/* the new SA was refused: put the one it replaced back */
		int rc2 = sa_table_add(d->sat, &cur, &idx, msg, sizeof(msg));

		if (!rc2)
			rc2 = sa_install(d, idx, &cur, msg, sizeof(msg));
		if (rc2)
			pr_warn("SA %s: the replaced SA could not be restored either: %s\n",
				sa_id_str(&cur, buf, sizeof(buf)), msg);
	}
out:
	explicit_bzero(&cfg, sizeof(cfg));
	explicit_bzero(&cur, sizeof(cur));
	return rc;
}

static void flush_one(uint32_t index, const struct xs_sa_config *cfg, void *arg)
{
	struct xdpsecd *d = arg;
	char buf[96];

	spd_sa_clear(d->spd, index);
	dataplane_sa_deleted(d, index, cfg);
	events_post(d->events, "sa_deleted", "%s (flush)", sa_id_str(cfg, buf, sizeof(buf)));
}

uint32_t sa_apply_flush(struct xdpsecd *d)
{
	uint32_t n = sa_table_count(d->sat);

	sa_table_flush(d->sat, flush_one, d);
	events_post(d->events, "sa_flushed", "%u SAs", n);
	state_file_changed(d);
	return n;
}
