// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dataplane.c - the daemon's packet half (see dataplane.h).
 *
 * Start-up, in order:
 *  1. on every ingress interface, adopt the classify program already
 *     attached (found from the interface: prog id -> map ids -> names; no
 *     pin path assumed) or load and attach our own;
 *  2. create the feedback veth pair;
 *  3. load the decrypt program with the classify program's maps (one SA
 *     map, one counter array, one config) and attach it natively on the
 *     far end;
 *  4. one worker per far-end queue: an AF_XDP socket pair (xsk_io.c) and
 *     a thread running the pipeline (pipeline.c);
 *  5. point the DEVMAP at the near end: only now does IPsec traffic flow
 *     to us; until then the classify program passes it to the stack.
 * Stop undoes it in reverse; plain traffic is never interrupted.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classify.skel.h"
#include "cpu_steer.h"
#include "decrypt.skel.h"
#include "daemon.h"
#include "dataplane.h"
#include "esp.h"
#include "feedback_veth.h"
#include "kernel_features.h"
#include "log.h"
#include "natt_peers.h"
#include "pipeline.h"
#include "sa_table.h"
#include "xdpsec_common.h"
#include "xsk_io.h"

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

/* ---------------------------------------------------------------- maps */

static int map_fd_by_name(int prog_fd, const char *want)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), ids[32], n;

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids < 32 ? info.nr_map_ids : 32;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) && !strcmp(mi.name, want))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

static int adopt_maps(struct ingress *in, char *err, size_t errlen)
{
	static const char *const names[] = { XDPSEC_MAP_COUNTERS, XDPSEC_MAP_CONFIG,
		XDPSEC_MAP_DEVMAP, XDPSEC_MAP_SA, XDPSEC_MAP_SA_STATE, XDPSEC_MAP_XSKS,
		XDPSEC_MAP_NATT };
	int *fds[] = { &in->cnt_fd, &in->cfg_fd, &in->devmap_fd, &in->sa_fd, &in->sastate_fd,
		       &in->xsks_fd, &in->natt_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		*fds[i] = map_fd_by_name(in->prog_fd, names[i]);
		if (*fds[i] < 0) {
			snprintf(err, errlen, "%s: the attached program has no map %s: "
				 "not an xdpsec classify program of this version", in->name, names[i]);
			return -ENOENT;
		}
	}
	return 0;
}

static int attach_or_adopt(struct dataplane *dp, struct ingress *in, char *err, size_t errlen)
{
	__u32 prog_id = 0;
	int ret;

	in->ifindex = (int)if_nametoindex(in->name);
	if (!in->ifindex) {
		snprintf(err, errlen, "-i %s: no such interface", in->name);
		return -ENODEV;
	}
	in->cnt_fd = in->cfg_fd = in->devmap_fd = in->sa_fd = in->sastate_fd = -1;
	in->xsks_fd = in->natt_fd = -1;
	if (!bpf_xdp_query_id(in->ifindex, 0, &prog_id) && prog_id) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		in->prog_fd = bpf_prog_get_fd_by_id(prog_id);
		if (in->prog_fd < 0 || bpf_obj_get_info_by_fd(in->prog_fd, &info, &len)) {
			snprintf(err, errlen, "%s: cannot inspect attached XDP program %u", in->name, prog_id);
			return -EPERM;
		}
		if (strcmp(info.name, "xdpsec_classify")) {
			snprintf(err, errlen, "%s: another XDP program (%s, id %u) is attached; "
				 "detach it first (ip link set dev %s xdp off)",
				 in->name, info.name, prog_id, in->name);
			return -EBUSY;
		}
		pr_info("%s: adopting attached classify program id %u\n", in->name, prog_id);
		return adopt_maps(in, err, errlen);
	}

	/* Nothing attached: load our own, sharing the first interface's maps. */
	in->skel = xdpsec_classify__open();
	if (!in->skel) {
		snprintf(err, errlen, "%s: cannot open the classify program", in->name);
		return -ENOMEM;
	}
	if (dp->n_in > 0 && dp->in != in) {
		struct ingress *first = &dp->in[0];

		bpf_map__reuse_fd(in->skel->maps.xdpsec_cnt, first->cnt_fd);
		bpf_map__reuse_fd(in->skel->maps.xdpsec_cfg, first->cfg_fd);
		bpf_map__reuse_fd(in->skel->maps.xdpsec_devmap, first->devmap_fd);
		bpf_map__reuse_fd(in->skel->maps.xdpsec_sa, first->sa_fd);
		bpf_map__reuse_fd(in->skel->maps.xdpsec_sastate, first->sastate_fd);
		bpf_map__reuse_fd(in->skel->maps.xdpsec_xsks, first->xsks_fd);
		bpf_map__reuse_fd(in->skel->maps.xdpsec_natt, first->natt_fd);
	}
	if (!kfeat_has(dp->features, KFEAT_MMAPABLE_ARRAY))
		bpf_map__set_map_flags(in->skel->maps.xdpsec_sastate,
				       bpf_map__map_flags(in->skel->maps.xdpsec_sastate) &
				       ~(__u32)BPF_F_MMAPABLE);
	ret = xdpsec_classify__load(in->skel);
	if (ret) {
		snprintf(err, errlen, "%s: loading the classify program failed: %s (run with -v)",
			 in->name, strerror(-ret));
		return ret;
	}
	in->prog_fd = bpf_program__fd(in->skel->progs.xdpsec_classify);
	in->xdp_flags = XDP_FLAGS_DRV_MODE;
	ret = bpf_xdp_attach(in->ifindex, in->prog_fd, in->xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (ret) {
		pr_info("%s: native XDP unavailable (%s), using generic mode\n", in->name, strerror(-ret));
		in->xdp_flags = XDP_FLAGS_SKB_MODE;
		ret = bpf_xdp_attach(in->ifindex, in->prog_fd, in->xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (ret) {
		snprintf(err, errlen, "%s: attaching the classify program failed: %s", in->name, strerror(-ret));
		return ret;
	}
	in->attached_by_us = true;
	in->cnt_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_cnt));
	in->cfg_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_cfg));
	in->devmap_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_devmap));
	in->sa_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_sa));
	in->sastate_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_sastate));
	in->xsks_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_xsks));
	in->natt_fd = dup(bpf_map__fd(in->skel->maps.xdpsec_natt));
	pr_info("%s: attached classify program (%s mode)\n", in->name,
		in->xdp_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic");
	return 0;
}

static void release_ingress(struct ingress *in)
{
	if (in->ifindex) {
		__u32 slot = XDPSEC_DEVMAP_FEEDBACK;

		if (in->devmap_fd >= 0)
			bpf_map_delete_elem(in->devmap_fd, &slot);
		if (in->attached_by_us)
			bpf_xdp_detach(in->ifindex, in->xdp_flags, NULL);
	}
	int *fds[] = { &in->cnt_fd, &in->cfg_fd, &in->devmap_fd, &in->sa_fd, &in->sastate_fd,
		       &in->xsks_fd, &in->natt_fd, &in->prog_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		/* the skeleton owns its prog fd */
		if (fds[i] == &in->prog_fd && in->skel)
			continue;
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (in->skel)
		xdpsec_classify__destroy(in->skel);
	in->skel = NULL;
}

/* -------------------------------------------------------------- decrypt */

static int load_decrypt(struct dataplane *dp, char *err, size_t errlen)
{
	struct ingress *first = &dp->in[0];
	int ret;

	dp->dec = xdpsec_decrypt__open();
	if (!dp->dec) {
		snprintf(err, errlen, "cannot open the decrypt program");
		return -ENOMEM;
	}
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_cnt, first->cnt_fd);
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_cfg, first->cfg_fd);
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_devmap, first->devmap_fd);
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_sa, first->sa_fd);
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_sastate, first->sastate_fd);
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_xsks, first->xsks_fd);
	bpf_map__reuse_fd(dp->dec->maps.xdpsec_natt, first->natt_fd);
	if (!dp->sg) {
		/* single-buffer pair: a program that is not frags-aware, no
		 * multi-buffer length helper, no near-end program (it only
		 * serves MTUs above 65535) */
		struct bpf_program *prog = dp->dec->progs.xdpsec_decrypt;

		bpf_program__set_flags(prog, bpf_program__flags(prog) & ~(__u32)BPF_F_XDP_HAS_FRAGS);
		bpf_program__set_autoload(dp->dec->progs.xdpsec_near, false);
		dp->dec->rodata->xdpsec_multibuf = false;
	}
	if (!kfeat_has(dp->features, KFEAT_MMAPABLE_ARRAY))
		bpf_map__set_map_flags(dp->dec->maps.xdpsec_sastate,
				       bpf_map__map_flags(dp->dec->maps.xdpsec_sastate) &
				       ~(__u32)BPF_F_MMAPABLE);
	ret = xdpsec_decrypt__load(dp->dec);
	if (ret) {
		snprintf(err, errlen, "loading the decrypt program failed: %s (run with -v)", strerror(-ret));
		return ret;
	}
	ret = bpf_xdp_attach(dp->fp.far_ifindex, bpf_program__fd(dp->dec->progs.xdpsec_decrypt),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (ret) {
		snprintf(err, errlen, "attaching the decrypt program natively on %s failed: %s",
			 dp->fp.far, strerror(-ret));
		return ret;
	}
	dp->dec_attached = true;

	if (!dp->sg)
		return 0;
	/* Large datagrams: the pair's MTU above 65535 (see FEEDBACK_MTU_LARGE).
	 * Without it the workers refuse, and count, the few frames above the
	 * MTU (datagrams of more than 65507 bytes, IP header included). */
	ret = bpf_xdp_attach(dp->fp.near_ifindex, bpf_program__fd(dp->dec->progs.xdpsec_near),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (ret)
		pr_warn("attaching the near-end program on %s failed (%s): feedback MTU stays %d\n",
			dp->fp.near, strerror(-ret), dp->fp.mtu);
	else
		dp->near_attached = true;
	if (dp->near_attached && feedback_pair_set_mtu(&dp->fp, FEEDBACK_MTU_LARGE))
		pr_warn("cannot raise the feedback pair's MTU to %d: it stays %d, larger frames "
			"are refused (xsk/tx_too_big)\n", FEEDBACK_MTU_LARGE, dp->fp.mtu);
	return 0;
}

/* ------------------------------------------------------------ steering */

/* With more than one far-end queue, send each peer pair's frames through
 * one CPU (cpu_steer.h).  Without it the data plane still works, but one
 * SA's packets may be reordered across workers under load. */
static void start_steering(struct dataplane *dp)
{
	struct cpu_steer_ingress si[MAX_IFACES];
	char err[256];

	if (dp->n_workers < 2)
		return;         /* one queue, one worker: arrival order is kept */
	if (dp->no_steer) {
		pr_info("per-peer steering off (--no-steer)\n");
		return;
	}
	/* xdpsecd.c said so at start, once */
	if (!kfeat_has(dp->features, KFEAT_CPUMAP_REDIRECT) ||
	    !kfeat_has(dp->features, KFEAT_CPUMAP_PROG))
		return;
	for (int i = 0; i < dp->n_in; i++) {
		int fd = map_fd_by_name(dp->in[i].prog_fd, XDPSEC_MAP_CPUMAP);

		if (fd < 0) {
			pr_warn("%s: the classify program has no %s map (an older build): "
				"no per-peer steering; one SA's packets may be reordered "
				"across workers\n", dp->in[i].name, XDPSEC_MAP_CPUMAP);
			return;
		}
		dp->cpumap_fd[dp->n_cpumap_fds++] = fd;
		si[i] = (struct cpu_steer_ingress){ fd, dp->in[i].cfg_fd };
	}
	if (cpu_steer_start(&dp->steer, dp->in[0].cnt_fd, dp->in[0].devmap_fd, si, dp->n_in,
			    dp->n_workers, err, sizeof(err))) {
		pr_warn("%s: one SA's packets may be reordered across workers\n", err);
		return;
	}
	dp->steering = true;
	pr_info("per-peer steering through CPUs 0-%d\n", dp->n_workers - 1);
}

static void stop_steering(struct dataplane *dp)
{
	if (dp->steering)
		cpu_steer_stop(&dp->steer);
	dp->steering = false;
	for (int i = 0; i < dp->n_cpumap_fds; i++)
		close(dp->cpumap_fd[i]);
	dp->n_cpumap_fds = 0;
}

/* ------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct dataplane *dp = wk->pw.d->dp;
	struct xsk_pkt pkts[XSKIO_BATCH];
	struct sched_param sp = { 0 };

	/* SCHED_BATCH: a woken worker does not preempt the CPUMAP kthread
	 * (or the softirq work in it) that is still delivering a burst to its
	 * ring on this CPU, so it wakes once per burst with a full batch
	 * instead of once per few frames: fewer poll() and sendto() calls
	 * (about 4 us each on these VMs) per datagram.  Measured in
	 * docs/benchmarks.md; failure changes nothing but the batching. */
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	while (!atomic_load_explicit(&dp->stop, memory_order_relaxed)) {
		int n = xsk_port_rx(wk->pw.port, pkts, XSKIO_BATCH, 100);

		if (n > 0)
			pipeline_handle_burst(&wk->pw, pkts, (unsigned)n);
		xsk_port_flush(wk->pw.port);
	}
	return NULL;
}

static int start_workers(struct xdpsecd *d, char *err, size_t errlen)
{
	struct dataplane *dp = d->dp;
	int xsks_fd = bpf_map__fd(dp->dec->maps.xdpsec_xsks);

	dp->workers = calloc((size_t)dp->n_workers, sizeof(*dp->workers));
	if (!dp->workers)
		return -ENOMEM;
	for (int q = 0; q < dp->n_workers; q++) {
		struct worker *wk = &dp->workers[q];
		struct pipeline_worker *pw = &wk->pw;
		__u32 key = (__u32)q;
		int fd;

		pw->d = d;
		pw->sastate = dp->sastate;
		pw->natt_fd = dp->in[0].natt_fd;
		pw->frag_id = (uint32_t)q << 24;   /* disjoint per worker */
		pw->natt_port = dp->natt_port;
		memcpy(pw->near_mac, dp->fp.near_mac, 6);
		memcpy(pw->far_mac, dp->fp.far_mac, 6);
		pw->port = xsk_port_open(dp->fp.far_ifindex, dp->fp.near_ifindex, q, dp->sg, err, errlen);
		if (!pw->port && dp->sg) {
			pr_warn("%s; retrying without multi-buffer (frames above %u bytes will be "
				"refused, counted in xsk/tx_too_big)\n", err, XSKIO_MAX_PKT_NOSG);
			dp->sg = false;
			pw->port = xsk_port_open(dp->fp.far_ifindex, dp->fp.near_ifindex, q, false, err, errlen);
		}
		if (!pw->port)
			return -EIO;
		xsk_port_set_max_frame(pw->port, (uint32_t)dp->fp.mtu + 14);
		pw->esp = esp_ctx_new(d->sat);
		if (!pw->esp) {
			snprintf(err, errlen, "cannot create ESP context for worker %d", q);
			return -ENOMEM;
		}
		fd = xsk_port_rx_fd(pw->port);
		if (bpf_map_update_elem(xsks_fd, &key, &fd, 0)) {
			snprintf(err, errlen, "XSKMAP update for queue %d: %s", q, strerror(errno));
			return -errno;
		}
		/* An ingress program with maps of its own (adopted) reads
		 * slot 0 of its XSKMAP to know the daemon lives: the kernel
		 * empties every map's slots when the socket closes. */
		for (int i = 1; i < dp->n_in; i++)
			if (dp->in[i].xsks_fd != dp->in[0].xsks_fd)
				bpf_map_update_elem(dp->in[i].xsks_fd, &key, &fd, 0);
		if (pthread_create(&wk->thread, NULL, worker_main, wk)) {
			snprintf(err, errlen, "cannot start worker %d", q);
			return -EAGAIN;
		}
		wk->running = true;
		/* Worker q on CPU q: steering sends a peer's frames through CPU
		 * q, whose transmit picks far-end queue q; keeping the worker,
		 * the CPUMAP thread and the far end's NAPI on one CPU avoids
		 * handing the queue between CPUs. */
		if (q < CPU_SETSIZE) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(q, &set);
			if (pthread_setaffinity_np(wk->thread, sizeof(set), &set))
				pr_debug("worker %d: cannot pin to CPU %d\n", q, q);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ SA mirror */

static void sa_key_of(const struct xs_sa_config *cfg, struct xdpsec_sa_key *k)
{
	memset(k, 0, sizeof(*k));
	k->spi = htonl(cfg->spi);
	k->family = cfg->dst.family;
	k->proto = IPPROTO_ESP;
	k->encap_port = cfg->encap ? cfg->encap_dport : 0;
	memcpy(k->daddr, cfg->dst.bytes, cfg->dst.family == AF_INET ? 4 : 16);
}

/* An ESP-in-UDP SA came or went: its peer pair's entry in every distinct
 * xdpsec_natt map (struct xdpsec_natt_val: the pair's SA ports).  Ports
 * belong to SAs: another SA's port never moves this one's. */
static int natt_update(struct dataplane *dp, const struct xs_sa_config *cfg, bool add,
		       char *err, size_t errlen)
{
	struct xdpsec_natt_key k = { .family = cfg->dst.family };
	struct xdpsec_natt_val v;
	size_t alen = cfg->dst.family == AF_INET ? 4 : 16;
	bool present = true;

	if (!dp->natt)
		return 0;
	memcpy(k.saddr, cfg->src.bytes, alen);
	memcpy(k.daddr, cfg->dst.bytes, alen);
	if (add) {
		if (natt_peers_add(dp->natt, &k, cfg->encap_dport, &v)) {
			snprintf(err, errlen, "SPI 0x%08x: more than %d ESP-in-UDP ports between "
				 "one peer pair", cfg->spi, XDPSEC_NATT_PORTS_MAX);
			return -ENOSPC;
		}
	} else {
		present = natt_peers_del(dp->natt, &k, cfg->encap_dport, &v);
	}
	for (int i = 0; i < dp->n_in; i++) {
		bool dup_map = false;

		for (int j = 0; j < i; j++)
			dup_map |= dp->in[j].natt_fd == dp->in[i].natt_fd;
		if (dup_map)
			continue;
		if (present ? bpf_map_update_elem(dp->in[i].natt_fd, &k, &v, BPF_ANY)
			    : bpf_map_delete_elem(dp->in[i].natt_fd, &k) && errno != ENOENT)
			pr_warn("NAT-T pair map update for SPI 0x%08x failed: %s\n", cfg->spi,
				strerror(errno));
	}
	return 0;
}


/* The SA into every distinct SA map, all or none: on a refusal the maps
 * already written are undone, so the kernel never holds half an SA. */
static int sa_map_insert(struct dataplane *dp, const struct xdpsec_sa_key *k,
			 const struct xdpsec_sa_val *v, uint32_t spi, char *err, size_t errlen)
{
	for (int i = 0; i < dp->n_in; i++) {
		int e;

		if (i > 0 && dp->in[i].sa_fd == dp->in[0].sa_fd)
			continue;
		if (!bpf_map_update_elem(dp->in[i].sa_fd, k, v, BPF_ANY))
			continue;
		e = errno;
		/* a hash map at max_entries answers E2BIG */
		if (e == E2BIG)
			snprintf(err, errlen, "kernel SA map of %s is full (%d entries): SPI 0x%08x "
				 "not installed", dp->in[i].name, XDPSEC_SA_MAX, spi);
		else
			snprintf(err, errlen, "kernel SA map of %s refused SPI 0x%08x: %s",
				 dp->in[i].name, spi, strerror(e));
		for (int j = 0; j < i; j++)
			if (j == 0 || dp->in[j].sa_fd != dp->in[0].sa_fd)
				bpf_map_delete_elem(dp->in[j].sa_fd, k);
		return -e;
	}
	return 0;
}

int dataplane_sa_added(struct xdpsecd *d, uint32_t sa_index, const struct xs_sa_config *cfg,
		       char *err, size_t errlen)
{
	struct dataplane *dp = d->dp;
	struct xdpsec_sa_key k;
	struct xdpsec_sa_val v = { .sa_index = sa_index };
	int ret;

	if (!dp)
		return 0;
	if (sa_index >= XDPSEC_SA_MAX) {
		snprintf(err, errlen, "SA index %u beyond the kernel SA map (%d entries)",
			 sa_index, XDPSEC_SA_MAX);
		return -E2BIG;
	}
	v.flags = (cfg->esn ? XDPSEC_SA_F_ESN : 0) |
		  (cfg->mode == XS_MODE_TUNNEL ? XDPSEC_SA_F_TUNNEL : 0) | XDPSEC_SA_F_VALID;
	if (dp->sastate) {
		struct xdpsec_sa_state *st = &dp->sastate[sa_index];

		__atomic_store_n(&st->replay_top, 0, __ATOMIC_RELAXED);
		st->replay_window = cfg->replay_window;
		st->flags = v.flags;
	}
	sa_key_of(cfg, &k);
	ret = sa_map_insert(dp, &k, &v, cfg->spi, err, errlen);
	if (ret) {
		if (dp->sastate)
			dp->sastate[sa_index].flags = 0;
		return ret;
	}
	if (cfg->encap) {
		ret = natt_update(dp, cfg, true, err, errlen);
		if (ret) {
			for (int i = 0; i < dp->n_in; i++)
				if (i == 0 || dp->in[i].sa_fd != dp->in[0].sa_fd)
					bpf_map_delete_elem(dp->in[i].sa_fd, &k);
			if (dp->sastate)
				dp->sastate[sa_index].flags = 0;
			return ret;
		}
	}
	return 0;
}

int dataplane_prog_map_fds(struct xdpsecd *d, const char *name, int *fds, int max)
{
	struct dataplane *dp = d->dp;
	int n = 0;

	for (int i = 0; dp && i < dp->n_in && n < max; i++) {
		int fd = map_fd_by_name(dp->in[i].prog_fd, name);

		if (fd >= 0)
			fds[n++] = fd;
	}
	return n;
}

void dataplane_sa_deleted(struct xdpsecd *d, uint32_t sa_index, const struct xs_sa_config *cfg)
{
	struct dataplane *dp = d->dp;
	struct xdpsec_sa_key k;

	if (!dp)
		return;
	sa_key_of(cfg, &k);
	for (int i = 0; i < dp->n_in; i++)
		bpf_map_delete_elem(dp->in[i].sa_fd, &k);
	if (cfg->encap)
		natt_update(dp, cfg, false, NULL, 0);
	if (dp->sastate && sa_index < XDPSEC_SA_MAX)
		dp->sastate[sa_index].flags = 0;
}

/* Empties one SA map: keys are collected first, since deleting while
 * walking with bpf_map_get_next_key restarts the walk.  Returns how many
 * entries it removed. */
static unsigned sa_map_clear(int fd)
{
	struct xdpsec_sa_key *keys = calloc(XDPSEC_SA_MAX, sizeof(*keys));
	unsigned n = 0, removed = 0;

	if (!keys)
		return 0;
	while (n < XDPSEC_SA_MAX && !bpf_map_get_next_key(fd, n ? &keys[n - 1] : NULL, &keys[n]))
		n++;
	for (unsigned i = 0; i < n; i++)
		removed += !bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	return removed;
}

/* A classify program adopted from an earlier daemon (killed with -9, or
 * that left it attached) still holds that daemon's SAs: entries this
 * daemon does not own, which admit traffic for SAs it does not know and
 * fill the map until `sa add` fails.  Before our SA table is mirrored,
 * both the SA map and the SA state array are emptied, so afterwards they
 * hold exactly the table (mirror_one). */
static void sa_maps_reset(struct dataplane *dp)
{
	unsigned removed = 0;

	for (int i = 0; i < dp->n_in; i++) {
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= dp->in[j].sa_fd == dp->in[i].sa_fd;
		if (!seen)
			removed += sa_map_clear(dp->in[i].sa_fd);
		seen = false;
		for (int j = 0; j < i; j++)
			seen |= dp->in[j].sastate_fd == dp->in[i].sastate_fd;
		if (seen)
			continue;
		if (i == 0 && dp->sastate) {
			memset(dp->sastate, 0, dp->sastate_len);
			continue;
		}
		for (__u32 k = 0; k < XDPSEC_SA_MAX; k++) {
			struct xdpsec_sa_state zero = { 0 };

			bpf_map_update_elem(dp->in[i].sastate_fd, &k, &zero, BPF_ANY);
		}
	}
	if (removed)
		pr_info("removed %u SA map entries left by an earlier daemon\n", removed);
}

static int mirror_one(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st, void *arg)
{
	char err[256];

	(void)st;
	if (dataplane_sa_added(arg, index, cfg, err, sizeof(err)))
		pr_warn("%s\n", err);
	return 0;
}

/* ------------------------------------------------------------ start/stop */

/* Delete every key of a hash map (an adopted program's leftovers). */
static void clear_hash_map(int fd, size_t key_size)
{
	uint8_t key[64];

	if (key_size > sizeof(key))
		return;
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
}

/* Turn the classify program's early drop of unknown SPIs and old sequence
 * numbers on (once the SA map holds every SA of ours) or off (stopping: an
 * adopted program stays attached, and without a daemon it must pass ESP
 * to the stack, not judge it against SAs no one serves). */
static void set_early_drop(struct dataplane *dp, bool on)
{
	for (int i = 0; i < dp->n_in; i++) {
		struct xdpsec_config c;
		__u32 zero = 0;

		if (dp->in[i].cfg_fd < 0 || bpf_map_lookup_elem(dp->in[i].cfg_fd, &zero, &c))
			continue;
		if (on)
			c.flags |= XDPSEC_CFG_EARLY_DROP;
		else
			c.flags &= (__u16)~XDPSEC_CFG_EARLY_DROP;
		if (bpf_map_update_elem(dp->in[i].cfg_fd, &zero, &c, BPF_ANY))
			pr_warn("%s: cannot switch the early drop %s: %s\n", dp->in[i].name,
				on ? "on" : "off", strerror(errno));
	}
}

/* The host's default NAT-T port into every distinct config map, and the
 * NAT-T pair maps emptied: the SA mirror fills them from this daemon's
 * SAs (an adopted program may hold a previous daemon's). */
static int set_natt_config(struct dataplane *dp, char *err, size_t errlen)
{
	for (int i = 0; i < dp->n_in; i++) {
		struct xdpsec_config c;
		__u32 zero = 0;

		if (bpf_map_lookup_elem(dp->in[i].cfg_fd, &zero, &c)) {
			snprintf(err, errlen, "%s: cannot read the classify config: %s",
				 dp->in[i].name, strerror(errno));
			return -errno;
		}
		c.natt_port = dp->natt_port;
		/* bit 0 was a global UDP-fragment switch; early drop waits
		 * for the SA mirror */
		c.flags &= (__u16)~(0x1u | XDPSEC_CFG_EARLY_DROP);
		if (bpf_map_update_elem(dp->in[i].cfg_fd, &zero, &c, BPF_ANY)) {
			snprintf(err, errlen, "%s: cannot set the NAT-T port: %s",
				 dp->in[i].name, strerror(errno));
			return -errno;
		}
		clear_hash_map(dp->in[i].natt_fd, sizeof(struct xdpsec_natt_key));
	}
	return 0;
}

static void read_bpf_counters(struct dataplane *dp, uint64_t out[XDPSEC_CNT__MAX]);

int dataplane_start(struct xdpsecd *d, const struct dataplane_opts *o, char *err, size_t errlen)
{
	struct dataplane *dp;
	int ret;

	if (!o || o->n_ifaces <= 0)
		return 0;      /* control plane only */
	if (o->n_ifaces > MAX_IFACES) {
		snprintf(err, errlen, "at most %d interfaces", MAX_IFACES);
		return -E2BIG;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	d->dp = dp;
	libbpf_set_print(xs_libbpf_print);
	dp->ncpus = libbpf_num_possible_cpus();
	dp->n_workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (dp->n_workers < 1)
		dp->n_workers = 1;
	if (dp->n_workers > 8)
		dp->n_workers = 8;
	if (o->workers > 0) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);

		dp->n_workers = o->workers;
		/* veth feeds far-end queue (CPU % queues): a queue past the
		 * last CPU would never see a frame from the wire */
		if (online > 0 && dp->n_workers > online) {
			pr_warn("--workers %d: only %ld CPUs online, using %ld workers\n",
				o->workers, online, online);
			dp->n_workers = (int)online;
		}
	}
	dp->no_steer = o->no_steer;
	dp->features = d->features;
	/* Multi-buffer feedback pair: frames up to 64 KiB (kernel_features.h). */
	dp->sg = kfeat_has(dp->features, KFEAT_XDP_FRAGS) &&
		 kfeat_has(dp->features, KFEAT_XDP_GET_BUFF_LEN) &&
		 kfeat_has(dp->features, KFEAT_XSK_SG);
	dp->natt_port = o->natt_port ? o->natt_port : XDPSEC_NATT_PORT;
	dp->natt = natt_peers_new();
	if (!dp->natt) {
		ret = -ENOMEM;
		goto fail;
	}

	for (int i = 0; i < o->n_ifaces; i++) {
		struct ingress *in = &dp->in[dp->n_in];

		snprintf(in->name, sizeof(in->name), "%s", o->ifaces[i]);
		in->prog_fd = -1;
		dp->n_in++;
		ret = attach_or_adopt(dp, in, err, errlen);
		if (ret)
			goto fail;
	}

	ret = feedback_pair_create(&dp->fp, (unsigned)dp->in[0].ifindex, dp->n_workers,
				   dp->sg ? FEEDBACK_MTU : FEEDBACK_MTU_SINGLE, err, errlen);
	if (ret)
		goto fail;
	ret = load_decrypt(dp, err, errlen);
	if (ret)
		goto fail;

	dp->sastate_len = (size_t)XDPSEC_SA_MAX * sizeof(struct xdpsec_sa_state);
	dp->sastate = mmap(NULL, dp->sastate_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   dp->in[0].sastate_fd, 0);
	if (dp->sastate == MAP_FAILED) {
		pr_warn("cannot mmap the SA state map (%s): no early replay drop in XDP\n", strerror(errno));
		dp->sastate = NULL;
	}

	ret = start_workers(d, err, errlen);
	if (ret)
		goto fail;

	ret = set_natt_config(dp, err, errlen);
	if (ret)
		goto fail;
	/* SAs restored before we started: mirror them into the kernel, and
	 * nothing else. */
	sa_maps_reset(dp);
	sa_table_walk(d->sat, mirror_one, d);

	/* The counters of an adopted program's map count from here, like
	 * the workers' and the sockets': the conservation law compares them
	 * (docs/counters.md), and a daemon before us may have died mid-way. */
	read_bpf_counters(dp, dp->cnt_base);

	/* Last: open the door.  Until now IPsec frames went to the stack. */
	for (int i = 0; i < dp->n_in; i++) {
		struct bpf_devmap_val v = { .ifindex = (__u32)dp->fp.near_ifindex };
		__u32 slot = XDPSEC_DEVMAP_FEEDBACK;

		if (bpf_map_update_elem(dp->in[i].devmap_fd, &slot, &v, BPF_ANY)) {
			snprintf(err, errlen, "%s: DEVMAP update: %s", dp->in[i].name, strerror(errno));
			ret = -errno;
			goto fail;
		}
	}
	start_steering(dp);
	set_early_drop(dp, true);
	pr_info("data plane up: %d interface(s), feedback pair %s/%s, %d worker(s)%s\n",
		dp->n_in, dp->fp.near, dp->fp.far, dp->n_workers,
		dp->sg ? ", multi-buffer" : "");
	return 0;
fail:
	dataplane_stop(d);
	return ret ? ret : -EIO;
}

void dataplane_stop(struct xdpsecd *d)
{
	struct dataplane *dp = d->dp;

	if (!dp)
		return;
	/* close the door first, so frames keep going to the stack */
	set_early_drop(dp, false);
	stop_steering(dp);
	for (int i = 0; i < dp->n_in; i++) {
		__u32 slot = XDPSEC_DEVMAP_FEEDBACK;

		if (dp->in[i].devmap_fd >= 0)
			bpf_map_delete_elem(dp->in[i].devmap_fd, &slot);
	}
	atomic_store(&dp->stop, true);
	for (int q = 0; dp->workers && q < dp->n_workers; q++) {
		struct worker *wk = &dp->workers[q];

		if (wk->running)
			pthread_join(wk->thread, NULL);
		if (wk->pw.esp)
			esp_ctx_free(wk->pw.esp);
		xsk_port_close(wk->pw.port);
	}
	free(dp->workers);
	if (dp->near_attached)
		bpf_xdp_detach(dp->fp.near_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (dp->dec_attached)
		bpf_xdp_detach(dp->fp.far_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (dp->dec)
		xdpsec_decrypt__destroy(dp->dec);
	feedback_pair_destroy(&dp->fp);
	if (dp->sastate)
		munmap(dp->sastate, dp->sastate_len);
	for (int i = dp->n_in - 1; i >= 0; i--)
		release_ingress(&dp->in[i]);
	natt_peers_free(dp->natt);
	free(dp);
	d->dp = NULL;
}

/* ------------------------------------------------------------- counters */

static const char *const cnt_names[XDPSEC_CNT__MAX] = {
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_PLAIN] = "class_plain",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_PLAIN_FRAG] = "class_plain_frag",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_ESP] = "class_esp",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_ESP_FRAG_FIRST] = "class_esp_frag_first",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_ESP_FRAG_MIDDLE] = "class_esp_frag_middle",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_ESP_FRAG_LAST] = "class_esp_frag_last",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_IKE] = "class_ike",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_NATT_KEEPALIVE] = "class_natt_keepalive",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_MALFORMED] = "class_malformed",
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_PLAINTEXT] = "class_plaintext",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_TRUNC_ETH] = "drop_trunc_eth",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_TRUNC_VLAN] = "drop_trunc_vlan",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_VLAN_DEPTH] = "drop_vlan_depth",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_TRUNC_IPV4] = "drop_trunc_ipv4",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV4_BAD_IHL] = "drop_ipv4_bad_ihl",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV4_BAD_VERSION] = "drop_ipv4_bad_version",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV4_BAD_LEN] = "drop_ipv4_bad_len",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_TRUNC_IPV6] = "drop_trunc_ipv6",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV6_BAD_LEN] = "drop_ipv6_bad_len",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV6_TRUNC_EXTHDR] = "drop_ipv6_trunc_exthdr",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV6_EXTHDR_DEPTH] = "drop_ipv6_exthdr_depth",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_FRAG_TOO_BIG] = "drop_frag_too_big",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_FRAG_ZERO_LEN] = "drop_frag_zero_len",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_TRUNC_ESP] = "drop_trunc_esp",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_TRUNC_UDP] = "drop_trunc_udp",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_ESP_ZERO_SPI] = "drop_esp_zero_spi",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_UNKNOWN_SPI] = "drop_unknown_spi",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_REPLAY_EARLY] = "drop_replay_early",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_BAD_TAG] = "drop_bad_tag",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_NO_XSK] = "drop_no_xsk",
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_IPV6_HBH_NOT_FIRST] = "drop_ipv6_hbh_not_first",
	[XDPSEC_CNT_REDIRECTED] = "redirected",
	[XDPSEC_CNT_REDIRECT_FAIL] = "redirect_fail",
	[XDPSEC_CNT_NOT_CONFIGURED] = "not_configured",
	[XDPSEC_CNT_MALFORMED_PASSED] = "malformed_passed",
	[XDPSEC_CNT_MALFORMED_DROPPED] = "malformed_dropped",
	[XDPSEC_CNT_ATOMIC_FRAG] = "atomic_frag",
	[XDPSEC_CNT_DEC_FRESH] = "fresh",
	[XDPSEC_CNT_DEC_REENTERED] = "reentered",
	[XDPSEC_CNT_DEC_TO_REASM] = "to_reasm",
	[XDPSEC_CNT_DEC_TO_ESP] = "to_esp",
	[XDPSEC_CNT_DEC_PASS_PLAIN] = "pass_plain",
	[XDPSEC_CNT_DEC_UNTAGGED] = "untagged",
	[XDPSEC_CNT_PLAIN_FRAG_FIRST] = "plain_frag_datagrams",
	[XDPSEC_CNT_DEC_IKE] = "ike_passed",
	[XDPSEC_CNT_STEERED] = "steered",
	[XDPSEC_CNT_STEER_FAIL] = "steer_fail",
	[XDPSEC_CNT_TAG_NO_ROOM] = "tag_no_room",
	[XDPSEC_CNT_STEER_UNTAGGED] = "steer_passed_untagged",
	[XDPSEC_CNT_EARLY_DROPPED] = "early_dropped",
	[XDPSEC_CNT_DEC_RX] = "rx",
	[XDPSEC_CNT_DEC_PASSED] = "passed",
	[XDPSEC_CNT_DEC_DROPPED] = "dropped",
	[XDPSEC_CNT_STEER_FWD] = "steer_forwarded",
	[XDPSEC_CNT_STEER_DROPPED] = "steer_dropped",
	[XDPSEC_CNT_CPUMAP_DROPPED] = "cpumap_dropped",
};

static bool is_decrypt_counter(int i)
{
	return i >= XDPSEC_CNT_DEC_FRESH && i <= XDPSEC_CNT_DEC_UNTAGGED ? true :
	       i == XDPSEC_CNT_DEC_IKE || (i >= XDPSEC_CNT_DEC_RX && i <= XDPSEC_CNT_DEC_DROPPED);
}

/* Sum the per-CPU counters of every distinct counter map. */
static void read_bpf_counters(struct dataplane *dp, uint64_t out[XDPSEC_CNT__MAX])
{
	uint64_t *vals = calloc((size_t)dp->ncpus, sizeof(uint64_t));

	memset(out, 0, sizeof(uint64_t) * XDPSEC_CNT__MAX);
	if (!vals)
		return;
	for (int i = 0; i < dp->n_in; i++) {
		bool dup_map = false;

		for (int j = 0; j < i; j++)
			dup_map |= dp->in[j].cnt_fd == dp->in[i].cnt_fd;
		if (dup_map)
			continue;
		for (__u32 k = 0; k < XDPSEC_CNT__MAX; k++) {
			if (bpf_map_lookup_elem(dp->in[i].cnt_fd, &k, vals))
				continue;
			for (int c = 0; c < dp->ncpus; c++)
				out[k] += vals[c];
		}
	}
	free(vals);
}

static void sum_pipeline(struct dataplane *dp, struct pipeline_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (int q = 0; dp->workers && q < dp->n_workers; q++) {
		const uint64_t *src = (const uint64_t *)&dp->workers[q].pw.st;
		uint64_t *dst = (uint64_t *)s;

		for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

#define SUB(a, b) ((a) >= (b) ? (a) - (b) : 0)

/* Frames lost at the AF_XDP sockets, summed over the workers: refused
 * before TX as too big for the pair, and the kernel's own counters. */
static void sum_xsk_drops(struct dataplane *dp, struct xsk_port_kstats *k, uint64_t *too_big)
{
	memset(k, 0, sizeof(*k));
	*too_big = 0;
	for (int q = 0; dp->workers && q < dp->n_workers; q++) {
		struct xsk_port *port = dp->workers[q].pw.port;
		struct xsk_port_kstats ks;

		if (!port)
			continue;
		*too_big += __atomic_load_n(&xsk_port_stats(port)->tx_too_big, __ATOMIC_RELAXED);
		if (xsk_port_kstats(port, &ks))
			continue;
		k->rx_dropped += ks.rx_dropped;
		k->rx_ring_full += ks.rx_ring_full;
		k->rx_fill_ring_empty_descs += ks.rx_fill_ring_empty_descs;
		k->rx_invalid_descs += ks.rx_invalid_descs;
		k->tx_invalid_descs += ks.tx_invalid_descs;
	}
}

static size_t xsk_drop_counters(struct dataplane *dp, struct xs_counter *out, size_t n, size_t max)
{
	struct xsk_port_kstats k;
	const struct xsk_port_kstats *b = &dp->kstats_base;
	uint64_t too_big;

	sum_xsk_drops(dp, &k, &too_big);
	n = xs_counter_add(out, n, max, "xsk", "tx_too_big",
			   "frames refused before TX: longer than the feedback pair's MTU",
			   SUB(too_big, dp->too_big_base), 1);
#define K(field, name, help, drop) \
	n = xs_counter_add(out, n, max, "xsk", name, help, SUB(k.field, b->field), drop)
	K(rx_dropped, "kernel_rx_dropped",
	  "frames the kernel could not put in a socket's UMEM (XDP_STATISTICS)", 1);
	K(rx_ring_full, "kernel_rx_ring_full", "frames dropped on a full RX ring", 1);
	K(rx_fill_ring_empty_descs, "kernel_fill_ring_empty",
	  "times the kernel found the fill ring empty", 0);
	K(rx_invalid_descs, "kernel_rx_invalid_descs", "invalid RX descriptors", 1);
	K(tx_invalid_descs, "kernel_tx_invalid_descs",
	  "TX descriptors the kernel refused (frame not sent)", 1);
#undef K
	return n;
}

/* AF_XDP socket counters summed over the workers (read racily: each is
 * written by its worker only; a torn read is off by one batch at most). */
static void sum_xsk(struct dataplane *dp, struct xsk_port_stats *t_out)
{
	struct xsk_port_stats t = { 0 };

	for (int q = 0; dp->workers && q < dp->n_workers; q++) {
		const struct xsk_port_stats *s;

		if (!dp->workers[q].pw.port)
			continue;
		s = xsk_port_stats(dp->workers[q].pw.port);
		t.rx_frames += s->rx_frames;
		t.rx_multibuf += s->rx_multibuf;
		t.rx_bad_chain += s->rx_bad_chain;
		t.tx_frames += s->tx_frames;
		t.tx_multibuf += s->tx_multibuf;
		t.tx_no_frame += s->tx_no_frame;
		t.tx_ring_full += s->tx_ring_full;
		t.tx_busy += s->tx_busy;
		t.tx_held += s->tx_held;
		t.tx_dev_drop += s->tx_dev_drop;
		t.fill_starved += s->fill_starved;
	}
	*t_out = t;
}

/* Frames the feedback pair itself dropped: the near end's TX drops, which
 * veth counts when the far end's 256-slot ring is full (an XDP redirect
 * from a classify program or the CPUMAP, or the daemon's own transmit).
 * Read from the kernel's link statistics of this namespace. */
static uint64_t feedback_dropped(struct dataplane *dp)
{
	struct ifaddrs *ifa, *i;
	uint64_t v = 0;

	if (!dp->fp.near[0] || getifaddrs(&ifa))
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
		    !strcmp(i->ifa_name, dp->fp.near)) {
			v = ((const struct rtnl_link_stats *)i->ifa_data)->tx_dropped;
			break;
		}
	}
	freeifaddrs(ifa);
	return v;
}

static size_t xsk_counters(struct dataplane *dp, struct xs_counter *out, size_t n, size_t max)
{
	struct xsk_port_stats t;

	sum_xsk(dp, &t);
#define X(field, help, drop) \
	n = xs_counter_add(out, n, max, "xsk", #field, help, SUB(t.field, dp->xsk_base.field), drop)
	X(rx_frames, "frames received on the far end's AF_XDP sockets", 0);
	X(rx_multibuf, "received frames that spanned several UMEM chunks", 0);
	X(rx_bad_chain, "multi-buffer frames with a broken chain, dropped", 1);
	X(tx_frames, "frames sent back on the near end", 0);
	X(tx_multibuf, "sent frames that spanned several UMEM chunks", 0);
	X(tx_no_frame, "frames not sent for want of a free UMEM chunk", 1);
	X(tx_ring_full, "frames not sent for want of a TX ring slot", 1);
	X(tx_busy, "TX kicks the feedback pair pushed back (retried, nothing lost)", 0);
	X(tx_held, "frames that found the TX ring full and were held, then sent", 0);
	X(tx_dev_drop, "frames the daemon sent that the feedback pair dropped (counted in feedback/dropped too)", 0);
	X(fill_starved, "times the fill ring could not be refilled", 0);
#undef X
	return xs_counter_add(out, n, max, "feedback", "dropped",
			      "frames the feedback veth dropped: its far end's ring was full",
			      SUB(feedback_dropped(dp), dp->fb_dropped_base), 1);
}

size_t dataplane_counters(struct xdpsecd *d, struct xs_counter *out, size_t max)
{
	struct dataplane *dp = d->dp;
	uint64_t c[XDPSEC_CNT__MAX];
	struct pipeline_stats p;
	const struct pipeline_stats *b;
	size_t n = 0;

	if (!dp)
		return 0;
	read_bpf_counters(dp, c);
	for (int i = 0; i < XDPSEC_CNT__MAX; i++) {
		const char *name = cnt_names[i];

		if (!name)
			continue;
		n = xs_counter_add(out, n, max, is_decrypt_counter(i) ? "decrypt" : "classify",
				   name, "BPF stage counter", SUB(c[i], dp->cnt_base[i]),
				   i >= XDPSEC_CNT_DROP_BASE && i < XDPSEC_CNT_REDIRECTED);
	}
	sum_pipeline(dp, &p);
	b = &dp->pipe_base;
	n = xsk_drop_counters(dp, out, n, max);
	/* the decision tree, once per datagram */
	n = xs_counter_add(out, n, max, "branch", "plain", "plain whole packets passed (bypass)",
			   SUB(c[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_PLAIN],
			       dp->cnt_base[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_PLAIN]), 0);
	n = xs_counter_add(out, n, max, "branch", "plain_frag",
			   "plain fragmented datagrams (first fragments) left to the kernel",
			   SUB(c[XDPSEC_CNT_PLAIN_FRAG_FIRST], dp->cnt_base[XDPSEC_CNT_PLAIN_FRAG_FIRST]) +
			   SUB(p.branch[BRANCH_PLAIN_FRAG_STEERED], b->branch[BRANCH_PLAIN_FRAG_STEERED]), 0);
	n = xs_counter_add(out, n, max, "branch", "esp", "whole ESP datagrams delivered",
			   SUB(p.branch[BRANCH_ESP], b->branch[BRANCH_ESP]), 0);
	n = xs_counter_add(out, n, max, "branch", "frag_before",
			   "datagrams fragmented before encryption, delivered",
			   SUB(p.branch[BRANCH_FRAG_BEFORE], b->branch[BRANCH_FRAG_BEFORE]), 0);
	n = xs_counter_add(out, n, max, "branch", "frag_after",
			   "datagrams fragmented after encryption, delivered",
			   SUB(p.branch[BRANCH_FRAG_AFTER], b->branch[BRANCH_FRAG_AFTER]), 0);
	n = xs_counter_add(out, n, max, "branch", "frag_between",
			   "datagrams fragmented between two ESP layers, delivered",
			   SUB(p.branch[BRANCH_FRAG_BETWEEN], b->branch[BRANCH_FRAG_BETWEEN]), 0);
#define P(field, help, drop) \
	n = xs_counter_add(out, n, max, "pipeline", #field, help, SUB(p.field, b->field), drop)
	P(rx, "frames received from the decrypt program", 0);
	P(bad_tag, "frames without a valid frame tag", 1);
	P(to_reasm, "fragments fed to reassembly", 0);
	P(reasm_held, "fragments held waiting for the rest", 0);
	P(reasm_complete, "datagrams reassembled", 0);
	P(reasm_dropped, "fragments refused by reassembly", 1);
	P(to_esp, "ESP packets fed to the ESP engine", 0);
	P(esp_ok, "ESP packets decrypted", 0);
	P(esp_dropped, "ESP packets refused by the ESP engine", 1);
	P(nested, "decrypted payloads that were ESP again", 0);
	P(too_deep, "datagrams with too many ESP layers", 1);
	P(spd_dropped, "plaintext refused by the inbound SPD (why: the spd group)", 1);
	P(sent_back, "frames sent back through the feedback pair", 0);
	P(sent_ciphertext, "reassembled ciphertext sent back to the decrypt program", 0);
	P(delivered, "plaintext datagrams handed to the stack", 0);
	P(delivered_bytes, "plaintext bytes handed to the stack", 0);
	P(tx_fail, "frames not sent back: no TX slot or chunk, or too long (group xsk says which)", 1);
	P(unexpected, "frames of a class the daemon does not take", 1);
	P(oversize_decrypted, "ciphertext too long for a single-buffer feedback pair, "
	  "decrypted without re-entering the decrypt program", 0);
	P(oversize_fragmented, "plaintext datagrams too long for a single-buffer feedback "
	  "pair, sent back in IP fragments the stack reassembles", 0);
	P(oversize_dropped, "frames too long for a single-buffer feedback pair that could "
	  "neither be decrypted here nor handed to the stack", 1);
	P(oversize_frags, "fragments sent back for those plaintext datagrams (counted in "
	  "sent_back too)", 0);
	P(shed_fresh, "fresh frames dropped unread while the worker was behind (backpressure)", 1);
#undef P
	return xsk_counters(dp, out, n, max);
}

void dataplane_reset_counters(struct xdpsecd *d)
{
	struct dataplane *dp = d->dp;

	if (!dp)
		return;
	sum_xsk_drops(dp, &dp->kstats_base, &dp->too_big_base);
	read_bpf_counters(dp, dp->cnt_base);
	sum_pipeline(dp, &dp->pipe_base);
	sum_xsk(dp, &dp->xsk_base);
	dp->fb_dropped_base = feedback_dropped(dp);
}

void dataplane_status(struct xdpsecd *d, json_object *out)
{
	struct dataplane *dp = d->dp;
	json_object *ifs = json_object_new_array();

	if (!dp) {
		json_object_object_add(out, "interfaces", ifs);
		json_object_object_add(out, "workers", json_object_new_int(0));
		return;
	}
	for (int i = 0; i < dp->n_in; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(dp->in[i].name));
		json_object_object_add(o, "ifindex", json_object_new_int(dp->in[i].ifindex));
		json_object_object_add(o, "attach", json_object_new_string(
			!dp->in[i].attached_by_us ? "adopted" :
			dp->in[i].xdp_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic"));
		json_object_array_add(ifs, o);
	}
	json_object_object_add(out, "interfaces", ifs);
	json_object *fb = json_object_new_object();

	json_object_object_add(fb, "near", json_object_new_string(dp->fp.near));
	json_object_object_add(fb, "far", json_object_new_string(dp->fp.far));
	json_object_object_add(fb, "mtu", json_object_new_int(dp->fp.mtu));
	json_object_object_add(fb, "multi_buffer", json_object_new_boolean(dp->sg));
	json_object_object_add(out, "feedback", fb);
	json_object_object_add(out, "workers", json_object_new_int(dp->n_workers));
	json_object_object_add(out, "steering_cpus", json_object_new_int(dp->steering ? dp->steer.n_cpus : 0));
	json_object *qs = json_object_new_array();

	for (int q = 0; dp->workers && q < dp->n_workers; q++) {
		json_object *o = json_object_new_object();
		unsigned free_frames = 0, tx_pending = 0;

		if (dp->workers[q].pw.port)
			xsk_port_depths(dp->workers[q].pw.port, &free_frames, &tx_pending);
		json_object_object_add(o, "queue", json_object_new_int(q));
		json_object_object_add(o, "free_frames", json_object_new_int((int)free_frames));
		json_object_object_add(o, "tx_pending", json_object_new_int((int)tx_pending));
		json_object_array_add(qs, o);
	}
	json_object_object_add(out, "queues", qs);
}
