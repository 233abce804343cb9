// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_xfrm_mirror.c - XFRM netlink messages -> SAs and policies
 * (user/xfrm/xfrm_nl.c), and the SPD's matching (user/spd/spd.c).  The messages
 * are built here with libmnl, byte for byte as the kernel's
 * copy_to_user_state_extra / copy_to_user_policy lay them out: this host's
 * kernel has no ESP algorithms, so `ip xfrm state add` cannot make them.
 */
#include <arpa/inet.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include "testlib.h"
#include "spd.h"
#include "xfrm_mirror.h"

static char buf[8192];

static struct nlmsghdr *sa_msg(const char *src, const char *dst, uint32_t spi,
			       struct xfrm_usersa_info **out)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct xfrm_usersa_info *p;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	p->family = AF_INET;
	inet_pton(AF_INET, src, &p->saddr);
	inet_pton(AF_INET, dst, &p->id.daddr);
	p->id.spi = htonl(spi);
	p->id.proto = IPPROTO_ESP;
	p->mode = XFRM_MODE_TUNNEL;
	p->reqid = 7;
	p->replay_window = 32;
	p->lft.soft_byte_limit = 1000000;
	p->lft.hard_byte_limit = XFRM_INF;
	p->lft.soft_packet_limit = XFRM_INF;
	p->lft.hard_packet_limit = 500;
	p->lft.hard_add_expires_seconds = 60;
	p->sel.family = AF_INET;
	inet_pton(AF_INET, "198.19.1.0", &p->sel.saddr);
	inet_pton(AF_INET, "198.19.2.0", &p->sel.daddr);
	p->sel.prefixlen_s = 24;
	p->sel.prefixlen_d = 24;
	*out = p;
	return nlh;
}

static void put_aead(struct nlmsghdr *nlh, const char *name, unsigned keybytes, unsigned icv)
{
	char b[sizeof(struct xfrm_algo_aead) + 64] = { 0 };
	struct xfrm_algo_aead *a = (void *)b;

	strcpy(a->alg_name, name);
	a->alg_key_len = keybytes * 8;
	a->alg_icv_len = icv;
	for (unsigned i = 0; i < keybytes; i++)
		a->alg_key[i] = (char)(i + 1);
	mnl_attr_put(nlh, XFRMA_ALG_AEAD, sizeof(*a) + keybytes, a);
}

TEST(aead_tunnel_sa)
{
	struct xfrm_usersa_info *p;
	struct nlmsghdr *nlh = sa_msg("198.18.0.1", "198.18.0.2", 0x1234, &p);
	struct xfrm_replay_state_esn esn[2] = { 0 };
	struct xfrm_encap_tmpl enc = { .encap_type = UDP_ENCAP_ESPINUDP,
				       .encap_sport = htons(4500), .encap_dport = htons(4501) };
	struct sa_parse_result r;
	uint64_t top;
	char err[256] = "";

	p->flags = XFRM_STATE_ESN;
	put_aead(nlh, "rfc4106(gcm(aes))", 20, 128);
	mnl_attr_put(nlh, XFRMA_ENCAP, sizeof(enc), &enc);
	esn[0].bmp_len = 4;
	esn[0].replay_window = 128;
	esn[0].seq = 5;
	esn[0].seq_hi = 1;
	mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, sizeof(esn[0]) + 16, esn);
	CHECK_EQ(xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err)), 0);
	CHECK_EQ(r.cfg.spi, 0x1234u);
	CHECK_EQ(r.cfg.alg, XS_ALG_AES_GCM);
	CHECK_EQ(r.cfg.enc_key_len, 20);
	CHECK_EQ(r.cfg.enc_key[19], 20);
	CHECK_EQ(r.cfg.icv_bits, 128);
	CHECK_EQ(r.cfg.mode, XS_MODE_TUNNEL);
	CHECK_EQ(r.cfg.reqid, 7u);
	CHECK_EQ(r.cfg.origin, XS_ORIGIN_XFRM);
	CHECK(r.cfg.esn);
	CHECK_EQ(r.cfg.replay_window, 128u);
	CHECK_EQ(top, (1ull << 32) | 5);
	CHECK(r.cfg.encap);
	CHECK_EQ(r.cfg.encap_sport, 4500);
	CHECK_EQ(r.cfg.encap_dport, 4501);
	CHECK_EQ(r.cfg.sel.src_plen, 24);
	CHECK_EQ(r.cfg.sel.src.bytes[2], 1);
	CHECK_EQ(r.cfg.lft.soft_bytes, 1000000u);
	CHECK_EQ(r.cfg.lft.hard_bytes, 0u);        /* XFRM_INF */
	CHECK_EQ(r.cfg.lft.hard_packets, 500u);
	CHECK_EQ(r.cfg.lft.hard_add_s, 60u);
	CHECK(r.has_src && r.has_replay_window);
}

TEST(cbc_hmac_sa)
{
	struct xfrm_usersa_info *p;
	struct nlmsghdr *nlh = sa_msg("198.18.0.1", "198.18.0.2", 0x99, &p);
	char b[sizeof(struct xfrm_algo_auth) + 64] = { 0 };
	struct xfrm_algo *e = (void *)b;
	struct xfrm_algo_auth *a = (void *)b;
	struct sa_parse_result r;
	uint64_t top;
	char err[256] = "";

	strcpy(e->alg_name, "cbc(aes)");
	e->alg_key_len = 128;
	mnl_attr_put(nlh, XFRMA_ALG_CRYPT, sizeof(*e) + 16, e);
	memset(b, 0, sizeof(b));
	strcpy(a->alg_name, "hmac(sha256)");
	a->alg_key_len = 256;
	a->alg_trunc_len = 128;
	mnl_attr_put(nlh, XFRMA_ALG_AUTH_TRUNC, sizeof(*a) + 32, a);
	CHECK_EQ(xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err)), 0);
	CHECK_EQ(r.cfg.alg, XS_ALG_AES_CBC);
	CHECK_EQ(r.cfg.auth, XS_AUTH_HMAC_SHA256);
	CHECK_EQ(r.cfg.icv_bits, 128);
	CHECK_EQ(r.cfg.auth_key_len, 32);
}

TEST(refusals)
{
	struct xfrm_usersa_info *p;
	struct nlmsghdr *nlh = sa_msg("198.18.0.1", "198.18.0.2", 0x99, &p);
	struct sa_parse_result r;
	uint64_t top;
	char err[256] = "";

	/* larval (ALLOCSPI): no keys yet, not an error */
	CHECK_EQ(xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err)), 1);
	/* an algorithm xdpsec lacks: refused, with the reason */
	put_aead(nlh, "rfc4309(ccm(aes))", 19, 128);
	CHECK_EQ(xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err)), -1);
	CHECK(strstr(err, "ccm") != NULL);
	/* a key longer than its attribute */
	nlh = sa_msg("198.18.0.1", "198.18.0.2", 0x99, &p);
	put_aead(nlh, "rfc4106(gcm(aes))", 20, 128);
	((struct xfrm_algo_aead *)mnl_attr_get_payload(
		(struct nlattr *)((char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*p)))))->alg_key_len = 2000;
	CHECK_EQ(xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err)), -1);
	/* AH: not ours */
	nlh = sa_msg("198.18.0.1", "198.18.0.2", 0x99, &p);
	p->id.proto = IPPROTO_AH;
	CHECK_EQ(xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err)), 1);
}

TEST(policy)
{
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_info *x;
	struct xfrm_user_tmpl t[2] = { 0 };
	struct xs_policy p;
	char err[256] = "";

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_NEWPOLICY;
	x = mnl_nlmsg_put_extra_header(nlh, sizeof(*x));
	x->sel.family = AF_INET;
	inet_pton(AF_INET, "198.19.1.0", &x->sel.saddr);
	x->sel.prefixlen_s = 24;
	x->sel.proto = IPPROTO_UDP;
	x->sel.dport = htons(53);
	x->sel.dport_mask = 0xffff;
	x->dir = XFRM_POLICY_IN;
	x->priority = 100;
	x->index = 0x48;
	t[0].id.proto = IPPROTO_ESP;
	t[0].mode = XFRM_MODE_TUNNEL;
	t[0].reqid = 7;
	inet_pton(AF_INET, "198.18.0.1", &t[0].saddr);
	inet_pton(AF_INET, "198.18.0.2", &t[0].id.daddr);
	t[1].id.proto = IPPROTO_COMP;
	t[1].optional = 1;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(t), t);
	CHECK_EQ(xfrm_policy_from_nl(nlh, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.dir, XS_DIR_IN);
	CHECK_EQ(p.priority, 100u);
	CHECK_EQ(p.index, 0x48u);
	CHECK_EQ(p.n_tmpl, 2);
	CHECK_EQ(p.tmpl[0].reqid, 7u);
	CHECK_EQ(p.tmpl[0].mode, XS_MODE_TUNNEL);
	CHECK_EQ(p.tmpl[0].src.bytes[3], 1);
	CHECK_EQ(p.tmpl[1].optional, 1);
	CHECK_EQ(p.sel.dport, 53);
	CHECK_EQ(p.sel.dport_mask, 0xffff);
}

/* An IPv4/UDP packet src -> dst, ports sp -> dp. */
static size_t udp4(uint8_t *b, const char *src, const char *dst, uint16_t sp, uint16_t dp)
{
	memset(b, 0, 28);
	b[0] = 0x45;
	b[3] = 28;
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	b[20] = (uint8_t)(sp >> 8); b[21] = (uint8_t)sp;
	b[22] = (uint8_t)(dp >> 8); b[23] = (uint8_t)dp;
	b[25] = 8;
	return 28;
}

static void sel4(struct xs_selector *s, const char *src, int sp, const char *dst, int dp)
{
	memset(s, 0, sizeof(*s));
	s->family = AF_INET;
	s->src.family = s->dst.family = AF_INET;
	inet_pton(AF_INET, src, s->src.bytes);
	inet_pton(AF_INET, dst, s->dst.bytes);
	s->src_plen = (uint8_t)sp;
	s->dst_plen = (uint8_t)dp;
}

TEST(spd_checks)
{
	struct spd *s = spd_new();
	struct xs_sa_config sa = { 0 };
	struct xs_policy p = { 0 };
	uint8_t pkt[64];
	size_t n;
	char err[128];

	/* an SA with a selector, and the dir in policy of its tunnel */
	sa.proto = IPPROTO_ESP;
	sa.mode = XS_MODE_TUNNEL;
	sa.spi = 0x1000;
	sa.reqid = 1;
	sa.src.family = sa.dst.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", sa.src.bytes);
	inet_pton(AF_INET, "198.18.0.2", sa.dst.bytes);
	sel4(&sa.sel, "198.19.1.0", 24, "198.19.2.0", 24);
	spd_sa_set(s, 3, &sa);
	sel4(&p.sel, "198.19.1.0", 24, "198.19.2.0", 24);
	p.dir = XS_DIR_IN;
	p.n_tmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = XS_MODE_TUNNEL;
	p.tmpl[0].src = sa.src;
	p.tmpl[0].dst = sa.dst;
	CHECK_EQ(spd_add(s, &p, false, err, sizeof(err)), 0);

	n = udp4(pkt, "198.19.1.5", "198.19.2.7", 1000, 2000);
	CHECK_EQ(spd_check(s, pkt, n, 3), SPD_PASS);
	/* a forged inner source: outside the SA's selector */
	n = udp4(pkt, "198.19.9.9", "198.19.2.7", 1000, 2000);
	CHECK_EQ(spd_check(s, pkt, n, 3), SPD_STATE_MISMATCH);
	/* same, with the SA's selector open: no policy -> NoPols for a
	 * mirrored tunnel SA; a manual one delivers (spd.h) */
	memset(&sa.sel, 0, sizeof(sa.sel));
	spd_sa_set(s, 3, &sa);
	CHECK_EQ(spd_check(s, pkt, n, 3), SPD_PASS);
	sa.origin = XS_ORIGIN_XFRM;
	spd_sa_set(s, 3, &sa);
	CHECK_EQ(spd_check(s, pkt, n, 3), SPD_NOPOLS);
	/* the policy's traffic in clear: TmplMismatch */
	n = udp4(pkt, "198.19.1.5", "198.19.2.7", 1000, 2000);
	CHECK_EQ(spd_check(s, pkt, n, 0xffffffffu), SPD_TMPL_MISMATCH);
	/* other clear traffic passes */
	n = udp4(pkt, "198.18.0.1", "198.18.0.2", 500, 500);
	CHECK_EQ(spd_check(s, pkt, n, 0xffffffffu), SPD_PASS);
	/* a template the SA does not satisfy (reqid) */
	p.tmpl[0].reqid = 9;
	CHECK_EQ(spd_add(s, &p, true, err, sizeof(err)), 0);
	CHECK_EQ(spd_count(s), 1u);
	n = udp4(pkt, "198.19.1.5", "198.19.2.7", 1000, 2000);
	CHECK_EQ(spd_check(s, pkt, n, 3), SPD_TMPL_MISMATCH);
	/* a higher-priority block policy */
	struct xs_policy b = p;
	b.index = 0;
	b.priority = 0;
	b.action = XS_ACT_BLOCK;
	b.n_tmpl = 0;
	b.sel.proto = IPPROTO_UDP;
	p.priority = 10;
	CHECK_EQ(spd_add(s, &p, true, err, sizeof(err)), 0);
	CHECK_EQ(spd_add(s, &b, false, err, sizeof(err)), 0);
	CHECK_EQ(spd_check(s, pkt, n, 3), SPD_POLBLOCK);
	CHECK_EQ(spd_del(s, XS_DIR_IN, &b.sel, 0, -1), 0);
	CHECK_EQ(spd_flush(s, -1), 1u);
	CHECK_EQ(spd_check(s, pkt, n, 0xffffffffu), SPD_PASS);
	spd_free(s);
}

int main(void)
{
	RUN(aead_tunnel_sa);
	RUN(cbc_hmac_sa);
	RUN(refusals);
	RUN(policy);
	RUN(spd_checks);
	return testlib_report();
}
