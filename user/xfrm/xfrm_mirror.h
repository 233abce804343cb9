/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xfrm_mirror.h - `xdpsecd --xfrm`: the kernel's XFRM state of the
 * daemon's network namespace, mirrored into xdpsec (libmnl).
 *
 * Inbound ESP SAs (destination a local address) enter the SA table through
 * the same path as `sa add` (sa_apply_add, user/daemon/sa_apply.h), marked origin xfrm; the
 * `dir in` policies enter the SPD (spd.h).  Both are dumped at start and
 * followed through XFRMNLGRP_SA, XFRMNLGRP_POLICY and XFRMNLGRP_EXPIRE
 * (add, update, delete, flush, expire).  SAs and policies of origin
 * manual are never touched.  The kernel does not see the packets xdpsec
 * decrypts: xfrm_mirror_tick pushes each mirrored SA's byte and packet
 * counts and replay state back (XFRM_MSG_NEWAE), so that the kernel's
 * lifetime expiry and the IKE daemon's rekeying work as if it had.
 */
#ifndef XDPSEC_XFRM_MIRROR_H
#define XDPSEC_XFRM_MIRROR_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include "sa_parse.h"
#include "spd.h"

struct xdpsecd;
struct xfrm_mirror;

/* Subscribes, then dumps SAs and policies.  NULL with err on failure. */
struct xfrm_mirror *xfrm_mirror_start(struct xdpsecd *d, char *err, size_t errlen);
void xfrm_mirror_free(struct xfrm_mirror *m);
/* The notification socket, for the control loop (ctl_server_watch). */
int xfrm_mirror_fd(const struct xfrm_mirror *m);
void xfrm_mirror_ready(int fd, void *arg);     /* arg: the mirror */
/* Counter push-back (every XFRM_PUSH_MS) */
void xfrm_mirror_tick(struct xfrm_mirror *m, uint64_t now_ms);

/* Conversions, exported for tests/unit/test_xfrm_mirror.c.
 * An XFRM_MSG_NEWSA/UPDSA message (or a dump reply) -> SA config,
 * origin xfrm.  *replay_top: the kernel's right edge of the window.
 * 0, 1 (not an ESP SA xdpsec takes: larval, other protocol; err says
 * why) or -1 (an ESP SA xdpsec cannot take; err says why). */
int xfrm_sa_from_nl(const struct nlmsghdr *nlh, struct sa_parse_result *r,
		    uint64_t *replay_top, char *err, size_t errlen);
/* XFRM_MSG_NEWPOLICY/UPDPOLICY -> policy, origin xfrm.  0 or -1. */
int xfrm_policy_from_nl(const struct nlmsghdr *nlh, struct xs_policy *p,
			char *err, size_t errlen);

#endif
