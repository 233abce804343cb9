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

/* err gets the formatted message; returns -1 (ctl_proto.h). */
int ctl_usage(char *err, size_t errlen, const char *fmt, ...)
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
			ctl_usage(err, errlen, "\"%s\": unexpected word after sa %s", w[2], sub);
			goto out;
		}
		if (!strcmp(sub, "show"))
			sub = "list";
	} else {
		ctl_usage(err, errlen, "\"%s\": unknown sa command (expected add, del, get, list, flush, stats or count)", sub);
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
		return ctl_usage(err, errlen, "missing command");
	if (argc > 256)
		return ctl_usage(err, errlen, "too many words");
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
				return ctl_usage(err, errlen, "\"%s\": unknown stats option (expected --reset, --prometheus or --check)", w[i]);
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
				return ctl_usage(err, errlen, "\"%s\": unexpected word after limits get", w[2]);
			}
			*req = new_req("limits get", args);
			return 0;
		}
		if (strcmp(sub, "set")) {
			json_object_put(args);
			return ctl_usage(err, errlen, "\"%s\": unknown limits command (expected get or set)", sub);
		}
		if (argc < 4 || (argc - 2) % 2) {
			json_object_put(args);
			return ctl_usage(err, errlen, "limits set needs NAME VALUE pairs");
		}
		for (int i = 2; i + 1 < argc; i += 2) {
			const struct ctl_limit_name *l = ctl_limit_by_cli(w[i]);
			uint64_t v;
			if (!l) {
				json_object_put(args);
				return ctl_usage(err, errlen, "\"%s\": unknown limit (expected timeout, mem-cap, max-frags, max-datagrams, src-share or replay-window)", w[i]);
			}
			if (ctl_parse_limit_value(l, w[i + 1], &v) || v > INT64_MAX) {
				json_object_put(args);
				return ctl_usage(err, errlen, "\"%s\": invalid value for %s (%s)", w[i + 1], l->cli, l->help);
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
			return ctl_usage(err, errlen, "\"%s\": unexpected word after %s", w[1], w[0]);
		}
		*req = new_req(w[0], args);
		return 0;
	}
	(void)flag;
	json_object_put(args);
	return ctl_usage(err, errlen, "\"%s\": unknown command (try xdpsecctl --help)", w[0]);
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
		return ctl_usage(err, errlen, "%s: socket path too long", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_usage(err, errlen, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int e = errno;
		close(fd);
		return ctl_usage(err, errlen, "cannot connect to %s: %s%s", path, strerror(e),
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
