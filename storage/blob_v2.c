/*
 * The sample blobs of schema 2, read only (docs/storage.md, "Blobs of schema
 * 2"): one window (STORE_BLOB_ZSTD) or packed windows (STORE_BLOB_PACK) whose
 * rows name series ids, rows of the series table. Databases migrated from
 * schema 2 keep such rows until retention deletes them; ember no longer
 * writes them. The decoders fill a struct store_blob with the series ids in
 * place of pairs (legacy set); the caller looks the series up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/*
 * One window's rows at *@pp, appended to @b: varint R, R series deltas (ids
 * strictly increase), R counts (at least 1) adding up to @samples. With
 * @local, the "series" are 1-based indexes into the packed row's table (the
 * b->npairs series ids in b->series); without, series ids, each added to
 * b->series as a pair.
 */
static int v2__rows(struct store_blob *b, const uint8_t **pp, const uint8_t *end, uint64_t samples,
		    bool local, char *why, size_t whylen)
{
	const uint8_t *p = *pp;
	uint64_t nrows, v, sum = 0, i, nlocal = b->npairs;
	struct store_row *r;
	int64_t prev = 0;

	if (varint__get(&p, end, &nrows))
		return blob__fail(why, whylen, "no row count");
	/* Two bytes per row at least: bounds the allocation by the blob. */
	if (nrows > (uint64_t)(end - p) / 2 || nrows > samples)
		return blob__fail(why, whylen, "%llu rows do not fit", (unsigned long long)nrows);
	if (mem__grow((void **)&b->rows, &b->rows_cap, b->nrows + nrows + 1, sizeof(*b->rows)) ||
	    (!local && mem__grow((void **)&b->series, &b->series_cap, b->npairs + nrows + 1,
				 sizeof(*b->series))))
		return -ENOMEM;
	r = b->rows + b->nrows;
	for (i = 0; i < nrows; i++) {
		if (varint__get(&p, end, &v) || (i && !v) ||
		    v > (uint64_t)INT64_MAX - (uint64_t)prev)
			return blob__fail(why, whylen, "bad series delta in row %llu",
					  (unsigned long long)i);
		prev += (int64_t)v;
		if (prev <= 0 || (local && (uint64_t)prev > nlocal))
			return blob__fail(why, whylen, "bad series in row %llu",
					  (unsigned long long)i);
		if (local) {
			r[i].pair = (uint32_t)(prev - 1);
		} else {
			r[i].pair = (uint32_t)b->npairs;
			b->series[b->npairs++] = prev;
		}
	}
	for (i = 0; i < nrows; i++) {
		if (varint__get(&p, end, &v) || !v || v > samples - sum)
			return blob__fail(why, whylen, "bad count in row %llu",
					  (unsigned long long)i);
		r[i].count = v;
		sum += v;
	}
	if (sum != samples)
		return blob__fail(why, whylen, "rows hold %llu samples, the window says %llu",
				  (unsigned long long)sum, (unsigned long long)samples);
	b->nrows += (size_t)nrows;
	*pp = p;
	return 0;
}

int blob_v2__window(struct store_blob *b, const uint8_t *p, const uint8_t *end,
		    const struct scan_window *row, char *why, size_t whylen)
{
	int err;

	err = blob__reserve(b, 1, 0);
	if (err)
		return err;
	err = v2__rows(b, &p, end, row->samples, false, why, whylen);
	if (err)
		return err;
	if (p != end)
		return blob__fail(why, whylen, "%zu trailing bytes", (size_t)(end - p));
	b->legacy = true;
	b->wins[0] = *row;
	b->first[0] = 0;
	b->first[1] = b->nrows;
	b->nwins = 1;
	return 0;
}

/*
 * The series table of a packed row into b->series: varint H and H ids (the
 * most used first), then varint L and L ascending ids as deltas.
 */
static int v2__table(struct store_blob *b, const uint8_t **pp, const uint8_t *end, char *why,
		     size_t whylen)
{
	const uint8_t *p = *pp;
	uint64_t nhot, nrest, v, i;
	int64_t prev = 0;

	/* Every entry is one byte at least: the counts are bounded by the blob. */
	if (varint__get(&p, end, &nhot) || nhot > (uint64_t)(end - p))
		return blob__fail(why, whylen, "bad series table");
	if (mem__grow((void **)&b->series, &b->series_cap, nhot + 1, sizeof(*b->series)))
		return -ENOMEM;
	for (i = 0; i < nhot; i++) {
		if (varint__get(&p, end, &v) || !v || v > INT64_MAX)
			return blob__fail(why, whylen, "bad series table");
		b->series[i] = (int64_t)v;
	}
	if (varint__get(&p, end, &nrest) || nrest > (uint64_t)(end - p))
		return blob__fail(why, whylen, "bad series table");
	if (mem__grow((void **)&b->series, &b->series_cap, nhot + nrest + 1, sizeof(*b->series)))
		return -ENOMEM;
	for (i = 0; i < nrest; i++) {
		if (varint__get(&p, end, &v) || !v || v > (uint64_t)INT64_MAX - (uint64_t)prev)
			return blob__fail(why, whylen, "bad series table");
		prev += (int64_t)v;
		b->series[nhot + i] = prev;
	}
	b->npairs = (size_t)(nhot + nrest);
	*pp = p;
	return 0;
}

/* The header of a packed window: start - row start, duration, freq, period, samples, lost. */
static int v2__header(const uint8_t **p, const uint8_t *end, const struct scan_window *row,
		      struct scan_window *w, char *why, size_t whylen)
{
	struct profile_lost *l = &w->lost;
	uint64_t *const rest[] = {&w->period_ns,      &w->samples,	  &l->samples,
				  &l->kstack_errors,  &l->ustack_errors,  &l->stack_collisions,
				  &l->stack_map_full, &l->count_map_full, &l->ringbuf_full,
				  &l->truncated};
	uint64_t off, dur, freq, base = row->start_ns;
	size_t i;

	*w = (struct scan_window){.id = row->id};
	if (varint__get(p, end, &off) || varint__get(p, end, &dur) || varint__get(p, end, &freq) ||
	    !dur || freq > UINT32_MAX || base > INT64_MAX || off > (uint64_t)INT64_MAX - base ||
	    dur > (uint64_t)INT64_MAX - base - off)
		return blob__fail(why, whylen, "bad packed window header");
	for (i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
		if (varint__get(p, end, rest[i]))
			return blob__fail(why, whylen, "bad packed window header");
	}
	w->start_ns = base + off;
	w->end_ns = w->start_ns + dur;
	w->freq_hz = (uint32_t)freq;
	return 0;
}

int blob_v2__packed(struct store_blob *b, const uint8_t *p, const uint8_t *end,
		    const struct scan_window *row, uint64_t nwin, char *why, size_t whylen)
{
	uint64_t n, i, sum = 0;
	struct scan_window *w;
	int err;

	/* A window takes 14 bytes at least (13 header varints and a row count). */
	if (varint__get(&p, end, &n) || n != nwin || n > (uint64_t)(end - p) / 14)
		return blob__fail(why, whylen, "packed blob does not hold %llu windows",
				  (unsigned long long)nwin);
	err = blob__reserve(b, (size_t)n, 0);
	if (!err)
		err = v2__table(b, &p, end, why, whylen);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		w = &b->wins[i];
		b->first[i] = b->nrows;
		err = v2__header(&p, end, row, w, why, whylen);
		if (!err)
			err = v2__rows(b, &p, end, w->samples, true, why, whylen);
		if (err)
			return err;
		if (w->end_ns > row->end_ns || w->samples > row->samples - sum)
			return blob__fail(why, whylen, "packed window %llu outside its row",
					  (unsigned long long)i);
		sum += w->samples;
	}
	b->first[n] = b->nrows;
	if (p != end || sum != row->samples)
		return blob__fail(why, whylen,
				  "packed windows hold %llu samples, the row says %llu",
				  (unsigned long long)sum, (unsigned long long)row->samples);
	b->nwins = (size_t)n;
	b->legacy = true;
	return 0;
}
