/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xsk_fixture.h - what the BPF tests need around an XSKMAP: a network
 * namespace of their own (lo up), and one real AF_XDP socket on lo queue 0
 * in slot 0 of a given XSKMAP.  The decrypt program needs it for its
 * redirect verdict; the classify program reads slot 0 to know a daemon
 * lives.  Everything goes away with the process.
 */
#ifndef XDPSEC_TEST_XSK_FIXTURE_H
#define XDPSEC_TEST_XSK_FIXTURE_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>

/* 0 when the process now has a namespace of its own, -1 when it stays in
 * the caller's (a message says why). */
static inline int xsk_fixture_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s: using this namespace's lo\n",
			strerror(errno));
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd >= 0 && !ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* One AF_XDP socket on lo queue 0, put in slot 0 of xsks_fd.  0 or -errno. */
static inline int xsk_fixture_socket(int xsks_fd, struct xsk_socket **xsk,
				     struct xsk_umem **umem)
{
	static struct xsk_ring_prod fq;
	static struct xsk_ring_cons cq, rxq;
	struct xsk_socket_config c = { .rx_size = 64, .tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY };
	size_t sz = 64 * 4096;
	void *area;
	__u32 key = 0;
	int fd, err;

	area = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -ENOMEM;
	err = xsk_umem__create(umem, area, sz, &fq, &cq, NULL);
	if (err)
		return err;
	err = xsk_socket__create(xsk, "lo", 0, *umem, &rxq, NULL, &c);
	if (err)
		return err;
	fd = xsk_socket__fd(*xsk);
	return bpf_map_update_elem(xsks_fd, &key, &fd, 0) ? -errno : 0;
}

#endif
