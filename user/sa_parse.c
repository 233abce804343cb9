// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sa_parse.c - the `ip xfrm state add` grammar (see sa_parse.h).
 *
 * iproute2's grammar (ip-xfrm(8)):
 *   ID       := [ src ADDR ] [ dst ADDR ] [ proto XFRM-PROTO ] [ spi SPI ]
 *   ALGO     := { enc | auth } NAME KEY | auth-trunc NAME KEY TRUNC
 *             | aead NAME KEY ICV
 *   ENCAP    := { espinudp | espinudp-nonike | espintcp } SPORT DPORT OADDR
 * plus mode, reqid, replay-window, flag LIST and options that do not change
 * how a received packet is decrypted (mark, if_id, seq, sel, limit, ...):
 * those are accepted and ignored so that lines written for `ip xfrm` work
 * unchanged.  Anything that would change decryption and is not supported
 * (ah, beet mode, espintcp, encryption-only ESP, ...) is an error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sa_parse.h"

static int fail(char *err, size_t errlen, const char *word, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Every error names the word it is about: "WORD": reason. */
static int fail(char *err, size_t errlen, const char *word, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (word)
		snprintf(err, errlen, "\"%s\": %s", word, reason);
	else
		snprintf(err, errlen, "%s", reason);
	return -1;
}

/* ------------------------------------------------------------ names */

static const struct { const char *name; int v; } alg_names[] = {
	{ "rfc4106(gcm(aes))", XS_ALG_AES_GCM },
	{ "rfc7539esp(chacha20,poly1305)", XS_ALG_CHACHA20_POLY1305 },
	{ "cbc(aes)", XS_ALG_AES_CBC },
	{ "aes", XS_ALG_AES_CBC },              /* kernel compat name */
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
	case XS_ALG_AES_CBC: return "cbc(aes)";
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

/* Digest size in bits: the longest truncation an HMAC allows. */
static unsigned auth_digest_bits(unsigned auth)
{
	switch (auth) {
	case XS_AUTH_HMAC_SHA1: return 160;
	case XS_AUTH_HMAC_SHA256: return 256;
	case XS_AUTH_HMAC_SHA384: return 384;
	case XS_AUTH_HMAC_SHA512: return 512;
	default: return 0;
	}
}

/* The kernel's default truncation for `auth` without -trunc.  Note that
 * hmac(sha256) defaults to 96 bits there (pre-RFC 4868 drafts), so `auth`
 * keeps that meaning here: a line means what it means to ip xfrm. */
static unsigned auth_default_trunc(unsigned auth)
{
	switch (auth) {
	case XS_AUTH_HMAC_SHA1: return 96;
	case XS_AUTH_HMAC_SHA256: return 96;
	case XS_AUTH_HMAC_SHA384: return 192;
	case XS_AUTH_HMAC_SHA512: return 256;
	default: return 0;
	}
}

/* ------------------------------------------------------------ values */

int sa_addr_parse(const char *s, struct xs_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->v6) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

const char *sa_addr_str(const struct xs_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET,
		       a->bytes, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* Like iproute2's get_u32(..., 0): decimal, 0x hex or 0 octal. */
static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int sa_hex_decode(const char *s, uint8_t *out, size_t max)
{
	size_t n, i;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	s += 2;
	n = strlen(s);
	if (n == 0 || n % 2)
		return -1;
	if (n / 2 > max)
		return -2;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

void sa_hex_encode(const uint8_t *in, size_t len, char *buf)
{
	static const char d[] = "0123456789abcdef";

	*buf++ = '0';
	*buf++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*buf++ = d[in[i] >> 4];
		*buf++ = d[in[i] & 15];
	}
	*buf = 0;
}

/* A key is "0x" hex, or (as in ip xfrm) the bytes of the string itself. */
static int parse_key(const char *s, uint8_t *out, size_t max, uint8_t *len,
		     char *err, size_t errlen)
{
	int n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		n = sa_hex_decode(s, out, max);
		if (n == -2)
			return fail(err, errlen, s, "key too long (at most %zu bytes)", max);
		if (n < 0)
			return fail(err, errlen, s, "invalid hex key (expected 0x followed by an even number of hex digits)");
	} else {
		size_t l = strlen(s);
		if (l == 0)
			return fail(err, errlen, s, "empty key");
		if (l > max)
			return fail(err, errlen, s, "key too long (at most %zu bytes)", max);
		memcpy(out, s, l);
		n = (int)l;
	}
	*len = (uint8_t)n;
	return 0;
}

/* ------------------------------------------------------------ validation */

int sa_config_validate(const struct xs_sa_config *c, char *err, size_t errlen)
{
	unsigned k;

	if (c->src.family && c->dst.family && c->src.family != c->dst.family)
		return fail(err, errlen, NULL, "src and dst are of different address families");
	if (c->dst.family != AF_INET && c->dst.family != AF_INET6)
		return fail(err, errlen, NULL, "dst is required");
	if (c->proto != IPPROTO_ESP)
		return fail(err, errlen, NULL, "only proto esp is supported");
	if (c->spi == 0)
		return fail(err, errlen, NULL, "spi is required (and must not be 0)");
	if (c->mode != XS_MODE_TRANSPORT && c->mode != XS_MODE_TUNNEL)
		return fail(err, errlen, NULL, "mode must be transport or tunnel");
	switch (c->alg) {
	case XS_ALG_AES_GCM:
		k = c->enc_key_len;
		if (k != 20 && k != 28 && k != 36)
			return fail(err, errlen, NULL,
				    "rfc4106(gcm(aes)) key must be 20, 28 or 36 bytes (AES-128/192/256 key + 4-byte salt), got %u", k);
		if (c->icv_bits != 64 && c->icv_bits != 96 && c->icv_bits != 128)
			return fail(err, errlen, NULL, "rfc4106(gcm(aes)) ICV must be 64, 96 or 128 bits, got %u", c->icv_bits);
		if (c->auth != XS_AUTH_NONE)
			return fail(err, errlen, NULL, "aead cannot be combined with auth");
		break;
	case XS_ALG_CHACHA20_POLY1305:
		if (c->enc_key_len != 36)
			return fail(err, errlen, NULL,
				    "rfc7539esp(chacha20,poly1305) key must be 36 bytes (32-byte key + 4-byte salt), got %u", c->enc_key_len);
		if (c->icv_bits != 128)
			return fail(err, errlen, NULL, "rfc7539esp(chacha20,poly1305) ICV must be 128 bits, got %u", c->icv_bits);
		if (c->auth != XS_AUTH_NONE)
			return fail(err, errlen, NULL, "aead cannot be combined with auth");
		break;
	case XS_ALG_AES_CBC:
		k = c->enc_key_len;
		if (k != 16 && k != 24 && k != 32)
			return fail(err, errlen, NULL, "cbc(aes) key must be 16, 24 or 32 bytes, got %u", k);
		if (c->auth == XS_AUTH_NONE)
			return fail(err, errlen, NULL, "enc cbc(aes) needs auth-trunc (encryption-only ESP is not supported)");
		if (auth_digest_bits(c->auth) == 0)
			return fail(err, errlen, NULL, "unknown auth algorithm");
		if (c->icv_bits < 96 || c->icv_bits > auth_digest_bits(c->auth) || c->icv_bits % 8)
			return fail(err, errlen, NULL, "%s truncation must be a multiple of 8 from 96 to %u bits, got %u",
				    sa_auth_name(c->auth), auth_digest_bits(c->auth), c->icv_bits);
		if (c->auth_key_len == 0 || c->auth_key_len > XS_MAX_AUTH_KEY)
			return fail(err, errlen, NULL, "auth key must be 1 to %d bytes", XS_MAX_AUTH_KEY);
		break;
	case XS_ALG_NONE:
		if (c->auth != XS_AUTH_NONE)
			return fail(err, errlen, NULL, "auth without enc (NULL encryption) is not supported");
		return fail(err, errlen, NULL, "an algorithm is required (aead, or enc with auth-trunc)");
	default:
		return fail(err, errlen, NULL, "unknown algorithm");
	}
	if (c->encap && (c->encap_sport == 0 || c->encap_dport == 0))
		return fail(err, errlen, NULL, "encap ports must not be 0");
	return 0;
}

/* ------------------------------------------------------------ grammar */

struct cursor {
	int argc, i;
	char *const *argv;
	char *err;
	size_t errlen;
};

/* The value after keyword KW, or an error naming KW. */
static const char *need(struct cursor *c, const char *kw, const char *what)
{
	if (c->i + 1 >= c->argc) {
		fail(c->err, c->errlen, kw, "missing %s", what);
		return NULL;
	}
	return c->argv[++c->i];
}

static int is_flag_word(const char *s)
{
	static const char *const f[] = { "noecn", "decap-dscp", "nopmtudisc",
		"wildrecv", "icmp", "af-unspec", "align4", "esn", NULL };
	for (int i = 0; f[i]; i++)
		if (!strcmp(s, f[i]))
			return 1;
	return 0;
}

/* Words of a selector (`sel ...`): accepted and ignored. */
static int skip_selector(struct cursor *c)
{
	static const char *const kw[] = { "src", "dst", "dev", "proto", "sport",
		"dport", "type", "code", "key", NULL };
	int any = 0;

	while (c->i + 1 < c->argc) {
		const char *w = c->argv[c->i + 1];
		int k = -1;
		for (int j = 0; kw[j]; j++)
			if (!strcmp(w, kw[j]))
				k = j;
		if (k < 0)
			break;
		c->i++;
		if (!need(c, w, "value"))
			return -1;
		any = 1;
	}
	if (!any)
		return fail(c->err, c->errlen, "sel", "missing selector");
	return 0;
}

static int skip_limit(struct cursor *c)
{
	static const char *const kw[] = { "time-soft", "time-hard", "time-use-soft",
		"time-use-hard", "byte-soft", "byte-hard", "packet-soft",
		"packet-hard", NULL };
	const char *w = need(c, "limit", "limit name");
	const char *v;
	uint32_t x;

	if (!w)
		return -1;
	for (int j = 0; kw[j]; j++) {
		if (strcmp(w, kw[j]))
			continue;
		if (!(v = need(c, w, "value")))
			return -1;
		/* byte/packet limits may be 64-bit or "inf"; only check shape */
		if (strcmp(v, "inf") && parse_u32(v, &x) &&
		    strspn(v, "0123456789") != strlen(v))
			return fail(c->err, c->errlen, v, "invalid %s value", w);
		return 0;
	}
	return fail(c->err, c->errlen, w, "unknown limit (expected time-soft, time-hard, time-use-soft, time-use-hard, byte-soft, byte-hard, packet-soft or packet-hard)");
}

/* Keywords of `ip xfrm state add` that take one number and do not change
 * how we decrypt (marks, interface ids, sequence numbers, TFC padding). */
static int is_ignored_u32_kw(const char *s)
{
	static const char *const kw[] = { "mark", "mask", "if_id", "seq",
		"replay-seq", "replay-oseq", "replay-seq-hi", "replay-oseq-hi",
		"tfcpad", "output-mark", NULL };
	for (int i = 0; kw[i]; i++)
		if (!strcmp(s, kw[i]))
			return 1;
	return 0;
}

static int parse_id_word(struct cursor *c, struct sa_parse_result *r,
			 const char *w, int *seen)
{
	struct xs_sa_config *cfg = &r->cfg;
	const char *v;

	if (!strcmp(w, "src") || !strcmp(w, "dst")) {
		struct xs_addr *a = w[0] == 's' ? &cfg->src : &cfg->dst;
		if (!(v = need(c, w, "address")))
			return -1;
		if (sa_addr_parse(v, a))
			return fail(c->err, c->errlen, v, "invalid %s address (expected IPv4 or IPv6)", w);
		if (w[0] == 's')
			r->has_src = true;
		*seen |= w[0] == 's' ? 1 : 2;
		return 1;
	}
	if (!strcmp(w, "proto")) {
		if (!(v = need(c, w, "protocol")))
			return -1;
		if (!strcmp(v, "esp") || !strcmp(v, "50"))
			cfg->proto = IPPROTO_ESP;
		else if (!strcmp(v, "ah") || !strcmp(v, "comp") || !strcmp(v, "route2") ||
			 !strcmp(v, "hao") || !strcmp(v, "ipsec-any"))
			return fail(c->err, c->errlen, v, "protocol not supported (only esp)");
		else
			return fail(c->err, c->errlen, v, "unknown protocol (expected esp)");
		*seen |= 4;
		return 1;
	}
	if (!strcmp(w, "spi")) {
		if (!(v = need(c, w, "SPI")))
			return -1;
		if (parse_u32(v, &cfg->spi))
			return fail(c->err, c->errlen, v, "invalid SPI (expected a 32-bit number, hex 0x... or decimal)");
		if (cfg->spi == 0)
			return fail(c->err, c->errlen, v, "SPI 0 is reserved");
		*seen |= 8;
		return 1;
	}
	return 0;
}

static int check_id(struct cursor *c, struct sa_parse_result *r, int seen)
{
	if (!(seen & 2))
		return fail(c->err, c->errlen, NULL, "missing dst ADDR");
	if (!(seen & 8))
		return fail(c->err, c->errlen, NULL, "missing spi SPI");
	if (r->has_src && r->cfg.src.family != r->cfg.dst.family)
		return fail(c->err, c->errlen, NULL, "src and dst are of different address families");
	return 0;
}

int sa_parse_id(int argc, char *const *argv, struct sa_parse_result *r,
		char *err, size_t errlen)
{
	struct cursor c = { argc, 0, argv, err, errlen };
	int seen = 0;

	memset(r, 0, sizeof(*r));
	r->cfg.proto = IPPROTO_ESP;
	for (c.i = 0; c.i < argc; c.i++) {
		const char *w = argv[c.i];
		int k = parse_id_word(&c, r, w, &seen);
		if (k < 0)
			return -1;
		if (k == 0)
			return fail(err, errlen, w, "unexpected word (an SA is named by [src ADDR] dst ADDR [proto esp] spi SPI)");
	}
	return check_id(&c, r, seen);
}

int sa_parse_add(int argc, char *const *argv, struct sa_parse_result *r,
		 char *err, size_t errlen)
{
	struct cursor c = { argc, 0, argv, err, errlen };
	struct xs_sa_config *cfg = &r->cfg;
	int seen = 0, have_enc = 0, have_auth = 0, have_aead = 0;
	const char *v, *name, *key, *len;
	uint32_t x;

	memset(r, 0, sizeof(*r));
	for (c.i = 0; c.i < argc; c.i++) {
		const char *w = argv[c.i];
		int k = parse_id_word(&c, r, w, &seen);
		if (k < 0)
			return -1;
		if (k > 0)
			continue;

		if (!strcmp(w, "mode")) {
			if (!(v = need(&c, w, "mode")))
				return -1;
			if (!strcmp(v, "transport"))
				cfg->mode = XS_MODE_TRANSPORT;
			else if (!strcmp(v, "tunnel"))
				cfg->mode = XS_MODE_TUNNEL;
			else if (!strcmp(v, "beet") || !strcmp(v, "ro") || !strcmp(v, "in_trigger"))
				return fail(err, errlen, v, "mode not supported (expected transport or tunnel)");
			else
				return fail(err, errlen, v, "unknown mode (expected transport or tunnel)");
		} else if (!strcmp(w, "reqid")) {
			if (!(v = need(&c, w, "REQID")))
				return -1;
			if (parse_u32(v, &cfg->reqid))
				return fail(err, errlen, v, "invalid reqid (expected a 32-bit number)");
		} else if (!strcmp(w, "replay-window")) {
			if (!(v = need(&c, w, "window size")))
				return -1;
			if (parse_u32(v, &cfg->replay_window))
				return fail(err, errlen, v, "invalid replay-window (expected a number of packets)");
			r->has_replay_window = true;
		} else if (!strcmp(w, "flag")) {
			int n = 0;
			while (c.i + 1 < argc && is_flag_word(argv[c.i + 1])) {
				if (!strcmp(argv[++c.i], "esn"))
					cfg->esn = true;
				n++;
			}
			if (!n) {
				if (c.i + 1 >= argc)
					return fail(err, errlen, w, "missing flag name");
				return fail(err, errlen, argv[c.i + 1], "unknown flag (expected esn, noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec or align4)");
			}
		} else if (!strcmp(w, "aead")) {
			if (have_aead || have_enc || have_auth)
				return fail(err, errlen, w, "only one aead, and not together with enc/auth");
			if (!(name = need(&c, w, "algorithm name")) ||
			    !(key = need(&c, name, "key")) ||
			    !(len = need(&c, key, "ICV length in bits")))
				return -1;
			k = sa_alg_from_name(name);
			if (k != XS_ALG_AES_GCM && k != XS_ALG_CHACHA20_POLY1305)
				return fail(err, errlen, name, "unsupported aead algorithm (expected rfc4106(gcm(aes)) or rfc7539esp(chacha20,poly1305))");
			cfg->alg = (uint8_t)k;
			if (parse_key(key, cfg->enc_key, XS_MAX_ENC_KEY, &cfg->enc_key_len, err, errlen))
				return -1;
			if (parse_u32(len, &x) || x > 0xffff)
				return fail(err, errlen, len, "invalid ICV length (expected bits, e.g. 128)");
			cfg->icv_bits = (uint16_t)x;
			have_aead = 1;
		} else if (!strcmp(w, "enc")) {
			if (have_aead || have_enc)
				return fail(err, errlen, w, have_enc ? "enc given twice" : "enc cannot be combined with aead");
			if (!(name = need(&c, w, "algorithm name")) ||
			    !(key = need(&c, name, "key")))
				return -1;
			if (sa_alg_from_name(name) != XS_ALG_AES_CBC)
				return fail(err, errlen, name, "unsupported enc algorithm (expected cbc(aes))");
			cfg->alg = XS_ALG_AES_CBC;
			if (parse_key(key, cfg->enc_key, XS_MAX_ENC_KEY, &cfg->enc_key_len, err, errlen))
				return -1;
			have_enc = 1;
		} else if (!strcmp(w, "auth") || !strcmp(w, "auth-trunc")) {
			int trunc = w[4] == '-';
			if (have_aead || have_auth)
				return fail(err, errlen, w, have_auth ? "auth given twice" : "auth cannot be combined with aead");
			if (!(name = need(&c, w, "algorithm name")) ||
			    !(key = need(&c, name, "key")))
				return -1;
			if ((k = sa_auth_from_name(name)) < 0)
				return fail(err, errlen, name, "unsupported auth algorithm (expected hmac(sha1), hmac(sha256), hmac(sha384) or hmac(sha512))");
			cfg->auth = (uint8_t)k;
			if (parse_key(key, cfg->auth_key, XS_MAX_AUTH_KEY, &cfg->auth_key_len, err, errlen))
				return -1;
			if (trunc) {
				if (!(len = need(&c, key, "truncation length in bits")))
					return -1;
				if (parse_u32(len, &x) || x > 0xffff)
					return fail(err, errlen, len, "invalid truncation length (expected bits, e.g. 128)");
				cfg->icv_bits = (uint16_t)x;
			} else {
				cfg->icv_bits = (uint16_t)auth_default_trunc(cfg->auth);
			}
			have_auth = 1;
		} else if (!strcmp(w, "comp")) {
			return fail(err, errlen, w, "IPcomp is not supported");
		} else if (!strcmp(w, "encap")) {
			const char *type, *sp, *dp, *oa;
			struct xs_addr a;
			if (!(type = need(&c, w, "encapsulation type")))
				return -1;
			if (strcmp(type, "espinudp")) {
				if (!strcmp(type, "espinudp-nonike") || !strcmp(type, "espintcp"))
					return fail(err, errlen, type, "encapsulation not supported (only espinudp)");
				return fail(err, errlen, type, "unknown encapsulation (expected espinudp)");
			}
			if (!(sp = need(&c, type, "source port")) ||
			    !(dp = need(&c, sp, "destination port")) ||
			    !(oa = need(&c, dp, "original address")))
				return -1;
			if (parse_u32(sp, &x) || x == 0 || x > 65535)
				return fail(err, errlen, sp, "invalid encap source port (1-65535)");
			cfg->encap_sport = (uint16_t)x;
			if (parse_u32(dp, &x) || x == 0 || x > 65535)
				return fail(err, errlen, dp, "invalid encap destination port (1-65535)");
			cfg->encap_dport = (uint16_t)x;
			if (sa_addr_parse(oa, &a))
				return fail(err, errlen, oa, "invalid encap original address");
			cfg->encap = true;
		} else if (!strcmp(w, "sel")) {
			if (skip_selector(&c))
				return -1;
		} else if (!strcmp(w, "limit")) {
			if (skip_limit(&c))
				return -1;
		} else if (!strcmp(w, "extra-flag")) {
			if (!(v = need(&c, w, "flag")))
				return -1;
			if (strcmp(v, "dont-encap-dscp") && strcmp(v, "oseq-may-wrap") && parse_u32(v, &x))
				return fail(err, errlen, v, "unknown extra-flag");
		} else if (is_ignored_u32_kw(w)) {
			if (!(v = need(&c, w, "value")))
				return -1;
			/* mark and output-mark also take VALUE/MASK */
			char tmp[32];
			snprintf(tmp, sizeof(tmp), "%s", v);
			char *slash = strchr(tmp, '/');
			if (slash && (!strcmp(w, "mark") || !strcmp(w, "output-mark"))) {
				*slash = 0;
				if (parse_u32(slash + 1, &x))
					return fail(err, errlen, v, "invalid %s mask", w);
			}
			if (parse_u32(tmp, &x))
				return fail(err, errlen, v, "invalid %s (expected a 32-bit number)", w);
		} else if (!strcmp(w, "offload") || !strcmp(w, "coa") || !strcmp(w, "ctx")) {
			return fail(err, errlen, w, "not supported by xdpsec");
		} else {
			return fail(err, errlen, w, "unknown keyword");
		}
	}

	if (!(seen & 1))
		return fail(err, errlen, NULL, "missing src ADDR");
	if (!(seen & 4))
		return fail(err, errlen, NULL, "missing proto esp");
	if (check_id(&c, r, seen))
		return -1;
	if (have_enc && !have_auth)
		return fail(err, errlen, "enc", "needs auth-trunc (encryption-only ESP is not supported)");
	if (have_auth && !have_enc)
		return fail(err, errlen, "auth", "needs enc (NULL encryption is not supported)");
	if (!have_aead && !have_enc)
		return fail(err, errlen, NULL, "missing algorithm (aead NAME KEY ICV, or enc NAME KEY auth-trunc NAME KEY BITS)");
	return sa_config_validate(cfg, err, errlen);
}

/* ------------------------------------------------------------ tokenizer */

int sa_tokenize(char *line, char **argv, int max, char *err, size_t errlen)
{
	char *r = line, *w = line;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			break;
		if (n >= max)
			return fail(err, errlen, NULL, "too many words (at most %d)", max);
		argv[n++] = w;
		while (*r && *r != ' ' && *r != '\t' && *r != '\n' && *r != '\r') {
			if (*r == '\'') {
				char *q = strchr(r + 1, '\'');
				if (!q)
					return fail(err, errlen, NULL, "unterminated ' quote");
				memmove(w, r + 1, (size_t)(q - r - 1));
				w += q - r - 1;
				r = q + 1;
			} else if (*r == '"') {
				r++;
				while (*r && *r != '"') {
					if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
						r++;
					*w++ = *r++;
				}
				if (*r != '"')
					return fail(err, errlen, NULL, "unterminated \" quote");
				r++;
			} else if (*r == '\\' && r[1]) {
				*w++ = r[1];
				r += 2;
			} else {
				*w++ = *r++;
			}
		}
		if (*r)
			r++;
		*w++ = 0;
	}
	return n;
}
