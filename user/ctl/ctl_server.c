// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_server.c - the control socket's event loop (see ctl_server.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "ctl_server.h"
#include "log.h"
#include "state_file.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

struct client {
	int fd;
	struct ctl_peer peer;
	char *in;                 /* CTL_MAX_REQUEST + 1 bytes */
	size_t in_len;
	char *out;
	size_t out_off, out_len, out_cap;
	bool monitor;
	bool batch;               /* between "batch begin" and "batch end" */
	bool batch_failed;        /* a command of the batch failed: run no more */
	bool closing;             /* close once the output is flushed */
	bool dead;                /* closed; freed after the current epoll batch */
	struct client *next;
};

struct watch {
	int fd;
	void (*cb)(int fd, void *arg);
	void *arg;
	struct watch *next;
};

struct ctl_server {
	struct xdpsecd *d;
	char *path;
	int lfd, epfd;
	gid_t admin_gid;
	struct client *clients;
	struct client *zombies;   /* closed during this batch, freed after it */
	unsigned nclients;
	struct watch *watches;
	volatile int stop;
	uint64_t dropped_slow, rejected_full;
};

/* epoll data: low bit tells listen/watch (1) from client (0) */
#define TAG_OTHER 1ul

/* Unlinks and closes now; the memory is freed after the current epoll
 * batch, since a later event of the same batch may still point at it. */
static void client_close(struct ctl_server *s, struct client *c)
{
	struct client **pp;

	if (c->dead)
		return;
	for (pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->batch) {
		/* it went away mid-batch: what it changed is in memory, so on disk too */
		char err[512];

		c->batch = false;
		if (state_file_commit(s->d, err, sizeof(err)))
			pr_warn("state file not saved: %s\n", err);
	}
	c->dead = true;
	c->next = s->zombies;
	s->zombies = c;
	s->nclients--;
}

static void free_zombies(struct ctl_server *s)
{
	while (s->zombies) {
		struct client *c = s->zombies;
		s->zombies = c->next;
		/* request lines may have carried keys (sa add) */
		explicit_bzero(c->in, CTL_MAX_REQUEST + 1);
		free(c->in);
		if (c->out)
			explicit_bzero(c->out, c->out_cap);
		free(c->out);
		free(c);
	}
}

static void client_update_events(struct ctl_server *s, struct client *c)
{
	struct epoll_event ev = { .data.ptr = c };

	ev.events = (c->closing ? 0 : EPOLLIN) | (c->out_len > c->out_off ? EPOLLOUT : 0);
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what the socket takes now; 0, or -1 when the client is gone. */
static int client_flush(struct ctl_server *s, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->closing)
			return -1;
	} else if (c->out_off > c->out_cap / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	client_update_events(s, c);
	return 0;
}

/* Queues one message; -1 when the client's buffer would exceed the cap
 * (the caller drops the client). */
static int client_queue(struct client *c, json_object *msg)
{
	size_t len;
	char *txt = ctl_serialize(msg, &len);

	if (!txt)
		return -1;
	if (c->out_len - c->out_off + len > CTL_MAX_OUTPUT) {
		free(txt);
		return -1;
	}
	if (c->out_len + len > c->out_cap) {
		size_t nc = c->out_cap ? c->out_cap : 4096;
		while (nc < c->out_len + len)
			nc *= 2;
		char *nb = realloc(c->out, nc);
		if (!nb) {
			free(txt);
			return -1;
		}
		c->out = nb;
		c->out_cap = nc;
	}
	memcpy(c->out + c->out_len, txt, len);
	c->out_len += len;
	explicit_bzero(txt, len);
	free(txt);
	return 0;
}

static void peer_creds(struct ctl_server *s, struct client *c)
{
	struct ucred uc;
	socklen_t l = sizeof(uc);
	gid_t groups[256];

	c->peer.uid = (uid_t)-1;
	c->peer.gid = (gid_t)-1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0) {
		c->peer.pid = uc.pid;
		c->peer.uid = uc.uid;
		c->peer.gid = uc.gid;
	}
	c->peer.can_change = c->peer.uid == 0;
	if (s->admin_gid == (gid_t)-1 || c->peer.can_change)
		return;
	if (c->peer.gid == s->admin_gid)
		c->peer.can_change = true;
	l = sizeof(groups);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) == 0)
		for (size_t i = 0; i < l / sizeof(gid_t); i++)
			if (groups[i] == s->admin_gid)
				c->peer.can_change = true;
}

static void do_accept(struct ctl_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *c;

		if (fd < 0)
			return;
		if (s->nclients >= CTL_MAX_CLIENTS) {
			static const char busy[] = "{\"v\":1,\"id\":null,\"ok\":false,\"error\":{\"code\":\"EBUSY\",\"message\":\"too many clients\"}}\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(fd);
			s->rejected_full++;
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(CTL_MAX_REQUEST + 1);
		if (!c || !c->in) {
			if (c)
				free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		peer_creds(s, c);
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->next = s->clients;
		s->clients = c;
		s->nclients++;
		pr_debug("control client pid %d uid %u%s\n", (int)c->peer.pid,
			 (unsigned)c->peer.uid, c->peer.can_change ? " (admin)" : "");
	}
}

/* "batch begin" ... "batch end" (xdpsecctl -b): the changes this client
 * makes in between are written to the state file once, at the end; the
 * replies in between acknowledge changes made in memory, "batch end" is
 * answered once they are on disk (so a batch cut short by a crash is seen
 * as failed).  After a command that failed, the batch's next commands are
 * not run (ECANCELED), as a batch stops at its first error: the client
 * may send ahead without waiting for each reply.  NULL for any other
 * command. */
static json_object *batch_cmd(struct ctl_server *s, struct client *c, json_object *req)
{
	json_object *v, *id = NULL;
	const char *cmd;
	char err[512];

	if (!json_object_is_type(req, json_type_object) || !json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	cmd = json_object_get_string(v);
	if (strcmp(cmd, "batch begin") && strcmp(cmd, "batch end"))
		return NULL;
	json_object_object_get_ex(req, "id", &id);
	if (id && (json_object_is_type(id, json_type_object) || json_object_is_type(id, json_type_array)))
		return NULL;       /* ctl_cmds_dispatch says what is wrong */
	if (!c->peer.can_change)
		return ctl_reply_err(id, "EPERM", "%s needs root or the admin group", cmd);
	if (!strcmp(cmd, "batch begin")) {
		c->batch = true;
		c->batch_failed = false;
		return ctl_reply_ok(id, NULL);
	}
	c->batch = c->batch_failed = false;
	if (state_file_commit(s->d, err, sizeof(err)))
		return ctl_reply_err(id, "EIO", "state file not saved: %s", err);
	return ctl_reply_ok(id, NULL);
}

/* One complete line: parse, dispatch, queue the reply.  -1 drops. */
static int handle_line(struct ctl_server *s, struct client *c, char *line, size_t len)
{
	char err[256];
	json_object *req, *reply;
	bool mon = false;
	int rc;

	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;            /* blank lines are keep-alives */
	req = ctl_parse_line(line, len, err, sizeof(err));
	if (!req) {
		reply = ctl_reply_err(NULL, "EPROTO", "%s", err);
	} else if ((reply = batch_cmd(s, c, req))) {
		;
	} else if (c->batch && c->batch_failed) {
		json_object *id = NULL;

		if (json_object_is_type(req, json_type_object))
			json_object_object_get_ex(req, "id", &id);
		reply = ctl_reply_err(id, "ECANCELED", "not run: an earlier command of the batch failed");
	} else {
		json_object *ok;

		s->d->state_defer = c->batch;
		reply = ctl_cmds_dispatch(s->d, req, &c->peer, &mon);
		s->d->state_defer = 0;
		if (c->batch && (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)))
			c->batch_failed = true;
	}
	json_object_put(req);
	rc = client_queue(c, reply);
	json_object_put(reply);
	if (mon)
		c->monitor = true;
	return rc;
}

static void client_readable(struct ctl_server *s, struct client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, CTL_MAX_REQUEST + 1 - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* EOF: finish sending what is queued, then close */
			c->closing = true;
			break;
		}
		c->in_len += (size_t)n;
		/* every complete line in the buffer */
		char *start = c->in, *nl;
		while ((nl = memchr(start, '\n', c->in_len - (size_t)(start - c->in)))) {
			if (handle_line(s, c, start, (size_t)(nl - start))) {
				s->dropped_slow++;
				pr_debug("dropping control client pid %d: output buffer full\n", (int)c->peer.pid);
				client_close(s, c);
				return;
			}
			start = nl + 1;
		}
		c->in_len -= (size_t)(start - c->in);
		memmove(c->in, start, c->in_len);
		if (c->in_len > CTL_MAX_REQUEST) {
			json_object *r = ctl_reply_err(NULL, "E2BIG", "request longer than %d bytes",
						       CTL_MAX_REQUEST);
			client_queue(c, r);
			json_object_put(r);
			c->in_len = 0;
			c->closing = true;   /* cannot resynchronise inside a line */
			break;
		}
	}
	if (client_flush(s, c))
		client_close(s, c);
}

void ctl_server_broadcast(struct ctl_server *s, const struct event *e)
{
	struct client *c, *next;
	json_object *msg = NULL;

	for (c = s->clients; c; c = next) {
		next = c->next;
		if (!c->monitor || c->closing)
			continue;
		if (!msg) {
			json_object *ev = json_object_new_object();
			msg = json_object_new_object();
			json_object_object_add(msg, "v", json_object_new_int(CTL_PROTO_VERSION));
			json_object_object_add(ev, "type", json_object_new_string(e->type));
			json_object_object_add(ev, "time", json_object_new_double((double)e->time_ms / 1000.0));
			json_object_object_add(ev, "message", json_object_new_string(e->msg));
			if (e->src[0])
				json_object_object_add(ev, "src", json_object_new_string(e->src));
			if (e->dst[0])
				json_object_object_add(ev, "dst", json_object_new_string(e->dst));
			if (e->suppressed)
				json_object_object_add(ev, "suppressed", json_object_new_int64((int64_t)e->suppressed));
			json_object_object_add(msg, "event", ev);
		}
		if (client_queue(c, msg) || client_flush(s, c)) {
			s->dropped_slow++;
			client_close(s, c);
		}
	}
	json_object_put(msg);
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
	return s->nclients;
}

int ctl_server_watch(struct ctl_server *s, int fd, void (*cb)(int fd, void *arg), void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = (void *)((uintptr_t)w | TAG_OTHER);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(w);
		return -errno;
	}
	w->next = s->watches;
	s->watches = w;
	return 0;
}

int ctl_server_run(struct ctl_server *s, int tick_ms, void (*tick)(void *arg), void *arg)
{
	struct epoll_event evs[32];
	uint64_t next_tick = ctl_now_ms() + (uint64_t)tick_ms;

	while (!s->stop) {
		uint64_t now = ctl_now_ms();
		int timeout = now >= next_tick ? 0 : (int)(next_tick - now);
		int n = epoll_wait(s->epfd, evs, 32, timeout);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n && !s->stop; i++) {
			uintptr_t p = (uintptr_t)evs[i].data.ptr;
			if (p == TAG_OTHER) {                       /* listen socket */
				do_accept(s);
			} else if (p & TAG_OTHER) {
				struct watch *w = (struct watch *)(p & ~TAG_OTHER);
				w->cb(w->fd, w->arg);
			} else {
				struct client *c = (struct client *)p;
				if (c->dead)
					continue;
				if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
					client_close(s, c);
					continue;
				}
				if (evs[i].events & EPOLLIN) {
					client_readable(s, c);   /* may free c */
					continue;
				}
				if ((evs[i].events & EPOLLOUT) && client_flush(s, c))
					client_close(s, c);
			}
		}
		free_zombies(s);
		now = ctl_now_ms();
		if (now >= next_tick) {
			if (tick)
				tick(arg);
			next_tick = now + (uint64_t)tick_ms;
		}
	}
	return 0;
}

void ctl_server_stop(struct ctl_server *s)
{
	s->stop = 1;
}

/* mkdir -p for the socket's directory.  A directory this call creates
 * gates access too (0750, group = the socket's group; the ones above it
 * 0755); one that exists is never changed: it may be /etc or a user's own,
 * and its mode is its owner's business.  The socket itself is 0660. */
static int make_socket_dir(const char *dir, gid_t group, char *err, size_t errlen)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t len = strlen(dir);

	snprintf(path, sizeof(path), "%s", dir);
	for (size_t i = 1; i <= len; i++) {
		bool last = i == len;

		if (!last && path[i] != '/')
			continue;
		path[i] = 0;
		if (mkdir(path, last ? 0750 : 0755) == 0) {
			/* ours: whatever the umask, and the group for the last one */
			chmod(path, last ? 0750 : 0755);
			if (last && group != (gid_t)-1 && chown(path, (uid_t)-1, group))
				pr_warn("chown %s: %s\n", path, strerror(errno));
		} else if (errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
			return -1;
		}
		if (!last)
			path[i] = '/';
	}
	return 0;
}

struct ctl_server *ctl_server_new(struct xdpsecd *d, const char *path, gid_t group,
				  gid_t admin_gid, char *err, size_t errlen)
{
	struct ctl_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = (void *)TAG_OTHER };
	char dirbuf[sizeof(sun.sun_path)], *dir;
	mode_t old;

	if (!s)
		return NULL;
	s->d = d;
	s->admin_gid = admin_gid;
	s->lfd = s->epfd = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		goto fail;
	}
	s->path = strdup(path);
	strcpy(sun.sun_path, path);
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	if (make_socket_dir(dir, group, err, errlen))
		goto fail;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* a stale socket from a killed daemon: remove it unless someone answers */
	if (connect(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "%s: another xdpsecd is already listening", path);
		goto fail;
	}
	close(s->lfd);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	old = umask(0117);             /* socket born 0660, never wider */
	if (bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun))) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	chmod(path, 0660);
	if (group != (gid_t)-1 && chown(path, (uid_t)-1, group))
		pr_warn("chown %s: %s\n", path, strerror(errno));
	if (listen(s->lfd, 64)) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->path);
	free(s);
	return NULL;
}

void ctl_server_free(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->clients) {
		client_flush(s, s->clients);
		client_close(s, s->clients);
	}
	free_zombies(s);
	while (s->watches) {
		struct watch *w = s->watches;
		s->watches = w->next;
		free(w);
	}
	close(s->lfd);
	close(s->epfd);
	unlink(s->path);
	free(s->path);
	free(s);
}
