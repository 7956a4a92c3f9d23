/*
 * The blob encodings of the database (docs/storage.md, "Blobs"): LEB128
 * varints, stacks as zigzag deltas of frame ids, and a window's samples as a
 * zstd frame of varint rows (series id deltas, then counts). Decoders check
 * every length and bound: a blob is outside input that may be truncated or
 * corrupt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd_errors.h>

#include "store_int.h"

size_t varint__put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

int varint__get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *s = *p;
	uint64_t r = 0;
	unsigned shift = 0;

	while (s < end) {
		uint8_t b = *s++;

		if (shift == 63 && b > 1)
			return -EINVAL;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = s;
			*v = r;
			return 0;
		}
		shift += 7;
		if (shift > 63)
			return -EINVAL;
	}
	return -EINVAL;
}

static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int stackblob__encode(const int64_t *frames, uint32_t n, struct sbuf *out)
{
	int64_t prev = 0;
	uint32_t i;
	int err;

	out->len = 0;
	err = sbuf__reserve(out, (size_t)n * 10 + 1);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		out->len += varint__put(out->p + out->len, zigzag(frames[i] - prev));
		prev = frames[i];
	}
	return 0;
}

int stackblob__decode(const void *blob, size_t len, int64_t **out, size_t *cap, uint32_t *n)
{
	const uint8_t *p = blob, *end = p + len;
	int64_t prev = 0, *v;
	uint32_t depth = 0;
	uint64_t d;

	/* A varint is at least one byte, so @len bounds the depth. */
	if (len > UINT32_MAX)
		return -EINVAL;
	if (len > *cap) {
		v = realloc(*out, len * sizeof(**out));
		if (!v)
			return -ENOMEM;
		*out = v;
		*cap = len;
	}
	while (p < end) {
		if (varint__get(&p, end, &d))
			return -EINVAL;
		prev = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(d));
		if (prev <= 0)
			return -EINVAL;
		(*out)[depth++] = prev;
	}
	*n = depth;
	return 0;
}

int wrows__append(struct sbuf *b, const struct store_row *rows, size_t n)
{
	int64_t prev = 0;
	size_t i;
	int err;

	if (n > (SIZE_MAX - 10 - b->len) / 20)
		return -ENOMEM;
	err = sbuf__reserve(b, b->len + n * 20 + 10);
	if (err)
		return err;
	b->len += varint__put(b->p + b->len, n);
	for (i = 0; i < n; i++) {
		b->len += varint__put(b->p + b->len, (uint64_t)(rows[i].series - prev));
		prev = rows[i].series;
	}
	for (i = 0; i < n; i++)
		b->len += varint__put(b->p + b->len, rows[i].count);
	return 0;
}

int zblob__compress(ZSTD_CCtx *cctx, uint8_t encoding, const struct sbuf *payload, struct sbuf *out)
{
	size_t bound = ZSTD_compressBound(payload->len), z;
	int err;

	err = sbuf__reserve(out, bound + 1);
	if (err)
		return err;
	out->p[0] = encoding;
	z = ZSTD_compress2(cctx, out->p + 1, bound, payload->p, payload->len);
	if (ZSTD_isError(z))
		return ZSTD_getErrorCode(z) == ZSTD_error_memory_allocation ? -ENOMEM : -EIO;
	out->len = z + 1;
	return 0;
}

int wblob__encode(ZSTD_CCtx *cctx, const struct store_row *rows, size_t n, struct sbuf *raw,
		  struct sbuf *out)
{
	int err;

	raw->len = 0;
	err = wrows__append(raw, rows, n);
	if (err)
		return err;
	return zblob__compress(cctx, STORE_BLOB_ZSTD, raw, out);
}

int wrows__parse(const uint8_t **pp, const uint8_t *end, uint64_t samples, struct store_row **rows,
		 size_t *cap, size_t *n, char *why, size_t whylen)
{
	const uint8_t *p = *pp;
	uint64_t nrows, v, sum = 0;
	struct store_row *r;
	int64_t prev = 0;
	size_t i;

	if (varint__get(&p, end, &nrows)) {
		snprintf(why, whylen, "no row count");
		return -EINVAL;
	}
	/* Two bytes per row at least: bounds the allocation by the blob. */
	if (nrows > (uint64_t)(end - p) / 2 || nrows > samples) {
		snprintf(why, whylen, "%llu rows do not fit", (unsigned long long)nrows);
		return -EINVAL;
	}
	if (nrows > *cap) {
		r = realloc(*rows, nrows * sizeof(*r));
		if (!r)
			return -ENOMEM;
		*rows = r;
		*cap = nrows;
	}
	r = *rows;
	for (i = 0; i < nrows; i++) {
		if (varint__get(&p, end, &v) || (i && !v) ||
		    v > (uint64_t)INT64_MAX - (uint64_t)prev) {
			snprintf(why, whylen, "bad series delta in row %zu", i);
			return -EINVAL;
		}
		prev += (int64_t)v;
		if (prev <= 0) {
			snprintf(why, whylen, "bad series id in row %zu", i);
			return -EINVAL;
		}
		r[i].series = prev;
	}
	for (i = 0; i < nrows; i++) {
		if (varint__get(&p, end, &v) || !v || v > samples - sum) {
			snprintf(why, whylen, "bad count in row %zu", i);
			return -EINVAL;
		}
		r[i].count = v;
		sum += v;
	}
	if (sum != samples) {
		snprintf(why, whylen, "rows hold %llu samples, the window says %llu",
			 (unsigned long long)sum, (unsigned long long)samples);
		return -EINVAL;
	}
	*pp = p;
	*n = nrows;
	return 0;
}

int zblob__decompress(ZSTD_DCtx *dctx, const void *blob, size_t len, struct sbuf *raw,
		      uint8_t *encoding, char *why, size_t whylen)
{
	const uint8_t *b = blob;
	unsigned long long size;
	size_t z;
	int err;

	if (!len || (b[0] != STORE_BLOB_ZSTD && b[0] != STORE_BLOB_PACK)) {
		snprintf(why, whylen, len ? "unknown encoding %u" : "empty blob", len ? b[0] : 0);
		return -EINVAL;
	}
	*encoding = b[0];
	size = ZSTD_getFrameContentSize(b + 1, len - 1);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
	    size > STORE_BLOB_MAX) {
		snprintf(why, whylen, "bad zstd frame header");
		return -EINVAL;
	}
	err = sbuf__reserve(raw, size ? size : 1);
	if (err)
		return err;
	z = ZSTD_decompressDCtx(dctx, raw->p, size, b + 1, len - 1);
	if (ZSTD_isError(z)) {
		if (ZSTD_getErrorCode(z) == ZSTD_error_memory_allocation)
			return -ENOMEM;
		snprintf(why, whylen, "zstd: %s", ZSTD_getErrorName(z));
		return -EINVAL;
	}
	if (z != size) {
		snprintf(why, whylen, "zstd: %zu bytes instead of %llu", z, size);
		return -EINVAL;
	}
	raw->len = z;
	return 0;
}

int wblob__decode(ZSTD_DCtx *dctx, const void *blob, size_t len, uint64_t samples, struct sbuf *raw,
		  struct store_row **rows, size_t *cap, size_t *n, char *why, size_t whylen)
{
	const uint8_t *p;
	uint8_t enc;
	int err;

	err = zblob__decompress(dctx, blob, len, raw, &enc, why, whylen);
	if (err)
		return err;
	if (enc != STORE_BLOB_ZSTD) {
		snprintf(why, whylen, "a packed blob where one window was expected");
		return -EINVAL;
	}
	p = raw->p;
	err = wrows__parse(&p, raw->p + raw->len, samples, rows, cap, n, why, whylen);
	if (err)
		return err;
	if (p != raw->p + raw->len) {
		snprintf(why, whylen, "%zu trailing bytes", (size_t)(raw->p + raw->len - p));
		return -EINVAL;
	}
	return 0;
}

int wpack__local_put(struct sbuf *b, const int64_t *local, size_t nhot, size_t n)
{
	int64_t prev = 0;
	size_t i;
	int err;

	if (n > (SIZE_MAX - 20 - b->len) / 10)
		return -ENOMEM;
	err = sbuf__reserve(b, b->len + n * 10 + 20);
	if (err)
		return err;
	b->len += varint__put(b->p + b->len, nhot);
	for (i = 0; i < nhot; i++)
		b->len += varint__put(b->p + b->len, (uint64_t)local[i]);
	b->len += varint__put(b->p + b->len, n - nhot);
	for (i = nhot; i < n; i++) {
		b->len += varint__put(b->p + b->len, (uint64_t)(local[i] - prev));
		prev = local[i];
	}
	return 0;
}

int wpack__local_get(const uint8_t **pp, const uint8_t *end, int64_t **local, size_t *cap,
		     size_t *n, char *why, size_t whylen)
{
	const uint8_t *p = *pp;
	uint64_t nhot, nrest, v;
	int64_t prev = 0, *l;
	size_t i;

	if (varint__get(&p, end, &nhot) || nhot > (uint64_t)(end - p))
		goto out_bad;
	/* Every entry is one byte at least: the hot part and the rest fit in the blob. */
	for (i = 0; i < nhot; i++) {
		if (varint__get(&p, end, &v))
			goto out_bad;
	}
	if (varint__get(&p, end, &nrest) || nrest > (uint64_t)(end - p))
		goto out_bad;
	if (nhot + nrest > *cap) {
		l = realloc(*local, (nhot + nrest) * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*local = l;
		*cap = nhot + nrest;
	}
	p = *pp;
	varint__get(&p, end, &v);
	for (i = 0; i < nhot; i++) {
		varint__get(&p, end, &v);
		if (!v || v > INT64_MAX)
			goto out_bad;
		(*local)[i] = (int64_t)v;
	}
	varint__get(&p, end, &v);
	for (i = 0; i < nrest; i++) {
		if (varint__get(&p, end, &v) || !v || v > (uint64_t)INT64_MAX - (uint64_t)prev)
			goto out_bad;
		prev += (int64_t)v;
		(*local)[nhot + i] = prev;
	}
	*n = nhot + nrest;
	*pp = p;
	return 0;
out_bad:
	snprintf(why, whylen, "bad series table");
	return -EINVAL;
}

int wpack__append(struct sbuf *b, uint64_t base_ns, const struct scan_window *w,
		  const struct store_row *rows, size_t n)
{
	const struct profile_lost *l = &w->lost;
	const uint64_t hdr[] = {w->start_ns - base_ns,
				w->end_ns - w->start_ns,
				w->freq_hz,
				w->period_ns,
				w->samples,
				l->samples,
				l->kstack_errors,
				l->ustack_errors,
				l->stack_collisions,
				l->stack_map_full,
				l->count_map_full,
				l->ringbuf_full,
				l->truncated};
	size_t i;
	int err;

	err = sbuf__reserve(b, b->len + sizeof(hdr) / sizeof(hdr[0]) * 10);
	if (err)
		return err;
	for (i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		b->len += varint__put(b->p + b->len, hdr[i]);
	return wrows__append(b, rows, n);
}

int wpack__next(const uint8_t **pp, const uint8_t *end, uint64_t base_ns, struct scan_window *w,
		const int64_t *local, size_t nlocal, struct store_row **rows, size_t *cap,
		size_t *n, char *why, size_t whylen)
{
	struct profile_lost *l = &w->lost;
	uint64_t *const rest[] = {&w->period_ns,      &w->samples,	  &l->samples,
				  &l->kstack_errors,  &l->ustack_errors,  &l->stack_collisions,
				  &l->stack_map_full, &l->count_map_full, &l->ringbuf_full,
				  &l->truncated};
	const uint8_t *p = *pp;
	uint64_t off, dur, freq;
	size_t i;
	int err;

	if (varint__get(&p, end, &off) || varint__get(&p, end, &dur) ||
	    varint__get(&p, end, &freq) || !dur || freq > UINT32_MAX ||
	    off > (uint64_t)INT64_MAX - base_ns || dur > (uint64_t)INT64_MAX - base_ns - off) {
		snprintf(why, whylen, "bad packed window header");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
		if (varint__get(&p, end, rest[i])) {
			snprintf(why, whylen, "bad packed window header");
			return -EINVAL;
		}
	}
	w->start_ns = base_ns + off;
	w->end_ns = w->start_ns + dur;
	w->freq_hz = (uint32_t)freq;
	err = wrows__parse(&p, end, w->samples, rows, cap, n, why, whylen);
	if (err)
		return err;
	for (i = 0; i < *n; i++) {
		if ((uint64_t)(*rows)[i].series > nlocal) {
			snprintf(why, whylen, "series %lld beyond the table of %zu",
				 (long long)(*rows)[i].series, nlocal);
			return -EINVAL;
		}
		(*rows)[i].series = local[(*rows)[i].series - 1];
	}
	*pp = p;
	return 0;
}
