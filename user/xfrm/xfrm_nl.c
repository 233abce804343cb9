// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xfrm_nl.c - XFRM netlink messages -> xdpsec SAs and policies (see
 * xfrm_mirror.h), with libmnl's attribute parser.  Kept apart from the
 * sockets (xfrm_mirror.c) so that tests/unit/test_xfrm_mirror.c can feed
 * it messages built in memory: this host's kernel has no ESP algorithms,
 * so `ip xfrm state add` cannot produce them here.
 *
 * The kernel's "no limit" for bytes and packets (XFRM_INF) becomes 0, as
 * in struct xs_lifetime.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include "spd.h"
#include "xfrm_mirror.h"

/* ------------------------------------------------------------ conversions */

static void addr_from(struct xs_addr *a, unsigned family, const xfrm_address_t *x)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	memcpy(a->bytes, x, family == AF_INET ? 4 : 16);
}

static void sel_from(struct xs_selector *s, const struct xfrm_selector *x)
{
	memset(s, 0, sizeof(*s));
	s->family = x->family == AF_INET || x->family == AF_INET6 ? (uint8_t)x->family : 0;
	if (s->family) {
		addr_from(&s->src, s->family, &x->saddr);
		addr_from(&s->dst, s->family, &x->daddr);
	}
	s->src_plen = x->prefixlen_s;
	s->dst_plen = x->prefixlen_d;
	s->proto = x->proto;
	s->sport = ntohs(x->sport);
	s->sport_mask = ntohs(x->sport_mask);
	s->dport = ntohs(x->dport);
	s->dport_mask = ntohs(x->dport_mask);
}

static uint64_t lim(uint64_t v)
{
	return v == XFRM_INF ? 0 : v;
}

static void lft_from(struct xs_lifetime *l, const struct xfrm_lifetime_cfg *x)
{
	l->soft_bytes = lim(x->soft_byte_limit);
	l->hard_bytes = lim(x->hard_byte_limit);
	l->soft_packets = lim(x->soft_packet_limit);
	l->hard_packets = lim(x->hard_packet_limit);
	l->soft_add_s = x->soft_add_expires_seconds;
	l->hard_add_s = x->hard_add_expires_seconds;
	l->soft_use_s = x->soft_use_expires_seconds;
	l->hard_use_s = x->hard_use_expires_seconds;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	unsigned t = mnl_attr_get_type(a);

	if (t <= XFRMA_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Key bytes of an algorithm attribute: the attribute must hold them all. */
static int alg_key(const struct nlattr *a, size_t hdr, unsigned bits, uint8_t *out, size_t max,
		   uint8_t *len, const char *what, char *err, size_t errlen)
{
	unsigned n = (bits + 7) / 8;

	if (mnl_attr_get_payload_len(a) < hdr + n)
		return fail(err, errlen, "%s: key longer than its attribute", what);
	if (n > max)
		return fail(err, errlen, "%s: key of %u bytes is longer than xdpsec takes (%zu)",
			    what, n, max);
	memcpy(out, (const uint8_t *)mnl_attr_get_payload(a) + hdr, n);
	*len = (uint8_t)n;
	return 0;
}

static int algs_from(const struct nlattr **tb, struct xs_sa_config *c, char *err, size_t errlen)
{
	int k;

	if (tb[XFRMA_ALG_AEAD]) {
		const struct xfrm_algo_aead *a = mnl_attr_get_payload(tb[XFRMA_ALG_AEAD]);

		if (mnl_attr_get_payload_len(tb[XFRMA_ALG_AEAD]) < sizeof(*a))
			return fail(err, errlen, "short XFRMA_ALG_AEAD");
		k = sa_alg_from_name(a->alg_name);
		if (k < 0 || !sa_alg_is_aead((unsigned)k))
			return fail(err, errlen, "aead %.64s: not supported by xdpsec", a->alg_name);
		c->alg = (uint8_t)k;
		c->icv_bits = (uint16_t)a->alg_icv_len;
		return alg_key(tb[XFRMA_ALG_AEAD], sizeof(*a), a->alg_key_len, c->enc_key,
			       XS_MAX_ENC_KEY, &c->enc_key_len, "aead", err, errlen);
	}
	if (!tb[XFRMA_ALG_CRYPT])
		return fail(err, errlen, "no encryption algorithm (larval SA, or AH/IPcomp)");
	const struct xfrm_algo *e = mnl_attr_get_payload(tb[XFRMA_ALG_CRYPT]);

	if (mnl_attr_get_payload_len(tb[XFRMA_ALG_CRYPT]) < sizeof(*e))
		return fail(err, errlen, "short XFRMA_ALG_CRYPT");
	k = sa_alg_from_name(e->alg_name);
	if (k < 0 || sa_alg_is_aead((unsigned)k))
		return fail(err, errlen, "enc %.64s: not supported by xdpsec", e->alg_name);
	c->alg = (uint8_t)k;
	if (alg_key(tb[XFRMA_ALG_CRYPT], sizeof(*e), e->alg_key_len, c->enc_key, XS_MAX_ENC_KEY,
		    &c->enc_key_len, "enc", err, errlen))
		return -1;
	if (tb[XFRMA_ALG_AUTH_TRUNC]) {
		const struct xfrm_algo_auth *a = mnl_attr_get_payload(tb[XFRMA_ALG_AUTH_TRUNC]);

		if (mnl_attr_get_payload_len(tb[XFRMA_ALG_AUTH_TRUNC]) < sizeof(*a))
			return fail(err, errlen, "short XFRMA_ALG_AUTH_TRUNC");
		if ((k = sa_auth_from_name(a->alg_name)) < 0)
			return fail(err, errlen, "auth %.64s: not supported by xdpsec", a->alg_name);
		c->auth = (uint8_t)k;
		c->icv_bits = (uint16_t)a->alg_trunc_len;
		return alg_key(tb[XFRMA_ALG_AUTH_TRUNC], sizeof(*a), a->alg_key_len, c->auth_key,
			       XS_MAX_AUTH_KEY, &c->auth_key_len, "auth", err, errlen);
	}
	if (tb[XFRMA_ALG_AUTH]) {
		const struct xfrm_algo *a = mnl_attr_get_payload(tb[XFRMA_ALG_AUTH]);

		if (mnl_attr_get_payload_len(tb[XFRMA_ALG_AUTH]) < sizeof(*a))
			return fail(err, errlen, "short XFRMA_ALG_AUTH");
		if ((k = sa_auth_from_name(a->alg_name)) < 0)
			return fail(err, errlen, "auth %.64s: not supported by xdpsec", a->alg_name);
		c->auth = (uint8_t)k;
		c->icv_bits = (uint16_t)sa_auth_default_trunc((unsigned)k);
		return alg_key(tb[XFRMA_ALG_AUTH], sizeof(*a), a->alg_key_len, c->auth_key,
			       XS_MAX_AUTH_KEY, &c->auth_key_len, "auth", err, errlen);
	}
	return 0;       /* encryption only: sa_config_validate says why not */
}

int xfrm_sa_from_nl(const struct nlmsghdr *nlh, struct sa_parse_result *r,
		    uint64_t *replay_top, char *err, size_t errlen)
{
	const struct nlattr *tb[XFRMA_MAX + 1] = { 0 };
	const struct xfrm_usersa_info *p;
	struct xs_sa_config *c = &r->cfg;

	memset(r, 0, sizeof(*r));
	*replay_top = 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*p))
		return fail(err, errlen, "short SA message");
	p = mnl_nlmsg_get_payload(nlh);
	if (p->id.proto != IPPROTO_ESP) {
		fail(err, errlen, "proto %u is not ESP", p->id.proto);
		return 1;
	}
	if (p->family != AF_INET && p->family != AF_INET6)
		return fail(err, errlen, "family %u", p->family);
	if (p->mode != XFRM_MODE_TRANSPORT && p->mode != XFRM_MODE_TUNNEL)
		return fail(err, errlen, "mode %u (xdpsec takes transport and tunnel)", p->mode);
	mnl_attr_parse(nlh, sizeof(*p), attr_cb, tb);
	addr_from(&c->src, p->family, &p->saddr);
	addr_from(&c->dst, p->family, &p->id.daddr);
	c->spi = ntohl(p->id.spi);
	c->reqid = p->reqid;
	c->proto = IPPROTO_ESP;
	c->mode = p->mode == XFRM_MODE_TUNNEL ? XS_MODE_TUNNEL : XS_MODE_TRANSPORT;
	c->origin = XS_ORIGIN_XFRM;
	c->esn = !!(p->flags & XFRM_STATE_ESN);
	c->replay_window = p->replay_window;
	r->has_src = true;
	r->has_replay_window = true;
	sel_from(&c->sel, &p->sel);
	lft_from(&c->lft, &p->lft);
	if (!tb[XFRMA_ALG_AEAD] && !tb[XFRMA_ALG_CRYPT] && !tb[XFRMA_ALG_AUTH] &&
	    !tb[XFRMA_ALG_AUTH_TRUNC]) {
		fail(err, errlen, "no keys yet (larval SA)");
		return 1;
	}
	if (algs_from(tb, c, err, errlen))
		return -1;
	if (tb[XFRMA_ENCAP]) {
		const struct xfrm_encap_tmpl *e = mnl_attr_get_payload(tb[XFRMA_ENCAP]);

		if (mnl_attr_get_payload_len(tb[XFRMA_ENCAP]) < sizeof(*e))
			return fail(err, errlen, "short XFRMA_ENCAP");
		if (e->encap_type != UDP_ENCAP_ESPINUDP)
			return fail(err, errlen, "encap type %u (xdpsec takes espinudp)", e->encap_type);
		c->encap = true;
		c->encap_sport = ntohs(e->encap_sport);
		c->encap_dport = ntohs(e->encap_dport);
	}
	if (tb[XFRMA_REPLAY_ESN_VAL]) {
		const struct xfrm_replay_state_esn *e = mnl_attr_get_payload(tb[XFRMA_REPLAY_ESN_VAL]);

		if (mnl_attr_get_payload_len(tb[XFRMA_REPLAY_ESN_VAL]) < sizeof(*e))
			return fail(err, errlen, "short XFRMA_REPLAY_ESN_VAL");
		c->replay_window = e->replay_window;
		*replay_top = (uint64_t)e->seq_hi << 32 | e->seq;
	} else if (tb[XFRMA_REPLAY_VAL]) {
		const struct xfrm_replay_state *s = mnl_attr_get_payload(tb[XFRMA_REPLAY_VAL]);

		if (mnl_attr_get_payload_len(tb[XFRMA_REPLAY_VAL]) < sizeof(*s))
			return fail(err, errlen, "short XFRMA_REPLAY_VAL");
		*replay_top = s->seq;
	}
	return sa_config_validate(c, err, errlen);
}

int xfrm_policy_from_nl(const struct nlmsghdr *nlh, struct xs_policy *p, char *err, size_t errlen)
{
	const struct nlattr *tb[XFRMA_MAX + 1] = { 0 };
	const struct xfrm_userpolicy_info *x;

	memset(p, 0, sizeof(*p));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*x))
		return fail(err, errlen, "short policy message");
	x = mnl_nlmsg_get_payload(nlh);
	mnl_attr_parse(nlh, sizeof(*x), attr_cb, tb);
	sel_from(&p->sel, &x->sel);
	p->priority = x->priority;
	p->index = x->index;
	p->dir = x->dir;
	p->action = x->action == XFRM_POLICY_BLOCK ? XS_ACT_BLOCK : XS_ACT_ALLOW;
	p->origin = XS_ORIGIN_XFRM;
	if (tb[XFRMA_TMPL]) {
		const struct xfrm_user_tmpl *t = mnl_attr_get_payload(tb[XFRMA_TMPL]);
		size_t n = mnl_attr_get_payload_len(tb[XFRMA_TMPL]) / sizeof(*t);

		if (n > XS_TMPL_MAX)
			return fail(err, errlen, "%zu templates (at most %d)", n, XS_TMPL_MAX);
		for (size_t i = 0; i < n; i++) {
			struct xs_tmpl *o = &p->tmpl[i];
			unsigned fam = t[i].family ? t[i].family : x->sel.family;

			if (fam == AF_INET || fam == AF_INET6) {
				addr_from(&o->src, fam, &t[i].saddr);
				addr_from(&o->dst, fam, &t[i].id.daddr);
			}
			o->spi = ntohl(t[i].id.spi);
			o->reqid = t[i].reqid;
			o->proto = t[i].id.proto;
			o->mode = t[i].mode == XFRM_MODE_TUNNEL ? XS_MODE_TUNNEL :
				  t[i].mode == XFRM_MODE_TRANSPORT ? XS_MODE_TRANSPORT : 0xff;
			o->optional = t[i].optional;
		}
		p->n_tmpl = (uint8_t)n;
	}
	return 0;
}
