// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * crypto_core.c - backend selection, transform validation, and dispatch of
 * crypto_open to the backend that expanded the SA's keys.  Backends are
 * reached only through their struct crypto_backend_ops (crypto.h), listed
 * in crypto_backends.c.
 */
#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

/* Per worker thread: each usable backend's state, by backend id. */
struct crypto_thr {
	void *st[CRYPTO_BACKEND__N];
};

uint64_t crypto_next_uid(void)
{
	static uint64_t uid;

	return __atomic_add_fetch(&uid, 1, __ATOMIC_RELAXED);
}

static const struct crypto_backend_ops *ops_of(enum crypto_backend be)
{
	for (unsigned i = 0; i < crypto_n_backends; i++)
		if (crypto_backends[i]->id == be)
			return crypto_backends[i];
	return NULL;
}

/* The backend that serves every transform: SAs another cannot serve, and
 * the twins of SAs whose jobs another queues. */
static const struct crypto_backend_ops *universal(void)
{
	return crypto_backends[crypto_n_backends - 1];
}

static int usable(const struct crypto_backend_ops *o)
{
	return o && (!o->why_not || !o->why_not());
}

const char *crypto_backend_name(enum crypto_backend be)
{
	const struct crypto_backend_ops *o = ops_of(be);

	return be == CRYPTO_BACKEND_AUTO ? "auto" : o ? o->name : "?";
}

const char *crypto_backend_why_not(enum crypto_backend be)
{
	const struct crypto_backend_ops *o = ops_of(be);

	if (!o)
		return "no such backend";
	return o->why_not ? o->why_not() : NULL;
}

const char *crypto_backend_describe(enum crypto_backend be)
{
	const struct crypto_backend_ops *o = ops_of(be);

	return !o ? "no such backend" : o->describe ? o->describe() : o->name;
}

enum crypto_backend crypto_backend_resolve(enum crypto_backend be)
{
	const struct crypto_backend_ops *o = NULL;
	const char *env;

	if (be == CRYPTO_BACKEND_AUTO) {
		env = getenv("XDPSEC_CRYPTO");
		for (unsigned i = 0; env && *env && i < crypto_n_backends; i++)
			if (!strcmp(env, crypto_backends[i]->name))
				o = crypto_backends[i];
		if (env && *env && !o)
			pr_warn("XDPSEC_CRYPTO=%s: unknown backend (openssl|ipsecmb), using auto\n", env);
		if (!o)
			o = crypto_backends[0];
		be = o->id;
	}
	o = ops_of(be);
	if (o && !usable(o)) {
		pr_warn("crypto: not using %s: %s; using %s\n", o->name, o->why_not(),
			universal()->name);
		be = universal()->id;
	} else if (o && o->describe && o != universal()) {
		static int told;

		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			pr_debug("crypto: %s\n", o->describe());
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
	const struct crypto_backend_ops *o;
	struct crypto_params p;
	struct crypto_sa *s = NULL;

	if (crypto_check_config(cfg, &p, err, errlen))
		return NULL;
	o = ops_of(crypto_backend_resolve(be));
	if (o && o != universal()) {
		s = o->sa_new(cfg, err, errlen);
		if (s && o->queues && o->queues(s)) {
			struct crypto_sa *twin = universal()->sa_new(cfg, err, errlen);

			if (!twin) {
				o->sa_free(s);
				s = NULL;
			}
			if (s)
				((struct crypto_sa_head *)s)->twin = twin;
		}
	}
	if (!s)             /* the universal backend, or a transform o cannot serve */
		s = universal()->sa_new(cfg, err, errlen);
	return s;
}

void crypto_sa_free(struct crypto_sa *s)
{
	struct crypto_sa_head *h = (struct crypto_sa_head *)s;

	if (!s)
		return;
	if (h->twin)
		universal()->sa_free(h->twin);
	ops_of(h->be)->sa_free(s);
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
	/* SAs are given to every usable backend: a thread that could not
	 * open them must not exist (it would drop all their packets). */
	for (unsigned i = 0; i < crypto_n_backends; i++) {
		const struct crypto_backend_ops *o = crypto_backends[i];

		if (!usable(o))
			continue;
		t->st[o->id] = o->thr_new();
		if (!t->st[o->id]) {
			pr_warn("crypto: cannot create this thread's %s state\n", o->name);
			crypto_thr_free(t);
			return NULL;
		}
	}
	return t;
}

void crypto_thr_free(struct crypto_thr *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < crypto_n_backends; i++) {
		const struct crypto_backend_ops *o = crypto_backends[i];

		if (t->st[o->id])
			o->thr_free(t->st[o->id]);
	}
	free(t);
}

int crypto_open(struct crypto_thr *t, const struct crypto_sa *s, const struct crypto_op *op)
{
	const struct crypto_sa_head *h = (const struct crypto_sa_head *)s;
	const struct crypto_backend_ops *o;

	if (h->twin) {
		o = universal();
		s = h->twin;
	} else {
		o = ops_of(h->be);
	}
	return t->st[o->id] ? o->open(t->st[o->id], s, op) : -EIO;
}

int crypto_submit(struct crypto_thr *t, struct crypto_job *j)
{
	const struct crypto_backend_ops *o = ops_of(((const struct crypto_sa_head *)j->sa)->be);

	if (!t->st[o->id]) {
		j->rc = -EIO;
		return 0;
	}
	if (o->submit)
		return o->submit(t->st[o->id], j);
	j->rc = o->open(t->st[o->id], j->sa, &j->op);
	return 0;
}

int crypto_queues(const struct crypto_thr *t, const struct crypto_sa *s)
{
	const struct crypto_backend_ops *o = ops_of(((const struct crypto_sa_head *)s)->be);

	return o->queues && o->queues(s) && t->st[o->id];
}

void crypto_drain(struct crypto_thr *t)
{
	for (unsigned i = 0; i < crypto_n_backends; i++) {
		const struct crypto_backend_ops *o = crypto_backends[i];

		if (o->drain && t->st[o->id])
			o->drain(t->st[o->id]);
	}
}
