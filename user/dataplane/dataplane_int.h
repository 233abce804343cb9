/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dataplane_int.h - the state of the data plane's set-up, shared by its
 * files only (not an API; dataplane.h is):
 *   dataplane.c    start and stop, steering, workers
 *   dp_attach.c    classify program: attach or adopt; decrypt program: load
 *   dp_sa_mirror.c the SA table mirrored into the BPF maps
 *   dp_stats.c     counters and status
 * The per-frame loop the workers run is pipeline.c.
 */
#ifndef XDPSEC_DATAPLANE_INT_H
#define XDPSEC_DATAPLANE_INT_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/bpf.h>

#include "cpu_steer.h"
#include "feedback_veth.h"
#include "kernel_features.h"
#include "pipeline.h"
#include "sa_table.h"
#include "xdpsec_common.h"
#include "xsk_io.h"

struct xdpsec_classify;      /* classify.skel.h */
struct xdpsec_decrypt;       /* decrypt.skel.h */
struct xdpsecd;

#define MAX_IFACES XDPSEC_IFACES_MAX
#define FEEDBACK_MTU 65535
/* The largest frame the daemon sends back in: the shim (Ethernet header +
 * struct xdpsec_tag) and an IPv6 datagram of 40 + 65535 bytes.  veth
 * drops, silently, a frame longer than the receiving end's MTU + 18; above
 * 65535 the far end's MTU can only be raised once the near end has a
 * frags-aware XDP program (xdpsec_near), which load_decrypt() attaches. */
#define FEEDBACK_MAX_FRAME (14 + 32 + 40 + 65535)
#define FEEDBACK_MTU_LARGE (FEEDBACK_MAX_FRAME - 14)
/* Without multi-buffer XDP and AF_XDP (kernel_features.h) the pair runs at
 * the single-buffer size: veth refuses a program that is not frags-aware
 * on an end whose MTU exceeds a page less the XDP headroom and
 * skb_shared_info (3520 bytes of frame).  Larger frames take the
 * pipeline's counted fallback (pipeline.c, send_oversize). */
#define FEEDBACK_MTU_SINGLE ((int)XSKIO_MAX_PKT_NOSG - 14)

struct ingress {
	char name[IF_NAMESIZE];
	int ifindex;
	bool attached_by_us;      /* else adopted: left attached on stop */
	__u32 xdp_flags;
	int prog_fd;
	struct xdpsec_classify *skel;   /* when we loaded it */
	int cnt_fd, cfg_fd, devmap_fd, sa_fd, sastate_fd, xsks_fd, natt_fd;
};

struct worker {
	pthread_t thread;
	bool running;
	struct pipeline_worker pw;
};

struct dataplane {
	struct ingress in[MAX_IFACES];
	int n_in;
	struct feedback_pair fp;
	struct xdpsec_decrypt *dec;
	bool dec_attached;
	bool near_attached;       /* xdpsec_near on the near end */
	struct xsk_port_kstats kstats_base;
	uint64_t too_big_base;
	bool sg;
	struct xdpsec_sa_state *sastate;
	size_t sastate_len;
	struct worker *workers;
	int n_workers;
	atomic_bool stop;
	uint64_t cnt_base[XDPSEC_CNT__MAX];   /* for `stats --reset` */
	struct pipeline_stats pipe_base;
	struct xsk_port_stats xsk_base;
	uint64_t fb_dropped_base;
	struct cpu_steer steer;
	bool steering, no_steer;
	int n_cpumap_fds, cpumap_fd[MAX_IFACES];
	int ncpus;
	struct natt_peers *natt;      /* NAT-T peer pairs, mirrored into xdpsec_natt */
	const struct kernel_features *features;
	uint16_t natt_port;           /* the host's default ESP-in-UDP port */
};

/* Whether ingress i uses the same map (the fd in field `field` of struct
 * ingress) as an earlier one: ours share the first interface's maps, an
 * adopted program may have its own.  Each map is written or read once. */
#define DP_MAP_SEEN(dp, i, field) dp_map_seen(dp, i, offsetof(struct ingress, field))
static inline bool dp_map_seen(const struct dataplane *dp, int i, size_t off)
{
	int fd = *(const int *)(const void *)((const char *)&dp->in[i] + off);

	for (int j = 0; j < i; j++)
		if (*(const int *)(const void *)((const char *)&dp->in[j] + off) == fd)
			return true;
	return false;
}

/* dp_attach.c */
int dp_map_fd_by_name(int prog_fd, const char *want);
int dp_attach_or_adopt(struct dataplane *dp, struct ingress *in, char *err, size_t errlen);
void dp_release_ingress(struct ingress *in);
int dp_load_decrypt(struct dataplane *dp, char *err, size_t errlen);
void dp_unload_decrypt(struct dataplane *dp);
int dp_decrypt_xsks_fd(struct dataplane *dp);

/* dp_sa_mirror.c */
void dp_sa_maps_reset(struct dataplane *dp);
int dp_mirror_one(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st,
		  void *arg);

/* dp_stats.c */
void dp_read_bpf_counters(struct dataplane *dp, uint64_t out[XDPSEC_CNT__MAX]);

#endif
