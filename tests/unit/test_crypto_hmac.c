// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_crypto_hmac.c - the HMAC of both crypto backends against the
 * published vectors of RFC 2202 (HMAC-SHA-1) and RFC 4231 (HMAC-SHA-2):
 * a key shorter than the digest ("Jefe") and keys longer than the hash's
 * block, which RFC 2104 section 3 hashes first (ipsec-mb's precomputed
 * ipad/opad, OpenSSL's EVP_MAC), at the truncations the kernel takes
 * (8 bits, the kernel's default, the whole digest).
 *
 * The vectors' data is run as one ESP packet with NULL encryption (RFC
 * 2410): its first 8 bytes stand for SPI and sequence number, the rest
 * for the payload, so the ICV is exactly HMAC(key, data).  Both paths of
 * a backend are taken: crypto_open (one packet) and crypto_submit +
 * crypto_drain (a burst: ipsec-mb's multi-buffer jobs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "testlib.h"
#include "crypto.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (n < cap && hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
		s += 2;
	}
	return n;
}

struct kat {
	uint8_t auth;
	uint8_t key_byte;        /* key = key_len times key_byte, or "Jefe" */
	uint8_t key_len;
	const char *data;
	const char *mac;         /* whole digest, hex */
};

static const char big[] = "Test Using Larger Than Block-Size Key - Hash Key First";
static const char jefe[] = "what do ya want for nothing?";

static const struct kat kats[] = {
	/* RFC 2202 test case 6: 80-byte key, SHA-1's block is 64 */
	{ XS_AUTH_HMAC_SHA1, 0xaa, 80, big, "aa4ae5e15272d00e95705637ce8a3b55ed402112" },
	/* RFC 2202 test case 2: 4-byte key */
	{ XS_AUTH_HMAC_SHA1, 0, 4, jefe, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
	/* RFC 4231 test case 6: 131-byte key (blocks 64 and 128) */
	{ XS_AUTH_HMAC_SHA256, 0xaa, 131, big,
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ XS_AUTH_HMAC_SHA384, 0xaa, 131, big,
	  "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
	  "0c2ef6ab4030fe8296248df163f44952" },
	{ XS_AUTH_HMAC_SHA512, 0xaa, 131, big,
	  "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
	  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
	/* RFC 4231 test case 2: 4-byte key */
	{ XS_AUTH_HMAC_SHA256, 0, 4, jefe,
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ XS_AUTH_HMAC_SHA512, 0, 4, jefe,
	  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
	  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
};

static const enum crypto_backend backends[] = { CRYPTO_BACKEND_IPSECMB, CRYPTO_BACKEND_OPENSSL };

/* Packet = data || ICV (the first trunc bytes of mac). */
static size_t packet(const struct kat *k, unsigned trunc, uint8_t *pkt, struct crypto_op *op)
{
	uint8_t mac[64];
	size_t dl = strlen(k->data);

	unhex(k->mac, mac, sizeof(mac));
	memcpy(pkt, k->data, dl);
	memcpy(pkt + dl, mac, trunc);
	memset(op, 0, sizeof(*op));
	op->esp = pkt;
	op->ct = pkt + 8;
	op->ct_len = dl - 8;
	op->icv = pkt + dl;
	return dl + trunc;
}

TEST(published_vectors_every_key_length)
{
	for (size_t b = 0; b < 2; b++)
		for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
			const struct kat *k = &kats[i];
			unsigned full = sa_auth_digest_bits(k->auth);
			unsigned truncs[3] = { 8, sa_auth_default_trunc(k->auth), full };
			struct crypto_thr *th = crypto_thr_new();

			for (size_t t = 0; t < 3; t++) {
				struct xs_sa_config cfg;
				struct crypto_sa *s;
				struct crypto_job jobs[CRYPTO_QUEUE_MIN];
				static uint8_t pkt[CRYPTO_QUEUE_MIN][256];
				char err[160];
				unsigned tb = truncs[t] / 8, j;
				int bad = 0;

				memset(&cfg, 0, sizeof(cfg));
				cfg.dst.family = AF_INET;
				cfg.spi = 1;
				cfg.proto = IPPROTO_ESP;
				cfg.alg = XS_ALG_NULL;
				cfg.auth = k->auth;
				cfg.icv_bits = (uint16_t)truncs[t];
				cfg.auth_key_len = k->key_len;
				if (k->key_byte)
					memset(cfg.auth_key, k->key_byte, k->key_len);
				else
					memcpy(cfg.auth_key, "Jefe", 4);
				s = crypto_sa_new(backends[b], &cfg, err, sizeof(err));
				CHECK(s != NULL && th != NULL);
				if (!s || !th) {
					fprintf(stderr, "  %s: %s\n", sa_auth_name(k->auth), err);
					crypto_sa_free(s);
					continue;
				}
				CHECK_EQ(crypto_sa_backend(s), backends[b]);

				/* one packet: authentic, then each ICV byte and a data byte flipped */
				packet(k, tb, pkt[0], &jobs[0].op);
				CHECK_EQ(crypto_open(th, s, &jobs[0].op), 0);
				for (j = 0; j < tb; j += 7) {
					pkt[0][strlen(k->data) + j] ^= 0x10;
					bad |= crypto_open(th, s, &jobs[0].op) != -EBADMSG;
					pkt[0][strlen(k->data) + j] ^= 0x10;
				}
				pkt[0][9] ^= 1;
				bad |= crypto_open(th, s, &jobs[0].op) != -EBADMSG;
				CHECK(!bad);

				/* a burst: the backend's queued path, one forged job */
				for (j = 0; j < CRYPTO_QUEUE_MIN; j++) {
					packet(k, tb, pkt[j], &jobs[j].op);
					jobs[j].sa = s;
					jobs[j].rc = -1;
				}
				pkt[3][8] ^= 0x80;
				for (j = 0; j < CRYPTO_QUEUE_MIN; j++)
					crypto_submit(th, &jobs[j]);
				crypto_drain(th);
				for (j = 0; j < CRYPTO_QUEUE_MIN; j++)
					bad |= jobs[j].rc != (j == 3 ? -EBADMSG : 0);
				if (bad)
					fprintf(stderr, "  %s key %u trunc %u on %s: wrong verdict\n",
						sa_auth_name(k->auth), k->key_len, truncs[t],
						crypto_backend_name(backends[b]));
				CHECK(!bad);
				crypto_sa_free(s);
			}
			crypto_thr_free(th);
		}
}

int main(void)
{
	RUN(published_vectors_every_key_length);
	return testlib_report();
}
