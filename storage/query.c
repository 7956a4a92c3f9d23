/*
 * Readers of the database: the window scan every query shares, the merge of
 * a time range into one profile (store__query), the timeline and the list of
 * processes. Each query runs in one read transaction, so it sees one snapshot
 * while the writer and retention go on (WAL). Windows are decoded first and
 * their counts summed per (task, stack) pair, through each blob's pair table;
 * only then are the tasks, stacks, frames and strings that matter loaded,
 * each once, then the build ids of the modules those frames name. Blobs of
 * schema 2 name series instead; the scan looks those up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/units.h"
#include "store_int.h"

#define TIMELINE_MAX_POINTS 1000000

static int64_t clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/*
 * The pairs of a schema 2 blob (b->series) from the series table, each
 * looked up once per scan (st->legacy). -EINVAL (errmsg set) for a series
 * the table lacks or one with ids out of range.
 */
static int scan__legacy(struct store *st, struct store_blob *b)
{
	int64_t task = 0, stack = 0;
	sqlite3_stmt *s;
	uint64_t *v;
	size_t i;
	int rc;

	if (mem__grow((void **)&b->pairs, &b->pairs_cap, b->npairs + 1, sizeof(*b->pairs)))
		return store__fail(st, -ENOMEM, "out of memory");
	for (i = 0; i < b->npairs; i++) {
		v = smap__find(&st->legacy, (uint64_t)b->series[i]);
		if (v) {
			b->pairs[i] = (struct store_pair){.task = (int64_t)(*v >> 32),
							  .stack = (int64_t)(*v & UINT32_MAX)};
			continue;
		}
		s = store__stmt(st, STMT_SERIES_GET);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, b->series[i]);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			task = sqlite3_column_int64(s, 0);
			stack = sqlite3_column_int64(s, 1);
		}
		sqlite3_reset(s);
		if (rc == SQLITE_ROW && (task < 1 || task > (int64_t)STORE_ID_MAX || stack < 1 ||
					 stack > (int64_t)STORE_ID_MAX))
			rc = SQLITE_DONE;
		if (rc == SQLITE_DONE)
			return store__fail(st, -EINVAL,
					   "database %s is corrupt: series %lld is missing or bad",
					   st->path, (long long)b->series[i]);
		if (rc != SQLITE_ROW)
			return store__sqlerr(st, rc, "read series");
		b->pairs[i] = (struct store_pair){.task = task, .stack = stack};
		if (!smap__upsert(&st->legacy, (uint64_t)b->series[i],
				  (uint64_t)task << 32 | (uint64_t)stack, NULL))
			return store__fail(st, -ENOMEM, "out of memory");
	}
	return 0;
}

int store__decode(struct store *st, const struct scan_window *row, uint64_t nwin, const void *blob,
		  size_t len, enum blob_part part, char *why, size_t whylen)
{
	int err;

	err = blob__decode(&st->blob, st->dctx, &st->raw, blob, len, row, nwin, part, why, whylen);
	if (!err && st->blob.legacy && part != BLOB_WINDOWS)
		err = scan__legacy(st, &st->blob);
	return err;
}

/* Calls @ops for the blob in st->blob: its table, then its windows in [@from, @to). */
static int scan__blob(struct store *st, uint64_t from, uint64_t to, bool decode,
		      const struct scan_ops *ops, void *ctx)
{
	const struct store_blob *b = &st->blob;
	const struct scan_window *w;
	size_t i;
	int err = 0;

	if (decode && ops->table)
		err = ops->table(st, b->pairs, b->legacy ? b->series : NULL, b->npairs, ctx);
	for (i = 0; i < b->nwins && !err; i++) {
		w = &b->wins[i];
		if (w->end_ns <= from || (to && w->start_ns >= to) || !ops->window)
			continue;
		if (decode)
			err = ops->window(st, w, b->rows + b->first[i],
					  b->first[i + 1] - b->first[i], ctx);
		else
			err = ops->window(st, w, NULL, 0, ctx);
	}
	return err;
}

/*
 * One row of the scan, decoded as far as @ops need: the windows only without
 * @decode (a single window is not decoded at all then), the pair tables for a
 * table callback alone, else everything.
 */
static int scan__row(struct store *st, const struct scan_window *w, int64_t nwin, const void *blob,
		     size_t len, uint64_t from, uint64_t to, bool decode,
		     const struct scan_ops *ops, void *ctx, char *why, size_t whylen)
{
	enum blob_part part = !decode ? BLOB_WINDOWS : ops->window ? BLOB_ROWS : BLOB_PAIRS;
	int err;

	if (nwin < 1)
		return blob__fail(why, whylen, "bad window count %lld", (long long)nwin);
	if (nwin == 1 && !decode)
		return ops->window ? ops->window(st, w, NULL, 0, ctx) : 0;
	err = store__decode(st, w, (uint64_t)nwin, blob, len, part, why, whylen);
	if (!err)
		err = scan__blob(st, from, to, decode, ops, ctx);
	return err;
}

int store__scan(struct store *st, uint64_t from, uint64_t to, int64_t after_id, bool decode,
		const struct scan_ops *ops, void *ctx)
{
	static const char sql[] = "SELECT id, start_ns, end_ns, freq_hz, period_ns, samples,"
				  " lost_samples, lost_kstack, lost_ustack, lost_collisions,"
				  " lost_stack_map_full, lost_count_map_full, lost_ringbuf_full,"
				  " lost_truncated, nwin, data"
				  " FROM windows WHERE end_ns > ?1 AND end_ns < ?2"
				  " AND start_ns < ?3 AND id > ?4 ORDER BY end_ns, id";
	char why[160] = "", t0[40], t1[40];
	struct scan_window w;
	sqlite3_stmt *s;
	int64_t maxw, nwin;
	int rc, err = 0;

	smap__clear(&st->legacy);
	err = store__meta_get(st, "max_window_ns", INT64_MAX, &maxw);
	if (err)
		return err;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "read windows");
	sqlite3_bind_int64(s, 1, clamp_i64(from));
	sqlite3_bind_int64(s, 2,
			   to && maxw >= 0 && to < (uint64_t)INT64_MAX - (uint64_t)maxw - 1
				   ? (int64_t)(to + (uint64_t)maxw + 1)
				   : INT64_MAX);
	sqlite3_bind_int64(s, 3, to ? clamp_i64(to) : INT64_MAX);
	sqlite3_bind_int64(s, 4, after_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(s, 15);
		size_t len = (size_t)sqlite3_column_bytes(s, 15);

		w.id = sqlite3_column_int64(s, 0);
		w.start_ns = (uint64_t)sqlite3_column_int64(s, 1);
		w.end_ns = (uint64_t)sqlite3_column_int64(s, 2);
		w.freq_hz = (uint32_t)sqlite3_column_int64(s, 3);
		w.period_ns = (uint64_t)sqlite3_column_int64(s, 4);
		w.samples = (uint64_t)sqlite3_column_int64(s, 5);
		w.lost.samples = (uint64_t)sqlite3_column_int64(s, 6);
		w.lost.kstack_errors = (uint64_t)sqlite3_column_int64(s, 7);
		w.lost.ustack_errors = (uint64_t)sqlite3_column_int64(s, 8);
		w.lost.stack_collisions = (uint64_t)sqlite3_column_int64(s, 9);
		w.lost.stack_map_full = (uint64_t)sqlite3_column_int64(s, 10);
		w.lost.count_map_full = (uint64_t)sqlite3_column_int64(s, 11);
		w.lost.ringbuf_full = (uint64_t)sqlite3_column_int64(s, 12);
		w.lost.truncated = (uint64_t)sqlite3_column_int64(s, 13);
		nwin = sqlite3_column_int64(s, 14);
		why[0] = '\0';
		err = scan__row(st, &w, nwin, blob, len, from, to, decode, ops, ctx, why,
				sizeof(why));
		/* A decoding error; the callbacks set errmsg themselves. */
		if (err == -EINVAL && why[0]) {
			store__fail(st, err,
				    "%s: window %lld (%s .. %s) is corrupt: %s; delete it or query "
				    "around it",
				    st->path, (long long)w.id,
				    units__format_time(w.start_ns, t0, sizeof(t0)),
				    units__format_time(w.end_ns, t1, sizeof(t1)), why);
			break;
		}
		if (err == -ENOMEM)
			store__fail(st, err, "out of memory");
		if (err)
			break;
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "read windows");
	return err;
}

/* What a query knows of a task: its row and whether it passes the filter. */
struct qtask {
	int64_t id;
	uint32_t pid, tid;
	uint64_t start_time;
	int64_t comm, exe, cgroup; /* string ids */
	bool match;
	uint32_t out; /* task id in the output profile, UINT32_MAX until added */
	uint64_t samples;
};

/* What a query sums samples of: a (task, stack) pair. */
struct qseries {
	int64_t stack;
	size_t task; /* index into qstate.tasks */
	uint64_t count;
};

struct qstate {
	const struct store_filter *f;
	bool filtered;		/* a task filter is set */
	struct smap series_idx; /* store_pair__key() -> index into series[] */
	struct qseries *series;
	size_t nseries, series_cap;
	uint32_t *map; /* pair of the current blob -> index into series[] */
	size_t map_cap;
	struct smap task_idx; /* task id -> index into tasks[] */
	struct qtask *tasks;
	size_t ntasks, tasks_cap;
	struct profile_meta meta;
	bool meta_seen;
	/* Output profile building. */
	struct profile *out;
	struct smap str_out, frame_out, stack_out; /* database id -> output id */
	struct smap mod_out; /* database string id -> output id, of frames' modules */
	int64_t *ids;
	size_t ids_cap;
	uint32_t *oframes;
	size_t oframes_cap;
	/* Timeline. */
	struct store_point *pts;
	size_t npts;
	uint64_t t0, step;
};

static void qstate__init(struct qstate *q, const struct store_filter *f)
{
	memset(q, 0, sizeof(*q));
	q->f = f;
	q->filtered = f->pid || f->comm || f->exe || f->cgroup;
	smap__init(&q->series_idx);
	smap__init(&q->task_idx);
	smap__init(&q->str_out);
	smap__init(&q->frame_out);
	smap__init(&q->stack_out);
	smap__init(&q->mod_out);
}

static void qstate__exit(struct qstate *q)
{
	smap__exit(&q->series_idx);
	smap__exit(&q->task_idx);
	smap__exit(&q->str_out);
	smap__exit(&q->frame_out);
	smap__exit(&q->stack_out);
	smap__exit(&q->mod_out);
	free(q->series);
	free(q->map);
	free(q->tasks);
	free(q->ids);
	free(q->oframes);
}

/*
 * Compares string @id with @want: exactly, or as a prefix. *@res gets the
 * result. 0 or -errno.
 */
static int q__str_match(struct store *st, int64_t id, const char *want, bool prefix, bool *res)
{
	size_t wl = strlen(want), len;
	sqlite3_stmt *s;
	const void *b;
	int rc;

	if (!id) {
		*res = wl == 0;
		return 0;
	}
	s = store__stmt(st, STMT_STR_GET);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		b = sqlite3_column_blob(s, 0);
		len = (size_t)sqlite3_column_bytes(s, 0);
		if (prefix)
			*res = len >= wl && (!wl || !memcmp(b, want, wl));
		else
			*res = len == wl && (!wl || !memcmp(b, want, wl));
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, -EINVAL, "database %s is corrupt: string %lld is missing",
				   st->path, (long long)id);
	if (rc != SQLITE_ROW)
		return store__sqlerr(st, rc, "read string");
	return 0;
}

static int q__task_match(struct store *st, const struct store_filter *f, struct qtask *t)
{
	bool ok = true;
	int err = 0;

	if (f->pid && t->pid != f->pid)
		ok = false;
	if (ok && f->comm)
		err = q__str_match(st, t->comm, f->comm, false, &ok);
	if (!err && ok && f->exe)
		err = q__str_match(st, t->exe, f->exe, false, &ok);
	if (!err && ok && f->cgroup)
		err = q__str_match(st, t->cgroup, f->cgroup, true, &ok);
	t->match = ok;
	return err;
}

/* Index of task @id in q->tasks, loading it on first use. */
static int q__task(struct store *st, struct qstate *q, int64_t id, size_t *idx)
{
	struct qtask *t;
	sqlite3_stmt *s;
	uint64_t *v;
	int rc, err;

	v = smap__find(&q->task_idx, (uint64_t)id);
	if (v) {
		*idx = (size_t)*v;
		return 0;
	}
	if (mem__grow((void **)&q->tasks, &q->tasks_cap, q->ntasks + 1, sizeof(*q->tasks)))
		return store__fail(st, -ENOMEM, "out of memory");
	t = &q->tasks[q->ntasks];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->out = UINT32_MAX;
	s = store__stmt(st, STMT_TASK_GET);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t->pid = (uint32_t)sqlite3_column_int64(s, 0);
		t->tid = (uint32_t)sqlite3_column_int64(s, 1);
		t->start_time = (uint64_t)sqlite3_column_int64(s, 2);
		t->comm = sqlite3_column_int64(s, 3);
		t->exe = sqlite3_column_int64(s, 4);
		t->cgroup = sqlite3_column_int64(s, 5);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, -EINVAL, "database %s is corrupt: task %lld is missing",
				   st->path, (long long)id);
	if (rc != SQLITE_ROW)
		return store__sqlerr(st, rc, "read task");
	err = q__task_match(st, q->f, t);
	if (err)
		return err;
	if (!smap__upsert(&q->task_idx, (uint64_t)id, q->ntasks, NULL))
		return store__fail(st, -ENOMEM, "out of memory");
	*idx = q->ntasks++;
	return 0;
}

/* Index of pair @p in q->series, loading its task on first use. */
static int q__pair(struct store *st, struct qstate *q, const struct store_pair *p, uint32_t *idx)
{
	uint64_t key = store_pair__key(p), *v;
	struct qseries *sr;
	size_t ti = 0;
	int err;

	v = smap__find(&q->series_idx, key);
	if (v) {
		*idx = (uint32_t)*v;
		return 0;
	}
	err = q__task(st, q, p->task, &ti);
	if (err)
		return err;
	if (mem__grow((void **)&q->series, &q->series_cap, q->nseries + 1, sizeof(*q->series)) ||
	    q->nseries >= UINT32_MAX)
		return store__fail(st, -ENOMEM, "out of memory");
	sr = &q->series[q->nseries];
	sr->stack = p->stack;
	sr->task = ti;
	sr->count = 0;
	if (!smap__upsert(&q->series_idx, key, q->nseries, NULL))
		return store__fail(st, -ENOMEM, "out of memory");
	*idx = (uint32_t)q->nseries++;
	return 0;
}

/* Scan callback: maps the pairs of a blob to q->series. */
static int q__table(struct store *st, const struct store_pair *pairs, const int64_t *series,
		    size_t n, void *ctx)
{
	struct qstate *q = ctx;
	size_t i;
	int err;

	if (mem__grow((void **)&q->map, &q->map_cap, n ? n : 1, sizeof(*q->map)))
		return store__fail(st, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		err = q__pair(st, q, &pairs[i], &q->map[i]);
		if (err)
			return err;
	}
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void q__meta(struct qstate *q, const struct scan_window *w)
{
	struct profile_lost *l = &q->meta.lost;

	if (!q->meta_seen || w->start_ns < q->meta.start_ns)
		q->meta.start_ns = w->start_ns;
	if (w->end_ns > q->meta.end_ns)
		q->meta.end_ns = w->end_ns;
	if (!q->meta.freq_hz)
		q->meta.freq_hz = w->freq_hz;
	if (!q->meta.period_ns)
		q->meta.period_ns = w->period_ns;
	q->meta_seen = true;
	l->samples = sat_add(l->samples, w->lost.samples);
	l->kstack_errors = sat_add(l->kstack_errors, w->lost.kstack_errors);
	l->ustack_errors = sat_add(l->ustack_errors, w->lost.ustack_errors);
	l->stack_collisions = sat_add(l->stack_collisions, w->lost.stack_collisions);
	l->stack_map_full = sat_add(l->stack_map_full, w->lost.stack_map_full);
	l->count_map_full = sat_add(l->count_map_full, w->lost.count_map_full);
	l->ringbuf_full = sat_add(l->ringbuf_full, w->lost.ringbuf_full);
	l->truncated = sat_add(l->truncated, w->lost.truncated);
}

/* Scan callback: sums the counts of each pair (and the window meta). */
static int q__sum(struct store *st, const struct scan_window *w, const struct store_row *rows,
		  size_t n, void *ctx)
{
	struct qstate *q = ctx;
	struct qseries *sr;
	size_t i;

	q__meta(q, w);
	for (i = 0; i < n; i++) {
		sr = &q->series[q->map[rows[i].pair]];
		sr->count = sat_add(sr->count, rows[i].count);
	}
	return 0;
}

static const struct scan_ops q__sum_ops = {.table = q__table, .window = q__sum};

/* Output string id for database string @id. */
static int q__out_str(struct store *st, struct qstate *q, int64_t id, uint32_t *out)
{
	sqlite3_stmt *s;
	int64_t oid = -1;
	uint64_t *v;
	int rc;

	if (!id) {
		*out = 0;
		return 0;
	}
	v = smap__find(&q->str_out, (uint64_t)id);
	if (v) {
		*out = (uint32_t)*v;
		return 0;
	}
	s = store__stmt(st, STMT_STR_GET);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *b = sqlite3_column_blob(s, 0);

		oid = profile__intern_n(q->out, b ? b : "",
					b ? (size_t)sqlite3_column_bytes(s, 0) : 0);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, -EINVAL, "database %s is corrupt: string %lld is missing",
				   st->path, (long long)id);
	if (rc != SQLITE_ROW)
		return store__sqlerr(st, rc, "read string");
	if (oid < 0 || !smap__upsert(&q->str_out, (uint64_t)id, (uint64_t)oid, NULL))
		return store__fail(st, oid < 0 ? (int)oid : -ENOMEM, "out of memory");
	*out = (uint32_t)oid;
	return 0;
}

static int q__out_frame(struct store *st, struct qstate *q, int64_t id, uint32_t *out)
{
	int64_t name = 0, module = 0, file = 0, oid;
	struct profile_frame f;
	sqlite3_stmt *s;
	uint64_t *v;
	int rc, err;

	v = smap__find(&q->frame_out, (uint64_t)id);
	if (v) {
		*out = (uint32_t)*v;
		return 0;
	}
	memset(&f, 0, sizeof(f));
	s = store__stmt(st, STMT_FRAME_GET);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		name = sqlite3_column_int64(s, 0);
		module = sqlite3_column_int64(s, 1);
		file = sqlite3_column_int64(s, 2);
		f.line = (uint32_t)sqlite3_column_int64(s, 3);
		f.addr = (uint64_t)sqlite3_column_int64(s, 4);
		f.kind = (uint32_t)sqlite3_column_int64(s, 5);
		f.start_line = (uint32_t)sqlite3_column_int64(s, 6);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, -EINVAL, "database %s is corrupt: frame %lld is missing",
				   st->path, (long long)id);
	if (rc != SQLITE_ROW)
		return store__sqlerr(st, rc, "read frame");
	err = q__out_str(st, q, name, &f.name);
	if (!err)
		err = q__out_str(st, q, module, &f.module);
	if (!err)
		err = q__out_str(st, q, file, &f.file);
	if (err)
		return err;
	if (module && !smap__upsert(&q->mod_out, (uint64_t)module, f.module, NULL))
		return store__fail(st, -ENOMEM, "out of memory");
	oid = profile__add_frame(q->out, &f);
	if (oid < 0 || !smap__upsert(&q->frame_out, (uint64_t)id, (uint64_t)oid, NULL))
		return store__fail(st, oid < 0 ? (int)oid : -ENOMEM, "out of memory");
	*out = (uint32_t)oid;
	return 0;
}

static int q__out_stack(struct store *st, struct qstate *q, int64_t id, uint32_t *out)
{
	sqlite3_stmt *s;
	uint32_t n = 0, i;
	uint64_t *v;
	int64_t oid;
	int rc, err = 0;

	v = smap__find(&q->stack_out, (uint64_t)id);
	if (v) {
		*out = (uint32_t)*v;
		return 0;
	}
	s = store__stmt(st, STMT_STACK_GET);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		err = stackblob__decode(sqlite3_column_blob(s, 0),
					(size_t)sqlite3_column_bytes(s, 0), &q->ids, &q->ids_cap,
					&n);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE || err == -EINVAL)
		return store__fail(st, -EINVAL, "database %s is corrupt: stack %lld is %s",
				   st->path, (long long)id, err ? "malformed" : "missing");
	if (rc != SQLITE_ROW)
		return store__sqlerr(st, rc, "read stack");
	if (err || mem__grow((void **)&q->oframes, &q->oframes_cap, n ? n : 1, sizeof(*q->oframes)))
		return store__fail(st, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		err = q__out_frame(st, q, q->ids[i], &q->oframes[i]);
		if (err)
			return err;
	}
	oid = profile__add_stack(q->out, q->oframes, n);
	if (oid < 0 || !smap__upsert(&q->stack_out, (uint64_t)id, (uint64_t)oid, NULL))
		return store__fail(st, oid < 0 ? (int)oid : -ENOMEM, "out of memory");
	*out = (uint32_t)oid;
	return 0;
}

static int q__out_task(struct store *st, struct qstate *q, struct qtask *t, uint32_t *out)
{
	struct profile_task pt;
	int64_t oid;
	int err;

	if (t->out != UINT32_MAX) {
		*out = t->out;
		return 0;
	}
	memset(&pt, 0, sizeof(pt));
	pt.pid = t->pid;
	pt.tid = t->tid;
	pt.start_time = t->start_time;
	err = q__out_str(st, q, t->comm, &pt.comm);
	if (!err)
		err = q__out_str(st, q, t->exe, &pt.exe);
	if (!err)
		err = q__out_str(st, q, t->cgroup, &pt.cgroup);
	if (err)
		return err;
	oid = profile__add_task(q->out, &pt);
	if (oid < 0)
		return store__fail(st, (int)oid, "out of memory");
	t->out = (uint32_t)oid;
	*out = t->out;
	return 0;
}

static int qseries__cmp(const void *a, const void *b)
{
	const struct qseries *x = a, *y = b;

	if (x->stack != y->stack)
		return (x->stack > y->stack) - (x->stack < y->stack);
	return (x->task > y->task) - (x->task < y->task);
}

static int q__build(struct store *st, struct qstate *q)
{
	uint32_t stack = 0, task = 0;
	struct qseries *sr;
	size_t i;
	int err;

	/* Database order: stacks, frames and strings are read with some locality. */
	if (q->nseries > 1)
		qsort(q->series, q->nseries, sizeof(*q->series), qseries__cmp);
	for (i = 0; i < q->nseries; i++) {
		sr = &q->series[i];
		if (!sr->count || !q->tasks[sr->task].match)
			continue;
		err = q__out_task(st, q, &q->tasks[sr->task], &task);
		if (!err)
			err = q__out_stack(st, q, sr->stack, &stack);
		if (err)
			return err;
		err = profile__add_sample(q->out, stack, task, sr->count);
		if (err)
			return store__fail(st, err, "cannot add samples");
	}
	return 0;
}

/* The build ids of the modules the output's frames name, from the builds table. */
static int q__build_ids(struct store *st, struct qstate *q)
{
	const struct smap *m = &q->mod_out;
	uint32_t build_id;
	int64_t id = 0;
	sqlite3_stmt *s;
	size_t i;
	int rc, err;

	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].key == SMAP_EMPTY)
			continue;
		s = store__stmt(st, STMT_BUILD_GET);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, (int64_t)m->slots[i].key);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW)
			return store__sqlerr(st, rc, "read build id");
		err = q__out_str(st, q, id, &build_id);
		if (err)
			return err;
		/* A build id of "" (string 0) names nothing. */
		if (!build_id)
			continue;
		err = profile__set_build_id(q->out, (uint32_t)m->slots[i].val, build_id);
		if (err)
			return store__fail(st, err, "cannot record a build id");
	}
	return 0;
}

static void q__meta_out(struct qstate *q, struct profile *out)
{
	struct profile_meta *m = profile__meta(out);
	struct profile_lost *dl = &m->lost, *sl = &q->meta.lost;

	if (!q->meta_seen)
		return;
	if (!m->start_ns || q->meta.start_ns < m->start_ns)
		m->start_ns = q->meta.start_ns;
	if (q->meta.end_ns > m->end_ns)
		m->end_ns = q->meta.end_ns;
	if (!m->freq_hz)
		m->freq_hz = q->meta.freq_hz;
	if (!m->period_ns)
		m->period_ns = q->meta.period_ns;
	dl->samples = sat_add(dl->samples, sl->samples);
	dl->kstack_errors = sat_add(dl->kstack_errors, sl->kstack_errors);
	dl->ustack_errors = sat_add(dl->ustack_errors, sl->ustack_errors);
	dl->stack_collisions = sat_add(dl->stack_collisions, sl->stack_collisions);
	dl->stack_map_full = sat_add(dl->stack_map_full, sl->stack_map_full);
	dl->count_map_full = sat_add(dl->count_map_full, sl->count_map_full);
	dl->ringbuf_full = sat_add(dl->ringbuf_full, sl->ringbuf_full);
	dl->truncated = sat_add(dl->truncated, sl->truncated);
}

static int q__check(struct store *st, const struct store_filter *f)
{
	if (f->to_ns && f->to_ns <= f->from_ns)
		return store__fail(st, -EINVAL, "empty time range (to is not after from)");
	return 0;
}

int store__query(struct store *st, const struct store_filter *f, struct profile *out)
{
	struct qstate q;
	int err;

	err = q__check(st, f);
	if (err)
		return err;
	qstate__init(&q, f);
	q.out = out;
	err = store__begin(st, false);
	if (err)
		goto out;
	err = store__scan(st, f->from_ns, f->to_ns, 0, true, &q__sum_ops, &q);
	if (!err)
		err = q__build(st, &q);
	if (!err)
		err = q__build_ids(st, &q);
	if (!err)
		q__meta_out(&q, out);
	store__rollback(st);
out:
	qstate__exit(&q);
	return err;
}

/* Scan callback of the timeline. */
static int q__point(struct store *st, const struct scan_window *w, const struct store_row *rows,
		    size_t n, void *ctx)
{
	struct qstate *q = ctx;
	uint64_t sum = 0, b;
	size_t i;

	b = w->start_ns < q->t0 ? 0 : (w->start_ns - q->t0) / q->step;
	if (b >= q->npts)
		return 0;
	if (!q->filtered) {
		sum = w->samples;
	} else {
		for (i = 0; i < n; i++) {
			if (q->tasks[q->series[q->map[rows[i].pair]].task].match)
				sum += rows[i].count;
		}
	}
	q->pts[b].samples = sat_add(q->pts[b].samples, sum);
	return 0;
}

static const struct scan_ops q__point_ops = {.table = q__table, .window = q__point};

/* The span of the windows overlapping [from, to): min start, max end. */
static int q__span(struct store *st, const struct store_filter *f, uint64_t *lo, uint64_t *hi,
		   bool *any)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT count(*), min(start_ns), max(end_ns) FROM windows"
				" WHERE end_ns > ?1 AND start_ns < ?2",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "read windows");
	sqlite3_bind_int64(s, 1, clamp_i64(f->from_ns));
	sqlite3_bind_int64(s, 2, f->to_ns ? clamp_i64(f->to_ns) : INT64_MAX);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*any = sqlite3_column_int64(s, 0) > 0;
		*lo = (uint64_t)sqlite3_column_int64(s, 1);
		*hi = (uint64_t)sqlite3_column_int64(s, 2);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : store__sqlerr(st, rc, "read windows");
}

int store__timeline(struct store *st, const struct store_filter *f, uint64_t step_ns,
		    struct store_point **pts, size_t *n)
{
	uint64_t lo = 0, hi = 0, end, nb, i;
	struct qstate q;
	bool any = false;
	int err;

	*pts = NULL;
	*n = 0;
	if (!step_ns)
		return store__fail(st, -EINVAL, "timeline step must be above 0");
	err = q__check(st, f);
	if (err)
		return err;
	qstate__init(&q, f);
	err = store__begin(st, false);
	if (err)
		goto out;
	err = q__span(st, f, &lo, &hi, &any);
	if (err || (!any && (!f->from_ns || !f->to_ns)))
		goto out_rollback;
	q.step = step_ns;
	q.t0 = f->from_ns ? f->from_ns : lo / step_ns * step_ns;
	end = f->to_ns ? f->to_ns : hi;
	nb = end > q.t0 ? (end - q.t0 - 1) / step_ns + 1 : 0;
	if (nb > TIMELINE_MAX_POINTS) {
		err = store__fail(st, -E2BIG, "timeline of %llu points: choose a larger step",
				  (unsigned long long)nb);
		goto out_rollback;
	}
	q.npts = (size_t)nb;
	q.pts = calloc(nb ? nb : 1, sizeof(*q.pts));
	if (!q.pts) {
		err = store__fail(st, -ENOMEM, "out of memory");
		goto out_rollback;
	}
	for (i = 0; i < nb; i++)
		q.pts[i].t_ns = q.t0 + i * step_ns;
	err = store__scan(st, f->from_ns, f->to_ns, 0, q.filtered, &q__point_ops, &q);
	if (err) {
		free(q.pts);
		goto out_rollback;
	}
	*pts = q.pts;
	*n = q.npts;
out_rollback:
	store__rollback(st);
out:
	qstate__exit(&q);
	return err;
}

struct qproc {
	size_t task; /* representative task: most samples */
	uint32_t pid;
	uint64_t start_time;
	uint64_t samples;
};

static int qproc__by_key(const void *a, const void *b)
{
	const struct qproc *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start_time != y->start_time)
		return x->start_time < y->start_time ? -1 : 1;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return (x->task > y->task) - (x->task < y->task);
}

static int qproc__by_samples(const void *a, const void *b)
{
	const struct qproc *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->start_time > y->start_time) - (x->start_time < y->start_time);
}

/* A string of the database as a new C string. */
static int q__strdup(struct store *st, int64_t id, char **out)
{
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	if (!id) {
		*out = strdup("");
		return *out ? 0 : store__fail(st, -ENOMEM, "out of memory");
	}
	s = store__stmt(st, STMT_STR_GET);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s, 0);
		const void *b = sqlite3_column_blob(s, 0);

		*out = malloc(len + 1);
		if (*out) {
			if (len)
				memcpy(*out, b, len);
			(*out)[len] = '\0';
		}
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, -EINVAL, "database %s is corrupt: string %lld is missing",
				   st->path, (long long)id);
	if (rc != SQLITE_ROW)
		return store__sqlerr(st, rc, "read string");
	return *out ? 0 : store__fail(st, -ENOMEM, "out of memory");
}

/* Groups the matching tasks' samples by process (pid, start time). */
static int q__procs(struct store *st, struct qstate *q, struct store_process **v, size_t *n)
{
	struct store_process *res = NULL;
	struct qproc *pr = NULL;
	size_t i, k = 0, np = 0;
	struct qtask *t;
	int err = 0;

	for (i = 0; i < q->nseries; i++)
		q->tasks[q->series[i].task].samples += q->series[i].count;
	pr = calloc(q->ntasks ? q->ntasks : 1, sizeof(*pr));
	if (!pr)
		return store__fail(st, -ENOMEM, "out of memory");
	for (i = 0; i < q->ntasks; i++) {
		t = &q->tasks[i];
		if (!t->match || !t->samples)
			continue;
		pr[np++] = (struct qproc){.task = i,
					  .pid = t->pid,
					  .start_time = t->start_time,
					  .samples = t->samples};
	}
	qsort(pr, np, sizeof(*pr), qproc__by_key);
	for (i = 0; i < np; i++) {
		if (k && pr[k - 1].pid == pr[i].pid && pr[k - 1].start_time == pr[i].start_time)
			pr[k - 1].samples += pr[i].samples;
		else
			pr[k++] = pr[i];
	}
	qsort(pr, k, sizeof(*pr), qproc__by_samples);
	res = calloc(k ? k : 1, sizeof(*res));
	if (!res) {
		err = store__fail(st, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < k && !err; i++) {
		t = &q->tasks[pr[i].task];
		res[i].pid = pr[i].pid;
		res[i].start_time = pr[i].start_time;
		res[i].samples = pr[i].samples;
		err = q__strdup(st, t->comm, &res[i].comm);
		if (!err)
			err = q__strdup(st, t->exe, &res[i].exe);
		if (!err)
			err = q__strdup(st, t->cgroup, &res[i].cgroup);
	}
	if (err) {
		store__processes_free(res, k);
		goto out;
	}
	*v = res;
	*n = k;
out:
	free(pr);
	return err;
}

int store__processes(struct store *st, const struct store_filter *f, struct store_process **v,
		     size_t *n)
{
	struct qstate q;
	int err;

	*v = NULL;
	*n = 0;
	err = q__check(st, f);
	if (err)
		return err;
	qstate__init(&q, f);
	err = store__begin(st, false);
	if (err)
		goto out;
	err = store__scan(st, f->from_ns, f->to_ns, 0, true, &q__sum_ops, &q);
	if (!err)
		err = q__procs(st, &q, v, n);
	store__rollback(st);
out:
	qstate__exit(&q);
	return err;
}

void store__processes_free(struct store_process *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].comm);
		free(v[i].exe);
		free(v[i].cgroup);
	}
	free(v);
}
