// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sa_json.c - an SA as the control protocol's JSON (docs/control.md):
 * ctl_sa_to_json for replies and the state file, ctl_sa_from_json and
 * ctl_sa_id_from_json for requests; checked field by field, every error
 * naming the field.  The selector, lifetimes and origin are sa_json_ext.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctl_proto.h"
#include "sa_json_ext.h"

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
		return req ? ctl_usage(err, errlen, "\"%s\": missing", k) : 0;
	}
	if (!json_object_is_type(f, json_type_string))
		return ctl_usage(err, errlen, "\"%s\": must be a string", k);
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
		return present ? 0 : ctl_usage(err, errlen, "\"%s\": missing", k);
	if (!json_object_is_type(f, json_type_int))
		return ctl_usage(err, errlen, "\"%s\": must be an integer", k);
	errno = 0;
	x = json_object_get_int64(f);
	if (x < 0 || (uint64_t)x > max || errno)
		return ctl_usage(err, errlen, "\"%s\": out of range (0..%" PRIu64 ")", k, max);
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
		return ctl_usage(err, errlen, "\"sa\": must be an object");
	if (get_str(o, "dst", &s, true, err, errlen))
		return -1;
	if (sa_addr_parse(s, &c->dst))
		return ctl_usage(err, errlen, "\"dst\": invalid address \"%s\"", s);
	if (get_str(o, "src", &s, false, err, errlen))
		return -1;
	if (s) {
		if (sa_addr_parse(s, &c->src))
			return ctl_usage(err, errlen, "\"src\": invalid address \"%s\"", s);
		r->has_src = true;
	}
	if (get_str(o, "proto", &s, false, err, errlen))
		return -1;
	if (s && strcmp(s, "esp"))
		return ctl_usage(err, errlen, "\"proto\": only \"esp\" is supported");
	c->proto = IPPROTO_ESP;
	if (get_uint(o, "spi", UINT32_MAX, &x, NULL, err, errlen))
		return -1;
	if (x == 0)
		return ctl_usage(err, errlen, "\"spi\": 0 is reserved");
	c->spi = (uint32_t)x;
	return 0;
}

static int get_key(json_object *o, const char *field, uint8_t *out, size_t max,
		   uint8_t *len, char *err, size_t errlen)
{
	const char *s;
	int n;

	if (get_str(o, "key", &s, true, err, errlen))
		return ctl_usage(err, errlen, "\"%s.key\": missing or not a string", field);
	/* "0x": the empty key of ecb(cipher_null) (sa_config_validate refuses
	 * it wherever a key is needed) */
	n = !strcmp(s, "0x") ? 0 : sa_hex_decode(s, out, max);
	if (n < 0)
		return ctl_usage(err, errlen, "\"%s.key\": expected 0x and at most %zu bytes of hex", field, max);
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
		return ctl_usage(err, errlen, "\"src\": missing");
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
		return ctl_usage(err, errlen, "\"mode\": expected \"transport\" or \"tunnel\"");

	if (get_obj(o, "aead", &a)) {
		if (get_str(a, "name", &s, true, err, errlen))
			return -1;
		k = sa_alg_from_name(s);
		if (k < 0 || !sa_alg_is_aead((unsigned)k))
			return ctl_usage(err, errlen, "\"aead.name\": unsupported \"%s\"", s);
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
			return ctl_usage(err, errlen, "\"enc.name\": unsupported \"%s\"", s);
		c->alg = (uint8_t)k;
		if (get_key(a, "enc", c->enc_key, XS_MAX_ENC_KEY, &c->enc_key_len, err, errlen))
			return -1;
		if (!get_obj(o, "auth", &a))
			return ctl_usage(err, errlen, "\"auth\": missing (encryption-only ESP is not supported)");
		if (get_str(a, "name", &s, true, err, errlen))
			return -1;
		if ((k = sa_auth_from_name(s)) < 0)
			return ctl_usage(err, errlen, "\"auth.name\": unsupported \"%s\"", s);
		c->auth = (uint8_t)k;
		if (get_key(a, "auth", c->auth_key, XS_MAX_AUTH_KEY, &c->auth_key_len, err, errlen))
			return -1;
		if (get_uint(a, "trunc_bits", 0xffff, &x, NULL, err, errlen))
			return -1;
		c->icv_bits = (uint16_t)x;
	} else {
		return ctl_usage(err, errlen, "\"aead\" or \"enc\"+\"auth\": missing");
	}
	if (get_uint(o, "replay_window", UINT32_MAX, &x, &have, err, errlen))
		return -1;
	c->replay_window = have ? (uint32_t)x : 0;
	r->has_replay_window = have;
	if (json_object_object_get_ex(o, "esn", &a)) {
		if (!json_object_is_type(a, json_type_boolean))
			return ctl_usage(err, errlen, "\"esn\": must be true or false");
		c->esn = json_object_get_boolean(a);
	}
	if (get_obj(o, "encap", &a)) {
		if (get_str(a, "type", &s, false, err, errlen))
			return -1;
		if (s && strcmp(s, "espinudp"))
			return ctl_usage(err, errlen, "\"encap.type\": only \"espinudp\" is supported");
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
