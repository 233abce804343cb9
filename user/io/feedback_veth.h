/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * feedback_veth.h - the feedback veth pair: the path by which everything the
 * daemon produces goes back through the decrypt stage (docs/decision-tree.md).
 *
 * The classify program redirects IPsec frames into the NEAR end (DEVMAP);
 * they come out of the FAR end, where the decrypt program runs natively and
 * steers them to the daemon's AF_XDP sockets; the daemon transmits every
 * frame it produces on the near end, so it re-enters the decrypt program.
 * Plaintext is passed by the decrypt program into the host stack on the far
 * end, so the far end is set up for local delivery (rp_filter, IPv6).
 */
#ifndef XDPSEC_FEEDBACK_VETH_H
#define XDPSEC_FEEDBACK_VETH_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEEDBACK_FAR_ADDR4 "169.254.88.1/32"  /* see feedback_pair_create */

struct feedback_pair {
	char near[IF_NAMESIZE], far[IF_NAMESIZE];
	int near_ifindex, far_ifindex;
	uint8_t near_mac[6], far_mac[6];
	int queues;
	int mtu;
	bool created;
	int saved_all_rp_filter;     /* -1 when untouched */
};

/* The pair's names, derived from the ifindex of the daemon's first
 * interface: "xdpsecN-n" (near) and "xdpsecN-f" (far), or "xsN-n"/"xsN-f"
 * when N has more than 7 digits (IFNAMSIZ is 16).  An interface is served
 * by one daemon at a time (its lock, instance.h), so two daemons never
 * pick the same names. */
void feedback_pair_names(unsigned ifindex, char near[IF_NAMESIZE], char far[IF_NAMESIZE]);
/* Creates the pair named after key_ifindex with `queues` queues each way
 * and the given MTU, and brings it up; one of that name already there was
 * left by a daemon that died serving the same interface (we hold its lock
 * now) and is removed first.  The MTU is applied before any XDP program is
 * attached. */
int feedback_pair_create(struct feedback_pair *fp, unsigned key_ifindex, int queues, int mtu,
			 char *err, size_t errlen);
/* Sets both ends' MTU (fp->mtu on success).  Above 65535 only once
 * frags-aware XDP programs are attached to both ends: veth raises an end's
 * maximum MTU when its peer has one.  Returns 0 or ip's exit status. */
int feedback_pair_set_mtu(struct feedback_pair *fp, int mtu);
/* Deletes the pair if this process created it; restores sysctls changed. */
void feedback_pair_destroy(struct feedback_pair *fp);

/* Runs /sbin/ip (or /usr/sbin/ip, /bin/ip) with the given argv, no shell.
 * Returns its exit status, or -errno when it could not run. */
int run_ip(const char *const argv[]);

#endif
