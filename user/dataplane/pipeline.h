/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pipeline.h - what a worker does with one frame the decrypt program gave
 * it: the decision tree's loop body (docs/decision-tree.md).
 *
 *   ESP fragment / decrypted inner fragment -> reassembly engine
 *       complete -> send back in (ciphertext re-enters the decrypt program:
 *                   the feedback path; plaintext goes to the stack)
 *   whole ESP -> ESP engine (in place)
 *       plaintext is ESP again  -> send back in (next layer)
 *       plaintext is a fragment -> send back in (reassembled next round)
 *       plaintext is whole      -> send back in tagged PLAINTEXT: the decrypt
 *                                  program passes it to the host stack
 *
 * Every frame the daemon produces leaves through AF_XDP TX on the near end,
 * so it goes through the decrypt program again.  The datagram's history is
 * carried in xdpsec_tag.path (XDPSEC_PATH_*) and counted per branch once,
 * when the plaintext is handed to the stack.
 */
#ifndef XDPSEC_PIPELINE_H
#define XDPSEC_PIPELINE_H

#include <stdint.h>
#include "esp.h"
#include "xdpsec_common.h"
#include "xsk_io.h"

struct xdpsecd;
struct esp_ctx;

#define PIPELINE_MAX_LAYERS 4   /* ESP layers removed before we call it a loop */

enum pipeline_branch {
	BRANCH_ESP = 0,          /* whole ESP, no fragmentation              */
	BRANCH_FRAG_BEFORE,      /* fragmented before encryption             */
	BRANCH_FRAG_AFTER,       /* fragmented after all encryption          */
	BRANCH_FRAG_BETWEEN,     /* fragmented between two ESP layers        */
	BRANCH_PLAIN_FRAG_STEERED, /* plain UDP fragments steered to us (NAT-T
				      fragment steering), reassembled here */
	BRANCH__MAX
};

struct pipeline_stats {
	uint64_t rx;                 /* frames from the decrypt program     */
	uint64_t bad_tag;            /* no/invalid frame tag: dropped        */
	uint64_t to_reasm, reasm_held, reasm_complete, reasm_dropped;
	uint64_t to_esp, esp_ok, esp_dropped;
	uint64_t nested;             /* plaintext was ESP again              */
	uint64_t too_deep;           /* more than PIPELINE_MAX_LAYERS layers */
	uint64_t spd_dropped;        /* refused by the inbound SPD (spd.h)   */
	uint64_t sent_back;          /* frames re-injected (any kind)        */
	uint64_t sent_ciphertext;    /* of which reassembled ciphertext      */
	uint64_t delivered;          /* plaintext handed to the stack        */
	uint64_t delivered_bytes;
	uint64_t tx_fail;            /* could not queue for TX: dropped      */
	uint64_t unexpected;         /* a class the daemon should not get    */
	/* Frames too long for the feedback pair (one run at the single-buffer
	 * size: a kernel without multi-buffer XDP or AF_XDP): */
	uint64_t oversize_decrypted; /* ciphertext decrypted here, not re-entered */
	uint64_t oversize_fragmented; /* plaintext sent back in fragments that fit */
	uint64_t oversize_dropped;   /* neither possible (an oversized fragment,
					IPv6 with per-fragment headers, no TX
					room): dropped                        */
	uint64_t oversize_frags;     /* fragments of oversize_fragmented (and of
					a datagram dropped half-way), also in
					sent_back (docs/counters.md)          */
	uint64_t shed_fresh;         /* fresh frames dropped unread: overload */
	uint64_t branch[BRANCH__MAX];
};

/* Whole ESP packets of one receive batch, decrypted together by
 * esp_input_burst (one SA-table read section, the SA reused while
 * destination and SPI repeat), in place in their own frames. */
#define PIPELINE_BATCH XSKIO_BATCH
_Static_assert(PIPELINE_BATCH <= ESP_BURST_MAX, "an ESP burst holds a receive batch");

struct pipeline_esp_batch {
	unsigned n;
	struct xsk_pkt *pkt[PIPELINE_BATCH];
	struct xdpsec_tag m[PIPELINE_BATCH];
	uint8_t *ip[PIPELINE_BATCH];
	size_t len[PIPELINE_BATCH];
	struct esp_result res[PIPELINE_BATCH];
};

struct pipeline_worker {
	struct xdpsecd *d;
	struct esp_ctx *esp;
	struct xsk_port *port;
	struct xdpsec_sa_state *sastate;   /* mmapped kernel replay state, or NULL */
	int natt_fd;                       /* xdpsec_natt: NAT-T peer pairs, or -1 */
	uint32_t frag_id;                  /* IPv6 ids of fragments we make (send_fragmented) */
	uint16_t natt_port;                /* the host's default ESP-in-UDP port  */
	uint8_t near_mac[6], far_mac[6];
	struct pipeline_stats st;
	struct pipeline_esp_batch esp_batch;
	bool shedding;                     /* see pipeline_handle_burst() */
};

/* One receive batch (at most PIPELINE_BATCH frames), in arrival order:
 * consecutive whole ESP packets are decrypted as one burst, which is
 * flushed before any frame of another class is handled. */
void pipeline_handle_burst(struct pipeline_worker *w, struct xsk_pkt *pkts, unsigned n);
void pipeline_handle(struct pipeline_worker *w, struct xsk_pkt *pkt);
const char *pipeline_branch_name(enum pipeline_branch b);

#endif
