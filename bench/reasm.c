// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench/reasm.c - throughput of user/reasm/reasm.c against DPDK's rte_ip_frag on
 * the same fragment stream, in the same process.  Not a test.
 *
 *   build/bench/reasm [seconds-per-case]        (default 0.5)
 *   REASM_BENCH_DPDK_BUCKETS=n                  (DPDK table buckets, a power
 *                                                of 2; default 4096 as in the
 *                                                ip_reassembly example)
 *
 * Stream: datagrams of N = 2, 8, 44 MTU-1500 fragments (IPv4 1480-byte,
 * IPv6 1448-byte fragment payloads), fed datagram after datagram, each
 * datagram's fragments in order or shuffled.  DPDK caps a datagram at
 * RTE_LIBRTE_IP_FRAG_MAX_FRAG (8) fragments, so it runs for N = 2 and 8.
 *
 * Four engines see the same stream:
 *   ours         reasm_feed with REASM_OUT_BORROW: the datagram is handed
 *                out contiguous, in the engine's memory (one copy per byte);
 *   ours-copy    reasm_feed without it: one more copy, into the caller's
 *                buffer (what a caller that keeps the datagram pays);
 *   dpdk         rte_ipv4/6_frag_reassemble_packet: the result is a chain
 *                of the original mbufs, payload never touched, NOT
 *                contiguous;
 *   dpdk+lin     the same, then rte_pktmbuf_read() of the whole chain into
 *                a buffer: a contiguous datagram, i.e. the same work as ours.
 *
 * Fairness: fragments are handled in batches of 256.  Before each batch,
 * untimed, the batch is written into the engine's receive buffers as a NIC
 * would (for us a 2 KiB-frame area like an AF_XDP UMEM; for DPDK freshly
 * allocated mbufs).  Only the reassembly calls (and dpdk+lin's read) are
 * timed; freeing DPDK's mbufs is not, as recycling our frames is not.
 * The machines this runs on are shared and noisy: each case runs rounds of
 * one pass over the stream per engine, engines interleaved (rotating who
 * goes first), and reports each engine's median round.  Every completed
 * datagram is counted and its length checked; a run where not every
 * datagram completes is flagged and the exit status is 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "reasm.h"
#include "../tests/unit/reasm_gen.h"

#define BATCH   256
#define FRAME   2048
#define STREAM_BYTES (8u << 20)   /* fragment bytes in one pass of the stream */
#define MAX_ROUNDS 2000

struct stream {
	unsigned n;                 /* fragments */
	unsigned dgrams;
	uint32_t dlen;              /* length of every reassembled datagram */
	uint8_t **pkt;
	uint16_t *len;
	uint64_t bytes;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void stream_build(struct stream *s, int family, unsigned nfrags, int shuffled, uint64_t *rs)
{
	size_t fsz = family == 4 ? 1480 : 1448;
	unsigned dg = STREAM_BYTES / (unsigned)(nfrags * fsz);
	struct rg_dgram d = { .buf = malloc(RG_MAX_PKT) };
	uint8_t *scratch = malloc(RG_MAX_PKT);

	memset(s, 0, sizeof(*s));
	s->dgrams = dg;
	s->dlen = (uint32_t)((family == 4 ? 20 : 40) + nfrags * fsz);
	s->pkt = calloc((size_t)dg * nfrags, sizeof(*s->pkt));
	s->len = calloc((size_t)dg * nfrags, sizeof(*s->len));
	for (unsigned i = 0; i < dg; i++) {
		unsigned idx[64];

		if (family == 4)
			rg_ipv4(&d, rs, 0xc6120001, 0xc6120002, (uint16_t)i, 50, nfrags * fsz, 0);
		else
			rg_ipv6(&d, rs, 1, 2, 50, nfrags * fsz, 0);
		for (unsigned j = 0; j < nfrags; j++)
			idx[j] = j;
		if (shuffled)
			rg_shuffle(rs, idx, nfrags);
		for (unsigned j = 0; j < nfrags; j++) {
			struct rg_frag f = { .pkt = scratch };
			uint32_t st = idx[j] * (uint32_t)fsz;

			rg_cut(&d, i, st, st + (uint32_t)fsz, idx[j] == nfrags - 1, &f);
			s->pkt[s->n] = malloc(f.len);
			memcpy(s->pkt[s->n], scratch, f.len);
			s->len[s->n] = (uint16_t)f.len;
			s->bytes += f.len;
			s->n++;
		}
	}
	free(d.buf);
	free(scratch);
}

static void stream_free(struct stream *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->pkt[i]);
	free(s->pkt);
	free(s->len);
}

enum { E_OURS, E_COPY, E_DPDK, E_DPDK_LIN, E__N };
static const char *const ename[E__N] = { "ours", "ours-copy", "dpdk", "dpdk+lin" };

struct engine {
	int on;
	struct reasm *r;
	struct rte_ip_frag_tbl *tbl;
	struct rte_ip_frag_death_row dr;
	uint64_t ms;
	unsigned long done, bad_len;
	double t[MAX_ROUNDS];
	unsigned rounds, passes;
};

static uint8_t frames[BATCH * FRAME];
static uint8_t outbuf[RG_MAX_PKT];
static uint8_t linbuf[RG_MAX_PKT];
static volatile uint8_t sink;

/* One pass of the stream through our engine; returns the timed seconds. */
static double pass_ours(struct engine *e, const struct stream *s, unsigned flags)
{
	struct reasm_out out = { .buf = outbuf, .cap = sizeof(outbuf), .flags = flags };
	double t = 0;

	for (unsigned b = 0; b < s->n; b += BATCH) {
		unsigned m = s->n - b < BATCH ? s->n - b : BATCH;
		unsigned long done = 0, lens = 0;
		double t0;

		for (unsigned i = 0; i < m; i++)   /* "DMA" into the frames */
			memcpy(frames + (size_t)i * FRAME, s->pkt[b + i], s->len[b + i]);
		t0 = now_s();
		for (unsigned i = 0; i < m; i++) {
			if (reasm_feed(e->r, frames + (size_t)i * FRAME, s->len[b + i],
				       e->ms, 0, 0, &out) == REASM_COMPLETE) {
				done++;
				lens += out.len;
				sink ^= out.data[out.len - 1];
			}
		}
		t += now_s() - t0;
		e->done += done;
		e->bad_len += lens != done * s->dlen;
	}
	e->ms++;
	return t;
}

static struct rte_mempool *pool;
static uint32_t dpdk_buckets = 4096;

static double pass_dpdk(struct engine *e, const struct stream *s, int family, int linearise)
{
	struct rte_mbuf *mb[BATCH], *done[BATCH];
	double t = 0;

	for (unsigned b = 0; b < s->n; b += BATCH) {
		unsigned m = s->n - b < BATCH ? s->n - b : BATCH, nd = 0;
		uint64_t tms;
		double t0;

		if (rte_pktmbuf_alloc_bulk(pool, mb, m)) {
			fprintf(stderr, "dpdk: mbuf pool exhausted\n");
			exit(2);
		}
		for (unsigned i = 0; i < m; i++) {
			char *p = rte_pktmbuf_append(mb[i], s->len[b + i]);

			memcpy(p, s->pkt[b + i], s->len[b + i]);
			mb[i]->l2_len = 0;
			mb[i]->l3_len = family == 4 ? (s->pkt[b + i][0] & 15) * 4
						    : sizeof(struct rte_ipv6_hdr) +
						      sizeof(struct rte_ipv6_fragment_ext);
		}
		tms = rte_rdtsc();
		t0 = now_s();
		for (unsigned i = 0; i < m; i++) {
			struct rte_mbuf *o;

			if (family == 4) {
				struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(mb[i], struct rte_ipv4_hdr *);

				o = rte_ipv4_frag_reassemble_packet(e->tbl, &e->dr, mb[i], tms, ip);
			} else {
				struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(mb[i], struct rte_ipv6_hdr *);
				struct rte_ipv6_fragment_ext *fh =
					rte_ipv6_frag_get_ipv6_fragment_header(ip);

				o = rte_ipv6_frag_reassemble_packet(e->tbl, &e->dr, mb[i], tms, ip, fh);
			}
			if (o) {
				if (linearise) {
					const uint8_t *p = rte_pktmbuf_read(o, 0, o->pkt_len, linbuf);

					sink ^= p[o->pkt_len - 1];
				}
				done[nd++] = o;
			}
		}
		t += now_s() - t0;
		e->done += nd;
		for (unsigned i = 0; i < nd; i++) {
			/* untimed sanity check: the whole datagram came back */
			e->bad_len += done[i]->pkt_len != s->dlen;
			rte_pktmbuf_free(done[i]);
		}
		rte_ip_frag_free_death_row(&e->dr, 0);
	}
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int dpdk_init(char *prog)
{
	/* -m: two 33 MiB fragment tables (dpdk, dpdk+lin) exceed the 64 MiB default */
	char *argv[] = { prog, "--no-huge", "--no-pci", "-l", "0", "--no-shconf", "-m", "256",
			 "--log-level=lib.*:error", NULL };
	int argc = sizeof(argv) / sizeof(argv[0]) - 1;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "dpdk: rte_eal_init failed: %s; reporting our figures only\n",
			rte_strerror(rte_errno));
		return -1;
	}
	pool = rte_pktmbuf_pool_create("reasm_bench", 4 * BATCH * 2, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (!pool) {
		fprintf(stderr, "dpdk: rte_pktmbuf_pool_create: %s; reporting our figures only\n",
			rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* Returns 0 if every engine completed every datagram with the right length. */
static int run_case(int fam, unsigned nfrags, int shuffled, double secs, int have_dpdk,
		    uint64_t *rs)
{
	struct stream s;
	struct engine e[E__N];
	double med[E__N] = { 0 }, t_end;
	unsigned round = 0;
	int bad = 0;

	stream_build(&s, fam, nfrags, shuffled, rs);
	memset(e, 0, sizeof(e));
	e[E_OURS].on = e[E_COPY].on = 1;
	e[E_DPDK].on = e[E_DPDK_LIN].on = have_dpdk && nfrags <= RTE_LIBRTE_IP_FRAG_MAX_FRAG;
	for (int k = 0; k < E__N; k++) {
		e[k].ms = 1;
		if (!e[k].on)
			continue;
		if (k == E_OURS || k == E_COPY) {
			e[k].r = reasm_new(NULL);
		} else {
			/* The ip_reassembly example's shape: 4096 buckets of 16 entries. */
			e[k].tbl = rte_ip_frag_table_create(dpdk_buckets, 16, dpdk_buckets * 16,
							    rte_get_tsc_hz() * 30, rte_socket_id());
			if (!e[k].tbl) {
				fprintf(stderr, "dpdk: rte_ip_frag_table_create: %s\n",
					rte_strerror(rte_errno));
				e[k].on = 0;
			}
		}
	}
	t_end = now_s() + secs * (e[E_DPDK].on ? 4 : 2);
	do {
		for (int j = 0; j < E__N; j++) {
			int k = (j + (int)round) % E__N;

			if (!e[k].on)
				continue;
			/* a warm-up pass, then the timed one: each engine is
			 * measured in its own steady state, not in the caches
			 * the previous engine left */
			for (int pass = 0; pass < 2; pass++) {
				switch (k) {
				case E_OURS: e[k].t[round] = pass_ours(&e[k], &s, REASM_OUT_BORROW); break;
				case E_COPY: e[k].t[round] = pass_ours(&e[k], &s, 0); break;
				case E_DPDK: e[k].t[round] = pass_dpdk(&e[k], &s, fam, 0); break;
				default: e[k].t[round] = pass_dpdk(&e[k], &s, fam, 1); break;
				}
				e[k].rounds += pass;
				e[k].passes++;
			}
		}
		round++;
	} while (round < MAX_ROUNDS && (round < 5 || now_s() < t_end));

	for (int k = 0; k < E__N; k++) {
		if (!e[k].on)
			continue;
		med[k] = median(e[k].t, e[k].rounds);
		if (e[k].done != (unsigned long)e[k].passes * s.dgrams || e[k].bad_len ||
		    (e[k].r && reasm_in_progress(e[k].r))) {
			printf("  %s: %lu of %lu datagrams completed, %lu batches with wrong lengths!\n",
			       ename[k], e[k].done, (unsigned long)e[k].passes * s.dgrams, e[k].bad_len);
			bad = 1;
		}
		if (e[k].r)
			reasm_free(e[k].r);
		if (e[k].tbl)
			rte_ip_frag_table_destroy(e[k].tbl);
	}
#define FPS(k) (s.n / med[k])
	printf("IPv%d %5u %-8s %4u | %11.2fM %7.1f | %10.2fM |", fam, nfrags,
	       shuffled ? "shuffled" : "in-order", round, FPS(E_OURS) / 1e6,
	       s.bytes / med[E_OURS] * 8 / 1e9, FPS(E_COPY) / 1e6);
	if (e[E_DPDK].on)
		printf(" %10.2fM %5.2fx | %10.2fM %5.2fx\n", FPS(E_DPDK) / 1e6,
		       FPS(E_OURS) / FPS(E_DPDK), FPS(E_DPDK_LIN) / 1e6,
		       FPS(E_OURS) / FPS(E_DPDK_LIN));
	else
		printf(" %11s %6s | %11s %6s\n", "-", "-", "-", "-");
#undef FPS
	stream_free(&s);
	return bad;
}

int main(int argc, char **argv)
{
	static const unsigned nf[] = { 2, 8, 44 };
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	const char *nb = getenv("REASM_BENCH_DPDK_BUCKETS");
	int have_dpdk = dpdk_init(argv[0]) == 0;
	uint64_t rs = 0x5eed;
	int bad = 0;

	if (nb && atoi(nb) > 0)
		dpdk_buckets = (uint32_t)atoi(nb);

	printf("reasm bench: ~%.2fs per engine and case, batches of %d, stream %u MiB per pass, "
	       "DPDK table %u x 16%s\n", secs, BATCH, STREAM_BYTES >> 20, dpdk_buckets,
	       have_dpdk ? "" : " (no DPDK)");
	printf("frag/s: median of interleaved rounds (one pass each); Gb/s: fragment bytes fed;\n"
	       "ratio: ours / dpdk (chain, not contiguous), ours / dpdk+lin (contiguous: same work)\n");
	printf("%-4s %5s %-8s %4s | %12s %7s | %11s | %11s %6s | %11s %6s\n", "fam", "frags",
	       "order", "rnds", "ours frag/s", "Gb/s", "ours-copy", "dpdk frag/s", "ratio",
	       "dpdk+lin", "ratio");
	for (int fam = 4; fam <= 6; fam += 2)
		for (unsigned k = 0; k < 3; k++)
			for (int sh = 0; sh <= 1; sh++)
				bad |= run_case(fam, nf[k], sh, secs, have_dpdk, &rs);
	if (have_dpdk)
		rte_eal_cleanup();
	return bad;
}
