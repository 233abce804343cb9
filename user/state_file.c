// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * state_file.c - persisted SAs and limits (see state_file.h).
 *
 *   {"v":1, "saved":UNIX_TIME, "limits":{...},
 *    "sas":[{<SA as in the protocol, keys included>, "replay_top":N}, ...]}
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "log.h"
#include "sa_table.h"
#include "state_file.h"

struct save_arg {
	json_object *arr;
	uint64_t replay_sum;
};

static int save_cb(uint32_t index, const struct xs_sa_config *cfg,
		   const struct sa_stats *st, void *arg)
{
	struct save_arg *s = arg;
	json_object *o = ctl_sa_to_json(cfg, true);

	(void)index;
	json_object_object_add(o, "replay_top", json_object_new_int64((int64_t)st->replay_top));
	json_object_array_add(s->arr, o);
	s->replay_sum += st->replay_top;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* mkdir -p for the state directory, 0700: it holds key material. */
static void make_dirs(const char *path)
{
	char *dup = strdup(path), *p;

	if (!dup)
		return;
	for (p = dup + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(dup, 0700);
		*p = '/';
	}
	free(dup);
}

int state_file_save(struct xdpsecd *d, char *err, size_t errlen)
{
	struct save_arg s = { NULL, 0 };
	json_object *root;
	char tmp[4096], *dir;
	const char *txt;
	size_t len;
	int fd, rc = 0, dfd;

	if (!d->state_path)
		return 0;
	s.arr = json_object_new_array();     /* after the check: it leaked (ASan) */
	root = json_object_new_object();
	json_object_object_add(root, "v", json_object_new_int(STATE_FILE_VERSION));
	json_object_object_add(root, "saved", json_object_new_int64(time(NULL)));
	json_object_object_add(root, "limits", ctl_cmds_limits_json(&d->limits));
	sa_table_walk(d->sat, save_cb, &s);
	json_object_object_add(root, "sas", s.arr);
	txt = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY |
						JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	make_dirs(d->state_path);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", d->state_path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fchmod(fd, 0600);          /* whatever the umask */
	if ((rc = write_all(fd, txt, len)) || (rc = write_all(fd, "\n", 1)) ||
	    (fsync(fd) && (rc = -errno))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, d->state_path)) {
		rc = -errno;
		snprintf(err, errlen, "rename %s: %s", d->state_path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* make the rename itself durable */
	snprintf(tmp, sizeof(tmp), "%s", d->state_path);
	dir = dirname(tmp);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	d->state_replay_sum = s.replay_sum;
	d->state_saves++;
out:
	/* the serialised text holds keys: wipe it before json-c frees it */
	explicit_bzero((char *)txt, len);
	json_object_put(root);
	if (rc)
		d->state_save_errors++;
	return rc;
}

int state_file_commit(struct xdpsecd *d, char *err, size_t errlen)
{
	char msg[512];
	int rc;

	if (d->loading || !d->state_path)
		return 0;
	rc = state_file_save(d, msg, sizeof(msg));
	if (rc)
		snprintf(err, errlen, "state file not written: %s", msg);
	return rc;
}

void state_file_changed(struct xdpsecd *d)
{
	char err[600];

	if (state_file_commit(d, err, sizeof(err)))
		pr_warn("%s\n", err);
}

static int sum_cb(uint32_t index, const struct xs_sa_config *cfg,
		  const struct sa_stats *st, void *arg)
{
	(void)index; (void)cfg;
	*(uint64_t *)arg += st->replay_top;
	return 0;
}

void state_file_tick(struct xdpsecd *d)
{
	uint64_t sum = 0;

	if (d->loading || !d->state_path)
		return;
	sa_table_walk(d->sat, sum_cb, &sum);
	if (sum != d->state_replay_sum)
		state_file_changed(d);
}

int state_file_load(struct xdpsecd *d, char *err, size_t errlen)
{
	json_object *root, *v, *sas;
	char msg[512];
	int fd, rc = 0;
	struct stat st;
	char *buf;
	ssize_t n;

	if (!d->state_path)
		return 0;
	fd = open(d->state_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", d->state_path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || st.st_size > 64 * 1024 * 1024) {
		close(fd);
		snprintf(err, errlen, "%s: unreadable or too large", d->state_path);
		return -EINVAL;
	}
	if (st.st_mode & 077)
		pr_warn("%s: readable by others (mode %o): it holds keys\n", d->state_path,
			st.st_mode & 0777);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		snprintf(err, errlen, "%s: short read", d->state_path);
		return -EIO;
	}
	buf[n] = 0;
	root = json_tokener_parse(buf);
	explicit_bzero(buf, (size_t)n);
	free(buf);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		snprintf(err, errlen, "%s: not a JSON object", d->state_path);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "v", &v) || json_object_get_int(v) != STATE_FILE_VERSION) {
		json_object_put(root);
		snprintf(err, errlen, "%s: unsupported state file version", d->state_path);
		return -EINVAL;
	}
	d->loading++;
	if (json_object_object_get_ex(root, "limits", &v) &&
	    (rc = ctl_cmds_limits_apply(d, v, msg, sizeof(msg)))) {
		snprintf(err, errlen, "%s: limits: %s", d->state_path, msg);
		goto out;
	}
	if (json_object_object_get_ex(root, "sas", &sas) && json_object_is_type(sas, json_type_array)) {
		size_t i, cnt = json_object_array_length(sas);
		for (i = 0; i < cnt; i++) {
			json_object *o = json_object_array_get_idx(sas, i), *t;
			struct sa_parse_result r;
			if (ctl_sa_from_json(o, &r, msg, sizeof(msg)) ||
			    (rc = ctl_cmds_sa_add(d, &r, true, msg, sizeof(msg)))) {
				explicit_bzero(&r, sizeof(r));
				snprintf(err, errlen, "%s: SA #%zu: %s", d->state_path, i + 1, msg);
				rc = rc ? rc : -EINVAL;
				goto out;
			}
			if (json_object_object_get_ex(o, "replay_top", &t) &&
			    json_object_is_type(t, json_type_int) && json_object_get_int64(t) > 0)
				sa_table_set_replay_top(d->sat, &r.cfg.dst, r.cfg.spi, r.cfg.proto,
							(uint64_t)json_object_get_int64(t));
			explicit_bzero(&r, sizeof(r));
		}
		pr_info("restored %zu SAs from %s\n", cnt, d->state_path);
	}
out:
	d->loading--;
	/* json-c holds key strings: overwrite them before freeing */
	if (json_object_object_get_ex(root, "sas", &sas) && json_object_is_type(sas, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(sas); i++) {
			json_object *o = json_object_array_get_idx(sas, i);
			const char *alg[] = { "aead", "enc", "auth" };
			for (int k = 0; k < 3; k++) {
				json_object *a, *key;
				if (json_object_object_get_ex(o, alg[k], &a) &&
				    json_object_object_get_ex(a, "key", &key) &&
				    json_object_is_type(key, json_type_string))
					explicit_bzero((char *)json_object_get_string(key),
						       (size_t)json_object_get_string_len(key));
			}
		}
	}
	json_object_put(root);
	return rc;
}
