/*
 * Profile writers (profile -> bytes) and the folded-stack reader. Writers are
 * pure: they read the profile and write to a FILE*, nothing else.
 */
#ifndef EMBER_FORMATS_H
#define EMBER_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
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
	/* svg */
	const char *title;    /* NULL: "CPU flame graph" */
	const char *subtitle; /* NULL: time range, samples and frequency from the meta */
	bool inverted;	      /* icicle: roots at the top, leaves below */
	uint32_t width;	      /* pixels; 0: 1200 */
	/* speedscope */
	bool merged; /* one profile for every process (comm as the root frame), not one per pid */
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

/*
 * pprof: gzip-compressed profile.proto (github.com/google/pprof, proto/profile.proto)
 * as `go tool pprof` reads it. Sample types samples/count and, when the period
 * is known, cpu/nanoseconds (count * period); one mapping per module, one
 * location per address with its inline chain as lines (innermost first), labels
 * pid, tid (numbers) and comm (string) on every sample.
 */
int fmt_pprof__write(const struct profile *p, const struct fmt_options *opts, FILE *out);

/*
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * "sampled" profiles with unit "none" (sample counts), one per process, or one
 * per thread with per_thread, or one for everything with merged; frames shared.
 */
int fmt_speedscope__write(const struct profile *p, const struct fmt_options *opts, FILE *out);

/*
 * A standalone interactive SVG flame graph (click to zoom, search with the
 * matched share, tooltips), or an icicle graph with opts->inverted. Frames
 * narrower than 0.1 pixel are left out, as flamegraph.pl does.
 */
int fmt_svg__write(const struct profile *p, const struct fmt_options *opts, FILE *out);

/* What fmt_perfscript__read found, for messages and for the caller's window. */
struct fmt_perfscript_info {
	unsigned long bad_line; /* 1-based line of the first line that did not parse */
	char event[128];	/* the event read (the first one in the file by default) */
	char others[256];	/* the other events seen, comma-separated (truncated) */
	uint64_t samples;	/* samples of that event read */
	uint64_t skipped;	/* samples of other events */
	uint64_t first_ns;	/* timestamps of the first and last sample read, as */
	uint64_t last_ns;	/* perf printed them (ns, usually since boot) */
	uint64_t captured_ns;	/* "# captured on" from `perf script --header`, wall clock; 0 */
};

/*
 * Reads `perf script` text output into @p: sample headers
 *   COMM PID[/TID] [[CPU]] SECS.FRAC: [PERIOD] EVENT: [IP SYM+OFF (DSO)]
 * each followed by its callchain, one frame a line, leaf first:
 *   ADDR SYM+OFF (DSO)      a frame; SYM "[unknown]" becomes "[dso basename]"
 *   ADDR SYM (inlined)      inlined into the frame on the next line
 *   FILE:LINE               the source line of the frame above (-F +srcline)
 * Frames in [kernel.kallsyms] or at kernel addresses are KERNEL frames. Each
 * sample counts 1. Only samples of @event are read (NULL: the first event in
 * the file); "cycles" also matches "cycles:u". For cpu-clock and task-clock the
 * mean period gives the profile's period and frequency.
 * Returns 0 (also for input without samples); -EINVAL with info->bad_line set
 * for a line that does not parse; -ENOENT when @event was given and no sample
 * of it was found (info->others lists the events that were); or -errno.
 */
int fmt_perfscript__read(struct profile *p, FILE *in, const char *event,
			 struct fmt_perfscript_info *info);

/* ---- flamegraph payload (ember_formats, formats/json.c) ---------------- */

/* Node kinds in the payload: the profile's frame kinds, then two of the tree's own. */
enum fmt_tree_kind {
	FMT_TREE_USER = 0,    /* PROFILE_FRAME_USER */
	FMT_TREE_KERNEL = 1,  /* PROFILE_FRAME_KERNEL */
	FMT_TREE_JIT = 2,     /* PROFILE_FRAME_JIT */
	FMT_TREE_INLINE = 3,  /* PROFILE_FRAME_INLINE */
	FMT_TREE_SPECIAL = 4, /* PROFILE_FRAME_SPECIAL, and the "[other]" nodes */
	FMT_TREE_ROOT = 5,    /* the one node of level 0, "all" */
	FMT_TREE_COMM = 6,    /* level 1: the process name */
	FMT_TREE_NR_KINDS,
};

#define FMT_TREE_OTHER_NAME "[other]"
#define FMT_TREE_ROOT_NAME  "all"

struct fmt_tree_opts {
	/*
	 * At most this many nodes, "[other]" nodes included (0 = no limit,
	 * values under 2 count as 2). The heaviest nodes are kept; whatever a
	 * kept node loses goes into one "[other]" child of it.
	 */
	uint32_t max_nodes;
	/*
	 * The top table lists the @max_top functions with the most self
	 * samples and the @max_top with the most total samples (0 = all).
	 */
	uint32_t max_top;
};

/* One node of the tree. In a diff, counts are B + A and base_* are A's alone. */
struct fmt_tree_node {
	uint64_t x;	/* samples left of the node, from the root's left edge */
	uint64_t total; /* samples in the node and below */
	uint64_t self;	/* samples whose leaf is the node */
	uint64_t base_total;
	uint64_t base_self;
	uint32_t name;	 /* string id in the tree's table */
	uint32_t module; /* string id, 0 = none */
	uint32_t kind;	 /* enum fmt_tree_kind */
	uint32_t parent; /* index of the parent in the level above (0 for the root) */
};

/* A function of the top table: totals count a function once per stack. */
struct fmt_tree_func {
	uint32_t name, module, kind;
	uint32_t _pad;
	uint64_t self, total;
	uint64_t base_self, base_total; /* diff: A's */
};

struct fmt_tree;

/*
 * Builds the flamegraph of @p: root "all", then one node per process name,
 * then the frames, merged by (name, module, kind). With @base, a diff: the
 * tree of both profiles together, each node carrying A's (@base's) counts
 * apart. Top functions are counted before truncation. NULL + errno.
 */
struct fmt_tree *fmt_tree__build(const struct profile *p, const struct profile *base,
				 const struct fmt_tree_opts *opts);
void fmt_tree__free(struct fmt_tree *t);

/* Levels (0 = root); nodes of a level are in x order. Borrowed. */
uint32_t fmt_tree__depth(const struct fmt_tree *t);
const struct fmt_tree_node *fmt_tree__level(const struct fmt_tree *t, uint32_t level, size_t *n);
/* Nodes in the tree as built, before truncation, and after. */
size_t fmt_tree__nodes_before(const struct fmt_tree *t);
size_t fmt_tree__nodes(const struct fmt_tree *t);
/* Top functions, most self samples first. Borrowed. */
const struct fmt_tree_func *fmt_tree__top(const struct fmt_tree *t, size_t *n);
/* Number of distinct functions before the top cut. */
size_t fmt_tree__funcs(const struct fmt_tree *t);
/* Borrowed string of the tree's table; "" for an unknown id. */
const char *fmt_tree__str(const struct fmt_tree *t, uint32_t id);
bool fmt_tree__is_diff(const struct fmt_tree *t);

/*
 * Writes the tree as ember's JSON flamegraph document (docs/api.md). @extra,
 * if not NULL, is trusted JSON text of object members ("\"a\":1,\"b\":2")
 * placed after the format tag. 0 or -errno.
 */
int fmt_tree__write_json(const struct fmt_tree *t, const char *extra, FILE *out);

/*
 * Writes @s as a JSON string literal, quotes included. Invalid UTF-8 becomes
 * U+FFFD; '<', '>', '&' and U+2028/U+2029 are escaped, so the text is safe
 * inside an HTML <script> element too. 0 or -EIO.
 */
int fmt_json__write_string(FILE *out, const char *s);

/* -f json and -f html (fmt__write dispatches here). 0 or -errno. */
int fmt_json__write(const struct profile *p, FILE *out);
int fmt_html__write(const struct profile *p, FILE *out);

#endif /* EMBER_FORMATS_H */
