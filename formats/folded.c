/*
 * Folded stacks (Brendan Gregg's stackcollapse output, flamegraph.pl input):
 * the writer and the reader. See include/ember/formats.h for the grammar.
 *
 * The writer renders every frame's and task's label once, then sorts the
 * samples by comparing their lines piece by piece (comm label, then ";label"
 * per frame) without building each line, so a profile with 100k deep stacks
 * costs one label table rather than one string per line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ember/formats.h"
#include "ember/profile.h"

#define FOLDED_UNKNOWN "[unknown]"

/* A growable byte buffer. */
struct fbuf {
	char *p;
	size_t len;
	size_t cap;
};

/* A label's bytes in the label buffer (offsets survive its reallocation). */
struct label {
	size_t off;
	size_t len;
};

/* One sample as a line to sort: its task label and its frames. */
struct line {
	const uint32_t *frames;
	uint32_t n;
	uint32_t task;
	uint64_t count;
};

struct write_ctx {
	const char *text;
	const struct label *frames; /* per frame id: ";label" */
	const struct label *tasks;  /* per task id: "comm" or "comm-TID" */
};

/* A position in a line seen as the concatenation of its labels. */
struct cursor {
	const struct write_ctx *ctx;
	const struct line *line;
	uint32_t next; /* next frame index */
	const char *p;
	size_t left;
};

static const struct {
	const char *suffix;
	enum profile_frame_kind kind;
} suffixes[] = {
	{"_[k]", PROFILE_FRAME_KERNEL},
	{"_[j]", PROFILE_FRAME_JIT},
	{"_[i]", PROFILE_FRAME_INLINE},
};

#define SUFFIX_LEN 4

static int fbuf__reserve(struct fbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (more > SIZE_MAX - b->len)
		return -ENOMEM;
	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int fbuf__append(struct fbuf *b, const char *s, size_t n)
{
	int err;

	if (!n)
		return 0;
	err = fbuf__reserve(b, n);
	if (err)
		return err;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int fbuf__escape(struct fbuf *b, const char *s)
{
	size_t need = fmt_folded__escape(s, NULL, 0);
	int err = fbuf__reserve(b, need + 1);

	if (err)
		return err;
	fmt_folded__escape(s, b->p + b->len, need + 1);
	b->len += need;
	return 0;
}

static int fbuf__printf_u64(struct fbuf *b, const char *prefix, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%s%" PRIu64, prefix, v);

	return fbuf__append(b, tmp, (size_t)n);
}

static char folded_char(unsigned char c)
{
	if (c == ';')
		return ':';
	if (c < 0x20 || c == 0x7f)
		return '?';
	return (char)c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

size_t fmt_folded__escape(const char *name, char *buf, size_t size)
{
	size_t len, keep, digits, fix = SIZE_MAX, n, i;

	if (!name || !*name)
		name = FOLDED_UNKNOWN;
	len = strlen(name);

	/* Trailing spaces, from index keep on, become '_'. */
	keep = len;
	while (keep && name[keep - 1] == ' ')
		keep--;
	/* " <digits>" at the end: the space becomes '_' (flamegraph.pl's diff column). */
	if (keep == len) {
		digits = len;
		while (digits && is_digit(name[digits - 1]))
			digits--;
		if (digits < len && digits && name[digits - 1] == ' ')
			fix = digits - 1;
	}

	if (!size)
		return len;
	n = len < size - 1 ? len : size - 1;
	for (i = 0; i < n; i++)
		buf[i] = (i >= keep || i == fix) ? '_' : folded_char((unsigned char)name[i]);
	buf[n] = '\0';
	return len;
}

static const char *frame_suffix(uint32_t kind)
{
	switch (kind) {
	case PROFILE_FRAME_KERNEL:
		return "_[k]";
	case PROFILE_FRAME_JIT:
		return "_[j]";
	case PROFILE_FRAME_INLINE:
		return "_[i]";
	default:
		return "";
	}
}

/* Appends ";name[:file[:line]][suffix]" for frame @f. */
static int frame_label(struct fbuf *b, const struct profile *p, const struct profile_frame *f,
		       const struct fmt_options *opts)
{
	const char *suffix = frame_suffix(f->kind);
	int err;

	err = fbuf__append(b, ";", 1);
	if (!err)
		err = fbuf__escape(b, profile__str(p, f->name));
	if (!err && opts->lines && f->file) {
		err = fbuf__append(b, ":", 1);
		if (!err)
			err = fbuf__escape(b, profile__str(p, f->file));
		if (!err && f->line)
			err = fbuf__printf_u64(b, ":", f->line);
	}
	if (!err)
		err = fbuf__append(b, suffix, strlen(suffix));
	return err;
}

static int task_label(struct fbuf *b, const struct profile *p, const struct profile_task *t,
		      const struct fmt_options *opts)
{
	int err;

	err = fbuf__escape(b, profile__str(p, t->comm));
	if (!err && opts->per_thread)
		err = fbuf__printf_u64(b, "-", t->tid);
	return err;
}

/* Renders every frame and task label into @text; fills @frames and @tasks. */
static int build_labels(const struct profile *p, const struct fmt_options *opts, struct fbuf *text,
			struct label *frames, struct label *tasks)
{
	uint32_t i, nr_frames = profile__frame_count(p), nr_tasks = profile__task_count(p);
	int err;

	for (i = 0; i < nr_frames; i++) {
		frames[i].off = text->len;
		err = frame_label(text, p, profile__frame(p, i), opts);
		if (err)
			return err;
		frames[i].len = text->len - frames[i].off;
	}
	for (i = 0; i < nr_tasks; i++) {
		tasks[i].off = text->len;
		err = task_label(text, p, profile__task(p, i), opts);
		if (err)
			return err;
		tasks[i].len = text->len - tasks[i].off;
	}
	return 0;
}

static void cursor__init(struct cursor *c, const struct write_ctx *ctx, const struct line *l)
{
	c->ctx = ctx;
	c->line = l;
	c->next = 0;
	c->p = ctx->text + ctx->tasks[l->task].off;
	c->left = ctx->tasks[l->task].len;
}

/* Moves to the next non-empty piece; false at the end of the line. */
static bool cursor__fill(struct cursor *c)
{
	const struct label *lb;

	while (!c->left) {
		if (c->next >= c->line->n)
			return false;
		lb = &c->ctx->frames[c->line->frames[c->next++]];
		c->p = c->ctx->text + lb->off;
		c->left = lb->len;
	}
	return true;
}

/* Bytewise order of the two lines' text (the count excluded), as strcmp. */
static int line__cmp(const void *a, const void *b, void *arg)
{
	const struct line *la = a, *lb = b;
	struct cursor ca, cb;
	bool more_a, more_b;
	size_t n;
	int r;

	if (la->task == lb->task && la->frames == lb->frames && la->n == lb->n)
		return 0;
	cursor__init(&ca, arg, la);
	cursor__init(&cb, arg, lb);
	for (;;) {
		more_a = cursor__fill(&ca);
		more_b = cursor__fill(&cb);
		if (!more_a || !more_b)
			return (int)more_a - (int)more_b;
		n = ca.left < cb.left ? ca.left : cb.left;
		r = memcmp(ca.p, cb.p, n);
		if (r)
			return r < 0 ? -1 : 1;
		ca.p += n;
		ca.left -= n;
		cb.p += n;
		cb.left -= n;
	}
}

static int write_line(FILE *out, const struct write_ctx *ctx, const struct line *l, uint64_t count)
{
	const struct label *lb = &ctx->tasks[l->task];
	uint32_t i;

	fwrite(ctx->text + lb->off, 1, lb->len, out);
	for (i = 0; i < l->n; i++) {
		lb = &ctx->frames[l->frames[i]];
		fwrite(ctx->text + lb->off, 1, lb->len, out);
	}
	fprintf(out, " %" PRIu64 "\n", count);
	if (ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}

/* Fills @lines with the samples that have a count; returns how many. */
static size_t collect_lines(const struct profile *p, struct line *lines)
{
	const struct profile_sample *s;
	size_t i, nr_samples, n = 0;

	s = profile__samples(p, &nr_samples);
	for (i = 0; i < nr_samples; i++) {
		if (!s[i].count)
			continue;
		lines[n].frames = profile__stack(p, s[i].stack, &lines[n].n);
		if (!lines[n].frames)
			continue;
		lines[n].task = s[i].task;
		lines[n].count = s[i].count;
		n++;
	}
	return n;
}

int fmt_folded__write(const struct profile *p, const struct fmt_options *opts, FILE *out)
{
	static const struct fmt_options defaults;
	struct label *frame_labels, *task_labels;
	struct fbuf text = {0};
	struct write_ctx ctx;
	struct line *lines;
	size_t nr_samples, n, i, j;
	uint64_t count;
	int err;

	if (!p || !out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	profile__samples(p, &nr_samples);

	/* One extra element each so an empty profile still allocates. */
	frame_labels = calloc((size_t)profile__frame_count(p) + 1, sizeof(*frame_labels));
	if (!frame_labels)
		return -ENOMEM;
	task_labels = calloc((size_t)profile__task_count(p) + 1, sizeof(*task_labels));
	if (!task_labels) {
		err = -ENOMEM;
		goto out_free_frame_labels;
	}
	lines = calloc(nr_samples + 1, sizeof(*lines));
	if (!lines) {
		err = -ENOMEM;
		goto out_free_task_labels;
	}
	err = build_labels(p, opts, &text, frame_labels, task_labels);
	if (err)
		goto out_free_text;

	ctx.text = text.p;
	ctx.frames = frame_labels;
	ctx.tasks = task_labels;
	n = collect_lines(p, lines);
	qsort_r(lines, n, sizeof(*lines), line__cmp, &ctx);

	for (i = 0; i < n; i = j) {
		/* The sum cannot overflow: it is at most profile__total(). */
		count = lines[i].count;
		for (j = i + 1; j < n && !line__cmp(&lines[i], &lines[j], &ctx); j++)
			count += lines[j].count;
		err = write_line(out, &ctx, &lines[i], count);
		if (err)
			goto out_free_text;
	}
	if (fflush(out))
		err = errno ? -errno : -EIO;

out_free_text:
	free(text.p);
	free(lines);
out_free_task_labels:
	free(task_labels);
out_free_frame_labels:
	free(frame_labels);
	return err;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Adds the frame named by the @len bytes at @s (suffix sets the kind); id or -errno. */
static int64_t read_frame(struct profile *p, const char *s, size_t len)
{
	struct profile_frame f = {0};
	int64_t name;
	size_t i;

	f.kind = PROFILE_FRAME_USER;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (len >= SUFFIX_LEN &&
		    !memcmp(s + len - SUFFIX_LEN, suffixes[i].suffix, SUFFIX_LEN)) {
			f.kind = suffixes[i].kind;
			len -= SUFFIX_LEN;
			break;
		}
	}
	name = profile__intern_n(p, s, len);
	if (name < 0)
		return name;
	f.name = (uint32_t)name;
	return profile__add_frame(p, &f);
}

/* Splits "^(.*)\s+(\d+)$": *stack_len gets the length of (.*); -EINVAL if no match. */
static int split_count(const char *line, size_t len, size_t *stack_len, uint64_t *count)
{
	size_t d = len, s, i;
	uint64_t v = 0;
	unsigned int digit;

	while (d && is_digit(line[d - 1]))
		d--;
	if (d == len || !d || !is_space(line[d - 1]))
		return -EINVAL;
	for (i = d; i < len; i++) {
		digit = (unsigned int)(line[i] - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	s = d - 1;
	while (s && is_space(line[s - 1]))
		s--;
	*stack_len = s;
	*count = v;
	return 0;
}

/* Parses one line (without its newline) into @p; *ids is scratch space. */
static int read_line(struct profile *p, const char *line, size_t len, uint32_t **ids,
		     size_t *ids_cap)
{
	struct profile_task t = {0};
	size_t stack_len, start, end, n = 0, i;
	uint64_t count;
	int64_t id, stack;
	uint32_t *nids;
	int err;

	for (i = 0; i < len && is_space(line[i]); i++)
		;
	if (i == len)
		return 0;
	err = split_count(line, len, &stack_len, &count);
	if (err)
		return err;

	for (end = 0; end < stack_len && line[end] != ';'; end++)
		;
	id = profile__intern_n(p, line, end);
	if (id < 0)
		return (int)id;
	t.comm = (uint32_t)id;

	while (end < stack_len) {
		start = end + 1;
		for (end = start; end < stack_len && line[end] != ';'; end++)
			;
		if (n == *ids_cap) {
			if (n >= UINT32_MAX || n > SIZE_MAX / 2 / sizeof(**ids))
				return -E2BIG;
			nids = realloc(*ids, (n ? n * 2 : 64) * sizeof(**ids));
			if (!nids)
				return -ENOMEM;
			*ids = nids;
			*ids_cap = n ? n * 2 : 64;
		}
		id = read_frame(p, line + start, end - start);
		if (id < 0)
			return (int)id;
		(*ids)[n++] = (uint32_t)id;
	}

	stack = profile__add_stack(p, *ids, (uint32_t)n);
	if (stack < 0)
		return (int)stack;
	id = profile__add_task(p, &t);
	if (id < 0)
		return (int)id;
	return profile__add_sample(p, (uint32_t)stack, (uint32_t)id, count);
}

int fmt_folded__read(struct profile *p, FILE *in, unsigned long *bad_line)
{
	unsigned long lineno = 0;
	uint32_t *ids = NULL;
	size_t ids_cap = 0, cap = 0, len;
	char *line = NULL;
	ssize_t got;
	int err = 0;

	if (bad_line)
		*bad_line = 0;
	if (!p || !in)
		return -EINVAL;
	for (;;) {
		errno = 0;
		got = getline(&line, &cap, in);
		if (got < 0) {
			if (ferror(in))
				err = errno ? -errno : -EIO;
			else if (errno == ENOMEM)
				err = -ENOMEM;
			break;
		}
		lineno++;
		len = (size_t)got;
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		err = read_line(p, line, len, &ids, &ids_cap);
		if (err) {
			if (bad_line && (err == -EINVAL || err == -EOVERFLOW))
				*bad_line = lineno;
			break;
		}
	}
	free(ids);
	free(line);
	return err;
}
