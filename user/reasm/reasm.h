/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * reasm.h - IPv4/IPv6 fragment reassembly engine (the daemon's "receiver IP
 * processing logic").  A library with no I/O: the daemon, the unit tests,
 * the fuzzer and the benchmark all drive this same code.  Not thread-safe:
 * the daemon serialises calls.
 *
 * Rules (RFC 791, RFC 815, RFC 8200 4.5, RFC 5722, RFC 6946):
 *  - key: (ctx, src, dst, id, protocol) for IPv4, (ctx, src, dst, id) for
 *    IPv6; ctx is the caller's opaque context (ingress ifindex, SA...).
 *  - any order; exact duplicates (same range, same bytes) are ignored; any
 *    other overlap drops the whole datagram (RFC 5722; Linux for IPv4);
 *  - non-last fragments must be a multiple of 8 bytes; a zero-length
 *    fragment, like any other well-formed but unacceptable fragment,
 *    discards its whole datagram (as Linux does); the result may not
 *    exceed 65535 bytes (IPv4 total length, IPv6 payload length);
 *  - IPv6: a hop-by-hop header anywhere but first drops the packet
 *    (RFC 8200 4.1, as Linux does);
 *  - a second last fragment with another end, or data beyond the last,
 *    drops the datagram;
 *  - the header (IPv4 incl. options, IPv6 unfragmentable part) comes from
 *    the offset-0 fragment; IPv6: the fragment header is removed and its
 *    next-header is written into the preceding header; IPv4: MF/offset
 *    cleared, total length set, checksum recomputed.
 *
 * Memory: all pools are allocated by reasm_new()/reasm_set_limits(); the
 * hot path never calls malloc.  Fragment data is stored in place, at its
 * final offset behind a header room (64 bytes, or the IPv6 unfragmentable
 * part rounded up to 64), in 1 KiB pages of an arena that are contiguous
 * for a datagram whenever the arena allows; mem_cap counts these pages
 * (like Linux's truesize accounting, small fragments cost a whole page).
 */
#ifndef XDPSEC_REASM_H
#define XDPSEC_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

#define REASM_PAGE_SIZE   1024u   /* allocation unit of fragment data       */
#define REASM_HDR_MAX     512u    /* longest IPv4 header / IPv6 unfrag part */
#define REASM_MAX_LEN     65535u  /* fragmentable part never ends past this */

struct reasm_limits {
	uint32_t timeout_ms;      /* default 30000 */
	uint64_t mem_cap;         /* bytes of fragment data held, default 4 MiB */
	uint32_t max_frags;       /* per datagram, default 64 */
	uint32_t max_datagrams;   /* concurrent, default 4096 */
	uint32_t src_share_pct;   /* per-source share of mem_cap (and of
				   * max_datagrams) in percent, default 25 */
};

void reasm_limits_default(struct reasm_limits *l);

struct reasm;

/* NULL on ENOMEM or invalid limits (l == NULL: defaults). */
struct reasm *reasm_new(const struct reasm_limits *l);
void reasm_free(struct reasm *r);
/*
 * Run-time change: 0, -EINVAL (out of range) or -ENOMEM.  Shrinking keeps
 * the pools and evicts (oldest first) what no longer fits; growing beyond
 * the pools' size reallocates them and discards the reassemblies in
 * progress (counted as evictions).
 */
int reasm_set_limits(struct reasm *r, const struct reasm_limits *l);
void reasm_get_limits(const struct reasm *r, struct reasm_limits *l);

struct reasm_out {
	uint8_t *buf; size_t cap;  /* caller's output buffer */
	size_t len;                /* set on REASM_COMPLETE: the whole datagram */
	uint32_t tag;              /* OR of the tags of all fragments */
	int reason;                /* enum reasm_reason on REASM_DROPPED */
	unsigned flags;            /* REASM_OUT_*, set by the caller */
	uint8_t *data;             /* set on REASM_COMPLETE: where the datagram
				    * is (buf, or the engine's memory with
				    * REASM_OUT_BORROW); NULL otherwise */
};

/*
 * REASM_OUT_BORROW: a reassembled datagram the engine holds contiguously
 * (the usual case) is not copied into buf: data points into the engine's
 * memory, valid (and writable) until the next call on the engine other
 * than reasm_walk/reasm_counters/reasm_mem_used/reasm_in_progress/
 * reasm_selfcheck.  buf/cap are still required: they bound the datagram's
 * size exactly as without the flag, and receive non-fragments, IPv6 atomic
 * fragments and datagrams that had to be gathered from scattered pages.
 * Without the flag data == buf on REASM_COMPLETE.
 */
#define REASM_OUT_BORROW 1u

enum { REASM_HELD = 0, REASM_COMPLETE = 1, REASM_DROPPED = 2 };

enum reasm_reason {
	REASM_R_NONE = 0,
	REASM_R_MALFORMED,       /* bad version / header lengths / truncated  */
	REASM_R_BAD_CSUM,        /* IPv4 header checksum                      */
	REASM_R_BAD_LEN,         /* non-last not multiple of 8, or zero length */
	REASM_R_TOO_BIG,         /* datagram would exceed 65535               */
	REASM_R_OVERLAP,         /* RFC 5722: datagram dropped                 */
	REASM_R_DUPLICATE,       /* exact duplicate: fragment ignored          */
	REASM_R_LAST_CONFLICT,   /* second last with another end / data beyond */
	REASM_R_TOO_MANY_FRAGS,  /* max_frags                                  */
	REASM_R_MEM_CAP,         /* mem_cap, nothing older left to evict        */
	REASM_R_SRC_CAP,         /* per-source share                           */
	REASM_R_HDR_TOO_LONG,    /* header longer than REASM_HDR_MAX            */
	REASM_R_OUT_TOO_SMALL,   /* caller's buffer too small for the datagram */
	REASM_R_JUMBO,           /* IPv6 jumbogram (payload length 0)           */
	REASM_R_HBH_NOT_FIRST,   /* IPv6 hop-by-hop header not first (RFC 8200) */
	REASM_R__MAX
};

/*
 * pkt = one IPv4 or IPv6 packet starting at the IP header.  Returns
 * REASM_HELD (kept, waiting for more), REASM_COMPLETE (out->data/len hold
 * the datagram -- out->buf unless borrowed, see REASM_OUT_BORROW: also for
 * a non-fragment, copied as is, and for an IPv6 atomic fragment, without
 * its fragment header) or REASM_DROPPED (reason in out->reason, counted).
 * pkt is never kept: the caller may reuse it.  Each payload byte is copied
 * once into the engine, at its final place; completion copies the
 * datagram once more into out->buf unless it is borrowed.
 */
int reasm_feed(struct reasm *r, const uint8_t *pkt, size_t len, uint64_t now_ms,
	       uint64_t ctx, uint32_t tag, struct reasm_out *out);

/*
 * The in-order fast path (feed_fast in reasm.c) on (default) or off.  Off,
 * every packet takes the general path; results are identical either way
 * (tests/fuzz/fuzz_reasm_diff.c holds the two to that).
 */
void reasm_set_fast_path(struct reasm *r, bool on);

/* Discards datagrams older than timeout_ms; returns how many. */
unsigned reasm_expire(struct reasm *r, uint64_t now_ms);

struct reasm_info {
	uint8_t family;          /* 4 or 6 */
	uint8_t proto;           /* IPv4 protocol; IPv6: next header of the
				  * first fragment's fragment header, 0 if not yet */
	uint8_t src[16], dst[16];/* IPv4: first 4 bytes */
	uint32_t id;
	uint64_t ctx;
	unsigned frags;
	size_t bytes;            /* payload bytes received */
	uint64_t age_ms;
	bool have_first, have_last;
};

/* Oldest first. cb must not call back into r. */
void reasm_walk(struct reasm *r, uint64_t now_ms,
		void (*cb)(const struct reasm_info *, void *), void *arg);

const char *reasm_reason_name(int reason);
/* The run-time limit (its `xdpsecctl limits set` name) that a drop reason
 * enforces, or NULL when the reason is not a limit. */
const char *reasm_reason_limit(int reason);

/* Appends group "reasm" counters (xs_counter_add); returns the new n. */
size_t reasm_counters(const struct reasm *r, struct xs_counter *out, size_t n, size_t max);
void reasm_reset_counters(struct reasm *r);

/* Bytes of fragment data held (pages in use * REASM_PAGE_SIZE). */
size_t reasm_mem_used(const struct reasm *r);
/* Reassemblies in progress. */
unsigned reasm_in_progress(const struct reasm *r);

/*
 * Full consistency check of the internal structures (hash chains, lists,
 * page and memory accounting, fragment order, limits).  0 if sound, else a
 * negative line number of the failed check.  O(everything): tests/fuzz only.
 */
int reasm_selfcheck(const struct reasm *r);

#endif
