/*
 * Storage: profiles in SQLite. The daemon writes one window (a profile with
 * its time span) per transaction; readers merge any time range back into a
 * profile. Strings, frames and stacks are deduplicated across windows; each
 * window's samples are a zstd-compressed blob of varint rows.
 *
 * One writer per database (an exclusive lock held while open for writing);
 * any number of readers, which never block the writer (WAL).
 *
 * Times are wall clock, nanoseconds since the Unix epoch. A window belongs to
 * a range [from, to) when it overlaps it.
 */
#ifndef EMBER_STORAGE_H
#define EMBER_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;
struct store;

struct store_open_opts {
	bool writer; /* create if missing (mode 0600, with its directory), take the writer lock */
	/*
	 * readers: create an empty database if missing (taking the writer lock
	 * for that moment), then open it read-only. Anything that writes windows
	 * (import too) opens with @writer: there is one writer per database.
	 */
	bool create;
};

/*
 * Opens @path. NULL with errno set and a message for the user in @err:
 *   ENOENT  no database (reader)
 *   EBUSY   another writer holds the database ("... is used by pid N")
 *   EINVAL  not an ember database, or corrupt: refused, never overwritten
 *   ENOTSUP written by a newer ember (schema version above ours), or, for a
 *           reader, by an older one
 *   EACCES, EROFS, ENOSPC ... from the file system
 * Older schema versions are migrated forward (writer) or refused with a
 * message asking to run the daemon once (reader). The writer also runs
 * SQLite's quick_check on an existing file (time grows with its size).
 * Format, locking and recovery rules: docs/storage.md.
 */
struct store *store__open(const char *path, const struct store_open_opts *opts, char *err,
			  size_t errlen);
/*
 * A second connection to the same database for another thread of the same
 * process (retention, HTTP), sharing the writer's lock. NULL + errno.
 */
struct store *store__open_sibling(struct store *st);
void store__close(struct store *st);

/* The last SQLite/zstd error of @st as text, for logs. Borrowed. */
const char *store__errmsg(const struct store *st);

/*
 * Writes @window (span and frequency from its meta; start_ns < end_ns) in one
 * transaction. 0, or -errno: -ENOSPC disk full, -EROFS/-EACCES read-only,
 * -EBUSY locked; nothing is half-written.
 */
int store__write_window(struct store *st, const struct profile *window);

struct store_filter {
	uint64_t from_ns, to_ns; /* [from, to); to 0 = no upper bound */
	uint32_t pid;            /* 0 = any */
	const char *comm;        /* NULL = any; exact */
	const char *exe;         /* NULL = any; exact */
	const char *cgroup;      /* NULL = any; prefix */
};

/*
 * Merges every window overlapping the range into @out (an empty profile),
 * keeping only samples whose task matches the filter. The meta gets the
 * union span, the frequency (the first window's) and the summed lost
 * counters. 0 or -errno (-EINVAL: a corrupt window blob, named in errmsg).
 */
int store__query(struct store *st, const struct store_filter *f, struct profile *out);

struct store_point {
	uint64_t t_ns;    /* bucket start */
	uint64_t samples; /* samples of matching tasks in windows starting in the bucket */
};

/* Samples per @step_ns bucket over [from, to); *pts owned by the caller (free). */
int store__timeline(struct store *st, const struct store_filter *f, uint64_t step_ns,
		    struct store_point **pts, size_t *n);

struct store_process {
	uint32_t pid;
	uint64_t start_time;
	char *comm, *exe, *cgroup; /* owned */
	uint64_t samples;
};

/* Processes with samples in the range, most samples first. */
int store__processes(struct store *st, const struct store_filter *f, struct store_process **v,
		     size_t *n);
void store__processes_free(struct store_process *v, size_t n);

struct store_info {
	uint64_t first_ns, last_ns; /* span of all windows; 0 when empty */
	uint64_t windows; /* packed ones counted one by one */
	uint64_t samples;
	uint64_t stacks;
	uint64_t file_bytes; /* the database file and its WAL */
	int schema_version;
};

int store__info(struct store *st, struct store_info *out);

struct store_retain_stats {
	uint64_t windows_deleted;
	uint64_t stacks_deleted;
	uint64_t frames_deleted;
	uint64_t strings_deleted;
};

/*
 * Deletes windows that ended before @now_ns - @max_age_ns (0: no age limit),
 * then the oldest windows until the database is under @max_bytes (0: no size
 * limit), then the stacks, frames, strings and processes no window uses.
 * Works in small transactions so the writer is never held up long.
 *
 * It also packs the windows of every UTC hour that ended a minute before
 * @now_ns into one row (lossless: queries still see each window), which is
 * most of the saving on disk; call it every few minutes. A packed hour goes
 * by age once its last window is older than the limit. The reclaim of
 * unused rows decodes every window, so it runs only once the windows deleted
 * since the last one reach 1/16 of those left (the stats count what it did).
 */
int store__retain(struct store *st, uint64_t now_ns, uint64_t max_age_ns, uint64_t max_bytes,
		  struct store_retain_stats *out);

#endif /* EMBER_STORAGE_H */
