// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sa_parse.c - the `ip xfrm state add` grammar (see sa_parse.h).
 *
 * iproute2's grammar (ip-xfrm(8)):
 *   ID       := [ src ADDR ] [ dst ADDR ] [ proto XFRM-PROTO ] [ spi SPI ]
 *   ALGO     := { enc | auth } NAME KEY | auth-trunc NAME KEY TRUNC
 *             | aead NAME KEY ICV
 *   ENCAP    := { espinudp | espinudp-nonike | espintcp } SPORT DPORT OADDR
 plus mode, reqid, replay-window, flag LIST, sel, limit and the other
 * options of `ip xfrm state add`.  A word is accepted only if xdpsec then
 * does what the kernel would do with the same line (words that act only on
 * output, say); anything else that is not supported (ah, beet mode,
 * espintcp, encryption-only ESP, a lifetime, a mark, a selector narrower
 * than match-all, ...) is an error naming the word and the reason.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sa_parse.h"
#include "policy_parse.h"

static int fail(char *err, size_t errlen, const char *word, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Every error names the word it is about: "WORD": reason. */
static int fail(char *err, size_t errlen, const char *word, const char *fmt, ...)
{
	char reason[384];
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

/* A key is "0x" hex, or (as in ip xfrm) the bytes of the string itself;
 * '' is the empty key of ecb(cipher_null) (sa_config_validate refuses it
 * wherever a key is needed). */
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
		if (l > max)
			return fail(err, errlen, s, "key too long (at most %zu bytes)", max);
		memcpy(out, s, l);
		n = (int)l;
	}
	*len = (uint8_t)n;
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

/* ---------------------------------------------- words that do not decide
 * `ip xfrm state add` takes more words than decide how a packet is
 * received.  Each is either accepted because, for an inbound SA, the
 * kernel then does exactly what xdpsec does (the comment says why), or
 * refused with the reason.  Never accepted and ignored: an operator who
 * sets a lifetime of one packet must not see three delivered. */

/* flag NAME... (XFRM_STATE_* in the kernel's uapi xfrm.h) */
static const struct { const char *name, *refused; } flag_words[] = {
	{ "esn", NULL },                /* RFC 4304: cfg->esn */
	/* Decapsulation without copying the outer ECN bits into the inner
	 * header: what xdpsec always does (check_inner in esp.c delivers the
	 * inner packet as it was sent). */
	{ "noecn", NULL },
	/* Output only: whether this host sets DF on the outer header, and
	 * how it pads what it sends.  Nothing changes for an inbound SA. */
	{ "nopmtudisc", NULL },
	{ "align4", NULL },
	/* Only lets the selector's family differ from the SA's (a selector
	 * is matched against the inner packet's own family, spd.c). */
	{ "af-unspec", NULL },
	{ "decap-dscp", "not supported: xdpsec does not copy the outer DSCP into the decapsulated packet" },
	{ "icmp", "not supported: it relaxes the kernel's inbound policy check for ICMP errors, which xdpsec's check (spd.c) does not relax" },
	{ "wildrecv", "not supported: it relaxes the kernel's inbound policy check on the destination, which xdpsec's check (spd.c) does not relax" },
};

static int flag_index(const char *s)
{
	for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++)
		if (!strcmp(s, flag_words[i].name))
			return (int)i;
	return -1;
}

/* sel SELECTOR (policy_parse.c's grammar, shared with `policy add`): the
 * inner packets the SA may carry.  Enforced after the last ESP layer
 * (spd.c, counted StateMismatch), as the kernel does. */
static int parse_sel(struct cursor *c, struct xs_selector *sel)
{
	int i = c->i;

	if (sel_parse_words(c->argc, c->argv, &i, sel, c->err, c->errlen))
		return -1;
	if (i == c->i)
		return fail(c->err, c->errlen, "sel", "missing selector");
	c->i = i;
	return 0;
}

/* limit NAME VALUE: soft and hard lifetimes (seconds since added or
 * first used, bytes, packets), enforced by sa_life.c.  time-* 0 and
 * byte-* and packet-* inf mean no limit, as for the kernel. */
static int parse_limit(struct cursor *c, struct xs_lifetime *l)
{
	static const char *const kw[] = { "time-soft", "time-hard", "time-use-soft",
		"time-use-hard", "byte-soft", "byte-hard", "packet-soft",
		"packet-hard", NULL };
	const char *w = need(c, "limit", "limit name");
	uint64_t *f[] = { &l->soft_add_s, &l->hard_add_s, &l->soft_use_s, &l->hard_use_s,
			  &l->soft_bytes, &l->hard_bytes, &l->soft_packets, &l->hard_packets };
	const char *v;
	char *end;
	unsigned long long x;

	if (!w)
		return -1;
	for (int j = 0; kw[j]; j++) {
		if (strcmp(w, kw[j]))
			continue;
		if (!(v = need(c, w, "value")))
			return -1;
		errno = 0;
		x = strtoull(v, &end, 0);
		if (strcmp(v, "inf") && (errno || *end || !*v || *v == '-'))
			return fail(c->err, c->errlen, v, "invalid %s value", w);
		if (w[0] != 't' && x == 0 && strcmp(v, "inf"))
			return fail(c->err, c->errlen, w, "0 would expire the SA at its first packet "
				    "(the kernel's meaning); write inf for no limit");
		if (!strcmp(v, "inf") || (w[0] != 't' && x == ~0ull))
			x = 0;
		if (x > INT64_MAX)
			return fail(c->err, c->errlen, v, "invalid %s value", w);
		*f[j] = x;
		return 0;
	}
	return fail(c->err, c->errlen, w, "unknown limit (expected time-soft, time-hard, time-use-soft, time-use-hard, byte-soft, byte-hard, packet-soft or packet-hard)");
}

/* Keywords that take one number (mark and output-mark: VALUE[/MASK]). */
static const struct { const char *name, *refused; } num_words[] = {
	/* The ACQUIRE this SA answers: control plane only. */
	{ "seq", NULL },
	/* Output only: the outbound counter and TFC padding of what this host
	 * sends with the SA.  Nothing changes for an inbound SA. */
	{ "replay-oseq", NULL },
	{ "replay-oseq-hi", NULL },
	{ "tfcpad", NULL },
	{ "mark", "not supported: SAs are found by destination, SPI and protocol only (packets taken at XDP carry no mark)" },
	{ "mask", "not supported: SAs are found by destination, SPI and protocol only (packets taken at XDP carry no mark)" },
	{ "output-mark", "not supported: xdpsec does not mark the packets it decrypts" },
	{ "if_id", "not supported: xfrm interfaces are not supported" },
	{ "replay-seq", "not supported yet: the replay window of a new SA starts at 0" },
	{ "replay-seq-hi", "not supported yet: the replay window of a new SA starts at 0" },
};

static int num_index(const char *s)
{
	for (size_t i = 0; i < sizeof(num_words) / sizeof(num_words[0]); i++)
		if (!strcmp(s, num_words[i].name))
			return (int)i;
	return -1;
}

/* extra-flag NAME|NUMBER (XFRM_SA_XFLAG_*): both flags act on output only
 * (DSCP of the outer header, outbound sequence wrap). */
static int parse_extra_flag(struct cursor *c)
{
	const char *v = need(c, "extra-flag", "flag");
	uint32_t x;

	if (!v)
		return -1;
	if (!strcmp(v, "dont-encap-dscp") || !strcmp(v, "oseq-may-wrap"))
		return 0;
	if (parse_u32(v, &x) || x & ~3u)
		return fail(c->err, c->errlen, v, "unknown extra-flag (expected dont-encap-dscp or oseq-may-wrap)");
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
			int n = 0, f;
			while (c.i + 1 < argc && (f = flag_index(argv[c.i + 1])) >= 0) {
				c.i++;
				if (flag_words[f].refused)
					return fail(err, errlen, argv[c.i], "flag %s", flag_words[f].refused);
				if (!strcmp(argv[c.i], "esn"))
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
			if (k < 0 || !sa_alg_is_aead((unsigned)k))
				return fail(err, errlen, name, "unsupported aead algorithm (expected rfc4106(gcm(aes)), rfc4543(gcm(aes)) or rfc7539esp(chacha20,poly1305))");
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
			k = sa_alg_from_name(name);
			if (k != XS_ALG_AES_CBC && k != XS_ALG_NULL)
				return fail(err, errlen, name, "unsupported enc algorithm (expected cbc(aes) or ecb(cipher_null))");
			cfg->alg = (uint8_t)k;
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
				cfg->icv_bits = (uint16_t)sa_auth_default_trunc(cfg->auth);
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
			if (parse_sel(&c, &cfg->sel))
				return -1;
		} else if (!strcmp(w, "limit")) {
			if (parse_limit(&c, &cfg->lft))
				return -1;
		} else if (!strcmp(w, "extra-flag")) {
			if (parse_extra_flag(&c))
				return -1;
		} else if ((k = num_index(w)) >= 0) {
			char tmp[32], *slash;
			if (!(v = need(&c, w, "value")))
				return -1;
			/* mark and output-mark also take VALUE/MASK */
			snprintf(tmp, sizeof(tmp), "%s", v);
			slash = strchr(tmp, '/');
			if (slash && (!strcmp(w, "mark") || !strcmp(w, "output-mark"))) {
				*slash = 0;
				if (parse_u32(slash + 1, &x))
					return fail(err, errlen, v, "invalid %s mask", w);
			}
			if (parse_u32(tmp, &x))
				return fail(err, errlen, v, "invalid %s (expected a 32-bit number)", w);
			if (num_words[k].refused)
				return fail(err, errlen, w, "%s", num_words[k].refused);
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
	/* which algorithms go together: sa_config_validate, the one place */
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
