/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fuzz_daemon.h - a control-plane-only xdpsecd for the control fuzzers
 * (fuzz_ctl.c, fuzz_sa_parse.c, fuzz_state_file.c): the state
 * user/daemon/xdpsecd.c builds before serving (SA table, reassembly engine,
 * events, default limits), no data plane (every dataplane_* call is then a
 * no-op), no state file unless a target sets one.  Requests go through
 * ctl_cmds_dispatch exactly as the control socket hands them over.
 *
 * Checks every reply: one JSON object, "v" 1, "ok" a boolean, an "error"
 * with a code and a message when not ok, the request's id echoed, one
 * line when serialised (newline only at the end) that parses back to the
 * same text with no NaN or infinity in it, and no key material unless an
 * admin asked for keys.
 */
#ifndef XDPSEC_FUZZ_DAEMON_H
#define XDPSEC_FUZZ_DAEMON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "crypto.h"
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "spd.h"
#include "reasm.h"
#include "sa_table.h"

#define FZ_MAX_SAS 64

static struct xdpsecd *fz_daemon_new(void)
{
	struct xdpsecd *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	xs_log_level = -1;          /* quiet: a warning per input is noise */
	d->started = time(NULL);
	d->max_sas = FZ_MAX_SAS;
	pthread_mutex_init(&d->reasm_lock, NULL);
	ctl_cmds_limits_default(&d->limits);
	d->events = events_new();
	d->sat = sa_table_new(d->max_sas, CRYPTO_BACKEND_AUTO);
	d->reasm = reasm_new(NULL);
	d->spd = spd_new();         /* as xdpsecd.c makes it: policy commands */
	if (!d->events || !d->sat || !d->reasm || !d->spd)
		abort();
	return d;
}

static void fz_drop_event(const struct event *e, void *arg)
{
	(void)e; (void)arg;
}

/* Is there a string member "key" starting with 0x anywhere in o? */
static int fz_has_key(json_object *o)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (fz_has_key(json_object_array_get_idx(o, i)))
				return 1;
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			if (!strcmp(k, "key") && json_object_is_type(v, json_type_string) &&
			    !strncmp(json_object_get_string(v), "0x", 2))
				return 1;
			if (v && fz_has_key(v))
				return 1;
		}
	}
	return 0;
}

/* Every number is one a JSON parser reads: no NaN, no infinity. */
static int fz_finite(json_object *o)
{
	if (json_object_is_type(o, json_type_double))
		return isfinite(json_object_get_double(o));
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!fz_finite(json_object_array_get_idx(o, i)))
				return 0;
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (v && !fz_finite(v))
				return 0;
		}
	}
	return 1;
}

/* The same message: compared as text, since json-c may read a number
 * back as another type ("2E" is the double 2, written back as 2). */
static int fz_same_text(json_object *a, json_object *b)
{
	const char *x = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	const char *y = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);

	return x && y && !strcmp(x, y);
}

/* Limits that only size the reassembly pools: applied, they would make
 * the fuzzer measure malloc, not parsing (the pools are allocated up
 * front; an admin may ask for 4 GiB, and 400 MiB under ASan outlasts the
 * 10 s timeout of a campaign). */
static int fz_limits_too_big(json_object *limits)
{
	if (!json_object_is_type(limits, json_type_object))
		return 0;
	json_object_object_foreach(limits, k, v) {
		int64_t x = json_object_get_int64(v);

		if ((!strcmp(k, "reasm_mem_cap") && x > (16 << 20)) ||
		    (!strcmp(k, "reasm_max_datagrams") && x > 4096) ||
		    (!strcmp(k, "reasm_max_frags") && x > 256))
			return 1;
	}
	return 0;
}

static int fz_too_big(json_object *req)
{
	json_object *cmd, *args;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string) ||
	    strcmp(json_object_get_string(cmd), "limits set") ||
	    !json_object_object_get_ex(req, "args", &args))
		return 0;
	return fz_limits_too_big(args);
}

/* One request through the daemon; the checked reply (caller puts it). */
static json_object *fz_dispatch(struct xdpsecd *d, json_object *req, int admin)
{
	struct ctl_peer peer = { .pid = 1, .uid = admin ? 0 : 1000, .gid = 1000,
				 .can_change = admin };
	json_object *reply, *v, *id = NULL, *rid = NULL, *args, *keys;
	bool mon = false, asked_keys = false;
	size_t len;
	char *line;

	if (fz_too_big(req))
		return NULL;
	reply = ctl_cmds_dispatch(d, req, &peer, &mon);
	if (!reply || !json_object_is_type(reply, json_type_object))
		abort();
	if (!json_object_object_get_ex(reply, "v", &v) || json_object_get_int(v) != CTL_PROTO_VERSION)
		abort();
	if (!json_object_object_get_ex(reply, "ok", &v) || !json_object_is_type(v, json_type_boolean))
		abort();
	if (!json_object_get_boolean(v)) {
		json_object *e, *c, *m;

		if (!json_object_object_get_ex(reply, "error", &e) ||
		    !json_object_object_get_ex(e, "code", &c) || !json_object_is_type(c, json_type_string) ||
		    !json_object_object_get_ex(e, "message", &m) || !json_object_is_type(m, json_type_string))
			abort();
	}
	/* the id comes back as sent (null when it could not be used) */
	json_object_object_get_ex(reply, "id", &rid);
	if (json_object_is_type(req, json_type_object) && json_object_object_get_ex(req, "id", &id) &&
	    id && !json_object_is_type(id, json_type_object) && !json_object_is_type(id, json_type_array) &&
	    fz_finite(id) && !json_object_equal(id, rid))
		abort();
	/* keys only to an admin who asked for them */
	if (json_object_is_type(req, json_type_object) &&
	    json_object_object_get_ex(req, "args", &args) && json_object_is_type(args, json_type_object) &&
	    json_object_object_get_ex(args, "keys", &keys))
		asked_keys = json_object_get_boolean(keys);
	if ((!admin || !asked_keys) && fz_has_key(reply))
		abort();
	/* one line, and it reads back as the same object */
	line = ctl_serialize(reply, &len);
	if (!line || !len || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		abort();
	{
		json_object *back = ctl_parse_line(line, len - 1, NULL, 0);

		if (!back || !fz_finite(back) || !fz_same_text(back, reply))
			abort();
		json_object_put(back);
	}
	free(line);
	return reply;
}

/* Back to the state of a fresh daemon: no SA, default limits, no events. */
static void fz_daemon_clear(struct xdpsecd *d)
{
	json_object *req = json_object_new_object(), *r;
	bool mon;
	struct ctl_peer root = { .can_change = true };
	char err[256];

	json_object_object_add(req, "cmd", json_object_new_string("sa flush"));
	r = ctl_cmds_dispatch(d, req, &root, &mon);
	json_object_put(r);
	json_object_put(req);
	if (sa_table_count(d->sat) != 0)
		abort();
	spd_flush(d->spd, -1);      /* every policy, whatever its origin */
	{
		struct xs_limits def;
		json_object *l;

		ctl_cmds_limits_default(&def);
		if (memcmp(&def, &d->limits, sizeof(def))) {  /* resizing costs */
			l = ctl_cmds_limits_json(&def);
			if (ctl_cmds_limits_apply(d, l, err, sizeof(err)))
				abort();
			json_object_put(l);
		}
	}
	events_drain(d->events, fz_drop_event, NULL);
}

#endif
