// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dataplane.c - the daemon's packet half (see dataplane.h).
 * This first version is control-plane only: nothing is attached and every
 * query reports an idle data plane.  The AF_XDP pipeline replaces it.
 */
#include <errno.h>
#include <stdio.h>
#include "daemon.h"
#include "dataplane.h"

int dataplane_start(struct xdpsecd *d, const struct dataplane_opts *o,
		    char *err, size_t errlen)
{
	(void)d;
	if (o && o->n_ifaces > 0) {
		snprintf(err, errlen, "data plane not built yet");
		return -EOPNOTSUPP;
	}
	return 0;
}

void dataplane_stop(struct xdpsecd *d) { (void)d; }

void dataplane_sa_added(struct xdpsecd *d, uint32_t sa_index,
			const struct xs_sa_config *cfg)
{
	(void)d; (void)sa_index; (void)cfg;
}

void dataplane_sa_deleted(struct xdpsecd *d, uint32_t sa_index,
			  const struct xs_sa_config *cfg)
{
	(void)d; (void)sa_index; (void)cfg;
}

size_t dataplane_counters(struct xdpsecd *d, struct xs_counter *out, size_t max)
{
	(void)d; (void)out; (void)max;
	return 0;
}

void dataplane_reset_counters(struct xdpsecd *d) { (void)d; }

void dataplane_status(struct xdpsecd *d, json_object *out)
{
	(void)d;
	json_object_object_add(out, "interfaces", json_object_new_array());
	json_object_object_add(out, "workers", json_object_new_int(0));
}
