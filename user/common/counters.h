/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * counters.h - one flat list of named counters, the common currency of
 * `xdpsecctl stats`, its JSON and its Prometheus output.  Every module that
 * counts (classify/decrypt BPF programs, reassembly, ESP engine, pipeline)
 * appends its counters to a caller-provided array; the control plane only
 * formats them, so adding a counter needs no change there.
 */
#ifndef XDPSEC_COUNTERS_H
#define XDPSEC_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct xs_counter {
	const char *group;   /* "classify", "decrypt", "branch", "reasm", "esp", "pipeline" */
	const char *name;    /* snake_case, stable: scripts and Prometheus use it  */
	const char *help;    /* one line for `stats` and Prometheus # HELP          */
	uint64_t value;
	int is_drop;         /* 1 when this counts dropped packets (a drop reason)  */
};

/* Append helper: returns the new count, never writes past max. */
static inline size_t xs_counter_add(struct xs_counter *out, size_t n, size_t max,
				    const char *group, const char *name,
				    const char *help, uint64_t value, int is_drop)
{
	if (n < max) {
		out[n].group = group;
		out[n].name = name;
		out[n].help = help;
		out[n].value = value;
		out[n].is_drop = is_drop;
	}
	return n + 1;
}

#endif
