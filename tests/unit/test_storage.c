/*
 * Unit tests for storage/ (include/ember/storage.h) on real SQLite files in a
 * temporary directory: round trips, merges of many windows compared with
 * profile__merge, filters and time-range overlap, timeline, processes,
 * retention by age and size with the reclaim of unused rows, packed hours
 * window by window, build ids of modules (first one kept, reclaimed with their
 * modules), migration of a version-1 database built with raw SQL, of a
 * version-2 database its writer made (fixtures/storage/v2_sample.sql, answers
 * in v2_expected.txt) and of a version-3 one (v3_sample.sql), refusal of foreign, corrupt, newer
 * and truncated files (left byte-identical), corrupt window blobs, the
 * single-writer lock, a reader beside the writer (also as an unprivileged
 * user), a full disk (tmpfs) and read-only files and file systems.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <zstd.h>

#include "ember/profile.h"
#include "ember/storage.h"
#include "test_rng.h"

#define SEC	(1000000000ULL)
#define BASE_NS (1763694600ULL * SEC) /* a multiple of a minute */
#define WIN_NS	(10 * SEC)
#define NOBODY	65534

static char tmpdir[256];

/* ---- helpers: files, randomness ------------------------------------------------ */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ember-test-storage-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char mnt[PATH_MAX];

	(void)state;
	/* Mounts a failed test left behind. */
	snprintf(mnt, sizeof(mnt), "%s/small", tmpdir);
	umount2(mnt, MNT_DETACH);
	snprintf(mnt, sizeof(mnt), "%s/ro", tmpdir);
	umount2(mnt, MNT_DETACH);
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tpath(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
	return buf;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat sb;
	FILE *f;

	assert_int_equal(stat(path, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	assert_non_null(buf);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	*len = (size_t)sb.st_size;
	return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- raw SQLite, independent of the code under test ------------------------------ */

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void raw_text(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *s;
	sqlite3 *db;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void raw_exec(const char *path, const char *sql)
{
	char *msg = NULL;
	sqlite3 *db;

	assert_int_equal(
		sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* Flips one byte in the middle of window @id's blob (past the zstd header). */
static void raw_flip_blob(const char *path, int id)
{
	unsigned char buf[65536];
	sqlite3_stmt *s;
	sqlite3 *db;
	int len;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT data FROM windows WHERE id = ?1", -1, &s, NULL),
		SQLITE_OK);
	sqlite3_bind_int(s, 1, id);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	len = sqlite3_column_bytes(s, 0);
	assert_true(len > 20 && len <= (int)sizeof(buf));
	memcpy(buf, sqlite3_column_blob(s, 0), (size_t)len);
	sqlite3_finalize(s);
	buf[len / 2 + 4] ^= 0x10;
	assert_int_equal(
		sqlite3_prepare_v2(db, "UPDATE windows SET data = ?2 WHERE id = ?1", -1, &s, NULL),
		SQLITE_OK);
	sqlite3_bind_int(s, 1, id);
	sqlite3_bind_blob(s, 2, buf, len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* ---- a world of frames, stacks and tasks, and windows drawn from it -------------- */

struct wframe {
	char name[80], module[40], file[48];
	uint32_t line, kind, start_line;
	uint64_t addr;
};

struct wtask {
	uint32_t pid, tid;
	uint64_t start;
	char comm[24], exe[48], cgroup[64];
};

struct world {
	struct wframe *frames;
	size_t nframes;
	uint32_t **stacks; /* world frame indexes, root first */
	uint32_t *depth;
	size_t nstacks;
	struct wtask *tasks;
	size_t ntasks;
};

struct wsample {
	uint32_t stack, task;
	uint64_t count;
};

static const char *const odd_names[] = {
	"std::vector<int, std::allocator<int> >::push_back(int const&)",
	"name;with;semicolons",
	"gr\xc3\xb6\xc3\x9f"
	"e_berechnen",
	"trailing space 42",
	"[unknown]",
	"tab\there",
};

/* @tag makes every string of this world distinct from other worlds'. */
static struct world *world_new(const char *tag, size_t nframes, size_t nstacks, uint32_t maxdepth,
			       size_t ntasks)
{
	struct world *w = calloc(1, sizeof(*w));
	size_t i;
	uint32_t j;

	assert_non_null(w);
	w->frames = calloc(nframes, sizeof(*w->frames));
	w->stacks = calloc(nstacks, sizeof(*w->stacks));
	w->depth = calloc(nstacks, sizeof(*w->depth));
	w->tasks = calloc(ntasks, sizeof(*w->tasks));
	assert_true(w->frames && w->stacks && w->depth && w->tasks);
	w->nframes = nframes;
	w->nstacks = nstacks;
	w->ntasks = ntasks;
	for (i = 0; i < nframes; i++) {
		struct wframe *f = &w->frames[i];

		if (i < sizeof(odd_names) / sizeof(odd_names[0]))
			snprintf(f->name, sizeof(f->name), "%s %s", odd_names[i], tag);
		else
			snprintf(f->name, sizeof(f->name), "%s_fn_%zu", tag, i);
		if (i % 7)
			snprintf(f->module, sizeof(f->module), "lib%s%zu.so", tag, i % 13);
		if (i % 3)
			snprintf(f->file, sizeof(f->file), "/src/%s/file%zu.c", tag, i % 29);
		f->line = i % 3 ? (uint32_t)(i * 7) : 0;
		f->start_line = i % 4 ? (uint32_t)(i * 5 + 1) : 0;
		f->addr = i % 11 ? 0x400000 + i * 16 : UINT64_MAX - i;
		f->kind = (uint32_t)(i % 5);
	}
	for (i = 0; i < nstacks; i++) {
		w->depth[i] = maxdepth ? (uint32_t)(1 + rnd_below(maxdepth)) : 0;
		w->stacks[i] = calloc(w->depth[i] + 1, sizeof(uint32_t));
		assert_non_null(w->stacks[i]);
		/* The last frame is unique per stack so stacks are distinct. */
		for (j = 0; j < w->depth[i]; j++)
			w->stacks[i][j] =
				(uint32_t)(j + 1 == w->depth[i] ? i % nframes : rnd_below(nframes));
		if (w->depth[i])
			w->stacks[i][0] = (uint32_t)(i % nframes); /* root varies too */
	}
	for (i = 0; i < ntasks; i++) {
		struct wtask *t = &w->tasks[i];

		t->pid = (uint32_t)(1000 + i);
		t->tid = i % 4 == 3 ? t->pid + 1 : t->pid;
		t->start = (uint64_t)i * 12345678901ULL + (i % 5 == 0 ? (1ULL << 63) : 0);
		snprintf(t->comm, sizeof(t->comm), "%s-c%zu", tag, i);
		if (i % 6)
			snprintf(t->exe, sizeof(t->exe), "/usr/bin/%s%zu", tag, i);
		if (i % 5)
			snprintf(t->cgroup, sizeof(t->cgroup), "/system.slice/%s%zu.service", tag,
				 i);
	}
	return w;
}

static void world_free(struct world *w)
{
	size_t i;

	for (i = 0; i < w->nstacks; i++)
		free(w->stacks[i]);
	free(w->stacks);
	free(w->depth);
	free(w->frames);
	free(w->tasks);
	free(w);
}

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t add_task(struct profile *p, const struct wtask *wt)
{
	struct profile_task t = {.pid = wt->pid, .tid = wt->tid, .start_time = wt->start};
	int64_t id;

	t.comm = intern(p, wt->comm);
	t.exe = intern(p, wt->exe);
	t.cgroup = intern(p, wt->cgroup);
	id = profile__add_task(p, &t);
	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t add_stack(struct profile *p, const struct world *w, uint32_t si)
{
	uint32_t ids[256], j;
	int64_t id;

	assert_true(w->depth[si] <= 256);
	for (j = 0; j < w->depth[si]; j++) {
		const struct wframe *wf = &w->frames[w->stacks[si][j]];
		struct profile_frame f = {.line = wf->line,
					  .addr = wf->addr,
					  .kind = wf->kind,
					  .start_line = wf->start_line};

		f.name = intern(p, wf->name);
		f.module = intern(p, wf->module);
		f.file = intern(p, wf->file);
		id = profile__add_frame(p, &f);
		assert_true(id >= 0);
		ids[j] = (uint32_t)id;
	}
	id = profile__add_stack(p, ids, w->depth[si]);
	assert_true(id >= 0);
	return (uint32_t)id;
}

/* A window of the given samples, built in sample order (window ids differ from the db's). */
static struct profile *mkwindow(const struct world *w, uint64_t start, const struct wsample *s,
				size_t n)
{
	struct profile *p = profile__new();
	struct profile_meta *m;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		uint32_t task = add_task(p, &w->tasks[s[i].task]);
		uint32_t stack = add_stack(p, w, s[i].stack);

		assert_int_equal(profile__add_sample(p, stack, task, s[i].count), 0);
	}
	m = profile__meta(p);
	m->start_ns = start;
	m->end_ns = start + WIN_NS;
	m->freq_hz = 19;
	m->period_ns = SEC / 19;
	m->lost.samples = start / SEC % 7;
	m->lost.kstack_errors = 1;
	m->lost.ustack_errors = start / SEC % 3;
	m->lost.stack_collisions = 2;
	m->lost.stack_map_full = 3;
	m->lost.count_map_full = 4;
	m->lost.ringbuf_full = 5;
	m->lost.truncated = 6;
	return p;
}

static struct profile *mkrandom(const struct world *w, uint64_t start, size_t n, uint64_t maxcount)
{
	struct wsample *s = calloc(n ? n : 1, sizeof(*s));
	struct profile *p;
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[i].stack = (uint32_t)rnd_below(w->nstacks);
		s[i].task = (uint32_t)rnd_below(w->ntasks);
		s[i].count = 1 + rnd_below(maxcount);
	}
	p = mkwindow(w, start, s, n);
	free(s);
	return p;
}

/* ---- canonical form of a profile: one line per sample, by content ------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **canon(const struct profile *p, size_t *n)
{
	const struct profile_sample *s = profile__samples(p, n);
	char **lines = calloc(*n ? *n : 1, sizeof(*lines));
	size_t i, len;
	uint32_t j, depth;

	assert_non_null(lines);
	for (i = 0; i < *n; i++) {
		const struct profile_task *t = profile__task(p, s[i].task);
		const uint32_t *fr = profile__stack(p, s[i].stack, &depth);
		FILE *f = open_memstream(&lines[i], &len);

		assert_non_null(f);
		fprintf(f, "%u/%u/%" PRIu64 "/[%s][%s][%s] |", t->pid, t->tid, t->start_time,
			profile__str(p, t->comm), profile__str(p, t->exe),
			profile__str(p, t->cgroup));
		for (j = 0; j < depth; j++) {
			const struct profile_frame *fm = profile__frame(p, fr[j]);

			fprintf(f, " [%s][%s][%s]:%u:%" PRIx64 ":%u", profile__str(p, fm->name),
				profile__str(p, fm->module), profile__str(p, fm->file), fm->line,
				fm->addr, fm->kind);
			/* The function's first line, when known (the fixtures' text has none). */
			if (fm->start_line)
				fprintf(f, ":s%u", fm->start_line);
			fputc(';', f);
		}
		fprintf(f, " %" PRIu64, s[i].count);
		fclose(f);
	}
	qsort(lines, *n, sizeof(*lines), cmp_str);
	return lines;
}

static void free_lines(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static void assert_same_samples(const struct profile *want, const struct profile *got)
{
	size_t nw, ng, i;
	char **lw = canon(want, &nw), **lg = canon(got, &ng);

	assert_int_equal(profile__total(got), profile__total(want));
	assert_int_equal(ng, nw);
	for (i = 0; i < nw; i++)
		assert_string_equal(lg[i], lw[i]);
	free_lines(lw, nw);
	free_lines(lg, ng);
}

static void assert_same_meta(const struct profile *want, const struct profile *got)
{
	const struct profile_meta *a = profile__meta_c(want), *b = profile__meta_c(got);

	assert_int_equal(b->start_ns, a->start_ns);
	assert_int_equal(b->end_ns, a->end_ns);
	assert_int_equal(b->freq_hz, a->freq_hz);
	assert_int_equal(b->period_ns, a->period_ns);
	assert_memory_equal(&b->lost, &a->lost, sizeof(a->lost));
}

/* ---- store helpers ------------------------------------------------------------- */

static struct store *open_writer(const char *path)
{
	struct store_open_opts o = {.writer = true};
	char err[512] = "";
	struct store *st = store__open(path, &o, err, sizeof(err));

	if (!st)
		fail_msg("open writer %s: %s", path, err);
	return st;
}

static struct store *open_reader(const char *path)
{
	struct store_open_opts o = {0};
	char err[512] = "";
	struct store *st = store__open(path, &o, err, sizeof(err));

	if (!st)
		fail_msg("open reader %s: %s", path, err);
	return st;
}

/* Expects opening @path to fail with @err and a message containing @needle. */
static void expect_open_fails(const char *path, bool writer, int err, const char *needle)
{
	struct store_open_opts o = {.writer = writer};
	char msg[512] = "";
	struct store *st;

	errno = 0;
	st = store__open(path, &o, msg, sizeof(msg));
	if (st) {
		store__close(st);
		fail_msg("%s opened as %s", path, writer ? "writer" : "reader");
	}
	if (errno != err || !strstr(msg, needle))
		fail_msg("%s: errno %d (want %d), message \"%s\" (want \"%s\")", path, errno, err,
			 msg, needle);
	assert_non_null(strstr(msg, path));
}

static struct profile *query(struct store *st, const struct store_filter *f)
{
	struct profile *p = profile__new();
	int err;

	assert_non_null(p);
	err = store__query(st, f, p);
	if (err)
		fail_msg("query: %d %s", err, store__errmsg(st));
	return p;
}

static void write_window(struct store *st, const struct profile *w)
{
	int err = store__write_window(st, w);

	if (err)
		fail_msg("write window: %d %s", err, store__errmsg(st));
}

/* ---- round trip ---------------------------------------------------------------- */

static void test_roundtrip_many_stacks(void **state)
{
	struct world *w = world_new("rt", 6000, 20000, 120, 50);
	struct store_filter all = {0};
	struct profile *win, *again, *got, *want;
	struct store_info info;
	struct wsample *s;
	char path[PATH_MAX];
	struct store *st;
	size_t i;

	(void)state;
	/* Every stack once, a few twice with other tasks; counts up to a million. */
	s = calloc(w->nstacks + 100, sizeof(*s));
	assert_non_null(s);
	for (i = 0; i < w->nstacks + 100; i++) {
		s[i].stack = (uint32_t)(i % w->nstacks);
		s[i].task = (uint32_t)(i < w->nstacks ? rnd_below(w->ntasks) : w->ntasks - 1);
		s[i].count = 1 + rnd_below(1000000);
	}
	win = mkwindow(w, BASE_NS, s, w->nstacks + 100);
	assert_true(profile__stack_count(win) > 19000);

	tpath(path, "rt.db");
	st = open_writer(path);
	write_window(st, win);
	store__close(st);

	st = open_reader(path);
	got = query(st, &all);
	assert_same_samples(win, got);
	assert_same_meta(win, got);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.windows, 1);
	assert_int_equal(info.samples, profile__total(win));
	assert_int_equal(info.stacks, profile__stack_count(win));
	assert_int_equal(info.first_ns, BASE_NS);
	assert_int_equal(info.last_ns, BASE_NS + WIN_NS);
	assert_int_equal(info.schema_version, 4);
	assert_true(info.file_bytes > 0);
	store__close(st);
	profile__free(got);

	/* The same stacks again in a second window: nothing new in the dictionary. */
	again = mkwindow(w, BASE_NS + WIN_NS, s, w->nstacks + 100);
	st = open_writer(path);
	write_window(st, again);
	store__close(st);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM stacks"), profile__stack_count(win));
	assert_int_equal(raw_int(path, "SELECT count(*) FROM frames"), profile__frame_count(win));
	/* Strings: all but the empty one (id 0, never stored). */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM strings"),
			 profile__str_count(win) - 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM tasks"), profile__task_count(win));

	want = profile__new();
	assert_int_equal(profile__merge(want, win), 0);
	assert_int_equal(profile__merge(want, again), 0);
	st = open_reader(path);
	got = query(st, &all);
	assert_same_samples(want, got);
	assert_same_meta(want, got);
	store__close(st);

	profile__free(got);
	profile__free(want);
	profile__free(again);
	profile__free(win);
	free(s);
	world_free(w);
}

/* ---- merge of many windows ---------------------------------------------------- */

#define NWIN 500

static void test_merge_many_windows(void **state)
{
	struct world *w = world_new("mg", 400, 300, 40, 40);
	struct profile *wins[NWIN + 20], *want, *got;
	struct store_filter f = {0};
	char path[PATH_MAX];
	struct store *st, *rd;
	size_t i;

	(void)state;
	tpath(path, "merge.db");
	st = open_writer(path);
	for (i = 0; i < NWIN; i++) {
		wins[i] = mkrandom(w, BASE_NS + i * WIN_NS, 1 + rnd_below(60), 50);
		write_window(st, wins[i]);
	}
	store__close(st);
	/* A new writer reloads its cache from the database and goes on. */
	st = open_writer(path);
	for (i = NWIN; i < NWIN + 20; i++) {
		wins[i] = mkrandom(w, BASE_NS + i * WIN_NS, 1 + rnd_below(60), 50);
		write_window(st, wins[i]);
	}
	rd = open_reader(path);

	want = profile__new();
	for (i = 0; i < NWIN + 20; i++)
		assert_int_equal(profile__merge(want, wins[i]), 0);
	got = query(rd, &f);
	assert_same_samples(want, got);
	assert_same_meta(want, got);
	profile__free(got);
	profile__free(want);

	/* [start of 100 + 1 ns, start of 200): windows 100..199 overlap it. */
	f.from_ns = BASE_NS + 100 * WIN_NS + 1;
	f.to_ns = BASE_NS + 200 * WIN_NS;
	want = profile__new();
	for (i = 100; i < 200; i++)
		assert_int_equal(profile__merge(want, wins[i]), 0);
	got = query(rd, &f);
	assert_same_samples(want, got);
	assert_same_meta(want, got);
	profile__free(got);
	profile__free(want);

	store__close(rd);
	store__close(st);
	for (i = 0; i < NWIN + 20; i++)
		profile__free(wins[i]);
	world_free(w);
}

/* ---- filters ------------------------------------------------------------------ */

static uint64_t query_total(struct store *st, const struct store_filter *f)
{
	struct profile *p = query(st, f);
	uint64_t t = profile__total(p);

	profile__free(p);
	return t;
}

/* Four tasks with known samples: A(1) B(10) C(100) D(1000) per window. */
static struct world *filter_world(void)
{
	struct world *w = world_new("flt", 20, 8, 6, 4);

	w->tasks[0] = (struct wtask){
		100, 100, 5, "nginx", "/usr/sbin/nginx", "/system.slice/nginx.service"};
	w->tasks[1] = (struct wtask){200,
				     200,
				     6,
				     "postgres",
				     "/usr/lib/postgresql/bin/postgres",
				     "/system.slice/postgresql.service"};
	w->tasks[2] =
		(struct wtask){300, 300, 7, "nginx", "/opt/nginx/sbin/nginx", "/kubepods/pod1/c1"};
	w->tasks[3] = (struct wtask){
		100, 101, 5, "nginx-worker", "/usr/sbin/nginx", "/system.slice/nginx.service"};
	return w;
}

static void write_filter_windows(struct store *st, const struct world *w, int nwin)
{
	struct wsample s[4] = {{0, 0, 1}, {1, 1, 10}, {2, 2, 100}, {3, 3, 1000}};
	struct profile *p;
	int i;

	for (i = 0; i < nwin; i++) {
		p = mkwindow(w, BASE_NS + (uint64_t)i * WIN_NS, s, 4);
		write_window(st, p);
		profile__free(p);
	}
}

static void test_filters(void **state)
{
	struct world *w = filter_world();
	struct store_filter f;
	char path[PATH_MAX];
	struct profile *p;
	struct store *st;
	size_t i;

	(void)state;
	st = open_writer(tpath(path, "filter.db"));
	write_filter_windows(st, w, 3);

	f = (struct store_filter){0};
	assert_int_equal(query_total(st, &f), 3 * 1111);
	f.pid = 100;
	assert_int_equal(query_total(st, &f), 3 * 1001);
	f = (struct store_filter){.comm = "nginx"};
	assert_int_equal(query_total(st, &f), 3 * 101);
	f = (struct store_filter){.exe = "/opt/nginx/sbin/nginx"};
	assert_int_equal(query_total(st, &f), 3 * 100);
	f = (struct store_filter){.exe = "/opt/nginx"}; /* exact, not a prefix */
	assert_int_equal(query_total(st, &f), 0);
	f = (struct store_filter){.cgroup = "/system.slice"};
	assert_int_equal(query_total(st, &f), 3 * 1011);
	f = (struct store_filter){.cgroup = "/kubepods/pod1/"};
	assert_int_equal(query_total(st, &f), 3 * 100);
	f = (struct store_filter){.pid = 100, .comm = "nginx"};
	assert_int_equal(query_total(st, &f), 3 * 1);
	f = (struct store_filter){.comm = "nobody-has-this"};
	assert_int_equal(query_total(st, &f), 0);

	/* Every task in a filtered result passes the filter. */
	f = (struct store_filter){.cgroup = "/system.slice/nginx"};
	p = query(st, &f);
	assert_int_equal(profile__total(p), 3 * 1001);
	for (i = 0; i < profile__task_count(p); i++)
		assert_int_equal(profile__task(p, (uint32_t)i)->pid, 100);
	profile__free(p);

	/* Overlap: windows [0,10) [10,20) [20,30) s after BASE. */
	f = (struct store_filter){.from_ns = BASE_NS + 10 * SEC, .to_ns = BASE_NS + 20 * SEC};
	assert_int_equal(query_total(st, &f), 1111);
	p = query(st, &f);
	assert_int_equal(profile__meta_c(p)->start_ns, BASE_NS + 10 * SEC);
	assert_int_equal(profile__meta_c(p)->end_ns, BASE_NS + 20 * SEC);
	profile__free(p);
	f.from_ns = BASE_NS + 10 * SEC - 1;
	assert_int_equal(query_total(st, &f), 2 * 1111);
	f.from_ns = BASE_NS + 10 * SEC;
	f.to_ns = BASE_NS + 20 * SEC + 1;
	assert_int_equal(query_total(st, &f), 2 * 1111);
	f = (struct store_filter){.from_ns = BASE_NS + 25 * SEC}; /* open end */
	assert_int_equal(query_total(st, &f), 1111);
	f = (struct store_filter){.from_ns = BASE_NS + 30 * SEC};
	p = query(st, &f);
	assert_int_equal(profile__total(p), 0);
	assert_int_equal(profile__meta_c(p)->start_ns, 0);
	profile__free(p);
	f = (struct store_filter){.to_ns = BASE_NS}; /* ends where the first window starts */
	assert_int_equal(query_total(st, &f), 0);
	f = (struct store_filter){.from_ns = BASE_NS + 20 * SEC, .to_ns = BASE_NS + 10 * SEC};
	p = profile__new();
	assert_int_equal(store__query(st, &f, p), -EINVAL);
	profile__free(p);

	store__close(st);
	world_free(w);
}

/* ---- timeline ------------------------------------------------------------------ */

static void test_timeline(void **state)
{
	struct world *w = filter_world();
	struct wsample s[2] = {{0, 0, 0}, {1, 1, 0}};
	uint64_t want[8] = {0}, want_pid[8] = {0};
	struct store_point *pts;
	struct store_filter f;
	char path[PATH_MAX];
	struct profile *p;
	struct store *st;
	size_t n, i;

	(void)state;
	st = open_writer(tpath(path, "timeline.db"));
	/* 10 s windows over 0..80 s with a gap at 30..60 s; window i has 1+i and 100+i samples. */
	for (i = 0; i < 8; i++) {
		if (i >= 3 && i < 6)
			continue;
		s[0].count = 1 + i;
		s[1].count = 100 + i;
		p = mkwindow(w, BASE_NS + i * WIN_NS, s, 2);
		write_window(st, p);
		profile__free(p);
		want[i * 10 / 20] += 101 + 2 * i;
		want_pid[i * 10 / 20] += 1 + i;
	}

	f = (struct store_filter){0};
	assert_int_equal(store__timeline(st, &f, 20 * SEC, &pts, &n), 0);
	assert_int_equal(n, 4); /* 0..80 s in 20 s steps */
	for (i = 0; i < n; i++) {
		assert_int_equal(pts[i].t_ns, BASE_NS + i * 20 * SEC);
		assert_int_equal(pts[i].samples, want[i]);
	}
	assert_int_equal(pts[1].samples, 101 + 2 * 2); /* only window 2; 3 is in the gap */
	free(pts);

	f.pid = 100;
	assert_int_equal(store__timeline(st, &f, 20 * SEC, &pts, &n), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_int_equal(pts[i].samples, want_pid[i]);
	free(pts);

	/* Explicit range: buckets start at from; windows starting before it go first. */
	f = (struct store_filter){.from_ns = BASE_NS + 15 * SEC, .to_ns = BASE_NS + 75 * SEC};
	assert_int_equal(store__timeline(st, &f, 30 * SEC, &pts, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pts[0].t_ns, BASE_NS + 15 * SEC);
	assert_int_equal(pts[0].samples, (101 + 2) + (101 + 4));   /* windows 1, 2 */
	assert_int_equal(pts[1].samples, (101 + 12) + (101 + 14)); /* windows 6, 7 */
	free(pts);

	assert_int_equal(store__timeline(st, &f, 0, &pts, &n), -EINVAL);
	f = (struct store_filter){.from_ns = 1, .to_ns = UINT64_MAX / 2};
	assert_int_equal(store__timeline(st, &f, 1, &pts, &n), -E2BIG);
	store__close(st);

	/* An empty database has no points. */
	st = open_writer(tpath(path, "timeline-empty.db"));
	f = (struct store_filter){0};
	assert_int_equal(store__timeline(st, &f, SEC, &pts, &n), 0);
	assert_int_equal(n, 0);
	free(pts);
	store__close(st);
	world_free(w);
}

/* ---- processes ----------------------------------------------------------------- */

static void test_processes(void **state)
{
	struct world *w = world_new("pr", 10, 4, 3, 5);
	struct wsample s[5] = {{0, 0, 10}, {1, 1, 30}, {2, 2, 50}, {3, 3, 5}, {0, 4, 40}};
	struct store_process *v;
	struct store_filter f;
	char path[PATH_MAX];
	struct profile *p;
	struct store *st;
	size_t n;

	(void)state;
	w->tasks[0] = (struct wtask){100, 100, 77, "main", "/bin/app", "/a"};
	w->tasks[1] = (struct wtask){100, 101, 77, "worker", "/bin/app", "/a"};
	w->tasks[2] = (struct wtask){200, 200, 1000, "old200", "/bin/x", "/b"};
	w->tasks[3] = (struct wtask){200, 200, 2000, "new200", "/bin/y", "/b"};
	w->tasks[4] = (struct wtask){50, 50, 1, "tie", "", ""};
	st = open_writer(tpath(path, "procs.db"));
	p = mkwindow(w, BASE_NS, s, 5);
	write_window(st, p);
	profile__free(p);

	f = (struct store_filter){0};
	assert_int_equal(store__processes(st, &f, &v, &n), 0);
	assert_int_equal(n, 4);
	/* 200@1000 (50), then 100 (10 + 30 = 40) and 50 (40) by pid, then 200@2000 (5). */
	assert_int_equal(v[0].pid, 200);
	assert_int_equal(v[0].start_time, 1000);
	assert_int_equal(v[0].samples, 50);
	assert_string_equal(v[0].comm, "old200");
	assert_string_equal(v[0].exe, "/bin/x");
	assert_string_equal(v[0].cgroup, "/b");
	assert_int_equal(v[1].pid, 50);
	assert_int_equal(v[1].samples, 40);
	assert_string_equal(v[1].exe, "");
	assert_int_equal(v[2].pid, 100);
	assert_int_equal(v[2].samples, 40);
	assert_string_equal(v[2].comm, "worker"); /* the thread with most samples names it */
	assert_int_equal(v[3].pid, 200);
	assert_int_equal(v[3].start_time, 2000);
	assert_int_equal(v[3].samples, 5);
	store__processes_free(v, n);

	f = (struct store_filter){.comm = "main"};
	assert_int_equal(store__processes(st, &f, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].pid, 100);
	assert_int_equal(v[0].samples, 10);
	store__processes_free(v, n);

	f = (struct store_filter){.from_ns = BASE_NS + WIN_NS};
	assert_int_equal(store__processes(st, &f, &v, &n), 0);
	assert_int_equal(n, 0);
	store__processes_free(v, n);
	store__close(st);
	world_free(w);
}

/* ---- retention ---------------------------------------------------------------- */

static void test_retain_by_age(void **state)
{
	struct world *a = world_new("olda", 60, 40, 12, 6), *b = world_new("newb", 60, 40, 12, 6);
	struct store_retain_stats rs;
	struct profile *wins[400], *old_all, *want, *got, *back;
	struct store_filter f = {0};
	struct store *st, *sib;
	struct store_info info;
	char path[PATH_MAX];
	int64_t strings_b;
	size_t i;

	(void)state;
	st = open_writer(tpath(path, "age.db"));
	old_all = profile__new();
	for (i = 0; i < 400; i++) {
		wins[i] = mkrandom(i < 100 ? a : b, BASE_NS + i * WIN_NS, 20, 9);
		write_window(st, wins[i]);
		if (i < 100)
			assert_int_equal(profile__merge(old_all, wins[i]), 0);
	}
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.windows, 400);

	assert_true(
		raw_int(path, "SELECT count(*) FROM strings WHERE CAST(s AS TEXT) LIKE '%olda%'") >
		0);
	/* Retention on a sibling connection, as the daemon's background thread does it. */
	sib = store__open_sibling(st);
	assert_non_null(sib);
	/* Windows ending before the start of window 200 go: 0..198. */
	assert_int_equal(store__retain(sib, BASE_NS + 250 * WIN_NS, 50 * WIN_NS, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 199);
	/* World a's rows are used by no window left; world b's all are. */
	assert_int_equal(rs.stacks_deleted, profile__stack_count(old_all));
	assert_int_equal(rs.frames_deleted, profile__frame_count(old_all));
	assert_int_equal(rs.strings_deleted, profile__str_count(old_all) - 1);
	assert_int_equal(store__info(sib, &info), 0);
	assert_int_equal(info.windows, 201);
	assert_int_equal(info.first_ns, BASE_NS + 199 * WIN_NS);
	want = profile__new();
	for (i = 199; i < 400; i++)
		assert_int_equal(profile__merge(want, wins[i]), 0);
	assert_int_equal(info.stacks, profile__stack_count(want));
	assert_int_equal(raw_int(path, "SELECT count(*) FROM frames"), profile__frame_count(want));
	strings_b = raw_int(path, "SELECT count(*) FROM strings");
	assert_int_equal(strings_b, profile__str_count(want) - 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM tasks"), profile__task_count(want));
	assert_int_equal(
		raw_int(path, "SELECT count(*) FROM strings WHERE CAST(s AS TEXT) LIKE '%olda%'"),
		0);
	got = query(sib, &f);
	assert_same_samples(want, got);
	profile__free(got);

	/* The writer's cache learns of the reclaim: world a comes back correctly. */
	back = mkrandom(a, BASE_NS + 400 * WIN_NS, 20, 9);
	write_window(st, back);
	assert_int_equal(profile__merge(want, back), 0);
	got = query(st, &f);
	assert_same_samples(want, got);
	profile__free(got);
	f.from_ns = BASE_NS + 400 * WIN_NS;
	got = query(st, &f);
	assert_same_samples(back, got);
	profile__free(got);

	/* A small deletion leaves the (costly) reclaim for later. */
	assert_int_equal(store__retain(st, BASE_NS + 252 * WIN_NS, 50 * WIN_NS, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 2);
	assert_int_equal(rs.stacks_deleted, 0);

	store__close(sib);
	store__close(st);
	profile__free(back);
	profile__free(want);
	profile__free(old_all);
	for (i = 0; i < 400; i++)
		profile__free(wins[i]);
	world_free(a);
	world_free(b);
}

static void test_retain_by_size(void **state)
{
	struct world *w = world_new("sz", 3000, 3000, 30, 200);
	struct store_retain_stats rs;
	char path[PATH_MAX];
	struct profile *p;
	int64_t used0, used1, pages0, first, count, last;
	struct store *st;
	size_t i;

	(void)state;
	st = open_writer(tpath(path, "size.db"));
	for (i = 0; i < 300; i++) {
		p = mkrandom(w, BASE_NS + i * WIN_NS, 400, 1000);
		write_window(st, p);
		profile__free(p);
	}
	used0 = raw_int(path, "SELECT (SELECT page_count FROM pragma_page_count) -"
			      " (SELECT freelist_count FROM pragma_freelist_count)") *
		4096;
	pages0 = raw_int(path, "PRAGMA page_count");
	assert_true(used0 > 500000);

	assert_int_equal(store__retain(st, BASE_NS + 300 * WIN_NS, 0, (uint64_t)used0 / 2, &rs), 0);
	assert_true(rs.windows_deleted > 100 && rs.windows_deleted < 300);
	used1 = raw_int(path, "SELECT (SELECT page_count FROM pragma_page_count) -"
			      " (SELECT freelist_count FROM pragma_freelist_count)") *
		4096;
	assert_true(used1 <= used0 / 2);
	/* The free pages went back to the file system. */
	assert_true(raw_int(path, "PRAGMA page_count") < pages0 * 3 / 4);
	/* The newest windows are the ones left, without holes. */
	count = raw_int(path, "SELECT count(*) FROM windows");
	first = raw_int(path, "SELECT min(start_ns) FROM windows");
	last = raw_int(path, "SELECT max(start_ns) FROM windows");
	assert_int_equal(count, 300 - (int64_t)rs.windows_deleted);
	assert_int_equal(last, (int64_t)(BASE_NS + 299 * WIN_NS));
	assert_int_equal((uint64_t)(last - first), (uint64_t)(count - 1) * WIN_NS);
	/* Writing goes on. */
	p = mkrandom(w, BASE_NS + 300 * WIN_NS, 400, 1000);
	write_window(st, p);
	profile__free(p);
	store__close(st);
	world_free(w);
}

/* ---- build ids of modules --------------------------------------------------------- */

/* String id of @s in @p, 0 when @p does not have it. */
static uint32_t find_str(const struct profile *p, const char *s)
{
	uint32_t i, n = profile__str_count(p);

	for (i = 1; i < n; i++) {
		if (!strcmp(profile__str(p, i), s))
			return i;
	}
	return 0;
}

/* Records @build_id for @module in @p; @module must be the module of one of its frames. */
static void set_build_id(struct profile *p, const char *module, const char *build_id)
{
	uint32_t i, m = find_str(p, module);
	bool used = false;

	for (i = 0; i < profile__frame_count(p) && m; i++)
		used = used || profile__frame(p, i)->module == m;
	if (!used)
		fail_msg("no frame of module %s", module);
	assert_int_equal(profile__set_build_id(p, m, intern(p, build_id)), 0);
}

/* Checks @module's build id in @p: @want, or none when @want is NULL. */
static void expect_build_id(const struct profile *p, const char *module, const char *want)
{
	uint32_t m = find_str(p, module), b;

	assert_true(m != 0);
	b = profile__build_id(p, m);
	if (!want) {
		if (b)
			fail_msg("%s: build id %s, want none", module, profile__str(p, b));
		return;
	}
	if (!b)
		fail_msg("%s: no build id, want %s", module, want);
	assert_string_equal(profile__str(p, b), want);
}

/* Modules of @p that have a build id. */
static uint32_t build_id_count(const struct profile *p)
{
	uint32_t i, n = 0;

	for (i = 1; i < profile__str_count(p); i++)
		n += profile__build_id(p, i) != 0;
	return n;
}

/* The build id the builds table holds for @module (text), "" when none. */
static void raw_build_id(const char *path, const char *module, char *out, size_t len)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT CAST(b.s AS TEXT) FROM builds JOIN strings m ON m.id = builds.module"
		 " JOIN strings b ON b.id = builds.build_id WHERE CAST(m.s AS TEXT) = '%s'",
		 module);
	raw_text(path, sql, out, len);
}

/* A window of every stack of @w once (stack i run by task i % ntasks). */
static struct profile *mkall(const struct world *w, uint64_t start)
{
	struct wsample *s = calloc(w->nstacks, sizeof(*s));
	struct profile *p;
	size_t i;

	assert_non_null(s);
	for (i = 0; i < w->nstacks; i++)
		s[i] = (struct wsample){(uint32_t)i, (uint32_t)(i % w->ntasks), 1 + i % 5};
	p = mkwindow(w, start, s, w->nstacks);
	free(s);
	return p;
}

static int64_t dict_gen(const char *path)
{
	return raw_int(path, "SELECT value FROM meta WHERE key = 'dict_gen'");
}

static void test_build_ids_roundtrip(void **state)
{
	struct world *w = world_new("bi", 60, 40, 8, 4);
	struct profile *w1, *w2, *w3, *w4, *got;
	struct store_filter f = {0};
	char path[PATH_MAX], text[64];
	struct store *st;
	int64_t gen;

	(void)state;
	st = open_writer(tpath(path, "bi.db"));
	w1 = mkall(w, BASE_NS);
	set_build_id(w1, "libbi1.so", "aaaa0001");
	set_build_id(w1, "libbi2.so", "bbbb0002");
	/* A module no frame names is not stored. */
	assert_int_equal(profile__set_build_id(w1, intern(w1, "libnone.so"), intern(w1, "ffff")),
			 0);
	write_window(st, w1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 2);
	raw_build_id(path, "libbi1.so", text, sizeof(text));
	assert_string_equal(text, "aaaa0001");
	got = query(st, &f);
	assert_same_samples(w1, got);
	expect_build_id(got, "libbi1.so", "aaaa0001");
	expect_build_id(got, "libbi2.so", "bbbb0002");
	expect_build_id(got, "libbi3.so", NULL);
	assert_int_equal(build_id_count(got), 2);
	assert_int_equal(find_str(got, "libnone.so"), 0);
	profile__free(got);

	/* Another build id for libbi1.so: the first stays; a new module gets its row. */
	w2 = mkall(w, BASE_NS + WIN_NS);
	set_build_id(w2, "libbi1.so", "cccc0003");
	set_build_id(w2, "libbi3.so", "dddd0004");
	write_window(st, w2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 3);
	raw_build_id(path, "libbi1.so", text, sizeof(text));
	assert_string_equal(text, "aaaa0001");
	assert_int_equal(raw_int(path, "SELECT count(*) FROM strings WHERE s = CAST('cccc0003' AS"
				       " BLOB)"),
			 0);
	got = query(st, &f);
	expect_build_id(got, "libbi1.so", "aaaa0001");
	expect_build_id(got, "libbi2.so", "bbbb0002");
	expect_build_id(got, "libbi3.so", "dddd0004");
	assert_int_equal(build_id_count(got), 3);
	profile__free(got);
	/* The second window alone: its modules' build ids as the database has them. */
	f.from_ns = BASE_NS + WIN_NS;
	got = query(st, &f);
	expect_build_id(got, "libbi1.so", "aaaa0001");
	expect_build_id(got, "libbi3.so", "dddd0004");
	profile__free(got);
	store__close(st);

	/* A new writer loads the build ids into its mirror: nothing is inserted twice. */
	st = open_writer(path);
	w3 = mkall(w, BASE_NS + 2 * WIN_NS);
	set_build_id(w3, "libbi1.so", "eeee0005");
	set_build_id(w3, "libbi3.so", "dddd0004");
	gen = dict_gen(path);
	write_window(st, w3);
	assert_int_equal(dict_gen(path), gen);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 3);
	/* A window whose only new row is a builds row (its string is stored) bumps dict_gen. */
	w4 = mkall(w, BASE_NS + 3 * WIN_NS);
	set_build_id(w4, "libbi4.so", "dddd0004");
	write_window(st, w4);
	assert_int_equal(dict_gen(path), gen + 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 4);
	store__close(st);

	/* A reader gets them too. */
	st = open_reader(path);
	f.from_ns = 0;
	got = query(st, &f);
	expect_build_id(got, "libbi1.so", "aaaa0001");
	expect_build_id(got, "libbi2.so", "bbbb0002");
	expect_build_id(got, "libbi3.so", "dddd0004");
	expect_build_id(got, "libbi4.so", "dddd0004");
	assert_int_equal(build_id_count(got), 4);
	profile__free(got);
	store__close(st);

	profile__free(w4);
	profile__free(w3);
	profile__free(w2);
	profile__free(w1);
	world_free(w);
}

/*
 * Retention: builds rows go with the last frame of their module, and their
 * strings with them; a module that windows left still name keeps its row and
 * its build id string, which no frame or task names.
 */
static void test_build_ids_retain(void **state)
{
	struct world *a = world_new("ra", 60, 40, 8, 4), *b = world_new("rb", 60, 40, 8, 4);
	struct store_retain_stats rs;
	struct store_filter f = {0};
	char path[PATH_MAX], text[64];
	struct profile *p, *got;
	struct store *st;
	int64_t gen;
	size_t i;

	(void)state;
	/* libshared.so is a module of both worlds. */
	for (i = 1; i < 60; i += 7) {
		snprintf(a->frames[i].module, sizeof(a->frames[i].module), "libshared.so");
		snprintf(b->frames[i].module, sizeof(b->frames[i].module), "libshared.so");
	}
	st = open_writer(tpath(path, "biret.db"));
	for (i = 0; i < 20; i++) {
		p = mkall(i < 10 ? a : b, BASE_NS + i * WIN_NS);
		if (i < 10) {
			set_build_id(p, "libra1.so", "a1a1");
			set_build_id(p, "libra2.so", "a2a2");
			set_build_id(p, "libshared.so", "5a5a");
		} else {
			set_build_id(p, "librb1.so", "b1b1");
			set_build_id(p, "libshared.so", "6b6b");
		}
		write_window(st, p);
		profile__free(p);
	}
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 4);

	/* World a's windows go: its modules' rows and build ids too, not libshared.so's. */
	gen = dict_gen(path);
	assert_int_equal(store__retain(st, BASE_NS + 30 * WIN_NS + 1, 20 * WIN_NS, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 10);
	assert_true(dict_gen(path) > gen);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM strings WHERE s IN (CAST('a1a1' AS"
				       " BLOB), CAST('a2a2' AS BLOB), CAST('libra1.so' AS BLOB))"),
			 0);
	raw_build_id(path, "libshared.so", text, sizeof(text));
	assert_string_equal(text, "5a5a");
	raw_build_id(path, "librb1.so", text, sizeof(text));
	assert_string_equal(text, "b1b1");
	got = query(st, &f);
	expect_build_id(got, "libshared.so", "5a5a");
	expect_build_id(got, "librb1.so", "b1b1");
	assert_int_equal(build_id_count(got), 2);
	profile__free(got);

	/* The writer's mirror learnt of it: world a's build ids are stored again. */
	p = mkall(a, BASE_NS + 20 * WIN_NS);
	set_build_id(p, "libra1.so", "a1a1");
	set_build_id(p, "libshared.so", "7c7c");
	write_window(st, p);
	profile__free(p);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 3);
	f.from_ns = BASE_NS + 20 * WIN_NS;
	got = query(st, &f);
	expect_build_id(got, "libra1.so", "a1a1");
	expect_build_id(got, "libshared.so", "5a5a");
	profile__free(got);

	/* Every window goes: so does every row of builds and strings. */
	assert_int_equal(store__retain(st, BASE_NS + 100 * WIN_NS, WIN_NS, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 11);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM frames"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM strings"), 0);
	store__close(st);
	world_free(b);
	world_free(a);
}

/* ---- packing of finished hours ---------------------------------------------------- */

#define HOUR_NS	 (3600 * SEC)
#define PACK_H0	 (1763694000ULL / 3600 * 3600 * SEC) /* an hour boundary */
#define PACK_WIN (30 * SEC)
#define PACK_N	 (3 * 120 + 20) /* three whole hours and 10 minutes */

static struct profile *merge_range(struct profile **wins, size_t n, uint64_t from, uint64_t to)
{
	struct profile *p = profile__new();
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		const struct profile_meta *m = profile__meta_c(wins[i]);

		if (m->end_ns > from && (!to || m->start_ns < to))
			assert_int_equal(profile__merge(p, wins[i]), 0);
	}
	return p;
}

static void test_pack_hours(void **state)
{
	struct world *w = world_new("pk", 200, 150, 20, 12);
	struct profile *wins[PACK_N + 1], *want, *got, *late;
	struct store_process *v0, *v1;
	struct store_point *p0, *p1;
	struct store_retain_stats rs;
	struct store_filter f = {0};
	struct store_info info;
	char path[PATH_MAX];
	size_t i, n0, n1, np0;
	struct store *st;

	(void)state;
	st = open_writer(tpath(path, "pack.db"));
	for (i = 0; i < PACK_N; i++) {
		wins[i] = mkrandom(w, PACK_H0 + i * PACK_WIN, 1 + rnd_below(30), 20);
		profile__meta(wins[i])->end_ns = PACK_H0 + (i + 1) * PACK_WIN;
		profile__meta(wins[i])->lost.samples = i;
		write_window(st, wins[i]);
	}
	f.pid = 1003;
	assert_int_equal(store__timeline(st, &f, 7 * 60 * SEC, &p0, &n0), 0);
	f.pid = 0;
	assert_int_equal(store__processes(st, &f, &v0, &np0), 0);

	/* 3 h 10 min: hours 0, 1 and 2 are over, the last is not. */
	assert_int_equal(store__retain(st, PACK_H0 + 3 * HOUR_NS + 10 * 60 * SEC, 0, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 3 + 20);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows WHERE nwin = 120"), 3);
	assert_int_equal(raw_int(path, "SELECT sum(nwin) FROM windows"), PACK_N);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'max_window_ns'"),
			 (int64_t)HOUR_NS);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.windows, PACK_N);
	assert_int_equal(info.first_ns, PACK_H0);
	/* Schema 3 keeps pairs inside the blobs: the series table stays empty. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM series"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows WHERE nwin > 1 AND"
				       " substr(data, 1, 1) = x'04'"),
			 3);

	/* Everything, and ranges that cut packed hours, window by window. */
	want = merge_range(wins, PACK_N, 0, 0);
	got = query(st, &f);
	assert_same_samples(want, got);
	assert_same_meta(want, got);
	profile__free(got);
	profile__free(want);
	f.from_ns = PACK_H0 + 10 * 60 * SEC + 1;
	f.to_ns = PACK_H0 + 70 * 60 * SEC;
	want = merge_range(wins, PACK_N, f.from_ns, f.to_ns);
	got = query(st, &f);
	assert_same_samples(want, got);
	assert_same_meta(want, got);
	profile__free(got);
	profile__free(want);
	f.from_ns = PACK_H0 + 2 * HOUR_NS + 59 * 60 * SEC;
	f.to_ns = 0;
	want = merge_range(wins, PACK_N, f.from_ns, 0);
	got = query(st, &f);
	assert_same_samples(want, got);
	profile__free(got);
	profile__free(want);

	/* Each window of a packed hour, alone: its span, rate, lost counters and samples. */
	for (i = 0; i < 3 * 120; i += 7) {
		const struct profile_meta *m = profile__meta_c(wins[i]);

		f = (struct store_filter){.from_ns = m->start_ns, .to_ns = m->end_ns};
		got = query(st, &f);
		assert_same_samples(wins[i], got);
		assert_same_meta(wins[i], got);
		profile__free(got);
		/* Any instant inside it finds it too. */
		f = (struct store_filter){.from_ns = m->start_ns + PACK_WIN / 2,
					  .to_ns = m->start_ns + PACK_WIN / 2 + 1};
		got = query(st, &f);
		assert_same_samples(wins[i], got);
		profile__free(got);
	}
	f = (struct store_filter){0};

	/* Timeline and processes are the same as before packing. */
	f = (struct store_filter){.pid = 1003};
	assert_int_equal(store__timeline(st, &f, 7 * 60 * SEC, &p1, &n1), 0);
	assert_int_equal(n1, n0);
	assert_memory_equal(p1, p0, n0 * sizeof(*p0));
	free(p0);
	free(p1);
	f.pid = 0;
	assert_int_equal(store__processes(st, &f, &v1, &n1), 0);
	assert_int_equal(n1, np0);
	assert_true(np0 > 5);
	for (i = 0; i < np0; i++) {
		assert_int_equal(v1[i].pid, v0[i].pid);
		assert_int_equal(v1[i].samples, v0[i].samples);
		assert_string_equal(v1[i].comm, v0[i].comm);
	}
	store__processes_free(v0, np0);
	store__processes_free(v1, n1);

	/* A late window in a packed hour stays single and is found. */
	late = mkrandom(w, PACK_H0 + 5 * 60 * SEC, 3, 3);
	write_window(st, late);
	wins[PACK_N] = late;
	f = (struct store_filter){0};
	want = merge_range(wins, PACK_N + 1, 0, 0);
	got = query(st, &f);
	assert_same_samples(want, got);
	profile__free(got);
	profile__free(want);
	assert_int_equal(store__retain(st, PACK_H0 + 3 * HOUR_NS + 10 * 60 * SEC, 0, 0, &rs), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 3 + 20 + 1);

	/* Age retention removes a packed hour once all of it is old. */
	assert_int_equal(store__retain(st, PACK_H0 + 90 * 60 * SEC, 60 * 60 * SEC, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 1); /* the late window only */
	assert_int_equal(store__retain(st, PACK_H0 + 121 * 60 * SEC, 60 * 60 * SEC, 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 120);
	f = (struct store_filter){0};
	want = merge_range(wins + 120, PACK_N - 120, 0, 0);
	got = query(st, &f);
	assert_same_samples(want, got);
	profile__free(got);
	profile__free(want);
	store__close(st);

	/* A damaged packed row is reported, not crashed on. */
	raw_flip_blob(path, (int)raw_int(path, "SELECT min(id) FROM windows WHERE nwin > 1"));
	st = open_reader(path);
	got = profile__new();
	assert_int_equal(store__query(st, &f, got), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "corrupt"));
	profile__free(got);
	store__close(st);
	/* A sound packed row whose windows disagree with its sample count. */
	raw_exec(path, "UPDATE windows SET samples = samples + 1 WHERE id ="
		       " (SELECT max(id) FROM windows WHERE nwin > 1)");
	st = open_reader(path);
	got = profile__new();
	f = (struct store_filter){.from_ns = PACK_H0 + 2 * HOUR_NS + 10 * 60 * SEC,
				  .to_ns = PACK_H0 + 2 * HOUR_NS + 11 * 60 * SEC};
	assert_int_equal(store__query(st, &f, got), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "samples"));
	profile__free(got);
	store__close(st);
	f = (struct store_filter){0};

	/* A size limit below anything: every row goes, and with it every dictionary row. */
	st = open_writer(path);
	assert_int_equal(store__retain(st, PACK_H0 + 4 * HOUR_NS, 0, 1, &rs), 0);
	assert_int_equal(rs.windows_deleted, PACK_N - 120);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.windows, 0);
	assert_int_equal(info.stacks, 0);
	assert_int_equal(raw_int(path,
				 "SELECT (SELECT count(*) FROM series) + (SELECT count(*) FROM"
				 " tasks) + (SELECT count(*) FROM frames) + (SELECT count(*)"
				 " FROM strings)"),
			 0);
	store__close(st);

	for (i = 0; i <= PACK_N; i++)
		profile__free(wins[i]);
	world_free(w);
}

/* A corrupt single window is left out of the packing, and still reported. */
static void test_pack_skips_corrupt(void **state)
{
	struct world *w = world_new("pc", 50, 40, 10, 4);
	struct store_filter f = {0};
	char path[PATH_MAX];
	struct profile *p;
	struct store *st;
	int i;

	(void)state;
	st = open_writer(tpath(path, "packbad.db"));
	for (i = 0; i < 120; i++) {
		p = mkrandom(w, PACK_H0 + (uint64_t)i * PACK_WIN, 5, 5);
		profile__meta(p)->end_ns = PACK_H0 + (uint64_t)(i + 1) * PACK_WIN;
		write_window(st, p);
		profile__free(p);
	}
	raw_exec(path, "UPDATE windows SET samples = samples + 1 WHERE id = 7");
	assert_int_equal(store__retain(st, PACK_H0 + 2 * HOUR_NS, 0, 0, NULL), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 2);
	assert_int_equal(raw_int(path, "SELECT nwin FROM windows WHERE id = 7"), 1);
	p = profile__new();
	assert_int_equal(store__query(st, &f, p), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "window 7 "));
	profile__free(p);
	f.from_ns = PACK_H0 + 7 * PACK_WIN;
	assert_true(query_total(st, &f) > 0);
	store__close(st);
	world_free(w);
}

/* ---- migration from schema version 1 -------------------------------------------- */

/* The test's own encoder of the documented blob formats. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(v | 0x80);
	p[n++] = (uint8_t)v;
	return n;
}

static void bind_stack_blob(sqlite3_stmt *s, int col, const int64_t *frames, size_t n)
{
	uint8_t buf[256];
	int64_t prev = 0, d;
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		d = frames[i] - prev;
		len += put_varint(buf + len, d >= 0 ? (uint64_t)d * 2 : (uint64_t)(-d) * 2 - 1);
		prev = frames[i];
	}
	sqlite3_bind_blob(s, col, buf, (int)len, SQLITE_TRANSIENT);
}

static void bind_window_blob(sqlite3_stmt *s, int col, const int64_t *series,
			     const uint64_t *counts, size_t n)
{
	uint8_t raw[512], z[1024];
	size_t len = 0, zl, i;

	len += put_varint(raw, n);
	for (i = 0; i < n; i++)
		len += put_varint(raw + len, (uint64_t)(series[i] - (i ? series[i - 1] : 0)));
	for (i = 0; i < n; i++)
		len += put_varint(raw + len, counts[i]);
	z[0] = 1;
	zl = ZSTD_compress(z + 1, sizeof(z) - 1, raw, len, 3);
	assert_false(ZSTD_isError(zl));
	sqlite3_bind_blob(s, col, z, (int)zl + 1, SQLITE_TRANSIENT);
}

static char *read_text(const char *path)
{
	size_t len;
	unsigned char *b = read_all(path, &len);

	b[len] = '\0';
	return (char *)b;
}

/*
 * A version-1 database with two windows, built by hand. Returns the profile
 * it holds: task pid 42 "old" /bin/old /old.slice; stacks main>work (id 1)
 * and main>idle (id 2) with 5 and 7 samples in window 1, 11 of stack 1 in 2.
 */
static struct profile *build_v1(const char *path)
{
	static const int64_t st1[] = {1, 2}, st2[] = {1, 3};
	static const int64_t s_w1[] = {1, 2}, s_w2[] = {1};
	static const uint64_t c_w1[] = {5, 7}, c_w2[] = {11};
	char *schema = read_text(FIXTURE_DIR "/storage/v1_schema.sql");
	struct wtask t = {42, 42, 99, "old", "/bin/old", "/old.slice"};
	struct world *w = world_new("v1", 3, 2, 2, 1);
	struct wsample s1[2] = {{0, 0, 5}, {1, 0, 7}}, s2[1] = {{0, 0, 11}};
	struct profile *want, *p;
	sqlite3_stmt *s;
	sqlite3 *db;
	int i;

	raw_exec(path, schema);
	free(schema);
	raw_exec(path,
		 "INSERT INTO strings(id, s) VALUES (1, CAST('main' AS BLOB)),"
		 " (2, CAST('work' AS BLOB)), (3, CAST('idle' AS BLOB)), (4, CAST('app' AS BLOB)),"
		 " (5, CAST('old' AS BLOB)), (6, CAST('/bin/old' AS BLOB)),"
		 " (7, CAST('/old.slice' AS BLOB)), (8, CAST('main.c' AS BLOB));"
		 "INSERT INTO frames VALUES (1, 1, 4, 8, 10, 4096, 0), (2, 2, 4, 8, 20, 8192, 0),"
		 " (3, 3, 0, 0, 0, -16, 1);"
		 "INSERT INTO tasks VALUES (1, 42, 42, 99, 5, 6, 7);"
		 "INSERT INTO series VALUES (1, 1, 1), (2, 1, 2);");
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO stacks(id, frames) VALUES (?1, ?2)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(s, 1, 1);
	bind_stack_blob(s, 2, st1, 2);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_reset(s);
	sqlite3_bind_int(s, 1, 2);
	bind_stack_blob(s, 2, st2, 2);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "INSERT INTO windows VALUES (NULL, ?1, ?2, 19, 52631578,"
				   " ?3, 1, 2, 3, 4, 5, 6, 7, 8, ?4)",
				   -1, &s, NULL),
		SQLITE_OK);
	for (i = 0; i < 2; i++) {
		sqlite3_bind_int64(s, 1, (int64_t)(BASE_NS + (uint64_t)i * WIN_NS));
		sqlite3_bind_int64(s, 2,
				   (int64_t)(BASE_NS + (uint64_t)i * WIN_NS + (i ? 5 : 10) * SEC));
		sqlite3_bind_int64(s, 3, i ? 11 : 12);
		bind_window_blob(s, 4, i ? s_w2 : s_w1, i ? c_w2 : c_w1, i ? 1 : 2);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* The same content through the profile model. */
	snprintf(w->frames[0].name, sizeof(w->frames[0].name), "main");
	snprintf(w->frames[1].name, sizeof(w->frames[1].name), "work");
	snprintf(w->frames[2].name, sizeof(w->frames[2].name), "idle");
	for (i = 0; i < 3; i++) {
		snprintf(w->frames[i].module, sizeof(w->frames[i].module), "%s",
			 i < 2 ? "app" : "");
		snprintf(w->frames[i].file, sizeof(w->frames[i].file), "%s", i < 2 ? "main.c" : "");
		w->frames[i].line = i < 2 ? 10 * (uint32_t)(i + 1) : 0;
		w->frames[i].addr = i < 2 ? 4096 * (uint64_t)(i + 1) : (uint64_t)-16;
		w->frames[i].kind = i < 2 ? 0 : 1;
		w->frames[i].start_line = 0; /* schema 1 had none */
	}
	w->depth[0] = w->depth[1] = 2;
	w->stacks[0][0] = 0;
	w->stacks[0][1] = 1;
	w->stacks[1][0] = 0;
	w->stacks[1][1] = 2;
	w->tasks[0] = t;
	want = mkwindow(w, BASE_NS, s1, 2);
	p = mkwindow(w, BASE_NS + WIN_NS, s2, 1);
	profile__meta(p)->end_ns = BASE_NS + WIN_NS + 5 * SEC;
	assert_int_equal(profile__merge(want, p), 0);
	profile__free(p);
	profile__meta(want)->lost = (struct profile_lost){2, 4, 6, 8, 10, 12, 14, 16};
	world_free(w);
	return want;
}

static void test_migrate_v1(void **state)
{
	struct store_filter f = {0};
	struct profile *want, *got, *more;
	struct world *w = world_new("mig", 10, 5, 4, 2);
	unsigned char *before, *after;
	size_t lb, la;
	char path[PATH_MAX], text[64];
	struct store_info info;
	struct store *st;

	(void)state;
	tpath(path, "v1.db");
	want = build_v1(path);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 1);

	/* A reader does not migrate: it asks for the daemon, and changes nothing. */
	before = read_all(path, &lb);
	expect_open_fails(path, false, ENOTSUP, "older ember");
	after = read_all(path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(after);
	free(before);

	st = open_writer(path);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.schema_version, 4);
	assert_int_equal(info.windows, 2);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 4);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'max_window_ns'"),
			 (int64_t)(10 * SEC));
	assert_int_equal(raw_int(path, "SELECT sum(nwin) FROM windows"), 2);
	raw_text(path,
		 "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'windows'",
		 text, sizeof(text));
	assert_string_equal(text, "windows_end");
	/* Migrations run in order: 3 -> 4 added the (empty) builds table. */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 0);
	got = query(st, &f);
	assert_same_samples(want, got);
	assert_same_meta(want, got);
	profile__free(got);

	/* Range query through the new index and bound: the 5 s window alone. */
	f.from_ns = BASE_NS + 12 * SEC;
	got = query(st, &f);
	assert_int_equal(profile__total(got), 11);
	profile__free(got);

	/* The migrated database takes new windows; ids continue after the old ones. */
	more = mkrandom(w, BASE_NS + 2 * WIN_NS, 5, 3);
	write_window(st, more);
	assert_true(raw_int(path, "SELECT min(id) FROM strings WHERE CAST(s AS TEXT) LIKE 'mig%'") >
		    8);
	f.from_ns = BASE_NS + 2 * WIN_NS;
	got = query(st, &f);
	assert_same_samples(more, got);
	profile__free(got);
	store__close(st);

	/* Now a reader opens it. */
	st = open_reader(path);
	store__close(st);
	profile__free(more);
	profile__free(want);
	world_free(w);
}

/* ---- migration from schema version 2: a database the schema 2 writer made -------- */

/* "query FROM TO PID" of v2_expected.txt, run on @st: its meta line and sample lines. */
static char **v2_answer(struct store *st, const char *query_line, size_t *n)
{
	struct store_filter f = {0};
	unsigned long long from, to;
	const struct profile_meta *m;
	struct profile *p;
	unsigned pid;
	char **lines, **all;
	size_t i;

	assert_int_equal(sscanf(query_line, "query %llu %llu %u", &from, &to, &pid), 3);
	f.from_ns = from;
	f.to_ns = to;
	f.pid = pid;
	p = query(st, &f);
	lines = canon(p, n);
	all = calloc(*n + 1, sizeof(*all));
	assert_non_null(all);
	m = profile__meta_c(p);
	assert_true(asprintf(&all[0],
			     "meta %" PRIu64 " %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %" PRIu64
			     " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
			     " %" PRIu64,
			     m->start_ns, m->end_ns, m->freq_hz, m->period_ns, m->lost.samples,
			     m->lost.kstack_errors, m->lost.ustack_errors, m->lost.stack_collisions,
			     m->lost.stack_map_full, m->lost.count_map_full, m->lost.ringbuf_full,
			     m->lost.truncated) > 0);
	for (i = 0; i < *n; i++)
		all[i + 1] = lines[i];
	free(lines);
	profile__free(p);
	(*n)++;
	return all;
}

/*
 * Runs the queries of v2_expected.txt whose FROM is at least @min_from on @st
 * and compares the answers with what the schema 2 code gave. Returns how many
 * ran.
 */
static int expect_v2_answers(struct store *st, uint64_t min_from)
{
	char *text = read_text(FIXTURE_DIR "/storage/v2_expected.txt"), *save = NULL, *line;
	char **got = NULL;
	size_t n = 0, i = 0;
	unsigned long long from;
	bool skip = false;
	int ran = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (!strncmp(line, "query ", 6)) {
			assert_int_equal(sscanf(line, "query %llu", &from), 1);
			skip = from < min_from;
			if (!skip) {
				got = v2_answer(st, line, &n);
				ran++;
			}
			i = 0;
		} else if (!strcmp(line, "end")) {
			if (!skip) {
				assert_int_equal(i, n);
				free_lines(got, n);
			}
		} else if (!skip) {
			assert_true(i < n);
			assert_string_equal(got[i], line);
			i++;
		}
	}
	free(text);
	return ran;
}

static int64_t blobs_of(const char *path, int encoding)
{
	char sql[96];

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM windows WHERE substr(data, 1, 1) = x'%02x'", encoding);
	return raw_int(path, sql);
}

static void test_migrate_v2(void **state)
{
	char *dump = read_text(FIXTURE_DIR "/storage/v2_sample.sql");
	struct store_info info;
	struct store_retain_stats rs;
	char path[PATH_MAX];
	struct store *st;
	uint64_t now;

	(void)state;
	raw_exec(tpath(path, "v2.db"), dump);
	free(dump);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	assert_int_equal(blobs_of(path, 2), 1);
	assert_int_equal(blobs_of(path, 1), 21);
	expect_open_fails(path, false, ENOTSUP, "older ember");

	st = open_writer(path);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.schema_version, 4);
	assert_int_equal(info.windows, 141);
	assert_int_equal(expect_v2_answers(st, 0), 6);

	/* The next hour's single windows of schema 2 are packed the new way. */
	now = PACK_H0 + 2 * HOUR_NS + 2 * 60 * SEC;
	assert_int_equal(store__retain(st, now, 0, 0, &rs), 0);
	assert_int_equal(blobs_of(path, 4), 1);
	assert_int_equal(blobs_of(path, 2), 1);
	assert_int_equal(blobs_of(path, 1), 1);
	assert_int_equal(raw_int(path, "SELECT nwin FROM windows WHERE substr(data, 1, 1) = x'04'"),
			 20);
	assert_int_equal(expect_v2_answers(st, 0), 6);
	store__close(st);
	st = open_reader(path);
	assert_int_equal(expect_v2_answers(st, 0), 6);
	store__close(st);

	/* A reclaim while a schema 2 row is left keeps the series it names. */
	st = open_writer(path);
	raw_exec(path, "UPDATE meta SET value = 1000 WHERE key = 'deleted_since_reclaim'");
	assert_int_equal(store__retain(st, now, now - (PACK_H0 + 6 * 60 * SEC), 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 1);
	assert_int_equal(
		raw_int(path, "SELECT value FROM meta WHERE key = 'deleted_since_reclaim'"), 0);
	assert_true(raw_int(path, "SELECT count(*) FROM series") > 0);
	assert_int_equal(expect_v2_answers(st, PACK_H0 + 10 * 60 * SEC), 3);

	/* Once the last of them goes, the series table empties. */
	assert_int_equal(store__retain(st, now, now - (PACK_H0 + HOUR_NS + SEC), 0, &rs), 0);
	assert_int_equal(rs.windows_deleted, 120);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM series"), 0);
	assert_int_equal(blobs_of(path, 2), 0);
	assert_int_equal(expect_v2_answers(st, PACK_H0 + HOUR_NS), 1);
	store__close(st);
}

/* ---- migration from schema version 3: a database the schema 3 writer made -------- */

/* What fixtures/storage/v3_sample.sql holds, in canon() form. */
static const char *const v3_lines[] = {
	"0/0/0/[swapper/0][][] | [idle][[kernel.kallsyms]][]:0:ffffffff81000000:1; 11",
	"7/7/1234/[v3app][/usr/bin/v3app][/v3.slice] | [main][app][main.c]:10:1000:0;"
	" [work][app][main.c]:20:2000:0; 9",
	"7/7/1234/[v3app][/usr/bin/v3app][/v3.slice] | [main][app][main.c]:10:1000:0;"
	" [work][app][main.c]:20:2000:0; [memcpy][libc.so.6][]:0:9a000:0; 9",
};

static void expect_v3_content(struct store *st, uint64_t from, uint64_t to)
{
	struct store_filter f = {.from_ns = from, .to_ns = to};
	struct profile *p = query(st, &f);
	char **lines;
	size_t n, i;

	lines = canon(p, &n);
	assert_int_equal(n, sizeof(v3_lines) / sizeof(v3_lines[0]));
	for (i = 0; i < n; i++)
		assert_string_equal(lines[i], v3_lines[i]);
	assert_int_equal(profile__meta_c(p)->start_ns, BASE_NS);
	assert_int_equal(profile__meta_c(p)->end_ns, BASE_NS + 3 * WIN_NS);
	assert_int_equal(profile__meta_c(p)->lost.samples, 3);
	free_lines(lines, n);
	profile__free(p);
}

/* A window of the fixture's frames: main>work>memcpy in task pid 7, @count samples. */
static struct profile *v3_window(uint64_t start, uint64_t count)
{
	struct world *w = world_new("v3", 3, 1, 0, 1);
	struct wtask t = {7, 7, 1234, "v3app", "/usr/bin/v3app", "/v3.slice"};
	struct wsample s = {0, 0, count};
	struct profile *p;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(w->frames[i].name, sizeof(w->frames[i].name), "%s",
			 i == 0	  ? "main"
			 : i == 1 ? "work"
				  : "memcpy");
		snprintf(w->frames[i].module, sizeof(w->frames[i].module), "%s",
			 i < 2 ? "app" : "libc.so.6");
		snprintf(w->frames[i].file, sizeof(w->frames[i].file), "%s", i < 2 ? "main.c" : "");
		w->frames[i].line = i < 2 ? 10 * (uint32_t)(i + 1) : 0;
		w->frames[i].addr = i < 2 ? 0x1000 * (uint64_t)(i + 1) : 0x9a000;
		w->frames[i].kind = 0;
	}
	free(w->stacks[0]);
	w->stacks[0] = calloc(3, sizeof(uint32_t));
	assert_non_null(w->stacks[0]);
	w->stacks[0][1] = 1;
	w->stacks[0][2] = 2;
	w->depth[0] = 3;
	w->tasks[0] = t;
	p = mkwindow(w, start, &s, 1);
	world_free(w);
	return p;
}

static void test_migrate_v3(void **state)
{
	char *dump = read_text(FIXTURE_DIR "/storage/v3_sample.sql");
	struct store_filter f = {0};
	char path[PATH_MAX], text[128];
	struct store_info info;
	struct profile *p;
	struct store *st;

	(void)state;
	raw_exec(tpath(path, "v3.db"), dump);
	free(dump);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 3);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'builds'"),
			 0);
	expect_open_fails(path, false, ENOTSUP, "older ember");

	st = open_writer(path);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.schema_version, 4);
	assert_int_equal(info.windows, 3);
	assert_int_equal(raw_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 4);
	raw_text(path, "SELECT sql FROM sqlite_master WHERE name = 'builds'", text, sizeof(text));
	assert_string_equal(text,
			    "CREATE TABLE builds(module INTEGER PRIMARY KEY, build_id INTEGER NOT "
			    "NULL)");
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 0);
	expect_v3_content(st, 0, 0);

	/* New windows with build ids of modules the old rows name. */
	p = v3_window(BASE_NS + 3 * WIN_NS, 4);
	set_build_id(p, "app", "0123456789abcdef0123456789abcdef01234567");
	set_build_id(p, "libc.so.6", "76543210");
	write_window(st, p);
	profile__free(p);
	p = v3_window(BASE_NS + 4 * WIN_NS, 5);
	set_build_id(p, "libc.so.6", "deadbeef");
	write_window(st, p);
	profile__free(p);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM builds"), 2);
	/* The module strings of schema 3 are the ones the rows name. */
	assert_int_equal(
		raw_int(path, "SELECT count(*) FROM strings WHERE s = CAST('app' AS BLOB)"), 1);
	store__close(st);

	st = open_reader(path);
	expect_v3_content(st, 0, BASE_NS + 3 * WIN_NS);
	p = query(st, &f);
	assert_int_equal(profile__total(p), 29 + 9);
	expect_build_id(p, "app", "0123456789abcdef0123456789abcdef01234567");
	expect_build_id(p, "libc.so.6", "76543210");
	expect_build_id(p, "[kernel.kallsyms]", NULL);
	profile__free(p);
	/* The old windows alone name the same modules, so they get the build ids too. */
	f.to_ns = BASE_NS + 3 * WIN_NS;
	p = query(st, &f);
	expect_build_id(p, "app", "0123456789abcdef0123456789abcdef01234567");
	profile__free(p);
	store__close(st);
}

/* ---- files that are refused ------------------------------------------------------ */

/* Checks that both writer and reader refuse @path and leave it byte-identical. */
static void expect_refused(const char *path, int err, const char *needle)
{
	unsigned char *before, *after;
	char lock[PATH_MAX + 8];
	size_t lb, la;

	before = read_all(path, &lb);
	expect_open_fails(path, true, err, needle);
	expect_open_fails(path, false, err, needle);
	after = read_all(path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(after);
	free(before);
	/* A file refused by its header did not even get a lock file beside it. */
	if (err == EINVAL) {
		snprintf(lock, sizeof(lock), "%s.lock", path);
		(void)unlink(lock);
	}
}

/* An ember database with some windows, closed (checkpointed). */
static void make_db(const char *path, int nwin, size_t samples)
{
	struct world *w = world_new("mk", 500, 400, 20, 20);
	struct store *st = open_writer(path);
	struct profile *p;
	int i;

	for (i = 0; i < nwin; i++) {
		p = mkrandom(w, BASE_NS + (uint64_t)i * WIN_NS, samples, 100);
		write_window(st, p);
		profile__free(p);
	}
	store__close(st);
	world_free(w);
}

static void test_refuse_foreign_and_corrupt(void **state)
{
	char path[PATH_MAX], lock[PATH_MAX + 8];
	unsigned char garbage[8192], *b;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (unsigned char)rnd();
	write_all(tpath(path, "garbage.db"), garbage, sizeof(garbage));
	expect_refused(path, EINVAL, "not an ember database");
	snprintf(lock, sizeof(lock), "%s.lock", path);
	assert_int_equal(access(lock, F_OK), -1);

	write_all(tpath(path, "text.db"), "hello\n", 6);
	expect_refused(path, EINVAL, "not an ember database");

	/* Another program's SQLite database. */
	tpath(path, "foreign.db");
	raw_exec(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	expect_refused(path, EINVAL, "another program");
	tpath(path, "foreign-appid.db");
	raw_exec(path, "PRAGMA application_id = 1234; CREATE TABLE meta(key, value);");
	expect_refused(path, EINVAL, "another program");

	/* Newer schema. */
	tpath(path, "newer.db");
	make_db(path, 2, 20);
	raw_exec(path, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
	expect_refused(path, ENOTSUP, "newer ember");

	/* Truncated: half of the pages, and the first 50 bytes. */
	tpath(path, "trunc.db");
	make_db(path, 40, 200);
	b = read_all(path, &len);
	assert_true(len >= 8 * 4096);
	write_all(path, b, len / 4096 / 2 * 4096);
	expect_refused(path, EINVAL, "truncated");
	write_all(path, b, 50);
	expect_refused(path, EINVAL, "truncated");
	free(b);

	/* Garbage over a page in the middle: the writer's check finds it. */
	tpath(path, "corrupt.db");
	make_db(path, 40, 200);
	b = read_all(path, &len);
	for (i = 0; i < 4096; i++)
		b[len / 4096 / 2 * 4096 + i] = (unsigned char)rnd();
	write_all(path, b, len);
	free(b);
	b = read_all(path, &len);
	expect_open_fails(path, true, EINVAL, "corrupt");
	{
		size_t la;
		unsigned char *a = read_all(path, &la);

		assert_int_equal(la, len);
		assert_memory_equal(a, b, len);
		free(a);
	}
	free(b);

	/* Not a file. */
	tpath(path, "dir.db");
	assert_int_equal(mkdir(path, 0700), 0);
	expect_open_fails(path, true, EINVAL, "not a regular file");
}

static void test_corrupt_window_blob(void **state)
{
	struct store_filter f = {0};
	int64_t stacks;
	char path[PATH_MAX];
	struct store_process *v;
	struct store_point *pts;
	struct profile *p;
	struct store *st;
	size_t n;

	(void)state;
	tpath(path, "blob.db");
	make_db(path, 5, 50);

	/* Truncated blob. */
	raw_exec(path, "UPDATE windows SET data = substr(data, 1, length(data) - 3) WHERE id = 2");
	st = open_reader(path);
	p = profile__new();
	assert_int_equal(store__query(st, &f, p), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "window 2 "));
	assert_non_null(strstr(store__errmsg(st), "corrupt"));
	assert_int_equal(store__processes(st, &f, &v, &n), -EINVAL);
	/* Ranges around it still work; an unfiltered timeline does not decode. */
	f.from_ns = BASE_NS + 2 * WIN_NS;
	profile__free(p);
	p = profile__new();
	assert_int_equal(store__query(st, &f, p), 0);
	assert_true(profile__total(p) > 0);
	f.from_ns = 0;
	assert_int_equal(store__timeline(st, &f, WIN_NS, &pts, &n), 0);
	assert_int_equal(n, 5);
	free(pts);
	store__close(st);
	profile__free(p);

	/* A flipped byte inside the compressed data: the checksum catches it. */
	raw_flip_blob(path, 3);
	/* A sound blob whose counts disagree with the window's sample count. */
	raw_exec(path, "UPDATE windows SET samples = samples + 1 WHERE id = 4");
	st = open_reader(path);
	p = profile__new();
	f.from_ns = BASE_NS + 2 * WIN_NS;
	f.to_ns = BASE_NS + 3 * WIN_NS;
	assert_int_equal(store__query(st, &f, p), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "window 3 "));
	profile__free(p);
	p = profile__new();
	f.from_ns = BASE_NS + 3 * WIN_NS;
	f.to_ns = BASE_NS + 4 * WIN_NS;
	assert_int_equal(store__query(st, &f, p), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "window 4 "));
	assert_non_null(strstr(store__errmsg(st), "samples"));
	profile__free(p);
	store__close(st);

	/* A writer still opens it (the SQLite file is sound) and retention refuses to
	 * reclaim from windows it cannot read. */
	st = open_writer(path);
	stacks = raw_int(path, "SELECT count(*) FROM stacks");
	assert_int_equal(store__retain(st, BASE_NS + 2 * WIN_NS + 1, WIN_NS, 0, NULL), -EINVAL);
	assert_non_null(strstr(store__errmsg(st), "corrupt"));
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 4);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM stacks"), stacks);
	store__close(st);
}

/* ---- creation, permissions, validation ------------------------------------------- */

static void test_create_and_validate(void **state)
{
	struct store_open_opts ro_create = {.create = true};
	struct world *w = world_new("cr", 10, 5, 4, 2);
	struct store_info info;
	char path[PATH_MAX], dir[512], err[512];
	struct profile *p;
	struct store *st, *rd;
	struct stat sb;

	(void)state;
	/* Missing directories are created 0700, the file 0600. */
	snprintf(dir, sizeof(dir), "%s/var/lib/ember", tmpdir);
	snprintf(path, sizeof(path), "%s/ember.db", dir);
	st = open_writer(path);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(raw_int(path, "PRAGMA application_id"), 0x656d6272);
	{
		char mode[16];

		raw_text(path, "PRAGMA journal_mode", mode, sizeof(mode));
		assert_string_equal(mode, "wal");
	}

	/* Bad windows. */
	p = mkrandom(w, BASE_NS, 3, 3);
	profile__meta(p)->end_ns = BASE_NS;
	assert_int_equal(store__write_window(st, p), -EINVAL);
	profile__meta(p)->end_ns = BASE_NS + WIN_NS;
	write_window(st, p);
	/* An empty window is kept (its span and lost counters count). */
	{
		struct profile *e = profile__new();

		profile__meta(e)->start_ns = BASE_NS + WIN_NS;
		profile__meta(e)->end_ns = BASE_NS + 2 * WIN_NS;
		profile__meta(e)->lost.samples = 9;
		write_window(st, e);
		profile__free(e);
	}
	rd = open_reader(path);
	assert_int_equal(store__write_window(rd, p), -EROFS);
	assert_int_equal(store__retain(rd, 0, 0, 1, NULL), -EROFS);
	assert_int_equal(store__info(rd, &info), 0);
	assert_int_equal(info.windows, 2);
	assert_int_equal(info.samples, profile__total(p));
	store__close(rd);
	store__close(st);
	profile__free(p);

	/* A zero-length file is a new database. */
	write_all(tpath(path, "empty.db"), "", 0);
	expect_open_fails(path, false, ENOENT, "no ember database");
	st = open_writer(path);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.windows, 0);
	store__close(st);

	/* Readers: ENOENT, or an empty database with create. */
	tpath(path, "missing.db");
	expect_open_fails(path, false, ENOENT, "no ember database");
	assert_int_equal(access(path, F_OK), -1);
	st = store__open(path, &ro_create, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store__info(st, &info), 0);
	assert_int_equal(info.windows, 0);
	assert_int_equal(info.schema_version, 4);
	store__close(st);
	world_free(w);
}

/* ---- the writer lock -------------------------------------------------------------- */

static void test_single_writer(void **state)
{
	struct world *w = world_new("lk", 10, 5, 4, 2);
	char path[PATH_MAX], pid[32];
	struct store *a, *sib, *c;
	struct profile *p;
	pid_t child;
	int status;

	(void)state;
	tpath(path, "lock.db");
	a = open_writer(path);
	snprintf(pid, sizeof(pid), "(pid %d)", (int)getpid());
	expect_open_fails(path, true, EBUSY, pid);
	expect_open_fails(path, true, EBUSY, "used by another ember");

	/* Another process is refused too. */
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		struct store_open_opts o = {.writer = true};
		char msg[512];

		_exit(!store__open(path, &o, msg, sizeof(msg)) && errno == EBUSY && strstr(msg, pid)
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* A sibling shares the lock and writes. */
	sib = store__open_sibling(a);
	assert_non_null(sib);
	p = mkrandom(w, BASE_NS, 4, 4);
	write_window(sib, p);
	profile__free(p);
	p = mkrandom(w, BASE_NS + WIN_NS, 4, 4);
	write_window(a, p);
	profile__free(p);
	/* The lock stays while any of them is open. */
	store__close(a);
	expect_open_fails(path, true, EBUSY, pid);
	store__close(sib);
	c = open_writer(path);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 2);
	store__close(c);
	world_free(w);
}

/* ---- readers beside the writer ---------------------------------------------------- */

#define CONC_WINDOWS 150
#define CONC_SAMPLES 37

struct conc {
	const char *path;
	struct world *w;
	struct store *st;
	int err;
};

static void *conc_writer(void *arg)
{
	struct wsample s[2] = {{0, 0, 30}, {1, 1, 7}};
	struct conc *c = arg;
	struct profile *p;
	int i;

	for (i = 0; i < CONC_WINDOWS && !c->err; i++) {
		s[0].stack = (uint32_t)(i % c->w->nstacks);
		p = mkwindow(c->w, BASE_NS + (uint64_t)i * WIN_NS, s, 2);
		c->err = store__write_window(c->st, p);
		profile__free(p);
	}
	return NULL;
}

static void test_reader_beside_writer(void **state)
{
	struct conc c = {.w = world_new("cc", 50, 40, 8, 2)};
	struct store_filter f = {0};
	struct store_info info;
	uint64_t last = 0, t;
	char path[PATH_MAX];
	struct store *rd;
	pthread_t th;
	int rounds = 0;

	(void)state;
	c.path = tpath(path, "conc.db");
	c.st = open_writer(path);
	rd = open_reader(path);
	assert_int_equal(pthread_create(&th, NULL, conc_writer, &c), 0);
	do {
		t = query_total(rd, &f);
		/* Whole windows only, never going back. */
		assert_int_equal(t % CONC_SAMPLES, 0);
		assert_true(t >= last);
		last = t;
		assert_int_equal(store__info(rd, &info), 0);
		assert_true(info.samples >= t);
		rounds++;
	} while (t < (uint64_t)CONC_WINDOWS * CONC_SAMPLES);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(c.err, 0);
	assert_true(rounds > 1);
	store__close(rd);
	store__close(c.st);
	world_free(c.w);
}

static int drop_to_nobody(void)
{
	return setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY);
}

/*
 * The child half of nobody_reads(), in a freshly executed test binary (no
 * SQLite state inherited from the parent): as nobody, read @path and exit 0
 * when the total is @want and the -shm file is not writable.
 */
static int nobody_child(const char *path, const char *want)
{
	struct store_open_opts o = {0};
	struct store_filter f = {0};
	char shm[PATH_MAX], msg[512];
	struct profile *p;
	struct store *st;

	if (drop_to_nobody())
		return 10;
	snprintf(shm, sizeof(shm), "%s-shm", path);
	if (!access(shm, W_OK))
		return 11;
	st = store__open(path, &o, msg, sizeof(msg));
	if (!st) {
		fprintf(stderr, "nobody: %s\n", msg);
		return 12;
	}
	p = profile__new();
	if (!p || store__query(st, &f, p)) {
		fprintf(stderr, "nobody: %s\n", store__errmsg(st));
		return 13;
	}
	if (profile__total(p) != strtoull(want, NULL, 10))
		return 14;
	profile__free(p);
	store__close(st);
	return 0;
}

static int nobody_reads(const char *path, uint64_t want)
{
	char total[32];
	pid_t child;
	int status;

	snprintf(total, sizeof(total), "%" PRIu64, want);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		execl("/proc/self/exe", "test_storage", "--read-as-nobody", path, total,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_unprivileged_reader(void **state)
{
	struct world *w = world_new("np", 30, 20, 6, 3);
	char path[PATH_MAX], sub[512], wal[PATH_MAX + 8];
	uint64_t total = 0;
	struct profile *p;
	struct store *st;
	struct stat sb;
	int i;

	(void)state;
	assert_int_equal(chmod(tmpdir, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/state", tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/ember.db", sub);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	st = open_writer(path);
	store__close(st);
	/* The admin lets a group read the database: WAL files follow the mode. */
	assert_int_equal(chmod(path, 0644), 0);
	st = open_writer(path);
	for (i = 0; i < 5; i++) {
		p = mkrandom(w, BASE_NS + (uint64_t)i * WIN_NS, 10, 10);
		total += profile__total(p);
		write_window(st, p);
		profile__free(p);
	}
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	/* While the writer runs, with root's -wal and -shm. */
	assert_int_equal(nobody_reads(path, total), 0);
	store__close(st);
	/* After it stopped: the WAL files stay for readers. */
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(nobody_reads(path, total), 0);
	world_free(w);
}

/* ---- full disk and read-only file systems ----------------------------------------- */

static bool mount_tmpfs(const char *dir, const char *opts)
{
	if (mkdir(dir, 0700) && errno != EEXIST)
		return false;
	if (mount("tmpfs", dir, "tmpfs", 0, opts)) {
		print_message("skipped: cannot mount tmpfs on %s: %s\n", dir, strerror(errno));
		return false;
	}
	return true;
}

static void test_disk_full(void **state)
{
	struct world *w = world_new("df", 4000, 3000, 60, 20);
	char mnt[512], path[PATH_MAX], fill[PATH_MAX];
	struct store_filter f = {0};
	struct profile *p, *big;
	uint64_t total = 0;
	struct store *st;
	static char chunk[65536];
	int fd, i, err;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/small", tmpdir);
	if (!mount_tmpfs(mnt, "size=2m")) {
		world_free(w);
		skip();
	}
	snprintf(path, sizeof(path), "%s/ember.db", mnt);
	snprintf(fill, sizeof(fill), "%s/filler", mnt);
	st = open_writer(path);
	for (i = 0; i < 5; i++) {
		p = mkrandom(w, BASE_NS + (uint64_t)i * WIN_NS, 20, 10);
		total += profile__total(p);
		write_window(st, p);
		profile__free(p);
	}
	fd = open(fill, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(chunk, 0x5a, sizeof(chunk));
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	while (write(fd, chunk, 512) > 0)
		;
	close(fd);

	/* A window with thousands of new stacks does not fit. */
	big = mkrandom(w, BASE_NS + 5 * WIN_NS, 3000, 10);
	err = store__write_window(st, big);
	assert_int_equal(err, -ENOSPC);
	assert_non_null(strstr(store__errmsg(st), "no space"));
	assert_int_equal(query_total(st, &f), total);
	{
		char ok[32];

		raw_text(path, "PRAGMA integrity_check", ok, sizeof(ok));
		assert_string_equal(ok, "ok");
	}

	/* Space comes back: the same window is written. */
	assert_int_equal(unlink(fill), 0);
	write_window(st, big);
	total += profile__total(big);
	assert_int_equal(query_total(st, &f), total);
	store__close(st);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM windows"), 6);
	profile__free(big);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	world_free(w);
}

static void test_read_only(void **state)
{
	char mnt[512], path[PATH_MAX], other[PATH_MAX];
	struct world *w = world_new("ro", 30, 20, 6, 3);
	struct store_filter f = {0};
	struct profile *p;
	struct store *st;
	uint64_t total;
	pid_t child;
	int status;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/ro", tmpdir);
	if (!mount_tmpfs(mnt, "size=4m")) {
		world_free(w);
		skip();
	}
	snprintf(path, sizeof(path), "%s/ember.db", mnt);
	snprintf(other, sizeof(other), "%s/new/ember.db", mnt);
	st = open_writer(path);
	p = mkrandom(w, BASE_NS, 10, 10);
	total = profile__total(p);
	write_window(st, p);
	store__close(st);
	assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);

	expect_open_fails(path, true, EROFS, "read-only");
	expect_open_fails(other, true, EROFS, "cannot create");
	/* Readers still read. */
	st = open_reader(path);
	assert_int_equal(query_total(st, &f), total);
	store__close(st);

	assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT, NULL), 0);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);

	/* A read-only file, for a writer without root's override. */
	assert_int_equal(chmod(tmpdir, 0755), 0);
	snprintf(mnt, sizeof(mnt), "%s/nobody", tmpdir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(chown(mnt, NOBODY, NOBODY), 0);
	snprintf(path, sizeof(path), "%s/ember.db", mnt);
	st = open_writer(path);
	write_window(st, p);
	store__close(st);
	assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	assert_int_equal(chmod(path, 0444), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		struct store_open_opts o = {.writer = true};
		char msg[512];

		if (drop_to_nobody())
			_exit(10);
		if (store__open(path, &o, msg, sizeof(msg)) || errno != EACCES)
			_exit(11);
		_exit(strstr(msg, "read-write access") ? 0 : 12);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	profile__free(p);
	world_free(w);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_many_stacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_many_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retain_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_ids_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_ids_retain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_skips_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_foreign_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_window_blob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_and_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_beside_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--read-as-nobody"))
		return nobody_child(argv[2], argv[3]);
	rng = 0x1234567;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
