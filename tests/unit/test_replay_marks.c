// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_replay_marks.c - the replay edge never passes what is saved
 * (user/esp/replay_marks.h): on a guarded table a new SA accepts nothing
 * before its first mark is granted, stops at its ceiling, nudges the main
 * thread at the middle of its margin, gets a larger margin when it is
 * busy and a smaller one when idle; an unguarded table (tests, bench,
 * --state none) is not limited.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "testlib.h"
#include "esp.h"
#include "esp_build.h"
#include "replay_marks.h"

static struct xs_sa_config cfg;
static uint8_t pkt[4096];

static void cfg_gcm(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.dst.family = cfg.src.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.2", &cfg.dst.v4);
	inet_pton(AF_INET, "198.18.0.1", &cfg.src.v4);
	cfg.spi = 0x2000;
	cfg.proto = IPPROTO_ESP;
	cfg.mode = XS_MODE_TUNNEL;
	cfg.alg = XS_ALG_AES_GCM;
	cfg.enc_key_len = 20;
	cfg.icv_bits = 128;
	cfg.replay_window = 64;
	for (int i = 0; i < 20; i++)
		cfg.enc_key[i] = (uint8_t)(i * 7 + 1);
}

static enum esp_drop feed(struct esp_ctx *c, uint64_t seq)
{
	uint8_t inner[200];
	size_t il = espb_inner_v4(inner, 40, 0x5a), n;
	struct esp_result res;

	n = espb_build(pkt, sizeof(pkt), &cfg, seq, inner, il, 4, 0);
	if (!n)
		return ESP_DROP__MAX;
	esp_input(c, pkt, n, &res);
	return res.drop;
}

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int nudged(struct replay_marks *rm)
{
	struct pollfd p = { .fd = replay_marks_fd(rm), .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

struct got {
	unsigned n;
	uint64_t mark;
};

static void got_cb(uint32_t idx, const struct xs_sa_config *c, uint64_t mark, void *arg)
{
	struct got *g = arg;

	(void)idx;
	(void)c;
	g->n++;
	g->mark = mark;
}

TEST(unguarded_table_is_not_limited)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);
	struct esp_ctx *c;
	char err[128];

	cfg_gcm();
	CHECK_EQ(sa_table_add(t, &cfg, NULL, err, sizeof(err)), 0);
	c = esp_ctx_new(t);
	CHECK_EQ(feed(c, 1), ESP_DROP_NONE);
	CHECK_EQ(feed(c, 100000), ESP_DROP_NONE);
	esp_ctx_free(c);
	sa_table_free(t);
}

TEST(ceiling_nudge_and_grant)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);
	struct replay_marks *rm = replay_marks_new(t, 4);
	struct got g = { 0 };
	struct esp_ctx *c;
	uint32_t idx;
	char err[128];
	uint64_t m;

	cfg_gcm();
	CHECK(rm != NULL);
	CHECK_EQ(sa_table_add(t, &cfg, &idx, err, sizeof(err)), 0);
	replay_marks_reset(rm, idx);
	c = esp_ctx_new(t);

	/* nothing before the first mark is written and granted */
	CHECK_EQ(feed(c, 1), ESP_DROP_UNSAVED);
	CHECK(nudged(rm));
	CHECK_EQ(replay_marks_due(rm, mono(), got_cb, &g), 0);   /* nothing granted yet */
	m = replay_marks_mark(rm, idx, 0, false);
	CHECK_EQ(m, REPLAY_MARK_FIRST);
	replay_marks_unsaved(rm, idx);
	replay_marks_grant(rm, false);                      /* its add is not written */
	CHECK_EQ(feed(c, 1), ESP_DROP_UNSAVED);
	replay_marks_grant(rm, true);
	CHECK_EQ(feed(c, 1), ESP_DROP_NONE);
	CHECK(!nudged(rm));

	/* up to the ceiling, nudged at its middle, not beyond */
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST / 2 - 1), ESP_DROP_NONE);
	CHECK(!nudged(rm));
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST / 2), ESP_DROP_NONE);
	CHECK(nudged(rm));
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST), ESP_DROP_NONE);
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST + 1), ESP_DROP_UNSAVED);
	/* a replay stays a replay, beyond the ceiling or not */
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST), ESP_DROP_REPLAY);

	/* busy (the middle reached at once): a four times larger margin,
	 * in effect once written */
	CHECK_EQ(replay_marks_due(rm, mono(), got_cb, &g), 1);
	CHECK_EQ(g.mark, REPLAY_MARK_FIRST + 4ull * REPLAY_MARK_FIRST);
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST + 1), ESP_DROP_UNSAVED);
	replay_marks_grant(rm, false);
	CHECK_EQ(feed(c, REPLAY_MARK_FIRST + 1), ESP_DROP_NONE);
	CHECK_EQ(feed(c, g.mark), ESP_DROP_NONE);
	CHECK_EQ(feed(c, g.mark + 1), ESP_DROP_UNSAVED);

	esp_ctx_free(c);
	replay_marks_free(rm);
	sa_table_free(t);
}

TEST(idle_margin_shrinks_at_once)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);
	struct replay_marks *rm = replay_marks_new(t, 4);
	struct got g = { 0 };
	struct esp_ctx *c;
	uint32_t idx;
	char err[128];

	cfg_gcm();
	CHECK_EQ(sa_table_add(t, &cfg, &idx, err, sizeof(err)), 0);
	replay_marks_reset(rm, idx);
	c = esp_ctx_new(t);
	replay_marks_mark(rm, idx, 0, false);
	replay_marks_grant(rm, true);
	CHECK_EQ(feed(c, 5), ESP_DROP_NONE);
	/* idle for longer than REPLAY_MARK_IDLE_MS (now_ms is the caller's
	 * CLOCK_MONOTONIC: pretend time went by) */
	CHECK_EQ(replay_marks_due(rm, mono() + REPLAY_MARK_IDLE_MS + 1, got_cb, &g), 1);
	CHECK_EQ(g.mark, 5 + REPLAY_MARK_MIN);
	/* lower at once: a larger mark on disk is as safe */
	CHECK_EQ(feed(c, 5 + REPLAY_MARK_MIN + 1), ESP_DROP_UNSAVED);
	CHECK_EQ(feed(c, 5 + REPLAY_MARK_MIN), ESP_DROP_NONE);

	esp_ctx_free(c);
	replay_marks_free(rm);
	sa_table_free(t);
}

TEST(no_mark_beyond_the_sequence_space)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);
	struct replay_marks *rm = replay_marks_new(t, 4);
	uint32_t idx;
	char err[128];

	cfg_gcm();
	CHECK_EQ(sa_table_add(t, &cfg, &idx, err, sizeof(err)), 0);
	replay_marks_reset(rm, idx);
	CHECK_EQ(replay_marks_mark(rm, idx, 0xfffffff0ull, false), 0xffffffffull);
	replay_marks_reset(rm, idx);
	CHECK_EQ(replay_marks_mark(rm, idx, 0xfffffff0ull, true), 0xfffffff0ull + REPLAY_MARK_FIRST);
	replay_marks_free(rm);
	sa_table_free(t);
}

int main(void)
{
	RUN(unguarded_table_is_not_limited);
	RUN(ceiling_nudge_and_grant);
	RUN(idle_margin_shrinks_at_once);
	RUN(no_mark_beyond_the_sequence_space);
	return testlib_report();
}
