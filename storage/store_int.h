/*
 * Private header of the storage module (storage/): the store object, the
 * writer's id cache, the u64 hash map, the blob codecs and the helpers the
 * files of this folder share. The on-disk format is in docs/storage.md.
 */
#ifndef EMBER_STORE_INT_H
#define EMBER_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>
#include <zstd.h>

#include "ember/mem.h"
#include "ember/profile.h"
#include "ember/storage.h"

/* "embr": PRAGMA application_id of every ember database. */
#define STORE_APP_ID 0x656d6272
/* The schema version this code writes; older versions are migrated forward. */
#define STORE_SCHEMA_VERSION 4
/*
 * First byte of a sample blob, then a zstd frame of: one window's rows naming
 * series ids (schema 2, read only),
 */
#define STORE_BLOB_ZSTD 1
/* several windows packed into one row, naming series ids (schema 2, read only), */
#define STORE_BLOB_PACK 2
/* one window's (task, stack) pairs and counts (blob.c), */
#define STORE_BLOB_PAIRS 3
/* several windows packed column by column: per pair, its windows and counts (blob.c). */
#define STORE_BLOB_COLS	 4
#define STORE_ZSTD_LEVEL 19
/* Windows are packed by UTC hour, once the hour ended this long ago. */
#define STORE_PACK_NS	    (3600ULL * 1000000000ULL)
#define STORE_PACK_DELAY_NS (60ULL * 1000000000ULL)
/* Upper bound on a window's decompressed rows, against corrupt headers. */
#define STORE_BLOB_MAX (256u << 20)
/* Windows deleted per retention transaction. */
#define STORE_RETAIN_BATCH 256
/*
 * Unreferenced rows are reclaimed once the windows deleted since the last
 * reclaim reach 1/STORE_RECLAIM_DIV of the windows left (the reclaim decodes
 * every window, so it must not run on every small deletion).
 */
#define STORE_RECLAIM_DIV 16
#define STORE_BUSY_MS	  5000

/* u64 -> u64 open-addressing map; the key UINT64_MAX is reserved (empty). */
struct smap_slot {
	uint64_t key;
	uint64_t val;
};

struct smap {
	struct smap_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

#define SMAP_EMPTY UINT64_MAX

void smap__init(struct smap *m);
void smap__exit(struct smap *m);
void smap__clear(struct smap *m);
/* Pointer to the value of @key, or NULL. Valid until the next insertion. */
uint64_t *smap__find(const struct smap *m, uint64_t key);
/* Pointer to the value of @key, inserted with @val if absent; NULL on ENOMEM. */
uint64_t *smap__upsert(struct smap *m, uint64_t key, uint64_t val, bool *added);

/* A growable byte buffer. */
struct sbuf {
	uint8_t *p;
	size_t len, cap;
};

int sbuf__reserve(struct sbuf *b, size_t need);
void sbuf__exit(struct sbuf *b);

/* LEB128 varints. put: @p has room for 10 bytes; returns the bytes written. */
size_t varint__put(uint8_t *p, uint64_t v);
/* 0, or -EINVAL when the varint runs past @end or exceeds 64 bits. */
int varint__get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* varint__get() with the one-byte case inline, for the decoders' hot loops. */
static inline int varint__next(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return varint__get(p, end, v);
}

static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* @encoding byte, then @payload as one zstd frame. */
int zblob__compress(ZSTD_CCtx *cctx, uint8_t encoding, const struct sbuf *payload,
		    struct sbuf *out);
/* The inverse: checks the frame and fills @raw; *@encoding gets the first byte. */
int zblob__decompress(ZSTD_DCtx *dctx, const void *blob, size_t len, struct sbuf *raw,
		      uint8_t *encoding, char *why, size_t whylen);

/* Stack blob: zigzag deltas of frame ids, root first. */
int stackblob__encode(const int64_t *frames, uint32_t n, struct sbuf *out);
/* Decodes into @out (reallocated, capacity *@cap); *@n gets the depth. 0 or -EINVAL. */
int stackblob__decode(const void *blob, size_t len, int64_t **out, size_t *cap, uint32_t *n);

/* A window row as the scans see it (query.c), or one window of a packed row. */
struct scan_window {
	int64_t id;
	uint64_t start_ns, end_ns;
	uint32_t freq_hz;
	uint64_t period_ns;
	uint64_t samples;
	struct profile_lost lost;
};

/* Task and stack ids inside sample blobs are at most this (keys pack two in 64 bits). */
#define STORE_ID_MAX UINT32_MAX

/* What a window counts samples of: a task running a stack. */
struct store_pair {
	int64_t task, stack;
};

/* A pair as a map key (ids in 1..STORE_ID_MAX; never SMAP_EMPTY). */
static inline uint64_t store_pair__key(const struct store_pair *p)
{
	return (uint64_t)(p->task - 1) << 32 | (uint64_t)(p->stack - 1);
}

/* One row of a window: @count samples of pair number @pair of its blob. */
struct store_row {
	uint32_t pair;
	uint64_t count;
};

/*
 * A decoded sample blob (blob.c): its windows (one, or those of a packed row),
 * each window's rows, and the pairs the rows name. A blob of schema 2 names
 * series ids instead: then @legacy is set, series[i] is pair i's series id and
 * pairs[] is left for the caller to fill from the series table. Reused from
 * blob to blob; blob__exit() frees it.
 */
struct store_blob {
	struct store_pair *pairs;
	int64_t *series;
	size_t npairs, pairs_cap, series_cap;
	bool legacy;
	struct scan_window *wins;
	size_t *first; /* window i's rows: rows[first[i] .. first[i + 1]) */
	size_t nwins, wins_cap, first_cap;
	struct store_row *rows;
	size_t nrows, rows_cap;
	/* decoder scratch */
	int64_t *ids;
	size_t ids_cap;
	uint32_t *u32;
	size_t u32_cap;
};

void blob__exit(struct store_blob *b);

/*
 * What a reader needs of a blob: the windows (spans, rates, samples, lost
 * counters), also the pairs, or also every window's rows. A decoder may stop
 * early for less (leaving b->npairs or b->nrows 0), never for more.
 */
enum blob_part {
	BLOB_WINDOWS,
	BLOB_PAIRS,
	BLOB_ROWS,
};

/*
 * Decodes the sample blob of window row @row (its span, rate, samples and lost
 * counters as the columns say; @nwin windows) into @b, using @raw for the
 * decompressed bytes, as far as @part asks. Every length and bound read is
 * checked, and the counts must add up to the row's samples. 0, -ENOMEM, or
 * -EINVAL with the reason in @why.
 */
int blob__decode(struct store_blob *b, ZSTD_DCtx *dctx, struct sbuf *raw, const void *blob,
		 size_t len, const struct scan_window *row, uint64_t nwin, enum blob_part part,
		 char *why, size_t whylen);
/* The helpers the decoders share (blob.c, blob_v2.c): room for windows and rows, */
int blob__reserve(struct store_blob *b, size_t nwins, size_t nrows);
/* and the reason of a refusal into @why; returns -EINVAL. */
__attribute__((format(printf, 3, 4))) int blob__fail(char *why, size_t whylen, const char *fmt,
						     ...);
/* Payloads of the schema 2 encodings, one window and packed windows (blob_v2.c). */
int blob_v2__window(struct store_blob *b, const uint8_t *p, const uint8_t *end,
		    const struct scan_window *row, char *why, size_t whylen);
int blob_v2__packed(struct store_blob *b, const uint8_t *p, const uint8_t *end,
		    const struct scan_window *row, uint64_t nwin, char *why, size_t whylen);
/* The payload of a blob of encoding @enc, decompressed. */
int blob__parse(struct store_blob *b, uint8_t enc, const uint8_t *p, size_t len,
		const struct scan_window *row, uint64_t nwin, enum blob_part part, char *why,
		size_t whylen);
/*
 * Encodes the windows of @b (b->pairs filled, not legacy) as a sample blob
 * into @out: with @packed, encoding STORE_BLOB_COLS of all windows (@base_ns is
 * the row's start, the earliest window start); otherwise STORE_BLOB_PAIRS of
 * the one window. @keys[i] groups pair i's task with others in the pair table
 * (the encoder puts tasks of equal keys, and their stacks, side by side: ember
 * passes the executable); NULL groups nothing. Rows naming the same pair in one
 * window are added up. 0 or -ENOMEM.
 */
int blob__encode(const struct store_blob *b, const uint64_t *keys, bool packed, uint64_t base_ns,
		 ZSTD_CCtx *cctx, struct sbuf *raw, struct sbuf *out);

/* The writer's in-memory mirror of the dictionary tables (see write.c). */
struct store_wcache {
	bool valid;
	int64_t gen;	      /* meta dict_gen the cache matches */
	struct profile *dict; /* strings, frames, stacks, tasks, build ids; dict ids are dense */
	int64_t *str_db, *frame_db, *stack_db, *task_db; /* dict id -> database id */
	size_t str_cap, frame_cap, stack_cap, task_cap;
	int64_t next_str, next_frame, next_stack, next_task;
};

/* The writer lock (a flock()ed PATH.lock), shared by a store and its siblings. */
struct store_lock {
	int fd;
	int refs; /* atomic */
};

enum store_stmt {
	STMT_META_GET,
	STMT_META_SET,
	STMT_STR_INS,
	STMT_FRAME_INS,
	STMT_STACK_INS,
	STMT_TASK_INS,
	STMT_WINDOW_INS,
	STMT_STR_GET,
	STMT_FRAME_GET,
	STMT_STACK_GET,
	STMT_TASK_GET,
	STMT_SERIES_GET,
	STMT_BUILD_INS,
	STMT_BUILD_GET,
	STMT__MAX,
};

struct store {
	sqlite3 *db;
	char *path;
	bool writer; /* read-write connection holding (a share of) the lock */
	struct store_lock *lock;
	int schema_version;
	sqlite3_stmt *stmts[STMT__MAX];
	struct store_wcache wc;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	struct sbuf raw, out;	/* codec scratch */
	struct store_blob blob; /* the blob being read */
	struct smap legacy;	/* series id -> task << 32 | stack, for schema 2 blobs */
	char errmsg[512];
};

/* Sets errmsg from printf arguments; returns @err (a negative errno). */
__attribute__((format(printf, 3, 4))) int store__fail(struct store *st, int err, const char *fmt,
						      ...);
/* Maps SQLite result @rc to -errno and records "@what: sqlite message". */
int store__sqlerr(struct store *st, int rc, const char *what);
/* The cached prepared statement @id, reset and unbound; NULL on error (errmsg set). */
sqlite3_stmt *store__stmt(struct store *st, enum store_stmt id);
/* Runs SQL without results. 0 or -errno (errmsg set). */
int store__exec(struct store *st, const char *sql);
/* Reads meta @key as an integer into *@v (@def when absent). 0 or -errno. */
int store__meta_get(struct store *st, const char *key, int64_t def, int64_t *v);
int store__meta_set(struct store *st, const char *key, int64_t v);
/* BEGIN IMMEDIATE / BEGIN (deferred) / COMMIT / ROLLBACK (never fails loudly). */
int store__begin(struct store *st, bool write);
int store__commit(struct store *st);
void store__rollback(struct store *st);

/* The writer cache (write.c). */
void wcache__free(struct store_wcache *wc);
/*
 * Packs the single windows of every UTC hour that ended STORE_PACK_DELAY_NS
 * before @now_ns into one row per hour (pack.c). *@packed gets the number of
 * windows packed.
 */
int store__pack(struct store *st, uint64_t now_ns, uint64_t *packed);

/*
 * What a scan calls: @table once for each decoded blob, with its pairs (and,
 * for a blob of schema 2, the series ids they come from; else NULL), then
 * @window for each of the blob's windows in range, whose rows name those
 * pairs by index. Either may be NULL.
 */
struct scan_ops {
	int (*table)(struct store *st, const struct store_pair *pairs, const int64_t *series,
		     size_t n, void *ctx);
	int (*window)(struct store *st, const struct scan_window *w, const struct store_row *rows,
		      size_t n, void *ctx);
};

/*
 * Calls @ops for each window overlapping [@from, @to) (to 0: no bound) and
 * with id > @after_id, in end time order. Without @decode, single windows are
 * not decoded (no table, no rows). Runs inside the caller's transaction.
 */
int store__scan(struct store *st, uint64_t from, uint64_t to, int64_t after_id, bool decode,
		const struct scan_ops *ops, void *ctx);
/*
 * Decodes the blob of window row @row into st->blob as far as @part asks,
 * with the pairs of a schema 2 blob looked up in the series table. 0,
 * -ENOMEM, -EINVAL with the reason in @why (or, when the series table lacks a
 * row, in errmsg), or another -errno from SQLite.
 */
int store__decode(struct store *st, const struct scan_window *row, uint64_t nwin, const void *blob,
		  size_t len, enum blob_part part, char *why, size_t whylen);

#endif /* EMBER_STORE_INT_H */
