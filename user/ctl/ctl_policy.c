// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ctl_policy.c - see ctl_policy.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ctl_policy.h"
#include "ctl_proto.h"
#include "events.h"
#include "policy_parse.h"
#include "sa_json_ext.h"
#include "spd.h"
#include "spd_maps.h"
#include "state_file.h"

static void list_cb(const struct xs_policy *p, void *arg)
{
	json_object_array_add(arg, spd_policy_to_json(p));
}

json_object *ctl_policy_dispatch(struct xdpsecd *d, const char *cmd, json_object *args,
				 json_object *id)
{
	struct xs_policy p;
	json_object *o, *res;
	char err[256];
	int rc;

	if (!strcmp(cmd, "policy list")) {
		res = json_object_new_object();
		o = json_object_new_array();
		spd_walk(d->spd, list_cb, o);
		json_object_object_add(res, "policies", o);
		return ctl_reply_ok(id, res);
	}
	if (!strcmp(cmd, "policy flush")) {
		unsigned n = spd_flush(d->spd, XS_ORIGIN_MANUAL);

		spd_maps_sync(d);
		if (n)
			state_file_changed(d);  /* manual policies persist (state_file.c) */
		events_post(d->events, "policy_flushed", "%u policies", n);
		res = json_object_new_object();
		json_object_object_add(res, "deleted", json_object_new_int64(n));
		return ctl_reply_ok(id, res);
	}
	if (strcmp(cmd, "policy add") && strcmp(cmd, "policy del"))
		return ctl_reply_err(id, "ENOSYS", "unknown command \"%.64s\"", cmd);
	if (!json_object_object_get_ex(args, "policy", &o) ||
	    spd_policy_from_json(o, &p, err, sizeof(err)))
		return ctl_reply_err(id, "EINVAL", "%s", json_object_object_get_ex(args, "policy", &o)
				     ? err : "\"policy\": missing");
	if (p.dir != XS_DIR_IN)
		return ctl_reply_err(id, "EINVAL", "\"dir\": xdpsec enforces dir in only");
	if (cmd[7] == 'a') {
		rc = spd_add(d->spd, &p, false, err, sizeof(err));
		if (rc)
			return ctl_reply_err(id, rc == -EEXIST ? "EEXIST" : rc == -ENOSPC ? "ENOSPC" : "EINVAL",
					     "%s", err);
		events_post(d->events, "policy_added", "index %u", p.index);
	} else {
		if (spd_del(d->spd, p.dir, &p.sel, p.index, XS_ORIGIN_MANUAL))
			return ctl_reply_err(id, "ENOENT", "no such manual policy");
		events_post(d->events, "policy_deleted", "dir in%s", p.index ? " (by index)" : "");
	}
	spd_maps_sync(d);
	state_file_changed(d);
	return ctl_reply_ok(id, NULL);
}

int ctl_policy_build(int argc, char *const *argv, json_object **req, char *err, size_t errlen)
{
	const char *sub = argc > 1 ? argv[1] : "list";
	json_object *args = json_object_new_object();
	struct xs_policy p;
	char cmd[32];

	if (!strcmp(sub, "add") || !strcmp(sub, "del") || !strcmp(sub, "delete")) {
		bool del = sub[0] == 'd';

		if (policy_parse(argc - 2, argv + 2, del, &p, err, errlen)) {
			json_object_put(args);
			return -1;
		}
		json_object_object_add(args, "policy", spd_policy_to_json(&p));
		sub = del ? "del" : "add";
	} else if (!strcmp(sub, "list") || !strcmp(sub, "show") || !strcmp(sub, "flush")) {
		if (argc > 2) {
			snprintf(err, errlen, "\"%s\": unexpected word after policy %s", argv[2], sub);
			json_object_put(args);
			return -1;
		}
		if (!strcmp(sub, "show"))
			sub = "list";
	} else {
		snprintf(err, errlen, "\"%s\": unknown policy command (expected add, del, list or flush)", sub);
		json_object_put(args);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "policy %s", sub);
	*req = json_object_new_object();
	json_object_object_add(*req, "v", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(*req, "id", json_object_new_int(1));
	json_object_object_add(*req, "cmd", json_object_new_string(cmd));
	json_object_object_add(*req, "args", args);
	return 0;
}
