/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_print.h - xdpsecctl's output (ctl_print.c).
 */
#ifndef XDPSEC_CTL_PRINT_H
#define XDPSEC_CTL_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

extern int cli_json_out;     /* -j: the daemon's JSON, pretty-printed */
extern int cli_check_only;   /* stats --check: only the balance */

/* A member of o as a string ("" when absent) / an integer (0). */
const char *cli_jstr(json_object *o, const char *k);
int64_t cli_jint(json_object *o, const char *k);

/* The reply `res` of command `cmd` ("sa list"), as -j asks. */
void cli_print_result(const char *cmd, json_object *res);
/* One event of `monitor`, one line. */
void cli_print_event(json_object *ev);
/* stats --check: 0 when every present stage balances, else 1 with the
 * unbalanced stages and their terms in err. */
int cli_check_balance(json_object *res, char *err, size_t errlen);

#endif
