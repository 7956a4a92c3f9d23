/*
 * Unit tests for the sample blob codecs of storage/ (blob.c, blob_v2.c),
 * below the database: round trips of one-window and packed blobs drawn at
 * random (overlapping and gapped windows, empty windows, a pair named twice,
 * gaps wider than a byte and than 16 bits, huge counts and ids); every
 * truncation of a blob and of its payload refused; every flipped byte refused
 * or decoded into something self-consistent; hand-made payloads that break
 * one rule each; and the schema 2 encodings, from the test's own encoder.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "store_int.h"
#include "test_rng.h"

#define SEC (1000000000ULL)
#define T0  (1763694000ULL * SEC)

/* ---- what a blob should hold: windows and, per window, counts per pair ---------- */

struct mrow {
	struct store_pair pair;
	uint64_t count;
};

struct model {
	struct scan_window *wins;
	struct mrow **rows; /* per window */
	size_t *nrows;
	size_t nwins;
	struct scan_window row; /* the window row: span, samples */
};

static void model_free(struct model *m)
{
	size_t i;

	for (i = 0; i < m->nwins; i++)
		free(m->rows[i]);
	free(m->rows);
	free(m->nrows);
	free(m->wins);
}

/*
 * @nwins windows of 10 s (some overlapping the previous one, some after a
 * gap), drawing pairs from @ntasks tasks x @nstacks stacks; @nempty windows
 * hold nothing.
 */
static void model_random(struct model *m, size_t nwins, size_t maxrows, size_t ntasks,
			 size_t nstacks, uint64_t maxcount)
{
	uint64_t t = T0, sum = 0;
	size_t i, j;

	memset(m, 0, sizeof(*m));
	m->nwins = nwins;
	m->wins = calloc(nwins, sizeof(*m->wins));
	m->rows = calloc(nwins, sizeof(*m->rows));
	m->nrows = calloc(nwins, sizeof(*m->nrows));
	assert_true(m->wins && m->rows && m->nrows);
	for (i = 0; i < nwins; i++) {
		struct scan_window *w = &m->wins[i];

		w->id = 7;
		w->start_ns = t;
		w->end_ns = t + 10 * SEC - (i % 5 == 4 ? 3 * SEC : 0);
		w->freq_hz = i % 9 == 8 ? 99 : 19;
		w->period_ns = SEC / w->freq_hz;
		w->lost.samples = i % 3;
		w->lost.kstack_errors = i % 7 == 0 ? UINT64_MAX - i : 0;
		w->lost.ustack_errors = i;
		w->lost.stack_collisions = 1;
		w->lost.stack_map_full = i % 2;
		w->lost.count_map_full = i * 1000003;
		w->lost.ringbuf_full = 0;
		w->lost.truncated = i % 4;
		/* Next: right after, overlapping by 2 s, or after a gap of 1 s. */
		t = w->end_ns - (i % 7 == 3 ? 2 * SEC : 0) + (i % 11 == 5 ? SEC : 0);
		m->nrows[i] = i % 13 == 12 ? 0 : rnd_below(maxrows + 1);
		m->rows[i] = calloc(m->nrows[i] + 1, sizeof(**m->rows));
		assert_non_null(m->rows[i]);
		for (j = 0; j < m->nrows[i]; j++) {
			struct mrow *r = &m->rows[i][j];

			/* Skewed: low ids far more often, as hot tasks and stacks are. */
			r->pair.task = 1 + (int64_t)rnd_below(1 + rnd_below(ntasks));
			r->pair.stack = 1 + (int64_t)rnd_below(1 + rnd_below(nstacks));
			r->count = 1 + (rnd_below(4) ? 0 : rnd_below(maxcount));
			w->samples += r->count;
		}
		sum += w->samples;
	}
	m->row = m->wins[0];
	m->row.samples = sum;
	for (i = 0; i < nwins; i++) {
		if (m->wins[i].start_ns < m->row.start_ns)
			m->row.start_ns = m->wins[i].start_ns;
		if (m->wins[i].end_ns > m->row.end_ns)
			m->row.end_ns = m->wins[i].end_ns;
	}
}

/*
 * The model as an encoder's input: rows name pairs of a shared array in which
 * some (task, stack) pairs appear twice (the encoder must merge them).
 */
static void model_blob(const struct model *m, struct store_blob *b, uint64_t **keys)
{
	size_t i, j, n = 0, total = 0;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < m->nwins; i++)
		total += m->nrows[i];
	assert_int_equal(blob__reserve(b, m->nwins, total + 1), 0);
	b->pairs = calloc(total + 1, sizeof(*b->pairs));
	*keys = calloc(total + 1, sizeof(**keys));
	assert_true(b->pairs && *keys);
	b->pairs_cap = total + 1;
	for (i = 0; i < m->nwins; i++) {
		b->wins[i] = m->wins[i];
		b->first[i] = n;
		for (j = 0; j < m->nrows[i]; j++, n++) {
			b->pairs[n] = m->rows[i][j].pair;
			(*keys)[n] = (uint64_t)m->rows[i][j].pair.task % 5;
			b->rows[n] = (struct store_row){.pair = (uint32_t)n,
							.count = m->rows[i][j].count};
		}
	}
	b->first[m->nwins] = n;
	b->nwins = m->nwins;
	b->nrows = b->npairs = n;
}

static int mrow_cmp(const void *a, const void *b)
{
	const struct mrow *x = a, *y = b;

	if (x->pair.task != y->pair.task)
		return x->pair.task < y->pair.task ? -1 : 1;
	if (x->pair.stack != y->pair.stack)
		return x->pair.stack < y->pair.stack ? -1 : 1;
	return 0;
}

/* Sorts @r by pair and adds up the counts of equal pairs; returns the new count. */
static size_t mrows_canon(struct mrow *r, size_t n)
{
	size_t i, k = 0;

	qsort(r, n, sizeof(*r), mrow_cmp);
	for (i = 0; i < n; i++) {
		if (k && !mrow_cmp(&r[k - 1], &r[i]))
			r[k - 1].count += r[i].count;
		else
			r[k++] = r[i];
	}
	return k;
}

/* Checks that decoded window @i of @b holds what the model's window @i does. */
static void expect_window(const struct model *m, size_t i, const struct store_blob *b, size_t bi)
{
	const struct scan_window *w = &b->wins[bi], *x = &m->wins[i];
	struct mrow *want, *got;
	size_t nw, ng, j;

	assert_int_equal(w->start_ns, x->start_ns);
	assert_int_equal(w->end_ns, x->end_ns);
	assert_int_equal(w->freq_hz, x->freq_hz);
	assert_int_equal(w->period_ns, x->period_ns);
	assert_int_equal(w->samples, x->samples);
	assert_memory_equal(&w->lost, &x->lost, sizeof(w->lost));
	want = calloc(m->nrows[i] + 1, sizeof(*want));
	ng = b->first[bi + 1] - b->first[bi];
	got = calloc(ng + 1, sizeof(*got));
	assert_true(want && got);
	memcpy(want, m->rows[i], m->nrows[i] * sizeof(*want));
	nw = mrows_canon(want, m->nrows[i]);
	for (j = 0; j < ng; j++) {
		const struct store_row *r = &b->rows[b->first[bi] + j];

		assert_true(r->pair < b->npairs);
		got[j] = (struct mrow){.pair = b->pairs[r->pair], .count = r->count};
	}
	/* A decoded window names each pair once. */
	assert_int_equal(mrows_canon(got, ng), ng);
	assert_int_equal(ng, nw);
	for (j = 0; j < nw; j++) {
		assert_int_equal(got[j].pair.task, want[j].pair.task);
		assert_int_equal(got[j].pair.stack, want[j].pair.stack);
		assert_int_equal(got[j].count, want[j].count);
	}
	free(want);
	free(got);
}

/* ---- codec plumbing -------------------------------------------------------------- */

struct codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	struct sbuf raw, blob, raw2;
	struct store_blob out;
	char why[160];
};

static void codec_init(struct codec *c)
{
	memset(c, 0, sizeof(*c));
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	assert_true(c->cctx && c->dctx);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, 3);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
}

static void codec_exit(struct codec *c)
{
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	sbuf__exit(&c->raw);
	sbuf__exit(&c->blob);
	sbuf__exit(&c->raw2);
	blob__exit(&c->out);
}

/* The invariants any successful decode must keep, whatever the input. */
static void expect_consistent(const struct store_blob *b, const struct scan_window *row)
{
	uint64_t sum = 0, ws;
	size_t i, j;

	assert_int_equal(b->first[0], 0);
	assert_int_equal(b->first[b->nwins], b->nrows);
	for (i = 0; i < b->nwins; i++) {
		assert_true(b->first[i] <= b->first[i + 1]);
		assert_true(b->wins[i].start_ns >= row->start_ns);
		assert_true(b->wins[i].start_ns < b->wins[i].end_ns);
		assert_true(b->wins[i].end_ns <= row->end_ns);
		for (j = b->first[i], ws = 0; j < b->first[i + 1]; j++) {
			assert_true(b->rows[j].pair < b->npairs);
			assert_true(b->rows[j].count > 0);
			ws += b->rows[j].count;
		}
		assert_int_equal(ws, b->wins[i].samples);
		sum += ws;
	}
	assert_int_equal(sum, row->samples);
	for (i = 0; i < b->npairs && !b->legacy; i++) {
		assert_true(b->pairs[i].task >= 1 && b->pairs[i].task <= (int64_t)STORE_ID_MAX);
		assert_true(b->pairs[i].stack >= 1 && b->pairs[i].stack <= (int64_t)STORE_ID_MAX);
	}
}

/*
 * Truncations of the blob and of its payload are refused; flipped bytes of the
 * payload (every byte of small ones, a sample of big ones) are refused or give
 * a consistent blob.
 */
static void expect_robust(struct codec *c, const struct scan_window *row, uint64_t nwin)
{
	uint8_t enc = c->blob.p[0], *copy;
	size_t len, i, step;
	int err;

	for (len = 0; len < c->blob.len; len += 1 + len / 16) {
		err = blob__decode(&c->out, c->dctx, &c->raw2, c->blob.p, len, row, nwin, BLOB_ROWS,
				   c->why, sizeof(c->why));
		assert_int_equal(err, -EINVAL);
	}
	for (len = 0; len < c->raw.len; len += 1 + len / 16) {
		err = blob__parse(&c->out, enc, c->raw.p, len, row, nwin, BLOB_ROWS, c->why,
				  sizeof(c->why));
		assert_int_equal(err, -EINVAL);
	}
	copy = malloc(c->raw.len + 1);
	assert_non_null(copy);
	step = c->raw.len > 2000 ? c->raw.len / 200 : 1;
	for (i = 0; i < c->raw.len; i += step) {
		memcpy(copy, c->raw.p, c->raw.len);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		err = blob__parse(&c->out, enc, copy, c->raw.len, row, nwin, BLOB_ROWS, c->why,
				  sizeof(c->why));
		if (!err)
			expect_consistent(&c->out, row);
		else
			assert_int_equal(err, -EINVAL);
	}
	free(copy);
}

static void roundtrip(const struct model *m, bool packed, bool with_keys)
{
	struct store_blob in;
	struct store_pair *pairs;
	struct codec c;
	uint64_t *keys;
	size_t np;
	const struct scan_window *row = packed ? &m->row : &m->wins[0];
	size_t i;
	int err;

	codec_init(&c);
	model_blob(m, &in, &keys);
	assert_int_equal(blob__encode(&in, with_keys ? keys : NULL, packed, m->row.start_ns, c.cctx,
				      &c.raw, &c.blob),
			 0);
	assert_int_equal(c.blob.p[0], packed ? STORE_BLOB_COLS : STORE_BLOB_PAIRS);
	err = blob__decode(&c.out, c.dctx, &c.raw2, c.blob.p, c.blob.len, row, m->nwins, BLOB_ROWS,
			   c.why, sizeof(c.why));
	if (err)
		fail_msg("decode: %d %s", err, c.why);
	assert_false(c.out.legacy);
	assert_int_equal(c.out.nwins, m->nwins);
	for (i = 0; i < m->nwins; i++)
		expect_window(m, i, &c.out, i);
	expect_consistent(&c.out, row);
	/* The pairs alone: the same table, no rows. */
	pairs = malloc((c.out.npairs + 1) * sizeof(*pairs));
	assert_non_null(pairs);
	np = c.out.npairs;
	memcpy(pairs, c.out.pairs, np * sizeof(*pairs));
	assert_int_equal(blob__decode(&c.out, c.dctx, &c.raw2, c.blob.p, c.blob.len, row, m->nwins,
				      BLOB_PAIRS, c.why, sizeof(c.why)),
			 0);
	assert_int_equal(c.out.npairs, np);
	assert_memory_equal(c.out.pairs, pairs, np * sizeof(*pairs));
	assert_int_equal(c.out.nwins, m->nwins);
	free(pairs);
	/* Without rows: the same windows and samples. */
	assert_int_equal(blob__decode(&c.out, c.dctx, &c.raw2, c.blob.p, c.blob.len, row, m->nwins,
				      BLOB_WINDOWS, c.why, sizeof(c.why)),
			 0);
	assert_int_equal(c.out.nwins, m->nwins);
	for (i = 0; i < m->nwins; i++) {
		assert_int_equal(c.out.wins[i].samples, m->wins[i].samples);
		assert_int_equal(c.out.wins[i].end_ns, m->wins[i].end_ns);
		assert_true(c.out.first[i + 1] - c.out.first[i] <= m->nrows[i]);
	}
	/* The payload is the encoder's, byte for byte, so truncating c.raw is meaningful. */
	assert_int_equal(c.raw2.len, c.raw.len);
	assert_memory_equal(c.raw2.p, c.raw.p, c.raw.len);
	expect_robust(&c, row, m->nwins);
	blob__exit(&in);
	free(keys);
	codec_exit(&c);
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_window_roundtrip(void **state)
{
	struct model m;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		model_random(&m, 1, i < 2 ? (size_t)i : 400, 1 + rnd_below(300),
			     1 + rnd_below(5000), i % 3 ? 50 : (1ULL << 40));
		roundtrip(&m, false, i % 2);
		model_free(&m);
	}
}

static void test_packed_roundtrip(void **state)
{
	struct model m;

	(void)state;
	/* An hour of 10 s windows, pairs drawn from a few hundred tasks and thousands of stacks. */
	model_random(&m, 360, 300, 400, 3000, 20);
	roundtrip(&m, true, true);
	roundtrip(&m, true, false);
	model_free(&m);
	/* Two windows, one empty; all windows empty. */
	model_random(&m, 2, 3, 2, 2, 5);
	m.nrows[0] = 0;
	m.row.samples -= m.wins[0].samples;
	m.wins[0].samples = 0;
	roundtrip(&m, true, true);
	model_free(&m);
	model_random(&m, 13, 0, 1, 1, 1);
	roundtrip(&m, true, true);
	model_free(&m);
	/* Few pairs in many windows: gaps above 255. */
	model_random(&m, 3000, 2, 3, 3, 1000);
	roundtrip(&m, true, true);
	model_free(&m);
}

/* Gaps of more than 16 bits between a pair's windows, and ids at the top of their range. */
static void test_packed_wide(void **state)
{
	struct model m;
	size_t i;

	(void)state;
	model_random(&m, 70000, 0, 1, 1, 1);
	for (i = 0; i < m.nwins; i += 69998) {
		m.rows[i] = realloc(m.rows[i], 2 * sizeof(**m.rows));
		assert_non_null(m.rows[i]);
		m.nrows[i] = 2;
		m.rows[i][0] = (struct mrow){{(int64_t)STORE_ID_MAX, (int64_t)STORE_ID_MAX}, 5};
		m.rows[i][1] = (struct mrow){{1, (int64_t)STORE_ID_MAX}, INT64_MAX / 4};
		m.wins[i].samples = 5 + INT64_MAX / 4;
		m.row.samples += 5 + INT64_MAX / 4;
	}
	roundtrip(&m, true, false);
	model_free(&m);
}

/* Rows naming one pair twice, and counts of 0, come out merged and dropped. */
static void test_encoder_merges(void **state)
{
	struct store_blob in = {0};
	struct codec c;
	struct scan_window row = {.start_ns = T0, .end_ns = T0 + 20 * SEC, .samples = 10};
	int i;

	(void)state;
	codec_init(&c);
	assert_int_equal(blob__reserve(&in, 2, 4), 0);
	in.pairs = calloc(3, sizeof(*in.pairs));
	assert_non_null(in.pairs);
	in.pairs[0] = (struct store_pair){3, 9};
	in.pairs[1] = (struct store_pair){3, 9};
	in.pairs[2] = (struct store_pair){4, 1};
	in.npairs = 3;
	in.rows[0] = (struct store_row){0, 2};
	in.rows[1] = (struct store_row){1, 3};
	in.rows[2] = (struct store_row){2, 0};
	in.rows[3] = (struct store_row){0, 5};
	in.nrows = 4;
	in.first[0] = 0;
	in.first[1] = 3;
	in.first[2] = 4;
	in.wins[0] = (struct scan_window){.start_ns = T0, .end_ns = T0 + 10 * SEC, .samples = 5};
	in.wins[1] = (struct scan_window){.start_ns = T0 + 10 * SEC, .end_ns = T0 + 20 * SEC};
	in.nwins = 2;
	for (i = 0; i < 2; i++) {
		in.nwins = i ? 2 : 1;
		row.samples = i ? 10 : 5;
		row.end_ns = T0 + (i ? 20 : 10) * SEC;
		assert_int_equal(blob__encode(&in, NULL, i, T0, c.cctx, &c.raw, &c.blob), 0);
		assert_int_equal(blob__decode(&c.out, c.dctx, &c.raw2, c.blob.p, c.blob.len, &row,
					      in.nwins, BLOB_ROWS, c.why, sizeof(c.why)),
				 0);
		assert_int_equal(c.out.npairs, 1);
		assert_int_equal(c.out.pairs[0].task, 3);
		assert_int_equal(c.out.pairs[0].stack, 9);
		assert_int_equal(c.out.first[1], 1);
		assert_int_equal(c.out.rows[0].count, 5);
		if (i) {
			assert_int_equal(c.out.first[2], 2);
			assert_int_equal(c.out.rows[1].count, 5);
		}
	}
	blob__exit(&in);
	codec_exit(&c);
}

/* ---- hand-made payloads that break one rule each --------------------------------- */

static size_t put_varints(uint8_t *p, const uint64_t *v, size_t n)
{
	size_t len = 0, i;

	for (i = 0; i < n; i++)
		len += varint__put(p + len, v[i]);
	return len;
}

static int parse_pairs(const uint64_t *v, size_t n, uint64_t samples, struct store_blob *b,
		       char *why)
{
	struct scan_window row = {.start_ns = T0, .end_ns = T0 + SEC, .samples = samples};
	uint8_t buf[256];
	size_t len = put_varints(buf, v, n);

	return blob__parse(b, STORE_BLOB_PAIRS, buf, len, &row, 1, BLOB_ROWS, why, 160);
}

/* A change that breaks a good payload: value @v at index @at (and @v2 at @at2 if >= 0). */
struct breakage {
	const char *what;
	int at;
	uint64_t v;
	int at2;
	uint64_t v2;
};

/* @good with @m applied, into @v. */
static void broken(uint64_t *v, const uint64_t *good, size_t n, const struct breakage *m)
{
	memcpy(v, good, n * sizeof(*v));
	v[m->at] = m->v;
	if (m->at2 >= 0)
		v[m->at2] = m->v2;
}

static void test_pairs_rules(void **state)
{
	/* 2 tasks (5, 7), 3 stacks (4, 2, 9), 3 pairs: task 5 -> stacks 0, 2; task 7 -> 1. */
	static const uint64_t good[] = {2, 10, 4, 3, 8, 3, 14, 3, 2, 1, 0, 1, 2, 1, 2, 6};
	static const struct breakage bad[] = {
		{"task id 0", 1, 0, -1, 0},
		{"task id above 2^32 - 1", 1, 1ULL << 33, -1, 0},
		{"first stack of a task past the stacks", 12, 6, -1, 0},
		{"later stack of a task past the stacks", 11, 2, -1, 0},
		{"stack index below 0", 12, 1, -1, 0},
		{"task without pairs", 8, 3, 9, 0},
		{"pairs of tasks above the pairs", 8, 3, -1, 0},
		{"task count beyond the bytes", 0, 1ULL << 62, -1, 0},
		{"pairs of a task beyond 64 bits", 8, UINT64_MAX, -1, 0},
		{"count of 0", 13, 0, 14, 3},
	};
	struct scan_window row = {.start_ns = T0, .end_ns = T0 + SEC, .samples = 9};
	struct store_blob b = {0};
	uint64_t v[32];
	uint8_t buf[256];
	char why[160];
	size_t i, len;

	(void)state;
	assert_int_equal(parse_pairs(good, 16, 9, &b, why), 0);
	assert_int_equal(b.npairs, 3);
	assert_int_equal(b.pairs[0].task, 5);
	assert_int_equal(b.pairs[0].stack, 4);
	assert_int_equal(b.pairs[1].task, 5);
	assert_int_equal(b.pairs[1].stack, 9);
	assert_int_equal(b.pairs[2].task, 7);
	assert_int_equal(b.pairs[2].stack, 2);
	assert_int_equal(b.rows[2].count, 6);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		broken(v, good, 16, &bad[i]);
		if (parse_pairs(v, 16, 9, &b, why) != -EINVAL)
			fail_msg("%s: accepted", bad[i].what);
	}
	/* Counts that do not add up to the window's samples. */
	assert_int_equal(parse_pairs(good, 16, 10, &b, why), -EINVAL);
	assert_non_null(strstr(why, "samples"));
	assert_int_equal(parse_pairs(good, 16, 8, &b, why), -EINVAL);
	/* A trailing byte. */
	memcpy(v, good, sizeof(good));
	v[16] = 0;
	assert_int_equal(parse_pairs(v, 17, 9, &b, why), -EINVAL);
	assert_non_null(strstr(why, "trailing"));
	/* A one-window encoding in a packed row; an encoding that does not exist. */
	len = put_varints(buf, good, 16);
	assert_int_equal(blob__parse(&b, STORE_BLOB_PAIRS, buf, len, &row, 2, BLOB_ROWS, why, 160),
			 -EINVAL);
	assert_int_equal(blob__parse(&b, 9, buf, len, &row, 1, BLOB_ROWS, why, 160), -EINVAL);
	blob__exit(&b);
}

/* A packed payload of @n windows of 1 s from T0, the table of good[] above, and @body. */
static int parse_cols(uint64_t n, const uint64_t *hdr, size_t nh, const uint64_t *body, size_t nb,
		      uint64_t samples, struct store_blob *b, char *why)
{
	static const uint64_t table[] = {2, 10, 4, 3, 8, 3, 14, 3, 2, 1, 0, 1, 2};
	struct scan_window row = {.start_ns = T0, .end_ns = T0 + n * SEC, .samples = samples};
	uint8_t buf[1024];
	size_t len;

	len = put_varints(buf, &n, 1);
	len += put_varints(buf + len, hdr, nh);
	len += put_varints(buf + len, table, 13);
	len += put_varints(buf + len, body, nb);
	return blob__parse(b, STORE_BLOB_COLS, buf, len, &row, n, BLOB_ROWS, why, 160);
}

static void test_cols_rules(void **state)
{
	/* 2 windows: gaps, durations, freqs, periods, samples, 8 lost counters. */
	static const uint64_t hdr[26] = {0, 0, SEC, SEC, 19, 19, 52631578, 52631578, 2, 6};
	/*
	 * Windows of each pair minus 1 (pair 0 in both, 1 and 2 in one); the gaps'
	 * low bytes (pair 0: windows 0 and 1; pair 1: window 1; pair 2: window 0),
	 * their high parts, the counts minus 1.
	 */
	static const uint64_t good[] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0};
	static const struct breakage bad_hdr[] = {
		{"window ends past the row", 3, SEC + 1, -1, 0},
		{"window starts before the row", 0, 1 /* zigzag(-1) */, -1, 0},
		{"gap far past the row", 1, UINT64_MAX - 1 /* zigzag(INT64_MAX) */, -1, 0},
		{"duration 0", 2, 0, -1, 0},
		{"frequency beyond 32 bits", 4, 1ULL << 32, -1, 0},
		{"samples of the windows above the row's", 9, 7, -1, 0},
		{"samples of a window other than its rows'", 8, 3, 9, 5},
	};
	static const struct breakage bad_body[] = {
		{"pair in more windows than there are", 0, 2, -1, 0},
		{"window index past the last", 5, 2, -1, 0},
		{"high part overflowing a shift", 7, 1ULL << 60, -1, 0},
	};
	struct store_blob b = {0};
	uint64_t h[26], v[24];
	char why[160];
	size_t i;

	(void)state;
	assert_int_equal(parse_cols(2, hdr, 26, good, 15, 8, &b, why), 0);
	assert_int_equal(b.nwins, 2);
	assert_int_equal(b.wins[1].start_ns, T0 + SEC);
	assert_int_equal(b.wins[0].samples, 2);
	assert_int_equal(b.wins[1].samples, 6);
	expect_consistent(
		&b, &(struct scan_window){.start_ns = T0, .end_ns = T0 + 2 * SEC, .samples = 8});
	for (i = 0; i < sizeof(bad_hdr) / sizeof(bad_hdr[0]); i++) {
		broken(h, hdr, 26, &bad_hdr[i]);
		if (parse_cols(2, h, 26, good, 15, 8, &b, why) != -EINVAL)
			fail_msg("%s: accepted", bad_hdr[i].what);
	}
	for (i = 0; i < sizeof(bad_body) / sizeof(bad_body[0]); i++) {
		broken(v, good, 15, &bad_body[i]);
		if (parse_cols(2, hdr, 26, v, 15, 8, &b, why) != -EINVAL)
			fail_msg("%s: accepted", bad_body[i].what);
	}
	/* Samples of the row disagree. */
	assert_int_equal(parse_cols(2, hdr, 26, good, 15, 9, &b, why), -EINVAL);
	/* Trailing and missing bytes. */
	memcpy(v, good, sizeof(good));
	v[15] = 0;
	assert_int_equal(parse_cols(2, hdr, 26, v, 16, 8, &b, why), -EINVAL);
	assert_int_equal(parse_cols(2, hdr, 26, good, 14, 8, &b, why), -EINVAL);
	/* Three windows said, two described. */
	assert_int_equal(parse_cols(3, hdr, 26, good, 15, 8, &b, why), -EINVAL);
	blob__exit(&b);
}

/* ---- schema 2 encodings -------------------------------------------------------- */

/* The test's own encoder of a schema 2 window: R, series deltas, counts. */
static size_t v2_rows(uint8_t *p, const int64_t *series, const uint64_t *counts, size_t n)
{
	size_t len = varint__put(p, n), i;

	for (i = 0; i < n; i++)
		len += varint__put(p + len, (uint64_t)(series[i] - (i ? series[i - 1] : 0)));
	for (i = 0; i < n; i++)
		len += varint__put(p + len, counts[i]);
	return len;
}

static void test_v2_blobs(void **state)
{
	static const int64_t series[] = {3, 8, 1000000};
	static const uint64_t counts[] = {1, 4, 2}, hot[] = {2, 8, 3, 1, 1000000};
	static const int64_t local0[] = {1, 3}, local1[] = {2};
	static const uint64_t c0[] = {2, 5}, c1[] = {1};
	struct scan_window row = {.id = 3, .start_ns = T0, .end_ns = T0 + 10 * SEC, .samples = 7};
	struct store_blob b = {0};
	uint8_t buf[256];
	char why[160];
	size_t len, cut;

	(void)state;
	len = v2_rows(buf, series, counts, 3);
	assert_int_equal(
		blob__parse(&b, STORE_BLOB_ZSTD, buf, len, &row, 1, BLOB_ROWS, why, sizeof(why)),
		0);
	assert_true(b.legacy);
	assert_int_equal(b.npairs, 3);
	assert_int_equal(b.series[2], 1000000);
	assert_int_equal(b.rows[1].pair, 1);
	assert_int_equal(b.rows[1].count, 4);
	for (cut = 0; cut < len; cut++)
		assert_int_equal(blob__parse(&b, STORE_BLOB_ZSTD, buf, cut, &row, 1, BLOB_ROWS, why,
					     sizeof(why)),
				 -EINVAL);

	/* Packed: 2 windows; table of 2 hot ids (8, 3) and 1 more (1000000). */
	len = varint__put(buf, 2);
	len += put_varints(buf + len, hot, 5);
	{
		const uint64_t h0[] = {0, 5 * SEC, 19, 52631578, 7, 0, 1, 2, 3, 4, 5, 6, 7};
		const uint64_t h1[] = {5 * SEC, 5 * SEC, 19, 52631578, 1, 0, 0, 0, 0, 0, 0, 0, 9};

		len += put_varints(buf + len, h0, 13);
		len += v2_rows(buf + len, local0, c0, 2);
		len += put_varints(buf + len, h1, 13);
		len += v2_rows(buf + len, local1, c1, 1);
	}
	row.samples = 8;
	assert_int_equal(
		blob__parse(&b, STORE_BLOB_PACK, buf, len, &row, 2, BLOB_ROWS, why, sizeof(why)),
		0);
	assert_true(b.legacy);
	assert_int_equal(b.nwins, 2);
	assert_int_equal(b.npairs, 3);
	assert_int_equal(b.series[0], 8);
	assert_int_equal(b.series[2], 1000000);
	assert_int_equal(b.first[1], 2);
	assert_int_equal(b.series[b.rows[1].pair], 1000000);
	assert_int_equal(b.rows[1].count, 5);
	assert_int_equal(b.series[b.rows[2].pair], 3);
	assert_int_equal(b.wins[1].start_ns, T0 + 5 * SEC);
	assert_int_equal(b.wins[0].lost.truncated, 7);
	assert_int_equal(b.wins[1].lost.truncated, 9);
	expect_consistent(&b, &row);
	for (cut = 0; cut < len; cut++)
		assert_int_equal(blob__parse(&b, STORE_BLOB_PACK, buf, cut, &row, 2, BLOB_ROWS, why,
					     sizeof(why)),
				 -EINVAL);
	row.samples = 9;
	assert_int_equal(
		blob__parse(&b, STORE_BLOB_PACK, buf, len, &row, 2, BLOB_ROWS, why, sizeof(why)),
		-EINVAL);
	blob__exit(&b);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_roundtrip), cmocka_unit_test(test_packed_roundtrip),
		cmocka_unit_test(test_packed_wide),	 cmocka_unit_test(test_encoder_merges),
		cmocka_unit_test(test_pairs_rules),	 cmocka_unit_test(test_cols_rules),
		cmocka_unit_test(test_v2_blobs),
	};

	(void)argc;
	(void)argv;
	rng = 0x5107a6e;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
