// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ctl_proto - command words -> requests, SA <-> JSON round trip,
 * limit values, and framing (one object per line, nothing after it).
 */
#include "testlib.h"
#include "ctl_proto.h"

#define K20 "0x000102030405060708090a0b0c0d0e0f10111213"

static json_object *build(const char *line, char *err, size_t errlen)
{
	static char buf[1024];
	char *argv[64];
	json_object *req = NULL;
	int n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = sa_tokenize(buf, argv, 64, err, errlen);
	if (n <= 0 || ctl_build_request(n, argv, NULL, &req, err, errlen))
		return NULL;
	return req;
}

static const char *cmd_of(json_object *req)
{
	return json_object_get_string(json_object_object_get(req, "cmd"));
}

TEST(requests)
{
	char err[256];
	json_object *r;

	r = build("sa add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x10 aead 'rfc4106(gcm(aes))' " K20 " 128", err, sizeof(err));
	CHECK(r && !strcmp(cmd_of(r), "sa add"));
	/* no replay-window given: the field is absent so the daemon default applies */
	CHECK(r && !json_object_object_get_ex(json_object_object_get(json_object_object_get(r, "args"), "sa"), "replay_window", NULL));
	json_object_put(r);
	r = build("xfrm state add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x10 aead 'rfc4106(gcm(aes))' " K20 " 128", err, sizeof(err));
	CHECK(r && !strcmp(cmd_of(r), "sa add"));
	json_object_put(r);
	r = build("sa delete dst 198.18.0.2 spi 16", err, sizeof(err));
	CHECK(r && !strcmp(cmd_of(r), "sa del"));
	json_object_put(r);
	r = build("sa get dst 198.18.0.2 spi 16 --keys", err, sizeof(err));
	CHECK(r && json_object_get_boolean(json_object_object_get(json_object_object_get(r, "args"), "keys")));
	json_object_put(r);
	r = build("limits set timeout 10s mem-cap 8M", err, sizeof(err));
	CHECK(r && json_object_get_int64(json_object_object_get(json_object_object_get(r, "args"), "reasm_timeout_ms")) == 10000);
	CHECK(r && json_object_get_int64(json_object_object_get(json_object_object_get(r, "args"), "reasm_mem_cap")) == 8 << 20);
	json_object_put(r);
	CHECK(build("limits set timeout", err, sizeof(err)) == NULL);
	CHECK(!strcmp(err, "limits set needs NAME VALUE pairs"));
	CHECK(build("stats --bogus", err, sizeof(err)) == NULL);
	CHECK(!strcmp(err, "\"--bogus\": unknown stats option (expected --reset, --prometheus or --check)"));
	r = build("stats --check", err, sizeof(err));
	CHECK(r && json_object_get_boolean(json_object_object_get(json_object_object_get(r, "args"), "check")));
	json_object_put(r);
	CHECK(build("frob", err, sizeof(err)) == NULL);
	CHECK(!strcmp(err, "\"frob\": unknown command (try xdpsecctl --help)"));
	CHECK(build("status extra", err, sizeof(err)) == NULL);
	CHECK(build("sa list extra", err, sizeof(err)) == NULL);
}

/* Every command the words can build is one of the command table's, and
 * every table entry is built from its own name (the daemon dispatches and
 * the CLI prints by that table). */
TEST(command_table)
{
	static const char *const lines[] = {
		"ping", "version", "sa list", "sa show", "sa stats", "sa count", "sa flush",
		"sa del dst 198.18.0.2 spi 16", "sa get dst 198.18.0.2 spi 16",
		"sa stats dst 198.18.0.2 spi 16", "stats", "stats --reset", "reasm", "status",
		"limits get", "limits show", "limits set timeout 10s", "monitor", "stats --check",
		"policy list", "policy show", "policy flush",
		"policy add src 198.19.1.0/24 dst 198.19.2.0/24 dir in tmpl src 198.18.0.1 "
		"dst 198.18.0.2 proto esp mode tunnel reqid 1",
		"policy del src 198.19.1.0/24 dst 198.19.2.0/24 dir in", "xfrm policy list",
		"sa add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x10 aead 'rfc4106(gcm(aes))' " K20 " 128",
	};
	bool built[CTL_CMD__MAX] = { false };
	char err[256];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		json_object *r = build(lines[i], err, sizeof(err));
		int which = r ? ctl_cmd_find(cmd_of(r)) : -1;

		CHECK(which >= 0);
		if (which >= 0)
			built[which] = true;
		json_object_put(r);
	}
	for (int i = 0; i < CTL_CMD__MAX; i++) {
		CHECK(built[i]);
		CHECK_EQ(ctl_cmd_find(ctl_cmd_table[i].name), i);
	}
	CHECK_EQ(ctl_cmd_find("frob"), -1);
}

TEST(sa_json_roundtrip)
{
	char *argv[] = { "src", "2001:db8::1", "dst", "2001:db8::2", "proto", "esp", "spi", "0xdeadbeef",
		"reqid", "9", "mode", "tunnel", "enc", "cbc(aes)", "0x000102030405060708090a0b0c0d0e0f",
		"auth-trunc", "hmac(sha384)", "0x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f",
		"192", "replay-window", "64", "flag", "esn", "encap", "espinudp", "4500", "4501", "0.0.0.0" };
	struct sa_parse_result a, b;
	char err[256];
	json_object *o;

	CHECK_EQ(sa_parse_add(28, argv, &a, err, sizeof(err)), 0);
	o = ctl_sa_to_json(&a.cfg, true);
	CHECK_EQ(ctl_sa_from_json(o, &b, err, sizeof(err)), 0);
	CHECK_EQ(b.cfg.spi, 0xdeadbeefu);
	CHECK_EQ(b.cfg.reqid, 9);
	CHECK_EQ(b.cfg.auth, XS_AUTH_HMAC_SHA384);
	CHECK_EQ(b.cfg.icv_bits, 192);
	CHECK_EQ(b.cfg.auth_key_len, 48);
	CHECK_MEM(b.cfg.auth_key, a.cfg.auth_key, 48);
	CHECK_MEM(b.cfg.enc_key, a.cfg.enc_key, 16);
	CHECK_MEM(b.cfg.dst.bytes, a.cfg.dst.bytes, 16);
	CHECK_EQ(b.cfg.replay_window, 64);
	CHECK(b.has_replay_window && b.cfg.esn && b.cfg.encap);
	CHECK_EQ(b.cfg.encap_dport, 4501);
	json_object_put(o);

	/* without keys the object cannot be added back */
	o = ctl_sa_to_json(&a.cfg, false);
	CHECK_EQ(ctl_sa_from_json(o, &b, err, sizeof(err)), -1);
	CHECK(!strcmp(err, "\"enc.key\": missing or not a string"));
	json_object_put(o);

	/* NULL encryption (empty key, "0x" in JSON) and GMAC round-trip too */
	{
		static const char *const lines[] = {
			"enc ecb(cipher_null) '' auth hmac(sha256) " K20,
			"aead 'rfc4543(gcm(aes))' " K20 " 128",
		};
		for (size_t i = 0; i < 2; i++) {
			char line[256], *w[32];
			int n;

			snprintf(line, sizeof(line), "src 198.18.0.1 dst 198.18.0.2 proto esp spi 7 %s", lines[i]);
			n = sa_tokenize(line, w, 32, err, sizeof(err));
			CHECK_EQ(sa_parse_add(n, w, &a, err, sizeof(err)), 0);
			o = ctl_sa_to_json(&a.cfg, true);
			CHECK_EQ(ctl_sa_from_json(o, &b, err, sizeof(err)), 0);
			CHECK_EQ(b.cfg.alg, a.cfg.alg);
			CHECK_EQ(b.cfg.enc_key_len, a.cfg.enc_key_len);
			CHECK_EQ(b.cfg.icv_bits, a.cfg.icv_bits);
			CHECK_EQ(b.cfg.auth_key_len, a.cfg.auth_key_len);
			json_object_put(o);
		}
		CHECK_EQ(b.cfg.alg, XS_ALG_AES_GMAC);
	}

	/* wrong types are named */
	o = json_tokener_parse("{\"src\":\"198.18.0.1\",\"dst\":\"198.18.0.2\",\"spi\":\"16\"}");
	CHECK_EQ(ctl_sa_from_json(o, &b, err, sizeof(err)), -1);
	CHECK(!strcmp(err, "\"spi\": must be an integer"));
	json_object_put(o);
}

TEST(framing)
{
	char err[128];
	json_object *o;

	o = ctl_parse_line("{\"a\":1}  ", 9, err, sizeof(err));
	CHECK(o != NULL);
	json_object_put(o);
	CHECK(ctl_parse_line("{\"a\":1} x", 9, err, sizeof(err)) == NULL);
	CHECK(ctl_parse_line("{\"a\":", 5, err, sizeof(err)) == NULL);
	CHECK(!strcmp(err, "malformed JSON: incomplete"));

	size_t len;
	o = json_object_new_object();
	json_object_object_add(o, "s", json_object_new_string("line1\nline2"));
	char *s = ctl_serialize(o, &len);
	CHECK(s && memchr(s, '\n', len - 1) == NULL && s[len - 1] == '\n');
	free(s);
	json_object_put(o);
}

TEST(limit_values)
{
	const struct ctl_limit_name *t = ctl_limit_by_cli("timeout"), *m = ctl_limit_by_cli("mem-cap");
	uint64_t v;

	CHECK(t && m && !ctl_limit_by_cli("nope"));
	CHECK(!ctl_parse_limit_value(t, "500ms", &v) && v == 500);
	CHECK(!ctl_parse_limit_value(t, "2m", &v) && v == 120000);
	CHECK(!ctl_parse_limit_value(m, "64k", &v) && v == 65536);
	CHECK(ctl_parse_limit_value(m, "64q", &v) == -1);
	CHECK(ctl_parse_limit_value(t, "-1", &v) == -1);
}

int main(void)
{
	RUN(requests);
	RUN(command_table);
	RUN(sa_json_roundtrip);
	RUN(framing);
	RUN(limit_values);
	return testlib_report();
}
