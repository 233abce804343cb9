/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * classify_fixtures.h - loads the packet fixtures printed by
 * tests/bpf/gen_fixtures.py (`NAME HEX` per line) for test_classify.c.
 * The generator runs at test time with /usr/bin/python3 so the ESP packets
 * always come from scapy's ESP implementation, never from our own code.
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

/* Runs the generator; returns the number of fixtures or -1. */
static int fx_load(const char *script)
{
	static char line[2 * FX_LEN_MAX + FX_NAME_MAX + 8];
	char cmd[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s", script);
	f = popen(cmd, "r");
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
	if (pclose(f) != 0)
		return -1;
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
