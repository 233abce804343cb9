// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * spd.c - the inbound SPD and its check (see spd.h).
 *
 * Matching follows the Linux kernel's XFRM input path: the SA's selector
 * first (XfrmInStateMismatch), then the lowest-priority-value `dir in`
 * policy whose selector matches (ties: the one added first), then its
 * templates against the SA (XfrmInTmplMismatch), as xfrm_state_ok does:
 * same protocol and mode, spi and reqid equal unless 0 in the template,
 * and for tunnel mode the template's endpoints equal the SA's unless the
 * template leaves them unspecified.  xdpsec knows only the SA that removed
 * the last ESP layer (the frame tag carries one index, pipeline.c), so a
 * policy is satisfied by a template that SA satisfies, all its other
 * templates being optional: nested SAs (a policy with two non-optional
 * templates) are refused as TmplMismatch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "spd.h"
#include "xdpsec_common.h"
#include "xdpsec_parse.h"

#define SPD_MAX 1024

struct spd {
	pthread_rwlock_t lock;
	struct xs_policy *pol;          /* sorted: priority, then age      */
	unsigned n;
	uint32_t next_index;
	_Atomic uint64_t gen;
	_Atomic unsigned n_in;          /* dir in policies: 0 skips lookups */
	struct spd_sa sa[XDPSEC_SA_MAX];
	_Atomic uint64_t cnt[SPD__MAX];
};

struct spd *spd_new(void)
{
	struct spd *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pol = calloc(SPD_MAX, sizeof(*s->pol));
	if (!s->pol) {
		free(s);
		return NULL;
	}
	pthread_rwlock_init(&s->lock, NULL);
	s->next_index = 8;              /* kernel-like: multiple of 8 + dir */
	return s;
}

void spd_free(struct spd *s)
{
	if (!s)
		return;
	pthread_rwlock_destroy(&s->lock);
	free(s->pol);
	free(s);
}

static void recount(struct spd *s)
{
	unsigned in = 0;

	for (unsigned i = 0; i < s->n; i++)
		in += s->pol[i].dir == XS_DIR_IN;
	atomic_store(&s->n_in, in);
	atomic_fetch_add(&s->gen, 1);
}

int spd_add(struct spd *s, struct xs_policy *p, bool update, char *err, size_t errlen)
{
	unsigned i, at;

	if (p->dir > XS_DIR_FWD || p->action > XS_ACT_BLOCK || p->n_tmpl > XS_TMPL_MAX) {
		snprintf(err, errlen, "invalid policy (dir, action or template count)");
		return -EINVAL;
	}
	pthread_rwlock_wrlock(&s->lock);
	for (i = 0; i < s->n; i++) {
		struct xs_policy *q = &s->pol[i];

		if ((p->index && q->index == p->index) ||
		    (q->dir == p->dir && sa_sel_equal(&q->sel, &p->sel))) {
			if (!update) {
				pthread_rwlock_unlock(&s->lock);
				snprintf(err, errlen, "policy exists (index %u)", q->index);
				return -EEXIST;
			}
			if (!p->index)
				p->index = q->index;
			memmove(q, q + 1, (s->n - i - 1) * sizeof(*q));
			s->n--;
			break;
		}
	}
	if (s->n == SPD_MAX) {
		pthread_rwlock_unlock(&s->lock);
		snprintf(err, errlen, "SPD full (%u policies)", SPD_MAX);
		return -ENOSPC;
	}
	if (!p->index) {
		p->index = s->next_index | p->dir;
		s->next_index += 8;
	}
	/* after every policy of the same or better priority: first added wins */
	for (at = 0; at < s->n && s->pol[at].priority <= p->priority; at++)
		;
	memmove(&s->pol[at + 1], &s->pol[at], (s->n - at) * sizeof(*p));
	s->pol[at] = *p;
	s->n++;
	recount(s);
	pthread_rwlock_unlock(&s->lock);
	return 0;
}

int spd_del(struct spd *s, uint8_t dir, const struct xs_selector *sel, uint32_t index, int origin)
{
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		struct xs_policy *q = &s->pol[i];

		if (index ? q->index != index : (q->dir != dir || !sa_sel_equal(&q->sel, sel)))
			continue;
		if (origin >= 0 && q->origin != origin)
			continue;
		memmove(q, q + 1, (s->n - i - 1) * sizeof(*q));
		s->n--;
		rc = 0;
		break;
	}
	if (!rc)
		recount(s);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

unsigned spd_flush(struct spd *s, int origin)
{
	unsigned kept = 0, gone;

	pthread_rwlock_wrlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		if (origin >= 0 && s->pol[i].origin != origin)
			s->pol[kept++] = s->pol[i];
	gone = s->n - kept;
	s->n = kept;
	recount(s);
	pthread_rwlock_unlock(&s->lock);
	return gone;
}

void spd_walk(struct spd *s, void (*cb)(const struct xs_policy *p, void *arg), void *arg)
{
	pthread_rwlock_rdlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		cb(&s->pol[i], arg);
	pthread_rwlock_unlock(&s->lock);
}

unsigned spd_count(struct spd *s)
{
	unsigned n;

	pthread_rwlock_rdlock(&s->lock);
	n = s->n;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

uint64_t spd_generation(struct spd *s)
{
	return atomic_load(&s->gen);
}

void spd_sa_set(struct spd *s, uint32_t idx, const struct xs_sa_config *c)
{
	struct spd_sa v = { .sel = c->sel, .src = c->src, .dst = c->dst, .spi = c->spi,
			    .reqid = c->reqid, .proto = c->proto, .mode = c->mode,
			    .origin = c->origin, .valid = 1 };

	if (!s || idx >= XDPSEC_SA_MAX)
		return;
	pthread_rwlock_wrlock(&s->lock);
	s->sa[idx] = v;
	pthread_rwlock_unlock(&s->lock);
}

void spd_sa_expire(struct spd *s, uint32_t idx)
{
	if (!s || idx >= XDPSEC_SA_MAX)
		return;
	pthread_rwlock_wrlock(&s->lock);
	s->sa[idx].expired = 1;
	pthread_rwlock_unlock(&s->lock);
}

void spd_sa_clear(struct spd *s, uint32_t idx)
{
	if (!s || idx >= XDPSEC_SA_MAX)
		return;
	pthread_rwlock_wrlock(&s->lock);
	memset(&s->sa[idx], 0, sizeof(s->sa[idx]));
	pthread_rwlock_unlock(&s->lock);
}

/* ------------------------------------------------------------ matching */

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, net, full))
		return false;
	return !rest || !((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest)));
}

bool spd_sel_match(const struct xs_selector *sel, uint8_t family, const uint8_t *src,
		   const uint8_t *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	if (sel->family && sel->family != family)
		return false;
	if (!prefix_match(src, sel->src.bytes, sel->src_plen) ||
	    !prefix_match(dst, sel->dst.bytes, sel->dst_plen))
		return false;
	if (sel->proto && sel->proto != proto)
		return false;
	return !((sport ^ sel->sport) & sel->sport_mask) && !((dport ^ sel->dport) & sel->dport_mask);
}

static bool addr_any(const struct xs_addr *a)
{
	static const uint8_t zero[16];

	return !a->family || !memcmp(a->bytes, zero, 16);
}

static bool addr_eq(const struct xs_addr *t, const struct xs_addr *x)
{
	return addr_any(t) || !memcmp(t->bytes, x->bytes, 16);
}

bool spd_tmpl_ok(const struct xs_tmpl *t, const struct spd_sa *sa)
{
	return sa->valid && t->proto == sa->proto && (!t->spi || t->spi == sa->spi) &&
	       (!t->reqid || t->reqid == sa->reqid) && t->mode == sa->mode &&
	       (sa->mode == XS_MODE_TRANSPORT ||
		(addr_eq(&t->dst, &sa->dst) && addr_eq(&t->src, &sa->src)));
}

/* The flow of an IP packet: addresses, protocol and ports (ICMP type and
 * code, as the kernel's flow keys hold them).  A non-first fragment never
 * reaches here (only whole or reassembled datagrams are delivered). */
struct flow {
	uint8_t family, proto;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
};

/* The flow of a packet about to be delivered, read by the classifier's own
 * parser (headers/xdpsec_parse.h: its extension-header depth limit, its
 * hop-by-hop rule, its fragment fields), so the SPD sees the transport
 * header the classify program and the ESP engine see.  Ports only where
 * the datagram holds them: not in a non-first fragment.  False when the
 * parser refuses the header. */
static bool flow_of(const uint8_t *ip, size_t len, struct flow *f)
{
	struct xdpsec_pkt p;
	size_t off;

	if (!len || len > UINT32_MAX ||
	    xdpsec_parse_ip_l3((void *)(uintptr_t)ip, (__u32)len, &p) == XDPSEC_CLASS_MALFORMED)
		return false;
	f->family = p.family == XDPSEC_AF_INET ? AF_INET : AF_INET6;
	f->proto = p.l4_proto;
	f->src = ip + (f->family == AF_INET ? 12 : 8);
	f->dst = ip + (f->family == AF_INET ? 16 : 24);
	f->sport = f->dport = 0;
	if (p.is_fragment && !p.is_first)
		return true;
	off = p.l4_off;
	switch (f->proto) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_SCTP: case IPPROTO_UDPLITE:
		if (off + 4 <= len) {
			f->sport = (uint16_t)(ip[off] << 8 | ip[off + 1]);
			f->dport = (uint16_t)(ip[off + 2] << 8 | ip[off + 3]);
		}
		break;
	case IPPROTO_ICMP: case IPPROTO_ICMPV6:
		if (off + 2 <= len) {
			f->sport = ip[off];
			f->dport = ip[off + 1];
		}
		break;
	}
	return true;
}

/* The address bytes of a selector are 16 wide with IPv4 in the first 4
 * (struct xs_addr); the packet's IPv4 address is padded the same way. */
static bool sel_match_flow(const struct xs_selector *sel, const struct flow *f)
{
	uint8_t s[16] = { 0 }, d[16] = { 0 };
	size_t al = f->family == AF_INET ? 4 : 16;

	memcpy(s, f->src, al);
	memcpy(d, f->dst, al);
	return spd_sel_match(sel, f->family, s, d, f->proto, f->sport, f->dport);
}

static enum spd_verdict judge(struct spd *s, const struct flow *f, const struct spd_sa *sa)
{
	const struct xs_policy *p = NULL;
	bool ok;

	if (sa && sa->expired)
		return SPD_STATE_EXPIRED;
	if (sa && !sel_match_flow(&sa->sel, f))
		return SPD_STATE_MISMATCH;
	for (unsigned i = 0; i < s->n; i++)
		if (s->pol[i].dir == XS_DIR_IN && sel_match_flow(&s->pol[i].sel, f)) {
			p = &s->pol[i];
			break;
		}
	if (!p)     /* the kernel's default: allow, but not a tunnel's traffic
		     * (for SAs the kernel would judge: spd.h) */
		return sa && sa->mode == XS_MODE_TUNNEL && sa->origin == XS_ORIGIN_XFRM
			? SPD_NOPOLS : SPD_PASS;
	if (p->action == XS_ACT_BLOCK)
		return SPD_POLBLOCK;
	/* one SA: it must satisfy one template, every other one optional */
	ok = sa == NULL;
	for (unsigned i = 0; i < p->n_tmpl; i++) {
		if (sa && !ok && spd_tmpl_ok(&p->tmpl[i], sa)) {
			ok = true;
			continue;
		}
		if (!p->tmpl[i].optional)
			return SPD_TMPL_MISMATCH;
	}
	/* a policy without templates allows clear traffic only, as the
	 * kernel's (a secpath left over is a tunnel SA nobody asked for) */
	if (sa && !ok && sa->mode == XS_MODE_TUNNEL)
		return SPD_TMPL_MISMATCH;
	return SPD_PASS;
}

enum spd_verdict spd_check(struct spd *s, const uint8_t *ip, size_t len, uint32_t sa_idx)
{
	struct spd_sa sa;
	struct flow f;
	enum spd_verdict v;

	if (!s)
		return SPD_PASS;
	if (sa_idx == 0xffffffffu && !atomic_load_explicit(&s->n_in, memory_order_relaxed))
		return SPD_PASS;
	if (!flow_of(ip, len, &f)) {
		/* not readable, so no policy can be ruled out: refused (the
		 * ESP engine has checked a tunnel inner header with the same
		 * parser, so this is plaintext the daemon reassembled) */
		atomic_fetch_add_explicit(&s->cnt[SPD_HDR_ERROR], 1, memory_order_relaxed);
		return SPD_HDR_ERROR;
	}
	/* IKE in clear: the kernel lets the IKE daemon's own socket through
	 * with a per-socket bypass policy, which neither XDP nor the daemon
	 * can see; UDP to 500 and 4500 is exempt instead (the same exemption
	 * as headers/xdpsec_spd.bpf.h) */
	if (sa_idx >= XDPSEC_SA_MAX && f.proto == IPPROTO_UDP && (f.dport == 500 || f.dport == 4500))
		return SPD_PASS;
	pthread_rwlock_rdlock(&s->lock);
	if (sa_idx < XDPSEC_SA_MAX) {
		sa = s->sa[sa_idx];
		v = sa.valid ? judge(s, &f, &sa) : SPD_TMPL_MISMATCH;
	} else {
		v = judge(s, &f, NULL);
	}
	pthread_rwlock_unlock(&s->lock);
	if (v != SPD_PASS)
		atomic_fetch_add_explicit(&s->cnt[v], 1, memory_order_relaxed);
	return v;
}

/* ------------------------------------------------------------ counters */

static const char *const names[SPD__MAX] = {
	[SPD_STATE_MISMATCH] = "StateMismatch",
	[SPD_NOPOLS] = "NoPols",
	[SPD_POLBLOCK] = "PolBlock",
	[SPD_TMPL_MISMATCH] = "TmplMismatch",
	[SPD_STATE_EXPIRED] = "StateExpired",
	[SPD_HDR_ERROR] = "HdrError",
};

static const char *const helps[SPD__MAX] = {
	[SPD_STATE_MISMATCH] = "decrypted packets outside the selector of the SA that decrypted them (the kernel's XfrmInStateMismatch)",
	[SPD_NOPOLS] = "decrypted tunnel-mode packets no dir in policy matched (XfrmInNoPols)",
	[SPD_POLBLOCK] = "packets a dir in block policy matched (XfrmInPolBlock)",
	[SPD_TMPL_MISMATCH] = "packets whose protection (none, or the SA that decrypted them) satisfies no template of the matching dir in policy (XfrmInTmplMismatch); plaintext refused in XDP included",
	[SPD_STATE_EXPIRED] = "packets of an SA past a hard lifetime limit (XfrmInStateExpired)",
	[SPD_HDR_ERROR] = "packets to check whose IP or extension headers the parser refuses, so no policy can be ruled out (XfrmInHdrError)",
};

const char *spd_verdict_name(enum spd_verdict v)
{
	return v > SPD_PASS && v < SPD__MAX ? names[v] : "pass";
}

size_t spd_counters(struct spd *s, struct xs_counter *out, size_t n, size_t max,
		    const uint64_t xdp[SPD__MAX])
{
	for (int v = SPD_STATE_MISMATCH; v < SPD__MAX; v++)
		n = xs_counter_add(out, n, max, "spd", names[v], helps[v],
				   (s ? atomic_load(&s->cnt[v]) : 0) + (xdp ? xdp[v] : 0), 1);
	return n;
}

void spd_reset_counters(struct spd *s)
{
	for (int v = 0; s && v < SPD__MAX; v++)
		atomic_store(&s->cnt[v], 0);
}
