// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * crypto_core.c - backend selection, transform validation, and dispatch of
 * crypto_open to the backend that expanded the SA's keys.
 */
#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

struct crypto_thr {
	void *ossl;              /* crypto_openssl.c per-thread state */
	void *imb;               /* crypto_ipsecmb.c per-thread state, NULL if unusable */
};

uint64_t crypto_next_uid(void)
{
	static uint64_t uid;

	return __atomic_add_fetch(&uid, 1, __ATOMIC_RELAXED);
}

enum crypto_backend crypto_backend_resolve(enum crypto_backend be)
{
	const char *env;

	if (be == CRYPTO_BACKEND_AUTO) {
		env = getenv("XDPSEC_CRYPTO");
		if (env && !strcmp(env, "openssl"))
			be = CRYPTO_BACKEND_OPENSSL;
		else if (env && !strcmp(env, "ipsecmb"))
			be = CRYPTO_BACKEND_IPSECMB;
		else {
			if (env && *env)
				pr_warn("XDPSEC_CRYPTO=%s: unknown backend (openssl|ipsecmb), using auto\n", env);
			be = CRYPTO_BACKEND_IPSECMB;
		}
	}
	if (be == CRYPTO_BACKEND_IPSECMB && !crypto_imb_usable()) {
		pr_warn("crypto: not using intel-ipsec-mb: %s; using OpenSSL\n",
			crypto_imb_why_not());
		be = CRYPTO_BACKEND_OPENSSL;
	} else if (be == CRYPTO_BACKEND_IPSECMB) {
		static int told;

		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			pr_debug("crypto: %s\n", crypto_imb_describe());
	}
	return be;
}

/* The rules live in sa_config.c (one validator for every layer); checked
 * here too so that no config reaches a backend unchecked. */
int crypto_check_config(const struct xs_sa_config *c, struct crypto_params *p,
			char *err, size_t errlen)
{
	if (sa_config_validate(c, err, errlen))
		return -EINVAL;
	p->iv_len = (uint16_t)sa_alg_iv_len(c->alg);
	p->block = (uint16_t)sa_alg_block(c->alg);
	p->icv_len = c->icv_bits / 8;
	return 0;
}

struct crypto_sa *crypto_sa_new(enum crypto_backend be, const struct xs_sa_config *cfg,
				char *err, size_t errlen)
{
	struct crypto_params p;
	struct crypto_sa *s = NULL;

	if (crypto_check_config(cfg, &p, err, errlen))
		return NULL;
	be = crypto_backend_resolve(be);
	if (be == CRYPTO_BACKEND_IPSECMB)
		s = crypto_imb_sa_new(cfg, err, errlen);
	if (!s)             /* OpenSSL, or an algorithm ipsec-mb cannot serve */
		s = crypto_ossl_sa_new(cfg, err, errlen);
	return s;
}

void crypto_sa_free(struct crypto_sa *s)
{
	if (!s)
		return;
	if (crypto_sa_backend(s) == CRYPTO_BACKEND_IPSECMB)
		crypto_imb_sa_free(s);
	else
		crypto_ossl_sa_free(s);
}

enum crypto_backend crypto_sa_backend(const struct crypto_sa *s)
{
	return ((const struct crypto_sa_head *)s)->be;
}

struct crypto_thr *crypto_thr_new(void)
{
	struct crypto_thr *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ossl = crypto_ossl_thr_new();
	if (!t->ossl) {
		free(t);
		return NULL;
	}
	/* SAs are given to ipsec-mb when it is usable: a thread that could
	 * not open them must not exist (it would drop all their packets). */
	if (crypto_imb_usable()) {
		t->imb = crypto_imb_thr_new();
		if (!t->imb) {
			pr_warn("crypto: cannot create this thread's intel-ipsec-mb manager\n");
			crypto_ossl_thr_free(t->ossl);
			free(t);
			return NULL;
		}
	}
	return t;
}

void crypto_thr_free(struct crypto_thr *t)
{
	if (!t)
		return;
	crypto_ossl_thr_free(t->ossl);
	crypto_imb_thr_free(t->imb);
	free(t);
}

int crypto_open(struct crypto_thr *t, const struct crypto_sa *s, const struct crypto_op *op)
{
	if (((const struct crypto_sa_head *)s)->be == CRYPTO_BACKEND_IPSECMB) {
		const struct crypto_sa *twin = crypto_imb_sa_twin(s);

		if (twin)
			return crypto_ossl_open(t->ossl, twin, op);
		return t->imb ? crypto_imb_open(t->imb, s, op) : -EIO;
	}
	return crypto_ossl_open(t->ossl, s, op);
}

int crypto_submit(struct crypto_thr *t, struct crypto_job *j)
{
	if (((const struct crypto_sa_head *)j->sa)->be == CRYPTO_BACKEND_IPSECMB) {
		if (!t->imb) {
			j->rc = -EIO;
			return 0;
		}
		return crypto_imb_submit(t->imb, j);
	}
	j->rc = crypto_ossl_open(t->ossl, j->sa, &j->op);
	return 0;
}

int crypto_queues(const struct crypto_thr *t, const struct crypto_sa *s)
{
	const struct crypto_sa_head *h = (const struct crypto_sa_head *)s;

	return h->be == CRYPTO_BACKEND_IPSECMB && !sa_alg_is_aead(h->alg) && t->imb;
}

void crypto_drain(struct crypto_thr *t)
{
	if (t->imb)
		crypto_imb_drain(t->imb);
}
