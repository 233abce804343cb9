// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_steer.c - the CPUMAP queue-drop counter of bpf/steer.bpf.c
 * (xdpsec_cpumap_drops, a raw tracepoint on xdp_cpumap_enqueue), run with
 * bpf_prog_test_run_opts over the tracepoint's arguments (map_id,
 * processed, drops, to_cpu): drops of one of our CPUMAPs are added to
 * classify/cpumap_dropped, nothing else moves; drops of another CPUMAP,
 * or none, count nothing.  (The CPUMAP program itself cannot be test-run:
 * the kernel refuses BPF_XDP_CPUMAP programs there; the e2e steering tests
 * cover it.)  Needs root.
 */
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpsec_common.h"
#include "steer.skel.h"
#include "testlib.h"
#include "bpf_counters.h"

#define OURS  4242u
#define OTHER 4243u

static struct xdpsec_steer *skel;
static int ncpus;

/* Runs the tracepoint program once; returns every counter's delta. */
static void run(__u32 map_id, __u32 drops, __u64 d[XDPSEC_CNT__MAX])
{
	__u64 args[4] = { map_id, 32, drops, 1 };
	__u64 before[XDPSEC_CNT__MAX], after[XDPSEC_CNT__MAX];
	int cnt_fd = bpf_map__fd(skel->maps.xdpsec_cnt);
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));

	CHECK_EQ(read_bpf_counters(cnt_fd, ncpus, before), 0);
	CHECK_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpsec_cpumap_drops), &o), 0);
	CHECK_EQ(o.retval, 0);
	CHECK_EQ(read_bpf_counters(cnt_fd, ncpus, after), 0);
	for (int k = 0; k < XDPSEC_CNT__MAX; k++)
		d[k] = after[k] - before[k];
}

static void expect_only(const __u64 d[XDPSEC_CNT__MAX], __u64 cpumap_dropped)
{
	for (int k = 0; k < XDPSEC_CNT__MAX; k++)
		CHECK_EQ(d[k], k == XDPSEC_CNT_CPUMAP_DROPPED ? cpumap_dropped : 0);
}

TEST(our_queue_drops_counted)
{
	__u64 d[XDPSEC_CNT__MAX];

	run(OURS, 5, d);
	expect_only(d, 5);
	run(OURS, 1000, d);
	expect_only(d, 1000);
}

TEST(other_queues_and_no_drops_ignored)
{
	__u64 d[XDPSEC_CNT__MAX];

	run(OTHER, 7, d);
	expect_only(d, 0);
	run(OURS, 0, d);
	expect_only(d, 0);
	run(0, 3, d);               /* an unset slot of the id list is not a match */
	expect_only(d, 0);
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	ncpus = libbpf_num_possible_cpus();
	skel = xdpsec_steer__open();
	if (!skel) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	skel->rodata->xdpsec_cpumap_ids[1] = OURS;
	if (xdpsec_steer__load(skel)) {
		fprintf(stderr, "cannot load the steer object (root needed): %s\n", strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(our_queue_drops_counted);
	RUN(other_queues_and_no_drops_ignored);
	xdpsec_steer__destroy(skel);
	return testlib_report();
}
