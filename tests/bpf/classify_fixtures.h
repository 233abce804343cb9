/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * classify_fixtures.h - loads the packet fixtures of test_classify.c:
 * tests/bpf/classify_fixtures.txt, `NAME HEX` per line, committed data
 * printed by tests/bpf/gen_fixtures.py (`make fixtures` writes it anew).
 * The ESP packets come from scapy's ESP implementation, never from our
 * own code; the test needs no Python.
 */
#ifndef XDPSEC_CLASSIFY_FIXTURES_H
#define XDPSEC_CLASSIFY_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX      128
#define FX_NAME_MAX 48
#define FX_LEN_MAX  4096

struct fixture {
	char name[FX_NAME_MAX];
	unsigned char *pkt;
	size_t len;
};

static struct fixture fx_tab[FX_MAX];
static int fx_n;

static int fx_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the fixture file; returns the number of fixtures or -1. */
static int fx_load(const char *path)
{
	static char line[2 * FX_LEN_MAX + FX_NAME_MAX + 8];
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fx_n < FX_MAX && fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		struct fixture *x = &fx_tab[fx_n];
		size_t i, hl;

		if (!sp || (size_t)(sp - line) >= FX_NAME_MAX)
			continue;
		*sp++ = 0;
		hl = strcspn(sp, "\r\n");
		if (hl % 2 || hl / 2 > FX_LEN_MAX)
			continue;
		memcpy(x->name, line, (size_t)(sp - line));   /* < FX_NAME_MAX */
		x->len = hl / 2;
		x->pkt = malloc(x->len ? x->len : 1);
		if (!x->pkt)
			break;
		for (i = 0; i < x->len; i++) {
			int hi = fx_hexval(sp[2 * i]), lo = fx_hexval(sp[2 * i + 1]);

			if (hi < 0 || lo < 0)
				break;
			x->pkt[i] = (unsigned char)(hi << 4 | lo);
		}
		if (i != x->len) {
			free(x->pkt);
			continue;
		}
		fx_n++;
	}
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return fx_n;
}

static const struct fixture *fx_get(const char *name)
{
	for (int i = 0; i < fx_n; i++)
		if (!strcmp(fx_tab[i].name, name))
			return &fx_tab[i];
	return NULL;
}

#endif
