// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sa_json_ext.c - see sa_json_ext.h. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sa_json_ext.h"
#include "sa_parse.h"

static int fail(char *err, size_t errlen, const char *msg, const char *field)
{
	snprintf(err, errlen, "\"%s\": %s", field, msg);
	return -1;
}

int sa_prefix_parse(const char *s, struct xs_addr *a, uint8_t *plen)
{
	char buf[64], *end;
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long v;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (sa_addr_parse(buf, a))
		return -1;
	if (!slash) {
		*plen = a->family == AF_INET ? 32 : 128;
		return 0;
	}
	v = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || v > (a->family == AF_INET ? 32u : 128u))
		return -1;
	*plen = (uint8_t)v;
	return 0;
}

static json_object *prefix_json(const struct xs_addr *a, unsigned family, unsigned plen)
{
	char buf[INET6_ADDRSTRLEN + 8], s[INET6_ADDRSTRLEN];
	struct xs_addr x = *a;

	x.family = (uint8_t)(family ? family : AF_INET);
	snprintf(buf, sizeof(buf), "%s/%u", sa_addr_str(&x, s, sizeof(s)), plen);
	return json_object_new_string(buf);
}

json_object *sa_sel_to_json(const struct xs_selector *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "src", prefix_json(&s->src, s->family, s->src_plen));
	json_object_object_add(o, "dst", prefix_json(&s->dst, s->family, s->dst_plen));
	if (s->proto)
		json_object_object_add(o, "proto", json_object_new_int(s->proto));
	if (s->sport_mask) {
		json_object_object_add(o, "sport", json_object_new_int(s->sport));
		json_object_object_add(o, "sport_mask", json_object_new_int(s->sport_mask));
	}
	if (s->dport_mask) {
		json_object_object_add(o, "dport", json_object_new_int(s->dport));
		json_object_object_add(o, "dport_mask", json_object_new_int(s->dport_mask));
	}
	return o;
}

static int get_u(json_object *o, const char *k, uint64_t max, uint64_t *v, char *err, size_t errlen)
{
	json_object *x;
	int64_t i;

	if (!json_object_object_get_ex(o, k, &x))
		return 0;
	if (!json_object_is_type(x, json_type_int) || (i = json_object_get_int64(x)) < 0 ||
	    (uint64_t)i > max)
		return fail(err, errlen, "must be a number in range", k);
	*v = (uint64_t)i;
	return 0;
}

int sa_sel_from_json(json_object *o, struct xs_selector *s, char *err, size_t errlen)
{
	static const char *const k[2] = { "src", "dst" };
	uint64_t v;

	memset(s, 0, sizeof(*s));
	if (!o)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "must be an object", "sel");
	for (int i = 0; i < 2; i++) {
		struct xs_addr *a = i ? &s->dst : &s->src;
		uint8_t *plen = i ? &s->dst_plen : &s->src_plen;
		json_object *x;

		if (!json_object_object_get_ex(o, k[i], &x))
			continue;
		if (!json_object_is_type(x, json_type_string) ||
		    sa_prefix_parse(json_object_get_string(x), a, plen))
			return fail(err, errlen, "expected ADDR/PREFIXLEN", k[i]);
		if (s->family && s->family != a->family)
			return fail(err, errlen, "src and dst of different families", "sel");
		s->family = a->family;
	}
	/* a match-all selector is family-free (src 0.0.0.0/0 dst 0.0.0.0/0
	 * matches IPv6 as well, as the SA add path always accepted) */
	if (!s->src_plen && !s->dst_plen)
		s->family = 0;
	v = 0;
	if (get_u(o, "proto", 255, &v, err, errlen))
		return -1;
	s->proto = (uint8_t)v;
	v = 0;
	if (get_u(o, "sport", 65535, &v, err, errlen))
		return -1;
	s->sport = (uint16_t)v;
	v = json_object_object_get_ex(o, "sport", NULL) ? 65535 : 0;
	if (get_u(o, "sport_mask", 65535, &v, err, errlen))
		return -1;
	s->sport_mask = (uint16_t)v;
	v = 0;
	if (get_u(o, "dport", 65535, &v, err, errlen))
		return -1;
	s->dport = (uint16_t)v;
	v = json_object_object_get_ex(o, "dport", NULL) ? 65535 : 0;
	if (get_u(o, "dport_mask", 65535, &v, err, errlen))
		return -1;
	s->dport_mask = (uint16_t)v;
	return 0;
}

#define LIMITS(X) X(byte_soft, soft_bytes) X(byte_hard, hard_bytes) \
	X(packet_soft, soft_packets) X(packet_hard, hard_packets) \
	X(time_soft, soft_add_s) X(time_hard, hard_add_s) \
	X(time_use_soft, soft_use_s) X(time_use_hard, hard_use_s)

void sa_json_ext_put(json_object *o, const struct xs_sa_config *c)
{
	json_object *l = json_object_new_object();

	json_object_object_add(o, "origin", json_object_new_string(
		c->origin == XS_ORIGIN_XFRM ? "xfrm" : "manual"));
	if (!sa_sel_is_any(&c->sel))
		json_object_object_add(o, "sel", sa_sel_to_json(&c->sel));
#define PUT(k, f) if (c->lft.f) json_object_object_add(l, #k, json_object_new_int64((int64_t)c->lft.f));
	LIMITS(PUT)
#undef PUT
	if (json_object_object_length(l))
		json_object_object_add(o, "limits", l);
	else
		json_object_put(l);
}

int sa_json_ext_get(json_object *o, struct xs_sa_config *c, char *err, size_t errlen)
{
	json_object *x;

	c->origin = XS_ORIGIN_MANUAL;
	if (sa_sel_from_json(json_object_object_get_ex(o, "sel", &x) ? x : NULL, &c->sel, err, errlen))
		return -1;
	memset(&c->lft, 0, sizeof(c->lft));
	if (json_object_object_get_ex(o, "limits", &x)) {
		if (!json_object_is_type(x, json_type_object))
			return fail(err, errlen, "must be an object", "limits");
#define GET(k, f) if (get_u(x, #k, INT64_MAX, &c->lft.f, err, errlen)) return -1;
		LIMITS(GET)
#undef GET
	}
	return 0;
}

/* ------------------------------------------------------------ policies */

static const char *const dirs[] = { "in", "out", "fwd" };

json_object *spd_policy_to_json(const struct xs_policy *p)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char buf[INET6_ADDRSTRLEN];

	json_object_object_add(o, "sel", sa_sel_to_json(&p->sel));
	json_object_object_add(o, "dir", json_object_new_string(p->dir <= 2 ? dirs[p->dir] : "?"));
	json_object_object_add(o, "priority", json_object_new_int64(p->priority));
	json_object_object_add(o, "index", json_object_new_int64(p->index));
	json_object_object_add(o, "action", json_object_new_string(p->action == XS_ACT_BLOCK ? "block" : "allow"));
	json_object_object_add(o, "origin", json_object_new_string(p->origin == XS_ORIGIN_XFRM ? "xfrm" : "manual"));
	for (unsigned i = 0; i < p->n_tmpl; i++) {
		const struct xs_tmpl *t = &p->tmpl[i];
		json_object *j = json_object_new_object();

		if (t->src.family)
			json_object_object_add(j, "src", json_object_new_string(sa_addr_str(&t->src, buf, sizeof(buf))));
		if (t->dst.family)
			json_object_object_add(j, "dst", json_object_new_string(sa_addr_str(&t->dst, buf, sizeof(buf))));
		json_object_object_add(j, "proto", json_object_new_string(
			t->proto == IPPROTO_ESP ? "esp" : t->proto == IPPROTO_AH ? "ah" : "comp"));
		if (t->spi)
			json_object_object_add(j, "spi", json_object_new_int64(t->spi));
		json_object_object_add(j, "reqid", json_object_new_int64(t->reqid));
		json_object_object_add(j, "mode", json_object_new_string(sa_mode_name(t->mode)));
		json_object_object_add(j, "level", json_object_new_string(t->optional ? "use" : "required"));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "tmpl", arr);
	return o;
}

static int get_s(json_object *o, const char *k, const char **v)
{
	json_object *x;

	*v = NULL;
	if (!json_object_object_get_ex(o, k, &x))
		return 0;
	if (!json_object_is_type(x, json_type_string))
		return -1;
	*v = json_object_get_string(x);
	return 0;
}

int spd_policy_from_json(json_object *o, struct xs_policy *p, char *err, size_t errlen)
{
	json_object *x, *arr;
	const char *s;
	uint64_t v;

	memset(p, 0, sizeof(*p));
	if (!o || !json_object_is_type(o, json_type_object))
		return fail(err, errlen, "missing or not an object", "policy");
	if (sa_sel_from_json(json_object_object_get_ex(o, "sel", &x) ? x : NULL, &p->sel, err, errlen))
		return -1;
	if (get_s(o, "dir", &s) || !s)
		return fail(err, errlen, "expected in, out or fwd", "dir");
	for (p->dir = 0; p->dir < 3 && strcmp(dirs[p->dir], s); p->dir++)
		;
	if (p->dir == 3)
		return fail(err, errlen, "expected in, out or fwd", "dir");
	if (get_s(o, "action", &s) || (s && strcmp(s, "allow") && strcmp(s, "block")))
		return fail(err, errlen, "expected allow or block", "action");
	p->action = s && !strcmp(s, "block") ? XS_ACT_BLOCK : XS_ACT_ALLOW;
	v = 0;
	if (get_u(o, "priority", UINT32_MAX, &v, err, errlen))
		return -1;
	p->priority = (uint32_t)v;
	v = 0;
	if (get_u(o, "index", UINT32_MAX, &v, err, errlen))
		return -1;
	p->index = (uint32_t)v;
	p->origin = XS_ORIGIN_MANUAL;
	if (!json_object_object_get_ex(o, "tmpl", &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > XS_TMPL_MAX)
		return fail(err, errlen, "must be an array of at most 6 templates", "tmpl");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *j = json_object_array_get_idx(arr, i);
		struct xs_tmpl *t = &p->tmpl[i];

		if (!json_object_is_type(j, json_type_object))
			return fail(err, errlen, "each template must be an object", "tmpl");
		if (get_s(j, "src", &s) || (s && sa_addr_parse(s, &t->src)))
			return fail(err, errlen, "bad address", "tmpl.src");
		if (get_s(j, "dst", &s) || (s && sa_addr_parse(s, &t->dst)))
			return fail(err, errlen, "bad address", "tmpl.dst");
		if (get_s(j, "proto", &s) || (s && strcmp(s, "esp") && strcmp(s, "ah") && strcmp(s, "comp")))
			return fail(err, errlen, "expected esp, ah or comp", "tmpl.proto");
		t->proto = !s || !strcmp(s, "esp") ? IPPROTO_ESP : !strcmp(s, "ah") ? IPPROTO_AH : IPPROTO_COMP;
		if (get_s(j, "mode", &s) || (s && strcmp(s, "transport") && strcmp(s, "tunnel")))
			return fail(err, errlen, "expected transport or tunnel", "tmpl.mode");
		t->mode = s && !strcmp(s, "tunnel") ? XS_MODE_TUNNEL : XS_MODE_TRANSPORT;
		if (get_s(j, "level", &s) || (s && strcmp(s, "required") && strcmp(s, "use")))
			return fail(err, errlen, "expected required or use", "tmpl.level");
		t->optional = s && !strcmp(s, "use");
		v = 0;
		if (get_u(j, "spi", UINT32_MAX, &v, err, errlen))
			return -1;
		t->spi = (uint32_t)v;
		v = 0;
		if (get_u(j, "reqid", UINT32_MAX, &v, err, errlen))
			return -1;
		t->reqid = (uint32_t)v;
	}
	p->n_tmpl = (uint8_t)json_object_array_length(arr);
	return 0;
}
