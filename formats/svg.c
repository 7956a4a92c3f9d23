/*
 * SVG writer: a standalone interactive flame graph in the manner of
 * flamegraph.pl: one box per frame of the merged call tree, width by samples,
 * children in alphabetical order; click to zoom, Reset Zoom, Search (a regular
 * expression; the share it matches counts nested matches once), tooltips from
 * <title> elements, and an icicle layout with opts->inverted.
 *
 * The tree is merged by what the boxes show: the process name under "all",
 * then each frame's name and kind (and file:line with opts->lines). Boxes
 * narrower than 0.1 pixel at full width are left out with their children, so
 * the file stays small for any profile.
 *
 * Every name is untrusted text: it is repaired to valid UTF-8, control
 * characters replaced, and XML-escaped; the script only ever reads names
 * back through textContent and writes them the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "ember/idhash.h"
#include "text.h"

#define SVG_WIDTH	1200
#define SVG_FRAME_H	16
#define SVG_FONT	12
#define SVG_FONT_W	0.59 /* average glyph width per font size */
#define SVG_XPAD	10
#define SVG_YPAD_TOP	(SVG_FONT * 4 + 4)
#define SVG_YPAD_BOTTOM (SVG_FONT * 2 + 10)
#define SVG_MIN_WIDTH	0.1 /* pixels */

#define KIND_ROOT 100
#define KIND_COMM 101
#define NONE	  UINT32_MAX

struct sv_node {
	uint32_t parent;
	uint32_t first_child;
	uint32_t next_sibling;
	uint32_t depth;
	/* the key, with parent */
	uint32_t name; /* profile string id */
	uint32_t file;
	uint32_t line;
	uint32_t kind; /* enum profile_frame_kind, KIND_ROOT or KIND_COMM */
	uint32_t tid;  /* comm nodes with per_thread */
	uint64_t count;
	uint64_t x; /* start, in samples */
};

struct sv_tree {
	const struct profile *p;
	const struct fmt_options *opts;
	struct sv_node *n;
	size_t nr, cap;
	struct idhash index;
};

static bool node__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct sv_node *a = &((const struct sv_tree *)ctx)->n[id];
	const struct sv_node *b = key;

	return a->parent == b->parent && a->name == b->name && a->kind == b->kind &&
	       a->file == b->file && a->line == b->line && a->tid == b->tid;
}

static uint32_t node__hash(const struct sv_node *k)
{
	uint64_t h = idhash__add(0, (uint64_t)k->parent << 32 | k->name);

	h = idhash__add(h, (uint64_t)k->kind << 32 | k->tid);
	h = idhash__add(h, (uint64_t)k->file << 32 | k->line);
	return (uint32_t)idhash__fmix(h);
}

/* The child of @key->parent equal to @key, created on first use; adds @count. */
static int64_t tree__child(struct sv_tree *t, struct sv_node *key, uint64_t count)
{
	uint32_t hash = node__hash(key), id;
	struct sv_node *nn, *parent;
	size_t cap;

	id = idhash__find(&t->index, hash, node__eq, t, key);
	if (id == IDHASH_EMPTY) {
		if (t->nr >= NONE - 1 || idhash__reserve(&t->index))
			return -ENOMEM;
		if (t->nr == t->cap) {
			cap = t->cap * 2;
			nn = realloc(t->n, cap * sizeof(*nn));
			if (!nn)
				return -ENOMEM;
			t->n = nn;
			t->cap = cap;
		}
		id = (uint32_t)t->nr++;
		parent = &t->n[key->parent];
		key->depth = parent->depth + 1;
		key->count = 0;
		key->first_child = NONE;
		key->next_sibling = parent->first_child;
		parent->first_child = id;
		t->n[id] = *key;
		idhash__insert(&t->index, hash, id);
	}
	t->n[id].count += count;
	return id;
}

static int tree__add_sample(struct sv_tree *t, const struct profile_sample *s)
{
	const struct profile_task *task = profile__task(t->p, s->task);
	const uint32_t *frames;
	struct sv_node key;
	uint32_t n, i;
	int64_t id;

	memset(&key, 0, sizeof(key));
	key.parent = 0;
	key.name = task->comm;
	key.kind = KIND_COMM;
	key.tid = t->opts->per_thread ? task->tid : 0;
	id = tree__child(t, &key, s->count);
	frames = profile__stack(t->p, s->stack, &n);
	for (i = 0; i < n && id >= 0; i++) {
		const struct profile_frame *f = profile__frame(t->p, frames[i]);

		memset(&key, 0, sizeof(key));
		key.parent = (uint32_t)id;
		key.name = f->name;
		key.kind = f->kind;
		if (t->opts->lines && f->file) {
			key.file = f->file;
			key.line = f->line;
		}
		id = tree__child(t, &key, s->count);
	}
	return id < 0 ? (int)id : 0;
}

static const char *node_name(const struct sv_tree *t, const struct sv_node *n)
{
	const char *s;

	if (n->kind == KIND_ROOT)
		return "all";
	s = profile__str(t->p, n->name);
	return *s ? s : "[unknown]";
}

/* Children order: by label, as flamegraph.pl's sorted input gives. */
static int node__cmp(const void *pa, const void *pb, void *arg)
{
	const struct sv_tree *t = arg;
	const struct sv_node *a = &t->n[*(const uint32_t *)pa], *b = &t->n[*(const uint32_t *)pb];
	int r = strcmp(node_name(t, a), node_name(t, b));

	if (r)
		return r;
	r = strcmp(profile__str(t->p, a->file), profile__str(t->p, b->file));
	if (r)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return 0;
}

/* Sorts every node's children and gives each node its x; 0 or -ENOMEM. */
static int tree__layout(struct sv_tree *t)
{
	uint32_t *kids = NULL, *stack;
	size_t cap = 0, k, top = 0, i;
	uint32_t id, c;
	uint64_t x;
	int err = 0;

	stack = malloc(t->nr * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	t->n[0].x = 0;
	stack[top++] = 0;
	while (top) {
		id = stack[--top];
		k = 0;
		for (c = t->n[id].first_child; c != NONE; c = t->n[c].next_sibling) {
			if (k == cap) {
				uint32_t *nk = realloc(kids, (cap ? cap * 2 : 64) * sizeof(*kids));

				if (!nk) {
					err = -ENOMEM;
					goto out;
				}
				kids = nk;
				cap = cap ? cap * 2 : 64;
			}
			kids[k++] = c;
		}
		if (!k)
			continue;
		qsort_r(kids, k, sizeof(*kids), node__cmp, t);
		x = t->n[id].x;
		t->n[id].first_child = kids[0];
		for (i = 0; i < k; i++) {
			t->n[kids[i]].x = x;
			x += t->n[kids[i]].count;
			t->n[kids[i]].next_sibling = i + 1 < k ? kids[i + 1] : NONE;
			stack[top++] = kids[i];
		}
	}
out:
	free(kids);
	free(stack);
	return err;
}

static int tree__build(struct sv_tree *t)
{
	const struct profile_sample *s;
	size_t nr, i;
	int err;

	t->cap = 1024;
	t->n = malloc(t->cap * sizeof(*t->n));
	if (!t->n)
		return -ENOMEM;
	memset(&t->n[0], 0, sizeof(t->n[0]));
	t->n[0].kind = KIND_ROOT;
	t->n[0].first_child = NONE;
	t->n[0].next_sibling = NONE;
	t->n[0].parent = NONE;
	t->nr = 1;
	s = profile__samples(t->p, &nr);
	for (i = 0; i < nr; i++) {
		if (!s[i].count)
			continue;
		err = tree__add_sample(t, &s[i]);
		if (err)
			return err;
		t->n[0].count += s[i].count;
	}
	return tree__layout(t);
}

/* FNV-1a of @s, for stable per-name colours. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void node_colour(const struct sv_tree *t, const struct sv_node *n, char *buf, size_t size)
{
	uint32_t h = name_hash(node_name(t, n));
	double v1 = (h & 0xff) / 255.0, v2 = ((h >> 8) & 0xff) / 255.0;
	double v3 = ((h >> 16) & 0xff) / 255.0;
	int r, g, b;

	switch (n->kind) {
	case PROFILE_FRAME_KERNEL: /* orange */
		r = 220 + (int)(35 * v1), g = 120 + (int)(50 * v2), b = (int)(40 * v3);
		break;
	case PROFILE_FRAME_JIT: /* green */
		r = 50 + (int)(60 * v1), g = 180 + (int)(60 * v2), b = 50 + (int)(60 * v3);
		break;
	case PROFILE_FRAME_INLINE: /* aqua */
		r = 50 + (int)(60 * v1), g = 165 + (int)(55 * v2), b = 165 + (int)(55 * v2);
		break;
	case PROFILE_FRAME_SPECIAL: /* grey */
		r = g = b = 165 + (int)(40 * v1);
		break;
	case KIND_COMM: /* lavender */
		r = 170 + (int)(40 * v1), g = 160 + (int)(40 * v1), b = 215 + (int)(35 * v2);
		break;
	case KIND_ROOT:
		r = g = b = 200;
		break;
	default: /* hot: red to yellow */
		r = 205 + (int)(50 * v3), g = (int)(230 * v1), b = (int)(55 * v2);
		break;
	}
	snprintf(buf, size, "rgb(%d,%d,%d)", r, g, b);
}

/* The node's label, cleaned; the caller frees it. NULL when out of memory. */
static char *node_label(const struct sv_tree *t, const struct sv_node *n)
{
	char raw[64], *buf, *full = NULL;
	const char *name = node_name(t, n);
	size_t need;

	if (n->kind == KIND_COMM && t->opts->per_thread) {
		if (asprintf(&full, "%s-%" PRIu32, name, n->tid) < 0)
			return NULL;
		name = full;
	} else if (n->file) {
		snprintf(raw, sizeof(raw), ":%" PRIu32, n->line);
		if (asprintf(&full, "%s:%s%s", name, profile__str(t->p, n->file),
			     n->line ? raw : "") < 0)
			return NULL;
		name = full;
	}
	need = fmt_text__clean(name, NULL, 0);
	buf = malloc(need + 1);
	if (buf)
		fmt_text__clean(name, buf, need + 1);
	free(full);
	return buf;
}

/* Writes @label cut to fit @width pixels ("" when under three characters fit). */
static void write_fitted(FILE *out, const char *label, double width)
{
	long fit = (long)((width - 6) / (SVG_FONT * SVG_FONT_W));
	size_t len = strlen(label), off = 0, cps = 0, cut = 0, step;
	char *tmp;

	if (fit < 3)
		return;
	/* Count code points; remember where fit - 2 of them end. */
	while (off < len) {
		if (cps == (size_t)fit - 2)
			cut = off;
		step = fmt_text__utf8_len((const unsigned char *)label + off, len - off);
		off += step ? step : 1;
		cps++;
	}
	if (cps <= (size_t)fit) {
		fmt_text__xml(out, label);
		return;
	}
	tmp = strndup(label, cut);
	if (!tmp)
		return;
	fmt_text__xml(out, tmp);
	fputs("..", out);
	free(tmp);
}

struct sv_geom {
	double scale; /* pixels per sample */
	uint32_t height;
	uint32_t max_depth;
};

static double node_y(const struct sv_tree *t, const struct sv_geom *g, uint32_t depth)
{
	if (t->opts->inverted)
		return SVG_YPAD_TOP + (double)depth * SVG_FRAME_H;
	return g->height - SVG_YPAD_BOTTOM - (double)(depth + 1) * SVG_FRAME_H;
}

static int write_node(const struct sv_tree *t, const struct sv_geom *g, const struct sv_node *n,
		      FILE *out)
{
	double x = SVG_XPAD + n->x * g->scale, w = n->count * g->scale;
	double y = node_y(t, g, n->depth);
	uint64_t total = t->n[0].count;
	char colour[32], *label;

	label = node_label(t, n);
	if (!label)
		return -ENOMEM;
	node_colour(t, n, colour, sizeof(colour));
	fprintf(out, "<g data-x=\"%" PRIu64 "\" data-n=\"%" PRIu64 "\"><title>", n->x, n->count);
	fmt_text__xml(out, label);
	fprintf(out, " (%" PRIu64 " sample%s, %.2f%%)</title>", n->count, n->count == 1 ? "" : "s",
		total ? 100.0 * n->count / total : 0.0);
	fprintf(out,
		"<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\" "
		"ry=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
		x, y, w, SVG_FRAME_H - 1, colour, x + 3, y + SVG_FRAME_H - 4.5);
	write_fitted(out, label, w);
	fputs("</text></g>\n", out);
	free(label);
	return 0;
}

/* Depth-first over the nodes wide enough to draw: their deepest depth, or writes them. */
static int walk(const struct sv_tree *t, struct sv_geom *g, FILE *out)
{
	uint32_t *stack, id, c;
	size_t top = 0;
	int err = 0;

	stack = malloc(t->nr * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[top++] = 0;
	while (top && !err) {
		id = stack[--top];
		if (t->n[id].count * g->scale < SVG_MIN_WIDTH)
			continue;
		if (out)
			err = write_node(t, g, &t->n[id], out);
		else if (t->n[id].depth > g->max_depth)
			g->max_depth = t->n[id].depth;
		for (c = t->n[id].first_child; c != NONE; c = t->n[c].next_sibling)
			stack[top++] = c;
	}
	free(stack);
	return err;
}

static void format_utc(uint64_t ns, char *buf, size_t size)
{
	time_t secs = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "?");
}

/* The default subtitle: time range, sample count and frequency from the meta. */
static void default_subtitle(const struct profile *p, char *buf, size_t size)
{
	const struct profile_meta *m = profile__meta_c(p);
	char from[32], to[32], freq[32] = "";
	uint64_t total = profile__total(p);
	size_t n = 0;

	if (m->start_ns && m->end_ns >= m->start_ns) {
		format_utc(m->start_ns, from, sizeof(from));
		format_utc(m->end_ns, to, sizeof(to));
		/* Same day: print the day once. */
		n = (size_t)snprintf(buf, size, "%s to %s UTC, ", from,
				     strncmp(from, to, 11) ? to : to + 11);
		if (n >= size)
			n = size - 1;
	}
	if (m->freq_hz)
		snprintf(freq, sizeof(freq), " at %" PRIu32 " Hz", m->freq_hz);
	snprintf(buf + n, size - n, "%" PRIu64 " sample%s%s", total, total == 1 ? "" : "s", freq);
}

/* The page's script. Reads names back only through textContent; no innerHTML. */
static const char svg_script[] =
	"\"use strict\";\n"
	"var W, XPAD, FONTW, TOTAL, INV, frames = [], details, matchedtxt, unzoombtn, searchbtn;\n"
	"var zoomed = null, searching = \"\";\n"
	"function attr(e, n) { return e.getAttribute(n); }\n"
	"function init(evt) {\n"
	"\tvar cfg = document.getElementById(\"cfg\");\n"
	"\tW = +attr(cfg, \"data-width\"); XPAD = +attr(cfg, \"data-xpad\");\n"
	"\tFONTW = +attr(cfg, \"data-fontw\"); TOTAL = +attr(cfg, \"data-total\");\n"
	"\tINV = attr(cfg, \"data-inverted\") === \"1\";\n"
	"\tdetails = document.getElementById(\"details\").firstChild;\n"
	"\tmatchedtxt = document.getElementById(\"matched\");\n"
	"\tunzoombtn = document.getElementById(\"unzoom\");\n"
	"\tsearchbtn = document.getElementById(\"search\");\n"
	"\tvar gs = document.getElementById(\"frames\").children;\n"
	"\tfor (var i = 0; i < gs.length; i++) {\n"
	"\t\tvar g = gs[i], t = g.querySelector(\"title\").textContent;\n"
	"\t\tvar m = /^([\\s\\S]*) \\(\\d+ samples?, [\\d.]+%\\)$/.exec(t);\n"
	"\t\tvar r = g.querySelector(\"rect\");\n"
	"\t\tframes.push({g: g, rect: r, text: g.querySelector(\"text\"), title: t,\n"
	"\t\t\tname: m ? m[1] : t, x: +attr(g, \"data-x\"), n: +attr(g, \"data-n\"),\n"
	"\t\t\ty: +attr(r, \"y\"), fill: attr(r, \"fill\")});\n"
	"\t\tg.frameIndex = i;\n"
	"\t}\n"
	"\tvar box = document.getElementById(\"frames\");\n"
	"\tbox.addEventListener(\"click\", function (e) {\n"
	"\t\tvar f = frameOf(e.target); if (f) zoom(f);\n"
	"\t});\n"
	"\tbox.addEventListener(\"mouseover\", function (e) {\n"
	"\t\tvar f = frameOf(e.target); if (f) details.nodeValue = \"Function: \" + f.title;\n"
	"\t});\n"
	"\tbox.addEventListener(\"mouseout\", function () { details.nodeValue = \" \"; });\n"
	"\tunzoombtn.addEventListener(\"click\", unzoom);\n"
	"\tsearchbtn.addEventListener(\"click\", function () {\n"
	"\t\tif (searching) resetSearch(); else searchPrompt();\n"
	"\t});\n"
	"\twindow.addEventListener(\"keydown\", function (e) {\n"
	"\t\tif ((e.ctrlKey && e.keyCode === 70) || e.key === \"/\") {\n"
	"\t\t\te.preventDefault(); searchPrompt();\n"
	"\t\t} else if (e.key === \"Escape\") { resetSearch(); unzoom(); }\n"
	"\t});\n"
	"\tvar q = new URLSearchParams(document.location.search).get(\"s\");\n"
	"\tif (q) search(q);\n"
	"}\n"
	"function frameOf(el) {\n"
	"\twhile (el && el.frameIndex === undefined) el = el.parentNode;\n"
	"\treturn el ? frames[el.frameIndex] : null;\n"
	"}\n"
	"function fit(f, w) {\n"
	"\tvar chars = Math.floor((w - 6) / FONTW), cps = Array.from(f.name);\n"
	"\tif (chars < 3) return \"\";\n"
	"\tif (cps.length <= chars) return f.name;\n"
	"\treturn cps.slice(0, chars - 2).join(\"\") + \"..\";\n"
	"}\n"
	"function place(f, x, w) {\n"
	"\tf.rect.setAttribute(\"x\", x.toFixed(2));\n"
	"\tf.rect.setAttribute(\"width\", w.toFixed(2));\n"
	"\tf.text.setAttribute(\"x\", (x + 3).toFixed(2));\n"
	"\tf.text.textContent = fit(f, w);\n"
	"}\n"
	"function isAncestorSide(f, y0) { return INV ? f.y < y0 : f.y > y0; }\n"
	"function zoom(z) {\n"
	"\tvar scale = (W - 2 * XPAD) / z.n;\n"
	"\tzoomed = z;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i], inside = f.x >= z.x && f.x + f.n <= z.x + z.n;\n"
	"\t\tif (!isAncestorSide(f, z.y) && inside) {\n"
	"\t\t\tf.g.classList.remove(\"hide\", \"parent\");\n"
	"\t\t\tplace(f, XPAD + (f.x - z.x) * scale, f.n * scale);\n"
	"\t\t} else if (isAncestorSide(f, z.y) && f.x <= z.x && f.x + f.n >= z.x + z.n) {\n"
	"\t\t\tf.g.classList.remove(\"hide\");\n"
	"\t\t\tf.g.classList.add(\"parent\");\n"
	"\t\t\tplace(f, XPAD, W - 2 * XPAD);\n"
	"\t\t} else {\n"
	"\t\t\tf.g.classList.add(\"hide\");\n"
	"\t\t}\n"
	"\t}\n"
	"\tunzoombtn.classList.remove(\"hide\");\n"
	"}\n"
	"function unzoom() {\n"
	"\tvar scale = (W - 2 * XPAD) / TOTAL;\n"
	"\tzoomed = null;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i];\n"
	"\t\tf.g.classList.remove(\"hide\", \"parent\");\n"
	"\t\tplace(f, XPAD + f.x * scale, f.n * scale);\n"
	"\t}\n"
	"\tunzoombtn.classList.add(\"hide\");\n"
	"}\n"
	"function searchPrompt() {\n"
	"\tvar term = prompt(\"Search for (a regular expression, e.g. ^ext4_)\", searching);\n"
	"\tif (term !== null) search(term);\n"
	"}\n"
	"function toRegExp(term) {\n"
	"\ttry { return new RegExp(term); }\n"
	"\tcatch (e) { return new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, \"\\\\$&\")); }\n"
	"}\n"
	"function search(term) {\n"
	"\tif (!term) { resetSearch(); return; }\n"
	"\tvar re = toRegExp(term), spans = [];\n"
	"\tsearching = term;\n"
	"\tfor (var i = 0; i < frames.length; i++) {\n"
	"\t\tvar f = frames[i];\n"
	"\t\tif (re.test(f.name)) {\n"
	"\t\t\tf.rect.setAttribute(\"fill\", \"rgb(230,0,230)\");\n"
	"\t\t\tspans.push({from: f.x, to: f.x + f.n});\n"
	"\t\t} else {\n"
	"\t\t\tf.rect.setAttribute(\"fill\", f.fill);\n"
	"\t\t}\n"
	"\t}\n"
	"\t/* Nested matches lie inside their ancestor's span: count each sample once. */\n"
	"\tspans.sort(function (a, b) { return a.from - b.from || b.to - a.to; });\n"
	"\tvar sum = 0, end = 0;\n"
	"\tfor (var k = 0; k < spans.length; k++) {\n"
	"\t\tvar from = Math.max(spans[k].from, end);\n"
	"\t\tif (spans[k].to > from) { sum += spans[k].to - from; end = spans[k].to; }\n"
	"\t}\n"
	"\tmatchedtxt.textContent = \"Matched: \" + (TOTAL ? 100 * sum / TOTAL : 0).toFixed(2) + "
	"\"%\";\n"
	"\tmatchedtxt.classList.remove(\"hide\");\n"
	"\tsearchbtn.textContent = \"Reset Search\";\n"
	"}\n"
	"function resetSearch() {\n"
	"\tsearching = \"\";\n"
	"\tfor (var i = 0; i < frames.length; i++) frames[i].rect.setAttribute(\"fill\", "
	"frames[i].fill);\n"
	"\tmatchedtxt.textContent = \" \";\n"
	"\tmatchedtxt.classList.add(\"hide\");\n"
	"\tsearchbtn.textContent = \"Search\";\n"
	"}\n";

static void write_header(const struct sv_tree *t, const struct sv_geom *g, FILE *out)
{
	const struct fmt_options *o = t->opts;
	uint32_t width = o->width ? o->width : SVG_WIDTH;
	char subtitle[256];

	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%" PRIu32 "\" height=\"%" PRIu32
		"\" viewBox=\"0 0 %" PRIu32 " %" PRIu32 "\" onload=\"init(evt)\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<!-- Flame graph written by ember " EMBER_VERSION
		". Click a frame to zoom, Ctrl-F or / to search. -->\n",
		width, g->height, width, g->height);
	fprintf(out,
		"<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"#eeeeee\" offset=\"5%%\"/>"
		"<stop stop-color=\"#eeeeb0\" offset=\"95%%\"/></linearGradient></defs>\n"
		"<style type=\"text/css\">\n"
		"text { font-family: Verdana, sans-serif; font-size: %dpx; fill: rgb(0,0,0); }\n"
		"#title { text-anchor: middle; font-size: %dpx; }\n"
		"#subtitle { text-anchor: middle; fill: rgb(80,80,80); }\n"
		"#search, #matched { text-anchor: end; }\n"
		"#search, #unzoom { cursor: pointer; }\n"
		"#frames > g:hover > rect { stroke: black; stroke-width: 0.5; cursor: pointer; }\n"
		".hide { display: none; }\n"
		".parent { opacity: 0.5; }\n"
		"</style>\n",
		SVG_FONT, SVG_FONT + 5);
	fputs("<script type=\"text/ecmascript\"><![CDATA[\n", out);
	fputs(svg_script, out);
	fputs("]]></script>\n", out);
	fprintf(out,
		"<g id=\"cfg\" data-width=\"%" PRIu32 "\" data-xpad=\"%d\" data-fontw=\"%.2f\" "
		"data-total=\"%" PRIu64 "\" data-inverted=\"%d\"/>\n",
		width, SVG_XPAD, SVG_FONT * SVG_FONT_W, t->n[0].count, o->inverted ? 1 : 0);
	fprintf(out,
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"url(#bg)\"/>\n");
	fprintf(out, "<text id=\"title\" x=\"%.1f\" y=\"%d\">", width / 2.0, SVG_FONT * 2);
	fmt_text__xml(out,
		      o->title ? o->title : (o->inverted ? "CPU icicle graph" : "CPU flame graph"));
	fputs("</text>\n", out);
	if (!o->subtitle)
		default_subtitle(t->p, subtitle, sizeof(subtitle));
	fprintf(out, "<text id=\"subtitle\" x=\"%.1f\" y=\"%d\">", width / 2.0, SVG_FONT * 3 + 6);
	fmt_text__xml(out, o->subtitle ? o->subtitle : subtitle);
	fputs("</text>\n", out);
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%" PRIu32 "\"> </text>\n", SVG_XPAD,
		g->height - SVG_FONT);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n",
		SVG_XPAD, SVG_FONT * 2);
	fprintf(out, "<text id=\"search\" x=\"%" PRIu32 "\" y=\"%d\">Search</text>\n",
		width - SVG_XPAD, SVG_FONT * 2);
	fprintf(out,
		"<text id=\"matched\" class=\"hide\" x=\"%" PRIu32 "\" y=\"%" PRIu32
		"\"> </text>\n",
		width - SVG_XPAD, g->height - SVG_FONT);
}

int fmt_svg__write(const struct profile *p, const struct fmt_options *opts, FILE *out)
{
	static const struct fmt_options defaults;
	struct sv_tree t = {.p = p};
	struct sv_geom g = {0};
	uint32_t width;
	int err;

	if (!p || !out)
		return -EINVAL;
	t.opts = opts ? opts : &defaults;
	width = t.opts->width ? t.opts->width : SVG_WIDTH;
	if (width < 2 * SVG_XPAD + 100)
		return -EINVAL;
	err = tree__build(&t);
	if (err)
		goto out_free;

	/* An empty profile still draws its (empty) root box. */
	g.scale = (double)(width - 2 * SVG_XPAD) / (t.n[0].count ? t.n[0].count : 1);
	err = walk(&t, &g, NULL);
	if (err)
		goto out_free;
	g.height = (g.max_depth + 1) * SVG_FRAME_H + SVG_YPAD_TOP + SVG_YPAD_BOTTOM;

	write_header(&t, &g, out);
	fputs("<g id=\"frames\">\n", out);
	err = walk(&t, &g, out);
	if (err)
		goto out_free;
	fputs("</g>\n</svg>\n", out);
	if (fflush(out) || ferror(out))
		err = errno ? -errno : -EIO;
out_free:
	idhash__exit(&t.index);
	free(t.n);
	return err;
}
