// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_replay.c - the RFC 6479 bitmap against a naive reference window,
 * and RFC 4304 ESN inference at the cycle boundaries. */
#include <stdlib.h>
#include "testlib.h"
#include "replay.h"

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

int main(void)
{
	RUN(matches_reference);
	RUN(set_top);
	RUN(esn_inference);
	return testlib_report();
}
