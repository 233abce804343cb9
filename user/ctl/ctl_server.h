/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_server.h - the control socket: a Unix stream socket served from the
 * daemon's main thread with epoll, many clients at once, non-blocking.
 *
 * Each client has a bounded input buffer (one request line, at most
 * CTL_MAX_REQUEST) and a bounded output buffer (CTL_MAX_OUTPUT): a client
 * that sends too much gets an error and is closed; a client that does not
 * read its replies (or events) is dropped once its buffer is full, so a
 * slow or vanished client never stalls anyone else.
 *
 * Permissions: the socket is 0660, group `group` (when given); its
 * directory, when the daemon creates it, is 0750 with that group too (an
 * existing directory is left as it is); SO_PEERCRED/SO_PEERGROUPS decide
 * per connection whether changes are allowed (root or admin_gid).
 */
#ifndef XDPSEC_CTL_SERVER_H
#define XDPSEC_CTL_SERVER_H

#include <stddef.h>
#include <sys/types.h>
#include "daemon.h"
#include "events.h"

#define CTL_MAX_OUTPUT   (4u * 1024 * 1024)
#define CTL_MAX_CLIENTS  256

struct ctl_server;

/* group / admin_gid: (gid_t)-1 when not configured. */
struct ctl_server *ctl_server_new(struct xdpsecd *d, const char *path, gid_t group,
				  gid_t admin_gid, char *err, size_t errlen);
/* Closes every client, removes the socket. */
void ctl_server_free(struct ctl_server *s);

/* Extra fds served by the same loop (signalfd, events eventfd). */
int ctl_server_watch(struct ctl_server *s, int fd, void (*cb)(int fd, void *arg), void *arg);

/* Runs until ctl_server_stop(); calls tick() at least every tick_ms. */
int ctl_server_run(struct ctl_server *s, int tick_ms, void (*tick)(void *arg), void *arg);
void ctl_server_stop(struct ctl_server *s);

/* Sends an event to every monitor client (drops those that are full). */
void ctl_server_broadcast(struct ctl_server *s, const struct event *e);
unsigned ctl_server_clients(const struct ctl_server *s);

#endif
