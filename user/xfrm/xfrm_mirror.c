// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xfrm_mirror.c - `xdpsecd --xfrm` (see xfrm_mirror.h): the sockets, the
 * dumps, the notifications, and the push-back of counters.
 *
 * Which SAs: ESP (xfrm_nl.c converts), destination a local address of the
 * namespace (bind() to it succeeds: the addresses the host delivers to).
 * A larval SA (XFRM_MSG_ALLOCSPI, no keys) waits for its XFRM_MSG_UPDSA.
 * An SA xdpsec cannot take (an algorithm it lacks) is logged and left to
 * the kernel; a manual SA of the same name is never replaced.
 *
 * Event loss: a subscriber that falls behind gets ENOBUFS; the mirror
 * then dumps everything again and drops what the dump no longer shows.
 *
 * Push-back: the kernel never sees the packets xdpsec decrypts, so every
 * XFRM_PUSH_MS each mirrored SA whose counts moved gets XFRM_MSG_NEWAE
 * with its byte/packet counts (XFRMA_LTIME_VAL, add_time kept as the
 * kernel had it) and its replay state.  The kernel checks byte and packet
 * limits only when it processes a packet (none here), so xdpsec checks
 * the SA's limits itself and asks the kernel to expire it
 * (XFRM_MSG_EXPIRE, soft or hard): the kernel then notifies the IKE
 * daemon exactly as after its own check, and deletes the SA when hard.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include "sa_apply.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "sa_table.h"
#include "spd.h"
#include "xfrm_mirror.h"

#define XFRM_PUSH_MS 1000
#define BUF_SIZE (MNL_SOCKET_BUFFER_SIZE * 4)

/* What the mirror keeps per mirrored SA (the SA table keeps the rest). */
struct msa {
	struct xs_addr dst, src;
	uint32_t spi, reqid;
	uint32_t bmp_len;               /* the kernel's ESN bitmap words     */
	bool esn, live, seen;
	uint8_t expired;                /* 1 soft sent, 2 hard sent          */
	uint64_t add_time, use_time;    /* the kernel's curlft               */
	uint32_t replay_window;
	uint64_t pushed_packets, pushed_top;
	struct xs_lifetime lft;
};

struct xfrm_mirror {
	struct xdpsecd *d;
	struct mnl_socket *ev, *req;
	unsigned seq;
	uint64_t last_push;
	struct msa *sa;
	unsigned n_sa, cap_sa;
	char *buf;
};

static struct msa *msa_find(struct xfrm_mirror *m, const struct xs_addr *dst, uint32_t spi)
{
	for (unsigned i = 0; i < m->n_sa; i++)
		if (m->sa[i].live && m->sa[i].spi == spi && !memcmp(m->sa[i].dst.bytes, dst->bytes, 16))
			return &m->sa[i];
	return NULL;
}

static struct msa *msa_new(struct xfrm_mirror *m)
{
	for (unsigned i = 0; i < m->n_sa; i++)
		if (!m->sa[i].live)
			return memset(&m->sa[i], 0, sizeof(m->sa[i]));
	if (m->n_sa == m->cap_sa) {
		unsigned cap = m->cap_sa ? m->cap_sa * 2 : 64;
		struct msa *n = realloc(m->sa, cap * sizeof(*n));

		if (!n)
			return NULL;
		m->sa = n;
		m->cap_sa = cap;
	}
	return memset(&m->sa[m->n_sa++], 0, sizeof(*m->sa));
}

static bool is_local(const struct xs_addr *a)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, rc;

	if (a->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a->bytes, 4);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a->bytes, 16);
		len = sizeof(*s);
	}
	fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = bind(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return rc == 0;
}

static const char *id_str(const struct xs_addr *dst, uint32_t spi, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "dst %s spi 0x%08x", sa_addr_str(dst, a, sizeof(a)), spi);
	return buf;
}

/* ------------------------------------------------------------ SAs */

static void sa_gone(struct xfrm_mirror *m, const struct xs_addr *dst, uint32_t spi,
		    const char *why)
{
	struct xs_sa_config id = { .dst = *dst, .spi = spi, .proto = IPPROTO_ESP };
	struct msa *s = msa_find(m, dst, spi);
	char err[256], buf[96];

	if (s)
		s->live = false;
	if (!sa_apply_del_origin(m->d, &id, XS_ORIGIN_XFRM, err, sizeof(err)))
		pr_info("xfrm: SA %s removed (%s)\n", id_str(dst, spi, buf, sizeof(buf)), why);
}

static void on_sa(struct xfrm_mirror *m, const struct nlmsghdr *nlh)
{
	const struct xfrm_usersa_info *p = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct sa_parse_result r;
	struct xs_sa_config cur;
	struct sa_stats st;
	struct msa *s;
	uint64_t top;
	char err[256], buf[96];
	int rc = xfrm_sa_from_nl(nlh, &r, &top, err, sizeof(err));

	if (rc == 1 || (rc == 0 && !is_local(&r.cfg.dst)))
		goto out;               /* not ours: another protocol, larval, outbound */
	if (rc < 0) {
		if (r.cfg.dst.family && is_local(&r.cfg.dst))
			pr_warn("xfrm: SA %s left to the kernel: %s\n",
				id_str(&r.cfg.dst, r.cfg.spi, buf, sizeof(buf)), err);
		goto out;
	}
	if (!sa_table_get(m->d->sat, &r.cfg.dst, r.cfg.spi, IPPROTO_ESP, NULL, &cur, NULL, NULL) &&
	    cur.origin != XS_ORIGIN_XFRM) {
		pr_warn("xfrm: SA %s not mirrored: a manual SA has that name\n",
			id_str(&r.cfg.dst, r.cfg.spi, buf, sizeof(buf)));
		goto out;
	}
	rc = sa_apply_add(m->d, &r, true, err, sizeof(err));
	if (rc) {
		pr_warn("xfrm: SA %s not mirrored: %s\n",
			id_str(&r.cfg.dst, r.cfg.spi, buf, sizeof(buf)), err);
		goto out;
	}
	/* the kernel's right edge, unless ours is further (it is when we
	 * pushed it: the kernel sees no packets) */
	if (top && !sa_table_get(m->d->sat, &r.cfg.dst, r.cfg.spi, IPPROTO_ESP, NULL, NULL, &st, NULL) &&
	    top > st.replay_top)
		sa_table_set_replay_top(m->d->sat, &r.cfg.dst, r.cfg.spi, IPPROTO_ESP, top);
	s = msa_find(m, &r.cfg.dst, r.cfg.spi);
	if (!s && !(s = msa_new(m)))
		goto out;
	s->live = s->seen = true;
	s->dst = r.cfg.dst;
	s->src = r.cfg.src;
	s->spi = r.cfg.spi;
	s->reqid = r.cfg.reqid;
	s->esn = r.cfg.esn;
	s->replay_window = r.cfg.replay_window;
	s->lft = r.cfg.lft;
	s->add_time = p->curlft.add_time;
	if (p->curlft.use_time)
		s->use_time = p->curlft.use_time;
	a = NULL;
	mnl_attr_for_each(a, nlh, sizeof(*p))
		if (mnl_attr_get_type(a) == XFRMA_REPLAY_ESN_VAL &&
		    mnl_attr_get_payload_len(a) >= sizeof(struct xfrm_replay_state_esn))
			s->bmp_len = ((const struct xfrm_replay_state_esn *)mnl_attr_get_payload(a))->bmp_len;
out:
	explicit_bzero(&r, sizeof(r));
	explicit_bzero(&cur, sizeof(cur));
}

static void on_del_sa(struct xfrm_mirror *m, const struct nlmsghdr *nlh)
{
	const struct xfrm_usersa_id *p = mnl_nlmsg_get_payload(nlh);
	struct xs_addr dst = { .family = (uint8_t)p->family };

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*p) || p->proto != IPPROTO_ESP)
		return;
	memcpy(dst.bytes, &p->daddr, p->family == AF_INET ? 4 : 16);
	sa_gone(m, &dst, ntohl(p->spi), "deleted in the kernel");
}

struct flush_arg {
	struct xs_sa_config ids[64];
	unsigned n;
	bool more;
	bool only_unseen;
	struct xfrm_mirror *m;
};

static int flush_cb(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st,
		    void *arg)
{
	struct flush_arg *f = arg;
	struct msa *s;

	(void)index;
	(void)st;
	if (cfg->origin != XS_ORIGIN_XFRM)
		return 0;
	if (f->only_unseen && (s = msa_find(f->m, &cfg->dst, cfg->spi)) && s->seen)
		return 0;
	if (f->n == 64) {
		f->more = true;
		return 1;
	}
	f->ids[f->n].dst = cfg->dst;
	f->ids[f->n++].spi = cfg->spi;
	return 0;
}

/* Every mirrored SA (only_unseen: those the last dump did not show). */
static unsigned flush_sas(struct xfrm_mirror *m, bool only_unseen, const char *why)
{
	struct flush_arg f;
	unsigned total = 0;

	do {
		memset(&f, 0, sizeof(f));
		f.m = m;
		f.only_unseen = only_unseen;
		sa_table_walk(m->d->sat, flush_cb, &f);
		for (unsigned i = 0; i < f.n; i++)
			sa_gone(m, &f.ids[i].dst, f.ids[i].spi, why);
		total += f.n;
	} while (f.more);
	return total;
}

static void on_expire(struct xfrm_mirror *m, const struct nlmsghdr *nlh)
{
	const struct xfrm_user_expire *e = mnl_nlmsg_get_payload(nlh);
	struct xs_addr dst = { .family = (uint8_t)e->state.family };
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct xs_addr src = dst;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || e->state.id.proto != IPPROTO_ESP)
		return;
	memcpy(dst.bytes, &e->state.id.daddr, dst.family == AF_INET ? 4 : 16);
	memcpy(src.bytes, &e->state.saddr, dst.family == AF_INET ? 4 : 16);
	if (!msa_find(m, &dst, ntohl(e->state.id.spi)))
		return;
	events_post_peer(m->d->events, "expire", sa_addr_str(&src, a, sizeof(a)),
			 sa_addr_str(&dst, b, sizeof(b)), "SPI 0x%08x: %s expiry (kernel)",
			 ntohl(e->state.id.spi), e->hard ? "hard" : "soft");
	if (e->hard)            /* the kernel deletes it without a DELSA */
		sa_gone(m, &dst, ntohl(e->state.id.spi), "hard expiry in the kernel");
}

/* ------------------------------------------------------------ policies */

static void on_policy(struct xfrm_mirror *m, const struct nlmsghdr *nlh)
{
	struct xs_policy p;
	char err[256];
	int rc;

	if (xfrm_policy_from_nl(nlh, &p, err, sizeof(err))) {
		pr_warn("xfrm: policy not mirrored: %s\n", err);
		return;
	}
	if (p.dir != XS_DIR_IN)
		return;         /* xdpsec delivers to this host: dir in only */
	rc = spd_add(m->d->spd, &p, true, err, sizeof(err));
	if (rc)
		pr_warn("xfrm: policy %u not mirrored: %s\n", p.index, err);
}

static void on_del_policy(struct xfrm_mirror *m, const struct nlmsghdr *nlh)
{
	const struct xfrm_userpolicy_id *p = mnl_nlmsg_get_payload(nlh);
	struct xs_policy sel;
	struct nlmsghdr *fake;
	char buf[MNL_NLMSG_HDRLEN + sizeof(struct xfrm_userpolicy_info)] = { 0 }, err[64];

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*p) || p->dir != XFRM_POLICY_IN)
		return;
	/* the selector through the same conversion as an added policy */
	fake = mnl_nlmsg_put_header(buf);
	struct xfrm_userpolicy_info *x = mnl_nlmsg_put_extra_header(fake, sizeof(*x));
	x->sel = p->sel;
	x->dir = p->dir;
	xfrm_policy_from_nl(fake, &sel, err, sizeof(err));
	spd_del(m->d->spd, XS_DIR_IN, &sel.sel, p->index, XS_ORIGIN_XFRM);
}

/* ------------------------------------------------------------ dispatch */

static int msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xfrm_mirror *m = arg;

	switch (nlh->nlmsg_type) {
	case XFRM_MSG_NEWSA:
	case XFRM_MSG_UPDSA:
		on_sa(m, nlh);
		break;
	case XFRM_MSG_DELSA:
		on_del_sa(m, nlh);
		break;
	case XFRM_MSG_FLUSHSA: {
		const struct xfrm_usersa_flush *f = mnl_nlmsg_get_payload(nlh);

		if (f->proto == IPPROTO_ESP || f->proto == 255 /* IPSEC_PROTO_ANY */ || !f->proto)
			flush_sas(m, false, "flushed in the kernel");
		break;
	}
	case XFRM_MSG_EXPIRE:
		on_expire(m, nlh);
		break;
	case XFRM_MSG_NEWPOLICY:
	case XFRM_MSG_UPDPOLICY:
		on_policy(m, nlh);
		break;
	case XFRM_MSG_DELPOLICY:
		on_del_policy(m, nlh);
		break;
	case XFRM_MSG_FLUSHPOLICY:
		spd_flush(m->d->spd, XS_ORIGIN_XFRM);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* One request on the request socket, its answers through msg_cb. */
static int request(struct xfrm_mirror *m, struct nlmsghdr *nlh)
{
	unsigned portid = mnl_socket_get_portid(m->req), seq = nlh->nlmsg_seq;
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(m->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(m->req, m->buf, BUF_SIZE);
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(m->buf, (size_t)n, seq, portid, msg_cb, m);
		if (rc <= MNL_CB_STOP)
			return rc < 0 ? -errno : 0;
	}
}

static int dump(struct xfrm_mirror *m, uint16_t type)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++m->seq;
	if (type == XFRM_MSG_GETPOLICY)
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct xfrm_userpolicy_info));
	else
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct xfrm_usersa_info));
	return request(m, nlh);
}

static int resync(struct xfrm_mirror *m)
{
	int rc;

	for (unsigned i = 0; i < m->n_sa; i++)
		m->sa[i].seen = false;
	spd_flush(m->d->spd, XS_ORIGIN_XFRM);
	rc = dump(m, XFRM_MSG_GETSA);
	if (!rc)
		rc = dump(m, XFRM_MSG_GETPOLICY);
	if (!rc)
		flush_sas(m, true, "gone from the kernel");
	return rc;
}

/* ------------------------------------------------------------ push-back */

/* A request answered by an ACK: 0 or -errno. */
static int ack_request(struct xfrm_mirror *m, struct nlmsghdr *nlh)
{
	unsigned portid = mnl_socket_get_portid(m->req);
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++m->seq;
	if (mnl_socket_sendto(m->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(m->req, m->buf, BUF_SIZE);
	if (n < 0)
		return -errno;
	return mnl_cb_run(m->buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL) < 0 ? -errno : 0;
}

static void put_id(struct xfrm_usersa_id *id, const struct msa *s)
{
	memcpy(&id->daddr, s->dst.bytes, 16);
	id->spi = htonl(s->spi);
	id->family = s->dst.family;
	id->proto = IPPROTO_ESP;
}

static int push_ae(struct xfrm_mirror *m, struct msa *s, const struct sa_stats *st)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct xfrm_aevent_id *ae;
	struct xfrm_lifetime_cur cur = { .bytes = st->bytes, .packets = st->packets,
					 .add_time = s->add_time, .use_time = s->use_time };

	nlh->nlmsg_type = XFRM_MSG_NEWAE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_REPLACE;   /* xfrm_new_ae wants it */
	ae = mnl_nlmsg_put_extra_header(nlh, sizeof(*ae));
	put_id(&ae->sa_id, s);
	memcpy(&ae->saddr, s->src.bytes, 16);
	ae->reqid = s->reqid;
	ae->flags = XFRM_AE_LVAL | XFRM_AE_RVAL;
	mnl_attr_put(nlh, XFRMA_LTIME_VAL, sizeof(cur), &cur);
	/* The kernel keeps the window in the form the SA was added with:
	 * XFRMA_REPLAY_ESN_VAL (ESN, or a window above 32 packets, as
	 * strongSwan and iproute2 add those: bmp_len set) or the legacy
	 * struct xfrm_replay_state; xfrm_new_ae takes the other one silently
	 * and changes nothing. */
	if (s->bmp_len) {
		size_t len = sizeof(struct xfrm_replay_state_esn) + s->bmp_len * 4u;
		struct xfrm_replay_state_esn *e = calloc(1, len);

		if (!e)
			return -ENOMEM;
		e->bmp_len = s->bmp_len;
		e->seq = (uint32_t)st->replay_top;
		e->seq_hi = s->esn ? (uint32_t)(st->replay_top >> 32) : 0;
		e->replay_window = s->replay_window;
		/* everything at or left of the edge counts as seen, as
		 * sa_table_set_replay_top restores it */
		memset(e->bmp, 0xff, s->bmp_len * 4u);
		mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, len, e);
		free(e);
	} else {
		struct xfrm_replay_state r = { .seq = (uint32_t)st->replay_top, .bitmap = ~0u };

		mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(r), &r);
	}
	return ack_request(m, nlh);
}

/* The kernel's own expiry, asked for (XFRM_MSG_EXPIRE from user space:
 * xfrm_add_sa_expire notifies XFRMNLGRP_EXPIRE, and deletes when hard). */
static int ask_expire(struct xfrm_mirror *m, const struct msa *s, bool hard)
{
	char b[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct xfrm_user_expire *ue;

	nlh->nlmsg_type = XFRM_MSG_EXPIRE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ue = mnl_nlmsg_put_extra_header(nlh, sizeof(*ue));
	memcpy(&ue->state.id.daddr, s->dst.bytes, 16);
	ue->state.id.spi = htonl(s->spi);
	ue->state.id.proto = IPPROTO_ESP;
	memcpy(&ue->state.saddr, s->src.bytes, 16);
	ue->state.family = s->dst.family;
	ue->hard = hard;
	return ack_request(m, nlh);
}

static bool over(uint64_t limit, uint64_t v)
{
	return limit && v >= limit;
}

void xfrm_mirror_tick(struct xfrm_mirror *m, uint64_t now_ms)
{
	char buf[96];
	int rc;

	if (!m || now_ms - m->last_push < XFRM_PUSH_MS)
		return;
	m->last_push = now_ms;
	for (unsigned i = 0; i < m->n_sa; i++) {
		struct msa *s = &m->sa[i];
		struct sa_stats st;

		if (!s->live || sa_table_get(m->d->sat, &s->dst, s->spi, IPPROTO_ESP, NULL, NULL, &st, NULL))
			continue;
		if (st.packets == s->pushed_packets && st.replay_top == s->pushed_top)
			continue;
		if (!s->use_time && st.packets)
			s->use_time = (uint64_t)time(NULL);
		rc = push_ae(m, s, &st);
		if (rc)
			pr_debug("xfrm: SA %s: NEWAE: %s\n", id_str(&s->dst, s->spi, buf, sizeof(buf)),
				 strerror(-rc));
		s->pushed_packets = st.packets;
		s->pushed_top = st.replay_top;
		if (s->expired < 2 && (over(s->lft.hard_bytes, st.bytes) ||
				       over(s->lft.hard_packets, st.packets))) {
			s->expired = 2;
			ask_expire(m, s, true);
		} else if (s->expired < 1 && (over(s->lft.soft_bytes, st.bytes) ||
					      over(s->lft.soft_packets, st.packets))) {
			s->expired = 1;
			ask_expire(m, s, false);
		}
	}
}

void xfrm_mirror_ready(int fd, void *arg)
{
	struct xfrm_mirror *m = arg;
	ssize_t n;

	(void)fd;
	for (;;) {
		n = recv(mnl_socket_get_fd(m->ev), m->buf, BUF_SIZE, MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			pr_warn("xfrm: notifications lost: dumping again\n");
			resync(m);
			continue;
		}
		if (n <= 0)
			return;
		mnl_cb_run(m->buf, (size_t)n, 0, 0, msg_cb, m);
	}
}

int xfrm_mirror_fd(const struct xfrm_mirror *m)
{
	return mnl_socket_get_fd(m->ev);
}

struct xfrm_mirror *xfrm_mirror_start(struct xdpsecd *d, char *err, size_t errlen)
{
	static const unsigned groups[] = { XFRMNLGRP_SA, XFRMNLGRP_POLICY, XFRMNLGRP_EXPIRE };
	struct xfrm_mirror *m = calloc(1, sizeof(*m));
	int rc, one = 1;

	if (!m || !(m->buf = malloc(BUF_SIZE))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	m->d = d;
	m->seq = (unsigned)time(NULL);
	m->ev = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC | SOCK_NONBLOCK);
	m->req = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);
	if (!m->ev || !m->req || mnl_socket_bind(m->ev, 0, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_bind(m->req, 0, MNL_SOCKET_AUTOPID)) {
		snprintf(err, errlen, "XFRM netlink socket: %s", strerror(errno));
		goto fail;
	}
	/* subscribe first, dump second: nothing falls between the two */
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (mnl_socket_setsockopt(m->ev, NETLINK_ADD_MEMBERSHIP, (void *)&groups[i],
					  sizeof(groups[i]))) {
			snprintf(err, errlen, "XFRM netlink group %u: %s", groups[i], strerror(errno));
			goto fail;
		}
	mnl_socket_setsockopt(m->req, NETLINK_EXT_ACK, &one, sizeof(one));
	rc = resync(m);
	if (rc) {
		snprintf(err, errlen, "XFRM dump: %s", strerror(-rc));
		goto fail;
	}
	pr_info("xfrm: mirroring %u SAs, %u policies of this namespace\n", m->n_sa,
		spd_count(d->spd));
	return m;
fail:
	xfrm_mirror_free(m);
	return NULL;
}

void xfrm_mirror_free(struct xfrm_mirror *m)
{
	if (!m)
		return;
	if (m->ev)
		mnl_socket_close(m->ev);
	if (m->req)
		mnl_socket_close(m->req);
	free(m->sa);
	free(m->buf);
	free(m);
}
