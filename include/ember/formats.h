/*
 * Profile writers (profile -> bytes) and the folded-stack reader. Writers are
 * pure: they read the profile and write to a FILE*, nothing else.
 */
#ifndef EMBER_FORMATS_H
#define EMBER_FORMATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct profile;

enum fmt_kind {
	FMT_FOLDED = 0,
	FMT_SVG,
	FMT_HTML,
	FMT_PPROF,
	FMT_SPEEDSCOPE,
	FMT_JSON,
};

struct fmt_options {
	bool per_thread; /* first frame "comm-TID" instead of "comm" */
	bool lines;	 /* append ":file:line" to frame names that have one */
};

/* Parses a format name ("folded", ...); returns enum fmt_kind or -EINVAL. */
int fmt__parse_kind(const char *name);
const char *fmt__kind_name(enum fmt_kind kind);
/* True for formats whose bytes are not text (refuse a terminal). */
bool fmt__is_binary(enum fmt_kind kind);

/*
 * Writes @p in @kind to @out. Returns 0, -ENOTSUP for a format not built yet,
 * or -errno from the stream.
 */
int fmt__write(const struct profile *p, enum fmt_kind kind, const struct fmt_options *opts,
	       FILE *out);

/*
 * Folded stacks, one line per unique stack, as flamegraph.pl reads them:
 *   comm;root;...;leaf COUNT
 * Lines are sorted bytewise; identical lines are merged. Kernel frames end in
 * "_[k]", JIT frames "_[j]", inlined frames "_[i]". In names, ';' becomes ':',
 * control characters become '?', and a name that would end in " <digits>"
 * gets its last space replaced by '_'.
 */
int fmt_folded__write(const struct profile *p, const struct fmt_options *opts, FILE *out);

/*
 * Writes the folded-safe form of @name into @buf (at most @size bytes with
 * the NUL); returns the length it needed, like snprintf.
 */
size_t fmt_folded__escape(const char *name, char *buf, size_t size);

/*
 * Reads folded stacks (flamegraph.pl's grammar: "^(.*)\s+(\d+)$", frames
 * split on ';') into @p: the first frame becomes the task's comm, frame
 * suffixes _[k] _[j] _[i] set the frame kind. Blank lines are skipped.
 * Returns 0, or -EINVAL with *bad_line set to the 1-based line number of the
 * first line that does not parse, or -errno.
 */
int fmt_folded__read(struct profile *p, FILE *in, unsigned long *bad_line);

#endif /* EMBER_FORMATS_H */
