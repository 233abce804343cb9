/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cpu_steer.h - per-peer steering of IPsec frames through a CPUMAP, so one
 * peer pair's packets reach one daemon worker in arrival order (the
 * anti-replay window must not see two workers' interleaving).  The BPF
 * half is bpf/steer.bpf.c; the hash is in bpf/classify.bpf.c.
 */
#ifndef XDPSEC_CPU_STEER_H
#define XDPSEC_CPU_STEER_H

#include <stdbool.h>
#include "xdpsec_common.h"

#define CPU_STEER_MAX_IN   XDPSEC_IFACES_MAX
#define CPU_STEER_QSIZE    2048    /* frames queued per CPU before drops */

struct xdpsec_steer;

struct bpf_link;

struct cpu_steer {
	struct xdpsec_steer *skel;
	struct bpf_link *drops_link;   /* CPUMAP queue drops counted, or NULL */
	int n_cpus;                    /* CPUMAP slots 0..n_cpus-1 in use */
	int n_in;
	struct { int cpumap_fd, cfg_fd; } in[CPU_STEER_MAX_IN];
};

/* An ingress to steer: its classify program's CPUMAP and config map. */
struct cpu_steer_ingress {
	int cpumap_fd, cfg_fd;
};

/* Loads steer.bpf.c sharing the counter and DEVMAP maps of the first
 * ingress, fills CPUMAP slots 0..n_cpus-1 of every ingress and then turns
 * steering on in each config map.  Returns 0, or -errno with a message in
 * err: steering is then off everywhere and frames go straight into the
 * feedback pair, as before (the caller warns and goes on). */
int cpu_steer_start(struct cpu_steer *s, int cnt_fd, int devmap_fd,
		    const struct cpu_steer_ingress *in, int n_in, int n_cpus,
		    char *err, size_t errlen);

/* Steering off in every config map first, then the slots cleared. */
void cpu_steer_stop(struct cpu_steer *s);

#endif
