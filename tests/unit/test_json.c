/*
 * Unit tests for the flamegraph payload (formats/json.c): the tree (process
 * level, merging frames into functions, self and total, x offsets), the cut
 * to a node budget with explicit "[other]" nodes, top functions counted
 * before the cut and without double counting recursion, diffs, the JSON
 * string escaping, and the json/html writers behind fmt__write.
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

#include "ember/formats.h"
#include "ember/profile.h"

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t frame_at(struct profile *p, const char *name, const char *module, uint32_t kind,
			 uint64_t addr)
{
	struct profile_frame f = {0};
	int64_t id;

	f.name = intern(p, name);
	f.module = module ? intern(p, module) : 0;
	f.kind = kind;
	f.addr = addr;
	id = profile__add_frame(p, &f);
	assert_true(id >= 0);
	return (uint32_t)id;
}

/* Adds @count samples of @comm (pid @pid) with the stack "root;...;leaf" (user frames of "app"). */
static void add(struct profile *p, uint32_t pid, const char *comm, const char *stack,
		uint64_t count)
{
	struct profile_task t = {.pid = pid, .tid = pid, .comm = intern(p, comm)};
	uint32_t frames[64], n = 0;
	char buf[1024], *tok, *save = NULL;
	int64_t sid, tid;

	assert_true(strlen(stack) < sizeof(buf));
	strcpy(buf, stack);
	for (tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		assert_true(n < 64);
		frames[n++] = frame_at(p, tok, "app", PROFILE_FRAME_USER, 0);
	}
	sid = profile__add_stack(p, frames, n);
	tid = profile__add_task(p, &t);
	assert_true(sid >= 0 && tid >= 0);
	assert_int_equal(profile__add_sample(p, (uint32_t)sid, (uint32_t)tid, count), 0);
}

static struct profile *new_profile(void)
{
	struct profile *p = profile__new();

	assert_non_null(p);
	return p;
}

/* The node of @level named @name (first match), or NULL. */
static const struct fmt_tree_node *find(const struct fmt_tree *t, uint32_t level, const char *name)
{
	const struct fmt_tree_node *n;
	size_t cnt, i;

	n = fmt_tree__level(t, level, &cnt);
	for (i = 0; i < cnt; i++)
		if (!strcmp(fmt_tree__str(t, n[i].name), name))
			return &n[i];
	return NULL;
}

static const struct fmt_tree_func *find_top(const struct fmt_tree *t, const char *name)
{
	const struct fmt_tree_func *f;
	size_t n, i;

	f = fmt_tree__top(t, &n);
	for (i = 0; i < n; i++)
		if (!strcmp(fmt_tree__str(t, f[i].name), name))
			return &f[i];
	return NULL;
}

/*
 * Checks what must hold for every tree: levels in x order without overlap,
 * children inside their parent, parent.total == parent.self + sum(children),
 * and the sum of every self equal to the root's total.
 */
static void check_invariants(const struct fmt_tree *t)
{
	const struct fmt_tree_node *lv, *up;
	size_t n, nup, i;
	uint64_t self_sum = 0, *kids, *base_kids, end;
	uint32_t d;

	lv = fmt_tree__level(t, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(lv[0].x, 0);
	assert_int_equal(lv[0].kind, FMT_TREE_ROOT);
	for (d = 0; d < fmt_tree__depth(t); d++) {
		lv = fmt_tree__level(t, d, &n);
		assert_true(n > 0);
		end = 0;
		for (i = 0; i < n; i++) {
			assert_true(lv[i].x >= end);
			assert_true(lv[i].total > 0);
			assert_true(lv[i].self <= lv[i].total);
			assert_true(lv[i].base_total <= lv[i].total);
			end = lv[i].x + lv[i].total;
			self_sum += lv[i].self;
		}
		if (!d)
			continue;
		up = fmt_tree__level(t, d - 1, &nup);
		kids = calloc(nup, sizeof(*kids));
		base_kids = calloc(nup, sizeof(*base_kids));
		assert_non_null(kids);
		assert_non_null(base_kids);
		for (i = 0; i < n; i++) {
			assert_true(lv[i].parent < nup);
			assert_true(lv[i].x >= up[lv[i].parent].x);
			assert_true(lv[i].x + lv[i].total <=
				    up[lv[i].parent].x + up[lv[i].parent].total);
			kids[lv[i].parent] += lv[i].total;
			base_kids[lv[i].parent] += lv[i].base_total;
		}
		for (i = 0; i < nup; i++) {
			if (!kids[i] && up[i].self == up[i].total)
				continue;
			assert_int_equal(up[i].total, up[i].self + kids[i]);
			assert_int_equal(up[i].base_total, up[i].base_self + base_kids[i]);
		}
		free(kids);
		free(base_kids);
	}
	lv = fmt_tree__level(t, 0, &n);
	assert_int_equal(self_sum, lv[0].total);
}

static void test_tree_basic(void **state)
{
	struct profile *p = new_profile();
	const struct fmt_tree_node *lv, *n;
	struct fmt_tree *t;
	size_t cnt;

	add(p, 10, "app", "main;a;b", 3);
	add(p, 10, "app", "main;a", 2);
	add(p, 11, "app", "main;c", 5); /* another pid, same name: one process node */
	add(p, 12, "zed", "x", 1);
	t = fmt_tree__build(p, NULL, NULL);
	assert_non_null(t);
	check_invariants(t);
	assert_false(fmt_tree__is_diff(t));
	assert_int_equal(fmt_tree__depth(t), 5); /* all, comm, main, a|c, b */

	lv = fmt_tree__level(t, 0, &cnt);
	assert_string_equal(fmt_tree__str(t, lv[0].name), "all");
	assert_int_equal(lv[0].total, 11);
	assert_int_equal(lv[0].self, 0);

	lv = fmt_tree__level(t, 1, &cnt);
	assert_int_equal(cnt, 2);
	assert_string_equal(fmt_tree__str(t, lv[0].name), "app");
	assert_int_equal(lv[0].kind, FMT_TREE_COMM);
	assert_int_equal(lv[0].x, 0);
	assert_int_equal(lv[0].total, 10);
	assert_string_equal(fmt_tree__str(t, lv[1].name), "zed");
	assert_int_equal(lv[1].x, 10);
	assert_int_equal(lv[1].total, 1);

	n = find(t, 3, "a");
	assert_non_null(n);
	assert_int_equal(n->x, 0);
	assert_int_equal(n->total, 5);
	assert_int_equal(n->self, 2);
	assert_string_equal(fmt_tree__str(t, n->module), "app");
	assert_int_equal(n->kind, FMT_TREE_USER);
	n = find(t, 3, "c");
	assert_non_null(n);
	assert_int_equal(n->x, 5); /* after "a" */
	assert_int_equal(n->total, 5);
	assert_int_equal(n->self, 5);
	n = find(t, 4, "b");
	assert_non_null(n);
	assert_int_equal(n->total, 3);
	assert_int_equal(n->self, 3);
	n = find(t, 2, "x");
	assert_non_null(n);
	assert_int_equal(n->x, 10);

	assert_int_equal(fmt_tree__nodes(t), fmt_tree__nodes_before(t));
	assert_int_equal(fmt_tree__nodes(t), 1 + 2 + 2 + 2 + 1);
	fmt_tree__free(t);
	profile__free(p);
}

/* Frames of one function at different addresses are one node; other modules or kinds are not. */
static void test_tree_merges_functions(void **state)
{
	struct profile *p = new_profile();
	struct profile_task tk = {.pid = 1, .tid = 1};
	uint32_t s1[2], s2[2], s3[2], s4[2];
	const struct fmt_tree_node *lv;
	struct fmt_tree *t;
	int64_t task, st;
	size_t cnt;

	tk.comm = intern(p, "app");
	task = profile__add_task(p, &tk);
	assert_true(task >= 0);
	s1[0] = s2[0] = s3[0] = s4[0] = frame_at(p, "main", "app", PROFILE_FRAME_USER, 0x10);
	s1[1] = frame_at(p, "work", "app", PROFILE_FRAME_USER, 0x100);
	s2[1] = frame_at(p, "work", "app", PROFILE_FRAME_USER, 0x180);
	s3[1] = frame_at(p, "work", "libother.so", PROFILE_FRAME_USER, 0x100);
	s4[1] = frame_at(p, "work", "app", PROFILE_FRAME_INLINE, 0x100);
	st = profile__add_stack(p, s1, 2);
	assert_int_equal(profile__add_sample(p, (uint32_t)st, (uint32_t)task, 1), 0);
	st = profile__add_stack(p, s2, 2);
	assert_int_equal(profile__add_sample(p, (uint32_t)st, (uint32_t)task, 2), 0);
	st = profile__add_stack(p, s3, 2);
	assert_int_equal(profile__add_sample(p, (uint32_t)st, (uint32_t)task, 4), 0);
	st = profile__add_stack(p, s4, 2);
	assert_int_equal(profile__add_sample(p, (uint32_t)st, (uint32_t)task, 8), 0);

	t = fmt_tree__build(p, NULL, NULL);
	assert_non_null(t);
	check_invariants(t);
	lv = fmt_tree__level(t, 3, &cnt);
	assert_int_equal(cnt, 3);
	/* Same name: ordered by module, then kind. */
	assert_string_equal(fmt_tree__str(t, lv[0].module), "app");
	assert_int_equal(lv[0].kind, FMT_TREE_USER);
	assert_int_equal(lv[0].total, 3);
	assert_string_equal(fmt_tree__str(t, lv[1].module), "app");
	assert_int_equal(lv[1].kind, FMT_TREE_INLINE);
	assert_int_equal(lv[1].total, 8);
	assert_string_equal(fmt_tree__str(t, lv[2].module), "libother.so");
	assert_int_equal(lv[2].total, 4);
	assert_int_equal(fmt_tree__funcs(t), 4); /* main and three "work" */
	fmt_tree__free(t);
	profile__free(p);
}

/* A function that recurses counts once per sample in its total. */
static void test_top_recursion(void **state)
{
	struct profile *p = new_profile();
	const struct fmt_tree_func *f, *all;
	struct fmt_tree *t;
	size_t n;

	add(p, 1, "app", "main;rec;rec;rec", 4);
	add(p, 1, "app", "main;rec;leaf", 6);
	add(p, 1, "app", "main", 1);
	t = fmt_tree__build(p, NULL, NULL);
	assert_non_null(t);
	check_invariants(t);
	f = find_top(t, "rec");
	assert_non_null(f);
	assert_int_equal(f->total, 10);
	assert_int_equal(f->self, 4);
	f = find_top(t, "main");
	assert_non_null(f);
	assert_int_equal(f->total, 11);
	assert_int_equal(f->self, 1);
	f = find_top(t, "leaf");
	assert_non_null(f);
	assert_int_equal(f->total, 6);
	assert_int_equal(f->self, 6);
	/* Process names are not functions; the first row has the most self samples. */
	assert_null(find_top(t, "app"));
	all = fmt_tree__top(t, &n);
	assert_int_equal(n, 3);
	assert_string_equal(fmt_tree__str(t, all[0].name), "leaf");
	assert_string_equal(fmt_tree__str(t, all[1].name), "rec");
	assert_string_equal(fmt_tree__str(t, all[2].name), "main");
	fmt_tree__free(t);
	profile__free(p);
}

/* A wide tree: 200 children of main with counts 1..200, each with a child of its own. */
static struct profile *wide_profile(void)
{
	struct profile *p = new_profile();
	char stack[64];
	int i;

	for (i = 1; i <= 200; i++) {
		snprintf(stack, sizeof(stack), "main;f%03d;g%03d", i, i);
		add(p, 1, "app", stack, (uint64_t)i);
	}
	return p;
}

static void test_truncation(void **state)
{
	struct fmt_tree_opts o = {.max_nodes = 50};
	struct profile *p = wide_profile();
	const struct fmt_tree_node *lv, *other, *n;
	const struct fmt_tree_func *f;
	uint64_t kept = 0, min_kept = UINT64_MAX;
	struct fmt_tree *t, *full;
	size_t cnt, i, others = 0;
	uint32_t d;

	full = fmt_tree__build(p, NULL, NULL);
	assert_non_null(full);
	assert_int_equal(fmt_tree__nodes(full), 1 + 1 + 1 + 200 + 200);

	t = fmt_tree__build(p, NULL, &o);
	assert_non_null(t);
	check_invariants(t);
	assert_true(fmt_tree__nodes(t) <= 50);
	assert_true(fmt_tree__nodes(t) >= 45); /* the budget is used, not wasted */
	assert_int_equal(fmt_tree__nodes_before(t), fmt_tree__nodes(full));

	/* The root's total is unchanged; main lost children into one "[other]". */
	lv = fmt_tree__level(t, 0, &cnt);
	assert_int_equal(lv[0].total, 200 * 201 / 2);
	other = find(t, 3, FMT_TREE_OTHER_NAME);
	assert_non_null(other);
	assert_int_equal(other->kind, FMT_TREE_SPECIAL);
	lv = fmt_tree__level(t, 3, &cnt);
	assert_ptr_equal(other, &lv[cnt - 1]); /* last of its siblings */
	for (i = 0; i + 1 < cnt; i++) {
		kept += lv[i].total;
		if (lv[i].total < min_kept)
			min_kept = lv[i].total;
	}
	assert_int_equal(other->total, 200 * 201 / 2 - kept);
	assert_int_equal(other->self, other->total);
	/* The heaviest were kept: every dropped function is lighter than every kept one. */
	assert_int_equal(min_kept, 201 - (cnt - 1));
	assert_non_null(find(t, 3, "f200"));
	assert_null(find(t, 3, "f001"));

	/* Every "[other]" has no children and is the last child of its parent. */
	for (d = 0; d < fmt_tree__depth(t); d++) {
		lv = fmt_tree__level(t, d, &cnt);
		for (i = 0; i < cnt; i++) {
			if (strcmp(fmt_tree__str(t, lv[i].name), FMT_TREE_OTHER_NAME))
				continue;
			others++;
			assert_int_equal(lv[i].self, lv[i].total);
			if (i + 1 < cnt)
				assert_true(lv[i + 1].parent != lv[i].parent);
		}
	}
	assert_true(others >= 1);

	/* Top functions were counted before the cut: f001 is gone from the graph, not the table. */
	f = find_top(t, "f001");
	assert_non_null(f);
	assert_int_equal(f->total, 1);
	f = find_top(t, "g007");
	assert_non_null(f);
	assert_int_equal(f->self, 7);
	n = find(t, 4, "g200");
	assert_non_null(n);
	assert_int_equal(n->self, 200);
	fmt_tree__free(t);
	fmt_tree__free(full);
	profile__free(p);
}

/* Budgets at the edges: 0 is no limit, 1 still gives a root and its "[other]". */
static void test_truncation_edges(void **state)
{
	struct fmt_tree_opts o = {0};
	struct profile *p = wide_profile();
	const struct fmt_tree_node *lv;
	struct fmt_tree *t;
	size_t cnt;

	t = fmt_tree__build(p, NULL, &o);
	assert_non_null(t);
	assert_int_equal(fmt_tree__nodes(t), fmt_tree__nodes_before(t));
	fmt_tree__free(t);

	o.max_nodes = 1;
	t = fmt_tree__build(p, NULL, &o);
	assert_non_null(t);
	check_invariants(t);
	assert_int_equal(fmt_tree__nodes(t), 2);
	lv = fmt_tree__level(t, 1, &cnt);
	assert_int_equal(cnt, 1);
	assert_string_equal(fmt_tree__str(t, lv[0].name), FMT_TREE_OTHER_NAME);
	assert_int_equal(lv[0].total, 200 * 201 / 2);
	fmt_tree__free(t);

	o.max_nodes = (uint32_t)fmt_tree__nodes_before(t = fmt_tree__build(p, NULL, NULL));
	fmt_tree__free(t);
	t = fmt_tree__build(p, NULL, &o);
	assert_non_null(t);
	assert_null(find(t, 3, FMT_TREE_OTHER_NAME));
	fmt_tree__free(t);
	profile__free(p);
}

static void test_top_limit(void **state)
{
	struct fmt_tree_opts o = {.max_top = 1};
	struct profile *p = new_profile();
	struct fmt_tree *t;
	size_t n;

	/* "wide" has the most total samples, "hot" the most self ones. */
	add(p, 1, "app", "wide;a", 3);
	add(p, 1, "app", "wide;b", 3);
	add(p, 1, "app", "wide;c", 3);
	add(p, 1, "app", "hot", 5);
	add(p, 1, "app", "cold", 1);
	t = fmt_tree__build(p, NULL, &o);
	assert_non_null(t);
	fmt_tree__top(t, &n);
	assert_int_equal(n, 2);
	assert_non_null(find_top(t, "wide"));
	assert_non_null(find_top(t, "hot"));
	assert_null(find_top(t, "cold"));
	assert_int_equal(fmt_tree__funcs(t), 6);
	fmt_tree__free(t);
	profile__free(p);
}

static void test_diff(void **state)
{
	struct profile *a = new_profile(), *b = new_profile();
	const struct fmt_tree_node *n;
	const struct fmt_tree_func *f;
	struct fmt_tree *t;

	add(a, 1, "app", "main;grow", 10);
	add(a, 1, "app", "main;shrink", 90);
	add(a, 1, "app", "main;gone", 5);
	add(b, 2, "app", "main;grow", 60);
	add(b, 2, "app", "main;shrink", 40);
	add(b, 2, "app", "main;new", 7);
	t = fmt_tree__build(b, a, NULL);
	assert_non_null(t);
	assert_true(fmt_tree__is_diff(t));
	check_invariants(t);

	n = fmt_tree__level(t, 0, &(size_t){0});
	assert_int_equal(n->total, 105 + 107);
	assert_int_equal(n->base_total, 105);
	n = find(t, 3, "grow");
	assert_non_null(n);
	assert_int_equal(n->total, 70);
	assert_int_equal(n->base_total, 10);
	assert_int_equal(n->base_self, 10);
	n = find(t, 3, "gone");
	assert_non_null(n);
	assert_int_equal(n->total, 5);
	assert_int_equal(n->base_total, 5);
	n = find(t, 3, "new");
	assert_non_null(n);
	assert_int_equal(n->total, 7);
	assert_int_equal(n->base_total, 0);

	f = find_top(t, "shrink");
	assert_non_null(f);
	assert_int_equal(f->self, 130);
	assert_int_equal(f->base_self, 90);
	assert_int_equal(f->base_total, 90);
	fmt_tree__free(t);
	profile__free(a);
	profile__free(b);
}

static void test_empty(void **state)
{
	struct profile *p = new_profile();
	const struct fmt_tree_node *lv;
	struct fmt_tree *t;
	size_t cnt;

	t = fmt_tree__build(p, NULL, NULL);
	assert_non_null(t);
	assert_int_equal(fmt_tree__depth(t), 1);
	lv = fmt_tree__level(t, 0, &cnt);
	assert_int_equal(cnt, 1);
	assert_int_equal(lv[0].total, 0);
	assert_null(fmt_tree__level(t, 1, &cnt));
	assert_int_equal(cnt, 0);
	fmt_tree__top(t, &cnt);
	assert_int_equal(cnt, 0);
	fmt_tree__free(t);
	profile__free(p);
	assert_null(fmt_tree__build(NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fmt_json__write_string(f, s), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_json_string(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "\"plain\""},
		{"<img src=x onerror=alert(1)>", "\"\\u003cimg src=x onerror=alert(1)\\u003e\""},
		{"</script>", "\"\\u003c/script\\u003e\""},
		{"a\"b\\c", "\"a\\\"b\\\\c\""},
		{"t\tn\nc\x01", "\"t\\tn\\nc\\u0001\""},
		{"&amp;", "\"\\u0026amp;\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5",
		 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\""},
		{"bad\xff\xfe!", "\"bad\\ufffd\\ufffd!\""},
		{"cut\xe2\x82", "\"cut\\ufffd\\ufffd\""},
		{"over\xc0\xaf", "\"over\\ufffd\\ufffd\""},	     /* overlong '/' */
		{"sur\xed\xa0\x80", "\"sur\\ufffd\\ufffd\\ufffd\""}, /* UTF-16 surrogate */
		{"ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\u2028ps\\u2029\""},
		{"", "\"\""},
	};
	size_t i;
	char *s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = escaped(cases[i].in);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
	s = escaped(NULL);
	assert_string_equal(s, "\"\"");
	free(s);
}

static char *write_fmt(const struct profile *p, enum fmt_kind kind)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fmt__write(p, kind, NULL, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_json_document(void **state)
{
	struct profile *p = new_profile();
	struct fmt_tree_opts o = {.max_nodes = 3};
	struct fmt_tree *t;
	char *s, *buf = NULL;
	size_t len = 0;
	FILE *f;

	add(p, 1, "app", "main;<img src=x onerror=alert(1)>", 2);
	add(p, 1, "app", "main;b", 1);
	profile__meta(p)->start_ns = 1700000000123456789ULL;
	profile__meta(p)->freq_hz = 19;
	s = write_fmt(p, FMT_JSON);
	assert_non_null(strstr(s, "{\"format\":\"ember-flamegraph\",\"version\":1,"));
	assert_non_null(strstr(s, "\"meta\":{\"start_ms\":1700000000123,"));
	assert_non_null(strstr(s, "\"freq_hz\":19,"));
	assert_non_null(strstr(s, "\"total\":3,"));
	assert_non_null(strstr(s, "\"truncated\":false"));
	assert_null(strstr(s, "[other]")); /* nothing was cut */
	assert_non_null(strstr(s, "\"\\u003cimg src=x onerror=alert(1)\\u003e\""));
	assert_null(strstr(s, "<img"));
	/* Level 3: "<img ..." (x 0, total 2, self 2) then "b" (x 2). */
	assert_non_null(strstr(s, "\"levels\":[\n[0,3,0,"));
	assert_non_null(strstr(s, ",\n[0,2,2,"));
	assert_non_null(strstr(s, ",2,1,1,"));
	free(s);

	t = fmt_tree__build(p, NULL, &o);
	assert_non_null(t);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(fmt_tree__write_json(t, "\"range\":{\"a\":1}", f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "\"version\":1,\"range\":{\"a\":1},\"diff\":false,"));
	assert_non_null(strstr(buf, "\"truncated\":true"));
	assert_non_null(strstr(buf, "\"nodes\":3,\"nodes_before\":5,"));
	assert_non_null(strstr(buf, "\"[other]\""));
	free(buf);
	fmt_tree__free(t);
	profile__free(p);
}

static void test_html_document(void **state)
{
	struct profile *p = new_profile();
	char *s, *data, *end;

	add(p, 1, "app", "main;<img src=x onerror=alert(1)>", 2);
	add(p, 1, "app", "main;</script><script>alert(2)</script>", 1);
	s = write_fmt(p, FMT_HTML);
	assert_true(!strncmp(s, "<!doctype html>", 15) || !strncmp(s, "<!DOCTYPE html>", 15));
	/* The names appear only escaped: the data element ends where the writer ended it. */
	assert_null(strstr(s, "<img"));
	assert_null(strstr(s, "alert(2)</script>"));
	data = strstr(s, "id=\"ember-data\">");
	assert_non_null(data);
	end = strstr(data, "</script>");
	assert_non_null(end);
	assert_non_null(strstr(data, "\"format\":\"ember-flamegraph\""));
	assert_true(strstr(data, "\"format\":\"ember-flamegraph\"") < end);
	assert_true(strstr(data, "alert(2)") < end);
	/* No placeholder is left and the view's script is inline: nothing to fetch. */
	assert_null(strstr(s, "<!--ember:"));
	assert_null(strstr(s, "<script src"));
	assert_null(strstr(s, "<link rel=\"stylesheet"));
	assert_null(strstr(s, "href=\"http"));
	assert_null(strstr(s, "\nimport "));
	free(s);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_basic),
		cmocka_unit_test(test_tree_merges_functions),
		cmocka_unit_test(test_top_recursion),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_truncation_edges),
		cmocka_unit_test(test_top_limit),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_document),
		cmocka_unit_test(test_html_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
