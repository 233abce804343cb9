// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_events.c - the event stream (user/daemon/events.c): peer addresses taken
 * from a packet's IP header, per-type rate limiting with the lock-free
 * refusal, and an exact account of every post under contention
 * (admitted + suppressed + lost == posted). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "testlib.h"
#include "events.h"

struct sink {
	struct event ev[EVENTS_RING];
	size_t n;
};

static void collect(const struct event *e, void *arg)
{
	struct sink *s = arg;

	if (s->n < EVENTS_RING)
		s->ev[s->n] = *e;
	s->n++;
}

static size_t drain(struct events *ev, struct sink *s)
{
	s->n = 0;
	/* events_drain reads the eventfd first; loop until nothing is left */
	while (events_drain(ev, collect, s))
		;
	return s->n;
}

TEST(peer_addresses_from_ip_header)
{
	static struct sink s;
	struct events *ev = events_new();
	uint8_t v4[20] = { 0x45 }, v6[40] = { 0x60 }, junk[8] = { 0x45 };

	v4[12] = 198; v4[13] = 18; v4[14] = 0; v4[15] = 1;
	v4[16] = 198; v4[17] = 18; v4[18] = 0; v4[19] = 2;
	v6[8] = 0x20; v6[9] = 0x01; v6[10] = 0x0d; v6[11] = 0xb8; v6[23] = 1;
	v6[24] = 0x20; v6[25] = 0x01; v6[26] = 0x0d; v6[27] = 0xb8; v6[39] = 2;
	events_post_ip(ev, "auth_fail", v4, sizeof(v4), "SPI 0x%08x", 0x1000u);
	events_post_ip(ev, "replay", v6, sizeof(v6), "SPI 0x%08x", 0x1001u);
	events_post_ip(ev, "reasm_drop", junk, sizeof(junk), "short");
	events_post_peer(ev, "limit_hit", "198.18.0.1", NULL, "SA table full");
	events_post(ev, "sa_added", "no peers");
	CHECK_EQ(drain(ev, &s), 5);
	CHECK(!strcmp(s.ev[0].type, "auth_fail"));
	CHECK(!strcmp(s.ev[0].src, "198.18.0.1") && !strcmp(s.ev[0].dst, "198.18.0.2"));
	CHECK(!strcmp(s.ev[0].msg, "SPI 0x00001000"));
	CHECK(!strcmp(s.ev[1].src, "2001:db8::1") && !strcmp(s.ev[1].dst, "2001:db8::2"));
	CHECK(!s.ev[2].src[0] && !s.ev[2].dst[0]);
	CHECK(!strcmp(s.ev[3].src, "198.18.0.1") && !s.ev[3].dst[0]);
	CHECK(!s.ev[4].src[0] && !strcmp(s.ev[4].msg, "no peers"));
	events_free(ev);
}

TEST(rate_limited_per_type_with_suppressed_count)
{
	static struct sink s;
	struct events *ev = events_new();
	struct timespec ts = { 0, 120 * 1000 * 1000 };  /* > 2 tokens at EVENTS_RATE 20/s */

	for (int i = 0; i < EVENTS_BURST + 30; i++)
		events_post(ev, "auth_fail", "%d", i);
	events_post(ev, "replay", "another type has its own bucket");
	CHECK_EQ(drain(ev, &s), EVENTS_BURST + 1);
	CHECK_EQ(events_suppressed_total(ev), 30);
	nanosleep(&ts, NULL);
	events_post(ev, "auth_fail", "after a pause");
	events_post(ev, "auth_fail", "second token");
	CHECK_EQ(drain(ev, &s), 2);
	CHECK(!strcmp(s.ev[0].msg, "after a pause"));
	CHECK_EQ(s.ev[0].suppressed, 30);       /* the refused ones, told once */
	CHECK_EQ(s.ev[1].suppressed, 0);
	events_free(ev);
}

struct hammer {
	struct events *ev;
	int n;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	uint8_t v4[20] = { 0x45 };

	for (int i = 0; i < h->n; i++)
		events_post_ip(h->ev, i & 1 ? "auth_fail" : "replay", v4, sizeof(v4), "%d", i);
	return NULL;
}

TEST(every_post_accounted_under_contention)
{
	static struct sink s;
	struct hammer h = { events_new(), 200000 };
	pthread_t t[4];
	size_t got;

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer_main, &h);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	got = drain(h.ev, &s);
	CHECK(got >= 2 * EVENTS_BURST);
	CHECK(got < 2 * EVENTS_BURST + 200);     /* 20/s per type over a short run */
	CHECK_EQ(got + events_suppressed_total(h.ev) + events_lost(h.ev), 4 * 200000);
	events_free(h.ev);
}

int main(void)
{
	RUN(peer_addresses_from_ip_header);
	RUN(rate_limited_per_type_with_suppressed_count);
	RUN(every_post_accounted_under_contention);
	return testlib_report();
}
