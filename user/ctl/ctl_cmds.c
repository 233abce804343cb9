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
#include "dataplane.h"
#include "esp.h"
#include "events.h"
#include "kernel_features.h"
#include "log.h"
#include "reasm.h"
#include "sa_apply.h"
#include "sa_table.h"
#include "spd.h"
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

/* The src an SA ID gives (NULL: none given, any src will do). */
static const struct xs_addr *id_src(const struct sa_parse_result *r)
{
	return r->has_src ? &r->cfg.src : NULL;
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

/* One request being handled: what every handler may need. */
struct ctl_call {
	struct xdpsecd *d;
	json_object *id, *args, *sa;    /* args.sa, when given */
	const struct ctl_peer *p;
	bool *monitor;
};

static json_object *h_PING(struct ctl_call *c)
{
	return ctl_reply_ok(c->id, NULL);
}

static json_object *h_VERSION(struct ctl_call *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "xdpsec", json_object_new_string(XDPSEC_VERSION));
	json_object_object_add(o, "protocol", json_object_new_int(CTL_PROTO_VERSION));
	return ctl_reply_ok(c->id, o);
}

static json_object *h_SA_ADD(struct ctl_call *c)
{
	struct sa_parse_result r;
	char err[512] = "";
	int rc;

	if (ctl_sa_from_json(c->sa, &r, err, sizeof(err)))
		return ctl_reply_err(c->id, "EINVAL", "%s", err);
	/* saves the state file itself: a save that fails refuses the SA */
	rc = sa_apply_add(c->d, &r, false, err, sizeof(err));
	explicit_bzero(&r, sizeof(r));
	return rc ? ctl_reply_err(c->id, errno_code(-rc), "%s", err) : ctl_reply_ok(c->id, NULL);
}

static json_object *h_SA_DEL(struct ctl_call *c)
{
	struct sa_parse_result r;
	char err[512] = "";
	int rc;

	if (ctl_sa_id_from_json(c->sa, &r, err, sizeof(err)))
		return ctl_reply_err(c->id, "EINVAL", "%s", err);
	rc = sa_apply_del(c->d, &r.cfg, id_src(&r), err, sizeof(err));
	if (rc)
		return ctl_reply_err(c->id, errno_code(-rc), "%s", err);
	state_file_changed(c->d);
	return ctl_reply_ok(c->id, NULL);
}

/* The SA named by args.sa: NULL, or the error reply (bad id, no such SA). */
static json_object *lookup_sa(struct ctl_call *c, struct sa_parse_result *r,
			      struct xs_sa_config *sc, struct sa_stats *st, uint32_t *idx)
{
	char err[512] = "";
	int rc;

	if (ctl_sa_id_from_json(c->sa, r, err, sizeof(err)))
		return ctl_reply_err(c->id, "EINVAL", "%s", err);
	if ((rc = sa_table_get(c->d->sat, &r->cfg.dst, r->cfg.spi, r->cfg.proto, id_src(r),
			       sc, st, idx))) {
		sa_apply_no_sa(c->d, &r->cfg, rc, err, sizeof(err));
		return ctl_reply_err(c->id, "ENOENT", "%s", err);
	}
	return NULL;
}

static json_object *h_SA_GET(struct ctl_call *c)
{
	struct sa_parse_result r;
	struct xs_sa_config sc;
	struct sa_stats st;
	enum crypto_backend be;
	json_object *v, *o, *res, *reply;
	uint32_t idx;

	if ((reply = lookup_sa(c, &r, &sc, &st, &idx)))
		return reply;
	v = json_object_object_get_ex(c->args, "keys", &v) ? v : NULL;
	o = ctl_sa_to_json(&sc, v && json_object_get_boolean(v));
	explicit_bzero(&sc, sizeof(sc));
	json_object_object_add(o, "index", json_object_new_int64(idx));
	json_object_object_add(o, "stats", sa_stats_json(&st));
	if (!sa_table_sa_backend(c->d->sat, &r.cfg.dst, r.cfg.spi, r.cfg.proto, &be))
		json_object_object_add(o, "crypto_backend", json_object_new_string(crypto_backend_name(be)));
	res = json_object_new_object();
	json_object_object_add(res, "sa", o);
	return ctl_reply_ok(c->id, res);
}

/* sa list, and sa stats (with an SA id: just that SA) */
static json_object *sa_walk_reply(struct ctl_call *c, bool stats_only)
{
	struct walk_arg w = { json_object_new_array(), false, stats_only };
	json_object *v, *res;

	if (json_object_object_get_ex(c->args, "keys", &v))
		w.keys = json_object_get_boolean(v);
	if (c->sa && w.stats_only) {
		struct sa_parse_result r;
		struct xs_sa_config sc;
		struct sa_stats st;
		json_object *reply;
		uint32_t idx;

		if ((reply = lookup_sa(c, &r, &sc, &st, &idx))) {
			json_object_put(w.arr);
			return reply;
		}
		walk_cb(idx, &sc, &st, &w);
		explicit_bzero(&sc, sizeof(sc));
	} else {
		sa_table_walk(c->d->sat, walk_cb, &w);
	}
	res = json_object_new_object();
	json_object_object_add(res, "sas", w.arr);
	return ctl_reply_ok(c->id, res);
}

static json_object *h_SA_LIST(struct ctl_call *c)
{
	return sa_walk_reply(c, false);
}

static json_object *h_SA_STATS(struct ctl_call *c)
{
	return sa_walk_reply(c, true);
}

static json_object *h_SA_COUNT(struct ctl_call *c)
{
	json_object *res = json_object_new_object();

	json_object_object_add(res, "count", json_object_new_int64(sa_table_count(c->d->sat)));
	json_object_object_add(res, "max", json_object_new_int64(c->d->max_sas));
	return ctl_reply_ok(c->id, res);
}

static json_object *h_SA_FLUSH(struct ctl_call *c)
{
	uint32_t n = sa_apply_flush(c->d);
	json_object *res = json_object_new_object();

	json_object_object_add(res, "deleted", json_object_new_int64(n));
	return ctl_reply_ok(c->id, res);
}

static json_object *h_STATS(struct ctl_call *c)
{
	return ctl_cmd_stats(c->d, c->args, c->p, c->id);
}

static json_object *h_REASM(struct ctl_call *c)
{
	return ctl_cmd_reasm(c->d, c->id);
}

static json_object *h_STATUS(struct ctl_call *c)
{
	return cmd_status(c->d, c->id);
}

static json_object *h_LIMITS_GET(struct ctl_call *c)
{
	return ctl_reply_ok(c->id, ctl_cmds_limits_json(&c->d->limits));
}

static json_object *h_LIMITS_SET(struct ctl_call *c)
{
	char err[512] = "";
	int rc = ctl_cmds_limits_apply(c->d, c->args, err, sizeof(err));

	if (rc)
		return ctl_reply_err(c->id, errno_code(-rc), "%s", err);
	state_file_changed(c->d);
	return ctl_reply_ok(c->id, ctl_cmds_limits_json(&c->d->limits));
}

/* policy add|del|list|flush: ctl_policy.c, by the command's name */
static json_object *h_POLICY(struct ctl_call *c, enum ctl_cmd_id which)
{
	return ctl_policy_dispatch(c->d, ctl_cmd_table[which].name, c->args, c->id);
}

static json_object *h_POLICY_ADD(struct ctl_call *c) { return h_POLICY(c, CTL_CMD_POLICY_ADD); }
static json_object *h_POLICY_DEL(struct ctl_call *c) { return h_POLICY(c, CTL_CMD_POLICY_DEL); }
static json_object *h_POLICY_LIST(struct ctl_call *c) { return h_POLICY(c, CTL_CMD_POLICY_LIST); }
static json_object *h_POLICY_FLUSH(struct ctl_call *c) { return h_POLICY(c, CTL_CMD_POLICY_FLUSH); }

static json_object *h_MONITOR(struct ctl_call *c)
{
	json_object *res = json_object_new_object();

	*c->monitor = true;
	json_object_object_add(res, "monitoring", json_object_new_boolean(1));
	return ctl_reply_ok(c->id, res);
}

/* One handler per command of CTL_CMD_LIST (ctl_proto.h): a command without
 * a handler does not compile. */
static json_object *(*const handlers[CTL_CMD__MAX])(struct ctl_call *) = {
#define CTL_X(id, name, admin, words, help) [CTL_CMD_##id] = h_##id,
	CTL_CMD_LIST(CTL_X)
#undef CTL_X
};
_Static_assert(sizeof(handlers) / sizeof(handlers[0]) == CTL_CMD__MAX, "a handler per command");

static bool needs_admin(const struct ctl_cmd *cmd, json_object *args)
{
	json_object *v;

	if (cmd->admin == CTL_ADMIN)
		return true;
	/* key material is as sensitive as the right to change it */
	return cmd->admin == CTL_ADMIN_KEYS &&
	       json_object_object_get_ex(args, "keys", &v) && json_object_get_boolean(v);
}

json_object *ctl_cmds_dispatch(struct xdpsecd *d, json_object *req,
			       const struct ctl_peer *p, bool *monitor)
{
	json_object *id = NULL, *v, *args = NULL, *empty = NULL, *reply;
	struct ctl_call call;
	const char *cmd;
	int which;

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
		args = empty = json_object_new_object();

	which = ctl_cmd_find(cmd);
	if (which < 0) {
		reply = ctl_reply_err(id, "ENOSYS", "unknown command \"%.64s\"", cmd);
	} else if (needs_admin(&ctl_cmd_table[which], args) && !p->can_change) {
		reply = ctl_reply_err(id, "EPERM", "%s needs root or the admin group%s", cmd,
				      d->admin_group ? "" : " (no --admin-group configured)");
	} else {
		call = (struct ctl_call){ .d = d, .id = id, .args = args, .p = p, .monitor = monitor };
		json_object_object_get_ex(args, "sa", &call.sa);
		reply = handlers[which](&call);
	}
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
			    sa_apply_add(d, &r, true, msg, sizeof(msg))) {
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
