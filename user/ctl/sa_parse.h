/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_parse.h - the `ip xfrm state add` grammar -> struct xs_sa_config.
 *
 * Shared by xdpsecctl (command line and -b batches) and the daemon (-c
 * config batches).  A line that `ip xfrm state add` accepts for the
 * supported algorithms is accepted as is, with `ip xfrm state` replaced by
 * `xdpsecctl sa`.  Errors name the offending word and the reason, e.g.
 *     "0xzz": invalid SPI (expected a 32-bit number)
 *
 * Also: a shell-like tokenizer for batch lines (quotes, backslash, #
 * comments), so that a batch line is split exactly as a shell would split
 * the same words typed on the command line.
 */
#ifndef XDPSEC_SA_PARSE_H
#define XDPSEC_SA_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "sa_config.h"

struct sa_parse_result {
	struct xs_sa_config cfg;
	bool has_replay_window;   /* replay-window given; else the daemon's default */
	bool has_src;             /* src given (optional for del/get)                 */
};

/* Parses the words after `sa add`.  Returns 0, or -1 with a message in err. */
int sa_parse_add(int argc, char *const *argv, struct sa_parse_result *out,
		 char *err, size_t errlen);

/* Parses an SA ID for `sa del` / `sa get`: [src ADDR] dst ADDR [proto esp]
 * spi SPI.  proto defaults to esp. */
int sa_parse_id(int argc, char *const *argv, struct sa_parse_result *out,
		char *err, size_t errlen);

/* sa_config_validate and the algorithm names: sa_config.h. */

/* "198.18.0.1" / "2001:db8::1" */
int sa_addr_parse(const char *s, struct xs_addr *a);
const char *sa_addr_str(const struct xs_addr *a, char *buf, size_t len);

/* Hex "0x..." key -> bytes; returns length, -1 (not hex, or no digits) or
 * -2 (longer than max). */
int sa_hex_decode(const char *s, uint8_t *out, size_t max);
/* bytes -> "0x..." (buf needs 2*len+3). */
void sa_hex_encode(const uint8_t *in, size_t len, char *buf);

/* Splits a batch line into words in place (shell quoting: '...', "...",
 * backslash; a # at the start of a word starts a comment).  Returns the
 * number of words, or -1 with err set (unterminated quote, too many words). */
int sa_tokenize(char *line, char **argv, int max, char *err, size_t errlen);

#endif
