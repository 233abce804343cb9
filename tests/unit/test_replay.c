// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_replay.c - the RFC 6479 bitmap against a naive reference window,
 * and RFC 4304 ESN inference at the cycle boundaries. */
#include <stdlib.h>
#include "testlib.h"
#include "replay.h"
#include "replay_arrived.h"

/* Reference: a set of accepted numbers and the right edge. */
struct ref { uint64_t top; uint32_t w; unsigned char seen[1 << 16]; };

static int ref_accept(struct ref *r, uint64_t s)
{
	if (s == 0)
		return -1;
	if (s > r->top) {
		r->top = s;
		r->seen[s] = 1;
		return 0;
	}
	if (r->top - s >= r->w || r->seen[s])
		return -1;
	r->seen[s] = 1;
	return 0;
}

TEST(matches_reference)
{
	static const uint32_t wins[] = { 32, 64, 65, 127, 128, 1000, 4096 };
	static struct ref ref;
	size_t w;
	int i, bad = 0;

	srand(42);
	for (w = 0; w < sizeof(wins) / sizeof(wins[0]); w++) {
		struct replay *r = malloc(replay_size(wins[w]));

		replay_init(r, wins[w]);
		memset(&ref, 0, sizeof(ref));
		ref.w = wins[w];
		for (i = 0; i < 200000; i++) {
			/* mostly forward with jitter, sometimes big jumps, never past 65535 */
			uint64_t base = ref.top, s;
			int k = rand() % 100;

			if (k < 70)
				s = base + (uint64_t)(rand() % 8) - 4;
			else if (k < 95)
				s = base > 5000 ? base - (uint64_t)(rand() % 5000) : (uint64_t)(rand() % 5000);
			else
				s = base + (uint64_t)(rand() % (2 * wins[w] + 200));
			if (s >= 65535 || (int64_t)s < 0)
				s = (uint64_t)(rand() % 100);
			if ((replay_check(r, s) == 0) != (ref.top < s || (ref.top - s < ref.w && !ref.seen[s] && s)))
				bad++;
			if (replay_update(r, s) != ref_accept(&ref, s))
				bad++;
			if (r->top != ref.top)
				bad++;
			if (ref.top > 60000)
				break;
		}
		CHECK_EQ(bad, 0);
		free(r);
	}
}

TEST(set_top)
{
	struct replay *r = malloc(replay_size(64));

	replay_init(r, 64);
	replay_set_top(r, 1000);
	CHECK_EQ(replay_check(r, 1000), -1);
	CHECK_EQ(replay_check(r, 990), -1);
	CHECK_EQ(replay_check(r, 1001), 0);
	CHECK_EQ(replay_update(r, 1003), 0);
	CHECK_EQ(replay_check(r, 1002), 0);      /* right of the old edge: fresh */
	CHECK_EQ(replay_check(r, 1001), 0);
	CHECK_EQ(replay_check(r, 1000), -1);
	replay_set_top(r, 127);                  /* last bit of a word */
	CHECK_EQ(replay_check(r, 127), -1);
	CHECK_EQ(replay_check(r, 128), 0);
	free(r);
}

TEST(esn_inference)
{
	uint64_t s;

	/* case A: window inside one cycle */
	CHECK_EQ(replay_esn_infer(0x500000100ull, 64, 0x100, &s), 0);
	CHECK_EQ(s, 0x500000100ull);
	CHECK_EQ(replay_esn_infer(0x500000100ull, 64, 0xc1, &s), 0);   /* oldest in window */
	CHECK_EQ(s, 0x5000000c1ull);
	CHECK_EQ(replay_esn_infer(0x500000100ull, 64, 0xc0, &s), 0);   /* left: next cycle */
	CHECK_EQ(s, 0x6000000c0ull);
	/* case B: window straddles the wrap */
	CHECK_EQ(replay_esn_infer(0x500000010ull, 64, 0xfffffff0u, &s), 0);
	CHECK_EQ(s, 0x4fffffff0ull);
	CHECK_EQ(replay_esn_infer(0x500000010ull, 64, 0x20, &s), 0);
	CHECK_EQ(s, 0x500000020ull);
	/* nothing before cycle 0 */
	CHECK_EQ(replay_esn_infer(0x10, 64, 0xfffffff0u, &s), -1);
	/* nothing after the last cycle */
	CHECK_EQ(replay_esn_infer(0xffffffff00000100ull, 64, 0x10, &s), -1);
	/* window 0 infers as 32 */
	CHECK_EQ(replay_esn_infer(0x100000100ull, 0, 0xe1, &s), 0);
	CHECK_EQ(s, 0x1000000e1ull);
	CHECK_EQ(replay_esn_infer(0x100000100ull, 0, 0xe0, &s), 0);
	CHECK_EQ(s, 0x2000000e0ull);
}

/* Arrival records against a reference: a list in insertion order, the
 * oldest evicted when REPLAY_ARRIVED_MAX are kept, a number recorded once,
 * only numbers the window would take.  Mostly FIFO takes (the datagrams
 * come back in completion order), some out of order, some never. */
TEST(arrived_matches_reference)
{
	static struct replay_arrived a;
	static uint64_t ref[4 * REPLAY_ARRIVED_MAX];
	struct replay *r = malloc(replay_size(64));
	size_t nref = 0, i;
	uint64_t next = 1;
	int k, bad = 0, evicted = 0;

	replay_init(r, 64);
	memset(&a, 0, sizeof(a));
	srand(7);
	for (k = 0; k < 400000; k++) {
		/* phases: records pile up (up to eviction), then drain */
		int op = rand() % 100, ins = (k / 5000) % 2 ? 85 : 40;
		uint64_t s;

		if (op < ins) {                         /* a datagram completes */
			enum replay_note want, got;
			bool known = false;

			s = rand() % 8 ? next++ : next - 1 - (uint64_t)(rand() % 200);
			if (s == 0 || s >= next)
				s = next++;
			for (i = 0; i < nref; i++)
				known |= ref[i] == s;
			want = known ? REPLAY_NOTE_KNOWN : replay_check(r, s) ? REPLAY_NOTE_SEEN
				: nref == REPLAY_ARRIVED_MAX ? REPLAY_NOTE_EVICTED : REPLAY_NOTE_NEW;
			got = replay_arrived_note(&a, r, s);
			bad += got != want;
			if (want == REPLAY_NOTE_EVICTED) {
				memmove(ref, ref + 1, --nref * sizeof(ref[0]));
				evicted++;
			}
			if (want == REPLAY_NOTE_NEW || want == REPLAY_NOTE_EVICTED)
				ref[nref++] = s;
		} else if (op < ins + 10 + (100 - ins) / 2 && nref) {   /* one comes back */
			size_t j = rand() % 4 ? 0 : (size_t)rand() % nref;

			s = ref[j];
			bad += !replay_arrived_find(&a, s, false);
			bad += !replay_arrived_take(&a, s);
			bad += replay_arrived_take(&a, s);     /* once */
			memmove(ref + j, ref + j + 1, (--nref - j) * sizeof(ref[0]));
			replay_update(r, s);
		} else {                                /* a whole packet accepted */
			s = next++;
			for (i = 0; i < nref; i++)
				bad += ref[i] == s;
			bad += replay_arrived_take(&a, s);
			replay_update(r, s);
		}
		bad += a.live != nref;
	}
	CHECK_EQ(bad, 0);
	CHECK(evicted > 0);
	/* ESN: the low half finds the full number, near the edge only */
	memset(&a, 0, sizeof(a));
	replay_init(r, 64);
	replay_set_top(r, 0x100000000ull);
	CHECK_EQ(replay_arrived_note(&a, r, 0x100000010ull), REPLAY_NOTE_NEW);
	{
		uint64_t got = 0;

		CHECK(replay_arrived_lo(&a, 0x100000400ull, 0x10, &got) && got == 0x100000010ull);
		CHECK(!replay_arrived_lo(&a, 0x100000400ull, 0x11, &got));
		CHECK(!replay_arrived_lo(&a, 0x100000000ull, 0x10, &got));    /* above the edge */
		CHECK(!replay_arrived_lo(&a, 0x200000010ull, 0x10, &got));    /* 2^32 below */
	}
	free(r);
}

int main(void)
{
	RUN(matches_reference);
	RUN(set_top);
	RUN(esn_inference);
	RUN(arrived_matches_reference);
	return testlib_report();
}
