/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kernel_features.h - what the running kernel lets the data plane do,
 * found by trying it (kernel_features_probe.c): tiny programs
 * (bpf/probe.bpf.c) are loaded, maps created, XDP attached to a veth pair
 * and AF_XDP sockets bound in a private network namespace.  No kernel version number is ever read: a
 * kernel's helper set can change between builds of one version.
 *
 * xdpsecd probes once at start and keeps the result (`xdpsecd --check`
 * prints it, `xdpsecctl status` shows it).  The data plane asks
 * kfeat_has() and takes its fallback when a feature is missing;
 * kfeat_warn_missing() prints the one line per missing feature that says
 * what xdpsec does instead.
 *
 * XDPSEC_DISABLE=name,name,... (environment) makes the probe report those
 * features missing, "disabled by XDPSEC_DISABLE", without probing them, so
 * that the fallbacks can be tested on a kernel that has the features.
 */
#ifndef XDPSEC_KERNEL_FEATURES_H
#define XDPSEC_KERNEL_FEATURES_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

enum kfeat {
	KFEAT_XDP_NATIVE_VETH,   /* XDP in driver mode on veth (feedback pair) */
	KFEAT_XDP_FRAGS,         /* SEC("xdp.frags"): BPF_F_XDP_HAS_FRAGS      */
	KFEAT_DEVMAP_REDIRECT,   /* bpf_redirect_map into a DEVMAP             */
	KFEAT_CPUMAP_REDIRECT,   /* bpf_redirect_map into a CPUMAP             */
	KFEAT_CPUMAP_PROG,       /* SEC("xdp/cpumap") stored in a CPUMAP entry */
	KFEAT_XSKMAP_REDIRECT,   /* bpf_redirect_map into an XSKMAP            */
	KFEAT_AF_XDP,            /* AF_XDP copy-mode bind on veth, XSKMAP insert */
	KFEAT_XSK_SG,            /* AF_XDP multi-buffer: XDP_USE_SG bind       */
	KFEAT_MMAPABLE_ARRAY,    /* BPF_F_MMAPABLE array: create + mmap        */
	KFEAT_BTF,               /* kernel BTF (CO-RE) present, BTF loads      */
	KFEAT_PERCPU_ARRAY,      /* per-CPU array lookups (counters)           */
	KFEAT_ARRAY_MAP,         /* array lookups (configuration)              */
	KFEAT_HASH_MAP,          /* hash lookups (SA table)                    */
	KFEAT_XDP_ADJUST_HEAD,   /* bpf_xdp_adjust_head (the in-band tag)      */
	KFEAT_XDP_GET_BUFF_LEN,  /* bpf_xdp_get_buff_len                       */
	KFEAT__COUNT
};

/* What the data plane does when a feature is missing. */
enum kfeat_impact {
	KFEAT_FATAL,             /* the data plane cannot run                  */
	KFEAT_DEGRADED,          /* it runs, with the fallback kfeat_fallback() names */
	KFEAT_UNUSED,            /* xdpsec does not use it                     */
};

#define KFEAT_REASON_LEN 160

struct kernel_features {
	bool probed;
	bool have[KFEAT__COUNT];
	bool disabled[KFEAT__COUNT];          /* forced off by XDPSEC_DISABLE */
	char reason[KFEAT__COUNT][KFEAT_REASON_LEN]; /* why not, when missing */
	bool private_netns;                   /* the veth probes ran in their own netns */
	char *log[KFEAT__COUNT];              /* libbpf/verifier output of a failed
						 probe (KFEAT_KEEP_LOGS), else NULL */
	char unknown_disable[128];            /* XDPSEC_DISABLE names not known */
};

/* kfeat_probe() flags */
#define KFEAT_KEEP_LOGS  (1u << 0)   /* keep failed probes' libbpf output */

/* Probes every feature, then applies XDPSEC_DISABLE.  libbpf's output is
 * captured, never printed (see KFEAT_KEEP_LOGS); the caller's libbpf print
 * callback is restored on return.  Needs CAP_BPF/CAP_NET_ADMIN (root):
 * without them every feature is reported missing, with the reason.  Takes
 * well under a second.  Call before starting threads that use libbpf. */
void kfeat_probe(struct kernel_features *kf, unsigned flags);
/* The probes alone (kernel_features_probe.c), without XDPSEC_DISABLE:
 * fills have/reason/log of a zeroed kf.  Use kfeat_probe(). */
void kfeat_probe_kernel(struct kernel_features *kf, unsigned flags);
/* Frees the logs. */
void kfeat_release(struct kernel_features *kf);

/* The features the data plane asks about: false when missing or disabled.
 * A NULL kf (never probed) answers true, the behaviour before the probe.
 * Which decision needs which (the texts of kfeat_fallback() promise these):
 *   multi-buffer feedback pair   XDP_FRAGS && XDP_GET_BUFF_LEN && XSK_SG
 *   per-peer CPU steering        CPUMAP_REDIRECT && CPUMAP_PROG
 *   early replay drop in XDP     MMAPABLE_ARRAY
 * The KFEAT_FATAL ones are checked once, by xdpsecd.c, before the data
 * plane starts. */
bool kfeat_has(const struct kernel_features *kf, enum kfeat f);
/* False when a KFEAT_FATAL feature is missing: nothing can work. */
bool kfeat_usable(const struct kernel_features *kf);

const char *kfeat_name(enum kfeat f);            /* "cpumap_prog"            */
int kfeat_by_name(const char *name);            /* enum kfeat, or -1        */
enum kfeat_impact kfeat_impact(enum kfeat f);
/* What xdpsec does without f (one clause, no final period). */
const char *kfeat_fallback(enum kfeat f);

/* One pr_warn line per missing feature that xdpsec uses:
 *   "kernel feature cpumap_prog missing (disabled by XDPSEC_DISABLE): no
 *    per-peer CPU steering; ..."
 * Returns how many lines were printed. */
int kfeat_warn_missing(const struct kernel_features *kf);

/* The `xdpsecd --check` report: one line per feature,
 *   name: yes (what it is used for)
 *   name: no (why not; what xdpsec does without it)
 * then a summary line.  verbose: after each failed probe, its libbpf log,
 * indented (when kept).  Returns 0 if kfeat_usable(), else 1. */
int kfeat_print(const struct kernel_features *kf, FILE *out, bool verbose);

/* {"name": {"available": bool, "disabled": bool, "if_missing":
 *  "fatal"|"degraded"|"unused", "note": "..."}, ...} in enum order. */
json_object *kfeat_json(const struct kernel_features *kf);

#endif
