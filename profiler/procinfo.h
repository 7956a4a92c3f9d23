/*
 * Per-process facts the daemon stores with every sample: start time, the
 * executable and the cgroup path, read once from /proc per process and kept
 * until it execs or its pid is reused. Private to the profiler.
 */
#ifndef EMBER_PROFILER_PROCINFO_H
#define EMBER_PROFILER_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

struct prof_procinfo;

struct prof_proc {
	uint64_t start_time; /* ns since boot, 0 if unknown */
	const char *exe;     /* "" if unknown; borrowed until the next call */
	const char *cgroup;  /* cgroup v2 path ("/system.slice/x.service"), "" if unknown */
};

/* @proc_root: "/proc" (tests pass a fixture tree). NULL + errno. */
struct prof_procinfo *prof_procinfo__new(const char *proc_root);
void prof_procinfo__free(struct prof_procinfo *pi);
/* Facts of @pid, read on first use; never fails (unknown fields are empty). */
const struct prof_proc *prof_procinfo__get(struct prof_procinfo *pi, uint32_t pid);
/* Forgets @pid (exec, or exit once its samples are stored). */
void prof_procinfo__forget(struct prof_procinfo *pi, uint32_t pid);
/* Entries held, for the daemon's status log. */
uint32_t prof_procinfo__count(const struct prof_procinfo *pi);

/* Parsers, exposed for unit tests. */
int procinfo__parse_cgroup(const char *text, char *out, size_t size);
int procinfo__parse_start_time(const char *stat_line, uint64_t ticks_per_sec, uint64_t *ns);

#endif
