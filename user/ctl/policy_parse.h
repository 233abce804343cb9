/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * policy_parse.h - the `ip xfrm policy` grammar -> struct xs_policy, for
 * `xdpsecctl policy add|del` (hand-keyed setups), and the selector
 * grammar shared with `sa add ... sel` (sa_parse.c):
 *
 *   policy add SELECTOR dir in [priority N] [index N] [action allow|block]
 *              [tmpl [src ADDR] [dst ADDR] [proto esp] [spi SPI]
 *                    [mode transport|tunnel] [reqid N] [level required|use]]...
 *   policy del SELECTOR dir in  |  policy del index N dir in
 *   SELECTOR := [src ADDR[/PLEN]] [dst ADDR[/PLEN]]
 *               [proto PROTO [sport PORT] [dport PORT] [type N] [code N]]
 */
#ifndef XDPSEC_POLICY_PARSE_H
#define XDPSEC_POLICY_PARSE_H

#include <stddef.h>
#include "spd.h"

/* Selector words from argv[*i + 1] on, while they are selector words;
 * *i ends on the last one taken.  0, or -1 with err naming the word. */
int sel_parse_words(int argc, char *const *argv, int *i, struct xs_selector *s,
		    char *err, size_t errlen);

/* The words after `policy add` / `policy del`.  0 or -1 with err. */
int policy_parse(int argc, char *const *argv, bool del, struct xs_policy *p,
		 char *err, size_t errlen);

#endif
