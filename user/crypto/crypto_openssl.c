// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * crypto_openssl.c - the portable backend, OpenSSL 3 EVP.
 *
 * EVP contexts are per thread.  Setting a key costs a key schedule (and
 * for HMAC two hash blocks), so each thread remembers which SA its cipher
 * and MAC contexts were last keyed for (by uid, never by pointer: a freed
 * SA's address may be reused) and only sets the IV when it is the same.
 *
 * Transforms: AES-GCM and ChaCha20-Poly1305 (open_aead), AES-GMAC (RFC
 * 4543, open_gmac: GCM with everything in the AAD), AES-CBC and NULL
 * encryption (RFC 2410) with an HMAC of any key length (open_hmac; EVP's
 * HMAC hashes a key longer than the block itself, RFC 2104 section 3).
 */
#include "crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct ossl_sa {
	struct crypto_sa_head h;
	uint8_t key[32];
	uint8_t salt[4];
	uint8_t auth_key[XS_MAX_AUTH_KEY];
	uint8_t auth_key_len;
	uint8_t iv_len;          /* CBC 16, NULL 0 (HMAC transforms) */
	const char *digest;      /* "SHA1", "SHA256", ... */
	int cipher;              /* index into ossl_thr.ciphers; -1 for NULL */
};

enum { C_GCM128, C_GCM192, C_GCM256, C_CBC128, C_CBC192, C_CBC256, C_CHACHA, C__MAX };
static const char *const cipher_names[C__MAX] = {
	"AES-128-GCM", "AES-192-GCM", "AES-256-GCM",
	"AES-128-CBC", "AES-192-CBC", "AES-256-CBC", "ChaCha20-Poly1305",
};

struct ossl_thr {
	EVP_CIPHER *ciphers[C__MAX];
	EVP_CIPHER_CTX *cctx;
	uint64_t cctx_uid;       /* SA the cipher context holds the key of */
	EVP_MAC *hmac;
	EVP_MAC_CTX *mctx;
	uint64_t mctx_uid;
};

static struct crypto_sa *crypto_ossl_sa_new(const struct xs_sa_config *cfg, char *err, size_t errlen)
{
	struct ossl_sa *s = calloc(1, sizeof(*s));
	size_t kl;

	(void)err; (void)errlen;
	if (!s)
		return NULL;
	s->h.be = CRYPTO_BACKEND_OPENSSL;
	s->h.alg = cfg->alg;
	s->h.auth = cfg->auth;
	s->h.icv_len = cfg->icv_bits / 8;
	s->h.uid = crypto_next_uid();
	/* AEAD keys end with a 4-byte salt; NULL has no key at all */
	kl = sa_alg_is_aead(cfg->alg) ? cfg->enc_key_len - 4u : cfg->enc_key_len;
	s->h.key_len = kl;
	memcpy(s->key, cfg->enc_key, kl);
	if (sa_alg_is_aead(cfg->alg))
		memcpy(s->salt, cfg->enc_key + kl, 4);
	switch (cfg->alg) {
	case XS_ALG_AES_GCM:
	case XS_ALG_AES_GMAC:
		s->cipher = C_GCM128 + (kl == 24) + 2 * (kl == 32);
		break;
	case XS_ALG_CHACHA20_POLY1305:
		s->cipher = C_CHACHA;
		break;
	default:                 /* CBC or NULL, with an HMAC */
		s->cipher = cfg->alg == XS_ALG_NULL ? -1 : C_CBC128 + (kl == 24) + 2 * (kl == 32);
		s->iv_len = (uint8_t)sa_alg_iv_len(cfg->alg);
		memcpy(s->auth_key, cfg->auth_key, cfg->auth_key_len);
		s->auth_key_len = cfg->auth_key_len;
		s->digest = cfg->auth == XS_AUTH_HMAC_SHA1 ? "SHA1" :
			    cfg->auth == XS_AUTH_HMAC_SHA256 ? "SHA256" :
			    cfg->auth == XS_AUTH_HMAC_SHA384 ? "SHA384" : "SHA512";
	}
	return (struct crypto_sa *)s;
}

static void crypto_ossl_sa_free(struct crypto_sa *s)
{
	if (!s)
		return;
	explicit_bzero(s, sizeof(struct ossl_sa));
	free(s);
}

static void crypto_ossl_thr_free(void *p)
{
	struct ossl_thr *t = p;
	int i;

	if (!t)
		return;
	for (i = 0; i < C__MAX; i++)
		EVP_CIPHER_free(t->ciphers[i]);
	EVP_CIPHER_CTX_free(t->cctx);   /* also cleanses the key schedule */
	EVP_MAC_CTX_free(t->mctx);
	EVP_MAC_free(t->hmac);
	free(t);
}

static void *crypto_ossl_thr_new(void)
{
	struct ossl_thr *t = calloc(1, sizeof(*t));
	int i;

	if (!t)
		return NULL;
	for (i = 0; i < C__MAX; i++)
		if (!(t->ciphers[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL)))
			goto fail;
	t->cctx = EVP_CIPHER_CTX_new();
	t->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	t->mctx = t->hmac ? EVP_MAC_CTX_new(t->hmac) : NULL;
	if (!t->cctx || !t->mctx)
		goto fail;
	return t;
fail:
	crypto_ossl_thr_free(t);
	return NULL;
}

static int open_aead(struct ossl_thr *t, const struct ossl_sa *s, const struct crypto_op *op)
{
	uint8_t nonce[12], aad[12];
	int outl, aad_len = 8;

	if (t->cctx_uid != s->h.uid) {
		if (!EVP_DecryptInit_ex(t->cctx, t->ciphers[s->cipher], NULL, s->key, NULL))
			return -EIO;
		t->cctx_uid = s->h.uid;
	}
	/* RFC 4106 4 / RFC 7634 2: nonce = salt || explicit IV */
	memcpy(nonce, s->salt, 4);
	memcpy(nonce + 4, op->esp + 8, 8);
	/* RFC 4106 5: AAD = SPI || seq (the ESP header, read in place), or
	 * SPI || seq_hi || seq_lo with ESN */
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy(aad, op->esp, 4);
		memcpy(aad + 4, &hi, 4);
		memcpy(aad + 8, op->esp + 4, 4);
		aad_len = 12;
	}
	if (!EVP_DecryptInit_ex(t->cctx, NULL, NULL, NULL, nonce) ||
	    !EVP_DecryptUpdate(t->cctx, NULL, &outl, op->esn ? aad : op->esp, aad_len) ||
	    !EVP_CIPHER_CTX_ctrl(t->cctx, EVP_CTRL_AEAD_SET_TAG, s->h.icv_len, (void *)op->icv))
		return -EIO;
	if (op->ct_len && !EVP_DecryptUpdate(t->cctx, op->ct, &outl, op->ct, (int)op->ct_len))
		return -EIO;
	/* Final compares the tag (constant time inside OpenSSL) */
	if (EVP_DecryptFinal_ex(t->cctx, op->ct + op->ct_len, &outl) <= 0)
		return -EBADMSG;
	return 0;
}

/* RFC 4543 (ENCR_NULL_AUTH_AES_GMAC): GCM over an empty plaintext, the
 * AAD being SPI, [seq_hi,] seq, IV and the payload in clear up to the ICV
 * (section 5, figures 6 and 7); the nonce is salt || IV as for GCM. */
static int open_gmac(struct ossl_thr *t, const struct ossl_sa *s, const struct crypto_op *op)
{
	uint8_t nonce[12], aad[12], none[16];
	int outl;

	if (t->cctx_uid != s->h.uid) {
		if (!EVP_DecryptInit_ex(t->cctx, t->ciphers[s->cipher], NULL, s->key, NULL))
			return -EIO;
		t->cctx_uid = s->h.uid;
	}
	memcpy(nonce, s->salt, 4);
	memcpy(nonce + 4, op->esp + 8, 8);
	if (!EVP_DecryptInit_ex(t->cctx, NULL, NULL, NULL, nonce))
		return -EIO;
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy(aad, op->esp, 4);
		memcpy(aad + 4, &hi, 4);
		memcpy(aad + 8, op->esp + 4, 4);
		if (!EVP_DecryptUpdate(t->cctx, NULL, &outl, aad, 12) ||
		    !EVP_DecryptUpdate(t->cctx, NULL, &outl, op->esp + 8, (int)(8 + op->ct_len)))
			return -EIO;
	} else if (!EVP_DecryptUpdate(t->cctx, NULL, &outl, op->esp, (int)(16 + op->ct_len))) {
		return -EIO;
	}
	if (!EVP_CIPHER_CTX_ctrl(t->cctx, EVP_CTRL_AEAD_SET_TAG, s->h.icv_len, (void *)op->icv))
		return -EIO;
	/* Final compares the tag (constant time inside OpenSSL); no output */
	if (EVP_DecryptFinal_ex(t->cctx, none, &outl) <= 0)
		return -EBADMSG;
	return 0;
}

/* CBC or NULL encryption with an HMAC: verify, then (CBC) decrypt. */
static int open_hmac(struct ossl_thr *t, const struct ossl_sa *s, const struct crypto_op *op)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdl = 0;
	int outl;

	if (t->mctx_uid != s->h.uid) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)s->digest, 0),
			OSSL_PARAM_construct_end(),
		};
		if (!EVP_MAC_init(t->mctx, s->auth_key, s->auth_key_len, p))
			return -EIO;
		t->mctx_uid = s->h.uid;
	} else if (!EVP_MAC_init(t->mctx, NULL, 0, NULL)) {    /* same key: reset */
		return -EIO;
	}
	/* RFC 4303 2.2.1: ICV over SPI, seq, IV, ciphertext (+ seq_hi if ESN) */
	if (!EVP_MAC_update(t->mctx, op->esp, 8 + s->iv_len + op->ct_len))
		return -EIO;
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		if (!EVP_MAC_update(t->mctx, (const uint8_t *)&hi, 4))
			return -EIO;
	}
	if (!EVP_MAC_final(t->mctx, md, &mdl, sizeof(md)) || mdl < s->h.icv_len)
		return -EIO;
	if (CRYPTO_memcmp(md, op->icv, s->h.icv_len))
		return -EBADMSG;
	if (s->cipher < 0)       /* NULL encryption: the payload is in clear */
		return 0;
	/* authentic: now decrypt */
	if (t->cctx_uid != s->h.uid) {
		if (!EVP_DecryptInit_ex(t->cctx, t->ciphers[s->cipher], NULL, s->key, NULL))
			return -EIO;
		t->cctx_uid = s->h.uid;
	}
	if (!EVP_DecryptInit_ex(t->cctx, NULL, NULL, NULL, op->esp + 8) ||
	    !EVP_CIPHER_CTX_set_padding(t->cctx, 0) ||
	    !EVP_DecryptUpdate(t->cctx, op->ct, &outl, op->ct, (int)op->ct_len) ||
	    (size_t)outl != op->ct_len)
		return -EIO;
	return 0;
}

static int crypto_ossl_open(void *p, const struct crypto_sa *cs, const struct crypto_op *op)
{
	const struct ossl_sa *s = (const struct ossl_sa *)cs;

	if (op->ct_len > 0x7fffff00)      /* EVP lengths are int; +16 for GMAC's AAD */
		return -EINVAL;
	switch (s->h.alg) {
	case XS_ALG_AES_CBC:
	case XS_ALG_NULL:
		return open_hmac(p, s, op);
	case XS_ALG_AES_GMAC:
		return open_gmac(p, s, op);
	default:
		return open_aead(p, s, op);
	}
}

const struct crypto_backend_ops crypto_openssl_ops = {
	.id = CRYPTO_BACKEND_OPENSSL,
	.name = "openssl",
	.sa_new = crypto_ossl_sa_new,
	.sa_free = crypto_ossl_sa_free,
	.thr_new = crypto_ossl_thr_new,
	.thr_free = crypto_ossl_thr_free,
	.open = crypto_ossl_open,
};
