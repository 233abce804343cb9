/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * privilege.h - least privilege for xdpsecd: after set-up the daemon keeps
 * only the capabilities its steady state and its stop need, sets
 * no_new_privs, and with --user NAME runs as that user.
 *
 * What the steady state needs (measured: tests/e2e/test_privilege.py; docs/xdpsecd.8.scd, PRIVILEGES):
 *
 *   CAP_NET_ADMIN  with a data plane: the stop detaches the XDP programs
 *                  (netlink RTM_SETLINK), deletes the feedback pair (ip(8),
 *                  which inherits it as an ambient capability) and puts
 *                  net.ipv4.conf.all.rp_filter back (/proc/sys/net is
 *                  writable with it, as for root); with --xfrm: every XFRM
 *                  netlink request (dumps, NEWAE pushes) is checked
 *                  against it.
 *   CAP_BPF        only where bpf(2) checks it for every command (Linux
 *                  before 5.19 with kernel.unprivileged_bpf_disabled set;
 *                  since, only map and program creation): found by a
 *                  probe, not by the version.  Elsewhere (Debian 12's 6.1
 *                  included, measured) map updates and lookups through the
 *                  descriptors the daemon already holds need no capability.
 *
 * Everything else (CAP_SYS_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_PERFMON,
 * CAP_CHOWN, CAP_SETUID, ...) serves set-up only: loading and attaching
 * programs, creating AF_XDP sockets and their UMEM, giving the socket to
 * --group.  It is dropped from the permitted, effective, inheritable,
 * ambient and (with CAP_SETPCAP) bounding sets of every thread: Linux
 * keeps capabilities per thread, and the workers already run.
 */
#ifndef XDPSEC_PRIVILEGE_H
#define XDPSEC_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#define PRIV_GROUPS_MAX 64

struct priv_user {
	bool set;                        /* --user given                   */
	uid_t uid;
	gid_t gid;                       /* the user's primary group       */
	int ngroups;                     /* its supplementary groups       */
	gid_t groups[PRIV_GROUPS_MAX];
	char name[64];
};

/* --user NAME (or a numeric uid): 0, or -1 with the reason in err. */
int privilege_user_lookup(const char *name, struct priv_user *u, char *err, size_t errlen);

/* Before the drop, as root, with --user: the state file's directory must
 * be the user's to write (a directory under /var/lib/xdpsec is given to
 * it; any other must already be writable by it, or start fails); the
 * socket's directory under /run/xdpsec is given to it too, so that the
 * stop can remove the socket.  0, or -1 with the reason in err. */
int privilege_prepare_paths(const struct priv_user *u, const char *state_path,
			    const char *sock_path, char *err, size_t errlen);

struct priv_need {
	bool dataplane;                  /* -i: something to detach at stop */
	bool xfrm;                       /* --xfrm                          */
};

/* The drop, once set-up is done.  XDPSEC_DROP_CAPS=cap_x,... in the
 * environment drops those too (to measure what fails without them).
 * 0, or -1 with the reason in err (the daemon must not go on then). */
int privilege_drop(const struct priv_user *u, const struct priv_need *need, char *err,
		   size_t errlen);

/* `xdpsecctl status`: uid, gid, no_new_privs, the capability sets as
 * names, what is kept and why, and whether every thread agrees. */
json_object *privilege_status_json(void);

/* "cap_net_admin" for 12; NULL past the table. */
const char *privilege_cap_name(int cap);

#endif
