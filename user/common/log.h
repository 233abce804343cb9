/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * log.h - pr_warn / pr_info / pr_debug (xdp-tools style) and the libbpf
 * print callback that hides libbpf's debug output unless -v was given.
 * Messages go to stderr (journald picks them up under systemd).
 * Never log key material.
 */
#ifndef XDPSEC_LOG_H
#define XDPSEC_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum xs_log_level { XS_LOG_WARN = 0, XS_LOG_INFO = 1, XS_LOG_DEBUG = 2 };

extern int xs_log_level;               /* default XS_LOG_INFO */

void xs_log(enum xs_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(...)  xs_log(XS_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  xs_log(XS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xs_log(XS_LOG_DEBUG, __VA_ARGS__)

/* Install as libbpf_set_print(xs_libbpf_print): debug lines only with -v. */
#include <bpf/libbpf.h>
int xs_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
