/*
 * The writer: store__write_window() and its in-memory mirror of the
 * dictionary tables (strings, frames, stacks, tasks, builds). A window's blob
 * names (task, stack) pairs by database ids (blob.c).
 *
 * The mirror is a struct profile (which already deduplicates everything by
 * content) plus arrays from its dense ids to database ids, so writing a
 * window costs lookups, and inserts only for what the database has not seen.
 * The writer assigns database ids itself. The mirror is valid for one value
 * of meta "dict_gen": every transaction that inserts or deletes dictionary
 * rows bumps it, and a writer that finds another value (retention ran on a
 * sibling connection, or another connection wrote) reloads the mirror inside
 * its transaction. A failed transaction drops the mirror.
 *
 * Build ids of modules are kept in the mirror profile too (module string ->
 * build id string), so that a module's row is inserted once: the first build
 * id stored for a module name stays, as in the profile model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define WC_NONE UINT32_MAX

void wcache__free(struct store_wcache *wc)
{
	profile__free(wc->dict);
	free(wc->str_db);
	free(wc->frame_db);
	free(wc->stack_db);
	free(wc->task_db);
	memset(wc, 0, sizeof(*wc));
}

/* Sets arr[id] = v, growing the array. */
static int wcache__set(int64_t **arr, size_t *cap, uint32_t id, int64_t v)
{
	size_t ncap = *cap ? *cap : 256;
	int64_t *n;

	if (id >= *cap) {
		while (ncap <= id)
			ncap *= 2;
		n = realloc(*arr, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		*arr = n;
		*cap = ncap;
	}
	(*arr)[id] = v;
	return 0;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Looks a database id up in a db id -> dict id map; 0 maps to 0 for strings. */
static int wcache__xlat(struct store *st, const struct smap *m, int64_t id, bool zero_ok,
			const char *what, int64_t owner, uint32_t *out)
{
	uint64_t *v;

	if (zero_ok && id == 0) {
		*out = 0;
		return 0;
	}
	v = id > 0 ? smap__find(m, (uint64_t)id) : NULL;
	if (!v)
		return store__fail(st, -EINVAL,
				   "database %s is corrupt: %s of %lld is missing (%lld)", st->path,
				   what, (long long)owner, (long long)id);
	*out = (uint32_t)*v;
	return 0;
}

static int wcache__load_strings(struct store *st, struct smap *strs)
{
	struct store_wcache *wc = &st->wc;
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT id, s FROM strings", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "load strings");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), did;
		const char *b = sqlite3_column_blob(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);

		did = profile__intern_n(wc->dict, b ? b : "", b ? len : 0);
		if (did < 0 || wcache__set(&wc->str_db, &wc->str_cap, (uint32_t)did, id) ||
		    !smap__upsert(strs, (uint64_t)id, (uint64_t)did, NULL)) {
			err = store__fail(st, did < 0 ? (int)did : -ENOMEM, "out of memory");
			break;
		}
		wc->next_str = max64(wc->next_str, id + 1);
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "load strings");
	return err;
}

static int wcache__load_frames(struct store *st, const struct smap *strs, struct smap *frames)
{
	struct store_wcache *wc = &st->wc;
	struct profile_frame f;
	sqlite3_stmt *s;
	int rc, err = 0;
	int64_t did;

	rc = sqlite3_prepare_v2(
		st->db, "SELECT id, name, module, file, line, addr, kind, start_line FROM frames",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "load frames");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);

		memset(&f, 0, sizeof(f));
		err = wcache__xlat(st, strs, sqlite3_column_int64(s, 1), true, "name of frame", id,
				   &f.name);
		if (!err)
			err = wcache__xlat(st, strs, sqlite3_column_int64(s, 2), true,
					   "module of frame", id, &f.module);
		if (!err)
			err = wcache__xlat(st, strs, sqlite3_column_int64(s, 3), true,
					   "file of frame", id, &f.file);
		if (err)
			break;
		f.line = (uint32_t)sqlite3_column_int64(s, 4);
		f.addr = (uint64_t)sqlite3_column_int64(s, 5);
		f.kind = (uint32_t)sqlite3_column_int64(s, 6);
		f.start_line = (uint32_t)sqlite3_column_int64(s, 7);
		did = profile__add_frame(wc->dict, &f);
		if (did < 0 || wcache__set(&wc->frame_db, &wc->frame_cap, (uint32_t)did, id) ||
		    !smap__upsert(frames, (uint64_t)id, (uint64_t)did, NULL)) {
			err = store__fail(st, did < 0 ? (int)did : -ENOMEM, "out of memory");
			break;
		}
		wc->next_frame = max64(wc->next_frame, id + 1);
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "load frames");
	return err;
}

static int wcache__load_stacks(struct store *st, const struct smap *frames, struct smap *stacks)
{
	struct store_wcache *wc = &st->wc;
	uint32_t *dframes = NULL, n, i;
	int64_t *ids = NULL, did;
	size_t cap = 0;
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT id, frames FROM stacks", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "load stacks");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		size_t oldcap = cap;
		uint32_t *nd;

		err = stackblob__decode(sqlite3_column_blob(s, 1),
					(size_t)sqlite3_column_bytes(s, 1), &ids, &cap, &n);
		if (err) {
			if (err == -EINVAL)
				store__fail(st, err,
					    "database %s is corrupt: stack %lld does not decode",
					    st->path, (long long)id);
			break;
		}
		if (cap != oldcap) {
			nd = realloc(dframes, cap * sizeof(*nd));
			if (!nd) {
				err = -ENOMEM;
				break;
			}
			dframes = nd;
		}
		for (i = 0; i < n && !err; i++)
			err = wcache__xlat(st, frames, ids[i], false, "frame of stack", id,
					   &dframes[i]);
		if (err)
			break;
		did = profile__add_stack(wc->dict, dframes, n);
		if (did < 0 || wcache__set(&wc->stack_db, &wc->stack_cap, (uint32_t)did, id) ||
		    !smap__upsert(stacks, (uint64_t)id, (uint64_t)did, NULL)) {
			err = store__fail(st, did < 0 ? (int)did : -ENOMEM, "out of memory");
			break;
		}
		wc->next_stack = max64(wc->next_stack, id + 1);
	}
	sqlite3_finalize(s);
	free(dframes);
	free(ids);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "load stacks");
	return err;
}

static int wcache__load_tasks(struct store *st, const struct smap *strs, struct smap *tasks)
{
	struct store_wcache *wc = &st->wc;
	struct profile_task t;
	sqlite3_stmt *s;
	int rc, err = 0;
	int64_t did;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT id, pid, tid, start_time, comm, exe, cgroup FROM tasks", -1,
				&s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "load tasks");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);

		memset(&t, 0, sizeof(t));
		t.pid = (uint32_t)sqlite3_column_int64(s, 1);
		t.tid = (uint32_t)sqlite3_column_int64(s, 2);
		t.start_time = (uint64_t)sqlite3_column_int64(s, 3);
		err = wcache__xlat(st, strs, sqlite3_column_int64(s, 4), true, "comm of task", id,
				   &t.comm);
		if (!err)
			err = wcache__xlat(st, strs, sqlite3_column_int64(s, 5), true,
					   "exe of task", id, &t.exe);
		if (!err)
			err = wcache__xlat(st, strs, sqlite3_column_int64(s, 6), true,
					   "cgroup of task", id, &t.cgroup);
		if (err)
			break;
		did = profile__add_task(wc->dict, &t);
		if (did < 0 || wcache__set(&wc->task_db, &wc->task_cap, (uint32_t)did, id) ||
		    !smap__upsert(tasks, (uint64_t)id, (uint64_t)did, NULL)) {
			err = store__fail(st, did < 0 ? (int)did : -ENOMEM, "out of memory");
			break;
		}
		wc->next_task = max64(wc->next_task, id + 1);
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "load tasks");
	return err;
}

static int wcache__load_builds(struct store *st, const struct smap *strs)
{
	struct store_wcache *wc = &st->wc;
	uint32_t module, build_id;
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT module, build_id FROM builds", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "load builds");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);

		err = wcache__xlat(st, strs, id, false, "module of builds row", id, &module);
		if (!err)
			err = wcache__xlat(st, strs, sqlite3_column_int64(s, 1), false,
					   "build id of builds row", id, &build_id);
		if (err)
			break;
		err = profile__set_build_id(wc->dict, module, build_id);
		if (err) {
			if (err == -EINVAL)
				store__fail(st, err, "database %s is corrupt: build of %lld is bad",
					    st->path, (long long)id);
			else
				store__fail(st, err, "out of memory");
			break;
		}
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "load builds");
	return err;
}

/* Rebuilds the mirror from the database, inside the caller's transaction. */
static int wcache__load(struct store *st, int64_t gen)
{
	struct store_wcache *wc = &st->wc;
	struct smap strs, frames, stacks, tasks;
	int err;

	wcache__free(wc);
	smap__init(&strs);
	smap__init(&frames);
	smap__init(&stacks);
	smap__init(&tasks);
	wc->dict = profile__new();
	if (!wc->dict || wcache__set(&wc->str_db, &wc->str_cap, 0, 0)) {
		err = store__fail(st, -ENOMEM, "out of memory");
		goto out;
	}
	wc->next_str = wc->next_frame = wc->next_stack = wc->next_task = 1;
	err = wcache__load_strings(st, &strs);
	if (!err)
		err = wcache__load_frames(st, &strs, &frames);
	if (!err)
		err = wcache__load_stacks(st, &frames, &stacks);
	if (!err)
		err = wcache__load_tasks(st, &strs, &tasks);
	if (!err)
		err = wcache__load_builds(st, &strs);
	if (!err) {
		wc->gen = gen;
		wc->valid = true;
	}
out:
	smap__exit(&tasks);
	smap__exit(&stacks);
	smap__exit(&frames);
	smap__exit(&strs);
	if (err)
		wcache__free(wc);
	return err;
}

/* Per-window translation: window ids -> mirror ids (WC_NONE: not yet). */
struct wmap {
	uint32_t *str, *frame, *stack, *task;
	uint32_t *dframes; /* scratch for one stack */
	int64_t *dbframes;
	size_t depth_cap;
	bool dirty; /* dictionary rows were inserted */
};

static int step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : store__sqlerr(st, rc, what);
}

static int wmap__str(struct store *st, const struct profile *win, struct wmap *m, uint32_t wid,
		     uint32_t *out)
{
	struct store_wcache *wc = &st->wc;
	uint32_t n0 = profile__str_count(wc->dict);
	const char *str;
	sqlite3_stmt *s;
	int64_t did;
	int err;

	if (!wid || m->str[wid] != WC_NONE) {
		*out = wid ? m->str[wid] : 0;
		return 0;
	}
	str = profile__str(win, wid);
	did = profile__intern(wc->dict, str);
	if (did < 0)
		return store__fail(st, (int)did, "out of memory");
	if ((uint32_t)did == n0) {
		err = wcache__set(&wc->str_db, &wc->str_cap, (uint32_t)did, wc->next_str);
		if (err)
			return store__fail(st, err, "out of memory");
		s = store__stmt(st, STMT_STR_INS);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, wc->next_str);
		sqlite3_bind_blob(s, 2, str, (int)strlen(str), SQLITE_STATIC);
		err = step_done(st, s, "write string");
		if (err)
			return err;
		wc->next_str++;
		m->dirty = true;
	}
	m->str[wid] = (uint32_t)did;
	*out = (uint32_t)did;
	return 0;
}

static int wmap__frame(struct store *st, const struct profile *win, struct wmap *m, uint32_t wid,
		       uint32_t *out)
{
	struct store_wcache *wc = &st->wc;
	uint32_t n0 = profile__frame_count(wc->dict);
	struct profile_frame f;
	sqlite3_stmt *s;
	int64_t did;
	int err;

	if (m->frame[wid] != WC_NONE) {
		*out = m->frame[wid];
		return 0;
	}
	f = *profile__frame(win, wid);
	err = wmap__str(st, win, m, f.name, &f.name);
	if (!err)
		err = wmap__str(st, win, m, f.module, &f.module);
	if (!err)
		err = wmap__str(st, win, m, f.file, &f.file);
	if (err)
		return err;
	did = profile__add_frame(wc->dict, &f);
	if (did < 0)
		return store__fail(st, (int)did, "out of memory");
	if ((uint32_t)did == n0) {
		err = wcache__set(&wc->frame_db, &wc->frame_cap, (uint32_t)did, wc->next_frame);
		if (err)
			return store__fail(st, err, "out of memory");
		s = store__stmt(st, STMT_FRAME_INS);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, wc->next_frame);
		sqlite3_bind_int64(s, 2, wc->str_db[f.name]);
		sqlite3_bind_int64(s, 3, wc->str_db[f.module]);
		sqlite3_bind_int64(s, 4, wc->str_db[f.file]);
		sqlite3_bind_int64(s, 5, f.line);
		sqlite3_bind_int64(s, 6, (int64_t)f.addr);
		sqlite3_bind_int64(s, 7, f.kind);
		sqlite3_bind_int64(s, 8, f.start_line);
		err = step_done(st, s, "write frame");
		if (err)
			return err;
		wc->next_frame++;
		m->dirty = true;
	}
	m->frame[wid] = (uint32_t)did;
	*out = (uint32_t)did;
	return 0;
}

static int wmap__depth(struct wmap *m, uint32_t n)
{
	uint32_t *d;
	int64_t *b;

	if (n <= m->depth_cap)
		return 0;
	d = realloc(m->dframes, (size_t)n * sizeof(*d));
	if (!d)
		return -ENOMEM;
	m->dframes = d;
	b = realloc(m->dbframes, (size_t)n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	m->dbframes = b;
	m->depth_cap = n;
	return 0;
}

static int wmap__stack(struct store *st, const struct profile *win, struct wmap *m, uint32_t wid,
		       uint32_t *out)
{
	struct store_wcache *wc = &st->wc;
	uint32_t n0 = profile__stack_count(wc->dict), n, i;
	const uint32_t *frames;
	sqlite3_stmt *s;
	int64_t did;
	int err;

	if (m->stack[wid] != WC_NONE) {
		*out = m->stack[wid];
		return 0;
	}
	frames = profile__stack(win, wid, &n);
	err = wmap__depth(m, n);
	if (err)
		return store__fail(st, err, "out of memory");
	for (i = 0; i < n; i++) {
		err = wmap__frame(st, win, m, frames[i], &m->dframes[i]);
		if (err)
			return err;
	}
	did = profile__add_stack(wc->dict, m->dframes, n);
	if (did < 0)
		return store__fail(st, (int)did, "out of memory");
	if ((uint32_t)did == n0) {
		err = wcache__set(&wc->stack_db, &wc->stack_cap, (uint32_t)did, wc->next_stack);
		if (err)
			return store__fail(st, err, "out of memory");
		for (i = 0; i < n; i++)
			m->dbframes[i] = wc->frame_db[m->dframes[i]];
		err = stackblob__encode(m->dbframes, n, &st->raw);
		if (err)
			return store__fail(st, err, "out of memory");
		s = store__stmt(st, STMT_STACK_INS);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, wc->next_stack);
		sqlite3_bind_blob(s, 2, st->raw.p, (int)st->raw.len, SQLITE_STATIC);
		err = step_done(st, s, "write stack");
		if (err)
			return err;
		wc->next_stack++;
		m->dirty = true;
	}
	m->stack[wid] = (uint32_t)did;
	*out = (uint32_t)did;
	return 0;
}

static int wmap__task(struct store *st, const struct profile *win, struct wmap *m, uint32_t wid,
		      uint32_t *out)
{
	struct store_wcache *wc = &st->wc;
	uint32_t n0 = profile__task_count(wc->dict);
	struct profile_task t;
	sqlite3_stmt *s;
	int64_t did;
	int err;

	if (m->task[wid] != WC_NONE) {
		*out = m->task[wid];
		return 0;
	}
	t = *profile__task(win, wid);
	err = wmap__str(st, win, m, t.comm, &t.comm);
	if (!err)
		err = wmap__str(st, win, m, t.exe, &t.exe);
	if (!err)
		err = wmap__str(st, win, m, t.cgroup, &t.cgroup);
	if (err)
		return err;
	did = profile__add_task(wc->dict, &t);
	if (did < 0)
		return store__fail(st, (int)did, "out of memory");
	if ((uint32_t)did == n0) {
		err = wcache__set(&wc->task_db, &wc->task_cap, (uint32_t)did, wc->next_task);
		if (err)
			return store__fail(st, err, "out of memory");
		s = store__stmt(st, STMT_TASK_INS);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, wc->next_task);
		sqlite3_bind_int64(s, 2, t.pid);
		sqlite3_bind_int64(s, 3, t.tid);
		sqlite3_bind_int64(s, 4, (int64_t)t.start_time);
		sqlite3_bind_int64(s, 5, wc->str_db[t.comm]);
		sqlite3_bind_int64(s, 6, wc->str_db[t.exe]);
		sqlite3_bind_int64(s, 7, wc->str_db[t.cgroup]);
		err = step_done(st, s, "write task");
		if (err)
			return err;
		wc->next_task++;
		m->dirty = true;
	}
	m->task[wid] = (uint32_t)did;
	*out = (uint32_t)did;
	return 0;
}

static uint32_t *wmap__array(uint32_t n)
{
	uint32_t *a = malloc((n ? n : 1) * sizeof(*a));

	if (a)
		memset(a, 0xff, (n ? n : 1) * sizeof(*a));
	return a;
}

static void wmap__exit(struct wmap *m)
{
	free(m->str);
	free(m->frame);
	free(m->stack);
	free(m->task);
	free(m->dframes);
	free(m->dbframes);
}

/* Pair @dtask, @dstack (mirror ids) as row *@n of st->blob, or the row it already has. */
static int write__pair(struct store *st, struct smap *idx, uint32_t dtask, uint32_t dstack,
		       size_t *n, size_t *row)
{
	struct store_wcache *wc = &st->wc;
	struct store_blob *b = &st->blob;
	uint64_t *v;
	bool added;

	v = smap__upsert(idx, (uint64_t)dtask << 32 | dstack, *n, &added);
	if (!v)
		return store__fail(st, -ENOMEM, "out of memory");
	*row = (size_t)*v;
	if (!added)
		return 0;
	if (wc->task_db[dtask] > (int64_t)STORE_ID_MAX ||
	    wc->stack_db[dstack] > (int64_t)STORE_ID_MAX)
		return store__fail(st, -EOVERFLOW, "%s: task or stack ids beyond %u", st->path,
				   STORE_ID_MAX);
	if (mem__grow((void **)&b->pairs, &b->pairs_cap, *n + 1, sizeof(*b->pairs)) ||
	    blob__reserve(b, 1, *n + 1))
		return store__fail(st, -ENOMEM, "out of memory");
	b->pairs[*n] =
		(struct store_pair){.task = wc->task_db[dtask], .stack = wc->stack_db[dstack]};
	b->rows[*n] = (struct store_row){.pair = (uint32_t)*n};
	(*n)++;
	return 0;
}

/*
 * The samples of @win as the one window of st->blob: a row per distinct
 * (task, stack) pair, in database ids. *@total gets the samples.
 */
static int write__rows(struct store *st, const struct profile *win, struct wmap *m, uint64_t *total)
{
	const struct profile_sample *smp;
	struct store_blob *b = &st->blob;
	uint32_t dtask = 0, dstack = 0;
	size_t ns, i, n = 0, row = 0;
	struct smap idx;
	int err = 0;

	smp = profile__samples(win, &ns);
	*total = 0;
	smap__init(&idx);
	b->legacy = false;
	for (i = 0; i < ns && !err; i++) {
		if (!smp[i].count)
			continue;
		err = wmap__task(st, win, m, smp[i].task, &dtask);
		if (!err)
			err = wmap__stack(st, win, m, smp[i].stack, &dstack);
		if (err)
			break;
		err = write__pair(st, &idx, dtask, dstack, &n, &row);
		if (err)
			break;
		b->rows[row].count += smp[i].count;
		*total += smp[i].count;
		if (*total > INT64_MAX)
			err = store__fail(st, -EOVERFLOW, "too many samples in one window");
	}
	smap__exit(&idx);
	if (err)
		return err;
	if (blob__reserve(b, 1, n))
		return store__fail(st, -ENOMEM, "out of memory");
	b->npairs = b->nrows = n;
	b->nwins = 1;
	b->first[0] = 0;
	b->first[1] = n;
	return 0;
}

/*
 * A builds row for each module of the frames the window stores that has a
 * build id in @win and none yet in the database (the first one stays).
 */
static int write__builds(struct store *st, const struct profile *win, struct wmap *m)
{
	struct store_wcache *wc = &st->wc;
	uint32_t n = profile__frame_count(win), i, wmod, wbid, dmod, dbid;
	sqlite3_stmt *s;
	int err;

	for (i = 0; i < n; i++) {
		if (m->frame[i] == WC_NONE)
			continue;
		wmod = profile__frame(win, i)->module;
		wbid = wmod ? profile__build_id(win, wmod) : 0;
		if (!wbid)
			continue;
		/* Mapped with the frame. */
		dmod = m->str[wmod];
		if (profile__build_id(wc->dict, dmod))
			continue;
		err = wmap__str(st, win, m, wbid, &dbid);
		if (err)
			return err;
		err = profile__set_build_id(wc->dict, dmod, dbid);
		if (err)
			return store__fail(st, err, "cannot record a build id");
		s = store__stmt(st, STMT_BUILD_INS);
		if (!s)
			return -EIO;
		sqlite3_bind_int64(s, 1, wc->str_db[dmod]);
		sqlite3_bind_int64(s, 2, wc->str_db[dbid]);
		err = step_done(st, s, "write build id");
		if (err)
			return err;
		m->dirty = true;
	}
	return 0;
}

static int write__window_row(struct store *st, const struct profile_meta *meta, uint64_t total)
{
	const struct profile_lost *l = &meta->lost;
	sqlite3_stmt *s = store__stmt(st, STMT_WINDOW_INS);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)meta->start_ns);
	sqlite3_bind_int64(s, 2, (int64_t)meta->end_ns);
	sqlite3_bind_int64(s, 3, meta->freq_hz);
	sqlite3_bind_int64(s, 4, (int64_t)meta->period_ns);
	sqlite3_bind_int64(s, 5, (int64_t)total);
	sqlite3_bind_int64(s, 6, (int64_t)l->samples);
	sqlite3_bind_int64(s, 7, (int64_t)l->kstack_errors);
	sqlite3_bind_int64(s, 8, (int64_t)l->ustack_errors);
	sqlite3_bind_int64(s, 9, (int64_t)l->stack_collisions);
	sqlite3_bind_int64(s, 10, (int64_t)l->stack_map_full);
	sqlite3_bind_int64(s, 11, (int64_t)l->count_map_full);
	sqlite3_bind_int64(s, 12, (int64_t)l->ringbuf_full);
	sqlite3_bind_int64(s, 13, (int64_t)l->truncated);
	sqlite3_bind_blob(s, 14, st->out.p, (int)st->out.len, SQLITE_STATIC);
	return step_done(st, s, "write window");
}

/* The body of store__write_window(), inside its transaction. */
static int write__txn(struct store *st, const struct profile *win, struct wmap *m, int64_t *gen)
{
	const struct profile_meta *meta = profile__meta_c(win);
	uint64_t total = 0;
	int64_t maxw;
	int err;

	err = store__meta_get(st, "dict_gen", 0, gen);
	if (err)
		return err;
	if (!st->wc.valid || st->wc.gen != *gen) {
		err = wcache__load(st, *gen);
		if (err)
			return err;
	}
	err = write__rows(st, win, m, &total);
	if (!err)
		err = write__builds(st, win, m);
	if (err)
		return err;
	/* Sorted by task and stack id: one window has too few pairs for grouping to pay. */
	err = blob__encode(&st->blob, NULL, false, 0, st->cctx, &st->raw, &st->out);
	if (err)
		return store__fail(st, err, "cannot compress a window");
	err = write__window_row(st, meta, total);
	if (err)
		return err;
	if (m->dirty) {
		(*gen)++;
		err = store__meta_set(st, "dict_gen", *gen);
		if (err)
			return err;
	}
	err = store__meta_get(st, "max_window_ns", 0, &maxw);
	if (!err && (int64_t)(meta->end_ns - meta->start_ns) > maxw)
		err = store__meta_set(st, "max_window_ns",
				      (int64_t)(meta->end_ns - meta->start_ns));
	return err;
}

int store__write_window(struct store *st, const struct profile *window)
{
	const struct profile_meta *meta = profile__meta_c(window);
	struct wmap m = {0};
	int64_t gen = 0;
	int err;

	if (!st->writer)
		return store__fail(st, -EROFS, "%s is open for reading only", st->path);
	if (meta->start_ns >= meta->end_ns || meta->end_ns >= INT64_MAX)
		return store__fail(st, -EINVAL, "window has a bad time span (%llu..%llu)",
				   (unsigned long long)meta->start_ns,
				   (unsigned long long)meta->end_ns);
	m.str = wmap__array(profile__str_count(window));
	m.frame = wmap__array(profile__frame_count(window));
	m.stack = wmap__array(profile__stack_count(window));
	m.task = wmap__array(profile__task_count(window));
	if (!m.str || !m.frame || !m.stack || !m.task) {
		err = store__fail(st, -ENOMEM, "out of memory");
		goto out;
	}
	err = store__begin(st, true);
	if (err)
		goto out;
	err = write__txn(st, window, &m, &gen);
	if (!err)
		err = store__commit(st);
	else
		store__rollback(st);
	if (!err)
		st->wc.gen = gen;
out:
	/* The mirror may hold rows the rollback took back. */
	if (err)
		wcache__free(&st->wc);
	wmap__exit(&m);
	return err;
}
