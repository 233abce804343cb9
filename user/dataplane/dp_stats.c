// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dp_stats.c - the data plane's counters (BPF, pipeline, AF_XDP sockets,
 * feedback pair) and its part of `xdpsecctl status`.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"

/* ------------------------------------------------------------- counters */

/* The BPF counters, made from the lists in headers/xdpsec_common.h. */
static const struct bpf_counter_desc {
	const char *group, *name, *help;
	int is_drop;
} bpf_cnt[XDPSEC_CNT__MAX] = {
#define XDPSEC_X(id, name, help) \
	[XDPSEC_CNT_CLASS_BASE + XDPSEC_CLASS_##id] = { "classify", name, help, 0 },
	XDPSEC_CLASS_LIST(XDPSEC_X)
#undef XDPSEC_X
#define XDPSEC_X(id, name, help) \
	[XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_##id] = { "classify", name, help, 1 },
	XDPSEC_DROP_LIST(XDPSEC_X)
#undef XDPSEC_X
#define XDPSEC_X(id, group, name, help, is_drop) \
	[XDPSEC_CNT_##id] = { group, name, help, is_drop },
	XDPSEC_CNT_EVENT_LIST(XDPSEC_X)
#undef XDPSEC_X
};
_Static_assert(sizeof(bpf_cnt) / sizeof(bpf_cnt[0]) == XDPSEC_CNT__MAX,
	       "one descriptor per BPF counter");

/* Sum the per-CPU counters of every distinct counter map. */
void dp_read_bpf_counters(struct dataplane *dp, uint64_t out[XDPSEC_CNT__MAX])
{
	uint64_t *vals = calloc((size_t)dp->ncpus, sizeof(uint64_t));

	memset(out, 0, sizeof(uint64_t) * XDPSEC_CNT__MAX);
	if (!vals)
		return;
	for (int i = 0; i < dp->n_in; i++) {
		if (DP_MAP_SEEN(dp, i, cnt_fd))
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
	dp_read_bpf_counters(dp, c);
	for (int i = 0; i < XDPSEC_CNT__MAX; i++) {
		const struct bpf_counter_desc *cd = &bpf_cnt[i];

		if (!cd->name)
			continue;      /* drop reason "none" */
		n = xs_counter_add(out, n, max, cd->group, cd->name, cd->help,
				   SUB(c[i], dp->cnt_base[i]), cd->is_drop);
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
	dp_read_bpf_counters(dp, dp->cnt_base);
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
