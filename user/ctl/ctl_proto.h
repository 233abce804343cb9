/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl_proto.h - the control socket's wire protocol, shared by xdpsecd and
 * xdpsecctl.  Described for operators in docs/control.md.
 *
 * Framing: one JSON object per line (newline-delimited JSON).  json-c never
 * emits a raw newline inside a value (strings escape it), so a newline
 * always ends a message: replies can never be split ambiguously.
 *
 *   request : {"v":1, "id":N, "cmd":"sa add", "args":{...}}
 *   reply   : {"v":1, "id":N, "ok":true,  "result":{...}}
 *             {"v":1, "id":N, "ok":false, "error":{"code":"EPERM","message":"..."}}
 *   event   : {"v":1, "id":N, "event":{"type":"sa_added","time":..., ...}}
 *             (after a successful "monitor" reply, until the client closes)
 *
 * id is echoed verbatim (any JSON scalar; null when the request could not be
 * parsed).  A request line longer than CTL_MAX_REQUEST is answered with an
 * error and the connection is closed.
 */
#ifndef XDPSEC_CTL_PROTO_H
#define XDPSEC_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "sa_config.h"
#include "sa_parse.h"

#define CTL_PROTO_VERSION   1
#define CTL_MAX_REQUEST     (64 * 1024)
#define CTL_DEFAULT_SOCKET  "/run/xdpsec/xdpsecd.sock"
#define CTL_DEFAULT_STATE   "/var/lib/xdpsec/state.json"

/* Request construction from command-line words (xdpsecctl, batches, -c).
 * argv[0] is the command ("sa", "stats", ...).  Returns 0, or -1 with a
 * usage message in err.  `keys` asks for key material in sa get/list. */
struct ctl_req_opts {
	bool keys;
};
int ctl_build_request(int argc, char *const *argv, const struct ctl_req_opts *o,
		      json_object **req, char *err, size_t errlen);

/* err gets the formatted message; returns -1. */
int ctl_usage(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* SA <-> JSON (sa_json.c; see docs/control.md for the fields). */
json_object *ctl_sa_to_json(const struct xs_sa_config *c, bool keys);
/* Full SA (for add); keys required.  has_replay_window tells whether the
 * object carried "replay_window". Returns 0 or -1 with err. */
int ctl_sa_from_json(json_object *o, struct sa_parse_result *r, char *err, size_t errlen);
/* SA id (dst, spi, proto; src optional) for del/get. */
int ctl_sa_id_from_json(json_object *o, struct sa_parse_result *r, char *err, size_t errlen);

/* Replies. */
json_object *ctl_reply_ok(json_object *id, json_object *result);
json_object *ctl_reply_err(json_object *id, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Serialised as one line, newline included; returns a malloc'ed string. */
char *ctl_serialize(json_object *o, size_t *len);

/* One framed message (without its newline) -> JSON; NULL with err set when
 * malformed or followed by anything but whitespace. */
json_object *ctl_parse_line(const char *buf, size_t len, char *err, size_t errlen);

/* Client side: connect, send one request, read lines. */
int ctl_connect(const char *path, char *err, size_t errlen);
int ctl_send(int fd, json_object *req);
struct ctl_reader {
	int fd;
	char *buf;
	size_t len, cap;
};
void ctl_reader_init(struct ctl_reader *r, int fd);
void ctl_reader_free(struct ctl_reader *r);
/* Next message, or NULL on EOF/error (errno set; EPROTO for bad JSON). */
json_object *ctl_read_msg(struct ctl_reader *r);

/* Limit names as the CLI spells them <-> JSON keys. */
struct ctl_limit_name {
	const char *cli;      /* "timeout"                                  */
	const char *key;      /* "reasm_timeout_ms"                         */
	const char *unit;     /* "ms", "bytes", "", "%", "packets"          */
	const char *help;
};
extern const struct ctl_limit_name ctl_limit_names[];
const struct ctl_limit_name *ctl_limit_by_cli(const char *cli);
/* "30s", "500ms", "4M", "64k", plain numbers; -1 when invalid. */
int ctl_parse_limit_value(const struct ctl_limit_name *l, const char *s, uint64_t *v);

/* ---- The control commands, defined once.
 * The daemon's dispatch (ctl_cmds.c: one handler per entry), the CLI's
 * printing (xdpsecctl.c: one printer per entry) and the bash completion
 * (generated from this list by `make`: packaging/gen_completion.c) all
 * come from it.
 * X(id, name, admin, words, help)
 *   admin  CTL_OPEN; CTL_ADMIN: needs root or the admin group;
 *          CTL_ADMIN_KEYS: needs it only when asked for key material
 *   words  what completion offers after the command ("sa add" + words)
 *   help   one line; commands with "" are not offered by completion */
#define CTL_CMD_LIST(X) \
	X(PING, "ping", CTL_OPEN, "", "") \
	X(VERSION, "version", CTL_OPEN, "", "") \
	X(SA_ADD, "sa add", CTL_ADMIN, \
	  "src dst proto spi reqid mode aead enc auth-trunc auth encap replay-window flag sel limit", \
	  "add an inbound SA") \
	X(SA_DEL, "sa del", CTL_ADMIN, "src dst proto spi --keys", "delete an SA") \
	X(SA_GET, "sa get", CTL_ADMIN_KEYS, "src dst proto spi --keys", "one SA and its counters") \
	X(SA_LIST, "sa list", CTL_ADMIN_KEYS, "--keys", "every SA with its counters") \
	X(SA_STATS, "sa stats", CTL_OPEN, "src dst proto spi --keys", "per-SA counters in columns") \
	X(SA_COUNT, "sa count", CTL_OPEN, "", "how many SAs, of how many") \
	X(SA_FLUSH, "sa flush", CTL_ADMIN, "", "delete every SA") \
	X(STATS, "stats", CTL_OPEN, "--reset --prometheus --check", \
	  "counters: global, per branch, per drop reason, each stage's balance") \
	X(REASM, "reasm", CTL_OPEN, "", "datagrams being reassembled") \
	X(STATUS, "status", CTL_OPEN, "", "interfaces, workers, uptime, versions, features") \
	X(LIMITS_GET, "limits get", CTL_OPEN, "", "reassembly limits and the default replay window") \
	X(LIMITS_SET, "limits set", CTL_ADMIN, \
	  "timeout mem-cap max-frags max-datagrams src-share replay-window", "change limits") \
	X(POLICY_ADD, "policy add", CTL_ADMIN, \
	  "src dst proto sport dport type code dir priority index action ptype tmpl", \
	  "add an inbound policy (ip xfrm policy words, dir in)") \
	X(POLICY_DEL, "policy del", CTL_ADMIN, "src dst proto sport dport type code dir index", \
	  "delete a manual policy") \
	X(POLICY_LIST, "policy list", CTL_OPEN, "", "every policy of the inbound SPD") \
	X(POLICY_FLUSH, "policy flush", CTL_ADMIN, "", "delete every manual policy") \
	X(MONITOR, "monitor", CTL_OPEN, "", "print events until interrupted")

enum ctl_admin { CTL_OPEN, CTL_ADMIN, CTL_ADMIN_KEYS };

enum ctl_cmd_id {
#define CTL_X(id, name, admin, words, help) CTL_CMD_##id,
	CTL_CMD_LIST(CTL_X)
#undef CTL_X
	CTL_CMD__MAX
};

struct ctl_cmd {
	const char *name;
	enum ctl_admin admin;
	const char *words;
	const char *help;
};
extern const struct ctl_cmd ctl_cmd_table[CTL_CMD__MAX];
/* The command named `name` ("sa add"), or -1. */
int ctl_cmd_find(const char *name);

#endif
