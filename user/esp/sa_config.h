/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sa_config.h - the description of one security association, in the
 * vocabulary of `ip xfrm state`.  Produced by the CLI parser (sa_parse.c)
 * and by the state file loader, consumed by the SA table (sa_table.c).
 * Plain data, no pointers: it is copied over the control socket as JSON and
 * into the SA table as is.
 *
 * The rules a config must obey (key and ICV lengths, which algorithms go
 * together) and the algorithms' names live in one place, sa_config.c:
 * the parsers, the SA table and the crypto layer all call
 * sa_config_validate.
 */
#ifndef XDPSEC_SA_CONFIG_H
#define XDPSEC_SA_CONFIG_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
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
	XS_ALG_AES_CBC,          /* enc 'cbc(aes)' key(16|24|32), with an HMAC below               */
	XS_ALG_AES_GMAC,         /* aead 'rfc4543(gcm(aes))' key(16|24|32)+salt(4), icv 128:
	                          * authentication only (RFC 4543), the payload travels in clear */
	XS_ALG_NULL,             /* enc 'ecb(cipher_null)' '' (RFC 2410), with an HMAC below      */
};

/* HMACs (RFC 2104), for enc cbc(aes) and enc ecb(cipher_null).  Any key
 * length from 1 byte; any truncation the kernel takes: a multiple of 8
 * from 8 bits to the digest.  `auth` without -trunc means the kernel's
 * default truncation (sa_auth_default_trunc). */
enum xs_auth {
	XS_AUTH_NONE = 0,        /* AEAD algorithms carry their own ICV                 */
	XS_AUTH_HMAC_SHA1,       /* hmac(sha1):   digest 160, `auth` = 96               */
	XS_AUTH_HMAC_SHA256,     /* hmac(sha256): digest 256, `auth` = 96 (sic, kernel) */
	XS_AUTH_HMAC_SHA384,     /* hmac(sha384): digest 384, `auth` = 192              */
	XS_AUTH_HMAC_SHA512,     /* hmac(sha512): digest 512, `auth` = 256              */
};

#define XS_MAX_ENC_KEY   36      /* 32-byte AES-256 / ChaCha20 key + 4-byte salt */
/* HMAC keys of any length are legal (RFC 2104 section 3: longer than the
 * hash's block are hashed first); 255 bytes is more than any block (128
 * for SHA-384/512), so that path is reachable for every hash. */
#define XS_MAX_AUTH_KEY  255

struct xs_addr {
	uint8_t family;          /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

/* Where an SA came from: `sa list` shows it, and the XFRM mirror
 * (xfrm_mirror.c) deletes and replaces only its own. */
enum xs_origin {
	XS_ORIGIN_MANUAL = 0,    /* xdpsecctl, -c config, state file        */
	XS_ORIGIN_XFRM = 1,      /* mirrored from the kernel's XFRM state    */
};

/* A traffic selector, as `ip xfrm` writes `sel` (struct xfrm_selector):
 * family 0 and prefix lengths 0 match everything; proto 0 is any; a port
 * matches when (port ^ sport) & sport_mask == 0 (ICMP: type in sport,
 * code in dport, as the kernel's flow keys hold them). */
struct xs_selector {
	uint8_t  family;         /* 0 = any family                          */
	uint8_t  src_plen, dst_plen;
	uint8_t  proto;          /* 0 = any                                 */
	uint16_t sport, sport_mask, dport, dport_mask; /* host order        */
	struct xs_addr src, dst; /* network part only (host bits zero)      */
};

/* Lifetimes, as `limit` and struct xfrm_lifetime_cfg give them; 0 means
 * no limit for every field (the kernel's byte/packet "inf" is stored as 0). */
struct xs_lifetime {
	uint64_t soft_bytes, hard_bytes;
	uint64_t soft_packets, hard_packets;
	uint64_t soft_add_s, hard_add_s;         /* seconds since added     */
	uint64_t soft_use_s, hard_use_s;         /* seconds since first use */
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
	uint8_t  origin;         /* enum xs_origin                          */
	struct xs_selector sel;  /* inner packets must match (spd.c)        */
	struct xs_lifetime lft;  /* soft/hard limits                        */
};

/* 0, or -1 with err naming the field and the reason: the one validator of
 * an SA config (addresses, SPI, mode, replay window, algorithms, keys,
 * ICV lengths, encapsulation). */
int sa_config_validate(const struct xs_sa_config *c, char *err, size_t errlen);

/* Selectors: equal (field by field, addresses by prefix), and whether one
 * matches nothing narrower than everything. */
bool sa_sel_equal(const struct xs_selector *a, const struct xs_selector *b);
bool sa_sel_is_any(const struct xs_selector *s);

/* What the wire format of a valid config's algorithm looks like. */
int sa_alg_is_aead(unsigned alg);          /* aead NAME KEY ICV, no auth     */
unsigned sa_alg_iv_len(unsigned alg);      /* bytes of IV after seq          */
unsigned sa_alg_block(unsigned alg);       /* ciphertext is a multiple of it */
unsigned sa_auth_digest_bits(unsigned auth);  /* 0 for XS_AUTH_NONE          */
unsigned sa_auth_default_trunc(unsigned auth);/* `auth` without -trunc       */

/* Names as `ip xfrm state` prints them, and back (kernel compat names
 * such as "aes", "sha256", "cipher_null" accepted).  -1 when unknown. */
const char *sa_alg_name(unsigned alg);     /* "rfc4106(gcm(aes))", ...      */
const char *sa_auth_name(unsigned auth);   /* "hmac(sha256)", ...           */
const char *sa_mode_name(unsigned mode);   /* "transport" / "tunnel"        */
int sa_alg_from_name(const char *s);
int sa_auth_from_name(const char *s);

#endif /* XDPSEC_SA_CONFIG_H */
