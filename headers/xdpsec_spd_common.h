/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpsec_spd_common.h - the SPD maps' layout, shared by the classify
 * program (headers/xdpsec_spd.bpf.h) and the daemon (user/spd/spd_maps.c).
 * Verdicts use the numbers of enum spd_verdict (user/spd/spd.h).
 */
#ifndef XDPSEC_SPD_COMMON_H
#define XDPSEC_SPD_COMMON_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define XDPSEC_SPD_MAX     1024       /* destination prefixes        */
#define XDPSEC_SPD_RULES   8          /* rules per prefix            */
#define XDPSEC_MAP_SPD     "xdpsec_spd"
#define XDPSEC_MAP_SPD_CNT "xdpsec_spd_cnt"

enum {
	XDPSEC_SPD_V_PASS = 0,
	XDPSEC_SPD_V_POLBLOCK = 3,         /* SPD_POLBLOCK      */
	XDPSEC_SPD_V_TMPL_MISMATCH = 4,    /* SPD_TMPL_MISMATCH */
	XDPSEC_SPD_V__MAX = 5,             /* verdicts XDP can give */
};

/* LPM key: prefixlen counts the family byte (8) + the destination bits. */
struct xdpsec_spd_key {
	__u32 prefixlen;
	__u8 family;                       /* XDPSEC_AF_INET / _INET6     */
	__u8 daddr[16];                    /* IPv4 in the first 4 bytes   */
} __attribute__((packed));

struct xdpsec_spd_rule {
	__u32 src[4], smask[4];            /* network order words         */
	__u16 sport, sport_mask, dport, dport_mask; /* host order         */
	__u8 proto;                        /* 0 = any                     */
	__u8 verdict;                      /* XDPSEC_SPD_V_*              */
	__u8 pad[2];
};

struct xdpsec_spd_val {
	__u32 n;
	__u32 pad;
	struct xdpsec_spd_rule r[XDPSEC_SPD_RULES];
};

#endif
