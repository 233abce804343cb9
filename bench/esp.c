// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench/esp.c - decrypt packets/s on one core: the engine's full inbound
 * processing (parse, SA lookup, replay, ICV+decrypt, trailer, inner-packet
 * check, window update), per packet (esp_input) and per burst
 * (esp_input_burst), against the raw library call (ipsec-mb direct API, or
 * OpenSSL EVP with the key already set) on the same packets.  Not a test.
 *
 *   build/bench/esp [seconds-per-case, default 0.5] [algorithm filter]
 *
 * Method.  64 distinct packets (sequence numbers 1..64) are built once per
 * case.  A round takes them in two bursts of 32: copy the 32 into 32 work
 * buffers (decryption is in place), then process them -- raw: the library
 * call on each; engine: esp_input on each; burst: one esp_input_burst.  So
 * all three touch the same memory in the same pattern.  Rounds of the three
 * kinds alternate (the order rotates) until the time is up; the replay
 * window is reset between rounds, outside the timed part.  Rates are from
 * the summed times; each ratio is the median of the per-round ratios (the
 * two rounds compared ran within microseconds of each other, so a noisy
 * neighbour on a shared machine moves both).
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
#define BURST 32
#define PKT_MAX (8192 + 256)
#define MAX_ROUNDS 200000

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

static uint8_t *pkts[NPKT], work[BURST][PKT_MAX] __attribute__((aligned(64)));
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

enum mode { M_RAW, M_ENGINE, M_BURST, M__MAX };

struct run {
	struct esp_ctx *ctx;
	struct raw *raw;         /* NULL: no raw column (CBC+HMAC) */
	long bad[M__MAX];
};

/* One round of one mode: NPKT packets in bursts of BURST; seconds. */
static double round_of(struct run *r, enum mode m)
{
	struct esp_result res[BURST];
	uint8_t *pp[BURST];
	size_t ll[BURST];
	double t0 = now();
	int h, i;

	for (h = 0; h < NPKT; h += BURST) {
		for (i = 0; i < BURST; i++) {
			memcpy(work[i], pkts[h + i], plen);
			pp[i] = work[i];
			ll[i] = plen;
		}
		switch (m) {
		case M_RAW:
			for (i = 0; i < BURST; i++)
				r->bad[m] += raw_open(r->raw, pp[i], ll[i]) != 0;
			break;
		case M_ENGINE:
			for (i = 0; i < BURST; i++)
				r->bad[m] += esp_input(r->ctx, pp[i], ll[i], &res[i]) != 0;
			break;
		default:
			r->bad[m] += BURST - (long)esp_input_burst(r->ctx, pp, ll, BURST, res);
		}
	}
	return now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	const char *filter = argc > 2 ? argv[2] : NULL;
	static const enum crypto_backend bes[] = { CRYPTO_BACKEND_IPSECMB, CRYPTO_BACKEND_OPENSSL };
	static double ratio_e[MAX_ROUNDS], ratio_b[MAX_ROUNDS];
	size_t ci, si, bi;
	int i;

	printf("# 1 core, packets/s; bytes = inner packet; %d packets per round in bursts of %d;\n"
	       "# ratios = median over rounds of engine/raw and burst/raw time per round\n",
	       NPKT, BURST);
	printf("%-30s %-8s %5s %10s %10s %10s %7s %7s %8s\n", "algorithm", "backend", "bytes",
	       "raw_pps", "engine_pps", "burst_pps", "eng/raw", "bst/raw", "bst_Gb/s");
	for (ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		if (filter && !strstr(cases[ci].name, filter))
			continue;
		for (bi = 0; bi < 2; bi++)
			for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
				const struct cse *k = &cases[ci];
				struct xs_sa_config c;
				struct sa_table *t = sa_table_new(4, bes[bi]);
				struct run run;
				struct raw r;
				uint8_t inner[9000];
				size_t il = espb_inner_v4(inner, sizes[si] - 28, 0x3c), nr = 0;
				double tot[M__MAX] = { 0 }, t0, dt[M__MAX];
				char err[128];
				int m, o;

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
				if (!t || sa_table_add(t, &c, NULL, err, sizeof(err))) {
					fprintf(stderr, "%s: %s\n", k->name, t ? err : "no table");
					return 1;
				}
				memset(&run, 0, sizeof(run));
				run.ctx = esp_ctx_new(t);
				if (!run.ctx) {
					fprintf(stderr, "%s: no esp_ctx\n", k->name);
					return 1;
				}
				for (i = 0; i < NPKT; i++) {
					if (!pkts[i])
						pkts[i] = malloc(PKT_MAX);
					plen = espb_build(pkts[i], PKT_MAX, &c, (uint64_t)i + 1, inner, il, 4, 0);
				}
				memset(&r, 0, sizeof(r));
				if (k->alg != XS_ALG_AES_CBC) {
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
					run.raw = &r;
				}
				t0 = now();
				for (o = 0; now() - t0 < secs && nr < MAX_ROUNDS; o++) {
					for (i = 0; i < M__MAX; i++) {
						m = (o + i) % M__MAX;
						if (m == M_RAW && !run.raw) {
							dt[m] = 0;
							continue;
						}
						if (m != M_RAW)
							sa_table_set_replay_top(t, &c.dst, c.spi,
										IPPROTO_ESP, 0);
						dt[m] = round_of(&run, (enum mode)m);
						tot[m] += dt[m];
					}
					if (run.raw) {
						ratio_e[nr] = dt[M_RAW] / dt[M_ENGINE];
						ratio_b[nr] = dt[M_RAW] / dt[M_BURST];
					}
					nr++;
				}
				for (m = 0; m < M__MAX; m++)
					if (run.bad[m])
						fprintf(stderr, "%s %s %zu: %ld packets failed in mode %d\n",
							k->name, crypto_backend_name(bes[bi]), sizes[si],
							run.bad[m], m);
#define PPS(m) (tot[m] > 0 ? nr * (double)NPKT / tot[m] : 0)
				if (run.raw)
					printf("%-30s %-8s %5zu %10.0f %10.0f %10.0f %7.3f %7.3f %8.2f\n",
					       k->name, crypto_backend_name(bes[bi]), sizes[si],
					       PPS(M_RAW), PPS(M_ENGINE), PPS(M_BURST),
					       median(ratio_e, nr), median(ratio_b, nr),
					       PPS(M_BURST) * sizes[si] * 8 / 1e9);
				else
					printf("%-30s %-8s %5zu %10s %10.0f %10.0f %7s %7s %8.2f\n",
					       k->name, crypto_backend_name(bes[bi]), sizes[si], "-",
					       PPS(M_ENGINE), PPS(M_BURST), "-", "-",
					       PPS(M_BURST) * sizes[si] * 8 / 1e9);
				fflush(stdout);
				if (r.m)
					free_mb_mgr(r.m);
				EVP_CIPHER_CTX_free(r.cx);
				esp_ctx_free(run.ctx);
				sa_table_free(t);
			}
	}
	return 0;
}
