// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* pipeline.c - the decision tree's loop body (see pipeline.h). */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "daemon.h"
#include "esp.h"
#include "events.h"
#include "frame_tag.h"
#include "pipeline.h"
#include "reasm.h"
#include "spd.h"
#include "xdpsec_parse.h"
#include <bpf/bpf.h>

#define TAG_HDR_LEN ((uint32_t)FRAME_TAG_HDR_LEN)

static const char *const branch_names[BRANCH__MAX] = {
	[BRANCH_ESP] = "esp",
	[BRANCH_FRAG_BEFORE] = "frag_before",
	[BRANCH_FRAG_AFTER] = "frag_after",
	[BRANCH_FRAG_BETWEEN] = "frag_between",
	[BRANCH_PLAIN_FRAG_STEERED] = "plain_frag_steered",
};

const char *pipeline_branch_name(enum pipeline_branch b)
{
	return b < BRANCH__MAX ? branch_names[b] : "?";
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The classifier's own answer for a reassembled datagram: the parser the
 * BPF programs use (xdpsec_parse.h), with the NAT-T peer pair looked up in
 * the same map, so a datagram is ESP here exactly when the decrypt program
 * will call it ESP. */
static enum xdpsec_class datagram_class(const struct pipeline_worker *w, uint8_t *ip,
					 size_t len)
{
	struct xdpsec_natt_val peer;
	struct xdpsec_natt_key k;
	struct xdpsec_pkt p;
	enum xdpsec_class c;
	bool have_peer = false;

	c = xdpsec_parse_ip_l3(ip, (__u32)len, &p);
	if (c != XDPSEC_CLASS__MAX)
		return c;
	if (p.l4_proto == XDPSEC_IPPROTO_UDP && w->natt_fd >= 0) {
		xdpsec_natt_key_of(&p, &k);
		have_peer = !bpf_map_lookup_elem(w->natt_fd, &k, &peer);
	}
	return xdpsec_parse_l4(ip, ip + len, &p, w->natt_port, have_peer ? &peer : NULL);
}

static enum pipeline_branch branch_of(uint32_t path)
{
	if (path & XDPSEC_PATH_FRAG_BETWEEN)
		return BRANCH_FRAG_BETWEEN;
	if (path & XDPSEC_PATH_FRAG_AFTER)
		return BRANCH_FRAG_AFTER;
	if (path & XDPSEC_PATH_FRAG_BEFORE)
		return BRANCH_FRAG_BEFORE;
	if (path & XDPSEC_PATH_ESP)
		return BRANCH_ESP;
	return BRANCH_PLAIN_FRAG_STEERED;
}

static void release(struct pipeline_worker *w, struct xsk_pkt *pkt)
{
	if (pkt)
		xsk_port_release(w->port, pkt);
}

static void esp_done(struct pipeline_worker *w, struct xsk_pkt *pkt,
		     struct xdpsec_tag *m, const struct esp_result *res,
		     const uint8_t *ip, size_t len);

/* The inbound SPD (spd.h) on plaintext about to be delivered: sa_index is
 * the SA that removed its last ESP layer, SA_INDEX_NONE when it came in
 * clear.  True (counted) when it must be dropped. */
static bool spd_refuses(struct pipeline_worker *w, const uint8_t *ip, size_t len,
			uint32_t sa_index)
{
	if (spd_check(w->d->spd, ip, len, sa_index) == SPD_PASS)
		return false;
	w->st.spd_dropped++;
	return true;
}

/*
 * Plaintext longer than the feedback pair takes, sent back in as IP
 * fragments that do fit (tagged PLAINTEXT, so the decrypt program passes
 * each to the stack as it is) for the host's own reassembly to deliver:
 * the same door as every other plaintext, no extra privilege.  IPv6: only
 * the fixed header is repeated (a datagram with hop-by-hop or routing
 * headers, which would have to be, is refused).  False when the datagram
 * cannot be split or a fragment cannot be queued.
 */
static bool send_fragmented(struct pipeline_worker *w, const uint8_t *ip, size_t len,
			    const struct xdpsec_tag *m)
{
	uint8_t hdr[TAG_HDR_LEN + 60 + 8];
	size_t room = xsk_port_max_frame(w->port) - TAG_HDR_LEN, hlen, flen, chunk, off;
	bool v4 = (ip[0] >> 4) == 4;
	uint32_t id = ++w->frag_id;

	if (v4) {
		hlen = (size_t)(ip[0] & 0xf) * 4;
		if (hlen < 20 || len <= hlen)
			return false;
		flen = hlen;
	} else {
		if (len <= 40 || ip[6] == XDPSEC_IPPROTO_HOPOPTS || ip[6] == XDPSEC_IPPROTO_ROUTING)
			return false;
		hlen = 40;
		flen = 48;              /* + the fragment header */
	}
	if (room <= flen + 8)
		return false;
	chunk = (room - flen) & ~(size_t)7;
	frame_tag_write(hdr, w->far_mac, w->near_mac, m);
	for (off = 0; off < len - hlen; off += chunk) {
		size_t n = len - hlen - off < chunk ? len - hlen - off : chunk;
		bool more = off + n < len - hlen;
		uint8_t *h = hdr + TAG_HDR_LEN;

		memcpy(h, ip, hlen);
		if (v4) {
			uint32_t sum = 0;

			h[2] = (uint8_t)((hlen + n) >> 8);
			h[3] = (uint8_t)(hlen + n);
			h[6] = (uint8_t)(((off / 8) >> 8) | (more ? 0x20 : 0));
			h[7] = (uint8_t)(off / 8);
			h[10] = h[11] = 0;
			for (size_t i = 0; i < hlen; i += 2)
				sum += (uint32_t)(h[i] << 8 | h[i + 1]);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			h[10] = (uint8_t)(~sum >> 8);
			h[11] = (uint8_t)~sum;
		} else {
			h[4] = (uint8_t)((8 + n) >> 8);
			h[5] = (uint8_t)(8 + n);
			h[6] = XDPSEC_IPPROTO_FRAGMENT;
			h[40] = ip[6];
			h[41] = 0;
			h[42] = (uint8_t)(off >> 8);
			h[43] = (uint8_t)(off | (more ? 1 : 0));
			memcpy(h + 44, &id, 4);
		}
		if (xsk_port_tx_copy2(w->port, hdr, (uint32_t)(TAG_HDR_LEN + flen),
				      ip + hlen + off, (uint32_t)n))
			return false;
		w->st.sent_back++;
		w->st.oversize_frags++;   /* frames, where the law counts datagrams */
	}
	return true;
}

/*
 * A frame longer than the feedback pair takes: only when the pair runs at
 * the single-buffer size (no multi-buffer XDP or AF_XDP in the kernel; see
 * kernel_features.h).  Nothing is lost silently: reassembled ciphertext is
 * decrypted here instead of re-entering the decrypt program, plaintext goes
 * back in as fragments the stack reassembles, and what can do neither is
 * counted.
 */
static bool send_oversize(struct pipeline_worker *w, struct xsk_pkt *pkt,
			  uint8_t *ip, size_t len, struct xdpsec_tag *m)
{
	struct esp_result res;

	switch (m->class) {
	case XDPSEC_CLASS_ESP:
		w->st.oversize_decrypted++;
		w->st.to_esp++;
		esp_input(w->esp, ip, len, &res);
		esp_done(w, pkt, m, &res, ip, len); /* the result goes back in, or here again */
		return true;
	case XDPSEC_CLASS_PLAINTEXT:
		release(w, pkt);
		if (!send_fragmented(w, ip, len, m))
			break;
		w->st.oversize_fragmented++;
		w->st.delivered++;
		w->st.delivered_bytes += len;
		w->st.branch[branch_of(m->path)]++;
		return true;
	default:
		release(w, pkt);
		break;
	}
	w->st.oversize_dropped++;
	return false;
}

/*
 * Send an IP datagram back in through the near end, tagged with *m.
 * When `pkt` is the received chunk holding `ip` and there is room in front
 * of it, the frame tag is written in place and the chunk itself is transmitted
 * (no copy); otherwise the datagram is copied into fresh chunks.
 * Takes ownership of pkt's chunk either way.  False when it could not be
 * queued (counted in tx_fail; xsk/tx_too_big says when it was too long
 * for the feedback pair).
 */
static bool send_back(struct pipeline_worker *w, struct xsk_pkt *pkt,
		      uint8_t *ip, size_t len, struct xdpsec_tag *m)
{
	int ret;

	m->magic = XDPSEC_TAG_MAGIC;
	m->origin = XDPSEC_ORIGIN_DAEMON;
	m->l3_off = XDPSEC_TAG_L3_OFF;
	if (len + TAG_HDR_LEN > xsk_port_max_frame(w->port))
		return send_oversize(w, pkt, ip, len, m);
	if (pkt && pkt->addr != XSK_NO_ADDR &&
	    (size_t)(ip - pkt->data) + pkt->headroom >= TAG_HDR_LEN) {
		frame_tag_write(ip - TAG_HDR_LEN, w->far_mac, w->near_mac, m);
		ret = xsk_port_tx_inplace(w->port, pkt, ip - TAG_HDR_LEN, (uint32_t)(len + TAG_HDR_LEN));
		pkt = NULL;     /* the chunk is the TX ring's now */
	} else {
		uint8_t hdr[TAG_HDR_LEN];

		frame_tag_write(hdr, w->far_mac, w->near_mac, m);
		ret = xsk_port_tx_copy2(w->port, hdr, TAG_HDR_LEN, ip, (uint32_t)len);
	}
	if (pkt)
		xsk_port_release(w->port, pkt);
	if (ret) {
		w->st.tx_fail++;
		return false;
	}
	w->st.sent_back++;
	if (m->class == XDPSEC_CLASS_PLAINTEXT) {
		w->st.delivered++;
		w->st.delivered_bytes += len;
		w->st.branch[branch_of(m->path)]++;
	}
	return true;
}

static void do_reasm(struct pipeline_worker *w, struct xsk_pkt *pkt,
		     struct xdpsec_tag *m, uint8_t *ip, size_t len)
{
	struct xdpsecd *d = w->d;
	uint8_t *out_buf = xsk_port_scratch(w->port);
	/* Borrowed output: the datagram is sent from the engine's memory, so
	 * it is copied once into the engine and once into the TX chunks, and
	 * the lock is held until it is queued (the next call on the engine
	 * may reuse that memory). */
	struct reasm_out out = { .buf = out_buf, .cap = XSKIO_MAX_PKT, .flags = REASM_OUT_BORROW };
	enum xdpsec_class cls;
	/* Fragments of one datagram meet only with fragments of the same
	 * layer that entered on the same interface. */
	uint64_t ctx = (uint64_t)m->ingress_ifindex << 8 | m->layer;
	bool sent;
	int r;

	w->st.to_reasm++;
	pthread_mutex_lock(&d->reasm_lock);
	r = reasm_feed(d->reasm, ip, len, now_ms(), ctx, m->path, &out);
	if (r != REASM_COMPLETE)
		pthread_mutex_unlock(&d->reasm_lock);
	/* before the chunk goes back: the event takes the peers from it */
	if (r == REASM_DROPPED) {
		const char *limit = reasm_reason_limit(out.reason);

		events_post_ip(d->events, limit ? "limit_hit" : "reasm_drop", ip, len,
			       "fragment dropped: %s%s%s", reasm_reason_name(out.reason),
			       limit ? ", limit " : "", limit ? limit : "");
	}
	xsk_port_release(w->port, pkt);    /* reasm copied what it keeps */

	if (r == REASM_HELD) {
		w->st.reasm_held++;
		return;
	}
	if (r != REASM_COMPLETE) {
		w->st.reasm_dropped++;
		return;
	}
	w->st.reasm_complete++;
	/* The daemon alone writes the history bits (the classify program's
	 * guesses about wire fragments are not history yet). */
	m->path = m->layer ? out.tag & ~(uint32_t)(XDPSEC_PATH_FRAG_AFTER | XDPSEC_PATH_FRAG_BETWEEN)
			   : 0;
	cls = datagram_class(w, out.data, out.len);
	if (cls == XDPSEC_CLASS_ESP || cls == XDPSEC_CLASS_MALFORMED) {
		/* the feedback path: ciphertext goes back to the decrypt stage
		 * (which also counts a malformed one under its reason) */
		m->path |= m->layer ? XDPSEC_PATH_FRAG_BETWEEN : XDPSEC_PATH_FRAG_AFTER;
		m->class = XDPSEC_CLASS_ESP;
		/* Its last fragment arrived now, in wire order with the SA's
		 * whole packets (the batch before it was flushed): the window's
		 * verdict is taken here, as the kernel takes it on reassembly,
		 * not when the datagram is back from the feedback pair behind
		 * whole packets that came after it (replay_arrived.h). */
		if (cls == XDPSEC_CLASS_ESP)
			esp_note_arrival(w->esp, out.data, out.len);
	} else {
		/* plaintext: inner fragments that were decrypted (fragmented
		 * before encryption), or plain UDP fragments steered to us */
		if (m->path & XDPSEC_PATH_ESP)
			m->path |= XDPSEC_PATH_FRAG_BEFORE;
		m->class = XDPSEC_CLASS_PLAINTEXT;
		if ((cls == XDPSEC_CLASS_PLAIN || (m->path & XDPSEC_PATH_ESP)) &&
		    spd_refuses(w, out.data, out.len,
				m->path & XDPSEC_PATH_ESP ? m->sa_index : SA_INDEX_NONE)) {
			pthread_mutex_unlock(&d->reasm_lock);
			return;
		}
	}
	sent = send_back(w, NULL, out.data, out.len, m);
	pthread_mutex_unlock(&d->reasm_lock);
	if (sent && m->class == XDPSEC_CLASS_ESP)
		w->st.sent_ciphertext++;
}

/* What follows the ESP engine for one packet of a burst. */
static void esp_done(struct pipeline_worker *w, struct xsk_pkt *pkt,
		     struct xdpsec_tag *m, const struct esp_result *res,
		     const uint8_t *ip, size_t len)
{
	struct xdpsecd *d = w->d;

	if (res->drop != ESP_DROP_NONE) {
		w->st.esp_dropped++;
		/* a refused packet's outer header is left as it came */
		if (res->drop == ESP_DROP_AUTH || res->drop == ESP_DROP_REPLAY)
			events_post_ip(d->events, res->drop == ESP_DROP_AUTH ? "auth_fail" : "replay",
				       ip, len, "SPI 0x%08x: %s", __builtin_bswap32(m->spi),
				       esp_drop_name(res->drop));
		release(w, pkt);
		return;
	}
	w->st.esp_ok++;
	if (w->sastate && res->sa_index < XDPSEC_SA_MAX)
		__atomic_store_n(&w->sastate[res->sa_index].replay_top, res->replay_top,
				 __ATOMIC_RELAXED);

	m->layer++;
	m->path |= XDPSEC_PATH_ESP;
	m->sa_index = res->sa_index;
	if (m->layer > PIPELINE_MAX_LAYERS) {
		w->st.too_deep++;
		release(w, pkt);
		return;
	}
	switch (res->kind) {
	case ESP_OUT_ESP:
		w->st.nested++;
		m->path |= XDPSEC_PATH_NESTED;
		m->class = XDPSEC_CLASS_ESP;
		break;
	case ESP_OUT_FRAGMENT:
		/* the decrypt program tells ESP fragments from plain ones */
		m->class = XDPSEC_CLASS_PLAIN_FRAG;
		break;
	default:
		if (spd_refuses(w, res->data, res->len, res->sa_index)) {
			release(w, pkt);
			return;
		}
		m->class = XDPSEC_CLASS_PLAINTEXT;
		break;
	}
	send_back(w, pkt, res->data, res->len, m);
}

static void esp_flush(struct pipeline_worker *w)
{
	struct pipeline_esp_batch *b = &w->esp_batch;

	if (!b->n)
		return;
	w->st.to_esp += b->n;
	esp_input_burst(w->esp, b->ip, b->len, b->n, b->res);
	for (unsigned i = 0; i < b->n; i++)
		esp_done(w, b->pkt[i], &b->m[i], &b->res[i], b->ip[i], b->len[i]);
	b->n = 0;
}

/*
 * Backpressure.  Frames re-entered by the daemon (reassembled ciphertext,
 * an inner ESP layer, inner fragments) share the RX ring with fresh frames
 * from the wire, and carry work already done.  When the worker falls
 * behind, the kernel drops whatever arrives at a full ring, invested or
 * not; and whatever the worker cannot queue for TX is lost.  So, when the
 * RX backlog comes within two batches of the ring's end (what the worker
 * sends back in between two reads must still find room) or frames wait in
 * the TX hold (xsk_io.h), the worker sheds fresh frames as it reads them,
 * before any work on them, counted in shed_fresh, and keeps processing
 * what the daemon sent back in.  It takes fresh frames again as soon as
 * the backlog is a batch below the mark and the hold is empty: each fresh
 * frame shed is one the ring could have kept (and a shed fragment costs
 * its whole datagram), so shedding stops at the least that keeps room for
 * the invested ones.  (Down to half the ring, a single stall of the worker
 * shed 960 fragments at 25k datagrams/s where the kernel would have dropped
 * none.)  A burst the ring absorbs never reaches the mark
 * (tests/e2e/test_steering.py sends 2400 frames back to back).
 */
#define SHED_ON  (XSKIO_RING_SIZE - 2 * XSKIO_BATCH)
#define SHED_OFF (SHED_ON - XSKIO_BATCH)

static bool shed_fresh(struct pipeline_worker *w)
{
	uint32_t rx = xsk_port_rx_backlog(w->port), tx = xsk_port_tx_backlog(w->port);

	if (!w->shedding && (rx >= SHED_ON || tx >= XSKIO_HOLD_MAX / 4))
		w->shedding = true;
	else if (w->shedding && rx <= SHED_OFF && !tx)
		w->shedding = false;
	return w->shedding;
}

void pipeline_handle_burst(struct pipeline_worker *w, struct xsk_pkt *pkts, unsigned n)
{
	struct pipeline_esp_batch *b = &w->esp_batch;
	bool shed = shed_fresh(w);

	for (unsigned i = 0; i < n; i++) {
		struct xsk_pkt *pkt = &pkts[i];
		struct xdpsec_tag m;
		uint8_t *ip;
		size_t len;
		int l3;

		w->st.rx++;
		l3 = frame_tag_read(pkt->data, pkt->len, &m);
		if (l3 < 0) {
			w->st.bad_tag++;
			xsk_port_release(w->port, pkt);
			continue;
		}
		if (shed && m.origin == XDPSEC_ORIGIN_WIRE) {
			w->st.shed_fresh++;
			xsk_port_release(w->port, pkt);
			continue;
		}
		ip = pkt->data + l3;
		len = pkt->len - (size_t)l3;

		if (m.class == XDPSEC_CLASS_ESP) {
			b->pkt[b->n] = pkt;
			b->m[b->n] = m;
			b->ip[b->n] = ip;
			b->len[b->n] = len;
			if (++b->n == PIPELINE_BATCH)
				esp_flush(w);
			continue;
		}
		esp_flush(w);           /* arrival order across classes */
		switch (m.class) {
		case XDPSEC_CLASS_ESP_FRAG_FIRST:
		case XDPSEC_CLASS_ESP_FRAG_MIDDLE:
		case XDPSEC_CLASS_ESP_FRAG_LAST:
		case XDPSEC_CLASS_PLAIN_FRAG:
			do_reasm(w, pkt, &m, ip, len);
			break;
		default:
			w->st.unexpected++;
			xsk_port_release(w->port, pkt);
			break;
		}
	}
	esp_flush(w);
}

void pipeline_handle(struct pipeline_worker *w, struct xsk_pkt *pkt)
{
	pipeline_handle_burst(w, pkt, 1);
}
