/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_policy.h - `policy add|del|list|flush` on the control socket
 * (docs/control.md): the hand-keyed side of the inbound SPD (spd.h).
 * Policies of origin xfrm (xfrm_mirror.c) are listed but neither deleted
 * nor flushed here: the kernel owns them.
 */
#ifndef XDPSEC_CTL_POLICY_H
#define XDPSEC_CTL_POLICY_H

#include <json-c/json.h>
#include "daemon.h"

json_object *ctl_policy_dispatch(struct xdpsecd *d, const char *cmd, json_object *args,
				 json_object *id);
/* Client side: the words after `policy` -> request.  0 or -1 with err. */
int ctl_policy_build(int argc, char *const *argv, json_object **req, char *err, size_t errlen);

#endif
