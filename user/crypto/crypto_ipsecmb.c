// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * crypto_ipsecmb.c - the fast backend, intel-ipsec-mb 1.3 (static library).
 *
 * Version 1.3 serves every transform we offer: AES-GCM 128/192/256 and
 * ChaCha20-Poly1305 through their direct APIs, AES-GMAC (RFC 4543) through
 * the GMAC direct API, and AES-CBC or NULL encryption with
 * HMAC-SHA1/256/384/512 as one chained job (hash then decrypt, or hash and
 * the NULL cipher, which copies nothing).  One SA falls back to OpenSSL
 * (crypto_imb_sa_new returns NULL, crypto_sa_new takes the universal backend): an HMAC
 * SA with ESN and an ICV under 4 bytes, where the chained job's trick of
 * hashing seq_hi in the ICV's place would write past the packet.
 * crypto_imb_usable() says no
 * (and crypto_imb_why_not() says why: no AES-NI, the manager cannot be
 * allocated or initialised, the known-answer test fails) and every SA then
 * goes to OpenSSL.
 *
 * ipsec-mb computes tags but never compares them: we compare in constant
 * time with CRYPTO_memcmp.  Expanded keys are per SA and read-only; each
 * thread has its own IMB_MGR.  One shared IMB_MGR (under a mutex) expands
 * keys for the control thread.  CBC+HMAC jobs of a burst are submitted
 * together (crypto_imb_submit, crypto_imb_drain) so the multi-buffer hash
 * fills its lanes; crypto_imb_open submits one job and flushes it.  A CBC
 * SA also gets an OpenSSL twin from the core (crypto_imb_queues) that
 * crypto_open uses for a packet that comes alone.
 */
#include "crypto.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <intel-ipsec-mb.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <openssl/crypto.h>

struct imb_sa {
	struct crypto_sa_head h;
	uint8_t salt[4];
	uint8_t icv_len, esn_unused;
	IMB_HASH_ALG hash;
	uint8_t digest_len;      /* HMAC: the whole digest, what the job computes */
	uint32_t key_len;
	uint8_t iv_len;          /* HMAC transforms: CBC 16, NULL 0 */
	/* AES-GCM, AES-GMAC */
	struct gcm_key_data gcm __attribute__((aligned(64)));
	/* ChaCha20-Poly1305: the raw key */
	uint8_t chacha_key[32] __attribute__((aligned(16)));
	/* AES-CBC or NULL + HMAC */
	IMB_CIPHER_MODE cipher;  /* IMB_CIPHER_CBC or IMB_CIPHER_NULL */
	uint32_t enc_keys[60] __attribute__((aligned(16)));
	uint32_t dec_keys[60] __attribute__((aligned(16)));
	uint8_t ipad[64] __attribute__((aligned(16)));   /* inner hash state after key^ipad */
	uint8_t opad[64] __attribute__((aligned(16)));
};

static pthread_once_t imb_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t imb_setup_mu = PTHREAD_MUTEX_INITIALIZER;
static IMB_MGR *imb_setup;      /* key expansion, control thread */
static int imb_ok;
static char imb_why[200];       /* why not usable, when !imb_ok */
static char imb_desc[96];       /* version and code path, when imb_ok */

/* Per worker thread. */
struct imb_thr {
	IMB_MGR *m;
	unsigned queued;         /* jobs submitted and not yet returned */
};

static void crypto_imb_drain(void *p);

static const char *arch_name(IMB_ARCH a)
{
	switch (a) {
	case IMB_ARCH_NOAESNI: return "no-AESNI (software AES)";
	case IMB_ARCH_SSE: return "SSE";
	case IMB_ARCH_AVX: return "AVX";
	case IMB_ARCH_AVX2: return "AVX2";
	case IMB_ARCH_AVX512: return "AVX512";
	default: return "none";
	}
}

/* A manager for this CPU, or NULL with the reason in why. */
static IMB_MGR *mgr_new(char *why, size_t whylen, IMB_ARCH *arch_out)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	IMB_ARCH arch = IMB_ARCH_NONE;
	int e;

	if (!m) {
		e = imb_get_errno(NULL);
		snprintf(why, whylen, "alloc_mb_mgr failed: %s",
			 e ? imb_get_strerror(e) : "out of memory");
		return NULL;
	}
	init_mb_mgr_auto(m, &arch);
	e = imb_get_errno(m);
	if (e || arch == IMB_ARCH_NONE) {
		snprintf(why, whylen, "init_mb_mgr_auto: %s (arch %s, CPU features 0x%llx%s%s)",
			 e ? imb_get_strerror(e) : "no code path for this CPU", arch_name(arch),
			 (unsigned long long)m->features,
			 m->features & IMB_FEATURE_AESNI ? "" : ", no AES-NI",
			 (m->features & IMB_FEATURE_SELF_TEST) &&
			 !(m->features & IMB_FEATURE_SELF_TEST_PASS) ? ", library self-test failed" : "");
		free_mb_mgr(m);
		return NULL;
	}
	if (arch == IMB_ARCH_NOAESNI) {
		/* ipsec-mb would emulate AES in software: OpenSSL does better */
		snprintf(why, whylen, "this CPU has no AES-NI (ipsec-mb would only run its "
			 "software-AES code path)");
		free_mb_mgr(m);
		return NULL;
	}
	if (arch_out)
		*arch_out = arch;
	return m;
}

/* Known answer (GCM spec test case 2: zero key, zero IV, one zero block)
 * through the manager we are going to use: a library that initialises but
 * computes garbage must not be chosen. */
static int self_test(IMB_MGR *m)
{
	static const uint8_t ct0[16] = { 0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92,
					 0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78 };
	static const uint8_t tag0[16] = { 0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13, 0xbd,
					  0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf };
	static const uint8_t zero[16];
	struct gcm_key_data k __attribute__((aligned(64)));
	struct gcm_context_data ctx;
	uint8_t key[16] = { 0 }, iv[12] = { 0 }, buf[16], tag[16], aad[1] = { 0 };

	memcpy(buf, ct0, 16);
	IMB_AES128_GCM_PRE(m, key, &k);
	IMB_AES128_GCM_DEC(m, &k, &ctx, buf, buf, 16, iv, aad, 0, tag, 16);
	return memcmp(buf, zero, 16) || memcmp(tag, tag0, 16) ? -1 : 0;
}

static void imb_init(void)
{
	IMB_ARCH arch = IMB_ARCH_NONE;

	imb_setup = mgr_new(imb_why, sizeof(imb_why), &arch);
	if (imb_setup && self_test(imb_setup)) {
		snprintf(imb_why, sizeof(imb_why), "AES-GCM known-answer test failed on the %s "
			 "code path", arch_name(arch));
		free_mb_mgr(imb_setup);
		imb_setup = NULL;
	}
	imb_ok = imb_setup != NULL;
	if (imb_ok)
		snprintf(imb_desc, sizeof(imb_desc), "intel-ipsec-mb %s, %s code path",
			 imb_get_version_str(), arch_name(arch));
}

static int crypto_imb_usable(void)
{
	pthread_once(&imb_once, imb_init);
	return imb_ok;
}

static const char *crypto_imb_why_not(void)
{
	return crypto_imb_usable() ? NULL : imb_why;
}

static const char *crypto_imb_describe(void)
{
	return crypto_imb_usable() ? imb_desc : "intel-ipsec-mb (not usable)";
}

/* HMAC precompute (RFC 2104): hash state after one block of key ^ pad.
 * A key longer than the block is replaced by its hash (section 3); a
 * shorter one is padded with zeros (here: XORed into the pad bytes). */
static void hmac_pre(IMB_MGR *m, IMB_HASH_ALG h, const uint8_t *key, size_t kl,
		     uint8_t *ipad, uint8_t *opad)
{
	uint8_t blk[128], kh[64];
	size_t bl = (h == IMB_AUTH_HMAC_SHA_384 || h == IMB_AUTH_HMAC_SHA_512) ? 128 : 64, i;

	if (kl > bl) {
		switch (h) {
		case IMB_AUTH_HMAC_SHA_1: IMB_SHA1(m, key, kl, kh); kl = 20; break;
		case IMB_AUTH_HMAC_SHA_256: IMB_SHA256(m, key, kl, kh); kl = 32; break;
		case IMB_AUTH_HMAC_SHA_384: IMB_SHA384(m, key, kl, kh); kl = 48; break;
		default: IMB_SHA512(m, key, kl, kh); kl = 64; break;
		}
		key = kh;
	}
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
	explicit_bzero(kh, sizeof(kh));
}

static struct crypto_sa *crypto_imb_sa_new(const struct xs_sa_config *cfg, char *err, size_t errlen)
{
	struct imb_sa *s;
	size_t kl;

	(void)err; (void)errlen;
	if (!crypto_imb_usable())
		return NULL;
	if (!sa_alg_is_aead(cfg->alg) && cfg->esn && cfg->icv_bits < 32)
		return NULL;             /* see the top of this file: OpenSSL serves it */
	s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->h.be = CRYPTO_BACKEND_IPSECMB;
	s->h.alg = cfg->alg;
	s->h.auth = cfg->auth;
	s->h.icv_len = cfg->icv_bits / 8;
	s->h.uid = crypto_next_uid();
	kl = sa_alg_is_aead(cfg->alg) ? cfg->enc_key_len - 4u : cfg->enc_key_len;
	s->key_len = (uint32_t)kl;
	s->h.key_len = (uint16_t)kl;
	pthread_mutex_lock(&imb_setup_mu);
	switch (cfg->alg) {
	case XS_ALG_AES_GCM:
	case XS_ALG_AES_GMAC:
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
	default:                 /* CBC or NULL, with an HMAC */
		s->cipher = cfg->alg == XS_ALG_NULL ? IMB_CIPHER_NULL : IMB_CIPHER_CBC;
		s->iv_len = (uint8_t)sa_alg_iv_len(cfg->alg);
		if (cfg->alg == XS_ALG_NULL)
			;                /* no key */
		else if (kl == 16)
			IMB_AES_KEYEXP_128(imb_setup, cfg->enc_key, s->enc_keys, s->dec_keys);
		else if (kl == 24)
			IMB_AES_KEYEXP_192(imb_setup, cfg->enc_key, s->enc_keys, s->dec_keys);
		else
			IMB_AES_KEYEXP_256(imb_setup, cfg->enc_key, s->enc_keys, s->dec_keys);
		s->hash = cfg->auth == XS_AUTH_HMAC_SHA1 ? IMB_AUTH_HMAC_SHA_1 :
			  cfg->auth == XS_AUTH_HMAC_SHA256 ? IMB_AUTH_HMAC_SHA_256 :
			  cfg->auth == XS_AUTH_HMAC_SHA384 ? IMB_AUTH_HMAC_SHA_384 :
			  IMB_AUTH_HMAC_SHA_512;
		s->digest_len = (uint8_t)(sa_auth_digest_bits(cfg->auth) / 8);
		hmac_pre(imb_setup, s->hash, cfg->auth_key, cfg->auth_key_len, s->ipad, s->opad);
	}
	pthread_mutex_unlock(&imb_setup_mu);
	return (struct crypto_sa *)s;
}

static void crypto_imb_sa_free(struct crypto_sa *cs)
{
	struct imb_sa *s = (struct imb_sa *)cs;

	if (!s)
		return;
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* HMAC SAs queue (crypto_submit): the multi-buffer hash works on a burst
 * at once.  A packet that comes alone goes to the SA's twin, which the
 * core makes with OpenSSL (crypto_open): a lone job runs the multi-buffer
 * hash with one lane busy, three times slower than OpenSSL's one-buffer
 * HMAC. */
static int crypto_imb_queues(const struct crypto_sa *s)
{
	return !sa_alg_is_aead(((const struct crypto_sa_head *)s)->alg);
}

static void *crypto_imb_thr_new(void)
{
	struct imb_thr *t;
	char why[200];

	if (!crypto_imb_usable())
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->m = mgr_new(why, sizeof(why), NULL);
	if (!t->m) {
		free(t);
		return NULL;
	}
	return t;
}

static void crypto_imb_thr_free(void *p)
{
	struct imb_thr *t = p;

	if (!t)
		return;
	crypto_imb_drain(t);
	free_mb_mgr(t->m);
	free(t);
}

/* nonce = salt || IV; AAD = SPI || [seq_hi ||] seq (RFC 4106 / 7634).
 * Without ESN the AAD is the ESP header itself, read in place: built in a
 * stack buffer from 4-byte pieces it would be read back by the library's
 * wider loads before those stores could be forwarded (a stall per packet). */
static const uint8_t *aead_setup(const struct imb_sa *s, const struct crypto_op *op,
				 uint8_t nonce[16], uint8_t aad[12], size_t *al)
{
	/* the nonce with one 16-byte store, so the library's 12/16-byte load
	 * of it is forwarded from that store (two stores would stall it) */
	uint32_t salt, iv_hi;
	uint64_t iv_lo, w[2];

	memcpy(&salt, s->salt, 4);
	memcpy(&iv_lo, op->esp + 8, 4);
	memcpy(&iv_hi, op->esp + 12, 4);
	w[0] = (uint64_t)salt | iv_lo << 32;
	w[1] = iv_hi;
#ifdef __SSE2__
	_mm_store_si128((__m128i *)(void *)nonce, _mm_set_epi64x((long long)w[1], (long long)w[0]));
#else
	memcpy(nonce, w, 16);
#endif
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy(aad, op->esp, 4);
		memcpy(aad + 4, &hi, 4);
		memcpy(aad + 8, op->esp + 4, 4);
		*al = 12;
		return aad;
	}
	*al = 8;
	return op->esp;
}

/* An HMAC job came back: restore what ESN borrowed, compare the ICV. */
static void cbc_done(struct imb_thr *t, IMB_JOB *job)
{
	struct crypto_job *j = job->user_data;
	size_t il = j->sa ? ((const struct crypto_sa_head *)j->sa)->icv_len : 0;
	int rc = job->status == IMB_STATUS_COMPLETED ? 0 : -EIO;

	t->queued--;
	if (j->op.esn)
		memcpy((uint8_t *)j->op.icv, j->icv, 4);
	if (!rc && CRYPTO_memcmp(j->tag, j->icv, il))
		rc = -EBADMSG;          /* the decrypted bytes are never used */
	j->rc = rc;
}

/* CBC (or NULL) + HMAC as one chained job (hash the ciphertext, then
 * decrypt; the NULL cipher leaves the bytes where they are).  The
 * multi-buffer hash runs 8 or 16 packets in lanes: a job may come back at a
 * later submit or at the flush.  ESN: the ICV covers seq_hi right after the
 * ciphertext (RFC 4303 2.2.1), so seq_hi is put where the ICV lies for the
 * contiguous hash and the ICV is put back when the job returns. */
static void cbc_submit(struct imb_thr *t, const struct imb_sa *s, struct crypto_job *j)
{
	const struct crypto_op *op = &j->op;
	size_t il = s->h.icv_len;
	IMB_JOB *job;

	memcpy(j->icv, op->icv, il);
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy((uint8_t *)op->icv, &hi, 4);
	}
	job = IMB_GET_NEXT_JOB(t->m);
	job->cipher_mode = s->cipher;
	job->cipher_direction = IMB_DIR_DECRYPT;
	job->chain_order = IMB_ORDER_HASH_CIPHER;
	job->enc_keys = s->enc_keys;
	job->dec_keys = s->dec_keys;
	job->key_len_in_bytes = s->key_len;
	job->src = op->esp;
	job->dst = op->ct;
	job->cipher_start_src_offset_in_bytes = 8u + s->iv_len;
	job->msg_len_to_cipher_in_bytes = op->ct_len;
	job->iv = op->esp + 8;
	job->iv_len_in_bytes = s->iv_len;
	job->hash_alg = s->hash;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = 8u + s->iv_len + op->ct_len + (op->esn ? 4 : 0);
	job->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = s->opad;
	/* ipsec-mb takes only its fixed tag lengths (sha1 12 or 20, sha256 16
	 * or 32, ...): the whole digest is asked for, its first il bytes are
	 * compared (cbc_done) */
	job->auth_tag_output = j->tag;
	job->auth_tag_output_len_in_bytes = s->digest_len;
	job->user_data = j;
	t->queued++;
	job = IMB_SUBMIT_JOB(t->m);
	while (job) {
		cbc_done(t, job);
		job = IMB_GET_COMPLETED_JOB(t->m);
	}
}

static void crypto_imb_drain(void *p)
{
	struct imb_thr *t = p;
	IMB_JOB *job;

	while (t->queued && (job = IMB_FLUSH_JOB(t->m)) != NULL)
		cbc_done(t, job);
}

/* RFC 4543 GMAC: the AAD is SPI, [seq_hi,] seq, IV and the payload up to
 * the ICV (section 5); the GMAC API takes it in pieces, nothing is
 * decrypted.  Nonce = salt || IV, as for GCM. */
static int open_gmac(struct imb_thr *t, const struct imb_sa *s, const struct crypto_op *op)
{
	IMB_MGR *m = t->m;
	struct gcm_context_data ctx;
	uint8_t nonce[12], aad[12], tag[16];
	const uint8_t *p = op->esp;
	uint64_t n = 16 + op->ct_len;

	memcpy(nonce, s->salt, 4);
	memcpy(nonce + 4, op->esp + 8, 8);
	if (op->esn) {
		uint32_t hi = __builtin_bswap32(op->seq_hi);

		memcpy(aad, op->esp, 4);
		memcpy(aad + 4, &hi, 4);
		memcpy(aad + 8, op->esp + 4, 4);
	}
	if (s->key_len == 16) {
		IMB_AES128_GMAC_INIT(m, &s->gcm, &ctx, nonce, 12);
		if (op->esn) {
			IMB_AES128_GMAC_UPDATE(m, &s->gcm, &ctx, aad, 12);
			p += 8, n -= 8;
		}
		IMB_AES128_GMAC_UPDATE(m, &s->gcm, &ctx, p, n);
		IMB_AES128_GMAC_FINALIZE(m, &s->gcm, &ctx, tag, 16);
	} else if (s->key_len == 24) {
		IMB_AES192_GMAC_INIT(m, &s->gcm, &ctx, nonce, 12);
		if (op->esn) {
			IMB_AES192_GMAC_UPDATE(m, &s->gcm, &ctx, aad, 12);
			p += 8, n -= 8;
		}
		IMB_AES192_GMAC_UPDATE(m, &s->gcm, &ctx, p, n);
		IMB_AES192_GMAC_FINALIZE(m, &s->gcm, &ctx, tag, 16);
	} else {
		IMB_AES256_GMAC_INIT(m, &s->gcm, &ctx, nonce, 12);
		if (op->esn) {
			IMB_AES256_GMAC_UPDATE(m, &s->gcm, &ctx, aad, 12);
			p += 8, n -= 8;
		}
		IMB_AES256_GMAC_UPDATE(m, &s->gcm, &ctx, p, n);
		IMB_AES256_GMAC_FINALIZE(m, &s->gcm, &ctx, tag, 16);
	}
	return CRYPTO_memcmp(tag, op->icv, 16) ? -EBADMSG : 0;
}

/* GCM or ChaCha20-Poly1305 through the direct API, tag compared here. */
static inline int open_aead(struct imb_thr *t, const struct imb_sa *s, const struct crypto_op *op)
{
	IMB_MGR *m = t->m;
	uint8_t nonce[16] __attribute__((aligned(16))), aadbuf[12], tag[16];
	const uint8_t *aad;
	size_t al;

	aad = aead_setup(s, op, nonce, aadbuf, &al);
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

static int crypto_imb_submit(void *p, struct crypto_job *j)
{
	const struct imb_sa *s = (const struct imb_sa *)j->sa;

	if (!sa_alg_is_aead(s->h.alg)) {
		cbc_submit(p, s, j);
		return 1;
	}
	j->rc = s->h.alg == XS_ALG_AES_GMAC ? open_gmac(p, s, &j->op) : open_aead(p, s, &j->op);
	return 0;
}

static int crypto_imb_open(void *p, const struct crypto_sa *cs, const struct crypto_op *op)
{
	const struct imb_sa *s = (const struct imb_sa *)cs;
	struct imb_thr *t = p;

	if (!sa_alg_is_aead(s->h.alg)) {
		struct crypto_job j;

		j.op = *op;
		j.sa = cs;
		j.rc = -EIO;
		cbc_submit(t, s, &j);
		crypto_imb_drain(t);
		return j.rc;
	}
	if (s->h.alg == XS_ALG_AES_GMAC)
		return open_gmac(t, s, op);
	return open_aead(t, s, op);
}

const struct crypto_backend_ops crypto_ipsecmb_ops = {
	.id = CRYPTO_BACKEND_IPSECMB,
	.name = "ipsecmb",
	.why_not = crypto_imb_why_not,
	.describe = crypto_imb_describe,
	.sa_new = crypto_imb_sa_new,
	.sa_free = crypto_imb_sa_free,
	.thr_new = crypto_imb_thr_new,
	.thr_free = crypto_imb_thr_free,
	.open = crypto_imb_open,
	.queues = crypto_imb_queues,
	.submit = crypto_imb_submit,
	.drain = crypto_imb_drain,
};
