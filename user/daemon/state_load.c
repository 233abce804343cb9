// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * state_load.c - the state at start: the snapshot, then its journal
 * (state_journal.h), then the manual policies (spd_add, their indexes
 * kept), then every SA through sa_apply_add with its replay edge
 * skipped ahead to the saved mark (replay_marks.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "log.h"
#include "sa_json_ext.h"
#include "sa_table.h"
#include "spd.h"
#include "state_file.h"
#include "state_journal.h"
#include "sa_apply.h"
#include "state_load.h"

/* Snapshot and journal are folded into one object, SA id -> SA (with its
 * "replay_mark"), before anything is added: a journal may delete and add
 * the same SA several times. */
struct load {
	json_object *byid;
	char msg[256];
};

static int sa_key(json_object *sa, char *key, size_t len, char *msg, size_t msglen)
{
	struct sa_parse_result r;
	char buf[INET6_ADDRSTRLEN];

	if (ctl_sa_id_from_json(sa, &r, msg, msglen))
		return -1;
	snprintf(key, len, "%s/%u", sa_addr_str(&r.cfg.dst, buf, sizeof(buf)), r.cfg.spi);
	return 0;
}

static void forget(struct load *l, const char *key)
{
	json_object *old;

	if (json_object_object_get_ex(l->byid, key, &old)) {
		journal_wipe_keys(old);
		json_object_object_del(l->byid, key);
	}
}

static int take_sa(struct load *l, json_object *sa, int64_t mark)
{
	char key[96];

	if (!json_object_is_type(sa, json_type_object) || sa_key(sa, key, sizeof(key), l->msg, sizeof(l->msg)))
		return -1;
	forget(l, key);
	if (mark >= 0)
		json_object_object_add(sa, "replay_mark", json_object_new_int64(mark));
	json_object_object_add(l->byid, key, json_object_get(sa));
	return 0;
}

static int64_t get_mark(json_object *o, const char *name)
{
	json_object *v;

	if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return -1;
}

static int journal_cb(json_object *rec, void *arg)
{
	struct load *l = arg;
	json_object *op, *sa, *cur;
	const char *o;
	char key[96];
	int rc;

	if (!json_object_object_get_ex(rec, "op", &op) || !json_object_object_get_ex(rec, "sa", &sa)) {
		snprintf(l->msg, sizeof(l->msg), "record without op or sa");
		return -1;
	}
	o = json_object_get_string(op);
	if (!strcmp(o, "add")) {
		rc = take_sa(l, sa, get_mark(rec, "mark"));
		/* ours now: keep journal_replay from wiping it with the record */
		json_object_get(sa);
		json_object_object_del(rec, "sa");
		json_object_put(sa);
		return rc;
	}
	if (sa_key(sa, key, sizeof(key), l->msg, sizeof(l->msg)))
		return -1;
	if (!strcmp(o, "del")) {
		forget(l, key);
	} else if (!strcmp(o, "mark")) {
		if (json_object_object_get_ex(l->byid, key, &cur) && get_mark(rec, "mark") >= 0)
			json_object_object_add(cur, "replay_mark",
					       json_object_new_int64(get_mark(rec, "mark")));
	} else {
		snprintf(l->msg, sizeof(l->msg), "unknown op \"%.32s\"", o);
		return -1;
	}
	return 0;
}

static json_object *read_snapshot(const char *path, size_t *bytes, char *err, size_t errlen, int *rc)
{
	json_object *root;
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*rc = 0;
	if (fd < 0) {
		if (errno != ENOENT) {
			*rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		return NULL;
	}
	if (fstat(fd, &st) || st.st_size > 256 * 1024 * 1024) {
		close(fd);
		snprintf(err, errlen, "%s: unreadable or too large", path);
		*rc = -EINVAL;
		return NULL;
	}
	if (st.st_mode & 077)
		pr_warn("%s: readable by others (mode %o): it holds keys\n", path, st.st_mode & 0777);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		*rc = -ENOMEM;
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		snprintf(err, errlen, "%s: short read", path);
		*rc = -EIO;
		return NULL;
	}
	buf[n] = 0;
	root = json_tokener_parse(buf);
	explicit_bzero(buf, (size_t)n);
	free(buf);
	*bytes = (size_t)n;
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		snprintf(err, errlen, "%s: not a JSON object", path);
		*rc = -EINVAL;
		return NULL;
	}
	return root;
}

int state_load(struct xdpsecd *d, const char *path, const char *jpath, uint64_t *gen,
	       size_t *bytes, char *err, size_t errlen)
{
	struct load l = { .byid = json_object_new_object() };
	json_object *root, *v, *sas;
	size_t n = 0;
	bool stale;
	int rc;

	*bytes = 0;
	root = read_snapshot(path, bytes, err, errlen, &rc);
	if (rc)
		goto out;
	if (root && (!json_object_object_get_ex(root, "v", &v) ||
		     json_object_get_int(v) != STATE_FILE_VERSION)) {
		snprintf(err, errlen, "%s: unsupported state file version", path);
		rc = -EINVAL;
		goto out;
	}
	*gen = root && json_object_object_get_ex(root, "gen", &v) ? (uint64_t)json_object_get_int64(v) : 0;
	if (root && json_object_object_get_ex(root, "sas", &sas) && json_object_is_type(sas, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(sas); i++) {
			json_object *o = json_object_array_get_idx(sas, i);
			int64_t mark = get_mark(o, "replay_mark");

			if (take_sa(&l, o, mark >= 0 ? mark : get_mark(o, "replay_top"))) {
				snprintf(err, errlen, "%s: SA #%zu: %s", path, i + 1, l.msg);
				rc = -EINVAL;
				goto out;
			}
		}
	}
	rc = journal_replay(jpath, *gen, &stale, journal_cb, &l, err, errlen);
	if (rc) {
		size_t el = strlen(err);
		snprintf(err + el, errlen - el, ": %s", l.msg);
		goto out;
	}
	if (stale)
		pr_info("%s: of an older generation than %s, ignored\n", jpath, path);

	d->loading++;
	if (root && json_object_object_get_ex(root, "limits", &v) &&
	    (rc = ctl_cmds_limits_apply(d, v, l.msg, sizeof(l.msg))))
		snprintf(err, errlen, "%s: limits: %s", path, l.msg);
	if (!rc && root && d->spd && json_object_object_get_ex(root, "policies", &v)) {
		for (size_t i = 0; !rc && i < json_object_array_length(v); i++) {
			struct xs_policy p;

			if (spd_policy_from_json(json_object_array_get_idx(v, i), &p, l.msg, sizeof(l.msg)) ||
			    (rc = spd_add(d->spd, &p, false, l.msg, sizeof(l.msg)))) {
				snprintf(err, errlen, "%s: policy #%zu: %s", path, i + 1, l.msg);
				rc = rc ? rc : -EINVAL;
			}
		}
		if (!rc && json_object_array_length(v))
			pr_info("restored %zu policies from %s\n", json_object_array_length(v), path);
	}
	json_object_object_foreach(l.byid, key, o) {
		struct sa_parse_result r;
		int64_t mark = get_mark(o, "replay_mark");

		if (rc)
			break;
		if (ctl_sa_from_json(o, &r, l.msg, sizeof(l.msg)) ||
		    (rc = sa_apply_add(d, &r, true, l.msg, sizeof(l.msg)))) {
			snprintf(err, errlen, "%s: SA %s: %s", path, key, l.msg);
			rc = rc ? rc : -EINVAL;
		} else if (mark > 0) {
			/* skip ahead to the mark: whatever was delivered lies below */
			sa_table_set_replay_top(d->sat, &r.cfg.dst, r.cfg.spi, r.cfg.proto,
						(uint64_t)mark);
		}
		explicit_bzero(&r, sizeof(r));
		n++;
	}
	d->loading--;
	if (!rc && n)
		pr_info("restored %zu SAs from %s\n", n, path);
out:
	journal_wipe_keys(l.byid);
	json_object_put(l.byid);
	if (root) {
		journal_wipe_keys(root);
		json_object_put(root);
	}
	return rc;
}
