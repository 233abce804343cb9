// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_esp.c - arbitrary bytes into esp_input with fixed SAs (GCM tunnel,
 * ChaCha20 transport + ESN, CBC-HMAC over UDP, GMAC tunnel + ESN, NULL
 * encryption + HMAC-SHA1 with a key longer than the block, all to
 * 198.18.0.2 / 2001:db8::2).
 * Nothing may crash (ASan/UBSan), a delivery must lie inside the input,
 * and -- the oracle for "nothing delivered without a valid ICV" -- every
 * input goes through both crypto backends (ipsec-mb, OpenSSL), which must
 * agree on the verdict and on every delivered byte: a backend that skipped
 * or botched its tag check would deliver where the other drops.
 * A third table (ipsec-mb) takes the input CRYPTO_QUEUE_MIN times in one
 * esp_input_burst: there CBC+HMAC goes through queued multi-buffer jobs
 * (esp_input uses the OpenSSL twin for a lone packet); the first copy must
 * get exactly what esp_input gave, each other copy is a replay if the first
 * moved the window, else gets the same verdict.
 * Seeds (tests/fuzz/seeds/fuzz_esp) are authentic packets for these SAs, so
 * the fuzzer starts from inputs that get past the ICV.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esp.h"
#include "../unit/esp_build.h"

static struct sa_table *tabs[3];
static struct esp_ctx *ctxs[3];
static uint8_t buf[65536 + 64];

static void add(struct sa_table *t, uint8_t fam, uint32_t spi, uint8_t alg, uint8_t auth,
		uint8_t mode, int esn, int encap)
{
	struct xs_sa_config c;
	char err[128];

	memset(&c, 0, sizeof(c));
	c.dst.family = fam;
	if (fam == AF_INET)
		inet_pton(AF_INET, "198.18.0.2", &c.dst.v4);
	else
		inet_pton(AF_INET6, "2001:db8::2", &c.dst.v6);
	c.spi = spi;
	c.proto = IPPROTO_ESP;
	c.mode = mode;
	c.alg = alg;
	c.auth = auth;
	memset(c.enc_key, 0x5a, sizeof(c.enc_key));
	memset(c.auth_key, 0xa5, sizeof(c.auth_key));
	c.enc_key_len = alg == XS_ALG_AES_CBC ? 16 : alg == XS_ALG_NULL ? 0 :
			alg == XS_ALG_AES_GCM || alg == XS_ALG_AES_GMAC ? 20 : 36;
	c.auth_key_len = alg == XS_ALG_NULL ? 100 : 32;    /* longer than the block */
	c.icv_bits = alg == XS_ALG_AES_GCM || alg == XS_ALG_NULL ? 96 : 128;
	c.replay_window = 64;
	c.esn = esn;
	c.encap = encap;
	c.encap_sport = c.encap_dport = 4500;
	if (sa_table_add(t, &c, NULL, err, sizeof(err)))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc; (void)argv;
	for (i = 0; i < 3; i++) {
		tabs[i] = sa_table_new(16, i == 1 ? CRYPTO_BACKEND_OPENSSL : CRYPTO_BACKEND_IPSECMB);
		add(tabs[i], AF_INET, 0x100, XS_ALG_AES_GCM, XS_AUTH_NONE, XS_MODE_TUNNEL, 0, 0);
		add(tabs[i], AF_INET, 0x200, XS_ALG_CHACHA20_POLY1305, XS_AUTH_NONE, XS_MODE_TRANSPORT, 1, 0);
		add(tabs[i], AF_INET, 0x300, XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA256, XS_MODE_TUNNEL, 0, 1);
		add(tabs[i], AF_INET6, 0x100, XS_ALG_AES_GCM, XS_AUTH_NONE, XS_MODE_TRANSPORT, 1, 0);
		add(tabs[i], AF_INET, 0x400, XS_ALG_AES_GMAC, XS_AUTH_NONE, XS_MODE_TUNNEL, 1, 0);
		add(tabs[i], AF_INET, 0x500, XS_ALG_NULL, XS_AUTH_HMAC_SHA1, XS_MODE_TRANSPORT, 0, 0);
		ctxs[i] = esp_ctx_new(tabs[i]);
	}
	/* seeds: write one authentic packet per SA when asked */
	if (getenv("FUZZ_ESP_WRITE_SEEDS")) {
		const char *dir = getenv("FUZZ_ESP_WRITE_SEEDS");
		uint8_t inner[100], pkt[300];
		struct xs_sa_config c;
		size_t il = espb_inner_v4(inner, 24, 0x11), n;
		uint32_t spis[] = { 0x100, 0x200, 0x300, 0x400, 0x500 };
		char path[512];
		FILE *f;

		for (i = 0; i < (int)(sizeof(spis) / sizeof(spis[0])); i++) {
			struct xs_addr d = { .family = AF_INET };

			inet_pton(AF_INET, "198.18.0.2", &d.v4);
			sa_table_get(tabs[0], &d, spis[i], IPPROTO_ESP, NULL, &c, NULL, NULL);
			n = espb_build(pkt + 1, sizeof(pkt) - 1, &c, 7, inner, il,
				       c.mode == XS_MODE_TUNNEL ? 4 : 17, 0);
			snprintf(path, sizeof(path), "%s/sa%x", dir, spis[i]);
			f = fopen(path, "wb");
			if (f) {
				fwrite(pkt + 1, 1, n, f);
				fclose(f);
			}
		}
	}
	return 0;
}

#define NCOPY CRYPTO_QUEUE_MIN
static uint8_t buf2[65536 + 64], buf3[NCOPY][65536 + 64], fixed[65536];

/* Verdicts after which the window holds the packet's sequence number. */
static int moved_window(enum esp_drop d)
{
	return d == ESP_DROP_NONE || d == ESP_DROP_PAD || d == ESP_DROP_TFC ||
	       d == ESP_DROP_BAD_NEXT_HDR || d == ESP_DROP_BAD_INNER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esp_result r1, r2, rb[NCOPY];
	uint8_t *bp[NCOPY];
	size_t bl[NCOPY];
	unsigned ok, i;
	int rc1, rc2;

	if (size > 65536)
		return 0;
	/* esp_input drops an IPv4 packet whose header checksum is wrong
	 * (ESP_DROP_BAD_CSUM) before anything else: set it right so that
	 * mutated headers reach the rest, except when the field is 0 (then
	 * the drop itself is exercised) */
	if (size >= 20 && data[0] >> 4 == 4 && (data[10] | data[11]) &&
	    (size_t)(data[0] & 15) * 4 >= 20 && (size_t)(data[0] & 15) * 4 <= size) {
		memcpy(fixed, data, size);
		espb_fix_csum4(fixed);
		data = fixed;
	}
	/* as if the input were a reassembled datagram, in every table alike
	 * (arrival records, user/esp/replay_arrived.h): reads the input only
	 * (libFuzzer's input is read-only memory) and changes no verdict of
	 * the packet itself */
	for (i = 0; i < 3; i++)
		esp_note_arrival(ctxs[i], data, size);
	memcpy(buf, data, size);
	memcpy(buf2, data, size);
	for (i = 0; i < NCOPY; i++) {
		memcpy(buf3[i], data, size);
		bp[i] = buf3[i];
		bl[i] = size;
	}
	rc1 = esp_input(ctxs[0], buf, size, &r1);
	rc2 = esp_input(ctxs[1], buf2, size, &r2);
	ok = esp_input_burst(ctxs[2], bp, bl, NCOPY, rb);
	if (rc1 != rc2 || r1.drop != r2.drop)
		abort();
	if (rc1 == 0) {
		if (!r1.data || r1.data < buf || r1.data + r1.len > buf + size ||
		    r1.sa_index == SA_INDEX_NONE || r1.len != r2.len ||
		    r1.data - buf != r2.data - buf2 || memcmp(r1.data, r2.data, r1.len))
			abort();
	} else if (r1.data || r2.data || r1.drop == ESP_DROP_NONE || r1.drop >= ESP_DROP__MAX) {
		abort();
	}
	/* the burst: first copy as esp_input, the others replays or the same */
	if (rb[0].drop != r1.drop || ok != (rc1 == 0) || rb[0].len != r1.len ||
	    (!rb[0].data) != (!r1.data) ||
	    (r1.data && (rb[0].data - buf3[0] != r1.data - buf || memcmp(rb[0].data, r1.data, r1.len))))
		abort();
	for (i = 1; i < NCOPY; i++)
		if (rb[i].data || rb[i].drop != (moved_window(r1.drop) ? ESP_DROP_REPLAY : r1.drop))
			abort();
	return 0;
}
