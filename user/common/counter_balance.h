/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * counter_balance.h - the conservation law over the daemon's counters
 * (docs/counters.md): for every stage of the receive path,
 *
 *     frames in = frames out + frames dropped (with a reason) + frames held
 *
 * computed from one snapshot of the flat counter list (counters.h) that
 * `xdpsecctl stats` shows.  The daemon computes it (user/ctl/ctl_cmds.c), the
 * CLI prints it and `stats --check` exits 1 on an unbalanced stage.
 *
 * A stage whose counters are not all in the list (no data plane: the
 * daemon runs control-plane only) is reported absent, not unbalanced.
 */
#ifndef XDPSEC_COUNTER_BALANCE_H
#define XDPSEC_COUNTER_BALANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "counters.h"

struct cb_stage_result {
	const char *stage;       /* "classify", "feedback", ...               */
	const char *what;        /* one line: what the stage is               */
	bool present;            /* every counter of its terms exists         */
	int64_t in, out, dropped, held;
	int64_t unaccounted;     /* in - out - dropped - held: 0 when balanced */
};

/* Number of stages (the length of the array counter_balance fills). */
unsigned counter_balance_nstages(void);

/* Fills res[0..nstages) from the counters; returns how many stages are
 * present and unbalanced (0: the law holds). */
unsigned counter_balance(const struct xs_counter *c, size_t n, struct cb_stage_result *res);

/* The terms of a stage as text, e.g. "in = decrypt/rx; out = ...". */
const char *counter_balance_terms(unsigned stage);

/* {"balanced": bool, "unbalanced": ["stage", ...], "stages": [{"stage",
 *  "what", "present", "in", "out", "dropped", "held", "unaccounted",
 *  "balanced", "terms"}]} */
json_object *counter_balance_json(const struct xs_counter *c, size_t n);

/* Prometheus: xdpsec_balance_unaccounted{stage="..."} per present stage. */
void counter_balance_prometheus(FILE *f, const struct xs_counter *c, size_t n);

#endif
