/*
 * Packing (store__pack, run by store__retain): once a UTC hour has ended, the
 * rows of its windows are replaced by one row that holds them all, each
 * window whole (span, frequency, lost counters, samples), in one zstd frame of
 * encoding STORE_BLOB_COLS: the hour's (task, stack) pairs once, then for each
 * pair the windows it appears in and its counts there. Nothing is lost; the
 * hour costs one row, one index entry and one frame instead of 360, and a pair
 * seen in many windows costs a few bits a window. docs/storage.md describes
 * the blob.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* An hour is packed once: the slow levels pay (19 is 2% smaller than 15 here). */
#define STORE_PACK_LEVEL 19

/* The windows of an hour being packed. */
struct pack_acc {
	struct store_blob b; /* windows, their rows, the pairs the rows name */
	struct smap idx;     /* store_pair__key() -> pair index */
	int64_t *ids;	     /* row id of each window */
	size_t ids_cap;
	struct scan_window sum; /* span, samples and lost counters of the row */
};

static void pack_acc__free(struct pack_acc *acc)
{
	blob__exit(&acc->b);
	smap__exit(&acc->idx);
	free(acc->ids);
}

static void pack__add_lost(struct profile_lost *d, const struct profile_lost *s)
{
	d->samples += s->samples;
	d->kstack_errors += s->kstack_errors;
	d->ustack_errors += s->ustack_errors;
	d->stack_collisions += s->stack_collisions;
	d->stack_map_full += s->stack_map_full;
	d->count_map_full += s->count_map_full;
	d->ringbuf_full += s->ringbuf_full;
	d->truncated += s->truncated;
}

/* Keeps window @w, decoded in st->blob, with its rows renamed to the hour's pairs. */
static int pack__keep(struct store *st, struct pack_acc *acc, const struct scan_window *w)
{
	const struct store_blob *d = &st->blob;
	struct store_blob *b = &acc->b;
	const struct store_pair *p;
	size_t i, n = d->nrows;
	uint64_t *v;
	bool added;

	if (blob__reserve(b, b->nwins + 1, b->nrows + n) ||
	    mem__grow((void **)&b->pairs, &b->pairs_cap, b->npairs + n + 1, sizeof(*b->pairs)) ||
	    mem__grow((void **)&acc->ids, &acc->ids_cap, b->nwins + 1, sizeof(*acc->ids)))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		p = &d->pairs[d->rows[i].pair];
		v = smap__upsert(&acc->idx, store_pair__key(p), b->npairs, &added);
		if (!v)
			return -ENOMEM;
		if (added)
			b->pairs[b->npairs++] = *p;
		b->rows[b->nrows + i] =
			(struct store_row){.pair = (uint32_t)*v, .count = d->rows[i].count};
	}
	if (!b->nwins) {
		acc->sum = *w;
		memset(&acc->sum.lost, 0, sizeof(acc->sum.lost));
		acc->sum.samples = 0;
	}
	acc->ids[b->nwins] = w->id;
	b->wins[b->nwins] = *w;
	b->first[b->nwins] = b->nrows;
	b->nrows += n;
	b->first[++b->nwins] = b->nrows;
	if (w->end_ns > acc->sum.end_ns)
		acc->sum.end_ns = w->end_ns;
	acc->sum.samples += w->samples;
	pack__add_lost(&acc->sum.lost, &w->lost);
	return 0;
}

/* Reads the single windows of [@lo, @hi); corrupt ones stay single. */
static int pack__collect(struct store *st, uint64_t lo, uint64_t hi, struct pack_acc *acc)
{
	char why[160];
	struct scan_window w;
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT id, start_ns, end_ns, freq_hz, period_ns, samples,"
				" lost_samples, lost_kstack, lost_ustack, lost_collisions,"
				" lost_stack_map_full, lost_count_map_full, lost_ringbuf_full,"
				" lost_truncated, data FROM windows"
				" WHERE nwin = 1 AND start_ns >= ?1 AND start_ns < ?2"
				" ORDER BY start_ns, id",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "pack windows");
	sqlite3_bind_int64(s, 1, (int64_t)lo);
	sqlite3_bind_int64(s, 2, (int64_t)hi);
	smap__clear(&st->legacy);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
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
		err = store__decode(st, &w, 1, sqlite3_column_blob(s, 14),
				    (size_t)sqlite3_column_bytes(s, 14), BLOB_ROWS, why,
				    sizeof(why));
		if (err == -EINVAL) {
			err = 0; /* left as it is: queries report it */
			continue;
		}
		if (err)
			break;
		err = pack__keep(st, acc, &w);
		if (err) {
			store__fail(st, err, "cannot pack windows: out of memory");
			break;
		}
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "pack windows");
	return err;
}

/*
 * The encoder's key of each pair: its task's executable (string id), so the
 * pair table puts the processes of one program, and their stacks, together.
 * *@keys is malloc'ed.
 */
static int pack__keys(struct store *st, const struct pack_acc *acc, uint64_t **keys)
{
	const struct store_blob *b = &acc->b;
	struct smap exe;
	sqlite3_stmt *s;
	uint64_t *v, *k;
	size_t i;
	int rc, err = 0;

	k = malloc((b->npairs ? b->npairs : 1) * sizeof(*k));
	if (!k)
		return store__fail(st, -ENOMEM, "out of memory");
	smap__init(&exe);
	for (i = 0; i < b->npairs && !err; i++) {
		v = smap__find(&exe, (uint64_t)b->pairs[i].task);
		if (v) {
			k[i] = *v;
			continue;
		}
		s = store__stmt(st, STMT_TASK_GET);
		if (!s) {
			err = -EIO;
			break;
		}
		sqlite3_bind_int64(s, 1, b->pairs[i].task);
		rc = sqlite3_step(s);
		k[i] = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 4) : 0;
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = store__sqlerr(st, rc, "pack windows");
		else if (!smap__upsert(&exe, (uint64_t)b->pairs[i].task, k[i], NULL))
			err = store__fail(st, -ENOMEM, "out of memory");
	}
	smap__exit(&exe);
	if (err) {
		free(k);
		return err;
	}
	*keys = k;
	return 0;
}

static int pack__insert(struct store *st, const struct scan_window *w, size_t nwin)
{
	const struct profile_lost *l = &w->lost;
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(
		st->db,
		"INSERT INTO windows(start_ns, end_ns, freq_hz, period_ns, samples,"
		" lost_samples, lost_kstack, lost_ustack, lost_collisions,"
		" lost_stack_map_full, lost_count_map_full, lost_ringbuf_full,"
		" lost_truncated, data, nwin)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "pack windows");
	sqlite3_bind_int64(s, 1, (int64_t)w->start_ns);
	sqlite3_bind_int64(s, 2, (int64_t)w->end_ns);
	sqlite3_bind_int64(s, 3, w->freq_hz);
	sqlite3_bind_int64(s, 4, (int64_t)w->period_ns);
	sqlite3_bind_int64(s, 5, (int64_t)w->samples);
	sqlite3_bind_int64(s, 6, (int64_t)l->samples);
	sqlite3_bind_int64(s, 7, (int64_t)l->kstack_errors);
	sqlite3_bind_int64(s, 8, (int64_t)l->ustack_errors);
	sqlite3_bind_int64(s, 9, (int64_t)l->stack_collisions);
	sqlite3_bind_int64(s, 10, (int64_t)l->stack_map_full);
	sqlite3_bind_int64(s, 11, (int64_t)l->count_map_full);
	sqlite3_bind_int64(s, 12, (int64_t)l->ringbuf_full);
	sqlite3_bind_int64(s, 13, (int64_t)l->truncated);
	sqlite3_bind_blob(s, 14, st->out.p, (int)st->out.len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 15, (int64_t)nwin);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store__sqlerr(st, rc, "pack windows");
}

static int pack__delete(struct store *st, const struct pack_acc *acc)
{
	sqlite3_stmt *s;
	size_t i;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "DELETE FROM windows WHERE id = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "pack windows");
	for (i = 0; i < acc->b.nwins && rc == SQLITE_OK; i++) {
		sqlite3_bind_int64(s, 1, acc->ids[i]);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : store__sqlerr(st, rc, "pack windows");
}

/*
 * Encodes the hour into st->out at STORE_PACK_LEVEL with a zstd context of
 * its own, freed at once: at that level an hour of rows takes megabytes of
 * context (8 MiB for 500 KB of rows), which the store's context would keep
 * for good. 0 or -errno.
 */
static int pack__encode(struct store *st, const struct pack_acc *acc, const uint64_t *keys)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	int err = -ENOMEM;

	if (cctx &&
	    !ZSTD_isError(
		    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, STORE_PACK_LEVEL)) &&
	    !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
		err = blob__encode(&acc->b, keys, true, acc->sum.start_ns, cctx, &st->raw,
				   &st->out);
	ZSTD_freeCCtx(cctx);
	return err;
}

/* Frees what packing an hour took: @acc and the store's buffers, sized for the hour. */
static void pack__release(struct store *st, struct pack_acc *acc)
{
	pack_acc__free(acc);
	sbuf__exit(&st->raw);
	sbuf__exit(&st->out);
}

/* Packs the windows starting in [@lo, @hi) in one transaction. */
static int pack__range(struct store *st, uint64_t lo, uint64_t hi, uint64_t *packed)
{
	struct pack_acc acc = {0};
	uint64_t *keys = NULL;
	int64_t maxw;
	int err;

	smap__init(&acc.idx);
	err = store__begin(st, true);
	if (err)
		goto out;
	err = pack__collect(st, lo, hi, &acc);
	if (err || acc.b.nwins < 2)
		goto out_rollback;
	err = pack__keys(st, &acc, &keys);
	if (err)
		goto out_rollback;
	err = pack__encode(st, &acc, keys);
	if (err) {
		store__fail(st, err, "cannot pack windows: out of memory");
		goto out_rollback;
	}
	err = pack__insert(st, &acc.sum, acc.b.nwins);
	if (!err)
		err = pack__delete(st, &acc);
	if (!err)
		err = store__meta_get(st, "max_window_ns", 0, &maxw);
	if (!err && (int64_t)(acc.sum.end_ns - acc.sum.start_ns) > maxw)
		err = store__meta_set(st, "max_window_ns",
				      (int64_t)(acc.sum.end_ns - acc.sum.start_ns));
	if (err)
		goto out_rollback;
	err = store__commit(st);
	if (!err)
		*packed += acc.b.nwins;
	goto out;
out_rollback:
	store__rollback(st);
out:
	free(keys);
	pack__release(st, &acc);
	return err;
}

int store__pack(struct store *st, uint64_t now_ns, uint64_t *packed)
{
	uint64_t limit, from = 0;
	sqlite3_stmt *s;
	int64_t hour;
	int rc, err = 0;

	*packed = 0;
	if (now_ns < STORE_PACK_DELAY_NS + STORE_PACK_NS)
		return 0;
	/* Windows starting before @limit belong to hours that are over. */
	limit = (now_ns - STORE_PACK_DELAY_NS) / STORE_PACK_NS * STORE_PACK_NS;
	if (limit > INT64_MAX)
		limit = (uint64_t)INT64_MAX / STORE_PACK_NS * STORE_PACK_NS;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT start_ns / ?1 AS h FROM windows WHERE nwin = 1"
				" AND start_ns >= ?2 AND start_ns < ?3 GROUP BY h"
				" HAVING count(*) > 1 ORDER BY h LIMIT 1",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "pack windows");
	for (;;) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, (int64_t)STORE_PACK_NS);
		sqlite3_bind_int64(s, 2, (int64_t)from);
		sqlite3_bind_int64(s, 3, (int64_t)limit);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		hour = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		from = (uint64_t)(hour + 1) * STORE_PACK_NS;
		err = pack__range(st, (uint64_t)hour * STORE_PACK_NS, from, packed);
		if (err)
			break;
	}
	sqlite3_finalize(s);
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = store__sqlerr(st, rc, "pack windows");
	return err;
}
