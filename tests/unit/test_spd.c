// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_spd.c - the inbound SPD check (user/spd/spd.c) on the packet bytes
 * it is handed: it reads them with the classifier's parser
 * (headers/xdpsec_parse.h), so what that parser refuses is refused here
 * too (HdrError), and a non-first fragment has no ports to exempt.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "testlib.h"
#include "esp_build.h"
#include "spd.h"
#include "xdpsec_common.h"
#include "xdpsec_parse.h"

#define NONE 0xffffffffu        /* SA_INDEX_NONE: arrived in clear */

static struct spd *spd;

/* dir in, 198.19.1.0/24 -> 198.19.2.0/24 (and 2001:db8:1::/48 ->
 * 2001:db8:2::/48), ESP tunnel required */
static void add_policies(void)
{
	char err[128];

	for (int v6 = 0; v6 < 2; v6++) {
		struct xs_policy p;

		memset(&p, 0, sizeof(p));
		p.sel.family = v6 ? AF_INET6 : AF_INET;
		p.sel.src.family = p.sel.dst.family = p.sel.family;
		if (v6) {
			inet_pton(AF_INET6, "2001:db8:1::", &p.sel.src.v6);
			inet_pton(AF_INET6, "2001:db8:2::", &p.sel.dst.v6);
			p.sel.src_plen = p.sel.dst_plen = 48;
		} else {
			inet_pton(AF_INET, "198.19.1.0", &p.sel.src.v4);
			inet_pton(AF_INET, "198.19.2.0", &p.sel.dst.v4);
			p.sel.src_plen = p.sel.dst_plen = 24;
		}
		p.dir = XS_DIR_IN;
		p.action = XS_ACT_ALLOW;
		p.origin = XS_ORIGIN_MANUAL;
		p.n_tmpl = 1;
		p.tmpl[0].proto = IPPROTO_ESP;
		p.tmpl[0].mode = XS_MODE_TUNNEL;
		CHECK_EQ(spd_add(spd, &p, false, err, sizeof(err)), 0);
	}
}

/* IPv4 UDP 198.19.1.5 -> 198.19.2.5, dport given; frag_off in 8-byte units */
static size_t udp4(uint8_t *b, uint16_t dport, uint16_t frag_off, int more)
{
	uint16_t fo = (uint16_t)(frag_off | (more ? 0x2000 : 0));
	size_t len = 20 + 8 + 16;

	memset(b, 0, len);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[6] = (uint8_t)(fo >> 8);
	b[7] = (uint8_t)fo;
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "198.19.1.5", b + 12);
	inet_pton(AF_INET, "198.19.2.5", b + 16);
	espb_fix_csum4(b);
	/* what sits where the ports would be */
	b[20] = 0x30;
	b[22] = (uint8_t)(dport >> 8);
	b[23] = (uint8_t)dport;
	b[25] = 24;
	return len;
}

/* IPv6 UDP 2001:db8:1::5 -> 2001:db8:2::5 behind n destination-options
 * headers of 8 bytes */
static size_t udp6(uint8_t *b, int n)
{
	size_t len = 40 + (size_t)n * 8 + 8 + 16, off = 40;

	memset(b, 0, len);
	b[0] = 0x60;
	b[4] = (uint8_t)((len - 40) >> 8);
	b[5] = (uint8_t)(len - 40);
	b[6] = n ? XDPSEC_IPPROTO_DSTOPTS : IPPROTO_UDP;
	b[7] = 64;
	inet_pton(AF_INET6, "2001:db8:1::5", b + 8);
	inet_pton(AF_INET6, "2001:db8:2::5", b + 24);
	for (int i = 0; i < n; i++, off += 8) {
		b[off] = i + 1 < n ? XDPSEC_IPPROTO_DSTOPTS : IPPROTO_UDP;
		b[off + 1] = 0;         /* 8 bytes */
		b[off + 2] = 1;         /* PadN over the rest */
		b[off + 3] = 4;
	}
	b[off + 3] = 9;
	b[off + 5] = 24;
	return len;
}

TEST(plaintext_under_esp_policy_refused)
{
	uint8_t b[256];

	CHECK_EQ(spd_check(spd, b, udp4(b, 9, 0, 0), NONE), SPD_TMPL_MISMATCH);
	CHECK_EQ(spd_check(spd, b, udp6(b, 0), NONE), SPD_TMPL_MISMATCH);
	/* IKE in clear is exempt (UDP to 4500) */
	CHECK_EQ(spd_check(spd, b, udp4(b, 4500, 0, 0), NONE), SPD_PASS);
}

/* A non-first fragment has no transport header: payload bytes that read
 * like UDP port 4500 do not make it IKE. */
TEST(non_first_fragment_has_no_ports)
{
	uint8_t b[256];

	CHECK_EQ(spd_check(spd, b, udp4(b, 4500, 0, 1), NONE), SPD_PASS);
	CHECK_EQ(spd_check(spd, b, udp4(b, 4500, 3, 0), NONE), SPD_TMPL_MISMATCH);
}

/* The parser's depth limit (XDPSEC_IPV6_EXT_MAX) is the SPD's: a chain
 * one header longer is not read past, and the packet is refused. */
TEST(extension_depth_is_the_parsers)
{
	uint8_t b[512];

	CHECK_EQ(spd_check(spd, b, udp6(b, XDPSEC_IPV6_EXT_MAX), NONE), SPD_TMPL_MISMATCH);
	CHECK_EQ(spd_check(spd, b, udp6(b, XDPSEC_IPV6_EXT_MAX + 1), NONE), SPD_HDR_ERROR);
	/* truncated: the last extension header says 16 bytes, 8 are there */
	udp6(b, 1);
	b[41] = 1;
	b[4] = 0;
	b[5] = 8;
	CHECK_EQ(spd_check(spd, b, 40 + 8, NONE), SPD_HDR_ERROR);
}

TEST(counted_under_the_kernels_names)
{
	struct xs_counter c[SPD__MAX];
	size_t n = spd_counters(spd, c, 0, SPD__MAX, NULL);
	int seen = 0;

	CHECK_EQ(n, (size_t)(SPD__MAX - 1));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c[i].name, "HdrError")) {
			CHECK(c[i].value >= 2);
			seen = 1;
		}
	CHECK(seen);
	CHECK(!strcmp(spd_verdict_name(SPD_HDR_ERROR), "HdrError"));
}

int main(void)
{
	spd = spd_new();
	CHECK(spd != NULL);
	add_policies();
	RUN(plaintext_under_esp_policy_refused);
	RUN(non_first_fragment_has_no_ports);
	RUN(extension_depth_is_the_parsers);
	RUN(counted_under_the_kernels_names);
	spd_free(spd);
	return testlib_report();
}
