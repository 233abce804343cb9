// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_decrypt.c - runs the real decrypt program (build/decrypt.bpf.o via
 * its skeleton) in the kernel with bpf_prog_test_run_opts: fresh frames
 * (tagged in-band by the classify program), frames the daemon sends back
 * in (tagged by the daemon), and multi-buffer frames up to the largest the
 * daemon produces (tag + an IPv6 datagram of 40 + 65535 bytes).  For every
 * case: the verdict, the delta of EVERY counter of xdpsec_cnt, and the
 * frame that comes out (tag updated for the daemon, removed for the stack).
 *
 * test_run builds a multi-buffer xdp_buff for a frags-aware program when
 * data_size_in exceeds one page less headroom and tailroom: the linear part
 * is filled first, the rest goes into page-sized fragments, exactly as veth
 * hands the far end a frame above ~3.5 KiB.  The frames are built here (the
 * program reads headers only; the ESP payload need not be real ciphertext).
 *
 * The XSKMAP needs a socket for the redirect verdict: one AF_XDP socket is
 * bound to lo queue 0 in a private network namespace (gone with the
 * process).  In the same namespace, feedback_loop builds the real feedback
 * pair (feedback_veth.c, both programs attached, MTU raised) and sends
 * frames through it with the daemon's own AF_XDP code (xsk_io.c): the
 * largest frames come back whole, and two multi-buffer frames in one RX
 * batch do not share the gather buffer.  Needs root.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "xdpsec_common.h"
#include "decrypt.skel.h"
#include "feedback_veth.h"
#include "frame_tag.h"
#include "xsk_io.h"
#include "testlib.h"
#include "bpf_counters.h"
#include "xsk_fixture.h"

#define CNT(x)   XDPSEC_CNT_##x
#define D(x)     (XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_##x)
#define TAG_HDR  XDPSEC_TAG_L3_OFF           /* [Ethernet 0x88B5][tag] */
#define BIG      (TAG_HDR + 40 + 65535 + 64)

static struct xdpsec_decrypt *skel;
static int prog_fd, near_fd, cnt_fd, sa_fd, st_fd, ncpus, lo_ifindex;
static int own_netns;
static struct xsk_umem *umem;
static struct xsk_socket *xsk;

static const uint8_t MAC_A[6] = { 2, 0, 0, 0, 0, 1 }, MAC_B[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t A4[4] = { 198, 18, 0, 1 }, B4[4] = { 198, 18, 0, 2 };
static uint8_t A6[16], B6[16];

#define SPI_OK     0x1001    /* known, replay top 5 */
#define SPI_OLD    0x1002    /* known, replay top 1000: seq 7 is far left */
#define SPI_NONE   0x9999    /* unknown */
#define SPI_OK6    0x6001
#define SA_OK      3
#define SA_OLD     4
#define SA_OK6     6

/* ------------------------------------------------------------ frames */

/* Bytes after the headers: a pattern that makes truncation visible. */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* IPv4 datagram of `len` bytes (len >= 28): protocol `proto`, fragment
 * field `frag` (host order: flags | offset/8), ESP header when proto 50 and
 * this is a first fragment.  `tot` overrides the total length field. */
static size_t ip4(uint8_t *b, size_t len, uint8_t proto, uint16_t frag,
		  uint32_t spi, uint32_t seq, int tot)
{
	uint16_t t = htons((uint16_t)(tot >= 0 ? tot : (int)len));
	uint16_t f = htons(frag), id = htons(0x1234);

	memset(b, 0, 20);
	b[0] = 0x45;
	memcpy(b + 2, &t, 2);
	memcpy(b + 4, &id, 2);
	memcpy(b + 6, &f, 2);
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, A4, 4);
	memcpy(b + 16, B4, 4);
	fill(b + 20, len - 20, (unsigned)len);
	if (proto == 50 && !(frag & 0x1fff)) {
		uint32_t s = htonl(spi), q = htonl(seq);

		memcpy(b + 20, &s, 4);
		memcpy(b + 24, &q, 4);
	}
	return len;
}

/* IPv6 datagram with `plen` bytes of payload; a fragment header first when
 * fragoff >= 0 (M set when more). */
static size_t ip6(uint8_t *b, size_t plen, uint8_t nh, int fragoff, int more,
		  uint32_t spi, uint32_t seq, int plen_field)
{
	uint16_t pl = htons((uint16_t)(plen_field >= 0 ? plen_field : (int)plen));
	size_t off = 40;

	memset(b, 0, 40);
	b[0] = 0x60;
	memcpy(b + 4, &pl, 2);
	b[7] = 64;
	memcpy(b + 8, A6, 16);
	memcpy(b + 24, B6, 16);
	fill(b + 40, plen, (unsigned)plen);
	if (fragoff >= 0) {
		uint16_t fo = htons((uint16_t)(fragoff | (more ? 1 : 0)));
		uint32_t ident = htonl(0xabcd);

		b[6] = 44;
		b[40] = nh;
		b[41] = 0;
		memcpy(b + 42, &fo, 2);
		memcpy(b + 44, &ident, 4);
		off += 8;
	} else {
		b[6] = nh;
	}
	if (nh == 50 && fragoff <= 0) {
		uint32_t s = htonl(spi), q = htonl(seq);

		memcpy(b + off, &s, 4);
		memcpy(b + off + 4, &q, 4);
	}
	return 40 + plen;
}

static void eth(uint8_t *b, uint16_t type)
{
	memcpy(b, MAC_B, 6);
	memcpy(b + 6, MAC_A, 6);
	b[12] = (uint8_t)(type >> 8);
	b[13] = (uint8_t)type;
}

/* A tagged frame, [Ethernet 0x88B5][tag][IP], as the classify program
 * (origin WIRE) or the daemon (origin DAEMON) writes it. */
static size_t tagged(uint8_t *out, const uint8_t *ip, size_t len, uint8_t cls,
		     uint8_t origin, uint8_t layer, uint32_t path)
{
	struct xdpsec_tag m = { .magic = XDPSEC_TAG_MAGIC, .class = cls,
				.origin = origin, .layer = layer,
				.l3_off = XDPSEC_TAG_L3_OFF, .ingress_ifindex = 77,
				.sa_index = ~0u, .path = path };

	eth(out, XDPSEC_TAG_ETHERTYPE);
	memcpy(out + XDPSEC_TAG_OFF, &m, sizeof(m));
	memcpy(out + TAG_HDR, ip, len);
	return TAG_HDR + len;
}

/* A fresh frame, redirected by the classify program. */
static size_t wire(uint8_t *out, const uint8_t *ip, size_t len, uint8_t cls)
{
	return tagged(out, ip, len, cls, XDPSEC_ORIGIN_WIRE, 0, XDPSEC_PATH_ESP);
}

/* A frame the daemon sends back in. */
static size_t from_daemon(uint8_t *out, const uint8_t *ip, size_t len, uint8_t cls,
		   uint8_t layer, uint32_t path)
{
	return tagged(out, ip, len, cls, XDPSEC_ORIGIN_DAEMON, layer, path);
}

/* ------------------------------------------------------------ running */

static int read_counters(__u64 *sum)
{
	return read_bpf_counters(cnt_fd, ncpus, sum);
}

struct res {
	int err;
	__u32 verdict;
	__u32 metalen;          /* ctx_out.data: metadata in front of the frame */
	__u32 linear;           /* ctx_out.data_end - ctx_out.data */
	__u32 out_len;          /* metadata + whole frame, fragments included */
	__u64 d[XDPSEC_CNT__MAX];
};

static uint8_t in_buf[BIG], ip_buf[BIG], out_buf[BIG + 256];

/* Runs `fd` over in[0..len): the first `metalen` bytes are metadata. */
static void run_prog(int fd, const uint8_t *in, size_t len, size_t metalen, struct res *r)
{
	__u64 before[XDPSEC_CNT__MAX], after[XDPSEC_CNT__MAX];
	struct xdp_md ci = {}, co = {};
	LIBBPF_OPTS(bpf_test_run_opts, o);

	memset(r, 0, sizeof(*r));
	ci.data = (__u32)metalen;
	ci.data_end = (__u32)len;
	ci.ingress_ifindex = (__u32)lo_ifindex;
	o.data_in = in;
	o.data_size_in = (__u32)len;
	o.data_out = out_buf;
	o.data_size_out = sizeof(out_buf);
	o.ctx_in = &ci;
	o.ctx_size_in = sizeof(ci);
	o.ctx_out = &co;
	o.ctx_size_out = sizeof(co);
	o.repeat = 1;
	CHECK_EQ(read_counters(before), 0);
	r->err = bpf_prog_test_run_opts(fd, &o);
	CHECK_EQ(read_counters(after), 0);
	r->verdict = o.retval;
	r->metalen = co.data;
	r->linear = co.data_end - co.data;
	r->out_len = o.data_size_out;
	for (int k = 0; k < XDPSEC_CNT__MAX; k++)
		r->d[k] = after[k] - before[k];
}

static void run(const uint8_t *in, size_t len, size_t metalen, struct res *r)
{
	run_prog(prog_fd, in, len, metalen, r);
}

/* The decrypt program's law (docs/counters.md): every frame it runs on
 * counts DEC_RX and ends in exactly one of DEC_UNTAGGED, DEC_PASSED,
 * DEC_TO_REASM, DEC_TO_ESP and DEC_DROPPED. */
static void expect_law(const struct res *r)
{
	__u64 ends = r->d[CNT(DEC_UNTAGGED)] + r->d[CNT(DEC_PASSED)] + r->d[CNT(DEC_TO_REASM)] +
		     r->d[CNT(DEC_TO_ESP)] + r->d[CNT(DEC_DROPPED)];

	CHECK_EQ(r->d[CNT(DEC_RX)], 1);
	CHECK_EQ(ends, 1);
	CHECK_EQ(r->d[CNT(DEC_DROPPED)], r->verdict == XDP_DROP);
	CHECK_EQ(r->d[CNT(DEC_TO_REASM)] + r->d[CNT(DEC_TO_ESP)], r->verdict == XDP_REDIRECT);
}

/* The verdict, and every counter: +1 for each listed, 0 elsewhere.  The
 * stage totals are implied (expect_law): DEC_RX always, DEC_DROPPED for
 * a drop, DEC_PASSED for a pass of a tagged frame.  A list of just -1:
 * not the decrypt program, no counter at all. */
static void expect(const struct res *r, __u32 verdict, int n, const int *cnts)
{
	int none = n == 1 && cnts[0] == -1, untagged = 0;

	CHECK_EQ(r->err, 0);
	CHECK_EQ(r->verdict, verdict);
	for (int i = 0; i < n; i++)
		untagged |= cnts[i] == CNT(DEC_UNTAGGED);
	if (!none)
		expect_law(r);
	for (int k = 0; k < XDPSEC_CNT__MAX; k++) {
		__u64 want = 0;

		for (int i = 0; i < n; i++)
			want += cnts[i] == k;
		if (!none) {
			want += k == CNT(DEC_RX);
			want += k == CNT(DEC_DROPPED) && verdict == XDP_DROP;
			want += k == CNT(DEC_PASSED) && verdict == XDP_PASS && !untagged;
		}
		if (r->d[k] != want) {
			fprintf(stderr, "  FAIL [%s]: counter %d delta %llu, want %llu\n",
				tl_cur_name, k, (unsigned long long)r->d[k],
				(unsigned long long)want);
			tl_cur_failed = 1;
		}
	}
}

#define EXPECT(r, v, ...) do {                                             \
	const int _c[] = { __VA_ARGS__ };                                   \
	expect((r), (v), (int)(sizeof(_c) / sizeof(_c[0])), _c);            \
} while (0)

/* A frame redirected to the daemon: still tagged, the tag updated in
 * place, MACs and the IP datagram unchanged; no XDP metadata. */
static void expect_tagged(const struct res *r, uint8_t cls, uint8_t origin, uint8_t layer,
			uint32_t path, uint32_t sa_index, uint32_t spi, uint32_t seq,
			const uint8_t *ip, size_t iplen)
{
	struct xdpsec_tag m;

	CHECK_EQ(r->metalen, 0);
	CHECK_EQ(r->out_len, TAG_HDR + iplen);
	if (r->out_len != TAG_HDR + iplen)
		return;
	CHECK_MEM(out_buf, MAC_B, 6);
	CHECK_MEM(out_buf + 6, MAC_A, 6);
	CHECK_EQ(out_buf[12] << 8 | out_buf[13], XDPSEC_TAG_ETHERTYPE);
	memcpy(&m, out_buf + XDPSEC_TAG_OFF, sizeof(m));
	CHECK_EQ(m.magic, XDPSEC_TAG_MAGIC);
	CHECK_EQ(m.class, cls);
	CHECK_EQ(m.origin, origin);
	CHECK_EQ(m.layer, layer);
	CHECK_EQ(m.l3_off, XDPSEC_TAG_L3_OFF);
	CHECK_EQ(m.ingress_ifindex, 77);
	CHECK_EQ(m.path, path);
	CHECK_EQ(m.sa_index, sa_index);
	CHECK_EQ(m.spi, htonl(spi));
	CHECK_EQ(m.seq, seq);
	CHECK_MEM(out_buf + TAG_HDR, ip, iplen);
}

/* A frame passed to the stack after the tag was removed. */
static void expect_passed(const struct res *r, const uint8_t *ip, size_t iplen)
{
	CHECK_EQ(r->metalen, 0);
	CHECK_EQ(r->out_len, 14 + iplen);
	if (r->out_len != 14 + iplen)
		return;
	CHECK_MEM(out_buf, MAC_B, 6);
	CHECK_MEM(out_buf + 6, MAC_A, 6);
	CHECK_EQ(out_buf[12] << 8 | out_buf[13], (ip[0] >> 4) == 4 ? 0x0800 : 0x86DD);
	CHECK_MEM(out_buf + 14, ip, iplen);
}

/* ------------------------------------------------------------ setup */

static void sa_add(const void *dst, int family, __u32 spi, __u32 idx, __u64 top)
{
	struct xdpsec_sa_key k = { .spi = htonl(spi), .family = (__u8)family, .proto = 50 };
	struct xdpsec_sa_val v = { .sa_index = idx, .flags = XDPSEC_SA_F_VALID };
	struct xdpsec_sa_state s = { .replay_top = top, .replay_window = 64,
				     .flags = XDPSEC_SA_F_VALID };

	memcpy(k.daddr, dst, family == AF_INET ? 4 : 16);
	CHECK_EQ(bpf_map_update_elem(sa_fd, &k, &v, BPF_ANY), 0);
	CHECK_EQ(bpf_map_update_elem(st_fd, &idx, &s, BPF_ANY), 0);
}


/* ------------------------------------------------------------ tests */

TEST(setup_sa)
{
	sa_add(B4, AF_INET, SPI_OK, SA_OK, 5);
	sa_add(B4, AF_INET, SPI_OLD, SA_OLD, 1000);
	sa_add(B6, AF_INET6, SPI_OK6, SA_OK6, 0);
}

TEST(sections)
{
	CHECK(!strcmp(bpf_program__section_name(skel->progs.xdpsec_decrypt), "xdp.frags"));
	CHECK(!strcmp(bpf_program__section_name(skel->progs.xdpsec_near), "xdp.frags"));
}

/* Fresh whole ESP: SA found, tag updated, to the daemon. */
TEST(fresh_esp4)
{
	struct res r;
	size_t n = ip4(ip_buf, 200, 50, 0, SPI_OK, 7, -1);
	size_t len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_FRESH), CNT(DEC_TO_ESP));
	expect_tagged(&r, XDPSEC_CLASS_ESP, XDPSEC_ORIGIN_WIRE, 0, XDPSEC_PATH_ESP,
		    SA_OK, SPI_OK, 7, ip_buf, n);
}

TEST(fresh_esp6)
{
	struct res r;
	size_t n = ip6(ip_buf, 300, 50, -1, 0, SPI_OK6, 9, -1);
	size_t len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_FRESH), CNT(DEC_TO_ESP));
	expect_tagged(&r, XDPSEC_CLASS_ESP, XDPSEC_ORIGIN_WIRE, 0, XDPSEC_PATH_ESP,
		    SA_OK6, SPI_OK6, 9, ip_buf, n);
}

TEST(fresh_unknown_spi_and_replay)
{
	struct res r;
	size_t n = ip4(ip_buf, 200, 50, 0, SPI_NONE, 7, -1);
	size_t len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, CNT(DEC_FRESH), D(UNKNOWN_SPI));
	n = ip4(ip_buf, 200, 50, 0, SPI_OLD, 7, -1);
	len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, CNT(DEC_FRESH), D(REPLAY_EARLY));
}

/* Fragments go to reassembly without an SA lookup. */
TEST(fresh_fragments)
{
	struct res r;
	size_t n = ip4(ip_buf, 1400, 50, 0x2000 | 0, SPI_OK, 7, -1);
	size_t len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP_FRAG_FIRST);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_FRESH), CNT(DEC_TO_REASM));
	expect_tagged(&r, XDPSEC_CLASS_ESP_FRAG_FIRST, XDPSEC_ORIGIN_WIRE, 0, XDPSEC_PATH_ESP,
		    ~0u, SPI_OK, 7, ip_buf, n);
	n = ip6(ip_buf, 1200, 50, 1400, 0, 0, 0, -1);
	len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP_FRAG_LAST);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_FRESH), CNT(DEC_TO_REASM));
	/* a plain fragment from the wire is the stack's */
	n = ip4(ip_buf, 1400, 17, 0x2000, 0, 0, -1);
	len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_PLAIN_FRAG);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_PASS, CNT(DEC_FRESH));
}

/* Untagged: the host's own traffic on the far end, passed. */
TEST(foreign)
{
	struct res r;
	size_t n = ip4(ip_buf, 100, 17, 0, 0, 0, -1);

	eth(in_buf, 0x0800);
	memcpy(in_buf + 14, ip_buf, n);
	run(in_buf, 14 + n, 0, &r);
	EXPECT(&r, XDP_PASS, CNT(DEC_UNTAGGED));
}

/* Daemon frames: the tag updated for the daemon, or removed for the stack. */
TEST(reentered_small)
{
	struct res r;
	uint32_t path = XDPSEC_PATH_ESP | XDPSEC_PATH_FRAG_AFTER;
	size_t n = ip4(ip_buf, 2000, 50, 0, SPI_OK, 8, -1);
	size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, path);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_ESP));
	expect_tagged(&r, XDPSEC_CLASS_ESP, XDPSEC_ORIGIN_DAEMON, 0, path, SA_OK, SPI_OK, 8,
		    ip_buf, n);
	/* plaintext: to the stack, frame restored */
	n = ip4(ip_buf, 1000, 17, 0, 0, 0, -1);
	len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_PLAINTEXT, 1, XDPSEC_PATH_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_PASS, CNT(DEC_REENTERED), CNT(DEC_PASS_PLAIN));
	expect_passed(&r, ip_buf, n);
	/* an inner fragment it decrypted: back to reassembly */
	n = ip6(ip_buf, 1000, 17, 0, 1, 0, 0, -1);
	len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_PLAIN_FRAG, 1, XDPSEC_PATH_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_REASM));
	expect_tagged(&r, XDPSEC_CLASS_PLAIN_FRAG, XDPSEC_ORIGIN_DAEMON, 1, XDPSEC_PATH_ESP,
		    ~0u, 0, 0, ip_buf, n);
	/* a tag without the magic */
	in_buf[14] ^= 0xff;
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, D(BAD_TAG));
}

/*
 * Reassembled ciphertext above one page: a multi-buffer frame.  Before the
 * parser knew the frame's full length, each of these was counted
 * drop_ipv4_bad_len / drop_ipv6_bad_len and lost.
 */
TEST(reentered_multibuf_esp)
{
	static const size_t sizes4[] = { 3600, 4000, 9000, 30000, 65532, 65535 };
	static const size_t sizes6[] = { 3600, 9000, 65500, 65535 };
	uint32_t path = XDPSEC_PATH_ESP | XDPSEC_PATH_FRAG_AFTER;
	struct res r;

	for (size_t i = 0; i < sizeof(sizes4) / sizeof(sizes4[0]); i++) {
		size_t n = ip4(ip_buf, sizes4[i], 50, 0, SPI_OK, 9, -1);
		size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, path);

		run(in_buf, len, 0, &r);
		EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_ESP));
		CHECK(r.linear < 14 + n);       /* it really was multi-buffer */
		expect_tagged(&r, XDPSEC_CLASS_ESP, XDPSEC_ORIGIN_DAEMON, 0, path, SA_OK,
			    SPI_OK, 9, ip_buf, n);
	}
	for (size_t i = 0; i < sizeof(sizes6) / sizeof(sizes6[0]); i++) {
		size_t n = ip6(ip_buf, sizes6[i], 50, -1, 0, SPI_OK6, 10, -1);
		size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, path);

		run(in_buf, len, 0, &r);
		EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_ESP));
		CHECK(r.linear < 14 + n);
		expect_tagged(&r, XDPSEC_CLASS_ESP, XDPSEC_ORIGIN_DAEMON, 0, path, SA_OK6,
			    SPI_OK6, 10, ip_buf, n);
	}
	/* nested: a decrypted payload that is ESP again, 60 KB */
	size_t n = ip4(ip_buf, 60000, 50, 0, SPI_OK, 11, -1);
	size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 1, XDPSEC_PATH_ESP | XDPSEC_PATH_NESTED);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_ESP));
	expect_tagged(&r, XDPSEC_CLASS_ESP, XDPSEC_ORIGIN_DAEMON, 1,
		    XDPSEC_PATH_ESP | XDPSEC_PATH_NESTED, SA_OK, SPI_OK, 11, ip_buf, n);
}

/* Plaintext of up to 65535 (IPv4) / 40 + 65535 (IPv6) bytes: passed whole. */
TEST(reentered_multibuf_plaintext)
{
	static const size_t sizes4[] = { 4000, 65535 };
	struct res r;

	for (size_t i = 0; i < 2; i++) {
		size_t n = ip4(ip_buf, sizes4[i], 17, 0, 0, 0, -1);
		size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_PLAINTEXT, 1, XDPSEC_PATH_ESP);

		run(in_buf, len, 0, &r);
		EXPECT(&r, XDP_PASS, CNT(DEC_REENTERED), CNT(DEC_PASS_PLAIN));
		CHECK(r.linear < 14 + n);
		expect_passed(&r, ip_buf, n);
	}
	size_t n = ip6(ip_buf, 65535, 17, -1, 0, 0, 0, -1);
	size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_PLAINTEXT, 1, XDPSEC_PATH_ESP);

	CHECK_EQ(len, TAG_HDR + 40 + 65535);   /* the largest frame there is */
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_PASS, CNT(DEC_REENTERED), CNT(DEC_PASS_PLAIN));
	expect_passed(&r, ip_buf, n);
}

/* The IP length is still checked, against the whole frame. */
TEST(multibuf_length_checks)
{
	struct res r;
	/* IPv4 total length one byte beyond a 9000-byte frame */
	size_t n = ip4(ip_buf, 9000, 50, 0, SPI_OK, 9, 9001);
	size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);

	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, CNT(DEC_REENTERED), D(IPV4_BAD_LEN));
	/* shorter than the frame: Ethernet padding, fine */
	n = ip4(ip_buf, 9000, 50, 0, SPI_OK, 9, 8000);
	len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_ESP));
	/* IPv6 payload length beyond the frame */
	n = ip6(ip_buf, 20000, 50, -1, 0, SPI_OK6, 9, 20001);
	len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, CNT(DEC_REENTERED), D(IPV6_BAD_LEN));
	/* unknown SPI and early replay work on multi-buffer frames too */
	n = ip4(ip_buf, 20000, 50, 0, SPI_NONE, 9, -1);
	len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, CNT(DEC_REENTERED), D(UNKNOWN_SPI));
	n = ip4(ip_buf, 20000, 50, 0, SPI_OLD, 7, -1);
	len = wire(in_buf, ip_buf, n, XDPSEC_CLASS_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_DROP, CNT(DEC_FRESH), D(REPLAY_EARLY));
	/* the same number sent back by the daemon (a reassembled datagram
	 * whose window verdict was taken when its last fragment arrived,
	 * user/esp/replay_arrived.h): the daemon judges it, not the early drop */
	len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	run(in_buf, len, 0, &r);
	EXPECT(&r, XDP_REDIRECT, CNT(DEC_REENTERED), CNT(DEC_TO_ESP));
}

/* Without a socket on the queue: dropped, counted, whatever the size. */
TEST(no_socket)
{
	__u32 key = 0;
	struct res r;
	size_t n = ip4(ip_buf, 30000, 50, 0, SPI_OK, 12, -1);
	size_t len = from_daemon(in_buf, ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	int fd = xsk_socket__fd(xsk);

	CHECK_EQ(bpf_map_delete_elem(bpf_map__fd(skel->maps.xdpsec_xsks), &key), 0);
	run(in_buf, len, 0, &r);
	/* no socket to take it: dropped, and not counted as sent to the ESP
	 * engine (it was both before: one frame, two fates) */
	EXPECT(&r, XDP_DROP, CNT(DEC_REENTERED), D(NO_XSK));
	CHECK_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.xdpsec_xsks), &key, &fd, 0), 0);
}

/* The near end's program passes everything, multi-buffer included. */
TEST(near_end)
{
	struct res r;
	size_t n = ip4(ip_buf, 40000, 1, 0, 0, 0, -1);

	eth(in_buf, 0x0800);
	memcpy(in_buf + 14, ip_buf, n);
	run_prog(near_fd, in_buf, 14 + n, 0, &r);
	EXPECT(&r, XDP_PASS, -1);       /* -1: no counter moves */
	CHECK_EQ(r.out_len, 14 + n);
}

/*
 * Robustness: every truncation of a large frame (fresh, re-entered ESP,
 * re-entered plaintext) and corruptions of its first 120 bytes give a
 * valid verdict, and each run is counted exactly once on the way in
 * (fresh, re-entered, untagged, or dropped before that: no Ethernet header,
 * bad tag).
 */
TEST(truncations_and_corruptions)
{
	static uint8_t frames[3][BIG];
	size_t flen[3], mlen[3] = { 0, 0, 0 };
	uint64_t runs = 0, entries = 0;
	int bad = 0;
	size_t n;

	n = ip4(ip_buf, 20000, 50, 0x2000, SPI_OK, 7, -1);
	flen[0] = wire(frames[0], ip_buf, n, XDPSEC_CLASS_ESP_FRAG_FIRST);
	n = ip6(ip_buf, 30000, 50, -1, 0, SPI_OK6, 9, -1);
	flen[1] = from_daemon(frames[1], ip_buf, n, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	n = ip4(ip_buf, 12000, 17, 0, 0, 0, -1);
	flen[2] = from_daemon(frames[2], ip_buf, n, XDPSEC_CLASS_PLAIN_FRAG, 1, XDPSEC_PATH_ESP);

	for (int f = 0; f < 3; f++) {
		for (size_t len = mlen[f] + 14; len <= flen[f]; len += len < 200 ? 1 : 997) {
			for (int pos = -1; pos < 120 && (pos < 0 || (size_t)pos < len);
			     pos += pos < 0 ? 1 : 5) {
				struct res r;
				uint64_t e;

				memcpy(in_buf, frames[f], len);
				if (pos >= 0 && (size_t)pos >= mlen[f])
					in_buf[pos] ^= (uint8_t)(0x5a + pos);
				run(in_buf, len, mlen[f], &r);
				if (r.err) {
					bad++;
					continue;
				}
				runs++;
				bad += r.verdict != XDP_PASS && r.verdict != XDP_DROP &&
				       r.verdict != XDP_REDIRECT;
				/* bad_tag is also the drop of a tagged frame
				 * whose IP version is neither 4 nor 6, after
				 * it was counted in */
				e = r.d[CNT(DEC_FRESH)] + r.d[CNT(DEC_REENTERED)] +
				    r.d[CNT(DEC_UNTAGGED)];
				entries += e ? e : r.d[D(TRUNC_ETH)] + r.d[D(BAD_TAG)];
				expect_law(&r);
				if (pos < 0 && len > 200)
					break;
			}
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(entries, runs);
	CHECK(runs > 1000);
	printf("        %llu mutated frames run\n", (unsigned long long)runs);
}

/*
 * The feedback pair for real: frames sent with xsk_port_tx_copy() on the
 * near end come out of the far end through the decrypt program, are
 * redirected to the socket and gathered by xsk_port_rx().
 *  - the largest frames (IPv4 65535 and IPv6 40 + 65535 bytes of ESP
 *    behind the shim) come back whole: veth takes them once xdpsec_near
 *    has let the pair's MTU go above 65535;
 *  - one longer than the pair's MTU + 14 is refused before TX, counted;
 *  - [chain][single][chain] sent in one kick arrive in one RX batch: the
 *    second chain must wait for the next call instead of overwriting the
 *    first in the shared gather buffer (it did: the first datagram then
 *    failed as a replay of the second).
 */
static size_t rx_some(struct xsk_port *xp, struct xsk_pkt *pkts, int max)
{
	for (int tries = 0; tries < 50; tries++) {
		int n = xsk_port_rx(xp, pkts, max, 20);

		if (n > 0)
			return (size_t)n;
	}
	return 0;
}

static void check_back(const struct xsk_pkt *k, const uint8_t *ip, size_t iplen, uint8_t cls)
{
	struct xdpsec_tag m;

	CHECK_EQ(k->len, TAG_HDR + iplen);
	if (k->len != TAG_HDR + iplen)
		return;
	CHECK_EQ(frame_tag_read(k->data, k->len, &m), TAG_HDR);
	CHECK_EQ(m.magic, XDPSEC_TAG_MAGIC);
	CHECK_EQ(m.class, cls);
	CHECK_EQ(m.origin, XDPSEC_ORIGIN_DAEMON);
	CHECK_MEM(k->data + TAG_HDR, ip, iplen);
}

static uint8_t ipa[BIG], ipb[BIG], ipc[BIG];

TEST(feedback_loop)
{
	struct feedback_pair fp;
	struct xsk_port *xp = NULL;
	struct xsk_pkt pkts[XSKIO_BATCH];
	char err[256];
	__u32 key = 0;
	size_t na, nb, nc, len, n;
	int fd;

	if (!own_netns) {
		printf("        skipped: no private network namespace for the pair\n");
		return;
	}
	CHECK_EQ(feedback_pair_create(&fp, 1 /* lo: names the pair */, 1, 65535, err, sizeof(err)), 0);
	if (!fp.created) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_EQ(bpf_xdp_attach(fp.far_ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL), 0);
	CHECK_EQ(bpf_xdp_attach(fp.near_ifindex, near_fd, XDP_FLAGS_DRV_MODE, NULL), 0);
	CHECK_EQ(feedback_pair_set_mtu(&fp, 14 + 32 + 40 + 65535 - 14), 0);
	xp = xsk_port_open(fp.far_ifindex, fp.near_ifindex, 0, true, err, sizeof(err));
	CHECK(xp != NULL);
	if (!xp) {
		fprintf(stderr, "  %s\n", err);
		goto out;
	}
	xsk_port_set_max_frame(xp, (uint32_t)fp.mtu + 14);
	fd = xsk_port_rx_fd(xp);
	CHECK_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.xdpsec_xsks), &key, &fd, 0), 0);

	/* the largest frames there are, one at a time */
	na = ip4(ipa, 65535, 50, 0, SPI_OK, 30, -1);
	len = from_daemon(in_buf, ipa, na, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	CHECK_EQ(xsk_port_tx_copy(xp, in_buf, (uint32_t)len), 0);
	xsk_port_flush(xp);
	n = rx_some(xp, pkts, XSKIO_BATCH);
	CHECK_EQ(n, 1);
	if (n >= 1)
		check_back(&pkts[0], ipa, na, XDPSEC_CLASS_ESP);
	na = ip6(ipa, 65535, 50, -1, 0, SPI_OK6, 31, -1);
	len = from_daemon(in_buf, ipa, na, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	CHECK_EQ(len, 14 + 32 + 40 + 65535);
	CHECK_EQ(xsk_port_tx_copy(xp, in_buf, (uint32_t)len), 0);
	xsk_port_flush(xp);
	n = rx_some(xp, pkts, XSKIO_BATCH);
	CHECK_EQ(n, 1);
	if (n >= 1)
		check_back(&pkts[0], ipa, na, XDPSEC_CLASS_ESP);
	/* one byte more than the pair takes: refused, counted */
	CHECK_EQ(xsk_port_tx_copy(xp, in_buf, (uint32_t)fp.mtu + 15), -EMSGSIZE);
	CHECK_EQ(xsk_port_stats(xp)->tx_too_big, 1);

	/* chain, single, chain in one kick */
	na = ip4(ipa, 30000, 50, 0, SPI_OK, 40, -1);
	nb = ip4(ipb, 1000, 17, 0x2000, 0, 0, -1);
	nc = ip4(ipc, 20000, 50, 0, SPI_OK, 41, -1);
	len = from_daemon(in_buf, ipa, na, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	CHECK_EQ(xsk_port_tx_copy(xp, in_buf, (uint32_t)len), 0);
	len = from_daemon(in_buf, ipb, nb, XDPSEC_CLASS_PLAIN_FRAG, 1, XDPSEC_PATH_ESP);
	CHECK_EQ(xsk_port_tx_copy(xp, in_buf, (uint32_t)len), 0);
	len = from_daemon(in_buf, ipc, nc, XDPSEC_CLASS_ESP, 0, XDPSEC_PATH_ESP);
	CHECK_EQ(xsk_port_tx_copy(xp, in_buf, (uint32_t)len), 0);
	xsk_port_flush(xp);
	usleep(50000);                  /* all three in the RX ring */
	n = rx_some(xp, pkts, XSKIO_BATCH);
	CHECK_EQ(n, 2);                 /* the second chain waits */
	if (n >= 2) {
		check_back(&pkts[0], ipa, na, XDPSEC_CLASS_ESP);
		check_back(&pkts[1], ipb, nb, XDPSEC_CLASS_PLAIN_FRAG);
		xsk_port_release(xp, &pkts[1]);
	}
	n = rx_some(xp, pkts, XSKIO_BATCH);
	CHECK_EQ(n, 1);
	if (n >= 1)
		check_back(&pkts[0], ipc, nc, XDPSEC_CLASS_ESP);
	CHECK_EQ(xsk_port_stats(xp)->rx_bad_chain, 0);
out:
	bpf_map_delete_elem(bpf_map__fd(skel->maps.xdpsec_xsks), &key);
	xsk_port_close(xp);
	fd = xsk_socket__fd(xsk);
	bpf_map_update_elem(bpf_map__fd(skel->maps.xdpsec_xsks), &key, &fd, 0);
	bpf_xdp_detach(fp.near_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(fp.far_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	feedback_pair_destroy(&fp);
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	inet_pton(AF_INET6, "2001:db8::1", A6);
	inet_pton(AF_INET6, "2001:db8::2", B6);
	own_netns = !xsk_fixture_netns();
	ncpus = libbpf_num_possible_cpus();
	lo_ifindex = (int)if_nametoindex("lo");
	skel = xdpsec_decrypt__open_and_load();
	if (!skel) {
		fprintf(stderr, "cannot load the decrypt program (root needed): %s\n",
			strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.xdpsec_decrypt);
	near_fd = bpf_program__fd(skel->progs.xdpsec_near);
	cnt_fd = bpf_map__fd(skel->maps.xdpsec_cnt);
	sa_fd = bpf_map__fd(skel->maps.xdpsec_sa);
	st_fd = bpf_map__fd(skel->maps.xdpsec_sastate);
	if (xsk_fixture_socket(bpf_map__fd(skel->maps.xdpsec_xsks), &xsk, &umem)) {
		fprintf(stderr, "cannot bind an AF_XDP socket to lo: %s\n", strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}

	RUN(sections);
	RUN(setup_sa);
	RUN(fresh_esp4);
	RUN(fresh_esp6);
	RUN(fresh_unknown_spi_and_replay);
	RUN(fresh_fragments);
	RUN(foreign);
	RUN(reentered_small);
	RUN(reentered_multibuf_esp);
	RUN(reentered_multibuf_plaintext);
	RUN(multibuf_length_checks);
	RUN(no_socket);
	RUN(near_end);
	RUN(truncations_and_corruptions);
	RUN(feedback_loop);

	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	xdpsec_decrypt__destroy(skel);
	return testlib_report();
}
