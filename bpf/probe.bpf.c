// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * probe.bpf.c - one tiny program per kernel feature the data plane relies
 * on, loaded one at a time by user/daemon/kernel_features.c (xdpsecd --check).
 *
 * Each program makes the same calls, on the same map types and the same
 * key/value types, as the data plane's programs (bpf/classify.bpf.c,
 * bpf/decrypt.bpf.c, bpf/steer.bpf.c), so "loads here" means "the real
 * thing loads here".  A helper is only known to be usable when a program
 * that calls it is accepted: libbpf_probe_bpf_helper() guesses from the
 * verifier's message and calls a helper "supported" when the refusal reads
 * otherwise than it expects (e.g. "program of this type cannot use helper").
 *
 * Every program references only the maps its feature needs: the prober
 * creates just those (bpf_map__set_autocreate), so a missing map type
 * fails only the features that use it.  Nothing here is ever attached to
 * a real interface; the probe veth pair lives in a private namespace.
 *
 * Built without CO-RE (BPF_NO_PRESERVE_ACCESS_INDEX): with it, libbpf
 * parses the kernel's 4 MB BTF on every one of the dozen loads, about
 * 50 ms each.  The data plane's programs are CO-RE-relocated against that
 * BTF; the "btf" feature checks it is there once.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "xdpsec_common.h"

/* Small versions of the data plane's maps (headers/xdpsec_maps.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} probe_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpsec_config);
} probe_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, struct xdpsec_sa_key);
	__type(value, struct xdpsec_sa_val);
} probe_sa SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} probe_devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} probe_cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} probe_xsks SEC(".maps");

/* xdp_native_veth: the plainest XDP program, attached in driver mode to
 * the probe veth. */
SEC("xdp")
int probe_xdp(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/* xdp_frags: BPF_F_XDP_HAS_FRAGS, as the decrypt program is loaded;
 * attached in driver mode to the probe veth too. */
SEC("xdp.frags")
int probe_frags(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/* percpu_array: the counters (xdpsec_count). */
SEC("xdp")
int probe_percpu(struct xdp_md *ctx)
{
	__u32 idx = ctx->rx_queue_index & 3;
	__u64 *v = bpf_map_lookup_elem(&probe_cnt, &idx);

	if (v)
		*v += 1;
	return XDP_PASS;
}

/* array_map: the runtime configuration, key 0. */
SEC("xdp")
int probe_array(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct xdpsec_config *cfg = bpf_map_lookup_elem(&probe_cfg, &zero);

	(void)ctx;
	return cfg && cfg->flags ? XDP_DROP : XDP_PASS;
}

/* hash_map: the SA lookup by (family, dst, SPI, port). */
SEC("xdp")
int probe_hash(struct xdp_md *ctx)
{
	struct xdpsec_sa_key key = {};
	struct xdpsec_sa_val *sa;

	key.spi = ctx->rx_queue_index;
	sa = bpf_map_lookup_elem(&probe_sa, &key);
	return sa && sa->sa_index ? XDP_DROP : XDP_PASS;
}

/* devmap_redirect: classify's slot lookup, then the redirect with the
 * fallback action in the flags. */
SEC("xdp")
int probe_devmap_redir(struct xdp_md *ctx)
{
	__u32 slot = XDPSEC_DEVMAP_FEEDBACK;

	(void)ctx;
	if (!bpf_map_lookup_elem(&probe_devmap, &slot))
		return XDP_PASS;
	return (int)bpf_redirect_map(&probe_devmap, slot, XDP_PASS);
}

/* cpumap_redirect: classify's per-peer steering. */
SEC("xdp")
int probe_cpumap_redir(struct xdp_md *ctx)
{
	(void)ctx;
	return (int)bpf_redirect_map(&probe_cpumap, 0, 0);
}

/* xskmap_redirect: the decrypt program's hand-over to the daemon. */
SEC("xdp")
int probe_xskmap_redir(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;

	if (!bpf_map_lookup_elem(&probe_xsks, &q))
		return XDP_DROP;
	return (int)bpf_redirect_map(&probe_xsks, q, XDP_DROP);
}

/* cpumap_prog: the steer program's work (drop the tag, redirect into the
 * feedback pair, count a failure), in a CPUMAP program; the prober then
 * stores it in a CPUMAP entry. */
SEC("xdp/cpumap")
int probe_cpumap_prog(struct xdp_md *ctx)
{
	__u32 idx = 0;
	__u64 *v;
	long ret;

	if (bpf_xdp_adjust_head(ctx, 0))
		return XDP_DROP;
	ret = bpf_redirect_map(&probe_devmap, XDPSEC_DEVMAP_FEEDBACK, XDP_PASS);
	if (ret != XDP_REDIRECT) {
		v = bpf_map_lookup_elem(&probe_cnt, &idx);
		if (v)
			*v += 1;
	}
	return (int)ret;
}

/* xdp_adjust_head: the in-band frame tag is pushed in front of the IP
 * header and removed again with this helper. */
SEC("xdp")
int probe_adjust_head(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -32))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, 32))
		return XDP_DROP;
	return XDP_PASS;
}

/* xdp_get_buff_len: the whole length of a multi-buffer frame.  Probed in a
 * plain "xdp" program: the decrypt program calls it there too when it has
 * to be loaded without frags. */
SEC("xdp")
int probe_buff_len(struct xdp_md *ctx)
{
	return bpf_xdp_get_buff_len(ctx) > 9000 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
