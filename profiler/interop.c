/*
 * Reading folded stacks and `perf script` output for `ember import` and
 * `ember convert` (interop.h): opening the file or standard input, telling
 * the two formats apart, turning parser errors into messages that say what to
 * do, and placing the recording on the wall clock.
 *
 * The format is sniffed from the first line that is not blank or a comment;
 * the bytes read for that are replayed to the parser through a cookie
 * stream, so standard input works the same as a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ember/formats.h"
#include "ember/log.h"
#include "ember/profile.h"
#include "interop.h"

#define NSEC_PER_SEC	1000000000ULL
#define NSEC_PER_MSEC	1000000ULL
#define SNIFF_MAX_LINES 64

int interop__parse_kind(const char *name)
{
	if (!name)
		return -EINVAL;
	if (!strcmp(name, "folded"))
		return INTEROP_FOLDED;
	if (!strcmp(name, "perf-script") || !strcmp(name, "perfscript"))
		return INTEROP_PERF_SCRIPT;
	return -EINVAL;
}

/* Bytes already read from @src, served again before the rest of @src. */
struct replay {
	char *pre;
	size_t len, off;
	FILE *src;
};

static ssize_t replay_read(void *cookie, char *buf, size_t size)
{
	struct replay *r = cookie;
	size_t n;

	if (r->off < r->len) {
		n = r->len - r->off < size ? r->len - r->off : size;
		memcpy(buf, r->pre + r->off, n);
		r->off += n;
		return (ssize_t)n;
	}
	n = fread(buf, 1, size, r->src);
	if (!n && ferror(r->src))
		return -1;
	return (ssize_t)n;
}

static int replay_close(void *cookie)
{
	struct replay *r = cookie;
	int err = 0;

	if (r->src != stdin)
		err = fclose(r->src);
	free(r->pre);
	free(r);
	return err;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Does the line hold a perf script timestamp token ("12.345678:")? */
static bool has_time_token(const char *s)
{
	const char *p;

	for (p = strchr(s, ':'); p; p = strchr(p + 1, ':')) {
		const char *q = p;

		while (q > s && is_digit(q[-1]))
			q--;
		if (q == p || q == s || q[-1] != '.')
			continue;
		q--;
		if (q > s && is_digit(q[-1]))
			return true;
	}
	return false;
}

/* Folded: "stack COUNT" with frames split on ';' and no perf timestamp. */
static enum interop_kind sniff_line(const char *line, size_t len)
{
	size_t d = len;

	while (d && is_digit(line[d - 1]))
		d--;
	if (d < len && d && (line[d - 1] == ' ' || line[d - 1] == '\t') && line[0] != ' ' &&
	    line[0] != '\t' && (memchr(line, ';', len) || !has_time_token(line)))
		return INTEROP_FOLDED;
	return INTEROP_PERF_SCRIPT;
}

/*
 * Reads lines of @src until one tells the format; returns a stream that
 * yields every byte of @src from the start, or NULL with errno set.
 */
static FILE *sniff(FILE *src, enum interop_kind *kind)
{
	cookie_io_functions_t io = {.read = replay_read, .close = replay_close};
	char *line = NULL, *pre = NULL;
	size_t cap = 0, len = 0, pre_cap = 0, i;
	struct replay *r;
	ssize_t got;
	FILE *f;

	*kind = INTEROP_PERF_SCRIPT;
	for (i = 0; i < SNIFF_MAX_LINES && (got = getline(&line, &cap, src)) > 0; i++) {
		if (len + (size_t)got > pre_cap) {
			char *np = realloc(pre, (len + (size_t)got) * 2);

			if (!np)
				goto nomem;
			pre = np;
			pre_cap = (len + (size_t)got) * 2;
		}
		memcpy(pre + len, line, (size_t)got);
		len += (size_t)got;
		while (got && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			got--;
		if (!got || line[0] == '#' || strspn(line, " \t") == (size_t)got)
			continue;
		*kind = sniff_line(line, (size_t)got);
		break;
	}
	free(line);
	line = NULL;
	if (ferror(src)) {
		free(pre);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->pre = pre;
	r->len = len;
	r->src = src;
	f = fopencookie(r, "r", io);
	if (!f) {
		free(r);
		free(pre);
		return NULL;
	}
	return f;
nomem:
	free(line);
	free(pre);
	errno = ENOMEM;
	return NULL;
}

static uint64_t wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Opens the input; *mtime gets its modification time when it is a regular file. */
static FILE *open_input(const char *path, const char *name, uint64_t *mtime)
{
	char magic[8];
	struct stat sb;
	FILE *f;

	*mtime = 0;
	if (!strcmp(path, "-")) {
		if (isatty(STDIN_FILENO)) {
			pr_err("standard input is a terminal: pipe the profile in (perf script | "
			       "ember ...) or name a file");
			return NULL;
		}
		f = stdin;
	} else {
		f = fopen(path, "re");
		if (!f) {
			pr_err("cannot open %s: %s", path, strerror(errno));
			return NULL;
		}
	}
	if (!fstat(fileno(f), &sb) && S_ISREG(sb.st_mode)) {
		*mtime = (uint64_t)sb.st_mtim.tv_sec * NSEC_PER_SEC + (uint64_t)sb.st_mtim.tv_nsec;
		if (f != stdin && fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
		    !memcmp(magic, "PERFILE2", 8)) {
			pr_err("%s is a perf.data recording, not text: convert it first with "
			       "'perf script -i %s > %s.txt', or pipe it: 'perf script -i %s | "
			       "ember ... -'",
			       name, path, path, path);
			fclose(f);
			return NULL;
		}
		if (f != stdin)
			rewind(f);
	}
	return f;
}

static int read_perf_script(struct profile *p, FILE *in, const char *name,
			    const struct interop_opts *o, uint64_t mtime)
{
	struct profile_meta *m = profile__meta(p);
	struct fmt_perfscript_info info;
	uint64_t end, span;
	int err;

	err = fmt_perfscript__read(p, in, o->event, &info);
	if (err == -EINVAL) {
		pr_err("%s:%lu: not `perf script` output: expected a sample header such as "
		       "'app 1234/1234 [001] 12.345678: 1000000 cpu-clock:' or a callchain line "
		       "such as '\t55d0c2a4 main+0x1f (/usr/bin/app)'. For folded stacks use "
		       "the folded input format",
		       name, info.bad_line);
		return err;
	}
	if (err == -ENOENT) {
		pr_err("%s: no samples of event '%s' (events in the file: %s)", name, o->event,
		       info.others[0] ? info.others : "none");
		return err;
	}
	if (err) {
		pr_err("cannot read %s: %s", name, strerror(-err));
		return err;
	}
	if (info.skipped)
		pr_warn("%s: read %llu samples of event '%s', skipped %llu of other events (%s); "
			"choose one with --event",
			name, (unsigned long long)info.samples, info.event,
			(unsigned long long)info.skipped, info.others);
	span = info.last_ns - info.first_ns + (m->period_ns ? m->period_ns : NSEC_PER_MSEC);
	end = o->end_ns		 ? o->end_ns
	      : info.captured_ns ? info.captured_ns
	      : mtime		 ? mtime
				 : wall_now();
	m->end_ns = end;
	m->start_ns = end > span ? end - span : 1;
	return 0;
}

static int read_folded(struct profile *p, FILE *in, const char *name, const struct interop_opts *o,
		       uint64_t mtime)
{
	struct profile_meta *m = profile__meta(p);
	unsigned long bad_line = 0;
	int err;

	err = fmt_folded__read(p, in, &bad_line);
	if (err == -EOVERFLOW) {
		pr_err("%s:%lu: the sample counts add up to more than 2^64", name, bad_line);
		return -EINVAL;
	}
	if (err == -EINVAL) {
		pr_err("%s:%lu: not a folded stack line: expected 'comm;outer;...;leaf COUNT' "
		       "(flamegraph.pl's input). For `perf script` output use the perf-script "
		       "input format",
		       name, bad_line);
		return -EINVAL;
	}
	if (err) {
		pr_err("cannot read %s: %s", name, strerror(-err));
		return err;
	}
	m->end_ns = o->end_ns ? o->end_ns : mtime ? mtime : wall_now();
	m->start_ns = m->end_ns - NSEC_PER_SEC;
	return 0;
}

struct profile *interop__read(const char *path, const struct interop_opts *opts)
{
	const char *name = strcmp(path, "-") ? path : "standard input";
	enum interop_kind kind = opts->kind;
	struct profile *p = NULL;
	FILE *raw, *in;
	uint64_t mtime;
	int err;

	raw = open_input(path, name, &mtime);
	if (!raw)
		return NULL;
	in = sniff(raw, kind == INTEROP_AUTO ? &kind : &(enum interop_kind){0});
	if (!in) {
		pr_err("cannot read %s: %s", name, strerror(errno));
		if (raw != stdin)
			fclose(raw);
		return NULL;
	}
	p = profile__new();
	if (!p) {
		pr_err("out of memory");
		goto out_close;
	}
	if (kind == INTEROP_PERF_SCRIPT)
		err = read_perf_script(p, in, name, opts, mtime);
	else
		err = read_folded(p, in, name, opts, mtime);
	if (err) {
		profile__free(p);
		p = NULL;
	}
out_close:
	fclose(in);
	return p;
}
