// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * esp.c - inbound ESP processing (RFC 4303 3.4): outer IP parse, optional
 * UDP decapsulation (RFC 3948), SA lookup, replay pre-check, ICV check and
 * decryption (crypto.c), trailer check, then -- only if everything holds --
 * the replay window update and the plaintext handed back in place.
 *
 * Order matters for security: the window is only ever moved by packets
 * whose ICV verified (3.4.3), and res->data is set only on success.
 * No allocation per packet; every length read from the packet is checked.
 *
 * Both entry points run the same two halves per packet: esp_parse (up to
 * and including the replay pre-check, it fills a crypto job) and
 * esp_finish (ICV verdict, trailer, window update, result).  esp_input is
 * a burst of one.  A burst shares one read-side section and the last SA
 * found; crypto jobs the backend queues (ipsec-mb CBC+HMAC) are finished
 * after the backend's drain, in array order.
 *
 * The per-packet path stays in this one file (under 700 lines): parse,
 * inner-header check, finish and the burst loop call each other's static
 * inlines, which the compiler folds into one loop per burst.  Counter
 * names and sums are in esp_stats.c.
 */
#include "esp_sa.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "xdpsec_common.h"
#include "xdpsec_parse.h"

/* One packet between esp_parse and esp_finish. */
struct esp_pend {
	struct crypto_job job;   /* op + SA + verdict of the crypto backend   */
	struct sa *s;
	uint8_t *pkt;
	uint64_t seq;
	uint16_t l3_len, nh_off; /* < 64 KiB (XDPSEC_PARSE_MAX_OFF)           */
	uint8_t is_v4, is_frag, queued;
};

struct esp_ctx {
	struct sa_reader rd;     /* first: cache-line aligned */
	struct sa_table *t;
	struct crypto_thr *ct;
	struct esp_pend pend[ESP_BURST_MAX];
};

struct esp_ctx *esp_ctx_new(struct sa_table *t)
{
	struct esp_ctx *c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);

	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->ct = crypto_thr_new();
	if (!c->ct || sa_table_reader_add(t, &c->rd)) {
		crypto_thr_free(c->ct);
		free(c);
		return NULL;
	}
	return c;
}

void esp_ctx_free(struct esp_ctx *c)
{
	if (!c)
		return;
	sa_table_reader_del(c->t, &c->rd);
	crypto_thr_free(c->ct);
	free(c);
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Internet checksum of an IPv4 header (len a multiple of 4, as IHL is),
 * summed in memory byte order 32 bits at a time (RFC 1071: the one's
 * complement sum does not depend on byte order): 0 over a valid header;
 * over a header whose checksum field is 0, the value to store with memcpy. */
static inline uint16_t ip4_csum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	uint32_t w[5];
	size_t i;

	if (len == 20) {                /* no options: the usual case, unrolled */
		memcpy(w, p, 20);
		sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
		len = 0;
	}
	for (i = 0; i + 4 <= len; i += 4) {
		memcpy(w, p + i, 4);
		sum += w[0];
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Is the UDP datagram at p (len bytes) ESP-in-UDP on the standard port?
 * Used to tell the pipeline that a plaintext is another ESP layer. */
static int udp_is_esp(const uint8_t *p, size_t len)
{
	return len >= 8 + 8 && rd16(p + 2) == XDPSEC_NATT_PORT && rd32(p + 8) != 0;
}

/* The IPv6 packet p (len bytes, its payload length checked) as the
 * classifier parses it (headers/xdpsec_parse.h: one extension-header walk,
 * one depth limit, the same strictness): returns the offset of the first
 * header after the extension headers, with *nh that header's protocol,
 * *nh_off the offset of the byte naming it and *frag set when a fragment
 * header was seen (an atomic one too: reassembly removes it); -1 when the
 * chain is refused, *bad telling malformed (1) from cut short (0). */
static long v6_l4(const uint8_t *p, size_t len, uint8_t *nh, size_t *nh_off, int *frag,
		  int *bad)
{
	struct xdpsec_pkt xp;

	if (xdpsec_parse_ip_l3((void *)(uintptr_t)p, (__u32)len, &xp) == XDPSEC_CLASS_MALFORMED) {
		*bad = xp.reason != XDPSEC_DROP_IPV6_TRUNC_EXTHDR;
		return -1;
	}
	*nh = xp.l4_proto;
	*nh_off = xp.nh_off;
	*frag = xp.is_fragment || xp.is_atomic;
	return (long)xp.l4_off;
}

/* Tunnel mode: is the inner packet well formed?  Sets *out_len (the inner
 * packet's own length; TFC padding after it is cut) and *kind. */
static enum esp_drop check_inner(const uint8_t *p, size_t len, uint8_t nh, size_t *out_len,
				 enum esp_kind *kind)
{
	*kind = ESP_OUT_WHOLE;
	if (nh == IPPROTO_IPIP) {
		size_t ihl, tot;

		if (len < 20 || p[0] >> 4 != 4)
			return ESP_DROP_BAD_INNER;
		ihl = (size_t)(p[0] & 15) * 4;
		tot = rd16(p + 2);
		if (ihl < 20 || tot < ihl || tot > len || ip4_csum(p, ihl) != 0)
			return ESP_DROP_BAD_INNER;
		*out_len = tot;
		if (rd16(p + 6) & XDPSEC_IP_FRAG_MASK)
			*kind = ESP_OUT_FRAGMENT;
		else if (p[9] == IPPROTO_ESP ||
			 (p[9] == IPPROTO_UDP && udp_is_esp(p + ihl, tot - ihl)))
			*kind = ESP_OUT_ESP;
		return ESP_DROP_NONE;
	}
	if (nh == IPPROTO_IPV6) {
		size_t tot, nh_off;
		uint8_t inh;
		int frag = 0, bad;
		long l4;

		if (len < 40 || p[0] >> 4 != 6)
			return ESP_DROP_BAD_INNER;
		tot = 40 + (size_t)rd16(p + 4);
		if (tot > len)
			return ESP_DROP_BAD_INNER;
		*out_len = tot;
		l4 = v6_l4(p, tot, &inh, &nh_off, &frag, &bad);
		if (l4 < 0)
			return ESP_DROP_BAD_INNER;
		if (frag)
			*kind = ESP_OUT_FRAGMENT;
		else if (inh == IPPROTO_ESP ||
			 (inh == IPPROTO_UDP && udp_is_esp(p + l4, tot - (size_t)l4)))
			*kind = ESP_OUT_ESP;
		return ESP_DROP_NONE;
	}
	return ESP_DROP_BAD_NEXT_HDR;
}

/* One more in this context's slot i (< ESP_CNT__MAX). */
static inline void bump(struct esp_ctx *c, unsigned i)
{
	_Atomic uint64_t *cnt = &c->rd.cnt[i];

	/* single writer: a plain load+store, no locked instruction */
	atomic_store_explicit(cnt, atomic_load_explicit(cnt, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Counts the verdict (ESP_DROP_NONE = delivered) in this context's slot. */
static inline void count(struct esp_ctx *c, struct esp_result *res, enum esp_drop d)
{
	bump(c, d);
	res->drop = d;
}

/* A delivered packet DIST sequence numbers below the window's right edge
 * as it stood before it (0: above the edge, in order). */
static void count_reorder(struct esp_ctx *c, uint64_t dist)
{
	unsigned b = ESP_RO_IN_ORDER;

	if (dist) {
		b = ESP_RO_BELOW_1 + (unsigned)(63 - __builtin_clzll(dist));
		if (b > ESP_RO_BELOW_256_UP)
			b = ESP_RO_BELOW_256_UP;
		if (dist > atomic_load_explicit(&c->rd.ro_max, memory_order_relaxed))
			atomic_store_explicit(&c->rd.ro_max, dist, memory_order_relaxed);
	}
	bump(c, ESP_CNT_RO + b);
}

static inline void sa_count(uint64_t *field)
{
	__atomic_fetch_add(field, 1, __ATOMIC_RELAXED);
}

/* The SA found for the previous packet of a burst (valid inside the read
 * section that found it). */
struct sa_cache {
	struct sa_key k;
	struct sa *s;
};

/* First half: outer headers, SA, lengths, sequence number and replay
 * pre-check (no lock).  ESP_DROP_NONE: p->job is ready for the crypto
 * backend.  Inside the read section.  NOTE (esp_note_arrival): counts
 * nothing, writes nothing into pkt, and stops at the sequence number, with
 * p->s and p->seq set on ESP_DROP_NONE. */
static enum esp_drop esp_parse(struct esp_ctx *c, uint8_t *pkt, size_t len,
			       struct esp_result *res, struct esp_pend *p, struct sa_cache *sc,
			       bool note)
{
	size_t l3_len, nh_off, esp_off, end, esp_len, ct_len;
	int is_v4, is_frag = 0, udp = 0;
	uint16_t dport = 0;
	const uint8_t *daddr;
	struct sa_key k;
	uint64_t seq;
	uint8_t proto;
	struct sa *s;
	uint8_t *ct;

	res->data = NULL;
	res->len = 0;
	res->kind = ESP_OUT_WHOLE;
	res->sa_index = SA_INDEX_NONE;
	res->seq = 0;
	res->replay_top = 0;
	res->drop = ESP_DROP_NONE;

	/* ---- outer IP header */
	if (len < 1)
		return ESP_DROP_TRUNC;
	if (pkt[0] >> 4 == 4) {
		size_t ihl, tot;

		if (len < 20)
			return ESP_DROP_TRUNC;
		ihl = (size_t)(pkt[0] & 15) * 4;
		tot = rd16(pkt + 2);
		if (ihl < 20 || tot < ihl)
			return ESP_DROP_BAD_IP;
		if (tot > len)
			return ESP_DROP_TRUNC;
		/* as the kernel's ip_rcv_core: a whole packet is checked here
		 * as a fragment is in user/reasm/reasm.c (the BPF parser does not
		 * sum headers); every datagram the daemon rebuilds carries a
		 * recomputed checksum */
		if (ip4_csum(pkt, ihl) != 0)
			return ESP_DROP_BAD_CSUM;
		len = tot;                      /* ignore link-layer padding */
		is_v4 = 1;
		is_frag = (rd16(pkt + 6) & XDPSEC_IP_FRAG_MASK) != 0;
		proto = pkt[9];
		nh_off = 9;
		l3_len = ihl;
		daddr = pkt + 16;
	} else if (pkt[0] >> 4 == 6) {
		long off;
		int bad;

		if (len < 40)
			return ESP_DROP_TRUNC;
		if (rd16(pkt + 4) == 0)
			return ESP_DROP_BAD_IP;         /* jumbogram */
		if (40 + (size_t)rd16(pkt + 4) > len)
			return ESP_DROP_TRUNC;
		len = 40 + (size_t)rd16(pkt + 4);
		is_v4 = 0;
		off = v6_l4(pkt, len, &proto, &nh_off, &is_frag, &bad);
		if (off < 0)
			return bad ? ESP_DROP_BAD_IP : ESP_DROP_TRUNC;
		l3_len = (size_t)off;
		daddr = pkt + 24;
	} else {
		return ESP_DROP_BAD_IP;
	}

	/* ---- ESP, or ESP in UDP (RFC 3948) */
	end = len;
	if (proto == IPPROTO_UDP) {
		size_t ulen;

		if (l3_len + 8 > len)
			return ESP_DROP_TRUNC;
		ulen = rd16(pkt + l3_len + 4);
		if (ulen < 8 || l3_len + ulen > len)
			return ESP_DROP_TRUNC;
		/* one 0xff byte: NAT keepalive; four zero bytes: IKE (non-ESP marker) */
		if (ulen < 8 + 4 || rd32(pkt + l3_len + 8) == 0)
			return ESP_DROP_NOT_ESP;
		dport = rd16(pkt + l3_len + 2);
		udp = 1;
		esp_off = l3_len + 8;
		end = l3_len + ulen;
	} else if (proto == IPPROTO_ESP) {
		esp_off = l3_len;
	} else {
		return ESP_DROP_NOT_ESP;
	}
	esp_len = end - esp_off;
	if (esp_len < 8)
		return ESP_DROP_TRUNC;

	/* ---- SA: whole-word key, the previous packet's SA if it is the same */
	if (is_v4) {
		uint32_t d4;

		memcpy(&d4, daddr, 4);
		k.a = d4;
		k.b = 0;
		k.fp = SA_KEY_FP(AF_INET, IPPROTO_ESP);
	} else {
		memcpy(&k.a, daddr, 8);
		memcpy(&k.b, daddr + 8, 8);
		k.fp = SA_KEY_FP(AF_INET6, IPPROTO_ESP);
	}
	k.spi = rd32(pkt + esp_off);
	if (sc->s && sa_key_eq(&sc->k, &k)) {
		s = sc->s;
	} else {
		s = sa_table_lookup(c->t, &k);
		if (!s)
			return ESP_DROP_NO_SA;
		sc->k = k;
		sc->s = s;
	}
	res->sa_index = s->index;
	if (udp != s->encap || (udp && dport != s->encap_dport)) {
		if (!note)
			sa_count(&s->st.encap);
		return ESP_DROP_ENCAP;
	}
	if (esp_len < 8 + (size_t)s->cp.iv_len + s->cp.icv_len + 2) {
		if (!note)
			sa_count(&s->st.trunc);
		return ESP_DROP_TRUNC;
	}
	ct_len = esp_len - 8 - s->cp.iv_len - s->cp.icv_len;
	if (ct_len & (s->cp.block - 1u)) {      /* block: 1 or 16 (crypto_check_config) */
		if (!note)
			sa_count(&s->st.trunc);
		return ESP_DROP_TRUNC;
	}
	/* past a hard limit: refused before any work, as the kernel does */
	if (__atomic_load_n(&s->expired, __ATOMIC_RELAXED))
		return ESP_DROP_EXPIRED;

	/* ---- sequence number: ESN inference, replay pre-check (no lock).
	 * Arrival records (replay_arrived.h) come in only for a number left
	 * of the window, and are looked at under the SA's lock: a packet with
	 * a record passes the pre-check, esp_finish decides. */
	if (s->esn) {
		uint64_t top = __atomic_load_n(&s->replay.top, __ATOMIC_ACQUIRE);
		uint32_t lo = rd32(pkt + esp_off + 4);
		int bad = replay_esn_infer(top, s->replay.window, lo, &seq);

		/* RFC 4303 A2.2 takes a number left of the window for the next
		 * cycle's, 2^32 ahead: a datagram with a record is the record's */
		if ((bad || (seq > top && seq - top > (1ull << 31))) &&
		    replay_arrived_live(&s->arrived)) {
			sa_lock(&s->lock);
			if (replay_arrived_lo(&s->arrived, s->replay.top, lo, &seq))
				bad = 0;
			sa_unlock(&s->lock);
		}
		if (bad) {
			if (!note)
				sa_count(&s->st.replay);
			return ESP_DROP_REPLAY;
		}
	} else {
		seq = rd32(pkt + esp_off + 4);
	}
	res->seq = seq;
	if (note) {
		p->s = s;
		p->seq = seq;
		return ESP_DROP_NONE;
	}
	if (replay_check(&s->replay, seq)) {
		bool rec = false;

		if (replay_left_of(&s->replay, seq) && replay_arrived_live(&s->arrived)) {
			sa_lock(&s->lock);
			rec = replay_arrived_find(&s->arrived, seq, false);
			sa_unlock(&s->lock);
		}
		if (!rec) {
			sa_count(&s->st.replay);
			return ESP_DROP_REPLAY;
		}
	}

	ct = pkt + esp_off + 8 + s->cp.iv_len;
	p->job.op.esp = pkt + esp_off;
	p->job.op.ct = ct;
	p->job.op.ct_len = ct_len;
	p->job.op.icv = ct + ct_len;
	p->job.op.seq_hi = (uint32_t)(seq >> 32);
	p->job.op.esn = s->esn;
	p->job.sa = s->crypto;
	p->s = s;
	p->pkt = pkt;
	p->seq = seq;
	p->l3_len = (uint16_t)l3_len;
	p->nh_off = (uint16_t)nh_off;
	p->is_v4 = (uint8_t)is_v4;
	p->is_frag = (uint8_t)is_frag;
	return ESP_DROP_NONE;
}

/* Second half, once the backend has p->job.rc: ICV verdict, trailer,
 * window update, result.  Inside the read section. */
static enum esp_drop esp_finish(struct esp_ctx *c, struct esp_pend *p, struct esp_result *res)
{
	struct sa_table *t = c->t;
	struct sa *s = p->s;
	bool wake = false, taken = false, late = false;
	uint8_t *pt = p->job.op.ct, padlen, nh;
	size_t ct_len = p->job.op.ct_len, pay_len, out_len = 0;
	enum esp_kind kind = ESP_OUT_WHOLE;
	enum esp_drop verdict;
	uint64_t top, top0;

	if (p->job.rc) {
		if (p->job.rc == -EBADMSG) {
			sa_count(&s->st.auth_fail);
			return ESP_DROP_AUTH;
		}
		return ESP_DROP_NOMEM;
	}

	/* ---- authentic from here on: trailer (RFC 4303 2.4-2.6) */
	padlen = pt[ct_len - 2];
	nh = pt[ct_len - 1];
	verdict = ESP_DROP_NONE;
	if ((size_t)padlen + 2 > ct_len) {
		verdict = ESP_DROP_PAD;
	} else {
		const uint8_t *pad = pt + ct_len - 2 - padlen;
		uint8_t bad = 0, i;

		for (i = 0; i < padlen; i++)
			bad |= pad[i] ^ (uint8_t)(i + 1);
		if (bad)
			verdict = ESP_DROP_PAD;
	}
	pay_len = ct_len - 2 - padlen;
	if (verdict == ESP_DROP_NONE) {
		if (nh == 59)
			verdict = ESP_DROP_TFC;
		else if (s->mode == XS_MODE_TUNNEL)
			verdict = check_inner(pt, pay_len, nh, &out_len, &kind);
	}

	/* ---- window update (authoritative re-check under the SA's lock).
	 * A guarded table never moves the edge past what the state file
	 * holds (replay_marks.h): a restart must not accept again what was
	 * delivered.  The main thread is nudged well before that point. */
	sa_lock(&s->lock);
	top0 = s->replay.top;
	if (__atomic_load_n(&s->expired, __ATOMIC_RELAXED)) {
		verdict = ESP_DROP_EXPIRED;     /* another packet reached the limit meanwhile */
	} else if (t->replay_guard && p->seq > s->replay_ceiling && !replay_check(&s->replay, p->seq)) {
		verdict = ESP_DROP_UNSAVED;
	} else if (!replay_update(&s->replay, p->seq)) {
		taken = true;
		replay_arrived_take(&s->arrived, p->seq);   /* accepted: no second time */
	} else if (replay_left_of(&s->replay, p->seq) && replay_arrived_take(&s->arrived, p->seq)) {
		/* the window took it when it arrived; whole packets that came
		 * after it moved the edge while it was reassembled */
		taken = late = true;
	} else {
		verdict = ESP_DROP_REPLAY;      /* another packet took it meanwhile */
		sa_count(&s->st.replay);
	}
	if (taken && verdict == ESP_DROP_NONE) {
		size_t n = s->mode == XS_MODE_TUNNEL ? out_len : pay_len;

		s->st.packets++;
		s->st.bytes += n;
		/* the kernel counts the packet that reaches a limit and
		 * refuses the next ones (xfrm_input: check, then count) */
		s->life_packets++;
		s->life_bytes += n;
		if ((s->hard_packets && s->life_packets >= s->hard_packets) ||
		    (s->hard_bytes && s->life_bytes >= s->hard_bytes))
			__atomic_store_n(&s->expired, 1, __ATOMIC_RELAXED);
	}
	top = s->replay.top;
	if (t->replay_guard && !s->replay_nudged &&
	    (top >= s->replay_nudge || verdict == ESP_DROP_UNSAVED))
		wake = s->replay_nudged = true;
	sa_unlock(&s->lock);
	if (wake)
		eventfd_write(t->replay_wake_fd, 1);
	res->replay_top = top;
	if (taken && verdict == ESP_DROP_NONE) {
		count_reorder(c, p->seq > top0 ? 0 : top0 - p->seq);
		if (late)
			bump(c, ESP_CNT_RO + ESP_RO_LATE_ACCEPTED);
	}
	switch (verdict) {
	case ESP_DROP_NONE:
	case ESP_DROP_REPLAY:
	case ESP_DROP_UNSAVED:
	case ESP_DROP_EXPIRED:
		break;
	case ESP_DROP_PAD:
		sa_count(&s->st.pad_err);
		break;
	case ESP_DROP_TFC:
		sa_count(&s->st.tfc_dummy);
		break;
	default:
		sa_count(&s->st.bad_inner);
	}
	if (verdict != ESP_DROP_NONE)
		return verdict;

	if (s->mode == XS_MODE_TUNNEL) {
		res->data = pt;
		res->len = out_len;
		res->kind = kind;
	} else {
		/* Transport: slide the IP header (and IPv6 extension headers)
		 * up against the payload; it is short, the payload may not be. */
		uint8_t *pkt = p->pkt;
		size_t l3_len = p->l3_len, shift = (size_t)(pt - pkt) - l3_len;
		uint8_t *ip = pkt + shift;

		memmove(ip, pkt, l3_len);
		ip[p->nh_off] = nh;
		out_len = l3_len + pay_len;
		if (p->is_v4) {
			uint16_t csum;

			ip[2] = (uint8_t)(out_len >> 8);
			ip[3] = (uint8_t)out_len;
			ip[10] = ip[11] = 0;
			csum = ip4_csum(ip, l3_len);
			memcpy(ip + 10, &csum, 2);
		} else {
			ip[4] = (uint8_t)((out_len - 40) >> 8);
			ip[5] = (uint8_t)(out_len - 40);
		}
		res->data = ip;
		res->len = out_len;
		if (p->is_frag)
			res->kind = ESP_OUT_FRAGMENT;
		else if (nh == IPPROTO_ESP ||
			 (nh == IPPROTO_UDP && udp_is_esp(ip + l3_len, pay_len)))
			res->kind = ESP_OUT_ESP;
	}
	return ESP_DROP_NONE;
}

/* At most ESP_BURST_MAX packets in one read-side section. */
static unsigned burst(struct esp_ctx *c, uint8_t *const pkts[], const size_t lens[],
		      unsigned n, struct esp_result res[])
{
	struct sa_cache sc = { .s = NULL };
	unsigned i, ok = 0, queued = 0;
	enum esp_drop d;

	sa_read_enter(c->t, &c->rd);
	for (i = 0; i < n; i++) {
		struct esp_pend *p = &c->pend[i];

		p->queued = 0;
		d = esp_parse(c, pkts[i], lens[i], &res[i], p, &sc, false);
		if (d == ESP_DROP_NONE) {
			if (n >= CRYPTO_QUEUE_MIN && crypto_queues(c->ct, p->job.sa)) {
				p->queued = 1;  /* decided after the loop */
				queued++;
				continue;
			}
			p->job.rc = crypto_open(c->ct, p->job.sa, &p->job.op);
			d = esp_finish(c, p, &res[i]);
		}
		count(c, &res[i], d);
		ok += d == ESP_DROP_NONE;
	}
	if (queued) {
		/* enough of them to fill the hash lanes: submit all, drain once;
		 * else one by one (OpenSSL twin) */
		for (i = 0; i < n; i++)
			if (c->pend[i].queued) {
				struct esp_pend *p = &c->pend[i];

				if (queued < CRYPTO_QUEUE_MIN)
					p->job.rc = crypto_open(c->ct, p->job.sa, &p->job.op);
				else
					crypto_submit(c->ct, &p->job);
			}
		if (queued >= CRYPTO_QUEUE_MIN)
			crypto_drain(c->ct);
		for (i = 0; i < n; i++)
			if (c->pend[i].queued) {
				d = esp_finish(c, &c->pend[i], &res[i]);
				count(c, &res[i], d);
				ok += d == ESP_DROP_NONE;
			}
	}
	sa_read_leave(&c->rd);
	return ok;
}

unsigned esp_input_burst(struct esp_ctx *c, uint8_t *const pkts[], const size_t lens[],
			 unsigned n, struct esp_result res[])
{
	unsigned done, m, ok = 0;

	for (done = 0; done < n; done += m) {
		m = n - done < ESP_BURST_MAX ? n - done : ESP_BURST_MAX;
		ok += burst(c, pkts + done, lens + done, m, res + done);
	}
	return ok;
}

void esp_note_arrival(struct esp_ctx *c, const uint8_t *pkt, size_t len)
{
	struct sa_cache sc = { .s = NULL };
	struct esp_result res;
	struct esp_pend p;
	enum replay_note r;

	sa_read_enter(c->t, &c->rd);
	/* note mode reads pkt only (esp_parse) */
	if (esp_parse(c, (uint8_t *)(uintptr_t)pkt, len, &res, &p, &sc, true) != ESP_DROP_NONE) {
		sa_read_leave(&c->rd);
		return;                 /* the engine will drop and count it */
	}
	sa_lock(&p.s->lock);
	r = replay_arrived_note(&p.s->arrived, &p.s->replay, p.seq);
	sa_unlock(&p.s->lock);
	sa_read_leave(&c->rd);
	if (r == REPLAY_NOTE_SEEN)
		bump(c, ESP_CNT_RO + ESP_RO_SEEN);
	else if (r != REPLAY_NOTE_KNOWN)
		bump(c, ESP_CNT_RO + ESP_RO_NOTED);
	if (r == REPLAY_NOTE_EVICTED)
		bump(c, ESP_CNT_RO + ESP_RO_EVICTED);
}

int esp_input(struct esp_ctx *c, uint8_t *pkt, size_t len, struct esp_result *res)
{
	if (burst(c, &pkt, &len, 1, res))
		return 0;
	return res->drop == ESP_DROP_NOMEM ? -ENOMEM : -EINVAL;
}
