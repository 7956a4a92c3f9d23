/*
 * Unit tests for the speedscope writer (formats/speedscope.c). The output is
 * parsed by a strict JSON parser written here and checked against the file
 * format's rules (https://www.speedscope.app/file-format-schema.json): frame
 * indexes in range, weights as long as samples, a known unit, endValue
 * covering the weights; then against the hand-built profile's contents.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "text.h"

/* ---- a strict JSON parser ------------------------------------------------ */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	double num;
	char *str; /* J_STR: decoded UTF-8 */
	struct jv **items;
	char **keys; /* J_OBJ */
	size_t n;
};

struct jp {
	const char *s;
	size_t pos, len;
};

static void jv_free(struct jv *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		jv_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static void ws(struct jp *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]))
		p->pos++;
}

static void expect(struct jp *p, char c)
{
	ws(p);
	if (p->pos >= p->len || p->s[p->pos] != c)
		fail_msg("JSON: expected '%c' at offset %zu", c, p->pos);
	p->pos++;
}

static void put_utf8(char **out, size_t *n, uint32_t cp)
{
	char *o = *out + *n;

	if (cp < 0x80) {
		o[0] = (char)cp;
		*n += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		*n += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		*n += 3;
	} else {
		o[0] = (char)(0xf0 | cp >> 18);
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		*n += 4;
	}
}

static uint32_t hex4(struct jp *p)
{
	uint32_t v = 0;
	int i;

	assert_true(p->pos + 4 <= p->len);
	for (i = 0; i < 4; i++) {
		char c = p->s[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			fail_msg("JSON: bad \\u escape");
	}
	return v;
}

static char *parse_string(struct jp *p)
{
	char *out;
	size_t n = 0, k;
	uint32_t cp, lo;

	expect(p, '"');
	out = malloc(p->len - p->pos + 4);
	assert_non_null(out);
	for (;;) {
		unsigned char c;

		assert_true(p->pos < p->len);
		c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20)
			fail_msg("JSON: raw control character in a string");
		if (c >= 0x80) {
			k = fmt_text__utf8_len((const unsigned char *)p->s + p->pos,
					       p->len - p->pos);
			if (!k)
				fail_msg("JSON: invalid UTF-8 at offset %zu", p->pos);
			memcpy(out + n, p->s + p->pos, k);
			n += k;
			p->pos += k;
			continue;
		}
		p->pos++;
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		assert_true(p->pos < p->len);
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			out[n++] = (char)c;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u':
			cp = hex4(p);
			if (cp >= 0xd800 && cp < 0xdc00) {
				assert_true(p->pos + 2 <= p->len && p->s[p->pos] == '\\' &&
					    p->s[p->pos + 1] == 'u');
				p->pos += 2;
				lo = hex4(p);
				assert_true(lo >= 0xdc00 && lo < 0xe000);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else {
				assert_false(cp >= 0xdc00 && cp < 0xe000);
			}
			put_utf8(&out, &n, cp);
			break;
		default:
			fail_msg("JSON: bad escape \\%c", c);
		}
	}
	out[n] = '\0';
	return out;
}

static struct jv *parse_value(struct jp *p);

static void push(struct jv *v, struct jv *item, char *key)
{
	v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
	assert_non_null(v->items);
	if (v->t == J_OBJ) {
		v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
		assert_non_null(v->keys);
		v->keys[v->n] = key;
	}
	v->items[v->n++] = item;
}

static struct jv *parse_value(struct jp *p)
{
	struct jv *v = calloc(1, sizeof(*v));
	char *end, *key;
	size_t i;

	assert_non_null(v);
	ws(p);
	assert_true(p->pos < p->len);
	switch (p->s[p->pos]) {
	case '{':
		v->t = J_OBJ;
		p->pos++;
		ws(p);
		if (p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		for (;;) {
			key = parse_string(p);
			for (i = 0; i < v->n; i++)
				assert_string_not_equal(v->keys[i], key); /* no duplicate keys */
			expect(p, ':');
			push(v, parse_value(p), key);
			ws(p);
			if (p->s[p->pos] == ',') {
				p->pos++;
				continue;
			}
			expect(p, '}');
			break;
		}
		break;
	case '[':
		v->t = J_ARR;
		p->pos++;
		ws(p);
		if (p->s[p->pos] == ']') {
			p->pos++;
			break;
		}
		for (;;) {
			push(v, parse_value(p), NULL);
			ws(p);
			if (p->s[p->pos] == ',') {
				p->pos++;
				continue;
			}
			expect(p, ']');
			break;
		}
		break;
	case '"':
		v->t = J_STR;
		v->str = parse_string(p);
		break;
	case 't':
	case 'f':
	case 'n':
		if (!strncmp(p->s + p->pos, "true", 4)) {
			v->t = J_BOOL;
			v->num = 1;
			p->pos += 4;
		} else if (!strncmp(p->s + p->pos, "false", 5)) {
			v->t = J_BOOL;
			p->pos += 5;
		} else if (!strncmp(p->s + p->pos, "null", 4)) {
			v->t = J_NULL;
			p->pos += 4;
		} else {
			fail_msg("JSON: bad literal");
		}
		break;
	default:
		v->t = J_NUM;
		/* JSON numbers: no leading '+', no leading zeros, no hex */
		assert_true(p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'));
		assert_false(p->s[p->pos] == '0' && p->s[p->pos + 1] >= '0' &&
			     p->s[p->pos + 1] <= '9');
		v->num = strtod(p->s + p->pos, &end);
		assert_true(end > p->s + p->pos);
		p->pos = (size_t)(end - p->s);
		break;
	}
	return v;
}

static struct jv *parse_json(const char *s)
{
	struct jp p = {.s = s, .len = strlen(s)};
	struct jv *v = parse_value(&p);

	ws(&p);
	assert_int_equal(p.pos, p.len);
	return v;
}

static struct jv *get(const struct jv *o, const char *key)
{
	size_t i;

	assert_int_equal(o->t, J_OBJ);
	for (i = 0; i < o->n; i++) {
		if (!strcmp(o->keys[i], key))
			return o->items[i];
	}
	return NULL;
}

static struct jv *need(const struct jv *o, const char *key, enum jtype t)
{
	struct jv *v = get(o, key);

	if (!v)
		fail_msg("missing key '%s'", key);
	assert_int_equal(v->t, t);
	return v;
}

static bool is_uint(double d)
{
	return d >= 0 && d == floor(d) && d < 9007199254740992.0;
}

/* ---- the file format's rules --------------------------------------------- */

/* Checks every rule of the format; returns the parsed file. */
static struct jv *validate(const char *text)
{
	static const char *const units[] = {"none",	    "nanoseconds", "microseconds",
					    "milliseconds", "seconds",	   "bytes"};
	struct jv *root = parse_json(text), *frames, *profiles, *v;
	size_t i, j, k, u;
	double sum;

	assert_string_equal(need(root, "$schema", J_STR)->str,
			    "https://www.speedscope.app/file-format-schema.json");
	frames = need(need(root, "shared", J_OBJ), "frames", J_ARR);
	for (i = 0; i < frames->n; i++) {
		struct jv *f = frames->items[i];

		assert_int_equal(f->t, J_OBJ);
		need(f, "name", J_STR);
		for (j = 0; j < f->n; j++) {
			const char *key = f->keys[j];

			if (!strcmp(key, "file")) {
				assert_int_equal(f->items[j]->t, J_STR);
			} else if (!strcmp(key, "line") || !strcmp(key, "col")) {
				assert_int_equal(f->items[j]->t, J_NUM);
				assert_true(is_uint(f->items[j]->num) && f->items[j]->num >= 1);
			} else {
				assert_string_equal(key, "name");
			}
		}
	}
	profiles = need(root, "profiles", J_ARR);
	assert_true(profiles->n >= 1);
	for (i = 0; i < profiles->n; i++) {
		struct jv *pr = profiles->items[i], *samples, *weights;
		double start, end;

		assert_string_equal(need(pr, "type", J_STR)->str, "sampled");
		need(pr, "name", J_STR);
		v = need(pr, "unit", J_STR);
		for (u = 0; u < 6 && strcmp(v->str, units[u]); u++)
			;
		assert_true(u < 6);
		assert_string_equal(v->str, "none");
		start = need(pr, "startValue", J_NUM)->num;
		end = need(pr, "endValue", J_NUM)->num;
		assert_true(end >= start);
		samples = need(pr, "samples", J_ARR);
		weights = need(pr, "weights", J_ARR);
		assert_int_equal(samples->n, weights->n);
		sum = 0;
		for (j = 0; j < samples->n; j++) {
			assert_int_equal(samples->items[j]->t, J_ARR);
			for (k = 0; k < samples->items[j]->n; k++) {
				v = samples->items[j]->items[k];
				assert_int_equal(v->t, J_NUM);
				assert_true(is_uint(v->num) && v->num < (double)frames->n);
			}
			assert_int_equal(weights->items[j]->t, J_NUM);
			assert_true(is_uint(weights->items[j]->num) && weights->items[j]->num > 0);
			sum += weights->items[j]->num;
		}
		assert_true(sum == end - start);
	}
	v = get(root, "activeProfileIndex");
	if (v) {
		assert_int_equal(v->t, J_NUM);
		assert_true(is_uint(v->num) && v->num < (double)profiles->n);
	}
	return root;
}

/* ---- building profiles ----------------------------------------------------- */

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t frame(struct profile *p, const char *name, uint32_t kind, const char *module,
		      const char *file, uint32_t line, uint64_t addr)
{
	struct profile_frame f = {0};
	int64_t id;

	f.name = intern(p, name);
	f.module = module ? intern(p, module) : 0;
	f.file = file ? intern(p, file) : 0;
	f.line = line;
	f.addr = addr;
	f.kind = kind;
	id = profile__add_frame(p, &f);
	assert_true(id >= 0);
	return (uint32_t)id;
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

static char *write_ss(const struct profile *p, const struct fmt_options *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fmt_speedscope__write(p, o, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/*
 * Two processes; app has two threads. work appears at two addresses (and
 * lines), so frames merge without opts->lines and split with it.
 */
static struct profile *build(void)
{
	struct profile *p = profile__new();
	uint32_t main_f, work1, work2, kf, leaf, t1, t2, t3;
	uint32_t s[4];

	assert_non_null(p);
	main_f = frame(p, "main", PROFILE_FRAME_USER, "app", "main.c", 3, 0x10);
	/* DWARF knows where work starts (line 8): both its frames say so. */
	{
		struct profile_frame w = {.name = (uint32_t)profile__intern(p, "work"),
					  .module = (uint32_t)profile__intern(p, "app"),
					  .file = (uint32_t)profile__intern(p, "work.c"),
					  .line = 10,
					  .addr = 0x20,
					  .kind = PROFILE_FRAME_USER,
					  .start_line = 8};

		work1 = (uint32_t)profile__add_frame(p, &w);
		w.line = 12;
		w.addr = 0x24;
		work2 = (uint32_t)profile__add_frame(p, &w);
	}
	kf = frame(p, "schedule", PROFILE_FRAME_KERNEL, "[kernel.kallsyms]", NULL, 0, 0);
	leaf = frame(p, "alpha", PROFILE_FRAME_USER, "libc.so.6", NULL, 0, 0x30);
	t1 = task(p, 100, 100, "app");
	t2 = task(p, 100, 101, "app");
	t3 = task(p, 200, 200, "srv");
	s[0] = main_f, s[1] = work1, s[2] = kf;
	sample(p, t1, s, 3, 4);
	s[1] = work2;
	sample(p, t2, s, 3, 6);
	s[1] = leaf;
	sample(p, t1, s, 2, 1);
	sample(p, t3, s, 1, 2);
	return p;
}

/* The names of a sample's frames joined with ';'. */
static void stack_names(const struct jv *frames, const struct jv *stack, char *out, size_t size)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < stack->n; i++) {
		const struct jv *f = frames->items[(size_t)stack->items[i]->num];

		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ";" : "",
					 need(f, "name", J_STR)->str);
		assert_true(used < size);
	}
}

static const struct jv *profile_named(const struct jv *root, const char *name)
{
	const struct jv *pr = need(root, "profiles", J_ARR);
	size_t i;

	for (i = 0; i < pr->n; i++) {
		if (!strcmp(need(pr->items[i], "name", J_STR)->str, name))
			return pr->items[i];
	}
	fail_msg("no profile named '%s'", name);
	return NULL;
}

/* Weight of the sample whose frame names are @names in profile @pr; 0 if none. */
static double weight_of(const struct jv *root, const struct jv *pr, const char *names)
{
	const struct jv *frames = need(need(root, "shared", J_OBJ), "frames", J_ARR);
	const struct jv *samples = need(pr, "samples", J_ARR), *w = need(pr, "weights", J_ARR);
	char buf[256];
	double found = 0;
	size_t i;

	for (i = 0; i < samples->n; i++) {
		stack_names(frames, samples->items[i], buf, sizeof(buf));
		if (!strcmp(buf, names)) {
			assert_true(found == 0); /* equal stacks are merged */
			found = w->items[i]->num;
		}
	}
	return found;
}

static void test_per_process(void **state)
{
	struct profile *p = build();
	const struct jv *app, *srv, *frames;
	struct jv *root;
	char *text = write_ss(p, NULL);
	size_t i, works = 0;

	root = validate(text);
	assert_int_equal(need(root, "profiles", J_ARR)->n, 2);
	app = profile_named(root, "app (pid 100)");
	srv = profile_named(root, "srv (pid 200)");
	/* both threads of app in one profile; work merged across its two addresses */
	assert_true(need(app, "endValue", J_NUM)->num == 11);
	assert_true(weight_of(root, app, "main;work;schedule") == 10);
	assert_true(weight_of(root, app, "main;alpha") == 1);
	assert_true(need(srv, "endValue", J_NUM)->num == 2);
	assert_true(weight_of(root, srv, "main") == 2);
	/* the heaviest profile is the one shown first */
	assert_true(need(root, "activeProfileIndex", J_NUM)->num ==
		    (!strcmp(need(need(root, "profiles", J_ARR)->items[0], "name", J_STR)->str,
			     "app (pid 100)")
			     ? 0
			     : 1));
	frames = need(need(root, "shared", J_OBJ), "frames", J_ARR);
	for (i = 0; i < frames->n; i++) {
		const struct jv *f = frames->items[i], *file = get(f, "file");

		if (!strcmp(need(f, "name", J_STR)->str, "work")) {
			works++;
			assert_string_equal(file->str, "work.c");
			/* without opts->lines: the function's first line */
			assert_true(need(f, "line", J_NUM)->num == 8);
		} else {
			assert_null(get(f, "line")); /* not known for the others */
		}
		if (!strcmp(need(f, "name", J_STR)->str, "alpha"))
			assert_string_equal(file->str, "libc.so.6"); /* the module stands in */
		if (!strcmp(need(f, "name", J_STR)->str, "schedule"))
			assert_string_equal(file->str, "[kernel.kallsyms]");
	}
	assert_int_equal(works, 1);
	/* samples sorted by frame names: main;alpha before main;work;schedule */
	assert_true(need(app, "weights", J_ARR)->items[0]->num == 1);
	jv_free(root);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_per_thread_lines_merged(void **state)
{
	struct fmt_options o = {.per_thread = true, .lines = true};
	struct profile *p = build();
	const struct jv *t1, *t2, *m, *frames;
	struct jv *root;
	char *text = write_ss(p, &o);
	size_t i, works = 0;

	root = validate(text);
	assert_int_equal(need(root, "profiles", J_ARR)->n, 3);
	t1 = profile_named(root, "app (pid 100, tid 100)");
	t2 = profile_named(root, "app (pid 100, tid 101)");
	assert_true(weight_of(root, t1, "main;work;schedule") == 4);
	assert_true(weight_of(root, t2, "main;work;schedule") == 6);
	frames = need(need(root, "shared", J_OBJ), "frames", J_ARR);
	for (i = 0; i < frames->n; i++) {
		if (strcmp(need(frames->items[i], "name", J_STR)->str, "work"))
			continue;
		works++;
		assert_true(need(frames->items[i], "line", J_NUM)->num == 10 ||
			    need(frames->items[i], "line", J_NUM)->num == 12);
	}
	assert_int_equal(works, 2);
	jv_free(root);
	free(text);

	o = (struct fmt_options){.merged = true, .title = "everything"};
	text = write_ss(p, &o);
	root = validate(text);
	assert_int_equal(need(root, "profiles", J_ARR)->n, 1);
	m = profile_named(root, "everything");
	assert_string_equal(need(root, "name", J_STR)->str, "everything");
	assert_true(need(m, "endValue", J_NUM)->num == 13);
	assert_true(weight_of(root, m, "app;main;work;schedule") == 10);
	assert_true(weight_of(root, m, "app;main;alpha") == 1);
	assert_true(weight_of(root, m, "srv;main") == 2);
	jv_free(root);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_names_escaped(void **state)
{
	static const char *const evil[] = {
		"quote\"back\\slash",	     "</script><script>alert(1)</script>",
		"ctl\x01\x1f\x7f tab\t",     "bad\xff utf8 \xc3\x28",
		"emoji \xf0\x9f\x94\xa5 ok", "amp & <b>",
	};
	struct profile *p = profile__new();
	const struct jv *frames;
	struct jv *root;
	char *text, clean[128];
	uint32_t fr[6], t;
	size_t i, j;
	bool found;

	assert_non_null(p);
	for (i = 0; i < 6; i++)
		fr[i] = frame(p, evil[i], PROFILE_FRAME_USER, NULL, NULL, 0, i);
	t = task(p, 1, 1, "evil\"comm");
	sample(p, t, fr, 6, 1);
	text = write_ss(p, NULL);
	/* nothing a page could take for markup, even inside a <script> element */
	assert_null(strstr(text, "<"));
	assert_null(strstr(text, ">"));
	root = validate(text);
	frames = need(need(root, "shared", J_OBJ), "frames", J_ARR);
	for (i = 0; i < 6; i++) {
		/* valid UTF-8 and printable characters come back exactly */
		fmt_text__clean(evil[i], clean, sizeof(clean));
		found = false;
		for (j = 0; j < frames->n; j++)
			found |= !strcmp(need(frames->items[j], "name", J_STR)->str,
					 i == 2 ? "ctl\x01\x1f\x7f tab\t" : clean);
		assert_true(found);
	}
	profile_named(root, "evil\"comm (pid 1)");
	jv_free(root);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_empty_and_errors(void **state)
{
	struct profile *p = profile__new();
	struct jv *root;
	char *text;

	assert_non_null(p);
	text = write_ss(p, NULL);
	root = validate(text);
	assert_int_equal(need(root, "profiles", J_ARR)->n, 1);
	assert_int_equal(need(need(root, "profiles", J_ARR)->items[0], "samples", J_ARR)->n, 0);
	jv_free(root);
	free(text);
	assert_int_equal(fmt_speedscope__write(NULL, NULL, stdout), -EINVAL);
	assert_int_equal(fmt_speedscope__write(p, NULL, NULL), -EINVAL);
	assert_false(fmt__is_binary(FMT_SPEEDSCOPE));
	profile__free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_process),
		cmocka_unit_test(test_per_thread_lines_merged),
		cmocka_unit_test(test_names_escaped),
		cmocka_unit_test(test_empty_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
