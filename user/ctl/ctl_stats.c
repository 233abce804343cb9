// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_stats.c - the replies of `stats` (JSON and the Prometheus text
 * format) and `reasm`: every module's counters collected into one list
 * (counters.h), and the datagrams being reassembled.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "counters.h"
#include "counter_balance.h"
#include "dataplane.h"
#include "esp.h"
#include "events.h"
#include "reasm.h"
#include "spd.h"
#include "spd_maps.h"

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

json_object *ctl_cmd_stats(struct xdpsecd *d, json_object *args, const struct ctl_peer *p,
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

json_object *ctl_cmd_reasm(struct xdpsecd *d, json_object *id)
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
