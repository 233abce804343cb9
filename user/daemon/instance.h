/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * instance.h - what tells one xdpsecd from another on the same host: its
 * network namespace and the interfaces it serves.  Used for
 *
 *  - the default control socket and state file (per instance, so daemons
 *    in two namespaces, or for two interfaces, never share them):
 *
 *      socket  /run/xdpsec/[NS/]xdpsecd[-IFACES].sock
 *      state   /var/lib/xdpsec/[NS/]state[-IFACES].json
 *
 *    NS is empty in the host's namespace, "netns/NAME" for a namespace
 *    named under /run/netns (ip netns add; found the same way whether the
 *    daemon was started with `ip netns exec` or `nsenter --net=`), and
 *    "netns/ino-INODE" for an unnamed one (the inode of /proc/self/ns/net,
 *    which does not survive a reboot: give such daemons -S and --state).
 *    IFACES is the -i interfaces sorted and joined with '+' (a hash when
 *    the path would be too long); control-plane-only daemons have none, so
 *    in the host's namespace their defaults are the classic
 *    /run/xdpsec/xdpsecd.sock and /var/lib/xdpsec/state.json.
 *    xdpsecctl finds the socket of its namespace's only daemon by itself.
 *
 *  - one lock file per (network namespace, interface) and one per state
 *    file: flock(LOCK_EX | LOCK_NB), holding the owner's PID and its
 *    feedback pair.  The kernel drops the lock when the process dies, so a
 *    file left by a kill -9 is recognised as stale and taken over, and what
 *    it recorded (the dead daemon's feedback pair) is removed.
 */
#ifndef XDPSEC_INSTANCE_H
#define XDPSEC_INSTANCE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define INSTANCE_RUN_DIR    "/run/xdpsec"
#define INSTANCE_STATE_DIR  "/var/lib/xdpsec"
#define INSTANCE_LOCK_DIR   "/run/lock/xdpsec"
/* The host namespace's fixed inode (PROC_NET_INIT_INO) on recent kernels;
 * older ones are recognised through /proc/1/ns/net when it is readable. */
#define INSTANCE_INIT_NET_INO 0xeffffff9ul

struct xs_netns {
	unsigned long ino;       /* inode of /proc/self/ns/net          */
	bool host;               /* the host's (PID 1's) namespace       */
	char name[NAME_MAX + 1]; /* its name under /run/netns, or ""     */
};

/* 0 or -errno. */
int instance_netns(struct xs_netns *ns);
/* "" / "/netns/NAME" / "/netns/ino-N": the per-namespace directory part. */
void instance_ns_dir(const struct xs_netns *ns, char *buf, size_t len);

/* The defaults described above; 0 or -ENAMETOOLONG. */
int instance_default_socket(const struct xs_netns *ns, const char *const *ifaces, int n,
			    char *buf, size_t len);
int instance_default_state(const struct xs_netns *ns, const char *const *ifaces, int n,
			   char *buf, size_t len);
/* xdpsecctl without -S: the only *.sock in this namespace's directory.
 * 0, or -1 with err naming the directory and what was (not) found. */
int instance_find_socket(char *buf, size_t len, char *err, size_t errlen);

struct instance_lock {
	int fd;                      /* -1 when not held */
	char path[PATH_MAX];
	bool stale;                  /* taken over from a process that died */
	pid_t stale_pid;             /* the PID it recorded, 0 when none     */
	char stale_pair[32];         /* the feedback pair (near end) it recorded */
};

/* Takes the lock at path (creating missing directories with dirmode), or
 * fails naming the
 * PID that holds it: "WHAT by xdpsecd PID N (lock PATH)", WHAT being
 * e.g. "interface eth0 is served".
 * info is written into the file after our PID (one line, may be NULL). */
int instance_lock(struct instance_lock *l, const char *path, mode_t dirmode, const char *what,
		  const char *info, char *err, size_t errlen);
/* Removes the file and drops the lock (no-op when not held). */
void instance_unlock(struct instance_lock *l);
/* The lock file of an interface of this namespace. */
void instance_iface_lock_path(const struct xs_netns *ns, const char *ifname,
			      char *buf, size_t len);

#endif
