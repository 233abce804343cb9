// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * state_file.c - persisted SAs, replay marks and limits (see state_file.h).
 *
 * Snapshot (STATE):
 *   {"v":1, "gen":G, "saved":UNIX_TIME, "limits":{...},
 *    "policies":[{<policy as in `policy list`>}, ...],
 *    "sas":[{<SA as in the protocol, keys included>, "replay_mark":N}, ...]}
 * Journal (STATE.journal, generation G): state_journal.h.
 *
 * Policies: those added with `xdpsecctl policy add` (origin manual) only;
 * mirrored ones are the kernel's, dumped again at start.  A policy change
 * queues no journal record: it writes a snapshot (state_file_changed), as
 * limits do; policies change rarely, SAs at every rekey.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "ctl_cmds.h"
#include "ctl_proto.h"
#include "log.h"
#include "replay_marks.h"
#include "sa_json_ext.h"
#include "sa_table.h"
#include "spd.h"
#include "state_file.h"
#include "state_journal.h"
#include "state_load.h"

/* The journal is folded into a new snapshot when it outgrows this and
 * twice the snapshot (on the tick, never in a command's path). */
#define COMPACT_MIN_BYTES (1u << 20)

struct state_persist {
	struct journal j;
	char jpath[PATH_MAX];
	uint64_t gen;              /* of the snapshot on disk                  */
	size_t snap_bytes;
	struct pend {              /* records not written yet (keys: wiped)    */
		char *buf;
		size_t len, cap;
	} sas, marks;              /* SA changes; replay marks (never wait)   */
	unsigned recs;             /* records queued since state_file_changed  */
	bool need_snapshot;        /* a change no record describes             */
	bool deferred;             /* a batch's records wait for its end       */
	struct replay_marks *rm;
};

/* ------------------------------------------------------------ records */

static int pend_add(struct pend *p, const char *s, size_t len)
{
	if (p->len + len + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		char *nb;

		while (cap < p->len + len + 1)
			cap *= 2;
		/* not realloc: the old buffer holds keys and must be wiped */
		nb = malloc(cap);
		if (!nb)
			return -ENOMEM;
		if (p->buf) {
			memcpy(nb, p->buf, p->len);
			explicit_bzero(p->buf, p->cap);
			free(p->buf);
		}
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, len);
	p->buf[p->len + len] = '\n';
	p->len += len + 1;
	return 0;
}

static void pend_clear(struct pend *p)
{
	if (p->buf)
		explicit_bzero(p->buf, p->len);
	p->len = 0;
}

static void pend_free(struct pend *p)
{
	if (p->buf)
		explicit_bzero(p->buf, p->cap);
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

/* Queues rec (and frees it).  A record that cannot be queued is replaced
 * by a full snapshot at the next commit. */
static void queue(struct state_persist *sp, struct pend *p, json_object *rec)
{
	size_t len;
	const char *txt = json_object_to_json_string_length(rec, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (!txt || pend_add(p, txt, len))
		sp->need_snapshot = true;
	if (txt)
		explicit_bzero((char *)txt, len);
	journal_wipe_keys(rec);
	json_object_put(rec);
	sp->recs++;
}

static json_object *sa_id_json(const struct xs_sa_config *cfg)
{
	json_object *o = json_object_new_object();
	char buf[INET6_ADDRSTRLEN];

	json_object_object_add(o, "dst", json_object_new_string(sa_addr_str(&cfg->dst, buf, sizeof(buf))));
	json_object_object_add(o, "spi", json_object_new_int64(cfg->spi));
	json_object_object_add(o, "proto", json_object_new_string("esp"));
	return o;
}

static json_object *record(const char *op, json_object *sa)
{
	json_object *rec = json_object_new_object();

	json_object_object_add(rec, "op", json_object_new_string(op));
	json_object_object_add(rec, "sa", sa);
	return rec;
}

void state_file_sa_added(struct xdpsecd *d, uint32_t idx, const struct xs_sa_config *cfg)
{
	struct state_persist *sp = d->sp;
	json_object *rec;

	if (!sp)
		return;
	replay_marks_reset(sp->rm, idx);
	if (d->loading)
		return;            /* the snapshot at the end of loading has it */
	rec = record("add", ctl_sa_to_json(cfg, true));
	json_object_object_add(rec, "mark", json_object_new_int64(
		(int64_t)replay_marks_mark(sp->rm, idx, 0, cfg->esn)));
	replay_marks_unsaved(sp->rm, idx);
	queue(sp, &sp->sas, rec);
}

void state_file_sa_deleted(struct xdpsecd *d, uint32_t idx, const struct xs_sa_config *cfg)
{
	struct state_persist *sp = d->sp;

	if (!sp)
		return;
	replay_marks_reset(sp->rm, idx);
	if (!d->loading)
		queue(sp, &sp->sas, record("del", sa_id_json(cfg)));
}

static void mark_cb(uint32_t idx, const struct xs_sa_config *cfg, uint64_t mark, void *arg)
{
	struct state_persist *sp = arg;
	json_object *rec = record("mark", sa_id_json(cfg));

	(void)idx;
	json_object_object_add(rec, "mark", json_object_new_int64((int64_t)mark));
	queue(sp, &sp->marks, rec);
	sp->recs--;             /* not a change a command made */
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ snapshot */

/* The snapshot is written one SA per line, each serialised on its own:
 * one tree of 10,000 SAs pretty-printed by json-c took most of a second. */
struct save_arg {
	struct pend *buf;
	struct replay_marks *rm;
	bool first, failed;
};

static void buf_put(struct save_arg *s, const char *txt, size_t len)
{
	/* pend_add ends each piece with a newline */
	if (!s->failed && pend_add(s->buf, txt, len))
		s->failed = true;
}

static int save_cb(uint32_t index, const struct xs_sa_config *cfg,
		   const struct sa_stats *st, void *arg)
{
	struct save_arg *s = arg;
	/* Mirrored SAs (xfrm_mirror.c) are saved too: the replay marks that
	 * keep a restart from accepting a replay live here for every SA; the
	 * kernel's dump at start then updates or replaces them. */
	json_object *o = ctl_sa_to_json(cfg, true);
	const char *txt;
	size_t len;

	json_object_object_add(o, "replay_mark", json_object_new_int64(
		(int64_t)replay_marks_mark(s->rm, index, st->replay_top, cfg->esn)));
	if (!s->first && !s->failed) {
		s->buf->buf[s->buf->len - 1] = ',';     /* "<SA>,\n<SA>" */
		buf_put(s, "", 0);
	}
	s->first = false;
	txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	buf_put(s, txt, len);
	explicit_bzero((char *)txt, len);
	journal_wipe_keys(o);
	json_object_put(o);
	return 0;
}

static void policy_cb(const struct xs_policy *p, void *arg)
{
	if (p->origin == XS_ORIGIN_MANUAL)
		json_object_array_add(arg, spd_policy_to_json(p));
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
	struct state_persist *sp = d->sp;
	struct pend out = { 0 };
	struct save_arg s = { &out, sp ? sp->rm : NULL, true, false };
	json_object *head;
	char tmp[PATH_MAX + 32], *dir;
	const char *txt;
	size_t len;
	int fd, rc = 0, dfd;
	uint64_t t0 = mono_ms();

	if (!sp)
		return 0;
	/* {"v":1,"gen":G,"saved":T,"limits":{..},"sas":[ <SA>,<SA>... ]} */
	head = json_object_new_object();
	json_object_object_add(head, "v", json_object_new_int(STATE_FILE_VERSION));
	json_object_object_add(head, "gen", json_object_new_int64((int64_t)sp->gen + 1));
	json_object_object_add(head, "saved", json_object_new_int64(time(NULL)));
	json_object_object_add(head, "limits", ctl_cmds_limits_json(&d->limits));
	if (d->spd) {
		json_object *pols = json_object_new_array();

		spd_walk(d->spd, policy_cb, pols);
		json_object_object_add(head, "policies", pols);
	}
	txt = json_object_to_json_string_length(head, JSON_C_TO_STRING_PLAIN, &len);
	buf_put(&s, txt, len - 1);                       /* without its '}' */
	out.buf[out.len - 1] = ',';
	buf_put(&s, "\"sas\":[", 7);
	json_object_put(head);
	sa_table_walk(d->sat, save_cb, &s);
	buf_put(&s, "]}", 2);
	if (s.failed) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", d->state_path);
		goto out;
	}
	txt = out.buf;
	len = out.len;

	make_dirs(d->state_path);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", d->state_path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fchmod(fd, 0600);          /* whatever the umask */
	if ((rc = write_all(fd, txt, len)) || (fsync(fd) && (rc = -errno))) {
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
	/* Everything queued is in the snapshot; the marks in it are safe to
	 * use.  The old journal is of the old generation from now on. */
	sp->gen++;
	sp->snap_bytes = len;
	sp->need_snapshot = sp->deferred = false;
	pend_clear(&sp->sas);
	pend_clear(&sp->marks);
	replay_marks_grant(sp->rm, true);
	d->state_saves++;
	pr_debug("state file: %zu bytes written in %" PRIu64 " ms\n", len, mono_ms() - t0);
	if (journal_start(&sp->j, sp->jpath, sp->gen, tmp, sizeof(tmp)))
		pr_warn("%s: the next change writes a whole snapshot again\n", tmp);
out:
	pend_free(&out);          /* wiped: it holds keys */
	if (rc)
		d->state_save_errors++;
	return rc;
}

/* ------------------------------------------------------------ commit */

/* Makes the queued replay marks durable (against kill -9), appended to
 * the journal; with all, the queued SA changes too, or a snapshot when the
 * journal cannot describe them or a batch made them as large. */
static int commit(struct xdpsecd *d, bool all, char *err, size_t errlen)
{
	struct state_persist *sp = d->sp;
	int rc;

	if (all)
		sp->deferred = false;
	if (sp->j.fd < 0 || (all && (sp->need_snapshot || (sp->sas.len > 64 * 1024 &&
							 sp->sas.len > sp->snap_bytes / 2))))
		return state_file_save(d, err, errlen);
	if (sp->marks.len) {
		rc = journal_append(&sp->j, sp->marks.buf, sp->marks.len, err, errlen);
		if (rc)
			goto fail;
		pend_clear(&sp->marks);
	}
	if (all && sp->sas.len) {
		rc = journal_append(&sp->j, sp->sas.buf, sp->sas.len, err, errlen);
		if (rc)
			goto fail;
		pend_clear(&sp->sas);
	}
	replay_marks_grant(sp->rm, all);
	return 0;
fail:
	d->state_save_errors++;
	if (rc == -ESTALE)
		sp->need_snapshot = true;   /* a fresh snapshot and journal next time */
	return rc;
}

int state_file_commit(struct xdpsecd *d, char *err, size_t errlen)
{
	int rc;

	if (!d->sp || d->loading)
		return 0;
	rc = commit(d, true, err, errlen);
	if (!rc)
		d->sp->recs = 0;
	else if (err && errlen) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "state file not written: %s", why);
	}   /* what was queued is written: the next change
				      without records (limits) needs a snapshot */
	return rc;
}

void state_file_changed(struct xdpsecd *d)
{
	struct state_persist *sp = d->sp;
	char err[512];

	if (!sp || d->loading)
		return;
	if (!sp->recs)
		sp->need_snapshot = true;    /* limits, flush, a reloaded config */
	sp->recs = 0;
	if (d->state_defer) {
		sp->deferred = true;
		return;
	}
	if (commit(d, true, err, sizeof(err)))
		pr_warn("state file not saved: %s\n", err);
}


/* New replay marks are written at once, whatever else is queued. */
static void marks_due(struct xdpsecd *d)
{
	struct state_persist *sp = d->sp;
	char err[512];

	if (replay_marks_due(sp->rm, mono_ms(), mark_cb, sp) && commit(d, false, err, sizeof(err)))
		pr_warn("replay marks not saved (their SAs wait): %s\n", err);
}

void state_file_wake(struct xdpsecd *d)
{
	if (d->sp && !d->loading)
		marks_due(d);
}

int state_file_fd(struct xdpsecd *d)
{
	return d->sp ? replay_marks_fd(d->sp->rm) : -1;
}

void state_file_tick(struct xdpsecd *d)
{
	struct state_persist *sp = d->sp;
	char err[512];

	if (!sp || d->loading)
		return;
	marks_due(d);
	/* a write that failed earlier, or a batch whose client vanished */
	if ((sp->sas.len || sp->need_snapshot) && !sp->deferred && commit(d, true, err, sizeof(err)))
		pr_warn("state file not saved: %s\n", err);
	journal_sync(&sp->j);
	if (!sp->deferred && sp->j.fd >= 0 && sp->j.bytes > COMPACT_MIN_BYTES &&
	    sp->j.bytes > 2 * sp->snap_bytes && state_file_save(d, err, sizeof(err)))
		pr_warn("state file not compacted: %s\n", err);
}

/* ------------------------------------------------------------ open/close */

int state_file_open(struct xdpsecd *d, char *err, size_t errlen)
{
	struct state_persist *sp;

	if (!d->state_path)
		return 0;
	sp = calloc(1, sizeof(*sp));
	if (!sp || (size_t)snprintf(sp->jpath, sizeof(sp->jpath), "%s.journal", d->state_path) >=
		   sizeof(sp->jpath) || !(sp->rm = replay_marks_new(d->sat, d->max_sas))) {
		free(sp);
		snprintf(err, errlen, "%s: cannot set up the state file", d->state_path);
		return -ENOMEM;
	}
	sp->j.fd = -1;
	d->sp = sp;
	return 0;
}

void state_file_close(struct xdpsecd *d)
{
	struct state_persist *sp = d->sp;

	if (!sp)
		return;
	journal_close(&sp->j);
	replay_marks_free(sp->rm);
	pend_free(&sp->sas);
	pend_free(&sp->marks);
	free(sp);
	d->sp = NULL;
}

/* ------------------------------------------------------------ load */

int state_file_load(struct xdpsecd *d, char *err, size_t errlen)
{
	struct state_persist *sp = d->sp;

	if (!sp)
		return 0;
	return state_load(d, d->state_path, sp->jpath, &sp->gen, &sp->snap_bytes, err, errlen);
}
