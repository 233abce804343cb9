// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_sa_table.c - SA table operations, validation errors, and lookups by
 * worker threads racing adds and deletes by the control thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include "testlib.h"
#include "esp.h"
#include "esp_build.h"

static void cfg4(struct xs_sa_config *c, const char *dst, uint32_t spi)
{
	memset(c, 0, sizeof(*c));
	c->dst.family = AF_INET;
	inet_pton(AF_INET, dst, &c->dst.v4);
	c->spi = spi;
	c->proto = IPPROTO_ESP;
	c->mode = XS_MODE_TUNNEL;
	c->alg = XS_ALG_AES_GCM;
	c->enc_key_len = 20;
	memset(c->enc_key, 0x42, 20);
	c->icv_bits = 128;
	c->replay_window = 128;
}

static int count_cb(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st, void *arg)
{
	(void)index; (void)cfg; (void)st;
	(*(int *)arg)++;
	return 0;
}

static int stop_cb(uint32_t index, const struct xs_sa_config *cfg, const struct sa_stats *st, void *arg)
{
	(void)index; (void)cfg; (void)st;
	return ++(*(int *)arg) == 2;
}

static void del_cb(uint32_t index, const struct xs_sa_config *cfg, void *arg)
{
	(void)index; (void)cfg;
	(*(int *)arg)++;
}

TEST(add_get_del)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_AUTO);
	struct xs_sa_config c, got;
	struct sa_stats st;
	uint32_t idx = 99;
	char err[128];
	int n = 0;

	cfg4(&c, "198.18.0.2", 0x100);
	CHECK_EQ(sa_table_add(t, &c, &idx, err, sizeof(err)), 0);
	CHECK_EQ(idx, 0);
	CHECK_EQ(sa_table_add(t, &c, &idx, err, sizeof(err)), -EEXIST);
	/* same SPI, other destination and IPv6: different SAs */
	cfg4(&c, "198.18.0.3", 0x100);
	CHECK_EQ(sa_table_add(t, &c, &idx, err, sizeof(err)), 0);
	CHECK_EQ(idx, 1);
	c.dst.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::2", &c.dst.v6);
	CHECK_EQ(sa_table_add(t, &c, &idx, err, sizeof(err)), 0);
	CHECK_EQ(sa_table_count(t), 3);
	CHECK_EQ(sa_table_get(t, &c.dst, 0x100, IPPROTO_ESP, NULL, &got, &st, &idx), 0);
	CHECK_EQ(idx, 2);
	CHECK(!memcmp(&got.dst, &c.dst, sizeof(c.dst)));
	CHECK_EQ(st.packets, 0);
	CHECK_EQ(sa_table_get(t, &c.dst, 0x101, IPPROTO_ESP, NULL, NULL, NULL, NULL), -ENOENT);
	cfg4(&c, "198.18.0.9", 0x1);
	CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), 0);
	cfg4(&c, "198.18.0.9", 0x2);
	CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), -ENOSPC);
	sa_table_walk(t, count_cb, &n);
	CHECK_EQ(n, 4);
	n = 0;
	sa_table_walk(t, stop_cb, &n);
	CHECK_EQ(n, 2);
	/* delete returns the config; the index is reused */
	cfg4(&c, "198.18.0.3", 0x100);
	CHECK_EQ(sa_table_del(t, &c.dst, 0x100, IPPROTO_ESP, NULL, &got, &idx), 0);
	CHECK_EQ(idx, 1);
	CHECK(got.enc_key[0] == 0x42 && got.spi == 0x100);
	CHECK_EQ(sa_table_del(t, &c.dst, 0x100, IPPROTO_ESP, NULL, NULL, NULL), -ENOENT);
	cfg4(&c, "198.18.0.9", 0x2);
	CHECK_EQ(sa_table_add(t, &c, &idx, err, sizeof(err)), 0);
	CHECK_EQ(idx, 1);
	n = 0;
	sa_table_flush(t, del_cb, &n);
	CHECK_EQ(n, 4);
	CHECK_EQ(sa_table_count(t), 0);
	sa_table_free(t);
}

TEST(validation_errors)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_OPENSSL);
	struct xs_sa_config c;
	char err[128];

	CHECK_EQ(sa_table_backend(t), CRYPTO_BACKEND_OPENSSL);
#define BAD(mut, word) do { cfg4(&c, "198.18.0.2", 5); mut; err[0] = 0; \
		CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), -EINVAL); \
		CHECK(strstr(err, word) != NULL); } while (0)
	BAD(c.spi = 0, "spi");
	BAD(c.proto = 51, "proto");
	BAD(c.dst.family = 0, "dst");
	BAD(c.icv_bits = 32, "ICV");
	BAD(c.enc_key_len = 16, "key");
	BAD(c.replay_window = 5000, "replay");
	BAD(c.mode = 7, "mode");
	BAD(c.alg = 99, "alg");
	BAD((c.alg = XS_ALG_CHACHA20_POLY1305, c.enc_key_len = 36, c.icv_bits = 96), "ICV");
	BAD((c.alg = XS_ALG_AES_GMAC, c.icv_bits = 96), "ICV");
	BAD((c.alg = XS_ALG_AES_CBC, c.enc_key_len = 16, c.auth = XS_AUTH_NONE), "auth");
	BAD((c.alg = XS_ALG_NULL, c.enc_key_len = 0, c.auth = XS_AUTH_NONE), "auth");
	BAD((c.alg = XS_ALG_NULL, c.enc_key_len = 16, c.auth = XS_AUTH_HMAC_SHA1,
	     c.auth_key_len = 20, c.icv_bits = 96), "no key");
	BAD((c.alg = XS_ALG_AES_CBC, c.enc_key_len = 16, c.auth = XS_AUTH_HMAC_SHA1,
	     c.auth_key_len = 20, c.icv_bits = 168), "trunc");
	BAD((c.alg = XS_ALG_AES_CBC, c.enc_key_len = 16, c.auth = XS_AUTH_HMAC_SHA256,
	     c.auth_key_len = 32, c.icv_bits = 100), "trunc");
	BAD((c.alg = XS_ALG_AES_CBC, c.enc_key_len = 16, c.auth = XS_AUTH_HMAC_SHA256,
	     c.auth_key_len = 0, c.icv_bits = 128), "key");
	BAD((c.encap = 1, c.encap_dport = 0), "encap");
	CHECK_EQ(sa_table_count(t), 0);
	/* a small window is rounded up to 32 */
	cfg4(&c, "198.18.0.2", 5);
	c.replay_window = 4;
	CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), 0);
	CHECK_EQ(sa_table_get(t, &c.dst, 5, IPPROTO_ESP, NULL, &c, NULL, NULL), 0);
	CHECK_EQ(c.replay_window, 32);
	CHECK(!strcmp(crypto_backend_name(CRYPTO_BACKEND_IPSECMB), "ipsecmb"));
	sa_table_free(t);
}

/* What `ip xfrm state add` takes for these algorithms is taken, on both
 * backends: the kernel's truncations (8 bits to the digest, sha256's
 * default 96), HMAC keys of any length, GMAC, NULL encryption. */
TEST(kernel_transforms_accepted)
{
	static const struct { uint8_t alg, auth; uint8_t klen, aklen; uint16_t icv; } ok[] = {
		{ XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA256, 16, 32, 96 },
		{ XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA1, 32, 20, 160 },
		{ XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA512, 24, 200, 512 },
		{ XS_ALG_AES_CBC, XS_AUTH_HMAC_SHA384, 16, 1, 8 },
		{ XS_ALG_NULL, XS_AUTH_HMAC_SHA256, 0, 32, 128 },
		{ XS_ALG_NULL, XS_AUTH_HMAC_SHA1, 0, 65, 96 },
		{ XS_ALG_AES_GMAC, XS_AUTH_NONE, 20, 0, 128 },
		{ XS_ALG_AES_GMAC, XS_AUTH_NONE, 36, 0, 128 },
	};
	static const enum crypto_backend be[] = { CRYPTO_BACKEND_IPSECMB, CRYPTO_BACKEND_OPENSSL };

	for (size_t b = 0; b < 2; b++) {
		struct sa_table *t = sa_table_new(16, be[b]);
		char err[160];

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			struct xs_sa_config c;
			int rc;

			cfg4(&c, "198.18.0.2", (uint32_t)(0x10 + i));
			c.alg = ok[i].alg;
			c.auth = ok[i].auth;
			c.enc_key_len = ok[i].klen;
			c.auth_key_len = ok[i].aklen;
			memset(c.auth_key, 0x24, sizeof(c.auth_key));
			c.icv_bits = ok[i].icv;
			err[0] = 0;
			rc = sa_table_add(t, &c, NULL, err, sizeof(err));
			if (rc)
				fprintf(stderr, "  transform %zu on %s: %d %s\n", i,
					crypto_backend_name(be[b]), rc, err);
			CHECK_EQ(rc, 0);
		}
		CHECK_EQ(sa_table_count(t), sizeof(ok) / sizeof(ok[0]));
		sa_table_free(t);
	}
}

/* An SA is named by (dst, spi, proto); a src given with the name must be
 * the SA's own (a wrong src once deleted the SA). */
TEST(src_must_match_when_given)
{
	struct sa_table *t = sa_table_new(4, CRYPTO_BACKEND_AUTO);
	struct xs_sa_config c, got;
	struct xs_addr right = { .family = AF_INET }, wrong = { .family = AF_INET },
		       v6 = { .family = AF_INET6 };
	char err[128];

	inet_pton(AF_INET, "198.18.0.1", &right.v4);
	inet_pton(AF_INET, "198.18.0.9", &wrong.v4);
	inet_pton(AF_INET6, "2001:db8::1", &v6.v6);
	cfg4(&c, "198.18.0.2", 0x100);
	c.src = right;
	CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), 0);
	/* same dst and spi, another src: the same SA to the kernel */
	c.src = wrong;
	CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), -EEXIST);

	CHECK_EQ(sa_table_get(t, &c.dst, 0x100, IPPROTO_ESP, &wrong, &got, NULL, NULL), -EADDRNOTAVAIL);
	CHECK_EQ(sa_table_get(t, &c.dst, 0x100, IPPROTO_ESP, &v6, NULL, NULL, NULL), -EADDRNOTAVAIL);
	CHECK_EQ(sa_table_get(t, &c.dst, 0x101, IPPROTO_ESP, &right, NULL, NULL, NULL), -ENOENT);
	CHECK_EQ(sa_table_del(t, &c.dst, 0x100, IPPROTO_ESP, &wrong, NULL, NULL), -EADDRNOTAVAIL);
	CHECK_EQ(sa_table_count(t), 1);          /* still there */
	CHECK_EQ(sa_table_get(t, &c.dst, 0x100, IPPROTO_ESP, &right, &got, NULL, NULL), 0);
	CHECK(!memcmp(&got.src, &right, sizeof(right)));
	CHECK_EQ(sa_table_get(t, &c.dst, 0x100, IPPROTO_ESP, NULL, NULL, NULL, NULL), 0);
	CHECK_EQ(sa_table_del(t, &c.dst, 0x100, IPPROTO_ESP, &right, NULL, NULL), 0);
	CHECK_EQ(sa_table_count(t), 0);
	/* without a src, the (dst, spi, proto) alone names it */
	c.src = right;
	CHECK_EQ(sa_table_add(t, &c, NULL, err, sizeof(err)), 0);
	CHECK_EQ(sa_table_del(t, &c.dst, 0x100, IPPROTO_ESP, NULL, NULL, NULL), 0);
	sa_table_free(t);
}

/* ---- concurrency: workers decrypt while the control thread adds/deletes */
static struct sa_table *ct;
static atomic_int stop;
static uint8_t pkt_tmpl[256];
static size_t pkt_len;

static void *worker(void *arg)
{
	struct esp_ctx *c = esp_ctx_new(ct);
	uint8_t buf[256];
	struct esp_result res;
	long *ok = arg;

	while (!atomic_load(&stop)) {
		memcpy(buf, pkt_tmpl, pkt_len);
		/* same packet each time: after the first delivery it is a replay
		 * unless the SA was re-added in between (fresh window) */
		if (esp_input(c, buf, pkt_len, &res) == 0) {
			if (res.len != 28 + 40 || buf[0] == 0)
				ok[1]++;
			ok[0]++;
		} else if (res.drop != ESP_DROP_NO_SA && res.drop != ESP_DROP_REPLAY) {
			ok[1]++;
		}
	}
	esp_ctx_free(c);
	return NULL;
}

TEST(concurrent_add_del)
{
	struct xs_sa_config c;
	pthread_t th[2];
	long res[2][2] = { { 0, 0 }, { 0, 0 } };
	uint8_t inner[100];
	char err[64];
	int i;

	ct = sa_table_new(64, CRYPTO_BACKEND_AUTO);
	cfg4(&c, "198.18.0.2", 0x77);
	pkt_len = espb_build(pkt_tmpl, sizeof(pkt_tmpl), &c, 1, inner,
			     espb_inner_v4(inner, 40, 9), 4, 0);
	CHECK(pkt_len > 0);
	atomic_store(&stop, 0);
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, res[i]);
	for (i = 0; i < 3000; i++) {
		struct xs_sa_config other;

		CHECK_EQ(sa_table_add(ct, &c, NULL, err, sizeof(err)), 0);
		cfg4(&other, "198.18.0.5", 0x1000 + (uint32_t)i % 50);
		sa_table_add(ct, &other, NULL, err, sizeof(err));
		CHECK_EQ(sa_table_del(ct, &c.dst, 0x77, IPPROTO_ESP, NULL, NULL, NULL), 0);
		if (i % 100 == 99)
			sa_table_flush(ct, NULL, NULL);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(res[0][1] + res[1][1], 0);
	/* at most one delivery per add: never a replay delivered twice */
	CHECK(res[0][0] + res[1][0] <= 3000);
	printf("  delivered %ld across 3000 add/del cycles\n", res[0][0] + res[1][0]);
	sa_table_free(ct);
}

int main(void)
{
	RUN(add_get_del);
	RUN(validation_errors);
	RUN(kernel_transforms_accepted);
	RUN(src_must_match_when_given);
	RUN(concurrent_add_del);
	return testlib_report();
}
