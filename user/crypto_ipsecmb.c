// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * crypto_ipsecmb.c - the fast backend, intel-ipsec-mb 1.3 (static library).
 *
 * Version 1.3 serves every transform we offer: AES-GCM 128/192/256 through
 * its direct API, ChaCha20-Poly1305 through its direct API, and AES-CBC with
 * HMAC-SHA1/256/384/512 as one chained job (hash then decrypt).  So no SA
 * falls back to OpenSSL on x86_64 with AES-NI; on a CPU ipsec-mb cannot run
 * on, crypto_imb_usable() says no and every SA goes to OpenSSL.
 *
 * ipsec-mb computes tags but never compares them: we compare in constant
 * time with CRYPTO_memcmp.  Expanded keys are per SA and read-only; each
 * thread has its own IMB_MGR.  One shared IMB_MGR (under a mutex) expands
 * keys for the control thread.
 */
#include "crypto.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

struct imb_sa {
	struct crypto_sa_head h;
	uint8_t salt[4];
	uint8_t icv_len, esn_unused;
	IMB_HASH_ALG hash;
	uint32_t key_len;
	/* AES-GCM */
	struct gcm_key_data gcm __attribute__((aligned(64)));
	/* ChaCha20-Poly1305: the raw key */
	uint8_t chacha_key[32] __attribute__((aligned(16)));
	/* AES-CBC + HMAC */
	uint32_t enc_keys[60] __attribute__((aligned(16)));
	uint32_t dec_keys[60] __attribute__((aligned(16)));
	uint8_t ipad[64] __attribute__((aligned(16)));   /* inner hash state after key^ipad */
	uint8_t opad[64] __attribute__((aligned(16)));
};

static pthread_once_t imb_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t imb_setup_mu = PTHREAD_MUTEX_INITIALIZER;
static IMB_MGR *imb_setup;      /* key expansion, control thread */
static int imb_ok;

static IMB_MGR *mgr_new(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	IMB_ARCH arch = IMB_ARCH_NONE;

	if (!m)
		return NULL;
	init_mb_mgr_auto(m, &arch);
	if (imb_get_errno(m) || arch == IMB_ARCH_NONE) {
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

static void imb_init(void)
{
	imb_setup = mgr_new();
	imb_ok = imb_setup != NULL;
}

int crypto_imb_usable(void)
{
	pthread_once(&imb_once, imb_init);
	return imb_ok;
}

/* HMAC precompute (RFC 2104): hash state after one block of key ^ pad. */
static void hmac_pre(IMB_MGR *m, IMB_HASH_ALG h, const uint8_t *key, size_t kl,
		     uint8_t *ipad, uint8_t *opad)
{
	uint8_t blk[128];
	size_t bl = (h == IMB_AUTH_HMAC_SHA_384 || h == IMB_AUTH_HMAC_SHA_512) ? 128 : 64, i;

	for (i = 0; i < 2; i++) {
		uint8_t x = i ? 0x5c : 0x36, *out = i ? opad : ipad;
		size_t j;

		memset(blk, x, bl);
		for (j = 0; j < kl; j++)
			blk[j] ^= key[j];
		switch (h) {
		case IMB_AUTH_HMAC_SHA_1: IMB_SHA1_ONE_BLOCK(m, blk, out); break;
		case IMB_AUTH_HMAC_SHA_256: IMB_SHA256_ONE_BLOCK(m, blk, out); break;
		case IMB_AUTH_HMAC_SHA_384: IMB_SHA384_ONE_BLOCK(m, blk, out); break;
		default: IMB_SHA512_ONE_BLOCK(m, blk, out); break;
		}
	}
	explicit_bzero(blk, sizeof(blk));
}

struct crypto_sa *crypto_imb_sa_new(const struct xs_sa_config *cfg, char *err, size_t errlen)
{
	struct imb_sa *s;
	size_t kl;

	(void)err; (void)errlen;
	if (!crypto_imb_usable())
		return NULL;
	s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->h.be = CRYPTO_BACKEND_IPSECMB;
	s->h.alg = cfg->alg;
	s->h.auth = cfg->auth;
	s->h.icv_len = cfg->icv_bits / 8;
	s->h.uid = crypto_next_uid();
	kl = cfg->alg == XS_ALG_AES_CBC ? cfg->enc_key_len : cfg->enc_key_len - 4u;
	s->key_len = (uint32_t)kl;
	s->h.key_len = (uint16_t)kl;
	pthread_mutex_lock(&imb_setup_mu);
	switch (cfg->alg) {
	case XS_ALG_AES_GCM:
		memcpy(s->salt, cfg->enc_key + kl, 4);
		if (kl == 16)
			IMB_AES128_GCM_PRE(imb_setup, cfg->enc_key, &s->gcm);
		else if (kl == 24)
			IMB_AES192_GCM_PRE(imb_setup, cfg->enc_key, &s->gcm);
		else
			IMB_AES256_GCM_PRE(imb_setup, cfg->enc_key, &s->gcm);
		break;
	case XS_ALG_CHACHA20_POLY1305:
		memcpy(s->salt, cfg->enc_key + kl, 4);
		memcpy(s->chacha_key, cfg->enc_key, 32);
		break;
	default:
		if (kl == 16)
			IMB_AES_KEYEXP_128(imb_setup, cfg->enc_key, s->enc_keys, s->dec_keys);
		else if (kl == 24)
			IMB_AES_KEYEXP_192(imb_setup, cfg->enc_key, s->enc_keys, s->dec_keys);
		else
			IMB_AES_KEYEXP_256(imb_setup, cfg->enc_key, s->enc_keys, s->dec_keys);
		s->hash = cfg->auth == XS_AUTH_HMAC_SHA1 ? IMB_AUTH_HMAC_SHA_1 :
			  cfg->auth == XS_AUTH_HMAC_SHA256 ? IMB_AUTH_HMAC_SHA_256 :
			  cfg->auth == XS_AUTH_HMAC_SHA384 ? IMB_AUTH_HMAC_SHA_384 :
			  IMB_AUTH_HMAC_SHA_512;
		hmac_pre(imb_setup, s->hash, cfg->auth_key, cfg->auth_key_len, s->ipad, s->opad);
	}
	pthread_mutex_unlock(&imb_setup_mu);
	return (struct crypto_sa *)s;
}

void crypto_imb_sa_free(struct crypto_sa *s)
{
	if (!s)
		return;
	explicit_bzero(s, sizeof(struct imb_sa));
	free(s);
}

void *crypto_imb_thr_new(void)
{
	return crypto_imb_usable() ? mgr_new() : NULL;
}

void crypto_imb_thr_free(void *t)
{
	if (t)
		free_mb_mgr(t);
}

/* nonce = salt || IV; AAD = SPI || [seq_hi ||] seq (RFC 4106 / 7634) */
static size_t aead_setup(const struct imb_sa *s, const struct crypto_op *op,
			 uint8_t nonce[12], uint8_t aad[12])
{
	memcpy(nonce, s->salt, 4);
	memcpy(nonce + 4, op->esp + 8, 8);
	memcpy(aad, op->esp, 4);
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy(aad + 4, &hi, 4);
		memcpy(aad + 8, op->esp + 4, 4);
		return 12;
	}
	memcpy(aad + 4, op->esp + 4, 4);
	return 8;
}

static int open_cbc_hmac(IMB_MGR *m, const struct imb_sa *s, const struct crypto_op *op)
{
	uint8_t tag[32], icv[32], *icv_at = (uint8_t *)op->icv;
	size_t il = s->h.icv_len;
	IMB_JOB *job;
	int rc;

	/* ESN: the ICV covers seq_hi right after the ciphertext (RFC 4303
	 * 2.2.1).  Put it where the ICV lies, hash contiguously, restore. */
	memcpy(icv, op->icv, il);
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy(icv_at, &hi, 4);
	}
	job = IMB_GET_NEXT_JOB(m);
	job->cipher_mode = IMB_CIPHER_CBC;
	job->cipher_direction = IMB_DIR_DECRYPT;
	job->chain_order = IMB_ORDER_HASH_CIPHER;
	job->enc_keys = s->enc_keys;
	job->dec_keys = s->dec_keys;
	job->key_len_in_bytes = s->key_len;
	job->src = op->esp;
	job->dst = op->ct;
	job->cipher_start_src_offset_in_bytes = 8 + 16;
	job->msg_len_to_cipher_in_bytes = op->ct_len;
	job->iv = op->esp + 8;
	job->iv_len_in_bytes = 16;
	job->hash_alg = s->hash;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = 8 + 16 + op->ct_len + (op->esn ? 4 : 0);
	job->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = s->opad;
	job->auth_tag_output = tag;
	job->auth_tag_output_len_in_bytes = il;
	job = IMB_SUBMIT_JOB(m);
	while (!job)                    /* single job in flight: flush returns it */
		job = IMB_FLUSH_JOB(m);
	rc = job->status == IMB_STATUS_COMPLETED ? 0 : -EIO;
	if (op->esn)
		memcpy(icv_at, icv, il);
	if (!rc && CRYPTO_memcmp(tag, icv, il))
		rc = -EBADMSG;          /* the decrypted bytes are never used */
	return rc;
}

int crypto_imb_open(void *t, const struct crypto_sa *cs, const struct crypto_op *op)
{
	const struct imb_sa *s = (const struct imb_sa *)cs;
	IMB_MGR *m = t;
	uint8_t nonce[12], aad[12], tag[16];
	size_t al;

	if (s->h.alg == XS_ALG_AES_CBC)
		return open_cbc_hmac(m, s, op);
	al = aead_setup(s, op, nonce, aad);
	if (s->h.alg == XS_ALG_AES_GCM) {
		struct gcm_context_data ctx;

		if (s->key_len == 16)
			IMB_AES128_GCM_DEC(m, &s->gcm, &ctx, op->ct, op->ct, op->ct_len, nonce,
					   aad, al, tag, s->h.icv_len);
		else if (s->key_len == 24)
			IMB_AES192_GCM_DEC(m, &s->gcm, &ctx, op->ct, op->ct, op->ct_len, nonce,
					   aad, al, tag, s->h.icv_len);
		else
			IMB_AES256_GCM_DEC(m, &s->gcm, &ctx, op->ct, op->ct, op->ct_len, nonce,
					   aad, al, tag, s->h.icv_len);
	} else {
		struct chacha20_poly1305_context_data ctx;

		IMB_CHACHA20_POLY1305_INIT(m, s->chacha_key, &ctx, nonce, aad, al);
		IMB_CHACHA20_POLY1305_DEC_UPDATE(m, s->chacha_key, &ctx, op->ct, op->ct, op->ct_len);
		IMB_CHACHA20_POLY1305_DEC_FINALIZE(m, &ctx, tag, 16);
	}
	return CRYPTO_memcmp(tag, op->icv, s->h.icv_len) ? -EBADMSG : 0;
}
