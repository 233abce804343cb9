// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_esp_life.c - hard lifetime limits in the ESP engine (user/esp/esp.c):
 * as the kernel's xfrm_input (check the limit, then decrypt and count), the
 * packet that reaches a byte or packet limit is delivered and every later
 * one is refused before decryption (ESP_DROP_EXPIRED, esp/state_expired),
 * its sequence number left out of the window; an SA marked expired by the
 * lifetime tick (sa_table_expire: time limits) likewise; `stats --reset`
 * does not bring an expired SA back.  Packets from tests/unit/esp_build.h.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "esp.h"
#include "sa_table.h"
#include "testlib.h"
#include "esp_build.h"

static uint8_t pkt[2048];

struct fx {
	struct sa_table *t;
	struct esp_ctx *c;
	struct xs_sa_config cfg;
	uint32_t idx;
	size_t inner_len;
};

static void fx_open(struct fx *f, uint64_t hard_packets, uint64_t hard_bytes)
{
	char err[160];

	memset(f, 0, sizeof(*f));
	f->cfg.dst.family = f->cfg.src.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.2", &f->cfg.dst.v4);
	inet_pton(AF_INET, "198.18.0.1", &f->cfg.src.v4);
	f->cfg.spi = 0x2000;
	f->cfg.proto = IPPROTO_ESP;
	f->cfg.mode = XS_MODE_TUNNEL;
	f->cfg.alg = XS_ALG_AES_GCM;
	f->cfg.enc_key_len = 20;
	f->cfg.icv_bits = 128;
	f->cfg.replay_window = 64;
	for (size_t i = 0; i < 20; i++)
		f->cfg.enc_key[i] = (uint8_t)(7 * i + 1);
	f->cfg.lft.hard_packets = hard_packets;
	f->cfg.lft.hard_bytes = hard_bytes;
	f->t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);
	CHECK(f->t != NULL);
	CHECK_EQ(sa_table_add(f->t, &f->cfg, &f->idx, err, sizeof(err)), 0);
	f->c = esp_ctx_new(f->t);
	CHECK(f->c != NULL);
}

static void fx_close(struct fx *f)
{
	esp_ctx_free(f->c);
	sa_table_free(f->t);
}

/* One tunnel-mode packet of sequence number seq: esp_input's verdict. */
static enum esp_drop fx_send(struct fx *f, uint64_t seq)
{
	uint8_t inner[100];
	struct esp_result res;
	size_t il = espb_inner_v4(inner, 40, 0xcd), n;

	f->inner_len = il;
	n = espb_build(pkt, sizeof(pkt), &f->cfg, seq, inner, il, 4, 0);
	if (!n)
		return ESP_DROP__MAX;
	esp_input(f->c, pkt, n, &res);
	return res.drop;
}

static struct sa_stats fx_stats(struct fx *f)
{
	struct sa_stats st;

	memset(&st, 0, sizeof(st));
	sa_table_get(f->t, &f->cfg.dst, f->cfg.spi, IPPROTO_ESP, NULL, NULL, &st, NULL);
	return st;
}

static uint64_t counter(struct fx *f, const char *name)
{
	struct xs_counter cs[64];
	size_t n = esp_counters(f->t, cs, 0, 64);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(cs[i].name, name))
			return cs[i].value;
	return UINT64_MAX;
}

TEST(hard_packets_last_one_delivered_then_refused)
{
	struct fx f;

	fx_open(&f, 3, 0);
	for (uint64_t seq = 1; seq <= 3; seq++)
		CHECK_EQ(fx_send(&f, seq), ESP_DROP_NONE);
	CHECK_EQ(fx_send(&f, 4), ESP_DROP_EXPIRED);
	CHECK_EQ(fx_send(&f, 5), ESP_DROP_EXPIRED);
	CHECK_EQ(fx_stats(&f).packets, 3);
	CHECK_EQ(fx_stats(&f).replay_top, 3);       /* refused before the window */
	CHECK_EQ(counter(&f, "state_expired"), 2);
	CHECK_EQ(counter(&f, "delivered"), 3);
	fx_close(&f);
}

TEST(hard_bytes_the_crossing_packet_counts)
{
	uint8_t inner[100];
	size_t il = espb_inner_v4(inner, 40, 0xcd);     /* what fx_send sends */
	struct fx f;

	/* a limit of two packets' bytes plus one: below, below, crossing
	 * (delivered: the kernel checks before it counts), then refused */
	fx_open(&f, 0, 2 * il + 1);
	CHECK_EQ(fx_send(&f, 1), ESP_DROP_NONE);
	CHECK_EQ(fx_send(&f, 2), ESP_DROP_NONE);
	CHECK_EQ(fx_send(&f, 3), ESP_DROP_NONE);
	CHECK_EQ(fx_send(&f, 4), ESP_DROP_EXPIRED);
	CHECK_EQ(fx_stats(&f).bytes, 3 * il);
	fx_close(&f);
}

TEST(marked_expired_by_the_tick)
{
	struct fx f;

	fx_open(&f, 0, 0);
	CHECK_EQ(fx_send(&f, 1), ESP_DROP_NONE);
	CHECK_EQ(sa_table_expire(f.t, f.idx), 0);
	CHECK_EQ(fx_send(&f, 2), ESP_DROP_EXPIRED);
	CHECK_EQ(fx_stats(&f).packets, 1);
	CHECK_EQ(sa_table_expire(f.t, f.idx + 1), -ENOENT);
	fx_close(&f);
}

TEST(stats_reset_does_not_revive)
{
	struct fx f;

	fx_open(&f, 2, 0);
	CHECK_EQ(fx_send(&f, 1), ESP_DROP_NONE);
	sa_table_reset_stats(f.t);
	CHECK_EQ(fx_send(&f, 2), ESP_DROP_NONE);     /* the second packet of its life */
	CHECK_EQ(fx_send(&f, 3), ESP_DROP_EXPIRED);
	sa_table_reset_stats(f.t);
	CHECK_EQ(fx_send(&f, 4), ESP_DROP_EXPIRED);
	fx_close(&f);
}

int main(void)
{
	RUN(hard_packets_last_one_delivered_then_refused);
	RUN(hard_bytes_the_crossing_packet_counts);
	RUN(marked_expired_by_the_tick);
	RUN(stats_reset_does_not_revive);
	return testlib_report();
}
