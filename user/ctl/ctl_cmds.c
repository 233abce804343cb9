// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_cmds.c - control command handlers (see ctl_cmds.h and docs/control.md).
 *
 * Every handler runs on the control thread.  The SA table serialises its
 * own writers; the reassembly engine is touched only under reasm_lock and
 * only for as long as it takes to copy out what a reply needs, so a request
 * never holds up the data path for long.
 */
#include <errno.h>
#include <math.h>
#include <arpa/inet.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <openssl/crypto.h>
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "counters.h"
#include "counter_balance.h"
#include "dataplane.h"
#include "esp.h"
#include "events.h"
#include "kernel_features.h"
#include "log.h"
#include "reasm.h"
#include "sa_table.h"
#include "spd.h"
#include "spd_maps.h"
#include "ctl_policy.h"
#include "state_file.h"
#include "privilege.h"

#ifndef XDPSEC_VERSION
#define XDPSEC_VERSION "0.1"
#endif

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *errno_code(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case ENOSPC: return "ENOSPC";
	case E2BIG: return "E2BIG";
	case ENOMEM: return "ENOMEM";
	case EPROTO: return "EPROTO";
	case ENOSYS: return "ENOSYS";
	default: return "EIO";
	}
}

static const char *sa_id_str(const struct xs_sa_config *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "dst %s proto esp spi 0x%08x", sa_addr_str(&c->dst, a, sizeof(a)), c->spi);
	return buf;
}

/* The src an SA ID gives (NULL: none given, any src will do). */
static const struct xs_addr *id_src(const struct sa_parse_result *r)
{
	return r->has_src ? &r->cfg.src : NULL;
}

/* Why the SA that id names (sa_table_del / sa_table_get returned rc) is not
 * there; returns -ENOENT for both: no SA has that name. */
static int no_sa(struct xdpsecd *d, const struct xs_sa_config *id, int rc, char *err, size_t errlen)
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

/* ------------------------------------------------------------ SAs */

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
static int sa_del(struct xdpsecd *d, const struct xs_sa_config *id, const struct xs_addr *src,
		  char *err, size_t errlen)
{
	struct xs_sa_config old;
	uint32_t idx;
	char buf[96];
	int rc = sa_table_del(d->sat, &id->dst, id->spi, id->proto, src, &old, &idx);

	if (rc)
		return no_sa(d, id, rc, err, errlen);
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

int ctl_cmds_sa_del(struct xdpsecd *d, const struct xs_sa_config *id, int origin,
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
	rc = sa_del(d, id, NULL, err, errlen);
	if (!rc)
		state_file_changed(d);
	return rc;
}

int ctl_cmds_sa_add(struct xdpsecd *d, const struct sa_parse_result *r, bool replace,
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
		if (!sa_del(d, &cfg, NULL, err, errlen)) {   /* whatever its src */
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

static json_object *sa_stats_json(const struct sa_stats *s)
{
	json_object *o = json_object_new_object();

#define F(x) json_object_object_add(o, #x, json_object_new_int64((int64_t)s->x))
	F(packets); F(bytes); F(auth_fail); F(replay); F(pad_err); F(tfc_dummy);
	F(bad_inner); F(trunc); F(encap); F(replay_top);
#undef F
	return o;
}

struct walk_arg {
	json_object *arr;
	bool keys, stats_only;
};

static int walk_cb(uint32_t index, const struct xs_sa_config *cfg,
		   const struct sa_stats *st, void *arg)
{
	struct walk_arg *w = arg;
	json_object *o;

	if (w->stats_only) {
		char buf[INET6_ADDRSTRLEN];
		o = json_object_new_object();
		json_object_object_add(o, "src", json_object_new_string(sa_addr_str(&cfg->src, buf, sizeof(buf))));
		json_object_object_add(o, "dst", json_object_new_string(sa_addr_str(&cfg->dst, buf, sizeof(buf))));
		json_object_object_add(o, "proto", json_object_new_string("esp"));
		json_object_object_add(o, "spi", json_object_new_int64(cfg->spi));
	} else {
		o = ctl_sa_to_json(cfg, w->keys);
	}
	json_object_object_add(o, "index", json_object_new_int64(index));
	json_object_object_add(o, "stats", sa_stats_json(st));
	json_object_array_add(w->arr, o);
	return 0;
}

static void flush_cb(uint32_t index, const struct xs_sa_config *cfg, void *arg)
{
	struct xdpsecd *d = arg;
	char buf[96];

	spd_sa_clear(d->spd, index);
	dataplane_sa_deleted(d, index, cfg);
	events_post(d->events, "sa_deleted", "%s (flush)", sa_id_str(cfg, buf, sizeof(buf)));
}

/* ------------------------------------------------------------ counters */

/* dataplane + reasm + esp counters into one malloc'ed array. */
static struct xs_counter *collect_counters(struct xdpsecd *d, size_t *n_out)
{
	size_t max = 256, n;
	struct xs_counter *c = NULL;

	for (;;) {
		struct xs_counter *nc = realloc(c, max * sizeof(*c));
		if (!nc) {
			free(c);
			*n_out = 0;
			return NULL;
		}
		c = nc;
		n = dataplane_counters(d, c, max);
		if (n > max)
			n = max + 1;           /* force a retry below */
		else {
			pthread_mutex_lock(&d->reasm_lock);
			n = reasm_counters(d->reasm, c, n, max);
			pthread_mutex_unlock(&d->reasm_lock);
			if (n <= max)
				n = esp_counters(d->sat, c, n, max);
			if (n <= max) {
				uint64_t xdp[SPD__MAX];

				spd_maps_counts(d, xdp);
				n = spd_counters(d->spd, c, n, max, xdp);
			}
		}
		if (n <= max)
			break;
		max = n * 2;
	}
	*n_out = n;
	return c;
}

static void prom_name(char *out, size_t len, const char *group, const char *name)
{
	size_t o = 0, gl = strlen(group);
	const char *parts[3] = { "xdpsec_", group, name };

	/* "reasm" + "reasm_oks" -> xdpsec_reasm_oks, not xdpsec_reasm_reasm_oks */
	if (!strncmp(name, group, gl) && name[gl] == '_')
		parts[2] = name + gl + 1;

	for (int p = 0; p < 3; p++) {
		for (const char *s = parts[p]; *s && o + 1 < len; s++) {
			char ch = *s;
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				  (ch >= '0' && ch <= '9') || ch == '_';
			out[o++] = ok ? ch : '_';
		}
		if (p == 1 && o + 1 < len)
			out[o++] = '_';
	}
	out[o] = 0;
}

static void prom_help(FILE *f, const char *h)
{
	for (; h && *h; h++) {
		if (*h == '\\')
			fputs("\\\\", f);
		else if (*h == '\n')
			fputs("\\n", f);
		else
			fputc(*h, f);
	}
}

static void prom_gauge(FILE *f, const char *name, const char *help, double v)
{
	fprintf(f, "# HELP xdpsec_%s %s\n# TYPE xdpsec_%s gauge\nxdpsec_%s %.17g\n",
		name, help, name, name, v);
}

static char *prometheus_text(struct xdpsecd *d, const struct xs_counter *c, size_t n)
{
	char *buf = NULL, name[160];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		prom_name(name, sizeof(name), c[i].group, c[i].name);
		/* a name emitted twice would make the exposition invalid */
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(c[j].group, c[i].group) && !strcmp(c[j].name, c[i].name);
		if (dup)
			continue;
		/* modules mark level values (not monotonic) with "(gauge)" */
		bool gauge = c[i].help && strstr(c[i].help, "(gauge)");
		const char *sfx = gauge ? "" : "_total";
		fprintf(f, "# HELP %s%s ", name, sfx);
		prom_help(f, c[i].help && *c[i].help ? c[i].help : c[i].name);
		fprintf(f, "%s\n# TYPE %s%s %s\n%s%s %" PRIu64 "\n",
			c[i].is_drop ? " (drop reason)" : "", name, sfx,
			gauge ? "gauge" : "counter", name, sfx, c[i].value);
	}
	counter_balance_prometheus(f, c, n);
	prom_gauge(f, "sa_count", "Security associations installed", sa_table_count(d->sat));
	prom_gauge(f, "uptime_seconds", "Seconds since xdpsecd started", (double)(time(NULL) - d->started));
	fclose(f);
	return buf;
}

static json_object *cmd_stats(struct xdpsecd *d, json_object *args, const struct ctl_peer *p,
			      json_object *id)
{
	json_object *v, *res, *list, *groups, *drops;
	bool reset = false, prom = false;
	struct xs_counter *c;
	size_t n;

	if (json_object_object_get_ex(args, "reset", &v))
		reset = json_object_get_boolean(v);
	if (json_object_object_get_ex(args, "prometheus", &v))
		prom = json_object_get_boolean(v);
	if (reset && !p->can_change)
		return ctl_reply_err(id, "EPERM", "stats --reset needs root or the admin group");
	c = collect_counters(d, &n);
	if (!c)
		return ctl_reply_err(id, "ENOMEM", "out of memory");
	res = json_object_new_object();
	if (prom) {
		char *txt = prometheus_text(d, c, n);
		json_object_object_add(res, "prometheus", json_object_new_string(txt ? txt : ""));
		free(txt);
	} else {
		list = json_object_new_array();
		groups = json_object_new_object();
		drops = json_object_new_object();
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_new_object(), *g;
			json_object_object_add(o, "group", json_object_new_string(c[i].group));
			json_object_object_add(o, "name", json_object_new_string(c[i].name));
			json_object_object_add(o, "value", json_object_new_int64((int64_t)c[i].value));
			json_object_object_add(o, "help", json_object_new_string(c[i].help ? c[i].help : ""));
			json_object_object_add(o, "drop", json_object_new_boolean(c[i].is_drop));
			json_object_array_add(list, o);
			if (!json_object_object_get_ex(groups, c[i].group, &g)) {
				g = json_object_new_object();
				json_object_object_add(groups, c[i].group, g);
			}
			json_object_object_add(g, c[i].name, json_object_new_int64((int64_t)c[i].value));
			if (c[i].is_drop) {
				char key[128];
				snprintf(key, sizeof(key), "%s.%s", c[i].group, c[i].name);
				json_object_object_add(drops, key, json_object_new_int64((int64_t)c[i].value));
			}
		}
		json_object_object_add(res, "counters", list);
		json_object_object_add(res, "groups", groups);
		json_object_object_add(res, "drops", drops);
		/* the conservation law over this same snapshot */
		json_object_object_add(res, "balance", counter_balance_json(c, n));
	}
	free(c);
	if (reset) {
		dataplane_reset_counters(d);
		pthread_mutex_lock(&d->reasm_lock);
		reasm_reset_counters(d->reasm);
		pthread_mutex_unlock(&d->reasm_lock);
		sa_table_reset_stats(d->sat);
		esp_reset_counters(d->sat);
		spd_reset_counters(d->spd);
		spd_maps_reset_counts(d);
		events_post(d->events, "stats_reset", "by uid %u", (unsigned)p->uid);
		json_object_object_add(res, "reset", json_object_new_boolean(1));
	}
	return ctl_reply_ok(id, res);
}

/* ------------------------------------------------------------ reasm */

struct reasm_walk_arg {
	json_object *arr;
	unsigned n;
};

static void reasm_cb(const struct reasm_info *ri, void *arg)
{
	struct reasm_walk_arg *w = arg;
	json_object *o;
	char a[INET6_ADDRSTRLEN];
	int af = ri->family == 6 ? AF_INET6 : AF_INET;

	if (w->n++ >= 10000)            /* bound the reply, not the engine */
		return;
	o = json_object_new_object();
	json_object_object_add(o, "family", json_object_new_int(ri->family));
	json_object_object_add(o, "proto", json_object_new_int(ri->proto));
	json_object_object_add(o, "src", json_object_new_string(inet_ntop(af, ri->src, a, sizeof(a)) ? a : "?"));
	json_object_object_add(o, "dst", json_object_new_string(inet_ntop(af, ri->dst, a, sizeof(a)) ? a : "?"));
	json_object_object_add(o, "id", json_object_new_int64(ri->id));
	json_object_object_add(o, "ctx", json_object_new_int64((int64_t)ri->ctx));
	json_object_object_add(o, "frags", json_object_new_int64(ri->frags));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)ri->bytes));
	json_object_object_add(o, "age_ms", json_object_new_int64((int64_t)ri->age_ms));
	json_object_object_add(o, "have_first", json_object_new_boolean(ri->have_first));
	json_object_object_add(o, "have_last", json_object_new_boolean(ri->have_last));
	json_object_array_add(w->arr, o);
}

static json_object *cmd_reasm(struct xdpsecd *d, json_object *id)
{
	struct reasm_walk_arg w = { json_object_new_array(), 0 };
	json_object *res = json_object_new_object();
	size_t mem;

	pthread_mutex_lock(&d->reasm_lock);
	reasm_walk(d->reasm, ctl_now_ms(), reasm_cb, &w);
	mem = reasm_mem_used(d->reasm);
	pthread_mutex_unlock(&d->reasm_lock);
	json_object_object_add(res, "datagrams", w.arr);
	json_object_object_add(res, "in_progress", json_object_new_int64(w.n));
	json_object_object_add(res, "truncated", json_object_new_boolean(w.n > 10000));
	json_object_object_add(res, "mem_used", json_object_new_int64((int64_t)mem));
	json_object_object_add(res, "mem_cap", json_object_new_int64((int64_t)d->limits.reasm_mem_cap));
	return ctl_reply_ok(id, res);
}

/* ------------------------------------------------------------ limits */

void ctl_cmds_limits_default(struct xs_limits *l)
{
	struct reasm_limits r;

	reasm_limits_default(&r);
	l->reasm_timeout_ms = r.timeout_ms;
	l->reasm_mem_cap = r.mem_cap;
	l->reasm_max_frags = r.max_frags;
	l->reasm_max_datagrams = r.max_datagrams;
	l->reasm_src_share_pct = r.src_share_pct;
	l->replay_window_default = 32;
}

json_object *ctl_cmds_limits_json(const struct xs_limits *l)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "reasm_timeout_ms", json_object_new_int64(l->reasm_timeout_ms));
	json_object_object_add(o, "reasm_mem_cap", json_object_new_int64((int64_t)l->reasm_mem_cap));
	json_object_object_add(o, "reasm_max_frags", json_object_new_int64(l->reasm_max_frags));
	json_object_object_add(o, "reasm_max_datagrams", json_object_new_int64(l->reasm_max_datagrams));
	json_object_object_add(o, "reasm_src_share_pct", json_object_new_int64(l->reasm_src_share_pct));
	json_object_object_add(o, "replay_window_default", json_object_new_int64(l->replay_window_default));
	return o;
}

int ctl_cmds_limits_apply(struct xdpsecd *d, json_object *o, char *err, size_t errlen)
{
	struct xs_limits l = d->limits;
	struct reasm_limits rl;
	int rc, nset = 0;

	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "limits: expected an object");
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val) {
		int64_t x;
		if (!json_object_is_type(val, json_type_int)) {
			snprintf(err, errlen, "\"%s\": must be an integer", key);
			return -EINVAL;
		}
		x = json_object_get_int64(val);
		if (x < 0 || (x > UINT32_MAX && strcmp(key, "reasm_mem_cap"))) {
			snprintf(err, errlen, "\"%s\": out of range", key);
			return -EINVAL;
		}
		if (!strcmp(key, "reasm_timeout_ms")) l.reasm_timeout_ms = (uint32_t)x;
		else if (!strcmp(key, "reasm_mem_cap")) l.reasm_mem_cap = (uint64_t)x;
		else if (!strcmp(key, "reasm_max_frags")) l.reasm_max_frags = (uint32_t)x;
		else if (!strcmp(key, "reasm_max_datagrams")) l.reasm_max_datagrams = (uint32_t)x;
		else if (!strcmp(key, "reasm_src_share_pct")) l.reasm_src_share_pct = (uint32_t)x;
		else if (!strcmp(key, "replay_window_default")) {
			if (x > 4096) {
				snprintf(err, errlen, "\"replay_window_default\": at most 4096 packets");
				return -EINVAL;
			}
			l.replay_window_default = (uint32_t)x;
		} else {
			snprintf(err, errlen, "\"%s\": unknown limit", key);
			return -EINVAL;
		}
		nset++;
	}
	if (!nset) {
		snprintf(err, errlen, "limits set: nothing to set");
		return -EINVAL;
	}
	if (l.reasm_src_share_pct == 0 || l.reasm_src_share_pct > 100) {
		snprintf(err, errlen, "\"src-share\": must be 1..100 %%");
		return -EINVAL;
	}
	rl.timeout_ms = l.reasm_timeout_ms;
	rl.mem_cap = l.reasm_mem_cap;
	rl.max_frags = l.reasm_max_frags;
	rl.max_datagrams = l.reasm_max_datagrams;
	rl.src_share_pct = l.reasm_src_share_pct;
	pthread_mutex_lock(&d->reasm_lock);
	rc = reasm_set_limits(d->reasm, &rl);
	pthread_mutex_unlock(&d->reasm_lock);
	if (rc) {
		snprintf(err, errlen, "reassembly limits refused: %s (timeout, mem-cap, max-frags or max-datagrams out of range)",
			 strerror(-rc));
		return rc;
	}
	d->limits = l;
	events_post(d->events, "limits_changed",
		    "timeout %ums mem-cap %" PRIu64 " max-frags %u max-datagrams %u src-share %u%% replay-window %u",
		    l.reasm_timeout_ms, l.reasm_mem_cap, l.reasm_max_frags,
		    l.reasm_max_datagrams, l.reasm_src_share_pct, l.replay_window_default);
	return 0;
}

/* ------------------------------------------------------------ status */

static json_object *cmd_status(struct xdpsecd *d, json_object *id)
{
	json_object *o = json_object_new_object(), *v = json_object_new_object(), *a;

	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "started", json_object_new_int64(d->started));
	json_object_object_add(o, "uptime_s", json_object_new_int64(time(NULL) - d->started));
	json_object_object_add(o, "socket", json_object_new_string(d->sock_path ? d->sock_path : ""));
	json_object_object_add(o, "state_file", d->state_path ? json_object_new_string(d->state_path) : NULL);
	json_object_object_add(o, "config", d->config_path ? json_object_new_string(d->config_path) : NULL);
	json_object_object_add(o, "sa_count", json_object_new_int64(sa_table_count(d->sat)));
	json_object_object_add(o, "sa_max", json_object_new_int64(d->max_sas));
	json_object_object_add(o, "crypto_backend",
			       json_object_new_string(crypto_backend_name(sa_table_backend(d->sat))));
	pthread_mutex_lock(&d->reasm_lock);
	json_object_object_add(o, "reasm_in_progress", json_object_new_int64(reasm_in_progress(d->reasm)));
	json_object_object_add(o, "reasm_mem_used", json_object_new_int64((int64_t)reasm_mem_used(d->reasm)));
	pthread_mutex_unlock(&d->reasm_lock);
	a = json_object_new_object();
	json_object_object_add(a, "lost", json_object_new_int64((int64_t)events_lost(d->events)));
	json_object_object_add(a, "suppressed", json_object_new_int64((int64_t)events_suppressed_total(d->events)));
	json_object_object_add(o, "events", a);
	json_object_object_add(o, "state_saves", json_object_new_int64((int64_t)d->state_saves));
	json_object_object_add(o, "state_save_errors", json_object_new_int64((int64_t)d->state_save_errors));

	json_object_object_add(v, "xdpsec", json_object_new_string(XDPSEC_VERSION));
	json_object_object_add(v, "protocol", json_object_new_int(CTL_PROTO_VERSION));
	char lb[32];
	snprintf(lb, sizeof(lb), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	json_object_object_add(v, "libbpf", json_object_new_string(lb));
	json_object_object_add(v, "json-c", json_object_new_string(json_c_version()));
	json_object_object_add(v, "openssl", json_object_new_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_object_add(o, "versions", v);
	json_object_object_add(o, "limits", ctl_cmds_limits_json(&d->limits));
	/* what this kernel lets the data plane do, probed once at start */
	json_object_object_add(o, "features", kfeat_json(d->features));
	/* attached interfaces, attach mode, feedback pair, workers, queues */
	dataplane_status(d, o);
	/* uid, capabilities held, no_new_privs (privilege.h) */
	json_object_object_add(o, "privileges", privilege_status_json());
	return ctl_reply_ok(id, o);
}

/* ------------------------------------------------------------ dispatch */

static bool is_change(const char *cmd, json_object *args)
{
	json_object *v;

	if (!strcmp(cmd, "sa add") || !strcmp(cmd, "sa del") || !strcmp(cmd, "sa flush") ||
	    !strcmp(cmd, "limits set") || !strcmp(cmd, "policy add") ||
	    !strcmp(cmd, "policy del") || !strcmp(cmd, "policy flush"))
		return true;
	/* key material is as sensitive as the right to change it */
	if ((!strcmp(cmd, "sa get") || !strcmp(cmd, "sa list")) &&
	    json_object_object_get_ex(args, "keys", &v) && json_object_get_boolean(v))
		return true;
	return false;
}

json_object *ctl_cmds_dispatch(struct xdpsecd *d, json_object *req,
			       const struct ctl_peer *p, bool *monitor)
{
	json_object *id = NULL, *v, *args = NULL, *sa;
	struct sa_parse_result r;
	char err[512] = "";
	const char *cmd;
	int rc;

	*monitor = false;
	if (!json_object_is_type(req, json_type_object))
		return ctl_reply_err(NULL, "EPROTO", "request must be a JSON object");
	json_object_object_get_ex(req, "id", &id);
	/* echoed verbatim: NaN or infinity (json-c reads NaN, 1e400) would make
	 * the reply something no JSON parser reads (found by tests/fuzz/fuzz_ctl.c) */
	if (id && (json_object_is_type(id, json_type_object) || json_object_is_type(id, json_type_array) ||
		   (json_object_is_type(id, json_type_double) && !isfinite(json_object_get_double(id)))))
		return ctl_reply_err(NULL, "EPROTO", "\"id\" must be a number, string or null");
	if (json_object_object_get_ex(req, "v", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int(v) != CTL_PROTO_VERSION))
		return ctl_reply_err(id, "EPROTO", "unsupported protocol version (this daemon speaks %d)",
				     CTL_PROTO_VERSION);
	if (!json_object_object_get_ex(req, "cmd", &v) || !json_object_is_type(v, json_type_string))
		return ctl_reply_err(id, "EPROTO", "\"cmd\": missing or not a string");
	cmd = json_object_get_string(v);
	if (json_object_object_get_ex(req, "args", &args) && args &&
	    !json_object_is_type(args, json_type_object))
		return ctl_reply_err(id, "EPROTO", "\"args\": must be an object");
	if (!args)
		args = NULL;
	json_object *empty = NULL;
	if (!args)
		args = empty = json_object_new_object();

	json_object *reply = NULL;
	if (is_change(cmd, args) && !p->can_change) {
		reply = ctl_reply_err(id, "EPERM", "%s needs root or the admin group%s", cmd,
				      d->admin_group ? "" : " (no --admin-group configured)");
		goto out;
	}
	json_object_object_get_ex(args, "sa", &sa);

	if (!strcmp(cmd, "ping")) {
		reply = ctl_reply_ok(id, NULL);
	} else if (!strcmp(cmd, "version")) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "xdpsec", json_object_new_string(XDPSEC_VERSION));
		json_object_object_add(o, "protocol", json_object_new_int(CTL_PROTO_VERSION));
		reply = ctl_reply_ok(id, o);
	} else if (!strcmp(cmd, "sa add")) {
		if (ctl_sa_from_json(sa, &r, err, sizeof(err))) {
			reply = ctl_reply_err(id, "EINVAL", "%s", err);
		} else {
			/* saves the state file itself: a save that fails refuses the SA */
			rc = ctl_cmds_sa_add(d, &r, false, err, sizeof(err));
			explicit_bzero(&r, sizeof(r));
			reply = rc ? ctl_reply_err(id, errno_code(-rc), "%s", err) : ctl_reply_ok(id, NULL);
		}
	} else if (!strcmp(cmd, "sa del")) {
		if (ctl_sa_id_from_json(sa, &r, err, sizeof(err))) {
			reply = ctl_reply_err(id, "EINVAL", "%s", err);
		} else {
			rc = sa_del(d, &r.cfg, id_src(&r), err, sizeof(err));
			reply = rc ? ctl_reply_err(id, errno_code(-rc), "%s", err) : ctl_reply_ok(id, NULL);
			if (!rc)
				state_file_changed(d);
		}
	} else if (!strcmp(cmd, "sa get")) {
		struct xs_sa_config c;
		struct sa_stats st;
		uint32_t idx;
		if (ctl_sa_id_from_json(sa, &r, err, sizeof(err))) {
			reply = ctl_reply_err(id, "EINVAL", "%s", err);
		} else if ((rc = sa_table_get(d->sat, &r.cfg.dst, r.cfg.spi, r.cfg.proto, id_src(&r),
					      &c, &st, &idx))) {
			no_sa(d, &r.cfg, rc, err, sizeof(err));
			reply = ctl_reply_err(id, "ENOENT", "%s", err);
		} else {
			enum crypto_backend be;
			json_object *v2 = json_object_object_get_ex(args, "keys", &v2) ? v2 : NULL;
			json_object *o = ctl_sa_to_json(&c, v2 && json_object_get_boolean(v2));
			explicit_bzero(&c, sizeof(c));
			json_object_object_add(o, "index", json_object_new_int64(idx));
			json_object_object_add(o, "stats", sa_stats_json(&st));
			if (!sa_table_sa_backend(d->sat, &r.cfg.dst, r.cfg.spi, r.cfg.proto, &be))
				json_object_object_add(o, "crypto_backend", json_object_new_string(crypto_backend_name(be)));
			json_object *res = json_object_new_object();
			json_object_object_add(res, "sa", o);
			reply = ctl_reply_ok(id, res);
		}
	} else if (!strcmp(cmd, "sa list") || !strcmp(cmd, "sa stats")) {
		struct walk_arg w = { json_object_new_array(), false, cmd[3] == 's' };
		if (json_object_object_get_ex(args, "keys", &v))
			w.keys = json_object_get_boolean(v);
		if (sa && w.stats_only) {
			/* sa stats ID: just that SA */
			struct xs_sa_config c;
			struct sa_stats st;
			uint32_t idx;
			if (ctl_sa_id_from_json(sa, &r, err, sizeof(err))) {
				json_object_put(w.arr);
				reply = ctl_reply_err(id, "EINVAL", "%s", err);
				goto out;
			}
			if ((rc = sa_table_get(d->sat, &r.cfg.dst, r.cfg.spi, r.cfg.proto, id_src(&r),
					       &c, &st, &idx))) {
				json_object_put(w.arr);
				no_sa(d, &r.cfg, rc, err, sizeof(err));
				reply = ctl_reply_err(id, "ENOENT", "%s", err);
				goto out;
			}
			walk_cb(idx, &c, &st, &w);
			explicit_bzero(&c, sizeof(c));
		} else {
			sa_table_walk(d->sat, walk_cb, &w);
		}
		json_object *res = json_object_new_object();
		json_object_object_add(res, "sas", w.arr);
		reply = ctl_reply_ok(id, res);
	} else if (!strcmp(cmd, "sa count")) {
		json_object *res = json_object_new_object();
		json_object_object_add(res, "count", json_object_new_int64(sa_table_count(d->sat)));
		json_object_object_add(res, "max", json_object_new_int64(d->max_sas));
		reply = ctl_reply_ok(id, res);
	} else if (!strcmp(cmd, "sa flush")) {
		uint32_t n = sa_table_count(d->sat);
		sa_table_flush(d->sat, flush_cb, d);
		events_post(d->events, "sa_flushed", "%u SAs", n);
		state_file_changed(d);
		json_object *res = json_object_new_object();
		json_object_object_add(res, "deleted", json_object_new_int64(n));
		reply = ctl_reply_ok(id, res);
	} else if (!strcmp(cmd, "stats")) {
		reply = cmd_stats(d, args, p, id);
	} else if (!strcmp(cmd, "reasm")) {
		reply = cmd_reasm(d, id);
	} else if (!strcmp(cmd, "status")) {
		reply = cmd_status(d, id);
	} else if (!strcmp(cmd, "limits get")) {
		reply = ctl_reply_ok(id, ctl_cmds_limits_json(&d->limits));
	} else if (!strcmp(cmd, "limits set")) {
		rc = ctl_cmds_limits_apply(d, args, err, sizeof(err));
		if (rc) {
			reply = ctl_reply_err(id, errno_code(-rc), "%s", err);
		} else {
			state_file_changed(d);
			reply = ctl_reply_ok(id, ctl_cmds_limits_json(&d->limits));
		}
	} else if (!strcmp(cmd, "monitor")) {
		*monitor = true;
		json_object *res = json_object_new_object();
		json_object_object_add(res, "monitoring", json_object_new_boolean(1));
		reply = ctl_reply_ok(id, res);
	} else if (!strncmp(cmd, "policy ", 7)) {
		reply = ctl_policy_dispatch(d, cmd, args, id);
	} else {
		reply = ctl_reply_err(id, "ENOSYS", "unknown command \"%.64s\"", cmd);
	}
out:
	json_object_put(empty);
	return reply;
}

/* ------------------------------------------------------------ batch */

int ctl_cmds_run_batch(struct xdpsecd *d, FILE *f, const char *name, char *err, size_t errlen)
{
	struct ctl_peer root = { .pid = getpid(), .uid = 0, .gid = 0, .can_change = true };
	char *line = NULL, *argv[256], msg[512];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0, argc;

	while (getline(&line, &cap, f) >= 0) {
		json_object *req, *reply, *v;
		bool mon;
		lineno++;
		argc = sa_tokenize(line, argv, 256, msg, sizeof(msg));
		if (argc == 0)
			continue;
		if (argc < 0 || ctl_build_request(argc, argv, NULL, &req, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
			rc = -1;
			break;
		}
		json_object_object_get_ex(req, "cmd", &v);
		if (!strcmp(json_object_get_string(v), "sa add")) {
			/* config batches are declarative: re-running one is a no-op */
			struct sa_parse_result r;
			json_object *args, *sa;
			json_object_object_get_ex(req, "args", &args);
			json_object_object_get_ex(args, "sa", &sa);
			if (ctl_sa_from_json(sa, &r, msg, sizeof(msg)) ||
			    ctl_cmds_sa_add(d, &r, true, msg, sizeof(msg))) {
				snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
				rc = -1;
			}
			explicit_bzero(&r, sizeof(r));
			json_object_put(req);
			if (rc)
				break;
			continue;
		}
		if (!strcmp(json_object_get_string(v), "monitor")) {
			snprintf(err, errlen, "%s:%u: monitor cannot run in a batch", name, lineno);
			json_object_put(req);
			rc = -1;
			break;
		}
		reply = ctl_cmds_dispatch(d, req, &root, &mon);
		json_object_put(req);
		if (json_object_object_get_ex(reply, "ok", &v) && !json_object_get_boolean(v)) {
			json_object *e, *m;
			json_object_object_get_ex(reply, "error", &e);
			json_object_object_get_ex(e, "message", &m);
			snprintf(err, errlen, "%s:%u: %s", name, lineno, json_object_get_string(m));
			rc = -1;
		}
		json_object_put(reply);
		if (rc)
			break;
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	return rc;
}
