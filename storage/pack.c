/*
 * Packing (store__pack, run by store__retain): once a UTC hour has ended, the
 * rows of its windows are replaced by one row that holds them all, each
 * window whole (span, frequency, lost counters, samples), in one zstd frame.
 * Nothing is lost; the hour costs one row, one index entry and one frame
 * instead of 360, and zstd sees an hour of rows at once. docs/storage.md
 * describes the packed blob.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Big frames need not the slowest level: 15 is within 1% of 19, 3x faster. */
#define STORE_PACK_LEVEL 15
/* Series listed by use at the head of a packed row's table (see pack__table). */
#define STORE_PACK_HOT 256

struct pack_win {
	struct scan_window w;
	size_t off, n; /* its rows in pack_acc.rows */
};

struct pack_acc {
	struct pack_win *wins;
	size_t n, cap;
	struct store_row *rows;
	size_t nrows, rows_cap;
	int64_t *local; /* distinct series, ascending */
	size_t nlocal;
	struct scan_window sum; /* span, samples and lost counters of the row */
};

static void pack_acc__free(struct pack_acc *acc)
{
	free(acc->wins);
	free(acc->rows);
	free(acc->local);
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

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 256;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Keeps window @w and its decoded rows (in st->rows). */
static int pack__keep(struct store *st, struct pack_acc *acc, const struct scan_window *w, size_t n)
{
	struct pack_win *pw;

	if (grow((void **)&acc->wins, &acc->cap, acc->n + 1, sizeof(*acc->wins)) ||
	    grow((void **)&acc->rows, &acc->rows_cap, acc->nrows + n, sizeof(*acc->rows)))
		return -ENOMEM;
	if (!acc->n) {
		acc->sum = *w;
		memset(&acc->sum.lost, 0, sizeof(acc->sum.lost));
		acc->sum.samples = 0;
	}
	pw = &acc->wins[acc->n++];
	pw->w = *w;
	pw->off = acc->nrows;
	pw->n = n;
	if (n)
		memcpy(acc->rows + acc->nrows, st->rows, n * sizeof(*acc->rows));
	acc->nrows += n;
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
	size_t n;
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
		err = wblob__decode(st->dctx, sqlite3_column_blob(s, 14),
				    (size_t)sqlite3_column_bytes(s, 14), w.samples, &st->raw,
				    &st->rows, &st->rows_cap, &n, why, sizeof(why));
		if (err == -EINVAL) {
			err = 0; /* left as it is: queries report it */
			continue;
		}
		if (!err)
			err = pack__keep(st, acc, &w, n);
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

struct pack_ent {
	int64_t id;
	uint64_t uses; /* windows using it */
};

static int ent__by_uses(const void *a, const void *b)
{
	const struct pack_ent *x = a, *y = b;

	if (x->uses != y->uses)
		return x->uses > y->uses ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int ent__by_id(const void *a, const void *b)
{
	const struct pack_ent *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int row__cmp(const void *a, const void *b)
{
	const struct store_row *x = a, *y = b;

	return (x->series > y->series) - (x->series < y->series);
}

/*
 * The series table: the STORE_PACK_HOT most used series first, so the rows
 * that recur in most windows get small indexes, then the others by id.
 * @idx maps a series id to its index.
 */
static int pack__table(struct pack_acc *acc, struct smap *idx, size_t *nhot)
{
	struct pack_ent *ents;
	size_t i, n = 0;
	uint64_t *v;
	bool added;
	int err = -ENOMEM;

	ents = malloc((acc->nrows ? acc->nrows : 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < acc->nrows; i++) {
		v = smap__upsert(idx, (uint64_t)acc->rows[i].series, n, &added);
		if (!v)
			goto out;
		if (added)
			ents[n++] = (struct pack_ent){.id = acc->rows[i].series};
		ents[*v].uses++;
	}
	qsort(ents, n, sizeof(*ents), ent__by_uses);
	*nhot = n < STORE_PACK_HOT ? n : STORE_PACK_HOT;
	qsort(ents + *nhot, n - *nhot, sizeof(*ents), ent__by_id);
	acc->local = malloc((n ? n : 1) * sizeof(*acc->local));
	if (!acc->local)
		goto out;
	for (i = 0; i < n; i++) {
		acc->local[i] = ents[i].id;
		*smap__find(idx, (uint64_t)ents[i].id) = i;
	}
	acc->nlocal = n;
	err = 0;
out:
	free(ents);
	return err;
}

/* The payload of the packed row into st->raw: window count, series table, windows. */
static int pack__payload(struct store *st, struct pack_acc *acc)
{
	struct store_row *r;
	struct smap idx;
	size_t i, j, nhot = 0;
	int err;

	smap__init(&idx);
	err = pack__table(acc, &idx, &nhot);
	st->raw.len = 0;
	if (!err)
		err = sbuf__reserve(&st->raw, 10);
	if (err)
		goto out;
	st->raw.len = varint__put(st->raw.p, acc->n);
	err = wpack__local_put(&st->raw, acc->local, nhot, acc->nlocal);
	/* Rows name series by table index now, in index order. */
	for (i = 0; i < acc->n && !err; i++) {
		r = acc->rows + acc->wins[i].off;
		for (j = 0; j < acc->wins[i].n; j++)
			r[j].series = (int64_t)*smap__find(&idx, (uint64_t)r[j].series) + 1;
		if (acc->wins[i].n > 1)
			qsort(r, acc->wins[i].n, sizeof(*r), row__cmp);
		err = wpack__append(&st->raw, acc->sum.start_ns, &acc->wins[i].w, r,
				    acc->wins[i].n);
	}
out:
	smap__exit(&idx);
	return err;
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
	for (i = 0; i < acc->n && rc == SQLITE_OK; i++) {
		sqlite3_bind_int64(s, 1, acc->wins[i].w.id);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : store__sqlerr(st, rc, "pack windows");
}

/* Packs the windows starting in [@lo, @hi) in one transaction. */
static int pack__range(struct store *st, uint64_t lo, uint64_t hi, uint64_t *packed)
{
	struct pack_acc acc = {0};
	int64_t maxw;
	int err;

	err = store__begin(st, true);
	if (err)
		return err;
	err = pack__collect(st, lo, hi, &acc);
	if (err || acc.n < 2)
		goto out_rollback;
	err = pack__payload(st, &acc);
	if (err)
		goto out_nomem;
	ZSTD_CCtx_setParameter(st->cctx, ZSTD_c_compressionLevel, STORE_PACK_LEVEL);
	err = zblob__compress(st->cctx, STORE_BLOB_PACK, &st->raw, &st->out);
	ZSTD_CCtx_setParameter(st->cctx, ZSTD_c_compressionLevel, STORE_ZSTD_LEVEL);
	if (err)
		goto out_nomem;
	err = pack__insert(st, &acc.sum, acc.n);
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
		*packed += acc.n;
	pack_acc__free(&acc);
	return err;
out_nomem:
	store__fail(st, err, "cannot pack windows: out of memory");
out_rollback:
	store__rollback(st);
	pack_acc__free(&acc);
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
