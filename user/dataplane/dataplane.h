/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dataplane.h - the daemon's packet half: attaches (or adopts) the classify
 * program on the ingress interfaces, builds the feedback veth pair with the
 * decrypt program on its far end, runs one AF_XDP worker per far-end queue
 * and loops every frame through reassembly and the ESP engine.
 *
 * The control half (xdpsecd.c, ctl_*.c) calls only these functions.  With no
 * interface given the daemon runs control-plane only: every function below
 * is then a cheap no-op that reports nothing attached and zero counters.
 */
#ifndef XDPSEC_DATAPLANE_H
#define XDPSEC_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "counters.h"
#include "sa_config.h"

struct xdpsecd;

/* Workers when --workers is not given: one per online CPU, at most this
 * many (--workers may ask for up to XDPSEC_WORKERS_MAX). */
#define DATAPLANE_DEFAULT_WORKERS_MAX 8

struct dataplane_opts {
	const char *const *ifaces;   /* ingress interfaces (-i), may be empty   */
	int n_ifaces;
	int verbose;
	int workers;                 /* 0: DATAPLANE_DEFAULT_WORKERS_MAX above  */
	bool no_steer;               /* frames straight into the feedback pair  */
	uint16_t natt_port;          /* default ESP-in-UDP port, 0 = 4500       */
};

/* Returns 0 or a negative errno with a message in err. */
int dataplane_start(struct xdpsecd *d, const struct dataplane_opts *o,
		    char *err, size_t errlen);
/* Stops the workers, detaches what dataplane_start attached, removes the
 * feedback pair.  Safe to call when start failed or was never called. */
void dataplane_stop(struct xdpsecd *d);

/* The SA table changed (add/del/flush): mirror it into the kernel's SA map.
 * Called by the control commands after every successful change.
 * dataplane_sa_added returns 0, or a negative errno with the reason in err
 * when the kernel refused the SA (then nothing of it is left in the maps:
 * the caller removes it from the SA table too). */
int dataplane_sa_added(struct xdpsecd *d, uint32_t sa_index,
		       const struct xs_sa_config *cfg, char *err, size_t errlen);
void dataplane_sa_deleted(struct xdpsecd *d, uint32_t sa_index,
			  const struct xs_sa_config *cfg);

/* The maps called `name` of the attached classify programs: new fds the
 * caller closes (one per interface; programs may share maps).  Returns
 * how many (at most max). */
int dataplane_prog_map_fds(struct xdpsecd *d, const char *name, int *fds, int max);

/* BPF counters (summed over CPUs), per-branch and pipeline counters.
 * Returns how many it would have written (may exceed max). */
size_t dataplane_counters(struct xdpsecd *d, struct xs_counter *out, size_t max);
void dataplane_reset_counters(struct xdpsecd *d);

/* Fills `status` fields: interfaces, attach mode, feedback pair, workers,
 * queue depths. */
void dataplane_status(struct xdpsecd *d, json_object *out);

#endif
