/*
 * Writes a database with known contents for the web tests (test_api.py and
 * the browser tests): two one-minute periods, A and B, of six 10-second
 * windows each, with the stacks below per window. Times are fixed (from
 * GEN_T0), so tests ask for absolute ranges and never depend on the clock.
 *
 *   app (pid 100, exe /usr/bin/app)           A per window   B per window
 *     main;work;compute                             30             30
 *     main;work;grow                                 5             40
 *     main;io;read_k (kernel frame)                 10             10
 *     main;work;<img src=x onerror=alert(1)>         3              3
 *     main;rec;rec;rec                               4              4
 *     main;work;inl (inlined frame)                  2              2
 *   db (pid 200, cgroup /system.slice/db.service)
 *     start;query;scan                              20              5
 *
 * Usage: gen_db PATH            the database above
 *        gen_db PATH --day      24 h of 10 s windows ending at GEN_T0 + 1 day,
 *                               2 CPUs at 19 Hz over 5,000 distinct stacks
 *                               (for timing the server; nothing is asserted)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/profile.h"
#include "ember/storage.h"

#define GEN_T0	    1767225600ULL /* 2026-01-01T00:00:00Z */
#define NS	    1000000000ULL
#define WINDOW_NS   (10 * NS)
#define B_OFFSET_NS (3600 * NS) /* period B starts an hour after A */

struct gen_stack {
	const char *comm;
	const char *frames; /* ';'-separated; "name@k" kernel, "name@i" inlined */
	uint64_t a, b;	    /* samples per window in A and in B */
};

static const struct gen_stack stacks[] = {
	{"app", "main;work;compute", 30, 30},
	{"app", "main;work;grow", 5, 40},
	{"app", "main;io;read_k@k", 10, 10},
	{"app", "main;work;<img src=x onerror=alert(1)>", 3, 3},
	{"app", "main;rec;rec;rec", 4, 4},
	{"app", "main;work;inl@i", 2, 2},
	{"db", "start;query;scan", 20, 5},
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "gen_db: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static int64_t frame(struct profile *p, const char *tok, size_t len)
{
	struct profile_frame f = {.kind = PROFILE_FRAME_USER};
	const char *module = "app";
	int64_t id;

	if (len > 2 && tok[len - 2] == '@') {
		if (tok[len - 1] == 'k') {
			f.kind = PROFILE_FRAME_KERNEL;
			module = "[kernel]";
		} else {
			f.kind = PROFILE_FRAME_INLINE;
		}
		len -= 2;
	}
	id = profile__intern_n(p, tok, len);
	if (id < 0)
		return id;
	f.name = (uint32_t)id;
	id = profile__intern(p, module);
	if (id < 0)
		return id;
	f.module = (uint32_t)id;
	return profile__add_frame(p, &f);
}

static int64_t task(struct profile *p, const char *comm)
{
	bool app = !strcmp(comm, "app");
	struct profile_task t = {.pid = app ? 100 : 200, .start_time = app ? 1000 : 2000};
	int64_t id;

	t.tid = t.pid;
	id = profile__intern(p, comm);
	if (id < 0)
		return id;
	t.comm = (uint32_t)id;
	id = profile__intern(p, app ? "/usr/bin/app" : "/usr/sbin/db");
	if (id < 0)
		return id;
	t.exe = (uint32_t)id;
	id = profile__intern(p, app ? "/user.slice/app" : "/system.slice/db.service");
	if (id < 0)
		return id;
	t.cgroup = (uint32_t)id;
	return profile__add_task(p, &t);
}

/* Adds @count samples of @comm with the stack @frames. */
static int add(struct profile *p, const char *comm, const char *frames, uint64_t count)
{
	uint32_t ids[64], n = 0;
	const char *s = frames, *e;
	int64_t id, st, tk;

	while (*s && n < 64) {
		e = strchr(s, ';');
		if (!e)
			e = s + strlen(s);
		id = frame(p, s, (size_t)(e - s));
		if (id < 0)
			return (int)id;
		ids[n++] = (uint32_t)id;
		s = *e ? e + 1 : e;
	}
	st = profile__add_stack(p, ids, n);
	tk = task(p, comm);
	if (st < 0 || tk < 0)
		return -ENOMEM;
	return profile__add_sample(p, (uint32_t)st, (uint32_t)tk, count);
}

static struct profile *window(uint64_t start_ns)
{
	struct profile *p = profile__new();
	struct profile_meta *m;

	if (!p)
		return NULL;
	m = profile__meta(p);
	m->start_ns = start_ns;
	m->end_ns = start_ns + WINDOW_NS;
	m->freq_hz = 19;
	m->period_ns = NS / 19;
	return p;
}

static int write_known(struct store *st)
{
	struct profile *p;
	size_t i, s;
	int period, err;

	for (period = 0; period < 2; period++) {
		for (i = 0; i < 6; i++) {
			p = window(GEN_T0 * NS + (period ? B_OFFSET_NS : 0) + i * WINDOW_NS);
			if (!p)
				return -ENOMEM;
			err = 0;
			for (s = 0; s < sizeof(stacks) / sizeof(stacks[0]) && !err; s++)
				err = add(p, stacks[s].comm, stacks[s].frames,
					  period ? stacks[s].b : stacks[s].a);
			if (!err)
				err = store__write_window(st, p);
			profile__free(p);
			if (err)
				return err;
		}
	}
	return 0;
}

/* 24 h ending at GEN_T0 + 1 day: 8,640 windows of 380 samples over 5,000 stacks. */
static int write_day(struct store *st)
{
	char frames[512];
	uint64_t rnd = 42;
	int64_t w, k, d, depth, f;
	struct profile *p;
	int err, len;

	for (w = 0; w < 8640; w++) {
		p = window(GEN_T0 * NS + (uint64_t)w * WINDOW_NS);
		if (!p)
			return -ENOMEM;
		err = 0;
		for (k = 0; k < 190 && !err; k++) {
			rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
			/* Stack s: a chain of 8-20 frames from a pool of 400 names. */
			int64_t s = (int64_t)((rnd >> 33) % 5000);

			depth = 8 + s % 13;
			len = snprintf(frames, sizeof(frames), "main");
			for (d = 1; d < depth && len < (int)sizeof(frames) - 16; d++) {
				f = (s * 31 + d * 17 + (d > 4 ? s % 97 : 0)) % 400;
				len += snprintf(frames + len, sizeof(frames) - (size_t)len,
						";fn_%" PRId64, f);
			}
			err = add(p, s % 3 ? "app" : "db", frames, 2);
		}
		if (!err)
			err = store__write_window(st, p);
		profile__free(p);
		if (err)
			return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct store_open_opts o = {.writer = true};
	char msg[512] = "";
	struct store *st;
	int err;

	if (argc < 2 || (argc == 3 && strcmp(argv[2], "--day")) || argc > 3) {
		fprintf(stderr, "usage: gen_db PATH [--day]\n");
		return 2;
	}
	st = store__open(argv[1], &o, msg, sizeof(msg));
	if (!st) {
		fprintf(stderr, "gen_db: %s\n", msg);
		return 1;
	}
	err = argc == 3 ? write_day(st) : write_known(st);
	store__close(st);
	if (err)
		return fail(argv[1], err);
	return 0;
}
