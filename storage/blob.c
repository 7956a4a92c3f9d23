/*
 * Sample blobs (docs/storage.md, "Blobs"): what a window row's data column
 * holds. Schema 3 writes two encodings, both naming (task, stack) pairs
 * through a pair table at the head of the blob: STORE_BLOB_PAIRS, one
 * window's pairs and their counts, and STORE_BLOB_COLS, the windows of a
 * packed hour column by column (each pair once, with the windows it appears
 * in and its counts there, so a pair that recurs costs little). The schema 2
 * encodings, which name series ids, are still read (blob_v2.c).
 *
 * Decoders treat a blob as outside input: every count is bounded by the bytes
 * left before anything is allocated, every index and id by its range, and the
 * counts must add up to the row's samples.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Header varints of a packed window: gap, duration, freq, period, samples, 8 lost counters. */
#define COLS_HDR 13

int blob__fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void blob__exit(struct store_blob *b)
{
	free(b->pairs);
	free(b->series);
	free(b->wins);
	free(b->first);
	free(b->rows);
	free(b->ids);
	free(b->u32);
	memset(b, 0, sizeof(*b));
}

/* Room for @nwins windows and @nrows rows. */
int blob__reserve(struct store_blob *b, size_t nwins, size_t nrows)
{
	if (mem__grow((void **)&b->wins, &b->wins_cap, nwins, sizeof(*b->wins)) ||
	    mem__grow((void **)&b->first, &b->first_cap, nwins + 1, sizeof(*b->first)) ||
	    mem__grow((void **)&b->rows, &b->rows_cap, nrows ? nrows : 1, sizeof(*b->rows)))
		return -ENOMEM;
	return 0;
}

/* Reads @n ids, zigzag deltas from 0, into b->ids[@off...]; each in [1, STORE_ID_MAX]. */
static int ids__get(struct store_blob *b, size_t off, uint64_t n, const uint8_t **p,
		    const uint8_t *end)
{
	int64_t prev = 0, d;
	uint64_t i, v;

	for (i = 0; i < n; i++) {
		if (varint__get(p, end, &v))
			return -EINVAL;
		d = unzigzag(v);
		if (d < -(int64_t)STORE_ID_MAX || d > (int64_t)STORE_ID_MAX)
			return -EINVAL;
		prev += d;
		if (prev < 1 || prev > (int64_t)STORE_ID_MAX)
			return -EINVAL;
		b->ids[off + i] = prev;
	}
	return 0;
}

/*
 * The pair table at *@pp into b->pairs: varint T and T task ids, varint S and S
 * stack ids (both as zigzag deltas), varint P, T varints (pairs of each task,
 * at least 1), then P stack indexes into the S ids: the first of a task as a
 * zigzag delta from the previous task's first, the others as the gap after the
 * previous one minus 1 (ascending).
 */
static int table__get(struct store_blob *b, const uint8_t **pp, const uint8_t *end, char *why,
		      size_t whylen)
{
	const uint8_t *p = *pp;
	uint64_t nt, ns, np, v, c, left;
	int64_t first = 0, cur = 0;
	size_t t, k = 0;
	uint64_t j;

	/* Each entry takes a byte at least, so the blob bounds every count. */
	if (varint__get(&p, end, &nt) || nt > (uint64_t)(end - p))
		return blob__fail(why, whylen, "bad task list");
	if (mem__grow((void **)&b->ids, &b->ids_cap, nt ? nt : 1, sizeof(*b->ids)))
		return -ENOMEM;
	if (ids__get(b, 0, nt, &p, end))
		return blob__fail(why, whylen, "bad task id");
	if (varint__get(&p, end, &ns) || ns > (uint64_t)(end - p))
		return blob__fail(why, whylen, "bad stack list");
	if (mem__grow((void **)&b->ids, &b->ids_cap, nt + ns + 1, sizeof(*b->ids)))
		return -ENOMEM;
	if (ids__get(b, nt, ns, &p, end))
		return blob__fail(why, whylen, "bad stack id");
	if (varint__get(&p, end, &np) || np > (uint64_t)(end - p) || np < nt || (nt && !ns) ||
	    np > UINT32_MAX)
		return blob__fail(why, whylen, "bad pair count");
	if (mem__grow((void **)&b->pairs, &b->pairs_cap, np ? np : 1, sizeof(*b->pairs)) ||
	    mem__grow((void **)&b->u32, &b->u32_cap, nt ? nt : 1, sizeof(*b->u32)))
		return -ENOMEM;
	left = np;
	for (t = 0; t < nt; t++) {
		if (varint__get(&p, end, &c) || !c || c > left - (nt - t - 1))
			return blob__fail(why, whylen, "bad pairs of task %zu", t);
		b->u32[t] = (uint32_t)c;
		left -= c;
	}
	if (left)
		return blob__fail(why, whylen, "%llu pairs belong to no task",
				  (unsigned long long)left);
	for (t = 0; t < nt; t++) {
		for (j = 0; j < b->u32[t]; j++, k++) {
			if (varint__get(&p, end, &v))
				return blob__fail(why, whylen, "bad stack of pair %zu", k);
			if (!j) {
				/* v <= 2 * ns keeps the delta within +-ns: no overflow. */
				if (v > 2 * ns)
					return blob__fail(why, whylen, "bad stack of pair %zu", k);
				cur = first + unzigzag(v);
				first = cur;
			} else {
				if (v >= ns - (uint64_t)cur - 1)
					return blob__fail(why, whylen, "bad stack of pair %zu", k);
				cur += (int64_t)v + 1;
			}
			if (cur < 0 || (uint64_t)cur >= ns)
				return blob__fail(why, whylen, "bad stack of pair %zu", k);
			b->pairs[k].task = b->ids[t];
			b->pairs[k].stack = b->ids[nt + (uint64_t)cur];
		}
	}
	b->npairs = (size_t)np;
	b->legacy = false;
	*pp = p;
	return 0;
}

/* STORE_BLOB_PAIRS: the pair table, then one count (at least 1) per pair. */
static int pairs__parse(struct store_blob *b, const uint8_t *p, const uint8_t *end,
			const struct scan_window *row, char *why, size_t whylen)
{
	uint64_t v, sum = 0;
	size_t i;
	int err;

	err = table__get(b, &p, end, why, whylen);
	if (err)
		return err;
	err = blob__reserve(b, 1, b->npairs);
	if (err)
		return err;
	for (i = 0; i < b->npairs; i++) {
		if (varint__get(&p, end, &v) || !v || v > row->samples - sum)
			return blob__fail(why, whylen, "bad count of pair %zu", i);
		b->rows[i] = (struct store_row){.pair = (uint32_t)i, .count = v};
		sum += v;
	}
	if (p != end)
		return blob__fail(why, whylen, "%zu trailing bytes", (size_t)(end - p));
	if (sum != row->samples)
		return blob__fail(why, whylen, "rows hold %llu samples, the window says %llu",
				  (unsigned long long)sum, (unsigned long long)row->samples);
	b->wins[0] = *row;
	b->first[0] = 0;
	b->first[1] = b->npairs;
	b->nwins = 1;
	b->nrows = b->npairs;
	return 0;
}

/*
 * The window headers of a packed row, column by column: start as a zigzag gap
 * after the previous window's end (the first: after the row's start),
 * duration (at least 1), frequency, period, samples, and each lost counter.
 * Every window lies within the row, and the samples add up to the row's.
 */
static int cols__headers(struct store_blob *b, const uint8_t **p, const uint8_t *end,
			 const struct scan_window *row, size_t n, char *why, size_t whylen)
{
	uint64_t prev = row->start_ns, v, d, i, back, sum = 0;
	struct scan_window *w = b->wins;
	int64_t g;
	int c;

	if (row->start_ns >= row->end_ns || row->end_ns > INT64_MAX)
		return blob__fail(why, whylen, "bad row span");
	/* The gaps first, in start_ns for now. */
	for (i = 0; i < n; i++) {
		w[i] = (struct scan_window){.id = row->id};
		if (varint__get(p, end, &w[i].start_ns))
			return blob__fail(why, whylen, "bad start of window %llu",
					  (unsigned long long)i);
	}
	for (i = 0; i < n; i++) {
		/* prev lies in [row start, row end], both below 2^63; back is -g. */
		g = unzigzag(w[i].start_ns);
		back = ~(uint64_t)g + 1;
		if (g < 0 ? back > prev - row->start_ns : (uint64_t)g >= row->end_ns - prev)
			return blob__fail(why, whylen, "window %llu starts outside its row",
					  (unsigned long long)i);
		w[i].start_ns = g < 0 ? prev - back : prev + (uint64_t)g;
		if (varint__get(p, end, &d) || !d || d > row->end_ns - w[i].start_ns)
			return blob__fail(why, whylen, "window %llu ends outside its row",
					  (unsigned long long)i);
		w[i].end_ns = w[i].start_ns + d;
		prev = w[i].end_ns;
	}
	for (i = 0; i < n; i++) {
		if (varint__get(p, end, &v) || v > UINT32_MAX)
			return blob__fail(why, whylen, "bad frequency");
		w[i].freq_hz = (uint32_t)v;
	}
	for (c = 0; c < 10; c++) {
		for (i = 0; i < n; i++) {
			uint64_t *const f[] = {
				&w[i].period_ns,	   &w[i].samples,
				&w[i].lost.samples,	   &w[i].lost.kstack_errors,
				&w[i].lost.ustack_errors,  &w[i].lost.stack_collisions,
				&w[i].lost.stack_map_full, &w[i].lost.count_map_full,
				&w[i].lost.ringbuf_full,   &w[i].lost.truncated};

			if (varint__get(p, end, f[c]))
				return blob__fail(why, whylen, "bad window header");
		}
	}
	for (i = 0; i < n; i++) {
		if (w[i].samples > row->samples - sum)
			break;
		sum += w[i].samples;
	}
	if (i < n || sum != row->samples)
		return blob__fail(why, whylen,
				  "packed windows hold other samples than the row says");
	return 0;
}

/*
 * Orders pairs as the body of a packed blob lists them: by number of windows,
 * most first, then by table position (a stable counting sort of @k, values 1
 * to @n). Pairs with equal counts sit together, so zstd sees alike deltas.
 */
static int cols__order(const uint32_t *k, size_t np, size_t n, uint32_t *order)
{
	size_t *at, i, sum = 0, c;

	at = calloc(n + 2, sizeof(*at));
	if (!at)
		return -ENOMEM;
	for (i = 0; i < np; i++)
		at[n - k[i]]++;
	for (i = 0; i <= n; i++) {
		c = at[i];
		at[i] = sum;
		sum += c;
	}
	for (i = 0; i < np; i++)
		order[at[n - k[i]]++] = (uint32_t)i;
	free(at);
	return 0;
}

/*
 * The window of every row of a packed body, pair by pair in @order (see
 * cols__body), into @occ; b->first[w + 1] counts window w's rows.
 */
static int cols__windows(struct store_blob *b, const uint8_t **pp, const uint8_t *end,
			 const uint32_t *k, const uint32_t *order, uint32_t *occ, size_t nr,
			 size_t n, char *why, size_t whylen)
{
	const uint8_t *p = *pp + nr, *lo = *pp;
	size_t i, j, r = 0;
	uint64_t v;
	int64_t w;

	memset(b->first, 0, (n + 1) * sizeof(*b->first));
	for (i = 0; r < nr; i++) {
		for (j = 0, w = -1; j < k[order[i]]; j++, r++) {
			/* v << 8 cannot overflow past the first test. */
			if (varint__next(&p, end, &v) || v > (uint64_t)n >> 8 ||
			    (v << 8 | lo[r]) >= (uint64_t)n - (uint64_t)(w + 1))
				return blob__fail(why, whylen, "bad window of pair %u", order[i]);
			w += (int64_t)(v << 8 | lo[r]) + 1;
			occ[r] = (uint32_t)w;
			b->first[w + 1]++;
		}
	}
	*pp = p;
	return 0;
}

/*
 * The body of a packed blob, after the pair table: P varints (windows of each
 * pair minus 1), then, pair by pair in cols__order(), each window index as a
 * gap after the previous one (the first: after -1): R low bytes, then R
 * varints of the rest (gap >> 8); then R varints of counts minus 1. Rows come
 * out grouped by window, and must add up to each window's samples.
 */
static int cols__body(struct store_blob *b, const uint8_t *p, const uint8_t *end,
		      const struct scan_window *row, size_t n, char *why, size_t whylen)
{
	uint32_t *k, *order, *occ, *at;
	uint64_t v, nr = 0, sum = 0, *wsum;
	size_t i, j, r, np = b->npairs;
	int err;

	if (mem__grow((void **)&b->u32, &b->u32_cap, np + 1, sizeof(*b->u32)))
		return -ENOMEM;
	for (i = 0; i < np; i++) {
		if (varint__get(&p, end, &v) || v >= n)
			return blob__fail(why, whylen, "bad window count of pair %zu", i);
		b->u32[i] = (uint32_t)v + 1;
		nr += v + 1;
	}
	/* A low byte, a varint and a count: 3 bytes a row at least. */
	if (nr > (uint64_t)(end - p) / 3)
		return blob__fail(why, whylen, "%llu rows do not fit", (unsigned long long)nr);
	if (mem__grow((void **)&b->u32, &b->u32_cap, 2 * np + nr + n + 1, sizeof(*b->u32)) ||
	    blob__reserve(b, n, (size_t)nr))
		return -ENOMEM;
	k = b->u32;
	order = k + np;
	occ = order + np;
	at = occ + nr;
	err = cols__order(k, np, n, order);
	if (!err)
		err = cols__windows(b, &p, end, k, order, occ, (size_t)nr, n, why, whylen);
	if (err)
		return err;
	/* Where window w's next row goes, and its samples so far (in wsum, dense). */
	wsum = calloc(n, sizeof(*wsum));
	if (!wsum)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		b->first[i + 1] += b->first[i];
		at[i] = (uint32_t)b->first[i];
	}
	for (i = 0, r = 0; r < nr; i++) {
		for (j = 0; j < k[order[i]]; j++, r++) {
			if (varint__next(&p, end, &v) || v >= row->samples - sum) {
				free(wsum);
				return blob__fail(why, whylen, "bad count in row %zu", r);
			}
			sum += v + 1;
			wsum[occ[r]] += v + 1;
			b->rows[at[occ[r]]++] =
				(struct store_row){.pair = order[i], .count = v + 1};
		}
	}
	for (i = 0; i < n && wsum[i] == b->wins[i].samples; i++)
		;
	free(wsum);
	if (i < n)
		return blob__fail(why, whylen,
				  "window %zu holds other samples than its header says", i);
	if (p != end)
		return blob__fail(why, whylen, "%zu trailing bytes", (size_t)(end - p));
	if (sum != row->samples)
		return blob__fail(why, whylen,
				  "packed windows hold %llu samples, the row says %llu",
				  (unsigned long long)sum, (unsigned long long)row->samples);
	b->nwins = n;
	b->nrows = (size_t)nr;
	return 0;
}

/* STORE_BLOB_COLS: varint N (= nwin), N window headers, the pair table, the body. */
static int cols__parse(struct store_blob *b, const uint8_t *p, const uint8_t *end,
		       const struct scan_window *row, uint64_t nwin, enum blob_part part, char *why,
		       size_t whylen)
{
	uint64_t n;
	int err;

	if (varint__get(&p, end, &n) || n != nwin || n < 2 || n > (uint64_t)(end - p) / COLS_HDR ||
	    n >= UINT32_MAX)
		return blob__fail(why, whylen, "packed blob does not hold %llu windows",
				  (unsigned long long)nwin);
	err = blob__reserve(b, (size_t)n, 0);
	if (err)
		return err;
	err = cols__headers(b, &p, end, row, (size_t)n, why, whylen);
	if (!err && part != BLOB_WINDOWS)
		err = table__get(b, &p, end, why, whylen);
	if (err)
		return err;
	if (part == BLOB_ROWS)
		return cols__body(b, p, end, row, (size_t)n, why, whylen);
	/* The headers (and the table) say all that is asked. */
	memset(b->first, 0, (n + 1) * sizeof(*b->first));
	b->nwins = (size_t)n;
	return 0;
}

int blob__parse(struct store_blob *b, uint8_t enc, const uint8_t *p, size_t len,
		const struct scan_window *row, uint64_t nwin, enum blob_part part, char *why,
		size_t whylen)
{
	const uint8_t *end = p + len;
	bool packed = enc == STORE_BLOB_PACK || enc == STORE_BLOB_COLS;

	b->nwins = b->nrows = b->npairs = 0;
	if (packed ? nwin < 2 : nwin != 1)
		return blob__fail(why, whylen, "encoding %u in a row of %llu windows", enc,
				  (unsigned long long)nwin);
	switch (enc) {
	case STORE_BLOB_ZSTD:
		return blob_v2__window(b, p, end, row, why, whylen);
	case STORE_BLOB_PACK:
		return blob_v2__packed(b, p, end, row, nwin, why, whylen);
	case STORE_BLOB_PAIRS:
		return pairs__parse(b, p, end, row, why, whylen);
	case STORE_BLOB_COLS:
		return cols__parse(b, p, end, row, nwin, part, why, whylen);
	default:
		return blob__fail(why, whylen, "unknown encoding %u", enc);
	}
}

int blob__decode(struct store_blob *b, ZSTD_DCtx *dctx, struct sbuf *raw, const void *blob,
		 size_t len, const struct scan_window *row, uint64_t nwin, enum blob_part part,
		 char *why, size_t whylen)
{
	uint8_t enc;
	int err;

	err = zblob__decompress(dctx, blob, len, raw, &enc, why, whylen);
	if (err)
		return err;
	return blob__parse(b, enc, raw->p, raw->len, row, nwin, part, why, whylen);
}

/* ---- encoders ---------------------------------------------------------------- */

/* Scratch of an encoder: per pair of the blob, and per table position. */
struct enc {
	uint32_t *same;	  /* pair -> the first pair with the same task and stack */
	uint32_t *k;	  /* pair -> windows it appears in (0: not in the table) */
	uint32_t *pos;	  /* pair -> table position */
	uint32_t *at;	  /* table position -> pair */
	size_t np, nt;	  /* pairs of the blob, of the table */
	struct smap skey; /* stack -> the smallest key of a task running it */
};

struct tab_ent {
	uint64_t tkey, skey;
	int64_t task, stack;
	uint32_t pair;
};

static int u64__cmp(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int tab_ent__cmp(const void *a, const void *b)
{
	const struct tab_ent *x = a, *y = b;

	if (x->tkey != y->tkey)
		return u64__cmp(x->tkey, y->tkey);
	if (x->task != y->task)
		return u64__cmp((uint64_t)x->task, (uint64_t)y->task);
	if (x->skey != y->skey)
		return u64__cmp(x->skey, y->skey);
	return u64__cmp((uint64_t)x->stack, (uint64_t)y->stack);
}

static void enc__free(struct enc *e)
{
	smap__exit(&e->skey);
	free(e->same);
	free(e->k);
	free(e->pos);
	free(e->at);
}

/* Finds pairs named twice in b->pairs: e->same[i] is the first of i's kind. */
static int enc__init(struct enc *e, const struct store_blob *b)
{
	size_t i, n = b->npairs ? b->npairs : 1;
	struct smap seen;
	uint64_t *v;
	int err = 0;

	memset(e, 0, sizeof(*e));
	smap__init(&e->skey);
	e->np = b->npairs;
	e->same = malloc(n * sizeof(*e->same));
	e->k = calloc(n, sizeof(*e->k));
	e->pos = malloc(n * sizeof(*e->pos));
	e->at = malloc(n * sizeof(*e->at));
	if (!e->same || !e->k || !e->pos || !e->at)
		return -ENOMEM;
	smap__init(&seen);
	for (i = 0; i < b->npairs && !err; i++) {
		assert(b->pairs[i].task >= 1 && b->pairs[i].task <= (int64_t)STORE_ID_MAX);
		assert(b->pairs[i].stack >= 1 && b->pairs[i].stack <= (int64_t)STORE_ID_MAX);
		v = smap__upsert(&seen, store_pair__key(&b->pairs[i]), i, NULL);
		if (!v)
			err = -ENOMEM;
		else
			e->same[i] = (uint32_t)*v;
	}
	smap__exit(&seen);
	return err;
}

/*
 * Table order of the pairs with e->k set (see blob__encode) into e->at and
 * e->pos: by task key, task, stack key, stack, where a stack's key is the
 * smallest key of a task running it (e->skey).
 */
static int enc__order(struct enc *e, const struct store_blob *b, const uint64_t *keys)
{
	struct tab_ent *ents;
	uint64_t *v, key;
	size_t i, n = 0;
	int err = -ENOMEM;

	ents = malloc((e->np ? e->np : 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < e->np; i++) {
		if (!e->k[i])
			continue;
		key = keys ? keys[i] : 0;
		v = smap__upsert(&e->skey, (uint64_t)b->pairs[i].stack, key, NULL);
		if (!v)
			goto out;
		if (key < *v)
			*v = key;
	}
	for (i = 0; i < e->np; i++) {
		if (!e->k[i])
			continue;
		ents[n++] = (struct tab_ent){
			.tkey = keys ? keys[i] : 0,
			.skey = *smap__find(&e->skey, (uint64_t)b->pairs[i].stack),
			.task = b->pairs[i].task,
			.stack = b->pairs[i].stack,
			.pair = (uint32_t)i,
		};
	}
	qsort(ents, n, sizeof(*ents), tab_ent__cmp);
	for (i = 0; i < n; i++) {
		e->at[i] = ents[i].pair;
		e->pos[ents[i].pair] = (uint32_t)i;
	}
	e->nt = n;
	err = 0;
out:
	free(ents);
	return err;
}

static int put(struct sbuf *out, uint64_t v)
{
	int err = sbuf__reserve(out, out->len + 10);

	if (!err)
		out->len += varint__put(out->p + out->len, v);
	return err;
}

/* Ids as zigzag deltas from 0. */
static int ids__put(struct sbuf *out, const int64_t *ids, size_t n)
{
	int64_t prev = 0;
	size_t i;
	int err = put(out, n);

	for (i = 0; i < n && !err; i++) {
		err = put(out, zigzag(ids[i] - prev));
		prev = ids[i];
	}
	return err;
}

/* A stack of the table and its key (e->skey). */
struct stk_ent {
	uint64_t skey;
	int64_t stack;
};

static int stk_ent__cmp(const void *a, const void *b)
{
	const struct stk_ent *x = a, *y = b;

	if (x->skey != y->skey)
		return u64__cmp(x->skey, y->skey);
	return u64__cmp((uint64_t)x->stack, (uint64_t)y->stack);
}

/*
 * Writes the pair table (see table__get) of the pairs in e->at order: tasks in
 * the order they come, stacks in (key, id) order, which is also the order of
 * each task's stacks.
 */
static int enc__table(const struct enc *e, const struct store_blob *b, struct sbuf *out)
{
	int64_t *tasks = NULL, *stacks = NULL, first = 0, prev = 0, idx;
	struct stk_ent *stk = NULL;
	size_t i, j, nt = 0, ns = 0;
	struct smap local;
	uint32_t *groups = NULL;
	uint64_t *v;
	bool added;
	int err = -ENOMEM;

	smap__init(&local);
	tasks = malloc((e->nt ? e->nt : 1) * sizeof(*tasks));
	stacks = malloc((e->nt ? e->nt : 1) * sizeof(*stacks));
	groups = malloc((e->nt ? e->nt : 1) * sizeof(*groups));
	stk = malloc((e->nt ? e->nt : 1) * sizeof(*stk));
	if (!tasks || !stacks || !groups || !stk)
		goto out;
	for (i = 0; i < e->nt; i++) {
		const struct store_pair *p = &b->pairs[e->at[i]];

		if (!i || p->task != tasks[nt - 1]) {
			tasks[nt] = p->task;
			groups[nt++] = 0;
		}
		groups[nt - 1]++;
		v = smap__upsert(&local, (uint64_t)p->stack, ns, &added);
		if (!v)
			goto out;
		if (added)
			stk[ns++] = (struct stk_ent){
				.skey = *smap__find(&e->skey, (uint64_t)p->stack),
				.stack = p->stack,
			};
	}
	qsort(stk, ns, sizeof(*stk), stk_ent__cmp);
	for (i = 0; i < ns; i++) {
		stacks[i] = stk[i].stack;
		*smap__find(&local, (uint64_t)stk[i].stack) = i;
	}
	err = ids__put(out, tasks, nt);
	if (!err)
		err = ids__put(out, stacks, ns);
	if (!err)
		err = put(out, e->nt);
	for (i = 0; i < nt && !err; i++)
		err = put(out, groups[i]);
	for (i = 0, j = 0; i < nt && !err; i++) {
		size_t end = j + groups[i];

		for (; j < end && !err; j++) {
			idx = (int64_t)*smap__find(&local, (uint64_t)b->pairs[e->at[j]].stack);
			assert(j == end - groups[i] || idx > prev);
			err = put(out, j == end - groups[i] ? zigzag(idx - first)
							    : (uint64_t)(idx - prev - 1));
			if (j == end - groups[i])
				first = idx;
			prev = idx;
		}
	}
out:
	smap__exit(&local);
	free(stk);
	free(groups);
	free(stacks);
	free(tasks);
	return err;
}

/* STORE_BLOB_PAIRS of window 0: the table, then each pair's count. */
static int enc__window(struct enc *e, const struct store_blob *b, const uint64_t *keys,
		       struct sbuf *raw)
{
	const struct store_row *r = b->rows;
	uint64_t *sum;
	size_t i;
	int err;

	assert(b->nwins == 1);
	sum = calloc(e->np ? e->np : 1, sizeof(*sum));
	if (!sum)
		return -ENOMEM;
	for (i = b->first[0]; i < b->first[1]; i++) {
		if (!r[i].count)
			continue;
		sum[e->same[r[i].pair]] += r[i].count;
		e->k[e->same[r[i].pair]] = 1;
	}
	err = enc__order(e, b, keys);
	if (!err)
		err = enc__table(e, b, raw);
	for (i = 0; i < e->nt && !err; i++)
		err = put(raw, sum[e->at[i]]);
	free(sum);
	return err;
}

/* The window headers of a packed row (see cols__headers). */
static int enc__headers(const struct store_blob *b, uint64_t base_ns, struct sbuf *raw)
{
	const struct scan_window *w = b->wins;
	uint64_t prev = base_ns, sum;
	size_t i, j;
	int c, err = put(raw, b->nwins);

	for (i = 0; i < b->nwins && !err; i++) {
		err = put(raw, zigzag((int64_t)(w[i].start_ns - prev)));
		prev = w[i].end_ns;
	}
	for (i = 0; i < b->nwins && !err; i++)
		err = put(raw, w[i].end_ns - w[i].start_ns);
	for (i = 0; i < b->nwins && !err; i++)
		err = put(raw, w[i].freq_hz);
	for (i = 0; i < b->nwins && !err; i++)
		err = put(raw, w[i].period_ns);
	/* A window's samples: what its rows hold. */
	for (i = 0; i < b->nwins && !err; i++) {
		for (j = b->first[i], sum = 0; j < b->first[i + 1]; j++)
			sum += b->rows[j].count;
		err = put(raw, sum);
	}
	for (c = 0; c < 8 && !err; c++) {
		for (i = 0; i < b->nwins && !err; i++) {
			const uint64_t f[] = {w[i].lost.samples,	w[i].lost.kstack_errors,
					      w[i].lost.ustack_errors,	w[i].lost.stack_collisions,
					      w[i].lost.stack_map_full, w[i].lost.count_map_full,
					      w[i].lost.ringbuf_full,	w[i].lost.truncated};

			err = put(raw, f[c]);
		}
	}
	return err;
}

/* Each pair's windows (ascending) and counts, by table position: CSR arrays. */
struct occ {
	size_t *off;	   /* table position -> first row, nt + 1 entries */
	uint32_t *win, *k; /* row -> window; table position -> windows */
	uint64_t *count;   /* row -> count */
};

static void occ__free(struct occ *o)
{
	free(o->off);
	free(o->win);
	free(o->k);
	free(o->count);
}

static int occ__fill(struct occ *o, const struct enc *e, const struct store_blob *b)
{
	size_t t, i, w, at, nt = e->nt ? e->nt : 1, *fill;

	o->off = calloc(nt + 1, sizeof(*o->off));
	o->k = malloc(nt * sizeof(*o->k));
	fill = calloc(nt, sizeof(*fill));
	if (!o->off || !o->k || !fill)
		goto out_nomem;
	for (t = 0; t < e->nt; t++) {
		o->k[t] = e->k[e->at[t]];
		o->off[t + 1] = o->off[t] + o->k[t];
	}
	o->win = malloc((o->off[e->nt] ? o->off[e->nt] : 1) * sizeof(*o->win));
	o->count = malloc((o->off[e->nt] ? o->off[e->nt] : 1) * sizeof(*o->count));
	if (!o->win || !o->count)
		goto out_nomem;
	for (w = 0; w < b->nwins; w++) {
		for (i = b->first[w]; i < b->first[w + 1]; i++) {
			if (!b->rows[i].count)
				continue;
			t = e->pos[e->same[b->rows[i].pair]];
			at = o->off[t] + fill[t];
			if (fill[t] && o->win[at - 1] == w) {
				o->count[at - 1] += b->rows[i].count;
				continue;
			}
			o->win[at] = (uint32_t)w;
			o->count[at] = b->rows[i].count;
			fill[t]++;
		}
	}
	free(fill);
	return 0;
out_nomem:
	free(fill);
	return -ENOMEM;
}

/* STORE_BLOB_COLS: window count, headers, the table, the body (see cols__body). */
static int enc__cols(struct enc *e, const struct store_blob *b, const uint64_t *keys,
		     uint64_t base_ns, struct sbuf *raw)
{
	struct occ o = {0};
	uint32_t *last, *order = NULL;
	size_t i, j, w, c;
	int64_t prev;
	int err;

	assert(b->nwins >= 2 && b->nwins < UINT32_MAX);
	last = malloc((e->np ? e->np : 1) * sizeof(*last));
	if (!last)
		return -ENOMEM;
	memset(last, 0xff, (e->np ? e->np : 1) * sizeof(*last));
	for (w = 0; w < b->nwins; w++) {
		for (i = b->first[w]; i < b->first[w + 1]; i++) {
			c = e->same[b->rows[i].pair];
			if (b->rows[i].count && last[c] != w) {
				e->k[c]++;
				last[c] = (uint32_t)w;
			}
		}
	}
	free(last);
	err = enc__headers(b, base_ns, raw);
	if (!err)
		err = enc__order(e, b, keys);
	if (!err)
		err = enc__table(e, b, raw);
	if (!err)
		err = occ__fill(&o, e, b);
	order = malloc((e->nt ? e->nt : 1) * sizeof(*order));
	if (!err && !order)
		err = -ENOMEM;
	if (!err)
		err = cols__order(o.k, e->nt, b->nwins, order);
	for (i = 0; i < e->nt && !err; i++)
		err = put(raw, o.k[i] - 1);
	if (!err)
		err = sbuf__reserve(raw, raw->len + o.off[e->nt]);
	/* Low bytes of the gaps, the rest of them, the counts: pair by pair in @order. */
	for (c = 0; c < 3 && !err; c++) {
		for (i = 0; i < e->nt && !err; i++) {
			size_t t = order[i];

			for (j = o.off[t], prev = -1; j < o.off[t + 1] && !err; j++) {
				uint64_t gap = (uint64_t)((int64_t)o.win[j] - prev - 1);

				prev = o.win[j];
				if (c == 0)
					raw->p[raw->len++] = (uint8_t)gap;
				else
					err = put(raw, c == 1 ? gap >> 8 : o.count[j] - 1);
			}
		}
	}
	free(order);
	occ__free(&o);
	return err;
}

int blob__encode(const struct store_blob *b, const uint64_t *keys, bool packed, uint64_t base_ns,
		 ZSTD_CCtx *cctx, struct sbuf *raw, struct sbuf *out)
{
	struct enc e;
	int err;

	assert(!b->legacy);
	raw->len = 0;
	err = enc__init(&e, b);
	if (!err)
		err = packed ? enc__cols(&e, b, keys, base_ns, raw) : enc__window(&e, b, keys, raw);
	enc__free(&e);
	if (err)
		return err;
	return zblob__compress(cctx, packed ? STORE_BLOB_COLS : STORE_BLOB_PAIRS, raw, out);
}
