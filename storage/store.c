/*
 * Opening and closing ember databases (include/ember/storage.h): the checks
 * that refuse foreign, corrupt and newer files before SQLite touches them,
 * the single-writer lock, schema creation and forward migrations, and the
 * helpers (errors, prepared statements, meta rows, transactions) the other
 * files of storage/ use. The format is described in docs/storage.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "store_int.h"

/*
 * Version 1 of the schema, frozen: new databases are created at version 1 and
 * migrated forward like any old file, so every migration runs on every
 * creation. tests/fixtures/storage/v1_schema.sql is a copy for the tests.
 */
static const char schema_v1[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE strings(id INTEGER PRIMARY KEY, s BLOB NOT NULL);"
	"CREATE TABLE frames(id INTEGER PRIMARY KEY, name INTEGER NOT NULL,"
	" module INTEGER NOT NULL, file INTEGER NOT NULL, line INTEGER NOT NULL,"
	" addr INTEGER NOT NULL, kind INTEGER NOT NULL);"
	"CREATE TABLE stacks(id INTEGER PRIMARY KEY, frames BLOB NOT NULL);"
	"CREATE TABLE tasks(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, tid INTEGER NOT NULL,"
	" start_time INTEGER NOT NULL, comm INTEGER NOT NULL, exe INTEGER NOT NULL,"
	" cgroup INTEGER NOT NULL);"
	"CREATE TABLE series(id INTEGER PRIMARY KEY, task INTEGER NOT NULL,"
	" stack INTEGER NOT NULL);"
	"CREATE TABLE windows(id INTEGER PRIMARY KEY AUTOINCREMENT, start_ns INTEGER NOT NULL,"
	" end_ns INTEGER NOT NULL, freq_hz INTEGER NOT NULL, period_ns INTEGER NOT NULL,"
	" samples INTEGER NOT NULL, lost_samples INTEGER NOT NULL,"
	" lost_kstack INTEGER NOT NULL, lost_ustack INTEGER NOT NULL,"
	" lost_collisions INTEGER NOT NULL, lost_stack_map_full INTEGER NOT NULL,"
	" lost_count_map_full INTEGER NOT NULL, lost_ringbuf_full INTEGER NOT NULL,"
	" lost_truncated INTEGER NOT NULL, data BLOB NOT NULL);"
	"INSERT INTO meta(key, value) VALUES ('schema_version', 1), ('dict_gen', 0),"
	" ('deleted_since_reclaim', 0);";

/* Migration from version @from to @from + 1, run inside the writer's transaction. */
struct store_migration {
	int from;
	const char *sql;
};

static const struct store_migration migrations[] = {
	/* 1 -> 2: time-range queries use an index on the window end and a bound on
	 * window length (start_ns < to  <=>  end_ns < to + max_window_ns); a row
	 * may hold several windows packed together (nwin). */
	{1, "ALTER TABLE windows ADD COLUMN nwin INTEGER NOT NULL DEFAULT 1;"
	    "CREATE INDEX windows_end ON windows(end_ns);"
	    "INSERT OR REPLACE INTO meta(key, value)"
	    " SELECT 'max_window_ns', COALESCE(MAX(end_ns - start_ns), 0) FROM windows;"},
	/* 2 -> 3: new rows name (task, stack) pairs inside their blobs (encodings 3
	 * and 4) instead of series ids; the series table only serves the rows of
	 * schema 2 left, and the reclaim empties it as retention deletes them. The
	 * tables do not change: the version says that the blobs did. */
	{2, "SELECT 1;"},
	/* 3 -> 4: the build id of each module name (first one seen), both string
	 * ids; a database of schema 3 knows none, so the table starts empty. And
	 * each frame's function's first line (DWARF decl_line; 0 = unknown, as
	 * for every frame written before). */
	{3, "CREATE TABLE builds(module INTEGER PRIMARY KEY, build_id INTEGER NOT NULL);"
	    "ALTER TABLE frames ADD COLUMN start_line INTEGER NOT NULL DEFAULT 0;"},
};

static const char *const stmt_sql[STMT__MAX] = {
	[STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[STMT_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
	[STMT_STR_INS] = "INSERT INTO strings(id, s) VALUES (?1, ?2)",
	[STMT_FRAME_INS] =
		"INSERT INTO frames(id, name, module, file, line, addr, kind, start_line)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_STACK_INS] = "INSERT INTO stacks(id, frames) VALUES (?1, ?2)",
	[STMT_TASK_INS] = "INSERT INTO tasks(id, pid, tid, start_time, comm, exe, cgroup)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_WINDOW_INS] = "INSERT INTO windows(start_ns, end_ns, freq_hz, period_ns, samples,"
			    " lost_samples, lost_kstack, lost_ustack, lost_collisions,"
			    " lost_stack_map_full, lost_count_map_full, lost_ringbuf_full,"
			    " lost_truncated, data)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	[STMT_STR_GET] = "SELECT s FROM strings WHERE id = ?1",
	[STMT_FRAME_GET] = "SELECT name, module, file, line, addr, kind, start_line FROM frames"
			   " WHERE id = ?1",
	[STMT_STACK_GET] = "SELECT frames FROM stacks WHERE id = ?1",
	[STMT_TASK_GET] = "SELECT pid, tid, start_time, comm, exe, cgroup FROM tasks WHERE id = ?1",
	[STMT_SERIES_GET] = "SELECT task, stack FROM series WHERE id = ?1",
	[STMT_BUILD_INS] = "INSERT INTO builds(module, build_id) VALUES (?1, ?2)",
	[STMT_BUILD_GET] = "SELECT build_id FROM builds WHERE module = ?1",
};

int store__fail(struct store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

static int sqlite_errno(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return sys == EACCES ? -EACCES : -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return -EINVAL;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

int store__sqlerr(struct store *st, int rc, const char *what)
{
	int err = sqlite_errno(st->db, rc);
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);

	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		return store__fail(st, err, "%s: database %s is corrupt (%s)", what, st->path, msg);
	if (err == -ENOSPC)
		return store__fail(st, err, "%s: %s: no space left on device", what, st->path);
	return store__fail(st, err, "%s: %s: %s", what, st->path, msg);
}

sqlite3_stmt *store__stmt(struct store *st, enum store_stmt id)
{
	sqlite3_stmt *s = st->stmts[id];
	int rc;

	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		store__sqlerr(st, rc, "prepare");
		return NULL;
	}
	st->stmts[id] = s;
	return s;
}

int store__exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store__sqlerr(st, rc, "sql");
}

int store__meta_get(struct store *st, const char *key, int64_t def, int64_t *v)
{
	sqlite3_stmt *s = store__stmt(st, STMT_META_GET);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		*v = def;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store__sqlerr(st, rc, "read meta");
	return 0;
}

int store__meta_set(struct store *st, const char *key, int64_t v)
{
	sqlite3_stmt *s = store__stmt(st, STMT_META_SET);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : store__sqlerr(st, rc, "write meta");
}

int store__begin(struct store *st, bool write)
{
	return store__exec(st, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

int store__commit(struct store *st)
{
	int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	rc = store__sqlerr(st, rc, "commit");
	store__rollback(st);
	return rc;
}

void store__rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

const char *store__errmsg(const struct store *st)
{
	return st->errmsg;
}

/* Reads big-endian integers of the SQLite header. */
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_size;
}

/*
 * Looks at @path before SQLite does: *is_new when it is missing or empty;
 * otherwise the bytes must be an SQLite header carrying ember's application
 * id, and (without a WAL to replay) as long as the header says.
 */
static int store__precheck(struct store *st, bool *is_new)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char hdr[100];
	char wal[PATH_MAX];
	uint32_t page, pages, app;
	struct stat sb;
	ssize_t n;
	int fd, err;

	*is_new = false;
	fd = open(st->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT) {
			*is_new = true;
			return 0;
		}
		return store__fail(st, err, "cannot open %s: %s", st->path, strerror(-err));
	}
	if (fstat(fd, &sb)) {
		err = -errno;
		store__fail(st, err, "cannot stat %s: %s", st->path, strerror(-err));
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = store__fail(st, -EINVAL, "%s is not a regular file: refusing to use it",
				  st->path);
		goto out_close;
	}
	if (sb.st_size == 0) {
		*is_new = true;
		err = 0;
		goto out_close;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0) {
		err = -errno;
		store__fail(st, err, "cannot read %s: %s", st->path, strerror(-err));
		goto out_close;
	}
	if ((size_t)n < sizeof(hdr) || memcmp(hdr, magic, sizeof(magic))) {
		err = store__fail(st, -EINVAL,
				  "%s is not an ember database (not an SQLite file, or truncated): "
				  "refusing to touch it; move it away or choose another --db",
				  st->path);
		goto out_close;
	}
	app = be32(hdr + 68);
	if (app != STORE_APP_ID) {
		err = store__fail(st, -EINVAL,
				  "%s is an SQLite database of another program (application id "
				  "0x%08x), not ember's: refusing to touch it; choose another --db",
				  st->path, app);
		goto out_close;
	}
	page = (uint32_t)hdr[16] << 8 | hdr[17];
	if (page == 1)
		page = 65536;
	if (page < 512 || (page & (page - 1))) {
		err = store__fail(st, -EINVAL, "%s is corrupt (page size %u): refusing to use it",
				  st->path, page);
		goto out_close;
	}
	pages = be32(hdr + 28);
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	/* The header's page count is valid when its change counters agree. */
	if (pages && be32(hdr + 24) == be32(hdr + 92) && file_size(wal) == 0 &&
	    (uint64_t)sb.st_size < (uint64_t)pages * page) {
		err = store__fail(st, -EINVAL,
				  "%s is truncated (%lld bytes, its header says %llu): refusing to "
				  "use it; restore it from a backup or move it away",
				  st->path, (long long)sb.st_size,
				  (unsigned long long)pages * page);
		goto out_close;
	}
	err = 0;
out_close:
	close(fd);
	return err;
}

/* Creates the missing directories of @path's parent, mode 0700. */
static int store__mkparents(struct store *st)
{
	char dir[PATH_MAX];
	char *p;
	int err;

	if (snprintf(dir, sizeof(dir), "%s", st->path) >= (int)sizeof(dir))
		return store__fail(st, -ENAMETOOLONG, "database path too long: %s", st->path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	if (!access(dir, F_OK))
		return 0;
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			goto out_err;
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		goto out_err;
	return 0;
out_err:
	err = -errno;
	return store__fail(st, err, "cannot create directory %s for the database %s: %s", dir,
			   st->path, strerror(-err));
}

static int store__lock(struct store *st)
{
	char lpath[PATH_MAX], buf[32];
	struct store_lock *lk;
	long pid = 0;
	ssize_t n;
	int fd, err;

	if (snprintf(lpath, sizeof(lpath), "%s.lock", st->path) >= (int)sizeof(lpath))
		return store__fail(st, -ENAMETOOLONG, "database path too long: %s", st->path);
	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		return store__fail(st, err, "cannot create the lock file %s: %s", lpath,
				   strerror(-err));
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (err == -EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid > 0)
				store__fail(
					st, -EBUSY,
					"database %s is used by another ember process (pid %ld); "
					"stop it first or choose another --db",
					st->path, pid);
			else
				store__fail(
					st, -EBUSY,
					"database %s is used by another ember process (see %s); "
					"stop it first or choose another --db",
					st->path, lpath);
			err = -EBUSY;
		} else {
			store__fail(st, err, "cannot lock %s: %s", lpath, strerror(-err));
		}
		goto out_close;
	}
	/* The pid is for other processes' messages only: a full disk must not stop us. */
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		pr_debug("cannot write the pid into %s: %s", lpath, strerror(errno));
	lk = malloc(sizeof(*lk));
	if (!lk) {
		err = store__fail(st, -ENOMEM, "out of memory");
		goto out_close;
	}
	lk->fd = fd;
	lk->refs = 1;
	st->lock = lk;
	return 0;
out_close:
	close(fd);
	return err;
}

static void store__unlock(struct store_lock *lk)
{
	if (!lk || __atomic_sub_fetch(&lk->refs, 1, __ATOMIC_ACQ_REL))
		return;
	close(lk->fd); /* releases the flock */
	free(lk);
}

/* Opens the SQLite connection with the per-connection settings. */
static int store__connect(struct store *st, bool create)
{
	int flags = SQLITE_OPEN_NOMUTEX, rc, one = 1;

	flags |= st->writer ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "cannot open database");
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (st->writer) {
		if (sqlite3_db_readonly(st->db, "main") == 1)
			return store__fail(st, -EACCES,
					   "cannot write %s: the file is read-only (the writer "
					   "needs read-write access)",
					   st->path);
		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	}
	return 0;
}

/* Sets the writer's journal: WAL, synchronous=NORMAL, a bounded WAL file. */
static int store__wal(struct store *st)
{
	sqlite3_stmt *s;
	int rc, err;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "set WAL mode");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW &&
	    sqlite3_strnicmp((const char *)sqlite3_column_text(s, 0), "wal", 3) == 0)
		rc = SQLITE_OK;
	else if (rc == SQLITE_ROW)
		rc = SQLITE_ERROR;
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "set WAL mode");
	err = store__exec(st, "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=4194304");
	return err;
}

static int store__migrate(struct store *st, int from)
{
	size_t i;
	int v, err;

	for (v = from; v < STORE_SCHEMA_VERSION; v++) {
		for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
			if (migrations[i].from == v)
				break;
		}
		if (i == sizeof(migrations) / sizeof(migrations[0]))
			return store__fail(st, -ENOTSUP, "no migration from schema %d", v);
		err = store__exec(st, migrations[i].sql);
		if (err)
			return err;
	}
	return store__meta_set(st, "schema_version", STORE_SCHEMA_VERSION);
}

static int store__create_schema(struct store *st)
{
	char sql[160];
	struct timespec ts;
	int err;

	/* Before the first table: page size and incremental vacuum are fixed then. */
	err = store__exec(st, "PRAGMA page_size=4096; PRAGMA auto_vacuum=INCREMENTAL");
	if (err)
		return err;
	err = store__begin(st, true);
	if (err)
		return err;
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d", STORE_APP_ID);
	err = store__exec(st, sql);
	if (!err)
		err = store__exec(st, schema_v1);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!err)
		err = store__meta_set(st, "created_ns",
				      (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	if (!err)
		err = store__migrate(st, 1);
	if (err) {
		store__rollback(st);
		return err;
	}
	return store__commit(st);
}

/* Reads and checks the application id and schema version of an open database. */
static int store__identify(struct store *st, int *version)
{
	sqlite3_stmt *s;
	int64_t v = 0;
	int rc, app = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA application_id", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			app = sqlite3_column_int(s, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "cannot read database");
	if (app != STORE_APP_ID)
		return store__fail(st, -EINVAL,
				   "%s is not an ember database (application id 0x%08x): refusing "
				   "to touch it",
				   st->path, (unsigned)app);
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
				&s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			v = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
		sqlite3_finalize(s);
	}
	if ((rc & 0xff) == SQLITE_ERROR || (rc == SQLITE_OK && v <= 0))
		return store__fail(st, -EINVAL,
				   "%s is corrupt (no schema version): refusing to use it",
				   st->path);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "cannot read database");
	if (v > STORE_SCHEMA_VERSION)
		return store__fail(
			st, -ENOTSUP,
			"%s was written by a newer ember (schema %lld; this ember reads up "
			"to %d): upgrade ember",
			st->path, (long long)v, STORE_SCHEMA_VERSION);
	*version = (int)v;
	return 0;
}

static int store__quick_check(struct store *st)
{
	sqlite3_stmt *s;
	char first[200] = "";
	int rc, bad = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "cannot check database");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);

		if (t && strcmp(t, "ok")) {
			if (!bad++)
				snprintf(first, sizeof(first), "%s", t);
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store__sqlerr(st, rc, "cannot check database");
	if (bad)
		return store__fail(st, -EINVAL,
				   "%s is corrupt (%s): refusing to use it; move it away (the "
				   "daemon then starts a new one)",
				   st->path, first);
	return 0;
}

static void store__unlink_stale(const char *path)
{
	static const char *const sfx[] = {"-wal", "-shm", "-journal"};
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (snprintf(p, sizeof(p), "%s%s", path, sfx[i]) < (int)sizeof(p))
			unlink(p);
	}
}

static int store__open_writer(struct store *st)
{
	int err, fd, version = 0;
	bool is_new;

	err = store__mkparents(st);
	if (err)
		return err;
	err = store__precheck(st, &is_new);
	if (err)
		return err;
	if (!is_new && access(st->path, W_OK)) {
		err = -errno;
		if (err == -EROFS)
			return store__fail(
				st, err,
				"cannot write %s: the file system is read-only; remount it "
				"read-write or choose another --db",
				st->path);
		return store__fail(st, err,
				   "cannot write %s: %s (the writer needs read-write access)",
				   st->path, strerror(-err));
	}
	err = store__lock(st);
	if (err)
		return err;
	/* Another process may have created it before we held the lock. */
	err = store__precheck(st, &is_new);
	if (err)
		return err;
	if (is_new) {
		fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			err = -errno;
			return store__fail(st, err, "cannot create %s: %s", st->path,
					   strerror(-err));
		}
		close(fd);
		store__unlink_stale(st->path);
	}
	err = store__connect(st, false);
	if (err)
		return err;
	if (is_new) {
		err = store__create_schema(st);
		if (err)
			return err;
		version = STORE_SCHEMA_VERSION;
	} else {
		err = store__identify(st, &version);
		if (!err)
			err = store__quick_check(st);
		if (err)
			return err;
	}
	err = store__wal(st);
	if (err)
		return err;
	if (version < STORE_SCHEMA_VERSION) {
		err = store__begin(st, true);
		if (!err)
			err = store__migrate(st, version);
		if (err) {
			store__rollback(st);
			return err;
		}
		err = store__commit(st);
		if (err)
			return err;
		pr_info("migrated %s from schema %d to %d", st->path, version,
			STORE_SCHEMA_VERSION);
		version = STORE_SCHEMA_VERSION;
	}
	st->schema_version = version;
	return 0;
}

static int store__open_reader(struct store *st, bool create)
{
	struct store_open_opts wopts = {.writer = true};
	struct store *w;
	int err, version;
	bool is_new;

	err = store__precheck(st, &is_new);
	if (err)
		return err;
	if (is_new && create) {
		w = store__open(st->path, &wopts, st->errmsg, sizeof(st->errmsg));
		if (!w)
			return -errno;
		store__close(w);
	} else if (is_new) {
		return store__fail(st, -ENOENT,
				   "no ember database at %s (the daemon creates it; check --db)",
				   st->path);
	}
	err = store__connect(st, false);
	if (err)
		return err;
	err = store__identify(st, &version);
	if (err == -EIO || err == -EACCES || err == -EROFS)
		return store__fail(st, err,
				   "cannot read %s: %s (a reader needs read access to the database "
				   "and to its -wal and -shm files, which the daemon creates)",
				   st->path, sqlite3_errmsg(st->db));
	if (err)
		return err;
	if (version < STORE_SCHEMA_VERSION)
		return store__fail(
			st, -ENOTSUP,
			"%s was written by an older ember (schema %d): run `ember daemon` "
			"on it once to upgrade it",
			st->path, version);
	st->schema_version = version;
	return 0;
}

static struct store *store__alloc(const char *path, bool writer)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->writer = writer;
	smap__init(&st->legacy);
	st->path = strdup(path);
	st->cctx = ZSTD_createCCtx();
	st->dctx = ZSTD_createDCtx();
	if (!st->path || !st->cctx || !st->dctx)
		goto out_free;
	if (ZSTD_isError(
		    ZSTD_CCtx_setParameter(st->cctx, ZSTD_c_compressionLevel, STORE_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(st->cctx, ZSTD_c_checksumFlag, 1)))
		goto out_free;
	return st;
out_free:
	ZSTD_freeDCtx(st->dctx);
	ZSTD_freeCCtx(st->cctx);
	free(st->path);
	free(st);
	return NULL;
}

struct store *store__open(const char *path, const struct store_open_opts *opts, char *err,
			  size_t errlen)
{
	struct store *st;
	int rc;

	if (!path || !*path || !opts) {
		if (err && errlen)
			snprintf(err, errlen, "no database path");
		errno = EINVAL;
		return NULL;
	}
	st = store__alloc(path, opts->writer);
	if (!st) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	rc = opts->writer ? store__open_writer(st) : store__open_reader(st, opts->create);
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s", st->errmsg[0] ? st->errmsg : strerror(-rc));
		store__close(st);
		errno = -rc;
		return NULL;
	}
	return st;
}

struct store *store__open_sibling(struct store *st)
{
	struct store *sib;
	int err;

	sib = store__alloc(st->path, st->writer);
	if (!sib) {
		errno = ENOMEM;
		return NULL;
	}
	err = store__connect(sib, false);
	if (!err && st->writer)
		err = store__exec(sib, "PRAGMA synchronous=NORMAL");
	if (err) {
		store__close(sib);
		errno = -err;
		return NULL;
	}
	sib->schema_version = st->schema_version;
	if (st->lock) {
		__atomic_add_fetch(&st->lock->refs, 1, __ATOMIC_ACQ_REL);
		sib->lock = st->lock;
	}
	return sib;
}

void store__close(struct store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < STMT__MAX; i++)
		sqlite3_finalize(st->stmts[i]);
	if (st->db)
		sqlite3_close_v2(st->db);
	store__unlock(st->lock);
	wcache__free(&st->wc);
	blob__exit(&st->blob);
	smap__exit(&st->legacy);
	sbuf__exit(&st->raw);
	sbuf__exit(&st->out);
	ZSTD_freeDCtx(st->dctx);
	ZSTD_freeCCtx(st->cctx);
	free(st->path);
	free(st);
}

/* Runs a single-integer query. */
static int store__int(struct store *st, const char *sql, int64_t *v)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__sqlerr(st, rc, "query");
	rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store__sqlerr(st, rc, "query");
	return 0;
}

int store__info(struct store *st, struct store_info *out)
{
	sqlite3_stmt *s;
	char wal[PATH_MAX];
	int64_t stacks = 0;
	int rc, err;

	memset(out, 0, sizeof(*out));
	err = store__begin(st, false);
	if (err)
		return err;
	rc = sqlite3_prepare_v2(
		st->db,
		"SELECT COALESCE(sum(nwin), 0), min(start_ns), max(end_ns), sum(samples)"
		" FROM windows",
		-1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			out->windows = (uint64_t)sqlite3_column_int64(s, 0);
			out->first_ns = (uint64_t)sqlite3_column_int64(s, 1);
			out->last_ns = (uint64_t)sqlite3_column_int64(s, 2);
			out->samples = (uint64_t)sqlite3_column_int64(s, 3);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_OK) {
		err = store__sqlerr(st, rc, "info");
		goto out_rollback;
	}
	err = store__int(st, "SELECT count(*) FROM stacks", &stacks);
	if (err)
		goto out_rollback;
	out->stacks = (uint64_t)stacks;
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	out->file_bytes = (uint64_t)file_size(st->path) + (uint64_t)file_size(wal);
	out->schema_version = st->schema_version;
out_rollback:
	store__rollback(st);
	return err;
}
