/*
 * Reading profiles other tools wrote (folded stacks, `perf script` output):
 * the input side shared by `ember import` and `ember convert`. Private to the
 * profiler.
 */
#ifndef EMBER_PROFILER_INTEROP_H
#define EMBER_PROFILER_INTEROP_H

#include <stdbool.h>
#include <stdint.h>

struct profile;

enum interop_kind {
	INTEROP_AUTO = 0, /* sniffed from the first line */
	INTEROP_FOLDED,
	INTEROP_PERF_SCRIPT,
};

/* "folded", "perf-script" -> enum interop_kind; -EINVAL otherwise. */
int interop__parse_kind(const char *name);

struct interop_opts {
	enum interop_kind kind;
	const char *event; /* perf-script: the event to read; NULL = the first */
	uint64_t end_ns;   /* wall clock end of the recording; 0 = guess (see below) */
};

/*
 * Reads @path ("-" = standard input) into a new profile whose meta carries a
 * wall-clock span:
 *   perf-script: the samples' first..last timestamps plus one period, ending
 *                at opts->end_ns, else at the "# captured on" header line, else
 *                at the file's modification time (now for standard input);
 *   folded:      one second ending at opts->end_ns, else at the file's
 *                modification time (now for standard input).
 * Returns NULL after logging what went wrong and what to do.
 */
struct profile *interop__read(const char *path, const struct interop_opts *opts);

#endif
