// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_classify.c - runs the real classify program (build/classify.bpf.o via
 * its skeleton) in the kernel with bpf_prog_test_run_opts over a table of
 * packet fixtures (tests/bpf/classify_fixtures.txt, made by
 * tests/bpf/gen_fixtures.py with scapy: `make fixtures`).  For every row:
 * the verdict, the class, and the delta of EVERY counter of xdpsec_cnt
 * (summed over CPUs) against the row's expectation; for redirected frames
 * also the frame tag written in place of its Ethernet header.  Needs root.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpsec_common.h"
#include "classify.skel.h"
#include "testlib.h"
#include "bpf_counters.h"
#include "classify_fixtures.h"
#include "xsk_fixture.h"

#define C(x)  XDPSEC_CLASS_##x
#define D(x)  (XDPSEC_CNT_DROP_BASE + XDPSEC_DROP_##x)
#define REDIR XDPSEC_CNT_REDIRECTED
#define NOCFG XDPSEC_CNT_NOT_CONFIGURED
#define MPASS XDPSEC_CNT_MALFORMED_PASSED
#define MDROP XDPSEC_CNT_MALFORMED_DROPPED
#define ATOM  XDPSEC_CNT_ATOMIC_FRAG
#define PFF   XDPSEC_CNT_PLAIN_FRAG_FIRST
#define EARLYD XDPSEC_CNT_EARLY_DROPPED

#define POL_DROP  1           /* malformed_policy = drop */
#define EARLY     XDPSEC_CFG_EARLY_DROP

struct row {
	const char *fx;           /* fixture name */
	int policy;               /* enum xdpsec_malformed_policy */
	int flags;                /* XDPSEC_CFG_* */
	int natt;                 /* cfg natt_port, 0 = default */
	int devmap;               /* feedback slot set */
	int verdict;
	int cls;
	int nextra;               /* counters expected +1 besides the class */
	int extra[3];
	int meta;                 /* check the frame tag: spi/seq/l3_off below */
	int refused;              /* test_run itself must refuse the frame */
	unsigned spi, seq, l3_off;
	int peer;                 /* NAT-T pair 198.18.0.1 -> .2 with this SA
				     port (0: no ESP-in-UDP SA between them) */
};

#define M4(s, q)     .meta = 1, .spi = (s), .seq = (q), .l3_off = 14
#define MV(s, q, l3) .meta = 1, .spi = (s), .seq = (q), .l3_off = (l3)
#define NM           .meta = 0

static const struct row rows[] = {
	/* plain traffic passes, devmap set or not */
	{ "plain_udp4", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "plain_tcp6", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "arp", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "ethertype0", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "plain_udp4_vlan", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "plain_udp4_qinq", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "ipv4_opts_udp", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "plain_frag4_first", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 1, {PFF}, NM },
	{ "plain_frag4_last", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 0, {0}, NM },
	{ "plain_frag6_first", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 1, {PFF}, NM },
	{ "plain_frag6_mid", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 0, {0}, NM },
	{ "atomic6_udp", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 1, {ATOM}, NM },
	/* whole ESP */
	{ "esp4", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x1001, 7) },
	{ "esp4", 0, 0, 0, 0, XDP_PASS, C(ESP), 1, {NOCFG}, NM },
	{ "esp6", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x6001, 9) },
	{ "esp6", 0, 0, 0, 0, XDP_PASS, C(ESP), 1, {NOCFG}, NM },
	{ "esp4_vlan", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, MV(0x1001, 7, 18) },
	{ "esp6_qinq", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, MV(0x6001, 9, 22) },
	{ "esp4_opts", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x1001, 7) },
	{ "esp6_ext_below", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x6001, 9) },
	{ "esp6_ext_max", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x6001, 9) },
	{ "atomic6_esp", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 2, {REDIR, ATOM}, M4(0x6001, 9) },
	/* ESP fragmented after encryption */
	{ "esp4_frag_first", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0x1001, 7) },
	{ "esp4_frag_mid", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_MIDDLE), 1, {REDIR}, M4(0, 0) },
	{ "esp4_frag_last", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_LAST), 1, {REDIR}, M4(0, 0) },
	{ "esp4_frag_last", 0, 0, 0, 0, XDP_PASS, C(ESP_FRAG_LAST), 1, {NOCFG}, NM },
	{ "esp6_frag_first", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0x6001, 9) },
	{ "esp6_frag_mid", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_MIDDLE), 1, {REDIR}, M4(0, 0) },
	{ "esp6_frag_last", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_LAST), 1, {REDIR}, M4(0, 0) },
	{ "esp6_frag_in_chain", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0x6001, 9) },
	/* ESP in UDP, IKE, keepalive */
	{ "espudp4", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x2001, 11) },
	{ "espudp6", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x2006, 12) },
	{ "espudp4_4501", 0, 0, 0, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	{ "espudp4_4501", 0, 0, 4501, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x2002, 13) },
	{ "espudp4", 0, 0, 4501, 1, XDP_PASS, C(PLAIN), 0, {0}, NM },
	/* UDP fragments are the stack's unless an ESP-in-UDP SA joins the
	 * two addresses: then all of them, first ones too, go to the daemon
	 * (it hands plain ones back), whatever their port */
	{ "espudp4_frag_first", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 1, {PFF}, NM },
	{ "espudp4_frag_first", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0, 0), .peer = 4500 },
	{ "udp4_frag_last", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 0, {0}, NM },
	{ "udp4_frag_last", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_LAST), 1, {REDIR}, M4(0, 0), .peer = 4500 },
	{ "udp4_frag_last", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_LAST), 1, {REDIR}, M4(0, 0), .peer = 5000 },
	{ "plain_frag4_first", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0, 0), .peer = 4500 },
	{ "plain_frag6_first", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 1, {PFF}, NM, .peer = 4500 },
	{ "ike4", 0, 0, 0, 1, XDP_PASS, C(IKE), 0, {0}, NM },
	{ "ike4", 0, 0, 0, 1, XDP_PASS, C(IKE), 0, {0}, NM, .peer = 4500 },
	{ "ike4_frag_first", 0, 0, 0, 1, XDP_PASS, C(PLAIN_FRAG), 1, {PFF}, NM },
	{ "ike4_frag_first", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0, 0), .peer = 4500 },
	/* ports belong to SAs: the pair's own SA port, beside the default */
	{ "espudp4_4501", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x2002, 13), .peer = 4501 },
	{ "espudp4", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x2001, 11), .peer = 4501 },
	{ "keepalive4", 0, 0, 0, 1, XDP_PASS, C(NATT_KEEPALIVE), 0, {0}, NM },
	{ "keepalive6", 0, 0, 0, 1, XDP_PASS, C(NATT_KEEPALIVE), 0, {0}, NM },
	/* malformed, policy pass (default) */
	/* test_run refuses frames shorter than ETH_HLEN (-EINVAL) before the
	 * program runs, as drivers never hand XDP one; the row checks that
	 * nothing was counted.  The TRUNC_ETH branch is still bounds-checked
	 * code the verifier proved safe. */
	{ "trunc_eth", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_ETH), MPASS}, .refused = 1 },
	{ "trunc_vlan", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_VLAN), MPASS}, NM },
	{ "vlan3", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(VLAN_DEPTH), MPASS}, NM },
	{ "trunc_ipv4", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_IPV4), MPASS}, NM },
	{ "trunc_ipv6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_IPV6), MPASS}, NM },
	{ "trunc_esp4", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_ESP), MPASS}, NM },
	{ "trunc_esp6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_ESP), MPASS}, NM },
	{ "zero_spi4", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(ESP_ZERO_SPI), MPASS}, NM },
	{ "ihl4", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV4_BAD_IHL), MPASS}, NM },
	{ "ihl15_trunc", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_IPV4), MPASS}, NM },
	{ "bad_version4", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV4_BAD_VERSION), MPASS}, NM },
	{ "totlen_gt_frame", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV4_BAD_LEN), MPASS}, NM },
	{ "plen_gt_frame6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV6_BAD_LEN), MPASS}, NM },
	{ "frag4_too_big", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(FRAG_TOO_BIG), MPASS}, NM },
	{ "frag6_too_big", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(FRAG_TOO_BIG), MPASS}, NM },
	{ "frag4_zero_len", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(FRAG_ZERO_LEN), MPASS}, NM },
	{ "frag6_zero_len", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(FRAG_ZERO_LEN), MPASS}, NM },
	{ "esp6_ext_over", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV6_EXTHDR_DEPTH), MPASS}, NM },
	{ "hbh_not_first6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV6_HBH_NOT_FIRST), MPASS}, NM },
	{ "hbh_after_frag6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV6_HBH_NOT_FIRST), MPASS}, NM },
	{ "hbh_twice6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV6_HBH_NOT_FIRST), MPASS}, NM },
	{ "trunc_exthdr6", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(IPV6_TRUNC_EXTHDR), MPASS}, NM },
	{ "trunc_udp4", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(TRUNC_UDP), MPASS}, NM },
	/* malformed, policy drop */
	{ "trunc_ipv4", POL_DROP, 0, 0, 1, XDP_DROP, C(MALFORMED), 2, {D(TRUNC_IPV4), MDROP}, NM },
	{ "ihl4", POL_DROP, 0, 0, 1, XDP_DROP, C(MALFORMED), 2, {D(IPV4_BAD_IHL), MDROP}, NM },
	{ "esp6_ext_over", POL_DROP, 0, 0, 1, XDP_DROP, C(MALFORMED), 2, {D(IPV6_EXTHDR_DEPTH), MDROP}, NM },
	{ "frag4_zero_len", POL_DROP, 0, 0, 0, XDP_DROP, C(MALFORMED), 2, {D(FRAG_ZERO_LEN), MDROP}, NM },
	{ "trunc_esp6", POL_DROP, 0, 0, 1, XDP_DROP, C(MALFORMED), 2, {D(TRUNC_ESP), MDROP}, NM },
	{ "hbh_not_first6", POL_DROP, 0, 0, 1, XDP_DROP, C(MALFORMED), 2, {D(IPV6_HBH_NOT_FIRST), MDROP}, NM },
	/* a zero-length fragment of an IPsec datagram goes to the daemon
	 * (its reassembly discards the datagram, as Linux does), whatever
	 * the policy; a plain one stays malformed */
	{ "esp4_frag_zero_len", POL_DROP, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_MIDDLE), 1, {REDIR}, M4(0, 0) },
	{ "esp4_frag_zero_len_first", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_FIRST), 1, {REDIR}, M4(0, 0) },
	{ "esp6_frag_zero_len", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_MIDDLE), 1, {REDIR}, M4(0, 0) },
	{ "frag4_zero_len", 0, 0, 0, 1, XDP_REDIRECT, C(ESP_FRAG_MIDDLE), 1, {REDIR}, M4(0, 0), .peer = 4500 },
	{ "frag6_zero_len", 0, 0, 0, 1, XDP_PASS, C(MALFORMED), 2, {D(FRAG_ZERO_LEN), MPASS}, NM, .peer = 4500 },
	/* early drop against the SA maps populated by setup_sa() */
	{ "esp4", 0, EARLY, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x1001, 7) },
	{ "esp4_unknown", 0, EARLY, 0, 1, XDP_DROP, C(ESP), 2, {D(UNKNOWN_SPI), EARLYD}, NM },
	{ "esp4_unknown", 0, 0, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x9999, 7) },
	{ "esp4_replay", 0, EARLY, 0, 1, XDP_DROP, C(ESP), 2, {D(REPLAY_EARLY), EARLYD}, NM },
	{ "esp4_esn", 0, EARLY, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x1003, 7) },
	{ "esp6", 0, EARLY, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x6001, 9) },
	{ "espudp4", 0, EARLY, 0, 1, XDP_REDIRECT, C(ESP), 1, {REDIR}, M4(0x2001, 11) },
	/* fragments are not early-dropped (no SA check before reassembly) */
	{ "esp4_frag_mid", 0, EARLY, 0, 1, XDP_REDIRECT, C(ESP_FRAG_MIDDLE), 1, {REDIR}, M4(0, 0) },
};

static struct xdpsec_classify *skel;
static int prog_fd, cnt_fd, cfg_fd, dev_fd, sa_fd, st_fd, xsks_fd, natt_fd, ncpus, lo_ifindex;
static struct xsk_socket *xsk;
static struct xsk_umem *umem;

static int read_counters(__u64 *sum)
{
	return read_bpf_counters(cnt_fd, ncpus, sum);
}

static int set_config(int policy, int flags, int natt, int devmap)
{
	struct xdpsec_config cfg = { .malformed_policy = policy,
				     .natt_port = natt, .flags = flags };
	struct bpf_devmap_val dv = { .ifindex = lo_ifindex };
	__u32 k0 = 0, slot = XDPSEC_DEVMAP_FEEDBACK;

	if (bpf_map_update_elem(cfg_fd, &k0, &cfg, BPF_ANY))
		return -1;
	if (devmap)
		return bpf_map_update_elem(dev_fd, &slot, &dv, BPF_ANY);
	if (bpf_map_delete_elem(dev_fd, &slot) && errno != ENOENT)
		return -1;
	return 0;
}

/* The NAT-T pair 198.18.0.1 -> 198.18.0.2 (the fixtures' addresses) with
 * one SA port, or none. */
static int set_peer(int port)
{
	struct xdpsec_natt_key k = { .family = 2 };
	struct xdpsec_natt_val v = { .port = { (__u16)port } };

	inet_pton(AF_INET, "198.18.0.1", k.saddr);
	inet_pton(AF_INET, "198.18.0.2", k.daddr);
	if (port)
		return bpf_map_update_elem(natt_fd, &k, &v, BPF_ANY);
	if (bpf_map_delete_elem(natt_fd, &k) && errno != ENOENT)
		return -1;
	return 0;
}

static void sa_add(const char *dst4, __u32 spi, __u16 encap, __u32 idx,
		   __u32 saflags, __u64 top, __u32 win)
{
	struct xdpsec_sa_key k = { .spi = htonl(spi), .family = 2, .proto = 50,
				   .encap_port = encap };
	struct xdpsec_sa_val v = { .sa_index = idx, .flags = saflags };
	struct xdpsec_sa_state s = { .replay_top = top, .replay_window = win,
				     .flags = saflags | XDPSEC_SA_F_VALID };

	if (strchr(dst4, ':')) {
		k.family = 10;
		inet_pton(AF_INET6, dst4, k.daddr);
	} else {
		inet_pton(AF_INET, dst4, k.daddr);
	}
	CHECK_EQ(bpf_map_update_elem(sa_fd, &k, &v, BPF_ANY), 0);
	CHECK_EQ(bpf_map_update_elem(st_fd, &idx, &s, BPF_ANY), 0);
}

/* Known SAs; esp4_unknown (0x9999) is deliberately missing. */
TEST(setup_sa)
{
	sa_add("198.18.0.2", 0x1001, 0, 3, 0, 5, 64);          /* seq 7: fresh */
	sa_add("198.18.0.2", 0x1002, 0, 4, 0, 1000, 64);       /* seq 7: replay */
	sa_add("198.18.0.2", 0x1003, 0, 5, XDPSEC_SA_F_ESN, 1000, 64);
	sa_add("2001:db8::2", 0x6001, 0, 6, 0, 0, 64);
	sa_add("198.18.0.2", 0x2001, 4500, 7, 0, 11, 64);      /* seq 11 == top:
								  in window */
}

/* Per-peer steering (xdpsec_config.steer_cpus): through the CPUMAP when
 * the peer pair's slot is set; straight into the DEVMAP, counted, when it
 * is not.  Either way the frame is redirected with its tag. */
static void steer_run(__u32 steer_cpus, int want_steered, int want_fail)
{
	const struct fixture *fx = fx_get("esp4");
	static unsigned char out[FX_LEN_MAX + 256];
	struct xdpsec_config cfg = { .steer_cpus = steer_cpus };
	struct bpf_devmap_val dv = { .ifindex = lo_ifindex };
	__u64 before[XDPSEC_CNT__MAX], after[XDPSEC_CNT__MAX];
	__u32 k0 = 0, slot = XDPSEC_DEVMAP_FEEDBACK;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fx ? fx->pkt : NULL,
		    .data_size_in = fx ? fx->len : 0, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK_EQ(bpf_map_update_elem(cfg_fd, &k0, &cfg, BPF_ANY), 0);
	CHECK_EQ(bpf_map_update_elem(dev_fd, &slot, &dv, BPF_ANY), 0);
	CHECK_EQ(read_counters(before), 0);
	CHECK_EQ(bpf_prog_test_run_opts(prog_fd, &o), 0);
	CHECK_EQ(read_counters(after), 0);
	CHECK_EQ(o.retval, XDP_REDIRECT);
	for (int k = 0; k < XDPSEC_CNT__MAX; k++) {
		__u64 want = k == XDPSEC_CNT_CLASS_BASE + C(ESP) || k == REDIR;

		if (k == XDPSEC_CNT_STEERED)
			want = want_steered;
		if (k == XDPSEC_CNT_STEER_FAIL)
			want = want_fail;
		if (after[k] - before[k] != want) {
			fprintf(stderr, "  FAIL: steer_cpus %u: counter %d delta %llu, want %llu\n",
				steer_cpus, k, (unsigned long long)(after[k] - before[k]),
				(unsigned long long)want);
			tl_cur_failed = 1;
		}
	}
	/* [Ethernet 0x88B5][tag][IP] in place of [Ethernet][IP] */
	CHECK_EQ(o.data_size_out, fx->len + sizeof(struct xdpsec_tag));
}

TEST(steering)
{
	int cpumap_fd = bpf_map__fd(skel->maps.xdpsec_cpumap);
	struct bpf_cpumap_val v = { .qsize = 64 };
	__u32 k0 = 0, cfg_off_cpus = 0;

	/* steering is off again when this test ends */

	steer_run(0, 0, 0);                    /* off: no CPUMAP at all     */
	bpf_map_delete_elem(cpumap_fd, &k0);
	steer_run(1, 0, 1);                    /* on, slot empty: fallback  */
	CHECK_EQ(bpf_map_update_elem(cpumap_fd, &k0, &v, BPF_ANY), 0);
	steer_run(1, 1, 0);                    /* on, slot set: steered     */
	steer_run(XDPSEC_CPU_MAX + 1, 0, 0);   /* out of range: ignored     */
	CHECK_EQ(bpf_map_delete_elem(cpumap_fd, &k0), 0);
	steer_run(cfg_off_cpus, 0, 0);
}

/* The daemon killed: the kernel empties its sockets' XSKMAP slots, and with
 * slot 0 empty IPsec goes to the stack, counted, even though the feedback
 * slot is still set.  Plain traffic never depended on it. */
TEST(no_daemon_socket)
{
	const struct fixture *fx = fx_get("esp4");
	static unsigned char out[FX_LEN_MAX + 256];
	__u64 before[XDPSEC_CNT__MAX], after[XDPSEC_CNT__MAX];
	__u32 k0 = 0;
	int fd = xsk_socket__fd(xsk);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fx ? fx->pkt : NULL,
		    .data_size_in = fx ? fx->len : 0, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	CHECK(fx != NULL);
	if (!fx)
		return;
	CHECK_EQ(set_config(0, 0, 0, 1), 0);
	CHECK_EQ(bpf_map_delete_elem(xsks_fd, &k0), 0);
	CHECK_EQ(read_counters(before), 0);
	CHECK_EQ(bpf_prog_test_run_opts(prog_fd, &o), 0);
	CHECK_EQ(read_counters(after), 0);
	CHECK_EQ(o.retval, XDP_PASS);
	CHECK_EQ(after[NOCFG] - before[NOCFG], 1);
	CHECK_EQ(after[REDIR] - before[REDIR], 0);
	CHECK_EQ(o.data_size_out, fx->len);          /* untouched */
	CHECK_EQ(bpf_map_update_elem(xsks_fd, &k0, &fd, 0), 0);
	o.data_size_out = sizeof(out);
	CHECK_EQ(bpf_prog_test_run_opts(prog_fd, &o), 0);
	CHECK_EQ(o.retval, XDP_REDIRECT);
}

/* The daemon finds every map through the attached program: all five maps
 * must be bound to it. */
TEST(maps_bound_to_program)
{
	struct bpf_prog_info info = {};
	__u32 ids[16] = {}, len = sizeof(info);
	const struct bpf_map *want[] = { skel->maps.xdpsec_cnt, skel->maps.xdpsec_cfg,
		skel->maps.xdpsec_devmap, skel->maps.xdpsec_sa, skel->maps.xdpsec_sastate,
		skel->maps.xdpsec_cpumap, skel->maps.xdpsec_xsks, skel->maps.xdpsec_natt };

	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)ids;
	CHECK_EQ(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi), found = 0;

		CHECK_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(want[i]), &mi, &ml), 0);
		for (__u32 j = 0; j < info.nr_map_ids && j < 16; j++)
			found |= ids[j] == mi.id;
		CHECK(found);
	}
	CHECK(!strcmp(bpf_program__section_name(skel->progs.xdpsec_classify), "xdp"));
}

static void run_row(const struct row *r)
{
	const struct fixture *fx = fx_get(r->fx);
	static unsigned char out[FX_LEN_MAX + 256];
	__u64 before[XDPSEC_CNT__MAX], after[XDPSEC_CNT__MAX];
	struct xdp_md ctx_in = {}, ctx_out = {};
	LIBBPF_OPTS(bpf_test_run_opts, o);
	int err;

	if (!fx) {
		fprintf(stderr, "  FAIL: no fixture %s\n", r->fx);
		tl_cur_failed = 1;
		return;
	}
	CHECK_EQ(set_config(r->policy, r->flags, r->natt, r->devmap), 0);
	CHECK_EQ(set_peer(r->peer), 0);
	ctx_in.data_end = fx->len;
	ctx_in.ingress_ifindex = lo_ifindex;
	o.data_in = fx->pkt;
	o.data_size_in = fx->len;
	o.data_out = out;
	o.data_size_out = sizeof(out);
	o.ctx_in = &ctx_in;
	o.ctx_size_in = sizeof(ctx_in);
	o.ctx_out = &ctx_out;
	o.ctx_size_out = sizeof(ctx_out);
	o.repeat = 1;

	CHECK_EQ(read_counters(before), 0);
	err = bpf_prog_test_run_opts(prog_fd, &o);
	CHECK_EQ(read_counters(after), 0);
	if (r->refused) {
		CHECK_EQ(err, -EINVAL);
		for (int k = 0; k < XDPSEC_CNT__MAX; k++)
			CHECK_EQ(after[k] - before[k], 0);
		return;
	}
	CHECK_EQ(err, 0);
	if (err)
		return;
	CHECK_EQ(o.retval, r->verdict);

	/* every counter: +1 for the class and each listed extra, 0 elsewhere */
	for (int k = 0; k < XDPSEC_CNT__MAX; k++) {
		__u64 want = (k == XDPSEC_CNT_CLASS_BASE + r->cls);

		for (int e = 0; e < r->nextra; e++)
			want += r->extra[e] == k;
		if (after[k] - before[k] != want) {
			fprintf(stderr, "  FAIL [%s]: counter %d delta %llu, want %llu\n",
				r->fx, k, (unsigned long long)(after[k] - before[k]),
				(unsigned long long)want);
			tl_cur_failed = 1;
		}
	}

	/* A redirected frame carries the tag in-band, in place of its own
	 * Ethernet/VLAN header: [Ethernet 0x88B5][tag][IP], MACs kept. */
	CHECK_EQ(ctx_out.data, 0);    /* no XDP metadata, ever */
	if (r->meta) {
		struct xdpsec_tag m;
		size_t iplen = fx->len - r->l3_off;

		CHECK_EQ(o.data_size_out, XDPSEC_TAG_L3_OFF + iplen);
		if (o.data_size_out != XDPSEC_TAG_L3_OFF + iplen)
			return;
		CHECK_MEM(out, fx->pkt, 12);                    /* dst, src MAC */
		CHECK_EQ(out[12] << 8 | out[13], XDPSEC_TAG_ETHERTYPE);
		memcpy(&m, out + XDPSEC_TAG_OFF, sizeof(m));
		CHECK_EQ(m.magic, XDPSEC_TAG_MAGIC);
		CHECK_EQ(m.class, r->cls);
		CHECK_EQ(m.origin, XDPSEC_ORIGIN_WIRE);
		CHECK_EQ(m.layer, 0);
		CHECK_EQ(m.l3_off, XDPSEC_TAG_L3_OFF);
		CHECK_EQ(m.ingress_ifindex, lo_ifindex);
		CHECK_EQ(m.rx_queue, 0);
		CHECK_EQ(m.sa_index, 0xffffffffu);
		CHECK_EQ(m.spi, htonl(r->spi));
		CHECK_EQ(m.seq, r->seq);
		CHECK(m.path & XDPSEC_PATH_ESP);
		CHECK_EQ(!!(m.path & XDPSEC_PATH_FRAG_AFTER), r->cls != C(ESP));
		/* the IP datagram itself untouched */
		CHECK_MEM(out + XDPSEC_TAG_L3_OFF, fx->pkt + r->l3_off, iplen);
	} else {
		/* the frame is only tagged when it is redirected */
		CHECK_EQ(o.data_size_out, fx->len);
		if (o.data_size_out == fx->len)
			CHECK_MEM(out, fx->pkt, fx->len);
	}
}

/*
 * Robustness: every prefix of every fixture (every truncation point) and
 * every single-byte corruption of the first 80 bytes of each must give a
 * valid verdict and bump exactly one class counter per run.
 */
TEST(truncations_and_corruptions)
{
	static unsigned char buf[FX_LEN_MAX], out[FX_LEN_MAX + 256];
	__u64 before[XDPSEC_CNT__MAX], after[XDPSEC_CNT__MAX], runs = 0, cls = 0;
	__u64 verdicts[XDP_REDIRECT + 1] = { 0 };
	int bad = 0;

	CHECK_EQ(set_config(0, EARLY, 0, 1), 0);
	CHECK_EQ(set_peer(4500), 0);      /* the NAT-T pair paths too */
	CHECK_EQ(read_counters(before), 0);
	for (int i = 0; i < fx_n; i++) {
		const struct fixture *fx = &fx_tab[i];

		for (size_t len = 1; len <= fx->len; len += len < 128 ? 1 : 61) {
			for (int pos = -1; pos < 80 && pos < (int)len; pos += pos < 0 ? 1 : 3) {
				LIBBPF_OPTS(bpf_test_run_opts, o);

				memcpy(buf, fx->pkt, len);
				if (pos >= 0)
					buf[pos] ^= 0x5a + pos;
				o.data_in = buf;
				o.data_size_in = len;
				o.data_out = out;
				o.data_size_out = sizeof(out);
				o.repeat = 1;
				if (bpf_prog_test_run_opts(prog_fd, &o)) {
					bad += len >= 14;   /* see row "trunc_eth" */
					continue;
				}
				runs++;
				bad += o.retval != XDP_PASS && o.retval != XDP_DROP &&
				       o.retval != XDP_REDIRECT;
				if (o.retval <= XDP_REDIRECT)
					verdicts[o.retval]++;
				if (pos < 0 && len > 200)
					break;        /* long prefixes: truncation only */
			}
		}
	}
	CHECK_EQ(read_counters(after), 0);
	for (int c = 0; c < XDPSEC_CLASS__MAX; c++)
		cls += after[XDPSEC_CNT_CLASS_BASE + c] - before[XDPSEC_CNT_CLASS_BASE + c];
	CHECK_EQ(bad, 0);
	CHECK_EQ(cls, runs);
	/* the classify program's law (docs/counters.md): every frame passed,
	 * redirected or dropped, each counted by what happened to it */
#define DLT(k) (after[k] - before[k])
	CHECK_EQ(DLT(REDIR), verdicts[XDP_REDIRECT]);
	CHECK_EQ(DLT(MDROP) + DLT(EARLYD), verdicts[XDP_DROP]);
	CHECK_EQ(DLT(XDPSEC_CNT_CLASS_BASE + C(PLAIN)) + DLT(XDPSEC_CNT_CLASS_BASE + C(PLAIN_FRAG)) +
		 DLT(XDPSEC_CNT_CLASS_BASE + C(IKE)) + DLT(XDPSEC_CNT_CLASS_BASE + C(NATT_KEEPALIVE)) +
		 DLT(MPASS) + DLT(NOCFG) + DLT(XDPSEC_CNT_REDIRECT_FAIL) + DLT(XDPSEC_CNT_TAG_NO_ROOM),
		 verdicts[XDP_PASS]);
#undef DLT
	CHECK(runs > 10000);
	printf("        %llu mutated frames run\n", (unsigned long long)runs);
}

int main(void)
{
	const char *file = getenv("XDPSEC_FIXTURES");
	int n;

	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	ncpus = libbpf_num_possible_cpus();
	n = fx_load(file ? file : "tests/bpf/classify_fixtures.txt");
	if (n < 40) {
		fprintf(stderr, "fixtures not read (%d); run from the source tree "
			"or set XDPSEC_FIXTURES\n", n);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	xsk_fixture_netns();
	lo_ifindex = if_nametoindex("lo");
	skel = xdpsec_classify__open_and_load();
	if (!skel) {
		fprintf(stderr, "cannot load the classify program (root needed): %s\n",
			strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.xdpsec_classify);
	cnt_fd = bpf_map__fd(skel->maps.xdpsec_cnt);
	cfg_fd = bpf_map__fd(skel->maps.xdpsec_cfg);
	dev_fd = bpf_map__fd(skel->maps.xdpsec_devmap);
	sa_fd = bpf_map__fd(skel->maps.xdpsec_sa);
	st_fd = bpf_map__fd(skel->maps.xdpsec_sastate);
	xsks_fd = bpf_map__fd(skel->maps.xdpsec_xsks);
	natt_fd = bpf_map__fd(skel->maps.xdpsec_natt);
	/* a daemon's socket in slot 0: frames are redirected only then */
	if (xsk_fixture_socket(xsks_fd, &xsk, &umem)) {
		fprintf(stderr, "cannot bind an AF_XDP socket to lo: %s\n", strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}

	RUN(maps_bound_to_program);
	RUN(setup_sa);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		static char name[96];

		snprintf(name, sizeof(name), "row%02zu_%s", i, rows[i].fx);
		tl_cur_name = name;
		tl_cur_failed = 0;
		run_row(&rows[i]);
		if (tl_cur_failed) {
			tl_failed++;
			printf("not ok  %s\n", name);
		} else {
			tl_passed++;
			printf("ok      %s\n", name);
		}
	}
	RUN(steering);
	RUN(no_daemon_socket);
	RUN(truncations_and_corruptions);
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	xdpsec_classify__destroy(skel);
	return testlib_report();
}
