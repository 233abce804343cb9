// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * crypto_backends.c - the crypto backends this build has, in the order
 * XDPSEC_CRYPTO=auto prefers them.  The last one serves every transform:
 * SAs the others cannot serve, and the twins of SAs whose jobs they queue
 * (crypto.h, struct crypto_backend_ops).
 */
#include "crypto.h"

extern const struct crypto_backend_ops crypto_ipsecmb_ops;   /* crypto_ipsecmb.c */
extern const struct crypto_backend_ops crypto_openssl_ops;   /* crypto_openssl.c */

const struct crypto_backend_ops *const crypto_backends[] = {
	&crypto_ipsecmb_ops,
	&crypto_openssl_ops,
};
const unsigned crypto_n_backends = sizeof(crypto_backends) / sizeof(crypto_backends[0]);
