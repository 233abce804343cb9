/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * events.h - the daemon's event stream (`xdpsecctl monitor`).
 *
 * Any thread posts; the control thread drains and fans the events out to
 * monitor subscribers as JSON lines.  events_post never blocks on I/O and
 * never allocates: it formats into a fixed ring under a short mutex and
 * wakes the control thread through an eventfd.  Each event type has its own
 * token bucket (EVENTS_RATE per second, burst EVENTS_BURST) so a flood of
 * auth failures cannot drown the stream or the CPU; the next event of that
 * type that gets through carries "suppressed": N.  A type out of tokens is
 * refused before the mutex and before any formatting (one clock read), so
 * the workers may post one event per dropped packet.
 *
 * Types in use (docs/control.md): sa_added, sa_deleted, sa_flushed,
 * limits_changed, stats_reset, config_loaded, reasm_timeout, and from the
 * data plane auth_fail, replay, reasm_drop, limit_hit (pipeline.c,
 * ctl_cmds.c, drop_watch.c) and bpf_drop (drop_watch.c).
 */
#ifndef XDPSEC_EVENTS_H
#define XDPSEC_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define EVENTS_RATE   20     /* events per second per type   */
#define EVENTS_BURST  50
#define EVENTS_RING   1024   /* events buffered between drains */
#define EVENTS_MSG    240

struct events;

struct event {
	char type[24];
	char msg[EVENTS_MSG];      /* human-readable detail (never key material) */
	uint64_t time_ms;          /* CLOCK_REALTIME, milliseconds               */
	uint64_t suppressed;       /* events of this type dropped before this one */
	char src[INET6_ADDRSTRLEN];/* peer addresses, "" when the event has none */
	char dst[INET6_ADDRSTRLEN];
};

struct events *events_new(void);
void events_free(struct events *ev);
/* eventfd that becomes readable when events are waiting. */
int events_fd(const struct events *ev);

/* Thread-safe, non-blocking, rate-limited.  ev may be NULL (no-op). */
void events_post(struct events *ev, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, for an event about a packet: src and dst are taken from its IP
 * header (IPv4 or IPv6, LEN bytes at IP; left empty if it is neither),
 * only when the event is admitted. */
void events_post_ip(struct events *ev, const char *type, const void *ip, size_t len,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same with the peer addresses given as text (NULL: none). */
void events_post_peer(struct events *ev, const char *type, const char *src, const char *dst,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Control thread: hands every waiting event to cb, oldest first; returns
 * how many.  Events lost to a full ring are reported by events_lost(). */
size_t events_drain(struct events *ev, void (*cb)(const struct event *e, void *arg),
		    void *arg);
uint64_t events_lost(const struct events *ev);
uint64_t events_suppressed_total(const struct events *ev);

#endif
