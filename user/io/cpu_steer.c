// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cpu_steer.c - per-peer steering through a CPUMAP (see cpu_steer.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu_steer.h"
#include "log.h"
#include "xdpsec_common.h"
#include "steer.skel.h"

static int set_steer_cpus(int cfg_fd, __u32 n)
{
	struct xdpsec_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(cfg_fd, &zero, &c))
		return -errno;
	c.steer_cpus = n;
	return bpf_map_update_elem(cfg_fd, &zero, &c, BPF_ANY) ? -errno : 0;
}

int cpu_steer_start(struct cpu_steer *s, int cnt_fd, int devmap_fd,
		    const struct cpu_steer_ingress *in, int n_in, int n_cpus,
		    char *err, size_t errlen)
{
	struct bpf_cpumap_val v = { .qsize = CPU_STEER_QSIZE };
	int ret;

	memset(s, 0, sizeof(*s));
	if (n_in > CPU_STEER_MAX_IN || n_cpus < 1 || n_cpus > XDPSEC_CPU_MAX) {
		snprintf(err, errlen, "steering: %d interfaces, %d CPUs: out of range", n_in, n_cpus);
		return -EINVAL;
	}
	s->skel = xdpsec_steer__open();
	if (!s->skel) {
		snprintf(err, errlen, "steering: cannot open the CPUMAP program");
		return -ENOMEM;
	}
	/* The program uses the counters and the DEVMAP only: share those,
	 * create nothing else. */
	bpf_map__reuse_fd(s->skel->maps.xdpsec_cnt, cnt_fd);
	bpf_map__reuse_fd(s->skel->maps.xdpsec_devmap, devmap_fd);
	bpf_map__set_autocreate(s->skel->maps.xdpsec_cfg, false);
	bpf_map__set_autocreate(s->skel->maps.xdpsec_sa, false);
	bpf_map__set_autocreate(s->skel->maps.xdpsec_sastate, false);
	bpf_map__set_autocreate(s->skel->maps.xdpsec_cpumap, false);
	/* whose CPUMAP queue drops to count (xdpsec_cpumap_drops) */
	for (int i = 0; i < n_in && i < (int)(sizeof(s->skel->rodata->xdpsec_cpumap_ids) /
					     sizeof(s->skel->rodata->xdpsec_cpumap_ids[0])); i++) {
		struct bpf_map_info mi = { 0 };
		__u32 len = sizeof(mi);

		if (!bpf_obj_get_info_by_fd(in[i].cpumap_fd, &mi, &len))
			s->skel->rodata->xdpsec_cpumap_ids[i] = mi.id;
	}
	ret = xdpsec_steer__load(s->skel);
	if (ret) {
		snprintf(err, errlen, "steering: loading the CPUMAP program failed: %s (run with -v)",
			 strerror(-ret));
		goto fail;
	}
	v.bpf_prog.fd = bpf_program__fd(s->skel->progs.xdpsec_steer);
	s->n_cpus = n_cpus;
	for (int i = 0; i < n_in; i++) {
		s->in[i] = (typeof(s->in[i])){ in[i].cpumap_fd, in[i].cfg_fd };
		s->n_in = i + 1;
		for (__u32 cpu = 0; cpu < (__u32)n_cpus; cpu++) {
			if (bpf_map_update_elem(in[i].cpumap_fd, &cpu, &v, BPF_ANY)) {
				ret = -errno;
				snprintf(err, errlen, "steering: CPUMAP slot %u: %s", cpu, strerror(errno));
				goto fail;
			}
		}
	}
	/* Frames a full CPUMAP queue drops are counted (the conservation law's
	 * CPUMAP stage); without the tracepoint they would go unseen: warn. */
	s->drops_link = bpf_program__attach_raw_tracepoint(s->skel->progs.xdpsec_cpumap_drops,
							   "xdp_cpumap_enqueue");
	if (!s->drops_link) {
		pr_warn("steering: CPUMAP queue drops will not be counted (xdp_cpumap_enqueue: %s)\n",
			strerror(errno));
		s->drops_link = NULL;
	}
	/* every slot is ready: now the classify programs may use them */
	for (int i = 0; i < n_in; i++) {
		ret = set_steer_cpus(in[i].cfg_fd, (__u32)n_cpus);
		if (ret) {
			snprintf(err, errlen, "steering: config map update: %s", strerror(-ret));
			goto fail;
		}
	}
	return 0;
fail:
	cpu_steer_stop(s);
	return ret ? ret : -EIO;
}

void cpu_steer_stop(struct cpu_steer *s)
{
	for (int i = 0; i < s->n_in; i++)
		set_steer_cpus(s->in[i].cfg_fd, 0);
	/* Deleting a slot waits for the frames queued on that CPU to be
	 * handled (the kernel flushes the entry's queue). */
	for (int i = 0; i < s->n_in; i++)
		for (__u32 cpu = 0; cpu < (__u32)s->n_cpus; cpu++)
			bpf_map_delete_elem(s->in[i].cpumap_fd, &cpu);
	/* after the slots: their queues' last drops are counted */
	if (s->drops_link)
		bpf_link__destroy(s->drops_link);
	if (s->skel)
		xdpsec_steer__destroy(s->skel);
	memset(s, 0, sizeof(*s));
}
