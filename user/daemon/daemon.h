/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * daemon.h - state of one xdpsecd process, shared by its control half
 * (xdpsecd.c, ctl_server.c, ctl_cmds.c) and its packet half (dataplane.c).
 *
 * Locking: the SA table is read-mostly and safe for concurrent lookups
 * (sa_table.h); the reassembly engine is not thread-safe and is used only
 * under reasm_lock.
 */
#ifndef XDPSEC_DAEMON_H
#define XDPSEC_DAEMON_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct sa_table;
struct reasm;
struct events;
struct dataplane;
struct ctl_server;
struct kernel_features;
struct state_persist;
struct spd;
struct xfrm_mirror;

/* Run-time limits (`xdpsecctl limits get|set`), persisted in the state file. */
struct xs_limits {
	uint32_t reasm_timeout_ms;     /* default 30000                      */
	uint64_t reasm_mem_cap;        /* bytes of fragments, default 4 MiB  */
	uint32_t reasm_max_frags;      /* per datagram, default 64           */
	uint32_t reasm_max_datagrams;  /* concurrent, default 4096           */
	uint32_t reasm_src_share_pct;  /* per-source share of mem cap, % (default 25) */
	uint32_t replay_window_default;/* for SAs added without replay-window, 0 = off?
				          default 32 like ip xfrm           */
};

struct xdpsecd {
	/* configuration (command line) */
	const char *sock_path;
	const char *state_path;
	const char *config_path;
	gid_t sock_gid;                /* group allowed read-only commands    */
	gid_t admin_gid;               /* group allowed changes (besides root) */
	int verbose;
	time_t started;

	/* shared state */
	struct sa_table *sat;
	struct reasm *reasm;
	pthread_mutex_t reasm_lock;
	struct xs_limits limits;
	struct events *events;         /* `xdpsecctl monitor` event stream  */
	struct spd *spd;               /* inbound policies (spd.h)          */
	struct xfrm_mirror *xfrm;      /* --xfrm: the kernel's XFRM mirrored */

	struct dataplane *dp;          /* NULL when control-plane only      */
	/* what this kernel lets the data plane do, probed once at start
	 * (kernel_features.h); NULL only before the probe */
	const struct kernel_features *features;

	/* control half (owned by xdpsecd.c / ctl_*.c / state_file.c) */
	const char *const *ifaces;     /* -i arguments, for status           */
	int n_ifaces;
	const char *sock_group;        /* --group / --admin-group names       */
	const char *admin_group;
	uint32_t max_sas;
	struct ctl_server *srv;
	int loading;                   /* >0 while restoring state / running -c:
				          changes do not rewrite the state file */
	int state_defer;               /* >0 while a client's batch runs a command:
				          its changes are written at the batch's end */
	struct state_persist *sp;      /* state_file.c; NULL with --state none */
	uint64_t state_saves;          /* snapshots written                  */
	uint64_t state_save_errors;
};

#endif
