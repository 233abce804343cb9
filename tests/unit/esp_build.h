/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * esp_build.h - a small ESP *sender* (encryption side) on OpenSSL EVP, for
 * what scapy cannot easily make: authentic packets with broken trailers,
 * dummy (TFC) packets, chosen sequence numbers in bulk (fuzz seeds, bench).
 * It shares no code with the engine's receive path.  Header-only so tests,
 * the fuzzer and the benchmark can include it.
 */
#ifndef XDPSEC_ESP_BUILD_H
#define XDPSEC_ESP_BUILD_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "sa_config.h"

#define ESPB_BAD_PAD     (1u << 0)   /* pad bytes not 1,2,3,...      */
#define ESPB_PADLEN_HUGE (1u << 1)   /* pad length byte = 255        */
#define ESPB_WRONG_HI    (1u << 2)   /* ESN: authenticate with hi-1  */

static inline void espb_w16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void espb_w32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static inline uint16_t espb_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Recompute the header checksum of the IPv4 packet at p after a field
 * (total length, ...) was patched: esp_input checks it. */
static inline void espb_fix_csum4(uint8_t *p)
{
	size_t ihl = (size_t)(p[0] & 15) * 4;

	p[10] = p[11] = 0;
	espb_w16(p + 10, espb_csum(p, ihl));
}

/* A plain IPv4/UDP packet of plen payload bytes (the tunnel inner packet). */
static inline size_t espb_inner_v4(uint8_t *out, size_t plen, uint8_t fill)
{
	uint8_t hdr[20] = { 0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0,
			    198, 18, 1, 1, 198, 18, 2, 2 };

	espb_w16(hdr + 2, (uint16_t)(20 + 8 + plen));
	espb_w16(hdr + 10, espb_csum(hdr, 20));
	memcpy(out, hdr, 20);
	espb_w16(out + 20, 1234);
	espb_w16(out + 22, 9);
	espb_w16(out + 24, (uint16_t)(8 + plen));
	espb_w16(out + 26, 0);
	memset(out + 28, fill, plen);
	return 28 + plen;
}

/* Build IPv4 (family AF_INET, 198.18.0.1 -> cfg->dst) or IPv6 outer header,
 * optional UDP (cfg->encap), ESP with seq (64-bit: high half used for ESN
 * authentication), payload + trailer (next header nh), ICV.
 * Returns the packet length, 0 on error.  Every algorithm of sa_config.h:
 * AEAD (GCM, ChaCha20-Poly1305, GMAC), CBC or NULL encryption + HMAC. */
static inline size_t espb_build(uint8_t *out, size_t cap, const struct xs_sa_config *cfg,
				uint64_t seq, const uint8_t *payload, size_t plen, uint8_t nh,
				unsigned flags)
{
	int v4 = cfg->dst.family == AF_INET, cbc = cfg->alg == XS_ALG_AES_CBC, outl;
	int hmac = cbc || cfg->alg == XS_ALG_NULL, gmac = cfg->alg == XS_ALG_AES_GMAC;
	size_t l3 = v4 ? 20 : 40, udp = cfg->encap ? 8 : 0;
	size_t iv_len = cbc ? 16 : cfg->alg == XS_ALG_NULL ? 0 : 8;
	size_t icv = cfg->icv_bits / 8, blk = cbc ? 16 : 4, padlen, ctl, esp_off, i, tot;
	uint32_t hi = (uint32_t)(seq >> 32) - ((flags & ESPB_WRONG_HI) ? 1 : 0);
	uint8_t *esp, *ct;
	EVP_CIPHER_CTX *cx;

	padlen = (blk - (plen + 2) % blk) % blk;
	ctl = plen + padlen + 2;
	esp_off = l3 + udp;
	tot = esp_off + 8 + iv_len + ctl + icv;
	if (tot > cap || tot > 65535)
		return 0;
	memset(out, 0, esp_off);
	if (v4) {
		out[0] = 0x45;
		espb_w16(out + 2, (uint16_t)tot);
		out[8] = 64;
		out[9] = udp ? 17 : 50;
		out[12] = 198; out[13] = 18; out[14] = 0; out[15] = 1;
		memcpy(out + 16, &cfg->dst.v4, 4);
		espb_w16(out + 10, espb_csum(out, 20));
	} else {
		out[0] = 0x60;
		espb_w16(out + 4, (uint16_t)(tot - 40));
		out[6] = udp ? 17 : 50;
		out[7] = 64;
		out[8] = 0x20; out[9] = 0x01; out[10] = 0x0d; out[11] = 0xb8; out[23] = 1;
		memcpy(out + 24, &cfg->dst.v6, 16);
	}
	if (udp) {
		espb_w16(out + l3, cfg->encap_sport);
		espb_w16(out + l3 + 2, cfg->encap_dport);
		espb_w16(out + l3 + 4, (uint16_t)(tot - l3));
	}
	esp = out + esp_off;
	espb_w32(esp, cfg->spi);
	espb_w32(esp + 4, (uint32_t)seq);
	for (i = 0; i < iv_len; i++)                 /* unique per seq, fine for tests */
		esp[8 + i] = (uint8_t)((seq >> (8 * (i % 8))) ^ (0x5a + i));
	ct = esp + 8 + iv_len;
	memmove(ct, payload, plen);
	for (i = 0; i < padlen; i++)
		ct[plen + i] = (uint8_t)(i + 1);
	if ((flags & ESPB_BAD_PAD) && padlen)
		ct[plen + padlen - 1] ^= 0x40;
	ct[ctl - 2] = (flags & ESPB_PADLEN_HUGE) ? 255 : (uint8_t)padlen;
	ct[ctl - 1] = nh;

	cx = EVP_CIPHER_CTX_new();
	if (!cx)
		return 0;
	if (hmac) {
		const EVP_CIPHER *c = cfg->enc_key_len == 16 ? EVP_aes_128_cbc() :
				      cfg->enc_key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
		const EVP_MD *md = cfg->auth == XS_AUTH_HMAC_SHA1 ? EVP_sha1() :
				   cfg->auth == XS_AUTH_HMAC_SHA256 ? EVP_sha256() :
				   cfg->auth == XS_AUTH_HMAC_SHA384 ? EVP_sha384() : EVP_sha512();
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned ml = 0;

		/* NULL encryption (RFC 2410): the payload goes as it is */
		if (cbc && (!EVP_EncryptInit_ex(cx, c, NULL, cfg->enc_key, esp + 8) ||
			    !EVP_CIPHER_CTX_set_padding(cx, 0) ||
			    !EVP_EncryptUpdate(cx, ct, &outl, ct, (int)ctl)))
			goto fail;
		/* RFC 4303 2.2.1: with ESN the high half is hashed after the
		 * ciphertext, where the ICV will go; it is not sent */
		espb_w32(ct + ctl, hi);
		if (!HMAC(md, cfg->auth_key, cfg->auth_key_len, esp,
			  8 + iv_len + ctl + (cfg->esn ? 4 : 0), mac, &ml))
			goto fail;
		memcpy(ct + ctl, mac, icv);
	} else {
		size_t kl = cfg->enc_key_len - 4u;
		const EVP_CIPHER *c = cfg->alg == XS_ALG_CHACHA20_POLY1305 ? EVP_chacha20_poly1305() :
				      kl == 16 ? EVP_aes_128_gcm() : kl == 24 ? EVP_aes_192_gcm() :
				      EVP_aes_256_gcm();
		uint8_t nonce[12], aad[12];
		int al = 8;

		memcpy(nonce, cfg->enc_key + kl, 4);
		memcpy(nonce + 4, esp + 8, 8);
		memcpy(aad, esp, 4);
		if (cfg->esn) {
			espb_w32(aad + 4, hi);
			memcpy(aad + 8, esp + 4, 4);
			al = 12;
		} else {
			memcpy(aad + 4, esp + 4, 4);
		}
		if (!EVP_EncryptInit_ex(cx, c, NULL, cfg->enc_key, nonce) ||
		    !EVP_EncryptUpdate(cx, NULL, &outl, aad, al))
			goto fail;
		/* GMAC (RFC 4543 5): IV and payload are AAD too, nothing is encrypted */
		if (gmac ? !EVP_EncryptUpdate(cx, NULL, &outl, esp + 8, (int)(iv_len + ctl))
			 : !EVP_EncryptUpdate(cx, ct, &outl, ct, (int)ctl))
			goto fail;
		if (!EVP_EncryptFinal_ex(cx, ct + ctl, &outl) ||
		    !EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_AEAD_GET_TAG, (int)icv, ct + ctl))
			goto fail;
	}
	EVP_CIPHER_CTX_free(cx);
	return tot;
fail:
	EVP_CIPHER_CTX_free(cx);
	return 0;
}

#endif
