/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * esp.h - inbound ESP processing (RFC 4303, 4304 ESN, 3948 UDP encap,
 * 4106 GCM, 7634 ChaCha20-Poly1305, 3602/2404/4868 CBC + HMAC).  No I/O:
 * the daemon, tests, fuzzer and benchmark drive the same function.
 */
#ifndef XDPSEC_ESP_H
#define XDPSEC_ESP_H

#include <stddef.h>
#include <stdint.h>
#include "sa_table.h"
#include "counters.h"

/* What the plaintext is: a whole IP packet, an IP fragment (fragmented
 * before encryption), or another ESP packet (nested layer, incl. ESP-in-UDP). */
enum esp_kind { ESP_OUT_WHOLE = 0, ESP_OUT_FRAGMENT, ESP_OUT_ESP };

enum esp_drop {
	ESP_DROP_NONE = 0,
	ESP_DROP_TRUNC,          /* IP/UDP/ESP header, IV, ICV or trailer cut short */
	ESP_DROP_NOT_ESP,        /* not proto 50 nor UDP-encapsulated ESP        */
	ESP_DROP_NO_SA,          /* no SA for (dst, SPI)                         */
	ESP_DROP_REPLAY,         /* replayed / left of the window / ESN unresolvable */
	ESP_DROP_AUTH,           /* ICV did not verify                           */
	ESP_DROP_PAD,            /* padding bytes not 1,2,3.. or pad length too big */
	ESP_DROP_TFC,            /* next header 59: dummy packet (authentic)     */
	ESP_DROP_BAD_NEXT_HDR,   /* next header does not fit the SA's mode       */
	ESP_DROP_BAD_INNER,      /* tunnel mode: inner packet malformed          */
	ESP_DROP_NOMEM,          /* crypto library error                         */
	ESP_DROP_BAD_IP,         /* outer IP header malformed                    */
	ESP_DROP_ENCAP,          /* UDP encapsulation does not match the SA      */
	ESP_DROP_UNSAVED,        /* beyond the replay edge saved so far (replay_marks.h) */
	ESP_DROP_BAD_CSUM,       /* outer IPv4 header checksum                   */
	ESP_DROP_EXPIRED,        /* the SA is past a hard lifetime limit         */
	ESP_DROP__MAX
};

/*
 * Reordering inside one SA (docs/architecture.md), counted per context
 * after the drop reasons (group "esp_reorder"): how far below the window's
 * right edge each accepted packet was when it was decrypted (in_order: above
 * it; below_A_B: A..B sequence numbers below), and the arrival records
 * (replay.h): made when a reassembled datagram completed, evicted when an
 * SA had REPLAY_ARRIVED_MAX already, refused when the window had seen the
 * number at arrival, used when a datagram was taken left of the window.
 */
enum esp_ro {
	ESP_RO_IN_ORDER,
	ESP_RO_BELOW_1,
	ESP_RO_BELOW_2_3,
	ESP_RO_BELOW_4_7,
	ESP_RO_BELOW_8_15,
	ESP_RO_BELOW_16_31,
	ESP_RO_BELOW_32_63,
	ESP_RO_BELOW_64_127,
	ESP_RO_BELOW_128_255,
	ESP_RO_BELOW_256_UP,
	ESP_RO_NOTED,
	ESP_RO_EVICTED,
	ESP_RO_SEEN,
	ESP_RO_LATE_ACCEPTED,
	ESP_RO__MAX
};
#define ESP_CNT_RO   ESP_DROP__MAX                 /* first reordering slot */
#define ESP_CNT__MAX (ESP_DROP__MAX + ESP_RO__MAX)

struct esp_result {
	uint8_t *data;           /* plaintext IP packet, inside the input buffer */
	size_t len;
	enum esp_kind kind;
	uint32_t sa_index;       /* SA_INDEX_NONE when no SA was found           */
	uint64_t seq;            /* full sequence number (ESN high bits inferred) */
	uint64_t replay_top;     /* SA's right edge after the update             */
	enum esp_drop drop;
};

struct esp_ctx;

/* One per worker thread: per-thread crypto state (IMB_MGR, EVP contexts)
 * and the thread's read-side registration with the SA table.  At most
 * ESP_MAX_CTX per table.  Free every ctx before sa_table_free. */
#define ESP_MAX_CTX 64
struct esp_ctx *esp_ctx_new(struct sa_table *t);
void esp_ctx_free(struct esp_ctx *c);

/* pkt: an IPv4 or IPv6 packet (IP header first, no Ethernet; IPv6
 * extension headers walked) whose payload is ESP (proto 50) or UDP carrying
 * ESP (RFC 3948, the SA's encap ports; the non-ESP marker is not ESP).
 * Decrypts IN PLACE; on 0, res->data/len point inside pkt's buffer at the
 * plaintext IP packet: transport mode = the outer IP header rebuilt around
 * the payload (protocol/next header, lengths, checksum; IPv4 fragment fields
 * kept, kind = ESP_OUT_FRAGMENT if they say fragment), tunnel mode = the
 * inner packet, checked well formed.  On <0, res->drop says why; the reason
 * is counted per SA and globally.  Nothing unauthenticated is ever returned.
 * res->replay_top is the SA's right edge after the update. */
int esp_input(struct esp_ctx *c, uint8_t *pkt, size_t len, struct esp_result *res);

/* Burst form of esp_input: pkts[i] (lens[i] bytes) gives res[i], exactly
 * what esp_input would give for it, for any n.  Cheaper per packet: one
 * read-side section (one full fence) per ESP_BURST_MAX packets instead of
 * one per packet, and the SA found for a packet is reused while the next
 * ones carry the same destination and SPI.  Packets are checked and
 * decrypted in array order, each SA's window is updated in array order.
 * One difference, for ipsec-mb CBC+HMAC SAs only, in calls of at least
 * CRYPTO_QUEUE_MIN packets: their packets are decrypted after the others'
 * (all together when there are CRYPTO_QUEUE_MIN of them, so that the
 * multi-buffer hash fills its lanes), so the replay pre-check and ESN
 * inference of such a packet see the window as it was before the call's
 * own packets of that SA; a duplicate inside one call is then decrypted
 * before the authoritative check under the SA's lock drops it (as when
 * two workers take the same packet).  Returns the number delivered
 * (res[i].drop == ESP_DROP_NONE). */
#define ESP_BURST_MAX 64
unsigned esp_input_burst(struct esp_ctx *c, uint8_t *const pkts[], const size_t lens[],
			 unsigned n, struct esp_result res[]);

const char *esp_drop_name(enum esp_drop d);

/* A reassembled datagram about to go back to the ESP engine through the
 * feedback pair: if it is ESP for a known SA whose window would take its
 * sequence number now, record it (replay_arrived.h), so that the
 * engine still takes it when whole packets that arrived after it were
 * decrypted first.  Reads pkt only.  Call in wire order with the SA's
 * whole packets (pipeline.c: when the reassembly completes). */
void esp_note_arrival(struct esp_ctx *c, const uint8_t *pkt, size_t len);

/* Global counters (group "esp"): every drop reason plus delivered packets,
 * summed over all contexts of the table.  Returns the new n. */
size_t esp_counters(struct sa_table *t, struct xs_counter *out, size_t n, size_t max);
/* Zeroes what esp_counters reports (`stats --reset`). */
void esp_reset_counters(struct sa_table *t);

#endif
