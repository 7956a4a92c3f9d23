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

#include "ember/profile.h"
#include "ember/storage.h"

/* "embr": PRAGMA application_id of every ember database. */
#define STORE_APP_ID 0x656d6272
/* The schema version this code writes; older versions are migrated forward. */
#define STORE_SCHEMA_VERSION 2
/* First byte of a sample blob: a zstd frame of one window's varint rows follows, */
#define STORE_BLOB_ZSTD 1
/* or of several windows packed into one row (see pack.c). */
#define STORE_BLOB_PACK	 2
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

/* One decoded row of a window: samples of a series (task, stack). */
struct store_row {
	int64_t series;
	uint64_t count;
};

/* Appends one window's rows (varint nrows, series id deltas, counts) to @b. */
int wrows__append(struct sbuf *b, const struct store_row *rows, size_t n);
/*
 * Parses one window's rows at *@p, advancing it; the counts must sum to
 * @samples. 0, -ENOMEM, or -EINVAL with the reason in @why.
 */
int wrows__parse(const uint8_t **p, const uint8_t *end, uint64_t samples, struct store_row **rows,
		 size_t *cap, size_t *n, char *why, size_t whylen);
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

/*
 * Window blob: STORE_BLOB_ZSTD, then a zstd frame (content size, checksum) of
 * varint nrows, nrows series id deltas (ids strictly increasing), nrows counts.
 * @rows must be sorted by series id without duplicates.
 */
int wblob__encode(ZSTD_CCtx *cctx, const struct store_row *rows, size_t n, struct sbuf *raw,
		  struct sbuf *out);
/*
 * Decodes @blob into *@rows (capacity *@cap) and checks that the counts sum
 * to @samples. 0, -ENOMEM, or -EINVAL with the reason in @why.
 */
int wblob__decode(ZSTD_DCtx *dctx, const void *blob, size_t len, uint64_t samples, struct sbuf *raw,
		  struct store_row **rows, size_t *cap, size_t *n, char *why, size_t whylen);

/* The writer's in-memory mirror of the dictionary tables (see write.c). */
struct store_wcache {
	bool valid;
	int64_t gen;	      /* meta dict_gen the cache matches */
	struct profile *dict; /* strings, frames, stacks, tasks; dict ids are dense */
	int64_t *str_db, *frame_db, *stack_db, *task_db; /* dict id -> database id */
	size_t str_cap, frame_cap, stack_cap, task_cap;
	struct smap series; /* dict task << 32 | dict stack -> database series id */
	int64_t next_str, next_frame, next_stack, next_task, next_series;
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
	STMT_SERIES_INS,
	STMT_WINDOW_INS,
	STMT_STR_GET,
	STMT_FRAME_GET,
	STMT_STACK_GET,
	STMT_TASK_GET,
	STMT_SERIES_GET,
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
	struct sbuf raw, out; /* codec scratch */
	struct store_row *rows;
	size_t rows_cap;
	int64_t *local; /* series table of a packed row */
	size_t local_cap;
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

/* A window row as the scans see it (query.c). */
struct scan_window {
	int64_t id;
	uint64_t start_ns, end_ns;
	uint32_t freq_hz;
	uint64_t period_ns;
	uint64_t samples;
	struct profile_lost lost;
};

/*
 * Packed payload (STORE_BLOB_PACK): varint nwin; the series table of its
 * windows (the nhot most used series, in that order, as plain varints; then
 * the other series ascending, as a count and id deltas); then each window:
 * header varints (start - @base_ns, duration, freq, period, samples, eight
 * lost counters) and rows whose "series" are 1 + an index into the table.
 */
int wpack__local_put(struct sbuf *b, const int64_t *local, size_t nhot, size_t n);
int wpack__local_get(const uint8_t **p, const uint8_t *end, int64_t **local, size_t *cap, size_t *n,
		     char *why, size_t whylen);
/* Appends window @w and its rows, already as table indexes (1-based, ascending). */
int wpack__append(struct sbuf *b, uint64_t base_ns, const struct scan_window *w,
		  const struct store_row *rows, size_t n);
/* Parses the next window at *@p into @w and *@rows (series ids translated back). */
int wpack__next(const uint8_t **p, const uint8_t *end, uint64_t base_ns, struct scan_window *w,
		const int64_t *local, size_t nlocal, struct store_row **rows, size_t *cap,
		size_t *n, char *why, size_t whylen);

typedef int (*scan_fn)(struct store *st, const struct scan_window *w, const struct store_row *rows,
		       size_t n, void *ctx);
/*
 * Calls @fn for each window overlapping [@from, @to) (to 0: no bound) and with
 * id > @after_id, in end time order; rows are decoded when @decode. Runs inside
 * the caller's transaction.
 */
int store__scan(struct store *st, uint64_t from, uint64_t to, int64_t after_id, bool decode,
		scan_fn fn, void *ctx);

#endif /* EMBER_STORE_INT_H */
