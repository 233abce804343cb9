// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* crypto_ipsecmb.c - placeholder until the ipsec-mb backend lands. */
#include "crypto.h"

#include <errno.h>
#include <stddef.h>

int crypto_imb_usable(void) { return 0; }
struct crypto_sa *crypto_imb_sa_new(const struct xs_sa_config *cfg, char *err, size_t errlen)
{ (void)cfg; (void)err; (void)errlen; return NULL; }
void crypto_imb_sa_free(struct crypto_sa *s) { (void)s; }
void *crypto_imb_thr_new(void) { return NULL; }
void crypto_imb_thr_free(void *t) { (void)t; }
int crypto_imb_open(void *t, const struct crypto_sa *s, const struct crypto_op *op)
{ (void)t; (void)s; (void)op; return -EIO; }
