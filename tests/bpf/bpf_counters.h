/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpf_counters.h - the BPF tests' view of the per-CPU counter array
 * (enum xdpsec_counter): every counter summed over the CPUs, so a test can
 * compare snapshots taken before and after a run.
 */
#ifndef XDPSEC_TEST_BPF_COUNTERS_H
#define XDPSEC_TEST_BPF_COUNTERS_H

#include <stdlib.h>
#include <bpf/bpf.h>
#include "xdpsec_common.h"

/* 0, or -1 when the map cannot be read (sum is then incomplete). */
static inline int read_bpf_counters(int cnt_fd, int ncpus, __u64 sum[XDPSEC_CNT__MAX])
{
	__u64 *v = calloc((size_t)ncpus, sizeof(*v));

	if (!v)
		return -1;
	for (__u32 k = 0; k < XDPSEC_CNT__MAX; k++) {
		sum[k] = 0;
		if (bpf_map_lookup_elem(cnt_fd, &k, v)) {
			free(v);
			return -1;
		}
		for (int c = 0; c < ncpus; c++)
			sum[k] += v[c];
	}
	free(v);
	return 0;
}

#endif
