// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sa_config.c - the rules an SA config must obey, and its algorithms'
 * names (see sa_config.h).  The one validator: the `ip xfrm` parser
 * (sa_parse.c), the JSON decoder (ctl_proto.c), the SA table and the
 * crypto layer (crypto_core.c) all call sa_config_validate, so an SA is
 * judged by the same rules however it arrives.
 *
 * The rules are the kernel's for the same `ip xfrm state add` line,
 * narrowed where xdpsec refuses rather than guesses:
 *  - AEAD ICV lengths: rfc4106(gcm(aes)) 64/96/128, rfc4543(gcm(aes)) and
 *    rfc7539esp(chacha20,poly1305) 128 only (what their setauthsize takes).
 *  - HMAC truncation: the kernel takes any length up to the digest and
 *    uses BITS/8 bytes (0 bytes is refused by crypto_aead_setauthsize);
 *    xdpsec takes the same range but only whole bytes, so that the number
 *    an operator wrote is the number of bits checked.
 *  - HMAC keys: any length from 1 byte (RFC 2104; an empty key
 *    authenticates nothing, so it is refused).
 *  - encryption-only ESP (enc without auth) and NULL encryption without
 *    auth (ESP protecting nothing) are refused; the kernel takes both.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "sa_config.h"
#include "replay.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ------------------------------------------------------------ names */

static const struct { const char *name; int v; } alg_names[] = {
	{ "rfc4106(gcm(aes))", XS_ALG_AES_GCM },
	{ "rfc7539esp(chacha20,poly1305)", XS_ALG_CHACHA20_POLY1305 },
	{ "rfc4543(gcm(aes))", XS_ALG_AES_GMAC },
	{ "cbc(aes)", XS_ALG_AES_CBC },
	{ "ecb(cipher_null)", XS_ALG_NULL },
	{ "aes", XS_ALG_AES_CBC },              /* kernel compat names */
	{ "cipher_null", XS_ALG_NULL },
};

static const struct { const char *name; int v; } auth_names[] = {
	{ "hmac(sha1)", XS_AUTH_HMAC_SHA1 },
	{ "hmac(sha256)", XS_AUTH_HMAC_SHA256 },
	{ "hmac(sha384)", XS_AUTH_HMAC_SHA384 },
	{ "hmac(sha512)", XS_AUTH_HMAC_SHA512 },
	{ "sha1", XS_AUTH_HMAC_SHA1 },          /* kernel compat names */
	{ "sha256", XS_AUTH_HMAC_SHA256 },
	{ "sha384", XS_AUTH_HMAC_SHA384 },
	{ "sha512", XS_AUTH_HMAC_SHA512 },
};

int sa_alg_from_name(const char *s)
{
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (!strcmp(s, alg_names[i].name))
			return alg_names[i].v;
	return -1;
}

int sa_auth_from_name(const char *s)
{
	for (size_t i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++)
		if (!strcmp(s, auth_names[i].name))
			return auth_names[i].v;
	return -1;
}

const char *sa_alg_name(unsigned alg)
{
	switch (alg) {
	case XS_ALG_AES_GCM: return "rfc4106(gcm(aes))";
	case XS_ALG_CHACHA20_POLY1305: return "rfc7539esp(chacha20,poly1305)";
	case XS_ALG_AES_GMAC: return "rfc4543(gcm(aes))";
	case XS_ALG_AES_CBC: return "cbc(aes)";
	case XS_ALG_NULL: return "ecb(cipher_null)";
	default: return "none";
	}
}

const char *sa_auth_name(unsigned auth)
{
	switch (auth) {
	case XS_AUTH_HMAC_SHA1: return "hmac(sha1)";
	case XS_AUTH_HMAC_SHA256: return "hmac(sha256)";
	case XS_AUTH_HMAC_SHA384: return "hmac(sha384)";
	case XS_AUTH_HMAC_SHA512: return "hmac(sha512)";
	default: return "none";
	}
}

const char *sa_mode_name(unsigned mode)
{
	return mode == XS_MODE_TUNNEL ? "tunnel" : "transport";
}

/* ------------------------------------------------------------ wire format */

int sa_alg_is_aead(unsigned alg)
{
	return alg == XS_ALG_AES_GCM || alg == XS_ALG_CHACHA20_POLY1305 ||
	       alg == XS_ALG_AES_GMAC;
}

/* RFC 4106 3.1, RFC 7634 2, RFC 4543 3.1: 8-byte explicit IV;
 * RFC 3602 3: one AES block; RFC 2410: none. */
unsigned sa_alg_iv_len(unsigned alg)
{
	return alg == XS_ALG_AES_CBC ? 16 : alg == XS_ALG_NULL ? 0 : 8;
}

/* CBC needs whole blocks; the others take any length (RFC 4303 2.4 asks the
 * sender to align to 4 bytes, which the kernel does not check on input). */
unsigned sa_alg_block(unsigned alg)
{
	return alg == XS_ALG_AES_CBC ? 16 : 1;
}

unsigned sa_auth_digest_bits(unsigned auth)
{
	switch (auth) {
	case XS_AUTH_HMAC_SHA1: return 160;
	case XS_AUTH_HMAC_SHA256: return 256;
	case XS_AUTH_HMAC_SHA384: return 384;
	case XS_AUTH_HMAC_SHA512: return 512;
	default: return 0;
	}
}

/* The kernel's truncation for `auth` without -trunc (icv_truncbits of its
 * algorithm table).  hmac(sha256) is 96 there, from the drafts before
 * RFC 4868 (which says 128): a line means here what it means to ip xfrm. */
unsigned sa_auth_default_trunc(unsigned auth)
{
	switch (auth) {
	case XS_AUTH_HMAC_SHA1: return 96;
	case XS_AUTH_HMAC_SHA256: return 96;
	case XS_AUTH_HMAC_SHA384: return 192;
	case XS_AUTH_HMAC_SHA512: return 256;
	default: return 0;
	}
}

/* ------------------------------------------------------------ validation */

static int check_aead_key(const struct xs_sa_config *c, char *err, size_t errlen)
{
	unsigned k = c->enc_key_len;

	if (c->alg == XS_ALG_CHACHA20_POLY1305) {
		if (k != 36)
			return fail(err, errlen, "%s key must be 36 bytes (32-byte key + 4-byte salt), got %u",
				    sa_alg_name(c->alg), k);
	} else if (k != 20 && k != 28 && k != 36) {
		return fail(err, errlen, "%s key must be 20, 28 or 36 bytes (AES-128/192/256 key + 4-byte salt), got %u",
			    sa_alg_name(c->alg), k);
	}
	if (c->alg == XS_ALG_AES_GCM) {
		if (c->icv_bits != 64 && c->icv_bits != 96 && c->icv_bits != 128)
			return fail(err, errlen, "%s ICV must be 64, 96 or 128 bits, got %u",
				    sa_alg_name(c->alg), c->icv_bits);
	} else if (c->icv_bits != 128) {
		return fail(err, errlen, "%s ICV must be 128 bits, got %u", sa_alg_name(c->alg), c->icv_bits);
	}
	if (c->auth != XS_AUTH_NONE)
		return fail(err, errlen, "aead cannot be combined with auth");
	return 0;
}

static int check_hmac(const struct xs_sa_config *c, char *err, size_t errlen)
{
	unsigned full = sa_auth_digest_bits(c->auth);

	if (c->auth == XS_AUTH_NONE)
		return c->alg == XS_ALG_NULL
			? fail(err, errlen, "enc ecb(cipher_null) needs auth-trunc (ESP with neither encryption nor authentication protects nothing)")
			: fail(err, errlen, "enc %s needs auth-trunc (encryption-only ESP is not supported)",
			       sa_alg_name(c->alg));
	if (!full)
		return fail(err, errlen, "unknown auth algorithm");
	if (c->icv_bits < 8 || c->icv_bits > full || c->icv_bits % 8)
		return fail(err, errlen, "%s truncation must be a multiple of 8 from 8 to %u bits, got %u",
			    sa_auth_name(c->auth), full, c->icv_bits);
	if (c->auth_key_len == 0)
		return fail(err, errlen, "%s key must not be empty", sa_auth_name(c->auth));
	return 0;
}

int sa_config_validate(const struct xs_sa_config *c, char *err, size_t errlen)
{
	unsigned k;

	if (c->src.family && c->dst.family && c->src.family != c->dst.family)
		return fail(err, errlen, "src and dst are of different address families");
	if (c->dst.family != AF_INET && c->dst.family != AF_INET6)
		return fail(err, errlen, "dst is required");
	if (c->src.family != 0 && c->src.family != AF_INET && c->src.family != AF_INET6)
		return fail(err, errlen, "src: unknown address family");
	if (c->proto != IPPROTO_ESP)
		return fail(err, errlen, "only proto esp is supported");
	if (c->spi == 0)
		return fail(err, errlen, "spi is required (and must not be 0)");
	if (c->mode != XS_MODE_TRANSPORT && c->mode != XS_MODE_TUNNEL)
		return fail(err, errlen, "mode must be transport or tunnel");
	if (c->replay_window > REPLAY_MAX_WINDOW)
		return fail(err, errlen, "replay-window must be at most %u packets, got %u",
			    (unsigned)REPLAY_MAX_WINDOW, c->replay_window);
	switch (c->alg) {
	case XS_ALG_AES_GCM:
	case XS_ALG_CHACHA20_POLY1305:
	case XS_ALG_AES_GMAC:
		if (check_aead_key(c, err, errlen))
			return -1;
		break;
	case XS_ALG_AES_CBC:
		k = c->enc_key_len;
		if (k != 16 && k != 24 && k != 32)
			return fail(err, errlen, "cbc(aes) key must be 16, 24 or 32 bytes, got %u", k);
		if (check_hmac(c, err, errlen))
			return -1;
		break;
	case XS_ALG_NULL:
		if (c->enc_key_len)
			return fail(err, errlen, "ecb(cipher_null) takes no key (write '' as the key), got %u bytes",
				    c->enc_key_len);
		if (check_hmac(c, err, errlen))
			return -1;
		break;
	case XS_ALG_NONE:
		if (c->auth != XS_AUTH_NONE)
			return fail(err, errlen, "auth without enc: for authentication only, use enc 'ecb(cipher_null)' ''");
		return fail(err, errlen, "missing algorithm (aead NAME KEY ICV, or enc NAME KEY auth-trunc NAME KEY BITS)");
	default:
		return fail(err, errlen, "unknown algorithm");
	}
	if (c->encap && (c->encap_sport == 0 || c->encap_dport == 0))
		return fail(err, errlen, "encap ports must not be 0");
	return 0;
}

/* ------------------------------------------------------------ selectors */

bool sa_sel_equal(const struct xs_selector *a, const struct xs_selector *b)
{
	return a->family == b->family && a->src_plen == b->src_plen &&
	       a->dst_plen == b->dst_plen && a->proto == b->proto &&
	       a->sport == b->sport && a->sport_mask == b->sport_mask &&
	       a->dport == b->dport && a->dport_mask == b->dport_mask &&
	       !memcmp(a->src.bytes, b->src.bytes, 16) && !memcmp(a->dst.bytes, b->dst.bytes, 16);
}

bool sa_sel_is_any(const struct xs_selector *s)
{
	return !s->src_plen && !s->dst_plen && !s->proto && !s->sport_mask && !s->dport_mask;
}
