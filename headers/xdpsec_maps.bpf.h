/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_maps.bpf.h - the maps shared by the BPF programs (BPF side only).
 *
 * Include after vmlinux.h, <bpf/bpf_helpers.h> and xdpsec_common.h.
 *
 * No pinning attribute on purpose: iproute2 would pin them under
 * /sys/fs/bpf/tc/globals and `ip netns exec` remounts /sys.  The daemon
 * finds them instead from the program attached to the interface
 * (prog id -> map ids -> names below).  A map is bound to a program only
 * if the program's code references it, so the classify program touches
 * every map defined here (the SA maps through its optional early drop).
 */
#ifndef XDPSEC_MAPS_BPF_H
#define XDPSEC_MAPS_BPF_H

/* Counters, indexed by enum xdpsec_counter.  Per-CPU: no atomics needed,
 * userspace sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPSEC_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} xdpsec_cnt SEC(".maps");

/* Runtime knobs, key 0.  All-zero (the state after load) is the safe
 * default: malformed passed, NAT-T port 4500, no early drop. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpsec_config);
} xdpsec_cfg SEC(".maps");

/* Slot XDPSEC_DEVMAP_FEEDBACK = the feedback veth's near end, set by the
 * daemon.  struct bpf_devmap_val (not a bare ifindex) so the daemon may
 * also attach a devmap program to the entry. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} xdpsec_devmap SEC(".maps");

/* CPU id -> queue + program (bpf/steer.bpf.c), set by the daemon when
 * xdpsec_config.steer_cpus is non-zero. */
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, XDPSEC_CPU_MAX);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} xdpsec_cpumap SEC(".maps");

/* (family, dst, SPI, encap port) -> SA index.  Owned by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPSEC_SA_MAX);
	__type(key, struct xdpsec_sa_key);
	__type(value, struct xdpsec_sa_val);
} xdpsec_sa SEC(".maps");

/* sa_index -> replay state; mmap()ed by the daemon, read-only here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPSEC_SA_MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xdpsec_sa_state);
} xdpsec_sastate SEC(".maps");

/* NAT-T peer pairs (struct xdpsec_natt_key in xdpsec_common.h): set by the
 * daemon from its ESP-in-UDP SAs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPSEC_SA_MAX);
	__type(key, struct xdpsec_natt_key);
	__type(value, struct xdpsec_natt_val);
} xdpsec_natt SEC(".maps");

/* One AF_XDP socket per far-end queue, inserted by the daemon; the decrypt
 * program redirects into it.  The classify program reads slot 0 too: the
 * kernel empties a socket's slots when the socket closes, so an empty slot
 * 0 means no daemon is running (it was killed, say) and IPsec frames go to
 * the stack, counted not_configured, instead of into a feedback pair no one
 * reads. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDPSEC_XSK_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xdpsec_xsks SEC(".maps");

/* Bump one counter on this CPU.  Out-of-range indexes are ignored by the
 * map lookup (returns NULL), so a bad index can never fault. */
static __always_inline void xdpsec_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&xdpsec_cnt, &idx);

	if (v)
		*v += 1;
}

#endif /* XDPSEC_MAPS_BPF_H */
