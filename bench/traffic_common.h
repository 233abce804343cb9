/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench/traffic_common.h - what the traffic harness's sender and sink
 * (bench/traffic_send.c, bench/traffic_sink.c) share: their clocks, their
 * way of failing, and the frame file's record format, read in one place.
 * libc only, like the programs themselves.
 *
 * A frame file (tests/e2e/framefile.py) is records of
 * <u32 big-endian length><that many bytes>.
 */
#ifndef XDPSEC_BENCH_TRAFFIC_COMMON_H
#define XDPSEC_BENCH_TRAFFIC_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* the program's name in its error messages */
extern const char *traffic_prog;

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", traffic_prog, what, strerror(errno));
	exit(2);
}

/* The whole file in one buffer (a byte to spare); *size its length.
 * what names the file in the error. */
static inline uint8_t *frame_file_read(const char *path, const char *what, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	if (!f || fstat(fileno(f), &st))
		die(path);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die(what);
	fclose(f);
	*size = (size_t)st.st_size;
	return buf;
}

/* The record at *off of a buffer of size bytes: 1 with *len its length and
 * *off moved past its length field (the record's bytes start there), 0
 * at the end, -1 when the record claims more than the buffer holds. */
static inline int frame_file_next(const uint8_t *buf, size_t size, size_t *off, uint32_t *len)
{
	if (*off + 4 > size)
		return 0;
	memcpy(len, buf + *off, 4);
	*len = ntohl(*len);
	*off += 4;
	return *off + *len > size ? -1 : 1;
}

#endif
