/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * spd.h - xdpsec's inbound security policy database (RFC 4301 4.4.1,
 * 5.2): the `dir in` policies of the kernel's XFRM (mirrored by
 * xfrm_mirror.c) and those added with `xdpsecctl policy add`, and the
 * check every plaintext xdpsec delivers goes through (pipeline.c), with
 * the kernel's semantics and counter names:
 *
 *   decrypted packet: the inner packet must match the selector of the SA
 *     that decrypted it (else StateMismatch), then the highest-priority
 *     matching `dir in` policy must allow it (else PolBlock) with a
 *     template the SA satisfies (else TmplMismatch); no policy at all
 *     for a packet of a tunnel-mode SA mirrored from the kernel is NoPols
 *     (a hand-keyed SA without policies keeps delivering, as before the
 *     SPD existed: its selector is its policy).
 *   plaintext that arrived unprotected: a matching policy with a
 *     non-optional template is TmplMismatch, a blocking one PolBlock.
 *
 * The classify program makes the second check for plain frames in XDP
 * (headers/xdpsec_spd.bpf.h) from maps this module compiles (spd_maps.c).
 * Thread-safety: the workers check under a read lock, the control thread
 * changes under the write lock.
 */
#ifndef XDPSEC_SPD_H
#define XDPSEC_SPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "counters.h"
#include "sa_config.h"

#define XS_TMPL_MAX 6                  /* XFRM_MAX_DEPTH */

enum xs_dir { XS_DIR_IN = 0, XS_DIR_OUT = 1, XS_DIR_FWD = 2 };
enum xs_action { XS_ACT_ALLOW = 0, XS_ACT_BLOCK = 1 };

/* struct xfrm_user_tmpl: zero fields are wildcards, as the kernel's
 * xfrm_state_ok treats spi and reqid (addresses: see spd.c). */
struct xs_tmpl {
	struct xs_addr src, dst;       /* tunnel endpoints (tunnel mode)  */
	uint32_t spi;                  /* host order, 0 = any             */
	uint32_t reqid;                /* 0 = any                         */
	uint8_t proto;                 /* IPPROTO_ESP / AH / COMP          */
	uint8_t mode;                  /* enum xs_mode                    */
	uint8_t optional;              /* level use                       */
};

struct xs_policy {
	struct xs_selector sel;
	uint32_t priority;             /* lower wins                      */
	uint32_t index;                /* the kernel's, or ours           */
	uint8_t dir;                   /* enum xs_dir                     */
	uint8_t action;                /* enum xs_action                  */
	uint8_t origin;                /* enum xs_origin                  */
	uint8_t n_tmpl;
	struct xs_tmpl tmpl[XS_TMPL_MAX];
};

enum spd_verdict {
	SPD_PASS = 0,
	SPD_STATE_MISMATCH,            /* inner packet outside the SA's sel */
	SPD_NOPOLS,                    /* tunnel SA, no policy matched       */
	SPD_POLBLOCK,                  /* a block policy matched             */
	SPD_TMPL_MISMATCH,             /* the policy wants other protection  */
	SPD_STATE_EXPIRED,             /* the SA reached a hard limit (sa_life.c) */
	SPD_HDR_ERROR,                 /* headers the parser refuses         */
	SPD__MAX
};

/* What the check needs to know of the SA that decrypted a packet. */
struct spd_sa {
	struct xs_selector sel;
	struct xs_addr src, dst;
	uint32_t spi, reqid;
	uint8_t proto, mode, origin, valid, expired;
};

struct spd;

struct spd *spd_new(void);
void spd_free(struct spd *s);

/* Adds (update: or replaces the one with the same dir and selector, as
 * XFRM_MSG_UPDPOLICY) a policy.  index 0 gets a fresh one.
 * 0, -EEXIST, -ENOSPC, -EINVAL with err. */
int spd_add(struct spd *s, struct xs_policy *p, bool update, char *err, size_t errlen);
/* By index (when non-zero) or by dir + selector.  origin >= 0: only a
 * policy of that origin.  0 or -ENOENT. */
int spd_del(struct spd *s, uint8_t dir, const struct xs_selector *sel, uint32_t index,
	    int origin);
/* Removes every policy of origin (-1: all); returns how many. */
unsigned spd_flush(struct spd *s, int origin);
/* cb under the read lock: must not call back into the SPD. */
void spd_walk(struct spd *s, void (*cb)(const struct xs_policy *p, void *arg), void *arg);
unsigned spd_count(struct spd *s);
/* Bumped on every change: spd_maps.c recompiles the XDP maps when it moved. */
uint64_t spd_generation(struct spd *s);

/* The SA at index idx (the SA table's) as the check sees it: set by the
 * one SA install path (ctl_cmds.c), cleared on delete. */
void spd_sa_set(struct spd *s, uint32_t idx, const struct xs_sa_config *cfg);
void spd_sa_clear(struct spd *s, uint32_t idx);
/* The SA reached a hard limit: its packets are refused (StateExpired). */
void spd_sa_expire(struct spd *s, uint32_t idx);

/* The check (see the top of this file): ip/len the packet about to be
 * delivered, sa_idx the SA that removed its last ESP layer or
 * SA_INDEX_NONE when it arrived in clear.  Counts what it refuses. */
enum spd_verdict spd_check(struct spd *s, const uint8_t *ip, size_t len, uint32_t sa_idx);

/* Pure matching, for the check and the tests. */
bool spd_sel_match(const struct xs_selector *sel, uint8_t family, const uint8_t *src,
		   const uint8_t *dst, uint8_t proto, uint16_t sport, uint16_t dport);
bool spd_tmpl_ok(const struct xs_tmpl *t, const struct spd_sa *sa);

/* Group "spd": the daemon's counts (the XDP program's are added by
 * dataplane/spd_maps).  Returns the new n. */
size_t spd_counters(struct spd *s, struct xs_counter *out, size_t n, size_t max,
		    const uint64_t xdp[SPD__MAX]);
void spd_reset_counters(struct spd *s);
const char *spd_verdict_name(enum spd_verdict v);

#endif
