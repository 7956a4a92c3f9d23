/*
 * Unit tests for the SVG flame graph writer (formats/svg.c). The output is
 * parsed by a strict little XML parser written here (well-formedness, valid
 * UTF-8, known entities only) and the frames are checked against the merged
 * call tree of a hand-built profile: counts, order, geometry, the icicle
 * layout, pruning, colours by kind, and names that must stay text.
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

/* ---- a strict XML parser for what the writer emits ---------------------- */

struct xel {
	char name[32];
	char *attr_names[16];
	char *attr_vals[16];
	size_t nr_attrs;
	char *text; /* concatenated character data directly inside */
	struct xel **kids;
	size_t nr_kids;
};

struct xp {
	const char *s;
	size_t pos, len;
};

static void xel_free(struct xel *e)
{
	size_t i;

	for (i = 0; i < e->nr_attrs; i++) {
		free(e->attr_names[i]);
		free(e->attr_vals[i]);
	}
	for (i = 0; i < e->nr_kids; i++)
		xel_free(e->kids[i]);
	free(e->kids);
	free(e->text);
	free(e);
}

/* Decodes character data up to @stop (not included), checking entities and UTF-8. */
static char *xml_text(struct xp *p, char stop)
{
	char *out = malloc(p->len - p->pos + 1);
	size_t n = 0, k;

	assert_non_null(out);
	while (p->pos < p->len && p->s[p->pos] != stop) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '&') {
			static const struct {
				const char *ent;
				char ch;
			} ents[] = {{"&amp;", '&'},
				    {"&lt;", '<'},
				    {"&gt;", '>'},
				    {"&quot;", '"'},
				    {"&#39;", '\''}};
			for (k = 0; k < 5; k++) {
				if (!strncmp(p->s + p->pos, ents[k].ent, strlen(ents[k].ent)))
					break;
			}
			if (k == 5)
				fail_msg("XML: unknown entity at %zu", p->pos);
			out[n++] = ents[k].ch;
			p->pos += strlen(ents[k].ent);
			continue;
		}
		if (c == '<' && stop == '"')
			fail_msg("XML: '<' in an attribute value");
		if (c < 0x20 && c != '\n' && c != '\t')
			fail_msg("XML: control character %u at %zu", c, p->pos);
		k = fmt_text__utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
		if (!k)
			fail_msg("XML: invalid UTF-8 at %zu", p->pos);
		memcpy(out + n, p->s + p->pos, k);
		n += k;
		p->pos += k;
	}
	out[n] = '\0';
	return out;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == ':' || c == '_';
}

static void skip_ws(struct xp *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]))
		p->pos++;
}

static void add_text(struct xel *e, char *t)
{
	size_t a = e->text ? strlen(e->text) : 0, b = strlen(t);

	e->text = realloc(e->text, a + b + 1);
	assert_non_null(e->text);
	memcpy(e->text + a, t, b + 1);
	free(t);
}

static struct xel *parse_element(struct xp *p)
{
	struct xel *e = calloc(1, sizeof(*e));
	size_t n = 0;
	const char *end;

	assert_non_null(e);
	assert_true(p->s[p->pos] == '<');
	p->pos++;
	while (name_char(p->s[p->pos]) && n < sizeof(e->name) - 1)
		e->name[n++] = p->s[p->pos++];
	assert_true(n > 0);
	for (;;) {
		skip_ws(p);
		if (p->s[p->pos] == '/') {
			assert_true(p->s[p->pos + 1] == '>');
			p->pos += 2;
			return e;
		}
		if (p->s[p->pos] == '>') {
			p->pos++;
			break;
		}
		assert_true(e->nr_attrs < 16);
		n = 0;
		while (name_char(p->s[p->pos + n]))
			n++;
		assert_true(n > 0);
		e->attr_names[e->nr_attrs] = strndup(p->s + p->pos, n);
		p->pos += n;
		assert_true(p->s[p->pos] == '=' && p->s[p->pos + 1] == '"');
		p->pos += 2;
		e->attr_vals[e->nr_attrs++] = xml_text(p, '"');
		assert_true(p->s[p->pos] == '"');
		p->pos++;
	}
	for (;;) {
		assert_true(p->pos < p->len);
		if (!strncmp(p->s + p->pos, "</", 2)) {
			p->pos += 2;
			assert_true(!strncmp(p->s + p->pos, e->name, strlen(e->name)));
			p->pos += strlen(e->name);
			assert_true(p->s[p->pos] == '>');
			p->pos++;
			return e;
		}
		if (!strncmp(p->s + p->pos, "<![CDATA[", 9)) {
			p->pos += 9;
			end = strstr(p->s + p->pos, "]]>");
			assert_non_null(end);
			add_text(e, strndup(p->s + p->pos, (size_t)(end - p->s) - p->pos));
			p->pos = (size_t)(end - p->s) + 3;
			continue;
		}
		if (!strncmp(p->s + p->pos, "<!--", 4)) {
			end = strstr(p->s + p->pos, "-->");
			assert_non_null(end);
			p->pos = (size_t)(end - p->s) + 3;
			continue;
		}
		if (p->s[p->pos] == '<') {
			e->kids = realloc(e->kids, (e->nr_kids + 1) * sizeof(*e->kids));
			assert_non_null(e->kids);
			e->kids[e->nr_kids++] = parse_element(p);
			continue;
		}
		add_text(e, xml_text(p, '<'));
	}
}

static struct xel *parse_svg(const char *s)
{
	struct xp p = {.s = s, .len = strlen(s)};
	const char *end;
	struct xel *root;

	assert_true(!strncmp(s, "<?xml ", 6));
	end = strstr(s, "?>");
	assert_non_null(end);
	p.pos = (size_t)(end - s) + 2;
	skip_ws(&p);
	while (!strncmp(p.s + p.pos, "<!--", 4)) {
		end = strstr(p.s + p.pos, "-->");
		p.pos = (size_t)(end - s) + 3;
		skip_ws(&p);
	}
	root = parse_element(&p);
	skip_ws(&p);
	assert_int_equal(p.pos, p.len);
	assert_string_equal(root->name, "svg");
	return root;
}

static const char *attr(const struct xel *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nr_attrs; i++) {
		if (!strcmp(e->attr_names[i], name))
			return e->attr_vals[i];
	}
	return NULL;
}

static const struct xel *child(const struct xel *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nr_kids; i++) {
		if (!strcmp(e->kids[i]->name, name))
			return e->kids[i];
	}
	return NULL;
}

static const struct xel *by_id(const struct xel *e, const char *id)
{
	const struct xel *r;
	size_t i;

	if (attr(e, "id") && !strcmp(attr(e, "id"), id))
		return e;
	for (i = 0; i < e->nr_kids; i++) {
		r = by_id(e->kids[i], id);
		if (r)
			return r;
	}
	return NULL;
}

/* Any element named @name anywhere below @e? */
static bool has_element(const struct xel *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nr_kids; i++) {
		if (!strcmp(e->kids[i]->name, name) || has_element(e->kids[i], name))
			return true;
	}
	return false;
}

/* ---- the frames ----------------------------------------------------------- */

struct box {
	char name[512]; /* from the title, without the " (N samples, P%)" suffix */
	uint64_t x, n;
	double rx, ry, rw;
	int r, g, b;
	const char *label;
};

static size_t boxes_of(const struct xel *svg, struct box *out, size_t max)
{
	const struct xel *frames = by_id(svg, "frames"), *g, *title, *rect, *text;
	char suffix[64];
	size_t i, len, nb = 0;
	const char *t, *paren;
	double pct;
	uint64_t n;

	assert_non_null(frames);
	for (i = 0; i < frames->nr_kids; i++) {
		g = frames->kids[i];
		assert_string_equal(g->name, "g");
		title = child(g, "title");
		rect = child(g, "rect");
		text = child(g, "text");
		assert_non_null(title);
		assert_non_null(rect);
		assert_non_null(text);
		assert_true(nb < max);
		t = title->text;
		paren = strrchr(t, '(');
		assert_non_null(paren);
		len = (size_t)(paren - t);
		assert_true(len >= 1 && t[len - 1] == ' ');
		snprintf(out[nb].name, sizeof(out[nb].name), "%.*s", (int)len - 1, t);
		assert_int_equal(sscanf(paren, "(%" SCNu64 " %63[a-z], %lf%%)", &n, suffix, &pct),
				 3);
		assert_string_equal(suffix, n == 1 ? "sample" : "samples");
		out[nb].x = strtoull(attr(g, "data-x"), NULL, 10);
		out[nb].n = strtoull(attr(g, "data-n"), NULL, 10);
		assert_true(n == out[nb].n);
		out[nb].rx = strtod(attr(rect, "x"), NULL);
		out[nb].ry = strtod(attr(rect, "y"), NULL);
		out[nb].rw = strtod(attr(rect, "width"), NULL);
		assert_int_equal(sscanf(attr(rect, "fill"), "rgb(%d,%d,%d)", &out[nb].r, &out[nb].g,
					&out[nb].b),
				 3);
		out[nb].label = text->text ? text->text : "";
		nb++;
	}
	return nb;
}

static const struct box *find_box(const struct box *b, size_t n, const char *name, double y)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(b[i].name, name) && (y < 0 || fabs(b[i].ry - y) < 0.01))
			return &b[i];
	}
	fail_msg("no box '%s'", name);
	return NULL;
}

/* ---- building profiles ----------------------------------------------------- */

static uint32_t intern(struct profile *p, const char *s)
{
	int64_t id = profile__intern(p, s);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static uint32_t frame(struct profile *p, const char *name, uint32_t kind, uint64_t addr)
{
	struct profile_frame f = {0};
	int64_t id;

	f.name = intern(p, name);
	f.kind = kind;
	f.addr = addr;
	if (!strcmp(name, "work")) {
		f.file = intern(p, "work.c");
		f.line = (uint32_t)addr;
	}
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

static char *write_svg(const struct profile *p, const struct fmt_options *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fmt_svg__write(p, o, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/*
 * app: main;work;zeta 6 (work at two addresses: one box), main;work;alpha 2,
 *      main;helper(inline) 1, main;schedule(kernel) 1
 * srv (another pid): main 10
 */
static struct profile *build(void)
{
	struct profile *p = profile__new();
	uint32_t m, w1, w2, z, a, h, k, t1, t2, s[3];

	assert_non_null(p);
	m = frame(p, "main", PROFILE_FRAME_USER, 1);
	w1 = frame(p, "work", PROFILE_FRAME_USER, 2);
	w2 = frame(p, "work", PROFILE_FRAME_USER, 3);
	z = frame(p, "zeta", PROFILE_FRAME_USER, 4);
	a = frame(p, "alpha", PROFILE_FRAME_USER, 5);
	h = frame(p, "helper", PROFILE_FRAME_INLINE, 6);
	k = frame(p, "schedule", PROFILE_FRAME_KERNEL, 7);
	t1 = task(p, 10, 10, "app");
	t2 = task(p, 20, 20, "srv");
	s[0] = m, s[1] = w1, s[2] = z;
	sample(p, t1, s, 3, 4);
	s[1] = w2;
	sample(p, t1, s, 3, 2);
	s[2] = a;
	sample(p, t1, s, 3, 2);
	s[1] = h;
	sample(p, t1, s, 2, 1);
	s[1] = k;
	sample(p, t1, s, 2, 1);
	sample(p, t2, s, 1, 10);
	profile__meta(p)->start_ns = 1763694600000000000ULL; /* 2025-11-21T03:10:00Z */
	profile__meta(p)->end_ns = 1763694610000000000ULL;
	profile__meta(p)->freq_hz = 99;
	return p;
}

static void check_tree(const struct box *b, size_t n, bool inverted)
{
	/* merged: all > {app, srv}; app > main > {alpha? no: helper, schedule, work} */
	const struct box *all = find_box(b, n, "all", -1), *app = find_box(b, n, "app", -1);
	const struct box *srv = find_box(b, n, "srv", -1);
	const struct box *work = find_box(b, n, "work", -1), *zeta = find_box(b, n, "zeta", -1);
	const struct box *alpha = find_box(b, n, "alpha", -1);
	const struct box *helper = find_box(b, n, "helper", -1);
	const struct box *sched = find_box(b, n, "schedule", -1);
	const struct box *app_main = find_box(b, n, "main", app->ry + (inverted ? 16 : -16));
	const struct box *srv_main = find_box(b, n, "main", srv->ry + (inverted ? 16 : -16));
	double scale = (1200 - 20) / 20.0;
	size_t i;

	assert_int_equal(n, 10);
	assert_int_equal(all->n, 20);
	assert_int_equal(all->x, 0);
	/* children in name order: app before srv; alpha before zeta; helper, schedule, work */
	assert_int_equal(app->x, 0);
	assert_int_equal(app->n, 10);
	assert_int_equal(srv->x, 10);
	assert_int_equal(srv->n, 10);
	assert_int_equal(app_main->n, 10);
	assert_int_equal(srv_main->n, 10);
	assert_int_equal(srv_main->x, 10);
	assert_int_equal(helper->x, 0);
	assert_int_equal(helper->n, 1);
	assert_int_equal(sched->x, 1);
	assert_int_equal(work->x, 2);
	assert_int_equal(work->n, 8);
	assert_int_equal(alpha->x, 2);
	assert_int_equal(alpha->n, 2);
	assert_int_equal(zeta->x, 4);
	assert_int_equal(zeta->n, 6);
	for (i = 0; i < n; i++) {
		assert_true(fabs(b[i].rx - (10 + b[i].x * scale)) < 0.01);
		assert_true(fabs(b[i].rw - b[i].n * scale) < 0.01);
	}
	/* depth: each level 16 px further from the root */
	assert_true(fabs(app->ry - all->ry - (inverted ? 16 : -16)) < 0.01);
	assert_true(fabs(work->ry - app_main->ry - (inverted ? 16 : -16)) < 0.01);
	assert_true(fabs(zeta->ry - work->ry - (inverted ? 16 : -16)) < 0.01);
	/* labels: full when they fit, cut with ".." when not, empty when tiny */
	assert_string_equal(work->label, "work");
	assert_string_equal(helper->label, "helper");
	/* colours by kind: kernel orange, inline aqua, user warm */
	assert_true(sched->r >= 220 && sched->g >= 120 && sched->g <= 170 && sched->b <= 40);
	assert_true(helper->g == helper->b && helper->g >= 165 && helper->r <= 110);
	assert_true(zeta->r >= 205 && zeta->b <= 55);
}

static void test_tree_and_geometry(void **state)
{
	struct profile *p = build();
	struct fmt_options o = {0};
	struct box b[32];
	struct xel *svg;
	char *text;
	size_t n;

	text = write_svg(p, NULL);
	svg = parse_svg(text);
	n = boxes_of(svg, b, 32);
	check_tree(b, n, false);
	/* the root sits at the bottom, the deepest frame above it */
	assert_true(find_box(b, n, "all", -1)->ry > find_box(b, n, "zeta", -1)->ry);
	assert_string_equal(attr(by_id(svg, "cfg"), "data-total"), "20");
	assert_string_equal(attr(by_id(svg, "cfg"), "data-inverted"), "0");
	assert_string_equal(by_id(svg, "title")->text, "CPU flame graph");
	assert_string_equal(by_id(svg, "subtitle")->text,
			    "2025-11-21 03:10:00 to 03:10:10 UTC, 20 samples at 99 Hz");
	xel_free(svg);
	free(text);

	o.inverted = true;
	text = write_svg(p, &o);
	svg = parse_svg(text);
	n = boxes_of(svg, b, 32);
	check_tree(b, n, true);
	assert_true(find_box(b, n, "all", -1)->ry < find_box(b, n, "zeta", -1)->ry);
	assert_string_equal(attr(by_id(svg, "cfg"), "data-inverted"), "1");
	assert_string_equal(by_id(svg, "title")->text, "CPU icicle graph");
	xel_free(svg);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_lines_and_threads(void **state)
{
	struct fmt_options o = {.lines = true, .per_thread = true, .width = 600};
	struct profile *p = build();
	struct box b[32];
	struct xel *svg;
	char *text;
	size_t n;

	text = write_svg(p, &o);
	svg = parse_svg(text);
	n = boxes_of(svg, b, 32);
	assert_int_equal(n, 12); /* work splits by line, and zeta with it */
	assert_int_equal(find_box(b, n, "work:work.c:2", -1)->n, 4);
	assert_int_equal(find_box(b, n, "work:work.c:3", -1)->n, 4);
	assert_int_equal(find_box(b, n, "app-10", -1)->n, 10);
	assert_int_equal(find_box(b, n, "srv-20", -1)->n, 10);
	assert_string_equal(attr(svg, "width"), "600");
	assert_true(fabs(find_box(b, n, "srv-20", -1)->rw - 290) < 0.01);
	xel_free(svg);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_names_stay_text(void **state)
{
	static const char *const evil[] = {
		"<img src=x onerror=alert(1)>", "a & b \"quoted\" 'single'", "cdata ]]> end",
		"<script>alert(2)</script>",	"bad\xff\xfe utf8",	     "ctl\x01\x1b[31m",
	};
	struct fmt_options o = {.title = "<b>title</b> & co", .subtitle = "sub\"]]>"};
	struct profile *p = profile__new();
	char clean[128], want[160];
	struct box b[16];
	struct xel *svg;
	uint32_t fr[6], t;
	size_t i, n;
	char *text;

	assert_non_null(p);
	for (i = 0; i < 6; i++)
		fr[i] = frame(p, evil[i], PROFILE_FRAME_USER, i);
	t = task(p, 1, 1, "<comm>");
	sample(p, t, fr, 6, 3);
	text = write_svg(p, &o);
	svg = parse_svg(text);
	assert_false(has_element(by_id(svg, "frames"), "img"));
	assert_false(has_element(by_id(svg, "frames"), "script"));
	assert_false(has_element(by_id(svg, "title"), "b"));
	assert_string_equal(by_id(svg, "title")->text, "<b>title</b> & co");
	assert_string_equal(by_id(svg, "subtitle")->text, "sub\"]]>");
	n = boxes_of(svg, b, 16);
	assert_int_equal(n, 8);
	for (i = 0; i < 6; i++) {
		fmt_text__clean(evil[i], clean, sizeof(clean));
		find_box(b, n, clean, -1);
		snprintf(want, sizeof(want), "%s", clean);
		assert_string_equal(find_box(b, n, clean, -1)->label, want);
	}
	find_box(b, n, "<comm>", -1);
	/* one CDATA section: the script's, which holds no terminator of its own */
	assert_non_null(strstr(text, "]]></script>"));
	assert_ptr_equal(strstr(text, "]]>"), strstr(text, "]]></script>"));
	xel_free(svg);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_narrow_frames_pruned(void **state)
{
	struct profile *p = profile__new();
	uint32_t big, tiny, deep[2], t;
	struct box b[16];
	struct xel *svg, *svg2;
	char *text;
	size_t n;

	assert_non_null(p);
	big = frame(p, "big", PROFILE_FRAME_USER, 1);
	tiny = frame(p, "tiny", PROFILE_FRAME_USER, 2);
	t = task(p, 1, 1, "x");
	sample(p, t, &big, 1, 1000000);
	deep[0] = tiny, deep[1] = big;
	sample(p, t, deep, 2, 1); /* 1180 px / 1e6 samples: under 0.1 px */
	text = write_svg(p, NULL);
	svg = parse_svg(text);
	n = boxes_of(svg, b, 16);
	assert_int_equal(n, 3); /* all, x, big */
	free(text);
	/* the height follows the drawn depth only: the same as without the tiny stack */
	profile__free(p);
	p = profile__new();
	big = frame(p, "big", PROFILE_FRAME_USER, 1);
	t = task(p, 1, 1, "x");
	sample(p, t, &big, 1, 1000000);
	text = write_svg(p, NULL);
	svg2 = parse_svg(text);
	assert_string_equal(attr(svg, "height"), attr(svg2, "height"));
	xel_free(svg);
	xel_free(svg2);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_labels_cut(void **state)
{
	char longname[300];
	struct profile *p = profile__new();
	uint32_t f1, f2, t;
	struct box b[8];
	struct xel *svg;
	char *text;
	size_t n, len;

	assert_non_null(p);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	/* multi-byte characters are never cut in half */
	memcpy(longname, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
	f1 = frame(p, longname, PROFILE_FRAME_USER, 1);
	f2 = frame(p, "narrow", PROFILE_FRAME_USER, 2);
	t = task(p, 1, 1, "x");
	sample(p, t, &f1, 1, 100);
	sample(p, t, &f2, 1, 1); /* 11.7 px: no room for a label */
	text = write_svg(p, NULL);
	svg = parse_svg(text);
	n = boxes_of(svg, b, 8);
	len = strlen(find_box(b, n, longname, -1)->label);
	assert_true(len > 10 && len < strlen(longname));
	assert_string_equal(find_box(b, n, longname, -1)->label + len - 2, "..");
	assert_string_equal(find_box(b, n, "narrow", -1)->label, "");
	xel_free(svg);
	free(text);
	profile__free(p);
	(void)state;
}

static void test_empty_and_errors(void **state)
{
	struct fmt_options o = {.width = 50};
	struct profile *p = profile__new();
	struct box b[4];
	struct xel *svg;
	char *text;

	assert_non_null(p);
	text = write_svg(p, NULL);
	svg = parse_svg(text);
	assert_int_equal(boxes_of(svg, b, 4), 0);
	assert_string_equal(by_id(svg, "subtitle")->text, "0 samples");
	xel_free(svg);
	free(text);
	assert_int_equal(fmt_svg__write(NULL, NULL, stdout), -EINVAL);
	assert_int_equal(fmt_svg__write(p, NULL, NULL), -EINVAL);
	assert_int_equal(fmt_svg__write(p, &o, stdout), -EINVAL);
	/* the dispatcher reaches the writer */
	text = NULL;
	{
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		assert_non_null(f);
		assert_int_equal(fmt__write(p, FMT_SVG, NULL, f), 0);
		fclose(f);
		assert_non_null(strstr(text, "<svg "));
		free(text);
	}
	profile__free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_and_geometry),
		cmocka_unit_test(test_lines_and_threads),
		cmocka_unit_test(test_names_stay_text),
		cmocka_unit_test(test_narrow_frames_pruned),
		cmocka_unit_test(test_labels_cut),
		cmocka_unit_test(test_empty_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
