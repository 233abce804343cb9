// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dp_attach.c - the data plane's BPF programs: on each ingress interface
 * the classify program, adopted when one is attached already (prog id ->
 * map ids -> names; no pin path assumed) or loaded and attached; the
 * decrypt object on the feedback pair's ends (see dataplane.c for the order).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classify.skel.h"
#include "decrypt.skel.h"
#include "daemon.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"

/* ---------------------------------------------------------------- maps */

/* A skeleton's maps (classify's or decrypt's: same names, other types)
 * become the first interface's: one SA map, one counter array, one config
 * for every program of this daemon. */
#define SHARE_MAPS(maps, first) do {                                        \
	bpf_map__reuse_fd((maps).xdpsec_cnt, (first)->cnt_fd);              \
	bpf_map__reuse_fd((maps).xdpsec_cfg, (first)->cfg_fd);              \
	bpf_map__reuse_fd((maps).xdpsec_devmap, (first)->devmap_fd);        \
	bpf_map__reuse_fd((maps).xdpsec_sa, (first)->sa_fd);                \
	bpf_map__reuse_fd((maps).xdpsec_sastate, (first)->sastate_fd);      \
	bpf_map__reuse_fd((maps).xdpsec_xsks, (first)->xsks_fd);            \
	bpf_map__reuse_fd((maps).xdpsec_natt, (first)->natt_fd);            \
} while (0)

/* Without mmapable arrays (kernel_features.h) the SA state array is
 * created without BPF_F_MMAPABLE, which such a kernel refuses; the daemon
 * then has no mapping of it (dataplane.c: no early replay drop in XDP). */
#define SASTATE_FLAGS(dp, maps) do {                                        \
	if (!kfeat_has((dp)->features, KFEAT_MMAPABLE_ARRAY))                \
		bpf_map__set_map_flags((maps).xdpsec_sastate,                 \
				       bpf_map__map_flags((maps).xdpsec_sastate) & \
				       ~(__u32)BPF_F_MMAPABLE);               \
} while (0)

int dp_map_fd_by_name(int prog_fd, const char *want)
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
		*fds[i] = dp_map_fd_by_name(in->prog_fd, names[i]);
		if (*fds[i] < 0) {
			snprintf(err, errlen, "%s: the attached program has no map %s: "
				 "not an xdpsec classify program of this version", in->name, names[i]);
			return -ENOENT;
		}
	}
	return 0;
}

int dp_attach_or_adopt(struct dataplane *dp, struct ingress *in, char *err, size_t errlen)
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

		SHARE_MAPS(in->skel->maps, first);
	}
	SASTATE_FLAGS(dp, in->skel->maps);
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

int dataplane_prog_map_fds(struct xdpsecd *d, const char *name, int *fds, int max)
{
	struct dataplane *dp = d->dp;
	int n = 0;

	for (int i = 0; dp && i < dp->n_in && n < max; i++) {
		int fd = dp_map_fd_by_name(dp->in[i].prog_fd, name);

		if (fd >= 0)
			fds[n++] = fd;
	}
	return n;
}

void dp_release_ingress(struct ingress *in)
{
	if (in->ifindex) {
		__u32 slot = XDPSEC_DEVMAP_FEEDBACK;

		if (in->devmap_fd >= 0)
			bpf_map_delete_elem(in->devmap_fd, &slot);
		/* a failed detach leaves the classify program steering into
		 * a pair about to go: said, with what the operator can run */
		if (in->attached_by_us) {
			int r = bpf_xdp_detach(in->ifindex, in->xdp_flags, NULL);

			if (r)
				pr_warn("%s: the classify program could not be detached (%s); "
					"detach it with: ip link set dev %s xdp off\n",
					in->name, strerror(-r), in->name);
		}
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

int dp_load_decrypt(struct dataplane *dp, char *err, size_t errlen)
{
	struct ingress *first = &dp->in[0];
	int ret;

	dp->dec = xdpsec_decrypt__open();
	if (!dp->dec) {
		snprintf(err, errlen, "cannot open the decrypt program");
		return -ENOMEM;
	}
	SHARE_MAPS(dp->dec->maps, first);
	if (!dp->sg) {
		/* single-buffer pair: a program that is not frags-aware, no
		 * multi-buffer length helper, no near-end program (it only
		 * serves MTUs above 65535) */
		struct bpf_program *prog = dp->dec->progs.xdpsec_decrypt;

		bpf_program__set_flags(prog, bpf_program__flags(prog) & ~(__u32)BPF_F_XDP_HAS_FRAGS);
		bpf_program__set_autoload(dp->dec->progs.xdpsec_near, false);
		dp->dec->rodata->xdpsec_multibuf = false;
	}
	SASTATE_FLAGS(dp, dp->dec->maps);
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


/* Detaches both decrypt-object programs and frees the object. */
void dp_unload_decrypt(struct dataplane *dp)
{
	if (dp->near_attached)
		bpf_xdp_detach(dp->fp.near_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (dp->dec_attached)
		bpf_xdp_detach(dp->fp.far_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (dp->dec)
		xdpsec_decrypt__destroy(dp->dec);
	dp->dec = NULL;
	dp->near_attached = dp->dec_attached = false;
}

int dp_decrypt_xsks_fd(struct dataplane *dp)
{
	return bpf_map__fd(dp->dec->maps.xdpsec_xsks);
}
