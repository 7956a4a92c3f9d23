/*
 * The primitives of the database's blobs (docs/storage.md, "Blobs"): LEB128
 * varints, stacks as zigzag deltas of frame ids, and the zstd frame behind an
 * encoding byte that every sample blob is (blob.c has what is inside).
 * Decoders check every length and bound: a blob is outside input that may be
 * truncated or corrupt.
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

int zblob__decompress(ZSTD_DCtx *dctx, const void *blob, size_t len, struct sbuf *raw,
		      uint8_t *encoding, char *why, size_t whylen)
{
	const uint8_t *b = blob;
	unsigned long long size;
	size_t z;
	int err;

	if (!len || b[0] < STORE_BLOB_ZSTD || b[0] > STORE_BLOB_COLS) {
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
