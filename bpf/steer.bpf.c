// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steer.bpf.c - the CPUMAP program of xdpsec's per-peer steering.
 *
 * The classify program sends an IPsec frame to CPUMAP slot
 * hash(src, dst) % steer_cpus (see struct xdpsec_config).  The kernel
 * queues it to that CPU, which runs this program: it redirects the frame
 * into the feedback pair's near end.  veth picks the far end's queue by the
 * CPU that transmits, so every frame between two peers reaches the same
 * queue, the same daemon worker, in arrival order: the anti-replay window
 * sees the sender's order, not two workers' interleaving.
 *
 * The frame tag written by classify travels in the frame itself.  Loaded by the daemon into the CPUMAP entries, never attached
 * to an interface.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpsec_common.h"
#include "xdpsec_maps.bpf.h"
#include "xdpsec_parse.h"
#include "xdpsec_tag.bpf.h"

SEC("xdp/cpumap")
int xdpsec_steer(struct xdp_md *ctx)
{
	long ret;

	ret = bpf_redirect_map(&xdpsec_devmap, XDPSEC_DEVMAP_FEEDBACK, XDP_PASS);
	if (ret == XDP_REDIRECT) {
		xdpsec_count(XDPSEC_CNT_STEER_FWD);
		return XDP_REDIRECT;
	}
	/* The slot was cleared meanwhile (daemon stopping): the frame goes
	 * to the stack as if there were no daemon, without the tag the stack
	 * would not understand (its VLAN tags are gone with it).  Counted
	 * apart from the classify program's REDIRECT_FAIL: each program's
	 * frames must balance on their own (docs/counters.md). */
	if (xdpsec_tag_pop(ctx)) {
		xdpsec_count(XDPSEC_CNT_STEER_DROPPED);
		return XDP_DROP;
	}
	xdpsec_count(XDPSEC_CNT_STEER_UNTAGGED);
	return XDP_PASS;
}

/*
 * Frames the kernel drops when a CPU's CPUMAP queue is full never reach the
 * program above, and the kernel tells only its xdp_cpumap_enqueue
 * tracepoint.  This raw tracepoint program counts them for the CPUMAPs
 * of our classify programs (ids set by the daemon before load;
 * user/io/cpu_steer.c), so that the conservation law's CPUMAP stage sees them
 * (docs/counters.md).  TP_PROTO(int map_id, unsigned int processed,
 * unsigned int drops, int to_cpu).
 */
#define XDPSEC_CPUMAP_IDS 8
const volatile __u32 xdpsec_cpumap_ids[XDPSEC_CPUMAP_IDS];

SEC("raw_tp/xdp_cpumap_enqueue")
int xdpsec_cpumap_drops(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 map_id = (__u32)ctx->args[0], drops = (__u32)ctx->args[2];
	__u32 k = XDPSEC_CNT_CPUMAP_DROPPED;
	__u64 *v;
	int ours = 0;

	if (!drops || !map_id)
		return 0;
	for (int i = 0; i < XDPSEC_CPUMAP_IDS; i++)
		ours |= xdpsec_cpumap_ids[i] == map_id;
	if (!ours)
		return 0;
	v = bpf_map_lookup_elem(&xdpsec_cnt, &k);
	if (v)
		*v += drops;        /* per-CPU: this CPU's slot only */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
