// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xsk_io.c - AF_XDP I/O of one worker (see xsk_io.h).
 *
 * One UMEM, two sockets: RX on the far end's queue (fill + rx rings), TX on
 * the near end's queue (tx + its own completion ring; XDP_SHARED_UMEM with
 * another device needs a fill/completion pair per device).  Chunks move
 * between a free stack, the fill ring, the rx ring, the worker and the tx
 * ring; each is owned by exactly one of them at a time, which makes leaks
 * visible in xsk_port_depths().
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include "xdpsec_common.h"
#include "xsk_io.h"

#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif


struct xsk_port {
	void *area;
	size_t area_size;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill;      /* RX socket's fill ring (the UMEM's) */
	struct xsk_ring_cons comp;      /* unused: the RX socket never sends  */
	struct xsk_ring_cons rx;
	struct xsk_socket *rx_xsk;
	struct xsk_ring_prod fill2;     /* TX socket's (kept empty)           */
	struct xsk_ring_cons comp2;     /* TX completions                     */
	struct xsk_ring_prod tx;
	struct xsk_socket *tx_xsk;
	bool sg;
	uint32_t max_frame;             /* see xsk_port_set_max_frame()       */

	uint64_t *free_stack;
	uint32_t n_free;
	uint32_t tx_outstanding;

	/* Frames ready in their chunk that found the TX ring full: sent
	 * first at the next flush (FIFO), never dropped for want of a slot
	 * while there is room here (see xsk_port_tx_backlog()). */
	struct { uint64_t addr; uint32_t len; } hold[XSKIO_HOLD_MAX];
	uint32_t hold_head, hold_n;

	uint8_t *gather;                /* multi-buffer RX reassembly         */
	uint8_t *scratch;               /* the worker's own big buffer        */
	struct xsk_port_stats st;
};

static inline uint64_t chunk_of(uint64_t addr)
{
	return addr & ~((uint64_t)XSKIO_FRAME_SIZE - 1);
}

static inline void put_chunk(struct xsk_port *p, uint64_t addr)
{
	if (p->n_free < XSKIO_NUM_FRAMES)
		p->free_stack[p->n_free++] = chunk_of(addr);
}

static inline uint64_t get_chunk(struct xsk_port *p)
{
	return p->n_free ? p->free_stack[--p->n_free] : XSK_NO_ADDR;
}

/* At most XSKIO_FILL_DEPTH chunks in the fill ring (why: xsk_io.h). */
#define XSKIO_FILL_TARGET XSKIO_FILL_DEPTH

static void refill(struct xsk_port *p)
{
	/* chunks the kernel has not taken yet (the producer is ours) */
	uint32_t queued = *p->fill.producer - __atomic_load_n(p->fill.consumer, __ATOMIC_ACQUIRE);
	uint32_t idx, n = queued < XSKIO_FILL_TARGET ? XSKIO_FILL_TARGET - queued : 0;

	if (n > p->n_free)
		n = p->n_free;
	if (!n) {
		if (!p->n_free)
			p->st.fill_starved++;
		return;
	}
	n = xsk_ring_prod__reserve(&p->fill, n, &idx);
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&p->fill, idx + i) = get_chunk(p);
	xsk_ring_prod__submit(&p->fill, n);
}

static void reap_completions(struct xsk_port *p)
{
	uint32_t idx, n = xsk_ring_cons__peek(&p->comp2, XSKIO_RING_SIZE, &idx);

	for (uint32_t i = 0; i < n; i++)
		put_chunk(p, *xsk_ring_cons__comp_addr(&p->comp2, idx + i));
	if (n)
		xsk_ring_cons__release(&p->comp2, n);
	p->tx_outstanding -= n < p->tx_outstanding ? n : p->tx_outstanding;
}

/* Descriptors submitted to the TX ring that the kernel has not taken yet. */
static uint32_t tx_queued(struct xsk_port *p)
{
	return XSKIO_RING_SIZE - xsk_prod_nb_free(&p->tx, XSKIO_RING_SIZE);
}

/* Copy mode transmits inside sendto(), at most 32 frames a call (the
 * kernel's TX_BATCH_SIZE), answering EAGAIN while more are queued or the
 * device pushed back (NETDEV_TX_BUSY: the descriptor stays queued).  One
 * call per batch would leave the rest in the ring until the next wake-up
 * (up to the RX poll timeout): call until the ring is drained.  EBUSY
 * means the device dropped a frame (NET_XMIT_DROP, e.g. the far end's
 * ring was full): counted, and the loop goes on with the rest.  The
 * bound keeps a stuck device from stalling the worker; what is left is
 * sent at the next kick. */
#define KICK_MAX_CALLS  (XSKIO_RING_SIZE / 32u * 2u)

static void kick_tx(struct xsk_port *p)
{
	if (!p->tx_outstanding || !xsk_ring_prod__needs_wakeup(&p->tx))
		return;
	for (uint32_t i = 0; i < KICK_MAX_CALLS; i++) {
		if (sendto(xsk_socket__fd(p->tx_xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			if (!tx_queued(p))
				return;
			continue;
		}
		if (errno == EBUSY)
			p->st.tx_dev_drop++;
		else if (errno == EAGAIN)
			p->st.tx_busy++;
		else if (errno != EINTR)
			return;         /* ENOBUFS, ENETDOWN...: retried next kick */
		if (!tx_queued(p))
			return;
	}
}

struct xsk_port *xsk_port_open(int rx_ifindex, int tx_ifindex, int queue,
			       bool bind_sg, char *err, size_t errlen)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XSKIO_RING_SIZE,
		.comp_size = XSKIO_RING_SIZE,
		.frame_size = XSKIO_FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = XSKIO_RING_SIZE,
		.tx_size = XSKIO_RING_SIZE,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	char rx_name[IF_NAMESIZE], tx_name[IF_NAMESIZE];
	struct xsk_port *p;
	int ret;

	if (!if_indextoname(rx_ifindex, rx_name) || !if_indextoname(tx_ifindex, tx_name)) {
		snprintf(err, errlen, "xsk: no interface with index %d or %d", rx_ifindex, tx_ifindex);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->sg = bind_sg;
	p->max_frame = bind_sg ? XSKIO_MAX_PKT : XSKIO_MAX_PKT_NOSG;
	if (bind_sg)
		scfg.bind_flags |= XDP_USE_SG;
	p->area_size = (size_t)XSKIO_NUM_FRAMES * XSKIO_FRAME_SIZE;
	p->area = mmap(NULL, p->area_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#ifndef XSKIO_NO_THP
	/* 2 MiB pages where transparent huge pages are on (madvise mode):
	 * the kernel's copy into a chunk and the daemon's reads of it take
	 * no TLB miss per 4 KiB chunk.  Advice only: ignored without THP. */
	if (p->area != MAP_FAILED)
		madvise(p->area, p->area_size, MADV_HUGEPAGE);
#endif
	p->free_stack = calloc(XSKIO_NUM_FRAMES, sizeof(uint64_t));
	p->gather = malloc(XSKIO_MAX_PKT);
	p->scratch = malloc(XSKIO_MAX_PKT + XSKIO_HEADROOM);
	if (p->area == MAP_FAILED || !p->free_stack || !p->gather || !p->scratch) {
		if (p->area == MAP_FAILED)
			p->area = NULL;
		xsk_port_close(p);
		goto nomem;
	}
	for (uint32_t i = 0; i < XSKIO_NUM_FRAMES; i++)
		put_chunk(p, (uint64_t)i * XSKIO_FRAME_SIZE);

	ret = xsk_umem__create(&p->umem, p->area, p->area_size, &p->fill, &p->comp, &ucfg);
	if (ret) {
		snprintf(err, errlen, "xsk: umem create: %s", strerror(-ret));
		goto fail;
	}
	ret = xsk_socket__create(&p->rx_xsk, rx_name, queue, p->umem, &p->rx, NULL, &scfg);
	if (ret) {
		snprintf(err, errlen, "xsk: rx socket on %s queue %d: %s", rx_name, queue, strerror(-ret));
		goto fail;
	}
	ret = xsk_socket__create_shared(&p->tx_xsk, tx_name, queue, p->umem, NULL, &p->tx,
					&p->fill2, &p->comp2, &scfg);
	if (ret) {
		snprintf(err, errlen, "xsk: tx socket on %s queue %d: %s", tx_name, queue, strerror(-ret));
		goto fail;
	}
	refill(p);
	return p;
fail:
	xsk_port_close(p);
	return NULL;
nomem:
	snprintf(err, errlen, "xsk: out of memory");
	return NULL;
}

void xsk_port_close(struct xsk_port *p)
{
	if (!p)
		return;
	if (p->tx_xsk)
		xsk_socket__delete(p->tx_xsk);
	if (p->rx_xsk)
		xsk_socket__delete(p->rx_xsk);
	if (p->umem)
		xsk_umem__delete(p->umem);
	if (p->area)
		munmap(p->area, p->area_size);
	free(p->free_stack);
	free(p->gather);
	free(p->scratch);
	free(p);
}

void xsk_port_set_max_frame(struct xsk_port *p, uint32_t len)
{
	uint32_t cap = p->sg ? XSKIO_MAX_PKT : XSKIO_MAX_PKT_NOSG;

	p->max_frame = len < cap ? len : cap;
}

uint32_t xsk_port_max_frame(const struct xsk_port *p)
{
	return p->max_frame;
}

int xsk_port_kstats(const struct xsk_port *p, struct xsk_port_kstats *ks)
{
	struct xdp_statistics rx = { 0 }, tx = { 0 };
	socklen_t l = sizeof(rx);

	memset(ks, 0, sizeof(*ks));
	if (getsockopt(xsk_socket__fd(p->rx_xsk), SOL_XDP, XDP_STATISTICS, &rx, &l))
		return -errno;
	l = sizeof(tx);
	if (getsockopt(xsk_socket__fd(p->tx_xsk), SOL_XDP, XDP_STATISTICS, &tx, &l))
		return -errno;
	ks->rx_dropped = rx.rx_dropped;
	ks->rx_ring_full = rx.rx_ring_full;
	ks->rx_fill_ring_empty_descs = rx.rx_fill_ring_empty_descs;
	ks->rx_invalid_descs = rx.rx_invalid_descs;
	ks->tx_invalid_descs = tx.tx_invalid_descs;
	return 0;
}

int xsk_port_rx_fd(const struct xsk_port *p)
{
	return xsk_socket__fd(p->rx_xsk);
}

uint8_t *xsk_port_scratch(struct xsk_port *p)
{
	return p->scratch + XSKIO_HEADROOM;
}

const struct xsk_port_stats *xsk_port_stats(const struct xsk_port *p)
{
	return &p->st;
}

void xsk_port_depths(const struct xsk_port *p, unsigned *free_frames, unsigned *tx_pending)
{
	*free_frames = p->n_free;
	*tx_pending = p->tx_outstanding;
}

int xsk_port_rx(struct xsk_port *p, struct xsk_pkt *pkts, int max, int timeout_ms)
{
	uint32_t idx, n, i, used = 0, chain_start = 0, glen = 0;
	bool in_chain = false, gathered = false;
	int out = 0;

	n = xsk_ring_cons__peek(&p->rx, (uint32_t)max, &idx);
	if (!n) {
		struct pollfd pfd = { .fd = xsk_socket__fd(p->rx_xsk), .events = POLLIN };

		if (timeout_ms > 0 && poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		n = xsk_ring_cons__peek(&p->rx, (uint32_t)max, &idx);
		if (!n)
			return 0;
	}

	for (i = 0; i < n && out < max; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&p->rx, idx + i);
		uint8_t *data = xsk_umem__get_data(p->area, d->addr);
		bool more = d->options & XDP_PKT_CONTD;

		if (!in_chain && !more) {
			struct xsk_pkt *k = &pkts[out++];

			k->data = data;
			k->len = d->len;
			k->addr = d->addr;
			k->headroom = (uint32_t)(d->addr - chunk_of(d->addr));
			p->st.rx_frames++;
			p->st.rx_bytes += d->len;
			used = i + 1;
			continue;
		}
		/* Multi-buffer: gather into p->gather.  Only one gathered packet
		 * per call, since they share the buffer: the next chain waits in
		 * the ring for the next call (also when single-buffer packets
		 * came in between: checking only the packet before it let a
		 * second chain overwrite the first). */
		if (!in_chain) {
			if (gathered)
				break;
			in_chain = true;
			chain_start = i;
			glen = 0;
		}
		if (glen + d->len <= XSKIO_MAX_PKT)
			memcpy(p->gather + glen, data, d->len);
		glen += d->len;
		if (!more) {
			for (uint32_t j = chain_start; j <= i; j++)
				put_chunk(p, xsk_ring_cons__rx_desc(&p->rx, idx + j)->addr);
			used = i + 1;
			in_chain = false;
			if (glen > XSKIO_MAX_PKT) {
				p->st.rx_bad_chain++;
				continue;
			}
			struct xsk_pkt *k = &pkts[out++];

			k->data = p->gather;
			k->len = glen;
			k->addr = XSK_NO_ADDR;
			k->headroom = 0;
			gathered = true;
			p->st.rx_frames++;
			p->st.rx_multibuf++;
			p->st.rx_bytes += glen;
		}
	}
	/* An unfinished chain (or packets beyond `max`) stay in the ring. */
	if (used < n)
		xsk_ring_cons__cancel(&p->rx, n - used);
	if (used)
		xsk_ring_cons__release(&p->rx, used);
	return out;
}

void xsk_port_release(struct xsk_port *p, const struct xsk_pkt *pkt)
{
	if (pkt->addr != XSK_NO_ADDR)
		put_chunk(p, pkt->addr);
}

static void tx_submit1(struct xsk_port *p, uint32_t idx, uint64_t addr, uint32_t len)
{
	struct xdp_desc *d = xsk_ring_prod__tx_desc(&p->tx, idx);

	d->addr = addr;
	d->len = len;
	d->options = 0;
	xsk_ring_prod__submit(&p->tx, 1);
	p->tx_outstanding++;
	p->st.tx_frames++;
	p->st.tx_bytes += len;
}

/* Keep a one-chunk frame for the next flush; false when the hold is full
 * (the caller drops it, counted in tx_ring_full as before). */
static bool hold_push(struct xsk_port *p, uint64_t addr, uint32_t len)
{
	uint32_t i;

	if (p->hold_n == XSKIO_HOLD_MAX)
		return false;
	i = (p->hold_head + p->hold_n++) % XSKIO_HOLD_MAX;
	p->hold[i].addr = addr;
	p->hold[i].len = len;
	p->st.tx_held++;
	return true;
}

/* Held frames into the TX ring, oldest first, as far as it has room. */
static void hold_drain(struct xsk_port *p)
{
	uint32_t idx;

	while (p->hold_n && xsk_ring_prod__reserve(&p->tx, 1, &idx) == 1) {
		tx_submit1(p, idx, p->hold[p->hold_head].addr, p->hold[p->hold_head].len);
		p->hold_head = (p->hold_head + 1) % XSKIO_HOLD_MAX;
		p->hold_n--;
	}
}

/* Reserve `n` tx descriptors, reaping completions and kicking once if the
 * ring is full. */
static bool tx_reserve(struct xsk_port *p, uint32_t n, uint32_t *idx)
{
	for (int tries = 0; tries < 2; tries++) {
		if (xsk_ring_prod__reserve(&p->tx, n, idx) == n)
			return true;
		kick_tx(p);
		reap_completions(p);
	}
	return false;           /* the caller holds or drops (and counts) it */
}

int xsk_port_tx_inplace(struct xsk_port *p, const struct xsk_pkt *pkt,
			const uint8_t *start, uint32_t len)
{
	uint64_t base = chunk_of(pkt->addr);
	uint64_t off = (uint64_t)(start - (uint8_t *)p->area);
	uint32_t idx;

	if (pkt->addr == XSK_NO_ADDR || off < base ||
	    off + len > base + XSKIO_FRAME_SIZE)
		return -EINVAL;
	if (len > p->max_frame) {
		p->st.tx_too_big++;
		put_chunk(p, pkt->addr);
		return -EMSGSIZE;
	}
	if (p->hold_n || !tx_reserve(p, 1, &idx)) {
		/* behind frames already held (order), or no slot */
		if (hold_push(p, off, len))
			return 0;
		p->st.tx_ring_full++;
		put_chunk(p, pkt->addr);
		return -ENOBUFS;
	}
	tx_submit1(p, idx, off, len);
	return 0;
}

int xsk_port_tx_copy2(struct xsk_port *p, const uint8_t *hdr, uint32_t hlen,
		      const uint8_t *body, uint32_t blen)
{
	uint32_t len = hlen + blen, idx;
	uint32_t nchunks = (len + XSKIO_FRAME_SIZE - 1) / XSKIO_FRAME_SIZE;
	bool held = false;

	if (!len || hlen > XSKIO_FRAME_SIZE)
		return -EINVAL;
	if (len > p->max_frame || (nchunks > 1 && !p->sg)) {
		p->st.tx_too_big++;
		return -EMSGSIZE;
	}
	if (p->n_free < nchunks) {
		reap_completions(p);
		if (p->n_free < nchunks) {
			p->st.tx_no_frame++;
			return -ENOBUFS;
		}
	}
	if (p->hold_n || !tx_reserve(p, nchunks, &idx)) {
		/* a one-chunk frame waits in the hold (a chain is dropped:
		 * only frames above 4 KiB, rare) */
		if (nchunks > 1 || p->hold_n == XSKIO_HOLD_MAX) {
			p->st.tx_ring_full++;
			return -ENOBUFS;
		}
		held = true;
	}
	for (uint32_t c = 0, off = 0; c < nchunks; c++) {
		uint32_t clen = len - off < XSKIO_FRAME_SIZE ? len - off : XSKIO_FRAME_SIZE;
		uint64_t addr = get_chunk(p);
		uint8_t *dst = xsk_umem__get_data(p->area, addr);

		/* bytes [off, off + clen) of hdr || body */
		for (uint32_t done = 0; done < clen;) {
			uint32_t pos = off + done, n;

			if (pos < hlen) {
				n = hlen - pos < clen - done ? hlen - pos : clen - done;
				memcpy(dst + done, hdr + pos, n);
			} else {
				n = clen - done;
				memcpy(dst + done, body + (pos - hlen), n);
			}
			done += n;
		}
		if (held) {
			hold_push(p, addr, clen);
			return 0;
		}
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&p->tx, idx + c);

		d->addr = addr;
		d->len = clen;
		d->options = c + 1 < nchunks ? XDP_PKT_CONTD : 0;
		off += clen;
	}
	xsk_ring_prod__submit(&p->tx, nchunks);
	p->tx_outstanding += nchunks;
	p->st.tx_frames++;
	p->st.tx_bytes += len;
	if (nchunks > 1)
		p->st.tx_multibuf++;
	return 0;
}

int xsk_port_tx_copy(struct xsk_port *p, const uint8_t *frame, uint32_t len)
{
	return xsk_port_tx_copy2(p, NULL, 0, frame, len);
}

void xsk_port_flush(struct xsk_port *p)
{
	reap_completions(p);
	hold_drain(p);
	kick_tx(p);
	reap_completions(p);
	hold_drain(p);          /* what the kick made room for: next flush */
	refill(p);
}

uint32_t xsk_port_tx_backlog(const struct xsk_port *p)
{
	return p->hold_n;
}

uint32_t xsk_port_rx_backlog(const struct xsk_port *p)
{
	return __atomic_load_n(p->rx.producer, __ATOMIC_ACQUIRE) - *p->rx.consumer;
}
