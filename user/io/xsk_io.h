/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xsk_io.h - AF_XDP I/O of one worker: one UMEM shared by an RX socket on
 * the feedback pair's far end (queue q) and a TX socket on its near end
 * (queue q), so a frame received, decrypted in place and sent back in is
 * never copied.  Frames above one UMEM chunk travel as multi-buffer
 * (XDP_USE_SG) descriptor chains.
 *
 * Single-threaded: one xsk_port per worker thread.
 */
#ifndef XDPSEC_XSK_IO_H
#define XDPSEC_XSK_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XSKIO_FRAME_SIZE   4096u
#define XSKIO_NUM_FRAMES   4096u
#define XSKIO_RING_SIZE    2048u
#define XSKIO_BATCH        64u
#define XSKIO_HEADROOM     256u    /* XDP_PACKET_HEADROOM: data starts here */
#define XSKIO_MAX_PKT      (70u * 1024u)
/* Frames the worker keeps when the TX ring is full (backpressure on the
 * feedback path: work done on a datagram is not thrown away for want of
 * a TX slot; the pipeline sheds fresh input meanwhile). */
#define XSKIO_HOLD_MAX     512u
/* Without XDP_USE_SG a frame must fit one chunk on the way back in, and
 * veth hands XDP at most this much linear data (a page less the XDP
 * headroom and skb_shared_info): larger frames are refused, counted. */
#define XSKIO_MAX_PKT_NOSG 3520u

struct xsk_port;

struct xsk_port_stats {
	uint64_t rx_frames, rx_bytes, rx_multibuf, rx_bad_chain;
	uint64_t tx_frames, tx_bytes, tx_multibuf, tx_no_frame, tx_ring_full;
	uint64_t tx_busy;          /* sendto() EAGAIN: device pushed back, retried */
	uint64_t tx_dev_drop;      /* sendto() EBUSY: the device dropped a frame */
	uint64_t fill_starved;
	uint64_t tx_too_big;       /* refused: longer than the max frame */
	uint64_t tx_held;          /* found the TX ring full: held, sent later */
};

/* The kernel's own counters of both sockets (XDP_STATISTICS): frames it
 * dropped before the daemon could see them, descriptors it refused. */
struct xsk_port_kstats {
	uint64_t rx_dropped;       /* e.g. a frame longer than the chunks offered */
	uint64_t rx_ring_full, rx_fill_ring_empty_descs;
	uint64_t rx_invalid_descs, tx_invalid_descs;
};

/* Creates the UMEM and both sockets.  bind_sg: request XDP_USE_SG.
 * Returns NULL with a message in err. */
struct xsk_port *xsk_port_open(int rx_ifindex, int tx_ifindex, int queue,
			       bool bind_sg, char *err, size_t errlen);
void xsk_port_close(struct xsk_port *p);
/* Longest frame (Ethernet header included) the port may transmit: the
 * feedback pair's MTU + 14.  A longer one is refused with -EMSGSIZE and
 * counted in tx_too_big: veth would drop it silently after a "successful"
 * TX completion.  Capped at XSKIO_MAX_PKT (XSKIO_MAX_PKT_NOSG without
 * multi-buffer), which is also the default. */
void xsk_port_set_max_frame(struct xsk_port *p, uint32_t len);
uint32_t xsk_port_max_frame(const struct xsk_port *p);
/* 0, or -errno when the kernel would not say. */
int xsk_port_kstats(const struct xsk_port *p, struct xsk_port_kstats *ks);
int xsk_port_rx_fd(const struct xsk_port *p);

/* A received packet.  When it fitted one chunk, `data` points into the
 * UMEM (in-place processing allowed; `headroom` bytes before data are ours
 * to write) and `addr` identifies the chunk.  A
 * multi-buffer packet is gathered into the port's scratch buffer and
 * addr == XSK_NO_ADDR. */
#define XSK_NO_ADDR UINT64_MAX
struct xsk_pkt {
	uint8_t *data;
	uint32_t len;
	uint32_t headroom;
	uint64_t addr;
};

/* Waits up to timeout_ms for packets, returns how many were put in pkts
 * (at most max).  Every returned packet must be handed back with
 * xsk_port_release() or transmitted with xsk_port_tx_inplace(). */
int xsk_port_rx(struct xsk_port *p, struct xsk_pkt *pkts, int max, int timeout_ms);
void xsk_port_release(struct xsk_port *p, const struct xsk_pkt *pkt);

/* Queue a frame whose bytes [start, start+len) lie inside the chunk of a
 * received packet (pkt->addr != XSK_NO_ADDR): sent without a copy; the
 * chunk returns to the pool on completion. */
int xsk_port_tx_inplace(struct xsk_port *p, const struct xsk_pkt *pkt,
			const uint8_t *start, uint32_t len);
/* Queue a copy of an arbitrary frame (up to the max frame), split into a
 * descriptor chain when larger than a chunk. */
int xsk_port_tx_copy(struct xsk_port *p, const uint8_t *frame, uint32_t len);
/* Same, for a frame given as a header and a body (no staging copy). */
int xsk_port_tx_copy2(struct xsk_port *p, const uint8_t *hdr, uint32_t hlen,
		      const uint8_t *body, uint32_t blen);
/* Send held frames, kick the TX ring (one syscall per batch), reap
 * completions, refill RX. */
void xsk_port_flush(struct xsk_port *p);
/* Frames held for want of a TX slot (see XSKIO_HOLD_MAX): while there are
 * any, the worker is behind on what it already invested in. */
uint32_t xsk_port_tx_backlog(const struct xsk_port *p);
/* Frames the kernel has put in the RX ring that the worker has not read. */
uint32_t xsk_port_rx_backlog(const struct xsk_port *p);
/* Chunks kept in the fill ring (offered to the kernel for RX): all it
 * holds.  A shallower ring would hand the kernel chunks still in the cache
 * (the worker frees last-in first-out, the kernel takes the fill ring in
 * order; measured: about -0.3 us a datagram at 512, docs/benchmarks.md),
 * but the fill ring is what absorbs a burst while the worker sleeps: at
 * 512, 20-180 frames of tests/e2e/test_steering.py's back-to-back burst of
 * 1200 were dropped for want of a chunk.  Overridable for measurements. */
#ifndef XSKIO_FILL_DEPTH
#define XSKIO_FILL_DEPTH XSKIO_RING_SIZE
#endif

/* Scratch buffer of XSKIO_MAX_PKT bytes for the worker's own use. */
uint8_t *xsk_port_scratch(struct xsk_port *p);
const struct xsk_port_stats *xsk_port_stats(const struct xsk_port *p);
void xsk_port_depths(const struct xsk_port *p, unsigned *free_frames,
		     unsigned *tx_pending);

#endif
