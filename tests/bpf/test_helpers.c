// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_helpers.c - which kernel helpers the data plane's BPF objects call.
 *
 * A kernel build may refuse a helper to XDP programs (it happened: see "The
 * frame tag" in docs/architecture.md), and then every program that calls
 * it is refused at load.  So the set of helpers is a contract: every call
 * instruction in every program of build/{xdpsec,decrypt,steer}.bpf.o must
 * be one of the helpers below, each of which the daemon's feature probe
 * checks before it starts.  A new helper means: probe it, degrade without
 * it, then add it here.  bpf_xdp_adjust_meta in particular is never used.
 * No kfunc calls either (they differ even more between kernels).
 *
 * Reads the objects with libbpf (nothing is loaded): runs without root.
 */
#include <stdlib.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include "testlib.h"

#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif

static const int allowed[] = {
	BPF_FUNC_map_lookup_elem,
	BPF_FUNC_xdp_adjust_head,
	BPF_FUNC_redirect_map,
	BPF_FUNC_xdp_get_buff_len,
};

static const char *const objects[] = { "xdpsec.bpf.o", "decrypt.bpf.o", "steer.bpf.o" };

static int is_allowed(int id)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i] == id)
			return 1;
	return 0;
}

/* Calls in one object: helper calls checked, counted into *n_calls. */
static void check_object(const char *path, int *n_calls, int *n_meta)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;

	CHECK(obj != NULL);
	if (!obj) {
		fprintf(stderr, "  cannot open %s (run make first)\n", path);
		return;
	}
	bpf_object__for_each_program(prog, obj) {
		const struct bpf_insn *insn = bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog);

		for (size_t i = 0; i < n; i++) {
			if (insn[i].code != (BPF_JMP | BPF_CALL))
				continue;
			if (insn[i].src_reg == BPF_PSEUDO_CALL)
				continue;       /* a subprogram of our own */
			if (insn[i].src_reg == BPF_PSEUDO_KFUNC_CALL) {
				fprintf(stderr, "  %s: %s calls a kfunc\n", path,
					bpf_program__name(prog));
				tl_cur_failed = 1;
				continue;
			}
			(*n_calls)++;
			*n_meta += insn[i].imm == BPF_FUNC_xdp_adjust_meta;
			if (!is_allowed(insn[i].imm)) {
				fprintf(stderr, "  %s: %s calls helper #%d, not in the probed list\n",
					path, bpf_program__name(prog), insn[i].imm);
				tl_cur_failed = 1;
			}
		}
	}
	bpf_object__close(obj);
}

TEST(only_probed_helpers)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : BUILD_DIR;
	int calls = 0, meta = 0;

	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", build, objects[i]);
		check_object(path, &calls, &meta);
	}
	CHECK(calls > 10);      /* the objects were really read */
	CHECK_EQ(meta, 0);
}

int main(void)
{
	libbpf_set_print(NULL);
	RUN(only_probed_helpers);
	return testlib_report();
}
