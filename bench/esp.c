// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench/esp.c - decrypt packets/s on one core: the engine's full inbound
 * processing (esp_input: parse, SA lookup, replay, ICV+decrypt, trailer,
 * header rebuild) against the raw library call (ipsec-mb direct API, or
 * OpenSSL EVP with the key already set) on the same buffers in the same
 * run.  Both loops copy the packet into a work buffer first (decryption is
 * in place), so the copy cancels out of the ratio.  Not a test.
 *
 *   build/bench/esp [seconds-per-case, default 0.3]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#include "esp.h"
#include "../tests/unit/esp_build.h"

#define NPKT 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct cse { const char *name; uint8_t alg, auth; uint8_t kl; uint16_t icv; uint8_t akl; };
static const struct cse cases[] = {
	{ "rfc4106(gcm(aes))-128", XS_ALG_AES_GCM, XS_AUTH_NONE, 20, 128, 0 },
	{ "rfc4106(gcm(aes))-256", XS_ALG_AES_GCM, XS_AUTH_NONE, 36, 128, 0 },
	{ "rfc7539esp(chacha20,poly1305)", XS_ALG_CHACHA20_POLY1305, XS_AUTH_NONE, 36, 128, 0 },
	{ "cbc(aes)-128+hmac(sha1)", XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA1, 16, 96, 20 },
	{ "cbc(aes)-128+hmac(sha256)", XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA256, 16, 128, 32 },
	{ "cbc(aes)-256+hmac(sha512)", XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA512, 32, 256, 64 },
};
static const size_t sizes[] = { 64, 512, 1400, 8192 };

static uint8_t *pkts[NPKT], work[16384];
static size_t plen;

/* Raw library open of packet p (outer IPv4, plain ESP, AEAD). */
struct raw {
	IMB_MGR *m;
	struct gcm_key_data gk __attribute__((aligned(64)));
	EVP_CIPHER_CTX *cx;
	const struct xs_sa_config *c;
	int imb;
};

static int raw_open(struct raw *r, uint8_t *p, size_t n)
{
	uint8_t *esp = p + 20, nonce[12], tag[16], *ct = esp + 16;
	size_t icv = r->c->icv_bits / 8, ctl = n - 20 - 16 - icv, kl = r->c->enc_key_len - 4u;
	int outl;

	memcpy(nonce, r->c->enc_key + kl, 4);
	memcpy(nonce + 4, esp + 8, 8);
	if (r->imb) {
		if (r->c->alg == XS_ALG_AES_GCM) {
			struct gcm_context_data ctx;

			if (kl == 16)
				IMB_AES128_GCM_DEC(r->m, &r->gk, &ctx, ct, ct, ctl, nonce, esp, 8, tag, icv);
			else
				IMB_AES256_GCM_DEC(r->m, &r->gk, &ctx, ct, ct, ctl, nonce, esp, 8, tag, icv);
		} else {
			struct chacha20_poly1305_context_data ctx;

			IMB_CHACHA20_POLY1305_INIT(r->m, r->c->enc_key, &ctx, nonce, esp, 8);
			IMB_CHACHA20_POLY1305_DEC_UPDATE(r->m, r->c->enc_key, &ctx, ct, ct, ctl);
			IMB_CHACHA20_POLY1305_DEC_FINALIZE(r->m, &ctx, tag, 16);
		}
		return CRYPTO_memcmp(tag, ct + ctl, icv) ? -1 : 0;
	}
	EVP_DecryptInit_ex(r->cx, NULL, NULL, NULL, nonce);
	EVP_DecryptUpdate(r->cx, NULL, &outl, esp, 8);
	EVP_CIPHER_CTX_ctrl(r->cx, EVP_CTRL_AEAD_SET_TAG, (int)icv, ct + ctl);
	EVP_DecryptUpdate(r->cx, ct, &outl, ct, (int)ctl);
	return EVP_DecryptFinal_ex(r->cx, ct + ctl, &outl) > 0 ? 0 : -1;
}

static double run_engine(struct esp_ctx *ctx, struct sa_table *t, const struct xs_sa_config *c,
			 double secs)
{
	struct esp_result res;
	double t0 = now(), el;
	long n = 0, bad = 0;
	int i;

	do {
		sa_table_set_replay_top(t, &c->dst, c->spi, IPPROTO_ESP, 0);
		for (i = 0; i < NPKT; i++) {
			memcpy(work, pkts[i], plen);
			bad += esp_input(ctx, work, plen, &res) != 0;
		}
		n += NPKT;
	} while ((el = now() - t0) < secs);
	if (bad)
		fprintf(stderr, "engine: %ld drops\n", bad);
	return n / el;
}

static double run_raw(struct raw *r, double secs)
{
	double t0 = now(), el;
	long n = 0, bad = 0;
	int i;

	do {
		for (i = 0; i < NPKT; i++) {
			memcpy(work, pkts[i], plen);
			bad += raw_open(r, work, plen) != 0;
		}
		n += NPKT;
	} while ((el = now() - t0) < secs);
	if (bad)
		fprintf(stderr, "raw: %ld failures\n", bad);
	return n / el;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	static const enum crypto_backend bes[] = { CRYPTO_BACKEND_IPSECMB, CRYPTO_BACKEND_OPENSSL };
	size_t ci, si, bi;
	int i;

	printf("# esp_input vs raw library decrypt, 1 core, packets/s (payload = inner packet bytes)\n");
	printf("%-32s %-8s %6s %12s %12s %6s %9s\n", "algorithm", "backend", "bytes", "engine_pps",
	       "raw_pps", "ratio", "engine_Gb/s");
	for (ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
		for (bi = 0; bi < 2; bi++)
			for (si = 0; si < 4; si++) {
				const struct cse *k = &cases[ci];
				struct xs_sa_config c;
				struct sa_table *t = sa_table_new(4, bes[bi]);
				struct esp_ctx *ctx;
				struct raw r;
				uint8_t inner[9000];
				size_t il = espb_inner_v4(inner, sizes[si] - 28, 0x3c);
				double e, rw = 0;
				char err[128];

				memset(&c, 0, sizeof(c));
				c.dst.family = AF_INET;
				inet_pton(AF_INET, "198.18.0.2", &c.dst.v4);
				c.spi = 0x4242;
				c.proto = IPPROTO_ESP;
				c.mode = XS_MODE_TUNNEL;
				c.alg = k->alg;
				c.auth = k->auth;
				c.enc_key_len = k->kl;
				c.auth_key_len = k->akl;
				c.icv_bits = k->icv;
				c.replay_window = 128;
				for (i = 0; i < XS_MAX_ENC_KEY; i++)
					c.enc_key[i] = (uint8_t)(i * 7 + 1);
				for (i = 0; i < XS_MAX_AUTH_KEY; i++)
					c.auth_key[i] = (uint8_t)(i * 3 + 2);
				if (sa_table_add(t, &c, NULL, err, sizeof(err))) {
					fprintf(stderr, "%s: %s\n", k->name, err);
					return 1;
				}
				ctx = esp_ctx_new(t);
				for (i = 0; i < NPKT; i++) {
					if (!pkts[i])
						pkts[i] = malloc(16384);
					plen = espb_build(pkts[i], 16384, &c, (uint64_t)i + 1, inner, il, 4, 0);
				}
				e = run_engine(ctx, t, &c, secs);
				if (k->alg != XS_ALG_AES_CBC) {
					memset(&r, 0, sizeof(r));
					r.c = &c;
					r.imb = bes[bi] == CRYPTO_BACKEND_IPSECMB;
					if (r.imb) {
						r.m = alloc_mb_mgr(0);
						init_mb_mgr_auto(r.m, NULL);
						if (k->kl == 20)
							IMB_AES128_GCM_PRE(r.m, c.enc_key, &r.gk);
						else
							IMB_AES256_GCM_PRE(r.m, c.enc_key, &r.gk);
					} else {
						r.cx = EVP_CIPHER_CTX_new();
						EVP_DecryptInit_ex(r.cx, k->alg == XS_ALG_CHACHA20_POLY1305 ?
								   EVP_chacha20_poly1305() : k->kl == 20 ?
								   EVP_aes_128_gcm() : EVP_aes_256_gcm(),
								   NULL, c.enc_key, NULL);
					}
					rw = run_raw(&r, secs);
					if (r.m)
						free_mb_mgr(r.m);
					EVP_CIPHER_CTX_free(r.cx);
				}
				if (rw > 0)
					printf("%-32s %-8s %6zu %12.0f %12.0f %6.3f %9.2f\n", k->name,
					       crypto_backend_name(bes[bi]), sizes[si], e, rw, e / rw,
					       e * sizes[si] * 8 / 1e9);
				else
					printf("%-32s %-8s %6zu %12.0f %12s %6s %9.2f\n", k->name,
					       crypto_backend_name(bes[bi]), sizes[si], e, "-", "-",
					       e * sizes[si] * 8 / 1e9);
				esp_ctx_free(ctx);
				sa_table_free(t);
			}
	return 0;
}
