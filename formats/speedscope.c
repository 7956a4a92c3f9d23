/*
 * speedscope writer: the documented speedscope JSON file format
 * (https://www.speedscope.app/file-format-schema.json) with "sampled"
 * profiles, which speedscope opens as it opens its own exports.
 *
 * Frames are shared between profiles and merged by what speedscope shows:
 * name, file (the module when the source file is unknown) and the line: the
 * function's first line, or with opts->lines the sampled line; the model's
 * per-address frames would otherwise split one function into many boxes. There is one profile per
 * process (per thread with opts->per_thread), or one for everything with opts->merged, where each
 * stack starts with its process name as flamegraph.pl's input does. Within a
 * profile the stacks are sorted by their frame names, so speedscope's time
 * order view reads like a flame graph, and equal stacks are merged; weights
 * are sample counts (unit "none").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/formats.h"
#include "ember/profile.h"
#include "ember/idhash.h"
#include "text.h"

#define KIND_COMM UINT32_MAX /* a frame that names a process (merged mode) */

struct ss_frame {
	uint32_t name; /* profile string id */
	uint32_t file; /* profile string id: the source file, else the module */
	uint32_t line;
	uint32_t kind;
};

/* One row before merging: a stack of one task, in the profile it belongs to. */
struct ss_row {
	uint64_t group; /* pid, or pid << 32 | tid per thread, or 0 merged */
	uint32_t stack;
	uint32_t task;
	uint64_t count;
};

struct ss_ctx {
	const struct profile *p;
	const struct fmt_options *opts;
	uint32_t *frame_map; /* profile frame id -> speedscope frame index */
	uint32_t *comm_map;  /* profile string id -> speedscope frame index (merged mode) */
	struct ss_frame *frames;
	size_t nr_frames, cap_frames;
	struct idhash index;
};

static bool frame__eq(const void *ctx, uint32_t id, const void *key)
{
	const struct ss_frame *a = &((const struct ss_ctx *)ctx)->frames[id];
	const struct ss_frame *b = key;

	return a->name == b->name && a->file == b->file && a->line == b->line && a->kind == b->kind;
}

/* Index of the speedscope frame equal to @key, added on first use; -ENOMEM. */
static int64_t ss_frame(struct ss_ctx *c, const struct ss_frame *key)
{
	uint64_t h = idhash__add(idhash__add(0, key->name), key->file);
	uint32_t hash, id;
	struct ss_frame *nf;
	size_t cap;

	h = idhash__add(idhash__add(h, key->line), key->kind);
	hash = (uint32_t)idhash__fmix(h);
	id = idhash__find(&c->index, hash, frame__eq, c, key);
	if (id != IDHASH_EMPTY)
		return id;
	if (idhash__reserve(&c->index))
		return -ENOMEM;
	if (c->nr_frames == c->cap_frames) {
		cap = c->cap_frames ? c->cap_frames * 2 : 256;
		nf = realloc(c->frames, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		c->frames = nf;
		c->cap_frames = cap;
	}
	id = (uint32_t)c->nr_frames++;
	c->frames[id] = *key;
	idhash__insert(&c->index, hash, id);
	return id;
}

/* Fills frame_map for every profile frame. */
static int map_frames(struct ss_ctx *c)
{
	uint32_t i, n = profile__frame_count(c->p);
	struct ss_frame key;
	int64_t id;

	for (i = 0; i < n; i++) {
		const struct profile_frame *f = profile__frame(c->p, i);

		key.name = f->name;
		key.file = f->file ? f->file : f->module;
		key.line = c->opts->lines ? f->line : f->start_line;
		key.kind = f->kind;
		id = ss_frame(c, &key);
		if (id < 0)
			return (int)id;
		c->frame_map[i] = (uint32_t)id;
	}
	return 0;
}

/* Speedscope frame of the process name of task @tid (merged mode). */
static int64_t comm_frame(struct ss_ctx *c, uint32_t task)
{
	const struct profile_task *t = profile__task(c->p, task);
	struct ss_frame key = {.name = t->comm, .kind = KIND_COMM};
	int64_t id;

	if (c->comm_map[t->comm] != UINT32_MAX)
		return c->comm_map[t->comm];
	id = ss_frame(c, &key);
	if (id >= 0)
		c->comm_map[t->comm] = (uint32_t)id;
	return id;
}

/* Name of speedscope frame @i (process name frames included). */
static const char *frame_name(const struct ss_ctx *c, uint32_t i)
{
	const char *s = profile__str(c->p, c->frames[i].name);

	return *s ? s : "[unknown]";
}

/*
 * Compares two rows' stacks by their speedscope frames' names, root first,
 * then by index so different frames with one name stay apart.
 */
static int row__cmp_stack(const struct ss_ctx *c, const struct ss_row *a, const struct ss_row *b)
{
	const uint32_t *fa, *fb;
	uint32_t na, nb, i, x, y;
	int r;

	if (c->opts->merged && a->task != b->task) {
		x = c->comm_map[profile__task(c->p, a->task)->comm];
		y = c->comm_map[profile__task(c->p, b->task)->comm];
		if (x != y) {
			r = strcmp(frame_name(c, x), frame_name(c, y));
			return r ? r : (x < y ? -1 : 1);
		}
	}
	if (a->stack == b->stack)
		return 0;
	fa = profile__stack(c->p, a->stack, &na);
	fb = profile__stack(c->p, b->stack, &nb);
	for (i = 0; i < na && i < nb; i++) {
		x = c->frame_map[fa[i]];
		y = c->frame_map[fb[i]];
		if (x == y)
			continue;
		r = strcmp(frame_name(c, x), frame_name(c, y));
		return r ? r : (x < y ? -1 : 1);
	}
	return na < nb ? -1 : na > nb;
}

static int row__cmp(const void *pa, const void *pb, void *arg)
{
	const struct ss_row *a = pa, *b = pb;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	return row__cmp_stack(arg, a, b);
}

static void write_frames(const struct ss_ctx *c, FILE *out)
{
	size_t i;

	fputs("\"shared\":{\"frames\":[", out);
	for (i = 0; i < c->nr_frames; i++) {
		const struct ss_frame *f = &c->frames[i];

		fputs(i ? ",\n{\"name\":\"" : "\n{\"name\":\"", out);
		fmt_text__json(out, frame_name(c, (uint32_t)i));
		fputc('"', out);
		if (f->file) {
			fputs(",\"file\":\"", out);
			fmt_text__json(out, profile__str(c->p, f->file));
			fputc('"', out);
		}
		if (f->line)
			fprintf(out, ",\"line\":%" PRIu32, f->line);
		fputc('}', out);
	}
	fputs("]},\n", out);
}

static void write_profile_name(const struct ss_ctx *c, const struct ss_row *r, FILE *out)
{
	const struct profile_task *t = profile__task(c->p, r->task);

	if (c->opts->merged) {
		fmt_text__json(out, c->opts->title ? c->opts->title : "all processes");
		return;
	}
	fmt_text__json(out,
		       *profile__str(c->p, t->comm) ? profile__str(c->p, t->comm) : "[unknown]");
	if (!t->pid)
		return;
	if (c->opts->per_thread)
		fprintf(out, " (pid %" PRIu32 ", tid %" PRIu32 ")", t->pid, t->tid);
	else
		fprintf(out, " (pid %" PRIu32 ")", t->pid);
}

/* Writes the profile of rows [from, to) (one group), merging equal stacks. */
static void write_profile(const struct ss_ctx *c, const struct ss_row *rows, size_t from, size_t to,
			  FILE *out)
{
	const uint32_t *frames;
	uint64_t total = 0, w;
	uint32_t n, k;
	size_t i, j;
	bool first = true;

	for (i = from; i < to; i++)
		total += rows[i].count;
	fputs("{\"type\":\"sampled\",\"name\":\"", out);
	write_profile_name(c, &rows[from], out);
	fprintf(out,
		"\",\"unit\":\"none\",\"startValue\":0,\"endValue\":%" PRIu64 ",\n\"samples\":[",
		total);
	for (i = from; i < to; i = j) {
		for (j = i + 1; j < to && !row__cmp_stack(c, &rows[i], &rows[j]); j++)
			;
		frames = profile__stack(c->p, rows[i].stack, &n);
		fputs(first ? "\n[" : ",\n[", out);
		first = false;
		if (c->opts->merged)
			fprintf(out, "%" PRIu32 "%s",
				c->comm_map[profile__task(c->p, rows[i].task)->comm], n ? "," : "");
		for (k = 0; k < n; k++)
			fprintf(out, k ? ",%" PRIu32 : "%" PRIu32, c->frame_map[frames[k]]);
		fputc(']', out);
	}
	fputs("],\n\"weights\":[", out);
	first = true;
	for (i = from; i < to; i = j) {
		w = rows[i].count;
		for (j = i + 1; j < to && !row__cmp_stack(c, &rows[i], &rows[j]); j++)
			w += rows[j].count;
		fprintf(out, first ? "%" PRIu64 : ",%" PRIu64, w);
		first = false;
	}
	fputs("]}", out);
}

/* Fills @rows from the samples; returns how many. */
static int collect_rows(struct ss_ctx *c, struct ss_row *rows, size_t *n)
{
	const struct profile_sample *s;
	const struct profile_task *t;
	size_t nr, i, k = 0;
	int64_t id;

	s = profile__samples(c->p, &nr);
	for (i = 0; i < nr; i++) {
		if (!s[i].count)
			continue;
		t = profile__task(c->p, s[i].task);
		rows[k].stack = s[i].stack;
		rows[k].task = s[i].task;
		rows[k].count = s[i].count;
		if (c->opts->merged) {
			rows[k].group = 0;
			id = comm_frame(c, s[i].task);
			if (id < 0)
				return (int)id;
		} else if (!t->pid) {
			/* no process id (folded input): one profile per process name */
			rows[k].group = (uint64_t)1 << 63 | t->comm;
		} else if (c->opts->per_thread) {
			rows[k].group = (uint64_t)t->pid << 32 | t->tid;
		} else {
			rows[k].group = t->pid;
		}
		k++;
	}
	*n = k;
	return 0;
}

static void write_file(const struct ss_ctx *c, const struct ss_row *rows, size_t n, FILE *out)
{
	uint64_t best_total = 0, total;
	size_t i, j, profiles = 0, active = 0;

	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n", out);
	fputs("\"exporter\":\"ember " EMBER_VERSION "\",\"name\":\"", out);
	fmt_text__json(out, c->opts->title ? c->opts->title : "ember profile");
	fputs("\",\n", out);
	write_frames(c, out);
	fputs("\"profiles\":[", out);
	for (i = 0; i < n; i = j) {
		total = 0;
		for (j = i; j < n && rows[j].group == rows[i].group; j++)
			total += rows[j].count;
		if (total > best_total) {
			best_total = total;
			active = profiles;
		}
		fputs(profiles++ ? ",\n" : "\n", out);
		write_profile(c, rows, i, j, out);
	}
	/* speedscope needs a profile to show, even an empty one. */
	if (!n) {
		fputs("\n{\"type\":\"sampled\",\"name\":\"", out);
		fmt_text__json(out, c->opts->title ? c->opts->title : "ember profile");
		fputs("\",\"unit\":\"none\",\"startValue\":0,\"endValue\":0,"
		      "\"samples\":[],\"weights\":[]}",
		      out);
	}
	fprintf(out, "],\n\"activeProfileIndex\":%zu}\n", active);
}

int fmt_speedscope__write(const struct profile *p, const struct fmt_options *opts, FILE *out)
{
	static const struct fmt_options defaults;
	struct ss_ctx c = {.p = p};
	struct ss_row *rows;
	size_t nr, n = 0, i, nstr;
	int err;

	if (!p || !out)
		return -EINVAL;
	c.opts = opts ? opts : &defaults;
	profile__samples(p, &nr);
	nstr = profile__str_count(p);
	rows = calloc(nr + 1, sizeof(*rows));
	c.frame_map = calloc((size_t)profile__frame_count(p) + 1, sizeof(*c.frame_map));
	c.comm_map = malloc((nstr + 1) * sizeof(*c.comm_map));
	if (!rows || !c.frame_map || !c.comm_map) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < nstr; i++)
		c.comm_map[i] = UINT32_MAX;
	err = map_frames(&c);
	if (!err)
		err = collect_rows(&c, rows, &n);
	if (err)
		goto out_free;
	qsort_r(rows, n, sizeof(*rows), row__cmp, &c);
	write_file(&c, rows, n, out);
	if (fflush(out) || ferror(out))
		err = errno ? -errno : -EIO;
out_free:
	idhash__exit(&c.index);
	free(c.frames);
	free(c.comm_map);
	free(c.frame_map);
	free(rows);
	return err;
}
