/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_spd.bpf.h - the inbound SPD for plaintext, in the classify
 * program (BPF side; the daemon's side: user/spd/spd.c, user/spd/spd_maps.c).
 *
 * Plaintext that a `dir in` policy wants protected (a template that is
 * not optional) is dropped before any skb, counted TmplMismatch, and
 * plaintext that a block policy matches is dropped, counted PolBlock: what
 * the kernel's own check would do, earlier.
 *
 * The daemon compiles the policies into one LPM trie keyed by (family,
 * destination prefix): the entry of prefix P holds, in priority order, the
 * rules of every policy whose destination contains P (prefixes nest, so
 * the longest match holds every policy that can match the packet).  A
 * rule is the rest of the selector (source prefix as network + mask,
 * protocol, ports) and its verdict; the first rule that matches decides.
 * At most XDPSEC_SPD_RULES per entry: verifier cost is one bounded loop.
 *
 * Not judged here: a non-first fragment against a rule that needs ports
 * (it carries none; the first fragment, which does, decides the datagram:
 * dropping it is enough), and IKE (UDP to 500 or the NAT-T port: the
 * kernel lets the IKE daemon's socket through with a per-socket policy).
 */
#ifndef XDPSEC_SPD_BPF_H
#define XDPSEC_SPD_BPF_H

#include "xdpsec_spd_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDPSEC_SPD_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpsec_spd_key);
	__type(value, struct xdpsec_spd_val);
} xdpsec_spd SEC(".maps");

/* Refusals per verdict (XDPSEC_SPD_V_*), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPSEC_SPD_V__MAX);
	__type(key, __u32);
	__type(value, __u64);
} xdpsec_spd_cnt SEC(".maps");

/* Ports (ICMP: type and code) of a whole packet or first fragment. */
static __always_inline int xdpsec_spd_ports(void *data, void *data_end,
					    const struct xdpsec_pkt *p,
					    __u16 *sport, __u16 *dport)
{
	__u8 *l4;
	__u32 off = p->l4_off;

	*sport = *dport = 0;
	if (p->is_fragment && !p->is_first)
		return -1;
	if (off > XDPSEC_PARSE_MAX_OFF)
		return -1;
	l4 = (__u8 *)data + off;
	switch (p->l4_proto) {
	case 6: case 17: case 132: case 136:        /* TCP UDP SCTP UDP-Lite */
		if ((void *)(l4 + 4) > data_end)
			return -1;
		*sport = (__u16)(l4[0] << 8 | l4[1]);
		*dport = (__u16)(l4[2] << 8 | l4[3]);
		return 0;
	case 1: case 58:                            /* ICMP, ICMPv6 */
		if ((void *)(l4 + 2) > data_end)
			return -1;
		*sport = l4[0];
		*dport = l4[1];
		return 0;
	}
	return 0;
}

/* XDP_PASS or XDP_DROP for a plain (not IPsec) frame. */
static __always_inline int xdpsec_spd_plain(void *data, void *data_end,
					    const struct xdpsec_pkt *p, __u16 natt)
{
	struct xdpsec_spd_key k = {};
	struct xdpsec_spd_val *v;
	__u16 sport, dport;
	__u32 sa[4], n, verdict = XDPSEC_SPD_V_PASS, idx;
	int have_ports;
	__u64 *c;

	k.prefixlen = 8 + (p->family == XDPSEC_AF_INET ? 32 : 128);
	k.family = p->family;
	__builtin_memcpy(k.daddr, p->daddr, 16);
	v = bpf_map_lookup_elem(&xdpsec_spd, &k);
	if (!v)
		return XDP_PASS;
	have_ports = !xdpsec_spd_ports(data, data_end, p, &sport, &dport);
	if (have_ports && p->l4_proto == 17 && (dport == 500 || dport == natt))
		return XDP_PASS;
	__builtin_memcpy(sa, p->saddr, 16);
	n = v->n;
	for (__u32 i = 0; i < XDPSEC_SPD_RULES; i++) {
		const struct xdpsec_spd_rule *r = &v->r[i];

		if (i >= n)
			break;
		if (((sa[0] ^ r->src[0]) & r->smask[0]) || ((sa[1] ^ r->src[1]) & r->smask[1]) ||
		    ((sa[2] ^ r->src[2]) & r->smask[2]) || ((sa[3] ^ r->src[3]) & r->smask[3]))
			continue;
		if (r->proto && r->proto != p->l4_proto)
			continue;
		if (r->sport_mask || r->dport_mask) {
			if (!have_ports)
				break;          /* the first fragment decides */
			if (((sport ^ r->sport) & r->sport_mask) || ((dport ^ r->dport) & r->dport_mask))
				continue;
		}
		verdict = r->verdict;
		break;
	}
	if (verdict == XDPSEC_SPD_V_PASS || verdict >= XDPSEC_SPD_V__MAX)
		return XDP_PASS;
	idx = verdict;
	c = bpf_map_lookup_elem(&xdpsec_spd_cnt, &idx);
	if (c)
		*c += 1;
	return XDP_DROP;
}

#endif /* XDPSEC_SPD_BPF_H */
