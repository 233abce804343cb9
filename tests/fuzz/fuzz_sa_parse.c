// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_sa_parse.c - libFuzzer target for the `ip xfrm` grammar
 * (user/ctl/sa_parse.c) and the requests xdpsecctl builds from words
 * (ctl_build_request in user/ctl/ctl_proto.c): one line of a batch file
 * (xdpsecctl -b, xdpsecd -c).
 *
 * Byte 0: bit 0 --keys, bit 1 admin.  The rest is the line:
 *  - sa_tokenize splits it as a shell would (at most 256 words, each a
 *    piece of the line);
 *  - "sa add ..." words: sa_parse_add; an accepted SA validates, and its
 *    JSON (ctl_sa_to_json, keys included) decodes back (ctl_sa_from_json)
 *    to the same SA and the same JSON; "sa del/get" words: sa_parse_id;
 *  - ctl_build_request on the words; an accepted request serialises to
 *    one line that parses back to the same object, and goes through
 *    ctl_cmds_dispatch of a control-plane-only daemon (fuzz_daemon.h
 *    checks the reply), as xdpsecctl's request would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_daemon.h"
#include "sa_parse.h"

#define MAX_WORDS 256

static struct xdpsecd *d;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	d = fz_daemon_new();
	return 0;
}

/* Same SA: every field the JSON carries, compared through the JSON. */
static void sa_roundtrip(const struct sa_parse_result *r)
{
	struct sa_parse_result back;
	json_object *j1, *j2;
	char err[256];

	if (sa_config_validate(&r->cfg, err, sizeof(err)))
		abort();
	j1 = ctl_sa_to_json(&r->cfg, true);
	if (!r->has_replay_window)
		json_object_object_del(j1, "replay_window");
	if (ctl_sa_from_json(j1, &back, err, sizeof(err)))
		abort();
	if (back.has_replay_window != r->has_replay_window ||
	    back.cfg.spi != r->cfg.spi || back.cfg.alg != r->cfg.alg ||
	    back.cfg.enc_key_len != r->cfg.enc_key_len ||
	    memcmp(back.cfg.enc_key, r->cfg.enc_key, r->cfg.enc_key_len) ||
	    back.cfg.auth_key_len != r->cfg.auth_key_len ||
	    memcmp(back.cfg.auth_key, r->cfg.auth_key, r->cfg.auth_key_len))
		abort();
	j2 = ctl_sa_to_json(&back.cfg, true);
	if (!back.has_replay_window)
		json_object_object_del(j2, "replay_window");
	if (!json_object_equal(j1, j2))
		abort();
	json_object_put(j1);
	json_object_put(j2);
	explicit_bzero(&back, sizeof(back));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line, *argv[MAX_WORDS], err[600];
	struct ctl_req_opts o;
	struct sa_parse_result r;
	json_object *req;
	int argc, admin;

	if (size < 1 || size > 8192)
		return 0;
	o.keys = data[0] & 1;
	admin = (data[0] >> 1) & 1;
	line = malloc(size);
	if (!line)
		abort();
	memcpy(line, data + 1, size - 1);
	line[size - 1] = 0;

	argc = sa_tokenize(line, argv, MAX_WORDS, err, sizeof(err));
	if (argc < 0) {
		if (!err[0])
			abort();
		goto out;
	}
	if (argc > MAX_WORDS)
		abort();
	for (int i = 0; i < argc; i++)
		if (!argv[i] || argv[i] < line || argv[i] >= line + size)
			abort();
	if (argc == 0)
		goto out;

	if (argc >= 2 && !strcmp(argv[0], "sa") && !strcmp(argv[1], "add")) {
		err[0] = 0;
		if (!sa_parse_add(argc - 2, argv + 2, &r, err, sizeof(err)))
			sa_roundtrip(&r);
		else if (!err[0])
			abort();
		explicit_bzero(&r, sizeof(r));
	} else if (argc >= 2 && !strcmp(argv[0], "sa") &&
		   (!strcmp(argv[1], "del") || !strcmp(argv[1], "get"))) {
		err[0] = 0;
		if (sa_parse_id(argc - 2, argv + 2, &r, err, sizeof(err)) && !err[0])
			abort();
	}

	err[0] = 0;
	if (ctl_build_request(argc, argv, &o, &req, err, sizeof(err))) {
		if (!err[0])
			abort();
	} else {
		size_t len;
		char *s = ctl_serialize(req, &len);
		json_object *back, *reply;

		if (!s || !len || s[len - 1] != '\n' || memchr(s, '\n', len - 1))
			abort();
		back = ctl_parse_line(s, len - 1, NULL, 0);
		if (!back || !json_object_equal(back, req))
			abort();
		explicit_bzero(s, len);
		free(s);
		reply = fz_dispatch(d, back, admin);
		json_object_put(reply);
		json_object_put(back);
		json_object_put(req);
		fz_daemon_clear(d);
	}
out:
	explicit_bzero(line, size);
	free(line);
	return 0;
}
