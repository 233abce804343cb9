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
 *
 * This file: start/stop, steering and the workers; the rest of the set-up
 * is in dp_*.c (dataplane_int.h), the per-frame loop in pipeline.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "esp.h"
#include "log.h"
#include "natt_peers.h"

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
		int fd = dp_map_fd_by_name(dp->in[i].prog_fd, XDPSEC_MAP_CPUMAP);

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
	int xsks_fd = dp_decrypt_xsks_fd(dp);

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
	if (dp->n_workers > DATAPLANE_DEFAULT_WORKERS_MAX)
		dp->n_workers = DATAPLANE_DEFAULT_WORKERS_MAX;
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
		ret = dp_attach_or_adopt(dp, in, err, errlen);
		if (ret)
			goto fail;
	}

	ret = feedback_pair_create(&dp->fp, (unsigned)dp->in[0].ifindex, dp->n_workers,
				   dp->sg ? FEEDBACK_MTU : FEEDBACK_MTU_SINGLE, err, errlen);
	if (ret)
		goto fail;
	ret = dp_load_decrypt(dp, err, errlen);
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
	dp_sa_maps_reset(dp);
	sa_table_walk(d->sat, dp_mirror_one, d);

	/* The counters of an adopted program's map count from here, like
	 * the workers' and the sockets': the conservation law compares them
	 * (docs/counters.md), and a daemon before us may have died mid-way. */
	dp_read_bpf_counters(dp, dp->cnt_base);

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
	dp_unload_decrypt(dp);
	feedback_pair_destroy(&dp->fp);
	if (dp->sastate)
		munmap(dp->sastate, dp->sastate_len);
	for (int i = dp->n_in - 1; i >= 0; i--)
		dp_release_ingress(&dp->in[i]);
	natt_peers_free(dp->natt);
	free(dp);
	d->dp = NULL;
}
