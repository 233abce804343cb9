// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl_proto.c - control protocol helpers (see ctl_proto.h): command words
 * -> request objects, SA <-> JSON, reply construction, line framing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctl_proto.h"
#include "sa_json_ext.h"
#include "ctl_policy.h"

static int usage(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int usage(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------ limits */

const struct ctl_limit_name ctl_limit_names[] = {
	{ "timeout", "reasm_timeout_ms", "ms", "reassembly timeout (e.g. 30s, 500ms)" },
	{ "mem-cap", "reasm_mem_cap", "bytes", "memory for fragments being reassembled (e.g. 4M)" },
	{ "max-frags", "reasm_max_frags", "", "fragments per datagram" },
	{ "max-datagrams", "reasm_max_datagrams", "", "datagrams reassembled at once" },
	{ "src-share", "reasm_src_share_pct", "%", "share of mem-cap and max-datagrams one source may hold" },
	{ "replay-window", "replay_window_default", "packets", "replay window of SAs added without replay-window" },
	{ NULL, NULL, NULL, NULL },
};

const struct ctl_limit_name *ctl_limit_by_cli(const char *cli)
{
	for (const struct ctl_limit_name *l = ctl_limit_names; l->cli; l++)
		if (!strcmp(cli, l->cli) || !strcmp(cli, l->key))
			return l;
	return NULL;
}

int ctl_parse_limit_value(const struct ctl_limit_name *l, const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (!strcmp(l->unit, "ms")) {
		if (!strcmp(end, "s")) mul = 1000;
		else if (!strcmp(end, "m")) mul = 60000;
		else if (*end && strcmp(end, "ms")) return -1;
	} else if (!strcmp(l->unit, "bytes")) {
		if (!strcasecmp(end, "k") || !strcasecmp(end, "kib")) mul = 1ull << 10;
		else if (!strcasecmp(end, "m") || !strcasecmp(end, "mib")) mul = 1ull << 20;
		else if (!strcasecmp(end, "g") || !strcasecmp(end, "gib")) mul = 1ull << 30;
		else if (*end) return -1;
	} else if (!strcmp(l->unit, "%")) {
		if (*end && strcmp(end, "%")) return -1;
	} else if (*end) {
		return -1;
	}
	if (x > UINT64_MAX / mul)
		return -1;
	*v = x * mul;
	return 0;
}

/* ------------------------------------------------------------ SA JSON */

json_object *ctl_sa_to_json(const struct xs_sa_config *c, bool keys)
{
	json_object *o = json_object_new_object(), *a;
	char buf[2 * XS_MAX_AUTH_KEY + 3];

	json_object_object_add(o, "src", json_object_new_string(sa_addr_str(&c->src, buf, sizeof(buf))));
	json_object_object_add(o, "dst", json_object_new_string(sa_addr_str(&c->dst, buf, sizeof(buf))));
	json_object_object_add(o, "proto", json_object_new_string("esp"));
	json_object_object_add(o, "spi", json_object_new_int64(c->spi));
	json_object_object_add(o, "reqid", json_object_new_int64(c->reqid));
	json_object_object_add(o, "mode", json_object_new_string(sa_mode_name(c->mode)));
	a = json_object_new_object();
	json_object_object_add(a, "name", json_object_new_string(sa_alg_name(c->alg)));
	if (keys) {
		sa_hex_encode(c->enc_key, c->enc_key_len, buf);
		json_object_object_add(a, "key", json_object_new_string(buf));
	}
	json_object_object_add(a, "key_bits", json_object_new_int(c->enc_key_len * 8));
	if (!sa_alg_is_aead(c->alg)) {
		json_object_object_add(o, "enc", a);
		a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(sa_auth_name(c->auth)));
		if (keys) {
			sa_hex_encode(c->auth_key, c->auth_key_len, buf);
			json_object_object_add(a, "key", json_object_new_string(buf));
		}
		json_object_object_add(a, "key_bits", json_object_new_int(c->auth_key_len * 8));
		json_object_object_add(a, "trunc_bits", json_object_new_int(c->icv_bits));
		json_object_object_add(o, "auth", a);
	} else {
		json_object_object_add(a, "icv_bits", json_object_new_int(c->icv_bits));
		json_object_object_add(o, "aead", a);
	}
	json_object_object_add(o, "replay_window", json_object_new_int64(c->replay_window));
	json_object_object_add(o, "esn", json_object_new_boolean(c->esn));
	if (c->encap) {
		a = json_object_new_object();
		json_object_object_add(a, "type", json_object_new_string("espinudp"));
		json_object_object_add(a, "sport", json_object_new_int(c->encap_sport));
		json_object_object_add(a, "dport", json_object_new_int(c->encap_dport));
		json_object_object_add(o, "encap", a);
	}
	sa_json_ext_put(o, c);
	return o;
}

/* Typed field access: every wrong type is an error naming the field. */
static int get_str(json_object *o, const char *k, const char **v, bool req,
		   char *err, size_t errlen)
{
	json_object *f;

	if (!json_object_object_get_ex(o, k, &f) || json_object_is_type(f, json_type_null)) {
		*v = NULL;
		return req ? usage(err, errlen, "\"%s\": missing", k) : 0;
	}
	if (!json_object_is_type(f, json_type_string))
		return usage(err, errlen, "\"%s\": must be a string", k);
	*v = json_object_get_string(f);
	return 0;
}

static int get_uint(json_object *o, const char *k, uint64_t max, uint64_t *v,
		    bool *present, char *err, size_t errlen)
{
	json_object *f;
	int64_t x;

	if (present)
		*present = false;
	if (!json_object_object_get_ex(o, k, &f) || json_object_is_type(f, json_type_null))
		return present ? 0 : usage(err, errlen, "\"%s\": missing", k);
	if (!json_object_is_type(f, json_type_int))
		return usage(err, errlen, "\"%s\": must be an integer", k);
	errno = 0;
	x = json_object_get_int64(f);
	if (x < 0 || (uint64_t)x > max || errno)
		return usage(err, errlen, "\"%s\": out of range (0..%" PRIu64 ")", k, max);
	*v = (uint64_t)x;
	if (present)
		*present = true;
	return 0;
}

static int get_obj(json_object *o, const char *k, json_object **v)
{
	return json_object_object_get_ex(o, k, v) && json_object_is_type(*v, json_type_object);
}

int ctl_sa_id_from_json(json_object *o, struct sa_parse_result *r, char *err, size_t errlen)
{
	struct xs_sa_config *c = &r->cfg;
	const char *s;
	uint64_t x;

	memset(r, 0, sizeof(*r));
	if (!o || !json_object_is_type(o, json_type_object))
		return usage(err, errlen, "\"sa\": must be an object");
	if (get_str(o, "dst", &s, true, err, errlen))
		return -1;
	if (sa_addr_parse(s, &c->dst))
		return usage(err, errlen, "\"dst\": invalid address \"%s\"", s);
	if (get_str(o, "src", &s, false, err, errlen))
		return -1;
	if (s) {
		if (sa_addr_parse(s, &c->src))
			return usage(err, errlen, "\"src\": invalid address \"%s\"", s);
		r->has_src = true;
	}
	if (get_str(o, "proto", &s, false, err, errlen))
		return -1;
	if (s && strcmp(s, "esp"))
		return usage(err, errlen, "\"proto\": only \"esp\" is supported");
	c->proto = IPPROTO_ESP;
	if (get_uint(o, "spi", UINT32_MAX, &x, NULL, err, errlen))
		return -1;
	if (x == 0)
		return usage(err, errlen, "\"spi\": 0 is reserved");
	c->spi = (uint32_t)x;
	return 0;
}

static int get_key(json_object *o, const char *field, uint8_t *out, size_t max,
		   uint8_t *len, char *err, size_t errlen)
{
	const char *s;
	int n;

	if (get_str(o, "key", &s, true, err, errlen))
		return usage(err, errlen, "\"%s.key\": missing or not a string", field);
	/* "0x": the empty key of ecb(cipher_null) (sa_config_validate refuses
	 * it wherever a key is needed) */
	n = !strcmp(s, "0x") ? 0 : sa_hex_decode(s, out, max);
	if (n < 0)
		return usage(err, errlen, "\"%s.key\": expected 0x and at most %zu bytes of hex", field, max);
	*len = (uint8_t)n;
	return 0;
}

int ctl_sa_from_json(json_object *o, struct sa_parse_result *r, char *err, size_t errlen)
{
	struct xs_sa_config *c = &r->cfg;
	json_object *a;
	const char *s;
	uint64_t x;
	bool have;
	int k;

	if (ctl_sa_id_from_json(o, r, err, errlen))
		return -1;
	if (!r->has_src)
		return usage(err, errlen, "\"src\": missing");
	if (get_uint(o, "reqid", UINT32_MAX, &x, &have, err, errlen))
		return -1;
	c->reqid = (uint32_t)x * have;
	if (get_str(o, "mode", &s, false, err, errlen))
		return -1;
	if (!s || !strcmp(s, "transport"))
		c->mode = XS_MODE_TRANSPORT;
	else if (!strcmp(s, "tunnel"))
		c->mode = XS_MODE_TUNNEL;
	else
		return usage(err, errlen, "\"mode\": expected \"transport\" or \"tunnel\"");

	if (get_obj(o, "aead", &a)) {
		if (get_str(a, "name", &s, true, err, errlen))
			return -1;
		k = sa_alg_from_name(s);
		if (k < 0 || !sa_alg_is_aead((unsigned)k))
			return usage(err, errlen, "\"aead.name\": unsupported \"%s\"", s);
		c->alg = (uint8_t)k;
		if (get_key(a, "aead", c->enc_key, XS_MAX_ENC_KEY, &c->enc_key_len, err, errlen))
			return -1;
		if (get_uint(a, "icv_bits", 0xffff, &x, NULL, err, errlen))
			return -1;
		c->icv_bits = (uint16_t)x;
	} else if (get_obj(o, "enc", &a)) {
		if (get_str(a, "name", &s, true, err, errlen))
			return -1;
		k = sa_alg_from_name(s);
		if (k < 0 || sa_alg_is_aead((unsigned)k))
			return usage(err, errlen, "\"enc.name\": unsupported \"%s\"", s);
		c->alg = (uint8_t)k;
		if (get_key(a, "enc", c->enc_key, XS_MAX_ENC_KEY, &c->enc_key_len, err, errlen))
			return -1;
		if (!get_obj(o, "auth", &a))
			return usage(err, errlen, "\"auth\": missing (encryption-only ESP is not supported)");
		if (get_str(a, "name", &s, true, err, errlen))
			return -1;
		if ((k = sa_auth_from_name(s)) < 0)
			return usage(err, errlen, "\"auth.name\": unsupported \"%s\"", s);
		c->auth = (uint8_t)k;
		if (get_key(a, "auth", c->auth_key, XS_MAX_AUTH_KEY, &c->auth_key_len, err, errlen))
			return -1;
		if (get_uint(a, "trunc_bits", 0xffff, &x, NULL, err, errlen))
			return -1;
		c->icv_bits = (uint16_t)x;
	} else {
		return usage(err, errlen, "\"aead\" or \"enc\"+\"auth\": missing");
	}
	if (get_uint(o, "replay_window", UINT32_MAX, &x, &have, err, errlen))
		return -1;
	c->replay_window = have ? (uint32_t)x : 0;
	r->has_replay_window = have;
	if (json_object_object_get_ex(o, "esn", &a)) {
		if (!json_object_is_type(a, json_type_boolean))
			return usage(err, errlen, "\"esn\": must be true or false");
		c->esn = json_object_get_boolean(a);
	}
	if (get_obj(o, "encap", &a)) {
		if (get_str(a, "type", &s, false, err, errlen))
			return -1;
		if (s && strcmp(s, "espinudp"))
			return usage(err, errlen, "\"encap.type\": only \"espinudp\" is supported");
		if (get_uint(a, "sport", 65535, &x, NULL, err, errlen))
			return -1;
		c->encap_sport = (uint16_t)x;
		if (get_uint(a, "dport", 65535, &x, NULL, err, errlen))
			return -1;
		c->encap_dport = (uint16_t)x;
		c->encap = true;
	}
	if (sa_json_ext_get(o, c, err, errlen))
		return -1;
	return sa_config_validate(c, err, errlen);
}

/* ------------------------------------------------------------ requests */

static json_object *new_req(const char *cmd, json_object *args)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "v", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(r, "id", json_object_new_int(1));
	json_object_object_add(r, "cmd", json_object_new_string(cmd));
	json_object_object_add(r, "args", args ? args : json_object_new_object());
	return r;
}

/* Removes "--keys" from the words (anywhere), returns the remaining count. */
static int take_flag(int argc, char **w, const char *flag, bool *set)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(w[i], flag))
			*set = true;
		else
			w[n++] = w[i];
	}
	return n;
}

static int build_sa(int argc, char **w, const struct ctl_req_opts *o,
		    json_object **req, char *err, size_t errlen)
{
	struct sa_parse_result r;
	json_object *args = json_object_new_object();
	const char *sub = argc > 1 ? w[1] : "list";
	bool keys = o && o->keys;
	int rc = -1;

	argc = take_flag(argc, w, "--keys", &keys);
	if (keys)
		json_object_object_add(args, "keys", json_object_new_boolean(1));
	if (!strcmp(sub, "add")) {
		if (sa_parse_add(argc - 2, w + 2, &r, err, errlen))
			goto out;
		json_object *sa = ctl_sa_to_json(&r.cfg, true);
		if (!r.has_replay_window)
			json_object_object_del(sa, "replay_window");
		json_object_object_add(args, "sa", sa);
		explicit_bzero(&r, sizeof(r));
	} else if (!strcmp(sub, "del") || !strcmp(sub, "delete") || !strcmp(sub, "get") ||
		   (!strcmp(sub, "stats") && argc > 2)) {
		char buf[INET6_ADDRSTRLEN];
		json_object *id = json_object_new_object();
		if (sa_parse_id(argc - 2, w + 2, &r, err, errlen)) {
			json_object_put(id);
			goto out;
		}
		if (r.has_src)
			json_object_object_add(id, "src", json_object_new_string(sa_addr_str(&r.cfg.src, buf, sizeof(buf))));
		json_object_object_add(id, "dst", json_object_new_string(sa_addr_str(&r.cfg.dst, buf, sizeof(buf))));
		json_object_object_add(id, "proto", json_object_new_string("esp"));
		json_object_object_add(id, "spi", json_object_new_int64(r.cfg.spi));
		json_object_object_add(args, "sa", id);
		if (!strcmp(sub, "delete"))
			sub = "del";
	} else if (!strcmp(sub, "list") || !strcmp(sub, "show") || !strcmp(sub, "flush") ||
		   !strcmp(sub, "stats") || !strcmp(sub, "count")) {
		if (argc > 2) {
			usage(err, errlen, "\"%s\": unexpected word after sa %s", w[2], sub);
			goto out;
		}
		if (!strcmp(sub, "show"))
			sub = "list";
	} else {
		usage(err, errlen, "\"%s\": unknown sa command (expected add, del, get, list, flush, stats or count)", sub);
		goto out;
	}
	char cmd[16];
	snprintf(cmd, sizeof(cmd), "sa %s", sub);
	*req = new_req(cmd, args);
	return 0;
out:
	json_object_put(args);
	return rc;
}

const struct ctl_cmd ctl_cmd_table[CTL_CMD__MAX] = {
#define CTL_X(id, name, admin, words, help) [CTL_CMD_##id] = { name, admin, words, help },
	CTL_CMD_LIST(CTL_X)
#undef CTL_X
};

int ctl_cmd_find(const char *name)
{
	for (int i = 0; name && i < CTL_CMD__MAX; i++)
		if (!strcmp(ctl_cmd_table[i].name, name))
			return i;
	return -1;
}

int ctl_build_request(int argc, char *const *argv, const struct ctl_req_opts *o,
		      json_object **req, char *err, size_t errlen)
{
	char *w[256];
	json_object *args;
	bool flag;

	*req = NULL;
	if (argc <= 0)
		return usage(err, errlen, "missing command");
	if (argc > 256)
		return usage(err, errlen, "too many words");
	memcpy(w, argv, (size_t)argc * sizeof(*w));

	/* `ip xfrm state add ...` with the `ip` dropped: xfrm state -> sa */
	if (argc >= 2 && !strcmp(w[0], "xfrm") && !strcmp(w[1], "state")) {
		w[1] = "sa";
		return build_sa(argc - 1, w + 1, o, req, err, errlen);
	}
	if (!strcmp(w[0], "sa"))
		return build_sa(argc, w, o, req, err, errlen);
	/* `ip xfrm policy ...` with the `ip` dropped, or `policy ...` */
	if (argc >= 2 && !strcmp(w[0], "xfrm") && !strcmp(w[1], "policy"))
		return ctl_policy_build(argc - 1, w + 1, req, err, errlen);
	if (!strcmp(w[0], "policy"))
		return ctl_policy_build(argc, w, req, err, errlen);

	args = json_object_new_object();
	if (!strcmp(w[0], "stats")) {
		for (int i = 1; i < argc; i++) {
			if (!strcmp(w[i], "--reset") || !strcmp(w[i], "reset"))
				json_object_object_add(args, "reset", json_object_new_boolean(1));
			else if (!strcmp(w[i], "--prometheus") || !strcmp(w[i], "prometheus"))
				json_object_object_add(args, "prometheus", json_object_new_boolean(1));
			else if (!strcmp(w[i], "--check") || !strcmp(w[i], "check"))
				json_object_object_add(args, "check", json_object_new_boolean(1));
			else {
				json_object_put(args);
				return usage(err, errlen, "\"%s\": unknown stats option (expected --reset, --prometheus or --check)", w[i]);
			}
		}
		*req = new_req("stats", args);
		return 0;
	}
	if (!strcmp(w[0], "limits")) {
		const char *sub = argc > 1 ? w[1] : "get";
		if (!strcmp(sub, "get") || !strcmp(sub, "show")) {
			if (argc > 2) {
				json_object_put(args);
				return usage(err, errlen, "\"%s\": unexpected word after limits get", w[2]);
			}
			*req = new_req("limits get", args);
			return 0;
		}
		if (strcmp(sub, "set")) {
			json_object_put(args);
			return usage(err, errlen, "\"%s\": unknown limits command (expected get or set)", sub);
		}
		if (argc < 4 || (argc - 2) % 2) {
			json_object_put(args);
			return usage(err, errlen, "limits set needs NAME VALUE pairs");
		}
		for (int i = 2; i + 1 < argc; i += 2) {
			const struct ctl_limit_name *l = ctl_limit_by_cli(w[i]);
			uint64_t v;
			if (!l) {
				json_object_put(args);
				return usage(err, errlen, "\"%s\": unknown limit (expected timeout, mem-cap, max-frags, max-datagrams, src-share or replay-window)", w[i]);
			}
			if (ctl_parse_limit_value(l, w[i + 1], &v) || v > INT64_MAX) {
				json_object_put(args);
				return usage(err, errlen, "\"%s\": invalid value for %s (%s)", w[i + 1], l->cli, l->help);
			}
			json_object_object_add(args, l->key, json_object_new_int64((int64_t)v));
		}
		*req = new_req("limits set", args);
		return 0;
	}
	if (!strcmp(w[0], "reasm") || !strcmp(w[0], "status") || !strcmp(w[0], "monitor") ||
	    !strcmp(w[0], "ping") || !strcmp(w[0], "version")) {
		if (argc > 1) {
			json_object_put(args);
			return usage(err, errlen, "\"%s\": unexpected word after %s", w[1], w[0]);
		}
		*req = new_req(w[0], args);
		return 0;
	}
	(void)flag;
	json_object_put(args);
	return usage(err, errlen, "\"%s\": unknown command (try xdpsecctl --help)", w[0]);
}

/* ------------------------------------------------------------ replies */

static json_object *reply(json_object *id)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "v", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(r, "id", id ? json_object_get(id) : NULL);
	return r;
}

json_object *ctl_reply_ok(json_object *id, json_object *result)
{
	json_object *r = reply(id);

	json_object_object_add(r, "ok", json_object_new_boolean(1));
	json_object_object_add(r, "result", result ? result : json_object_new_object());
	return r;
}

json_object *ctl_reply_err(json_object *id, const char *code, const char *fmt, ...)
{
	json_object *r = reply(id), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", e);
	return r;
}

char *ctl_serialize(json_object *o, size_t *len)
{
	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = 0;
	*len = n + 1;
	return out;
}

json_object *ctl_parse_line(const char *buf, size_t len, char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *o;
	enum json_tokener_error je;
	size_t end;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(32);   /* nesting depth: requests are flat */
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || je != json_tokener_success) {
		if (err)
			snprintf(err, errlen, "malformed JSON: %s",
				 je == json_tokener_continue ? "incomplete" : json_tokener_error_desc(je));
		json_object_put(o);
		return NULL;
	}
	/* trailing garbage after the object (whitespace and \r allowed) */
	for (; end < len; end++) {
		if (buf[end] != ' ' && buf[end] != '\t' && buf[end] != '\r') {
			if (err)
				snprintf(err, errlen, "malformed JSON: trailing data after the object");
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* ------------------------------------------------------------ client */

int ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return usage(err, errlen, "%s: socket path too long", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return usage(err, errlen, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int e = errno;
		close(fd);
		return usage(err, errlen, "cannot connect to %s: %s%s", path, strerror(e),
			     e == ENOENT || e == ECONNREFUSED ? " (is xdpsecd running?)" : "");
	}
	return fd;
}

int ctl_send(int fd, json_object *req)
{
	size_t len, off = 0;
	char *s = ctl_serialize(req, &len);

	if (!s)
		return -ENOMEM;
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			explicit_bzero(s, len);
			free(s);
			return -e;
		}
		off += (size_t)n;
	}
	explicit_bzero(s, len);   /* may carry key material (sa add) */
	free(s);
	return 0;
}

void ctl_reader_init(struct ctl_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

void ctl_reader_free(struct ctl_reader *r)
{
	if (r->buf)
		explicit_bzero(r->buf, r->cap);
	free(r->buf);
	r->buf = NULL;
}

json_object *ctl_read_msg(struct ctl_reader *r)
{
	for (;;) {
		char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		if (nl) {
			size_t l = (size_t)(nl - r->buf);
			json_object *o = ctl_parse_line(r->buf, l, NULL, 0);
			memmove(r->buf, nl + 1, r->len - l - 1);
			r->len -= l + 1;
			if (!o) {
				errno = EPROTO;
				return NULL;
			}
			return o;
		}
		if (r->len == r->cap) {
			size_t nc = r->cap ? r->cap * 2 : 65536;
			char *nb = realloc(r->buf, nc);
			if (!nb) {
				errno = ENOMEM;
				return NULL;
			}
			r->buf = nb;
			r->cap = nc;
		}
		ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return NULL;
		}
		r->len += (size_t)n;
	}
}
