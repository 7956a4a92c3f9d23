/*
 * Retention (store__retain): deletes whole windows by age and by size, in
 * small transactions, then reclaims the dictionary rows no window uses.
 *
 * Windows reference tasks and stacks (and, in blobs of schema 2, series)
 * only from inside their compressed blobs, so the reclaim decodes every
 * window's pair table to learn which are still used. That scan runs in a read
 * transaction (it does not hold up the writer); the write transaction that
 * follows decodes only the windows written since, then deletes the unused
 * series, tasks and stacks, the frames no stack names, the builds rows of
 * modules no frame names, and the strings no frame, task or builds row
 * names. Because the scan costs as much as a query of
 * everything, it runs only once the windows deleted since the last reclaim
 * reach 1/STORE_RECLAIM_DIV of those left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static int retain__int(struct store *st, const char *sql, int64_t *v)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "retention");
	rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store__sqlerr(st, rc, "retention");
	return 0;
}

/* Bytes of the pages in use (the file minus its free pages). */
static int retain__used(struct store *st, uint64_t *used)
{
	int64_t pages, free_pages, size;
	int err;

	err = retain__int(st, "PRAGMA page_count", &pages);
	if (!err)
		err = retain__int(st, "PRAGMA freelist_count", &free_pages);
	if (!err)
		err = retain__int(st, "PRAGMA page_size", &size);
	if (!err)
		*used = (uint64_t)(pages - free_pages) * (uint64_t)size;
	return err;
}

/*
 * Deletes up to @limit rows of windows, oldest end first; with @by_age only
 * those that ended before @cutoff. *@rows gets the rows deleted, *@n the
 * windows (a packed row holds several).
 */
static int retain__delete(struct store *st, bool by_age, uint64_t cutoff, int64_t limit,
			  int64_t *rows, int64_t *n)
{
	static const char *const sql[2][2] = {
		{"SELECT COALESCE(sum(nwin), 0) FROM windows WHERE id IN (SELECT id FROM windows"
		 " ORDER BY end_ns, id LIMIT ?2)",
		 "DELETE FROM windows WHERE id IN (SELECT id FROM windows"
		 " ORDER BY end_ns, id LIMIT ?2)"},
		{"SELECT COALESCE(sum(nwin), 0) FROM windows WHERE id IN (SELECT id FROM windows"
		 " WHERE end_ns < ?1 ORDER BY end_ns, id LIMIT ?2)",
		 "DELETE FROM windows WHERE id IN (SELECT id FROM windows"
		 " WHERE end_ns < ?1 ORDER BY end_ns, id LIMIT ?2)"},
	};
	int64_t pending;
	sqlite3_stmt *s;
	int i, rc = SQLITE_OK, err;

	*rows = *n = 0;
	err = store__begin(st, true);
	if (err)
		return err;
	for (i = 0; i < 2 && rc == SQLITE_OK; i++) {
		rc = sqlite3_prepare_v2(st->db, sql[by_age][i], -1, &s, NULL);
		if (rc != SQLITE_OK)
			break;
		if (by_age)
			sqlite3_bind_int64(s, 1, cutoff > INT64_MAX ? INT64_MAX : (int64_t)cutoff);
		sqlite3_bind_int64(s, 2, limit);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	if (rc != SQLITE_OK) {
		err = store__sqlerr(st, rc, "delete old windows");
		goto out_rollback;
	}
	*rows = sqlite3_changes(st->db);
	err = store__meta_get(st, "deleted_since_reclaim", 0, &pending);
	if (!err)
		err = store__meta_set(st, "deleted_since_reclaim", pending + *n);
	if (err)
		goto out_rollback;
	err = store__commit(st);
	if (!err)
		return 0;
out_rollback:
	store__rollback(st);
	*rows = *n = 0;
	return err;
}

/* What windows still use. */
struct retain_used {
	struct smap series, tasks, stacks;
};

static void retain_used__init(struct retain_used *u)
{
	smap__init(&u->series);
	smap__init(&u->tasks);
	smap__init(&u->stacks);
}

static void retain_used__exit(struct retain_used *u)
{
	smap__exit(&u->series);
	smap__exit(&u->tasks);
	smap__exit(&u->stacks);
}

/* Scan callback: marks the tasks, stacks and series of each blob's table as used. */
static int retain__mark(struct store *st, const struct store_pair *pairs, const int64_t *series,
			size_t n, void *ctx)
{
	struct retain_used *u = ctx;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!smap__upsert(&u->tasks, (uint64_t)pairs[i].task, 0, NULL) ||
		    !smap__upsert(&u->stacks, (uint64_t)pairs[i].stack, 0, NULL) ||
		    (series && !smap__upsert(&u->series, (uint64_t)series[i], 0, NULL)))
			return store__fail(st, -ENOMEM, "out of memory");
	}
	return 0;
}

static const struct scan_ops retain__mark_ops = {.table = retain__mark};

/*
 * Deletes the rows of @table whose id is not in @keep (ids collected first:
 * the table is not changed under a running SELECT). *@n gets the count.
 */
static int retain__sweep(struct store *st, const char *table, const struct smap *keep, int64_t *n)
{
	char sql[96];
	int64_t *ids = NULL, *nids;
	size_t nr = 0, cap = 0, i;
	sqlite3_stmt *s;
	int rc, err = 0;

	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT id FROM %s", table);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "reclaim");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);

		if (smap__find(keep, (uint64_t)id))
			continue;
		if (nr == cap) {
			cap = cap ? cap * 2 : 256;
			nids = realloc(ids, cap * sizeof(*ids));
			if (!nids) {
				err = store__fail(st, -ENOMEM, "out of memory");
				break;
			}
			ids = nids;
		}
		ids[nr++] = id;
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "reclaim");
	if (err)
		goto out;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?1", table);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = store__sqlerr(st, rc, "reclaim");
		goto out;
	}
	for (i = 0; i < nr; i++) {
		sqlite3_bind_int64(s, 1, ids[i]);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			err = store__sqlerr(st, rc, "reclaim");
			break;
		}
	}
	sqlite3_finalize(s);
	*n = (int64_t)nr;
out:
	free(ids);
	return err;
}

/* Marks the frames of every stack in @keep. */
static int retain__mark_frames(struct store *st, struct smap *keep)
{
	int64_t *ids = NULL;
	size_t cap = 0;
	sqlite3_stmt *s;
	uint32_t n, i;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT id, frames FROM stacks", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "reclaim");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		err = stackblob__decode(sqlite3_column_blob(s, 1),
					(size_t)sqlite3_column_bytes(s, 1), &ids, &cap, &n);
		if (err) {
			store__fail(st, err, "database %s is corrupt: stack %lld does not decode",
				    st->path, (long long)sqlite3_column_int64(s, 0));
			break;
		}
		for (i = 0; i < n; i++) {
			if (!smap__upsert(keep, (uint64_t)ids[i], 0, NULL)) {
				err = store__fail(st, -ENOMEM, "out of memory");
				break;
			}
		}
		if (err)
			break;
	}
	sqlite3_finalize(s);
	free(ids);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "reclaim");
	return err;
}

static int retain__changes(struct store *st, const char *sql, int64_t *n)
{
	int err = store__exec(st, sql);

	*n = err ? 0 : sqlite3_changes(st->db);
	return err;
}

/* The write half of the reclaim; @used holds what windows used at @seen_id. */
static int retain__reclaim_txn(struct store *st, struct retain_used *used, int64_t seen_id,
			       struct store_retain_stats *out)
{
	int64_t series, tasks, stacks, frames, builds, strings, gen;
	struct smap keep;
	int err;

	smap__init(&keep);
	err = store__scan(st, 0, 0, seen_id, true, &retain__mark_ops, used);
	if (!err)
		err = retain__sweep(st, "series", &used->series, &series);
	if (!err)
		err = retain__sweep(st, "stacks", &used->stacks, &stacks);
	if (!err)
		err = retain__sweep(st, "tasks", &used->tasks, &tasks);
	if (!err)
		err = retain__mark_frames(st, &keep);
	if (!err)
		err = retain__sweep(st, "frames", &keep, &frames);
	if (!err)
		err = retain__changes(
			st, "DELETE FROM builds WHERE module NOT IN (SELECT module FROM frames)",
			&builds);
	if (!err)
		err = retain__changes(
			st,
			"DELETE FROM strings WHERE id NOT IN ("
			"SELECT name FROM frames UNION SELECT module FROM frames"
			" UNION SELECT file FROM frames UNION SELECT comm FROM tasks"
			" UNION SELECT exe FROM tasks UNION SELECT cgroup FROM tasks"
			" UNION SELECT module FROM builds UNION SELECT build_id FROM builds)",
			&strings);
	if (!err && (series || stacks || tasks || frames || builds || strings)) {
		err = store__meta_get(st, "dict_gen", 0, &gen);
		if (!err)
			err = store__meta_set(st, "dict_gen", gen + 1);
	}
	if (!err)
		err = store__meta_set(st, "deleted_since_reclaim", 0);
	smap__exit(&keep);
	if (err)
		return err;
	out->stacks_deleted += (uint64_t)stacks;
	out->frames_deleted += (uint64_t)frames;
	out->strings_deleted += (uint64_t)strings;
	return 0;
}

static int retain__reclaim(struct store *st, struct store_retain_stats *out)
{
	struct store_retain_stats add = {0};
	struct retain_used used;
	int64_t seen_id;
	int err;

	retain_used__init(&used);
	err = store__begin(st, false);
	if (err)
		goto out;
	err = retain__int(st, "SELECT COALESCE(MAX(id), 0) FROM windows", &seen_id);
	if (!err)
		err = store__scan(st, 0, 0, 0, true, &retain__mark_ops, &used);
	store__rollback(st);
	if (err)
		goto out;
	err = store__begin(st, true);
	if (err)
		goto out;
	err = retain__reclaim_txn(st, &used, seen_id, &add);
	if (err) {
		store__rollback(st);
		goto out;
	}
	err = store__commit(st);
	if (!err) {
		out->stacks_deleted += add.stacks_deleted;
		out->frames_deleted += add.frames_deleted;
		out->strings_deleted += add.strings_deleted;
	}
out:
	retain_used__exit(&used);
	return err;
}

/* Reclaims when enough windows were deleted since the last reclaim. */
static int retain__maybe_reclaim(struct store *st, struct store_retain_stats *out)
{
	int64_t pending, left;
	int err;

	err = store__meta_get(st, "deleted_since_reclaim", 0, &pending);
	if (!err)
		err = retain__int(st, "SELECT COALESCE(sum(nwin), 0) FROM windows", &left);
	if (err || !pending || pending * STORE_RECLAIM_DIV < left)
		return err;
	return retain__reclaim(st, out);
}

/*
 * Deletes the oldest windows until the pages in use fit in @max_bytes. The
 * reclaim runs on the way, so rows only the deleted windows used count too.
 */
static int retain__by_size(struct store *st, uint64_t max_bytes, struct store_retain_stats *out)
{
	int64_t nrows, batch, rows, n;
	uint64_t used, avg;
	int err;

	for (;;) {
		err = retain__used(st, &used);
		if (!err)
			err = retain__int(st, "SELECT count(*) FROM windows", &nrows);
		if (err || used <= max_bytes || !nrows)
			return err;
		avg = used / (uint64_t)nrows;
		batch = (int64_t)((used - max_bytes + avg - 1) / (avg ? avg : 1));
		if (batch < 1)
			batch = 1;
		if (batch > STORE_RETAIN_BATCH)
			batch = STORE_RETAIN_BATCH;
		err = retain__delete(st, false, 0, batch, &rows, &n);
		if (!err)
			err = retain__maybe_reclaim(st, out);
		if (err)
			return err;
		out->windows_deleted += (uint64_t)n;
		if (!rows)
			return 0;
	}
}

int store__retain(struct store *st, uint64_t now_ns, uint64_t max_age_ns, uint64_t max_bytes,
		  struct store_retain_stats *out)
{
	struct store_retain_stats stats = {0};
	uint64_t packed = 0;
	int64_t rows, n;
	int err = 0, perr = 0;

	if (!st->writer)
		return store__fail(st, -EROFS, "%s is open for reading only", st->path);
	if (max_age_ns && now_ns > max_age_ns) {
		do {
			err = retain__delete(st, true, now_ns - max_age_ns, STORE_RETAIN_BATCH,
					     &rows, &n);
			stats.windows_deleted += (uint64_t)n;
		} while (!err && rows == STORE_RETAIN_BATCH);
	}
	if (!err)
		err = retain__maybe_reclaim(st, &stats);
	/*
	 * Packing before the size limit: packed windows take less room. A failed
	 * packing (disk full) does not stop the size limit from making room.
	 */
	if (!err)
		perr = store__pack(st, now_ns, &packed);
	if (!err && max_bytes)
		err = retain__by_size(st, max_bytes, &stats);
	if (!err)
		err = perr;
	/* Gives the free pages back to the file system. */
	if (!err && (stats.windows_deleted || stats.stacks_deleted || packed))
		err = store__exec(st, "PRAGMA incremental_vacuum");
	if (out)
		*out = stats;
	return err;
}
