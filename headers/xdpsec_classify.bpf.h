/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_classify.bpf.h - the BPF side's one classifier: the shared parser
 * (xdpsec_parse.h) with the NAT-T peer pair looked up between its two
 * steps.  Both the classify and the decrypt program call it, so a frame
 * gets the same class on the wire and when it comes back from the daemon.
 * Include after xdpsec_maps.bpf.h and xdpsec_parse.h.
 */
#ifndef XDPSEC_CLASSIFY_BPF_H
#define XDPSEC_CLASSIFY_BPF_H

static __always_inline enum xdpsec_class
xdpsec_classify_frame(void *data, void *data_end, __u32 frame_len, __u16 natt_port,
		      __u32 flags, struct xdpsec_pkt *p)
{
	const struct xdpsec_natt_val *peer = NULL;
	struct xdpsec_natt_key k;
	enum xdpsec_class c;

	c = xdpsec_parse_l3(data, data_end, frame_len, flags, p);
	if (c != XDPSEC_CLASS__MAX)
		return c;
	if (p->l4_proto == XDPSEC_IPPROTO_UDP) {
		xdpsec_natt_key_of(p, &k);
		peer = bpf_map_lookup_elem(&xdpsec_natt, &k);
	}
	return xdpsec_parse_l4(data, data_end, p, natt_port, peer);
}

#endif /* XDPSEC_CLASSIFY_BPF_H */
