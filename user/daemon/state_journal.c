// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* state_journal.c - see state_journal.h */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "state_journal.h"

#define JOURNAL_MAX_LINE (256 * 1024)

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void fsync_dir_of(const char *path)
{
	char tmp[PATH_MAX];
	int dfd;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

int journal_start(struct journal *j, const char *path, uint64_t gen, char *err, size_t errlen)
{
	char tmp[PATH_MAX], head[64];
	int fd, rc, len;

	journal_close(j);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	fchmod(fd, 0600);
	len = snprintf(head, sizeof(head), "{\"journal\":1,\"gen\":%" PRIu64 "}\n", gen);
	if ((rc = write_all(fd, head, (size_t)len)) || (fsync(fd) && (rc = -errno)) ||
	    (rename(tmp, path) && (rc = -errno))) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		close(fd);
		unlink(tmp);
		return rc;
	}
	fsync_dir_of(path);
	{
		struct stat st;

		if (!fstat(fd, &st)) {
			j->dev = (uint64_t)st.st_dev;
			j->ino = (uint64_t)st.st_ino;
		}
	}
	snprintf(j->path, sizeof(j->path), "%s", path);
	j->fd = fd;
	j->gen = gen;
	j->bytes = (size_t)len;
	j->dirty = false;
	return 0;
}

int journal_append(struct journal *j, const char *buf, size_t len, char *err, size_t errlen)
{
	int rc;

	struct stat st;

	if (j->fd < 0) {
		snprintf(err, errlen, "no journal open");
		return -EBADF;
	}
	/* one stat per commit: cheap next to what a commit is for */
	if (stat(j->path, &st) || (uint64_t)st.st_dev != j->dev || (uint64_t)st.st_ino != j->ino) {
		snprintf(err, errlen, "journal %s was removed or replaced", j->path);
		return -ESTALE;
	}
	rc = write_all(j->fd, buf, len);
	if (rc) {
		snprintf(err, errlen, "journal: %s", strerror(-rc));
		return rc;
	}
	j->bytes += len;
	j->dirty = true;
	return 0;
}

/* Is the last aio_fsync finished?  wait: until it is. */
static bool sync_done(struct journal *j, bool wait)
{
	const struct aiocb *const list[1] = { &j->sync_cb };

	if (!j->syncing)
		return true;
	while (aio_error(&j->sync_cb) == EINPROGRESS) {
		if (!wait)
			return false;
		aio_suspend(list, 1, NULL);
	}
	aio_return(&j->sync_cb);
	j->syncing = false;
	return true;
}

void journal_sync(struct journal *j)
{
	if (j->fd < 0 || !j->dirty || !sync_done(j, false))
		return;
	memset(&j->sync_cb, 0, sizeof(j->sync_cb));
	j->sync_cb.aio_fildes = j->fd;
	j->sync_cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	if (!aio_fsync(O_DSYNC, &j->sync_cb)) {
		j->syncing = true;
		j->dirty = false;
	} else if (!fdatasync(j->fd)) {
		j->dirty = false;
	}
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0) {
		sync_done(j, true);
		if (j->dirty)
			fdatasync(j->fd);
		close(j->fd);
	}
	j->fd = -1;
	j->bytes = 0;
	j->dirty = false;
}

void journal_wipe_keys(json_object *o)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			journal_wipe_keys(json_object_array_get_idx(o, i));
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, k, v) {
		if (!strcmp(k, "key") && json_object_is_type(v, json_type_string))
			explicit_bzero((char *)json_object_get_string(v),
				       (size_t)json_object_get_string_len(v));
		else
			journal_wipe_keys(v);
	}
}

int journal_replay(const char *path, uint64_t gen, bool *stale,
		   int (*cb)(json_object *rec, void *arg), void *arg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int rc = 0;

	*stale = false;
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		bool last = n == 0 || line[n - 1] != '\n';
		json_object *rec, *v;

		lineno++;
		rec = n > JOURNAL_MAX_LINE ? NULL : json_tokener_parse(line);
		explicit_bzero(line, (size_t)n);
		if (!rec || !json_object_is_type(rec, json_type_object)) {
			json_object_put(rec);
			if (last && lineno > 1) {
				/* cut short by a crash in the middle of a write */
				pr_warn("%s:%u: incomplete last record ignored\n", path, lineno);
				break;
			}
			snprintf(err, errlen, "%s:%u: not a JSON object", path, lineno);
			rc = -EINVAL;
			break;
		}
		if (lineno == 1) {
			if (!json_object_object_get_ex(rec, "journal", &v) || json_object_get_int(v) != 1 ||
			    !json_object_object_get_ex(rec, "gen", &v)) {
				snprintf(err, errlen, "%s: not an xdpsecd journal", path);
				rc = -EINVAL;
			} else if ((uint64_t)json_object_get_int64(v) != gen) {
				*stale = true;
			}
			json_object_put(rec);
			if (rc || *stale)
				break;
			continue;
		}
		rc = cb(rec, arg);
		journal_wipe_keys(rec);
		json_object_put(rec);
		if (rc) {
			snprintf(err, errlen, "%s:%u: bad record", path, lineno);
			break;
		}
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	return rc;
}
