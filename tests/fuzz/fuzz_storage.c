/*
 * libFuzzer target for the sample blob decoders of the database
 * (storage/blob.c, blob_v2.c): a payload of any encoding is refused or
 * decoded into a consistent blob (rows naming pairs that exist, counts adding
 * up to the row's samples, windows inside the row), and a decoded blob of
 * schema 3 encodes again into one that decodes to the same windows and
 * counts. Input: byte 0 the encoding, bytes 1-2 the row's window count, bytes
 * 3-10 its samples (little endian), then the payload. The whole input is also
 * decoded as a compressed blob, and the payload without rows (windows only,
 * windows and pairs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define HDR 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ZSTD_CCtx *cctx;
static ZSTD_DCtx *dctx;

static void check(const struct store_blob *b, const struct scan_window *row)
{
	uint64_t sum = 0, ws;
	size_t i, j;

	if (b->first[0] || b->first[b->nwins] != b->nrows)
		abort();
	for (i = 0; i < b->nwins; i++) {
		if (b->first[i] > b->first[i + 1] || b->wins[i].start_ns < row->start_ns ||
		    b->wins[i].start_ns >= b->wins[i].end_ns || b->wins[i].end_ns > row->end_ns)
			abort();
		for (j = b->first[i], ws = 0; j < b->first[i + 1]; j++) {
			if (b->rows[j].pair >= b->npairs || !b->rows[j].count)
				abort();
			ws += b->rows[j].count;
		}
		if (ws != b->wins[i].samples)
			abort();
		sum += ws;
	}
	if (sum != row->samples)
		abort();
}

/* The windows alone (a decode without rows): inside the row, samples adding up. */
static void check_windows(const struct store_blob *b, const struct scan_window *row)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < b->nwins; i++) {
		if (b->wins[i].start_ns < row->start_ns ||
		    b->wins[i].start_ns >= b->wins[i].end_ns || b->wins[i].end_ns > row->end_ns ||
		    b->wins[i].samples > row->samples - sum)
			abort();
		sum += b->wins[i].samples;
	}
	if (sum != row->samples || b->first[b->nwins] != b->nrows)
		abort();
}

/* Window @i's count of pair @p (by value: a table may name one pair twice). */
static uint64_t count_of(const struct store_blob *b, size_t i, const struct store_pair *p)
{
	uint64_t n = 0;
	size_t j;

	for (j = b->first[i]; j < b->first[i + 1]; j++) {
		const struct store_pair *q = &b->pairs[b->rows[j].pair];

		if (q->task == p->task && q->stack == p->stack)
			n += b->rows[j].count;
	}
	return n;
}

static void same(const struct store_blob *a, const struct store_blob *b)
{
	size_t i, j;

	if (a->nwins != b->nwins)
		abort();
	for (i = 0; i < a->nwins; i++) {
		if (a->wins[i].start_ns != b->wins[i].start_ns ||
		    a->wins[i].end_ns != b->wins[i].end_ns ||
		    a->wins[i].freq_hz != b->wins[i].freq_hz ||
		    a->wins[i].period_ns != b->wins[i].period_ns ||
		    a->wins[i].samples != b->wins[i].samples ||
		    memcmp(&a->wins[i].lost, &b->wins[i].lost, sizeof(a->wins[i].lost)))
			abort();
		/* Small inputs only get here: quadratic is fine. */
		for (j = a->first[i]; j < a->first[i + 1]; j++) {
			const struct store_pair *p = &a->pairs[a->rows[j].pair];

			if (count_of(a, i, p) != count_of(b, i, p))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_window row = {
		.id = 1, .start_ns = 1ULL << 60, .end_ns = (1ULL << 60) + (1ULL << 45)};
	struct store_blob b = {0}, again = {0};
	struct sbuf raw = {0}, out = {0}, raw2 = {0};
	uint64_t nwin;
	char why[160];
	int err;

	if (!cctx) {
		cctx = ZSTD_createCCtx();
		dctx = ZSTD_createDCtx();
		if (!cctx || !dctx ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
			abort();
	}
	if (size < HDR)
		return 0;
	nwin = (uint64_t)data[1] | (uint64_t)data[2] << 8;
	memcpy(&row.samples, data + 3, 8);
	err = blob__parse(&b, data[0], data + HDR, size - HDR, &row, nwin, BLOB_ROWS, why,
			  sizeof(why));
	if (!err) {
		check(&b, &row);
		if (!b.legacy) {
			if (blob__encode(&b, NULL, nwin > 1, row.start_ns, cctx, &raw, &out) ||
			    blob__decode(&again, dctx, &raw2, out.p, out.len, &row, nwin, BLOB_ROWS,
					 why, sizeof(why)))
				abort();
			same(&b, &again);
			same(&again, &b);
		}
	}
	/* Without rows: what the windows say must still hold together. */
	if (!blob__parse(&again, data[0], data + HDR, size - HDR, &row, nwin, BLOB_WINDOWS, why,
			 sizeof(why)))
		check_windows(&again, &row);
	if (!blob__parse(&again, data[0], data + HDR, size - HDR, &row, nwin, BLOB_PAIRS, why,
			 sizeof(why)))
		check_windows(&again, &row);
	err = blob__decode(&b, dctx, &raw2, data, size, &row, nwin, BLOB_ROWS, why, sizeof(why));
	if (!err)
		check(&b, &row);
	blob__exit(&b);
	blob__exit(&again);
	sbuf__exit(&raw);
	sbuf__exit(&out);
	sbuf__exit(&raw2);
	return 0;
}
