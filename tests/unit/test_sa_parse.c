// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_sa_parse - the `ip xfrm state add` grammar over a table of lines:
 * every valid line must parse to the expected fields, every invalid line
 * must fail with exactly the expected message.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include "testlib.h"
#include "sa_parse.h"

#define K16 "0x000102030405060708090a0b0c0d0e0f"
#define K20 K16 "10111213"
#define K32 K16 "101112131415161718191a1b1c1d1e1f"
#define K36 K32 "20212223"
#define H16 "000102030405060708090a0b0c0d0e0f"
#define K48 K32 H16
#define K64 K32 H16 H16
#define H64 H16 H16 H16 H16
#define K200 "0x" H64 H64 H64 "0001020304050607"
#define ID  "src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x1000 "

static int parse_line(const char *line, struct sa_parse_result *r, char *err, size_t errlen)
{
	char buf[2048], *argv[128];
	int n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = sa_tokenize(buf, argv, 128, err, errlen);
	if (n < 0)
		return -1;
	return sa_parse_add(n, argv, r, err, errlen);
}

struct valid { const char *line; int alg, auth, icv, klen, aklen, mode, esn, win, haswin; uint32_t spi; };

static const struct valid valid[] = {
	{ ID "reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' " K20 " 128",
	  XS_ALG_AES_GCM, 0, 128, 20, 0, XS_MODE_TUNNEL, 0, 0, 0, 0x1000 },
	{ ID "mode transport aead rfc4106(gcm(aes)) " K36 " 64 replay-window 64 flag esn",
	  XS_ALG_AES_GCM, 0, 64, 36, 0, XS_MODE_TRANSPORT, 1, 64, 1, 0x1000 },
	{ "src 2001:db8::1 dst 2001:db8::2 proto esp spi 4096 aead 'rfc7539esp(chacha20,poly1305)' " K36 " 128",
	  XS_ALG_CHACHA20_POLY1305, 0, 128, 36, 0, 0, 0, 0, 0, 4096 },
	{ ID "mode tunnel enc 'cbc(aes)' " K16 " auth-trunc 'hmac(sha256)' " K32 " 128",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA256, 128, 16, 32, 1, 0, 0, 0, 0x1000 },
	{ ID "enc aes " K32 " auth-trunc hmac(sha1) " K20 " 96",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA1, 96, 32, 20, 0, 0, 0, 0, 0x1000 },
	{ ID "enc cbc(aes) " K16 " auth hmac(sha512) " K64 " flag noecn esn",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA512, 256, 16, 64, 0, 1, 0, 0, 0x1000 },
	{ ID "enc cbc(aes) " K16 " auth 'hmac(sha256)' " K32,   /* kernel default: 96 */
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA256, 96, 16, 32, 0, 0, 0, 0, 0x1000 },
	/* words that change nothing for an inbound SA (sa_parse.c says why
	 * for each), the match-all selector and the "no limit" lifetimes */
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha384) " K48 " 192 flag noecn nopmtudisc align4 af-unspec "
	  "seq 7 replay-oseq 9 replay-oseq-hi 0 tfcpad 100 extra-flag dont-encap-dscp extra-flag 2 "
	  "sel src 0.0.0.0/0 dst 0.0.0.0/0 sel src ::/0 dst any limit time-hard 0 limit time-use-soft 0 "
	  "limit packet-hard inf limit byte-soft 18446744073709551615",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA384, 192, 16, 48, 0, 0, 0, 0, 0x1000 },
	/* every truncation the kernel takes, in whole bytes: 8 bits up to the
	 * digest; HMAC keys of any length (RFC 2104) */
	{ ID "enc cbc(aes) " K16 " auth-trunc 'hmac(sha256)' " K32 " 96",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA256, 96, 16, 32, 0, 0, 0, 0, 0x1000 },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha1) 0x01 160",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA1, 160, 16, 1, 0, 0, 0, 0, 0x1000 },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha512) " K200 " 512",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA512, 512, 16, 200, 0, 0, 0, 0, 0x1000 },
	{ ID "enc cbc(aes) " K16 " auth-trunc sha384 " K16 " 8",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA384, 8, 16, 16, 0, 0, 0, 0, 0x1000 },
	/* NULL encryption with an HMAC (RFC 2410), key '' as in ip xfrm */
	{ ID "enc 'ecb(cipher_null)' '' auth-trunc 'hmac(sha256)' " K32 " 128",
	  XS_ALG_NULL, XS_AUTH_HMAC_SHA256, 128, 0, 32, 0, 0, 0, 0, 0x1000 },
	{ ID "mode tunnel enc cipher_null \"\" auth hmac(sha1) " K20 " flag esn",
	  XS_ALG_NULL, XS_AUTH_HMAC_SHA1, 96, 0, 20, 1, 1, 0, 0, 0x1000 },
	/* GMAC: authentication only (RFC 4543) */
	{ ID "aead 'rfc4543(gcm(aes))' " K36 " 128",
	  XS_ALG_AES_GMAC, 0, 128, 36, 0, 0, 0, 0, 0, 0x1000 },
	/* string keys, as ip xfrm allows */
	{ ID "enc cbc(aes) 0123456789abcdef auth-trunc hmac(sha1) abcdefghijklmnopqrst 96",
	  XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA1, 96, 16, 20, 0, 0, 0, 0, 0x1000 },
	/* decimal and octal SPI like iproute2's get_u32(base 0) */
	{ "src 198.18.0.1 dst 198.18.0.2 proto esp spi 010 aead rfc4106(gcm(aes)) " K20 " 96 encap espinudp 4500 4500 0.0.0.0",
	  XS_ALG_AES_GCM, 0, 96, 20, 0, 0, 0, 0, 0, 8 },
};

struct invalid { const char *line; const char *err; };

static const struct invalid invalid[] = {
	{ ID "aead rfc4106(gcm(aes)) " K20 " 127",
	  "rfc4106(gcm(aes)) ICV must be 64, 96 or 128 bits, got 127" },
	{ ID "aead rfc4106(gcm(aes)) " K16 " 128",
	  "rfc4106(gcm(aes)) key must be 20, 28 or 36 bytes (AES-128/192/256 key + 4-byte salt), got 16" },
	{ ID "aead 'gcm(aes)' " K20 " 128",
	  "\"gcm(aes)\": unsupported aead algorithm (expected rfc4106(gcm(aes)), rfc4543(gcm(aes)) or rfc7539esp(chacha20,poly1305))" },
	{ "src 198.18.0.1 dst 198.18.0.2 proto esp spi 0xzz aead rfc4106(gcm(aes)) " K20 " 128",
	  "\"0xzz\": invalid SPI (expected a 32-bit number, hex 0x... or decimal)" },
	{ "src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x100000000 aead rfc4106(gcm(aes)) " K20 " 128",
	  "\"0x100000000\": invalid SPI (expected a 32-bit number, hex 0x... or decimal)" },
	{ "src 198.18.0.1 dst 198.18.0.2 proto esp spi 0 aead rfc4106(gcm(aes)) " K20 " 128",
	  "\"0\": SPI 0 is reserved" },
	{ "src 198.18.0.300 dst 198.18.0.2 proto esp spi 1 aead rfc4106(gcm(aes)) " K20 " 128",
	  "\"198.18.0.300\": invalid src address (expected IPv4 or IPv6)" },
	{ "src 198.18.0.1 dst 2001:db8::2 proto esp spi 1 aead rfc4106(gcm(aes)) " K20 " 128",
	  "src and dst are of different address families" },
	{ "src 198.18.0.1 dst 198.18.0.2 proto ah spi 1 auth hmac(sha1) " K20,
	  "\"ah\": protocol not supported (only esp)" },
	{ "src 198.18.0.1 dst 198.18.0.2 spi 1 aead rfc4106(gcm(aes)) " K20 " 128",
	  "missing proto esp" },
	{ "dst 198.18.0.2 proto esp spi 1 aead rfc4106(gcm(aes)) " K20 " 128",
	  "missing src ADDR" },
	{ "src 198.18.0.1 proto esp spi 1 aead rfc4106(gcm(aes)) " K20 " 128",
	  "missing dst ADDR" },
	{ "src 198.18.0.1 dst 198.18.0.2 proto esp aead rfc4106(gcm(aes)) " K20 " 128",
	  "missing spi SPI" },
	{ ID "mode beet aead rfc4106(gcm(aes)) " K20 " 128",
	  "\"beet\": mode not supported (expected transport or tunnel)" },
	{ ID "mode tunel aead rfc4106(gcm(aes)) " K20 " 128",
	  "\"tunel\": unknown mode (expected transport or tunnel)" },
	{ ID "enc cbc(aes) " K16,
	  "enc cbc(aes) needs auth-trunc (encryption-only ESP is not supported)" },
	{ ID "auth-trunc hmac(sha256) " K32 " 128",
	  "auth without enc: for authentication only, use enc 'ecb(cipher_null)' ''" },
	{ ID "enc cbc(aes) " K20 " auth-trunc hmac(sha256) " K32 " 128",
	  "cbc(aes) key must be 16, 24 or 32 bytes, got 20" },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha1) " K20 " 192",
	  "hmac(sha1) truncation must be a multiple of 8 from 8 to 160 bits, got 192" },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha256) " K32 " 100",
	  "hmac(sha256) truncation must be a multiple of 8 from 8 to 256 bits, got 100" },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha256) " K32 " 0",
	  "hmac(sha256) truncation must be a multiple of 8 from 8 to 256 bits, got 0" },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(sha256) '' 128",
	  "hmac(sha256) key must not be empty" },
	{ ID "enc ecb(cipher_null) 0x00 auth-trunc hmac(sha256) " K32 " 128",
	  "ecb(cipher_null) takes no key (write '' as the key), got 1 bytes" },
	{ ID "enc ecb(cipher_null) ''",
	  "enc ecb(cipher_null) needs auth-trunc (ESP with neither encryption nor authentication protects nothing)" },
	{ ID "enc 'cbc(des)' " K16 " auth-trunc hmac(sha256) " K32 " 128",
	  "\"cbc(des)\": unsupported enc algorithm (expected cbc(aes) or ecb(cipher_null))" },
	{ ID "aead 'rfc4543(gcm(aes))' " K20 " 96",
	  "rfc4543(gcm(aes)) ICV must be 128 bits, got 96" },
	{ ID "aead 'rfc4543(gcm(aes))' " K16 " 128",
	  "rfc4543(gcm(aes)) key must be 20, 28 or 36 bytes (AES-128/192/256 key + 4-byte salt), got 16" },
	/* never accepted and ignored: refused, with the reason */
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 mark 7/0xff",
	  "\"mark\": not supported: SAs are found by destination, SPI and protocol only (packets taken at XDP carry no mark)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 mark 7 mask 0xff",
	  "\"mark\": not supported: SAs are found by destination, SPI and protocol only (packets taken at XDP carry no mark)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 output-mark 1",
	  "\"output-mark\": not supported: xdpsec does not mark the packets it decrypts" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 if_id 3",
	  "\"if_id\": not supported: xfrm interfaces are not supported" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 replay-seq 5",
	  "\"replay-seq\": not supported yet: the replay window of a new SA starts at 0" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 mark x",
	  "\"x\": invalid mark (expected a 32-bit number)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 limit byte-soft 0",
	  "\"byte-soft\": 0 would expire the SA at its first packet (the kernel's meaning); write inf for no limit" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 limit time-hard x",
	  "\"x\": invalid time-hard value" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 limit lifetime 3",
	  "\"lifetime\": unknown limit (expected time-soft, time-hard, time-use-soft, time-use-hard, byte-soft, byte-hard, packet-soft or packet-hard)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 sel src 198.18.0.1/33",
	  "\"198.18.0.1/33\": expected ADDR[/PREFIXLEN]" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 sel src 0.0.0.0/0 dst 0.0.0.0/0 dport 53",
	  "\"dport\": needs proto before it" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 flag icmp",
	  "\"icmp\": flag not supported: it relaxes the kernel's inbound policy check for ICMP errors, which xdpsec's check (spd.c) does not relax" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 flag esn decap-dscp",
	  "\"decap-dscp\": flag not supported: xdpsec does not copy the outer DSCP into the decapsulated packet" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 flag wildrecv",
	  "\"wildrecv\": flag not supported: it relaxes the kernel's inbound policy check on the destination, which xdpsec's check (spd.c) does not relax" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 extra-flag 4",
	  "\"4\": unknown extra-flag (expected dont-encap-dscp or oseq-may-wrap)" },
	{ ID "enc cbc(aes) " K16 " auth-trunc hmac(md5) " K16 " 96",
	  "\"hmac(md5)\": unsupported auth algorithm (expected hmac(sha1), hmac(sha256), hmac(sha384) or hmac(sha512))" },
	{ ID "aead rfc4106(gcm(aes)) 0x0011 128 enc cbc(aes) " K16,
	  "\"enc\": enc cannot be combined with aead" },
	{ ID "aead rfc4106(gcm(aes)) 0x001 128",
	  "\"0x001\": invalid hex key (expected 0x followed by an even number of hex digits)" },
	{ ID "aead rfc4106(gcm(aes)) " K36 "00 128",
	  "\"" K36 "00\": key too long (at most 36 bytes)" },
	{ ID "aead rfc4106(gcm(aes)) " K20,
	  "\"" K20 "\": missing ICV length in bits" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 replay-window",
	  "\"replay-window\": missing window size" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 replay-window -1",
	  "\"-1\": invalid replay-window (expected a number of packets)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 flag esm",
	  "\"esm\": unknown flag (expected esn, noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec or align4)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 encap espintcp 4500 4500 0.0.0.0",
	  "\"espintcp\": encapsulation not supported (only espinudp)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 encap espinudp 70000 4500 0.0.0.0",
	  "\"70000\": invalid encap source port (1-65535)" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 encap espinudp 4500 4500",
	  "\"4500\": missing original address" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 bogus 1",
	  "\"bogus\": unknown keyword" },
	{ ID "aead rfc4106(gcm(aes)) " K20 " 128 reqid x",
	  "\"x\": invalid reqid (expected a 32-bit number)" },
	{ ID,
	  "missing algorithm (aead NAME KEY ICV, or enc NAME KEY auth-trunc NAME KEY BITS)" },
	{ ID "aead 'rfc4106(gcm(aes)) " K20 " 128", "unterminated ' quote" },
};

TEST(valid_lines)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct valid *v = &valid[i];
		struct sa_parse_result r;
		char err[256] = "";
		int rc = parse_line(v->line, &r, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "  line %zu: %s\n  -> %s\n", i, v->line, err);
			CHECK(rc == 0);
			continue;
		}
		CHECK_EQ(r.cfg.alg, v->alg);
		CHECK_EQ(r.cfg.auth, v->auth);
		CHECK_EQ(r.cfg.icv_bits, v->icv);
		CHECK_EQ(r.cfg.enc_key_len, v->klen);
		CHECK_EQ(r.cfg.auth_key_len, v->aklen);
		CHECK_EQ(r.cfg.mode, v->mode);
		CHECK_EQ(r.cfg.esn, v->esn);
		CHECK_EQ(r.cfg.replay_window, v->win);
		CHECK_EQ(r.has_replay_window, v->haswin);
		CHECK_EQ(r.cfg.spi, v->spi);
		CHECK_EQ(r.cfg.proto, IPPROTO_ESP);
	}
}

TEST(invalid_lines)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct sa_parse_result r;
		char err[512] = "";
		int rc = parse_line(invalid[i].line, &r, err, sizeof(err));
		CHECK(rc < 0);
		if (strcmp(err, invalid[i].err)) {
			fprintf(stderr, "  line %zu: %s\n  got:  %s\n  want: %s\n", i,
				invalid[i].line, err, invalid[i].err);
			CHECK(!"error message");
		}
	}
}

TEST(fields_and_keys)
{
	struct sa_parse_result r;
	char err[256];
	uint8_t k[20];

	CHECK_EQ(parse_line("src 2001:db8::1 dst 2001:db8::2 proto esp spi 0xdeadbeef reqid 0x10 "
			    "mode tunnel aead 'rfc4106(gcm(aes))' " K20 " 128 encap espinudp 4501 4500 0.0.0.0",
			    &r, err, sizeof(err)), 0);
	CHECK_EQ(r.cfg.src.family, AF_INET6);
	CHECK_EQ(r.cfg.dst.bytes[15], 2);
	CHECK_EQ(r.cfg.spi, 0xdeadbeefu);
	CHECK_EQ(r.cfg.reqid, 16);
	CHECK(r.cfg.encap);
	CHECK_EQ(r.cfg.encap_sport, 4501);
	CHECK_EQ(r.cfg.encap_dport, 4500);
	for (int i = 0; i < 20; i++)
		k[i] = (uint8_t)i;
	CHECK_MEM(r.cfg.enc_key, k, 20);
}

/* sel: the selector the SA's inner packets must match (spd.c) */
TEST(selector)
{
	struct sa_parse_result r;
	char line[512], *argv[64], err[256];
	int argc;

	snprintf(line, sizeof(line), "%s", ID "aead rfc4106(gcm(aes)) " K20
		 " 128 sel src 198.19.1.0/24 dst 198.19.2.0/24 proto udp dport 53 mode tunnel");
	argc = sa_tokenize(line, argv, 64, err, sizeof(err));
	CHECK_EQ(sa_parse_add(argc, argv, &r, err, sizeof(err)), 0);
	CHECK_EQ(r.cfg.sel.family, AF_INET);
	CHECK_EQ(r.cfg.sel.src_plen, 24);
	CHECK_EQ(r.cfg.sel.dst_plen, 24);
	CHECK_EQ(r.cfg.sel.dst.bytes[2], 2);
	CHECK_EQ(r.cfg.sel.proto, 17);
	CHECK_EQ(r.cfg.sel.dport, 53);
	CHECK_EQ(r.cfg.sel.dport_mask, 0xffff);
	CHECK_EQ(r.cfg.sel.sport_mask, 0);
	CHECK_EQ(r.cfg.mode, XS_MODE_TUNNEL);
}

TEST(limits)
{
	struct sa_parse_result r;
	char line[512], *argv[64], err[256];
	int argc;

	snprintf(line, sizeof(line), "%s", ID "aead rfc4106(gcm(aes)) " K20
		 " 128 limit time-hard 3600 limit packet-hard 1 limit byte-soft inf limit time-use-soft 5");
	argc = sa_tokenize(line, argv, 64, err, sizeof(err));
	CHECK_EQ(sa_parse_add(argc, argv, &r, err, sizeof(err)), 0);
	CHECK_EQ(r.cfg.lft.hard_add_s, 3600u);
	CHECK_EQ(r.cfg.lft.hard_packets, 1u);
	CHECK_EQ(r.cfg.lft.soft_bytes, 0u);
	CHECK_EQ(r.cfg.lft.soft_use_s, 5u);
}

TEST(id_parser)
{
	struct sa_parse_result r;
	char err[256];
	char *a1[] = { "dst", "198.18.0.2", "proto", "esp", "spi", "0x1000" };
	char *a2[] = { "src", "198.18.0.1", "dst", "198.18.0.2", "spi", "7" };
	char *a3[] = { "dst", "198.18.0.2", "spi", "7", "mode", "tunnel" };
	char *a4[] = { "src", "198.18.0.1", "proto", "esp" };

	CHECK_EQ(sa_parse_id(6, a1, &r, err, sizeof(err)), 0);
	CHECK_EQ(r.cfg.spi, 0x1000);
	CHECK(!r.has_src);
	CHECK_EQ(sa_parse_id(6, a2, &r, err, sizeof(err)), 0);
	CHECK(r.has_src);
	CHECK_EQ(r.cfg.proto, IPPROTO_ESP);
	CHECK_EQ(sa_parse_id(6, a3, &r, err, sizeof(err)), -1);
	CHECK(!strcmp(err, "\"mode\": unexpected word (an SA is named by [src ADDR] dst ADDR [proto esp] spi SPI)"));
	CHECK_EQ(sa_parse_id(4, a4, &r, err, sizeof(err)), -1);
	CHECK(!strcmp(err, "missing dst ADDR"));
}

TEST(tokenizer)
{
	char line[] = "sa add  'a b' \"c\\\"d\" e\\ f # comment";
	char *argv[8], err[64];
	int n = sa_tokenize(line, argv, 8, err, sizeof(err));

	CHECK_EQ(n, 5);
	if (n == 5) {
		CHECK(!strcmp(argv[2], "a b"));
		CHECK(!strcmp(argv[3], "c\"d"));
		CHECK(!strcmp(argv[4], "e f"));
	}
	char l2[] = "   # only a comment";
	CHECK_EQ(sa_tokenize(l2, argv, 8, err, sizeof(err)), 0);
	char l3[] = "a b c";
	CHECK_EQ(sa_tokenize(l3, argv, 2, err, sizeof(err)), -1);
}

TEST(hex_roundtrip)
{
	uint8_t in[5] = { 0, 0x7f, 0x80, 0xff, 0x12 }, out[5];
	char buf[16];

	sa_hex_encode(in, 5, buf);
	CHECK(!strcmp(buf, "0x007f80ff12"));
	CHECK_EQ(sa_hex_decode(buf, out, 5), 5);
	CHECK_MEM(in, out, 5);
	CHECK_EQ(sa_hex_decode(buf, out, 4), -2);
	CHECK_EQ(sa_hex_decode("0x", out, 4), -1);
}

int main(void)
{
	RUN(valid_lines);
	RUN(invalid_lines);
	RUN(fields_and_keys);
	RUN(selector);
	RUN(limits);
	RUN(id_parser);
	RUN(tokenizer);
	RUN(hex_roundtrip);
	return testlib_report();
}
