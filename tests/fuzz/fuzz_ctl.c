// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_ctl.c - libFuzzer target for the control protocol (user/ctl/ctl_proto.c
 * framing and JSON, user/ctl/ctl_cmds.c commands): the bytes a client writes
 * to the control socket.
 *
 * Byte 0: bit 0 = the client is an admin (root / admin group).  The rest
 * is the stream, cut into lines as user/ctl/ctl_server.c does (newline ends a
 * request, a trailing \r is dropped, blank lines are keep-alives, a line
 * longer than CTL_MAX_REQUEST is refused); each line goes through
 * ctl_parse_line and, when it is JSON, ctl_cmds_dispatch into a
 * control-plane-only daemon (fuzz_daemon.h checks every reply).  Then the
 * client's side: every reply, serialised, is written to a file and read
 * back with ctl_read_msg, which must return the same objects in order and
 * then nothing.  The daemon is reset after each input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_daemon.h"

#define MAX_REPLIES 64

static struct xdpsecd *d;
static int rfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	d = fz_daemon_new();
	rfd = memfd_create("fuzz_ctl_replies", MFD_CLOEXEC);
	if (rfd < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *replies[MAX_REPLIES];
	unsigned nrep = 0;
	const char *s, *end, *nl;
	struct ctl_reader rd;
	off_t woff = 0;
	int admin;

	if (size < 1 || size > 4 * CTL_MAX_REQUEST)
		return 0;
	admin = data[0] & 1;
	s = (const char *)data + 1;
	end = (const char *)data + size;
	if (ftruncate(rfd, 0))
		abort();

	while (s < end && nrep < MAX_REPLIES) {
		json_object *req, *reply;
		char err[256];
		size_t len;

		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			break;              /* an unfinished line waits for more */
		len = (size_t)(nl - s);
		if (len > CTL_MAX_REQUEST)
			break;              /* the server answers E2BIG and closes */
		if (len && s[len - 1] == '\r')
			len--;
		if (len) {
			req = ctl_parse_line(s, len, err, sizeof(err));
			if (req) {
				reply = fz_dispatch(d, req, admin);
			} else {
				if (!err[0])
					abort();    /* a refusal says why */
				reply = ctl_reply_err(NULL, "EPROTO", "%s", err);
			}
			json_object_put(req);
			if (reply) {
				char *out;
				size_t olen;

				out = ctl_serialize(reply, &olen);
				if (!out || pwrite(rfd, out, olen, woff) != (ssize_t)olen)
					abort();
				woff += (off_t)olen;
				free(out);
				replies[nrep++] = reply;
			}
		}
		s = nl + 1;
	}

	/* the client reads the reply stream back, message by message */
	if (lseek(rfd, 0, SEEK_SET) != 0)
		abort();
	ctl_reader_init(&rd, rfd);
	for (unsigned i = 0; i <= nrep; i++) {
		json_object *o = ctl_read_msg(&rd);

		if (i == nrep) {
			if (o)
				abort();    /* nothing after the last reply */
			break;
		}
		if (!o || !fz_same_text(o, replies[i]))
			abort();
		json_object_put(o);
	}
	ctl_reader_free(&rd);
	for (unsigned i = 0; i < nrep; i++)
		json_object_put(replies[i]);
	fz_daemon_clear(d);
	return 0;
}
