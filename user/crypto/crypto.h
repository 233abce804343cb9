/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * crypto.h - the ESP engine's crypto layer: one "open" operation (verify the
 * ICV, then decrypt in place) over two backends, intel-ipsec-mb (fast,
 * x86_64) and OpenSSL 3 EVP (portable).
 *
 * Keys are expanded once per SA (struct crypto_sa, immutable afterwards, so
 * any number of worker threads may use it at once); everything mutable
 * (IMB_MGR, EVP contexts) lives in a per-thread struct crypto_thr.
 * Tags are always compared in constant time (CRYPTO_memcmp); ipsec-mb's
 * GCM/ChaCha decrypt only computes the tag.
 */
#ifndef XDPSEC_CRYPTO_H
#define XDPSEC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "sa_config.h"

enum crypto_backend {
	CRYPTO_BACKEND_AUTO = 0,     /* env XDPSEC_CRYPTO=openssl|ipsecmb, else ipsec-mb if usable */
	CRYPTO_BACKEND_IPSECMB,
	CRYPTO_BACKEND_OPENSSL,
	CRYPTO_BACKEND__N
};

const char *crypto_backend_name(enum crypto_backend be);
/* Why backend be cannot be used on this machine; NULL when it can. */
const char *crypto_backend_why_not(enum crypto_backend be);
/* What it runs: "intel-ipsec-mb 1.3.0, AVX512 code path". */
const char *crypto_backend_describe(enum crypto_backend be);
/* AUTO -> a concrete backend (env, then ipsec-mb if this CPU runs it). */
enum crypto_backend crypto_backend_resolve(enum crypto_backend be);

/* One inbound ESP packet, laid out as on the wire. */
struct crypto_op {
	const uint8_t *esp;      /* SPI, seq, IV: the start of the ESP header  */
	uint8_t *ct;             /* ciphertext (after the IV), decrypted in place */
	size_t ct_len;
	const uint8_t *icv;      /* received ICV, right after ct               */
	uint32_t seq_hi;         /* ESN high bits (host order), used if esn    */
	int esn;
};

struct crypto_sa;            /* per SA: expanded keys, wiped on free        */
struct crypto_thr;           /* per worker thread                           */

/* Parameters of an SA's transform, known before any packet. */
struct crypto_params {
	uint16_t iv_len;         /* 8 (GCM, GMAC, ChaCha20), 16 (CBC), 0 (NULL) */
	uint16_t icv_len;        /* bytes                                       */
	uint16_t block;          /* ciphertext length must be a multiple: 16 CBC, else 1 */
};

/* sa_config_validate (sa_config.c, the one validator), then cfg's transform
 * parameters; 0 or -EINVAL with err naming the field. */
int crypto_check_config(const struct xs_sa_config *cfg, struct crypto_params *p,
			char *err, size_t errlen);

/* Expands cfg's keys for backend be (IPSECMB falls back to OPENSSL for an SA
 * it cannot serve; crypto_sa_backend tells which one was taken). */
struct crypto_sa *crypto_sa_new(enum crypto_backend be, const struct xs_sa_config *cfg,
				char *err, size_t errlen);
void crypto_sa_free(struct crypto_sa *s);          /* wipes the keys */
enum crypto_backend crypto_sa_backend(const struct crypto_sa *s);

struct crypto_thr *crypto_thr_new(void);
void crypto_thr_free(struct crypto_thr *t);

/* Verify the ICV, and only then decrypt op->ct in place.
 * 0 = authentic and decrypted; -EBADMSG = ICV mismatch (ct untouched or
 * garbage, never to be used); other negative = internal error.  For one
 * packet alone: an ipsec-mb CBC+HMAC SA is served by its OpenSSL twin
 * here (same keys; faster than one multi-buffer job alone). */
int crypto_open(struct crypto_thr *t, const struct crypto_sa *s, const struct crypto_op *op);

/* Burst form of crypto_open, for esp_input_burst.  A job is memory owned by
 * the caller that must stay put (and op's buffers untouched) until
 * crypto_drain has returned.  crypto_submit either completes the job at once
 * (returns 0, j->rc = what crypto_open returns) or queues it in the
 * thread's backend (returns 1); crypto_drain completes every queued job
 * (sets each j->rc).  Only ipsec-mb CBC+HMAC queues: its multi-buffer hash
 * then works on several packets at once instead of one lane of 8 or 16. */
struct crypto_job {
	struct crypto_op op;
	const struct crypto_sa *sa;
	int rc;
	uint8_t tag[64];         /* backend scratch: the computed ICV          */
	uint8_t icv[64];         /* backend scratch: the received ICV (ESN), up
	                          * to a whole HMAC-SHA-512                     */
};
int crypto_submit(struct crypto_thr *t, struct crypto_job *j);
void crypto_drain(struct crypto_thr *t);
/* Would crypto_submit queue this SA's jobs?  Worth it from
 * CRYPTO_QUEUE_MIN jobs on: with fewer, the multi-buffer hash runs mostly
 * empty lanes and crypto_open is faster (1400 B, HMAC-SHA256: 2 queued
 * jobs 0.27 Mpps, 8 jobs 0.86 Mpps, crypto_open 0.75 Mpps). */
#define CRYPTO_QUEUE_MIN 8
int crypto_queues(const struct crypto_thr *t, const struct crypto_sa *s);

/* ---- What a backend gives the core.  crypto_core.c calls backends only
 * through these (the list of them is crypto_backends.c's); a backend
 * calls the core only for crypto_next_uid. */
struct crypto_backend_ops {
	enum crypto_backend id;
	const char *name;                        /* "ipsecmb", "openssl" */
	const char *(*why_not)(void);            /* NULL when usable */
	const char *(*describe)(void);           /* what it runs, for the log */
	/* NULL when it cannot serve cfg (the core then takes the last
	 * backend of crypto_backends, which serves every transform) */
	struct crypto_sa *(*sa_new)(const struct xs_sa_config *cfg, char *err, size_t errlen);
	void (*sa_free)(struct crypto_sa *s);
	void *(*thr_new)(void);                  /* per worker thread */
	void (*thr_free)(void *t);
	int (*open)(void *t, const struct crypto_sa *s, const struct crypto_op *op);
	/* Optional: jobs of this SA are queued by submit and completed by
	 * drain (crypto_submit); a lone packet then goes to a twin of the SA
	 * that the core makes with the last backend (faster alone). */
	int (*queues)(const struct crypto_sa *s);
	int (*submit)(void *t, struct crypto_job *j);
	void (*drain)(void *t);
};
/* crypto_backends.c: every backend, in the order AUTO prefers them; the
 * last one serves every transform. */
extern const struct crypto_backend_ops *const crypto_backends[];
extern const unsigned crypto_n_backends;

/* Common head of every backend's crypto_sa. */
struct crypto_sa_head {
	enum crypto_backend be;
	uint8_t alg, auth;
	uint16_t icv_len;
	uint16_t key_len;        /* cipher key bytes, salt excluded             */
	uint64_t uid;            /* unique per crypto_sa: per-thread key caches */
	struct crypto_sa *twin;  /* set by the core (ops.queues), else NULL    */
};
uint64_t crypto_next_uid(void);

#endif
