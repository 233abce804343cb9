// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench/traffic_sink.c - the receiving application of bench/pipeline.py:
 * UDP sockets on one port (IPv4 and IPv6), datagrams read with recvmmsg(),
 * every payload checked against the expected set by a 64-bit digest.
 *
 *   traffic_sink -p PORT -e EXPECTED [-n REPEAT] [-t IDLE_S] [-T MAX_S] [-s NAP_US]
 *
 * EXPECTED is a frame file (tests/e2e/framefile.py format) holding the
 * exact UDP payloads the sender's frames carry, each to be delivered
 * REPEAT times (the sender's -n).  Their digests are computed here at
 * start-up, so nothing else has to implement the digest.  A received
 * payload is "delivered" when its digest and length match an expected one
 * that has not yet been seen REPEAT times; a further copy is a duplicate;
 * anything else is stray.
 *
 * Prints "READY" on stderr once bound; exits when every expected payload
 * has been delivered, after IDLE_S seconds without a datagram (default
 * 0.5; IDLE_S + 5 before the first) or MAX_S in all (default 120), and
 * prints one JSON object: counts, the CLOCK_MONOTONIC times of the first
 * and last datagram, and the CPU time the sink used after start-up.
 *
 * After draining its sockets the sink naps NAP_US microseconds (default
 * 100) before it polls again, so it wakes about once per NAP_US whatever
 * the arrival pattern: a sink woken per datagram (plain traffic arrives
 * one by one, the daemon's in batches) would otherwise make the streams'
 * CPU figures differ by the sink's wake-ups, not by their paths.  64 MiB of
 * receive buffer hold far more than a nap's worth.
 *
 * The digest reads the payload 8 bytes at a time in two independent lanes
 * (about 0.1 ns a byte), so checking every datagram costs the sink far
 * less than receiving it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "traffic_common.h"

#define BATCH 64
#define DGRAM_MAX 65536

const char *traffic_prog = "traffic_sink";

static inline uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t digest(const uint8_t *p, size_t len)
{
	uint64_t a = 0x9E3779B97F4A7C15ULL ^ len, b = 0xC2B2AE3D27D4EB4FULL, w;
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		memcpy(&w, p + i, 8);
		a = (a ^ w) * 0x100000001B3ULL + (a >> 29);
		memcpy(&w, p + i + 8, 8);
		b = (b ^ w) * 0x9E3779B97F4A7C15ULL + (b >> 31);
	}
	for (; i < len; i++)
		a = (a ^ p[i]) * 0x100000001B3ULL;
	return mix(a ^ mix(b));
}

/* Open addressing, digest -> index + 1 (0 = empty). */
struct table {
	uint64_t *key;
	uint32_t *idx;
	uint32_t mask;
};

static uint32_t *slot_of(struct table *t, uint64_t k)
{
	for (uint32_t s = (uint32_t)k & t->mask;; s = (s + 1) & t->mask)
		if (!t->idx[s] || t->key[s] == k)
			return &t->idx[s];
}

static uint32_t load_expected(const char *path, struct table *t, uint32_t **lens)
{
	size_t off = 0, size;
	uint8_t *buf = frame_file_read(path, "reading the expected payloads", &size);
	uint32_t n = 0, cap, len;

	/* a first pass counts the records: the table is twice that */
	while (frame_file_next(buf, size, &off, &len) > 0) {
		n++;
		off += len;
	}
	for (cap = 1024; cap < 2 * n; cap <<= 1)
		;
	n = 0;
	t->mask = cap - 1;
	t->key = calloc(cap, sizeof(*t->key));
	t->idx = calloc(cap, sizeof(*t->idx));
	*lens = calloc(cap, sizeof(**lens));
	if (!t->key || !t->idx || !*lens)
		die("calloc");
	off = 0;
	while (frame_file_next(buf, size, &off, &len) > 0) {
		uint32_t *s;
		uint64_t k;

		k = digest(buf + off, len);
		s = slot_of(t, k);
		if (*s) {
			fprintf(stderr, "traffic_sink: two expected payloads share a digest\n");
			exit(2);
		}
		t->key[s - t->idx] = k;
		*s = ++n;
		(*lens)[n] = len;
		off += len;
	}
	free(buf);
	return n;
}

static int bound(int family, int port)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0), one = 1, rcv = 64 << 20;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (family == AF_INET6) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind [::]");
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die("bind 0.0.0.0");
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *expect = NULL;
	double idle = 0.5, maxt = 120, start, first = 0, last = 0, c0;
	struct timespec nap = { 0, 100000 };
	uint64_t delivered = 0, dups = 0, stray = 0, received = 0, bytes = 0, want;
	unsigned repeat = 1;
	int port = 0, opt;
	struct table t;
	uint32_t *lens, *seen, n;
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	uint8_t *bufs;
	struct pollfd pfd[2];

	while ((opt = getopt(argc, argv, "p:e:n:t:T:s:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'e': expect = optarg; break;
		case 'n': repeat = (unsigned)atoi(optarg); break;
		case 't': idle = atof(optarg); break;
		case 'T': maxt = atof(optarg); break;
		case 's': nap.tv_nsec = atol(optarg) * 1000L; break;
		default:
			fprintf(stderr, "usage: traffic_sink -p PORT -e EXPECTED [-n REPEAT] "
				"[-t IDLE_S] [-T MAX_S] [-s NAP_US]\n");
			return 2;
		}
	}
	if (!port || !expect || !repeat) {
		fprintf(stderr, "traffic_sink: -p and -e needed\n");
		return 2;
	}
	n = load_expected(expect, &t, &lens);
	want = (uint64_t)n * repeat;
	seen = calloc(n + 1, sizeof(*seen));
	bufs = malloc((size_t)BATCH * DGRAM_MAX);
	if (!seen || !bufs)
		die("malloc");
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs + (size_t)i * DGRAM_MAX;
		iov[i].iov_len = DGRAM_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	pfd[0] = (struct pollfd){ .fd = bound(AF_INET, port), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = bound(AF_INET6, port), .events = POLLIN };
	fprintf(stderr, "READY\n");
	fflush(stderr);

	c0 = cpu_now();
	start = now();
	while (delivered < want) {
		double tn = now();
		int r;

		if (tn - start > maxt || (last && tn - last > idle) || (!last && tn - start > idle + 5))
			break;
		r = poll(pfd, 2, 50);
		if (r < 0 && errno != EINTR)
			die("poll");
		if (r > 0 && nap.tv_nsec)
			nanosleep(&nap, NULL);
		for (int s = 0; s < 2; s++) {
			if (!(pfd[s].revents & POLLIN))
				continue;
			for (;;) {
				int got = recvmmsg(pfd[s].fd, msgs, BATCH, MSG_DONTWAIT, NULL);

				if (got <= 0)
					break;
				last = now();
				if (!first)
					first = last;
				for (int i = 0; i < got; i++) {
					uint32_t len = msgs[i].msg_len;
					uint64_t k = digest(iov[i].iov_base, len);
					uint32_t x = *slot_of(&t, k);

					received++;
					bytes += len;
					if (!x || lens[x] != len)
						stray++;
					else if (seen[x]++ < repeat)
						delivered++;
					else
						dups++;
				}
				if (got < BATCH)
					break;
			}
		}
	}
	printf("{\"expected\": %llu, \"delivered\": %llu, \"dups\": %llu, \"stray\": %llu, "
	       "\"received\": %llu, \"bytes\": %llu, \"t_first\": %.6f, \"t_last\": %.6f, "
	       "\"seconds\": %.6f, \"cpu\": %.6f}\n",
	       (unsigned long long)want, (unsigned long long)delivered,
	       (unsigned long long)dups, (unsigned long long)stray,
	       (unsigned long long)received, (unsigned long long)bytes, first, last,
	       first ? last - first : 0.0, cpu_now() - c0);
	return 0;
}
