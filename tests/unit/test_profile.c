/*
 * Unit tests for the profile model (profile/profile.c): interning, frame,
 * stack and task deduplication, sample aggregation, merge, and a large
 * profile that exercises the hash tables' growth.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ember/profile.h"

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t add_frame(struct profile *p, const char *name, uint32_t kind)
{
	struct profile_frame f = {.name = intern(p, name), .kind = kind};
	int64_t id = profile__add_frame(p, &f);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t add_task(struct profile *p, uint32_t pid, uint32_t tid, const char *comm)
{
	struct profile_task t = {.pid = pid, .tid = tid, .comm = intern(p, comm)};
	int64_t id = profile__add_task(p, &t);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t add_stack(struct profile *p, const uint32_t *frames, uint32_t n)
{
	int64_t id = profile__add_stack(p, frames, n);

	assert_true(id >= 0);
	return (uint32_t)id;
}

/* Count of the (stack, task) sample, 0 when absent. */
static uint64_t sample_count(const struct profile *p, uint32_t stack, uint32_t task)
{
	const struct profile_sample *s;
	size_t n, i;

	s = profile__samples(p, &n);
	for (i = 0; i < n; i++) {
		if (s[i].stack == stack && s[i].task == task)
			return s[i].count;
	}
	return 0;
}

static void test_new_empty(void **state)
{
	struct profile *p = profile__new();
	size_t n = 42;
	uint32_t depth = 42;

	assert_non_null(p);
	assert_int_equal(profile__str_count(p), 1);
	assert_string_equal(profile__str(p, 0), "");
	assert_int_equal(profile__frame_count(p), 0);
	assert_int_equal(profile__stack_count(p), 0);
	assert_int_equal(profile__task_count(p), 0);
	profile__samples(p, &n);
	assert_int_equal(n, 0);
	assert_int_equal(profile__total(p), 0);
	assert_null(profile__frame(p, 0));
	assert_null(profile__task(p, 0));
	assert_null(profile__stack(p, 0, &depth));
	assert_int_equal(depth, 0);
	assert_ptr_equal(profile__meta(p), profile__meta_c(p));
	assert_int_equal(profile__meta_c(p)->freq_hz, 0);
	profile__free(p);
	profile__free(NULL);
}

/* Serials: every profile its own, also one allocated where a freed one was. */
static void test_serial(void **state)
{
	struct profile *a = profile__new(), *b = profile__new(), *c;
	uint64_t sa, sb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	sa = profile__serial(a);
	sb = profile__serial(b);
	assert_true(sa != 0);
	assert_true(sa != sb);
	profile__free(a);
	c = profile__new();
	assert_non_null(c);
	assert_true(profile__serial(c) != sa);
	assert_true(profile__serial(c) != sb);
	assert_int_equal(profile__serial(b), sb);
	profile__free(b);
	profile__free(c);
}

/* Build ids of modules: set once, read back, carried by merge. */
static void test_build_ids(void **state)
{
	struct profile *a = profile__new(), *b = profile__new();
	int64_t libc, libm, id1, id2, other;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	libc = profile__intern(a, "libc.so.6");
	libm = profile__intern(a, "libm.so.6");
	id1 = profile__intern(a, "0123456789abcdef");
	id2 = profile__intern(a, "fedcba9876543210");
	assert_int_equal(profile__build_id(a, (uint32_t)libc), 0);
	assert_int_equal(profile__build_id(a, 1000000), 0);
	assert_int_equal(profile__set_build_id(a, (uint32_t)libc, (uint32_t)id1), 0);
	assert_int_equal(profile__build_id(a, (uint32_t)libc), id1);
	assert_int_equal(profile__build_id(a, (uint32_t)libm), 0);
	/* The first stays. */
	assert_int_equal(profile__set_build_id(a, (uint32_t)libc, (uint32_t)id2), 0);
	assert_int_equal(profile__build_id(a, (uint32_t)libc), id1);
	/* Unknown or empty string ids. */
	assert_int_equal(profile__set_build_id(a, 0, (uint32_t)id1), -EINVAL);
	assert_int_equal(profile__set_build_id(a, (uint32_t)libm, 0), -EINVAL);
	assert_int_equal(profile__set_build_id(a, 5000, (uint32_t)id1), -EINVAL);
	assert_int_equal(profile__set_build_id(a, (uint32_t)libm, 5000), -EINVAL);

	/* Merge: b has other strings first, and its own build id for libm. */
	other = profile__intern(b, "something else");
	assert_true(other > 0);
	libm = profile__intern(b, "libm.so.6");
	id2 = profile__intern(b, "fedcba9876543210");
	assert_int_equal(profile__set_build_id(b, (uint32_t)libm, (uint32_t)id2), 0);
	assert_int_equal(profile__merge(b, a), 0);
	libc = profile__intern(b, "libc.so.6");
	assert_string_equal(profile__str(b, profile__build_id(b, (uint32_t)libc)),
			    "0123456789abcdef");
	assert_string_equal(profile__str(b, profile__build_id(b, (uint32_t)libm)),
			    "fedcba9876543210");
	/* Into itself: unchanged. */
	assert_int_equal(profile__merge(b, b), 0);
	assert_string_equal(profile__str(b, profile__build_id(b, (uint32_t)libc)),
			    "0123456789abcdef");
	profile__free(a);
	profile__free(b);
}

static void test_intern_dedup(void **state)
{
	struct profile *p = profile__new();
	const char raw[] = {'f', 'o', 'o', 'b', 'a', 'r'}; /* not NUL-terminated */
	const char nul[] = {'a', '\0', 'b'};
	int64_t foo, bar, foo2, foobar, e, n1, n2;

	assert_non_null(p);
	foo = profile__intern(p, "foo");
	bar = profile__intern(p, "bar");
	assert_true(foo > 0);
	assert_true(bar > 0);
	assert_int_not_equal(foo, bar);
	foo2 = profile__intern(p, "foo");
	assert_int_equal(foo, foo2);
	assert_int_equal(profile__intern_n(p, raw, 3), foo);
	assert_int_equal(profile__intern_n(p, raw + 3, 3), bar);
	foobar = profile__intern_n(p, raw, sizeof(raw));
	assert_true(foobar > 0);
	assert_int_not_equal(foobar, foo);
	assert_string_equal(profile__str(p, (uint32_t)foobar), "foobar");
	e = profile__intern(p, "");
	assert_int_equal(e, 0);
	assert_int_equal(profile__intern_n(p, NULL, 0), 0);
	assert_int_equal(profile__intern(p, NULL), -EINVAL);

	/* Bytes, not C strings: "a\0b" and "a" differ. */
	n1 = profile__intern_n(p, nul, 3);
	n2 = profile__intern_n(p, nul, 1);
	assert_true(n1 > 0 && n2 > 0);
	assert_int_not_equal(n1, n2);
	assert_int_equal(profile__intern_n(p, nul, 3), n1);

	assert_string_equal(profile__str(p, (uint32_t)foo), "foo");
	assert_string_equal(profile__str(p, (uint32_t)bar), "bar");
	assert_string_equal(profile__str(p, 12345), "");
	assert_int_equal(profile__str_count(p), 6);

	/* Interning a string the profile itself returned. */
	assert_int_equal(profile__intern(p, profile__str(p, (uint32_t)foo)), foo);
	profile__free(p);
}

static void test_intern_many(void **state)
{
	struct profile *p = profile__new();
	const char *s0;
	char buf[64];
	uint32_t i;
	int64_t id;

	assert_non_null(p);
	s0 = profile__str(p, intern(p, "stable"));
	for (i = 0; i < 100000; i++) {
		snprintf(buf, sizeof(buf), "sym_%u", i);
		id = profile__intern(p, buf);
		assert_int_equal(id, i + 2);
	}
	/* A long string, bigger than an arena chunk. */
	{
		size_t len = 200000;
		char *big = malloc(len + 1);

		assert_non_null(big);
		memset(big, 'x', len);
		big[len] = '\0';
		id = profile__intern(p, big);
		assert_true(id > 0);
		assert_int_equal(profile__intern(p, big), id);
		assert_string_equal(profile__str(p, (uint32_t)id), big);
		free(big);
	}
	for (i = 0; i < 100000; i++) {
		snprintf(buf, sizeof(buf), "sym_%u", i);
		assert_int_equal(profile__intern(p, buf), i + 2);
		assert_string_equal(profile__str(p, i + 2), buf);
	}
	/* String pointers do not move as the table grows. */
	assert_ptr_equal(profile__str(p, 1), s0);
	assert_string_equal(s0, "stable");
	profile__free(p);
}

static void test_frame_dedup(void **state)
{
	struct profile *p = profile__new();
	struct profile_frame f, g;
	const struct profile_frame *got;
	int64_t a, b;

	assert_non_null(p);
	memset(&f, 0, sizeof(f));
	f.name = intern(p, "main");
	f.module = intern(p, "app");
	f.file = intern(p, "main.c");
	f.line = 10;
	f.addr = 0x1234;
	f.kind = PROFILE_FRAME_USER;
	a = profile__add_frame(p, &f);
	assert_int_equal(a, 0);
	g = f;
	assert_int_equal(profile__add_frame(p, &g), a);

	/* Every field takes part. */
	g = f;
	g.name = intern(p, "other");
	assert_int_equal(profile__add_frame(p, &g), 1);
	g = f;
	g.module = 0;
	assert_int_equal(profile__add_frame(p, &g), 2);
	g = f;
	g.file = 0;
	assert_int_equal(profile__add_frame(p, &g), 3);
	g = f;
	g.line = 11;
	assert_int_equal(profile__add_frame(p, &g), 4);
	g = f;
	g.addr = 0x1235;
	assert_int_equal(profile__add_frame(p, &g), 5);
	g = f;
	g.start_line = 8;
	assert_int_equal(profile__add_frame(p, &g), 6);
	g = f;
	g.kind = PROFILE_FRAME_KERNEL;
	b = profile__add_frame(p, &g);
	assert_int_equal(b, 7);
	assert_int_equal(profile__add_frame(p, &g), b);
	assert_int_equal(profile__frame_count(p), 8);

	got = profile__frame(p, (uint32_t)a);
	assert_non_null(got);
	assert_string_equal(profile__str(p, got->name), "main");
	assert_string_equal(profile__str(p, got->module), "app");
	assert_string_equal(profile__str(p, got->file), "main.c");
	assert_int_equal(got->line, 10);
	assert_int_equal(got->addr, 0x1234);
	assert_int_equal(got->start_line, 0);
	assert_null(profile__frame(p, 8));

	/* Adding a frame the profile returned. */
	assert_int_equal(profile__add_frame(p, profile__frame(p, 3)), 3);

	/* String ids must exist. */
	g = f;
	g.name = 9999;
	assert_int_equal(profile__add_frame(p, &g), -EINVAL);
	g = f;
	g.file = 9999;
	assert_int_equal(profile__add_frame(p, &g), -EINVAL);
	assert_int_equal(profile__add_frame(p, NULL), -EINVAL);
	assert_int_equal(profile__frame_count(p), 8);
	profile__free(p);
}

static void test_stack_dedup(void **state)
{
	struct profile *p = profile__new();
	uint32_t fr[4], rev[3], n;
	const uint32_t *got;
	int64_t s1, s2, s3, s4, s5;
	uint32_t bad[2];

	assert_non_null(p);
	fr[0] = add_frame(p, "main", PROFILE_FRAME_USER);
	fr[1] = add_frame(p, "work", PROFILE_FRAME_USER);
	fr[2] = add_frame(p, "leaf", PROFILE_FRAME_USER);
	fr[3] = add_frame(p, "sys_read", PROFILE_FRAME_KERNEL);

	s1 = profile__add_stack(p, fr, 3);
	assert_int_equal(s1, 0);
	assert_int_equal(profile__add_stack(p, fr, 3), s1);
	s2 = profile__add_stack(p, fr, 2); /* a prefix is another stack */
	assert_int_equal(s2, 1);
	rev[0] = fr[2];
	rev[1] = fr[1];
	rev[2] = fr[0];
	s3 = profile__add_stack(p, rev, 3); /* order matters */
	assert_int_equal(s3, 2);
	s4 = profile__add_stack(p, NULL, 0); /* the empty stack */
	assert_int_equal(s4, 3);
	assert_int_equal(profile__add_stack(p, fr, 0), s4);
	s5 = profile__add_stack(p, fr, 4);
	assert_int_equal(s5, 4);
	assert_int_equal(profile__stack_count(p), 5);

	got = profile__stack(p, (uint32_t)s1, &n);
	assert_non_null(got);
	assert_int_equal(n, 3);
	assert_memory_equal(got, fr, 3 * sizeof(uint32_t));
	got = profile__stack(p, (uint32_t)s3, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(got, rev, sizeof(rev));
	got = profile__stack(p, (uint32_t)s4, &n);
	assert_non_null(got);
	assert_int_equal(n, 0);

	/* A stack built from a slice of the profile's own storage. */
	got = profile__stack(p, (uint32_t)s5, &n);
	assert_int_equal(profile__add_stack(p, got + 1, 3), 5);
	got = profile__stack(p, 5, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(got, fr + 1, 3 * sizeof(uint32_t));

	bad[0] = fr[0];
	bad[1] = 100;
	assert_int_equal(profile__add_stack(p, bad, 2), -EINVAL);
	assert_int_equal(profile__add_stack(p, NULL, 2), -EINVAL);
	assert_int_equal(profile__stack_count(p), 6);
	profile__free(p);
}

static void test_task_dedup(void **state)
{
	struct profile *p = profile__new();
	struct profile_task t, u;
	const struct profile_task *got;
	int64_t a;

	assert_non_null(p);
	memset(&t, 0, sizeof(t));
	t.pid = 100;
	t.tid = 101;
	t.comm = intern(p, "bash");
	t.exe = intern(p, "/bin/bash");
	t.cgroup = intern(p, "/user.slice");
	t.start_time = 5000;
	a = profile__add_task(p, &t);
	assert_int_equal(a, 0);
	u = t;
	u._pad = 3;
	assert_int_equal(profile__add_task(p, &u), a);

	u = t;
	u.pid = 1;
	assert_int_equal(profile__add_task(p, &u), 1);
	u = t;
	u.tid = 1;
	assert_int_equal(profile__add_task(p, &u), 2);
	u = t;
	u.comm = intern(p, "zsh");
	assert_int_equal(profile__add_task(p, &u), 3);
	u = t;
	u.exe = 0;
	assert_int_equal(profile__add_task(p, &u), 4);
	u = t;
	u.cgroup = 0;
	assert_int_equal(profile__add_task(p, &u), 5);
	u = t;
	u.start_time = 5001; /* pid reuse: same pid, new process */
	assert_int_equal(profile__add_task(p, &u), 6);
	assert_int_equal(profile__add_task(p, &t), a);
	assert_int_equal(profile__task_count(p), 7);

	got = profile__task(p, (uint32_t)a);
	assert_non_null(got);
	assert_int_equal(got->pid, 100);
	assert_int_equal(got->tid, 101);
	assert_string_equal(profile__str(p, got->comm), "bash");
	assert_string_equal(profile__str(p, got->exe), "/bin/bash");
	assert_int_equal(got->start_time, 5000);
	assert_null(profile__task(p, 7));

	u = t;
	u.comm = 777;
	assert_int_equal(profile__add_task(p, &u), -EINVAL);
	assert_int_equal(profile__add_task(p, NULL), -EINVAL);
	profile__free(p);
}

static void test_sample_aggregate(void **state)
{
	struct profile *p = profile__new();
	const struct profile_sample *s;
	uint32_t fr[2], st0, st1, t0, t1;
	size_t n;

	assert_non_null(p);
	fr[0] = add_frame(p, "a", PROFILE_FRAME_USER);
	fr[1] = add_frame(p, "b", PROFILE_FRAME_USER);
	st0 = add_stack(p, fr, 2);
	st1 = add_stack(p, fr, 1);
	t0 = add_task(p, 1, 1, "one");
	t1 = add_task(p, 2, 2, "two");

	assert_int_equal(profile__add_sample(p, st0, t0, 3), 0);
	assert_int_equal(profile__add_sample(p, st1, t0, 1), 0);
	assert_int_equal(profile__add_sample(p, st0, t0, 4), 0);
	assert_int_equal(profile__add_sample(p, st0, t1, 10), 0);
	assert_int_equal(profile__add_sample(p, st1, t0, 0), 0); /* nothing */

	s = profile__samples(p, &n);
	assert_int_equal(n, 3);
	/* Insertion order. */
	assert_int_equal(s[0].stack, st0);
	assert_int_equal(s[0].task, t0);
	assert_int_equal(s[0].count, 7);
	assert_int_equal(s[1].stack, st1);
	assert_int_equal(s[1].count, 1);
	assert_int_equal(s[2].task, t1);
	assert_int_equal(s[2].count, 10);
	assert_int_equal(profile__total(p), 18);

	assert_int_equal(profile__add_sample(p, 99, t0, 1), -EINVAL);
	assert_int_equal(profile__add_sample(p, st0, 99, 1), -EINVAL);
	assert_int_equal(profile__total(p), 18);

	/* The total cannot wrap. */
	assert_int_equal(profile__add_sample(p, st1, t1, UINT64_MAX - 18), 0);
	assert_true(profile__total(p) == UINT64_MAX);
	assert_int_equal(profile__add_sample(p, st0, t0, 1), -EOVERFLOW);
	assert_true(profile__total(p) == UINT64_MAX);
	assert_int_equal(sample_count(p, st0, t0), 7);
	profile__free(p);
}

/* Builds a small profile whose strings are interned in an order given by @rev. */
static struct profile *build_small(int rev, const char *comm, uint64_t mult)
{
	struct profile *p = profile__new();
	uint32_t fr[3], st, t;

	assert_non_null(p);
	if (rev) {
		intern(p, "zzz-only-in-b");
		intern(p, "leaf");
	}
	fr[0] = add_frame(p, "main", PROFILE_FRAME_USER);
	fr[1] = add_frame(p, "work", PROFILE_FRAME_USER);
	fr[2] = add_frame(p, "leaf", PROFILE_FRAME_KERNEL);
	t = add_task(p, 10, 10, comm);
	st = add_stack(p, fr, 3);
	assert_int_equal(profile__add_sample(p, st, t, 5 * mult), 0);
	st = add_stack(p, fr, 2);
	assert_int_equal(profile__add_sample(p, st, t, 2 * mult), 0);
	return p;
}

/* Count in @p of the stack of frame names @names (root first) for @comm. */
static uint64_t count_by_names(const struct profile *p, const char *comm, const char **names,
			       uint32_t depth)
{
	const struct profile_sample *s;
	const uint32_t *fr;
	uint64_t sum = 0;
	size_t n, i;
	uint32_t d, j;

	s = profile__samples(p, &n);
	for (i = 0; i < n; i++) {
		if (strcmp(profile__str(p, profile__task(p, s[i].task)->comm), comm))
			continue;
		fr = profile__stack(p, s[i].stack, &d);
		if (d != depth)
			continue;
		for (j = 0; j < d; j++) {
			if (strcmp(profile__str(p, profile__frame(p, fr[j])->name), names[j]))
				break;
		}
		if (j == d)
			sum += s[i].count;
	}
	return sum;
}

static void test_merge(void **state)
{
	const char *deep[] = {"main", "work", "leaf"};
	const char *shallow[] = {"main", "work"};
	struct profile *a = build_small(0, "app", 1);
	struct profile *b = build_small(1, "app", 10);
	struct profile *c = build_small(0, "other", 100);
	struct profile_meta *ma = profile__meta(a), *mb = profile__meta(b);
	uint32_t nstrs;

	ma->start_ns = 2000;
	ma->end_ns = 3000;
	ma->lost.samples = 1;
	ma->lost.truncated = 2;
	mb->start_ns = 1000;
	mb->end_ns = 4000;
	mb->freq_hz = 99;
	mb->period_ns = 10101010;
	mb->lost.samples = 10;
	mb->lost.ringbuf_full = 3;
	mb->lost.truncated = 20;

	assert_int_equal(profile__merge(a, b), 0);
	/* Same strings, frames, stacks, tasks: only counts change. */
	assert_int_equal(profile__frame_count(a), 3);
	assert_int_equal(profile__stack_count(a), 2);
	assert_int_equal(profile__task_count(a), 1);
	assert_int_equal(count_by_names(a, "app", deep, 3), 55);
	assert_int_equal(count_by_names(a, "app", shallow, 2), 22);
	assert_int_equal(profile__total(a), 77);
	assert_true(profile__intern(a, "zzz-only-in-b") > 0);
	assert_int_equal(profile__frame(a, 2)->kind, PROFILE_FRAME_KERNEL);

	assert_int_equal(ma->start_ns, 1000);
	assert_int_equal(ma->end_ns, 4000);
	assert_int_equal(ma->freq_hz, 99);
	assert_int_equal(ma->period_ns, 10101010);
	assert_int_equal(ma->lost.samples, 11);
	assert_int_equal(ma->lost.ringbuf_full, 3);
	assert_int_equal(ma->lost.truncated, 22);

	/* A second task: a new task, counts kept apart. */
	nstrs = profile__str_count(a);
	assert_int_equal(profile__merge(a, c), 0);
	assert_int_equal(profile__task_count(a), 2);
	assert_int_equal(profile__str_count(a), nstrs + 1);
	assert_int_equal(count_by_names(a, "app", deep, 3), 55);
	assert_int_equal(count_by_names(a, "other", deep, 3), 500);
	assert_int_equal(profile__total(a), 777);
	/* start_ns 0 in c means unknown: the span is kept. */
	assert_int_equal(ma->start_ns, 1000);
	assert_int_equal(ma->end_ns, 4000);

	/* Merging into an empty profile copies. */
	{
		struct profile *e = profile__new();

		assert_non_null(e);
		assert_int_equal(profile__merge(e, a), 0);
		assert_int_equal(profile__total(e), 777);
		assert_int_equal(count_by_names(e, "other", shallow, 2), 200);
		assert_int_equal(profile__meta_c(e)->lost.truncated, 22);
		assert_int_equal(profile__meta_c(e)->start_ns, 1000);
		profile__free(e);
	}

	/* Into itself: every count doubles. */
	assert_int_equal(profile__merge(a, a), 0);
	assert_int_equal(profile__total(a), 1554);
	assert_int_equal(count_by_names(a, "app", deep, 3), 110);
	assert_int_equal(profile__stack_count(a), 2);

	profile__free(c);
	profile__free(b);
	profile__free(a);
}

#define LARGE_STACKS 200000
#define LARGE_FRAMES 5000

/* Frame index at depth @d of stack @i: deterministic, mostly distinct stacks. */
static uint32_t large_frame(uint32_t i, uint32_t d)
{
	uint64_t x = (uint64_t)i * 2654435761u + (uint64_t)d * 40503u + d * d;

	return (uint32_t)(x % LARGE_FRAMES);
}

static uint32_t large_depth(uint32_t i)
{
	return 2 + i % 40;
}

/* Root and leaf together encode @i, so every stack is distinct. */
static void large_stack(uint32_t i, const uint32_t *frame_ids, uint32_t *buf, uint32_t *n)
{
	uint32_t d;

	*n = large_depth(i);
	buf[0] = frame_ids[(i / 5000) % LARGE_FRAMES];
	for (d = 1; d + 1 < *n; d++)
		buf[d] = frame_ids[large_frame(i, d)];
	buf[*n - 1] = frame_ids[LARGE_FRAMES + i % 5000];
}

static void test_large(void **state)
{
	struct profile *p = profile__new();
	struct profile *q;
	uint32_t *frame_ids, buf[64], n, got_n, i, tasks[16];
	const uint32_t *got;
	char name[32];
	uint64_t expect = 0;
	int64_t id;

	assert_non_null(p);
	frame_ids = calloc(LARGE_FRAMES + 5000, sizeof(*frame_ids));
	assert_non_null(frame_ids);
	for (i = 0; i < LARGE_FRAMES + 5000; i++) {
		snprintf(name, sizeof(name), "fn_%u", i);
		frame_ids[i] =
			add_frame(p, name, i % 7 ? PROFILE_FRAME_USER : PROFILE_FRAME_KERNEL);
	}
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "task%u", i % 8);
		tasks[i] = add_task(p, 1000 + i, 1000 + i, name);
	}

	for (i = 0; i < LARGE_STACKS; i++) {
		large_stack(i, frame_ids, buf, &n);
		id = profile__add_stack(p, buf, n);
		assert_int_equal(id, i);
		assert_int_equal(profile__add_sample(p, (uint32_t)id, tasks[i % 16], 1 + i % 3), 0);
		expect += 1 + i % 3;
	}
	assert_int_equal(profile__stack_count(p), LARGE_STACKS);
	assert_int_equal(profile__total(p), expect);

	/* Adding everything again finds the same ids and doubles the counts. */
	for (i = 0; i < LARGE_STACKS; i++) {
		large_stack(i, frame_ids, buf, &n);
		id = profile__add_stack(p, buf, n);
		assert_int_equal(id, i);
		got = profile__stack(p, i, &got_n);
		assert_int_equal(got_n, n);
		assert_memory_equal(got, buf, n * sizeof(uint32_t));
		assert_int_equal(profile__add_sample(p, i, tasks[i % 16], 1 + i % 3), 0);
	}
	assert_int_equal(profile__stack_count(p), LARGE_STACKS);
	assert_int_equal(profile__total(p), 2 * expect);
	{
		size_t ns;

		profile__samples(p, &ns);
		assert_int_equal(ns, LARGE_STACKS);
	}

	/* Merge into an empty profile keeps the ids' meaning and the totals. */
	q = profile__new();
	assert_non_null(q);
	assert_int_equal(profile__merge(q, p), 0);
	assert_int_equal(profile__stack_count(q), LARGE_STACKS);
	assert_int_equal(profile__frame_count(q), LARGE_FRAMES + 5000);
	assert_int_equal(profile__total(q), 2 * expect);
	assert_int_equal(sample_count(q, 12345, tasks[12345 % 16]), 2 * (1 + 12345 % 3));

	free(frame_ids);
	profile__free(q);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_empty),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_build_ids),
		cmocka_unit_test(test_intern_dedup),
		cmocka_unit_test(test_intern_many),
		cmocka_unit_test(test_frame_dedup),
		cmocka_unit_test(test_stack_dedup),
		cmocka_unit_test(test_task_dedup),
		cmocka_unit_test(test_sample_aggregate),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
