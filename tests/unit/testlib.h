/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * testlib.h - a minimal C test runner shared by every unit test.
 *
 *   TEST(name) { CHECK(cond); CHECK_EQ(a, b); CHECK_MEM(a, b, n); }
 *   int main(void) { RUN(name); ...; return testlib_report(); }
 *
 * A failed CHECK prints file:line and the expression, marks the current test
 * failed and continues with the next CHECK (so one run shows every failure).
 * testlib_report() prints "N passed, N failed" and returns the exit status.
 */
#ifndef XDPSEC_TESTLIB_H
#define XDPSEC_TESTLIB_H

#include <stdio.h>
#include <stdint.h>
#include <string.h>

static int tl_passed, tl_failed, tl_cur_failed;
static const char *tl_cur_name;

#define TEST(name) static void name(void)

#define CHECK(cond) do {                                                   \
	if (!(cond)) {                                                     \
		fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__,       \
			__LINE__, tl_cur_name, #cond);                     \
		tl_cur_failed = 1;                                         \
	}                                                                  \
} while (0)

#define CHECK_EQ(a, b) do {                                                \
	long long _a = (long long)(a), _b = (long long)(b);                \
	if (_a != _b) {                                                    \
		fprintf(stderr, "  FAIL %s:%d [%s]: %s == %s (%lld != %lld)\n", \
			__FILE__, __LINE__, tl_cur_name, #a, #b, _a, _b);  \
		tl_cur_failed = 1;                                         \
	}                                                                  \
} while (0)

#define CHECK_MEM(a, b, n) do {                                            \
	if (memcmp((a), (b), (n)) != 0) {                                  \
		fprintf(stderr, "  FAIL %s:%d [%s]: memcmp(%s, %s, %s)\n", \
			__FILE__, __LINE__, tl_cur_name, #a, #b, #n);      \
		tl_cur_failed = 1;                                         \
	}                                                                  \
} while (0)

#define RUN(name) do {                                                     \
	tl_cur_name = #name; tl_cur_failed = 0;                            \
	name();                                                            \
	if (tl_cur_failed) { tl_failed++; printf("not ok  %s\n", #name); } \
	else { tl_passed++; printf("ok      %s\n", #name); }               \
} while (0)

static inline int testlib_report(void)
{
	printf("%d passed, %d failed\n", tl_passed, tl_failed);
	return tl_failed ? 1 : 0;
}

#endif
