/*
 * Process events from the kernel's perf side band, for the symbolizer: one
 * dummy software perf event per online CPU (PERF_COUNT_SW_DUMMY, no samples)
 * records PERF_RECORD_MMAP2 (executable mappings), COMM with the exec flag,
 * FORK and EXIT into per-CPU ring buffers. Read and handed to the symbolizer
 * in time order, they describe a process's mappings from birth to exit, so a
 * process that lived between two drains is still symbolized.
 *
 * Use: prof_mmap_events__new() before sampling starts; poll
 * prof_mmap_events__fd() for POLLIN with the other fds of the loop; call
 * prof_mmap_events__read() when it is readable AND right before every drain
 * (so the mappings of everything sampled are known); after the drain's
 * samples are symbolized, symbolizer__window_done().
 */
#ifndef EMBER_PROFILER_MMAP_EVENTS_H
#define EMBER_PROFILER_MMAP_EVENTS_H

#include <stdint.h>

struct symbolizer;

struct prof_mmap_events_opts {
	uint32_t pages; /* data pages per CPU ring buffer, a power of two; 0 = 64 */
};

struct prof_mmap_events_stats {
	uint64_t records; /* records handed to the symbolizer */
	uint64_t mmaps, execs, forks, exits;
	uint64_t lost;	  /* records the kernel dropped (ring buffer full) */
	uint64_t skipped; /* records of processes not followed */
};

struct prof_mmap_events;

/* Opens the events on every online CPU; NULL + errno, the reason logged. */
struct prof_mmap_events *prof_mmap_events__new(const struct prof_mmap_events_opts *opts);
void prof_mmap_events__free(struct prof_mmap_events *me);
/* One descriptor (epoll) that is readable when any ring buffer needs reading. */
int prof_mmap_events__fd(const struct prof_mmap_events *me);
/*
 * Reads every record waiting in the ring buffers and hands them, sorted by
 * time, to @s. Returns the number of records or -errno.
 */
int prof_mmap_events__read(struct prof_mmap_events *me, struct symbolizer *s);
/*
 * Restricts the records handed over to those of @pid, and of the processes
 * it forks from then on (followed too). Until the first call every process
 * is followed (ember profile -a, the daemon); a one-process profile on a busy
 * host would otherwise track every other program's mappings. 0 or -ENOMEM.
 */
int prof_mmap_events__follow(struct prof_mmap_events *me, uint32_t pid);
void prof_mmap_events__stats(const struct prof_mmap_events *me, struct prof_mmap_events_stats *out);

#endif /* EMBER_PROFILER_MMAP_EVENTS_H */
