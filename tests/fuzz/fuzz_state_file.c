// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_state_file.c - libFuzzer target for the state-file loader
 * (user/daemon/state_file.c): the input is the file's content.
 *
 * It is written (mode 0600) to a private directory on /dev/shm and loaded
 * by state_file_load into a control-plane-only daemon (fuzz_daemon.h).
 * Whatever the content: no crash, a refusal says why, and when the load
 * succeeded the state survives a round trip -- state_file_save writes it,
 * a second fresh daemon loads that file, and both list the same SAs (keys
 * and replay positions included) and the same limits.  A load that fails
 * may have applied part of the file (SAs before the bad one stay, as in
 * the daemon), so only successful loads are compared.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_daemon.h"
#include "state_file.h"

static struct xdpsecd *d, *d2;
static char dir[64], path[96];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	d = fz_daemon_new();
	d2 = fz_daemon_new();
	snprintf(dir, sizeof(dir), "/dev/shm/xdpsec-fuzz-state-%d", (int)getpid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		abort();
	snprintf(path, sizeof(path), "%s/state.json", dir);
	atexit(cleanup);
	return 0;
}

/* Everything a daemon would persist, as JSON: SAs with keys, limits. */
static json_object *snapshot(struct xdpsecd *x)
{
	json_object *req = json_object_new_object(), *args = json_object_new_object(), *r, *o;

	json_object_object_add(args, "keys", json_object_new_boolean(1));
	json_object_object_add(req, "cmd", json_object_new_string("sa list"));
	json_object_object_add(req, "args", args);
	r = fz_dispatch(x, req, 1);
	json_object_put(req);
	o = json_object_new_object();
	json_object_object_add(o, "sas", json_object_get(json_object_object_get(
		json_object_object_get(r, "result"), "sas")));
	json_object_object_add(o, "limits", ctl_cmds_limits_json(&x->limits));
	json_object_put(r);
	return o;
}

static void write_file(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	int rc;

	if (size > 1 << 20)
		return 0;
	{
		/* limits that only size memory (fuzz_daemon.h): not applied;
		 * parsed as state_file_load parses (NUL-terminated) */
		char *txt = malloc(size + 1);
		json_object *root, *l;
		int big = 0;

		if (!txt)
			abort();
		memcpy(txt, data, size);
		txt[size] = 0;
		root = json_tokener_parse(txt);
		free(txt);
		if (root && json_object_is_type(root, json_type_object) &&
		    json_object_object_get_ex(root, "limits", &l))
			big = fz_limits_too_big(l);
		json_object_put(root);
		if (big)
			return 0;
	}
	write_file(data, size);
	d->state_path = path;
	rc = state_file_load(d, err, sizeof(err));
	if (rc > 0 || (rc < 0 && !err[0]))
		abort();
	if (rc == 0) {
		json_object *a, *b;

		err[0] = 0;
		if (state_file_save(d, err, sizeof(err)))
			abort();
		d2->state_path = path;
		if (state_file_load(d2, err, sizeof(err)))
			abort();
		a = snapshot(d);
		b = snapshot(d2);
		if (!json_object_equal(a, b))
			abort();
		json_object_put(a);
		json_object_put(b);
	}
	/* the reset below must not write the file */
	d->state_path = NULL;
	d2->state_path = NULL;
	fz_daemon_clear(d);
	fz_daemon_clear(d2);
	return 0;
}
