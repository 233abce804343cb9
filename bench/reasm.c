// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench/reasm.c - throughput of user/reasm.c against DPDK's rte_ip_frag on
 * the same fragment stream, in the same process.  Not a test.
 *
 *   build/bench/reasm [seconds-per-case]        (default 0.5)
 *
 * Stream: datagrams of N = 2, 8, 44 MTU-1500 fragments (IPv4 1480-byte,
 * IPv6 1448-byte fragment payloads), fed datagram after datagram, each
 * datagram's fragments in order or shuffled.  DPDK caps a datagram at
 * RTE_LIBRTE_IP_FRAG_MAX_FRAG (8) fragments, so it runs for N = 2 and 8.
 *
 * Fairness: fragments are handled in batches of 256.  Before each batch,
 * untimed, the batch is written into the engine's receive buffers as a NIC
 * would (for us a 2 KiB-frame area like an AF_XDP UMEM; for DPDK freshly
 * allocated mbufs).  Only the reassembly calls are timed.  DPDK's result
 * is a chain of the original mbufs (no copy); ours is a contiguous copy in
 * the caller's buffer.  Freeing DPDK's result chains is not timed.
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

struct stream {
	unsigned n;                 /* fragments */
	unsigned dgrams;
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

struct result { double fps, bps; unsigned long done, expect; int ok; };

static struct result run_ours(const struct stream *s, double secs)
{
	static uint8_t frames[BATCH * FRAME];
	static uint8_t outbuf[RG_MAX_PKT];
	struct reasm *r = reasm_new(NULL);
	struct reasm_out out = { .buf = outbuf, .cap = sizeof(outbuf) };
	struct result res = { 0 };
	double t = 0;
	unsigned long frags = 0, passes = 0;
	uint64_t ms = 1;

	while (t < secs) {
		for (unsigned b = 0; b < s->n; b += BATCH) {
			unsigned m = s->n - b < BATCH ? s->n - b : BATCH;
			double t0;

			for (unsigned i = 0; i < m; i++)   /* "DMA" into the frames */
				memcpy(frames + (size_t)i * FRAME, s->pkt[b + i], s->len[b + i]);
			t0 = now_s();
			for (unsigned i = 0; i < m; i++)
				res.done += reasm_feed(r, frames + (size_t)i * FRAME, s->len[b + i],
						       ms, 0, 0, &out) == REASM_COMPLETE;
			t += now_s() - t0;
			frags += m;
		}
		passes++;
		ms += 1;
	}
	res.expect = passes * s->dgrams;
	res.ok = res.done == res.expect && reasm_in_progress(r) == 0;
	res.fps = frags / t;
	res.bps = (double)passes * s->bytes / t;
	reasm_free(r);
	return res;
}

static struct rte_mempool *pool;

static struct result run_dpdk(const struct stream *s, int family, double secs)
{
	struct rte_ip_frag_tbl *tbl;
	struct rte_ip_frag_death_row dr = { 0 };
	struct rte_mbuf *mb[BATCH], *done[BATCH];
	struct result res = { 0 };
	double t = 0;
	unsigned long frags = 0, passes = 0;
	uint64_t hz = rte_get_tsc_hz();
	unsigned nfr = s->n / s->dgrams;
	uint32_t expect_len = family == 4 ? 20 + nfr * 1480 : 40 + nfr * 1448;

	/* The ip_reassembly example's shape: 4096 buckets of 16 entries. */
	tbl = rte_ip_frag_table_create(4096, 16, 4096 * 16, hz * 30, rte_socket_id());
	if (!tbl) {
		fprintf(stderr, "dpdk: rte_ip_frag_table_create: %s\n", rte_strerror(rte_errno));
		return res;
	}
	while (t < secs) {
		for (unsigned b = 0; b < s->n; b += BATCH) {
			unsigned m = s->n - b < BATCH ? s->n - b : BATCH, nd = 0;
			uint64_t tms;
			double t0;

			if (rte_pktmbuf_alloc_bulk(pool, mb, m)) {
				fprintf(stderr, "dpdk: mbuf pool exhausted\n");
				goto out;
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

					o = rte_ipv4_frag_reassemble_packet(tbl, &dr, mb[i], tms, ip);
				} else {
					struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(mb[i], struct rte_ipv6_hdr *);
					struct rte_ipv6_fragment_ext *fh =
						rte_ipv6_frag_get_ipv6_fragment_header(ip);

					o = rte_ipv6_frag_reassemble_packet(tbl, &dr, mb[i], tms, ip, fh);
				}
				if (o)
					done[nd++] = o;
			}
			t += now_s() - t0;
			frags += m;
			res.done += nd;
			for (unsigned i = 0; i < nd; i++) {
				/* untimed sanity check: the whole datagram came back */
				if (done[i]->pkt_len != expect_len)
					res.done--;
				rte_pktmbuf_free(done[i]);
			}
			rte_ip_frag_free_death_row(&dr, 0);
		}
		passes++;
	}
out:
	res.expect = passes * s->dgrams;
	res.ok = res.done == res.expect;
	res.fps = t > 0 ? frags / t : 0;
	res.bps = t > 0 ? (double)passes * s->bytes / t : 0;
	rte_ip_frag_table_destroy(tbl);
	return res;
}

static int dpdk_init(char *prog)
{
	char *argv[] = { prog, "--no-huge", "--no-pci", "-l", "0", "--no-shconf",
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

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	int have_dpdk = dpdk_init(argv[0]) == 0;
	static const unsigned nf[] = { 2, 8, 44 };
	uint64_t rs = 0x5eed;
	int bad = 0;

	printf("reasm bench: %.2fs per case, batches of %d, stream %u MiB per pass%s\n",
	       secs, BATCH, STREAM_BYTES >> 20, have_dpdk ? "" : " (no DPDK)");
	printf("%-4s %5s %-8s | %12s %10s | %12s %10s | %6s\n", "fam", "frags", "order",
	       "ours frag/s", "ours Gb/s", "dpdk frag/s", "dpdk Gb/s", "ratio");
	for (int fam = 4; fam <= 6; fam += 2)
		for (unsigned k = 0; k < 3; k++)
			for (int sh = 0; sh <= 1; sh++) {
				struct stream s;
				struct result a, b = { 0 };

				stream_build(&s, fam, nf[k], sh, &rs);
				a = run_ours(&s, secs);
				bad |= !a.ok;
				if (have_dpdk && nf[k] <= RTE_LIBRTE_IP_FRAG_MAX_FRAG) {
					b = run_dpdk(&s, fam, secs);
					bad |= !b.ok;
				}
				printf("IPv%d %5u %-8s | %12.0f %10.2f | ", fam, nf[k],
				       sh ? "shuffled" : "in-order", a.fps, a.bps * 8 / 1e9);
				if (b.fps > 0)
					printf("%12.0f %10.2f | %5.2fx%s\n", b.fps, b.bps * 8 / 1e9,
					       a.fps / b.fps, b.ok ? "" : " (dpdk incomplete!)");
				else
					printf("%12s %10s | %6s\n", "-", "-", "-");
				if (!a.ok)
					printf("  ours: %lu of %lu datagrams completed!\n", a.done, a.expect);
				stream_free(&s);
			}
	if (have_dpdk)
		rte_eal_cleanup();
	return bad;
}
