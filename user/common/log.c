// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* log.c - see log.h */
#include <bpf/libbpf.h>
#include <pthread.h>
#include "log.h"

int xs_log_level = XS_LOG_INFO;

static const char *const prefix[] = {
	[XS_LOG_WARN] = "warning: ", [XS_LOG_INFO] = "", [XS_LOG_DEBUG] = "debug: ",
};

void xs_log(enum xs_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if ((int)lvl > xs_log_level)
		return;
	/* flockfile keeps one message on one line when workers log at once */
	flockfile(stderr);
	fputs(prefix[lvl], stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	funlockfile(stderr);
}

int xs_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && xs_log_level < XS_LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}
