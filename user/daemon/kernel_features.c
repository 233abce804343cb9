// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kernel_features.c - the feature table (what each feature is for, what
 * xdpsec does without it), XDPSEC_DISABLE, and the reports: --check lines,
 * start-up warnings, the status JSON.  The probes themselves are in
 * kernel_features_probe.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_features.h"
#include "log.h"

/* ------------------------------------------------------------ the table */

static const struct kfeat_desc {
	const char *name;
	enum kfeat_impact impact;
	const char *use;          /* what xdpsec uses it for  ("yes" lines) */
	const char *fallback;     /* what it does without it  ("no" lines)  */
} descs[KFEAT__COUNT] = {
	[KFEAT_XDP_NATIVE_VETH] = { "xdp_native_veth", KFEAT_FATAL,
		"the decrypt program runs in driver mode on the feedback veth pair",
		"the feedback pair cannot run the decrypt program: the data plane cannot start" },
	[KFEAT_XDP_FRAGS] = { "xdp_frags", KFEAT_DEGRADED,
		"the decrypt program takes multi-buffer frames up to 64 KiB",
		"the decrypt program is loaded single-buffer and the feedback pair runs at the "
		"single-buffer size; larger datagrams take the daemon's counted fallback" },
	[KFEAT_DEVMAP_REDIRECT] = { "devmap_redirect", KFEAT_FATAL,
		"the classify program hands IPsec frames to the feedback pair",
		"IPsec frames cannot reach the feedback pair: the data plane cannot start" },
	[KFEAT_CPUMAP_REDIRECT] = { "cpumap_redirect", KFEAT_DEGRADED,
		"per-peer CPU steering",
		"no per-peer CPU steering: one SA's packets may be reordered across workers" },
	[KFEAT_CPUMAP_PROG] = { "cpumap_prog", KFEAT_DEGRADED,
		"per-peer CPU steering: the steer program runs in CPUMAP entries",
		"no per-peer CPU steering: one SA's packets may be reordered across workers" },
	[KFEAT_XSKMAP_REDIRECT] = { "xskmap_redirect", KFEAT_FATAL,
		"the decrypt program hands frames to the daemon's AF_XDP sockets",
		"frames cannot reach the daemon: the data plane cannot start" },
	[KFEAT_AF_XDP] = { "af_xdp", KFEAT_FATAL,
		"the daemon's AF_XDP sockets on the feedback pair, copy mode",
		"the daemon cannot receive or send frames: the data plane cannot start" },
	[KFEAT_XSK_SG] = { "xsk_sg", KFEAT_DEGRADED,
		"multi-buffer AF_XDP sockets: datagrams up to 64 KiB go through the feedback pair",
		"the sockets are bound single-buffer and the feedback pair runs at the "
		"single-buffer size; larger datagrams take the daemon's counted fallback" },
	[KFEAT_MMAPABLE_ARRAY] = { "mmapable_array", KFEAT_DEGRADED,
		"early replay drop in XDP from the daemon's mmap()ed replay state",
		"no early replay drop in XDP: the daemon alone checks sequence numbers" },
	[KFEAT_BTF] = { "btf", KFEAT_FATAL,
		"the BPF programs are CO-RE-relocated against the kernel's BTF",
		"the BPF programs cannot be relocated: the data plane cannot start" },
	[KFEAT_PERCPU_ARRAY] = { "percpu_array", KFEAT_FATAL,
		"the BPF programs' counters",
		"the BPF programs cannot count: the data plane cannot start" },
	[KFEAT_ARRAY_MAP] = { "array_map", KFEAT_FATAL,
		"the BPF programs' configuration",
		"the BPF programs cannot read their configuration: the data plane cannot start" },
	[KFEAT_HASH_MAP] = { "hash_map", KFEAT_FATAL,
		"the SA lookup in XDP",
		"no SA lookup in XDP: the data plane cannot start" },
	[KFEAT_XDP_ADJUST_HEAD] = { "xdp_adjust_head", KFEAT_FATAL,
		"the in-band frame tag is pushed and removed",
		"no in-band frame tag: the data plane cannot start" },
	[KFEAT_XDP_GET_BUFF_LEN] = { "xdp_get_buff_len", KFEAT_DEGRADED,
		"length checks of multi-buffer frames",
		"the decrypt program runs single-buffer, as without xdp_frags" },
};

const char *kfeat_name(enum kfeat f)
{
	return (unsigned)f < KFEAT__COUNT ? descs[f].name : "?";
}

int kfeat_by_name(const char *name)
{
	for (int f = 0; f < KFEAT__COUNT; f++)
		if (!strcmp(descs[f].name, name))
			return f;
	return -1;
}

enum kfeat_impact kfeat_impact(enum kfeat f)
{
	return (unsigned)f < KFEAT__COUNT ? descs[f].impact : KFEAT_UNUSED;
}

const char *kfeat_fallback(enum kfeat f)
{
	return (unsigned)f < KFEAT__COUNT ? descs[f].fallback : "";
}

bool kfeat_has(const struct kernel_features *kf, enum kfeat f)
{
	if (!kf || !kf->probed)
		return true;
	return (unsigned)f < KFEAT__COUNT && kf->have[f];
}

bool kfeat_usable(const struct kernel_features *kf)
{
	for (int f = 0; f < KFEAT__COUNT; f++)
		if (descs[f].impact == KFEAT_FATAL && !kfeat_has(kf, f))
			return false;
	return true;
}

/* XDPSEC_DISABLE=a,b c: those features read as missing. */
static void apply_disable(struct kernel_features *kf)
{
	const char *env = getenv("XDPSEC_DISABLE");
	char buf[512], *save = NULL, *tok;

	if (!env || !*env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int f = kfeat_by_name(tok);

		if (f < 0) {
			size_t n = strlen(kf->unknown_disable);

			/* a typo must not pass for a tested fallback */
			pr_warn("XDPSEC_DISABLE: unknown feature \"%s\" ignored\n", tok);
			snprintf(kf->unknown_disable + n, sizeof(kf->unknown_disable) - n, "%s%s",
				 n ? "," : "", tok);
			continue;
		}
		kf->disabled[f] = true;
		kf->have[f] = false;
		snprintf(kf->reason[f], sizeof(kf->reason[f]), "disabled by XDPSEC_DISABLE");
		free(kf->log[f]);
		kf->log[f] = NULL;
	}
}

void kfeat_probe(struct kernel_features *kf, unsigned flags)
{
	memset(kf, 0, sizeof(*kf));
	kfeat_probe_kernel(kf, flags);
	kf->probed = true;
	apply_disable(kf);
}

void kfeat_release(struct kernel_features *kf)
{
	for (int f = 0; f < KFEAT__COUNT; f++) {
		free(kf->log[f]);
		kf->log[f] = NULL;
	}
}

/* ------------------------------------------------------------ reporting */

static void note(const struct kernel_features *kf, enum kfeat f, char *out, size_t len)
{
	if (kfeat_has(kf, f)) {
		snprintf(out, len, "%s", descs[f].use);
	} else if (descs[f].impact == KFEAT_UNUSED) {
		snprintf(out, len, "%s; %s", kf->reason[f], descs[f].use);
	} else {
		snprintf(out, len, "%s; %s", kf->reason[f], descs[f].fallback);
	}
}

int kfeat_warn_missing(const struct kernel_features *kf)
{
	int n = 0;

	for (int f = 0; kf && f < KFEAT__COUNT; f++) {
		if (kfeat_has(kf, f) || descs[f].impact == KFEAT_UNUSED)
			continue;
		pr_warn("kernel feature %s missing (%s): %s\n", descs[f].name, kf->reason[f],
			descs[f].fallback);
		n++;
	}
	return n;
}

int kfeat_print(const struct kernel_features *kf, FILE *out, bool verbose)
{
	char buf[512], fatal[256] = "", degraded[256] = "";
	size_t fl = 0, dl = 0;

	for (int f = 0; f < KFEAT__COUNT; f++) {
		bool yes = kfeat_has(kf, f);

		note(kf, f, buf, sizeof(buf));
		fprintf(out, "%s: %s (%s)\n", descs[f].name, yes ? "yes" : "no", buf);
		if (!yes && verbose && kf->log[f]) {
			/* the libbpf / verifier output, indented under its line */
			for (char *l = kf->log[f], *e; *l; l = e + (*e != 0)) {
				e = strchrnul(l, '\n');
				fprintf(out, "    %.*s\n", (int)(e - l), l);
			}
		}
		if (yes || descs[f].impact == KFEAT_UNUSED)
			continue;
		if (descs[f].impact == KFEAT_FATAL && fl < sizeof(fatal))
			fl += (size_t)snprintf(fatal + fl, sizeof(fatal) - fl, "%s%s", fl ? ", " : "", descs[f].name);
		else if (descs[f].impact == KFEAT_DEGRADED && dl < sizeof(degraded))
			dl += (size_t)snprintf(degraded + dl, sizeof(degraded) - dl, "%s%s", dl ? ", " : "", descs[f].name);
	}
	if (fatal[0])
		fprintf(out, "summary: the data plane cannot run on this kernel (missing: %s)%s\n", fatal,
			geteuid() ? "; probing needs root (CAP_BPF, CAP_NET_ADMIN)" : "");
	else if (degraded[0])
		fprintf(out, "summary: the data plane can run, degraded (missing: %s)\n", degraded);
	else
		fprintf(out, "summary: the data plane can run with every feature\n");
	return fatal[0] ? 1 : 0;
}

json_object *kfeat_json(const struct kernel_features *kf)
{
	static const char *const impact[] = { "fatal", "degraded", "unused" };
	json_object *o = json_object_new_object();
	char buf[512];

	for (int f = 0; kf && kf->probed && f < KFEAT__COUNT; f++) {
		json_object *e = json_object_new_object();

		note(kf, f, buf, sizeof(buf));
		json_object_object_add(e, "available", json_object_new_boolean(kfeat_has(kf, f)));
		json_object_object_add(e, "disabled", json_object_new_boolean(kf->disabled[f]));
		json_object_object_add(e, "if_missing", json_object_new_string(impact[descs[f].impact]));
		json_object_object_add(e, "note", json_object_new_string(buf));
		json_object_object_add(o, descs[f].name, e);
	}
	return o;
}
