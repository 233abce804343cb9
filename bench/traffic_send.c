// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench/traffic_send.c - replays prebuilt Ethernet frames on an interface,
 * paced.  The sender of bench/pipeline.py; built never to be the
 * bottleneck: every frame is in memory before the first one leaves, the
 * message vectors are built once, and frames leave in bursts of one
 * sendmmsg() each on an AF_PACKET socket with PACKET_QDISC_BYPASS (veth has
 * no queue to go through anyway).
 *
 *   traffic_send -i IFACE -f FRAMES [-d DST_MAC] [-r FPS] [-b BURST] [-n REPEAT] [-w]
 *
 * FRAMES is the frame file tests/e2e/framefile.py writes (records of
 * <u32 big-endian length><frame>), Ethernet headers included.  With -d
 * every frame's destination becomes DST_MAC and its source IFACE's own
 * address (rewritten once, at load), so one file serves any veth pair.
 * -n sends the whole file REPEAT times.
 *
 * Pacing (-r FPS, frames per second; 0 = as fast as the socket takes
 * them): a token bucket that fills at FPS and holds at most DEPTH bursts
 * of BURST tokens.  The sender sleeps (clock_nanosleep, timer slack 1 us)
 * until the bucket holds a whole burst, then sends up to BURST frames per
 * call while it holds tokens: the average rate is FPS, frames leave in
 * bursts of BURST, and no CPU is burnt waiting.  The depth lets a sender
 * that overslept (a sleep takes 100 us or more on a loaded VM) catch up
 * with a few bursts back to back instead of losing the time.
 *
 * -w: after loading, print "READY" on stderr and wait for a line on stdin
 * before the first frame, so that whoever measures can take its "before"
 * sample with the file already loaded.
 *
 * Prints one JSON object: frames sent, seconds from the first to the last
 * call, calls made, the CPU time the sender used meanwhile (its own
 * syscalls and whatever the kernel did in their context: veth transmit,
 * the receiver's XDP program, for plain frames the whole receive path),
 * and frames the socket refused (ENOBUFS etc.: counted,
 * the frame is skipped, so a refused frame shows as loss downstream).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <net/ethernet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_QDISC_BYPASS
#define PACKET_QDISC_BYPASS 20
#endif
#include "traffic_common.h"

#define BURST_MAX 1024
#define DEPTH 4

const char *traffic_prog = "traffic_send";

/* The whole file in one buffer; *n frames, their iovecs pointing into it. */
static struct iovec *load_frames(const char *path, size_t *n)
{
	struct iovec *iov = NULL;
	size_t cap = 0, cnt = 0, off = 0, size;
	uint8_t *buf = frame_file_read(path, "reading the frame file", &size);
	uint32_t len;
	int r;

	while ((r = frame_file_next(buf, size, &off, &len))) {
		if (r < 0 || len < ETH_HLEN) {
			fprintf(stderr, "traffic_send: bad record at %zu in %s\n", off - 4, path);
			exit(2);
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 4096;
			iov = realloc(iov, cap * sizeof(*iov));
			if (!iov)
				die("realloc");
		}
		iov[cnt].iov_base = buf + off;
		iov[cnt].iov_len = len;
		cnt++;
		off += len;
	}
	*n = cnt;
	return iov;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *path = NULL, *dmac = NULL;
	double fps = 0, tokens, t0, t1, last, c0;
	unsigned burst = 32, repeat = 1;
	uint64_t sent = 0, refused = 0, calls = 0, total;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct mmsghdr *msgs;
	struct iovec *iov;
	bool wait_go = false;
	size_t nframes, pos = 0;
	int opt, fd, one = 1, sndbuf = 32 << 20;

	while ((opt = getopt(argc, argv, "i:f:d:r:b:n:w")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'f': path = optarg; break;
		case 'd': dmac = optarg; break;
		case 'r': fps = atof(optarg); break;
		case 'b': burst = (unsigned)atoi(optarg); break;
		case 'n': repeat = (unsigned)atoi(optarg); break;
		case 'w': wait_go = true; break;
		default:
			fprintf(stderr, "usage: traffic_send -i IFACE -f FRAMES [-d DST_MAC] [-r FPS] "
				"[-b BURST] [-n REPEAT] [-w]\n");
			return 2;
		}
	}
	if (!ifname || !path || !burst || burst > BURST_MAX || !repeat) {
		fprintf(stderr, "traffic_send: -i and -f needed; 1 <= BURST <= %d\n", BURST_MAX);
		return 2;
	}
	iov = load_frames(path, &nframes);
	if (!nframes) {
		fprintf(stderr, "traffic_send: no frames in %s\n", path);
		return 2;
	}
	total = (uint64_t)nframes * repeat;

	fd = socket(AF_PACKET, SOCK_RAW, 0);   /* protocol 0: we never receive */
	if (fd < 0)
		die("socket(AF_PACKET)");
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex)
		die(ifname);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("bind");
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("PACKET_QDISC_BYPASS");
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (dmac) {
		uint8_t mac[12];
		struct ifreq ifr = { 0 };

		if (sscanf(dmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
			   &mac[3], &mac[4], &mac[5]) != 6) {
			fprintf(stderr, "traffic_send: bad MAC %s\n", dmac);
			return 2;
		}
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(fd, SIOCGIFHWADDR, &ifr))
			die("SIOCGIFHWADDR");
		memcpy(mac + 6, ifr.ifr_hwaddr.sa_data, 6);
		for (size_t i = 0; i < nframes; i++)
			memcpy(iov[i].iov_base, mac, 12);
	}

	/* One message per frame, built once; a burst is a window of them
	 * (a window that would wrap is cut at the end of the file). */
	msgs = calloc(nframes, sizeof(*msgs));
	if (!msgs)
		die("calloc");
	for (size_t i = 0; i < nframes; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	if (wait_go) {
		char line[16];

		fprintf(stderr, "READY\n");
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin))
			return 2;
	}

	c0 = cpu_now();
	t0 = last = now();
	tokens = burst;         /* the first burst leaves at once */
	while (sent + refused < total) {
		uint64_t left = total - sent - refused;
		unsigned want = burst;
		int r;

		if (fps > 0) {
			double t = now();

			tokens += (t - last) * fps;
			last = t;
			if (tokens > (double)burst * DEPTH)
				tokens = (double)burst * DEPTH;
			if (tokens < burst && tokens < (double)left) {
				double need = ((left < burst ? (double)left : burst) - tokens) / fps;
				struct timespec ts = { (time_t)need, (long)((need - (time_t)need) * 1e9) };

				clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
				continue;
			}
			want = tokens < burst ? (unsigned)tokens : burst;
		}
		if (want > left)
			want = (unsigned)left;
		if (want > nframes - pos)
			want = (unsigned)(nframes - pos);
		r = sendmmsg(fd, &msgs[pos], want, 0);
		calls++;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/* ENOBUFS or the like: this frame is lost, go on */
			refused++;
			r = 1;
		} else {
			sent += (unsigned)r;
		}
		if (fps > 0)
			tokens -= r;
		pos += (unsigned)r;
		if (pos == nframes)
			pos = 0;
	}
	t1 = now();
	printf("{\"sent\": %llu, \"refused\": %llu, \"calls\": %llu, \"seconds\": %.6f, "
	       "\"t_start\": %.6f, \"t_end\": %.6f, \"cpu\": %.6f}\n",
	       (unsigned long long)sent, (unsigned long long)refused,
	       (unsigned long long)calls, t1 - t0, t0, t1, cpu_now() - c0);
	return 0;
}
