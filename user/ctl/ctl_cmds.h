/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_cmds.h - the daemon's control commands: one request object in, one
 * reply object out.  Used by the control socket (ctl_server.c), by the -c
 * config batch and by the state file loader, so every path applies an SA
 * or a limit the same way (SA table, data plane mirror, event, state file).
 */
#ifndef XDPSEC_CTL_CMDS_H
#define XDPSEC_CTL_CMDS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "daemon.h"
#include "sa_parse.h"

/* Who sent the request (SO_PEERCRED / SO_PEERGROUPS). */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool can_change;     /* root, or member of the admin group */
};

/* Runs one request.  *monitor is set when the client subscribed to events.
 * Never returns NULL. */
json_object *ctl_cmds_dispatch(struct xdpsecd *d, json_object *req,
			       const struct ctl_peer *peer, bool *monitor);

/* SA changes go through every layer in user/daemon/sa_apply.h. */
#include "sa_apply.h"

/* The `stats` and `reasm` replies (ctl_stats.c). */
json_object *ctl_cmd_stats(struct xdpsecd *d, json_object *args, const struct ctl_peer *p,
			   json_object *id);
json_object *ctl_cmd_reasm(struct xdpsecd *d, json_object *id);

/* Limits. */
void ctl_cmds_limits_default(struct xs_limits *l);
json_object *ctl_cmds_limits_json(const struct xs_limits *l);
/* Applies the fields present in o over d->limits (reassembly engine
 * included).  0 or -errno with err; nothing changes on error. */
int ctl_cmds_limits_apply(struct xdpsecd *d, json_object *o, char *err, size_t errlen);

/* Runs a file of xdpsecctl commands as root (-c CONFIG, SIGHUP).  SA adds
 * are idempotent (replace=true).  Stops at the first error: returns -1 and
 * err says "FILE:LINE: reason". */
int ctl_cmds_run_batch(struct xdpsecd *d, FILE *f, const char *name,
		       char *err, size_t errlen);

/* CLOCK_MONOTONIC in milliseconds: the clock of reasm_* now_ms. */
uint64_t ctl_now_ms(void);

#endif
