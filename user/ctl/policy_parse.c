// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* policy_parse.c - see policy_parse.h. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "policy_parse.h"
#include "sa_json_ext.h"
#include "sa_parse.h"

static int fail(char *err, size_t errlen, const char *word, const char *why)
{
	snprintf(err, errlen, "\"%s\": %s", word, why);
	return -1;
}

static int num(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' || *v > max ? -1 : 0;
}

static int proto_num(const char *s)
{
	unsigned long long v;
	const struct protoent *pe;

	if (!num(s, 255, &v))
		return (int)v;
	if (!strcmp(s, "any"))
		return 0;
	if (!strcmp(s, "ipv6-icmp") || !strcmp(s, "icmpv6"))
		return IPPROTO_ICMPV6;
	pe = getprotobyname(s);
	return pe ? pe->p_proto : -1;
}

int sel_parse_words(int argc, char *const *argv, int *i, struct xs_selector *s,
		    char *err, size_t errlen)
{
	unsigned long long v;

	while (*i + 1 < argc) {
		const char *w = argv[*i + 1], *x;

		if (strcmp(w, "src") && strcmp(w, "dst") && strcmp(w, "proto") &&
		    strcmp(w, "sport") && strcmp(w, "dport") && strcmp(w, "type") &&
		    strcmp(w, "code"))
			break;
		if (*i + 2 >= argc)
			return fail(err, errlen, w, "missing value");
		x = argv[*i + 2];
		*i += 2;
		if (!strcmp(w, "src") || !strcmp(w, "dst")) {
			struct xs_addr *a = w[0] == 's' ? &s->src : &s->dst;
			uint8_t *plen = w[0] == 's' ? &s->src_plen : &s->dst_plen;

			if (!strcmp(x, "any") || !strcmp(x, "default") || !strcmp(x, "all")) {
				memset(a, 0, sizeof(*a));
				*plen = 0;
				continue;
			}
			if (sa_prefix_parse(x, a, plen))
				return fail(err, errlen, x, "expected ADDR[/PREFIXLEN]");
			if (s->family && s->family != a->family)
				return fail(err, errlen, x, "src and dst are of different address families");
			s->family = a->family;
		} else if (!strcmp(w, "proto")) {
			int p = proto_num(x);

			if (p < 0)
				return fail(err, errlen, x, "unknown protocol");
			s->proto = (uint8_t)p;
		} else {
			if (num(x, !strcmp(w, "type") || !strcmp(w, "code") ? 255 : 65535, &v))
				return fail(err, errlen, x, "invalid number");
			if (!s->proto)
				return fail(err, errlen, w, "needs proto before it");
			if (w[0] == 's' || w[0] == 't') {   /* sport, type */
				s->sport = (uint16_t)v;
				s->sport_mask = 0xffff;
			} else {                            /* dport, code */
				s->dport = (uint16_t)v;
				s->dport_mask = 0xffff;
			}
		}
	}
	if (!s->src_plen && !s->dst_plen)
		s->family = 0;          /* match-all: either family */
	return 0;
}

static int parse_tmpl(int argc, char *const *argv, int *i, struct xs_tmpl *t,
		      char *err, size_t errlen)
{
	unsigned long long v;

	t->proto = IPPROTO_ESP;
	t->mode = XS_MODE_TRANSPORT;
	while (*i + 2 < argc) {
		const char *w = argv[*i + 1], *x = argv[*i + 2];

		if (!strcmp(w, "src") || !strcmp(w, "dst")) {
			if (sa_addr_parse(x, w[0] == 's' ? &t->src : &t->dst))
				return fail(err, errlen, x, "expected an address");
		} else if (!strcmp(w, "proto")) {
			if (strcmp(x, "esp") && strcmp(x, "ah") && strcmp(x, "comp"))
				return fail(err, errlen, x, "expected esp, ah or comp");
			t->proto = x[0] == 'e' ? IPPROTO_ESP : x[0] == 'a' ? IPPROTO_AH : IPPROTO_COMP;
		} else if (!strcmp(w, "spi") || !strcmp(w, "reqid")) {
			if (num(x, 0xffffffffull, &v))
				return fail(err, errlen, x, "invalid number");
			*(w[0] == 's' ? &t->spi : &t->reqid) = (uint32_t)v;
		} else if (!strcmp(w, "mode")) {
			if (strcmp(x, "transport") && strcmp(x, "tunnel"))
				return fail(err, errlen, x, "expected transport or tunnel");
			t->mode = x[1] == 'u' ? XS_MODE_TUNNEL : XS_MODE_TRANSPORT;
		} else if (!strcmp(w, "level")) {
			if (strcmp(x, "required") && strcmp(x, "use"))
				return fail(err, errlen, x, "expected required or use");
			t->optional = x[0] == 'u';
		} else {
			break;
		}
		*i += 2;
	}
	return 0;
}

int policy_parse(int argc, char *const *argv, bool del, struct xs_policy *p,
		 char *err, size_t errlen)
{
	unsigned long long v;
	bool have_dir = false;

	memset(p, 0, sizeof(*p));
	p->origin = XS_ORIGIN_MANUAL;
	for (int i = -1; i + 1 < argc;) {
		if (sel_parse_words(argc, argv, &i, &p->sel, err, errlen))
			return -1;
		if (i + 1 >= argc)
			break;
		const char *w = argv[++i], *x = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(w, "tmpl") && !del) {
			if (p->n_tmpl == XS_TMPL_MAX)
				return fail(err, errlen, w, "at most 6 templates");
			if (parse_tmpl(argc, argv, &i, &p->tmpl[p->n_tmpl++], err, errlen))
				return -1;
			continue;
		}
		if (!x)
			return fail(err, errlen, w, "missing value, or unknown word");
		i++;
		if (!strcmp(w, "dir")) {
			if (strcmp(x, "in"))
				return fail(err, errlen, x, "xdpsec enforces dir in only (it delivers to this host)");
			p->dir = XS_DIR_IN;
			have_dir = true;
		} else if (!strcmp(w, "priority") || !strcmp(w, "index")) {
			if (num(x, 0xffffffffull, &v))
				return fail(err, errlen, x, "invalid number");
			*(w[0] == 'p' ? &p->priority : &p->index) = (uint32_t)v;
		} else if (!strcmp(w, "action") && !del) {
			if (strcmp(x, "allow") && strcmp(x, "block"))
				return fail(err, errlen, x, "expected allow or block");
			p->action = x[0] == 'b' ? XS_ACT_BLOCK : XS_ACT_ALLOW;
		} else if (!strcmp(w, "ptype") && !strcmp(x, "main")) {
			/* the only policy type */
		} else {
			return fail(err, errlen, w, del ? "unexpected word (policy del SELECTOR dir in, or index N dir in)"
						       : "unexpected word");
		}
	}
	if (!have_dir)
		return fail(err, errlen, "dir", "missing dir in");
	return 0;
}
