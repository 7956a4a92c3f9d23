/*
 * Unit tests for the folded writer and reader (formats/folded.c) and the
 * format dispatch (formats/formats.c): escaping, sorting and merging, the
 * options, round trips, reader errors, and flamegraph.pl's line grammar.
 */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ember/formats.h"
#include "ember/profile.h"

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t frame_full(struct profile *p, const char *name, uint32_t kind, const char *file,
			   uint32_t line)
{
	struct profile_frame f = {0};
	int64_t id;

	f.name = intern(p, name);
	f.file = file ? intern(p, file) : 0;
	f.line = line;
	f.kind = kind;
	id = profile__add_frame(p, &f);
	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t frame(struct profile *p, const char *name, uint32_t kind)
{
	return frame_full(p, name, kind, NULL, 0);
}

static uint32_t task(struct profile *p, uint32_t pid, uint32_t tid, const char *comm)
{
	struct profile_task t = {.pid = pid, .tid = tid, .comm = intern(p, comm)};
	int64_t id = profile__add_task(p, &t);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static void sample(struct profile *p, uint32_t t, const uint32_t *frames, uint32_t n,
		   uint64_t count)
{
	int64_t st = profile__add_stack(p, frames, n);

	assert_true(st >= 0);
	assert_int_equal(profile__add_sample(p, (uint32_t)st, t, count), 0);
}

/* Folded text of @p; the caller frees it. */
static char *write_folded(const struct profile *p, const struct fmt_options *opts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fmt_folded__write(p, opts, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

static int read_folded(struct profile *p, const char *text, unsigned long *bad_line)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	assert_non_null(f);
	err = fmt_folded__read(p, f, bad_line);
	fclose(f);
	return err;
}

static void test_escape_table(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"main", "main"},
		{"a;b", "a:b"},
		{";;", "::"},
		{"a\nb", "a?b"},
		{"tab\there", "tab?here"},
		{"\x01\x1f", "??"},
		{"del\x7f", "del?"},
		{"cr\r", "cr?"},
		{"operator new 123", "operator new_123"},
		{"foo 12 34", "foo 12_34"},
		{"foo  12", "foo _12"},
		{" 7", "_7"},
		{"foo 12a", "foo 12a"},
		{"foo12", "foo12"},
		{"123", "123"},
		{"a\t12", "a?12"},
		{"trail ", "trail_"},
		{"trail  ", "trail__"},
		{"x 1 ", "x 1_"},
		{" ", "_"},
		{"", "[unknown]"},
		{"std::map<int, int>::find", "std::map<int, int>::find"},
		{"caf\xc3\xa9", "caf\xc3\xa9"}, /* UTF-8 kept */
		{"[unknown]", "[unknown]"},
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = fmt_folded__escape(cases[i].in, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
	n = fmt_folded__escape(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "[unknown]");
	assert_int_equal(n, 9);
}

static void test_escape_truncates(void **state)
{
	char buf[8];

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(fmt_folded__escape("hello;world", buf, 4), 11);
	assert_string_equal(buf, "hel");
	assert_int_equal(buf[4], 'Z');
	assert_int_equal(fmt_folded__escape("hello", NULL, 0), 5);
	assert_int_equal(fmt_folded__escape("hello", buf, 1), 5);
	assert_string_equal(buf, "");
	/* The fix-ups apply to the whole name, even when cut short. */
	assert_int_equal(fmt_folded__escape("ab 12", buf, 4), 5);
	assert_string_equal(buf, "ab_");
}

static void test_write_basic(void **state)
{
	struct profile *p = profile__new();
	uint32_t fr[8], t;
	char *out;

	assert_non_null(p);
	t = task(p, 42, 42, "app");
	fr[0] = frame(p, "main", PROFILE_FRAME_USER);
	fr[1] = frame(p, "work", PROFILE_FRAME_USER);
	fr[2] = frame(p, "helper", PROFILE_FRAME_INLINE);
	fr[3] = frame(p, "sys_read", PROFILE_FRAME_KERNEL);
	fr[4] = frame(p, "LazyCompile:foo", PROFILE_FRAME_JIT);
	fr[5] = frame(p, "[truncated]", PROFILE_FRAME_SPECIAL);
	fr[6] = frame(p, "", PROFILE_FRAME_USER);

	sample(p, t, fr, 4, 3);
	sample(p, t, fr, 2, 5);
	sample(p, t, (uint32_t[]){fr[5], fr[4]}, 2, 1);
	sample(p, t, (uint32_t[]){fr[0], fr[6]}, 2, 2);
	sample(p, t, NULL, 0, 4);

	out = write_folded(p, NULL);
	assert_string_equal(out, "app 4\n"
				 "app;[truncated];LazyCompile:foo_[j] 1\n"
				 "app;main;[unknown] 2\n"
				 "app;main;work 5\n"
				 "app;main;work;helper_[i];sys_read_[k] 3\n");
	free(out);
	profile__free(p);
}

static void test_write_sort_merge(void **state)
{
	struct profile *p = profile__new();
	uint32_t a1, a2, ab, t_app1, t_app2, t_a, fa, fb, fc, fbc, semi, colon;
	char *out;

	assert_non_null(p);
	t_app1 = task(p, 1, 1, "app");
	t_app2 = task(p, 2, 2, "app"); /* same comm: lines merge */
	t_a = task(p, 3, 3, "a");
	a1 = task(p, 4, 4, "ab");
	a2 = task(p, 5, 5, "a;b"); /* escapes to "a:b" */
	ab = task(p, 6, 6, "a:b");
	fa = frame(p, "a", PROFILE_FRAME_USER);
	fb = frame(p, "b", PROFILE_FRAME_USER);
	fc = frame(p, "c", PROFILE_FRAME_USER);
	fbc = frame(p, "bc", PROFILE_FRAME_USER);
	semi = frame(p, "x;y", PROFILE_FRAME_USER);
	colon = frame(p, "x:y", PROFILE_FRAME_USER);

	sample(p, t_app1, (uint32_t[]){fb}, 1, 1);
	sample(p, t_app2, (uint32_t[]){fb}, 1, 2);
	sample(p, t_app1, (uint32_t[]){fa, fc}, 2, 4);
	sample(p, t_app2, (uint32_t[]){fa}, 1, 8);
	sample(p, t_app1, NULL, 0, 16);
	/* "a;bc" vs "a;b;c": the boundaries of the pieces differ. */
	sample(p, t_a, (uint32_t[]){fbc}, 1, 32);
	sample(p, t_a, (uint32_t[]){fb, fc}, 2, 64);
	sample(p, a1, (uint32_t[]){fa}, 1, 128);
	/* Distinct frames and comms that escape to the same text merge. */
	sample(p, a2, (uint32_t[]){semi}, 1, 256);
	sample(p, ab, (uint32_t[]){colon}, 1, 512);
	sample(p, ab, (uint32_t[]){semi}, 1, 1024);

	out = write_folded(p, NULL);
	assert_string_equal(out, "a:b;x:y 1792\n"
				 "a;b;c 64\n"
				 "a;bc 32\n"
				 "ab;a 128\n"
				 "app 16\n"
				 "app;a 8\n"
				 "app;a;c 4\n"
				 "app;b 3\n");
	free(out);
	profile__free(p);
}

static void test_write_per_thread(void **state)
{
	struct profile *p = profile__new();
	struct fmt_options opts = {.per_thread = true};
	uint32_t t1, t2, t3, f;
	char *out;

	assert_non_null(p);
	t1 = task(p, 100, 100, "srv");
	t2 = task(p, 100, 101, "srv");
	t3 = task(p, 200, 200, "my job 9");
	f = frame(p, "poll", PROFILE_FRAME_USER);
	sample(p, t1, &f, 1, 1);
	sample(p, t2, &f, 1, 2);
	sample(p, t3, &f, 1, 3);
	sample(p, t3, NULL, 0, 4);

	out = write_folded(p, &opts);
	assert_string_equal(out, "my job_9-200 4\n"
				 "my job_9-200;poll 3\n"
				 "srv-100;poll 1\n"
				 "srv-101;poll 2\n");
	free(out);
	out = write_folded(p, NULL);
	assert_string_equal(out, "my job_9 4\n"
				 "my job_9;poll 3\n"
				 "srv;poll 3\n");
	free(out);
	profile__free(p);
}

static void test_write_lines(void **state)
{
	struct profile *p = profile__new();
	struct fmt_options opts = {.lines = true};
	uint32_t fr[4], t;
	char *out;

	assert_non_null(p);
	t = task(p, 1, 1, "app");
	fr[0] = frame_full(p, "main", PROFILE_FRAME_USER, "src/main.c", 12);
	fr[1] = frame_full(p, "nolines", PROFILE_FRAME_USER, "lib.c", 0);
	fr[2] = frame_full(p, "inl", PROFILE_FRAME_INLINE, "a;b.h", 7);
	fr[3] = frame_full(p, "nofile", PROFILE_FRAME_KERNEL, NULL, 99);
	sample(p, t, fr, 4, 1);

	out = write_folded(p, &opts);
	assert_string_equal(out,
			    "app;main:src/main.c:12;nolines:lib.c;inl:a:b.h:7_[i];nofile_[k] 1\n");
	free(out);
	out = write_folded(p, NULL);
	assert_string_equal(out, "app;main;nolines;inl_[i];nofile_[k] 1\n");
	free(out);
	profile__free(p);
}

static void test_write_empty(void **state)
{
	struct profile *p = profile__new();
	char *out;

	assert_non_null(p);
	out = write_folded(p, NULL);
	assert_string_equal(out, "");
	free(out);
	/* A task and a stack without samples write nothing either. */
	task(p, 1, 1, "idle");
	frame(p, "x", PROFILE_FRAME_USER);
	out = write_folded(p, NULL);
	assert_string_equal(out, "");
	free(out);
	profile__free(p);
}

/* A profile with awkward names, several tasks and many stacks. */
static struct profile *build_mixed(void)
{
	static const char *const names[] = {
		"main",	 "a;b",	      "ctl\x01",   "op 123",	  "trail ", "",
		"x 1 2", "sys_write", "[unknown]", "caf\xc3\xa9", "deep",   "9",
	};
	static const char *const comms[] = {"app", "kworker/0:1", "my prog 2", "", "a;b"};
	struct profile *p = profile__new();
	uint32_t fr[48], tasks[5], buf[16], i, d, n;
	uint32_t nn = sizeof(names) / sizeof(names[0]);

	assert_non_null(p);
	for (i = 0; i < 48; i++)
		fr[i] = frame(p, names[i % nn], i / nn);
	for (i = 0; i < 5; i++)
		tasks[i] = task(p, 10 + i, 10 + i, comms[i]);
	for (i = 0; i < 3000; i++) {
		n = i % 13;
		for (d = 0; d < n; d++)
			buf[d] = fr[(i * 7 + d * 13 + d * i) % 48];
		sample(p, tasks[i % 5], buf, n, 1 + i % 17);
	}
	return p;
}

static void test_roundtrip(void **state)
{
	struct profile *p = build_mixed();
	struct profile *q = profile__new();
	unsigned long bad = 99;
	char *a, *b;

	assert_non_null(q);
	a = write_folded(p, NULL);
	assert_int_equal(read_folded(q, a, &bad), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(profile__total(q), profile__total(p));
	b = write_folded(q, NULL);
	assert_string_equal(a, b);
	free(b);

	/* Reading the same text again sums the counts. */
	assert_int_equal(read_folded(q, a, &bad), 0);
	assert_int_equal(profile__total(q), 2 * profile__total(p));
	free(a);
	profile__free(q);
	profile__free(p);
}

static void test_roundtrip_kinds(void **state)
{
	struct profile *p = profile__new();
	struct profile *q = profile__new();
	const struct profile_sample *s;
	const struct profile_frame *f;
	const uint32_t *fr;
	uint32_t ids[5], t, n;
	size_t ns;
	char *a;

	assert_non_null(p);
	assert_non_null(q);
	t = task(p, 7, 7, "proc");
	ids[0] = frame(p, "start", PROFILE_FRAME_USER);
	ids[1] = frame(p, "jitted", PROFILE_FRAME_JIT);
	ids[2] = frame(p, "inl", PROFILE_FRAME_INLINE);
	ids[3] = frame(p, "entry_SYSCALL_64", PROFILE_FRAME_KERNEL);
	ids[4] = frame(p, "do_sys_open", PROFILE_FRAME_KERNEL);
	sample(p, t, ids, 5, 9);
	a = write_folded(p, NULL);
	assert_int_equal(read_folded(q, a, NULL), 0);
	free(a);

	s = profile__samples(q, &ns);
	assert_int_equal(ns, 1);
	assert_int_equal(s[0].count, 9);
	assert_string_equal(profile__str(q, profile__task(q, s[0].task)->comm), "proc");
	assert_int_equal(profile__task(q, s[0].task)->pid, 0);
	fr = profile__stack(q, s[0].stack, &n);
	assert_int_equal(n, 5);
	f = profile__frame(q, fr[0]);
	assert_string_equal(profile__str(q, f->name), "start");
	assert_int_equal(f->kind, PROFILE_FRAME_USER);
	f = profile__frame(q, fr[1]);
	assert_string_equal(profile__str(q, f->name), "jitted");
	assert_int_equal(f->kind, PROFILE_FRAME_JIT);
	f = profile__frame(q, fr[2]);
	assert_string_equal(profile__str(q, f->name), "inl");
	assert_int_equal(f->kind, PROFILE_FRAME_INLINE);
	f = profile__frame(q, fr[4]);
	assert_string_equal(profile__str(q, f->name), "do_sys_open");
	assert_int_equal(f->kind, PROFILE_FRAME_KERNEL);
	profile__free(q);
	profile__free(p);
}

/* Every line matches flamegraph.pl's grammar and the counts add up. */
static void check_grammar(const struct profile *p, const struct fmt_options *opts)
{
	regex_t line_re, diff_re;
	regmatch_t m[3];
	char *out, *line, *save = NULL, *stack;
	uint64_t sum = 0;
	size_t lines = 0;

	assert_int_equal(regcomp(&line_re, "^(.*)[[:space:]]+([0-9]+)$", REG_EXTENDED), 0);
	/* flamegraph.pl reads a stack ending in " <digits>" as a second count column. */
	assert_int_equal(regcomp(&diff_re, "[[:space:]]+[0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	out = write_folded(p, opts);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(regexec(&line_re, line, 3, m, 0), 0);
		assert_int_equal(m[1].rm_so, 0);
		stack = strndup(line, (size_t)m[1].rm_eo);
		assert_non_null(stack);
		assert_int_not_equal(regexec(&diff_re, stack, 0, NULL, 0), 0);
		assert_null(strchr(stack, '\r'));
		assert_true(stack[0] && stack[strlen(stack) - 1] != ' ');
		free(stack);
		/* Exactly one space before the count. */
		assert_int_equal(m[2].rm_so - m[1].rm_eo, 1);
		sum += strtoull(line + m[2].rm_so, NULL, 10);
		lines++;
	}
	assert_true(lines > 0);
	assert_true(sum == profile__total(p));
	free(out);
	regfree(&diff_re);
	regfree(&line_re);
}

static void test_grammar(void **state)
{
	struct profile *p = build_mixed();
	struct fmt_options opts = {0};

	check_grammar(p, &opts);
	opts.per_thread = true;
	check_grammar(p, &opts);
	opts.lines = true;
	check_grammar(p, &opts);
	profile__free(p);
}

/* Count of the line whose frames (root first, after the comm) are @stack. */
static uint64_t count_of(const struct profile *q, const char *comm, const char *const *names,
			 const uint32_t *kinds, uint32_t depth)
{
	const struct profile_sample *s;
	const struct profile_frame *f;
	const uint32_t *fr;
	uint64_t sum = 0;
	size_t ns, i;
	uint32_t n, j;

	s = profile__samples(q, &ns);
	for (i = 0; i < ns; i++) {
		if (strcmp(profile__str(q, profile__task(q, s[i].task)->comm), comm))
			continue;
		fr = profile__stack(q, s[i].stack, &n);
		if (n != depth)
			continue;
		for (j = 0; j < n; j++) {
			f = profile__frame(q, fr[j]);
			if (strcmp(profile__str(q, f->name), names[j]) || f->kind != kinds[j])
				break;
		}
		if (j == n)
			sum += s[i].count;
	}
	return sum;
}

static void test_read_basic(void **state)
{
	static const char *const deep[] = {"main", "read"};
	static const uint32_t deep_k[] = {PROFILE_FRAME_USER, PROFILE_FRAME_KERNEL};
	static const char *const spaced[] = {"foo bar", "baz 1"};
	static const uint32_t user2[] = {PROFILE_FRAME_USER, PROFILE_FRAME_USER};
	static const char *const kinds[] = {"j", "i", "", "x_[z]"};
	static const uint32_t kinds_k[] = {PROFILE_FRAME_JIT, PROFILE_FRAME_INLINE,
					   PROFILE_FRAME_KERNEL, PROFILE_FRAME_USER};
	struct profile *q = profile__new();
	unsigned long bad = 5;

	assert_non_null(q);
	assert_int_equal(read_folded(q,
				     "app;main;read_[k] 5\n"
				     "app;main 3\n"
				     "\n"
				     "   \t\n"
				     "app;main;read_[k] 2\r\n"
				     "app;main;read_[k]\t\t10\n"
				     "app;foo bar;baz 1 2\n"
				     "app;j_[j];i_[i];_[k];x_[z] 1\n"
				     "lonely 4\n"
				     " 6",
				     &bad),
			 0);
	assert_int_equal(bad, 0);
	assert_int_equal(count_of(q, "app", deep, deep_k, 2), 17);
	assert_int_equal(count_of(q, "app", deep, deep_k, 1), 3);
	assert_int_equal(count_of(q, "app", spaced, user2, 2), 2);
	assert_int_equal(count_of(q, "app", kinds, kinds_k, 4), 1);
	assert_int_equal(count_of(q, "lonely", NULL, NULL, 0), 4);
	assert_int_equal(count_of(q, "", NULL, NULL, 0), 6);
	profile__free(q);

	/* The largest count, on a last line without a newline. */
	q = profile__new();
	assert_non_null(q);
	assert_int_equal(read_folded(q, "big;x 1\nbig 18446744073709551614", NULL), 0);
	assert_true(count_of(q, "big", NULL, NULL, 0) == UINT64_MAX - 1);
	assert_true(profile__total(q) == UINT64_MAX);
	profile__free(q);

	/* Reading twice sums. */
	q = profile__new();
	assert_non_null(q);
	assert_int_equal(read_folded(q, "app;main;read_[k] 5\n", NULL), 0);
	assert_int_equal(read_folded(q, "app;main;read_[k] 6\n", NULL), 0);
	assert_int_equal(count_of(q, "app", deep, deep_k, 2), 11);
	assert_int_equal(profile__stack_count(q), 1);
	assert_int_equal(profile__task_count(q), 1);
	assert_int_equal(profile__total(q), 11);
	assert_int_equal(read_folded(q, "", NULL), 0);
	assert_int_equal(profile__total(q), 11);
	profile__free(q);
}

static void test_read_errors(void **state)
{
	static const struct {
		const char *text;
		int err;
		unsigned long line;
	} cases[] = {
		{"a;b 1\nbad line\n", -EINVAL, 2},
		{"a;b\n", -EINVAL, 1},
		{"a;b 1\n\na;b 2\na;b\n", -EINVAL, 4},
		{"a;b 18446744073709551616\n", -EINVAL, 1},
		{"a;b 99999999999999999999999\n", -EINVAL, 1},
		{"a;b12\n", -EINVAL, 1},
		{"a;b 12x\n", -EINVAL, 1},
		{"a;b 12 \n", -EINVAL, 1},
		{"a;b -3\n", -EINVAL, 1},
		{"a;b 1.5\n", -EINVAL, 1},
		{"5\n", -EINVAL, 1},
		{"a;b 1\r\r\n", -EINVAL, 1},
		{"a 18446744073709551615\na 1\n", -EOVERFLOW, 2},
	};
	struct profile *q;
	unsigned long bad;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = profile__new();
		assert_non_null(q);
		bad = 0;
		assert_int_equal(read_folded(q, cases[i].text, &bad), cases[i].err);
		assert_int_equal(bad, cases[i].line);
		profile__free(q);
	}
	q = profile__new();
	assert_non_null(q);
	assert_int_equal(read_folded(q, "x\n", NULL), -EINVAL);
	assert_int_equal(fmt_folded__read(q, NULL, &bad), -EINVAL);
	profile__free(q);
}

static void test_read_long_line(void **state)
{
	const size_t name_len = 300000, nr_frames = 20000;
	struct profile *q = profile__new();
	const struct profile_sample *s;
	size_t len = 0, ns, i;
	char *text, *at;
	uint32_t n;

	assert_non_null(q);
	text = malloc(name_len + nr_frames * 3 + 64);
	assert_non_null(text);
	at = text;
	memcpy(at, "comm;", 5);
	at += 5;
	memset(at, 'n', name_len);
	at += name_len;
	for (i = 0; i < nr_frames; i++) {
		memcpy(at, i % 2 ? ";f" : ";g", 2);
		at += 2;
	}
	len = (size_t)(at - text);
	memcpy(at, " 77\n", 5);
	assert_int_equal(read_folded(q, text, NULL), 0);
	s = profile__samples(q, &ns);
	assert_int_equal(ns, 1);
	assert_int_equal(s[0].count, 77);
	profile__stack(q, s[0].stack, &n);
	assert_int_equal(n, nr_frames + 1);
	assert_int_equal(strlen(profile__str(q, profile__frame(q, 0)->name)), name_len);
	assert_int_equal(profile__frame_count(q), 3);

	/* And back out again. */
	{
		char *out = write_folded(q, NULL);

		assert_int_equal(strlen(out), len + 4);
		assert_memory_equal(out, text, len);
		free(out);
	}
	free(text);
	profile__free(q);
}

static void test_kinds(void **state)
{
	static const char *const names[] = {"folded", "svg", "html", "pprof", "speedscope", "json"};
	struct profile *p = profile__new();
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	assert_non_null(p);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(fmt__parse_kind(names[i]), (int)i);
		assert_string_equal(fmt__kind_name((enum fmt_kind)i), names[i]);
	}
	assert_int_equal(fmt__parse_kind("FOLDED"), -EINVAL);
	assert_int_equal(fmt__parse_kind("fold"), -EINVAL);
	assert_int_equal(fmt__parse_kind(""), -EINVAL);
	assert_int_equal(fmt__parse_kind(NULL), -EINVAL);
	assert_null(fmt__kind_name((enum fmt_kind)99));
	assert_true(fmt__is_binary(FMT_PPROF));
	assert_false(fmt__is_binary(FMT_FOLDED));
	assert_false(fmt__is_binary(FMT_SVG));
	assert_false(fmt__is_binary(FMT_JSON));

	sample(p, task(p, 1, 1, "t"), (uint32_t[]){frame(p, "f", PROFILE_FRAME_USER)}, 1, 2);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(fmt__write(p, FMT_FOLDED, NULL, f), 0);
	assert_int_equal(fmt__write(p, (enum fmt_kind)99, NULL, f), -EINVAL);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "t;f 2\n");
	free(buf);
	profile__free(p);
}

static void test_write_error(void **state)
{
	struct profile *p = build_mixed();
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		profile__free(p);
		skip();
	}
	assert_int_equal(fmt_folded__write(p, NULL, f), -ENOSPC);
	fclose(f);
	profile__free(p);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_truncates),
		cmocka_unit_test(test_write_basic),
		cmocka_unit_test(test_write_sort_merge),
		cmocka_unit_test(test_write_per_thread),
		cmocka_unit_test(test_write_lines),
		cmocka_unit_test(test_write_empty),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_kinds),
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_read_basic),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_read_long_line),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_write_error),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
