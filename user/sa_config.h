/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_config.h - the description of one security association, in the
 * vocabulary of `ip xfrm state`.  Produced by the CLI parser (sa_parse.c)
 * and by the state file loader, consumed by the SA table (sa_table.c).
 * Plain data, no pointers: it is copied over the control socket as JSON and
 * into the SA table as is.
 */
#ifndef XDPSEC_SA_CONFIG_H
#define XDPSEC_SA_CONFIG_H

#include <stdint.h>
#include <stdbool.h>
#include <netinet/in.h>

enum xs_mode {
	XS_MODE_TRANSPORT = 0,
	XS_MODE_TUNNEL = 1,
};

/* Algorithms, named as `ip xfrm state` names them. */
enum xs_alg {
	XS_ALG_NONE = 0,
	XS_ALG_AES_GCM,          /* aead 'rfc4106(gcm(aes))' key(16|24|32)+salt(4), icv 64|96|128 */
	XS_ALG_CHACHA20_POLY1305,/* aead 'rfc7539esp(chacha20,poly1305)' key(32)+salt(4), icv 128 */
	XS_ALG_AES_CBC,          /* enc 'cbc(aes)' key(16|24|32), with auth-trunc below           */
};

enum xs_auth {
	XS_AUTH_NONE = 0,        /* AEAD algorithms carry their own ICV                 */
	XS_AUTH_HMAC_SHA1,       /* auth-trunc 'hmac(sha1)'   key 20, trunc 96          */
	XS_AUTH_HMAC_SHA256,     /* auth-trunc 'hmac(sha256)' key 32, trunc 128         */
	XS_AUTH_HMAC_SHA384,     /* auth-trunc 'hmac(sha384)' key 48, trunc 192         */
	XS_AUTH_HMAC_SHA512,     /* auth-trunc 'hmac(sha512)' key 64, trunc 256         */
};

#define XS_MAX_ENC_KEY   36      /* 32-byte AES-256 / ChaCha20 key + 4-byte salt */
#define XS_MAX_AUTH_KEY  64

struct xs_addr {
	uint8_t family;          /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

struct xs_sa_config {
	struct xs_addr src;      /* outer source (tunnel endpoint / peer)   */
	struct xs_addr dst;      /* outer destination: part of the SA key   */
	uint32_t spi;            /* host order                              */
	uint32_t reqid;          /* stored and shown, not interpreted       */
	uint8_t  proto;          /* IPPROTO_ESP                             */
	uint8_t  mode;           /* enum xs_mode                            */
	uint8_t  alg;            /* enum xs_alg                             */
	uint8_t  auth;           /* enum xs_auth                            */
	uint16_t icv_bits;       /* ICV (tag) length in bits                */
	uint8_t  enc_key_len;    /* bytes in enc_key, salt included for AEAD */
	uint8_t  auth_key_len;   /* bytes in auth_key                       */
	uint8_t  enc_key[XS_MAX_ENC_KEY];
	uint8_t  auth_key[XS_MAX_AUTH_KEY];
	uint32_t replay_window;  /* packets; 0 = anti-replay off            */
	bool     esn;            /* flag esn (RFC 4304)                     */
	bool     encap;          /* encap espinudp                          */
	uint16_t encap_sport;    /* host order                              */
	uint16_t encap_dport;    /* host order                              */
};

#endif /* XDPSEC_SA_CONFIG_H */
